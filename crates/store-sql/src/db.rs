//! The one place where SQLite and PostgreSQL differ at run time. Queries are written once,
//! with `$1`-style placeholders that both accept; what differs is how a value travels:
//!
//! | value | SQLite | PostgreSQL |
//! |---|---|---|
//! | ids | UUID text | `UUID` |
//! | times | fixed-width RFC 3339 UTC text (sorts as the times it holds) | `TIMESTAMPTZ` |
//! | JSON | text | `JSONB` |
//! | lists of text | a JSON array as text | `TEXT[]` |
//!
//! [`Arg`] carries a bound value to the right encoding and [`Row`] reads it back, so that the
//! aggregates' modules never name a backend.
//!
//! A parent and its children can come back in one statement and one row per parent: the
//! children gathered into a JSON array of arrays by [`Db::json_rows`] (whose aggregate
//! functions are named differently by the two backends), and each read back as a
//! [`Row::Json`] by the child's own row mapping. On SQLite every row crosses from sqlx's worker
//! thread on its own, so this is what makes a list of parents with their children cheap.

use std::borrow::Cow;

use craftastic_store::{StoreError, StoreResult};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool};

mod arg;
mod row;

pub(crate) use arg::Arg;
use arg::sqlite_time;
pub(crate) use row::Row;

/// A pool of one of the two backends.
#[derive(Clone)]
pub(crate) enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A transaction on either backend; dropped without [`Tx::commit`], it rolls back.
pub(crate) enum Tx {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

/// Where a query runs: a pool or an open transaction.
pub(crate) enum Conn<'c> {
    SqlitePool(&'c SqlitePool),
    PgPool(&'c PgPool),
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

impl<'c> From<&'c Db> for Conn<'c> {
    fn from(db: &'c Db) -> Self {
        match db {
            Db::Sqlite(pool) => Conn::SqlitePool(pool),
            Db::Postgres(pool) => Conn::PgPool(pool),
        }
    }
}

impl<'c> From<&'c mut Tx> for Conn<'c> {
    fn from(tx: &'c mut Tx) -> Self {
        match tx {
            Tx::Sqlite(tx) => Conn::Sqlite(tx),
            Tx::Postgres(tx) => Conn::Postgres(tx),
        }
    }
}

/// Serialises "is this the first user?" decisions across PostgreSQL connections; SQLite's
/// single writer decides it by itself.
const FIRST_USER_LOCK: i64 = 0x6372_6166_7431;

impl Db {
    /// A scalar subquery that gathers `columns` of the rows `from` (a table and its `WHERE`)
    /// into one JSON text, an array of arrays in `order`; read it with [`Row::gathered`].
    /// Each of the comma-separated `columns` is a column's name or `expression AS name`
    /// (an expression without commas, which may refer to the parent's row).
    pub(crate) fn json_rows(&self, columns: &str, from: &str, order: &str) -> String {
        let (gather, array) = match self {
            Db::Sqlite(_) => ("json_group_array", "json_array"),
            Db::Postgres(_) => ("json_agg", "json_build_array"),
        };
        let values: Vec<&str> = columns
            .split(',')
            .map(|c| {
                c.split_once(" AS ")
                    .map_or(c, |(expression, _)| expression)
                    .trim()
            })
            .collect();
        let values = values.join(", ");
        format!(
            "(SELECT CAST(COALESCE({gather}({array}({values}) ORDER BY {order}), '[]') AS TEXT) \
             FROM {from})"
        )
    }

    pub(crate) fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    pub(crate) async fn begin(&self) -> StoreResult<Tx> {
        Ok(match self {
            Db::Sqlite(pool) => Tx::Sqlite(pool.begin().await.map_err(backend)?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await.map_err(backend)?),
        })
    }
}

impl Tx {
    pub(crate) async fn commit(self) -> StoreResult<()> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        }
        .map_err(backend)
    }

    /// Holds, until the transaction ends, the lock that makes the first user's admin grant
    /// atomic.
    pub(crate) async fn lock_first_user(&mut self) -> StoreResult<()> {
        if let Tx::Postgres(tx) = self {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(FIRST_USER_LOCK)
                .execute(&mut **tx)
                .await
                .map_err(backend)?;
        }
        Ok(())
    }
}

