//! A fake GitHub that answers as GitHub documents: the OAuth device flow
//! (`POST /login/device/code`, `POST /login/oauth/access_token`) on its web URL, and
//! `GET /user` and `GET /user/repos` (with `Link` headers) under `/api/v3`, the way GitHub
//! Enterprise serves its API, so that `GITHUB_URL` and `GITHUB_API_URL` differ.
//!
//! It listens on every interface and names itself by the Docker bridge's gateway address, so
//! that the server under test and workspace containers reach it at the same URL. Each device
//! code follows a script of outcomes the test programs; every call is recorded.
//! [`FakeGithub::start_with`] mounts more routes beside GitHub's (e.g. a git server serving
//! `{url}/{owner}/{repo}.git`); the failure modes never touch those.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use craftastic_service::github::GithubSettings;
use serde_json::{Value, json};

/// The client id the fake accepts.
pub const FAKE_CLIENT_ID: &str = "Iv1.fakecraftastic";

/// What one poll of the token endpoint answers for a device code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `authorization_pending`.
    Pending,
    /// `slow_down`, with the new interval in seconds when `Some` (GitHub sends it).
    SlowDown(Option<u64>),
    /// `expired_token`.
    Expired,
    /// `access_denied`.
    Denied,
    /// Another documented error code, e.g. `incorrect_device_code` or `device_flow_disabled`.
    Error(String),
    /// The user authorized: this access token (register its account with
    /// [`FakeGithub::add_account`]).
    Token(String),
}

/// How the GitHub routes answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// As GitHub documents.
    Normal,
    /// `500 Internal Server Error` on every GitHub route.
    ServerError,
    /// `200 OK` with a body that is not JSON on every GitHub route.
    Garbage,
}

/// Which GitHub route a call went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    DeviceCode,
    Token,
    User,
    Repos,
}

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Call {
    pub endpoint: Endpoint,
    pub at: Instant,
    /// The query string (API routes) or the form body (device-flow routes).
    pub params: HashMap<String, String>,
    pub headers: HeaderMap,
}

/// A repository of a fake account. Its clone URL is `{url}/{full_name}.git`.
#[derive(Debug, Clone)]
pub struct FakeRepo {
    pub full_name: String,
    pub private: bool,
    pub default_branch: String,
}

impl FakeRepo {
    pub fn public(full_name: &str) -> Self {
        Self {
            full_name: full_name.into(),
            private: false,
            default_branch: "main".into(),
        }
    }

    pub fn private(full_name: &str) -> Self {
        Self {
            private: true,
            ..Self::public(full_name)
        }
    }
}

/// A GitHub account that an access token belongs to.
#[derive(Debug, Clone)]
pub struct FakeAccount {
    pub login: String,
    pub id: i64,
    /// Most recently updated first, as `sort=updated` lists them.
    pub repos: Vec<FakeRepo>,
}

struct DeviceCode {
    user_code: String,
    issued: Instant,
    /// The next outcomes; the last one repeats.
    script: VecDeque<Outcome>,
}

struct Inner {
    mode: Mode,
    interval: u64,
    expires_in: u64,
    issued: u64,
    codes: HashMap<String, DeviceCode>,
    accounts: HashMap<String, FakeAccount>,
    calls: Vec<Call>,
}

struct Shared {
    url: String,
    api_url: String,
    inner: Mutex<Inner>,
}

