//! The terminal: the browser viewers of a session share one `tmux attach` (never `-d`), run
//! by an interactive exec with a TTY in the session's workspace ([`shared`]). The first
//! viewer starts it; the others join it and get its screen redrawn; it is let go when the
//! last one leaves. Closing 500 terminals on 10 sessions so ends 10 tmux clients, not 500.
//!
//! Docker does not end an exec's process when its connection closes, so each tmux client
//! carries a marker in its environment (`CRAFTASTIC_VIEWER`), and is hung up by that marker
//! when its last viewer goes; the reconciler hangs up any marked client that this server
//! does not hold (left by a crash of the server).
//!
//! Hang-ups are gathered by container: while one exec hangs up a container's clients, those
//! let go meanwhile wait for the next, so closing many terminals at once costs a few execs.

mod modes;
mod shared;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use craftastic_domain::ErrorCode;
use craftastic_domain::SessionId;
use craftastic_runtime::{ExecSpec, Runtime, RuntimeResult};
use craftastic_store::Store;
use futures::stream::BoxStream;
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use self::shared::Shared;
use crate::auth::Auth;
use crate::keyed_lock::KeyedLocks;
use crate::limits::{Limits, TerminalSlot};
use crate::sessions::Sessions;
use crate::tokens::Principal;
use crate::{ServiceError, ServiceResult, access};

/// How long a terminal ticket stays valid.
pub const TICKET_TTL: Duration = Duration::from_secs(30);

/// The environment variable that marks a tmux client of viewers.
const VIEWER_MARKER: &str = "CRAFTASTIC_VIEWER";

/// The viewers' tmux client: attaches to the session `$1`, or exits [`SESSION_GONE`].
const ATTACH_SCRIPT: &str = include_str!("terminal/attach.sh");
const SESSION_GONE: i64 = 100;

/// Hangs up the tmux clients carrying any of the markers `$@` (why `HUP`, and not `KILL`, is
/// told in the script).
const HANG_UP_SCRIPT: &str = include_str!("terminal/hang-up.sh");
/// How long closed viewers are gathered before their container's first hang-up exec.
const HANG_UP_GATHER: Duration = Duration::from_millis(100);
/// How long one hang-up exec may take before the server stops waiting for it (the
/// reconciler hangs up what it missed).
const HANG_UP_DEADLINE: Duration = Duration::from_secs(10);

/// Prints `/proc/<pid>/environ:CRAFTASTIC_VIEWER=<marker>` for every marked process.
const LIST_VIEWERS_SCRIPT: &str = include_str!("terminal/list-viewers.sh");

/// A terminal size, kept within what a screen can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TerminalSize {
    pub cols: u16,
    pub rows: u16,
}

impl TerminalSize {
    pub const MAX_COLS: u16 = 1000;
    pub const MAX_ROWS: u16 = 500;

    /// Any numbers become a usable size: 0 becomes the smallest, 100000 the largest.
    pub fn clamped(cols: i64, rows: i64) -> Self {
        Self {
            cols: cols.clamp(2, Self::MAX_COLS as i64) as u16,
            rows: rows.clamp(1, Self::MAX_ROWS as i64) as u16,
        }
    }
}

impl Default for TerminalSize {
    fn default() -> Self {
        Self { cols: 80, rows: 24 }
    }
}

struct Ticket {
    principal: Principal,
    session: SessionId,
    expires: Instant,
}

