//! `/api/deployment/*`: Coolify deployments of an environment's branch.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use craftastic_domain::{BranchName, CoolifyAppId, DeploymentId, EnvironmentId};
use craftastic_service::ServiceError;
use craftastic_service::deployments::Bound;
use craftastic_store::{Deployment, DeploymentBinding};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody, all_valid};
use crate::extract::{Caller, Json, path_id};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(deploy))
        .routes(routes!(status))
        .routes(routes!(list))
        .routes(routes!(bindings))
        .routes(routes!(bind, unbind))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeployRequest {
    pub environment_id: Uuid,
    /// The uuid of the Coolify application, as in its URL in Coolify.
    #[schema(example = "ro04ok80o8oc4kkcco8kow8s")]
    pub app_id: String,
    /// The branch to deploy; the environment's branch when left out. The Coolify
    /// application is switched to it if it builds another branch.
    pub branch: Option<String>,
    /// Rebuild without Coolify's cache.
    #[serde(default)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentStatus {
    Queued,
    InProgress,
    Finished,
    Failed,
    Cancelled,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentBody {
    pub id: Uuid,
    pub environment_id: Uuid,
    #[schema(example = "ro04ok80o8oc4kkcco8kow8s")]
    pub app_id: String,
    /// The branch deployed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// `queued` and `in_progress` move on by themselves; `finished`, `failed` and
    /// `cancelled` are final.
    pub status: DeploymentStatus,
    /// Coolify's id of the deployment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coolify_deployment_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// What is known besides the status, e.g. `coolifyMessage`, `coolifyStatus`,
    /// `previousBranch`, `startedAt`, `finishedAt`, `durationSeconds`, `commit`,
    /// `commitMessage`, `deploymentUrl`, `error` (why it failed, when Craftastic decided) and
    /// `lastError` (why Coolify could not be asked last time).
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
}

impl From<Deployment> for DeploymentBody {
    fn from(d: Deployment) -> Self {
        use craftastic_store::DeploymentStatus as S;
        Self {
            id: d.id.0,
            environment_id: d.environment_id.0,
            app_id: d.app_id.to_string(),
            branch: d.branch.map(|b| b.to_string()),
            status: match d.status {
                S::Queued => DeploymentStatus::Queued,
                S::InProgress => DeploymentStatus::InProgress,
                S::Finished => DeploymentStatus::Finished,
                S::Failed => DeploymentStatus::Failed,
                S::Cancelled => DeploymentStatus::Cancelled,
            },
            coolify_deployment_id: d.coolify_deployment_id,
            created_at: d.created_at,
            updated_at: d.updated_at,
            metadata: d.metadata,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeploymentList {
    /// Newest first.
    pub deployments: Vec<DeploymentBody>,
}

/// Deploy a branch of an environment to a Coolify application that an admin has bound to
/// the environment. Coolify is asked at once; the answer is the deployment as `queued`, and
/// it is followed in the background until it ends (poll the status route).
#[utoipa::path(post, path = "/api/deployment/deploy", tag = "deployments",
    request_body = DeployRequest,
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued in Coolify", body = DeploymentBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The application is not bound to the environment (`application_not_bound`)", body = ErrorBody),
        (status = 404, description = "No such environment", body = ErrorBody),
        (status = 422, description = "Invalid environmentId, appId or branch", body = ErrorBody),
        (status = 502, description = "Coolify failed, refused or did not answer; the message says why", body = ErrorBody),
        (status = 503, description = "COOLIFY_API_URL is not configured", body = ErrorBody),
    ))]
async fn deploy(
    State(state): State<AppState>,
    Caller(who): Caller,
    Json(body): Json<DeployRequest>,
) -> ApiResult<(StatusCode, Json<DeploymentBody>)> {
    let app_id = CoolifyAppId::parse(&body.app_id);
    let branch = body.branch.as_deref().map(BranchName::parse).transpose();
    let (app_id, branch, ()) = all_valid(app_id, branch, Ok(()))?;
    let deployment = state
        .services
        .deployments
        .deploy(
            who,
            EnvironmentId(body.environment_id),
            app_id,
            branch,
            body.force,
        )
        .await?;
    Ok((StatusCode::ACCEPTED, Json(deployment.into())))
}

/// One deployment, its status asked of Coolify when it has not ended yet. When Coolify
/// cannot be asked, the last known state comes back with `metadata.lastError`.
#[utoipa::path(get, path = "/api/deployment/status/{deploymentId}", tag = "deployments",
    params(("deploymentId" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The deployment", body = DeploymentBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such deployment", body = ErrorBody),
        (status = 503, description = "COOLIFY_API_URL is not configured", body = ErrorBody),
    ))]
