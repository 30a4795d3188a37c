//! Stories of sign-in liveness, usage counts and per-user limits, against both stores.

use chrono::{Duration, Utc};
use craftastic_domain::{BranchName, UserId, WorkspaceId};
use craftastic_store::*;
use craftastic_testkit::{Backend, TestDb, on_both_backends};
use uuid::Uuid;

use super::{micros, new_deployment, new_session, new_user, next, place, token};

on_both_backends!(
    a_sign_in_is_live_while_its_user_has_a_live_token_of_it,
    usage_counts_only_the_users_own_things,
    limit_overrides_are_set_replaced_forgotten_and_go_with_the_user,
    users_are_listed_page_by_page_with_usage_and_overrides,
);

async fn user(s: &dyn Store, email: &str) -> UserId {
    s.create_user(new_user(email, AdminGrant::No))
        .await
        .unwrap()
        .id
}

async fn a_sign_in_is_live_while_its_user_has_a_live_token_of_it(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = &*db.store;
    let (ada, bob) = (
        user(s, "ada@example.com").await,
        user(s, "bob@example.com").await,
    );
    let now = Utc::now;
    let family = Uuid::new_v4();
    s.insert_refresh_token(token(ada, family, b"first", Duration::days(1)))
        .await
        .unwrap();
    assert!(s.sign_in_live(ada, family, now()).await.unwrap());
    assert!(
        !s.sign_in_live(bob, family, now()).await.unwrap(),
        "another user's family"
    );
    assert!(!s.sign_in_live(ada, Uuid::new_v4(), now()).await.unwrap());
    assert!(
        !s.sign_in_live(ada, family, now() + Duration::days(2))
            .await
            .unwrap(),
        "its live token has expired"
    );

    // Rotation uses the token and stores the next one: the sign-in goes on.
    s.rotate_refresh_token(b"first", next(b"second"), now())
        .await
        .unwrap();
    assert!(s.sign_in_live(ada, family, now()).await.unwrap());
    s.revoke_refresh_family_of(ada, b"second").await.unwrap();
    assert!(!s.sign_in_live(ada, family, now()).await.unwrap());

    let other = Uuid::new_v4();
    s.insert_refresh_token(token(bob, other, b"bob", Duration::days(1)))
        .await
        .unwrap();
    assert!(s.sign_in_live(bob, other, now()).await.unwrap());
    s.delete_user(bob).await.unwrap();
    assert!(!s.sign_in_live(bob, other, now()).await.unwrap());
}

async fn usage_counts_only_the_users_own_things(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = &*db.store;
    let (ada, bob) = (
        user(s, "ada@example.com").await,
        user(s, "bob@example.com").await,
    );
    assert_eq!(s.user_usage(ada).await.unwrap(), Usage::default());

    let here = place(s, ada, "here").await;
    let there = place(s, ada, "there").await;
    let bobs = place(s, bob, "bobs").await;
    let branch = |b: &str| BranchName::parse(b).unwrap();
    s.set_workspace_state(here.workspace, WorkspaceStatus::Running, Some("c1"), None)
        .await
        .unwrap();
    // `there`'s workspace on main stays `creating`: being made counts as running.
    let stopped = s
        .create_workspace(here.env, &branch("stopped"), WorkspaceId::new())
        .await
        .unwrap();
    s.set_workspace_state(stopped.id, WorkspaceStatus::Stopped, None, None)
        .await
        .unwrap();
    let failed = s
        .create_workspace(there.env, &branch("failed"), WorkspaceId::new())
        .await
        .unwrap();
    s.set_workspace_state(failed.id, WorkspaceStatus::Error, None, Some("no image"))
        .await
        .unwrap();
    s.set_workspace_state(bobs.workspace, WorkspaceStatus::Running, Some("c2"), None)
        .await
        .unwrap();

    let t0 = micros(Utc::now());
    for (at, name) in [
        (&here, "one"),
        (&here, "two"),
        (&there, "three"),
        (&bobs, "four"),
    ] {
        s.create_session(new_session(at, name, t0)).await.unwrap();
    }
    let dead = s
        .create_session(new_session(&there, "dead", t0))
        .await
        .unwrap();
    s.set_session_status(dead.id, SessionStatus::Dead, t0)
        .await
        .unwrap();

    s.create_deployment(new_deployment(here.env, "app1", t0))
        .await
        .unwrap();
    let running = s
        .create_deployment(new_deployment(there.env, "app2", t0))
        .await
        .unwrap();
    s.update_deployment(
        running.id,
        DeploymentUpdate {
            status: DeploymentStatus::InProgress,
            coolify_deployment_id: None,
            metadata: serde_json::json!({}),
            now: t0,
        },
    )
    .await
    .unwrap();
    let over = s
        .create_deployment(new_deployment(here.env, "app3", t0))
        .await
        .unwrap();
    s.update_deployment(
        over.id,
        DeploymentUpdate {
            status: DeploymentStatus::Finished,
            coolify_deployment_id: None,
            metadata: serde_json::json!({}),
            now: t0,
        },
    )
    .await
    .unwrap();
    s.create_deployment(new_deployment(bobs.env, "app4", t0))
        .await
        .unwrap();

    assert_eq!(
        s.user_usage(ada).await.unwrap(),
        Usage {
            environments: 2,
            running_workspaces: 2,
            sessions: 4,
            deployments_in_flight: 2,
        }
    );
    assert_eq!(
        s.user_usage(bob).await.unwrap(),
        Usage {
            environments: 1,
            running_workspaces: 1,
            sessions: 1,
            deployments_in_flight: 1,
        }
    );
    assert_eq!(s.user_usage(UserId::new()).await.unwrap(), Usage::default());

    s.delete_environment(there.env).await.unwrap();
    assert_eq!(
        s.user_usage(ada).await.unwrap(),
        Usage {
            environments: 1,
            running_workspaces: 1,
            sessions: 2,
            deployments_in_flight: 1,
        }
    );
}

