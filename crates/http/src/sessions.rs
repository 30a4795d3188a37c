//! `/api/sessions/*`: tmux sessions in the workspaces of an environment's branches.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use craftastic_domain::{BranchName, EnvironmentId, SessionId, SessionName, WorkingDirectory};
use craftastic_service::sessions::{Deleted, NewSessionRequest};
use craftastic_store::{SessionStatus, SessionType};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody, all_valid};
use crate::extract::{Caller, Json, path_id};
use crate::views::{Availability, SessionBody};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(list))
        .routes(routes!(get, update, delete))
        .routes(routes!(status))
        .routes(routes!(recording))
        .routes(routes!(check_name))
        .routes(routes!(check_branch))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    pub sessions: Vec<SessionBody>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SessionTypeInput {
    #[default]
    Terminal,
    Agent,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateSessionRequest {
    pub environment_id: Uuid,
    /// Unique in the environment; made from the branch when left out.
    pub name: Option<String>,
    /// The environment's branch when left out; a branch that does not exist yet is created
    /// from the environment's branch.
    pub branch: Option<String>,
    /// A folder of the worktree, absolute (`/workspace/src`) or relative to it (`src`).
    pub working_directory: Option<String>,
    #[serde(default)]
    pub session_type: SessionTypeInput,
    /// The agent to start, for `sessionType: "agent"`: one of the environment owner's.
    pub agent_id: Option<Uuid>,
}

/// Start a session: a tmux session with a shell in the workspace of the branch (made if
/// needed), or with `sessionType: "agent"` the agent's CLI with its credential in place.
#[utoipa::path(post, path = "/api/sessions", tag = "sessions",
    request_body = CreateSessionRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Started", body = SessionBody),
        (status = 404, description = "No such environment, or no such agent of the environment's owner", body = ErrorBody),
        (status = 409, description = "Name taken, or the environment is not running", body = ErrorBody),
        (status = 422, description = "Invalid name, branch or working directory, or agentId missing (agent session) or not wanted (terminal session)", body = ErrorBody),
        (status = 502, description = "The container engine failed", body = ErrorBody),
    ))]
async fn create(
    State(state): State<AppState>,
    Caller(who): Caller,
    Json(body): Json<CreateSessionRequest>,
) -> ApiResult<(StatusCode, Json<SessionBody>)> {
    let name = body.name.as_deref().map(SessionName::parse).transpose();
    let branch = body.branch.as_deref().map(BranchName::parse).transpose();
    let dir = body
        .working_directory
        .as_deref()
        .map(WorkingDirectory::parse)
        .transpose();
    let (name, branch, working_directory) = all_valid(name, branch, dir)?;
    let session = state
        .services
        .sessions
        .create(
            who,
            NewSessionRequest {
                environment_id: EnvironmentId(body.environment_id),
                name,
                branch,
                working_directory,
                session_type: match body.session_type {
                    SessionTypeInput::Terminal => SessionType::Terminal,
                    SessionTypeInput::Agent => SessionType::Agent,
                },
                agent_id: body.agent_id,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(SessionBody::new(session, &state.services.activities)),
    ))
}

/// The sessions of an environment, oldest first.
#[utoipa::path(get, path = "/api/sessions/environment/{environmentId}", tag = "sessions",
    params(("environmentId" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Its sessions", body = SessionList),
        (status = 404, description = "No such environment", body = ErrorBody),
    ))]
async fn list(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(env): Path<String>,
) -> ApiResult<Json<SessionList>> {
    let env: EnvironmentId = path_id(&env, "environment")?;
    let sessions = state.services.sessions.list(who, env).await?;
    Ok(Json(SessionList {
        sessions: sessions
            .into_iter()
            .map(|s| SessionBody::new(s, &state.services.activities))
            .collect(),
    }))
}

/// One session.
#[utoipa::path(get, path = "/api/sessions/{id}", tag = "sessions",
    params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The session", body = SessionBody),
        (status = 404, description = "No such session", body = ErrorBody),
    ))]
async fn get(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<SessionBody>> {
    let id: SessionId = path_id(&id, "session")?;
    let session = state.services.sessions.get(who, id).await?;
    Ok(Json(SessionBody::new(session, &state.services.activities)))
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SessionStatusInput {
    Active,
    Inactive,
    Dead,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateSessionRequest {
    pub name: Option<String>,
    /// `active` starts an ended session again; `dead` ends its tmux session and keeps it.
    pub status: Option<SessionStatusInput>,
}

/// Rename a session, or end it (`dead`) or start it again (`active`).
#[utoipa::path(patch, path = "/api/sessions/{id}", tag = "sessions",
    params(("id" = Uuid, Path)),
    request_body = UpdateSessionRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The session", body = SessionBody),
        (status = 404, description = "No such session", body = ErrorBody),
        (status = 409, description = "Name taken, or the environment is not running", body = ErrorBody),
        (status = 422, description = "Invalid name or status", body = ErrorBody),
    ))]
