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
//! A report is trusted only if it began after every tmux session the server started in
//! the container: starting one takes an [`Expecting`] guard, which raises the token a
//! report must carry; when the last guard goes, the server writes that token to the
//! watcher's standard input, and the script puts it in every report it begins afterwards.
//! So a session whose row exists but whose tmux session has not started yet is never taken
//! for ended.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use craftastic_domain::{SessionId, WorkspaceId};
use craftastic_runtime::{ExecSpec, Runtime, RuntimeError, StreamExec};
use craftastic_store::{SessionStatus, Store};
use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;
use tokio::time::Instant;

use super::tmux::session_of;
use crate::ServiceResult;

/// The script a watcher runs.
pub const SCRIPT: &str = include_str!("scripts/watch.sh");
const END_WATCHERS: &str = include_str!("scripts/end-watchers.sh");
/// The environment variable that marks a watcher's processes.
const MARKER: &str = "CRAFTASTIC_WATCHER";

/// How often a watcher reports when nothing asks it sooner.
pub const DEFAULT_PERIOD: Duration = Duration::from_secs(5);
/// The longest line a watcher may print.
const MAX_LINE: usize = 4096;
/// Lines and bytes of one report (a container with more tmux sessions than this is asked
/// by an exec instead, whose output has its own bound).
const MAX_REPORT_LINES: usize = 10_000;
const MAX_REPORT_BYTES: usize = 1 << 20;
/// What a watcher may print within one period: a few full reports, and the reports the
/// server asks for sooner.
const MAX_BYTES_PER_PERIOD: usize = 4 << 20;
const MAX_REPORTS_PER_PERIOD: usize = 32;
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
    pub script: String,
}

impl Default for WatchSettings {
    fn default() -> Self {
        Self {
            period: DEFAULT_PERIOD,
            script: SCRIPT.to_owned(),
        }
    }
}

/// One complete report: the names of the tmux sessions of the server's own naming that
/// run in the container (other names are left out: only these can be compared with rows).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Report {
    token: u64,
    pub(crate) sessions: HashSet<String>,
    /// The watcher could not ask tmux: the report says nothing of the sessions.
    unknown: bool,
}

/// The report being read.
#[derive(Debug)]
struct Partial {
    report: Report,
    lines: usize,
    bytes: usize,
    began: Instant,
}

/// Cuts a watcher's output into lines and reports, within the bounds above.
#[derive(Debug, Default)]
struct Reader {
    line: Vec<u8>,
    open: Option<Partial>,
}

impl Reader {
    /// Reads one chunk; returns the reports it completed, or why the watcher broke its
    /// bounds.
    fn feed(&mut self, chunk: &[u8], now: Instant) -> Result<Vec<Report>, String> {
        let mut done = Vec::new();
        let mut rest = chunk;
        while !rest.is_empty() {
            let (part, newline) = match rest.iter().position(|b| *b == b'\n') {
                Some(i) => (&rest[..i], Some(i)),
                None => (rest, None),
            };
            if self.line.len() + part.len() > MAX_LINE {
                return Err(format!("it printed a line longer than {MAX_LINE} bytes"));
            }
            self.line.extend_from_slice(part);
            let Some(i) = newline else { break };
            rest = &rest[i + 1..];
            let line = std::mem::take(&mut self.line);
            if let Some(report) = self.take_line(&line, now)? {
                done.push(report);
            }
        }
        Ok(done)
    }

