//! `/api/auth/github/*`: linking the caller's GitHub account through the device flow, and
//! listing the repositories it reaches.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use craftastic_domain::{ErrorCode, ValidationError};
use craftastic_service::github::{Initiated, LinkStatus, PollStatus, Polled, Repository};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody, all_valid};
use crate::extract::{Caller, Json};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(initiate))
        .routes(routes!(poll))
        .routes(routes!(status))
        .routes(routes!(disconnect))
        .routes(routes!(repos))
}

const DEFAULT_PER_PAGE: i64 = 30;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GithubInitiateBody {
    /// Names this link attempt in `poll`; the device code itself stays on the server.
    pub flow_id: Uuid,
    /// What the user types at `verificationUri`.
    #[schema(example = "WDJB-MJHT")]
    pub user_code: String,
    #[schema(example = "https://github.com/login/device")]
    pub verification_uri: String,
    /// Seconds until the code expires.
    pub expires_in: u64,
    /// Seconds to wait between two polls.
    pub interval: u64,
}

impl From<Initiated> for GithubInitiateBody {
    fn from(i: Initiated) -> Self {
        Self {
            flow_id: i.flow_id,
            user_code: i.user_code,
            verification_uri: i.verification_uri,
            expires_in: i.expires_in,
            interval: i.interval,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GithubPollRequest {
    pub flow_id: Uuid,
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum GithubPollStatus {
    Pending,
    Connected,
    Expired,
    Denied,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GithubPollBody {
    /// `pending`: poll again after `interval` seconds; `connected`: linked; `expired` and
    /// `denied` end the attempt.
    pub status: GithubPollStatus,
    /// The linked GitHub login, once `connected`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Seconds to wait before the next poll (GitHub may raise it).
    pub interval: u64,
}

impl From<Polled> for GithubPollBody {
    fn from(p: Polled) -> Self {
        Self {
            status: match p.status {
                PollStatus::Pending => GithubPollStatus::Pending,
                PollStatus::Connected => GithubPollStatus::Connected,
                PollStatus::Expired => GithubPollStatus::Expired,
                PollStatus::Denied => GithubPollStatus::Denied,
            },
            username: p.username,
            interval: p.interval,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GithubStatusBody {
    pub connected: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

impl From<LinkStatus> for GithubStatusBody {
    fn from(s: LinkStatus) -> Self {
        Self {
            connected: s.connected,
            username: s.username,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GithubRepositoryBody {
    #[schema(example = "octocat/hello-world")]
    pub full_name: String,
    #[schema(example = "https://github.com/octocat/hello-world.git")]
    pub clone_url: String,
    pub private: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_branch: Option<String>,
}

impl From<Repository> for GithubRepositoryBody {
    fn from(r: Repository) -> Self {
        Self {
            full_name: r.full_name,
            clone_url: r.clone_url,
            private: r.private,
            default_branch: r.default_branch,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GithubRepositoriesBody {
    pub repositories: Vec<GithubRepositoryBody>,
    /// Whether a next page exists.
    pub has_more: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReposQuery {
    page: Option<String>,
    per_page: Option<String>,
}

/// Start linking a GitHub account: the user opens `verificationUri` and types `userCode`,
/// while the client polls with `flowId`.
#[utoipa::path(post, path = "/api/auth/github/initiate", operation_id = "github_initiate", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A code for the user to enter at GitHub", body = GithubInitiateBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 502, description = "GitHub failed or refused; the message says why", body = ErrorBody),
        (status = 503, description = "GITHUB_CLIENT_ID is not configured", body = ErrorBody),
    ))]
async fn initiate(
    State(state): State<AppState>,
    Caller(who): Caller,
) -> ApiResult<Json<GithubInitiateBody>> {
    Ok(Json(state.services.github.initiate(who).await?.into()))
}

/// Whether the user has authorized at GitHub yet. Poll no faster than `interval`; sooner
/// polls answer `pending` without asking GitHub.
#[utoipa::path(post, path = "/api/auth/github/poll", operation_id = "github_poll", tag = "auth",
    request_body = GithubPollRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Where the link stands", body = GithubPollBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such link attempt (or it is another user's)", body = ErrorBody),
        (status = 422, description = "flowId is not a UUID", body = ErrorBody),
        (status = 502, description = "GitHub failed or refused; the message says why", body = ErrorBody),
        (status = 503, description = "GITHUB_CLIENT_ID is not configured", body = ErrorBody),
    ))]
async fn poll(
    State(state): State<AppState>,
    Caller(who): Caller,
    Json(body): Json<GithubPollRequest>,
) -> ApiResult<Json<GithubPollBody>> {
    Ok(Json(
        state.services.github.poll(who, body.flow_id).await?.into(),
    ))
}

/// Whether the caller has linked a GitHub account.
#[utoipa::path(get, path = "/api/auth/github/status", operation_id = "github_status", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The link", body = GithubStatusBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
async fn status(
    State(state): State<AppState>,
    Caller(who): Caller,
) -> ApiResult<Json<GithubStatusBody>> {
    Ok(Json(state.services.github.status(who).await?.into()))
}

/// Forget the caller's GitHub account and token.
#[utoipa::path(delete, path = "/api/auth/github/disconnect", operation_id = "github_disconnect", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Not linked any more"),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
async fn disconnect(State(state): State<AppState>, Caller(who): Caller) -> ApiResult<StatusCode> {
    state.services.github.disconnect(who).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The repositories the linked GitHub account reaches, most recently updated first.
#[utoipa::path(get, path = "/api/auth/github/repos", operation_id = "github_repos", tag = "auth",
    params(
        ("page" = Option<u32>, Query, description = "From 1 (default 1)"),
        ("perPage" = Option<u32>, Query, description = "From 1 to 100 (default 30)"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of repositories", body = GithubRepositoriesBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 409, description = "No GitHub account is linked, or its token was revoked", body = ErrorBody),
        (status = 422, description = "page or perPage out of range", body = ErrorBody),
        (status = 502, description = "GitHub failed; the message says why", body = ErrorBody),
    ))]
async fn repos(
    State(state): State<AppState>,
    Caller(who): Caller,
    query: Result<Query<ReposQuery>, QueryRejection>,
) -> ApiResult<Json<GithubRepositoriesBody>> {
    let Query(query) = query.map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidQuery,
            "the query string must be ?page=N&perPage=N, each at most once",
        )
    })?;
    let (page, per_page, ()) = all_valid(
        number(query.page.as_deref(), "page", 1),
        number(query.per_page.as_deref(), "perPage", DEFAULT_PER_PAGE),
        Ok(()),
    )?;
    let found = state.services.github.repos(who, page, per_page).await?;
    Ok(Json(GithubRepositoriesBody {
        repositories: found.repositories.into_iter().map(Into::into).collect(),
        has_more: found.has_more,
    }))
}

/// A whole number from the query string, or `default` when absent.
fn number(raw: Option<&str>, field: &'static str, default: i64) -> Result<i64, ValidationError> {
    match raw.map(str::trim) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| ValidationError::new(field, format!("{field} must be a whole number"))),
    }
}
