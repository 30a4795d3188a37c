//! What a hostile container can leave in a clone, and what the host makes of it.

use std::os::unix::fs::{MetadataExt, symlink};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use craftastic_domain::BranchName;
use rustix::fs::Mode;

use super::*;

/// A bare clone's skeleton in a temp dir, and a folder outside it standing for the host's.
struct Repo {
    _tmp: tempfile::TempDir,
    repo: PathBuf,
    host: PathBuf,
}

fn repo() -> Repo {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("env.git");
    std::fs::create_dir_all(repo.join("refs/heads")).unwrap();
    std::fs::write(repo.join("HEAD"), "ref: refs/heads/main\n").unwrap();
    std::fs::write(repo.join("refs/heads/main"), "abc\n").unwrap();
    let host = tmp.path().join("host");
    std::fs::create_dir_all(host.join("secret-dir")).unwrap();
    std::fs::write(host.join("canary"), "still here\n").unwrap();
    std::fs::write(
        host.join("packed-refs"),
        "abc refs/heads/from-host\nabc refs/heads/stolen\n",
    )
    .unwrap();
    Repo {
        _tmp: tmp,
        repo,
        host,
    }
}

impl Repo {
    fn path(&self, rel: &str) -> PathBuf {
        self.repo.join(rel)
    }

    fn link(&self, rel: &str, target: impl AsRef<Path>) {
        let path = self.path(rel);
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_dir_all(&path);
        symlink(target, path).unwrap();
    }

    fn fifo(&self, rel: &str) {
        let path = self.path(rel);
        let _ = std::fs::remove_file(&path);
        rustix::fs::mkfifoat(rustix::fs::CWD, &path, Mode::from_raw_mode(0o644)).unwrap();
    }

    fn host_is_intact(&self) {
        assert_eq!(
            std::fs::read_to_string(self.host.join("canary")).unwrap(),
            "still here\n"
        );
        assert!(self.host.join("secret-dir").is_dir());
    }
}

/// Runs `f` on a thread and fails the test if it has not returned within 5 seconds (a fifo
/// opened for reading, or a walk that never ends, would hang it).
fn promptly<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(f()));
    rx.recv_timeout(Duration::from_secs(5))
        .expect("it did not return within 5 seconds")
}

fn branch(name: &str) -> BranchName {
    BranchName::parse(name).unwrap()
}

/// Makes `levels` folders named `d` inside each other below `start`, through descriptors
/// (the path would pass PATH_MAX), with a file `f` at the bottom.
fn nest(start: &Path, levels: usize) {
    let mut dir = rustix::fs::open(
        start,
        rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        Mode::empty(),
    )
    .unwrap();
    for _ in 0..levels {
        rustix::fs::mkdirat(&dir, "d", Mode::from_raw_mode(0o755)).unwrap();
        dir = rustix::fs::openat(
            &dir,
            "d",
            rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
            Mode::empty(),
        )
        .unwrap();
    }
    let f = rustix::fs::openat(
        &dir,
        "f",
        rustix::fs::OFlags::CREATE | rustix::fs::OFlags::WRONLY | rustix::fs::OFlags::CLOEXEC,
        Mode::from_raw_mode(0o644),
    )
    .unwrap();
    drop(f);
}

#[test]
fn branches_come_from_loose_and_packed_refs() {
    let r = repo();
    std::fs::create_dir_all(r.path("refs/heads/feature")).unwrap();
    std::fs::write(r.path("refs/heads/feature/a"), "x\n").unwrap();
    std::fs::write(
        r.path("packed-refs"),
        "# pack-refs with: peeled\nabc refs/heads/old\nabc refs/tags/v1\nabc refs/heads/main\n^def\n",
    )
    .unwrap();
    assert_eq!(branches(&r.repo), ["feature/a", "main", "old"]);
    assert!(branch_exists(&r.repo, &branch("main")));
    assert!(branch_exists(&r.repo, &branch("feature/a")));
    assert!(branch_exists(&r.repo, &branch("old")));
    assert!(!branch_exists(&r.repo, &branch("v1")));
    assert_eq!(head_branch(&r.repo), Some(branch("main")));
}

