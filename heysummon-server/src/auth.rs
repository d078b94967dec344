//! Who is calling: client keys (agents) and expert keys, looked up by SHA-256 hash (keys are
//! stored only as hashes, so the look-up's timing depends on the hash, never on how much of a
//! key matched), device tokens compared in constant time, per-key rate limits, and the signed
//! requests of PROTOCOL B4 with a persistent nonce store.

use heysummon_sdk::SignatureRejection;
use heysummon_sdk::keys::SignPublicKey;
use heysummon_sdk::signing::{
    HEADER_API_KEY, RequestParts, SignatureHeaders, VerifyWindow, verify_without_nonce,
};
use subtle::ConstantTimeEq;

use crate::audit::Actor;
use crate::error::{ApiError, ApiResult};
use crate::http::ApiRequest;
use crate::ids::hash_secret;
use crate::lifecycle::Viewer;
use crate::state::AppState;
use crate::store::{ClientKeyRecord, ExpertRecord};

/// A client key's `last_used_at` is written at most this often.
const LAST_USED_EVERY_MS: crate::clock::Millis = 60 * 1000;

/// The header carrying a device token.
pub const DEVICE_TOKEN_HEADER: &str = "x-device-token";

/// An authenticated caller of an endpoint that takes either kind of key.
#[derive(Clone, Debug)]
pub enum Caller {
    /// A client (agent) key.
    Client(ClientKeyRecord),
    /// An expert key.
    Expert(ExpertRecord),
}

impl Caller {
    /// Who this caller is when looking at requests (the tenancy rule is [`Viewer::may_see`]).
    pub fn viewer(&self) -> Viewer<'_> {
        match self {
            Self::Client(key) => Viewer::Client(&key.id),
            Self::Expert(expert) => Viewer::Expert(&expert.id),
        }
    }

    /// Who this caller is in the audit log.
    pub fn actor(&self) -> Actor {
        match self {
            Self::Client(key) => Actor::Client(key.id.clone()),
            Self::Expert(expert) => Actor::Expert(expert.id.clone()),
        }
    }
}

/// Which rate-limit budget a client key's request spends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Budget {
    /// The per-key request limit.
    Requests,
    /// Opening event streams: limited per key by the events limit instead.
    Streams,
}

/// The 401 bodies an endpoint uses.
#[derive(Clone, Copy, Debug)]
pub struct AuthMessages {
    /// When no key was presented.
    pub missing: &'static str,
    /// When the key is unknown or inactive.
    pub invalid: &'static str,
}

/// `Missing x-api-key header` / `Invalid or inactive API key`.
pub const CLIENT_MESSAGES: AuthMessages = AuthMessages {
    missing: "Missing x-api-key header",
    invalid: "Invalid or inactive API key",
};

/// `Missing x-api-key header` / `Invalid API key`.
pub const ANY_KEY_MESSAGES: AuthMessages = AuthMessages {
    missing: "Missing x-api-key header",
    invalid: "Invalid API key",
};

/// `Missing x-api-key header` / `Invalid or inactive expert key`.
pub const EXPERT_MESSAGES: AuthMessages = AuthMessages {
    missing: "Missing x-api-key header",
    invalid: "Invalid or inactive expert key",
};

impl AppState {
    /// Authenticates a client key (presented in the header, or for `POST /help` in the body):
    /// known and active, device token, per-key rate limit, request signature.
    pub async fn authenticate_client(
        &self,
        req: &ApiRequest,
        presented: Option<&str>,
        messages: AuthMessages,
    ) -> ApiResult<ClientKeyRecord> {
        let presented = presented.ok_or_else(|| ApiError::unauthorized(messages.missing))?;
        let now = self.clock.now();
        let key = self
            .store
            .client_key_by_hash(hash_secret(presented), now)
            .await?
            .filter(|key| key.is_active)
            .ok_or_else(|| ApiError::unauthorized(messages.invalid))?;
        self.check_client_key(req, &key, false, Budget::Requests)
            .await?;
        Ok(key)
    }

    /// Authenticates a client key for `POST /api/v1/devices`: like
    /// [`AppState::authenticate_client`], except that a key without any enrolled device may
    /// enroll its first one unsigned even when the server requires signed requests (PROTOCOL
    /// B4). Once a device is enrolled, only a signed request can add another.
    pub async fn authenticate_enrolling_client(
        &self,
        req: &ApiRequest,
    ) -> ApiResult<ClientKeyRecord> {
        let presented = req
            .api_key()
            .ok_or_else(|| ApiError::unauthorized(CLIENT_MESSAGES.missing))?;
        let key = self
            .store
            .client_key_by_hash(hash_secret(presented), self.clock.now())
            .await?
            .filter(|key| key.is_active)
            .ok_or_else(|| ApiError::unauthorized(CLIENT_MESSAGES.invalid))?;
        self.check_client_key(req, &key, true, Budget::Requests)
            .await?;
        Ok(key)
    }

