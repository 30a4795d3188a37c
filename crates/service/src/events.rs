//! What changed, pushed to the user it belongs to: each user has a channel of their own,
//! made when they first listen and dropped with their last listener, so that a change costs
//! nothing when nobody listens and a listener never reads another user's changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use craftastic_domain::{
    ActivityState, DeploymentId, EnvironmentId, SessionId, UserId, WorkspaceId,
};
use craftastic_store::{Change, Observer};
use serde::Serialize;
use tokio::sync::broadcast;

use crate::notifications::Notice;
use crate::{ServiceError, ServiceResult};

/// How many events a listener may fall behind before it is told to read everything again.
const BACKLOG: usize = 256;
/// How many listeners one user may have at once (a browser tab each).
pub const MAX_LISTENERS_PER_USER: usize = 32;

/// A session's activity, as the server last learnt it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    #[serde(serialize_with = "state_name")]
    pub state: ActivityState,
    pub since: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

fn state_name<S: serde::Serializer>(state: &ActivityState, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(state.as_str())
}

/// One change; its name is the SSE event's name, its fields the data.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged, rename_all_fields = "camelCase")]
pub enum Event {
    SessionActivity {
        session_id: SessionId,
        environment_id: EnvironmentId,
        activity: Activity,
    },
    SessionStatus {
        session_id: SessionId,
        environment_id: EnvironmentId,
        status: &'static str,
    },
    EnvironmentStatus {
        environment_id: EnvironmentId,
        status: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    WorkspaceStatus {
        workspace_id: WorkspaceId,
        environment_id: EnvironmentId,
        status: &'static str,
    },
    /// A workspace's devcontainer changed (status or progress log): read it again.
    WorkspaceDevcontainer {
        workspace_id: WorkspaceId,
        environment_id: EnvironmentId,
        status: crate::devcontainer::Status,
    },
    DeploymentStatus {
        deployment_id: DeploymentId,
        environment_id: EnvironmentId,
        status: &'static str,
    },
    /// An agent needs the user (see `notifications`).
    Notification(Notice),
}

impl Event {
    pub fn name(&self) -> &'static str {
        match self {
            Self::SessionActivity { .. } => "session.activity",
            Self::SessionStatus { .. } => "session.status",
            Self::EnvironmentStatus { .. } => "environment.status",
            Self::WorkspaceStatus { .. } => "workspace.status",
            Self::WorkspaceDevcontainer { .. } => "workspace.devcontainer",
            Self::DeploymentStatus { .. } => "deployment.status",
            Self::Notification(_) => "notification",
        }
    }
}

/// The channels of the users who listen. Clones share them.
#[derive(Clone, Default)]
pub struct Events {
    channels: Arc<Mutex<HashMap<UserId, broadcast::Sender<Arc<Event>>>>>,
}

impl Events {
    fn channels(&self) -> MutexGuard<'_, HashMap<UserId, broadcast::Sender<Arc<Event>>>> {
        self.channels.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends `event` to the listeners of `user`, if any.
    pub fn publish(&self, user: UserId, event: Event) {
        let channels = self.channels();
        if let Some(tx) = channels.get(&user) {
            // No receiver left means the last listener is going away; it removes the channel.
            let _ = tx.send(Arc::new(event));
        }
    }

    /// Listens to the changes of `user` until the listener is dropped.
    /// Fails: the user has [`MAX_LISTENERS_PER_USER`] listeners → 429.
    pub fn listen(&self, user: UserId) -> ServiceResult<Listener> {
        let mut channels = self.channels();
        let tx = channels
            .entry(user)
            .or_insert_with(|| broadcast::channel(BACKLOG).0);
        if tx.receiver_count() >= MAX_LISTENERS_PER_USER {
            return Err(ServiceError::RateLimited {
                message: format!(
                    "{MAX_LISTENERS_PER_USER} event streams are open for this account already; close another tab of Craftastic and try again"
                ),
                retry_after: 5,
            });
        }
        let rx = tx.subscribe();
        drop(channels);
        Ok(Listener {
            events: self.clone(),
            user,
            rx: Some(rx),
        })
    }

