//! Errors keep their causes as `source()`, say what failed without quoting secrets, and name the
//! content-safety findings by type; the expert's builder builds an expert client.

#![cfg(feature = "client")]

use std::error::Error as _;

use heysummon_sdk::client::{Client, ExpertClient};
use heysummon_sdk::keys::PartyKeys;
use heysummon_sdk::keystore::{FileKeyStore, KeyStore, RequestKind, StoredRequest};
use heysummon_sdk::safety::FlagType;
use heysummon_sdk::wire::RequestId;
use heysummon_sdk::{Client as RootClient, Error, ExpertClientBuilder};

#[test]
fn key_store_io_errors_keep_the_io_error_as_source() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a directory").unwrap();
    let error = FileKeyStore::open(file.join("store")).unwrap_err();
    let Error::KeyStore { message, source } = &error else {
        panic!("expected a key store error, got {error:?}");
    };
    assert!(message.contains("a-file"), "{message}");
    let io = source
        .as_deref()
        .and_then(|cause| cause.downcast_ref::<std::io::Error>())
        .expect("the I/O error is the source");
    assert!(error.source().is_some());
    // The message says what failed; the cause follows it, as before.
    assert!(error.to_string().ends_with(&io.to_string()), "{error}");
}

#[test]
fn corrupt_records_have_no_source_and_quote_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileKeyStore::open(dir.path()).unwrap();
    let keys = PartyKeys::generate();
    let mut record = StoredRequest::new("k1", RequestKind::Question, keys);
    record.request_id = Some(RequestId::new("r1"));
    store.save_request(&record).unwrap();
    for entry in std::fs::read_dir(dir.path().join("requests")).unwrap() {
        std::fs::write(entry.unwrap().path(), b"{\"version\":1,\"signSeed\":\"00").unwrap();
    }
    let error = store.request_by_idempotency_key("k1").unwrap_err();
    assert!(
        matches!(&error, Error::KeyStore { source: None, .. }),
        "{error:?}"
    );
    assert!(!format!("{error:?}").contains("signSeed"));
}

#[test]
fn configuration_errors_keep_their_cause() {
    let error = Client::builder()
        .base_url("not a url")
        .api_key("hs_cli_secret")
        .build()
        .unwrap_err();
    let Error::Config { message, source } = &error else {
        panic!("expected a configuration error, got {error:?}");
    };
    assert_eq!(message, "base URL");
    assert!(source.is_some());
    assert!(
        error
            .to_string()
            .starts_with("invalid client configuration: base URL: ")
    );
    assert!(!format!("{error:?}").contains("hs_cli_secret"));

    let error = Client::builder()
        .base_url("ftp://example.com")
        .api_key("k")
        .build()
        .unwrap_err();
    assert!(
        matches!(error, Error::Config { source: None, .. }),
        "{error}"
    );
}

#[test]
fn content_blocked_names_flag_types() {
    let error = Error::ContentBlocked {
        flags: vec![FlagType::CreditCard, FlagType::SsnBsn],
    };
    assert_eq!(
        error.to_string(),
        "content blocked by the safety filter: credit_card, ssn_bsn"
    );
}

#[test]
fn the_expert_builder_builds_an_expert_client() {
    let builder: ExpertClientBuilder = ExpertClient::builder();
    let expert = builder
        .base_url("http://127.0.0.1:1/prefix")
        .api_key("hs_exp_secret")
        .request_timeout(std::time::Duration::from_secs(5))
        .build()
        .unwrap();
    assert!(!format!("{expert:?}").contains("hs_exp_secret"));
    let missing = ExpertClient::builder()
        .base_url("http://127.0.0.1:1")
        .build();
    assert!(matches!(missing, Err(Error::Config { .. })));
    // The agent's builder still builds an agent.
    let _agent: RootClient = Client::builder()
        .base_url("http://127.0.0.1:1")
        .api_key("k")
        .build()
        .unwrap();
}
