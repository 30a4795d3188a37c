//! Agents: a user's named coding-agent configurations (`claude-code`, `gemini-cli`,
//! `qwen-coder`, `cursor-cli`), each with at most one credential. The credential is sealed
//! before it is stored (invariant I4), never answered, and opened only to start the agent's
//! CLI in a session, where [`LaunchPlan`] says how that CLI expects to find it.

use std::sync::Arc;

use chrono::Utc;
use craftastic_domain::{
    AgentCredential, AgentId, AgentName, AgentType, CredentialType, ErrorCode, SessionId, UserId,
};
use craftastic_store::{
    Agent, AgentUpdate, CredentialChange, NewAgent, SealedCredential, Store, StoreError,
};
use serde_json::json;

use crate::crypto::Cipher;
use crate::tokens::Principal;
use crate::{ServiceError, ServiceResult, access};

/// What creating an agent asks for; every field already validated.
#[derive(Debug, Clone)]
pub struct NewAgentRequest {
    pub name: AgentName,
    pub agent_type: AgentType,
    pub credential: Option<AgentCredential>,
}

/// What an update does to the agent's credential.
#[derive(Debug, Clone)]
pub enum CredentialUpdate {
    Keep,
    Set(AgentCredential),
    Remove,
}

#[derive(Clone)]
pub struct Agents {
    store: Arc<dyn Store>,
    cipher: Cipher,
}

impl Agents {
    pub fn new(store: Arc<dyn Store>, cipher: Cipher) -> Self {
        Self { store, cipher }
    }

    /// The caller's agents, oldest first.
    pub async fn list(&self, who: Principal) -> ServiceResult<Vec<Agent>> {
        Ok(self.store.list_agents(who.user_id).await?)
    }

    pub async fn get(&self, who: Principal, id: AgentId) -> ServiceResult<Agent> {
        access::agent(self.store.as_ref(), who, id).await
    }