    /// The checks after a client key was found: device token, signature, rate limit (of the
    /// budget the endpoint spends).
    async fn check_client_key(
        &self,
        req: &ApiRequest,
        key: &ClientKeyRecord,
        enrolling: bool,
        budget: Budget,
    ) -> ApiResult<()> {
        if let Some(expected) = &key.device_token_hash {
            let presented = req.header(DEVICE_TOKEN_HEADER).map(hash_secret);
            let matches = presented.is_some_and(|hash| bool::from(hash.ct_eq(expected)));
            if !matches {
                return Err(ApiError::forbidden("Invalid or missing device token"));
            }
        }
        // The signature first: someone holding a stolen key but not the device key must not
        // be able to spend the real agent's rate-limit budget.
        self.check_signature(req, key, enrolling).await?;
        if budget == Budget::Streams {
            return Ok(());
        }
        let limit = key
            .rate_limit_per_minute
            .unwrap_or(self.config.rate_limits.per_key);
        let now = self.clock.now();
        if !self.key_allows(&key.id, limit, now).await {
            crate::telemetry::rate_limited("key");
            return Err(ApiError::too_many_requests("Per-key rate limit exceeded"));
        }
        if key
            .last_used_at
            .is_none_or(|at| now.saturating_sub(at) >= LAST_USED_EVERY_MS)
            && let Err(error) = self.store.touch_client_key(&key.id, now).await
        {
            // Bookkeeping: a failed write must not fail the request it rides on.
            tracing::warn!(%error, "cannot record a client key's use");
        }
        Ok(())
    }

    /// Authenticates an expert key, or else the dashboard's session (PROTOCOL E3).
    pub async fn authenticate_expert(
        &self,
        req: &ApiRequest,
        messages: AuthMessages,
    ) -> ApiResult<ExpertRecord> {
        if let Some(expert) = self.session_expert(req).await? {
            return Ok(expert);
        }
        let presented = req
            .api_key()
            .ok_or_else(|| ApiError::unauthorized(messages.missing))?;
        self.store
            .expert_by_hash(hash_secret(presented))
            .await?
            .filter(|expert| expert.is_active)
            .ok_or_else(|| ApiError::unauthorized(messages.invalid))
    }

    /// Authenticates either kind of key from the `x-api-key` header; the role comes from the
    /// key. Client keys get every client check.
    pub async fn authenticate_any(
        &self,
        req: &ApiRequest,
        messages: AuthMessages,
    ) -> ApiResult<Caller> {
        self.authenticate_any_spending(req, messages, Budget::Requests)
            .await
    }

    /// Like [`AppState::authenticate_any`], for opening an event stream: it spends the events
    /// budget (checked by the route), not the per-key request budget, so an agent that
    /// reconnects often can still submit.
    pub async fn authenticate_streaming(
        &self,
        req: &ApiRequest,
        messages: AuthMessages,
    ) -> ApiResult<Caller> {
        self.authenticate_any_spending(req, messages, Budget::Streams)
            .await
    }

    async fn authenticate_any_spending(
        &self,
        req: &ApiRequest,
        messages: AuthMessages,
        budget: Budget,
    ) -> ApiResult<Caller> {
        if let Some(expert) = self.session_expert(req).await? {
            return Ok(Caller::Expert(expert));
        }
        let presented = req
            .api_key()
            .ok_or_else(|| ApiError::unauthorized(messages.missing))?;
        let hash = hash_secret(presented);
        if let Some(expert) = self.store.expert_by_hash(hash).await? {
            return if expert.is_active {
                Ok(Caller::Expert(expert))
            } else {
                Err(ApiError::unauthorized(messages.invalid))
            };
        }
        let key = self
            .store
            .client_key_by_hash(hash, self.clock.now())
            .await?
            .filter(|key| key.is_active)
            .ok_or_else(|| ApiError::unauthorized(messages.invalid))?;
        self.check_client_key(req, &key, false, budget).await?;
        Ok(Caller::Client(key))
    }

    /// The expert of the dashboard's session, for a request that carries a session cookie and
    /// no key (a key, when present, decides); state-changing requests need the session's CSRF
    /// token.
    async fn session_expert(&self, req: &ApiRequest) -> ApiResult<Option<ExpertRecord>> {
        if req.api_key().is_some() {
            return Ok(None);
        }
        let Some(signed_in) = self.session(&req.headers).await? else {
            return Ok(None);
        };
        signed_in.check_csrf(&req.method, &req.headers)?;
        Ok(Some(signed_in.expert))
    }

    /// PROTOCOL B4: verifies the signature headers when present; requires them for keys with
    /// an enrolled device or when the server requires signed requests.
    async fn check_signature(
        &self,
        req: &ApiRequest,
        key: &ClientKeyRecord,
        enrolling: bool,
    ) -> ApiResult<()> {
        let headers =
            SignatureHeaders::from_lookup(|name| req.header(name)).map_err(signature_error)?;
        let Some(headers) = headers else {
            let required = key.has_devices || (self.config.require_signed_requests && !enrolling);
            return if required {
                Err(signature_error(SignatureRejection::Required))
            } else {
                Ok(())
            };
        };
        let devices = self.store.devices(&key.id).await?;
        let device = devices
            .iter()
            .find(|device| device.id == headers.device_id)
            .ok_or_else(|| signature_error(SignatureRejection::Invalid))?;
        let public_key = SignPublicKey::parse(&device.public_key)
            .map_err(|_| signature_error(SignatureRejection::Invalid))?;
        let parts = RequestParts {
            method: req.method.as_str(),
            path_and_query: &req.path_and_query,
            body: &req.body,
            api_key: req.header(HEADER_API_KEY).unwrap_or(""),
        };
        let now = self.clock.now();
        let window = VerifyWindow::default();
        verify_without_nonce(&headers, &public_key, &parts, now, window)
            .map_err(signature_error)?;
        let fresh = self
            .store
            .record_nonce(
                &headers.device_id,
                &headers.nonce.to_string(),
                window.nonce_expiry(headers.timestamp_ms),
                now,
            )
            .await?;
        if fresh {
            Ok(())
        } else {
            Err(signature_error(SignatureRejection::Replayed))
        }
    }
}

/// The 401 of a rejected signature.
pub fn signature_error(rejection: SignatureRejection) -> ApiError {
    crate::telemetry::signature_rejected(rejection.code());
    ApiError::unauthorized(rejection.message()).code(rejection.code())
}
