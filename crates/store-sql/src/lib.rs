//! The store on SQLite or PostgreSQL: one implementation of every query and row mapping,
//! split by aggregate, with the differences between the two databases in [`db`] (how values
//! travel) and [`migrate`] (each backend's own DDL).
//!
//! SQLite is the default: one file under the data dir, in WAL mode with foreign keys
//! enforced, ids as UUID text and times as fixed-width RFC 3339 UTC text, so that rows stay
//! readable with the `sqlite3` shell and times sort as text. PostgreSQL is chosen with
//! `DATABASE_URL=postgres://…`, for installations that want their state in a server they
//! already back up.

use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use craftastic_domain::{
    AgentId, BranchName, CoolifyAppId, DeploymentId, EgressPolicy, Email, EnvironmentId,
    EnvironmentSize, IdleStopMinutes, SessionId, SessionName, UserId, WorkspaceId,
};
use craftastic_store::*;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use uuid::Uuid;

mod agents;
mod audit;
mod db;
mod deployments;
mod environments;
mod limits;
mod migrate;
mod notifications;
#[cfg(test)]
mod plans;
mod refresh;
mod sessions;
mod users;
mod variables;
mod workspaces;

use db::{Db, backend, query};

/// The store, on whichever database it was opened with.
#[derive(Clone)]
pub struct SqlStore {
    db: Db,
    observer: Arc<RwLock<Option<Observer>>>,
}

impl SqlStore {
    /// Opens (creating if missing) the SQLite database at `url` (`sqlite://path` or a plain
    /// path).
    pub async fn connect_sqlite(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(backend)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // Each connection has a worker thread of its own; more of them than cores only adds
        // thread switches (4 answered the environment list 17 % faster than 8 on 2 cores). A
        // file on this machine does not go away under a connection, so the pool lends
        // connections without first pinging them (a round trip to the worker thread).
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(backend)?;
        Ok(Self {
            db: Db::Sqlite(pool),
            observer: Arc::default(),
        })
    }

    /// Opens the SQLite database file at `path`, creating it readable by its owner only (it
    /// holds password hashes); SQLite gives its -wal and -shm files the same mode.
    pub async fn open_sqlite_file(path: &Path) -> StoreResult<Self> {
        if !path.exists() {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(backend)?;
        }
        Self::connect_sqlite(&format!("sqlite://{}", path.display())).await
    }

    /// Connects to the PostgreSQL database at `url` (`postgres://…`).
    pub async fn connect_postgres(url: &str) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url).map_err(backend)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(backend)?;
        Ok(Self {
            db: Db::Postgres(pool),
            observer: Arc::default(),
        })
    }
}

impl SqlStore {
    /// Tells the observer, if any, of a change that was stored.
    fn told(&self, change: Change) {
        let observer = self
            .observer
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(observer) = observer {
            observer(change);
        }
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> StoreResult<()> {
        query("SELECT 1").execute(&self.db).await.map_err(backend)?;
        Ok(())
    }

    fn observe(&self, observer: Observer) {
        *self
            .observer
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(observer);
    }

    fn backend(&self) -> &'static str {
        self.db.backend()
    }

    async fn create_user(&self, user: NewUser) -> StoreResult<User> {
        users::create(&self.db, user).await
    }

    async fn get_user(&self, id: UserId) -> StoreResult<Option<User>> {
        users::get(&self.db, id).await
    }

