//! Environments: their egress policies, idle stops and sizes.

use chrono::{DateTime, Utc};
use craftastic_domain::{
    BranchName, EgressPolicy, EnvironmentId, EnvironmentName, EnvironmentSize, IdleStopMinutes,
    RepositoryUrl, UserId,
};
use craftastic_store::{
    Environment, EnvironmentContents, EnvironmentStatus, NewEnvironment, StoreError, StoreResult,
};

use crate::db::{Db, Row, backend, conflict, query};
use crate::{sessions, workspaces};

const COLUMNS: &str = "id, user_id, name, repository_url, branch, status, error, \
     egress_mode, egress_hosts, idle_stop_minutes, memory_bytes, nano_cpus, disk_bytes, \
     variables_version, created_at, updated_at";

fn from_row(row: &Row) -> StoreResult<Environment> {
    let status: String = row.get("status")?;
    let mode: String = row.get("egress_mode")?;
    Ok(Environment {
        id: EnvironmentId(row.uuid("id")?),
        user_id: UserId(row.uuid("user_id")?),
        name: EnvironmentName::from_trusted(row.get("name")?),
        repository_url: row
            .get::<Option<String>>("repository_url")?
            .map(RepositoryUrl::from_trusted),
        branch: BranchName::from_trusted(row.get("branch")?),
        status: EnvironmentStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("status {status:?}")))?,
        error: row.get("error")?,
        egress: EgressPolicy::from_trusted(&mode, row.text_list("egress_hosts")?)
            .ok_or_else(|| StoreError::Corrupt(format!("egress mode {mode:?}")))?,
        idle_stop: IdleStopMinutes::from_trusted(row.get("idle_stop_minutes")?),
        size: EnvironmentSize {
            memory_bytes: row.get("memory_bytes")?,
            nano_cpus: row.get("nano_cpus")?,
            disk_bytes: row.get("disk_bytes")?,
        },
        variables_version: row.get("variables_version")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

fn egress_hosts(egress: &EgressPolicy) -> Vec<String> {
    egress
        .hosts()
        .iter()
        .map(|h| h.as_str().to_owned())
        .collect()
}

pub(crate) async fn create(db: &Db, env: NewEnvironment) -> StoreResult<Environment> {
    let row = query(format!(
        "INSERT INTO environments (id, user_id, name, repository_url, branch, status,
             egress_mode, egress_hosts, idle_stop_minutes, memory_bytes, nano_cpus, disk_bytes,
             created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 'creating', $6, $7, $8, $9, $10, $11, $12, $12)
         RETURNING {COLUMNS}"
    ))
    .bind(env.id)
    .bind(env.user_id)
    .bind(env.name.as_str())
    .bind(env.repository_url.as_ref().map(|u| u.as_str()))
    .bind(env.branch.as_str())
    .bind(env.egress.mode())
    .bind(egress_hosts(&env.egress))
    .bind(i64::from(env.idle_stop.minutes()))
    .bind(env.size.memory_bytes)
    .bind(env.size.nano_cpus)
    .bind(env.size.disk_bytes)
    .bind(env.now)
    .fetch_one(db)
    .await
    .map_err(conflict("environment name"))?;
    from_row(&row)
}

pub(crate) async fn get(db: &Db, id: EnvironmentId) -> StoreResult<Option<Environment>> {
    query(format!("SELECT {COLUMNS} FROM environments WHERE id = $1"))
        .bind(id)
        .optional(db, from_row)
        .await
}

/// `SELECT` of the environments `filter` chooses, oldest first, each with its workspaces and
/// sessions gathered (through their indexes on `environment_id`) into `workspace_rows` and
/// `session_rows`, without the `environment_id` that the environment's row has.
fn contents_sql(db: &Db, filter: &str) -> String {
    let workspaces = db.json_rows(
        workspaces::GATHERED_COLUMNS,
        "workspaces WHERE environment_id = environments.id",
        "created_at, id",
    );
    let sessions = db.json_rows(
        sessions::GATHERED_COLUMNS,
        "sessions WHERE environment_id = environments.id",
        "created_at, id",
    );
    format!(
        "SELECT {COLUMNS}, {workspaces} AS workspace_rows, {sessions} AS session_rows \
         FROM environments WHERE {filter} ORDER BY created_at, id"
    )
}

fn contents_from_row(row: &Row) -> StoreResult<EnvironmentContents> {
    let environment = from_row(row)?;
    let parent = ("environment_id", environment.id.0.to_string());
    let parent = (parent.0, parent.1.as_str());
    Ok(EnvironmentContents {
        workspaces: row.gathered(
            "workspace_rows",
            workspaces::GATHERED_COLUMNS,
            parent,
            workspaces::from_row,
        )?,
        sessions: row.gathered(
            "session_rows",
            sessions::GATHERED_COLUMNS,
            parent,
            sessions::from_row,
        )?,
        environment,
    })
}

