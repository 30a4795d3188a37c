//! argon2id hashing, always off the async runtime: one hash costs tens of milliseconds of
//! CPU and would stall every other request on the worker thread.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use craftastic_domain::Password;

use crate::{ServiceError, ServiceResult};

pub async fn hash(password: Password) -> ServiceResult<String> {
    blocking(move || hash_sync(password.expose())).await?
}

/// Checks `password` against `stored`; with `None` it checks against a fixed dummy hash, so
/// that an unknown email costs the same time as a wrong password.
pub async fn verify(password: Password, stored: Option<String>) -> ServiceResult<bool> {
    blocking(move || {
        let stored = match stored {
            Some(s) => s,
            None => dummy_hash()?.to_owned(),
        };
        let parsed = PasswordHash::new(&stored)
            .map_err(|e| ServiceError::Internal(format!("stored password hash unreadable: {e}")))?;
        Ok(Argon2::default()
            .verify_password(password.expose().as_bytes(), &parsed)
            .is_ok())
    })
    .await?
}

fn hash_sync(password: &str) -> ServiceResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::Internal(format!("argon2: {e}")))
}

fn dummy_hash() -> ServiceResult<&'static str> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(h) = DUMMY.get() {
        return Ok(h);
    }
    let h = hash_sync("craftastic dummy password, never valid")?;
    Ok(DUMMY.get_or_init(|| h))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> ServiceResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ServiceError::Internal(format!("password task failed: {e}")))
}
