//! Test support: a fresh database per test on either backend, and the real server booted on
//! port 0 against it. PostgreSQL comes from `TEST_DATABASE_URL` (the README's test command
//! starts a throwaway server); without it the PostgreSQL tests fail, they never skip.

pub mod activity;
pub mod fake_coolify;
pub mod fake_github;
pub mod faults;
pub mod git_server;
mod host;

use std::future::IntoFuture;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use craftastic_domain::RepoPolicy;
use craftastic_http::{AppState, HttpSettings, Metrics};
use craftastic_runtime::docker::DockerRuntime;
use craftastic_runtime::{Limits, Runtime};
use craftastic_service::Services;
use craftastic_service::auth::AuthSettings;
use craftastic_service::crypto::Cipher;
use craftastic_service::deployments::CoolifySettings;
use craftastic_service::github::GithubSettings;
use craftastic_service::limits::LimitSettings;
use craftastic_service::networks::Pool;
use craftastic_service::ratelimit::RateLimit;
use craftastic_service::sandbox::{SandboxSettings, VOLUME_PREFIX, labels};
use craftastic_service::sessions::{RecordingSettings, WatchSettings};
use craftastic_service::tokens::TokenKeys;
use craftastic_store::{Migrations, Store};
use craftastic_store_sql::SqlStore;
use serde_json::{Value, json};
use sqlx::Connection;

use crate::faults::{Faults, FaultyRuntime};
pub use crate::host::{docker_cli, fixture_repo, sample_host_command_lines};

pub const JWT_SECRET: &[u8] = b"test jwt secret that is long enough";
pub const ENCRYPTION_KEY: [u8; 32] = [42; 32];

/// Both traits of a store, so that tests can migrate and use one handle.
pub trait AnyStore: Store + Migrations {}
impl<T: Store + Migrations> AnyStore for T {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, empty database (not migrated); removed when dropped.
pub struct TestDb {
    pub store: Arc<dyn AnyStore>,
    pub url: String,
    _guard: Guard,
}

enum Guard {
    Dir(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

/// The admin URL of the test PostgreSQL server.
pub fn postgres_admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "TEST_DATABASE_URL is not set, and this test needs PostgreSQL. Run the README's test \
             command (./scripts/test), which starts a throwaway server, or point TEST_DATABASE_URL \
             at a server where this user may create databases."
        )
    })
}

impl TestDb {
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path = dir.path().join("test.db");
                let store = SqlStore::open_sqlite_file(&path)
                    .await
                    .expect("open SQLite");
                Self {
                    store: Arc::new(store),
                    url: format!("sqlite://{}", path.display()),
                    _guard: Guard::Dir(dir),
                }
            }
            Backend::Postgres => {
                let admin_url = postgres_admin_url();
                let name = format!("craftastic_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
                    panic!("cannot connect to TEST_DATABASE_URL ({e}); is the PostgreSQL server running?")
                });
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await
                    .expect("create database");
                let url = with_database(&admin_url, &name);
                let store = SqlStore::connect_postgres(&url)
                    .await
                    .expect("connect to test database");
                Self {
                    store: Arc::new(store),
                    url,
                    _guard: Guard::Postgres { admin_url, name },
                }
            }
        }
    }

    /// A fresh database with every migration applied.
    pub async fn migrated(backend: Backend) -> Self {
        let db = Self::new(backend).await;
        db.store.migrate_up().await.expect("migrate up");
        db
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Guard::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside the test's runtime; a thread with its own runtime may block.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                rt.block_on(async {
                    let mut admin = sqlx::PgConnection::connect(&admin_url).await.ok()?;
                    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut admin)
                        .await
                        .ok()
                })
            })
            .join();
        }
    }
}

