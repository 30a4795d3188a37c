//! Accounts: registration, sign-in, refresh-token rotation with reuse detection, sign-out,
//! password changes, and the access-token check every other route relies on.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use craftastic_domain::{Email, ErrorCode, Password, UserId, UserName};
use craftastic_store::{
    AdminGrant, NewRefreshToken, NewUser, NextRefreshToken, Rotation, Store, User,
};
use serde_json::json;
use uuid::Uuid;

use crate::passwords::Passwords;
use crate::ratelimit::{AddressLimiter, RateLimit};
use crate::signins::{FRESH_FOR, SignIns};
use crate::tokens::{self, Principal, TokenKeys};
use crate::{ServiceError, ServiceResult};

#[derive(Clone)]
pub struct AuthSettings {
    pub keys: TokenKeys,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    pub allow_registration: bool,
    /// How many password hashes may run at once (`PASSWORD_HASH_CONCURRENCY`).
    pub password_hashers: usize,
    /// Sign-in attempts per client address (`LOGIN_RATE_LIMIT_PER_MINUTE`).
    pub login_rate: RateLimit,
    /// Registrations per client address (`REGISTER_RATE_LIMIT_PER_HOUR`).
    pub register_rate: RateLimit,
}

impl AuthSettings {
    /// Hashing slots, when none are configured: one per CPU, at least two.
    pub fn default_password_hashers() -> usize {
        std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(2)
            .max(2)
    }
}

/// What a successful sign-in, registration or refresh hands to the client.
#[derive(Debug)]
pub struct Grant {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
}

#[derive(Clone)]
pub struct Auth {
    store: Arc<dyn Store>,
    settings: AuthSettings,
    limiter: Arc<LoginLimiter>,
    passwords: Passwords,
    sign_ins: SignIns,
    logins_by_address: Arc<AddressLimiter>,
    registrations_by_address: Arc<AddressLimiter>,
}

const BAD_CREDENTIALS: ServiceError = ServiceError::Unauthorized {
    code: ErrorCode::InvalidCredentials,
    message: "email or password is wrong",
};
const BAD_REFRESH: ServiceError = ServiceError::Unauthorized {
    code: ErrorCode::InvalidRefreshToken,
    message: "refresh token is not valid; sign in again",
};

impl Auth {
    pub fn new(store: Arc<dyn Store>, settings: AuthSettings) -> Self {
        Self {
            passwords: Passwords::new(settings.password_hashers),
            sign_ins: SignIns::new(store.clone()),
            logins_by_address: Arc::new(AddressLimiter::new(settings.login_rate)),
            registrations_by_address: Arc::new(AddressLimiter::new(settings.register_rate)),
            store,
            settings,
            limiter: Arc::new(LoginLimiter::default()),
        }
    }

    pub fn access_ttl(&self) -> Duration {
        self.settings.access_ttl
    }

    /// Verifies an access token and that its sign-in goes on (see [`SignIns`]).
    /// Fails: bad or expired token → 401; the sign-in has ended → 401 `signed_out`.
    pub async fn authenticate(&self, access_token: &str) -> ServiceResult<Principal> {
        let who = self.settings.keys.verify(access_token)?;
        self.sign_ins.check(who).await?;
        Ok(who)
    }

    /// Fails: the sign-in of `who` has ended → 401 `signed_out`.
    pub async fn ensure_signed_in(&self, who: Principal) -> ServiceResult<()> {
        self.sign_ins.check(who).await
    }

    /// Completes once the sign-in of `who` has ended, noticed within about twice
    /// [`FRESH_FOR`] (at once on this server, within [`FRESH_FOR`] of a check). For
    /// connections that outlive requests, such as terminals.
    pub async fn signed_out(&self, who: Principal) {
        loop {
            tokio::time::sleep(FRESH_FOR).await;
            match self.sign_ins.check(who).await {
                Ok(()) => {}
                Err(ServiceError::Unauthorized { .. }) => return,
                // The database failing says nothing about the sign-in; ask again later.
                Err(e) => tracing::warn!(error = %e, "could not check a sign-in"),
            }
        }
    }

    /// Forgets what this server knows of the user's sign-ins; call it after ending any of
    /// them in the store, so that their access tokens stop working with the next request.
    pub fn forget_sign_ins(&self, user: UserId) {
        self.sign_ins.forget_user(user);
    }

    /// Creates an account and signs it in. The first account becomes admin.
    /// Fails: registration closed → 403 `registration_closed`; too many registrations from
    /// `from` → 429 `rate_limited`; email taken → 409 `email_taken`; every hashing slot busy
    /// → 503 `busy`.
    pub async fn register(
        &self,
        email: Email,
        password: Password,
        name: UserName,
        from: Option<IpAddr>,
    ) -> ServiceResult<(User, Grant)> {
        if !self.settings.allow_registration {
            return Err(ServiceError::Forbidden {
                code: ErrorCode::RegistrationClosed,
                message:
                    "registration is closed on this server; ask an admin to create your account"
                        .into(),
            });
        }
        if let Some(addr) = from {
            let limiter = &self.registrations_by_address;
            limiter.take(addr).map_err(|secs| ServiceError::RateLimited {
                message: format!(
                    "too many accounts were created from your address (at most {}, REGISTER_RATE_LIMIT_PER_HOUR); try again in {secs} seconds",
                    limiter.limit().describe()
                ),
                retry_after: secs,
            })?;
        }
        let user = self
            .create_user(email, password, name, AdminGrant::IfFirst)
            .await?;
        let grant = self.start_family(user.id).await?;
        crate::audit::record(
            self.store.as_ref(),
            Some(user.id),
            "auth.register",
            None,
            "ok",
            json!({ "admin": user.is_admin }),
        )
        .await;
        Ok((user, grant))
    }

