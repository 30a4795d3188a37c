//! GitHub: linking a user's GitHub account through the OAuth device flow, listing the
//! repositories it reaches, and the credential that lets git clone and push them.
//!
//! The device code of a flow stays in this process's memory, owned by the user who started
//! the flow; the client only ever sees the flow's id and the code the user types at GitHub.
//! The token is sealed before it is stored (invariant I4).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use craftastic_domain::{ErrorCode, UserId, ValidationError};
use craftastic_github::{GithubClient, GithubError, Secret, TokenPoll, Url};
use craftastic_store::{GithubLink, Store};
use serde_json::json;
use uuid::Uuid;

use crate::crypto::Cipher;
use crate::tokens::Principal;
use crate::{ServiceError, ServiceResult};

pub use craftastic_github::{GithubSettings, Repository};

/// Flows a user may have open at once; starting another forgets the oldest.
const MAX_FLOWS_PER_USER: usize = 5;
/// How long an expired flow is remembered, so that polling it answers `expired`, not 404.
const FORGET_EXPIRED_AFTER: Duration = Duration::from_secs(600);
/// The longest poll interval and code lifetime taken from GitHub (it sends 5 s and 900 s).
const MAX_INTERVAL_SECS: u64 = 300;
const MAX_EXPIRES_IN_SECS: u64 = 3600;
/// GitHub's rule when `slow_down` comes without a new interval.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
/// The largest page of repositories GitHub serves.
pub const MAX_PER_PAGE: u32 = 100;
const MAX_PAGE: u32 = 100_000;

#[derive(Clone)]
pub struct Github {
    store: Arc<dyn Store>,
    cipher: Cipher,
    client: GithubClient,
    flows: Arc<Mutex<HashMap<Uuid, Flow>>>,
}

/// One device flow under way.
struct Flow {
    owner: UserId,
    device_code: Secret,
    started: Instant,
    expires_at: Instant,
    interval: Duration,
    /// GitHub may not be asked again before this.
    next_poll: Instant,
    /// A token GitHub already issued whose account could not be read yet: the next poll
    /// reads it again instead of asking for another token.
    token: Option<Secret>,
}

/// What starting a link answers: what the user needs to authorize at GitHub.
#[derive(Debug, Clone)]
pub struct Initiated {
    pub flow_id: Uuid,
    pub user_code: String,
    pub verification_uri: String,
    pub expires_in: u64,
    pub interval: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollStatus {
    /// Not authorized yet; poll again after `interval` seconds.
    Pending,
    /// The account is linked.
    Connected,
    /// The code expired; the flow is over.
    Expired,
    /// The user refused at GitHub; the flow is over.
    Denied,
}

#[derive(Debug, Clone)]
pub struct Polled {
    pub status: PollStatus,
    pub username: Option<String>,
    /// Seconds the client should wait before polling again.
    pub interval: u64,
}

#[derive(Debug, Clone)]
pub struct LinkStatus {
    pub connected: bool,
    pub username: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RepositoryPage {
    pub repositories: Vec<Repository>,
    pub has_more: bool,
}

/// A token for git to use with repositories under `url_prefix`. `Debug` hides the token.
#[derive(Clone, PartialEq, Eq)]
pub struct GitCredential {
    /// `scheme://host[:port]` of `GITHUB_URL`.
    pub url_prefix: String,
    pub token: String,
}

impl fmt::Debug for GitCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitCredential")
            .field("url_prefix", &self.url_prefix)
            .field("token", &"***")
            .finish()
    }
}

const NOT_LINKED: &str = "no GitHub account is linked; link GitHub in settings first";

impl Github {
    pub fn new(store: Arc<dyn Store>, cipher: Cipher, settings: GithubSettings) -> Self {
        Self {
            store,
            cipher,
            client: GithubClient::new(settings),
            flows: Arc::default(),
        }
    }

    fn client_id(&self) -> ServiceResult<&str> {
        self.client.settings().client_id.as_deref().ok_or_else(|| {
            ServiceError::Unavailable(
                "linking GitHub is not configured on this server; an admin must set GITHUB_CLIENT_ID to the client id of a GitHub OAuth app with the device flow enabled"
                    .into(),
            )
        })
    }

