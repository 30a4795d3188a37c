//! Agents and agent sessions: credentials sealed at rest, the CRUD routes and their answers
//! to bad input, and agent sessions against the real Docker engine and real tmux, with a
//! fake `claude` in a test image that prints where it found its credential.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use craftastic_domain::AgentId;
use craftastic_service::agents::credential_context;
use craftastic_service::crypto::{Cipher, CryptoError};
use craftastic_testkit::{
    Backend, ENCRYPTION_KEY, ServerOptions, TestServer, derived_image, docker_cli, fixture_repo,
    sample_host_command_lines, sandbox_image,
};
use serde_json::{Value, json};

#[path = "agents_api/state.rs"]
mod state;

const PASSWORD: &str = "correct horse battery";
const SEEN: Duration = Duration::from_secs(20);

/// What the fake CLIs print: each place a credential can reach them, the mode of the
/// credentials file, the arguments they got (a resume flag) and how many turns of an
/// earlier conversation they found where the real CLI keeps it; then they add a turn there
/// and wait for a line, so that they stay running while the test looks at the processes.
/// The option that sets a CLI's hooks comes first; they print it on a line of its own.
const FAKE_CLAUDE: &str = r#"#!/bin/sh
if [ "$1" = --settings ]; then
    echo "fake-claude: hooks on $(printf '%s' "$2" | jq -r '.hooks | keys | join(",")')"
    shift 2
fi
echo "fake-claude: args=[$*]"
echo "fake-claude: ANTHROPIC_API_KEY=${ANTHROPIC_API_KEY:-unset}"
echo "fake-claude: CLAUDE_CODE_OAUTH_TOKEN=${CLAUDE_CODE_OAUTH_TOKEN:-unset}"
file="$CLAUDE_CONFIG_DIR/.credentials.json"
if [ -f "$file" ]; then
    echo "fake-claude: credentials file $file mode $(stat -c %a "$file") holds $(cat "$file")"
fi
chat="$CLAUDE_CONFIG_DIR/projects/-workspace/1.jsonl"
echo "fake-claude: earlier turns $(cat "$chat" 2>/dev/null | wc -l)"
mkdir -p "$(dirname "$chat")" && echo turn >>"$chat"
echo "fake-claude: waiting"
read -r line
"#;

const FAKE_CODEX: &str = r#"#!/bin/sh
if [ "$1" = -c ]; then
    echo "fake-codex: config $2"
    shift 2
fi
echo "fake-codex: args=[$*]"
echo "fake-codex: OPENAI_API_KEY=${OPENAI_API_KEY:-unset}"
file="$CODEX_HOME/auth.json"
if [ -f "$file" ]; then
    echo "fake-codex: auth file $file mode $(stat -c %a "$file") holds $(cat "$file")"
fi
chat="$CODEX_HOME/sessions/2026/01/02/rollout-2026-01-02T10-00-00-1.jsonl"
echo "fake-codex: earlier turns $(cat "$chat" 2>/dev/null | wc -l)"
mkdir -p "$(dirname "$chat")" && echo turn >>"$chat"
echo "fake-codex: waiting"
read -r line
"#;

const FAKE_OPENCODE: &str = r#"#!/bin/sh
echo "fake-opencode: args=[$*]"
echo "fake-opencode: ANTHROPIC_API_KEY=${ANTHROPIC_API_KEY:-unset}"
file="$XDG_DATA_HOME/opencode/auth.json"
if [ -f "$file" ]; then
    echo "fake-opencode: auth file $file mode $(stat -c %a "$file") holds $(cat "$file")"
fi
chat="$XDG_DATA_HOME/opencode/storage/session/global/ses_1.json"
echo "fake-opencode: earlier turns $(cat "$chat" 2>/dev/null | wc -l)"
mkdir -p "$(dirname "$chat")" && echo turn >>"$chat"
echo "fake-opencode: waiting"
read -r line
"#;

