#![allow(clippy::unwrap_used)]

use super::*;

fn env_with_key(name: &str) -> Option<String> {
    (name == "HEYSUMMON_API_KEY").then(|| "hs_cli_fromenv0001".to_owned())
}

#[test]
fn defaults_and_layering() {
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("guard.toml");
    let key_file = dir.path().join("key");
    std::fs::write(&key_file, "hs_cli_fromfile0001\n").unwrap();
    std::fs::write(
        &toml,
        format!(
            "upstream = \"http://127.0.0.1:9000\"\nlisten = \"127.0.0.1:9001\"\n\
             api_key_file = \"{}\"\nsafety = \"flag\"\nupstream_timeout_secs = 7\n",
            key_file.display()
        ),
    )
    .unwrap();
    // The TOML file over the defaults; HEYSUMMON_API_KEY over the file named in TOML.
    let overrides = Overrides {
        config: Some(toml.clone()),
        ..Overrides::default()
    };
    let config = Config::load(&overrides, env_with_key).unwrap();
    assert_eq!(config.upstream.to_string(), "http://127.0.0.1:9000/");
    assert_eq!(config.listen.to_string(), "127.0.0.1:9001");
    assert_eq!(config.api_key.expose(), "hs_cli_fromenv0001");
    assert_eq!(config.safety, SafetyMode::Flag);
    assert_eq!(config.limits.upstream_timeout, Duration::from_secs(7));
    assert_eq!(config.limits.max_body_bytes, 1024 * 1024);
    // Without the environment variable, the TOML's file.
    let config = Config::load(&overrides, |_| None).unwrap();
    assert_eq!(config.api_key.expose(), "hs_cli_fromfile0001");
    // Flags over everything.
    let overrides = Overrides {
        config: Some(toml),
        listen: Some("127.0.0.1:9002".into()),
        api_key_file: Some(key_file),
        ..Overrides::default()
    };
    let config = Config::load(&overrides, env_with_key).unwrap();
    assert_eq!(config.listen.to_string(), "127.0.0.1:9002");
    assert_eq!(config.api_key.expose(), "hs_cli_fromfile0001");
    // The key never shows in Debug.
    assert!(!format!("{config:?}").contains("hs_cli_"));
}

#[test]
fn validation() {
    let none = Overrides::default();
    assert!(matches!(
        Config::load(&none, |_| None),
        Err(Error::Config(_))
    ));
    let public = Overrides {
        listen: Some("0.0.0.0:8787".into()),
        ..Overrides::default()
    };
    let error = Config::load(&public, env_with_key).unwrap_err().to_string();
    assert!(error.contains("loopback"), "{error}");
    let allowed = Overrides {
        allow_non_loopback: true,
        ..public
    };
    assert!(Config::load(&allowed, env_with_key).is_ok());
    for bad in [
        "https://example.com",
        "127.0.0.1:8080",
        "http://h/?q=1",
        "nonsense",
    ] {
        let overrides = Overrides {
            upstream: Some(bad.into()),
            ..Overrides::default()
        };
        assert!(Config::load(&overrides, env_with_key).is_err(), "{bad}");
    }
    assert!(ApiKey::new("has space").is_err());
    assert!(ApiKey::new("").is_err());
}
