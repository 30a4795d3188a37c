//! The egress proxy: the only way out of a workspace whose environment's egress policy is
//! `none` or an allowlist.
//!
//! Such workspaces sit on an internal bridge without a route out ([`crate::networks`]); the
//! server listens on that bridge's host address and speaks HTTP's forward-proxy protocol
//! (`CONNECT host:port`, and plain `http://` requests), which git, curl, npm, pip and the
//! agent CLIs follow through `HTTPS_PROXY`/`HTTP_PROXY`. Each connection is told apart by its
//! source address (containers hold no capability to forge one) and checked against the
//! policy its environment has now, so an edited allowlist applies to the next connection.
//! Whatever a container sends is bounded: the request head in size and time, the number of
//! open tunnels per container, the time to resolve and to connect.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use craftastic_domain::EnvironmentId;
use craftastic_runtime::Runtime;
use craftastic_store::{Environment, Store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::networks::Pool;
use crate::sandbox::{SandboxSettings, labels};

/// Largest request head read from a container.
const MAX_HEAD: usize = 16 << 10;
/// Time a container has to send its request head.
const HEAD_DEADLINE: Duration = Duration::from_secs(10);
const RESOLVE_DEADLINE: Duration = Duration::from_secs(5);
const CONNECT_DEADLINE: Duration = Duration::from_secs(10);
/// Open tunnels per container.
const MAX_TUNNELS: usize = 256;
/// How long the address → environment map is trusted before it is read again.
const CLIENTS_TTL: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct EgressProxy {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    runtime: Arc<dyn Runtime>,
    settings: Arc<SandboxSettings>,
    listeners: Mutex<HashMap<Ipv4Addr, JoinHandle<()>>>,
    clients: tokio::sync::Mutex<Clients>,
    tunnels: Mutex<HashMap<Ipv4Addr, usize>>,
}

#[derive(Default)]
struct Clients {
    by_address: HashMap<Ipv4Addr, EnvironmentId>,
    read_at: Option<Instant>,
}

/// Why a request is refused; the text goes back to the client.
struct Refusal(u16, String);

impl EgressProxy {
    pub fn new(
        store: Arc<dyn Store>,
        runtime: Arc<dyn Runtime>,
        settings: Arc<SandboxSettings>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                runtime,
                settings,
                listeners: Mutex::default(),
                clients: tokio::sync::Mutex::default(),
                tunnels: Mutex::default(),
            }),
        }
    }

    /// The proxy's address for the containers of a restricted network whose host address
    /// is `gateway`.
    pub fn url(&self, gateway: Ipv4Addr) -> String {
        format!("http://{gateway}:{}", self.inner.settings.egress_proxy_port)
    }

    /// Listens on `gateway` unless it already does.
    /// Fails: the address cannot be bound (another program holds the port) → 502.
    pub async fn listen(&self, gateway: Ipv4Addr) -> crate::ServiceResult<()> {
        if self
            .inner
            .listeners
            .lock()
            .expect("egress listeners")
            .get(&gateway)
            .is_some_and(|h| !h.is_finished())
        {
            return Ok(());
        }
        let port = self.inner.settings.egress_proxy_port;
        let listener = TcpListener::bind((gateway, port)).await.map_err(|e| {
            crate::ServiceError::Upstream(format!(
                "the egress proxy cannot listen on {gateway}:{port} ({e}); free the port or set EGRESS_PROXY_PORT"
            ))
        })?;
        let inner = self.inner.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, peer)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                let inner = inner.clone();
                tokio::spawn(async move { inner.serve(stream, peer).await });
            }
        });
        let mut listeners = self.inner.listeners.lock().expect("egress listeners");
        if let Some(old) = listeners.insert(gateway, task) {
            old.abort();
        }
        Ok(())
    }

    /// Forgets what it knows of the containers' addresses, e.g. after a workspace was made.
    pub async fn forget_clients(&self) {
        self.inner.clients.lock().await.read_at = None;
    }

    /// Stops every listener (open tunnels end with their connections).
    pub fn close(&self) {
        for (_, task) in self
            .inner
            .listeners
            .lock()
            .expect("egress listeners")
            .drain()
        {
            task.abort();
        }
    }
}

