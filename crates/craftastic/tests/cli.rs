//! The `craftastic` binary as an operator meets it: started with no configuration, with bad
//! configuration, with the wrong key, and its administration commands.

mod support;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use craftastic_testkit::{Backend, TestDb};
use serde_json::json;
use support::{Running, craftastic, post_auth, wait_status};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn stderr_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn serve_with_no_configuration_generates_secrets_and_serves() {
    let home = tempfile::tempdir().unwrap();
    let server = Running::start(craftastic(home.path()));
    assert!(
        server.base.starts_with("http://127.0.0.1:"),
        "{}",
        server.base
    );
    assert_eq!(server.get("/healthz", None).0, 200);
    let (status, body) = server.post(
        "/api/auth/register",
        json!({"email": "ada@example.com", "password": "long enough!", "name": "Ada"}),
    );
    assert_eq!(status, 201, "{body}");
    let access = body["accessToken"].as_str().unwrap().to_owned();
    let logs = server.stop();
    assert!(
        logs.contains("JWT_SECRET was not set: generated one"),
        "{logs}"
    );
    assert!(
        logs.contains("SERVER_ENCRYPTION_KEY was not set: generated one"),
        "{logs}"
    );

    let data = home.path().join(".local/share/craftastic");
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("secrets")), 0o700);
    assert_eq!(mode(&data.join("secrets/jwt-secret")), 0o600);
    assert_eq!(mode(&data.join("secrets/encryption-key")), 0o600);
    assert_eq!(mode(&data.join("craftastic.db")), 0o600);

    // The next start reuses the stored secrets: the earlier token still works.
    let server = Running::start(craftastic(home.path()));
    let (status, me) = server.get("/api/auth/me", Some(&access));
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["email"], "ada@example.com");
    let logs = server.stop();
    assert!(
        logs.contains("JWT_SECRET was not set: using the one stored in"),
        "{logs}"
    );
}

#[test]
fn a_key_that_cannot_decrypt_what_is_stored_stops_the_server() {
    let home = tempfile::tempdir().unwrap();
    Running::start(craftastic(home.path())).stop();
    let out = craftastic(home.path())
        .env("SERVER_ENCRYPTION_KEY", "ab".repeat(32))
        .env("LOG_LEVEL", "warn")
        .arg("serve")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("craftastic: SERVER_ENCRYPTION_KEY (key id "),
        "{lines:?}"
    );
    assert!(lines[0].contains("cannot decrypt"), "{lines:?}");
}

#[test]
fn bad_configuration_stops_with_one_line_naming_the_variable() {
    let home = tempfile::tempdir().unwrap();
    for (var, value) in [
        ("SERVER_ENCRYPTION_KEY", "too short"),
        ("JWT_SECRET", "short"),
        ("PORT", "http"),
        ("PORT", "70000"),
        ("HOST", "not an address"),
        ("DATABASE_URL", "mysql://localhost/x"),
        ("ALLOW_REGISTRATION", "maybe"),
        ("CORS_ORIGIN", "localhost:5173"),
        ("ACCESS_TOKEN_TTL", "5"),
        ("LOG_LEVEL", "[["),
        ("LOG_FORMAT", "xml"),
        ("GITHUB_URL", "github.com"),
        ("GITHUB_API_URL", "ftp://api.github.com"),
        ("GITHUB_CLIENT_ID", "not an id"),
        ("COOLIFY_API_URL", "coolify.example.com"),
    ] {
        let out = craftastic(home.path())
            .env(var, value)
            .arg("serve")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{var}={value}");
        let lines = stderr_lines(&out);
        assert_eq!(lines.len(), 1, "{var}={value}: {lines:?}");
        assert!(
            lines[0].starts_with(&format!("craftastic: {var} must ")),
            "{var}={value}: {lines:?}"
        );
        assert!(
            !lines[0].contains(value) || var != "SERVER_ENCRYPTION_KEY",
            "a secret is echoed: {lines:?}"
        );
    }
    assert!(
        !home
            .path()
            .join(".local/share/craftastic/craftastic.db")
            .exists(),
        "nothing was created"
    );
}

