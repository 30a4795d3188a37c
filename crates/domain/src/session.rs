use std::fmt;

use serde::Serialize;

use crate::ValidationError;

/// A session's name: what the user calls it, unique within its environment. Letters,
/// digits, `.`, `_` and `-`, starting with a letter or digit, at most 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct SessionName(String);

impl SessionName {
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

impl fmt::Display for SessionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a session's shell starts: an absolute, normalised path inside the worktree
/// (`/workspace` or below). Given relative, it is taken from `/workspace`; `.` and `..`
/// are resolved here, and a path that would leave `/workspace` is refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct WorkingDirectory(String);

impl WorkingDirectory {
    pub const ROOT: &'static str = "/workspace";
    const MAX_BYTES: usize = 1024;

    pub fn root() -> Self {
        Self(Self::ROOT.to_owned())
    }

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let bad = |m: &str| ValidationError::new("workingDirectory", m);
        if raw.len() > Self::MAX_BYTES {
            return Err(bad("workingDirectory must be at most 1024 bytes"));
        }
        if raw.chars().any(char::is_control) {
            return Err(bad("workingDirectory must not contain control characters"));
        }
        let rest = if raw.starts_with('/') {
            match raw.strip_prefix(Self::ROOT) {
                Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
                _ => {
                    return Err(bad(
                        "workingDirectory must be inside /workspace (e.g. /workspace/src or src)",
                    ));
                }
            }
        } else {
            raw
        };
        let mut parts: Vec<&str> = Vec::new();
        for part in rest.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    if parts.pop().is_none() {
                        return Err(bad(
                            "workingDirectory must stay inside /workspace; '..' leads out of it",
                        ));
                    }
                }
                p => parts.push(p),
            }
        }
        let mut path = Self::ROOT.to_owned();
        for p in parts {
            path.push('/');
            path.push_str(p);
        }
        Ok(Self(path))
    }

    pub fn from_trusted(path: String) -> Self {
        Self(path)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WorkingDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names() {
        assert!(SessionName::parse("dev-1").is_ok());
        assert_eq!(SessionName::parse("  a.b ").unwrap().as_str(), "a.b");
        for bad in ["", "-x", "a b", "../x", "a/b", &"x".repeat(65)] {
            assert!(SessionName::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn working_directories_stay_inside_the_worktree() {
        let ok = |raw: &str| WorkingDirectory::parse(raw).unwrap().0;
        assert_eq!(ok(""), "/workspace");
        assert_eq!(ok("/workspace"), "/workspace");
        assert_eq!(ok("/workspace/"), "/workspace");
        assert_eq!(ok("src"), "/workspace/src");
        assert_eq!(ok("./src/../lib//x/"), "/workspace/lib/x");
        assert_eq!(ok("/workspace/a/.."), "/workspace");
        for bad in [
            "..",
            "../..",
            "src/../../etc",
            "/etc",
            "/workspaces",
            "/workspace/../etc",
            "a\nb",
        ] {
            assert!(
                WorkingDirectory::parse(bad).is_err(),
                "{bad:?} was accepted"
            );
        }
    }
}
