//! Git in the workspace through the API, against a real git server over HTTP (`git
//! http-backend`), real containers and real tmux.

use std::time::{Duration, Instant};

use craftastic_testkit::git_server::{GitServer, git};
use craftastic_testkit::{Backend, TestServer, docker_cli};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";
const READY: Duration = Duration::from_secs(90);

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
    let (status, env) = server
        .call(
            "POST",
            "/api/environments",
            Some(&token),
            Some(json!({"name": "app", "repositoryUrl": url})),
        )
        .await;
    assert_eq!(status, 201, "{env}");
    let env_id = env["id"].as_str().unwrap().to_owned();
    let env = server
        .wait_for_environment(&token, &env_id, &["running", "error"], READY)
        .await;
    assert_eq!(env["status"], "running", "{env}");
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
        let (_, env) = self
            .call("GET", &format!("/api/environments/{}", self.env_id), None)
            .await;
        env["workspaces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["branch"] == branch)
            .and_then(|w| w["containerId"].as_str())
            .unwrap_or_else(|| panic!("no container for {branch}: {env}"))
            .to_owned()
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
        reason.contains("fetch first") && reason.contains("git pull --rebase"),
        "{reason}"
    );
    assert_eq!(f.remote_log("main")[0], "Their change");

    let audit = f.server.db.store.list_audit(None, 20).await.unwrap();
    let actions: Vec<(&str, &str)> = audit
        .iter()
        .filter(|e| e.action.starts_with("git."))
        .map(|e| (e.action.as_str(), e.outcome.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
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
}
