//! Conformance stories of what the box holds, against both stores: an environment's egress
//! policy, how long its workspaces may be idle, their size, its variables (and which
//! sessions run with older ones), and the Coolify applications bound to it.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use craftastic_domain::{
    BranchName, CoolifyAppId, EgressPolicy, Email, EnvironmentId, EnvironmentName, EnvironmentSize,
    IdleStopMinutes, SessionId, SessionName, UserId, UserName, VariableName, WorkingDirectory,
    WorkspaceId,
};
use craftastic_store::*;
use craftastic_testkit::{Backend, TestDb, on_both_backends};

on_both_backends!(
    environments_keep_their_egress_policy,
    setting_the_egress_policy_replaces_it_and_bumps_updated_at,
    the_idle_stop_is_kept_replaced_and_shown_with_the_contents,
    the_size_is_kept_replaced_and_shown_with_the_contents,
    variables_are_replaced_whole_in_order_with_a_version_and_go_with_their_environment,
    sessions_tell_whether_they_run_with_older_variables,
    deployment_bindings_are_unique_scoped_and_listed_oldest_first,
    deployment_bindings_go_with_their_environment_and_outlive_their_admin,
    migration_3_goes_down_and_up_again,
);

async fn user(s: &dyn Store, email: &str) -> UserId {
    s.create_user(NewUser {
        id: UserId::new(),
        email: Email::parse(email).unwrap(),
        name: UserName::parse("Test").unwrap(),
        password_hash: "$argon2id$fake".into(),
        admin: AdminGrant::No,
        now: Utc::now(),
    })
    .await
    .unwrap()
    .id
}

fn new_environment(user: UserId, name: &str, egress: EgressPolicy) -> NewEnvironment {
    NewEnvironment {
        id: EnvironmentId::new(),
        user_id: user,
        name: EnvironmentName::parse(name).unwrap(),
        repository_url: None,
        branch: BranchName::parse("main").unwrap(),
        egress,
        idle_stop: craftastic_domain::IdleStopMinutes::DEFAULT,
        size: craftastic_domain::EnvironmentSize::default(),
        now: Utc::now(),
    }
}

fn allowlist(hosts: &[&str]) -> EgressPolicy {
    let hosts: Vec<String> = hosts.iter().map(|h| (*h).to_owned()).collect();
    EgressPolicy::parse("allowlist", &hosts).unwrap()
}

/// Both stores keep microseconds; a time with more would not come back equal.
fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

fn app(id: &str) -> CoolifyAppId {
    CoolifyAppId::parse(id).unwrap()
}

async fn environments_keep_their_egress_policy(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = &*db.store;
    let ada = user(s, "ada@example.com").await;
    let policies = [
        EgressPolicy::Open,
        EgressPolicy::None,
        allowlist(&[
            "github.com",
            "*.githubusercontent.com",
            "registry.npmjs.org",
        ]),
    ];
    let mut ids = Vec::new();
    for (i, policy) in policies.iter().enumerate() {
        let made = s
            .create_environment(new_environment(ada, &format!("env{i}"), policy.clone()))
            .await
            .unwrap();
        assert_eq!(&made.egress, policy, "as created");
        ids.push(made.id);
    }
    for (id, policy) in ids.iter().zip(&policies) {
        assert_eq!(
            &s.get_environment(*id).await.unwrap().unwrap().egress,
            policy
        );
    }
    let listed: Vec<EgressPolicy> = s
        .list_environments(Some(ada))
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.egress)
        .collect();
    assert_eq!(listed, policies, "in the list too, hosts in their order");
}

