//! Server-wide operations for admins: reconcile now, and list the containers this server
//! runs.

use std::sync::Arc;

use craftastic_runtime::ContainerInfo;
use craftastic_store::Store;

use crate::reconcile::{Reconciler, Report};
use crate::tokens::Principal;
use crate::{ServiceResult, access};

#[derive(Clone)]
pub struct Admin {
    store: Arc<dyn Store>,
    reconciler: Reconciler,
}

impl Admin {
    pub fn new(store: Arc<dyn Store>, reconciler: Reconciler) -> Self {
        Self { store, reconciler }
    }

    /// Reconciles containers and records now, as the periodic pass does.
    /// Fails: not an admin → 403 `admin_only`; the engine or the database cannot list what
    /// there is → 502 (or 500).
    pub async fn cleanup(&self, who: Principal) -> ServiceResult<Report> {
        access::require_admin(self.store.as_ref(), who).await?;
        self.reconciler.run().await
    }

    /// Every container this server labelled as its own.
    /// Fails: not an admin → 403 `admin_only`; the engine fails or does not answer in
    /// time → 502.
    pub async fn containers(&self, who: Principal) -> ServiceResult<Vec<ContainerInfo>> {
        access::require_admin(self.store.as_ref(), who).await?;
        self.reconciler.containers().await
    }
}
