//! Fills a Craftastic database through the store, for benchmarks (`bench/api`): the
//! environments of one existing user, or many other users with theirs. Every user gets the
//! same shape: environments, each with workspaces and sessions spread over them. The
//! workspaces have no container, so their sessions are seeded `inactive`, as the reconciler
//! would leave them: a pass during a measurement then has nothing to write.
//!
//!   seed DATABASE_URL owner EMAIL        gives EMAIL's account its environments and prints
//!                                        the id of one of its sessions
//!   seed DATABASE_URL others COUNT       adds COUNT users with their environments
//!
//! `DATABASE_URL` is `sqlite://PATH` or `postgres://…`, a database that `craftastic serve`
//! (or `craftastic migrate up`) has already migrated.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use chrono::Utc;
use craftastic_domain::{
    BranchName, EgressPolicy, Email, EnvironmentId, EnvironmentName, SessionId, SessionName,
    UserId, UserName, WorkingDirectory, WorkspaceId,
};
use craftastic_store::{
    AdminGrant, NewEnvironment, NewSession, NewUser, SessionStatus, SessionType, Store,
};
use craftastic_store_sql::SqlStore;

const ENVIRONMENTS: usize = 5;
const WORKSPACES_PER_ENVIRONMENT: usize = 2;
const SESSIONS_PER_ENVIRONMENT: usize = 5;
/// Users seeded at once: enough to keep a PostgreSQL server busy, few enough for SQLite's
/// single writer to take turns without hitting its busy timeout.
const CONCURRENT_USERS: usize = 8;

/// The one place that knows the store's implementation; everything else talks to [`Store`].
async fn open_store(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    let store = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        SqlStore::connect_postgres(url)
            .await
            .context("cannot connect to PostgreSQL")?
    } else if url.starts_with("sqlite://") {
        SqlStore::connect_sqlite(url)
            .await
            .context("cannot open the SQLite database")?
    } else {
        bail!("the database URL must start with sqlite:// or postgres://")
    };
    Ok(Arc::new(store))
}

/// Gives `user` its environments, workspaces and sessions; returns the first session.
async fn seed_user(store: &dyn Store, user: UserId) -> anyhow::Result<SessionId> {
    let now = Utc::now();
    let mut first_session = None;
    for e in 0..ENVIRONMENTS {
        let env = store
            .create_environment(NewEnvironment {
                id: EnvironmentId::new(),
                user_id: user,
                name: EnvironmentName::parse(&format!("env-{e}"))?,
                repository_url: None,
                branch: BranchName::parse("main")?,
                egress: EgressPolicy::Open,
                idle_stop: craftastic_domain::IdleStopMinutes::DEFAULT,
                size: craftastic_domain::EnvironmentSize::default(),
                now,
            })
            .await?;
        let mut workspaces = Vec::with_capacity(WORKSPACES_PER_ENVIRONMENT);
        for w in 0..WORKSPACES_PER_ENVIRONMENT {
            let branch = BranchName::parse(&format!("branch-{w}"))?;
            let workspace = store
                .create_workspace(env.id, &branch, WorkspaceId::new())
                .await?;
            workspaces.push(workspace);
        }
        for s in 0..SESSIONS_PER_ENVIRONMENT {
            let workspace = &workspaces[s % workspaces.len()];
            let id = SessionId::new();
            let session = store
                .create_session(NewSession {
                    id,
                    environment_id: env.id,
                    workspace_id: workspace.id,
                    name: SessionName::parse(&format!("session-{s}"))?,
                    tmux_session_name: format!("cs-{}", id.0.simple()),
                    working_directory: WorkingDirectory::root(),
                    session_type: SessionType::Terminal,
                    agent_id: None,
                    git_branch: workspace.branch.clone(),
                    now,
                })
                .await?;
            store
                .set_session_status(session.id, SessionStatus::Inactive, now)
                .await?;
            first_session.get_or_insert(session.id);
        }
    }
    first_session.context("no session was seeded")
}

async fn seed_owner(store: &dyn Store, email: &str) -> anyhow::Result<()> {
    let email = Email::parse(email)?;
    let user = store
        .get_user_by_email(&email)
        .await?
        .with_context(|| format!("no account has the email {email}"))?;
    let session = seed_user(store, user.id).await?;
    println!("{}", session.0);
    Ok(())
}

async fn seed_others(store: Arc<dyn Store>, count: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    // A distinct prefix per run, so that seeding twice adds users instead of failing.
    let run = &UserId::new().0.simple().to_string()[..8];
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..CONCURRENT_USERS.min(count) {
        let (store, next, run) = (store.clone(), next.clone(), run.to_owned());
        workers.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return anyhow::Ok(());
                }
                let user = store
                    .create_user(NewUser {
                        id: UserId::new(),
                        email: Email::parse(&format!("seed-{run}-{i}@example.com"))?,
                        name: UserName::parse(&format!("Seeded {i}"))?,
                        password_hash: "seeded: no password signs in".into(),
                        admin: AdminGrant::No,
                        now: Utc::now(),
                    })
                    .await?;
                seed_user(store.as_ref(), user.id).await?;
            }
        });
    }
    while let Some(worker) = workers.join_next().await {
        worker??;
    }
    eprintln!(
        "seeded {count} users with {} rows each in {:.1} s",
        1 + ENVIRONMENTS * (1 + WORKSPACES_PER_ENVIRONMENT + SESSIONS_PER_ENVIRONMENT),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, what, value] = args.as_slice() else {
        bail!("usage: seed DATABASE_URL owner EMAIL | seed DATABASE_URL others COUNT");
    };
    let store = open_store(url).await?;
    match what.as_str() {
        "owner" => seed_owner(store.as_ref(), value).await,
        "others" => {
            let count = value
                .parse()
                .with_context(|| format!("COUNT must be a number of users, not {value:?}"))?;
            seed_others(store, count).await
        }
        other => bail!("seed what? {other:?} is neither owner nor others"),
    }
}
