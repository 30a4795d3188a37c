//! `/api/admin/users/*`: users with their usage and limits, for admins; and
//! `/api/auth/me/limits`, the same for the signed-in user.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use craftastic_domain::{LimitValue, UserId, ValidationError};
use craftastic_service::limits::{LimitPatch, LimitReport, PerQuota, Quota};
use craftastic_service::users::MAX_PAGE;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Caller, Json, path_id, present};
use crate::views::UserView;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(my_limits))
        .routes(routes!(list_users))
        .routes(routes!(delete_user))
        .routes(routes!(user_limits, set_user_limits))
}

/// One number per limited thing.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub environments: i64,
    /// Workspaces running or being made.
    pub running_workspaces: i64,
    pub sessions: i64,
    /// Terminals open on this server.
    pub terminals: i64,
    /// Deployments queued or in progress.
    pub deployments_in_flight: i64,
}

impl From<PerQuota<i64>> for Counts {
    fn from(c: PerQuota<i64>) -> Self {
        Self {
            environments: c.environments,
            running_workspaces: c.running_workspaces,
            sessions: c.sessions,
            terminals: c.terminals,
            deployments_in_flight: c.deployments_in_flight,
        }
    }
}

/// The limits an admin set for one user; `null` is the server's default.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Overrides {
    pub environments: Option<i64>,
    pub running_workspaces: Option<i64>,
    pub sessions: Option<i64>,
    pub terminals: Option<i64>,
    pub deployments_in_flight: Option<i64>,
}

impl From<PerQuota<Option<i64>>> for Overrides {
    fn from(c: PerQuota<Option<i64>>) -> Self {
        Self {
            environments: c.environments,
            running_workspaces: c.running_workspaces,
            sessions: c.sessions,
            terminals: c.terminals,
            deployments_in_flight: c.deployments_in_flight,
        }
    }
}

/// What a user has (`usage`), may have (`limits`), the server's defaults, and which
/// limits an admin set for the user (`overrides`).
#[derive(Debug, Serialize, ToSchema)]
pub struct LimitsView {
    pub usage: Counts,
    pub limits: Counts,
    pub defaults: Counts,
    pub overrides: Overrides,
}

impl From<LimitReport> for LimitsView {
    fn from(r: LimitReport) -> Self {
        Self {
            usage: r.usage.into(),
            limits: r.limits.into(),
            defaults: r.defaults.into(),
            overrides: r.overrides.into(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserView {
    #[serde(flatten)]
    pub user: UserView,
    pub usage: Counts,
    pub limits: Counts,
    pub overrides: Overrides,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    pub users: Vec<AdminUserView>,
    /// How many users the server has.
    pub total: i64,
    /// The server's default limits.
    pub defaults: Counts,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Users to skip (default 0).
    pub offset: Option<i64>,
    /// Users to list, 1–500 (default 100).
    pub limit: Option<i64>,
}

/// A change of one user's limits: each field left out stays, `null` brings back the
/// server's default, a number (0–10000) sets it.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LimitsPatchRequest {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub environments: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub running_workspaces: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub sessions: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub terminals: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub deployments_in_flight: Option<Option<i64>>,
}

impl LimitsPatchRequest {
    /// The patch, or one 422 naming every field out of range.
    fn validate(self) -> ApiResult<LimitPatch> {
        let raw = PerQuota {
            environments: self.environments,
            running_workspaces: self.running_workspaces,
            sessions: self.sessions,
            terminals: self.terminals,
            deployments_in_flight: self.deployments_in_flight,
        };
        let mut errors: Vec<ValidationError> = Vec::new();
        let mut patch = LimitPatch::default();
        for q in Quota::ALL {
            let change = match raw.get(q) {
                None => None,
                Some(None) => Some(None),
                Some(Some(n)) => match LimitValue::parse(q.field(), n) {
                    Ok(v) => Some(Some(v)),
                    Err(e) => {
                        errors.push(e);
                        None
                    }
                },
            };
            patch.set(q, change);
        }
        if errors.is_empty() {
            Ok(patch)
        } else {
            Err(ApiError::invalid_fields(errors))
        }
    }
}

/// What the signed-in user has and may have (e.g. "3 of 20 environments").
#[utoipa::path(get, path = "/api/auth/me/limits", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Usage and limits", body = LimitsView),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
async fn my_limits(
    State(state): State<AppState>,
    Caller(who): Caller,
) -> ApiResult<Json<LimitsView>> {
    Ok(Json(state.services.limits.mine(who).await?.into()))
}

/// Every user, oldest first, with usage and limits.
#[utoipa::path(get, path = "/api/admin/users", tag = "admin",
    params(PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Users", body = UserList),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 422, description = "offset or limit out of range", body = ErrorBody),
    ))]
async fn list_users(
    State(state): State<AppState>,
    Caller(who): Caller,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> ApiResult<Json<UserList>> {
    let Query(page) = query?;
    let offset = page.offset.unwrap_or(0);
    let limit = page.limit.unwrap_or(100);
    if offset < 0 {
        return Err(ValidationError::new("offset", "offset must be 0 or more").into());
    }
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ValidationError::new(
            "limit",
            format!("limit must be a number from 1 to {MAX_PAGE}"),
        )
        .into());
    }
    let page = state.services.users.list(who, offset, limit).await?;
    Ok(Json(UserList {
        users: page
            .users
            .into_iter()
            .map(|u| AdminUserView {
                user: u.user.into(),
                usage: u.report.usage.into(),
                limits: u.report.limits.into(),
                overrides: u.report.overrides.into(),
            })
            .collect(),
        total: page.total,
        defaults: page.defaults.into(),
    }))
}

/// Delete a user with everything the user owns (environments, their containers and
/// clones, sessions, agents, deployments). The user's sign-ins end at once.
#[utoipa::path(delete, path = "/api/admin/users/{userId}", tag = "admin",
    params(("userId" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "An admin's own account", body = ErrorBody),
        (status = 502, description = "The container engine failed; delete again", body = ErrorBody),
    ))]
async fn delete_user(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id: UserId = path_id(&id, "user")?;
    state.services.users.delete(who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A user's usage, limits and the server's defaults.
#[utoipa::path(get, path = "/api/admin/users/{userId}/limits", tag = "admin",
    params(("userId" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Usage and limits", body = LimitsView),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ))]
async fn user_limits(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<LimitsView>> {
    let id: UserId = path_id(&id, "user")?;
    Ok(Json(state.services.limits.of_user(who, id).await?.into()))
}

/// Raise or lower a user's limits. A limit below what the user has takes nothing away; it
/// only stops new things.
#[utoipa::path(put, path = "/api/admin/users/{userId}/limits", tag = "admin",
    params(("userId" = Uuid, Path)),
    request_body = LimitsPatchRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user's usage and new limits", body = LimitsView),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 422, description = "A limit out of range", body = ErrorBody),
    ))]
async fn set_user_limits(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    Json(body): Json<LimitsPatchRequest>,
) -> ApiResult<Json<LimitsView>> {
    let id: UserId = path_id(&id, "user")?;
    let patch = body.validate()?;
    Ok(Json(
        state
            .services
            .limits
            .set_for_user(who, id, patch)
            .await?
            .into(),
    ))
}
