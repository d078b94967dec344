//! Where the browser finds the dashboard's JavaScript.
//!
//! [`dashboard`]: the server's own dashboard (`GET /`, assets under `/assets/<version>/…`,
//! PROTOCOL E1), on 127.0.0.1 (a secure context for WebCrypto). [`stand_in`]: a tiny static
//! server of the tests' own, serving `heysummon-server/web` under `/assets/test/` and the test
//! pages of `tests/browser/fixtures` under `/fixtures/`, with a strict CSP like the dashboard's
//! (the driver's own test uses it).

use std::path::{Component, Path, PathBuf};

use axum::Router;
use axum::extract::Path as UrlPath;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use heysummon_server::testing::TestApp;
use tokio::task::JoinHandle;

/// The CSP of the stand-in page: scripts, styles and connections from this origin only.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// An origin serving the dashboard's modules.
#[derive(Debug)]
pub struct Dashboard {
    /// The page to open: `http://127.0.0.1:PORT/`.
    pub page_url: String,
    /// The absolute path (on that origin) of `js/crypto.js`, for `import()`.
    pub crypto_module: String,
    /// The absolute path of `js/keystore.js`.
    pub keystore_module: String,
    server: Option<JoinHandle<()>>,
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// The server's own dashboard. Panics when `GET /` does not name versioned assets or the
/// server does not serve `js/crypto.js` among them.
pub async fn dashboard(app: &TestApp) -> Dashboard {
    let prefix = served_assets(app)
        .await
        .expect("the server serves its dashboard and js/crypto.js under /assets/<version>/");
    Dashboard {
        page_url: format!("{}/", app.base),
        crypto_module: format!("{prefix}js/crypto.js"),
        keystore_module: format!("{prefix}js/keystore.js"),
        server: None,
    }
}

/// `/assets/<hash>/` when the server's `GET /` references it and serves `js/crypto.js` there.
async fn served_assets(app: &TestApp) -> Option<String> {
    let page = app.http.get(format!("{}/", app.base)).send().await.ok()?;
    if !page.status().is_success() {
        return None;
    }
    let html = page.text().await.ok()?;
    let start = html.find("/assets/")?;
    let rest = &html[start + "/assets/".len()..];
    let hash = &rest[..rest.find('/')?];
    let prefix = format!("/assets/{hash}/");
    let module = app
        .http
        .get(format!("{}{prefix}js/crypto.js", app.base))
        .send()
        .await
        .ok()?;
    module.status().is_success().then_some(prefix)
}

/// Serves `heysummon-server/web` under `/assets/test/` and a blank page at `/`.
pub async fn stand_in() -> Dashboard {
    let router = Router::new()
        .route("/", get(blank_page))
        .route("/assets/test/{*path}", get(asset))
        .route("/fixtures/{*path}", get(fixture));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Dashboard {
        page_url: format!("http://{addr}/"),
        crypto_module: "/assets/test/js/crypto.js".to_owned(),
        keystore_module: "/assets/test/js/keystore.js".to_owned(),
        server: Some(server),
    }
}

async fn blank_page() -> Response {
    let html = "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\">\
                <title>HeySummon test page</title><body><main id=\"test\"></main></body></html>";
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CSP),
        ],
        html,
    )
        .into_response()
}

fn web_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("heysummon-server/web")
}

async fn asset(UrlPath(path): UrlPath<String>) -> Response {
    serve_file(&web_root(), &path).await
}

/// The test pages of `tests/browser/fixtures` (the driver's own test).
async fn fixture(UrlPath(path): UrlPath<String>) -> Response {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/fixtures");
    serve_file(&root, &path).await
}

async fn serve_file(root: &Path, path: &str) -> Response {
    let relative = Path::new(path);
    if !relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return StatusCode::NOT_FOUND.into_response();
    }
    let content_type = match relative.extension().and_then(|e| e.to_str()) {
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("html") => "text/html; charset=utf-8",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    };
    match tokio::fs::read(root.join(relative)).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CONTENT_SECURITY_POLICY, CSP),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}
