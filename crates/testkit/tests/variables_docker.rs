//! An environment's variables and secrets against the real engine and real tmux: they reach
//! every new terminal and agent session's environment, a secret shows in no command line
//! (in the container or on the host), no log line, no answer and no `docker inspect`, a
//! change tells which running sessions still have the old values, and bad input gets a
//! precise 422.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use craftastic_domain::{EnvironmentId, VariableName};
use craftastic_service::crypto::Cipher;
use craftastic_service::variables::secret_context;
use craftastic_store::StoredValue;
use craftastic_testkit::{
    Backend, ENCRYPTION_KEY, ServerOptions, TestServer, docker_cli, fixture_repo,
    sample_host_command_lines,
};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";
const SEEN: Duration = Duration::from_secs(20);

struct Place {
    server: TestServer,
    token: String,
    env_id: String,
    _roots: tempfile::TempDir,
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

/// A running environment of a fixture repository, owned by the second user (the first is
/// the admin).
async fn place(admin_too: bool) -> (Place, Option<String>) {
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
    let admin = register(&server, "admin@example.com").await;
    let token = register(&server, "ada@example.com").await;
    let env = server
        .made_environment(&token, "app", &repo.display().to_string())
        .await;
    assert_eq!(env["status"], "running", "{env}");
    let env_id = id(&env).to_owned();
    (
        Place {
            server,
            token,
            env_id,
            _roots: roots,
        },
        admin_too.then_some(admin),
    )
}

impl Place {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.server
            .call(method, path, Some(&self.token), body)
            .await
    }

    fn variables_path(&self) -> String {
        format!("/api/environments/{}/variables", self.env_id)
    }

    async fn put_variables(&self, variables: Value) -> Value {
        let (code, answer) = self
            .call(
                "PUT",
                &self.variables_path(),
                Some(json!({ "variables": variables })),
            )
            .await;
        assert_eq!(code, 200, "{answer}");
        answer
    }

    async fn session(&self, body: Value) -> Value {
        let mut body = body;
        body["environmentId"] = json!(self.env_id);
        let (code, session) = self.call("POST", "/api/sessions", Some(body)).await;
        assert_eq!(code, 201, "{session}");
        session
    }

    async fn container(&self) -> String {
        self.server
            .container_of(&self.token, &self.env_id, "main")
            .await
    }
}

fn tmux_target(session: &Value) -> String {
    format!("={}:", session["tmuxSessionName"].as_str().unwrap())
}

/// What the session's terminal shows, as a viewer would see it.
fn screen(container: &str, session: &Value) -> String {
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
        &tmux_target(session),
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

/// Types a command into the session's terminal (the command names variables, never their
/// values) and waits for the line it prints after `marker`.
async fn echo(container: &str, session: &Value, marker: &str, what: &str) -> String {
    docker_cli(&[
        "exec",
        container,
        "tmux",
        "send-keys",
        "-t",
        &tmux_target(session),
        &format!("printf '{marker}[%s]\\n' \"{what}\""),
        "Enter",
    ]);
    let shown = wait_for_screen(container, session, &format!("{marker}[")).await;
    let line = shown
        .lines()
        .rev()
        .find(|l| l.starts_with(&format!("{marker}[")))
        .unwrap_or_else(|| panic!("no {marker} line in:\n{shown}"));
    line[marker.len() + 1..line.len() - 1].to_owned()
}

/// The environment of the process in the session's pane (its shell), as `NAME=value`
/// lines.
fn pane_environment(container: &str, session: &Value) -> String {
    let pid = docker_cli(&[
        "exec",
        container,
        "tmux",
        "display-message",
        "-p",
        "-t",
        &tmux_target(session),
        "#{pane_pid}",
    ]);
    docker_cli(&[
        "exec",
        container,
        "sh",
        "-c",
        &format!("tr '\\0' '\\n' < /proc/{}/environ", pid.trim()),
    ])
}

/// Everything the server logs, at every level, through the same filter the binary uses.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                craftastic_service::logging::log_directives("trace"),
            ))
            .with_ansi(false)
            .with_writer(move || LogSink(sink.clone()))
            .try_init()
            .expect("the only subscriber of this test binary");
        logs
    })
    .clone()
}

