//! Workspaces made from a branch's devcontainer.json, against the real Docker engine: a
//! Dockerfile built on a base image that has neither tmux nor git, Craftastic's tools
//! brought in, containerEnv and remoteEnv, postCreateCommand once and postStartCommand at
//! each start, unsupported fields reported, and a broken file refused with its line.

use std::time::Duration;

use craftastic_testkit::{Backend, ServerOptions, TestServer, docker_cli};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";
/// The image the devcontainer is built on: Debian without tmux or git (`scripts/base-image`).
const BASE: &str = "craftastic/base:bookworm";

const DEVCONTAINER: &str = r#"// Built on a base without tmux or git.
{
    "name": "fixture",
    "build": {
        "dockerfile": "Dockerfile", /* next to this file */
        "args": {"MARK": "from-args"},
    },
    "containerEnv": {"GREETING": "hello-from-containerEnv"},
    "remoteEnv": {"REMOTE": "remote-${containerEnv:GREETING}"},
    "postCreateCommand": "echo created >> \"$HOME/created\"",
    "postStartCommand": ["sh", "-c", "echo \"started $REMOTE\" >> \"$HOME/started\""],
    "forwardPorts": [3000],
    "features": {"ghcr.io/devcontainers/features/node:1": {}},
    "privileged": true,
}
"#;

const DOCKERFILE: &str =
    "FROM craftastic/base:bookworm\nARG MARK\nRUN echo \"$MARK\" > /etc/devcontainer-mark\n";

fn git(repo: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(repo)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Fixture")
        .env("GIT_AUTHOR_EMAIL", "fixture@example.com")
        .env("GIT_COMMITTER_NAME", "Fixture")
        .env("GIT_COMMITTER_EMAIL", "fixture@example.com")
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A repository whose `main` has the devcontainer above and whose `broken` has a
/// devcontainer.json with a syntax error on line 3.
fn repo(dir: &std::path::Path) -> std::path::PathBuf {
    let repo = dir.join("app");
    std::fs::create_dir_all(repo.join(".devcontainer")).unwrap();
    git(&repo, &["init", "--quiet", "--initial-branch=main"]);
    std::fs::write(repo.join("README.md"), "# App\n").unwrap();
    std::fs::write(repo.join(".devcontainer/devcontainer.json"), DEVCONTAINER).unwrap();
    std::fs::write(repo.join(".devcontainer/Dockerfile"), DOCKERFILE).unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "--quiet", "-m", "A devcontainer"]);
    git(&repo, &["checkout", "--quiet", "-b", "broken"]);
    std::fs::write(
        repo.join(".devcontainer/devcontainer.json"),
        "{\n  \"image\": \"craftastic/base:bookworm\"\n  \"remoteUser\": \"dev\"\n}\n",
    )
    .unwrap();
    git(&repo, &["commit", "--quiet", "-am", "Break it"]);
    git(&repo, &["checkout", "--quiet", "main"]);
    repo
}

struct Fixture {
    server: TestServer,
    token: String,
    env: String,
    _roots: tempfile::TempDir,
}

