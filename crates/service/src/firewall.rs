//! Host firewall rules that keep workspaces away from the host itself: the cloud metadata
//! address (169.254.169.254, and the rest of link-local) and the server's own port. Every
//! Craftastic bridge's name starts with [`BRIDGE_PREFIX`], so one rule per chain covers all
//! workspace networks, present and future.
//!
//! Rules go in through `iptables` (the tool the engine itself uses, so both share one
//! backend), each checked with `-C` before it is inserted, so that a restart adds nothing
//! twice. Forwarded traffic is filtered in `DOCKER-USER`, the chain the engine leaves to its
//! admin; traffic to the host's own addresses in `INPUT`.

use std::process::Command;

use crate::networks::BRIDGE_PREFIX;

/// What [`protect`] did, for the start-up log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// Not applied, and why (the server is not root, no iptables, a remote engine…).
    Skipped(String),
}

/// Installs the rules; `server_port` is the server's port when it listens on an address a
/// workspace could reach (not loopback).
pub fn protect(server_port: Option<u16>) -> Outcome {
    if std::env::var("DOCKER_HOST").is_ok_and(|h| !h.is_empty() && !h.starts_with("unix://")) {
        return Outcome::Skipped(
            "the engine is remote (DOCKER_HOST); add the rules on its host yourself".into(),
        );
    }
    let interfaces = format!("{BRIDGE_PREFIX}+");
    let mut rules: Vec<(&str, Vec<String>)> = vec![
        (
            "DOCKER-USER",
            args(&["-i", &interfaces, "-d", "169.254.0.0/16", "-j", "DROP"]),
        ),
        (
            "INPUT",
            args(&["-i", &interfaces, "-d", "169.254.0.0/16", "-j", "DROP"]),
        ),
    ];
    if let Some(port) = server_port {
        rules.push((
            "INPUT",
            args(&[
                "-i",
                &interfaces,
                "-p",
                "tcp",
                "--dport",
                &port.to_string(),
                "-j",
                "REJECT",
                "--reject-with",
                "tcp-reset",
            ]),
        ));
    }
    for (chain, rule) in rules {
        if let Err(why) = ensure_rule(chain, &rule) {
            return Outcome::Skipped(why);
        }
    }
    Outcome::Applied
}

/// Removes the rule for `port` (a test server's, when it stops).
pub fn forget_port(port: u16) {
    let interfaces = format!("{BRIDGE_PREFIX}+");
    let rule = args(&[
        "-i",
        &interfaces,
        "-p",
        "tcp",
        "--dport",
        &port.to_string(),
        "-j",
        "REJECT",
        "--reject-with",
        "tcp-reset",
    ]);
    let _ = iptables(&[&args(&["-D", "INPUT"])[..], &rule[..]].concat());
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|a| (*a).to_owned()).collect()
}

fn ensure_rule(chain: &str, rule: &[String]) -> Result<(), String> {
    let check = [&["-C".to_owned(), chain.to_owned()], rule].concat();
    if iptables(&check).is_ok() {
        return Ok(());
    }
    let insert = [&["-I".to_owned(), chain.to_owned(), "1".to_owned()], rule].concat();
    iptables(&insert).map_err(|e| format!("iptables could not add a rule to {chain}: {e}"))
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
