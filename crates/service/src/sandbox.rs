//! How workspace containers are made: the settings and the one function that turns a
//! workspace into a [`ContainerSpec`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use craftastic_domain::{
    BranchName, EnvironmentId, RepoPolicy, UserId, WorkspaceId, WorkspaceSize,
};
use craftastic_runtime::{Bind, ContainerSpec, Limits, VolumeMount};

/// Labels on every container Craftastic starts (invariant I2).
pub mod labels {
    /// Which Craftastic server owns the container, so that servers sharing an engine never
    /// touch each other's containers.
    pub const INSTANCE: &str = "craftastic.instance";
    pub const ENVIRONMENT: &str = "craftastic.environment";
    pub const WORKSPACE: &str = "craftastic.workspace";
    pub const BRANCH: &str = "craftastic.branch";
    pub const OWNER: &str = "craftastic.owner";
}

/// Where the worktree of a workspace is seen by its user.
pub const WORKSPACE_DIR: &str = "/workspace";

#[derive(Debug, Clone)]
pub struct SandboxSettings {
    pub image: String,
    /// The image's non-root user, and the uid and gid that own bare repositories.
    pub user: String,
    pub uid: u32,
    pub gid: u32,
    /// The default memory and CPUs of each workspace (an environment may ask for others,
    /// see [`Self::size_maxima`]), its pids limit, and `disk_bytes` when the engine caps
    /// writable layers itself.
    pub limits: Limits,
    /// The default disk cap of each workspace, enforced by [`crate::disk::DiskWatch`]
    /// (`None`: measured and shown, never stopped).
    pub disk_limit: Option<i64>,
    /// The most memory, CPUs and disk an environment may ask for its workspaces (`disk_bytes:
    /// None`: no maximum).
    pub size_maxima: WorkspaceSize,
    /// `<data dir>`; repositories live in `<data dir>/repos`.
    pub data_dir: PathBuf,
    pub instance: String,
    pub repo_policy: RepoPolicy,
    pub clone_timeout: Duration,
    /// Where the workspace networks take their `/24`s from.
    pub network_pool: crate::networks::Pool,
    /// The egress proxy's port on each restricted network's host address.
    pub egress_proxy_port: u16,
    /// The session watchers of running workspaces.
    pub watch: crate::sessions::WatchSettings,
    /// How sessions' output is recorded.
    pub recording: crate::sessions::RecordingSettings,
}

impl SandboxSettings {
    /// What a workspace gets when its environment asks for nothing else.
    pub fn default_size(&self) -> WorkspaceSize {
        WorkspaceSize {
            memory_bytes: self.limits.memory_bytes,
            nano_cpus: self.limits.nano_cpus,
            disk_bytes: self.disk_limit,
        }
    }

    pub fn repos_dir(&self) -> PathBuf {
        self.data_dir.join("repos")
    }

    /// The bare clone of an environment on the host.
    pub fn repo_path(&self, env: EnvironmentId) -> PathBuf {
        self.repos_dir().join(format!("{env}.git"))
    }

    /// Where one attempt at a clone is made before it is moved into place, so that a crash
    /// never leaves a half-made clone at [`Self::repo_path`]. Each attempt has its own
    /// folder: a git left running by a killed server must not write into the next attempt.
    pub fn partial_repo_path(&self, env: EnvironmentId) -> PathBuf {
        let attempt = uuid::Uuid::new_v4().simple().to_string();
        self.repos_dir()
            .join(format!("{PARTIAL_PREFIX}{env}-{}.git", &attempt[..12]))
    }

