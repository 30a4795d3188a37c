//! Workspaces: one container per (environment, branch), with the branch's worktree at
//! `/workspace` (invariant I1).

use std::sync::Arc;

use chrono::Utc;
use craftastic_domain::{
    BranchName, EgressPolicy, EnvironmentId, SessionId, WorkspaceId, WorkspaceSize,
};
use craftastic_runtime::{ExecSpec, Runtime, RuntimeError};
use craftastic_store::{
    Environment, Session, SessionStatus, SessionType, Store, StoreError, Workspace, WorkspaceStatus,
};
use serde_json::json;

use crate::devcontainer::{Devcontainers, Prepared};
use crate::egress::EgressProxy;
use crate::keyed_lock::{KeyedGuard, KeyedLocks};
use crate::limits::{Limits, Quota};
use crate::networks::{NetKind, Networks};
use crate::sandbox::{self, Attachment, SandboxSettings};
use crate::sessions::agent_files;
use crate::{ServiceError, ServiceResult, untrusted};

/// Makes the worktree of a branch (`sh -c`); see the script's head.
const WORKTREE_SCRIPT: &str = include_str!("workspaces/worktree.sh");

#[derive(Clone)]
pub struct Workspaces {
    store: Arc<dyn Store>,
    runtime: Arc<dyn Runtime>,
    settings: Arc<SandboxSettings>,
    networks: Networks,
    egress: EgressProxy,
    /// One lock per (environment, branch): the making of a workspace is serialised per
    /// branch.
    locks: KeyedLocks<(EnvironmentId, BranchName)>,
    limits: Limits,
    devcontainers: Devcontainers,
}

impl Workspaces {
    pub fn new(
        store: Arc<dyn Store>,
        runtime: Arc<dyn Runtime>,
        settings: Arc<SandboxSettings>,
        networks: Networks,
        egress: EgressProxy,
        limits: Limits,
        devcontainers: Devcontainers,
    ) -> Self {
        Self {
            store,
            runtime,
            settings,
            networks,
            egress,
            locks: KeyedLocks::default(),
            limits,
            devcontainers,
        }
    }

    /// The kind of network the environment's workspaces join: its egress policy decides.
    fn net_kind(env: &Environment) -> NetKind {
        match env.egress {
            EgressPolicy::Open => NetKind::Open,
            EgressPolicy::None | EgressPolicy::Allowlist(_) => NetKind::Restricted,
        }
    }

    /// Moves the environment's workspaces onto the network its egress policy now asks for:
    /// a container on the other one is removed (its worktree's volume stays), its workspace
    /// becomes `missing` and its sessions `inactive`; each comes back on the right network
    /// when next used. A change within the same kind (another allowlist) applies at once,
    /// since the proxy reads the policy on every connection.
    /// Fails: the engine fails → 502.
    pub async fn apply_egress(&self, env: &Environment) -> ServiceResult<usize> {
        let network = self.networks.name(env.user_id, Self::net_kind(env));
        let sessions = self.store.list_sessions(Some(env.id)).await?;
        let mut moved = 0;
        for ws in self.store.list_workspaces(Some(env.id)).await? {
            let _guard = self.lock(env.id, &ws.branch).await;
            let Some(id) = &ws.container_id else { continue };
            let Some(container) = self.runtime.inspect(id).await? else {
                continue;
            };
            if container.networks.contains_key(&network) {
                continue;
            }
            self.runtime.remove(&container.id).await?;
            self.store
                .set_workspace_state(ws.id, WorkspaceStatus::Missing, None, None)
                .await?;
            for session in &sessions {
                if session.workspace_id == Some(ws.id) && session.status == SessionStatus::Active {
                    self.store
                        .set_session_status(session.id, SessionStatus::Inactive, chrono::Utc::now())
                        .await?;
                }
            }
            moved += 1;
        }
        Ok(moved)
    }

    /// Waits for the turn to change the workspace of (`env`, `branch`), held until the
    /// guard drops.
    pub(crate) async fn lock(
        &self,
        env: EnvironmentId,
        branch: &BranchName,
    ) -> KeyedGuard<(EnvironmentId, BranchName)> {
        self.locks.lock((env, branch.clone())).await
    }

