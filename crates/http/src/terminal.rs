//! `/api/terminal/*`: the browser terminal of a session, over a WebSocket.
//!
//! Everything is checked before the upgrade (the origin, the token or ticket, the session's
//! owner), so a refused client gets an HTTP status, never a socket. After it, one task per
//! viewer moves bytes: it takes the session's terminal output only as fast as its socket
//! drains, so a slow client holds at most a few small buffers; one that falls too far behind
//! skips what it missed and gets the screen redrawn, and never holds up the other viewers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use craftastic_domain::{ErrorCode, SessionId};
use craftastic_service::auth::Auth;
use craftastic_service::terminal::{Attachment, Ending, TICKET_TTL, TerminalSize, Viewer};
use craftastic_service::tokens::Principal;
use futures::future::BoxFuture;
use futures::{FutureExt, SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Caller, Json, path_id};

mod utf8;

use utf8::Utf8Split;

/// The subprotocol in which terminal bytes travel as binary frames.
pub const BINARY_PROTOCOL: &str = "craftastic.binary.v1";
/// The largest message a client may send (a paste of this size is plenty).
pub const MAX_MESSAGE: usize = 1 << 20;
/// Output bytes gathered into one frame at most, when more are ready at once.
const MAX_OUTPUT_FRAME: usize = 64 * 1024;
const KEEPALIVE: Duration = Duration::from_secs(30);
/// A client that has not been heard from for this long is gone.
const SILENCE_LIMIT: Duration = Duration::from_secs(90);
/// How long input waits for the tmux client to attach before it is written anyway.
const ATTACH_WAIT: Duration = Duration::from_secs(5);
/// Output that streams on its own (nothing typed for [`TYPED_RECENTLY`], the last frame less
/// than [`STREAMING`] ago, like a build log or `yes`) waits [`COALESCE`] to go out in fewer,
/// larger frames: fewer wake-ups for the server and the browser. Output that answers a
/// keystroke never waits.
const TYPED_RECENTLY: Duration = Duration::from_millis(100);
const STREAMING: Duration = Duration::from_millis(10);
const COALESCE: Duration = Duration::from_millis(4);
/// The close code of a terminal whose sign-in ended (4000–4999 are the application's; this
/// one echoes HTTP's 401).
pub const SIGNED_OUT_CLOSE: u16 = 4401;

/// When a viewer's client was last heard from and last typed, in milliseconds since the
/// socket opened; shared by its reading and writing halves.
struct Clock {
    opened: Instant,
    heard: AtomicU64,
    typed: AtomicU64,
}

impl Clock {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            heard: AtomicU64::new(0),
            typed: AtomicU64::new(0),
        }
    }

    fn now(&self) -> u64 {
        self.opened.elapsed().as_millis() as u64
    }

    fn since(&self, mark: &AtomicU64) -> Duration {
        Duration::from_millis(self.now().saturating_sub(mark.load(Ordering::Relaxed)))
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ticket))
        .routes(routes!(socket))
}

/// Which browser origins may open terminals: the server's own, and `CORS_ORIGIN`.
#[derive(Debug, Clone, Default)]
pub struct OriginPolicy {
    pub extra: Option<HeaderValue>,
}

