//! Schema migrations. Each backend keeps its own reversible migrations (their DDL differs:
//! `UUID` and `TIMESTAMPTZ` against text), numbered alike so that both schemas move together.

use craftastic_store::{MigrationStatus, StoreResult};
use sqlx::migrate::Migrator;

use crate::db::{Db, backend, query};

static SQLITE: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("./migrations/postgres");

fn migrator(db: &Db) -> &'static Migrator {
    match db {
        Db::Sqlite(_) => &SQLITE,
        Db::Postgres(_) => &POSTGRES,
    }
}

pub(crate) async fn up(db: &Db) -> StoreResult<Vec<i64>> {
    let before = applied_versions(db).await?;
    match db {
        Db::Sqlite(pool) => SQLITE.run(pool).await,
        Db::Postgres(pool) => POSTGRES.run(pool).await,
    }
    .map_err(backend)?;
    let after = applied_versions(db).await?;
    Ok(after.into_iter().filter(|v| !before.contains(v)).collect())
}

pub(crate) async fn down(db: &Db, target: i64) -> StoreResult<Vec<i64>> {
    let before = applied_versions(db).await?;
    match db {
        Db::Sqlite(pool) => SQLITE.undo(pool, target).await,
        Db::Postgres(pool) => POSTGRES.undo(pool, target).await,
    }
    .map_err(backend)?;
    let after = applied_versions(db).await?;
    let mut reverted: Vec<i64> = before.into_iter().filter(|v| !after.contains(v)).collect();
    reverted.reverse();
    Ok(reverted)
}

pub(crate) async fn status(db: &Db) -> StoreResult<Vec<MigrationStatus>> {
    let mut applied = Vec::new();
    if table_exists(db).await? {
        let rows = query("SELECT version, installed_on FROM _sqlx_migrations WHERE success")
            .fetch_all(db)
            .await
            .map_err(backend)?;
        for row in rows {
            applied.push((row.get::<i64>("version")?, row.time("installed_on")?));
        }
    }
    Ok(migrator(db)
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .map(|m| MigrationStatus {
            version: m.version,
            description: m.description.to_string(),
            applied_at: applied
                .iter()
                .find(|(v, _)| *v == m.version)
                .map(|(_, at)| *at),
        })
        .collect())
}

/// A normalised description of the schema, from each backend's own catalogue.
pub(crate) async fn fingerprint(db: &Db) -> StoreResult<Vec<String>> {
    let sql = match db {
        Db::Sqlite(_) => {
            "SELECT type || ' ' || name || ': ' || COALESCE(sql, '') AS line FROM sqlite_master
             WHERE name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'"
        }
        Db::Postgres(_) => {
            "SELECT format('column %s.%s %s null=%s default=%s', table_name, column_name,
                           data_type, is_nullable, coalesce(column_default, '')) AS line
             FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'
             UNION ALL
             SELECT format('constraint %s.%s %s', rel.relname, con.conname,
                           pg_get_constraintdef(con.oid))
             FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid
             WHERE rel.relnamespace = current_schema()::regnamespace
               AND rel.relname <> '_sqlx_migrations'
             UNION ALL
             SELECT format('index %s', indexdef) FROM pg_indexes
             WHERE schemaname = current_schema() AND tablename <> '_sqlx_migrations'"
        }
    };
    let mut lines = query(sql)
        .fetch_all(db)
        .await
        .map_err(backend)?
        .iter()
        .map(|row| row.get::<String>("line"))
        .collect::<StoreResult<Vec<_>>>()?;
    lines.sort();
    Ok(lines)
}

async fn table_exists(db: &Db) -> StoreResult<bool> {
    let sql = match db {
        Db::Sqlite(_) => {
            "SELECT EXISTS (SELECT 1 FROM sqlite_master
                 WHERE type = 'table' AND name = '_sqlx_migrations') AS found"
        }
        Db::Postgres(_) => "SELECT to_regclass('_sqlx_migrations') IS NOT NULL AS found",
    };
    query(sql)
        .fetch_one(db)
        .await
        .map_err(backend)?
        .get("found")
}

async fn applied_versions(db: &Db) -> StoreResult<Vec<i64>> {
    if !table_exists(db).await? {
        return Ok(Vec::new());
    }
    query("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
        .fetch_all(db)
        .await
        .map_err(backend)?
        .iter()
        .map(|row| row.get("version"))
        .collect()
}