#[test]
fn a_link_to_a_host_folder_as_a_ref_lists_nothing_of_the_host() {
    let r = repo();
    r.link("refs/heads/x", "/etc");
    r.link("refs/heads/secret", &r.host);
    r.link("refs/heads/canary", r.host.join("canary"));
    assert_eq!(branches(&r.repo), ["main"]);
    assert!(!branch_exists(&r.repo, &branch("canary")));
    assert!(!branch_exists(&r.repo, &branch("x/passwd")));
    assert!(!branch_exists(&r.repo, &branch("secret/canary")));
}

#[test]
fn a_proc_self_root_loop_as_a_ref_ends_at_once() {
    let r = repo();
    r.link("refs/heads/loop", "/proc/self/root");
    std::fs::create_dir_all(r.path("refs/heads/deeper")).unwrap();
    r.link("refs/heads/deeper/loop", "../../..");
    let repo = r.repo.clone();
    assert_eq!(promptly(move || branches(&repo)), ["main"]);
    assert!(!branch_exists(&r.repo, &branch("loop/etc/hostname")));
}

#[test]
fn links_at_every_level_of_the_path_are_not_followed() {
    // refs/heads itself a link to the host.
    let r = repo();
    std::fs::create_dir_all(r.host.join("heads")).unwrap();
    std::fs::write(r.host.join("heads/hostbranch"), "abc\n").unwrap();
    std::fs::remove_dir_all(r.path("refs/heads")).unwrap();
    r.link("refs/heads", r.host.join("heads"));
    assert!(branches(&r.repo).is_empty());
    assert!(!branch_exists(&r.repo, &branch("hostbranch")));

    // refs a link.
    let r = repo();
    std::fs::create_dir_all(r.host.join("refs/heads")).unwrap();
    std::fs::write(r.host.join("refs/heads/hostbranch"), "abc\n").unwrap();
    std::fs::remove_dir_all(r.path("refs")).unwrap();
    r.link("refs", r.host.join("refs"));
    assert!(branches(&r.repo).is_empty());
    assert!(!branch_exists(&r.repo, &branch("hostbranch")));

    // The repository itself a link (never made by a container, but refused all the same).
    let r = repo();
    let linked = r.repo.with_file_name("linked.git");
    symlink(&r.repo, &linked).unwrap();
    assert!(branches(&linked).is_empty());
    assert_eq!(head_branch(&linked), None);

    // packed-refs and HEAD links to host files.
    let r = repo();
    r.link("packed-refs", r.host.join("packed-refs"));
    std::fs::write(r.host.join("HEAD"), "ref: refs/heads/from-host\n").unwrap();
    r.link("HEAD", r.host.join("HEAD"));
    assert_eq!(branches(&r.repo), ["main"]);
    assert!(!branch_exists(&r.repo, &branch("stolen")));
    assert_eq!(head_branch(&r.repo), None);

    // A folder on the way to a ref a link.
    let r = repo();
    std::fs::create_dir_all(r.host.join("team")).unwrap();
    std::fs::write(r.host.join("team/b"), "abc\n").unwrap();
    r.link("refs/heads/team", r.host.join("team"));
    assert!(!branch_exists(&r.repo, &branch("team/b")));
}

#[test]
fn a_link_to_etc_shadow_as_packed_refs_is_not_read() {
    let r = repo();
    r.link("packed-refs", "/etc/shadow");
    assert_eq!(branches(&r.repo), ["main"]);
}

#[test]
fn a_fifo_as_a_ref_packed_refs_or_head_does_not_block() {
    let r = repo();
    r.fifo("refs/heads/fifo");
    r.fifo("packed-refs");
    r.fifo("HEAD");
    let repo = r.repo.clone();
    let (listed, exists, head) = promptly(move || {
        (
            branches(&repo),
            branch_exists(&repo, &branch("fifo")),
            head_branch(&repo),
        )
    });
    assert_eq!(listed, ["main"]);
    assert!(!exists);
    assert_eq!(head, None);
}