/// The test image: the sandbox with the fake `claude`, `codex` and `opencode` in place of
/// any real ones. Built once per test run (the engine's cache makes a rebuild instant).
fn fake_agent_image() -> &'static str {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let tag = derived_image("sandbox-fake-agents");
        let dir = tempfile::tempdir().unwrap();
        let fakes = [
            ("claude", FAKE_CLAUDE),
            ("codex", FAKE_CODEX),
            ("opencode", FAKE_OPENCODE),
        ];
        let mut dockerfile = format!("FROM {}\nUSER root\n", sandbox_image());
        for (name, script) in fakes {
            std::fs::write(dir.path().join(name), script).unwrap();
            dockerfile.push_str(&format!(
                "RUN rm -f /usr/local/bin/{name}\nCOPY {name} /usr/local/bin/{name}\n\
                 RUN chmod 755 /usr/local/bin/{name}\n"
            ));
        }
        dockerfile.push_str("USER dev\n");
        std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
        docker_cli(&["build", "-q", "-t", &tag, &dir.path().display().to_string()]);
        tag
    })
}

async fn register(server: &TestServer, email: &str) -> String {
    server.register(email, PASSWORD).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

/// The first registered user is the admin; these tests want two plain users as well.
async fn users(server: &TestServer) -> (String, String) {
    register(server, "admin@example.com").await;
    (
        register(server, "ada@example.com").await,
        register(server, "bob@example.com").await,
    )
}

#[tokio::test]
async fn credentials_are_sealed_in_the_database_and_a_wrong_key_fails_loudly() {
    let server = TestServer::start(Backend::Sqlite).await;
    let (ada, _) = users(&server).await;
    let canary = format!("sk-canary-{}", uuid::Uuid::new_v4().simple());
    let (code, agent) = server
        .call(
            "POST",
            "/api/agents",
            Some(&ada),
            Some(json!({"name": "claude", "type": "claude-code",
                        "credential": {"type": "api-key", "value": canary}})),
        )
        .await;
    assert_eq!(code, 201, "{agent}");
    assert_eq!(agent["hasCredential"], true);
    assert_eq!(agent["credentialType"], "api-key");
    let agent_id: AgentId = id(&agent).parse().unwrap();
    let (_, other) = server
        .call(
            "POST",
            "/api/agents",
            Some(&ada),
            Some(json!({"name": "other", "type": "gemini-cli",
                        "credential": {"type": "api-key", "value": "k"}})),
        )
        .await;
    let other_id: AgentId = id(&other).parse().unwrap();

    let sealed = server
        .db
        .store
        .agent_credential(agent_id)
        .await
        .unwrap()
        .expect("a stored credential");
    let cipher = Cipher::new(&ENCRYPTION_KEY);
    assert!(!sealed.sealed.contains(&canary), "the row holds the key");
    assert!(sealed.sealed.starts_with(&format!("{}.", cipher.key_id())));
    assert_eq!(
        cipher
            .open(&sealed.sealed, &credential_context(agent_id))
            .unwrap(),
        canary.as_bytes()
    );
    let wrong = Cipher::new(&[7; 32]);
    assert!(matches!(
        wrong.open(&sealed.sealed, &credential_context(agent_id)),
        Err(CryptoError::WrongKey { .. })
    ));
    assert_eq!(
        cipher.open(&sealed.sealed, &credential_context(other_id)),
        Err(CryptoError::Tampered),
        "a sealed value copied to another agent's row does not open"
    );
    let refused = wrong
        .check_store(server.db.store.as_ref())
        .await
        .unwrap_err();
    assert!(
        refused.contains("cannot decrypt secrets stored with key id"),
        "{refused}"
    );

    let db_file = server.db.url.trim_start_matches("sqlite://").to_owned();
    for path in [db_file.clone(), format!("{db_file}-wal")] {
        if let Ok(bytes) = std::fs::read(&path) {
            assert!(
                !bytes.windows(canary.len()).any(|w| w == canary.as_bytes()),
                "{path} holds the key in plain text"
            );
        }
    }
    for (method, path) in [
        ("GET", "/api/agents".to_owned()),
        ("GET", format!("/api/agents/{agent_id}")),
    ] {
        let (code, answer) = server.call(method, &path, Some(&ada), None).await;
        assert_eq!(code, 200, "{answer}");
        assert!(!answer.to_string().contains(&canary), "{answer}");
        assert!(!answer.to_string().contains("sk-canary"), "{answer}");
    }
    let audit = server.db.store.list_audit(None, 50).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "agents.create" && e.target == Some(agent_id.to_string()))
    );
    assert!(
        !format!("{audit:?}").contains(&canary),
        "the audit log holds the key"
    );
}

