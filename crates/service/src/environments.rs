//! Environments: a repository owned by a user, one bare clone of it on the host, and the
//! workspaces of its branches.

use std::collections::HashMap;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use craftastic_domain::ErrorCode;
use craftastic_domain::{
    BranchName, EgressPolicy, EnvironmentId, EnvironmentName, EnvironmentSize, IdleStopMinutes,
    RepositoryKind, RepositoryUrl, UserId, ValidationError,
};
use craftastic_runtime::Runtime;
use craftastic_store::{
    Environment, EnvironmentContents, EnvironmentStatus, NewEnvironment, SessionStatus, Store,
    StoreError,
};
use serde_json::json;
use tokio::task::JoinHandle;

use crate::github::Github;
use crate::host_git::HostGit;
use crate::limits::{Limits, Quota};
use crate::sandbox::{SandboxSettings, labels};
use crate::tokens::Principal;
use crate::workspaces::Workspaces;
use crate::{ServiceError, ServiceResult, access, untrusted};

mod settings;

/// The branch of an environment made without a repository, or whose repository has none.
const DEFAULT_BRANCH: &str = "main";

#[derive(Clone)]
pub struct Environments {
    store: Arc<dyn Store>,
    runtime: Arc<dyn Runtime>,
    settings: Arc<SandboxSettings>,
    workspaces: Workspaces,
    github: Github,
    provisioning: Arc<Mutex<HashMap<EnvironmentId, JoinHandle<()>>>>,
    limits: Limits,
}

/// An environment with the workspaces of its branches and their sessions.
pub type EnvironmentView = EnvironmentContents;

/// What a new environment is made of, parsed at the edge.
#[derive(Debug, Clone)]
pub struct EnvironmentSpec {
    pub name: EnvironmentName,
    /// `None`: an empty repository.
    pub repository_url: Option<RepositoryUrl>,
    /// `None`: the repository's default branch.
    pub branch: Option<BranchName>,
    pub egress: EgressPolicy,
    pub idle_stop: IdleStopMinutes,
    /// Checked against the server's maxima at the edge.
    pub size: EnvironmentSize,
}

impl Environments {
    pub fn new(
        store: Arc<dyn Store>,
        runtime: Arc<dyn Runtime>,
        settings: Arc<SandboxSettings>,
        workspaces: Workspaces,
        github: Github,
        limits: Limits,
    ) -> Self {
        Self {
            store,
            runtime,
            settings,
            workspaces,
            github,
            provisioning: Arc::default(),
            limits,
        }
    }

    pub fn settings(&self) -> &SandboxSettings {
        &self.settings
    }

