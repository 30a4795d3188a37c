//! Bombs stay inside: a fork bomb, a memory bomb and a disk-filling loop in one user's
//! workspace, run from inside its real container, leave the server answering `/healthz` fast
//! and another user's workspace working; a workspace over its disk cap is stopped with the
//! reason, and comes back once its user frees space.
//!
//! The tests run one at a time (they share the machine's CPUs, which the latency figures
//! measure) and print what they measured; `cargo test --test bombs -- --nocapture` shows it.

use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::container::StatsOptions;
use bollard::exec::{CreateExecOptions, StartExecOptions};
use craftastic_runtime::{ExecSpec, Runtime};
use craftastic_testkit::{Backend, ServerOptions, TestServer, docker, fixture_repo};
use futures::StreamExt;
use serde_json::{Value, json};

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const PASSWORD: &str = "correct horse battery";

/// One user with a running environment on the fixture repository.
struct Tenant {
    token: String,
    env_id: String,
    container: String,
}

struct Fixture {
    server: TestServer,
    /// The attacker.
    a: Tenant,
    /// Another user, who must not notice.
    b: Tenant,
    _roots: tempfile::TempDir,
}

async fn fixture(options: ServerOptions) -> Fixture {
    let roots = tempfile::tempdir().unwrap();
    let repo = fixture_repo(roots.path(), "app").display().to_string();
    let server = TestServer::start_with(
        Backend::Sqlite,
        ServerOptions {
            local_roots: vec![roots.path().to_owned()],
            ..options
        },
    )
    .await;
    let mut tenants = Vec::new();
    for email in ["mallory@example.com", "bob@example.com"] {
        let token = server.register(email, PASSWORD).await["accessToken"]
            .as_str()
            .unwrap()
            .to_owned();
        let env = server.made_environment(&token, "app", &repo).await;
        assert_eq!(env["status"], "running", "{env}");
        let env_id = env["id"].as_str().unwrap().to_owned();
        let container = server.container_of(&token, &env_id, "main").await;
        tenants.push(Tenant {
            token,
            env_id,
            container,
        });
    }
    let b = tenants.pop().unwrap();
    let a = tenants.pop().unwrap();
    Fixture {
        server,
        a,
        b,
        _roots: roots,
    }
}

impl Fixture {
    async fn environment(&self, t: &Tenant) -> Value {
        let (status, env) = self
            .server
            .call(
                "GET",
                &format!("/api/environments/{}", t.env_id),
                Some(&t.token),
                None,
            )
            .await;
        assert_eq!(status, 200, "{env}");
        env
    }

    async fn workspace(&self, t: &Tenant) -> Value {
        self.environment(t).await["workspaces"][0].clone()
    }

