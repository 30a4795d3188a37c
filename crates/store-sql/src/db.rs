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

use chrono::{DateTime, SecondsFormat, Utc};
use craftastic_domain::{AgentId, DeploymentId, EnvironmentId, SessionId, UserId, WorkspaceId};
use craftastic_store::{StoreError, StoreResult};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool};
use uuid::Uuid;

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
    pub(crate) fn json_rows(&self, columns: &str, from: &str, order: &str) -> String {
        let (gather, array) = match self {
            Db::Sqlite(_) => ("json_group_array", "json_array"),
            Db::Postgres(_) => ("json_agg", "json_build_array"),
        };
        format!(
            "(SELECT CAST(COALESCE({gather}({array}({columns}) ORDER BY {order}), '[]') AS TEXT) \
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

/// A value bound to a placeholder.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Uuid(Option<Uuid>),
    Text(Option<String>),
    Int(Option<i64>),
    Bool(bool),
    Time(Option<DateTime<Utc>>),
    Bytes(Vec<u8>),
    Json(serde_json::Value),
    TextList(Vec<String>),
}

impl From<Uuid> for Arg {
    fn from(v: Uuid) -> Self {
        Arg::Uuid(Some(v))
    }
}

impl From<Option<Uuid>> for Arg {
    fn from(v: Option<Uuid>) -> Self {
        Arg::Uuid(v)
    }
}

macro_rules! id_args {
    ($($id:ty),*) => {$(
        impl From<$id> for Arg {
            fn from(v: $id) -> Self {
                Arg::Uuid(Some(v.0))
            }
        }
        impl From<Option<$id>> for Arg {
            fn from(v: Option<$id>) -> Self {
                Arg::Uuid(v.map(|v| v.0))
            }
        }
    )*};
}
id_args!(
    UserId,
    EnvironmentId,
    WorkspaceId,
    SessionId,
    DeploymentId,
    AgentId
);

impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(Some(v.to_owned()))
    }
}

impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(Some(v))
    }
}

impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Arg::Text(Some(v.clone()))
    }
}

impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        Arg::Text(v.map(str::to_owned))
    }
}

impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::Text(v)
    }
}

impl From<&Option<String>> for Arg {
    fn from(v: &Option<String>) -> Self {
        Arg::Text(v.clone())
    }
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(Some(v))
    }
}

impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::Int(v)
    }
}

impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}

impl From<DateTime<Utc>> for Arg {
    fn from(v: DateTime<Utc>) -> Self {
        Arg::Time(Some(v))
    }
}

impl From<&[u8]> for Arg {
    fn from(v: &[u8]) -> Self {
        Arg::Bytes(v.to_vec())
    }
}

impl From<&Vec<u8>> for Arg {
    fn from(v: &Vec<u8>) -> Self {
        Arg::Bytes(v.clone())
    }
}

impl From<&serde_json::Value> for Arg {
    fn from(v: &serde_json::Value) -> Self {
        Arg::Json(v.clone())
    }
}

impl From<Vec<String>> for Arg {
    fn from(v: Vec<String>) -> Self {
        Arg::TextList(v)
    }
}

/// Times as SQLite keeps them: fixed width, so that text order is time order.
fn sqlite_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
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

/// A row of either backend, read by column name. A value the code cannot read is
/// [`StoreError::Corrupt`], never a panic.
pub(crate) enum Row<'t> {
    Sqlite(SqliteRow),
    Postgres(PgRow),
    /// One child row gathered by [`Db::json_rows`]: the values of `columns`, in order, each
    /// borrowed from the parent row's JSON text where it holds no escape.
    Json {
        columns: &'t [&'t str],
        values: &'t [Cell<'t>],
    },
}

/// One value of a gathered row: what `json_array` or `json_build_array` makes of a column.
#[derive(Debug)]
pub(crate) enum Cell<'t> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(Cow<'t, str>),
    /// PostgreSQL's JSON and arrays, which `json_build_array` nests as they are.
    Nested(serde_json::Value),
}