    /// Creates an agent of the caller, with its credential sealed when one is given.
    /// After: the agent is listed; `hasCredential` says whether it has a credential.
    /// Fails: name taken by another of the caller's agents → 409 `name_taken`; a credential
    /// kind the agent's CLI cannot use (an oauth one for cursor-cli) → 422; the caller's
    /// account is gone → 404.
    pub async fn create(&self, who: Principal, req: NewAgentRequest) -> ServiceResult<Agent> {
        if let Some(credential) = &req.credential {
            req.agent_type.accepts(credential.kind())?;
        }
        let id = AgentId::new();
        let agent = self
            .store
            .create_agent(NewAgent {
                id,
                user_id: who.user_id,
                name: req.name.clone(),
                agent_type: req.agent_type,
                credential: req.credential.as_ref().map(|c| self.seal(id, c)),
                now: Utc::now(),
            })
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => name_taken(&req.name),
                StoreError::NotFound => ServiceError::NotFound("user"),
                other => other.into(),
            })?;
        self.audit(
            who,
            "agents.create",
            &agent,
            json!({
                "name": agent.name,
                "type": agent.agent_type.as_str(),
                "credentialType": agent.credential_type.map(CredentialType::as_str),
            }),
        )
        .await;
        Ok(agent)
    }

    /// Renames the agent and/or sets, replaces or removes its credential (one per agent).
    /// Sessions already running keep the credential they started with until they start
    /// again. After: the agent answers with the new name and `credentialType`.
    /// Fails: no such agent, or another user's → 404; name taken → 409 `name_taken`; a
    /// credential kind the agent's CLI cannot use → 422.
    pub async fn update(
        &self,
        who: Principal,
        id: AgentId,
        name: Option<AgentName>,
        credential: CredentialUpdate,
    ) -> ServiceResult<Agent> {
        let agent = access::agent(self.store.as_ref(), who, id).await?;
        if let CredentialUpdate::Set(c) = &credential {
            agent.agent_type.accepts(c.kind())?;
        }
        let name = name.filter(|n| *n != agent.name);
        if name.is_none() && matches!(credential, CredentialUpdate::Keep) {
            return Ok(agent);
        }
        let change = match &credential {
            CredentialUpdate::Keep => CredentialChange::Keep,
            CredentialUpdate::Set(c) => CredentialChange::Set(self.seal(id, c)),
            CredentialUpdate::Remove => CredentialChange::Remove,
        };
        let updated = self
            .store
            .update_agent(
                id,
                AgentUpdate {
                    name: name.clone(),
                    credential: change,
                    now: Utc::now(),
                },
            )
            .await
            .map_err(|e| match (e, &name) {
                (StoreError::Conflict(_), Some(name)) => name_taken(name),
                (StoreError::NotFound, _) => ServiceError::NotFound("agent"),
                (other, _) => other.into(),
            })?;
        if let Some(name) = &name {
            self.audit(
                who,
                "agents.update",
                &updated,
                json!({ "name": name, "previousName": agent.name }),
            )
            .await;
        }
        match &credential {
            CredentialUpdate::Keep => {}
            CredentialUpdate::Set(c) => {
                self.audit(
                    who,
                    "agents.credential",
                    &updated,
                    json!({ "change": "set", "credentialType": c.kind().as_str() }),
                )
                .await;
            }
            CredentialUpdate::Remove => {
                self.audit(
                    who,
                    "agents.credential",
                    &updated,
                    json!({ "change": "removed" }),
                )
                .await;
            }
        }
        Ok(updated)
    }

    /// Deletes the agent and its credential. Sessions that run it keep running; started
    /// again, they open a shell that says the agent is gone.
    /// Fails: no such agent, or another user's → 404.
    pub async fn delete(&self, who: Principal, id: AgentId) -> ServiceResult<()> {
        let agent = access::agent(self.store.as_ref(), who, id).await?;
        self.store.delete_agent(id).await.map_err(|e| match e {
            StoreError::NotFound => ServiceError::NotFound("agent"),
            other => other.into(),
        })?;
        self.audit(
            who,
            "agents.delete",
            &agent,
            json!({ "name": agent.name, "type": agent.agent_type.as_str() }),
        )
        .await;
        Ok(())
    }

    /// The agent `id` of `owner` with its credential opened, to start it in a session of
    /// `owner`'s environment. Another user's agent is 404 here even for an admin: an agent
    /// runs only in its owner's environments.
    pub(crate) async fn for_launch(
        &self,
        owner: UserId,
        id: AgentId,
    ) -> ServiceResult<(Agent, Option<AgentCredential>)> {
        let agent = match self.store.get_agent(id).await? {
            Some(agent) if agent.user_id == owner => agent,
            _ => return Err(ServiceError::NotFound("agent")),
        };
        let credential = match self.store.agent_credential(id).await? {
            Some(sealed) => Some(self.open(id, &sealed)?),
            None => None,
        };
        Ok((agent, credential))
    }

    fn seal(&self, id: AgentId, credential: &AgentCredential) -> SealedCredential {
        SealedCredential {
            kind: credential.kind(),
            sealed: self
                .cipher
                .seal(credential.expose().as_bytes(), &credential_context(id)),
        }
    }

    fn open(&self, id: AgentId, sealed: &SealedCredential) -> ServiceResult<AgentCredential> {
        let plain = self
            .cipher
            .open(&sealed.sealed, &credential_context(id))
            .map_err(|e| {
                ServiceError::Internal(format!("the stored credential of agent {id}: {e}"))
            })?;
        let value = String::from_utf8(plain).map_err(|_| {
            ServiceError::Internal(format!("the stored credential of agent {id} is not text"))
        })?;
        Ok(AgentCredential::from_trusted(sealed.kind, value))
    }

    async fn audit(&self, who: Principal, action: &str, agent: &Agent, details: serde_json::Value) {
        crate::audit::record(
            self.store.as_ref(),
            Some(who.user_id),
            action,
            Some(agent.id.to_string()),
            "ok",
            details,
        )
        .await;
    }
}

