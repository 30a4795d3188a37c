//! The task of one container's watcher: runs its exec, reads its reports within bounds,
//! gives them to the sessions' activity, marks ended sessions dead, and starts it again
//! after a back-off when it fails.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Weak};

use craftastic_domain::{SessionId, UserId};
use craftastic_runtime::{ExecSpec, Runtime, RuntimeError, StreamExec};
use craftastic_store::{SessionStatus, Store};
use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;
use tokio::time::Instant;

use super::report::{Budget, Reader, Report};
use super::{
    HEALTHY_PERIODS, Inner, MARKER, MAX_BACKOFF, Place, REPORT_PERIODS, SILENT_PERIODS,
    START_DEADLINE, STORE_DEADLINE, Shared, WRITE_DEADLINE, WatchSettings,
};
use crate::activity::Activities;
use crate::sessions::tmux::session_of;

/// Why a watcher stopped giving reports.
enum Outcome {
    /// Its process ended (or the engine closed the stream).
    Ended,
    /// It broke a bound, or could not be started; the text says how.
    Broken(String),
}

/// The task of one container's watcher: runs it, reads its reports, marks ended sessions
/// dead, and starts it again after a back-off when it fails.
pub(super) struct Task {
    pub(super) container: String,
    pub(super) place: Place,
    /// The environment's owner, read when the watcher first starts.
    pub(super) owner: Option<UserId>,
    pub(super) generation: u64,
    pub(super) shared: Arc<Shared>,
    pub(super) tokens: watch::Receiver<u64>,
    pub(super) store: Arc<dyn Store>,
    pub(super) runtime: Arc<dyn Runtime>,
    pub(super) settings: WatchSettings,
    pub(super) activities: Activities,
    /// The sessions whose activity this watcher's reports gave.
    pub(super) tracked: HashSet<SessionId>,
    pub(super) recording_limit: u64,
    pub(super) registry: Weak<Inner>,
}

impl Drop for Task {
    fn drop(&mut self) {
        self.forget_activity();
    }
}

