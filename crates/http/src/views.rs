//! Bodies that several route groups answer with: one definition each, so that no route
//! module has to import another.

use chrono::{DateTime, Utc};
use craftastic_service::activity::{Activities, Activity};
use craftastic_store::{Session, User};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub is_admin: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub github_username: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            id: u.id.0,
            email: u.email.as_str().to_owned(),
            name: u.name.as_str().to_owned(),
            is_admin: u.is_admin,
            github_username: u.github_username,
            created_at: u.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionBody {
    pub id: Uuid,
    pub environment_id: Uuid,
    pub name: String,
    /// The name of its tmux session in the workspace container.
    pub tmux_session_name: String,
    /// Where its shell started, inside `/workspace`.
    pub working_directory: String,
    /// `active` (tmux runs), `inactive` (the environment was stopped; it starts again when
    /// opened) or `dead` (its shell ended; PATCH `status: active` starts it again).
    pub status: &'static str,
    /// `terminal` or `agent`.
    pub session_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<Uuid>,
    pub git_branch: String,
    #[serde(serialize_with = "rfc3339::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "rfc3339::serialize")]
    pub updated_at: DateTime<Utc>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "rfc3339::option::serialize"
    )]
    pub last_activity: Option<DateTime<Utc>>,
    pub activity: ActivityBody,
    /// Whether it runs with other values of its environment's variables than the
    /// environment has now; starting it again (`dead`, then `active`) gives it the new ones.
    pub variables_outdated: bool,
}

/// What the session is doing, and since when.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityBody {
    /// `permission` (asks to approve an action), `waiting` (wants input), `working`, `idle`
    /// (finished its turn, or at a prompt), `exited` (its CLI or shell ended) or `unknown`
    /// (its workspace is stopped, or nothing was learnt yet).
    pub state: &'static str,
    #[serde(serialize_with = "rfc3339::serialize")]
    pub since: DateTime<Utc>,
    /// What it waits for, runs, or how it ended, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl From<Activity> for ActivityBody {
    fn from(a: Activity) -> Self {
        Self {
            state: a.state.as_str(),
            since: a.since,
            detail: a.detail,
        }
    }
}

impl SessionBody {
    pub fn new(s: Session, activities: &Activities) -> Self {
        let activity = activities.of(&s).into();
        Self {
            activity,
            id: s.id.0,
            environment_id: s.environment_id.0,
            name: s.name.to_string(),
            tmux_session_name: s.tmux_session_name,
            working_directory: s.working_directory.to_string(),
            status: s.status.as_str(),
            session_type: s.session_type.as_str(),
            agent_id: s.agent_id,
            git_branch: s.git_branch.to_string(),
            created_at: s.created_at,
            updated_at: s.updated_at,
            last_activity: s.last_activity,
            variables_outdated: s.variables_outdated,
        }
    }
}

/// Whether a name may be used, and if not, why.
#[derive(Debug, Serialize, ToSchema)]
pub struct Availability {
    pub available: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl From<Result<(), String>> for Availability {
    fn from(check: Result<(), String>) -> Self {
        Self {
            available: check.is_ok(),
            reason: check.err(),
        }
    }
}

/// Times as chrono's `Serialize` writes them (RFC 3339 in UTC, `Z`, and 0, 3, 6 or 9 digits of
/// fraction, as few as hold the value), written into a buffer on the stack: chrono's own
/// writes its pieces through serde_json's escaping writer one by one, which showed in the
/// environment list's profile (three times per session).
pub mod rfc3339 {
    use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
    use serde::Serializer;

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 30];
        match write(t, &mut buf) {
            Some(text) => s.serialize_str(text),
            None => s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        }
    }

    /// For `Option<DateTime<Utc>>` fields that are skipped when `None`.
    pub mod option {
        use chrono::{DateTime, Utc};
        use serde::Serializer;

        pub fn serialize<S: Serializer>(
            t: &Option<DateTime<Utc>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }
    }

    /// The text, or `None` for what the fast path does not write (years outside 0–9999,
    /// leap seconds), which chrono then writes.
    fn write<'b>(t: &DateTime<Utc>, buf: &'b mut [u8; 30]) -> Option<&'b str> {
        let year = u32::try_from(t.year()).ok().filter(|y| *y <= 9999)?;
        let nanos = t.nanosecond();
        if nanos >= 1_000_000_000 {
            return None;
        }
        let mut n = 0;
        let mut put = |value: u32, digits: u32, after: Option<u8>| {
            for i in (0..digits).rev() {
                buf[n] = b'0' + (value / 10u32.pow(i) % 10) as u8;
                n += 1;
            }
            if let Some(c) = after {
                buf[n] = c;
                n += 1;
            }
        };
        put(year, 4, Some(b'-'));
        put(t.month(), 2, Some(b'-'));
        put(t.day(), 2, Some(b'T'));
        put(t.hour(), 2, Some(b':'));
        put(t.minute(), 2, Some(b':'));
        put(t.second(), 2, None);
        if nanos != 0 {
            let (value, digits) = if nanos % 1_000_000 == 0 {
                (nanos / 1_000_000, 3)
            } else if nanos % 1_000 == 0 {
                (nanos / 1_000, 6)
            } else {
                (nanos, 9)
            };
            put(0, 0, Some(b'.'));
            put(value, digits, None);
        }
        put(0, 0, Some(b'Z'));
        std::str::from_utf8(&buf[..n]).ok()
    }

    #[cfg(test)]
    mod tests {
        use chrono::{DateTime, TimeZone, Utc};

        fn chrono_json(t: &DateTime<Utc>) -> String {
            serde_json::to_string(t).unwrap()
        }

        fn ours(t: &DateTime<Utc>) -> String {
            let mut out = Vec::new();
            super::serialize(t, &mut serde_json::Serializer::new(&mut out)).unwrap();
            String::from_utf8(out).unwrap()
        }

        #[test]
        fn writes_what_chrono_writes() {
            let base = Utc.with_ymd_and_hms(2026, 12, 7, 18, 3, 9).unwrap();
            let mut times = vec![
                base,
                Utc::now(),
                Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap(),
                Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
                Utc.with_ymd_and_hms(12345, 1, 1, 0, 0, 0).unwrap(),
                Utc.with_ymd_and_hms(-5, 1, 1, 0, 0, 0).unwrap(),
                DateTime::<Utc>::MIN_UTC,
                DateTime::<Utc>::MAX_UTC,
            ];
            for nanos in [
                1,
                10,
                999,
                1_000,
                123_000,
                155_287_000,
                1_000_000,
                500_000_000,
                999_999_999,
            ] {
                times.push(base + chrono::Duration::nanoseconds(nanos));
            }
            for t in &times {
                assert_eq!(ours(t), chrono_json(t), "{t:?}");
            }
            let some = Some(base);
            let mut out = Vec::new();
            super::option::serialize(&some, &mut serde_json::Serializer::new(&mut out)).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), chrono_json(&base));
        }
    }
}
