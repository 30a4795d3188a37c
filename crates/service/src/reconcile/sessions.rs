//! The sessions' part of a reconciler pass: active sessions follow their workspace's
//! container and tmux sessions, stray tmux clients are hung up where there may be some, and
//! the session watchers that should run do.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use craftastic_domain::WorkspaceId;
use craftastic_store::{Session, SessionStatus, Workspace};

use super::{Reconciler, Report};

impl Reconciler {
    pub(super) async fn reconcile_sessions(
        &self,
        workspaces: &[Workspace],
        containers: &HashMap<&str, bool>,
        after_start: bool,
        report: &mut Report,
    ) {
        let began = tokio::time::Instant::now();
        let listed = self.store.list_sessions(None);
        let Some(sessions) = self
            .step(report, "listing the sessions", "database", listed)
            .await
        else {
            return;
        };
        let mut active: HashMap<WorkspaceId, Vec<Session>> = HashMap::new();
        for s in sessions {
            if let (Some(ws), SessionStatus::Active) = (s.workspace_id, s.status) {
                active.entry(ws).or_default().push(s);
            }
        }
        // The containers that keep (or get) a session watcher: running, with active sessions.
        let watched: HashSet<&str> = workspaces
            .iter()
            .filter(|ws| active.contains_key(&ws.id))
            .filter_map(|ws| ws.container_id.as_deref())
            .filter(|c| containers.get(c) == Some(&true))
            .collect();
        let work = workspaces.iter().map(|ws| {
            let mine = active.remove(&ws.id).unwrap_or_default();
            self.follow_tmux(ws, mine, containers, after_start)
        });
        self.each(work, report).await;
        self.sessions.watchers().retain(&watched, began);
    }

    /// The active sessions of one workspace follow its container and its tmux sessions, and
    /// stray tmux clients in it are hung up when there may be some.
    async fn follow_tmux(
        &self,
        ws: &Workspace,
        mine: Vec<Session>,
        containers: &HashMap<&str, bool>,
        after_start: bool,
    ) -> Report {
        let mut report = Report::default();
        let running = ws
            .container_id
            .as_deref()
            .filter(|id| containers.get(id) == Some(&true));
        let Some(container) = running else {
            for s in &mine {
                let marked =
                    self.store
                        .set_session_status(s.id, SessionStatus::Inactive, Utc::now());
                if self
                    .step(&mut report, "marking the session inactive", s.id, marked)
                    .await
                    .is_some()
                {
                    report.inactive_sessions += 1;
                }
            }
            return report;
        };
        if self.terminal.take_doubt(container) {
            // A container that does not answer one exec is left alone until the next pass:
            // its other execs would only wait as long again.
            let strays = self.terminal.hang_up_strays(container);
            let Some(strays) = self
                .step(
                    &mut report,
                    "hanging up stray tmux clients",
                    container,
                    strays,
                )
                .await
            else {
                self.terminal.doubt(container);
                return report;
            };
            report.stray_viewers += strays;
        }
        let watchers = self.sessions.watchers();
        if mine.is_empty() {
            if after_start && !watchers.watches(container) {
                let ended = watchers.end_strays(container);
                self.step(
                    &mut report,
                    "ending stray session watchers",
                    container,
                    ended,
                )
                .await;
            }
            return report;
        }
        let alive = match watchers.fresh(container) {
            Some(fresh) => fresh.sessions.clone(),
            None => {
                let place = crate::sessions::Place {
                    environment: ws.environment_id,
                    workspace: ws.id,
                };
                watchers.ensure(container, place);
                let listed = self.sessions.running_tmux(container);
                let Some(alive) = self
                    .step(&mut report, "listing the tmux sessions", container, listed)
                    .await
                else {
                    return report;
                };
                alive
            }
        };
        for s in mine {
            if !alive.contains(&s.tmux_session_name) {
                tracing::info!(session = %s.id, "its tmux session ended");
                let marked = self.sessions.mark_dead(s.id);
                if self
                    .step(&mut report, "marking the session dead", s.id, marked)
                    .await
                    .is_some()
                {
                    report.dead_sessions += 1;
                }
            }
        }
        report
    }
}
