//! Notifications against real Docker and tmux, with a local HTTP server as the webhook:
//! settings that never give the URL back and keep it sealed, a fake Claude Code asking for
//! permission notifies once (webhook and event stream), not again within the minute, and
//! never for a session whose terminal is open; the test route tells a broken webhook.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use craftastic_testkit::activity::{Events, WAIT, fake_hooks_image};
use craftastic_testkit::{Backend, ServerOptions, TestServer, docker_cli, fixture_repo};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const PASSWORD: &str = "correct horse battery";

/// A webhook on 127.0.0.1 that keeps what it is sent and answers `status`.
async fn webhook(status: StatusCode) -> (String, Arc<Mutex<Vec<Value>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let keep = got.clone();
    let app = Router::new().route(
        "/hook",
        post(move |body: axum::Json<Value>| {
            let keep = keep.clone();
            async move {
                keep.lock().unwrap().push(body.0);
                status
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (
        format!(
            "http://{addr}/hook?token=s3cret-{}",
            uuid::Uuid::new_v4().simple()
        ),
        got,
    )
}

async fn token(server: &TestServer, email: &str) -> String {
    server.register(email, PASSWORD).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn settings_keep_the_webhook_sealed_and_never_show_it() {
    let server = TestServer::start(Backend::Sqlite).await;
    let ada = token(&server, "ada@example.com").await;
    let bob = token(&server, "bob@example.com").await;
    let path = "/api/notifications/settings";
    let (code, got) = server.call("GET", path, Some(&ada), None).await;
    assert_eq!(
        (code, got.clone()),
        (200, json!({"browser": false, "webhook": false}))
    );

    for (bad, says) in [
        (json!({"webhookUrl": "ftp://x.example"}), "https://"),
        (json!({"webhookUrl": ""}), "empty"),
        (json!({"webhookUrl": "https://"}), "no host"),
    ] {
        let (code, body) = server.call("PUT", path, Some(&ada), Some(bad)).await;
        assert_eq!(code, 422, "{body}");
        assert!(body.to_string().contains(says), "{body}");
    }
    let (code, body) = server
        .call("PUT", path, Some(&ada), Some(json!({"browser": "yes"})))
        .await;
    assert_eq!(code, 422, "{body}");

    let (url, _) = webhook(StatusCode::OK).await;
    let (code, got) = server
        .call(
            "PUT",
            path,
            Some(&ada),
            Some(json!({"browser": true, "webhookUrl": url})),
        )
        .await;
    assert_eq!(
        (code, got.clone()),
        (200, json!({"browser": true, "webhook": true}))
    );
    let (_, got) = server.call("GET", path, Some(&ada), None).await;
    assert!(!got.to_string().contains("s3cret"), "{got}");
    // Sealed at rest.
    let users = server.db.store.list_users_with_usage(0, 10).await.unwrap();
    let ada_id = users
        .iter()
        .find(|u| u.user.email.as_str() == "ada@example.com")
        .unwrap()
        .user
        .id;
    let row = server
        .db
        .store
        .get_notification_settings(ada_id)
        .await
        .unwrap();
    let sealed = row.webhook_sealed.expect("a sealed webhook");
    assert!(
        !sealed.contains("s3cret") && !sealed.contains("127.0.0.1"),
        "{sealed}"
    );

    // Each user has their own.
    let (_, theirs) = server.call("GET", path, Some(&bob), None).await;
    assert_eq!(theirs, json!({"browser": false, "webhook": false}));
    let (code, body) = server
        .call("POST", "/api/notifications/test", Some(&bob), None)
        .await;
    assert_eq!(code, 409, "{body}");
    assert_eq!(body["code"], "webhook_not_set");

    // Browser left as it was; webhook removed.
    let (_, got) = server
        .call("PUT", path, Some(&ada), Some(json!({"webhookUrl": null})))
        .await;
    assert_eq!(got, json!({"browser": true, "webhook": false}));
}

#[tokio::test]
async fn the_test_route_reaches_the_webhook_and_tells_when_it_fails() {
    let server = TestServer::start(Backend::Sqlite).await;
    let ada = token(&server, "ada@example.com").await;
    let path = "/api/notifications/settings";
    let (url, got) = webhook(StatusCode::OK).await;
    server
        .call("PUT", path, Some(&ada), Some(json!({"webhookUrl": url})))
        .await;
    let (code, body) = server
        .call("POST", "/api/notifications/test", Some(&ada), None)
        .await;
    assert_eq!(code, 204, "{body}");
    let sent = got.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0]["text"].as_str().unwrap().contains("Craftastic"),
        "{sent:?}"
    );

    let (url, _) = webhook(StatusCode::INTERNAL_SERVER_ERROR).await;
    server
        .call("PUT", path, Some(&ada), Some(json!({"webhookUrl": url})))
        .await;
    let (code, body) = server
        .call("POST", "/api/notifications/test", Some(&ada), None)
        .await;
    assert_eq!(code, 502, "{body}");
    assert!(body["error"].as_str().unwrap().contains("500"), "{body}");
    assert!(!body.to_string().contains("s3cret"), "{body}");
}

#[tokio::test]
async fn an_agent_asking_for_permission_notifies_once_and_not_while_watched() {
    let roots = tempfile::tempdir().unwrap();
    let repo = fixture_repo(roots.path(), "app").display().to_string();
    let server = TestServer::start_with(
        Backend::Sqlite,
        ServerOptions {
            local_roots: vec![roots.path().to_owned()],
            sandbox_image: fake_hooks_image().to_owned(),
            ..Default::default()
        },
    )
    .await;
    let ada = token(&server, "ada@example.com").await;
    let (url, got) = webhook(StatusCode::OK).await;
    server
        .call(
            "PUT",
            "/api/notifications/settings",
            Some(&ada),
            Some(json!({"browser": true, "webhookUrl": url})),
        )
        .await;
    let env = server.made_environment(&ada, "app", &repo).await;
    let env_id = env["id"].as_str().unwrap().to_owned();
    let container = server.container_of(&ada, &env_id, "main").await;
    let (_, agent) = server
        .call(
            "POST",
            "/api/agents",
            Some(&ada),
            Some(json!({"name": "claude", "type": "claude-code",
                        "credential": {"type": "api-key", "value": "sk-test"}})),
        )
        .await;
    let mut events = Events::open(&server, &ada).await;
    let session = |name: &'static str| {
        let (server, ada, env_id, agent) = (&server, &ada, env_id.clone(), agent["id"].clone());
        async move {
            let (code, s) = server
                .call(
                    "POST",
                    "/api/sessions",
                    Some(ada),
                    Some(json!({"environmentId": env_id, "name": name,
                                "sessionType": "agent", "agentId": agent})),
                )
                .await;
            assert_eq!(code, 201, "{s}");
            s
        }
    };
    let cue = |s: &Value, text: &str| {
        let target = format!("={}:", s["tmuxSessionName"].as_str().unwrap());
        docker_cli(&[
            "exec",
            &container,
            "tmux",
            "send-keys",
            "-t",
            &target,
            text,
            "Enter",
        ]);
    };

    let first = session("first").await;
    let first_id = first["id"].as_str().unwrap().to_owned();
    events.activity(&first_id, "idle", WAIT).await;
    cue(&first, "permission");
    events
        .wait("notification", |d| {
            d["sessionId"] == first_id.as_str() && d["state"] == "permission"
        })
        .await;
    let sent = wait_for(&got, 1).await;
    assert_eq!(sent[0]["sessionId"], first_id.as_str());
    assert_eq!(sent[0]["state"], "permission");
    assert_eq!(
        sent[0]["detail"],
        "Claude needs your permission to use Bash"
    );
    assert!(
        sent[0]["text"].as_str().unwrap().contains("first in app"),
        "{sent:?}"
    );

    // Again within the minute: no second notification.
    cue(&first, "stop");
    events.activity(&first_id, "idle", WAIT).await;
    cue(&first, "permission");
    events.activity(&first_id, "permission", WAIT).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        got.lock().unwrap().len(),
        1,
        "a second notification within the minute"
    );

    // A session whose terminal is open is being looked at.
    let second = session("second").await;
    let second_id = second["id"].as_str().unwrap().to_owned();
    events.activity(&second_id, "idle", WAIT).await;
    let ws = format!(
        "{}?token={ada}&cols=100&rows=30",
        server
            .url(&format!("/api/terminal/ws/{second_id}"))
            .replacen("http", "ws", 1)
    );
    let (_viewer, _) = tokio_tungstenite::connect_async(ws.into_client_request().unwrap())
        .await
        .unwrap();
    cue(&second, "permission");
    events.activity(&second_id, "permission", WAIT).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        got.lock().unwrap().len(),
        1,
        "a notification for a watched session"
    );
}

/// Waits until the webhook got `n` notifications.
async fn wait_for(got: &Arc<Mutex<Vec<Value>>>, n: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let sent = got.lock().unwrap().clone();
        if sent.len() >= n {
            return sent;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the webhook got {sent:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
