//! `/api/environments/*`: repositories with per-branch workspaces.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use craftastic_domain::{
    BranchName, EgressPolicy, EnvironmentId, EnvironmentName, EnvironmentSize, IdleStopMinutes,
    RepositoryUrl, UserId,
};
use craftastic_service::Services;
use craftastic_service::environments::{EnvironmentSpec, EnvironmentView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody, all_valid6};
use crate::extract::{Caller, Json, path_id};
use crate::views::{Availability, SessionBody, rfc3339};

mod settings;

pub use settings::{
    EgressMode, EgressPolicyBody, EgressPolicyRequest, IdleStopRequest, SizeBody, SizeRequest,
    UsageBody,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(list_for_user))
        .routes(routes!(check_name))
        .routes(routes!(get, delete))
        .routes(routes!(devcontainers))
        .routes(routes!(stop))
        .routes(routes!(start))
        .merge(settings::router())
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceView {
    pub id: Uuid,
    pub branch: String,
    /// `creating`, `running`, `stopped`, `missing` (recreated on next use) or `error`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_id: Option<String>,
    /// Why it is `stopped` or in `error`, when the server stopped it (over its disk cap, or
    /// idle for its environment's `idleStopMinutes`), and how to get it back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Bytes of disk it held when last measured: its worktree, the rest of its container and
    /// its environment's repository. Absent until the first measurement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_bytes: Option<i64>,
    /// Its disk cap at that measurement (`SANDBOX_DISK_LIMIT`); absent when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_limit_bytes: Option<i64>,
    /// When its disk use was last measured.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "rfc3339::option::serialize"
    )]
    pub disk_measured_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentBody {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository_url: Option<String>,
    /// The default branch.
    pub branch: String,
    /// `creating`, `running`, `stopped`, `error` or `deleting`.
    pub status: &'static str,
    /// Why the environment is in `error`, as a sentence a person can act on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The container of the default branch's workspace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_id: Option<String>,
    /// Where its workspaces may connect to outside the server.
    pub egress_policy: EgressPolicyBody,
    /// Minutes without an open terminal, terminal input or a session at work after which
    /// the server stops a workspace of it (opening one of its sessions starts it again);
    /// 0: never.
    #[schema(example = 60)]
    pub idle_stop_minutes: u32,
    /// The memory, CPUs and disk of its workspaces, what it asks for, and the server's
    /// defaults and maxima.
    pub size: SizeBody,
    #[serde(serialize_with = "rfc3339::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "rfc3339::serialize")]
    pub updated_at: DateTime<Utc>,
    /// The workspaces of its branches.
    pub workspaces: Vec<WorkspaceView>,
    /// Its sessions, oldest first.
    pub sessions: Vec<SessionBody>,
}

