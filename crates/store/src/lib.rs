//! The storage seam: one [`Store`] trait that the services use, implemented once for SQLite
//! and PostgreSQL by `craftastic-store-sql`, with each backend's own reversible migrations.
//! The conformance stories in `craftastic-testkit` drive both backends.

mod limits;
mod model;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use craftastic_domain::{
    AgentId, BranchName, CoolifyAppId, DeploymentId, EgressPolicy, Email, EnvironmentId,
    EnvironmentSize, IdleStopMinutes, SessionId, SessionName, UserId, WorkspaceId,
};
use uuid::Uuid;

pub use limits::*;
pub use model::*;

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken; the payload names what was taken (e.g. `email`).
    #[error("{0} is already taken")]
    Conflict(&'static str),
    #[error("not found")]
    NotFound,
    /// Data in the database that the code cannot read (a bug or a hand edit).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// A change of state, told to the observer the services gave the store (see
/// [`Store::observe`]) once the change is stored, with the owner it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    SessionStatus {
        session: SessionId,
        environment: EnvironmentId,
        owner: UserId,
        status: SessionStatus,
    },
    EnvironmentStatus {
        environment: EnvironmentId,
        owner: UserId,
        status: EnvironmentStatus,
        error: Option<String>,
    },
    WorkspaceStatus {
        workspace: WorkspaceId,
        environment: EnvironmentId,
        owner: UserId,
        status: WorkspaceStatus,
    },
    DeploymentStatus {
        deployment: DeploymentId,
        environment: EnvironmentId,
        owner: UserId,
        status: DeploymentStatus,
    },
}

/// What is told of each [`Change`]; it must not block.
pub type Observer = std::sync::Arc<dyn Fn(Change) + Send + Sync>;