    fn take_line(&mut self, line: &[u8], now: Instant) -> Result<Option<Report>, String> {
        let mut fields = line.split(|b| *b == b'\t');
        let kind = fields.next().unwrap_or_default();
        if kind == b"report" {
            if self.open.is_some() {
                return Err("it began a report inside another".into());
            }
            self.open = Some(Partial {
                report: Report {
                    token: token(fields.next())?,
                    ..Report::default()
                },
                lines: 0,
                bytes: 0,
                began: now,
            });
            return Ok(None);
        }
        // Lines outside a report are ignored (the bytes of a period bound them).
        let Some(open) = self.open.as_mut() else {
            return Ok(None);
        };
        if kind == b"end" {
            if token(fields.next())? != open.report.token {
                return Err("it ended a report with another token than it began".into());
            }
            return Ok(self.open.take().map(|p| p.report));
        }
        open.lines += 1;
        open.bytes += line.len() + 1;
        if open.lines > MAX_REPORT_LINES || open.bytes > MAX_REPORT_BYTES {
            return Err(format!(
                "it printed a report of more than {MAX_REPORT_LINES} lines or {MAX_REPORT_BYTES} bytes"
            ));
        }
        if kind == b"unknown" {
            open.report.unknown = true;
        } else if kind == b"s"
            && let Some(name) = fields.next().and_then(|n| std::str::from_utf8(n).ok())
            && session_of(name).is_some()
        {
            open.report.sessions.insert(name.to_owned());
        }
        Ok(None)
    }

    /// When the report being read began.
    fn began(&self) -> Option<Instant> {
        self.open.as_ref().map(|p| p.began)
    }
}

fn token(field: Option<&[u8]>) -> Result<u64, String> {
    field
        .filter(|f| !f.is_empty() && f.len() <= 20 && f.iter().all(u8::is_ascii_digit))
        .and_then(|f| std::str::from_utf8(f).ok()?.parse().ok())
        .ok_or_else(|| "it printed a report without a valid token".into())
}

/// What the bytes and reports of the current period add up to.
struct Budget {
    since: Instant,
    bytes: usize,
    reports: usize,
}

impl Budget {
    fn new(now: Instant) -> Self {
        Self {
            since: now,
            bytes: 0,
            reports: 0,
        }
    }