/// `url` with its database name replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_and_path = &base[scheme_end..];
    let host = host_and_path.split('/').next().unwrap_or_default();
    let mut out = format!("{}{host}/{name}", &base[..scheme_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

pub struct ServerOptions {
    pub allow_registration: bool,
    pub access_ttl: Duration,
    /// Host folders whose repositories may be cloned by path.
    pub local_roots: Vec<PathBuf>,
    /// Where GitHub is: github.com without a client id by default (linking answers 503);
    /// `FakeGithub::settings()` points the server at a fake.
    pub github: GithubSettings,
    /// Where Coolify is: not configured by default (deployments answer 503);
    /// `FakeCoolify::settings()` points the server at a fake.
    pub coolify: Option<CoolifySettings>,
    /// The image of workspace containers: [`sandbox_image`] unless a test brings its own.
    pub sandbox_image: String,
    /// The egress proxy's port on restricted networks.
    pub egress_proxy_port: u16,
    /// Faults to inject into the server's calls to the engine; none by default. Rules can
    /// be added later through [`TestServer::faults`] too.
    pub faults: Faults,
    /// Run the start-up work in the background as `craftastic serve` does (what a previous
    /// run left half done, then reconciliation); off by default, so that tests that call the
    /// reconciler themselves see what it does.
    pub reconcile_at_start: bool,
    /// The default per-user limits: as high as they go, so that a test is limited only
    /// where it is about limits (those tests set them).
    pub limits: LimitSettings,
    /// Password hashes at once: the server's default.
    pub password_hashers: usize,
    /// Sign-ins and registrations per client address: off, since every test client comes
    /// from 127.0.0.1; the tests of these limits turn them on.
    pub login_rate: RateLimit,
    pub register_rate: RateLimit,
    /// Proxies whose `X-Forwarded-For` is believed: none.
    pub trusted_proxies: craftastic_http::client_addr::TrustedProxies,
    /// Each workspace's disk cap (`SANDBOX_DISK_LIMIT`): 10 GiB, as by default.
    pub disk_limit: Option<i64>,
    /// The most an environment may ask for its workspaces: 2 GiB of memory, 2 CPUs and
    /// 40 GiB of disk.
    pub size_maxima: craftastic_domain::WorkspaceSize,
    /// How often the disk watch measures workspaces; `None` (the default) leaves it off, for
    /// a test to call `services.disk.run()` itself.
    pub disk_check_interval: Option<Duration>,
    /// The session watchers: every second, running their real script, unless a test plays
    /// a hostile container.
    pub watch: WatchSettings,
    /// Bytes of recording kept per session: the server's default.
    pub recording: RecordingSettings,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            allow_registration: true,
            access_ttl: Duration::from_secs(900),
            local_roots: Vec::new(),
            github: GithubSettings::default(),
            coolify: None,
            sandbox_image: sandbox_image().into(),
            egress_proxy_port: 3128,
            faults: Faults::new(),
            reconcile_at_start: false,
            limits: LimitSettings::DEFAULT.map(|_, _| craftastic_domain::LimitValue::MAX),
            password_hashers: AuthSettings::default_password_hashers(),
            login_rate: RateLimit::OFF,
            register_rate: RateLimit::OFF,
            trusted_proxies: Default::default(),
            disk_limit: Some(10 << 30),
            size_maxima: craftastic_domain::WorkspaceSize {
                memory_bytes: 2 << 30,
                nano_cpus: 2_000_000_000,
                disk_bytes: Some(40 << 30),
            },
            disk_check_interval: None,
            watch: WatchSettings {
                period: Duration::from_secs(1),
                ..WatchSettings::default()
            },
            recording: RecordingSettings::default(),
        }
    }
}

/// The sandbox image the tests run by default (built by the README's test command).
pub const SANDBOX_IMAGE: &str = "craftastic/sandbox:latest";

/// The sandbox image the tests run: the one `TEST_SANDBOX_IMAGE` names, else
/// [`SANDBOX_IMAGE`].
pub fn sandbox_image() -> &'static str {
    static IMAGE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    IMAGE.get_or_init(|| {
        std::env::var("TEST_SANDBOX_IMAGE")
            .ok()
            .filter(|image| !image.is_empty())
            .unwrap_or_else(|| SANDBOX_IMAGE.to_owned())
    })
}