    /// Creates an account without signing it in (the `user create` command).
    /// Fails: email taken → 409 `email_taken`; every hashing slot busy → 503 `busy`.
    pub async fn create_user(
        &self,
        email: Email,
        password: Password,
        name: UserName,
        admin: AdminGrant,
    ) -> ServiceResult<User> {
        let password_hash = self.passwords.hash(password).await?;
        self.store
            .create_user(NewUser {
                id: UserId::new(),
                email,
                name,
                password_hash,
                admin,
                now: Utc::now(),
            })
            .await
            .map_err(|e| match e {
                craftastic_store::StoreError::Conflict(_) => ServiceError::Conflict {
                    code: ErrorCode::EmailTaken,
                    message: "an account with this email already exists; sign in instead".into(),
                },
                other => other.into(),
            })
    }

    /// Signs in. Unknown email and wrong password give the same 401 in about the same time.
    /// Fails: too many attempts from `from` → 429 `rate_limited`; too many failures for
    /// this email → 429; bad credentials → 401 `invalid_credentials`; every hashing slot
    /// busy → 503 `busy`.
    pub async fn login(
        &self,
        email: Email,
        password: Password,
        from: Option<IpAddr>,
    ) -> ServiceResult<(User, Grant)> {
        if let Some(addr) = from {
            let limiter = &self.logins_by_address;
            limiter.take(addr).map_err(|secs| ServiceError::RateLimited {
                message: format!(
                    "too many sign-in attempts from your address (at most {}, LOGIN_RATE_LIMIT_PER_MINUTE); try again in {secs} seconds",
                    limiter.limit().describe()
                ),
                retry_after: secs,
            })?;
        }
        self.limiter.check(email.as_str())?;
        let user = self.store.get_user_by_email(&email).await?;
        let ok = self
            .passwords
            .verify(password, user.as_ref().map(|u| u.password_hash.clone()))
            .await?;
        let Some(user) = user.filter(|_| ok) else {
            self.limiter.failed(email.as_str());
            crate::audit::record(
                self.store.as_ref(),
                None,
                "auth.login",
                None,
                "invalid_credentials",
                json!({}),
            )
            .await;
            return Err(BAD_CREDENTIALS);
        };
        self.limiter.succeeded(email.as_str());
        let grant = self.start_family(user.id).await?;
        crate::audit::record(
            self.store.as_ref(),
            Some(user.id),
            "auth.login",
            None,
            "ok",
            json!({}),
        )
        .await;
        Ok((user, grant))
    }

    /// Exchanges a live refresh token for a new pair; the presented token stops working.
    /// Fails: unknown or expired → 401; already used → 401 and its whole family revoked
    /// (someone else holds a copy).
    pub async fn refresh(&self, refresh_token: &str) -> ServiceResult<Grant> {
        let now = Utc::now();
        let (token, hash) = tokens::new_refresh_token();
        let next = NextRefreshToken {
            id: Uuid::new_v4(),
            token_hash: hash,
            created_at: now,
            expires_at: now + self.settings.refresh_ttl,
        };
        let presented = tokens::hash_refresh_token(refresh_token);
        match self
            .store
            .rotate_refresh_token(&presented, next, now)
            .await?
        {
            Rotation::Rotated { user_id, family_id } => {
                let access_token = self.access_token(user_id, family_id)?;
                Ok(Grant {
                    access_token,
                    refresh_token: token,
                    expires_in: self.settings.access_ttl.as_secs(),
                })
            }
            Rotation::Reused { user_id, family_id } => {
                tracing::warn!(%user_id, %family_id, "refresh token reused; family revoked");
                self.sign_ins.forget_user(user_id);
                crate::audit::record(
                    self.store.as_ref(),
                    Some(user_id),
                    "auth.refresh",
                    None,
                    "reuse_detected",
                    json!({ "family": family_id }),
                )
                .await;
                Err(ServiceError::Unauthorized {
                    code: ErrorCode::RefreshTokenReused,
                    message: "this refresh token was already used, so every sign-in made with it has been ended; sign in again",
                })
            }
            Rotation::Expired | Rotation::Unknown => Err(BAD_REFRESH),
        }
    }

