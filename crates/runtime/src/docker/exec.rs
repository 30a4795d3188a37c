//! Execs bounded by the server: each carries a marker in its environment, so that its
//! processes can be ended when it outlives its deadline, and what it prints is kept within
//! limits.

use bollard::container::LogOutput;
use bollard::errors::Error as BollardError;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use futures::StreamExt;
use tokio::io::AsyncWriteExt;

use super::{DockerRuntime, engine};
use crate::*;

/// How long ending an exec's processes may take.
const END_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

/// Each exec's processes carry this variable, with a value unique to the exec, so that the
/// server can end them when the exec outlives its deadline (Docker has no call to kill an
/// exec).
const MARKER_VAR: &str = "CRAFTASTIC_EXEC";

/// Sends SIGKILL to every process whose environment holds `CRAFTASTIC_EXEC=<marker>`; it
/// works on stopped processes too. `$1` is the marker.
const END_MARKED: &str = include_str!("end-marked.sh");

/// An exec's output as the engine streams it.
type Output =
    std::pin::Pin<Box<dyn futures::Stream<Item = Result<LogOutput, BollardError>> + Send>>;
/// An exec's standard input.
type Input = std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>;

impl DockerRuntime {
    /// Creates and starts an exec attached to its streams; returns its id and the streams.
    pub(super) async fn attach(
        &self,
        id: &str,
        spec: ExecSpec,
        stdin: bool,
        stderr: bool,
        tty: bool,
    ) -> RuntimeResult<(String, Output, Input)> {
        let exec = self
            .docker
            .create_exec(
                id,
                CreateExecOptions {
                    cmd: Some(spec.cmd),
                    user: spec.user,
                    working_dir: spec.workdir,
                    env: Some(spec.env),
                    attach_stdin: Some(stdin),
                    attach_stdout: Some(true),
                    attach_stderr: Some(stderr),
                    tty: Some(tty),
                    ..Default::default()
                },
            )
            .await
            .map_err(engine)?;
        let started = self
            .docker
            .start_exec(
                &exec.id,
                Some(StartExecOptions {
                    detach: false,
                    tty,
                    output_capacity: None,
                }),
            )
            .await
            .map_err(engine)?;
        let StartExecResults::Attached { output, input } = started else {
            return Err(RuntimeError::Engine("exec started detached".into()));
        };
        Ok((exec.id, output, input))
    }

    /// Runs the exec, keeping the end of each stream within its limit.
    pub(super) async fn exec_bounded(
        &self,
        id: &str,
        spec: ExecSpec,
        marker: &str,
    ) -> RuntimeResult<ExecOutput> {
        let mut spec = spec;
        let stdin = spec.stdin.take();
        let with_stdin = stdin.is_some();
        let stdout_limit = spec.stdout_limit;
        spec.env.push(format!("{MARKER_VAR}={marker}"));
        let (exec_id, mut output, mut input) =
            self.attach(id, spec, with_stdin, true, false).await?;
        // Standard input is written while the output is read: a process that prints before
        // it reads must not block on a full pipe while we block on its input.
        let feed = async move {
            if let Some(bytes) = stdin {
                input.write_all(&bytes).await.ok();
            }
            input.shutdown().await.ok();
        };
        let collect = async {
            let mut stdout = bounded::Tail::new(stdout_limit.unwrap_or(DEFAULT_STDOUT_LIMIT));
            let mut stderr = bounded::Tail::new(STDERR_LIMIT);
            while let Some(chunk) = output.next().await {
                match chunk.map_err(engine)? {
                    LogOutput::StdOut { message } | LogOutput::Console { message } => {
                        stdout.push(&message)
                    }
                    LogOutput::StdErr { message } => stderr.push(&message),
                    LogOutput::StdIn { .. } => {}
                }
            }
            Ok::<_, RuntimeError>((stdout.finish(), stderr.finish()))
        };
        let (((stdout, stdout_cut), (stderr, stderr_cut)), ()) =
            tokio::try_join!(collect, async {
                feed.await;
                Ok::<(), RuntimeError>(())
            })?;
        let code = self
            .docker
            .inspect_exec(&exec_id)
            .await
            .map_err(engine)?
            .exit_code
            .unwrap_or(-1);
        Ok(ExecOutput {
            code,
            stdout,
            stderr,
            stdout_cut,
            stderr_cut,
        })
    }

    /// Ends the processes of an exec that outlived its deadline, as the same user.
    pub(super) async fn end_marked(&self, id: &str, user: Option<String>, marker: &str) {
        let spec = ExecSpec {
            cmd: ["sh", "-c", END_MARKED, "end", marker]
                .map(str::to_owned)
                .into(),
            user,
            deadline: Some(END_DEADLINE),
            ..Default::default()
        };
        let ending = tokio::time::timeout(END_DEADLINE, self.exec_bounded(id, spec, "end"));
        match ending.await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::warn!(container = id, error = %e, "could not end the processes of a late exec")
            }
            Err(_) => tracing::warn!(
                container = id,
                "ending the processes of a late exec took too long"
            ),
        }
    }
}
