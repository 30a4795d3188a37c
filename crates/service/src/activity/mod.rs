//! What every session is doing: `working`, `waiting`, `permission`, `idle`, `exited` or
//! `unknown`, learnt from what the container's session watcher reports each second (see
//! `sessions/watch.rs`):
//! - each tmux pane's foreground command, when it last printed, and whether it ended;
//! - for agent sessions, the signal the agent's hooks last left on the pane (the
//!   `@craftastic_activity` option, written by `craftastic-hook`), and the pane's screen
//!   whenever it changed, which the rules of [`rules`] read for the states hooks miss.
//!
//! All of it is written by the container and is hostile: it is bounded by the watcher's
//! reader, a detail is cut to printable text of [`MAX_DETAIL`] characters, and a forged
//! signal can only mislead the state of its own session, shown to its own owner.
//!
//! A state that the screen or the clock suggests is shown once it held for [`DEBOUNCE`], so
//! that a redraw or a keystroke does not make it flicker; a hook's signal is explicit and
//! is shown at once. Each change is published to the owner's events.

pub mod rules;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use craftastic_domain::{ActivityState, EnvironmentId, SessionId, UserId};
use craftastic_store::{Session, SessionStatus};
use tokio::time::Instant;

pub use crate::events::Activity;
use crate::events::{Event, Events};
use crate::notifications::{Notifications, Transition};

/// How long a state suggested by the screen or the clock must hold before it is shown.
pub const DEBOUNCE: Duration = Duration::from_millis(1500);
/// Output within this long means a terminal's or an agent's output streams.
const STREAMING: Duration = Duration::from_secs(3);
/// The longest detail shown, in characters.
pub const MAX_DETAIL: usize = 160;

/// What one watcher report says of a session's pane.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pane {
    /// The foreground command (`pane_current_command`).
    pub command: String,
    /// When its window last printed, in seconds since the epoch.
    pub output_at: Option<i64>,
    /// Its process ended and tmux keeps the pane.
    pub dead: bool,
    /// The agent type its launcher set, for agent sessions.
    pub agent: Option<String>,
    /// What the agent's hooks last wrote: `STATE STAMP [DETAIL]`.
    pub hook: Option<String>,
}

/// A candidate state, and when it was first seen.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Candidate {
    state: ActivityState,
    detail: Option<String>,
    seen: Instant,
    seen_at: DateTime<Utc>,
}

struct Tracked {
    owner: UserId,
    environment: EnvironmentId,
    shown: Option<Activity>,
    candidate: Option<Candidate>,
    pane: Pane,
    /// The hook's raw value and when it last changed.
    hook_changed: Option<Instant>,
    /// What the rules found on the last screen, and when the screen last changed.
    screen: Option<(ActivityState, &'static str)>,
    screen_changed: Option<Instant>,
}

/// Where a target state came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// A hook's explicit signal, or the pane's end: shown at once.
    Signal,
    /// The screen or the clock: shown after [`DEBOUNCE`].
    Guess,
}

/// The activity of the sessions in running containers. Clones share it.
#[derive(Clone)]
pub struct Activities {
    sessions: Arc<Mutex<HashMap<SessionId, Tracked>>>,
    events: Events,
    notifications: Option<Notifications>,
}

/// A change of a session's shown activity.
struct Changed {
    session: SessionId,
    owner: UserId,
    environment: EnvironmentId,
    agent: bool,
    previous: Option<Activity>,
    activity: Activity,
}

impl Activities {
    /// Publishes changes to `events`, and gives agents' changes to `notifications`.
    pub fn new(events: Events, notifications: Option<Notifications>) -> Self {
        Self {
            sessions: Arc::default(),
            events,
            notifications,
        }
    }

    fn sessions(&self) -> MutexGuard<'_, HashMap<SessionId, Tracked>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The session's activity: what was learnt, or what its status implies.
    pub fn of(&self, session: &Session) -> Activity {
        if session.status == SessionStatus::Active
            && let Some(shown) = self
                .sessions()
                .get(&session.id)
                .and_then(|t| t.shown.clone())
        {
            return shown;
        }
        let state = match session.status {
            SessionStatus::Dead => ActivityState::Exited,
            SessionStatus::Active | SessionStatus::Inactive => ActivityState::Unknown,
        };
        Activity {
            state,
            since: session.updated_at,
            detail: None,
        }
    }

    /// Takes what a report says of the sessions of one container (of `owner`'s environment
    /// `environment`): their panes, and the screens that changed.
    pub(crate) fn observe(
        &self,
        owner: UserId,
        environment: EnvironmentId,
        panes: &HashMap<SessionId, Pane>,
        screens: &HashMap<SessionId, String>,
        now: Instant,
    ) {
        let mut changed = Vec::new();
        {
            let mut sessions = self.sessions();
            for (id, pane) in panes {
                let tracked = sessions.entry(*id).or_insert_with(|| Tracked {
                    owner,
                    environment,
                    shown: None,
                    candidate: None,
                    pane: Pane::default(),
                    hook_changed: None,
                    screen: None,
                    screen_changed: None,
                });
                if tracked.pane.hook != pane.hook {
                    tracked.hook_changed = pane.hook.is_some().then_some(now);
                }
                tracked.pane = pane.clone();
                if let Some(screen) = screens.get(id) {
                    tracked.screen = pane
                        .agent
                        .as_deref()
                        .and_then(|agent| rules::classify(agent, screen));
                    tracked.screen_changed = Some(now);
                }
                if let Some(change) = changed_by(*id, tracked, now) {
                    changed.push(change);
                }
            }
        }
        self.publish(changed);
    }