/// One statement and its arguments, run on either backend.
#[must_use]
#[derive(Clone)]
pub(crate) struct Query {
    pub(crate) sql: Cow<'static, str>,
    pub(crate) args: Vec<Arg>,
}

pub(crate) fn query(sql: impl Into<Cow<'static, str>>) -> Query {
    Query {
        sql: sql.into(),
        args: Vec::new(),
    }
}

type SqliteQuery<'q> = sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>;
type PgQuery<'q> = sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>;

/// Runs `$run` with the query prepared for the backend of `$conn` and that backend's
/// executor, then wraps each row.
macro_rules! on_backend {
    ($query:expr, $conn:expr, |$q:ident, $ex:ident| $run:expr) => {
        match $conn {
            Conn::SqlitePool($ex) => {
                let $q = $query.sqlite();
                $run.map(Rows::wrap_sqlite)
            }
            Conn::Sqlite($ex) => {
                let $q = $query.sqlite();
                $run.map(Rows::wrap_sqlite)
            }
            Conn::PgPool($ex) => {
                let $q = $query.postgres();
                $run.map(Rows::wrap_postgres)
            }
            Conn::Postgres($ex) => {
                let $q = $query.postgres();
                $run.map(Rows::wrap_postgres)
            }
        }
    };
}

impl Query {
    pub(crate) fn bind(mut self, arg: impl Into<Arg>) -> Self {
        self.args.push(arg.into());
        self
    }

    fn sqlite(&self) -> SqliteQuery<'_> {
        let mut q = sqlx::query(&self.sql);
        for arg in &self.args {
            q = match arg {
                Arg::Uuid(v) => q.bind(v.map(|v| v.to_string())),
                Arg::Text(v) => q.bind(v.clone()),
                Arg::Int(v) => q.bind(*v),
                Arg::Bool(v) => q.bind(*v),
                Arg::Time(v) => q.bind(v.map(sqlite_time)),
                Arg::Bytes(v) => q.bind(v.clone()),
                Arg::Json(v) => q.bind(v.to_string()),
                Arg::TextList(v) => q.bind(serde_json::Value::from(v.clone()).to_string()),
            };
        }
        q
    }

    fn postgres(&self) -> PgQuery<'_> {
        let mut q = sqlx::query(&self.sql);
        for arg in &self.args {
            q = match arg {
                Arg::Uuid(v) => q.bind(*v),
                Arg::Text(v) => q.bind(v.clone()),
                Arg::Int(v) => q.bind(*v),
                Arg::Bool(v) => q.bind(*v),
                Arg::Time(v) => q.bind(*v),
                Arg::Bytes(v) => q.bind(v.clone()),
                Arg::Json(v) => q.bind(v.clone()),
                Arg::TextList(v) => q.bind(v.clone()),
            };
        }
        q
    }

    pub(crate) async fn fetch_all<'c>(
        self,
        conn: impl Into<Conn<'c>>,
    ) -> Result<Vec<Row<'static>>, sqlx::Error> {
        #[cfg(test)]
        crate::plans::record(&self);
        on_backend!(self, conn.into(), |q, ex| q.fetch_all(ex).await)
    }

    pub(crate) async fn fetch_optional<'c>(
        self,
        conn: impl Into<Conn<'c>>,
    ) -> Result<Option<Row<'static>>, sqlx::Error> {
        #[cfg(test)]
        crate::plans::record(&self);
        on_backend!(self, conn.into(), |q, ex| q.fetch_optional(ex).await)
    }

    pub(crate) async fn fetch_one<'c>(
        self,
        conn: impl Into<Conn<'c>>,
    ) -> Result<Row<'static>, sqlx::Error> {
        #[cfg(test)]
        crate::plans::record(&self);
        on_backend!(self, conn.into(), |q, ex| q.fetch_one(ex).await)
    }

    /// The row the statement answers, if any, read by `read`.
    pub(crate) async fn optional<'c, T>(
        self,
        conn: impl Into<Conn<'c>>,
        read: fn(&Row) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        self.fetch_optional(conn)
            .await
            .map_err(backend)?
            .as_ref()
            .map(read)
            .transpose()
    }

    /// Every row the statement answers, each read by `read`.
    pub(crate) async fn all<'c, T>(
        self,
        conn: impl Into<Conn<'c>>,
        read: fn(&Row) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        self.fetch_all(conn)
            .await
            .map_err(backend)?
            .iter()
            .map(read)
            .collect()
    }

    /// Runs the statement; returns how many rows it changed.
    pub(crate) async fn execute<'c>(self, conn: impl Into<Conn<'c>>) -> Result<u64, sqlx::Error> {
        #[cfg(test)]
        crate::plans::record(&self);
        on_backend!(self, conn.into(), |q, ex| q.execute(ex).await)
    }
}

