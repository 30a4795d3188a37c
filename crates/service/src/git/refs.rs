//! The environment's repository as the host sees it: its branches, read from the bare
//! clone's refs without running git, through the no-follow [`crate::untrusted`] reader,
//! since any container of the environment can write them.

use std::collections::BTreeMap;

use craftastic_domain::{BranchName, EnvironmentId, SessionId};

use super::{Git, RepoInfo};
use crate::tokens::Principal;
use crate::{ServiceError, ServiceResult, access};

impl Git {
    /// The environment's repository: its URL, its default branch, every branch, and which
    /// branches have a workspace with which sessions. Answers while the environment is
    /// stopped too, since no container is needed.
    pub async fn repo(&self, who: Principal, env: EnvironmentId) -> ServiceResult<RepoInfo> {
        let env = access::environment(self.store.as_ref(), who, env).await?;
        let repo = self.settings.repo_path(env.id);
        let branches = tokio::task::spawn_blocking(move || crate::untrusted::branches(&repo))
            .await
            .map_err(|e| ServiceError::Internal(format!("listing branches: {e}")))?;
        let mut worktrees: BTreeMap<BranchName, Vec<SessionId>> = self
            .store
            .list_workspaces(Some(env.id))
            .await?
            .into_iter()
            .map(|ws| (ws.branch, Vec::new()))
            .collect();
        for s in self.store.list_sessions(Some(env.id)).await? {
            worktrees.entry(s.git_branch).or_default().push(s.id);
        }
        Ok(RepoInfo {
            repository_url: env.repository_url.map(|u| u.to_string()),
            default_branch: env.branch,
            branches,
            worktrees: worktrees.into_iter().collect(),
        })
    }
}
