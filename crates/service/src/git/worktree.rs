//! Reading and committing the worktree: status, diff, log and commit, each one script in
//! the workspace container.

use std::time::Instant;

use craftastic_domain::{CommitMessage, RepoPath};
use serde_json::json;

use super::executor::WRITE_LIMIT;
use super::outcome::{commit_outcome, cut_diff, failed, split_base};
use super::{DIFF_CAP, Diff, Git, LOG_MAX, LogPage, Status, Target, log, porcelain, scripts};
use crate::tokens::Principal;
use crate::{ServiceError, ServiceResult};

impl Git {
    /// The branch, its distance from upstream, and every changed file (untracked ones
    /// included, ignored ones not).
    pub async fn status(&self, who: Principal, target: Target) -> ServiceResult<Status> {
        let place = self.place(who, target, false).await?;
        let out = self.read(&place.container, scripts::STATUS, &[]).await?;
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
        let out = self.read(&place.container, scripts::DIFF, &args).await?;
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
        let out = self.read(container, scripts::CHANGES, &[]).await?;
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
                scripts::LOG,
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
        let _turn = self.locks.lock(place.workspace).await;
        let started = Instant::now();
        let out = self
            .run(
                &place.container,
                scripts::COMMIT,
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
}
