use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use serde::Serialize;

use crate::ValidationError;

/// One entry of an egress allowlist: a DNS name (`github.com`), or `*.` and a name
/// (`*.githubusercontent.com`), which allows every subdomain of that name but not the name
/// itself. Lower case, without a trailing dot, a scheme, a port, a path or an IP address:
/// what the policy allows is a host, on whatever port the enforcement lets through.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct EgressHost(String);

impl EgressHost {
    /// The longest DNS name (RFC 1035), wildcard included.
    pub const MAX_CHARS: usize = 253;
    const MAX_LABEL: usize = 63;
    const WILDCARD: &'static str = "*.";

    /// Parses one host as a person would write it; the error is a sentence naming the
    /// host and what to write instead (the caller adds where it stood).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err("is empty; write a host name such as github.com".into());
        }
        let shown = quoted(trimmed);
        if let Some(host) = url_host(trimmed) {
            return Err(format!("{shown} is not a host name; write {host}"));
        }
        if !trimmed.is_ascii() {
            return Err(format!(
                "{shown} has characters other than ASCII; write an internationalized name in its punycode form (xn--…)"
            ));
        }
        let lower = trimmed.to_ascii_lowercase();
        let name = lower.strip_suffix('.').unwrap_or(&lower);
        if is_ip_literal(name) {
            return Err(format!(
                "{shown} is an IP address; an egress policy allows host names only"
            ));
        }
        if let Some((host, _)) = name.split_once('/') {
            return Err(format!("{shown} has a path; write the host alone: {host}"));
        }
        if let Some((_, host)) = name.rsplit_once('@') {
            return Err(format!(
                "{shown} has a user name; write the host alone: {host}"
            ));
        }
        if let Some((host, port)) = name.rsplit_once(':') {
            return Err(format!(
                "{shown} has a port (:{port}); write the host alone: {host}"
            ));
        }
        if name == "*" {
            return Err(format!(
                "{shown} would allow every host; choose mode open instead"
            ));
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(format!(
                "{shown} is longer than {} characters",
                Self::MAX_CHARS
            ));
        }
        let (wildcard, base) = match name.strip_prefix(Self::WILDCARD) {
            Some(base) => (true, base),
            None => (false, name),
        };
        if base.contains('*') {
            return Err(format!(
                "{shown}: '*' may only stand first, as '*.' before a name (e.g. *.example.com)"
            ));
        }
        let labels: Vec<&str> = base.split('.').collect();
        for label in &labels {
            if let Some(why) = label_problem(label) {
                return Err(format!("{shown} is not a valid host name: {why}"));
            }
        }
        if labels.len() < 2 {
            return Err(match wildcard {
                true => format!(
                    "{shown} would allow a whole top-level domain; name at least two labels after '*.' (e.g. *.example.com)"
                ),
                false => format!(
                    "{shown} is not a public host name; name at least two labels (e.g. example.com)"
                ),
            });
        }
        if labels
            .last()
            .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(format!(
                "{shown} is not a host name: its last label is a number (an IP address in disguise?)"
            ));
        }
        Ok(Self(name.to_owned()))
    }

    /// For values read back from storage, which were validated when written.
    pub fn from_trusted(host: String) -> Self {
        Self(host)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_wildcard(&self) -> bool {
        self.0.starts_with(Self::WILDCARD)
    }

    /// Whether this entry allows `host`, already normalised by [`normalised_host`]: the
    /// same name, or for `*.name` any name below it (at any depth).
    fn matches(&self, host: &str) -> bool {
        match self.0.strip_prefix('*') {
            Some(suffix) => host.len() > suffix.len() && host.ends_with(suffix),
            None => host == self.0,
        }
    }
}

impl fmt::Display for EgressHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a workspace of an environment may connect to outside the server.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum EgressPolicy {
    /// Anywhere (the default, and how environments behaved before policies existed).
    #[default]
    Open,
    /// Nowhere.
    None,
    /// Only these hosts (never empty, no duplicates, in the order given).
    Allowlist(Vec<EgressHost>),
}

