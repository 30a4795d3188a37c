//! A fake Coolify that answers as Coolify's API v1 documents it (`openapi.yaml` of
//! coollabsio/coolify, and its `DeployController`):
//!
//! - `GET /api/v1/applications/{uuid}` → the application, 404 `Application not found.`;
//! - `PATCH /api/v1/applications/{uuid}` with `{"git_branch": …}` → `{"uuid"}`;
//! - `GET` (or `POST`) `/api/v1/deploy?uuid=…[&force=…]` →
//!   `{"deployments": [{"message", "resource_uuid", "deployment_uuid"}]}`, 404
//!   `No resources found.` for an unknown uuid;
//! - `GET /api/v1/deployments/{uuid}` → the deployment (`ApplicationDeploymentQueue`), 404
//!   `Deployment not found.`
//!
//! Every route wants `Authorization: Bearer` [`FAKE_TOKEN`] and answers 401
//! `{"message": "Unauthenticated."}` otherwise. Each deployment follows the script of
//! statuses its application was given: every read of the deployment answers the next one,
//! and the last one repeats. Failure modes (500 with a message, garbage, answers slower than
//! any client waits) apply to every route; every call is recorded.
//!
//! It listens on 127.0.0.1: only the server under test, in this process, calls it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use craftastic_service::deployments::{CoolifySettings, Secret};
use serde_json::{Value, json};

/// The API token the fake accepts.
pub const FAKE_TOKEN: &str = "7|fakeCoolifyTokenThatMustNeverLeak";
/// Something a build log may print, to check that logs are never kept.
pub const LOG_SECRET: &str = "DATABASE_PASSWORD=hunter2-from-the-build-log";

/// Statuses of a deployment that succeeds.
pub const SUCCEEDS: &[&str] = &["queued", "in_progress", "finished"];
/// Statuses of a deployment that fails.
pub const FAILS: &[&str] = &["queued", "in_progress", "failed"];
/// Statuses of a deployment that never ends (until [`FakeCoolify::set_status`]).
pub const STUCK: &[&str] = &["queued", "in_progress"];

/// How every route answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// As Coolify documents.
    Normal,
    /// `500` with `{"message": "Server Error"}`, as Laravel answers an exception.
    ServerError,
    /// `200` with a body that is not JSON.
    Garbage,
    /// As documented, but only after this long.
    Slow(Duration),
}

/// Which route a call went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Application,
    UpdateApplication,
    Deploy,
    Deployment,
}

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Call {
    pub endpoint: Endpoint,
    pub method: Method,
    /// The uuid in the path (application or deployment), if any.
    pub uuid: Option<String>,
    pub query: HashMap<String, String>,
    pub headers: HeaderMap,
    pub body: Option<Value>,
    pub at: Instant,
}

/// A resource of the fake Coolify.
#[derive(Debug, Clone)]
pub struct FakeApp {
    pub uuid: String,
    pub name: String,
    /// `None` for an application that does not build from git.
    pub git_branch: Option<String>,
    /// The statuses its deployments go through.
    pub statuses: Vec<String>,
}

