//! Health, readiness, metrics, the error format of unknown routes, and the OpenAPI document
//! matching what the router serves.

use craftastic_testkit::{Backend, TestServer, on_both_backends};
use serde_json::Value;

on_both_backends!(
    health_readiness_and_metrics_answer,
    unknown_routes_and_methods_answer_in_the_error_format,
    every_documented_route_is_served
);

/// The web UI is served from `web/dist` (built by `scripts/test` before the tests run).
#[tokio::test]
async fn the_web_ui_is_served_with_caching_headers_and_spa_fallback() {
    let s = TestServer::start(Backend::Sqlite).await;
    let index = s.http.get(s.url("/")).send().await.unwrap();
    assert_eq!(
        index.status(),
        200,
        "the web UI is not built: run `npm --prefix web ci && npm --prefix web run build` (scripts/test does)"
    );
    let headers = index.headers().clone();
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(headers["cache-control"], "no-cache");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let html = index.text().await.unwrap();
    let asset = html
        .split('"')
        .find(|p| p.starts_with("/assets/") && p.ends_with(".js"))
        .unwrap_or_else(|| panic!("no script in index.html: {html}"))
        .to_owned();

    // Any route of the SPA gets index.html; missing files and API paths do not.
    let deep = s
        .http
        .get(s.url("/environments/123/terminal/456"))
        .send()
        .await
        .unwrap();
    assert_eq!(deep.status(), 200);
    assert_eq!(deep.text().await.unwrap(), html);
    let missing = s.http.get(s.url("/assets/nope.js")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let (status, body) = s.call("GET", "/api/nope", None, None).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));

    let js = s.http.get(s.url(&asset)).send().await.unwrap();
    assert_eq!(js.status(), 200);
    assert_eq!(
        js.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("javascript")
    );
    let etag = js.headers()["etag"].clone();
    let again = s
        .http
        .get(s.url(&asset))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
}

async fn health_readiness_and_metrics_answer(backend: Backend) {
    let s = TestServer::start(backend).await;
    let (status, body) = s.call("GET", "/healthz", None, None).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, body) = s.call("GET", "/readyz", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(body["checks"]["database"], "ok");
    let res = s.http.get(s.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(
        text.contains(
            r#"craftastic_http_requests_total{method="GET",route="/readyz",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains("craftastic_http_request_duration_seconds_bucket"));
    let store = if backend == Backend::Sqlite {
        "sqlite"
    } else {
        "postgres"
    };
    assert!(text.contains(&format!(r#"store="{store}""#)));
    let res = s.http.get(s.url("/healthz")).send().await.unwrap();
    assert!(res.headers().contains_key("x-request-id"));
}

async fn unknown_routes_and_methods_answer_in_the_error_format(backend: Backend) {
    let s = TestServer::start(backend).await;
    let (status, body) = s.call("GET", "/api/nothing-here", None, None).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("/api/nothing-here")
    );
    let (status, body) = s.call("DELETE", "/api/auth/login", None, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (405, Some("method_not_allowed"))
    );
}

/// The served document lists every route; each answers with something other than the
/// router's "no such route".
async fn every_documented_route_is_served(backend: Backend) {
    let s = TestServer::start(backend).await;
    let (status, doc) = s.call("GET", "/api/openapi.json", None, None).await;
    assert_eq!(status, 200);
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 10, "{paths:?}");
    for (path, item) in paths {
        let concrete = path.replace("{id}", &uuid::Uuid::new_v4().to_string());
        for method in item.as_object().unwrap().keys() {
            let (status, body) = s.call(&method.to_uppercase(), &concrete, None, None).await;
            assert_ne!(status, 405, "{method} {path}: {body}");
            let unrouted = status == 404
                && body["error"]
                    .as_str()
                    .is_some_and(|e| e.starts_with("no route"));
            assert!(!unrouted, "{method} {path} is documented but not served");
            let _: &Value = &body;
        }
    }
}
