//! Every call the server makes to the outside (PROTOCOL F5): one HTTP client for the
//! configured third-party APIs and one for the user-given webhook URLs, whose every address
//! (literal or resolved, on each connection) must be public unless the configuration allows
//! private networks. Timeouts on every call, no redirects, bodies read up to a bound, and
//! errors that never carry a URL (Telegram's holds the bot token).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::config::ChannelsConfig;

/// Longest answer body read from a third party.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

/// Why a delivery failed, and how long the other side asked us to wait.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SendError {
    /// What went wrong, for the channel's `lastError` (never a secret).
    pub(crate) message: String,
    /// The other side's `Retry-After` / `retry_after`.
    pub(crate) retry_after: Option<Duration>,
    /// The service refused for good (a 4xx other than 408 and 429): trying the same again will
    /// not help.
    pub(crate) permanent: bool,
}

impl SendError {
    /// A failure worth retrying.
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retry_after: None,
            permanent: false,
        }
    }

    /// The service answered `status`: permanent for a 4xx other than 408 and 429.
    pub(crate) fn answered(
        status: reqwest::StatusCode,
        message: impl Into<String>,
        retry_after: Option<Duration>,
    ) -> Self {
        Self {
            message: message.into(),
            retry_after,
            permanent: is_refusal(status),
        }
    }

    /// A transport failure, without the URL.
    pub(crate) fn from_http(error: reqwest::Error) -> Self {
        let kind = if error.is_timeout() {
            "timed out"
        } else if error.is_connect() {
            "could not connect"
        } else {
            "request failed"
        };
        // The innermost cause says why (a name resolving only to private addresses, a
        // refused connection); reqwest's own message says only "error sending request". The
        // causes never hold the URL.
        let mut cause = None;
        let mut source = std::error::Error::source(&error);
        while let Some(inner) = source {
            cause = Some(inner.to_string());
            source = inner.source();
        }
        let detail = error.without_url().to_string();
        match cause {
            Some(cause) if cause != detail => Self::new(format!("{kind}: {detail} ({cause})")),
            _ => Self::new(format!("{kind}: {detail}")),
        }
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The clients of the delivery task. A client that could not be made (no TLS roots, say)
/// fails every call: there is no fallback without the timeouts or the address rules.
#[derive(Clone, Debug)]
pub(crate) struct Outbound {
    /// For the configured APIs (Telegram, Slack, Discord); honours the environment's proxy.
    api: Option<reqwest::Client>,
    /// For webhook URLs: no proxy (a proxy would resolve names past the address rules).
    webhooks: Option<reqwest::Client>,
    allow_private: bool,
}

impl Outbound {
    pub(crate) fn new(config: &ChannelsConfig) -> Self {
        let builder = || {
            reqwest::Client::builder()
                .timeout(Duration::from_secs(config.timeout_secs))
                .connect_timeout(Duration::from_secs(config.timeout_secs.min(5)))
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("HeySummon-rs/", env!("CARGO_PKG_VERSION")))
                .pool_idle_timeout(Duration::from_secs(60))
        };
        let webhooks = if config.allow_private_networks {
            builder().no_proxy()
        } else {
            builder().no_proxy().dns_resolver(Arc::new(PublicOnly))
        };
        let made = |client: reqwest::Result<reqwest::Client>| {
            client
                .inspect_err(|error| {
                    tracing::error!(%error, "no HTTP client for the channels: they cannot send");
                })
                .ok()
        };
        Self {
            api: made(builder().build()),
            webhooks: made(webhooks.build()),
            allow_private: config.allow_private_networks,
        }
    }

    /// The client for the configured APIs.
    pub(crate) fn api(&self) -> Result<&reqwest::Client, SendError> {
        self.api.as_ref().ok_or_else(no_client)
    }

    /// The client for webhook URLs.
    pub(crate) fn webhooks(&self) -> Result<&reqwest::Client, SendError> {
        self.webhooks.as_ref().ok_or_else(no_client)
    }

    /// Refuses a webhook URL whose host is a literal non-public address (names are checked
    /// when they resolve, on every connection).
    pub(crate) fn check_webhook(&self, url: &reqwest::Url) -> Result<(), SendError> {
        if self.allow_private {
            return Ok(());
        }
        match url.host() {
            Some(url::Host::Ipv4(ip)) if !is_public(IpAddr::V4(ip)) => Err(refused()),
            Some(url::Host::Ipv6(ip)) if !is_public(IpAddr::V6(ip)) => Err(refused()),
            Some(_) => Ok(()),
            None => Err(SendError::new("the URL has no host")),
        }
    }

    /// [`Outbound::check_webhook`], and the name resolved now: for `channel add`, so a
    /// private target is refused at once rather than at the first delivery.
    pub(crate) async fn check_webhook_now(&self, url: &reqwest::Url) -> Result<(), SendError> {
        self.check_webhook(url)?;
        if self.allow_private {
            return Ok(());
        }
        if let Some(url::Host::Domain(name)) = url.host() {
            public_addresses(name)
                .await
                .map_err(|e| SendError::new(e.to_string()))?;
        }
        Ok(())
    }
}

