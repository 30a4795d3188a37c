//! Coolify applications are bound: an environment deploys only the applications an admin
//! bound to it, through the real server and a fake Coolify.

use chrono::Utc;
use craftastic_domain::{BranchName, EgressPolicy, EnvironmentId, EnvironmentName, UserId};
use craftastic_store::NewEnvironment;
use craftastic_testkit::fake_coolify::{FakeApp, FakeCoolify, SUCCEEDS};
use craftastic_testkit::{Backend, ServerOptions, TestServer, on_both_backends};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";
const APP: &str = "ro04ok80o8oc4kkcco8kow8s";
const OTHER: &str = "k8s0wc4gkgg0c8o4ow4o4c0s";

on_both_backends!(
    only_bound_applications_deploy,
    bindings_go_with_their_environment
);

struct Fixture {
    fake: FakeCoolify,
    server: TestServer,
}

/// A fake Coolify with [`APP`] and [`OTHER`], and a server pointed at it.
async fn fixture(backend: Backend) -> Fixture {
    let fake = FakeCoolify::start().await;
    fake.add_app(FakeApp::new(APP, "main", SUCCEEDS));
    fake.add_app(FakeApp::new(OTHER, "main", SUCCEEDS));
    let server = TestServer::start_with(
        backend,
        ServerOptions {
            coolify: Some(fake.settings()),
            ..Default::default()
        },
    )
    .await;
    Fixture { fake, server }
}

/// Registers a user; returns (access token, user id). The first user of a server is admin.
async fn user(s: &TestServer, email: &str) -> (String, UserId) {
    let body = s.register(email, PASSWORD).await;
    (
        body["accessToken"].as_str().unwrap().to_owned(),
        body["user"]["id"].as_str().unwrap().parse().unwrap(),
    )
}

/// An environment of `owner`, recorded directly: deploying needs no container.
async fn environment(s: &TestServer, owner: UserId, name: &str) -> EnvironmentId {
    s.db.store
        .create_environment(NewEnvironment {
            id: EnvironmentId::new(),
            user_id: owner,
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
        .id
}

fn binding_path(env: EnvironmentId, app: &str) -> String {
    format!("/api/environments/{env}/deployment-bindings/{app}")
}

async fn bind(s: &TestServer, token: &str, env: EnvironmentId, app: &str) -> (u16, Value) {
    s.call("PUT", &binding_path(env, app), Some(token), None)
        .await
}

async fn unbind(s: &TestServer, token: &str, env: EnvironmentId, app: &str) -> (u16, Value) {
    s.call("DELETE", &binding_path(env, app), Some(token), None)
        .await
}

/// The uuids of the applications bound to `env`, as its owner or an admin sees them.
async fn bound(s: &TestServer, token: &str, env: EnvironmentId) -> Vec<String> {
    let (status, body) = s
        .call(
            "GET",
            &format!("/api/environments/{env}/deployment-bindings"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["appId"].as_str().unwrap().to_owned())
        .collect()
}

async fn deploy(s: &TestServer, token: &str, env: EnvironmentId, app: &str) -> (u16, Value) {
    s.call(
        "POST",
        "/api/deployment/deploy",
        Some(token),
        Some(json!({ "environmentId": env, "appId": app })),
    )
    .await
}

fn not_bound(app: &str) -> Value {
    json!({
        "error": format!("the Coolify application {app} is not bound to this environment; ask an admin to bind it"),
        "code": "application_not_bound",
    })
}

async fn only_bound_applications_deploy(backend: Backend) {
    let f = fixture(backend).await;
    let s = &f.server;
    let (admin, admin_id) = user(s, "admin@example.com").await;
    let (bob, bob_id) = user(s, "bob@example.com").await;
    let env = environment(s, bob_id, "shop").await;

    assert_eq!(deploy(s, &bob, env, APP).await, (403, not_bound(APP)));
    assert!(f.fake.calls().is_empty(), "Coolify was not asked");
    let refused = s.db.store.list_audit(Some(bob_id), 10).await.unwrap();
    let entry = refused
        .iter()
        .find(|e| e.action == "deployments.deploy")
        .expect("the refusal is audited");
    assert_eq!(entry.outcome, "not_bound");
    assert!(bound(s, &bob, env).await.is_empty());

    let (status, body) = bind(s, &bob, env, APP).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("admin_only")),
        "{body}"
    );
    assert_eq!(
        body["error"],
        "only an admin may bind Coolify applications to an environment; ask one to do it"
    );
    assert!(bound(s, &bob, env).await.is_empty());

    let (status, made) = bind(s, &admin, env, APP).await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["environmentId"], json!(env));
    assert_eq!(made["appId"], APP);
    assert_eq!(made["createdBy"], json!(admin_id));
    assert!(made["createdAt"].is_string(), "{made}");
    let (status, again) = bind(s, &admin, env, APP).await;
    assert_eq!(
        (status, &again),
        (200, &made),
        "binding twice changes nothing"
    );
    assert_eq!(bound(s, &bob, env).await, [APP], "the owner sees it");
    assert_eq!(bound(s, &admin, env).await, [APP]);

    let (status, queued) = deploy(s, &bob, env, APP).await;
    assert_eq!(
        (status, &queued["status"]),
        (202, &json!("queued")),
        "{queued}"
    );
    assert_eq!(
        deploy(s, &bob, env, OTHER).await,
        (403, not_bound(OTHER)),
        "only what is bound"
    );
    let blog = environment(s, bob_id, "blog").await;
    assert_eq!(
        deploy(s, &bob, blog, APP).await,
        (403, not_bound(APP)),
        "bound to one environment, not to its owner's others"
    );

    let (status, body) = unbind(s, &bob, env, APP).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("admin_only")));
    assert_eq!(unbind(s, &admin, env, APP).await.0, 204);
    assert!(bound(s, &bob, env).await.is_empty());
    assert_eq!(deploy(s, &bob, env, APP).await, (403, not_bound(APP)));
    let (status, body) = unbind(s, &admin, env, APP).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("deployment binding not found"))
    );
    let (_, history) = s
        .call(
            "GET",
            &format!("/api/deployment/list/{env}"),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(
        history["deployments"][0]["id"], queued["id"],
        "what was deployed stays in the history"
    );

    let audit = s.db.store.list_audit(Some(admin_id), 10).await.unwrap();
    let actions: Vec<(&str, Option<&str>, &Value)> = audit
        .iter()
        .filter(|e| e.action.starts_with("deployments."))
        .map(|e| (e.action.as_str(), e.target.as_deref(), &e.details["appId"]))
        .collect();
    let target = env.to_string();
    assert_eq!(
        actions,
        [
            ("deployments.unbind", Some(target.as_str()), &json!(APP)),
            ("deployments.bind", Some(target.as_str()), &json!(APP)),
        ],
        "newest first; binding twice is one change"
    );
}

