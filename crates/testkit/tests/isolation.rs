//! The box holds, attacked from inside real containers: one user's workspace cannot reach
//! another's, nor the metadata address, nor the server's port; what a workspace prints and
//! how long its processes run cannot exhaust or hang the server.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use craftastic_runtime::{ExecSpec, Runtime, RuntimeError};
use craftastic_service::firewall;
use craftastic_testkit::{Backend, ServerOptions, TestServer, docker, docker_cli, fixture_repo};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

struct User {
    token: String,
}

struct Fixture {
    server: TestServer,
    repo: std::path::PathBuf,
    _roots: tempfile::TempDir,
}

async fn fixture() -> Fixture {
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
    Fixture {
        server,
        repo,
        _roots: roots,
    }
}

impl Fixture {
    async fn user(&self, email: &str) -> User {
        let token = self.server.register(email, PASSWORD).await["accessToken"]
            .as_str()
            .unwrap()
            .to_owned();
        User { token }
    }

    /// A running environment of `user` with a session, and the container of its `main`
    /// workspace; returns the session's id and the container.
    async fn workspace(&self, user: &User, name: &str) -> (String, String) {
        let env = self
            .server
            .made_environment(&user.token, name, &self.repo.display().to_string())
            .await;
        assert_eq!(env["status"], "running", "{env}");
        let id = env["id"].as_str().unwrap().to_owned();
        let (status, session) = self
            .server
            .call(
                "POST",
                "/api/sessions",
                Some(&user.token),
                Some(json!({"environmentId": id})),
            )
            .await;
        assert_eq!(status, 201, "{session}");
        let container = self.server.container_of(&user.token, &id, "main").await;
        (session["id"].as_str().unwrap().to_owned(), container)
    }
}

fn inspect(container: &str) -> Value {
    let out: Value = serde_json::from_str(&docker_cli(&["inspect", container])).unwrap();
    out[0].clone()
}

/// The container's address on its one network.
fn address_of(container: &str) -> Ipv4Addr {
    let networks = inspect(container)["NetworkSettings"]["Networks"].clone();
    let (_, net) = networks
        .as_object()
        .and_then(|n| n.iter().next())
        .expect("a network");
    net["IPAddress"].as_str().unwrap().parse().unwrap()
}

/// Runs a script as the workspace's user; returns its exit code and output.
fn sh(container: &str, script: &str) -> (i32, String) {
    let out = std::process::Command::new("docker")
        .args(["exec", "-u", "dev", container, "sh", "-c", script])
        .output()
        .expect("docker exec");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text.trim().to_owned())
}

/// The HTTP status `curl` gets from inside `container`, or `000` when it cannot connect.
fn curl_status(container: &str, url: &str) -> String {
    sh(
        container,
        &format!(
            "curl -s -o /dev/null -w '%{{http_code}}' --max-time 4 --noproxy '*' {url} || true"
        ),
    )
    .1
}