/// Wraps what a backend's executor answered.
trait Rows<S, P> {
    fn wrap_sqlite(found: S) -> Self;
    fn wrap_postgres(found: P) -> Self;
}

impl Rows<Vec<SqliteRow>, Vec<PgRow>> for Vec<Row<'static>> {
    fn wrap_sqlite(found: Vec<SqliteRow>) -> Self {
        found.into_iter().map(Row::Sqlite).collect()
    }
    fn wrap_postgres(found: Vec<PgRow>) -> Self {
        found.into_iter().map(Row::Postgres).collect()
    }
}

impl Rows<Option<SqliteRow>, Option<PgRow>> for Option<Row<'static>> {
    fn wrap_sqlite(found: Option<SqliteRow>) -> Self {
        found.map(Row::Sqlite)
    }
    fn wrap_postgres(found: Option<PgRow>) -> Self {
        found.map(Row::Postgres)
    }
}

impl Rows<SqliteRow, PgRow> for Row<'static> {
    fn wrap_sqlite(found: SqliteRow) -> Self {
        Row::Sqlite(found)
    }
    fn wrap_postgres(found: PgRow) -> Self {
        Row::Postgres(found)
    }
}

impl Rows<sqlx::sqlite::SqliteQueryResult, sqlx::postgres::PgQueryResult> for u64 {
    fn wrap_sqlite(found: sqlx::sqlite::SqliteQueryResult) -> Self {
        found.rows_affected()
    }
    fn wrap_postgres(found: sqlx::postgres::PgQueryResult) -> Self {
        found.rows_affected()
    }
}

pub(crate) fn backend(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Backend(Box::new(e))
}

/// What a failed write broke, as the store reports it.
pub(crate) enum Broken {
    /// A unique rule; the text names it (PostgreSQL's constraint name, or SQLite's message,
    /// which lists the columns: `UNIQUE constraint failed: sessions.tmux_session_name`).
    Unique(String),
    /// A reference to a row that is not there.
    ForeignKey,
    Other,
}

pub(crate) fn broken(e: &sqlx::Error) -> Broken {
    match e {
        sqlx::Error::Database(db) if db.is_unique_violation() => Broken::Unique(
            db.constraint()
                .map(str::to_owned)
                .unwrap_or_else(|| db.message().to_owned()),
        ),
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => Broken::ForeignKey,
        _ => Broken::Other,
    }
}

/// Maps a unique violation to `Conflict(what)`, anything else to `Backend`.
pub(crate) fn conflict(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| match broken(&e) {
        Broken::Unique(_) => StoreError::Conflict(what),
        _ => backend(e),
    }
}

/// Like [`conflict`], and a missing parent row is `NotFound`.
pub(crate) fn write_error(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| match broken(&e) {
        Broken::Unique(_) => StoreError::Conflict(what),
        Broken::ForeignKey => StoreError::NotFound,
        Broken::Other => backend(e),
    }
}

/// `NotFound` when a write touched no row.
pub(crate) fn found(changed: u64) -> StoreResult<()> {
    if changed == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}
