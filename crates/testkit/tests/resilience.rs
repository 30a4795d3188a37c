//! The server holds when containers and the engine do not: a pass of the reconciler goes
//! past a container that hangs or fails, start-up reconciliation runs behind a server that
//! already answers, and requests that must not race start-up wait for it. Real Docker, with
//! faults injected in front of it.

use std::time::{Duration, Instant};

use craftastic_domain::{BranchName, EnvironmentId, EnvironmentName};
use craftastic_service::reconcile::Deadlines;
use craftastic_store::{EnvironmentStatus, NewEnvironment};
use craftastic_testkit::faults::{Call, Faults};
use craftastic_testkit::{Backend, ServerOptions, TestServer, docker_cli, fixture_repo};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

/// Short deadlines, so that a hung call costs the test two seconds, not ten.
const SHORT: Deadlines = Deadlines {
    call: Duration::from_secs(2),
    pass: Duration::from_secs(30),
    resume: Duration::from_secs(30),
};

struct Fixture {
    server: TestServer,
    token: String,
    repo: String,
    _roots: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let roots = tempfile::tempdir().unwrap();
    let repo = fixture_repo(roots.path(), "app").display().to_string();
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
    Fixture {
        server,
        token,
        repo,
        _roots: roots,
    }
}

impl Fixture {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.server
            .call(method, path, Some(&self.token), body)
            .await
    }

    /// A running environment with one session: (container, session).
    async fn environment_with_session(&self, name: &str) -> (String, Value) {
        let env = self
            .server
            .made_environment(&self.token, name, &self.repo)
            .await;
        assert_eq!(env["status"], "running", "{env}");
        let env_id = env["id"].as_str().unwrap();
        let (status, session) = self
            .call(
                "POST",
                "/api/sessions",
                Some(json!({"environmentId": env_id})),
            )
            .await;
        assert_eq!(status, 201, "{session}");
        let container = self.server.container_of(&self.token, env_id, "main").await;
        (container, session)
    }

    async fn session_status(&self, session: &Value) -> String {
        let id = session["id"].as_str().unwrap();
        let (_, s) = self.call("GET", &format!("/api/sessions/{id}"), None).await;
        s["status"].as_str().unwrap().to_owned()
    }

    /// A container labelled as this server's that no workspace owns.
    fn orphan(&self) -> String {
        docker_cli(&[
            "create",
            "--label",
            &format!("craftastic.instance={}", self.server.instance),
            "--label",
            &format!("craftastic.workspace={}", uuid::Uuid::new_v4()),
            craftastic_testkit::sandbox_image(),
        ])
        .trim()
        .to_owned()
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

fn exists(container: &str) -> bool {
    docker_cli(&["ps", "-aq", "--no-trunc"])
        .lines()
        .any(|c| c == container)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_goes_past_a_container_whose_execs_hang_or_fail_and_fixes_the_others() {
    let f = fixture().await;
    let (stuck, stuck_session) = f.environment_with_session("stuck").await;
    let (healthy, healthy_session) = f.environment_with_session("healthy").await;
    let reconciler = f.server.services.reconciler.clone().with_deadlines(SHORT);

    // Every exec in one container hangs (as in a container whose processes are stopped),
    // its session watcher's too, so the pass has no report of it and must ask it; elsewhere
    // a tmux session ended behind the server's back (with no watcher there to see it, so
    // that the pass is the one that finds it) and a container lost its row.
    let hang = {
        let stuck = stuck.clone();
        f.server.faults.hang(Call::Exec).when(move |c| c.on(&stuck))
    };
    let watcher_hangs = {
        let stuck = stuck.clone();
        f.server
            .faults
            .hang(Call::ExecStream)
            .when(move |c| c.on(&stuck))
    };
    let watchers = f.server.services.sessions.watchers();
    watchers.stop(&stuck);
    watchers.stop(&healthy);
    kill_tmux(&healthy, &healthy_session);
    let orphan = f.orphan();
    let started = Instant::now();
    let report = reconciler.run().await.unwrap();
    let took = started.elapsed();
    assert!(hang.hits() >= 1, "the fault was never hit");
    assert_eq!(report.failures, 1, "{report:?}");
    assert_eq!(report.dead_sessions, 1, "{report:?}");
    assert_eq!(report.removed_containers, 1, "{report:?}");
    assert!(
        took < SHORT.call + Duration::from_secs(8),
        "one hung exec cost the pass {took:?}"
    );
    assert_eq!(f.session_status(&healthy_session).await, "dead");
    assert_eq!(
        f.session_status(&stuck_session).await,
        "active",
        "a container that does not answer is no proof its sessions ended"
    );
    assert!(!exists(&orphan));

    // Failing calls are counted the same way, and the next pass does what they stopped.
    hang.release();
    watchers.stop(&stuck);
    kill_tmux(&stuck, &stuck_session);
    let failing = {
        let stuck = stuck.clone();
        f.server
            .faults
            .fail(Call::Exec)
            .when(move |c| c.on(&stuck))
            .times(1)
    };
    let orphan = f.orphan();
    let removal = f.server.faults.fail(Call::Remove).times(1);
    let report = reconciler.run().await.unwrap();
    assert_eq!((failing.hits(), removal.hits()), (1, 1));
    assert_eq!(report.failures, 2, "{report:?}");
    assert_eq!(
        (report.dead_sessions, report.removed_containers),
        (0, 0),
        "{report:?}"
    );
    assert_eq!(f.session_status(&stuck_session).await, "active");
    assert!(exists(&orphan));
    let report = reconciler.run().await.unwrap();
    assert_eq!(report.failures, 0, "{report:?}");
    assert_eq!(
        (report.dead_sessions, report.removed_containers),
        (1, 1),
        "{report:?}"
    );
    assert_eq!(f.session_status(&stuck_session).await, "dead");
    assert!(!exists(&orphan));
    watcher_hangs.release();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_engine_list_fails_the_pass_within_its_deadline() {
    let f = fixture().await;
    let reconciler = f.server.services.reconciler.clone().with_deadlines(SHORT);
    f.server.faults.hang(Call::List).times(1);
    let started = Instant::now();
    let error = reconciler.run().await.unwrap_err();
    assert!(started.elapsed() < SHORT.call + Duration::from_secs(2));
    assert!(
        error.to_string().contains("did not finish within"),
        "{error}"
    );
    let (_, health) = f.server.call("GET", "/healthz", None, None).await;
    assert_eq!(health["reconciled"], false, "{health}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_while_start_up_reconciliation_hangs() {
    let faults = Faults::new();
    let hang = faults.hang(Call::List);
    let server = TestServer::start_with(
        Backend::Sqlite,
        ServerOptions {
            faults: faults.clone(),
            reconcile_at_start: true,
            ..Default::default()
        },
    )
    .await;
    let bound = Instant::now();
    let (status, body) = server.call("GET", "/healthz", None, None).await;
    let answered = bound.elapsed();
    println!("/healthz answered {answered:?} after the port was bound");
    assert_eq!(status, 200, "{body}");
    assert!(answered < Duration::from_secs(1), "{answered:?}");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["reconciled"], false, "{body}");

    // Requests are served meanwhile: an account, and an environment (start-up found none
    // left half made, so nothing holds it back).
    let token = server.register("ada@example.com", PASSWORD).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, env) = server
        .call(
            "POST",
            "/api/environments",
            Some(&token),
            Some(json!({"name": "early"})),
        )
        .await;
    assert_eq!(status, 201, "{env}");
    wait_until(Duration::from_secs(5), || hang.hits() >= 1).await;

    // Once the engine answers, the pass finishes and says so.
    hang.release();
    let started = Instant::now();
    loop {
        let (_, body) = server.call("GET", "/healthz", None, None).await;
        if body["reconciled"] == true {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "start-up reconciliation never finished: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Its making ends before the test does, so that no container is made after the
    // clean-up.
    let id = env["id"].as_str().unwrap();
    let env = server
        .wait_for_environment(&token, id, &["running", "error"], Duration::from_secs(90))
        .await;
    assert_eq!(env["status"], "running", "{env}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_and_deleting_environments_wait_for_start_up_to_take_up_what_was_left() {
    let f = fixture().await;
    let (_, me) = f.call("GET", "/api/auth/me", None).await;
    // An environment the previous run was deleting when it stopped.
    let store = f.server.db.store.clone();
    let left = store
        .create_environment(NewEnvironment {
            id: EnvironmentId::new(),
            user_id: me["id"].as_str().unwrap().parse().unwrap(),
            name: EnvironmentName::parse("left-behind").unwrap(),
            repository_url: None,
            branch: BranchName::parse("main").unwrap(),
            egress: craftastic_domain::EgressPolicy::Open,
            idle_stop: craftastic_domain::IdleStopMinutes::DEFAULT,
            size: craftastic_domain::EnvironmentSize::default(),
            now: chrono::Utc::now(),
        })
        .await
        .unwrap();
    store
        .set_environment_status(left.id, EnvironmentStatus::Deleting, None)
        .await
        .unwrap();

    // Start-up takes it up, and the engine does not answer.
    let hang = f.server.faults.hang(Call::List);
    let reconciler = f.server.services.reconciler.clone().with_deadlines(SHORT);
    let starting = tokio::spawn(async move { reconciler.startup().await });
    wait_until(Duration::from_secs(5), || hang.hits() >= 1).await;

    let started = Instant::now();
    let (status, body) = f
        .call("DELETE", &format!("/api/environments/{}", left.id), None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("unavailable")),
        "{body}"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "it waited first"
    );
    let (status, body) = f
        .call("POST", "/api/environments", Some(json!({"name": "new"})))
        .await;
    assert_eq!(status, 503, "{body}");
    let (status, _) = f.server.call("GET", "/healthz", None, None).await;
    assert_eq!(status, 200);

    // Once start-up has finished the deletion, the same requests go through.
    hang.release();
    starting.await.unwrap().unwrap();
    assert!(store.get_environment(left.id).await.unwrap().is_none());
    let (status, body) = f
        .call("POST", "/api/environments", Some(json!({"name": "new"})))
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap();
    let env = f
        .server
        .wait_for_environment(&f.token, id, &["running", "error"], Duration::from_secs(90))
        .await;
    assert_eq!(env["status"], "running", "{env}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_answers_503_when_the_engine_hangs() {
    let server = TestServer::start(Backend::Sqlite).await;
    server.faults.hang(Call::Ping);
    let started = Instant::now();
    let (status, body) = server.call("GET", "/readyz", None, None).await;
    assert!(started.elapsed() < Duration::from_secs(7), "{body}");
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["checks"]["database"], "ok");
    assert_eq!(
        body["checks"]["containerEngine"],
        "container engine does not answer in time"
    );
}

async fn wait_until(limit: Duration, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "gave up after {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
