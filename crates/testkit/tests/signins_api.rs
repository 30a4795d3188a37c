//! Sign-ins end for real: once a sign-in has ended (logout, logout-all, a new password, a
//! reused refresh token, the account deleted), its access tokens answer 401 on the very
//! next request, over real HTTP against both stores.

use std::time::{Duration, Instant};

use craftastic_testkit::{Backend, TestServer, on_both_backends};
use serde_json::{Value, json};

on_both_backends!(
    an_access_token_works_until_its_logout_then_is_401_at_once,
    logout_all_ends_every_access_token_of_the_user_only,
    change_password_ends_the_other_access_tokens_and_keeps_this_one,
    a_reused_refresh_token_ends_the_access_tokens_of_its_family,
    a_deleted_users_access_token_is_401_at_once,
    deleting_users_is_for_admins_and_never_ones_own_account,
    a_sign_in_ended_behind_the_servers_back_stops_within_seconds,
    a_ticket_of_an_ended_sign_in_opens_nothing,
);

const PASSWORD: &str = "correct horse battery";

fn field(body: &Value, name: &str) -> String {
    body[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} missing in {body}"))
        .to_owned()
}

/// Signs in again as `email`; returns the answer body.
async fn login(s: &TestServer, email: &str, password: &str) -> Value {
    let (status, body) = s
        .call(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({"email": email, "password": password})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn me(s: &TestServer, token: &str) -> (u16, Value) {
    s.call("GET", "/api/auth/me", Some(token), None).await
}

async fn an_access_token_works_until_its_logout_then_is_401_at_once(backend: Backend) {
    let s = TestServer::start(backend).await;
    let first = s.register("ada@example.com", PASSWORD).await;
    let second = login(&s, "ada@example.com", PASSWORD).await;
    let (access, other) = (field(&first, "accessToken"), field(&second, "accessToken"));
    assert_eq!(me(&s, &access).await.0, 200);
    assert_eq!(me(&s, &access).await.0, 200, "answered from memory too");

    let (status, _) = s
        .call(
            "POST",
            "/api/auth/logout",
            Some(&access),
            Some(json!({"refreshToken": field(&first, "refreshToken")})),
        )
        .await;
    assert_eq!(status, 204);
    let (status, body) = me(&s, &access).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("signed_out")));
    assert!(
        body["error"].as_str().unwrap().contains("sign in again"),
        "{body}"
    );
    let (status, _) = s
        .call("GET", "/api/environments", Some(&access), None)
        .await;
    assert_eq!(status, 401, "every route, not only /me");
    let (status, _) = s
        .call(
            "POST",
            "/api/auth/refresh",
            None,
            Some(json!({"refreshToken": field(&first, "refreshToken")})),
        )
        .await;
    assert_eq!(status, 401, "its refresh token is over too");
    assert_eq!(me(&s, &other).await.0, 200, "the other sign-in goes on");
}

async fn logout_all_ends_every_access_token_of_the_user_only(backend: Backend) {
    let s = TestServer::start(backend).await;
    let ada = s.register("ada@example.com", PASSWORD).await;
    let bob = s.register("bob@example.com", PASSWORD).await;
    let ada_again = login(&s, "ada@example.com", PASSWORD).await;
    for body in [&ada, &ada_again, &bob] {
        assert_eq!(me(&s, &field(body, "accessToken")).await.0, 200);
    }
    let (status, _) = s
        .call(
            "POST",
            "/api/auth/logout-all",
            Some(&field(&ada_again, "accessToken")),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(me(&s, &field(&ada, "accessToken")).await.0, 401);
    assert_eq!(me(&s, &field(&ada_again, "accessToken")).await.0, 401);
    assert_eq!(me(&s, &field(&bob, "accessToken")).await.0, 200);
}

async fn change_password_ends_the_other_access_tokens_and_keeps_this_one(backend: Backend) {
    let s = TestServer::start(backend).await;
    let here = s.register("ada@example.com", PASSWORD).await;
    let elsewhere = login(&s, "ada@example.com", PASSWORD).await;
    assert_eq!(me(&s, &field(&elsewhere, "accessToken")).await.0, 200);
    let (status, body) = s
        .call(
            "POST",
            "/api/auth/change-password",
            Some(&field(&here, "accessToken")),
            Some(json!({"currentPassword": PASSWORD, "newPassword": "a new password here"})),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(me(&s, &field(&elsewhere, "accessToken")).await.0, 401);
    assert_eq!(me(&s, &field(&here, "accessToken")).await.0, 200);
}

async fn a_reused_refresh_token_ends_the_access_tokens_of_its_family(backend: Backend) {
    let s = TestServer::start(backend).await;
    let first = s.register("ada@example.com", PASSWORD).await;
    let refresh = |token: String| {
        let s = &s;
        async move {
            s.call(
                "POST",
                "/api/auth/refresh",
                None,
                Some(json!({"refreshToken": token})),
            )
            .await
        }
    };
    let (status, rotated) = refresh(field(&first, "refreshToken")).await;
    assert_eq!(status, 200);
    assert_eq!(me(&s, &field(&rotated, "accessToken")).await.0, 200);
    // Someone replays the first refresh token: the whole family ends.
    assert_eq!(refresh(field(&first, "refreshToken")).await.0, 401);
    assert_eq!(me(&s, &field(&rotated, "accessToken")).await.0, 401);
    assert_eq!(me(&s, &field(&first, "accessToken")).await.0, 401);
}

async fn a_deleted_users_access_token_is_401_at_once(backend: Backend) {
    let s = TestServer::start(backend).await;
    let admin = s.register("admin@example.com", PASSWORD).await;
    let bob = s.register("bob@example.com", PASSWORD).await;
    let bob_token = field(&bob, "accessToken");
    assert_eq!(me(&s, &bob_token).await.0, 200);
    let bob_id = field(&bob["user"], "id");
    let (status, body) = s
        .call(
            "DELETE",
            &format!("/api/admin/users/{bob_id}"),
            Some(&field(&admin, "accessToken")),
            None,
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = me(&s, &bob_token).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("signed_out")));
    let (status, _) = s
        .call(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({"email": "bob@example.com", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 401, "the account is gone");
    assert_eq!(s.db.store.count_users().await.unwrap(), 1);
}

async fn deleting_users_is_for_admins_and_never_ones_own_account(backend: Backend) {
    let s = TestServer::start(backend).await;
    let admin = s.register("admin@example.com", PASSWORD).await;
    let bob = s.register("bob@example.com", PASSWORD).await;
    let (admin_token, bob_token) = (field(&admin, "accessToken"), field(&bob, "accessToken"));
    let (admin_id, bob_id) = (field(&admin["user"], "id"), field(&bob["user"], "id"));
    let delete = |token: String, id: String| {
        let s = &s;
        async move {
            s.call(
                "DELETE",
                &format!("/api/admin/users/{id}"),
                Some(&token),
                None,
            )
            .await
        }
    };
    let (status, body) = delete(bob_token.clone(), admin_id.clone()).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("admin_only")));
    let (status, body) = delete(admin_token.clone(), admin_id.clone()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("cannot_delete_self"))
    );
    let (status, _) = delete(admin_token.clone(), uuid::Uuid::new_v4().to_string()).await;
    assert_eq!(status, 404);
    let (status, _) = delete(admin_token.clone(), "not-a-uuid".into()).await;
    assert_eq!(status, 404);
    assert_eq!(me(&s, &bob_token).await.0, 200, "nothing happened to bob");
    assert_eq!(delete(admin_token.clone(), bob_id.clone()).await.0, 204);
    assert_eq!(delete(admin_token, bob_id).await.0, 404);
    let audit = s.db.store.list_audit(None, 10).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "admin.delete_user" && e.outcome == "ok"),
        "{audit:?}"
    );
}