#[derive(Clone)]
pub struct Terminal {
    store: Arc<dyn Store>,
    runtime: Arc<dyn Runtime>,
    sessions: Sessions,
    /// SHA-256 of each unused ticket.
    tickets: Arc<Mutex<HashMap<[u8; 32], Ticket>>>,
    /// The markers of the tmux clients this server holds for viewers.
    live: Arc<Mutex<HashSet<String>>>,
    /// The tmux client of each session with viewers.
    clients: Arc<Mutex<HashMap<SessionId, Arc<Shared>>>>,
    /// Taken while a session's client is looked up or started, so that it starts once.
    opening: KeyedLocks<SessionId>,
    /// The markers of let-go tmux clients that wait to be hung up, by container.
    /// A container has an entry while a task hangs up its viewers.
    hang_ups: Arc<Mutex<HashMap<String, Vec<String>>>>,
    /// Containers where a tmux client may have outlived its viewer (a hang-up or an attach
    /// failed half way); the reconciler looks for strays there.
    doubtful: Arc<Mutex<HashSet<String>>>,
    /// Becomes `true` when the server shuts down: every viewer closes.
    closing: Arc<tokio::sync::watch::Sender<bool>>,
    limits: Limits,
}

/// How opening a session's terminal went.
pub enum Attachment {
    Live(Viewer),
    /// The session's tmux session has ended.
    Ended,
}

/// One viewer: the output of its session's terminal, and a handle for the rest. When both
/// are dropped, the viewer leaves its session's tmux client, which is hung up if it was the
/// last viewer.
pub struct Viewer {
    pub output: BoxStream<'static, RuntimeResult<Bytes>>,
    pub handle: Arc<ViewerHandle>,
}

/// Why a viewer's terminal stopped giving output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The tmux session ended; the session is now `dead`.
    Ended { code: i64 },
    /// The client was detached (e.g. with the tmux key Ctrl-b d, which detaches every
    /// viewer of the session); the session runs on.
    Detached,
    /// The workspace's container stopped or cannot be reached; the text says why.
    Lost(String),
}

pub struct ViewerHandle {
    terminal: Terminal,
    session: SessionId,
    shared: Arc<Shared>,
    seat: u64,
    /// Counts it among its opener's open terminals until it closes.
    _slot: TerminalSlot,
}

impl ViewerHandle {
    pub fn session(&self) -> SessionId {
        self.session
    }

    /// Resizes the viewer; the terminal takes the size of the viewer used last.
    pub async fn resize(&self, size: TerminalSize) -> ServiceResult<()> {
        if self.shared.used(self.seat, Some(size)) {
            self.shared.resize().await?;
        }
        Ok(())
    }

    /// Types `bytes` into the terminal, at this viewer's size, and notes the activity
    /// (written to the database in batches).
    pub async fn write(&self, bytes: &[u8]) -> std::io::Result<()> {
        if self.shared.used(self.seat, None) {
            if let Err(e) = self.shared.resize().await {
                tracing::debug!(session = %self.session, error = %e, "could not resize a shared terminal");
            }
        }
        self.shared.write(bytes).await?;
        self.terminal.sessions.activity().touch(self.session);
        Ok(())
    }

    /// Why the output ended; call it once the output stream is over.
    pub fn ending(&self) -> Ending {
        self.shared
            .ending()
            .unwrap_or_else(|| Ending::Lost("the terminal was lost".into()))
    }
}

impl Drop for ViewerHandle {
    fn drop(&mut self) {
        self.terminal.leave(self.session, &self.shared, self.seat);
    }
}

impl Terminal {
    pub fn new(
        store: Arc<dyn Store>,
        runtime: Arc<dyn Runtime>,
        sessions: Sessions,
        limits: Limits,
    ) -> Self {
        Self {
            store,
            runtime,
            sessions,
            tickets: Arc::default(),
            live: Arc::default(),
            clients: Arc::default(),
            opening: KeyedLocks::default(),
            hang_ups: Arc::default(),
            doubtful: Arc::default(),
            closing: Arc::new(tokio::sync::watch::channel(false).0),
            limits,
        }
    }

    /// Becomes `true` when the server starts shutting down (wait with `wait_for`, which
    /// also sees a shutdown that began before the viewer opened).
    pub fn closing(&self) -> tokio::sync::watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// Tells every viewer to close (their sockets get 1012 "the server is restarting"; the
    /// sessions run on), those open now and any that opens later, without waiting.
    pub fn begin_closing(&self) {
        self.closing.send_replace(true);
    }

