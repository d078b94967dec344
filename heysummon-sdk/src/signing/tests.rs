use super::*;
use crate::error::SignatureRejection;
use crate::keys::SigningKeyPair;

const NOW: i64 = 1_777_147_005_123;

fn signer() -> RequestSigner {
    RequestSigner::new(SigningKeyPair::from_seed(&[7; 32]))
}

fn request<'a>(body: &'a [u8]) -> RequestParts<'a> {
    RequestParts {
        method: "POST",
        path_and_query: "/api/v1/help?x=1",
        body,
        api_key: "hs_cli_test",
    }
}

fn nonce() -> Nonce {
    Nonce::from_bytes(*b"0123456789abcdef")
}

#[test]
fn canonical_text_is_fixed() {
    // Any change to the format breaks interoperability: this literal pins it.
    let text = canonical_text(&request(b"{\"question\":\"hi\"}"), NOW, &nonce());
    assert_eq!(
        text,
        "HEYSUMMON-SIG-V1\n\
         POST\n\
         /api/v1/help?x=1\n\
         1777147005123\n\
         30313233343536373839616263646566\n\
         b94e79e3f4050e82ba8fc4f4fa0247334a05b5ef31e9113a98ebafdb08d0c833\n\
         2a744c9033de06822aa003de56fe7506e518742de09f6ac641271659e50c2fed"
    );
}

