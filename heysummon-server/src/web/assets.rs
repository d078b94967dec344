//! The dashboard's files, compiled into the binary (PROTOCOL E1): the HTML page under a strict
//! Content-Security-Policy, and the ES modules, style sheet and icon under
//! `/assets/{version}/…`, where the version is a hash of every file, so each can be cached for
//! a year and a new build is never mixed with an old one.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// A file of the dashboard.
struct Asset {
    path: &'static str,
    mime: &'static str,
    bytes: &'static [u8],
}

macro_rules! assets {
    ($($path:literal => $mime:expr),* $(,)?) => {
        /// Every file under `heysummon-server/web/` but `index.html` (a test checks the list).
        const ASSETS: &[Asset] = &[$(Asset {
            path: $path,
            mime: $mime,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/web/", $path)),
        }),*];
    };
}

const JS: &str = "text/javascript; charset=utf-8";

assets! {
    "app.css" => "text/css; charset=utf-8",
    "icon.svg" => "image/svg+xml",
    "js/api.js" => JS,
    "js/app.js" => JS,
    "js/conversation.js" => JS,
    "js/decision.js" => JS,
    "js/crypto.js" => JS,
    "js/dom.js" => JS,
    "js/encoding.js" => JS,
    "js/envelope.js" => JS,
    "js/identity.js" => JS,
    "js/keys.js" => JS,
    "js/keystore.js" => JS,
    "js/live.js" => JS,
    "js/views/audit.js" => JS,
    "js/views/channels.js" => JS,
    "js/views/inbox.js" => JS,
    "js/views/keys.js" => JS,
    "js/views/request.js" => JS,
    "js/views/settings.js" => JS,
    "js/views/signin.js" => JS,
}

const INDEX_TEMPLATE: &str = include_str!("../../web/index.html");

/// What the page may load: its own origin only, no inline script or style, no `eval`, never
/// framed; and with Trusted Types and no policy, the browser itself refuses every sink that
/// would parse a string as HTML or script (the source check in the tests below is the second
/// line of defence).
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; manifest-src 'self'; \
    form-action 'self'; base-uri 'none'; frame-ancestors 'none'; \
    require-trusted-types-for 'script'; trusted-types 'none'";

/// The version in asset URLs: the first 16 hex digits of a hash over every file.
pub(crate) static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut hasher = Sha256::new();
    for asset in ASSETS {
        hasher.update(asset.path.as_bytes());
        hasher.update((asset.bytes.len() as u64).to_be_bytes());
        hasher.update(asset.bytes);
    }
    hasher.update(INDEX_TEMPLATE.as_bytes());
    hex::encode(&hasher.finalize()[..8])
});

static INDEX: LazyLock<String> =
    LazyLock::new(|| INDEX_TEMPLATE.replace("{{ASSETS}}", &format!("/assets/{}", *VERSION)));

/// The headers of every page: the policy, no sniffing, no referrer, no framing.
fn page_headers() -> [(HeaderName, HeaderValue); 6] {
    [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ]
}

/// The dashboard's page, for every path the dashboard routes itself (`/`, `/requests/{id}`,
/// `/keys`, `/settings`, `/signin`).
pub(crate) async fn page() -> Response {
    (page_headers(), INDEX.as_str()).into_response()
}

/// `GET /assets/{version}/{*path}`.
pub(crate) async fn asset(Path((version, path)): Path<(String, String)>) -> Response {
    let found = ASSETS.iter().find(|asset| asset.path == path);
    match found {
        Some(asset) if version == *VERSION => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(asset.mime)),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
                (
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ),
            ],
            asset.bytes,
        )
            .into_response(),
        _ => ApiError::not_found("Not found").into_response(),
    }
}

/// The total size of the dashboard's files, bytes (for the payload budget).
pub fn total_bytes() -> usize {
    INDEX.len() + ASSETS.iter().map(|asset| asset.bytes.len()).sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_of_the_dashboard_is_served() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
        let mut files = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    let relative = path.strip_prefix(&root).unwrap().to_string_lossy();
                    files.push(relative.replace('\\', "/"));
                }
            }
        }
        files.retain(|f| f != "index.html");
        files.sort();
        let mut listed: Vec<String> = ASSETS.iter().map(|a| a.path.to_owned()).collect();
        listed.sort();
        assert_eq!(
            files, listed,
            "list every file of web/ in assets! (and only those)"
        );
    }

    #[test]
    fn no_script_parses_markup_or_evaluates_text() {
        // What an agent wrote reaches the page only as text nodes: no sink that parses HTML
        // or evaluates strings, and nothing from another origin.
        let sinks = [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
            "createContextualFragment",
            "DOMParser",
            "https://",
        ];
        for asset in ASSETS.iter().filter(|a| a.path.ends_with(".js")) {
            let text = std::str::from_utf8(asset.bytes).unwrap();
            for sink in sinks {
                assert!(!text.contains(sink), "{} uses {sink}", asset.path);
            }
        }
    }

    #[test]
    fn the_dashboard_stays_small() {
        // PROTOCOL E1 / issue budget: all JS and CSS of a first load under 150 KiB.
        assert!(total_bytes() < 150 * 1024, "{} bytes", total_bytes());
    }

    #[test]
    fn the_page_names_the_versioned_assets() {
        assert!(INDEX.contains(&format!("/assets/{}/js/app.js", *VERSION)));
        assert!(!INDEX.contains("{{"));
        assert_eq!(VERSION.len(), 16);
    }
}