    /// Moves the sessions in `ids` on with the clock: a guess that held long enough is
    /// shown, and output that stopped makes a session idle.
    pub(crate) fn tick(&self, ids: impl IntoIterator<Item = SessionId>, now: Instant) {
        let mut changed = Vec::new();
        {
            let mut sessions = self.sessions();
            for id in ids {
                if let Some(tracked) = sessions.get_mut(&id)
                    && let Some(change) = changed_by(id, tracked, now)
                {
                    changed.push(change);
                }
            }
        }
        self.publish(changed);
    }

    /// Forgets the session (its tmux session ended, or its container stopped); its status
    /// tells the rest.
    pub(crate) fn forget(&self, id: SessionId) {
        self.sessions().remove(&id);
    }

    fn publish(&self, changed: Vec<Changed>) {
        for c in changed {
            if c.agent
                && let Some(notifications) = &self.notifications
            {
                notifications.consider(Transition {
                    session: c.session,
                    environment: c.environment,
                    owner: c.owner,
                    previous: c.previous,
                    now: c.activity.clone(),
                });
            }
            self.events.publish(
                c.owner,
                Event::SessionActivity {
                    session_id: c.session,
                    environment_id: c.environment,
                    activity: c.activity,
                },
            );
        }
    }
}

/// Steps the session; what changed, if its shown activity did.
fn changed_by(session: SessionId, tracked: &mut Tracked, now: Instant) -> Option<Changed> {
    let previous = tracked.shown.clone();
    let activity = step(tracked, now)?;
    Some(Changed {
        session,
        owner: tracked.owner,
        environment: tracked.environment,
        agent: tracked.pane.agent.is_some(),
        previous,
        activity,
    })
}

/// Evaluates the session now; returns its activity when the shown one changed.
fn step(tracked: &mut Tracked, now: Instant) -> Option<Activity> {
    let (state, detail, source) = target(tracked, now);
    let shown_same = tracked
        .shown
        .as_ref()
        .is_some_and(|s| s.state == state && s.detail == detail);
    if shown_same {
        tracked.candidate = None;
        return None;
    }
    let candidate = match &tracked.candidate {
        Some(c) if c.state == state && c.detail == detail => c.clone(),
        _ => Candidate {
            state,
            detail,
            seen: now,
            seen_at: Utc::now(),
        },
    };
    if source == Source::Guess && now.duration_since(candidate.seen) < DEBOUNCE {
        tracked.candidate = Some(candidate);
        return None;
    }
    tracked.candidate = None;
    let activity = Activity {
        state: candidate.state,
        since: candidate.seen_at,
        detail: candidate.detail,
    };
    tracked.shown = Some(activity.clone());
    Some(activity)
}

/// The state the latest observations point to, with a detail, and where it came from.
fn target(t: &Tracked, now: Instant) -> (ActivityState, Option<String>, Source) {
    use ActivityState::{Exited, Idle, Working};
    let pane = &t.pane;
    if pane.dead {
        return (Exited, None, Source::Signal);
    }
    let hook = pane.hook.as_deref().and_then(parse_hook);
    if pane.agent.is_none() {
        // A terminal: working while a foreground command runs or output streams.
        if !is_shell(&pane.command) {
            return (Working, Some(clean(&pane.command)), Source::Guess);
        }
        let streaming = pane.output_at.is_some_and(|at| {
            Utc::now().timestamp().saturating_sub(at) < STREAMING.as_secs() as i64
        });
        return (if streaming { Working } else { Idle }, None, Source::Guess);
    }
    let fresh = t
        .hook_changed
        .is_some_and(|at| now.duration_since(at) < DEBOUNCE);
    let hook_source = if fresh { Source::Signal } else { Source::Guess };
    if let Some((Exited, detail)) = hook {
        // The launcher says so when the CLI ends (and stays a shell); hooks of a CLI started
        // again in that shell say otherwise. The foreground command cannot tell: a CLI may
        // be a script run by a shell.
        return (Exited, detail, hook_source);
    }
    let screen = t
        .screen
        .map(|(s, d)| (s, (!d.is_empty()).then(|| d.to_owned())));
    if let Some((state, detail)) = screen.clone()
        && state.needs_user()
    {
        return (state, detail, Source::Guess);
    }
    if let Some((state, detail)) = hook {
        let screen_newer = match (t.screen_changed, t.hook_changed) {
            (Some(screen), Some(hook)) => screen > hook,
            _ => false,
        };
        match screen {
            Some((s, d)) if screen_newer => return (s, d, Source::Guess),
            _ => return (state, detail, hook_source),
        }
    }
    if let Some((state, detail)) = screen {
        return (state, detail, Source::Guess);
    }
    let streaming = t
        .screen_changed
        .is_some_and(|at| now.duration_since(at) < STREAMING);
    (if streaming { Working } else { Idle }, None, Source::Guess)
}

/// A hook's value, `STATE STAMP [DETAIL]`: the state and the detail, if it is valid.
fn parse_hook(raw: &str) -> Option<(ActivityState, Option<String>)> {
    let mut parts = raw.splitn(3, ' ');
    let state = ActivityState::parse(parts.next()?)?;
    if state == ActivityState::Unknown {
        return None;
    }
    let _stamp = parts.next()?;
    let detail = parts.next().map(clean).filter(|d| !d.is_empty());
    Some((state, detail))
}

/// Printable text of at most [`MAX_DETAIL`] characters.
fn clean(raw: &str) -> String {
    raw.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_DETAIL)
        .collect::<String>()
        .trim()
        .to_owned()
}

fn is_shell(command: &str) -> bool {
    matches!(
        command.trim_start_matches('-'),
        "bash" | "sh" | "dash" | "zsh" | "fish" | "ksh" | "tmux"
    )
}

#[cfg(test)]
mod tests;
