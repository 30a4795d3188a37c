//! An environment's settings, each replaced whole by its owner or an admin: the egress
//! policy, the idle stop and the size of its workspaces.

use chrono::Utc;
use craftastic_domain::{EgressPolicy, EnvironmentId, EnvironmentSize, IdleStopMinutes};
use craftastic_store::{Environment, StoreError, StoreResult};
use futures::future::BoxFuture;
use serde_json::{Value, json};

use super::{EnvironmentView, Environments};
use crate::tokens::Principal;
use crate::{ServiceError, ServiceResult, access};

impl Environments {
    /// Replaces one setting through `update`, audits it as `action` with the `details` of
    /// the environment before and after, and returns the environment after.
    /// Fails: no such environment, or another user's → 404; being deleted → 409 `not_ready`.
    async fn change<'a>(
        &'a self,
        who: Principal,
        id: EnvironmentId,
        action: &str,
        update: impl FnOnce(EnvironmentId) -> BoxFuture<'a, StoreResult<Environment>>,
        details: impl FnOnce(&Environment, &Environment) -> Value,
    ) -> ServiceResult<Environment> {
        let before = access::changeable_environment(self.store.as_ref(), who, id).await?;
        let after = update(before.id).await.map_err(|e| match e {
            StoreError::NotFound => ServiceError::NotFound("environment"),
            other => other.into(),
        })?;
        crate::audit::record(
            self.store.as_ref(),
            Some(who.user_id),
            action,
            Some(before.id.to_string()),
            "ok",
            details(&before, &after),
        )
        .await;
        Ok(after)
    }

    /// Replaces the environment's egress policy (where its workspaces may connect to) and
    /// returns the environment. The owner or an admin may change it. Workspaces on the other
    /// kind of network are moved ([`crate::workspaces::Workspaces::apply_egress`]).
    /// Fails: no such environment, or another user's → 404; being deleted → 409 `not_ready`;
    /// the engine fails while moving workspaces → 502.
    pub async fn set_egress(
        &self,
        who: Principal,
        id: EnvironmentId,
        egress: EgressPolicy,
    ) -> ServiceResult<EnvironmentView> {
        let updated = self
            .change(
                who,
                id,
                "environments.egress",
                |id| self.store.set_environment_egress(id, &egress, Utc::now()),
                |before, after| json!({ "egressPolicy": after.egress, "previous": before.egress }),
            )
            .await?;
        let moved = self.workspaces.apply_egress(&updated).await?;
        if moved > 0 {
            tracing::info!(environment = %id, workspaces = moved, "workspaces moved to the network of the new egress policy");
        }
        self.view(updated.id).await
    }

    /// Replaces how long the environment's workspaces may be idle before the server stops
    /// them (see [`crate::idle`]), and returns the environment. The owner or an admin may
    /// change it; it applies from the next idle check.
    /// Fails: no such environment, or another user's → 404; being deleted → 409 `not_ready`.
    pub async fn set_idle_stop(
        &self,
        who: Principal,
        id: EnvironmentId,
        idle_stop: IdleStopMinutes,
    ) -> ServiceResult<EnvironmentView> {
        let updated = self
            .change(
                who,
                id,
                "environments.idle_stop",
                |id| self.store.set_environment_idle_stop(id, idle_stop, Utc::now()),
                |before, after| {
                    json!({ "minutes": after.idle_stop.minutes(), "previous": before.idle_stop.minutes() })
                },
            )
            .await?;
        self.view(updated.id).await
    }

    /// Replaces the memory, CPUs and disk the environment's workspaces ask for (each
    /// `None`: the server's default), checked against the maxima at the edge, and returns
    /// the environment. The owner or an admin may change it. Running workspaces get the
    /// memory and CPUs at once (see [`crate::workspaces::Workspaces::resize`]), stopped ones
    /// when they start, and the disk cap applies from the disk watch's next pass.
    /// Fails: no such environment, or another user's → 404; being deleted → 409 `not_ready`.
    pub async fn set_size(
        &self,
        who: Principal,
        id: EnvironmentId,
        size: EnvironmentSize,
    ) -> ServiceResult<EnvironmentView> {
        let updated = self
            .change(
                who,
                id,
                "environments.size",
                |id| self.store.set_environment_size(id, size, Utc::now()),
                |before, after| {
                    json!({ "size": size_json(&after.size), "previous": size_json(&before.size) })
                },
            )
            .await?;
        let resized = self.workspaces.resize(&updated).await?;
        if resized > 0 {
            tracing::info!(environment = %id, workspaces = resized, "running workspaces resized");
        }
        self.view(updated.id).await
    }
}

/// An environment's own size as the audit log keeps it (`null`: the server's default).
pub(super) fn size_json(size: &EnvironmentSize) -> Value {
    json!({
        "memoryBytes": size.memory_bytes,
        "nanoCpus": size.nano_cpus,
        "diskBytes": size.disk_bytes,
    })
}
