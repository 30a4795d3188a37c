//! Linking GitHub through the device flow and listing repositories, against the real server
//! and a fake GitHub that answers as GitHub documents.

use std::time::Duration;

use craftastic_domain::UserId;
use craftastic_service::crypto::Cipher;
use craftastic_testkit::fake_github::{
    Endpoint, FAKE_CLIENT_ID, FakeAccount, FakeGithub, FakeRepo, Mode, Outcome,
};
use craftastic_testkit::{Backend, ENCRYPTION_KEY, ServerOptions, TestServer, on_both_backends};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";
/// A little more than the fake's interval of 1 s.
const INTERVAL: Duration = Duration::from_millis(1100);

on_both_backends!(poll_connected_links_the_account);

struct Fixture {
    fake: FakeGithub,
    server: TestServer,
}

async fn fixture(backend: Backend) -> Fixture {
    let fake = FakeGithub::start().await;
    let server = TestServer::start_with(
        backend,
        ServerOptions {
            github: fake.settings(),
            ..Default::default()
        },
    )
    .await;
    Fixture { fake, server }
}

/// Registers a user; returns (access token, user id).
async fn user(s: &TestServer, email: &str) -> (String, UserId) {
    let body = s.register(email, PASSWORD).await;
    (
        body["accessToken"].as_str().unwrap().to_owned(),
        body["user"]["id"].as_str().unwrap().parse().unwrap(),
    )
}

async fn initiate(s: &TestServer, token: &str) -> Value {
    let (status, body) = s
        .call("POST", "/api/auth/github/initiate", Some(token), None)
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn poll(s: &TestServer, token: &str, flow_id: &Value) -> (u16, Value) {
    s.call(
        "POST",
        "/api/auth/github/poll",
        Some(token),
        Some(json!({ "flowId": flow_id })),
    )
    .await
}

fn account(login: &str, repos: Vec<FakeRepo>) -> FakeAccount {
    FakeAccount {
        login: login.into(),
        id: 4242,
        repos,
    }
}

/// Links the user's GitHub account with `gh_token` through a whole device flow.
async fn link(f: &Fixture, token: &str, login: &str, gh_token: &str, repos: Vec<FakeRepo>) {
    f.fake.add_account(gh_token, account(login, repos));
    let flow = initiate(&f.server, token).await;
    f.fake.program(
        flow["userCode"].as_str().unwrap(),
        [Outcome::Token(gh_token.into())],
    );
    tokio::time::sleep(INTERVAL).await;
    let (status, body) = poll(&f.server, token, &flow["flowId"]).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("connected")),
        "{body}"
    );
}

