//! Accounts over real HTTP against both stores: each story names the case it covers.

use std::time::{Duration, Instant};

use chrono::Utc;
use craftastic_domain::UserId;
use craftastic_service::tokens::{Principal, TokenKeys};
use craftastic_testkit::{Backend, JWT_SECRET, ServerOptions, TestServer, on_both_backends};
use serde_json::{Value, json};
use uuid::Uuid;

on_both_backends!(
    register_signs_in_and_first_user_is_admin,
    bad_registration_input_is_refused_and_changes_nothing,
    duplicate_email_is_409,
    wrong_password_and_unknown_email_are_the_same_401_in_about_the_same_time,
    bad_access_tokens_are_401,
    refresh_rotates_and_reuse_revokes_the_family,
    logout_ends_one_sign_in_and_logout_all_ends_every_one,
    change_password_keeps_this_sign_in_and_ends_the_others,
    registration_can_be_closed,
    repeated_failed_logins_are_429,
);

const PASSWORD: &str = "correct horse battery";

fn token(body: &Value, field: &str) -> String {
    body[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} missing in {body}"))
        .to_owned()
}

async fn user_count(s: &TestServer) -> i64 {
    s.db.store.count_users().await.unwrap()
}

async fn register_signs_in_and_first_user_is_admin(backend: Backend) {
    let s = TestServer::start(backend).await;
    let first = s.register("ada@example.com", PASSWORD).await;
    assert_eq!(first["user"]["isAdmin"], true);
    assert_eq!(first["user"]["email"], "ada@example.com");
    assert_eq!(first["expiresIn"], 900);
    assert!(first["user"].get("passwordHash").is_none());
    let second = s.register("Bob@Example.com", PASSWORD).await;
    assert_eq!(second["user"]["isAdmin"], false);
    assert_eq!(second["user"]["email"], "bob@example.com");

    let (status, me) = s
        .call(
            "GET",
            "/api/auth/me",
            Some(&token(&second, "accessToken")),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(me["email"], "bob@example.com");
    assert_eq!(me["name"], "Test User");
    assert_eq!(me["isAdmin"], false);

    let (status, body) = s
        .call(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({"email": "BOB@example.com", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["id"], second["user"]["id"]);
}

async fn bad_registration_input_is_refused_and_changes_nothing(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.register("first@example.com", PASSWORD).await;
    let raw = |body: &'static str, content_type: Option<&'static str>| {
        let mut req = s.http.post(s.url("/api/auth/register")).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        req
    };
    let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        (
            raw("{\"email\": ", Some("application/json")),
            400,
            "invalid_json",
        ),
        (
            raw(
                "{\"email\":\"a@b.co\",\"password\":\"0123456789\"}",
                Some("application/json"),
            ),
            422,
            "invalid_input",
        ),
        (
            raw(
                "{\"email\":1,\"password\":\"0123456789\",\"name\":\"x\"}",
                Some("application/json"),
            ),
            422,
            "invalid_input",
        ),
        (
            raw(
                "{\"email\":\"a@b.co\",\"password\":\"0123456789\",\"name\":\"x\"}",
                None,
            ),
            415,
            "unsupported_media_type",
        ),
        (raw("[]", Some("application/json")), 422, "invalid_input"),
    ];
    for (req, status, code) in cases {
        let res = req.send().await.unwrap();
        assert_eq!(res.status().as_u16(), status);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], code, "{body}");
        assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()));
    }
    for (body, field) in [
        (
            json!({"email": "no-at-sign", "password": PASSWORD, "name": "x"}),
            "email",
        ),
        (
            json!({"email": "a@b.co", "password": "short", "name": "x"}),
            "password",
        ),
        (
            json!({"email": "a@b.co", "password": PASSWORD, "name": "   "}),
            "name",
        ),
        (
            json!({"email": "a@b.co", "password": PASSWORD, "name": "n".repeat(101)}),
            "name",
        ),
    ] {
        let (status, answer) = s.call("POST", "/api/auth/register", None, Some(body)).await;
        assert_eq!(status, 422, "{answer}");
        assert_eq!(answer["code"], "invalid_input");
        assert!(answer["details"]["fields"][field].is_string(), "{answer}");
    }
    let huge = json!({"email": "a@b.co", "password": PASSWORD, "name": "n".repeat(1 << 20)});
    let (status, answer) = s.call("POST", "/api/auth/register", None, Some(huge)).await;
    assert_eq!(status, 413);
    assert_eq!(answer["code"], "payload_too_large");
    assert_eq!(user_count(&s).await, 1, "nothing was created");
}

