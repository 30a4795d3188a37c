//! Configuration from flags and environment variables, validated before anything starts.
//! Each problem is reported as one line naming the variable and what is wrong with it.
//! Secrets (`JWT_SECRET`, `SERVER_ENCRYPTION_KEY`) are read from the environment or the data
//! dir only, never from flags, so that they stay out of process lists.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

mod limits;
mod sandbox;
pub use limits::LimitArgs;
pub use sandbox::SandboxArgs;

/// A configuration problem: the variable and a sentence about it.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

fn bad(message: impl Into<String>) -> ConfigError {
    ConfigError(message.into())
}

/// Where state lives; shared by every command.
#[derive(Debug, Clone, Args)]
pub struct StorageArgs {
    /// Folder for the SQLite database, generated secrets and (later) repositories.
    /// Default: $XDG_DATA_HOME/craftastic or ~/.local/share/craftastic.
    #[arg(long, env = "CRAFTASTIC_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// `sqlite://PATH` or `postgres://USER:PASSWORD@HOST/DB`. Default: SQLite in the data dir.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// A tracing filter: error, warn, info, debug, trace, or per-module directives.
    #[arg(long, env = "LOG_LEVEL", default_value = "info", global = true)]
    pub log_level: String,
    /// `text` for people, `json` for log collectors.
    #[arg(long, env = "LOG_FORMAT", default_value = "text", global = true)]
    pub log_format: String,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on; 0.0.0.0 to listen on every interface.
    #[arg(long, env = "HOST", default_value = "127.0.0.1")]
    pub host: String,
    #[arg(long, env = "PORT", default_value = "3000")]
    pub port: String,
    /// Whether anyone may create an account (`true`/`false`). The first account is admin.
    #[arg(long, env = "ALLOW_REGISTRATION", default_value = "true")]
    pub allow_registration: String,
    /// Whether notification webhooks may reach loopback and link-local addresses
    /// (`true`/`false`), for a notification service on this machine.
    #[arg(long, env = "NOTIFY_LOCAL_WEBHOOKS", default_value = "false")]
    pub notify_local_webhooks: String,
    /// An extra browser origin allowed to call the API, e.g. http://localhost:5173.
    #[arg(long, env = "CORS_ORIGIN")]
    pub cors_origin: Option<String>,
    /// Lifetime of access tokens in seconds (60 to 86400).
    #[arg(long, env = "ACCESS_TOKEN_TTL", default_value = "900")]
    pub access_token_ttl: String,
    /// Lifetime of refresh tokens in days (1 to 365).
    #[arg(long, env = "REFRESH_TOKEN_TTL_DAYS", default_value = "30")]
    pub refresh_token_ttl_days: String,
    #[command(flatten)]
    pub sandbox: SandboxArgs,
    #[command(flatten)]
    pub github: GithubArgs,
    #[command(flatten)]
    pub coolify: CoolifyArgs,
    /// Boxed, so that the command enum, as large as its largest variant, stays small.
    #[command(flatten)]
    pub limits: Box<LimitArgs>,
}

pub enum Database {
    Sqlite(PathBuf),
    Postgres(String),
}

pub struct Storage {
    pub data_dir: PathBuf,
    pub database: Database,
}

impl StorageArgs {
    pub fn resolve(&self) -> Result<Storage, ConfigError> {
        let data_dir = match &self.data_dir {
            Some(dir) if dir.as_os_str().is_empty() => {
                return Err(bad("CRAFTASTIC_DATA_DIR must not be empty"));
            }
            Some(dir) => dir.clone(),
            None => default_data_dir().ok_or_else(|| {
                bad("CRAFTASTIC_DATA_DIR is not set and neither XDG_DATA_HOME nor HOME is; set CRAFTASTIC_DATA_DIR")
            })?,
        };
        let database = match self.database_url.as_deref().map(str::trim) {
            None | Some("") => Database::Sqlite(data_dir.join("craftastic.db")),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Database::Postgres(url.to_owned())
            }
            Some(url) if url.starts_with("sqlite:") => {
                let path = url
                    .trim_start_matches("sqlite://")
                    .trim_start_matches("sqlite:");
                let path = path.split('?').next().unwrap_or_default();
                if path.is_empty() || path == ":memory:" {
                    return Err(bad(
                        "DATABASE_URL must name a SQLite file, e.g. sqlite:///var/lib/craftastic/craftastic.db",
                    ));
                }
                Database::Sqlite(PathBuf::from(path))
            }
            Some(_) => {
                return Err(bad(
                    "DATABASE_URL must start with sqlite:// or postgres:// (leave it unset for SQLite in the data dir)",
                ));
            }
        };
        Ok(Storage { data_dir, database })
    }
}

