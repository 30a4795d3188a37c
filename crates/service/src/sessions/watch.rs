//! Session watchers: one long-lived exec per running workspace container with active
//! sessions, which reports the container's tmux sessions every few seconds
//! (`scripts/watch.sh`). A session whose tmux session ended is marked `dead` within a
//! period or two, and a reconciliation pass reads the latest report instead of running an
//! exec in every container (200 of those were most of a pass's time).
//!
//! What a watcher prints is hostile input. Its output is read within bounds: a line, a
//! report and the bytes and reports of one period each have a cap, a report must end
//! within two periods of its start, and a watcher silent for three periods is stale. A
//! watcher that breaks a bound, fails or ends is dropped and started again after a
//! back-off (doubling up to five minutes); meanwhile the reconciler asks the container
//! itself, as it did before watchers.
//!
//! Docker does not end an exec's process when its connection closes, but it closes the
//! process's standard input, and the script ends on end-of-file: dropping a watcher, or
//! the server going away, ends its process. It also carries a marker (`CRAFTASTIC_WATCHER`)
//! and, when it starts, ends any other marked process in its container, so a container has
//! one watcher at a time; at start-up the reconciler ends marked processes in containers
//! where it starts none ([`Watchers::end_strays`]).
//!
//! When it starts, a watcher also records the container's tmux sessions that run
//! unrecorded (those that ran before the server started; see [`super::recordings`]).
//!
//! A report is trusted only if it began after every tmux session the server started in
//! the container: starting one takes an [`Expecting`] guard, which raises the token a
//! report must carry; when the last guard goes, the server writes that token to the
//! watcher's standard input, and the script puts it in every report it begins afterwards.
//! So a session whose row exists but whose tmux session has not started yet is never taken
//! for ended.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use craftastic_domain::{EnvironmentId, WorkspaceId};
use craftastic_runtime::{ExecSpec, Runtime};
use craftastic_store::Store;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::ServiceResult;
use crate::activity::Activities;

mod report;
mod task;

pub(crate) use report::Report;
use task::Task;

/// The script a watcher runs, after the `record` function it calls.
pub const SCRIPT: &str = concat!(
    include_str!("recordings/record.sh"),
    include_str!("scripts/watch.sh")
);
const END_WATCHERS: &str = include_str!("scripts/end-watchers.sh");
/// The environment variable that marks a watcher's processes.
const MARKER: &str = "CRAFTASTIC_WATCHER";

/// How often a watcher reports when nothing changed and nothing asks it sooner.
pub const DEFAULT_PERIOD: Duration = Duration::from_secs(5);
/// How often a watcher looks at the container's panes (and reports if they changed).
pub const DEFAULT_TICK: Duration = Duration::from_secs(1);
/// A report must end within this many periods of its start.
const REPORT_PERIODS: u32 = 2;
/// A watcher without a report for this many periods is stale.
const SILENT_PERIODS: u32 = 3;
/// A report older than this many periods is not used by a pass (a live watcher's latest
/// report never is: it would be stale by then).
const FRESH_PERIODS: u32 = SILENT_PERIODS;
/// How long starting a watcher, or writing a token to it, may take.
const START_DEADLINE: Duration = Duration::from_secs(10);
const WRITE_DEADLINE: Duration = Duration::from_secs(2);
/// How long one database call of a watcher may take.
const STORE_DEADLINE: Duration = Duration::from_secs(10);
/// The longest wait before a watcher that failed is started again.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// A watcher that ran this many periods before it failed starts again at once, with the
/// back-off reset.
const HEALTHY_PERIODS: u32 = 12;

/// How watchers run; the script is replaceable so that tests can play a hostile container.
#[derive(Debug, Clone)]
pub struct WatchSettings {
    pub period: Duration,
    /// At most `period`; whole seconds or fractions of one.
    pub tick: Duration,
    pub script: String,
}

impl Default for WatchSettings {
    fn default() -> Self {
        Self {
            period: DEFAULT_PERIOD,
            tick: DEFAULT_TICK,
            script: SCRIPT.to_owned(),
        }
    }
}

/// What the server knows of one container's watcher; shared by the registry, the
/// watcher's task and the [`Expecting`] guards.
struct Shared {
    state: Mutex<State>,
    /// The token written to the watcher (or to be written when it starts again).
    tokens: watch::Sender<u64>,
}

#[derive(Default)]
struct State {
    /// How many times the watcher ended, failed or broke a bound.
    failures: u64,
    /// The last trusted report, and when it arrived; `None` while the watcher is not live.
    latest: Option<(Instant, Arc<Report>)>,
    /// The token a report must carry to be trusted: one more for each tmux session the
    /// server starts in the container.
    issued: u64,
    /// Tmux sessions being started; no token is written while there are any.
    expecting: usize,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn trusted(&self, token: u64) -> bool {
        token >= self.lock().issued
    }
}

/// Held while the server starts a tmux session in a container: until it is dropped, no
/// report of that container is trusted (see the module's docs).
pub(crate) struct Expecting {
    shared: Arc<Shared>,
}

impl Drop for Expecting {
    fn drop(&mut self) {
        let token = {
            let mut state = self.shared.lock();
            state.expecting -= 1;
            (state.expecting == 0).then_some(state.issued)
        };
        if let Some(token) = token {
            self.shared.tokens.send_replace(token);
        }
    }
}

/// Which workspace a watched container is, and whose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub environment: EnvironmentId,
    pub workspace: WorkspaceId,
}

struct Entry {
    workspace: WorkspaceId,
    generation: u64,
    since: Instant,
    shared: Arc<Shared>,
    task: tokio::task::AbortHandle,
}

