//! The audit log: who did what to what, and how it ended. Never a secret in it.

use chrono::Utc;
use craftastic_domain::UserId;
use craftastic_store::{NewAuditEntry, Store};

/// Records one entry. A failure to write is logged, never turned into a failure of the
/// action that was audited.
pub(crate) async fn record(
    store: &dyn Store,
    user_id: Option<UserId>,
    action: &str,
    target: Option<String>,
    outcome: &str,
    details: serde_json::Value,
) {
    let entry = NewAuditEntry {
        user_id,
        action: action.into(),
        target,
        outcome: outcome.into(),
        details,
        at: Utc::now(),
    };
    if let Err(e) = store.append_audit(entry).await {
        tracing::error!(error = %e, action, "could not write audit entry");
    }
}
