//! Reconciliation (invariant I2): the containers labelled as this server's and the rows of
//! the database are brought back in agreement, at start and every minute.
//!
//! Containers are hostile: one may never answer (its processes stopped, or an exec whose
//! child holds its output open), and the engine itself may hang. So each call of a pass has
//! a deadline, a step that fails or runs out of time is logged and counted and the pass goes
//! on with the next container, and the pass as a whole has a deadline too: what it did not
//! reach waits for the next pass.
//!
//! A pass lists the containers once and reads each table it needs once, whatever the number
//! of workspaces, and works on [`CONCURRENCY`] containers at a time. It looks into a running
//! container only when it must: for stray tmux clients and session watchers where one may
//! be (every container at start, after a crash; later only where a hang-up failed), and for
//! the tmux sessions of its active sessions when the container's session watcher has no
//! fresh report (see [`crate::sessions::Watchers`]): it was just started, or it failed and
//! waits to start again. The pass also starts the watchers that should run and stops those
//! that should not.

use std::collections::{HashMap, HashSet};
use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use craftastic_domain::EnvironmentId;
use craftastic_runtime::{ContainerInfo, Runtime};
use craftastic_store::{Store, Workspace, WorkspaceStatus};
use futures::StreamExt;
use tokio::sync::watch;

use crate::environments::Environments;
use crate::sandbox::{self, SandboxSettings, labels};
use crate::sessions::Sessions;
use crate::terminal::Terminal;
use crate::workspaces::Workspaces;
use crate::{ServiceError, ServiceResult};

mod sessions;

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
    /// Workspace networks no container uses any more.
    pub removed_networks: usize,
    /// Steps that failed or ran out of time (each one is logged); the next pass tries again.
    pub failures: usize,
}

impl Report {
    fn add(&mut self, other: Report) {
        self.removed_containers += other.removed_containers;
        self.missing_workspaces += other.missing_workspaces;
        self.stopped_workspaces += other.stopped_workspaces;
        self.removed_repositories += other.removed_repositories;
        self.dead_sessions += other.dead_sessions;
        self.inactive_sessions += other.inactive_sessions;
        self.stray_viewers += other.stray_viewers;
        self.removed_networks += other.removed_networks;
        self.failures += other.failures;
    }
}

/// How many containers a pass works on at once.
const CONCURRENCY: usize = 8;

/// How long reconciliation waits for the engine and the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// One call (one exec, one removal, one row written).
    pub call: Duration,
    /// One whole pass.
    pub pass: Duration,
    /// Finishing at start what the previous run left half done.
    pub resume: Duration,
}

impl Default for Deadlines {
    fn default() -> Self {
        Self {
            call: Duration::from_secs(10),
            pass: Duration::from_secs(60),
            resume: Duration::from_secs(60),
        }
    }
}

/// How long a request that must not race the start-up work waits for it before it answers
/// 503.
const RESUME_WAIT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy)]
struct Progress {
    /// What the previous run left half done has been taken up (or given up on).
    resumed: bool,
    /// A pass has compared the engine's containers with the rows since the server started.
    reconciled: bool,
}

#[derive(Clone)]
pub struct Reconciler {
    store: Arc<dyn Store>,
    runtime: Arc<dyn Runtime>,
    settings: Arc<SandboxSettings>,
    environments: Environments,
    sessions: Sessions,
    terminal: Terminal,
    workspaces: Workspaces,
    deadlines: Deadlines,
    /// Passes never overlap (start-up, periodic, the admin route).
    one_pass: Arc<tokio::sync::Mutex<()>>,
    progress: Arc<watch::Sender<Progress>>,
}

impl Reconciler {
    pub fn new(
        store: Arc<dyn Store>,
        runtime: Arc<dyn Runtime>,
        settings: Arc<SandboxSettings>,
        environments: Environments,
        sessions: Sessions,
        terminal: Terminal,
        workspaces: Workspaces,
    ) -> Self {
        Self {
            store,
            runtime,
            settings,
            environments,
            sessions,
            terminal,
            workspaces,
            deadlines: Deadlines::default(),
            one_pass: Arc::default(),
            progress: Arc::new(
                watch::channel(Progress {
                    resumed: true,
                    reconciled: false,
                })
                .0,
            ),
        }
    }

    /// The same reconciler with other deadlines (tests use short ones).
    pub fn with_deadlines(mut self, deadlines: Deadlines) -> Self {
        self.deadlines = deadlines;
        self
    }

    /// Whether a pass has run since the server started.
    pub fn reconciled(&self) -> bool {
        self.progress.borrow().reconciled
    }

    /// Waits until start-up has taken up what the previous run left half done (environments
    /// being made or deleted), so that a request does not race it into a wrong state (such
    /// as deleting an environment while start-up makes it again). Answers at once when no
    /// start-up work is under way.
    /// Fails: still under way after 5 s → 503 `unavailable`.
    pub async fn resumed(&self) -> ServiceResult<()> {
        let mut progress = self.progress.subscribe();
        match tokio::time::timeout(RESUME_WAIT, progress.wait_for(|p| p.resumed)).await {
            Ok(Ok(_)) => Ok(()),
            _ => Err(ServiceError::Unavailable(
                "the server is still finishing what its previous run left half done; try again in a few seconds".into(),
            )),
        }
    }