/// Starts `python3 -m http.server` on `port` in the container, detached, and waits for it.
fn serve_http(container: &str, port: u16) {
    docker_cli(&[
        "exec",
        "-d",
        "-u",
        "dev",
        container,
        "python3",
        "-m",
        "http.server",
        &port.to_string(),
    ]);
    for _ in 0..50 {
        if curl_status(container, &format!("http://127.0.0.1:{port}/")) == "200" {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("http.server did not start in {container}");
}

#[tokio::test]
async fn another_users_workspace_cannot_be_reached_but_ones_own_can() {
    // The host's rules, as `craftastic serve` applies them at start.
    assert_eq!(firewall::protect(None, 3128), firewall::Outcome::Applied);
    let f = fixture().await;
    let ada = f.user("ada@example.com").await;
    let bob = f.user("bob@example.com").await;
    let (_, ada_one) = f.workspace(&ada, "one").await;
    let (_, ada_two) = f.workspace(&ada, "two").await;
    let (_, bob_one) = f.workspace(&bob, "bobs").await;
    serve_http(&ada_one, 8765);
    let target = format!("http://{}:8765/", address_of(&ada_one));

    assert_eq!(
        curl_status(&bob_one, &target),
        "000",
        "another user's workspace answered"
    );
    assert_eq!(
        curl_status(&ada_two, &target),
        "200",
        "the owner's other workspace"
    );

    let network_of = |c: &str| {
        inspect(c)["HostConfig"]["NetworkMode"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(network_of(&ada_one), network_of(&ada_two));
    assert_ne!(network_of(&ada_one), network_of(&bob_one));
    assert_ne!(network_of(&bob_one), "bridge");
    assert_ne!(network_of(&bob_one), "default");

    // Without the engine's isolation rules for either bridge, Craftastic's own rule still
    // keeps Bob out, and Ada's workspaces still reach each other.
    let bridge_of = |c: &str| {
        let options: Value = serde_json::from_str(&docker_cli(&[
            "network",
            "inspect",
            "--format",
            "{{json .Options}}",
            &network_of(c),
        ]))
        .unwrap();
        options["com.docker.network.bridge.name"]
            .as_str()
            .expect("the bridge's name")
            .to_owned()
    };
    let engine_rule = |op: &str, bridge: &str| {
        std::process::Command::new("iptables")
            .args([
                "-w",
                "5",
                op,
                "DOCKER-ISOLATION-STAGE-1",
                "-i",
                bridge,
                "!",
                "-o",
            ])
            .args([bridge, "-j", "DOCKER-ISOLATION-STAGE-2"])
            .status()
            .expect("iptables")
            .success()
    };
    let bridges = [bridge_of(&bob_one), bridge_of(&ada_one)];
    for b in &bridges {
        assert!(engine_rule("-D", b), "the engine's isolation rule for {b}");
    }
    let without = curl_status(&bob_one, &target);
    let own = curl_status(&ada_two, &target);
    for b in &bridges {
        assert!(
            engine_rule("-I", b),
            "putting the engine's rule for {b} back"
        );
    }
    assert_eq!(
        without, "000",
        "another user's workspace answered without the engine's rules"
    );
    assert_eq!(
        own, "200",
        "the owner's other workspace, without the engine's rules"
    );
}

/// An address of the host's loopback interface, removed on drop.
struct HostAddress(&'static str);

impl HostAddress {
    fn add(cidr: &'static str) -> Self {
        let _ = std::process::Command::new("ip")
            .args(["addr", "del", cidr, "dev", "lo"])
            .output();
        let out = std::process::Command::new("ip")
            .args(["addr", "add", cidr, "dev", "lo"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ip addr add {cidr}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self(cidr)
    }
}

impl Drop for HostAddress {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["addr", "del", self.0, "dev", "lo"])
            .output();
    }
}

/// Serves 200 on `addr` until the test ends.
async fn answer_on(addr: SocketAddr) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    let bound = listener.local_addr().unwrap();
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "metadata" }));
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    bound
}

// Several threads: the test's own servers answer while `docker exec` blocks one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_workspace_reaches_the_metadata_address_or_the_servers_port() {
    let f = fixture().await;
    let ada = f.user("ada@example.com").await;
    let (_, container) = f.workspace(&ada, "app").await;

    // A metadata service, as clouds have it, on the host.
    let _metadata = HostAddress::add("169.254.169.254/32");
    answer_on("169.254.169.254:80".parse().unwrap()).await;
    // The server listening on every address, as with HOST=0.0.0.0.
    let server = answer_on((Ipv4Addr::UNSPECIFIED, 0).into()).await;
    let host = craftastic_testkit::git_server::bridge_address().await;
    let server_url = format!("http://{host}:{}/", server.port());
    assert_eq!(
        curl_status(&container, &server_url),
        "200",
        "before the rules"
    );

    assert_eq!(
        firewall::protect(Some(server.port()), 3128),
        firewall::Outcome::Applied
    );
    let server_status = curl_status(&container, &server_url);
    let metadata_status = curl_status(&container, "http://169.254.169.254/");
    firewall::forget_port(server.port());

    assert_eq!(
        server_status, "000",
        "the server's port answered a workspace"
    );
    assert_eq!(
        metadata_status, "000",
        "the metadata address answered a workspace"
    );
    // The rules stop nothing else: another port of the host still answers.
    let other = answer_on((Ipv4Addr::UNSPECIFIED, 0).into()).await;
    assert_eq!(
        curl_status(&container, &format!("http://{host}:{}/", other.port())),
        "200"
    );
}

/// The largest resident set of this process while `work` runs, above what it was before.
async fn peak_rss_growth<F: std::future::Future>(work: F) -> (F::Output, u64) {
    fn rss() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap()
            * 1024
    }
    let before = rss();
    let peak = Arc::new(AtomicU64::new(before));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let out = work.await;
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    (out, peak.load(Ordering::Relaxed).saturating_sub(before))
}

