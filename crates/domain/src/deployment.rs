use std::fmt;

use serde::Serialize;

use crate::ValidationError;

/// The uuid of a Coolify application, as Coolify shows it in the application's URL and
/// settings: 1 to 64 letters and digits (Coolify makes 24-character cuid2s). Checked here so
/// that nothing else can reach a path of Coolify's API.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct CoolifyAppId(String);

impl CoolifyAppId {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let id = raw.trim();
        if id.is_empty() {
            return Err(ValidationError::new(
                "appId",
                "appId is required: the uuid of the Coolify application to deploy",
            ));
        }
        if id.len() > Self::MAX_CHARS || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(ValidationError::new(
                "appId",
                "appId must be a Coolify application uuid: 1 to 64 letters and digits, as in the application's URL in Coolify",
            ));
        }
        Ok(Self(id.to_owned()))
    }

    pub fn from_trusted(id: String) -> Self {
        Self(id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CoolifyAppId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_ids() {
        assert_eq!(
            CoolifyAppId::parse(" ro04ok80o8oc4kkcco8kow8s ")
                .unwrap()
                .as_str(),
            "ro04ok80o8oc4kkcco8kow8s"
        );
        for bad in ["", "  ", "../apps", "a-b", "a?b=c", "ünï", &"a".repeat(65)] {
            let e = CoolifyAppId::parse(bad).unwrap_err();
            assert_eq!(e.field, "appId", "{bad:?}");
        }
    }
}