    /// Starts linking the caller's GitHub account: asks GitHub for a device code and keeps it
    /// here under a new flow id owned by the caller.
    /// After: the user types `user_code` at `verification_uri`, and the client polls.
    /// Fails: no GITHUB_CLIENT_ID → 503; GitHub unreachable, failing or refusing the app
    /// → 502 with the reason.
    pub async fn initiate(&self, who: Principal) -> ServiceResult<Initiated> {
        let client_id = self.client_id()?;
        let code = self
            .client
            .request_device_code(client_id)
            .await
            .map_err(upstream)?;
        let now = Instant::now();
        // Bounded, so that an odd answer cannot overflow a clock or stall a flow for days.
        let interval = Duration::from_secs(code.interval.clamp(1, MAX_INTERVAL_SECS));
        let expires_in = code.expires_in.clamp(1, MAX_EXPIRES_IN_SECS);
        let flow_id = Uuid::new_v4();
        {
            let mut flows = self.flows.lock().expect("flows lock");
            prune(&mut flows, now);
            let mut mine: Vec<(Uuid, Instant)> = flows
                .iter()
                .filter(|(_, f)| f.owner == who.user_id)
                .map(|(id, f)| (*id, f.started))
                .collect();
            mine.sort_by_key(|(_, started)| *started);
            let excess = (mine.len() + 1).saturating_sub(MAX_FLOWS_PER_USER);
            for (id, _) in mine.into_iter().take(excess) {
                flows.remove(&id);
            }
            flows.insert(
                flow_id,
                Flow {
                    owner: who.user_id,
                    device_code: code.device_code,
                    started: now,
                    expires_at: now + Duration::from_secs(expires_in),
                    interval,
                    next_poll: now + interval,
                    token: None,
                },
            );
        }
        Ok(Initiated {
            flow_id,
            user_code: code.user_code,
            verification_uri: code.verification_uri,
            expires_in,
            interval: interval.as_secs(),
        })
    }

