//! What the services need from a container engine, as one trait. [`docker::DockerRuntime`]
//! implements it over the Docker Engine API (which Podman's socket speaks too); a Kubernetes
//! implementation can follow without touching the services.
//!
//! A [`ContainerSpec`] says what differs between containers (image, mounts, labels, limits);
//! the hardening every container gets (an init as PID 1, all capabilities dropped,
//! `no-new-privileges`, the default seccomp profile, a pids limit) is applied by the
//! implementation and cannot be left out by a caller.

pub mod bounded;
pub mod docker;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;

pub type RuntimeResult<T> = Result<T, RuntimeError>;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("no such container or volume")]
    NotFound,
    #[error("the image {0} is missing; build it with `craftastic image build`")]
    ImageMissing(String),
    /// The engine cannot be reached at all.
    #[error("the container engine does not answer: {0}")]
    Unavailable(String),
    /// The engine answered with an error.
    #[error("the container engine refused: {0}")]
    Engine(String),
    /// An exec ran past its deadline; the server stopped waiting and ended its processes.
    #[error("the command ran longer than {} seconds in the workspace and was stopped", .0.as_secs())]
    Deadline(Duration),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    pub source: PathBuf,
    pub target: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeMount {
    pub name: String,
    pub target: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub memory_bytes: i64,
    /// CPUs in billionths (0.5 CPU = 500_000_000).
    pub nano_cpus: i64,
    pub pids: i64,
    /// The size of the writable layer, where the storage driver can enforce it (`None`:
    /// no engine limit; the services' disk watchdog measures it anyway).
    pub disk_bytes: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    /// A non-root user of the image; the implementation refuses root.
    pub user: String,
    pub hostname: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub binds: Vec<Bind>,
    pub volumes: Vec<VolumeMount>,
    pub env: Vec<(String, String)>,
    pub working_dir: String,
    pub limits: Limits,
    /// The network the container joins (made with [`Runtime::ensure_network`]); `None`
    /// leaves it on the engine's default bridge.
    pub network: Option<String>,
}

/// A bridge network of Craftastic's own, with an address range it chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSpec {
    pub name: String,
    /// The host's side of the bridge (at most 15 characters), so that firewall rules can
    /// name every Craftastic bridge by its prefix.
    pub bridge: String,
    pub subnet: Ipv4Addr,
    pub prefix_len: u8,
    /// The host's address on the bridge.
    pub gateway: Ipv4Addr,
    /// No route out: its containers reach only each other and the host's bridge address.
    pub internal: bool,
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkInfo {
    pub id: String,
    pub name: String,
    /// `None` when the engine reports no IPv4 subnet.
    pub subnet: Option<(Ipv4Addr, u8)>,
    pub gateway: Option<Ipv4Addr>,
    pub internal: bool,
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerInfo {
    pub id: String,
    pub name: String,
    pub running: bool,
    pub labels: BTreeMap<String, String>,
    /// The networks it joined, by name, with its IPv4 address on each while it runs.
    pub networks: BTreeMap<String, Option<Ipv4Addr>>,
}

/// What the engine says of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// `sha256:…`
    pub id: String,
    /// Its `NAME=value` variables.
    pub env: Vec<String>,
}

/// An image built from a tar of a build context, as the engine's (classic) builder does it.
#[derive(Debug, Clone, Default)]
pub struct BuildSpec {
    pub context_tar: Vec<u8>,
    pub tag: String,
    /// The Dockerfile's path inside the context.
    pub dockerfile: String,
    pub args: Vec<(String, String)>,
    pub target: Option<String>,
    pub labels: BTreeMap<String, String>,
    /// The network its `RUN` steps join (`none`, or a network's name); the engine's default
    /// bridge when `None`.
    pub network: Option<String>,
    /// Memory and CPU of each `RUN` step (the engine's builder takes no pids or disk limit).
    pub limits: Option<Limits>,
}

