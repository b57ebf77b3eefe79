use std::collections::HashMap;
use std::sync::Arc;

use keyring_core::{CredentialStore, Entry, Error as StoreError};
use zeroize::{Zeroize, Zeroizing};

use crate::{DbKey, KeyError};

/// The keychain service name under which every profile's key is filed.
pub const SERVICE: &str = "fr.tandem.case-file";

/// The keychain service under which a profile's device credential for the territory server is
/// filed (same user: the profile id). Separate from the key so that withdrawing a laptop from
/// the server never touches the case file's key, and the other way round.
pub const DEVICE_SERVICE: &str = "fr.tandem.device-credential";

/// The OS keychain entry holding one profile's key: service [`SERVICE`], user = profile id.
///
/// The key is stored as its 64-digit hex form: some Secret Service back ends (KWallet's
/// bridge) only hold UTF-8, and it is the form SQLCipher takes anyway.
pub struct Keychain {
    store: Arc<CredentialStore>,
    profile_id: String,
    modifiers: Vec<(&'static str, String)>,
}

impl Keychain {
    /// The platform store: Secret Service (Linux), Keychain (macOS), Credential Manager
    /// (Windows). `KeychainUnavailable` when it cannot be reached (e.g. no D-Bus session).
    pub fn native(profile_id: &str) -> Result<Self, KeyError> {
        let (store, modifiers) = native_store(profile_id)?;
        Ok(Keychain {
            store,
            profile_id: profile_id.to_owned(),
            modifiers,
        })
    }

    /// Any keyring-core store; tests pass `keyring_core::mock::Store::new()`.
    pub fn with_store(store: Arc<CredentialStore>, profile_id: &str) -> Self {
        Keychain {
            store,
            profile_id: profile_id.to_owned(),
            modifiers: Vec::new(),
        }
    }

    pub fn store(&self, key: &DbKey) -> Result<(), KeyError> {
        self.entry()?
            .set_password(&key.to_hex())
            .map_err(|e| self.map_error("store", e))
    }

    /// `NoKeychainEntry` when the entry is missing, or holds something that is not a key
    /// (storing the recovered key over it is then the fix).
    pub fn load(&self) -> Result<DbKey, KeyError> {
        let hex = Zeroizing::new(
            self.entry()?
                .get_password()
                .map_err(|e| self.map_error("load", e))?,
        );
        DbKey::from_hex(&hex).ok_or_else(|| {
            log::warn!(
                "keychain entry for profile {} does not hold a key",
                self.profile_id
            );
            KeyError::NoKeychainEntry
        })
    }

    /// Deleting a missing entry is `NoKeychainEntry`, so callers can tell it apart.
    pub fn delete(&self) -> Result<(), KeyError> {
        self.entry()?
            .delete_credential()
            .map_err(|e| self.map_error("delete", e))
    }

    /// Whether the keychain service answers; a missing entry counts as reachable.
    pub fn probe(&self) -> Result<(), KeyError> {
        match self.entry()?.get_secret() {
            Ok(secret) => {
                drop(Zeroizing::new(secret));
                Ok(())
            }
            Err(StoreError::NoEntry) => Ok(()),
            Err(e) => Err(self.map_error("probe", e)),
        }
    }

    /// Stores the device credential (the bearer token the territory server issued at enrolment).
    pub fn store_device_token(&self, token: &str) -> Result<(), KeyError> {
        self.entry_in(DEVICE_SERVICE)?
            .set_password(token)
            .map_err(|e| self.map_error("store device credential", e))
    }

    /// The device credential; `NoKeychainEntry` when this laptop is not enrolled.
    pub fn load_device_token(&self) -> Result<Zeroizing<String>, KeyError> {
        Ok(Zeroizing::new(
            self.entry_in(DEVICE_SERVICE)?
                .get_password()
                .map_err(|e| self.map_error("load device credential", e))?,
        ))
    }

    /// Removes the device credential; a missing one is `NoKeychainEntry`.
    pub fn delete_device_token(&self) -> Result<(), KeyError> {
        self.entry_in(DEVICE_SERVICE)?
            .delete_credential()
            .map_err(|e| self.map_error("delete device credential", e))
    }

    fn entry(&self) -> Result<Entry, KeyError> {
        self.entry_in(SERVICE)
    }