#[test]
fn a_huge_sparse_packed_refs_is_read_only_up_to_its_cap() {
    let r = repo();
    let file = std::fs::File::create(r.path("packed-refs")).unwrap();
    use std::io::Write;
    (&file)
        .write_all(b"# pack-refs with: peeled\nabc refs/heads/packed\n")
        .unwrap();
    file.set_len(200 << 20).unwrap();
    let repo = r.repo.clone();
    let (listed, exists) =
        promptly(move || (branches(&repo), branch_exists(&repo, &branch("packed"))));
    assert_eq!(listed, ["main", "packed"]);
    assert!(exists);
}

#[test]
fn a_huge_head_or_ref_is_not_read() {
    let r = repo();
    let big = format!("ref: refs/heads/main\n{}", " ".repeat(8192));
    std::fs::write(r.path("HEAD"), big.as_bytes()).unwrap();
    std::fs::write(r.path("refs/heads/big"), big.as_bytes()).unwrap();
    assert_eq!(head_branch(&r.repo), None);
    assert!(!branch_exists(&r.repo, &branch("big")));
}

#[test]
fn refs_nested_deeper_than_the_cap_are_not_listed() {
    let r = repo();
    let shallow = r.path("refs/heads/a/b/c");
    std::fs::create_dir_all(&shallow).unwrap();
    std::fs::write(shallow.join("d"), "abc\n").unwrap();
    nest(&r.path("refs/heads"), 200);
    let repo = r.repo.clone();
    assert_eq!(promptly(move || branches(&repo)), ["a/b/c/d", "main"]);
}

#[test]
fn many_refs_are_listed_only_up_to_the_cap() {
    let r = repo();
    for i in 0..12_000 {
        std::fs::write(r.path(&format!("refs/heads/b{i:05}")), "abc\n").unwrap();
    }
    let repo = r.repo.clone();
    let listed = promptly(move || branches(&repo));
    assert!(listed.len() <= refs::MAX_BRANCHES, "{}", listed.len());
    assert!(listed.len() > 9_000, "{}", listed.len());
}

#[test]
fn names_git_would_refuse_are_left_out() {
    let r = repo();
    for name in ["bad..name", "x.lock", ".hidden", "sp ace", "-dash"] {
        std::fs::write(r.path(&format!("refs/heads/{name}")), "abc\n").unwrap();
    }
    std::fs::write(
        r.path("packed-refs"),
        "abc refs/heads/pa..cked\nabc refs/heads/good\nabc refs/heads/\n",
    )
    .unwrap();
    std::fs::write(r.path("HEAD"), "ref: refs/heads/bad..name\n").unwrap();
    assert_eq!(branches(&r.repo), ["good", "main"]);
    assert_eq!(head_branch(&r.repo), None);
}

#[test]
fn removing_a_worktree_through_a_linked_worktrees_folder_leaves_the_host_alone() {
    let r = repo();
    std::fs::create_dir_all(r.host.join("ws1")).unwrap();
    std::fs::write(r.host.join("ws1/HEAD"), "host file\n").unwrap();
    r.link("worktrees", &r.host);
    let dir = Dir::open(&r.repo).unwrap();
    remove_all(&dir, "worktrees/ws1", WORKTREE).unwrap();
    remove_all(&dir, "worktrees/canary", WORKTREE).unwrap();
    r.host_is_intact();
    assert!(r.host.join("ws1/HEAD").exists());
    assert!(r.path("worktrees").is_symlink());
}