#[tokio::test]
async fn a_hook_printing_1_5_gb_leaves_the_servers_memory_flat() {
    let f = fixture().await;
    let ada = f.user("ada@example.com").await;
    let (session, container) = f.workspace(&ada, "app").await;
    let (code, out) = sh(
        &container,
        "cd /workspace && mkdir -p .git-hooks && printf '#!/bin/sh\\nyes | head -c 1500000000 >&2\\nexit 1\\n' > .git-hooks/pre-commit \
         && chmod +x .git-hooks/pre-commit && git config core.hooksPath .git-hooks && echo x > new.txt",
    );
    assert_eq!(code, 0, "{out}");

    let started = Instant::now();
    let ((status, body), growth) = peak_rss_growth(f.server.call(
        "POST",
        &format!("/api/git/commit/{session}"),
        Some(&ada.token),
        Some(json!({"message": "try", "files": ["new.txt"]})),
    ))
    .await;
    let took = started.elapsed();
    println!(
        "a hook printing 1.5 GB to stderr: the server's RSS grew by at most {} MiB; the commit answered {status} in {took:?}",
        growth >> 20
    );
    assert!(status < 500 || status == 502, "{status}: {body}");
    assert!(growth < 256 << 20, "RSS grew by {} MiB", growth >> 20);
    // The answer ends with what the hook printed last, not with its first lines.
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.len() < 4096, "{} bytes of message", message.len());
}