impl Inner {
    async fn serve(self: Arc<Self>, mut client: TcpStream, peer: SocketAddr) {
        let IpAddr::V4(source) = peer.ip() else {
            return;
        };
        if !self.take_tunnel(source) {
            reply(
                &mut client,
                429,
                "too many connections through the egress proxy from this workspace",
            )
            .await;
            return;
        }
        if let Err(Refusal(status, why)) = self.forward(&mut client, source).await {
            tracing::info!(client = %source, status, reason = %why, "egress refused");
            reply(&mut client, status, &why).await;
        }
        self.give_back_tunnel(source);
    }

    fn take_tunnel(&self, source: Ipv4Addr) -> bool {
        let mut tunnels = self.tunnels.lock().expect("egress tunnels");
        let open = tunnels.entry(source).or_default();
        if *open >= MAX_TUNNELS {
            return false;
        }
        *open += 1;
        true
    }

    fn give_back_tunnel(&self, source: Ipv4Addr) {
        let mut tunnels = self.tunnels.lock().expect("egress tunnels");
        if let Some(open) = tunnels.get_mut(&source) {
            *open -= 1;
            if *open == 0 {
                tunnels.remove(&source);
            }
        }
    }

    async fn forward(&self, client: &mut TcpStream, source: Ipv4Addr) -> Result<(), Refusal> {
        let (head, rest) = tokio::time::timeout(HEAD_DEADLINE, read_head(client))
            .await
            .map_err(|_| Refusal(408, "the request head did not arrive in time".into()))??;
        let request = Request::parse(&head)?;
        let env = self.environment_of(source).await.ok_or_else(|| {
            Refusal(
                403,
                "this address is not a workspace the egress proxy serves".into(),
            )
        })?;
        if !permits(&env, &request.host) {
            return Err(Refusal(
                403,
                format!(
                    "egress to {} is not allowed by the egress policy of the environment {}; its owner can allow it",
                    request.host, env.name
                ),
            ));
        }
        let mut upstream = self.connect(&request.host, request.port).await?;
        if request.tunnel {
            client
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .await
                .map_err(|_| Refusal(499, "the client went away".into()))?;
        } else {
            upstream
                .write_all(&request.origin_head)
                .await
                .map_err(|_| Refusal(502, "the remote closed the connection".into()))?;
        }
        if !rest.is_empty() {
            upstream
                .write_all(&rest)
                .await
                .map_err(|_| Refusal(502, "the remote closed the connection".into()))?;
        }
        tokio::io::copy_bidirectional(client, &mut upstream)
            .await
            .ok();
        Ok(())
    }

    /// Resolves `host` and connects to the first address that is not one a workspace must
    /// never reach (loopback, link-local and the metadata address, the workspace networks).
    async fn connect(&self, host: &str, port: u16) -> Result<TcpStream, Refusal> {
        let addresses: Vec<SocketAddr> =
            tokio::time::timeout(RESOLVE_DEADLINE, tokio::net::lookup_host((host, port)))
                .await
                .map_err(|_| Refusal(504, format!("resolving {host} took too long")))?
                .map_err(|_| Refusal(502, format!("{host} does not resolve")))?
                .collect();
        let pool = self.settings.network_pool;
        let reachable: Vec<SocketAddr> = addresses
            .into_iter()
            .filter(|a| !forbidden(a.ip(), pool))
            .collect();
        if reachable.is_empty() {
            return Err(Refusal(
                403,
                format!("{host} resolves only to addresses a workspace may not reach"),
            ));
        }
        for address in reachable {
            if let Ok(Ok(stream)) =
                tokio::time::timeout(CONNECT_DEADLINE, TcpStream::connect(address)).await
            {
                return Ok(stream);
            }
        }
        Err(Refusal(502, format!("{host}:{port} does not answer")))
    }

