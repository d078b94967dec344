//! The inbox's query (`GET /api/requests?status=&ref=&cursor=&limit=`): its parameters, checked,
//! and the opaque cursor of the next page.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as CURSOR;
use heysummon_sdk::wire::{RefCode, Status};
use serde::Deserialize;
use serde_json::json;

use crate::error::{ApiError, ApiResult};
use crate::store::{InboxQuery, RequestRecord};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InboxParams {
    status: Option<String>,
    #[serde(rename = "ref")]
    ref_code: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

/// The default and largest page of the inbox.
const PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

impl InboxParams {
    pub(super) fn query(self) -> ApiResult<InboxQuery> {
        let mut statuses = Vec::new();
        for name in self.status.iter().flat_map(|s| s.split(',')) {
            let name = name.trim().to_ascii_lowercase();
            if !Status::ALL.iter().any(|known| known.as_str() == name) {
                let known: Vec<&str> = Status::ALL.iter().map(Status::as_str).collect();
                return Err(ApiError::bad_request("Invalid status").member(
                    "details",
                    json!(format!("one or more of {}", known.join(", "))),
                ));
            }
            if !statuses.contains(&name) {
                statuses.push(name);
            }
        }
        let ref_code = match self.ref_code.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(code) => Some(
                RefCode::parse(code)
                    .map(|code| code.as_str().to_owned())
                    // An impossible code finds nothing, like a code nobody has.
                    .unwrap_or_else(|| code.to_ascii_uppercase()),
            ),
        };
        let before = self.cursor.as_deref().map(decode_cursor).transpose()?;
        let limit = match self.limit.as_deref() {
            None => PAGE,
            Some(text) => text
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_PAGE).contains(n))
                .ok_or_else(|| {
                    ApiError::bad_request("Invalid limit")
                        .member("details", json!("a whole number from 1 to 200"))
                })?,
        };
        Ok(InboxQuery {
            statuses,
            ref_code,
            before,
            limit,
        })
    }
}

pub(super) fn encode_cursor(request: &RequestRecord) -> String {
    CURSOR.encode(format!("{}:{}", request.created_at, request.id))
}

fn decode_cursor(text: &str) -> ApiResult<(i64, String)> {
    let invalid = || ApiError::bad_request("Invalid cursor");
    let bytes = CURSOR.decode(text).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (at, id) = text.split_once(':').ok_or_else(invalid)?;
    Ok((at.parse().map_err(|_| invalid())?, id.to_owned()))
}
