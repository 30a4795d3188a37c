//! What a devcontainer.json asks for, read from its JSONC: the fields Craftastic applies,
//! each checked (one clear error per bad value, naming the field), and every other field
//! listed as unsupported with the reason, never dropped silently.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::jsonc;

/// Where a branch's devcontainer.json may be, in the order they are looked for.
pub const LOCATIONS: [&str; 2] = [".devcontainer/devcontainer.json", ".devcontainer.json"];

const MAX_ENV: usize = 200;
const MAX_ENV_NAME: usize = 256;
const MAX_ENV_VALUE: usize = 32 << 10;
const MAX_COMMAND: usize = 64 << 10;
const MAX_COMMAND_ARGS: usize = 1000;
const MAX_PARALLEL_COMMANDS: usize = 32;
const MAX_PORTS: usize = 100;
const MAX_BUILD_ARGS: usize = 100;
const MAX_PATH: usize = 1024;

/// Variables Craftastic sets itself in a workspace; the file cannot change them.
const RESERVED_ENV: [&str; 9] = [
    "CRAFTASTIC_ENVIRONMENT",
    "CRAFTASTIC_BRANCH",
    "CRAFTASTIC_SESSION",
    "CRAFTASTIC_EXEC",
    "HOME",
    "HOSTNAME",
    "TERMINFO_DIRS",
    "GIT_EXEC_PATH",
    "LD_LIBRARY_PATH",
];

/// Variables that point tools at the egress proxy; a restricted environment sets them.
const PROXY_ENV: [&str; 8] = [
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
];

/// The devcontainer.json of a branch, as Craftastic applies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Config {
    /// Where it was found (one of [`LOCATIONS`]).
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub source: Source,
    pub container_env: Vec<(String, String)>,
    pub remote_env: Vec<(String, String)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post_create_command: Option<Lifecycle>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post_start_command: Option<Lifecycle>,
    pub forward_ports: Vec<Port>,
    pub unsupported: Vec<Unsupported>,
}

/// Where the workspace's image comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Source {
    /// An image the engine has (no registry is asked when it has it).
    Image { image: String },
    /// Built from a Dockerfile of the branch; paths relative to the repository's root.
    Dockerfile {
        dockerfile: String,
        context: String,
        args: BTreeMap<String, String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        target: Option<String>,
    },
}

/// One lifecycle command: the string form runs in a shell, the array form as it is, and the
/// object form runs each named command (string or array) at the same time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", tag = "form")]
pub enum Lifecycle {
    Shell { command: String },
    Exec { args: Vec<String> },
    Parallel { commands: Vec<(String, Lifecycle)> },
}

/// A port the branch says it listens on (`forwardPorts`): a number, or `host:port` for a
/// container of a compose file, which Craftastic does not run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Port {
    pub port: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// A field that is not applied, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unsupported {
    pub field: String,
    pub reason: String,
}

/// Why a devcontainer.json cannot be used; the workspace is not made with a guess.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct ConfigError {
    pub path: String,
    pub reason: String,
}

impl Config {
    /// Reads the devcontainer.json found at `path` (one of [`LOCATIONS`]).
    pub fn parse(path: &str, bytes: &[u8]) -> Result<Self, ConfigError> {
        let fail = |reason: String| ConfigError {
            path: path.to_owned(),
            reason,
        };
        let value = jsonc::parse(bytes).map_err(|e| fail(e.to_string()))?;
        let Value::Object(mut fields) = value else {
            return Err(fail("it must be a JSON object".into()));
        };
        let folder = path.rsplit_once('/').map_or("", |(dir, _)| dir);
        let mut unsupported = Vec::new();
        let name = take_string(&mut fields, "name")
            .map_err(fail)?
            .map(|n| n.chars().take(200).collect());
        let source = source(&mut fields, folder).map_err(fail)?;
        let container_env = env(&mut fields, "containerEnv", &mut unsupported).map_err(fail)?;
        let remote_env = env(&mut fields, "remoteEnv", &mut unsupported).map_err(fail)?;
        let remote_user = match take_string(&mut fields, "remoteUser").map_err(fail)? {
            Some(user) if is_root(&user) => {
                unsupported.push(Unsupported {
                    field: "remoteUser".into(),
                    reason: format!(
                        "{user:?} is root; workspaces never run as root, so the unprivileged workspace user is used"
                    ),
                });
                None
            }
            Some(user) if valid_user_name(&user) => Some(user),
            Some(user) => {
                return Err(fail(format!(
                    "remoteUser {user:?} is not a user name (letters, digits, '.', '_' and '-', at most 32)"
                )));
            }
            None => None,
        };
        let post_create_command =
            lifecycle_field(&mut fields, "postCreateCommand").map_err(fail)?;
        let post_start_command = lifecycle_field(&mut fields, "postStartCommand").map_err(fail)?;
        let forward_ports = ports(&mut fields).map_err(fail)?;
        fields.remove("$schema");
        for (field, value) in fields {
            let reason = unsupported_reason(&field, &value);
            unsupported.push(Unsupported { field, reason });
        }
        Ok(Self {
            path: path.to_owned(),
            name,
            source,
            container_env,
            remote_env,
            remote_user,
            post_create_command,
            post_start_command,
            forward_ports,
            unsupported,
        })
    }
}

