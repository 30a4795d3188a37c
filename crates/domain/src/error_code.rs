//! The stable `code` of every error answer: the one list of them, so that the service that
//! refuses and the HTTP layer that answers cannot disagree on a spelling, and the OpenAPI
//! document lists them all.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What went wrong, for programs; the `error` sentence is for people. A client that meets
/// a code it does not know goes by the HTTP status.
// The variants are grouped by the status that carries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    // 400
    /// A request axum could not take apart (a bad path or header).
    BadRequest,
    /// The body is not JSON.
    InvalidJson,
    /// The query string is not of the documented shape.
    InvalidQuery,
    /// A terminal route was called without a WebSocket handshake.
    WebsocketRequired,

    // 401
    /// No `Authorization: Bearer` header.
    Unauthenticated,
    /// Wrong email or password.
    InvalidCredentials,
    /// The refresh token is unknown, expired or revoked.
    InvalidRefreshToken,
    /// The access token, ticket or account is not valid.
    InvalidToken,
    /// The access token expired; refresh it.
    TokenExpired,
    /// The sign-in of this token has ended.
    SignedOut,
    /// A refresh token was presented twice: its whole family is revoked.
    RefreshTokenReused,

    // 403
    /// Only an admin may do this.
    AdminOnly,
    /// Registration is closed on this server.
    RegistrationClosed,
    /// The Coolify application is not bound to the environment.
    ApplicationNotBound,
    /// A page of another origin may not open terminals.
    OriginNotAllowed,

    // 404
    /// No such route or object, or not yours to see.
    NotFound,

    // 405
    /// The route does not accept this method.
    MethodNotAllowed,

    // 409
    /// A value already taken.
    Conflict,
    /// The name is already used.
    NameTaken,
    /// An account with this email exists.
    EmailTaken,
    /// The environment is being created or deleted.
    NotReady,
    /// The environment is not running.
    NotRunning,
    /// An admin may not delete their own account.
    CannotDeleteSelf,
    /// The caller has not linked a GitHub account.
    GithubNotLinked,
    /// GitHub revoked the linked token; link again.
    GithubTokenRevoked,
    /// The worktree has nothing to commit.
    NothingToCommit,
    /// The remote refused the push.
    PushRejected,
    /// git failed; the message has its last lines.
    GitFailed,
    /// git printed more than the answer may carry.
    OutputTooLarge,
    /// The session's shell has ended.
    SessionEnded,
    /// The caller has not set a notification webhook.
    WebhookNotSet,
    /// The session has no recording (recordings are off, or its image cannot record).
    NotRecorded,

    // 413
    /// The body is larger than the limit.
    PayloadTooLarge,

    // 415
    /// The body is not sent as `application/json`.
    UnsupportedMediaType,

    // 422
    /// A field broke a rule; `details.fields` names each.
    InvalidInput,

    // 429
    /// Too many failed sign-ins; see `Retry-After`.
    TooManyAttempts,
    /// Too many requests from this address; see `Retry-After`.
    RateLimited,
    /// A per-user limit is reached; `details` names it.
    LimitReached,

    // 500
    /// A failure of the server itself (logged, never described).
    Internal,

    // 502
    /// The container engine, GitHub or Coolify failed.
    UpstreamFailed,

    // 503
    /// The server is too busy now; see `Retry-After`.
    Busy,
    /// A feature not configured on this server, or not ready yet.
    Unavailable,
}

impl ErrorCode {
    /// Every code, in the order of the enum.
    pub const ALL: &[ErrorCode] = &[
        Self::BadRequest,
        Self::InvalidJson,
        Self::InvalidQuery,
        Self::WebsocketRequired,
        Self::Unauthenticated,
        Self::InvalidCredentials,
        Self::InvalidRefreshToken,
        Self::InvalidToken,
        Self::TokenExpired,
        Self::SignedOut,
        Self::RefreshTokenReused,
        Self::AdminOnly,
        Self::RegistrationClosed,
        Self::ApplicationNotBound,
        Self::OriginNotAllowed,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::Conflict,
        Self::NameTaken,
        Self::EmailTaken,
        Self::NotReady,
        Self::NotRunning,
        Self::CannotDeleteSelf,
        Self::GithubNotLinked,
        Self::GithubTokenRevoked,
        Self::NothingToCommit,
        Self::PushRejected,
        Self::GitFailed,
        Self::OutputTooLarge,
        Self::SessionEnded,
        Self::WebhookNotSet,
        Self::NotRecorded,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::InvalidInput,
        Self::TooManyAttempts,
        Self::RateLimited,
        Self::LimitReached,
        Self::Internal,
        Self::UpstreamFailed,
        Self::Busy,
        Self::Unavailable,
    ];

