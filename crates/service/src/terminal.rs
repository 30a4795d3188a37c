//! The terminal: each browser viewer of a session is its own `tmux attach` (never `-d`, so
//! viewers never kick each other off), run by an interactive exec with a TTY in the
//! session's workspace. tmux redraws the screen for every new client, so a viewer that
//! reconnects sees the screen as it was.
//!
//! Docker does not end an exec's process when its connection closes, so each viewer's
//! tmux client carries a marker in its environment (`CRAFTASTIC_VIEWER`), and is hung up by
//! that marker when the viewer goes; the reconciler hangs up any marked client that no
//! live viewer owns (left by a crash of the server).
//!
//! Hang-ups are gathered by container: while one exec hangs up a container's closed viewers,
//! those that close meanwhile wait for the next, so closing 500 terminals at once costs a
//! few execs instead of 500 (each of which scanned every process of the container).

use std::collections::{HashMap, HashSet};
use std::pin::Pin;
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

use crate::auth::Auth;
use crate::limits::{Limits, TerminalSlot};
use crate::sessions::Sessions;
use crate::tokens::Principal;
use crate::{ServiceError, ServiceResult, access};

/// How long a terminal ticket stays valid.
pub const TICKET_TTL: Duration = Duration::from_secs(30);

/// The environment variable that marks a viewer's tmux client.
const VIEWER_MARKER: &str = "CRAFTASTIC_VIEWER";

/// A viewer's tmux client: attaches to the session `$1`, or exits [`SESSION_GONE`].
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
    /// The markers of the viewers this server has open.
    live: Arc<Mutex<HashSet<String>>>,
    /// The markers of closed viewers whose tmux clients wait to be hung up, by container.
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

/// One viewer: the bytes of its terminal both ways, and a handle for the rest. When the
/// last of these parts is dropped, the viewer's tmux client in the container is hung up.
pub struct Viewer {
    pub output: BoxStream<'static, RuntimeResult<Bytes>>,
    pub input: Pin<Box<dyn tokio::io::AsyncWrite + Send>>,
    pub handle: Arc<ViewerHandle>,
}

/// Why a viewer's terminal stopped giving output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The tmux session ended; the session is now `dead`.
    Ended { code: i64 },
    /// The client was detached (e.g. with the tmux key Ctrl-b d); the session runs on.
    Detached,
    /// The workspace's container stopped or cannot be reached; the text says why.
    Lost(String),
}

pub struct ViewerHandle {
    terminal: Terminal,
    session: SessionId,
    tmux: String,
    container: String,
    exec_id: String,
    marker: String,
    /// Counts it among its opener's open terminals until it closes.
    _slot: TerminalSlot,
}

impl ViewerHandle {
    pub fn session(&self) -> SessionId {
        self.session
    }

    pub async fn resize(&self, size: TerminalSize) -> ServiceResult<()> {
        Ok(self
            .terminal
            .runtime
            .resize_tty(&self.exec_id, size.cols, size.rows)
            .await?)
    }

    /// Notes terminal input (written to the database in batches).
    pub fn touch(&self) {
        self.terminal.sessions.activity().touch(self.session);
    }

    /// Why the output ended; call it once the output stream is over.
    pub async fn ending(&self) -> Ending {
        let runtime = &self.terminal.runtime;
        let mut code = None;
        for _ in 0..20 {
            match runtime.exec_exit_code(&self.exec_id).await {
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
            self.terminal
                .sessions
                .tmux_alive(&self.container, &self.tmux)
                .await
        };
        match alive {
            Ok(true) => Ending::Detached,
            Ok(false) => {
                if let Err(e) = self.terminal.sessions.mark_dead(self.session).await {
                    tracing::warn!(session = %self.session, error = %e, "could not mark the session dead");
                }
                let code = code.filter(|c| *c != SESSION_GONE).unwrap_or(0);
                Ending::Ended { code }
            }
            Err(_) => Ending::Lost("the workspace's container stopped".into()),
        }
    }
}

impl Drop for ViewerHandle {
    fn drop(&mut self) {
        let marker = std::mem::take(&mut self.marker);
        let container = std::mem::take(&mut self.container);
        self.terminal.hang_up(container, marker);
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
        while self.viewers() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// How many viewers are open.
    pub fn viewers(&self) -> usize {
        self.live.lock().expect("live viewers").len()
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
        Ok(Attachment::Live(Viewer {
            output: tty.output,
            input: tty.input,
            handle: Arc::new(ViewerHandle {
                terminal: self.clone(),
                session: session.id,
                tmux: session.tmux_session_name,
                container,
                exec_id: tty.exec_id,
                marker,
                _slot: slot,
            }),
        }))
    }

    /// Hangs up the tmux client of a closed viewer, together with those of the viewers of
    /// the same container that close while an earlier hang-up runs there; then forgets the
    /// viewer. Containers do not wait for each other.
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
