//! A git server over HTTP for tests: git's own `git http-backend` (smart HTTP, fetch and
//! push) behind basic authentication, reachable from the host and from containers at the
//! Docker bridge's address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use tokio::io::AsyncWriteExt;

struct Served {
    root: PathBuf,
    /// The password every request must carry (any user name), or none for open access.
    token: Option<String>,
    /// Every request: method, path and query, and the user name it authenticated as.
    requests: Mutex<Vec<String>>,
}

/// The routes, for mounting into another test server (the fake GitHub serves its
/// repositories this way).
pub fn router(root: PathBuf, token: Option<String>) -> (axum::Router, GitRequests) {
    let served = Arc::new(Served {
        root,
        token,
        requests: Mutex::default(),
    });
    let requests = GitRequests(served.clone());
    let router = axum::Router::new()
        .route("/{*path}", axum::routing::any(backend))
        .with_state(served);
    (router, requests)
}

/// What the server was asked, for assertions.
#[derive(Clone)]
pub struct GitRequests(Arc<Served>);

impl GitRequests {
    pub fn list(&self) -> Vec<String> {
        self.0.requests.lock().expect("requests").clone()
    }
}

pub struct GitServer {
    /// `http://<bridge address>:<port>`, reachable from the host and from containers.
    pub url: String,
    pub requests: GitRequests,
    root: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl GitServer {
    pub async fn start(token: Option<&str>) -> Self {
        let root = tempfile::tempdir().expect("temp dir");
        let (router, requests) = router(root.path().to_owned(), token.map(str::to_owned));
        let (listener, url) = bind_for_containers().await;
        let shutdown = serve(listener, router);
        Self {
            url,
            requests,
            root,
            shutdown: Some(shutdown),
        }
    }

    /// A bare repository at `name` (e.g. `ada/app.git`) with one commit on `main` adding
    /// `README.md`; returns its URL.
    pub fn create_repo(&self, name: &str) -> String {
        seed_repo(&self.root.path().join(name));
        self.repo_url(name)
    }

    pub fn repo_url(&self, name: &str) -> String {
        format!("{}/{name}", self.url)
    }

    /// The repository's path on the host, for looking into it with git.
    pub fn repo_path(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }
}

impl Drop for GitServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Makes a bare repository at `dir` with one commit on `main` adding `README.md`.
pub fn seed_repo(dir: &Path) {
    let work = tempfile::tempdir().expect("temp dir");
    let w = work.path().to_str().expect("utf-8 path");
    git(None, &["init", "-q", "-b", "main", w]);
    std::fs::write(work.path().join("README.md"), "# app\n").expect("write README");
    git(Some(work.path()), &["add", "README.md"]);
    git(Some(work.path()), &["commit", "-q", "-m", "Initial commit"]);
    std::fs::create_dir_all(dir.parent().expect("parent")).expect("repo parent");
    git(
        None,
        &[
            "clone",
            "-q",
            "--bare",
            w,
            dir.to_str().expect("utf-8 path"),
        ],
    );
}

/// Runs git on the host as a test author; panics with git's words when it fails.
pub fn git(dir: Option<&Path>, args: &[&str]) -> String {
    let mut cmd = std::process::Command::new("git");
    if let Some(d) = dir {
        cmd.arg("-C").arg(d);
    }
    let out = cmd
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Someone Else")
        .env("GIT_AUTHOR_EMAIL", "else@example.com")
        .env("GIT_COMMITTER_NAME", "Someone Else")
        .env("GIT_COMMITTER_EMAIL", "else@example.com")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The address containers reach the host at: the host's address on Docker's default bridge.
/// That is the bridge's gateway when the engine lists one; an engine that made the bridge
/// itself may list only its subnet (Docker 20.10 does), so the address is then read off the
/// bridge's interface. Any of the host's addresses would do: a container on any bridge
/// reaches the host through its own bridge. Panics when neither is found: these servers
/// exist to be reached from containers.
pub async fn bridge_address() -> IpAddr {
    let docker = bollard::Docker::connect_with_defaults().expect("a Docker client");
    let network = docker
        .inspect_network::<String>("bridge", None)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "cannot inspect Docker's bridge network ({e}); run the README's test command, which starts dockerd"
            )
        });
    let listed = network
        .ipam
        .and_then(|ipam| ipam.config)
        .into_iter()
        .flatten()
        .filter_map(|c| c.gateway?.parse::<IpAddr>().ok())
        .find(IpAddr::is_ipv4);
    if let Some(gateway) = listed {
        return gateway;
    }
    let interface = network
        .options
        .and_then(|o| o.get("com.docker.network.bridge.name").cloned())
        .unwrap_or_else(|| "docker0".to_owned());
    interface_address(&interface).unwrap_or_else(|| {
        panic!(
            "Docker's bridge network lists no gateway and its interface {interface} has no IPv4 address"
        )
    })
}

