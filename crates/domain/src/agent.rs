use std::fmt;

use serde::Serialize;

use crate::ValidationError;

/// An agent's name: what the user calls it, unique among the user's agents. The same
/// rules as a session's name: letters, digits, `.`, `_` and `-`, starting with a letter or
/// digit, at most 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct AgentName(String);

impl AgentName {
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

    /// For values read back from storage, which were validated when written.
    pub fn from_trusted(name: String) -> Self {
        Self(name)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AgentName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which coding agent's CLI an agent starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgentType {
    ClaudeCode,
    GeminiCli,
    QwenCoder,
    CursorCli,
    Codex,
    OpenCode,
}

impl AgentType {
    pub const ALL: [Self; 6] = [
        Self::ClaudeCode,
        Self::GeminiCli,
        Self::QwenCoder,
        Self::CursorCli,
        Self::Codex,
        Self::OpenCode,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClaudeCode => "claude-code",
            Self::GeminiCli => "gemini-cli",
            Self::QwenCoder => "qwen-coder",
            Self::CursorCli => "cursor-cli",
            Self::Codex => "codex",
            Self::OpenCode => "opencode",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == raw)
            .ok_or_else(|| {
                ValidationError::new(
                    "type",
                    format!(
                        "type must be one of {}; {} is not one of them",
                        Self::ALL.map(Self::as_str).join(", "),
                        shown(raw)
                    ),
                )
            })
    }

    /// Whether this agent's CLI can be given `credential`: Cursor's CLI reads only an API
    /// key (`CURSOR_API_KEY`), its login keeps no file that could be filled in; OpenCode
    /// keeps keys per provider, so its API key must say which one (see
    /// [`AgentCredential::provider_key`]).
    pub fn accepts(self, credential: &AgentCredential) -> Result<(), ValidationError> {
        match (self, credential.kind()) {
            (Self::CursorCli, CredentialType::OAuth) => Err(ValidationError::new(
                "credential.type",
                "cursor-cli takes only an api-key credential (its CLI reads CURSOR_API_KEY); log in with `cursor-agent login` in the session instead",
            )),
            (Self::OpenCode, CredentialType::ApiKey) => credential.provider_key().map(|_| ()),
            _ => Ok(()),
        }
    }
}

impl fmt::Display for AgentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of secret an agent's credential is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialType {
    /// One token, handed to the CLI in its documented environment variable.
    ApiKey,
    /// The CLI's own OAuth credentials document (JSON), written where the CLI reads it.
    OAuth,
}

impl CredentialType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApiKey => "api-key",
            Self::OAuth => "oauth",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw {
            "api-key" => Ok(Self::ApiKey),
            "oauth" => Ok(Self::OAuth),
            other => Err(ValidationError::new(
                "credential.type",
                format!(
                    "credential.type must be api-key or oauth; {} is neither",
                    shown(other)
                ),
            )),
        }
    }
}

impl fmt::Display for CredentialType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An agent's credential as the user gave it. Never printed: `Debug` hides the value and
/// there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct AgentCredential {
    kind: CredentialType,
    value: String,
}

impl AgentCredential {
    /// The largest value accepted: far above any real key or OAuth document, and below the
    /// API's 64 KiB body limit so that a too-large value gets this rule's own answer.
    pub const MAX_BYTES: usize = 32 * 1024;

    /// An API key must be one token (surrounding whitespace is dropped); an OAuth credential
    /// must be a JSON object.
    pub fn parse(kind: CredentialType, raw: String) -> Result<Self, ValidationError> {
        let bad = |m: String| ValidationError::new("credential.value", m);
        if raw.len() > Self::MAX_BYTES {
            return Err(bad(format!(
                "credential.value must be at most {} KiB; this one is {} KiB",
                Self::MAX_BYTES / 1024,
                raw.len().div_ceil(1024)
            )));
        }
        let value = match kind {
            CredentialType::ApiKey => {
                let key = raw.trim();
                if key.is_empty() {
                    return Err(bad("credential.value is required: paste the API key".into()));
                }
                if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    return Err(bad(
                        "an api-key credential must be one token without spaces or line breaks"
                            .into(),
                    ));
                }
                key.to_owned()
            }
            CredentialType::OAuth => {
                match serde_json::from_str::<serde_json::Value>(&raw) {
                    Ok(serde_json::Value::Object(_)) => {}
                    Ok(_) => {
                        return Err(bad(
                            "an oauth credential must be a JSON object: the content of the CLI's credentials file"
                                .into(),
                        ));
                    }
                    Err(e) => {
                        return Err(bad(format!(
                            "an oauth credential must be a JSON object (the content of the CLI's credentials file); it does not parse: line {} column {}",
                            e.line(),
                            e.column()
                        )));
                    }
                }
                raw
            }
        };
        Ok(Self { kind, value })
    }

    /// For values read back from storage, which were validated when written.
    pub fn from_trusted(kind: CredentialType, value: String) -> Self {
        Self { kind, value }
    }

    pub fn kind(&self) -> CredentialType {
        self.kind
    }

    /// The secret itself, for sealing or for handing to the CLI.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// An OpenCode API key split into its provider and the key: `anthropic:sk-ant-…`
    /// gives `("anthropic", "sk-ant-…")`. The provider is OpenCode's id of it (as in
    /// `opencode auth login` and models.dev): lower-case letters, digits, `.`, `_` and `-`.
    pub fn provider_key(&self) -> Result<(&str, &str), ValidationError> {
        let bad = || {
            ValidationError::new(
                "credential.value",
                "an opencode api-key names its provider before the key, as provider:key, e.g. anthropic:sk-ant-… or openai:sk-…",
            )
        };
        let (provider, key) = self.value.split_once(':').ok_or_else(bad)?;
        let valid = !provider.is_empty()
            && provider.len() <= 64
            && provider.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && provider.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
            });
        if !valid || key.is_empty() {
            return Err(bad());
        }
        Ok((provider, key))
    }
}

