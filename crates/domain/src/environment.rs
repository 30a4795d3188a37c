use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::ValidationError;

/// An environment's name: what the user calls it, unique among their environments.
/// Letters, digits, `.`, `_` and `-`, starting with a letter or digit, at most 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct EnvironmentName(String);

impl EnvironmentName {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let bad = |m: &str| ValidationError::new("name", m);
        let name = raw.trim();
        if name.is_empty() {
            return Err(bad("name is required"));
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(bad("name must be at most 64 characters"));
        }
        if !name.starts_with(|c: char| c.is_ascii_alphanumeric())
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(bad(
                "name may contain only letters, digits, '.', '_' and '-', and must start with a letter or digit",
            ));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn from_trusted(name: String) -> Self {
        Self(name)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EnvironmentName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A branch name that git accepts (the rules of `git check-ref-format --branch`), checked
/// here so that no invalid name ever reaches a git command line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct BranchName(String);

impl BranchName {
    pub const MAX_BYTES: usize = 200;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let bad = |m: String| ValidationError::new("branch", m);
        let name = raw;
        if name.is_empty() {
            return Err(bad("branch is required".into()));
        }
        if name.len() > Self::MAX_BYTES {
            return Err(bad(format!(
                "branch must be at most {} bytes",
                Self::MAX_BYTES
            )));
        }
        let why = if name.starts_with('-') {
            Some("must not start with '-'")
        } else if name == "@" || name.contains("@{") {
            Some("must not be '@' or contain '@{'")
        } else if name.contains("..") {
            Some("must not contain '..'")
        } else if name
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || "~^:?*[\\".contains(c))
        {
            Some("must not contain spaces, control characters or any of ~ ^ : ? * [ \\")
        } else if name.starts_with('/') || name.ends_with('/') || name.contains("//") {
            Some("must not start or end with '/' or contain '//'")
        } else if name.ends_with('.') {
            Some("must not end with '.'")
        } else if name
            .split('/')
            .any(|part| part.starts_with('.') || part.ends_with(".lock"))
        {
            Some("no part may start with '.' or end with '.lock'")
        } else {
            None
        };
        match why {
            Some(why) => Err(bad(format!(
                "branch {name:?} is not a valid git branch name: it {why}"
            ))),
            None => Ok(Self(name.to_owned())),
        }
    }

    pub fn from_trusted(name: String) -> Self {
        Self(name)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A short, DNS-safe form for container names and hostnames (not unique on its own).
    pub fn slug(&self) -> String {
        let mut slug: String = self
            .0
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        slug.truncate(40);
        slug.trim_matches('-').to_owned()
    }
}

impl fmt::Display for BranchName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which repositories this server may clone: URL schemes (`https`, `ssh`, `http`) and host
/// folders whose repositories may be cloned by path.
#[derive(Debug, Clone, Default)]
pub struct RepoPolicy {
    pub schemes: BTreeSet<String>,
    pub local_roots: Vec<PathBuf>,
}

impl RepoPolicy {
    /// The value for git's `GIT_ALLOW_PROTOCOL`: only the transports this policy allows.
    pub fn git_allow_protocol(&self) -> String {
        let mut protocols: Vec<&str> = self.schemes.iter().map(String::as_str).collect();
        if !self.local_roots.is_empty() {
            protocols.push("file");
        }
        protocols.join(":")
    }
}

/// Where a repository comes from, checked against a [`RepoPolicy`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct RepositoryUrl(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepositoryKind {
    Http,
    Ssh,
    Local,
}

impl RepositoryUrl {
    pub const MAX_BYTES: usize = 2048;