/// How long an exec may run when its spec names no deadline.
pub const DEFAULT_EXEC_DEADLINE: Duration = Duration::from_secs(60);
/// Bytes of standard output an exec keeps when its spec names no limit.
pub const DEFAULT_STDOUT_LIMIT: usize = 1 << 20;
/// Bytes of standard error every exec keeps (the end of it: where the reason is).
pub const STDERR_LIMIT: usize = 64 << 10;

#[derive(Debug, Clone, Default)]
pub struct ExecSpec {
    pub cmd: Vec<String>,
    /// Defaults to the container's user.
    pub user: Option<String>,
    pub workdir: Option<String>,
    /// `NAME=value` pairs for this process only (never on its command line).
    pub env: Vec<String>,
    /// Bytes written to the process's standard input, which is then closed.
    pub stdin: Option<Vec<u8>>,
    /// The server stops waiting after this long, ends the exec's processes and answers
    /// [`RuntimeError::Deadline`]; [`DEFAULT_EXEC_DEADLINE`] when `None`. Whatever the
    /// container does (a `setsid` child holding the output open, a stopped process), the
    /// call returns by then.
    pub deadline: Option<Duration>,
    /// Bytes of standard output kept, the last ones; [`DEFAULT_STDOUT_LIMIT`] when `None`.
    pub stdout_limit: Option<usize>,
}

/// What an exec printed, each stream cut to its limit (the end kept, the cut marked).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOutput {
    pub code: i64,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Standard output was longer than its limit: only its end is in `stdout`.
    pub stdout_cut: bool,
    pub stderr_cut: bool,
}

