//! The same stories against both stores: what one backend does, the other must do too.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use craftastic_domain::{
    AgentId, AgentName, AgentType, BranchName, CoolifyAppId, CredentialType, DeploymentId,
    EgressPolicy, Email, EnvironmentId, EnvironmentName, SessionId, SessionName, UserId, UserName,
    WorkingDirectory, WorkspaceId,
};
use craftastic_store::*;
use craftastic_testkit::{Backend, TestDb, on_both_backends};
use serde_json::json;
use uuid::Uuid;

on_both_backends!(
    users_are_created_found_and_unique_by_email,
    first_user_is_admin_once_even_under_concurrency,
    refresh_token_rotates_and_reuse_revokes_family,
    concurrent_rotation_of_one_token_succeeds_once,
    expired_and_unknown_refresh_tokens_are_told_apart,
    logout_revokes_only_own_family,
    revoking_all_can_keep_the_current_family,
    deleting_a_user_cascades,
    audit_log_keeps_entries_newest_first,
    secret_key_ids_and_canaries,
    github_link_is_set_replaced_read_and_cleared,
    migrations_down_to_zero_and_up_again_leave_the_same_schema,
    sessions_are_created_found_and_listed_oldest_first,
    a_users_environments_come_with_their_contents_and_without_anyone_elses,
    session_names_are_unique_per_environment_and_tmux_names_everywhere,
    creating_a_session_in_a_missing_environment_or_workspace_is_not_found,
    renaming_a_session_returns_it_and_keeps_names_unique,
    session_status_changes_and_bumps_updated_at,
    session_activity_is_recorded_in_batches_and_never_goes_back,
    deleting_sessions_and_what_they_live_in,
    deployments_are_recorded_updated_and_listed_newest_first,
    unfinished_deployments_are_found_and_go_with_their_environment,
    agents_are_created_listed_and_unique_per_user,
    agent_credentials_are_set_replaced_and_removed_with_the_agent,
    deleting_an_agent_leaves_its_sessions_without_one,
    workspace_disk_is_recorded_without_touching_its_state,
    status_changes_are_told_to_the_observer_with_their_owner,
);

/// Sign-in liveness, usage counts and per-user limits.
#[path = "store_conformance/limits.rs"]
mod limits;

fn new_user(email: &str, admin: AdminGrant) -> NewUser {
    NewUser {
        id: UserId::new(),
        email: Email::parse(email).unwrap(),
        name: UserName::parse("Test").unwrap(),
        password_hash: "$argon2id$fake".into(),
        admin,
        now: Utc::now(),
    }
}

fn token(user: UserId, family: Uuid, hash: &[u8], ttl: Duration) -> NewRefreshToken {
    let now = Utc::now();
    NewRefreshToken {
        id: Uuid::new_v4(),
        user_id: user,
        family_id: family,
        token_hash: hash.to_vec(),
        created_at: now,
        expires_at: now + ttl,
    }
}

fn next(hash: &[u8]) -> NextRefreshToken {
    let now = Utc::now();
    NextRefreshToken {
        id: Uuid::new_v4(),
        token_hash: hash.to_vec(),
        created_at: now,
        expires_at: now + Duration::days(1),
    }
}

async fn users_are_created_found_and_unique_by_email(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = &db.store;
    let created = s
        .create_user(new_user("ada@example.com", AdminGrant::No))
        .await
        .unwrap();
    assert!(!created.is_admin);
    let by_id = s.get_user(created.id).await.unwrap().unwrap();
    assert_eq!(by_id.email.as_str(), "ada@example.com");
    assert_eq!(by_id.name.as_str(), "Test");
    let by_email = s
        .get_user_by_email(&Email::parse("ADA@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_email.id, created.id);
    assert!(s.get_user(UserId::new()).await.unwrap().is_none());
    let dup = s
        .create_user(new_user("ada@example.com", AdminGrant::No))
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict("email"))), "{dup:?}");
    assert_eq!(s.count_users().await.unwrap(), 1);
    s.update_password_hash(created.id, "$argon2id$other")
        .await
        .unwrap();
    assert_eq!(
        s.get_user(created.id).await.unwrap().unwrap().password_hash,
        "$argon2id$other"
    );
    assert!(matches!(
        s.update_password_hash(UserId::new(), "x").await,
        Err(StoreError::NotFound)
    ));
}

async fn first_user_is_admin_once_even_under_concurrency(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = db.store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .create_user(new_user(&format!("u{i}@example.com"), AdminGrant::IfFirst))
                .await
                .unwrap()
        }));
    }
    let mut admins = 0;
    for t in tasks {
        admins += usize::from(t.await.unwrap().is_admin);
    }
    assert_eq!(admins, 1);
    let forced = db
        .store
        .create_user(new_user("root@example.com", AdminGrant::Yes))
        .await
        .unwrap();
    assert!(forced.is_admin);
}

async fn refresh_token_rotates_and_reuse_revokes_family(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = &db.store;
    let user = s
        .create_user(new_user("a@example.com", AdminGrant::No))
        .await
        .unwrap()
        .id;
    let family = Uuid::new_v4();
    s.insert_refresh_token(token(user, family, b"t1", Duration::days(1)))
        .await
        .unwrap();
    assert!(s.refresh_family_live(family, Utc::now()).await.unwrap());

    let r = s
        .rotate_refresh_token(b"t1", next(b"t2"), Utc::now())
        .await
        .unwrap();
    assert_eq!(
        r,
        Rotation::Rotated {
            user_id: user,
            family_id: family
        }
    );
    // The stolen copy of t1 comes back: the family dies, t2 with it.
    let r = s
        .rotate_refresh_token(b"t1", next(b"t3"), Utc::now())
        .await
        .unwrap();
    assert_eq!(
        r,
        Rotation::Reused {
            user_id: user,
            family_id: family
        }
    );
    assert!(!s.refresh_family_live(family, Utc::now()).await.unwrap());
    let r = s
        .rotate_refresh_token(b"t2", next(b"t4"), Utc::now())
        .await
        .unwrap();
    assert_eq!(
        r,
        Rotation::Reused {
            user_id: user,
            family_id: family
        }
    );
}

