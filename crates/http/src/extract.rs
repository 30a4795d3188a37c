//! Extractors that turn a request into validated input or an [`ApiError`].

use axum::extract::{FromRequest, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use craftastic_service::ServiceError;
use craftastic_service::tokens::Principal;

use crate::AppState;
pub use crate::client_addr::ClientAddr;
use crate::error::{ApiError, ApiResult};

/// `axum::Json`, but a bad body answers in the API's error format, and an answer is written
/// into a buffer that most answers fit in at once: axum's starts at 128 bytes and doubles,
/// seven copies for an environment list of 11 KB.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

/// The first size of an answer's buffer.
const ANSWER_BUFFER: usize = 4096;

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        let mut body = Vec::with_capacity(ANSWER_BUFFER);
        match serde_json::to_writer(&mut body, &self.0) {
            Ok(()) => (
                [(
                    header::CONTENT_TYPE,
                    header::HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response(),
            // What axum::Json answers when a value cannot be written.
            Err(e) => (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                [(
                    header::CONTENT_TYPE,
                    header::HeaderValue::from_static("text/plain; charset=utf-8"),
                )],
                e.to_string(),
            )
                .into_response(),
        }
    }
}

/// The signed-in caller, from `Authorization: Bearer <access token>` whose sign-in goes
/// on.
#[derive(Debug, Clone, Copy)]
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or_else(ApiError::unauthenticated)?;
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(ApiError::unauthenticated)?;
        Ok(Caller(state.services.auth.authenticate(token).await?))
    }
}

/// An id from a path; a malformed one names nothing, so it is a 404 like any unknown id.
pub fn path_id<T: std::str::FromStr>(raw: &str, what: &'static str) -> ApiResult<T> {
    raw.parse().map_err(|_| ServiceError::NotFound(what).into())
}

/// For `#[serde(default, deserialize_with = "present")]`: a field that is there, `null` or
/// not, is `Some(None)` for `null`; one left out stays `None`.
pub fn present<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}
