//! Limits against abuse, over real HTTP against both stores: password hashes at once,
//! sign-ins and registrations per client address, and per-user limits with an admin's
//! overrides. Environments here use an image that does not exist, so that they count
//! without starting containers (see `limits_docker.rs` for the running ones).

use std::time::{Duration, Instant};

use chrono::Utc;
use craftastic_domain::{BranchName, EnvironmentId, EnvironmentName, UserId};
use craftastic_http::client_addr::{ProxyRange, TrustedProxies};
use craftastic_service::limits::LimitSettings;
use craftastic_service::ratelimit::RateLimit;
use craftastic_store::NewEnvironment;
use craftastic_testkit::fake_coolify::{FakeApp, FakeCoolify, STUCK};
use craftastic_testkit::{Backend, ServerOptions, TestServer, on_both_backends};
use serde_json::{Value, json};

on_both_backends!(
    concurrent_logins_beyond_the_hashing_slots_are_503_with_retry_after_and_none_hang,
    logins_from_one_address_beyond_the_limit_are_429_with_retry_after,
    behind_a_trusted_proxy_each_forwarded_address_has_its_own_limit,
    registrations_from_one_address_beyond_the_limit_are_429,
    over_the_environment_limit_is_429_naming_it_until_an_admin_raises_it,
    deployments_in_flight_beyond_the_limit_are_429,
    admins_list_users_with_usage_and_limit_routes_validate,
    limit_routes_are_for_admins_only,
);

const PASSWORD: &str = "correct horse battery";
const NO_IMAGE: &str = "craftastic/no-such-image:test";

struct User {
    token: String,
    id: String,
}

async fn user(s: &TestServer, email: &str) -> User {
    let body = s.register(email, PASSWORD).await;
    User {
        token: body["accessToken"].as_str().unwrap().to_owned(),
        id: body["user"]["id"].as_str().unwrap().to_owned(),
    }
}

/// A login attempt, optionally through a proxy that says it is for `forwarded_for`.
async fn login(s: &TestServer, email: &str, forwarded_for: Option<&str>) -> reqwest::Response {
    let mut req = s
        .http
        .post(s.url("/api/auth/login"))
        .json(&json!({"email": email, "password": "wrong password"}));
    if let Some(f) = forwarded_for {
        req = req.header("x-forwarded-for", f);
    }
    req.send().await.unwrap()
}

fn retry_after(res: &reqwest::Response) -> u64 {
    res.headers()
        .get("retry-after")
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn concurrent_logins_beyond_the_hashing_slots_are_503_with_retry_after_and_none_hang(
    backend: Backend,
) {
    let s = TestServer::start_with(
        backend,
        ServerOptions {
            password_hashers: 1,
            ..Default::default()
        },
    )
    .await;
    // One slot and a second's wait: far more hashes than one slot does in a second.
    let started = Instant::now();
    let attempts = (0..120).map(|i| {
        let s = &s;
        async move {
            let res = login(s, &format!("nobody{i}@example.com"), None).await;
            let status = res.status().as_u16();
            let retry = (status == 503).then(|| retry_after(&res));
            let body: Value = res.json().await.unwrap();
            (status, retry, body)
        }
    });
    let answers = futures::future::join_all(attempts).await;
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the logins took {:?}",
        started.elapsed()
    );
    let busy: Vec<_> = answers.iter().filter(|(s, ..)| *s == 503).collect();
    assert!(!busy.is_empty(), "no login was turned away");
    assert!(
        answers.iter().any(|(s, ..)| *s == 401),
        "no login was checked"
    );
    for (status, retry, body) in &answers {
        assert!(matches!(status, 401 | 503), "{status} {body}");
        if *status == 503 {
            assert_eq!(*retry, Some(1));
            assert_eq!(body["code"], "busy", "{body}");
        }
    }
    // The slot is free again afterwards.
    assert_eq!(login(&s, "nobody@example.com", None).await.status(), 401);
}

