//! A small client of the parts of GitHub that Craftastic uses: the OAuth device flow
//! (<https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps#device-flow>)
//! and the signed-in user's account and repositories. Both base URLs are configurable, so
//! that GitHub Enterprise and the tests' fake GitHub work alike.
//!
//! Tokens and device codes never appear in an error message, a log line or a `Debug` output.

use std::fmt;
use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, LINK, USER_AGENT};
use reqwest::{Response, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;

pub use reqwest::Url;

/// The scopes Craftastic asks for: private repositories (to clone and push) and the profile.
pub const SCOPES: &str = "repo read:user";
/// The GitHub REST API version the requests are written against.
pub const API_VERSION: &str = "2022-11-28";
/// Answers larger than this are refused rather than read into memory.
const MAX_BODY: usize = 16 << 20;

/// Where GitHub is and who Craftastic is to it.
#[derive(Clone)]
pub struct GithubSettings {
    /// The web site: device-code and token endpoints (`GITHUB_URL`).
    pub web_url: Url,
    /// The REST API (`GITHUB_API_URL`); GitHub Enterprise serves it under `<web>/api/v3`.
    pub api_url: Url,
    /// The OAuth app's client id (`GITHUB_CLIENT_ID`); without it linking is unavailable.
    pub client_id: Option<String>,
    /// How long one request to GitHub may take.
    pub timeout: Duration,
}

impl fmt::Debug for GithubSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GithubSettings")
            .field("web_url", &self.web_url.as_str())
            .field("api_url", &self.api_url.as_str())
            .field("client_id", &self.client_id)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Default for GithubSettings {
    fn default() -> Self {
        Self {
            web_url: Url::parse("https://github.com").expect("a valid URL"),
            api_url: Url::parse("https://api.github.com").expect("a valid URL"),
            client_id: None,
            timeout: Duration::from_secs(15),
        }
    }
}

/// A secret string (an access token or a device code): `Debug` and `Display` hide it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// What `POST /login/device/code` answers.
#[derive(Debug, Clone)]
pub struct DeviceCode {
    pub device_code: Secret,
    /// What the user types at `verification_uri`.
    pub user_code: String,
    pub verification_uri: String,
    /// Seconds until the codes expire.
    pub expires_in: u64,
    /// Seconds to wait between two polls of the token endpoint.
    pub interval: u64,
}

/// One poll of `POST /login/oauth/access_token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenPoll {
    /// The user has not entered the code yet.
    Pending,
    /// Polled too fast: wait `interval` seconds from now on (GitHub's new interval, if it
    /// sent one).
    SlowDown { interval: Option<u64> },
    /// The device code expired before the user entered it.
    Expired,
    /// The user refused the authorization.
    Denied,
    /// The user authorized: the access token.
    Token(Secret),
}

/// The account a token belongs to (`GET /user`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GithubUser {
    pub login: String,
    pub id: i64,
}

/// One repository of `GET /user/repos`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Repository {
    pub full_name: String,
    pub clone_url: String,
    pub private: bool,
    /// Absent for an empty repository on some GitHub versions.
    #[serde(default)]
    pub default_branch: Option<String>,
}

/// One page of repositories; `has_more` comes from the `Link` header's `rel="next"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryPage {
    pub repositories: Vec<Repository>,
    pub has_more: bool,
}

/// Everything that can go wrong talking to GitHub. Each message is one sentence a person can
/// act on and carries no secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GithubError {
    #[error(
        "GitHub at {0} cannot be reached: {1}; check GITHUB_URL, GITHUB_API_URL and the network"
    )]
    Unreachable(String, String),
    #[error("GitHub at {0} did not answer within {1} seconds; try again later")]
    Timeout(String, u64),
    #[error("GitHub failed with status {0} while {1}; try again later")]
    ServerError(u16, &'static str),
    #[error("GitHub's answer while {0} is not the JSON GitHub documents: {1}")]
    BadResponse(&'static str, String),
    /// The API refused a stored token (401).
    #[error("the linked GitHub token was revoked; link GitHub again")]
    Revoked,
    /// The device flow was refused for a reason the user or the operator must fix.
    #[error("{0}")]
    Refused(String),
    /// Any other answer GitHub should not give (e.g. 403 for a rate limit), with its message.
    #[error("GitHub refused the request while {0} with status {1}: {2}")]
    Status(&'static str, u16, String),
}

/// The GitHub client. Cheap to clone.
#[derive(Clone)]
pub struct GithubClient {
    http: reqwest::Client,
    settings: GithubSettings,
}

impl fmt::Debug for GithubClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GithubClient")
            .field("settings", &self.settings)
            .finish()
    }
}