impl FakeApp {
    pub fn new(uuid: &str, branch: &str, statuses: &[&str]) -> Self {
        Self {
            uuid: uuid.into(),
            name: format!("app-{uuid}"),
            git_branch: Some(branch.into()),
            statuses: statuses.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

struct FakeDeployment {
    app: String,
    /// The next statuses; the last one repeats.
    script: VecDeque<String>,
    force: bool,
    created: chrono::DateTime<chrono::Utc>,
}

struct Inner {
    mode: Mode,
    apps: HashMap<String, FakeApp>,
    deployments: HashMap<String, FakeDeployment>,
    calls: Vec<Call>,
    issued: u64,
}

type Shared = Arc<Mutex<Inner>>;

pub struct FakeCoolify {
    /// `http://127.0.0.1:<port>` (`COOLIFY_API_URL`).
    pub url: String,
    shared: Shared,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FakeCoolify {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let shared: Shared = Arc::new(Mutex::new(Inner {
            mode: Mode::Normal,
            apps: HashMap::new(),
            deployments: HashMap::new(),
            calls: Vec::new(),
            issued: 0,
        }));
        let app = Router::new()
            .route(
                "/api/v1/applications/{uuid}",
                get(application).patch(update_application),
            )
            .route("/api/v1/deploy", get(deploy).post(deploy))
            .route("/api/v1/deployments/{uuid}", get(deployment))
            .with_state(shared.clone());
        let tx = crate::git_server::serve(listener, app);
        Self {
            url,
            shared,
            shutdown: Some(tx),
        }
    }

    /// Settings that point Craftastic at this fake with its token, a short timeout and a
    /// poll interval of 100 ms.
    pub fn settings(&self) -> CoolifySettings {
        CoolifySettings {
            api_url: self.url.parse().expect("fake URL"),
            token: Secret::new(FAKE_TOKEN.into()),
            timeout: Duration::from_secs(5),
            poll_interval: Duration::from_millis(100),
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.shared.lock().expect("fake Coolify lock")
    }

    pub fn add_app(&self, app: FakeApp) {
        self.inner().apps.insert(app.uuid.clone(), app);
    }

    /// The branch the application builds now.
    pub fn branch_of(&self, app: &str) -> Option<String> {
        self.inner()
            .apps
            .get(app)
            .and_then(|a| a.git_branch.clone())
    }

    /// Queues a deployment of `app` as a deploy would, without being asked; returns its uuid.
    pub fn queue(&self, app: &str) -> String {
        queue(&mut self.inner(), app, false)
    }

    /// From now on the deployment answers `status`.
    pub fn set_status(&self, deployment: &str, status: &str) {
        let mut inner = self.inner();
        let d = inner
            .deployments
            .get_mut(deployment)
            .unwrap_or_else(|| panic!("the fake Coolify has no deployment {deployment:?}"));
        d.script = VecDeque::from([status.to_owned()]);
    }

    /// Forgets a deployment, as deleting it in Coolify does.
    pub fn forget(&self, deployment: &str) {
        self.inner().deployments.remove(deployment);
    }

    pub fn set_mode(&self, mode: Mode) {
        self.inner().mode = mode;
    }

    /// Every call so far, oldest first.
    pub fn calls(&self) -> Vec<Call> {
        self.inner().calls.clone()
    }

    /// How many calls went to `endpoint`.
    pub fn count(&self, endpoint: Endpoint) -> usize {
        self.inner()
            .calls
            .iter()
            .filter(|c| c.endpoint == endpoint)
            .count()
    }

    /// Whether a deployment was queued with `force`.
    pub fn forced(&self, deployment: &str) -> Option<bool> {
        self.inner().deployments.get(deployment).map(|d| d.force)
    }
}

impl Drop for FakeCoolify {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

fn message(status: StatusCode, text: &str) -> Response {
    (status, axum::Json(json!({ "message": text }))).into_response()
}

/// Records the call, checks the token, and answers for the failure modes; `None` means
/// "answer as documented".
async fn begin(
    shared: &Shared,
    endpoint: Endpoint,
    method: Method,
    uuid: Option<String>,
    query: HashMap<String, String>,
    headers: &HeaderMap,
    body: Option<Value>,
) -> Option<Response> {
    let mode = {
        let mut inner = shared.lock().expect("fake Coolify lock");
        inner.calls.push(Call {
            endpoint,
            method,
            uuid,
            query,
            headers: headers.clone(),
            body,
            at: Instant::now(),
        });
        inner.mode
    };
    match mode {
        Mode::Normal => {}
        Mode::ServerError => {
            return Some(message(StatusCode::INTERNAL_SERVER_ERROR, "Server Error"));
        }
        Mode::Garbage => {
            return Some(
                (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "text/html")],
                    "<html><body>Bad Gateway (nginx)</body></html>",
                )
                    .into_response(),
            );
        }
        Mode::Slow(delay) => tokio::time::sleep(delay).await,
    }
    let authorized = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        == Some(FAKE_TOKEN);
    if !authorized {
        return Some(message(StatusCode::UNAUTHORIZED, "Unauthenticated."));
    }
    None
}

fn app_json(app: &FakeApp) -> Value {
    json!({
        "id": 1,
        "uuid": app.uuid,
        "name": app.name,
        "description": null,
        "fqdn": format!("https://{}.example.com", app.name),
        "git_repository": "acme/app",
        "git_branch": app.git_branch,
        "git_commit_sha": "HEAD",
        "build_pack": "nixpacks",
        "ports_exposes": "3000",
        "status": "running:healthy",
        "environment_id": 1,
        "created_at": "2024-01-01T00:00:00.000000Z",
        "updated_at": "2024-01-01T00:00:00.000000Z",
    })
}

async fn application(
    State(shared): State<Shared>,
    Path(uuid): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = begin(
        &shared,
        Endpoint::Application,
        Method::GET,
        Some(uuid.clone()),
        HashMap::new(),
        &headers,
        None,
    )
    .await
    {
        return r;
    }
    let inner = shared.lock().expect("fake Coolify lock");
    match inner.apps.get(&uuid) {
        Some(app) => axum::Json(app_json(app)).into_response(),
        None => message(StatusCode::NOT_FOUND, "Application not found."),
    }
}

async fn update_application(
    State(shared): State<Shared>,
    Path(uuid): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let body: Option<Value> = serde_json::from_slice(&body).ok();
    if let Some(r) = begin(
        &shared,
        Endpoint::UpdateApplication,
        Method::PATCH,
        Some(uuid.clone()),
        HashMap::new(),
        &headers,
        body.clone(),
    )
    .await
    {
        return r;
    }
    let Some(body) = body.filter(Value::is_object) else {
        return message(StatusCode::BAD_REQUEST, "Invalid request.");
    };
    let mut inner = shared.lock().expect("fake Coolify lock");
    let Some(app) = inner.apps.get_mut(&uuid) else {
        return message(StatusCode::NOT_FOUND, "Application not found.");
    };
    match body.get("git_branch") {
        None => {}
        Some(Value::String(branch)) => app.git_branch = Some(branch.clone()),
        Some(_) => {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                axum::Json(json!({
                    "message": "Validation failed.",
                    "errors": { "git_branch": ["The git branch field must be a string."] },
                })),
            )
                .into_response();
        }
    }
    axum::Json(json!({ "uuid": uuid })).into_response()
}

/// A new deployment of `app`, with a cuid2-like uuid.
fn queue(inner: &mut Inner, app: &str, force: bool) -> String {
    inner.issued += 1;
    let uuid = format!(
        "dep{:05}{}",
        inner.issued,
        &uuid::Uuid::new_v4().simple().to_string()[..16]
    );
    let script = inner
        .apps
        .get(app)
        .map(|a| a.statuses.iter().cloned().collect())
        .unwrap_or_default();
    inner.deployments.insert(
        uuid.clone(),
        FakeDeployment {
            app: app.to_owned(),
            script,
            force,
            created: chrono::Utc::now(),
        },
    );
    uuid
}

async fn deploy(
    State(shared): State<Shared>,
    method: Method,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = begin(
        &shared,
        Endpoint::Deploy,
        method,
        None,
        query.clone(),
        &headers,
        None,
    )
    .await
    {
        return r;
    }
    let (uuids, tag) = (query.get("uuid"), query.get("tag"));
    if uuids.is_some() && tag.is_some() {
        return message(
            StatusCode::BAD_REQUEST,
            "You can only use uuid or tag, not both.",
        );
    }
    let Some(uuids) = uuids else {
        return message(StatusCode::BAD_REQUEST, "You must provide uuid or tag.");
    };
    // Coolify reads any value of `force` as true.
    let force = query.contains_key("force");
    let mut inner = shared.lock().expect("fake Coolify lock");
    let mut deployments = Vec::new();
    for uuid in uuids.split(',').filter(|u| !u.is_empty()) {
        let Some(app) = inner.apps.get(uuid).cloned() else {
            continue;
        };
        let deployment = queue(&mut inner, uuid, force);
        deployments.push(json!({
            "message": format!("Application {} deployment queued.", app.name),
            "resource_uuid": uuid,
            "deployment_uuid": deployment,
        }));
    }
    if deployments.is_empty() {
        return message(StatusCode::NOT_FOUND, "No resources found.");
    }
    axum::Json(json!({ "deployments": deployments })).into_response()
}

async fn deployment(
    State(shared): State<Shared>,
    Path(uuid): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = begin(
        &shared,
        Endpoint::Deployment,
        Method::GET,
        Some(uuid.clone()),
        HashMap::new(),
        &headers,
        None,
    )
    .await
    {
        return r;
    }
    let mut inner = shared.lock().expect("fake Coolify lock");
    let Some(d) = inner.deployments.get_mut(&uuid) else {
        return message(StatusCode::NOT_FOUND, "Deployment not found.");
    };
    let status = if d.script.len() > 1 {
        d.script.pop_front()
    } else {
        d.script.front().cloned()
    }
    .unwrap_or_else(|| "queued".into());
    let (app, force, created) = (d.app.clone(), d.force, d.created);
    let app_name = inner
        .apps
        .get(&app)
        .map_or_else(|| app.clone(), |a| a.name.clone());
    let now = chrono::Utc::now();
    axum::Json(json!({
        "id": 1,
        "application_id": "1",
        "deployment_uuid": uuid,
        "pull_request_id": 0,
        "force_rebuild": force,
        "commit": "9fceb02d0ae598e95dc970b74767f19372d61af8",
        "status": status,
        "is_webhook": false,
        "is_api": true,
        "created_at": created.to_rfc3339(),
        "updated_at": now.to_rfc3339(),
        "logs": format!("[{{\"output\":\"{LOG_SECRET}\",\"type\":\"stdout\"}}]"),
        "current_process_id": null,
        "restart_only": false,
        "git_type": "github",
        "server_id": 0,
        "application_name": app_name,
        "server_name": "localhost",
        "deployment_url": format!("/project/p1/environment/e1/application/{app}/deployment/{uuid}"),
        "destination_id": "0",
        "only_this_server": false,
        "rollback": false,
        "commit_message": "Feature commit\n\nWith a body.",
    }))
    .into_response()
}
