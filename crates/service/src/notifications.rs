//! Telling users when an agent needs them, and only then: an agent session that enters
//! `permission` or `waiting`, that becomes `idle` after working for a while, or whose CLI
//! exits with an error. Never for a session whose terminal is open (the user is looking at
//! it), and at most one per session per [`MIN_INTERVAL`].
//!
//! A notification goes to the user's browser tabs as a `notification` event (shown when
//! they turned browser notifications on) and, when they set one, as a JSON POST to their
//! webhook: the URL is a secret, sealed at rest and never shown again. The POST has a
//! deadline, follows no redirect, reads nothing of the answer but its status, and is not
//! sent to a loopback, link-local, unspecified or multicast address (checked on the address
//! the name resolves to, which the request then uses).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use chrono::Utc;
use craftastic_domain::{ActivityState, EnvironmentId, SessionId, UserId, WebhookUrl};
use craftastic_store::{NotificationSettings, Store};
use serde::Serialize;
use tokio::time::Instant;

use crate::crypto::Cipher;
use crate::events::{Activity, Event, Events};
use crate::tokens::Principal;
use crate::{ServiceError, ServiceResult};

/// At most one notification per session within this long.
pub const MIN_INTERVAL: Duration = Duration::from_secs(60);
/// An agent that worked at least this long and became idle is worth telling.
pub const WORKED_FOR: Duration = Duration::from_secs(30);
/// How long a webhook may take to answer.
const WEBHOOK_DEADLINE: Duration = Duration::from_secs(10);

/// How notifications are sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct NotifySettings {
    /// Let webhooks reach loopback and link-local addresses (`NOTIFY_LOCAL_WEBHOOKS`).
    pub allow_local_webhooks: bool,
}

/// A change of an agent session's shown activity.
#[derive(Debug, Clone)]
pub struct Transition {
    pub session: SessionId,
    pub environment: EnvironmentId,
    pub owner: UserId,
    pub previous: Option<Activity>,
    pub now: Activity,
}

/// What a notification says; the `notification` event and the webhook's body.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Notice {
    pub session_id: SessionId,
    pub environment_id: EnvironmentId,
    pub state: &'static str,
    pub title: String,
    /// One line for chat webhooks (Slack and compatible ones show `text`).
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The settings a user sees: never the webhook's URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsView {
    pub browser: bool,
    pub webhook: bool,
}

/// Whether a session's terminal is open; set once the terminal service exists.
pub type Viewed = Arc<dyn Fn(SessionId) -> bool + Send + Sync>;

#[derive(Clone)]
pub struct Notifications {
    store: Arc<dyn Store>,
    cipher: Cipher,
    events: Events,
    last: Arc<Mutex<HashMap<SessionId, Instant>>>,
    viewed: Arc<OnceLock<Viewed>>,
    /// Whether webhooks may go to loopback and link-local addresses
    /// (`NOTIFY_LOCAL_WEBHOOKS`, for a notification service on the server's own machine).
    allow_local: bool,
}

pub fn webhook_context(user: UserId) -> String {
    format!("notification_settings:webhook:{user}")
}

impl Notifications {
    pub fn new(store: Arc<dyn Store>, cipher: Cipher, events: Events, allow_local: bool) -> Self {
        Self {
            store,
            cipher,
            events,
            last: Arc::default(),
            viewed: Arc::default(),
            allow_local,
        }
    }

    /// Tells the notifications how to know that a session is being looked at.
    pub fn set_viewed(&self, viewed: Viewed) {
        let _ = self.viewed.set(viewed);
    }

    /// The caller's settings.
    pub async fn settings(&self, who: Principal) -> ServiceResult<SettingsView> {
        let s = self.store.get_notification_settings(who.user_id).await?;
        Ok(view(&s))
    }

    /// Changes what is given: `browser`, and the webhook (`Some(None)` removes it).
    /// Fails: the account is gone → 404.
    pub async fn update(
        &self,
        who: Principal,
        browser: Option<bool>,
        webhook: Option<Option<WebhookUrl>>,
    ) -> ServiceResult<SettingsView> {
        let mut s = self.store.get_notification_settings(who.user_id).await?;
        if let Some(browser) = browser {
            s.browser = browser;
        }
        if let Some(webhook) = webhook {
            s.webhook_sealed = webhook.map(|url| {
                self.cipher
                    .seal(url.as_str().as_bytes(), &webhook_context(who.user_id))
            });
        }
        self.store
            .set_notification_settings(who.user_id, &s, Utc::now())
            .await?;
        Ok(view(&s))
    }

    /// Sends a test notification to the caller's webhook.
    /// Fails: no webhook → 409; it refused or did not answer → 502 with why.
    pub async fn test(&self, who: Principal) -> ServiceResult<()> {
        let settings = self.store.get_notification_settings(who.user_id).await?;
        let url = self
            .webhook(who.user_id, &settings)?
            .ok_or(ServiceError::Conflict {
                code: craftastic_domain::ErrorCode::WebhookNotSet,
                message: "no webhook is set; set webhookUrl first".into(),
            })?;
        let notice = Notice {
            session_id: SessionId(uuid::Uuid::nil()),
            environment_id: EnvironmentId(uuid::Uuid::nil()),
            state: "idle",
            title: "Craftastic: test notification".into(),
            text: "Craftastic: this webhook will tell you when an agent needs you.".into(),
            detail: None,
        };
        post(&url, &notice, self.allow_local)
            .await
            .map_err(ServiceError::Upstream)
    }

