//! GraphiQL served from the binary (development mode): the page, and its assets embedded
//! at build time from the pinned copies in `assets/graphiql` (see the README there), so
//! the IDE works without network access. The page allows scripts, styles and connections
//! from this origin only (`Content-Security-Policy`).

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The assets, by the name they are served under (`/graphiql/assets/{name}`).
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("graphiql.min.js", "text/javascript; charset=utf-8", include_bytes!("../assets/graphiql/graphiql.min.js")),
    ("graphiql.min.css", "text/css; charset=utf-8", include_bytes!("../assets/graphiql/graphiql.min.css")),
    (
        "react.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/graphiql/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/graphiql/react-dom.production.min.js"),
    ),
    ("annex-graphiql.js", "text/javascript; charset=utf-8", include_bytes!("../assets/graphiql/annex-graphiql.js")),
];

/// Scripts and styles from this origin only (the bootstrap is a file, not an inline
/// script); GraphiQL's inline fonts and icons are `data:` URLs; the WebSocket endpoint is
/// this origin's.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data:; font-src 'self' data:; connect-src 'self' ws: wss:; \
                   base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// What the headers pane starts with: the shape of the header a token goes in.
const HEADERS_HINT: &str = "{\"Authorization\": \"Bearer <token from `annex token` or the start-up log>\"}";

fn escape_attr(s: &str) -> String {
    s.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The page: GraphiQL on `endpoint`, subscriptions over `subscription_endpoint`.
pub fn page(endpoint: &str, subscription_endpoint: &str) -> Response {
    let html = format!(
        r#"<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="robots" content="noindex">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Annex · GraphiQL</title>
    <link rel="stylesheet" href="/graphiql/assets/graphiql.min.css">
    <style>body {{ margin: 0; }} #graphiql {{ height: 100vh; }}</style>
  </head>
  <body>
    <div id="graphiql" data-endpoint="{endpoint}" data-subscription-endpoint="{ws}" data-headers-hint="{hint}">Loading…</div>
    <script src="/graphiql/assets/react.production.min.js"></script>
    <script src="/graphiql/assets/react-dom.production.min.js"></script>
    <script src="/graphiql/assets/graphiql.min.js"></script>
    <script src="/graphiql/assets/annex-graphiql.js"></script>
  </body>
</html>
"#,
        endpoint = escape_attr(endpoint),
        ws = escape_attr(subscription_endpoint),
        hint = escape_attr(HEADERS_HINT),
    );
    let mut res = axum::response::Html(html).into_response();
    res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// `GET /graphiql/assets/{name}`: an embedded asset, cacheable for a day (the names carry
/// no version; a new binary may serve new bytes).
pub async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
                (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400")),
                (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            ],
            *bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