impl Task {
    pub(super) async fn run(mut self) {
        let period = self.settings.period;
        let mut backoff = period;
        loop {
            let started = Instant::now();
            let outcome = self.watch().await;
            // Without a live watcher nothing is known of what the sessions do.
            self.forget_activity();
            {
                let mut state = self.shared.lock();
                state.latest = None;
                state.failures += 1;
            }
            match outcome {
                Outcome::Ended | Outcome::Broken(_) if !self.container_runs().await => {
                    self.forget();
                    return;
                }
                Outcome::Ended => tracing::warn!(
                    container = %self.container,
                    "the session watcher ended; starting it again"
                ),
                Outcome::Broken(why) => tracing::warn!(
                    container = %self.container,
                    reason = %why,
                    backoff_s = backoff.as_secs(),
                    "the session watcher is stale or failed; it is started again, and meanwhile reconciliation asks the container itself"
                ),
            }
            if started.elapsed() >= period * HEALTHY_PERIODS {
                backoff = period;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Runs the watcher once, until it ends or breaks a bound.
    async fn watch(&mut self) -> Outcome {
        let period = self.settings.period;
        if self.owner.is_none() {
            let env = tokio::time::timeout(
                STORE_DEADLINE,
                self.store.get_environment(self.place.environment),
            );
            match env.await {
                Ok(Ok(Some(env))) => self.owner = Some(env.user_id),
                Ok(Ok(None)) => return Outcome::Ended,
                Ok(Err(e)) => {
                    return Outcome::Broken(format!("its environment could not be read: {e}"));
                }
                Err(_) => return Outcome::Broken("reading its environment took too long".into()),
            }
        }
        let marker = uuid::Uuid::new_v4().simple().to_string();
        let token = *self.tokens.borrow_and_update();
        let spec = ExecSpec {
            cmd: vec![
                "bash".into(),
                "-c".into(),
                self.settings.script.clone(),
                "watch".into(),
                period.as_secs().max(1).to_string(),
                token.to_string(),
                format!("{:.3}", self.settings.tick.min(period).as_secs_f64()),
                self.recording_limit.to_string(),
                crate::sessions::recordings::RECORDER.to_owned(),
            ],
            env: vec![format!("{MARKER}={marker}")],
            deadline: Some(START_DEADLINE),
            ..Default::default()
        };
        let StreamExec {
            mut output,
            mut input,
            ..
        } = match self.runtime.exec_stream(&self.container, spec).await {
            Ok(exec) => exec,
            Err(RuntimeError::NotFound) => return Outcome::Ended,
            Err(e) => return Outcome::Broken(format!("it could not be started: {e}")),
        };
        let mut reader = Reader::default();
        let mut budget = Budget::new(Instant::now());
        let mut last_report = Instant::now();
        let mut tick = tokio::time::interval(self.settings.tick.min(period));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let silent_until = last_report + period * SILENT_PERIODS;
            let deadline = match reader.began() {
                Some(began) => silent_until.min(began + period * REPORT_PERIODS),
                None => silent_until,
            };
            tokio::select! {
                chunk = tokio::time::timeout_at(deadline, output.next()) => {
                    let chunk = match chunk {
                        Err(_) if reader.began().is_some() => return Outcome::Broken(format!(
                            "a report was not finished within {} s", (period * REPORT_PERIODS).as_secs_f32()
                        )),
                        Err(_) => return Outcome::Broken(format!(
                            "no report for {} s", (period * SILENT_PERIODS).as_secs_f32()
                        )),
                        Ok(None) => return Outcome::Ended,
                        Ok(Some(Err(e))) => return Outcome::Broken(format!("reading it failed: {e}")),
                        Ok(Some(Ok(chunk))) => chunk,
                    };
                    let now = Instant::now();
                    let reports = match reader.feed(&chunk, now) {
                        Ok(reports) => reports,
                        Err(why) => return Outcome::Broken(why),
                    };
                    if let Err(why) = budget.spend(chunk.len(), reports.len(), now, period) {
                        return Outcome::Broken(why);
                    }
                    for report in reports {
                        last_report = now;
                        self.take(report).await;
                    }
                }
                _ = tick.tick() => {
                    self.activities.tick(self.tracked.iter().copied(), Instant::now());
                }
                changed = self.tokens.changed() => {
                    if changed.is_err() {
                        // The sender lives as long as this task; never, then.
                        return Outcome::Ended;
                    }
                    let line = format!("{}\n", *self.tokens.borrow_and_update());
                    let written = tokio::time::timeout(WRITE_DEADLINE, async {
                        input.write_all(line.as_bytes()).await?;
                        input.flush().await
                    });
                    if !matches!(written.await, Ok(Ok(()))) {
                        return Outcome::Broken("it did not take a token on its standard input".into());
                    }
                }
            }
        }
    }

    /// Keeps a trusted report as the latest, takes what it says of the sessions' activity,
    /// and marks dead the active sessions of this workspace that the previous one listed
    /// and this one does not.
    async fn take(&mut self, report: Report) {
        if !self.shared.trusted(report.token) {
            return;
        }
        if !report.unknown {
            self.take_activity(&report);
        }
        let ended: Vec<String> = {
            let mut state = self.shared.lock();
            if report.unknown {
                // Nothing to compare with: a pass asks the container itself meanwhile.
                state.latest = None;
                return;
            }
            let ended = match &state.latest {
                Some((_, previous)) => previous
                    .sessions
                    .difference(&report.sessions)
                    .cloned()
                    .collect(),
                None => Vec::new(),
            };
            state.latest = Some((Instant::now(), Arc::new(report)));
            ended
        };
        for name in ended {
            if let Some(id) = session_of(&name) {
                self.ended(id).await;
            }
        }
    }

    /// Gives the report's panes and screens to the activity of their sessions; sessions it
    /// no longer lists are forgotten.
    fn take_activity(&mut self, report: &Report) {
        let Some(owner) = self.owner else { return };
        let panes: HashMap<SessionId, crate::activity::Pane> = report
            .panes
            .iter()
            .filter(|(name, _)| report.sessions.contains(*name))
            .filter_map(|(name, pane)| Some((session_of(name)?, pane.clone())))
            .collect();
        let screens: HashMap<SessionId, String> = report
            .screens
            .iter()
            .filter_map(|(name, screen)| Some((session_of(name)?, screen.clone())))
            .collect();
        for gone in self.tracked.iter().filter(|id| !panes.contains_key(id)) {
            self.activities.forget(*gone);
        }
        self.tracked = panes.keys().copied().collect();
        self.activities.observe(
            owner,
            self.place.environment,
            &panes,
            &screens,
            Instant::now(),
        );
    }

    fn forget_activity(&mut self) {
        for id in self.tracked.drain() {
            self.activities.forget(id);
        }
    }

    /// The tmux session of `id` ended: an active session of this workspace becomes dead.
    async fn ended(&self, id: SessionId) {
        let marked = tokio::time::timeout(STORE_DEADLINE, async {
            match self.store.get_session(id).await? {
                Some(s)
                    if s.status == SessionStatus::Active
                        && s.workspace_id == Some(self.place.workspace) =>
                {
                    tracing::info!(session = %id, "its tmux session ended");
                    crate::sessions::mark_dead(self.store.as_ref(), id).await
                }
                _ => Ok(()),
            }
        })
        .await;
        match marked {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(session = %id, error = %e, "could not mark the session dead; the next reconciliation will")
            }
            Err(_) => {
                tracing::warn!(session = %id, "marking the session dead took too long; the next reconciliation will")
            }
        }
    }

    /// Whether the container still runs; an engine that does not answer counts as yes
    /// (the watcher is tried again later).
    async fn container_runs(&self) -> bool {
        let inspected = tokio::time::timeout(START_DEADLINE, self.runtime.inspect(&self.container));
        !matches!(
            inspected.await,
            Ok(Ok(None))
                | Ok(Ok(Some(craftastic_runtime::ContainerInfo {
                    running: false,
                    ..
                })))
        )
    }

    /// Removes this watcher from the registry (the container stopped or is gone).
    fn forget(&self) {
        let Some(inner) = self.registry.upgrade() else {
            return;
        };
        let mut watchers = inner.watchers.lock().unwrap_or_else(|e| e.into_inner());
        if watchers
            .get(&self.container)
            .is_some_and(|e| e.generation == self.generation)
        {
            tracing::debug!(container = %self.container, "the container stopped: its session watcher ends");
            // The entry's drop aborts this task, which is returning anyway.
            let entry = watchers.remove(&self.container);
            drop(watchers);
            drop(entry);
        }
    }
}
