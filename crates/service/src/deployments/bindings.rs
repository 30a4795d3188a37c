//! Deployment bindings: an environment may deploy only the Coolify applications an admin has
//! bound to it, so that a user cannot deploy over an application that is not theirs by
//! guessing its uuid.

use chrono::Utc;
use craftastic_domain::{CoolifyAppId, EnvironmentId, ErrorCode};
use craftastic_store::{DeploymentBinding, Environment, NewDeploymentBinding, StoreError};
use serde_json::json;

use super::Deployments;
use crate::tokens::Principal;
use crate::{ServiceError, ServiceResult, access};

/// What binding an application did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Created,
    /// It was bound already; nothing changed.
    Existing,
}

impl Deployments {
    /// The applications bound to the environment, oldest first.
    /// Fails: no such environment, or another user's → 404.
    pub async fn bindings(
        &self,
        who: Principal,
        environment_id: EnvironmentId,
    ) -> ServiceResult<Vec<DeploymentBinding>> {
        let env = access::environment(self.store.as_ref(), who, environment_id).await?;
        Ok(self.store.list_deployment_bindings(env.id).await?)
    }

    /// Allows the environment to deploy the Coolify application `app_id`; binding it again
    /// changes nothing. Coolify is not asked: a wrong uuid shows when deploying (502).
    /// Fails: no such environment, or another user's → 404; the caller is not an admin →
    /// 403 `admin_only`.
    pub async fn bind(
        &self,
        who: Principal,
        environment_id: EnvironmentId,
        app_id: CoolifyAppId,
    ) -> ServiceResult<(DeploymentBinding, Bound)> {
        let env = self.for_admin(who, environment_id).await?;
        let created = self
            .store
            .create_deployment_binding(NewDeploymentBinding {
                environment_id: env.id,
                app_id: app_id.clone(),
                created_by: who.user_id,
                now: Utc::now(),
            })
            .await;
        let binding = match created {
            Ok(binding) => binding,
            Err(StoreError::Conflict(_)) => {
                let existing = self.store.get_deployment_binding(env.id, &app_id).await?;
                // Unbound again between the two statements: bound it is not.
                let existing = existing.ok_or(ServiceError::NotFound("deployment binding"))?;
                return Ok((existing, Bound::Existing));
            }
            Err(StoreError::NotFound) => return Err(ServiceError::NotFound("environment")),
            Err(other) => return Err(other.into()),
        };
        self.audit_binding(who, "deployments.bind", &env, &app_id)
            .await;
        Ok((binding, Bound::Created))
    }

    /// Takes back the environment's permission to deploy `app_id`; deployments already made
    /// stay in its history.
    /// Fails: no such environment, or another user's → 404; the caller is not an admin →
    /// 403 `admin_only`; the application is not bound to it → 404.
    pub async fn unbind(
        &self,
        who: Principal,
        environment_id: EnvironmentId,
        app_id: CoolifyAppId,
    ) -> ServiceResult<()> {
        let env = self.for_admin(who, environment_id).await?;
        self.store
            .delete_deployment_binding(env.id, &app_id)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ServiceError::NotFound("deployment binding"),
                other => other.into(),
            })?;
        self.audit_binding(who, "deployments.unbind", &env, &app_id)
            .await;
        Ok(())
    }

    /// Fails with 403 `application_not_bound` unless an admin bound `app_id` to `env`.
    pub(super) async fn require_bound(
        &self,
        env: EnvironmentId,
        app_id: &CoolifyAppId,
    ) -> ServiceResult<()> {
        match self.store.get_deployment_binding(env, app_id).await? {
            Some(_) => Ok(()),
            None => Err(ServiceError::Forbidden {
                code: ErrorCode::ApplicationNotBound,
                message: format!(
                    "the Coolify application {app_id} is not bound to this environment; ask an admin to bind it"
                ),
            }),
        }
    }

    /// The environment if `who` reaches it (404 otherwise) and is an admin (403 otherwise).
    async fn for_admin(
        &self,
        who: Principal,
        environment_id: EnvironmentId,
    ) -> ServiceResult<Environment> {
        let env = access::environment(self.store.as_ref(), who, environment_id).await?;
        access::require_admin(self.store.as_ref(), who)
            .await
            .map_err(|e| match e {
                ServiceError::Forbidden { code, .. } => ServiceError::Forbidden {
                    code,
                    message: "only an admin may bind Coolify applications to an environment; ask one to do it".into(),
                },
                other => other,
            })?;
        Ok(env)
    }

    async fn audit_binding(
        &self,
        who: Principal,
        action: &str,
        env: &Environment,
        app_id: &CoolifyAppId,
    ) {
        crate::audit::record(
            self.store.as_ref(),
            Some(who.user_id),
            action,
            Some(env.id.to_string()),
            "ok",
            json!({ "appId": app_id, "owner": env.user_id }),
        )
        .await;
    }
}
