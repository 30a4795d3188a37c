//! Operations: liveness, readiness and metrics. These sit outside `/api` and need no token.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use craftastic_service::ServiceResult;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::Json;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
}

/// How long `/readyz` waits for each dependency: a probe must answer even when one hangs.
const CHECK_DEADLINE: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
    pub version: &'static str,
    /// Whether containers and records have been reconciled since the server started. The
    /// server answers before that (start-up reconciliation runs in the background); `false`
    /// for long means the container engine does not answer in time (see the log).
    pub reconciled: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ok` when every check passed, else `unavailable`.
    pub status: &'static str,
    /// Each dependency and what it answered: `ok` or the reason it is not ready.
    pub checks: std::collections::BTreeMap<&'static str, String>,
}

/// The process is up (it answers while start-up reconciliation still runs).
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Up", body = Health)))]
async fn healthz(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        reconciled: state.services.reconciler.reconciled(),
    })
}

/// The process can serve: its database and its container engine answer.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Readiness),
        (status = 503, description = "A dependency does not answer", body = Readiness),
    ))]
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let health = &state.services.health;
    let mut checks = std::collections::BTreeMap::new();
    checks.insert("database", check("database", health.database()).await);
    checks.insert(
        "containerEngine",
        check("container engine", health.engine()).await,
    );
    let ready = checks.values().all(|v| v == "ok");
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(Readiness {
            status: if ready { "ok" } else { "unavailable" },
            checks,
        }),
    )
}

/// `ok`, or why `what` is not ready (the error itself goes to the log, not to the prober).
async fn check(what: &str, probe: impl Future<Output = ServiceResult<()>>) -> String {
    match tokio::time::timeout(CHECK_DEADLINE, probe).await {
        Ok(Ok(())) => "ok".to_owned(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: {what} does not answer");
            format!("{what} does not answer")
        }
        Err(_) => format!("{what} does not answer in time"),
    }
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Metrics", content_type = "text/plain", body = String)))]
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