    /// Checks whether the user has authorized at GitHub. GitHub is asked at most once per
    /// interval; a sooner poll answers `pending` from memory. On `slow_down` the interval
    /// grows as GitHub says.
    /// After `connected`: the token is sealed and stored with the account's login and id, and
    /// the flow is gone; after `expired` or `denied` the flow is gone too.
    /// Fails: no such flow, or another user's → 404; no GITHUB_CLIENT_ID → 503; GitHub
    /// unreachable or failing → 502 (the flow stays; poll again); GitHub refusing the flow
    /// (e.g. an unknown device code) → 502 and the flow is gone.
    pub async fn poll(&self, who: Principal, flow_id: Uuid) -> ServiceResult<Polled> {
        let client_id = self.client_id()?;
        enum Step {
            AskForToken(Secret),
            ReadAccount(Secret),
        }
        let now = Instant::now();
        let (step, interval) = {
            let mut flows = self.flows.lock().expect("flows lock");
            prune(&mut flows, now);
            let flow = flows
                .get_mut(&flow_id)
                .filter(|f| f.owner == who.user_id)
                .ok_or(ServiceError::NotFound("GitHub link flow"))?;
            let interval = flow.interval.as_secs();
            if flow.token.is_none() && now >= flow.expires_at {
                flows.remove(&flow_id);
                return Ok(Polled::without_account(PollStatus::Expired, interval));
            }
            if now < flow.next_poll {
                return Ok(Polled::without_account(PollStatus::Pending, interval));
            }
            flow.next_poll = now + flow.interval;
            let step = match &flow.token {
                Some(token) => Step::ReadAccount(token.clone()),
                None => Step::AskForToken(flow.device_code.clone()),
            };
            (step, interval)
        };
        let token = match step {
            Step::ReadAccount(token) => token,
            Step::AskForToken(device_code) => {
                match self.client.poll_token(client_id, &device_code).await {
                    Ok(TokenPoll::Token(token)) => {
                        if let Some(flow) = self.flows.lock().expect("flows lock").get_mut(&flow_id)
                        {
                            flow.token = Some(token.clone());
                        }
                        token
                    }
                    Ok(TokenPoll::Pending) => {
                        return Ok(Polled::without_account(PollStatus::Pending, interval));
                    }
                    Ok(TokenPoll::SlowDown { interval: new }) => {
                        let mut flows = self.flows.lock().expect("flows lock");
                        let Some(flow) = flows.get_mut(&flow_id) else {
                            return Ok(Polled::without_account(PollStatus::Pending, interval));
                        };
                        flow.interval = new
                            .map(|n| Duration::from_secs(n.min(MAX_INTERVAL_SECS)))
                            .filter(|n| *n > flow.interval)
                            .unwrap_or(flow.interval + SLOW_DOWN_STEP)
                            .min(Duration::from_secs(MAX_INTERVAL_SECS));
                        flow.next_poll = Instant::now() + flow.interval;
                        tracing::info!(
                            interval_s = flow.interval.as_secs(),
                            "GitHub asked to poll more slowly"
                        );
                        return Ok(Polled::without_account(
                            PollStatus::Pending,
                            flow.interval.as_secs(),
                        ));
                    }
                    Ok(end @ (TokenPoll::Expired | TokenPoll::Denied)) => {
                        self.flows.lock().expect("flows lock").remove(&flow_id);
                        let (status, outcome) = if end == TokenPoll::Expired {
                            (PollStatus::Expired, "expired")
                        } else {
                            (PollStatus::Denied, "denied")
                        };
                        self.audit(who.user_id, "github.link", outcome, json!({}))
                            .await;
                        return Ok(Polled::without_account(status, interval));
                    }
                    Err(e @ GithubError::Refused(_)) => {
                        self.flows.lock().expect("flows lock").remove(&flow_id);
                        self.audit(who.user_id, "github.link", "refused", json!({}))
                            .await;
                        return Err(upstream(e));
                    }
                    Err(e) => return Err(upstream(e)),
                }
            }
        };
        let account = self.client.user(&token).await.map_err(upstream)?;
        let sealed = self
            .cipher
            .seal(token.expose().as_bytes(), &token_context(who.user_id));
        self.store
            .set_github_link(
                who.user_id,
                GithubLink {
                    user_id: account.id,
                    username: account.login.clone(),
                    sealed_token: sealed,
                },
            )
            .await
            .map_err(|e| match e {
                craftastic_store::StoreError::NotFound => ServiceError::NotFound("user"),
                other => other.into(),
            })?;
        self.flows.lock().expect("flows lock").remove(&flow_id);
        self.audit(
            who.user_id,
            "github.link",
            "ok",
            json!({ "githubUsername": account.login, "githubUserId": account.id }),
        )
        .await;
        Ok(Polled {
            status: PollStatus::Connected,
            username: Some(account.login),
            interval,
        })
    }

    /// Whether the caller has a linked GitHub account, and its login.
    pub async fn status(&self, who: Principal) -> ServiceResult<LinkStatus> {
        let connected = self.store.github_token(who.user_id).await?.is_some();
        let username = match connected {
            true => self
                .store
                .get_user(who.user_id)
                .await?
                .and_then(|u| u.github_username),
            false => None,
        };
        Ok(LinkStatus {
            connected,
            username,
        })
    }

    /// Forgets the caller's GitHub account and token. Idempotent: without a link it changes
    /// nothing. After: `status` says not connected, and clones no longer use the token.
    /// Fails: the account was deleted → 404.
    pub async fn disconnect(&self, who: Principal) -> ServiceResult<()> {
        let had = self
            .store
            .clear_github_link(who.user_id)
            .await
            .map_err(|e| match e {
                craftastic_store::StoreError::NotFound => ServiceError::NotFound("user"),
                other => other.into(),
            })?;
        self.audit(
            who.user_id,
            "github.unlink",
            if had { "ok" } else { "noop" },
            json!({}),
        )
        .await;
        Ok(())
    }

