//! Deployments to Coolify and the bindings that allow them.

use craftastic_domain::{BranchName, CoolifyAppId, DeploymentId, EnvironmentId, UserId};
use craftastic_store::{
    Deployment, DeploymentBinding, DeploymentStatus, DeploymentUpdate, NewDeployment,
    NewDeploymentBinding, StoreError, StoreResult,
};

use crate::db::{Db, Row, backend, found, query, write_error};

const COLUMNS: &str = "id, environment_id, app_id, branch, status, \
     coolify_deployment_id, metadata, created_at, updated_at";

fn from_row(row: &Row) -> StoreResult<Deployment> {
    let status: String = row.get("status")?;
    Ok(Deployment {
        id: DeploymentId(row.uuid("id")?),
        environment_id: EnvironmentId(row.uuid("environment_id")?),
        app_id: CoolifyAppId::from_trusted(row.get("app_id")?),
        branch: row
            .get::<Option<String>>("branch")?
            .map(BranchName::from_trusted),
        status: DeploymentStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("deployment status {status:?}")))?,
        coolify_deployment_id: row.get("coolify_deployment_id")?,
        metadata: row.json("metadata")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

pub(crate) async fn create(db: &Db, d: NewDeployment) -> StoreResult<Deployment> {
    let row = query(format!(
        "INSERT INTO deployments (id, environment_id, app_id, branch, status,
             coolify_deployment_id, metadata, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING {COLUMNS}"
    ))
    .bind(d.id)
    .bind(d.environment_id)
    .bind(d.app_id.as_str())
    .bind(d.branch.as_str())
    .bind(d.status.as_str())
    .bind(&d.coolify_deployment_id)
    .bind(&d.metadata)
    .bind(d.now)
    .fetch_one(db)
    .await
    .map_err(write_error("deployment"))?;
    from_row(&row)
}

pub(crate) async fn get(db: &Db, id: DeploymentId) -> StoreResult<Option<Deployment>> {
    query(format!("SELECT {COLUMNS} FROM deployments WHERE id = $1"))
        .bind(id)
        .optional(db, from_row)
        .await
}

pub(crate) async fn list(db: &Db, env: EnvironmentId) -> StoreResult<Vec<Deployment>> {
    query(format!(
        "SELECT {COLUMNS} FROM deployments WHERE environment_id = $1
         ORDER BY created_at DESC, id DESC"
    ))
    .bind(env)
    .all(db, from_row)
    .await
}

pub(crate) async fn update(
    db: &Db,
    id: DeploymentId,
    update: DeploymentUpdate,
) -> StoreResult<(Deployment, UserId)> {
    let row = query(format!(
        "UPDATE deployments SET status = $1, coolify_deployment_id = $2, metadata = $3,
             updated_at = $4 WHERE id = $5
         RETURNING {COLUMNS},
             (SELECT user_id FROM environments WHERE id = deployments.environment_id) AS owner"
    ))
    .bind(update.status.as_str())
    .bind(&update.coolify_deployment_id)
    .bind(&update.metadata)
    .bind(update.now)
    .bind(id)
    .fetch_optional(db)
    .await
    .map_err(backend)?
    .ok_or(StoreError::NotFound)?;
    Ok((from_row(&row)?, UserId(row.uuid("owner")?)))
}

/// Read from the partial index on unfinished deployments, whatever the number of finished ones.
pub(crate) async fn list_unfinished(db: &Db) -> StoreResult<Vec<Deployment>> {
    query(format!(
        "SELECT {COLUMNS} FROM deployments
         WHERE status IN ('queued', 'in_progress') ORDER BY created_at, id"
    ))
    .all(db, from_row)
    .await
}

const BINDING_COLUMNS: &str = "environment_id, application_uuid, created_by, created_at";

fn binding_from_row(row: &Row) -> StoreResult<DeploymentBinding> {
    Ok(DeploymentBinding {
        environment_id: EnvironmentId(row.uuid("environment_id")?),
        app_id: CoolifyAppId::from_trusted(row.get("application_uuid")?),
        created_by: row.opt_uuid("created_by")?.map(UserId),
        created_at: row.time("created_at")?,
    })
}

pub(crate) async fn create_binding(
    db: &Db,
    b: NewDeploymentBinding,
) -> StoreResult<DeploymentBinding> {
    // A missing environment (or, in a race, the admin's account) is `NotFound`.
    let row = query(format!(
        "INSERT INTO deployment_bindings ({BINDING_COLUMNS}) VALUES ($1, $2, $3, $4)
         RETURNING {BINDING_COLUMNS}"
    ))
    .bind(b.environment_id)
    .bind(b.app_id.as_str())
    .bind(b.created_by)
    .bind(b.now)
    .fetch_one(db)
    .await
    .map_err(write_error("deployment binding"))?;
    binding_from_row(&row)
}

pub(crate) async fn get_binding(
    db: &Db,
    env: EnvironmentId,
    app: &CoolifyAppId,
) -> StoreResult<Option<DeploymentBinding>> {
    query(format!(
        "SELECT {BINDING_COLUMNS} FROM deployment_bindings
         WHERE environment_id = $1 AND application_uuid = $2"
    ))
    .bind(env)
    .bind(app.as_str())
    .optional(db, binding_from_row)
    .await
}

pub(crate) async fn list_bindings(
    db: &Db,
    env: EnvironmentId,
) -> StoreResult<Vec<DeploymentBinding>> {
    query(format!(
        "SELECT {BINDING_COLUMNS} FROM deployment_bindings WHERE environment_id = $1
         ORDER BY created_at, application_uuid"
    ))
    .bind(env)
    .all(db, binding_from_row)
    .await
}

pub(crate) async fn delete_binding(
    db: &Db,
    env: EnvironmentId,
    app: &CoolifyAppId,
) -> StoreResult<()> {
    let changed = query(
        "DELETE FROM deployment_bindings WHERE environment_id = $1 AND application_uuid = $2",
    )
    .bind(env)
    .bind(app.as_str())
    .execute(db)
    .await
    .map_err(backend)?;
    found(changed)
}
