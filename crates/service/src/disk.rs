//! Disk use of workspaces: measured every few seconds, shown with each workspace, and capped.
//!
//! A workspace holds disk in three places: its worktree volume (`/workspace`), its
//! container's writable layer (home folder, `/tmp`, …) and its environment's bare repository
//! (bind-mounted read-write, so any workspace of the environment can grow it). The engine can
//! cap only the writable layer, and only on some storage drivers ([`engine_quota`]); so the
//! [`DiskWatch`] measures all three, records the sum, and stops a workspace over its cap.
//!
//! Measuring is bounded: the volume and the repository are measured by `du` inside the
//! container (never by the server reading a container's files), killed there after
//! [`DU_DEADLINE`], and the whole measurement is abandoned by the server after
//! [`MEASURE_DEADLINE`]. A container can defeat `du` (millions of files, a folder it made
//! unreadable, a fork bomb that leaves no process for `du`), so a measurement that fails or
//! times out [`STRIKES`] times in a row stops a capped workspace too: a workspace whose disk
//! use cannot be checked could otherwise fill the server's disk unseen.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use craftastic_domain::{EnvironmentId, WorkspaceId, human_bytes};
use craftastic_runtime::{ExecSpec, Limits, Runtime, RuntimeError, StorageDriver};
use craftastic_store::{DiskUsage, Store, Workspace};
use futures::StreamExt;

use crate::ServiceResult;
use crate::sandbox::{self, SandboxSettings};
use crate::workspaces::Workspaces;

/// How long the server waits for one workspace's measurement.
pub const MEASURE_DEADLINE: Duration = Duration::from_secs(30);
/// How long `du` may run inside the container before it is killed there.
pub const DU_DEADLINE: Duration = Duration::from_secs(25);
/// Failed measurements in a row after which a capped workspace is stopped.
pub const STRIKES: u32 = 2;
/// Workspaces measured at once.
const CONCURRENCY: usize = 4;

/// Where a workspace's bytes are, as measured once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measurement {
    /// The worktree volume (`/workspace`).
    pub worktree: i64,
    /// The container's writable layer: everything written outside the volume and the repository.
    pub container: i64,
    /// The environment's bare repository, shared by its workspaces.
    pub repository: i64,
}

impl Measurement {
    pub fn total(&self) -> i64 {
        self.worktree + self.container + self.repository
    }
}

/// What one pass did, for logs and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DiskReport {
    pub measured: usize,
    pub failed: usize,
    /// Workspaces stopped for being over their cap or unmeasurable.
    pub stopped: Vec<WorkspaceId>,
}

/// Why a measurement gave no figure.
#[derive(Debug)]
enum Failure {
    /// Not the workspace's doing (its container stopped meanwhile, the engine is down):
    /// nothing is counted against it.
    Skip,
    /// The container did not let itself be measured; the text says how.
    Strike(String),
}

/// What a pass did with one workspace.
struct Checked {
    workspace: WorkspaceId,
    /// Whether it was measured; `None` when it was skipped.
    measured: Option<bool>,
    stopped: bool,
}

/// What a pass does with one workspace.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Keep,
    Stop(String),
}

/// A workspace's disk cap and where it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cap {
    bytes: i64,
    /// Its environment's own size, rather than `SANDBOX_DISK_LIMIT`.
    own: bool,
}

impl Cap {
    /// Where the cap is set, and how to raise it.
    fn source(self) -> (&'static str, &'static str) {
        if self.own {
            (
                "its environment's disk size",
                "or raise its environment's disk size",
            )
        } else {
            ("SANDBOX_DISK_LIMIT", "or ask an admin to raise the cap")
        }
    }
}

