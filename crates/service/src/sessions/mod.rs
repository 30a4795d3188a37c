//! Sessions: tmux sessions in the workspace of a branch. The tmux session, not the
//! browser, holds the shell, so closing a tab never ends the user's work.
//!
//! [`crud`] creates, reads, changes and deletes sessions; [`tmux`] drives the tmux sessions
//! in the workspace container; [`agent_files`] writes what an agent session needs there;
//! [`activity`] batches terminal activity into the database; [`watch`] runs a watcher in
//! each container with active sessions, which notices tmux sessions that ended;
//! [`recordings`] records every session's output in its container and reads it back.

mod activity;
pub(crate) mod agent_files;
mod crud;
pub mod recordings;
mod tmux;
mod watch;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use craftastic_domain::{BranchName, EnvironmentId, SessionId, SessionName, WorkingDirectory};
use craftastic_runtime::{ExecOutput, ExecSpec, Runtime};
use craftastic_store::{SessionStatus, SessionType, Store, StoreError};
use uuid::Uuid;

use crate::ServiceResult;
use crate::activity::Activities;
use crate::agents::Agents;
use crate::git::Git;
use crate::limits::Limits;
use crate::sandbox::SandboxSettings;
use crate::variables::Variables;
use crate::workspaces::Workspaces;
pub use activity::Activity;
pub use recordings::{Recording, RecordingSettings};
pub use watch::{Place, WatchSettings, Watchers};

/// What a session request asks for; every field already validated.
#[derive(Debug, Clone)]
pub struct NewSessionRequest {
    pub environment_id: EnvironmentId,
    pub name: Option<SessionName>,
    pub branch: Option<BranchName>,
    pub working_directory: Option<WorkingDirectory>,
    pub session_type: SessionType,
    pub agent_id: Option<Uuid>,
}

/// What deleting a session did to its branch's workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deleted {
    /// The workspace went with its last session, or stays for other sessions or as the
    /// environment's default branch.
    Done,
    /// It was the branch's last session, but the workspace stays; the text says why.
    WorkspaceKept { reason: String },
}

#[derive(Debug, Clone)]
pub struct Liveness {
    pub status: SessionStatus,
    pub tmux_alive: bool,
    pub container_running: bool,
    pub last_activity: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct BranchCheck {
    pub valid: bool,
    pub exists: bool,
    pub in_use_by_sessions: usize,
    pub reason: Option<String>,
}

#[derive(Clone)]
pub struct Sessions {
    store: Arc<dyn Store>,
    runtime: Arc<dyn Runtime>,
    settings: Arc<SandboxSettings>,
    workspaces: Workspaces,
    git: Git,
    agents: Agents,
    variables: Variables,
    activity: Arc<Activity>,
    limits: Limits,
    watchers: Watchers,
    readers: recordings::Readers,
}

impl Sessions {
    /// One argument per service a session uses.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Arc<dyn Store>,
        runtime: Arc<dyn Runtime>,
        settings: Arc<SandboxSettings>,
        workspaces: Workspaces,
        git: Git,
        agents: Agents,
        variables: Variables,
        limits: Limits,
        activities: Activities,
    ) -> Self {
        let watchers = Watchers::new(
            store.clone(),
            runtime.clone(),
            settings.watch.clone(),
            activities,
            settings.recording.limit,
        );
        Self {
            store,
            runtime,
            settings,
            workspaces,
            git,
            agents,
            variables,
            activity: Arc::default(),
            limits,
            watchers,
            readers: Default::default(),
        }
    }

    pub fn activity(&self) -> &Activity {
        &self.activity
    }

    /// The session watchers of the running containers.
    pub fn watchers(&self) -> &Watchers {
        &self.watchers
    }

    /// Runs a shell script (`sh -c`) in the container as its user, with `args` as `$1`,
    /// `$2`, ….
    async fn shell(
        &self,
        container: &str,
        script: &str,
        args: &[&str],
    ) -> ServiceResult<ExecOutput> {
        self.shell_fed(container, script, args, None).await
    }

    /// [`Self::shell`] with `stdin` on the script's standard input: the one way a secret
    /// reaches a container, since arguments and an exec's environment show in `ps` and in
    /// the engine's records.
    async fn shell_fed(
        &self,
        container: &str,
        script: &str,
        args: &[&str],
        stdin: Option<Vec<u8>>,
    ) -> ServiceResult<ExecOutput> {
        let mut cmd = vec!["sh".into(), "-c".into(), script.into(), "tmux".into()];
        cmd.extend(args.iter().map(|a| (*a).to_owned()));
        Ok(self
            .runtime
            .exec(
                container,
                ExecSpec {
                    cmd,
                    stdin,
                    ..Default::default()
                },
            )
            .await?)
    }
}

/// Marks the session dead (its tmux session ended), unless it is gone already.
async fn mark_dead(store: &dyn Store, id: SessionId) -> ServiceResult<()> {
    match store
        .set_session_status(id, SessionStatus::Dead, Utc::now())
        .await
    {
        Ok(()) | Err(StoreError::NotFound) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The last line of a script's stderr, for an error sentence.
fn last_line(out: &ExecOutput) -> String {
    let stderr = out.stderr_str();
    stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message")
        .trim()
        .to_owned()
}
