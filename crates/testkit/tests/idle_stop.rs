//! Idle stop, against real Docker and tmux: a workspace is kept while an agent works or a
//! terminal is open, is stopped once nothing happened in it for its environment's
//! `idleStopMinutes` (never when that is 0), says why, and starts again when one of its
//! sessions is opened, the agent continuing its conversation. The checks run with the
//! clock moved on (`IdleStop::run_at`) rather than waiting for real minutes.

use std::time::{Duration, Instant};

use chrono::Utc;
use craftastic_testkit::activity::{Events, WAIT, fake_hooks_image};
use craftastic_testkit::{Backend, ServerOptions, TestServer, docker_cli, fixture_repo};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const PASSWORD: &str = "correct horse battery";

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open_terminal(server: &TestServer, token: &str, session: &str) -> Socket {
    let url = format!(
        "{}?token={token}&cols=100&rows=30",
        server
            .url(&format!("/api/terminal/ws/{session}"))
            .replacen("http", "ws", 1)
    );
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

/// Reads the terminal until its output shows `text`; returns what it showed.
async fn read_until(ws: &mut Socket, text: &str) -> String {
    let started = Instant::now();
    let mut shown = String::new();
    while !shown.contains(text) {
        assert!(
            started.elapsed() < WAIT,
            "the terminal never showed {text:?}: {shown:?}"
        );
        if let Ok(Some(Ok(Message::Text(t)))) =
            tokio::time::timeout(Duration::from_secs(1), ws.next()).await
        {
            let m: Value = serde_json::from_str(&t).unwrap();
            shown.push_str(m["data"].as_str().unwrap_or_default());
        }
    }
    shown
}

fn cue(container: &str, session: &Value, word: &str) {
    let target = format!("={}:", session["tmuxSessionName"].as_str().unwrap());
    docker_cli(&[
        "exec",
        container,
        "tmux",
        "send-keys",
        "-t",
        &target,
        word,
        "Enter",
    ]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_workspace_stops_says_why_and_starts_again_with_its_conversation() {
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
    let token = server.register("ada@example.com", PASSWORD).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let env = server.made_environment(&token, "app", &repo).await;
    assert_eq!(env["idleStopMinutes"], 60, "the default: {env}");
    let env = env["id"].as_str().unwrap().to_owned();
    let container = server.container_of(&token, &env, "main").await;
    let idle_stop = format!("/api/environments/{env}/idle-stop");
    let (status, agent) = server
        .call(
            "POST",
            "/api/agents",
            Some(&token),
            Some(json!({"name": "claude", "type": "claude-code",
                        "credential": {"type": "api-key", "value": "sk-test"}})),
        )
        .await;
    assert_eq!(status, 201, "{agent}");
    let mut events = Events::open(&server, &token).await;
    let (status, session) = server
        .call(
            "POST",
            "/api/sessions",
            Some(&token),
            Some(json!({"environmentId": env, "sessionType": "agent", "agentId": agent["id"]})),
        )
        .await;
    assert_eq!(status, 201, "{session}");
    let id = session["id"].as_str().unwrap().to_owned();
    events.activity(&id, "idle", WAIT).await;
    let idle = &server.services.idle;
    let t0 = Utc::now();
    let minutes = |m: i64| t0 + chrono::Duration::seconds(m * 60);

    // 0 never stops it, however long it sits.
    let (status, never) = server
        .call("PUT", &idle_stop, Some(&token), Some(json!({"minutes": 0})))
        .await;
    assert_eq!(
        (status, &never["idleStopMinutes"]),
        (200, &json!(0)),
        "{never}"
    );
    let report = idle.run_at(minutes(30 * 24 * 60)).await.unwrap();
    assert_eq!((report.checked, report.stopped.len()), (0, 0));

    let (status, set) = server
        .call("PUT", &idle_stop, Some(&token), Some(json!({"minutes": 1})))
        .await;
    assert_eq!((status, &set["idleStopMinutes"]), (200, &json!(1)), "{set}");

    // An agent at work keeps its workspace.
    cue(&container, &session, "prompt");
    events.activity(&id, "working", WAIT).await;
    let report = idle.run_at(minutes(2)).await.unwrap();
    assert_eq!((report.checked, report.stopped.len()), (1, 0), "working");

    // So does an open terminal, once the agent is done.
    cue(&container, &session, "stop");
    events.activity(&id, "idle", WAIT).await;
    let mut viewer = open_terminal(&server, &token, &id).await;
    read_until(&mut viewer, "fake-claude").await;
    let report = idle.run_at(minutes(4)).await.unwrap();
    assert!(report.stopped.is_empty(), "a terminal is open");
    viewer.close(None).await.unwrap();
    drop(viewer);
    let closing = Instant::now();
    while server.services.terminal.is_viewed(id.parse().unwrap()) {
        assert!(closing.elapsed() < WAIT, "the viewer never left");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Idle for less than its minute since the terminal was last seen open: kept.
    let report = idle
        .run_at(minutes(4) + chrono::Duration::seconds(59))
        .await
        .unwrap();
    assert!(report.stopped.is_empty(), "idle for 59 s only");

    // A minute after: stopped, and it says why.
    let report = idle
        .run_at(minutes(5) + chrono::Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(report.stopped.len(), 1, "{report:?}");
    events
        .wait("workspace.status", |d| {
            d["environmentId"] == env && d["status"] == "stopped"
        })
        .await;
    let (_, got) = server
        .call(
            "GET",
            &format!("/api/environments/{env}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        got["status"], "running",
        "the environment stays running: {got}"
    );
    let ws = &got["workspaces"][0];
    assert_eq!(ws["status"], "stopped", "{got}");
    let reason = ws["error"].as_str().unwrap();
    assert!(
        reason.starts_with("stopped after 1 minute idle")
            && reason.contains("Open one of its sessions to start it again"),
        "{reason}"
    );
    assert_eq!(got["sessions"][0]["status"], "inactive", "{got}");
    assert_eq!(
        docker_cli(&["inspect", "-f", "{{.State.Running}}", &container]).trim(),
        "false"
    );
    let audit = server.db.store.list_audit(None, 20).await.unwrap();
    assert!(
        audit.iter().any(|e| e.action == "workspaces.idle_stop"),
        "the stop is in the audit log: {audit:?}"
    );

    // Nothing left to stop.
    let report = idle.run_at(minutes(60)).await.unwrap();
    assert_eq!((report.checked, report.stopped.len()), (0, 0));

    // Opening its session starts it again, and the agent continues its conversation.
    let mut viewer = open_terminal(&server, &token, &id).await;
    let shown = read_until(&mut viewer, "fake-claude: ready").await;
    assert!(shown.contains("fake-claude: args=[--continue]"), "{shown}");
    let (_, got) = server
        .call(
            "GET",
            &format!("/api/environments/{env}"),
            Some(&token),
            None,
        )
        .await;
    let ws = &got["workspaces"][0];
    assert_eq!(ws["status"], "running", "{got}");
    assert!(
        ws.get("error").is_none(),
        "the reason goes with the stop: {got}"
    );
    assert_eq!(got["sessions"][0]["status"], "active", "{got}");
    viewer
        .send(Message::Text(
            json!({"type": "input", "data": "prompt\r"})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    events.activity(&id, "working", WAIT).await;
}

#[tokio::test]
async fn the_idle_stop_setting_is_checked_and_the_owners_own() {
    let server = TestServer::start(Backend::Sqlite).await;
    let ada = server.register("ada@example.com", PASSWORD).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let bob = server.register("bob@example.com", PASSWORD).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, env) = server
        .call(
            "POST",
            "/api/environments",
            Some(&bob),
            Some(json!({"name": "quick", "idleStopMinutes": 15})),
        )
        .await;
    assert_eq!(
        (status, &env["idleStopMinutes"]),
        (201, &json!(15)),
        "{env}"
    );
    let path = format!(
        "/api/environments/{}/idle-stop",
        env["id"].as_str().unwrap()
    );

    for bad in [json!({"minutes": -1}), json!({"minutes": 10_081})] {
        let (status, body) = server.call("PUT", &path, Some(&bob), Some(bad)).await;
        assert_eq!(status, 422, "{body}");
        let message = body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
            + &body.to_string();
        assert!(
            message.contains("0 to never stop idle workspaces"),
            "{body}"
        );
    }
    let (status, body) = server
        .call("PUT", &path, Some(&bob), Some(json!({"minutes": "soon"})))
        .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = server
        .call(
            "POST",
            "/api/environments",
            Some(&bob),
            Some(json!({"name": "bad", "idleStopMinutes": 20_000})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("idleStopMinutes"), "{body}");

    // Another user's environment does not exist for Carol; Ada, the first user, is the
    // admin.
    let carol = server.register("carol@example.com", PASSWORD).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = server
        .call("PUT", &path, Some(&carol), Some(json!({"minutes": 5})))
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = server
        .call("PUT", &path, Some(&ada), Some(json!({"minutes": 5})))
        .await;
    assert_eq!(
        (status, &body["idleStopMinutes"]),
        (200, &json!(5)),
        "an admin may: {body}"
    );
}