    /// One page of the repositories the caller's GitHub account reaches, most recently
    /// updated first.
    /// Fails: `page` < 1 or `per_page` outside 1..=100 → 422; no link → 409
    /// `github_not_linked`; the token was revoked at GitHub → 409 `github_token_revoked`;
    /// GitHub unreachable or failing → 502.
    pub async fn repos(
        &self,
        who: Principal,
        page: i64,
        per_page: i64,
    ) -> ServiceResult<RepositoryPage> {
        let page = u32::try_from(page)
            .ok()
            .filter(|p| (1..=MAX_PAGE).contains(p))
            .ok_or_else(|| {
                ValidationError::new("page", format!("page must be from 1 to {MAX_PAGE}"))
            });
        let per_page = u32::try_from(per_page)
            .ok()
            .filter(|p| (1..=MAX_PER_PAGE).contains(p))
            .ok_or_else(|| {
                ValidationError::new(
                    "perPage",
                    format!("perPage must be from 1 to {MAX_PER_PAGE}"),
                )
            });
        let (page, per_page) = match (page, per_page) {
            (Ok(page), Ok(per_page)) => (page, per_page),
            (Err(e), _) | (_, Err(e)) => return Err(e.into()),
        };
        let token = self
            .token_of(who.user_id)
            .await?
            .ok_or_else(|| ServiceError::Conflict {
                code: ErrorCode::GithubNotLinked,
                message: NOT_LINKED.into(),
            })?;
        let found = self
            .client
            .repositories(&token, page, per_page)
            .await
            .map_err(upstream)?;
        Ok(RepositoryPage {
            repositories: found.repositories,
            has_more: found.has_more,
        })
    }

    /// The token git should use for `repository_url`: `Some` only when the URL is http(s) on
    /// the same scheme, host and port as `GITHUB_URL` and `user` has linked GitHub.
    pub async fn credential_for(
        &self,
        user: UserId,
        repository_url: &str,
    ) -> ServiceResult<Option<GitCredential>> {
        let web = &self.client.settings().web_url;
        let Ok(url) = Url::parse(repository_url) else {
            return Ok(None);
        };
        let same_origin = matches!(url.scheme(), "http" | "https")
            && url.scheme() == web.scheme()
            && url.host_str().is_some()
            && url.host_str() == web.host_str()
            && url.port_or_known_default() == web.port_or_known_default();
        if !same_origin {
            return Ok(None);
        }
        Ok(self.token_of(user).await?.map(|token| GitCredential {
            url_prefix: web.origin().ascii_serialization(),
            token: token.expose().to_owned(),
        }))
    }

    /// The user's token, opened.
    async fn token_of(&self, user: UserId) -> ServiceResult<Option<Secret>> {
        let Some(sealed) = self.store.github_token(user).await? else {
            return Ok(None);
        };
        let plain = self
            .cipher
            .open(&sealed, &token_context(user))
            .map_err(|e| ServiceError::Internal(format!("the stored GitHub token: {e}")))?;
        let token = String::from_utf8(plain)
            .map_err(|_| ServiceError::Internal("the stored GitHub token is not text".into()))?;
        Ok(Some(Secret::new(token)))
    }

    async fn audit(&self, user: UserId, action: &str, outcome: &str, details: serde_json::Value) {
        crate::audit::record(
            self.store.as_ref(),
            Some(user),
            action,
            None,
            outcome,
            details,
        )
        .await;
    }
}

impl Polled {
    fn without_account(status: PollStatus, interval: u64) -> Self {
        Self {
            status,
            username: None,
            interval,
        }
    }
}

/// Where a user's sealed token lives; binds the ciphertext to that user's row.
fn token_context(user: UserId) -> String {
    format!("users.github_token:{user}")
}

/// Forgets flows that expired long enough ago.
fn prune(flows: &mut HashMap<Uuid, Flow>, now: Instant) {
    flows.retain(|_, f| now < f.expires_at + FORGET_EXPIRED_AFTER);
}

fn upstream(e: GithubError) -> ServiceError {
    match e {
        GithubError::Revoked => ServiceError::Conflict {
            code: ErrorCode::GithubTokenRevoked,
            message: e.to_string(),
        },
        other => ServiceError::Upstream(other.to_string()),
    }
}
