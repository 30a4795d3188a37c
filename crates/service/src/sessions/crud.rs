//! Creating, reading, changing and deleting sessions, and keeping their state true: a
//! session whose tmux session ended is marked dead, one whose workspace stopped starts again
//! when opened.

use chrono::{DateTime, Utc};
use craftastic_domain::{
    AgentId, BranchName, EnvironmentId, ErrorCode, SessionId, SessionName, WorkingDirectory,
};
use craftastic_store::{
    Environment, EnvironmentStatus, NewSession, Session, SessionStatus, SessionType, StoreError,
    Workspace, WorkspaceStatus,
};
use serde_json::json;

use super::agent_files::Removal;
use super::tmux::tmux_name;
use super::{BranchCheck, Deleted, Liveness, NewSessionRequest, Sessions};
use crate::limits::Quota;
use crate::sandbox;
use crate::tokens::Principal;
use crate::{ServiceError, ServiceResult, access};

impl Sessions {
    /// Starts a session: the branch's workspace is made if needed (the branch too, from the
    /// environment's branch), then a tmux session with a shell in the working directory, or
    /// for an agent session the agent's CLI with its credential in place (see
    /// [`crate::agents::LaunchPlan`]).
    /// After: the row says `active` and the tmux session runs.
    /// Fails: environment not running → 409 `not_running`; the owner has as many sessions
    /// (or, for a new branch, running workspaces) as allowed → 429 `limit_reached`; name
    /// taken → 409 `name_taken`;
    /// working directory missing or outside `/workspace` → 422; an agent session without
    /// `agentId`, or a terminal session with one → 422; agent unknown or not the
    /// environment owner's → 404; the engine fails → 502 (no row is left behind).
    pub async fn create(&self, who: Principal, req: NewSessionRequest) -> ServiceResult<Session> {
        let env = access::environment(self.store.as_ref(), who, req.environment_id).await?;
        match (req.session_type, req.agent_id) {
            (SessionType::Agent, None) => {
                return Err(craftastic_domain::ValidationError::new(
                    "agentId",
                    "an agent session needs agentId, the agent to start",
                )
                .into());
            }
            (SessionType::Terminal, Some(_)) => {
                return Err(craftastic_domain::ValidationError::new(
                    "agentId",
                    "agentId is for agent sessions; send sessionType \"agent\" with it, or leave it out",
                )
                .into());
            }
            (SessionType::Agent, Some(agent)) => {
                self.agents.for_launch(env.user_id, AgentId(agent)).await?;
            }
            (SessionType::Terminal, None) => {}
        }
        require_running(&env)?;
        self.limits.check(env.user_id, Quota::Sessions).await?;
        let branch = req.branch.clone().unwrap_or_else(|| env.branch.clone());
        let name = match req.name {
            Some(name) => name,
            None => self.free_name(env.id, &branch).await?,
        };
        if self.store.session_name_taken(env.id, &name).await? {
            return Err(name_taken(&name));
        }
        let _guard = self.workspaces.lock(env.id, &branch).await;
        let ws = self.workspaces.ensure_locked(&env, &branch).await?;
        let container = running_container(&ws)?;
        // The row says `active` before its tmux session runs: until it does, no watcher
        // report of the container is trusted.
        let place = super::Place {
            environment: env.id,
            workspace: ws.id,
        };
        let _expecting = self.watchers.expect(&container, place);
        let id = SessionId::new();
        let session = self
            .store
            .create_session(NewSession {
                id,
                environment_id: env.id,
                workspace_id: ws.id,
                name: name.clone(),
                tmux_session_name: tmux_name(id),
                working_directory: req.working_directory.unwrap_or_else(WorkingDirectory::root),
                session_type: req.session_type,
                agent_id: req.agent_id,
                git_branch: branch.clone(),
                now: Utc::now(),
            })
            .await
            .map_err(|e| match e {
                StoreError::Conflict("session name") => name_taken(&name),
                StoreError::NotFound if req.agent_id.is_some() => ServiceError::NotFound("agent"),
                StoreError::NotFound => ServiceError::NotFound("environment"),
                other => other.into(),
            })?;
        if let Err(e) = self.start_tmux(&container, env.user_id, &session).await {
            if let Err(cleanup) = self.store.delete_session(session.id).await {
                tracing::warn!(session = %session.id, error = %cleanup, "could not remove the row of a session that did not start");
            }
            return Err(e);
        }
        // Read again: starting it recorded the version of the variables it got.
        let session = self.store.get_session(session.id).await?.unwrap_or(session);
        crate::audit::record(
            self.store.as_ref(),
            Some(who.user_id),
            "sessions.create",
            Some(session.id.to_string()),
            "ok",
            json!({
                "environmentId": env.id,
                "branch": branch,
                "name": name,
                "sessionType": session.session_type.as_str(),
                "agentId": session.agent_id,
            }),
        )
        .await;
        Ok(session)
    }

