use std::fmt;

use serde::Serialize;

use crate::ValidationError;

/// An email address, trimmed and lower-cased so that one address is one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let email = raw.trim().to_lowercase();
        let invalid = |why: &str| ValidationError::new("email", why);
        if email.is_empty() {
            return Err(invalid("email is required"));
        }
        if email.len() > Self::MAX_LEN {
            return Err(invalid("email must be at most 254 characters"));
        }
        let Some((local, domain)) = email.split_once('@') else {
            return Err(invalid("email must look like name@example.com"));
        };
        if local.is_empty()
            || domain.is_empty()
            || domain.contains('@')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || email.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(invalid("email must look like name@example.com"));
        }
        Ok(Self(email))
    }

    /// For values read back from storage, which were validated when written.
    pub fn from_trusted(email: String) -> Self {
        Self(email)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password as the user typed it. Never printed: `Debug` hides it and there is no `Display`.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 10;
    /// Long enough for any passphrase, short enough that hashing stays cheap.
    pub const MAX_BYTES: usize = 1024;

    /// A new password, held to the length rules.
    pub fn new(raw: String, field: &'static str) -> Result<Self, ValidationError> {
        if raw.chars().count() < Self::MIN_CHARS {
            return Err(ValidationError::new(
                field,
                format!("password must be at least {} characters", Self::MIN_CHARS),
            ));
        }
        Self::existing(raw, field)
    }

    /// A password offered to log in: only the upper bound applies, so that rules can change
    /// without locking anyone out.
    pub fn existing(raw: String, field: &'static str) -> Result<Self, ValidationError> {
        if raw.is_empty() {
            return Err(ValidationError::new(field, "password is required"));
        }
        if raw.len() > Self::MAX_BYTES {
            return Err(ValidationError::new(
                field,
                format!("password must be at most {} bytes", Self::MAX_BYTES),
            ));
        }
        Ok(Self(raw))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// The name a user goes by, shown in the UI and used as the git author name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct UserName(String);

impl UserName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(ValidationError::new("name", "name is required"));
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(ValidationError::new(
                "name",
                format!("name must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(ValidationError::new(
                "name",
                "name must not contain control characters",
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

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "a@b@c",
            "ada @x.org",
            "ada@.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(Email::parse(&format!("{}@x.org", "a".repeat(260))).is_err());
    }

    #[test]
    fn password_length_rules() {
        assert!(Password::new("short".into(), "password").is_err());
        assert!(Password::new("long enough!".into(), "password").is_ok());
        assert!(Password::new("x".repeat(2000), "password").is_err());
        assert!(Password::existing("short".into(), "password").is_ok());
        assert_eq!(
            format!("{:?}", Password::existing("secret".into(), "p").unwrap()),
            "Password(***)"
        );
    }

    #[test]
    fn name_rules() {
        assert_eq!(UserName::parse(" Ada ").unwrap().as_str(), "Ada");
        assert!(UserName::parse("   ").is_err());
        assert!(UserName::parse(&"n".repeat(101)).is_err());
        assert!(UserName::parse("a\u{7}b").is_err());
    }
}