impl EnvironmentBody {
    pub fn new(v: EnvironmentView, services: &Services) -> Self {
        let activities = &services.activities;
        let settings = services.environments.settings();
        let container_id = v.container_id().map(str::to_owned);
        let e = v.environment;
        let size = SizeBody::new(&e.size, &settings.default_size(), &settings.size_maxima);
        Self {
            id: e.id.0,
            user_id: e.user_id.0,
            name: e.name.to_string(),
            repository_url: e.repository_url.map(|u| u.to_string()),
            branch: e.branch.to_string(),
            status: e.status.as_str(),
            error: e.error,
            container_id,
            egress_policy: EgressPolicyBody::from(&e.egress),
            idle_stop_minutes: e.idle_stop.minutes(),
            size,
            created_at: e.created_at,
            updated_at: e.updated_at,
            workspaces: v
                .workspaces
                .into_iter()
                .map(|w| WorkspaceView {
                    id: w.id.0,
                    branch: w.branch.to_string(),
                    status: w.status.as_str(),
                    container_id: w.container_id,
                    error: w.error,
                    disk_bytes: w.disk.map(|d| d.bytes),
                    disk_limit_bytes: w.disk.and_then(|d| d.limit_bytes),
                    disk_measured_at: w.disk.map(|d| d.measured_at),
                })
                .collect(),
            sessions: v
                .sessions
                .into_iter()
                .map(|s| SessionBody::new(s, activities))
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EnvironmentList {
    pub environments: Vec<EnvironmentBody>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateEnvironmentRequest {
    #[schema(example = "my-app")]
    pub name: String,
    /// `https://…`, `ssh://…` or `user@host:path`; leave out for an empty repository.
    #[schema(example = "https://github.com/ada/my-app.git")]
    pub repository_url: Option<String>,
    /// The branch to start from; the repository's default branch when left out.
    pub branch: Option<String>,
    /// Where its workspaces may connect to; `open` when left out.
    pub egress_policy: Option<EgressPolicyRequest>,
    /// Minutes a workspace may be idle before the server stops it: 1 to 10080, or 0 for
    /// never; 60 when left out.
    #[schema(example = 60)]
    pub idle_stop_minutes: Option<i64>,
    /// The memory, CPUs and disk of its workspaces, within the server's maxima; the
    /// server's defaults when left out.
    pub size: Option<SizeRequest>,
}

/// Create an environment. It answers at once with status `creating`; the clone and the
/// default-branch workspace are made in the background (poll until `running` or `error`).
#[utoipa::path(post, path = "/api/environments", tag = "environments",
    request_body = CreateEnvironmentRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Being created", body = EnvironmentBody),
        (status = 409, description = "Name already taken", body = ErrorBody),
        (status = 422, description = "Invalid name, URL, branch, egress policy, idle stop or size (over a maximum, the message says the maximum)", body = ErrorBody),
        (status = 503, description = "The server is still finishing, at start, what its previous run left half done", body = ErrorBody),
    ))]
async fn create(
    State(state): State<AppState>,
    Caller(who): Caller,
    Json(body): Json<CreateEnvironmentRequest>,
) -> ApiResult<(StatusCode, Json<EnvironmentBody>)> {
    let envs = &state.services.environments;
    let name = EnvironmentName::parse(&body.name);
    let url = body
        .repository_url
        .as_deref()
        .map(|u| RepositoryUrl::parse(u, &envs.settings().repo_policy))
        .transpose();
    let branch = body.branch.as_deref().map(BranchName::parse).transpose();
    let egress = body
        .egress_policy
        .as_ref()
        .map_or(Ok(EgressPolicy::Open), EgressPolicyRequest::parse);
    let idle_stop = body
        .idle_stop_minutes
        .map_or(Ok(IdleStopMinutes::DEFAULT), |m| {
            IdleStopMinutes::parse("idleStopMinutes", m)
        });
    let size = body
        .size
        .as_ref()
        .map_or(Ok(EnvironmentSize::default()), |s| {
            s.parse("size.", &envs.settings().size_maxima)
        });
    let (name, repository_url, branch, egress, idle_stop, size) =
        all_valid6(name, url, branch, egress, idle_stop, size)?;
    // Start-up makes again the environments it finds `creating`: not this one as well.
    state.services.reconciler.resumed().await?;
    let spec = EnvironmentSpec {
        name,
        repository_url,
        branch,
        egress,
        idle_stop,
        size,
    };
    let view = envs.create(who, spec).await?;
    Ok((
        StatusCode::CREATED,
        Json(EnvironmentBody::new(view, &state.services)),
    ))
}

/// The caller's environments.
#[utoipa::path(get, path = "/api/environments", tag = "environments",
    security(("bearer" = [])),
    responses((status = 200, description = "The caller's environments", body = EnvironmentList)))]
async fn list(
    State(state): State<AppState>,
    Caller(who): Caller,
) -> ApiResult<Json<EnvironmentList>> {
    let envs = state.services.environments.list(who, who.user_id).await?;
    Ok(Json(EnvironmentList {
        environments: envs
            .into_iter()
            .map(|v| EnvironmentBody::new(v, &state.services))
            .collect(),
    }))
}

/// A user's environments (that user or an admin only).
#[utoipa::path(get, path = "/api/environments/user/{userId}", tag = "environments",
    params(("userId" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user's environments", body = EnvironmentList),
        (status = 404, description = "No such user, or not yours to see", body = ErrorBody),
    ))]
async fn list_for_user(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(user_id): Path<String>,
) -> ApiResult<Json<EnvironmentList>> {
    let owner: UserId = path_id(&user_id, "user")?;
    let envs = state.services.environments.list(who, owner).await?;
    Ok(Json(EnvironmentList {
        environments: envs
            .into_iter()
            .map(|v| EnvironmentBody::new(v, &state.services))
            .collect(),
    }))
}

/// Whether a name is valid and not yet used by the caller.
#[utoipa::path(get, path = "/api/environments/check-name/{name}", tag = "environments",
    params(("name" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, description = "Availability", body = Availability)))]
