//! Where a git operation runs: the workspace of a session or of an environment's branch,
//! found, checked against who asks, and running.

use craftastic_domain::{BranchName, EnvironmentId, ErrorCode, SessionId, WorkspaceId};
use craftastic_store::{Environment, Session, SessionStatus, Workspace, WorkspaceStatus};

use super::{Git, Target};
use crate::tokens::Principal;
use crate::{ServiceError, ServiceResult, access};

/// The workspace an operation runs in, found and checked.
pub(super) struct Place {
    pub(super) env: Environment,
    pub(super) session: Option<Session>,
    pub(super) workspace: WorkspaceId,
    pub(super) branch: BranchName,
    pub(super) container: String,
}

impl Place {
    /// What the audit log names as the operation's target: the session, else the
    /// environment.
    pub(super) fn target(&self) -> String {
        self.session
            .as_ref()
            .map_or_else(|| self.env.id.to_string(), |s| s.id.to_string())
    }
}

impl Git {
    /// Finds the workspace of `target` and checks that `who` may reach it and that its
    /// container runs. Writing also needs the session to be alive.
    pub(super) async fn place(
        &self,
        who: Principal,
        target: Target,
        writing: bool,
    ) -> ServiceResult<Place> {
        let store = self.store.as_ref();
        let (env, session) = match target {
            Target::Session(id) => {
                let (s, e) = access::session(store, who, id).await?;
                (e, Some(s))
            }
            Target::Environment(id) => (access::environment(store, who, id).await?, None),
            Target::Either(id) => match access::session(store, who, SessionId(id)).await {
                Ok((s, e)) => (e, Some(s)),
                Err(ServiceError::NotFound(_)) => (
                    access::environment(store, who, EnvironmentId(id))
                        .await
                        .map_err(|_| ServiceError::NotFound("session or environment"))?,
                    None,
                ),
                Err(e) => return Err(e),
            },
        };
        if writing
            && session
                .as_ref()
                .is_some_and(|s| s.status == SessionStatus::Dead)
        {
            return Err(ServiceError::Conflict {
                code: ErrorCode::SessionEnded,
                message: "this session has ended; restart it (or use another session of its branch) before committing or pushing".into(),
            });
        }
        let branch = session
            .as_ref()
            .map_or_else(|| env.branch.clone(), |s| s.git_branch.clone());
        let not_running = || ServiceError::Conflict {
            code: ErrorCode::NotRunning,
            message: format!(
                "the workspace of {branch} is not running; start the environment (or open a session on {branch}) first"
            ),
        };
        let ws: Workspace = store
            .get_workspace(env.id, &branch)
            .await?
            .ok_or_else(not_running)?;
        let container = match (&ws.container_id, ws.status) {
            (Some(id), WorkspaceStatus::Running) => self
                .runtime
                .inspect(id)
                .await?
                .filter(|c| c.running)
                .map(|c| c.id),
            _ => None,
        }
        .ok_or_else(not_running)?;
        Ok(Place {
            env,
            session,
            workspace: ws.id,
            branch,
            container,
        })
    }
}
