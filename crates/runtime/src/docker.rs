//! The [`Runtime`] over the Docker Engine API (bollard). Podman's Docker-compatible socket
//! works too: point `DOCKER_HOST` at it.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;

use async_trait::async_trait;
use bollard::Docker;
use bollard::container::{
    Config, CreateContainerOptions, ListContainersOptions, LogOutput, MemoryStatsStats,
    RemoveContainerOptions, StatsOptions, StopContainerOptions, UpdateContainerOptions,
};
use bollard::errors::Error as BollardError;
use bollard::exec::ResizeExecOptions;
use bollard::image::BuildImageOptions;
use bollard::models::{
    HostConfig, Ipam, IpamConfig, Mount, MountTypeEnum, RestartPolicy, RestartPolicyNameEnum,
};
use bollard::network::{CreateNetworkOptions, ListNetworksOptions};
use bollard::volume::RemoveVolumeOptions;
use bytes::Bytes;
use futures::StreamExt;

use crate::*;

mod exec;

#[derive(Clone)]
pub struct DockerRuntime {
    docker: Docker,
}

impl DockerRuntime {
    /// Connects to `DOCKER_HOST` (`unix://…` or `tcp://…`), or the local socket when unset,
    /// and agrees on an API version with the engine.
    pub async fn connect() -> RuntimeResult<Self> {
        let docker = Docker::connect_with_defaults()
            .map_err(|e| RuntimeError::Unavailable(e.to_string()))?;
        let docker = docker.negotiate_version().await.map_err(unavailable)?;
        Ok(Self { docker })
    }
}

fn unavailable(e: BollardError) -> RuntimeError {
    RuntimeError::Unavailable(e.to_string())
}

/// Maps an engine error; 404 becomes [`RuntimeError::NotFound`].
fn engine(e: BollardError) -> RuntimeError {
    match e {
        BollardError::DockerResponseServerError {
            status_code: 404, ..
        } => RuntimeError::NotFound,
        BollardError::DockerResponseServerError { message, .. } => RuntimeError::Engine(message),
        BollardError::IOError { .. }
        | BollardError::HyperResponseError { .. }
        | BollardError::RequestTimeoutError => unavailable(e),
        other => RuntimeError::Engine(other.to_string()),
    }
}

/// Ignores "not found" (and, for start/stop, "already in that state": 304).
fn tolerate_missing(r: Result<(), BollardError>) -> RuntimeResult<()> {
    match r {
        Ok(()) => Ok(()),
        Err(BollardError::DockerResponseServerError {
            status_code: 304 | 404,
            ..
        }) => Ok(()),
        Err(e) => Err(engine(e)),
    }
}