    /// The environment of the workspace container at `source`, from the engine's view of
    /// this server's containers, read again at most once a second when an address is unknown.
    async fn environment_of(&self, source: Ipv4Addr) -> Option<Environment> {
        let env = {
            let mut clients = self.clients.lock().await;
            let fresh = clients.read_at.is_some_and(|at| at.elapsed() < CLIENTS_TTL);
            let recent = clients
                .read_at
                .is_some_and(|at| at.elapsed() < Duration::from_secs(1));
            if !fresh || (!clients.by_address.contains_key(&source) && !recent) {
                let containers = tokio::time::timeout(
                    Duration::from_secs(10),
                    self.runtime
                        .list(&[(labels::INSTANCE, &self.settings.instance)]),
                )
                .await
                .ok()?
                .ok()?;
                clients.by_address = containers
                    .iter()
                    .filter_map(|c| {
                        let env = c.labels.get(labels::ENVIRONMENT)?.parse().ok()?;
                        Some(c.networks.values().flatten().map(move |ip| (*ip, env)))
                    })
                    .flatten()
                    .collect();
                clients.read_at = Some(Instant::now());
            }
            *clients.by_address.get(&source)?
        };
        self.store.get_environment(env).await.ok()?
    }
}

/// Whether the environment's policy lets its workspaces reach `host`.
fn permits(env: &Environment, host: &str) -> bool {
    env.egress.allows(host)
}

/// Addresses no workspace reaches through the proxy, whatever a host name resolves to.
fn forbidden(ip: IpAddr, pool: Pool) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || pool.contains(v4)
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

/// Reads up to the end of the request head; returns the head and what followed it.
async fn read_head(client: &mut TcpStream) -> Result<(Vec<u8>, Vec<u8>), Refusal> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let n = client
            .read(&mut chunk)
            .await
            .map_err(|_| Refusal(400, "the request could not be read".into()))?;
        if n == 0 {
            return Err(Refusal(
                400,
                "the connection closed before the request head ended".into(),
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Ok((buf, rest));
        }
        if buf.len() > MAX_HEAD {
            return Err(Refusal(431, "the request head is too large".into()));
        }
    }
}

/// A proxy request: where to, and for plain HTTP the head to send there.
#[derive(Debug, PartialEq, Eq)]
struct Request {
    tunnel: bool,
    host: String,
    port: u16,
    origin_head: Vec<u8>,
}

impl Request {
    fn parse(head: &[u8]) -> Result<Self, Refusal> {
        let bad = |why: &str| Refusal(400, why.to_owned());
        let text = std::str::from_utf8(head).map_err(|_| bad("the request head is not text"))?;
        let mut lines = text.split("\r\n");
        let first = lines.next().unwrap_or_default();
        let mut parts = first.split(' ');
        let (Some(method), Some(target), Some(version), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("the request line is malformed"));
        };
        if !version.starts_with("HTTP/1.") {
            return Err(bad("only HTTP/1 requests are proxied"));
        }
        if method == "CONNECT" {
            let (host, port) =
                split_authority(target, None).ok_or_else(|| bad("CONNECT needs host:port"))?;
            return Ok(Self {
                tunnel: true,
                host,
                port,
                origin_head: Vec::new(),
            });
        }
        let rest = target
            .strip_prefix("http://")
            .ok_or_else(|| bad("only CONNECT and absolute http:// requests are proxied"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = split_authority(authority, Some(80))
            .ok_or_else(|| bad("the request's host is malformed"))?;
        let mut origin = format!("{method} {path} {version}\r\n");
        for line in lines.filter(|l| !l.is_empty()) {
            let name = line
                .split(':')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            if name.starts_with("proxy-") || name == "connection" || name == "keep-alive" {
                continue;
            }
            origin.push_str(line);
            origin.push_str("\r\n");
        }
        // One request per connection: the next one may be for another host.
        origin.push_str("Connection: close\r\n\r\n");
        Ok(Self {
            tunnel: false,
            host,
            port,
            origin_head: origin.into_bytes(),
        })
    }
}

/// `host:port` (or `[v6]:port`), the host lowercased without a trailing dot.
fn split_authority(authority: &str, default_port: Option<u16>) -> Option<(String, u16)> {
    if authority.contains('@') {
        return None;
    }
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None if after.is_empty() => default_port?,
            None => return None,
        };
        (host, port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().ok()?),
            None => (authority, default_port?),
        }
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty() || port == 0 {
        return None;
    }
    Some((host, port))
}

