//! Closing many browser terminals at once ends all their tmux clients promptly, against the
//! real Docker engine, tmux and WebSocket.

use std::time::{Duration, Instant};

use craftastic_testkit::{Backend, ServerOptions, TestServer, docker_cli, fixture_repo};
use futures::StreamExt;
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";
const TERMINALS: usize = 20;
const SESSIONS: usize = 4;
/// How long the tmux clients of closed terminals may outlive their sockets.
const GONE_WITHIN: Duration = Duration::from_secs(5);

/// The tmux clients attached in the container, as `tmux list-clients` counts them.
fn tmux_clients(container: &str) -> usize {
    docker_cli(&[
        "exec",
        container,
        "tmux",
        "list-clients",
        "-F",
        "#{client_pid}",
    ])
    .lines()
    .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_20_terminals_ends_every_tmux_client_within_5_s() {
    let roots = tempfile::tempdir().unwrap();
    let repo = fixture_repo(roots.path(), "app");
    let server = TestServer::start_with(
        Backend::Sqlite,
        ServerOptions {
            local_roots: vec![roots.path().to_owned()],
            ..Default::default()
        },
    )
    .await;
    let token = server.register("ada@example.com", PASSWORD).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let env = server
        .made_environment(&token, "app", &repo.display().to_string())
        .await;
    assert_eq!(env["status"], "running", "{env}");
    let env_id = env["id"].as_str().unwrap();
    let container = server.container_of(&token, env_id, "main").await;
    let mut sessions = Vec::new();
    for _ in 0..SESSIONS {
        let (status, session): (u16, Value) = server
            .call(
                "POST",
                "/api/sessions",
                Some(&token),
                Some(json!({"environmentId": env_id})),
            )
            .await;
        assert_eq!(status, 201, "{session}");
        sessions.push(session["id"].as_str().unwrap().to_owned());
    }

    let mut sockets = Vec::new();
    for i in 0..TERMINALS {
        let url = format!(
            "{}?token={token}&cols=100&rows=30",
            server
                .url(&format!("/api/terminal/ws/{}", sessions[i % SESSIONS]))
                .replacen("http", "ws", 1)
        );
        let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .unwrap_or_else(|e| panic!("opening {url}: {e}"));
        // The first screen comes from the tmux client, so it is attached.
        let first = tokio::time::timeout(Duration::from_secs(15), ws.next()).await;
        assert!(
            matches!(first, Ok(Some(Ok(_)))),
            "terminal {i} showed nothing: {first:?}"
        );
        sockets.push(ws);
    }
    // The terminals of a session share its one tmux client.
    assert_eq!(tmux_clients(&container), SESSIONS);
    assert_eq!(server.services.terminal.clients(), SESSIONS);

    let closed = Instant::now();
    for ws in &mut sockets {
        ws.close(None).await.unwrap();
    }
    drop(sockets);
    loop {
        let left = tmux_clients(&container);
        let held = server.services.terminal.clients();
        if left == 0 && held == 0 {
            break;
        }
        assert!(
            closed.elapsed() < GONE_WITHIN,
            "{left} of {SESSIONS} tmux clients still attached, and {held} held by the server, {} ms after their {TERMINALS} terminals closed",
            closed.elapsed().as_millis()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
