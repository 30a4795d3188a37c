//! `craftastic`: the server and its administration commands.

mod config;
mod secrets;
mod serve;

/// mimalloc rather than the system allocator: rows are built on SQLite's worker threads and
/// freed on the runtime's, and glibc's arenas took a lock for each such free (a third of the
/// environment list's time, in `bench/api`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::IsTerminal;
use std::os::unix::fs::DirBuilderExt;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use craftastic_domain::{Email, Password, UserName};
use craftastic_http::{AppState, HttpSettings, Metrics};
use craftastic_service::Services;
use craftastic_service::auth::AuthSettings;
use craftastic_service::crypto::Cipher;
use craftastic_service::tokens::TokenKeys;
use craftastic_store::{AdminGrant, Migrations, Store};
use craftastic_store_sql::SqlStore;
use tracing_subscriber::EnvFilter;

use crate::config::{ConfigError, Database, ServeArgs, Storage, StorageArgs};

#[derive(Parser)]
#[command(
    name = "craftastic",
    version,
    about = "Per-branch development containers with persistent terminals"
)]
struct Cli {
    #[command(flatten)]
    storage: StorageArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: API, terminal WebSockets and web UI.
    Serve(ServeArgs),
    /// Inspect or change the database schema.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Manage the sandbox image.
    Image {
        #[command(subcommand)]
        action: ImageAction,
    },
    /// Manage accounts.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
}

#[derive(Subcommand)]
enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Revert migrations, newest first, down to version N (0 reverts all).
    Down {
        #[arg(long, default_value_t = 0)]
        to: i64,
    },
    /// List migrations and whether each is applied.
    Status,
    /// Create an empty, numbered up/down migration pair for both backends (for developers).
    Create {
        /// Lower-case words joined by underscores, e.g. add_session_color.
        name: String,
        /// The crates folder of a source checkout.
        #[arg(long, default_value = "crates")]
        crates_dir: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum ImageAction {
    /// Build the sandbox image (SANDBOX_IMAGE) through the container engine's API.
    Build {
        /// The image to build on; any Debian or Ubuntu image.
        #[arg(
            long,
            env = "SANDBOX_BASE_IMAGE",
            default_value = "debian:bookworm-slim"
        )]
        base_image: String,
        /// The coding-agent CLIs to install from npm, space-separated; empty for a slim
        /// image without Node.js.
        #[arg(long, env = "SANDBOX_AGENT_CLIS", default_value = DEFAULT_AGENT_CLIS)]
        agent_clis: String,
        /// A PEM file of certificates the image should trust besides Debian's, for networks
        /// whose proxy intercepts TLS (npm needs it while building).
        #[arg(long, env = "SANDBOX_CA_CERTIFICATES")]
        ca_certificates: Option<std::path::PathBuf>,
        #[command(flatten)]
        sandbox: config::SandboxArgs,
    },
    /// Print the digest of the sandbox files in this binary (with the sandbox uid); an
    /// image built from them carries it in the label `craftastic.sandbox.digest`.
    Digest {
        #[command(flatten)]
        sandbox: config::SandboxArgs,
    },
}

