//! What a session is doing, as the server last learnt it (from the agent's hooks, its
//! screen, or the foreground process of a terminal).

/// The activity states of a session, from the one that needs the user most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ActivityState {
    /// Asks the user to approve an action.
    Permission,
    /// Wants input: a question, a sign-in, a quota or an error the user must see to.
    Waiting,
    /// A foreground command runs, output streams, or the agent works on its turn.
    Working,
    /// At a prompt: the agent finished its turn, or nothing runs in the terminal.
    Idle,
    /// The agent's CLI, or the session's shell, ended.
    Exited,
    /// Not known yet (the workspace is stopped, or no report arrived since the server
    /// started).
    Unknown,
}

impl ActivityState {
    pub const ALL: [Self; 6] = [
        Self::Permission,
        Self::Waiting,
        Self::Working,
        Self::Idle,
        Self::Exited,
        Self::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Permission => "permission",
            Self::Waiting => "waiting",
            Self::Working => "working",
            Self::Idle => "idle",
            Self::Exited => "exited",
            Self::Unknown => "unknown",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Whether the user is the one the session waits for.
    pub fn needs_user(self) -> bool {
        matches!(self, Self::Permission | Self::Waiting)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_order_puts_what_needs_the_user_first() {
        for s in ActivityState::ALL {
            assert_eq!(ActivityState::parse(s.as_str()), Some(s));
        }
        assert_eq!(ActivityState::parse("Working"), None);
        let mut sorted = ActivityState::ALL;
        sorted.sort();
        assert_eq!(sorted[0], ActivityState::Permission);
        assert!(ActivityState::Waiting.needs_user() && !ActivityState::Idle.needs_user());
    }
}
