//! Deployments: triggering a Coolify deployment of an environment's branch and following it
//! until it ends.
//!
//! Deploying asks Coolify at once (bounded by the client's timeout), so that a refusal or an
//! unreachable Coolify answers 502 with the reason; the deployment is then recorded as
//! `queued` with Coolify's id, and a follower in the background asks Coolify for its status
//! every poll interval until it ends, recording each change. No request waits for a
//! deployment to end. Followers of deployments that had not ended resume when the server
//! starts ([`Deployments::resume`]).
//!
//! A Coolify application builds one branch: deploying another branch first points the
//! application at it (`PATCH /api/v1/applications/{uuid}` with `git_branch`), and the
//! application keeps that branch until a deploy changes it again.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use craftastic_coolify::{CoolifyClient, CoolifyError, DeploymentInfo};
use craftastic_domain::{BranchName, CoolifyAppId, DeploymentId, EnvironmentId};
use craftastic_store::{
    Deployment, DeploymentStatus, DeploymentUpdate, NewDeployment, Store, StoreError,
};
use serde_json::{Map, Value, json};

use crate::keyed_lock::KeyedLocks;
use crate::limits::{Limits, Quota};
use crate::tokens::Principal;
use crate::{ServiceError, ServiceResult, access};

pub use craftastic_coolify::{CoolifySettings, Secret};

mod bindings;

pub use bindings::Bound;

/// How long a follower asks Coolify about one deployment before it stops (Coolify stops a
/// deployment after an hour by default); the status route still asks after that.
const FOLLOW_FOR: Duration = Duration::from_secs(6 * 3600);
/// The longest wait between two questions while Coolify keeps failing.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

const NOT_CONFIGURED: &str = "deployments are not configured on this server; an admin must set COOLIFY_API_URL (Coolify's address) and COOLIFY_API_TOKEN (a Coolify API token with the deploy permission)";

#[derive(Clone)]
pub struct Deployments {
    store: Arc<dyn Store>,
    client: Option<CoolifyClient>,
    following: Arc<Mutex<HashSet<DeploymentId>>>,
    /// Refreshes of one deployment take turns, so that an older answer never overwrites a
    /// newer one.
    locks: KeyedLocks<DeploymentId>,
    limits: Limits,
}

/// A deployment after asking Coolify about it.
struct Refreshed {
    deployment: Deployment,
    /// Whether Coolify answered (else the stored state is all there is).
    answered: bool,
}

impl Deployments {
    /// Without settings every route answers 503.
    pub fn new(store: Arc<dyn Store>, settings: Option<CoolifySettings>, limits: Limits) -> Self {
        Self {
            limits,
            store,
            client: settings.map(CoolifyClient::new),
            following: Arc::default(),
            locks: KeyedLocks::default(),
        }
    }

    pub fn configured(&self) -> bool {
        self.client.is_some()
    }

    fn client(&self) -> ServiceResult<&CoolifyClient> {
        self.client
            .as_ref()
            .ok_or_else(|| ServiceError::Unavailable(NOT_CONFIGURED.into()))
    }

