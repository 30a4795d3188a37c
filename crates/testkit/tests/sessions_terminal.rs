//! Sessions and the browser terminal, against the real Docker engine, real tmux and a real
//! WebSocket client.

use std::time::{Duration, Instant};

use craftastic_testkit::{Backend, ServerOptions, TestServer, docker_cli, fixture_repo};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};

const PASSWORD: &str = "correct horse battery";
const SEEN: Duration = Duration::from_secs(15);

struct Fixture {
    server: TestServer,
    token: String,
    env_id: String,
    _roots: tempfile::TempDir,
}

/// A server with one running environment cloned from the fixture repository.
async fn fixture() -> Fixture {
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
    let env_id = env["id"].as_str().unwrap().to_owned();
    Fixture {
        server,
        token,
        env_id,
        _roots: roots,
    }
}

impl Fixture {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.server
            .call(method, path, Some(&self.token), body)
            .await
    }

    async fn patch(&self, session: &str, body: Value) -> (u16, Value) {
        self.call("PATCH", &format!("/api/sessions/{session}"), Some(body))
            .await
    }

    /// `GET /api/sessions/<id of session><tail>`, e.g. `""` or `"/status"`.
    async fn get_session(&self, session: &Value, tail: &str) -> Value {
        let id = session["id"].as_str().unwrap();
        self.call("GET", &format!("/api/sessions/{id}{tail}"), None)
            .await
            .1
    }

    async fn session(&self, body: Value) -> Value {
        let mut body = body;
        body["environmentId"] = json!(self.env_id);
        let (status, session) = self.call("POST", "/api/sessions", Some(body)).await;
        assert_eq!(status, 201, "{session}");
        session
    }

    fn ws_url(&self, session: &str, token: &str) -> String {
        format!(
            "{}?token={token}&cols=100&rows=30",
            self.server
                .url(&format!("/api/terminal/ws/{session}"))
                .replacen("http", "ws", 1)
        )
    }

    async fn open(&self, session: &Value) -> Term {
        Term::connect(
            &self.ws_url(session["id"].as_str().unwrap(), &self.token),
            false,
        )
        .await
    }

    /// The container of the session's branch.
    async fn container_of(&self, branch: &str) -> String {
        self.server
            .container_of(&self.token, &self.env_id, branch)
            .await
    }
}

/// A terminal client speaking the JSON protocol or `craftastic.binary.v1`.
struct Term {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    binary: bool,
    /// Everything the terminal printed so far.
    screen: String,
    raw: Vec<u8>,
    exit: Option<i64>,
    errors: Vec<String>,
    closed: bool,
    /// The reason of the server's close frame.
    close_reason: Option<String>,
}

impl Term {
    async fn connect(url: &str, binary: bool) -> Self {
        let mut request = url.into_client_request().unwrap();
        if binary {
            request.headers_mut().insert(
                "sec-websocket-protocol",
                "craftastic.binary.v1".parse().unwrap(),
            );
        }
        let (ws, response) = tokio_tungstenite::connect_async(request)
            .await
            .unwrap_or_else(|e| panic!("opening {url}: {e}"));
        if binary {
            assert_eq!(
                response.headers()["sec-websocket-protocol"],
                "craftastic.binary.v1"
            );
        }
        Self {
            ws,
            binary,
            screen: String::new(),
            raw: Vec::new(),
            exit: None,
            errors: Vec::new(),
            closed: false,
            close_reason: None,
        }
    }

    async fn send_json(&mut self, message: Value) {
        self.ws
            .send(Message::Text(message.to_string().into()))
            .await
            .unwrap();
    }

    async fn type_text(&mut self, text: &str) {
        if self.binary {
            self.ws
                .send(Message::Binary(text.as_bytes().to_vec().into()))
                .await
                .unwrap();
        } else {
            self.send_json(json!({"type": "input", "data": text})).await;
        }
    }

    async fn resize(&mut self, cols: i64, rows: i64) {
        self.send_json(json!({"type": "resize", "cols": cols, "rows": rows}))
            .await;
    }