async fn check_name(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<Availability>> {
    Ok(Json(
        state
            .services
            .environments
            .check_name(who, &name)
            .await?
            .into(),
    ))
}

/// One environment.
#[utoipa::path(get, path = "/api/environments/{id}", tag = "environments",
    params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The environment", body = EnvironmentBody),
        (status = 404, description = "No such environment", body = ErrorBody),
    ))]
async fn get(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<EnvironmentBody>> {
    let id: EnvironmentId = path_id(&id, "environment")?;
    let view = state.services.environments.get(who, id).await?;
    Ok(Json(EnvironmentBody::new(view, &state.services)))
}

/// The devcontainers of an environment's workspaces, those whose branch has a
/// devcontainer.json and that the server made or started since it runs.
#[derive(Debug, Serialize, ToSchema)]
pub struct DevcontainersBody {
    /// Each: `workspaceId`, `branch`, `status` (`reading`, `building`, `postCreate`,
    /// `postStart`, `ready`, `invalid`, `failed`), `config` (the file's summary),
    /// `unsupported` (`[{field, reason}]`), `forwardPorts` (`[{port, host?}]`), `error`,
    /// `log` (`[{at, line}]`, the newest 2000 lines), `logCut` and `updatedAt`.
    #[schema(value_type = Vec<Object>)]
    pub workspaces: Vec<serde_json::Value>,
}

/// The devcontainer of each workspace of an environment: status, the file's summary, what
/// it asks that is not applied, its ports and its progress log.
#[utoipa::path(get, path = "/api/environments/{id}/devcontainers", tag = "environments",
    params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The devcontainers", body = DevcontainersBody),
        (status = 404, description = "No such environment", body = ErrorBody),
    ))]
async fn devcontainers(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<DevcontainersBody>> {
    let id: EnvironmentId = path_id(&id, "environment")?;
    let view = state.services.environments.get(who, id).await?;
    let ids: Vec<_> = view.workspaces.iter().map(|w| w.id).collect();
    let workspaces = state
        .services
        .devcontainers
        .views(&ids)
        .into_iter()
        .map(|d| {
            let branch = view
                .workspaces
                .iter()
                .find(|w| w.id == d.workspace_id)
                .map(|w| w.branch.to_string());
            let mut value = serde_json::to_value(&d).unwrap_or_default();
            value["branch"] = serde_json::json!(branch);
            value
        })
        .collect();
    Ok(Json(DevcontainersBody { workspaces }))
}

/// Delete an environment: its containers, worktrees, clone and records. Answers when all
/// of it is gone.
#[utoipa::path(delete, path = "/api/environments/{id}", tag = "environments",
    params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such environment", body = ErrorBody),
        (status = 502, description = "The container engine failed", body = ErrorBody),
        (status = 503, description = "The server is still finishing, at start, what its previous run left half done", body = ErrorBody),
    ))]
async fn delete(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id: EnvironmentId = path_id(&id, "environment")?;
    // Start-up may be deleting or making this environment again; never both at once.
    state.services.reconciler.resumed().await?;
    state.services.environments.delete(who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Stop every container of the environment; files and branches stay.
#[utoipa::path(post, path = "/api/environments/{id}/stop", tag = "environments",
    params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Stopped", body = EnvironmentBody),
        (status = 404, description = "No such environment", body = ErrorBody),
        (status = 409, description = "Still being created or deleted", body = ErrorBody),
    ))]
async fn stop(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<EnvironmentBody>> {
    let id: EnvironmentId = path_id(&id, "environment")?;
    let view = state.services.environments.stop(who, id).await?;
    Ok(Json(EnvironmentBody::new(view, &state.services)))
}

/// Start the environment's containers again (an environment in `error` is made again).
#[utoipa::path(post, path = "/api/environments/{id}/start", tag = "environments",
    params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Started (or being made again)", body = EnvironmentBody),
        (status = 404, description = "No such environment", body = ErrorBody),
        (status = 409, description = "Still being created or deleted", body = ErrorBody),
        (status = 502, description = "The container engine failed", body = ErrorBody),
    ))]
async fn start(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<EnvironmentBody>> {
    let id: EnvironmentId = path_id(&id, "environment")?;
    let view = state.services.environments.start(who, id).await?;
    Ok(Json(EnvironmentBody::new(view, &state.services)))
}
