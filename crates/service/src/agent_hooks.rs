//! The sandbox image's `craftastic-hook`, run with a fake `tmux` that keeps the pane option
//! in a file: each agent's events, with the JSON the real CLIs give (captured from Gemini
//! CLI 0.61, Qwen Code 0.24 and OpenCode 1.18 in the image, without network or against a
//! fake model on loopback), become the state and detail `activity` reads; hostile input is
//! bounded.
//! And the hook files the image ships for Gemini CLI, Qwen Code and OpenCode name events
//! `craftastic-hook` knows, and are installed where those CLIs read them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

fn sandbox(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../sandbox")
        .join(file)
}

/// A pane whose `@craftastic_activity` lives in a file, written and read by a fake `tmux`.
struct Pane {
    dir: tempfile::TempDir,
}

impl Pane {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let tmux = dir.path().join("tmux");
        std::fs::write(
            &tmux,
            r#"#!/bin/sh
state=$(dirname "$0")/option
case $1 in
set-option)
    [ "$2 $3 $4 $5" = "-p -t %7 @craftastic_activity" ] || exit 1
    printf '%s' "$6" >"$state"
    ;;
show-options)
    [ "$2 $3 $4 $5" = "-pqv -t %7 @craftastic_activity" ] || exit 1
    cat "$state" 2>/dev/null
    ;;
