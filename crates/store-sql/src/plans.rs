//! Every query a user's request makes reads through an index, on both databases: the store's
//! owner-scoped methods run while their statements are recorded, and each statement's plan is
//! then asked of the database itself (SQLite's `EXPLAIN QUERY PLAN`, PostgreSQL's `EXPLAIN`
//! with sequential scans priced out), so that a whole-table read fails here, not in
//! production.

use std::str::FromStr;
use std::sync::Mutex;

use chrono::Utc;
use craftastic_domain::{
    AgentName, AgentType, BranchName, CoolifyAppId, DeploymentId, EgressPolicy, Email,
    EnvironmentId, EnvironmentName, SessionId, SessionName, UserId, UserName, WorkingDirectory,
    WorkspaceId,
};
use craftastic_store::*;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection};
use uuid::Uuid;

use crate::SqlStore;
use crate::db::{Db, Query, query};

/// The statements run while recording; `None` when not recording.
static RECORDED: Mutex<Option<Vec<Query>>> = Mutex::new(None);

/// One check at a time: the tests of both backends share [`RECORDED`], which takes every
/// statement of the process.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub(crate) fn record(q: &Query) {
    if let Some(recorded) = RECORDED.lock().unwrap().as_mut() {
        recorded.push(q.clone());
    }
}

/// Tables whose size grows with the number of users.
const TABLES: [&str; 12] = [
    "users",
    "refresh_tokens",
    "environments",
    "workspaces",
    "sessions",
    "agents",
    "agent_credentials",
    "deployments",
    "deployment_bindings",
    "audit_log",
    "user_limits",
    "environment_variables",
];

struct Seeded {
    user: UserId,
    email: Email,
    env: EnvironmentId,
    branch: BranchName,
    session: SessionId,
    deployment: DeploymentId,
    app: CoolifyAppId,
    family: Uuid,
}

async fn seed(s: &SqlStore, n: u32) -> Seeded {
    let now = Utc::now();
    let email = Email::parse(&format!("user{n}@example.com")).unwrap();
    let user = s
        .create_user(NewUser {
            id: UserId::new(),
            email: email.clone(),
            name: UserName::parse("Plan").unwrap(),
            password_hash: "$argon2id$fake".into(),
            admin: AdminGrant::No,
            now,
        })
        .await
        .unwrap()
        .id;
    let family = Uuid::new_v4();
    s.insert_refresh_token(NewRefreshToken {
        id: Uuid::new_v4(),
        user_id: user,
        family_id: family,
        token_hash: format!("hash{n}").into_bytes(),
        created_at: now,
        expires_at: now + chrono::Duration::days(1),
    })
    .await
    .unwrap();
    let branch = BranchName::parse("main").unwrap();
    let env = s
        .create_environment(NewEnvironment {
            id: EnvironmentId::new(),
            user_id: user,
            name: EnvironmentName::parse("env").unwrap(),
            repository_url: None,
            branch: branch.clone(),
            egress: EgressPolicy::Open,
            idle_stop: craftastic_domain::IdleStopMinutes::DEFAULT,
            size: craftastic_domain::EnvironmentSize::default(),
            now,
        })
        .await
        .unwrap()
        .id;
    s.set_environment_variables(env, &variables(), now)
        .await
        .unwrap();
    let workspace = s
        .create_workspace(env, &branch, WorkspaceId::new())
        .await
        .unwrap()
        .id;
    let agent = s
        .create_agent(NewAgent {
            id: craftastic_domain::AgentId::new(),
            user_id: user,
            name: AgentName::parse("claude").unwrap(),
            agent_type: AgentType::parse("claude-code").unwrap(),
            credential: None,
            now,
        })
        .await
        .unwrap()
        .id;
    let session_id = SessionId::new();
    let session = s
        .create_session(NewSession {
            id: session_id,
            environment_id: env,
            workspace_id: workspace,
            name: SessionName::parse("one").unwrap(),
            tmux_session_name: format!("ct-{session_id}"),
            working_directory: WorkingDirectory::parse("src").unwrap(),
            session_type: SessionType::Terminal,
            agent_id: Some(agent.0),
            git_branch: branch.clone(),
            now,
        })
        .await
        .unwrap()
        .id;
    let app = CoolifyAppId::parse("app1").unwrap();
    let deployment = s
        .create_deployment(NewDeployment {
            id: DeploymentId::new(),
            environment_id: env,
            app_id: app.clone(),
            branch: branch.clone(),
            status: DeploymentStatus::Queued,
            coolify_deployment_id: None,
            metadata: serde_json::json!({}),
            now,
        })
        .await
        .unwrap()
        .id;
    s.create_deployment_binding(NewDeploymentBinding {
        environment_id: env,
        app_id: app.clone(),
        created_by: user,
        now,
    })
    .await
    .unwrap();
    s.append_audit(NewAuditEntry {
        user_id: Some(user),
        action: "plan.seed".into(),
        target: Some(env.to_string()),
        outcome: "ok".into(),
        details: serde_json::json!({}),
        at: now,
    })
    .await
    .unwrap();
    Seeded {
        user,
        email,
        env,
        branch,
        session,
        deployment,
        app,
        family,
    }
}

/// A plain variable and a secret.
fn variables() -> Vec<StoredVariable> {
    vec![
        StoredVariable {
            name: craftastic_domain::VariableName::parse("PLAIN").unwrap(),
            value: StoredValue::Plain("1".into()),
        },
        StoredVariable {
            name: craftastic_domain::VariableName::parse("SECRET").unwrap(),
            value: StoredValue::Sealed("key.sealed".into()),
        },
    ]
}

