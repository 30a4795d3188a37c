//! Per-user limits: how many environments, running workspaces, sessions, open terminals and
//! deployments in flight one user may have. Each has a server default (a setting) that an
//! admin may raise or lower for one user. Each is checked where its thing is made, counting
//! the owner's own rows; two creations racing may pass one over the limit, which is
//! accepted: a limit guards against abuse, it is no invariant.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use craftastic_domain::{LimitValue, UserId};
use craftastic_store::{LimitOverrides, Store, StoreError, Usage};
use serde_json::json;

use crate::tokens::Principal;
use crate::{ServiceError, ServiceResult, access};

/// One kind of thing a user's count of is limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quota {
    Environments,
    RunningWorkspaces,
    Sessions,
    Terminals,
    DeploymentsInFlight,
}

impl Quota {
    pub const ALL: [Quota; 5] = [
        Quota::Environments,
        Quota::RunningWorkspaces,
        Quota::Sessions,
        Quota::Terminals,
        Quota::DeploymentsInFlight,
    ];

    /// The setting that holds the server's default.
    pub fn setting(self) -> &'static str {
        match self {
            Quota::Environments => "MAX_ENVIRONMENTS_PER_USER",
            Quota::RunningWorkspaces => "MAX_RUNNING_WORKSPACES_PER_USER",
            Quota::Sessions => "MAX_SESSIONS_PER_USER",
            Quota::Terminals => "MAX_TERMINALS_PER_USER",
            Quota::DeploymentsInFlight => "MAX_DEPLOYMENTS_IN_FLIGHT_PER_USER",
        }
    }

    /// Its name in the API.
    pub fn field(self) -> &'static str {
        match self {
            Quota::Environments => "environments",
            Quota::RunningWorkspaces => "runningWorkspaces",
            Quota::Sessions => "sessions",
            Quota::Terminals => "terminals",
            Quota::DeploymentsInFlight => "deploymentsInFlight",
        }
    }

    fn count(self, n: i64) -> String {
        let (one, many) = match self {
            Quota::Environments => ("environment", "environments"),
            Quota::RunningWorkspaces => ("running workspace", "running workspaces"),
            Quota::Sessions => ("session", "sessions"),
            Quota::Terminals => ("open terminal", "open terminals"),
            Quota::DeploymentsInFlight => ("deployment in flight", "deployments in flight"),
        };
        format!("{n} {}", if n == 1 { one } else { many })
    }

    fn advice(self) -> &'static str {
        match self {
            Quota::Environments => "delete one",
            Quota::RunningWorkspaces => "stop an environment or delete a branch's sessions",
            Quota::Sessions => "delete one",
            Quota::Terminals => "close one",
            Quota::DeploymentsInFlight => "wait until one has ended",
        }
    }

    /// The 429 of a user who has `current` and may have `limit`.
    fn reached(self, current: i64, limit: i64) -> ServiceError {
        ServiceError::LimitReached {
            setting: self.setting(),
            limit,
            message: format!(
                "you have {}, the most allowed ({}: {limit}); {} or ask an admin to raise your limit",
                self.count(current),
                self.setting(),
                self.advice()
            ),
        }
    }
}

/// One value per [`Quota`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PerQuota<T> {
    pub environments: T,
    pub running_workspaces: T,
    pub sessions: T,
    pub terminals: T,
    pub deployments_in_flight: T,
}

impl<T: Copy> PerQuota<T> {
    pub fn get(&self, quota: Quota) -> T {
        match quota {
            Quota::Environments => self.environments,
            Quota::RunningWorkspaces => self.running_workspaces,
            Quota::Sessions => self.sessions,
            Quota::Terminals => self.terminals,
            Quota::DeploymentsInFlight => self.deployments_in_flight,
        }
    }

    pub fn set(&mut self, quota: Quota, value: T) {
        match quota {
            Quota::Environments => self.environments = value,
            Quota::RunningWorkspaces => self.running_workspaces = value,
            Quota::Sessions => self.sessions = value,
            Quota::Terminals => self.terminals = value,
            Quota::DeploymentsInFlight => self.deployments_in_flight = value,
        }
    }

    pub fn map<U: Copy>(&self, f: impl Fn(Quota, T) -> U) -> PerQuota<U> {
        PerQuota {
            environments: f(Quota::Environments, self.environments),
            running_workspaces: f(Quota::RunningWorkspaces, self.running_workspaces),
            sessions: f(Quota::Sessions, self.sessions),
            terminals: f(Quota::Terminals, self.terminals),
            deployments_in_flight: f(Quota::DeploymentsInFlight, self.deployments_in_flight),
        }
    }
}