struct LogSink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Reads the command line of every process in a container, over and over, until the file
/// `/tmp/sampling` is gone.
fn sample_container_command_lines(container: &str) -> tokio::process::Child {
    docker_cli(&["exec", container, "touch", "/tmp/sampling"]);
    tokio::process::Command::new("docker")
        .args([
            "exec",
            container,
            "sh",
            "-c",
            r#"while [ -e /tmp/sampling ]; do for f in /proc/[0-9]*/cmdline; do tr '\0' ' ' 2>/dev/null < "$f"; echo; done; done | sort -u"#,
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_and_a_plain_variable_reach_new_sessions_and_nothing_else() {
    let logs = captured_logs();
    let (p, _) = place(false).await;
    let secret = format!("s3cr3t-canary-{}", uuid::Uuid::new_v4().simple());
    let agent_key = format!("agent-key-canary-{}", uuid::Uuid::new_v4().simple());
    let tricky = "it's \"quoted\" $HOME `id`\nsecond line";
    let set = p
        .put_variables(json!([
            {"name": "GREETING", "value": tricky},
            {"name": "API_TOKEN", "value": secret, "secret": true},
            {"name": "CURSOR_API_KEY", "value": "the environment's", "secret": true},
        ]))
        .await;
    assert_eq!(
        set["variables"],
        json!([
            {"name": "GREETING", "value": tricky, "secret": false},
            {"name": "API_TOKEN", "secret": true},
            {"name": "CURSOR_API_KEY", "secret": true},
        ]),
        "a secret is answered as set, without its value"
    );
    assert_eq!(set["version"], 1);
    assert_eq!(set["outdatedSessions"], json!([]));
    let (code, agent) = p
        .call(
            "POST",
            "/api/agents",
            Some(json!({"name": "cursor", "type": "cursor-cli",
                        "credential": {"type": "api-key", "value": agent_key}})),
        )
        .await;
    assert_eq!(code, 201, "{agent}");

    let container = p.container().await;
    let stop = Arc::new(AtomicBool::new(false));
    let host = sample_host_command_lines(stop.clone());
    let inside = sample_container_command_lines(&container);
    let terminal = p.session(json!({"name": "shell"})).await;
    let agent_session = p
        .session(json!({"name": "agent", "sessionType": "agent", "agentId": id(&agent)}))
        .await;

    // The terminal's shell has both; a command typed into it prints them.
    assert_eq!(
        echo(&container, &terminal, "token", "$API_TOKEN").await,
        secret
    );
    let environ = pane_environment(&container, &terminal);
    assert!(
        environ.contains(&format!("API_TOKEN={secret}\n"))
            && environ.contains(&format!("GREETING={tricky}\n"))
            && environ.contains("CURSOR_API_KEY=the environment's\n"),
        "{environ}"
    );
    assert_eq!(
        echo(
            &container,
            &terminal,
            "lines",
            "$(printf %s \"$GREETING\" | wc -l)"
        )
        .await,
        "1",
        "the value's newline came through"
    );
    // The agent session's shell too (cursor-agent is not in the image, so the launcher
    // stays a shell with the environment the CLI would have had); the agent's own
    // credential wins over the environment's variable of the same name.
    wait_for_screen(&container, &agent_session, "is not installed").await;
    assert_eq!(
        echo(&container, &agent_session, "token", "$API_TOKEN").await,
        secret
    );
    assert_eq!(
        echo(&container, &agent_session, "key", "$CURSOR_API_KEY").await,
        agent_key
    );
    // Each variables file was read and removed at once.
    assert_eq!(
        docker_cli(&[
            "exec",
            &container,
            "sh",
            "-c",
            "ls -A $HOME/.craftastic/variables; stat -c %a $HOME/.craftastic/variables"
        ]),
        "700\n"
    );

    docker_cli(&["exec", &container, "rm", "/tmp/sampling"]);
    let inside = inside.wait_with_output().await.unwrap();
    let inside = String::from_utf8_lossy(&inside.stdout);
    stop.store(true, Ordering::Relaxed);
    let host = host.join().unwrap();
    assert!(inside.contains("tmux"), "the container sampler saw tmux");
    assert!(host.len() > 10, "the host sampler saw processes");
    for line in inside.lines().chain(host.iter().map(String::as_str)) {
        assert!(
            !line.contains(&secret) && !line.contains(&agent_key),
            "a command line holds the secret: {line}"
        );
    }

    // Not in what the engine keeps of the container, nor in any answer.
    let inspected = docker_cli(&["inspect", &container]);
    assert!(
        !inspected.contains(&secret),
        "docker inspect holds the secret"
    );
    for path in [
        p.variables_path(),
        format!("/api/environments/{}", p.env_id),
        "/api/environments".to_owned(),
        format!("/api/sessions/environment/{}", p.env_id),
        format!("/api/sessions/{}", id(&terminal)),
    ] {
        let (code, answer) = p.call("GET", &path, None).await;
        assert_eq!(code, 200, "{path}: {answer}");
        assert!(!answer.to_string().contains(&secret), "{path}: {answer}");
    }

    // Sealed in the database, bound to its environment and name; the audit log has names.
    let env: EnvironmentId = p.env_id.parse().unwrap();
    let stored = p
        .server
        .db
        .store
        .get_environment_variables(env)
        .await
        .unwrap()
        .unwrap();
    let StoredValue::Sealed(sealed) = &stored.variables[1].value else {
        panic!("API_TOKEN is not sealed: {stored:?}");
    };
    let name = VariableName::parse("API_TOKEN").unwrap();
    let cipher = Cipher::new(&ENCRYPTION_KEY);
    assert_eq!(
        cipher.open(sealed, &secret_context(env, &name)).unwrap(),
        secret.as_bytes()
    );
    assert!(
        cipher
            .open(sealed, &secret_context(EnvironmentId::new(), &name))
            .is_err(),
        "a sealed value copied to another environment does not open"
    );
    let db_file = p.server.db.url.trim_start_matches("sqlite://").to_owned();
    for path in [db_file.clone(), format!("{db_file}-wal")] {
        if let Ok(bytes) = std::fs::read(&path) {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{path} holds the secret in plain text"
            );
        }
    }
    let audit = p.server.db.store.list_audit(None, 50).await.unwrap();
    let entry = audit
        .iter()
        .find(|e| e.action == "environments.variables")
        .expect("the change is audited");
    assert_eq!(
        entry.details["names"],
        json!(["GREETING", "API_TOKEN", "CURSOR_API_KEY"])
    );
    assert!(!format!("{audit:?}").contains(&secret));
    assert!(
        !format!("{audit:?}").contains("quoted"),
        "no plain value either"
    );

    // No log line, at any level.
    let logged = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(logged.contains("craftastic"), "logs were captured");
    assert!(!logged.contains(&secret), "a log line holds the secret");
    assert!(
        !logged.contains(&agent_key),
        "a log line holds the agent's key"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_variables_tells_the_running_sessions_and_a_restart_gives_the_new_values() {
    let (p, _) = place(false).await;
    p.put_variables(json!([{"name": "STAGE", "value": "one"}]))
        .await;
    let container = p.container().await;
    let first = p.session(json!({"name": "first"})).await;
    assert_eq!(first["variablesOutdated"], false, "{first}");
    assert_eq!(echo(&container, &first, "stage", "$STAGE").await, "one");

    // The same set again changes nothing.
    let same = p
        .put_variables(json!([{"name": "STAGE", "value": "one"}]))
        .await;
    assert_eq!(
        (same["version"].as_i64(), &same["outdatedSessions"]),
        (Some(1), &json!([]))
    );

    let changed = p
        .put_variables(json!([{"name": "STAGE", "value": "two"}]))
        .await;
    assert_eq!(changed["version"], 2);
    assert_eq!(changed["outdatedSessions"], json!([id(&first)]));
    let session_path = format!("/api/sessions/{}", id(&first));
    let (_, got) = p.call("GET", &session_path, None).await;
    assert_eq!(got["variablesOutdated"], true, "{got}");
    let (_, env) = p
        .call("GET", &format!("/api/environments/{}", p.env_id), None)
        .await;
    assert_eq!(env["sessions"][0]["variablesOutdated"], true, "{env}");
    assert_eq!(
        echo(&container, &first, "still", "$STAGE").await,
        "one",
        "a running session keeps what it started with"
    );
    // Asking a running session to be active changes nothing: it was not started again.
    let started = Instant::now();
    let (code, same) = p
        .call("PATCH", &session_path, Some(json!({"status": "active"})))
        .await;
    assert_eq!(code, 200, "{same}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(same["variablesOutdated"], true, "{same}");
    assert_eq!(echo(&container, &first, "kept", "$STAGE").await, "one");

    // A new session starts with the new values.
    let second = p.session(json!({"name": "second"})).await;
    assert_eq!(second["variablesOutdated"], false);
    assert_eq!(echo(&container, &second, "stage", "$STAGE").await, "two");

    // Started again, the first one gets them too.
    for status in ["dead", "active"] {
        let (code, s) = p
            .call("PATCH", &session_path, Some(json!({"status": status})))
            .await;
        assert_eq!(code, 200, "{s}");
    }
    let (_, got) = p.call("GET", &session_path, None).await;
    assert_eq!(got["variablesOutdated"], false, "{got}");
    assert_eq!(echo(&container, &first, "again", "$STAGE").await, "two");
    let (_, listed) = p.call("GET", &p.variables_path(), None).await;
    assert_eq!(listed["outdatedSessions"], json!([]));

    // Removing them all tells both, and a restart leaves them out.
    let emptied = p.put_variables(json!([])).await;
    let mut outdated: Vec<&str> = emptied["outdatedSessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    outdated.sort_unstable();
    let mut both = vec![id(&first), id(&second)];
    both.sort_unstable();
    assert_eq!(outdated, both);
    let third = p.session(json!({"name": "third"})).await;
    assert_eq!(
        echo(&container, &third, "none", "${STAGE:-unset}").await,
        "unset"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_variables_get_a_precise_422_kept_secrets_stay_and_others_get_404() {
    let (p, admin) = place(true).await;
    let admin = admin.unwrap();
    let path = p.variables_path();
    let put = |variables: Value| {
        let p = &p;
        let path = path.clone();
        async move {
            p.call("PUT", &path, Some(json!({ "variables": variables })))
                .await
        }
    };

    let (code, e) = put(json!([
        {"name": "OK", "value": "1"},
        {"name": "PATH", "value": "/tmp"},
        {"name": "1BAD", "value": "x"},
        {"name": "OK", "value": "2"},
        {"name": "NUL", "value": "a\u{0}b"},
        {"name": "PLAIN"},
        {"name": "LD_PRELOAD", "value": "/tmp/x.so"},
        {"name": "NEW_SECRET", "secret": true},
    ]))
    .await;
    assert_eq!(
        (code, e["code"].as_str()),
        (422, Some("invalid_input")),
        "{e}"
    );
    let fields = e["details"]["fields"].as_object().unwrap();
    let mut named: Vec<&str> = fields.keys().map(String::as_str).collect();
    named.sort_unstable();
    assert_eq!(
        named,
        [
            "variables[1].name",
            "variables[2].name",
            "variables[3].name",
            "variables[4].value",
            "variables[5].value",
            "variables[6].name",
        ],
        "{e}"
    );
    assert_eq!(
        fields["variables[1].name"],
        "variables[1].name: PATH is set by the workspace itself and cannot be changed here"
    );
    assert_eq!(
        fields["variables[3].name"],
        "variables[3].name: OK is given twice (also variables[0])"
    );
    assert!(
        fields["variables[4].value"]
            .as_str()
            .unwrap()
            .contains("NUL")
    );
    assert!(
        fields["variables[6].name"]
            .as_str()
            .unwrap()
            .contains("starting with LD_"),
        "{e}"
    );
    // A new secret needs its value; the set is checked first, then the store.
    let (code, e) = put(json!([{"name": "NEW_SECRET", "secret": true}])).await;
    assert_eq!(code, 422, "{e}");
    assert_eq!(
        e["error"],
        "variables[0].value: NEW_SECRET is a new secret; give its value"
    );
    let too_many: Vec<Value> = (0..101)
        .map(|i| json!({"name": format!("V{i}"), "value": "x"}))
        .collect();
    let (code, e) = put(json!(too_many)).await;
    assert_eq!(code, 422, "{e}");
    assert!(e["details"]["fields"]["variables"].is_string(), "{e}");
    let (code, e) = put(json!([{"name": "BIG", "value": "x".repeat(40 << 10)}])).await;
    assert_eq!(code, 422, "{e}");
    assert!(
        e["details"]["fields"]["variables[0].value"]
            .as_str()
            .unwrap()
            .contains("at most 32 KiB"),
        "{e}"
    );
    let (code, e) = put(json!([{"name": "HUGE", "value": "x".repeat(70 << 10)}])).await;
    assert_eq!((code, e["code"].as_str()), (413, Some("payload_too_large")));
    let (code, e) = p
        .call(
            "PUT",
            &path,
            Some(json!({"variables": [{"name": "A", "value": "1", "extra": 1}]})),
        )
        .await;
    assert_eq!(code, 422, "{e}");
    let (_, unchanged) = p.call("GET", &path, None).await;
    assert_eq!(unchanged["version"], 0, "nothing was stored: {unchanged}");

    // A secret left without a value keeps its stored one, and its sealed text.
    p.put_variables(json!([{"name": "TOKEN", "value": "kept-value", "secret": true}]))
        .await;
    let env: EnvironmentId = p.env_id.parse().unwrap();
    let sealed = || async {
        p.server
            .db
            .store
            .get_environment_variables(env)
            .await
            .unwrap()
            .unwrap()
    };
    let before = sealed().await;
    let kept = p
        .put_variables(json!([
            {"name": "TOKEN", "secret": true},
            {"name": "EXTRA", "value": "1"},
        ]))
        .await;
    assert_eq!(
        kept["variables"],
        json!([{"name": "TOKEN", "secret": true}, {"name": "EXTRA", "value": "1", "secret": false}])
    );
    let after = sealed().await;
    assert_eq!(
        after.variables[0], before.variables[0],
        "the same sealed value"
    );
    let container = p.container().await;
    let session = p.session(json!({"name": "kept"})).await;
    assert_eq!(
        echo(&container, &session, "token", "$TOKEN").await,
        "kept-value"
    );
    // A plain variable made secret without its value keeps that value, sealed now.
    let sealed_now = p
        .put_variables(
            json!([{"name": "TOKEN", "secret": true}, {"name": "EXTRA", "secret": true}]),
        )
        .await;
    assert_eq!(
        sealed_now["variables"][1],
        json!({"name": "EXTRA", "secret": true})
    );

    // Only the owner and admins reach them; for anyone else the environment does not exist.
    let bob = register(&p.server, "bob@example.com").await;
    for (method, body) in [("GET", None), ("PUT", Some(json!({"variables": []})))] {
        let (code, e) = p.server.call(method, &path, Some(&bob), body).await;
        assert_eq!(
            (code, e["error"].as_str()),
            (404, Some("environment not found")),
            "{e}"
        );
    }
    let (code, seen) = p.server.call("GET", &path, Some(&admin), None).await;
    assert_eq!(code, 200, "{seen}");
    assert_eq!(
        seen["variables"][0],
        json!({"name": "TOKEN", "secret": true})
    );
    let (code, _) = p
        .server
        .call(
            "GET",
            "/api/environments/not-a-uuid/variables",
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(code, 404);
    let (code, _) = p.server.call("GET", &path, None, None).await;
    assert_eq!(code, 401);
}