    /// Considers a change of an agent session's activity; tells the owner when it is worth
    /// it. Cheap and non-blocking: the lookups and the webhook run in a task.
    pub fn consider(&self, t: Transition) {
        let Some(reason) = worth_telling(&t) else {
            return;
        };
        if self.viewed.get().is_some_and(|viewed| viewed(t.session)) {
            return;
        }
        {
            let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
            let now = Instant::now();
            if last
                .get(&t.session)
                .is_some_and(|at| now.duration_since(*at) < MIN_INTERVAL)
            {
                return;
            }
            last.insert(t.session, now);
            last.retain(|_, at| now.duration_since(*at) < MIN_INTERVAL);
        }
        let this = self.clone();
        tokio::spawn(async move { this.tell(t, reason).await });
    }

    async fn tell(&self, t: Transition, reason: &'static str) {
        let names = async {
            let session = self.store.get_session(t.session).await.ok().flatten()?;
            let env = self
                .store
                .get_environment(t.environment)
                .await
                .ok()
                .flatten()?;
            Some((session.name.to_string(), env.name.to_string()))
        };
        let Some((session, environment)) = names.await else {
            return;
        };
        let detail = t.now.detail.clone();
        let title = format!("{session} {reason}");
        let text = match &detail {
            Some(d) => format!("Craftastic: {session} in {environment} {reason}: {d}"),
            None => format!("Craftastic: {session} in {environment} {reason}"),
        };
        let notice = Notice {
            session_id: t.session,
            environment_id: t.environment,
            state: t.now.state.as_str(),
            title,
            text,
            detail,
        };
        let settings = match self.store.get_notification_settings(t.owner).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "could not read notification settings");
                return;
            }
        };
        if settings.browser {
            self.events
                .publish(t.owner, Event::Notification(notice.clone()));
        }
        match self.webhook(t.owner, &settings) {
            Ok(Some(url)) => {
                if let Err(why) = post(&url, &notice, self.allow_local).await {
                    tracing::warn!(user = %t.owner, reason = %why, "a notification webhook failed");
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(user = %t.owner, error = %e, "could not open a notification webhook")
            }
        }
    }

    /// The user's webhook, opened from their `settings`.
    fn webhook(
        &self,
        user: UserId,
        settings: &NotificationSettings,
    ) -> ServiceResult<Option<WebhookUrl>> {
        let Some(sealed) = &settings.webhook_sealed else {
            return Ok(None);
        };
        let plain = self
            .cipher
            .open(sealed, &webhook_context(user))
            .map_err(|e| ServiceError::Internal(format!("a sealed webhook does not open: {e}")))?;
        let url = String::from_utf8(plain)
            .map_err(|_| ServiceError::Internal("a sealed webhook is not text".into()))?;
        WebhookUrl::parse(&url)
            .map(Some)
            .map_err(|e| ServiceError::Internal(format!("a sealed webhook is invalid: {e}")))
    }
}

fn view(s: &NotificationSettings) -> SettingsView {
    SettingsView {
        browser: s.browser,
        webhook: s.webhook_sealed.is_some(),
    }
}

/// Why the change is worth telling, or `None`.
fn worth_telling(t: &Transition) -> Option<&'static str> {
    match t.now.state {
        ActivityState::Permission => Some("asks to approve an action"),
        ActivityState::Waiting => Some("waits for you"),
        ActivityState::Idle => {
            let previous = t.previous.as_ref()?;
            let worked = (t.now.since - previous.since).to_std().unwrap_or_default();
            (previous.state == ActivityState::Working && worked >= WORKED_FOR)
                .then_some("finished its turn")
        }
        ActivityState::Exited => t
            .now
            .detail
            .as_deref()
            .filter(|d| d.starts_with("status ") && *d != "status 0")
            .map(|_| "exited with an error"),
        ActivityState::Working | ActivityState::Unknown => None,
    }
}

/// Whether the server may send a webhook to `ip`.
fn allowed(ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast())
        }
        IpAddr::V6(v6) => {
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (v6.segments()[0] & 0xffc0) == 0xfe80)
        }
    }
}

/// POSTs the notice to the webhook; the text says why it failed.
async fn post(url: &WebhookUrl, notice: &Notice, allow_local: bool) -> Result<(), String> {
    let host = url.host();
    let port = if url.as_str().starts_with("https://") {
        443
    } else {
        80
    };
    let resolved: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::time::timeout(WEBHOOK_DEADLINE, tokio::net::lookup_host((host, port)))
            .await
            .map_err(|_| format!("{host} did not resolve within {WEBHOOK_DEADLINE:?}"))?
            .map_err(|e| format!("{host} does not resolve: {e}"))?
            .collect(),
    };
    let addr = resolved
        .iter()
        .copied()
        .find(|a| allow_local || allowed(a.ip()))
        .ok_or_else(|| {
            format!("{host} is a loopback, link-local or otherwise local address; notifications are not sent there unless NOTIFY_LOCAL_WEBHOOKS=true")
        })?;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(WEBHOOK_DEADLINE)
        .resolve(host, addr)
        .build()
        .map_err(|e| format!("no HTTP client: {e}"))?;
    let answer = client
        .post(url.as_str())
        .json(notice)
        .send()
        .await
        .map_err(|e| format!("the webhook did not answer: {}", without_url(&e)))?;
    if answer.status().is_success() {
        Ok(())
    } else {
        Err(format!("the webhook answered {}", answer.status()))
    }
}

/// reqwest's errors print the URL, which is a secret.
fn without_url(e: &reqwest::Error) -> String {
    let mut e = e.to_string();
    if let Some(i) = e.find(" for url (") {
        e.truncate(i);
    }
    e
}

#[cfg(test)]
mod tests;