/// The server's defaults: the settings `MAX_*_PER_USER`.
pub type LimitSettings = PerQuota<i64>;

impl LimitSettings {
    pub const DEFAULT: Self = Self {
        environments: 20,
        running_workspaces: 10,
        sessions: 50,
        terminals: 20,
        deployments_in_flight: 3,
    };
}

/// An admin's change to one user's limits: per quota, `None` leaves it, `Some(None)` brings
/// back the default, `Some(Some(n))` sets it.
pub type LimitPatch = PerQuota<Option<Option<LimitValue>>>;

/// What a user has, may have, and what the server's defaults are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitReport {
    pub usage: PerQuota<i64>,
    pub limits: PerQuota<i64>,
    pub defaults: PerQuota<i64>,
    /// The limits an admin set for this user (`None`: the default).
    pub overrides: PerQuota<Option<i64>>,
}

fn from_store(o: LimitOverrides) -> PerQuota<Option<i64>> {
    PerQuota {
        environments: o.environments,
        running_workspaces: o.running_workspaces,
        sessions: o.sessions,
        terminals: o.terminals,
        deployments_in_flight: o.deployments_in_flight,
    }
}

fn to_store(o: PerQuota<Option<i64>>) -> LimitOverrides {
    LimitOverrides {
        environments: o.environments,
        running_workspaces: o.running_workspaces,
        sessions: o.sessions,
        terminals: o.terminals,
        deployments_in_flight: o.deployments_in_flight,
    }
}

#[derive(Clone)]
pub struct Limits {
    store: Arc<dyn Store>,
    defaults: LimitSettings,
    /// Open terminals per user, on this server.
    terminals: Arc<Mutex<HashMap<UserId, i64>>>,
}

/// One open terminal of a user, counted until it is dropped.
pub struct TerminalSlot {
    terminals: Arc<Mutex<HashMap<UserId, i64>>>,
    user: UserId,
}

impl Drop for TerminalSlot {
    fn drop(&mut self) {
        let mut open = self.terminals.lock().expect("open terminals");
        if let Some(n) = open.get_mut(&self.user) {
            *n -= 1;
            if *n <= 0 {
                open.remove(&self.user);
            }
        }
    }
}

impl Limits {
    pub fn new(store: Arc<dyn Store>, defaults: LimitSettings) -> Self {
        Self {
            store,
            defaults,
            terminals: Arc::default(),
        }
    }

    /// The server's defaults.
    pub fn defaults(&self) -> LimitSettings {
        self.defaults
    }

    /// The user's limits: the defaults, with what an admin set for the user.
    async fn limits_of(&self, user: UserId) -> ServiceResult<PerQuota<i64>> {
        let overrides = from_store(self.store.user_limits(user).await?);
        Ok(self
            .defaults
            .map(|q, default| overrides.get(q).unwrap_or(default)))
    }

    fn open_terminals(&self, user: UserId) -> i64 {
        self.terminals
            .lock()
            .expect("open terminals")
            .get(&user)
            .copied()
            .unwrap_or(0)
    }

    fn usage(&self, user: UserId, stored: Usage) -> PerQuota<i64> {
        PerQuota {
            environments: stored.environments,
            running_workspaces: stored.running_workspaces,
            sessions: stored.sessions,
            terminals: self.open_terminals(user),
            deployments_in_flight: stored.deployments_in_flight,
        }
    }

    /// Checks that `owner` may have one more of `quota` (counted in the store; for
    /// terminals see [`Self::open_terminal`]).
    /// Fails: the owner has as many as the limit allows → 429 `limit_reached`.
    pub async fn check(&self, owner: UserId, quota: Quota) -> ServiceResult<()> {
        let limit = self.limits_of(owner).await?.get(quota);
        let current = self
            .usage(owner, self.store.user_usage(owner).await?)
            .get(quota);
        if current >= limit {
            return Err(quota.reached(current, limit));
        }
        Ok(())
    }

