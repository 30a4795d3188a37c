use craftastic_domain::{ErrorCode, ValidationError};
use craftastic_store::StoreError;

pub type ServiceResult<T> = Result<T, ServiceError>;

/// The one error type of the service layer. Each variant maps to one HTTP status in
/// `craftastic-http`; messages are sentences a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Input that parsed but broke a rule (422), with the field it came from.
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    /// Several fields that broke rules (422), each named, so that a form can show them all
    /// (never empty).
    #[error("{}", .0.first().map_or_else(String::new, ToString::to_string))]
    InvalidFields(Vec<ValidationError>),
    /// Missing or bad credentials (401).
    #[error("{message}")]
    Unauthorized {
        code: ErrorCode,
        message: &'static str,
    },
    /// Allowed for nobody in this configuration (403); never used to hide an object.
    #[error("{message}")]
    Forbidden { code: ErrorCode, message: String },
    /// A missing object, or one that belongs to somebody else (404).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A name or value that is already taken, or a state that forbids the change (409).
    #[error("{message}")]
    Conflict { code: ErrorCode, message: String },
    /// Too many attempts (429); the number is seconds until the next one may succeed.
    #[error("too many attempts; try again in {0} seconds")]
    TooMany(u64),
    /// Too many requests of one kind from one client address (429); `retry_after` is the
    /// seconds until the next one may succeed.
    #[error("{message}")]
    RateLimited { message: String, retry_after: u64 },
    /// A per-user limit is reached (429): `setting` names the server setting of its default,
    /// `limit` is the user's limit. Waiting does not help; freeing something up does.
    #[error("{message}")]
    LimitReached {
        setting: &'static str,
        limit: i64,
        message: String,
    },
    /// The server is too busy to take this now (503); try again after `retry_after` seconds.
    #[error("{message}")]
    Busy { message: String, retry_after: u64 },
    /// A feature that is not configured on this server, or not ready yet (503).
    #[error("{0}")]
    Unavailable(String),
    /// The container engine, GitHub or Coolify failed (502); the text says why.
    #[error("{0}")]
    Upstream(String),
    /// Anything else (500). The text is logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => ServiceError::Conflict {
                code: ErrorCode::Conflict,
                message: format!("{what} is already taken"),
            },
            StoreError::NotFound => ServiceError::NotFound("object"),
            other => ServiceError::Internal(other.to_string()),
        }
    }
}

impl From<craftastic_runtime::RuntimeError> for ServiceError {
    fn from(e: craftastic_runtime::RuntimeError) -> Self {
        ServiceError::Upstream(e.to_string())
    }
}