impl<'de> serde::Deserialize<'de> for Cell<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Cell<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a column's value: null, a boolean, a number or a string")
            }
            fn visit_unit<E>(self) -> Result<Cell<'de>, E> {
                Ok(Cell::Null)
            }
            fn visit_none<E>(self) -> Result<Cell<'de>, E> {
                Ok(Cell::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Cell<'de>, E> {
                Ok(Cell::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Cell<'de>, E> {
                Ok(Cell::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Cell<'de>, E> {
                i64::try_from(v)
                    .map(Cell::Int)
                    .map_err(|_| E::custom("integer out of range"))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Cell<'de>, E> {
                Ok(Cell::Float(v))
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Cell<'de>, E> {
                Ok(Cell::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Cell<'de>, E> {
                Ok(Cell::Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Cell<'de>, E> {
                Ok(Cell::Text(Cow::Owned(v)))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, a: A) -> Result<Cell<'de>, A::Error> {
                serde::Deserialize::deserialize(serde::de::value::SeqAccessDeserializer::new(a))
                    .map(Cell::Nested)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, a: A) -> Result<Cell<'de>, A::Error> {
                serde::Deserialize::deserialize(serde::de::value::MapAccessDeserializer::new(a))
                    .map(Cell::Nested)
            }
        }
        d.deserialize_any(Visit)
    }
}