#[tokio::test]
async fn agents_are_created_read_renamed_recredentialed_and_deleted() {
    let server = TestServer::start(Backend::Sqlite).await;
    let (ada, _) = users(&server).await;
    let call = |method: &'static str, path: String, body: Option<Value>| {
        let server = &server;
        let ada = ada.clone();
        async move { server.call(method, &path, Some(&ada), body).await }
    };

    let (code, agent) = call(
        "POST",
        "/api/agents".into(),
        Some(json!({"name": "gemini", "type": "gemini-cli"})),
    )
    .await;
    assert_eq!(code, 201, "{agent}");
    assert_eq!(agent["name"], "gemini");
    assert_eq!(agent["type"], "gemini-cli");
    assert_eq!(agent["hasCredential"], false);
    assert!(agent.get("credentialType").is_none(), "{agent}");
    assert!(agent["userId"].is_string() && agent["createdAt"].is_string());
    let path = format!("/api/agents/{}", id(&agent));

    let (code, got) = call("GET", path.clone(), None).await;
    assert_eq!((code, &got["name"]), (200, &json!("gemini")));
    let (code, list) = call("GET", "/api/agents".into(), None).await;
    assert_eq!(code, 200);
    assert_eq!(list["agents"].as_array().unwrap().len(), 1);

    let oauth = json!({"access_token": "ya29.x", "refresh_token": "1//y", "expiry_date": 1});
    let (code, updated) = call(
        "PATCH",
        path.clone(),
        Some(json!({"name": "gemini-2", "credential": {"type": "oauth", "value": oauth.to_string()}})),
    )
    .await;
    assert_eq!(code, 200, "{updated}");
    assert_eq!(updated["name"], "gemini-2");
    assert_eq!(updated["hasCredential"], true);
    assert_eq!(updated["credentialType"], "oauth");
    assert!(!updated.to_string().contains("ya29"), "{updated}");

    let (code, kept) = call("PATCH", path.clone(), Some(json!({"name": "gemini-3"}))).await;
    assert_eq!(code, 200, "{kept}");
    assert_eq!(
        kept["credentialType"], "oauth",
        "leaving credential out keeps it"
    );

    let (code, cleared) = call("PATCH", path.clone(), Some(json!({"credential": null}))).await;
    assert_eq!(code, 200, "{cleared}");
    assert_eq!(cleared["hasCredential"], false);
    assert!(cleared.get("credentialType").is_none(), "{cleared}");
    assert_eq!(cleared["name"], "gemini-3");

    let (code, _) = call("DELETE", path.clone(), None).await;
    assert_eq!(code, 204);
    let (code, gone) = call("GET", path.clone(), None).await;
    assert_eq!(code, 404, "{gone}");
    assert_eq!(gone["error"], "agent not found");
    let (code, _) = call("DELETE", path, None).await;
    assert_eq!(code, 404);

    let actions: Vec<(String, String)> = server
        .db
        .store
        .list_audit(None, 50)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action.starts_with("agents."))
        .map(|e| (e.action, e.details.to_string()))
        .collect();
    for action in [
        "agents.create",
        "agents.update",
        "agents.credential",
        "agents.delete",
    ] {
        assert!(
            actions.iter().any(|(a, _)| a == action),
            "{action} is audited: {actions:?}"
        );
    }
    assert!(actions.iter().any(|(_, d)| d.contains("\"removed\"")));
    assert!(!format!("{actions:?}").contains("ya29"));
}

