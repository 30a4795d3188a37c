//! Settings of workspace containers and of cloning (for `serve`): image, limits, disk cap,
//! networks and the repositories that may be cloned.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::{ConfigError, bad, parse_bytes, parse_range};

/// Settings of workspace containers and of cloning (for `serve`).
#[derive(Debug, Clone, Args)]
pub struct SandboxArgs {
    /// The image every workspace container runs (build it with `craftastic image build`).
    #[arg(
        long,
        env = "SANDBOX_IMAGE",
        default_value = "craftastic/sandbox:latest"
    )]
    pub sandbox_image: String,
    /// Memory of each workspace container, e.g. 512m or 2g (no swap beyond it).
    #[arg(long, env = "SANDBOX_MEMORY_LIMIT", default_value = "512m")]
    pub sandbox_memory_limit: String,
    /// CPUs of each workspace container, e.g. 0.5 or 2.
    #[arg(long, env = "SANDBOX_CPU_LIMIT", default_value = "0.5")]
    pub sandbox_cpu_limit: String,
    /// Processes and threads of each workspace container.
    #[arg(long, env = "SANDBOX_PIDS_LIMIT", default_value = "512")]
    pub sandbox_pids_limit: String,
    /// Disk of each workspace (its worktree, the rest of its container and its environment's
    /// repository), e.g. 10g or 500m; 0 or none for no cap (disk use is still measured).
    #[arg(long, env = "SANDBOX_DISK_LIMIT", default_value = "10g")]
    pub sandbox_disk_limit: String,
    /// The most memory an environment may give its workspaces, e.g. 8g. Default: this
    /// machine's memory.
    #[arg(long, env = "SANDBOX_MEMORY_MAX")]
    pub sandbox_memory_max: Option<String>,
    /// The most CPUs an environment may give its workspaces, e.g. 4. Default: this
    /// machine's CPUs.
    #[arg(long, env = "SANDBOX_CPU_MAX")]
    pub sandbox_cpu_max: Option<String>,
    /// The largest disk cap an environment may give its workspaces, e.g. 50g; none for no
    /// maximum. Default: four times SANDBOX_DISK_LIMIT (none when that is none).
    #[arg(long, env = "SANDBOX_DISK_MAX")]
    pub sandbox_disk_max: Option<String>,
    /// Seconds between two measurements of the running workspaces' disk use.
    #[arg(long, env = "SANDBOX_DISK_CHECK_INTERVAL", default_value = "30")]
    pub sandbox_disk_check_interval: String,
    /// Seconds between two reports of the tmux sessions in a workspace with active sessions
    /// (its session watcher); a session whose tmux session ended is marked dead within
    /// about one to two of them.
    #[arg(long, env = "SESSION_WATCH_INTERVAL", default_value = "5")]
    pub session_watch_interval: String,
    /// Bytes of each session's output kept as its recording (the newest), e.g. 8m; 0 turns
    /// recording off.
    #[arg(long, env = "SESSION_RECORDING_LIMIT", default_value = "8m")]
    pub session_recording_limit: String,
    /// The uid of the image's `dev` user, which must own the bare clones. Default: 1000
    /// when the server runs as root, else the server's own uid (`image build` builds the
    /// image to match).
    #[arg(long, env = "SANDBOX_UID")]
    pub sandbox_uid: Option<String>,
    /// Repository URL schemes that may be cloned, comma-separated (https, ssh, http).
    #[arg(long, env = "CRAFTASTIC_REPO_SCHEMES", default_value = "https,ssh")]
    pub repo_schemes: String,
    /// Host folders whose repositories may be cloned by path, comma-separated.
    #[arg(long, env = "CRAFTASTIC_LOCAL_REPO_ROOTS", default_value = "")]
    pub local_repo_roots: String,
    /// Seconds a clone may take before it is stopped.
    #[arg(long, env = "CRAFTASTIC_CLONE_TIMEOUT", default_value = "600")]
    pub clone_timeout: String,
    /// The address range workspace networks take their /24s from (one per owner and kind).
    #[arg(long, env = "SANDBOX_NETWORK_POOL", default_value = "10.213.0.0/16")]
    pub network_pool: String,
    /// The egress proxy's port on each restricted workspace network's host address.
    #[arg(long, env = "EGRESS_PROXY_PORT", default_value = "3128")]
    pub egress_proxy_port: String,
}

