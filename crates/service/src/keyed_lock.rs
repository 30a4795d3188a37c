//! One async mutex per key (a workspace, an owner, a branch, a deployment), made when the
//! first caller asks for it and forgotten when the last one lets go, so the map holds only
//! the keys in use instead of every key ever seen.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::OwnedMutexGuard;

/// The mutex of one key and how many callers hold or wait for it.
struct Slot {
    mutex: Arc<tokio::sync::Mutex<()>>,
    users: usize,
}

type Slots<K> = Arc<Mutex<HashMap<K, Slot>>>;

/// Async mutexes by key: callers with the same key take turns (in the order they asked),
/// callers with different keys never wait for each other.
pub struct KeyedLocks<K> {
    slots: Slots<K>,
}

impl<K> Default for KeyedLocks<K> {
    fn default() -> Self {
        Self {
            slots: Arc::default(),
        }
    }
}

impl<K> Clone for KeyedLocks<K> {
    fn clone(&self) -> Self {
        Self {
            slots: self.slots.clone(),
        }
    }
}

impl<K: Eq + Hash + Clone> KeyedLocks<K> {
    /// Waits for `key`'s turn; the key is held until the guard drops. Dropping the future
    /// before it is ready gives up the place in the queue and leaves nothing behind.
    pub async fn lock(&self, key: K) -> KeyedGuard<K> {
        let user = User::enter(&self.slots, key);
        let turn = user.mutex.clone().lock_owned().await;
        KeyedGuard {
            _turn: turn,
            _user: user,
        }
    }

    /// How many keys are held or waited for.
    #[cfg(test)]
    fn len(&self) -> usize {
        lock(&self.slots).len()
    }
}

/// A held key. Its fields drop in order: first the turn, then the count that keeps the
/// key's mutex in the map, so a newcomer never gets a fresh mutex while this one is held.
pub struct KeyedGuard<K: Eq + Hash> {
    _turn: OwnedMutexGuard<()>,
    _user: User<K>,
}

/// One caller that holds or waits for a key; counted in the key's slot while it lives.
struct User<K: Eq + Hash> {
    slots: Slots<K>,
    key: K,
    mutex: Arc<tokio::sync::Mutex<()>>,
}

impl<K: Eq + Hash + Clone> User<K> {
    fn enter(slots: &Slots<K>, key: K) -> Self {
        let mut map = lock(slots);
        let slot = match map.entry(key.clone()) {
            Entry::Occupied(slot) => slot.into_mut(),
            Entry::Vacant(slot) => slot.insert(Slot {
                mutex: Arc::default(),
                users: 0,
            }),
        };
        slot.users += 1;
        Self {
            mutex: slot.mutex.clone(),
            slots: slots.clone(),
            key,
        }
    }
}

impl<K: Eq + Hash> Drop for User<K> {
    fn drop(&mut self) {
        let mut map = lock(&self.slots);
        if let Some(slot) = map.get_mut(&self.key) {
            slot.users -= 1;
            if slot.users == 0 {
                map.remove(&self.key);
            }
        }
    }
}

/// The map is only ever changed by a few lines that cannot panic halfway, so a poisoned
/// lock still guards a consistent map.
fn lock<K>(slots: &Slots<K>) -> MutexGuard<'_, HashMap<K, Slot>> {
    slots.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const SHORT: Duration = Duration::from_millis(50);

    #[tokio::test]
    async fn one_key_is_held_by_one_caller_at_a_time() {
        let locks = KeyedLocks::default();
        let first = locks.lock("ws").await;
        let waiting = tokio::spawn({
            let locks = locks.clone();
            async move {
                let _second = locks.lock("ws").await;
            }
        });
        tokio::time::sleep(SHORT).await;
        assert!(!waiting.is_finished(), "the second caller got a held key");
        drop(first);
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the second caller never got the released key")
            .unwrap();
        assert_eq!(locks.len(), 0);
    }

    #[tokio::test]
    async fn different_keys_do_not_wait_for_each_other() {
        let locks = KeyedLocks::default();
        let _a = locks.lock(1).await;
        let b = tokio::time::timeout(SHORT, locks.lock(2)).await;
        assert!(b.is_ok(), "key 2 waited for key 1");
        assert_eq!(locks.len(), 2);
    }

    #[tokio::test]
    async fn the_map_forgets_a_key_when_its_last_guard_drops() {
        let locks = KeyedLocks::default();
        for key in 0..100 {
            drop(locks.lock(key.to_string()).await);
        }
        assert_eq!(locks.len(), 0);
        let a = locks.lock("a".to_owned()).await;
        let waiter = tokio::spawn({
            let locks = locks.clone();
            async move { drop(locks.lock("a".to_owned()).await) }
        });
        tokio::time::sleep(SHORT).await;
        assert_eq!(locks.len(), 1);
        drop(a);
        waiter.await.unwrap();
        assert_eq!(locks.len(), 0);
    }

    #[tokio::test]
    async fn a_cancelled_waiter_leaves_nothing_behind() {
        let locks = KeyedLocks::default();
        let held = locks.lock("ws").await;
        let gave_up = tokio::time::timeout(SHORT, locks.lock("ws")).await;
        assert!(gave_up.is_err(), "the waiter got a held key");
        assert_eq!(locks.len(), 1, "the holder's key went while held");
        drop(held);
        assert_eq!(locks.len(), 0);

        // The waiter is cancelled while the holder still holds: the key stays for the
        // holder, and whoever comes next still waits for it.
        let held = locks.lock("ws").await;
        let waiter = tokio::spawn({
            let locks = locks.clone();
            async move { drop(locks.lock("ws").await) }
        });
        tokio::time::sleep(SHORT).await;
        waiter.abort();
        assert!(waiter.await.unwrap_err().is_cancelled());
        let next = tokio::time::timeout(SHORT, locks.lock("ws")).await;
        assert!(next.is_err(), "a newcomer got the key while it was held");
        drop(held);
        assert_eq!(locks.len(), 0);
    }
}
