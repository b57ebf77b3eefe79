//! Against a real Secret Service (gnome-keyring). Runs only with `TANDEM_REAL_KEYCHAIN=1`;
//! `run-real-keychain.sh` beside this file starts a private D-Bus session and keyring for it.
#![cfg(target_os = "linux")]

use std::process::Command;

use tandem_keys::{DbKey, KeyError, Keychain};

fn enabled(test: &str) -> bool {
    let on = std::env::var("TANDEM_REAL_KEYCHAIN").is_ok_and(|v| v == "1");
    if !on {
        eprintln!("{test}: skipped (set TANDEM_REAL_KEYCHAIN=1, see tests/run-real-keychain.sh)");
    }
    on
}

fn unique_profile(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("tandem-keys-test-{test}-{}-{nanos}", std::process::id())
}

#[test]
fn real_keychain() {
    if !enabled("real_keychain") {
        return;
    }
    let keychain = Keychain::native(&unique_profile("sld")).expect("Secret Service reachable");
    eprintln!("using {keychain:?}");
    keychain.probe().unwrap();
    assert!(matches!(keychain.load(), Err(KeyError::NoKeychainEntry)));

    let key = DbKey::generate();
    keychain.store(&key).unwrap();
    assert_eq!(keychain.load().unwrap(), key);

    // A second handle, as after an app restart, sees the same entry.
    let profile = unique_profile("restart");
    Keychain::native(&profile).unwrap().store(&key).unwrap();
    let reopened = Keychain::native(&profile).unwrap();
    assert_eq!(reopened.load().unwrap(), key);
    reopened.delete().unwrap();

    let replacement = DbKey::generate();
    keychain.store(&replacement).unwrap();
    assert_eq!(keychain.load().unwrap(), replacement);

    keychain.delete().unwrap();
    assert!(matches!(keychain.load(), Err(KeyError::NoKeychainEntry)));
    assert!(matches!(keychain.delete(), Err(KeyError::NoKeychainEntry)));
    keychain.probe().unwrap();

    // Last, because it leaves the keyring locked.
    locked_keyring_is_keychain_unavailable();
}

/// A locked keyring with nobody to unlock it (no prompter, as on a headless session) is
/// `KeychainUnavailable`, promptly. Locks the login keyring, so it only runs on the throwaway
/// keyring that run-real-keychain.sh sets up.
fn locked_keyring_is_keychain_unavailable() {
    if std::env::var_os("TANDEM_THROWAWAY_KEYRING").is_none() {
        eprintln!("locked keyring check: skipped (not a throwaway keyring)");
        return;
    }
    let keychain = Keychain::native(&unique_profile("locked")).unwrap();
    keychain.store(&DbKey::generate()).unwrap();

    let lock = Command::new("dbus-send")
        .args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.secrets",
            "/org/freedesktop/secrets",
            "org.freedesktop.Secret.Service.Lock",
            "array:objpath:/org/freedesktop/secrets/collection/login",
        ])
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(lock.success());

    assert!(matches!(
        keychain.probe(),
        Err(KeyError::KeychainUnavailable)
    ));
    assert!(matches!(
        keychain.load(),
        Err(KeyError::KeychainUnavailable)
    ));
    assert!(matches!(
        keychain.store(&DbKey::generate()),
        Err(KeyError::KeychainUnavailable)
    ));
    eprintln!("locked keyring check: ok");
}