    /// Closes every viewer (their tmux clients are hung up, the sessions run on) and waits
    /// up to `timeout` for them to be gone.
    pub async fn close_all(&self, timeout: Duration) {
        self.begin_closing();
        let deadline = Instant::now() + timeout;
        while self.clients() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// How many tmux clients this server holds for viewers (one per session watched).
    pub fn clients(&self) -> usize {
        self.live.lock().expect("live viewers").len()
    }

    /// Whether somebody has the session's terminal open.
    pub fn is_viewed(&self, session: SessionId) -> bool {
        self.clients.lock().expect("clients").contains_key(&session)
    }

    /// A single-use ticket for opening the session's terminal, valid for [`TICKET_TTL`], so
    /// that long-lived tokens stay out of URLs.
    /// Fails: the session is not the caller's → 404.
    pub async fn issue_ticket(&self, who: Principal, session: SessionId) -> ServiceResult<String> {
        access::session(self.store.as_ref(), who, session).await?;
        let mut raw = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut raw);
        let ticket = URL_SAFE_NO_PAD.encode(raw);
        let now = Instant::now();
        let mut tickets = self.tickets.lock().expect("tickets");
        tickets.retain(|_, t| t.expires > now);
        tickets.insert(
            Sha256::digest(ticket.as_bytes()).into(),
            Ticket {
                principal: who,
                session,
                expires: now + TICKET_TTL,
            },
        );
        Ok(ticket)
    }

    /// Who `token` (an access token or a ticket for this session) speaks for, while its
    /// sign-in goes on. A ticket is used up by the attempt, whatever its outcome.
    /// Fails: the sign-in has ended → 401 `signed_out`; anything else → 401
    /// `invalid_token`.
    pub async fn authenticate(
        &self,
        auth: &Auth,
        token: &str,
        session: SessionId,
    ) -> ServiceResult<Principal> {
        if token.matches('.').count() == 2 {
            return auth.authenticate(token).await;
        }
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let ticket = self.tickets.lock().expect("tickets").remove(&key);
        match ticket {
            Some(t) if t.expires > Instant::now() && t.session == session => {
                auth.ensure_signed_in(t.principal).await?;
                Ok(t.principal)
            }
            _ => Err(ServiceError::Unauthorized {
                code: ErrorCode::InvalidToken,
                message: "the token or ticket is invalid, used or expired; get a new ticket",
            }),
        }
    }

    /// Opens a viewer of the session's terminal at `size`, starting the workspace and the
    /// tmux session first if the environment was stopped and started since.
    /// Fails: the session is not the caller's → 404; the caller has as many open terminals
    /// as allowed → 429 `limit_reached`; the environment is not running → 409; the engine
    /// fails → 502.
    pub async fn attach(
        &self,
        who: Principal,
        id: SessionId,
        size: TerminalSize,
    ) -> ServiceResult<Attachment> {
        let (session, env) = access::session(self.store.as_ref(), who, id).await?;
        let slot = self.limits.open_terminal(who.user_id).await?;
        let Some(container) = self.sessions.ready(&env, &session).await? else {
            return Ok(Attachment::Ended);
        };
        let _turn = self.opening.lock(id).await;
        let running = self.clients.lock().expect("clients").get(&id).cloned();
        if let Some(shared) = running.filter(|s| s.container == container) {
            if let Some(joined) = shared.join(size) {
                return Ok(self.viewer(id, shared, joined, slot));
            }
        }
        let marker = Uuid::new_v4().simple().to_string();
        self.live
            .lock()
            .expect("live viewers")
            .insert(marker.clone());
        let spec = ExecSpec {
            cmd: vec![
                "sh".into(),
                "-c".into(),
                ATTACH_SCRIPT.into(),
                "attach".into(),
                session.tmux_session_name.clone(),
            ],
            env: vec![
                format!("{VIEWER_MARKER}={marker}"),
                "TERM=xterm-256color".into(),
                "COLORTERM=truecolor".into(),
            ],
            ..Default::default()
        };
        let tty = match self
            .runtime
            .exec_tty(&container, spec, size.cols, size.rows)
            .await
        {
            Ok(tty) => tty,
            Err(e) => {
                // The exec may have started its tmux client before the call failed.
                self.doubt(&container);
                self.live.lock().expect("live viewers").remove(&marker);
                return Err(e.into());
            }
        };
        let shared = Shared::new(
            self.runtime.clone(),
            container,
            marker,
            tty.exec_id,
            tty.input,
            size,
        );
        let joined = shared
            .join(size)
            .expect("a client just started takes its first viewer");
        self.clients
            .lock()
            .expect("clients")
            .insert(id, shared.clone());
        tokio::spawn(self.clone().follow(
            id,
            session.tmux_session_name,
            shared.clone(),
            tty.output,
        ));
        Ok(self.viewer(id, shared, joined, slot))
    }

