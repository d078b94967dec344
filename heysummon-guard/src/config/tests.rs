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
        "http://example.com",
        "ftp://127.0.0.1",
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

#[test]
fn https_upstream_ca_file_and_insecure_override_layering() {
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("guard.toml");
    std::fs::write(
        &toml,
        "upstream = \"http://10.1.2.3:8080\"\nca_file = \"/etc/heysummon/ca.pem\"\n",
    )
    .unwrap();
    let from_toml = Overrides {
        config: Some(toml.clone()),
        ..Overrides::default()
    };
    // Plain http:// to another machine: refused, saying how to allow it.
    let error = Config::load(&from_toml, env_with_key)
        .unwrap_err()
        .to_string();
    assert!(error.contains("--allow-insecure-upstream"), "{error}");
    // The flag (or HEYSUMMON_ALLOW_INSECURE_UPSTREAM, which clap maps to it) allows it.
    let allowed = Overrides {
        allow_insecure_upstream: true,
        ..from_toml.clone()
    };
    let config = Config::load(&allowed, env_with_key).unwrap();
    assert!(config.allow_insecure_upstream);
    assert_eq!(
        config.ca_file.as_deref(),
        Some(Path::new("/etc/heysummon/ca.pem"))
    );
    // So does the TOML setting.
    std::fs::write(
        &toml,
        "upstream = \"http://10.1.2.3:8080\"\nallow_insecure_upstream = true\n",
    )
    .unwrap();
    assert!(Config::load(&from_toml, env_with_key).is_ok());
    // https:// anywhere, the flag's CA file over the TOML's.
    std::fs::write(
        &toml,
        "upstream = \"https://heysummon.example.com\"\nca_file = \"toml.pem\"\n",
    )
    .unwrap();
    let flags = Overrides {
        ca_file: Some("flag.pem".into()),
        ..from_toml
    };
    let config = Config::load(&flags, env_with_key).unwrap();
    assert_eq!(
        config.upstream.to_string(),
        "https://heysummon.example.com/"
    );
    assert_eq!(config.ca_file.as_deref(), Some(Path::new("flag.pem")));
    assert!(!config.allow_insecure_upstream);
    // Programmatic configurations are validated the same way.
    let key = || ApiKey::new("hs_cli_fromenv0001").unwrap();
    assert!(Config::new("http://192.168.1.10:8080", key(), "k".into()).is_err());
    assert!(Config::new("https://192.168.1.10:8443", key(), "k".into()).is_ok());
    assert!(Config::new("http://localhost:8080", key(), "k".into()).is_ok());
}

#[test]
fn the_environment_names_the_ca_file_and_the_override() {
    use clap::Parser as _;
    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        overrides: Overrides,
    }
    // clap reads HEYSUMMON_CA_FILE and HEYSUMMON_ALLOW_INSECURE_UPSTREAM through `env`; the
    // flags parse to the same fields.
    let cli = Cli::parse_from([
        "guard",
        "--ca-file",
        "/tmp/ca.pem",
        "--allow-insecure-upstream",
    ]);
    assert_eq!(
        cli.overrides.ca_file.as_deref(),
        Some(Path::new("/tmp/ca.pem"))
    );
    assert!(cli.overrides.allow_insecure_upstream);
    let command = <Cli as clap::CommandFactory>::command();
    let env_of = |id: &str| {
        command
            .get_arguments()
            .find(|arg| arg.get_id() == id)
            .and_then(|arg| arg.get_env())
            .map(|env| env.to_string_lossy().into_owned())
    };
    assert_eq!(env_of("ca_file").as_deref(), Some("HEYSUMMON_CA_FILE"));
    assert_eq!(
        env_of("allow_insecure_upstream").as_deref(),
        Some("HEYSUMMON_ALLOW_INSECURE_UPSTREAM")
    );
}
