//! An environment's egress policy through the real server: given at creation, shown with
//! the environment, changed by its owner or an admin, and every bad host refused with a
//! sentence that names it. (Enforcing the policy on workspaces is tested where it is built.)

use std::time::Duration;

use chrono::Utc;
use craftastic_domain::{BranchName, EgressPolicy, EnvironmentId, EnvironmentName, UserId};
use craftastic_store::{EnvironmentStatus, NewEnvironment};
use craftastic_testkit::{Backend, TestServer, on_both_backends};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

on_both_backends!(egress_policy_is_given_at_creation_shown_and_changed);

/// Registers a user; returns (access token, user id). The first user of a server is admin.
async fn user(s: &TestServer, email: &str) -> (String, UserId) {
    let body = s.register(email, PASSWORD).await;
    (
        body["accessToken"].as_str().unwrap().to_owned(),
        body["user"]["id"].as_str().unwrap().parse().unwrap(),
    )
}

/// An open environment of `owner`, recorded directly: a policy needs no container.
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

async fn set_egress(s: &TestServer, token: Option<&str>, env: &str, body: Value) -> (u16, Value) {
    s.call(
        "PUT",
        &format!("/api/environments/{env}/egress"),
        token,
        Some(body),
    )
    .await
}

async fn policy_of(s: &TestServer, token: &str, env: &str) -> Value {
    let (status, body) = s
        .call(
            "GET",
            &format!("/api/environments/{env}"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["egressPolicy"].clone()
}

async fn egress_policy_is_given_at_creation_shown_and_changed(backend: Backend) {
    let s = TestServer::start(backend).await;
    let (token, ada) = user(&s, "ada@example.com").await;
    let (status, listed) = s
        .call(
            "POST",
            "/api/environments",
            Some(&token),
            Some(json!({
                "name": "shop",
                "egressPolicy": {
                    "mode": "allowlist",
                    "hosts": ["GitHub.com", "*.npmjs.org", "github.com.", "api.anthropic.com"],
                },
            })),
        )
        .await;
    assert_eq!(status, 201, "{listed}");
    assert_eq!(
        listed["egressPolicy"],
        json!({ "mode": "allowlist", "hosts": ["github.com", "*.npmjs.org", "api.anthropic.com"] }),
        "lower case, no trailing dot, no duplicate, in the order given"
    );
    let shop = listed["id"].as_str().unwrap().to_owned();
    let (status, open) = s
        .call(
            "POST",
            "/api/environments",
            Some(&token),
            Some(json!({ "name": "blog" })),
        )
        .await;
    assert_eq!(status, 201, "{open}");
    assert_eq!(open["egressPolicy"], json!({ "mode": "open", "hosts": [] }));
    let blog = open["id"].as_str().unwrap().to_owned();

    let (_, all) = s.call("GET", "/api/environments", Some(&token), None).await;
    let policies: Vec<(&str, &Value)> = all["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap(), &e["egressPolicy"]))
        .collect();
    assert_eq!(
        policies,
        [
            ("shop", &listed["egressPolicy"]),
            ("blog", &open["egressPolicy"])
        ]
    );

    let (status, closed) = set_egress(&s, Some(&token), &shop, json!({ "mode": "none" })).await;
    assert_eq!(status, 200, "{closed}");
    assert_eq!(
        closed["egressPolicy"],
        json!({ "mode": "none", "hosts": [] })
    );
    assert_eq!(closed["id"], listed["id"]);
    assert_eq!(policy_of(&s, &token, &shop).await, closed["egressPolicy"]);
    let (status, allowed) = set_egress(
        &s,
        Some(&token),
        &blog,
        json!({ "mode": "allowlist", "hosts": ["registry.npmjs.org"] }),
    )
    .await;
    assert_eq!(status, 200, "{allowed}");
    assert_eq!(
        policy_of(&s, &token, &blog).await,
        json!({ "mode": "allowlist", "hosts": ["registry.npmjs.org"] })
    );
    assert_eq!(
        policy_of(&s, &token, &shop).await["mode"],
        "none",
        "each environment has its own"
    );

    let audit = s.db.store.list_audit(Some(ada), 20).await.unwrap();
    let change = audit
        .iter()
        .find(|e| e.action == "environments.egress" && e.target.as_deref() == Some(&shop))
        .expect("the change is audited");
    assert_eq!(change.outcome, "ok");
    assert_eq!(change.details["egressPolicy"]["mode"], "none");
    assert_eq!(change.details["previous"], listed["egressPolicy"]);
    let created = audit
        .iter()
        .find(|e| e.action == "environments.create" && e.target.as_deref() == Some(&shop))
        .unwrap();
    assert_eq!(created.details["egressPolicy"], listed["egressPolicy"]);

    // Making them goes on regardless of their policies; let it end before the server does.
    for id in [&shop, &blog] {
        s.wait_for_environment(&token, id, &["running", "error"], Duration::from_secs(90))
            .await;
    }
}

/// PUTs `body` and expects a 422 whose `field` says `message`.
async fn refused(s: &TestServer, token: &str, env: &str, body: Value, field: &str, message: &str) {
    let (status, answer) = set_egress(s, Some(token), env, body.clone()).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (422, Some("invalid_input")),
        "{body}: {answer}"
    );
    assert_eq!(
        answer["details"]["fields"][field], message,
        "{body}: {answer}"
    );
    assert_eq!(answer["error"], message, "{body}: {answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_policies_are_422_naming_the_host_and_what_to_write() {
    let s = TestServer::start(Backend::Sqlite).await;
    let (token, ada) = user(&s, "ada@example.com").await;
    let env = environment(&s, ada, "shop").await.to_string();
    let hosts = "egressPolicy.hosts";
    for (list, message) in [
        (
            json!(["github.com", "api.anthropic.com", "https://github.com"]),
            "egressPolicy.hosts[2]: 'https://github.com' is not a host name; write github.com",
        ),
        (
            json!(["github.com:443"]),
            "egressPolicy.hosts[0]: 'github.com:443' has a port (:443); write the host alone: github.com",
        ),
        (
            json!(["github.com/ada/app"]),
            "egressPolicy.hosts[0]: 'github.com/ada/app' has a path; write the host alone: github.com",
        ),
        (
            json!(["ok.example.com", "10.0.0.1"]),
            "egressPolicy.hosts[1]: '10.0.0.1' is an IP address; an egress policy allows host names only",
        ),
        (
            json!(["localhost"]),
            "egressPolicy.hosts[0]: 'localhost' is not a public host name; name at least two labels (e.g. example.com)",
        ),
        (
            json!(["*.com"]),
            "egressPolicy.hosts[0]: '*.com' would allow a whole top-level domain; name at least two labels after '*.' (e.g. *.example.com)",
        ),
        (
            json!(["a_b.example.com"]),
            "egressPolicy.hosts[0]: 'a_b.example.com' is not a valid host name: '_' is not allowed (only letters, digits, '-' and '.')",
        ),
        (
            json!([""]),
            "egressPolicy.hosts[0]: is empty; write a host name such as github.com",
        ),
        (
            json!([]),
            "an allowlist needs at least one host (e.g. github.com); choose mode none to allow no host at all",
        ),
    ] {
        refused(
            &s,
            &token,
            &env,
            json!({ "mode": "allowlist", "hosts": list }),
            hosts,
            message,
        )
        .await;
    }
    refused(
        &s,
        &token,
        &env,
        json!({ "mode": "allowlist" }),
        hosts,
        "an allowlist needs at least one host (e.g. github.com); choose mode none to allow no host at all",
    )
    .await;
    let too_many: Vec<String> = (0..101).map(|i| format!("h{i}.example.com")).collect();
    refused(
        &s,
        &token,
        &env,
        json!({ "mode": "allowlist", "hosts": too_many }),
        hosts,
        "egressPolicy.hosts may name at most 100 hosts; allow a parent domain with *. or choose mode open",
    )
    .await;
    refused(
        &s,
        &token,
        &env,
        json!({ "mode": "none", "hosts": ["github.com"] }),
        hosts,
        "egressPolicy.hosts apply only to mode allowlist; leave them out for mode none",
    )
    .await;
    refused(
        &s,
        &token,
        &env,
        json!({ "mode": "closed" }),
        "egressPolicy.mode",
        "egressPolicy.mode must be one of open, none, allowlist; 'closed' is not one of them",
    )
    .await;
    for body in [
        json!({}),
        json!({ "mode": "open", "extra": 1 }),
        json!({ "mode": "allowlist", "hosts": [1] }),
        json!({ "mode": "allowlist", "hosts": "github.com" }),
    ] {
        let (status, answer) = set_egress(&s, Some(&token), &env, body.clone()).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (422, Some("invalid_input")),
            "{body}: {answer}"
        );
    }
    assert_eq!(
        policy_of(&s, &token, &env).await,
        json!({ "mode": "open", "hosts": [] }),
        "nothing refused was stored"
    );

    // At creation every bad field is named at once, and nothing is made.
    let (status, answer) = s
        .call(
            "POST",
            "/api/environments",
            Some(&token),
            Some(json!({
                "name": "bad name",
                "egressPolicy": { "mode": "allowlist", "hosts": ["https://github.com/ada"] },
            })),
        )
        .await;
    assert_eq!(status, 422, "{answer}");
    assert!(answer["details"]["fields"]["name"].is_string(), "{answer}");
    assert_eq!(
        answer["details"]["fields"][hosts],
        "egressPolicy.hosts[0]: 'https://github.com/ada' is not a host name; write github.com"
    );
    let (_, all) = s.call("GET", "/api/environments", Some(&token), None).await;
    assert_eq!(all["environments"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_environment_is_404_and_an_admin_may_change_it() {
    let s = TestServer::start(Backend::Sqlite).await;
    let (ada, _) = user(&s, "ada@example.com").await;
    let (bob, bob_id) = user(&s, "bob@example.com").await;
    let (carol, carol_id) = user(&s, "carol@example.com").await;
    let bobs = environment(&s, bob_id, "shop").await.to_string();
    let none = json!({ "mode": "none" });

    let (status, body) = set_egress(&s, Some(&carol), &bobs, none.clone()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("environment not found"))
    );
    assert_eq!(policy_of(&s, &bob, &bobs).await["mode"], "open");

    // Ada is the first user, so an admin.
    let (status, body) = set_egress(&s, Some(&ada), &bobs, none.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(policy_of(&s, &bob, &bobs).await["mode"], "none");
    let carols = environment(&s, carol_id, "blog").await.to_string();
    let (status, _) = set_egress(&s, Some(&bob), &carols, none.clone()).await;
    assert_eq!(status, 404);

    for env in [EnvironmentId::new().to_string(), "not-an-id".to_owned()] {
        let (status, body) = set_egress(&s, Some(&ada), &env, none.clone()).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("not_found")),
            "{env}"
        );
    }
    let (status, _) = set_egress(&s, None, &bobs, none).await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_environment_being_deleted_keeps_its_policy_with_409() {
    let s = TestServer::start(Backend::Sqlite).await;
    let (token, ada) = user(&s, "ada@example.com").await;
    let env = environment(&s, ada, "shop").await;
    s.db.store
        .set_environment_status(env, EnvironmentStatus::Deleting, None)
        .await
        .unwrap();
    let (status, body) = set_egress(
        &s,
        Some(&token),
        &env.to_string(),
        json!({ "mode": "none" }),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("not_ready")),
        "{body}"
    );
    assert_eq!(
        policy_of(&s, &token, &env.to_string()).await["mode"],
        "open"
    );
}