/// The decision, apart from the engine: over the cap, or unmeasurable too often, stops.
fn verdict(outcome: &Result<Measurement, String>, cap: Option<Cap>, strikes: u32) -> Verdict {
    let Some(cap) = cap else {
        return Verdict::Keep;
    };
    let (limit, (setting, raise)) = (cap.bytes, cap.source());
    match outcome {
        Ok(m) if m.total() > limit => Verdict::Stop(format!(
            "stopped because it used {} of disk, over its cap of {} ({setting}): \
             worktree {}, rest of the container {}, repository {}. Open one of its sessions to \
             start it again and free space at once, {raise}",
            human_bytes(m.total()),
            human_bytes(limit),
            human_bytes(m.worktree),
            human_bytes(m.container),
            human_bytes(m.repository),
        )),
        Ok(_) => Verdict::Keep,
        Err(reason) if strikes >= STRIKES => Verdict::Stop(format!(
            "stopped because its disk use could not be measured {strikes} times in a row \
             (last: {reason}), and a workspace that cannot be measured could fill the \
             server's disk past its cap of {}. Open one of its sessions to start it again; \
             if this happens again, ask an admin",
            human_bytes(limit)
        )),
        Err(_) => Verdict::Keep,
    }
}

/// Reads `du -s` output of the worktree and the repository. `du` exits non-zero when a
/// file vanished while it walked (a build deleting its temporary files), which is harmless;
/// any other complaint (a folder it may not read) makes the figure a lower bound, which is
/// not a measurement.
fn parse_du(code: i64, stdout: &str, stderr: &str, repository: &str) -> Result<(i64, i64), String> {
    let size_of = |path: &str| {
        stdout.lines().find_map(|line| {
            let (bytes, p) = line.split_once('\t')?;
            (p == path)
                .then(|| bytes.trim().parse::<i64>().ok())
                .flatten()
        })
    };
    let complaint = stderr
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.ends_with("No such file or directory"));
    if code == 137 {
        return Err(format!(
            "du did not finish within {} s (very many files?)",
            DU_DEADLINE.as_secs()
        ));
    }
    if let Some(complaint) = complaint {
        return Err(complaint.to_owned());
    }
    match (size_of(sandbox::WORKSPACE_DIR), size_of(repository)) {
        (Some(worktree), Some(repo)) => Ok((worktree, repo)),
        _ => Err(format!("du exited with {code} without sizes")),
    }
}

/// Measures the disk use of running workspaces, keeps the figures with them, and stops those
/// over their cap.
#[derive(Clone)]
pub struct DiskWatch {
    store: Arc<dyn Store>,
    runtime: Arc<dyn Runtime>,
    settings: Arc<SandboxSettings>,
    workspaces: Workspaces,
    /// Failed measurements in a row, per workspace.
    strikes: Arc<Mutex<HashMap<WorkspaceId, u32>>>,
}

impl DiskWatch {
    pub fn new(
        store: Arc<dyn Store>,
        runtime: Arc<dyn Runtime>,
        settings: Arc<SandboxSettings>,
        workspaces: Workspaces,
    ) -> Self {
        Self {
            store,
            runtime,
            settings,
            workspaces,
            strikes: Arc::default(),
        }
    }

