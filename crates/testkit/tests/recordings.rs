//! Recordings against real Docker and tmux: what is typed in the browser terminal comes
//! back as asciicast events with increasing times, a session printing more than the cap
//! keeps only its newest output, a container that writes garbage, huge, compressed or
//! linked files where the recorder writes gets a valid answer within bounds, and nobody
//! else reads a recording.

use std::time::{Duration, Instant};

use craftastic_service::sessions::RecordingSettings;
use craftastic_testkit::{Backend, ServerOptions, TestServer, docker_cli, fixture_repo};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const PASSWORD: &str = "correct horse battery";
const SEEN: Duration = Duration::from_secs(20);

struct Fixture {
    server: TestServer,
    token: String,
    env_id: String,
    _roots: tempfile::TempDir,
}

/// A server keeping `limit` bytes of recording per session, with one running environment.
async fn fixture(limit: u64) -> Fixture {
    let roots = tempfile::tempdir().unwrap();
    let repo = fixture_repo(roots.path(), "app");
    let server = TestServer::start_with(
        Backend::Sqlite,
        ServerOptions {
            local_roots: vec![roots.path().to_owned()],
            recording: RecordingSettings { limit },
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
    Fixture {
        env_id: env["id"].as_str().unwrap().to_owned(),
        server,
        token,
        _roots: roots,
    }
}

/// An answer of the recording route.
struct Answer {
    status: u16,
    content_type: String,
    body: String,
}

impl Answer {
    /// The lines of an asciicast answer, each checked to be what asciicast v2 allows.
    fn asciicast(&self) -> (Value, Vec<(f64, String, String)>) {
        assert_eq!(self.status, 200, "{}", self.body);
        assert_eq!(self.content_type, "application/x-asciicast");
        let mut lines = self.body.lines();
        let header: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
        assert_eq!(header["version"], 2, "{header}");
        assert!(header["width"].as_u64().unwrap() > 0, "{header}");
        assert!(header["height"].as_u64().unwrap() > 0, "{header}");
        assert!(
            header["timestamp"].as_i64().unwrap() > 1_600_000_000,
            "{header}"
        );
        let mut events = Vec::new();
        for line in lines {
            let (time, code, data): (f64, String, String) = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not an asciicast event ({e}): {line}"));
            assert!(code == "o" || code == "r", "{line}");
            if let Some((last, _, _)) = events.last() {
                assert!(time >= *last, "times go back: {line}");
            }
            events.push((time, code, data));
        }
        (header, events)
    }

    /// The answer's error code.
    fn code(&self) -> String {
        let body: Value = serde_json::from_str(&self.body).unwrap_or_default();
        body["code"].as_str().unwrap_or_default().to_owned()
    }
}

impl Fixture {
    async fn session(&self, branch: &str) -> Value {
        let (status, session) = self
            .server
            .call(
                "POST",
                "/api/sessions",
                Some(&self.token),
                Some(json!({"environmentId": self.env_id, "branch": branch})),
            )
            .await;
        assert_eq!(status, 201, "{session}");
        session
    }

    async fn recording_as(&self, token: &str, session: &Value) -> Answer {
        let id = session["id"].as_str().unwrap();
        let res = self
            .server
            .http
            .get(self.server.url(&format!("/api/sessions/{id}/recording")))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let content_type = res
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        Answer {
            status,
            content_type,
            body: res.text().await.unwrap(),
        }
    }

    async fn recording(&self, session: &Value) -> Answer {
        self.recording_as(&self.token, session).await
    }

    /// Asks for the recording until its output holds `needle`.
    async fn recording_showing(&self, session: &Value, needle: &str) -> Answer {
        let started = Instant::now();
        loop {
            let answer = self.recording(session).await;
            let (_, events) = answer.asciicast();
            if output(&events).contains(needle) {
                return answer;
            }
            assert!(
                started.elapsed() < SEEN,
                "the recording never showed {needle:?}: {}",
                answer.body
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn container(&self) -> String {
        self.server
            .container_of(&self.token, &self.env_id, "main")
            .await
    }
}

/// Every `"o"` event's text, joined.
fn output(events: &[(f64, String, String)]) -> String {
    events
        .iter()
        .filter(|(_, code, _)| code == "o")
        .map(|(_, _, data)| data.as_str())
        .collect()
}

/// Runs a shell command in the container as its user.
fn in_container(container: &str, script: &str) -> String {
    docker_cli(&["exec", "-u", "dev", container, "sh", "-c", script])
}

fn tmux_of(session: &Value) -> String {
    session["tmuxSessionName"].as_str().unwrap().to_owned()
}

/// Types `keys` into the session's tmux pane, no viewer needed.
fn send_keys(container: &str, session: &Value, keys: &str) {
    docker_cli(&[
        "exec",
        "-u",
        "dev",
        container,
        "tmux",
        "send-keys",
        "-t",
        &format!("={}:", tmux_of(session)),
        keys,
        "Enter",
    ]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_replays_what_was_typed_in_the_terminal_and_only_for_its_owner() {
    let f = fixture(RecordingSettings::default().limit).await;
    let session = f.session("main").await;
    let id = session["id"].as_str().unwrap();
    let url = format!(
        "{}?token={}&cols=100&rows=30",
        f.server
            .url(&format!("/api/terminal/ws/{id}"))
            .replacen("http", "ws", 1),
        f.token
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let typed = json!({"type": "input", "data": "echo rec-$((6*7))-done\r"});
    ws.send(Message::Text(typed.to_string().into()))
        .await
        .unwrap();
    let started = Instant::now();
    let mut screen = String::new();
    while !screen.contains("rec-42-done") {
        assert!(started.elapsed() < SEEN, "the terminal showed {screen:?}");
        if let Ok(Some(Ok(Message::Text(t)))) =
            tokio::time::timeout(Duration::from_secs(1), ws.next()).await
        {
            let m: Value = serde_json::from_str(&t).unwrap();
            screen.push_str(m["data"].as_str().unwrap_or_default());
        }
    }

    let answer = f.recording_showing(&session, "rec-42-done").await;
    let (header, events) = answer.asciicast();
    assert_eq!(header["title"], session["name"]);
    assert_eq!(events[0].0, 0.0, "times start at the first event");
    let typed_at = events
        .iter()
        .position(|(_, code, data)| code == "o" && data.contains("echo rec-$((6*7))-done"))
        .expect("the command as typed");
    let shown_at = events
        .iter()
        .rposition(|(_, code, data)| code == "o" && data.contains("rec-42-done\r\n"))
        .expect("its output");
    assert!(typed_at <= shown_at);
    assert!(events[shown_at].0 > 0.0, "{:?}", events[shown_at]);
    // The viewer's 100 columns reached the pane (rows: one goes to tmux's status bar).
    assert!(
        events
            .iter()
            .any(|(_, code, data)| code == "r" && data == "100x29"),
        "no resize to the viewer's size in {events:?}"
    );

    // Another user does not learn that the session exists; no token is a 401.
    let other = f.server.register("eve@example.com", PASSWORD).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let theirs = f.recording_as(&other, &session).await;
    assert_eq!((theirs.status, theirs.code().as_str()), (404, "not_found"));
    assert_eq!(f.recording_as("", &session).await.status, 401);
    let bad = f
        .server
        .call("GET", "/api/sessions/nope/recording", Some(&f.token), None)
        .await;
    assert_eq!(bad.0, 404, "{}", bad.1);

    // Deleting the session removes its recording from the workspace.
    let container = f.container().await;
    let folder = format!("$HOME/.craftastic/recordings/{}", tmux_of(&session));
    assert_eq!(
        in_container(&container, &format!("[ -d {folder} ] && echo yes")).trim(),
        "yes"
    );
    let (status, _) = f
        .server
        .call(
            "DELETE",
            &format!("/api/sessions/{id}"),
            Some(&f.token),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        in_container(&container, &format!("[ -e {folder} ] || echo gone")).trim(),
        "gone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cap_drops_the_oldest_output_and_a_stopped_workspace_is_409() {
    let limit = 128 << 10;
    let f = fixture(limit).await;
    let session = f.session("main").await;
    let container = f.container().await;
    // Nobody views the session: the recording is made in the container all the same.
    send_keys(
        &container,
        &session,
        "for i in $(seq 1 6000); do printf 'flood-%05d %s\\n' $i xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; done; echo flood-$((1+1))-over",
    );
    let answer = f.recording_showing(&session, "flood-2-over").await;
    let (header, events) = answer.asciicast();
    let text = output(&events);
    assert!(text.contains("flood-06000"));
    assert!(!text.contains("flood-00001 "), "the oldest output stays");
    assert!(
        answer.body.len() <= limit as usize + 1024,
        "{} bytes",
        answer.body.len()
    );
    assert_eq!(events[0].0, 0.0);
    assert_eq!(header["width"], 120, "{header}");
    let on_disk: u64 = in_container(
        &container,
        &format!(
            "cat $HOME/.craftastic/recordings/{}/* | wc -c",
            tmux_of(&session)
        ),
    )
    .trim()
    .parse()
    .unwrap();
    assert!(on_disk <= limit + (64 << 10), "{on_disk} bytes on disk");

    let (status, env) = f
        .server
        .call(
            "POST",
            &format!("/api/environments/{}/stop", f.env_id),
            Some(&f.token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{env}");
    let stopped = f.recording(&session).await;
    assert_eq!(
        (stopped.status, stopped.code().as_str()),
        (409, "not_running"),
        "{}",
        stopped.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_container_gets_a_valid_answer_within_bounds() {
    let f = fixture(128 << 10).await;
    let session = f.session("main").await;
    let container = f.container().await;
    send_keys(&container, &session, "echo before-$((2*3))");
    f.recording_showing(&session, "before-6").await;
    let dir = format!("$HOME/.craftastic/recordings/{}", tmux_of(&session));
    let timed = async |what: &str| {
        let started = Instant::now();
        let answer = f.recording(&session).await;
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{what}: took {:?}",
            started.elapsed()
        );
        answer
    };

    // Garbage, huge: only the newest part is read, and nothing invalid comes through.
    in_container(
        &container,
        &format!(
            "head -c 40000000 /dev/urandom > {dir}/cur; printf '\\n[1700000001,\"o\",\"bad \\377 byte\"]\\n[1700000002,\"i\",\"no\"]\\n{{oops\\n' >> {dir}/cur"
        ),
    );
    let (_, events) = timed("garbage").await.asciicast();
    assert!(output(&events).contains("bad \u{fffd} byte"), "{events:?}");

    // Links are not followed, and a pipe is not waited on.
    in_container(
        &container,
        &format!(
            "rm -f {dir}/cur && ln -s /etc/passwd {dir}/cur && ln -s /dev/zero {dir}/000000009999.gz && mkfifo {dir}/000000009998.gz"
        ),
    );
    let answer = timed("links").await;
    answer.asciicast();
    assert!(!answer.body.contains("root:"), "{}", answer.body);

    // A gzip bomb: decompressed only as far as the budget.
    in_container(
        &container,
        &format!(
            "rm -f {dir}/0* {dir}/cur && head -c 300000000 /dev/zero | gzip -9 > {dir}/000000009999.gz"
        ),
    );
    let answer = timed("gzip bomb").await;
    let (_, events) = answer.asciicast();
    assert!(answer.body.len() < 200 << 10, "{} bytes", answer.body.len());
    assert!(events.is_empty(), "{events:?}");

    // The folder itself a link elsewhere: no recording.
    in_container(
        &container,
        &format!("rm -rf {dir} && mkdir -p /tmp/elsewhere && ln -s /tmp/elsewhere {dir}"),
    );
    let answer = timed("linked folder").await;
    assert_eq!(
        (answer.status, answer.code().as_str()),
        (409, "not_recorded"),
        "{}",
        answer.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_left_unrecorded_is_recorded_when_its_watcher_starts() {
    let f = fixture(RecordingSettings::default().limit).await;
    let first = f.session("main").await;
    let container = f.container().await;
    let pipe = |session: &Value| {
        docker_cli(&[
            "exec",
            "-u",
            "dev",
            &container,
            "tmux",
            "display-message",
            "-p",
            "-t",
            &format!("={}:", tmux_of(session)),
            "#{pane_pipe}",
        ])
        .trim()
        .to_owned()
    };
    assert_eq!(pipe(&first), "1");
    // As after a server that ran without recordings: no pipe, and no watcher yet.
    docker_cli(&[
        "exec",
        "-u",
        "dev",
        &container,
        "tmux",
        "pipe-pane",
        "-t",
        &format!("={}:", tmux_of(&first)),
    ]);
    assert_eq!(pipe(&first), "0");
    f.server.services.sessions.watchers().stop(&container);
    // A second session starts the container's watcher, which records the first again.
    f.session("main").await;
    let started = Instant::now();
    while pipe(&first) != "1" {
        assert!(
            started.elapsed() < SEEN,
            "the first session stayed unrecorded"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    send_keys(&container, &first, "echo again-$((3*3))");
    f.recording_showing(&first, "again-9").await;
}
