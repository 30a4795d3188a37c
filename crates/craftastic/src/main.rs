//! `craftastic`: the server and its administration commands.

mod config;
mod secrets;

use std::io::IsTerminal;
use std::os::unix::fs::DirBuilderExt;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use craftastic_domain::{Email, Password, UserName};
use craftastic_http::{AppState, HttpSettings, Metrics};
use craftastic_service::Services;
use craftastic_service::auth::AuthSettings;
use craftastic_service::crypto::Cipher;
use craftastic_service::tokens::TokenKeys;
use craftastic_store::{AdminGrant, Migrations, Store};
use craftastic_store_postgres::PostgresStore;
use craftastic_store_sqlite::SqliteStore;
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
    match runtime.block_on(run(cli)) {
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
    let filter = EnvFilter::try_new(&args.log_level).map_err(|_| {
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
                SqliteStore::open_file(path).await.with_context(|| {
                    format!("cannot open the SQLite database {}", path.display())
                })?,
            )
        }
        Database::Postgres(url) => {
            tracing::info!("using PostgreSQL");
            Arc::new(
                PostgresStore::connect(url)
                    .await
                    .context("cannot connect to PostgreSQL (DATABASE_URL)")?,
            )
        }
    })
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let storage = cli.storage.resolve()?;
    match cli.command {
        Command::Serve(args) => serve(storage, args).await,
        Command::Migrate {
            action: MigrateAction::Create { name, crates_dir },
        } => migrate_create(&name, &crates_dir),
        Command::Migrate { action } => {
            let store = open_store(&storage).await?;
            migrate(store.as_ref(), action).await
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
                    access_ttl: std::time::Duration::from_secs(60),
                    refresh_ttl: std::time::Duration::from_secs(60),
                    allow_registration: false,
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
    let dirs = ["store-sqlite", "store-postgres"].map(|c| crates_dir.join(c).join("migrations"));
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

async fn serve(storage: Storage, args: ServeArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let config = args.resolve()?;
    let secrets_dir = storage.data_dir.join("secrets");
    let (jwt_secret, jwt_origin) =
        secrets::load_or_generate("JWT_SECRET", &secrets_dir, "jwt-secret")?;
    config::check_jwt_secret(&jwt_secret)?;
    let (key, key_origin) =
        secrets::load_or_generate("SERVER_ENCRYPTION_KEY", &secrets_dir, "encryption-key")?;
    let key = config::parse_encryption_key(&key)?;
    secrets::log_origin("JWT_SECRET", &jwt_origin);
    secrets::log_origin("SERVER_ENCRYPTION_KEY", &key_origin);

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
    let services = Services::new(
        store,
        cipher,
        AuthSettings {
            keys: TokenKeys::new(jwt_secret.as_bytes()),
            access_ttl: config.access_ttl,
            refresh_ttl: config.refresh_ttl,
            allow_registration: config.allow_registration,
        },
    );
    let state = AppState {
        services,
        metrics: Arc::new(Metrics::new(backend)),
    };
    let app = craftastic_http::app(
        state,
        &HttpSettings {
            cors_origin: config.cors_origin,
        },
    );
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|e| ConfigError(format!("cannot listen on {} (HOST/PORT): {e}", config.addr)))?;
    let addr = listener.local_addr()?;
    let shown = if addr.ip().is_unspecified() {
        format!("http://localhost:{}", addr.port())
    } else {
        format!("http://{addr}")
    };
    tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "ready");
    println!("Craftastic is running at {shown}");
    craftastic_http::serve(listener, app, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("installing a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
}
