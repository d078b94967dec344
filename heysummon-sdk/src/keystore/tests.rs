use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::*;
use crate::envelope::Channel;

fn secret_hexes(keys: &PartyKeys) -> [String; 2] {
    [
        hex::encode(*keys.sign.seed()),
        hex::encode(*keys.encrypt.secret_bytes()),
    ]
}

fn assert_no_secrets(text: &str, keys: &PartyKeys) {
    for secret in secret_hexes(keys) {
        assert!(!text.contains(&secret), "secret leaked into {text}");
    }
}

fn sample(key: &str) -> (StoredRequest, PartyKeys) {
    let expert = PartyKeys::generate();
    let mut request = StoredRequest::new(key, RequestKind::Question, PartyKeys::generate());
    request.expert_keys = Some(expert.public());
    request.sealed = true;
    (request, expert)
}

/// The reloaded consumer keys still open what the expert sealed to the original ones, and the
/// expert opens what they seal.
fn assert_keys_work(original: &StoredRequest, reloaded: &StoredRequest, expert: &PartyKeys) {
    let from_expert = Channel::new(expert, &original.keys.public()).unwrap();
    let sealed = from_expert.seal("yes, go ahead", None).unwrap();
    let reopened = Channel::new(&reloaded.keys, &expert.public()).unwrap();
    assert_eq!(reopened.open(&sealed).unwrap(), "yes, go ahead");
    let back = reopened.seal("thanks", None).unwrap();
    let at_expert = Channel::new(expert, &original.keys.public()).unwrap();
    assert_eq!(at_expert.open(&back).unwrap(), "thanks");
}

fn assert_same(a: &StoredRequest, b: &StoredRequest) {
    assert_eq!(a.idempotency_key, b.idempotency_key);
    assert_eq!(a.request_id, b.request_id);
    assert_eq!(a.ref_code, b.ref_code);
    assert_eq!(a.kind, b.kind);
    assert_eq!(a.keys.public(), b.keys.public());
    assert_eq!(*a.keys.sign.seed(), *b.keys.sign.seed());
    assert_eq!(
        *a.keys.encrypt.secret_bytes(),
        *b.keys.encrypt.secret_bytes()
    );
    assert_eq!(a.expert_keys, b.expert_keys);
    assert_eq!(a.sealed, b.sealed);
    assert_eq!(a.created_at, b.created_at);
    assert_eq!(a.expires_at, b.expires_at);
}

/// The behaviour both stores share.
fn exercise(store: &dyn KeyStore) {
    let (mut request, expert) = sample("idem-1");
    assert!(
        store
            .request_by_idempotency_key("idem-1")
            .unwrap()
            .is_none()
    );

    // First saved before the server answered: no id yet.
    store.save_request(&request).unwrap();
    let loaded = store.request_by_idempotency_key("idem-1").unwrap().unwrap();
    assert_same(&request, &loaded);
    assert_keys_work(&request, &loaded, &expert);
    let id = RequestId::new("req-42");
    assert!(store.request_by_id(&id).unwrap().is_none());

    // Then updated with the server's answer.
    request.request_id = Some(id.clone());
    request.ref_code = RefCode::parse("HS-7K2QX9LB");
    request.expires_at = Some(request.created_at.plus_millis(60_000));
    store.save_request(&request).unwrap();
    let by_id = store.request_by_id(&id).unwrap().unwrap();
    assert_same(&request, &by_id);
    assert_keys_work(&request, &by_id, &expert);
    assert_same(
        &request,
        &store.request_by_idempotency_key("idem-1").unwrap().unwrap(),
    );

    // Saved again under another id: the old id finds nothing.
    let other_id = RequestId::new("req-43");
    request.request_id = Some(other_id.clone());
    store.save_request(&request).unwrap();
    assert!(store.request_by_id(&id).unwrap().is_none());
    assert_same(&request, &store.request_by_id(&other_id).unwrap().unwrap());

    // A second request does not disturb the first.
    let (mut second, _) = sample("idem-2");
    second.kind = RequestKind::Approval;
    second.request_id = Some(RequestId::new("req-44"));
    store.save_request(&second).unwrap();
    assert_same(&request, &store.request_by_id(&other_id).unwrap().unwrap());

    // Removal forgets both ways of finding it; removing again is fine.
    store.remove_request("idem-1").unwrap();
    assert!(
        store
            .request_by_idempotency_key("idem-1")
            .unwrap()
            .is_none()
    );
    assert!(store.request_by_id(&other_id).unwrap().is_none());
    store.remove_request("idem-1").unwrap();
    store.remove_request("never-saved").unwrap();
    assert_same(
        &second,
        &store
            .request_by_id(&RequestId::new("req-44"))
            .unwrap()
            .unwrap(),
    );

    // Pins: none, first use, explicit overwrite.
    let alice = ExpertId::new("expert-alice");
    assert!(store.pinned_fingerprint(&alice).unwrap().is_none());
    let first = expert.public().fingerprint();
    store.pin_fingerprint(&alice, &first).unwrap();
    assert_eq!(store.pinned_fingerprint(&alice).unwrap(), Some(first));
    assert!(
        store
            .pinned_fingerprint(&ExpertId::new("bob"))
            .unwrap()
            .is_none()
    );
    let rotated = PartyKeys::generate().public().fingerprint();
    store.pin_fingerprint(&alice, &rotated).unwrap();
    assert_eq!(store.pinned_fingerprint(&alice).unwrap(), Some(rotated));

    // Identities.
    assert!(store.identity("expert").unwrap().is_none());
    store.save_identity("expert", &expert).unwrap();
    let identity = store.identity("expert").unwrap().unwrap();
    assert_eq!(identity.public(), expert.public());
    assert_eq!(*identity.sign.seed(), *expert.sign.seed());
    assert!(store.identity("someone else").unwrap().is_none());
}

