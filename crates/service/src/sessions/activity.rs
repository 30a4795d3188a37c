//! Terminal activity: every keystroke notes the session's time here, and a batch goes to
//! the database every few seconds, so that typing costs no database write per keystroke.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use craftastic_domain::SessionId;

use super::Sessions;

/// The latest terminal input of each session, not yet written to the database.
#[derive(Default)]
pub struct Activity {
    pending: Mutex<HashMap<SessionId, DateTime<Utc>>>,
}

impl Activity {
    /// Notes input on the session now.
    pub fn touch(&self, id: SessionId) {
        self.pending().insert(id, Utc::now());
    }

    /// The session's input noted since the last flush, if any.
    pub(super) fn latest(&self, id: SessionId) -> Option<DateTime<Utc>> {
        self.pending().get(&id).copied()
    }

    fn take(&self) -> Vec<(SessionId, DateTime<Utc>)> {
        self.pending().drain().collect()
    }

    /// Every change to the map is one call that cannot panic halfway, so a poisoned lock
    /// still guards a consistent map.
    fn pending(&self) -> MutexGuard<'_, HashMap<SessionId, DateTime<Utc>>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Sessions {
    /// Writes the noted terminal activity to the database.
    pub async fn flush_activity(&self) {
        let batch = self.activity.take();
        if batch.is_empty() {
            return;
        }
        if let Err(e) = self.store.record_session_activity(&batch).await {
            tracing::warn!(error = %e, sessions = batch.len(), "could not record terminal activity");
        }
    }

    /// Flushes terminal activity every `period` until the handle is dropped or aborted.
    pub fn spawn_activity_flusher(
        &self,
        period: std::time::Duration,
    ) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            loop {
                tick.tick().await;
                this.flush_activity().await;
            }
        })
    }
}
