//! A hostile agent in a workspace container writes what it likes into its environment's
//! bare clone, bind-mounted read-write at `/data/repos/<env id>`, while the server runs as
//! root on the host. These tests make each attack for real, as the container's user, and
//! check that every answer comes promptly and cleanly (the bad refs simply absent), that no
//! host file is listed, read or deleted, and that the server keeps answering.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use craftastic_testkit::{Backend, ServerOptions, TestServer, docker_cli, fixture_repo};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";
/// How long a read of the clone may take, whatever is in it.
const PROMPT: Duration = Duration::from_secs(5);
/// Deletions remove containers and volumes too.
const DELETION: Duration = Duration::from_secs(60);

struct Fixture {
    server: TestServer,
    token: String,
    env_id: String,
    _roots: tempfile::TempDir,
}

/// A server with one running environment cloned from a local repository with the branches
/// `main` and `feature`. Every repository in the temp folder may be cloned by path, the
/// server's data dir included.
async fn fixture() -> Fixture {
    let roots = tempfile::tempdir().unwrap();
    let repo = fixture_repo(roots.path(), "app");
    let server = TestServer::start_with(
        Backend::Sqlite,
        ServerOptions {
            local_roots: vec![std::env::temp_dir()],
            ..Default::default()
        },
    )
    .await;
    let token = server.register("ada@example.com", PASSWORD).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let env = server
        .made_environment(&token, "app", &repo.display().to_string())
        .await;
    assert_eq!(env["status"], "running", "{env}");
    Fixture {
        env_id: env["id"].as_str().unwrap().to_owned(),
        server,
        token,
        _roots: roots,
    }
}

/// Awaits `f`, failing the test if it takes longer than `limit`.
async fn within<T>(limit: Duration, what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, f)
        .await
        .unwrap_or_else(|_| panic!("{what} did not answer within {limit:?}"))
}

impl Fixture {
    async fn call(&self, method: &str, path: &str, limit: Duration) -> (u16, Value) {
        within(
            limit,
            &format!("{method} {path}"),
            self.server.call(method, path, Some(&self.token), None),
        )
        .await
    }

    /// Runs `script` with `sh` in the container of `branch`'s workspace, as its user, in the
    /// bare clone; `$HOST` holds `host` (a path on the host, which the container only names).
    async fn attack(&self, branch: &str, script: &str, host: &Path) {
        let container = self
            .server
            .container_of(&self.token, &self.env_id, branch)
            .await;
        let host_var = format!("HOST={}", host.display());
        docker_cli(&[
            "exec",
            "-e",
            &host_var,
            "-w",
            &format!("/data/repos/{}", self.env_id),
            &container,
            "sh",
            "-euc",
            &format!("test \"$(id -un):$(id -u)\" = dev:1000\n{script}"),
        ]);
    }

    /// The branches `GET /api/git/repo` lists, which must answer 200 promptly.
    async fn branches(&self) -> Vec<String> {
        let (status, repo) = self
            .call("GET", &format!("/api/git/repo/{}", self.env_id), PROMPT)
            .await;
        assert_eq!(status, 200, "{repo}");
        serde_json::from_value(repo["branches"].clone()).unwrap()
    }

    /// Whether `GET /api/sessions/check-branch` says `branch` exists; it must answer 200
    /// promptly.
    async fn exists(&self, branch: &str) -> bool {
        let path = format!(
            "/api/sessions/check-branch/{}/{}",
            self.env_id,
            branch.replace('/', "%2F")
        );
        let (status, check) = self.call("GET", &path, PROMPT).await;
        assert_eq!(status, 200, "{check}");
        check["exists"].as_bool().unwrap()
    }

    /// The server still answers the environment and its branches.
    async fn still_answers(&self) {
        let (status, env) = self
            .call("GET", &format!("/api/environments/{}", self.env_id), PROMPT)
            .await;
        assert_eq!(status, 200, "{env}");
        self.branches().await;
    }
}

fn host_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[tokio::test]
async fn a_link_to_etc_as_a_ref_lists_no_host_file() {
    let f = fixture().await;
    let host = host_dir();
    assert_eq!(f.branches().await, ["feature", "main"]);
    f.attack(
        "main",
        "ln -s /etc refs/heads/x\nln -s /etc/hostname refs/heads/name",
        host.path(),
    )
    .await;
    assert_eq!(f.branches().await, ["feature", "main"]);
    assert!(
        !f.exists("x/passwd").await,
        "a host file showed as a branch"
    );
    assert!(!f.exists("name").await);
    assert!(f.exists("main").await);
    f.still_answers().await;
}

#[tokio::test]
async fn a_proc_self_root_loop_as_a_ref_answers_at_once() {
    let f = fixture().await;
    let host = host_dir();
    f.attack(
        "main",
        "ln -s /proc/self/root refs/heads/loop\nmkdir refs/heads/deep\nln -s ../../.. refs/heads/deep/up",
        host.path(),
    )
    .await;
    assert_eq!(f.branches().await, ["feature", "main"]);
    assert!(!f.exists("loop/etc/hostname").await);
    f.still_answers().await;
}