impl EgressPolicy {
    /// Enough for a project's registries, forges and APIs; a longer list is a sign that the
    /// environment wants `open`.
    pub const MAX_HOSTS: usize = 100;
    pub const MODES: [&'static str; 3] = ["open", "none", "allowlist"];

    /// A policy from the API's `{mode, hosts}`. Hosts are normalised (lower case, no
    /// trailing dot) and duplicates dropped; the first bad host is named with its index.
    pub fn parse(mode: &str, hosts: &[String]) -> Result<Self, ValidationError> {
        let hosts_error = |m: String| ValidationError::new("egressPolicy.hosts", m);
        match mode {
            "open" | "none" if !hosts.is_empty() => Err(hosts_error(format!(
                "egressPolicy.hosts apply only to mode allowlist; leave them out for mode {mode}"
            ))),
            "open" => Ok(Self::Open),
            "none" => Ok(Self::None),
            "allowlist" => {
                let mut parsed: Vec<EgressHost> =
                    Vec::with_capacity(hosts.len().min(Self::MAX_HOSTS));
                for (i, raw) in hosts.iter().enumerate() {
                    let host = EgressHost::parse(raw)
                        .map_err(|why| hosts_error(format!("egressPolicy.hosts[{i}]: {why}")))?;
                    if !parsed.contains(&host) {
                        parsed.push(host);
                    }
                    if parsed.len() > Self::MAX_HOSTS {
                        return Err(hosts_error(format!(
                            "egressPolicy.hosts may name at most {} hosts; allow a parent domain with *. or choose mode open",
                            Self::MAX_HOSTS
                        )));
                    }
                }
                if parsed.is_empty() {
                    return Err(hosts_error(
                        "an allowlist needs at least one host (e.g. github.com); choose mode none to allow no host at all".into(),
                    ));
                }
                Ok(Self::Allowlist(parsed))
            }
            other => Err(ValidationError::new(
                "egressPolicy.mode",
                format!(
                    "egressPolicy.mode must be one of {}; {} is not one of them",
                    Self::MODES.join(", "),
                    quoted(other)
                ),
            )),
        }
    }

    /// For values read back from storage, which were validated when written.
    pub fn from_trusted(mode: &str, hosts: Vec<String>) -> Option<Self> {
        match mode {
            "open" => Some(Self::Open),
            "none" => Some(Self::None),
            "allowlist" => Some(Self::Allowlist(
                hosts.into_iter().map(EgressHost::from_trusted).collect(),
            )),
            _ => None,
        }
    }

    pub fn mode(&self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::None => "none",
            Self::Allowlist(_) => "allowlist",
        }
    }

    /// The allowed hosts; empty unless the mode is `allowlist`.
    pub fn hosts(&self) -> &[EgressHost] {
        match self {
            Self::Allowlist(hosts) => hosts,
            _ => &[],
        }
    }

    /// Whether a workspace under this policy may connect to `host` (a DNS name as a client
    /// asked for it, without a port): any case, a trailing dot ignored. An IP address or
    /// anything else that is not a DNS name is allowed only by `open`.
    pub fn allows(&self, host: &str) -> bool {
        match self {
            Self::Open => true,
            Self::None => false,
            Self::Allowlist(entries) => normalised_host(host)
                .is_some_and(|host| entries.iter().any(|entry| entry.matches(&host))),
        }
    }
}

impl Serialize for EgressPolicy {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Shape<'a> {
            mode: &'a str,
            hosts: &'a [EgressHost],
        }
        Shape {
            mode: self.mode(),
            hosts: self.hosts(),
        }
        .serialize(serializer)
    }
}

/// `host` lower-cased without its trailing dot, if it is a DNS name at all.
fn normalised_host(host: &str) -> Option<String> {
    let lower = host.trim().to_ascii_lowercase();
    let name = lower.strip_suffix('.').unwrap_or(&lower);
    let valid = !name.is_empty()
        && name.len() <= EgressHost::MAX_CHARS
        && name.split('.').all(|label| label_problem(label).is_none());
    valid.then(|| name.to_owned())
}

/// Why `label` cannot be one label of a host name (RFC 1123), if it cannot.
fn label_problem(label: &str) -> Option<String> {
    if label.is_empty() {
        return Some("it has an empty label (two dots in a row, or a dot at the start)".into());
    }
    if label.len() > EgressHost::MAX_LABEL {
        return Some(format!(
            "the label {} is longer than {} characters",
            quoted(label),
            EgressHost::MAX_LABEL
        ));
    }
    if let Some(c) = label
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Some(format!(
            "{} is not allowed (only letters, digits, '-' and '.')",
            quoted(&c.to_string())
        ));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Some(format!(
            "the label {} starts or ends with '-'",
            quoted(label)
        ));
    }
    None
}

/// The host of `raw` when it is written as a URL (`https://github.com/x` → `github.com`).
fn url_host(raw: &str) -> Option<String> {
    let (_, rest) = raw.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    let host = host.to_ascii_lowercase();
    Some(if host.is_empty() {
        "the host alone".into()
    } else {
        host
    })
}