pub(crate) async fn get_contents(
    db: &Db,
    id: EnvironmentId,
) -> StoreResult<Option<EnvironmentContents>> {
    query(contents_sql(db, "id = $1"))
        .bind(id)
        .optional(db, contents_from_row)
        .await
}

pub(crate) async fn list_contents(db: &Db, user: UserId) -> StoreResult<Vec<EnvironmentContents>> {
    query(contents_sql(db, "user_id = $1"))
        .bind(user)
        .all(db, contents_from_row)
        .await
}

/// The user's environments (from the index on `user_id, created_at`), or every one.
pub(crate) async fn list(db: &Db, user: Option<UserId>) -> StoreResult<Vec<Environment>> {
    let q = match user {
        Some(user) => query(format!(
            "SELECT {COLUMNS} FROM environments WHERE user_id = $1 ORDER BY created_at, id"
        ))
        .bind(user),
        None => query(format!(
            "SELECT {COLUMNS} FROM environments ORDER BY created_at, id"
        )),
    };
    q.all(db, from_row).await
}

pub(crate) async fn name_taken(db: &Db, user: UserId, name: &str) -> StoreResult<bool> {
    query("SELECT EXISTS (SELECT 1 FROM environments WHERE user_id = $1 AND name = $2) AS taken")
        .bind(user)
        .bind(name)
        .fetch_one(db)
        .await
        .map_err(backend)?
        .get("taken")
}

pub(crate) async fn set_status(
    db: &Db,
    id: EnvironmentId,
    status: EnvironmentStatus,
    error: Option<&str>,
) -> StoreResult<UserId> {
    let row = query(
        "UPDATE environments SET status = $1, error = $2, updated_at = $3 WHERE id = $4
         RETURNING user_id",
    )
    .bind(status.as_str())
    .bind(error)
    .bind(Utc::now())
    .bind(id)
    .fetch_optional(db)
    .await
    .map_err(backend)?
    .ok_or(StoreError::NotFound)?;
    Ok(UserId(row.uuid("user_id")?))
}

pub(crate) async fn set_branch(db: &Db, id: EnvironmentId, branch: &BranchName) -> StoreResult<()> {
    query("UPDATE environments SET branch = $1, updated_at = $2 WHERE id = $3")
        .bind(branch.as_str())
        .bind(Utc::now())
        .bind(id)
        .execute(db)
        .await
        .map_err(backend)?;
    Ok(())
}

pub(crate) async fn set_egress(
    db: &Db,
    id: EnvironmentId,
    egress: &EgressPolicy,
    now: DateTime<Utc>,
) -> StoreResult<Environment> {
    let row = query(format!(
        "UPDATE environments SET egress_mode = $1, egress_hosts = $2, updated_at = $3
         WHERE id = $4 RETURNING {COLUMNS}"
    ))
    .bind(egress.mode())
    .bind(egress_hosts(egress))
    .bind(now)
    .bind(id)
    .fetch_optional(db)
    .await
    .map_err(backend)?
    .ok_or(StoreError::NotFound)?;
    from_row(&row)
}

pub(crate) async fn set_idle_stop(
    db: &Db,
    id: EnvironmentId,
    idle_stop: IdleStopMinutes,
    now: DateTime<Utc>,
) -> StoreResult<Environment> {
    let row = query(format!(
        "UPDATE environments SET idle_stop_minutes = $1, updated_at = $2
         WHERE id = $3 RETURNING {COLUMNS}"
    ))
    .bind(i64::from(idle_stop.minutes()))
    .bind(now)
    .bind(id)
    .fetch_optional(db)
    .await
    .map_err(backend)?
    .ok_or(StoreError::NotFound)?;
    from_row(&row)
}

pub(crate) async fn set_size(
    db: &Db,
    id: EnvironmentId,
    size: EnvironmentSize,
    now: DateTime<Utc>,
) -> StoreResult<Environment> {
    let row = query(format!(
        "UPDATE environments SET memory_bytes = $1, nano_cpus = $2, disk_bytes = $3,
             updated_at = $4
         WHERE id = $5 RETURNING {COLUMNS}"
    ))
    .bind(size.memory_bytes)
    .bind(size.nano_cpus)
    .bind(size.disk_bytes)
    .bind(now)
    .bind(id)
    .fetch_optional(db)
    .await
    .map_err(backend)?
    .ok_or(StoreError::NotFound)?;
    from_row(&row)
}

pub(crate) async fn delete(db: &Db, id: EnvironmentId) -> StoreResult<()> {
    query("DELETE FROM environments WHERE id = $1")
        .bind(id)
        .execute(db)
        .await
        .map_err(backend)?;
    Ok(())
}
