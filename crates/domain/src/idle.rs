//! How long a workspace may sit idle before the server stops it.

use std::time::Duration;

use crate::ValidationError;

/// Minutes without an open terminal, terminal input or a session at work after which an
/// environment's workspaces are stopped; 0 never stops them. From 0 to a week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct IdleStopMinutes(u32);

impl IdleStopMinutes {
    /// A week: beyond it a workspace is as good as never stopped.
    pub const MAX: u32 = 7 * 24 * 60;
    /// What an environment gets unless its owner says otherwise.
    pub const DEFAULT: Self = Self(60);
    pub const NEVER: Self = Self(0);

    pub fn parse(field: &'static str, value: i64) -> Result<Self, ValidationError> {
        match u32::try_from(value) {
            Ok(v) if v <= Self::MAX => Ok(Self(v)),
            _ => Err(ValidationError::new(
                field,
                format!(
                    "{field} must be a whole number of minutes from 1 to {} (a week), or 0 to never stop idle workspaces; {value} is not",
                    Self::MAX
                ),
            )),
        }
    }

    /// A value the database kept (checked by its constraint when it was stored).
    pub fn from_trusted(value: i64) -> Self {
        Self(u32::try_from(value).unwrap_or(0).min(Self::MAX))
    }

    pub fn minutes(self) -> u32 {
        self.0
    }

    /// How long a workspace may be idle; `None` when it is never stopped.
    pub fn after(self) -> Option<Duration> {
        (self.0 > 0).then(|| Duration::from_secs(u64::from(self.0) * 60))
    }
}

impl Default for IdleStopMinutes {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_never_to_a_week() {
        assert_eq!(IdleStopMinutes::parse("m", 0).unwrap().after(), None);
        assert_eq!(
            IdleStopMinutes::parse("m", 90).unwrap().after(),
            Some(Duration::from_secs(5400))
        );
        assert_eq!(
            IdleStopMinutes::parse("m", 10_080).unwrap().minutes(),
            10_080
        );
        for bad in [-1, 10_081, i64::MAX, i64::MIN] {
            let e = IdleStopMinutes::parse("idleStopMinutes", bad).unwrap_err();
            assert_eq!(e.field, "idleStopMinutes");
            assert!(e.message.contains("0 to never"), "{}", e.message);
        }
        assert_eq!(IdleStopMinutes::from_trusted(-5), IdleStopMinutes::NEVER);
    }
}
