//! The shell scripts that git runs through in the workspace container (`bash -c`, see
//! [`super::executor`]). Each is a file in `scripts/` whose head says its arguments and
//! exit codes; shellcheck checks them all in the tests.

pub(super) const STATUS: &str = include_str!("scripts/status.sh");
pub(super) const CHANGES: &str = include_str!("scripts/changes.sh");
pub(super) const DIFF: &str = include_str!("scripts/diff.sh");
pub(super) const LOG: &str = include_str!("scripts/log.sh");
pub(super) const COMMIT: &str = include_str!("scripts/commit.sh");
pub(super) const REMOTE_CHECK: &str = include_str!("scripts/remote-check.sh");
pub(super) const PUSH: &str = include_str!("scripts/push.sh");
pub(super) const FETCH: &str = include_str!("scripts/fetch.sh");
