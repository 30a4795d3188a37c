//! Use cases. Every feature has a module named as it is in the router and the tests
//! (`auth`, `environments`, …); each state-changing function says what must hold before,
//! what holds after, and what each failure answers.

pub mod access;
pub mod agents;
mod audit;
pub mod auth;
pub mod crypto;
pub mod deployments;
pub mod disk;
pub mod environments;
mod error;
pub mod git;
pub mod github;
pub mod host_git;
pub mod logging;
mod passwords;
pub mod reconcile;
pub mod sandbox;
pub mod sessions;
pub mod terminal;
pub mod tokens;
pub mod workspaces;

use std::sync::Arc;

use craftastic_runtime::Runtime;
use craftastic_store::Store;

pub use error::{ServiceError, ServiceResult};

/// Everything the HTTP layer calls, built once at start.
#[derive(Clone)]
pub struct Services {
    pub store: Arc<dyn Store>,
    pub runtime: Arc<dyn Runtime>,
    pub auth: auth::Auth,
    pub environments: environments::Environments,
    pub github: github::Github,
    pub agents: agents::Agents,
    pub workspaces: workspaces::Workspaces,
    pub sessions: sessions::Sessions,
    pub git: git::Git,
    pub terminal: terminal::Terminal,
    pub reconciler: reconcile::Reconciler,
    pub deployments: deployments::Deployments,
    pub disk: disk::DiskWatch,
    /// Seals every secret the services store.
    pub cipher: crypto::Cipher,
}

impl Services {
    pub fn new(
        store: Arc<dyn Store>,
        runtime: Arc<dyn Runtime>,
        cipher: crypto::Cipher,
        auth: auth::AuthSettings,
        sandbox: sandbox::SandboxSettings,
        github: github::GithubSettings,
        coolify: Option<deployments::CoolifySettings>,
    ) -> Self {
        let deployments = deployments::Deployments::new(store.clone(), coolify);
        let sandbox = Arc::new(sandbox);
        let github = github::Github::new(store.clone(), cipher.clone(), github);
        let workspaces =
            workspaces::Workspaces::new(store.clone(), runtime.clone(), sandbox.clone());
        let environments = environments::Environments::new(
            store.clone(),
            runtime.clone(),
            sandbox.clone(),
            workspaces.clone(),
            github.clone(),
        );
        let git = git::Git::new(
            store.clone(),
            runtime.clone(),
            sandbox.clone(),
            github.clone(),
        );
        let agents = agents::Agents::new(store.clone(), cipher.clone());
        let sessions = sessions::Sessions::new(
            store.clone(),
            runtime.clone(),
            sandbox.clone(),
            workspaces.clone(),
            git.clone(),
            agents.clone(),
        );
        let terminal = terminal::Terminal::new(store.clone(), runtime.clone(), sessions.clone());
        let disk = disk::DiskWatch::new(
            store.clone(),
            runtime.clone(),
            sandbox.clone(),
            workspaces.clone(),
        );
        let reconciler = reconcile::Reconciler::new(
            store.clone(),
            runtime.clone(),
            sandbox,
            environments.clone(),
            sessions.clone(),
            terminal.clone(),
        );
        let auth = auth::Auth::new(store.clone(), auth);
        Self {
            git,
            terminal,
            sessions,
            auth,
            store,
            runtime,
            environments,
            github,
            agents,
            workspaces,
            reconciler,
            deployments,
            disk,
            cipher,
        }
    }
}
