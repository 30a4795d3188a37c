//! Git in the workspace through the API, against a real git server over HTTP (`git
//! http-backend`), real containers and real tmux.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use craftastic_testkit::fake_github::{FakeAccount, FakeGithub, FakeRepo, Outcome};
use craftastic_testkit::git_server::{self, GitServer, git, seed_repo};
use craftastic_testkit::{
    Backend, ServerOptions, TestServer, docker_cli, sample_host_command_lines,
};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

struct Fixture {
    server: TestServer,
    token: String,
    env_id: String,
    remote: GitServer,
}

const REPO: &str = "ada/app.git";

/// A server with one running environment cloned over HTTP from `remote`.
async fn fixture(remote: GitServer) -> Fixture {
    let url = remote.create_repo(REPO);
    let server = TestServer::start(Backend::Sqlite).await;
    let token = server.register("ada@example.com", PASSWORD).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let env = server.made_environment(&token, "app", &url).await;
    assert_eq!(env["status"], "running", "{env}");
    let env_id = env["id"].as_str().unwrap().to_owned();
    Fixture {
        server,
        token,
        env_id,
        remote,
    }
}

impl Fixture {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.server
            .call(method, path, Some(&self.token), body)
            .await
    }

    async fn session(&self, branch: Option<&str>) -> Value {
        let mut body = json!({"environmentId": self.env_id});
        if let Some(b) = branch {
            body["branch"] = json!(b);
        }
        let (status, session) = self.call("POST", "/api/sessions", Some(body)).await;
        assert_eq!(status, 201, "{session}");
        session
    }

    async fn container_of(&self, branch: &str) -> String {
        self.server
            .container_of(&self.token, &self.env_id, branch)
            .await
    }

    /// Types `line` into the session's terminal (its tmux session), then Enter.
    async fn type_line(&self, session: &Value, line: &str) {
        let container = self
            .container_of(session["gitBranch"].as_str().unwrap())
            .await;
        let target = format!("={}:", session["tmuxSessionName"].as_str().unwrap());
        docker_cli(&[
            "exec",
            &container,
            "tmux",
            "send-keys",
            "-t",
            &target,
            "-l",
            line,
        ]);
        docker_cli(&[
            "exec",
            &container,
            "tmux",
            "send-keys",
            "-t",
            &target,
            "Enter",
        ]);
    }

    /// Polls the session's git status until `check` holds.
    async fn status_until(&self, session: &Value, check: impl Fn(&Value) -> bool) -> Value {
        let path = format!("/api/git/status/{}", session["id"].as_str().unwrap());
        let started = Instant::now();
        loop {
            let (code, status) = self.call("GET", &path, None).await;
            assert_eq!(code, 200, "{status}");
            if check(&status) {
                return status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "git status never got there: {status}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn remote_log(&self, branch: &str) -> Vec<String> {
        git(
            Some(&self.remote.repo_path(REPO)),
            &["log", "--format=%s", branch],
        )
        .lines()
        .map(str::to_owned)
        .collect()
    }
}

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

#[tokio::test]
async fn commit_in_the_terminal_and_through_the_api_then_push() {
    let f = fixture(GitServer::start(None).await).await;
    let session = f.session(None).await;
    let sid = id(&session);

    f.type_line(
        &session,
        "echo hello > hello.txt && git add hello.txt && git -c user.name=Ada -c user.email=ada@example.com commit -qm 'From the terminal'",
    )
    .await;
    let status = f
        .status_until(&session, |s| s["ahead"] == 1 && s["clean"] == true)
        .await;
    assert_eq!(status["branch"], "main", "{status}");
    assert_eq!(status["upstream"], "origin/main", "{status}");

    f.type_line(
        &session,
        "printf 'one\\ntwo\\n' > notes.md; echo changed >> README.md",
    )
    .await;
    let status = f
        .status_until(&session, |s| s["files"].as_array().unwrap().len() == 2)
        .await;
    let files = status["files"].as_array().unwrap();
    let notes = files.iter().find(|f| f["path"] == "notes.md").unwrap();
    assert_eq!(notes["index"], "untracked");
    let readme = files.iter().find(|f| f["path"] == "README.md").unwrap();
    assert_eq!(
        (&readme["index"], &readme["worktree"]),
        (&json!("unmodified"), &json!("modified"))
    );

    let (code, diff) = f
        .call("GET", &format!("/api/git/diff/{sid}?file=notes.md"), None)
        .await;
    assert_eq!(code, 200, "{diff}");
    assert!(
        diff["diff"].as_str().unwrap().contains("+one\n+two\n"),
        "{diff}"
    );
    assert_eq!(diff["truncated"], false);
    let (_, diff) = f.call("GET", &format!("/api/git/diff/{sid}"), None).await;
    assert!(
        diff["diff"].as_str().unwrap().contains("+changed"),
        "{diff}"
    );
    assert!(
        !diff["diff"].as_str().unwrap().contains("notes.md"),
        "{diff}"
    );

    let (code, committed) = f
        .call(
            "POST",
            &format!("/api/git/commit/{sid}"),
            Some(json!({"message": "Add notes\n\nWith two lines.", "files": ["notes.md"]})),
        )
        .await;
    assert_eq!(code, 200, "{committed}");
    let hash = committed["hash"].as_str().unwrap();
    assert_eq!(hash.len(), 40);
    let status = f.status_until(&session, |_| true).await;
    assert_eq!(status["ahead"], 2, "{status}");
    let files = status["files"].as_array().unwrap();
    assert_eq!(files.len(), 1, "only notes.md was committed: {status}");
    assert_eq!(files[0]["path"], "README.md");

    let (code, log) = f
        .call("GET", &format!("/api/git/log/{sid}?limit=2"), None)
        .await;
    assert_eq!(code, 200, "{log}");
    let commits = log["commits"].as_array().unwrap();
    assert_eq!(commits.len(), 2);
    assert_eq!(log["hasMore"], true, "{log}");
    assert_eq!(commits[0]["hash"], hash);
    assert_eq!(commits[0]["message"], "Add notes\n\nWith two lines.");
    assert_eq!(commits[0]["author"], "Test User");
    assert_eq!(commits[0]["email"], "ada@example.com");
    assert_eq!(commits[1]["message"], "From the terminal");
    let (_, older) = f
        .call("GET", &format!("/api/git/log/{sid}?limit=2&offset=2"), None)
        .await;
    assert_eq!(older["commits"][0]["message"], "Initial commit", "{older}");
    assert_eq!(older["hasMore"], false);

    let (code, pushed) = f
        .call("POST", &format!("/api/git/push/{sid}"), Some(json!({})))
        .await;
    assert_eq!(code, 200, "{pushed}");
    assert_eq!(
        pushed,
        json!({"pushed": true, "remote": "origin", "branch": "main"})
    );
    assert_eq!(
        f.remote_log("main"),
        ["Add notes", "From the terminal", "Initial commit"]
    );
    let status = f.status_until(&session, |_| true).await;
    assert_eq!(
        (status["ahead"].as_u64(), status["behind"].as_u64()),
        (Some(0), Some(0))
    );

    // Someone else pushes first: the next push is refused with git's reason.
    let other = tempfile::tempdir().unwrap();
    let other_dir = other.path().join("w");
    let remote_dir = f.remote.repo_path(REPO);
    git(
        None,
        &[
            "clone",
            "-q",
            remote_dir.to_str().unwrap(),
            other_dir.to_str().unwrap(),
        ],
    );
    std::fs::write(other_dir.join("theirs.txt"), "theirs\n").unwrap();
    git(Some(&other_dir), &["add", "theirs.txt"]);
    git(Some(&other_dir), &["commit", "-qm", "Their change"]);
    git(Some(&other_dir), &["push", "-q", "origin", "main"]);

    let (code, _) = f
        .call(
            "POST",
            &format!("/api/git/commit/{sid}"),
            Some(json!({"message": "Mine"})),
        )
        .await;
    assert_eq!(code, 200);
    let (code, refused) = f.call("POST", &format!("/api/git/push/{sid}"), None).await;
    assert_eq!(code, 409, "{refused}");
    assert_eq!(refused["code"], "push_rejected");
    let reason = refused["error"].as_str().unwrap();
    assert!(
        reason.contains("fetch first") && reason.contains("git rebase origin/main"),
        "{reason}"
    );
    assert_eq!(f.remote_log("main")[0], "Their change");

    // Fetching shows what the remote has that the branch lacks.
    let (code, fetched) = f.call("POST", &format!("/api/git/fetch/{sid}"), None).await;
    assert_eq!(code, 200, "{fetched}");
    assert_eq!(fetched, json!({"fetched": true, "remote": "origin"}));
    let status = f.status_until(&session, |_| true).await;
    assert_eq!(
        (status["ahead"].as_u64(), status["behind"].as_u64()),
        (Some(1), Some(1)),
        "{status}"
    );
    let (code, e) = f
        .call(
            "POST",
            &format!("/api/git/fetch/{sid}"),
            Some(json!({"remote": "nowhere"})),
        )
        .await;
    assert_eq!(code, 422, "{e}");

    let audit = f.server.db.store.list_audit(None, 20).await.unwrap();
    let actions: Vec<(&str, &str)> = audit
        .iter()
        .filter(|e| e.action.starts_with("git."))
        .map(|e| (e.action.as_str(), e.outcome.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("git.fetch", "failed"),
            ("git.fetch", "ok"),
            ("git.push", "failed"),
            ("git.commit", "ok"),
            ("git.push", "ok"),
            ("git.commit", "ok"),
        ]
    );
}

#[tokio::test]
async fn bad_input_gets_a_clear_answer() {
    let f = fixture(GitServer::start(None).await).await;
    let session = f.session(None).await;
    let sid = id(&session);
    let f = &f;
    let commit = |body: Value| {
        let path = format!("/api/git/commit/{sid}");
        async move { f.call("POST", &path, Some(body)).await }
    };

    let (code, e) = commit(json!({"message": "Nothing"})).await;
    assert_eq!(
        (code, e["code"].as_str()),
        (409, Some("nothing_to_commit")),
        "{e}"
    );

    for (body, field) in [
        (json!({"message": ""}), "message"),
        (json!({"message": " \n "}), "message"),
        (json!({"message": "x".repeat(40 * 1024)}), "message"),
        (json!({"message": "ok", "files": ["../outside"]}), "files"),
        (json!({"message": "ok", "files": ["/etc/passwd"]}), "files"),
        (json!({"message": "ok", "files": ["-rf"]}), "files"),
        (json!({"message": "ok", "files": ["missing.txt"]}), "files"),
    ] {
        let (code, e) = commit(body.clone()).await;
        assert_eq!(code, 422, "{body}: {e}");
        assert!(e["details"]["fields"][field].is_string(), "{body}: {e}");
    }
    let (code, e) = commit(json!({"message": "x".repeat(100 * 1024)})).await;
    assert_eq!(code, 413, "{e}");
    assert!(e["error"].as_str().unwrap().contains("larger"), "{e}");

    for (body, field) in [
        (json!({"remote": "not a remote"}), "remote"),
        (json!({"remote": "--upload-pack=x"}), "remote"),
        (json!({"remote": "upstream"}), "remote"),
        (json!({"branch": "no..pe"}), "branch"),
        (json!({"branch": "never-made"}), "branch"),
    ] {
        let (code, e) = f
            .call("POST", &format!("/api/git/push/{sid}"), Some(body.clone()))
            .await;
        assert_eq!(code, 422, "{body}: {e}");
        assert!(e["details"]["fields"][field].is_string(), "{body}: {e}");
    }
    let (_, e) = f
        .call(
            "POST",
            &format!("/api/git/push/{sid}"),
            Some(json!({"remote": "upstream"})),
        )
        .await;
    assert!(
        e["error"].as_str().unwrap().contains("its remotes: origin"),
        "{e}"
    );

    for query in ["file=../x", "file=-p", "staged=maybe"] {
        let (code, e) = f
            .call("GET", &format!("/api/git/diff/{sid}?{query}"), None)
            .await;
        assert_eq!(code, 422, "{query}: {e}");
    }
    for query in ["limit=0", "limit=101", "offset=-1", "limit=x"] {
        let (code, e) = f
            .call("GET", &format!("/api/git/log/{sid}?{query}"), None)
            .await;
        assert_eq!(code, 422, "{query}: {e}");
    }

    // A binary file: the diff says so instead of printing bytes.
    let container = f.container_of("main").await;
    docker_cli(&[
        "exec",
        &container,
        "sh",
        "-c",
        "head -c 2048 /dev/urandom > /workspace/blob.bin",
    ]);
    let (code, diff) = f
        .call("GET", &format!("/api/git/diff/{sid}?file=blob.bin"), None)
        .await;
    assert_eq!(code, 200, "{diff}");
    assert_eq!(diff["binary"], true, "{diff}");
    assert!(
        diff["diff"].as_str().unwrap().contains("Binary files"),
        "{diff}"
    );

    // A diff over the cap is cut and says so.
    docker_cli(&[
        "exec",
        &container,
        "sh",
        "-c",
        "seq 1 200000 > /workspace/big.txt",
    ]);
    let (_, diff) = f
        .call("GET", &format!("/api/git/diff/{sid}?file=big.txt"), None)
        .await;
    assert_eq!(diff["truncated"], true);
    assert!(diff["diff"].as_str().unwrap().len() <= 512 * 1024);

    // Not yours, not there, not alive.
    let other = f.server.register("eve@example.com", PASSWORD).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    for (method, path) in [
        ("GET", format!("/api/git/status/{sid}")),
        ("GET", format!("/api/git/status/{}", f.env_id)),
        ("GET", format!("/api/git/diff/{sid}")),
        ("GET", format!("/api/git/log/{sid}")),
        ("POST", format!("/api/git/push/{sid}")),
        ("GET", format!("/api/git/repo/{}", f.env_id)),
    ] {
        let (code, e) = f.server.call(method, &path, Some(&other), None).await;
        assert_eq!(code, 404, "{method} {path}: {e}");
    }
    let (code, _) = f
        .server
        .call(
            "POST",
            &format!("/api/git/commit/{sid}"),
            Some(&other),
            Some(json!({"message": "x"})),
        )
        .await;
    assert_eq!(code, 404);
    let (code, _) = f.call("GET", "/api/git/status/not-an-id", None).await;
    assert_eq!(code, 404);
    let (code, _) = f
        .call(
            "GET",
            &format!("/api/git/status/{}", uuid::Uuid::new_v4()),
            None,
        )
        .await;
    assert_eq!(code, 404);

    let (code, _) = f
        .call(
            "PATCH",
            &format!("/api/sessions/{sid}"),
            Some(json!({"status": "dead"})),
        )
        .await;
    assert_eq!(code, 200);
    let (code, e) = commit(json!({"message": "late"})).await;
    assert_eq!(
        (code, e["code"].as_str()),
        (409, Some("session_ended")),
        "{e}"
    );
    let (code, e) = f.call("POST", &format!("/api/git/push/{sid}"), None).await;
    assert_eq!(
        (code, e["code"].as_str()),
        (409, Some("session_ended")),
        "{e}"
    );
}

#[tokio::test]
async fn the_seed_routes_act_on_the_default_branch_workspace() {
    let f = fixture(GitServer::start(None).await).await;
    let feature = f.session(Some("feature")).await;
    let container = f.container_of("main").await;
    docker_cli(&[
        "exec",
        &container,
        "sh",
        "-c",
        "echo seed > /workspace/seed.txt",
    ]);

    let (code, status) = f
        .call("GET", &format!("/api/git/status/{}", f.env_id), None)
        .await;
    assert_eq!(code, 200, "{status}");
    assert_eq!(status["branch"], "main");
    assert_eq!(status["files"][0]["path"], "seed.txt", "{status}");

    for body in [
        json!({"message": "x"}),
        json!({"message": "x", "sessionId": id(&feature), "environmentId": f.env_id}),
    ] {
        let (code, e) = f.call("POST", "/api/git/commit", Some(body)).await;
        assert_eq!(code, 422, "{e}");
    }
    let (code, committed) = f
        .call(
            "POST",
            "/api/git/commit",
            Some(json!({"environmentId": f.env_id, "message": "Seed"})),
        )
        .await;
    assert_eq!(code, 200, "{committed}");
    let (code, pushed) = f
        .call(
            "POST",
            "/api/git/push",
            Some(json!({"environmentId": f.env_id})),
        )
        .await;
    assert_eq!(code, 200, "{pushed}");
    assert_eq!(f.remote_log("main")[0], "Seed");

    // The feature session's branch is new: pushing it makes it on the remote.
    let (code, pushed) = f
        .call(
            "POST",
            "/api/git/push",
            Some(json!({"sessionId": id(&feature)})),
        )
        .await;
    assert_eq!(code, 200, "{pushed}");
    assert_eq!(pushed["branch"], "feature");
    assert_eq!(f.remote_log("feature"), ["Initial commit"]);

    // Committing a renamed file by its new name takes the removal of the old one along.
    let feature_container = f.container_of("feature").await;
    docker_cli(&[
        "exec",
        &feature_container,
        "git",
        "-C",
        "/workspace",
        "mv",
        "README.md",
        "READ-ME.md",
    ]);
    let (code, committed) = f
        .call(
            "POST",
            &format!("/api/git/commit/{}", id(&feature)),
            Some(json!({"message": "Rename", "files": ["READ-ME.md"]})),
        )
        .await;
    assert_eq!(code, 200, "{committed}");
    let status = f.status_until(&feature, |_| true).await;
    assert_eq!(status["clean"], true, "{status}");

    let (code, repo) = f
        .call("GET", &format!("/api/git/repo/{}", f.env_id), None)
        .await;
    assert_eq!(code, 200, "{repo}");
    assert_eq!(repo["defaultBranch"], "main");
    assert_eq!(repo["repositoryUrl"], f.remote.repo_url(REPO));
    assert_eq!(repo["branches"], json!(["feature", "main"]));
    let worktrees = repo["worktrees"].as_array().unwrap();
    let feature_tree = worktrees.iter().find(|w| w["branch"] == "feature").unwrap();
    assert_eq!(feature_tree["sessionIds"], json!([id(&feature)]));
    assert!(worktrees.iter().any(|w| w["branch"] == "main"), "{repo}");

    // A stopped environment: git in its workspaces waits for a start, its branches do not.
    let (code, env) = f
        .call(
            "POST",
            &format!("/api/environments/{}/stop", f.env_id),
            None,
        )
        .await;
    assert_eq!(code, 200, "{env}");
    let (code, e) = f
        .call("GET", &format!("/api/git/status/{}", id(&feature)), None)
        .await;
    assert_eq!(
        (code, e["code"].as_str()),
        (409, Some("not_running")),
        "{e}"
    );
    let (code, repo) = f
        .call("GET", &format!("/api/git/repo/{}", f.env_id), None)
        .await;
    assert_eq!(code, 200, "{repo}");
    assert_eq!(repo["branches"], json!(["feature", "main"]));
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

async fn link_github(
    server: &TestServer,
    token: &str,
    github: &FakeGithub,
    canary: &str,
) -> Vec<Value> {
    let mut answers = Vec::new();
    let (code, flow) = server
        .call("POST", "/api/auth/github/initiate", Some(token), None)
        .await;
    assert_eq!(code, 200, "{flow}");
    github.program(
        flow["userCode"].as_str().unwrap(),
        [Outcome::Token(canary.into())],
    );
    let started = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let (code, polled) = server
            .call(
                "POST",
                "/api/auth/github/poll",
                Some(token),
                Some(json!({"flowId": flow["flowId"]})),
            )
            .await;
        assert_eq!(code, 200, "{polled}");
        answers.push(polled.clone());
        if polled["status"] == "connected" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "never linked: {polled}"
        );
    }
    answers.push(flow);
    answers
}