    /// The partial clones of `env` left by earlier attempts.
    pub fn stale_partials(&self, env: EnvironmentId) -> Vec<PathBuf> {
        let prefix = format!("{PARTIAL_PREFIX}{env}-");
        std::fs::read_dir(self.repos_dir())
            .map(|d| {
                d.flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                    .map(|e| e.path())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn known_hosts(&self) -> PathBuf {
        self.data_dir.join("ssh_known_hosts")
    }
}

/// Whether the branch has a commit, read from the loose ref or packed-refs (no git runs on
/// the host, invariant I3) through [`crate::untrusted`]: containers can write these files.
pub async fn branch_exists(repo: &Path, branch: &BranchName) -> bool {
    let (repo, branch) = (repo.to_owned(), branch.clone());
    tokio::task::spawn_blocking(move || crate::untrusted::branch_exists(&repo, &branch))
        .await
        .unwrap_or(false)
}

/// The name of partial clones starts with this, then the environment id.
pub const PARTIAL_PREFIX: &str = ".partial-";

/// Where the bare repository is mounted inside containers.
pub fn repo_mount(env: EnvironmentId) -> String {
    format!("/data/repos/{env}")
}

/// The path git registers for a workspace's worktree: the same volume as `/workspace`,
/// mounted a second time under a name unique in the repository, so that worktrees of
/// different containers never claim the same path.
pub fn worktree_path(ws: WorkspaceId) -> String {
    format!("/data/worktrees/{ws}")
}

pub const VOLUME_PREFIX: &str = "craftastic-ws-";

pub fn volume_name(ws: WorkspaceId) -> String {
    format!("{VOLUME_PREFIX}{ws}")
}

pub fn container_name(ws: WorkspaceId) -> String {
    format!("craftastic-{ws}")
}

/// How a workspace container joins its network: the network's name and, on a restricted
/// network, the egress proxy's URL.
pub struct Attachment<'a> {
    pub network: &'a str,
    pub proxy: Option<&'a str>,
}

/// The one place that describes a workspace container, of its environment's effective
/// `size`.
#[allow(clippy::too_many_arguments)]
pub fn workspace_spec(
    settings: &SandboxSettings,
    owner: UserId,
    env: EnvironmentId,
    env_name: &str,
    ws: WorkspaceId,
    branch: &BranchName,
    size: &WorkspaceSize,
    attachment: Attachment<'_>,
) -> ContainerSpec {
    let mut vars = vec![
        ("CRAFTASTIC_ENVIRONMENT".to_owned(), env_name.to_owned()),
        ("CRAFTASTIC_BRANCH".to_owned(), branch.to_string()),
    ];
    if let Some(proxy) = attachment.proxy {
        // Both spellings: tools read one or the other.
        for name in [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "http_proxy",
            "https_proxy",
            "all_proxy",
        ] {
            vars.push((name.to_owned(), proxy.to_owned()));
        }
        for name in ["NO_PROXY", "no_proxy"] {
            vars.push((name.to_owned(), "localhost,127.0.0.1,::1".to_owned()));
        }
    }
    let labels = BTreeMap::from([
        (labels::INSTANCE.to_owned(), settings.instance.clone()),
        (labels::ENVIRONMENT.to_owned(), env.to_string()),
        (labels::WORKSPACE.to_owned(), ws.to_string()),
        (labels::BRANCH.to_owned(), branch.to_string()),
        (labels::OWNER.to_owned(), owner.to_string()),
    ]);
    let hostname: String = format!(
        "{}-{}",
        env_name.to_ascii_lowercase().replace(['.', '_'], "-"),
        branch.slug()
    )
    .chars()
    .take(63)
    .collect();
    ContainerSpec {
        name: container_name(ws),
        image: settings.image.clone(),
        user: settings.user.clone(),
        hostname: Some(hostname.trim_matches('-').to_owned()),
        labels,
        binds: vec![Bind {
            source: settings.repo_path(env),
            target: repo_mount(env),
            read_only: false,
        }],
        volumes: vec![
            VolumeMount {
                name: volume_name(ws),
                target: WORKSPACE_DIR.to_owned(),
            },
            VolumeMount {
                name: volume_name(ws),
                target: worktree_path(ws),
            },
        ],
        env: vars,
        working_dir: WORKSPACE_DIR.to_owned(),
        limits: Limits {
            memory_bytes: size.memory_bytes,
            nano_cpus: size.nano_cpus,
            pids: settings.limits.pids,
            // Where the engine caps writable layers (it said so at start), the workspace's
            // own cap; the disk watch measures the rest.
            disk_bytes: settings.limits.disk_bytes.and(size.disk_bytes),
        },
        network: Some(attachment.network.to_owned()),
    }
}

/// A container that is created (never started) and removed at once, to learn whether the
/// engine accepts `limits` (the disk cap, above all) on this host.
pub fn probe_spec(settings: &SandboxSettings, limits: Limits) -> ContainerSpec {
    let id = uuid::Uuid::new_v4().simple().to_string();
    ContainerSpec {
        name: format!("craftastic-probe-{}", &id[..12]),
        image: settings.image.clone(),
        user: settings.user.clone(),
        hostname: None,
        labels: BTreeMap::from([(labels::INSTANCE.to_owned(), settings.instance.clone())]),
        binds: Vec::new(),
        volumes: Vec::new(),
        env: Vec::new(),
        working_dir: "/".to_owned(),
        limits,
        network: Some("none".to_owned()),
    }
}