#[test]
fn coolify_needs_its_address_and_token_together_and_never_echoes_the_token() {
    let home = tempfile::tempdir().unwrap();
    let secret = "4|token with a space";
    for (vars, starts) in [
        (
            &[("COOLIFY_API_URL", "https://coolify.example.com")][..],
            "COOLIFY_API_TOKEN must be set when COOLIFY_API_URL is",
        ),
        (
            &[("COOLIFY_API_TOKEN", "4|abc")][..],
            "COOLIFY_API_URL must be set when COOLIFY_API_TOKEN is",
        ),
        (
            &[
                ("COOLIFY_API_URL", "https://coolify.example.com"),
                ("COOLIFY_API_TOKEN", secret),
            ][..],
            "COOLIFY_API_TOKEN must be a Coolify API token",
        ),
    ] {
        let out = craftastic(home.path())
            .envs(vars.iter().copied())
            .arg("serve")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{vars:?}");
        let lines = stderr_lines(&out);
        assert_eq!(lines.len(), 1, "{vars:?}: {lines:?}");
        assert!(
            lines[0].starts_with(&format!("craftastic: {starts}")),
            "{vars:?}: {lines:?}"
        );
        assert!(!lines[0].contains(secret), "the token is echoed: {lines:?}");
    }
}

fn migrate(home: &Path, url: &str, args: &[&str]) -> String {
    let out = craftastic(home)
        .env("DATABASE_URL", url)
        .arg("migrate")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "migrate {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn migrate_commands(backend: Backend) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(TestDb::new(backend));
    let home = tempfile::tempdir().unwrap();
    assert!(migrate(home.path(), &db.url, &["status"]).contains("pending"));
    assert!(migrate(home.path(), &db.url, &["up"]).contains("applied 1"));
    assert!(migrate(home.path(), &db.url, &["up"]).contains("up to date"));
    let status = migrate(home.path(), &db.url, &["status"]);
    assert!(
        status.contains("init") && status.contains("applied 20"),
        "{status}"
    );
    assert!(migrate(home.path(), &db.url, &["down", "--to", "0"]).contains("reverted 1"));
    assert!(migrate(home.path(), &db.url, &["status"]).contains("pending"));
    assert!(
        rt.block_on(db.store.schema_fingerprint())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn migrate_up_down_status_on_sqlite() {
    migrate_commands(Backend::Sqlite);
}

#[test]
fn migrate_up_down_status_on_postgres() {
    migrate_commands(Backend::Postgres);
}

#[test]
fn migrate_create_adds_a_numbered_pair_to_both_backends() {
    let dir = tempfile::tempdir().unwrap();
    for backend in ["sqlite", "postgres"] {
        let m = dir.path().join("store-sql/migrations").join(backend);
        std::fs::create_dir_all(&m).unwrap();
        std::fs::write(m.join("0001_init.up.sql"), "").unwrap();
        std::fs::write(m.join("0001_init.down.sql"), "").unwrap();
    }
    let out = craftastic(dir.path())
        .args(["migrate", "create", "add_colour", "--crates-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for backend in ["sqlite", "postgres"] {
        for kind in ["up", "down"] {
            assert!(
                dir.path()
                    .join(format!(
                        "store-sql/migrations/{backend}/0002_add_colour.{kind}.sql"
                    ))
                    .exists()
            );
        }
    }
    let out = craftastic(dir.path())
        .args(["migrate", "create", "Bad Name"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

fn user_create(home: &Path, args: &[&str], password: &str) -> Output {
    let mut child = craftastic(home)
        .args(["user", "create"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn user_create_reads_the_password_from_stdin() {
    let home = tempfile::tempdir().unwrap();
    let out = user_create(
        home.path(),
        &["--email", "root@example.com", "--name", "Root", "--admin"],
        "admin password",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("root@example.com"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("admin"));

    let out = user_create(
        home.path(),
        &["--email", "x@example.com", "--name", "X"],
        "short",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 10 characters"));
    let out = user_create(
        home.path(),
        &["--email", "root@example.com", "--name", "Again"],
        "another password",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));

    let mut cmd = craftastic(home.path());
    cmd.env("ALLOW_REGISTRATION", "false");
    let server = Running::start(cmd);
    let (status, body) = server.post(
        "/api/auth/login",
        json!({"email": "root@example.com", "password": "admin password"}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["isAdmin"], true);
    server.stop();
}

/// The server is killed with SIGKILL while it makes two environments: one stuck cloning
/// from a host that accepts connections but never answers, one from a local repository.
/// The next start leaves no orphan container, no row in `creating` and no half-made clone.
#[test]
fn kill_9_in_the_middle_of_creating_leaves_nothing_half_made() {
    let home = tempfile::tempdir().unwrap();
    let roots = tempfile::tempdir().unwrap();
    let repo = craftastic_testkit::fixture_repo(roots.path(), "app");
    let staller = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let stall_url = format!("http://{}/app.git", staller.local_addr().unwrap());

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let staller_thread = {
        let stop = stop.clone();
        staller.set_nonblocking(true).unwrap();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok((conn, _)) = staller.accept() {
                    held.push(conn);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let configure = |cmd: &mut Command| {
        cmd.env("CRAFTASTIC_REPO_SCHEMES", "https,ssh,http")
            .env("CRAFTASTIC_LOCAL_REPO_ROOTS", roots.path());
    };
    let mut cmd = craftastic(home.path());
    configure(&mut cmd);
    let mut server = Running::start(cmd);
    let (_, body) = server.post(
        "/api/auth/register",
        json!({"email": "ada@example.com", "password": "long enough!", "name": "Ada"}),
    );
    let token = body["accessToken"].as_str().unwrap().to_owned();
    let (status, stuck) = post_auth(
        &server,
        &token,
        "/api/environments",
        json!({"name": "stuck", "repositoryUrl": stall_url}),
    );
    assert_eq!(status, 201, "{stuck}");
    let (status, local) = post_auth(
        &server,
        &token,
        "/api/environments",
        json!({"name": "local", "repositoryUrl": repo.display().to_string()}),
    );
    assert_eq!(status, 201, "{local}");
    let data = home.path().join(".local/share/craftastic");
    let partial_prefix = format!(".partial-{}-", stuck["id"].as_str().unwrap());
    let clone_started = || {
        std::fs::read_dir(data.join("repos")).is_ok_and(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with(&partial_prefix))
        })
    };
    let started = std::time::Instant::now();
    while !clone_started() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the stuck clone never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    // The git it started dies with it instead of writing on into the data dir.
    let started = std::time::Instant::now();
    while Command::new("pgrep")
        .args(["-f", &stall_url])
        .status()
        .unwrap()
        .success()
    {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "git outlived the killed server"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    staller_thread.join().unwrap();

    let mut cmd = craftastic(home.path());
    configure(&mut cmd);
    let server = Running::start(cmd);
    let stuck = wait_status(
        &server,
        &token,
        stuck["id"].as_str().unwrap(),
        &["running", "error"],
    );
    assert_eq!(stuck["status"], "error", "{stuck}");
    let local = wait_status(
        &server,
        &token,
        local["id"].as_str().unwrap(),
        &["running", "error"],
    );
    assert_eq!(local["status"], "running", "{local}");

    let instance = std::fs::read_to_string(data.join("instance-id")).unwrap();
    let containers = craftastic_testkit::docker_cli(&[
        "ps",
        "-aq",
        "--no-trunc",
        "--filter",
        &format!("label=craftastic.instance={instance}"),
    ]);
    let containers: Vec<&str> = containers.lines().collect();
    assert_eq!(
        containers,
        vec![local["containerId"].as_str().unwrap()],
        "exactly the running environment's container"
    );
    let mut repos: Vec<String> = std::fs::read_dir(data.join("repos"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    repos.sort();
    assert_eq!(
        repos,
        vec![format!("{}.git", local["id"].as_str().unwrap())],
        "no half-made clone"
    );
    let res = reqwest::blocking::Client::new()
        .delete(format!(
            "{}/api/environments/{}",
            server.base,
            local["id"].as_str().unwrap()
        ))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(res.status(), 204);
    server.stop();
}