/// Where an agent's sealed credential lives; binds the ciphertext to that agent's row.
pub fn credential_context(id: AgentId) -> String {
    format!("agent_credentials:{id}")
}

fn name_taken(name: &AgentName) -> ServiceError {
    ServiceError::Conflict {
        code: ErrorCode::NameTaken,
        message: format!("you already have an agent named {name}; choose another name"),
    }
}

/// The folder of an agent session's private files, relative to the container user's home:
/// the env file the session's shell sources, and the CLI's own config folder when the
/// credential is a file. It is made mode 0700 and removed with the session.
pub fn session_dir(session: SessionId) -> String {
    format!(".craftastic/agents/{}", session.0)
}

/// A file to write in the session's folder before the CLI starts.
pub struct PrivateFile {
    /// Relative to [`session_dir`].
    pub path: &'static str,
    pub content: Vec<u8>,
}

impl std::fmt::Debug for PrivateFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateFile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// How one agent session starts its CLI. Built only from the agent's type and credential:
/// the secret travels in [`PrivateFile`]s (written through an exec's standard input, mode
/// 0600), never in an argument list; what goes on command lines is in `command` and
/// `notice`.
#[derive(Debug)]
pub struct LaunchPlan {
    /// The CLI's command, looked up on `PATH` in the container.
    pub command: &'static str,
    /// The agent type, for messages.
    pub kind: &'static str,
    /// A line the terminal shows before the CLI starts, when there is something to say.
    pub notice: String,
    /// `env` first (sourced by the shell that starts the CLI), then the CLI's own files.
    pub files: Vec<PrivateFile>,
}

/// The name of the env file in the session's folder.
pub const ENV_FILE: &str = "env";

impl LaunchPlan {
    /// Where each CLI expects its credential, as its documentation says:
    /// - claude-code (`claude`): an API key in `ANTHROPIC_API_KEY`, or a long-lived token
    ///   from `claude setup-token` (`sk-ant-oat…`) in `CLAUDE_CODE_OAUTH_TOKEN`; an OAuth
    ///   document in `$CLAUDE_CONFIG_DIR/.credentials.json`.
    /// - gemini-cli (`gemini`): `GEMINI_API_KEY`; OAuth in
    ///   `$GEMINI_CLI_HOME/.gemini/oauth_creds.json`.
    /// - qwen-coder (`qwen`): an OpenAI-compatible key in `OPENAI_API_KEY`; Qwen OAuth in
    ///   `$QWEN_HOME/oauth_creds.json`.
    /// - cursor-cli (`cursor-agent`): `CURSOR_API_KEY`.
    ///
    /// A config folder variable points into the session's own folder, so that sessions of
    /// different agents in one workspace never share or overwrite each other's file.
    pub fn new(
        session: SessionId,
        agent_type: AgentType,
        agent_name: &AgentName,
        credential: Option<&AgentCredential>,
    ) -> Self {
        let (command, key_var, oauth) = match agent_type {
            AgentType::ClaudeCode => (
                "claude",
                "ANTHROPIC_API_KEY",
                Some(("CLAUDE_CONFIG_DIR", "claude", "claude/.credentials.json")),
            ),
            AgentType::GeminiCli => (
                "gemini",
                "GEMINI_API_KEY",
                Some((
                    "GEMINI_CLI_HOME",
                    "gemini",
                    "gemini/.gemini/oauth_creds.json",
                )),
            ),
            AgentType::QwenCoder => (
                "qwen",
                "OPENAI_API_KEY",
                Some(("QWEN_HOME", "qwen", "qwen/oauth_creds.json")),
            ),
            AgentType::CursorCli => ("cursor-agent", "CURSOR_API_KEY", None),
        };
        let mut env = String::from(
            "# Written by Craftastic for one agent session; removed with the session.\n",
        );
        let mut files = Vec::new();
        let mut notice = String::new();
        match credential {
            None => {
                notice = format!(
                    "craftastic: the agent {agent_name} has no credential; {command} may ask you to log in. Add one to the agent and start this session again to skip that."
                );
            }
            Some(c) if c.kind() == CredentialType::ApiKey => {
                let var = if agent_type == AgentType::ClaudeCode
                    && c.expose().starts_with("sk-ant-oat")
                {
                    "CLAUDE_CODE_OAUTH_TOKEN"
                } else {
                    key_var
                };
                env.push_str(&format!("export {var}={}\n", shell_quote(c.expose())));
            }
            Some(c) => match oauth {
                Some((var, folder, path)) => {
                    env.push_str(&format!(
                        "export {var}=\"$HOME/{}/{folder}\"\n",
                        session_dir(session)
                    ));
                    files.push(PrivateFile {
                        path,
                        content: c.expose().as_bytes().to_vec(),
                    });
                }
                None => {
                    notice = format!(
                        "craftastic: {} cannot use an oauth credential; {command} starts without one.",
                        agent_type.as_str()
                    );
                }
            },
        }
        files.insert(
            0,
            PrivateFile {
                path: ENV_FILE,
                content: env.into_bytes(),
            },
        );
        Self {
            command,
            kind: agent_type.as_str(),
            notice,
            files,
        }
    }
}

