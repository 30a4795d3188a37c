//! Refresh tokens: rotation in families, reuse detection and the liveness of a sign-in.

use chrono::{DateTime, Utc};
use craftastic_domain::UserId;
use craftastic_store::{NewRefreshToken, NextRefreshToken, Rotation, StoreResult};
use uuid::Uuid;

use crate::db::{Db, backend, conflict, query};

const INSERT: &str = "INSERT INTO refresh_tokens
         (id, user_id, family_id, token_hash, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6)";

pub(crate) async fn insert(db: &Db, token: NewRefreshToken) -> StoreResult<()> {
    query(INSERT)
        .bind(token.id)
        .bind(token.user_id)
        .bind(token.family_id)
        .bind(&token.token_hash)
        .bind(token.created_at)
        .bind(token.expires_at)
        .execute(db)
        .await
        .map_err(conflict("refresh token"))?;
    Ok(())
}

pub(crate) async fn rotate(
    db: &Db,
    presented_hash: &[u8],
    next: NextRefreshToken,
    now: DateTime<Utc>,
) -> StoreResult<Rotation> {
    let mut tx = db.begin().await?;
    // The UPDATE comes first so that the transaction takes the write lock at once.
    let consumed = query(
        "UPDATE refresh_tokens SET used_at = $1
         WHERE token_hash = $2 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $1
         RETURNING user_id, family_id",
    )
    .bind(now)
    .bind(presented_hash)
    .fetch_optional(&mut tx)
    .await
    .map_err(backend)?;
    if let Some(row) = consumed {
        let user_id = UserId(row.uuid("user_id")?);
        let family_id = row.uuid("family_id")?;
        query(INSERT)
            .bind(next.id)
            .bind(user_id)
            .bind(family_id)
            .bind(&next.token_hash)
            .bind(next.created_at)
            .bind(next.expires_at)
            .execute(&mut tx)
            .await
            .map_err(conflict("refresh token"))?;
        tx.commit().await?;
        return Ok(Rotation::Rotated { user_id, family_id });
    }
    let known = query(
        "SELECT user_id, family_id, used_at IS NOT NULL OR revoked_at IS NOT NULL AS spent
         FROM refresh_tokens WHERE token_hash = $1",
    )
    .bind(presented_hash)
    .fetch_optional(&mut tx)
    .await
    .map_err(backend)?;
    let Some(row) = known else {
        return Ok(Rotation::Unknown);
    };
    if !row.get::<bool>("spent")? {
        return Ok(Rotation::Expired);
    }
    let user_id = UserId(row.uuid("user_id")?);
    let family_id = row.uuid("family_id")?;
    query("UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(family_id)
        .execute(&mut tx)
        .await
        .map_err(backend)?;
    tx.commit().await?;
    Ok(Rotation::Reused { user_id, family_id })
}

pub(crate) async fn revoke_family_of(
    db: &Db,
    user: UserId,
    token_hash: &[u8],
) -> StoreResult<bool> {
    let changed = query(
        "UPDATE refresh_tokens SET revoked_at = $1
         WHERE revoked_at IS NULL AND family_id =
             (SELECT family_id FROM refresh_tokens WHERE token_hash = $2 AND user_id = $3)",
    )
    .bind(Utc::now())
    .bind(token_hash)
    .bind(user)
    .execute(db)
    .await
    .map_err(backend)?;
    Ok(changed > 0)
}

pub(crate) async fn revoke_user(
    db: &Db,
    user: UserId,
    keep_family: Option<Uuid>,
) -> StoreResult<u64> {
    let sql = if keep_family.is_some() {
        "UPDATE refresh_tokens SET revoked_at = $1
         WHERE user_id = $2 AND revoked_at IS NULL AND family_id <> $3"
    } else {
        "UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL"
    };
    let mut q = query(sql).bind(Utc::now()).bind(user);
    if let Some(family) = keep_family {
        q = q.bind(family);
    }
    q.execute(db).await.map_err(backend)
}

pub(crate) async fn family_live(db: &Db, family: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
    query(
        "SELECT EXISTS (SELECT 1 FROM refresh_tokens WHERE family_id = $1
             AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2) AS live",
    )
    .bind(family)
    .bind(now)
    .fetch_one(db)
    .await
    .map_err(backend)?
    .get("live")
}

pub(crate) async fn sign_in_live(
    db: &Db,
    user: UserId,
    family: Uuid,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    query(
        "SELECT EXISTS (SELECT 1 FROM refresh_tokens WHERE family_id = $1 AND user_id = $2
             AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $3) AS live",
    )
    .bind(family)
    .bind(user)
    .bind(now)
    .fetch_one(db)
    .await
    .map_err(backend)?
    .get("live")
}