impl OriginPolicy {
    /// Clients that send no `Origin` are not browsers, and not exposed to cross-site
    /// requests; a browser always sends it on a WebSocket handshake.
    fn allows(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(header::ORIGIN) else {
            return true;
        };
        if self.extra.as_ref() == Some(origin) {
            return true;
        }
        let (Ok(origin), Some(host)) = (
            origin.to_str(),
            headers.get(header::HOST).and_then(|h| h.to_str().ok()),
        ) else {
            return false;
        };
        origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .is_some_and(|authority| authority.eq_ignore_ascii_case(host))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TicketRequest {
    pub session_id: Uuid,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TicketBody {
    /// Pass as `?token=` when opening the terminal; it works once.
    pub ticket: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// A single-use ticket to open a session's terminal, valid for 30 seconds, so that
/// long-lived tokens stay out of URLs.
#[utoipa::path(post, path = "/api/terminal/ticket", tag = "terminal",
    request_body = TicketRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The ticket", body = TicketBody),
        (status = 404, description = "No such session", body = ErrorBody),
    ))]
async fn ticket(
    State(state): State<AppState>,
    Caller(who): Caller,
    Json(body): Json<TicketRequest>,
) -> ApiResult<Json<TicketBody>> {
    let ticket = state
        .services
        .terminal
        .issue_ticket(who, SessionId(body.session_id))
        .await?;
    Ok(Json(TicketBody {
        ticket,
        expires_in: TICKET_TTL.as_secs(),
    }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SocketQuery {
    token: Option<String>,
    cols: Option<i64>,
    rows: Option<i64>,
}

/// The terminal of a session, as a WebSocket. Authenticate with `?token=` (an access token
/// or a ticket) or `Authorization: Bearer`. Offer the subprotocol `craftastic.binary.v1`
/// for binary terminal frames; otherwise every message is JSON text. `cols` and `rows` set
/// the first size.
#[utoipa::path(get, path = "/api/terminal/ws/{sessionId}", tag = "terminal",
    params(
        ("sessionId" = Uuid, Path),
        ("token" = Option<String>, Query, description = "An access token or a one-time ticket"),
        ("cols" = Option<i64>, Query), ("rows" = Option<i64>, Query),
    ),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol"),
        (status = 400, description = "Not a WebSocket handshake", body = ErrorBody),
        (status = 401, description = "No valid token or ticket", body = ErrorBody),
        (status = 403, description = "A browser origin that may not open terminals", body = ErrorBody),
        (status = 404, description = "No such session", body = ErrorBody),
        (status = 409, description = "The environment is not running", body = ErrorBody),
        (status = 429, description = "Too many open terminals (MAX_TERMINALS_PER_USER)", body = ErrorBody),
        (status = 502, description = "The container engine failed", body = ErrorBody),
    ))]
async fn socket(
    State(state): State<AppState>,
    Extension(origins): Extension<Arc<OriginPolicy>>,
    Path(id): Path<String>,
    Query(query): Query<SocketQuery>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    if !origins.allows(&headers) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::OriginNotAllowed,
            "this page's origin may not open terminals; open Craftastic at its own address or set CORS_ORIGIN",
        ));
    }
    let id: SessionId = path_id(&id, "session")?;
    let token = query
        .token
        .or_else(|| bearer(&headers))
        .ok_or_else(ApiError::unauthenticated)?;
    let terminal = &state.services.terminal;
    let who = terminal
        .authenticate(&state.services.auth, &token, id)
        .await?;
    let upgrade = upgrade.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::WebsocketRequired,
            format!("this route speaks WebSocket only: {e}"),
        )
    })?;
    let size = match (query.cols, query.rows) {
        (Some(cols), Some(rows)) => TerminalSize::clamped(cols, rows),
        _ => TerminalSize::default(),
    };
    let attachment = terminal.attach(who, id, size).await?;
    let binary = upgrade
        .requested_protocols()
        .any(|p| p.as_bytes() == BINARY_PROTOCOL.as_bytes());
    let metrics = state.metrics.clone();
    let stop = stopped(terminal.closing(), state.services.auth.clone(), who).boxed();
    Ok(upgrade
        .protocols([BINARY_PROTOCOL])
        .max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_OUTPUT_FRAME * 4)
        .on_upgrade(move |socket| async move {
            metrics.terminals_open.inc();
            match attachment {
                Attachment::Live(viewer) => run(socket, viewer, binary, stop).await,
                Attachment::Ended => ended(socket).await,
            }
            metrics.terminals_open.dec();
        })
        .into_response())
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(|t| t.trim().to_owned())
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum ClientMessage {
    Input { data: String },
    Resize { cols: i64, rows: i64 },
    Ping,
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum ServerMessage<'a> {
    Output { data: &'a str },
    Exit { code: i64 },
    Error { message: &'a str },
    Pong,
}

impl ServerMessage<'_> {
    fn frame(&self) -> Message {
        Message::Text(Utf8Bytes::from(
            serde_json::to_string(self).expect("server messages serialise"),
        ))
    }
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from(reason),
    }))
}

