use chrono::{DateTime, Utc};
use craftastic_domain::{
    AgentId, AgentName, AgentType, BranchName, CoolifyAppId, CredentialType, DeploymentId,
    EgressPolicy, Email, EnvironmentId, EnvironmentName, EnvironmentSize, IdleStopMinutes,
    RepositoryUrl, SessionId, SessionName, UserId, UserName, VariableName, WorkingDirectory,
    WorkspaceId,
};
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

/// A user's link to a GitHub account.
#[derive(Clone, PartialEq, Eq)]
pub struct GithubLink {
    /// GitHub's numeric id of the account (stable across renames).
    pub user_id: i64,
    pub username: String,
    /// The OAuth token, sealed by the service's cipher; never the plain token.
    pub sealed_token: String,
}

impl std::fmt::Debug for GithubLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubLink")
            .field("user_id", &self.user_id)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
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

macro_rules! status_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant),* }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),* }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some(Self::$variant),)* _ => None }
            }
        }
    };
}

status_enum!(
    /// Where an environment is in its life.
    EnvironmentStatus {
        Creating = "creating",
        Running = "running",
        Stopped = "stopped",
        Error = "error",
        Deleting = "deleting",
    }
);

status_enum!(
    /// What the server last knew of a workspace's container.
    WorkspaceStatus {
        Creating = "creating",
        Running = "running",
        Stopped = "stopped",
        /// The container vanished behind the server's back; it is recreated on next use.
        Missing = "missing",
        Error = "error",
    }
);

#[derive(Debug, Clone)]
pub struct Environment {
    pub id: EnvironmentId,
    pub user_id: UserId,
    pub name: EnvironmentName,
    pub repository_url: Option<RepositoryUrl>,
    /// The default branch: the one whose workspace is made at creation.
    pub branch: BranchName,
    pub status: EnvironmentStatus,
    pub error: Option<String>,
    /// Where its workspaces may connect to outside the server.
    pub egress: EgressPolicy,
    /// How long its workspaces may be idle before the server stops them.
    pub idle_stop: IdleStopMinutes,
    /// The memory, CPUs and disk its workspaces ask for (each `None`: the server's default).
    pub size: EnvironmentSize,
    /// Counts the changes of its variables (0 before the first), so that a session can tell
    /// whether it started with the ones the environment has now.
    pub variables_version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An environment with its workspaces and sessions, each oldest first: what its page and the
/// list of environments show.
#[derive(Debug, Clone)]
pub struct EnvironmentContents {
    pub environment: Environment,
    pub workspaces: Vec<Workspace>,
    pub sessions: Vec<Session>,
}

impl EnvironmentContents {
    /// The container of the default branch's workspace.
    pub fn container_id(&self) -> Option<&str> {
        self.workspaces
            .iter()
            .find(|w| w.branch == self.environment.branch)
            .and_then(|w| w.container_id.as_deref())
    }
}

#[derive(Debug, Clone)]
pub struct NewEnvironment {
    pub id: EnvironmentId,
    pub user_id: UserId,
    pub name: EnvironmentName,
    pub repository_url: Option<RepositoryUrl>,
    pub branch: BranchName,
    pub egress: EgressPolicy,
    pub idle_stop: IdleStopMinutes,
    pub size: EnvironmentSize,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub environment_id: EnvironmentId,
    pub branch: BranchName,
    pub container_id: Option<String>,
    pub status: WorkspaceStatus,
    pub error: Option<String>,
    /// The last measurement of its disk use; `None` until the first one.
    pub disk: Option<DiskUsage>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// How much disk a workspace held when it was last measured, and its cap at that time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskUsage {
    pub bytes: i64,
    /// `None`: no cap.
    pub limit_bytes: Option<i64>,
    pub measured_at: DateTime<Utc>,
}

status_enum!(
    /// What the server last knew of a session's tmux session.
    SessionStatus {
        /// The tmux session runs.
        Active = "active",
        /// Its workspace was stopped; the tmux session starts again when the session is opened.
        Inactive = "inactive",
        /// The tmux session ended (its shell exited, or it was killed); it stays ended until
        /// the user starts it again.
        Dead = "dead",
    }
);

status_enum!(
    /// What a session runs: a shell, or a coding agent's CLI.
    SessionType {
        Terminal = "terminal",
        Agent = "agent",
    }
);

#[derive(Debug, Clone)]
pub struct Session {
    pub id: SessionId,
    pub environment_id: EnvironmentId,
    /// `None` once the workspace row is gone.
    pub workspace_id: Option<WorkspaceId>,
    pub name: SessionName,
    /// Made by the server, unique across the installation.
    pub tmux_session_name: String,
    pub working_directory: WorkingDirectory,
    pub status: SessionStatus,
    pub session_type: SessionType,
    pub agent_id: Option<Uuid>,
    pub git_branch: BranchName,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_activity: Option<DateTime<Utc>>,
    /// Whether its tmux session runs (`active`) with another version of its environment's
    /// variables than the environment has now: starting it again gives it the new ones.
    pub variables_outdated: bool,
}

#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: SessionId,
    pub environment_id: EnvironmentId,
    pub workspace_id: WorkspaceId,
    pub name: SessionName,
    pub tmux_session_name: String,
    pub working_directory: WorkingDirectory,
    pub session_type: SessionType,
    pub agent_id: Option<Uuid>,
    pub git_branch: BranchName,
    pub now: DateTime<Utc>,
}

