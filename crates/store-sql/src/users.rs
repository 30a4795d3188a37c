//! Users and their GitHub links.

use chrono::Utc;
use craftastic_domain::{Email, UserId, UserName};
use craftastic_store::{AdminGrant, GithubLink, NewUser, StoreError, StoreResult, User};

use crate::db::{Db, Row, backend, conflict, found, query};

pub(crate) const COLUMNS: &str =
    "id, email, name, password_hash, is_admin, github_username, created_at, updated_at";

pub(crate) fn from_row(row: &Row) -> StoreResult<User> {
    Ok(User {
        id: UserId(row.uuid("id")?),
        email: Email::from_trusted(row.get("email")?),
        name: UserName::from_trusted(row.get("name")?),
        password_hash: row.get("password_hash")?,
        is_admin: row.get("is_admin")?,
        github_username: row.get("github_username")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

pub(crate) async fn create(db: &Db, user: NewUser) -> StoreResult<User> {
    let mut tx = db.begin().await?;
    if user.admin == AdminGrant::IfFirst {
        tx.lock_first_user().await?;
    }
    let grant: i64 = match user.admin {
        AdminGrant::No => 0,
        AdminGrant::Yes => 1,
        AdminGrant::IfFirst => 2,
    };
    let row = query(format!(
        "INSERT INTO users (id, email, name, password_hash, is_admin, created_at, updated_at)
         VALUES ($1, $2, $3, $4,
                 CASE WHEN $5 = 2 THEN NOT EXISTS (SELECT 1 FROM users) ELSE $5 = 1 END,
                 $6, $6)
         RETURNING {COLUMNS}"
    ))
    .bind(user.id)
    .bind(user.email.as_str())
    .bind(user.name.as_str())
    .bind(&user.password_hash)
    .bind(grant)
    .bind(user.now)
    .fetch_one(&mut tx)
    .await
    .map_err(conflict("email"))?;
    tx.commit().await?;
    from_row(&row)
}

pub(crate) async fn get(db: &Db, id: UserId) -> StoreResult<Option<User>> {
    query(format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .bind(id)
        .optional(db, from_row)
        .await
}

pub(crate) async fn get_by_email(db: &Db, email: &Email) -> StoreResult<Option<User>> {
    query(format!("SELECT {COLUMNS} FROM users WHERE email = $1"))
        .bind(email.as_str())
        .optional(db, from_row)
        .await
}

pub(crate) async fn count(db: &Db) -> StoreResult<i64> {
    query("SELECT COUNT(*) AS n FROM users")
        .fetch_one(db)
        .await
        .map_err(backend)?
        .get("n")
}

pub(crate) async fn delete(db: &Db, id: UserId) -> StoreResult<()> {
    let changed = query("DELETE FROM users WHERE id = $1")
        .bind(id)
        .execute(db)
        .await
        .map_err(backend)?;
    found(changed)
}

pub(crate) async fn set_password_hash(db: &Db, id: UserId, hash: &str) -> StoreResult<()> {
    let changed = query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(hash)
        .bind(Utc::now())
        .bind(id)
        .execute(db)
        .await
        .map_err(backend)?;
    found(changed)
}

pub(crate) async fn set_github_link(db: &Db, id: UserId, link: GithubLink) -> StoreResult<()> {
    let changed = query(
        "UPDATE users SET github_user_id = $1, github_username = $2, github_token = $3,
             updated_at = $4 WHERE id = $5",
    )
    .bind(link.user_id)
    .bind(link.username)
    .bind(link.sealed_token)
    .bind(Utc::now())
    .bind(id)
    .execute(db)
    .await
    .map_err(backend)?;
    found(changed)
}

pub(crate) async fn clear_github_link(db: &Db, id: UserId) -> StoreResult<bool> {
    let changed = query(
        "UPDATE users SET github_user_id = NULL, github_username = NULL, github_token = NULL,
             updated_at = $1 WHERE id = $2 AND github_token IS NOT NULL",
    )
    .bind(Utc::now())
    .bind(id)
    .execute(db)
    .await
    .map_err(backend)?;
    if changed > 0 {
        return Ok(true);
    }
    match get(db, id).await? {
        Some(_) => Ok(false),
        None => Err(StoreError::NotFound),
    }
}

pub(crate) async fn github_token(db: &Db, id: UserId) -> StoreResult<Option<String>> {
    match query("SELECT github_token FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await
        .map_err(backend)?
    {
        Some(row) => row.get("github_token"),
        None => Ok(None),
    }
}
