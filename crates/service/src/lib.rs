//! Use cases. Every feature has a module named as it is in the router and the tests
//! (`auth`, `environments`, …); each state-changing function says what must hold before,
//! what holds after, and what each failure answers.

pub mod access;
pub mod activity;
pub mod admin;
#[cfg(test)]
mod agent_hooks;
pub mod agents;
mod audit;
pub mod auth;
pub mod crypto;
pub mod deployments;
pub mod devcontainer;
pub mod disk;
pub mod egress;
pub mod environments;
mod error;
pub mod events;
pub mod firewall;
pub mod git;
pub mod github;
pub mod health;
pub mod host_git;
pub mod idle;
mod keyed_lock;
pub mod limits;
pub mod logging;
pub mod networks;
pub mod notifications;
mod passwords;
pub mod ratelimit;
pub mod reconcile;
pub mod sandbox;
pub mod sessions;
#[cfg(test)]
mod shellcheck;
mod signins;
pub mod terminal;
pub mod tokens;
pub mod untrusted;
pub mod usage;
pub mod users;
pub mod variables;
pub mod workspaces;

use std::sync::Arc;

use craftastic_runtime::Runtime;
use craftastic_store::Store;

pub use error::{ServiceError, ServiceResult};

/// Everything the HTTP layer calls, built once at start. The store and the container engine
/// stay inside: callers reach them only through these services.
#[derive(Clone)]
pub struct Services {
    pub auth: auth::Auth,
    /// The changes pushed to each user (`GET /api/events`).
    pub events: events::Events,
    /// What each session is doing.
    pub activities: activity::Activities,
    /// Telling users when an agent needs them.
    pub notifications: notifications::Notifications,
    pub environments: environments::Environments,
    pub github: github::Github,
    pub agents: agents::Agents,
    /// Each environment's variables and secrets.
    pub variables: variables::Variables,
    pub workspaces: workspaces::Workspaces,
    /// Workspaces made from a branch's devcontainer.json.
    pub devcontainers: devcontainer::Devcontainers,
    pub networks: networks::Networks,
    pub egress: egress::EgressProxy,
    pub sessions: sessions::Sessions,
    pub git: git::Git,
    pub terminal: terminal::Terminal,
    pub reconciler: reconcile::Reconciler,
    pub deployments: deployments::Deployments,
    pub limits: limits::Limits,
    pub users: users::Users,
    pub disk: disk::DiskWatch,
    /// What workspaces use now, next to their limits.
    pub usage: usage::Usage,
    pub idle: idle::IdleStop,
    pub admin: admin::Admin,
    pub health: health::Health,
    /// Seals every secret the services store.
    pub cipher: crypto::Cipher,
}

impl Services {
    /// One argument per part the services are made of, each with its own settings.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Arc<dyn Store>,
        runtime: Arc<dyn Runtime>,
        cipher: crypto::Cipher,
        auth: auth::AuthSettings,
        sandbox: sandbox::SandboxSettings,
        github: github::GithubSettings,
        coolify: Option<deployments::CoolifySettings>,
        limits: limits::LimitSettings,
        notify: notifications::NotifySettings,
    ) -> Self {
        let limits = limits::Limits::new(store.clone(), limits);
        let deployments = deployments::Deployments::new(store.clone(), coolify, limits.clone());
        let sandbox = Arc::new(sandbox);
        let github = github::Github::new(store.clone(), cipher.clone(), github);
        let networks = networks::Networks::new(runtime.clone(), sandbox.clone());
        let egress = egress::EgressProxy::new(store.clone(), runtime.clone(), sandbox.clone());
        let events = events::Events::default();
        let devcontainers =
            devcontainer::Devcontainers::new(runtime.clone(), sandbox.clone(), events.clone());
        let workspaces = workspaces::Workspaces::new(
            store.clone(),
            runtime.clone(),
            sandbox.clone(),
            networks.clone(),
            egress.clone(),
            limits.clone(),
            devcontainers.clone(),
        );
        let environments = environments::Environments::new(
            store.clone(),
            runtime.clone(),
            sandbox.clone(),
            workspaces.clone(),
            github.clone(),
            limits.clone(),
        );
        let git = git::Git::new(
            store.clone(),
            runtime.clone(),
            sandbox.clone(),
            github.clone(),
        );
        let agents = agents::Agents::new(store.clone(), cipher.clone());
        let variables = variables::Variables::new(store.clone(), cipher.clone());
        store.observe(events.observer());
        let notifications = notifications::Notifications::new(
            store.clone(),
            cipher.clone(),
            events.clone(),
            notify.allow_local_webhooks,
        );
        let activities = activity::Activities::new(events.clone(), Some(notifications.clone()));
        let sessions = sessions::Sessions::new(
            store.clone(),
            runtime.clone(),
            sandbox.clone(),
            workspaces.clone(),
            git.clone(),
            agents.clone(),
            variables.clone(),
            limits.clone(),
            activities.clone(),
        );
        let terminal = terminal::Terminal::new(
            store.clone(),
            runtime.clone(),
            sessions.clone(),
            limits.clone(),
        );
        let disk = disk::DiskWatch::new(
            store.clone(),
            runtime.clone(),
            sandbox.clone(),
            workspaces.clone(),
        );
        let usage = usage::Usage::new(store.clone(), runtime.clone(), sandbox.clone());
        let idle = idle::IdleStop::new(
            store.clone(),
            workspaces.clone(),
            sessions.clone(),
            terminal.clone(),
            activities.clone(),
        );
        let health = health::Health::new(store.clone(), runtime.clone());
        let reconciler = reconcile::Reconciler::new(
            store.clone(),
            runtime.clone(),
            sandbox,
            environments.clone(),
            sessions.clone(),
            terminal.clone(),
            workspaces.clone(),
        );
        let admin = admin::Admin::new(store.clone(), reconciler.clone());
        let auth = auth::Auth::new(store.clone(), auth);
        let users = users::Users::new(
            store.clone(),
            auth.clone(),
            environments.clone(),
            limits.clone(),
        );
        let viewing = terminal.clone();
        notifications.set_viewed(Arc::new(move |session| viewing.is_viewed(session)));
        Self {
            events,
            activities,
            notifications,
            limits,
            users,
            git,
            terminal,
            sessions,
            auth,
            environments,
            github,
            agents,
            variables,
            workspaces,
            devcontainers,
            networks,
            egress,
            reconciler,
            deployments,
            disk,
            usage,
            idle,
            admin,
            health,
            cipher,
        }
    }
}
