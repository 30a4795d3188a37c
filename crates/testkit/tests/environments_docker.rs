//! Environments against the real Docker engine and real git.

use std::time::Duration;

use craftastic_domain::{BranchName, EnvironmentId};
use craftastic_testkit::{
    Backend, ServerOptions, TestServer, docker_cli, fixture_repo, on_both_backends,
};
use serde_json::{Value, json};

on_both_backends!(environment_from_a_local_fixture_runs_hardened_and_is_deleted_without_a_trace);

const PASSWORD: &str = "correct horse battery";
const READY: Duration = Duration::from_secs(90);

struct Fixture {
    server: TestServer,
    token: String,
    repo: std::path::PathBuf,
    _roots: tempfile::TempDir,
}

async fn fixture(backend: Backend) -> Fixture {
    let roots = tempfile::tempdir().unwrap();
    let repo = fixture_repo(roots.path(), "app");
    let server = TestServer::start_with(
        backend,
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
    Fixture {
        server,
        token,
        repo,
        _roots: roots,
    }
}

impl Fixture {
    async fn create(&self, body: Value) -> (u16, Value) {
        self.server
            .call("POST", "/api/environments", Some(&self.token), Some(body))
            .await
    }

    async fn create_running(&self, name: &str) -> Value {
        let (status, env) = self
            .create(json!({"name": name, "repositoryUrl": self.repo.display().to_string()}))
            .await;
        assert_eq!(status, 201, "{env}");
        assert_eq!(env["status"], "creating");
        self.server
            .wait_for_environment(
                &self.token,
                env["id"].as_str().unwrap(),
                &["running", "error"],
                READY,
            )
            .await
    }

    fn containers_of(&self, env_id: &str) -> Vec<String> {
        docker_cli(&[
            "ps",
            "-aq",
            "--no-trunc",
            "--filter",
            &format!("label=craftastic.environment={env_id}"),
        ])
        .lines()
        .map(str::to_owned)
        .collect()
    }
}

fn inspect(container: &str) -> Value {
    let out: Value = serde_json::from_str(&docker_cli(&["inspect", container])).unwrap();
    out[0].clone()
}

fn exec(container: &str, script: &str) -> String {
    docker_cli(&["exec", container, "sh", "-c", script])
        .trim()
        .to_owned()
}

async fn environment_from_a_local_fixture_runs_hardened_and_is_deleted_without_a_trace(
    backend: Backend,
) {
    let f = fixture(backend).await;
    let env = f.create_running("app").await;
    assert_eq!(env["status"], "running", "{env}");
    assert_eq!(env["branch"], "main");
    let env_id = env["id"].as_str().unwrap().to_owned();
    let container = env["containerId"].as_str().expect("containerId").to_owned();

    let c = inspect(&container);
    let host = &c["HostConfig"];
    assert_eq!(c["Config"]["User"], "dev");
    assert_eq!(host["Init"], true, "an init is PID 1");
    assert_eq!(host["CapDrop"], json!(["ALL"]));
    assert!(
        host["CapAdd"].is_null() || host["CapAdd"] == json!([]),
        "{}",
        host["CapAdd"]
    );
    assert_eq!(
        host["SecurityOpt"],
        json!(["no-new-privileges:true"]),
        "and no seccomp=unconfined"
    );
    assert_eq!(host["Privileged"], false);
    assert_eq!(host["Memory"], 512 << 20);
    assert_eq!(host["MemorySwap"], 512 << 20);
    assert_eq!(host["NanoCpus"], 500_000_000);
    assert_eq!(host["PidsLimit"], 512);
    let labels = &c["Config"]["Labels"];
    assert_eq!(labels["craftastic.environment"], env_id.as_str());
    assert_eq!(labels["craftastic.branch"], "main");
    assert_eq!(labels["craftastic.owner"], env["userId"]);
    let mounts = c["Mounts"].as_array().unwrap();
    let binds: Vec<&Value> = mounts.iter().filter(|m| m["Type"] == "bind").collect();
    assert_eq!(
        binds.len(),
        1,
        "the bare repository is the only host path: {mounts:?}"
    );
    let repo_path = f.server.data_dir.path().join(format!("repos/{env_id}.git"));
    assert_eq!(binds[0]["Source"], repo_path.display().to_string());
    assert_eq!(binds[0]["Destination"], format!("/data/repos/{env_id}"));
    assert_eq!(binds[0]["RW"], true);
    assert!(!mounts.iter().any(|m| {
        m["Source"]
            .as_str()
            .unwrap_or_default()
            .contains("docker.sock")
    }));
    assert!(
        mounts
            .iter()
            .all(|m| m["Type"] == "bind" || m["Type"] == "volume")
    );

    assert_ne!(exec(&container, "id -u"), "0");
    assert!(exec(&container, "cat /proc/1/cmdline | tr '\\0' ' '").contains("init"));
    assert_eq!(
        exec(&container, "grep '^Seccomp:' /proc/1/status"),
        "Seccomp:\t2"
    );
    assert_eq!(
        exec(&container, "grep CapEff /proc/self/status"),
        "CapEff:\t0000000000000000"
    );
    assert_eq!(
        exec(&container, "git -C /workspace rev-parse --abbrev-ref HEAD"),
        "main"
    );
    assert_eq!(exec(&container, "cat /workspace/README.md"), "# Fixture");
    assert_eq!(
        exec(
            &container,
            "git -C /workspace status --porcelain && echo clean"
        ),
        "clean",
        "no dubious ownership"
    );
    // Zombies are reaped by the init: a shell that orphans a child leaves none behind.
    exec(&container, "sh -c 'sleep 0.1 & exit 0'; sleep 0.4");
    assert_eq!(exec(&container, "ps -eo stat= | grep -c '^Z' || true"), "0");

    // A second branch: a second container on the same clone.
    let env_row = f
        .server
        .db
        .store
        .get_environment(env_id.parse::<EnvironmentId>().unwrap())
        .await
        .unwrap()
        .unwrap();
    let feature = f
        .server
        .services
        .workspaces
        .ensure(&env_row, &BranchName::parse("feature").unwrap())
        .await
        .unwrap();
    let feature_container = feature.container_id.unwrap();
    assert_ne!(feature_container, container);
    assert_eq!(
        exec(
            &feature_container,
            "git -C /workspace rev-parse --abbrev-ref HEAD"
        ),
        "feature"
    );
    assert_eq!(
        exec(&feature_container, "cat /workspace/feature.txt"),
        "feature work"
    );
    let feature_bind = inspect(&feature_container)["Mounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["Type"] == "bind")
        .cloned()
        .unwrap();
    assert_eq!(
        feature_bind["Source"],
        repo_path.display().to_string(),
        "one bare clone for both"
    );
    // A commit in one workspace is a branch the other can see: they share the repository.
    exec(
        &feature_container,
        "cd /workspace && git -c user.name=A -c user.email=a@x commit -q --allow-empty -m shared",
    );
    assert!(exec(&container, "git -C /workspace log --oneline feature -1").ends_with("shared"));
    assert_eq!(f.containers_of(&env_id).len(), 2);

    let ws_ids: Vec<String> = f
        .server
        .db
        .store
        .list_workspaces(None)
        .await
        .unwrap()
        .iter()
        .map(|w| w.id.to_string())
        .collect();
    let (status, _) = f
        .server
        .call(
            "DELETE",
            &format!("/api/environments/{env_id}"),
            Some(&f.token),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert!(f.containers_of(&env_id).is_empty(), "no container is left");
    let volumes = docker_cli(&["volume", "ls", "-q"]);
    for ws in ws_ids {
        assert!(!volumes.contains(&ws), "volume of {ws} is left");
    }
    assert!(!repo_path.exists(), "the clone is gone");
    assert_eq!(
        std::fs::read_dir(f.server.data_dir.path().join("repos"))
            .unwrap()
            .count(),
        0
    );
    let (status, _) = f
        .server
        .call(
            "GET",
            &format!("/api/environments/{env_id}"),
            Some(&f.token),
            None,
        )
        .await;
    assert_eq!(status, 404);
    assert!(
        f.server
            .db
            .store
            .list_workspaces(None)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        f.repo.join(".git").exists(),
        "the source repository is untouched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_for_one_new_branch_make_one_container() {
    let f = fixture(Backend::Sqlite).await;
    let env = f.create_running("app").await;
    let env_id = env["id"].as_str().unwrap().to_owned();
    let row = f
        .server
        .db
        .store
        .get_environment(env_id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let branch = BranchName::parse("new-work").unwrap();
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let (ws, row, branch) = (
            f.server.services.workspaces.clone(),
            row.clone(),
            branch.clone(),
        );
        tasks.push(tokio::spawn(async move {
            ws.ensure(&row, &branch)
                .await
                .unwrap()
                .container_id
                .unwrap()
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(f.containers_of(&env_id).len(), 2, "main and new-work");
    assert_eq!(
        exec(&ids[0], "git -C /workspace rev-parse --abbrev-ref HEAD"),
        "new-work"
    );
    assert_eq!(
        exec(&ids[0], "git -C /workspace rev-parse HEAD"),
        exec(&ids[0], "git -C /workspace rev-parse main"),
        "branched from main"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_and_leaves_nothing_behind() {
    let f = fixture(Backend::Sqlite).await;
    let repo = f.repo.display().to_string();
    for (body, field) in [
        (json!({"name": "a/b"}), "name"),
        (json!({"name": "   "}), "name"),
        (json!({"name": "n".repeat(300)}), "name"),
        (
            json!({"name": "x", "repositoryUrl": "ext::sh -c touch% /tmp/pwned"}),
            "repositoryUrl",
        ),
        (
            json!({"name": "x", "repositoryUrl": "file:///etc"}),
            "repositoryUrl",
        ),
        (
            json!({"name": "x", "repositoryUrl": "/etc"}),
            "repositoryUrl",
        ),
        (
            json!({"name": "x", "repositoryUrl": "--upload-pack=touch /tmp/pwned"}),
            "repositoryUrl",
        ),
        (
            json!({"name": "x", "repositoryUrl": "ssh://-oProxyCommand=touch/tmp/pwned"}),
            "repositoryUrl",
        ),
        (
            json!({"name": "x", "repositoryUrl": "ftp://example.com/a.git"}),
            "repositoryUrl",
        ),
        (
            json!({"name": "x", "repositoryUrl": repo, "branch": "a..b"}),
            "branch",
        ),
        (
            json!({"name": "x", "repositoryUrl": repo, "branch": "-x"}),
            "branch",
        ),
        (
            json!({"name": "x", "repositoryUrl": repo, "branch": "a@{1}"}),
            "branch",
        ),
        (
            json!({"name": "x", "repositoryUrl": repo, "branch": "x.lock"}),
            "branch",
        ),
    ] {
        let (status, answer) = f.create(body.clone()).await;
        assert_eq!(status, 422, "{body}: {answer}");
        assert!(
            answer["details"]["fields"][field].is_string(),
            "{body}: {answer}"
        );
    }
    let (status, dup) = f.create(json!({"name": "dup"})).await;
    assert_eq!(status, 201);
    let (status, answer) = f.create(json!({"name": "dup"})).await;
    assert_eq!((status, answer["code"].as_str()), (409, Some("name_taken")));
    let (_, list) = f
        .server
        .call("GET", "/api/environments", Some(&f.token), None)
        .await;
    assert_eq!(
        list["environments"].as_array().unwrap().len(),
        1,
        "only the valid one exists"
    );
    let (status, check) = f
        .server
        .call(
            "GET",
            "/api/environments/check-name/dup",
            Some(&f.token),
            None,
        )
        .await;
    assert_eq!((status, check["available"].as_bool()), (200, Some(false)));
    let (_, check) = f
        .server
        .call(
            "GET",
            "/api/environments/check-name/a%2Fb",
            Some(&f.token),
            None,
        )
        .await;
    assert_eq!(check["available"], false);
    assert!(check["reason"].as_str().unwrap().contains("letters"));
    let (_, check) = f
        .server
        .call(
            "GET",
            "/api/environments/check-name/fresh",
            Some(&f.token),
            None,
        )
        .await;
    assert_eq!(check["available"], true);
    f.server
        .wait_for_environment(
            &f.token,
            dup["id"].as_str().unwrap(),
            &["running", "error"],
            READY,
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_environment_is_404() {
    let f = fixture(Backend::Sqlite).await;
    let (_, env) = f.create(json!({"name": "mine"})).await;
    let id = env["id"].as_str().unwrap();
    let owner = env["userId"].as_str().unwrap();
    let eve = f.server.register("eve@example.com", PASSWORD).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    for (method, path) in [
        ("GET", format!("/api/environments/{id}")),
        ("POST", format!("/api/environments/{id}/stop")),
        ("POST", format!("/api/environments/{id}/start")),
        ("DELETE", format!("/api/environments/{id}")),
        ("GET", format!("/api/environments/user/{owner}")),
        ("GET", "/api/environments/not-a-uuid".to_owned()),
    ] {
        let (status, answer) = f.server.call(method, &path, Some(&eve), None).await;
        assert_eq!(status, 404, "{method} {path}: {answer}");
    }
    let (_, list) = f
        .server
        .call("GET", "/api/environments", Some(&eve), None)
        .await;
    assert_eq!(list["environments"], json!([]));
    let (status, list) = f
        .server
        .call(
            "GET",
            &format!("/api/environments/user/{owner}"),
            Some(&f.token),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(list["environments"].as_array().unwrap().len(), 1);
    let (status, _) = f
        .server
        .call("GET", "/api/containers/list", Some(&eve), None)
        .await;
    assert_eq!(status, 403, "admin only");
    f.server
        .wait_for_environment(&f.token, id, &["running", "error"], READY)
        .await;
    let (status, list) = f
        .server
        .call("GET", "/api/containers/list", Some(&f.token), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(list["containers"][0]["environmentId"], id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_repositories_and_unknown_branches_end_in_error_with_a_reason() {
    let f = fixture(Backend::Sqlite).await;
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cases = [
        (
            json!({"name": "down", "repositoryUrl": format!("http://127.0.0.1:{closed_port}/app.git")}),
            "does not answer",
        ),
        (
            json!({"name": "nohost", "repositoryUrl": "https://no-such-host.invalid/app.git"}),
            "does not resolve",
        ),
        (
            json!({"name": "nobranch", "repositoryUrl": f.repo.display().to_string(), "branch": "nope"}),
            "branch nope does not exist",
        ),
    ];
    for (body, reason) in cases {
        let (status, env) = f.create(body).await;
        assert_eq!(status, 201);
        let id = env["id"].as_str().unwrap();
        let env = f
            .server
            .wait_for_environment(&f.token, id, &["running", "error"], READY)
            .await;
        assert_eq!(env["status"], "error", "{env}");
        assert!(env["error"].as_str().unwrap().contains(reason), "{env}");
        assert!(f.containers_of(id).is_empty());
    }
    let repos = f.server.data_dir.path().join("repos");
    assert_eq!(
        std::fs::read_dir(&repos).map(|d| d.count()).unwrap_or(0),
        0,
        "no half-made clone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_environment_without_a_repository_starts_empty() {
    let f = fixture(Backend::Sqlite).await;
    let (status, env) = f
        .create(json!({"name": "scratch", "branch": "trunk"}))
        .await;
    assert_eq!(status, 201);
    let env = f
        .server
        .wait_for_environment(
            &f.token,
            env["id"].as_str().unwrap(),
            &["running", "error"],
            READY,
        )
        .await;
    assert_eq!(env["status"], "running", "{env}");
    let c = env["containerId"].as_str().unwrap();
    assert_eq!(
        exec(c, "git -C /workspace rev-parse --abbrev-ref HEAD"),
        "trunk"
    );
    assert_eq!(
        exec(c, "git -C /workspace log --format=%an%n%s"),
        "Test User\nInitial commit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_start_and_reconciliation_bring_workspaces_back_with_their_files() {
    let f = fixture(Backend::Sqlite).await;
    let env = f.create_running("app").await;
    let id = env["id"].as_str().unwrap().to_owned();
    let container = env["containerId"].as_str().unwrap().to_owned();
    exec(&container, "echo unsaved > /workspace/notes.txt");

    let (status, stopped) = f
        .server
        .call(
            "POST",
            &format!("/api/environments/{id}/stop"),
            Some(&f.token),
            None,
        )
        .await;
    assert_eq!((status, stopped["status"].as_str()), (200, Some("stopped")));
    assert_eq!(inspect(&container)["State"]["Running"], false);
    let (status, started) = f
        .server
        .call(
            "POST",
            &format!("/api/environments/{id}/start"),
            Some(&f.token),
            None,
        )
        .await;
    assert_eq!(
        (status, started["status"].as_str()),
        (200, Some("running")),
        "{started}"
    );
    assert_eq!(inspect(&container)["State"]["Running"], true);

    // Stopped behind our back: restarted on next use.
    docker_cli(&["stop", "-t", "1", &container]);
    let (_, report) = f
        .server
        .call("POST", "/api/cleanup/sessions", Some(&f.token), None)
        .await;
    assert_eq!(report["stoppedWorkspaces"], 1, "{report}");
    let row = f
        .server
        .db
        .store
        .get_environment(id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let ws = f
        .server
        .services
        .workspaces
        .ensure(&row, &row.branch)
        .await
        .unwrap();
    assert_eq!(ws.container_id.as_deref(), Some(container.as_str()));
    assert_eq!(inspect(&container)["State"]["Running"], true);

    // Removed behind our back: marked missing, recreated on next use, files kept.
    docker_cli(&["rm", "-f", &container]);
    let (_, report) = f
        .server
        .call("POST", "/api/cleanup/sessions", Some(&f.token), None)
        .await;
    assert_eq!(report["missingWorkspaces"], 1, "{report}");
    let ws = f
        .server
        .services
        .workspaces
        .ensure(&row, &row.branch)
        .await
        .unwrap();
    let recreated = ws.container_id.unwrap();
    assert_ne!(recreated, container);
    assert_eq!(exec(&recreated, "cat /workspace/notes.txt"), "unsaved");
    assert_eq!(
        exec(&recreated, "git -C /workspace rev-parse --abbrev-ref HEAD"),
        "main"
    );

    // A labelled container that no row owns is removed.
    let orphan = docker_cli(&[
        "create",
        "--label",
        &format!("craftastic.instance={}", f.server.instance),
        "--label",
        "craftastic.workspace=00000000-0000-0000-0000-000000000000",
        "craftastic/sandbox:latest",
    ]);
    let (_, report) = f
        .server
        .call("POST", "/api/cleanup/sessions", Some(&f.token), None)
        .await;
    assert_eq!(report["removedContainers"], 1, "{report}");
    assert!(
        docker_cli(&["ps", "-aq", "--no-trunc"])
            .lines()
            .all(|c| c != orphan.trim())
    );
    assert_eq!(f.containers_of(&id), vec![recreated]);
}

/// The runtime's interactive exec: a terminal of the asked size, resizable, bytes both ways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interactive_exec_has_a_resizable_terminal() {
    use craftastic_runtime::{ExecSpec, Runtime};
    use futures::StreamExt;
    use tokio::io::AsyncWriteExt;

    let f = fixture(Backend::Sqlite).await;
    let env = f.create_running("app").await;
    let container = env["containerId"].as_str().unwrap();
    let runtime = craftastic_testkit::docker().await;
    let spec = ExecSpec {
        cmd: vec!["bash".into(), "--norc".into(), "-i".into()],
        ..Default::default()
    };
    let mut tty = runtime.exec_tty(container, spec, 100, 30).await.unwrap();
    let mut seen = String::new();
    let mut expect = async |tty: &mut craftastic_runtime::TtyExec, needle: &str| {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !seen.contains(needle) {
            let chunk = tokio::time::timeout_at(deadline, tty.output.next()).await;
            let chunk = chunk
                .unwrap_or_else(|_| panic!("no {needle:?} in {seen:?}"))
                .expect("output")
                .unwrap();
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    tty.input.write_all(b"stty size; tty\r").await.unwrap();
    expect(&mut tty, "30 100").await;
    expect(&mut tty, "/dev/pts/").await;
    runtime.resize_tty(&tty.exec_id, 132, 43).await.unwrap();
    tty.input.write_all(b"stty size\r").await.unwrap();
    expect(&mut tty, "43 132").await;
    tty.input
        .write_all("echo \u{1F600} $((6*7))\r".as_bytes())
        .await
        .unwrap();
    expect(&mut tty, "\u{1F600} 42").await;
    tty.input.write_all(b"exit\r").await.unwrap();
}