/// Why a field Craftastic does not apply is left out.
fn unsupported_reason(field: &str, value: &Value) -> String {
    match field {
        "privileged" | "capAdd" | "securityOpt" | "runArgs" => {
            "refused: workspaces keep their hardening (no capability, no-new-privileges, the engine's default seccomp profile, Craftastic's own limits)".into()
        }
        "initializeCommand" => {
            "refused: it would run on the server's machine, outside any container".into()
        }
        "mounts" | "workspaceMount" => {
            "refused: a workspace mounts only its worktree and its repository, never a host path".into()
        }
        "workspaceFolder" if value.as_str() == Some("/workspace") => {
            "the worktree is always at /workspace, as asked".into()
        }
        "workspaceFolder" => "not supported: the worktree is always at /workspace".into(),
        "features" => "not supported: Dev Container Features are not installed; install what they would in the Dockerfile".into(),
        "dockerComposeFile" | "service" | "runServices" => {
            "not supported: Docker Compose is not run; one container per workspace".into()
        }
        "onCreateCommand" | "updateContentCommand" | "postAttachCommand" | "waitFor" => {
            "not supported: only postCreateCommand and postStartCommand run".into()
        }
        "containerUser" | "updateRemoteUserUID" => {
            "not supported: the container runs as the workspace user (remoteUser, when it is not root)".into()
        }
        "init" | "overrideCommand" | "shutdownAction" => {
            "not applied: every workspace container runs an init and a command of Craftastic's own".into()
        }
        "appPort" | "portsAttributes" | "otherPortsAttributes" => {
            "not supported: list ports in forwardPorts".into()
        }
        "hostRequirements" => "not applied: the server's limits (SANDBOX_*) size every workspace".into(),
        "customizations" => "not applied: editor settings, which Craftastic has no use for".into(),
        "userEnvProbe" => "not supported: remoteEnv sets the sessions' variables".into(),
        _ => "not supported by Craftastic".into(),
    }
}

fn take_string(fields: &mut Map<String, Value>, name: &str) -> Result<Option<String>, String> {
    match fields.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("{name} must be a string")),
    }
}

fn source(fields: &mut Map<String, Value>, folder: &str) -> Result<Source, String> {
    let image = take_string(fields, "image")?;
    // `dockerFile` and `context` at the top are the older spelling of `build`.
    let old_dockerfile = take_string(fields, "dockerFile")?;
    let old_context = take_string(fields, "context")?;
    let build = match fields.remove("build") {
        None | Some(Value::Null) => None,
        Some(Value::Object(build)) => Some(build),
        Some(_) => return Err("build must be an object".into()),
    };
    if build.is_none() && old_dockerfile.is_none() {
        return match image {
            Some(image) if valid_image(&image) => Ok(Source::Image { image }),
            Some(image) => Err(format!("image {image:?} is not an image reference")),
            None => Err(
                "it names neither an image nor a build.dockerfile (Docker Compose files are not supported)"
                    .into(),
            ),
        };
    }
    if image.is_some() {
        return Err("it names both an image and a Dockerfile; keep one".into());
    }
    let mut build = build.unwrap_or_default();
    let dockerfile = take_string(&mut build, "dockerfile")?
        .or(old_dockerfile)
        .ok_or("build.dockerfile is missing")?;
    let context = take_string(&mut build, "context")?
        .or(old_context)
        .unwrap_or_else(|| ".".into());
    let target = take_string(&mut build, "target")?;
    if let Some(t) = &target {
        if t.is_empty()
            || t.len() > 128
            || !t
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(format!("build.target {t:?} is not a stage name"));
        }
    }
    let args = match build.remove("args") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Object(args)) => {
            if args.len() > MAX_BUILD_ARGS {
                return Err(format!("build.args has more than {MAX_BUILD_ARGS} entries"));
            }
            let mut out = BTreeMap::new();
            for (name, value) in args {
                check_env_name("build.args", &name)?;
                let Value::String(value) = value else {
                    return Err(format!("build.args.{name} must be a string"));
                };
                check_env_value("build.args", &name, &value)?;
                out.insert(name, value);
            }
            out
        }
        Some(_) => return Err("build.args must be an object".into()),
    };
    if let Some(field) = build.keys().next() {
        return Err(format!(
            "build.{field} is not supported (build takes dockerfile, context, args and target)"
        ));
    }
    let context = join(folder, &context).map_err(|e| format!("build.context {e}"))?;
    let dockerfile = join(folder, &dockerfile).map_err(|e| format!("build.dockerfile {e}"))?;
    if dockerfile.is_empty() {
        return Err("build.dockerfile names a folder, not a file".into());
    }
    Ok(Source::Dockerfile {
        dockerfile,
        context,
        args,
        target,
    })
}

