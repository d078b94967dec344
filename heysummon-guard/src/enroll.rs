//! `heysummon-guard enroll`: registers the device's public key with the server
//! (`POST /api/v1/devices`, PROTOCOL B4).
//!
//! A client key without devices may enroll its first one unsigned. When the key already has a
//! device the server answers `SIGNATURE_REQUIRED`; the guard then retries signed, which
//! succeeds (409, already enrolled) only if this device is the enrolled one.

use bytes::Bytes;
use heysummon_sdk::wire::{EnrollDeviceRequest, EnrollDeviceResponse};
use http_body_util::BodyExt as _;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Request, StatusCode};
use serde_json::Value;
use tower::Service as _;

use crate::error::Error;
use crate::proxy::Guard;
use crate::upstream::{Deadline, UpstreamError};

/// The outcome of an enrollment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Enrollment {
    /// The server enrolled the device now.
    Enrolled {
        /// The device id (`x-heysummon-device`).
        device_id: String,
    },
    /// The device was enrolled before.
    AlreadyEnrolled {
        /// The device id.
        device_id: String,
    },
}

impl Enrollment {
    /// The device id.
    pub fn device_id(&self) -> &str {
        match self {
            Self::Enrolled { device_id } | Self::AlreadyEnrolled { device_id } => device_id,
        }
    }
}

impl Guard {
    /// Enrolls this guard's device key for its API key. Cancel-safe.
    pub async fn enroll(&self) -> Result<Enrollment, Error> {
        let device_id = self.signer().device_id().to_owned();
        let (status, body) = self.post_devices(false).await?;
        let (status, body) =
            if status == StatusCode::UNAUTHORIZED && body["code"] == "SIGNATURE_REQUIRED" {
                self.post_devices(true).await?
            } else {
                (status, body)
            };
        match status {
            StatusCode::OK => {
                let response: EnrollDeviceResponse = serde_json::from_value(body)
                    .map_err(|e| Error::Upstream(format!("unexpected enrollment answer: {e}")))?;
                Ok(Enrollment::Enrolled {
                    device_id: response.device_id,
                })
            }
            StatusCode::CONFLICT => Ok(Enrollment::AlreadyEnrolled { device_id }),
            StatusCode::UNAUTHORIZED if body["code"] == "SIGNATURE_INVALID" => Err(Error::Enroll {
                status: status.as_u16(),
                message: "this API key already has another device enrolled; enroll this \
                          device's key with `heysummon-server client add --device-key`, or from \
                          an enrolled device"
                    .into(),
            }),
            _ => {
                let mut message = body["error"]
                    .as_str()
                    .unwrap_or("no error message")
                    .to_owned();
                if let Some(code) = body["code"].as_str() {
                    message = format!("{message} ({code})");
                }
                Err(Error::Enroll {
                    status: status.as_u16(),
                    message,
                })
            }
        }
    }

    async fn post_devices(&self, signed: bool) -> Result<(StatusCode, Value), Error> {
        let config = self.config();
        let body = EnrollDeviceRequest {
            public_key: self.signer().public_key().to_hex(),
        };
        let body = serde_json::to_vec(&body).map_err(|e| Error::Upstream(e.to_string()))?;
        let base = config.upstream.to_string();
        let uri = format!("{}/api/v1/devices", base.trim_end_matches('/'));
        let mut request = Request::post(uri)
            .body(Bytes::from(body))
            .map_err(|e| Error::Config(format!("upstream URL: {e}")))?;
        let headers = request.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert("x-api-key", config.api_key.header_value().clone());
        if let Some(token) = &config.device_token {
            headers.insert("x-device-token", token.header_value().clone());
        }
        request
            .extensions_mut()
            .insert(Deadline(Some(config.limits.upstream_timeout)));
        let response = if signed {
            self.signing_upstream().call(request).await
        } else {
            self.upstream().call(request).await
        };
        let response = response.map_err(|e| {
            Error::Upstream(match e {
                UpstreamError::Connect => format!("could not connect to {base}"),
                UpstreamError::Tls(reason) => format!("TLS with {base} failed: {reason}"),
                UpstreamError::Timeout => format!("{base} did not answer in time"),
                UpstreamError::Failed(reason) => reason,
            })
        })?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| Error::Upstream(e.to_string()))?
            .to_bytes();
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok((status, value))
    }
}
