//! The case file's database key (design.md §4).
//!
//! The SQLCipher key is 256 random bits that never touch the disk in clear. Its home is the
//! OS keychain ([`Keychain`]); a passphrase-wrapped copy ([`WrappedKey`], Argon2id +
//! XChaCha20-Poly1305) sits beside the case file as the documented recovery path when the
//! keychain entry is lost. There is deliberately no plaintext fallback.
//!
//! Shared crate: no Tauri dependency.

mod db_key;
mod error;
mod keychain;
mod wrapped;

pub use db_key::DbKey;
pub use error::KeyError;
pub use keychain::{Keychain, DEVICE_SERVICE, SERVICE};
#[doc(hidden)]
pub use wrapped::KdfParams;
pub use wrapped::WrappedKey;