    /// One pass over every running workspace, a few at a time: each is measured, its figure
    /// recorded, and it is stopped (see [`Self::stop_over_cap`]) when it is over its cap
    /// (its environment's disk size, else `SANDBOX_DISK_LIMIT`) or could not be measured
    /// [`STRIKES`] times in a row.
    /// Fails: the database fails → the pass ends early; the engine failing for one workspace
    /// only skips that one.
    pub async fn run(&self) -> ServiceResult<DiskReport> {
        let running: Vec<Workspace> = self
            .store
            .list_running_workspaces()
            .await?
            .into_iter()
            .filter(|w| w.container_id.is_some())
            .collect();
        // The cap of each environment with a running workspace, each read by its key.
        let mut caps: HashMap<EnvironmentId, Option<Cap>> = HashMap::new();
        for ws in &running {
            if caps.contains_key(&ws.environment_id) {
                continue;
            }
            let own = self
                .store
                .get_environment(ws.environment_id)
                .await?
                .and_then(|env| env.size.disk_bytes);
            let cap = match own {
                Some(bytes) => Some(Cap { bytes, own: true }),
                None => self
                    .settings
                    .disk_limit
                    .map(|bytes| Cap { bytes, own: false }),
            };
            caps.insert(ws.environment_id, cap);
        }
        let ids: HashSet<WorkspaceId> = running.iter().map(|w| w.id).collect();
        self.strikes
            .lock()
            .expect("disk strikes")
            .retain(|id, _| ids.contains(id));
        let checked: Vec<ServiceResult<Checked>> = futures::stream::iter(running)
            .map(|ws| {
                let cap = caps.get(&ws.environment_id).copied().flatten();
                async move { self.check(&ws, cap).await }
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let mut report = DiskReport::default();
        for c in checked {
            let c = c?;
            match c.measured {
                Some(true) => report.measured += 1,
                Some(false) => report.failed += 1,
                None => {}
            }
            if c.stopped {
                report.stopped.push(c.workspace);
            }
        }
        Ok(report)
    }

    /// Measures one workspace and acts on it.
    async fn check(&self, ws: &Workspace, cap: Option<Cap>) -> ServiceResult<Checked> {
        let mut checked = Checked {
            workspace: ws.id,
            measured: None,
            stopped: false,
        };
        let outcome = match self.measure(ws).await {
            Ok(m) => Ok(m),
            Err(Failure::Skip) => return Ok(checked),
            Err(Failure::Strike(reason)) => Err(reason),
        };
        checked.measured = Some(outcome.is_ok());
        let strikes = {
            let mut all = self.strikes.lock().expect("disk strikes");
            match &outcome {
                Ok(_) => {
                    all.remove(&ws.id);
                    0
                }
                Err(_) => {
                    let n = all.entry(ws.id).or_default();
                    *n += 1;
                    *n
                }
            }
        };
        match &outcome {
            Ok(m) => {
                self.store
                    .set_workspace_disk(
                        ws.id,
                        DiskUsage {
                            bytes: m.total(),
                            limit_bytes: cap.map(|c| c.bytes),
                            measured_at: Utc::now(),
                        },
                    )
                    .await?;
            }
            Err(reason) => {
                tracing::warn!(workspace = %ws.id, strikes, reason = %reason, "could not measure a workspace's disk use");
            }
        }
        if let Verdict::Stop(reason) = verdict(&outcome, cap, strikes) {
            match self.stop_over_cap(ws, &reason).await {
                Ok(stopped) => checked.stopped = stopped,
                Err(e) => {
                    tracing::warn!(workspace = %ws.id, error = %e, "could not stop a workspace over its disk cap; trying again on the next pass")
                }
            }
        }
        Ok(checked)
    }

    /// The worktree and repository through `du` in the container, and the writable layer
    /// from the engine, at once, within [`MEASURE_DEADLINE`].
    async fn measure(&self, ws: &Workspace) -> Result<Measurement, Failure> {
        let container = ws.container_id.as_deref().ok_or(Failure::Skip)?;
        let repository = sandbox::repo_mount(ws.environment_id);
        let du = ExecSpec {
            cmd: [
                "timeout",
                "-s",
                "KILL",
                &DU_DEADLINE.as_secs().to_string(),
                "du",
                "-sxB1",
                "--",
                sandbox::WORKSPACE_DIR,
                &repository,
            ]
            .map(str::to_owned)
            .into(),
            // The server ends `du` and what it left if `timeout` in the container cannot.
            deadline: Some(DU_DEADLINE + Duration::from_secs(3)),
            ..Default::default()
        };
        let both = async {
            tokio::join!(
                self.runtime.exec(container, du),
                self.runtime.writable_layer_bytes(container)
            )
        };
        let failed = match tokio::time::timeout(MEASURE_DEADLINE, both).await {
            Ok((Ok(out), Ok(Some(layer)))) => {
                match parse_du(out.code, &out.stdout_str(), &out.stderr_str(), &repository) {
                    Ok((worktree, repository)) => {
                        return Ok(Measurement {
                            worktree,
                            container: layer,
                            repository,
                        });
                    }
                    Err(reason) => reason,
                }
            }
            Ok((Err(e), _) | (_, Err(e))) => match e {
                RuntimeError::Unavailable(_) => return Err(Failure::Skip),
                e => e.to_string(),
            },
            Ok((Ok(_), Ok(None))) => {
                "the container engine does not report the size of containers".into()
            }
            Err(_) => format!(
                "the measurement took longer than {} s",
                MEASURE_DEADLINE.as_secs()
            ),
        };
        // A container stopped or removed meanwhile is not the workspace's failure.
        match self.runtime.inspect(container).await {
            Ok(Some(c)) if c.running => Err(Failure::Strike(failed)),
            _ => Err(Failure::Skip),
        }
    }

    /// Stops the workspace (see [`Workspaces::stop_for`]) with `reason` as its error.
    /// Returns false when the workspace changed meanwhile (stopped, recreated or deleted):
    /// then nothing is done. Fails: the engine or the database fails → tried again next pass.
    pub async fn stop_over_cap(&self, ws: &Workspace, reason: &str) -> ServiceResult<bool> {
        let stopped = self
            .workspaces
            .stop_for(ws, reason, "workspaces.stop_over_disk_cap", |_| false)
            .await?;
        self.strikes.lock().expect("disk strikes").remove(&ws.id);
        Ok(stopped)
    }

    /// Runs [`Self::run`] every `period` (the next pass starts `period` after one ends)
    /// until the returned handle is dropped or aborted.
    pub fn spawn_periodic(self, period: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                match self.run().await {
                    Ok(report) if !report.stopped.is_empty() => {
                        tracing::info!(?report, "disk watch")
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "measuring workspaces' disk use failed; trying again later")
                    }
                }
            }
        })
    }
}