pub struct FakeGithub {
    /// The web URL (`GITHUB_URL`), `http://<bridge gateway>:<port>`.
    pub url: String,
    /// The API URL (`GITHUB_API_URL`), `{url}/api/v3`.
    pub api_url: String,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FakeGithub {
    pub async fn start() -> Self {
        Self::start_with(Router::new()).await
    }

    /// Starts the fake with `extra` routes merged beside GitHub's.
    pub async fn start_with(extra: Router) -> Self {
        let (listener, url) = crate::git_server::bind_for_containers().await;
        let api_url = format!("{url}/api/v3");
        let shared = Arc::new(Shared {
            url: url.clone(),
            api_url: api_url.clone(),
            inner: Mutex::new(Inner {
                mode: Mode::Normal,
                interval: 1,
                expires_in: 900,
                issued: 0,
                codes: HashMap::new(),
                accounts: HashMap::new(),
                calls: Vec::new(),
            }),
        });
        let github = Router::new()
            .route("/login/device/code", post(device_code))
            .route("/login/oauth/access_token", post(access_token))
            .route("/api/v3/user", get(user))
            .route("/api/v3/user/repos", get(repos))
            .with_state(shared.clone());
        let app = github.merge(extra);
        let tx = crate::git_server::serve(listener, app);
        Self {
            url,
            api_url,
            shared,
            shutdown: Some(tx),
        }
    }

    /// Settings that point Craftastic at this fake, with its client id and a short timeout.
    pub fn settings(&self) -> GithubSettings {
        GithubSettings {
            web_url: self.url.parse().expect("fake URL"),
            api_url: self.api_url.parse().expect("fake API URL"),
            client_id: Some(FAKE_CLIENT_ID.into()),
            timeout: Duration::from_secs(5),
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.shared.inner.lock().expect("fake GitHub lock")
    }

    /// The interval and lifetime (seconds) of the device codes issued from now on
    /// (default: 1 and 900).
    pub fn set_device_timing(&self, interval: u64, expires_in: u64) {
        let mut inner = self.inner();
        inner.interval = interval;
        inner.expires_in = expires_in;
    }

    /// Programs the outcomes of the token polls for the device code shown as `user_code`, in
    /// order; the last one repeats. Unprogrammed codes stay pending.
    pub fn program(&self, user_code: &str, outcomes: impl IntoIterator<Item = Outcome>) {
        let mut inner = self.inner();
        let code = inner
            .codes
            .values_mut()
            .find(|c| c.user_code == user_code)
            .unwrap_or_else(|| panic!("the fake GitHub issued no user code {user_code:?}"));
        code.script = outcomes.into_iter().collect();
    }

    /// Registers the account a token belongs to.
    pub fn add_account(&self, token: &str, account: FakeAccount) {
        self.inner().accounts.insert(token.into(), account);
    }

    /// Makes `token` answer 401, as a token revoked at GitHub does.
    pub fn revoke(&self, token: &str) {
        self.inner().accounts.remove(token);
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

    /// When the token endpoint was polled, oldest first.
    pub fn poll_times(&self) -> Vec<Instant> {
        self.inner()
            .calls
            .iter()
            .filter(|c| c.endpoint == Endpoint::Token)
            .map(|c| c.at)
            .collect()
    }

    /// The clone URL of a repository `owner/name`, as the fake lists it.
    pub fn clone_url(&self, full_name: &str) -> String {
        format!("{}/{full_name}.git", self.url)
    }
}

impl Drop for FakeGithub {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Shared {
    /// Records the call; answers for the failure modes.
    fn record(
        &self,
        endpoint: Endpoint,
        params: HashMap<String, String>,
        headers: &HeaderMap,
    ) -> Option<Response> {
        let mut inner = self.inner.lock().expect("fake GitHub lock");
        inner.calls.push(Call {
            endpoint,
            at: Instant::now(),
            params,
            headers: headers.clone(),
        });
        match inner.mode {
            Mode::Normal => None,
            Mode::ServerError => Some(
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    [(header::CONTENT_TYPE, "text/plain")],
                    "Internal Server Error",
                )
                    .into_response(),
            ),
            Mode::Garbage => Some(
                (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "text/html")],
                    "<html><body>Unicorn! This page is taking too long to load.</body></html>",
                )
                    .into_response(),
            ),
        }
    }
}

/// The device-flow endpoints answer JSON only to `Accept: application/json`; otherwise
/// form-encoded, as GitHub does.
fn oauth_answer(headers: &HeaderMap, body: Value) -> Response {
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    if wants_json {
        return axum::Json(body).into_response();
    }
    let form = body
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| match v {
                    Value::String(s) => format!("{k}={s}"),
                    other => format!("{k}={other}"),
                })
                .collect::<Vec<_>>()
                .join("&")
        })
        .unwrap_or_default();
    (
        [(header::CONTENT_TYPE, "application/x-www-form-urlencoded")],
        form,
    )
        .into_response()
}

fn oauth_error(headers: &HeaderMap, code: &str, extra: Value) -> Response {
    let mut body = json!({
        "error": code,
        "error_description": format!("fake GitHub: {code}"),
        "error_uri": "https://docs.github.com/developers/apps/authorizing-oauth-apps#error-codes-for-the-device-flow",
    });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    oauth_answer(headers, body)
}

async fn device_code(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = shared.record(Endpoint::DeviceCode, form.clone(), &headers) {
        return r;
    }
    if form.get("client_id").map(String::as_str) != Some(FAKE_CLIENT_ID) {
        return oauth_error(&headers, "incorrect_client_credentials", json!({}));
    }
    let mut inner = shared.inner.lock().expect("fake GitHub lock");
    inner.issued += 1;
    let n = inner.issued;
    let device_code = format!("fake-device-code-{n}-{}", uuid::Uuid::new_v4().simple());
    let user_code = format!("FAKE-{n:04}");
    inner.codes.insert(
        device_code.clone(),
        DeviceCode {
            user_code: user_code.clone(),
            issued: Instant::now(),
            script: VecDeque::from([Outcome::Pending]),
        },
    );
    let body = json!({
        "device_code": device_code,
        "user_code": user_code,
        "verification_uri": format!("{}/login/device", shared.url),
        "expires_in": inner.expires_in,
        "interval": inner.interval,
    });
    drop(inner);
    oauth_answer(&headers, body)
}