async fn logins_from_one_address_beyond_the_limit_are_429_with_retry_after(backend: Backend) {
    let s = TestServer::start_with(
        backend,
        ServerOptions {
            login_rate: RateLimit::per_minute(3),
            ..Default::default()
        },
    )
    .await;
    for i in 0..3 {
        let res = login(&s, &format!("user{i}@example.com"), None).await;
        assert_eq!(res.status(), 401);
    }
    let res = login(&s, "user9@example.com", None).await;
    assert_eq!(res.status(), 429);
    let wait = retry_after(&res);
    assert!((1..=20).contains(&wait), "{wait}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");
    let message = body["error"].as_str().unwrap();
    assert!(
        message.contains("too many sign-in attempts from your address")
            && message.contains("3 a minute")
            && message.contains("LOGIN_RATE_LIMIT_PER_MINUTE"),
        "{message}"
    );
    // The header is not believed from a client that is no trusted proxy.
    let res = login(&s, "user9@example.com", Some("203.0.113.5")).await;
    assert_eq!(res.status(), 429);
}

async fn behind_a_trusted_proxy_each_forwarded_address_has_its_own_limit(backend: Backend) {
    let s = TestServer::start_with(
        backend,
        ServerOptions {
            login_rate: RateLimit::per_minute(1),
            trusted_proxies: TrustedProxies(vec![ProxyRange::parse("127.0.0.1").unwrap()]),
            ..Default::default()
        },
    )
    .await;
    let a = Some("198.51.100.1");
    assert_eq!(login(&s, "a@example.com", a).await.status(), 401);
    assert_eq!(login(&s, "a@example.com", a).await.status(), 429);
    // What the client wrote itself, before the proxy's entry, does not count.
    let spoofed = Some("198.51.100.2, 198.51.100.1");
    assert_eq!(login(&s, "a@example.com", spoofed).await.status(), 429);
    assert_eq!(
        login(&s, "b@example.com", Some("198.51.100.2"))
            .await
            .status(),
        401
    );
    assert_eq!(login(&s, "c@example.com", None).await.status(), 401);
}