#[tokio::test]
async fn bad_agent_input_gets_clear_4xx_answers() {
    let server = TestServer::start(Backend::Sqlite).await;
    let (ada, bob) = users(&server).await;
    let post = |body: Value| {
        let server = &server;
        let ada = ada.clone();
        async move {
            server
                .call("POST", "/api/agents", Some(&ada), Some(body))
                .await
        }
    };

    let (code, e) = post(json!({"name": "x", "type": "aider"})).await;
    assert_eq!(code, 422, "{e}");
    assert_eq!(
        e["error"],
        "type must be one of claude-code, gemini-cli, qwen-coder, cursor-cli, codex, opencode; \"aider\" is not one of them"
    );
    assert!(e["details"]["fields"]["type"].is_string());

    for bad in ["", "a b", "-x", "../x", &"x".repeat(65)] {
        let (code, e) = post(json!({"name": bad, "type": "claude-code"})).await;
        assert_eq!(code, 422, "{bad:?}: {e}");
        assert!(e["details"]["fields"]["name"].is_string(), "{e}");
    }
    let (code, e) = post(json!({"name": "", "type": "nope",
                                "credential": {"type": "password", "value": "x"}}))
    .await;
    assert_eq!(code, 422, "{e}");
    let fields = &e["details"]["fields"];
    assert!(
        fields["name"].is_string()
            && fields["type"].is_string()
            && fields["credential.type"].is_string(),
        "every bad field is named at once: {e}"
    );

    let (code, e) = post(json!({"name": "o", "type": "claude-code",
                                "credential": {"type": "oauth", "value": "not json"}}))
    .await;
    assert_eq!(code, 422, "{e}");
    assert!(e["error"].as_str().unwrap().contains("JSON object"), "{e}");
    let (code, e) = post(json!({"name": "o", "type": "claude-code",
                                "credential": {"type": "oauth", "value": "[1]"}}))
    .await;
    assert_eq!(code, 422, "{e}");
    let (code, e) = post(json!({"name": "k", "type": "claude-code",
                                "credential": {"type": "api-key", "value": "two words"}}))
    .await;
    assert_eq!(code, 422, "{e}");
    assert!(e["error"].as_str().unwrap().contains("one token"), "{e}");
    let (code, e) = post(json!({"name": "c", "type": "cursor-cli",
                                "credential": {"type": "oauth", "value": "{}"}}))
    .await;
    assert_eq!(code, 422, "{e}");
    assert!(
        e["error"].as_str().unwrap().contains("CURSOR_API_KEY"),
        "{e}"
    );
    let (code, e) = post(json!({"name": "x", "type": "claude-code", "model": "opus"})).await;
    assert_eq!(code, 422, "{e}");
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("unknown field `model`"),
        "{e}"
    );

    let (code, e) = post(json!({"name": "big", "type": "claude-code",
                                "credential": {"type": "api-key", "value": "k".repeat(40 * 1024)}}))
    .await;
    assert_eq!(code, 422, "{e}");
    assert_eq!(
        e["error"],
        "credential.value must be at most 32 KiB; this one is 40 KiB"
    );
    let (code, e) = post(json!({"name": "huge", "type": "claude-code",
                                "credential": {"type": "api-key", "value": "k".repeat(1 << 20)}}))
    .await;
    assert_eq!(code, 413, "{e}");
    assert_eq!(e["code"], "payload_too_large");
    assert_eq!(
        e["error"],
        "the request body is larger than the 64 KiB limit"
    );

    let (code, first) = post(json!({"name": "mine", "type": "claude-code"})).await;
    assert_eq!(code, 201, "{first}");
    let (code, e) = post(json!({"name": "mine", "type": "qwen-coder"})).await;
    assert_eq!(code, 409, "{e}");
    assert_eq!(e["code"], "name_taken");
    assert_eq!(
        e["error"],
        "you already have an agent named mine; choose another name"
    );
    let (code, _) = server
        .call(
            "POST",
            "/api/agents",
            Some(&bob),
            Some(json!({"name": "mine", "type": "claude-code"})),
        )
        .await;
    assert_eq!(code, 201, "names are unique per user");
    let (_, second) = post(json!({"name": "second", "type": "claude-code"})).await;
    let path = format!("/api/agents/{}", id(&first));
    let (code, e) = server
        .call(
            "PATCH",
            &format!("/api/agents/{}", id(&second)),
            Some(&ada),
            Some(json!({"name": "mine"})),
        )
        .await;
    assert_eq!((code, e["code"].as_str()), (409, Some("name_taken")), "{e}");
    let (code, e) = server
        .call(
            "PATCH",
            &path,
            Some(&ada),
            Some(json!({"type": "gemini-cli"})),
        )
        .await;
    assert_eq!(code, 422, "the type cannot change: {e}");
    let (code, e) = server
        .call("PATCH", &path, Some(&ada), Some(json!({"name": "a b"})))
        .await;
    assert_eq!(code, 422, "{e}");

    // Another user's agent does not exist for bob, whatever he does with it.
    for (method, body) in [
        ("GET", None),
        ("PATCH", Some(json!({"name": "stolen"}))),
        ("PATCH", Some(json!({"credential": null}))),
        ("DELETE", None),
    ] {
        let (code, e) = server.call(method, &path, Some(&bob), body).await;
        assert_eq!(code, 404, "{method}: {e}");
        assert_eq!(e["error"], "agent not found");
    }
    let (_, bobs) = server.call("GET", "/api/agents", Some(&bob), None).await;
    assert_eq!(bobs["agents"].as_array().unwrap().len(), 1, "{bobs}");
    let (code, still) = server.call("GET", &path, Some(&ada), None).await;
    assert_eq!((code, &still["name"]), (200, &json!("mine")));

    let (code, _) = server
        .call("GET", "/api/agents/not-a-uuid", Some(&ada), None)
        .await;
    assert_eq!(code, 404);
    let (code, _) = server.call("GET", "/api/agents", None, None).await;
    assert_eq!(code, 401);
}

