//! Workspaces: one per branch of an environment (invariant I1).

use chrono::Utc;
use craftastic_domain::{BranchName, EnvironmentId, UserId, WorkspaceId};
use craftastic_store::{DiskUsage, StoreError, StoreResult, Workspace, WorkspaceStatus};

use crate::db::{Db, Row, backend, query, write_error};

pub(crate) const COLUMNS: &str = "id, environment_id, branch, container_id, status, error, \
     disk_bytes, disk_limit_bytes, disk_measured_at, created_at, updated_at";

/// [`COLUMNS`] but `environment_id`, for workspaces gathered into their environment's row
/// (which has it).
pub(crate) const GATHERED_COLUMNS: &str = "id, branch, container_id, status, error, \
     disk_bytes, disk_limit_bytes, disk_measured_at, created_at, updated_at";

pub(crate) fn from_row(row: &Row) -> StoreResult<Workspace> {
    let status: String = row.get("status")?;
    let disk = match (
        row.get::<Option<i64>>("disk_bytes")?,
        row.opt_time("disk_measured_at")?,
    ) {
        (Some(bytes), Some(measured_at)) => Some(DiskUsage {
            bytes,
            limit_bytes: row.get("disk_limit_bytes")?,
            measured_at,
        }),
        _ => None,
    };
    Ok(Workspace {
        id: WorkspaceId(row.uuid("id")?),
        environment_id: EnvironmentId(row.uuid("environment_id")?),
        branch: BranchName::from_trusted(row.get("branch")?),
        container_id: row.get("container_id")?,
        status: WorkspaceStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("status {status:?}")))?,
        error: row.get("error")?,
        disk,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

pub(crate) async fn create(
    db: &Db,
    env: EnvironmentId,
    branch: &BranchName,
    id: WorkspaceId,
) -> StoreResult<Workspace> {
    let row = query(format!(
        "INSERT INTO workspaces (id, environment_id, branch, status, created_at, updated_at)
         VALUES ($1, $2, $3, 'creating', $4, $4) RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(env)
    .bind(branch.as_str())
    .bind(Utc::now())
    .fetch_one(db)
    .await
    .map_err(write_error("workspace"))?;
    from_row(&row)
}

pub(crate) async fn get(
    db: &Db,
    env: EnvironmentId,
    branch: &BranchName,
) -> StoreResult<Option<Workspace>> {
    query(format!(
        "SELECT {COLUMNS} FROM workspaces WHERE environment_id = $1 AND branch = $2"
    ))
    .bind(env)
    .bind(branch.as_str())
    .optional(db, from_row)
    .await
}

/// The environment's workspaces, or every workspace of the server.
pub(crate) async fn list(db: &Db, env: Option<EnvironmentId>) -> StoreResult<Vec<Workspace>> {
    let q = match env {
        Some(env) => query(format!(
            "SELECT {COLUMNS} FROM workspaces WHERE environment_id = $1 ORDER BY created_at, id"
        ))
        .bind(env),
        None => query(format!(
            "SELECT {COLUMNS} FROM workspaces ORDER BY created_at, id"
        )),
    };
    q.all(db, from_row).await
}

/// The running workspaces, through their partial index (whose condition the statement
/// repeats word for word, so that both databases use it).
pub(crate) async fn list_running(db: &Db) -> StoreResult<Vec<Workspace>> {
    query(format!(
        "SELECT {COLUMNS} FROM workspaces WHERE status = 'running' ORDER BY created_at, id"
    ))
    .all(db, from_row)
    .await
}

pub(crate) async fn set_state(
    db: &Db,
    id: WorkspaceId,
    status: WorkspaceStatus,
    container_id: Option<&str>,
    error: Option<&str>,
) -> StoreResult<(EnvironmentId, UserId)> {
    let row = query(
        "UPDATE workspaces SET status = $1, container_id = $2, error = $3, updated_at = $4
         WHERE id = $5
         RETURNING environment_id,
             (SELECT user_id FROM environments WHERE id = workspaces.environment_id) AS owner",
    )
    .bind(status.as_str())
    .bind(container_id)
    .bind(error)
    .bind(Utc::now())
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

pub(crate) async fn delete(db: &Db, id: WorkspaceId) -> StoreResult<()> {
    query("DELETE FROM workspaces WHERE id = $1")
        .bind(id)
        .execute(db)
        .await
        .map_err(backend)?;
    Ok(())
}

pub(crate) async fn set_disk(db: &Db, id: WorkspaceId, usage: DiskUsage) -> StoreResult<()> {
    query(
        "UPDATE workspaces SET disk_bytes = $1, disk_limit_bytes = $2, disk_measured_at = $3
         WHERE id = $4",
    )
    .bind(usage.bytes)
    .bind(usage.limit_bytes)
    .bind(usage.measured_at)
    .bind(id)
    .execute(db)
    .await
    .map_err(backend)?;
    Ok(())
}