/// Whether the engine can cap writable layers itself (`storage-opt size`) on this host: the
/// storage driver must support it (overlay2 on xfs mounted with `pquota`, btrfs, zfs), which
/// `docker info` tells only in part, so a container asking for it is created and removed.
/// `Ok(driver)` names the mechanism; `Err` says why not. Without a cap, nothing is asked.
pub async fn engine_quota(
    runtime: &dyn Runtime,
    settings: &SandboxSettings,
) -> Result<String, String> {
    let Some(limit) = settings.disk_limit else {
        return Err("there is no cap".into());
    };
    let driver = runtime.storage_driver().await.map_err(|e| e.to_string())?;
    let fs = driver.backing_filesystem.as_deref().unwrap_or("unknown");
    let described = format!("{} on {fs}", driver.name);
    if !may_cap(&driver) {
        return Err(format!("the storage driver is {described}"));
    }
    if !runtime
        .image_exists(&settings.image)
        .await
        .map_err(|e| e.to_string())?
    {
        return Err(format!(
            "the sandbox image {} is missing, so it could not be tried",
            settings.image
        ));
    }
    let probe = sandbox::probe_spec(
        settings,
        Limits {
            disk_bytes: Some(limit),
            ..settings.limits
        },
    );
    match runtime.create(&probe).await {
        Ok(id) => {
            if let Err(e) = runtime.remove(&id).await {
                tracing::warn!(error = %e, "could not remove the disk-quota probe container");
            }
            Ok(described)
        }
        Err(e) => Err(format!("the engine refuses it on {described}: {e}")),
    }
}