/// Reads a [`Cell`] into a [`Plain`] type (text, integers, booleans, their `Option`s),
/// without building a `serde_json::Value` first.
impl<'de> serde::Deserializer<'de> for &Cell<'_> {
    type Error = serde::de::value::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        match self {
            Cell::Null => v.visit_unit(),
            Cell::Bool(b) => v.visit_bool(*b),
            Cell::Int(i) => v.visit_i64(*i),
            Cell::Float(f) => v.visit_f64(*f),
            Cell::Text(s) => v.visit_str(s),
            Cell::Nested(value) => value
                .clone()
                .deserialize_any(v)
                .map_err(serde::de::Error::custom),
        }
    }

    fn deserialize_option<V: serde::de::Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        match self {
            Cell::Null => v.visit_none(),
            _ => v.visit_some(self),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

/// A type both backends, and JSON, decode the same way.
pub(crate) trait Plain:
    for<'r> sqlx::Decode<'r, Sqlite>
    + sqlx::Type<Sqlite>
    + for<'r> sqlx::Decode<'r, Postgres>
    + sqlx::Type<Postgres>
    + serde::de::DeserializeOwned
{
}

impl<T> Plain for T where
    T: for<'r> sqlx::Decode<'r, Sqlite>
        + sqlx::Type<Sqlite>
        + for<'r> sqlx::Decode<'r, Postgres>
        + sqlx::Type<Postgres>
        + serde::de::DeserializeOwned
{
}

impl Row<'_> {
    /// Text, integers, booleans and bytes, and their `Option`s.
    pub(crate) fn get<T: Plain>(&self, column: &str) -> StoreResult<T> {
        use sqlx::Row as _;
        match self {
            Row::Sqlite(row) => row.try_get(column).map_err(|e| corrupt(column, e)),
            Row::Postgres(row) => row.try_get(column).map_err(|e| corrupt(column, e)),
            Row::Json { .. } => T::deserialize(self.cell(column)?).map_err(|e| corrupt(column, e)),
        }
    }

    /// The value of `column` in a [`Row::Json`].
    fn cell(&self, column: &str) -> StoreResult<&Cell<'_>> {
        let Row::Json { columns, values } = self else {
            return Err(corrupt(column, "not a gathered row"));
        };
        columns
            .iter()
            .position(|c| *c == column)
            .and_then(|i| values.get(i))
            .ok_or_else(|| corrupt(column, "missing from the gathered row"))
    }

    /// Text that may be NULL, borrowed from the row: SQLite's ids and times, and every
    /// gathered value.
    fn opt_text(&self, column: &str) -> StoreResult<Option<&str>> {
        match self {
            Row::Sqlite(row) => sqlx::Row::try_get(row, column).map_err(|e| corrupt(column, e)),
            Row::Postgres(row) => sqlx::Row::try_get(row, column).map_err(|e| corrupt(column, e)),
            Row::Json { .. } => match self.cell(column)? {
                Cell::Null => Ok(None),
                Cell::Text(text) => Ok(Some(text)),
                other => Err(corrupt(column, format!("{other:?} is not text"))),
            },
        }
    }

    pub(crate) fn opt_uuid(&self, column: &str) -> StoreResult<Option<Uuid>> {
        match self {
            Row::Sqlite(_) | Row::Json { .. } => self
                .opt_text(column)?
                .map(|s| Uuid::parse_str(s).map_err(|e| corrupt(column, e)))
                .transpose(),
            Row::Postgres(row) => sqlx::Row::try_get(row, column).map_err(|e| corrupt(column, e)),
        }
    }

    pub(crate) fn uuid(&self, column: &str) -> StoreResult<Uuid> {
        self.opt_uuid(column)?
            .ok_or_else(|| StoreError::Corrupt(format!("{column} is NULL")))
    }

    pub(crate) fn opt_time(&self, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
        match self {
            Row::Sqlite(_) | Row::Json { .. } => self
                .opt_text(column)?
                .map(|s| parse_time(s).map_err(|e| corrupt(column, e)))
                .transpose(),
            Row::Postgres(row) => sqlx::Row::try_get(row, column).map_err(|e| corrupt(column, e)),
        }
    }

    pub(crate) fn time(&self, column: &str) -> StoreResult<DateTime<Utc>> {
        self.opt_time(column)?
            .ok_or_else(|| StoreError::Corrupt(format!("{column} is NULL")))
    }

    pub(crate) fn json(&self, column: &str) -> StoreResult<serde_json::Value> {
        self.nested(column)
    }

    pub(crate) fn text_list(&self, column: &str) -> StoreResult<Vec<String>> {
        self.nested(column)
    }

    /// A JSON value or a list: text holding JSON in SQLite, its own type in PostgreSQL, and
    /// either in a gathered row (SQLite's text, PostgreSQL's JSON).
    fn nested<T>(&self, column: &str) -> StoreResult<T>
    where
        T: serde::de::DeserializeOwned + for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
    {
        let text = match self {
            Row::Sqlite(_) => self.get::<String>(column)?,
            Row::Postgres(row) => {
                return sqlx::Row::try_get(row, column).map_err(|e| corrupt(column, e));
            }
            Row::Json { .. } => match self.cell(column)? {
                Cell::Text(text) => text.to_string(),
                value => return T::deserialize(value).map_err(|e| corrupt(column, e)),
            },
        };
        serde_json::from_str(&text).map_err(|e| corrupt(column, e))
    }

    /// The child rows gathered into `column` by [`Db::json_rows`], each read by `read` as a
    /// row of `columns` (a statement's comma-separated column list) and of `parent`, the
    /// column that refers to this row and its value as text (which every child shares, so the
    /// statement leaves it out).
    pub(crate) fn gathered<T>(
        &self,
        column: &str,
        columns: &'static str,
        parent: (&'static str, &str),
        read: fn(&Row) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let text = self
            .opt_text(column)?
            .ok_or_else(|| corrupt(column, "NULL"))?;
        let mut rows: Vec<Vec<Cell<'_>>> =
            serde_json::from_str(text).map_err(|e| corrupt(column, e))?;
        let columns: Vec<&str> = columns
            .split(',')
            .map(str::trim)
            .chain([parent.0])
            .collect();
        rows.iter_mut()
            .map(|values| {
                values.push(Cell::Text(Cow::Borrowed(parent.1)));
                read(&Row::Json {
                    columns: &columns,
                    values,
                })
            })
            .collect()
    }
}

/// Reads a time SQLite holds: ours (RFC 3339), or `CURRENT_TIMESTAMP`'s
/// `YYYY-MM-DD HH:MM:SS` (UTC), which sqlx's own migration table uses.
fn parse_time(s: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").map(|t| t.and_utc())
        })
}

fn corrupt(column: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{column}: {e}"))
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
