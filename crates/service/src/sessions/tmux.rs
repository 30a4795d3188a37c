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
const ALIVE: &str = include_str!("scripts/alive.sh");
const RENAME: &str = include_str!("scripts/rename.sh");
const KILL: &str = include_str!("scripts/kill.sh");
const LIST: &str = include_str!("scripts/list.sh");

/// The tmux name of a session: made by the server, unique across the installation, and
/// free of the characters tmux treats specially (`.` and `:`).
pub(super) fn tmux_name(id: SessionId) -> String {
    format!("cs-{}", id.0.simple())
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
    pub(super) async fn start_tmux(
        &self,
        container: &str,
        owner: UserId,
        session: &Session,
    ) -> ServiceResult<()> {
        let mut args: Vec<String> = vec![
            session.tmux_session_name.clone(),
            session.working_directory.to_string(),
            session.name.to_string(),
            self.settings.recording.limit.to_string(),
            RECORDER.to_owned(),
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
        if session.session_type == SessionType::Agent
            && !self
                .tmux_alive(container, &session.tmux_session_name)
                .await?
        {
            args.extend(self.agent_command(container, owner, session).await?);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = self.shell(container, START, &args).await?;
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