    /// Ensures the workspace of (`env`, `branch`) exists and runs with the branch's worktree
    /// at `/workspace`, creating the branch from the environment's branch when it does not
    /// exist. Concurrent calls for one branch make one container.
    /// Before: `env`'s bare clone exists. After: the row says `running` with the container id.
    /// Fails: the owner has as many running workspaces as allowed and this one is not
    /// among them → 429 `limit_reached`; the engine fails or the image is missing → 502
    /// (the row says `error`); the environment is gone → 404.
    pub async fn ensure(&self, env: &Environment, branch: &BranchName) -> ServiceResult<Workspace> {
        let _guard = self.lock(env.id, branch).await;
        self.ensure_locked(env, branch).await
    }

    /// [`Self::ensure`] for a caller that holds [`Self::lock`] of the branch.
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

    /// Returns the id of a running container holding the worktree. A container on another
    /// network than its environment's egress policy asks for is made anew (the worktree's
    /// volume stays). A new container of a branch with a devcontainer.json gets the image
    /// made from it (built before the owner's network lock is taken: a build takes long),
    /// and a container that started runs its lifecycle commands.
    async fn bring_up(&self, env: &Environment, ws: &Workspace) -> ServiceResult<String> {
        let existing = match &ws.container_id {
            Some(id) => self.runtime.inspect(id).await?,
            None => None,
        };
        let kind = Self::net_kind(env);
        let network = self.networks.name(env.user_id, kind);
        let new = match &existing {
            Some(c) if c.running && c.networks.contains_key(&network) => return Ok(c.id.clone()),
            Some(c) => !c.networks.contains_key(&network),
            None => true,
        };
        let prepared = if new {
            // A build reaches what the workspace would: the owner's open network, or none.
            let build_network = match kind {
                NetKind::Open => {
                    let _network_guard = self.networks.lock(env.user_id).await;
                    self.networks.ensure_locked(env.user_id, kind).await?.name
                }
                NetKind::Restricted => "none".to_owned(),
            };
            self.devcontainers.prepare(env, ws, build_network).await?
        } else {
            None
        };
        let _network_guard = self.networks.lock(env.user_id).await;
        let id = match existing {
            Some(c) if !c.networks.contains_key(&network) => {
                tracing::info!(workspace = %ws.id, "its container is on another network than its egress policy asks: making it anew");
                self.runtime.remove(&c.id).await?;
                self.create_container(env, ws, prepared.as_ref()).await?
            }
            Some(c) => {
                // A stopped container's network may have been removed as unused.
                self.networks.ensure_locked(env.user_id, kind).await?;
                // Its environment's size may have changed while it was stopped.
                let size = self.size_of(env).await?;
                if let Err(e) = self
                    .runtime
                    .update_limits(&c.id, size.memory_bytes, size.nano_cpus)
                    .await
                {
                    tracing::warn!(workspace = %ws.id, error = %e, "could not give a stopped container its environment's memory and CPUs; it starts with those it had");
                }
                c.id
            }
            None => self.create_container(env, ws, prepared.as_ref()).await?,
        };
        self.runtime.start(&id).await?;
        drop(_network_guard);
        self.forget_agent_files(env, ws, &id).await?;
        self.make_worktree(env, ws, &id).await?;
        if let Some(c) = self.runtime.inspect(&id).await? {
            self.devcontainers.started(env, ws, &id, &c.labels);
        }
        Ok(id)
    }