/// `rel` taken from `folder`, as a path from the repository's root without `.`, `..` or an
/// empty component (`""` is the root itself).
/// Fails: `rel` is absolute, too long, or leads out of the repository.
fn join(folder: &str, rel: &str) -> Result<String, String> {
    if rel.starts_with('/') {
        return Err(format!("{rel:?} must be relative to the devcontainer.json"));
    }
    if rel.len() > MAX_PATH || rel.contains(['\0', '\\']) {
        return Err(format!("{rel:?} is not a usable path"));
    }
    let mut parts: Vec<&str> = folder.split('/').filter(|p| !p.is_empty()).collect();
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(format!("{rel:?} leads out of the repository"));
                }
            }
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

fn env(
    fields: &mut Map<String, Value>,
    name: &str,
    unsupported: &mut Vec<Unsupported>,
) -> Result<Vec<(String, String)>, String> {
    let map = match fields.remove(name) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(map)) => map,
        Some(_) => return Err(format!("{name} must be an object of strings")),
    };
    if map.len() > MAX_ENV {
        return Err(format!("{name} has more than {MAX_ENV} variables"));
    }
    let mut out = Vec::new();
    for (var, value) in map {
        check_env_name(name, &var)?;
        let value = match value {
            Value::String(s) => s,
            // remoteEnv may unset a variable with null: nothing to set.
            Value::Null => continue,
            _ => return Err(format!("{name}.{var} must be a string")),
        };
        check_env_value(name, &var, &value)?;
        if RESERVED_ENV.contains(&var.as_str()) || var.starts_with("CRAFTASTIC_") {
            unsupported.push(Unsupported {
                field: format!("{name}.{var}"),
                reason: "refused: Craftastic sets this variable itself".into(),
            });
            continue;
        }
        if PROXY_ENV.contains(&var.as_str()) {
            unsupported.push(Unsupported {
                field: format!("{name}.{var}"),
                reason: "refused: the environment's egress policy sets the proxy".into(),
            });
            continue;
        }
        out.push((var, value));
    }
    Ok(out)
}

fn check_env_name(field: &str, var: &str) -> Result<(), String> {
    let mut chars = var.chars();
    let valid = var.len() <= MAX_ENV_NAME
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{field}: {:?} is not a variable name (letters, digits and '_', not starting with a digit)",
            var.chars().take(64).collect::<String>()
        ))
    }
}

fn check_env_value(field: &str, var: &str, value: &str) -> Result<(), String> {
    if value.len() > MAX_ENV_VALUE {
        return Err(format!(
            "{field}.{var} is longer than {} KiB",
            MAX_ENV_VALUE >> 10
        ));
    }
    if value.contains('\0') {
        return Err(format!("{field}.{var} holds a NUL character"));
    }
    Ok(())
}

fn lifecycle_field(
    fields: &mut Map<String, Value>,
    name: &str,
) -> Result<Option<Lifecycle>, String> {
    match fields.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => lifecycle(name, value, true).map(Some),
    }
}

