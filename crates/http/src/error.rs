//! The one error type of the HTTP layer and the JSON body every failure has:
//! `{"error": "...", "code": "...", "details": {...}}`.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use craftastic_domain::{ErrorCode, ValidationError};
use craftastic_service::ServiceError;
use serde::Serialize;
use utoipa::ToSchema;

/// What every 4xx and 5xx answer carries.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// One sentence a person can act on.
    #[schema(example = "password must be at least 10 characters")]
    pub error: String,
    /// A stable snake_case code for programs.
    pub code: ErrorCode,
    /// Extra facts, e.g. one message per field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
    pub details: Option<serde_json::Value>,
    retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            "sign in first: send the header Authorization: Bearer <access token>",
        )
    }

    /// Several field errors at once, so that a form can show them all.
    pub fn invalid_fields(errors: Vec<ValidationError>) -> Self {
        let message = errors
            .first()
            .map(|e| e.message.clone())
            .unwrap_or_default();
        let details = errors
            .iter()
            .map(|e| {
                (
                    e.field.to_string(),
                    serde_json::Value::String(e.message.clone()),
                )
            })
            .collect::<serde_json::Map<_, _>>();
        Self {
            details: Some(serde_json::json!({ "fields": details })),
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::InvalidInput,
                message,
            )
        }
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        Self::invalid_fields(vec![e])
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(v) => v.into(),
            ServiceError::InvalidFields(v) => Self::invalid_fields(v),
            ServiceError::Unauthorized { code, message } => {
                Self::new(StatusCode::UNAUTHORIZED, code, message)
            }
            ServiceError::Forbidden { code, message } => {
                Self::new(StatusCode::FORBIDDEN, code, message)
            }
            ServiceError::NotFound(what) => Self::new(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                format!("{what} not found"),
            ),
            ServiceError::Conflict { code, message } => {
                Self::new(StatusCode::CONFLICT, code, message)
            }
            ServiceError::TooMany(secs) => Self {
                retry_after: Some(secs),
                ..Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    ErrorCode::TooManyAttempts,
                    format!("too many failed attempts; try again in {secs} seconds"),
                )
            },
            ServiceError::RateLimited {
                message,
                retry_after,
            } => Self {
                retry_after: Some(retry_after),
                ..Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    ErrorCode::RateLimited,
                    message,
                )
            },
            ServiceError::LimitReached {
                setting,
                limit,
                message,
            } => Self {
                details: Some(serde_json::json!({ "setting": setting, "limit": limit })),
                ..Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    ErrorCode::LimitReached,
                    message,
                )
            },
            ServiceError::Busy {
                message,
                retry_after,
            } => Self {
                retry_after: Some(retry_after),
                ..Self::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Busy, message)
            },
            ServiceError::Upstream(message) => {
                Self::new(StatusCode::BAD_GATEWAY, ErrorCode::UpstreamFailed, message)
            }
            ServiceError::Unavailable(message) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Unavailable,
                message,
            ),
            ServiceError::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                Self::internal()
            }
        }
    }
}

impl ApiError {
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "something went wrong on the server; it has been logged",
        )
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
                "send a JSON body with the header Content-Type: application/json",
            ),
            JsonRejection::JsonSyntaxError(e) => Self::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidJson,
                format!(
                    "the body is not valid JSON: {}",
                    inner_message(&e.body_text())
                ),
            ),
            JsonRejection::JsonDataError(e) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::InvalidInput,
                format!(
                    "the body does not have the expected fields: {}",
                    inner_message(&e.body_text())
                ),
            ),
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => payload_too_large(),
            other => Self::new(other.status(), ErrorCode::BadRequest, other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::InvalidInput,
            format!("the query string is not valid: {}", rejection.body_text()),
        )
    }
}

pub fn payload_too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::PayloadTooLarge,
        format!(
            "the request body is larger than the {} KiB limit",
            crate::BODY_LIMIT / 1024
        ),
    )
}

/// serde's message without axum's "Failed to deserialize…" prefix.
fn inner_message(text: &str) -> &str {
    text.rsplit_once(": ").map_or(text, |(_, m)| m)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.message,
            code: self.code,
            details: self.details,
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Parses of several fields at once: all values, or one 422 listing every field's error so
/// that a form can show them all (pass `Ok(())` for an unused slot).
pub fn all_valid<A, B, C>(
    a: Result<A, ValidationError>,
    b: Result<B, ValidationError>,
    c: Result<C, ValidationError>,
) -> ApiResult<(A, B, C)> {
    match (a, b, c) {
        (Ok(a), Ok(b), Ok(c)) => Ok((a, b, c)),
        (a, b, c) => Err(ApiError::invalid_fields(
            [a.err(), b.err(), c.err()].into_iter().flatten().collect(),
        )),
    }
}

/// [`all_valid`] for six fields, each of which may find one bad field or several (a
/// list, or a group of fields such as a size).
pub fn all_valid6<A, B, C, D, E, F, EA, EB, EC, ED, EE, EF>(
    a: Result<A, EA>,
    b: Result<B, EB>,
    c: Result<C, EC>,
    d: Result<D, ED>,
    e: Result<E, EE>,
    f: Result<F, EF>,
) -> ApiResult<(A, B, C, D, E, F)>
where
    EA: Into<Vec<ValidationError>>,
    EB: Into<Vec<ValidationError>>,
    EC: Into<Vec<ValidationError>>,
    ED: Into<Vec<ValidationError>>,
    EE: Into<Vec<ValidationError>>,
    EF: Into<Vec<ValidationError>>,
{
    match (a, b, c, d, e, f) {
        (Ok(a), Ok(b), Ok(c), Ok(d), Ok(e), Ok(f)) => Ok((a, b, c, d, e, f)),
        (a, b, c, d, e, f) => {
            let mut errors = Vec::new();
            errors.extend(a.err().map(Into::into).unwrap_or_default());
            errors.extend(b.err().map(Into::into).unwrap_or_default());
            errors.extend(c.err().map(Into::into).unwrap_or_default());
            errors.extend(d.err().map(Into::into).unwrap_or_default());
            errors.extend(e.err().map(Into::into).unwrap_or_default());
            errors.extend(f.err().map(Into::into).unwrap_or_default());
            Err(ApiError::invalid_fields(errors))
        }
    }
}