async fn concurrent_rotation_of_one_token_succeeds_once(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let user = db
        .store
        .create_user(new_user("a@example.com", AdminGrant::No))
        .await
        .unwrap()
        .id;
    db.store
        .insert_refresh_token(token(user, Uuid::new_v4(), b"t", Duration::days(1)))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..6u8 {
        let store = db.store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .rotate_refresh_token(b"t", next(&[b'n', i]), Utc::now())
                .await
                .unwrap()
        }));
    }
    let mut rotated = 0;
    for t in tasks {
        rotated += usize::from(matches!(t.await.unwrap(), Rotation::Rotated { .. }));
    }
    assert_eq!(rotated, 1);
}

async fn expired_and_unknown_refresh_tokens_are_told_apart(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = &db.store;
    let user = s
        .create_user(new_user("a@example.com", AdminGrant::No))
        .await
        .unwrap()
        .id;
    s.insert_refresh_token(token(user, Uuid::new_v4(), b"old", Duration::seconds(-5)))
        .await
        .unwrap();
    assert_eq!(
        s.rotate_refresh_token(b"old", next(b"n1"), Utc::now())
            .await
            .unwrap(),
        Rotation::Expired
    );
    assert_eq!(
        s.rotate_refresh_token(b"nope", next(b"n2"), Utc::now())
            .await
            .unwrap(),
        Rotation::Unknown
    );
}

async fn logout_revokes_only_own_family(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = &db.store;
    let a = s
        .create_user(new_user("a@example.com", AdminGrant::No))
        .await
        .unwrap()
        .id;
    let b = s
        .create_user(new_user("b@example.com", AdminGrant::No))
        .await
        .unwrap()
        .id;
    let (fa1, fa2) = (Uuid::new_v4(), Uuid::new_v4());
    s.insert_refresh_token(token(a, fa1, b"a1", Duration::days(1)))
        .await
        .unwrap();
    s.insert_refresh_token(token(a, fa2, b"a2", Duration::days(1)))
        .await
        .unwrap();
    assert!(
        !s.revoke_refresh_family_of(b, b"a1").await.unwrap(),
        "another user's token is not theirs to revoke"
    );
    assert!(s.refresh_family_live(fa1, Utc::now()).await.unwrap());
    assert!(s.revoke_refresh_family_of(a, b"a1").await.unwrap());
    assert!(!s.refresh_family_live(fa1, Utc::now()).await.unwrap());
    assert!(s.refresh_family_live(fa2, Utc::now()).await.unwrap());
}

async fn revoking_all_can_keep_the_current_family(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = &db.store;
    let a = s
        .create_user(new_user("a@example.com", AdminGrant::No))
        .await
        .unwrap()
        .id;
    let families: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
    for (i, f) in families.iter().enumerate() {
        s.insert_refresh_token(token(a, *f, &[i as u8], Duration::days(1)))
            .await
            .unwrap();
    }
    assert_eq!(
        s.revoke_user_refresh_tokens(a, Some(families[0]))
            .await
            .unwrap(),
        2
    );
    assert!(
        s.refresh_family_live(families[0], Utc::now())
            .await
            .unwrap()
    );
    assert!(
        !s.refresh_family_live(families[1], Utc::now())
            .await
            .unwrap()
    );
    assert_eq!(s.revoke_user_refresh_tokens(a, None).await.unwrap(), 1);
    assert!(
        !s.refresh_family_live(families[0], Utc::now())
            .await
            .unwrap()
    );
}

async fn deleting_a_user_cascades(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = &db.store;
    let a = s
        .create_user(new_user("a@example.com", AdminGrant::No))
        .await
        .unwrap()
        .id;
    s.insert_refresh_token(token(a, Uuid::new_v4(), b"t", Duration::days(1)))
        .await
        .unwrap();
    s.append_audit(audit(Some(a), "auth.login")).await.unwrap();
    s.delete_user(a).await.unwrap();
    assert!(s.get_user(a).await.unwrap().is_none());
    assert_eq!(
        s.rotate_refresh_token(b"t", next(b"n"), Utc::now())
            .await
            .unwrap(),
        Rotation::Unknown
    );
    let kept = s.list_audit(None, 10).await.unwrap();
    assert_eq!(kept.len(), 1, "the audit log outlives the user");
    assert_eq!(kept[0].user_id, None);
    assert!(matches!(s.delete_user(a).await, Err(StoreError::NotFound)));
}

fn audit(user: Option<UserId>, action: &str) -> NewAuditEntry {
    NewAuditEntry {
        user_id: user,
        action: action.into(),
        target: Some("t".into()),
        outcome: "ok".into(),
        details: json!({"n": 1}),
        at: Utc::now(),
    }
}

async fn audit_log_keeps_entries_newest_first(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = &db.store;
    let a = s
        .create_user(new_user("a@example.com", AdminGrant::No))
        .await
        .unwrap()
        .id;
    s.append_audit(audit(Some(a), "auth.register"))
        .await
        .unwrap();
    s.append_audit(audit(None, "auth.login")).await.unwrap();
    s.append_audit(audit(Some(a), "auth.logout")).await.unwrap();
    let mine = s.list_audit(Some(a), 10).await.unwrap();
    assert_eq!(
        mine.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["auth.logout", "auth.register"]
    );
    assert_eq!(mine[0].details, json!({"n": 1}));
    assert_eq!(mine[0].target.as_deref(), Some("t"));
    assert_eq!(s.list_audit(None, 2).await.unwrap().len(), 2);
}