async fn poll_connected_links_the_account(backend: Backend) {
    let f = fixture(backend).await;
    let s = &f.server;
    let (token, id) = user(s, "ada@example.com").await;
    f.fake
        .add_account("gho_ada_token", account("ada-gh", vec![]));

    let flow = initiate(s, &token).await;
    let user_code = flow["userCode"].as_str().unwrap();
    assert!(user_code.starts_with("FAKE-"), "{flow}");
    assert_eq!(
        flow["verificationUri"],
        format!("{}/login/device", f.fake.url)
    );
    assert_eq!(
        (flow["interval"].as_u64(), flow["expiresIn"].as_u64()),
        (Some(1), Some(900))
    );
    assert!(flow.get("deviceCode").is_none() && !flow.to_string().contains("fake-device-code"));
    f.fake.program(
        user_code,
        [Outcome::Pending, Outcome::Token("gho_ada_token".into())],
    );

    tokio::time::sleep(INTERVAL).await;
    let (status, body) = poll(s, &token, &flow["flowId"]).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("pending")),
        "{body}"
    );
    assert!(body.get("username").is_none());
    tokio::time::sleep(INTERVAL).await;
    let (status, body) = poll(s, &token, &flow["flowId"]).await;
    assert_eq!(
        (status, body["status"].as_str(), body["username"].as_str()),
        (200, Some("connected"), Some("ada-gh")),
        "{body}"
    );

    let (_, me) = s.call("GET", "/api/auth/me", Some(&token), None).await;
    assert_eq!(me["githubUsername"], "ada-gh");
    let (status, link) = s
        .call("GET", "/api/auth/github/status", Some(&token), None)
        .await;
    assert_eq!(
        (status, link),
        (200, json!({"connected": true, "username": "ada-gh"}))
    );
    let (status, _) = poll(s, &token, &flow["flowId"]).await;
    assert_eq!(status, 404, "a finished flow is gone");

    // What GitHub saw is what it documents.
    let calls = f.fake.calls();
    let device = calls
        .iter()
        .find(|c| c.endpoint == Endpoint::DeviceCode)
        .unwrap();
    assert_eq!(device.params["client_id"], FAKE_CLIENT_ID);
    assert_eq!(device.params["scope"], "repo read:user");
    let polled = calls
        .iter()
        .find(|c| c.endpoint == Endpoint::Token)
        .unwrap();
    assert_eq!(
        polled.params["grant_type"],
        "urn:ietf:params:oauth:grant-type:device_code"
    );
    assert_eq!(polled.headers["accept"], "application/json");
    let read = calls.iter().find(|c| c.endpoint == Endpoint::User).unwrap();
    assert_eq!(read.headers["authorization"], "Bearer gho_ada_token");
    assert_eq!(read.headers["accept"], "application/vnd.github+json");
    assert_eq!(read.headers["x-github-api-version"], "2022-11-28");
    assert!(
        read.headers["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("Craftastic/")
    );

    let audit = s.db.store.list_audit(Some(id), 20).await.unwrap();
    let linked = audit.iter().find(|e| e.action == "github.link").unwrap();
    assert_eq!(linked.outcome, "ok");
    assert!(
        audit
            .iter()
            .all(|e| !e.details.to_string().contains("gho_ada_token"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_faster_than_interval_makes_no_upstream_call() {
    let f = fixture(Backend::Sqlite).await;
    let s = &f.server;
    let (token, _) = user(s, "ada@example.com").await;
    let flow = initiate(s, &token).await;
    for _ in 0..3 {
        let (status, body) = poll(s, &token, &flow["flowId"]).await;
        assert_eq!(
            (status, body["status"].as_str(), body["interval"].as_u64()),
            (200, Some("pending"), Some(1))
        );
    }
    assert_eq!(f.fake.count(Endpoint::Token), 0, "too soon after the code");
    tokio::time::sleep(INTERVAL).await;
    poll(s, &token, &flow["flowId"]).await;
    let (_, body) = poll(s, &token, &flow["flowId"]).await;
    assert_eq!(body["status"], "pending");
    assert_eq!(f.fake.count(Endpoint::Token), 1, "one call per interval");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_down_raises_interval_and_server_waits_it() {
    let f = fixture(Backend::Sqlite).await;
    let s = &f.server;
    let (token, _) = user(s, "ada@example.com").await;
    f.fake.add_account("gho_slow", account("ada-gh", vec![]));
    let flow = initiate(s, &token).await;
    f.fake.program(
        flow["userCode"].as_str().unwrap(),
        [
            Outcome::SlowDown(Some(2)),
            Outcome::Token("gho_slow".into()),
        ],
    );
    tokio::time::sleep(INTERVAL).await;
    let (_, body) = poll(s, &token, &flow["flowId"]).await;
    assert_eq!(
        (body["status"].as_str(), body["interval"].as_u64()),
        (Some("pending"), Some(2)),
        "{body}"
    );
    tokio::time::sleep(INTERVAL).await;
    let (_, body) = poll(s, &token, &flow["flowId"]).await;
    assert_eq!(
        body["status"], "pending",
        "1.1 s is less than the new interval"
    );
    assert_eq!(f.fake.count(Endpoint::Token), 1);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let (_, body) = poll(s, &token, &flow["flowId"]).await;
    assert_eq!(body["status"], "connected", "{body}");
    let times = f.fake.poll_times();
    assert_eq!(times.len(), 2);
    assert!(times[1] - times[0] >= Duration::from_secs(2), "{times:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_down_without_interval_adds_five_seconds() {
    let f = fixture(Backend::Sqlite).await;
    let s = &f.server;
    let (token, _) = user(s, "ada@example.com").await;
    let flow = initiate(s, &token).await;
    f.fake.program(
        flow["userCode"].as_str().unwrap(),
        [Outcome::SlowDown(None)],
    );
    tokio::time::sleep(INTERVAL).await;
    let (_, body) = poll(s, &token, &flow["flowId"]).await;
    assert_eq!(body["interval"], 6, "{body}");
    tokio::time::sleep(INTERVAL).await;
    poll(s, &token, &flow["flowId"]).await;
    assert_eq!(f.fake.count(Endpoint::Token), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_code_ends_the_flow() {
    let f = fixture(Backend::Sqlite).await;
    let s = &f.server;
    let (token, _) = user(s, "ada@example.com").await;
    let flow = initiate(s, &token).await;
    f.fake
        .program(flow["userCode"].as_str().unwrap(), [Outcome::Expired]);
    tokio::time::sleep(INTERVAL).await;
    let (status, body) = poll(s, &token, &flow["flowId"]).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("expired")));
    let (status, _) = poll(s, &token, &flow["flowId"]).await;
    assert_eq!(status, 404);
    let (_, link) = s
        .call("GET", "/api/auth/github/status", Some(&token), None)
        .await;
    assert_eq!(link, json!({"connected": false}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_authorization_ends_the_flow() {
    let f = fixture(Backend::Sqlite).await;
    let s = &f.server;
    let (token, id) = user(s, "ada@example.com").await;
    let flow = initiate(s, &token).await;
    f.fake
        .program(flow["userCode"].as_str().unwrap(), [Outcome::Denied]);
    tokio::time::sleep(INTERVAL).await;
    let (status, body) = poll(s, &token, &flow["flowId"]).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("denied")));
    let (status, _) = poll(s, &token, &flow["flowId"]).await;
    assert_eq!(status, 404);
    let (_, link) = s
        .call("GET", "/api/auth/github/status", Some(&token), None)
        .await;
    assert_eq!(link, json!({"connected": false}));
    let audit = s.db.store.list_audit(Some(id), 10).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "github.link" && e.outcome == "denied")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_flow_errors_end_the_flow_with_reason() {
    let f = fixture(Backend::Sqlite).await;
    let s = &f.server;
    let (token, _) = user(s, "ada@example.com").await;
    let flow = initiate(s, &token).await;
    f.fake.program(
        flow["userCode"].as_str().unwrap(),
        [Outcome::Error("device_flow_disabled".into())],
    );
    tokio::time::sleep(INTERVAL).await;
    let (status, body) = poll(s, &token, &flow["flowId"]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (502, Some("upstream_failed"))
    );
    assert_eq!(
        body["error"],
        "the device flow is disabled for the GitHub OAuth app of GITHUB_CLIENT_ID; enable it in the app's settings"
    );
    let (status, _) = poll(s, &token, &flow["flowId"]).await;
    assert_eq!(status, 404, "the flow ended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_flow_is_404() {
    let f = fixture(Backend::Sqlite).await;
    let s = &f.server;
    let (ada, _) = user(s, "ada@example.com").await;
    let (bob, _) = user(s, "bob@example.com").await;
    let flow = initiate(s, &ada).await;
    let (status, body) = poll(s, &bob, &flow["flowId"]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("not_found")),
        "{body}"
    );
    let (status, _) = poll(s, &ada, &json!(uuid::Uuid::new_v4())).await;
    assert_eq!(status, 404);
    let (status, body) = poll(s, &ada, &json!("not-a-uuid")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid_input")),
        "{body}"
    );
    let (status, body) = poll(s, &ada, &flow["flowId"]).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("pending")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_forgets_token_and_username() {
    let f = fixture(Backend::Sqlite).await;
    let s = &f.server;
    let (token, id) = user(s, "ada@example.com").await;
    link(&f, &token, "ada-gh", "gho_to_forget", vec![]).await;
    let (status, _) = s
        .call("DELETE", "/api/auth/github/disconnect", Some(&token), None)
        .await;
    assert_eq!(status, 204);
    let (_, link) = s
        .call("GET", "/api/auth/github/status", Some(&token), None)
        .await;
    assert_eq!(link, json!({"connected": false}));
    let (_, me) = s.call("GET", "/api/auth/me", Some(&token), None).await;
    assert!(me.get("githubUsername").is_none(), "{me}");
    assert_eq!(s.db.store.github_token(id).await.unwrap(), None);
    assert_eq!(
        s.db.store
            .get_user(id)
            .await
            .unwrap()
            .unwrap()
            .github_username,
        None
    );
    let (status, _) = s
        .call("DELETE", "/api/auth/github/disconnect", Some(&token), None)
        .await;
    assert_eq!(status, 204, "again is fine");
    let actions: Vec<(String, String)> =
        s.db.store
            .list_audit(Some(id), 10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.action, e.outcome))
            .collect();
    assert!(
        actions.contains(&("github.unlink".into(), "ok".into())),
        "{actions:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_token_is_sealed() {
    let f = fixture(Backend::Sqlite).await;
    let s = &f.server;
    let (token, id) = user(s, "ada@example.com").await;
    let secret = "gho_very_secret_token_4711";
    link(&f, &token, "ada-gh", secret, vec![]).await;
    let sealed = s.db.store.github_token(id).await.unwrap().unwrap();
    let cipher = Cipher::new(&ENCRYPTION_KEY);
    assert!(
        sealed.starts_with(&format!("{}.", cipher.key_id())),
        "{sealed}"
    );
    assert!(!sealed.contains(secret));
    assert_eq!(
        cipher
            .open(&sealed, &format!("users.github_token:{id}"))
            .unwrap(),
        secret.as_bytes()
    );
    let db_file = s.db.url.strip_prefix("sqlite://").unwrap();
    for file in [db_file.to_owned(), format!("{db_file}-wal")] {
        if let Ok(bytes) = std::fs::read(&file) {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "the token is in {file} in plain text"
            );
        }
    }
    for path in ["/api/auth/me", "/api/auth/github/status"] {
        let (_, body) = s.call("GET", path, Some(&token), None).await;
        assert!(!body.to_string().contains(secret), "{path}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repos_pages_with_has_more() {
    let f = fixture(Backend::Sqlite).await;
    let s = &f.server;
    let (token, _) = user(s, "ada@example.com").await;
    let repos = vec![
        FakeRepo::private("ada/secret-app"),
        FakeRepo::public("ada/blog"),
        FakeRepo::public("acme/site"),
        FakeRepo::public("ada/dots"),
        FakeRepo::public("ada/old"),
    ];
    link(&f, &token, "ada-gh", "gho_repos", repos).await;
    let (status, page1) = s
        .call(
            "GET",
            "/api/auth/github/repos?perPage=2",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{page1}");
    assert_eq!(
        page1,
        json!({
            "repositories": [
                {"fullName": "ada/secret-app", "cloneUrl": f.fake.clone_url("ada/secret-app"), "private": true, "defaultBranch": "main"},
                {"fullName": "ada/blog", "cloneUrl": f.fake.clone_url("ada/blog"), "private": false, "defaultBranch": "main"},
            ],
            "hasMore": true,
        })
    );
    let (_, page3) = s
        .call(
            "GET",
            "/api/auth/github/repos?page=3&perPage=2",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(page3["repositories"][0]["fullName"], "ada/old");
    assert_eq!(page3["repositories"].as_array().unwrap().len(), 1);
    assert_eq!(page3["hasMore"], false);
    let (_, all) = s
        .call("GET", "/api/auth/github/repos", Some(&token), None)
        .await;
    assert_eq!(
        (
            all["repositories"].as_array().unwrap().len(),
            &all["hasMore"]
        ),
        (5, &json!(false))
    );
    let asked = f
        .fake
        .calls()
        .into_iter()
        .filter(|c| c.endpoint == Endpoint::Repos)
        .nth(1)
        .unwrap();
    assert_eq!(asked.params["page"], "3");
    assert_eq!(asked.params["per_page"], "2");
    assert_eq!(asked.params["sort"], "updated");
    assert_eq!(
        asked.params["affiliation"],
        "owner,collaborator,organization_member"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repos_bad_paging_is_422() {
    let f = fixture(Backend::Sqlite).await;
    let s = &f.server;
    let (token, _) = user(s, "ada@example.com").await;
    for (query, field) in [
        ("perPage=0", "perPage"),
        ("perPage=101", "perPage"),
        ("page=0", "page"),
        ("page=-3", "page"),
        ("page=abc", "page"),
        ("perPage=1.5", "perPage"),
    ] {
        let (status, body) = s
            .call(
                "GET",
                &format!("/api/auth/github/repos?{query}"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (422, Some("invalid_input")),
            "{query}: {body}"
        );
        assert!(
            body["details"]["fields"][field].is_string(),
            "{query}: {body}"
        );
    }
    let (status, body) = s
        .call(
            "GET",
            "/api/auth/github/repos?page=1&page=2",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_query")),
        "{body}"
    );
    assert_eq!(f.fake.count(Endpoint::Repos), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repos_without_link_is_409() {
    let f = fixture(Backend::Sqlite).await;
    let s = &f.server;
    let (token, _) = user(s, "ada@example.com").await;
    let (status, body) = s
        .call("GET", "/api/auth/github/repos", Some(&token), None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("github_not_linked"))
    );
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("link GitHub in settings"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_token_is_409_and_says_link_again() {
    let f = fixture(Backend::Sqlite).await;
    let s = &f.server;
    let (token, _) = user(s, "ada@example.com").await;
    link(&f, &token, "ada-gh", "gho_revoked", vec![]).await;
    f.fake.revoke("gho_revoked");
    let (status, body) = s
        .call("GET", "/api/auth/github/repos", Some(&token), None)
        .await;
    assert_eq!(
        (status, body["code"].as_str(), body["error"].as_str()),
        (
            409,
            Some("github_token_revoked"),
            Some("the linked GitHub token was revoked; link GitHub again")
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_500_is_502_with_reason() {
    let f = fixture(Backend::Sqlite).await;
    let s = &f.server;
    let (token, _) = user(s, "ada@example.com").await;
    link(&f, &token, "ada-gh", "gho_500", vec![]).await;
    f.fake.set_mode(Mode::ServerError);
    let (status, body) = s
        .call("POST", "/api/auth/github/initiate", Some(&token), None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (502, Some("upstream_failed"))
    );
    assert_eq!(
        body["error"],
        "GitHub failed with status 500 while requesting a device code; try again later"
    );
    let (status, body) = s
        .call("GET", "/api/auth/github/repos", Some(&token), None)
        .await;
    assert_eq!(status, 502);
    assert_eq!(
        body["error"],
        "GitHub failed with status 500 while listing repositories; try again later"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_garbage_json_is_502_with_reason() {
    let f = fixture(Backend::Sqlite).await;
    let s = &f.server;
    let (token, _) = user(s, "ada@example.com").await;
    let flow = initiate(s, &token).await;
    f.fake.set_mode(Mode::Garbage);
    let (status, body) = s
        .call("POST", "/api/auth/github/initiate", Some(&token), None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (502, Some("upstream_failed"))
    );
    assert_eq!(
        body["error"],
        "GitHub's answer while requesting a device code is not the JSON GitHub documents: it is not JSON"
    );
    tokio::time::sleep(INTERVAL).await;
    let (status, body) = poll(s, &token, &flow["flowId"]).await;
    assert_eq!(status, 502);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("while polling for the access token is not the JSON"),
        "{body}"
    );
    f.fake.set_mode(Mode::Normal);
    tokio::time::sleep(INTERVAL).await;
    let (status, body) = poll(s, &token, &flow["flowId"]).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("pending")),
        "the flow outlives a bad answer"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_unreachable_is_502_with_reason() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let fake = FakeGithub::start().await;
    let mut settings = fake.settings();
    settings.web_url = format!("http://127.0.0.1:{closed}").parse().unwrap();
    drop(fake);
    let s = TestServer::start_with(
        Backend::Sqlite,
        ServerOptions {
            github: settings,
            ..Default::default()
        },
    )
    .await;
    let (token, _) = user(&s, "ada@example.com").await;
    let (status, body) = s
        .call("POST", "/api/auth/github/initiate", Some(&token), None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (502, Some("upstream_failed"))
    );
    let error = body["error"].as_str().unwrap();
    assert!(
        error.starts_with(&format!(
            "GitHub at http://127.0.0.1:{closed} cannot be reached: connection refused"
        )) && error.ends_with("; check GITHUB_URL, GITHUB_API_URL and the network"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_client_id_is_503() {
    let s = TestServer::start(Backend::Sqlite).await;
    let (token, _) = user(&s, "ada@example.com").await;
    let (status, body) = s
        .call("POST", "/api/auth/github/initiate", Some(&token), None)
        .await;
    assert_eq!((status, body["code"].as_str()), (503, Some("unavailable")));
    assert!(
        body["error"].as_str().unwrap().contains("GITHUB_CLIENT_ID"),
        "{body}"
    );
    let (status, _) = poll(&s, &token, &json!(uuid::Uuid::new_v4())).await;
    assert_eq!(status, 503);
    let (status, link) = s
        .call("GET", "/api/auth/github/status", Some(&token), None)
        .await;
    assert_eq!((status, link), (200, json!({"connected": false})));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_routes_need_sign_in() {
    let s = TestServer::start(Backend::Sqlite).await;
    for (method, path) in [
        ("POST", "/api/auth/github/initiate"),
        ("POST", "/api/auth/github/poll"),
        ("GET", "/api/auth/github/status"),
        ("DELETE", "/api/auth/github/disconnect"),
        ("GET", "/api/auth/github/repos"),
    ] {
        let (status, _) = s.call(method, path, None, None).await;
        assert_eq!(status, 401, "{method} {path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_for_matches_only_the_github_origin() {
    let f = fixture(Backend::Sqlite).await;
    let s = &f.server;
    let (token, id) = user(s, "ada@example.com").await;
    let (_, other) = user(s, "bob@example.com").await;
    let github = &s.services.github;
    let url = f.fake.clone_url("ada/secret-app");
    assert_eq!(
        github.credential_for(id, &url).await.unwrap(),
        None,
        "not linked yet"
    );
    link(&f, &token, "ada-gh", "gho_for_git", vec![]).await;
    let credential = github.credential_for(id, &url).await.unwrap().unwrap();
    assert_eq!(credential.url_prefix, f.fake.url);
    assert_eq!(credential.token, "gho_for_git");
    assert!(!format!("{credential:?}").contains("gho_for_git"));
    let port: u16 = f.fake.url.rsplit(':').next().unwrap().parse().unwrap();
    let host = f
        .fake
        .url
        .trim_start_matches("http://")
        .rsplit_once(':')
        .unwrap()
        .0;
    for foreign in [
        format!("https://{host}:{port}/ada/secret-app.git"),
        format!("http://{host}:{}/ada/secret-app.git", port.wrapping_add(1)),
        "https://gitlab.example/ada/secret-app.git".to_owned(),
        format!("git@{host}:ada/secret-app.git"),
        "/srv/repos/app".to_owned(),
    ] {
        assert_eq!(
            github.credential_for(id, &foreign).await.unwrap(),
            None,
            "{foreign}"
        );
    }
    assert_eq!(
        github.credential_for(other, &url).await.unwrap(),
        None,
        "bob has no link"
    );
}
