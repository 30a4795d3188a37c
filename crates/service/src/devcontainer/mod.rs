//! Workspaces made from a branch's devcontainer.json (`.devcontainer/devcontainer.json` or
//! `.devcontainer.json`): its image or Dockerfile, with Craftastic's own tools brought in
//! (see [`tools`]), `containerEnv`, `remoteEnv` for sessions, `remoteUser`, and
//! `postCreateCommand` (once per workspace) and `postStartCommand` (at each start) run in the
//! background with their output in a bounded progress log. What is being done, what the
//! file asks that is not applied and each failure are kept per workspace (in memory) and
//! pushed to the owner's event stream.

pub mod config;
mod image;
pub mod jsonc;
mod lifecycle;
mod tools;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use craftastic_domain::{EnvironmentId, UserId, WorkspaceId};
use craftastic_runtime::{ExecSpec, Limits, Runtime};
use craftastic_store::{Environment, Workspace};
use serde::Serialize;

pub use config::{Config, Lifecycle, Port, Unsupported};

use crate::events::{Event, Events};
use crate::sandbox::{self, SandboxSettings};
use crate::{ServiceError, ServiceResult};

/// Lines kept in a workspace's progress log (the newest), and characters in each.
const LOG_LINES: usize = 2000;
const LOG_LINE_CHARS: usize = 2000;
/// The output kept of one lifecycle command (its end).
const COMMAND_OUTPUT: usize = 256 << 10;
const POST_CREATE_DEADLINE: Duration = Duration::from_secs(30 * 60);
const POST_START_DEADLINE: Duration = Duration::from_secs(10 * 60);
/// Log lines are told to the owner's stream at most this often (a status change at once).
const EVENT_EVERY: Duration = Duration::from_millis(500);
/// The marker of a workspace whose postCreateCommand ran, in its worktree's folder in the
/// clone (removed with the workspace).
const POST_CREATE_MARKER: &str = "craftastic-post-create-done";
/// Where the image's PATH is, when it names none.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Where a workspace's devcontainer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    /// Its devcontainer.json is being read.
    Reading,
    /// Its image is being built.
    Building,
    /// postCreateCommand runs.
    PostCreate,
    /// postStartCommand runs.
    PostStart,
    Ready,
    /// The file is broken or asks for what cannot be done: the workspace was not made.
    Invalid,
    /// A build or a command failed.
    Failed,
}

#[derive(Debug, Clone, Serialize)]
pub struct LogLine {
    pub at: DateTime<Utc>,
    pub line: String,
}

/// What the owner sees of a workspace's devcontainer.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct View {
    pub workspace_id: WorkspaceId,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<ConfigView>,
    pub unsupported: Vec<Unsupported>,
    pub forward_ports: Vec<Port>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub log: Vec<LogLine>,
    /// Older lines were dropped.
    pub log_cut: bool,
    pub updated_at: DateTime<Utc>,
}

/// The file's summary: where it is, what it names, what it sets.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigView {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub source: config::Source,
    pub container_env: Vec<String>,
    pub remote_env: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post_create_command: Option<Lifecycle>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post_start_command: Option<Lifecycle>,
}

struct State {
    owner: UserId,
    environment: EnvironmentId,
    view: View,
    told_at: Option<Instant>,
}

/// How a devcontainer workspace's container differs from a sandbox one.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub image: String,
    pub user: String,
    pub env: Vec<(String, String)>,
    /// The lifecycle commands, kept on the container (see [`LIFECYCLE_LABEL`]).
    pub labels: BTreeMap<String, String>,
}

/// The label of a devcontainer workspace's container that holds its lifecycle commands
/// (JSON), so that they run at each start, across restarts of the server.
pub const LIFECYCLE_LABEL: &str = "craftastic.devcontainer.lifecycle";

/// What runs when a devcontainer workspace's container starts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Commands {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_create_command: Option<Lifecycle>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_start_command: Option<Lifecycle>,
}

#[derive(Clone)]
pub struct Devcontainers {
    runtime: Arc<dyn Runtime>,
    settings: Arc<SandboxSettings>,
    events: Events,
    states: Arc<Mutex<HashMap<WorkspaceId, State>>>,
    /// One making of the tools image at a time.
    tools: Arc<tokio::sync::Mutex<()>>,
}

impl Devcontainers {
    pub fn new(runtime: Arc<dyn Runtime>, settings: Arc<SandboxSettings>, events: Events) -> Self {
        Self {
            runtime,
            settings,
            events,
            states: Arc::default(),
            tools: Arc::default(),
        }
    }

    fn states(&self) -> MutexGuard<'_, HashMap<WorkspaceId, State>> {
        self.states.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The devcontainer views of these workspaces, those the server knows of.
    pub fn views(&self, workspaces: &[WorkspaceId]) -> Vec<View> {
        let states = self.states();
        workspaces
            .iter()
            .filter_map(|w| states.get(w).map(|s| s.view.clone()))
            .collect()
    }

