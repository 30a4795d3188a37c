//! What sessions are doing, against real Docker and tmux, pushed through `GET /api/events`:
//! a terminal works while a command runs and is idle at its prompt; a fake Claude Code that
//! fires the real hooks' formats through the image's `craftastic-hook` moves its session
//! through working, permission and idle at once, a dialog on its screen makes it
//! `permission` without a hook, and its exit makes it `exited`; fake Gemini CLI, Qwen Code
//! and OpenCode run the hooks of the configuration the image ships for them (its system
//! defaults and OpenCode plugin) the way the real CLIs do, and move their sessions the same
//! way; the statuses of sessions, workspaces and environments are pushed too. Each test
//! prints how long a change took to reach the stream. Another user's stream stays silent.

use std::time::Duration;

use craftastic_testkit::activity::{Events, WAIT, fake_hooks_image};
use craftastic_testkit::{
    Backend, ServerOptions, TestServer, docker_cli, fixture_repo, sandbox_image,
};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

struct Fixture {
    server: TestServer,
    token: String,
    env: String,
    container: String,
    _roots: tempfile::TempDir,
}

async fn fixture(image: &str) -> Fixture {
    let roots = tempfile::tempdir().unwrap();
    let repo = fixture_repo(roots.path(), "app").display().to_string();
    let server = TestServer::start_with(
        Backend::Sqlite,
        ServerOptions {
            local_roots: vec![roots.path().to_owned()],
            sandbox_image: image.to_owned(),
            ..Default::default()
        },
    )
    .await;
    let token = server.register("ada@example.com", PASSWORD).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let env = server.made_environment(&token, "app", &repo).await;
    assert_eq!(env["status"], "running", "{env}");
    let env = env["id"].as_str().unwrap().to_owned();
    let container = server.container_of(&token, &env, "main").await;
    Fixture {
        server,
        token,
        env,
        container,
        _roots: roots,
    }
}

impl Fixture {
    async fn session(&self, body: Value) -> Value {
        let (status, session) = self
            .server
            .call("POST", "/api/sessions", Some(&self.token), Some(body))
            .await;
        assert_eq!(status, 201, "{session}");
        session
    }

    /// An agent of `agent_type` with `credential` (an API key), and a session of it that
    /// became `idle` on the event stream.
    async fn agent_session(
        &self,
        events: &mut Events,
        agent_type: &str,
        credential: &str,
    ) -> Value {
        let (status, agent) = self
            .server
            .call(
                "POST",
                "/api/agents",
                Some(&self.token),
                Some(json!({"name": agent_type, "type": agent_type,
                            "credential": {"type": "api-key", "value": credential}})),
            )
            .await;
        assert_eq!(status, 201, "{agent}");
        let session = self
            .session(json!({"environmentId": self.env, "sessionType": "agent",
                            "agentId": agent["id"], "name": agent_type}))
            .await;
        events
            .activity(session["id"].as_str().unwrap(), "idle", WAIT)
            .await;
        session
    }

    /// Types `cue` and Enter into the session, and waits for the next change of its
    /// activity, which must be `state` (and `detail`, when given), within a hook's time.
    async fn cue(
        &self,
        events: &mut Events,
        session: &Value,
        cue: &str,
        state: &str,
        detail: Option<&str>,
    ) {
        let id = session["id"].as_str().unwrap();
        self.type_keys(session, &[cue, "Enter"]);
        let (data, took) = events
            .wait_for("session.activity", |d| d["sessionId"] == id, WAIT)
            .await;
        let activity = &data["activity"];
        println!(
            "{}: hook {cue}, {activity} on the event stream after {took:?}",
            session["name"].as_str().unwrap()
        );
        assert_eq!(activity["state"], state, "after {cue}: {activity}");
        if let Some(detail) = detail {
            assert_eq!(activity["detail"], detail, "after {cue}: {activity}");
        }
        assert!(
            took < Duration::from_secs(4),
            "a hook's signal took {took:?} to reach the stream"
        );
    }