async fn bindings_go_with_their_environment(backend: Backend) {
    let f = fixture(backend).await;
    let s = &f.server;
    let (admin, _) = user(s, "admin@example.com").await;
    let (bob, bob_id) = user(s, "bob@example.com").await;
    let env = environment(s, bob_id, "shop").await;
    let other = environment(s, bob_id, "blog").await;
    for (e, app) in [(env, APP), (env, OTHER), (other, APP)] {
        assert_eq!(bind(s, &admin, e, app).await.0, 201);
    }
    assert_eq!(bound(s, &bob, env).await, [APP, OTHER]);

    let (status, _) = s
        .call(
            "DELETE",
            &format!("/api/environments/{env}"),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert!(
        s.db.store
            .list_deployment_bindings(env)
            .await
            .unwrap()
            .is_empty()
    );
    let (status, _) = s
        .call(
            "GET",
            &format!("/api/environments/{env}/deployment-bindings"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(bind(s, &admin, env, APP).await.0, 404, "nothing to bind to");
    assert_eq!(
        bound(s, &bob, other).await,
        [APP],
        "the other keeps its own"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_bindings_are_404() {
    let f = fixture(Backend::Sqlite).await;
    let s = &f.server;
    let (admin, _) = user(s, "admin@example.com").await;
    let (bob, bob_id) = user(s, "bob@example.com").await;
    let (carol, _) = user(s, "carol@example.com").await;
    let env = environment(s, bob_id, "shop").await;
    assert_eq!(bind(s, &admin, env, APP).await.0, 201);

    let list = format!("/api/environments/{env}/deployment-bindings");
    for (method, path) in [
        ("GET", list.as_str()),
        ("PUT", &binding_path(env, OTHER)),
        ("DELETE", &binding_path(env, APP)),
    ] {
        let (status, body) = s.call(method, path, Some(&carol), None).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (404, Some("environment not found")),
            "{method} {path}"
        );
    }
    assert_eq!(deploy(s, &carol, env, APP).await.0, 404);
    assert_eq!(bound(s, &bob, env).await, [APP], "carol changed nothing");

    for path in [
        format!(
            "/api/environments/{}/deployment-bindings",
            EnvironmentId::new()
        ),
        "/api/environments/not-an-id/deployment-bindings".to_owned(),
    ] {
        let (status, body) = s.call("GET", &path, Some(&admin), None).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("not_found")),
            "{path}"
        );
    }
    let (status, body) = bind(s, &admin, EnvironmentId::new(), APP).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("environment not found"))
    );
    let (status, body) = unbind(s, &admin, env, "no-such-app").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("deployment binding not found"))
    );
    for (method, path) in [
        ("GET", list.as_str()),
        ("PUT", &binding_path(env, APP)),
        ("DELETE", &binding_path(env, APP)),
    ] {
        let (status, _) = s.call(method, path, None, None).await;
        assert_eq!(status, 401, "{method} {path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binding_a_malformed_uuid_is_422() {
    let f = fixture(Backend::Sqlite).await;
    let s = &f.server;
    let (admin, admin_id) = user(s, "admin@example.com").await;
    let env = environment(s, admin_id, "shop").await;
    for bad in ["a-b", "a%20b", "%C3%BC", &"x".repeat(65)] {
        let (status, body) = bind(s, &admin, env, bad).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (422, Some("invalid_input")),
            "{bad}: {body}"
        );
        assert!(
            body["details"]["fields"]["appId"]
                .as_str()
                .unwrap()
                .contains("letters and digits"),
            "{body}"
        );
    }
    assert!(bound(s, &admin, env).await.is_empty());
    assert!(f.fake.calls().is_empty(), "binding never asks Coolify");
}