    /// Deploys `branch` (default: the environment's branch) of the Coolify application
    /// `app_id`: points the application at the branch if it builds another one, asks Coolify
    /// to deploy it (`force`: without cache), records the deployment as `queued` with
    /// Coolify's id and message, and follows it in the background until it ends.
    /// Fails: COOLIFY_API_URL unset → 503; no such environment, or another user's → 404;
    /// the application is not bound to the environment → 403 `application_not_bound`;
    /// the owner has as many deployments in flight as allowed → 429 `limit_reached`;
    /// Coolify unreachable, slow beyond the timeout, refusing (e.g. an unknown application)
    /// or answering something undocumented → 502 with the reason, and nothing is recorded
    /// but the audit entry.
    pub async fn deploy(
        &self,
        who: Principal,
        environment_id: EnvironmentId,
        app_id: CoolifyAppId,
        branch: Option<BranchName>,
        force: bool,
    ) -> ServiceResult<Deployment> {
        let client = self.client()?;
        let env = access::environment(self.store.as_ref(), who, environment_id).await?;
        self.limits
            .check(env.user_id, Quota::DeploymentsInFlight)
            .await?;
        let branch = branch.unwrap_or(env.branch);
        let details = json!({
            "environmentId": env.id,
            "appId": app_id,
            "branch": branch,
            "force": force,
        });
        match self.require_bound(env.id, &app_id).await {
            Err(refused @ ServiceError::Forbidden { .. }) => {
                self.audit(who, app_id.as_str(), "not_bound", details).await;
                return Err(refused);
            }
            other => other?,
        }
        let triggered = match trigger(client, &app_id, &branch, force).await {
            Ok(t) => t,
            Err(e) => {
                let reason = e.to_string();
                let mut details = details;
                details["reason"] = json!(reason);
                self.audit(who, app_id.as_str(), "upstream_failed", details)
                    .await;
                return Err(ServiceError::Upstream(reason));
            }
        };
        let mut metadata = json!({
            "coolifyMessage": triggered.message,
            "requestedBy": who.user_id,
            "force": force,
        });
        if let Some(previous) = triggered.previous_branch {
            metadata["previousBranch"] = json!(previous);
        }
        let deployment = self
            .store
            .create_deployment(NewDeployment {
                id: DeploymentId::new(),
                environment_id: env.id,
                app_id,
                branch,
                status: DeploymentStatus::Queued,
                coolify_deployment_id: Some(triggered.deployment_uuid.clone()),
                metadata,
                now: Utc::now(),
            })
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ServiceError::NotFound("environment"),
                other => other.into(),
            })?;
        let mut details = details;
        details["deploymentId"] = json!(deployment.id);
        details["coolifyDeploymentId"] = json!(triggered.deployment_uuid);
        self.audit(who, &deployment.id.to_string(), "ok", details)
            .await;
        tracing::info!(
            deployment = %deployment.id,
            coolify_deployment = %triggered.deployment_uuid,
            app = %deployment.app_id,
            "deployment queued in Coolify"
        );
        self.spawn_follow(deployment.id);
        Ok(deployment)
    }

    /// The deployment, refreshed from Coolify when it has not ended. When Coolify cannot
    /// answer, the stored state comes back with `metadata.lastError` saying why.
    /// Fails: COOLIFY_API_URL unset → 503; no such deployment, or another user's → 404.
    pub async fn get(&self, who: Principal, id: DeploymentId) -> ServiceResult<Deployment> {
        self.client()?;
        access::deployment(self.store.as_ref(), who, id).await?;
        Ok(self.refresh(id).await?.deployment)
    }

    /// The environment's deployments, newest first, as last recorded.
    /// Fails: COOLIFY_API_URL unset → 503; no such environment, or another user's → 404.
    pub async fn list(
        &self,
        who: Principal,
        environment_id: EnvironmentId,
    ) -> ServiceResult<Vec<Deployment>> {
        self.client()?;
        let env = access::environment(self.store.as_ref(), who, environment_id).await?;
        Ok(self.store.list_deployments(env.id).await?)
    }

    /// Follows again every deployment that had not ended, e.g. when the server starts;
    /// returns how many. Without COOLIFY_API_URL none is followed (they stay as recorded).
    pub async fn resume(&self) -> ServiceResult<usize> {
        let unfinished = self.store.list_unfinished_deployments().await?;
        if self.client.is_none() {
            if !unfinished.is_empty() {
                tracing::warn!(
                    count = unfinished.len(),
                    "deployments under way are not followed: COOLIFY_API_URL is not set"
                );
            }
            return Ok(0);
        }
        for d in &unfinished {
            self.spawn_follow(d.id);
        }
        Ok(unfinished.len())
    }

    /// Starts following `id` unless this process already does.
    fn spawn_follow(&self, id: DeploymentId) {
        if !self.following.lock().expect("followers lock").insert(id) {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            this.follow(id).await;
            this.following.lock().expect("followers lock").remove(&id);
        });
    }

    /// Asks Coolify every poll interval (longer while it fails) until the deployment ends,
    /// is deleted, or [`FOLLOW_FOR`] has passed.
    async fn follow(&self, id: DeploymentId) {
        let Some(client) = &self.client else { return };
        let interval = client.settings().poll_interval;
        let started = Instant::now();
        let mut failures = 0u32;
        loop {
            let wait = interval
                .saturating_mul(1 << failures.min(6))
                .min(MAX_BACKOFF.max(interval));
            tokio::time::sleep(wait).await;
            match self.refresh(id).await {
                Ok(r) if r.deployment.status.is_over() => {
                    tracing::info!(
                        deployment = %id,
                        status = r.deployment.status.as_str(),
                        "deployment ended"
                    );
                    return;
                }
                Ok(r) => failures = if r.answered { 0 } else { failures + 1 },
                Err(ServiceError::NotFound(_)) => return,
                Err(e) => {
                    tracing::warn!(deployment = %id, error = %e, "could not follow a deployment");
                    failures += 1;
                }
            }
            if started.elapsed() >= FOLLOW_FOR {
                tracing::warn!(deployment = %id, "stopped following a deployment that did not end");
                let note = format!(
                    "Craftastic stopped asking Coolify after {} hours; the status route still asks",
                    FOLLOW_FOR.as_secs() / 3600
                );
                let _ = self.note_error(id, &note).await;
                return;
            }
        }
    }

    /// Asks Coolify about the deployment (unless it has ended) and records what changed.
    /// A deployment Coolify no longer knows is recorded as `failed`; any other failure is
    /// kept in `metadata.lastError`.
    async fn refresh(&self, id: DeploymentId) -> ServiceResult<Refreshed> {
        let _turn = self.locks.lock(id).await;
        let current = self
            .store
            .get_deployment(id)
            .await?
            .ok_or(ServiceError::NotFound("deployment"))?;
        let (Some(client), Some(coolify_id)) = (&self.client, &current.coolify_deployment_id)
        else {
            return Ok(Refreshed {
                deployment: current,
                answered: false,
            });
        };
        if current.status.is_over() {
            return Ok(Refreshed {
                deployment: current,
                answered: false,
            });
        }
        let now = Utc::now();
        let update = match client.deployment(coolify_id).await {
            Ok(info) => applied(&current, &info, client, now),
            Err(e) if e.is_not_found() => {
                let mut metadata = object(&current.metadata);
                metadata.remove("lastError");
                metadata.insert(
                    "error".into(),
                    json!(format!(
                        "Coolify no longer knows deployment {coolify_id}; it was deleted there, or COOLIFY_API_URL now names another Coolify ({e})"
                    )),
                );
                finish_times(&mut metadata, &current, now);
                DeploymentUpdate {
                    status: DeploymentStatus::Failed,
                    coolify_deployment_id: current.coolify_deployment_id.clone(),
                    metadata: Value::Object(metadata),
                    now,
                }
            }
            Err(e) => {
                let deployment = self.note_error_on(current, &e.to_string()).await?;
                return Ok(Refreshed {
                    deployment,
                    answered: false,
                });
            }
        };
        let unchanged = update.status == current.status && update.metadata == current.metadata;
        let deployment = match unchanged {
            true => current,
            false => self.store.update_deployment(id, update).await?,
        };
        Ok(Refreshed {
            deployment,
            answered: true,
        })
    }

    async fn note_error(&self, id: DeploymentId, error: &str) -> ServiceResult<Deployment> {
        let current = self
            .store
            .get_deployment(id)
            .await?
            .ok_or(ServiceError::NotFound("deployment"))?;
        self.note_error_on(current, error).await
    }

    /// Records `error` as `metadata.lastError` (when it is news).
    async fn note_error_on(&self, current: Deployment, error: &str) -> ServiceResult<Deployment> {
        if current.metadata.get("lastError").and_then(Value::as_str) == Some(error) {
            return Ok(current);
        }
        let mut metadata = object(&current.metadata);
        metadata.insert("lastError".into(), json!(error));
        Ok(self
            .store
            .update_deployment(
                current.id,
                DeploymentUpdate {
                    status: current.status,
                    coolify_deployment_id: current.coolify_deployment_id,
                    metadata: Value::Object(metadata),
                    now: Utc::now(),
                },
            )
            .await?)
    }

    async fn audit(&self, who: Principal, target: &str, outcome: &str, details: Value) {
        crate::audit::record(
            self.store.as_ref(),
            Some(who.user_id),
            "deployments.deploy",
            Some(target.to_owned()),
            outcome,
            details,
        )
        .await;
    }
}