    /// Ends the sign-in that `refresh_token` belongs to: its refresh and access tokens stop
    /// working (open terminals of it close within seconds). Idempotent; a token of another
    /// user changes nothing.
    pub async fn logout(&self, who: Principal, refresh_token: &str) -> ServiceResult<()> {
        let hash = tokens::hash_refresh_token(refresh_token);
        let revoked = self
            .store
            .revoke_refresh_family_of(who.user_id, &hash)
            .await?;
        self.sign_ins.forget_user(who.user_id);
        crate::audit::record(
            self.store.as_ref(),
            Some(who.user_id),
            "auth.logout",
            None,
            if revoked { "ok" } else { "noop" },
            json!({}),
        )
        .await;
        Ok(())
    }

    /// Ends every sign-in of the user, this one included.
    pub async fn logout_all(&self, who: Principal) -> ServiceResult<()> {
        let n = self
            .store
            .revoke_user_refresh_tokens(who.user_id, None)
            .await?;
        self.sign_ins.forget_user(who.user_id);
        crate::audit::record(
            self.store.as_ref(),
            Some(who.user_id),
            "auth.logout_all",
            None,
            "ok",
            json!({ "revoked": n }),
        )
        .await;
        Ok(())
    }

    /// Fails: the user was deleted → 401 (the token outlived its account).
    pub async fn me(&self, who: Principal) -> ServiceResult<User> {
        self.store
            .get_user(who.user_id)
            .await?
            .ok_or(ServiceError::Unauthorized {
                code: ErrorCode::InvalidToken,
                message: "this account no longer exists; sign in again",
            })
    }

    /// Changes the password and ends every other sign-in of the user; the caller's stays.
    /// Fails: wrong current password → 401 `invalid_credentials` (after the same checks as a
    /// login, so it cannot be used to guess faster).
    pub async fn change_password(
        &self,
        who: Principal,
        current: Password,
        new: Password,
    ) -> ServiceResult<()> {
        let user = self.me(who).await?;
        self.limiter.check(user.email.as_str())?;
        if !self
            .passwords
            .verify(current, Some(user.password_hash))
            .await?
        {
            self.limiter.failed(user.email.as_str());
            crate::audit::record(
                self.store.as_ref(),
                Some(user.id),
                "auth.change_password",
                None,
                "invalid_credentials",
                json!({}),
            )
            .await;
            return Err(ServiceError::Unauthorized {
                code: ErrorCode::InvalidCredentials,
                message: "current password is wrong",
            });
        }
        let hash = self.passwords.hash(new).await?;
        self.store.update_password_hash(user.id, &hash).await?;
        let n = self
            .store
            .revoke_user_refresh_tokens(user.id, Some(who.family_id))
            .await?;
        self.sign_ins.forget_user(user.id);
        crate::audit::record(
            self.store.as_ref(),
            Some(user.id),
            "auth.change_password",
            None,
            "ok",
            json!({ "revokedOtherSignIns": n }),
        )
        .await;
        Ok(())
    }

    async fn start_family(&self, user_id: UserId) -> ServiceResult<Grant> {
        let family_id = Uuid::new_v4();
        let (token, hash) = tokens::new_refresh_token();
        self.store
            .insert_refresh_token(self.new_token_row(user_id, family_id, hash))
            .await?;
        Ok(Grant {
            access_token: self.access_token(user_id, family_id)?,
            refresh_token: token,
            expires_in: self.settings.access_ttl.as_secs(),
        })
    }

    fn new_token_row(
        &self,
        user_id: UserId,
        family_id: Uuid,
        token_hash: Vec<u8>,
    ) -> NewRefreshToken {
        let now = Utc::now();
        NewRefreshToken {
            id: Uuid::new_v4(),
            user_id,
            family_id,
            token_hash,
            created_at: now,
            expires_at: now + self.settings.refresh_ttl,
        }
    }

    fn access_token(&self, user_id: UserId, family_id: Uuid) -> ServiceResult<String> {
        let ttl = self.settings.access_ttl.as_secs() as i64;
        self.settings
            .keys
            .issue(Principal { user_id, family_id }, Utc::now(), ttl)
    }
}

/// Failed sign-ins per email: after [`LoginLimiter::MAX_FAILURES`] inside the window, the
/// email is refused until the window has passed. Kept in memory: it slows guessing on one
/// server; it is not an account lock.
#[derive(Default)]
struct LoginLimiter {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginLimiter {
    const MAX_FAILURES: u32 = 10;
    const WINDOW: Duration = Duration::from_secs(15 * 60);

    fn check(&self, email: &str) -> ServiceResult<()> {
        let map = self.failures.lock().expect("limiter lock");
        if let Some((count, since)) = map.get(email) {
            let elapsed = since.elapsed();
            if *count >= Self::MAX_FAILURES && elapsed < Self::WINDOW {
                return Err(ServiceError::TooMany(
                    (Self::WINDOW - elapsed).as_secs().max(1),
                ));
            }
        }
        Ok(())
    }

    fn failed(&self, email: &str) {
        let mut map = self.failures.lock().expect("limiter lock");
        if map.len() > 100_000 {
            map.retain(|_, (_, since)| since.elapsed() < Self::WINDOW);
        }
        let entry = map.entry(email.to_owned()).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= Self::WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    fn succeeded(&self, email: &str) {
        self.failures.lock().expect("limiter lock").remove(email);
    }
}
