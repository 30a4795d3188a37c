use craftastic_domain::{BranchName, ErrorCode, RepoPath};
use craftastic_runtime::ExecOutput;

use super::DIFF_CAP;
use super::outcome::*;
use crate::ServiceError;

fn out(code: i64, stdout: &str, stderr: &str) -> ExecOutput {
    ExecOutput {
        code,
        stdout: stdout.into(),
        stderr: stderr.into(),
        ..Default::default()
    }
}

#[test]
fn the_base_record_is_split_from_the_status() {
    let raw = b"# branch.oid abc\0# branch.head main\0? x\0# craftastic.base origin/main 2 1\0";
    let (status, base) = split_base(raw);
    assert_eq!(status, b"# branch.oid abc\0# branch.head main\0? x\0");
    assert_eq!(base, Some(("origin/main".into(), 2, 1)));
    assert_eq!(split_base(b"# branch.head main\0").1, None);
}

#[test]
fn long_diffs_are_cut_at_a_line() {
    let line = "+".repeat(99) + "\n";
    let diff = cut_diff(line.repeat(DIFF_CAP / 100 + 10).into_bytes());
    assert!(diff.truncated);
    assert!(diff.diff.len() <= DIFF_CAP);
    assert!(diff.diff.ends_with('\n'));
    let small = cut_diff(b"Binary files /dev/null and b/x.png differ\n".to_vec());
    assert!(!small.truncated);
    assert!(small.binary);
}

#[test]
fn a_refused_push_says_why() {
    let branch = BranchName::parse("main").unwrap();
    let e = push_outcome(
        &out(
            1,
            "To http://h/r.git\n!\trefs/heads/main:refs/heads/main\t[rejected] (fetch first)\nDone\n",
            "error: failed to push some refs\nhint: Updates were rejected\n",
        ),
        &branch,
    )
    .unwrap_err();
    assert!(
        matches!(&e, ServiceError::Conflict { code: ErrorCode::PushRejected, message } if message.contains("fetch first") && message.contains("git rebase origin/main")),
        "{e:?}"
    );
    let e = push_outcome(
        &out(
            1,
            "!\trefs/heads/main:refs/heads/main\t[remote rejected] (pre-receive hook declined)\n",
            "",
        ),
        &branch,
    )
    .unwrap_err();
    assert!(e.to_string().contains("pre-receive hook declined"), "{e}");
    let e = push_outcome(
        &out(
            128,
            "",
            "fatal: could not read Username for 'https://github.com': terminal prompts disabled\n",
        ),
        &branch,
    )
    .unwrap_err();
    assert!(matches!(e, ServiceError::Upstream(m) if m.contains("credentials")));
    assert!(
        push_outcome(
            &out(
                0,
                "=\trefs/heads/main:refs/heads/main\t[up to date]\nDone\n",
                ""
            ),
            &branch
        )
        .is_ok()
    );
}

#[test]
fn commit_outcomes() {
    let hash = "a".repeat(40);
    assert_eq!(
        commit_outcome(&out(0, &format!("{hash}\n"), ""), &[]).unwrap(),
        hash
    );
    let e = commit_outcome(
        &out(
            1,
            "On branch main\nnothing to commit, working tree clean\n",
            "",
        ),
        &[],
    )
    .unwrap_err();
    assert!(matches!(
        e,
        ServiceError::Conflict {
            code: ErrorCode::NothingToCommit,
            ..
        }
    ));
    let files = [RepoPath::parse("files", "nope.txt").unwrap()];
    let e = commit_outcome(
        &out(
            3,
            "",
            "fatal: pathspec ':(literal)nope.txt' did not match any files\n",
        ),
        &files,
    )
    .unwrap_err();
    assert!(
        matches!(&e, ServiceError::Invalid(v) if v.field == "files" && v.message.contains("nope.txt")),
        "{e:?}"
    );
    let e = commit_outcome(
        &out(1, "", "pre-commit: trailing whitespace in a.txt\n"),
        &[],
    )
    .unwrap_err();
    assert!(e.to_string().contains("trailing whitespace"));
}
