//! Sessions: tmux sessions in the workspace of a branch. The tmux session, not the
//! browser, holds the shell, so closing a tab never ends the user's work.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use craftastic_domain::{
    AgentId, BranchName, EnvironmentId, SessionId, SessionName, UserId, WorkingDirectory,
};
use craftastic_runtime::{ExecOutput, ExecSpec, Runtime};
use craftastic_store::{
    Environment, EnvironmentStatus, NewSession, Session, SessionStatus, SessionType, Store,
    StoreError, Workspace, WorkspaceStatus,
};
use serde_json::json;
use uuid::Uuid;

use crate::agents::{self, Agents, LaunchPlan};
use crate::git::Git;
use crate::limits::{Limits, Quota};
use crate::sandbox::{self, SandboxSettings};
use crate::tokens::Principal;
use crate::workspaces::Workspaces;
use crate::{ServiceError, ServiceResult, access};

/// Starts the tmux session `$1` unless it runs, with its shell in `$2`, which must resolve
/// (symlinks followed) to a folder inside `/workspace`. The session's name is a tmux option
/// (`@craftastic_name`) that the status bar shows, and `CRAFTASTIC_SESSION` for the prompt.
/// Arguments after `$3`, if any, are the command the session runs instead of a shell.
/// Exits 3 when the folder does not exist and 4 when it leads outside the worktree.
const START_SCRIPT: &str = r#"set -u
name=$1 dir=$2 session=$3
shift 3
if tmux has-session -t "=$name" 2>/dev/null; then exit 0; fi
real=$(cd -- "$dir" 2>/dev/null && pwd -P) || exit 3
case "$real/" in /workspace/*) ;; *) exit 4 ;; esac
tmux new-session -d -s "$name" -c "$real" -x 120 -y 40 -e "CRAFTASTIC_SESSION=$session" "$@" &&
tmux set-option -t "=$name:" @craftastic_name "$session""#;

/// What an agent session's tmux session runs (`bash -c` with these arguments: the session's
/// private folder under `$HOME`, the CLI's command, the agent type, and a notice line). It
/// sources the folder's env file, which holds the credential, starts the CLI if the image
/// has it, and stays a login shell afterwards, so the session outlives the CLI. No secret is
/// ever an argument here: the command line names only the folder.
const AGENT_LAUNCHER: &str = r#"dir=$HOME/$1 cli=$2 kind=$3 notice=$4
if [ -r "$dir/env" ]; then . "$dir/env"; fi
if [ -n "$notice" ]; then printf '%s\n\n' "$notice"; fi
if [ -z "$cli" ]; then
    :
elif command -v -- "$cli" >/dev/null 2>&1; then
    "$cli"
    printf '\ncraftastic: %s exited (status %s); this shell stays in the session, and %s starts it again.\n' "$cli" "$?" "$cli"
else
    printf 'craftastic: the %s CLI (%s) is not installed in this workspace image, so this session starts a shell instead. Install it in the image (see "Agents" in the README) and start the session again.\n' "$kind" "$cli"
fi
exec -l bash"#;

/// Writes its standard input to `$HOME/$1/$2` with mode 0600, in folders of mode 0700,
/// replacing the file at once (a half-written credential is never read).
const WRITE_PRIVATE_SCRIPT: &str = r#"set -eu
umask 077
dir=$HOME/$1 path=$HOME/$1/$2
mkdir -p -- "$(dirname -- "$path")"
chmod 700 -- "$HOME/.craftastic" "$HOME/.craftastic/agents" "$dir"
cat > "$path.partial"
mv -f -- "$path.partial" "$path""#;

/// The tmux name of a session: made by the server, unique across the installation, and
/// free of the characters tmux treats specially (`.` and `:`).
fn tmux_name(id: SessionId) -> String {
    format!("cs-{}", id.0.simple())
}

/// What a session request asks for; every field already validated.
#[derive(Debug, Clone)]
pub struct NewSessionRequest {
    pub environment_id: EnvironmentId,
    pub name: Option<SessionName>,
    pub branch: Option<BranchName>,
    pub working_directory: Option<WorkingDirectory>,
    pub session_type: SessionType,
    pub agent_id: Option<Uuid>,
}

/// What deleting a session did to its branch's workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deleted {
    /// The workspace went with its last session, or stays for other sessions or as the
    /// environment's default branch.
    Done,
    /// It was the branch's last session, but the workspace stays; the text says why.
    WorkspaceKept { reason: String },
}

#[derive(Debug, Clone)]
pub struct Liveness {
    pub status: SessionStatus,
    pub tmux_alive: bool,
    pub container_running: bool,
    pub last_activity: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct BranchCheck {
    pub valid: bool,
    pub exists: bool,
    pub in_use_by_sessions: usize,
    pub reason: Option<String>,
}

/// Terminal input is noted here and written to the database in batches, so that typing
/// costs no database write per keystroke.
#[derive(Default)]
pub struct Activity {
    pending: Mutex<HashMap<SessionId, DateTime<Utc>>>,
}

impl Activity {
    pub fn touch(&self, id: SessionId) {
        self.pending
            .lock()
            .expect("activity map")
            .insert(id, Utc::now());
    }

    fn latest(&self, id: SessionId) -> Option<DateTime<Utc>> {
        self.pending.lock().expect("activity map").get(&id).copied()
    }

    fn take(&self) -> Vec<(SessionId, DateTime<Utc>)> {
        self.pending.lock().expect("activity map").drain().collect()
    }
}

#[derive(Clone)]
pub struct Sessions {
    store: Arc<dyn Store>,
    runtime: Arc<dyn Runtime>,
    settings: Arc<SandboxSettings>,
    workspaces: Workspaces,
    git: Git,
    agents: Agents,
    activity: Arc<Activity>,
    limits: Limits,
}

impl Sessions {
    pub fn new(
        store: Arc<dyn Store>,
        runtime: Arc<dyn Runtime>,
        settings: Arc<SandboxSettings>,
        workspaces: Workspaces,
        git: Git,
        agents: Agents,
        limits: Limits,
    ) -> Self {
        Self {
            store,
            runtime,
            settings,
            workspaces,
            git,
            agents,
            activity: Arc::default(),
            limits,
        }
    }

    pub fn activity(&self) -> &Activity {
        &self.activity
    }

    /// Starts a session: the branch's workspace is made if needed (the branch too, from the
    /// environment's branch), then a tmux session with a shell in the working directory, or
    /// for an agent session the agent's CLI with its credential in place (see
    /// [`LaunchPlan`]).
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
        let lock = self.workspaces.lock_for(env.id, &branch);
        let _guard = lock.lock().await;
        let ws = self.workspaces.ensure_locked(&env, &branch).await?;
        let container = running_container(&ws)?;
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

    /// Starts the session's tmux session unless it runs. An agent session gets its private
    /// folder written first (see [`Self::prepare_agent`]), and runs [`AGENT_LAUNCHER`].
    async fn start_tmux(
        &self,
        container: &str,
        owner: UserId,
        session: &Session,
    ) -> ServiceResult<()> {
        let mut args: Vec<String> = vec![
            session.tmux_session_name.clone(),
            session.working_directory.to_string(),
            session.name.to_string(),
        ];
        if session.session_type == SessionType::Agent
            && !self
                .tmux_alive(container, &session.tmux_session_name)
                .await?
        {
            let (command, kind, notice) = self.prepare_agent(container, owner, session).await?;
            args.extend([
                "bash".into(),
                "-c".into(),
                AGENT_LAUNCHER.into(),
                "craftastic-agent".into(),
                agents::session_dir(session.id),
                command,
                kind,
                notice,
            ]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = self.tmux(container, START_SCRIPT, &args).await?;
        let dir = session.working_directory.as_str();
        match out.code {
            0 => Ok(()),
            3 => Err(craftastic_domain::ValidationError::new(
                "workingDirectory",
                format!("{dir} does not exist in the workspace of {}; create it first or choose another folder", session.git_branch),
            )
            .into()),
            4 => Err(craftastic_domain::ValidationError::new(
                "workingDirectory",
                format!("{dir} leads outside /workspace (through a symbolic link); choose a folder inside it"),
            )
            .into()),
            _ => Err(ServiceError::Upstream(format!(
                "tmux could not start the session: {}",
                last_line(&out)
            ))),
        }
    }

    /// Writes the agent session's private folder: the env file with the credential (or the
    /// variable that points the CLI at its folder) and, for an OAuth credential, the CLI's
    /// credentials file, each through the exec's standard input with mode 0600. Returns the
    /// CLI's command, the agent type and the notice for [`AGENT_LAUNCHER`]. An agent that
    /// was deleted since leaves a shell that says so.
    /// Fails: the stored credential does not open → 500; the engine fails → 502.
    async fn prepare_agent(
        &self,
        container: &str,
        owner: UserId,
        session: &Session,
    ) -> ServiceResult<(String, String, String)> {
        let found = match session.agent_id {
            Some(id) => match self.agents.for_launch(owner, AgentId(id)).await {
                Ok(found) => Some(found),
                Err(ServiceError::NotFound(_)) => None,
                Err(e) => return Err(e),
            },
            None => None,
        };
        let Some((agent, credential)) = found else {
            self.remove_agent_files(container, session.id).await?;
            return Ok((
                String::new(),
                String::new(),
                "craftastic: the agent of this session was deleted, so this session starts a shell; start a new agent session to run an agent.".into(),
            ));
        };
        let plan = LaunchPlan::new(
            session.id,
            agent.agent_type,
            &agent.name,
            credential.as_ref(),
        );
        self.remove_agent_files(container, session.id).await?;
        let dir = agents::session_dir(session.id);
        for file in plan.files {
            let out = self
                .runtime
                .exec(
                    container,
                    ExecSpec {
                        cmd: [
                            "sh",
                            "-c",
                            WRITE_PRIVATE_SCRIPT,
                            "craftastic-write",
                            &dir,
                            file.path,
                        ]
                        .map(str::to_owned)
                        .into(),
                        stdin: Some(file.content),
                        ..Default::default()
                    },
                )
                .await?;
            if out.code != 0 {
                return Err(ServiceError::Upstream(format!(
                    "could not write the agent's files in the workspace: {}",
                    last_line(&out)
                )));
            }
        }
        Ok((plan.command.into(), plan.kind.into(), plan.notice))
    }

    /// Removes an agent session's private folder (credential included), if there is one.
    async fn remove_agent_files(&self, container: &str, session: SessionId) -> ServiceResult<()> {
        let out = self
            .tmux(
                container,
                r#"rm -rf -- "$HOME/$1""#,
                &[&agents::session_dir(session)],
            )
            .await?;
        if out.code != 0 {
            return Err(ServiceError::Upstream(format!(
                "could not remove the agent's files from the workspace: {}",
                last_line(&out)
            )));
        }
        Ok(())
    }

    /// Runs a shell script in the container as its user, with `args` as `$1`, `$2`, ….
    async fn tmux(
        &self,
        container: &str,
        script: &str,
        args: &[&str],
    ) -> ServiceResult<ExecOutput> {
        let mut cmd = vec!["sh".into(), "-c".into(), script.into(), "tmux".into()];
        cmd.extend(args.iter().map(|a| (*a).to_owned()));
        Ok(self
            .runtime
            .exec(
                container,
                ExecSpec {
                    cmd,
                    ..Default::default()
                },
            )
            .await?)
    }

    /// Whether the tmux session runs in the container.
    pub(crate) async fn tmux_alive(&self, container: &str, tmux: &str) -> ServiceResult<bool> {
        let out = self
            .tmux(
                container,
                r#"tmux has-session -t "=$1" 2>/dev/null"#,
                &[tmux],
            )
            .await?;
        Ok(out.code == 0)
    }

    async fn kill_tmux(&self, container: &str, tmux: &str) -> ServiceResult<()> {
        self.tmux(
            container,
            r#"tmux kill-session -t "=$1" 2>/dev/null; exit 0"#,
            &[tmux],
        )
        .await?;
        Ok(())
    }

    /// The names of the tmux sessions running in a container.
    pub(crate) async fn running_tmux(&self, container: &str) -> ServiceResult<Vec<String>> {
        let out = self
            .tmux(
                container,
                "tmux list-sessions -F '#{session_name}' 2>/dev/null; exit 0",
                &[],
            )
            .await?;
        Ok(out.stdout_str().lines().map(str::to_owned).collect())
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

    /// The session with the activity not yet written to the database.
    fn fresh(&self, mut session: Session) -> Session {
        if let Some(at) = self.activity.latest(session.id) {
            session.last_activity = session.last_activity.max(Some(at));
        }
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
                self.tmux(
                    &container,
                    r#"tmux set-option -t "=$1:" @craftastic_name "$2" && tmux set-environment -t "=$1" CRAFTASTIC_SESSION "$2"; exit 0"#,
                    &[&session.tmux_session_name, name.as_str()],
                )
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
                    self.kill_tmux(&container, &session.tmux_session_name)
                        .await?;
                    if session.session_type == SessionType::Agent {
                        self.remove_agent_files(&container, session.id).await?;
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
        let lock = self.workspaces.lock_for(env.id, &session.git_branch);
        let _guard = lock.lock().await;
        let ws = self
            .workspaces
            .ensure_locked(env, &session.git_branch)
            .await?;
        let container = running_container(&ws)?;
        match session.status {
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
        match self
            .store
            .set_session_status(id, SessionStatus::Dead, Utc::now())
            .await
        {
            Ok(()) | Err(StoreError::NotFound) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The container of the session's workspace if it runs.
    async fn running_container_of(
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

    /// Ends the session's tmux session and deletes it; an agent session's private folder
    /// (its credential) goes with it. When it was the last session of a branch other than
    /// the environment's, the branch's workspace goes too, unless its worktree has
    /// uncommitted changes: then it stays, and the answer says so.
    /// Fails: the engine fails → 502 (the session stays).
    pub async fn delete(&self, who: Principal, id: SessionId) -> ServiceResult<Deleted> {
        let (session, env) = access::session(self.store.as_ref(), who, id).await?;
        let lock = self.workspaces.lock_for(env.id, &session.git_branch);
        let _guard = lock.lock().await;
        let ws = self
            .store
            .get_workspace(env.id, &session.git_branch)
            .await?;
        let container = match &ws {
            Some(ws) => self.running(ws).await?,
            None => None,
        };
        if let Some(container) = &container {
            self.kill_tmux(container, &session.tmux_session_name)
                .await?;
            if session.session_type == SessionType::Agent {
                self.remove_agent_files(container, session.id).await?;
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

    /// Writes the noted terminal activity to the database.
    pub async fn flush_activity(&self) {
        let batch = self.activity.take();
        if batch.is_empty() {
            return;
        }
        if let Err(e) = self.store.record_session_activity(&batch).await {
            tracing::warn!(error = %e, sessions = batch.len(), "could not record terminal activity");
        }
    }

    /// Flushes terminal activity every `period` until the handle is dropped or aborted.
    pub fn spawn_activity_flusher(
        &self,
        period: std::time::Duration,
    ) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            loop {
                tick.tick().await;
                this.flush_activity().await;
            }
        })
    }
}

fn name_taken(name: &SessionName) -> ServiceError {
    ServiceError::Conflict {
        code: "name_taken",
        message: format!("this environment already has a session named {name}; choose another"),
    }
}

fn require_running(env: &Environment) -> ServiceResult<()> {
    match env.status {
        EnvironmentStatus::Running => Ok(()),
        EnvironmentStatus::Stopped => Err(ServiceError::Conflict {
            code: "not_running",
            message: "the environment is stopped; start it first".into(),
        }),
        other => Err(ServiceError::Conflict {
            code: "not_running",
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

fn last_line(out: &ExecOutput) -> String {
    let stderr = out.stderr_str();
    stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message")
        .trim()
        .to_owned()
}