    /// Reads one message; `false` when the socket is over or `timeout` passed.
    async fn read_one(&mut self, timeout: Duration) -> bool {
        let message = match tokio::time::timeout(timeout, self.ws.next()).await {
            Ok(Some(Ok(m))) => m,
            Ok(_) => {
                self.closed = true;
                return false;
            }
            Err(_) => return false,
        };
        match message {
            Message::Binary(b) => {
                assert!(self.binary, "binary frame in the JSON protocol");
                self.raw.extend_from_slice(&b);
                self.screen = String::from_utf8_lossy(&self.raw).into_owned();
            }
            Message::Text(t) => {
                let m: Value = serde_json::from_str(&t).expect("server text frames are JSON");
                match m["type"].as_str().unwrap() {
                    "output" => {
                        assert!(!self.binary, "JSON output in the binary protocol");
                        self.screen.push_str(m["data"].as_str().unwrap());
                    }
                    "exit" => self.exit = m["code"].as_i64(),
                    "error" => self.errors.push(m["message"].as_str().unwrap().to_owned()),
                    "pong" => self.errors.push("pong".into()),
                    other => panic!("unknown server message {other}"),
                }
            }
            Message::Close(frame) => {
                self.closed = true;
                self.close_reason = frame.map(|f| f.reason.to_string());
            }
            _ => {}
        }
        true
    }

    /// Reads until the screen shows `needle`; panics with the screen after [`SEEN`].
    async fn expect(&mut self, needle: &str) {
        let started = Instant::now();
        while !self.screen.contains(needle) {
            let left = SEEN.saturating_sub(started.elapsed());
            if left.is_zero() || (!self.read_one(left).await && self.closed) {
                panic!(
                    "the terminal never showed {needle:?} (messages: {:?}); it showed: {:?}",
                    self.errors, self.screen
                );
            }
        }
    }

    /// Reads until `done` says so, or panics after [`SEEN`].
    async fn until(&mut self, what: &str, done: impl Fn(&Self) -> bool) {
        let started = Instant::now();
        while !done(self) {
            let left = SEEN.saturating_sub(started.elapsed());
            if left.is_zero() || (!self.read_one(left).await && self.closed && !done(self)) {
                panic!("never saw {what}; screen: {:?}", self.screen);
            }
        }
    }