    /// The code as it is on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::InvalidJson => "invalid_json",
            Self::InvalidQuery => "invalid_query",
            Self::WebsocketRequired => "websocket_required",
            Self::Unauthenticated => "unauthenticated",
            Self::InvalidCredentials => "invalid_credentials",
            Self::InvalidRefreshToken => "invalid_refresh_token",
            Self::InvalidToken => "invalid_token",
            Self::TokenExpired => "token_expired",
            Self::SignedOut => "signed_out",
            Self::RefreshTokenReused => "refresh_token_reused",
            Self::AdminOnly => "admin_only",
            Self::RegistrationClosed => "registration_closed",
            Self::ApplicationNotBound => "application_not_bound",
            Self::OriginNotAllowed => "origin_not_allowed",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict => "conflict",
            Self::NameTaken => "name_taken",
            Self::EmailTaken => "email_taken",
            Self::NotReady => "not_ready",
            Self::NotRunning => "not_running",
            Self::CannotDeleteSelf => "cannot_delete_self",
            Self::GithubNotLinked => "github_not_linked",
            Self::GithubTokenRevoked => "github_token_revoked",
            Self::NothingToCommit => "nothing_to_commit",
            Self::PushRejected => "push_rejected",
            Self::GitFailed => "git_failed",
            Self::OutputTooLarge => "output_too_large",
            Self::SessionEnded => "session_ended",
            Self::WebhookNotSet => "webhook_not_set",
            Self::NotRecorded => "not_recorded",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::InvalidInput => "invalid_input",
            Self::TooManyAttempts => "too_many_attempts",
            Self::RateLimited => "rate_limited",
            Self::LimitReached => "limit_reached",
            Self::Internal => "internal",
            Self::UpstreamFailed => "upstream_failed",
            Self::Busy => "busy",
            Self::Unavailable => "unavailable",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use utoipa::PartialSchema;

    use super::ErrorCode;

    /// The wire strings predate the enum and clients match on them: the web UI on
    /// `name_taken`, `email_taken`, `push_rejected`, `github_not_linked`,
    /// `invalid_credentials` among others.
    #[test]
    fn every_code_round_trips_as_its_wire_string() {
        for &code in ErrorCode::ALL {
            let wire = serde_json::to_value(code).unwrap();
            assert_eq!(wire, serde_json::Value::from(code.as_str()), "{code:?}");
            assert_eq!(
                serde_json::from_value::<ErrorCode>(wire).unwrap(),
                code,
                "{code:?}"
            );
        }
    }

    #[test]
    fn codes_are_unique() {
        let distinct: HashSet<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(distinct.len(), ErrorCode::ALL.len());
    }

    /// The schema lists every variant, so a variant missing from `ALL` shows up here.
    #[test]
    fn all_lists_every_variant_of_the_schema() {
        let schema = serde_json::to_value(ErrorCode::schema()).unwrap();
        let listed: Vec<&str> = schema["enum"]
            .as_array()
            .expect("an enum schema")
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let all: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(listed, all);
    }

    #[test]
    fn the_readme_lists_every_code() {
        let readme = include_str!("../../../README.md");
        for code in ErrorCode::ALL {
            assert!(
                readme.contains(&format!("`{code}`")),
                "README.md does not list `{code}` among the error codes"
            );
        }
    }

    #[test]
    fn unknown_codes_do_not_parse() {
        assert!(serde_json::from_str::<ErrorCode>("\"NameTaken\"").is_err());
        assert!(serde_json::from_str::<ErrorCode>("\"teapot\"").is_err());
    }
}
