//! The web UI: the files of `web/dist` (built by Vite), embedded in release builds and read
//! from the checkout in debug builds. Hashed assets are cached for a year; `index.html` is
//! revalidated on every load, and answers every path that is not a file (the SPA's routes).

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

#[derive(rust_embed::Embed)]
#[folder = "../../web/dist/"]
#[allow_missing = true]
struct Assets;

/// What the browser may load and from where: only this server, and no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; connect-src 'self' ws: wss:; \
    img-src 'self' data:; style-src 'self' 'unsafe-inline'; font-src 'self' data:; \
    object-src 'none'; base-uri 'self'; frame-ancestors 'none'";

const NOT_BUILT: &str = "<!doctype html><meta charset=utf-8><title>Craftastic</title>\
<p>The web UI is not part of this build of Craftastic. Build it with \
<code>npm --prefix web ci &amp;&amp; npm --prefix web run build</code>, then build Craftastic \
again (<code>scripts/run</code> does both). The API is served at <code>/api</code>.";

/// Serves a file of the UI, or `index.html` for any other path without a file extension.
pub async fn serve(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let path = uri.path().trim_start_matches('/');
    if let Some(file) = (!path.is_empty()).then(|| Assets::get(path)).flatten() {
        let immutable = path.starts_with("assets/");
        return file_response(&file, immutable, &headers);
    }
    let last = path.rsplit('/').next().unwrap_or_default();
    if last.contains('.') && !last.ends_with(".html") {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    }
    match Assets::get("index.html") {
        Some(index) => file_response(&index, false, &headers),
        None => page(StatusCode::SERVICE_UNAVAILABLE, NOT_BUILT),
    }
}

fn file_response(
    file: &rust_embed::EmbeddedFile,
    immutable: bool,
    request: &HeaderMap,
) -> Response {
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()[..16]));
    let cache = if immutable {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, v);
    }
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    if fresh {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    let mime = file.metadata.mimetype();
    if let Ok(v) = HeaderValue::from_str(mime) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    if mime.starts_with("text/html") {
        add_page_headers(&mut headers);
    }
    (StatusCode::OK, headers, file.data.clone()).into_response()
}

fn page(status: StatusCode, html: &'static str) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    add_page_headers(&mut headers);
    (status, headers, html).into_response()
}

fn add_page_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
