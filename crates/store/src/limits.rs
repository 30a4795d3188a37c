//! What a user has (counted by owner-scoped queries) and the per-user overrides of the
//! server's default limits.

use chrono::{DateTime, Utc};

use crate::User;

/// What one user has now. Each number is one `COUNT` over the user's own rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub environments: i64,
    /// Workspaces being made or running (`creating` or `running`).
    pub running_workspaces: i64,
    /// Sessions of every status: a `dead` session keeps its row until it is deleted.
    pub sessions: i64,
    /// Deployments that have not ended (`queued` or `in_progress`).
    pub deployments_in_flight: i64,
}

/// An admin's overrides of the server's default limits for one user; `None` keeps the
/// default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LimitOverrides {
    pub environments: Option<i64>,
    pub running_workspaces: Option<i64>,
    pub sessions: Option<i64>,
    pub terminals: Option<i64>,
    pub deployments_in_flight: Option<i64>,
}

impl LimitOverrides {
    /// Whether every limit is the default.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A user with what the user has and the user's overrides, for an admin's list.
#[derive(Debug, Clone)]
pub struct UserWithUsage {
    pub user: User,
    pub usage: Usage,
    pub overrides: LimitOverrides,
    /// When an admin last changed the overrides.
    pub limits_updated_at: Option<DateTime<Utc>>,
}