status_enum!(
    /// Where a Coolify deployment is, as Craftastic last learnt it from Coolify.
    DeploymentStatus {
        Queued = "queued",
        InProgress = "in_progress",
        Finished = "finished",
        Failed = "failed",
        /// Cancelled in Coolify (`cancelled-by-user`).
        Cancelled = "cancelled",
    }
);

impl DeploymentStatus {
    /// Whether the deployment has ended: nothing will change it any more.
    pub fn is_over(self) -> bool {
        matches!(self, Self::Finished | Self::Failed | Self::Cancelled)
    }
}

#[derive(Debug, Clone)]
pub struct Deployment {
    pub id: DeploymentId,
    pub environment_id: EnvironmentId,
    pub app_id: CoolifyAppId,
    /// The branch deployed (`None` only for rows written without one).
    pub branch: Option<BranchName>,
    pub status: DeploymentStatus,
    /// Coolify's id of the deployment, once Coolify has queued it.
    pub coolify_deployment_id: Option<String>,
    /// What is known about the deployment besides its status (Coolify's message, times,
    /// the commit); never a secret.
    pub metadata: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An admin's permission for an environment to deploy one Coolify application: without
/// it, deploying that application from the environment is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentBinding {
    pub environment_id: EnvironmentId,
    pub app_id: CoolifyAppId,
    /// The admin who bound it (`None` once that account is deleted).
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewDeploymentBinding {
    pub environment_id: EnvironmentId,
    pub app_id: CoolifyAppId,
    pub created_by: UserId,
    pub now: DateTime<Utc>,
}

/// A user's agent: which CLI it starts and under what name. Its credential is read on its
/// own, with `Store::agent_credential`, by the one caller that needs it.
#[derive(Debug, Clone)]
pub struct Agent {
    pub id: AgentId,
    pub user_id: UserId,
    pub name: AgentName,
    pub agent_type: AgentType,
    /// The kind of its credential, when it has one.
    pub credential_type: Option<CredentialType>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewDeployment {
    pub id: DeploymentId,
    pub environment_id: EnvironmentId,
    pub app_id: CoolifyAppId,
    pub branch: BranchName,
    pub status: DeploymentStatus,
    pub coolify_deployment_id: Option<String>,
    pub metadata: serde_json::Value,
    pub now: DateTime<Utc>,
}

/// The new state of a deployment; it replaces the stored status, Coolify id and metadata.
#[derive(Debug, Clone)]
pub struct DeploymentUpdate {
    pub status: DeploymentStatus,
    pub coolify_deployment_id: Option<String>,
    pub metadata: serde_json::Value,
    pub now: DateTime<Utc>,
}

/// An agent's credential sealed by the service's cipher; never the plain value.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedCredential {
    pub kind: CredentialType,
    pub sealed: String,
}

impl std::fmt::Debug for SealedCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedCredential")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct NewAgent {
    pub id: AgentId,
    pub user_id: UserId,
    pub name: AgentName,
    pub agent_type: AgentType,
    pub credential: Option<SealedCredential>,
    pub now: DateTime<Utc>,
}

/// What an update does to an agent's credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialChange {
    Keep,
    /// Replaces the credential, or gives the agent its first.
    Set(SealedCredential),
    Remove,
}

#[derive(Debug, Clone)]
pub struct AgentUpdate {
    pub name: Option<AgentName>,
    pub credential: CredentialChange,
    pub now: DateTime<Utc>,
}

/// A user's notification settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotificationSettings {
    /// Whether their browser shows notifications.
    pub browser: bool,
    /// The webhook URL, sealed by the service's cipher; never the plain URL.
    pub webhook_sealed: Option<String>,
}

/// The value of one of an environment's variables as stored.
#[derive(Clone, PartialEq, Eq)]
pub enum StoredValue {
    Plain(String),
    /// A secret, sealed by the service's cipher; never the plain value.
    Sealed(String),
}

impl std::fmt::Debug for StoredValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Plain(_) => "Plain(…)",
            Self::Sealed(_) => "Sealed(…)",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredVariable {
    pub name: VariableName,
    pub value: StoredValue,
}

/// An environment's variables, in the order they were given, and the version they make.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EnvironmentVariables {
    /// [`Environment::variables_version`] of this set.
    pub version: i64,
    pub variables: Vec<StoredVariable>,
}
