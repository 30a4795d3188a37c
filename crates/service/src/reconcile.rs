//! Reconciliation (invariant I2): the containers labelled as this server's and the rows of
//! the database are brought back in agreement, at start and every minute.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::Utc;
use craftastic_domain::EnvironmentId;
use craftastic_runtime::Runtime;
use craftastic_store::{SessionStatus, Store, WorkspaceStatus};

use crate::ServiceResult;
use crate::environments::Environments;
use crate::sandbox::{self, SandboxSettings, labels};
use crate::sessions::Sessions;
use crate::terminal::Terminal;

/// What one pass changed, for logs and the admin route.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub removed_containers: usize,
    pub missing_workspaces: usize,
    pub stopped_workspaces: usize,
    pub removed_repositories: usize,
    /// Sessions whose tmux session ended without the server seeing it.
    pub dead_sessions: usize,
    /// Sessions whose container stopped or vanished; they start again when opened.
    pub inactive_sessions: usize,
    /// tmux clients of viewers that no longer exist (left by a crash of the server).
    pub stray_viewers: usize,
}

#[derive(Clone)]
pub struct Reconciler {
    store: Arc<dyn Store>,
    runtime: Arc<dyn Runtime>,
    settings: Arc<SandboxSettings>,
    environments: Environments,
    sessions: Sessions,
    terminal: Terminal,
}

impl Reconciler {
    pub fn new(
        store: Arc<dyn Store>,
        runtime: Arc<dyn Runtime>,
        settings: Arc<SandboxSettings>,
        environments: Environments,
        sessions: Sessions,
        terminal: Terminal,
    ) -> Self {
        Self {
            store,
            runtime,
            settings,
            environments,
            sessions,
            terminal,
        }
    }

    /// At start: finishes what a previous run left half done, then reconciles.
    pub async fn startup(&self) -> ServiceResult<Report> {
        self.environments.resume_interrupted().await?;
        self.run().await
    }

    /// One pass. Containers whose workspace row is gone are removed with their volume;
    /// rows whose container is gone are marked `missing` (recreated on next use); rows of
    /// containers stopped behind our back are marked `stopped` (restarted on next use);
    /// clones without an environment are removed. Sessions follow their tmux sessions:
    /// `dead` when the tmux session ended in a running container, `inactive` when the
    /// container is not running.
    pub async fn run(&self) -> ServiceResult<Report> {
        let mut report = Report::default();
        let containers = self
            .runtime
            .list(&[(labels::INSTANCE, &self.settings.instance)])
            .await?;
        let workspaces = self.store.list_workspaces(None).await?;
        let known: HashSet<String> = workspaces.iter().map(|w| w.id.to_string()).collect();
        for c in &containers {
            let ws = c.labels.get(labels::WORKSPACE).cloned().unwrap_or_default();
            let env_in_making = c
                .labels
                .get(labels::ENVIRONMENT)
                .and_then(|e| e.parse::<EnvironmentId>().ok())
                .is_some_and(|e| self.environments.is_provisioning(e));
            if !known.contains(&ws) && !env_in_making {
                tracing::info!(container = %c.name, "removing a container that no workspace owns");
                self.runtime.remove(&c.id).await?;
                if !ws.is_empty() {
                    self.runtime
                        .remove_volume(&format!("{}{ws}", sandbox::VOLUME_PREFIX))
                        .await?;
                }
                report.removed_containers += 1;
            }
        }
        let by_id: HashMap<&str, bool> = containers
            .iter()
            .map(|c| (c.id.as_str(), c.running))
            .collect();
        for ws in &workspaces {
            let Some(id) = &ws.container_id else { continue };
            match by_id.get(id.as_str()) {
                None if ws.status != WorkspaceStatus::Creating => {
                    tracing::info!(workspace = %ws.id, "its container is gone; it will be recreated on next use");
                    self.store
                        .set_workspace_state(ws.id, WorkspaceStatus::Missing, None, None)
                        .await?;
                    report.missing_workspaces += 1;
                }
                Some(false) if ws.status == WorkspaceStatus::Running => {
                    self.store
                        .set_workspace_state(ws.id, WorkspaceStatus::Stopped, Some(id), None)
                        .await?;
                    report.stopped_workspaces += 1;
                }
                _ => {}
            }
        }
        self.reconcile_sessions(&workspaces, &by_id, &mut report)
            .await?;
        report.removed_repositories = self.remove_orphan_repositories().await?;
        if report != Report::default() {
            tracing::info!(?report, "reconciled");
        }
        Ok(report)
    }

