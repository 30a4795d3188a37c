//! Workspaces: one container per (environment, branch), with the branch's worktree at
//! `/workspace` (invariant I1).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use craftastic_domain::{BranchName, EnvironmentId, WorkspaceId};
use craftastic_runtime::{ExecSpec, Runtime, RuntimeError};
use craftastic_store::{Environment, Store, StoreError, Workspace, WorkspaceStatus};

use crate::limits::{Limits, Quota};
use crate::sandbox::{self, SandboxSettings};
use crate::{ServiceError, ServiceResult};

/// Makes the worktree unless the volume already holds one (a recreated container). New
/// branches start from `$4`. Worktrees are locked so that `git worktree prune` (or `git gc`)
/// run in one container never removes another container's worktree, which it cannot see.
const WORKTREE_SCRIPT: &str = r#"set -eu
repo=$1 worktree=$2 branch=$3 base=$4
if [ -e "$worktree/.git" ]; then exit 0; fi
if git -C "$repo" rev-parse --verify --quiet --end-of-options "refs/heads/$branch" >/dev/null; then
    git -C "$repo" worktree add --quiet --lock --reason craftastic -- "$worktree" "$branch"
else
    git -C "$repo" worktree add --quiet --lock --reason craftastic -b "$branch" -- "$worktree" "$base"
fi"#;

/// One lock per (environment, branch): the making of a workspace is serialised per branch.
type BranchLocks = HashMap<(EnvironmentId, BranchName), Arc<tokio::sync::Mutex<()>>>;

#[derive(Clone)]
pub struct Workspaces {
    store: Arc<dyn Store>,
    runtime: Arc<dyn Runtime>,
    settings: Arc<SandboxSettings>,
    locks: Arc<Mutex<BranchLocks>>,
    limits: Limits,
}

impl Workspaces {
    pub fn new(
        store: Arc<dyn Store>,
        runtime: Arc<dyn Runtime>,
        settings: Arc<SandboxSettings>,
        limits: Limits,
    ) -> Self {
        Self {
            store,
            runtime,
            settings,
            locks: Arc::default(),
            limits,
        }
    }

