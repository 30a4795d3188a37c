//! Sealing secrets at rest: AES-256-GCM with a fresh random nonce per value, the key's id
//! stored in front of each ciphertext, and associated data that binds the ciphertext to the
//! row and column it belongs to, so that a sealed value copied to another row does not open.
//!
//! Sealed text: `<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use craftastic_store::Store;
use rand::RngCore;
use sha2::{Digest, Sha256};

const NONCE_LEN: usize = 12;
const CANARY_PLAINTEXT: &[u8] = b"craftastic encryption canary";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("the value is not a sealed secret")]
    Malformed,
    #[error("the value was sealed with key {found}, not with the configured key {expected}")]
    WrongKey { found: String, expected: String },
    #[error("the value does not open with the configured key (wrong key or tampered data)")]
    Tampered,
}

/// The server's encryption key. `Debug` shows only the key id.
#[derive(Clone)]
pub struct Cipher {
    aead: Aes256Gcm,
    key_id: String,
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cipher(key {})", self.key_id)
    }
}

impl Cipher {
    pub fn new(key: &[u8; 32]) -> Self {
        let digest = Sha256::new()
            .chain_update(b"craftastic key id\0")
            .chain_update(key)
            .finalize();
        Self {
            aead: Aes256Gcm::new(key.into()),
            key_id: hex::encode(&digest[..8]),
        }
    }

    /// A short public fingerprint of the key (not derivable back to it).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// `context` names where the value lives, e.g. `users.github_token:<user id>`.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let aad = self.aad(context);
        let ciphertext = self
            .aead
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .expect("AES-GCM encryption cannot fail for in-memory buffers");
        let mut blob = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&ciphertext);
        format!("{}.{}", self.key_id, URL_SAFE_NO_PAD.encode(blob))
    }

    pub fn open(&self, sealed: &str, context: &str) -> Result<Vec<u8>, CryptoError> {
        let (key_id, body) = sealed.split_once('.').ok_or(CryptoError::Malformed)?;
        if key_id != self.key_id {
            return Err(CryptoError::WrongKey {
                found: key_id.to_owned(),
                expected: self.key_id.clone(),
            });
        }
        let blob = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| CryptoError::Malformed)?;
        if blob.len() < NONCE_LEN {
            return Err(CryptoError::Malformed);
        }
        let (nonce, ciphertext) = blob.split_at(NONCE_LEN);
        let nonce =
            Nonce::from(<[u8; NONCE_LEN]>::try_from(nonce).map_err(|_| CryptoError::Malformed)?);
        let aad = self.aad(context);
        self.aead
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| CryptoError::Tampered)
    }

    fn aad(&self, context: &str) -> Vec<u8> {
        format!("craftastic/v1/{}/{context}", self.key_id).into_bytes()
    }

    /// Start-up check: every secret in the store must have been sealed with this key, and
    /// this key must open its canary. Stores a canary on first use so that a changed key is
    /// noticed even before any secret exists. The error is one line for the operator.
    pub async fn check_store(&self, store: &dyn Store) -> Result<(), String> {
        let db = |e: craftastic_store::StoreError| format!("cannot read stored secrets: {e}");
        let foreign: Vec<String> = store
            .secret_key_ids()
            .await
            .map_err(db)?
            .into_iter()
            .filter(|id| id != &self.key_id)
            .collect();
        if !foreign.is_empty() {
            return Err(format!(
                "SERVER_ENCRYPTION_KEY (key id {}) cannot decrypt secrets stored with key id {}; \
                 start with the key that sealed them",
                self.key_id,
                foreign.join(", ")
            ));
        }
        match store.key_canary(&self.key_id).await.map_err(db)? {
            Some(sealed) => self
                .open(&sealed, "encryption_canaries")
                .map(drop)
                .map_err(|e| format!("SERVER_ENCRYPTION_KEY does not open the stored canary: {e}")),
            None => {
                let sealed = self.seal(CANARY_PLAINTEXT, "encryption_canaries");
                store
                    .put_key_canary(&self.key_id, &sealed)
                    .await
                    .map_err(db)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open_round_trip_and_bind_context() {
        let cipher = Cipher::new(&[7; 32]);
        let sealed = cipher.seal(b"ghp_secret", "users.github_token:1");
        assert!(sealed.starts_with(&format!("{}.", cipher.key_id())));
        assert!(!sealed.contains("ghp_secret"));
        assert_eq!(
            cipher.open(&sealed, "users.github_token:1").unwrap(),
            b"ghp_secret"
        );
        assert_eq!(
            cipher.open(&sealed, "users.github_token:2"),
            Err(CryptoError::Tampered)
        );
        assert_ne!(
            sealed,
            cipher.seal(b"ghp_secret", "users.github_token:1"),
            "nonces repeat"
        );
    }

    #[test]
    fn another_key_is_named_not_tried() {
        let sealed = Cipher::new(&[1; 32]).seal(b"x", "c");
        let other = Cipher::new(&[2; 32]);
        assert!(matches!(
            other.open(&sealed, "c"),
            Err(CryptoError::WrongKey { .. })
        ));
        assert_eq!(other.open("garbage", "c"), Err(CryptoError::Malformed));
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(Cipher::new(&[1; 32]).open(&tampered, "c").is_err());
    }
}