#[test]
fn removing_a_worktree_unlinks_links_inside_it_without_following_them() {
    let r = repo();
    std::fs::create_dir_all(r.path("worktrees/ws1/logs")).unwrap();
    std::fs::write(r.path("worktrees/ws1/HEAD"), "abc\n").unwrap();
    r.link("worktrees/ws1/logs/host", &r.host);
    r.link("worktrees/ws1/canary", r.host.join("canary"));
    r.link("worktrees/ws1/loop", "/proc/self/root");
    r.fifo("worktrees/ws1/fifo");
    r.link("worktrees/ws2", &r.host);
    let dir = Dir::open(&r.repo).unwrap();
    promptly(move || {
        remove_all(&dir, "worktrees/ws1", WORKTREE).unwrap();
        remove_all(&dir, "worktrees/ws2", WORKTREE).unwrap();
        remove_all(&dir, "worktrees/never-there", WORKTREE).unwrap();
    });
    assert!(!r.path("worktrees/ws1").exists());
    assert!(!r.path("worktrees/ws2").is_symlink());
    r.host_is_intact();
}

#[test]
fn a_tree_nested_far_deeper_than_the_cap_is_removed_whole() {
    let r = repo();
    std::fs::create_dir_all(r.path("worktrees/ws1")).unwrap();
    // More than ten times the cap (16 open folders); much deeper only takes the disk longer
    // (even `rm -rf` needs seconds for a few thousand levels).
    nest(&r.path("worktrees/ws1"), 200);
    let dir = Dir::open(&r.repo).unwrap();
    promptly(move || remove_all(&dir, "worktrees/ws1", WORKTREE).unwrap());
    assert!(!r.path("worktrees/ws1").exists());
    assert!(r.path("worktrees").is_dir());
}

#[test]
fn removing_more_entries_than_the_cap_fails_and_says_so() {
    let r = repo();
    std::fs::create_dir_all(r.path("worktrees/ws1")).unwrap();
    for i in 0..50 {
        std::fs::write(r.path(&format!("worktrees/ws1/f{i}")), "x").unwrap();
    }
    let dir = Dir::open(&r.repo).unwrap();
    let small = Limits {
        depth: 4,
        entries: 10,
    };
    let e = remove_all(&dir, "worktrees/ws1", small).unwrap_err();
    assert!(e.to_string().contains("more than 10 entries"), "{e}");
}

#[test]
fn removing_a_whole_clone_by_path_follows_no_link_inside_it() {
    let r = repo();
    r.link("refs/heads/host", &r.host);
    r.link("objects", "/proc/self/root");
    r.fifo("packed-refs");
    remove_path(&r.repo, CLONE).unwrap();
    assert!(!r.repo.exists());
    r.host_is_intact();
    remove_path(&r.repo, CLONE).unwrap();
}

#[test]
fn handing_over_a_clone_re_owns_links_never_their_targets() {
    let r = repo();
    r.link("refs/heads/host", &r.host);
    r.link("description", r.host.join("canary"));
    let me = std::fs::metadata(&r.repo).unwrap().uid();
    let uid = if me == 0 { 4242 } else { me };
    let before = std::fs::metadata(r.host.join("canary")).unwrap().uid();
    chown_all(&r.repo, uid, uid, CLONE).unwrap();
    for rel in [
        "",
        "HEAD",
        "refs",
        "refs/heads/main",
        "refs/heads/host",
        "description",
    ] {
        let meta = std::fs::symlink_metadata(r.path(rel)).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (uid, uid), "{rel}");
    }
    assert_eq!(
        std::fs::metadata(r.host.join("canary")).unwrap().uid(),
        before
    );
    assert_eq!(std::fs::metadata(&r.host).unwrap().uid(), before);
}

#[test]
fn handing_over_a_clone_nested_deeper_than_the_cap_is_refused() {
    let r = repo();
    nest(&r.path("refs"), 100);
    let me = std::fs::metadata(&r.repo).unwrap();
    let e = chown_all(&r.repo, me.uid(), me.gid(), CLONE).unwrap_err();
    assert!(e.to_string().contains("deeper than 64"), "{e}");
}
