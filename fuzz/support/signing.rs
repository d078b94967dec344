//! Fuzz target `signing`: reading the four signature headers (`SignatureHeaders::from_lookup`)
//! from arbitrary values and verifying the request they sign (`heysummon_sdk::signing::verify`)
//! against one fixed device key. Nothing may panic; a request may verify only when its signature
//! is exactly the one the device would make (Ed25519 is deterministic), and only once (the
//! nonce store refuses the replay).
//!
//! Input layout: the first byte's low four bits say which of the headers timestamp, nonce,
//! signature and device are present; the rest is eight fields separated by `\n`: the four header
//! values, the method, the path and query, the `x-api-key` value, and the body (which may itself
//! contain `\n`).
//!
//! Shared by `fuzz/fuzz_targets/signing.rs` and `tests/fuzz_corpus/main.rs`.

use heysummon_sdk::SignatureRejection;
use heysummon_sdk::keys::SigningKeyPair;
use heysummon_sdk::signing::{
    HEADER_DEVICE, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, MemoryNonceStore, Nonce,
    RequestParts, RequestSigner, SignatureHeaders, VerifyWindow, verify,
};

/// The verifier's clock.
const NOW_MS: i64 = 1_700_000_000_000;

fn signer() -> RequestSigner {
    RequestSigner::new(SigningKeyPair::from_seed(&[7; 32]))
}

/// One fuzz input.
pub(crate) fn run(data: &[u8]) {
    let Some((&present, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let mut fields = text.splitn(8, '\n');
    let mut next = || fields.next().unwrap_or_default();
    let values = [next(), next(), next(), next()];
    let names = [
        HEADER_TIMESTAMP,
        HEADER_NONCE,
        HEADER_SIGNATURE,
        HEADER_DEVICE,
    ];
    let lookup = |name: &str| {
        let index = names.iter().position(|n| *n == name)?;
        (present & (1 << index) != 0).then_some(values[index])
    };
    let Ok(Some(headers)) = SignatureHeaders::from_lookup(lookup) else {
        return;
    };
    // What was read is written back the same way.
    let pairs = headers.to_pairs();
    let reread = SignatureHeaders::from_lookup(|name: &str| {
        pairs
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    });
    assert_eq!(reread.ok().flatten().as_ref(), Some(&headers));

    let (method, path_and_query, api_key, body) = (next(), next(), next(), next());
    let request = RequestParts {
        method,
        path_and_query,
        body: body.as_bytes(),
        api_key,
    };
    let signer = signer();
    let key = signer.public_key();
    let mut nonces = MemoryNonceStore::new();
    nonces.set_now(NOW_MS);
    let window = VerifyWindow::default();
    if verify(&headers, &key, &request, NOW_MS, window, &mut nonces).is_ok() {
        let genuine = signer.sign_at(&request, headers.timestamp_ms, headers.nonce);
        assert!(genuine == headers, "a forged request verified");
        assert_eq!(
            verify(&headers, &key, &request, NOW_MS, window, &mut nonces),
            Err(SignatureRejection::Replayed)
        );
    }
}

/// Requests signed by the fixed device inside the window, and near misses.
pub(crate) fn seeds() -> Vec<Vec<u8>> {
    let signer = signer();
    let cases: [(&str, &str, &[u8], &str, i64); 4] = [
        (
            "POST",
            "/api/v1/help",
            br#"{"apiKey":"k","question":"q"}"#,
            "hs_cli_abc",
            NOW_MS,
        ),
        (
            "GET",
            "/api/v1/help/abc?wait=50",
            b"",
            "hs_cli_abc",
            NOW_MS - 299_000,
        ),
        (
            "POST",
            "/api/v1/message/r1",
            b"line one\nline two",
            "",
            NOW_MS + 29_000,
        ),
        ("DELETE", "/api/v1/help/r1", b"", "k", NOW_MS - 400_000),
    ];
    let mut seeds = Vec::new();
    for (index, (method, path_and_query, body, api_key, timestamp_ms)) in
        cases.into_iter().enumerate()
    {
        let request = RequestParts {
            method,
            path_and_query,
            body,
            api_key,
        };
        let nonce = Nonce::from_bytes([index as u8; 16]);
        let headers = signer.sign_at(&request, timestamp_ms, nonce);
        let [(_, timestamp), (_, nonce), (_, signature), (_, device)] = headers.to_pairs();
        let line = format!(
            "{timestamp}\n{nonce}\n{signature}\n{device}\n{method}\n{path_and_query}\n{api_key}\n{}",
            String::from_utf8_lossy(body)
        );
        seeds.push([&[0x0f][..], line.as_bytes()].concat());
        // One header missing.
        seeds.push([&[0x07][..], line.as_bytes()].concat());
    }
    seeds.push(vec![0]);
    seeds
}