esac
"#,
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmux, std::fs::Permissions::from_mode(0o755)).unwrap();
        Self { dir }
    }

    /// Runs `craftastic-hook ARGS` in the pane with `input` on standard input; its output.
    fn hook(&self, args: &[&str], input: &[u8]) -> String {
        self.run(args, input, true)
    }

    fn run(&self, args: &[&str], input: &[u8], in_tmux: bool) -> String {
        let path = format!(
            "{}:{}",
            self.dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut command = Command::new("sh");
        command
            .arg(sandbox("craftastic-hook"))
            .args(args)
            .env("PATH", path)
            .env_remove("TMUX_PANE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        if in_tmux {
            command.env("TMUX_PANE", "%7");
        }
        let mut child = command.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        // The hook may stop reading (it reads 64 KiB at most): a broken pipe is its right.
        let _ = stdin.write_all(input);
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "craftastic-hook {args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    /// The option's state and detail (`STATE STAMP [DETAIL]`), if it was written.
    fn state(&self) -> Option<(String, String)> {
        let raw = std::fs::read_to_string(self.dir.path().join("option")).ok()?;
        let mut parts = raw.splitn(3, ' ');
        let state = parts.next().unwrap().to_owned();
        let stamp = parts.next().expect("a stamp");
        assert!(stamp.parse::<f64>().is_ok(), "{raw}");
        Some((state, parts.next().unwrap_or("").to_owned()))
    }

    fn clear(&self) {
        let _ = std::fs::remove_file(self.dir.path().join("option"));
    }

    /// Runs the hook and checks the state it left, `None` for an untouched option.
    fn expect(&self, args: &[&str], input: &str, expected: Option<(&str, &str)>) {
        self.clear();
        self.hook(args, input.as_bytes());
        let found = self.state();
        assert_eq!(
            found.as_ref().map(|(s, d)| (s.as_str(), d.as_str())),
            expected,
            "craftastic-hook {args:?} with {input}"
        );
    }
}

#[test]
fn qwen_code_events_become_states() {
    let pane = Pane::new();
    let base = r#""session_id":"s","transcript_path":"/t.jsonl","cwd":"/workspace","permission_mode":"default""#;
    for (event, fields, expected) in [
        (
            "SessionStart",
            r#""source":"startup","model":"qwen3-coder-plus""#,
            Some(("idle", "")),
        ),
        (
            "UserPromptSubmit",
            r#""prompt":"hello there""#,
            Some(("working", "")),
        ),
        (
            "PreToolUse",
            r#""tool_name":"run_shell_command""#,
            Some(("working", "")),
        ),
        (
            "PermissionRequest",
            r#""tool_name":"run_shell_command","tool_input":{"command":"ls"}"#,
            Some(("permission", "approve run_shell_command")),
        ),
        (
            "Notification",
            r#""message":"Qwen Code needs your permission to use run_shell_command","notification_type":"permission_prompt","title":"Permission needed""#,
            Some((
                "permission",
                "Qwen Code needs your permission to use run_shell_command",
            )),
        ),
        (
            "Notification",
            r#""message":"Qwen Code is waiting for your input","notification_type":"idle_prompt""#,
            None,
        ),
        (
            "StopFailure",
            r#""error":"unknown","error_details":"Connection error. (cause: fetch failed)","last_assistant_message":"[API Error: Connection error. (cause: fetch failed)]""#,
            Some((
                "waiting",
                "stopped on an API error: Connection error. (cause: fetch failed)",
            )),
        ),
        (
            "StopFailure",
            r#""error":"rate_limit""#,
            Some(("waiting", "stopped on an API error")),
        ),
        ("Stop", r#""stop_hook_active":false"#, Some(("idle", ""))),
        (
            "SessionEnd",
            r#""reason":"prompt_input_exit""#,
            Some(("exited", "")),
        ),
        // /clear ends the session and starts another at once.
        ("SessionEnd", r#""reason":"clear""#, None),
        ("PostCompact", r#""trigger":"auto""#, None),
    ] {
        let input = format!(r#"{{{base},"hook_event_name":"{event}",{fields}}}"#);
        pane.expect(&["qwen", event], &input, expected);
        assert_eq!(pane.hook(&["qwen", event], input.as_bytes()), "");
    }
}

#[test]
fn gemini_cli_events_become_states_and_get_the_empty_answer() {
    let pane = Pane::new();
    let base = r#""session_id":"s","transcript_path":"/t.jsonl","cwd":"/workspace","timestamp":"2026-12-07T23:39:13.607Z""#;
    for (event, fields, expected) in [
        ("SessionStart", r#""source":"startup""#, Some(("idle", ""))),
        ("BeforeAgent", r#""prompt":"hello""#, Some(("working", ""))),
        (
            "BeforeTool",
            r#""tool_name":"run_shell_command""#,
            Some(("working", "")),
        ),
        (
            "Notification",
            r#""notification_type":"ToolPermission","message":"Tool Confirm Shell Command requires execution","details":{"type":"exec"}"#,
            Some((
                "permission",
                "Tool Confirm Shell Command requires execution",
            )),
        ),
        (
            "AfterAgent",
            r#""prompt":"hello","prompt_response":"hi","stop_hook_active":false"#,
            Some(("idle", "")),
        ),
        ("SessionEnd", r#""reason":"exit""#, Some(("exited", ""))),
        ("SessionEnd", r#""reason":"clear""#, None),
        ("BeforeModel", r#""llm_request":{}"#, None),
    ] {
        let input = format!(r#"{{{base},"hook_event_name":"{event}",{fields}}}"#);
        pane.expect(&["gemini", event], &input, expected);
        assert_eq!(pane.hook(&["gemini", event], input.as_bytes()), "{}\n");
    }
}

#[test]
fn opencode_events_become_states_and_an_error_outlasts_the_idle_after_it() {
    let pane = Pane::new();
    let status = |kind: &str| format!(r#"{{"sessionID":"ses_1","status":{{"type":"{kind}"}}}}"#);
    pane.expect(
        &["opencode", "session.status"],
        &status("busy"),
        Some(("working", "")),
    );
    pane.expect(
        &["opencode", "session.status"],
        r#"{"sessionID":"ses_1","status":{"type":"retry","attempt":3,"message":"Cannot connect to API: Was there a typo in the url or port?","next":1796687188992}}"#,
        Some((
            "working",
            "retrying: Cannot connect to API: Was there a typo in the url or port?",
        )),
    );
    pane.expect(
        &["opencode", "session.status"],
        &status("idle"),
        Some(("idle", "")),
    );
    pane.expect(
        &["opencode", "permission.asked"],
        r#"{"id":"per_1","sessionID":"ses_1","permission":"bash","patterns":["rm -rf build"],"metadata":{},"always":["rm *"]}"#,
        Some(("permission", "approve bash")),
    );
    pane.expect(
        &["opencode", "permission.replied"],
        r#"{"sessionID":"ses_1","requestID":"per_1","reply":"once"}"#,
        Some(("working", "")),
    );
    pane.expect(
        &["opencode", "question.asked"],
        r#"{"id":"que_1","sessionID":"ses_1","questions":[{"question":"Which database?","header":"DB","options":[]}]}"#,
        Some(("waiting", "Which database?")),
    );
    pane.expect(
        &["opencode", "session.error"],
        r#"{"sessionID":"ses_1","error":{"name":"MessageAbortedError","data":{"message":"aborted"}}}"#,
        Some(("idle", "interrupted")),
    );
    pane.expect(&["opencode", "session.idle"], "{}", None);

    // The error, then the idle OpenCode reports right after it: the session still waits,
    // until its next turn.
    pane.clear();
    pane.hook(
        &["opencode", "session.error"],
        br#"{"sessionID":"ses_1","error":{"name":"APIError","data":{"message":"invalid x-api-key","statusCode":401,"isRetryable":false}}}"#,
    );
    pane.hook(&["opencode", "session.status"], status("idle").as_bytes());
    assert_eq!(
        pane.state(),
        Some((
            "waiting".to_owned(),
            "stopped on an error: invalid x-api-key".to_owned()
        ))
    );
    pane.hook(&["opencode", "session.status"], status("busy").as_bytes());
    assert_eq!(pane.state().unwrap().0, "working");
    pane.expect(
        &["opencode", "session.error"],
        r#"{"error":{"name":"UnknownError"}}"#,
        Some(("waiting", "stopped on an error: UnknownError")),
    );
}

#[test]
fn hostile_input_is_bounded_and_never_fails_the_agent() {
    let pane = Pane::new();
    // A detail is one line of at most 160 characters.
    let message = format!("line one\nline\ttwo {}", "x".repeat(500));
    let input = serde_json::json!({"notification_type": "permission_prompt", "message": message});
    pane.expect(
        &["claude", "Notification"],
        &input.to_string(),
        Some((
            "permission",
            &format!("line one line two {}", "x".repeat(142)),
        )),
    );
    // Not JSON: the event still counts, without a detail.
    pane.expect(
        &["qwen", "PermissionRequest"],
        "{not json",
        Some(("permission", "")),
    );
    pane.expect(&["opencode", "session.status"], "[1, 2", None);
    // More than it reads: it stops at 64 KiB, and exits 0.
    let big = vec![b' '; 4 << 20];
    pane.clear();
    pane.hook(&["qwen", "UserPromptSubmit"], &big);
    assert_eq!(pane.state().unwrap().0, "working");
    // Unknown agents and events, and a pane outside tmux, leave the option alone.
    pane.expect(&["cursor", "Stop"], "{}", None);
    pane.expect(&["opencode", "message.part.delta"], "{}", None);
    pane.clear();
    pane.run(&["qwen", "Stop"], b"{}", false);
    assert_eq!(pane.state(), None);
    assert_eq!(pane.run(&["gemini", "BeforeAgent"], b"{}", false), "");
}

/// The `command` hooks of a CLI's settings file: event name and command.
fn settings_hooks(file: &str) -> Vec<(String, String)> {
    let settings: Value =
        serde_json::from_str(&std::fs::read_to_string(sandbox(file)).unwrap()).unwrap();
    let mut found = Vec::new();
    for (event, groups) in settings["hooks"].as_object().unwrap() {
        for group in groups.as_array().unwrap() {
            for hook in group["hooks"].as_array().unwrap() {
                assert_eq!(hook["type"], "command", "{file}: {event}");
                assert!(hook["timeout"].as_u64().unwrap() > 0, "{file}: {event}");
                found.push((event.clone(), hook["command"].as_str().unwrap().to_owned()));
            }
        }
    }
    found
}

/// The events `craftastic-hook AGENT …` acts on: the patterns of the `case` of events
/// under AGENT's branch (the lines indented one level in it, up to its `esac`).
fn known_events(agent: &str) -> Vec<String> {
    let script = std::fs::read_to_string(sandbox("craftastic-hook")).unwrap();
    let mut lines = script.lines().skip_while(|line| {
        !line
            .strip_suffix(')')
            .is_some_and(|patterns| patterns.split(" | ").any(|p| p == agent))
    });
    assert!(
        lines.next().is_some(),
        "no branch for {agent} in craftastic-hook"
    );
    let is_name = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
    };
    let mut events = Vec::new();
    for line in lines.take_while(|line| *line != "    esac") {
        let Some(branch) = line.strip_prefix("    ") else {
            continue;
        };
        if let Some((patterns, _)) = branch.split_once(')')
            && patterns.split(" | ").all(is_name)
        {
            events.extend(patterns.split(" | ").map(str::to_owned));
        }
    }
    events
}

#[test]
fn the_images_gemini_and_qwen_settings_call_the_hook_on_events_it_knows() {
    for (file, agent, expected) in [
        (
            "gemini-system-defaults.json",
            "gemini",
            &[
                "SessionStart",
                "BeforeAgent",
                "BeforeTool",
                "AfterTool",
                "Notification",
                "AfterAgent",
                "SessionEnd",
            ][..],
        ),
        (
            "qwen-system-defaults.json",
            "qwen",
            &[
                "SessionStart",
                "UserPromptSubmit",
                "PreToolUse",
                "PostToolUse",
                "PermissionRequest",
                "Notification",
                "Stop",
                "StopFailure",
                "SessionEnd",
            ][..],
        ),
    ] {
        let hooks = settings_hooks(file);
        let events: Vec<&str> = hooks.iter().map(|(e, _)| e.as_str()).collect();
        assert_eq!(events.len(), expected.len(), "{file}: {events:?}");
        for event in expected {
            assert!(events.contains(event), "{file} lacks {event}");
        }
        let known = known_events(agent);
        for (event, command) in &hooks {
            assert_eq!(
                command,
                &format!("/usr/local/bin/craftastic-hook {agent} {event}"),
                "{file}"
            );
            assert!(
                known.contains(event),
                "craftastic-hook {agent} ignores {event}: {known:?}"
            );
        }
    }
}

#[test]
fn the_opencode_plugin_passes_on_events_the_hook_knows_and_the_image_installs_it() {
    let plugin = std::fs::read_to_string(sandbox("opencode-plugin.js")).unwrap();
    let list = plugin
        .split_once("const FORWARDED = new Set([")
        .and_then(|(_, rest)| rest.split_once("])"))
        .expect("the plugin's FORWARDED list")
        .0;
    let forwarded: Vec<&str> = list
        .split(',')
        .map(|e| e.trim().trim_matches('"'))
        .filter(|e| !e.is_empty())
        .collect();
    let known = known_events("opencode");
    assert!(forwarded.len() >= 5, "{forwarded:?}");
    for event in &forwarded {
        assert!(
            known.contains(&(*event).to_owned()),
            "craftastic-hook opencode ignores {event}: {known:?}"
        );
    }
    assert!(plugin.contains(r#"const HOOK = "/usr/local/bin/craftastic-hook""#));

    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(sandbox("opencode.json")).unwrap()).unwrap();
    let plugins = config["plugin"].as_array().unwrap();
    assert_eq!(plugins.len(), 1, "{config}");
    let installed = plugins[0]
        .as_str()
        .unwrap()
        .strip_prefix("file://")
        .unwrap();

    // Each file goes where its CLI reads it.
    let dockerfile = std::fs::read_to_string(sandbox("Dockerfile")).unwrap();
    for copy in [
        "COPY craftastic-hook /usr/local/bin/craftastic-hook".to_owned(),
        "COPY gemini-system-defaults.json /etc/gemini-cli/system-defaults.json".to_owned(),
        "COPY qwen-system-defaults.json /etc/qwen-code/system-defaults.json".to_owned(),
        "COPY opencode.json /etc/opencode/opencode.json".to_owned(),
        format!("COPY opencode-plugin.js {installed}"),
    ] {
        assert!(
            dockerfile.lines().any(|l| l == copy),
            "the Dockerfile lacks `{copy}`"
        );
    }
}
