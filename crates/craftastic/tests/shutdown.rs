//! How `craftastic serve` stops: within 10 s of SIGTERM whatever is in flight, and every
//! open terminal gets its close frame before the process exits. Real Docker and the real
//! sandbox image.

mod support;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::json;
use support::{Containers, Running, craftastic, post_auth, sigterm, wait_status};
use tungstenite::Message;
use tungstenite::protocol::frame::coding::CloseCode;

/// What the terminal's socket received, and when.
enum Event {
    Frame(Instant, Message),
    Gone,
}

/// Reads the socket on a thread of its own until it closes.
fn read_terminal(
    mut ws: tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<std::net::TcpStream>>,
) -> mpsc::Receiver<Event> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        loop {
            match ws.read() {
                Ok(message) => {
                    if tx.send(Event::Frame(Instant::now(), message)).is_err() {
                        return;
                    }
                }
                Err(_) => {
                    let _ = tx.send(Event::Gone);
                    return;
                }
            }
        }
    });
    rx
}

#[test]
fn sigterm_stops_the_server_within_10_s_while_a_request_hangs_on_an_exec() {
    let home = tempfile::tempdir().unwrap();
    let roots = tempfile::tempdir().unwrap();
    let repo = craftastic_testkit::fixture_repo(roots.path(), "app");
    let _containers = Containers {
        data_dir: home.path().join(".local/share/craftastic"),
    };
    let mut cmd = craftastic(home.path());
    cmd.env("CRAFTASTIC_LOCAL_REPO_ROOTS", roots.path());
    let mut server = Running::start(cmd);
    let (status, body) = server.post(
        "/api/auth/register",
        json!({"email": "ada@example.com", "password": "long enough!", "name": "Ada"}),
    );
    assert_eq!(status, 201, "{body}");
    let token = body["accessToken"].as_str().unwrap().to_owned();
    let (status, env) = post_auth(
        &server,
        &token,
        "/api/environments",
        json!({"name": "app", "repositoryUrl": repo.display().to_string()}),
    );
    assert_eq!(status, 201, "{env}");
    let env = wait_status(
        &server,
        &token,
        env["id"].as_str().unwrap(),
        &["running", "error"],
    );
    assert_eq!(env["status"], "running", "{env}");
    let container = env["containerId"].as_str().unwrap().to_owned();
    let (status, session) = post_auth(
        &server,
        &token,
        "/api/sessions",
        json!({"environmentId": env["id"]}),
    );
    assert_eq!(status, 201, "{session}");
    let session_id = session["id"].as_str().unwrap().to_owned();

    // A terminal, open and drawn.
    let url = format!(
        "{}/api/terminal/ws/{session_id}?token={token}",
        server.base.replacen("http", "ws", 1)
    );
    let (ws, _) = tungstenite::connect(url).expect("the terminal opens");
    let terminal = read_terminal(ws);
    let drawn = Instant::now();
    loop {
        match terminal.recv_timeout(Duration::from_secs(15)) {
            Ok(Event::Frame(_, Message::Text(text))) if text.contains("\"output\"") => break,
            Ok(Event::Frame(..)) => {}
            Ok(Event::Gone) => panic!("the terminal closed before it printed anything"),
            Err(_) => panic!("the terminal printed nothing within 15 s"),
        }
        assert!(drawn.elapsed() < Duration::from_secs(15));
    }

    // Every process of the workspace stops, its tmux server too: a request that asks tmux
    // anything now waits for ever.
    craftastic_testkit::docker_cli(&["exec", &container, "sh", "-c", "kill -STOP -1"]);
    let (answered_tx, answered) = mpsc::channel();
    {
        let url = format!("{}/api/sessions/{session_id}/status", server.base);
        let token = token.clone();
        std::thread::spawn(move || {
            let outcome = reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap()
                .get(url)
                .bearer_auth(token)
                .send()
                .map(|r| r.status().as_u16());
            let _ = answered_tx.send(outcome.map_err(|e| e.to_string()));
        });
    }
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        answered.try_recv().is_err(),
        "the request answered although tmux is stopped"
    );

    let signalled = Instant::now();
    sigterm(server.child.id());
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        if signalled.elapsed() > Duration::from_secs(30) {
            let _ = server.child.kill();
            panic!("the server did not exit within 30 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let took = signalled.elapsed();
    println!("SIGTERM to exit: {took:?}");
    let logs = server.logs();
    assert!(took < Duration::from_secs(10), "{took:?}\n{logs}");
    assert!(status.success(), "{status}\n{logs}");
    assert!(
        logs.contains("requests still in flight after the shutdown grace period"),
        "{logs}"
    );

    // The terminal was told why before the process went (nothing can come from a process
    // that has exited).
    let mut close = None;
    while let Ok(event) = terminal.recv_timeout(Duration::from_secs(5)) {
        match event {
            Event::Frame(at, Message::Close(frame)) => close = Some((at, frame)),
            Event::Frame(..) => {}
            Event::Gone => break,
        }
    }
    let (at, frame) = close.expect("the terminal got a close frame");
    let frame = frame.expect("the close frame says why");
    println!(
        "SIGTERM to the terminal's close frame: {:?}",
        at.duration_since(signalled)
    );
    assert_eq!(frame.code, CloseCode::Restart, "{frame:?}");
    assert_eq!(frame.reason.as_str(), "the server is restarting");
    let outcome: Result<u16, String> = answered
        .recv_timeout(Duration::from_secs(5))
        .expect("the hung request ended with the server");
    assert!(outcome.is_err(), "{outcome:?}");
}
