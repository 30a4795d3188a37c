//! Sessions: one tmux session each, in a workspace of an environment.

use chrono::{DateTime, Utc};
use craftastic_domain::{
    BranchName, EnvironmentId, SessionId, SessionName, UserId, WorkingDirectory, WorkspaceId,
};
use craftastic_store::{NewSession, Session, SessionStatus, SessionType, StoreError, StoreResult};

use crate::db::{Broken, Db, Row, backend, broken, found, query};

/// A session's columns, and whether it runs with older variables than its environment's
/// (1 or 0), read from its environment's row by its primary key.
pub(crate) const COLUMNS: &str = "id, environment_id, workspace_id, name, tmux_session_name, \
     working_directory, status, session_type, agent_id, git_branch, created_at, updated_at, \
     last_activity, CASE WHEN sessions.status = 'active' AND sessions.variables_version <> \
     (SELECT e.variables_version FROM environments e WHERE e.id = sessions.environment_id) \
     THEN 1 ELSE 0 END AS variables_outdated";

/// [`COLUMNS`] but `environment_id`, for sessions gathered into their environment's row
/// (which has it, and the version of its variables).
pub(crate) const GATHERED_COLUMNS: &str = "id, workspace_id, name, tmux_session_name, \
     working_directory, status, session_type, agent_id, git_branch, created_at, updated_at, \
     last_activity, CASE WHEN sessions.status = 'active' AND sessions.variables_version <> \
     environments.variables_version THEN 1 ELSE 0 END AS variables_outdated";

pub(crate) fn from_row(row: &Row) -> StoreResult<Session> {
    let status: String = row.get("status")?;
    let session_type: String = row.get("session_type")?;
    Ok(Session {
        id: SessionId(row.uuid("id")?),
        environment_id: EnvironmentId(row.uuid("environment_id")?),
        workspace_id: row.opt_uuid("workspace_id")?.map(WorkspaceId),
        name: SessionName::from_trusted(row.get("name")?),
        tmux_session_name: row.get("tmux_session_name")?,
        working_directory: WorkingDirectory::from_trusted(row.get("working_directory")?),
        status: SessionStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("status {status:?}")))?,
        session_type: SessionType::parse(&session_type)
            .ok_or_else(|| StoreError::Corrupt(format!("session type {session_type:?}")))?,
        agent_id: row.opt_uuid("agent_id")?,
        git_branch: BranchName::from_trusted(row.get("git_branch")?),
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
        last_activity: row.opt_time("last_activity")?,
        variables_outdated: row.get::<i32>("variables_outdated")? != 0,
    })
}

/// Maps a failed session write: a missing environment, workspace or agent is `NotFound`, and
/// each unique rule its own `Conflict`. PostgreSQL names the constraint
/// (`sessions_tmux_session_name_key`), SQLite the columns (`sessions.tmux_session_name`).
fn write_error(e: sqlx::Error) -> StoreError {
    match broken(&e) {
        Broken::ForeignKey => StoreError::NotFound,
        Broken::Unique(rule) if rule.contains("tmux_session_name") => {
            StoreError::Conflict("tmux session name")
        }
        Broken::Unique(rule) if rule.contains("name") => StoreError::Conflict("session name"),
        Broken::Unique(_) => StoreError::Conflict("session"),
        Broken::Other => backend(e),
    }
}

pub(crate) async fn create(db: &Db, session: NewSession) -> StoreResult<Session> {
    let row = query(format!(
        "INSERT INTO sessions (id, environment_id, workspace_id, name, tmux_session_name,
             working_directory, status, session_type, agent_id, git_branch, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $8, $9, $10, $10)
         RETURNING {COLUMNS}"
    ))
    .bind(session.id)
    .bind(session.environment_id)
    .bind(session.workspace_id)
    .bind(session.name.as_str())
    .bind(&session.tmux_session_name)
    .bind(session.working_directory.as_str())
    .bind(session.session_type.as_str())
    .bind(session.agent_id)
    .bind(session.git_branch.as_str())
    .bind(session.now)
    .fetch_one(db)
    .await
    .map_err(write_error)?;
    from_row(&row)
}

