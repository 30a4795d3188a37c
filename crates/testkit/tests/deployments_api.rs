//! Deployments to Coolify, against the real server and a fake Coolify that answers as
//! Coolify's API documents: deploying answers 202 `queued` at once, a follower in the
//! background records the deployment until it ends, and Coolify's failures are 502 with the
//! reason.

use std::time::Duration;

use chrono::Utc;
use craftastic_domain::{
    BranchName, CoolifyAppId, DeploymentId, EgressPolicy, EnvironmentId, EnvironmentName, UserId,
};
use craftastic_store::{DeploymentStatus, NewDeployment, NewDeploymentBinding, NewEnvironment};
use craftastic_testkit::fake_coolify::{
    Endpoint, FAILS, FAKE_TOKEN, FakeApp, FakeCoolify, LOG_SECRET, Mode, STUCK, SUCCEEDS,
};
use craftastic_testkit::{Backend, ServerOptions, TestServer, on_both_backends};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";
const APP: &str = "ro04ok80o8oc4kkcco8kow8s";
/// Long enough for the follower (every 100 ms) to see a script of three statuses through.
const FOLLOW: Duration = Duration::from_secs(10);

on_both_backends!(deploy_is_202_queued_and_the_follower_reaches_finished);

struct Fixture {
    fake: FakeCoolify,
    server: TestServer,
}

async fn fixture(backend: Backend) -> Fixture {
    fixture_with(backend, |_| {}).await
}