pub struct Sandbox {
    pub image: String,
    pub memory_bytes: i64,
    pub nano_cpus: i64,
    pub pids: i64,
    /// `None`: no cap.
    pub disk_limit: Option<i64>,
    /// The most an environment may ask for its workspaces (`disk_bytes: None`: no maximum).
    pub size_maxima: craftastic_domain::WorkspaceSize,
    pub disk_check_interval: Duration,
    pub watch_interval: Duration,
    /// 0: recording off.
    pub recording_limit: u64,
    pub uid: Option<u32>,
    pub policy: craftastic_domain::RepoPolicy,
    pub clone_timeout: Duration,
    pub network_pool: craftastic_service::networks::Pool,
    pub egress_proxy_port: u16,
}

impl SandboxArgs {
    pub fn resolve(&self) -> Result<Sandbox, ConfigError> {
        let image = self.sandbox_image.trim();
        if image.is_empty() || image.contains(char::is_whitespace) {
            return Err(bad(format!(
                "SANDBOX_IMAGE must be an image name such as craftastic/sandbox:latest, not {:?}",
                self.sandbox_image
            )));
        }
        let memory_bytes = parse_bytes(&self.sandbox_memory_limit)
            .filter(|b| *b >= 64 << 20)
            .ok_or_else(|| bad(format!("SANDBOX_MEMORY_LIMIT must be a size of at least 64m such as 512m or 2g, not {:?}", self.sandbox_memory_limit)))?;
        let nano_cpus = self
            .sandbox_cpu_limit
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|c| c.is_finite() && *c >= 0.01 && *c <= 1024.0)
            .map(|c| (c * 1e9) as i64)
            .ok_or_else(|| {
                bad(format!(
                    "SANDBOX_CPU_LIMIT must be a number of CPUs such as 0.5 or 2, not {:?}",
                    self.sandbox_cpu_limit
                ))
            })?;
        let pids = parse_range(&self.sandbox_pids_limit, 32, 1_000_000).ok_or_else(|| {
            bad(format!(
                "SANDBOX_PIDS_LIMIT must be a number from 32 to 1000000, not {:?}",
                self.sandbox_pids_limit
            ))
        })? as i64;
        let disk_limit = parse_disk_limit(&self.sandbox_disk_limit)?;
        let size_maxima =
            self.size_maxima(memory_bytes, nano_cpus, disk_limit, &Machine::this())?;
        let disk_check_interval =
            parse_range(&self.sandbox_disk_check_interval, 1, 3600).ok_or_else(|| {
                bad(format!(
                    "SANDBOX_DISK_CHECK_INTERVAL must be a number of seconds from 1 to 3600, not {:?}",
                    self.sandbox_disk_check_interval
                ))
            })?;
        let watch_interval = parse_range(&self.session_watch_interval, 1, 60).ok_or_else(|| {
            bad(format!(
                "SESSION_WATCH_INTERVAL must be a number of seconds from 1 to 60, not {:?}",
                self.session_watch_interval
            ))
        })?;
        let recording_limit = parse_recording_limit(&self.session_recording_limit)?;
        let uid = match self
            .sandbox_uid
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        {
            None => None,
            Some(u) => Some(u.parse::<u32>().ok().filter(|u| *u != 0).ok_or_else(|| {
                bad(format!(
                    "SANDBOX_UID must be a non-zero user id such as 1000, not {u:?}"
                ))
            })?),
        };
        let mut schemes = std::collections::BTreeSet::new();
        for s in self
            .repo_schemes
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let s = s.to_ascii_lowercase();
            if !matches!(s.as_str(), "https" | "http" | "ssh") {
                return Err(bad(format!(
                    "CRAFTASTIC_REPO_SCHEMES may list only https, http and ssh, not {s:?}"
                )));
            }
            schemes.insert(s);
        }
        let mut local_roots = Vec::new();
        for root in self
            .local_repo_roots
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let path = PathBuf::from(root);
            if !path.is_absolute() || !path.is_dir() {
                return Err(bad(format!(
                    "CRAFTASTIC_LOCAL_REPO_ROOTS must list existing absolute folders; {root:?} is not one"
                )));
            }
            local_roots.push(path);
        }
        let clone_timeout = parse_range(&self.clone_timeout, 5, 86_400).ok_or_else(|| {
            bad(format!(
                "CRAFTASTIC_CLONE_TIMEOUT must be a number of seconds from 5 to 86400, not {:?}",
                self.clone_timeout
            ))
        })?;
        let network_pool = craftastic_service::networks::Pool::parse(self.network_pool.trim())
            .map_err(|why| bad(format!("SANDBOX_NETWORK_POOL: {why}")))?;
        let egress_proxy_port =
            parse_range(&self.egress_proxy_port, 1, 65_535).ok_or_else(|| {
                bad(format!(
                    "EGRESS_PROXY_PORT must be a port from 1 to 65535, not {:?}",
                    self.egress_proxy_port
                ))
            })? as u16;
        Ok(Sandbox {
            network_pool,
            egress_proxy_port,
            image: image.to_owned(),
            memory_bytes,
            nano_cpus,
            pids,
            disk_limit,
            size_maxima,
            disk_check_interval: Duration::from_secs(disk_check_interval),
            watch_interval: Duration::from_secs(watch_interval),
            recording_limit,
            uid,
            policy: craftastic_domain::RepoPolicy {
                schemes,
                local_roots,
            },
            clone_timeout: Duration::from_secs(clone_timeout),
        })
    }
}