    fn viewer(
        &self,
        session: SessionId,
        shared: Arc<Shared>,
        joined: shared::Joined,
        slot: TerminalSlot,
    ) -> Attachment {
        Attachment::Live(Viewer {
            output: joined.output,
            handle: Arc::new(ViewerHandle {
                terminal: self.clone(),
                session,
                shared,
                seat: joined.seat,
                _slot: slot,
            }),
        })
    }

    /// Feeds a session's tmux client to its viewers; when it ends by itself (the session
    /// ended, a detach, the container went), tells them why.
    async fn follow(
        self,
        id: SessionId,
        tmux: String,
        shared: Arc<Shared>,
        output: BoxStream<'static, RuntimeResult<Bytes>>,
    ) {
        if !shared.read(output).await {
            return;
        }
        let ending = self.ending_of(&shared, &tmux, id).await;
        shared.end(ending);
        self.live
            .lock()
            .expect("live viewers")
            .remove(&shared.marker);
        self.forget(id, &shared);
    }

    /// Why a session's tmux client ended: with the session (which is then marked `dead`),
    /// by a detach, or with its container.
    async fn ending_of(&self, shared: &Shared, tmux: &str, id: SessionId) -> Ending {
        let mut code = None;
        for _ in 0..20 {
            match self.runtime.exec_exit_code(shared.exec_id()).await {
                Ok(Some(c)) => {
                    code = Some(c);
                    break;
                }
                Ok(None) => tokio::time::sleep(Duration::from_millis(10)).await,
                Err(e) => return Ending::Lost(e.to_string()),
            }
        }
        let alive = if code == Some(SESSION_GONE) {
            Ok(false)
        } else {
            self.sessions.tmux_alive(&shared.container, tmux).await
        };
        match alive {
            Ok(true) => Ending::Detached,
            Ok(false) => {
                if let Err(e) = self.sessions.mark_dead(id).await {
                    tracing::warn!(session = %id, error = %e, "could not mark the session dead");
                }
                let code = code.filter(|c| *c != SESSION_GONE).unwrap_or(0);
                Ending::Ended { code }
            }
            Err(_) => Ending::Lost("the workspace's container stopped".into()),
        }
    }

    /// Forgets the session's client if it is still `shared`.
    fn forget(&self, id: SessionId, shared: &Arc<Shared>) {
        let mut clients = self.clients.lock().expect("clients");
        if clients.get(&id).is_some_and(|s| Arc::ptr_eq(s, shared)) {
            clients.remove(&id);
        }
    }

    /// A viewer leaves its session's client; the last one lets it go and hangs it up.
    fn leave(&self, id: SessionId, shared: &Arc<Shared>, seat: u64) {
        if !shared.leave(seat) {
            return;
        }
        self.forget(id, shared);
        if shared.ending().is_none() {
            self.hang_up(shared.container.clone(), shared.marker.clone());
        }
    }

