//! A per-user limit an admin sets: how many of something one user may have.

use crate::ValidationError;

/// A whole number from 0 (none allowed) to [`LimitValue::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LimitValue(i64);

impl LimitValue {
    /// Beyond this a limit guards nothing on one server.
    pub const MAX: i64 = 10_000;

    pub fn parse(field: &'static str, value: i64) -> Result<Self, ValidationError> {
        if (0..=Self::MAX).contains(&value) {
            Ok(Self(value))
        } else {
            Err(ValidationError::new(
                field,
                format!(
                    "{field} must be a whole number from 0 to {}, or null for the server's default; {value} is not",
                    Self::MAX
                ),
            ))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_from_zero_to_the_maximum() {
        assert_eq!(LimitValue::parse("sessions", 0).unwrap().get(), 0);
        assert_eq!(
            LimitValue::parse("sessions", LimitValue::MAX)
                .unwrap()
                .get(),
            LimitValue::MAX
        );
        let e = LimitValue::parse("sessions", -1).unwrap_err();
        assert_eq!(e.field, "sessions");
        assert!(e.message.contains("from 0 to 10000"), "{}", e.message);
        assert!(LimitValue::parse("sessions", LimitValue::MAX + 1).is_err());
    }
}