async fn update(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    Json(body): Json<UpdateSessionRequest>,
) -> ApiResult<Json<SessionBody>> {
    let id: SessionId = path_id(&id, "session")?;
    let name = body.name.as_deref().map(SessionName::parse).transpose();
    let (name, (), ()) = all_valid(name, Ok(()), Ok(()))?;
    let status = body.status.map(|s| match s {
        SessionStatusInput::Active => SessionStatus::Active,
        SessionStatusInput::Inactive => SessionStatus::Inactive,
        SessionStatusInput::Dead => SessionStatus::Dead,
    });
    Ok(Json(SessionBody::new(
        state
            .services
            .sessions
            .update(who, id, name, status)
            .await?,
        &state.services.activities,
    )))
}

/// The answer of a delete that kept the branch's workspace.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionDeleted {
    pub deleted: bool,
    /// `true`: the workspace of the branch was kept; `reason` says why.
    pub workspace_kept: bool,
    pub reason: String,
}

/// Delete a session: its tmux session ends. The workspace of its branch goes with the
/// branch's last session (answer 204), unless it has uncommitted changes: then it stays,
/// and the answer is 200 with the reason.
#[utoipa::path(delete, path = "/api/sessions/{id}", tag = "sessions",
    params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 200, description = "Deleted; the branch's workspace was kept", body = SessionDeleted),
        (status = 404, description = "No such session", body = ErrorBody),
        (status = 502, description = "The container engine failed", body = ErrorBody),
    ))]
async fn delete(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id: SessionId = path_id(&id, "session")?;
    Ok(match state.services.sessions.delete(who, id).await? {
        Deleted::Done => StatusCode::NO_CONTENT.into_response(),
        Deleted::WorkspaceKept { reason } => Json(SessionDeleted {
            deleted: true,
            workspace_kept: true,
            reason,
        })
        .into_response(),
    })
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionStatusBody {
    pub status: String,
    pub tmux_alive: bool,
    pub container_running: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_activity: Option<DateTime<Utc>>,
}

/// Whether the session's tmux session and container run, checked now.
#[utoipa::path(get, path = "/api/sessions/{id}/status", tag = "sessions",
    params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Its state", body = SessionStatusBody),
        (status = 404, description = "No such session", body = ErrorBody),
    ))]
async fn status(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<SessionStatusBody>> {
    let id: SessionId = path_id(&id, "session")?;
    let l = state.services.sessions.liveness(who, id).await?;
    Ok(Json(SessionStatusBody {
        status: l.status.as_str().to_owned(),
        tmux_alive: l.tmux_alive,
        container_running: l.container_running,
        last_activity: l.last_activity,
    }))
}

/// The session's recording: its output as asciicast v2 (asciinema's format), a header line
/// then one `[time, "o", text]` or `[time, "r", "WxH"]` event a line, times in seconds from
/// the first event. It holds the newest output, up to `SESSION_RECORDING_LIMIT` bytes; input
/// is not recorded. The recording is kept in the workspace, which must be running.
#[utoipa::path(get, path = "/api/sessions/{id}/recording", tag = "sessions",
    params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The recording", content_type = "application/x-asciicast", body = String),
        (status = 404, description = "No such session", body = ErrorBody),
        (status = 409, description = "The workspace is not running (`not_running`), the session has no recording (`not_recorded`), or the workspace gave more than a recording holds (`output_too_large`)", body = ErrorBody),
        (status = 502, description = "The container engine failed", body = ErrorBody),
        (status = 503, description = "Too many recordings are being read; see `Retry-After`", body = ErrorBody),
    ))]
async fn recording(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id: SessionId = path_id(&id, "session")?;
    let recording = state.services.sessions.recording(who, id).await?;
    let mut response = recording.text.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-asciicast"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Whether a session name is valid and not yet used in the environment.
#[utoipa::path(get, path = "/api/sessions/check-name/{environmentId}/{name}", tag = "sessions",
    params(("environmentId" = Uuid, Path), ("name" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Availability", body = Availability),
        (status = 404, description = "No such environment", body = ErrorBody),
    ))]
async fn check_name(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path((env, name)): Path<(String, String)>,
) -> ApiResult<Json<Availability>> {
    let env: EnvironmentId = path_id(&env, "environment")?;
    Ok(Json(
        state
            .services
            .sessions
            .check_name(who, env, &name)
            .await?
            .into(),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BranchCheckBody {
    /// A name git accepts.
    pub valid: bool,
    /// The repository has it (otherwise a session on it creates it).
    pub exists: bool,
    pub in_use_by_sessions: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Whether a branch name is valid, exists, and how many sessions work on it.
#[utoipa::path(get, path = "/api/sessions/check-branch/{environmentId}/{branch}", tag = "sessions",
    params(("environmentId" = Uuid, Path), ("branch" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "What is known of the branch", body = BranchCheckBody),
        (status = 404, description = "No such environment", body = ErrorBody),
    ))]
async fn check_branch(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path((env, branch)): Path<(String, String)>,
) -> ApiResult<Json<BranchCheckBody>> {
    let env: EnvironmentId = path_id(&env, "environment")?;
    let c = state
        .services
        .sessions
        .check_branch(who, env, &branch)
        .await?;
    Ok(Json(BranchCheckBody {
        valid: c.valid,
        exists: c.exists,
        in_use_by_sessions: c.in_use_by_sessions,
        reason: c.reason,
    }))
}
