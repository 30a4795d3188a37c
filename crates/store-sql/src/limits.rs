//! Usage counts and per-user limits. Every count is scoped by owner and goes through the
//! indexes on `environments (user_id, …)` and the children's `environment_id`, so that its
//! cost grows with the user's own rows only.

use chrono::{DateTime, Utc};
use craftastic_domain::UserId;
use craftastic_store::{LimitOverrides, StoreError, StoreResult, Usage, UserWithUsage};

use crate::db::{Broken, Db, Row, backend, broken, query};
use crate::users;

/// The four counts of one user, whose id is `{user}` (a column or a parameter).
fn usage_columns(user: &str) -> String {
    format!(
        "(SELECT COUNT(*) FROM environments e WHERE e.user_id = {user}) AS environments,
         (SELECT COUNT(*) FROM environments e JOIN workspaces w ON w.environment_id = e.id
             WHERE e.user_id = {user} AND w.status IN ('creating', 'running')) AS running_workspaces,
         (SELECT COUNT(*) FROM environments e JOIN sessions s ON s.environment_id = e.id
             WHERE e.user_id = {user}) AS sessions,
         (SELECT COUNT(*) FROM environments e JOIN deployments d ON d.environment_id = e.id
             WHERE e.user_id = {user} AND d.status IN ('queued', 'in_progress')) AS deployments_in_flight"
    )
}

fn usage_from_row(row: &Row) -> StoreResult<Usage> {
    Ok(Usage {
        environments: row.get("environments")?,
        running_workspaces: row.get("running_workspaces")?,
        sessions: row.get("sessions")?,
        deployments_in_flight: row.get("deployments_in_flight")?,
    })
}

const LIMIT_COLUMNS: &str = "l.environments AS max_environments, \
     l.running_workspaces AS max_running_workspaces, l.sessions AS max_sessions, \
     l.terminals AS max_terminals, l.deployments_in_flight AS max_deployments_in_flight, \
     l.updated_at AS limits_updated_at";

fn overrides_from_row(row: &Row) -> StoreResult<LimitOverrides> {
    Ok(LimitOverrides {
        environments: row.get("max_environments")?,
        running_workspaces: row.get("max_running_workspaces")?,
        sessions: row.get("max_sessions")?,
        terminals: row.get("max_terminals")?,
        deployments_in_flight: row.get("max_deployments_in_flight")?,
    })
}

pub(crate) async fn usage(db: &Db, user: UserId) -> StoreResult<Usage> {
    let row = query(format!("SELECT {}", usage_columns("$1")))
        .bind(user)
        .fetch_one(db)
        .await
        .map_err(backend)?;
    usage_from_row(&row)
}

pub(crate) async fn overrides(db: &Db, user: UserId) -> StoreResult<LimitOverrides> {
    let row = query(format!(
        "SELECT {LIMIT_COLUMNS} FROM user_limits l WHERE l.user_id = $1"
    ))
    .bind(user)
    .fetch_optional(db)
    .await
    .map_err(backend)?;
    row.as_ref()
        .map(overrides_from_row)
        .transpose()
        .map(Option::unwrap_or_default)
}

pub(crate) async fn set_overrides(
    db: &Db,
    user: UserId,
    limits: LimitOverrides,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let exists: bool = query("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1) AS found")
        .bind(user)
        .fetch_one(db)
        .await
        .map_err(backend)?
        .get("found")?;
    if !exists {
        return Err(StoreError::NotFound);
    }
    if limits.is_empty() {
        query("DELETE FROM user_limits WHERE user_id = $1")
            .bind(user)
            .execute(db)
            .await
            .map_err(backend)?;
        return Ok(());
    }
    query(
        "INSERT INTO user_limits (user_id, environments, running_workspaces, sessions, terminals,
             deployments_in_flight, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (user_id) DO UPDATE SET environments = excluded.environments,
             running_workspaces = excluded.running_workspaces, sessions = excluded.sessions,
             terminals = excluded.terminals,
             deployments_in_flight = excluded.deployments_in_flight,
             updated_at = excluded.updated_at",
    )
    .bind(user)
    .bind(limits.environments)
    .bind(limits.running_workspaces)
    .bind(limits.sessions)
    .bind(limits.terminals)
    .bind(limits.deployments_in_flight)
    .bind(now)
    .execute(db)
    .await
    .map_err(|e| match broken(&e) {
        // The user was deleted between the check and the write.
        Broken::ForeignKey => StoreError::NotFound,
        _ => backend(e),
    })?;
    Ok(())
}

/// A page of users in the order of the index on `(created_at, id)`.
pub(crate) async fn list_users_with_usage(
    db: &Db,
    offset: i64,
    limit: i64,
) -> StoreResult<Vec<UserWithUsage>> {
    let user_columns = users::COLUMNS
        .split(", ")
        .map(|c| format!("u.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = query(format!(
        "SELECT {user_columns}, {LIMIT_COLUMNS}, {}
         FROM users u LEFT JOIN user_limits l ON l.user_id = u.id
         ORDER BY u.created_at, u.id LIMIT $1 OFFSET $2",
        usage_columns("u.id")
    ))
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await
    .map_err(backend)?;
    rows.iter()
        .map(|row| {
            Ok(UserWithUsage {
                user: users::from_row(row)?,
                usage: usage_from_row(row)?,
                overrides: overrides_from_row(row)?,
                limits_updated_at: row.opt_time("limits_updated_at")?,
            })
        })
        .collect()
}
