//! Identifiers and secrets from the operating system's CSPRNG, and the hash under which keys
//! and tokens are stored.

use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

use crate::store::KeyHash;

/// SHA-256 of a key or token: keys are stored and looked up only in this form.
pub fn hash_secret(secret: &str) -> KeyHash {
    Sha256::digest(secret.as_bytes()).into()
}

/// An opaque id: 24 lowercase hex digits (96 random bits).
pub fn new_id() -> String {
    let mut bytes = [0u8; 12];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A fresh key with a prefix (`hs_cli_`, `hs_exp_`): 128 random bits as 32 hex digits.
pub fn new_key(prefix: &str) -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

/// Prefix of generated client keys.
pub const CLIENT_KEY_PREFIX: &str = "hs_cli_";
/// Prefix of generated expert keys.
pub const EXPERT_KEY_PREFIX: &str = "hs_exp_";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_ids_are_random_and_well_formed() {
        let a = new_key(CLIENT_KEY_PREFIX);
        assert!(a.starts_with("hs_cli_"));
        assert_eq!(a.len(), 7 + 32);
        assert_ne!(a, new_key(CLIENT_KEY_PREFIX));
        assert_eq!(new_id().len(), 24);
    }
}