#[derive(Subcommand)]
enum UserAction {
    /// Create an account. The password is read from standard input (prompted without echo
    /// on a terminal), never from the command line.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// Make the account an administrator.
        #[arg(long)]
        admin: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = init_tracing(&cli.storage) {
        eprintln!("craftastic: {e}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("craftastic: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(run(cli));
    // Tasks still running (a request given up on at shutdown, a background task) are
    // dropped; blocking work gets a moment, never the power to hold the exit.
    runtime.shutdown_timeout(serve::RUNTIME_SHUTDOWN);
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => match e.downcast_ref::<ConfigError>() {
            Some(config) => {
                eprintln!("craftastic: {config}");
                ExitCode::from(2)
            }
            None => {
                eprintln!("craftastic: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

fn init_tracing(args: &StorageArgs) -> Result<(), ConfigError> {
    let directives = craftastic_service::logging::log_directives(&args.log_level);
    let filter = EnvFilter::try_new(directives).map_err(|_| {
        ConfigError(format!(
            "LOG_LEVEL must be error, warn, info, debug, trace or a tracing filter such as craftastic=debug, not {:?}",
            args.log_level
        ))
    })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match args.log_format.as_str() {
        "text" => builder.init(),
        "json" => builder.json().init(),
        other => {
            return Err(ConfigError(format!(
                "LOG_FORMAT must be text or json, not {other:?}"
            )));
        }
    }
    Ok(())
}

/// Both stores behind the two traits the commands need.
trait AnyStore: Store + Migrations {}
impl<T: Store + Migrations> AnyStore for T {}

async fn open_store(storage: &Storage) -> anyhow::Result<Arc<dyn AnyStore>> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&storage.data_dir)
        .with_context(|| format!("cannot create the data dir {}", storage.data_dir.display()))?;
    Ok(match &storage.database {
        Database::Sqlite(path) => {
            tracing::info!(path = %path.display(), "using SQLite");
            Arc::new(
                SqlStore::open_sqlite_file(path).await.with_context(|| {
                    format!("cannot open the SQLite database {}", path.display())
                })?,
            )
        }
        Database::Postgres(url) => {
            tracing::info!("using PostgreSQL");
            Arc::new(
                SqlStore::connect_postgres(url)
                    .await
                    .context("cannot connect to PostgreSQL (DATABASE_URL)")?,
            )
        }
    })
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let storage = cli.storage.resolve()?;
    match cli.command {
        Command::Serve(args) => serve::serve(storage, args).await,
        Command::Migrate {
            action: MigrateAction::Create { name, crates_dir },
        } => migrate_create(&name, &crates_dir),
        Command::Migrate { action } => {
            let store = open_store(&storage).await?;
            migrate(store.as_ref(), action).await
        }
        Command::Image {
            action:
                ImageAction::Build {
                    base_image,
                    agent_clis,
                    ca_certificates,
                    sandbox,
                },
        } => {
            image_build(
                &base_image,
                &agent_clis,
                ca_certificates.as_deref(),
                &sandbox,
            )
            .await
        }
        Command::Image {
            action: ImageAction::Digest { sandbox },
        } => {
            println!("{}", sandbox_digest(sandbox_uid(sandbox.resolve()?.uid)));
            Ok(())
        }
        Command::User {
            action: UserAction::Create { email, name, admin },
        } => {
            let email = Email::parse(&email).map_err(|e| ConfigError(e.message))?;
            let name = UserName::parse(&name).map_err(|e| ConfigError(e.message))?;
            let password = read_password()?;
            let store = open_store(&storage).await?;
            store.migrate_up().await?;
            let store: Arc<dyn Store> = store;
            let auth = craftastic_service::auth::Auth::new(
                store,
                AuthSettings {
                    keys: TokenKeys::new(&[0; 32]),
                    access_ttl: Duration::from_secs(60),
                    refresh_ttl: Duration::from_secs(60),
                    allow_registration: false,
                    password_hashers: 1,
                    login_rate: craftastic_service::ratelimit::RateLimit::OFF,
                    register_rate: craftastic_service::ratelimit::RateLimit::OFF,
                },
            );
            let grant = if admin {
                AdminGrant::Yes
            } else {
                AdminGrant::No
            };
            let user = auth
                .create_user(email, password, name, grant)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "created {} ({}){}",
                user.email,
                user.id,
                if user.is_admin { ", admin" } else { "" }
            );
            Ok(())
        }
    }
}

fn read_password() -> anyhow::Result<Password> {
    let raw = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Password (at least 10 characters): ")?
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    Password::new(raw, "password").map_err(|e| ConfigError(e.message).into())
}

async fn migrate(store: &dyn AnyStore, action: MigrateAction) -> anyhow::Result<()> {
    match action {
        MigrateAction::Up => {
            let applied = store.migrate_up().await?;
            if applied.is_empty() {
                println!("nothing to apply: the schema is up to date");
            }
            for v in applied {
                println!("applied {v}");
            }
        }
        MigrateAction::Down { to } => {
            if to < 0 {
                return Err(ConfigError("--to must be 0 or a migration version".into()).into());
            }
            let reverted = store.migrate_down(to).await?;
            if reverted.is_empty() {
                println!("nothing to revert: no applied migration is newer than {to}");
            }
            for v in reverted {
                println!("reverted {v}");
            }
        }
        MigrateAction::Status => {
            for m in store.migration_status().await? {
                let state = m.applied_at.map_or_else(
                    || "pending".to_owned(),
                    |t| format!("applied {}", t.to_rfc3339()),
                );
                println!("{:>4}  {:<30} {state}", m.version, m.description);
            }
        }
        MigrateAction::Create { .. } => unreachable!("handled without a database"),
    }
    Ok(())
}

fn migrate_create(name: &str, crates_dir: &std::path::Path) -> anyhow::Result<()> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(ConfigError(format!(
            "migration name must be lower-case letters, digits and underscores, not {name:?}"
        ))
        .into());
    }
    let dirs = ["sqlite", "postgres"].map(|b| crates_dir.join("store-sql/migrations").join(b));
    let mut next = 1;
    for dir in &dirs {
        let entries = std::fs::read_dir(dir).map_err(|e| {
            ConfigError(format!(
                "cannot read {} ({e}); run this in a source checkout or pass --crates-dir",
                dir.display()
            ))
        })?;
        for entry in entries.flatten() {
            let file = entry.file_name();
            let version = file
                .to_string_lossy()
                .split('_')
                .next()
                .and_then(|v| v.parse::<i64>().ok());
            next = next.max(version.map_or(1, |v| v + 1));
        }
    }
    for dir in &dirs {
        for kind in ["up", "down"] {
            let path = dir.join(format!("{next:04}_{name}.{kind}.sql"));
            std::fs::write(&path, format!("-- {name} ({kind})\n"))
                .with_context(|| format!("cannot write {}", path.display()))?;
            println!("created {}", path.display());
        }
    }
    Ok(())
}

/// The uid this process runs as (the owner of `/proc/self`).
fn own_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(0)
}