fn default_data_dir() -> Option<PathBuf> {
    let non_empty = |v: std::ffi::OsString| (!v.is_empty()).then(|| PathBuf::from(v));
    std::env::var_os("XDG_DATA_HOME")
        .and_then(non_empty)
        .map(|d| d.join("craftastic"))
        .or_else(|| {
            std::env::var_os("HOME")
                .and_then(non_empty)
                .map(|h| h.join(".local/share/craftastic"))
        })
}

pub struct ServeConfig {
    pub addr: SocketAddr,
    pub allow_registration: bool,
    pub notify_local_webhooks: bool,
    pub cors_origin: Option<axum::http::HeaderValue>,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
}

impl ServeArgs {
    pub fn resolve(&self) -> Result<ServeConfig, ConfigError> {
        let ip: IpAddr = self.host.trim().parse().map_err(|_| {
            bad(format!(
                "HOST must be an IP address such as 127.0.0.1 or 0.0.0.0, not {:?}",
                self.host
            ))
        })?;
        let port: u16 = self.port.trim().parse().ok().ok_or_else(|| {
            bad(format!(
                "PORT must be a number from 0 to 65535 (0: any free port), not {:?}",
                self.port
            ))
        })?;
        let allow_registration = parse_bool(&self.allow_registration).ok_or_else(|| {
            bad(format!(
                "ALLOW_REGISTRATION must be true or false, not {:?}",
                self.allow_registration
            ))
        })?;
        let notify_local_webhooks = parse_bool(&self.notify_local_webhooks).ok_or_else(|| {
            bad(format!(
                "NOTIFY_LOCAL_WEBHOOKS must be true or false, not {:?}",
                self.notify_local_webhooks
            ))
        })?;
        let cors_origin = self
            .cors_origin
            .as_deref()
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(parse_origin)
            .transpose()?;
        let access_ttl = parse_range(&self.access_token_ttl, 60, 86_400).ok_or_else(|| {
            bad(format!(
                "ACCESS_TOKEN_TTL must be a number of seconds from 60 to 86400, not {:?}",
                self.access_token_ttl
            ))
        })?;
        let refresh_days = parse_range(&self.refresh_token_ttl_days, 1, 365).ok_or_else(|| {
            bad(format!(
                "REFRESH_TOKEN_TTL_DAYS must be a number of days from 1 to 365, not {:?}",
                self.refresh_token_ttl_days
            ))
        })?;
        Ok(ServeConfig {
            addr: SocketAddr::new(ip, port),
            allow_registration,
            notify_local_webhooks,
            cors_origin,
            access_ttl: Duration::from_secs(access_ttl),
            refresh_ttl: Duration::from_secs(refresh_days * 86_400),
        })
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn parse_range(s: &str, min: u64, max: u64) -> Option<u64> {
    s.trim().parse().ok().filter(|v| (min..=max).contains(v))
}

fn parse_origin(s: &str) -> Result<axum::http::HeaderValue, ConfigError> {
    let err = || {
        bad(format!(
            "CORS_ORIGIN must be an origin such as http://localhost:5173 (scheme and host, no path), not {s:?}"
        ))
    };
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or_else(err)?;
    if rest.is_empty() || rest.contains('/') || rest.contains(char::is_whitespace) {
        return Err(err());
    }
    axum::http::HeaderValue::from_str(s).map_err(|_| err())
}

/// Where GitHub is, for linking accounts and cloning private repositories (for `serve`).
#[derive(Debug, Clone, Args)]
pub struct GithubArgs {
    /// The client id of a GitHub OAuth app with the device flow enabled; without it, linking
    /// GitHub answers 503.
    #[arg(long, env = "GITHUB_CLIENT_ID")]
    pub github_client_id: Option<String>,
    /// GitHub's web address (a GitHub Enterprise server's, for one).
    #[arg(long, env = "GITHUB_URL", default_value = "https://github.com")]
    pub github_url: String,
    /// GitHub's REST API. Default: https://api.github.com for github.com, else
    /// <GITHUB_URL>/api/v3 as GitHub Enterprise serves it.
    #[arg(long, env = "GITHUB_API_URL")]
    pub github_api_url: Option<String>,
}

impl GithubArgs {
    pub fn resolve(&self) -> Result<craftastic_github::GithubSettings, ConfigError> {
        let web_url = parse_base_url("GITHUB_URL", &self.github_url)?;
        let api_url = match self
            .github_api_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        {
            Some(raw) => parse_base_url("GITHUB_API_URL", raw)?,
            None if web_url.host_str() == Some("github.com") => {
                parse_base_url("GITHUB_API_URL", "https://api.github.com")?
            }
            None => parse_base_url(
                "GITHUB_URL",
                &format!("{}/api/v3", web_url.as_str().trim_end_matches('/')),
            )?,
        };
        let client_id = match self
            .github_client_id
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            None => None,
            Some(id)
                if id.len() <= 100
                    && id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) =>
            {
                Some(id.to_owned())
            }
            Some(id) => {
                return Err(bad(format!(
                    "GITHUB_CLIENT_ID must be the client id of a GitHub OAuth app (letters, digits, '.', '_', '-'), not {id:?}"
                )));
            }
        };
        Ok(craftastic_github::GithubSettings {
            web_url,
            api_url,
            client_id,
            ..Default::default()
        })
    }
}

