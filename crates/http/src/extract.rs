//! Extractors that turn a request into validated input or an [`ApiError`].

use axum::extract::{FromRequest, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use craftastic_service::ServiceError;
use craftastic_service::tokens::Principal;

use crate::AppState;
pub use crate::client_addr::ClientAddr;
use crate::error::{ApiError, ApiResult};

/// `axum::Json`, but a bad body answers in the API's error format.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
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