/// The sandbox user's uid: as configured, else 1000 for a root server, else the server's.
fn sandbox_uid(configured: Option<u32>) -> u32 {
    configured.unwrap_or_else(|| match own_uid() {
        0 => 1000,
        uid => uid,
    })
}

async fn connect_runtime() -> anyhow::Result<craftastic_runtime::docker::DockerRuntime> {
    let connecting = craftastic_runtime::docker::DockerRuntime::connect();
    let failure = match tokio::time::timeout(serve::ENGINE_CALL_DEADLINE, connecting).await {
        Ok(Ok(runtime)) => return Ok(runtime),
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!(
            "no answer within {} s",
            serve::ENGINE_CALL_DEADLINE.as_secs()
        ),
    };
    Err(ConfigError(format!(
        "the container engine does not answer at DOCKER_HOST ({}): start Docker (or Podman's socket) or set DOCKER_HOST ({failure})",
        std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into())
    ))
    .into())
}

/// The sandbox image's build context, but for `extra-ca-certificates.crt` (the certificates
/// given to `craftastic image build`).
const SANDBOX_FILES: [(&str, &str); 8] = [
    ("Dockerfile", include_str!("../../../sandbox/Dockerfile")),
    ("tmux.conf", include_str!("../../../sandbox/tmux.conf")),
    ("bashrc", include_str!("../../../sandbox/bashrc")),
    (
        "craftastic-hook",
        include_str!("../../../sandbox/craftastic-hook"),
    ),
    (
        "gemini-system-defaults.json",
        include_str!("../../../sandbox/gemini-system-defaults.json"),
    ),
    (
        "qwen-system-defaults.json",
        include_str!("../../../sandbox/qwen-system-defaults.json"),
    ),
    (
        "opencode.json",
        include_str!("../../../sandbox/opencode.json"),
    ),
    (
        "opencode-plugin.js",
        include_str!("../../../sandbox/opencode-plugin.js"),
    ),
];

