//! The one way git runs: a script from [`super::scripts`] under `bash -c` inside the
//! workspace container at the top of the worktree, with an argument vector, the C locale,
//! no prompts, a time limit and a cap on what it prints.

use std::time::Duration;

use craftastic_domain::ErrorCode;
use craftastic_runtime::{ExecOutput, ExecSpec, RuntimeError};

use super::{Git, log};
use crate::sandbox::WORKSPACE_DIR;
use crate::{ServiceError, ServiceResult};

/// Reads and writes are bounded; a push or a hook may take longer than a status.
pub(super) const READ_LIMIT: Duration = Duration::from_secs(30);
pub(super) const WRITE_LIMIT: Duration = Duration::from_secs(120);
/// Bytes of git's standard output kept; a longer answer (a huge status, say) is refused
/// rather than buffered, whatever the workspace holds.
const OUTPUT_LIMIT: usize = 16 << 20;

impl Git {
    /// Runs `script` with `args` as `$1`, `$2`, …, killed after `limit`, in the C locale and
    /// never prompting; `env` (credentials, an identity) is given to that one process only.
    pub(super) async fn run(
        &self,
        container: &str,
        script: &str,
        args: &[&str],
        stdin: Option<Vec<u8>>,
        env: Vec<String>,
        limit: Duration,
    ) -> ServiceResult<ExecOutput> {
        let mut cmd: Vec<String> = [
            "timeout",
            "-k",
            "5",
            &limit.as_secs().to_string(),
            "bash",
            "-c",
            script,
            "git",
        ]
        .map(str::to_owned)
        .into();
        cmd.extend(args.iter().map(|a| (*a).to_owned()));
        let mut vars: Vec<String> = [
            "LC_ALL=C",
            "GIT_TERMINAL_PROMPT=0",
            "GIT_PAGER=cat",
            "GIT_HTTP_LOW_SPEED_LIMIT=1000",
            "GIT_HTTP_LOW_SPEED_TIME=30",
            "GIT_SSH_COMMAND=ssh -o BatchMode=yes -o ConnectTimeout=15",
        ]
        .map(str::to_owned)
        .into();
        vars.push(format!("LOG_FORMAT={}", log::FORMAT));
        vars.extend(env);
        let out = self
            .runtime
            .exec(
                container,
                ExecSpec {
                    cmd,
                    workdir: Some(WORKSPACE_DIR.to_owned()),
                    env: vars,
                    stdin,
                    // `timeout` inside the container ends git first; the server's deadline
                    // holds even when something there keeps the output open or is stopped.
                    deadline: Some(limit + Duration::from_secs(10)),
                    stdout_limit: Some(OUTPUT_LIMIT),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| match e {
                RuntimeError::Deadline(_) => ServiceError::Upstream(format!(
                    "git took longer than {} seconds in the workspace and was stopped",
                    limit.as_secs()
                )),
                other => other.into(),
            })?;
        if out.code == 124 || out.code == 137 {
            return Err(ServiceError::Upstream(format!(
                "git took longer than {} seconds in the workspace and was stopped",
                limit.as_secs()
            )));
        }
        if out.stdout_cut {
            return Err(ServiceError::Conflict {
                code: ErrorCode::OutputTooLarge,
                message: format!(
                    "git printed more than {} MiB; the answer would be cut, so none is given",
                    OUTPUT_LIMIT >> 20
                ),
            });
        }
        Ok(out)
    }

    /// Runs a script that only reads: git takes no optional lock that could get in the way
    /// of the user's own git in the terminal.
    pub(super) async fn read(
        &self,
        container: &str,
        script: &str,
        args: &[&str],
    ) -> ServiceResult<ExecOutput> {
        self.run(
            container,
            script,
            args,
            None,
            vec!["GIT_OPTIONAL_LOCKS=0".into()],
            READ_LIMIT,
        )
        .await
    }
}
