//! Access tokens (short-lived JWTs, HS256 only, issuer and audience checked) and refresh
//! tokens (opaque random strings, stored only as their SHA-256).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use craftastic_domain::{ErrorCode, UserId};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{ServiceError, ServiceResult};

pub const ISSUER: &str = "craftastic";
pub const AUDIENCE: &str = "craftastic-api";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    /// The refresh-token family this access token was issued with: lets a user end every
    /// other sign-in while keeping the current one.
    sid: Uuid,
    iss: String,
    aud: String,
    iat: i64,
    exp: i64,
}

/// Who a valid access token speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    pub user_id: UserId,
    pub family_id: Uuid,
}

#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    pub fn issue(
        &self,
        who: Principal,
        now: DateTime<Utc>,
        ttl_secs: i64,
    ) -> ServiceResult<String> {
        let claims = Claims {
            sub: who.user_id.0,
            sid: who.family_id,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now.timestamp(),
            exp: now.timestamp() + ttl_secs,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ServiceError::Internal(format!("signing access token: {e}")))
    }

    /// Checks signature, algorithm, expiry, issuer and audience.
    pub fn verify(&self, token: &str) -> ServiceResult<Principal> {
        use jsonwebtoken::errors::ErrorKind;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => ServiceError::Unauthorized {
                    code: ErrorCode::TokenExpired,
                    message: "access token expired; refresh it or sign in again",
                },
                _ => ServiceError::Unauthorized {
                    code: ErrorCode::InvalidToken,
                    message: "access token is not valid; sign in again",
                },
            })?;
        Ok(Principal {
            user_id: UserId(data.claims.sub),
            family_id: data.claims.sid,
        })
    }
}

/// A new refresh token: what the client gets, and what the store keeps.
pub fn new_refresh_token() -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_refresh_token(&token);
    (token, hash)
}

pub fn hash_refresh_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who() -> Principal {
        Principal {
            user_id: UserId::new(),
            family_id: Uuid::new_v4(),
        }
    }

    #[test]
    fn issued_token_verifies() {
        let keys = TokenKeys::new(b"0123456789abcdef0123456789abcdef");
        let p = who();
        let t = keys.issue(p, Utc::now(), 60).unwrap();
        assert_eq!(keys.verify(&t).unwrap(), p);
    }

    #[test]
    fn expired_forged_and_unsigned_tokens_are_refused() {
        let keys = TokenKeys::new(b"0123456789abcdef0123456789abcdef");
        let old = keys
            .issue(who(), Utc::now() - chrono::Duration::hours(1), 60)
            .unwrap();
        assert!(matches!(
            keys.verify(&old),
            Err(ServiceError::Unauthorized {
                code: ErrorCode::TokenExpired,
                ..
            })
        ));
        let forged = TokenKeys::new(b"another secret, 32 bytes long!!!")
            .issue(who(), Utc::now(), 60)
            .unwrap();
        assert!(keys.verify(&forged).is_err());
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD.encode(
            format!(r#"{{"sub":"{}","sid":"{}","iss":"craftastic","aud":"craftastic-api","iat":0,"exp":9999999999}}"#,
                Uuid::new_v4(), Uuid::new_v4()),
        );
        assert!(keys.verify(&format!("{header}.{body}.")).is_err());
    }
}