/// A fake Coolify with the application [`APP`] on `main`, and a server pointed at it with
/// settings `tweak` may change.
async fn fixture_with(
    backend: Backend,
    tweak: impl FnOnce(&mut craftastic_service::deployments::CoolifySettings),
) -> Fixture {
    let fake = FakeCoolify::start().await;
    fake.add_app(FakeApp::new(APP, "main", SUCCEEDS));
    let mut settings = fake.settings();
    tweak(&mut settings);
    let server = TestServer::start_with(
        backend,
        ServerOptions {
            coolify: Some(settings),
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

/// An environment of `owner` on branch `main` with [`APP`] bound to it, recorded directly:
/// deploying needs no container, so these tests do not wait for one.
async fn environment(s: &TestServer, owner: UserId, name: &str) -> EnvironmentId {
    let env =
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
            .unwrap();
    bind(s, env.id, APP).await;
    env.id
}

/// Binds the application `app` to `env`, as an admin would (the binding routes have their
/// own tests in deployment_bindings_api.rs).
async fn bind(s: &TestServer, env: EnvironmentId, app: &str) {
    let owner =
        s.db.store
            .get_environment(env)
            .await
            .unwrap()
            .unwrap()
            .user_id;
    s.db.store
        .create_deployment_binding(NewDeploymentBinding {
            environment_id: env,
            app_id: CoolifyAppId::parse(app).unwrap(),
            created_by: owner,
            now: Utc::now(),
        })
        .await
        .unwrap();
}

async fn deploy(s: &TestServer, token: &str, body: Value) -> (u16, Value) {
    s.call("POST", "/api/deployment/deploy", Some(token), Some(body))
        .await
}

/// Deploys [`APP`] of `env` and expects 202.
async fn deployed(s: &TestServer, token: &str, env: EnvironmentId) -> Value {
    let (status, body) = deploy(s, token, json!({ "environmentId": env, "appId": APP })).await;
    assert_eq!(status, 202, "{body}");
    body
}

async fn list(s: &TestServer, token: &str, env: EnvironmentId) -> Vec<Value> {
    let (status, body) = s
        .call(
            "GET",
            &format!("/api/deployment/list/{env}"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["deployments"].as_array().unwrap().clone()
}

/// Polls the list route, which never asks Coolify, until the deployment has one of the
/// statuses `until`: only the background follower can get it there.
async fn wait_listed(
    s: &TestServer,
    token: &str,
    env: EnvironmentId,
    id: &Value,
    until: &[&str],
) -> Value {
    let started = std::time::Instant::now();
    loop {
        let found = list(s, token, env)
            .await
            .into_iter()
            .find(|d| d["id"] == *id)
            .expect("the deployment is listed");
        if until.iter().any(|u| found["status"] == *u) {
            return found;
        }
        assert!(
            started.elapsed() < FOLLOW,
            "deployment still {} after {FOLLOW:?}: {found}",
            found["status"]
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn status_of(s: &TestServer, token: &str, id: &Value) -> (u16, Value) {
    s.call(
        "GET",
        &format!("/api/deployment/status/{}", id.as_str().unwrap()),
        Some(token),
        None,
    )
    .await
}

async fn deploy_is_202_queued_and_the_follower_reaches_finished(backend: Backend) {
    let f = fixture(backend).await;
    let s = &f.server;
    let (token, id) = user(s, "ada@example.com").await;
    let (status, env) = s
        .call(
            "POST",
            "/api/environments",
            Some(&token),
            Some(json!({ "name": "shop" })),
        )
        .await;
    assert_eq!(status, 201, "{env}");
    let env_id: EnvironmentId = env["id"].as_str().unwrap().parse().unwrap();
    s.wait_for_environment(
        &token,
        &env_id.to_string(),
        &["running"],
        Duration::from_secs(60),
    )
    .await;
    // Ada is the first user, so an admin: she binds the application to the environment.
    let (status, binding) = s
        .call(
            "PUT",
            &format!("/api/environments/{env_id}/deployment-bindings/{APP}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 201, "{binding}");

    let queued = deployed(s, &token, env_id).await;
    assert_eq!(queued["status"], "queued");
    assert_eq!(queued["environmentId"], json!(env_id));
    assert_eq!(queued["appId"], APP);
    assert_eq!(queued["branch"], "main", "the environment's branch");
    assert_eq!(
        queued["metadata"]["coolifyMessage"],
        format!("Application app-{APP} deployment queued.")
    );
    assert_eq!(queued["metadata"]["requestedBy"], json!(id));
    assert!(queued["createdAt"].is_string() && queued["updatedAt"].is_string());
    let coolify_id = queued["coolifyDeploymentId"].as_str().unwrap();

    // What Coolify saw is what it documents.
    let calls = f.fake.calls();
    let endpoints: Vec<Endpoint> = calls.iter().map(|c| c.endpoint).collect();
    assert_eq!(
        &endpoints[..2],
        [Endpoint::Application, Endpoint::Deploy],
        "no branch switch: the application builds main already"
    );
    let trigger = &calls[1];
    assert_eq!(trigger.method, "GET");
    assert_eq!(trigger.query.get("uuid").map(String::as_str), Some(APP));
    assert!(!trigger.query.contains_key("force"), "{:?}", trigger.query);
    for call in &calls {
        assert_eq!(
            call.headers["authorization"],
            format!("Bearer {FAKE_TOKEN}")
        );
        assert_eq!(call.headers["accept"], "application/json");
    }

    let done = wait_listed(s, &token, env_id, &queued["id"], &["finished"]).await;
    assert_eq!(done["coolifyDeploymentId"], coolify_id);
    let meta = &done["metadata"];
    assert_eq!(meta["coolifyStatus"], "finished");
    assert_eq!(meta["commit"], "9fceb02d0ae598e95dc970b74767f19372d61af8");
    assert_eq!(meta["commitMessage"], "Feature commit With a body.");
    assert_eq!(meta["serverName"], "localhost");
    assert_eq!(
        meta["deploymentUrl"],
        format!(
            "{}/project/p1/environment/e1/application/{APP}/deployment/{coolify_id}",
            f.fake.url
        )
    );
    assert!(meta["startedAt"].is_string(), "{meta}");
    assert!(meta["finishedAt"].is_string(), "{meta}");
    assert!(meta["durationSeconds"].as_i64().unwrap() >= 0, "{meta}");
    assert!(meta.get("lastError").is_none(), "{meta}");

    let (status, again) = status_of(s, &token, &queued["id"]).await;
    assert_eq!((status, &again["status"]), (200, &json!("finished")));
    let reads = f.fake.count(Endpoint::Deployment);
    status_of(s, &token, &queued["id"]).await;
    assert_eq!(
        f.fake.count(Endpoint::Deployment),
        reads,
        "an ended deployment is not asked about again"
    );

    // No secret anywhere a user or an admin can read.
    let audit = s.db.store.list_audit(Some(id), 20).await.unwrap();
    let entry = audit
        .iter()
        .find(|e| e.action == "deployments.deploy")
        .unwrap();
    assert_eq!(entry.outcome, "ok");
    assert_eq!(entry.details["coolifyDeploymentId"], coolify_id);
    for text in [
        again.to_string(),
        list(s, &token, env_id).await[0].to_string(),
        format!("{:?}", audit),
    ] {
        assert!(!text.contains(FAKE_TOKEN), "the token leaked: {text}");
        assert!(!text.contains(LOG_SECRET), "the build log leaked: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_deployment_is_recorded_failed() {
    let f = fixture(Backend::Sqlite).await;
    let s = &f.server;
    let (token, id) = user(s, "ada@example.com").await;
    let env = environment(s, id, "shop").await;
    f.fake.add_app(FakeApp::new("failingapp", "main", FAILS));
    bind(s, env, "failingapp").await;
    let (status, queued) = deploy(
        s,
        &token,
        json!({ "environmentId": env, "appId": "failingapp" }),
    )
    .await;
    assert_eq!((status, &queued["status"]), (202, &json!("queued")));
    let failed = wait_listed(s, &token, env, &queued["id"], &["finished", "failed"]).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["metadata"]["coolifyStatus"], "failed");
    assert!(failed["metadata"]["finishedAt"].is_string(), "{failed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_in_coolify_is_recorded_cancelled() {
    let f = fixture(Backend::Sqlite).await;
    let s = &f.server;
    let (token, id) = user(s, "ada@example.com").await;
    let env = environment(s, id, "shop").await;
    f.fake.add_app(FakeApp::new("stuckapp", "main", STUCK));
    bind(s, env, "stuckapp").await;
    let (_, queued) = deploy(
        s,
        &token,
        json!({ "environmentId": env, "appId": "stuckapp" }),
    )
    .await;
    wait_listed(s, &token, env, &queued["id"], &["in_progress"]).await;
    f.fake.set_status(
        queued["coolifyDeploymentId"].as_str().unwrap(),
        "cancelled-by-user",
    );
    let cancelled = wait_listed(s, &token, env, &queued["id"], &["cancelled"]).await;
    assert_eq!(cancelled["metadata"]["coolifyStatus"], "cancelled-by-user");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_shows_the_history_newest_first() {
    let f = fixture(Backend::Sqlite).await;
    let s = &f.server;
    let (token, id) = user(s, "ada@example.com").await;
    let env = environment(s, id, "shop").await;
    let other = environment(s, id, "blog").await;
    assert!(list(s, &token, env).await.is_empty());
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(deployed(s, &token, env).await["id"].clone());
    }
    let elsewhere = deployed(s, &token, other).await;
    let listed: Vec<Value> = list(s, &token, env)
        .await
        .into_iter()
        .map(|d| d["id"].clone())
        .collect();
    ids.reverse();
    assert_eq!(listed, ids, "newest first, this environment's only");
    assert_eq!(list(s, &token, other).await[0]["id"], elsewhere["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_route_refreshes_from_coolify() {
    // A follower that waits an hour between questions leaves the asking to the route.
    let f = fixture_with(Backend::Sqlite, |c| {
        c.poll_interval = Duration::from_secs(3600)
    })
    .await;
    let s = &f.server;
    let (token, id) = user(s, "ada@example.com").await;
    let env = environment(s, id, "shop").await;
    f.fake.add_app(FakeApp::new("stuckapp", "main", STUCK));
    bind(s, env, "stuckapp").await;
    let (_, queued) = deploy(
        s,
        &token,
        json!({ "environmentId": env, "appId": "stuckapp" }),
    )
    .await;
    let coolify_id = queued["coolifyDeploymentId"].as_str().unwrap();

    let (_, first) = status_of(s, &token, &queued["id"]).await;
    assert_eq!(first["status"], "queued");
    let (status, second) = status_of(s, &token, &queued["id"]).await;
    assert_eq!((status, &second["status"]), (200, &json!("in_progress")));
    assert!(second["metadata"]["startedAt"].is_string(), "{second}");
    assert_eq!(list(s, &token, env).await[0]["status"], "in_progress");

    f.fake.set_status(coolify_id, "finished");
    assert_eq!(
        list(s, &token, env).await[0]["status"],
        "in_progress",
        "the list does not ask Coolify"
    );
    let (_, third) = status_of(s, &token, &queued["id"]).await;
    assert_eq!(third["status"], "finished");
    assert_eq!(list(s, &token, env).await[0]["status"], "finished");
    assert_eq!(f.fake.count(Endpoint::Deployment), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploying_another_branch_switches_the_application_first() {
    let f = fixture(Backend::Sqlite).await;
    let s = &f.server;
    let (token, id) = user(s, "ada@example.com").await;
    let env = environment(s, id, "shop").await;
    let (status, queued) = deploy(
        s,
        &token,
        json!({ "environmentId": env, "appId": APP, "branch": "feature/checkout", "force": true }),
    )
    .await;
    assert_eq!(status, 202, "{queued}");
    assert_eq!(queued["branch"], "feature/checkout");
    assert_eq!(queued["metadata"]["previousBranch"], "main");
    assert_eq!(queued["metadata"]["force"], true);
    assert_eq!(f.fake.branch_of(APP).as_deref(), Some("feature/checkout"));
    let calls = f.fake.calls();
    let endpoints: Vec<Endpoint> = calls.iter().map(|c| c.endpoint).collect();
    assert_eq!(
        &endpoints[..3],
        [
            Endpoint::Application,
            Endpoint::UpdateApplication,
            Endpoint::Deploy
        ]
    );
    assert_eq!(calls[1].method, "PATCH");
    assert_eq!(
        calls[1].body,
        Some(json!({ "git_branch": "feature/checkout" }))
    );
    assert_eq!(
        calls[2].query.get("force").map(String::as_str),
        Some("true")
    );
    assert_eq!(
        f.fake
            .forced(queued["coolifyDeploymentId"].as_str().unwrap()),
        Some(true)
    );

    // Deploying the same branch again leaves the application alone.
    deploy(
        s,
        &token,
        json!({ "environmentId": env, "appId": APP, "branch": "feature/checkout" }),
    )
    .await;
    assert_eq!(f.fake.count(Endpoint::UpdateApplication), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_environment_and_deployment_are_404() {
    let f = fixture(Backend::Sqlite).await;
    let s = &f.server;
    let (ada, ada_id) = user(s, "ada@example.com").await;
    let (bob, bob_id) = user(s, "bob@example.com").await;
    let env = environment(s, ada_id, "shop").await;
    let mine = deployed(s, &ada, env).await;
    let calls = f.fake.calls().len();

    let (status, body) = deploy(s, &bob, json!({ "environmentId": env, "appId": APP })).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("environment not found"))
    );
    let (status, body) = status_of(s, &bob, &mine["id"]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("deployment not found"))
    );
    let (status, _) = s
        .call(
            "GET",
            &format!("/api/deployment/list/{env}"),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(f.fake.calls().len(), calls, "Coolify was not asked for bob");

    let (status, _) = deploy(
        s,
        &ada,
        json!({ "environmentId": EnvironmentId::new(), "appId": APP }),
    )
    .await;
    assert_eq!(status, 404);
    for path in [
        format!("/api/deployment/status/{}", DeploymentId::new()),
        "/api/deployment/status/not-an-id".to_owned(),
        format!("/api/deployment/list/{}", EnvironmentId::new()),
        "/api/deployment/list/not-an-id".to_owned(),
    ] {
        let (status, body) = s.call("GET", &path, Some(&ada), None).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("not_found")),
            "{path}"
        );
    }
    // Ada is the first user, so an admin: she reaches bob's things, never the other way.
    let bobs_env = environment(s, bob_id, "bobs").await;
    let (status, _) = deploy(s, &ada, json!({ "environmentId": bobs_env, "appId": APP })).await;
    assert_eq!(status, 202);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_coolify_configured_is_503() {
    let s = TestServer::start(Backend::Sqlite).await;
    let (token, id) = user(&s, "ada@example.com").await;
    let env = environment(&s, id, "shop").await;
    for (method, path, body) in [
        (
            "POST",
            "/api/deployment/deploy".to_owned(),
            Some(json!({ "environmentId": env, "appId": APP })),
        ),
        (
            "GET",
            format!("/api/deployment/status/{}", DeploymentId::new()),
            None,
        ),
        ("GET", format!("/api/deployment/list/{env}"), None),
    ] {
        let (status, body) = s.call(method, &path, Some(&token), body).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (503, Some("unavailable")),
            "{path}"
        );
        let error = body["error"].as_str().unwrap();
        assert!(
            error.contains("COOLIFY_API_URL") && error.contains("COOLIFY_API_TOKEN"),
            "{error}"
        );
    }
}

/// Deploys [`APP`] and expects 502; returns the error sentence.
async fn deploy_fails(f: &Fixture) -> String {
    let s = &f.server;
    let (token, id) = user(s, "ada@example.com").await;
    let env = environment(s, id, "shop").await;
    let (status, body) = deploy(s, &token, json!({ "environmentId": env, "appId": APP })).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (502, Some("upstream_failed")),
        "{body}"
    );
    assert!(list(s, &token, env).await.is_empty(), "nothing is recorded");
    let audit = s.db.store.list_audit(Some(id), 10).await.unwrap();
    let entry = audit
        .iter()
        .find(|e| e.action == "deployments.deploy")
        .unwrap();
    assert_eq!(entry.outcome, "upstream_failed");
    assert_eq!(entry.details["reason"], body["error"]);
    let error = body["error"].as_str().unwrap().to_owned();
    assert!(!error.contains(FAKE_TOKEN), "{error}");
    error
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coolify_unreachable_is_502_with_reason() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let f = fixture_with(Backend::Sqlite, |c| {
        c.api_url = format!("http://127.0.0.1:{closed}").parse().unwrap();
    })
    .await;
    let error = deploy_fails(&f).await;
    assert!(
        error.starts_with(&format!(
            "Coolify at http://127.0.0.1:{closed} cannot be reached: connection refused"
        )) && error.ends_with("; check COOLIFY_API_URL and the network"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coolify_slower_than_the_timeout_is_502_with_reason() {
    let f = fixture_with(Backend::Sqlite, |c| c.timeout = Duration::from_secs(1)).await;
    f.fake.set_mode(Mode::Slow(Duration::from_secs(3)));
    let started = std::time::Instant::now();
    let error = deploy_fails(&f).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the client gave up"
    );
    assert_eq!(
        error,
        format!(
            "Coolify at {} did not answer within 1 second while reading the application; try again later",
            f.fake.url
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coolify_garbage_is_502_with_reason() {
    let f = fixture(Backend::Sqlite).await;
    f.fake.set_mode(Mode::Garbage);
    assert_eq!(
        deploy_fails(&f).await,
        "Coolify's answer while reading the application is not the JSON Coolify documents: it is not JSON"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coolify_500_is_502_with_its_message() {
    let f = fixture(Backend::Sqlite).await;
    f.fake.set_mode(Mode::ServerError);
    assert_eq!(
        deploy_fails(&f).await,
        "Coolify failed with status 500 while reading the application: Server Error"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coolify_4xx_is_502_with_its_message() {
    let f = fixture(Backend::Sqlite).await;
    f.fake.add_app(FakeApp::new("elsewhere", "main", SUCCEEDS));
    let s = &f.server;
    let (token, id) = user(s, "ada@example.com").await;
    let env = environment(s, id, "shop").await;
    bind(s, env, "unknownapp").await;
    let (status, body) = deploy(
        s,
        &token,
        json!({ "environmentId": env, "appId": "unknownapp" }),
    )
    .await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(
        body["error"],
        "Coolify refused the request while reading the application with status 404: Application not found."
    );

    let wrong_token = fixture_with(Backend::Sqlite, |c| {
        c.token = craftastic_service::deployments::Secret::new("1|revoked".into());
    })
    .await;
    assert_eq!(
        deploy_fails(&wrong_token).await,
        "Coolify refused COOLIFY_API_TOKEN while reading the application (Coolify said: Unauthenticated.); check that the token is valid and has the deploy permission"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_app_id_or_branch_is_422() {
    let f = fixture(Backend::Sqlite).await;
    let s = &f.server;
    let (token, id) = user(s, "ada@example.com").await;
    let env = environment(s, id, "shop").await;
    for (body, fields) in [
        (
            json!({ "environmentId": env, "appId": "../applications" }),
            &["appId"][..],
        ),
        (json!({ "environmentId": env, "appId": "" }), &["appId"]),
        (json!({ "environmentId": env, "appId": "a b" }), &["appId"]),
        (
            json!({ "environmentId": env, "appId": "x".repeat(65) }),
            &["appId"],
        ),
        (
            json!({ "environmentId": env, "appId": APP, "branch": "bad..branch" }),
            &["branch"],
        ),
        (
            json!({ "environmentId": env, "appId": "a?b", "branch": "-x" }),
            &["appId", "branch"],
        ),
    ] {
        let (status, answer) = deploy(s, &token, body.clone()).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (422, Some("invalid_input")),
            "{body}: {answer}"
        );
        for field in fields {
            assert!(
                answer["details"]["fields"][field].is_string(),
                "{body}: {answer}"
            );
        }
    }
    let (status, answer) =
        deploy(s, &token, json!({ "environmentId": "nope", "appId": APP })).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (422, Some("invalid_input")),
        "{answer}"
    );
    let (status, _) = deploy(s, &token, json!({ "appId": APP })).await;
    assert_eq!(status, 422);
    assert!(f.fake.calls().is_empty(), "Coolify was never asked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_coolify_forgot_is_failed_with_reason() {
    let f = fixture(Backend::Sqlite).await;
    let s = &f.server;
    let (token, id) = user(s, "ada@example.com").await;
    let env = environment(s, id, "shop").await;
    f.fake.add_app(FakeApp::new("stuckapp", "main", STUCK));
    bind(s, env, "stuckapp").await;
    let (_, queued) = deploy(
        s,
        &token,
        json!({ "environmentId": env, "appId": "stuckapp" }),
    )
    .await;
    let coolify_id = queued["coolifyDeploymentId"].as_str().unwrap();
    f.fake.forget(coolify_id);
    let failed = wait_listed(s, &token, env, &queued["id"], &["failed"]).await;
    let error = failed["metadata"]["error"].as_str().unwrap();
    assert!(
        error.starts_with(&format!("Coolify no longer knows deployment {coolify_id}"))
            && error.contains("Deployment not found."),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coolify_down_while_following_shows_last_error_then_recovers() {
    let f = fixture(Backend::Sqlite).await;
    let s = &f.server;
    let (token, id) = user(s, "ada@example.com").await;
    let env = environment(s, id, "shop").await;
    f.fake.add_app(FakeApp::new("stuckapp", "main", STUCK));
    bind(s, env, "stuckapp").await;
    let (_, queued) = deploy(
        s,
        &token,
        json!({ "environmentId": env, "appId": "stuckapp" }),
    )
    .await;
    wait_listed(s, &token, env, &queued["id"], &["in_progress"]).await;

    f.fake.set_mode(Mode::ServerError);
    let (status, body) = status_of(s, &token, &queued["id"]).await;
    assert_eq!(
        (status, &body["status"]),
        (200, &json!("in_progress")),
        "the last known state, not an error: {body}"
    );
    assert_eq!(
        body["metadata"]["lastError"],
        "Coolify failed with status 500 while reading the deployment: Server Error"
    );

    f.fake.set_mode(Mode::Normal);
    f.fake
        .set_status(queued["coolifyDeploymentId"].as_str().unwrap(), "finished");
    let done = wait_listed(s, &token, env, &queued["id"], &["finished"]).await;
    assert!(done["metadata"].get("lastError").is_none(), "{done}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn following_resumes_after_a_restart() {
    let f = fixture(Backend::Sqlite).await;
    let s = &f.server;
    let (token, id) = user(s, "ada@example.com").await;
    let env = environment(s, id, "shop").await;
    // A deployment recorded by an earlier run of the server, which stopped before it ended.
    let coolify_id = f.fake.queue(APP);
    let earlier =
        s.db.store
            .create_deployment(NewDeployment {
                id: DeploymentId::new(),
                environment_id: env,
                app_id: CoolifyAppId::parse(APP).unwrap(),
                branch: BranchName::parse("main").unwrap(),
                status: DeploymentStatus::Queued,
                coolify_deployment_id: Some(coolify_id),
                metadata: json!({}),
                now: Utc::now(),
            })
            .await
            .unwrap();
    let id_json = json!(earlier.id);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        list(s, &token, env).await[0]["status"],
        "queued",
        "nobody follows it yet"
    );
    assert_eq!(f.fake.count(Endpoint::Deployment), 0);

    assert_eq!(s.services.deployments.resume().await.unwrap(), 1);
    let done = wait_listed(s, &token, env, &id_json, &["finished"]).await;
    assert!(done["metadata"]["finishedAt"].is_string(), "{done}");
    assert_eq!(
        s.services.deployments.resume().await.unwrap(),
        0,
        "nothing left under way"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_routes_need_sign_in() {
    let f = fixture(Backend::Sqlite).await;
    for (method, path) in [
        ("POST", "/api/deployment/deploy".to_owned()),
        (
            "GET",
            format!("/api/deployment/status/{}", DeploymentId::new()),
        ),
        (
            "GET",
            format!("/api/deployment/list/{}", EnvironmentId::new()),
        ),
    ] {
        let (status, _) = f.server.call(method, &path, None, None).await;
        assert_eq!(status, 401, "{method} {path}");
    }
}
