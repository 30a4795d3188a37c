//! `craftastic serve`: start-up, the background tasks, and a shutdown with deadlines.

use super::*;

/// A random id of this installation, kept in the data dir: the label that tells this
/// server's containers from those of other servers sharing the engine.
fn instance_id(data_dir: &std::path::Path) -> anyhow::Result<String> {
    let path = data_dir.join("instance-id");
    if let Ok(id) = std::fs::read_to_string(&path) {
        let id = id.trim().to_owned();
        if !id.is_empty() {
            return Ok(id);
        }
    }
    let mut bytes = [0u8; 8];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
    let id = hex::encode(bytes);
    std::fs::write(&path, &id).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(id)
}

pub(crate) async fn serve(storage: Storage, args: ServeArgs) -> anyhow::Result<()> {
    use craftastic_runtime::Runtime;
    let started = std::time::Instant::now();
    let config = args.resolve()?;
    let sandbox = args.sandbox.resolve()?;
    let github = args.github.resolve()?;
    let limits = args.limits.resolve()?;
    let coolify = args
        .coolify
        .resolve(std::env::var_os("COOLIFY_API_TOKEN"))?;
    let secrets_dir = storage.data_dir.join("secrets");
    let (jwt_secret, jwt_origin) =
        secrets::load_or_generate("JWT_SECRET", &secrets_dir, "jwt-secret")?;
    config::check_jwt_secret(&jwt_secret)?;
    let (key, key_origin) =
        secrets::load_or_generate("SERVER_ENCRYPTION_KEY", &secrets_dir, "encryption-key")?;
    let key = config::parse_encryption_key(&key)?;
    secrets::log_origin("JWT_SECRET", &jwt_origin);
    secrets::log_origin("SERVER_ENCRYPTION_KEY", &key_origin);

    // Every open terminal holds two descriptors (its socket and its engine connection): allow
    // as many as the system lets this process have.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open-files limit"),
        Err(e) => tracing::warn!(error = %e, "could not raise the open-files limit"),
    }
    let store = open_store(&storage).await?;
    for v in store
        .migrate_up()
        .await
        .context("cannot migrate the database")?
    {
        tracing::info!(version = v, "applied migration");
    }
    let cipher = Cipher::new(&key);
    cipher
        .check_store(store.as_ref())
        .await
        .map_err(ConfigError)?;
    tracing::info!(key_id = cipher.key_id(), "encryption key checked");

    let store: Arc<dyn Store> = store;
    let backend = store.backend();
    let runtime = connect_runtime().await?;
    match tokio::time::timeout(ENGINE_CALL_DEADLINE, runtime.image_exists(&sandbox.image)).await {
        Ok(Ok(true)) => {}
        Ok(Ok(false)) => {
            tracing::warn!(image = %sandbox.image, "the sandbox image is missing: environments will fail until it is built with `craftastic image build`")
        }
        Ok(Err(e)) => {
            tracing::warn!(image = %sandbox.image, error = %e, "could not check the sandbox image")
        }
        Err(_) => {
            tracing::warn!(image = %sandbox.image, "could not check the sandbox image: the container engine did not answer in time")
        }
    }
    let runtime: Arc<dyn Runtime> = Arc::new(runtime);
    let mut sandbox_settings = craftastic_service::sandbox::SandboxSettings {
        image: sandbox.image,
        user: "dev".into(),
        uid: sandbox_uid(sandbox.uid),
        gid: sandbox_uid(sandbox.uid),
        limits: craftastic_runtime::Limits {
            memory_bytes: sandbox.memory_bytes,
            nano_cpus: sandbox.nano_cpus,
            pids: sandbox.pids,
            disk_bytes: None,
        },
        disk_limit: sandbox.disk_limit,
        size_maxima: sandbox.size_maxima,
        instance: instance_id(&storage.data_dir)?,
        data_dir: storage.data_dir.clone(),
        repo_policy: sandbox.policy,
        clone_timeout: sandbox.clone_timeout,
        network_pool: sandbox.network_pool,
        egress_proxy_port: sandbox.egress_proxy_port,
        watch: craftastic_service::sessions::WatchSettings {
            period: sandbox.watch_interval,
            ..Default::default()
        },
        recording: craftastic_service::sessions::RecordingSettings {
            limit: sandbox.recording_limit,
        },
    };
    let egress_proxy_port = sandbox.egress_proxy_port;
    sandbox_settings.limits.disk_bytes = disk_cap_mechanism(
        runtime.as_ref(),
        &sandbox_settings,
        sandbox.disk_check_interval,
    )
    .await;
    match &github.client_id {
        Some(_) => {
            tracing::info!(web = %github.web_url, api = %github.api_url, "linking GitHub accounts is on")
        }
        None => tracing::info!("GITHUB_CLIENT_ID is not set: linking GitHub accounts is off"),
    }
    match &coolify {
        Some(c) => tracing::info!(url = %c.api_url, "deployments to Coolify are on"),
        None => tracing::info!("COOLIFY_API_URL is not set: deployments are off"),
    }
    let services = Services::new(
        store,
        runtime,
        cipher,
        AuthSettings {
            keys: TokenKeys::new(jwt_secret.as_bytes()),
            access_ttl: config.access_ttl,
            refresh_ttl: config.refresh_ttl,
            allow_registration: config.allow_registration,
            password_hashers: limits.password_hashers,
            login_rate: limits.login_rate,
            register_rate: limits.register_rate,
        },
        sandbox_settings,
        github,
        coolify,
        limits.quotas,
        craftastic_service::notifications::NotifySettings {
            allow_local_webhooks: config.notify_local_webhooks,
        },
    );
    let resumed = services
        .deployments
        .resume()
        .await
        .context("resuming the deployments under way")?;
    if resumed > 0 {
        tracing::info!(count = resumed, "following the deployments under way again");
    }
    let _watching_disk = services
        .disk
        .clone()
        .spawn_periodic(sandbox.disk_check_interval);
    let _stopping_idle = services.idle.clone().spawn_periodic();
    let _recording_activity = services
        .sessions
        .spawn_activity_flusher(Duration::from_secs(5));
    let terminal = services.terminal.clone();
    let sessions = services.sessions.clone();
    let reconciler = services.reconciler.clone();
    let state = AppState {
        services: Arc::new(services),
        metrics: Arc::new(Metrics::new(backend)),
    };
    let app = craftastic_http::app(
        state,
        &HttpSettings {
            cors_origin: config.cors_origin,
            trusted_proxies: limits.trusted_proxies,
        },
    );
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|e| ConfigError(format!("cannot listen on {} (HOST/PORT): {e}", config.addr)))?;
    let addr = listener.local_addr()?;
    let reachable_port = (!addr.ip().is_loopback()).then_some(addr.port());
    // iptables may wait for its lock: the server answers meanwhile.
    tokio::task::spawn_blocking(move || {
        match craftastic_service::firewall::protect(reachable_port, egress_proxy_port) {
            craftastic_service::firewall::Outcome::Applied => tracing::info!(
                "firewall rules keep workspaces from the metadata address and this server's port"
            ),
            craftastic_service::firewall::Outcome::Skipped(why) => tracing::warn!(
                reason = %why,
                "no firewall rules: open workspaces can reach the metadata address (169.254.169.254) and, when HOST is not loopback, this server's port"
            ),
        }
    });
    // Reconciliation talks to containers, which may not answer: it runs in the background,
    // and the server answers meanwhile (requests that must not race it wait for it).
    let _reconciling = reconciler.spawn(Duration::from_secs(60));
    let shown = if addr.ip().is_unspecified() {
        format!("http://localhost:{}", addr.port())
    } else {
        format!("http://{addr}")
    };
    tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "ready");
    let signal = shutdown_signal()?;
    let signalled = Arc::new(std::sync::OnceLock::new());
    let shutdown = {
        let (signalled, terminal) = (signalled.clone(), terminal.clone());
        async move {
            signal.await;
            signalled.get_or_init(tokio::time::Instant::now);
            // Viewers get their close frame now, not once the last request has finished.
            terminal.begin_closing();
        }
    };
    println!("Craftastic is running at {shown}");
    craftastic_http::serve(listener, app, shutdown, SHUTDOWN_GRACE).await?;
    let signalled = signalled
        .get()
        .copied()
        .unwrap_or_else(tokio::time::Instant::now);
    let deadline = signalled + SHUTDOWN_DEADLINE;
    let finishing = async {
        terminal
            .close_all(deadline.saturating_duration_since(tokio::time::Instant::now()))
            .await;
        sessions.flush_activity().await;
    };
    if tokio::time::timeout_at(deadline, finishing).await.is_err() {
        tracing::warn!("the terminals' clean-up or the last activity did not finish in time");
    }
    tracing::info!(
        elapsed_ms = signalled.elapsed().as_millis() as u64,
        "stopped"
    );
    Ok(())
}