    /// Forgets a workspace that was removed.
    pub fn forget(&self, workspace: WorkspaceId) {
        self.states().remove(&workspace);
    }

    fn begin(&self, env: &Environment, ws: WorkspaceId) {
        let now = Utc::now();
        self.states().insert(
            ws,
            State {
                owner: env.user_id,
                environment: env.id,
                view: View {
                    workspace_id: ws,
                    status: Status::Reading,
                    config: None,
                    unsupported: Vec::new(),
                    forward_ports: Vec::new(),
                    error: None,
                    log: Vec::new(),
                    log_cut: false,
                    updated_at: now,
                },
                told_at: None,
            },
        );
    }

    /// Changes a workspace's state with `change`, then tells its owner (at once when `now`,
    /// else at most every [`EVENT_EVERY`]).
    fn update(&self, ws: WorkspaceId, now: bool, change: impl FnOnce(&mut View)) {
        let told = {
            let mut states = self.states();
            let Some(state) = states.get_mut(&ws) else {
                return;
            };
            change(&mut state.view);
            state.view.updated_at = Utc::now();
            let due = now || state.told_at.is_none_or(|t| t.elapsed() >= EVENT_EVERY);
            if due {
                state.told_at = Some(Instant::now());
            }
            due.then_some((state.owner, state.environment, state.view.status))
        };
        if let Some((owner, environment, status)) = told {
            self.events.publish(
                owner,
                Event::WorkspaceDevcontainer {
                    workspace_id: ws,
                    environment_id: environment,
                    status,
                },
            );
        }
    }

    fn set_status(&self, ws: WorkspaceId, status: Status, error: Option<String>) {
        self.update(ws, true, |v| {
            if let Some(e) = &error {
                push_line(v, &format!("error: {e}"));
            }
            v.status = status;
            v.error = error;
        });
    }

    fn log(&self, ws: WorkspaceId, line: &str) {
        self.update(ws, false, |v| push_line(v, line));
    }

    /// Reads the branch's devcontainer.json and, when there is one, makes its image; `None`
    /// when the branch has none (the sandbox image is used).
    /// Fails: the file is broken or asks for what cannot be done → 422, a build fails → 502;
    /// either way the reason is in the workspace's devcontainer status too.
    pub async fn prepare(
        &self,
        env: &Environment,
        ws: &Workspace,
        network: String,
    ) -> ServiceResult<Option<Prepared>> {
        self.begin(env, ws.id);
        let result = self.prepare_inner(env, ws, network).await;
        match &result {
            Ok(None) => self.forget(ws.id),
            Ok(Some(_)) => {}
            Err(e) => {
                let status = if matches!(e, ServiceError::Invalid(_)) {
                    Status::Invalid
                } else {
                    Status::Failed
                };
                self.set_status(ws.id, status, Some(e.to_string()));
            }
        }
        result
    }

    async fn prepare_inner(
        &self,
        env: &Environment,
        ws: &Workspace,
        network: String,
    ) -> ServiceResult<Option<Prepared>> {
        let runtime = self.runtime.as_ref();
        let reader = image::Reader::open(runtime, &self.settings, env.id, ws.id).await?;
        let built = self.read_and_build(&reader, env, ws, network).await;
        reader.close().await;
        let Some((config, base)) = built? else {
            return Ok(None);
        };
        let tools = {
            let _one = self.tools.lock().await;
            let log = |line: &str| self.log(ws.id, line);
            tools::ensure(runtime, &self.settings, ws.id, &log).await?
        };
        let user = image::WorkspaceUser {
            uid: self.settings.uid,
            gid: self.settings.gid,
            name: config.remote_user.as_deref(),
        };
        let log = |line: &str| self.log(ws.id, line);
        let place = image::BuildPlace {
            network: "none".into(),
            limits: self.build_limits(),
            instance: &self.settings.instance,
            progress: &log,
        };
        let image = image::build_layer(runtime, &base, &tools, &user, &place).await?;
        let image_env = match runtime.image_info(&image).await? {
            Some(info) => info.env,
            None => Vec::new(),
        };
        let prepared = self.environment_of(env, ws, &config, image, &image_env);
        self.log(ws.id, "the image is ready; starting the workspace");
        Ok(Some(prepared))
    }

