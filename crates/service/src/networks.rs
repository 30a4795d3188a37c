//! The Docker networks workspaces join: one per owner and kind, each a bridge of its own with
//! an address range taken from the configured pool.
//!
//! Per owner rather than per environment: a user's workspaces may talk to each other (a
//! frontend branch calling a backend branch), the boundary that matters is between users
//! (invariant I5), and a pool of `/24`s lasts for twice as many users as environments.
//! Bridges of different networks cannot reach each other (the engine's isolation rules),
//! so one user's containers never reach another's. The kind follows the environment's egress
//! policy: `open` workspaces join a routed bridge; `none` and `allowlist` workspaces join an
//! internal bridge with no route out, where the only way out is the egress proxy on the
//! bridge's host address ([`crate::egress`]).

use std::collections::{BTreeMap, HashSet};
use std::net::Ipv4Addr;
use std::sync::Arc;

use craftastic_domain::UserId;
use craftastic_runtime::{ContainerInfo, NetworkInfo, NetworkSpec, Runtime, RuntimeError};
use sha2::{Digest, Sha256};

use crate::keyed_lock::{KeyedGuard, KeyedLocks};
use crate::sandbox::{SandboxSettings, labels};
use crate::{ServiceError, ServiceResult};

/// Every Craftastic bridge's name starts with this, so that one firewall rule covers all.
pub const BRIDGE_PREFIX: &str = "cft";
/// The bridges of restricted networks start with this (and [`BRIDGE_PREFIX`]).
pub const RESTRICTED_BRIDGE_PREFIX: &str = "cftr";
/// The bridges of open networks start with this (and [`BRIDGE_PREFIX`]).
pub const OPEN_BRIDGE_PREFIX: &str = "cfto";
/// Label on every network Craftastic makes for workspaces (of any server), so that servers
/// sharing an engine never pick the same address range.
pub const NETWORK_LABEL: &str = "craftastic.network";
/// The prefix length of each network's range.
pub const NETWORK_PREFIX_LEN: u8 = 24;

/// How a network lets its containers out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NetKind {
    /// Routed: the container reaches what the host reaches (but the metadata address and the
    /// server's own port, which the firewall drops).
    Open,
    /// Internal: no route out; only the egress proxy on the bridge's host address.
    Restricted,
}

impl NetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NetKind::Open => "open",
            NetKind::Restricted => "restricted",
        }
    }
}

/// An address pool: `base/len`, split into `/24`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool {
    pub base: Ipv4Addr,
    pub len: u8,
}

impl Pool {
    /// Parses `a.b.c.d/len` with `8 <= len <= 24` and no host bits set.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (ip, len) = text
            .split_once('/')
            .ok_or_else(|| format!("'{text}' is not a range; write it as 10.213.0.0/16"))?;
        let base: Ipv4Addr = ip
            .parse()
            .map_err(|_| format!("'{ip}' is not an IPv4 address"))?;
        let len: u8 = len
            .parse()
            .ok()
            .filter(|l| (8..=NETWORK_PREFIX_LEN).contains(l))
            .ok_or_else(|| format!("the prefix length must be 8 to {NETWORK_PREFIX_LEN}"))?;
        let mask = u32::MAX << (32 - len);
        if u32::from(base) & !mask != 0 {
            return Err(format!(
                "{text} has host bits set; write {}/{len}",
                Ipv4Addr::from(u32::from(base) & mask)
            ));
        }
        Ok(Self { base, len })
    }

    /// How many `/24`s the pool holds.
    pub fn size(self) -> u32 {
        1 << (NETWORK_PREFIX_LEN - self.len)
    }

    pub fn subnet(self, index: u32) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.base) + (index << (32 - NETWORK_PREFIX_LEN)))
    }

    /// The index of a `/24` of the pool.
    fn index_of(self, subnet: Ipv4Addr) -> Option<u32> {
        let offset = u32::from(subnet).checked_sub(u32::from(self.base))?;
        let index = offset >> (32 - NETWORK_PREFIX_LEN);
        (index < self.size()).then_some(index)
    }

    pub fn contains(self, ip: Ipv4Addr) -> bool {
        let mask = u32::MAX << (32 - self.len);
        u32::from(ip) & mask == u32::from(self.base)
    }
}

