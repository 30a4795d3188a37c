//! An open terminal does not outlive its sign-in: against the real Docker engine and a real
//! WebSocket client, a terminal whose sign-in ends is closed within 5 seconds with the close
//! code 4401 and the reason "signed out".

use std::time::{Duration, Instant};

use craftastic_testkit::{Backend, ServerOptions, TestServer, docker_cli, on_both_backends};
use futures::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

on_both_backends!(
    an_open_terminal_closes_within_5_s_of_its_logout,
    deleting_a_user_closes_their_terminal_and_removes_their_containers,
);

const PASSWORD: &str = "correct horse battery";
/// What the issue allows between the end of a sign-in and its terminals closing.
const CLOSE_WITHIN: Duration = Duration::from_secs(5);

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Fixture {
    server: TestServer,
    _roots: tempfile::TempDir,
}

struct Signed {
    access: String,
    refresh: String,
    id: String,
}

impl Fixture {
    async fn new(backend: Backend) -> Self {
        let roots = tempfile::tempdir().unwrap();
        craftastic_testkit::fixture_repo(roots.path(), "app");
        let server = TestServer::start_with(
            backend,
            ServerOptions {
                local_roots: vec![roots.path().to_owned()],
                ..Default::default()
            },
        )
        .await;
        Self {
            server,
            _roots: roots,
        }
    }

    async fn register(&self, email: &str) -> Signed {
        let body = self.server.register(email, PASSWORD).await;
        Signed {
            access: body["accessToken"].as_str().unwrap().to_owned(),
            refresh: body["refreshToken"].as_str().unwrap().to_owned(),
            id: body["user"]["id"].as_str().unwrap().to_owned(),
        }
    }

    /// A running environment of `who` with one session; returns (environment, session).
    async fn session(&self, who: &Signed) -> (Value, Value) {
        let repo = self._roots.path().join("app").display().to_string();
        let env = self
            .server
            .made_environment(&who.access, "app", &repo)
            .await;
        assert_eq!(env["status"], "running", "{env}");
        let (status, session) = self
            .server
            .call(
                "POST",
                "/api/sessions",
                Some(&who.access),
                Some(json!({"environmentId": env["id"]})),
            )
            .await;
        assert_eq!(status, 201, "{session}");
        (env, session)
    }

    /// Opens the session's terminal with a single-use ticket, as the web UI does, and reads
    /// until the shell has drawn something.
    async fn open(&self, who: &Signed, session: &Value) -> Socket {
        let (status, ticket) = self
            .server
            .call(
                "POST",
                "/api/terminal/ticket",
                Some(&who.access),
                Some(json!({"sessionId": session["id"]})),
            )
            .await;
        assert_eq!(status, 200, "{ticket}");
        let url = format!(
            "{}?token={}",
            self.server
                .url(&format!(
                    "/api/terminal/ws/{}",
                    session["id"].as_str().unwrap()
                ))
                .replacen("http", "ws", 1),
            ticket["ticket"].as_str().unwrap()
        );
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        match tokio::time::timeout(Duration::from_secs(15), ws.next()).await {
            Ok(Some(Ok(Message::Text(_)))) => {}
            other => panic!("the terminal showed nothing: {other:?}"),
        }
        ws
    }
}

/// Reads until the server closes the socket; returns its close code and reason, the
/// messages before it, and when the close came.
async fn closed(ws: &mut Socket) -> (CloseCode, String, Vec<Value>, Instant) {
    let mut messages = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, ws.next()).await {
            Ok(Some(Ok(Message::Close(Some(frame))))) => {
                return (
                    frame.code,
                    frame.reason.to_string(),
                    messages,
                    Instant::now(),
                );
            }
            Ok(Some(Ok(Message::Text(t)))) => messages.push(serde_json::from_str(&t).unwrap()),
            Ok(Some(Ok(_))) => {}
            other => panic!("the socket ended without a close frame: {other:?}"),
        }
    }
}

async fn an_open_terminal_closes_within_5_s_of_its_logout(backend: Backend) {
    let f = Fixture::new(backend).await;
    let ada = f.register("ada@example.com").await;
    let (_, session) = f.session(&ada).await;
    let mut ws = f.open(&ada, &session).await;
    let (status, _) = f
        .server
        .call(
            "POST",
            "/api/auth/logout",
            Some(&ada.access),
            Some(json!({"refreshToken": ada.refresh})),
        )
        .await;
    assert_eq!(status, 204);
    let ended = Instant::now();
    let (code, reason, messages, at) = closed(&mut ws).await;
    assert_eq!(code, CloseCode::Library(4401));
    assert_eq!(reason, "signed out");
    assert!(
        at - ended < CLOSE_WITHIN,
        "closed {:?} after the logout",
        at - ended
    );
    assert!(
        messages.iter().any(|m| m["type"] == "error"
            && m["message"].as_str().unwrap().contains("sign-in has ended")),
        "{messages:?}"
    );
    let (status, _) = f
        .server
        .call(
            "GET",
            &format!("/api/sessions/{}", session["id"].as_str().unwrap()),
            Some(&ada.access),
            None,
        )
        .await;
    assert_eq!(status, 401);
}

async fn deleting_a_user_closes_their_terminal_and_removes_their_containers(backend: Backend) {
    let f = Fixture::new(backend).await;
    let admin = f.register("admin@example.com").await;
    let bob = f.register("bob@example.com").await;
    let (env, session) = f.session(&bob).await;
    let mut ws = f.open(&bob, &session).await;
    let label = format!("craftastic.environment={}", env["id"].as_str().unwrap());
    let containers = || docker_cli(&["ps", "-aq", "--filter", &format!("label={label}")]);
    assert!(!containers().trim().is_empty(), "bob's workspace runs");

    let (status, body) = f
        .server
        .call(
            "DELETE",
            &format!("/api/admin/users/{}", bob.id),
            Some(&admin.access),
            None,
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let deleted = Instant::now();
    let (code, reason, _, at) = closed(&mut ws).await;
    // The container went with the environment, which may end the terminal before the
    // sign-in check does; either way it is closed, and soon.
    assert!(
        code == CloseCode::Library(4401) || code == CloseCode::Error || code == CloseCode::Normal,
        "{code:?} {reason}"
    );
    assert!(
        at - deleted < CLOSE_WITHIN,
        "closed {:?} after",
        at - deleted
    );
    assert_eq!(containers().trim(), "", "bob's containers are gone");
    let (status, _) = f
        .server
        .call("GET", "/api/auth/me", Some(&bob.access), None)
        .await;
    assert_eq!(status, 401);
    assert_eq!(f.server.db.store.count_users().await.unwrap(), 1);
}