async fn status(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(deployment_id): Path<String>,
) -> ApiResult<Json<DeploymentBody>> {
    let id: DeploymentId = path_id(&deployment_id, "deployment")?;
    Ok(Json(state.services.deployments.get(who, id).await?.into()))
}

/// An environment's deployments, newest first.
#[utoipa::path(get, path = "/api/deployment/list/{environmentId}", tag = "deployments",
    params(("environmentId" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The deployments", body = DeploymentList),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such environment", body = ErrorBody),
        (status = 503, description = "COOLIFY_API_URL is not configured", body = ErrorBody),
    ))]
async fn list(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(environment_id): Path<String>,
) -> ApiResult<Json<DeploymentList>> {
    let id: EnvironmentId = path_id(&environment_id, "environment")?;
    let deployments = state.services.deployments.list(who, id).await?;
    Ok(Json(DeploymentList {
        deployments: deployments.into_iter().map(Into::into).collect(),
    }))
}

/// A Coolify application an admin has allowed an environment to deploy.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentBindingBody {
    pub environment_id: Uuid,
    #[schema(example = "ro04ok80o8oc4kkcco8kow8s")]
    pub app_id: String,
    /// The admin who bound it (left out once that account is deleted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl From<DeploymentBinding> for DeploymentBindingBody {
    fn from(b: DeploymentBinding) -> Self {
        Self {
            environment_id: b.environment_id.0,
            app_id: b.app_id.to_string(),
            created_by: b.created_by.map(|u| u.0),
            created_at: b.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeploymentBindingList {
    /// Oldest first.
    pub bindings: Vec<DeploymentBindingBody>,
}

/// The Coolify applications an environment may deploy (its owner or an admin).
#[utoipa::path(get, path = "/api/environments/{id}/deployment-bindings", tag = "deployments",
    params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The bound applications", body = DeploymentBindingList),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such environment", body = ErrorBody),
    ))]
async fn bindings(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<DeploymentBindingList>> {
    let id: EnvironmentId = path_id(&id, "environment")?;
    let bindings = state.services.deployments.bindings(who, id).await?;
    Ok(Json(DeploymentBindingList {
        bindings: bindings.into_iter().map(Into::into).collect(),
    }))
}

/// Allow an environment to deploy a Coolify application (admins only). Binding it again
/// changes nothing and answers 200.
#[utoipa::path(put, path = "/api/environments/{id}/deployment-bindings/{appId}", tag = "deployments",
    params(("id" = Uuid, Path), ("appId" = String, Path, description = "The Coolify application's uuid")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Bound", body = DeploymentBindingBody),
        (status = 200, description = "It was bound already", body = DeploymentBindingBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an admin (`admin_only`)", body = ErrorBody),
        (status = 404, description = "No such environment", body = ErrorBody),
        (status = 422, description = "Invalid appId", body = ErrorBody),
    ))]
async fn bind(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path((id, app_id)): Path<(String, String)>,
) -> ApiResult<(StatusCode, Json<DeploymentBindingBody>)> {
    let id: EnvironmentId = path_id(&id, "environment")?;
    let app_id = CoolifyAppId::parse(&app_id)?;
    let (binding, bound) = state.services.deployments.bind(who, id, app_id).await?;
    let status = match bound {
        Bound::Created => StatusCode::CREATED,
        Bound::Existing => StatusCode::OK,
    };
    Ok((status, Json(binding.into())))
}

/// Take back an environment's permission to deploy a Coolify application (admins only).
/// Its past deployments stay listed.
#[utoipa::path(delete, path = "/api/environments/{id}/deployment-bindings/{appId}", tag = "deployments",
    params(("id" = Uuid, Path), ("appId" = String, Path, description = "The Coolify application's uuid")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Unbound"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an admin (`admin_only`)", body = ErrorBody),
        (status = 404, description = "No such environment, or the application is not bound to it", body = ErrorBody),
    ))]
async fn unbind(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path((id, app_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let id: EnvironmentId = path_id(&id, "environment")?;
    // A malformed uuid cannot be bound, so it names nothing here.
    let app_id = CoolifyAppId::parse(&app_id)
        .map_err(|_| ApiError::from(ServiceError::NotFound("deployment binding")))?;
    state.services.deployments.unbind(who, id, app_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
