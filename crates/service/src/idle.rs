//! Idle stop: a running workspace in which nobody has a terminal open, nothing was typed
//! and no session was at work for its environment's `idle_stop_minutes` is stopped, with a
//! reason that says so. Its sessions become `inactive`; opening any of them starts the
//! workspace again, and agent sessions continue their conversation (see
//! `sessions/agent_files.rs`).
//!
//! A check runs every [`CHECK_INTERVAL`]. A workspace is busy while a terminal of one of
//! its active sessions is open, or one of them is `working`, or its activity is `unknown`
//! (the server cannot tell, so it does not stop it). A workspace that is not busy has been
//! idle since the latest of: its last change of state (its start), the last check that
//! found it busy, the last terminal input of its sessions, and the last change of their
//! activity (when a command or an agent's turn ended). The check reads the running
//! workspaces (through their partial index), then only the environments that have one, each
//! with its workspaces and sessions in one statement.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use craftastic_domain::{ActivityState, EnvironmentId, WorkspaceId};
use craftastic_store::{EnvironmentStatus, Session, SessionStatus, Store};

use crate::ServiceResult;
use crate::activity::Activities;
use crate::sessions::Sessions;
use crate::terminal::Terminal;
use crate::workspaces::Workspaces;

/// How often running workspaces are checked.
pub const CHECK_INTERVAL: Duration = Duration::from_secs(60);

/// What one check did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct IdleReport {
    /// Running workspaces whose environment stops idle ones.
    pub checked: usize,
    pub stopped: Vec<WorkspaceId>,
}

#[derive(Clone)]
pub struct IdleStop {
    store: Arc<dyn Store>,
    workspaces: Workspaces,
    sessions: Sessions,
    terminal: Terminal,
    activities: Activities,
    /// When a check last found each running workspace busy.
    busy: Arc<Mutex<HashMap<WorkspaceId, DateTime<Utc>>>>,
}

impl IdleStop {
    pub fn new(
        store: Arc<dyn Store>,
        workspaces: Workspaces,
        sessions: Sessions,
        terminal: Terminal,
        activities: Activities,
    ) -> Self {
        Self {
            store,
            workspaces,
            sessions,
            terminal,
            activities,
            busy: Arc::default(),
        }
    }

    fn busy(&self) -> MutexGuard<'_, HashMap<WorkspaceId, DateTime<Utc>>> {
        self.busy.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One check now.
    /// Fails: the database fails → the check ends early; a workspace that cannot be stopped
    /// is logged and tried again at the next check.
    pub async fn run(&self) -> ServiceResult<IdleReport> {
        self.run_at(Utc::now()).await
    }

    /// One check as if it were `now`: tests move the clock on rather than wait an hour.
    pub async fn run_at(&self, now: DateTime<Utc>) -> ServiceResult<IdleReport> {
        let running: Vec<_> = self
            .store
            .list_running_workspaces()
            .await?
            .into_iter()
            .filter(|w| w.container_id.is_some())
            .collect();
        let ids: HashSet<WorkspaceId> = running.iter().map(|w| w.id).collect();
        self.busy().retain(|id, _| ids.contains(id));
        let environments: HashSet<EnvironmentId> =
            running.iter().map(|w| w.environment_id).collect();
        let mut report = IdleReport::default();
        for env in environments {
            let Some(contents) = self.store.get_environment_contents(env).await? else {
                continue;
            };
            let environment = &contents.environment;
            let Some(after) = environment.idle_stop.after() else {
                continue;
            };
            if environment.status != EnvironmentStatus::Running {
                continue;
            }
            for ws in contents.workspaces.iter().filter(|w| ids.contains(&w.id)) {
                report.checked += 1;
                let sessions: Vec<&Session> = contents
                    .sessions
                    .iter()
                    .filter(|s| s.workspace_id == Some(ws.id))
                    .collect();
                if self.is_busy(sessions.iter().copied()) {
                    self.busy().insert(ws.id, now);
                    continue;
                }
                let seen_busy = self.busy().get(&ws.id).copied();
                let since = sessions
                    .iter()
                    .flat_map(|s| [self.sessions.last_input(s), self.quiet_since(s)])
                    .chain([Some(ws.updated_at), seen_busy])
                    .flatten()
                    .max()
                    .unwrap_or(ws.updated_at);
                let idle = (now - since).to_std().unwrap_or_default();
                if idle < after {
                    continue;
                }
                let reason = reason(environment.idle_stop.minutes());
                let stopped = self
                    .workspaces
                    .stop_for(ws, &reason, "workspaces.idle_stop", |now| {
                        self.is_busy(now.iter())
                    })
                    .await;
                match stopped {
                    Ok(true) => {
                        self.busy().remove(&ws.id);
                        report.stopped.push(ws.id);
                    }
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(workspace = %ws.id, error = %e, "could not stop an idle workspace; trying again at the next check")
                    }
                }
            }
        }
        Ok(report)
    }

    /// Whether one of these sessions keeps its workspace busy: it is active, and its
    /// terminal is open, or it is at work, or what it does is not known.
    fn is_busy<'a>(&self, sessions: impl IntoIterator<Item = &'a Session>) -> bool {
        sessions.into_iter().any(|s| {
            s.status == SessionStatus::Active
                && (self.terminal.is_viewed(s.id)
                    || matches!(
                        self.activities.of(s).state,
                        ActivityState::Working | ActivityState::Unknown
                    ))
        })
    }

    /// When an active session's activity last changed: for one not at work, when its
    /// command or its agent's turn ended.
    fn quiet_since(&self, s: &Session) -> Option<DateTime<Utc>> {
        (s.status == SessionStatus::Active).then(|| self.activities.of(s).since)
    }

    /// Runs [`Self::run`] every [`CHECK_INTERVAL`] until the returned handle is dropped or
    /// aborted.
    pub fn spawn_periodic(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(CHECK_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                match self.run().await {
                    Ok(report) if !report.stopped.is_empty() => {
                        tracing::info!(?report, "idle workspaces stopped")
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "checking for idle workspaces failed; trying again later")
                    }
                }
            }
        })
    }
}

/// The workspace's error once it is stopped: why, and how to get it back.
fn reason(minutes: u32) -> String {
    let idle = match minutes {
        1 => "1 minute".to_owned(),
        60 => "1 hour".to_owned(),
        m if m % 60 == 0 => format!("{} hours", m / 60),
        m => format!("{m} minutes"),
    };
    format!(
        "stopped after {idle} idle: no terminal of its sessions was open, nothing was typed \
         and no session was at work. Open one of its sessions to start it again; agents \
         continue their conversation"
    )
}

#[cfg(test)]
mod tests {
    use super::reason;

    #[test]
    fn the_reason_says_how_long_as_people_do() {
        assert!(reason(1).starts_with("stopped after 1 minute idle:"));
        assert!(reason(45).starts_with("stopped after 45 minutes idle:"));
        assert!(reason(60).starts_with("stopped after 1 hour idle:"));
        assert!(reason(90).starts_with("stopped after 90 minutes idle:"));
        assert!(reason(180).starts_with("stopped after 3 hours idle:"));
        assert!(reason(60).contains("Open one of its sessions to start it again"));
    }
}
