use chrono::{DateTime, Utc};
use craftastic_domain::{Email, UserId, UserName};
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub name: UserName,
    pub password_hash: String,
    pub is_admin: bool,
    pub github_username: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminGrant {
    Yes,
    No,
    /// Admin exactly when this is the first user.
    IfFirst,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: UserId,
    pub email: Email,
    pub name: UserName,
    pub password_hash: String,
    pub admin: AdminGrant,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    pub id: Uuid,
    pub user_id: UserId,
    pub family_id: Uuid,
    /// SHA-256 of the token; the token itself is never stored.
    pub token_hash: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The token that replaces a rotated one; it joins the rotated token's user and family.
#[derive(Debug, Clone)]
pub struct NextRefreshToken {
    pub id: Uuid,
    pub token_hash: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What presenting a refresh token led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The token was live; it is now used and the new one is stored in its family.
    Rotated {
        user_id: UserId,
        family_id: Uuid,
    },
    /// The token had been used or revoked before: its family is now revoked.
    Reused {
        user_id: UserId,
        family_id: Uuid,
    },
    Expired,
    Unknown,
}

#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    pub user_id: Option<UserId>,
    /// What was done, as `area.verb` (e.g. `auth.login`).
    pub action: String,
    /// What it was done to, if anything (an id or a name; never a secret).
    pub target: Option<String>,
    /// `ok`, or a short failure code.
    pub outcome: String,
    pub details: serde_json::Value,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub id: i64,
    pub user_id: Option<UserId>,
    pub action: String,
    pub target: Option<String>,
    pub outcome: String,
    pub details: serde_json::Value,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    pub version: i64,
    pub description: String,
    pub applied_at: Option<DateTime<Utc>>,
}