/// An IPv4 address, or an IPv6 one with or without brackets (and a port after them).
fn is_ip_literal(name: &str) -> bool {
    if name.parse::<IpAddr>().is_ok() {
        return true;
    }
    name.strip_prefix('[')
        .and_then(|rest| rest.split(']').next())
        .is_some_and(|v6| v6.parse::<Ipv6Addr>().is_ok())
        || name
            .rsplit_once(':')
            .is_some_and(|(host, _)| host.parse::<IpAddr>().is_ok())
}

/// A value to show in a message, cut short so that a huge input does not fill the answer.
fn quoted(raw: &str) -> String {
    const SHOWN: usize = 80;
    match raw.chars().count() > SHOWN {
        true => format!("'{}…'", raw.chars().take(SHOWN).collect::<String>()),
        false => format!("'{raw}'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(list: &[&str]) -> Vec<String> {
        list.iter().map(|h| (*h).to_owned()).collect()
    }

    fn allowlist(list: &[&str]) -> EgressPolicy {
        EgressPolicy::parse("allowlist", &hosts(list)).unwrap()
    }

    #[test]
    fn hosts_are_normalised() {
        for (raw, stored) in [
            ("github.com", "github.com"),
            ("  GitHub.COM. ", "github.com"),
            ("registry.npmjs.org", "registry.npmjs.org"),
            ("*.githubusercontent.com", "*.githubusercontent.com"),
            ("*.GitHubUserContent.com.", "*.githubusercontent.com"),
            ("xn--bcher-kva.example", "xn--bcher-kva.example"),
            ("a-b.c0.io", "a-b.c0.io"),
            ("1password.com", "1password.com"),
        ] {
            assert_eq!(EgressHost::parse(raw).unwrap().as_str(), stored, "{raw:?}");
        }
        let longest = format!(
            "{}.{}.{}.{}",
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(61)
        );
        assert_eq!(longest.len(), 253);
        assert!(EgressHost::parse(&longest).is_ok());
        assert!(EgressHost::parse(&format!("x{longest}")).is_err());
        assert!(EgressHost::parse(&format!("{}.com", "a".repeat(63))).is_ok());
        assert!(EgressHost::parse(&format!("{}.com", "a".repeat(64))).is_err());
    }

    #[test]
    fn bad_hosts_say_what_to_write() {
        for (raw, says) in [
            ("", "is empty"),
            ("   ", "is empty"),
            (
                "https://github.com",
                "'https://github.com' is not a host name; write github.com",
            ),
            ("http://user@Example.com:8080/x?y", "write example.com"),
            (
                "github.com/ada/app",
                "has a path; write the host alone: github.com",
            ),
            (
                "github.com:443",
                "has a port (:443); write the host alone: github.com",
            ),
            (
                "ada@github.com",
                "has a user name; write the host alone: github.com",
            ),
            ("10.0.0.1", "is an IP address"),
            ("127.0.0.1:22", "is an IP address"),
            ("::1", "is an IP address"),
            ("[::1]", "is an IP address"),
            ("[2001:db8::1]:443", "is an IP address"),
            ("1.2.3", "its last label is a number"),
            ("0x7f.1", "its last label is a number"),
            ("localhost", "name at least two labels"),
            ("*.com", "would allow a whole top-level domain"),
            ("*", "choose mode open instead"),
            ("*.", "choose mode open instead"),
            ("*.*.example.com", "'*' may only stand first"),
            ("foo.*.example.com", "'*' may only stand first"),
            ("a*.example.com", "'*' may only stand first"),
            ("a..b.com", "empty label"),
            (".example.com", "empty label"),
            ("-a.example.com", "starts or ends with '-'"),
            ("a-.example.com", "starts or ends with '-'"),
            ("a_b.example.com", "'_' is not allowed"),
            ("a b.com", "' ' is not allowed"),
            ("bücher.de", "punycode"),
        ] {
            let error = EgressHost::parse(raw).unwrap_err();
            assert!(error.contains(says), "{raw:?}: {error}");
        }
        let huge = "a".repeat(10_000);
        assert!(
            EgressHost::parse(&huge).unwrap_err().len() < 300,
            "the message stays short"
        );
    }

    #[test]
    fn policies_parse_from_the_api_shape() {
        assert_eq!(
            EgressPolicy::parse("open", &[]).unwrap(),
            EgressPolicy::Open
        );
        assert_eq!(
            EgressPolicy::parse("none", &[]).unwrap(),
            EgressPolicy::None
        );
        let list = allowlist(&["github.com", "GITHUB.com.", "*.npmjs.org", "github.com"]);
        assert_eq!(
            list.hosts()
                .iter()
                .map(EgressHost::as_str)
                .collect::<Vec<_>>(),
            ["github.com", "*.npmjs.org"],
            "duplicates go, order stays"
        );
        assert_eq!(list.mode(), "allowlist");
        assert!(list.hosts()[1].is_wildcard());

        let error = EgressPolicy::parse(
            "allowlist",
            &hosts(&["github.com", "api.anthropic.com", "https://github.com"]),
        )
        .unwrap_err();
        assert_eq!(error.field, "egressPolicy.hosts");
        assert_eq!(
            error.message,
            "egressPolicy.hosts[2]: 'https://github.com' is not a host name; write github.com"
        );
        let empty = EgressPolicy::parse("allowlist", &[]).unwrap_err();
        assert!(empty.message.contains("at least one host"), "{empty}");
        let blank = EgressPolicy::parse("allowlist", &hosts(&[""])).unwrap_err();
        assert!(blank.message.starts_with("egressPolicy.hosts[0]: is empty"));
        let mode = EgressPolicy::parse("closed", &[]).unwrap_err();
        assert_eq!(mode.field, "egressPolicy.mode");
        assert_eq!(
            mode.message,
            "egressPolicy.mode must be one of open, none, allowlist; 'closed' is not one of them"
        );
        let stray = EgressPolicy::parse("open", &hosts(&["github.com"])).unwrap_err();
        assert!(stray.message.contains("only to mode allowlist"), "{stray}");
    }

    #[test]
    fn at_most_a_hundred_hosts_after_duplicates_go() {
        let many: Vec<String> = (0..EgressPolicy::MAX_HOSTS)
            .map(|i| format!("h{i}.example.com"))
            .collect();
        let mut with_dupes = many.clone();
        with_dupes.extend(many.iter().cloned());
        assert_eq!(
            EgressPolicy::parse("allowlist", &with_dupes)
                .unwrap()
                .hosts()
                .len(),
            EgressPolicy::MAX_HOSTS
        );
        let mut too_many = many;
        too_many.push("one-more.example.com".into());
        let error = EgressPolicy::parse("allowlist", &too_many).unwrap_err();
        assert!(error.message.contains("at most 100 hosts"), "{error}");
    }

    #[test]
    fn allows_exact_names_and_subdomains_of_wildcards() {
        let policy = allowlist(&["github.com", "*.githubusercontent.com", "api.anthropic.com"]);
        for (host, allowed) in [
            ("github.com", true),
            ("GitHub.Com", true),
            ("github.com.", true),
            (" github.com ", true),
            ("api.github.com", false),
            ("github.com.evil.io", false),
            ("evilgithub.com", false),
            ("raw.githubusercontent.com", true),
            ("a.b.githubusercontent.com", true),
            ("RAW.GitHubUserContent.com.", true),
            ("githubusercontent.com", false),
            ("xgithubusercontent.com", false),
            (".githubusercontent.com", false),
            ("a..githubusercontent.com", false),
            ("api.anthropic.com", true),
            ("anthropic.com", false),
            ("140.82.112.3", false),
            ("", false),
            (".", false),
            ("github.com:443", false),
            ("github.com..", false),
        ] {
            assert_eq!(policy.allows(host), allowed, "{host:?}");
        }
        assert!(EgressPolicy::Open.allows("anything.example.com"));
        assert!(EgressPolicy::Open.allows("10.0.0.1"));
        assert!(!EgressPolicy::None.allows("github.com"));
    }

    #[test]
    fn serializes_as_mode_and_hosts_and_reads_back() {
        let policy = allowlist(&["github.com", "*.npmjs.org"]);
        let json = serde_json::to_value(&policy).unwrap();
        assert_eq!(
            json,
            serde_json::json!({ "mode": "allowlist", "hosts": ["github.com", "*.npmjs.org"] })
        );
        assert_eq!(
            serde_json::to_value(EgressPolicy::None).unwrap(),
            serde_json::json!({ "mode": "none", "hosts": [] })
        );
        let back = EgressPolicy::from_trusted(
            policy.mode(),
            policy.hosts().iter().map(|h| h.to_string()).collect(),
        );
        assert_eq!(back, Some(policy));
        assert_eq!(
            EgressPolicy::from_trusted("open", vec![]),
            Some(EgressPolicy::Open)
        );
        assert_eq!(EgressPolicy::from_trusted("closed", vec![]), None);
        assert_eq!(EgressPolicy::default(), EgressPolicy::Open);
    }
}