    pub fn parse(raw: &str, policy: &RepoPolicy) -> Result<Self, ValidationError> {
        let bad = |m: String| ValidationError::new("repositoryUrl", m);
        let url = raw.trim();
        if url.is_empty() {
            return Err(bad(
                "repositoryUrl is empty; leave it out to start from an empty repository".into(),
            ));
        }
        if url.len() > Self::MAX_BYTES {
            return Err(bad(format!(
                "repositoryUrl must be at most {} bytes",
                Self::MAX_BYTES
            )));
        }
        if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(bad(
                "repositoryUrl must not contain spaces or control characters".into(),
            ));
        }
        if url.starts_with('-') {
            return Err(bad("repositoryUrl must not start with '-'".into()));
        }
        if let Some(path) = url.strip_prefix("file://") {
            return Self::local(path, policy).map_err(bad);
        }
        if url.starts_with('/') {
            return Self::local(url, policy).map_err(bad);
        }
        if let Some((scheme, rest)) = url.split_once("://") {
            let scheme = scheme.to_ascii_lowercase();
            if !matches!(scheme.as_str(), "https" | "http" | "ssh") {
                return Err(bad(format!(
                    "repositoryUrl scheme {scheme}:// is not supported; use https:// or ssh://"
                )));
            }
            if !policy.schemes.contains(&scheme) {
                return Err(bad(format!(
                    "repositoryUrl scheme {scheme}:// is not allowed on this server (allowed: {})",
                    policy
                        .schemes
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            let authority = rest.split('/').next().unwrap_or_default();
            let (userinfo, host) = authority
                .rsplit_once('@')
                .map_or((None, authority), |(u, h)| (Some(u), h));
            if userinfo.is_some_and(|u| u.contains(':')) {
                return Err(bad(
                    "repositoryUrl must not carry a password or token; link your GitHub account instead".into(),
                ));
            }
            if host.is_empty()
                || host.starts_with('-')
                || !host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
            {
                return Err(bad(format!("repositoryUrl has an invalid host {host:?}")));
            }
            if rest.len() <= authority.len() + 1 {
                return Err(bad(
                    "repositoryUrl must name a repository path after the host".into(),
                ));
            }
            return Ok(Self(url.to_owned()));
        }
        if url.contains("::") {
            return Err(bad(
                "repositoryUrl must not use git's <transport>::<address> syntax".into(),
            ));
        }
        // scp-like ssh: [user@]host:path
        if let Some((authority, path)) = url.split_once(':') {
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            if !policy.schemes.contains("ssh") {
                return Err(bad(
                    "repositoryUrl uses ssh, which is not allowed on this server".into(),
                ));
            }
            if host.is_empty()
                || host.starts_with('-')
                || !host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-".contains(c))
                || path.is_empty()
                || path.starts_with('-')
            {
                return Err(bad(format!(
                    "repositoryUrl {url:?} is not a valid user@host:path address"
                )));
            }
            return Ok(Self(url.to_owned()));
        }
        Err(bad(
            "repositoryUrl must be https://…, ssh://… or user@host:path".into(),
        ))
    }

    fn local(path: &str, policy: &RepoPolicy) -> Result<Self, String> {
        if policy.local_roots.is_empty() {
            return Err("repositoryUrl: cloning local paths is not allowed on this server".into());
        }
        let canonical = Path::new(path)
            .canonicalize()
            .map_err(|_| format!("repositoryUrl: no repository at {path}"))?;
        let allowed = policy
            .local_roots
            .iter()
            .filter_map(|root| root.canonicalize().ok())
            .any(|root| canonical.starts_with(root));
        if !allowed {
            return Err(format!(
                "repositoryUrl: {path} is outside the folders this server may clone from"
            ));
        }
        Ok(Self(canonical.display().to_string()))
    }

    pub fn from_trusted(url: String) -> Self {
        Self(url)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn kind(&self) -> RepositoryKind {
        let lower = self.0.to_ascii_lowercase();
        if lower.starts_with("https://") || lower.starts_with("http://") {
            RepositoryKind::Http
        } else if self.0.starts_with('/') {
            RepositoryKind::Local
        } else {
            RepositoryKind::Ssh
        }
    }

    /// The host of an http(s) URL, lower-cased.
    pub fn http_host(&self) -> Option<String> {
        let rest = self.0.split_once("://")?.1;
        let authority = rest.split('/').next()?;
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        Some(host.to_ascii_lowercase())
    }
}

impl fmt::Display for RepositoryUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RepoPolicy {
        RepoPolicy {
            schemes: ["https", "ssh"].map(String::from).into(),
            local_roots: vec![],
        }
    }

    #[test]
    fn environment_names() {
        assert!(EnvironmentName::parse("my-app_2.0").is_ok());
        for bad in [
            "",
            "   ",
            "a/b",
            "has space",
            "-x",
            ".hidden",
            &"n".repeat(300),
        ] {
            assert!(EnvironmentName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn branch_names_follow_git() {
        for good in ["main", "feature/x", "fix-1.2", "user/ada/wip", "v1@2"] {
            assert!(BranchName::parse(good).is_ok(), "{good:?}");
        }
        for bad in [
            "a..b",
            "-x",
            "a@{1}",
            "@",
            "x.lock",
            "a/b.lock/c",
            "a b",
            "a~1",
            "a^",
            "a:b",
            "/a",
            "a/",
            "a//b",
            ".a",
            "a/.b",
            "a.",
            "a\\b",
            "a*",
            "a?",
            "a[",
            "",
        ] {
            assert!(BranchName::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            BranchName::parse("Feature/X_1").unwrap().slug(),
            "feature-x-1"
        );
    }

    #[test]
    fn repository_urls() {
        let p = policy();
        for good in [
            "https://github.com/ada/app.git",
            "ssh://git@github.com/ada/app.git",
            "git@github.com:ada/app.git",
        ] {
            assert!(RepositoryUrl::parse(good, &p).is_ok(), "{good:?}");
        }
        for bad in [
            "ext::sh -c touch% /tmp/pwned",
            "ext::ssh",
            "file:///etc",
            "/etc",
            "--upload-pack=touch /tmp/x",
            "ssh://-oProxyCommand=touch/x",
            "-oProxyCommand=x:y",
            "http://github.com/a/b",
            "ftp://x/y",
            "https://user:token@github.com/a/b",
            "https://github.com",
            "https://gith ub.com/a",
            "nohost",
        ] {
            assert!(RepositoryUrl::parse(bad, &p).is_err(), "{bad:?}");
        }
        assert_eq!(p.git_allow_protocol(), "https:ssh");
    }

    #[test]
    fn local_paths_only_under_roots() {
        let root = std::env::temp_dir().join(format!("craftastic-roots-{}", std::process::id()));
        std::fs::create_dir_all(root.join("repo")).unwrap();
        let p = RepoPolicy {
            schemes: ["https"].map(String::from).into(),
            local_roots: vec![root.clone()],
        };
        let ok = RepositoryUrl::parse(&format!("file://{}/repo", root.display()), &p).unwrap();
        assert_eq!(ok.kind(), RepositoryKind::Local);
        assert!(RepositoryUrl::parse(&format!("{}/repo/../../..", root.display()), &p).is_err());
        assert!(RepositoryUrl::parse("/etc", &p).is_err());
        assert_eq!(p.git_allow_protocol(), "https:file");
        std::fs::remove_dir_all(root).unwrap();
    }
}