impl Drop for Entry {
    fn drop(&mut self) {
        // The task drops the exec, whose process then sees its standard input end.
        self.task.abort();
    }
}

struct Inner {
    store: Arc<dyn Store>,
    runtime: Arc<dyn Runtime>,
    settings: WatchSettings,
    activities: Activities,
    /// Bytes of recording kept per session (see [`super::recordings`]).
    recording_limit: u64,
    watchers: Mutex<HashMap<String, Entry>>,
    generations: AtomicU64,
}

/// The session watchers of this server, by container. Clones share them; when the last
/// clone goes, every watcher is dropped.
#[derive(Clone)]
pub struct Watchers {
    inner: Arc<Inner>,
}

impl Watchers {
    pub fn new(
        store: Arc<dyn Store>,
        runtime: Arc<dyn Runtime>,
        settings: WatchSettings,
        activities: Activities,
        recording_limit: u64,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                runtime,
                settings,
                activities,
                recording_limit,
                watchers: Mutex::default(),
                generations: AtomicU64::new(0),
            }),
        }
    }

    fn watchers(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.inner
            .watchers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// How many containers are watched.
    pub fn count(&self) -> usize {
        self.watchers().len()
    }

    /// Whether `container` has a watcher (live or waiting to start again).
    pub fn watches(&self, container: &str) -> bool {
        self.watchers().contains_key(container)
    }

    /// Whether the container's watcher has a recent report that a pass would use.
    pub fn is_fresh(&self, container: &str) -> bool {
        self.fresh(container).is_some()
    }

    /// How many times the container's watcher ended, failed or broke a bound; `None` when
    /// it is not watched.
    pub fn failures(&self, container: &str) -> Option<u64> {
        let watchers = self.watchers();
        Some(watchers.get(container)?.shared.lock().failures)
    }

    /// Watches `container` (of the workspace at `place`) unless it is watched already.
    pub fn ensure(&self, container: &str, place: Place) {
        self.shared(container, place);
    }

    fn shared(&self, container: &str, place: Place) -> Arc<Shared> {
        let workspace = place.workspace;
        let mut watchers = self.watchers();
        if let Some(entry) = watchers.get(container)
            && entry.workspace == workspace
        {
            return entry.shared.clone();
        }
        let shared = Arc::new(Shared {
            state: Mutex::default(),
            tokens: watch::channel(0).0,
        });
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            // Outside a runtime nothing can be watched; a pass asks the container itself.
            return shared;
        };
        let generation = self.inner.generations.fetch_add(1, Ordering::Relaxed);
        let task = Task {
            container: container.to_owned(),
            place,
            owner: None,
            generation,
            shared: shared.clone(),
            tokens: shared.tokens.subscribe(),
            store: self.inner.store.clone(),
            runtime: self.inner.runtime.clone(),
            settings: self.inner.settings.clone(),
            activities: self.inner.activities.clone(),
            tracked: HashSet::new(),
            recording_limit: self.inner.recording_limit,
            registry: Arc::downgrade(&self.inner),
        };
        let task = rt.spawn(task.run()).abort_handle();
        watchers.insert(
            container.to_owned(),
            Entry {
                workspace,
                generation,
                since: Instant::now(),
                shared: shared.clone(),
                task,
            },
        );
        shared
    }

    /// Watches the container, and trusts none of its reports until the guard is dropped:
    /// take it before a session's row or tmux session is made, drop it once the tmux
    /// session runs (or failed to start).
    pub(crate) fn expect(&self, container: &str, place: Place) -> Expecting {
        let shared = self.shared(container, place);
        {
            let mut state = shared.lock();
            state.issued += 1;
            state.expecting += 1;
        }
        Expecting { shared }
    }

    /// The latest report of the container's watcher, if it is live, recent and trusted.
    pub(crate) fn fresh(&self, container: &str) -> Option<Arc<Report>> {
        let max_age = self.inner.settings.period * FRESH_PERIODS;
        let watchers = self.watchers();
        let shared = &watchers.get(container)?.shared;
        let state = shared.lock();
        let (at, report) = state.latest.as_ref()?;
        (at.elapsed() <= max_age && report.token >= state.issued).then(|| report.clone())
    }

    /// Stops watching the containers not in `keep` that were watched before `before` and
    /// where no tmux session is being started.
    pub(crate) fn retain(&self, keep: &HashSet<&str>, before: Instant) {
        let dropped: Vec<Entry> = {
            let mut watchers = self.watchers();
            let gone: Vec<String> = watchers
                .iter()
                .filter(|(c, e)| {
                    !keep.contains(c.as_str()) && e.since < before && e.shared.lock().expecting == 0
                })
                .map(|(c, _)| c.clone())
                .collect();
            gone.iter().filter_map(|c| watchers.remove(c)).collect()
        };
        for entry in &dropped {
            tracing::debug!(workspace = %entry.workspace, "no active session left: its session watcher stops");
        }
    }

    /// Stops watching `container`.
    pub fn stop(&self, container: &str) {
        let entry = self.watchers().remove(container);
        drop(entry);
    }

    /// Ends every watcher process in `container`, such as those a crashed server left.
    pub(crate) async fn end_strays(&self, container: &str) -> ServiceResult<()> {
        let spec = ExecSpec {
            cmd: ["sh", "-c", END_WATCHERS, "end-watchers"]
                .map(str::to_owned)
                .into(),
            ..Default::default()
        };
        self.inner.runtime.exec(container, spec).await?;
        Ok(())
    }
}