/// What the maxima of sizes default to: this machine's memory and CPUs.
struct Machine {
    memory_bytes: Option<i64>,
    nano_cpus: i64,
}

impl Machine {
    fn this() -> Self {
        let memory_bytes = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|info| {
                let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
                let kib: i64 = line.split_whitespace().nth(1)?.parse().ok()?;
                kib.checked_mul(1024)
            });
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            memory_bytes,
            nano_cpus: i64::try_from(cpus)
                .unwrap_or(1)
                .saturating_mul(1_000_000_000),
        }
    }
}

impl SandboxArgs {
    /// `SANDBOX_MEMORY_MAX`, `SANDBOX_CPU_MAX` and `SANDBOX_DISK_MAX`, each at least its
    /// default; left out, the machine's memory and CPUs, and four times the disk cap.
    fn size_maxima(
        &self,
        memory_bytes: i64,
        nano_cpus: i64,
        disk_limit: Option<i64>,
        machine: &Machine,
    ) -> Result<craftastic_domain::WorkspaceSize, ConfigError> {
        let memory_max = match self.sandbox_memory_max.as_deref() {
            None => machine
                .memory_bytes
                .unwrap_or(memory_bytes.saturating_mul(4))
                .max(memory_bytes),
            Some(raw) => parse_bytes(raw)
                .filter(|b| *b >= memory_bytes)
                .ok_or_else(|| {
                    bad(format!(
                        "SANDBOX_MEMORY_MAX must be a size such as 8g, at least SANDBOX_MEMORY_LIMIT ({}), not {raw:?}",
                        self.sandbox_memory_limit.trim()
                    ))
                })?,
        };
        let cpu_max = match self.sandbox_cpu_max.as_deref() {
            None => machine.nano_cpus.max(nano_cpus),
            Some(raw) => raw
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|c| c.is_finite() && *c <= 1024.0)
                .map(|c| (c * 1e9).round() as i64)
                .filter(|c| *c >= nano_cpus)
                .ok_or_else(|| {
                    bad(format!(
                        "SANDBOX_CPU_MAX must be a number of CPUs such as 4, at least SANDBOX_CPU_LIMIT ({}), not {raw:?}",
                        self.sandbox_cpu_limit.trim()
                    ))
                })?,
        };
        let disk_max = match self.sandbox_disk_max.as_deref() {
            None => disk_limit.map(|d| d.saturating_mul(4)),
            Some(raw) => match raw.trim().to_ascii_lowercase().as_str() {
                "none" => None,
                _ => Some(
                    parse_bytes(raw)
                        .filter(|b| *b >= disk_limit.unwrap_or(1 << 20).max(1 << 20))
                        .ok_or_else(|| {
                            bad(format!(
                                "SANDBOX_DISK_MAX must be a size such as 50g, at least SANDBOX_DISK_LIMIT ({}) and 1m, or none for no maximum, not {raw:?}",
                                self.sandbox_disk_limit.trim()
                            ))
                        })?,
                ),
            },
        };
        Ok(craftastic_domain::WorkspaceSize {
            memory_bytes: memory_max,
            nano_cpus: cpu_max,
            disk_bytes: disk_max,
        })
    }
}

/// `SANDBOX_DISK_LIMIT`: a size of at least 1m, or `0`/`none` for no cap.
fn parse_disk_limit(raw: &str) -> Result<Option<i64>, ConfigError> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "0" | "none" => return Ok(None),
        _ => {}
    }
    parse_bytes(raw)
        .filter(|b| *b >= 1 << 20)
        .map(Some)
        .ok_or_else(|| {
            bad(format!(
                "SANDBOX_DISK_LIMIT must be a size of at least 1m such as 10g or 500m, or none for no cap, not {raw:?}"
            ))
        })
}

