use std::fmt;

use serde::Serialize;

use crate::ValidationError;

/// A file of a worktree as git names it: relative to the worktree's top, `/`-separated,
/// without `.`/`..` steps, and never starting with `-` (so that no git command can take it
/// for an option).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct RepoPath(String);

impl RepoPath {
    pub const MAX_BYTES: usize = 4096;

    pub fn parse(field: &'static str, raw: &str) -> Result<Self, ValidationError> {
        let bad = |m: String| ValidationError::new(field, m);
        if raw.is_empty() {
            return Err(bad("a file path must not be empty".into()));
        }
        if raw.len() > Self::MAX_BYTES {
            return Err(bad(format!(
                "a file path must be at most {} bytes",
                Self::MAX_BYTES
            )));
        }
        if raw.chars().any(char::is_control) {
            return Err(bad(format!(
                "the file path {raw:?} contains a control character"
            )));
        }
        if raw.starts_with('-') {
            return Err(bad(format!(
                "the file path {raw:?} starts with '-'; name it as ./{raw}"
            )));
        }
        if raw.starts_with('/') {
            return Err(bad(format!(
                "the file path {raw:?} is absolute; give it relative to the top of the worktree"
            )));
        }
        let mut parts: Vec<&str> = Vec::new();
        for part in raw.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    if parts.pop().is_none() {
                        return Err(bad(format!(
                            "the file path {raw:?} leads outside the worktree"
                        )));
                    }
                }
                p => parts.push(p),
            }
        }
        if parts.is_empty() {
            return Err(bad(format!("the file path {raw:?} names no file")));
        }
        if parts[0] == ".git" {
            return Err(bad(format!(
                "the file path {raw:?} is inside .git, which is not part of the worktree"
            )));
        }
        Ok(Self(parts.join("/")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path as a pathspec that git takes literally (no globs, no magic).
    pub fn pathspec(&self) -> String {
        format!(":(literal){}", self.0)
    }
}

impl fmt::Display for RepoPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The name of a git remote: letters, digits, `.`, `_` and `-`, starting with a letter or
/// digit, at most 100 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct RemoteName(String);

impl RemoteName {
    pub const DEFAULT: &'static str = "origin";

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let name = raw.trim();
        let valid = !name.is_empty()
            && name.len() <= 100
            && name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && !name.ends_with(".lock")
            && !name.contains("..")
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !valid {
            return Err(ValidationError::new(
                "remote",
                format!(
                    "{name:?} is not a remote name: use letters, digits, '.', '_' and '-', starting with a letter or digit (e.g. origin)"
                ),
            ));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn origin() -> Self {
        Self(Self::DEFAULT.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RemoteName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A commit message: not blank, at most [`CommitMessage::MAX_BYTES`]. Line endings are
/// normalised to `\n`; git itself strips trailing blank lines and `#` comments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitMessage(String);

impl CommitMessage {
    pub const MAX_BYTES: usize = 32 * 1024;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let bad = |m: String| ValidationError::new("message", m);
        let text = raw.replace("\r\n", "\n");
        if text.trim().is_empty() {
            return Err(bad(
                "the commit message is empty; say what the commit does".into()
            ));
        }
        if text.len() > Self::MAX_BYTES {
            return Err(bad(format!(
                "the commit message is {} bytes; keep it under {} (put long notes in a file)",
                text.len(),
                Self::MAX_BYTES
            )));
        }
        if text.contains('\0') {
            return Err(bad("the commit message contains a NUL character".into()));
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_paths_are_normalised() {
        for (raw, want) in [
            ("a.txt", "a.txt"),
            ("src/./lib.rs", "src/lib.rs"),
            ("src//x/../lib.rs", "src/lib.rs"),
            ("dir/", "dir"),
            ("with space/ü.md", "with space/ü.md"),
        ] {
            assert_eq!(
                RepoPath::parse("file", raw).unwrap().as_str(),
                want,
                "{raw}"
            );
        }
    }

    #[test]
    fn repo_paths_that_escape_or_look_like_options_are_refused() {
        for raw in [
            "",
            "../etc/passwd",
            "a/../../b",
            "/etc/passwd",
            "-rf",
            "--output=x",
            ".",
            "a/..",
            ".git/config",
            "a\nb",
            "a\0b",
        ] {
            let e = RepoPath::parse("files", raw).unwrap_err();
            assert_eq!(e.field, "files", "{raw}");
        }
        assert!(RepoPath::parse("file", &"a".repeat(5000)).is_err());
    }

    #[test]
    fn pathspecs_are_literal() {
        assert_eq!(
            RepoPath::parse("file", "*.rs").unwrap().pathspec(),
            ":(literal)*.rs"
        );
    }

    #[test]
    fn remote_names() {
        assert_eq!(RemoteName::parse("origin").unwrap().as_str(), "origin");
        assert_eq!(
            RemoteName::parse("up-stream_2").unwrap().as_str(),
            "up-stream_2"
        );
        for raw in [
            "",
            "-x",
            "a b",
            "a/b",
            "a..b",
            "x.lock",
            "https://x",
            &"a".repeat(101),
        ] {
            assert!(RemoteName::parse(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn commit_messages() {
        assert_eq!(
            CommitMessage::parse("Fix it\r\n\r\nBecause.")
                .unwrap()
                .as_str(),
            "Fix it\n\nBecause."
        );
        assert!(CommitMessage::parse("").is_err());
        assert!(CommitMessage::parse(" \n\t").is_err());
        assert!(CommitMessage::parse(&"x".repeat(100 * 1024)).is_err());
        assert!(CommitMessage::parse(&"x".repeat(CommitMessage::MAX_BYTES)).is_ok());
    }
}