#[tokio::test]
async fn a_private_github_repository_clones_and_pushes_with_the_linked_token_which_shows_nowhere() {
    let logs = captured_logs();
    let canary = format!("gho_canary{}", uuid::Uuid::new_v4().simple());
    let repos = tempfile::tempdir().unwrap();
    seed_repo(&repos.path().join("ada/app.git"));
    let (git_routes, requests) = git_server::router(repos.path().to_owned(), Some(canary.clone()));
    let github = FakeGithub::start_with(git_routes).await;
    github.add_account(
        &canary,
        FakeAccount {
            login: "ada".into(),
            id: 7,
            repos: vec![FakeRepo::private("ada/app")],
        },
    );
    let server = TestServer::start_with(
        Backend::Sqlite,
        ServerOptions {
            github: github.settings(),
            ..Default::default()
        },
    )
    .await;
    let token = server.register("ada@example.com", PASSWORD).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = github.clone_url("ada/app");

    // Without a linked account the private repository cannot be cloned, and says why.
    let env = server.made_environment(&token, "unlinked", &url).await;
    assert_eq!(env["status"], "error", "{env}");
    assert!(
        env["error"]
            .as_str()
            .unwrap()
            .contains("link a GitHub account"),
        "{env}"
    );

    let mut answers = link_github(&server, &token, &github, &canary).await;
    let env = server.made_environment(&token, "app", &url).await;
    assert_eq!(env["status"], "running", "{env}");
    let env_id = id(&env).to_owned();
    let (code, session) = server
        .call(
            "POST",
            "/api/sessions",
            Some(&token),
            Some(json!({"environmentId": env_id})),
        )
        .await;
    assert_eq!(code, 201, "{session}");
    let sid = id(&session).to_owned();
    let container = server.container_of(&token, &env_id, "main").await;
    docker_cli(&[
        "exec",
        &container,
        "sh",
        "-c",
        "echo private > /workspace/private.txt",
    ]);

    let stop = Arc::new(AtomicBool::new(false));
    let host = sample_host_command_lines(stop.clone());
    let inside = sample_container_command_lines(&container);
    for (method, path, body) in [
        ("GET", format!("/api/git/status/{sid}"), None),
        (
            "POST",
            format!("/api/git/commit/{sid}"),
            Some(json!({"message": "Private work"})),
        ),
        ("POST", format!("/api/git/push/{sid}"), None),
        ("POST", format!("/api/git/fetch/{sid}"), None),
        ("GET", format!("/api/git/log/{sid}"), None),
        ("GET", format!("/api/git/repo/{env_id}"), None),
        ("GET", "/api/auth/me".to_owned(), None),
        ("GET", "/api/auth/github/status".to_owned(), None),
        ("GET", "/api/auth/github/repos".to_owned(), None),
        ("GET", format!("/api/environments/{env_id}"), None),
    ] {
        let (code, answer) = server.call(method, &path, Some(&token), body).await;
        assert_eq!(code, 200, "{path}: {answer}");
        answers.push(answer);
    }
    docker_cli(&["exec", &container, "rm", "/tmp/sampling"]);
    let inside = String::from_utf8(inside.wait_with_output().await.unwrap().stdout).unwrap();
    stop.store(true, Ordering::Relaxed);
    let host = host.join().unwrap();

    assert_eq!(
        git(
            Some(&repos.path().join("ada/app.git")),
            &["log", "--format=%s", "main"]
        ),
        "Private work\nInitial commit\n"
    );
    assert!(
        requests
            .list()
            .iter()
            .any(|r| r.contains("git-receive-pack") && r.ends_with("user=x-access-token")),
        "the push authenticated with the token: {:?}",
        requests.list()
    );
    assert!(
        inside.contains("git push") || inside.contains("git-remote-http"),
        "the container sampler saw the push:\n{inside}"
    );
    assert!(host.len() > 10, "the host sampler saw processes");
    for line in host
        .iter()
        .chain(inside.lines().map(str::to_owned).collect::<Vec<_>>().iter())
    {
        assert!(
            !line.contains(&canary),
            "a command line holds the token: {line}"
        );
    }
    for answer in &answers {
        assert!(
            !answer.to_string().contains(&canary),
            "an answer holds the token: {answer}"
        );
    }
    let logs = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(logs.contains("git.push"), "the push was logged");
    assert!(!logs.contains(&canary), "a log line holds the token");
    let files = std::process::Command::new("grep")
        .args(["-rlF", &canary])
        .arg(server.data_dir.path())
        .arg(server.db.url.trim_start_matches("sqlite://"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&files.stdout),
        "",
        "files on the host (the bare clone's config included) hold the token"
    );
    let inside_files = std::process::Command::new("docker")
        .args([
            "exec",
            &container,
            "grep",
            "-rlF",
            &canary,
            "/workspace",
            "/home",
            "/tmp",
            "/data",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&inside_files.stdout),
        "",
        "files in the container hold the token"
    );
    let audit = server.db.store.list_audit(None, 50).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "git.push" && e.outcome == "ok")
    );
    assert!(
        !format!("{audit:?}").contains(&canary),
        "the audit log holds the token"
    );
}
