//! What the services need from a container engine, as one trait. [`docker::DockerRuntime`]
//! implements it over the Docker Engine API (which Podman's socket speaks too); a Kubernetes
//! implementation can follow without touching the services.
//!
//! A [`ContainerSpec`] says what differs between containers (image, mounts, labels, limits);
//! the hardening every container gets (an init as PID 1, all capabilities dropped,
//! `no-new-privileges`, the default seccomp profile, a pids limit) is applied by the
//! implementation and cannot be left out by a caller.

pub mod docker;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::pin::Pin;

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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    pub source: PathBuf,
    pub target: String,
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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerInfo {
    pub id: String,
    pub name: String,
    pub running: bool,
    pub labels: BTreeMap<String, String>,
}

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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    pub code: i64,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl ExecOutput {
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
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
    /// Runs a command to completion and captures what it printed.
    async fn exec(&self, id: &str, spec: ExecSpec) -> RuntimeResult<ExecOutput>;
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
}

/// Which storage driver keeps containers' writable layers, on what filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageDriver {
    /// e.g. `overlay2`, `btrfs`, `zfs`.
    pub name: String,
    /// e.g. `xfs` or `extfs`, when the engine says.
    pub backing_filesystem: Option<String>,
}