    async fn get_user_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
        users::get_by_email(&self.db, email).await
    }

    async fn count_users(&self) -> StoreResult<i64> {
        users::count(&self.db).await
    }

    async fn delete_user(&self, id: UserId) -> StoreResult<()> {
        users::delete(&self.db, id).await
    }

    async fn update_password_hash(&self, id: UserId, password_hash: &str) -> StoreResult<()> {
        users::set_password_hash(&self.db, id, password_hash).await
    }

    async fn set_github_link(&self, id: UserId, link: GithubLink) -> StoreResult<()> {
        users::set_github_link(&self.db, id, link).await
    }

    async fn clear_github_link(&self, id: UserId) -> StoreResult<bool> {
        users::clear_github_link(&self.db, id).await
    }

    async fn github_token(&self, id: UserId) -> StoreResult<Option<String>> {
        users::github_token(&self.db, id).await
    }

    async fn create_agent(&self, agent: NewAgent) -> StoreResult<Agent> {
        agents::create(&self.db, agent).await
    }

    async fn get_agent(&self, id: AgentId) -> StoreResult<Option<Agent>> {
        agents::get(&self.db, id).await
    }

    async fn list_agents(&self, user: UserId) -> StoreResult<Vec<Agent>> {
        agents::list(&self.db, user).await
    }

    async fn update_agent(&self, id: AgentId, update: AgentUpdate) -> StoreResult<Agent> {
        agents::update(&self.db, id, update).await
    }

    async fn delete_agent(&self, id: AgentId) -> StoreResult<()> {
        agents::delete(&self.db, id).await
    }

    async fn agent_credential(&self, id: AgentId) -> StoreResult<Option<SealedCredential>> {
        agents::credential(&self.db, id).await
    }

    async fn insert_refresh_token(&self, token: NewRefreshToken) -> StoreResult<()> {
        refresh::insert(&self.db, token).await
    }

    async fn rotate_refresh_token(
        &self,
        presented_hash: &[u8],
        next: NextRefreshToken,
        now: DateTime<Utc>,
    ) -> StoreResult<Rotation> {
        refresh::rotate(&self.db, presented_hash, next, now).await
    }

    async fn revoke_refresh_family_of(&self, user: UserId, token_hash: &[u8]) -> StoreResult<bool> {
        refresh::revoke_family_of(&self.db, user, token_hash).await
    }

    async fn revoke_user_refresh_tokens(
        &self,
        user: UserId,
        keep_family: Option<Uuid>,
    ) -> StoreResult<u64> {
        refresh::revoke_user(&self.db, user, keep_family).await
    }

    async fn refresh_family_live(&self, family: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
        refresh::family_live(&self.db, family, now).await
    }

    async fn sign_in_live(
        &self,
        user: UserId,
        family: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        refresh::sign_in_live(&self.db, user, family, now).await
    }

    async fn create_environment(&self, env: NewEnvironment) -> StoreResult<Environment> {
        environments::create(&self.db, env).await
    }

    async fn get_environment(&self, id: EnvironmentId) -> StoreResult<Option<Environment>> {
        environments::get(&self.db, id).await
    }

    async fn list_environments(&self, user: Option<UserId>) -> StoreResult<Vec<Environment>> {
        environments::list(&self.db, user).await
    }

    async fn get_environment_contents(
        &self,
        id: EnvironmentId,
    ) -> StoreResult<Option<EnvironmentContents>> {
        environments::get_contents(&self.db, id).await
    }

    async fn list_environment_contents(
        &self,
        user: UserId,
    ) -> StoreResult<Vec<EnvironmentContents>> {
        environments::list_contents(&self.db, user).await
    }

    async fn environment_name_taken(&self, user: UserId, name: &str) -> StoreResult<bool> {
        environments::name_taken(&self.db, user, name).await
    }

    async fn set_environment_status(
        &self,
        id: EnvironmentId,
        status: EnvironmentStatus,
        error: Option<&str>,
    ) -> StoreResult<()> {
        let owner = environments::set_status(&self.db, id, status, error).await?;
        self.told(Change::EnvironmentStatus {
            environment: id,
            owner,
            status,
            error: error.map(str::to_owned),
        });
        Ok(())
    }

    async fn set_environment_branch(
        &self,
        id: EnvironmentId,
        branch: &BranchName,
    ) -> StoreResult<()> {
        environments::set_branch(&self.db, id, branch).await
    }

    async fn set_environment_egress(
        &self,
        id: EnvironmentId,
        egress: &EgressPolicy,
        now: DateTime<Utc>,
    ) -> StoreResult<Environment> {
        environments::set_egress(&self.db, id, egress, now).await
    }

    async fn set_environment_idle_stop(
        &self,
        id: EnvironmentId,
        idle_stop: IdleStopMinutes,
        now: DateTime<Utc>,
    ) -> StoreResult<Environment> {
        environments::set_idle_stop(&self.db, id, idle_stop, now).await
    }

    async fn set_environment_size(
        &self,
        id: EnvironmentId,
        size: EnvironmentSize,
        now: DateTime<Utc>,
    ) -> StoreResult<Environment> {
        environments::set_size(&self.db, id, size, now).await
    }

    async fn get_environment_variables(
        &self,
        id: EnvironmentId,
    ) -> StoreResult<Option<EnvironmentVariables>> {
        variables::get(&self.db, id).await
    }

    async fn set_environment_variables(
        &self,
        id: EnvironmentId,
        variables: &[StoredVariable],
        now: DateTime<Utc>,
    ) -> StoreResult<EnvironmentVariables> {
        variables::set(&self.db, id, variables, now).await
    }

    async fn delete_environment(&self, id: EnvironmentId) -> StoreResult<()> {
        environments::delete(&self.db, id).await
    }

    async fn create_workspace(
        &self,
        env: EnvironmentId,
        branch: &BranchName,
        id: WorkspaceId,
    ) -> StoreResult<Workspace> {
        workspaces::create(&self.db, env, branch, id).await
    }

    async fn get_workspace(
        &self,
        env: EnvironmentId,
        branch: &BranchName,
    ) -> StoreResult<Option<Workspace>> {
        workspaces::get(&self.db, env, branch).await
    }

    async fn list_workspaces(&self, env: Option<EnvironmentId>) -> StoreResult<Vec<Workspace>> {
        workspaces::list(&self.db, env).await
    }

    async fn list_running_workspaces(&self) -> StoreResult<Vec<Workspace>> {
        workspaces::list_running(&self.db).await
    }

    async fn set_workspace_state(
        &self,
        id: WorkspaceId,
        status: WorkspaceStatus,
        container_id: Option<&str>,
        error: Option<&str>,
    ) -> StoreResult<()> {
        let (environment, owner) =
            workspaces::set_state(&self.db, id, status, container_id, error).await?;
        self.told(Change::WorkspaceStatus {
            workspace: id,
            environment,
            owner,
            status,
        });
        Ok(())
    }

    async fn delete_workspace(&self, id: WorkspaceId) -> StoreResult<()> {
        workspaces::delete(&self.db, id).await
    }

    async fn set_workspace_disk(&self, id: WorkspaceId, usage: DiskUsage) -> StoreResult<()> {
        workspaces::set_disk(&self.db, id, usage).await
    }

    async fn create_session(&self, session: NewSession) -> StoreResult<Session> {
        sessions::create(&self.db, session).await
    }

    async fn get_session(&self, id: SessionId) -> StoreResult<Option<Session>> {
        sessions::get(&self.db, id).await
    }

    async fn list_sessions(&self, env: Option<EnvironmentId>) -> StoreResult<Vec<Session>> {
        sessions::list(&self.db, env).await
    }

    async fn list_user_sessions(&self, user: UserId) -> StoreResult<Vec<Session>> {
        sessions::list_of_user(&self.db, user).await
    }

    async fn session_name_taken(
        &self,
        env: EnvironmentId,
        name: &SessionName,
    ) -> StoreResult<bool> {
        sessions::name_taken(&self.db, env, name).await
    }

    async fn rename_session(
        &self,
        id: SessionId,
        name: &SessionName,
        now: DateTime<Utc>,
    ) -> StoreResult<Session> {
        sessions::rename(&self.db, id, name, now).await
    }

    async fn get_notification_settings(&self, user: UserId) -> StoreResult<NotificationSettings> {
        notifications::get(&self.db, user).await
    }

    async fn set_notification_settings(
        &self,
        user: UserId,
        settings: &NotificationSettings,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        notifications::set(&self.db, user, settings, now).await
    }

    async fn set_session_status(
        &self,
        id: SessionId,
        status: SessionStatus,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let (environment, owner) = sessions::set_status(&self.db, id, status, now).await?;
        self.told(Change::SessionStatus {
            session: id,
            environment,
            owner,
            status,
        });
        Ok(())
    }

    async fn set_session_variables_version(&self, id: SessionId, version: i64) -> StoreResult<()> {
        sessions::set_variables_version(&self.db, id, version).await
    }

    async fn record_session_activity(
        &self,
        activity: &[(SessionId, DateTime<Utc>)],
    ) -> StoreResult<()> {
        sessions::record_activity(&self.db, activity).await
    }

    async fn delete_session(&self, id: SessionId) -> StoreResult<()> {
        sessions::delete(&self.db, id).await
    }

    async fn create_deployment(&self, deployment: NewDeployment) -> StoreResult<Deployment> {
        deployments::create(&self.db, deployment).await
    }

    async fn get_deployment(&self, id: DeploymentId) -> StoreResult<Option<Deployment>> {
        deployments::get(&self.db, id).await
    }

    async fn list_deployments(&self, env: EnvironmentId) -> StoreResult<Vec<Deployment>> {
        deployments::list(&self.db, env).await
    }

    async fn update_deployment(
        &self,
        id: DeploymentId,
        update: DeploymentUpdate,
    ) -> StoreResult<Deployment> {
        let (deployment, owner) = deployments::update(&self.db, id, update).await?;
        self.told(Change::DeploymentStatus {
            deployment: id,
            environment: deployment.environment_id,
            owner,
            status: deployment.status,
        });
        Ok(deployment)
    }

    async fn list_unfinished_deployments(&self) -> StoreResult<Vec<Deployment>> {
        deployments::list_unfinished(&self.db).await
    }

    async fn create_deployment_binding(
        &self,
        binding: NewDeploymentBinding,
    ) -> StoreResult<DeploymentBinding> {
        deployments::create_binding(&self.db, binding).await
    }

    async fn get_deployment_binding(
        &self,
        env: EnvironmentId,
        app: &CoolifyAppId,
    ) -> StoreResult<Option<DeploymentBinding>> {
        deployments::get_binding(&self.db, env, app).await
    }

    async fn list_deployment_bindings(
        &self,
        env: EnvironmentId,
    ) -> StoreResult<Vec<DeploymentBinding>> {
        deployments::list_bindings(&self.db, env).await
    }

    async fn delete_deployment_binding(
        &self,
        env: EnvironmentId,
        app: &CoolifyAppId,
    ) -> StoreResult<()> {
        deployments::delete_binding(&self.db, env, app).await
    }

    async fn user_usage(&self, user: UserId) -> StoreResult<Usage> {
        limits::usage(&self.db, user).await
    }

    async fn user_limits(&self, user: UserId) -> StoreResult<LimitOverrides> {
        limits::overrides(&self.db, user).await
    }

    async fn set_user_limits(
        &self,
        user: UserId,
        overrides: LimitOverrides,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        limits::set_overrides(&self.db, user, overrides, now).await
    }

    async fn list_users_with_usage(
        &self,
        offset: i64,
        limit: i64,
    ) -> StoreResult<Vec<UserWithUsage>> {
        limits::list_users_with_usage(&self.db, offset, limit).await
    }

    async fn append_audit(&self, entry: NewAuditEntry) -> StoreResult<()> {
        audit::append(&self.db, entry).await
    }

    async fn list_audit(&self, user: Option<UserId>, limit: i64) -> StoreResult<Vec<AuditEntry>> {
        audit::list(&self.db, user, limit).await
    }

    async fn secret_key_ids(&self) -> StoreResult<Vec<String>> {
        audit::secret_key_ids(&self.db).await
    }

    async fn key_canary(&self, key_id: &str) -> StoreResult<Option<String>> {
        audit::key_canary(&self.db, key_id).await
    }

    async fn put_key_canary(&self, key_id: &str, sealed: &str) -> StoreResult<()> {
        audit::put_key_canary(&self.db, key_id, sealed).await
    }
}

#[async_trait]
impl Migrations for SqlStore {
    async fn migrate_up(&self) -> StoreResult<Vec<i64>> {
        migrate::up(&self.db).await
    }

    async fn migrate_down(&self, target: i64) -> StoreResult<Vec<i64>> {
        migrate::down(&self.db, target).await
    }

    async fn migration_status(&self) -> StoreResult<Vec<MigrationStatus>> {
        migrate::status(&self.db).await
    }

    async fn schema_fingerprint(&self) -> StoreResult<Vec<String>> {
        migrate::fingerprint(&self.db).await
    }
}