/// A server on the fake-agent image with one running environment, and its owner.
struct Place {
    server: TestServer,
    token: String,
    env_id: String,
    _roots: tempfile::TempDir,
}

async fn place() -> Place {
    let image = fake_agent_image().to_owned();
    let roots = tempfile::tempdir().unwrap();
    let repo = fixture_repo(roots.path(), "app");
    let server = TestServer::start_with(
        Backend::Sqlite,
        ServerOptions {
            local_roots: vec![roots.path().to_owned()],
            sandbox_image: image,
            ..Default::default()
        },
    )
    .await;
    let token = register(&server, "ada@example.com").await;
    let env = server
        .made_environment(&token, "app", &repo.display().to_string())
        .await;
    assert_eq!(env["status"], "running", "{env}");
    let env_id = env["id"].as_str().unwrap().to_owned();
    Place {
        server,
        token,
        env_id,
        _roots: roots,
    }
}

impl Place {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.server
            .call(method, path, Some(&self.token), body)
            .await
    }

    async fn agent(&self, body: Value) -> String {
        let (code, agent) = self.call("POST", "/api/agents", Some(body)).await;
        assert_eq!(code, 201, "{agent}");
        id(&agent).to_owned()
    }

    async fn agent_session(&self, name: &str, agent: &str) -> Value {
        let (code, session) = self
            .call(
                "POST",
                "/api/sessions",
                Some(json!({"environmentId": self.env_id, "name": name,
                            "sessionType": "agent", "agentId": agent})),
            )
            .await;
        assert_eq!(code, 201, "{session}");
        assert_eq!(session["sessionType"], "agent");
        assert_eq!(session["agentId"], agent);
        session
    }

    async fn container(&self) -> String {
        self.server
            .container_of(&self.token, &self.env_id, "main")
            .await
    }
}

/// Runs `sh -c script` in the container as its user.
fn sh(container: &str, script: &str) -> String {
    docker_cli(&["exec", container, "sh", "-c", script])
}

/// What the session's terminal shows, read with tmux as a viewer would see it.
fn screen(container: &str, session: &Value) -> String {
    let tmux = session["tmuxSessionName"].as_str().unwrap();
    docker_cli(&[
        "exec",
        container,
        "tmux",
        "capture-pane",
        "-p",
        "-J",
        "-S",
        "-200",
        "-t",
        &format!("={tmux}:"),
    ])
}