/// An http(s) base URL without credentials, query or fragment.
fn parse_base_url(var: &str, raw: &str) -> Result<craftastic_github::Url, ConfigError> {
    parse_http_url(var, raw, "https://github.com")
}

/// Like [`parse_base_url`], with `example` in the message.
fn parse_http_url(
    var: &str,
    raw: &str,
    example: &str,
) -> Result<craftastic_github::Url, ConfigError> {
    let err = || {
        bad(format!(
            "{var} must be an http:// or https:// address such as {example} (no user, query or fragment), not {raw:?}"
        ))
    };
    let url = craftastic_github::Url::parse(raw.trim()).map_err(|_| err())?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host_str().is_none()
        || !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(err());
    }
    Ok(url)
}

/// Where Coolify is, for deployments (for `serve`). Its API token is a secret and comes from
/// the environment only (`COOLIFY_API_TOKEN`).
#[derive(Debug, Clone, Args)]
pub struct CoolifyArgs {
    /// Coolify's address, e.g. https://coolify.example.com; without it, deployments answer
    /// 503. The API token is read from COOLIFY_API_TOKEN (environment only).
    #[arg(long, env = "COOLIFY_API_URL")]
    pub coolify_api_url: Option<String>,
}

impl CoolifyArgs {
    /// The Coolify settings, or `None` when neither the address nor the token is set.
    /// `token` is `COOLIFY_API_TOKEN`; its value never appears in a message.
    pub fn resolve(
        &self,
        token: Option<std::ffi::OsString>,
    ) -> Result<Option<craftastic_coolify::CoolifySettings>, ConfigError> {
        let url = self
            .coolify_api_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty());
        let token = token.filter(|t| !t.is_empty());
        let api_url = url
            .map(|u| parse_http_url("COOLIFY_API_URL", u, "https://coolify.example.com"))
            .transpose()?;
        let (api_url, token) = match (api_url, token) {
            (None, None) => return Ok(None),
            (Some(_), None) => {
                return Err(bad(
                    "COOLIFY_API_TOKEN must be set when COOLIFY_API_URL is: create an API token with the deploy and write permissions in Coolify (Keys & Tokens) and put it in COOLIFY_API_TOKEN",
                ));
            }
            (None, Some(_)) => {
                return Err(bad(
                    "COOLIFY_API_URL must be set when COOLIFY_API_TOKEN is: Coolify's address, such as https://coolify.example.com (or unset COOLIFY_API_TOKEN)",
                ));
            }
            (Some(api_url), Some(token)) => (api_url, token),
        };
        let token = token
            .into_string()
            .ok()
            .filter(|t| {
                t.len() <= 4096 && !t.chars().any(|c| c.is_whitespace() || c.is_control())
            })
            .ok_or_else(|| {
                bad(
                    "COOLIFY_API_TOKEN must be a Coolify API token: one line of at most 4096 characters without spaces (the value is not shown)",
                )
            })?;
        Ok(Some(craftastic_coolify::CoolifySettings::new(
            api_url,
            craftastic_coolify::Secret::new(token),
        )))
    }
}

/// `SERVER_ENCRYPTION_KEY`: 64 hex digits, or exactly 32 characters taken as bytes.
pub fn parse_encryption_key(raw: &str) -> Result<[u8; 32], ConfigError> {
    let err = || {
        bad(
            "SERVER_ENCRYPTION_KEY must be 32 characters or 64 hex digits (generate one with: openssl rand -hex 32)",
        )
    };
    if raw.len() == 64 {
        let mut key = [0u8; 32];
        hex::decode_to_slice(raw, &mut key).map_err(|_| err())?;
        return Ok(key);
    }
    <[u8; 32]>::try_from(raw.as_bytes()).map_err(|_| err())
}