async fn registrations_from_one_address_beyond_the_limit_are_429(backend: Backend) {
    let s = TestServer::start_with(
        backend,
        ServerOptions {
            register_rate: RateLimit::per_hour(2),
            ..Default::default()
        },
    )
    .await;
    s.register("a@example.com", PASSWORD).await;
    s.register("b@example.com", PASSWORD).await;
    let res = s
        .http
        .post(s.url("/api/auth/register"))
        .json(&json!({"email": "c@example.com", "password": PASSWORD, "name": "C"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(
        retry_after(&res) > 60,
        "the next registration is half an hour away"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("REGISTER_RATE_LIMIT_PER_HOUR"),
        "{body}"
    );
    assert_eq!(s.db.store.count_users().await.unwrap(), 2);
}

async fn create_environment(s: &TestServer, token: &str, name: &str) -> (u16, Value) {
    s.call(
        "POST",
        "/api/environments",
        Some(token),
        Some(json!({ "name": name })),
    )
    .await
}

async fn over_the_environment_limit_is_429_naming_it_until_an_admin_raises_it(backend: Backend) {
    let s = TestServer::start_with(
        backend,
        ServerOptions {
            sandbox_image: NO_IMAGE.into(),
            limits: LimitSettings {
                environments: 2,
                ..LimitSettings::DEFAULT
            },
            ..Default::default()
        },
    )
    .await;
    let admin = user(&s, "admin@example.com").await;
    let bob = user(&s, "bob@example.com").await;
    for name in ["one", "two"] {
        let (status, body) = create_environment(&s, &bob.token, name).await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, body) = create_environment(&s, &bob.token, "three").await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["code"], "limit_reached");
    assert_eq!(
        body["error"],
        "you have 2 environments, the most allowed (MAX_ENVIRONMENTS_PER_USER: 2); delete one or ask an admin to raise your limit"
    );
    assert_eq!(body["details"]["setting"], "MAX_ENVIRONMENTS_PER_USER");
    assert_eq!(body["details"]["limit"], 2);
    let (_, mine) = s
        .call("GET", "/api/auth/me/limits", Some(&bob.token), None)
        .await;
    assert_eq!(mine["usage"]["environments"], 2);
    assert_eq!(mine["limits"]["environments"], 2);
    assert_eq!(mine["defaults"]["environments"], 2);
    assert_eq!(mine["defaults"]["sessions"], 50);
    assert_eq!(mine["overrides"]["environments"], Value::Null);
    // Another user has limits of their own.
    let (status, _) = create_environment(&s, &admin.token, "one").await;
    assert_eq!(status, 201);

    let path = format!("/api/admin/users/{}/limits", bob.id);
    let (status, body) = s
        .call(
            "PUT",
            &path,
            Some(&admin.token),
            Some(json!({"environments": 3})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["limits"]["environments"], 3);
    assert_eq!(body["overrides"]["environments"], 3);
    assert_eq!(body["usage"]["environments"], 2);
    let (status, body) = create_environment(&s, &bob.token, "three").await;
    assert_eq!(status, 201, "{body}");

    // Lowering below what bob has takes nothing away; it only stops new ones.
    let (status, body) = s
        .call(
            "PUT",
            &path,
            Some(&admin.token),
            Some(json!({"environments": 1, "sessions": 7})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = create_environment(&s, &bob.token, "four").await;
    assert_eq!(status, 429);
    // Fields left out stay; null brings back the default.
    let (status, body) = s
        .call(
            "PUT",
            &path,
            Some(&admin.token),
            Some(json!({"environments": null})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["overrides"]["environments"], Value::Null);
    assert_eq!(body["limits"]["environments"], 2);
    assert_eq!(body["overrides"]["sessions"], 7);
    assert_eq!(body["usage"]["environments"], 3);
    let (status, body) = s.call("GET", &path, Some(&admin.token), None).await;
    assert_eq!(status, 200);
    assert_eq!(body["limits"]["sessions"], 7);
}

/// An environment of `owner`, recorded directly: deploying needs no container.
async fn recorded_environment(s: &TestServer, owner: &str) -> EnvironmentId {
    s.db.store
        .create_environment(NewEnvironment {
            id: EnvironmentId::new(),
            user_id: UserId(owner.parse().unwrap()),
            name: EnvironmentName::parse("app").unwrap(),
            repository_url: None,
            branch: BranchName::parse("main").unwrap(),
            egress: craftastic_domain::EgressPolicy::Open,
            idle_stop: craftastic_domain::IdleStopMinutes::DEFAULT,
            size: craftastic_domain::EnvironmentSize::default(),
            now: Utc::now(),
        })
        .await
        .unwrap()
        .id
}

async fn deployments_in_flight_beyond_the_limit_are_429(backend: Backend) {
    const APP: &str = "ro04ok80o8oc4kkcco8kow8s";
    let fake = FakeCoolify::start().await;
    fake.add_app(FakeApp::new(APP, "main", STUCK));
    let s = TestServer::start_with(
        backend,
        ServerOptions {
            coolify: Some(fake.settings()),
            limits: LimitSettings {
                deployments_in_flight: 1,
                ..LimitSettings::DEFAULT
            },
            ..Default::default()
        },
    )
    .await;
    let ada = user(&s, "ada@example.com").await;
    let env = recorded_environment(&s, &ada.id).await;
    // Ada, the first account, is the admin who binds the application to her environment.
    let (status, body) = s
        .call(
            "PUT",
            &format!("/api/environments/{env}/deployment-bindings/{APP}"),
            Some(&ada.token),
            None,
        )
        .await;
    assert!(status == 200 || status == 201, "{status}: {body}");
    let deploy = || {
        s.call(
            "POST",
            "/api/deployment/deploy",
            Some(&ada.token),
            Some(json!({"environmentId": env, "appId": APP})),
        )
    };
    let (status, body) = deploy().await;
    assert_eq!(status, 202, "{body}");
    let (status, body) = deploy().await;
    assert_eq!(status, 429, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("you have 1 deployment in flight, the most allowed (MAX_DEPLOYMENTS_IN_FLIGHT_PER_USER: 1); wait until one has ended"),
        "{body}"
    );
    let (_, mine) = s
        .call("GET", "/api/auth/me/limits", Some(&ada.token), None)
        .await;
    assert_eq!(mine["usage"]["deploymentsInFlight"], 1);
}

async fn admins_list_users_with_usage_and_limit_routes_validate(backend: Backend) {
    let s = TestServer::start_with(
        backend,
        ServerOptions {
            sandbox_image: NO_IMAGE.into(),
            limits: LimitSettings::DEFAULT,
            ..Default::default()
        },
    )
    .await;
    let admin = user(&s, "admin@example.com").await;
    let bob = user(&s, "bob@example.com").await;
    let (status, _) = create_environment(&s, &bob.token, "one").await;
    assert_eq!(status, 201);
    let (status, list) = s
        .call("GET", "/api/admin/users", Some(&admin.token), None)
        .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["total"], 2);
    let users = list["users"].as_array().unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!(users[0]["email"], "admin@example.com");
    assert_eq!(users[0]["isAdmin"], true);
    assert_eq!(users[1]["email"], "bob@example.com");
    assert_eq!(users[1]["usage"]["environments"], 1);
    assert_eq!(users[1]["limits"]["environments"], 20);
    assert_eq!(users[1]["overrides"]["terminals"], Value::Null);
    assert!(users[1].get("passwordHash").is_none());
    let (status, page) = s
        .call(
            "GET",
            "/api/admin/users?offset=1&limit=1",
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(page["users"][0]["email"], "bob@example.com");
    for query in ["limit=0", "limit=501", "offset=-1", "limit=lots"] {
        let (status, body) = s
            .call(
                "GET",
                &format!("/api/admin/users?{query}"),
                Some(&admin.token),
                None,
            )
            .await;
        assert_eq!(status, 422, "{query}: {body}");
    }

    let path = format!("/api/admin/users/{}/limits", bob.id);
    for (body, field) in [
        (json!({"environments": -1}), Some("environments")),
        (json!({"terminals": 10_001}), Some("terminals")),
        (json!({"sessions": "many"}), None),
        (json!({"sessions": 1.5}), None),
        (json!({"gpus": 1}), None),
    ] {
        let (status, answer) = s
            .call("PUT", &path, Some(&admin.token), Some(body.clone()))
            .await;
        assert_eq!(status, 422, "{body}: {answer}");
        assert_eq!(answer["code"], "invalid_input");
        if let Some(field) = field {
            let message = answer["details"]["fields"][field].as_str().unwrap();
            assert!(message.contains("from 0 to 10000"), "{message}");
        }
    }
    let (status, both) = s
        .call(
            "PUT",
            &path,
            Some(&admin.token),
            Some(json!({"environments": -5, "runningWorkspaces": 20000})),
        )
        .await;
    assert_eq!(status, 422);
    assert!(
        both["details"]["fields"]["runningWorkspaces"].is_string(),
        "{both}"
    );
    let (_, unchanged) = s.call("GET", &path, Some(&admin.token), None).await;
    assert_eq!(unchanged["overrides"]["environments"], Value::Null);
    let (status, zero) = s
        .call(
            "PUT",
            &path,
            Some(&admin.token),
            Some(json!({"environments": 0})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(zero["limits"]["environments"], 0);

    let unknown = format!("/api/admin/users/{}/limits", uuid::Uuid::new_v4());
    assert_eq!(
        s.call("GET", &unknown, Some(&admin.token), None).await.0,
        404
    );
    assert_eq!(
        s.call("PUT", &unknown, Some(&admin.token), Some(json!({})))
            .await
            .0,
        404
    );
    let audit = s.db.store.list_audit(None, 20).await.unwrap();
    assert!(
        audit.iter().any(|e| e.action == "admin.set_limits"),
        "{audit:?}"
    );
}

async fn limit_routes_are_for_admins_only(backend: Backend) {
    let s = TestServer::start_with(
        backend,
        ServerOptions {
            limits: LimitSettings::DEFAULT,
            ..Default::default()
        },
    )
    .await;
    let admin = user(&s, "admin@example.com").await;
    let bob = user(&s, "bob@example.com").await;
    let path = format!("/api/admin/users/{}/limits", admin.id);
    for (method, path, body) in [
        ("GET", "/api/admin/users".to_owned(), None),
        ("GET", path.clone(), None),
        ("PUT", path.clone(), Some(json!({"environments": 100}))),
        (
            "PUT",
            format!("/api/admin/users/{}/limits", bob.id),
            Some(json!({"environments": 100})),
        ),
    ] {
        let (status, answer) = s.call(method, &path, Some(&bob.token), body).await;
        assert_eq!(status, 403, "{method} {path}: {answer}");
        assert_eq!(answer["code"], "admin_only");
    }
    let (status, _) = s.call("GET", "/api/admin/users", None, None).await;
    assert_eq!(status, 401);
    let (status, mine) = s
        .call("GET", "/api/auth/me/limits", Some(&bob.token), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(mine["limits"]["environments"], 20);
    assert_eq!(mine["usage"]["terminals"], 0);
}