async fn wait_for_screen(container: &str, session: &Value, needle: &str) -> String {
    let started = Instant::now();
    loop {
        let shown = screen(container, session);
        if shown.contains(needle) {
            return shown;
        }
        assert!(
            started.elapsed() < SEEN,
            "the terminal never showed {needle:?}; it shows:\n{shown}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn agent_dir(session: &Value) -> String {
    format!("$HOME/.craftastic/agents/{}", id(session))
}

/// Where the session's CLI keeps its state: in the worktree's volume.
fn state_dir(session: &Value) -> String {
    format!("/workspace/.craftastic-agents/{}", id(session))
}

#[tokio::test]
async fn agent_sessions_get_their_credential_where_the_cli_reads_it_and_in_no_command_line() {
    let p = place().await;
    let key = format!("sk-ant-api03-canary{}", uuid::Uuid::new_v4().simple());
    let token = format!("oauth-canary{}", uuid::Uuid::new_v4().simple());
    let oauth =
        json!({"claudeAiOauth": {"accessToken": token, "refreshToken": "r", "expiresAt": 1}})
            .to_string();
    let with_key = p
        .agent(json!({"name": "keyed", "type": "claude-code",
                      "credential": {"type": "api-key", "value": key}}))
        .await;
    let with_oauth = p
        .agent(json!({"name": "logged-in", "type": "claude-code",
                      "credential": {"type": "oauth", "value": oauth}}))
        .await;

    let stop = Arc::new(AtomicBool::new(false));
    let host = sample_host_command_lines(stop.clone());
    let keyed = p.agent_session("keyed", &with_key).await;
    let logged_in = p.agent_session("logged-in", &with_oauth).await;
    let container = p.container().await;
    wait_for_screen(&container, &keyed, "fake-claude: waiting").await;
    wait_for_screen(&container, &logged_in, "fake-claude: waiting").await;
    stop.store(true, Ordering::Relaxed);
    let host = host.join().unwrap();

    // The API key reached the CLI in ANTHROPIC_API_KEY, from the session's env file; a
    // first start has no conversation to continue.
    let shown = screen(&container, &keyed);
    assert!(
        shown.contains("fake-claude: args=[]")
            && shown.contains("fake-claude: earlier turns 0")
            && shown.contains(
                "fake-claude: hooks on Notification,PostToolUse,PreToolUse,SessionEnd,SessionStart,Stop,UserPromptSubmit"
            ),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("fake-claude: ANTHROPIC_API_KEY={key}")),
        "{shown}"
    );
    assert!(shown.contains("fake-claude: CLAUDE_CODE_OAUTH_TOKEN=unset"));
    let keyed_dir = agent_dir(&keyed);
    assert_eq!(
        sh(
            &container,
            &format!("stat -c '%a %U' {keyed_dir} {keyed_dir}/env")
        ),
        "700 dev\n600 dev\n"
    );
    assert!(sh(&container, &format!("cat {keyed_dir}/env")).contains(&key));

    // The OAuth document reached it as the file claude reads, mode 0600, in the session's
    // own folder: the two sessions share no file.
    let shown = screen(&container, &logged_in);
    assert!(
        shown.contains("fake-claude: ANTHROPIC_API_KEY=unset"),
        "{shown}"
    );
    let file = format!("{}/claude/.credentials.json", state_dir(&logged_in));
    assert!(
        shown.contains(&format!("credentials file {file} mode 600 holds {oauth}")),
        "{shown}"
    );
    assert!(!sh(&container, &format!("cat {keyed_dir}/env")).contains(&token));

    // In no process's command line, in the container or on the host.
    let inside = docker_cli(&["exec", &container, "ps", "-eo", "args="]);
    assert!(inside.contains("fake-claude") || inside.contains("/usr/local/bin/claude"));
    for line in inside.lines().chain(host.iter().map(String::as_str)) {
        assert!(
            !line.contains(&key) && !line.contains(&token),
            "a command line holds the credential: {line}"
        );
    }
    assert!(host.len() > 10, "the host sampler saw processes");
    let (_, listed) = p
        .call(
            "GET",
            &format!("/api/sessions/environment/{}", p.env_id),
            None,
        )
        .await;
    assert!(!listed.to_string().contains(&key));

    // Ended and started again, the session runs the CLI again with the credential; the
    // credential is not left behind while the session is dead.
    let session_path = format!("/api/sessions/{}", id(&keyed));
    let (code, dead) = p
        .call("PATCH", &session_path, Some(json!({"status": "dead"})))
        .await;
    assert_eq!((code, &dead["status"]), (200, &json!("dead")), "{dead}");
    assert_eq!(
        sh(&container, &format!("test -e {keyed_dir} || echo gone")),
        "gone\n"
    );
    let (code, alive) = p
        .call("PATCH", &session_path, Some(json!({"status": "active"})))
        .await;
    assert_eq!((code, &alive["status"]), (200, &json!("active")), "{alive}");
    let shown = wait_for_screen(&container, &keyed, "fake-claude: waiting").await;
    assert!(
        shown.contains(&format!("ANTHROPIC_API_KEY={key}")),
        "{shown}"
    );
    // ... and continues the conversation it had.
    assert!(
        shown.contains("fake-claude: args=[--continue]")
            && shown.contains("fake-claude: earlier turns 1"),
        "{shown}"
    );

    // When the CLI exits, the session stays, as a shell.
    let tmux = keyed["tmuxSessionName"].as_str().unwrap();
    docker_cli(&[
        "exec",
        &container,
        "tmux",
        "send-keys",
        "-t",
        &format!("={tmux}:"),
        "Enter",
    ]);
    wait_for_screen(&container, &keyed, "craftastic: claude exited (status 0)").await;

    // Deleting a session removes its credential and its conversations from the workspace.
    for session in [&keyed, &logged_in] {
        let dir = agent_dir(session);
        let state = state_dir(session);
        assert_eq!(
            sh(
                &container,
                &format!("test -d {dir} && test -d {state} && echo here")
            ),
            "here\n"
        );
        let (code, answer) = p
            .call("DELETE", &format!("/api/sessions/{}", id(session)), None)
            .await;
        assert_eq!(code, 204, "{answer}");
        assert_eq!(
            sh(
                &container,
                &format!("test -e {dir} || test -e {state} || echo gone")
            ),
            "gone\n"
        );
    }
    assert_eq!(
        sh(&container, "ls -A $HOME/.craftastic/agents"),
        "",
        "no agent folder is left"
    );
}

#[tokio::test]
async fn a_missing_cli_or_a_deleted_agent_still_gives_a_shell_with_a_line_saying_so() {
    let p = place().await;
    let cursor = p
        .agent(json!({"name": "cursor", "type": "cursor-cli",
                      "credential": {"type": "api-key", "value": "crsr_key"}}))
        .await;
    let session = p.agent_session("cursor", &cursor).await;
    let container = p.container().await;
    let shown = wait_for_screen(
        &container,
        &session,
        "craftastic: the cursor-cli CLI (cursor-agent) is not installed in this workspace image, so this session starts a shell instead.",
    )
    .await;
    assert!(!shown.contains("crsr_key"), "{shown}");
    let tmux = session["tmuxSessionName"].as_str().unwrap();
    docker_cli(&[
        "exec",
        &container,
        "tmux",
        "send-keys",
        "-t",
        &format!("={tmux}:"),
        "echo shell-$((6*7))",
        "Enter",
    ]);
    wait_for_screen(&container, &session, "shell-42").await;

    // An agent without a credential starts, and the terminal says why it may ask to log in.
    let bare = p
        .agent(json!({"name": "bare", "type": "claude-code"}))
        .await;
    let unkeyed = p.agent_session("bare", &bare).await;
    let shown = wait_for_screen(&container, &unkeyed, "fake-claude: waiting").await;
    assert!(
        shown.contains(
            "craftastic: the agent bare has no credential; claude may ask you to log in."
        ),
        "{shown}"
    );

    // A session whose agent was deleted starts again as a shell that says so.
    let (code, _) = p.call("DELETE", &format!("/api/agents/{bare}"), None).await;
    assert_eq!(code, 204);
    let path = format!("/api/sessions/{}", id(&unkeyed));
    let (code, got) = p.call("GET", &path, None).await;
    assert_eq!(code, 200, "{got}");
    assert!(got.get("agentId").is_none(), "{got}");
    p.call("PATCH", &path, Some(json!({"status": "dead"})))
        .await;
    let (code, alive) = p
        .call("PATCH", &path, Some(json!({"status": "active"})))
        .await;
    assert_eq!(code, 200, "{alive}");
    wait_for_screen(
        &container,
        &unkeyed,
        "craftastic: the agent of this session was deleted",
    )
    .await;
}

#[tokio::test]
async fn agent_sessions_refuse_bad_agents_with_clear_answers() {
    let p = place().await;
    let mine = p
        .agent(json!({"name": "mine", "type": "claude-code"}))
        .await;
    let bob = register(&p.server, "bob@example.com").await;
    let (code, bobs) = p
        .server
        .call(
            "POST",
            "/api/agents",
            Some(&bob),
            Some(json!({"name": "bobs", "type": "claude-code"})),
        )
        .await;
    assert_eq!(code, 201, "{bobs}");
    let post = |body: Value| {
        let mut body = body;
        body["environmentId"] = json!(p.env_id);
        let p = &p;
        async move { p.call("POST", "/api/sessions", Some(body)).await }
    };

    let (code, e) = post(json!({"sessionType": "agent"})).await;
    assert_eq!(code, 422, "{e}");
    assert_eq!(
        e["error"],
        "an agent session needs agentId, the agent to start"
    );
    let (code, e) = post(json!({"agentId": mine})).await;
    assert_eq!(code, 422, "{e}");
    assert!(e["error"].as_str().unwrap().contains("sessionType"), "{e}");
    for agent in [id(&bobs).to_owned(), uuid::Uuid::new_v4().to_string()] {
        let (code, e) = post(json!({"sessionType": "agent", "agentId": agent})).await;
        assert_eq!(code, 404, "{e}");
        assert_eq!(e["error"], "agent not found");
    }
    let (_, sessions) = p
        .call(
            "GET",
            &format!("/api/sessions/environment/{}", p.env_id),
            None,
        )
        .await;
    assert!(
        sessions["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["sessionType"] == "terminal"),
        "no refused session left a row: {sessions}"
    );
}

#[tokio::test]
async fn a_stopped_environment_brings_agent_sessions_back_with_their_credential_and_no_leftovers() {
    let p = place().await;
    let key = format!("sk-ant-api03-canary{}", uuid::Uuid::new_v4().simple());
    let agent = p
        .agent(json!({"name": "keyed", "type": "claude-code",
                      "credential": {"type": "api-key", "value": key}}))
        .await;
    let kept = p.agent_session("kept", &agent).await;
    let dropped = p.agent_session("dropped", &agent).await;
    let container = p.container().await;
    wait_for_screen(&container, &kept, "fake-claude: waiting").await;
    wait_for_screen(&container, &dropped, "fake-claude: waiting").await;
    let env = format!("/api/environments/{}", p.env_id);

    let (code, stopped) = p.call("POST", &format!("{env}/stop"), None).await;
    assert_eq!(code, 200, "{stopped}");
    // Deleted while its container is stopped, the session cannot remove its folder yet.
    let (code, answer) = p
        .call("DELETE", &format!("/api/sessions/{}", id(&dropped)), None)
        .await;
    assert_eq!(code, 204, "{answer}");
    let (code, started) = p.call("POST", &format!("{env}/start"), None).await;
    assert_eq!(code, 200, "{started}");
    let container = p.container().await;
    assert_eq!(
        sh(&container, "ls -A /workspace/.craftastic-agents"),
        format!(".gitignore\n{}\n", id(&kept)),
        "the state of the session deleted meanwhile went when its container started"
    );
    assert_eq!(
        sh(&container, "ls -A $HOME/.craftastic/agents 2>&1; true"),
        "ls: cannot access '/home/dev/.craftastic/agents': No such file or directory\n",
        "a container that starts keeps no agent folder from before"
    );

    let path = format!("/api/sessions/{}", id(&kept));
    let (_, inactive) = p.call("GET", &path, None).await;
    assert_eq!(inactive["status"], "inactive", "{inactive}");
    let (code, active) = p
        .call("PATCH", &path, Some(json!({"status": "active"})))
        .await;
    assert_eq!(
        (code, &active["status"]),
        (200, &json!("active")),
        "{active}"
    );
    let shown = wait_for_screen(&container, &kept, "fake-claude: waiting").await;
    assert!(
        shown.contains(&format!("fake-claude: ANTHROPIC_API_KEY={key}")),
        "{shown}"
    );
    assert!(
        shown.contains("fake-claude: args=[--continue]")
            && shown.contains("fake-claude: earlier turns 1"),
        "the stopped workspace's session continues its conversation: {shown}"
    );
    assert_eq!(
        sh(&container, "ls -A $HOME/.craftastic/agents"),
        format!("{}\n", id(&kept))
    );
}
