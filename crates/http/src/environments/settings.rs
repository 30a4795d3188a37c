//! `/api/environments/:id/{egress,idle-stop,size,usage}`: an environment's settings, each
//! replaced whole by its owner or an admin, and what its workspaces use.

use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use craftastic_domain::{
    EgressPolicy, EnvironmentId, EnvironmentSize, IdleStopMinutes, ValidationError, WorkspaceSize,
    cpus,
};
use craftastic_service::usage::EnvironmentUsage;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::EnvironmentBody;
use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Caller, Json, path_id};
use crate::views::rfc3339;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(set_egress))
        .routes(routes!(set_idle_stop))
        .routes(routes!(set_size))
        .routes(routes!(usage))
}

/// Memory, CPUs and disk of a workspace.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceSizeBody {
    /// Bytes of memory (no swap beyond it).
    #[schema(example = 536_870_912)]
    pub memory_bytes: i64,
    /// CPUs, e.g. 0.5 or 2.
    #[schema(example = 0.5)]
    pub cpus: f64,
    /// Bytes of disk: its worktree, the rest of its container and its environment's
    /// repository. `null`: no cap (or, among the maxima, no maximum).
    #[schema(example = 10_737_418_240_i64)]
    pub disk_bytes: Option<i64>,
}

impl From<&WorkspaceSize> for WorkspaceSizeBody {
    fn from(size: &WorkspaceSize) -> Self {
        Self {
            memory_bytes: size.memory_bytes,
            cpus: cpus(size.nano_cpus),
            disk_bytes: size.disk_bytes,
        }
    }
}

/// What an environment asks for its workspaces; each `null` takes the server's default.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SizeSettingBody {
    pub memory_bytes: Option<i64>,
    pub cpus: Option<f64>,
    pub disk_bytes: Option<i64>,
}

/// The size of an environment's workspaces.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SizeBody {
    /// What each of its workspaces gets: its own settings, else the server's defaults.
    pub effective: WorkspaceSizeBody,
    /// What it asks for.
    pub setting: SizeSettingBody,
    /// What a workspace gets when its environment asks for nothing (`SANDBOX_MEMORY_LIMIT`,
    /// `SANDBOX_CPU_LIMIT`, `SANDBOX_DISK_LIMIT`).
    pub defaults: WorkspaceSizeBody,
    /// The most an environment may ask for (`SANDBOX_MEMORY_MAX`, `SANDBOX_CPU_MAX`,
    /// `SANDBOX_DISK_MAX`).
    pub maxima: WorkspaceSizeBody,
}

impl SizeBody {
    pub fn new(size: &EnvironmentSize, defaults: &WorkspaceSize, maxima: &WorkspaceSize) -> Self {
        Self {
            effective: (&size.effective(defaults)).into(),
            setting: SizeSettingBody {
                memory_bytes: size.memory_bytes,
                cpus: size.nano_cpus.map(cpus),
                disk_bytes: size.disk_bytes,
            },
            defaults: defaults.into(),
            maxima: maxima.into(),
        }
    }
}

/// A size to set; each field left out or `null` takes the server's default.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SizeRequest {
    /// Bytes of memory: at least 64 MiB, at most the server's maximum.
    #[schema(example = 2_147_483_648_i64)]
    pub memory_bytes: Option<i64>,
    /// CPUs: at least 0.01, at most the server's maximum.
    #[schema(example = 1.5)]
    pub cpus: Option<f64>,
    /// Bytes of disk: at least 1 MiB, at most the server's maximum.
    #[schema(example = 21_474_836_480_i64)]
    pub disk_bytes: Option<i64>,
}

impl SizeRequest {
    /// Checks it against the server's maxima, naming each field after `prefix`.
    pub fn parse(
        &self,
        prefix: &'static str,
        maxima: &WorkspaceSize,
    ) -> Result<EnvironmentSize, Vec<ValidationError>> {
        EnvironmentSize::parse(
            prefix,
            self.memory_bytes,
            self.cpus,
            self.disk_bytes,
            maxima,
        )
    }
}