async fn duplicate_email_is_409(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.register("ada@example.com", PASSWORD).await;
    let (status, body) = s
        .call(
            "POST",
            "/api/auth/register",
            None,
            Some(
                json!({"email": " ADA@example.com", "password": "another password", "name": "Eve"}),
            ),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(body["code"], "email_taken");
    let (status, _) = s
        .call(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({"email": "ada@example.com", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 200, "the first account's password still works");
    assert_eq!(user_count(&s).await, 1);
}

async fn wrong_password_and_unknown_email_are_the_same_401_in_about_the_same_time(
    backend: Backend,
) {
    let s = TestServer::start(backend).await;
    s.register("ada@example.com", PASSWORD).await;
    let attempt = |email: &'static str| {
        let s = &s;
        async move {
            let started = Instant::now();
            let (status, body) = s
                .call(
                    "POST",
                    "/api/auth/login",
                    None,
                    Some(json!({"email": email, "password": "wrong password"})),
                )
                .await;
            (status, body, started.elapsed())
        }
    };
    // Warm up (the dummy hash is computed on first use).
    attempt("nobody@example.com").await;
    let mut wrong = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..6 {
        let (st1, b1, t1) = attempt("ada@example.com").await;
        let (st2, b2, t2) = attempt("nobody@example.com").await;
        assert_eq!((st1, st2), (401, 401));
        assert_eq!(b1, b2, "the answers must not tell the cases apart");
        wrong.push(t1);
        unknown.push(t2);
    }
    // The fastest of each is the least disturbed by other tests sharing the CPU.
    let w = wrong.iter().min().unwrap().as_secs_f64();
    let u = unknown.iter().min().unwrap().as_secs_f64();
    assert!(
        w / u < 2.0 && u / w < 2.0,
        "times differ too much: wrong password {w:.3}s, unknown email {u:.3}s"
    );
}

async fn bad_access_tokens_are_401(backend: Backend) {
    let s = TestServer::start(backend).await;
    let body = s.register("ada@example.com", PASSWORD).await;
    let user_id: Uuid = body["user"]["id"].as_str().unwrap().parse().unwrap();
    let who = Principal {
        user_id: UserId(user_id),
        family_id: Uuid::new_v4(),
    };
    let expired = TokenKeys::new(JWT_SECRET)
        .issue(who, Utc::now() - chrono::Duration::hours(2), 60)
        .unwrap();
    let forged = TokenKeys::new(b"not the server's secret, but long")
        .issue(who, Utc::now(), 600)
        .unwrap();
    let unsigned = {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = b64.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let claims = b64.encode(
            json!({"sub": user_id, "sid": Uuid::new_v4(), "iss": "craftastic", "aud": "craftastic-api", "iat": 0, "exp": 4_000_000_000u64})
                .to_string(),
        );
        format!("{header}.{claims}.")
    };
    for (token, code) in [
        (expired.as_str(), "token_expired"),
        (forged.as_str(), "invalid_token"),
        (unsigned.as_str(), "invalid_token"),
        ("garbage", "invalid_token"),
    ] {
        let (status, answer) = s.call("GET", "/api/auth/me", Some(token), None).await;
        assert_eq!(status, 401, "{token}");
        assert_eq!(answer["code"], code);
    }
    let res = s.http.get(s.url("/api/auth/me")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    let res = s
        .http
        .get(s.url("/api/auth/me"))
        .header("authorization", "Basic YTpi")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

async fn refresh_rotates_and_reuse_revokes_the_family(backend: Backend) {
    let s = TestServer::start(backend).await;
    let signed_in = s.register("ada@example.com", PASSWORD).await;
    let r1 = token(&signed_in, "refreshToken");
    let (status, pair) = s
        .call(
            "POST",
            "/api/auth/refresh",
            None,
            Some(json!({"refreshToken": r1})),
        )
        .await;
    assert_eq!(status, 200, "{pair}");
    let r2 = token(&pair, "refreshToken");
    assert_ne!(r1, r2);
    let (status, _) = s
        .call(
            "GET",
            "/api/auth/me",
            Some(&token(&pair, "accessToken")),
            None,
        )
        .await;
    assert_eq!(status, 200);

    let (status, answer) = s
        .call(
            "POST",
            "/api/auth/refresh",
            None,
            Some(json!({"refreshToken": r1})),
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(answer["code"], "refresh_token_reused");
    let (status, answer) = s
        .call(
            "POST",
            "/api/auth/refresh",
            None,
            Some(json!({"refreshToken": r2})),
        )
        .await;
    assert_eq!(
        status, 401,
        "the family is revoked, so the newest token died too: {answer}"
    );

    let (status, answer) = s
        .call(
            "POST",
            "/api/auth/refresh",
            None,
            Some(json!({"refreshToken": "made-up"})),
        )
        .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (401, Some("invalid_refresh_token"))
    );
    let audit = s.db.store.list_audit(None, 50).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "auth.refresh" && e.outcome == "reuse_detected")
    );
}

async fn logout_ends_one_sign_in_and_logout_all_ends_every_one(backend: Backend) {
    let s = TestServer::start(backend).await;
    let a = s.register("ada@example.com", PASSWORD).await;
    let login = || {
        s.call(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({"email": "ada@example.com", "password": PASSWORD})),
        )
    };
    let b = login().await.1;
    let c = login().await.1;
    let access = token(&a, "accessToken");
    let (status, _) = s
        .call(
            "POST",
            "/api/auth/logout",
            Some(&access),
            Some(json!({"refreshToken": token(&a, "refreshToken")})),
        )
        .await;
    assert_eq!(status, 204);
    let refresh = |t: String| {
        s.call(
            "POST",
            "/api/auth/refresh",
            None,
            Some(json!({"refreshToken": t})),
        )
    };
    assert_eq!(refresh(token(&a, "refreshToken")).await.0, 401);
    let (status, b2) = refresh(token(&b, "refreshToken")).await;
    assert_eq!(status, 200, "another sign-in is untouched");

    let (status, _) = s
        .call(
            "POST",
            "/api/auth/logout",
            None,
            Some(json!({"refreshToken": token(&c, "refreshToken")})),
        )
        .await;
    assert_eq!(status, 401, "logout needs an access token");

    // The ended sign-in's access token cannot do it any more; a live one can.
    let (status, _) = s
        .call("POST", "/api/auth/logout-all", Some(&access), None)
        .await;
    assert_eq!(status, 401);
    let (status, _) = s
        .call(
            "POST",
            "/api/auth/logout-all",
            Some(&token(&b2, "accessToken")),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(refresh(token(&b2, "refreshToken")).await.0, 401);
    assert_eq!(refresh(token(&c, "refreshToken")).await.0, 401);
}

async fn change_password_keeps_this_sign_in_and_ends_the_others(backend: Backend) {
    let s = TestServer::start(backend).await;
    let mine = s.register("ada@example.com", PASSWORD).await;
    let (_, other) = s
        .call(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({"email": "ada@example.com", "password": PASSWORD})),
        )
        .await;
    let access = token(&mine, "accessToken");
    let change = |current: &str, new: &str| {
        s.call(
            "POST",
            "/api/auth/change-password",
            Some(&access),
            Some(json!({"currentPassword": current, "newPassword": new})),
        )
    };
    let (status, body) = change("wrong password", "a new password!").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_credentials"))
    );
    let (status, body) = change(PASSWORD, "short").await;
    assert_eq!(status, 422);
    assert!(body["details"]["fields"]["newPassword"].is_string());
    assert_eq!(change(PASSWORD, "a new password!").await.0, 204);

    let login = |p: &str| {
        s.call(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({"email": "ada@example.com", "password": p})),
        )
    };
    assert_eq!(login(PASSWORD).await.0, 401);
    assert_eq!(login("a new password!").await.0, 200);
    let refresh = |t: String| {
        s.call(
            "POST",
            "/api/auth/refresh",
            None,
            Some(json!({"refreshToken": t})),
        )
    };
    assert_eq!(
        refresh(token(&mine, "refreshToken")).await.0,
        200,
        "this sign-in stays"
    );
    assert_eq!(
        refresh(token(&other, "refreshToken")).await.0,
        401,
        "the other one ended"
    );
}

