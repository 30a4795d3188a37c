//! The only git that runs on the host (invariant I3): the first clone (or `init`) of an
//! environment's repository into a fresh directory, before any container can see it.
//! Argument vectors only, `--end-of-options` before user input, only the allowed transports
//! (`GIT_ALLOW_PROTOCOL`), no prompts, no user or system git configuration, and credentials
//! through a credential helper in the environment of that one process, never in its
//! arguments (see [`crate::git::credential_env`]).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use craftastic_domain::{BranchName, RepoPolicy, RepositoryKind, RepositoryUrl};
use tokio::process::Command;

use crate::git::RemoteTrouble;
use crate::github::GitCredential;

/// util-linux's `setpriv`, present on every Debian and Ubuntu system.
const SETPRIV: &str = "/usr/bin/setpriv";

pub struct HostGit<'a> {
    pub policy: &'a RepoPolicy,
    /// Where ssh keeps the host keys it has seen.
    pub known_hosts: &'a Path,
    pub timeout: Duration,
}

/// A person-readable reason a clone failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CloneError(pub String);

impl HostGit<'_> {
    fn command(&self, credential: Option<&GitCredential>) -> Command {
        // git must not outlive a server killed mid-clone (it would go on writing into a folder
        // the next start cleans up), so it gets SIGKILL when its parent dies.
        let mut cmd = if std::path::Path::new(SETPRIV).exists() {
            let mut c = Command::new(SETPRIV);
            c.args(["--pdeathsig", "KILL", "--", "git"]);
            c
        } else {
            Command::new("git")
        };
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()))
            .env("LC_ALL", "C")
            .env("HOME", "/nonexistent")
            .env("GIT_ALLOW_PROTOCOL", self.policy.git_allow_protocol())
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_HTTP_LOW_SPEED_LIMIT", "1000")
            .env("GIT_HTTP_LOW_SPEED_TIME", "30")
            .env(
                "GIT_SSH_COMMAND",
                format!(
                    "ssh -o BatchMode=yes -o ConnectTimeout=15 -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile={}",
                    self.known_hosts.display()
                ),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(credential) = credential {
            cmd.envs(crate::git::credential_env(credential));
        }
        cmd
    }

    async fn run(&self, mut cmd: Command, what: &str) -> Result<String, CloneError> {
        let child = cmd
            .spawn()
            .map_err(|e| CloneError(format!("cannot run git on the server: {e}")))?;
        let out = tokio::time::timeout(self.timeout, child.wait_with_output())
            .await
            .map_err(|_| {
                CloneError(format!(
                    "{what} took longer than {} seconds and was stopped",
                    self.timeout.as_secs()
                ))
            })?
            .map_err(|e| CloneError(format!("cannot run git on the server: {e}")))?;
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        Err(CloneError(explain(&String::from_utf8_lossy(&out.stderr))))
    }

    /// Clones `url` bare into `dest`, which must not exist. With `branch`, that branch must
    /// exist upstream and becomes HEAD.
    pub async fn clone_bare(
        &self,
        url: &RepositoryUrl,
        branch: Option<&BranchName>,
        dest: &Path,
        credential: Option<&GitCredential>,
    ) -> Result<(), CloneError> {
        let mut cmd = self.command(credential);
        cmd.args(["clone", "--bare", "--quiet"]);
        // A local path goes through git's own transport (upload-pack over `file`, allowed
        // by GIT_ALLOW_PROTOCOL only when local roots are set), never the copy of `--local`:
        // no hard link to the source's files (which the chown to the sandbox user would
        // re-own), no copy of whatever links its `objects` holds. Only objects reachable
        // from the source's refs come over, as packs; git refuses a source owned by another
        // user (safe.directory), a container's clone included.
        if url.kind() == RepositoryKind::Local {
            cmd.arg("--no-local");
        }
        if let Some(b) = branch {
            cmd.args(["--branch", b.as_str()]);
        }
        cmd.args([
            "--config",
            "remote.origin.fetch=+refs/heads/*:refs/remotes/origin/*",
        ]);
        cmd.arg("--end-of-options").arg(url.as_str()).arg(dest);
        self.run(cmd, "cloning the repository").await.map(drop)
    }

    /// A new bare repository whose HEAD is `branch`.
    pub async fn init_bare(&self, branch: &BranchName, dest: &Path) -> Result<(), CloneError> {
        let mut cmd = self.command(None);
        cmd.args(["init", "--bare", "--quiet"])
            .arg(format!("--initial-branch={branch}"))
            .arg(dest);
        self.run(cmd, "creating the repository").await.map(drop)
    }

    /// Gives a repository without commits a first, empty commit on `branch`, so that a
    /// worktree can be made of it. Only for a fresh repository no container has seen.
    pub async fn initial_commit(
        &self,
        repo: &Path,
        branch: &BranchName,
        author: (&str, &str),
    ) -> Result<(), CloneError> {
        let with_author = |mut cmd: Command| {
            cmd.env("GIT_AUTHOR_NAME", author.0)
                .env("GIT_AUTHOR_EMAIL", author.1)
                .env("GIT_COMMITTER_NAME", author.0)
                .env("GIT_COMMITTER_EMAIL", author.1)
                .arg("-C")
                .arg(repo);
            cmd
        };
        let mut cmd = with_author(self.command(None));
        cmd.args(["hash-object", "-t", "tree", "-w", "--stdin"]);
        cmd.stdin(Stdio::null());
        let tree = self
            .run(cmd, "creating the first commit")
            .await?
            .trim()
            .to_owned();
        let mut cmd = with_author(self.command(None));
        cmd.args(["commit-tree", &tree, "-m", "Initial commit"]);
        let commit = self
            .run(cmd, "creating the first commit")
            .await?
            .trim()
            .to_owned();
        let mut cmd = with_author(self.command(None));
        cmd.args(["update-ref", &format!("refs/heads/{branch}"), &commit]);
        self.run(cmd, "creating the first commit").await.map(drop)
    }
}

