//! The web UI, embedded from `web/dist` at compile time. A checkout without the built UI still
//! compiles (the folder may be missing) and `/` then serves a page saying how to build it.
//! Any path that is not a file of the build falls back to `index.html` (the UI routes itself).

use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};

#[derive(rust_embed::Embed)]
#[folder = "$CARGO_MANIFEST_DIR/../../web/dist"]
#[allow_missing = true]
struct WebDist;

const NOT_BUILT: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>flatspace: UI not built</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem}
code{background:#eee;padding:.1rem .3rem;border-radius:3px}</style></head>
<body data-testid="ui-not-built"><h1>flatspace</h1>
<p>The server and its API are running, but this binary was built without the web UI.</p>
<p>Build the UI, then rebuild the binary:</p>
<pre><code>cd web &amp;&amp; npm ci &amp;&amp; npm run build
cargo build --release -p flatspace-cli</code></pre>
<p>or run <code>./scripts/demo</code>, which does both. The API is at <a href="/api/v1/projects">/api/v1/projects</a>.</p>
</body></html>"#;

/// Whether the binary holds a UI build.
pub fn ui_is_built() -> bool {
    WebDist::get("index.html").is_some()
}

fn file_response(path: &str, file: rust_embed::EmbeddedFile) -> Response {
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    // Vite names files under assets/ by content hash: they never change under the same name.
    let cache = if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut response = file.data.into_owned().into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(mime.as_ref()) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// Serves a file of the UI build, `index.html` for any other path, or the how-to-build page.
pub async fn serve_ui(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    if !path.is_empty() {
        if let Some(file) = WebDist::get(path) {
            return file_response(path, file);
        }
        // A missing hashed asset is a real 404, not a route of the single-page app.
        if path.starts_with("assets/") {
            return (StatusCode::NOT_FOUND, format!("no UI file {path}")).into_response();
        }
    }
    match WebDist::get("index.html") {
        Some(index) => file_response("index.html", index),
        None => Html(NOT_BUILT).into_response(),
    }
}
