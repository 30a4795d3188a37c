//! The HTTP layer: thin handlers that parse and validate input, call one service function
//! and map its error. [`app`] builds the whole router; [`serve`] runs it on a listener until
//! a shutdown future completes, so that tests boot the real server on port 0.

mod admin;
pub mod agents;
pub mod auth;
pub mod client_addr;
pub mod deployments;
pub mod environments;
pub mod error;
mod events;
pub mod extract;
pub mod git;
pub mod github;
mod health;
mod metrics;
mod notifications;
pub mod sessions;
pub mod terminal;
pub mod users;
pub mod variables;
pub mod views;
mod web;

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::IntoResponse;
use craftastic_domain::ErrorCode;
use craftastic_service::Services;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::CorsLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;

use crate::error::ApiError;
pub use crate::metrics::Metrics;

/// The largest request body accepted; bigger ones answer 413.
pub const BODY_LIMIT: usize = 64 * 1024;

/// What every handler and middleware gets. Axum clones it several times per request (each
/// layer with state, each `State` extractor, the route itself), so it holds only `Arc`s:
/// cloning the services themselves copied every setting they keep and cost more than
/// answering `/healthz`.
#[derive(Clone)]
pub struct AppState {
    pub services: Arc<Services>,
    pub metrics: Arc<Metrics>,
}

/// Settings of the HTTP layer itself.
#[derive(Debug, Clone, Default)]
pub struct HttpSettings {
    /// A browser origin besides the server's own that may call the API (`CORS_ORIGIN`).
    pub cors_origin: Option<HeaderValue>,
    /// Proxies whose `X-Forwarded-For` names the client (`TRUSTED_PROXIES`).
    pub trusted_proxies: client_addr::TrustedProxies,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Craftastic",
        description = "Per-branch development containers with persistent terminals.",
        license(name = "AGPL-3.0-only")
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Accounts and tokens"),
        (name = "environments", description = "Repositories with per-branch workspaces"),
        (name = "sessions", description = "tmux sessions in the workspaces of branches"),
        (name = "notifications", description = "Being told when an agent needs you"),
        (name = "events", description = "The caller's changes, pushed as server-sent events"),
        (name = "terminal", description = "The browser terminal of a session (WebSocket)"),
        (name = "git", description = "Status, diff, log, commit and push inside a workspace"),
        (name = "deployments", description = "Coolify deployments of an environment's branch"),
        (name = "agents", description = "Coding agents and their encrypted credentials"),
        (name = "operations", description = "Health, readiness, metrics"),
        (name = "admin", description = "Users, their usage and their limits (admins only)"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The routes and their OpenAPI document, from the same handler definitions.
pub fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth::router())
        .merge(github::router())
        .merge(environments::router())
        .merge(variables::router())
        .merge(sessions::router())
        .merge(events::router())
        .merge(notifications::router())
        .merge(terminal::router())
        .merge(git::router())
        .merge(deployments::router())
        .merge(agents::router())
        .merge(admin::router())
        .merge(users::router())
        .merge(health::router())
        .split_for_parts();
    qualify_operation_ids(&mut doc);
    (router, doc)
}

/// Handlers are named by what they do within their feature (`sessions::status`,
/// `git::status`), so each operation id gets its tag in front to stay unique, as OpenAPI
/// requires (`sessions_status`, `git_status`).
fn qualify_operation_ids(doc: &mut utoipa::openapi::OpenApi) {
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            if let (Some(tag), Some(id)) =
                (op.tags.as_ref().and_then(|t| t.first()), &op.operation_id)
                && !id.starts_with(&format!("{tag}_"))
            {
                op.operation_id = Some(format!("{tag}_{id}"));
            }
        }
    }
}

/// The OpenAPI document that [`app`] serves at `/api/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().1
}

pub fn app(state: AppState, settings: &HttpSettings) -> Router {
    let (router, doc) = routes();
    let doc = Arc::new(doc);
    let request_id = HeaderName::from_static("x-request-id");
    let mut router = router
        .route(
            "/api/openapi.json",
            axum::routing::get(move || {
                let doc = doc.clone();
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::Extension(Arc::new(terminal::OriginPolicy {
            extra: settings.cors_origin.clone(),
        })))
        .layer(axum::Extension(Arc::new(settings.trusted_proxies.clone())))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CatchPanicLayer::custom(|_| ApiError::internal().into_response()))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
                let id = request
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), id)
            }),
        )
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid));
    if let Some(origin) = &settings.cors_origin {
        router = router.layer(
            CorsLayer::new()
                .allow_origin(origin.clone())
                .allow_methods([
                    Method::GET,
                    Method::POST,
                    Method::PUT,
                    Method::PATCH,
                    Method::DELETE,
                ])
                .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
                .max_age(Duration::from_secs(600)),
        );
    }
    router.with_state(state)
}

/// Paths under `/api` that name no route answer in the API's error format; every other
/// path belongs to the web UI.
async fn not_found(
    method: Method,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    if uri.path() == "/api" || uri.path().starts_with("/api/") {
        return api_not_found(uri).await.into_response();
    }
    web::serve(method, uri, headers).await
}

async fn api_not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        format!("no route for {}", uri.path()),
    )
}

async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::MethodNotAllowed,
        format!("{} does not accept {method}", uri.path()),
    )
}

/// Serves `app` on `listener` until `shutdown` completes, then lets the requests in flight
/// finish for at most `grace`. Whatever still runs then (a request waiting on an engine
/// that does not answer, say) is given up: this returns, and the caller exits. Terminal
/// WebSockets are not requests in flight: they close when the terminal service tells them
/// to, which the caller does in `shutdown`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let (signalled, mut signal) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        let _ = signalled.send(());
    })
    .into_future();
    tokio::pin!(server);
    tokio::select! {
        served = &mut server => return served,
        Ok(()) = &mut signal => {}
    }
    match tokio::time::timeout(grace, server).await {
        Ok(served) => served,
        Err(_) => {
            tracing::warn!(
                seconds = grace.as_secs_f32(),
                "requests still in flight after the shutdown grace period; closing them"
            );
            Ok(())
        }
    }
}
