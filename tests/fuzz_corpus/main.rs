//! The fuzz corpora as regression tests on stable: every input in `fuzz/corpus/<target>/` (the
//! minimised corpus of the last fuzzing run) and `fuzz/regressions/<target>/` (inputs that once
//! crashed a target), and the built-in seeds, run through the same function the fuzz target
//! calls. Any panic fails the test, naming the file.
//!
//! The per-target logic is defined once, in `fuzz/support/<target>.rs`, and included both here
//! and by `fuzz/fuzz_targets/<target>.rs`.
//!
//! `HEYSUMMON_WRITE_FUZZ_SEEDS=1 cargo test --test fuzz_corpus` also writes the seeds into
//! `fuzz/corpus/<target>/seed-NN` (how the seed corpora were made).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

#[path = "../../fuzz/support/envelope.rs"]
mod envelope;
#[path = "../../fuzz/support/keys.rs"]
mod keys;
#[path = "../../fuzz/support/mercure_jwt.rs"]
mod mercure_jwt;
#[path = "../../fuzz/support/safety.rs"]
mod safety;
#[path = "../../fuzz/support/signing.rs"]
mod signing;
#[path = "../../fuzz/support/wire_bodies.rs"]
mod wire_bodies;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files of a directory, sorted; none if it does not exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// Runs the seeds, the corpus and the regressions of `target` through `run`.
fn replay(target: &str, run: fn(&[u8]), seeds: fn() -> Vec<Vec<u8>>) {
    let seeds = seeds();
    if std::env::var_os("HEYSUMMON_WRITE_FUZZ_SEEDS").is_some() {
        let dir = fuzz_dir().join("corpus").join(target);
        std::fs::create_dir_all(&dir).expect("create the corpus directory");
        for (index, seed) in seeds.iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{index:02}")), seed).expect("write a seed");
        }
    }
    let mut failures = Vec::new();
    let mut count = 0;
    let mut one = |name: String, data: &[u8]| {
        count += 1;
        if catch_unwind(AssertUnwindSafe(|| run(data))).is_err() {
            failures.push(name);
        }
    };
    for (index, seed) in seeds.iter().enumerate() {
        one(format!("seed {index}"), seed);
    }
    let corpus = files(&fuzz_dir().join("corpus").join(target));
    assert!(!corpus.is_empty(), "no corpus for {target}");
    let regressions = files(&fuzz_dir().join("regressions").join(target));
    for path in corpus.iter().chain(&regressions) {
        let data = std::fs::read(path).expect("read a corpus file");
        one(path.display().to_string(), &data);
    }
    assert!(
        failures.is_empty(),
        "{target}: {} of {count} inputs panicked: {failures:#?}",
        failures.len()
    );
}

#[test]
fn wire_bodies_corpus() {
    replay("wire_bodies", wire_bodies::run, wire_bodies::seeds);
}

#[test]
fn keys_corpus() {
    replay("keys", keys::run, keys::seeds);
}

#[test]
fn envelope_corpus() {
    replay("envelope", envelope::run, envelope::seeds);
}

#[test]
fn signing_corpus() {
    replay("signing", signing::run, signing::seeds);
}

#[test]
fn safety_corpus() {
    replay("safety", safety::run, safety::seeds);
}

#[test]
fn mercure_jwt_corpus() {
    replay("mercure_jwt", mercure_jwt::run, mercure_jwt::seeds);
}