/// `SESSION_RECORDING_LIMIT`: a size from 128k to 256m, or `0` for no recording.
fn parse_recording_limit(raw: &str) -> Result<u64, ConfigError> {
    use craftastic_service::sessions::recordings::{MAX_LIMIT, MIN_LIMIT};
    parse_bytes(raw)
        .and_then(|b| u64::try_from(b).ok())
        .filter(|b| *b == 0 || (MIN_LIMIT..=MAX_LIMIT).contains(b))
        .ok_or_else(|| {
            bad(format!(
                "SESSION_RECORDING_LIMIT must be a size from 128k to 256m such as 8m, or 0 to record nothing, not {raw:?}"
            ))
        })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::{Machine, SandboxArgs, parse_disk_limit, parse_recording_limit};

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        sandbox: SandboxArgs,
    }

    fn args(flags: &[&str]) -> SandboxArgs {
        Cli::try_parse_from([&["craftastic"], flags].concat())
            .unwrap()
            .sandbox
    }

    #[test]
    fn size_maxima_default_to_the_machine_and_four_disk_caps_and_stay_above_the_defaults() {
        let machine = Machine {
            memory_bytes: Some(16 << 30),
            nano_cpus: 8_000_000_000,
        };
        let defaults = args(&[])
            .size_maxima(512 << 20, 500_000_000, Some(10 << 30), &machine)
            .unwrap();
        assert_eq!(
            (
                defaults.memory_bytes,
                defaults.nano_cpus,
                defaults.disk_bytes
            ),
            (16 << 30, 8_000_000_000, Some(40 << 30))
        );
        let unknown = Machine {
            memory_bytes: None,
            nano_cpus: 1_000_000_000,
        };
        let small = args(&[])
            .size_maxima(1 << 30, 2_000_000_000, None, &unknown)
            .unwrap();
        assert_eq!(
            (small.memory_bytes, small.nano_cpus, small.disk_bytes),
            (4 << 30, 2_000_000_000, None)
        );
        let set = args(&[
            "--sandbox-memory-max",
            "2g",
            "--sandbox-cpu-max",
            "1.5",
            "--sandbox-disk-max",
            "none",
        ])
        .size_maxima(512 << 20, 500_000_000, Some(10 << 30), &machine)
        .unwrap();
        assert_eq!(
            (set.memory_bytes, set.nano_cpus, set.disk_bytes),
            (2 << 30, 1_500_000_000, None)
        );
        for (flag, value, says) in [
            ("--sandbox-memory-max", "256m", "SANDBOX_MEMORY_MAX must be"),
            ("--sandbox-cpu-max", "0.1", "SANDBOX_CPU_MAX must be"),
            ("--sandbox-cpu-max", "lots", "SANDBOX_CPU_MAX must be"),
            ("--sandbox-disk-max", "5g", "SANDBOX_DISK_MAX must be"),
        ] {
            let e = args(&[flag, value])
                .size_maxima(512 << 20, 500_000_000, Some(10 << 30), &machine)
                .unwrap_err()
                .0;
            assert!(e.starts_with(says), "{flag} {value}: {e}");
            assert_eq!(e.lines().count(), 1);
        }
    }

    #[test]
    fn recording_limits() {
        assert_eq!(parse_recording_limit("8m").unwrap(), 8 << 20);
        assert_eq!(parse_recording_limit(" 128K ").unwrap(), 128 << 10);
        assert_eq!(parse_recording_limit("0").unwrap(), 0);
        for wrong in ["", "lots", "64k", "1g", "-1m"] {
            let e = parse_recording_limit(wrong).unwrap_err().0;
            assert!(
                e.starts_with("SESSION_RECORDING_LIMIT must be a size"),
                "{e}"
            );
        }
    }

    #[test]
    fn disk_limits() {
        assert_eq!(parse_disk_limit("10g").unwrap(), Some(10 << 30));
        assert_eq!(parse_disk_limit(" 50M ").unwrap(), Some(50 << 20));
        assert_eq!(parse_disk_limit("0").unwrap(), None);
        assert_eq!(parse_disk_limit("None").unwrap(), None);
        for wrong in ["", "lots", "512k", "-1g"] {
            let e = parse_disk_limit(wrong).unwrap_err().0;
            assert!(e.starts_with("SANDBOX_DISK_LIMIT must be a size"), "{e}");
            assert_eq!(e.lines().count(), 1);
        }
    }
}