/// What Coolify answered to a deploy.
struct Triggered {
    deployment_uuid: String,
    message: String,
    /// The branch the application built before, when the deploy switched it.
    previous_branch: Option<String>,
}

/// Points the application at `branch` when it builds another one, then queues a deployment.
/// An application that does not build from git (no `git_branch`) is deployed as it is.
async fn trigger(
    client: &CoolifyClient,
    app_id: &CoolifyAppId,
    branch: &BranchName,
    force: bool,
) -> Result<Triggered, CoolifyError> {
    let app = client.application(app_id.as_str()).await?;
    let previous_branch = match app.git_branch {
        Some(current) if current != branch.as_str() => {
            client.set_branch(app_id.as_str(), branch.as_str()).await?;
            Some(current)
        }
        _ => None,
    };
    let queued = client.deploy(app_id.as_str(), force).await?;
    Ok(Triggered {
        deployment_uuid: queued.deployment_uuid,
        message: queued.message,
        previous_branch,
    })
}

/// Craftastic's status for Coolify's; `None` for a status Coolify does not document.
fn status_of(coolify: &str) -> Option<DeploymentStatus> {
    match coolify {
        "queued" => Some(DeploymentStatus::Queued),
        "in_progress" => Some(DeploymentStatus::InProgress),
        "finished" => Some(DeploymentStatus::Finished),
        "failed" => Some(DeploymentStatus::Failed),
        s if s.starts_with("cancelled") => Some(DeploymentStatus::Cancelled),
        _ => None,
    }
}