async fn secret_key_ids_and_canaries(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = &db.store;
    assert!(s.secret_key_ids().await.unwrap().is_empty());
    assert_eq!(s.key_canary("abc").await.unwrap(), None);
    s.put_key_canary("abc", "abc.sealed").await.unwrap();
    s.put_key_canary("abc", "abc.other").await.unwrap();
    assert_eq!(
        s.key_canary("abc").await.unwrap().as_deref(),
        Some("abc.sealed"),
        "a canary is written once"
    );
    assert_eq!(s.secret_key_ids().await.unwrap(), ["abc"]);
}

async fn github_link_is_set_replaced_read_and_cleared(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = &db.store;
    let ada = s
        .create_user(new_user("ada@example.com", AdminGrant::No))
        .await
        .unwrap()
        .id;
    let bob = s
        .create_user(new_user("bob@example.com", AdminGrant::No))
        .await
        .unwrap()
        .id;
    assert_eq!(s.github_token(ada).await.unwrap(), None);
    assert!(!s.clear_github_link(ada).await.unwrap(), "nothing to clear");
    let link = |id: i64, name: &str, token: &str| GithubLink {
        user_id: id,
        username: name.into(),
        sealed_token: token.into(),
    };
    s.set_github_link(ada, link(1, "ada-gh", "k1.first"))
        .await
        .unwrap();
    s.set_github_link(ada, link(2, "ada-renamed", "k1.second"))
        .await
        .unwrap();
    assert_eq!(
        s.github_token(ada).await.unwrap().as_deref(),
        Some("k1.second")
    );
    assert_eq!(
        s.get_user(ada)
            .await
            .unwrap()
            .unwrap()
            .github_username
            .as_deref(),
        Some("ada-renamed")
    );
    assert_eq!(
        s.github_token(bob).await.unwrap(),
        None,
        "one user's link only"
    );
    assert_eq!(
        s.get_user(bob).await.unwrap().unwrap().github_username,
        None
    );
    assert_eq!(s.secret_key_ids().await.unwrap(), ["k1"]);
    assert!(s.clear_github_link(ada).await.unwrap());
    assert_eq!(s.github_token(ada).await.unwrap(), None);
    assert_eq!(
        s.get_user(ada).await.unwrap().unwrap().github_username,
        None
    );
    assert!(s.secret_key_ids().await.unwrap().is_empty());
    let gone = UserId::new();
    assert!(matches!(
        s.set_github_link(gone, link(3, "x", "k1.x")).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.clear_github_link(gone).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(s.github_token(gone).await.unwrap(), None);
}

async fn migrations_down_to_zero_and_up_again_leave_the_same_schema(backend: Backend) {
    let db = TestDb::new(backend).await;
    let s = &db.store;
    let status = s.migration_status().await.unwrap();
    assert!(!status.is_empty() && status.iter().all(|m| m.applied_at.is_none()));
    let applied = s.migrate_up().await.unwrap();
    assert_eq!(
        applied,
        status.iter().map(|m| m.version).collect::<Vec<_>>()
    );
    assert!(s.migrate_up().await.unwrap().is_empty(), "up is idempotent");
    let schema = s.schema_fingerprint().await.unwrap();
    for table in [
        "users",
        "refresh_tokens",
        "environments",
        "workspaces",
        "sessions",
        "agents",
        "agent_credentials",
        "deployments",
        "audit_log",
        "encryption_canaries",
    ] {
        assert!(
            schema.iter().any(|l| l.contains(table)),
            "{table} missing from {schema:#?}"
        );
    }
    assert!(
        s.migration_status()
            .await
            .unwrap()
            .iter()
            .all(|m| m.applied_at.is_some())
    );

    let mut reverted = s.migrate_down(0).await.unwrap();
    reverted.reverse();
    assert_eq!(reverted, applied);
    assert!(
        s.schema_fingerprint().await.unwrap().is_empty(),
        "down to 0 leaves no table"
    );
    assert!(s.migrate_down(0).await.unwrap().is_empty());

    s.migrate_up().await.unwrap();
    assert_eq!(s.schema_fingerprint().await.unwrap(), schema);
    // The schema works after the round trip, cascades included.
    let a = s
        .create_user(new_user("a@example.com", AdminGrant::No))
        .await
        .unwrap()
        .id;
    s.delete_user(a).await.unwrap();
}

/// A user's environment with a workspace on `main`, for sessions to live in.
struct Place {
    env: EnvironmentId,
    workspace: WorkspaceId,
}

async fn place(s: &dyn Store, user: UserId, name: &str) -> Place {
    let env = s
        .create_environment(NewEnvironment {
            id: EnvironmentId::new(),
            user_id: user,
            name: EnvironmentName::parse(name).unwrap(),
            repository_url: None,
            branch: BranchName::parse("main").unwrap(),
            egress: EgressPolicy::Open,
            idle_stop: craftastic_domain::IdleStopMinutes::DEFAULT,
            size: craftastic_domain::EnvironmentSize::default(),
            now: Utc::now(),
        })
        .await
        .unwrap()
        .id;
    let workspace = s
        .create_workspace(env, &BranchName::parse("main").unwrap(), WorkspaceId::new())
        .await
        .unwrap()
        .id;
    Place { env, workspace }
}

async fn user_with_place(s: &dyn Store) -> (UserId, Place) {
    let user = s
        .create_user(new_user("a@example.com", AdminGrant::No))
        .await
        .unwrap()
        .id;
    (user, place(s, user, "env").await)
}

/// Both stores keep microseconds; a time with more would not come back equal.
fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

fn new_session(at: &Place, name: &str, now: DateTime<Utc>) -> NewSession {
    let id = SessionId::new();
    NewSession {
        id,
        environment_id: at.env,
        workspace_id: at.workspace,
        name: SessionName::parse(name).unwrap(),
        tmux_session_name: format!("ct-{id}"),
        working_directory: WorkingDirectory::parse("src").unwrap(),
        session_type: SessionType::Terminal,
        agent_id: None,
        git_branch: BranchName::parse("main").unwrap(),
        now: micros(now),
    }
}

fn names(sessions: &[Session]) -> Vec<&str> {
    sessions.iter().map(|s| s.name.as_str()).collect()
}

async fn sessions_are_created_found_and_listed_oldest_first(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = &*db.store;
    let (user, here) = user_with_place(s).await;
    let there = place(s, user, "other").await;
    let t0 = micros(Utc::now());
    // Made out of order, so that only created_at can put them in order.
    let late = s
        .create_session(new_session(&here, "late", t0 + Duration::seconds(2)))
        .await
        .unwrap();
    let early = s
        .create_session(new_session(&here, "early", t0 + Duration::seconds(1)))
        .await
        .unwrap();
    s.create_session(new_session(&there, "elsewhere", t0))
        .await
        .unwrap();

    assert_eq!(early.status, SessionStatus::Active);
    assert_eq!(early.workspace_id, Some(here.workspace));
    assert_eq!(early.working_directory.as_str(), "/workspace/src");
    assert_eq!(early.created_at, t0 + Duration::seconds(1));
    assert_eq!(early.updated_at, early.created_at);
    assert_eq!(early.last_activity, None);

    let found = s.get_session(late.id).await.unwrap().unwrap();
    assert_eq!(found.name.as_str(), "late");
    assert_eq!(found.environment_id, here.env);
    assert_eq!(found.tmux_session_name, late.tmux_session_name);
    assert_eq!(found.session_type, SessionType::Terminal);
    assert_eq!(found.agent_id, None);
    assert_eq!(found.git_branch.as_str(), "main");
    assert_eq!(found.created_at, t0 + Duration::seconds(2));
    assert!(s.get_session(SessionId::new()).await.unwrap().is_none());

    assert_eq!(
        names(&s.list_sessions(Some(here.env)).await.unwrap()),
        ["early", "late"]
    );
    assert_eq!(
        names(&s.list_sessions(None).await.unwrap()),
        ["elsewhere", "early", "late"]
    );
    assert!(
        s.list_sessions(Some(EnvironmentId::new()))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_users_environments_come_with_their_contents_and_without_anyone_elses(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = &*db.store;
    let (ada, first) = user_with_place(s).await;
    let second = place(s, ada, "second").await;
    let bob = s
        .create_user(new_user("b@example.com", AdminGrant::No))
        .await
        .unwrap()
        .id;
    let bobs = place(s, bob, "env").await;
    let t0 = micros(Utc::now());
    s.create_session(new_session(&second, "two", t0 + Duration::seconds(2)))
        .await
        .unwrap();
    let one = s
        .create_session(new_session(&first, "one", t0 + Duration::seconds(1)))
        .await
        .unwrap();
    s.create_session(new_session(&first, "zero", t0))
        .await
        .unwrap();
    s.create_session(new_session(&bobs, "bobs", t0))
        .await
        .unwrap();
    // Every kind of value a gathered row carries: a container and an error, a disk
    // measurement, a last activity, and the NULLs of the rows without them.
    s.set_workspace_state(
        first.workspace,
        WorkspaceStatus::Error,
        Some("c0ffee"),
        Some("it \"broke\"\n"),
    )
    .await
    .unwrap();
    s.set_workspace_disk(
        first.workspace,
        DiskUsage {
            bytes: 1 << 40,
            limit_bytes: Some(2 << 40),
            measured_at: t0,
        },
    )
    .await
    .unwrap();
    s.record_session_activity(&[(one.id, t0 + Duration::seconds(3))])
        .await
        .unwrap();

    let listed = s.list_environment_contents(ada).await.unwrap();
    assert_eq!(
        listed.iter().map(|c| c.environment.id).collect::<Vec<_>>(),
        [first.env, second.env],
        "oldest first, and none of bob's"
    );
    for contents in &listed {
        let env = contents.environment.id;
        let alone = s.get_environment_contents(env).await.unwrap().unwrap();
        // The gathered rows read back exactly what the plain reads of each table do.
        let each = format!(
            "{:?} {:?} {:?}",
            s.get_environment(env).await.unwrap().unwrap(),
            s.list_workspaces(Some(env)).await.unwrap(),
            s.list_sessions(Some(env)).await.unwrap()
        );
        for c in [contents, &alone] {
            let gathered = format!("{:?} {:?} {:?}", c.environment, c.workspaces, c.sessions);
            assert_eq!(gathered, each);
        }
    }
    assert_eq!(names(&listed[0].sessions), ["zero", "one"]);
    assert_eq!(names(&listed[1].sessions), ["two"]);
    assert_eq!(listed[0].container_id(), Some("c0ffee"));
    assert!(listed[0].workspaces[0].disk.is_some());
    assert!(listed[1].workspaces[0].disk.is_none());
    assert_eq!(
        names(&s.list_user_sessions(ada).await.unwrap()),
        ["zero", "one", "two"]
    );
    assert_eq!(names(&s.list_user_sessions(bob).await.unwrap()), ["bobs"]);
    let nobody = UserId::new();
    assert!(
        s.list_environment_contents(nobody)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(s.list_user_sessions(nobody).await.unwrap().is_empty());
    assert!(
        s.get_environment_contents(EnvironmentId::new())
            .await
            .unwrap()
            .is_none()
    );
}

async fn session_names_are_unique_per_environment_and_tmux_names_everywhere(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = &*db.store;
    let (user, here) = user_with_place(s).await;
    let there = place(s, user, "other").await;
    let dev = SessionName::parse("dev").unwrap();
    assert!(!s.session_name_taken(here.env, &dev).await.unwrap());
    let first = s
        .create_session(new_session(&here, "dev", Utc::now()))
        .await
        .unwrap();
    assert!(s.session_name_taken(here.env, &dev).await.unwrap());
    assert!(!s.session_name_taken(there.env, &dev).await.unwrap());

    let dup = s
        .create_session(new_session(&here, "dev", Utc::now()))
        .await;
    assert!(
        matches!(dup, Err(StoreError::Conflict("session name"))),
        "{dup:?}"
    );
    s.create_session(new_session(&there, "dev", Utc::now()))
        .await
        .expect("the same name in another environment");

    let mut same_tmux = new_session(&here, "other-name", Utc::now());
    same_tmux.tmux_session_name = first.tmux_session_name.clone();
    let dup = s.create_session(same_tmux).await;
    assert!(
        matches!(dup, Err(StoreError::Conflict("tmux session name"))),
        "{dup:?}"
    );
    assert_eq!(s.list_sessions(None).await.unwrap().len(), 2);
}

async fn creating_a_session_in_a_missing_environment_or_workspace_is_not_found(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = &*db.store;
    let (_, here) = user_with_place(s).await;
    let nowhere = Place {
        env: EnvironmentId::new(),
        workspace: here.workspace,
    };
    let r = s
        .create_session(new_session(&nowhere, "dev", Utc::now()))
        .await;
    assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");
    let no_workspace = Place {
        env: here.env,
        workspace: WorkspaceId::new(),
    };
    let r = s
        .create_session(new_session(&no_workspace, "dev", Utc::now()))
        .await;
    assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");
    assert!(s.list_sessions(None).await.unwrap().is_empty());
}

async fn renaming_a_session_returns_it_and_keeps_names_unique(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = &*db.store;
    let (_, here) = user_with_place(s).await;
    let t0 = micros(Utc::now());
    let dev = s
        .create_session(new_session(&here, "dev", t0))
        .await
        .unwrap();
    s.create_session(new_session(&here, "taken", t0))
        .await
        .unwrap();

    let later = t0 + Duration::minutes(1);
    let renamed = s
        .rename_session(dev.id, &SessionName::parse("build").unwrap(), later)
        .await
        .unwrap();
    assert_eq!(renamed.id, dev.id);
    assert_eq!(renamed.name.as_str(), "build");
    assert_eq!(renamed.updated_at, later);
    assert_eq!(renamed.created_at, t0);
    assert_eq!(renamed.tmux_session_name, dev.tmux_session_name);
    assert_eq!(
        s.get_session(dev.id).await.unwrap().unwrap().name.as_str(),
        "build"
    );
    assert!(
        !s.session_name_taken(here.env, &SessionName::parse("dev").unwrap())
            .await
            .unwrap(),
        "the old name is free again"
    );

    let r = s
        .rename_session(dev.id, &SessionName::parse("taken").unwrap(), later)
        .await;
    assert!(
        matches!(r, Err(StoreError::Conflict("session name"))),
        "{r:?}"
    );
    let r = s
        .rename_session(SessionId::new(), &SessionName::parse("x").unwrap(), later)
        .await;
    assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");
}

async fn session_status_changes_and_bumps_updated_at(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = &*db.store;
    let (_, here) = user_with_place(s).await;
    let t0 = micros(Utc::now());
    let dev = s
        .create_session(new_session(&here, "dev", t0))
        .await
        .unwrap();
    let later = t0 + Duration::minutes(1);
    s.set_session_status(dev.id, SessionStatus::Dead, later)
        .await
        .unwrap();
    let got = s.get_session(dev.id).await.unwrap().unwrap();
    assert_eq!(got.status, SessionStatus::Dead);
    assert_eq!(got.updated_at, later);
    s.set_session_status(dev.id, SessionStatus::Inactive, later)
        .await
        .unwrap();
    assert_eq!(
        s.get_session(dev.id).await.unwrap().unwrap().status,
        SessionStatus::Inactive
    );
    let r = s
        .set_session_status(SessionId::new(), SessionStatus::Active, later)
        .await;
    assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");
}

async fn session_activity_is_recorded_in_batches_and_never_goes_back(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = &*db.store;
    let (_, here) = user_with_place(s).await;
    let t0 = micros(Utc::now());
    let a = s
        .create_session(new_session(&here, "a", t0))
        .await
        .unwrap()
        .id;
    let b = s
        .create_session(new_session(&here, "b", t0))
        .await
        .unwrap()
        .id;
    let activity = |id| async move { s.get_session(id).await.unwrap().unwrap().last_activity };

    s.record_session_activity(&[]).await.unwrap();
    let (t1, t2) = (t0 + Duration::seconds(10), t0 + Duration::seconds(20));
    s.record_session_activity(&[(a, t1), (SessionId::new(), t1), (b, t2)])
        .await
        .expect("a missing id is skipped");
    assert_eq!(activity(a).await, Some(t1));
    assert_eq!(activity(b).await, Some(t2));

    // A late report of older activity does not move the clock back.
    s.record_session_activity(&[(a, t2), (b, t1)])
        .await
        .unwrap();
    assert_eq!(activity(a).await, Some(t2));
    assert_eq!(activity(b).await, Some(t2));
    assert_eq!(
        s.get_session(a).await.unwrap().unwrap().updated_at,
        t0,
        "activity is not an update"
    );
}

async fn deleting_sessions_and_what_they_live_in(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = &*db.store;
    let (user, here) = user_with_place(s).await;
    let one = s
        .create_session(new_session(&here, "one", Utc::now()))
        .await
        .unwrap()
        .id;
    let two = s
        .create_session(new_session(&here, "two", Utc::now()))
        .await
        .unwrap()
        .id;
    s.delete_session(one).await.unwrap();
    assert!(s.get_session(one).await.unwrap().is_none());
    assert!(matches!(
        s.delete_session(one).await,
        Err(StoreError::NotFound)
    ));

    // The workspace goes (its container is recreated later); the session stays, unattached.
    s.delete_workspace(here.workspace).await.unwrap();
    let orphan = s.get_session(two).await.unwrap().unwrap();
    assert_eq!(orphan.workspace_id, None);
    assert_eq!(orphan.environment_id, here.env);

    let there = place(s, user, "other").await;
    let kept = s
        .create_session(new_session(&there, "kept", Utc::now()))
        .await
        .unwrap()
        .id;
    s.delete_environment(here.env).await.unwrap();
    assert!(s.get_session(two).await.unwrap().is_none());
    assert_eq!(
        s.list_sessions(None)
            .await
            .unwrap()
            .iter()
            .map(|x| x.id)
            .collect::<Vec<_>>(),
        [kept]
    );
}

fn new_deployment(env: EnvironmentId, app: &str, now: DateTime<Utc>) -> NewDeployment {
    NewDeployment {
        id: DeploymentId::new(),
        environment_id: env,
        app_id: CoolifyAppId::parse(app).unwrap(),
        branch: BranchName::parse("feature/x").unwrap(),
        status: DeploymentStatus::Queued,
        coolify_deployment_id: Some(format!("{app}dep")),
        metadata: json!({"coolifyMessage": "Application demo deployment queued."}),
        now: micros(now),
    }
}

async fn deployments_are_recorded_updated_and_listed_newest_first(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = &*db.store;
    let (user, here) = user_with_place(s).await;
    let there = place(s, user, "other").await;
    let t0 = micros(Utc::now());
    let first = s
        .create_deployment(new_deployment(here.env, "app1", t0))
        .await
        .unwrap();
    let second = s
        .create_deployment(new_deployment(here.env, "app2", t0 + Duration::seconds(1)))
        .await
        .unwrap();
    s.create_deployment(new_deployment(there.env, "app3", t0))
        .await
        .unwrap();

    assert_eq!(first.environment_id, here.env);
    assert_eq!(first.app_id.as_str(), "app1");
    assert_eq!(first.branch.as_ref().map(|b| b.as_str()), Some("feature/x"));
    assert_eq!(first.status, DeploymentStatus::Queued);
    assert_eq!(first.coolify_deployment_id.as_deref(), Some("app1dep"));
    assert_eq!(
        first.metadata,
        json!({"coolifyMessage": "Application demo deployment queued."})
    );
    assert_eq!((first.created_at, first.updated_at), (t0, t0));

    let found = s.get_deployment(second.id).await.unwrap().unwrap();
    assert_eq!(found.app_id.as_str(), "app2");
    assert_eq!(found.created_at, t0 + Duration::seconds(1));
    assert!(
        s.get_deployment(DeploymentId::new())
            .await
            .unwrap()
            .is_none()
    );

    let apps = |list: Vec<Deployment>| {
        list.into_iter()
            .map(|d| d.app_id.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        apps(s.list_deployments(here.env).await.unwrap()),
        ["app2", "app1"]
    );
    assert!(
        s.list_deployments(EnvironmentId::new())
            .await
            .unwrap()
            .is_empty()
    );

    let t1 = t0 + Duration::seconds(30);
    let updated = s
        .update_deployment(
            first.id,
            DeploymentUpdate {
                status: DeploymentStatus::Finished,
                coolify_deployment_id: Some("other".into()),
                metadata: json!({"commit": "abc123", "durationSeconds": 29}),
                now: t1,
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.status, DeploymentStatus::Finished);
    assert_eq!(updated.coolify_deployment_id.as_deref(), Some("other"));
    assert_eq!(
        updated.metadata,
        json!({"commit": "abc123", "durationSeconds": 29})
    );
    assert_eq!((updated.created_at, updated.updated_at), (t0, t1));
    let reread = s.get_deployment(first.id).await.unwrap().unwrap();
    assert_eq!(
        (reread.status, reread.updated_at, reread.metadata),
        (updated.status, t1, updated.metadata)
    );
    let missing = s
        .update_deployment(
            DeploymentId::new(),
            DeploymentUpdate {
                status: DeploymentStatus::Failed,
                coolify_deployment_id: None,
                metadata: json!({}),
                now: t1,
            },
        )
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    let orphan = s
        .create_deployment(new_deployment(EnvironmentId::new(), "app4", t0))
        .await;
    assert!(matches!(orphan, Err(StoreError::NotFound)), "{orphan:?}");
}

async fn unfinished_deployments_are_found_and_go_with_their_environment(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = &*db.store;
    let (user, here) = user_with_place(s).await;
    let there = place(s, user, "other").await;
    let t0 = micros(Utc::now());
    let mut ids = Vec::new();
    for (i, (env, status)) in [
        (here.env, DeploymentStatus::Queued),
        (there.env, DeploymentStatus::InProgress),
        (here.env, DeploymentStatus::Finished),
        (here.env, DeploymentStatus::Failed),
        (there.env, DeploymentStatus::Cancelled),
        (there.env, DeploymentStatus::Queued),
    ]
    .into_iter()
    .enumerate()
    {
        let made = s
            .create_deployment(NewDeployment {
                status,
                ..new_deployment(env, &format!("app{i}"), t0 + Duration::seconds(i as i64))
            })
            .await
            .unwrap();
        assert_eq!(made.status, status);
        ids.push(made.id);
    }
    let unfinished = |list: Vec<Deployment>| list.into_iter().map(|d| d.id).collect::<Vec<_>>();
    assert_eq!(
        unfinished(s.list_unfinished_deployments().await.unwrap()),
        [ids[0], ids[1], ids[5]],
        "oldest first"
    );
    assert!(
        [
            DeploymentStatus::Finished,
            DeploymentStatus::Failed,
            DeploymentStatus::Cancelled
        ]
        .iter()
        .all(|s| s.is_over())
    );

    s.delete_environment(there.env).await.unwrap();
    assert_eq!(
        unfinished(s.list_unfinished_deployments().await.unwrap()),
        [ids[0]]
    );
    assert!(s.get_deployment(ids[1]).await.unwrap().is_none());
    assert_eq!(s.list_deployments(here.env).await.unwrap().len(), 3);
    s.delete_user(user).await.unwrap();
    assert!(s.list_unfinished_deployments().await.unwrap().is_empty());
}

fn new_agent(user: UserId, name: &str, credential: Option<SealedCredential>) -> NewAgent {
    NewAgent {
        id: AgentId::new(),
        user_id: user,
        name: AgentName::parse(name).unwrap(),
        agent_type: AgentType::ClaudeCode,
        credential,
        now: micros(Utc::now()),
    }
}

fn sealed(kind: CredentialType, text: &str) -> SealedCredential {
    SealedCredential {
        kind,
        sealed: format!("key1.{text}"),
    }
}

async fn agents_are_created_listed_and_unique_per_user(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = &*db.store;
    let ada = s
        .create_user(new_user("ada@example.com", AdminGrant::No))
        .await
        .unwrap()
        .id;
    let bob = s
        .create_user(new_user("bob@example.com", AdminGrant::No))
        .await
        .unwrap()
        .id;
    let t0 = micros(Utc::now());
    let second = s
        .create_agent(NewAgent {
            agent_type: AgentType::GeminiCli,
            now: t0 + Duration::seconds(1),
            ..new_agent(ada, "second", None)
        })
        .await
        .unwrap();
    let first = s
        .create_agent(NewAgent {
            now: t0,
            ..new_agent(ada, "first", Some(sealed(CredentialType::ApiKey, "a")))
        })
        .await
        .unwrap();
    assert_eq!(first.user_id, ada);
    assert_eq!(first.agent_type, AgentType::ClaudeCode);
    assert_eq!(first.credential_type, Some(CredentialType::ApiKey));
    assert_eq!(first.created_at, t0);
    assert_eq!(first.updated_at, t0);
    assert_eq!(second.agent_type, AgentType::GeminiCli);
    assert_eq!(second.credential_type, None);

    let found = s.get_agent(second.id).await.unwrap().unwrap();
    assert_eq!(found.name.as_str(), "second");
    assert!(s.get_agent(AgentId::new()).await.unwrap().is_none());
    let mine: Vec<String> = s
        .list_agents(ada)
        .await
        .unwrap()
        .iter()
        .map(|a| a.name.to_string())
        .collect();
    assert_eq!(mine, ["first", "second"], "oldest first");
    assert!(s.list_agents(bob).await.unwrap().is_empty());

    assert!(matches!(
        s.create_agent(new_agent(ada, "first", None)).await,
        Err(StoreError::Conflict("agent name"))
    ));
    s.create_agent(new_agent(bob, "first", None))
        .await
        .expect("names are unique per user, not across users");
    assert!(matches!(
        s.create_agent(new_agent(UserId::new(), "orphan", None))
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.update_agent(
            second.id,
            AgentUpdate {
                name: Some(AgentName::parse("first").unwrap()),
                credential: CredentialChange::Keep,
                now: Utc::now(),
            }
        )
        .await,
        Err(StoreError::Conflict("agent name"))
    ));
    let renamed = s
        .update_agent(
            second.id,
            AgentUpdate {
                name: Some(AgentName::parse("renamed").unwrap()),
                credential: CredentialChange::Keep,
                now: t0 + Duration::seconds(5),
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name.as_str(), "renamed");
    assert_eq!(renamed.created_at, t0 + Duration::seconds(1));
    assert_eq!(renamed.updated_at, t0 + Duration::seconds(5));
    assert!(matches!(
        s.update_agent(
            AgentId::new(),
            AgentUpdate {
                name: None,
                credential: CredentialChange::Remove,
                now: Utc::now(),
            }
        )
        .await,
        Err(StoreError::NotFound)
    ));
}

async fn agent_credentials_are_set_replaced_and_removed_with_the_agent(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = &*db.store;
    let ada = s
        .create_user(new_user("ada@example.com", AdminGrant::No))
        .await
        .unwrap()
        .id;
    let agent = s.create_agent(new_agent(ada, "a", None)).await.unwrap();
    assert_eq!(s.agent_credential(agent.id).await.unwrap(), None);
    let change = |credential| AgentUpdate {
        name: None,
        credential,
        now: Utc::now(),
    };

    let set = s
        .update_agent(
            agent.id,
            change(CredentialChange::Set(sealed(CredentialType::ApiKey, "one"))),
        )
        .await
        .unwrap();
    assert_eq!(set.credential_type, Some(CredentialType::ApiKey));
    assert_eq!(set.name.as_str(), "a", "a credential change keeps the name");
    let replaced = s
        .update_agent(
            agent.id,
            change(CredentialChange::Set(sealed(CredentialType::OAuth, "two"))),
        )
        .await
        .unwrap();
    assert_eq!(replaced.credential_type, Some(CredentialType::OAuth));
    assert_eq!(
        s.agent_credential(agent.id).await.unwrap(),
        Some(sealed(CredentialType::OAuth, "two")),
        "one credential per agent: the new one replaced the old"
    );
    assert_eq!(s.secret_key_ids().await.unwrap(), ["key1"]);

    let kept = s
        .update_agent(agent.id, change(CredentialChange::Keep))
        .await
        .unwrap();
    assert_eq!(kept.credential_type, Some(CredentialType::OAuth));
    let removed = s
        .update_agent(agent.id, change(CredentialChange::Remove))
        .await
        .unwrap();
    assert_eq!(removed.credential_type, None);
    assert_eq!(s.agent_credential(agent.id).await.unwrap(), None);
    s.update_agent(agent.id, change(CredentialChange::Remove))
        .await
        .expect("removing a missing credential changes nothing");

    let with = s
        .create_agent(new_agent(
            ada,
            "b",
            Some(sealed(CredentialType::ApiKey, "x")),
        ))
        .await
        .unwrap();
    s.delete_agent(with.id).await.unwrap();
    assert!(s.get_agent(with.id).await.unwrap().is_none());
    assert_eq!(s.agent_credential(with.id).await.unwrap(), None);
    assert!(s.secret_key_ids().await.unwrap().is_empty());
    assert!(matches!(
        s.delete_agent(with.id).await,
        Err(StoreError::NotFound)
    ));

    let last = s
        .create_agent(new_agent(
            ada,
            "c",
            Some(sealed(CredentialType::ApiKey, "y")),
        ))
        .await
        .unwrap();
    s.delete_user(ada).await.unwrap();
    assert!(s.get_agent(last.id).await.unwrap().is_none());
    assert_eq!(s.agent_credential(last.id).await.unwrap(), None);
}

async fn deleting_an_agent_leaves_its_sessions_without_one(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = &*db.store;
    let (user, here) = user_with_place(s).await;
    let agent = s.create_agent(new_agent(user, "a", None)).await.unwrap();
    let session = s
        .create_session(NewSession {
            session_type: SessionType::Agent,
            agent_id: Some(agent.id.0),
            ..new_session(&here, "agent", Utc::now())
        })
        .await
        .unwrap();
    assert_eq!(session.agent_id, Some(agent.id.0));
    assert!(matches!(
        s.create_session(NewSession {
            session_type: SessionType::Agent,
            agent_id: Some(Uuid::new_v4()),
            ..new_session(&here, "ghost", Utc::now())
        })
        .await,
        Err(StoreError::NotFound)
    ));
    s.delete_agent(agent.id).await.unwrap();
    let kept = s.get_session(session.id).await.unwrap().unwrap();
    assert_eq!(kept.session_type, SessionType::Agent);
    assert_eq!(kept.agent_id, None);
}

async fn workspace_disk_is_recorded_without_touching_its_state(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = db.store.as_ref();
    let (_, at) = user_with_place(s).await;
    let main = BranchName::parse("main").unwrap();
    let before = s.get_workspace(at.env, &main).await.unwrap().unwrap();
    assert_eq!(before.disk, None, "not measured yet");
    s.set_workspace_state(at.workspace, WorkspaceStatus::Running, Some("c1"), None)
        .await
        .unwrap();
    let running = s.list_running_workspaces().await.unwrap();
    assert_eq!(
        running.iter().map(|w| w.id).collect::<Vec<_>>(),
        [at.workspace]
    );
    let before = s.get_workspace(at.env, &main).await.unwrap().unwrap();

    let first = DiskUsage {
        bytes: 11 << 30,
        limit_bytes: Some(10 << 30),
        measured_at: micros(Utc::now()),
    };
    s.set_workspace_disk(at.workspace, first).await.unwrap();
    let measured = s.get_workspace(at.env, &main).await.unwrap().unwrap();
    assert_eq!(measured.disk, Some(first));
    assert_eq!(
        measured.updated_at, before.updated_at,
        "a measurement is no change"
    );
    assert_eq!(measured.status, before.status);

    let reason = "stopped because it used 11 GiB of disk, over its cap of 10 GiB";
    s.set_workspace_state(
        at.workspace,
        WorkspaceStatus::Stopped,
        Some("c1"),
        Some(reason),
    )
    .await
    .unwrap();
    let later = DiskUsage {
        bytes: 4096,
        limit_bytes: None,
        measured_at: micros(Utc::now() + Duration::seconds(30)),
    };
    s.set_workspace_disk(at.workspace, later).await.unwrap();
    let listed = s.list_workspaces(Some(at.env)).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].disk,
        Some(later),
        "replaced, and no cap stays none"
    );
    assert_eq!(listed[0].status, WorkspaceStatus::Stopped);
    assert!(
        s.list_running_workspaces().await.unwrap().is_empty(),
        "a stopped workspace is not running"
    );
    assert_eq!(
        listed[0].error.as_deref(),
        Some(reason),
        "the state is kept"
    );

    s.set_workspace_disk(WorkspaceId::new(), later)
        .await
        .expect("a workspace that is gone is skipped");
}

async fn status_changes_are_told_to_the_observer_with_their_owner(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = &*db.store;
    let (user, here) = user_with_place(s).await;
    let told = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = told.clone();
    s.observe(std::sync::Arc::new(move |change| {
        sink.lock().unwrap().push(change)
    }));
    let now = micros(Utc::now());
    let session = s
        .create_session(new_session(&here, "dev", now))
        .await
        .unwrap();
    s.set_session_status(session.id, SessionStatus::Dead, now)
        .await
        .unwrap();
    s.set_environment_status(here.env, EnvironmentStatus::Error, Some("no disk"))
        .await
        .unwrap();
    s.set_workspace_state(here.workspace, WorkspaceStatus::Stopped, None, None)
        .await
        .unwrap();
    let deployment = s
        .create_deployment(new_deployment(here.env, "app1", now))
        .await
        .unwrap();
    s.update_deployment(
        deployment.id,
        DeploymentUpdate {
            status: DeploymentStatus::Finished,
            coolify_deployment_id: None,
            metadata: json!({}),
            now,
        },
    )
    .await
    .unwrap();
    // A change of something that is not there is not told.
    let missing = s
        .set_session_status(SessionId::new(), SessionStatus::Dead, now)
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    assert_eq!(
        *told.lock().unwrap(),
        [
            Change::SessionStatus {
                session: session.id,
                environment: here.env,
                owner: user,
                status: SessionStatus::Dead,
            },
            Change::EnvironmentStatus {
                environment: here.env,
                owner: user,
                status: EnvironmentStatus::Error,
                error: Some("no disk".into()),
            },
            Change::WorkspaceStatus {
                workspace: here.workspace,
                environment: here.env,
                owner: user,
                status: WorkspaceStatus::Stopped,
            },
            Change::DeploymentStatus {
                deployment: deployment.id,
                environment: here.env,
                owner: user,
                status: DeploymentStatus::Finished,
            },
        ]
    );
}