/// How long one call to the container engine at start may take.
pub(crate) const ENGINE_CALL_DEADLINE: Duration = Duration::from_secs(10);
/// After SIGTERM or SIGINT, how long requests in flight may take to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(8);
/// After the signal, when the rest (terminals hung up, the last activity written) is given
/// up on: the process has exited about half a second later, whatever still runs.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(9);
/// How long the async runtime waits for blocking work at exit.
pub(crate) const RUNTIME_SHUTDOWN: Duration = Duration::from_millis(500);

/// Says in the log how workspaces' disk is capped, and returns the cap the engine enforces on
/// writable layers itself, when it can.
async fn disk_cap_mechanism(
    runtime: &dyn craftastic_runtime::Runtime,
    sandbox: &craftastic_service::sandbox::SandboxSettings,
    interval: std::time::Duration,
) -> Option<i64> {
    use craftastic_service::disk;
    let every = interval.as_secs();
    let Some(limit) = sandbox.disk_limit else {
        tracing::info!(
            every_secs = every,
            "SANDBOX_DISK_LIMIT is none: workspaces' disk use is measured and shown, never capped"
        );
        return None;
    };
    let cap = craftastic_domain::human_bytes(limit);
    match disk::engine_quota(runtime, sandbox).await {
        Ok(driver) => {
            tracing::info!(%cap, %driver, every_secs = every, "disk cap: the engine caps each container's writable layer (storage-opt size); the disk watch measures worktrees and repositories too and stops workspaces over the cap");
            Some(limit)
        }
        Err(why) => {
            tracing::info!(%cap, engine = %why, every_secs = every, "disk cap: the engine cannot cap writable layers here, so the disk watch alone measures each workspace (worktree, container, repository) and stops those over the cap");
            None
        }
    }
}

/// Installs the SIGTERM and SIGINT handlers now, so that a signal that arrives as soon as the
/// URL is printed stops the server cleanly, and returns the future that completes on either.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("installing a SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing a SIGINT handler")?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        tracing::info!("shutting down");
    })
}
