//! Git in a workspace: status, diff, log, commit and push, run inside the workspace's
//! container as its user (invariant I3: never on the host against a repository a container
//! can write). Every command goes through [`Git::run`] ([`executor`]): an argument vector,
//! the C locale, no prompts, a time limit, and credentials only in that one process's
//! environment.
//!
//! [`place`] finds the workspace an operation runs in, [`worktree`] reads and commits it,
//! [`remote`] pushes and fetches, [`outcome`] reads what git answered, [`refs`] lists the
//! branches from the host without running git, and [`scripts`] holds the shell scripts.

mod executor;
pub mod log;
mod outcome;
mod place;
pub mod porcelain;
mod refs;
mod remote;
mod scripts;
mod worktree;

use std::sync::Arc;
use std::time::Instant;

use craftastic_domain::{BranchName, EnvironmentId, RemoteName, SessionId, WorkspaceId};
use craftastic_runtime::Runtime;
use craftastic_store::Store;
use serde_json::json;
use uuid::Uuid;

use crate::ServiceResult;
use crate::github::Github;
use crate::keyed_lock::KeyedLocks;
use crate::sandbox::SandboxSettings;
use crate::tokens::Principal;
pub(crate) use outcome::RemoteTrouble;
use place::Place;
pub(crate) use remote::credential_env;

/// The most diff text one answer carries; the rest is cut and the answer says so.
pub const DIFF_CAP: usize = 512 * 1024;
/// The most commits one page of the log holds.
pub const LOG_MAX: u32 = 100;

/// What a git operation acts on: a session's workspace, or an environment's default-branch
/// workspace (the seed's environment-scoped routes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Session(SessionId),
    Environment(EnvironmentId),
    /// A session id or, when no session has it, an environment id.
    Either(Uuid),
}

#[derive(Debug, Clone)]
pub struct Status {
    pub branch: Option<String>,
    pub upstream: Option<String>,
    pub ahead: u64,
    pub behind: u64,
    pub files: Vec<porcelain::FileStatus>,
}

#[derive(Debug, Clone)]
pub struct Diff {
    pub diff: String,
    pub truncated: bool,
    pub binary: bool,
}

#[derive(Debug, Clone)]
pub struct LogPage {
    pub commits: Vec<log::Commit>,
    pub has_more: bool,
}

#[derive(Debug, Clone)]
pub struct Pushed {
    pub remote: RemoteName,
    pub branch: BranchName,
}

#[derive(Debug, Clone)]
pub struct RepoInfo {
    pub repository_url: Option<String>,
    pub default_branch: BranchName,
    pub branches: Vec<String>,
    /// Each branch that has a workspace, with the sessions in it.
    pub worktrees: Vec<(BranchName, Vec<SessionId>)>,
}

#[derive(Clone)]
pub struct Git {
    store: Arc<dyn Store>,
    runtime: Arc<dyn Runtime>,
    settings: Arc<SandboxSettings>,
    github: Github,
    /// Commits, pushes and fetches of one workspace run one at a time.
    locks: KeyedLocks<WorkspaceId>,
}

impl Git {
    pub fn new(
        store: Arc<dyn Store>,
        runtime: Arc<dyn Runtime>,
        settings: Arc<SandboxSettings>,
        github: Github,
    ) -> Self {
        Self {
            store,
            runtime,
            settings,
            github,
            locks: KeyedLocks::default(),
        }
    }

    /// Logs an operation that changes the workspace or talks to a remote, and records it
    /// in the audit log with its outcome.
    async fn audit<T>(
        &self,
        who: Principal,
        action: &str,
        place: &Place,
        result: &ServiceResult<T>,
        started: Instant,
        details: impl FnOnce(&T) -> serde_json::Value,
    ) {
        let (outcome, mut extra) = match result {
            Ok(v) => ("ok", details(v)),
            Err(e) => ("failed", json!({ "error": e.to_string() })),
        };
        extra["environmentId"] = json!(place.env.id);
        extra["branch"] = json!(place.branch);
        tracing::info!(action, environment = %place.env.id, branch = %place.branch, outcome,
            elapsed_ms = started.elapsed().as_millis() as u64, "git");
        crate::audit::record(
            self.store.as_ref(),
            Some(who.user_id),
            action,
            Some(place.target()),
            outcome,
            extra,
        )
        .await;
    }
}

#[cfg(test)]
mod tests;
