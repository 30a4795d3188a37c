//! Each environment's variables: plain values and sealed secrets in the order they were
//! given, and the version that counts their changes (on the environment's row).

use chrono::{DateTime, Utc};
use craftastic_domain::{EnvironmentId, VariableName};
use craftastic_store::{
    EnvironmentVariables, StoreError, StoreResult, StoredValue, StoredVariable,
};

use crate::db::{Db, Row, backend, conflict, query};

/// The columns of a variable gathered into its environment's row.
const GATHERED_COLUMNS: &str = "name, value, sealed_value";

fn variable_from_row(row: &Row) -> StoreResult<StoredVariable> {
    let value = match (
        row.get::<Option<String>>("value")?,
        row.get::<Option<String>>("sealed_value")?,
    ) {
        (Some(plain), None) => StoredValue::Plain(plain),
        (None, Some(sealed)) => StoredValue::Sealed(sealed),
        _ => {
            return Err(StoreError::Corrupt(
                "environment_variables: exactly one of value and sealed_value must be set".into(),
            ));
        }
    };
    Ok(StoredVariable {
        name: VariableName::from_trusted(row.get("name")?),
        value,
    })
}

fn from_row(row: &Row) -> StoreResult<EnvironmentVariables> {
    let id = row.uuid("id")?.to_string();
    Ok(EnvironmentVariables {
        version: row.get("variables_version")?,
        variables: row.gathered(
            "variable_rows",
            GATHERED_COLUMNS,
            ("environment_id", &id),
            variable_from_row,
        )?,
    })
}

/// The variables with their version: one statement, so that they always go together.
pub(crate) async fn get(db: &Db, id: EnvironmentId) -> StoreResult<Option<EnvironmentVariables>> {
    let variables = db.json_rows(
        GATHERED_COLUMNS,
        "environment_variables WHERE environment_id = environments.id",
        "position",
    );
    query(format!(
        "SELECT id, variables_version, {variables} AS variable_rows FROM environments
         WHERE id = $1"
    ))
    .bind(id)
    .optional(db, from_row)
    .await
}

pub(crate) async fn set(
    db: &Db,
    id: EnvironmentId,
    variables: &[StoredVariable],
    now: DateTime<Utc>,
) -> StoreResult<EnvironmentVariables> {
    let mut tx = db.begin().await?;
    // The UPDATE comes first so that the transaction takes the write lock at once.
    let row = query(
        "UPDATE environments SET variables_version = variables_version + 1, updated_at = $1
         WHERE id = $2 RETURNING variables_version",
    )
    .bind(now)
    .bind(id)
    .fetch_optional(&mut tx)
    .await
    .map_err(backend)?
    .ok_or(StoreError::NotFound)?;
    let version: i64 = row.get("variables_version")?;
    query("DELETE FROM environment_variables WHERE environment_id = $1")
        .bind(id)
        .execute(&mut tx)
        .await
        .map_err(backend)?;
    for (position, variable) in (0_i64..).zip(variables) {
        let (plain, sealed) = match &variable.value {
            StoredValue::Plain(plain) => (Some(plain.as_str()), None),
            StoredValue::Sealed(sealed) => (None, Some(sealed.as_str())),
        };
        query(
            "INSERT INTO environment_variables (environment_id, name, position, value, sealed_value)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(variable.name.as_str())
        .bind(position)
        .bind(plain)
        .bind(sealed)
        .execute(&mut tx)
        .await
        .map_err(conflict("variable name"))?;
    }
    tx.commit().await?;
    Ok(EnvironmentVariables {
        version,
        variables: variables.to_vec(),
    })
}
