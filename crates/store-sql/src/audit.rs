//! The audit log, and the record of which encryption keys sealed what.

use std::collections::BTreeSet;

use chrono::Utc;
use craftastic_domain::UserId;
use craftastic_store::{AuditEntry, NewAuditEntry, StoreResult};

use crate::db::{Db, Row, backend, query};

fn from_row(row: &Row) -> StoreResult<AuditEntry> {
    Ok(AuditEntry {
        id: row.get("id")?,
        user_id: row.opt_uuid("user_id")?.map(UserId),
        action: row.get("action")?,
        target: row.get("target")?,
        outcome: row.get("outcome")?,
        details: row.json("details")?,
        at: row.time("at")?,
    })
}

pub(crate) async fn append(db: &Db, entry: NewAuditEntry) -> StoreResult<()> {
    query(
        "INSERT INTO audit_log (user_id, action, target, outcome, details, at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(entry.user_id)
    .bind(entry.action)
    .bind(entry.target)
    .bind(entry.outcome)
    .bind(&entry.details)
    .bind(entry.at)
    .execute(db)
    .await
    .map_err(backend)?;
    Ok(())
}

/// The newest entries first: the user's from the index on `(user_id, id)`, or everyone's.
pub(crate) async fn list(
    db: &Db,
    user: Option<UserId>,
    limit: i64,
) -> StoreResult<Vec<AuditEntry>> {
    const SELECT: &str = "SELECT id, user_id, action, target, outcome, details, at FROM audit_log";
    let q = match user {
        Some(user) => query(format!(
            "{SELECT} WHERE user_id = $1 ORDER BY id DESC LIMIT $2"
        ))
        .bind(user)
        .bind(limit),
        None => query(format!("{SELECT} ORDER BY id DESC LIMIT $1")).bind(limit),
    };
    q.all(db, from_row).await
}

/// The key ids in front of every sealed value (`<key id>.<ciphertext>`), canaries included.
pub(crate) async fn secret_key_ids(db: &Db) -> StoreResult<Vec<String>> {
    let rows = query(
        "SELECT github_token AS sealed FROM users WHERE github_token IS NOT NULL
         UNION SELECT sealed_value FROM agent_credentials
         UNION SELECT sealed_value FROM environment_variables WHERE sealed_value IS NOT NULL
         UNION SELECT key_id || '.' FROM encryption_canaries",
    )
    .fetch_all(db)
    .await
    .map_err(backend)?;
    let mut ids = BTreeSet::new();
    for row in rows {
        let sealed: String = row.get("sealed")?;
        let id = sealed.split_once('.').map_or("", |(id, _)| id);
        ids.insert(id.to_owned());
    }
    Ok(ids.into_iter().collect())
}

pub(crate) async fn key_canary(db: &Db, key_id: &str) -> StoreResult<Option<String>> {
    match query("SELECT sealed FROM encryption_canaries WHERE key_id = $1")
        .bind(key_id)
        .fetch_optional(db)
        .await
        .map_err(backend)?
    {
        Some(row) => row.get("sealed").map(Some),
        None => Ok(None),
    }
}

pub(crate) async fn put_key_canary(db: &Db, key_id: &str, sealed: &str) -> StoreResult<()> {
    query(
        "INSERT INTO encryption_canaries (key_id, sealed, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (key_id) DO NOTHING",
    )
    .bind(key_id)
    .bind(sealed)
    .bind(Utc::now())
    .execute(db)
    .await
    .map_err(backend)?;
    Ok(())
}
