//! Moving the expert's identity between places: the passphrase-protected identity file
//! (PROTOCOL E4), the format the dashboard exports and imports too.

use super::{EXPERT_IDENTITY, ExpertClient};
use crate::Error;
use crate::keys::{Fingerprint, PartyKeys};

impl ExpertClient {
    /// The expert's identity (made and stored on first use, as [`ExpertClient::identity`]) as a
    /// passphrase-protected identity file, to import into the dashboard of a browser or into
    /// another `ExpertClient`. Nothing is sent anywhere.
    ///
    /// # Errors
    /// [`Error::EmptyPassphrase`]; [`Error::KeyStore`].
    pub fn export_identity(&self, passphrase: &str) -> Result<String, Error> {
        self.identity()?.to_identity_file(passphrase)
    }

    /// Opens an identity file (exported by the dashboard or by [`ExpertClient::export_identity`])
    /// and saves it in the key store as the expert's identity, replacing any earlier one.
    /// Returns its fingerprint. Publish it with [`ExpertClient::publish_keys`] if the server
    /// does not have it yet.
    ///
    /// # Errors
    /// [`Error::IdentityFile`] for a wrong passphrase or a damaged file (the key store is then
    /// left as it was); [`Error::KeyStore`].
    pub fn import_identity(&self, text: &str, passphrase: &str) -> Result<Fingerprint, Error> {
        let keys = PartyKeys::from_identity_file(text, passphrase)?;
        self.inner.key_store.save_identity(EXPERT_IDENTITY, &keys)?;
        Ok(keys.public().fingerprint())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::keystore::{KeyStore, MemoryKeyStore};

    fn expert(store: Arc<MemoryKeyStore>) -> ExpertClient {
        ExpertClient::builder()
            .base_url("http://127.0.0.1:9")
            .api_key("hs_exp_identity_test")
            .shared_key_store(store)
            .build()
            .unwrap()
    }

    #[test]
    fn an_exported_identity_imports_elsewhere_and_replaces_the_old_one() {
        let home = Arc::new(MemoryKeyStore::new());
        let away = Arc::new(MemoryKeyStore::new());
        let at_home = expert(home.clone());
        let at_away = expert(away.clone());
        let ours = at_home.identity().unwrap().public();
        let before = at_away.identity().unwrap().public();
        assert_ne!(before, ours);

        let file = at_home.export_identity("a passphrase").unwrap();
        assert_eq!(
            at_away.import_identity(&file, "a passphrase").unwrap(),
            ours.fingerprint()
        );
        assert_eq!(
            away.identity(EXPERT_IDENTITY).unwrap().unwrap().public(),
            ours
        );
        assert_eq!(at_away.identity().unwrap().public(), ours);
    }

    #[test]
    fn a_failed_import_leaves_the_key_store_alone() {
        let store = Arc::new(MemoryKeyStore::new());
        let client = expert(store.clone());
        let ours = client.identity().unwrap().public();
        let file = PartyKeys::generate().to_identity_file("right").unwrap();
        let err = client.import_identity(&file, "wrong").unwrap_err();
        assert!(matches!(err, Error::IdentityFile));
        assert_eq!(client.identity().unwrap().public(), ours);
        assert!(matches!(
            client.export_identity(""),
            Err(Error::EmptyPassphrase)
        ));
    }
}