/// `value` in single quotes for a POSIX shell.
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(t: AgentType, c: Option<(CredentialType, &str)>) -> LaunchPlan {
        let credential = c.map(|(k, v)| AgentCredential::from_trusted(k, v.to_owned()));
        LaunchPlan::new(
            SessionId(uuid::Uuid::nil()),
            t,
            &AgentName::parse("a").unwrap(),
            credential.as_ref(),
        )
    }

    fn env_of(p: &LaunchPlan) -> String {
        assert_eq!(p.files[0].path, ENV_FILE);
        String::from_utf8(p.files[0].content.clone()).unwrap()
    }

    #[test]
    fn api_keys_go_to_each_clis_documented_variable() {
        for (t, var) in [
            (AgentType::ClaudeCode, "ANTHROPIC_API_KEY"),
            (AgentType::GeminiCli, "GEMINI_API_KEY"),
            (AgentType::QwenCoder, "OPENAI_API_KEY"),
            (AgentType::CursorCli, "CURSOR_API_KEY"),
        ] {
            let p = plan(t, Some((CredentialType::ApiKey, "k'1")));
            assert!(
                env_of(&p).contains(&format!("export {var}='k'\\''1'\n")),
                "{}",
                env_of(&p)
            );
            assert_eq!(p.files.len(), 1);
            assert!(!p.notice.contains("k'1") && !p.command.contains("k'1"));
        }
        let token = plan(
            AgentType::ClaudeCode,
            Some((CredentialType::ApiKey, "sk-ant-oat01-x")),
        );
        assert!(env_of(&token).contains("export CLAUDE_CODE_OAUTH_TOKEN='sk-ant-oat01-x'"));
    }

    #[test]
    fn oauth_documents_go_to_the_clis_file_in_the_sessions_own_folder() {
        let p = plan(AgentType::GeminiCli, Some((CredentialType::OAuth, "{}")));
        assert_eq!(p.command, "gemini");
        assert_eq!(p.files[1].path, "gemini/.gemini/oauth_creds.json");
        assert_eq!(p.files[1].content, b"{}");
        assert!(!env_of(&p).contains("{}"));
        assert!(
            env_of(&p).contains(
                "export GEMINI_CLI_HOME=\"$HOME/.craftastic/agents/00000000-0000-0000-0000-000000000000/gemini\"\n"
            ),
            "{}",
            env_of(&p)
        );
        let none = plan(AgentType::QwenCoder, None);
        assert!(none.notice.contains("no credential"), "{}", none.notice);
        assert_eq!(none.files.len(), 1);
    }
}