async fn the_idle_stop_is_kept_replaced_and_shown_with_the_contents(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = &*db.store;
    let ada = user(s, "ada@example.com").await;
    let never = IdleStopMinutes::parse("minutes", 0).unwrap();
    let env = s
        .create_environment(NewEnvironment {
            idle_stop: never,
            ..new_environment(ada, "shop", EgressPolicy::Open)
        })
        .await
        .unwrap();
    assert_eq!(env.idle_stop, never);
    let other = s
        .create_environment(new_environment(ada, "blog", EgressPolicy::Open))
        .await
        .unwrap();
    assert_eq!(other.idle_stop, IdleStopMinutes::DEFAULT);

    let later = micros(env.updated_at + Duration::seconds(5));
    let week = IdleStopMinutes::parse("minutes", 10_080).unwrap();
    let changed = s
        .set_environment_idle_stop(env.id, week, later)
        .await
        .unwrap();
    assert_eq!((changed.idle_stop, changed.updated_at), (week, later));
    assert_eq!(changed.egress, EgressPolicy::Open);
    let contents = s.list_environment_contents(ada).await.unwrap();
    let stops: Vec<_> = contents.iter().map(|c| c.environment.idle_stop).collect();
    assert_eq!(
        stops,
        [week, IdleStopMinutes::DEFAULT],
        "only the one changed"
    );
    assert_eq!(
        s.get_environment_contents(env.id)
            .await
            .unwrap()
            .unwrap()
            .environment
            .idle_stop,
        week
    );
    assert!(matches!(
        s.set_environment_idle_stop(EnvironmentId::new(), week, later)
            .await,
        Err(StoreError::NotFound)
    ));
}

async fn the_size_is_kept_replaced_and_shown_with_the_contents(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = &*db.store;
    let ada = user(s, "ada@example.com").await;
    let big = EnvironmentSize {
        memory_bytes: Some(4 << 30),
        nano_cpus: Some(1_500_000_000),
        disk_bytes: Some(40 << 30),
    };
    let env = s
        .create_environment(NewEnvironment {
            size: big,
            ..new_environment(ada, "shop", EgressPolicy::Open)
        })
        .await
        .unwrap();
    assert_eq!(env.size, big);
    let other = s
        .create_environment(new_environment(ada, "blog", EgressPolicy::Open))
        .await
        .unwrap();
    assert_eq!(other.size, EnvironmentSize::default(), "all defaults");

    let later = micros(env.updated_at + Duration::seconds(5));
    let memory_only = EnvironmentSize {
        memory_bytes: Some(1 << 30),
        ..EnvironmentSize::default()
    };
    let changed = s
        .set_environment_size(env.id, memory_only, later)
        .await
        .unwrap();
    assert_eq!((changed.size, changed.updated_at), (memory_only, later));
    assert_eq!(changed.idle_stop, IdleStopMinutes::DEFAULT);
    let sizes: Vec<EnvironmentSize> = s
        .list_environment_contents(ada)
        .await
        .unwrap()
        .iter()
        .map(|c| c.environment.size)
        .collect();
    assert_eq!(sizes, [memory_only, EnvironmentSize::default()]);
    assert_eq!(
        s.get_environment(env.id).await.unwrap().unwrap().size,
        memory_only
    );
    assert!(matches!(
        s.set_environment_size(EnvironmentId::new(), big, later)
            .await,
        Err(StoreError::NotFound)
    ));
}

fn plain(name: &str, value: &str) -> StoredVariable {
    StoredVariable {
        name: VariableName::parse(name).unwrap(),
        value: StoredValue::Plain(value.into()),
    }
}

fn sealed(name: &str, sealed: &str) -> StoredVariable {
    StoredVariable {
        name: VariableName::parse(name).unwrap(),
        value: StoredValue::Sealed(sealed.into()),
    }
}