    /// Types `keys` into the session's tmux session, as a viewer would.
    fn type_keys(&self, session: &Value, keys: &[&str]) {
        let target = format!("={}:", session["tmuxSessionName"].as_str().unwrap());
        let mut args = vec!["exec", &self.container, "tmux", "send-keys", "-t", &target];
        args.extend_from_slice(keys);
        docker_cli(&args);
    }
}

#[tokio::test]
async fn a_terminal_is_working_while_a_command_runs_and_idle_at_its_prompt() {
    let f = fixture(sandbox_image()).await;
    let mut events = Events::open(&f.server, &f.token).await;
    let session = f.session(json!({"environmentId": f.env})).await;
    let id = session["id"].as_str().unwrap();
    assert_eq!(session["activity"]["state"], "unknown");
    events.activity(id, "idle", WAIT).await;

    f.type_keys(&session, &["sleep 30", "Enter"]);
    let (activity, took) = events.activity(id, "working", WAIT).await;
    assert_eq!(activity["detail"], "sleep");
    println!("a command that started was `working` on the event stream after {took:?}");
    let (_, got) = f
        .server
        .call("GET", &format!("/api/sessions/{id}"), Some(&f.token), None)
        .await;
    assert_eq!(got["activity"]["state"], "working", "{got}");
    assert_eq!(got["activity"]["detail"], "sleep");

    f.type_keys(&session, &["C-c"]);
    let (_, took) = events.activity(id, "idle", WAIT).await;
    println!("a command that ended was `idle` on the event stream after {took:?}");
    let (_, envs) = f
        .server
        .call("GET", "/api/environments", Some(&f.token), None)
        .await;
    assert_eq!(
        envs["environments"][0]["sessions"][0]["activity"]["state"], "idle",
        "{envs}"
    );

    // Statuses are pushed too: the shell's end, then the environment stopped.
    f.type_keys(&session, &["exit", "Enter"]);
    events
        .wait("session.status", |d| {
            d["sessionId"] == id && d["status"] == "dead"
        })
        .await;
    let (status, _) = f
        .server
        .call(
            "POST",
            &format!("/api/environments/{}/stop", f.env),
            Some(&f.token),
            None,
        )
        .await;
    assert_eq!(status, 200);
    events
        .wait("workspace.status", |d| {
            d["environmentId"] == f.env && d["status"] == "stopped"
        })
        .await;
    events
        .wait("environment.status", |d| {
            d["environmentId"] == f.env && d["status"] == "stopped"
        })
        .await;
}

#[tokio::test]
async fn an_agent_follows_its_hooks_at_once_its_screen_after_a_debounce_and_its_exit() {
    let f = fixture(fake_hooks_image()).await;
    let (status, agent) = f
        .server
        .call(
            "POST",
            "/api/agents",
            Some(&f.token),
            Some(json!({"name": "claude", "type": "claude-code",
                        "credential": {"type": "api-key", "value": "sk-test"}})),
        )
        .await;
    assert_eq!(status, 201, "{agent}");
    let mut events = Events::open(&f.server, &f.token).await;
    // Another user listens too, and must hear nothing of Ada's sessions.
    let bob = f.server.register("bob@example.com", PASSWORD).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut bobs = Events::open(&f.server, &bob).await;

    let session = f
        .session(json!({"environmentId": f.env, "sessionType": "agent", "agentId": agent["id"]}))
        .await;
    let id = session["id"].as_str().unwrap();
    events.activity(id, "idle", WAIT).await;

    for (cue, state) in [
        ("prompt", "working"),
        ("permission", "permission"),
        ("stop", "idle"),
    ] {
        f.type_keys(&session, &[cue, "Enter"]);
        let (activity, took) = events.activity(id, state, WAIT).await;
        println!("hook {cue}: `{state}` on the event stream after {took:?}");
        assert!(
            took < Duration::from_secs(4),
            "a hook's signal took {took:?} to reach the stream"
        );
        if state == "permission" {
            assert_eq!(
                activity["detail"],
                "Claude needs your permission to use Bash"
            );
        }
    }

    // A dialog on the screen that no hook announced.
    f.type_keys(&session, &["dialog", "Enter"]);
    let (activity, took) = events.activity(id, "permission", WAIT).await;
    assert_eq!(activity["detail"], "asks to approve an action");
    println!("a dialog on the screen: `permission` on the event stream after {took:?}");
    f.type_keys(&session, &["clear", "Enter"]);
    events.activity(id, "idle", WAIT).await;

    f.type_keys(&session, &["exit", "Enter"]);
    let (activity, took) = events.activity(id, "exited", WAIT).await;
    assert_eq!(activity["detail"], "status 3");
    println!("the CLI's exit: `exited` on the event stream after {took:?}");

    if let Some((name, data)) = bobs.next(Duration::from_millis(200)).await {
        panic!("another user's stream got {name} {data}");
    }
}