    /// The first of `<branch>`, `<branch>-2`, `<branch>-3`, … that the environment has not used.
    async fn free_name(
        &self,
        env: EnvironmentId,
        branch: &BranchName,
    ) -> ServiceResult<SessionName> {
        let base = SessionName::parse(&branch.slug())
            .unwrap_or_else(|_| SessionName::from_trusted("session".into()));
        let taken: Vec<String> = self
            .store
            .list_sessions(Some(env))
            .await?
            .into_iter()
            .map(|s| s.name.to_string())
            .collect();
        let base = base.as_str();
        (1..)
            .map(|n| {
                if n == 1 {
                    base.to_owned()
                } else {
                    format!(
                        "{}-{n}",
                        &base[..base.len().min(SessionName::MAX_CHARS - 6)]
                    )
                }
            })
            .find(|candidate| !taken.contains(candidate))
            .map(SessionName::from_trusted)
            .ok_or_else(|| ServiceError::Internal("no free session name".into()))
    }

    pub async fn list(&self, who: Principal, env: EnvironmentId) -> ServiceResult<Vec<Session>> {
        let env = access::environment(self.store.as_ref(), who, env).await?;
        let sessions = self.store.list_sessions(Some(env.id)).await?;
        Ok(sessions.into_iter().map(|s| self.fresh(s)).collect())
    }

    pub async fn get(&self, who: Principal, id: SessionId) -> ServiceResult<Session> {
        let (session, _) = access::session(self.store.as_ref(), who, id).await?;
        Ok(self.fresh(session))
    }

    /// When the session's terminal last had input, counting what is not written to the
    /// database yet.
    pub(crate) fn last_input(&self, session: &Session) -> Option<DateTime<Utc>> {
        session.last_activity.max(self.activity.latest(session.id))
    }

    /// The session with the activity not yet written to the database.
    fn fresh(&self, mut session: Session) -> Session {
        session.last_activity = self.last_input(&session);
        session
    }

    /// Renames the session and/or changes its status: `active` starts a dead or inactive
    /// session's tmux session again (in its working directory; an agent session with its
    /// agent's current credential), `dead` ends it, removes an agent session's credential
    /// from the workspace and keeps the record. `inactive` is the server's to set (when the
    /// environment stops).
    /// Fails: name taken → 409 `name_taken`; `inactive` asked → 422; environment not
    /// running when starting → 409 `not_running`; the engine fails → 502.
    pub async fn update(
        &self,
        who: Principal,
        id: SessionId,
        name: Option<SessionName>,
        status: Option<SessionStatus>,
    ) -> ServiceResult<Session> {
        let (mut session, env) = access::session(self.store.as_ref(), who, id).await?;
        if status == Some(SessionStatus::Inactive) {
            return Err(craftastic_domain::ValidationError::new(
                "status",
                "status may be set to active (start the session again) or dead (end it); inactive is set by the server when the environment stops",
            )
            .into());
        }
        if let Some(name) = name.filter(|n| *n != session.name) {
            session = self
                .store
                .rename_session(id, &name, Utc::now())
                .await
                .map_err(|e| match e {
                    StoreError::Conflict(_) => name_taken(&name),
                    other => other.into(),
                })?;
            if let Some(container) = self.running_container_of(&env, &session).await? {
                self.rename_tmux(&container, &session.tmux_session_name, &name)
                    .await?;
            }
        }
        match status {
            Some(SessionStatus::Active) => {
                self.revive(&env, &session).await?;
                session.status = SessionStatus::Active;
            }
            Some(SessionStatus::Dead) => {
                if let Some(container) = self.running_container_of(&env, &session).await? {
                    self.kill_tmux(&container, &session.tmux_session_name, false)
                        .await?;
                    if session.session_type == SessionType::Agent {
                        self.remove_agent_files(&container, session.id, Removal::Credentials)
                            .await?;
                    }
                }
                self.store
                    .set_session_status(id, SessionStatus::Dead, Utc::now())
                    .await?;
                session.status = SessionStatus::Dead;
            }
            _ => {}
        }
        crate::audit::record(
            self.store.as_ref(),
            Some(who.user_id),
            "sessions.update",
            Some(id.to_string()),
            "ok",
            json!({ "name": session.name, "status": session.status.as_str() }),
        )
        .await;
        self.get(who, id).await
    }

