//! The branches and HEAD of a bare clone, read from its files without running git
//! (invariant I3) and without trusting them (see [`super`]).

use std::path::Path;

use craftastic_domain::BranchName;

use super::{Dir, Limits};

/// A loose ref or HEAD holds one object id or `ref: <name>`; anything longer is not one.
pub const REF_CAP: u64 = 4 << 10;
/// Only this much of `packed-refs` is read (a repository with 100 000 refs needs ~10 MiB).
pub const PACKED_REFS_CAP: u64 = 8 << 20;
/// …and of that, only this many lines are parsed.
pub const PACKED_REFS_LINES: usize = 100_000;
/// The most branches one listing holds.
pub const MAX_BRANCHES: usize = 10_000;
/// How deep `refs/heads` is walked (`a/b/c` is 2 folders deep) and how many entries.
const HEADS: Limits = Limits {
    depth: 16,
    entries: MAX_BRANCHES,
};

/// The branches of the bare clone at `repo`, from its loose refs and `packed-refs`: sorted,
/// without duplicates, at most [`MAX_BRANCHES`]. Names git would not accept as a branch, and
/// refs that are not regular files, are left out.
pub fn branches(repo: &Path) -> Vec<String> {
    let Ok(repo) = Dir::open(repo) else {
        return Vec::new();
    };
    let mut branches: Vec<String> = repo
        .dir("refs/heads")
        .map(|heads| heads.regular_files(HEADS))
        .unwrap_or_default()
        .into_iter()
        .filter(|name| BranchName::parse(name).is_ok())
        .collect();
    branches.extend(packed_branches(&repo));
    branches.sort();
    branches.dedup();
    branches.truncate(MAX_BRANCHES);
    branches
}

/// Whether `branch` has a commit in the bare clone at `repo`: a loose ref, or a line of
/// `packed-refs`.
pub fn branch_exists(repo: &Path, branch: &BranchName) -> bool {
    let Ok(repo) = Dir::open(repo) else {
        return false;
    };
    let loose = repo
        .read_small(&format!("refs/heads/{branch}"), REF_CAP)
        .is_ok_and(|r| !r.trim_ascii().is_empty());
    loose || packed_branches(&repo).any(|b| b == branch.as_str())
}

/// The branch HEAD names in the bare clone at `repo`, if it names a valid one.
pub fn head_branch(repo: &Path) -> Option<BranchName> {
    let head = Dir::open(repo).ok()?.read_small("HEAD", REF_CAP).ok()?;
    let head = std::str::from_utf8(&head).ok()?;
    let name = head.trim().strip_prefix("ref: refs/heads/")?;
    BranchName::parse(name).ok()
}

/// The valid branch names in the first [`PACKED_REFS_LINES`] lines of the first
/// [`PACKED_REFS_CAP`] bytes of `packed-refs`. A line cut by the cap is left out.
fn packed_branches(repo: &Dir) -> impl Iterator<Item = String> {
    let (mut packed, more) = repo
        .read_prefix("packed-refs", PACKED_REFS_CAP)
        .unwrap_or_default();
    if more {
        let whole_lines = packed
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        packed.truncate(whole_lines);
    }
    let names: Vec<String> = packed
        .split(|b| *b == b'\n')
        .take(PACKED_REFS_LINES)
        .filter_map(|line| {
            let line = std::str::from_utf8(line).ok()?;
            let (_, name) = line.split_once(' ')?;
            let name = name.strip_prefix("refs/heads/")?;
            BranchName::parse(name).ok().map(|_| name.to_owned())
        })
        .collect();
    names.into_iter()
}
