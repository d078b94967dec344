//! Support code shared by the workspace's cross-crate end-to-end tests (`tests/`), runnable
//! examples (`examples/`) and benchmarks (`benches/`). Nothing here is published.

pub use heysummon_sdk;
