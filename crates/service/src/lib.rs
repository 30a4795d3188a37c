//! Use cases. Every feature has a module named as it is in the router and the tests
//! (`auth`, later `environments`, `sessions`, …); each state-changing function says what
//! must hold before, what holds after, and what each failure answers.

pub mod auth;
pub mod crypto;
mod error;
mod passwords;
pub mod tokens;

use std::sync::Arc;

use craftastic_store::Store;

pub use error::{ServiceError, ServiceResult};

/// Everything the HTTP layer calls, built once at start.
#[derive(Clone)]
pub struct Services {
    pub store: Arc<dyn Store>,
    pub auth: auth::Auth,
    /// Seals every secret the services store; later features take it from here.
    pub cipher: crypto::Cipher,
}

impl Services {
    pub fn new(store: Arc<dyn Store>, cipher: crypto::Cipher, auth: auth::AuthSettings) -> Self {
        Self {
            auth: auth::Auth::new(store.clone(), auth),
            store,
            cipher,
        }
    }
}
