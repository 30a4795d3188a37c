//! What an environment's workspaces use now, next to their limits: memory from one reading
//! of the engine's statistics per running workspace, disk from the disk watch's last
//! measurement. Reading is bounded: a few workspaces at once, each reading within
//! [`READ_DEADLINE`], and at most [`SERVER_READS`] readings at once on the whole server; a
//! reading that does not come in time is left out and says why.

use std::sync::Arc;
use std::time::Duration;

use craftastic_domain::{BranchName, EnvironmentId, WorkspaceId, WorkspaceSize};
use craftastic_runtime::{MemoryUsage, Runtime};
use craftastic_store::{DiskUsage, Store, Workspace, WorkspaceStatus};
use futures::StreamExt;
use tokio::sync::Semaphore;

use crate::sandbox::SandboxSettings;
use crate::tokens::Principal;
use crate::{ServiceResult, access};

/// How long one workspace's memory reading may take, waiting for its turn included.
pub const READ_DEADLINE: Duration = Duration::from_secs(3);
/// Workspaces of one environment read at once.
const AT_ONCE: usize = 4;
/// Readings at once on the whole server, whoever asks.
pub const SERVER_READS: usize = 8;

/// One workspace's use now.
#[derive(Debug, Clone)]
pub struct WorkspaceUsage {
    pub workspace: WorkspaceId,
    pub branch: BranchName,
    pub status: WorkspaceStatus,
    /// Its memory now and the limit the kernel applies; `None` unless it runs and the
    /// reading came in time.
    pub memory: Option<MemoryUsage>,
    /// Why there is no memory reading of a running workspace.
    pub memory_unknown: Option<String>,
    /// The disk watch's last measurement.
    pub disk: Option<DiskUsage>,
}

/// An environment's workspaces' use, and the size they are given.
#[derive(Debug, Clone)]
pub struct EnvironmentUsage {
    pub size: WorkspaceSize,
    pub workspaces: Vec<WorkspaceUsage>,
}

#[derive(Clone)]
pub struct Usage {
    store: Arc<dyn Store>,
    runtime: Arc<dyn Runtime>,
    settings: Arc<SandboxSettings>,
    readings: Arc<Semaphore>,
}

impl Usage {
    pub fn new(
        store: Arc<dyn Store>,
        runtime: Arc<dyn Runtime>,
        settings: Arc<SandboxSettings>,
    ) -> Self {
        Self {
            store,
            runtime,
            settings,
            readings: Arc::new(Semaphore::new(SERVER_READS)),
        }
    }

    /// The use of each workspace of the environment, oldest first (see the module's head).
    /// Fails: no such environment, or another user's → 404.
    pub async fn of_environment(
        &self,
        who: Principal,
        id: EnvironmentId,
    ) -> ServiceResult<EnvironmentUsage> {
        let env = access::environment(self.store.as_ref(), who, id).await?;
        let workspaces = self.store.list_workspaces(Some(env.id)).await?;
        let workspaces = futures::stream::iter(workspaces)
            .map(|ws| self.read(ws))
            .buffered(AT_ONCE)
            .collect()
            .await;
        Ok(EnvironmentUsage {
            size: env.size.effective(&self.settings.default_size()),
            workspaces,
        })
    }

    async fn read(&self, ws: Workspace) -> WorkspaceUsage {
        let mut usage = WorkspaceUsage {
            workspace: ws.id,
            branch: ws.branch,
            status: ws.status,
            memory: None,
            memory_unknown: None,
            disk: ws.disk,
        };
        let Some(container) = ws
            .container_id
            .filter(|_| ws.status == WorkspaceStatus::Running)
        else {
            return usage;
        };
        let reading = async {
            let _turn = self.readings.acquire().await;
            self.runtime.memory_usage(&container).await
        };
        match tokio::time::timeout(READ_DEADLINE, reading).await {
            Ok(Ok(Some(memory))) => usage.memory = Some(memory),
            Ok(Ok(None)) => {
                usage.memory_unknown = Some("the container engine reports no memory use".into())
            }
            Ok(Err(e)) => usage.memory_unknown = Some(e.to_string()),
            Err(_) => {
                usage.memory_unknown = Some(format!(
                    "the container engine did not answer within {} s",
                    READ_DEADLINE.as_secs()
                ))
            }
        }
        usage
    }
}