/// The Docker form of a spec, with the hardening every container gets.
fn docker_config(spec: &ContainerSpec) -> Config<String> {
    let mut mounts: Vec<Mount> = spec
        .binds
        .iter()
        .map(|b| Mount {
            target: Some(b.target.clone()),
            source: Some(b.source.display().to_string()),
            typ: Some(MountTypeEnum::BIND),
            read_only: Some(b.read_only),
            ..Default::default()
        })
        .collect();
    mounts.extend(spec.volumes.iter().map(|v| Mount {
        target: Some(v.target.clone()),
        source: Some(v.name.clone()),
        typ: Some(MountTypeEnum::VOLUME),
        read_only: Some(false),
        ..Default::default()
    }));
    Config {
        image: Some(spec.image.clone()),
        user: Some(spec.user.clone()),
        hostname: spec.hostname.clone(),
        labels: Some(spec.labels.clone().into_iter().collect()),
        env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        working_dir: Some(spec.working_dir.clone()),
        cmd: Some(vec!["sleep".into(), "infinity".into()]),
        host_config: Some(HostConfig {
            // An init as PID 1 reaps the zombies that shells and agents leave behind.
            init: Some(true),
            // The workload runs as a non-root user, which holds no effective capability, and
            // no-new-privileges stops it from gaining any through set-uid binaries: so the
            // bounding set can be empty.
            cap_drop: Some(vec!["ALL".into()]),
            security_opt: Some(vec!["no-new-privileges:true".into()]),
            memory: Some(spec.limits.memory_bytes),
            memory_swap: Some(spec.limits.memory_bytes),
            nano_cpus: Some(spec.limits.nano_cpus),
            pids_limit: Some(spec.limits.pids),
            storage_opt: spec
                .limits
                .disk_bytes
                .map(|b| HashMap::from([("size".to_owned(), b.to_string())])),
            mounts: Some(mounts),
            network_mode: spec.network.clone(),
            restart_policy: Some(RestartPolicy {
                name: Some(RestartPolicyNameEnum::NO),
                maximum_retry_count: None,
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The networks of a container, with its IPv4 address on each (none while stopped).
fn networks(
    networks: Option<&HashMap<String, bollard::models::EndpointSettings>>,
) -> BTreeMap<String, Option<Ipv4Addr>> {
    networks
        .into_iter()
        .flatten()
        .map(|(name, e)| {
            let ip = e.ip_address.as_deref().and_then(|ip| ip.parse().ok());
            (name.clone(), ip)
        })
        .collect()
}

/// What the engine reports of a network; the gateway read from IPAM only (the engine's own
/// default bridge may list no gateway there, see [`crate::host_address`]).
fn network_info(n: bollard::models::Network) -> NetworkInfo {
    let v4 = n
        .ipam
        .and_then(|i| i.config)
        .into_iter()
        .flatten()
        .find(|c| c.subnet.as_deref().is_some_and(|s| !s.contains(':')));
    let subnet = v4.as_ref().and_then(|c| {
        let (ip, len) = c.subnet.as_deref()?.split_once('/')?;
        Some((ip.parse().ok()?, len.parse().ok()?))
    });
    NetworkInfo {
        id: n.id.unwrap_or_default(),
        name: n.name.unwrap_or_default(),
        subnet,
        gateway: v4.and_then(|c| c.gateway?.parse().ok()),
        internal: n.internal.unwrap_or(false),
        labels: n.labels.unwrap_or_default().into_iter().collect(),
    }
}

fn is_root(user: &str) -> bool {
    let name = user.split(':').next().unwrap_or_default();
    name.is_empty() || name == "root" || name == "0"
}

#[async_trait]
impl Runtime for DockerRuntime {
    async fn ping(&self) -> RuntimeResult<()> {
        self.docker.ping().await.map(drop).map_err(unavailable)
    }

    async fn image_exists(&self, image: &str) -> RuntimeResult<bool> {
        match self.docker.inspect_image(image).await {
            Ok(_) => Ok(true),
            Err(e) => match engine(e) {
                RuntimeError::NotFound => Ok(false),
                other => Err(other),
            },
        }
    }

    async fn create(&self, spec: &ContainerSpec) -> RuntimeResult<String> {
        if is_root(&spec.user) {
            return Err(RuntimeError::Engine(
                "refusing to run a container as root".into(),
            ));
        }
        let options = CreateContainerOptions {
            name: spec.name.clone(),
            platform: None,
        };
        match self
            .docker
            .create_container(Some(options), docker_config(spec))
            .await
        {
            Ok(created) => Ok(created.id),
            Err(e) => match engine(e) {
                RuntimeError::NotFound => Err(RuntimeError::ImageMissing(spec.image.clone())),
                other => Err(other),
            },
        }
    }

    async fn start(&self, id: &str) -> RuntimeResult<()> {
        match self.docker.start_container::<String>(id, None).await {
            Err(BollardError::DockerResponseServerError {
                status_code: 404, ..
            }) => Err(RuntimeError::NotFound),
            other => tolerate_missing(other),
        }
    }

    async fn stop(&self, id: &str) -> RuntimeResult<()> {
        tolerate_missing(
            self.docker
                .stop_container(id, Some(StopContainerOptions { t: 3 }))
                .await,
        )
    }

    async fn remove(&self, id: &str) -> RuntimeResult<()> {
        let options = RemoveContainerOptions {
            force: true,
            v: false,
            link: false,
        };
        match tolerate_missing(self.docker.remove_container(id, Some(options)).await) {
            // A busy engine can give up waiting for the container's exit ("did not receive an
            // exit event"); the kill usually lands a moment later, so ask once more.
            Err(RuntimeError::Engine(message)) => {
                tracing::warn!(container = id, error = %message, "removing the container failed; trying once more");
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                tolerate_missing(self.docker.remove_container(id, Some(options)).await)
            }
            other => other,
        }
    }

    async fn remove_volume(&self, name: &str) -> RuntimeResult<()> {
        tolerate_missing(
            self.docker
                .remove_volume(name, Some(RemoveVolumeOptions { force: true }))
                .await,
        )
    }

    async fn inspect(&self, id: &str) -> RuntimeResult<Option<ContainerInfo>> {
        match self.docker.inspect_container(id, None).await {
            Ok(c) => Ok(Some(ContainerInfo {
                networks: networks(
                    c.network_settings
                        .as_ref()
                        .and_then(|n| n.networks.as_ref()),
                ),
                id: c.id.unwrap_or_default(),
                name: c
                    .name
                    .unwrap_or_default()
                    .trim_start_matches('/')
                    .to_owned(),
                running: c.state.and_then(|s| s.running).unwrap_or(false),
                labels: c
                    .config
                    .and_then(|c| c.labels)
                    .unwrap_or_default()
                    .into_iter()
                    .collect(),
            })),
            Err(e) => match engine(e) {
                RuntimeError::NotFound => Ok(None),
                other => Err(other),
            },
        }
    }

    async fn list(&self, labels: &[(&str, &str)]) -> RuntimeResult<Vec<ContainerInfo>> {
        let filters = HashMap::from([(
            "label".to_owned(),
            labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>(),
        )]);
        let options = ListContainersOptions {
            all: true,
            filters,
            ..Default::default()
        };
        let found = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(engine)?;
        Ok(found
            .into_iter()
            .map(|c| ContainerInfo {
                networks: networks(
                    c.network_settings
                        .as_ref()
                        .and_then(|n| n.networks.as_ref()),
                ),
                id: c.id.unwrap_or_default(),
                name: c
                    .names
                    .and_then(|n| n.into_iter().next())
                    .unwrap_or_default()
                    .trim_start_matches('/')
                    .to_owned(),
                running: c.state.as_deref() == Some("running"),
                labels: c.labels.unwrap_or_default().into_iter().collect(),
            })
            .collect())
    }

    async fn exec(&self, id: &str, spec: ExecSpec) -> RuntimeResult<ExecOutput> {
        let deadline = spec.deadline.unwrap_or(DEFAULT_EXEC_DEADLINE);
        let user = spec.user.clone();
        let marker = uuid::Uuid::new_v4().simple().to_string();
        match tokio::time::timeout(deadline, self.exec_bounded(id, spec, &marker)).await {
            Ok(result) => result,
            Err(_) => {
                tracing::warn!(
                    container = id,
                    deadline_s = deadline.as_secs(),
                    "an exec ran past its deadline; ending its processes"
                );
                let this = self.clone();
                let id = id.to_owned();
                // Ending the processes is itself bounded and never delays the answer.
                tokio::spawn(async move { this.end_marked(&id, user, &marker).await });
                Err(RuntimeError::Deadline(deadline))
            }
        }
    }

    async fn exec_tty(
        &self,
        id: &str,
        spec: ExecSpec,
        cols: u16,
        rows: u16,
    ) -> RuntimeResult<TtyExec> {
        let (exec_id, output, input) = self.attach(id, spec, true, true, true).await?;
        self.resize_tty(&exec_id, cols, rows).await?;
        let output = output
            .map(|chunk| match chunk {
                Ok(out) => Ok(out.into_bytes()),
                Err(e) => Err(engine(e)),
            })
            .boxed();
        Ok(TtyExec {
            exec_id,
            output,
            input,
        })
    }

    async fn exec_stream(&self, id: &str, spec: ExecSpec) -> RuntimeResult<StreamExec> {
        let deadline = spec.deadline.unwrap_or(DEFAULT_EXEC_DEADLINE);
        // What it writes to standard error is not even read: a flood there costs the
        // engine, not the server.
        let starting = self.attach(id, spec, true, false, false);
        let (exec_id, output, input) = tokio::time::timeout(deadline, starting)
            .await
            .map_err(|_| RuntimeError::Deadline(deadline))??;
        let output = output
            .filter_map(|chunk| async move {
                match chunk {
                    Ok(LogOutput::StdOut { message } | LogOutput::Console { message }) => {
                        Some(Ok(message))
                    }
                    Ok(_) => None,
                    Err(e) => Some(Err(engine(e))),
                }
            })
            .boxed();
        Ok(StreamExec {
            exec_id,
            output,
            input,
        })
    }

    async fn resize_tty(&self, exec_id: &str, cols: u16, rows: u16) -> RuntimeResult<()> {
        self.docker
            .resize_exec(
                exec_id,
                ResizeExecOptions {
                    width: cols,
                    height: rows,
                },
            )
            .await
            .map_err(engine)
    }

    async fn exec_exit_code(&self, exec_id: &str) -> RuntimeResult<Option<i64>> {
        let exec = self.docker.inspect_exec(exec_id).await.map_err(engine)?;
        Ok(if exec.running == Some(true) {
            None
        } else {
            exec.exit_code
        })
    }

    async fn ensure_network(&self, spec: &NetworkSpec) -> RuntimeResult<NetworkInfo> {
        if let Some(found) = self.inspect_network(&spec.name).await? {
            return Ok(found);
        }
        let options = CreateNetworkOptions {
            name: spec.name.clone(),
            check_duplicate: true,
            driver: "bridge".to_owned(),
            internal: spec.internal,
            ipam: Ipam {
                driver: Some("default".to_owned()),
                config: Some(vec![IpamConfig {
                    subnet: Some(format!("{}/{}", spec.subnet, spec.prefix_len)),
                    gateway: Some(spec.gateway.to_string()),
                    ..Default::default()
                }]),
                options: None,
            },
            options: HashMap::from([(
                "com.docker.network.bridge.name".to_owned(),
                spec.bridge.clone(),
            )]),
            labels: spec.labels.clone().into_iter().collect(),
            ..Default::default()
        };
        match self.docker.create_network(options).await {
            Ok(_) => {}
            // Made meanwhile by someone else: what is there is what we want.
            Err(BollardError::DockerResponseServerError {
                status_code: 409, ..
            }) => {}
            Err(e) => return Err(engine(e)),
        }
        self.inspect_network(&spec.name)
            .await?
            .ok_or_else(|| RuntimeError::Engine(format!("the network {} vanished", spec.name)))
    }

    async fn list_networks(&self, labels: &[(&str, &str)]) -> RuntimeResult<Vec<NetworkInfo>> {
        let filters = HashMap::from([(
            "label".to_owned(),
            labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>(),
        )]);
        let found = self
            .docker
            .list_networks(Some(ListNetworksOptions { filters }))
            .await
            .map_err(engine)?;
        Ok(found.into_iter().map(network_info).collect())
    }

    async fn inspect_network(&self, name: &str) -> RuntimeResult<Option<NetworkInfo>> {
        match self.docker.inspect_network::<String>(name, None).await {
            Ok(n) => Ok(Some(network_info(n))),
            Err(e) => match engine(e) {
                RuntimeError::NotFound => Ok(None),
                other => Err(other),
            },
        }
    }

    async fn remove_network(&self, name: &str) -> RuntimeResult<()> {
        tolerate_missing(self.docker.remove_network(name).await)
    }

    async fn image_info(&self, image: &str) -> RuntimeResult<Option<ImageInfo>> {
        match self.docker.inspect_image(image).await {
            Ok(i) => Ok(Some(ImageInfo {
                id: i.id.unwrap_or_default(),
                env: i.config.and_then(|c| c.env).unwrap_or_default(),
            })),
            Err(e) => match engine(e) {
                RuntimeError::NotFound => Ok(None),
                other => Err(other),
            },
        }
    }

    async fn build(
        &self,
        spec: BuildSpec,
        progress: &(dyn for<'l> Fn(&'l str) + Send + Sync),
    ) -> RuntimeResult<()> {
        let limits = spec.limits;
        let options = BuildImageOptions {
            t: spec.tag,
            dockerfile: spec.dockerfile,
            buildargs: spec.args.into_iter().collect(),
            labels: spec.labels.into_iter().collect(),
            target: spec.target.unwrap_or_default(),
            networkmode: spec.network.unwrap_or_default(),
            memory: limits.map(|l| l.memory_bytes as u64),
            memswap: limits.map(|l| l.memory_bytes),
            cpuperiod: limits.map(|_| 100_000),
            cpuquota: limits.map(|l| (l.nano_cpus / 10_000) as u64),
            rm: true,
            forcerm: true,
            ..Default::default()
        };
        let mut stream =
            self.docker
                .build_image(options, None, Some(Bytes::from(spec.context_tar)));
        while let Some(info) = stream.next().await {
            let info = info.map_err(engine)?;
            if let Some(error) = info.error {
                return Err(RuntimeError::Engine(error));
            }
            if let Some(line) = info.stream {
                for l in line.lines().filter(|l| !l.trim().is_empty()) {
                    progress(l);
                }
            }
        }
        Ok(())
    }

    async fn build_image(
        &self,
        context_tar: Vec<u8>,
        tag: &str,
        build_args: &[(&str, &str)],
        progress: &(dyn for<'l> Fn(&'l str) + Send + Sync),
    ) -> RuntimeResult<()> {
        let spec = BuildSpec {
            context_tar,
            tag: tag.to_owned(),
            dockerfile: "Dockerfile".to_owned(),
            args: build_args
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..Default::default()
        };
        self.build(spec, progress).await
    }

    async fn writable_layer_bytes(&self, id: &str) -> RuntimeResult<Option<i64>> {
        let options = bollard::container::InspectContainerOptions { size: true };
        let c = self
            .docker
            .inspect_container(id, Some(options))
            .await
            .map_err(engine)?;
        Ok(c.size_rw)
    }

    async fn storage_driver(&self) -> RuntimeResult<StorageDriver> {
        let info = self.docker.info().await.map_err(engine)?;
        let backing_filesystem = info
            .driver_status
            .unwrap_or_default()
            .into_iter()
            .find(|pair| pair.first().map(String::as_str) == Some("Backing Filesystem"))
            .and_then(|pair| pair.get(1).cloned());
        Ok(StorageDriver {
            name: info.driver.unwrap_or_default(),
            backing_filesystem,
        })
    }

    async fn update_limits(
        &self,
        id: &str,
        memory_bytes: i64,
        nano_cpus: i64,
    ) -> RuntimeResult<()> {
        // The swap limit goes with the memory: the engine refuses a memory limit above the
        // swap limit a container already has.
        let options = UpdateContainerOptions::<String> {
            memory: Some(memory_bytes),
            memory_swap: Some(memory_bytes),
            nano_cpus: Some(nano_cpus),
            ..Default::default()
        };
        self.docker
            .update_container(id, options)
            .await
            .map_err(engine)
    }

    async fn memory_usage(&self, id: &str) -> RuntimeResult<Option<MemoryUsage>> {
        let options = StatsOptions {
            stream: false,
            one_shot: true,
        };
        let Some(stats) = self.docker.stats(id, Some(options)).next().await else {
            return Ok(None);
        };
        let memory = stats.map_err(engine)?.memory_stats;
        let (Some(usage), Some(limit)) = (memory.usage, memory.limit) else {
            return Ok(None);
        };
        // As `docker stats` shows it: the inactive page cache does not count.
        let cache = match memory.stats {
            Some(MemoryStatsStats::V1(v1)) => v1.total_inactive_file,
            Some(MemoryStatsStats::V2(v2)) => v2.inactive_file,
            None => 0,
        };
        let bytes = usage.saturating_sub(cache);
        Ok(Some(MemoryUsage {
            bytes: i64::try_from(bytes).unwrap_or(i64::MAX),
            limit_bytes: i64::try_from(limit).unwrap_or(i64::MAX),
        }))
    }
}
