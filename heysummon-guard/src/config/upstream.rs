//! The upstream URL: which schemes and hosts the guard accepts.
//!
//! `https://` anywhere; plain `http://` only to this machine (127.0.0.0/8, `::1`, `localhost`),
//! because over plain HTTP the API key, the device token and every question cross the network
//! readable by anyone on the path. `--allow-insecure-upstream` (TOML `allow_insecure_upstream`,
//! `HEYSUMMON_ALLOW_INSECURE_UPSTREAM`) lifts that for a network the operator trusts.

use std::net::{IpAddr, Ipv6Addr};

use hyper::Uri;
use hyper::http::uri::Scheme;

use crate::error::Error;

/// Parses and checks the upstream URL: `http` or `https`, with a host, without a query. Whether
/// a plain `http://` upstream is allowed is [`check_plain_upstream`]'s question.
///
/// # Errors
/// [`Error::Config`] saying what is wrong with the URL.
pub fn parse_upstream(text: &str) -> Result<Uri, Error> {
    let bad = |why: &str| Error::Config(format!("upstream {text:?}: {why}"));
    let uri: Uri = text.parse().map_err(|_| bad("not a URL"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        Some(_) => return Err(bad("only https:// and http:// upstreams are supported")),
        None => return Err(bad("needs a scheme, e.g. https://heysummon.example.com")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(bad("needs a host"));
    }
    if uri.query().is_some() {
        return Err(bad("must not have a query"));
    }
    Ok(uri)
}

/// Whether `upstream` is reached over TLS.
pub fn is_https(upstream: &Uri) -> bool {
    upstream.scheme() == Some(&Scheme::HTTPS)
}

/// Refuses a plain `http://` upstream on another machine unless `allow_insecure` (the
/// operator's `--allow-insecure-upstream`).
///
/// # Errors
/// [`Error::Config`] naming the upstream, the risk and the two ways out.
pub fn check_plain_upstream(upstream: &Uri, allow_insecure: bool) -> Result<(), Error> {
    if is_https(upstream) || allow_insecure || upstream.host().is_some_and(is_loopback_host) {
        return Ok(());
    }
    Err(Error::Config(format!(
        "upstream {upstream}: plain http:// is only allowed to this machine (127.0.0.0/8, ::1, \
         localhost), because the API key and every question would cross the network \
         unencrypted; use https://, or pass --allow-insecure-upstream \
         (allow_insecure_upstream = true, HEYSUMMON_ALLOW_INSECURE_UPSTREAM=true) on a network \
         you trust"
    )))
}

/// Whether a URL's host names this machine: `localhost`, an IPv4 address in 127.0.0.0/8 or
/// `[::1]` (also IPv4-mapped loopback, `[::ffff:127.0.0.1]`).
pub fn is_loopback_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") || host.eq_ignore_ascii_case("localhost.") {
        return true;
    }
    let bare = host
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(host);
    match bare.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.is_loopback(),
        Ok(IpAddr::V6(v6)) => {
            v6 == Ipv6Addr::LOCALHOST || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain_ok(text: &str, allow: bool) -> bool {
        let uri = parse_upstream(text).expect("parses");
        check_plain_upstream(&uri, allow).is_ok()
    }

    #[test]
    fn schemes_hosts_and_queries() {
        for good in [
            "https://heysummon.example.com",
            "https://localhost:8443/prefix",
            "http://127.0.0.1:8080",
            "HTTPS://Example.COM",
        ] {
            assert!(parse_upstream(good).is_ok(), "{good}");
        }
        for (bad, why) in [
            ("ftp://example.com", "only https:// and http://"),
            ("127.0.0.1:8080", "scheme"),
            ("example.com", "scheme"),
            ("https://h/?q=1", "query"),
            ("nonsense with spaces", "not a URL"),
        ] {
            let error = parse_upstream(bad).expect_err(bad).to_string();
            assert!(error.contains(why), "{bad}: {error}");
            assert!(error.starts_with("invalid configuration"), "{error}");
        }
    }

    #[test]
    fn plain_http_only_to_this_machine() {
        for loopback in [
            "http://127.0.0.1:8080",
            "http://127.8.9.10",
            "http://localhost:8080",
            "http://LOCALHOST",
            "http://[::1]:8080",
            "http://[::ffff:127.0.0.1]:8080",
        ] {
            assert!(plain_ok(loopback, false), "{loopback}");
        }
        for remote in [
            "http://10.0.0.5:8080",
            "http://heysummon.example.com",
            "http://localhost.example.com",
            "http://[::2]",
            "http://0.0.0.0:8080",
            "http://128.0.0.1",
        ] {
            assert!(!plain_ok(remote, false), "{remote}");
            assert!(plain_ok(remote, true), "{remote} with the override");
        }
        let error =
            check_plain_upstream(&parse_upstream("http://10.0.0.5").expect("parses"), false)
                .expect_err("refused")
                .to_string();
        assert!(error.contains("--allow-insecure-upstream"), "{error}");
        assert!(error.contains("https://"), "{error}");
        // HTTPS needs no override, wherever it goes.
        assert!(plain_ok("https://10.0.0.5", false));
    }
}