    /// Clears a container that just started of what agent sessions left: every private
    /// folder and every credentials file (no tmux session runs in it yet, so each is left
    /// from before it stopped), and the state folders (conversations) of sessions deleted
    /// meanwhile, or whose agent was, which could not remove their own. The state of the
    /// branch's other agent sessions stays, for them to continue. Sessions started again
    /// write their credentials anew.
    /// Fails: the store or the engine fails → 500 / 502.
    async fn forget_agent_files(
        &self,
        env: &Environment,
        ws: &Workspace,
        container: &str,
    ) -> ServiceResult<()> {
        let keep: Vec<SessionId> = self
            .store
            .list_sessions(Some(env.id))
            .await?
            .into_iter()
            .filter(|s| {
                s.git_branch == ws.branch
                    && s.session_type == SessionType::Agent
                    && s.agent_id.is_some()
            })
            .map(|s| s.id)
            .collect();
        let mut cmd = vec![
            "sh".to_owned(),
            "-c".to_owned(),
            agent_files::FORGET.to_owned(),
            "craftastic-forget".to_owned(),
        ];
        cmd.extend(agent_files::forget_args(&keep));
        let out = self
            .runtime
            .exec(
                container,
                ExecSpec {
                    cmd,
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

    /// The effective size of the environment's workspaces, read again: `env` may have been
    /// read before a change of its size that the caller's lock did not wait for.
    async fn size_of(&self, env: &Environment) -> ServiceResult<WorkspaceSize> {
        let size = match self.store.get_environment(env.id).await? {
            Some(current) => current.size,
            None => env.size,
        };
        Ok(size.effective(&self.settings.default_size()))
    }

    /// Gives the running containers of the environment its current memory and CPUs at
    /// once, each under its branch's lock (a container being made meanwhile is made with
    /// them, or resized here once it is). Returns how many were resized; one the engine
    /// refuses keeps its limits until it starts again, which is logged.
    /// Fails: the store fails.
    pub(crate) async fn resize(&self, env: &Environment) -> ServiceResult<usize> {
        let size = env.size.effective(&self.settings.default_size());
        let mut resized = 0;
        for ws in self.store.list_workspaces(Some(env.id)).await? {
            let _guard = self.lock(env.id, &ws.branch).await;
            let Some(current) = self.store.get_workspace(env.id, &ws.branch).await? else {
                continue;
            };
            let Some(id) = current.container_id.filter(|_| {
                matches!(
                    current.status,
                    WorkspaceStatus::Running | WorkspaceStatus::Creating
                )
            }) else {
                continue;
            };
            match self
                .runtime
                .update_limits(&id, size.memory_bytes, size.nano_cpus)
                .await
            {
                Ok(()) => resized += 1,
                Err(RuntimeError::NotFound) => {}
                Err(e) => {
                    tracing::warn!(workspace = %ws.id, error = %e, "the engine did not resize a running workspace; it keeps its memory and CPUs until it starts again")
                }
            }
        }
        Ok(resized)
    }

    /// Makes the container on the network of its environment's egress policy; the caller
    /// holds the owner's network lock.
    async fn create_container(
        &self,
        env: &Environment,
        ws: &Workspace,
        devcontainer: Option<&Prepared>,
    ) -> ServiceResult<String> {
        let kind = Self::net_kind(env);
        let network = self.networks.ensure_locked(env.user_id, kind).await?;
        let proxy = match kind {
            NetKind::Open => None,
            NetKind::Restricted => Some(self.egress_url(&network).await?),
        };
        let size = self.size_of(env).await?;
        let mut spec = sandbox::workspace_spec(
            &self.settings,
            env.user_id,
            env.id,
            env.name.as_str(),
            ws.id,
            &ws.branch,
            &size,
            Attachment {
                network: &network.name,
                proxy: proxy.as_deref(),
            },
        );
        if let Some(d) = devcontainer {
            spec.image = d.image.clone();
            spec.user = d.user.clone();
            spec.env.extend(d.env.iter().cloned());
            spec.labels.extend(d.labels.clone());
        }
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

    /// Removes this server's workspace networks that none of `containers` (all of this
    /// server's, as the caller listed them) uses.
    pub async fn remove_unused_networks(
        &self,
        containers: &[craftastic_runtime::ContainerInfo],
    ) -> ServiceResult<usize> {
        self.networks.remove_unused(containers).await
    }

    /// Has the egress proxy listen on every restricted network of this server (again, after
    /// a restart).
    /// Fails: the engine fails, or an address cannot be bound → 502.
    pub async fn keep_egress_listening(&self) -> ServiceResult<()> {
        for gateway in self
            .networks
            .restricted()
            .await?
            .iter()
            .filter_map(|n| n.gateway)
        {
            self.egress.listen(gateway).await?;
        }
        Ok(())
    }

    /// The egress proxy's URL on a restricted network, listening from now on.
    async fn egress_url(&self, network: &craftastic_runtime::NetworkInfo) -> ServiceResult<String> {
        let Some(gateway) = network.gateway else {
            return Err(ServiceError::Upstream(format!(
                "the engine reports no gateway for the network {}",
                network.name
            )));
        };
        self.egress.listen(gateway).await?;
        self.egress.forget_clients().await;
        Ok(self.egress.url(gateway))
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

    /// Stops a workspace on the server's own decision (over its disk cap, idle), with
    /// `reason` as its error, which says how to get it back; its active sessions become
    /// `inactive`, as stopping its environment would (they start again when opened). Under
    /// the branch's lock, so that no session is opened meanwhile, the workspace is read
    /// again: when it changed (stopped, recreated or deleted), or `keep` says so of its
    /// sessions as they are now, nothing is done and the answer is false. `action` names it
    /// in the audit log.
    /// Fails: the engine or the database fails.
    pub(crate) async fn stop_for(
        &self,
        ws: &Workspace,
        reason: &str,
        action: &'static str,
        keep: impl FnOnce(&[Session]) -> bool,
    ) -> ServiceResult<bool> {
        let _guard = self.lock(ws.environment_id, &ws.branch).await;
        let current = self
            .store
            .get_workspace(ws.environment_id, &ws.branch)
            .await?;
        let Some(current) = current.filter(|c| {
            c.id == ws.id
                && c.status == WorkspaceStatus::Running
                && c.container_id == ws.container_id
        }) else {
            return Ok(false);
        };
        let sessions: Vec<Session> = self
            .store
            .list_sessions(Some(ws.environment_id))
            .await?
            .into_iter()
            .filter(|s| s.workspace_id == Some(ws.id))
            .collect();
        if keep(&sessions) {
            return Ok(false);
        }
        if let Some(id) = &current.container_id {
            self.runtime.stop(id).await?;
        }
        self.store
            .set_workspace_state(
                ws.id,
                WorkspaceStatus::Stopped,
                current.container_id.as_deref(),
                Some(reason),
            )
            .await?;
        for session in sessions {
            if session.status == SessionStatus::Active {
                self.store
                    .set_session_status(session.id, SessionStatus::Inactive, Utc::now())
                    .await?;
            }
        }
        tracing::warn!(workspace = %ws.id, branch = %ws.branch, reason, "stopped a workspace");
        let owner = self
            .store
            .get_environment(ws.environment_id)
            .await?
            .map(|e| e.user_id);
        crate::audit::record(
            self.store.as_ref(),
            owner,
            action,
            Some(ws.id.to_string()),
            "ok",
            json!({ "branch": ws.branch.to_string(), "reason": reason }),
        )
        .await;
        Ok(true)
    }

    /// Removes the container and the worktree's volume, and the worktree's entry in the
    /// bare repository (its name is the workspace id, so this cannot hit another one),
    /// following no link. An entry that cannot be removed (a container keeps filling it) is
    /// logged and left inside the clone; the engine failing is a 502.
    pub async fn destroy(&self, env: EnvironmentId, ws: &Workspace) -> ServiceResult<()> {
        if let Some(id) = &ws.container_id {
            self.runtime.remove(id).await?;
        }
        self.runtime.remove(&sandbox::container_name(ws.id)).await?;
        self.runtime
            .remove_volume(&sandbox::volume_name(ws.id))
            .await?;
        // The other containers of the environment can write the clone, `worktrees` included
        // (it may be a link to a host folder): the folder goes through `untrusted`.
        let repo = self.settings.repo_path(env);
        let admin_dir = format!("worktrees/{}", ws.id);
        let removed = tokio::task::spawn_blocking(move || {
            untrusted::Dir::open(&repo)
                .and_then(|dir| untrusted::remove_all(&dir, &admin_dir, untrusted::WORKTREE))
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("removing a worktree's folder: {e}")))?;
        if let Err(e) = removed.or_else(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Ok(()),
            _ => Err(e),
        }) {
            // What stays is inside the clone, locked for a worktree no container has, and
            // goes with the environment; the workspace itself is gone either way.
            tracing::warn!(environment = %env, workspace = %ws.id, error = %e,
                "could not remove the worktree's folder in the clone");
        }
        self.store.delete_workspace(ws.id).await?;
        self.devcontainers.forget(ws.id);
        Ok(())
    }
}
