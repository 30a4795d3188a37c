//! Bodies that several route groups answer with: one definition each, so that no route
//! module has to import another.

use chrono::{DateTime, Utc};
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
    pub status: String,
    /// `terminal` or `agent`.
    pub session_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<Uuid>,
    pub git_branch: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_activity: Option<DateTime<Utc>>,
}

impl From<Session> for SessionBody {
    fn from(s: Session) -> Self {
        Self {
            id: s.id.0,
            environment_id: s.environment_id.0,
            name: s.name.to_string(),
            tmux_session_name: s.tmux_session_name,
            working_directory: s.working_directory.to_string(),
            status: s.status.as_str().to_owned(),
            session_type: s.session_type.as_str().to_owned(),
            agent_id: s.agent_id,
            git_branch: s.git_branch.to_string(),
            created_at: s.created_at,
            updated_at: s.updated_at,
            last_activity: s.last_activity,
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