    /// At start: finishes what a previous run left half done, then reconciles.
    pub async fn startup(&self) -> ServiceResult<Report> {
        self.progress.send_modify(|p| p.resumed = false);
        self.resume().await;
        self.pass(true).await
    }

    /// Environments being made are made again, environments being deleted are deleted;
    /// never longer than its deadline, and never an error that stops the server: what is
    /// left is taken up at the next start.
    async fn resume(&self) {
        let deadline = self.deadlines.resume;
        match tokio::time::timeout(deadline, self.environments.resume_interrupted()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "could not finish what the previous run left half done; the next start tries again")
            }
            Err(_) => tracing::warn!(
                seconds = deadline.as_secs(),
                "finishing what the previous run left half done ran out of time; the next start tries again"
            ),
        }
        self.progress.send_modify(|p| p.resumed = true);
    }

    /// Starts the work of start-up in the background, so that the server answers at once:
    /// what the previous run left half done, then a pass, then a pass every `period`, until
    /// the returned handle is aborted. Requests that must not race the start-up work wait
    /// for it ([`Self::resumed`]).
    pub fn spawn(self, period: Duration) -> tokio::task::JoinHandle<()> {
        self.progress.send_modify(|p| p.resumed = false);
        tokio::spawn(async move {
            let started = Instant::now();
            self.resume().await;
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut first = true;
            loop {
                tick.tick().await;
                match self.pass(first).await {
                    Ok(report) if first => tracing::info!(
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        failures = report.failures,
                        "start-up reconciliation finished"
                    ),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "reconciliation failed; trying again later")
                    }
                }
                first = false;
            }
        })
    }

    /// One pass. Containers whose workspace row is gone are removed with their volume;
    /// rows whose container is gone are marked `missing` (recreated on next use); rows of
    /// containers stopped behind our back are marked `stopped` (restarted on next use);
    /// clones without an environment are removed. Sessions follow their tmux sessions:
    /// `dead` when the tmux session ended in a running container, `inactive` when the
    /// container is not running. A step that fails is counted in `failures`, and the pass
    /// goes on.
    /// Fails: the engine or the database cannot list what there is → 502 (or 500).
    pub async fn run(&self) -> ServiceResult<Report> {
        self.pass(false).await
    }

    /// One pass; `after_start` looks for stray tmux clients in every running container
    /// (a crash of the previous run leaves them anywhere).
    async fn pass(&self, after_start: bool) -> ServiceResult<Report> {
        let _one_at_a_time = self.one_pass.lock().await;
        let started = tokio::time::Instant::now();
        let mut report = Report::default();
        let containers = self
            .within(
                "listing the containers",
                self.runtime
                    .list(&[(labels::INSTANCE, &self.settings.instance)]),
            )
            .await?;
        let workspaces = self
            .within("listing the workspaces", self.store.list_workspaces(None))
            .await?;
        if after_start {
            for ws in &workspaces {
                if let Some(id) = &ws.container_id {
                    self.terminal.doubt(id);
                }
            }
        }
        let listed: HashSet<&str> = containers.iter().map(|c| c.id.as_str()).collect();
        self.terminal.retain_doubts(|c| listed.contains(c));
        let pass = self.fix(&containers, &workspaces, after_start, &mut report);
        if tokio::time::timeout_at(started + self.deadlines.pass, pass)
            .await
            .is_err()
        {
            report.failures += 1;
            tracing::warn!(
                seconds = self.deadlines.pass.as_secs(),
                "the reconciliation pass ran out of time; the next pass goes on"
            );
        }
        self.progress.send_modify(|p| p.reconciled = true);
        let elapsed_ms = started.elapsed().as_millis() as u64;
        if report.failures > 0 {
            tracing::warn!(?report, elapsed_ms, "reconciled, with failures");
        } else if report != Report::default() {
            tracing::info!(?report, elapsed_ms, "reconciled");
        } else {
            tracing::debug!(elapsed_ms, "reconciled");
        }
        Ok(report)
    }

    async fn fix(
        &self,
        containers: &[ContainerInfo],
        workspaces: &[Workspace],
        after_start: bool,
        report: &mut Report,
    ) {
        let known: HashSet<String> = workspaces.iter().map(|w| w.id.to_string()).collect();
        let orphans = containers.iter().filter(|c| {
            let ws = c.labels.get(labels::WORKSPACE);
            let env_in_making = c
                .labels
                .get(labels::ENVIRONMENT)
                .and_then(|e| e.parse::<EnvironmentId>().ok())
                .is_some_and(|e| self.environments.is_provisioning(e));
            !ws.is_some_and(|ws| known.contains(ws)) && !env_in_making
        });
        self.each(orphans.map(|c| self.remove_orphan(c)), report)
            .await;
        let by_id: HashMap<&str, bool> = containers
            .iter()
            .map(|c| (c.id.as_str(), c.running))
            .collect();
        for ws in workspaces {
            let Some(id) = &ws.container_id else { continue };
            match by_id.get(id.as_str()) {
                None if ws.status != WorkspaceStatus::Creating => {
                    tracing::info!(workspace = %ws.id, "its container is gone; it will be recreated on next use");
                    let marked =
                        self.store
                            .set_workspace_state(ws.id, WorkspaceStatus::Missing, None, None);
                    if self
                        .step(report, "marking the workspace missing", ws.id, marked)
                        .await
                        .is_some()
                    {
                        report.missing_workspaces += 1;
                    }
                }
                Some(false) if ws.status == WorkspaceStatus::Running => {
                    let marked = self.store.set_workspace_state(
                        ws.id,
                        WorkspaceStatus::Stopped,
                        Some(id),
                        None,
                    );
                    if self
                        .step(report, "marking the workspace stopped", ws.id, marked)
                        .await
                        .is_some()
                    {
                        report.stopped_workspaces += 1;
                    }
                }
                _ => {}
            }
        }
        self.reconcile_sessions(workspaces, &by_id, after_start, report)
            .await;
        let repos_dir = self.settings.repos_dir();
        let removed = self.remove_orphan_repositories();
        if let Some(n) = self
            .step(
                report,
                "removing clones that no environment owns",
                repos_dir.display(),
                removed,
            )
            .await
        {
            report.removed_repositories = n;
        }
        // Networks of the containers removed above go at the next pass.
        let removed = self.workspaces.remove_unused_networks(containers);
        if let Some(n) = self
            .step(report, "removing unused networks", "engine", removed)
            .await
        {
            report.removed_networks = n;
        }
        self.listen_for_egress(report).await;
    }

    /// The egress proxy listens on every restricted network of this server: after a restart,
    /// workspaces left running there find it again.
    async fn listen_for_egress(&self, report: &mut Report) {
        let listening = self.workspaces.keep_egress_listening();
        self.step(report, "starting the egress proxy", "engine", listening)
            .await;
    }

    /// Removes a container that no workspace owns, and its volume.
    async fn remove_orphan(&self, c: &ContainerInfo) -> Report {
        let mut report = Report::default();
        tracing::info!(container = %c.name, "removing a container that no workspace owns");
        let removed = self.runtime.remove(&c.id);
        if self
            .step(&mut report, "removing the container", &c.name, removed)
            .await
            .is_none()
        {
            return report;
        }
        if let Some(ws) = c.labels.get(labels::WORKSPACE).filter(|w| !w.is_empty()) {
            let volume = format!("{}{ws}", sandbox::VOLUME_PREFIX);
            let removed = self.runtime.remove_volume(&volume);
            self.step(&mut report, "removing the volume", &volume, removed)
                .await;
        }
        report.removed_containers += 1;
        report
    }

    /// Runs the pieces of `work`, [`CONCURRENCY`] at a time, adding up their reports as
    /// they finish (so that a pass cut by its deadline still counts what it did).
    async fn each<F: Future<Output = Report>>(
        &self,
        work: impl IntoIterator<Item = F>,
        report: &mut Report,
    ) {
        // Made before they run: a lazy map here would not be `Send` for `tokio::spawn`.
        let work: Vec<F> = work.into_iter().collect();
        let mut done = futures::stream::iter(work).buffer_unordered(CONCURRENCY);
        while let Some(r) = done.next().await {
            report.add(r);
        }
    }

    /// `call` within the deadline of one call.
    async fn within<T, E: Into<ServiceError>>(
        &self,
        what: &str,
        call: impl Future<Output = Result<T, E>>,
    ) -> ServiceResult<T> {
        match tokio::time::timeout(self.deadlines.call, call).await {
            Ok(result) => result.map_err(Into::into),
            Err(_) => Err(ServiceError::Upstream(format!(
                "{what} did not finish within {} s",
                self.deadlines.call.as_secs_f32()
            ))),
        }
    }

    /// One step of a pass, within the deadline of one call; a failure is logged and
    /// counted, and `None` tells the pass to go on without what the step would have given.
    async fn step<T, E: Into<ServiceError>>(
        &self,
        report: &mut Report,
        what: &str,
        on: impl Display,
        call: impl Future<Output = Result<T, E>>,
    ) -> Option<T> {
        match self.within(what, call).await {
            Ok(value) => Some(value),
            Err(e) => {
                report.failures += 1;
                tracing::warn!(%on, error = %e, "reconciliation: {what} failed; going on with the rest");
                None
            }
        }
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
    /// Fails: the engine fails or does not answer in time → 502.
    pub async fn containers(&self) -> ServiceResult<Vec<ContainerInfo>> {
        self.within(
            "listing the containers",
            self.runtime
                .list(&[(labels::INSTANCE, &self.settings.instance)]),
        )
        .await
    }
}