/// Completes with the frames that close a viewer from the server's side: when the server
/// shuts down, or when the viewer's sign-in ends (a logout, a new password, the account
/// deleted), so that a terminal never outlives its sign-in by more than a few seconds.
async fn stopped(mut closing: watch::Receiver<bool>, auth: Auth, who: Principal) -> Vec<Message> {
    tokio::select! {
        // `wait_for` also sees a shutdown that began before this viewer opened.
        _ = closing.wait_for(|closing| *closing) => vec![close(1012, "the server is restarting")],
        () = auth.signed_out(who) => vec![
            ServerMessage::Error {
                message: "your sign-in has ended (signed out, password changed or account deleted); sign in again",
            }
            .frame(),
            close(SIGNED_OUT_CLOSE, "signed out"),
        ],
    }
}

/// A session whose tmux session has ended: say so and close.
async fn ended(mut socket: WebSocket) {
    let _ = socket.send(ServerMessage::Exit { code: 0 }.frame()).await;
    let _ = socket.send(close(1000, "the session has ended")).await;
}

/// Moves bytes between one viewer and its socket until either side ends.
async fn run(
    socket: WebSocket,
    viewer: Viewer,
    binary: bool,
    stop: BoxFuture<'static, Vec<Message>>,
) {
    let Viewer { output, handle } = viewer;
    let (sink, stream) = socket.split();
    // Replies to the client's pings and complaints about its messages; small and bounded,
    // and dropped when full (a client that floods with bad messages loses replies).
    let (control_tx, control_rx) = mpsc::channel::<Message>(16);
    let (attached_tx, attached_rx) = watch::channel(false);
    let clock = Arc::new(Clock::new());
    let writer = write_output(
        sink,
        output,
        control_rx,
        attached_tx,
        &handle,
        binary,
        clock.clone(),
        stop,
    );
    let reader = read_input(stream, control_tx, attached_rx, &handle, clock);
    tokio::select! {
        () = writer => {}
        () = reader => {}
    }
}

#[allow(clippy::too_many_arguments)]
async fn write_output(
    mut sink: futures::stream::SplitSink<WebSocket, Message>,
    mut output: futures::stream::BoxStream<'static, craftastic_runtime::RuntimeResult<Bytes>>,
    mut control: mpsc::Receiver<Message>,
    attached: watch::Sender<bool>,
    handle: &craftastic_service::terminal::ViewerHandle,
    binary: bool,
    clock: Arc<Clock>,
    mut stop: BoxFuture<'static, Vec<Message>>,
) {
    let mut text = Utf8Split::default();
    let mut last_frame: Option<Instant> = None;
    let mut keepalive =
        tokio::time::interval_at(tokio::time::Instant::now() + KEEPALIVE, KEEPALIVE);
    loop {
        tokio::select! {
            biased;
            message = control.recv() => match message {
                Some(m) => if sink.send(m).await.is_err() { return },
                None => return,
            },
            chunk = output.next() => {
                let Some(Ok(first)) = chunk else { break };
                attached.send_replace(true);
                let streaming = last_frame.is_some_and(|t| t.elapsed() < STREAMING);
                if streaming && clock.since(&clock.typed) > TYPED_RECENTLY {
                    tokio::time::sleep(COALESCE).await;
                }
                let (bytes, more) = gather(first, &mut output);
                last_frame = Some(Instant::now());
                let frame = if binary {
                    Some(Message::Binary(bytes))
                } else {
                    let data = text.push(&bytes);
                    (!data.is_empty()).then(|| ServerMessage::Output { data: &data }.frame())
                };
                if let Some(frame) = frame {
                    if sink.send(frame).await.is_err() {
                        return;
                    }
                }
                if !more {
                    break;
                }
            },
            frames = &mut stop => {
                for frame in frames {
                    if sink.send(frame).await.is_err() {
                        break;
                    }
                }
                return;
            },
            _ = keepalive.tick() => {
                if clock.since(&clock.heard) > SILENCE_LIMIT {
                    let _ = sink.send(close(1001, "no answer to pings")).await;
                    return;
                }
                if sink.send(Message::Ping(Bytes::from_static(b"craftastic"))).await.is_err() {
                    return;
                }
            },
        }
    }
    let _ = match handle.ending() {
        Ending::Ended { code } => {
            let _ = sink.send(ServerMessage::Exit { code }.frame()).await;
            sink.send(close(1000, "the session has ended")).await
        }
        Ending::Detached => sink.send(close(1000, "detached")).await,
        Ending::Lost(reason) => {
            let _ = sink
                .send(ServerMessage::Error { message: &reason }.frame())
                .await;
            sink.send(close(1011, "the terminal was lost")).await
        }
    };
}

