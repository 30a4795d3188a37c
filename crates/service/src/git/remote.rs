//! Pushing and fetching: the remote and the branch checked first, and a linked GitHub
//! token handed to that one git process through a credential helper in its environment,
//! never in an argument or a file. The host's first clone gives its token the same way
//! ([`credential_env`]).

use std::time::Instant;

use craftastic_domain::{BranchName, RemoteName};
use serde_json::json;

use super::executor::{READ_LIMIT, WRITE_LIMIT};
use super::outcome::{failed, push_outcome, remote_failure};
use super::place::Place;
use super::{Git, Pushed, Target, scripts};
use crate::github::GitCredential;
use crate::tokens::Principal;
use crate::{ServiceError, ServiceResult};

/// The variable that holds a push's token in the environment of that one git process.
const TOKEN_VAR: &str = "CRAFTASTIC_GIT_TOKEN";

/// A git credential helper that answers with the token from [`TOKEN_VAR`]; given through
/// `GIT_CONFIG_*` and scoped to one URL prefix, so git hands the token to no other host.
const CREDENTIAL_HELPER: &str = r#"!f() { test "$1" = get || exit 0; echo username=x-access-token; echo "password=$CRAFTASTIC_GIT_TOKEN"; }; f"#;

impl Git {
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
        let _turn = self.locks.lock(place.workspace).await;
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
                scripts::PUSH,
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
        let _turn = self.locks.lock(place.workspace).await;
        let started = Instant::now();
        let result = async {
            let env = self.remote_env(who, &place, &remote, None).await?;
            let out = self
                .run(
                    &place.container,
                    scripts::FETCH,
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
                scripts::REMOTE_CHECK,
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