    /// Makes sure the session's tmux session runs, starting the workspace and the tmux
    /// session again if needed; returns the container. A session that was `active` and
    /// whose tmux session is gone ended by itself: it is marked dead, and `Ok(None)` says so.
    /// Runs under the branch's lock, so that two viewers opening one session at once do
    /// not both write (and remove) an agent session's files.
    pub(crate) async fn ready(
        &self,
        env: &Environment,
        session: &Session,
    ) -> ServiceResult<Option<String>> {
        require_running(env)?;
        let _guard = self.workspaces.lock(env.id, &session.git_branch).await;
        // Read again under the lock: the workspace may have been stopped meanwhile (idle,
        // over its disk cap), its sessions with it. `inactive` asked by the caller starts it
        // whatever it was (a dead session revived).
        let stored = self
            .store
            .get_session(session.id)
            .await?
            .ok_or(ServiceError::NotFound("session"))?;
        let status = match session.status {
            SessionStatus::Inactive => SessionStatus::Inactive,
            _ => stored.status,
        };
        let ws = self
            .workspaces
            .ensure_locked(env, &session.git_branch)
            .await?;
        let container = running_container(&ws)?;
        match status {
            SessionStatus::Dead => Ok(None),
            SessionStatus::Inactive => {
                self.start_tmux(&container, env.user_id, session).await?;
                self.store
                    .set_session_status(session.id, SessionStatus::Active, Utc::now())
                    .await?;
                Ok(Some(container))
            }
            SessionStatus::Active => Ok(Some(container)),
        }
    }

    async fn revive(&self, env: &Environment, session: &Session) -> ServiceResult<()> {
        let inactive = Session {
            status: SessionStatus::Inactive,
            ..session.clone()
        };
        self.ready(env, &inactive).await?;
        Ok(())
    }

    /// Marks the session dead (its tmux session ended), unless it is gone already.
    pub(crate) async fn mark_dead(&self, id: SessionId) -> ServiceResult<()> {
        super::mark_dead(self.store.as_ref(), id).await
    }

    /// The container of the session's workspace if it runs.
    pub(super) async fn running_container_of(
        &self,
        env: &Environment,
        session: &Session,
    ) -> ServiceResult<Option<String>> {
        let Some(ws) = self
            .store
            .get_workspace(env.id, &session.git_branch)
            .await?
        else {
            return Ok(None);
        };
        self.running(&ws).await
    }

    async fn running(&self, ws: &Workspace) -> ServiceResult<Option<String>> {
        let Some(id) = &ws.container_id else {
            return Ok(None);
        };
        Ok(self
            .runtime
            .inspect(id)
            .await?
            .filter(|c| c.running)
            .map(|c| c.id))
    }

    /// Ends the session's tmux session and deletes it; its recording and an agent
    /// session's private folder (its credential) go with it. When it was the last session of a branch other than
    /// the environment's, the branch's workspace goes too, unless its worktree has
    /// uncommitted changes: then it stays, and the answer says so.
    /// Fails: the engine fails → 502 (the session stays).
    pub async fn delete(&self, who: Principal, id: SessionId) -> ServiceResult<Deleted> {
        let (session, env) = access::session(self.store.as_ref(), who, id).await?;
        let _guard = self.workspaces.lock(env.id, &session.git_branch).await;
        let ws = self
            .store
            .get_workspace(env.id, &session.git_branch)
            .await?;
        let container = match &ws {
            Some(ws) => self.running(ws).await?,
            None => None,
        };
        if let Some(container) = &container {
            self.kill_tmux(container, &session.tmux_session_name, true)
                .await?;
            if session.session_type == SessionType::Agent {
                self.remove_agent_files(container, session.id, Removal::All)
                    .await?;
            }
        }
        self.store.delete_session(id).await?;
        crate::audit::record(
            self.store.as_ref(),
            Some(who.user_id),
            "sessions.delete",
            Some(id.to_string()),
            "ok",
            json!({ "environmentId": env.id, "branch": session.git_branch }),
        )
        .await;
        let Some(ws) = ws else {
            return Ok(Deleted::Done);
        };
        let others = self
            .store
            .list_sessions(Some(env.id))
            .await?
            .iter()
            .any(|s| s.git_branch == session.git_branch);
        if others || session.git_branch == env.branch {
            return Ok(Deleted::Done);
        }
        let Some(container) = container else {
            return Ok(Deleted::WorkspaceKept {
                reason: format!(
                    "the workspace of {} was kept because its container is not running, so it could not be checked for uncommitted changes; it goes with the environment",
                    session.git_branch
                ),
            });
        };
        let changes = self.git.changed_files(&container).await?;
        if changes > 0 {
            return Ok(Deleted::WorkspaceKept {
                reason: format!(
                    "the workspace of {} was kept because its worktree has uncommitted changes in {changes} file(s); commit or discard them in a new session on {}, then delete that session",
                    session.git_branch, session.git_branch
                ),
            });
        }
        self.workspaces.destroy(env.id, &ws).await?;
        Ok(Deleted::Done)
    }

