//! Limits against abuse (for `serve`): how many password hashes run at once, sign-ins and
//! registrations per client address, which proxies may name the client, and the default
//! per-user limits that an admin can change for each user.

use clap::Args;
use craftastic_http::client_addr::{ProxyRange, TrustedProxies};
use craftastic_service::auth::AuthSettings;
use craftastic_service::limits::{LimitSettings, Quota};
use craftastic_service::ratelimit::RateLimit;

use super::{ConfigError, bad, parse_range};

#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// Password hashes that may run at once; a sign-in that finds none free within a second
    /// answers 503 with Retry-After. Default: one per CPU, at least 2.
    #[arg(long, env = "PASSWORD_HASH_CONCURRENCY")]
    pub password_hash_concurrency: Option<String>,
    /// Sign-in attempts per minute from one client address (0: no limit).
    #[arg(long, env = "LOGIN_RATE_LIMIT_PER_MINUTE", default_value = "20")]
    pub login_rate_limit_per_minute: String,
    /// Registrations per hour from one client address (0: no limit).
    #[arg(long, env = "REGISTER_RATE_LIMIT_PER_HOUR", default_value = "5")]
    pub register_rate_limit_per_hour: String,
    /// Reverse proxies whose X-Forwarded-For names the client: comma-separated addresses or
    /// ranges such as 127.0.0.1 or 10.0.0.0/8. Default: none (the TCP peer is the client).
    #[arg(long, env = "TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,
    /// Environments one user may have (an admin can change it per user).
    #[arg(long, env = "MAX_ENVIRONMENTS_PER_USER", default_value = "20")]
    pub max_environments_per_user: String,
    /// Workspaces one user may have running at once.
    #[arg(long, env = "MAX_RUNNING_WORKSPACES_PER_USER", default_value = "10")]
    pub max_running_workspaces_per_user: String,
    /// Sessions one user may have.
    #[arg(long, env = "MAX_SESSIONS_PER_USER", default_value = "50")]
    pub max_sessions_per_user: String,
    /// Terminals one user may have open at once.
    #[arg(long, env = "MAX_TERMINALS_PER_USER", default_value = "20")]
    pub max_terminals_per_user: String,
    /// Deployments one user may have queued or in progress at once.
    #[arg(long, env = "MAX_DEPLOYMENTS_IN_FLIGHT_PER_USER", default_value = "3")]
    pub max_deployments_in_flight_per_user: String,
}

pub struct LimitConfig {
    pub password_hashers: usize,
    pub login_rate: RateLimit,
    pub register_rate: RateLimit,
    pub trusted_proxies: TrustedProxies,
    pub quotas: LimitSettings,
}

impl LimitArgs {
    pub fn resolve(&self) -> Result<LimitConfig, ConfigError> {
        let password_hashers = match self
            .password_hash_concurrency
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            None => AuthSettings::default_password_hashers(),
            Some(v) => parse_range(v, 1, 1024).ok_or_else(|| {
                bad(format!(
                    "PASSWORD_HASH_CONCURRENCY must be a number from 1 to 1024 (hashes at once), not {v:?}"
                ))
            })? as usize,
        };
        let rate = |var: &str, raw: &str, unit: &str| {
            parse_range(raw, 0, 100_000)
                .map(|n| n as u32)
                .ok_or_else(|| {
                    bad(format!(
                        "{var} must be a number of attempts per {unit} from 0 (no limit) to 100000, not {raw:?}"
                    ))
                })
        };
        let login_rate = RateLimit::per_minute(rate(
            "LOGIN_RATE_LIMIT_PER_MINUTE",
            &self.login_rate_limit_per_minute,
            "minute",
        )?);
        let register_rate = RateLimit::per_hour(rate(
            "REGISTER_RATE_LIMIT_PER_HOUR",
            &self.register_rate_limit_per_hour,
            "hour",
        )?);
        let trusted_proxies = TrustedProxies(
            self.trusted_proxies
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| ProxyRange::parse(p).map_err(|e| bad(format!("TRUSTED_PROXIES: {e}"))))
                .collect::<Result<_, _>>()?,
        );
        let mut quotas = LimitSettings::DEFAULT;
        for (quota, raw) in [
            (Quota::Environments, &self.max_environments_per_user),
            (
                Quota::RunningWorkspaces,
                &self.max_running_workspaces_per_user,
            ),
            (Quota::Sessions, &self.max_sessions_per_user),
            (Quota::Terminals, &self.max_terminals_per_user),
            (
                Quota::DeploymentsInFlight,
                &self.max_deployments_in_flight_per_user,
            ),
        ] {
            let max = craftastic_domain::LimitValue::MAX as u64;
            let n = parse_range(raw, 0, max).ok_or_else(|| {
                bad(format!(
                    "{} must be a number from 0 to {max}, not {raw:?}",
                    quota.setting()
                ))
            })?;
            quotas.set(quota, n as i64);
        }
        Ok(LimitConfig {
            password_hashers,
            login_rate,
            register_rate,
            trusted_proxies,
            quotas,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        limits: LimitArgs,
    }

    fn parse(args: &[&str]) -> LimitArgs {
        Cli::try_parse_from(std::iter::once("serve").chain(args.iter().copied()))
            .unwrap()
            .limits
    }

    #[test]
    fn the_defaults_are_the_documented_ones() {
        let c = parse(&[]).resolve().unwrap();
        assert_eq!(c.quotas, LimitSettings::DEFAULT);
        assert_eq!(c.login_rate, RateLimit::per_minute(20));
        assert_eq!(c.register_rate, RateLimit::per_hour(5));
        assert!(c.trusted_proxies.0.is_empty());
        assert!(c.password_hashers >= 2);
    }

    #[test]
    fn values_are_read_and_bad_ones_named() {
        let c = parse(&[
            "--password-hash-concurrency",
            "1",
            "--trusted-proxies",
            "127.0.0.1, 10.0.0.0/8",
            "--max-sessions-per-user",
            "0",
        ])
        .resolve()
        .unwrap();
        assert_eq!(c.password_hashers, 1);
        assert_eq!(c.trusted_proxies.0.len(), 2);
        assert_eq!(c.quotas.sessions, 0);
        for (arg, var) in [
            ("--password-hash-concurrency=0", "PASSWORD_HASH_CONCURRENCY"),
            (
                "--login-rate-limit-per-minute=-1",
                "LOGIN_RATE_LIMIT_PER_MINUTE",
            ),
            (
                "--register-rate-limit-per-hour=lots",
                "REGISTER_RATE_LIMIT_PER_HOUR",
            ),
            ("--trusted-proxies=proxy.local", "TRUSTED_PROXIES"),
            (
                "--max-environments-per-user=10001",
                "MAX_ENVIRONMENTS_PER_USER",
            ),
            ("--max-terminals-per-user=-3", "MAX_TERMINALS_PER_USER"),
        ] {
            let Err(e) = parse(&[arg]).resolve() else {
                panic!("{arg} was accepted")
            };
            assert!(e.0.starts_with(var), "{e}");
            assert_eq!(e.0.lines().count(), 1);
        }
    }
}
