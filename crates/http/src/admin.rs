//! Admin-only operations: reconcile now, and the containers this server runs.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Caller, Json};
use craftastic_service::sandbox::labels;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(cleanup))
        .routes(routes!(containers))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CleanupReport {
    pub removed_containers: usize,
    pub missing_workspaces: usize,
    pub stopped_workspaces: usize,
    pub removed_repositories: usize,
    /// Steps that failed or did not finish in time (the log says which); the next pass,
    /// within a minute, tries them again.
    pub failures: usize,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerView {
    pub id: String,
    pub name: String,
    pub running: bool,
    pub environment_id: Option<String>,
    pub workspace_id: Option<String>,
    pub branch: Option<String>,
    pub owner_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContainerList {
    pub containers: Vec<ContainerView>,
}

/// Reconcile containers and records now (it also runs every minute).
#[utoipa::path(post, path = "/api/cleanup/sessions", tag = "operations",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "What was changed", body = CleanupReport),
        (status = 403, description = "Not an admin", body = ErrorBody),
    ))]
async fn cleanup(
    State(state): State<AppState>,
    Caller(who): Caller,
) -> ApiResult<Json<CleanupReport>> {
    let r = state.services.admin.cleanup(who).await?;
    Ok(Json(CleanupReport {
        removed_containers: r.removed_containers,
        missing_workspaces: r.missing_workspaces,
        stopped_workspaces: r.stopped_workspaces,
        removed_repositories: r.removed_repositories,
        failures: r.failures,
    }))
}

/// The containers this server runs, with their labels.
#[utoipa::path(get, path = "/api/containers/list", tag = "operations",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Containers", body = ContainerList),
        (status = 403, description = "Not an admin", body = ErrorBody),
    ))]
async fn containers(
    State(state): State<AppState>,
    Caller(who): Caller,
) -> ApiResult<Json<ContainerList>> {
    let found = state.services.admin.containers(who).await?;
    Ok(Json(ContainerList {
        containers: found
            .into_iter()
            .map(|c| ContainerView {
                environment_id: c.labels.get(labels::ENVIRONMENT).cloned(),
                workspace_id: c.labels.get(labels::WORKSPACE).cloned(),
                branch: c.labels.get(labels::BRANCH).cloned(),
                owner_id: c.labels.get(labels::OWNER).cloned(),
                id: c.id,
                name: c.name,
                running: c.running,
            })
            .collect(),
    }))
}