/// One workspace's use now.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceUsageBody {
    pub workspace_id: Uuid,
    pub branch: String,
    /// As in the environment's workspaces.
    pub status: &'static str,
    /// Bytes of memory its processes hold now (the page cache the kernel can take back
    /// left out), while it runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<i64>,
    /// Its memory limit as the kernel applies it now, while it runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_limit_bytes: Option<i64>,
    /// Why a running workspace's memory is not known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_unknown: Option<String>,
    /// Bytes of disk it held when last measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_bytes: Option<i64>,
    /// Its disk cap at that measurement; absent when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_limit_bytes: Option<i64>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "rfc3339::option::serialize"
    )]
    pub disk_measured_at: Option<DateTime<Utc>>,
}

/// What an environment's workspaces use now, next to their size.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageBody {
    /// What each of its workspaces is given.
    pub size: WorkspaceSizeBody,
    /// Its workspaces, oldest first.
    pub workspaces: Vec<WorkspaceUsageBody>,
}

impl From<EnvironmentUsage> for UsageBody {
    fn from(u: EnvironmentUsage) -> Self {
        Self {
            size: (&u.size).into(),
            workspaces: u
                .workspaces
                .into_iter()
                .map(|w| WorkspaceUsageBody {
                    workspace_id: w.workspace.0,
                    branch: w.branch.to_string(),
                    status: w.status.as_str(),
                    memory_bytes: w.memory.map(|m| m.bytes),
                    memory_limit_bytes: w.memory.map(|m| m.limit_bytes),
                    memory_unknown: w.memory_unknown,
                    disk_bytes: w.disk.map(|d| d.bytes),
                    disk_limit_bytes: w.disk.and_then(|d| d.limit_bytes),
                    disk_measured_at: w.disk.map(|d| d.measured_at),
                })
                .collect(),
        }
    }
}

/// How an egress policy treats hosts outside the server.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EgressMode {
    /// Any host (the default).
    Open,
    /// No host.
    None,
    /// Only the listed hosts.
    Allowlist,
}

/// Where an environment's workspaces may connect to outside the server.
#[derive(Debug, Serialize, ToSchema)]
pub struct EgressPolicyBody {
    pub mode: EgressMode,
    /// With `allowlist`, the hosts allowed (lower case; `*.example.com` allows every
    /// subdomain of example.com but not example.com itself); empty otherwise.
    #[schema(example = json!(["github.com", "*.githubusercontent.com"]))]
    pub hosts: Vec<String>,
}

impl From<&EgressPolicy> for EgressPolicyBody {
    fn from(policy: &EgressPolicy) -> Self {
        Self {
            mode: match policy {
                EgressPolicy::Open => EgressMode::Open,
                EgressPolicy::None => EgressMode::None,
                EgressPolicy::Allowlist(_) => EgressMode::Allowlist,
            },
            hosts: policy.hosts().iter().map(|h| h.to_string()).collect(),
        }
    }
}

/// An egress policy to set.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EgressPolicyRequest {
    #[schema(value_type = EgressMode)]
    pub mode: String,
    /// Only with `allowlist`, and then at least one: host names such as `github.com`, or
    /// `*.` and a name for its subdomains; no scheme, port, path or IP address; at most 100.
    #[serde(default)]
    #[schema(example = json!(["github.com", "registry.npmjs.org", "*.githubusercontent.com"]))]
    pub hosts: Vec<String>,
}

impl EgressPolicyRequest {
    pub fn parse(&self) -> Result<EgressPolicy, ValidationError> {
        EgressPolicy::parse(&self.mode, &self.hosts)
    }
}

/// How long an environment's workspaces may be idle.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdleStopRequest {
    /// 1 to 10080 (a week), or 0 to never stop idle workspaces.
    #[schema(example = 60)]
    pub minutes: i64,
}

