//! The `craftastic` binary run as a process, for the tests that start it.

// Each test binary uses a part of this module.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_craftastic");

/// The binary with a clean environment: only PATH and a HOME of the test's own.
pub fn craftastic(home: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("PORT", "0");
    cmd
}

pub struct Running {
    pub child: Child,
    pub base: String,
    stderr: mpsc::Receiver<String>,
}

impl Running {
    pub fn start(mut cmd: Command) -> Self {
        let mut child = cmd
            .arg("serve")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("Craftastic is running at ") {
                    let _ = tx.send(url.to_owned());
                }
            }
        });
        let (etx, erx) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = etx.send(line);
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                let log: Vec<String> = erx.try_iter().collect();
                panic!(
                    "the server did not print its URL; stderr:\n{}",
                    log.join("\n")
                )
            });
        Self {
            child,
            base,
            stderr: erx,
        }
    }

    pub fn logs(&self) -> String {
        self.stderr.try_iter().collect::<Vec<_>>().join("\n")
    }

    pub fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let res = reqwest::blocking::Client::new()
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .unwrap();
        (res.status().as_u16(), res.json().unwrap_or(Value::Null))
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut req = reqwest::blocking::Client::new().get(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().unwrap();
        (res.status().as_u16(), res.json().unwrap_or(Value::Null))
    }

    pub fn stop(mut self) -> String {
        sigterm(self.child.id());
        let status = self.child.wait().unwrap();
        assert!(
            status.success(),
            "the server stops cleanly on SIGTERM: {status}"
        );
        self.logs()
    }
}

pub fn sigterm(pid: u32) {
    Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .unwrap();
}

/// Polls an environment until its status is one of `until` (at most 90 s).
pub fn wait_status(server: &Running, token: &str, id: &str, until: &[&str]) -> Value {
    let started = std::time::Instant::now();
    loop {
        let (status, env) = server.get(&format!("/api/environments/{id}"), Some(token));
        assert_eq!(status, 200, "{env}");
        if until.iter().any(|u| env["status"] == *u) {
            return env;
        }
        assert!(started.elapsed() < Duration::from_secs(90), "still {env}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A POST with the token, answering the status and the JSON body.
pub fn post_auth(server: &Running, token: &str, path: &str, body: Value) -> (u16, Value) {
    let res = reqwest::blocking::Client::new()
        .post(format!("{}{path}", server.base))
        .bearer_auth(token)
        .json(&body)
        .send()
        .unwrap();
    (res.status().as_u16(), res.json().unwrap_or(Value::Null))
}

/// Removes, when dropped, every container of the server whose data dir is `data_dir`, so
/// that a failed test leaves nothing behind in the engine.
pub struct Containers {
    pub data_dir: std::path::PathBuf,
}

impl Containers {
    /// The label value that marks this server's containers.
    pub fn instance(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("instance-id"))
            .unwrap_or_default()
            .trim()
            .to_owned()
    }
}

impl Drop for Containers {
    fn drop(&mut self) {
        let instance = self.instance();
        if instance.is_empty() {
            return;
        }
        let Ok(listed) = Command::new("docker")
            .args([
                "ps",
                "-a",
                "--format",
                r#"{{.ID}} {{.Label "craftastic.workspace"}}"#,
            ])
            .arg("--filter")
            .arg(format!("label=craftastic.instance={instance}"))
            .output()
        else {
            return;
        };
        for line in String::from_utf8_lossy(&listed.stdout).lines() {
            let (id, workspace) = line.split_once(' ').unwrap_or((line, ""));
            let _ = Command::new("docker").args(["rm", "-f", id]).output();
            if !workspace.is_empty() {
                let volume = format!("{}{workspace}", craftastic_service::sandbox::VOLUME_PREFIX);
                let _ = Command::new("docker")
                    .args(["volume", "rm", "-f", &volume])
                    .output();
            }
        }
    }
}
