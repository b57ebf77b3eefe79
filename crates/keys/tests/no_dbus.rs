//! With no D-Bus session the Secret Service is unreachable, and that must surface as
//! `KeychainUnavailable` — never as a missing entry, which would send the app down the
//! passphrase path and hide the real problem.
//!
//! The bus address is read when the connection is made, so the check runs in a child
//! process of this test binary with the environment set from the start.
#![cfg(target_os = "linux")]

use std::process::Command;

use tandem_keys::{KeyError, Keychain};

const CHILD_FLAG: &str = "TANDEM_KEYS_NO_DBUS_CHILD";

#[test]
fn no_dbus_session_is_keychain_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("no-such-bus");
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_probe_without_dbus", "--nocapture"])
        .env(CHILD_FLAG, "1")
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}", socket.display()),
        )
        .env("XDG_RUNTIME_DIR", dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child failed:\n{stderr}");
    assert!(
        stderr.contains("no-dbus probe: keychain_unavailable"),
        "{stderr}"
    );
}

/// The child half of the test above; a no-op when run directly.
#[test]
fn child_probe_without_dbus() {
    if std::env::var_os(CHILD_FLAG).is_none() {
        return;
    }
    let result = Keychain::native("tandem-keys-no-dbus").and_then(|k| k.probe());
    let err = result.expect_err("no D-Bus session, yet the keychain answered");
    assert!(matches!(err, KeyError::KeychainUnavailable), "{err:?}");
    eprintln!("no-dbus probe: {}", err.code());
}