async fn reply(client: &mut TcpStream, status: u16, why: &str) {
    let reason = match status {
        400 => "Bad Request",
        403 => "Forbidden",
        408 => "Request Timeout",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        504 => "Gateway Timeout",
        _ => "Bad Gateway",
    };
    let body = format!("craftastic egress proxy: {why}\n");
    let answer = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    client.write_all(answer.as_bytes()).await.ok();
    client.shutdown().await.ok();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(head: &str) -> Result<Request, String> {
        Request::parse(head.as_bytes()).map_err(|Refusal(_, why)| why)
    }

    #[test]
    fn connect_names_host_and_port() {
        let r = parse("CONNECT GitHub.com.:443 HTTP/1.1\r\nHost: github.com:443\r\n\r\n").unwrap();
        assert!(r.tunnel);
        assert_eq!((r.host.as_str(), r.port), ("github.com", 443));
        let r = parse("CONNECT [::1]:22 HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!((r.host.as_str(), r.port), ("::1", 22));
    }

    #[test]
    fn plain_http_is_rewritten_to_one_origin_request() {
        let r = parse(
            "GET http://example.com:8080/a?b=1 HTTP/1.1\r\nHost: example.com:8080\r\nProxy-Authorization: x\r\nConnection: keep-alive\r\nAccept: */*\r\n\r\n",
        )
        .unwrap();
        assert!(!r.tunnel);
        assert_eq!((r.host.as_str(), r.port), ("example.com", 8080));
        assert_eq!(
            String::from_utf8(r.origin_head).unwrap(),
            "GET /a?b=1 HTTP/1.1\r\nHost: example.com:8080\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        );
        let r = parse("GET http://example.com HTTP/1.0\r\n\r\n").unwrap();
        assert_eq!((r.host.as_str(), r.port), ("example.com", 80));
    }

    #[test]
    fn malformed_requests_are_refused_with_a_reason() {
        for (head, says) in [
            ("GET /local HTTP/1.1\r\n\r\n", "absolute http://"),
            ("GET https://x.com/ HTTP/1.1\r\n\r\n", "absolute http://"),
            ("CONNECT github.com HTTP/1.1\r\n\r\n", "host:port"),
            ("CONNECT github.com:0 HTTP/1.1\r\n\r\n", "host:port"),
            ("CONNECT a@github.com:443 HTTP/1.1\r\n\r\n", "host:port"),
            ("CONNECT github.com:443 HTTP/2\r\n\r\n", "HTTP/1"),
            ("CONNECT  github.com:443 HTTP/1.1\r\n\r\n", "malformed"),
            ("GET http://:80/ HTTP/1.1\r\n\r\n", "malformed"),
        ] {
            let e = parse(head).unwrap_err();
            assert!(e.contains(says), "{head:?}: {e}");
        }
    }

    #[test]
    fn addresses_a_workspace_must_not_reach() {
        let pool = Pool::parse("10.213.0.0/16").unwrap();
        for ip in [
            "127.0.0.1",
            "169.254.169.254",
            "0.0.0.0",
            "10.213.4.2",
            "224.0.0.1",
            "::1",
            "fe80::1",
            "::ffff:169.254.169.254",
            "::ffff:127.0.0.1",
        ] {
            assert!(forbidden(ip.parse().unwrap(), pool), "{ip}");
        }
        for ip in ["140.82.112.3", "10.1.2.3", "2606:4700::1111"] {
            assert!(!forbidden(ip.parse().unwrap(), pool), "{ip}");
        }
    }
}