async fn access_token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = shared.record(Endpoint::Token, form.clone(), &headers) {
        return r;
    }
    if form.get("grant_type").map(String::as_str)
        != Some("urn:ietf:params:oauth:grant-type:device_code")
    {
        return oauth_error(&headers, "unsupported_grant_type", json!({}));
    }
    if form.get("client_id").map(String::as_str) != Some(FAKE_CLIENT_ID) {
        return oauth_error(&headers, "incorrect_client_credentials", json!({}));
    }
    let mut inner = shared.inner.lock().expect("fake GitHub lock");
    let expires_in = Duration::from_secs(inner.expires_in);
    let Some(code) = form.get("device_code").and_then(|c| inner.codes.get_mut(c)) else {
        drop(inner);
        return oauth_error(&headers, "incorrect_device_code", json!({}));
    };
    if code.issued.elapsed() >= expires_in {
        drop(inner);
        return oauth_error(&headers, "expired_token", json!({}));
    }
    let outcome = if code.script.len() > 1 {
        code.script.pop_front()
    } else {
        code.script.front().cloned()
    }
    .unwrap_or(Outcome::Pending);
    drop(inner);
    match outcome {
        Outcome::Pending => oauth_error(&headers, "authorization_pending", json!({})),
        Outcome::SlowDown(new) => oauth_error(
            &headers,
            "slow_down",
            new.map_or(json!({}), |i| json!({ "interval": i })),
        ),
        Outcome::Expired => oauth_error(&headers, "expired_token", json!({})),
        Outcome::Denied => oauth_error(&headers, "access_denied", json!({})),
        Outcome::Error(code) => oauth_error(&headers, &code, json!({})),
        Outcome::Token(token) => oauth_answer(
            &headers,
            json!({ "access_token": token, "token_type": "bearer", "scope": "repo,read:user" }),
        ),
    }
}

/// Why GitHub refuses an API request before looking at it.
enum Refusal {
    NoUserAgent,
    BadCredentials,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::NoUserAgent => (
                StatusCode::FORBIDDEN,
                "Request forbidden by administrative rules. Please make sure your request has a User-Agent header",
            )
                .into_response(),
            Refusal::BadCredentials => (
                StatusCode::UNAUTHORIZED,
                axum::Json(json!({
                    "message": "Bad credentials",
                    "documentation_url": "https://docs.github.com/rest",
                    "status": "401",
                })),
            )
                .into_response(),
        }
    }
}

/// The account of the request's token.
fn account_of(shared: &Shared, headers: &HeaderMap) -> Result<FakeAccount, Refusal> {
    if !headers.contains_key(header::USER_AGENT) {
        return Err(Refusal::NoUserAgent);
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("token "))
        });
    let inner = shared.inner.lock().expect("fake GitHub lock");
    token
        .and_then(|t| inner.accounts.get(t).cloned())
        .ok_or(Refusal::BadCredentials)
}

async fn user(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = shared.record(Endpoint::User, query, &headers) {
        return r;
    }
    match account_of(&shared, &headers) {
        Ok(a) => axum::Json(json!({
            "login": a.login,
            "id": a.id,
            "node_id": format!("U_fake{}", a.id),
            "type": "User",
            "site_admin": false,
            "html_url": format!("{}/{}", shared.url, a.login),
        }))
        .into_response(),
        Err(r) => r.into_response(),
    }
}

async fn repos(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = shared.record(Endpoint::Repos, query.clone(), &headers) {
        return r;
    }
    let account = match account_of(&shared, &headers) {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let number = |key: &str, default: usize| {
        query
            .get(key)
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(default)
    };
    let per_page = number("per_page", 30).clamp(1, 100);
    let page = number("page", 1).max(1);
    let last = account.repos.len().div_ceil(per_page).max(1);
    let items: Vec<Value> = account
        .repos
        .iter()
        .enumerate()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|(i, r)| {
            let (owner, name) = r.full_name.split_once('/').unwrap_or(("", &r.full_name));
            json!({
                "id": account.id * 1000 + i as i64,
                "name": name,
                "full_name": r.full_name,
                "owner": { "login": owner },
                "private": r.private,
                "html_url": format!("{}/{}", shared.url, r.full_name),
                "clone_url": format!("{}/{}.git", shared.url, r.full_name),
                "default_branch": r.default_branch,
            })
        })
        .collect();
    let link = |p: usize, rel: &str| {
        format!(
            "<{}/user/repos?per_page={per_page}&page={p}>; rel=\"{rel}\"",
            shared.api_url
        )
    };
    let mut links = Vec::new();
    if page < last {
        links.push(link(page + 1, "next"));
        links.push(link(last, "last"));
    }
    if page > 1 {
        links.push(link(page - 1, "prev"));
        links.push(link(1, "first"));
    }
    let mut response = axum::Json(items).into_response();
    if !links.is_empty() {
        response.headers_mut().insert(
            header::LINK,
            links.join(", ").parse().expect("a valid Link header"),
        );
    }
    response
}
