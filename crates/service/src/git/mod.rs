//! Git in a workspace: status, diff, log, commit and push, run inside the workspace's
//! container as its user (invariant I3: never on the host against a repository a container
//! can write). Every command goes through [`Git::run`]: an argument vector, the C locale, no
//! prompts, a time limit, and credentials only in that one process's environment.

pub mod log;
mod outcome;
pub mod porcelain;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use craftastic_domain::{
    BranchName, CommitMessage, EnvironmentId, RemoteName, RepoPath, SessionId, WorkspaceId,
};
use craftastic_runtime::{ExecOutput, ExecSpec, Runtime, RuntimeError};
use craftastic_store::{Environment, Session, SessionStatus, Store, Workspace, WorkspaceStatus};
use serde_json::json;
use uuid::Uuid;

use crate::github::{GitCredential, Github};
use crate::sandbox::{SandboxSettings, WORKSPACE_DIR};
use crate::tokens::Principal;
use crate::{ServiceError, ServiceResult, access};
pub(crate) use outcome::RemoteTrouble;
use outcome::*;

/// The most diff text one answer carries; the rest is cut and the answer says so.
pub const DIFF_CAP: usize = 512 * 1024;
/// The most commits one page of the log holds.
pub const LOG_MAX: u32 = 100;

/// Reads and writes are bounded; a push or a hook may take longer than a status.
const READ_LIMIT: Duration = Duration::from_secs(30);
const WRITE_LIMIT: Duration = Duration::from_secs(120);
/// Bytes of git's standard output kept; a longer answer (a huge status, say) is refused
/// rather than buffered, whatever the workspace holds.
const OUTPUT_LIMIT: usize = 16 << 20;

/// The status, and the distance from the branch of the same name on `origin` when the
/// branch has no upstream yet (a fresh clone's branches, before their first push here).
const STATUS_SCRIPT: &str = r#"git status --porcelain=v2 --branch -z --untracked-files=all || exit
if ! git rev-parse --verify --quiet '@{upstream}' >/dev/null 2>&1; then
    b=$(git symbolic-ref --quiet --short HEAD) || exit 0
    git rev-parse --verify --quiet "refs/remotes/origin/$b" >/dev/null || exit 0
    printf '# craftastic.base origin/%s %s\0' "$b" \
        "$(git rev-list --left-right --count "HEAD...refs/remotes/origin/$b" | tr '\t' ' ')"
fi
exit 0"#;

/// `$1` the cap + 1, `$2` 1 for the index, `$3`/`$4` the pathspec and the path of one file.
/// A file that git does not track is shown as new. Exit 141 (git cut off by `head`) is fine.
const DIFF_SCRIPT: &str = r#"set -o pipefail
cap=$1 staged=$2 spec=${3-} path=${4-}
args=(diff --no-color --no-ext-diff)
[ "$staged" = 1 ] && args+=(--cached)
noindex=0
if [ -n "$path" ] && [ "$staged" != 1 ] && [ -e "$path" ] &&
    ! git ls-files --error-unmatch -- "$spec" >/dev/null 2>&1; then
    noindex=1
    args+=(--no-index -- /dev/null "$path")
elif [ -n "$spec" ]; then
    args+=(-- "$spec")
fi
git "${args[@]}" | head -c "$cap"
code=${PIPESTATUS[0]}
if [ "$noindex" = 1 ] && [ "$code" = 1 ]; then exit 0; fi
if [ "$code" = 141 ]; then exit 0; fi
exit "$code""#;

/// `$1` commits to skip, `$2` commits to show. A branch without commits has no log.
const LOG_SCRIPT: &str = r#"git rev-parse --verify --quiet HEAD >/dev/null || exit 0
exec git log --no-color "$LOG_FORMAT" --skip="$1" -n "$2" HEAD --"#;