#[test]
fn sha256_of_empty_body() {
    assert_eq!(
        sha256_hex(b""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn signed_request_verifies_once() {
    let signer = signer();
    let body = br#"{"question":"hi"}"#;
    let headers = signer.sign_at(&request(body), NOW, nonce());
    let key = signer.public_key();
    let mut nonces = MemoryNonceStore::new();
    let window = VerifyWindow::default();
    assert_eq!(
        verify(&headers, &key, &request(body), NOW, window, &mut nonces),
        Ok(())
    );
    assert_eq!(
        verify(&headers, &key, &request(body), NOW + 1, window, &mut nonces),
        Err(SignatureRejection::Replayed)
    );
}

#[test]
fn every_covered_part_is_bound() {
    let signer = signer();
    let key = signer.public_key();
    let body = br#"{"question":"hi"}"#;
    let good = request(body);
    let headers = signer.sign_at(&good, NOW, nonce());
    let window = VerifyWindow::default();
    let check = |parts: &RequestParts<'_>, headers: &SignatureHeaders| {
        verify_without_nonce(headers, &key, parts, NOW, window)
    };
    assert_eq!(check(&good, &headers), Ok(()));

    let tampered = [
        RequestParts {
            method: "PUT",
            ..good
        },
        RequestParts {
            path_and_query: "/api/v1/help?x=2",
            ..good
        },
        RequestParts {
            path_and_query: "/api/v1/help",
            ..good
        },
        RequestParts {
            path_and_query: "/api/v1/helq?x=1",
            ..good
        },
        RequestParts {
            body: br#"{"question":"hI"}"#,
            ..good
        },
        RequestParts {
            api_key: "hs_cli_other",
            ..good
        },
    ];
    for parts in &tampered {
        assert_eq!(
            check(parts, &headers),
            Err(SignatureRejection::Invalid),
            "{parts:?}"
        );
    }

    let mut later = headers.clone();
    later.timestamp_ms += 1;
    assert_eq!(check(&good, &later), Err(SignatureRejection::Invalid));
    let mut other_nonce = headers.clone();
    other_nonce.nonce = Nonce::from_bytes([9; 16]);
    assert_eq!(check(&good, &other_nonce), Err(SignatureRejection::Invalid));
    let mut flipped = headers.clone();
    flipped.signature[10] ^= 1;
    assert_eq!(check(&good, &flipped), Err(SignatureRejection::Invalid));
    let mut other_device = headers.clone();
    other_device.device_id = "0".repeat(64);
    assert_eq!(
        check(&good, &other_device),
        Err(SignatureRejection::Invalid)
    );

    // Another device's key cannot vouch for this signature.
    let stranger = RequestSigner::new(SigningKeyPair::from_seed(&[8; 32]));
    let mut claimed = headers;
    claimed.device_id = stranger.device_id().to_owned();
    assert_eq!(
        verify_without_nonce(&claimed, &stranger.public_key(), &good, NOW, window),
        Err(SignatureRejection::Invalid)
    );
}

#[test]
fn time_window_is_minus_30_plus_300_seconds_of_age() {
    let signer = signer();
    let key = signer.public_key();
    let window = VerifyWindow::default();
    let at = |signed_at: i64| {
        let headers = signer.sign_at(&request(b""), signed_at, Nonce::random());
        verify_without_nonce(&headers, &key, &request(b""), NOW, window)
    };
    assert_eq!(at(NOW), Ok(()));
    assert_eq!(at(NOW - 300_000), Ok(()));
    assert_eq!(at(NOW - 300_001), Err(SignatureRejection::Expired));
    assert_eq!(at(NOW + 30_000), Ok(()));
    assert_eq!(at(NOW + 30_001), Err(SignatureRejection::Expired));
    assert_eq!(at(0), Err(SignatureRejection::Expired));
    assert_eq!(at(i64::MAX), Err(SignatureRejection::Expired));
}

#[test]
fn a_nonce_is_remembered_until_its_timestamp_leaves_the_window() {
    let window = VerifyWindow::default();
    let mut store = MemoryNonceStore::new();
    store.set_now(NOW);
    let expiry = window.nonce_expiry(NOW);
    assert!(store.check_and_record("dev", &nonce(), expiry));
    assert!(!store.check_and_record("dev", &nonce(), expiry));
    // Another device may use the same nonce.
    assert!(store.check_and_record("other", &nonce(), expiry));
    // The last millisecond the timestamp is accepted, the nonce is still remembered.
    store.set_now(NOW + window.max_age_ms);
    assert!(window.contains(NOW, NOW + window.max_age_ms));
    assert!(!store.check_and_record("dev", &nonce(), expiry));
    store.set_now(expiry);
    assert!(store.is_empty());
    // A replay after expiry is refused by the timestamp, not by the store.
    let signer = signer();
    let headers = signer.sign_at(&request(b""), NOW, nonce());
    assert_eq!(
        verify(
            &headers,
            &signer.public_key(),
            &request(b""),
            expiry + 1,
            window,
            &mut store
        ),
        Err(SignatureRejection::Expired)
    );
}

#[test]
fn forged_requests_do_not_burn_nonces() {
    let signer = signer();
    let key = signer.public_key();
    let window = VerifyWindow::default();
    let mut seen = Vec::new();
    let mut store = |device: &str, nonce: &Nonce, _expires: i64| {
        let entry = (device.to_owned(), *nonce);
        let fresh = !seen.contains(&entry);
        seen.push(entry);
        fresh
    };
    let mut headers = signer.sign_at(&request(b""), NOW, nonce());
    headers.signature[0] ^= 0x80;
    assert_eq!(
        verify(&headers, &key, &request(b""), NOW, window, &mut store),
        Err(SignatureRejection::Invalid)
    );
    let genuine = signer.sign_at(&request(b""), NOW, nonce());
    assert_eq!(
        verify(&genuine, &key, &request(b""), NOW, window, &mut store),
        Ok(())
    );
}

#[test]
fn headers_round_trip_and_reject_malformed_values() {
    let signer = signer();
    let headers = signer.sign_at(&request(b"x"), NOW, nonce());
    let pairs = headers.to_pairs();
    let lookup = |pairs: &[(&'static str, String)]| {
        SignatureHeaders::from_lookup(|name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
        })
    };
    assert_eq!(lookup(&pairs).unwrap().unwrap(), headers);
    assert_eq!(lookup(&[]).unwrap(), None);
    assert_eq!(lookup(&pairs[..3]), Err(SignatureRejection::Invalid));

    let with = |index: usize, value: &str| {
        let mut changed = pairs.clone();
        changed[index].1 = value.to_owned();
        lookup(&changed)
    };
    for (index, value) in [
        (0, "-5"),
        (0, "12a"),
        (0, "99999999999999999999999"),
        (1, "0123"),
        (1, &"A".repeat(32)),
        (2, "not base64!"),
        (2, "AAAA"),
        (3, "xyz"),
        (3, &"A".repeat(64)),
    ] {
        assert_eq!(
            with(index, value),
            Err(SignatureRejection::Invalid),
            "{index} {value}"
        );
    }
}

#[test]
fn rejections_map_to_protocol_codes() {
    assert_eq!(SignatureRejection::Invalid.code(), "SIGNATURE_INVALID");
    assert_eq!(SignatureRejection::Expired.code(), "SIGNATURE_EXPIRED");
    assert_eq!(SignatureRejection::Replayed.code(), "SIGNATURE_REPLAYED");
    assert_eq!(SignatureRejection::Required.code(), "SIGNATURE_REQUIRED");
}

// --- signing with a precomputed key hash; nonce batches ---------------------------------------

#[test]
fn sign_with_key_hash_matches_sign() {
    let signer = RequestSigner::new(SigningKeyPair::from_seed(&[7u8; 32]));
    for (body, api_key) in [
        (&b""[..], ""),
        (&b"{\"question\":\"q\"}"[..], "hs_cli_guard0001"),
    ] {
        let request = RequestParts {
            method: "POST",
            path_and_query: "/api/v1/help?x=1",
            body,
            api_key,
        };
        let nonce = Nonce::from_bytes([9u8; 16]);
        let hash = ApiKeyHash::of(api_key);
        assert_eq!(hash.as_str(), sha256_hex(api_key.as_bytes()));
        assert_eq!(
            canonical_text_with_key_hash(&request, &hash, 1_700_000_000_000, &nonce),
            canonical_text(&request, 1_700_000_000_000, &nonce)
        );
        let plain = signer.sign_at(&request, 1_700_000_000_000, nonce);
        let hashed = signer.sign_at_with_key_hash(&request, &hash, 1_700_000_000_000, nonce);
        assert_eq!(plain, hashed);
        let now = signer.sign_with_key_hash(&request, &hash);
        let mut nonces = MemoryNonceStore::new();
        let key = signer.public_key();
        verify(
            &now,
            &key,
            &request,
            now.timestamp_ms,
            VerifyWindow::default(),
            &mut nonces,
        )
        .unwrap();
    }
    assert!(!format!("{:?}", ApiKeyHash::of("secret")).contains("secret"));
}

#[test]
fn random_batch_is_distinct() {
    let nonces = Nonce::random_batch::<130>();
    let distinct: std::collections::HashSet<_> = nonces.iter().collect();
    assert_eq!(distinct.len(), 130);
}
