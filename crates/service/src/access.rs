//! The one place that decides who may reach what (invariant I5): an object is reachable by
//! its owner and by admins; to anyone else it does not exist.

use craftastic_domain::{AgentId, DeploymentId, EnvironmentId, ErrorCode, SessionId, UserId};
use craftastic_store::{Agent, Deployment, Environment, EnvironmentStatus, Session, Store};

use crate::tokens::Principal;
use crate::{ServiceError, ServiceResult};

/// Whether `who` may act on things owned by `owner`.
pub async fn may_access(store: &dyn Store, who: Principal, owner: UserId) -> ServiceResult<bool> {
    if who.user_id == owner {
        return Ok(true);
    }
    Ok(store
        .get_user(who.user_id)
        .await?
        .is_some_and(|u| u.is_admin))
}

/// The environment if `who` may reach it; 404 otherwise.
pub async fn environment(
    store: &dyn Store,
    who: Principal,
    id: EnvironmentId,
) -> ServiceResult<Environment> {
    match store.get_environment(id).await? {
        Some(env) if may_access(store, who, env.user_id).await? => Ok(env),
        _ => Err(ServiceError::NotFound("environment")),
    }
}

/// The environment if `who` may change its settings: as [`environment`], and not being
/// deleted (409 `not_ready`).
pub async fn changeable_environment(
    store: &dyn Store,
    who: Principal,
    id: EnvironmentId,
) -> ServiceResult<Environment> {
    let env = environment(store, who, id).await?;
    if env.status == EnvironmentStatus::Deleting {
        return Err(ServiceError::Conflict {
            code: ErrorCode::NotReady,
            message: "the environment is being deleted; its settings no longer change".into(),
        });
    }
    Ok(env)
}

/// The session and its environment if `who` may reach them; 404 otherwise.
pub async fn session(
    store: &dyn Store,
    who: Principal,
    id: SessionId,
) -> ServiceResult<(Session, Environment)> {
    let found = match store.get_session(id).await? {
        Some(session) => store
            .get_environment(session.environment_id)
            .await?
            .map(|env| (session, env)),
        None => None,
    };
    match found {
        Some((session, env)) if may_access(store, who, env.user_id).await? => Ok((session, env)),
        _ => Err(ServiceError::NotFound("session")),
    }
}

/// The deployment and its environment if `who` may reach them; 404 otherwise.
pub async fn deployment(
    store: &dyn Store,
    who: Principal,
    id: DeploymentId,
) -> ServiceResult<(Deployment, Environment)> {
    let found = match store.get_deployment(id).await? {
        Some(deployment) => store
            .get_environment(deployment.environment_id)
            .await?
            .map(|env| (deployment, env)),
        None => None,
    };
    match found {
        Some((deployment, env)) if may_access(store, who, env.user_id).await? => {
            Ok((deployment, env))
        }
        _ => Err(ServiceError::NotFound("deployment")),
    }
}

/// Fails with 403 unless `who` is an admin (for server-wide operations, not objects).
pub async fn require_admin(store: &dyn Store, who: Principal) -> ServiceResult<()> {
    match store.get_user(who.user_id).await? {
        Some(u) if u.is_admin => Ok(()),
        _ => Err(ServiceError::Forbidden {
            code: ErrorCode::AdminOnly,
            message: "only an admin may do this".into(),
        }),
    }
}

/// The agent if `who` may reach it; 404 otherwise.
pub async fn agent(store: &dyn Store, who: Principal, id: AgentId) -> ServiceResult<Agent> {
    match store.get_agent(id).await? {
        Some(agent) if may_access(store, who, agent.user_id).await? => Ok(agent),
        _ => Err(ServiceError::NotFound("agent")),
    }
}