#[tokio::test]
async fn an_exec_whose_output_is_held_open_or_whose_process_is_stopped_ends_at_its_deadline() {
    let f = fixture().await;
    let ada = f.user("ada@example.com").await;
    let (_, container) = f.workspace(&ada, "app").await;
    let runtime = docker().await;
    for (what, script) in [
        (
            "a setsid child holding stdout",
            "setsid sleep 1000 & echo started",
        ),
        ("a stopped process", "echo started; kill -STOP $$"),
    ] {
        let started = Instant::now();
        let result = runtime
            .exec(
                &container,
                ExecSpec {
                    cmd: ["sh", "-c", script].map(str::to_owned).into(),
                    deadline: Some(Duration::from_secs(2)),
                    ..Default::default()
                },
            )
            .await;
        let took = started.elapsed();
        println!("{what}: the exec returned after {took:?}");
        assert!(
            matches!(result, Err(RuntimeError::Deadline(_))),
            "{what}: {result:?}"
        );
        assert!(took < Duration::from_secs(4), "{what}: took {took:?}");
    }
    // The processes the late execs left are ended.
    let mut left = String::new();
    for _ in 0..50 {
        left = sh(
            &container,
            "ps -eo stat=,args= | grep -E 'sleep 1000|kill -STOP' | grep -v grep || true",
        )
        .1;
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(left.is_empty(), "still running: {left}");
}

#[tokio::test]
async fn output_beyond_the_limit_keeps_its_end_and_is_marked_cut() {
    let f = fixture().await;
    let ada = f.user("ada@example.com").await;
    let (_, container) = f.workspace(&ada, "app").await;
    let out = docker()
        .await
        .exec(
            &container,
            ExecSpec {
                cmd: ["sh", "-c", "seq 1 200000; seq 1 100000 >&2; echo END >&2"]
                    .map(str::to_owned)
                    .into(),
                stdout_limit: Some(1000),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(out.code, 0);
    assert!(out.stdout_cut && out.stderr_cut);
    assert_eq!(out.stdout.len(), 1000);
    assert!(out.stdout_str().ends_with("199999\n200000\n"));
    assert!(out.stderr_str().ends_with("100000\nEND\n"));
}

/// Host names in the host's `/etc/hosts`, removed on drop: the egress proxy resolves names
/// as any program on the host does, and this machine has no DNS of its own to give them.
struct HostNames(String);

impl HostNames {
    fn add(entries: &[(&str, std::net::IpAddr)]) -> Self {
        let marker = format!("# craftastic-test {}", uuid::Uuid::new_v4().simple());
        let mut hosts = std::fs::read_to_string("/etc/hosts").unwrap();
        if !hosts.ends_with('\n') {
            hosts.push('\n');
        }
        for (name, ip) in entries {
            hosts.push_str(&format!("{ip} {name} {marker}\n"));
        }
        std::fs::write("/etc/hosts", hosts).unwrap();
        Self(marker)
    }
}

impl Drop for HostNames {
    fn drop(&mut self) {
        if let Ok(hosts) = std::fs::read_to_string("/etc/hosts") {
            let kept: String = hosts
                .lines()
                .filter(|l| !l.contains(&self.0))
                .map(|l| format!("{l}\n"))
                .collect();
            let _ = std::fs::write("/etc/hosts", kept);
        }
    }
}

/// What `curl` gets from inside `container` through the proxy its environment sets: the
/// HTTP status, or `000` when it cannot connect. The proxy always answers, so the generous
/// deadline only matters on a machine busy with the other tests (5 s was once too short).
fn curl_through_proxy(container: &str, url: &str) -> String {
    sh(
        container,
        &format!("curl -s -o /dev/null -w '%{{http_code}}' --max-time 20 {url} || true"),
    )
    .1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowlisted_host_is_reached_and_another_refused() {
    let f = fixture().await;
    let ada = f.user("ada@example.com").await;
    let host = craftastic_testkit::git_server::bridge_address().await;
    let site = answer_on((Ipv4Addr::UNSPECIFIED, 0).into()).await;
    let _names = HostNames::add(&[
        ("allowed.craftastic.test", host),
        ("denied.craftastic.test", host),
    ]);
    let (status, env) = f
        .server
        .call(
            "POST",
            "/api/environments",
            Some(&ada.token),
            Some(json!({
                "name": "boxed",
                "repositoryUrl": f.repo.display().to_string(),
                "egressPolicy": {"mode": "allowlist", "hosts": ["allowed.craftastic.test"]},
            })),
        )
        .await;
    assert_eq!(status, 201, "{env}");
    let id = env["id"].as_str().unwrap().to_owned();
    let env = f
        .server
        .wait_for_environment(
            &ada.token,
            &id,
            &["running", "error"],
            Duration::from_secs(90),
        )
        .await;
    assert_eq!(env["status"], "running", "{env}");
    let container = f.server.container_of(&ada.token, &id, "main").await;
    let port = site.port();
    assert_eq!(firewall::protect(None, 3128), firewall::Outcome::Applied);

    assert_eq!(
        curl_through_proxy(
            &container,
            &format!("http://allowed.craftastic.test:{port}/")
        ),
        "200",
        "the allowlisted host, over plain HTTP"
    );
    let (code, out) = sh(
        &container,
        &format!(
            "curl -s --max-time 20 -p -o /dev/null -w '%{{http_code}}' http://allowed.craftastic.test:{port}/"
        ),
    );
    assert_eq!(
        (code, out.as_str()),
        (0, "200"),
        "the allowlisted host, through a CONNECT tunnel"
    );
    assert_eq!(
        curl_through_proxy(
            &container,
            &format!("http://denied.craftastic.test:{port}/")
        ),
        "403",
        "a host the allowlist does not name"
    );
    let (_, body) = sh(
        &container,
        &format!("curl -s --max-time 5 http://denied.craftastic.test:{port}/"),
    );
    assert!(body.contains("not allowed by the egress policy"), "{body}");
    assert_eq!(
        curl_status(&container, &format!("http://{host}:{port}/")),
        "000",
        "around the proxy: the internal network has no route out"
    );

    // The owner switches the policy to `none`: the proxy refuses the allowed host too.
    let (status, changed) = f
        .server
        .call(
            "PUT",
            &format!("/api/environments/{id}/egress"),
            Some(&ada.token),
            Some(json!({"mode": "none"})),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        curl_through_proxy(
            &container,
            &format!("http://allowed.craftastic.test:{port}/")
        ),
        "403"
    );

    // Back to `open`: the workspace moves to the routed network when next used.
    let (status, _) = f
        .server
        .call(
            "PUT",
            &format!("/api/environments/{id}/egress"),
            Some(&ada.token),
            Some(json!({"mode": "open"})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, session) = f
        .server
        .call(
            "POST",
            "/api/sessions",
            Some(&ada.token),
            Some(json!({"environmentId": id})),
        )
        .await;
    assert_eq!(status, 201, "{session}");
    let moved = f.server.container_of(&ada.token, &id, "main").await;
    assert_ne!(
        moved, container,
        "the workspace was made anew on the open network"
    );
    assert_eq!(
        curl_status(&moved, &format!("http://{host}:{port}/")),
        "200"
    );
}