async fn limit_overrides_are_set_replaced_forgotten_and_go_with_the_user(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = &*db.store;
    let (ada, bob) = (
        user(s, "ada@example.com").await,
        user(s, "bob@example.com").await,
    );
    assert_eq!(s.user_limits(ada).await.unwrap(), LimitOverrides::default());

    let some = LimitOverrides {
        environments: Some(30),
        terminals: Some(0),
        ..Default::default()
    };
    s.set_user_limits(ada, some, Utc::now()).await.unwrap();
    assert_eq!(s.user_limits(ada).await.unwrap(), some);
    assert_eq!(s.user_limits(bob).await.unwrap(), LimitOverrides::default());

    let replaced = LimitOverrides {
        sessions: Some(5),
        deployments_in_flight: Some(1),
        running_workspaces: Some(2),
        ..Default::default()
    };
    s.set_user_limits(ada, replaced, Utc::now()).await.unwrap();
    assert_eq!(s.user_limits(ada).await.unwrap(), replaced);

    s.set_user_limits(ada, LimitOverrides::default(), Utc::now())
        .await
        .unwrap();
    assert_eq!(s.user_limits(ada).await.unwrap(), LimitOverrides::default());

    assert!(matches!(
        s.set_user_limits(UserId::new(), some, Utc::now()).await,
        Err(StoreError::NotFound)
    ));
    s.set_user_limits(bob, some, Utc::now()).await.unwrap();
    s.delete_user(bob).await.unwrap();
    assert_eq!(s.user_limits(bob).await.unwrap(), LimitOverrides::default());
}

async fn users_are_listed_page_by_page_with_usage_and_overrides(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = &*db.store;
    let t0 = micros(Utc::now());
    let mut ids = Vec::new();
    for (i, email) in ["a@example.com", "b@example.com", "c@example.com"]
        .into_iter()
        .enumerate()
    {
        let mut u = new_user(email, AdminGrant::No);
        u.now = t0 + Duration::seconds(i as i64);
        ids.push(s.create_user(u).await.unwrap().id);
    }
    place(s, ids[1], "env").await;
    let set = LimitOverrides {
        environments: Some(1),
        ..Default::default()
    };
    s.set_user_limits(ids[1], set, t0).await.unwrap();

    let all = s.list_users_with_usage(0, 10).await.unwrap();
    let emails: Vec<&str> = all.iter().map(|u| u.user.email.as_str()).collect();
    assert_eq!(emails, ["a@example.com", "b@example.com", "c@example.com"]);
    assert_eq!(all[0].usage, Usage::default());
    assert_eq!(all[0].overrides, LimitOverrides::default());
    assert_eq!(all[0].limits_updated_at, None);
    assert_eq!(all[1].usage.environments, 1);
    assert_eq!(all[1].usage.running_workspaces, 1);
    assert_eq!(all[1].overrides, set);
    assert_eq!(all[1].limits_updated_at, Some(t0));

    let page = s.list_users_with_usage(1, 1).await.unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].user.id, ids[1]);
    assert!(s.list_users_with_usage(3, 10).await.unwrap().is_empty());
}
