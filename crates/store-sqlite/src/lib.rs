//! The SQLite store: the default, one file under the data dir, in WAL mode with foreign keys
//! enforced. Ids are stored as UUID text and times as fixed-width RFC 3339 UTC text, so that
//! rows stay readable with the `sqlite3` shell and times sort as text.

use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use craftastic_domain::{
    AgentId, AgentName, AgentType, BranchName, CoolifyAppId, CredentialType, DeploymentId,
    EgressPolicy, Email, EnvironmentId, EnvironmentName, RepositoryUrl, SessionId, SessionName,
    UserId, UserName, WorkingDirectory, WorkspaceId,
};
use craftastic_store::*;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqlitePool};
use uuid::Uuid;

mod bindings;
mod limits;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path` or a plain path).
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(backend)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(backend)?;
        Ok(Self { pool })
    }

    /// Opens the database file at `path`, creating it readable by its owner only (it holds
    /// password hashes); SQLite gives its -wal and -shm files the same mode.
    pub async fn open_file(path: &Path) -> StoreResult<Self> {
        if !path.exists() {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(backend)?;
        }
        Self::connect(&format!("sqlite://{}", path.display())).await
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

fn backend(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Backend(Box::new(e))
}

/// Maps a unique violation to `Conflict(what)`, anything else to `Backend`.
fn conflict(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => backend(e),
    }
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_ts(s: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("time {s:?}: {e}")))
}

fn parse_uuid(s: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(s).map_err(|e| StoreError::Corrupt(format!("uuid {s:?}: {e}")))
}

const USER_COLUMNS: &str =
    "id, email, name, password_hash, is_admin, github_username, created_at, updated_at";

fn user_from_row(row: &SqliteRow) -> StoreResult<User> {
    Ok(User {
        id: UserId(parse_uuid(row.get("id"))?),
        email: Email::from_trusted(row.get("email")),
        name: UserName::from_trusted(row.get("name")),
        password_hash: row.get("password_hash"),
        is_admin: row.get("is_admin"),
        github_username: row.get("github_username"),
        created_at: parse_ts(row.get("created_at"))?,
        updated_at: parse_ts(row.get("updated_at"))?,
    })
}

const ENVIRONMENT_COLUMNS: &str = "id, user_id, name, repository_url, branch, status, error, \
     egress_mode, egress_hosts, created_at, updated_at";
const WORKSPACE_COLUMNS: &str = "id, environment_id, branch, container_id, status, error, \
     disk_bytes, disk_limit_bytes, disk_measured_at, created_at, updated_at";

fn environment_from_row(row: &SqliteRow) -> StoreResult<Environment> {
    let status: String = row.get("status");
    Ok(Environment {
        id: EnvironmentId(parse_uuid(row.get("id"))?),
        user_id: UserId(parse_uuid(row.get("user_id"))?),
        name: EnvironmentName::from_trusted(row.get("name")),
        repository_url: row
            .get::<Option<String>, _>("repository_url")
            .map(RepositoryUrl::from_trusted),
        branch: BranchName::from_trusted(row.get("branch")),
        status: EnvironmentStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("status {status:?}")))?,
        error: row.get("error"),
        egress: egress_from_row(row)?,
        created_at: parse_ts(row.get("created_at"))?,
        updated_at: parse_ts(row.get("updated_at"))?,
    })
}

fn egress_from_row(row: &SqliteRow) -> StoreResult<EgressPolicy> {
    let mode: String = row.get("egress_mode");
    let hosts: String = row.get("egress_hosts");
    let hosts: Vec<String> = serde_json::from_str(&hosts)
        .map_err(|e| StoreError::Corrupt(format!("egress hosts: {e}")))?;
    EgressPolicy::from_trusted(&mode, hosts)
        .ok_or_else(|| StoreError::Corrupt(format!("egress mode {mode:?}")))
}

/// The egress hosts as the JSON array text the column holds.
fn egress_hosts_json(egress: &EgressPolicy) -> String {
    serde_json::Value::from(
        egress
            .hosts()
            .iter()
            .map(|h| h.as_str())
            .collect::<Vec<_>>(),
    )
    .to_string()
}

fn workspace_from_row(row: &SqliteRow) -> StoreResult<Workspace> {
    let status: String = row.get("status");
    let disk_bytes: Option<i64> = row.get("disk_bytes");
    let measured_at: Option<String> = row.get("disk_measured_at");
    let disk = match (disk_bytes, measured_at) {
        (Some(bytes), Some(at)) => Some(DiskUsage {
            bytes,
            limit_bytes: row.get("disk_limit_bytes"),
            measured_at: parse_ts(&at)?,
        }),
        _ => None,
    };
    Ok(Workspace {
        id: WorkspaceId(parse_uuid(row.get("id"))?),
        environment_id: EnvironmentId(parse_uuid(row.get("environment_id"))?),
        branch: BranchName::from_trusted(row.get("branch")),
        container_id: row.get("container_id"),
        status: WorkspaceStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("status {status:?}")))?,
        error: row.get("error"),
        disk,
        created_at: parse_ts(row.get("created_at"))?,
        updated_at: parse_ts(row.get("updated_at"))?,
    })
}

const SESSION_COLUMNS: &str = "id, environment_id, workspace_id, name, tmux_session_name, \
     working_directory, status, session_type, agent_id, git_branch, created_at, updated_at, \
     last_activity";

fn session_from_row(row: &SqliteRow) -> StoreResult<Session> {
    let status: String = row.get("status");
    let session_type: String = row.get("session_type");
    let workspace_id: Option<String> = row.get("workspace_id");
    let agent_id: Option<String> = row.get("agent_id");
    let last_activity: Option<String> = row.get("last_activity");
    Ok(Session {
        id: SessionId(parse_uuid(row.get("id"))?),
        environment_id: EnvironmentId(parse_uuid(row.get("environment_id"))?),
        workspace_id: workspace_id
            .as_deref()
            .map(parse_uuid)
            .transpose()?
            .map(WorkspaceId),
        name: SessionName::from_trusted(row.get("name")),
        tmux_session_name: row.get("tmux_session_name"),
        working_directory: WorkingDirectory::from_trusted(row.get("working_directory")),
        status: SessionStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("status {status:?}")))?,
        session_type: SessionType::parse(&session_type)
            .ok_or_else(|| StoreError::Corrupt(format!("session type {session_type:?}")))?,
        agent_id: agent_id.as_deref().map(parse_uuid).transpose()?,
        git_branch: BranchName::from_trusted(row.get("git_branch")),
        created_at: parse_ts(row.get("created_at"))?,
        updated_at: parse_ts(row.get("updated_at"))?,
        last_activity: last_activity.as_deref().map(parse_ts).transpose()?,
    })
}

/// Maps a failed session write: a missing environment, workspace or agent is `NotFound`, and
/// each unique rule its own `Conflict`. SQLite names the columns, not the constraint, in
/// `UNIQUE constraint failed: sessions.tmux_session_name`.
fn session_write_error(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            let message = db.message();
            if message.contains("sessions.tmux_session_name") {
                StoreError::Conflict("tmux session name")
            } else if message.contains("sessions.name") {
                StoreError::Conflict("session name")
            } else {
                StoreError::Conflict("session")
            }
        }
        _ => backend(e),
    }
}

const DEPLOYMENT_COLUMNS: &str = "id, environment_id, app_id, branch, status, \
     coolify_deployment_id, metadata, created_at, updated_at";

fn deployment_from_row(row: &SqliteRow) -> StoreResult<Deployment> {
    let status: String = row.get("status");
    let metadata: String = row.get("metadata");
    Ok(Deployment {
        id: DeploymentId(parse_uuid(row.get("id"))?),
        environment_id: EnvironmentId(parse_uuid(row.get("environment_id"))?),
        app_id: CoolifyAppId::from_trusted(row.get("app_id")),
        branch: row
            .get::<Option<String>, _>("branch")
            .map(BranchName::from_trusted),
        status: DeploymentStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("deployment status {status:?}")))?,
        coolify_deployment_id: row.get("coolify_deployment_id"),
        metadata: serde_json::from_str(&metadata)
            .map_err(|e| StoreError::Corrupt(format!("deployment metadata: {e}")))?,
        created_at: parse_ts(row.get("created_at"))?,
        updated_at: parse_ts(row.get("updated_at"))?,
    })
}

/// An agent with the kind of its credential, if any.
const AGENT_SELECT: &str = "SELECT a.id, a.user_id, a.name, a.agent_type, a.created_at, \
     a.updated_at, c.credential_type FROM agents a \
     LEFT JOIN agent_credentials c ON c.agent_id = a.id";

fn agent_from_row(row: &SqliteRow) -> StoreResult<Agent> {
    let agent_type: String = row.get("agent_type");
    let credential_type: Option<String> = row.get("credential_type");
    Ok(Agent {
        id: AgentId(parse_uuid(row.get("id"))?),
        user_id: UserId(parse_uuid(row.get("user_id"))?),
        name: AgentName::from_trusted(row.get("name")),
        agent_type: AgentType::parse(&agent_type)
            .map_err(|_| StoreError::Corrupt(format!("agent type {agent_type:?}")))?,
        credential_type: credential_type
            .map(|t| {
                CredentialType::parse(&t)
                    .map_err(|_| StoreError::Corrupt(format!("credential type {t:?}")))
            })
            .transpose()?,
        created_at: parse_ts(row.get("created_at"))?,
        updated_at: parse_ts(row.get("updated_at"))?,
    })
}

/// Maps a failed agent write: a missing user is `NotFound`, a name in use `Conflict`.
fn agent_write_error(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
        _ => conflict("agent name")(e),
    }
}

async fn put_agent_credential(
    tx: &mut sqlx::SqliteConnection,
    id: AgentId,
    credential: &SealedCredential,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO agent_credentials (agent_id, credential_type, sealed_value, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?4)
         ON CONFLICT (agent_id) DO UPDATE SET credential_type = excluded.credential_type,
             sealed_value = excluded.sealed_value, updated_at = excluded.updated_at",
    )
    .bind(id.to_string())
    .bind(credential.kind.as_str())
    .bind(&credential.sealed)
    .bind(ts(now))
    .execute(tx)
    .await
    .map_err(backend)?;
    Ok(())
}

fn audit_from_row(row: &SqliteRow) -> StoreResult<AuditEntry> {
    let user_id: Option<String> = row.get("user_id");
    let details: String = row.get("details");
    Ok(AuditEntry {
        id: row.get("id"),
        user_id: user_id.as_deref().map(parse_uuid).transpose()?.map(UserId),
        action: row.get("action"),
        target: row.get("target"),
        outcome: row.get("outcome"),
        details: serde_json::from_str(&details)
            .map_err(|e| StoreError::Corrupt(format!("audit details: {e}")))?,
        at: parse_ts(row.get("at"))?,
    })
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn create_user(&self, user: NewUser) -> StoreResult<User> {
        // One statement, so SQLite's single writer decides "first" atomically.
        let grant: i64 = match user.admin {
            AdminGrant::No => 0,
            AdminGrant::Yes => 1,
            AdminGrant::IfFirst => 2,
        };
        let sql = format!(
            "INSERT INTO users (id, email, name, password_hash, is_admin, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4,
                     CASE WHEN ?5 = 2 THEN NOT EXISTS (SELECT 1 FROM users) ELSE ?5 END,
                     ?6, ?6)
             RETURNING {USER_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(user.id.to_string())
            .bind(user.email.as_str())
            .bind(user.name.as_str())
            .bind(&user.password_hash)
            .bind(grant)
            .bind(ts(user.now))
            .fetch_one(&self.pool)
            .await
            .map_err(conflict("email"))?;
        user_from_row(&row)
    }

    async fn get_user(&self, id: UserId) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1");
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn get_user_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?1");
        let row = sqlx::query(&sql)
            .bind(email.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn count_users(&self) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await
            .map_err(backend)
    }

    async fn delete_user(&self, id: UserId) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM users WHERE id = ?1")
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn update_password_hash(&self, id: UserId, password_hash: &str) -> StoreResult<()> {
        let done =
            sqlx::query("UPDATE users SET password_hash = ?1, updated_at = ?2 WHERE id = ?3")
                .bind(password_hash)
                .bind(ts(Utc::now()))
                .bind(id.to_string())
                .execute(&self.pool)
                .await
                .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn set_github_link(&self, id: UserId, link: GithubLink) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE users SET github_user_id = ?1, github_username = ?2, github_token = ?3,
                 updated_at = ?4 WHERE id = ?5",
        )
        .bind(link.user_id)
        .bind(&link.username)
        .bind(&link.sealed_token)
        .bind(ts(Utc::now()))
        .bind(id.to_string())
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn clear_github_link(&self, id: UserId) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE users SET github_user_id = NULL, github_username = NULL, github_token = NULL,
                 updated_at = ?1 WHERE id = ?2 AND github_token IS NOT NULL",
        )
        .bind(ts(Utc::now()))
        .bind(id.to_string())
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        if done.rows_affected() > 0 {
            return Ok(true);
        }
        match self.get_user(id).await? {
            Some(_) => Ok(false),
            None => Err(StoreError::NotFound),
        }
    }

    async fn github_token(&self, id: UserId) -> StoreResult<Option<String>> {
        let token: Option<Option<String>> =
            sqlx::query_scalar("SELECT github_token FROM users WHERE id = ?1")
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
        Ok(token.flatten())
    }

    async fn create_agent(&self, agent: NewAgent) -> StoreResult<Agent> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query(
            "INSERT INTO agents (id, user_id, name, agent_type, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        )
        .bind(agent.id.to_string())
        .bind(agent.user_id.to_string())
        .bind(agent.name.as_str())
        .bind(agent.agent_type.as_str())
        .bind(ts(agent.now))
        .execute(&mut *tx)
        .await
        .map_err(agent_write_error)?;
        if let Some(credential) = &agent.credential {
            put_agent_credential(&mut tx, agent.id, credential, agent.now).await?;
        }
        let row = sqlx::query(&format!("{AGENT_SELECT} WHERE a.id = ?1"))
            .bind(agent.id.to_string())
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        agent_from_row(&row)
    }

    async fn get_agent(&self, id: AgentId) -> StoreResult<Option<Agent>> {
        let row = sqlx::query(&format!("{AGENT_SELECT} WHERE a.id = ?1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(agent_from_row).transpose()
    }

    async fn list_agents(&self, user: UserId) -> StoreResult<Vec<Agent>> {
        let rows = sqlx::query(&format!(
            "{AGENT_SELECT} WHERE a.user_id = ?1 ORDER BY a.created_at, a.id"
        ))
        .bind(user.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(agent_from_row).collect()
    }

    async fn update_agent(&self, id: AgentId, update: AgentUpdate) -> StoreResult<Agent> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // The UPDATE comes first so that the transaction takes the write lock at once.
        let done = sqlx::query(
            "UPDATE agents SET name = COALESCE(?1, name), updated_at = ?2 WHERE id = ?3",
        )
        .bind(update.name.as_ref().map(AgentName::as_str))
        .bind(ts(update.now))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(agent_write_error)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        match &update.credential {
            CredentialChange::Keep => {}
            CredentialChange::Set(credential) => {
                put_agent_credential(&mut tx, id, credential, update.now).await?;
            }
            CredentialChange::Remove => {
                sqlx::query("DELETE FROM agent_credentials WHERE agent_id = ?1")
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
            }
        }
        let row = sqlx::query(&format!("{AGENT_SELECT} WHERE a.id = ?1"))
            .bind(id.to_string())
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        agent_from_row(&row)
    }

    async fn delete_agent(&self, id: AgentId) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM agents WHERE id = ?1")
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn agent_credential(&self, id: AgentId) -> StoreResult<Option<SealedCredential>> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT credential_type, sealed_value FROM agent_credentials WHERE agent_id = ?1",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.map(|(kind, sealed)| {
            Ok(SealedCredential {
                kind: CredentialType::parse(&kind)
                    .map_err(|_| StoreError::Corrupt(format!("credential type {kind:?}")))?,
                sealed,
            })
        })
        .transpose()
    }

    async fn insert_refresh_token(&self, token: NewRefreshToken) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(token.id.to_string())
        .bind(token.user_id.to_string())
        .bind(token.family_id.to_string())
        .bind(&token.token_hash)
        .bind(ts(token.created_at))
        .bind(ts(token.expires_at))
        .execute(&self.pool)
        .await
        .map_err(conflict("refresh token"))?;
        Ok(())
    }

    async fn rotate_refresh_token(
        &self,
        presented_hash: &[u8],
        next: NextRefreshToken,
        now: DateTime<Utc>,
    ) -> StoreResult<Rotation> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // The UPDATE comes first so that the transaction takes the write lock at once.
        let consumed = sqlx::query(
            "UPDATE refresh_tokens SET used_at = ?1
             WHERE token_hash = ?2 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?1
             RETURNING user_id, family_id",
        )
        .bind(ts(now))
        .bind(presented_hash)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        if let Some(row) = consumed {
            let user_id = UserId(parse_uuid(row.get("user_id"))?);
            let family_id = parse_uuid(row.get("family_id"))?;
            sqlx::query(
                "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .bind(next.id.to_string())
            .bind(user_id.to_string())
            .bind(family_id.to_string())
            .bind(&next.token_hash)
            .bind(ts(next.created_at))
            .bind(ts(next.expires_at))
            .execute(&mut *tx)
            .await
            .map_err(conflict("refresh token"))?;
            tx.commit().await.map_err(backend)?;
            return Ok(Rotation::Rotated { user_id, family_id });
        }
        let known = sqlx::query(
            "SELECT user_id, family_id, used_at IS NOT NULL OR revoked_at IS NOT NULL AS spent
             FROM refresh_tokens WHERE token_hash = ?1",
        )
        .bind(presented_hash)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        let Some(row) = known else {
            return Ok(Rotation::Unknown);
        };
        if !row.get::<bool, _>("spent") {
            return Ok(Rotation::Expired);
        }
        let user_id = UserId(parse_uuid(row.get("user_id"))?);
        let family_id = parse_uuid(row.get("family_id"))?;
        sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = ?1 WHERE family_id = ?2 AND revoked_at IS NULL",
        )
        .bind(ts(now))
        .bind(family_id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(Rotation::Reused { user_id, family_id })
    }

    async fn revoke_refresh_family_of(&self, user: UserId, token_hash: &[u8]) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = ?1
             WHERE revoked_at IS NULL AND family_id =
                 (SELECT family_id FROM refresh_tokens WHERE token_hash = ?2 AND user_id = ?3)",
        )
        .bind(ts(Utc::now()))
        .bind(token_hash)
        .bind(user.to_string())
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() > 0)
    }

    async fn revoke_user_refresh_tokens(
        &self,
        user: UserId,
        keep_family: Option<Uuid>,
    ) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = ?1
             WHERE user_id = ?2 AND revoked_at IS NULL AND (?3 IS NULL OR family_id <> ?3)",
        )
        .bind(ts(Utc::now()))
        .bind(user.to_string())
        .bind(keep_family.map(|f| f.to_string()))
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected())
    }

    async fn refresh_family_live(&self, family: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM refresh_tokens WHERE family_id = ?1
                 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?2)",
        )
        .bind(family.to_string())
        .bind(ts(now))
        .fetch_one(&self.pool)
        .await
        .map_err(backend)
    }

    async fn sign_in_live(
        &self,
        user: UserId,
        family: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        limits::sign_in_live(&self.pool, user, family, now).await
    }

    async fn create_environment(&self, env: NewEnvironment) -> StoreResult<Environment> {
        let sql = format!(
            "INSERT INTO environments (id, user_id, name, repository_url, branch, status,
                 egress_mode, egress_hosts, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'creating', ?6, ?7, ?8, ?8) RETURNING {ENVIRONMENT_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(env.id.to_string())
            .bind(env.user_id.to_string())
            .bind(env.name.as_str())
            .bind(env.repository_url.as_ref().map(|u| u.as_str().to_owned()))
            .bind(env.branch.as_str())
            .bind(env.egress.mode())
            .bind(egress_hosts_json(&env.egress))
            .bind(ts(env.now))
            .fetch_one(&self.pool)
            .await
            .map_err(conflict("environment name"))?;
        environment_from_row(&row)
    }

    async fn get_environment(&self, id: EnvironmentId) -> StoreResult<Option<Environment>> {
        let sql = format!("SELECT {ENVIRONMENT_COLUMNS} FROM environments WHERE id = ?1");
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(environment_from_row).transpose()
    }

    async fn list_environments(&self, user: Option<UserId>) -> StoreResult<Vec<Environment>> {
        let sql = format!(
            "SELECT {ENVIRONMENT_COLUMNS} FROM environments WHERE ?1 IS NULL OR user_id = ?1 ORDER BY created_at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(user.map(|u| u.to_string()))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(environment_from_row).collect()
    }

    async fn environment_name_taken(&self, user: UserId, name: &str) -> StoreResult<bool> {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM environments WHERE user_id = ?1 AND name = ?2)",
        )
        .bind(user.to_string())
        .bind(name)
        .fetch_one(&self.pool)
        .await
        .map_err(backend)
    }

    async fn set_environment_status(
        &self,
        id: EnvironmentId,
        status: EnvironmentStatus,
        error: Option<&str>,
    ) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE environments SET status = ?1, error = ?2, updated_at = ?3 WHERE id = ?4",
        )
        .bind(status.as_str())
        .bind(error)
        .bind(ts(Utc::now()))
        .bind(id.to_string())
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn set_environment_branch(
        &self,
        id: EnvironmentId,
        branch: &BranchName,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE environments SET branch = ?1, updated_at = ?2 WHERE id = ?3")
            .bind(branch.as_str())
            .bind(ts(Utc::now()))
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn set_environment_egress(
        &self,
        id: EnvironmentId,
        egress: &EgressPolicy,
        now: DateTime<Utc>,
    ) -> StoreResult<Environment> {
        let sql = format!(
            "UPDATE environments SET egress_mode = ?1, egress_hosts = ?2, updated_at = ?3
             WHERE id = ?4 RETURNING {ENVIRONMENT_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(egress.mode())
            .bind(egress_hosts_json(egress))
            .bind(ts(now))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .ok_or(StoreError::NotFound)?;
        environment_from_row(&row)
    }

    async fn delete_environment(&self, id: EnvironmentId) -> StoreResult<()> {
        sqlx::query("DELETE FROM environments WHERE id = ?1")
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn create_workspace(
        &self,
        env: EnvironmentId,
        branch: &BranchName,
        id: WorkspaceId,
    ) -> StoreResult<Workspace> {
        let sql = format!(
            "INSERT INTO workspaces (id, environment_id, branch, status, created_at, updated_at)
             VALUES (?1, ?2, ?3, 'creating', ?4, ?4) RETURNING {WORKSPACE_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .bind(env.to_string())
            .bind(branch.as_str())
            .bind(ts(Utc::now()))
            .fetch_one(&self.pool)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
                _ => conflict("workspace")(e),
            })?;
        workspace_from_row(&row)
    }

    async fn get_workspace(
        &self,
        env: EnvironmentId,
        branch: &BranchName,
    ) -> StoreResult<Option<Workspace>> {
        let sql = format!(
            "SELECT {WORKSPACE_COLUMNS} FROM workspaces WHERE environment_id = ?1 AND branch = ?2"
        );
        let row = sqlx::query(&sql)
            .bind(env.to_string())
            .bind(branch.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(workspace_from_row).transpose()
    }

    async fn list_workspaces(&self, env: Option<EnvironmentId>) -> StoreResult<Vec<Workspace>> {
        let sql = format!(
            "SELECT {WORKSPACE_COLUMNS} FROM workspaces WHERE ?1 IS NULL OR environment_id = ?1 ORDER BY created_at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(env.map(|e| e.to_string()))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(workspace_from_row).collect()
    }

    async fn set_workspace_state(
        &self,
        id: WorkspaceId,
        status: WorkspaceStatus,
        container_id: Option<&str>,
        error: Option<&str>,
    ) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE workspaces SET status = ?1, container_id = ?2, error = ?3, updated_at = ?4 WHERE id = ?5",
        )
        .bind(status.as_str())
        .bind(container_id)
        .bind(error)
        .bind(ts(Utc::now()))
        .bind(id.to_string())
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete_workspace(&self, id: WorkspaceId) -> StoreResult<()> {
        sqlx::query("DELETE FROM workspaces WHERE id = ?1")
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn set_workspace_disk(&self, id: WorkspaceId, usage: DiskUsage) -> StoreResult<()> {
        sqlx::query(
            "UPDATE workspaces SET disk_bytes = ?1, disk_limit_bytes = ?2, disk_measured_at = ?3
             WHERE id = ?4",
        )
        .bind(usage.bytes)
        .bind(usage.limit_bytes)
        .bind(ts(usage.measured_at))
        .bind(id.to_string())
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn create_session(&self, session: NewSession) -> StoreResult<Session> {
        let sql = format!(
            "INSERT INTO sessions (id, environment_id, workspace_id, name, tmux_session_name,
                 working_directory, status, session_type, agent_id, git_branch, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'active', ?7, ?8, ?9, ?10, ?10)
             RETURNING {SESSION_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(session.id.to_string())
            .bind(session.environment_id.to_string())
            .bind(session.workspace_id.to_string())
            .bind(session.name.as_str())
            .bind(&session.tmux_session_name)
            .bind(session.working_directory.as_str())
            .bind(session.session_type.as_str())
            .bind(session.agent_id.map(|a| a.to_string()))
            .bind(session.git_branch.as_str())
            .bind(ts(session.now))
            .fetch_one(&self.pool)
            .await
            .map_err(session_write_error)?;
        session_from_row(&row)
    }

    async fn get_session(&self, id: SessionId) -> StoreResult<Option<Session>> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?1");
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(session_from_row).transpose()
    }

    async fn list_sessions(&self, env: Option<EnvironmentId>) -> StoreResult<Vec<Session>> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE ?1 IS NULL OR environment_id = ?1 ORDER BY created_at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(env.map(|e| e.to_string()))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(session_from_row).collect()
    }

    async fn session_name_taken(
        &self,
        env: EnvironmentId,
        name: &SessionName,
    ) -> StoreResult<bool> {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM sessions WHERE environment_id = ?1 AND name = ?2)",
        )
        .bind(env.to_string())
        .bind(name.as_str())
        .fetch_one(&self.pool)
        .await
        .map_err(backend)
    }

    async fn rename_session(
        &self,
        id: SessionId,
        name: &SessionName,
        now: DateTime<Utc>,
    ) -> StoreResult<Session> {
        let sql = format!(
            "UPDATE sessions SET name = ?1, updated_at = ?2 WHERE id = ?3 RETURNING {SESSION_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(name.as_str())
            .bind(ts(now))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(session_write_error)?
            .ok_or(StoreError::NotFound)?;
        session_from_row(&row)
    }

    async fn set_session_status(
        &self,
        id: SessionId,
        status: SessionStatus,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let done = sqlx::query("UPDATE sessions SET status = ?1, updated_at = ?2 WHERE id = ?3")
            .bind(status.as_str())
            .bind(ts(now))
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn record_session_activity(
        &self,
        activity: &[(SessionId, DateTime<Utc>)],
    ) -> StoreResult<()> {
        if activity.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await.map_err(backend)?;
        for (id, at) in activity {
            // Fixed-width UTC text compares as the times it holds.
            sqlx::query(
                "UPDATE sessions SET last_activity = ?1
                 WHERE id = ?2 AND (last_activity IS NULL OR last_activity < ?1)",
            )
            .bind(ts(*at))
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(())
    }

    async fn delete_session(&self, id: SessionId) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM sessions WHERE id = ?1")
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn create_deployment(&self, d: NewDeployment) -> StoreResult<Deployment> {
        let sql = format!(
            "INSERT INTO deployments (id, environment_id, app_id, branch, status,
                 coolify_deployment_id, metadata, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) RETURNING {DEPLOYMENT_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(d.id.to_string())
            .bind(d.environment_id.to_string())
            .bind(d.app_id.as_str())
            .bind(d.branch.as_str())
            .bind(d.status.as_str())
            .bind(&d.coolify_deployment_id)
            .bind(d.metadata.to_string())
            .bind(ts(d.now))
            .fetch_one(&self.pool)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
                _ => conflict("deployment")(e),
            })?;
        deployment_from_row(&row)
    }

    async fn get_deployment(&self, id: DeploymentId) -> StoreResult<Option<Deployment>> {
        let sql = format!("SELECT {DEPLOYMENT_COLUMNS} FROM deployments WHERE id = ?1");
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(deployment_from_row).transpose()
    }

    async fn list_deployments(&self, env: EnvironmentId) -> StoreResult<Vec<Deployment>> {
        let sql = format!(
            "SELECT {DEPLOYMENT_COLUMNS} FROM deployments WHERE environment_id = ?1
             ORDER BY created_at DESC, id DESC"
        );
        let rows = sqlx::query(&sql)
            .bind(env.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(deployment_from_row).collect()
    }

    async fn update_deployment(
        &self,
        id: DeploymentId,
        update: DeploymentUpdate,
    ) -> StoreResult<Deployment> {
        let sql = format!(
            "UPDATE deployments SET status = ?1, coolify_deployment_id = ?2, metadata = ?3,
                 updated_at = ?4 WHERE id = ?5 RETURNING {DEPLOYMENT_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(update.status.as_str())
            .bind(&update.coolify_deployment_id)
            .bind(update.metadata.to_string())
            .bind(ts(update.now))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .ok_or(StoreError::NotFound)?;
        deployment_from_row(&row)
    }

    async fn list_unfinished_deployments(&self) -> StoreResult<Vec<Deployment>> {
        let sql = format!(
            "SELECT {DEPLOYMENT_COLUMNS} FROM deployments
             WHERE status IN ('queued', 'in_progress') ORDER BY created_at, id"
        );
        let rows = sqlx::query(&sql)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(deployment_from_row).collect()
    }

    async fn create_deployment_binding(
        &self,
        binding: NewDeploymentBinding,
    ) -> StoreResult<DeploymentBinding> {
        bindings::create(&self.pool, binding).await
    }

    async fn get_deployment_binding(
        &self,
        env: EnvironmentId,
        app: &CoolifyAppId,
    ) -> StoreResult<Option<DeploymentBinding>> {
        bindings::get(&self.pool, env, app).await
    }

    async fn list_deployment_bindings(
        &self,
        env: EnvironmentId,
    ) -> StoreResult<Vec<DeploymentBinding>> {
        bindings::list(&self.pool, env).await
    }

    async fn delete_deployment_binding(
        &self,
        env: EnvironmentId,
        app: &CoolifyAppId,
    ) -> StoreResult<()> {
        bindings::delete(&self.pool, env, app).await
    }

    async fn user_usage(&self, user: UserId) -> StoreResult<Usage> {
        limits::user_usage(&self.pool, user).await
    }

    async fn user_limits(&self, user: UserId) -> StoreResult<LimitOverrides> {
        limits::user_limits(&self.pool, user).await
    }

    async fn set_user_limits(
        &self,
        user: UserId,
        overrides: LimitOverrides,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        limits::set_user_limits(&self.pool, user, overrides, now).await
    }

    async fn list_users_with_usage(
        &self,
        offset: i64,
        limit: i64,
    ) -> StoreResult<Vec<UserWithUsage>> {
        limits::list_users_with_usage(&self.pool, offset, limit).await
    }

    async fn append_audit(&self, entry: NewAuditEntry) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_log (user_id, action, target, outcome, details, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(entry.user_id.map(|u| u.to_string()))
        .bind(&entry.action)
        .bind(&entry.target)
        .bind(&entry.outcome)
        .bind(entry.details.to_string())
        .bind(ts(entry.at))
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn list_audit(&self, user: Option<UserId>, limit: i64) -> StoreResult<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT id, user_id, action, target, outcome, details, at FROM audit_log
             WHERE ?1 IS NULL OR user_id = ?1 ORDER BY id DESC LIMIT ?2",
        )
        .bind(user.map(|u| u.to_string()))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(audit_from_row).collect()
    }

    async fn secret_key_ids(&self) -> StoreResult<Vec<String>> {
        sqlx::query_scalar(
            "SELECT substr(github_token, 1, instr(github_token, '.') - 1) FROM users
                 WHERE github_token IS NOT NULL
             UNION SELECT substr(sealed_value, 1, instr(sealed_value, '.') - 1) FROM agent_credentials
             UNION SELECT key_id FROM encryption_canaries",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)
    }

    async fn key_canary(&self, key_id: &str) -> StoreResult<Option<String>> {
        sqlx::query_scalar("SELECT sealed FROM encryption_canaries WHERE key_id = ?1")
            .bind(key_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)
    }

    async fn put_key_canary(&self, key_id: &str, sealed: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO encryption_canaries (key_id, sealed, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (key_id) DO NOTHING",
        )
        .bind(key_id)
        .bind(sealed)
        .bind(ts(Utc::now()))
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl Migrations for SqliteStore {
    async fn migrate_up(&self) -> StoreResult<Vec<i64>> {
        let before = applied_versions(&self.pool).await?;
        MIGRATOR.run(&self.pool).await.map_err(backend)?;
        let after = applied_versions(&self.pool).await?;
        Ok(after.into_iter().filter(|v| !before.contains(v)).collect())
    }

    async fn migrate_down(&self, target: i64) -> StoreResult<Vec<i64>> {
        let before = applied_versions(&self.pool).await?;
        MIGRATOR.undo(&self.pool, target).await.map_err(backend)?;
        let after = applied_versions(&self.pool).await?;
        let mut reverted: Vec<i64> = before.into_iter().filter(|v| !after.contains(v)).collect();
        reverted.reverse();
        Ok(reverted)
    }

    async fn migration_status(&self) -> StoreResult<Vec<MigrationStatus>> {
        let applied: Vec<(i64, String)> = if migrations_table_exists(&self.pool).await? {
            sqlx::query_as("SELECT version, installed_on FROM _sqlx_migrations WHERE success")
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?
        } else {
            Vec::new()
        };
        MIGRATOR
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .map(|m| {
                let applied_at = applied
                    .iter()
                    .find(|(v, _)| *v == m.version)
                    .map(|(_, at)| parse_sqlite_datetime(at))
                    .transpose()?;
                Ok(MigrationStatus {
                    version: m.version,
                    description: m.description.to_string(),
                    applied_at,
                })
            })
            .collect()
    }

    async fn schema_fingerprint(&self) -> StoreResult<Vec<String>> {
        let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT type, name, sql FROM sqlite_master
             WHERE name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'
             ORDER BY type, name",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(rows
            .into_iter()
            .map(|(kind, name, sql)| format!("{kind} {name}: {}", sql.unwrap_or_default()))
            .collect())
    }
}

async fn migrations_table_exists(pool: &SqlitePool) -> StoreResult<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')",
    )
    .fetch_one(pool)
    .await
    .map_err(backend)
}

async fn applied_versions(pool: &SqlitePool) -> StoreResult<Vec<i64>> {
    if !migrations_table_exists(pool).await? {
        return Ok(Vec::new());
    }
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
        .fetch_all(pool)
        .await
        .map_err(backend)
}

/// sqlx records `installed_on` with SQLite's `CURRENT_TIMESTAMP` (`YYYY-MM-DD HH:MM:SS`, UTC).
fn parse_sqlite_datetime(s: &str) -> StoreResult<DateTime<Utc>> {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .map(|t| t.and_utc())
        .or_else(|_| parse_ts(s))
}
