//! Fuzz target `wire_bodies`: every request body of `heysummon_sdk::wire` (and the response and
//! event bodies a client parses) from arbitrary bytes through serde_json. Nothing may panic, and
//! whatever parses must survive a round trip: serialise, parse again, equal.
//!
//! Shared by `fuzz/fuzz_targets/wire_bodies.rs` and the stable regression test
//! `tests/fuzz_corpus/main.rs` (both include this file with `#[path]`).

use heysummon_sdk::wire::{
    AcknowledgeResponse, ApproveRequest, ApproveResponse, ByRefResponse, CloseResponse,
    CreateHelpRequest, CreateHelpResponse, EncryptedPayload, EnrollDeviceRequest,
    EnrollDeviceResponse, ErrorBody, EventAckResponse, ExpertsResponse, HealthResponse,
    HelpStatusResponse, KeyExchangeRequest, KeyExchangeResponse, MessagesResponse,
    PendingEventsResponse, PublishExpertKeysRequest, PublishExpertKeysResponse, RateRequest,
    RateResponse, RequestsListResponse, SendMessageRequest, SendMessageResponse, StreamEvent,
    WhoamiResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Parses `data` as `T`; if it parses, checks the round trip.
fn round_trip<T: Serialize + DeserializeOwned + PartialEq>(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<T>(data) else {
        return;
    };
    let name = std::any::type_name::<T>();
    let written = serde_json::to_vec(&value)
        .unwrap_or_else(|err| panic!("{name} parsed but does not serialise: {err}"));
    let again = serde_json::from_slice::<T>(&written).unwrap_or_else(|err| {
        panic!(
            "{name} does not parse what it wrote ({err}): {}",
            String::from_utf8_lossy(&written)
        )
    });
    assert!(
        again == value,
        "{name} changed in a round trip: {}",
        String::from_utf8_lossy(&written)
    );
}

macro_rules! round_trip_all {
    ($data:expr; $($ty:ty),* $(,)?) => { $( round_trip::<$ty>($data); )* };
}

/// One fuzz input: tried as every body type.
pub(crate) fn run(data: &[u8]) {
    round_trip_all!(data;
        // request bodies
        CreateHelpRequest, SendMessageRequest, ApproveRequest, KeyExchangeRequest, RateRequest,
        PublishExpertKeysRequest, EnrollDeviceRequest, EncryptedPayload,
        // responses and events a client parses
        CreateHelpResponse, HelpStatusResponse, SendMessageResponse, MessagesResponse,
        KeyExchangeResponse, CloseResponse, AcknowledgeResponse, ApproveResponse, RateResponse,
        WhoamiResponse, ExpertsResponse, PublishExpertKeysResponse, EnrollDeviceResponse,
        ByRefResponse, RequestsListResponse, HealthResponse, ErrorBody, PendingEventsResponse,
        EventAckResponse, StreamEvent,
    );
}

/// Real, valid bodies: the seed corpus.
pub(crate) fn seeds() -> Vec<Vec<u8>> {
    const SIGN: &str =
        "302a300506032b65700321008a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c";
    const ENCRYPT: &str =
        "302a300506032b656e032100ce8d3ad1ccb633ec7b70c17814a5c76ecd029685050d344745ba05870e587d59";
    const SEALED: &str = r#"{"ciphertext":"rhnmoFnW4+fVDSYA","iv":"AAECAwQFBgcICQoL","authTag":"3IEnij4DQoKOuMLKJFCmww==","signature":"pceKXHaHX2lvZFlY+36gvsNEAto4dECpZhr9UDz5sLbCWSbLms9sVwm9OUtb1rC8QzMUu/fdr+jxsEyJBb4IDA==","messageId":"00000000-0000-4000-8000-000000000000"}"#;
    let bodies = [
        format!(
            r#"{{"apiKey":"hs_cli_abc","signPublicKey":"{SIGN}","encryptPublicKey":"{ENCRYPT}","question":"May I drop the staging database?","messages":[{{"role":"user","content":"hi"}},"plain",3,null,{{"meta":{{"notes":["a"]}}}}],"messageCount":10,"requiresApproval":true,"responseRequired":true,"questionPreview":"drop?"}}"#
        ),
        format!(
            r#"{{"apiKey":"k","sealedQuestion":{SEALED},"expertFingerprint":"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}}"#
        ),
        r#"{"from":"consumer","plaintext":"hello","messageId":"m-1"}"#.to_owned(),
        r#"{"from":"expert","ciphertext":"rhnmoFnW4+fVDSYA","iv":"AAECAwQFBgcICQoL","authTag":"3IEnij4DQoKOuMLKJFCmww==","signature":"AA==","messageId":"m-2","approvalDecision":"approved"}"#.to_owned(),
        r#"{"decision":"denied"}"#.to_owned(),
        format!(r#"{{"signPublicKey":"{SIGN}","encryptPublicKey":"{ENCRYPT}"}}"#),
        r#"{"rating":5,"feedback":"quick and clear"}"#.to_owned(),
        format!(r#"{{"publicKey":"{SIGN}"}}"#),
        SEALED.to_owned(),
        r#"{"requestId":"r1","refCode":"HS-ABCD1234","status":"pending","expiresAt":"2026-01-02T03:04:05.678Z"}"#.to_owned(),
        r#"{"error":"rate limited","retryAfter":1.5}"#.to_owned(),
        r#"{"events":[{"type":"new_request","requestId":"r1","refCode":"HS-ABCD1234","createdAt":"2026-01-02T03:04:05Z"},{"type":"something_new","x":1}]}"#.to_owned(),
        r#"{"type":"responded","requestId":"r1","createdAt":"2026-01-02T03:04:05+02:00"}"#.to_owned(),
    ];
    bodies.into_iter().map(String::into_bytes).collect()
}
