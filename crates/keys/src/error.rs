/// Why the key could not be stored or recovered. The UI matches on [`KeyError::code`].
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// No keychain service is reachable: no Secret Service on D-Bus, keychain locked or access
    /// denied, or another platform failure. The app refuses to open the case file.
    #[error("no OS keychain is available")]
    KeychainUnavailable,
    /// The keychain works but holds no usable key for this profile: the passphrase path applies.
    #[error("the OS keychain holds no key for this profile")]
    NoKeychainEntry,
    /// The passphrase (or the profile the wrapped key is bound to) does not match.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// The wrapped-key file is unreadable or in an unsupported format.
    #[error("the wrapped-key file is damaged or unsupported")]
    WrappedKeyDamaged,
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl KeyError {
    /// Stable identifier for the UI and logs.
    pub fn code(&self) -> &'static str {
        match self {
            KeyError::KeychainUnavailable => "keychain_unavailable",
            KeyError::NoKeychainEntry => "no_keychain_entry",
            KeyError::WrongPassphrase => "wrong_passphrase",
            KeyError::WrappedKeyDamaged => "wrapped_key_damaged",
            KeyError::Io(_) => "io",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        let cases = [
            (KeyError::KeychainUnavailable, "keychain_unavailable"),
            (KeyError::NoKeychainEntry, "no_keychain_entry"),
            (KeyError::WrongPassphrase, "wrong_passphrase"),
            (KeyError::WrappedKeyDamaged, "wrapped_key_damaged"),
            (KeyError::Io(std::io::Error::other("x")), "io"),
        ];
        for (err, code) in cases {
            assert_eq!(err.code(), code);
        }
    }
}