impl fmt::Debug for AgentCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentCredential")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// User input quoted in a message: at most 40 characters, so that a long value does not
/// fill the answer.
fn shown(raw: &str) -> String {
    let cut: String = raw.chars().take(40).collect();
    if cut.len() < raw.len() {
        format!("{cut:?}…")
    } else {
        format!("{cut:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_names() {
        assert_eq!(AgentName::parse(" claude.1 ").unwrap().as_str(), "claude.1");
        for bad in ["", "-x", "a b", "a/b", &"x".repeat(65)] {
            assert!(AgentName::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn agent_types_are_exactly_six_and_errors_name_them() {
        for t in AgentType::ALL {
            assert_eq!(AgentType::parse(t.as_str()), Ok(t));
        }
        let e = AgentType::parse("aider").unwrap_err();
        assert_eq!(e.field, "type");
        assert!(
            e.message
                .contains("claude-code, gemini-cli, qwen-coder, cursor-cli, codex, opencode"),
            "{}",
            e.message
        );
        assert!(AgentType::parse("Claude-Code").is_err());
    }

    #[test]
    fn credentials_are_checked_by_kind_and_never_printed() {
        let key = AgentCredential::parse(CredentialType::ApiKey, " sk-123\n".into()).unwrap();
        assert_eq!(key.expose(), "sk-123");
        assert!(!format!("{key:?}").contains("sk-123"));
        for bad in ["", "  ", "a b", "a\nb"] {
            assert!(AgentCredential::parse(CredentialType::ApiKey, bad.into()).is_err());
        }
        assert!(AgentCredential::parse(CredentialType::OAuth, r#"{"a":1}"#.into()).is_ok());
        for bad in ["", "[]", "\"x\"", "{", "null"] {
            assert!(
                AgentCredential::parse(CredentialType::OAuth, bad.into()).is_err(),
                "{bad:?} was accepted"
            );
        }
        let big = "k".repeat(AgentCredential::MAX_BYTES + 1);
        let e = AgentCredential::parse(CredentialType::ApiKey, big).unwrap_err();
        assert!(e.message.contains("at most 32 KiB"), "{}", e.message);
        let oauth = AgentCredential::parse(CredentialType::OAuth, "{}".into()).unwrap();
        assert!(AgentType::CursorCli.accepts(&oauth).is_err());
        assert!(AgentType::ClaudeCode.accepts(&oauth).is_ok());
        assert!(AgentType::OpenCode.accepts(&oauth).is_ok());
    }

    #[test]
    fn an_opencode_api_key_names_its_provider() {
        let key = |v: &str| AgentCredential::parse(CredentialType::ApiKey, v.into()).unwrap();
        assert_eq!(
            key("anthropic:sk-ant-1:x").provider_key().unwrap(),
            ("anthropic", "sk-ant-1:x")
        );
        assert!(AgentType::OpenCode.accepts(&key("openai:sk-1")).is_ok());
        for bad in ["sk-1", ":sk-1", "openai:", "OpenAI:sk-1", "-x:sk", "a/b:sk"] {
            let e = AgentType::OpenCode.accepts(&key(bad)).unwrap_err();
            assert_eq!(e.field, "credential.value", "{bad}");
            assert!(e.message.contains("provider:key"), "{}", e.message);
            assert!(!e.message.contains("sk-1"), "the key is not repeated");
        }
        assert!(AgentType::Codex.accepts(&key("sk-1")).is_ok());
    }
}