    fn entry_in(&self, service: &str) -> Result<Entry, KeyError> {
        let result = if self.modifiers.is_empty() {
            Entry::new_in_store(&self.store, service, &self.profile_id)
        } else {
            let device_label = format!("Tandem: territory server credential ({})", self.profile_id);
            let modifiers: HashMap<&str, &str> = self
                .modifiers
                .iter()
                .map(|(name, value)| {
                    if *name == "label" && service == DEVICE_SERVICE {
                        (*name, device_label.as_str())
                    } else {
                        (*name, value.as_str())
                    }
                })
                .collect();
            Entry::new_in_store_with_modifiers(&self.store, service, &self.profile_id, &modifiers)
        };
        result.map_err(|e| self.map_error("open entry", e))
    }

    fn map_error(&self, operation: &str, err: StoreError) -> KeyError {
        match err {
            StoreError::NoEntry => KeyError::NoKeychainEntry,
            // These carry the stored bytes: wipe them and never log them.
            StoreError::BadEncoding(mut bytes) | StoreError::BadDataFormat(mut bytes, _) => {
                bytes.zeroize();
                log::warn!(
                    "keychain {operation} for profile {}: entry is not a key",
                    self.profile_id
                );
                KeyError::NoKeychainEntry
            }
            other => {
                log::warn!(
                    "keychain {operation} for profile {} failed: {other}",
                    self.profile_id
                );
                KeyError::KeychainUnavailable
            }
        }
    }
}

impl std::fmt::Debug for Keychain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keychain")
            .field("store", &self.store.vendor())
            .field("profile_id", &self.profile_id)
            .finish()
    }
}