#[tokio::test]
async fn gemini_cli_follows_the_hooks_of_the_images_system_defaults() {
    let f = fixture(fake_hooks_image()).await;
    let mut events = Events::open(&f.server, &f.token).await;
    let session = f.agent_session(&mut events, "gemini-cli", "k-test").await;
    f.cue(&mut events, &session, "prompt", "working", None)
        .await;
    f.cue(
        &mut events,
        &session,
        "permission",
        "permission",
        Some("Tool Confirm Shell Command requires execution"),
    )
    .await;
    f.cue(&mut events, &session, "tool", "working", None).await;
    f.cue(&mut events, &session, "stop", "idle", None).await;
    f.cue(&mut events, &session, "exit", "exited", None).await;
}

#[tokio::test]
async fn qwen_code_follows_the_hooks_of_the_images_system_defaults() {
    let f = fixture(fake_hooks_image()).await;
    let mut events = Events::open(&f.server, &f.token).await;
    let session = f.agent_session(&mut events, "qwen-coder", "k-test").await;
    f.cue(&mut events, &session, "prompt", "working", None)
        .await;
    // A permission request, then its notification: the notification's message stays.
    let id = session["id"].as_str().unwrap();
    f.type_keys(&session, &["permission", "Enter"]);
    events
        .wait_for(
            "session.activity",
            |d| {
                d["sessionId"] == id
                    && d["activity"]["detail"]
                        == "Qwen Code needs your permission to use run_shell_command"
            },
            WAIT,
        )
        .await;
    f.cue(&mut events, &session, "prompt", "working", None)
        .await;
    // An API error ends the turn; the idle prompt's notification after it changes nothing.
    f.cue(
        &mut events,
        &session,
        "failure",
        "waiting",
        Some("stopped on an API error: Connection error. (cause: fetch failed)"),
    )
    .await;
    f.cue(&mut events, &session, "prompt", "working", None)
        .await;
    f.cue(&mut events, &session, "stop", "idle", None).await;
    f.cue(&mut events, &session, "exit", "exited", None).await;
}

#[tokio::test]
async fn opencode_follows_the_events_its_image_plugin_passes_on() {
    let f = fixture(fake_hooks_image()).await;
    let mut events = Events::open(&f.server, &f.token).await;
    let session = f
        .agent_session(&mut events, "opencode", "anthropic:sk-test")
        .await;
    f.cue(&mut events, &session, "prompt", "working", None)
        .await;
    // A subagent's session going idle is not the session's: the next change is the
    // permission request.
    f.type_keys(&session, &["subagent", "Enter"]);
    f.cue(
        &mut events,
        &session,
        "permission",
        "permission",
        Some("approve bash"),
    )
    .await;
    f.cue(&mut events, &session, "reply", "working", None).await;
    // An error ends the turn, and the session goes idle right after: it still waits.
    f.cue(
        &mut events,
        &session,
        "error",
        "waiting",
        Some("stopped on an error: invalid x-api-key"),
    )
    .await;
    f.cue(&mut events, &session, "prompt", "working", None)
        .await;
    f.cue(&mut events, &session, "stop", "idle", None).await;
    f.cue(&mut events, &session, "exit", "exited", Some("status 3"))
        .await;
}

#[tokio::test]
async fn the_event_stream_needs_a_sign_in() {
    let server = TestServer::start(Backend::Sqlite).await;
    let (status, body) = server.call("GET", "/api/events", None, None).await;
    assert_eq!(status, 401, "{body}");
}
