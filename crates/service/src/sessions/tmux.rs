//! The tmux sessions in a workspace container: started in a checked working directory,
//! renamed, asked after, listed and ended, each through a script in `scripts/`.

use std::collections::HashSet;

use craftastic_domain::{SessionId, SessionName, UserId};
use craftastic_store::{Session, SessionType};

use super::recordings::RECORDER;
use super::{Sessions, last_line};
use crate::{ServiceError, ServiceResult};

/// `start.sh`, after the `record` function it calls.
const START: &str = concat!(
    include_str!("recordings/record.sh"),
    include_str!("scripts/start.sh")
);
/// What a terminal session runs when its environment has variables (`sh -c`).
const SESSION_SHELL: &str = include_str!("scripts/session-shell.sh");
const ALIVE: &str = include_str!("scripts/alive.sh");
const RENAME: &str = include_str!("scripts/rename.sh");
const KILL: &str = include_str!("scripts/kill.sh");
const LIST: &str = include_str!("scripts/list.sh");

/// The tmux name of a session: made by the server, unique across the installation, and
/// free of the characters tmux treats specially (`.` and `:`).
pub(super) fn tmux_name(id: SessionId) -> String {
    format!("cs-{}", id.0.simple())
}

/// Where a session's variables wait for its shell, relative to the container user's home
/// (`kill.sh` and `forget-agent-files.sh` know the folder too): written just before its
/// tmux session starts and removed by its command once read.
pub(super) fn variables_file(tmux: &str) -> String {
    format!(".craftastic/variables/{tmux}")
}

/// The session a tmux name of the server's own naming stands for.
pub(super) fn session_of(tmux: &str) -> Option<SessionId> {
    let hex = tmux.strip_prefix("cs-")?;
    let valid = hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    valid
        .then(|| uuid::Uuid::try_parse(hex).ok())
        .flatten()
        .map(SessionId)
}

impl Sessions {
    /// Starts the session's tmux session unless it runs, recorded (see
    /// [`super::recordings`]). An agent session gets its private
    /// folder written first and runs the agent's launcher (see [`Self::agent_command`]).
    /// When the environment has variables, they travel on the exec's standard input to the
    /// session's variables file, which its command (the launcher, or [`SESSION_SHELL`])
    /// reads and removes; a tmux session started anew records the version it got.
    pub(super) async fn start_tmux(
        &self,
        container: &str,
        owner: UserId,
        session: &Session,
    ) -> ServiceResult<()> {
        let variables = self.variables.for_session(session.environment_id).await?;
        let file = variables
            .file
            .as_ref()
            .map(|_| variables_file(&session.tmux_session_name));
        let mut args: Vec<String> = vec![
            session.tmux_session_name.clone(),
            session.working_directory.to_string(),
            session.name.to_string(),
            self.settings.recording.limit.to_string(),
            RECORDER.to_owned(),
            file.clone().unwrap_or_default(),
        ];
        // Until the tmux session runs, no watcher report of the container is trusted: one
        // begun earlier would take the session for ended.
        let _expecting = session.workspace_id.map(|workspace| {
            let place = super::Place {
                environment: session.environment_id,
                workspace,
            };
            self.watchers.expect(container, place)
        });
        match (session.session_type, &file) {
            (SessionType::Agent, _) => {
                if !self
                    .tmux_alive(container, &session.tmux_session_name)
                    .await?
                {
                    let file = file.as_deref().unwrap_or_default();
                    args.extend(self.agent_command(container, owner, session, file).await?);
                }
            }
            (SessionType::Terminal, Some(file)) => {
                args.extend(
                    ["sh", "-c", SESSION_SHELL, "craftastic-session", file].map(str::to_owned),
                );
            }
            (SessionType::Terminal, None) => {}
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = self
            .shell_fed(container, START, &args, variables.file)
            .await?;
        let dir = session.working_directory.as_str();
        match out.code {
            0 => {
                if out.stdout_str().lines().any(|l| l == "started") {
                    match self
                        .store
                        .set_session_variables_version(session.id, variables.version)
                        .await
                    {
                        Ok(()) | Err(craftastic_store::StoreError::NotFound) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                Ok(())
            }
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
            5 => Err(ServiceError::Upstream(format!(
                "could not write the session's variables in the workspace: {}",
                last_line(&out)
            ))),
            _ => Err(ServiceError::Upstream(format!(
                "tmux could not start the session: {}",
                last_line(&out)
            ))),
        }
    }

    /// Whether the tmux session runs in the container.
    pub(crate) async fn tmux_alive(&self, container: &str, tmux: &str) -> ServiceResult<bool> {
        let out = self.shell(container, ALIVE, &[tmux]).await?;
        Ok(out.code == 0)
    }

    /// Shows the tmux session under `name`, in its status bar and to its new shells.
    pub(super) async fn rename_tmux(
        &self,
        container: &str,
        tmux: &str,
        name: &SessionName,
    ) -> ServiceResult<()> {
        self.shell(container, RENAME, &[tmux, name.as_str()])
            .await?;
        Ok(())
    }

    /// Ends the tmux session, if it runs; `forget` removes its recording too.
    pub(super) async fn kill_tmux(
        &self,
        container: &str,
        tmux: &str,
        forget: bool,
    ) -> ServiceResult<()> {
        let mut args = vec![tmux];
        if forget {
            args.push("forget");
        }
        self.shell(container, KILL, &args).await?;
        Ok(())
    }

    /// The names of the tmux sessions running in a container.
    pub(crate) async fn running_tmux(&self, container: &str) -> ServiceResult<HashSet<String>> {
        let out = self.shell(container, LIST, &[]).await?;
        Ok(out.stdout_str().lines().map(str::to_owned).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tmux_name_gives_back_its_session_and_no_other_name_does() {
        let id = SessionId::new();
        assert_eq!(session_of(&tmux_name(id)), Some(id));
        for other in [
            "main",
            "cs-",
            "cs-0123",
            "cs-0123456789ABCDEF0123456789abcdef",
            "cs-0123456789abcdef0123456789abcdef0",
            "xs-0123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(session_of(other), None, "{other}");
        }
    }
}