/// The order statuses move in; a deployment never moves back.
fn rank(s: DeploymentStatus) -> u8 {
    match s {
        DeploymentStatus::Queued => 0,
        DeploymentStatus::InProgress => 1,
        _ => 2,
    }
}

/// The deployment's new state from Coolify's answer: its status (never moving back; an
/// undocumented status keeps the last known one), and what is worth keeping of the answer.
fn applied(
    current: &Deployment,
    info: &DeploymentInfo,
    client: &CoolifyClient,
    now: DateTime<Utc>,
) -> DeploymentUpdate {
    let status = status_of(&info.status)
        .filter(|s| rank(*s) >= rank(current.status))
        .unwrap_or(current.status);
    let mut metadata = object(&current.metadata);
    metadata.remove("lastError");
    metadata.insert("coolifyStatus".into(), json!(short(&info.status, 40)));
    let mut keep = |key: &str, value: Option<String>| {
        if let Some(v) = value.filter(|v| !v.trim().is_empty()) {
            metadata.insert(key.into(), json!(v));
        }
    };
    keep("commit", info.commit.as_deref().map(|c| short(c, 64)));
    keep(
        "commitMessage",
        info.commit_message.as_deref().map(|m| short(m, 200)),
    );
    keep(
        "serverName",
        info.server_name.as_deref().map(|s| short(s, 100)),
    );
    keep(
        "deploymentUrl",
        info.deployment_url
            .as_deref()
            .and_then(|u| client.settings().api_url.join(u).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .map(|u| short(u.as_str(), 500)),
    );
    if status == DeploymentStatus::InProgress && !metadata.contains_key("startedAt") {
        metadata.insert("startedAt".into(), json!(now));
    }
    if status.is_over() {
        finish_times(&mut metadata, current, now);
    }
    DeploymentUpdate {
        status,
        coolify_deployment_id: current.coolify_deployment_id.clone(),
        metadata: Value::Object(metadata),
        now,
    }
}

/// `finishedAt` and `durationSeconds` (from `startedAt`, else from when it was queued).
fn finish_times(metadata: &mut Map<String, Value>, current: &Deployment, now: DateTime<Utc>) {
    let started = metadata
        .get("startedAt")
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map_or(current.created_at, |t| t.with_timezone(&Utc));
    metadata.insert("finishedAt".into(), json!(now));
    metadata.insert(
        "durationSeconds".into(),
        json!((now - started).num_seconds().max(0)),
    );
}

fn object(v: &Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

/// At most `max` characters, on one line.
fn short(s: &str, max: usize) -> String {
    let line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.chars().count() > max {
        true => format!("{}…", line.chars().take(max).collect::<String>()),
        false => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coolify_statuses() {
        assert_eq!(status_of("queued"), Some(DeploymentStatus::Queued));
        assert_eq!(status_of("in_progress"), Some(DeploymentStatus::InProgress));
        assert_eq!(status_of("finished"), Some(DeploymentStatus::Finished));
        assert_eq!(status_of("failed"), Some(DeploymentStatus::Failed));
        assert_eq!(
            status_of("cancelled-by-user"),
            Some(DeploymentStatus::Cancelled)
        );
        assert_eq!(status_of("paused"), None);
    }

    #[test]
    fn short_text_stays_on_one_line() {
        assert_eq!(short("fix:\n  the thing", 100), "fix: the thing");
        assert_eq!(short("abcdef", 3), "abc…");
    }
}
