//! What an agent session finds in its workspace: a private folder under `$HOME` with the
//! env file (an API key, where the CLI keeps its state), a state folder in the worktree's
//! volume with the CLI's own files (config, conversations, a credentials file), each
//! credential written through standard input with mode 0600, never an argument; and the
//! launcher its tmux session runs, which starts the agent's CLI and stays a shell.

use craftastic_domain::{AgentId, SessionId, UserId};
use craftastic_runtime::ExecSpec;
use craftastic_store::Session;

use super::{Sessions, last_line};
use crate::agents::{self, CREDENTIAL_FILES, LaunchPlan, Place, STATE_ROOT};
use crate::{ServiceError, ServiceResult};

/// What an agent session's tmux session runs (`bash -c`); see the script's head.
const LAUNCHER: &str = include_str!("scripts/agent-launcher.sh");
/// Makes the session's folders and clears its credentials files (`sh -c`).
const PREPARE: &str = include_str!("scripts/prepare-agent.sh");
/// Writes one private file from standard input (`sh -c`).
const WRITE_PRIVATE: &str = include_str!("scripts/write-private.sh");
/// Removes the session's private folder, and its state or only its credentials (`sh -c`).
const REMOVE: &str = include_str!("scripts/remove-agent-files.sh");
/// Clears every session's credentials, and the state of sessions gone (`sh -c`).
pub(crate) const FORGET: &str = include_str!("scripts/forget-agent-files.sh");

/// What [`Sessions::remove_agent_files`] removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Removal {
    /// The credentials: the session ends, and continues its conversation when started again.
    Credentials,
    /// Everything, conversations included: the session or its agent is gone.
    All,
}

/// The arguments of [`FORGET`] after the script: the state root, the sessions whose state
/// stays (space-separated), then the credentials files to remove from each.
pub(crate) fn forget_args(keep: &[SessionId]) -> Vec<String> {
    let keep: Vec<String> = keep.iter().map(|s| s.0.to_string()).collect();
    let mut args = vec![STATE_ROOT.to_owned(), keep.join(" ")];
    args.extend(CREDENTIAL_FILES.map(str::to_owned));
    args
}

impl Sessions {
    /// The command an agent session's tmux session runs: [`LAUNCHER`] with the session's
    /// folders, written first (see [`Self::prepare_agent`]), and its variables file under
    /// `$HOME` (empty when the environment has no variables).
    /// Fails: as [`Self::prepare_agent`].
    pub(super) async fn agent_command(
        &self,
        container: &str,
        owner: UserId,
        session: &Session,
        variables: &str,
    ) -> ServiceResult<[String; 13]> {
        let launch = self.prepare_agent(container, owner, session).await?;
        Ok([
            "bash".into(),
            "-c".into(),
            LAUNCHER.into(),
            "craftastic-agent".into(),
            agents::session_dir(session.id),
            launch.command,
            launch.kind,
            launch.notice,
            launch.resume,
            launch.history,
            launch.hook_option,
            launch.hook_value,
            variables.to_owned(),
        ])
    }

    /// Writes the agent session's folders: the env file with the credential (or the
    /// variable that points the CLI at its state folder) and, for a credential the CLI
    /// reads from a file, that file, each through the exec's standard input with mode
    /// 0600. The state folder is kept (the CLI's conversations), its credentials files
    /// replaced. Returns what [`LAUNCHER`] needs. An agent that was deleted since leaves a
    /// shell that says so, and its files go.
    /// Fails: the stored credential does not open → 500; the state root is a symbolic
    /// link → 409; the engine fails → 502.
    async fn prepare_agent(
        &self,
        container: &str,
        owner: UserId,
        session: &Session,
    ) -> ServiceResult<Launch> {
        let found = match session.agent_id {
            Some(id) => match self.agents.for_launch(owner, AgentId(id)).await {
                Ok(found) => Some(found),
                Err(ServiceError::NotFound(_)) => None,
                Err(e) => return Err(e),
            },
            None => None,
        };
        let Some((agent, credential)) = found else {
            self.remove_agent_files(container, session.id, Removal::All)
                .await?;
            return Ok(Launch {
                notice: "craftastic: the agent of this session was deleted, so this session starts a shell; start a new agent session to run an agent.".into(),
                ..Launch::default()
            });
        };
        let plan = LaunchPlan::new(
            session.id,
            agent.agent_type,
            &agent.name,
            credential.as_ref(),
        );
        let private = agents::session_dir(session.id);
        let state = agents::state_dir(session.id);
        let id = session.id.0.to_string();
        let mut args = vec![
            private.as_str(),
            STATE_ROOT,
            &id,
            plan.state_folder.unwrap_or_default(),
        ];
        args.extend(CREDENTIAL_FILES);
        let out = self.shell(container, PREPARE, &args).await?;
        match out.code {
            0 => {}
            3 => {
                return Err(ServiceError::Conflict {
                    code: craftastic_domain::ErrorCode::Conflict,
                    message: format!(
                        "{STATE_ROOT} in the worktree is a symbolic link; remove it (agent sessions keep their state there) and start the session again"
                    ),
                });
            }
            _ => {
                return Err(ServiceError::Upstream(format!(
                    "could not make the agent's folders in the workspace: {}",
                    last_line(&out)
                )));
            }
        }
        for file in plan.files {
            let dir = match file.place {
                Place::Private => &private,
                Place::State => &state,
            };
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
                            dir,
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
        let history: Vec<String> = plan
            .history
            .iter()
            .map(|pattern| format!("{state}/{pattern}"))
            .collect();
        Ok(Launch {
            command: plan.command.into(),
            kind: plan.kind.into(),
            notice: plan.notice,
            resume: plan.resume.into(),
            history: history.join(" "),
            hook_option: plan.hooks.0.into(),
            hook_value: plan.hooks.1,
        })
    }

    /// Removes an agent session's private folder (its env file) and, as `what` says, its
    /// credentials files or its whole state folder, if there are any.
    pub(super) async fn remove_agent_files(
        &self,
        container: &str,
        session: SessionId,
        what: Removal,
    ) -> ServiceResult<()> {
        let private = agents::session_dir(session);
        let state = agents::state_dir(session);
        let mut args = vec![private.as_str(), state.as_str()];
        match what {
            Removal::All => args.push("all"),
            Removal::Credentials => {
                args.push("credentials");
                args.extend(CREDENTIAL_FILES);
            }
        }
        let out = self.shell(container, REMOVE, &args).await?;
        if out.code != 0 {
            return Err(ServiceError::Upstream(format!(
                "could not remove the agent's files from the workspace: {}",
                last_line(&out)
            )));
        }
        Ok(())
    }
}

/// What [`LAUNCHER`] is given after the private folder; all empty for a bare shell.
#[derive(Default)]
struct Launch {
    command: String,
    kind: String,
    notice: String,
    resume: String,
    history: String,
    hook_option: String,
    hook_value: String,
}
