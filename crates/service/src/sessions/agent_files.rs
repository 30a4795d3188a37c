//! What an agent session finds in its workspace: a private folder under `$HOME` with the
//! agent's credential (written through standard input, mode 0600, never an argument), and
//! the launcher its tmux session runs, which starts the agent's CLI and stays a shell.

use craftastic_domain::{AgentId, SessionId, UserId};
use craftastic_runtime::ExecSpec;
use craftastic_store::Session;

use super::{Sessions, last_line};
use crate::agents::{self, LaunchPlan};
use crate::{ServiceError, ServiceResult};

/// What an agent session's tmux session runs (`bash -c`); see the script's head.
const LAUNCHER: &str = include_str!("scripts/agent-launcher.sh");
/// Writes one private file from standard input (`sh -c`).
const WRITE_PRIVATE: &str = include_str!("scripts/write-private.sh");
/// Removes the session's private folder (`sh -c`).
const REMOVE: &str = include_str!("scripts/remove-agent-files.sh");

impl Sessions {
    /// The command an agent session's tmux session runs: [`LAUNCHER`] with the session's
    /// folder, written first (see [`Self::prepare_agent`]).
    /// Fails: as [`Self::prepare_agent`].
    pub(super) async fn agent_command(
        &self,
        container: &str,
        owner: UserId,
        session: &Session,
    ) -> ServiceResult<[String; 8]> {
        let (command, kind, notice) = self.prepare_agent(container, owner, session).await?;
        Ok([
            "bash".into(),
            "-c".into(),
            LAUNCHER.into(),
            "craftastic-agent".into(),
            agents::session_dir(session.id),
            command,
            kind,
            notice,
        ])
    }

    /// Writes the agent session's private folder: the env file with the credential (or the
    /// variable that points the CLI at its folder) and, for an OAuth credential, the CLI's
    /// credentials file, each through the exec's standard input with mode 0600. Returns the
    /// CLI's command, the agent type and the notice for [`LAUNCHER`]. An agent that was
    /// deleted since leaves a shell that says so.
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
                            WRITE_PRIVATE,
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
    pub(super) async fn remove_agent_files(
        &self,
        container: &str,
        session: SessionId,
    ) -> ServiceResult<()> {
        let out = self
            .shell(container, REMOVE, &[&agents::session_dir(session)])
            .await?;
        if out.code != 0 {
            return Err(ServiceError::Upstream(format!(
                "could not remove the agent's files from the workspace: {}",
                last_line(&out)
            )));
        }
        Ok(())
    }
}
