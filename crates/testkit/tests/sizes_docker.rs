//! The size of an environment's workspaces against the real engine: a new workspace is made
//! with it, a running one is resized live, a stopped one when it starts, the disk cap is
//! the disk watch's from its next pass, what workspaces use is read next to it, and over a
//! maximum is refused with the maximum.

use craftastic_testkit::{Backend, TestServer, docker_cli, fixture_repo};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

async fn register(server: &TestServer, email: &str) -> String {
    server.register(email, PASSWORD).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// What the engine applies to the container: memory, swap limit and CPUs.
fn limits(container: &str) -> (i64, i64, i64) {
    let inspected: Value = serde_json::from_str(&docker_cli(&["inspect", container])).unwrap();
    let host = &inspected[0]["HostConfig"];
    (
        host["Memory"].as_i64().unwrap(),
        host["MemorySwap"].as_i64().unwrap(),
        host["NanoCpus"].as_i64().unwrap(),
    )
}

struct Place {
    server: TestServer,
    token: String,
    repo: String,
    _roots: tempfile::TempDir,
}

async fn place() -> Place {
    let roots = tempfile::tempdir().unwrap();
    let repo = fixture_repo(roots.path(), "app").display().to_string();
    let server = TestServer::start_with(
        Backend::Sqlite,
        craftastic_testkit::ServerOptions {
            local_roots: vec![roots.path().to_owned()],
            ..Default::default()
        },
    )
    .await;
    register(&server, "admin@example.com").await;
    let token = register(&server, "ada@example.com").await;
    Place {
        server,
        token,
        repo,
        _roots: roots,
    }
}

impl Place {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.server
            .call(method, path, Some(&self.token), body)
            .await
    }

    async fn environment(&self, body: Value) -> Value {
        let mut body = body;
        body["repositoryUrl"] = json!(self.repo);
        let (code, env) = self.call("POST", "/api/environments", Some(body)).await;
        assert_eq!(code, 201, "{env}");
        let env = self
            .server
            .wait_for_environment(
                &self.token,
                env["id"].as_str().unwrap(),
                &["running", "error"],
                std::time::Duration::from_secs(90),
            )
            .await;
        assert_eq!(env["status"], "running", "{env}");
        env
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workspaces_are_made_with_their_environments_size_and_resized_live() {
    let p = place().await;
    let env = p
        .environment(json!({"name": "big", "size": {"memoryBytes": 768 << 20, "cpus": 0.75}}))
        .await;
    assert_eq!(
        env["size"],
        json!({
            "effective": {"memoryBytes": 768 << 20, "cpus": 0.75, "diskBytes": 10_i64 << 30},
            "setting": {"memoryBytes": 768 << 20, "cpus": 0.75, "diskBytes": null},
            "defaults": {"memoryBytes": 512 << 20, "cpus": 0.5, "diskBytes": 10_i64 << 30},
            "maxima": {"memoryBytes": 2_i64 << 30, "cpus": 2.0, "diskBytes": 40_i64 << 30},
        })
    );
    let env_id = env["id"].as_str().unwrap().to_owned();
    let container = p.server.container_of(&p.token, &env_id, "main").await;
    assert_eq!(
        limits(&container),
        (768 << 20, 768 << 20, 750_000_000),
        "a new workspace gets its environment's size (no swap beyond the memory)"
    );

    // A running workspace is resized at once, in place.
    let size_path = format!("/api/environments/{env_id}/size");
    let (code, resized) = p
        .call(
            "PUT",
            &size_path,
            Some(json!({"memoryBytes": 1 << 30, "cpus": 1.25})),
        )
        .await;
    assert_eq!(code, 200, "{resized}");
    assert_eq!(
        resized["size"]["effective"],
        json!({"memoryBytes": 1 << 30, "cpus": 1.25, "diskBytes": 10_i64 << 30})
    );
    assert_eq!(
        p.server.container_of(&p.token, &env_id, "main").await,
        container,
        "the same container"
    );
    assert_eq!(limits(&container), (1 << 30, 1 << 30, 1_250_000_000));

    // What it uses now, next to the limit the kernel applies.
    let (code, usage) = p
        .call("GET", &format!("/api/environments/{env_id}/usage"), None)
        .await;
    assert_eq!(code, 200, "{usage}");
    assert_eq!(usage["size"]["memoryBytes"], 1 << 30);
    let ws = &usage["workspaces"][0];
    assert_eq!(
        (&ws["branch"], &ws["status"]),
        (&json!("main"), &json!("running"))
    );
    assert_eq!(ws["memoryLimitBytes"], 1 << 30, "{usage}");
    let used = ws["memoryBytes"].as_i64().unwrap();
    assert!(used > 0 && used < 1 << 30, "{usage}");

    // A stopped workspace gets a size changed meanwhile when it starts; null is the default.
    let (code, stopped) = p
        .call("POST", &format!("/api/environments/{env_id}/stop"), None)
        .await;
    assert_eq!(code, 200, "{stopped}");
    let (code, back) = p
        .call(
            "PUT",
            &size_path,
            Some(json!({"memoryBytes": null, "cpus": 1})),
        )
        .await;
    assert_eq!(code, 200, "{back}");
    assert_eq!(
        back["size"]["setting"],
        json!({"memoryBytes": null, "cpus": 1.0, "diskBytes": null})
    );
    let (code, usage) = p
        .call("GET", &format!("/api/environments/{env_id}/usage"), None)
        .await;
    assert_eq!(code, 200, "{usage}");
    assert_eq!(usage["workspaces"][0]["status"], "stopped");
    assert!(
        usage["workspaces"][0].get("memoryBytes").is_none(),
        "{usage}"
    );
    let (code, started) = p
        .call("POST", &format!("/api/environments/{env_id}/start"), None)
        .await;
    assert_eq!(code, 200, "{started}");
    assert_eq!(limits(&container), (512 << 20, 512 << 20, 1_000_000_000));

    let audit = p.server.db.store.list_audit(None, 50).await.unwrap();
    let changes: Vec<&Value> = audit
        .iter()
        .filter(|e| e.action == "environments.size")
        .map(|e| &e.details)
        .collect();
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert_eq!(changes[0]["previous"]["memoryBytes"], 1 << 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_disk_watch_stops_a_workspace_over_its_environments_disk_size() {
    let p = place().await;
    let env = p
        .environment(json!({"name": "small", "size": {"diskBytes": 5 << 20}}))
        .await;
    let env_id = env["id"].as_str().unwrap().to_owned();
    let container = p.server.container_of(&p.token, &env_id, "main").await;
    let report = p.server.services.disk.run().await.unwrap();
    assert!(report.stopped.is_empty(), "{report:?}");
    let (_, env) = p
        .call("GET", &format!("/api/environments/{env_id}"), None)
        .await;
    assert_eq!(env["workspaces"][0]["diskLimitBytes"], 5 << 20, "{env}");

    docker_cli(&[
        "exec",
        &container,
        "sh",
        "-c",
        "head -c 8M /dev/urandom > /workspace/big",
    ]);
    let report = p.server.services.disk.run().await.unwrap();
    assert_eq!(report.stopped.len(), 1, "{report:?}");
    let (_, env) = p
        .call("GET", &format!("/api/environments/{env_id}"), None)
        .await;
    let error = env["workspaces"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("over its cap of 5 MiB (its environment's disk size)")
            && error.ends_with("or raise its environment's disk size"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_a_maximum_is_refused_with_the_maximum_and_others_get_404() {
    let p = place().await;
    let (code, e) = p
        .call(
            "POST",
            "/api/environments",
            Some(json!({"name": "huge", "size": {"memoryBytes": 3_i64 << 30, "cpus": 4}})),
        )
        .await;
    assert_eq!(
        (code, e["code"].as_str()),
        (422, Some("invalid_input")),
        "{e}"
    );
    assert_eq!(
        e["details"]["fields"]["size.memoryBytes"],
        "size.memoryBytes: 3 GiB is over the maximum of 2 GiB (2147483648 bytes) that this server allows (SANDBOX_MEMORY_MAX); ask an admin to raise it"
    );
    assert!(
        e["details"]["fields"]["size.cpus"]
            .as_str()
            .unwrap()
            .contains("over the maximum of 2 CPUs"),
        "{e}"
    );
    let (_, listed) = p.call("GET", "/api/environments", None).await;
    assert_eq!(listed["environments"], json!([]), "nothing was made");

    let env = p.environment(json!({"name": "app"})).await;
    let env_id = env["id"].as_str().unwrap().to_owned();
    let size_path = format!("/api/environments/{env_id}/size");
    let (code, e) = p
        .call(
            "PUT",
            &size_path,
            Some(json!({"diskBytes": 41_i64 << 30, "memoryBytes": 1 << 20})),
        )
        .await;
    assert_eq!(code, 422, "{e}");
    assert!(
        e["details"]["fields"]["diskBytes"]
            .as_str()
            .unwrap()
            .contains("over the maximum of 40 GiB"),
        "{e}"
    );
    assert!(
        e["details"]["fields"]["memoryBytes"]
            .as_str()
            .unwrap()
            .contains("at least 64 MiB"),
        "{e}"
    );
    let (code, e) = p
        .call("PUT", &size_path, Some(json!({"memory": "2g"})))
        .await;
    assert_eq!(code, 422, "{e}");

    let bob = register(&p.server, "bob@example.com").await;
    for (method, path, body) in [
        ("PUT", size_path.clone(), Some(json!({"cpus": 1}))),
        ("GET", format!("/api/environments/{env_id}/usage"), None),
    ] {
        let (code, e) = p.server.call(method, &path, Some(&bob), body).await;
        assert_eq!(
            (code, e["error"].as_str()),
            (404, Some("environment not found")),
            "{method} {path}: {e}"
        );
    }
    let (_, unchanged) = p
        .call("GET", &format!("/api/environments/{env_id}"), None)
        .await;
    assert_eq!(
        unchanged["size"]["setting"],
        json!({"memoryBytes": null, "cpus": null, "diskBytes": null})
    );
}