/// Everything the services need from a database. Implementations keep the rules that the
/// database itself can keep (uniqueness, cascades, atomic rotation), so that callers cannot
/// forget them.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// A cheap round trip, for `/readyz`.
    async fn ping(&self) -> StoreResult<()>;

    /// Tells `observer` every change of a session's, environment's, workspace's or
    /// deployment's status from now on (the owner read in the same statement as the change).
    /// One observer per store: a second call replaces the first.
    fn observe(&self, observer: Observer);

    /// Which backend this is (`sqlite` or `postgres`), for logs and `/metrics`.
    fn backend(&self) -> &'static str;

    // Users.

    /// Creates a user. Fails with `Conflict("email")` when the email is taken. With
    /// [`AdminGrant::IfFirst`] the user is admin exactly when no other user exists, decided
    /// atomically so that two concurrent first registrations cannot both become admin.
    async fn create_user(&self, user: NewUser) -> StoreResult<User>;
    async fn get_user(&self, id: UserId) -> StoreResult<Option<User>>;
    async fn get_user_by_email(&self, email: &Email) -> StoreResult<Option<User>>;
    async fn count_users(&self) -> StoreResult<i64>;
    /// Deletes the user and, by cascade, everything the user owns. Fails with `NotFound`.
    async fn delete_user(&self, id: UserId) -> StoreResult<()>;
    /// Fails with `NotFound` when the user is gone.
    async fn update_password_hash(&self, id: UserId, password_hash: &str) -> StoreResult<()>;
    /// Links the user to a GitHub account, replacing any earlier link. Fails with `NotFound`
    /// when the user is gone.
    async fn set_github_link(&self, id: UserId, link: GithubLink) -> StoreResult<()>;
    /// Forgets the user's GitHub account and token; returns whether there was a link. Fails
    /// with `NotFound` when the user is gone.
    async fn clear_github_link(&self, id: UserId) -> StoreResult<bool>;
    /// The user's sealed GitHub token, if linked (`None` too when the user is gone).
    async fn github_token(&self, id: UserId) -> StoreResult<Option<String>>;

    // Agents.

    /// Creates an agent and its credential, if any, in one transaction. Fails with
    /// `Conflict("agent name")` when the user already has an agent of that name, and
    /// `NotFound` when the user is gone.
    async fn create_agent(&self, agent: NewAgent) -> StoreResult<Agent>;
    async fn get_agent(&self, id: AgentId) -> StoreResult<Option<Agent>>;
    /// The user's agents, oldest first.
    async fn list_agents(&self, user: UserId) -> StoreResult<Vec<Agent>>;
    /// Renames the agent and/or sets or removes its credential in one transaction, and bumps
    /// `updated_at`. Fails with `Conflict("agent name")` or `NotFound`.
    async fn update_agent(&self, id: AgentId, update: AgentUpdate) -> StoreResult<Agent>;
    /// Deletes the agent and its credential; sessions that ran it keep their rows without an
    /// agent. Fails with `NotFound`.
    async fn delete_agent(&self, id: AgentId) -> StoreResult<()>;
    /// The agent's sealed credential, when it has one.
    async fn agent_credential(&self, id: AgentId) -> StoreResult<Option<SealedCredential>>;

    // Refresh tokens.

    async fn insert_refresh_token(&self, token: NewRefreshToken) -> StoreResult<()>;
    /// Consumes the live token with this hash and stores `next` in its family, in one
    /// transaction. A token that was already used or revoked revokes its whole family.
    async fn rotate_refresh_token(
        &self,
        presented_hash: &[u8],
        next: NextRefreshToken,
        now: DateTime<Utc>,
    ) -> StoreResult<Rotation>;
    /// Revokes the family of the token with this hash if it belongs to `user`; returns
    /// whether anything was revoked.
    async fn revoke_refresh_family_of(&self, user: UserId, token_hash: &[u8]) -> StoreResult<bool>;
    /// Revokes every refresh token of `user` except those in `keep_family`; returns how
    /// many were revoked.
    async fn revoke_user_refresh_tokens(
        &self,
        user: UserId,
        keep_family: Option<Uuid>,
    ) -> StoreResult<u64>;
    /// Whether this family still has a live (unused, unrevoked) token.
    async fn refresh_family_live(&self, family: Uuid, now: DateTime<Utc>) -> StoreResult<bool>;
    /// Whether the sign-in `family` of `user` goes on: the family belongs to the user (who
    /// still exists: a deleted user's tokens go with the user) and has a live token.
    async fn sign_in_live(
        &self,
        user: UserId,
        family: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    // Environments.

    /// Creates an environment in status `creating`. Fails with `Conflict("environment name")`
    /// when the user already has one of that name.
    async fn create_environment(&self, env: NewEnvironment) -> StoreResult<Environment>;
    async fn get_environment(&self, id: EnvironmentId) -> StoreResult<Option<Environment>>;
    /// The user's environments, oldest first; every environment when `user` is `None`.
    async fn list_environments(&self, user: Option<UserId>) -> StoreResult<Vec<Environment>>;
    /// The environment with its workspaces and sessions, read in one statement.
    async fn get_environment_contents(
        &self,
        id: EnvironmentId,
    ) -> StoreResult<Option<EnvironmentContents>>;
    /// The user's environments, oldest first, each with its workspaces and sessions: one
    /// statement, one row per environment, through the user's index and the environments'.
    async fn list_environment_contents(
        &self,
        user: UserId,
    ) -> StoreResult<Vec<EnvironmentContents>>;
    async fn environment_name_taken(&self, user: UserId, name: &str) -> StoreResult<bool>;
    /// Fails with `NotFound` when the environment is gone.
    async fn set_environment_status(
        &self,
        id: EnvironmentId,
        status: EnvironmentStatus,
        error: Option<&str>,
    ) -> StoreResult<()>;
    async fn set_environment_branch(
        &self,
        id: EnvironmentId,
        branch: &BranchName,
    ) -> StoreResult<()>;
    /// Replaces the environment's egress policy, bumps `updated_at` and returns the
    /// environment. Fails with `NotFound` when the environment is gone.
    async fn set_environment_egress(
        &self,
        id: EnvironmentId,
        egress: &EgressPolicy,
        now: DateTime<Utc>,
    ) -> StoreResult<Environment>;
    /// Replaces how long the environment's workspaces may be idle, bumps `updated_at` and
    /// returns the environment. Fails with `NotFound` when the environment is gone.
    async fn set_environment_idle_stop(
        &self,
        id: EnvironmentId,
        idle_stop: IdleStopMinutes,
        now: DateTime<Utc>,
    ) -> StoreResult<Environment>;
    /// Replaces the memory, CPUs and disk the environment's workspaces ask for, bumps
    /// `updated_at` and returns the environment. Fails with `NotFound` when the environment
    /// is gone.
    async fn set_environment_size(
        &self,
        id: EnvironmentId,
        size: EnvironmentSize,
        now: DateTime<Utc>,
    ) -> StoreResult<Environment>;
    /// The environment's variables and their version, read in one statement; `None` when
    /// the environment is gone.
    async fn get_environment_variables(
        &self,
        id: EnvironmentId,
    ) -> StoreResult<Option<EnvironmentVariables>>;
    /// Replaces the environment's variables with `variables` (names unique, in this order)
    /// and raises their version by one, in one transaction; bumps `updated_at` and returns
    /// the new set. Fails with `NotFound` when the environment is gone.
    async fn set_environment_variables(
        &self,
        id: EnvironmentId,
        variables: &[StoredVariable],
        now: DateTime<Utc>,
    ) -> StoreResult<EnvironmentVariables>;
    /// Deletes the environment and, by cascade, its workspaces, sessions, deployments,
    /// deployment bindings and variables.
    async fn delete_environment(&self, id: EnvironmentId) -> StoreResult<()>;

    // Workspaces.

    /// Fails with `Conflict("workspace")` when the branch already has one (invariant I1).
    async fn create_workspace(
        &self,
        env: EnvironmentId,
        branch: &BranchName,
        id: WorkspaceId,
    ) -> StoreResult<Workspace>;
    async fn get_workspace(
        &self,
        env: EnvironmentId,
        branch: &BranchName,
    ) -> StoreResult<Option<Workspace>>;
    /// The environment's workspaces, oldest first; every workspace when `env` is `None`.
    async fn list_workspaces(&self, env: Option<EnvironmentId>) -> StoreResult<Vec<Workspace>>;
    /// The running workspaces, oldest first: what the background checks of running
    /// workspaces read, without the rest of the table.
    async fn list_running_workspaces(&self) -> StoreResult<Vec<Workspace>>;
    async fn set_workspace_state(
        &self,
        id: WorkspaceId,
        status: WorkspaceStatus,
        container_id: Option<&str>,
        error: Option<&str>,
    ) -> StoreResult<()>;
    async fn delete_workspace(&self, id: WorkspaceId) -> StoreResult<()>;
    /// Records the workspace's latest disk measurement, replacing the one before, without
    /// touching `updated_at` (a measurement is not a change of the workspace). A workspace
    /// that is gone is skipped.
    async fn set_workspace_disk(&self, id: WorkspaceId, usage: DiskUsage) -> StoreResult<()>;

    // Notifications.

    /// The user's notification settings, or the defaults when they never changed them.
    async fn get_notification_settings(&self, user: UserId) -> StoreResult<NotificationSettings>;
    /// Replaces the user's notification settings. Fails with `NotFound` when the user is gone.
    async fn set_notification_settings(
        &self,
        user: UserId,
        settings: &NotificationSettings,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    // Sessions.

    /// Creates a session in status `active`. Fails with `Conflict("session name")` when the
    /// environment already has a session of that name, `Conflict("tmux session name")` when
    /// that tmux name is taken, and `NotFound` when the environment or workspace is gone.
    async fn create_session(&self, session: NewSession) -> StoreResult<Session>;
    async fn get_session(&self, id: SessionId) -> StoreResult<Option<Session>>;
    /// The environment's sessions, oldest first; every session when `env` is `None`.
    async fn list_sessions(&self, env: Option<EnvironmentId>) -> StoreResult<Vec<Session>>;
    /// The sessions of all the user's environments, oldest first, read through the user's
    /// environments only.
    async fn list_user_sessions(&self, user: UserId) -> StoreResult<Vec<Session>>;
    async fn session_name_taken(&self, env: EnvironmentId, name: &SessionName)
    -> StoreResult<bool>;
    /// Fails with `Conflict("session name")` or `NotFound`.
    async fn rename_session(
        &self,
        id: SessionId,
        name: &SessionName,
        now: DateTime<Utc>,
    ) -> StoreResult<Session>;
    /// Fails with `NotFound`.
    async fn set_session_status(
        &self,
        id: SessionId,
        status: SessionStatus,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Records which version of its environment's variables the session's tmux session
    /// started with. Fails with `NotFound`.
    async fn set_session_variables_version(&self, id: SessionId, version: i64) -> StoreResult<()>;
    /// Sets `last_activity` of each session in one transaction; ids that are gone are
    /// skipped, and a time older than the stored one never replaces it.
    async fn record_session_activity(
        &self,
        activity: &[(SessionId, DateTime<Utc>)],
    ) -> StoreResult<()>;
    /// Fails with `NotFound`.
    async fn delete_session(&self, id: SessionId) -> StoreResult<()>;

    // Deployments.

    /// Records a deployment. Fails with `NotFound` when the environment is gone.
    async fn create_deployment(&self, deployment: NewDeployment) -> StoreResult<Deployment>;
    async fn get_deployment(&self, id: DeploymentId) -> StoreResult<Option<Deployment>>;
    /// The environment's deployments, newest first.
    async fn list_deployments(&self, env: EnvironmentId) -> StoreResult<Vec<Deployment>>;
    /// Replaces the status, Coolify id and metadata and returns the row. Fails with
    /// `NotFound` when the deployment is gone.
    async fn update_deployment(
        &self,
        id: DeploymentId,
        update: DeploymentUpdate,
    ) -> StoreResult<Deployment>;
    /// Every deployment that has not ended (`queued` or `in_progress`), oldest first, so that
    /// following them can resume after a restart.
    async fn list_unfinished_deployments(&self) -> StoreResult<Vec<Deployment>>;

    // Deployment bindings.

    /// Binds an application to an environment. Fails with `Conflict("deployment binding")`
    /// when it is bound already, and `NotFound` when the environment is gone.
    async fn create_deployment_binding(
        &self,
        binding: NewDeploymentBinding,
    ) -> StoreResult<DeploymentBinding>;
    async fn get_deployment_binding(
        &self,
        env: EnvironmentId,
        app: &CoolifyAppId,
    ) -> StoreResult<Option<DeploymentBinding>>;
    /// The environment's bindings, oldest first.
    async fn list_deployment_bindings(
        &self,
        env: EnvironmentId,
    ) -> StoreResult<Vec<DeploymentBinding>>;
    /// Fails with `NotFound` when the application is not bound to the environment.
    async fn delete_deployment_binding(
        &self,
        env: EnvironmentId,
        app: &CoolifyAppId,
    ) -> StoreResult<()>;

    // Usage and limits.

    /// What the user has now, counted over the user's own rows (indexed by owner and
    /// parent); all zero for a user that does not exist.
    async fn user_usage(&self, user: UserId) -> StoreResult<Usage>;
    /// The user's overrides of the default limits (none set when the user has none).
    async fn user_limits(&self, user: UserId) -> StoreResult<LimitOverrides>;
    /// Replaces the user's overrides; all `None` forgets them. Fails with `NotFound` when
    /// the user is gone.
    async fn set_user_limits(
        &self,
        user: UserId,
        limits: LimitOverrides,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// A page of users, oldest first, each with usage and overrides.
    async fn list_users_with_usage(
        &self,
        offset: i64,
        limit: i64,
    ) -> StoreResult<Vec<UserWithUsage>>;

    // Audit log.

    async fn append_audit(&self, entry: NewAuditEntry) -> StoreResult<()>;
    /// The newest entries first.
    async fn list_audit(&self, user: Option<UserId>, limit: i64) -> StoreResult<Vec<AuditEntry>>;

    // Encryption keys.

    /// The ids of every key that encrypted something stored, canaries included.
    async fn secret_key_ids(&self) -> StoreResult<Vec<String>>;
    async fn key_canary(&self, key_id: &str) -> StoreResult<Option<String>>;
    async fn put_key_canary(&self, key_id: &str, sealed: &str) -> StoreResult<()>;
}

/// Schema migrations, driven by `craftastic migrate` and at `serve` start.
#[async_trait]
pub trait Migrations: Send + Sync {
    /// Applies every pending migration; returns the versions applied.
    async fn migrate_up(&self) -> StoreResult<Vec<i64>>;
    /// Reverts applied migrations newer than `target`, newest first; returns the versions
    /// reverted.
    async fn migrate_down(&self, target: i64) -> StoreResult<Vec<i64>>;
    async fn migration_status(&self) -> StoreResult<Vec<MigrationStatus>>;
    /// A normalised description of the schema (tables, columns, indexes, foreign keys), so
    /// that tests can compare two schemas.
    async fn schema_fingerprint(&self) -> StoreResult<Vec<String>>;
}
