//! `/api/deployment/*`: Coolify deployments of an environment's branch.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use craftastic_domain::{BranchName, CoolifyAppId, DeploymentId, EnvironmentId};
use craftastic_store::Deployment;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::environments::path_id;
use crate::error::{ApiResult, ErrorBody, all_valid};
use crate::extract::{Caller, Json};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(deploy))
        .routes(routes!(status))
        .routes(routes!(list))
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

/// Deploy a branch of an environment to a Coolify application. Coolify is asked at once;
/// the answer is the deployment as `queued`, and it is followed in the background until it
/// ends (poll the status route).
#[utoipa::path(post, path = "/api/deployment/deploy", tag = "deployments",
    request_body = DeployRequest,
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued in Coolify", body = DeploymentBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
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
