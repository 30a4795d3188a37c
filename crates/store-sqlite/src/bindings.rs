//! Deployment bindings: which Coolify applications an environment may deploy.

use craftastic_domain::{CoolifyAppId, EnvironmentId, UserId};
use craftastic_store::{DeploymentBinding, NewDeploymentBinding, StoreError, StoreResult};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};

use super::{backend, conflict, parse_ts, parse_uuid, ts};

const COLUMNS: &str = "environment_id, application_uuid, created_by, created_at";

fn from_row(row: &SqliteRow) -> StoreResult<DeploymentBinding> {
    let created_by: Option<String> = row.get("created_by");
    Ok(DeploymentBinding {
        environment_id: EnvironmentId(parse_uuid(row.get("environment_id"))?),
        app_id: CoolifyAppId::from_trusted(row.get("application_uuid")),
        created_by: created_by
            .as_deref()
            .map(parse_uuid)
            .transpose()?
            .map(UserId),
        created_at: parse_ts(row.get("created_at"))?,
    })
}

pub(super) async fn create(
    pool: &SqlitePool,
    b: NewDeploymentBinding,
) -> StoreResult<DeploymentBinding> {
    let sql = format!(
        "INSERT INTO deployment_bindings ({COLUMNS}) VALUES (?1, ?2, ?3, ?4) RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(b.environment_id.to_string())
        .bind(b.app_id.as_str())
        .bind(b.created_by.to_string())
        .bind(ts(b.now))
        .fetch_one(pool)
        .await
        .map_err(|e| match &e {
            // The environment is gone, or (a race) the admin's account.
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
            _ => conflict("deployment binding")(e),
        })?;
    from_row(&row)
}

pub(super) async fn get(
    pool: &SqlitePool,
    env: EnvironmentId,
    app: &CoolifyAppId,
) -> StoreResult<Option<DeploymentBinding>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM deployment_bindings WHERE environment_id = ?1 AND application_uuid = ?2"
    );
    let row = sqlx::query(&sql)
        .bind(env.to_string())
        .bind(app.as_str())
        .fetch_optional(pool)
        .await
        .map_err(backend)?;
    row.as_ref().map(from_row).transpose()
}

pub(super) async fn list(
    pool: &SqlitePool,
    env: EnvironmentId,
) -> StoreResult<Vec<DeploymentBinding>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM deployment_bindings WHERE environment_id = ?1
         ORDER BY created_at, application_uuid"
    );
    let rows = sqlx::query(&sql)
        .bind(env.to_string())
        .fetch_all(pool)
        .await
        .map_err(backend)?;
    rows.iter().map(from_row).collect()
}

pub(super) async fn delete(
    pool: &SqlitePool,
    env: EnvironmentId,
    app: &CoolifyAppId,
) -> StoreResult<()> {
    let done = sqlx::query(
        "DELETE FROM deployment_bindings WHERE environment_id = ?1 AND application_uuid = ?2",
    )
    .bind(env.to_string())
    .bind(app.as_str())
    .execute(pool)
    .await
    .map_err(backend)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
