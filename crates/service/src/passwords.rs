//! argon2id hashing, always off the async runtime: one hash costs tens of milliseconds of
//! CPU and would stall every other request on the worker thread. At most a fixed number of
//! hashes run at once; a request that cannot start one soon is told to come back, so that a
//! flood of sign-ins neither queues without bound nor starves the rest of the server.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use craftastic_domain::Password;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{ServiceError, ServiceResult};

/// How long a request waits for a free hashing slot before it is refused.
pub const HASH_WAIT: Duration = Duration::from_secs(1);

/// The hashing slots of the server.
#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    wait: Duration,
}

impl Passwords {
    /// `concurrency` hashes may run at once (at least one).
    pub fn new(concurrency: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            wait: HASH_WAIT,
        }
    }

    /// Fails: every slot stays busy for [`HASH_WAIT`] → 503 with `Retry-After`.
    pub async fn hash(&self, password: Password) -> ServiceResult<String> {
        let permit = self.permit().await?;
        blocking(move || {
            let _permit = permit;
            hash_sync(password.expose())
        })
        .await?
    }

    /// Checks `password` against `stored`; with `None` it checks against a fixed dummy hash,
    /// so that an unknown email costs the same time as a wrong password.
    /// Fails: every slot stays busy for [`HASH_WAIT`] → 503 with `Retry-After`.
    pub async fn verify(&self, password: Password, stored: Option<String>) -> ServiceResult<bool> {
        let permit = self.permit().await?;
        blocking(move || {
            // The slot is held until the hash is done, even when the request has gone.
            let _permit = permit;
            let stored = match stored {
                Some(s) => s,
                None => dummy_hash()?.to_owned(),
            };
            let parsed = PasswordHash::new(&stored).map_err(|e| {
                ServiceError::Internal(format!("stored password hash unreadable: {e}"))
            })?;
            Ok(Argon2::default()
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok())
        })
        .await?
    }

    async fn permit(&self) -> ServiceResult<OwnedSemaphorePermit> {
        match tokio::time::timeout(self.wait, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) => Err(ServiceError::Internal(
                "the password hashing slots were closed".into(),
            )),
            Err(_) => Err(ServiceError::Busy {
                message: "the server is busy checking other passwords; try again in a moment"
                    .into(),
                retry_after: self.wait.as_secs().max(1),
            }),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn password(s: &str) -> Password {
        Password::new(s.into(), "password").unwrap()
    }

    #[tokio::test]
    async fn a_hash_verifies_and_a_wrong_password_does_not() {
        let p = Passwords::new(2);
        let h = p.hash(password("correct horse battery")).await.unwrap();
        assert!(
            p.verify(password("correct horse battery"), Some(h.clone()))
                .await
                .unwrap()
        );
        assert!(
            !p.verify(password("wrong horse battery"), Some(h))
                .await
                .unwrap()
        );
        assert!(
            !p.verify(password("correct horse battery"), None)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn a_request_that_finds_every_slot_busy_is_told_to_come_back() {
        let p = Passwords {
            permits: Arc::new(Semaphore::new(1)),
            wait: Duration::from_millis(50),
        };
        let held = p.permits.clone().acquire_owned().await.unwrap();
        match p.hash(password("correct horse battery")).await {
            Err(ServiceError::Busy { retry_after, .. }) => assert_eq!(retry_after, 1),
            other => panic!("expected busy, got {other:?}"),
        }
        drop(held);
        assert!(p.hash(password("correct horse battery")).await.is_ok());
    }
}