async fn a_sign_in_ended_behind_the_servers_back_stops_within_seconds(backend: Backend) {
    let s = TestServer::start(backend).await;
    let ada = s.register("ada@example.com", PASSWORD).await;
    let token = field(&ada, "accessToken");
    assert_eq!(me(&s, &token).await.0, 200);
    // As another server, or an operator in the database, would end it: this server is not
    // told, so it learns when its memory of the sign-in (at most 2 s old) runs out.
    let user = field(&ada["user"], "id").parse().unwrap();
    s.db.store
        .revoke_user_refresh_tokens(craftastic_domain::UserId(user), None)
        .await
        .unwrap();
    let ended = Instant::now();
    loop {
        let (status, _) = me(&s, &token).await;
        if status == 401 {
            break;
        }
        assert_eq!(status, 200);
        assert!(
            ended.elapsed() < Duration::from_secs(3),
            "the token still worked 3 s after its sign-in ended"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn a_ticket_of_an_ended_sign_in_opens_nothing(backend: Backend) {
    let s = TestServer::start(backend).await;
    let ada = s.register("ada@example.com", PASSWORD).await;
    let token = field(&ada, "accessToken");
    let user = craftastic_domain::UserId(field(&ada["user"], "id").parse().unwrap());
    // A session recorded directly: the ticket is refused before any container is needed.
    let env =
        s.db.store
            .create_environment(craftastic_store::NewEnvironment {
                id: craftastic_domain::EnvironmentId::new(),
                user_id: user,
                name: craftastic_domain::EnvironmentName::parse("app").unwrap(),
                repository_url: None,
                branch: craftastic_domain::BranchName::parse("main").unwrap(),
                egress: craftastic_domain::EgressPolicy::Open,
                idle_stop: craftastic_domain::IdleStopMinutes::DEFAULT,
                size: craftastic_domain::EnvironmentSize::default(),
                now: chrono::Utc::now(),
            })
            .await
            .unwrap();
    let workspace =
        s.db.store
            .create_workspace(env.id, &env.branch, craftastic_domain::WorkspaceId::new())
            .await
            .unwrap();
    let session_id = craftastic_domain::SessionId::new();
    s.db.store
        .create_session(craftastic_store::NewSession {
            id: session_id,
            environment_id: env.id,
            workspace_id: workspace.id,
            name: craftastic_domain::SessionName::parse("main").unwrap(),
            tmux_session_name: format!("cs-{}", session_id.0.simple()),
            working_directory: craftastic_domain::WorkingDirectory::root(),
            session_type: craftastic_store::SessionType::Terminal,
            agent_id: None,
            git_branch: env.branch.clone(),
            now: chrono::Utc::now(),
        })
        .await
        .unwrap();
    let (status, body) = s
        .call(
            "POST",
            "/api/terminal/ticket",
            Some(&token),
            Some(json!({"sessionId": session_id})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let ticket = field(&body, "ticket");
    let (status, _) = s
        .call("POST", "/api/auth/logout-all", Some(&token), None)
        .await;
    assert_eq!(status, 204);
    // The token is checked before the handshake, so a plain request shows the answer.
    let res = s
        .http
        .get(s.url(&format!("/api/terminal/ws/{session_id}?token={ticket}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "signed_out", "{body}");
}