/// Whether the storage driver may support `storage-opt size`; only trying tells for sure.
fn may_cap(driver: &StorageDriver) -> bool {
    match driver.name.as_str() {
        "overlay2" => driver.backing_filesystem.as_deref() == Some("xfs"),
        "btrfs" | "zfs" => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPO: &str = "/data/repos/x";

    fn server(bytes: i64) -> Option<Cap> {
        Some(Cap { bytes, own: false })
    }

    fn m(worktree: i64, container: i64, repository: i64) -> Measurement {
        Measurement {
            worktree,
            container,
            repository,
        }
    }

    #[test]
    fn only_drivers_that_can_cap_a_layer_are_tried() {
        let driver = |name: &str, fs: Option<&str>| StorageDriver {
            name: name.into(),
            backing_filesystem: fs.map(Into::into),
        };
        assert!(may_cap(&driver("overlay2", Some("xfs"))));
        assert!(may_cap(&driver("btrfs", Some("btrfs"))));
        assert!(may_cap(&driver("zfs", None)));
        assert!(!may_cap(&driver("overlay2", Some("extfs"))));
        assert!(!may_cap(&driver("overlay2", None)));
        assert!(!may_cap(&driver("vfs", Some("xfs"))));
    }

    #[test]
    fn over_the_cap_stops_with_the_figures() {
        let Verdict::Stop(reason) = verdict(&Ok(m(60 << 20, 1 << 20, 0)), server(50 << 20), 0)
        else {
            panic!("kept a workspace over its cap")
        };
        assert!(
            reason.starts_with("stopped because it used 61 MiB of disk, over its cap of 50 MiB (SANDBOX_DISK_LIMIT): worktree 60 MiB"),
            "{reason}"
        );
        assert!(
            reason.ends_with("or ask an admin to raise the cap"),
            "{reason}"
        );
        let own = Some(Cap {
            bytes: 50 << 20,
            own: true,
        });
        let Verdict::Stop(reason) = verdict(&Ok(m(60 << 20, 0, 0)), own, 0) else {
            panic!("kept a workspace over its environment's cap")
        };
        assert!(
            reason.contains("over its cap of 50 MiB (its environment's disk size)")
                && reason.ends_with("or raise its environment's disk size"),
            "{reason}"
        );
        assert_eq!(
            verdict(&Ok(m(50 << 20, 0, 0)), server(50 << 20), 0),
            Verdict::Keep
        );
        assert_eq!(verdict(&Ok(m(1 << 40, 0, 0)), None, 0), Verdict::Keep);
    }

    #[test]
    fn unmeasurable_stops_only_after_strikes_and_only_with_a_cap() {
        let failed = Err("du: cannot read directory '/workspace/x': Permission denied".into());
        assert_eq!(
            verdict(&failed, server(1 << 30), STRIKES - 1),
            Verdict::Keep
        );
        let Verdict::Stop(reason) = verdict(&failed, server(1 << 30), STRIKES) else {
            panic!("kept an unmeasurable workspace")
        };
        assert!(
            reason.contains("could not be measured 2 times in a row"),
            "{reason}"
        );
        assert!(reason.contains("Permission denied"), "{reason}");
        assert_eq!(verdict(&failed, None, 10), Verdict::Keep);
    }

    #[test]
    fn du_output_is_read_per_path_and_vanished_files_are_harmless() {
        let out = format!("123\t/workspace\n456\t{REPO}\n");
        assert_eq!(parse_du(0, &out, "", REPO), Ok((123, 456)));
        let vanished = "du: cannot access '/workspace/target/tmp.1': No such file or directory\n";
        assert_eq!(parse_du(1, &out, vanished, REPO), Ok((123, 456)));
    }

    #[test]
    fn du_that_could_not_read_everything_or_finish_is_no_measurement() {
        let out = format!("123\t/workspace\n456\t{REPO}\n");
        let denied = "du: cannot read directory '/workspace/hide': Permission denied\n";
        assert_eq!(
            parse_du(1, &out, denied, REPO),
            Err(denied.trim().to_owned())
        );
        assert!(
            parse_du(137, "", "", REPO)
                .unwrap_err()
                .contains("did not finish")
        );
        assert!(parse_du(0, "123\t/workspace\n", "", REPO).is_err());
    }
}
