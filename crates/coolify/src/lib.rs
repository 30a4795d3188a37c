//! A small client of the parts of Coolify's API v1 that Craftastic uses, as Coolify's
//! `openapi.yaml` documents them (<https://coolify.io/docs/api-reference>):
//!
//! - `GET /api/v1/applications/{uuid}`: the application, for its `git_branch`;
//! - `PATCH /api/v1/applications/{uuid}` with `{"git_branch": …}`: point it at another branch;
//! - `GET /api/v1/deploy?uuid={uuid}[&force=true]`: queue a deployment, answered with
//!   `{"deployments": [{"message", "resource_uuid", "deployment_uuid"}]}`;
//! - `GET /api/v1/deployments/{uuid}`: one deployment (`ApplicationDeploymentQueue`), whose
//!   `status` is `queued`, `in_progress`, `finished`, `failed` or `cancelled-by-user`.
//!
//! Every request carries `Authorization: Bearer <COOLIFY_API_TOKEN>`; Coolify's errors are
//! `{"message": …}`. The base URL is configurable, so that the tests' fake Coolify works
//! like a real one. The token never appears in an error message, a log line or a `Debug`
//! output, and it is cut out of anything Coolify's answers quote.

use std::fmt;
use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, USER_AGENT};
use reqwest::{Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

pub use reqwest::Url;

/// Answers larger than this are refused rather than read into memory (a deployment carries
/// its build log).
const MAX_BODY: usize = 16 << 20;
/// The longest uuid taken from Coolify's answers (Coolify makes 24-character cuid2s).
pub const MAX_UUID_LEN: usize = 64;

/// Where Coolify is and how to talk to it.
#[derive(Clone)]
pub struct CoolifySettings {
    /// Coolify's address (`COOLIFY_API_URL`), e.g. `https://coolify.example.com`; the API is
    /// under `/api/v1` there (an address that already ends in `/api/v1` works too).
    pub api_url: Url,
    /// `COOLIFY_API_TOKEN`, a Coolify API token with the `deploy` permission (and `write`,
    /// to switch an application's branch).
    pub token: Secret,
    /// How long one request to Coolify may take.
    pub timeout: Duration,
    /// How often a deployment under way is asked for its status.
    pub poll_interval: Duration,
}

impl CoolifySettings {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
    pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(2);

    /// Settings with the default timeout and poll interval.
    pub fn new(api_url: Url, token: Secret) -> Self {
        Self {
            api_url,
            token,
            timeout: Self::DEFAULT_TIMEOUT,
            poll_interval: Self::DEFAULT_POLL_INTERVAL,
        }
    }
}

impl fmt::Debug for CoolifySettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CoolifySettings")
            .field("api_url", &self.api_url.as_str())
            .field("token", &self.token)
            .field("timeout", &self.timeout)
            .field("poll_interval", &self.poll_interval)
            .finish()
    }
}

/// A secret string (the API token): `Debug` hides it.
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

/// What Craftastic reads of an application (`GET /applications/{uuid}`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Application {
    pub uuid: String,
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: Option<String>,
    /// The branch Coolify builds; absent for applications that do not build from git.
    #[serde(default, deserialize_with = "lenient_string")]
    pub git_branch: Option<String>,
}

/// A deployment Coolify queued (one entry of `GET /deploy`'s `deployments`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub deployment_uuid: String,
    /// e.g. `Application my-app deployment queued.`
    pub message: String,
}

/// What Craftastic reads of a deployment (`GET /deployments/{uuid}`). Its `logs` are
/// deliberately not read: a build log may print secrets.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DeploymentInfo {
    /// `queued`, `in_progress`, `finished`, `failed` or `cancelled-by-user`.
    pub status: String,
    #[serde(default, deserialize_with = "lenient_string")]
    pub commit: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub commit_message: Option<String>,
    /// Where Coolify's UI shows the deployment (a path on Coolify's host).
    #[serde(default, deserialize_with = "lenient_string")]
    pub deployment_url: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub server_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub application_name: Option<String>,
}

