//! Whether a sign-in goes on. An access token stays validly signed for its whole lifetime,
//! but its sign-in (the refresh-token family named by its `sid`) can end sooner: a logout,
//! logout-all, a new password, a reused refresh token, or the account's deletion. Every
//! request checks the sign-in against the store; the answer is remembered for at most
//! [`FRESH_FOR`], so a busy client costs one query per interval, and forgotten at once when
//! this server ends a sign-in, so that the next request is refused at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use craftastic_domain::{ErrorCode, UserId};
use craftastic_store::Store;
use uuid::Uuid;

use crate::tokens::Principal;
use crate::{ServiceError, ServiceResult};

/// How long an answer of the store is trusted. A sign-in ended by another server (or by
/// hand in the database) stops working within this time.
pub const FRESH_FOR: Duration = Duration::from_secs(2);
/// The most sign-ins remembered; past it, stale answers go first, then all of them.
const CAPACITY: usize = 10_000;

pub const SIGNED_OUT: ServiceError = ServiceError::Unauthorized {
    code: ErrorCode::SignedOut,
    message: "this sign-in has ended (signed out, password changed or account deleted); sign in again",
};

struct Checked {
    user: UserId,
    live: bool,
    at: Instant,
}

#[derive(Default)]
struct Memory {
    checked: HashMap<Uuid, Checked>,
    /// Bumped by every [`SignIns::forget_user`], so that an answer read from the store while
    /// a sign-in was being ended is not remembered as live.
    generation: u64,
}

impl Memory {
    fn remember(&mut self, family: Uuid, checked: Checked) {
        if self.checked.len() >= CAPACITY && !self.checked.contains_key(&family) {
            self.checked.retain(|_, c| c.at.elapsed() < FRESH_FOR);
            if self.checked.len() >= CAPACITY {
                self.checked.clear();
            }
        }
        self.checked.insert(family, checked);
    }
}

#[derive(Clone)]
pub struct SignIns {
    store: Arc<dyn Store>,
    memory: Arc<Mutex<Memory>>,
}

impl SignIns {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            memory: Arc::default(),
        }
    }

    /// Fails: the sign-in has ended → 401 `signed_out`.
    pub async fn check(&self, who: Principal) -> ServiceResult<()> {
        let generation = {
            let memory = self.memory.lock().expect("sign-ins");
            match memory.checked.get(&who.family_id) {
                Some(c) if c.user == who.user_id && c.at.elapsed() < FRESH_FOR => {
                    return if c.live { Ok(()) } else { Err(SIGNED_OUT) };
                }
                _ => memory.generation,
            }
        };
        let live = self
            .store
            .sign_in_live(who.user_id, who.family_id, Utc::now())
            .await?;
        {
            let mut memory = self.memory.lock().expect("sign-ins");
            if memory.generation == generation {
                memory.remember(
                    who.family_id,
                    Checked {
                        user: who.user_id,
                        live,
                        at: Instant::now(),
                    },
                );
            }
        }
        if live { Ok(()) } else { Err(SIGNED_OUT) }
    }

    /// Forgets what is known of the user's sign-ins; call it after ending any of them, so
    /// that the next request of each asks the store again.
    pub fn forget_user(&self, user: UserId) {
        let mut memory = self.memory.lock().expect("sign-ins");
        memory.generation += 1;
        memory.checked.retain(|_, c| c.user != user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(age: Duration) -> Checked {
        Checked {
            user: UserId::new(),
            live: true,
            at: Instant::now() - age,
        }
    }

    #[test]
    fn the_memory_stays_bounded_dropping_stale_answers_first() {
        let mut memory = Memory::default();
        for i in 0..CAPACITY {
            let age = if i % 2 == 0 {
                FRESH_FOR
            } else {
                Duration::ZERO
            };
            memory.remember(Uuid::new_v4(), checked(age));
        }
        assert_eq!(memory.checked.len(), CAPACITY);
        memory.remember(Uuid::new_v4(), checked(Duration::ZERO));
        assert_eq!(memory.checked.len(), CAPACITY / 2 + 1);
        while memory.checked.len() < CAPACITY {
            memory.remember(Uuid::new_v4(), checked(Duration::ZERO));
        }
        memory.remember(Uuid::new_v4(), checked(Duration::ZERO));
        assert_eq!(memory.checked.len(), 1);
    }
}