#[test]
fn memory_store_round_trips() {
    exercise(&MemoryKeyStore::new());
}

#[test]
fn file_store_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    exercise(&FileKeyStore::open(dir.path().join("keys")).unwrap());
}

#[test]
fn arc_stores_are_stores() {
    let store: Arc<dyn KeyStore> = Arc::new(MemoryKeyStore::new());
    exercise(&store);
    let shared = Arc::new(MemoryKeyStore::new());
    exercise(&shared);
}

#[test]
fn reopened_file_store_sees_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("keys");
    let (mut request, expert) = sample("idem-crash");
    request.request_id = Some(RequestId::new("req-crash"));
    let alice = ExpertId::new("alice");
    {
        let store = FileKeyStore::open(&path).unwrap();
        assert_eq!(store.path(), path);
        store.save_request(&request).unwrap();
        store
            .pin_fingerprint(&alice, &expert.public().fingerprint())
            .unwrap();
        store.save_identity("me", &expert).unwrap();
    }
    let store = FileKeyStore::open(&path).unwrap();
    let loaded = store
        .request_by_idempotency_key("idem-crash")
        .unwrap()
        .unwrap();
    assert_same(&request, &loaded);
    assert_keys_work(&request, &loaded, &expert);
    let by_id = store
        .request_by_id(&RequestId::new("req-crash"))
        .unwrap()
        .unwrap();
    assert_keys_work(&request, &by_id, &expert);
    assert_eq!(
        store.pinned_fingerprint(&alice).unwrap(),
        Some(expert.public().fingerprint())
    );
    assert_eq!(
        store.identity("me").unwrap().unwrap().public(),
        expert.public()
    );
}

fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(all_files(&path));
        }
        found.push(path);
    }
    found
}

/// A store with one of everything in it; returns the keys whose secrets are on disk.
fn populated(path: &Path) -> (FileKeyStore, Vec<PartyKeys>) {
    let store = FileKeyStore::open(path).unwrap();
    let (mut request, expert) = sample("idem-files");
    request.request_id = Some(RequestId::new("req-files"));
    store.save_request(&request).unwrap();
    store
        .pin_fingerprint(&ExpertId::new("alice"), &expert.public().fingerprint())
        .unwrap();
    store.save_identity("me", &expert).unwrap();
    (store, vec![request.keys, expert])
}

#[test]
fn files_are_complete_and_no_temp_files_are_left() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = populated(dir.path());
    let files = all_files(store.path());
    let names: Vec<String> = files
        .iter()
        .map(|f| f.strip_prefix(store.path()).unwrap().display().to_string())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp-")), "{names:?}");
    let records = files.iter().filter(|f| f.is_file()).count();
    assert_eq!(records, 4, "{names:?}"); // request, index, pin, identity
    let request_file = store.path().join("requests").join(format!(
        "{}.json",
        crate::signing::sha256_hex(b"idem-files")
    ));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(request_file).unwrap()).unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(json["idempotencyKey"], "idem-files");
    assert_eq!(json["requestId"], "req-files");
    assert_eq!(json["kind"], "question");
    assert_eq!(json["sealed"], true);
    assert_eq!(json["keys"]["signSeed"].as_str().unwrap().len(), 64);
}