/// The tag of an image that tests build FROM [`sandbox_image`]: `craftastic/NAME:test`, or,
/// when `TEST_SANDBOX_IMAGE` names another sandbox, a tag that names it too, so that test
/// runs against two sandbox images never build over each other's.
pub fn derived_image(name: &str) -> String {
    let base = sandbox_image();
    if base == SANDBOX_IMAGE {
        return format!("craftastic/{name}:test");
    }
    let suffix: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .take(100)
        .collect();
    format!("craftastic/{name}:test-{suffix}")
}

/// The range test servers take workspace networks from: apart from the default pool, so
/// that tests never take the ranges of a Craftastic server running on the same engine.
pub const TEST_NETWORK_POOL: &str = "10.214.0.0/16";

/// The real container engine; the tests that need it fail when it does not answer.
pub async fn docker() -> DockerRuntime {
    DockerRuntime::connect().await.unwrap_or_else(|e| {
        panic!(
            "this test needs a Docker engine and none answers ({e}). Run the README's test command \
             (./scripts/test), which starts dockerd and builds the sandbox image, or set DOCKER_HOST."
        )
    })
}

/// The real HTTP server on 127.0.0.1:0 over a fresh, migrated database.
pub struct TestServer {
    pub base: String,
    pub http: reqwest::Client,
    pub db: TestDb,
    pub services: Services,
    pub data_dir: tempfile::TempDir,
    /// The label value that marks this server's containers.
    pub instance: String,
    /// The faults injected into the server's calls to the engine.
    pub faults: Faults,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    reconciling: Option<tokio::task::JoinHandle<()>>,
    /// The disk watch, when [`ServerOptions::disk_check_interval`] started it.
    disk_watch: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, ServerOptions::default()).await
    }

    pub async fn start_with(backend: Backend, options: ServerOptions) -> Self {
        let db = TestDb::migrated(backend).await;
        let store: Arc<dyn Store> = db.store.clone();
        let cipher = Cipher::new(&ENCRYPTION_KEY);
        cipher
            .check_store(store.as_ref())
            .await
            .expect("encryption key check");
        let data_dir = tempfile::tempdir().expect("temp data dir");
        let instance = format!("test-{}", uuid::Uuid::new_v4().simple());
        let runtime: Arc<dyn Runtime> = Arc::new(FaultyRuntime::new(
            Arc::new(docker().await),
            options.faults.clone(),
        ));
        let sandbox = SandboxSettings {
            image: options.sandbox_image,
            user: "dev".into(),
            uid: 1000,
            gid: 1000,
            limits: Limits {
                memory_bytes: 512 << 20,
                nano_cpus: 500_000_000,
                pids: 512,
                disk_bytes: None,
            },
            disk_limit: options.disk_limit,
            size_maxima: options.size_maxima,
            data_dir: data_dir.path().to_owned(),
            instance: instance.clone(),
            repo_policy: RepoPolicy {
                schemes: ["https", "ssh", "http"].map(String::from).into(),
                local_roots: options.local_roots,
            },
            clone_timeout: Duration::from_secs(60),
            network_pool: Pool::parse(TEST_NETWORK_POOL).expect("the test network pool"),
            egress_proxy_port: options.egress_proxy_port,
            watch: options.watch,
            recording: options.recording,
        };
        let services = Services::new(
            store.clone(),
            runtime,
            cipher,
            AuthSettings {
                keys: TokenKeys::new(JWT_SECRET),
                access_ttl: options.access_ttl,
                refresh_ttl: Duration::from_secs(86_400),
                allow_registration: options.allow_registration,
                password_hashers: options.password_hashers,
                login_rate: options.login_rate,
                register_rate: options.register_rate,
            },
            sandbox,
            options.github,
            options.coolify,
            options.limits,
            // The tests' webhook servers listen on loopback.
            craftastic_service::notifications::NotifySettings {
                allow_local_webhooks: true,
            },
        );
        let disk_watch = options
            .disk_check_interval
            .map(|every| services.disk.clone().spawn_periodic(every));
        let state = AppState {
            services: Arc::new(services.clone()),
            metrics: Arc::new(Metrics::new(store.backend())),
        };
        let app = craftastic_http::app(
            state,
            &HttpSettings {
                trusted_proxies: options.trusted_proxies,
                ..HttpSettings::default()
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let reconciling = options
            .reconcile_at_start
            .then(|| services.reconciler.clone().spawn(Duration::from_secs(3600)));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(
            craftastic_http::serve(
                listener,
                app,
                async {
                    let _ = rx.await;
                },
                Duration::from_secs(5),
            )
            .into_future(),
        );
        Self {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            db,
            services,
            data_dir,
            instance,
            faults: options.faults,
            shutdown: Some(tx),
            reconciling,
            disk_watch,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request and returns the status and the JSON body (`Null` when empty).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method.parse().expect("method"), self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let text = res.text().await.expect("body");
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, json)
    }

    /// Registers a user and returns the answer body (user, accessToken, refreshToken).
    pub async fn register(&self, email: &str, password: &str) -> Value {
        let (status, body) = self
            .call(
                "POST",
                "/api/auth/register",
                None,
                Some(json!({"email": email, "password": password, "name": "Test User"})),
            )
            .await;
        assert_eq!(status, 201, "register {email}: {body}");
        body
    }
}

impl Drop for TestServer {
    /// Stops the server and removes every container and volume it made, so that a failed
    /// test leaves nothing behind in the engine.
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.reconciling.take() {
            task.abort();
        }
        self.faults.clear();
        if let Some(watch) = self.disk_watch.take() {
            watch.abort();
        }
        let instance = self.instance.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let docker = DockerRuntime::connect().await.ok()?;
                for c in docker.list(&[(labels::INSTANCE, &instance)]).await.ok()? {
                    let _ = docker.remove(&c.id).await;
                    if let Some(ws) = c.labels.get(labels::WORKSPACE) {
                        let _ = docker.remove_volume(&format!("{VOLUME_PREFIX}{ws}")).await;
                    }
                }
                for n in docker
                    .list_networks(&[(labels::INSTANCE, &instance)])
                    .await
                    .ok()?
                {
                    let _ = docker.remove_network(&n.name).await;
                }
                Some(())
            })
        })
        .join();
    }
}

