//! Each user's notification settings.

use chrono::{DateTime, Utc};
use craftastic_domain::UserId;
use craftastic_store::{NotificationSettings, StoreError, StoreResult};

use crate::db::{Broken, Db, backend, broken, query};

/// The user's settings; the defaults (no browser notifications, no webhook) when they never
/// changed them.
pub(crate) async fn get(db: &Db, user: UserId) -> StoreResult<NotificationSettings> {
    let row = query("SELECT browser, webhook_sealed FROM notification_settings WHERE user_id = $1")
        .bind(user)
        .fetch_optional(db)
        .await
        .map_err(backend)?;
    Ok(match row {
        Some(row) => NotificationSettings {
            browser: row.get("browser")?,
            webhook_sealed: row.get("webhook_sealed")?,
        },
        None => NotificationSettings::default(),
    })
}

pub(crate) async fn set(
    db: &Db,
    user: UserId,
    settings: &NotificationSettings,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    query(
        "INSERT INTO notification_settings (user_id, browser, webhook_sealed, updated_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (user_id) DO UPDATE SET browser = excluded.browser,
             webhook_sealed = excluded.webhook_sealed, updated_at = excluded.updated_at",
    )
    .bind(user)
    .bind(settings.browser)
    .bind(settings.webhook_sealed.as_deref())
    .bind(now)
    .execute(db)
    .await
    .map_err(|e| match broken(&e) {
        Broken::ForeignKey => StoreError::NotFound,
        _ => backend(e),
    })?;
    Ok(())
}