impl std::fmt::Display for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.base, self.len)
    }
}

#[derive(Clone)]
pub struct Networks {
    runtime: Arc<dyn Runtime>,
    settings: Arc<SandboxSettings>,
    /// Serialises making and removing the networks of one owner.
    locks: KeyedLocks<UserId>,
}

impl Networks {
    pub fn new(runtime: Arc<dyn Runtime>, settings: Arc<SandboxSettings>) -> Self {
        Self {
            runtime,
            settings,
            locks: KeyedLocks::default(),
        }
    }

    pub fn name(&self, owner: UserId, kind: NetKind) -> String {
        format!(
            "craftastic-{}-{}-{}",
            self.settings.instance,
            owner.0.simple(),
            kind.as_str()
        )
    }

    /// The host side of a network's bridge: the prefix of its kind and a digest of its name
    /// (Linux allows 15 characters).
    pub fn bridge(name: &str, kind: NetKind) -> String {
        let digest = hex::encode(Sha256::digest(name.as_bytes()));
        let prefix = match kind {
            NetKind::Open => OPEN_BRIDGE_PREFIX,
            NetKind::Restricted => RESTRICTED_BRIDGE_PREFIX,
        };
        format!("{prefix}{}", &digest[..11])
    }

    /// Waits for the turn to make or remove `owner`'s networks, held until the guard drops.
    pub(crate) async fn lock(&self, owner: UserId) -> KeyedGuard<UserId> {
        self.locks.lock(owner).await
    }

