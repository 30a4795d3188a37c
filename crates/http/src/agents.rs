//! `/api/agents/*`: the caller's coding agents and their credentials. A credential goes in
//! and never comes back out: answers say only whether there is one, and of which kind.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use craftastic_domain::{
    AgentCredential, AgentId, AgentName, AgentType, CredentialType, ValidationError,
};
use craftastic_service::agents::{CredentialUpdate, NewAgentRequest};
use craftastic_store::Agent;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody, all_valid};
use crate::extract::{Caller, Json, path_id, present};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get, update, delete))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentBody {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    /// `claude-code`, `gemini-cli`, `qwen-coder`, `cursor-cli`, `codex` or `opencode`.
    #[serde(rename = "type")]
    #[schema(example = "claude-code")]
    pub agent_type: String,
    pub has_credential: bool,
    /// `api-key` or `oauth`, when the agent has a credential. The value is never answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_type: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Agent> for AgentBody {
    fn from(a: Agent) -> Self {
        Self {
            id: a.id.0,
            user_id: a.user_id.0,
            name: a.name.to_string(),
            agent_type: a.agent_type.as_str().to_owned(),
            has_credential: a.credential_type.is_some(),
            credential_type: a.credential_type.map(|t| t.as_str().to_owned()),
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentList {
    pub agents: Vec<AgentBody>,
}

/// An agent's credential. Never answered back.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialInput {
    /// `api-key`: one token, handed to the CLI in its documented variable (e.g.
    /// `ANTHROPIC_API_KEY`); `oauth`: the CLI's credentials file, a JSON object (e.g. the
    /// content of `~/.claude/.credentials.json`).
    #[serde(rename = "type")]
    #[schema(example = "api-key")]
    pub kind: String,
    /// At most 32 KiB.
    pub value: String,
}

impl std::fmt::Debug for CredentialInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialInput")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl CredentialInput {
    fn parse(self) -> Result<AgentCredential, ValidationError> {
        AgentCredential::parse(CredentialType::parse(&self.kind)?, self.value)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateAgentRequest {
    /// Unique among the caller's agents; letters, digits, `.`, `_` and `-`.
    pub name: String,
    /// `claude-code`, `gemini-cli`, `qwen-coder`, `cursor-cli`, `codex` or `opencode`.
    #[serde(rename = "type")]
    #[schema(example = "claude-code")]
    pub agent_type: String,
    pub credential: Option<CredentialInput>,
}

/// The caller's agents, oldest first.
#[utoipa::path(get, path = "/api/agents", tag = "agents",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's agents", body = AgentList),
    ))]
async fn list(State(state): State<AppState>, Caller(who): Caller) -> ApiResult<Json<AgentList>> {
    let agents = state.services.agents.list(who).await?;
    Ok(Json(AgentList {
        agents: agents.into_iter().map(Into::into).collect(),
    }))
}

/// Create an agent, with its credential if one is given (sealed before it is stored).
#[utoipa::path(post, path = "/api/agents", tag = "agents",
    request_body = CreateAgentRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = AgentBody),
        (status = 409, description = "The caller has an agent of that name", body = ErrorBody),
        (status = 413, description = "The body is over 64 KiB", body = ErrorBody),
        (status = 422, description = "Invalid name, type or credential", body = ErrorBody),
    ))]
async fn create(
    State(state): State<AppState>,
    Caller(who): Caller,
    Json(body): Json<CreateAgentRequest>,
) -> ApiResult<(StatusCode, Json<AgentBody>)> {
    let (name, agent_type, credential) = all_valid(
        AgentName::parse(&body.name),
        AgentType::parse(&body.agent_type),
        body.credential.map(CredentialInput::parse).transpose(),
    )?;
    let agent = state
        .services
        .agents
        .create(
            who,
            NewAgentRequest {
                name,
                agent_type,
                credential,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(agent.into())))
}

/// One agent.
#[utoipa::path(get, path = "/api/agents/{id}", tag = "agents",
    params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The agent", body = AgentBody),
        (status = 404, description = "No such agent", body = ErrorBody),
    ))]
async fn get(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<AgentBody>> {
    let id: AgentId = path_id(&id, "agent")?;
    Ok(Json(state.services.agents.get(who, id).await?.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateAgentRequest {
    pub name: Option<String>,
    /// A credential replaces the agent's one; `null` removes it; leaving it out keeps it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<CredentialInput>, nullable)]
    pub credential: Option<Option<CredentialInput>>,
}

/// Rename an agent, or set, replace (`credential: {...}`) or remove (`credential: null`) its
/// credential. Running sessions keep the credential they started with.
#[utoipa::path(patch, path = "/api/agents/{id}", tag = "agents",
    params(("id" = Uuid, Path)),
    request_body = UpdateAgentRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The agent", body = AgentBody),
        (status = 404, description = "No such agent", body = ErrorBody),
        (status = 409, description = "The caller has an agent of that name", body = ErrorBody),
        (status = 413, description = "The body is over 64 KiB", body = ErrorBody),
        (status = 422, description = "Invalid name or credential", body = ErrorBody),
    ))]
async fn update(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    Json(body): Json<UpdateAgentRequest>,
) -> ApiResult<Json<AgentBody>> {
    let id: AgentId = path_id(&id, "agent")?;
    let credential = match body.credential {
        None => Ok(CredentialUpdate::Keep),
        Some(None) => Ok(CredentialUpdate::Remove),
        Some(Some(c)) => c.parse().map(CredentialUpdate::Set),
    };
    let (name, credential, ()) = all_valid(
        body.name.as_deref().map(AgentName::parse).transpose(),
        credential,
        Ok(()),
    )?;
    Ok(Json(
        state
            .services
            .agents
            .update(who, id, name, credential)
            .await?
            .into(),
    ))
}

/// Delete an agent and its credential. Its sessions stay; started again they open a shell.
#[utoipa::path(delete, path = "/api/agents/{id}", tag = "agents",
    params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such agent", body = ErrorBody),
    ))]
async fn delete(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id: AgentId = path_id(&id, "agent")?;
    state.services.agents.delete(who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
