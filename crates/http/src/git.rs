//! `/api/git/*`: status, diff, log, commit and push in a session's workspace (or, on the
//! seed's routes, the environment's default-branch workspace), and the repository's
//! branches.

use axum::extract::{Path, Query, State};
use craftastic_domain::{
    BranchName, CommitMessage, EnvironmentId, RemoteName, RepoPath, SessionId, ValidationError,
};
use craftastic_service::git::{self, Target};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Caller, Json, path_id};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(status))
        .routes(routes!(diff))
        .routes(routes!(log))
        .routes(routes!(commit))
        .routes(routes!(push))
        .routes(routes!(commit_seed))
        .routes(routes!(push_seed))
        .routes(routes!(fetch))
        .routes(routes!(repo))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileBody {
    pub path: String,
    /// Where a renamed or copied file came from.
    pub original_path: Option<String>,
    /// The state in the index: `unmodified`, `modified`, `type-changed`, `added`,
    /// `deleted`, `renamed`, `copied`, `unmerged` or `untracked`.
    pub index: String,
    /// The state in the worktree, same values.
    pub worktree: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusBody {
    /// `null` when HEAD is detached.
    pub branch: Option<String>,
    /// The branch it is compared with (`origin/main`); `null` before its first push.
    pub upstream: Option<String>,
    pub ahead: u64,
    pub behind: u64,
    /// No file changed.
    pub clean: bool,
    pub files: Vec<FileBody>,
}

impl From<git::Status> for StatusBody {
    fn from(s: git::Status) -> Self {
        Self {
            branch: s.branch,
            upstream: s.upstream,
            ahead: s.ahead,
            behind: s.behind,
            clean: s.files.is_empty(),
            files: s
                .files
                .into_iter()
                .map(|f| FileBody {
                    path: f.path,
                    original_path: f.original_path,
                    index: f.index.as_str().to_owned(),
                    worktree: f.worktree.as_str().to_owned(),
                })
                .collect(),
        }
    }
}

/// The status of a session's workspace, or (given an environment id) of the environment's
/// default-branch workspace.
#[utoipa::path(get, path = "/api/git/status/{id}", tag = "git",
    params(("id" = Uuid, Path, description = "A session id, or an environment id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The branch and its changed files", body = StatusBody),
        (status = 404, description = "No such session or environment", body = ErrorBody),
        (status = 409, description = "The workspace is not running", body = ErrorBody),
        (status = 502, description = "The container engine failed", body = ErrorBody),
    ))]
