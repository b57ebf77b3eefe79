use rand::rngs::OsRng;
use rand::TryRngCore;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// The case file's 256-bit SQLCipher key.
///
/// Zeroized on drop. `Debug` prints `DbKey(..)`; there is no `Display`, `Serialize` or
/// `Clone`, so the key only leaves this type through [`DbKey::as_bytes`] or [`DbKey::to_hex`].
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct DbKey([u8; 32]);

impl DbKey {
    /// 32 bytes from the operating system's CSPRNG.
    pub fn generate() -> Self {
        let mut key = DbKey([0; 32]);
        // No usable fallback exists for a failing OS RNG: a weak key would be worse than a crash.
        OsRng
            .try_fill_bytes(&mut key.0)
            .expect("the operating system's random number generator failed");
        key
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        DbKey(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex, the form SQLCipher takes as a raw key (`x'…'`).
    pub fn to_hex(&self) -> Zeroizing<String> {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        // Sized up front so the buffer never reallocates and leaves a copy behind.
        let mut hex = Zeroizing::new(String::with_capacity(64));
        for byte in self.0 {
            hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
            hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
        }
        hex
    }

    /// Parses exactly 64 hex digits (either case). `None` for anything else.
    pub(crate) fn from_hex(hex: &str) -> Option<Self> {
        fn nibble(c: u8) -> Option<u8> {
            match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                b'A'..=b'F' => Some(c - b'A' + 10),
                _ => None,
            }
        }
        let hex = hex.as_bytes();
        if hex.len() != 64 {
            return None;
        }
        let mut key = DbKey([0; 32]);
        for (out, pair) in key.0.iter_mut().zip(hex.chunks_exact(2)) {
            *out = (nibble(pair[0])? << 4) | nibble(pair[1])?;
        }
        Some(key)
    }
}

impl PartialEq for DbKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for DbKey {}

impl std::fmt::Debug for DbKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_differ() {
        assert_ne!(DbKey::generate(), DbKey::generate());
    }

    #[test]
    fn debug_hides_the_key() {
        let key = DbKey::from_bytes([0xab; 32]);
        assert_eq!(format!("{key:?}"), "DbKey(..)");
    }

    #[test]
    fn hex_round_trip() {
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::try_from(i * 8).unwrap();
        }
        let key = DbKey::from_bytes(bytes);
        let hex = key.to_hex();
        assert_eq!(
            hex.as_str(),
            "0008101820283038404850586068707880889098a0a8b0b8c0c8d0d8e0e8f0f8"
        );
        assert_eq!(DbKey::from_hex(&hex).unwrap(), key);
        assert_eq!(DbKey::from_hex(&hex.to_uppercase()).unwrap(), key);
    }

    #[test]
    fn from_hex_rejects_malformed_input() {
        assert!(DbKey::from_hex("").is_none());
        assert!(DbKey::from_hex(&"0".repeat(63)).is_none());
        assert!(DbKey::from_hex(&"0".repeat(65)).is_none());
        assert!(DbKey::from_hex(&"g".repeat(64)).is_none());
        assert!(DbKey::from_hex(&"é".repeat(32)).is_none());
    }

    #[test]
    fn equality_compares_every_byte() {
        let a = DbKey::from_bytes([7; 32]);
        let mut last_differs = [7; 32];
        last_differs[31] = 8;
        assert_eq!(a, DbKey::from_bytes([7; 32]));
        assert_ne!(a, DbKey::from_bytes(last_differs));
    }
}