impl Fixture {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.server
            .call(method, path, Some(&self.token), body)
            .await
    }

    /// The devcontainer of `branch` once its status is one of `want` (5 minutes at most:
    /// the first build gathers the tools too).
    async fn devcontainer(&self, branch: &str, want: &[&str]) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(300);
        loop {
            let (status, body) = self
                .call(
                    "GET",
                    &format!("/api/environments/{}/devcontainers", self.env),
                    None,
                )
                .await;
            assert_eq!(status, 200, "{body}");
            let found = body["workspaces"]
                .as_array()
                .unwrap()
                .iter()
                .find(|w| w["branch"] == branch)
                .cloned();
            if let Some(w) = &found {
                if want.iter().any(|s| w["status"] == *s) {
                    return w.clone();
                }
            }
            assert!(std::time::Instant::now() < deadline, "still {found:?}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

fn exec(container: &str, script: &str) -> String {
    docker_cli(&["exec", container, "sh", "-c", script])
        .trim()
        .to_owned()
}

#[tokio::test]
async fn a_dockerfile_devcontainer_without_tmux_or_git_gets_a_working_session() {
    let base = docker_cli(&[
        "run",
        "--rm",
        BASE,
        "sh",
        "-c",
        "command -v tmux git || echo none",
    ]);
    assert_eq!(base.trim(), "none", "{BASE} must have neither tmux nor git");
    let roots = tempfile::tempdir().unwrap();
    let repo = repo(roots.path());
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
    let (status, env) = server
        .call(
            "POST",
            "/api/environments",
            Some(&token),
            Some(json!({"name": "app", "repositoryUrl": repo.display().to_string()})),
        )
        .await;
    assert_eq!(status, 201, "{env}");
    let env_id = env["id"].as_str().unwrap().to_owned();
    let env = server
        .wait_for_environment(
            &token,
            &env_id,
            &["running", "error"],
            Duration::from_secs(600),
        )
        .await;
    assert_eq!(env["status"], "running", "{env}");
    let f = Fixture {
        server,
        token,
        env: env_id,
        _roots: roots,
    };

    let dc = f.devcontainer("main", &["ready", "failed"]).await;
    assert_eq!(dc["status"], "ready", "{dc:#}");
    assert_eq!(dc["config"]["path"], ".devcontainer/devcontainer.json");
    assert_eq!(dc["forwardPorts"], json!([{"port": 3000}]));
    let unsupported: Vec<&str> = dc["unsupported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["field"].as_str().unwrap())
        .collect();
    assert_eq!(unsupported, ["features", "privileged"], "{dc:#}");
    let log: Vec<&str> = dc["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["line"].as_str().unwrap())
        .collect();
    assert!(
        log.iter()
            .any(|l| l.starts_with("running postCreateCommand")),
        "{log:#?}"
    );

    let container = f.server.container_of(&f.token, &f.env, "main").await;
    let inspect: Value = serde_json::from_str(&docker_cli(&["inspect", &container])).unwrap();
    let c = &inspect[0];
    assert!(
        c["Config"]["Image"]
            .as_str()
            .unwrap()
            .starts_with("craftastic/devcontainer:"),
        "{}",
        c["Config"]["Image"]
    );
    assert_eq!(c["Config"]["User"], "1000:1000");
    assert_eq!(c["HostConfig"]["CapDrop"], json!(["ALL"]));
    assert_eq!(
        c["HostConfig"]["SecurityOpt"],
        json!(["no-new-privileges:true"])
    );
    assert_eq!(exec(&container, "cat /etc/devcontainer-mark"), "from-args");
    assert_eq!(
        exec(&container, "echo $GREETING"),
        "hello-from-containerEnv"
    );
    assert_eq!(
        exec(&container, "id -u; git -C /workspace branch --show-current"),
        "1000\nmain"
    );

    // A session: tmux and the shell of the image, with remoteEnv and containerEnv.
    let (status, session) = f
        .call(
            "POST",
            "/api/sessions",
            Some(json!({"environmentId": f.env})),
        )
        .await;
    assert_eq!(status, 201, "{session}");
    let tmux = session["tmuxSessionName"].as_str().unwrap().to_owned();
    exec(
        &container,
        &format!("tmux send-keys -t '={tmux}:' 'echo \"[$GREETING|$REMOTE]\" > /tmp/said' Enter"),
    );
    let said = wait_for(
        || exec(&container, "cat /tmp/said 2>/dev/null || true"),
        |s| !s.is_empty(),
    )
    .await;
    assert_eq!(
        said,
        "[hello-from-containerEnv|remote-hello-from-containerEnv]"
    );

    // postCreateCommand once, postStartCommand at each start.
    assert_eq!(exec(&container, "cat $HOME/created"), "created");
    assert_eq!(
        exec(&container, "cat $HOME/started"),
        "started remote-hello-from-containerEnv"
    );
    let (status, body) = f
        .call("POST", &format!("/api/environments/{}/stop", f.env), None)
        .await;
    assert!(status < 300, "{body}");
    let (status, body) = f
        .call("POST", &format!("/api/environments/{}/start", f.env), None)
        .await;
    assert!(status < 300, "{body}");
    wait_for(|| exec(&container, "wc -l < $HOME/started"), |s| s == "2").await;
    let dc = f.devcontainer("main", &["ready", "failed"]).await;
    assert_eq!(dc["status"], "ready", "{dc:#}");
    assert_eq!(
        exec(&container, "cat $HOME/created"),
        "created",
        "postCreateCommand ran once"
    );

    // A broken file on another branch: its workspace is not made, and says where.
    let (status, body) = f
        .call(
            "POST",
            "/api/sessions",
            Some(json!({"environmentId": f.env, "branch": "broken"})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let message = body["error"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("line 3, column 3"), "{body}");
    let dc = f.devcontainer("broken", &["invalid"]).await;
    assert!(
        dc["error"].as_str().unwrap().contains("line 3, column 3"),
        "{dc:#}"
    );

    // The images built for it go with the test.
    let (status, _) = f
        .call("DELETE", &format!("/api/environments/{}", f.env), None)
        .await;
    assert_eq!(status, 204);
    remove_images(&c["Config"]["Image"]);
}

/// Removes the workspace image and the images it was built from (not the tools image,
/// which every devcontainer test of this machine shares).
fn remove_images(image: &Value) {
    let builds = docker_cli(&["images", "-q", "craftastic/devcontainer-build"]);
    for image in std::iter::once(image.as_str().unwrap()).chain(builds.lines()) {
        let out = std::process::Command::new("docker")
            .args(["rmi", "-f", image])
            .output()
            .expect("docker CLI");
        if !out.status.success() {
            eprintln!(
                "docker rmi {image}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

async fn wait_for(mut read: impl FnMut() -> String, done: impl Fn(&str) -> bool) -> String {
    for _ in 0..120 {
        let value = read();
        if done(&value) {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("never came: {}", read());
}