/// Change where the environment's workspaces may connect to (the owner or an admin):
/// `open` (anywhere), `none` (nowhere) or `allowlist` with the hosts allowed.
#[utoipa::path(put, path = "/api/environments/{id}/egress", tag = "environments",
    params(("id" = Uuid, Path)),
    request_body = EgressPolicyRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The environment with its new policy", body = EnvironmentBody),
        (status = 404, description = "No such environment", body = ErrorBody),
        (status = 409, description = "Being deleted", body = ErrorBody),
        (status = 422, description = "Invalid mode or host; the message names the host and what to write", body = ErrorBody),
    ))]
async fn set_egress(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    Json(body): Json<EgressPolicyRequest>,
) -> ApiResult<Json<EnvironmentBody>> {
    let id: EnvironmentId = path_id(&id, "environment")?;
    let policy = body.parse()?;
    Ok(Json(EnvironmentBody::new(
        state
            .services
            .environments
            .set_egress(who, id, policy)
            .await?,
        &state.services,
    )))
}

/// Change how long the environment's workspaces may be idle before the server stops them
/// (the owner or an admin). Idle means: no terminal of its sessions open, no terminal
/// input, and no session at work (`working`). It applies from the next check, within a
/// minute.
#[utoipa::path(put, path = "/api/environments/{id}/idle-stop", tag = "environments",
    params(("id" = Uuid, Path)),
    request_body = IdleStopRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The environment with its new setting", body = EnvironmentBody),
        (status = 404, description = "No such environment", body = ErrorBody),
        (status = 409, description = "Being deleted", body = ErrorBody),
        (status = 422, description = "Not a whole number of minutes from 0 to 10080", body = ErrorBody),
    ))]
async fn set_idle_stop(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    Json(body): Json<IdleStopRequest>,
) -> ApiResult<Json<EnvironmentBody>> {
    let id: EnvironmentId = path_id(&id, "environment")?;
    let minutes = IdleStopMinutes::parse("minutes", body.minutes)?;
    Ok(Json(EnvironmentBody::new(
        state
            .services
            .environments
            .set_idle_stop(who, id, minutes)
            .await?,
        &state.services,
    )))
}

/// Change the memory, CPUs and disk of the environment's workspaces (the owner or an
/// admin), each within the server's maximum; a field left out or `null` takes the server's
/// default. Running workspaces get the memory and CPUs at once, stopped ones when they
/// start; the disk cap applies from the next measurement of the disk watch.
#[utoipa::path(put, path = "/api/environments/{id}/size", tag = "environments",
    params(("id" = Uuid, Path)),
    request_body = SizeRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The environment with its new size", body = EnvironmentBody),
        (status = 404, description = "No such environment", body = ErrorBody),
        (status = 409, description = "Being deleted", body = ErrorBody),
        (status = 422, description = "Below what a workspace needs or over the server's maximum; the message says the maximum", body = ErrorBody),
    ))]
async fn set_size(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    Json(body): Json<SizeRequest>,
) -> ApiResult<Json<EnvironmentBody>> {
    let id: EnvironmentId = path_id(&id, "environment")?;
    let envs = &state.services.environments;
    let size = body
        .parse("", &envs.settings().size_maxima)
        .map_err(ApiError::invalid_fields)?;
    Ok(Json(EnvironmentBody::new(
        envs.set_size(who, id, size).await?,
        &state.services,
    )))
}

/// What the environment's workspaces use now, next to their size: the memory of each
/// running one (one reading of the engine's statistics each, within 3 s) and the disk each
/// held at the disk watch's last measurement.
#[utoipa::path(get, path = "/api/environments/{id}/usage", tag = "environments",
    params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Use of its workspaces", body = UsageBody),
        (status = 404, description = "No such environment", body = ErrorBody),
    ))]
async fn usage(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<UsageBody>> {
    let id: EnvironmentId = path_id(&id, "environment")?;
    Ok(Json(
        state.services.usage.of_environment(who, id).await?.into(),
    ))
}
