//! `/api/notifications/*`: the caller's notification settings (browser notifications, and a
//! webhook whose URL is a secret: taken, sealed, never answered back) and a test of the
//! webhook.

use axum::extract::State;
use axum::http::StatusCode;
use craftastic_domain::WebhookUrl;
use craftastic_service::notifications::SettingsView;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Caller, Json, present};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(settings, update))
        .routes(routes!(test))
}

/// The caller's notification settings.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationSettingsBody {
    /// Whether the browser shows notifications (the `notification` event of
    /// `GET /api/events` is sent only then).
    pub browser: bool,
    /// Whether a webhook is set (its URL is never shown again).
    pub webhook: bool,
}

impl From<SettingsView> for NotificationSettingsBody {
    fn from(v: SettingsView) -> Self {
        Self {
            browser: v.browser,
            webhook: v.webhook,
        }
    }
}

/// A change of the settings: each field left out stays.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NotificationSettingsRequest {
    pub browser: Option<bool>,
    /// An `https://` or `http://` URL that gets a JSON POST for each notification (ntfy, a
    /// Slack-compatible incoming webhook, …); `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable)]
    pub webhook_url: Option<Option<String>>,
}

/// The caller's notification settings.
#[utoipa::path(get, path = "/api/notifications/settings", tag = "notifications",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The settings", body = NotificationSettingsBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
async fn settings(
    State(state): State<AppState>,
    Caller(who): Caller,
) -> ApiResult<Json<NotificationSettingsBody>> {
    Ok(Json(
        state.services.notifications.settings(who).await?.into(),
    ))
}

/// Change the caller's notification settings.
#[utoipa::path(put, path = "/api/notifications/settings", tag = "notifications",
    request_body = NotificationSettingsRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The settings", body = NotificationSettingsBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 422, description = "The webhook URL is not valid", body = ErrorBody),
    ))]
async fn update(
    State(state): State<AppState>,
    Caller(who): Caller,
    Json(body): Json<NotificationSettingsRequest>,
) -> ApiResult<Json<NotificationSettingsBody>> {
    let webhook = match body.webhook_url {
        None => None,
        Some(None) => Some(None),
        Some(Some(raw)) => Some(Some(WebhookUrl::parse(&raw)?)),
    };
    let view = state
        .services
        .notifications
        .update(who, body.browser, webhook)
        .await?;
    Ok(Json(view.into()))
}

/// Send a test notification to the caller's webhook.
#[utoipa::path(post, path = "/api/notifications/test", tag = "notifications",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The webhook took it"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 409, description = "No webhook is set", body = ErrorBody),
        (status = 502, description = "The webhook refused it or did not answer", body = ErrorBody),
    ))]
async fn test(State(state): State<AppState>, Caller(who): Caller) -> ApiResult<StatusCode> {
    state.services.notifications.test(who).await?;
    Ok(StatusCode::NO_CONTENT)
}