impl ExecOutput {
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// A long-lived process without a terminal: its standard output as it comes, and its
/// standard input. Nothing bounds how long it runs or what it prints: the caller reads the
/// output within limits of its own and drops the exec when it has had enough.
///
/// Dropping both halves closes the connection to the engine; Docker then closes the
/// process's standard input (it does not end the process), so a process that ends on
/// end-of-file ends with its exec.
pub struct StreamExec {
    pub exec_id: String,
    /// Standard output, in the chunks the engine sends; standard error is not attached.
    pub output: BoxStream<'static, RuntimeResult<Bytes>>,
    pub input: Pin<Box<dyn tokio::io::AsyncWrite + Send>>,
}

/// An interactive process with a terminal: bytes in, bytes out, and a size.
pub struct TtyExec {
    pub exec_id: String,
    pub output: BoxStream<'static, RuntimeResult<Bytes>>,
    pub input: Pin<Box<dyn tokio::io::AsyncWrite + Send>>,
}

#[async_trait]
pub trait Runtime: Send + Sync + 'static {
    /// The engine answers.
    async fn ping(&self) -> RuntimeResult<()>;
    async fn image_exists(&self, image: &str) -> RuntimeResult<bool>;
    /// Creates (not starts) a container; returns its id. Named volumes are created on demand.
    async fn create(&self, spec: &ContainerSpec) -> RuntimeResult<String>;
    /// Starting a running container is not an error.
    async fn start(&self, id: &str) -> RuntimeResult<()>;
    /// Stopping a stopped container is not an error.
    async fn stop(&self, id: &str) -> RuntimeResult<()>;
    /// Removes the container, running or not; a missing one is not an error.
    async fn remove(&self, id: &str) -> RuntimeResult<()>;
    async fn remove_volume(&self, name: &str) -> RuntimeResult<()>;
    /// By id or name; `None` when there is no such container.
    async fn inspect(&self, id: &str) -> RuntimeResult<Option<ContainerInfo>>;
    /// Every container (running or not) carrying all these labels.
    async fn list(&self, labels: &[(&str, &str)]) -> RuntimeResult<Vec<ContainerInfo>>;
    /// Runs a command to completion, or to its deadline, and captures the end of what it
    /// printed (bounded: see [`ExecSpec`]).
    async fn exec(&self, id: &str, spec: ExecSpec) -> RuntimeResult<ExecOutput>;
    /// Starts a long-lived command without a terminal, its standard input and output
    /// attached (see [`StreamExec`]). The spec's `deadline` bounds the start only, and its
    /// `stdin` and `stdout_limit` are not used.
    async fn exec_stream(&self, id: &str, spec: ExecSpec) -> RuntimeResult<StreamExec>;
    /// Starts a command attached to a new terminal of `cols`×`rows`.
    async fn exec_tty(
        &self,
        id: &str,
        spec: ExecSpec,
        cols: u16,
        rows: u16,
    ) -> RuntimeResult<TtyExec>;
    async fn resize_tty(&self, exec_id: &str, cols: u16, rows: u16) -> RuntimeResult<()>;
    /// The exit code of an exec's process; `None` while it runs.
    async fn exec_exit_code(&self, exec_id: &str) -> RuntimeResult<Option<i64>>;
    /// Makes the network unless one of that name exists, and returns what the engine
    /// reports of it.
    async fn ensure_network(&self, spec: &NetworkSpec) -> RuntimeResult<NetworkInfo>;
    /// Every network carrying all these labels.
    async fn list_networks(&self, labels: &[(&str, &str)]) -> RuntimeResult<Vec<NetworkInfo>>;
    /// By id or name; `None` when there is no such network.
    async fn inspect_network(&self, name: &str) -> RuntimeResult<Option<NetworkInfo>>;
    /// A missing network is not an error; one still in use is.
    async fn remove_network(&self, name: &str) -> RuntimeResult<()>;
    /// What the engine says of a local image; `None` when it has none of that name.
    async fn image_info(&self, image: &str) -> RuntimeResult<Option<ImageInfo>>;
    /// Builds an image (see [`BuildSpec`]); `progress` gets each line of build output. No
    /// deadline: the caller drops the future to stop waiting, which ends the build.
    async fn build(
        &self,
        spec: BuildSpec,
        progress: &(dyn for<'l> Fn(&'l str) + Send + Sync),
    ) -> RuntimeResult<()>;
    /// Builds `tag` from a tar of a build context; `progress` gets each line of build output.
    async fn build_image(
        &self,
        context_tar: Vec<u8>,
        tag: &str,
        build_args: &[(&str, &str)],
        progress: &(dyn for<'l> Fn(&'l str) + Send + Sync),
    ) -> RuntimeResult<()>;
    /// Bytes in the container's writable layer (what it wrote outside its volumes and
    /// binds), as the engine counts them; `None` when the engine does not say. The engine
    /// walks the layer's files for this, so it is slow for a container with very many.
    async fn writable_layer_bytes(&self, id: &str) -> RuntimeResult<Option<i64>>;
    /// The engine's storage driver and the filesystem under it (from `docker info`).
    async fn storage_driver(&self) -> RuntimeResult<StorageDriver>;
    /// Changes a container's memory (no swap beyond it) and CPUs, running or not; a running
    /// one gets them at once. Its pids limit and disk stay as made.
    async fn update_limits(&self, id: &str, memory_bytes: i64, nano_cpus: i64)
    -> RuntimeResult<()>;
    /// What a running container's memory holds now and its limit, as one reading (no
    /// stream); `None` when it does not run or the engine does not say.
    async fn memory_usage(&self, id: &str) -> RuntimeResult<Option<MemoryUsage>>;
}

/// A container's memory as the engine reads it once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryUsage {
    /// What its processes hold, without the page cache the kernel can take back (what
    /// `docker stats` shows).
    pub bytes: i64,
    /// Its memory limit as the kernel applies it.
    pub limit_bytes: i64,
}

/// Which storage driver keeps containers' writable layers, on what filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageDriver {
    /// e.g. `overlay2`, `btrfs`, `zfs`.
    pub name: String,
    /// e.g. `xfs` or `extfs`, when the engine says.
    pub backing_filesystem: Option<String>,
}