fn lifecycle(field: &str, value: Value, top: bool) -> Result<Lifecycle, String> {
    match value {
        Value::String(command) => {
            if command.len() > MAX_COMMAND || command.contains('\0') {
                return Err(format!(
                    "{field} is longer than {} KiB or holds a NUL character",
                    MAX_COMMAND >> 10
                ));
            }
            Ok(Lifecycle::Shell { command })
        }
        Value::Array(items) => {
            if items.is_empty() || items.len() > MAX_COMMAND_ARGS {
                return Err(format!(
                    "{field} must list a program and at most {MAX_COMMAND_ARGS} arguments"
                ));
            }
            let mut args = Vec::with_capacity(items.len());
            let mut total = 0;
            for item in items {
                let Value::String(arg) = item else {
                    return Err(format!("{field} must be an array of strings"));
                };
                total += arg.len();
                if total > MAX_COMMAND || arg.contains('\0') {
                    return Err(format!(
                        "{field} is longer than {} KiB or holds a NUL character",
                        MAX_COMMAND >> 10
                    ));
                }
                args.push(arg);
            }
            Ok(Lifecycle::Exec { args })
        }
        Value::Object(named) if top => {
            if named.len() > MAX_PARALLEL_COMMANDS {
                return Err(format!(
                    "{field} names more than {MAX_PARALLEL_COMMANDS} commands"
                ));
            }
            let mut commands = Vec::new();
            for (name, command) in named {
                if name.len() > 100 || name.chars().any(char::is_control) {
                    return Err(format!(
                        "{field}: a command's name is too long or holds control characters"
                    ));
                }
                let inner = lifecycle(&format!("{field}.{name}"), command, false)?;
                commands.push((name, inner));
            }
            Ok(Lifecycle::Parallel { commands })
        }
        _ if top => Err(format!(
            "{field} must be a string, an array of strings or an object of them"
        )),
        _ => Err(format!("{field} must be a string or an array of strings")),
    }
}

fn ports(fields: &mut Map<String, Value>) -> Result<Vec<Port>, String> {
    let items = match fields.remove("forwardPorts") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err("forwardPorts must be an array".into()),
    };
    if items.len() > MAX_PORTS {
        return Err(format!("forwardPorts lists more than {MAX_PORTS} ports"));
    }
    let bad = |item: &Value| {
        format!(
            "forwardPorts: {} is not a port (1-65535) or host:port",
            item.to_string().chars().take(64).collect::<String>()
        )
    };
    let mut out = Vec::new();
    for item in items {
        let port = match &item {
            Value::Number(n) => n
                .as_u64()
                .and_then(|n| u16::try_from(n).ok())
                .filter(|p| *p > 0)
                .map(|port| Port { port, host: None }),
            Value::String(s) => s.rsplit_once(':').and_then(|(host, port)| {
                let port = port.parse::<u16>().ok().filter(|p| *p > 0)?;
                let valid_host = !host.is_empty()
                    && host.len() <= 253
                    && host
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
                valid_host.then(|| Port {
                    port,
                    host: Some(host.to_owned()),
                })
            }),
            _ => None,
        };
        let port = port.ok_or_else(|| bad(&item))?;
        if !out.contains(&port) {
            out.push(port);
        }
    }
    Ok(out)
}

fn is_root(user: &str) -> bool {
    matches!(user.split(':').next(), Some("root" | "0" | ""))
}

/// A user name as passwd files hold them.
fn valid_user_name(user: &str) -> bool {
    !user.is_empty()
        && user.len() <= 32
        && !user.starts_with('-')
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// An image reference as the engine takes it (`name[:tag][@digest]`, lower-case name).
fn valid_image(image: &str) -> bool {
    !image.is_empty()
        && image.len() <= 255
        && !image.starts_with(['-', '.', '/', ':', '@'])
        && image
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | ':' | '@'))
}

/// What `${…}` in a value stands for.
pub struct Variables<'a> {
    /// The variables the container's value is read from (`${containerEnv:NAME}`).
    pub container_env: &'a [(String, String)],
    /// What `${localWorkspaceFolderBasename}` and `${devcontainerId}` become.
    pub basename: &'a str,
    pub id: &'a str,
}

impl Variables<'_> {
    /// `value` with its variables replaced. `${localEnv:NAME}` would read the server's own
    /// environment, which a branch never sees: it becomes its default, or nothing. A
    /// variable of another kind is left as it is.
    pub fn substitute(&self, value: &str) -> String {
        let mut out = String::with_capacity(value.len());
        let mut rest = value;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                return out;
            };
            let inner = &after[..end];
            match self.resolve(inner) {
                Some(v) => out.push_str(&v),
                None => out.push_str(&rest[start..start + 2 + end + 1]),
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }

    fn resolve(&self, inner: &str) -> Option<String> {
        match inner {
            "containerWorkspaceFolder" | "localWorkspaceFolder" => Some("/workspace".into()),
            "containerWorkspaceFolderBasename" => Some("workspace".into()),
            "localWorkspaceFolderBasename" => Some(self.basename.into()),
            "devcontainerId" => Some(self.id.into()),
            _ => {
                let (kind, rest) = inner.split_once(':')?;
                let (name, default) = rest.split_once(':').unwrap_or((rest, ""));
                match kind {
                    "localEnv" | "env" => Some(default.into()),
                    "containerEnv" => Some(
                        self.container_env
                            .iter()
                            .rev()
                            .find(|(n, _)| n == name)
                            .map_or_else(|| default.to_owned(), |(_, v)| v.clone()),
                    ),
                    _ => None,
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
