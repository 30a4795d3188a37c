//! `GET /api/events`: the caller's changes as server-sent events, pushed as they happen:
//! `session.activity`, `session.status`, `environment.status`, `workspace.status` and
//! `deployment.status`, each with a JSON object of ids and the new state, and
//! `notification` when an agent needs the caller and they turned browser notifications on
//! (see `notifications`). A `resync` event
//! says that changes were lost (the client fell behind) and everything should be read
//! again. A comment every 15 s keeps proxies from closing an idle stream. The stream ends
//! when the caller signs out or the server shuts down; clients reconnect (EventSource does
//! so by itself).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use craftastic_service::events::Received;
use futures::{Stream, StreamExt};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::Caller;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(events))
}

/// The caller's changes, as server-sent events (`text/event-stream`).
#[utoipa::path(get, path = "/api/events", tag = "events",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A stream of events named `session.activity`, `session.status`, `environment.status`, `workspace.status`, `deployment.status`, `notification` or `resync`, each with a JSON object", content_type = "text/event-stream", body = String),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 429, description = "Too many event streams open for this account", body = ErrorBody),
    ))]
async fn events(
    State(state): State<AppState>,
    Caller(who): Caller,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let listener = state.services.events.listen(who.user_id)?;
    let ended = {
        let auth = state.services.auth.clone();
        let mut closing = state.services.terminal.closing();
        async move {
            tokio::select! {
                () = auth.signed_out(who) => {}
                _ = closing.wait_for(|closing| *closing) => {}
            }
        }
    };
    let ready = futures::stream::once(async { Ok(Event::default().event("ready").data("{}")) });
    let changes = futures::stream::unfold(listener, |mut listener| async move {
        let event = match listener.next().await {
            Received::Event(event) => Event::default()
                .event(event.name())
                .json_data(&*event)
                .unwrap_or_else(|_| Event::default().event("resync").data("{}")),
            Received::Lagged => Event::default().event("resync").data("{}"),
        };
        Some((Ok(event), listener))
    });
    let stream = ready.chain(changes).take_until(Box::pin(ended));
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