/// What the requests of one user ask of the store, recorded.
async fn owner_statements(s: &SqlStore) -> Vec<Query> {
    seed(s, 1).await;
    let me = seed(s, 2).await;
    let now = Utc::now();
    *RECORDED.lock().unwrap() = Some(Vec::new());
    s.get_user(me.user).await.unwrap();
    s.get_user_by_email(&me.email).await.unwrap();
    s.sign_in_live(me.user, me.family, now).await.unwrap();
    s.refresh_family_live(me.family, now).await.unwrap();
    s.revoke_refresh_family_of(me.user, b"hash2").await.unwrap();
    s.revoke_user_refresh_tokens(me.user, Some(me.family))
        .await
        .unwrap();
    s.list_agents(me.user).await.unwrap();
    s.list_environments(Some(me.user)).await.unwrap();
    s.list_environment_contents(me.user).await.unwrap();
    s.get_environment_contents(me.env).await.unwrap();
    s.list_user_sessions(me.user).await.unwrap();
    s.get_environment(me.env).await.unwrap();
    s.environment_name_taken(me.user, "env").await.unwrap();
    s.list_workspaces(Some(me.env)).await.unwrap();
    s.list_running_workspaces().await.unwrap();
    s.get_workspace(me.env, &me.branch).await.unwrap();
    s.list_sessions(Some(me.env)).await.unwrap();
    s.get_session(me.session).await.unwrap();
    s.session_name_taken(me.env, &SessionName::parse("two").unwrap())
        .await
        .unwrap();
    s.set_session_status(me.session, SessionStatus::Active, now)
        .await
        .unwrap();
    s.record_session_activity(&[(me.session, now)])
        .await
        .unwrap();
    s.get_environment_variables(me.env).await.unwrap();
    s.set_environment_variables(me.env, &variables(), now)
        .await
        .unwrap();
    s.set_session_variables_version(me.session, 2)
        .await
        .unwrap();
    s.set_environment_size(me.env, craftastic_domain::EnvironmentSize::default(), now)
        .await
        .unwrap();
    s.list_deployments(me.env).await.unwrap();
    s.get_deployment(me.deployment).await.unwrap();
    s.list_unfinished_deployments().await.unwrap();
    s.list_deployment_bindings(me.env).await.unwrap();
    s.get_deployment_binding(me.env, &me.app).await.unwrap();
    s.user_usage(me.user).await.unwrap();
    s.user_limits(me.user).await.unwrap();
    s.list_audit(Some(me.user), 10).await.unwrap();
    RECORDED.lock().unwrap().take().unwrap()
}

/// The plan's lines that read a growing table whole.
async fn whole_table_reads(db: &Db, q: &Query) -> Vec<String> {
    let explain = match db {
        Db::Sqlite(_) => format!("EXPLAIN QUERY PLAN {}", q.sql),
        Db::Postgres(_) => format!("EXPLAIN {}", q.sql),
    };
    let mut plan = query(explain);
    for arg in &q.args {
        plan = plan.bind(arg.clone());
    }
    let rows = plan.fetch_all(db).await.unwrap();
    let mut found = Vec::new();
    for row in rows {
        let line: String = match db {
            Db::Sqlite(_) => row.get("detail").unwrap(),
            Db::Postgres(_) => row.get("QUERY PLAN").unwrap(),
        };
        let scanned = TABLES.iter().any(|table| match db {
            // SQLite's `SCAN t` reads t whole (through an index too); `SEARCH` looks up. The
            // partial indexes of unfinished deployments and running workspaces hold nothing
            // else.
            Db::Sqlite(_) => {
                line.split_whitespace().take(2).eq(["SCAN", table])
                    && !line.contains("deployments_unfinished")
                    && !line.contains("workspaces_running")
            }
            Db::Postgres(_) => line.contains(&format!("Seq Scan on {table} ")),
        });
        if scanned {
            found.push(line);
        }
    }
    found
}

async fn check(s: &SqlStore) {
    // The whole check, so that no statement of the other backend's test is recorded here.
    let _turn = ONE_AT_A_TIME.lock().await;
    s.migrate_up().await.unwrap();
    let statements = owner_statements(s).await;
    assert!(statements.len() >= 27, "{} statements", statements.len());
    let mut failures = Vec::new();
    for q in &statements {
        let scans = whole_table_reads(&s.db, q).await;
        if !scans.is_empty() {
            failures.push(format!("{}\n  -> {}", q.sql, scans.join("\n  -> ")));
        }
    }
    assert!(
        failures.is_empty(),
        "these statements read whole tables on {}:\n{}",
        s.db.backend(),
        failures.join("\n\n")
    );
}

#[tokio::test]
async fn a_users_requests_read_through_indexes_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqlStore::open_sqlite_file(&dir.path().join("plans.db"))
        .await
        .unwrap();
    check(&s).await;
}

#[tokio::test]
async fn a_users_requests_read_through_indexes_on_postgres() {
    let admin_url = std::env::var("TEST_DATABASE_URL").expect(
        "TEST_DATABASE_URL is not set, and this test needs PostgreSQL: run the README's test \
         command (./scripts/test), which starts a throwaway server",
    );
    let name = format!("craftastic_plans_{}", Uuid::new_v4().simple());
    let admin = PgConnectOptions::from_str(&admin_url).unwrap();
    let mut conn = admin.connect().await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    // Tables this small are read whole whatever their indexes; pricing sequential scans out
    // leaves them only where no index can answer.
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(
            admin
                .clone()
                .database(&name)
                .options([("enable_seqscan", "off")]),
        )
        .await
        .unwrap();
    check(&SqlStore {
        db: Db::Postgres(pool.clone()),
        observer: Default::default(),
    })
    .await;
    pool.close().await;
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
}