    /// Counts one more open terminal of `user` until the slot is dropped; counting and
    /// checking happen under one lock, so concurrent opens never pass the limit.
    /// Fails: the user has as many open terminals as allowed → 429 `limit_reached`.
    pub async fn open_terminal(&self, user: UserId) -> ServiceResult<TerminalSlot> {
        let limit = self.limits_of(user).await?.terminals;
        let mut open = self.terminals.lock().expect("open terminals");
        let current = open.get(&user).copied().unwrap_or(0);
        if current >= limit {
            return Err(Quota::Terminals.reached(current, limit));
        }
        open.insert(user, current + 1);
        Ok(TerminalSlot {
            terminals: self.terminals.clone(),
            user,
        })
    }

    /// What `who` has and may have.
    pub async fn mine(&self, who: Principal) -> ServiceResult<LimitReport> {
        self.report(who.user_id).await
    }

    async fn report(&self, user: UserId) -> ServiceResult<LimitReport> {
        let overrides = from_store(self.store.user_limits(user).await?);
        let usage = self.usage(user, self.store.user_usage(user).await?);
        Ok(self.report_of(usage, overrides))
    }

    /// A report from counts and overrides already read.
    pub fn report_of(&self, usage: PerQuota<i64>, overrides: PerQuota<Option<i64>>) -> LimitReport {
        LimitReport {
            usage,
            limits: self
                .defaults
                .map(|q, default| overrides.get(q).unwrap_or(default)),
            defaults: self.defaults,
            overrides,
        }
    }

    /// [`Self::report_of`] for a user listed with the counts of the store.
    pub fn report_from_store(
        &self,
        user: UserId,
        usage: Usage,
        overrides: LimitOverrides,
    ) -> LimitReport {
        self.report_of(self.usage(user, usage), from_store(overrides))
    }

    /// A user's usage and limits, for an admin.
    /// Fails: not an admin → 403; no such user → 404.
    pub async fn of_user(&self, who: Principal, user: UserId) -> ServiceResult<LimitReport> {
        access::require_admin(self.store.as_ref(), who).await?;
        if self.store.get_user(user).await?.is_none() {
            return Err(ServiceError::NotFound("user"));
        }
        self.report(user).await
    }

    /// Raises or lowers a user's limits (a limit below what the user has blocks only new
    /// things; nothing is taken away).
    /// Fails: not an admin → 403; no such user → 404.
    pub async fn set_for_user(
        &self,
        who: Principal,
        user: UserId,
        patch: LimitPatch,
    ) -> ServiceResult<LimitReport> {
        access::require_admin(self.store.as_ref(), who).await?;
        if self.store.get_user(user).await?.is_none() {
            return Err(ServiceError::NotFound("user"));
        }
        let mut overrides = from_store(self.store.user_limits(user).await?);
        for q in Quota::ALL {
            if let Some(change) = patch.get(q) {
                overrides.set(q, change.map(LimitValue::get));
            }
        }
        self.store
            .set_user_limits(user, to_store(overrides), Utc::now())
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ServiceError::NotFound("user"),
                other => other.into(),
            })?;
        let changed: serde_json::Map<String, serde_json::Value> = Quota::ALL
            .into_iter()
            .filter_map(|q| {
                patch
                    .get(q)
                    .map(|c| (q.field().to_owned(), json!(c.map(LimitValue::get))))
            })
            .collect();
        crate::audit::record(
            self.store.as_ref(),
            Some(who.user_id),
            "admin.set_limits",
            Some(user.to_string()),
            "ok",
            serde_json::Value::Object(changed),
        )
        .await;
        self.report(user).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_count_the_limit_and_the_setting() {
        let ServiceError::LimitReached {
            setting,
            limit,
            message,
        } = Quota::Environments.reached(20, 20)
        else {
            panic!("not a limit")
        };
        assert_eq!(setting, "MAX_ENVIRONMENTS_PER_USER");
        assert_eq!(limit, 20);
        assert_eq!(
            message,
            "you have 20 environments, the most allowed (MAX_ENVIRONMENTS_PER_USER: 20); delete one or ask an admin to raise your limit"
        );
        let ServiceError::LimitReached { message, .. } = Quota::Terminals.reached(1, 1) else {
            panic!("not a limit")
        };
        assert!(
            message.starts_with("you have 1 open terminal, "),
            "{message}"
        );
    }

    #[test]
    fn per_quota_values_are_read_and_set_by_quota() {
        let mut v = LimitSettings::DEFAULT;
        for q in Quota::ALL {
            v.set(q, v.get(q) + 1);
        }
        assert_eq!(v.environments, 21);
        assert_eq!(v.deployments_in_flight, 4);
        let doubled = v.map(|_, n| n * 2);
        assert_eq!(doubled.sessions, 102);
    }
}