#[cfg(unix)]
#[test]
fn files_and_directories_are_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("keys");
    std::fs::create_dir(&root).unwrap();
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (store, _) = populated(&root);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(store.path()), 0o700);
    for path in all_files(store.path()) {
        let expected = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode(&path), expected, "{}", path.display());
    }
}

#[test]
fn corrupt_files_are_errors_that_quote_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (store, keys) = populated(dir.path());
    let request_file = store.path().join("requests").join(format!(
        "{}.json",
        crate::signing::sha256_hex(b"idem-files")
    ));
    let original = std::fs::read_to_string(&request_file).unwrap();

    let keystore_error = |err: Error| match err {
        error @ Error::KeyStore { .. } => error.to_string(),
        other => panic!("unexpected error {other:?}"),
    };
    let check = |contents: &str, expect: &str| {
        std::fs::write(&request_file, contents).unwrap();
        for result in [
            store.request_by_idempotency_key("idem-files"),
            store.request_by_id(&RequestId::new("req-files")),
        ] {
            let message = keystore_error(result.unwrap_err());
            assert!(message.contains(expect), "{message}");
            assert!(message.contains(&*request_file.display().to_string()));
            for key in &keys {
                assert_no_secrets(&message, key);
            }
        }
    };

    // Truncated JSON, still holding the secrets.
    check(
        &original[..original.len() - 20],
        "not a valid key store record",
    );
    // A seed that does not give the recorded public key.
    let seed = &secret_hexes(&keys[0])[0];
    let flipped = original.replace(seed.as_str(), &"00".repeat(32));
    check(&flipped, "not a valid key store record");
    // A version from the future.
    let future = original.replacen("\"version\": 1", "\"version\": 2", 1);
    assert_ne!(future, original);
    check(&future, "unsupported key store record version 2");

    // A corrupt identity and pin are errors too.
    let identity_file = store
        .path()
        .join("identities")
        .join(format!("{}.json", crate::signing::sha256_hex(b"me")));
    std::fs::write(&identity_file, "{ not json").unwrap();
    assert!(keystore_error(store.identity("me").unwrap_err()).contains("not a valid"));
    let pin_file = store
        .path()
        .join("pins")
        .join(format!("{}.json", crate::signing::sha256_hex(b"alice")));
    std::fs::write(&pin_file, "[]").unwrap();
    let alice = ExpertId::new("alice");
    assert!(keystore_error(store.pinned_fingerprint(&alice).unwrap_err()).contains("not a valid"));
}

#[test]
fn debug_never_prints_private_keys() {
    let (request, expert) = sample("idem-debug");
    let text = format!("{request:?} {request:#?}");
    assert_no_secrets(&text, &request.keys);
    assert!(text.contains(&request.keys.public().sign.to_hex()));

    let memory = MemoryKeyStore::new();
    memory.save_request(&request).unwrap();
    memory.save_identity("me", &expert).unwrap();
    let text = format!("{memory:?}");
    assert_no_secrets(&text, &request.keys);
    assert_no_secrets(&text, &expert);

    let dir = tempfile::tempdir().unwrap();
    let file = FileKeyStore::open(dir.path()).unwrap();
    file.save_request(&request).unwrap();
    file.save_identity("me", &expert).unwrap();
    let text = format!("{file:?}");
    assert_no_secrets(&text, &request.keys);
    assert_no_secrets(&text, &expert);
}

#[test]
fn concurrent_writers_never_tear_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let (request, expert) = sample("idem-race");
    let threads: Vec<_> = (0..4)
        .map(|n| {
            let path = path.clone();
            let mut request = request.clone();
            std::thread::spawn(move || {
                // Separate instances, as separate processes would have.
                let store = FileKeyStore::open(&path).unwrap();
                for i in 0..25 {
                    request.request_id = Some(RequestId::new(format!("req-{n}-{i}")));
                    store.save_request(&request).unwrap();
                    let loaded = store.request_by_idempotency_key("idem-race").unwrap();
                    assert!(loaded.is_some());
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let store = FileKeyStore::open(&path).unwrap();
    let loaded = store
        .request_by_idempotency_key("idem-race")
        .unwrap()
        .unwrap();
    assert_keys_work(&request, &loaded, &expert);
    assert!(
        all_files(&path)
            .iter()
            .all(|f| !f.display().to_string().contains(".tmp-"))
    );
}
