//! The two builders: [`ClientBuilder`] for an agent's [`Client`], [`ExpertClientBuilder`] for an
//! [`ExpertClient`]. Both wrap the same connection settings and share their setters; each adds
//! only what makes sense for its side.

use std::sync::Arc;

use super::connection::{ConnectionSettings, connection_setters};
use super::outcome::{DecisionTrust, EncryptionPolicy};
use super::transport::ApiKey;
use super::{Client, ExpertClient};
use crate::Error;
use crate::keys::{Fingerprint, SigningKeyPair};
use crate::signing::RequestSigner;

/// Configures a [`Client`], an agent's client (a client key, `hs_cli_…`). Start with
/// [`Client::builder`]. `Debug` never shows the API key, the device token or a private key.
#[derive(Debug, Default)]
pub struct ClientBuilder {
    connection: ConnectionSettings,
    device_key: Option<RequestSigner>,
    device_token: Option<ApiKey>,
    encryption: EncryptionPolicy,
    decision_trust: DecisionTrust,
    expert_fingerprint: Option<String>,
}

impl ClientBuilder {
    connection_setters!();

    /// Signs every request with this device key (PROTOCOL B4), so a Rust agent gets signed
    /// requests without the guard. Enroll the key's public half with the server first
    /// ([`Client::enroll_device`], or `heysummon-server client add --device-key`).
    #[must_use]
    pub fn device_key(mut self, key: SigningKeyPair) -> Self {
        self.device_key = Some(RequestSigner::new(key));
        self
    }

    /// Sends `x-device-token: TOKEN` with every request, for an API key bound to a device token
    /// (`heysummon-server client add --device-token`). Kept like the API key: zeroized, never
    /// printed.
    #[must_use]
    pub fn device_token(mut self, token: impl Into<String>) -> Self {
        self.device_token = Some(ApiKey::new(token.into()));
        self
    }

    /// Which decisions on an approval count (PROTOCOL H4). Default
    /// [`DecisionTrust::SignedWhenSealed`].
    #[must_use]
    pub fn decision_trust(mut self, trust: DecisionTrust) -> Self {
        self.decision_trust = trust;
        self
    }

    /// Whether questions are sealed to the expert's published keys. Default
    /// [`EncryptionPolicy::Preferred`].
    #[must_use]
    pub fn encryption(mut self, policy: EncryptionPolicy) -> Self {
        self.encryption = policy;
        self
    }

    /// Pins the expert's key fingerprint from configuration (64 hex digits, spaces allowed):
    /// questions are sealed only to keys with this fingerprint, and any other published key is
    /// refused with [`Error::ExpertKeyChanged`]. Without it, the first key seen is pinned in the
    /// key store (trust on first use).
    #[must_use]
    pub fn expert_fingerprint(mut self, fingerprint: impl Into<String>) -> Self {
        self.expert_fingerprint = Some(fingerprint.into());
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`Error::Config`] without a base URL or API key, for a URL that is not `http(s)` or has a
    /// query or fragment, for an API key or device token that cannot be a header value, for a
    /// malformed expert fingerprint or zero retry attempts, for root certificates that are not
    /// PEM certificates, or when the HTTP client cannot be made.
    pub fn build(self) -> Result<Client, Error> {
        let inner = self
            .connection
            .connect(self.device_token, self.device_key)?;
        let expert_fingerprint = self
            .expert_fingerprint
            .as_deref()
            .map(|text| {
                Fingerprint::parse(text)
                    .ok_or_else(|| Error::config("expert fingerprint: not 64 hex digits"))
            })
            .transpose()?;
        Ok(Client {
            inner: Arc::new(inner),
            encryption: self.encryption,
            decision_trust: self.decision_trust,
            expert_fingerprint,
        })
    }
}

/// Configures an [`ExpertClient`] (an expert key, `hs_exp_…`). Start with
/// [`ExpertClient::builder`]. Give it a [`crate::keystore::FileKeyStore`] to keep the expert's
/// private key across restarts: agents pin the expert's published key, and a new one every start
/// would be refused. `Debug` never shows the API key.
///
/// It has the connection settings of [`ClientBuilder`] and nothing of the agent's side: an expert
/// key neither signs with a device key nor is bound to a device token, and the expert does not
/// choose whether questions are sealed.
#[derive(Debug, Default)]
pub struct ExpertClientBuilder {
    connection: ConnectionSettings,
}

impl ExpertClientBuilder {
    connection_setters!();

    /// Builds the expert client.
    ///
    /// # Errors
    /// [`Error::Config`] without a base URL or API key, for a URL that is not `http(s)` or has a
    /// query or fragment, for an API key that cannot be a header value, for zero retry attempts,
    /// for root certificates that are not PEM certificates, or when the HTTP client cannot be
    /// made.
    pub fn build(self) -> Result<ExpertClient, Error> {
        let inner = self.connection.connect(None, None)?;
        Ok(ExpertClient::from_inner(Arc::new(inner)))
    }
}