    fn spend(
        &mut self,
        bytes: usize,
        reports: usize,
        now: Instant,
        period: Duration,
    ) -> Result<(), String> {
        if now.duration_since(self.since) >= period {
            *self = Self::new(now);
        }
        self.bytes += bytes;
        self.reports += reports;
        if self.bytes > MAX_BYTES_PER_PERIOD || self.reports > MAX_REPORTS_PER_PERIOD {
            return Err(format!(
                "it printed more than {MAX_BYTES_PER_PERIOD} bytes or {MAX_REPORTS_PER_PERIOD} reports within {} s",
                period.as_secs_f32()
            ));
        }
        Ok(())
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
    pub fn new(store: Arc<dyn Store>, runtime: Arc<dyn Runtime>, settings: WatchSettings) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                runtime,
                settings,
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

    /// Watches `container` (of workspace `workspace`) unless it is watched already.
    pub fn ensure(&self, container: &str, workspace: WorkspaceId) {
        self.shared(container, workspace);
    }

    fn shared(&self, container: &str, workspace: WorkspaceId) -> Arc<Shared> {
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
            workspace,
            generation,
            shared: shared.clone(),
            tokens: shared.tokens.subscribe(),
            store: self.inner.store.clone(),
            runtime: self.inner.runtime.clone(),
            settings: self.inner.settings.clone(),
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
    pub(crate) fn expect(&self, container: &str, workspace: WorkspaceId) -> Expecting {
        let shared = self.shared(container, workspace);
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

/// Why a watcher stopped giving reports.
enum Outcome {
    /// Its process ended (or the engine closed the stream).
    Ended,
    /// It broke a bound, or could not be started; the text says how.
    Broken(String),
}

/// The task of one container's watcher: runs it, reads its reports, marks ended sessions
/// dead, and starts it again after a back-off when it fails.
struct Task {
    container: String,
    workspace: WorkspaceId,
    generation: u64,
    shared: Arc<Shared>,
    tokens: watch::Receiver<u64>,
    store: Arc<dyn Store>,
    runtime: Arc<dyn Runtime>,
    settings: WatchSettings,
    registry: Weak<Inner>,
}

impl Task {
    async fn run(mut self) {
        let period = self.settings.period;
        let mut backoff = period;
        loop {
            let started = Instant::now();
            let outcome = self.watch().await;
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

    /// Keeps a trusted report as the latest, and marks dead the active sessions of this
    /// workspace that the previous one listed and this one does not.
    async fn take(&self, report: Report) {
        if !self.shared.trusted(report.token) {
            return;
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

    /// The tmux session of `id` ended: an active session of this workspace becomes dead.
    async fn ended(&self, id: SessionId) {
        let marked = tokio::time::timeout(STORE_DEADLINE, async {
            match self.store.get_session(id).await? {
                Some(s)
                    if s.status == SessionStatus::Active
                        && s.workspace_id == Some(self.workspace) =>
                {
                    tracing::info!(session = %id, "its tmux session ended");
                    super::mark_dead(self.store.as_ref(), id).await
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

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "cs-0123456789abcdef0123456789abcdef";
    const B: &str = "cs-fedcba9876543210fedcba9876543210";

    fn feed(reader: &mut Reader, text: &str) -> Result<Vec<Report>, String> {
        reader.feed(text.as_bytes(), Instant::now())
    }

    fn names(report: &Report) -> Vec<&str> {
        let mut v: Vec<&str> = report.sessions.iter().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    #[tokio::test]
    async fn reports_are_read_across_chunks_and_unknown_lines_and_fields_are_ignored() {
        let mut r = Reader::default();
        let text = format!(
            "noise before\nreport\t7\ns\t{A}\tbash\t1a2b\nfuture\tkind\ns\tnot-ours\ns\t{B}\nend\t7\n"
        );
        let (one, two) = text.split_at(17);
        assert!(feed(&mut r, one).unwrap().is_empty());
        let reports = feed(&mut r, two).unwrap();
        assert_eq!(reports.len(), 1);
        assert_eq!(reports[0].token, 7);
        assert_eq!(names(&reports[0]), [A, B]);
        let empty = feed(&mut r, "report\t8\nend\t8\n").unwrap();
        assert!(empty[0].sessions.is_empty() && !empty[0].unknown);
        let unknown = feed(&mut r, "report\t9\nunknown\nend\t9\n").unwrap();
        assert!(unknown[0].unknown);
    }

    #[tokio::test]
    async fn a_line_too_long_breaks_the_watcher_even_without_a_newline() {
        let mut r = Reader::default();
        let long = "x".repeat(MAX_LINE / 2);
        assert!(feed(&mut r, &long).is_ok());
        assert!(feed(&mut r, &long).is_ok());
        assert!(feed(&mut r, "y").unwrap_err().contains("line longer"));
    }

    #[tokio::test]
    async fn a_report_too_long_breaks_the_watcher() {
        let mut r = Reader::default();
        feed(&mut r, "report\t1\n").unwrap();
        let line = format!("s\t{A}\n");
        let mut broke = None;
        for _ in 0..=MAX_REPORT_LINES {
            if let Err(e) = feed(&mut r, &line) {
                broke = Some(e);
                break;
            }
        }
        assert!(broke.unwrap().contains("more than"));
    }

    #[tokio::test]
    async fn bad_tokens_and_nested_reports_break_the_watcher() {
        for text in [
            "report\tx\n",
            "report\t\n",
            "report\t99999999999999999999999\n",
            "report\t1\nreport\t2\n",
            "report\t1\nend\t2\n",
        ] {
            assert!(feed(&mut Reader::default(), text).is_err(), "{text:?}");
        }
        // An end outside a report is noise.
        assert!(feed(&mut Reader::default(), "end\t3\n").unwrap().is_empty());
    }

    #[tokio::test]
    async fn the_budget_of_a_period_bounds_bytes_and_reports() {
        let now = Instant::now();
        let period = Duration::from_secs(5);
        let mut b = Budget::new(now);
        assert!(b.spend(MAX_BYTES_PER_PERIOD, 1, now, period).is_ok());
        assert!(b.spend(1, 0, now, period).is_err());
        let mut b = Budget::new(now);
        assert!(
            b.spend(10, MAX_REPORTS_PER_PERIOD + 1, now, period)
                .is_err()
        );
        let mut b = Budget::new(now);
        assert!(b.spend(MAX_BYTES_PER_PERIOD, 0, now, period).is_ok());
        assert!(b.spend(10, 1, now + period, period).is_ok());
    }
}
