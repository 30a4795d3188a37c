//! Agents' activity as tests see it: fake agent CLIs that fire the real hooks' formats on
//! cue, through the hook configuration the image ships, and a reader of `GET /api/events`.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{TestServer, derived_image, docker_cli, sandbox_image};

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

/// What a fake Gemini CLI or Qwen Code does with the image's system defaults: for an event,
/// every command hook listed under it runs as the CLI runs it (`bash -c`, in the working
/// folder, the event's JSON on standard input, the project folder in the environment).
/// `$settings` and `$cli` come first.
const SETTINGS_HOOKS: &str = r#"
fire() {
    jq -r --arg event "$1" '.hooks[$event][]?.hooks[]? | select(.type == "command") | .command' "$settings" |
        while IFS= read -r command; do
            printf '{"session_id":"s-1","transcript_path":"","cwd":"%s","hook_event_name":"%s","timestamp":"2026-01-01T00:00:00.000Z",%s}' \
                "$PWD" "$1" "$2" |
                GEMINI_PROJECT_DIR=$PWD CLAUDE_PROJECT_DIR=$PWD QWEN_PROJECT_DIR=$PWD bash -c "$command" >/dev/null
        done
}
echo "fake-$cli: ready"
"#;

/// A fake `gemini`: fires Gemini CLI's hook events, with its JSON, from the image's
/// `/etc/gemini-cli/system-defaults.json`, as Gemini CLI 0.61 does in a trusted folder.
pub fn fake_gemini() -> String {
    let cues = r#"fire SessionStart '"source":"startup"'
while read -r cue; do
    case $cue in
    prompt) fire BeforeAgent '"prompt":"hello"' ;;
    permission)
        fire BeforeTool '"tool_name":"run_shell_command","tool_input":{"command":"rm -rf build"}'
        fire Notification '"notification_type":"ToolPermission","message":"Tool Confirm Shell Command requires execution","details":{"type":"exec","title":"Confirm Shell Command","command":"rm -rf build"}' ;;
    tool) fire AfterTool '"tool_name":"run_shell_command","tool_input":{"command":"rm -rf build"},"tool_response":{"llmContent":""}' ;;
    stop) fire AfterAgent '"prompt":"hello","prompt_response":"done","stop_hook_active":false' ;;
    exit) fire SessionEnd '"reason":"exit"'; exit 0 ;;
    esac
done
"#;
    format!(
        "#!/bin/sh\nsettings=/etc/gemini-cli/system-defaults.json cli=gemini\n{SETTINGS_HOOKS}{cues}"
    )
}

/// A fake `qwen`: fires Qwen Code's hook events (Claude Code's names), with its JSON, from
/// the image's `/etc/qwen-code/system-defaults.json`, as Qwen Code 0.24 does.
pub fn fake_qwen() -> String {
    let cues = r#"fire SessionStart '"permission_mode":"default","source":"startup","model":"qwen3-coder-plus"'
while read -r cue; do
    case $cue in
    prompt) fire UserPromptSubmit '"permission_mode":"default","prompt":"hello"' ;;
    permission)
        fire PermissionRequest '"permission_mode":"default","tool_name":"run_shell_command","tool_input":{"command":"rm -rf build"}'
        fire Notification '"permission_mode":"default","message":"Qwen Code needs your permission to use run_shell_command","notification_type":"permission_prompt","title":"Permission needed"' ;;
    failure)
        fire StopFailure '"permission_mode":"default","error":"unknown","error_details":"Connection error. (cause: fetch failed)","last_assistant_message":"[API Error: Connection error. (cause: fetch failed)]"'
        fire Notification '"permission_mode":"default","message":"Qwen Code is waiting for your input","notification_type":"idle_prompt","title":"Waiting for input"' ;;
    stop) fire Stop '"permission_mode":"default","stop_hook_active":false,"last_assistant_message":"done"' ;;
    exit) fire SessionEnd '"permission_mode":"default","reason":"prompt_input_exit"'; exit 0 ;;
    esac
done
"#;
    format!(
        "#!/bin/sh\nsettings=/etc/qwen-code/system-defaults.json cli=qwen\n{SETTINGS_HOOKS}{cues}"
    )
}

/// A fake `opencode` (run by Node.js): loads the plugins the image's
/// `/etc/opencode/opencode.json` lists as OpenCode 1.18 loads them (each export called with
/// the plugin context, its `event` hook given every event) and publishes OpenCode's events,
/// with their properties, on cue.
pub const FAKE_OPENCODE: &str = r#"import { readFileSync } from "node:fs"
import { createInterface } from "node:readline"

const config = JSON.parse(readFileSync("/etc/opencode/opencode.json", "utf8"))
const context = { directory: process.cwd(), worktree: process.cwd(), project: {}, client: {} }
const hooks = []
for (const spec of config.plugin ?? []) {
  for (const plugin of Object.values(await import(spec))) hooks.push(await plugin(context))
}
let count = 0
const publish = (type, properties) => {
  for (const hook of hooks) hook.event?.({ event: { id: `evt_${count++}`, type, properties } })
}
const session = "ses_main"
const status = (sessionID, type) => publish("session.status", { sessionID, status: { type } })
console.log("fake-opencode: ready")
for await (const cue of createInterface({ input: process.stdin })) {
  switch (cue.trim()) {
    case "prompt":
      status(session, "busy")
      break
    case "subagent":
      publish("session.created", { sessionID: "ses_sub", info: { id: "ses_sub", parentID: session, title: "explore" } })
      status("ses_sub", "busy")
      status("ses_sub", "idle")
      break
    case "permission":
      publish("permission.asked", { id: "per_1", sessionID: session, permission: "bash", patterns: ["rm -rf build"], metadata: {}, always: ["rm *"] })
      break
    case "reply":
      publish("permission.replied", { sessionID: session, requestID: "per_1", reply: "once" })
      break
    case "error":
      publish("session.error", { sessionID: session, error: { name: "APIError", data: { message: "invalid x-api-key", statusCode: 401, isRetryable: false } } })
      status(session, "idle")
      break
    case "stop":
      status(session, "idle")
      break
    case "exit":
      process.exit(3)
  }
}
"#;

/// The sandbox image with fake agent CLIs in place of the real `claude` ([`FAKE_CLAUDE`]),
/// `gemini` ([`fake_gemini`]), `qwen` ([`fake_qwen`]) and `opencode` ([`FAKE_OPENCODE`]),
/// built once per test run (the engine's cache makes a rebuild instant).
pub fn fake_hooks_image() -> &'static str {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let tag = derived_image("sandbox-fake-hooks");
        let dir = tempfile::tempdir().unwrap();
        let opencode = "#!/bin/sh\nexec node /usr/local/lib/fake-opencode.mjs \"$@\"\n";
        let fakes = [
            ("claude", FAKE_CLAUDE.to_owned()),
            ("gemini", fake_gemini()),
            ("qwen", fake_qwen()),
            ("opencode", opencode.to_owned()),
        ];
        let mut dockerfile = format!("FROM {}\nUSER root\n", sandbox_image());
        for (name, script) in fakes {
            std::fs::write(dir.path().join(name), script).unwrap();
            dockerfile.push_str(&format!(
                "RUN rm -f /usr/local/bin/{name}\nCOPY {name} /usr/local/bin/{name}\n\
                 RUN chmod 755 /usr/local/bin/{name}\n"
            ));
        }
        std::fs::write(dir.path().join("fake-opencode.mjs"), FAKE_OPENCODE).unwrap();
        dockerfile.push_str("COPY fake-opencode.mjs /usr/local/lib/fake-opencode.mjs\nUSER dev\n");
        std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
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
