//! Whether the parts the services stand on answer: for the readiness probe.

use std::sync::Arc;

use craftastic_runtime::Runtime;
use craftastic_store::Store;

use crate::ServiceResult;

#[derive(Clone)]
pub struct Health {
    store: Arc<dyn Store>,
    runtime: Arc<dyn Runtime>,
}

impl Health {
    pub fn new(store: Arc<dyn Store>, runtime: Arc<dyn Runtime>) -> Self {
        Self { store, runtime }
    }

    /// Fails: the database does not answer → 500, with the reason in the error.
    pub async fn database(&self) -> ServiceResult<()> {
        Ok(self.store.ping().await?)
    }

    /// Fails: the container engine does not answer → 502, with the reason in the error.
    pub async fn engine(&self) -> ServiceResult<()> {
        Ok(self.runtime.ping().await?)
    }
}