    /// Hangs up a let-go tmux client, together with those of the same container let go
    /// while an earlier hang-up runs there; then forgets its marker. Containers do not wait
    /// for each other.
    fn hang_up(&self, container: String, marker: String) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        {
            let mut pending = self.hang_ups.lock().expect("hang-ups");
            if let Some(waiting) = pending.get_mut(&container) {
                waiting.push(marker);
                return;
            }
            pending.insert(container.clone(), vec![marker]);
        }
        let terminal = self.clone();
        rt.spawn(async move {
            // Terminals close together (a browser quits, the server shuts down): wait a
            // moment so that the first exec hangs up all of them.
            tokio::time::sleep(HANG_UP_GATHER).await;
            loop {
                let markers = {
                    let mut pending = terminal.hang_ups.lock().expect("hang-ups");
                    let waiting = pending.get_mut(&container).map(std::mem::take);
                    match waiting {
                        Some(markers) if !markers.is_empty() => markers,
                        _ => {
                            pending.remove(&container);
                            return;
                        }
                    }
                };
                terminal.hang_up_now(&container, &markers).await;
                let mut live = terminal.live.lock().expect("live viewers");
                for marker in &markers {
                    live.remove(marker);
                }
            }
        });
    }

    /// One exec that hangs up the tmux clients carrying these markers.
    async fn hang_up_now(&self, container: &str, markers: &[String]) {
        let mut cmd: Vec<String> = ["sh", "-c", HANG_UP_SCRIPT, "hang-up"]
            .map(str::to_owned)
            .into();
        cmd.extend(markers.iter().cloned());
        let spec = ExecSpec {
            cmd,
            deadline: Some(HANG_UP_DEADLINE),
            ..Default::default()
        };
        if let Err(e) = self.runtime.exec(container, spec).await {
            tracing::debug!(container, viewers = markers.len(), error = %e, "could not hang up closed viewers' tmux clients; the reconciler will");
            self.doubt(container);
        }
    }

    /// Notes that `container` may hold tmux clients that no viewer owns.
    pub(crate) fn doubt(&self, container: &str) {
        self.doubtful
            .lock()
            .expect("doubtful containers")
            .insert(container.to_owned());
    }

    /// Forgets the doubts about containers that are gone.
    pub(crate) fn retain_doubts(&self, exists: impl Fn(&str) -> bool) {
        self.doubtful
            .lock()
            .expect("doubtful containers")
            .retain(|c| exists(c));
    }

    /// Whether `container` may hold tmux clients that no viewer owns; the doubt is cleared
    /// (a look that fails doubts again).
    pub(crate) fn take_doubt(&self, container: &str) -> bool {
        self.doubtful
            .lock()
            .expect("doubtful containers")
            .remove(container)
    }

    /// Hangs up the tmux clients in `container` that no open viewer owns; returns how many.
    pub(crate) async fn hang_up_strays(&self, container: &str) -> ServiceResult<usize> {
        let listed = self
            .runtime
            .exec(
                container,
                ExecSpec {
                    cmd: vec!["sh".into(), "-c".into(), LIST_VIEWERS_SCRIPT.into()],
                    ..Default::default()
                },
            )
            .await?;
        let strays: Vec<String> = {
            let live = self.live.lock().expect("live viewers");
            listed
                .stdout_str()
                .lines()
                .filter_map(|l| {
                    let (file, marker) = l.split_once(":CRAFTASTIC_VIEWER=")?;
                    let pid = file.strip_prefix("/proc/")?.strip_suffix("/environ")?;
                    pid.bytes()
                        .all(|b| b.is_ascii_digit())
                        .then_some((pid, marker))
                })
                .filter(|(_, marker)| !live.contains(*marker))
                .map(|(pid, _)| pid.to_owned())
                .collect()
        };
        if strays.is_empty() {
            return Ok(0);
        }
        let mut cmd = vec!["kill".into(), "-HUP".into()];
        cmd.extend(strays.iter().cloned());
        self.runtime
            .exec(
                container,
                ExecSpec {
                    cmd,
                    ..Default::default()
                },
            )
            .await?;
        Ok(strays.len())
    }
}