/// Everything that can go wrong talking to Coolify. Each message is one sentence a person
/// can act on, carries Coolify's own message where it sent one, and never the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoolifyError {
    #[error("Coolify at {0} cannot be reached: {1}; check COOLIFY_API_URL and the network")]
    Unreachable(String, String),
    /// The origin, the time waited ("15 seconds") and what was being done.
    #[error("Coolify at {0} did not answer within {1} while {2}; try again later")]
    Timeout(String, String, &'static str),
    /// 401: the token is unknown, revoked or lacks a permission.
    #[error(
        "Coolify refused COOLIFY_API_TOKEN while {0} (Coolify said: {1}); check that the token is valid and has the deploy permission"
    )]
    Unauthorized(&'static str, String),
    /// Any other 4xx (or an unexpected redirect), with Coolify's message.
    #[error("Coolify refused the request while {what} with status {status}: {message}")]
    Refused {
        what: &'static str,
        status: u16,
        message: String,
    },
    /// 5xx, with Coolify's message if it sent one.
    #[error("Coolify failed with status {status} while {what}: {message}")]
    Failed {
        what: &'static str,
        status: u16,
        message: String,
    },
    #[error("Coolify's answer while {0} is not the JSON Coolify documents: {1}")]
    BadResponse(&'static str, String),
    /// The uuid names a service or a database: Coolify starts those without a deployment.
    #[error(
        "Coolify queued no deployment for {0} ({1}); appId must name a Coolify application, not a service or a database"
    )]
    NoDeployment(String, String),
}

impl CoolifyError {
    /// Whether Coolify said the thing asked about does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, CoolifyError::Refused { status: 404, .. })
    }
}

/// The Coolify client. Cheap to clone.
#[derive(Clone)]
pub struct CoolifyClient {
    http: reqwest::Client,
    settings: CoolifySettings,
}

impl fmt::Debug for CoolifyClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CoolifyClient")
            .field("settings", &self.settings)
            .finish()
    }
}

/// What each request is doing, for messages ("while triggering a deployment").
const READ_APPLICATION: &str = "reading the application";
const SET_BRANCH: &str = "setting the application's branch";
const DEPLOY: &str = "triggering a deployment";
const READ_DEPLOYMENT: &str = "reading the deployment";

#[derive(Deserialize)]
struct DeployBody {
    deployments: Vec<DeployEntry>,
}

#[derive(Deserialize)]
struct DeployEntry {
    #[serde(default, deserialize_with = "lenient_string")]
    message: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    resource_uuid: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    deployment_uuid: Option<String>,
}

impl CoolifyClient {
    pub fn new(settings: CoolifySettings) -> Self {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            // A redirect would carry the token elsewhere; Coolify does not redirect its API.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            // Fails only when the TLS backend compiled into this binary cannot start.
            .expect("the HTTP client for Coolify");
        Self { http, settings }
    }

    pub fn settings(&self) -> &CoolifySettings {
        &self.settings
    }

    /// `{api_url}/api/v1/{segments…}`, each segment percent-encoded.
    fn endpoint(&self, segments: &[&str]) -> Result<Url, CoolifyError> {
        let mut url = self.settings.api_url.clone();
        let prefix = url
            .path()
            .trim_end_matches('/')
            .trim_end_matches("/api/v1")
            .to_owned();
        url.set_path(&prefix);
        url.set_query(None);
        url.path_segments_mut()
            .map_err(|()| {
                CoolifyError::Unreachable(
                    url_origin(&self.settings.api_url),
                    "COOLIFY_API_URL is not an http:// or https:// address".into(),
                )
            })?
            .pop_if_empty()
            .extend(["api", "v1"])
            .extend(segments);
        Ok(url)
    }