async fn status(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<StatusBody>> {
    let id: Uuid = path_id(&id, "session or environment")?;
    let status = state.services.git.status(who, Target::Either(id)).await?;
    Ok(Json(status.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct DiffQuery {
    /// One file, relative to the top of the worktree; every change when left out.
    pub file: Option<String>,
    /// The index against HEAD instead of the worktree against the index.
    pub staged: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DiffBody {
    /// A unified diff; a file git does not track is shown as new.
    pub diff: String,
    /// The diff was longer than 512 KiB and was cut at a line before that.
    pub truncated: bool,
    /// A binary file is part of it (git shows only that it differs).
    pub binary: bool,
}

/// The diff of a session's workspace.
#[utoipa::path(get, path = "/api/git/diff/{sessionId}", tag = "git",
    params(("sessionId" = Uuid, Path), DiffQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The diff", body = DiffBody),
        (status = 404, description = "No such session", body = ErrorBody),
        (status = 409, description = "The workspace is not running", body = ErrorBody),
        (status = 422, description = "The file path is not one of the worktree", body = ErrorBody),
    ))]
async fn diff(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    query: Result<Query<DiffQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<DiffBody>> {
    let id: SessionId = path_id(&id, "session")?;
    let Query(query) = query?;
    let file = query
        .file
        .as_deref()
        .map(|f| RepoPath::parse("file", f))
        .transpose()
        .map_err(ApiError::from)?;
    let diff = state
        .services
        .git
        .diff(
            who,
            Target::Session(id),
            file.as_ref(),
            query.staged.unwrap_or(false),
        )
        .await?;
    Ok(Json(DiffBody {
        diff: diff.diff,
        truncated: diff.truncated,
        binary: diff.binary,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    /// How many commits (1–100, default 20).
    pub limit: Option<u32>,
    /// How many of the newest commits to skip (default 0).
    pub offset: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommitBody {
    pub hash: String,
    pub author: String,
    pub email: String,
    /// The author date, strict ISO 8601.
    pub date: String,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogBody {
    pub commits: Vec<CommitBody>,
    /// More commits follow this page.
    pub has_more: bool,
}

/// The commits of a session's branch, newest first.
#[utoipa::path(get, path = "/api/git/log/{sessionId}", tag = "git",
    params(("sessionId" = Uuid, Path), LogQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of commits", body = LogBody),
        (status = 404, description = "No such session", body = ErrorBody),
        (status = 409, description = "The workspace is not running", body = ErrorBody),
        (status = 422, description = "limit or offset out of range", body = ErrorBody),
    ))]
async fn log(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    query: Result<Query<LogQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<LogBody>> {
    let id: SessionId = path_id(&id, "session")?;
    let Query(query) = query?;
    let limit = query.limit.unwrap_or(20);
    if !(1..=git::LOG_MAX).contains(&limit) {
        return Err(ValidationError::new(
            "limit",
            format!("limit must be between 1 and {}", git::LOG_MAX),
        )
        .into());
    }
    let page = state
        .services
        .git
        .log(who, Target::Session(id), limit, query.offset.unwrap_or(0))
        .await?;
    Ok(Json(LogBody {
        has_more: page.has_more,
        commits: page
            .commits
            .into_iter()
            .map(|c| CommitBody {
                hash: c.hash,
                author: c.author,
                email: c.email,
                date: c.date,
                message: c.message,
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommitRequest {
    /// The commit message (at most 32 KiB).
    pub message: String,
    /// Files to commit, relative to the top of the worktree; every change (untracked files
    /// included) when left out or empty.
    pub files: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedCommitRequest {
    /// The session whose workspace commits; or give `environmentId`.
    pub session_id: Option<Uuid>,
    /// The environment whose default-branch workspace commits.
    pub environment_id: Option<Uuid>,
    pub message: String,
    pub files: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommittedBody {
    /// The new commit.
    pub hash: String,
}

/// Commit in a session's workspace.
#[utoipa::path(post, path = "/api/git/commit/{sessionId}", tag = "git",
    params(("sessionId" = Uuid, Path)),
    request_body = CommitRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Committed", body = CommittedBody),
        (status = 404, description = "No such session", body = ErrorBody),
        (status = 409, description = "Nothing to commit, the session ended, the workspace is not running, or git refused", body = ErrorBody),
        (status = 422, description = "An empty or too long message, or a file path that is not one of the worktree", body = ErrorBody),
    ))]
async fn commit(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    Json(body): Json<CommitRequest>,
) -> ApiResult<Json<CommittedBody>> {
    let id: SessionId = path_id(&id, "session")?;
    do_commit(&state, who, Target::Session(id), &body.message, body.files).await
}

/// Commit in a session's workspace, or the environment's default-branch workspace.
#[utoipa::path(post, path = "/api/git/commit", tag = "git",
    request_body = SeedCommitRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Committed", body = CommittedBody),
        (status = 404, description = "No such session or environment", body = ErrorBody),
        (status = 409, description = "Nothing to commit, the session ended, the workspace is not running, or git refused", body = ErrorBody),
        (status = 422, description = "Bad message or files, or not exactly one of sessionId and environmentId", body = ErrorBody),
    ))]
async fn commit_seed(
    State(state): State<AppState>,
    Caller(who): Caller,
    Json(body): Json<SeedCommitRequest>,
) -> ApiResult<Json<CommittedBody>> {
    let target = seed_target(body.session_id, body.environment_id)?;
    do_commit(&state, who, target, &body.message, body.files).await
}

async fn do_commit(
    state: &AppState,
    who: craftastic_service::tokens::Principal,
    target: Target,
    message: &str,
    files: Option<Vec<String>>,
) -> ApiResult<Json<CommittedBody>> {
    let message = CommitMessage::parse(message);
    let files: Result<Vec<RepoPath>, ValidationError> = files
        .unwrap_or_default()
        .iter()
        .map(|f| RepoPath::parse("files", f))
        .collect();
    let (message, files) = match (message, files) {
        (Ok(m), Ok(f)) => (m, f),
        (m, f) => {
            return Err(ApiError::invalid_fields(
                [m.err(), f.err()].into_iter().flatten().collect(),
            ));
        }
    };
    let hash = state
        .services
        .git
        .commit(who, target, &message, &files)
        .await?;
    Ok(Json(CommittedBody { hash }))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PushRequest {
    /// `origin` when left out.
    pub remote: Option<String>,
    /// The workspace's branch when left out.
    pub branch: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedPushRequest {
    pub session_id: Option<Uuid>,
    pub environment_id: Option<Uuid>,
    pub remote: Option<String>,
    pub branch: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PushedBody {
    pub pushed: bool,
    pub remote: String,
    pub branch: String,
}

/// Push a session's branch; it becomes the branch's upstream.
#[utoipa::path(post, path = "/api/git/push/{sessionId}", tag = "git",
    params(("sessionId" = Uuid, Path)),
    request_body = PushRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Pushed", body = PushedBody),
        (status = 404, description = "No such session", body = ErrorBody),
        (status = 409, description = "The remote refused (e.g. it has commits the branch lacks), the session ended, or the workspace is not running", body = ErrorBody),
        (status = 422, description = "No such remote or branch", body = ErrorBody),
        (status = 502, description = "The remote cannot be reached or refused the credentials", body = ErrorBody),
    ))]
async fn push(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<PushedBody>> {
    let id: SessionId = path_id(&id, "session")?;
    let body: PushRequest = optional_body(&body)?;
    do_push(&state, who, Target::Session(id), body.remote, body.branch).await
}

/// Push from a session's workspace, or the environment's default-branch workspace.
#[utoipa::path(post, path = "/api/git/push", tag = "git",
    request_body = SeedPushRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Pushed", body = PushedBody),
        (status = 404, description = "No such session or environment", body = ErrorBody),
        (status = 409, description = "The remote refused, the session ended, or the workspace is not running", body = ErrorBody),
        (status = 422, description = "No such remote or branch, or not exactly one of sessionId and environmentId", body = ErrorBody),
        (status = 502, description = "The remote cannot be reached or refused the credentials", body = ErrorBody),
    ))]
async fn push_seed(
    State(state): State<AppState>,
    Caller(who): Caller,
    Json(body): Json<SeedPushRequest>,
) -> ApiResult<Json<PushedBody>> {
    let target = seed_target(body.session_id, body.environment_id)?;
    do_push(&state, who, target, body.remote, body.branch).await
}

async fn do_push(
    state: &AppState,
    who: craftastic_service::tokens::Principal,
    target: Target,
    remote: Option<String>,
    branch: Option<String>,
) -> ApiResult<Json<PushedBody>> {
    let remote = remote.as_deref().map(RemoteName::parse).transpose();
    let branch = branch.as_deref().map(BranchName::parse).transpose();
    let (remote, branch) = match (remote, branch) {
        (Ok(r), Ok(b)) => (r, b),
        (r, b) => {
            return Err(ApiError::invalid_fields(
                [r.err(), b.err()].into_iter().flatten().collect(),
            ));
        }
    };
    let pushed = state.services.git.push(who, target, remote, branch).await?;
    Ok(Json(PushedBody {
        pushed: true,
        remote: pushed.remote.to_string(),
        branch: pushed.branch.to_string(),
    }))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FetchRequest {
    /// `origin` when left out.
    pub remote: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FetchedBody {
    pub fetched: bool,
    pub remote: String,
}

/// Fetch a remote into a session's workspace (with the linked GitHub token when the remote
/// is on GitHub), so that the status shows what the remote has that the branch lacks.
#[utoipa::path(post, path = "/api/git/fetch/{sessionId}", tag = "git",
    params(("sessionId" = Uuid, Path)),
    request_body = FetchRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Fetched", body = FetchedBody),
        (status = 404, description = "No such session", body = ErrorBody),
        (status = 409, description = "The workspace is not running", body = ErrorBody),
        (status = 422, description = "No such remote", body = ErrorBody),
        (status = 502, description = "The remote cannot be reached or refused the credentials", body = ErrorBody),
    ))]
async fn fetch(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<FetchedBody>> {
    let id: SessionId = path_id(&id, "session")?;
    let body: FetchRequest = optional_body(&body)?;
    let remote = body
        .remote
        .as_deref()
        .map(RemoteName::parse)
        .transpose()
        .map_err(ApiError::from)?;
    let remote = state
        .services
        .git
        .fetch(who, Target::Session(id), remote)
        .await?;
    Ok(Json(FetchedBody {
        fetched: true,
        remote: remote.to_string(),
    }))
}

/// A JSON body whose fields all have defaults: an empty body is `{}`.
fn optional_body<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> ApiResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    Ok(axum::Json::<T>::from_bytes(body)?.0)
}

fn seed_target(session: Option<Uuid>, environment: Option<Uuid>) -> ApiResult<Target> {
    match (session, environment) {
        (Some(s), None) => Ok(Target::Session(SessionId(s))),
        (None, Some(e)) => Ok(Target::Environment(EnvironmentId(e))),
        _ => Err(ValidationError::new(
            "sessionId",
            "give exactly one of sessionId (a session's workspace) and environmentId (the environment's default-branch workspace)",
        )
        .into()),
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorktreeBody {
    pub branch: String,
    /// The sessions working in it.
    pub session_ids: Vec<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RepoBody {
    pub repository_url: Option<String>,
    pub default_branch: String,
    pub branches: Vec<String>,
    /// The branches that have a workspace.
    pub worktrees: Vec<WorktreeBody>,
}

/// The environment's repository: branches, and which workspaces hold which branch.
#[utoipa::path(get, path = "/api/git/repo/{environmentId}", tag = "git",
    params(("environmentId" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The repository", body = RepoBody),
        (status = 404, description = "No such environment", body = ErrorBody),
    ))]
async fn repo(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<RepoBody>> {
    let id: EnvironmentId = path_id(&id, "environment")?;
    let info = state.services.git.repo(who, id).await?;
    Ok(Json(RepoBody {
        repository_url: info.repository_url,
        default_branch: info.default_branch.to_string(),
        branches: info.branches,
        worktrees: info
            .worktrees
            .into_iter()
            .map(|(branch, sessions)| WorktreeBody {
                branch: branch.to_string(),
                session_ids: sessions.into_iter().map(|s| s.0).collect(),
            })
            .collect(),
    }))
}
