use super::*;
use crate::apikey::ApiKey;

fn config(upstream: &str, ca_file: Option<&Path>) -> Config {
    let mut config = Config::new(
        upstream,
        ApiKey::new("hs_cli_tlstest0001").expect("key"),
        "device.key".into(),
    )
    .expect("config");
    config.ca_file = ca_file.map(Path::to_owned);
    config
}

fn test_ca_pem() -> String {
    let key = rcgen::KeyPair::generate().expect("key pair");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.self_signed(&key).expect("self-signed").pem()
}

#[test]
fn a_plain_upstream_loads_no_roots_and_leaves_the_sdk_alone() {
    let trust = Trust::load(&config("http://127.0.0.1:8080", None)).expect("trust");
    assert_eq!(trust.built_in(), BuiltInRoots::NotLoaded);
    assert_eq!(trust.roots(), 0);
    assert_eq!(
        trust.client_config().alpn_protocols,
        vec![b"http/1.1".to_vec()]
    );
    assert!(!format!("{trust:?}").contains("BEGIN"));
}

#[test]
fn an_https_upstream_trusts_built_in_roots_and_the_ca_file() {
    let dir = tempfile::tempdir().expect("dir");
    let ca = dir.path().join("ca.pem");
    // Two authorities in one file, with other PEM sections around them (skipped).
    std::fs::write(
        &ca,
        format!(
            "# comment\n{}{}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            test_ca_pem(),
            test_ca_pem()
        ),
    )
    .expect("write");
    let without = Trust::load(&config("https://localhost:8443", None)).expect("trust");
    assert_ne!(without.built_in(), BuiltInRoots::NotLoaded);
    assert!(without.roots() > 0, "system or Mozilla roots");
    let with = Trust::load(&config("https://localhost:8443", Some(&ca))).expect("trust");
    assert_eq!(with.roots(), without.roots() + 2);
    // A plain upstream still reads (and checks) the CA file.
    let plain = Trust::load(&config("http://localhost:8080", Some(&ca))).expect("trust");
    assert_eq!(plain.roots(), 2);
}

#[test]
fn a_broken_ca_file_is_a_clear_startup_error() {
    let dir = tempfile::tempdir().expect("dir");
    let missing = dir.path().join("missing.pem");
    let error = Trust::load(&config("https://localhost", Some(&missing))).expect_err("missing");
    assert!(matches!(error, Error::Io { .. }), "{error}");

    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").expect("write");
    let error = Trust::load(&config("https://localhost", Some(&empty)))
        .expect_err("empty")
        .to_string();
    assert!(error.contains("no certificate"), "{error}");
    assert!(error.contains("empty.pem"), "{error}");

    let garbage = dir.path().join("garbage.pem");
    std::fs::write(
        &garbage,
        "-----BEGIN CERTIFICATE-----\nAAAAAAAA\n-----END CERTIFICATE-----\n",
    )
    .expect("write");
    let error = Trust::load(&config("https://localhost", Some(&garbage)))
        .expect_err("garbage")
        .to_string();
    assert!(error.contains("garbage.pem"), "{error}");
    assert!(error.starts_with("invalid configuration"), "{error}");
}

#[test]
fn pem_round_trip() {
    let pem = test_ca_pem();
    let der = CertificateDer::from_pem_slice(pem.as_bytes()).expect("parse");
    let again = to_pem(std::slice::from_ref(&der));
    let back = CertificateDer::from_pem_slice(again.as_bytes()).expect("parse again");
    assert_eq!(der, back);
}
