//! Agents and their sealed credentials.

use chrono::{DateTime, Utc};
use craftastic_domain::{AgentId, AgentName, AgentType, CredentialType, UserId};
use craftastic_store::{
    Agent, AgentUpdate, CredentialChange, NewAgent, SealedCredential, StoreError, StoreResult,
};

use crate::db::{Db, Row, Tx, backend, found, query, write_error};

/// An agent with the kind of its credential, if any.
const SELECT: &str = "SELECT a.id, a.user_id, a.name, a.agent_type, a.created_at, \
     a.updated_at, c.credential_type FROM agents a \
     LEFT JOIN agent_credentials c ON c.agent_id = a.id";

fn from_row(row: &Row) -> StoreResult<Agent> {
    let agent_type: String = row.get("agent_type")?;
    let credential_type: Option<String> = row.get("credential_type")?;
    Ok(Agent {
        id: AgentId(row.uuid("id")?),
        user_id: UserId(row.uuid("user_id")?),
        name: AgentName::from_trusted(row.get("name")?),
        agent_type: AgentType::parse(&agent_type)
            .map_err(|_| StoreError::Corrupt(format!("agent type {agent_type:?}")))?,
        credential_type: credential_type
            .map(|t| {
                CredentialType::parse(&t)
                    .map_err(|_| StoreError::Corrupt(format!("credential type {t:?}")))
            })
            .transpose()?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

async fn put_credential(
    tx: &mut Tx,
    id: AgentId,
    credential: &SealedCredential,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    query(
        "INSERT INTO agent_credentials (agent_id, credential_type, sealed_value, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $4)
         ON CONFLICT (agent_id) DO UPDATE SET credential_type = excluded.credential_type,
             sealed_value = excluded.sealed_value, updated_at = excluded.updated_at",
    )
    .bind(id)
    .bind(credential.kind.as_str())
    .bind(&credential.sealed)
    .bind(now)
    .execute(tx)
    .await
    .map_err(backend)?;
    Ok(())
}

async fn read(tx: &mut Tx, id: AgentId) -> StoreResult<Agent> {
    let row = query(format!("{SELECT} WHERE a.id = $1"))
        .bind(id)
        .fetch_one(tx)
        .await
        .map_err(backend)?;
    from_row(&row)
}

pub(crate) async fn create(db: &Db, agent: NewAgent) -> StoreResult<Agent> {
    let mut tx = db.begin().await?;
    query(
        "INSERT INTO agents (id, user_id, name, agent_type, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(agent.id)
    .bind(agent.user_id)
    .bind(agent.name.as_str())
    .bind(agent.agent_type.as_str())
    .bind(agent.now)
    .execute(&mut tx)
    .await
    .map_err(write_error("agent name"))?;
    if let Some(credential) = &agent.credential {
        put_credential(&mut tx, agent.id, credential, agent.now).await?;
    }
    let created = read(&mut tx, agent.id).await?;
    tx.commit().await?;
    Ok(created)
}

pub(crate) async fn get(db: &Db, id: AgentId) -> StoreResult<Option<Agent>> {
    query(format!("{SELECT} WHERE a.id = $1"))
        .bind(id)
        .optional(db, from_row)
        .await
}

pub(crate) async fn list(db: &Db, user: UserId) -> StoreResult<Vec<Agent>> {
    query(format!(
        "{SELECT} WHERE a.user_id = $1 ORDER BY a.created_at, a.id"
    ))
    .bind(user)
    .all(db, from_row)
    .await
}

pub(crate) async fn update(db: &Db, id: AgentId, update: AgentUpdate) -> StoreResult<Agent> {
    let mut tx = db.begin().await?;
    // The UPDATE comes first so that the transaction takes the write lock at once.
    let changed =
        query("UPDATE agents SET name = COALESCE($1, name), updated_at = $2 WHERE id = $3")
            .bind(update.name.as_ref().map(AgentName::as_str))
            .bind(update.now)
            .bind(id)
            .execute(&mut tx)
            .await
            .map_err(write_error("agent name"))?;
    found(changed)?;
    match &update.credential {
        CredentialChange::Keep => {}
        CredentialChange::Set(credential) => {
            put_credential(&mut tx, id, credential, update.now).await?;
        }
        CredentialChange::Remove => {
            query("DELETE FROM agent_credentials WHERE agent_id = $1")
                .bind(id)
                .execute(&mut tx)
                .await
                .map_err(backend)?;
        }
    }
    let updated = read(&mut tx, id).await?;
    tx.commit().await?;
    Ok(updated)
}

pub(crate) async fn delete(db: &Db, id: AgentId) -> StoreResult<()> {
    let changed = query("DELETE FROM agents WHERE id = $1")
        .bind(id)
        .execute(db)
        .await
        .map_err(backend)?;
    found(changed)
}

pub(crate) async fn credential(db: &Db, id: AgentId) -> StoreResult<Option<SealedCredential>> {
    let Some(row) =
        query("SELECT credential_type, sealed_value FROM agent_credentials WHERE agent_id = $1")
            .bind(id)
            .fetch_optional(db)
            .await
            .map_err(backend)?
    else {
        return Ok(None);
    };
    let kind: String = row.get("credential_type")?;
    Ok(Some(SealedCredential {
        kind: CredentialType::parse(&kind)
            .map_err(|_| StoreError::Corrupt(format!("credential type {kind:?}")))?,
        sealed: row.get("sealed_value")?,
    }))
}