/// The npm packages `craftastic image build` installs unless told otherwise (the
/// Dockerfile's own default is the same list, for a plain `docker build`).
const DEFAULT_AGENT_CLIS: &str =
    "@anthropic-ai/claude-code @google/gemini-cli @qwen-code/qwen-code @openai/codex opencode-ai";

/// An npm package name, optionally with `@version`: what may go into the build's shell.
fn is_npm_package_spec(spec: &str) -> bool {
    let name = spec.strip_prefix('@').unwrap_or(spec);
    !name.is_empty()
        && spec.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '@' | '/' | '.' | '_' | '-' | '~' | '^')
        })
}

/// Tells an image built from these files apart from one built by another version.
fn sandbox_digest(uid: u32) -> String {
    use sha2::Digest;
    let mut hash = sha2::Sha256::new();
    for (name, content) in SANDBOX_FILES {
        hash.update(name.as_bytes());
        hash.update([0]);
        hash.update(content.as_bytes());
        hash.update([0]);
    }
    hash.update(uid.to_string().as_bytes());
    hex::encode(&hash.finalize()[..8])
}

async fn image_build(
    base_image: &str,
    agent_clis: &str,
    ca_certificates: Option<&std::path::Path>,
    args: &config::SandboxArgs,
) -> anyhow::Result<()> {
    use craftastic_runtime::Runtime;
    let sandbox = args.resolve()?;
    let agent_clis = agent_clis.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some(bad) = agent_clis
        .split(' ')
        .find(|p| !p.is_empty() && !is_npm_package_spec(p))
    {
        anyhow::bail!(
            "SANDBOX_AGENT_CLIS: {bad:?} is not an npm package name (such as @google/gemini-cli or @google/gemini-cli@0.61.0)"
        );
    }
    let extra_ca = match ca_certificates {
        Some(path) => std::fs::read(path).map_err(|e| {
            anyhow::anyhow!(
                "SANDBOX_CA_CERTIFICATES: cannot read {}: {e}",
                path.display()
            )
        })?,
        None => Vec::new(),
    };
    let runtime = connect_runtime().await?;
    let mut context = tar::Builder::new(Vec::new());
    let files = SANDBOX_FILES
        .iter()
        .map(|(name, content)| (*name, content.as_bytes()))
        .chain([("extra-ca-certificates.crt", extra_ca.as_slice())]);
    for (name, content) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        context.append_data(&mut header, name, content)?;
    }
    let context = context.into_inner()?;
    let digest = sandbox_digest(sandbox_uid(sandbox.uid));
    let uid = sandbox_uid(sandbox.uid).to_string();
    eprintln!(
        "building {} from {base_image} (sandbox user uid {uid}, agent CLIs: {})",
        sandbox.image,
        if agent_clis.is_empty() {
            "none"
        } else {
            &agent_clis
        }
    );
    runtime
        .build_image(
            context,
            &sandbox.image,
            &[
                ("BASE_IMAGE", base_image),
                ("USER_UID", &uid),
                ("USER_GID", &uid),
                ("SANDBOX_DIGEST", &digest),
                ("AGENT_CLIS", &agent_clis),
            ],
            &|line| eprintln!("  {line}"),
        )
        .await
        .map_err(|e| anyhow::anyhow!("building {} failed: {e}", sandbox.image))?;
    println!("built {}", sandbox.image);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::SANDBOX_FILES;

    #[test]
    fn the_image_build_takes_every_file_of_the_sandbox_folder() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sandbox");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|name| name != "extra-ca-certificates.crt")
            .collect();
        files.sort();
        let mut taken: Vec<String> = SANDBOX_FILES.iter().map(|(n, _)| (*n).to_owned()).collect();
        taken.sort();
        assert_eq!(files, taken);
    }
}