/// The error GitHub's OAuth endpoints answer with (HTTP 200 for the device flow).
#[derive(Deserialize)]
struct OauthError {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
    #[serde(default)]
    interval: Option<u64>,
}

#[derive(Deserialize)]
struct DeviceCodeBody {
    device_code: String,
    user_code: String,
    verification_uri: String,
    expires_in: u64,
    interval: u64,
}

#[derive(Deserialize)]
struct TokenBody {
    access_token: String,
}

/// What each request is doing, for messages ("while requesting a device code").
const DEVICE_CODE: &str = "requesting a device code";
const TOKEN: &str = "polling for the access token";
const USER: &str = "reading the GitHub account";
const REPOS: &str = "listing repositories";

impl GithubClient {
    pub fn new(settings: GithubSettings) -> Self {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            // A redirect would carry the token elsewhere or turn a POST into a GET; GitHub
            // does not redirect these endpoints, so one is an error.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            // Fails only when the TLS backend compiled into this binary cannot start.
            .expect("the HTTP client for GitHub");
        Self { http, settings }
    }

    pub fn settings(&self) -> &GithubSettings {
        &self.settings
    }

    fn web(&self, path: &str) -> String {
        join(&self.settings.web_url, path)
    }

    fn api(&self, path: &str) -> String {
        join(&self.settings.api_url, path)
    }

    /// Starts a device flow: `POST {web}/login/device/code`.
    pub async fn request_device_code(&self, client_id: &str) -> Result<DeviceCode, GithubError> {
        let url = self.web("/login/device/code");
        let res = self
            .send(
                &url,
                self.http
                    .post(&url)
                    .header(ACCEPT, "application/json")
                    .header(USER_AGENT, user_agent())
                    .form(&[("client_id", client_id), ("scope", SCOPES)]),
            )
            .await?;
        let (status, body) = read(&url, self.settings.timeout, res, DEVICE_CODE).await?;
        if let Ok(e) = serde_json::from_slice::<OauthError>(&body) {
            return Err(refused(&e));
        }
        if !status.is_success() {
            return Err(GithubError::Status(
                DEVICE_CODE,
                status.as_u16(),
                excerpt(&body),
            ));
        }
        let b: DeviceCodeBody = parse(&body, DEVICE_CODE)?;
        Ok(DeviceCode {
            device_code: Secret(b.device_code),
            user_code: b.user_code,
            verification_uri: b.verification_uri,
            expires_in: b.expires_in,
            interval: b.interval,
        })
    }

    /// Polls once for the token: `POST {web}/login/oauth/access_token`.
    pub async fn poll_token(
        &self,
        client_id: &str,
        device_code: &Secret,
    ) -> Result<TokenPoll, GithubError> {
        let url = self.web("/login/oauth/access_token");
        let res = self
            .send(
                &url,
                self.http
                    .post(&url)
                    .header(ACCEPT, "application/json")
                    .header(USER_AGENT, user_agent())
                    .form(&[
                        ("client_id", client_id),
                        ("device_code", device_code.expose()),
                        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                    ]),
            )
            .await?;
        let (status, body) = read(&url, self.settings.timeout, res, TOKEN).await?;
        if let Ok(e) = serde_json::from_slice::<OauthError>(&body) {
            return Ok(match e.error.as_str() {
                "authorization_pending" => TokenPoll::Pending,
                "slow_down" => TokenPoll::SlowDown {
                    interval: e.interval,
                },
                "expired_token" => TokenPoll::Expired,
                "access_denied" => TokenPoll::Denied,
                _ => return Err(refused(&e)),
            });
        }
        if !status.is_success() {
            // Not quoted: whatever answers here might echo what was sent.
            return Err(GithubError::Status(
                TOKEN,
                status.as_u16(),
                "no documented error".into(),
            ));
        }
        let b: TokenBody = parse(&body, TOKEN)?;
        if b.access_token.is_empty() {
            return Err(GithubError::BadResponse(
                TOKEN,
                "the access token is empty".into(),
            ));
        }
        Ok(TokenPoll::Token(Secret(b.access_token)))
    }