    /// Whether the tmux session runs and its container too. A session believed `active`
    /// whose tmux session is gone is marked dead here.
    pub async fn liveness(&self, who: Principal, id: SessionId) -> ServiceResult<Liveness> {
        let (session, env) = access::session(self.store.as_ref(), who, id).await?;
        let session = self.fresh(session);
        let container = self.running_container_of(&env, &session).await?;
        let tmux_alive = match &container {
            Some(c) => self.tmux_alive(c, &session.tmux_session_name).await?,
            None => false,
        };
        let mut status = session.status;
        if status == SessionStatus::Active && container.is_some() && !tmux_alive {
            self.mark_dead(id).await?;
            status = SessionStatus::Dead;
        }
        Ok(Liveness {
            status,
            tmux_alive,
            container_running: container.is_some(),
            last_activity: session.last_activity,
        })
    }

    /// Whether `raw` is a valid session name that the environment has not used yet.
    pub async fn check_name(
        &self,
        who: Principal,
        env: EnvironmentId,
        raw: &str,
    ) -> ServiceResult<Result<(), String>> {
        let env = access::environment(self.store.as_ref(), who, env).await?;
        let name = match SessionName::parse(raw) {
            Ok(n) => n,
            Err(e) => return Ok(Err(e.message)),
        };
        if self.store.session_name_taken(env.id, &name).await? {
            return Ok(Err(format!(
                "this environment already has a session named {name}"
            )));
        }
        Ok(Ok(()))
    }

    /// Whether `raw` is a valid branch name, whether the repository has it, and how many
    /// sessions work on it.
    pub async fn check_branch(
        &self,
        who: Principal,
        env: EnvironmentId,
        raw: &str,
    ) -> ServiceResult<BranchCheck> {
        let env = access::environment(self.store.as_ref(), who, env).await?;
        let branch = match BranchName::parse(raw) {
            Ok(b) => b,
            Err(e) => {
                return Ok(BranchCheck {
                    valid: false,
                    exists: false,
                    in_use_by_sessions: 0,
                    reason: Some(e.message),
                });
            }
        };
        let in_use = self
            .store
            .list_sessions(Some(env.id))
            .await?
            .iter()
            .filter(|s| s.git_branch == branch)
            .count();
        let exists = sandbox::branch_exists(&self.settings.repo_path(env.id), &branch).await;
        Ok(BranchCheck {
            valid: true,
            exists,
            in_use_by_sessions: in_use,
            reason: (!exists).then(|| {
                format!(
                    "{branch} does not exist yet; a session on it creates it from {}",
                    env.branch
                )
            }),
        })
    }
}

fn name_taken(name: &SessionName) -> ServiceError {
    ServiceError::Conflict {
        code: ErrorCode::NameTaken,
        message: format!("this environment already has a session named {name}; choose another"),
    }
}

fn require_running(env: &Environment) -> ServiceResult<()> {
    match env.status {
        EnvironmentStatus::Running => Ok(()),
        EnvironmentStatus::Stopped => Err(ServiceError::Conflict {
            code: ErrorCode::NotRunning,
            message: "the environment is stopped; start it first".into(),
        }),
        other => Err(ServiceError::Conflict {
            code: ErrorCode::NotRunning,
            message: format!(
                "the environment is {}; wait until it is running",
                other.as_str()
            ),
        }),
    }
}

fn running_container(ws: &Workspace) -> ServiceResult<String> {
    match (&ws.container_id, ws.status) {
        (Some(id), WorkspaceStatus::Running) => Ok(id.clone()),
        _ => Err(ServiceError::Upstream(format!(
            "the workspace of {} is not running",
            ws.branch
        ))),
    }
}