fn no_client() -> SendError {
    SendError::new("the server has no HTTP client for channels (see its log)")
}

fn refused() -> SendError {
    SendError::new(
        "the URL points to a loopback, private, link-local or metadata address; \
         set [channels] allow_private_networks = true to allow it",
    )
}

/// Checks a webhook URL's form: http or https, a host, no credentials, at most 2048 bytes.
pub(crate) fn check_url_syntax(text: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(text).map_err(|e| format!("url is not a valid URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("url must be http or https".to_owned());
    }
    if url.host().is_none() {
        return Err("url must have a host".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("url must not carry credentials".to_owned());
    }
    if text.len() > 2048 {
        return Err("url must be at most 2048 characters".to_owned());
    }
    Ok(url.to_string())
}

/// Whether an address is on the public internet: not loopback, private, link-local (the cloud
/// metadata service included), shared, unspecified, multicast, broadcast or reserved.
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            let segments = v6.segments();
            let embedded = |hi: u16, lo: u16| {
                let [a, b] = hi.to_be_bytes();
                let [c, d] = lo.to_be_bytes();
                Ipv4Addr::new(a, b, c, d)
            };
            // Forms that carry an IPv4 address are as public as that address.
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            if segments[..6] == [0, 0, 0, 0, 0xffff, 0] {
                return is_public_v4(embedded(segments[6], segments[7])); // IPv4-translated
            }
            if segments[..6] == [0x0064, 0xff9b, 0, 0, 0, 0] {
                return is_public_v4(embedded(segments[6], segments[7])); // NAT64
            }
            if segments[0] == 0x2002 {
                return is_public_v4(embedded(segments[1], segments[2])); // 6to4
            }
            let first = segments[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || (first & 0xffc0) == 0xfec0 // site-local
                || segments[..6] == [0, 0, 0, 0, 0, 0] // IPv4-compatible
                || (first == 0x2001 && segments[1] == 0x0db8) // documentation
                || (first == 0x2001 && segments[1] == 0) // Teredo
                || segments[..4] == [0x0100, 0, 0, 0] // discard-only
                || first == 0x0064 && segments[1] == 0xff9b) // local-use NAT64
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240)
}

/// Resolves a name and keeps only public addresses; an error when none is left.
async fn public_addresses(name: &str) -> Result<Vec<SocketAddr>, std::io::Error> {
    let resolved: Vec<SocketAddr> = tokio::net::lookup_host((name, 0)).await?.collect();
    let public: Vec<SocketAddr> = resolved
        .into_iter()
        .filter(|address| is_public(address.ip()))
        .collect();
    if public.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            refused().message,
        ));
    }
    Ok(public)
}

/// The webhook client's resolver: public addresses only, checked on every connection (so a
/// name that later resolves to a private address is refused then too).
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let name = name.as_str().to_owned();
        Box::pin(async move {
            let addresses = public_addresses(&name).await?;
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

/// What a service answered: its status, its `Retry-After`, and its body as JSON (`Null` when
/// it is not JSON).
pub(crate) struct Answer {
    pub(crate) status: reqwest::StatusCode,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) json: serde_json::Value,
}

/// Sends a request and reads its answer (a bounded body, so the connection is reused): the
/// one exchange of every channel kind.
pub(crate) async fn exchange(request: reqwest::RequestBuilder) -> Result<Answer, SendError> {
    let response = request.send().await.map_err(SendError::from_http)?;
    let status = response.status();
    let retry_after = retry_after_header(&response);
    let json = serde_json::from_slice(&bounded_body(response).await?).unwrap_or_default();
    Ok(Answer {
        status,
        retry_after,
        json,
    })
}

/// Reads an answer's body, at most [`MAX_BODY_BYTES`] (the rest is not read).
async fn bounded_body(mut response: reqwest::Response) -> Result<Vec<u8>, SendError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(SendError::from_http)? {
        let room = MAX_BODY_BYTES - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_BODY_BYTES {
            break;
        }
    }
    Ok(body)
}

/// Whether an answer's status means the request itself is refused (4xx but 408 and 429).
pub(crate) fn is_refusal(status: reqwest::StatusCode) -> bool {
    status.is_client_error()
        && status != reqwest::StatusCode::REQUEST_TIMEOUT
        && status != reqwest::StatusCode::TOO_MANY_REQUESTS
}

/// The `Retry-After` header in seconds, if any.
fn retry_after_header(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(reqwest::header::RETRY_AFTER)?;
    let seconds: f64 = value.to_str().ok()?.trim().parse().ok()?;
    seconds_duration(seconds)
}

/// A number of seconds a third party asked for, capped at an hour.
pub(crate) fn seconds_duration(seconds: f64) -> Option<Duration> {
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds.min(3600.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::",
            "255.255.255.255",
            "224.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "64:ff9b::5db8:d822",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn webhook_urls_are_checked() {
        assert!(check_url_syntax("ftp://example.com").is_err());
        assert!(check_url_syntax("https://user:pw@example.com").is_err());
        assert!(check_url_syntax("not a url").is_err());
        assert_eq!(
            check_url_syntax("https://example.com/hook").unwrap(),
            "https://example.com/hook"
        );
    }
}