    /// The network of `owner`'s workspaces of `kind`, made when missing. The caller holds
    /// [`Self::lock`] of the owner until its container has joined it, so that a concurrent
    /// [`Self::remove_unused`] cannot take it away in between.
    /// Fails: the pool is used up, or the engine fails → 502.
    pub async fn ensure_locked(&self, owner: UserId, kind: NetKind) -> ServiceResult<NetworkInfo> {
        let name = self.name(owner, kind);
        if let Some(found) = self.runtime.inspect_network(&name).await? {
            return Ok(found);
        }
        let pool = self.settings.network_pool;
        let mut taken: HashSet<u32> = self
            .runtime
            .list_networks(&[(NETWORK_LABEL, "workspaces")])
            .await?
            .iter()
            .filter_map(|n| pool.index_of(n.subnet?.0))
            .collect();
        // Servers sharing the engine may pick the same free range at once; the engine
        // refuses the second, which then tries another.
        for _ in 0..16 {
            let free: Vec<u32> = (0..pool.size()).filter(|i| !taken.contains(i)).collect();
            if free.is_empty() {
                break;
            }
            let index = free[rand::random::<usize>() % free.len().min(8)];
            let subnet = pool.subnet(index);
            let spec = NetworkSpec {
                name: name.clone(),
                bridge: Self::bridge(&name, kind),
                subnet,
                prefix_len: NETWORK_PREFIX_LEN,
                gateway: Ipv4Addr::from(u32::from(subnet) + 1),
                internal: kind == NetKind::Restricted,
                labels: BTreeMap::from([
                    (NETWORK_LABEL.to_owned(), "workspaces".to_owned()),
                    (labels::INSTANCE.to_owned(), self.settings.instance.clone()),
                    (labels::OWNER.to_owned(), owner.to_string()),
                    ("craftastic.egress".to_owned(), kind.as_str().to_owned()),
                ]),
            };
            match self.runtime.ensure_network(&spec).await {
                Ok(made) => return Ok(made),
                Err(RuntimeError::Engine(message)) if message.contains("overlap") => {
                    taken.insert(index);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Upstream(format!(
            "no free address range is left for a workspace network in {pool} (SANDBOX_NETWORK_POOL); \
             remove unused environments or give a larger pool"
        )))
    }

    /// Removes this server's workspace networks that none of `containers` (this server's,
    /// as listed by the caller) uses: left when an owner's last workspace went. A network
    /// in use is left alone.
    pub async fn remove_unused(&self, containers: &[ContainerInfo]) -> ServiceResult<usize> {
        let ours = self
            .runtime
            .list_networks(&[
                (NETWORK_LABEL, "workspaces"),
                (labels::INSTANCE, &self.settings.instance),
            ])
            .await?;
        if ours.is_empty() {
            return Ok(0);
        }
        let used: HashSet<&str> = containers
            .iter()
            .flat_map(|c| c.networks.keys().map(String::as_str))
            .collect();
        let mut removed = 0;
        for n in &ours {
            if used.contains(n.name.as_str()) {
                continue;
            }
            let Some(owner) = n
                .labels
                .get(labels::OWNER)
                .and_then(|o| o.parse::<uuid::Uuid>().ok())
            else {
                continue;
            };
            let _guard = self.lock(UserId(owner)).await;
            // A container may have joined since the list; the engine refuses to remove a
            // network in use, which is then simply kept.
            match self.runtime.remove_network(&n.name).await {
                Ok(()) => removed += 1,
                Err(e) => tracing::debug!(network = %n.name, error = %e, "network kept"),
            }
        }
        Ok(removed)
    }

    /// Every restricted network of this server, for the egress proxy's listeners.
    pub async fn restricted(&self) -> ServiceResult<Vec<NetworkInfo>> {
        Ok(self
            .runtime
            .list_networks(&[
                (NETWORK_LABEL, "workspaces"),
                (labels::INSTANCE, &self.settings.instance),
                ("craftastic.egress", NetKind::Restricted.as_str()),
            ])
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_is_split_into_24s() {
        let pool = Pool::parse("10.213.0.0/16").unwrap();
        assert_eq!(pool.size(), 256);
        assert_eq!(pool.subnet(0), Ipv4Addr::new(10, 213, 0, 0));
        assert_eq!(pool.subnet(255), Ipv4Addr::new(10, 213, 255, 0));
        assert_eq!(pool.index_of(Ipv4Addr::new(10, 213, 7, 0)), Some(7));
        assert_eq!(pool.index_of(Ipv4Addr::new(10, 214, 0, 0)), None);
        assert_eq!(pool.index_of(Ipv4Addr::new(10, 212, 0, 0)), None);
        assert!(pool.contains(Ipv4Addr::new(10, 213, 9, 9)));
        assert!(!pool.contains(Ipv4Addr::new(10, 21, 9, 9)));
        assert_eq!(Pool::parse("10.0.0.0/24").unwrap().size(), 1);
    }

    #[test]
    fn bad_pools_are_refused_with_a_reason() {
        for (text, says) in [
            ("10.213.0.0", "not a range"),
            ("10.213.0.0/25", "prefix length"),
            ("10.213.0.0/7", "prefix length"),
            ("10.213.0.1/16", "host bits"),
            ("fd00::/64", "not an IPv4"),
        ] {
            let e = Pool::parse(text).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn bridge_names_fit_linux_and_share_the_prefix() {
        let name = "craftastic-0123456789abcdef-00000000000000000000000000000000-restricted";
        let restricted = Networks::bridge(name, NetKind::Restricted);
        let open = Networks::bridge(name, NetKind::Open);
        assert_eq!((restricted.len(), open.len()), (15, 15));
        assert!(restricted.starts_with(RESTRICTED_BRIDGE_PREFIX));
        assert!(open.starts_with(OPEN_BRIDGE_PREFIX));
        assert!(open.starts_with(BRIDGE_PREFIX) && restricted.starts_with(BRIDGE_PREFIX));
    }
}
