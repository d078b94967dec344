//! Whom the guard trusts when its upstream is `https://`: one [`Trust`] for both of its
//! clients, the proxy's pooled upstream ([`crate::upstream`]) and the SDK client of its ask core
//! ([`crate::e2e`]).
//!
//! The roots are the system's (`rustls-native-certs`: `SSL_CERT_FILE`/`SSL_CERT_DIR`, else the
//! distribution's bundle). A system with none (a `scratch` or distroless image without
//! `ca-certificates`) gets Mozilla's roots compiled into the guard (`webpki-roots`) and a
//! warning, rather than a guard that cannot reach any public server. The certificates of the
//! `ca_file` (`--ca-file`, `HEYSUMMON_CA_FILE`) are trusted besides them, for a server with a
//! self-signed or private CA.
//!
//! The server's certificate is always verified, its name included; there is no setting to turn
//! that off. TLS is rustls with the `ring` provider, TLS 1.2 and 1.3, ALPN `http/1.1`.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use rustls::{ClientConfig, RootCertStore};

use crate::config::{Config, is_https};
use crate::error::Error;

/// Where the built-in part of the roots came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuiltInRoots {
    /// The system's root certificates.
    System,
    /// Mozilla's roots compiled into the guard, because the system had none.
    Mozilla,
    /// None loaded: the upstream is plain `http://` (only the CA file's certificates, if any).
    NotLoaded,
}

/// The guard's trust for its upstream: the roots, the rustls client configuration over them,
/// and how to give the same roots to the SDK client. Cheap to clone.
#[derive(Clone)]
pub struct Trust {
    built_in: BuiltInRoots,
    /// How many roots the rustls configuration holds.
    roots: usize,
    /// The certificates, as PEM, that the SDK client must add to its own built-in roots to
    /// trust exactly what the proxy trusts (see [`Trust::configure_sdk`]).
    sdk_pem: Arc<str>,
    config: Arc<ClientConfig>,
}

impl fmt::Debug for Trust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trust")
            .field("built_in", &self.built_in)
            .field("roots", &self.roots)
            .finish_non_exhaustive()
    }
}

impl Trust {
    /// The trust `config` asks for: the system's roots (or Mozilla's, see the module docs) plus
    /// [`Config::ca_file`] for an `https://` upstream; for a plain `http://` one no built-in
    /// roots are loaded, but the CA file is still read, so a broken one is found at startup.
    ///
    /// # Errors
    /// [`Error::Io`] when the CA file cannot be read; [`Error::Config`] when it holds no PEM
    /// certificate or one that cannot be a trust anchor.
    pub fn load(config: &Config) -> Result<Self, Error> {
        let extra = match &config.ca_file {
            Some(path) => read_ca_file(path)?,
            None => Vec::new(),
        };
        let mut store = RootCertStore::empty();
        let mut sdk_certs = Vec::new();
        let built_in = if is_https(&config.upstream) {
            let system = system_roots();
            for der in system {
                if store.add(der.clone()).is_ok() {
                    sdk_certs.push(der);
                }
            }
            if store.is_empty() {
                tracing::warn!(
                    "no usable root certificates on this system (install ca-certificates, or set \
                     SSL_CERT_FILE); trusting the Mozilla roots built into the guard"
                );
                store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                BuiltInRoots::Mozilla
            } else {
                BuiltInRoots::System
            }
        } else {
            BuiltInRoots::NotLoaded
        };
        for der in extra {
            // `read_ca_file` checked that each one is accepted.
            if store.add(der.clone()).is_ok() {
                sdk_certs.push(der);
            }
        }
        let roots = store.len();
        let mut tls =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| Error::Config(format!("TLS: {e}")))?
                .with_root_certificates(store)
                .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            built_in,
            roots,
            sdk_pem: to_pem(&sdk_certs).into(),
            config: Arc::new(tls),
        })
    }

    /// Where the built-in roots came from.
    pub fn built_in(&self) -> BuiltInRoots {
        self.built_in
    }

    /// How many root certificates are trusted.
    pub fn roots(&self) -> usize {
        self.roots
    }

    /// The rustls client configuration (ring, the roots, ALPN `http/1.1`).
    pub fn client_config(&self) -> Arc<ClientConfig> {
        self.config.clone()
    }

    /// Gives an SDK client builder exactly these roots. The SDK's own built-in roots are
    /// Mozilla's (the same `webpki-roots` the guard falls back to): with the system's roots
    /// they are replaced by the system's; the CA file's certificates are added in both cases.
    /// For a plain `http://` upstream the builder is left as it is.
    pub fn configure_sdk(
        &self,
        builder: heysummon_sdk::client::ClientBuilder,
    ) -> heysummon_sdk::client::ClientBuilder {
        let builder = match self.built_in {
            BuiltInRoots::NotLoaded => return builder,
            BuiltInRoots::System => builder.built_in_root_certificates(false),
            BuiltInRoots::Mozilla => builder,
        };
        if self.sdk_pem.is_empty() {
            builder
        } else {
            builder.add_root_certificates_pem(self.sdk_pem.as_bytes())
        }
    }
}

/// The system's root certificates; read errors are logged (a store often holds a few
/// certificates rustls cannot use, which are skipped).
fn system_roots() -> Vec<CertificateDer<'static>> {
    let result = rustls_native_certs::load_native_certs();
    for error in &result.errors {
        tracing::debug!(%error, "skipped part of the system's root certificates");
    }
    result.certs
}

/// The certificates of a PEM CA file: at least one, each usable as a trust anchor.
fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let pem = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
    let bad = |why: String| Error::Config(format!("ca_file {}: {why}", path.display()));
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("not a PEM file of certificates ({e})")))?;
    if certs.is_empty() {
        return Err(bad(
            "no certificate in it (expected -----BEGIN CERTIFICATE----- blocks)".into(),
        ));
    }
    let mut check = RootCertStore::empty();
    for (i, der) in certs.iter().enumerate() {
        check.add(der.clone()).map_err(|e| {
            bad(format!(
                "certificate {} cannot be a trust anchor: {e}",
                i + 1
            ))
        })?;
    }
    Ok(certs)
}

/// DER certificates as a PEM bundle.
fn to_pem(certs: &[CertificateDer<'_>]) -> String {
    use base64::Engine as _;
    let mut pem = String::new();
    for der in certs {
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        let text = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
        for line in text.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
    }
    pem
}

#[cfg(test)]
mod tests;