/// `first` plus whatever output is ready right now, up to [`MAX_OUTPUT_FRAME`], as one
/// frame; `false` when the output ended meanwhile.
fn gather(
    first: Bytes,
    output: &mut futures::stream::BoxStream<'static, craftastic_runtime::RuntimeResult<Bytes>>,
) -> (Bytes, bool) {
    if first.len() >= MAX_OUTPUT_FRAME {
        return (first, true);
    }
    let mut buf: Option<BytesMut> = None;
    let mut more = true;
    while buf.as_ref().map_or(first.len(), BytesMut::len) < MAX_OUTPUT_FRAME {
        match output.next().now_or_never() {
            Some(Some(Ok(next))) => buf
                .get_or_insert_with(|| BytesMut::from(&first[..]))
                .extend_from_slice(&next),
            Some(_) => {
                more = false;
                break;
            }
            None => break,
        }
    }
    (buf.map_or(first, BytesMut::freeze), more)
}

async fn read_input(
    mut stream: futures::stream::SplitStream<WebSocket>,
    control: mpsc::Sender<Message>,
    mut attached: watch::Receiver<bool>,
    handle: &craftastic_service::terminal::ViewerHandle,
    clock: Arc<Clock>,
) {
    let complain = |message: &str| {
        let _ = control.try_send(ServerMessage::Error { message }.frame());
    };
    let mut waited = false;
    while let Some(Ok(message)) = stream.next().await {
        clock.heard.store(clock.now(), Ordering::Relaxed);
        let bytes: Bytes = match message {
            Message::Binary(b) => b,
            Message::Text(t) => match serde_json::from_str::<ClientMessage>(t.as_str()) {
                Ok(ClientMessage::Input { data }) => Bytes::from(data),
                Ok(ClientMessage::Resize { cols, rows }) => {
                    if let Err(e) = handle.resize(TerminalSize::clamped(cols, rows)).await {
                        complain(&format!("could not resize the terminal: {e}"));
                    }
                    continue;
                }
                Ok(ClientMessage::Ping) => {
                    let _ = control.try_send(ServerMessage::Pong.frame());
                    continue;
                }
                Err(e) => {
                    complain(&format!(
                        "ignored a message that is not one of {{\"type\":\"input\",\"data\":…}}, {{\"type\":\"resize\",\"cols\":…,\"rows\":…}} or {{\"type\":\"ping\"}}: {e}"
                    ));
                    continue;
                }
            },
            Message::Close(_) => return,
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        if bytes.is_empty() {
            continue;
        }
        // Keys typed before tmux has taken over the terminal would be echoed by the line
        // discipline or thrown away when tmux switches it to raw mode; hold them until tmux
        // has drawn its first screen.
        if !waited {
            let _ = tokio::time::timeout(ATTACH_WAIT, attached.wait_for(|a| *a)).await;
            waited = true;
        }
        clock.typed.store(clock.now(), Ordering::Relaxed);
        if handle.write(&bytes).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_clamped() {
        assert_eq!(
            TerminalSize::clamped(0, 0),
            TerminalSize { cols: 2, rows: 1 }
        );
        assert_eq!(
            TerminalSize::clamped(100_000, -5),
            TerminalSize {
                cols: TerminalSize::MAX_COLS,
                rows: 1
            }
        );
    }

    #[test]
    fn origins() {
        let policy = OriginPolicy {
            extra: Some(HeaderValue::from_static("http://localhost:5173")),
        };
        let headers = |origin: Option<&'static str>| {
            let mut h = HeaderMap::new();
            h.insert(header::HOST, HeaderValue::from_static("example.com:8080"));
            if let Some(o) = origin {
                h.insert(header::ORIGIN, HeaderValue::from_static(o));
            }
            h
        };
        assert!(policy.allows(&headers(None)));
        assert!(policy.allows(&headers(Some("http://example.com:8080"))));
        assert!(policy.allows(&headers(Some("https://example.com:8080"))));
        assert!(policy.allows(&headers(Some("http://localhost:5173"))));
        assert!(!policy.allows(&headers(Some("http://evil.example"))));
        assert!(!policy.allows(&headers(Some("http://example.com:8080.evil"))));
        assert!(!policy.allows(&headers(Some("null"))));
    }
}
