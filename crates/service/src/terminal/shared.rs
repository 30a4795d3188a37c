//! One tmux client for all the browser viewers of a session: its output goes to every viewer,
//! their input comes in through it, and it takes the size of the viewer used last (tmux's
//! `window-size latest`, set in the sandbox's tmux configuration, does the same among tmux's
//! own clients).
//!
//! A viewer that joins a running client is first told the terminal modes tmux has set
//! ([`Modes`]), then the client's screen is redrawn for everyone (`refresh-client`, or a
//! resize when the newcomer's size differs). A viewer that falls behind by more than
//! [`BACKLOG`] chunks skips what it missed and gets the same treatment: the output is never
//! held up for the slowest viewer, and never buffered without a bound for it.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use craftastic_runtime::{ExecSpec, Runtime, RuntimeResult};
use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use super::modes::Modes;
use super::{Ending, TerminalSize};

/// Output chunks kept for a viewer that has not read them yet.
pub(super) const BACKLOG: usize = 64;

/// Redraws the tmux client carrying the marker `$1` for every viewer.
const REFRESH_SCRIPT: &str = include_str!("refresh.sh");
/// How long one redraw exec may take before the server stops waiting for it.
const REFRESH_DEADLINE: Duration = Duration::from_secs(5);

/// A viewer's part in the client: its size and when it was last used.
#[derive(Debug, Clone, Copy)]
struct Seat {
    size: TerminalSize,
    used: u64,
}

struct State {
    /// `None` once the client ended or its last viewer left: nobody joins it any more.
    output: Option<broadcast::Sender<Bytes>>,
    modes: Modes,
    seats: HashMap<u64, Seat>,
    /// The size the client's terminal was last given.
    size: TerminalSize,
    /// Counts joins and uses, to tell which viewer was used last.
    clock: u64,
}

#[derive(Default)]
struct Redraw {
    running: bool,
    again: bool,
}

/// A running tmux client shared by a session's viewers.
pub(super) struct Shared {
    pub(super) container: String,
    /// The `CRAFTASTIC_VIEWER` marker in the client's environment.
    pub(super) marker: String,
    exec_id: String,
    runtime: Arc<dyn Runtime>,
    input: tokio::sync::Mutex<Pin<Box<dyn AsyncWrite + Send>>>,
    state: Mutex<State>,
    /// Taken while the client's terminal is resized, so that the last size asked wins.
    resizing: tokio::sync::Mutex<()>,
    redraw: Mutex<Redraw>,
    /// Why the client ended, once it has (set before its viewers' output ends).
    ending: std::sync::OnceLock<Ending>,
}

/// What a viewer got by joining.
pub(super) struct Joined {
    pub(super) seat: u64,
    pub(super) output: BoxStream<'static, RuntimeResult<Bytes>>,
}

impl Shared {
    /// A client just started by `exec_id`, with its first viewer seated at `size`, which
    /// the terminal was started at. Its output must then be fed with [`Shared::read`].
    pub(super) fn new(
        runtime: Arc<dyn Runtime>,
        container: String,
        marker: String,
        exec_id: String,
        input: Pin<Box<dyn AsyncWrite + Send>>,
        size: TerminalSize,
    ) -> Arc<Self> {
        Arc::new(Self {
            container,
            marker,
            exec_id,
            runtime,
            input: tokio::sync::Mutex::new(input),
            state: Mutex::new(State {
                output: Some(broadcast::channel(BACKLOG).0),
                modes: Modes::default(),
                seats: HashMap::new(),
                size,
                clock: 0,
            }),
            resizing: tokio::sync::Mutex::new(()),
            redraw: Mutex::default(),
            ending: std::sync::OnceLock::new(),
        })
    }

    pub(super) fn exec_id(&self) -> &str {
        &self.exec_id
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("shared terminal")
    }

    /// Seats a viewer at `size`, or `None` when the client has ended or been let go. A
    /// viewer that is not the first gets the screen redrawn.
    pub(super) fn join(self: &Arc<Self>, size: TerminalSize) -> Option<Joined> {
        let (receiver, modes, seat, first, resize) = {
            let mut state = self.state();
            let receiver = state.output.as_ref()?.subscribe();
            // Every join counts, so only the first viewer finds the clock at 0.
            let first = state.clock == 0;
            state.clock += 1;
            let seat = state.clock;
            state.seats.insert(seat, Seat { size, used: seat });
            let resize = state.size != size;
            state.size = size;
            (receiver, state.modes.replay(), seat, first, resize)
        };
        if resize {
            self.spawn_resize();
        } else if !first {
            self.redraw();
        }
        let preamble = (!modes.is_empty()).then(|| Bytes::from(modes));
        Some(Joined {
            seat,
            output: self.output(receiver, preamble),
        })
    }

