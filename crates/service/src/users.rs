//! Accounts as an admin sees them: every user with what the user has and may have, and
//! deleting a user with everything the user owns.

use std::sync::Arc;

use craftastic_domain::{ErrorCode, UserId};
use craftastic_store::{Store, StoreError, User};
use serde_json::json;

use crate::auth::Auth;
use crate::environments::Environments;
use crate::limits::{LimitReport, Limits, PerQuota};
use crate::tokens::Principal;
use crate::{ServiceError, ServiceResult, access};

/// The most users one page lists.
pub const MAX_PAGE: i64 = 500;

#[derive(Clone)]
pub struct Users {
    store: Arc<dyn Store>,
    auth: Auth,
    environments: Environments,
    limits: Limits,
}

/// One page of users, and how many there are.
#[derive(Debug, Clone)]
pub struct UserPage {
    pub users: Vec<UserSummary>,
    pub total: i64,
    /// The server's default limits.
    pub defaults: PerQuota<i64>,
}

/// A user with what the user has and may have.
#[derive(Debug, Clone)]
pub struct UserSummary {
    pub user: User,
    pub report: LimitReport,
}

impl Users {
    pub fn new(
        store: Arc<dyn Store>,
        auth: Auth,
        environments: Environments,
        limits: Limits,
    ) -> Self {
        Self {
            store,
            auth,
            environments,
            limits,
        }
    }

    /// A page of users, oldest first, with usage and limits; `limit` is at most
    /// [`MAX_PAGE`].
    /// Fails: not an admin → 403.
    pub async fn list(&self, who: Principal, offset: i64, limit: i64) -> ServiceResult<UserPage> {
        access::require_admin(self.store.as_ref(), who).await?;
        let rows = self
            .store
            .list_users_with_usage(offset.max(0), limit.clamp(1, MAX_PAGE))
            .await?;
        let users = rows
            .into_iter()
            .map(|row| UserSummary {
                report: self
                    .limits
                    .report_from_store(row.user.id, row.usage, row.overrides),
                user: row.user,
            })
            .collect();
        Ok(UserPage {
            users,
            total: self.store.count_users().await?,
            defaults: self.limits.defaults(),
        })
    }

    /// Deletes a user and everything the user owns: the user's sign-ins end first (their
    /// tokens answer 401 from the next request, their terminals close), then each
    /// environment is deleted with its containers and clone, then the account.
    /// Fails: not an admin → 403; the admin's own account → 409 `cannot_delete_self`;
    /// no such user → 404; the engine fails → 502 (the user stays, signed out, and
    /// deleting again finishes the work).
    pub async fn delete(&self, who: Principal, id: UserId) -> ServiceResult<()> {
        access::require_admin(self.store.as_ref(), who).await?;
        if who.user_id == id {
            return Err(ServiceError::Conflict {
                code: ErrorCode::CannotDeleteSelf,
                message: "you cannot delete your own account; ask another admin to".into(),
            });
        }
        let Some(user) = self.store.get_user(id).await? else {
            return Err(ServiceError::NotFound("user"));
        };
        self.store.revoke_user_refresh_tokens(id, None).await?;
        self.auth.forget_sign_ins(id);
        for env in self.store.list_environments(Some(id)).await? {
            self.environments.delete(who, env.id).await?;
        }
        self.store.delete_user(id).await.map_err(|e| match e {
            StoreError::NotFound => ServiceError::NotFound("user"),
            other => other.into(),
        })?;
        self.auth.forget_sign_ins(id);
        crate::audit::record(
            self.store.as_ref(),
            Some(who.user_id),
            "admin.delete_user",
            Some(id.to_string()),
            "ok",
            json!({ "email": user.email.as_str() }),
        )
        .await;
        Ok(())
    }
}