type NativeStore = (Arc<CredentialStore>, Vec<(&'static str, String)>);

fn unavailable(err: StoreError) -> KeyError {
    log::warn!("the OS keychain cannot be reached: {err}");
    KeyError::KeychainUnavailable
}

#[cfg(target_os = "linux")]
fn native_store(profile_id: &str) -> Result<NativeStore, KeyError> {
    let store = zbus_secret_service_keyring_store::Store::new().map_err(unavailable)?;
    // Shown in Seahorse and similar tools instead of "keyring:{user}@{service}".
    let label = format!("Tandem: case file key ({profile_id})");
    Ok((store, vec![("label", label)]))
}

#[cfg(target_os = "macos")]
fn native_store(_profile_id: &str) -> Result<NativeStore, KeyError> {
    // The user's login keychain.
    let store = apple_native_keyring_store::keychain::Store::new().map_err(unavailable)?;
    Ok((store, Vec::new()))
}

#[cfg(windows)]
fn native_store(_profile_id: &str) -> Result<NativeStore, KeyError> {
    let store = windows_native_keyring_store::Store::new().map_err(unavailable)?;
    // The store's default, Enterprise, roams with the user's domain profile; the key belongs
    // with the case file on this machine.
    Ok((store, vec![("persistence", "Local".to_owned())]))
}

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
fn native_store(_profile_id: &str) -> Result<NativeStore, KeyError> {
    let _ = unavailable;
    Err(KeyError::KeychainUnavailable)
}

#[cfg(test)]
mod tests {
    use keyring_core::mock;

    use super::*;
    use crate::WrappedKey;

    fn mock_store() -> Arc<mock::Store> {
        mock::Store::new().unwrap()
    }

    /// The next operation on this profile's mock entry fails with `err`.
    fn fail_next(store: &Arc<mock::Store>, profile_id: &str, err: StoreError) {
        let store: Arc<CredentialStore> = store.clone();
        let entry = Entry::new_in_store(&store, SERVICE, profile_id).unwrap();
        let cred: &mock::Cred = entry.as_any().downcast_ref().unwrap();
        cred.set_error(err);
    }

    fn platform_failure() -> StoreError {
        StoreError::PlatformFailure("simulated D-Bus failure".into())
    }

    #[test]
    fn device_token_is_a_separate_entry() {
        let store = mock_store();
        let keychain = Keychain::with_store(store.clone(), "profile-d");
        let key = DbKey::generate();
        keychain.store(&key).unwrap();
        assert!(matches!(
            keychain.load_device_token(),
            Err(KeyError::NoKeychainEntry)
        ));
        keychain.store_device_token("token-1").unwrap();
        assert_eq!(keychain.load_device_token().unwrap().as_str(), "token-1");
        keychain.delete_device_token().unwrap();
        assert!(matches!(
            keychain.delete_device_token(),
            Err(KeyError::NoKeychainEntry)
        ));
        // The case file's key is untouched by the credential's life.
        assert_eq!(keychain.load().unwrap(), key);
    }

    #[test]
    fn store_load_delete() {
        let keychain = Keychain::with_store(mock_store(), "profile-a");
        let key = DbKey::generate();
        keychain.store(&key).unwrap();
        assert_eq!(keychain.load().unwrap(), key);
        keychain.delete().unwrap();
        assert!(matches!(keychain.load(), Err(KeyError::NoKeychainEntry)));
    }

    #[test]
    fn store_replaces_the_previous_key() {
        let keychain = Keychain::with_store(mock_store(), "profile-a");
        keychain.store(&DbKey::generate()).unwrap();
        let second = DbKey::generate();
        keychain.store(&second).unwrap();
        assert_eq!(keychain.load().unwrap(), second);
    }

    #[test]
    fn profiles_do_not_share_entries() {
        let store = mock_store();
        let a = Keychain::with_store(store.clone(), "profile-a");
        let b = Keychain::with_store(store, "profile-b");
        a.store(&DbKey::generate()).unwrap();
        assert!(matches!(b.load(), Err(KeyError::NoKeychainEntry)));
    }

    #[test]
    fn missing_entry_is_no_keychain_entry() {
        let keychain = Keychain::with_store(mock_store(), "profile-a");
        assert!(matches!(keychain.load(), Err(KeyError::NoKeychainEntry)));
        assert!(matches!(keychain.delete(), Err(KeyError::NoKeychainEntry)));
    }

    #[test]
    fn probe_counts_a_missing_entry_as_reachable() {
        let keychain = Keychain::with_store(mock_store(), "profile-a");
        keychain.probe().unwrap();
        keychain.store(&DbKey::generate()).unwrap();
        keychain.probe().unwrap();
    }

    #[test]
    fn platform_failures_are_keychain_unavailable() {
        let store = mock_store();
        let keychain = Keychain::with_store(store.clone(), "profile-a");
        let key = DbKey::generate();

        fail_next(&store, "profile-a", platform_failure());
        assert!(matches!(
            keychain.probe(),
            Err(KeyError::KeychainUnavailable)
        ));

        fail_next(&store, "profile-a", platform_failure());
        assert!(matches!(
            keychain.store(&key),
            Err(KeyError::KeychainUnavailable)
        ));

        keychain.store(&key).unwrap();
        fail_next(
            &store,
            "profile-a",
            StoreError::NoStorageAccess("simulated locked collection".into()),
        );
        assert!(matches!(
            keychain.load(),
            Err(KeyError::KeychainUnavailable)
        ));

        fail_next(&store, "profile-a", platform_failure());
        assert!(matches!(
            keychain.delete(),
            Err(KeyError::KeychainUnavailable)
        ));

        // The injected errors are one-shot and left the stored key alone.
        assert_eq!(keychain.load().unwrap(), key);
    }

    #[test]
    fn an_entry_that_is_not_a_key_is_no_keychain_entry() {
        let store = mock_store();
        let keychain = Keychain::with_store(store.clone(), "profile-a");
        let as_dyn: Arc<CredentialStore> = store.clone();
        Entry::new_in_store(&as_dyn, SERVICE, "profile-a")
            .unwrap()
            .set_password("not a key")
            .unwrap();
        assert!(matches!(keychain.load(), Err(KeyError::NoKeychainEntry)));

        fail_next(&store, "profile-a", StoreError::BadEncoding(vec![0xff; 32]));
        assert!(matches!(keychain.load(), Err(KeyError::NoKeychainEntry)));
    }

    /// The app's recovery path: the keychain lost the entry, the caseworker types the
    /// passphrase, the unwrapped key goes back into the keychain.
    #[test]
    fn missing_entry_recovers_through_the_passphrase() {
        let params = crate::KdfParams::INSECURE_FOR_TESTS;
        let profile = "profile-a";
        let keychain = Keychain::with_store(mock_store(), profile);
        let key = DbKey::generate();
        keychain.store(&key).unwrap();
        let wrapped =
            WrappedKey::wrap_with_params(&key, "cheval bleu 42", profile.as_bytes(), params)
                .unwrap();

        keychain.delete().unwrap();
        assert!(matches!(keychain.load(), Err(KeyError::NoKeychainEntry)));

        let recovered = wrapped
            .unwrap("cheval bleu 42", profile.as_bytes())
            .unwrap();
        keychain.store(&recovered).unwrap();
        assert_eq!(keychain.load().unwrap(), key);
    }
}
