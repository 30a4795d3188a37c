//! What git's answers mean: the status script's own record, a cut diff, and the outcome of a
//! commit or a push, with git's words about remotes read once.

use craftastic_domain::{BranchName, ErrorCode, RepoPath};
use craftastic_runtime::ExecOutput;

use super::{DIFF_CAP, Diff};
use crate::{ServiceError, ServiceResult};

/// Splits the status script's own last record (`# craftastic.base <ref> <ahead> <behind>`)
/// from git's output.
pub(super) fn split_base(raw: &[u8]) -> (&[u8], Option<(String, u64, u64)>) {
    const MARK: &[u8] = b"# craftastic.base ";
    let Some(at) = raw
        .windows(MARK.len())
        .position(|w| w == MARK)
        .filter(|&i| i == 0 || raw[i - 1] == 0)
    else {
        return (raw, None);
    };
    let record = String::from_utf8_lossy(&raw[at + MARK.len()..]);
    let mut fields = record.trim_end_matches('\0').split_whitespace();
    let parsed = (|| {
        let upstream = fields.next()?.to_owned();
        let ahead = fields.next()?.parse().ok()?;
        let behind = fields.next()?.parse().ok()?;
        Some((upstream, ahead, behind))
    })();
    (&raw[..at], parsed)
}

/// Cuts a diff that went over [`DIFF_CAP`] at the last whole line before it.
pub(super) fn cut_diff(mut raw: Vec<u8>) -> Diff {
    let truncated = raw.len() > DIFF_CAP;
    if truncated {
        raw.truncate(DIFF_CAP);
        if let Some(nl) = raw.iter().rposition(|&b| b == b'\n') {
            raw.truncate(nl + 1);
        }
    }
    let diff = String::from_utf8_lossy(&raw).into_owned();
    let binary = diff.lines().any(|l| {
        (l.starts_with("Binary files ") && l.ends_with(" differ")) || l == "GIT binary patch"
    });
    Diff {
        diff,
        truncated,
        binary,
    }
}

pub(super) fn commit_outcome(out: &ExecOutput, files: &[RepoPath]) -> ServiceResult<String> {
    let said = format!("{}\n{}", out.stdout_str(), out.stderr_str());
    match out.code {
        0 => {
            let hash = out
                .stdout_str()
                .trim()
                .lines()
                .last()
                .unwrap_or("")
                .to_owned();
            if hash.len() == 40 && hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                Ok(hash)
            } else {
                Err(ServiceError::Internal(format!(
                    "git commit printed no commit: {said}"
                )))
            }
        }
        3 => {
            let missing: Vec<&str> = files
                .iter()
                .filter(|f| said.contains(&format!("'{}'", f.pathspec())))
                .map(RepoPath::as_str)
                .collect();
            let named = if missing.is_empty() {
                files
                    .iter()
                    .map(RepoPath::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            } else {
                missing.join(", ")
            };
            Err(craftastic_domain::ValidationError::new(
                "files",
                format!("no file of the worktree is called {named}, and git does not track one by that name"),
            )
            .into())
        }
        _ if said.contains("nothing to commit") || said.contains("no changes added to commit") => {
            Err(ServiceError::Conflict {
                code: ErrorCode::NothingToCommit,
                message: if files.is_empty() {
                    "there is nothing to commit: the worktree has no changes".into()
                } else {
                    "there is nothing to commit: the chosen files have no changes".into()
                },
            })
        }
        _ => Err(ServiceError::Conflict {
            code: ErrorCode::GitFailed,
            message: format!("git refused the commit: {}", last_lines(&out.stderr_str())),
        }),
    }
}

pub(super) fn push_outcome(out: &ExecOutput, branch: &BranchName) -> ServiceResult<()> {
    let stdout = out.stdout_str();
    // `--porcelain`: `<flag>\t<from>:<to>\t<summary>` per ref; `!` is a refused one.
    if let Some(summary) = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("!\t"))
        .find_map(|l| l.split('\t').nth(1))
    {
        let message = if summary.contains("fetch first") || summary.contains("non-fast-forward") {
            format!(
                "the remote's {branch} has commits that this workspace does not have (git: {summary}); fetch them, rebase on them (`git rebase origin/{branch}` in a terminal), then push again"
            )
        } else if let Some(reason) = summary.strip_prefix("[remote rejected] ") {
            format!(
                "the remote refused the push: {}",
                reason.trim_matches(['(', ')'])
            )
        } else {
            format!("git refused the push: {summary}")
        };
        return Err(ServiceError::Conflict {
            code: ErrorCode::PushRejected,
            message,
        });
    }
    if out.code == 0 {
        return Ok(());
    }
    Err(ServiceError::Upstream(remote_failure(
        "push",
        &out.stderr_str(),
    )))
}

/// What went wrong between git and a remote, read from git's stderr (in the C locale).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RemoteTrouble {
    NoSuchHost,
    NoAnswer,
    Credentials,
    NotFound,
}

impl RemoteTrouble {
    /// The one reading of git's words about remotes, for clones, pushes and fetches alike.
    pub(crate) fn of(stderr: &str) -> Option<Self> {
        let has = |needles: &[&str]| needles.iter().any(|n| stderr.contains(n));
        if has(&[
            "Could not resolve host",
            "Could not resolve hostname",
            "Name or service not known",
        ]) {
            Some(Self::NoSuchHost)
        } else if has(&[
            "Connection refused",
            "Connection timed out",
            "Failed to connect",
            "No route to host",
            "Network is unreachable",
            "Connection reset",
        ]) {
            Some(Self::NoAnswer)
        } else if has(&[
            "Authentication failed",
            "could not read Username",
            "could not read Password",
            "terminal prompts disabled",
            "Permission denied (publickey",
            "returned error: 401",
            "returned error: 403",
        ]) {
            Some(Self::Credentials)
        } else if has(&[
            "Repository not found",
            "does not appear to be a git repository",
            "not found",
        ]) {
            Some(Self::NotFound)
        } else {
            None
        }
    }
}

/// Why a push (before any ref was refused) or a fetch failed, in words a person can act on.
pub(super) fn remote_failure(what: &str, stderr: &str) -> String {
    match RemoteTrouble::of(stderr) {
        Some(RemoteTrouble::Credentials) => {
            let may = if what == "push" { "push to" } else { "read" };
            format!(
                "the remote refused the credentials: link (in Settings) a GitHub account that may {may} this repository"
            )
        }
        Some(RemoteTrouble::NoSuchHost) => {
            "cannot reach the remote: its host name does not resolve; check the remote's URL".into()
        }
        Some(RemoteTrouble::NoAnswer) => {
            "cannot reach the remote: its host does not answer; check that it is up".into()
        }
        Some(RemoteTrouble::NotFound) => {
            "the remote repository does not exist, or the linked account cannot see it".into()
        }
        None => format!("the {what} failed: {}", last_lines(stderr)),
    }
}

/// The last meaningful lines of git's stderr (hints left out), for an error sentence.
pub(super) fn last_lines(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("hint:"))
        .collect();
    let tail = &lines[lines.len().saturating_sub(3)..];
    let text = tail.join(" ");
    if text.is_empty() {
        "git gave no reason".into()
    } else {
        text
    }
}

pub(super) fn failed(what: &str, out: &ExecOutput) -> ServiceError {
    ServiceError::Conflict {
        code: ErrorCode::GitFailed,
        message: format!("git failed {what}: {}", last_lines(&out.stderr_str())),
    }
}