    /// The account of `token`: `GET {api}/user`.
    pub async fn user(&self, token: &Secret) -> Result<GithubUser, GithubError> {
        let url = self.api("/user");
        let res = self.send(&url, self.api_get(&url, token)).await?;
        let body = read_api(&url, self.settings.timeout, res, USER).await?.1;
        parse(&body, USER)
    }

    /// One page of the repositories `token` can reach (owned, collaborator, organization
    /// member), most recently updated first: `GET {api}/user/repos`.
    pub async fn repositories(
        &self,
        token: &Secret,
        page: u32,
        per_page: u32,
    ) -> Result<RepositoryPage, GithubError> {
        let url = self.api("/user/repos");
        let req = self.api_get(&url, token).query(&[
            ("per_page", per_page.to_string().as_str()),
            ("page", page.to_string().as_str()),
            ("affiliation", "owner,collaborator,organization_member"),
            ("sort", "updated"),
        ]);
        let res = self.send(&url, req).await?;
        let (headers, body) = read_api(&url, self.settings.timeout, res, REPOS).await?;
        let repositories = parse(&body, REPOS)?;
        Ok(RepositoryPage {
            repositories,
            has_more: has_next(&headers),
        })
    }

    fn api_get(&self, url: &str, token: &Secret) -> reqwest::RequestBuilder {
        self.http
            .get(url)
            .header(ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", API_VERSION)
            .header(USER_AGENT, user_agent())
            .header(AUTHORIZATION, format!("Bearer {}", token.expose()))
    }

    async fn send(&self, url: &str, req: reqwest::RequestBuilder) -> Result<Response, GithubError> {
        req.send().await.map_err(|e| self.transport(url, e))
    }

    fn transport(&self, url: &str, e: reqwest::Error) -> GithubError {
        let origin = origin_of(url);
        if e.is_timeout() {
            return GithubError::Timeout(origin, self.settings.timeout.as_secs());
        }
        // The innermost cause ("Connection refused (os error 111)") names no URL or secret.
        let mut cause: &dyn std::error::Error = &e;
        while let Some(next) = cause.source() {
            cause = next;
        }
        let cause = cause.to_string();
        let mut chars = cause.chars();
        let cause = match chars.next() {
            Some(first) => first.to_lowercase().chain(chars).collect(),
            None => "no reason given".to_owned(),
        };
        GithubError::Unreachable(origin, cause)
    }
}

/// `Craftastic/<version>`; GitHub refuses API requests without a User-Agent.
fn user_agent() -> String {
    format!("Craftastic/{}", env!("CARGO_PKG_VERSION"))
}

/// `base` (which may carry a path prefix such as `/api/v3`) followed by `path`.
fn join(base: &Url, path: &str) -> String {
    format!("{}{path}", base.as_str().trim_end_matches('/'))
}

/// `scheme://host[:port]` of a URL, for messages.
fn origin_of(url: &str) -> String {
    Url::parse(url).map_or_else(|_| url.to_owned(), |u| u.origin().ascii_serialization())
}

/// Reads the status and the body (at most [`MAX_BODY`] bytes); 5xx is an error.
async fn read(
    url: &str,
    timeout: Duration,
    mut res: Response,
    what: &'static str,
) -> Result<(StatusCode, Vec<u8>), GithubError> {
    let status = res.status();
    if status.is_server_error() {
        return Err(GithubError::ServerError(status.as_u16(), what));
    }
    let mut body = Vec::new();
    loop {
        match res.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_BODY {
                    return Err(GithubError::BadResponse(
                        what,
                        format!("the answer is larger than {} MiB", MAX_BODY >> 20),
                    ));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) if e.is_timeout() => {
                return Err(GithubError::Timeout(origin_of(url), timeout.as_secs()));
            }
            Err(_) => {
                return Err(GithubError::BadResponse(
                    what,
                    "the answer broke off before its end".into(),
                ));
            }
        }
    }
    Ok((status, body))
}