    /// What the store tells of each status it changes: the change, published to its owner.
    pub fn observer(&self) -> Observer {
        let events = self.clone();
        Arc::new(move |change| {
            let (owner, event) = match change {
                Change::SessionStatus {
                    session,
                    environment,
                    owner,
                    status,
                } => (
                    owner,
                    Event::SessionStatus {
                        session_id: session,
                        environment_id: environment,
                        status: status.as_str(),
                    },
                ),
                Change::EnvironmentStatus {
                    environment,
                    owner,
                    status,
                    error,
                } => (
                    owner,
                    Event::EnvironmentStatus {
                        environment_id: environment,
                        status: status.as_str(),
                        error,
                    },
                ),
                Change::WorkspaceStatus {
                    workspace,
                    environment,
                    owner,
                    status,
                } => (
                    owner,
                    Event::WorkspaceStatus {
                        workspace_id: workspace,
                        environment_id: environment,
                        status: status.as_str(),
                    },
                ),
                Change::DeploymentStatus {
                    deployment,
                    environment,
                    owner,
                    status,
                } => (
                    owner,
                    Event::DeploymentStatus {
                        deployment_id: deployment,
                        environment_id: environment,
                        status: status.as_str(),
                    },
                ),
            };
            events.publish(owner, event);
        })
    }

    /// How many users have a listener.
    pub fn users_listening(&self) -> usize {
        self.channels().len()
    }
}

/// What a listener receives next.
#[derive(Debug)]
pub enum Received {
    Event(Arc<Event>),
    /// The listener fell behind by more than the backlog: some changes were lost, so it
    /// must read the state again.
    Lagged,
}

/// One listener of a user's changes.
pub struct Listener {
    events: Events,
    user: UserId,
    rx: Option<broadcast::Receiver<Arc<Event>>>,
}

impl Listener {
    pub async fn next(&mut self) -> Received {
        let rx = self
            .rx
            .as_mut()
            .expect("a listener's receiver lives as long as it");
        match rx.recv().await {
            Ok(event) => Received::Event(event),
            Err(broadcast::error::RecvError::Lagged(_)) => Received::Lagged,
            // The sender lives in the map while this receiver exists.
            Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        drop(self.rx.take());
        let mut channels = self.events.channels();
        if channels
            .get(&self.user)
            .is_some_and(|tx| tx.receiver_count() == 0)
        {
            channels.remove(&self.user);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(env: EnvironmentId) -> Event {
        Event::EnvironmentStatus {
            environment_id: env,
            status: "running",
            error: None,
        }
    }

    #[tokio::test]
    async fn a_listener_gets_its_users_events_only_and_the_channel_goes_with_it() {
        let events = Events::default();
        let (ada, bob) = (UserId::new(), UserId::new());
        let env = EnvironmentId::new();
        let mut listener = events.listen(ada).unwrap();
        events.publish(bob, status(EnvironmentId::new()));
        events.publish(ada, status(env));
        match listener.next().await {
            Received::Event(e) => {
                assert_eq!(e.name(), "environment.status");
                let json = serde_json::to_value(&*e).unwrap();
                assert_eq!(json["environmentId"], env.0.to_string());
                assert_eq!(json["status"], "running");
            }
            Received::Lagged => panic!("lagged"),
        }
        assert_eq!(events.users_listening(), 1);
        drop(listener);
        assert_eq!(events.users_listening(), 0);
    }

    #[tokio::test]
    async fn a_listener_that_falls_behind_is_told_to_read_again() {
        let events = Events::default();
        let ada = UserId::new();
        let mut listener = events.listen(ada).unwrap();
        for _ in 0..=BACKLOG {
            events.publish(ada, status(EnvironmentId::new()));
        }
        assert!(matches!(listener.next().await, Received::Lagged));
        assert!(matches!(listener.next().await, Received::Event(_)));
    }

    #[test]
    fn a_user_has_a_bounded_number_of_listeners() {
        let events = Events::default();
        let ada = UserId::new();
        let held: Vec<Listener> = (0..MAX_LISTENERS_PER_USER)
            .map(|_| events.listen(ada).unwrap())
            .collect();
        assert!(matches!(
            events.listen(ada),
            Err(ServiceError::RateLimited { .. })
        ));
        assert!(events.listen(UserId::new()).is_ok());
        drop(held);
        assert!(events.listen(ada).is_ok());
    }
}