async fn registration_can_be_closed(backend: Backend) {
    let s = TestServer::start_with(
        backend,
        ServerOptions {
            allow_registration: false,
            ..Default::default()
        },
    )
    .await;
    let (status, body) = s
        .call(
            "POST",
            "/api/auth/register",
            None,
            Some(json!({"email": "a@b.co", "password": PASSWORD, "name": "A"})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("registration_closed"))
    );
    assert_eq!(user_count(&s).await, 0);
}

async fn repeated_failed_logins_are_429(backend: Backend) {
    let s = TestServer::start_with(
        backend,
        ServerOptions {
            access_ttl: Duration::from_secs(60),
            ..Default::default()
        },
    )
    .await;
    s.register("ada@example.com", PASSWORD).await;
    for _ in 0..10 {
        let (status, _) = s
            .call(
                "POST",
                "/api/auth/login",
                None,
                Some(json!({"email": "ada@example.com", "password": "wrong password"})),
            )
            .await;
        assert_eq!(status, 401);
    }
    let res = s
        .http
        .post(s.url("/api/auth/login"))
        .json(&json!({"email": "ada@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    let (status, _) = s
        .call(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({"email": "other@example.com", "password": "wrong password"})),
        )
        .await;
    assert_eq!(status, 401, "other emails are not affected");
}