    /// The viewer's output: the modes to replay (for a newcomer), then the client's output;
    /// after a gap, the modes again and a redraw.
    fn output(
        self: &Arc<Self>,
        receiver: broadcast::Receiver<Bytes>,
        preamble: Option<Bytes>,
    ) -> BoxStream<'static, RuntimeResult<Bytes>> {
        let shared = self.clone();
        let start = futures::stream::iter(preamble.map(Ok));
        let rest = futures::stream::unfold(receiver, move |mut receiver| {
            let shared = shared.clone();
            async move {
                loop {
                    match receiver.recv().await {
                        Ok(bytes) => return Some((Ok(bytes), receiver)),
                        Err(RecvError::Lagged(_)) => {
                            let modes = shared.state().modes.replay();
                            shared.redraw();
                            if !modes.is_empty() {
                                return Some((Ok(Bytes::from(modes)), receiver));
                            }
                        }
                        Err(RecvError::Closed) => return None,
                    }
                }
            }
        });
        start.chain(rest).boxed()
    }

    /// Feeds the client's output to its viewers until it ends or is let go; `true` when it
    /// ended by itself.
    pub(super) async fn read(&self, mut output: BoxStream<'static, RuntimeResult<Bytes>>) -> bool {
        while let Some(Ok(bytes)) = output.next().await {
            let mut state = self.state();
            let State { output, modes, .. } = &mut *state;
            let Some(sender) = output.as_ref() else {
                return false;
            };
            modes.read(&bytes);
            // Fails only without receivers: the viewers are all between two messages.
            let _ = sender.send(bytes);
        }
        self.state().output.is_some()
    }

    /// Records why the client ended and ends its viewers' output.
    pub(super) fn end(&self, ending: Ending) {
        let _ = self.ending.set(ending);
        self.state().output = None;
    }

    /// Why the client ended; `None` while it runs.
    pub(super) fn ending(&self) -> Option<Ending> {
        self.ending.get().cloned()
    }

    /// Frees the viewer's seat; `true` when it was the last, and the client is now let go
    /// (nobody can join it any more).
    pub(super) fn leave(self: &Arc<Self>, seat: u64) -> bool {
        let resize = {
            let mut state = self.state();
            state.seats.remove(&seat);
            if state.seats.is_empty() {
                state.output = None;
                return true;
            }
            let latest = state
                .seats
                .values()
                .max_by_key(|s| s.used)
                .map(|s| s.size)
                .expect("seats are not empty");
            let resize = state.size != latest;
            state.size = latest;
            resize
        };
        if resize {
            self.spawn_resize();
        }
        false
    }

    /// Notes that the viewer was used (it typed or resized), at `size` if given: the client
    /// takes its size.
    pub(super) fn used(self: &Arc<Self>, seat: u64, size: Option<TerminalSize>) -> bool {
        let mut state = self.state();
        state.clock += 1;
        let clock = state.clock;
        let Some(s) = state.seats.get_mut(&seat) else {
            return false;
        };
        s.used = clock;
        if let Some(size) = size {
            s.size = size;
        }
        let size = s.size;
        let resize = state.size != size;
        state.size = size;
        resize
    }

    /// Gives the client's terminal the size it should have now.
    pub(super) async fn resize(&self) -> RuntimeResult<()> {
        let _turn = self.resizing.lock().await;
        let size = self.state().size;
        self.runtime
            .resize_tty(&self.exec_id, size.cols, size.rows)
            .await
    }

    fn spawn_resize(self: &Arc<Self>) {
        let shared = self.clone();
        tokio::spawn(async move {
            if let Err(e) = shared.resize().await {
                tracing::debug!(container = shared.container, error = %e, "could not resize a shared terminal");
            }
        });
    }

    /// Writes a viewer's input to the client.
    pub(super) async fn write(&self, bytes: &[u8]) -> std::io::Result<()> {
        let mut input = self.input.lock().await;
        input.write_all(bytes).await?;
        input.flush().await
    }

    /// Has tmux redraw the client's screen, for every viewer. Requests that come while one
    /// redraw runs are served together by the next.
    fn redraw(self: &Arc<Self>) {
        {
            let mut redraw = self.redraw.lock().expect("redraw");
            if redraw.running {
                redraw.again = true;
                return;
            }
            redraw.running = true;
        }
        let shared = self.clone();
        tokio::spawn(async move {
            loop {
                let spec = ExecSpec {
                    cmd: vec![
                        "sh".into(),
                        "-c".into(),
                        REFRESH_SCRIPT.into(),
                        "refresh".into(),
                        shared.marker.clone(),
                    ],
                    deadline: Some(REFRESH_DEADLINE),
                    ..Default::default()
                };
                if let Err(e) = shared.runtime.exec(&shared.container, spec).await {
                    tracing::debug!(container = shared.container, error = %e, "could not redraw a shared terminal");
                }
                let mut redraw = shared.redraw.lock().expect("redraw");
                if !std::mem::take(&mut redraw.again) || shared.state().output.is_none() {
                    redraw.running = false;
                    return;
                }
            }
        });
    }
}