/// The first IPv4 address of a network interface, from `ip -4 -o addr show dev NAME`.
fn interface_address(name: &str) -> Option<IpAddr> {
    let out = std::process::Command::new("ip")
        .args(["-4", "-o", "addr", "show", "dev", name])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut words = text.split_whitespace();
    words.find(|w| *w == "inet")?;
    words.next()?.split('/').next()?.parse().ok()
}

/// A listener on every address of the host, and the URL containers reach it at.
pub async fn bind_for_containers() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0))
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    let url = format!("http://{}", SocketAddr::new(bridge_address().await, port));
    (listener, url)
}

/// Serves `router` on `listener` until the returned sender is dropped or used.
pub fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
) -> tokio::sync::oneshot::Sender<()> {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    tx
}

fn user_of(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

async fn backend(
    State(served): State<Arc<Served>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let user = user_of(&headers);
    served.requests.lock().expect("requests").push(format!(
        "{method} {uri} user={}",
        user.as_ref().map_or("-", |u| u.0.as_str())
    ));
    if let Some(token) = &served.token
        && user.as_ref().is_none_or(|(_, password)| password != token)
    {
        let mut res = (StatusCode::UNAUTHORIZED, "authentication required").into_response();
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"git\""),
        );
        return res;
    }
    let header_text = |name: &header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let mut cmd = tokio::process::Command::new("git");
    cmd.arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_PROJECT_ROOT", &served.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_COUNT", "1")
        .env("GIT_CONFIG_KEY_0", "http.receivepack")
        .env("GIT_CONFIG_VALUE_0", "true")
        .env("PATH_INFO", uri.path())
        .env("QUERY_STRING", uri.query().unwrap_or(""))
        .env("REQUEST_METHOD", method.as_str())
        .env("CONTENT_TYPE", header_text(&header::CONTENT_TYPE))
        .env("CONTENT_LENGTH", body.len().to_string())
        .env(
            "HTTP_CONTENT_ENCODING",
            header_text(&header::CONTENT_ENCODING),
        )
        .env(
            "GIT_PROTOCOL",
            header_text(&header::HeaderName::from_static("git-protocol")),
        )
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("REMOTE_USER", user.map(|u| u.0).unwrap_or_default())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run git http-backend");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = tokio::spawn(async move {
        let _ = stdin.write_all(&body).await;
    });
    let out = child.wait_with_output().await.expect("git http-backend");
    let _ = writer.await;
    cgi_response(&out.stdout)
}

/// Turns a CGI answer (headers, a blank line, the body) into a response.
fn cgi_response(raw: &[u8]) -> Response {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)));
    let Some((at, gap)) = split else {
        return (StatusCode::BAD_GATEWAY, "git http-backend gave no headers").into_response();
    };
    let mut res = Response::new(axum::body::Body::from(raw[at + gap..].to_vec()));
    for line in String::from_utf8_lossy(&raw[..at]).lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value.split(' ').next().and_then(|c| c.parse().ok());
            *res.status_mut() = code
                .and_then(|c| StatusCode::from_u16(c).ok())
                .unwrap_or(StatusCode::BAD_GATEWAY);
        } else if let (Ok(n), Ok(v)) = (
            header::HeaderName::try_from(name.trim()),
            HeaderValue::from_str(value),
        ) {
            res.headers_mut().append(n, v);
        }
    }
    res
}