    async fn reconcile_sessions(
        &self,
        workspaces: &[craftastic_store::Workspace],
        containers: &HashMap<&str, bool>,
        report: &mut Report,
    ) -> ServiceResult<()> {
        let sessions = self.store.list_sessions(None).await?;
        for ws in workspaces {
            let mine: Vec<_> = sessions
                .iter()
                .filter(|s| s.workspace_id == Some(ws.id) && s.status == SessionStatus::Active)
                .collect();
            let running = ws
                .container_id
                .as_deref()
                .filter(|id| containers.get(id) == Some(&true));
            let Some(container) = running else {
                for s in &mine {
                    self.store
                        .set_session_status(s.id, SessionStatus::Inactive, Utc::now())
                        .await?;
                    report.inactive_sessions += 1;
                }
                continue;
            };
            report.stray_viewers += self.terminal.hang_up_strays(container).await?;
            if mine.is_empty() {
                continue;
            }
            let alive = self.sessions.running_tmux(container).await?;
            for s in mine {
                if !alive.contains(&s.tmux_session_name) {
                    tracing::info!(session = %s.id, "its tmux session ended");
                    self.sessions.mark_dead(s.id).await?;
                    report.dead_sessions += 1;
                }
            }
        }
        Ok(())
    }

    async fn remove_orphan_repositories(&self) -> ServiceResult<usize> {
        let Ok(entries) = std::fs::read_dir(self.settings.repos_dir()) else {
            return Ok(0);
        };
        let envs: HashSet<EnvironmentId> = self
            .store
            .list_environments(None)
            .await?
            .into_iter()
            .map(|e| e.id)
            .collect();
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let partial = name.starts_with(sandbox::PARTIAL_PREFIX);
            let id = match name.strip_prefix(sandbox::PARTIAL_PREFIX) {
                Some(rest) => rest.get(..36),
                None => name.strip_suffix(".git"),
            };
            let Some(id) = id.and_then(|i| i.parse::<EnvironmentId>().ok()) else {
                continue;
            };
            let orphan = !envs.contains(&id) || partial;
            if orphan && !self.environments.is_provisioning(id) {
                tracing::info!(path = %entry.path().display(), "removing a clone that no environment owns");
                // Containers could write the clone: nothing in it is followed.
                let path = entry.path();
                let outcome = tokio::task::spawn_blocking(move || {
                    crate::untrusted::remove_path(&path, crate::untrusted::CLONE)
                })
                .await;
                match outcome {
                    Ok(Ok(())) => removed += 1,
                    Ok(Err(e)) => {
                        tracing::warn!(path = %entry.path().display(), error = %e, "could not remove a clone that no environment owns");
                    }
                    Err(e) => tracing::warn!(error = %e, "removing a clone stopped"),
                }
            }
        }
        Ok(removed)
    }

    /// Every container this server labelled as its own.
    pub async fn containers(&self) -> ServiceResult<Vec<craftastic_runtime::ContainerInfo>> {
        Ok(self
            .runtime
            .list(&[(labels::INSTANCE, &self.settings.instance)])
            .await?)
    }

    /// Runs [`Self::run`] every `period` until the returned handle is dropped or aborted.
    pub fn spawn_periodic(self, period: std::time::Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.tick().await;
            loop {
                tick.tick().await;
                if let Err(e) = self.run().await {
                    tracing::warn!(error = %e, "reconciliation failed; trying again later");
                }
            }
        })
    }
}