/// Turns git's stderr (in the C locale) into a sentence a person can act on.
fn explain(stderr: &str) -> String {
    let has = |needle: &str| stderr.contains(needle);
    let missing_branch = stderr
        .split("Remote branch ")
        .nth(1)
        .and_then(|r| r.split(" not found").next());
    match (RemoteTrouble::of(stderr), missing_branch) {
        (Some(RemoteTrouble::NoSuchHost), _) => {
            "cannot reach the repository: its host name does not resolve; check the URL".into()
        }
        (Some(RemoteTrouble::NoAnswer), _) => {
            "cannot reach the repository: its host does not answer; check the URL and that the host is up".into()
        }
        (Some(RemoteTrouble::Credentials), _) => {
            "the repository needs credentials: it is private, so link a GitHub account that can read it"
                .into()
        }
        (_, Some(branch)) => format!("the branch {branch} does not exist in the repository"),
        (Some(RemoteTrouble::NotFound), None) => {
            "the repository does not exist, or it is private and no linked account can read it"
                .into()
        }
        (None, None) if has("No space left on device") => {
            "the server is out of disk space; free some and start the environment again".into()
        }
        (None, None) if has("transport") && has("not allowed") => {
            "this kind of repository address is not allowed on this server".into()
        }
        (None, None) => {
            let last = stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("git failed without a message");
            format!("git failed: {}", last.trim().trim_start_matches("fatal: "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::explain;

    #[test]
    fn git_errors_become_sentences() {
        assert!(explain("fatal: unable to access 'https://nope.invalid/x/': Could not resolve host: nope.invalid").contains("does not resolve"));
        assert!(explain("fatal: unable to access 'http://127.0.0.1:9/x/': Failed to connect to 127.0.0.1 port 9").contains("does not answer"));
        assert_eq!(
            explain(
                "warning: Could not find remote branch nope to clone.\nfatal: Remote branch nope not found in upstream origin"
            ),
            "the branch nope does not exist in the repository"
        );
        assert!(
            explain(
                "fatal: could not read Username for 'https://github.com': terminal prompts disabled"
            )
            .contains("private")
        );
    }
}
