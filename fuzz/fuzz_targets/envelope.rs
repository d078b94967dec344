//! Fuzz target `envelope`; the logic lives in `fuzz/support/envelope.rs`, shared with the stable
//! regression test `tests/fuzz_corpus/main.rs`.
#![no_main]

#[allow(dead_code)] // `seeds` is for the regression test
#[path = "../support/envelope.rs"]
mod support;

libfuzzer_sys::fuzz_target!(|data: &[u8]| support::run(data));
