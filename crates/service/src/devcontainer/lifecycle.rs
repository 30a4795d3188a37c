//! The lifecycle commands of a devcontainer workspace: postCreateCommand once, then
//! postStartCommand at each start, run in the background as the workspace user with their
//! output in the progress log.

use super::*;

impl Devcontainers {
    /// Runs the lifecycle commands of a devcontainer workspace whose container just started
    /// (read from its `labels`), in the background: postCreateCommand unless it ran in this
    /// workspace already, then postStartCommand. A sandbox workspace has nothing to run.
    pub fn started(
        &self,
        env: &Environment,
        ws: &Workspace,
        container: &str,
        labels: &BTreeMap<String, String>,
    ) {
        let Some(label) = labels.get(LIFECYCLE_LABEL) else {
            return;
        };
        let commands: Commands = match serde_json::from_str(label) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(workspace = %ws.id, error = %e, "a devcontainer container's lifecycle label is unreadable");
                return;
            }
        };
        if !self.states().contains_key(&ws.id) {
            self.begin(env, ws.id);
        }
        let this = self.clone();
        let marker = format!(
            "{}/worktrees/{}/{POST_CREATE_MARKER}",
            sandbox::repo_mount(env.id),
            ws.id
        );
        let (ws, container) = (ws.id, container.to_owned());
        tokio::spawn(async move {
            let result = this.lifecycle(ws, &container, &commands, &marker).await;
            match result {
                Ok(()) => this.set_status(ws, Status::Ready, None),
                Err(e) => this.set_status(ws, Status::Failed, Some(e)),
            }
        });
    }

    async fn lifecycle(
        &self,
        ws: WorkspaceId,
        container: &str,
        config: &Commands,
        marker: &str,
    ) -> Result<(), String> {
        if let Some(command) = &config.post_create_command {
            let ran = self
                .exec(
                    container,
                    vec!["test".into(), "-e".into(), marker.into()],
                    Duration::from_secs(30),
                )
                .await
                .is_ok_and(|out| out.code == 0);
            if ran {
                self.log(ws, "postCreateCommand ran in this workspace before");
            } else {
                self.set_status(ws, Status::PostCreate, None);
                self.run(
                    ws,
                    container,
                    "postCreateCommand",
                    command,
                    POST_CREATE_DEADLINE,
                )
                .await?;
                self.exec(
                    container,
                    vec!["touch".into(), marker.into()],
                    Duration::from_secs(30),
                )
                .await
                .map_err(|e| format!("could not record that postCreateCommand ran: {e}"))?;
            }
        }
        if let Some(command) = &config.post_start_command {
            self.set_status(ws, Status::PostStart, None);
            self.run(
                ws,
                container,
                "postStartCommand",
                command,
                POST_START_DEADLINE,
            )
            .await?;
        }
        Ok(())
    }

    /// Runs one lifecycle command (each of the object form at once) as the workspace user
    /// in /workspace, with the sessions' variables, and logs what it printed.
    async fn run(
        &self,
        ws: WorkspaceId,
        container: &str,
        field: &str,
        command: &Lifecycle,
        deadline: Duration,
    ) -> Result<(), String> {
        let commands: Vec<(String, &Lifecycle)> = match command {
            Lifecycle::Parallel { commands } => commands
                .iter()
                .map(|(name, c)| (format!("{field}.{name}"), c))
                .collect(),
            single => vec![(field.to_owned(), single)],
        };
        let runs = commands.iter().map(|(name, command)| async move {
            let cmd: Vec<String> = match command {
                Lifecycle::Shell { command } => vec![
                    "sh".into(),
                    "-c".into(),
                    "exec 2>&1\neval \"$1\"".into(),
                    "sh".into(),
                    command.clone(),
                ],
                Lifecycle::Exec { args } => ["sh", "-c", "exec 2>&1\nexec \"$@\"", "sh"]
                    .into_iter()
                    .map(str::to_owned)
                    .chain(args.iter().cloned())
                    .collect(),
                Lifecycle::Parallel { .. } => Vec::new(),
            };
            self.log(ws, &format!("running {name}"));
            let out = self.exec_as_session(container, cmd, deadline).await;
            match out {
                Ok(out) => {
                    let text = out.stdout_str();
                    if out.stdout_cut {
                        self.log(
                            ws,
                            &format!("[{name}] … (only the end of its output is kept)"),
                        );
                    }
                    for line in text.lines() {
                        self.log(ws, &format!("[{name}] {line}"));
                    }
                    if out.code == 0 {
                        self.log(ws, &format!("{name} finished"));
                        Ok(())
                    } else {
                        Err(format!("{name} failed with exit code {}", out.code))
                    }
                }
                Err(e) => Err(format!("{name}: {e}")),
            }
        });
        let results = futures::future::join_all(runs).await;
        results
            .into_iter()
            .collect::<Result<Vec<()>, String>>()
            .map(drop)
    }

    async fn exec(
        &self,
        container: &str,
        cmd: Vec<String>,
        deadline: Duration,
    ) -> ServiceResult<craftastic_runtime::ExecOutput> {
        Ok(self
            .runtime
            .exec(
                container,
                ExecSpec {
                    cmd,
                    deadline: Some(deadline),
                    ..Default::default()
                },
            )
            .await?)
    }

    /// An exec with the sessions' variables (`CRAFTASTIC_SESSION_ENV`), as lifecycle
    /// commands run in the user's environment rather than Craftastic's.
    async fn exec_as_session(
        &self,
        container: &str,
        cmd: Vec<String>,
        deadline: Duration,
    ) -> ServiceResult<craftastic_runtime::ExecOutput> {
        let mut wrapped = vec![
            "sh".to_owned(),
            "-c".to_owned(),
            SESSION_ENV.to_owned(),
            "session-env".to_owned(),
        ];
        wrapped.extend(cmd);
        Ok(self
            .runtime
            .exec(
                container,
                ExecSpec {
                    cmd: wrapped,
                    workdir: Some(sandbox::WORKSPACE_DIR.to_owned()),
                    deadline: Some(deadline),
                    stdout_limit: Some(COMMAND_OUTPUT),
                    ..Default::default()
                },
            )
            .await?)
    }
}