    /// The lock that serialises changes to the workspace of (`env`, `branch`).
    pub(crate) fn lock_for(
        &self,
        env: EnvironmentId,
        branch: &BranchName,
    ) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().expect("workspace locks");
        locks.entry((env, branch.clone())).or_default().clone()
    }

    /// Ensures the workspace of (`env`, `branch`) exists and runs with the branch's worktree
    /// at `/workspace`, creating the branch from the environment's branch when it does not
    /// exist. Concurrent calls for one branch make one container.
    /// Before: `env`'s bare clone exists. After: the row says `running` with the container id.
    /// Fails: the owner has as many running workspaces as allowed and this one is not
    /// among them → 429 `limit_reached`; the engine fails or the image is missing → 502
    /// (the row says `error`); the environment is gone → 404.
    pub async fn ensure(&self, env: &Environment, branch: &BranchName) -> ServiceResult<Workspace> {
        let lock = self.lock_for(env.id, branch);
        let _guard = lock.lock().await;
        self.ensure_locked(env, branch).await
    }

    /// [`Self::ensure`] for a caller that holds [`Self::lock_for`] the branch.
    pub(crate) async fn ensure_locked(
        &self,
        env: &Environment,
        branch: &BranchName,
    ) -> ServiceResult<Workspace> {
        let existing = self.store.get_workspace(env.id, branch).await?;
        // A workspace that runs or is being made counts already.
        if !existing.as_ref().is_some_and(|ws| {
            matches!(
                ws.status,
                WorkspaceStatus::Running | WorkspaceStatus::Creating
            )
        }) {
            self.limits
                .check(env.user_id, Quota::RunningWorkspaces)
                .await?;
        }
        let ws = match existing {
            Some(ws) => ws,
            None => match self
                .store
                .create_workspace(env.id, branch, WorkspaceId::new())
                .await
            {
                Ok(ws) => ws,
                Err(StoreError::NotFound) => return Err(ServiceError::NotFound("environment")),
                Err(StoreError::Conflict(_)) => self
                    .store
                    .get_workspace(env.id, branch)
                    .await?
                    .ok_or(ServiceError::NotFound("workspace"))?,
                Err(e) => return Err(e.into()),
            },
        };
        match self.bring_up(env, &ws).await {
            Ok(container_id) => {
                self.store
                    .set_workspace_state(ws.id, WorkspaceStatus::Running, Some(&container_id), None)
                    .await?;
                Ok(Workspace {
                    container_id: Some(container_id),
                    status: WorkspaceStatus::Running,
                    error: None,
                    ..ws
                })
            }
            Err(e) => {
                let message = e.to_string();
                tracing::warn!(workspace = %ws.id, error = %message, "workspace did not come up");
                let _ = self
                    .store
                    .set_workspace_state(ws.id, WorkspaceStatus::Error, None, Some(&message))
                    .await;
                Err(e)
            }
        }
    }

    /// Returns the id of a running container holding the worktree.
    async fn bring_up(&self, env: &Environment, ws: &Workspace) -> ServiceResult<String> {
        let existing = match &ws.container_id {
            Some(id) => self.runtime.inspect(id).await?,
            None => None,
        };
        let id = match existing {
            Some(c) if c.running => return Ok(c.id),
            Some(c) => c.id,
            None => self.create_container(env, ws).await?,
        };
        self.runtime.start(&id).await?;
        self.forget_agent_files(&id).await?;
        self.make_worktree(env, ws, &id).await?;
        Ok(id)
    }

    /// Removes every agent session's private folder (credentials included) from a container
    /// that just started: no tmux session runs in it yet, so each folder is left from before
    /// it stopped, perhaps by a session deleted meanwhile, which could not remove its own.
    /// Sessions started again write theirs anew.
    async fn forget_agent_files(&self, container: &str) -> ServiceResult<()> {
        let out = self
            .runtime
            .exec(
                container,
                ExecSpec {
                    cmd: ["sh", "-c", r#"rm -rf -- "$HOME/.craftastic/agents""#]
                        .map(str::to_owned)
                        .into(),
                    ..Default::default()
                },
            )
            .await?;
        if out.code != 0 {
            return Err(ServiceError::Upstream(format!(
                "could not clear old agent files in the workspace: {}",
                out.stderr_str().trim()
            )));
        }
        Ok(())
    }

    async fn create_container(&self, env: &Environment, ws: &Workspace) -> ServiceResult<String> {
        let spec = sandbox::workspace_spec(
            &self.settings,
            env.user_id,
            env.id,
            env.name.as_str(),
            ws.id,
            &ws.branch,
        );
        // A container of this name without a row pointing at it was left by a crash
        // between creating it and recording it: replace it.
        if let Some(stale) = self.runtime.inspect(&spec.name).await? {
            self.runtime.remove(&stale.id).await?;
        }
        match self.runtime.create(&spec).await {
            Ok(id) => {
                self.store
                    .set_workspace_state(ws.id, WorkspaceStatus::Creating, Some(&id), None)
                    .await?;
                Ok(id)
            }
            Err(RuntimeError::ImageMissing(image)) => Err(ServiceError::Upstream(format!(
                "the sandbox image {image} is missing; an admin can build it with `craftastic image build`"
            ))),
            Err(e) => Err(e.into()),
        }
    }

    async fn make_worktree(
        &self,
        env: &Environment,
        ws: &Workspace,
        container: &str,
    ) -> ServiceResult<()> {
        let out = self
            .runtime
            .exec(
                container,
                ExecSpec {
                    cmd: vec![
                        "sh".into(),
                        "-c".into(),
                        WORKTREE_SCRIPT.into(),
                        "worktree".into(),
                        sandbox::repo_mount(env.id),
                        sandbox::worktree_path(ws.id),
                        ws.branch.to_string(),
                        env.branch.to_string(),
                    ],
                    ..Default::default()
                },
            )
            .await?;
        if out.code != 0 {
            let stderr = out.stderr_str();
            let reason = stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("no message");
            return Err(ServiceError::Upstream(format!(
                "could not check out {} in the workspace: {}",
                ws.branch,
                reason.trim_start_matches("fatal: ")
            )));
        }
        Ok(())
    }

    /// Stops the workspace's container (its files stay).
    pub async fn stop(&self, ws: &Workspace) -> ServiceResult<()> {
        if let Some(id) = &ws.container_id {
            self.runtime.stop(id).await?;
        }
        self.store
            .set_workspace_state(
                ws.id,
                WorkspaceStatus::Stopped,
                ws.container_id.as_deref(),
                None,
            )
            .await?;
        Ok(())
    }

    /// Removes the container and the worktree's volume, and the worktree's entry in the
    /// bare repository (its name is the workspace id, so this cannot hit another one).
    pub async fn destroy(&self, env: EnvironmentId, ws: &Workspace) -> ServiceResult<()> {
        if let Some(id) = &ws.container_id {
            self.runtime.remove(id).await?;
        }
        self.runtime.remove(&sandbox::container_name(ws.id)).await?;
        self.runtime
            .remove_volume(&sandbox::volume_name(ws.id))
            .await?;
        let admin_dir = self
            .settings
            .repo_path(env)
            .join("worktrees")
            .join(ws.id.to_string());
        match tokio::fs::remove_dir_all(&admin_dir).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(ServiceError::Internal(format!(
                    "removing {}: {e}",
                    admin_dir.display()
                )));
            }
        }
        self.store.delete_workspace(ws.id).await?;
        Ok(())
    }
}
