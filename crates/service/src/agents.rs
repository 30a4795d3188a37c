//! Agents: a user's named coding-agent configurations (`claude-code`, `gemini-cli`,
//! `qwen-coder`, `cursor-cli`, `codex`, `opencode`), each with at most one credential. The credential is sealed
//! before it is stored (invariant I4), never answered, and opened only to start the agent's
//! CLI in a session, where [`LaunchPlan`] says how that CLI expects to find it.

use std::sync::Arc;

use chrono::Utc;
use craftastic_domain::{
    AgentCredential, AgentId, AgentName, AgentType, CredentialType, ErrorCode, UserId,
};
use craftastic_store::{
    Agent, AgentUpdate, CredentialChange, NewAgent, SealedCredential, Store, StoreError,
};
use serde_json::json;

use crate::crypto::Cipher;
use crate::tokens::Principal;
use crate::{ServiceError, ServiceResult, access};

mod launch;

pub use launch::{
    CREDENTIAL_FILES, ENV_FILE, LaunchPlan, Place, PrivateFile, STATE_ROOT, session_dir, state_dir,
};

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
            req.agent_type.accepts(credential)?;
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
            agent.agent_type.accepts(c)?;
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
