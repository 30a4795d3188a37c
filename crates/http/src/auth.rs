//! `/api/auth/*`: accounts and tokens.

use axum::extract::State;
use axum::http::StatusCode;
use craftastic_domain::{Email, Password, UserName};
use craftastic_service::auth::Grant;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody, all_valid};
use crate::extract::{Caller, ClientAddr, Json};
use crate::views::UserView;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(logout_all))
        .routes(routes!(me))
        .routes(routes!(change_password))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokensView {
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

impl From<Grant> for TokensView {
    fn from(g: Grant) -> Self {
        Self {
            access_token: g.access_token,
            refresh_token: g.refresh_token,
            expires_in: g.expires_in,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignedIn {
    pub user: UserView,
    #[serde(flatten)]
    pub tokens: TokensView,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterRequest {
    #[schema(example = "ada@example.com")]
    pub email: String,
    /// At least 10 characters.
    pub password: String,
    #[schema(example = "Ada Lovelace")]
    pub name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    /// At least 10 characters.
    pub new_password: String,
}

/// Create an account and sign in. The first account of a server is its admin.
#[utoipa::path(post, path = "/api/auth/register", tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created and signed in", body = SignedIn),
        (status = 403, description = "Registration is closed", body = ErrorBody),
        (status = 409, description = "Email already registered", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
        (status = 429, description = "Too many registrations from this address; see Retry-After", body = ErrorBody),
        (status = 503, description = "Too busy hashing passwords; see Retry-After", body = ErrorBody),
    ))]
async fn register(
    State(state): State<AppState>,
    ClientAddr(from): ClientAddr,
    Json(body): Json<RegisterRequest>,
) -> ApiResult<(StatusCode, Json<SignedIn>)> {
    let (email, password, name) = all_valid(
        Email::parse(&body.email),
        Password::new(body.password, "password"),
        UserName::parse(&body.name),
    )?;
    let (user, grant) = state
        .services
        .auth
        .register(email, password, name, from)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(SignedIn {
            user: user.into(),
            tokens: grant.into(),
        }),
    ))
}

/// Sign in with email and password.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = SignedIn),
        (status = 401, description = "Email or password is wrong", body = ErrorBody),
        (status = 429, description = "Too many attempts from this address, or failures for this email; see Retry-After", body = ErrorBody),
        (status = 503, description = "Too busy hashing passwords; see Retry-After", body = ErrorBody),
    ))]
async fn login(
    State(state): State<AppState>,
    ClientAddr(from): ClientAddr,
    Json(body): Json<LoginRequest>,
) -> ApiResult<Json<SignedIn>> {
    let email = Email::parse(&body.email)?;
    let password = Password::existing(body.password, "password")?;
    let (user, grant) = state.services.auth.login(email, password, from).await?;
    Ok(Json(SignedIn {
        user: user.into(),
        tokens: grant.into(),
    }))
}

/// Exchange a refresh token for a new pair. The presented token stops working; presenting
/// it again ends every sign-in made from it.
#[utoipa::path(post, path = "/api/auth/refresh", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens", body = TokensView),
        (status = 401, description = "Unknown, expired or reused refresh token", body = ErrorBody),
    ))]
async fn refresh(
    State(state): State<AppState>,
    Json(body): Json<RefreshRequest>,
) -> ApiResult<Json<TokensView>> {
    Ok(Json(
        state
            .services
            .auth
            .refresh(&body.refresh_token)
            .await?
            .into(),
    ))
}

/// End the sign-in that this refresh token belongs to.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth",
    request_body = RefreshRequest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
async fn logout(
    State(state): State<AppState>,
    Caller(who): Caller,
    Json(body): Json<RefreshRequest>,
) -> ApiResult<StatusCode> {
    state.services.auth.logout(who, &body.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// End every sign-in of the caller, on every device.
#[utoipa::path(post, path = "/api/auth/logout-all", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Every refresh token revoked"),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
async fn logout_all(State(state): State<AppState>, Caller(who): Caller) -> ApiResult<StatusCode> {
    state.services.auth.logout_all(who).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/auth/me", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = UserView),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
async fn me(State(state): State<AppState>, Caller(who): Caller) -> ApiResult<Json<UserView>> {
    Ok(Json(state.services.auth.me(who).await?.into()))
}

/// Change the password. Every other sign-in of the user ends; this one stays.
#[utoipa::path(post, path = "/api/auth/change-password", tag = "auth",
    request_body = ChangePasswordRequest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Password changed"),
        (status = 401, description = "Current password is wrong, or not signed in", body = ErrorBody),
        (status = 422, description = "New password breaks a rule", body = ErrorBody),
        (status = 503, description = "Too busy hashing passwords; see Retry-After", body = ErrorBody),
    ))]
async fn change_password(
    State(state): State<AppState>,
    Caller(who): Caller,
    Json(body): Json<ChangePasswordRequest>,
) -> ApiResult<StatusCode> {
    let current = Password::existing(body.current_password, "currentPassword");
    let new = Password::new(body.new_password, "newPassword");
    let (current, new, ()) = all_valid(current, new, Ok(()))?;
    state
        .services
        .auth
        .change_password(who, current, new)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