    /// The width `tput cols` reports, asked until it is `expected` (a resize reaches the
    /// shell a moment after the terminal) or panics after [`SEEN`].
    async fn expect_cols(&mut self, expected: u32) {
        let started = Instant::now();
        let mut last = None;
        while started.elapsed() < SEEN {
            self.clear();
            self.type_text("echo cols=$(tput cols)-end\r").await;
            self.until("the width", |t| cols_shown(&t.screen).is_some())
                .await;
            last = cols_shown(&self.screen);
            if last == Some(expected) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("tput cols said {last:?}, not {expected}");
    }

    fn clear(&mut self) {
        self.screen.clear();
        self.raw.clear();
    }
}

/// The number in `cols=N-end`.
fn cols_shown(screen: &str) -> Option<u32> {
    screen.match_indices("cols=").find_map(|(i, _)| {
        let rest = &screen[i + 5..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        rest[digits.len()..]
            .starts_with("-end")
            .then(|| digits.parse().ok())
            .flatten()
    })
}

/// The processes running in a container, one `args` line each.
fn processes(container: &str) -> Vec<String> {
    docker_cli(&["exec", container, "ps", "-eo", "args="])
        .lines()
        .map(str::to_owned)
        .collect()
}

async fn wait_until(what: &str, check: impl Fn() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < SEEN, "{what} never happened");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn ticket(f: &Fixture, session: &str) -> String {
    let (status, t) = f
        .call(
            "POST",
            "/api/terminal/ticket",
            Some(json!({"sessionId": session})),
        )
        .await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["expiresIn"], 30);
    t["ticket"].as_str().unwrap().to_owned()
}

async fn handshake_status(url: &str, origin: Option<&str>) -> u16 {
    let mut request = url.into_client_request().unwrap();
    if let Some(o) = origin {
        request.headers_mut().insert("origin", o.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((_, response)) => response.status().as_u16(),
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("handshake failed without an answer: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_start_rename_end_and_take_their_workspace_with_them() {
    let f = fixture().await;
    let main = f.session(json!({})).await;
    assert_eq!(main["name"], "main");
    assert_eq!(main["gitBranch"], "main");
    assert_eq!(main["status"], "active");
    assert_eq!(main["sessionType"], "terminal");
    assert_eq!(main["workingDirectory"], "/workspace");
    let id = main["id"].as_str().unwrap();
    let container = f.container_of("main").await;
    let tmux = main["tmuxSessionName"].as_str().unwrap();
    let listed = docker_cli(&[
        "exec",
        &container,
        "tmux",
        "list-sessions",
        "-F",
        "#{session_name}",
    ]);
    assert!(listed.lines().any(|l| l == tmux), "{listed}");
    let shell_env = docker_cli(&[
        "exec",
        &container,
        "tmux",
        "show-environment",
        "-t",
        &format!("={tmux}"),
        "CRAFTASTIC_SESSION",
    ]);
    assert_eq!(shell_env.trim(), "CRAFTASTIC_SESSION=main");

    let second = f.session(json!({"workingDirectory": "src/../"})).await;
    assert_eq!(second["name"], "main-2");

    let (status, list) = f
        .call(
            "GET",
            &format!("/api/sessions/environment/{}", f.env_id),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let names: Vec<&str> = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["main", "main-2"]);
    let (_, env) = f
        .call("GET", &format!("/api/environments/{}", f.env_id), None)
        .await;
    assert_eq!(env["sessions"].as_array().unwrap().len(), 2);

    let (status, live) = f
        .call("GET", &format!("/api/sessions/{id}/status"), None)
        .await;
    assert_eq!(status, 200, "{live}");
    assert_eq!(live["status"], "active");
    assert_eq!(live["tmuxAlive"], true);
    assert_eq!(live["containerRunning"], true);

    let check = |name: &str| format!("/api/sessions/check-name/{}/{name}", f.env_id);
    assert_eq!(
        f.call("GET", &check("main"), None).await.1["available"],
        false
    );
    assert_eq!(
        f.call("GET", &check("fresh"), None).await.1["available"],
        true
    );
    let bad = f.call("GET", &check("a%20b"), None).await.1;
    assert_eq!(bad["available"], false);
    assert!(bad["reason"].as_str().unwrap().contains("letters"), "{bad}");

    let branch = |b: &str| format!("/api/sessions/check-branch/{}/{b}", f.env_id);
    let (_, c) = f.call("GET", &branch("main"), None).await;
    assert_eq!(
        c,
        json!({"valid": true, "exists": true, "inUseBySessions": 2})
    );
    let (_, c) = f.call("GET", &branch("feature"), None).await;
    assert_eq!(
        (c["exists"].clone(), c["inUseBySessions"].clone()),
        (json!(true), json!(0))
    );
    let (_, c) = f.call("GET", &branch("topic%2Fnew"), None).await;
    assert_eq!(
        (c["valid"].clone(), c["exists"].clone()),
        (json!(true), json!(false))
    );
    let (_, c) = f.call("GET", &branch("a..b"), None).await;
    assert_eq!(c["valid"], false, "{c}");

    let (status, renamed) = f.patch(id, json!({"name": "editor"})).await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["name"], "editor");
    let shown = docker_cli(&[
        "exec",
        &container,
        "tmux",
        "show-options",
        "-v",
        "-t",
        &format!("={tmux}:"),
        "@craftastic_name",
    ]);
    assert_eq!(shown.trim(), "editor");
    let (status, taken) = f.patch(id, json!({"name": "main-2"})).await;
    assert_eq!(
        (status, taken["code"].as_str()),
        (409, Some("name_taken")),
        "{taken}"
    );

    let (status, dead) = f.patch(id, json!({"status": "dead"})).await;
    assert_eq!(
        (status, dead["status"].as_str()),
        (200, Some("dead")),
        "{dead}"
    );
    let (_, live) = f
        .call("GET", &format!("/api/sessions/{id}/status"), None)
        .await;
    assert_eq!(
        (live["status"].clone(), live["tmuxAlive"].clone()),
        (json!("dead"), json!(false))
    );
    let (status, again) = f.patch(id, json!({"status": "active"})).await;
    assert_eq!(
        (status, again["status"].as_str()),
        (200, Some("active")),
        "{again}"
    );
    let (_, live) = f
        .call("GET", &format!("/api/sessions/{id}/status"), None)
        .await;
    assert_eq!(live["tmuxAlive"], true);

    let (status, _) = f.call("DELETE", &format!("/api/sessions/{id}"), None).await;
    assert_eq!(status, 204);
    let listed = docker_cli(&[
        "exec",
        &container,
        "tmux",
        "list-sessions",
        "-F",
        "#{session_name}",
    ]);
    assert!(
        !listed.contains(tmux),
        "the tmux session outlived its session: {listed}"
    );
    let (status, _) = f.call("GET", &format!("/api/sessions/{id}"), None).await;
    assert_eq!(status, 404);

    // A session on a new branch makes its workspace; a clean one goes with its last session.
    let topic = f.session(json!({"branch": "topic/clean"})).await;
    assert_eq!(topic["name"], "topic-clean");
    let topic_container = f.container_of("topic/clean").await;
    assert_ne!(topic_container, container);
    let on_branch = docker_cli(&[
        "exec",
        &topic_container,
        "git",
        "-C",
        "/workspace",
        "branch",
        "--show-current",
    ]);
    assert_eq!(on_branch.trim(), "topic/clean");
    let (status, _) = f
        .call(
            "DELETE",
            &format!("/api/sessions/{}", topic["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let left = docker_cli(&[
        "ps",
        "-aq",
        "--no-trunc",
        "--filter",
        &format!("id={topic_container}"),
    ]);
    assert!(
        left.trim().is_empty(),
        "the clean workspace's container stayed"
    );

    // One with uncommitted work stays, and the answer says so.
    let dirty = f.session(json!({"branch": "dirty"})).await;
    let dirty_container = f.container_of("dirty").await;
    docker_cli(&[
        "exec",
        &dirty_container,
        "sh",
        "-c",
        "echo draft > /workspace/notes.txt",
    ]);
    let (status, kept) = f
        .call(
            "DELETE",
            &format!("/api/sessions/{}", dirty["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 200, "{kept}");
    assert_eq!(kept["workspaceKept"], true);
    assert!(
        kept["reason"]
            .as_str()
            .unwrap()
            .contains("uncommitted changes"),
        "{kept}"
    );
    let notes = docker_cli(&["exec", &dirty_container, "cat", "/workspace/notes.txt"]);
    assert_eq!(notes.trim(), "draft");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_session_input_gets_clear_errors() {
    let f = fixture().await;
    let create = |body: Value| async {
        let mut body = body;
        if body.get("environmentId").is_none() {
            body["environmentId"] = json!(f.env_id);
        }
        f.call("POST", "/api/sessions", Some(body)).await
    };
    for dir in ["../..", "/etc", "src/../../etc", "/workspace/../etc"] {
        let (status, e) = create(json!({"workingDirectory": dir})).await;
        assert_eq!(status, 422, "{dir}: {e}");
        assert!(
            e["details"]["fields"]["workingDirectory"].is_string(),
            "{e}"
        );
    }
    let (status, e) = create(json!({"workingDirectory": "no/such/folder"})).await;
    assert_eq!(status, 422, "{e}");
    assert!(
        e["error"].as_str().unwrap().contains("does not exist"),
        "{e}"
    );
    let container = f.container_of("main").await;
    docker_cli(&[
        "exec",
        &container,
        "ln",
        "-s",
        "/etc",
        "/workspace/etc-link",
    ]);
    let (status, e) = create(json!({"workingDirectory": "etc-link"})).await;
    assert_eq!(status, 422, "{e}");
    assert!(
        e["error"].as_str().unwrap().contains("outside /workspace"),
        "{e}"
    );

    let (status, e) = create(json!({"name": "../x", "branch": "a..b"})).await;
    assert_eq!(status, 422, "{e}");
    assert!(
        e["details"]["fields"]["name"].is_string() && e["details"]["fields"]["branch"].is_string(),
        "{e}"
    );
    let (status, e) = create(json!({"sessionType": "robot"})).await;
    assert_eq!(status, 422, "{e}");
    let (status, e) = create(json!({"sessionType": "agent"})).await;
    assert_eq!(status, 422, "{e}");
    assert!(e["details"]["fields"]["agentId"].is_string(), "{e}");
    let (status, e) =
        create(json!({"sessionType": "agent", "agentId": uuid::Uuid::new_v4()})).await;
    assert_eq!(status, 404, "{e}");
    let (status, _) = create(json!({"environmentId": uuid::Uuid::new_v4()})).await;
    assert_eq!(status, 404);

    let first = f.session(json!({"name": "one"})).await;
    let (status, e) = create(json!({"name": "one"})).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (409, Some("name_taken")),
        "{e}"
    );
    let id = first["id"].as_str().unwrap();
    let (status, e) = f.patch(id, json!({"status": "inactive"})).await;
    assert_eq!(status, 422, "{e}");
    let (status, _) = f.call("GET", "/api/sessions/not-a-uuid", None).await;
    assert_eq!(status, 404);

    // Another user sees none of it.
    let eve = f.server.register("eve@example.com", PASSWORD).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let as_eve = |method: &'static str, path: String, body: Option<Value>| {
        let eve = eve.clone();
        let server = &f.server;
        async move { server.call(method, &path, Some(&eve), body).await.0 }
    };
    assert_eq!(
        as_eve("GET", format!("/api/sessions/{id}"), None).await,
        404
    );
    assert_eq!(
        as_eve("GET", format!("/api/sessions/{id}/status"), None).await,
        404
    );
    assert_eq!(
        as_eve(
            "PATCH",
            format!("/api/sessions/{id}"),
            Some(json!({"name": "mine"}))
        )
        .await,
        404
    );
    assert_eq!(
        as_eve("DELETE", format!("/api/sessions/{id}"), None).await,
        404
    );
    assert_eq!(
        as_eve(
            "GET",
            format!("/api/sessions/environment/{}", f.env_id),
            None
        )
        .await,
        404
    );
    assert_eq!(
        as_eve(
            "POST",
            "/api/sessions".into(),
            Some(json!({"environmentId": f.env_id}))
        )
        .await,
        404
    );
    assert_eq!(
        as_eve(
            "POST",
            "/api/terminal/ticket".into(),
            Some(json!({"sessionId": id}))
        )
        .await,
        404
    );
    assert_eq!(handshake_status(&f.ws_url(id, &eve), None).await, 404);
    let (status, still) = f.call("GET", &format!("/api/sessions/{id}"), None).await;
    assert_eq!((status, still["name"].as_str()), (200, Some("one")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_terminal_echoes_resizes_and_shows_the_screen_again_after_a_reconnect() {
    let f = fixture().await;
    let session = f.session(json!({})).await;
    let container = f.container_of("main").await;

    // Typed before tmux has attached: nothing is lost.
    let mut term = f.open(&session).await;
    term.type_text("echo early-$((2+3))\r").await;
    term.expect("early-5").await;
    term.type_text("echo $((6*7))\r").await;
    term.expect("42").await;

    term.resize(97, 31).await;
    term.expect_cols(97).await;
    term.clear();
    term.type_text("stty size | tr ' ' x\r").await;
    term.expect("30x97").await;

    // A second viewer sees the same output and does not push the first one off.
    let mut other = f.open(&session).await;
    other.expect("early-5").await;
    term.clear();
    other.clear();
    other.type_text("echo shared-$((40+2))\r").await;
    other.expect("shared-42").await;
    term.expect("shared-42").await;
    assert!(!term.closed && !other.closed);

    // Closing the sockets ends their tmux clients in the container, never the session.
    drop(term);
    drop(other);
    wait_until("the tmux clients to end", || {
        !processes(&container)
            .iter()
            .any(|p| p.starts_with("tmux attach"))
    })
    .await;
    let zombies: Vec<String> = docker_cli(&["exec", &container, "ps", "-eo", "stat=,args="])
        .lines()
        .filter(|l| l.trim_start().starts_with('Z'))
        .map(str::to_owned)
        .collect();
    assert!(zombies.is_empty(), "zombies in the container: {zombies:?}");
    let mut again = f.open(&session).await;
    again.expect("shared-42").await;
    again.expect("42").await;

    // Multibyte characters arrive whole, however the output is cut.
    again.clear();
    again
        .type_text("printf '\\342\\202\\254%.0s' $(seq 3000); printf '\\316\\273end\\n'\r")
        .await;
    again
        .until("3000 euro signs and a lambda", |t| {
            t.screen.matches('€').count() >= 3000 && t.screen.contains('λ')
        })
        .await;
    assert!(!again.screen.contains('\u{fffd}'), "a character was cut");

    // Input counts as activity.
    f.server.services.sessions.flush_activity().await;
    let s = f.get_session(&session, "").await;
    assert!(s["lastActivity"].is_string(), "{s}");

    // When the shell ends, every viewer is told, and the session is dead.
    again.type_text("exit\r").await;
    again.until("the exit message", |t| t.exit.is_some()).await;
    let s = f.get_session(&session, "").await;
    assert_eq!(s["status"], "dead");
    let mut late = f.open(&session).await;
    late.until("the exit message", |t| t.exit.is_some()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detach_inside_tmux_closes_every_viewer_of_the_session_and_the_session_runs_on() {
    let f = fixture().await;
    let session = f.session(json!({})).await;
    let mut one = f.open(&session).await;
    let mut two = f.open(&session).await;
    one.type_text("echo before-$((8*8))\r").await;
    one.expect("before-64").await;
    two.expect("before-64").await;

    // The tmux prefix, then d: the shared client detaches, and both viewers are told.
    one.type_text("\x02d").await;
    for term in [&mut one, &mut two] {
        term.until("the socket to close", |t| t.closed).await;
        assert_eq!(term.close_reason.as_deref(), Some("detached"));
        assert_eq!(term.exit, None);
    }
    let s = f.get_session(&session, "/status").await;
    assert_eq!(s["tmuxAlive"], true, "{s}");
    let s = f.get_session(&session, "").await;
    assert_eq!(s["status"], "active", "{s}");

    // Opening it again starts a new client, which shows the screen as it was.
    let mut again = f.open(&session).await;
    again.expect("before-64").await;
    assert_eq!(f.server.services.terminal.clients(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_protocol_carries_raw_bytes() {
    let f = fixture().await;
    let session = f.session(json!({})).await;
    let url = f.ws_url(session["id"].as_str().unwrap(), &f.token);
    let mut term = Term::connect(&url, true).await;
    term.type_text("echo bin-$((3*3))\r").await;
    term.expect("bin-9").await;
    term.resize(120, 40).await;
    term.send_json(json!({"type": "ping"})).await;
    term.until("a pong", |t| t.errors.iter().any(|e| e == "pong"))
        .await;
    term.clear();
    term.type_text("printf '\\316\\273%.0s' $(seq 500); echo\r")
        .await;
    term.until("500 lambdas", |t| {
        t.raw.windows(2).filter(|w| *w == "λ".as_bytes()).count() >= 500
    })
    .await;

    // A second viewer of the same size joins the same tmux client: it is told the modes tmux
    // set (the alternate screen; mouse reporting, from the sandbox's `mouse on`), and the
    // screen is redrawn for it.
    let mut second =
        Term::connect(&url.replace("cols=100&rows=30", "cols=120&rows=40"), true).await;
    second
        .until("the modes, then the screen", |t| {
            let raw = String::from_utf8_lossy(&t.raw);
            raw.starts_with("\x1b[?1049h") && raw.contains("\x1b[?1000h") && raw.contains("bin-9")
        })
        .await;
    assert_eq!(f.server.services.terminal.clients(), 1);
    second.clear();
    second.type_text("echo second-$((4*4))\r").await;
    second.expect("second-16").await;
    term.expect("second-16").await;

    // A server shutting down closes its terminals; their tmux clients go, the session stays.
    let container = f.container_of("main").await;
    let terminal = &f.server.services.terminal;
    terminal.close_all(Duration::from_secs(10)).await;
    term.until("the socket to close", |t| t.closed).await;
    second.until("the socket to close", |t| t.closed).await;
    assert_eq!(terminal.clients(), 0);
    assert!(
        !processes(&container)
            .iter()
            .any(|p| p.starts_with("tmux attach"))
    );
    let s = f.get_session(&session, "/status").await;
    assert_eq!(s["tmuxAlive"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminal_handshakes_are_refused_before_the_upgrade() {
    let f = fixture().await;
    let session = f.session(json!({})).await;
    let id = session["id"].as_str().unwrap();
    let base = f
        .server
        .url(&format!("/api/terminal/ws/{id}"))
        .replacen("http", "ws", 1);

    assert_eq!(handshake_status(&base, None).await, 401);
    assert_eq!(
        handshake_status(&format!("{base}?token=forged.jwt.value"), None).await,
        401
    );
    assert_eq!(
        handshake_status(&format!("{base}?token=not-a-ticket"), None).await,
        401
    );
    let unknown = f.ws_url(&uuid::Uuid::new_v4().to_string(), &f.token);
    assert_eq!(handshake_status(&unknown, None).await, 404);
    let own_origin = f.server.url("");
    assert_eq!(
        handshake_status(&f.ws_url(id, &f.token), Some("http://evil.example")).await,
        403
    );
    assert_eq!(
        handshake_status(&f.ws_url(id, &f.token), Some(&own_origin)).await,
        101
    );

    // A ticket opens the terminal once, for its session only.
    let t = ticket(&f, id).await;
    let with_ticket = format!("{base}?token={t}");
    let mut term = Term::connect(&with_ticket, false).await;
    term.type_text("echo ticket-$((1+1))\r").await;
    term.expect("ticket-2").await;
    assert_eq!(
        handshake_status(&with_ticket, None).await,
        401,
        "a ticket worked twice"
    );
    let other = f.session(json!({"name": "other"})).await;
    let t = ticket(&f, other["id"].as_str().unwrap()).await;
    assert_eq!(
        handshake_status(&format!("{base}?token={t}"), None).await,
        401
    );

    // Plain HTTP to the socket route is told what it is.
    let (status, e) = f.call("GET", &format!("/api/terminal/ws/{id}"), None).await;
    assert_eq!(status, 400, "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_messages_are_answered_and_never_cost_the_other_viewers() {
    let f = fixture().await;
    let session = f.session(json!({})).await;
    let mut term = f.open(&session).await;
    let mut watcher = f.open(&session).await;
    term.expect("$").await;

    term.ws
        .send(Message::Text("this is not json".into()))
        .await
        .unwrap();
    term.send_json(json!({"type": "launch", "data": "x"})).await;
    term.until("two error messages", |t| t.errors.len() >= 2)
        .await;
    term.type_text("echo still-$((5+5))\r").await;
    term.expect("still-10").await;

    // Sizes out of range are clamped; tmux sees its clients at the clamped sizes.
    let container = f.container_of("main").await;
    let client_sizes = || {
        docker_cli(&[
            "exec",
            &container,
            "tmux",
            "list-clients",
            "-F",
            "#{client_width}x#{client_height}",
        ])
    };
    term.resize(0, 0).await;
    wait_until("a 2x1 client", || {
        client_sizes().lines().any(|l| l == "2x1")
    })
    .await;
    term.resize(100_000, 100_000).await;
    wait_until("a 1000x500 client", || {
        client_sizes().lines().any(|l| l == "1000x500")
    })
    .await;
    term.resize(90, 30).await;
    term.expect_cols(90).await;

    // A 10 MB frame is over the limit: that socket closes, and only that one.
    let huge = "x".repeat(10 * 1024 * 1024);
    let frame = json!({"type": "input", "data": huge}).to_string();
    let _ = term.ws.send(Message::Text(frame.into())).await;
    term.until("the socket to close", |t| t.closed).await;
    watcher.clear();
    watcher.type_text("echo alive-$((7*6))\r").await;
    watcher.expect("alive-42").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_does_not_slow_the_other_terminals() {
    let f = fixture().await;
    let flood = f.session(json!({"name": "flood"})).await;
    let calm = f.session(json!({"name": "calm"})).await;
    let mut flooding = f.open(&flood).await;
    let mut watching = f.open(&flood).await;
    flooding.expect("$").await;
    // The flooding viewer sends its command, then stops reading. Another viewer of the same
    // session reads on and sees it through, and a terminal of another session answers
    // meanwhile, neither waiting for the first.
    flooding
        .type_text("yes 'a fairly long line of output to fill the screen' | head -c 50000000; echo flood-done\r")
        .await;
    let mut term = f.open(&calm).await;
    let calm_typing = async {
        for i in 0..5 {
            term.clear();
            term.type_text(&format!("echo calm-{i}-$(({i}+100))\r"))
                .await;
            term.expect(&format!("calm-{i}-{}", i + 100)).await;
        }
    };
    tokio::join!(watching.expect("flood-done"), calm_typing);
    // The slow viewer, once it reads again, skips what it missed and is shown the screen.
    flooding.expect("flood-done").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_environments_bring_sessions_back_and_the_reconciler_finds_the_dead() {
    let f = fixture().await;
    let session = f.session(json!({})).await;
    let id = session["id"].as_str().unwrap();
    let (status, _) = f
        .call(
            "POST",
            &format!("/api/environments/{}/stop", f.env_id),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (_, s) = f.call("GET", &format!("/api/sessions/{id}"), None).await;
    assert_eq!(s["status"], "inactive");
    let (status, e) = f
        .call(
            "POST",
            "/api/sessions",
            Some(json!({"environmentId": f.env_id})),
        )
        .await;
    assert_eq!(
        (status, e["code"].as_str()),
        (409, Some("not_running")),
        "{e}"
    );
    let (status, _) = f
        .call(
            "POST",
            &format!("/api/environments/{}/start", f.env_id),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let mut term = f.open(&session).await;
    term.type_text("echo back-$((4+4))\r").await;
    term.expect("back-8").await;
    let (_, s) = f.call("GET", &format!("/api/sessions/{id}"), None).await;
    assert_eq!(s["status"], "active");
    drop(term);

    // A tmux session killed behind the server's back is found dead by the reconciler (here
    // with no session watcher to see it first), and a tmux client that no viewer owns (left
    // by a crashed server) is hung up by the pass at start, which looks for such clients in
    // every container.
    let container = f.container_of("main").await;
    f.server.services.sessions.watchers().stop(&container);
    docker_cli(&[
        "exec",
        "-d",
        "-e",
        "CRAFTASTIC_VIEWER=stray",
        &container,
        "sleep",
        "1000",
    ]);
    let tmux = session["tmuxSessionName"].as_str().unwrap();
    docker_cli(&[
        "exec",
        &container,
        "tmux",
        "kill-session",
        "-t",
        &format!("={tmux}"),
    ]);
    let report = f.server.services.reconciler.startup().await.unwrap();
    assert_eq!(report.dead_sessions, 1, "{report:?}");
    assert!(report.stray_viewers >= 1, "{report:?}");
    let (_, s) = f.call("GET", &format!("/api/sessions/{id}"), None).await;
    assert_eq!(s["status"], "dead");
    wait_until("the stray process to end", || {
        !processes(&container).iter().any(|p| p == "sleep 1000")
    })
    .await;
}
