//! `/api/environments/{id}/variables`: the environment's variables and secrets, which every
//! new session of it finds in its environment. Secrets are taken, sealed and never answered
//! back.

use axum::extract::{Path, State};
use craftastic_domain::{EnvironmentId, VariableEntry, VariableSet};
use craftastic_service::variables::VariablesView;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Caller, Json, path_id};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_variables, set_variables))
}

/// One variable; a secret without its value.
#[derive(Debug, Serialize, ToSchema)]
pub struct VariableBody {
    #[schema(example = "DATABASE_URL")]
    pub name: String,
    /// The value of a plain variable; absent for a secret, which is never shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// A secret is set (sealed at rest, never answered).
    pub secret: bool,
}

/// An environment's variables.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VariablesBody {
    /// In the order given.
    pub variables: Vec<VariableBody>,
    /// Grows with every change of them.
    pub version: i64,
    /// The sessions that run with other values (their `variablesOutdated` is true):
    /// starting them again (`dead`, then `active`) gives them these.
    pub outdated_sessions: Vec<Uuid>,
}

impl From<VariablesView> for VariablesBody {
    fn from(v: VariablesView) -> Self {
        Self {
            variables: v
                .variables
                .into_iter()
                .map(|v| VariableBody {
                    name: v.name.to_string(),
                    value: v.value,
                    secret: v.secret,
                })
                .collect(),
            version: v.version,
            outdated_sessions: v.outdated_sessions.into_iter().map(|s| s.0).collect(),
        }
    }
}

/// One variable to set.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariableRequest {
    /// A POSIX name (`[A-Za-z_][A-Za-z0-9_]*`, at most 128 characters), none of those the
    /// workspace sets itself (`PATH`, `HOME`, `USER`, `SHELL`, `TERM`, the proxy variables,
    /// …) or that change how every shell or program runs (`BASH_ENV`, `LD_*`, `TMUX*`,
    /// `CRAFTASTIC_*`, …).
    #[schema(example = "DATABASE_URL")]
    pub name: String,
    /// At most 32 KiB, no NUL byte; required for a plain variable (it may be empty). For a
    /// secret, left out (or `null`) keeps the value stored under this name.
    #[schema(example = "postgres://db/app")]
    pub value: Option<String>,
    /// Sealed at rest and never answered back; `false` when left out.
    #[serde(default)]
    pub secret: bool,
}

/// The whole set of an environment's variables, replacing the one it has.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariablesRequest {
    /// At most 100, each name once; names and values together at most 64 KiB.
    pub variables: Vec<VariableRequest>,
}

/// The environment's variables and secrets (the owner or an admin); a secret shows only
/// that it is set.
#[utoipa::path(get, path = "/api/environments/{id}/variables", tag = "environments",
    params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Its variables", body = VariablesBody),
        (status = 404, description = "No such environment", body = ErrorBody),
    ))]
async fn get_variables(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<VariablesBody>> {
    let id: EnvironmentId = path_id(&id, "environment")?;
    Ok(Json(state.services.variables.get(who, id).await?.into()))
}

/// Replace the environment's variables and secrets (the owner or an admin). Every new
/// session of the environment, terminal or agent, has them in its environment; sessions
/// running now keep the values they started with and are named in `outdatedSessions` until
/// they start again. A secret given without a value keeps the one stored under its name.
#[utoipa::path(put, path = "/api/environments/{id}/variables", tag = "environments",
    params(("id" = Uuid, Path)),
    request_body = VariablesRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Its variables now", body = VariablesBody),
        (status = 404, description = "No such environment", body = ErrorBody),
        (status = 409, description = "Being deleted", body = ErrorBody),
        (status = 422, description = "A bad name or value, each named by its place (`variables[2].name`)", body = ErrorBody),
    ))]
async fn set_variables(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    Json(body): Json<VariablesRequest>,
) -> ApiResult<Json<VariablesBody>> {
    let id: EnvironmentId = path_id(&id, "environment")?;
    let variables = VariableSet::parse(
        body.variables
            .into_iter()
            .map(|v| VariableEntry {
                name: v.name,
                value: v.value,
                secret: v.secret,
            })
            .collect(),
    )
    .map_err(ApiError::invalid_fields)?;
    Ok(Json(
        state
            .services
            .variables
            .set(who, id, variables)
            .await?
            .into(),
    ))
}
