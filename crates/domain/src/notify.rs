//! Where a user's notifications go besides their browser.

use std::fmt;

use crate::ValidationError;

/// The longest webhook URL taken.
const MAX_LEN: usize = 2048;

/// An `http://` or `https://` URL with a host, to which the server POSTs a user's
/// notifications (ntfy, a Slack-compatible incoming webhook, or anything that takes JSON).
/// It is a secret (it often carries a token): sealed at rest, never shown again.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let bad = |m: &str| ValidationError::new("webhookUrl", m);
        let url = raw.trim();
        if url.is_empty() {
            return Err(bad("webhookUrl is empty; send null to remove the webhook"));
        }
        if url.len() > MAX_LEN {
            return Err(bad("webhookUrl must be at most 2048 bytes"));
        }
        if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad(
                "webhookUrl must not contain spaces or control characters",
            ));
        }
        if !url.starts_with("https://") && !url.starts_with("http://") {
            return Err(bad("webhookUrl must start with https:// or http://"));
        }
        if host_of(url).is_empty() {
            return Err(bad(
                "webhookUrl has no host, as in https://ntfy.sh/my-topic",
            ));
        }
        Ok(Self(url.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host, as written (without brackets for IPv6).
    pub fn host(&self) -> &str {
        host_of(&self.0)
    }
}

/// The host of an `http(s)://` URL: between the scheme (and any user info) and the port or
/// path, without the brackets of an IPv6 address.
fn host_of(url: &str) -> &str {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    }
}

/// Never prints the URL: it is a secret.
impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookUrl(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_with_a_host_over_http_are_taken_and_others_refused_with_a_reason() {
        for good in [
            "https://ntfy.sh/my-topic",
            "http://10.0.0.5:8080/hook?token=x",
            "https://user:pw@hooks.example.com/a",
            "https://[2001:db8::1]:8443/x",
        ] {
            assert!(WebhookUrl::parse(good).is_ok(), "{good}");
        }
        assert_eq!(
            WebhookUrl::parse("https://[2001:db8::1]:8443/x")
                .unwrap()
                .host(),
            "2001:db8::1"
        );
        assert_eq!(
            WebhookUrl::parse("http://u@h.example:80/").unwrap().host(),
            "h.example"
        );
        for (bad, says) in [
            ("", "empty"),
            ("ftp://example.com", "https://"),
            ("https://", "no host"),
            ("https:///path", "no host"),
            ("https://exa mple.com", "spaces"),
            ("file:///etc/passwd", "https://"),
        ] {
            let e = WebhookUrl::parse(bad).unwrap_err();
            assert!(e.message.contains(says), "{bad}: {}", e.message);
        }
        assert!(WebhookUrl::parse(&format!("https://a.example/{}", "x".repeat(3000))).is_err());
        assert_eq!(
            format!(
                "{:?}",
                WebhookUrl::parse("https://secret.example/t").unwrap()
            ),
            "WebhookUrl(…)"
        );
    }
}
