//! Rows read back by column name, from either backend or from a gathered JSON row.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use craftastic_store::{StoreError, StoreResult};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Postgres, Sqlite};
use uuid::Uuid;

/// A row of either backend, read by column name. A value the code cannot read is
/// [`StoreError::Corrupt`], never a panic.
pub(crate) enum Row<'t> {
    Sqlite(SqliteRow),
    Postgres(PgRow),
    /// One child row gathered by [`super::Db::json_rows`]: the values of `columns`, in order, each
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

    /// The child rows gathered into `column` by [`super::Db::json_rows`], each read by `read` as a
    /// row of `columns` (a statement's comma-separated column list, each a name or
    /// `expression AS name`) and of `parent`, the
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
            .map(|c| c.rsplit_once(" AS ").map_or(c, |(_, name)| name).trim())
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
