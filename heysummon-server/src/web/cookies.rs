//! The dashboard's cookies (the session's, and a sign-in flow's): reading a cookie from the
//! `Cookie` headers, and `Set-Cookie` values that are always HttpOnly and SameSite=Lax,
//! `Secure` when people reach the server over https.

use axum::http::{HeaderMap, HeaderValue, header};
use cookie::{Cookie, SameSite};

use crate::clock::Millis;

/// Every value a request's `Cookie` headers carry under `name`: none, one, or (a cookie planted
/// beside ours by a sibling domain or for another path) several.
pub(crate) fn values(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| Cookie::parse(pair.trim()).ok())
        .filter(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_owned())
        .collect()
}

/// The `Set-Cookie` value giving the browser `name=value` under `path` for `max_age`.
pub(crate) fn set(
    name: &'static str,
    value: String,
    path: String,
    max_age: Millis,
    secure: bool,
) -> HeaderValue {
    let cookie = Cookie::build((name, value))
        .path(path)
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(cookie::time::Duration::milliseconds(max_age))
        .build();
    // Hex values, fixed names and paths, fixed attributes: always a valid header value.
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The `Set-Cookie` value removing the cookie `name` of `path`.
pub(crate) fn clear(name: &'static str, path: String, secure: bool) -> HeaderValue {
    set(name, String::new(), path, 0, secure)
}
