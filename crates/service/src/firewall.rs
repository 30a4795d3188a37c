//! Host firewall rules that keep workspaces away from the host itself. Every Craftastic
//! bridge's name starts with [`BRIDGE_PREFIX`] (restricted ones with
//! [`RESTRICTED_BRIDGE_PREFIX`]), so a few rules cover every workspace network, present and
//! future:
//!
//! - nothing is routed from one Craftastic bridge to another: owners' networks stay apart
//!   even where the engine's own isolation rules are missing (a full test run once saw one
//!   user's workspace answer another's on an engine started moments before). Traffic within
//!   a bridge is bridged, not routed (`physdev --physdev-is-bridged`), so an owner's
//!   workspaces still reach each other;
//! - nothing from a workspace reaches the link-local range (the cloud metadata address
//!   169.254.169.254), forwarded or on the host;
//! - nothing from a workspace reaches the server's own port when it listens beyond loopback;
//! - a restricted workspace reaches nothing on the host but the egress proxy. The engine
//!   gives internal networks a default route to the bridge and drops only what would be
//!   forwarded, so without this rule a restricted workspace could reach every service the
//!   host listens with on all addresses.
//!
//! The rules live in a chain of their own, `CRAFTASTIC-INPUT`, jumped to from `INPUT`, and
//! in `DOCKER-USER`, the chain the engine leaves to its admin. They go in through `iptables`
//! (the tool the engine itself uses, so both share one backend); each is checked with `-C`
//! first, and the chain is written anew when one is missing, so a restart adds nothing twice.

use std::process::Command;

use crate::networks::{BRIDGE_PREFIX, RESTRICTED_BRIDGE_PREFIX};

const CHAIN: &str = "CRAFTASTIC-INPUT";

/// What [`protect`] did, for the start-up log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// Not applied, and why (the server is not root, no iptables, a remote engine…).
    Skipped(String),
}

/// Installs the rules. `server_port` is the server's port when it listens on an address a
/// workspace could reach (not loopback); `egress_proxy_port` the egress proxy's.
pub fn protect(server_port: Option<u16>, egress_proxy_port: u16) -> Outcome {
    if std::env::var("DOCKER_HOST").is_ok_and(|h| !h.is_empty() && !h.starts_with("unix://")) {
        return Outcome::Skipped(
            "the engine is remote (DOCKER_HOST); add the rules on its host yourself".into(),
        );
    }
    match apply(server_port, egress_proxy_port) {
        Ok(()) => Outcome::Applied,
        Err(why) => Outcome::Skipped(why),
    }
}

fn apply(server_port: Option<u16>, egress_proxy_port: u16) -> Result<(), String> {
    let all = format!("{BRIDGE_PREFIX}+");
    let restricted = format!("{RESTRICTED_BRIDGE_PREFIX}+");
    let proxy = egress_proxy_port.to_string();
    let mut chain: Vec<Vec<String>> =
        vec![args(&["-i", &all, "-d", "169.254.0.0/16", "-j", "DROP"])];
    if let Some(port) = server_port {
        chain.push(port_rule(port));
    }
    chain.extend([
        args(&[
            "-i",
            &restricted,
            "-p",
            "tcp",
            "--dport",
            &proxy,
            "-j",
            "ACCEPT",
        ]),
        args(&[
            "-i",
            &restricted,
            "-m",
            "conntrack",
            "--ctstate",
            "ESTABLISHED,RELATED",
            "-j",
            "ACCEPT",
        ]),
        args(&["-i", &restricted, "-j", "DROP"]),
    ]);
    if iptables(&args(&["-L", CHAIN, "-n"])).is_err() {
        iptables(&args(&["-N", CHAIN]))
            .map_err(|e| format!("iptables could not make {CHAIN}: {e}"))?;
    }
    let complete = chain
        .iter()
        .all(|rule| iptables(&[&args(&["-C", CHAIN])[..], rule].concat()).is_ok());
    if !complete {
        iptables(&args(&["-F", CHAIN]))?;
        for rule in &chain {
            iptables(&[&args(&["-A", CHAIN])[..], rule].concat())
                .map_err(|e| format!("iptables could not add a rule to {CHAIN}: {e}"))?;
        }
    }
    ensure_first("INPUT", &args(&["-i", &all, "-j", CHAIN]))?;
    ensure_first(
        "DOCKER-USER",
        &args(&["-i", &all, "-d", "169.254.0.0/16", "-j", "DROP"]),
    )?;
    ensure_first(
        "DOCKER-USER",
        &args(&[
            "-i",
            &all,
            "-o",
            &all,
            "-m",
            "physdev",
            "!",
            "--physdev-is-bridged",
            "-j",
            "DROP",
        ]),
    )
}

fn port_rule(port: u16) -> Vec<String> {
    args(&[
        "-i",
        &format!("{BRIDGE_PREFIX}+"),
        "-p",
        "tcp",
        "--dport",
        &port.to_string(),
        "-j",
        "REJECT",
        "--reject-with",
        "tcp-reset",
    ])
}

/// Removes the rule for a server's `port` (a test server's, when it stops).
pub fn forget_port(port: u16) {
    let _ = iptables(&[&args(&["-D", CHAIN])[..], &port_rule(port)].concat());
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|a| (*a).to_owned()).collect()
}

/// Inserts `rule` at the head of `chain` unless it is there.
fn ensure_first(chain: &str, rule: &[String]) -> Result<(), String> {
    if iptables(&[&args(&["-C", chain])[..], rule].concat()).is_ok() {
        return Ok(());
    }
    iptables(&[&args(&["-I", chain, "1"])[..], rule].concat())
        .map_err(|e| format!("iptables could not add a rule to {chain}: {e}"))
}

fn iptables(rule: &[String]) -> Result<(), String> {
    let out = Command::new("iptables")
        .args(["-w", "5"])
        .args(rule)
        .output()
        .map_err(|e| format!("cannot run iptables ({e})"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}