    /// The file, checked, and the image it starts from (built when it names a Dockerfile).
    async fn read_and_build(
        &self,
        reader: &image::Reader<'_>,
        env: &Environment,
        ws: &Workspace,
        network: String,
    ) -> ServiceResult<Option<(Config, String)>> {
        let Some(found) = reader.config(&ws.branch, &env.branch).await? else {
            return Ok(None);
        };
        let config = Config::parse(&found.path, &found.bytes).map_err(|e| {
            ServiceError::Invalid(craftastic_domain::ValidationError::new(
                "devcontainer",
                e.to_string(),
            ))
        })?;
        self.update(ws.id, true, |v| {
            v.config = Some(summary(&config));
            v.unsupported = config.unsupported.clone();
            v.forward_ports = config.forward_ports.clone();
            push_line(
                v,
                &format!("read {} at {}", found.path, short(&found.commit)),
            );
            for u in &config.unsupported {
                push_line(v, &format!("not applied: {}: {}", u.field, u.reason));
            }
        });
        let base = match &config.source {
            config::Source::Image { image } => image.clone(),
            source @ config::Source::Dockerfile { .. } => {
                self.set_status(ws.id, Status::Building, None);
                let log = |line: &str| self.log(ws.id, line);
                let place = image::BuildPlace {
                    network,
                    limits: self.build_limits(),
                    instance: &self.settings.instance,
                    progress: &log,
                };
                image::build_dockerfile(
                    self.runtime.as_ref(),
                    reader,
                    &found.commit,
                    source,
                    &place,
                )
                .await?
            }
        };
        self.set_status(ws.id, Status::Building, None);
        Ok(Some((config, base)))
    }

    /// Builds run with the memory and CPU of a workspace.
    fn build_limits(&self) -> Limits {
        Limits {
            disk_bytes: None,
            ..self.settings.limits
        }
    }

    /// The container's variables: `containerEnv`, PATH with Craftastic's tools first (its
    /// own commands always find them), and what sessions get: `remoteEnv` and a PATH with
    /// the image's commands first.
    fn environment_of(
        &self,
        env: &Environment,
        ws: &Workspace,
        config: &Config,
        image: String,
        image_env: &[String],
    ) -> Prepared {
        let mut known: Vec<(String, String)> = image_env
            .iter()
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let id = ws.id.to_string();
        let basename = env.name.as_str().to_owned();
        let mut container: Vec<(String, String)> = Vec::new();
        for (name, value) in &config.container_env {
            let value = config::Variables {
                container_env: &known,
                basename: &basename,
                id: &id,
            }
            .substitute(value);
            known.push((name.clone(), value.clone()));
            container.push((name.clone(), value));
        }
        let image_path = known
            .iter()
            .rev()
            .find(|(k, _)| k == "PATH")
            .map_or(DEFAULT_PATH.to_owned(), |(_, v)| v.clone());
        let session_path = format!("{image_path}:{}/bin", tools::ROOT);
        known.push(("PATH".into(), session_path.clone()));
        let mut session = vec![("PATH".to_owned(), session_path)];
        for (name, value) in &config.remote_env {
            let value = config::Variables {
                container_env: &known,
                basename: &basename,
                id: &id,
            }
            .substitute(value);
            if value.contains('\n') {
                self.update(ws.id, false, |v| {
                    v.unsupported.push(Unsupported {
                        field: format!("remoteEnv.{name}"),
                        reason: "not applied: a value of several lines".into(),
                    });
                });
                continue;
            }
            session.retain(|(n, _)| n != name);
            session.push((name.clone(), value));
        }
        container.retain(|(n, _)| n != "PATH");
        container.push(("PATH".into(), format!("{}/bin:{image_path}", tools::ROOT)));
        container.push((
            "TERMINFO_DIRS".into(),
            format!("{}/share/terminfo:", tools::ROOT),
        ));
        let session_env: Vec<String> = session.iter().map(|(k, v)| format!("{k}={v}")).collect();
        container.push(("CRAFTASTIC_SESSION_ENV".into(), session_env.join("\n")));
        let user = match &config.remote_user {
            Some(name) => name.clone(),
            None => format!("{}:{}", self.settings.uid, self.settings.gid),
        };
        let commands = Commands {
            post_create_command: config.post_create_command.clone(),
            post_start_command: config.post_start_command.clone(),
        };
        let labels = BTreeMap::from([(
            LIFECYCLE_LABEL.to_owned(),
            serde_json::to_string(&commands).unwrap_or_default(),
        )]);
        Prepared {
            image,
            user,
            env: container,
            labels,
        }
    }
}

/// Runs "$@" with the variables of `CRAFTASTIC_SESSION_ENV` exported; see its head.
const SESSION_ENV: &str = include_str!("session-env.sh");

fn push_line(view: &mut View, line: &str) {
    let mut line: String = line
        .chars()
        .filter(|c| !c.is_control() || *c == '\t')
        .take(LOG_LINE_CHARS)
        .collect();
    if line.len() >= LOG_LINE_CHARS {
        line.push('…');
    }
    if view.log.len() >= LOG_LINES {
        view.log.remove(0);
        view.log_cut = true;
    }
    view.log.push(LogLine {
        at: Utc::now(),
        line,
    });
}

fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

fn summary(config: &Config) -> ConfigView {
    ConfigView {
        path: config.path.clone(),
        name: config.name.clone(),
        source: config.source.clone(),
        container_env: config
            .container_env
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        remote_env: config
            .remote_env
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        remote_user: config.remote_user.clone(),
        post_create_command: config.post_create_command.clone(),
        post_start_command: config.post_start_command.clone(),
    }
}
