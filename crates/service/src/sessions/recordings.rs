//! Recordings: every session's output, kept as asciicast v2 in its container whether or not
//! anyone watches it, and read back for a replay.
//!
//! The server sees a session's output only while someone views it, so the recording is
//! made inside the container: when a tmux session starts (`start.sh`), and for the tmux
//! sessions that already run when a container's watcher starts (`watch.sh`), `record.sh`
//! pipes the pane's output (`tmux pipe-pane`) into `recorder.sh`, which timestamps it and
//! keeps about [`RecordingSettings::limit`] bytes of it in gzip segments, dropping the
//! oldest. No exec is added per session: both scripts run anyway.
//!
//! Reading one back is one exec (`read.sh`), whose output is hostile input: it is kept
//! within a bound, and [`asciicast`] decompresses it within a budget and lets only valid
//! events through; the answer never holds more than the limit of events.

mod asciicast;

use std::sync::Arc;
use std::time::Duration;

use craftastic_domain::{ErrorCode, SessionId};
use craftastic_runtime::{ExecSpec, RuntimeError};
use tokio::sync::Semaphore;

use super::{Sessions, last_line};
use crate::tokens::Principal;
use crate::{ServiceError, ServiceResult, access};
pub use asciicast::Recording;

/// The recorder a tmux session's output is piped into.
pub(super) const RECORDER: &str = include_str!("recordings/recorder.sh");
const READ: &str = include_str!("recordings/read.sh");

/// Bytes of recording kept per session when the setting does not say.
pub const DEFAULT_LIMIT: u64 = 8 << 20;
/// The smallest limit, other than 0 (off): a recorder keeps segments of an eighth of it,
/// and of at least 16 KiB.
pub const MIN_LIMIT: u64 = 128 << 10;
pub const MAX_LIMIT: u64 = 256 << 20;
/// What a part may overshoot the limit by: the recorder finishes a part after the chunk
/// that fills it (64 KiB read, each byte at most six in JSON).
const SLACK: usize = 1 << 20;
/// How long reading a recording may take in the container.
const READ_DEADLINE: Duration = Duration::from_secs(20);
/// Recordings read and assembled at once; each holds up to a few times the limit in memory.
const AT_ONCE: usize = 4;
/// How long a request waits for its turn before it answers 503.
const WAIT: Duration = Duration::from_secs(5);

/// How sessions are recorded.
#[derive(Debug, Clone)]
pub struct RecordingSettings {
    /// Bytes of asciicast kept per session (the newest); 0 turns recording off. It bounds
    /// the answer too.
    pub limit: u64,
}

impl Default for RecordingSettings {
    fn default() -> Self {
        Self {
            limit: DEFAULT_LIMIT,
        }
    }
}

/// The reads of recordings under way on this server.
#[derive(Clone)]
pub(super) struct Readers(Arc<Semaphore>);

impl Default for Readers {
    fn default() -> Self {
        Self(Arc::new(Semaphore::new(AT_ONCE)))
    }
}

impl Sessions {
    /// The session's recording as asciicast v2: its newest output, up to the limit.
    /// Needs: the session's workspace runs (its files are in the container).
    /// Fails: no such session, or not the caller's → 404; the workspace is not running →
    /// 409 `not_running`; recordings are off, or the container has none for it (an image
    /// without perl or gzip) → 409 `not_recorded`; the container printed more than a
    /// recording can hold → 409 `output_too_large`; too many recordings being read → 503
    /// `busy`; the engine failed or reading took over 20 s → 502.
    pub async fn recording(&self, who: Principal, id: SessionId) -> ServiceResult<Recording> {
        let (session, env) = access::session(self.store.as_ref(), who, id).await?;
        let branch = &session.git_branch;
        let container = self
            .running_container_of(&env, &session)
            .await?
            .ok_or_else(|| ServiceError::Conflict {
                code: ErrorCode::NotRunning,
                message: format!(
                    "the workspace of {branch} is not running, and a session's recording is kept in it; open the session (or start the environment) to read it"
                ),
            })?;
        let limit = self.settings.recording.limit as usize;
        if limit == 0 {
            return Err(not_recorded(
                "recordings are off on this server (SESSION_RECORDING_LIMIT is 0)".into(),
            ));
        }
        let _turn = tokio::time::timeout(WAIT, self.readers.0.clone().acquire_owned())
            .await
            .ok()
            .and_then(Result::ok)
            .ok_or_else(|| ServiceError::Busy {
                message: "too many recordings are being read at once; try again in a moment".into(),
                retry_after: 2,
            })?;
        let budget = limit + SLACK;
        let spec = ExecSpec {
            cmd: ["sh", "-c", READ, "read"]
                .into_iter()
                .map(str::to_owned)
                .chain([session.tmux_session_name.clone(), budget.to_string()])
                .collect(),
            deadline: Some(READ_DEADLINE),
            stdout_limit: Some(budget + (64 << 10)),
            ..Default::default()
        };
        let out = self
            .runtime
            .exec(&container, spec)
            .await
            .map_err(|e| match e {
                RuntimeError::Deadline(_) => ServiceError::Upstream(format!(
                    "reading the recording took longer than {} seconds in the workspace and was stopped",
                    READ_DEADLINE.as_secs()
                )),
                other => other.into(),
            })?;
        match out.code {
            0 => {}
            3 => {
                return Err(not_recorded(format!(
                    "the session {} has no recording in its workspace yet; its output is recorded from when it starts, if the workspace image has perl and gzip",
                    session.name
                )));
            }
            127 => {
                return Err(not_recorded(
                    "the workspace image has no perl, which records and reads recordings; use an image based on Debian or Ubuntu, or add perl and gzip to it".into(),
                ));
            }
            code => {
                return Err(ServiceError::Upstream(format!(
                    "reading the recording failed in the workspace (exit {code}): {}",
                    last_line(&out)
                )));
            }
        }
        if out.stdout_cut {
            return Err(ServiceError::Conflict {
                code: ErrorCode::OutputTooLarge,
                message: format!(
                    "the workspace gave more than the {} MiB a recording may hold; its recording was not read",
                    (budget >> 20) + 1
                ),
            });
        }
        let title = session.name.to_string();
        let now = chrono::Utc::now().timestamp();
        let recording = tokio::task::spawn_blocking(move || {
            asciicast::assemble(&out.stdout, budget, limit, &title, now)
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("assembling a recording: {e}")))?;
        if recording.invalid_lines > 0 {
            tracing::warn!(session = %id, lines = recording.invalid_lines, "the recording held lines that are not asciicast events; they were left out");
        }
        Ok(recording)
    }
}

fn not_recorded(message: String) -> ServiceError {
    ServiceError::Conflict {
        code: ErrorCode::NotRecorded,
        message,
    }
}