/// `JWT_SECRET`: at least 32 bytes, so that HS256 keys cannot be guessed.
pub fn check_jwt_secret(raw: &str) -> Result<(), ConfigError> {
    if raw.len() < 32 {
        return Err(bad(
            "JWT_SECRET must be at least 32 characters (generate one with: openssl rand -hex 32)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encryption_key_forms() {
        assert_eq!(parse_encryption_key(&"ab".repeat(32)).unwrap(), [0xab; 32]);
        assert_eq!(parse_encryption_key(&"k".repeat(32)).unwrap(), [b'k'; 32]);
        let e = parse_encryption_key("short").unwrap_err().0;
        assert_eq!(e.lines().count(), 1);
        assert!(e.starts_with("SERVER_ENCRYPTION_KEY must be 32 characters or 64 hex digits"));
        assert!(parse_encryption_key(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn github_urls() {
        let args = |web: &str, api: Option<&str>| GithubArgs {
            github_client_id: Some(" Iv1.abc ".into()),
            github_url: web.into(),
            github_api_url: api.map(Into::into),
        };
        let s = args("https://github.com", None).resolve().unwrap();
        assert_eq!(s.api_url.as_str(), "https://api.github.com/");
        assert_eq!(s.client_id.as_deref(), Some("Iv1.abc"));
        let s = args("https://ghe.example.com/", None).resolve().unwrap();
        assert_eq!(s.api_url.as_str(), "https://ghe.example.com/api/v3");
        let s = args(
            "http://127.0.0.1:8080",
            Some("http://127.0.0.1:8080/api/v3"),
        )
        .resolve()
        .unwrap();
        assert_eq!(s.web_url.port(), Some(8080));
        for (web, api, var) in [
            ("github.com", None, "GITHUB_URL"),
            ("ftp://github.com", None, "GITHUB_URL"),
            ("https://user:pw@github.com", None, "GITHUB_URL"),
            ("https://github.com", Some("not a url"), "GITHUB_API_URL"),
        ] {
            let e = args(web, api).resolve().unwrap_err().0;
            assert!(e.starts_with(&format!("{var} must be")), "{e}");
            assert_eq!(e.lines().count(), 1);
        }
        let mut bad_id = args("https://github.com", None);
        bad_id.github_client_id = Some("has space".into());
        assert!(
            bad_id
                .resolve()
                .unwrap_err()
                .0
                .starts_with("GITHUB_CLIENT_ID")
        );
    }

    #[test]
    fn coolify_settings() {
        let args = |url: Option<&str>| CoolifyArgs {
            coolify_api_url: url.map(Into::into),
        };
        let token = |t: &str| Some(std::ffi::OsString::from(t));
        assert!(args(None).resolve(None).unwrap().is_none());
        assert!(args(Some(" ")).resolve(token("")).unwrap().is_none());
        let s = args(Some("https://coolify.example.com"))
            .resolve(token("3|abcDEF123"))
            .unwrap()
            .unwrap();
        assert_eq!(s.api_url.as_str(), "https://coolify.example.com/");
        assert_eq!(s.token.expose(), "3|abcDEF123");
        for (url, tok, var) in [
            (Some("coolify.example.com"), "t", "COOLIFY_API_URL"),
            (Some("ftp://coolify.example.com"), "", "COOLIFY_API_URL"),
            (Some("https://coolify.example.com"), "", "COOLIFY_API_TOKEN"),
            (None, "t", "COOLIFY_API_URL"),
            (
                Some("https://coolify.example.com"),
                "secret with space",
                "COOLIFY_API_TOKEN",
            ),
        ] {
            let e = args(url).resolve(token(tok)).unwrap_err().0;
            assert!(e.starts_with(&format!("{var} must ")), "{e}");
            assert_eq!(e.lines().count(), 1);
            assert!(!e.contains("secret with space"), "{e}");
        }
    }

    #[test]
    fn origins() {
        assert!(parse_origin("http://localhost:5173").is_ok());
        assert!(parse_origin("https://x.example/path").is_err());
        assert!(parse_origin("localhost").is_err());
    }
}

/// `512m`, `2g`, `1024k` or a number of bytes.
fn parse_bytes(s: &str) -> Option<i64> {
    let s = s.trim().to_ascii_lowercase();
    let s = s.strip_suffix('b').unwrap_or(&s);
    let (digits, unit) = match s.char_indices().last()? {
        (i, 'k') => (&s[..i], 1i64 << 10),
        (i, 'm') => (&s[..i], 1 << 20),
        (i, 'g') => (&s[..i], 1 << 30),
        _ => (s, 1),
    };
    digits.trim().parse::<i64>().ok()?.checked_mul(unit)
}

#[cfg(test)]
mod sandbox_tests {
    use super::parse_bytes;

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("512m"), Some(512 << 20));
        assert_eq!(parse_bytes("2G"), Some(2 << 30));
        assert_eq!(parse_bytes("1024"), Some(1024));
        assert_eq!(parse_bytes("lots"), None);
    }
}