pub(crate) async fn get(db: &Db, id: SessionId) -> StoreResult<Option<Session>> {
    query(format!("SELECT {COLUMNS} FROM sessions WHERE id = $1"))
        .bind(id)
        .optional(db, from_row)
        .await
}

/// The environment's sessions, or every session of the server.
pub(crate) async fn list(db: &Db, env: Option<EnvironmentId>) -> StoreResult<Vec<Session>> {
    let q = match env {
        Some(env) => query(format!(
            "SELECT {COLUMNS} FROM sessions WHERE environment_id = $1 ORDER BY created_at, id"
        ))
        .bind(env),
        None => query(format!(
            "SELECT {COLUMNS} FROM sessions ORDER BY created_at, id"
        )),
    };
    q.all(db, from_row).await
}

/// The sessions of every environment of the user, through the user's environments.
pub(crate) async fn list_of_user(db: &Db, user: UserId) -> StoreResult<Vec<Session>> {
    query(format!(
        "SELECT {COLUMNS} FROM sessions
         WHERE environment_id IN (SELECT id FROM environments WHERE user_id = $1)
         ORDER BY created_at, id"
    ))
    .bind(user)
    .all(db, from_row)
    .await
}

pub(crate) async fn name_taken(
    db: &Db,
    env: EnvironmentId,
    name: &SessionName,
) -> StoreResult<bool> {
    query("SELECT EXISTS (SELECT 1 FROM sessions WHERE environment_id = $1 AND name = $2) AS taken")
        .bind(env)
        .bind(name.as_str())
        .fetch_one(db)
        .await
        .map_err(backend)?
        .get("taken")
}

pub(crate) async fn rename(
    db: &Db,
    id: SessionId,
    name: &SessionName,
    now: DateTime<Utc>,
) -> StoreResult<Session> {
    let row = query(format!(
        "UPDATE sessions SET name = $1, updated_at = $2 WHERE id = $3 RETURNING {COLUMNS}"
    ))
    .bind(name.as_str())
    .bind(now)
    .bind(id)
    .fetch_optional(db)
    .await
    .map_err(write_error)?
    .ok_or(StoreError::NotFound)?;
    from_row(&row)
}

pub(crate) async fn set_status(
    db: &Db,
    id: SessionId,
    status: SessionStatus,
    now: DateTime<Utc>,
) -> StoreResult<(EnvironmentId, UserId)> {
    let row = query(
        "UPDATE sessions SET status = $1, updated_at = $2 WHERE id = $3
         RETURNING environment_id,
             (SELECT user_id FROM environments WHERE id = sessions.environment_id) AS owner",
    )
    .bind(status.as_str())
    .bind(now)
    .bind(id)
    .fetch_optional(db)
    .await
    .map_err(backend)?
    .ok_or(StoreError::NotFound)?;
    Ok((
        EnvironmentId(row.uuid("environment_id")?),
        UserId(row.uuid("owner")?),
    ))
}

pub(crate) async fn set_variables_version(db: &Db, id: SessionId, version: i64) -> StoreResult<()> {
    let changed = query("UPDATE sessions SET variables_version = $1 WHERE id = $2")
        .bind(version)
        .bind(id)
        .execute(db)
        .await
        .map_err(backend)?;
    found(changed)
}

pub(crate) async fn record_activity(
    db: &Db,
    activity: &[(SessionId, DateTime<Utc>)],
) -> StoreResult<()> {
    if activity.is_empty() {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    for (id, at) in activity {
        // SQLite's fixed-width UTC text compares as the times it holds.
        query(
            "UPDATE sessions SET last_activity = $1
             WHERE id = $2 AND (last_activity IS NULL OR last_activity < $1)",
        )
        .bind(*at)
        .bind(*id)
        .execute(&mut tx)
        .await
        .map_err(backend)?;
    }
    tx.commit().await
}

pub(crate) async fn delete(db: &Db, id: SessionId) -> StoreResult<()> {
    let changed = query("DELETE FROM sessions WHERE id = $1")
        .bind(id)
        .execute(db)
        .await
        .map_err(backend)?;
    found(changed)
}