    /// `/healthz` asked `n` times, one after another; returns (p50, p95, max).
    async fn healthz_latency(&self, n: usize) -> (Duration, Duration, Duration) {
        let mut times = Vec::with_capacity(n);
        for _ in 0..n {
            let started = Instant::now();
            let res = self
                .server
                .http
                .get(self.server.url("/healthz"))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            res.bytes().await.unwrap();
            times.push(started.elapsed());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        times.sort();
        let p95 = times[(n * 95).div_ceil(100) - 1];
        (times[n / 2], p95, times[n - 1])
    }

    /// `echo ok` in B's workspace answers within a few seconds; returns how long it took.
    async fn b_answers(&self) -> Duration {
        let started = Instant::now();
        let out = tokio::time::timeout(
            Duration::from_secs(5),
            docker().await.exec(
                &self.b.container,
                ExecSpec {
                    cmd: vec!["echo".into(), "ok".into()],
                    ..Default::default()
                },
            ),
        )
        .await
        .expect("B's workspace answers within 5 s")
        .unwrap();
        assert_eq!((out.code, out.stdout_str().as_str()), (0, "ok\n"));
        started.elapsed()
    }

    /// The server and B are fine: `/healthz` p95 under 100 ms, B answers, and B's
    /// environment reads as running.
    async fn others_are_fine(&self, during: &str, requests: usize) {
        let (p50, p95, max) = self.healthz_latency(requests).await;
        let b = self.b_answers().await;
        println!(
            "during {during}: /healthz over {requests} requests p50 {p50:?}, p95 {p95:?}, max {max:?}; `echo ok` in another user's workspace {b:?}"
        );
        assert!(
            p95 < Duration::from_millis(100),
            "/healthz p95 {p95:?} during {during}"
        );
        let env = self.environment(&self.b).await;
        assert_eq!(env["status"], "running", "{env}");
        assert_eq!(env["workspaces"][0]["status"], "running", "{env}");
    }
}

fn bollard() -> Docker {
    Docker::connect_with_defaults().unwrap()
}

/// Starts `script` as `dev` in the container and leaves it running.
async fn detached(container: &str, script: &str) {
    let docker = bollard();
    let exec = docker
        .create_exec(
            container,
            CreateExecOptions {
                cmd: Some(vec!["bash", "-c", script]),
                user: Some("dev"),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    docker
        .start_exec(
            &exec.id,
            Some(StartExecOptions {
                detach: true,
                ..Default::default()
            }),
        )
        .await
        .unwrap();
}

/// Processes and threads in the container, and its memory use, as the engine counts them.
async fn pids_and_memory(container: &str) -> (u64, u64) {
    let stats = bollard()
        .stats(
            container,
            Some(StatsOptions {
                stream: false,
                one_shot: true,
            }),
        )
        .next()
        .await
        .unwrap()
        .unwrap();
    (
        stats.pids_stats.current.unwrap_or(0),
        stats.memory_stats.usage.unwrap_or(0),
    )
}

async fn running(container: &str) -> bool {
    docker()
        .await
        .inspect(container)
        .await
        .unwrap()
        .is_some_and(|c| c.running)
}

async fn sh(container: &str, script: &str) -> String {
    let out = docker()
        .await
        .exec(
            container,
            ExecSpec {
                cmd: vec!["sh".into(), "-c".into(), script.into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(out.code, 0, "{script}: {}", out.stderr_str());
    out.stdout_str()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fork_bomb_stays_inside_its_workspace() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let f = fixture(ServerOptions::default()).await;
    detached(&f.a.container, ":(){ :|:& };:").await;
    let started = Instant::now();
    let mut pids = 0;
    while started.elapsed() < Duration::from_secs(20) {
        pids = pids_and_memory(&f.a.container).await.0;
        if pids >= 500 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "fork bomb: {pids} processes in the workspace after {:?} (limit 512)",
        started.elapsed()
    );
    assert!(
        pids >= 500,
        "the fork bomb did not take off: {pids} processes"
    );

    f.others_are_fine("a fork bomb", 50).await;
    assert!(
        pids_and_memory(&f.a.container).await.0 >= 500,
        "the fork bomb still runs while the others are measured"
    );

    // The disk watch goes on during a fork bomb: each pass ends within its deadline, and a
    // measurement the bomb keeps from running (no process left for `du`) counts against the
    // workspace, so two such in a row stop it. Whether `du` finds a free process slot is a
    // race with the bomb, so either outcome is right here; hanging is not.
    let started = Instant::now();
    let mut passes = Vec::new();
    while passes.len() < 3 {
        let report = tokio::time::timeout(
            craftastic_service::disk::MEASURE_DEADLINE + Duration::from_secs(5),
            f.server.services.disk.run(),
        )
        .await
        .expect("a disk pass during a fork bomb ends within its deadline")
        .unwrap();
        let done = !report.stopped.is_empty();
        passes.push(report);
        if done {
            break;
        }
    }
    println!(
        "disk watch during the fork bomb, {:?}: {passes:?}",
        started.elapsed()
    );
    let ws = f.workspace(&f.a).await;
    if ws["status"] == "stopped" {
        assert!(
            ws["error"]
                .as_str()
                .unwrap()
                .contains("could not be measured 2 times in a row"),
            "{ws}"
        );
        assert!(!running(&f.a.container).await, "the fork bomb is over");
    } else {
        assert_eq!(ws["status"], "running", "{ws}");
    }
    assert_eq!(f.workspace(&f.b).await["status"], "running");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_bomb_is_killed_by_its_workspaces_memory_limit() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let f = fixture(ServerOptions::default()).await;
    // `tail` keeps the last line of input, and zeros have no line end: it holds all 2 GiB.
    detached(
        &f.a.container,
        "while :; do head -c 2G /dev/zero | tail; echo $? >> /tmp/bomb-exits; done",
    )
    .await;
    let started = Instant::now();
    while pids_and_memory(&f.a.container).await.1 < 256 << 20 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the bomb does not grow"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("memory bomb: past 256 MiB after {:?}", started.elapsed());
    f.others_are_fine("a memory bomb", 50).await;

    let mut exits = String::new();
    while exits.is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the bomb is never killed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        exits = sh(&f.a.container, "cat /tmp/bomb-exits 2>/dev/null; true").await;
    }
    let (_, memory) = pids_and_memory(&f.a.container).await;
    println!(
        "memory bomb: killed {} times so far (exit codes {:?}); the workspace uses {} MiB of its 512 MiB",
        exits.lines().count(),
        exits.lines().collect::<Vec<_>>(),
        memory >> 20
    );
    assert!(
        !exits.is_empty() && exits.lines().all(|c| c == "137"),
        "each bomb is killed (SIGKILL by the OOM killer): {exits:?}"
    );
    assert!(memory <= 512 << 20, "{memory} bytes");
    assert!(
        running(&f.a.container).await,
        "the workspace itself survives"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_filling_loop_stops_its_workspace_with_the_reason() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let f = fixture(ServerOptions {
        disk_limit: Some(50 << 20),
        disk_check_interval: Some(Duration::from_secs(1)),
        ..Default::default()
    })
    .await;
    let (status, session) = f
        .server
        .call(
            "POST",
            "/api/sessions",
            Some(&f.a.token),
            Some(json!({"environmentId": f.a.env_id})),
        )
        .await;
    assert_eq!(status, 201, "{session}");
    let measured = wait_for_workspace(&f, &f.b, |w| w["diskBytes"].is_i64()).await;
    println!(
        "before: B's workspace holds {} KiB",
        measured["diskBytes"].as_i64().unwrap() >> 10
    );

    // Up to 100 MB/s, in 1 MB files: enough to cross 50 MiB in half a second, gentle on a
    // shared disk.
    detached(
        &f.a.container,
        "i=0; while :; do head -c 1M /dev/zero > /workspace/fill-$i; i=$((i+1)); sleep 0.01; done",
    )
    .await;
    let started = Instant::now();
    let ws = wait_for_workspace(&f, &f.a, |w| w["status"] == "stopped").await;
    let took = started.elapsed();
    println!(
        "disk filling: stopped after {took:?} at {} MiB: {}",
        ws["diskBytes"].as_i64().unwrap() >> 20,
        ws["error"]
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
    let error = ws["error"].as_str().unwrap();
    assert!(
        error.starts_with("stopped because it used ")
            && error.contains("over its cap of 50 MiB (SANDBOX_DISK_LIMIT)"),
        "{error}"
    );
    assert!(ws["diskBytes"].as_i64().unwrap() > 50 << 20, "{ws}");
    assert_eq!(ws["diskLimitBytes"], 50 << 20, "{ws}");
    assert!(!running(&f.a.container).await, "its container is stopped");
    let env = f.environment(&f.a).await;
    assert_eq!(env["sessions"][0]["id"], session["id"]);
    assert_eq!(env["sessions"][0]["status"], "inactive", "{env}");

    f.others_are_fine("a disk-filling loop", 20).await;
    let b = f.workspace(&f.b).await;
    assert!(b["diskBytes"].as_i64().unwrap() < 50 << 20, "{b}");
    assert!(b.get("error").is_none(), "{b}");
}

/// Polls the tenant's workspace until `done` holds (at most 20 s).
async fn wait_for_workspace(f: &Fixture, t: &Tenant, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let ws = f.workspace(t).await;
        if done(&ws) {
            return ws;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "still {ws}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workspace_stopped_over_its_cap_comes_back_and_stays_once_space_is_freed() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let f = fixture(ServerOptions {
        disk_limit: Some(50 << 20),
        ..Default::default()
    })
    .await;
    let disk = &f.server.services.disk;
    let (_, session) = f
        .server
        .call(
            "POST",
            "/api/sessions",
            Some(&f.a.token),
            Some(json!({"environmentId": f.a.env_id})),
        )
        .await;
    sh(&f.a.container, "head -c 60M /dev/zero > /workspace/big").await;

    let report = disk.run().await.unwrap();
    assert_eq!(report.stopped.len(), 1, "{report:?}");
    assert_eq!(report.measured, 2, "{report:?}");
    let ws = f.workspace(&f.a).await;
    assert_eq!(ws["status"], "stopped", "{ws}");
    assert!(
        ws["error"]
            .as_str()
            .unwrap()
            .contains("worktree 60 MiB, rest of the container"),
        "{ws}"
    );

    // Opening a session starts it again, with the reason gone.
    let sid = session["id"].as_str().unwrap();
    let (status, body) = f
        .server
        .call(
            "PATCH",
            &format!("/api/sessions/{sid}"),
            Some(&f.a.token),
            Some(json!({"status": "active"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let ws = f.workspace(&f.a).await;
    assert_eq!(ws["status"], "running", "{ws}");
    assert!(ws.get("error").is_none(), "{ws}");

    sh(&f.a.container, "rm /workspace/big").await;
    let report = disk.run().await.unwrap();
    assert!(report.stopped.is_empty(), "{report:?}");
    let ws = f.workspace(&f.a).await;
    assert_eq!(ws["status"], "running", "{ws}");
    assert!(ws["diskBytes"].as_i64().unwrap() < 50 << 20, "{ws}");
    assert!(running(&f.a.container).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workspace_that_hides_its_files_from_the_measurement_is_stopped() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let f = fixture(ServerOptions {
        disk_limit: Some(50 << 20),
        ..Default::default()
    })
    .await;
    let disk = &f.server.services.disk;
    sh(
        &f.a.container,
        "mkdir /workspace/hide && head -c 60M /dev/zero > /workspace/hide/big && chmod 000 /workspace/hide",
    )
    .await;
    let first = disk.run().await.unwrap();
    assert_eq!((first.failed, first.stopped.len()), (1, 0), "{first:?}");
    assert_eq!(f.workspace(&f.a).await["status"], "running");
    let second = disk.run().await.unwrap();
    assert_eq!(second.stopped.len(), 1, "{second:?}");
    let ws = f.workspace(&f.a).await;
    assert_eq!(ws["status"], "stopped", "{ws}");
    let error = ws["error"].as_str().unwrap();
    assert!(
        error.contains("could not be measured 2 times in a row")
            && error.contains("Permission denied"),
        "{error}"
    );
    assert_eq!(f.workspace(&f.b).await["status"], "running");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_caps_writable_layers_exactly_where_the_server_says_it_does() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let server = TestServer::start(Backend::Sqlite).await;
    let settings = server.services.environments.settings();
    let runtime = docker().await;
    let said = craftastic_service::disk::engine_quota(&runtime, settings).await;
    let driver = runtime.storage_driver().await.unwrap();
    println!("storage driver {driver:?}: {said:?}");
    // Ask the engine directly, whatever the server decided.
    let spec = craftastic_service::sandbox::probe_spec(
        settings,
        craftastic_runtime::Limits {
            disk_bytes: Some(64 << 20),
            ..settings.limits
        },
    );
    let created = runtime.create(&spec).await;
    if let Ok(id) = &created {
        runtime.remove(id).await.unwrap();
    }
    assert_eq!(
        said.is_ok(),
        created.is_ok(),
        "server: {said:?}, engine: {created:?}"
    );
    if let Err(why) = said {
        assert!(why.contains(&driver.name), "{why}");
    }
}
