//! Agents' activity as tests see it: a fake Claude Code that fires the real hooks' formats
//! on cue, and a reader of `GET /api/events`.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{SANDBOX_IMAGE, TestServer, docker_cli};

/// How long a test waits for an event.
pub const WAIT: Duration = Duration::from_secs(15);

/// A fake `claude`: it says which arguments it got besides its hooks (`--continue` when it
/// continues a conversation) and adds a turn to its conversation where Claude Code keeps
/// it; then, on each cue typed into its terminal, it does what Claude Code does at that
/// moment, calling `craftastic-hook` the way the hooks Craftastic configures do, with the
/// JSON Claude Code gives hooks.
pub const FAKE_CLAUDE: &str = r#"#!/bin/sh
[ "$1" = --settings ] && shift 2
echo "fake-claude: args=[$*]"
chat="$CLAUDE_CONFIG_DIR/projects/-workspace/1.jsonl"
mkdir -p "$(dirname "$chat")" && echo turn >>"$chat"
echo "fake-claude: ready"
while read -r cue; do
    case $cue in
    prompt) echo '{"hook_event_name":"UserPromptSubmit","prompt":"hello"}' | craftastic-hook claude UserPromptSubmit ;;
    permission) echo '{"hook_event_name":"Notification","notification_type":"permission_prompt","message":"Claude needs your permission to use Bash"}' | craftastic-hook claude Notification ;;
    stop) echo '{"hook_event_name":"Stop","stop_hook_active":false}' | craftastic-hook claude Stop ;;
    dialog) clear; printf 'Bash command\n\n  rm -rf build\n\nDo you want to proceed?\n> 1. Yes\n  2. No\n' ;;
    clear) clear ;;
    exit) exit 3 ;;
    esac
done
"#;

/// The sandbox image with [`FAKE_CLAUDE`] in place of the real `claude`, built once per
/// test run (the engine's cache makes a rebuild instant).
pub fn fake_claude_image() -> &'static str {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let tag = "craftastic/sandbox-fake-hooks:test".to_owned();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("claude"), FAKE_CLAUDE).unwrap();
        std::fs::write(
            dir.path().join("Dockerfile"),
            format!(
                "FROM {SANDBOX_IMAGE}\nUSER root\nRUN rm -f /usr/local/bin/claude\n\
                 COPY claude /usr/local/bin/claude\nRUN chmod 755 /usr/local/bin/claude\nUSER dev\n"
            ),
        )
        .unwrap();
        docker_cli(&["build", "-q", "-t", &tag, &dir.path().display().to_string()]);
        tag
    })
}

/// A reader of one `GET /api/events` stream.
pub struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    pub async fn open(server: &TestServer, token: &str) -> Self {
        let response = server
            .http
            .get(server.url("/api/events"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        let mut events = Self {
            response,
            buffer: String::new(),
        };
        let (name, _) = events.next(Duration::from_secs(5)).await.expect("ready");
        assert_eq!(name, "ready");
        events
    }

    /// The next event, or `None` when none comes within `wait`.
    pub async fn next(&mut self, wait: Duration) -> Option<(String, Value)> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = String::new();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event: ") {
                        name = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push_str(v);
                    }
                }
                if name.is_empty() {
                    continue; // a keep-alive comment
                }
                return Some((name, serde_json::from_str(&data).unwrap()));
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk()).await;
            match chunk {
                Ok(Ok(Some(bytes))) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                Ok(Ok(None)) => panic!("the event stream ended"),
                Ok(Err(e)) => panic!("reading the event stream failed: {e}"),
                Err(_) => return None,
            }
        }
    }

    /// Waits at most `wait` for an event named `name` whose data `matches`; returns its
    /// data and how long it took.
    pub async fn wait_for(
        &mut self,
        name: &str,
        matches: impl Fn(&Value) -> bool,
        wait: Duration,
    ) -> (Value, Duration) {
        let started = Instant::now();
        let deadline = started + wait;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some((got, data)) = self.next(left).await else {
                panic!("no matching {name} event came within {wait:?}; the stream had {seen:?}");
            };
            if got == name && matches(&data) {
                return (data, started.elapsed());
            }
            seen.push(format!("{got} {data}"));
        }
    }

    /// Waits at most [`WAIT`] for an event named `name` whose data `matches`.
    pub async fn wait(&mut self, name: &str, matches: impl Fn(&Value) -> bool) {
        self.wait_for(name, matches, WAIT).await;
    }

    /// Waits for the session's activity to become `state`; returns the activity and how
    /// long it took.
    pub async fn activity(
        &mut self,
        session: &str,
        state: &str,
        wait: Duration,
    ) -> (Value, Duration) {
        let (data, took) = self
            .wait_for(
                "session.activity",
                |d| d["sessionId"] == session && d["activity"]["state"] == state,
                wait,
            )
            .await;
        (data["activity"].clone(), took)
    }
}
