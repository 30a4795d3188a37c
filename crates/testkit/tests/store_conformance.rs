//! The same stories against both stores: what one backend does, the other must do too.

use chrono::{Duration, Utc};
use craftastic_domain::{Email, UserId, UserName};
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
    migrations_down_to_zero_and_up_again_leave_the_same_schema,
);

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
