//! Session watchers against real Docker and tmux: a tmux session that ends inside its
//! container is marked dead within seconds without a reconciliation pass, a pass reads the
//! watchers' reports instead of running an exec in every container, no watcher process
//! outlives the server's drop of it, and a watcher that prints garbage, endless lines,
//! floods of reports or nothing costs the server neither a hang nor memory.

use std::sync::Arc;
use std::time::{Duration, Instant};

use craftastic_domain::WorkspaceId;
use craftastic_runtime::Runtime;
use craftastic_service::activity::Activities;
use craftastic_service::events::Events;
use craftastic_service::sessions::{Place, WatchSettings, Watchers};
use craftastic_store::Store;
use craftastic_testkit::faults::Call;
use craftastic_testkit::{Backend, ServerOptions, TestServer, docker_cli, fixture_repo};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

struct Fixture {
    server: TestServer,
    token: String,
    repo: String,
    _roots: tempfile::TempDir,
}

async fn fixture(watch: WatchSettings) -> Fixture {
    let roots = tempfile::tempdir().unwrap();
    let repo = fixture_repo(roots.path(), "app").display().to_string();
    let server = TestServer::start_with(
        Backend::Sqlite,
        ServerOptions {
            local_roots: vec![roots.path().to_owned()],
            watch,
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

fn every_second() -> WatchSettings {
    WatchSettings {
        period: Duration::from_secs(1),
        ..WatchSettings::default()
    }
}

impl Fixture {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.server
            .call(method, path, Some(&self.token), body)
            .await
    }

    /// A running environment with one session: (environment id, container, session).
    async fn environment_with_session(&self, name: &str) -> (String, String, Value) {
        let env = self
            .server
            .made_environment(&self.token, name, &self.repo)
            .await;
        assert_eq!(env["status"], "running", "{env}");
        let env_id = env["id"].as_str().unwrap().to_owned();
        let (status, session) = self
            .call(
                "POST",
                "/api/sessions",
                Some(json!({"environmentId": env_id})),
            )
            .await;
        assert_eq!(status, 201, "{session}");
        let container = self.server.container_of(&self.token, &env_id, "main").await;
        (env_id, container, session)
    }

    async fn session_status(&self, session: &Value) -> String {
        let id = session["id"].as_str().unwrap();
        let (_, s) = self.call("GET", &format!("/api/sessions/{id}"), None).await;
        s["status"].as_str().unwrap().to_owned()
    }

    fn watchers(&self) -> &craftastic_service::sessions::Watchers {
        self.server.services.sessions.watchers()
    }
}

fn kill_tmux(container: &str, session: &Value) {
    let tmux = session["tmuxSessionName"].as_str().unwrap();
    docker_cli(&[
        "exec",
        container,
        "tmux",
        "kill-session",
        "-t",
        &format!("={tmux}"),
    ]);
}

/// The watchers running in the container: the distinct markers of its marked processes (a
/// watcher's `tmux list-sessions` carries its marker too, for a moment).
fn watcher_processes(container: &str) -> Vec<String> {
    let mut markers: Vec<String> = docker_cli(&[
        "exec",
        container,
        "sh",
        "-c",
        "grep -hosz '^CRAFTASTIC_WATCHER=[0-9a-f]*' /proc/[0-9]*/environ | tr '\\0' '\\n'; exit 0",
    ])
    .lines()
    .map(str::to_owned)
    .collect();
    markers.sort();
    markers.dedup();
    markers
}

async fn wait_until(what: &str, limit: Duration, mut done: impl AsyncFnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done().await {
        assert!(
            started.elapsed() < limit,
            "gave up waiting for {what} after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed()
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tmux_session_killed_inside_its_container_is_dead_within_seconds_without_a_pass() {
    let f = fixture(every_second()).await;
    let (_, container, session) = f.environment_with_session("app").await;
    assert!(
        f.watchers().watches(&container),
        "starting a session starts its watcher"
    );
    wait_until("a fresh report", Duration::from_secs(10), async || {
        f.watchers().is_fresh(&container)
    })
    .await;
    assert_eq!(watcher_processes(&container).len(), 1);

    kill_tmux(&container, &session);
    let took = wait_until(
        "the session to be dead",
        Duration::from_secs(5),
        async || f.session_status(&session).await == "dead",
    )
    .await;
    println!("the session was marked dead {took:?} after its tmux session ended (period 1 s)");
    // The store is as the pass would leave it: a pass now finds nothing to do.
    let report = f.server.services.reconciler.run().await.unwrap();
    assert_eq!(
        (report.dead_sessions, report.failures),
        (0, 0),
        "{report:?}"
    );

    // A session started again is not taken for ended by a report begun before it ran.
    let id = session["id"].as_str().unwrap();
    let (status, revived) = f
        .call(
            "PATCH",
            &format!("/api/sessions/{id}"),
            Some(json!({"status": "active"})),
        )
        .await;
    assert_eq!(status, 200, "{revived}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(f.session_status(&session).await, "active");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_reads_the_watchers_reports_and_asks_a_container_only_without_one() {
    let f = fixture(every_second()).await;
    let mut made = Vec::new();
    for name in ["one", "two", "three"] {
        made.push(f.environment_with_session(name).await);
    }
    for (_, container, _) in &made {
        wait_until("fresh reports", Duration::from_secs(10), async || {
            f.watchers().is_fresh(container)
        })
        .await;
    }
    // Every exec that lists tmux sessions is counted (and passed on to Docker).
    let listings = f
        .server
        .faults
        .delay(Call::Exec, Duration::ZERO)
        .when(|c| c.cmd_contains("list-sessions"));
    let report = f.server.services.reconciler.run().await.unwrap();
    assert_eq!(report.failures, 0, "{report:?}");
    assert_eq!(
        listings.hits(),
        0,
        "the pass ran execs although every watcher reported"
    );

    // A container whose watcher is gone is asked by an exec, and gets its watcher again.
    let (_, stopped, session) = &made[0];
    f.watchers().stop(stopped);
    assert!(!f.watchers().watches(stopped));
    kill_tmux(stopped, session);
    let report = f.server.services.reconciler.run().await.unwrap();
    assert_eq!(listings.hits(), 1);
    assert_eq!(
        (report.dead_sessions, report.failures),
        (1, 0),
        "{report:?}"
    );
    assert_eq!(f.session_status(session).await, "dead");
    assert!(
        f.watchers().watches(stopped),
        "the pass starts the missing watcher"
    );

    // Without an active session the pass stops the container's watcher, and its process ends.
    f.server.services.reconciler.run().await.unwrap();
    assert!(!f.watchers().watches(stopped));
    wait_until(
        "the watcher process to end",
        Duration::from_secs(5),
        async || watcher_processes(stopped).is_empty(),
    )
    .await;
    assert_eq!(f.watchers().count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_watcher_process_outlives_the_servers_drop_of_it() {
    let f = fixture(every_second()).await;
    let (env_id, container, _) = f.environment_with_session("app").await;
    wait_until("the watcher process", Duration::from_secs(10), async || {
        watcher_processes(&container).len() == 1
    })
    .await;

    // Dropped by the server: the engine closes its standard input, and it ends.
    f.watchers().stop(&container);
    let took = wait_until(
        "the watcher process to end",
        Duration::from_secs(5),
        async || watcher_processes(&container).is_empty(),
    )
    .await;
    println!("the watcher process ended {took:?} after the server dropped it");

    // A watcher left by a crashed server (marked, and never ending on its own) is ended by
    // the next watcher of its container, so that one runs at a time.
    docker_cli(&[
        "exec",
        "-d",
        "-e",
        "CRAFTASTIC_WATCHER=0123abcd",
        &container,
        "sleep",
        "1000",
    ]);
    assert_eq!(watcher_processes(&container).len(), 1);
    let report = f.server.services.reconciler.run().await.unwrap();
    assert_eq!(report.failures, 0, "{report:?}");
    wait_until("one watcher process", Duration::from_secs(5), async || {
        watcher_processes(&container).len() == 1
    })
    .await;
    let processes = docker_cli(&["exec", &container, "ps", "-eo", "args"]);
    assert!(!processes.contains("sleep 1000"), "{processes}");

    // At start-up, containers without active sessions are rid of stray watchers too.
    let (status, _) = f
        .call("POST", &format!("/api/environments/{env_id}/stop"), None)
        .await;
    assert_eq!(status, 200);
    wait_until(
        "the watcher of the stopped container to go",
        Duration::from_secs(10),
        async || !f.watchers().watches(&container),
    )
    .await;
    let (status, _) = f
        .call("POST", &format!("/api/environments/{env_id}/start"), None)
        .await;
    assert_eq!(status, 200);
    let container = f.server.container_of(&f.token, &env_id, "main").await;
    docker_cli(&[
        "exec",
        "-d",
        "-e",
        "CRAFTASTIC_WATCHER=0123abcd",
        &container,
        "sleep",
        "1000",
    ]);
    let report = f.server.services.reconciler.startup().await.unwrap();
    assert_eq!(report.failures, 0, "{report:?}");
    assert!(watcher_processes(&container).is_empty());

    // When the last handle on the watchers goes (the server stops), every watcher process
    // ends with them: here a registry of its own, next to the server's.
    let (env_id, container, _) = f.environment_with_session("other").await;
    f.watchers().stop(&container);
    let store: Arc<dyn Store> = f.server.db.store.clone();
    let runtime: Arc<dyn Runtime> = Arc::new(craftastic_testkit::docker().await);
    let own = Watchers::new(
        store,
        runtime,
        every_second(),
        Activities::new(Events::default(), None),
        0,
    );
    let place = Place {
        environment: env_id.parse().unwrap(),
        workspace: WorkspaceId::new(),
    };
    own.ensure(&container, place);
    wait_until("the watcher process", Duration::from_secs(10), async || {
        own.is_fresh(&container) && watcher_processes(&container).len() == 1
    })
    .await;
    drop(own);
    let took = wait_until(
        "the watcher process to end",
        Duration::from_secs(5),
        async || watcher_processes(&container).is_empty(),
    )
    .await;
    println!("the watcher process ended {took:?} after its registry was dropped");
}

/// A hostile watcher script: what it prints, each second.
async fn hostile(script: &str) {
    let f = fixture(WatchSettings {
        period: Duration::from_secs(1),
        script: script.to_owned(),
        ..WatchSettings::default()
    })
    .await;
    let (_, container, session) = f.environment_with_session("app").await;
    let rss_before = rss_kib();
    wait_until("the watcher to fail", Duration::from_secs(15), async || {
        f.watchers().failures(&container).unwrap_or(0) >= 1
    })
    .await;
    assert!(!f.watchers().is_fresh(&container));
    // The server answers meanwhile, and a pass asks the container itself.
    let started = Instant::now();
    let (status, _) = f.server.call("GET", "/healthz", None, None).await;
    assert_eq!(status, 200);
    assert!(started.elapsed() < Duration::from_secs(1));
    let listings = f
        .server
        .faults
        .delay(Call::Exec, Duration::ZERO)
        .when(|c| c.cmd_contains("list-sessions"));
    kill_tmux(&container, &session);
    let started = Instant::now();
    let report = f.server.services.reconciler.run().await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(listings.hits(), 1);
    assert_eq!(
        (report.dead_sessions, report.failures),
        (1, 0),
        "{report:?}"
    );
    let grown = rss_kib().saturating_sub(rss_before);
    println!(
        "{script:?}: RSS grew by {grown} KiB, failures {:?}",
        f.watchers().failures(&container)
    );
    assert!(grown < 64 << 10, "the server's memory grew by {grown} KiB");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_printing_garbage_is_dropped_and_the_pass_asks_the_container() {
    hostile("exec cat /dev/urandom").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_printing_an_endless_line_is_dropped() {
    hostile("exec tr -d '\\n' </dev/zero").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_flooding_reports_is_dropped() {
    hostile("while :; do printf 'report\\t0\\nend\\t0\\n'; done").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_watcher_is_dropped() {
    hostile("exec cat >/dev/null").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_that_never_ends_a_report_is_dropped() {
    hostile("printf 'report\\t0\\n'; exec cat >/dev/null").await;
}