/// Runs each named story (an `async fn(Backend)`) as one test per backend.
#[macro_export]
macro_rules! on_both_backends {
    ($($story:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $story() {
                    super::$story($crate::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $story() {
                    super::$story($crate::Backend::Postgres).await
                }
            )*
        }
    };
}

impl TestServer {
    /// Creates an environment of `repository_url` and waits (at most 90 s) until it is made
    /// or has failed; returns it, `running` or `error`.
    pub async fn made_environment(&self, token: &str, name: &str, repository_url: &str) -> Value {
        let (status, env) = self
            .call(
                "POST",
                "/api/environments",
                Some(token),
                Some(json!({"name": name, "repositoryUrl": repository_url})),
            )
            .await;
        assert_eq!(status, 201, "{env}");
        let id = env["id"].as_str().expect("environment id").to_owned();
        self.wait_for_environment(token, &id, &["running", "error"], Duration::from_secs(90))
            .await
    }

    /// The container of the workspace of `branch` in an environment.
    pub async fn container_of(&self, token: &str, env_id: &str, branch: &str) -> String {
        let (_, env) = self
            .call(
                "GET",
                &format!("/api/environments/{env_id}"),
                Some(token),
                None,
            )
            .await;
        env["workspaces"]
            .as_array()
            .expect("workspaces")
            .iter()
            .find(|w| w["branch"] == branch)
            .and_then(|w| w["containerId"].as_str())
            .unwrap_or_else(|| panic!("no container for {branch}: {env}"))
            .to_owned()
    }

    /// Polls an environment until its status is one of `until`; panics after `timeout`.
    pub async fn wait_for_environment(
        &self,
        token: &str,
        id: &str,
        until: &[&str],
        timeout: Duration,
    ) -> Value {
        let started = std::time::Instant::now();
        loop {
            let (status, env) = self
                .call("GET", &format!("/api/environments/{id}"), Some(token), None)
                .await;
            assert_eq!(status, 200, "{env}");
            if until.iter().any(|u| env["status"] == *u) {
                return env;
            }
            assert!(
                started.elapsed() < timeout,
                "environment still {} after {timeout:?}: {env}",
                env["status"]
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}