/// Like [`read`] for the REST API, where 401 means the token no longer works and any other
/// status but 200 carries `{"message": …}`.
async fn read_api(
    url: &str,
    timeout: Duration,
    res: Response,
    what: &'static str,
) -> Result<(HeaderMap, Vec<u8>), GithubError> {
    let headers = res.headers().clone();
    let (status, body) = read(url, timeout, res, what).await?;
    if status == StatusCode::UNAUTHORIZED {
        return Err(GithubError::Revoked);
    }
    if !status.is_success() {
        #[derive(Deserialize)]
        struct Message {
            message: String,
        }
        let message = serde_json::from_slice::<Message>(&body)
            .map(|m| excerpt(m.message.as_bytes()))
            .unwrap_or_else(|_| excerpt(&body));
        return Err(GithubError::Status(what, status.as_u16(), message));
    }
    Ok((headers, body))
}

fn parse<T: DeserializeOwned>(body: &[u8], what: &'static str) -> Result<T, GithubError> {
    // serde's message may quote a value of the answer, which could be a secret; only its
    // kind and position are kept.
    serde_json::from_slice(body).map_err(|e| {
        let why = match e.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                "it is not JSON".to_owned()
            }
            serde_json::error::Category::Data => {
                let msg = e.to_string();
                match msg.split('`').nth(1) {
                    Some(field) if msg.starts_with("missing field") => {
                        format!("the field {field} is missing")
                    }
                    _ => "a field has the wrong type".to_owned(),
                }
            }
            serde_json::error::Category::Io => "it could not be read".to_owned(),
        };
        GithubError::BadResponse(what, why)
    })
}

/// The start of a body that is not the expected JSON, for a message (only answers that
/// carry no token are quoted).
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "no message".into();
    }
    let mut short: String = text.chars().take(120).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

/// The device-flow errors that end a flow, as sentences.
fn refused(e: &OauthError) -> GithubError {
    let message = match e.error.as_str() {
        "incorrect_client_credentials" => {
            "GitHub does not know the OAuth app that GITHUB_CLIENT_ID names; check GITHUB_CLIENT_ID"
                .to_owned()
        }
        "device_flow_disabled" => {
            "the device flow is disabled for the GitHub OAuth app of GITHUB_CLIENT_ID; enable it in the app's settings"
                .to_owned()
        }
        "incorrect_device_code" => {
            "GitHub does not recognise this device code; start linking GitHub again".to_owned()
        }
        "unsupported_grant_type" => {
            "GitHub refused the device-flow grant type; this server's GitHub does not support the device flow"
                .to_owned()
        }
        "expired_token" => "the GitHub code expired; start linking GitHub again".to_owned(),
        "access_denied" => "the GitHub authorization was refused".to_owned(),
        other => {
            let said = e
                .error_description
                .as_deref()
                .map(|d| format!(": {}", d.chars().take(200).collect::<String>()))
                .unwrap_or_default();
            format!("GitHub refused the device flow with {other:?}{said}")
        }
    };
    GithubError::Refused(message)
}

/// Whether a `Link` header has `rel="next"`.
fn has_next(headers: &HeaderMap) -> bool {
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|link| {
            link.split(';').skip(1).any(|param| {
                let param = param.trim();
                param
                    .strip_prefix("rel=")
                    .map(|r| r.trim_matches('"').split_whitespace().any(|r| r == "next"))
                    .unwrap_or(false)
            })
        })
}

#[cfg(test)]
mod tests;