    /// Records the environment as `creating` with its egress policy and answers at once; the
    /// clone and the default-branch workspace are made in the background, ending in
    /// `running`, or in `error` with a reason a person can act on.
    /// Fails: the caller has as many environments, or running workspaces, as allowed → 429
    /// `limit_reached`; the name is taken → 409 `name_taken`.
    pub async fn create(
        &self,
        who: Principal,
        spec: EnvironmentSpec,
    ) -> ServiceResult<EnvironmentView> {
        let EnvironmentSpec {
            name,
            repository_url,
            branch,
            egress,
            idle_stop,
            size,
        } = spec;
        if let Some(url) = &repository_url {
            self.refuse_own_clones(url)?;
        }
        // Its default branch's workspace is made at once, so that must fit too.
        for quota in [Quota::Environments, Quota::RunningWorkspaces] {
            self.limits.check(who.user_id, quota).await?;
        }
        let id = EnvironmentId::new();
        let env = self
            .store
            .create_environment(NewEnvironment {
                id,
                user_id: who.user_id,
                name,
                repository_url,
                branch: branch
                    .clone()
                    .unwrap_or_else(|| BranchName::from_trusted(DEFAULT_BRANCH.into())),
                egress,
                idle_stop,
                size,
                now: Utc::now(),
            })
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => ServiceError::Conflict {
                    code: ErrorCode::NameTaken,
                    message: "you already have an environment of this name; choose another".into(),
                },
                other => other.into(),
            })?;
        crate::audit::record(
            self.store.as_ref(),
            Some(who.user_id),
            "environments.create",
            Some(env.id.to_string()),
            "ok",
            json!({
                "repositoryUrl": env.repository_url,
                "egressPolicy": env.egress,
                "size": settings::size_json(&env.size),
            }),
        )
        .await;
        self.spawn_provision(env.clone(), branch);
        Ok(EnvironmentView {
            environment: env,
            workspaces: Vec::new(),
            sessions: Vec::new(),
        })
    }

    /// A local path inside the data dir would have the host's git read a clone that
    /// containers (perhaps another user's) can write: refused (422), whatever the local
    /// roots allow. git refuses such a clone too (its owner is the sandbox user), and this
    /// says why in words.
    fn refuse_own_clones(&self, url: &RepositoryUrl) -> ServiceResult<()> {
        if url.kind() != RepositoryKind::Local {
            return Ok(());
        }
        let data_dir = self
            .settings
            .data_dir
            .canonicalize()
            .unwrap_or_else(|_| self.settings.data_dir.clone());
        if Path::new(url.as_str()).starts_with(&data_dir) {
            return Err(ValidationError::new(
                "repositoryUrl",
                format!(
                    "repositoryUrl: {url} is inside Craftastic's data dir; clone from a repository of your own",
                    url = url.as_str()
                ),
            )
            .into());
        }
        Ok(())
    }

    fn spawn_provision(&self, env: Environment, requested_branch: Option<BranchName>) {
        let this = self.clone();
        let id = env.id;
        let mut tasks = self.provisioning.lock().expect("provisioning map");
        let handle = tokio::spawn(async move {
            this.provision(env, requested_branch).await;
            this.provisioning
                .lock()
                .expect("provisioning map")
                .remove(&id);
        });
        tasks.insert(id, handle);
    }

    async fn provision(&self, env: Environment, requested_branch: Option<BranchName>) {
        let started = std::time::Instant::now();
        let outcome = async {
            let branch = self
                .prepare_repository(&env, requested_branch.as_ref())
                .await?;
            let env = Environment {
                branch,
                ..env.clone()
            };
            self.workspaces.ensure(&env, &env.branch).await?;
            Ok::<_, ServiceError>(())
        }
        .await;
        let (status, error) = match &outcome {
            Ok(()) => (EnvironmentStatus::Running, None),
            Err(e) => (EnvironmentStatus::Error, Some(e.to_string())),
        };
        tracing::info!(environment = %env.id, status = status.as_str(), error = error.as_deref().unwrap_or(""),
            elapsed_ms = started.elapsed().as_millis() as u64, "environment provisioned");
        if let Err(e) = self
            .store
            .set_environment_status(env.id, status, error.as_deref())
            .await
        {
            tracing::warn!(environment = %env.id, error = %e, "environment vanished while it was being made");
        }
    }

    /// Makes the bare clone (or an empty repository) at its place, owned by the sandbox
    /// user, and returns the default branch.
    async fn prepare_repository(
        &self,
        env: &Environment,
        requested: Option<&BranchName>,
    ) -> ServiceResult<BranchName> {
        let dest = self.settings.repo_path(env.id);
        if !dest.exists() {
            for stale in self.settings.stale_partials(env.id) {
                // Best effort: whatever stays is removed by the next reconciliation.
                if let Err(e) = remove_dir_if_exists(&stale).await {
                    tracing::warn!(error = %e, "could not remove an earlier partial clone");
                }
            }
            let partial = self.settings.partial_repo_path(env.id);
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o711)
                .create(self.settings.repos_dir())
                .map_err(|e| {
                    ServiceError::Internal(format!("creating the repositories folder: {e}"))
                })?;
            let result = self.clone_into(env, requested, &partial).await;
            if let Err(e) = result {
                remove_dir_if_exists(&partial).await?;
                return Err(e);
            }
            let (path, uid, gid) = (partial.clone(), self.settings.uid, self.settings.gid);
            tokio::task::spawn_blocking(move || {
                crate::untrusted::chown_all(&path, uid, gid, crate::untrusted::CLONE)
            })
            .await
            .map_err(|e| ServiceError::Internal(format!("handing the clone over: {e}")))?
            .map_err(|e| {
                ServiceError::Internal(format!("handing the clone to the sandbox user: {e}"))
            })?;
            tokio::fs::rename(&partial, &dest)
                .await
                .map_err(|e| ServiceError::Internal(format!("moving the clone into place: {e}")))?;
        }
        let branch = untrusted::head_branch(&dest).unwrap_or_else(|| env.branch.clone());
        if branch != env.branch {
            self.store.set_environment_branch(env.id, &branch).await?;
        }
        Ok(branch)
    }

    async fn clone_into(
        &self,
        env: &Environment,
        requested: Option<&BranchName>,
        dir: &Path,
    ) -> ServiceResult<()> {
        let known_hosts = self.settings.known_hosts();
        let git = HostGit {
            policy: &self.settings.repo_policy,
            known_hosts: &known_hosts,
            timeout: self.settings.clone_timeout,
        };
        let failed = |e: crate::host_git::CloneError| ServiceError::Upstream(e.0);
        match &env.repository_url {
            Some(url) => {
                // Private GitHub repositories clone with the owner's linked token.
                let credential = self
                    .github
                    .credential_for(env.user_id, url.as_str())
                    .await?;
                git.clone_bare(url, requested, dir, credential.as_ref())
                    .await
                    .map_err(failed)?
            }
            None => git.init_bare(&env.branch, dir).await.map_err(failed)?,
        }
        let branch = untrusted::head_branch(dir).unwrap_or_else(|| env.branch.clone());
        if !crate::sandbox::branch_exists(dir, &branch).await {
            let user = self
                .store
                .get_user(env.user_id)
                .await?
                .ok_or(ServiceError::NotFound("user"))?;
            git.initial_commit(dir, &branch, (user.name.as_str(), user.email.as_str()))
                .await
                .map_err(failed)?;
        }
        Ok(())
    }

    pub async fn get(&self, who: Principal, id: EnvironmentId) -> ServiceResult<EnvironmentView> {
        match self.store.get_environment_contents(id).await? {
            Some(view)
                if access::may_access(self.store.as_ref(), who, view.environment.user_id)
                    .await? =>
            {
                Ok(view)
            }
            _ => Err(ServiceError::NotFound("environment")),
        }
    }

    /// The environment as it is now, with its workspaces and sessions.
    async fn view(&self, id: EnvironmentId) -> ServiceResult<EnvironmentView> {
        self.store
            .get_environment_contents(id)
            .await?
            .ok_or(ServiceError::NotFound("environment"))
    }

    /// The environments of `owner`. Only the owner or an admin may list them; to anyone
    /// else the user does not exist (404).
    pub async fn list(&self, who: Principal, owner: UserId) -> ServiceResult<Vec<EnvironmentView>> {
        if !access::may_access(self.store.as_ref(), who, owner).await? {
            return Err(ServiceError::NotFound("user"));
        }
        // One statement through the owner's index: the cost is the owner's rows only.
        Ok(self.store.list_environment_contents(owner).await?)
    }

    /// Whether `raw` is a valid name that the caller has not used yet.
    pub async fn check_name(&self, who: Principal, raw: &str) -> ServiceResult<Result<(), String>> {
        let name = match EnvironmentName::parse(raw) {
            Ok(n) => n,
            Err(e) => return Ok(Err(e.message)),
        };
        if self
            .store
            .environment_name_taken(who.user_id, name.as_str())
            .await?
        {
            return Ok(Err("you already have an environment of this name".into()));
        }
        Ok(Ok(()))
    }

    /// Stops every workspace container of the environment; files and branches stay, and its
    /// sessions become `inactive` (their tmux sessions start again when they are opened).
    /// Fails: not `running` or `stopped` → 409 `not_ready`.
    pub async fn stop(&self, who: Principal, id: EnvironmentId) -> ServiceResult<EnvironmentView> {
        let env = access::environment(self.store.as_ref(), who, id).await?;
        require_settled(&env)?;
        for ws in self.store.list_workspaces(Some(env.id)).await? {
            self.workspaces.stop(&ws).await?;
        }
        for session in self.store.list_sessions(Some(env.id)).await? {
            if session.status == SessionStatus::Active {
                self.store
                    .set_session_status(session.id, SessionStatus::Inactive, Utc::now())
                    .await?;
            }
        }
        self.store
            .set_environment_status(env.id, EnvironmentStatus::Stopped, None)
            .await?;
        crate::audit::record(
            self.store.as_ref(),
            Some(who.user_id),
            "environments.stop",
            Some(env.id.to_string()),
            "ok",
            json!({}),
        )
        .await;
        self.get(who, id).await
    }

    /// Starts the environment again: the workspaces that existed come back (recreated if
    /// their containers vanished). An environment in `error` is made again from the start.
    /// Fails: still being made or deleted → 409 `not_ready`; the engine fails → 502.
    pub async fn start(&self, who: Principal, id: EnvironmentId) -> ServiceResult<EnvironmentView> {
        let env = access::environment(self.store.as_ref(), who, id).await?;
        if env.status == EnvironmentStatus::Error {
            self.store
                .set_environment_status(env.id, EnvironmentStatus::Creating, None)
                .await?;
            let requested = env.repository_url.as_ref().map(|_| env.branch.clone());
            self.spawn_provision(
                Environment {
                    status: EnvironmentStatus::Creating,
                    ..env
                },
                requested,
            );
            return self.get(who, id).await;
        }
        require_settled(&env)?;
        for ws in self.store.list_workspaces(Some(env.id)).await? {
            self.workspaces.ensure(&env, &ws.branch).await?;
        }
        self.store
            .set_environment_status(env.id, EnvironmentStatus::Running, None)
            .await?;
        crate::audit::record(
            self.store.as_ref(),
            Some(who.user_id),
            "environments.start",
            Some(env.id.to_string()),
            "ok",
            json!({}),
        )
        .await;
        self.get(who, id).await
    }

    /// Deletes the environment: its containers, volumes, worktrees, bare clone and rows.
    /// Making it is cancelled if it is under way.
    pub async fn delete(&self, who: Principal, id: EnvironmentId) -> ServiceResult<()> {
        let env = access::environment(self.store.as_ref(), who, id).await?;
        self.store
            .set_environment_status(env.id, EnvironmentStatus::Deleting, None)
            .await?;
        self.destroy(env.id).await?;
        crate::audit::record(
            self.store.as_ref(),
            Some(who.user_id),
            "environments.delete",
            Some(env.id.to_string()),
            "ok",
            json!({}),
        )
        .await;
        Ok(())
    }

    /// Removes everything of an environment; safe to run again after a crash.
    pub(crate) async fn destroy(&self, id: EnvironmentId) -> ServiceResult<()> {
        let task = self
            .provisioning
            .lock()
            .expect("provisioning map")
            .remove(&id);
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
        for ws in self.store.list_workspaces(Some(id)).await? {
            self.workspaces.destroy(id, &ws).await?;
        }
        let env_label = id.to_string();
        let leftovers = self
            .runtime
            .list(&[
                (labels::INSTANCE, &self.settings.instance),
                (labels::ENVIRONMENT, &env_label),
            ])
            .await?;
        for c in leftovers {
            self.runtime.remove(&c.id).await?;
            if let Some(ws) = c.labels.get(labels::WORKSPACE) {
                self.runtime
                    .remove_volume(&format!("{}{ws}", crate::sandbox::VOLUME_PREFIX))
                    .await?;
            }
        }
        for stale in self.settings.stale_partials(id) {
            remove_dir_if_exists(&stale).await?;
        }
        remove_dir_if_exists(&self.settings.repo_path(id)).await?;
        self.store.delete_environment(id).await?;
        Ok(())
    }

    /// Resumes what a previous run of the server left half done: environments being made
    /// are made again, environments being deleted are deleted.
    pub(crate) async fn resume_interrupted(&self) -> ServiceResult<()> {
        for env in self.store.list_environments(None).await? {
            match env.status {
                EnvironmentStatus::Creating if !self.is_provisioning(env.id) => {
                    tracing::info!(environment = %env.id, "resuming the making of an environment");
                    let requested = env.repository_url.as_ref().map(|_| env.branch.clone());
                    self.spawn_provision(env, requested);
                }
                EnvironmentStatus::Deleting => {
                    tracing::info!(environment = %env.id, "finishing the deletion of an environment");
                    self.destroy(env.id).await?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    pub(crate) fn is_provisioning(&self, id: EnvironmentId) -> bool {
        self.provisioning
            .lock()
            .expect("provisioning map")
            .contains_key(&id)
    }
}

fn require_settled(env: &Environment) -> ServiceResult<()> {
    match env.status {
        EnvironmentStatus::Running | EnvironmentStatus::Stopped => Ok(()),
        other => Err(ServiceError::Conflict {
            code: ErrorCode::NotReady,
            message: format!(
                "the environment is {}; wait until it is running or stopped",
                other.as_str()
            ),
        }),
    }
}

/// Removes a clone (or a partial one) and everything in it, following no link inside it:
/// containers can write it.
async fn remove_dir_if_exists(path: &Path) -> ServiceResult<()> {
    let owned = path.to_owned();
    tokio::task::spawn_blocking(move || untrusted::remove_path(&owned, untrusted::CLONE))
        .await
        .map_err(|e| ServiceError::Internal(format!("removing {}: {e}", path.display())))?
        .map_err(|e| ServiceError::Internal(format!("removing {}: {e}", path.display())))
}