#[tokio::test]
async fn a_packed_refs_link_to_etc_shadow_or_a_host_file_is_not_read() {
    let f = fixture().await;
    let host = host_dir();
    let planted = host.path().join("packed-refs");
    std::fs::write(
        &planted,
        "0000000000000000000000000000000000000001 refs/heads/host-secret\n",
    )
    .unwrap();
    f.attack(
        "main",
        "mv packed-refs packed-refs.real\nln -s /etc/shadow packed-refs",
        host.path(),
    )
    .await;
    // The branches were packed by the clone: with packed-refs a link, none is listed.
    assert_eq!(f.branches().await, Vec::<String>::new());
    assert!(!f.exists("main").await);
    f.attack(
        "main",
        "ln -sf \"$HOST/packed-refs\" packed-refs",
        host.path(),
    )
    .await;
    assert_eq!(f.branches().await, Vec::<String>::new());
    assert!(!f.exists("host-secret").await, "a host file was read");
    f.attack(
        "main",
        "rm packed-refs\nmv packed-refs.real packed-refs",
        host.path(),
    )
    .await;
    assert_eq!(f.branches().await, ["feature", "main"]);
    f.still_answers().await;
}

#[tokio::test]
async fn a_huge_sparse_packed_refs_answers_at_once() {
    let f = fixture().await;
    let host = host_dir();
    f.attack("main", "truncate -s 200M packed-refs", host.path())
        .await;
    // The branches at the start of the file are still read; the rest is never read.
    assert_eq!(f.branches().await, ["feature", "main"]);
    assert!(f.exists("feature").await);
    f.attack(
        "main",
        "truncate -s 200M refs/heads/feature-ref",
        host.path(),
    )
    .await;
    assert!(!f.exists("feature-ref").await, "a 200 MB ref is no ref");
    f.still_answers().await;
}

#[tokio::test]
async fn a_fifo_as_a_ref_or_as_packed_refs_blocks_nothing() {
    let f = fixture().await;
    let host = host_dir();
    f.attack("main", "mkfifo refs/heads/fifo", host.path())
        .await;
    assert_eq!(f.branches().await, ["feature", "main"]);
    assert!(!f.exists("fifo").await);
    f.attack(
        "main",
        "mv packed-refs packed-refs.real\nmkfifo packed-refs",
        host.path(),
    )
    .await;
    assert_eq!(f.branches().await, Vec::<String>::new());
    assert!(!f.exists("main").await);
    f.still_answers().await;
}

/// `worktrees` becomes a link to a host folder that has a folder named like each
/// workspace, with a canary file in it. Inside the container the same path is a folder of
/// the container's own holding a copy of the real `worktrees` (each pointing back at the
/// clone by its absolute path), so git there goes on working and deleting the workspace gets
/// as far as removing its folder in the clone.
#[tokio::test]
async fn a_worktrees_link_to_a_host_folder_deletes_nothing_there() {
    let f = fixture().await;
    let (status, session) = within(
        DELETION,
        "POST /api/sessions",
        f.server.call(
            "POST",
            "/api/sessions",
            Some(&f.token),
            Some(json!({"environmentId": f.env_id, "branch": "feature"})),
        ),
    )
    .await;
    assert_eq!(status, 201, "{session}");
    let (_, env) = f
        .call("GET", &format!("/api/environments/{}", f.env_id), PROMPT)
        .await;
    let host = host_dir();
    let canaries: Vec<PathBuf> = env["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ws| {
            let dir = host.path().join(ws["id"].as_str().unwrap());
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("canary"), "still here\n").unwrap();
            dir.join("canary")
        })
        .collect();
    assert_eq!(canaries.len(), 2, "{env}");

    f.attack(
        "feature",
        r#"mkdir -p "$HOST"
cp -a worktrees/. "$HOST"/
for admin in "$HOST"/*/; do pwd > "$admin/commondir"; done
rm -rf worktrees
ln -s "$HOST" worktrees
ln -s "$HOST" hostlink
git -C /workspace status --porcelain"#,
        host.path(),
    )
    .await;

    let (status, deleted) = f
        .call(
            "DELETE",
            &format!("/api/sessions/{}", session["id"].as_str().unwrap()),
            DELETION,
        )
        .await;
    assert_eq!(status, 204, "the workspace was removed: {deleted}");
    for canary in &canaries {
        assert!(canary.exists(), "{} was deleted", canary.display());
    }
    f.still_answers().await;

    let (status, deleted) = f
        .call(
            "DELETE",
            &format!("/api/environments/{}", f.env_id),
            DELETION,
        )
        .await;
    assert_eq!(status, 204, "{deleted}");
    for canary in &canaries {
        assert!(canary.exists(), "{} was deleted", canary.display());
    }
    let clone = f
        .server
        .data_dir
        .path()
        .join(format!("repos/{}.git", f.env_id));
    assert!(!clone.exists(), "the clone itself is gone");
}

#[tokio::test]
async fn cloning_another_environments_clone_by_path_is_refused() {
    let f = fixture().await;
    let clone = f
        .server
        .data_dir
        .path()
        .join(format!("repos/{}.git", f.env_id));
    assert!(clone.is_dir());
    let (status, e) = within(
        PROMPT,
        "POST /api/environments",
        f.server.call(
            "POST",
            "/api/environments",
            Some(&f.token),
            Some(json!({"name": "copy", "repositoryUrl": clone.display().to_string()})),
        ),
    )
    .await;
    assert_eq!(status, 422, "{e}");
    assert!(e["error"].as_str().unwrap().contains("data dir"), "{e}");
}
