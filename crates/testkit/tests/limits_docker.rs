//! Per-user limits of things that run, against the real Docker engine: running workspaces,
//! sessions and open terminals stop at their limits with a 429 that names the limit, and
//! free up again when something stops or closes.

use std::time::{Duration, Instant};

use craftastic_service::limits::LimitSettings;
use craftastic_testkit::{Backend, ServerOptions, TestServer, fixture_repo, on_both_backends};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{self, Message};

on_both_backends!(running_workspaces_sessions_and_terminals_stop_at_their_limits);

const PASSWORD: &str = "correct horse battery";

async fn post(s: &TestServer, token: &str, path: &str, body: Value) -> (u16, Value) {
    s.call("POST", path, Some(token), Some(body)).await
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A terminal handshake: 101 and the socket, or the refusal's status and body.
async fn open_terminal(s: &TestServer, token: &str, session: &str) -> (u16, Result<Socket, Value>) {
    let url = format!(
        "{}?token={token}",
        s.url(&format!("/api/terminal/ws/{session}"))
            .replacen("http", "ws", 1)
    );
    match tokio_tungstenite::connect_async(url).await {
        Ok((ws, response)) => (response.status().as_u16(), Ok(ws)),
        Err(tungstenite::Error::Http(response)) => {
            let body = response
                .body()
                .as_deref()
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or(Value::Null);
            (response.status().as_u16(), Err(body))
        }
        Err(e) => panic!("handshake failed without an answer: {e}"),
    }
}

fn assert_limit(status: u16, body: &Value, setting: &str, start: &str) {
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["code"], "limit_reached", "{body}");
    assert_eq!(body["details"]["setting"], setting, "{body}");
    assert!(body["error"].as_str().unwrap().starts_with(start), "{body}");
}

async fn running_workspaces_sessions_and_terminals_stop_at_their_limits(backend: Backend) {
    let roots = tempfile::tempdir().unwrap();
    let repo = fixture_repo(roots.path(), "app").display().to_string();
    let s = TestServer::start_with(
        backend,
        ServerOptions {
            local_roots: vec![roots.path().to_owned()],
            limits: LimitSettings {
                running_workspaces: 1,
                sessions: 2,
                terminals: 1,
                ..LimitSettings::DEFAULT
            },
            ..Default::default()
        },
    )
    .await;
    let token = s.register("ada@example.com", PASSWORD).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let env = s.made_environment(&token, "app", &repo).await;
    assert_eq!(env["status"], "running", "{env}");
    let env_id = env["id"].as_str().unwrap().to_owned();

    // Running workspaces: the environment's own branch is the one allowed.
    let (status, body) = post(
        &s,
        &token,
        "/api/environments",
        json!({"name": "second", "repositoryUrl": repo}),
    )
    .await;
    assert_limit(
        status,
        &body,
        "MAX_RUNNING_WORKSPACES_PER_USER",
        "you have 1 running workspace, the most allowed (MAX_RUNNING_WORKSPACES_PER_USER: 1)",
    );
    let (status, body) = post(
        &s,
        &token,
        "/api/sessions",
        json!({"environmentId": env_id, "branch": "feature"}),
    )
    .await;
    assert_limit(
        status,
        &body,
        "MAX_RUNNING_WORKSPACES_PER_USER",
        "you have 1 running workspace",
    );

    // Sessions.
    let mut sessions = Vec::new();
    for _ in 0..2 {
        let (status, session) = post(
            &s,
            &token,
            "/api/sessions",
            json!({"environmentId": env_id}),
        )
        .await;
        assert_eq!(status, 201, "{session}");
        sessions.push(session["id"].as_str().unwrap().to_owned());
    }
    let (status, body) = post(
        &s,
        &token,
        "/api/sessions",
        json!({"environmentId": env_id}),
    )
    .await;
    assert_limit(
        status,
        &body,
        "MAX_SESSIONS_PER_USER",
        "you have 2 sessions, the most allowed (MAX_SESSIONS_PER_USER: 2); delete one",
    );

    // Terminals: one open, the second refused before the handshake, free again once the
    // first has closed.
    let (status, first) = open_terminal(&s, &token, &sessions[0]).await;
    assert_eq!(status, 101);
    let mut first = first.unwrap();
    let (_, mine) = s
        .call("GET", "/api/auth/me/limits", Some(&token), None)
        .await;
    assert_eq!(mine["usage"]["terminals"], 1);
    assert_eq!(mine["usage"]["sessions"], 2);
    assert_eq!(mine["usage"]["runningWorkspaces"], 1);
    let (status, refused) = open_terminal(&s, &token, &sessions[1]).await;
    assert_limit(
        status,
        &refused.err().unwrap(),
        "MAX_TERMINALS_PER_USER",
        "you have 1 open terminal",
    );
    first.send(Message::Close(None)).await.unwrap();
    while let Some(Ok(_)) = first.next().await {}
    let started = Instant::now();
    loop {
        let (status, ws) = open_terminal(&s, &token, &sessions[1]).await;
        if status == 101 {
            drop(ws);
            break;
        }
        assert_eq!(status, 429);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the closed terminal still counted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Stopping the environment frees its workspace for another one.
    let (status, body) = post(
        &s,
        &token,
        &format!("/api/environments/{env_id}/stop"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let second = s.made_environment(&token, "second", &repo).await;
    assert_eq!(second["status"], "running", "{second}");
}