/// Stages the given pathspecs (every change when none) and commits them with the message
/// on stdin; prints the new commit. Pathspecs after `--renamed--` (the old names of renamed
/// files, gone from the worktree) are committed without staging. Exit 3: a pathspec
/// matched nothing.
const COMMIT_SCRIPT: &str = r#"add=() old=() after=
for a in "$@"; do
    if [ "$a" = --renamed-- ]; then after=1; elif [ -n "$after" ]; then old+=("$a"); else add+=("$a"); fi
done
if [ ${#add[@]} -gt 0 ]; then
    git add -A -- "${add[@]}" || exit 3
    git commit --quiet -F - --only -- "${add[@]}" "${old[@]}" || exit
else
    git add -A || exit
    git commit --quiet -F - || exit
fi
git rev-parse HEAD"#;

/// Checks the remote (and the branch, unless empty) of a push or fetch and prints the
/// remote's URL. Exit 90: no such remote (the remotes on stderr); 91: no such branch.
const REMOTE_CHECK_SCRIPT: &str = r#"remote=$1 branch=$2
if ! git remote | grep -qxF -- "$remote"; then git remote | tr '\n' ' ' >&2; exit 90; fi
if [ -n "$branch" ]; then git show-ref --verify --quiet "refs/heads/$branch" || exit 91; fi
git remote get-url --push "$remote""#;

const PUSH_SCRIPT: &str =
    r#"exec git push --porcelain --set-upstream "$1" "refs/heads/$2:refs/heads/$2""#;

const FETCH_SCRIPT: &str = r#"exec git fetch --quiet --prune "$1""#;

/// The variable that holds a push's token in the environment of that one git process.
const TOKEN_VAR: &str = "CRAFTASTIC_GIT_TOKEN";

/// A git credential helper that answers with the token from [`TOKEN_VAR`]; given through
/// `GIT_CONFIG_*` and scoped to one URL prefix, so git hands the token to no other host.
const CREDENTIAL_HELPER: &str = r#"!f() { test "$1" = get || exit 0; echo username=x-access-token; echo "password=$CRAFTASTIC_GIT_TOKEN"; }; f"#;

/// What a git operation acts on: a session's workspace, or an environment's default-branch
/// workspace (the seed's environment-scoped routes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Session(SessionId),
    Environment(EnvironmentId),
    /// A session id or, when no session has it, an environment id.
    Either(Uuid),
}

#[derive(Debug, Clone)]
pub struct Status {
    pub branch: Option<String>,
    pub upstream: Option<String>,
    pub ahead: u64,
    pub behind: u64,
    pub files: Vec<porcelain::FileStatus>,
}

#[derive(Debug, Clone)]
pub struct Diff {
    pub diff: String,
    pub truncated: bool,
    pub binary: bool,
}

#[derive(Debug, Clone)]
pub struct LogPage {
    pub commits: Vec<log::Commit>,
    pub has_more: bool,
}

#[derive(Debug, Clone)]
pub struct Pushed {
    pub remote: RemoteName,
    pub branch: BranchName,
}

#[derive(Debug, Clone)]
pub struct RepoInfo {
    pub repository_url: Option<String>,
    pub default_branch: BranchName,
    pub branches: Vec<String>,
    /// Each branch that has a workspace, with the sessions in it.
    pub worktrees: Vec<(BranchName, Vec<SessionId>)>,
}

/// The workspace an operation runs in, found and checked.
struct Place {
    env: Environment,
    session: Option<Session>,
    workspace: WorkspaceId,
    branch: BranchName,
    container: String,
}

impl Place {
    fn target(&self) -> String {
        self.session
            .as_ref()
            .map_or_else(|| self.env.id.to_string(), |s| s.id.to_string())
    }
}

#[derive(Clone)]
pub struct Git {
    store: Arc<dyn Store>,
    runtime: Arc<dyn Runtime>,
    settings: Arc<SandboxSettings>,
    github: Github,
    /// Commits and pushes of one workspace run one at a time.
    locks: Arc<Mutex<HashMap<WorkspaceId, Arc<tokio::sync::Mutex<()>>>>>,
}

impl Git {
    pub fn new(
        store: Arc<dyn Store>,
        runtime: Arc<dyn Runtime>,
        settings: Arc<SandboxSettings>,
        github: Github,
    ) -> Self {
        Self {
            store,
            runtime,
            settings,
            github,
            locks: Arc::default(),
        }
    }

    /// The one way git runs: `bash -c script` inside the workspace container at the top of
    /// the worktree, killed after `limit`, in the C locale and never prompting.
    async fn run(
        &self,
        container: &str,
        script: &str,
        args: &[&str],
        stdin: Option<Vec<u8>>,
        env: Vec<String>,
        limit: Duration,
    ) -> ServiceResult<ExecOutput> {
        let mut cmd: Vec<String> = [
            "timeout",
            "-k",
            "5",
            &limit.as_secs().to_string(),
            "bash",
            "-c",
            script,
            "git",
        ]
        .map(str::to_owned)
        .into();
        cmd.extend(args.iter().map(|a| (*a).to_owned()));
        let mut vars: Vec<String> = [
            "LC_ALL=C",
            "GIT_TERMINAL_PROMPT=0",
            "GIT_PAGER=cat",
            "GIT_HTTP_LOW_SPEED_LIMIT=1000",
            "GIT_HTTP_LOW_SPEED_TIME=30",
            "GIT_SSH_COMMAND=ssh -o BatchMode=yes -o ConnectTimeout=15",
        ]
        .map(str::to_owned)
        .into();
        vars.push(format!("LOG_FORMAT={}", log::FORMAT));
        vars.extend(env);
        let out = self
            .runtime
            .exec(
                container,
                ExecSpec {
                    cmd,
                    workdir: Some(WORKSPACE_DIR.to_owned()),
                    env: vars,
                    stdin,
                    // `timeout` inside the container ends git first; the server's deadline
                    // holds even when something there keeps the output open or is stopped.
                    deadline: Some(limit + Duration::from_secs(10)),
                    stdout_limit: Some(OUTPUT_LIMIT),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| match e {
                RuntimeError::Deadline(_) => ServiceError::Upstream(format!(
                    "git took longer than {} seconds in the workspace and was stopped",
                    limit.as_secs()
                )),
                other => other.into(),
            })?;
        if out.code == 124 || out.code == 137 {
            return Err(ServiceError::Upstream(format!(
                "git took longer than {} seconds in the workspace and was stopped",
                limit.as_secs()
            )));
        }
        if out.stdout_cut {
            return Err(ServiceError::Conflict {
                code: "output_too_large",
                message: format!(
                    "git printed more than {} MiB; the answer would be cut, so none is given",
                    OUTPUT_LIMIT >> 20
                ),
            });
        }
        Ok(out)
    }

    /// Runs a script that only reads: git takes no optional lock that could get in the way
    /// of the user's own git in the terminal.
    async fn read(
        &self,
        container: &str,
        script: &str,
        args: &[&str],
    ) -> ServiceResult<ExecOutput> {
        self.run(
            container,
            script,
            args,
            None,
            vec!["GIT_OPTIONAL_LOCKS=0".into()],
            READ_LIMIT,
        )
        .await
    }

    /// Finds the workspace of `target` and checks that `who` may reach it and that its
    /// container runs. Writing also needs the session to be alive.
    async fn place(&self, who: Principal, target: Target, writing: bool) -> ServiceResult<Place> {
        let store = self.store.as_ref();
        let (env, session) = match target {
            Target::Session(id) => {
                let (s, e) = access::session(store, who, id).await?;
                (e, Some(s))
            }
            Target::Environment(id) => (access::environment(store, who, id).await?, None),
            Target::Either(id) => match access::session(store, who, SessionId(id)).await {
                Ok((s, e)) => (e, Some(s)),
                Err(ServiceError::NotFound(_)) => (
                    access::environment(store, who, EnvironmentId(id))
                        .await
                        .map_err(|_| ServiceError::NotFound("session or environment"))?,
                    None,
                ),
                Err(e) => return Err(e),
            },
        };
        if writing
            && session
                .as_ref()
                .is_some_and(|s| s.status == SessionStatus::Dead)
        {
            return Err(ServiceError::Conflict {
                code: "session_ended",
                message: "this session has ended; restart it (or use another session of its branch) before committing or pushing".into(),
            });
        }
        let branch = session
            .as_ref()
            .map_or_else(|| env.branch.clone(), |s| s.git_branch.clone());
        let not_running = || ServiceError::Conflict {
            code: "not_running",
            message: format!(
                "the workspace of {branch} is not running; start the environment (or open a session on {branch}) first"
            ),
        };
        let ws: Workspace = store
            .get_workspace(env.id, &branch)
            .await?
            .ok_or_else(not_running)?;
        let container = match (&ws.container_id, ws.status) {
            (Some(id), WorkspaceStatus::Running) => self
                .runtime
                .inspect(id)
                .await?
                .filter(|c| c.running)
                .map(|c| c.id),
            _ => None,
        }
        .ok_or_else(not_running)?;
        Ok(Place {
            env,
            session,
            workspace: ws.id,
            branch,
            container,
        })
    }

    fn lock(&self, ws: WorkspaceId) -> Arc<tokio::sync::Mutex<()>> {
        self.locks
            .lock()
            .expect("git locks")
            .entry(ws)
            .or_default()
            .clone()
    }

    /// The branch, its distance from upstream, and every changed file (untracked ones
    /// included, ignored ones not).
    pub async fn status(&self, who: Principal, target: Target) -> ServiceResult<Status> {
        let place = self.place(who, target, false).await?;
        let out = self.read(&place.container, STATUS_SCRIPT, &[]).await?;
        if out.code != 0 {
            return Err(failed("reading the status", &out));
        }
        let (raw, base) = split_base(&out.stdout);
        let parsed = porcelain::parse(raw).map_err(ServiceError::Internal)?;
        let (upstream, ahead, behind) = match (parsed.upstream, base) {
            (Some(u), _) => (Some(u), parsed.ahead, parsed.behind),
            (None, Some(b)) => (Some(b.0), b.1, b.2),
            (None, None) => (None, 0, 0),
        };
        Ok(Status {
            branch: parsed.branch,
            upstream,
            ahead,
            behind,
            files: parsed.files,
        })
    }

    /// The diff of the worktree against the index (or of the index against HEAD with
    /// `staged`), of one file or all; cut at [`DIFF_CAP`] bytes.
    /// Fails: the file is not in the worktree's changes → the diff is empty (not an error).
    pub async fn diff(
        &self,
        who: Principal,
        target: Target,
        file: Option<&RepoPath>,
        staged: bool,
    ) -> ServiceResult<Diff> {
        let place = self.place(who, target, false).await?;
        let cap = (DIFF_CAP + 1).to_string();
        let spec = file.map(RepoPath::pathspec);
        let mut args = vec![cap.as_str(), if staged { "1" } else { "0" }];
        if let (Some(spec), Some(file)) = (&spec, file) {
            args.extend([spec.as_str(), file.as_str()]);
        }
        let out = self.read(&place.container, DIFF_SCRIPT, &args).await?;
        if out.code != 0 {
            return Err(failed("reading the diff", &out));
        }
        Ok(cut_diff(out.stdout))
    }

    /// How many files of a workspace's worktree differ from its last commit (untracked
    /// ones included), for deciding whether the workspace may go.
    pub(crate) async fn changed_files(&self, container: &str) -> ServiceResult<usize> {
        Ok(self.changes(container).await?.files.len())
    }

    /// The files that differ from the last commit, untracked ones included.
    async fn changes(&self, container: &str) -> ServiceResult<porcelain::Status> {
        let out = self
            .read(
                container,
                "git status --porcelain=v2 -z --untracked-files=normal",
                &[],
            )
            .await?;
        if out.code != 0 {
            return Err(failed("reading the changes", &out));
        }
        porcelain::parse(&out.stdout).map_err(ServiceError::Internal)
    }

    /// Commits of the branch, newest first: `limit` of them after skipping `offset`.
    pub async fn log(
        &self,
        who: Principal,
        target: Target,
        limit: u32,
        offset: u32,
    ) -> ServiceResult<LogPage> {
        let place = self.place(who, target, false).await?;
        let limit = limit.clamp(1, LOG_MAX);
        let out = self
            .read(
                &place.container,
                LOG_SCRIPT,
                &[&offset.to_string(), &(limit + 1).to_string()],
            )
            .await?;
        if out.code != 0 {
            return Err(failed("reading the log", &out));
        }
        let mut commits = log::parse(&out.stdout).map_err(ServiceError::Internal)?;
        let has_more = commits.len() > limit as usize;
        commits.truncate(limit as usize);
        Ok(LogPage { commits, has_more })
    }

    /// Commits the given files (every change, untracked files included, when `files` is
    /// empty) with `message`, authored by `who`'s name and email. Returns the new commit.
    /// Before: the workspace runs and its session is not dead. After: HEAD is the commit.
    /// Fails: session dead → 409 `session_ended`; not running → 409 `not_running`; nothing
    /// changed → 409 `nothing_to_commit`; a file matches nothing → 422; git refuses (a hook,
    /// a lock, a conflict) → 409 `git_failed` with git's words.
    pub async fn commit(
        &self,
        who: Principal,
        target: Target,
        message: &CommitMessage,
        files: &[RepoPath],
    ) -> ServiceResult<String> {
        let place = self.place(who, target, true).await?;
        let user = self
            .store
            .get_user(who.user_id)
            .await?
            .ok_or(ServiceError::NotFound("user"))?;
        let identity = [
            format!("GIT_AUTHOR_NAME={}", user.name),
            format!("GIT_AUTHOR_EMAIL={}", user.email),
            format!("GIT_COMMITTER_NAME={}", user.name),
            format!("GIT_COMMITTER_EMAIL={}", user.email),
        ];
        let mut renamed = Vec::new();
        if !files.is_empty() {
            // A renamed file is two paths to git: committing only its new name would leave
            // the removal of the old one staged.
            for f in self.changes(&place.container).await?.files {
                if let Some(original) = f.original_path
                    && files.iter().any(|p| p.as_str() == f.path)
                    && let Ok(original) = RepoPath::parse("files", &original)
                    && !files.contains(&original)
                {
                    renamed.push(original);
                }
            }
        }
        let mut specs: Vec<String> = files.iter().map(RepoPath::pathspec).collect();
        if !renamed.is_empty() {
            specs.push("--renamed--".into());
            specs.extend(renamed.iter().map(RepoPath::pathspec));
        }
        let args: Vec<&str> = specs.iter().map(String::as_str).collect();
        let lock = self.lock(place.workspace);
        let _guard = lock.lock().await;
        let started = Instant::now();
        let out = self
            .run(
                &place.container,
                COMMIT_SCRIPT,
                &args,
                Some(format!("{}\n", message.as_str()).into_bytes()),
                identity.into(),
                WRITE_LIMIT,
            )
            .await;
        let result = out.and_then(|out| commit_outcome(&out, files));
        self.audit(
            who,
            "git.commit",
            &place,
            &result,
            started,
            |hash| json!({ "hash": hash, "files": files.len() }),
        )
        .await;
        result
    }

    /// Pushes `branch` (the workspace's when left out) to `remote` (`origin` when left out)
    /// and makes it the branch's upstream. A linked GitHub token goes to git through a
    /// credential helper in that one process's environment, never in an argument or a file.
    /// Fails: session dead → 409 `session_ended`; no such remote or branch → 422; the remote
    /// has commits the branch lacks, or refuses → 409 `push_rejected` with git's reason;
    /// unreachable or credentials refused → 502.
    pub async fn push(
        &self,
        who: Principal,
        target: Target,
        remote: Option<RemoteName>,
        branch: Option<BranchName>,
    ) -> ServiceResult<Pushed> {
        let place = self.place(who, target, true).await?;
        let remote = remote.unwrap_or_else(RemoteName::origin);
        let branch = branch.unwrap_or_else(|| place.branch.clone());
        let lock = self.lock(place.workspace);
        let _guard = lock.lock().await;
        let started = Instant::now();
        let result = self.push_locked(who, &place, &remote, &branch).await;
        self.audit(
            who,
            "git.push",
            &place,
            &result,
            started,
            |p| json!({ "remote": p.remote, "branch": p.branch }),
        )
        .await;
        result
    }

    async fn push_locked(
        &self,
        who: Principal,
        place: &Place,
        remote: &RemoteName,
        branch: &BranchName,
    ) -> ServiceResult<Pushed> {
        let env = self.remote_env(who, place, remote, Some(branch)).await?;
        let out = self
            .run(
                &place.container,
                PUSH_SCRIPT,
                &[remote.as_str(), branch.as_str()],
                None,
                env,
                WRITE_LIMIT,
            )
            .await?;
        push_outcome(&out, branch)?;
        Ok(Pushed {
            remote: remote.clone(),
            branch: branch.clone(),
        })
    }

    /// Fetches `remote` (`origin` when left out), so that the status counts what the remote
    /// has that the branch lacks, and `git rebase origin/<branch>` in a terminal needs no
    /// credentials. A linked GitHub token is given as for a push.
    /// Fails: no such remote → 422; unreachable or credentials refused → 502.
    pub async fn fetch(
        &self,
        who: Principal,
        target: Target,
        remote: Option<RemoteName>,
    ) -> ServiceResult<RemoteName> {
        let place = self.place(who, target, false).await?;
        let remote = remote.unwrap_or_else(RemoteName::origin);
        let lock = self.lock(place.workspace);
        let _guard = lock.lock().await;
        let started = Instant::now();
        let result = async {
            let env = self.remote_env(who, &place, &remote, None).await?;
            let out = self
                .run(
                    &place.container,
                    FETCH_SCRIPT,
                    &[remote.as_str()],
                    None,
                    env,
                    WRITE_LIMIT,
                )
                .await?;
            if out.code != 0 {
                return Err(ServiceError::Upstream(remote_failure(
                    "fetch",
                    &out.stderr_str(),
                )));
            }
            Ok(remote.clone())
        }
        .await;
        self.audit(
            who,
            "git.fetch",
            &place,
            &result,
            started,
            |r| json!({ "remote": r }),
        )
        .await;
        result
    }

    /// Checks that the remote (and the branch) exist, and gives the environment for git:
    /// the linked GitHub token when the remote is on that GitHub.
    async fn remote_env(
        &self,
        who: Principal,
        place: &Place,
        remote: &RemoteName,
        branch: Option<&BranchName>,
    ) -> ServiceResult<Vec<String>> {
        let checked = self
            .run(
                &place.container,
                REMOTE_CHECK_SCRIPT,
                &[remote.as_str(), branch.map_or("", BranchName::as_str)],
                None,
                Vec::new(),
                READ_LIMIT,
            )
            .await?;
        match checked.code {
            0 => {}
            90 => {
                let known = checked.stderr_str();
                let known = known.trim();
                return Err(craftastic_domain::ValidationError::new(
                    "remote",
                    if known.is_empty() {
                        format!("the repository has no remote named {remote}, and no remote at all")
                    } else {
                        format!("the repository has no remote named {remote}; its remotes: {known}")
                    },
                )
                .into());
            }
            91 => {
                return Err(craftastic_domain::ValidationError::new(
                    "branch",
                    format!(
                        "the repository has no branch {} to push",
                        branch.map_or("", BranchName::as_str)
                    ),
                )
                .into());
            }
            _ => return Err(failed("checking the remote", &checked)),
        }
        let url = checked.stdout_str().trim().to_owned();
        Ok(match self.github.credential_for(who.user_id, &url).await? {
            Some(credential) => credential_env(&credential)
                .into_iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
            None => Vec::new(),
        })
    }

    /// The environment's repository: its URL, its default branch, every branch, and which
    /// branches have a workspace with which sessions. Read from the bare clone's refs
    /// without running git, so it answers while the environment is stopped too, and through
    /// [`crate::untrusted`], since any container of the environment can write them.
    pub async fn repo(&self, who: Principal, env: EnvironmentId) -> ServiceResult<RepoInfo> {
        let env = access::environment(self.store.as_ref(), who, env).await?;
        let repo = self.settings.repo_path(env.id);
        let branches = tokio::task::spawn_blocking(move || crate::untrusted::branches(&repo))
            .await
            .map_err(|e| ServiceError::Internal(format!("listing branches: {e}")))?;
        let mut worktrees: BTreeMap<BranchName, Vec<SessionId>> = self
            .store
            .list_workspaces(Some(env.id))
            .await?
            .into_iter()
            .map(|ws| (ws.branch, Vec::new()))
            .collect();
        for s in self.store.list_sessions(Some(env.id)).await? {
            worktrees.entry(s.git_branch).or_default().push(s.id);
        }
        Ok(RepoInfo {
            repository_url: env.repository_url.map(|u| u.to_string()),
            default_branch: env.branch,
            branches,
            worktrees: worktrees.into_iter().collect(),
        })
    }

    async fn audit<T>(
        &self,
        who: Principal,
        action: &str,
        place: &Place,
        result: &ServiceResult<T>,
        started: Instant,
        details: impl FnOnce(&T) -> serde_json::Value,
    ) {
        let (outcome, mut extra) = match result {
            Ok(v) => ("ok", details(v)),
            Err(e) => ("failed", json!({ "error": e.to_string() })),
        };
        extra["environmentId"] = json!(place.env.id);
        extra["branch"] = json!(place.branch);
        tracing::info!(action, environment = %place.env.id, branch = %place.branch, outcome,
            elapsed_ms = started.elapsed().as_millis() as u64, "git");
        crate::audit::record(
            self.store.as_ref(),
            Some(who.user_id),
            action,
            Some(place.target()),
            outcome,
            extra,
        )
        .await;
    }
}

/// The environment that gives one git process `credential`: a credential helper, scoped to
/// the credential's URL prefix (so git hands the token to no other host), that answers with
/// the token from [`TOKEN_VAR`]. Other helpers are switched off, so none stores the token.
pub(crate) fn credential_env(credential: &GitCredential) -> Vec<(String, String)> {
    let key = format!("credential.{}.helper", credential.url_prefix);
    [
        ("GIT_CONFIG_COUNT", "3".to_owned()),
        ("GIT_CONFIG_KEY_0", "credential.helper".to_owned()),
        ("GIT_CONFIG_VALUE_0", String::new()),
        ("GIT_CONFIG_KEY_1", key.clone()),
        ("GIT_CONFIG_VALUE_1", String::new()),
        ("GIT_CONFIG_KEY_2", key),
        ("GIT_CONFIG_VALUE_2", CREDENTIAL_HELPER.to_owned()),
        (TOKEN_VAR, credential.token.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

#[cfg(test)]
mod tests;