    /// The application `uuid`: `GET /api/v1/applications/{uuid}`.
    pub async fn application(&self, uuid: &str) -> Result<Application, CoolifyError> {
        let url = self.endpoint(&["applications", uuid])?;
        let body = self.call(self.http.get(url), READ_APPLICATION).await?;
        parse(&body, READ_APPLICATION)
    }

    /// Points the application at `branch`: `PATCH /api/v1/applications/{uuid}` with
    /// `{"git_branch": branch}`. Coolify builds that branch from then on.
    pub async fn set_branch(&self, uuid: &str, branch: &str) -> Result<(), CoolifyError> {
        let url = self.endpoint(&["applications", uuid])?;
        let req = self
            .http
            .patch(url)
            .json(&serde_json::json!({ "git_branch": branch }));
        self.call(req, SET_BRANCH).await?;
        Ok(())
    }

    /// Queues a deployment of the application `uuid`: `GET /api/v1/deploy?uuid={uuid}`, with
    /// `&force=true` to rebuild without cache.
    pub async fn deploy(&self, uuid: &str, force: bool) -> Result<Queued, CoolifyError> {
        let mut url = self.endpoint(&["deploy"])?;
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("uuid", uuid);
            // Only ever `true`: Coolify reads any value given, even `false`, as true.
            if force {
                query.append_pair("force", "true");
            }
        }
        let body = self.call(self.http.get(url), DEPLOY).await?;
        let answer: DeployBody = parse(&body, DEPLOY)?;
        let entry = answer
            .deployments
            .iter()
            .find(|d| d.resource_uuid.as_deref() == Some(uuid))
            .or(answer.deployments.first())
            .ok_or_else(|| {
                CoolifyError::BadResponse(DEPLOY, "the list of deployments is empty".into())
            })?;
        let message = entry
            .message
            .as_deref()
            .map(|m| self.quote(m))
            .unwrap_or_else(|| "no message".into());
        match entry.deployment_uuid.as_deref() {
            Some(id) if is_coolify_uuid(id) => Ok(Queued {
                deployment_uuid: id.to_owned(),
                message,
            }),
            Some(_) => Err(CoolifyError::BadResponse(
                DEPLOY,
                "the deployment_uuid is not a Coolify uuid".into(),
            )),
            None => Err(CoolifyError::NoDeployment(uuid.to_owned(), message)),
        }
    }

    /// The deployment `uuid`: `GET /api/v1/deployments/{uuid}`.
    pub async fn deployment(&self, uuid: &str) -> Result<DeploymentInfo, CoolifyError> {
        let url = self.endpoint(&["deployments", uuid])?;
        let body = self.call(self.http.get(url), READ_DEPLOYMENT).await?;
        parse(&body, READ_DEPLOYMENT)
    }

    /// Sends the request with the token and reads the answer; anything but 2xx is an error
    /// carrying Coolify's message.
    async fn call(
        &self,
        req: reqwest::RequestBuilder,
        what: &'static str,
    ) -> Result<Vec<u8>, CoolifyError> {
        let res = req
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, user_agent())
            .header(
                AUTHORIZATION,
                format!("Bearer {}", self.settings.token.expose()),
            )
            .send()
            .await
            .map_err(|e| self.transport(e, what))?;
        let (status, body) = self.read(res, what).await?;
        if status.is_success() {
            return Ok(body);
        }
        let message = self.message_of(&body);
        let status = status.as_u16();
        Err(match status {
            401 => CoolifyError::Unauthorized(what, message),
            500..=599 => CoolifyError::Failed {
                what,
                status,
                message,
            },
            _ => CoolifyError::Refused {
                what,
                status,
                message,
            },
        })
    }

    /// Reads the status and the body (at most [`MAX_BODY`] bytes).
    async fn read(
        &self,
        mut res: Response,
        what: &'static str,
    ) -> Result<(StatusCode, Vec<u8>), CoolifyError> {
        let status = res.status();
        let mut body = Vec::new();
        loop {
            match res.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_BODY {
                        return Err(CoolifyError::BadResponse(
                            what,
                            format!("the answer is larger than {} MiB", MAX_BODY >> 20),
                        ));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) if e.is_timeout() => return Err(self.timeout(what)),
                Err(_) => {
                    return Err(CoolifyError::BadResponse(
                        what,
                        "the answer broke off before its end".into(),
                    ));
                }
            }
        }
        Ok((status, body))
    }

    fn timeout(&self, what: &'static str) -> CoolifyError {
        let secs = self.settings.timeout.as_secs().max(1);
        let waited = match secs {
            1 => "1 second".to_owned(),
            n => format!("{n} seconds"),
        };
        CoolifyError::Timeout(url_origin(&self.settings.api_url), waited, what)
    }

    fn transport(&self, e: reqwest::Error, what: &'static str) -> CoolifyError {
        if e.is_timeout() {
            return self.timeout(what);
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
        CoolifyError::Unreachable(url_origin(&self.settings.api_url), self.quote(&cause))
    }

    /// Coolify's `message` (with the first field error of a validation failure), or what the
    /// answer was instead.
    fn message_of(&self, body: &[u8]) -> String {
        #[derive(Deserialize)]
        struct ErrorBody {
            message: String,
            #[serde(default)]
            errors: Option<serde_json::Map<String, serde_json::Value>>,
        }
        match serde_json::from_slice::<ErrorBody>(body) {
            Ok(e) => {
                let first_field_error = e.errors.as_ref().and_then(|errors| {
                    errors.iter().find_map(|(field, v)| {
                        let text = match v {
                            serde_json::Value::Array(items) => items.first()?.as_str()?,
                            serde_json::Value::String(s) => s,
                            _ => return None,
                        };
                        Some(format!("{field}: {text}"))
                    })
                });
                let message = match first_field_error {
                    Some(detail) => format!("{} ({detail})", e.message.trim()),
                    None => e.message.trim().to_owned(),
                };
                match message.is_empty() {
                    true => "no message".into(),
                    false => self.quote(&message),
                }
            }
            Err(_) if body.iter().all(u8::is_ascii_whitespace) => "no message".into(),
            Err(_) => {
                "the answer is not Coolify's JSON; check that COOLIFY_API_URL is Coolify's address"
                    .into()
            }
        }
    }

    /// Text from Coolify made fit for a message: at most 200 characters, on one line, and
    /// never the token.
    fn quote(&self, text: &str) -> String {
        let token = self.settings.token.expose();
        let text = match token.is_empty() {
            true => text.to_owned(),
            false => text.replace(token, "***"),
        };
        excerpt(&text, 200)
    }
}

/// Whether `s` can be a Coolify uuid: 1 to 64 ASCII letters and digits. Coolify makes
/// cuid2s (24 lower-case letters and digits); older installations made other lengths.
pub fn is_coolify_uuid(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_UUID_LEN && s.chars().all(|c| c.is_ascii_alphanumeric())
}

/// `Craftastic/<version>`.
fn user_agent() -> String {
    format!("Craftastic/{}", env!("CARGO_PKG_VERSION"))
}

/// `scheme://host[:port]` of a URL, for messages.
fn url_origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// At most `max` characters on one line, with `…` when cut.
fn excerpt(text: &str, max: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut short: String = one_line.chars().take(max).collect();
    if short.len() < one_line.len() {
        short.push('…');
    }
    short
}

/// A string field that Coolify may send as `null`, a number or not at all: kept when it is
/// a string, otherwise `None`.
fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Some(s),
        _ => None,
    })
}

fn parse<T: DeserializeOwned>(body: &[u8], what: &'static str) -> Result<T, CoolifyError> {
    // serde's message may quote a value of the answer; only its kind and position are kept.
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
        CoolifyError::BadResponse(what, why)
    })
}

#[cfg(test)]
mod tests;