async fn variables_are_replaced_whole_in_order_with_a_version_and_go_with_their_environment(
    backend: Backend,
) {
    let db = TestDb::migrated(backend).await;
    let s = &*db.store;
    let ada = user(s, "ada@example.com").await;
    let env = s
        .create_environment(new_environment(ada, "shop", EgressPolicy::Open))
        .await
        .unwrap();
    let other = s
        .create_environment(new_environment(ada, "blog", EgressPolicy::Open))
        .await
        .unwrap();
    assert_eq!(env.variables_version, 0);
    assert_eq!(
        s.get_environment_variables(env.id).await.unwrap(),
        Some(EnvironmentVariables::default()),
        "none before the first change"
    );

    let first = vec![
        plain("ZED", "last\nline 'quoted' é"),
        sealed("TOKEN", "k1.c2VhbGVk"),
        plain("EMPTY", ""),
    ];
    let later = micros(env.updated_at + Duration::seconds(5));
    let set = s
        .set_environment_variables(env.id, &first, later)
        .await
        .unwrap();
    assert_eq!(
        set,
        EnvironmentVariables {
            version: 1,
            variables: first.clone()
        }
    );
    assert_eq!(
        s.get_environment_variables(env.id).await.unwrap(),
        Some(set),
        "in the order given, not by name"
    );
    let bumped = s.get_environment(env.id).await.unwrap().unwrap();
    assert_eq!((bumped.variables_version, bumped.updated_at), (1, later));
    assert!(
        s.secret_key_ids().await.unwrap().contains(&"k1".to_owned()),
        "a sealed variable's key is known to the start-up check"
    );

    let second = vec![sealed("TOKEN", "k1.b3RoZXI"), plain("NEW", "1")];
    let replaced = s
        .set_environment_variables(env.id, &second, later)
        .await
        .unwrap();
    assert_eq!(replaced.version, 2);
    assert_eq!(
        s.get_environment_variables(env.id)
            .await
            .unwrap()
            .unwrap()
            .variables,
        second,
        "the whole set is replaced"
    );
    assert_eq!(
        s.get_environment_variables(other.id).await.unwrap(),
        Some(EnvironmentVariables::default()),
        "another environment's stay its own"
    );
    let emptied = s
        .set_environment_variables(env.id, &[], later)
        .await
        .unwrap();
    assert_eq!(emptied.version, 3, "removing them all is a change too");
    s.set_environment_variables(env.id, &second, later)
        .await
        .unwrap();

    assert!(matches!(
        s.set_environment_variables(EnvironmentId::new(), &first, later)
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        s.get_environment_variables(EnvironmentId::new())
            .await
            .unwrap(),
        None
    );
    s.delete_environment(env.id).await.unwrap();
    assert_eq!(s.get_environment_variables(env.id).await.unwrap(), None);
    assert!(
        !s.secret_key_ids().await.unwrap().contains(&"k1".to_owned()),
        "its secrets went with it"
    );
}

async fn sessions_tell_whether_they_run_with_older_variables(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = &*db.store;
    let ada = user(s, "ada@example.com").await;
    let env = s
        .create_environment(new_environment(ada, "shop", EgressPolicy::Open))
        .await
        .unwrap()
        .id;
    let main = BranchName::parse("main").unwrap();
    let workspace = s
        .create_workspace(env, &main, WorkspaceId::new())
        .await
        .unwrap()
        .id;
    let session = |name: &str| {
        let id = SessionId::new();
        NewSession {
            id,
            environment_id: env,
            workspace_id: workspace,
            name: SessionName::parse(name).unwrap(),
            tmux_session_name: format!("ct-{id}"),
            working_directory: WorkingDirectory::root(),
            session_type: SessionType::Terminal,
            agent_id: None,
            git_branch: main.clone(),
            now: Utc::now(),
        }
    };
    let one = s.create_session(session("one")).await.unwrap();
    let two = s.create_session(session("two")).await.unwrap();
    assert!(!one.variables_outdated, "no variables, nothing outdated");

    s.set_environment_variables(env, &[plain("A", "1")], Utc::now())
        .await
        .unwrap();
    s.set_session_variables_version(two.id, 1).await.unwrap();
    let outdated = |sessions: &[Session]| -> Vec<String> {
        sessions
            .iter()
            .filter(|s| s.variables_outdated)
            .map(|s| s.name.to_string())
            .collect()
    };
    assert_eq!(
        outdated(&s.list_sessions(Some(env)).await.unwrap()),
        ["one"]
    );
    assert_eq!(outdated(&s.list_user_sessions(ada).await.unwrap()), ["one"]);
    let contents = s.get_environment_contents(env).await.unwrap().unwrap();
    assert_eq!(outdated(&contents.sessions), ["one"], "gathered the same");
    assert_eq!(
        outdated(&s.list_environment_contents(ada).await.unwrap()[0].sessions),
        ["one"]
    );
    assert!(
        s.get_session(one.id)
            .await
            .unwrap()
            .unwrap()
            .variables_outdated
    );
    let renamed = s
        .rename_session(one.id, &SessionName::parse("uno").unwrap(), Utc::now())
        .await
        .unwrap();
    assert!(renamed.variables_outdated, "in a changed row's answer too");

    // Only a running session holds old values: one that starts again gets the new ones.
    s.set_session_status(one.id, SessionStatus::Inactive, Utc::now())
        .await
        .unwrap();
    assert!(
        !s.get_session(one.id)
            .await
            .unwrap()
            .unwrap()
            .variables_outdated
    );
    s.set_session_status(one.id, SessionStatus::Active, Utc::now())
        .await
        .unwrap();
    s.set_session_variables_version(one.id, 1).await.unwrap();
    assert_eq!(
        outdated(&s.list_sessions(Some(env)).await.unwrap()),
        Vec::<String>::new()
    );
    s.set_environment_variables(env, &[plain("A", "2")], Utc::now())
        .await
        .unwrap();
    assert_eq!(
        outdated(&s.list_sessions(Some(env)).await.unwrap()),
        ["uno", "two"]
    );
    assert!(matches!(
        s.set_session_variables_version(SessionId::new(), 1).await,
        Err(StoreError::NotFound)
    ));
}

async fn setting_the_egress_policy_replaces_it_and_bumps_updated_at(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = &*db.store;
    let ada = user(s, "ada@example.com").await;
    let env = s
        .create_environment(new_environment(ada, "shop", EgressPolicy::Open))
        .await
        .unwrap();
    let other = s
        .create_environment(new_environment(ada, "blog", EgressPolicy::None))
        .await
        .unwrap();

    let later = micros(env.updated_at + Duration::seconds(5));
    let list = allowlist(&["api.anthropic.com", "*.npmjs.org"]);
    let changed = s
        .set_environment_egress(env.id, &list, later)
        .await
        .unwrap();
    assert_eq!(changed.egress, list);
    assert_eq!(changed.updated_at, later);
    assert_eq!((changed.id, &changed.name), (env.id, &env.name));
    assert_eq!(changed.created_at, env.created_at);
    assert_eq!(
        s.get_environment(env.id).await.unwrap().unwrap().egress,
        list
    );

    let closed = s
        .set_environment_egress(env.id, &EgressPolicy::None, later)
        .await
        .unwrap();
    assert_eq!(closed.egress, EgressPolicy::None);
    assert!(
        closed.egress.hosts().is_empty(),
        "the hosts go with the allowlist"
    );
    let open = s
        .set_environment_egress(env.id, &EgressPolicy::Open, later)
        .await
        .unwrap();
    assert_eq!(open.egress, EgressPolicy::Open);
    assert_eq!(
        s.get_environment(other.id).await.unwrap().unwrap().egress,
        EgressPolicy::None,
        "other environments keep theirs"
    );

    let gone = s
        .set_environment_egress(EnvironmentId::new(), &EgressPolicy::None, later)
        .await;
    assert!(matches!(gone, Err(StoreError::NotFound)), "{gone:?}");
}

fn binding(env: EnvironmentId, id: &str, by: UserId, now: DateTime<Utc>) -> NewDeploymentBinding {
    NewDeploymentBinding {
        environment_id: env,
        app_id: app(id),
        created_by: by,
        now,
    }
}

async fn deployment_bindings_are_unique_scoped_and_listed_oldest_first(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = &*db.store;
    let admin = user(s, "admin@example.com").await;
    let ada = user(s, "ada@example.com").await;
    let shop = s
        .create_environment(new_environment(ada, "shop", EgressPolicy::Open))
        .await
        .unwrap()
        .id;
    let blog = s
        .create_environment(new_environment(ada, "blog", EgressPolicy::Open))
        .await
        .unwrap()
        .id;
    assert!(s.list_deployment_bindings(shop).await.unwrap().is_empty());

    let t0 = micros(Utc::now());
    let second = s
        .create_deployment_binding(binding(shop, "app2", admin, t0 + Duration::seconds(1)))
        .await
        .unwrap();
    assert_eq!(
        second,
        DeploymentBinding {
            environment_id: shop,
            app_id: app("app2"),
            created_by: Some(admin),
            created_at: t0 + Duration::seconds(1),
        }
    );
    s.create_deployment_binding(binding(shop, "app1", admin, t0))
        .await
        .unwrap();
    s.create_deployment_binding(binding(blog, "app2", admin, t0))
        .await
        .unwrap();
    let taken = s
        .create_deployment_binding(binding(shop, "app2", ada, t0))
        .await;
    assert!(
        matches!(taken, Err(StoreError::Conflict("deployment binding"))),
        "{taken:?}"
    );
    let case = s
        .create_deployment_binding(binding(shop, "APP2", admin, t0 + Duration::seconds(2)))
        .await;
    assert!(case.is_ok(), "uuids are compared as written: {case:?}");

    let apps = |list: Vec<DeploymentBinding>| {
        list.into_iter()
            .map(|b| b.app_id.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        apps(s.list_deployment_bindings(shop).await.unwrap()),
        ["app1", "app2", "APP2"],
        "oldest first, this environment's only"
    );
    assert_eq!(
        apps(s.list_deployment_bindings(blog).await.unwrap()),
        ["app2"]
    );
    assert_eq!(
        s.get_deployment_binding(shop, &app("app2")).await.unwrap(),
        Some(second)
    );
    assert!(
        s.get_deployment_binding(blog, &app("app1"))
            .await
            .unwrap()
            .is_none()
    );

    s.delete_deployment_binding(shop, &app("app2"))
        .await
        .unwrap();
    assert!(
        s.get_deployment_binding(shop, &app("app2"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.get_deployment_binding(blog, &app("app2"))
            .await
            .unwrap()
            .is_some(),
        "unbinding is per environment"
    );
    let again = s.delete_deployment_binding(shop, &app("app2")).await;
    assert!(matches!(again, Err(StoreError::NotFound)), "{again:?}");
    let orphan = s
        .create_deployment_binding(binding(EnvironmentId::new(), "app1", admin, t0))
        .await;
    assert!(matches!(orphan, Err(StoreError::NotFound)), "{orphan:?}");
}

async fn deployment_bindings_go_with_their_environment_and_outlive_their_admin(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = &*db.store;
    let admin = user(s, "admin@example.com").await;
    let ada = user(s, "ada@example.com").await;
    let shop = s
        .create_environment(new_environment(ada, "shop", EgressPolicy::Open))
        .await
        .unwrap()
        .id;
    let blog = s
        .create_environment(new_environment(ada, "blog", EgressPolicy::Open))
        .await
        .unwrap()
        .id;
    let now = micros(Utc::now());
    for env in [shop, blog] {
        s.create_deployment_binding(binding(env, "app1", admin, now))
            .await
            .unwrap();
    }

    s.delete_user(admin).await.unwrap();
    let kept = s.get_deployment_binding(shop, &app("app1")).await.unwrap();
    assert_eq!(
        kept.map(|b| b.created_by),
        Some(None),
        "a binding stays when the admin who made it goes"
    );

    s.delete_environment(shop).await.unwrap();
    assert!(s.list_deployment_bindings(shop).await.unwrap().is_empty());
    assert_eq!(s.list_deployment_bindings(blog).await.unwrap().len(), 1);
    // A new environment never inherits an old one's bindings, even under its name.
    let again = s
        .create_environment(new_environment(ada, "shop", EgressPolicy::Open))
        .await
        .unwrap()
        .id;
    assert!(s.list_deployment_bindings(again).await.unwrap().is_empty());

    s.delete_user(ada).await.unwrap();
    assert!(s.list_deployment_bindings(blog).await.unwrap().is_empty());
}

async fn migration_3_goes_down_and_up_again(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = &*db.store;
    let full = s.schema_fingerprint().await.unwrap();
    assert!(
        full.iter().any(|l| l.contains("deployment_bindings")),
        "{full:#?}"
    );
    assert!(full.iter().any(|l| l.contains("egress_mode")), "{full:#?}");
    let ada = user(s, "ada@example.com").await;
    let env = s
        .create_environment(new_environment(ada, "shop", allowlist(&["github.com"])))
        .await
        .unwrap()
        .id;

    // Back to 2: 3 goes last, after whatever came later.
    let reverted = s.migrate_down(2).await.unwrap();
    assert_eq!(reverted.last(), Some(&3), "{reverted:?}");
    let before = s.schema_fingerprint().await.unwrap();
    assert!(
        !before
            .iter()
            .any(|l| l.contains("deployment_bindings") || l.contains("egress")),
        "{before:#?}"
    );

    let mut applied = s.migrate_up().await.unwrap();
    applied.reverse();
    assert_eq!(applied, reverted);
    assert_eq!(s.schema_fingerprint().await.unwrap(), full);
    assert_eq!(
        s.get_environment(env).await.unwrap().unwrap().egress,
        EgressPolicy::Open,
        "an environment from before the policies is open, as it was"
    );
}
