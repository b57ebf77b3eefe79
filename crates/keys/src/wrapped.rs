use std::io::{Read, Write};
use std::path::Path;

use argon2::{Algorithm, Argon2, Version};
use base64ct::{Base64, Encoding};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::rngs::OsRng;
use rand::TryRngCore;
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use crate::{DbKey, KeyError};

const FORMAT: &str = "tandem-wrapped-key";
const VERSION: u32 = 1;
const KDF_ALG: &str = "argon2id";
const AEAD_ALG: &str = "xchacha20poly1305";
/// Prefixed to the caller's context in the associated data, so a ciphertext made for some
/// other purpose with the same passphrase can never pass for a wrapped key.
const AAD_PREFIX: &[u8] = b"tandem-wrapped-key/v1\0";
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 24;
const CIPHERTEXT_LEN: usize = 32 + 16;
/// Far larger than any valid file; stops a hostile file from being read whole.
const MAX_FILE_LEN: u64 = 64 * 1024;

/// Argon2id cost parameters, recorded in the file so old files stay readable when the
/// defaults rise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    pub m_kib: u32,
    pub t: u32,
    pub p: u32,
}

impl KdfParams {
    /// OWASP's Argon2id floor is 19 MiB / t=2; we spend more since this runs once per recovery.
    pub const DEFAULT: KdfParams = KdfParams {
        m_kib: 64 * 1024,
        t: 3,
        p: 1,
    };

    /// Cheapest parameters Argon2 accepts. Tests only.
    #[doc(hidden)]
    pub const INSECURE_FOR_TESTS: KdfParams = KdfParams {
        m_kib: 8,
        t: 1,
        p: 1,
    };

    /// Bounds on what a file may ask for: a tampered file must not make us allocate
    /// gigabytes or spin for minutes before the tag check can reject it.
    fn is_acceptable(self) -> bool {
        (1..=16).contains(&self.p)
            && (1..=64).contains(&self.t)
            && self.m_kib >= 8 * self.p
            && self.m_kib <= 1024 * 1024
    }
}

/// A copy of the case file's key wrapped with Argon2id(passphrase) + XChaCha20-Poly1305,
/// stored beside the case file as the recovery path when the keychain entry is lost.
///
/// The passphrase is NFC-normalised first, so the same typed passphrase unwraps whatever
/// input method produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    params: KdfParams,
    salt: Vec<u8>,
    nonce: [u8; NONCE_LEN],
    ciphertext: Vec<u8>,
}

impl WrappedKey {
    /// `context` (the profile id) is bound as associated data: the file only unwraps for it.
    pub fn wrap(key: &DbKey, passphrase: &str, context: &[u8]) -> Result<Self, KeyError> {
        Self::wrap_with_params(key, passphrase, context, KdfParams::DEFAULT)
    }

    /// [`WrappedKey::wrap`] with chosen costs, for tests; `unwrap` reads them from the file.
    #[doc(hidden)]
    pub fn wrap_with_params(
        key: &DbKey,
        passphrase: &str,
        context: &[u8],
        params: KdfParams,
    ) -> Result<Self, KeyError> {
        if !params.is_acceptable() {
            return Err(KeyError::WrappedKeyDamaged);
        }
        let mut salt = vec![0u8; SALT_LEN];
        let mut nonce = [0u8; NONCE_LEN];
        OsRng
            .try_fill_bytes(&mut salt)
            .and_then(|()| OsRng.try_fill_bytes(&mut nonce))
            .map_err(|e| KeyError::Io(std::io::Error::other(e)))?;

        let cipher = cipher(passphrase, &salt, params)?;
        let aad = associated_data(context);
        let ciphertext = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: key.as_bytes(),
                    aad: &aad,
                },
            )
            // Encryption only fails on absurd lengths; 32 bytes is not one.
            .map_err(|_| KeyError::WrappedKeyDamaged)?;
        Ok(WrappedKey {
            params,
            salt,
            nonce,
            ciphertext,
        })
    }

    /// `WrongPassphrase` when the passphrase or the context differs from the wrap (or the
    /// file was altered: the AEAD tag cannot tell these apart).
    pub fn unwrap(&self, passphrase: &str, context: &[u8]) -> Result<DbKey, KeyError> {
        let cipher = cipher(passphrase, &self.salt, self.params)?;
        let aad = associated_data(context);
        let plaintext = Zeroizing::new(
            cipher
                .decrypt(
                    &XNonce::from(self.nonce),
                    Payload {
                        msg: &self.ciphertext,
                        aad: &aad,
                    },
                )
                .map_err(|_| KeyError::WrongPassphrase)?,
        );
        let bytes: Zeroizing<[u8; 32]> = Zeroizing::new(
            plaintext
                .as_slice()
                .try_into()
                .map_err(|_| KeyError::WrappedKeyDamaged)?,
        );
        Ok(DbKey::from_bytes(*bytes))
    }

    /// Atomic: a temporary file in the same directory is written, fsynced and renamed over
    /// `path`, then the directory is fsynced. Mode 0600 on Unix.
    pub fn write(&self, path: &Path) -> Result<(), KeyError> {
        let json = serde_json::to_vec_pretty(&self.to_file())
            .map_err(|e| KeyError::Io(std::io::Error::other(e)))?;
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        // tempfile creates the file 0600 on Unix.
        let mut tmp = tempfile::Builder::new()
            .prefix(".tandem-wrapped-key")
            .tempfile_in(dir)?;
        tmp.write_all(&json)?;
        tmp.write_all(b"\n")?;
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| KeyError::Io(e.error))?;
        #[cfg(unix)]
        std::fs::File::open(dir)?.sync_all()?;
        Ok(())
    }

    /// `WrappedKeyDamaged` for anything that is not a well-formed version-1 file;
    /// `Io` only when the file cannot be read at all (including `NotFound`).
    pub fn read(path: &Path) -> Result<Self, KeyError> {
        let mut bytes = Vec::new();
        std::fs::File::open(path)?
            .take(MAX_FILE_LEN + 1)
            .read_to_end(&mut bytes)?;
        if bytes.len() as u64 > MAX_FILE_LEN {
            return Err(KeyError::WrappedKeyDamaged);
        }
        let file: FileV1 =
            serde_json::from_slice(&bytes).map_err(|_| KeyError::WrappedKeyDamaged)?;
        Self::from_file(file).ok_or(KeyError::WrappedKeyDamaged)
    }

    fn to_file(&self) -> FileV1 {
        FileV1 {
            format: FORMAT.to_owned(),
            version: VERSION,
            kdf: KdfV1 {
                alg: KDF_ALG.to_owned(),
                m_kib: self.params.m_kib,
                t: self.params.t,
                p: self.params.p,
                salt: Base64::encode_string(&self.salt),
            },
            aead: AEAD_ALG.to_owned(),
            nonce: Base64::encode_string(&self.nonce),
            ciphertext: Base64::encode_string(&self.ciphertext),
        }
    }

    fn from_file(file: FileV1) -> Option<Self> {
        if file.format != FORMAT
            || file.version != VERSION
            || file.kdf.alg != KDF_ALG
            || file.aead != AEAD_ALG
        {
            return None;
        }
        let params = KdfParams {
            m_kib: file.kdf.m_kib,
            t: file.kdf.t,
            p: file.kdf.p,
        };
        let salt = Base64::decode_vec(&file.kdf.salt).ok()?;
        let nonce = Base64::decode_vec(&file.nonce).ok()?.try_into().ok()?;
        let ciphertext = Base64::decode_vec(&file.ciphertext).ok()?;
        let valid = params.is_acceptable()
            && (SALT_LEN..=64).contains(&salt.len())
            && ciphertext.len() == CIPHERTEXT_LEN;
        valid.then_some(WrappedKey {
            params,
            salt,
            nonce,
            ciphertext,
        })
    }
}

#[derive(Serialize, Deserialize)]
struct FileV1 {
    format: String,
    version: u32,
    kdf: KdfV1,
    aead: String,
    nonce: String,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
struct KdfV1 {
    alg: String,
    m_kib: u32,
    t: u32,
    p: u32,
    salt: String,
}

fn associated_data(context: &[u8]) -> Vec<u8> {
    [AAD_PREFIX, context].concat()
}

/// Argon2id(NFC(passphrase), salt) as an XChaCha20-Poly1305 key.
fn cipher(passphrase: &str, salt: &[u8], params: KdfParams) -> Result<XChaCha20Poly1305, KeyError> {
    // NFC can grow a string up to 3x; reserving that keeps the buffer from reallocating and
    // leaving an unzeroized copy behind.
    let mut normalized = Zeroizing::new(String::with_capacity(passphrase.len() * 3));
    normalized.extend(passphrase.nfc());

    let argon2_params = argon2::Params::new(params.m_kib, params.t, params.p, Some(32))
        .map_err(|_| KeyError::WrappedKeyDamaged)?;
    let mut derived = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, argon2_params)
        .hash_password_into(normalized.as_bytes(), salt, derived.as_mut_slice())
        .map_err(|_| KeyError::WrappedKeyDamaged)?;
    XChaCha20Poly1305::new_from_slice(derived.as_slice()).map_err(|_| KeyError::WrappedKeyDamaged)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROFILE: &[u8] = b"0190f1c2-profile";
    const PASSPHRASE: &str = "Le chêne est haut 1984";

    fn cheap_wrap(key: &DbKey, passphrase: &str) -> WrappedKey {
        WrappedKey::wrap_with_params(key, passphrase, PROFILE, KdfParams::INSECURE_FOR_TESTS)
            .unwrap()
    }

    #[test]
    fn round_trip() {
        let key = DbKey::generate();
        let wrapped = cheap_wrap(&key, PASSPHRASE);
        assert_eq!(wrapped.unwrap(PASSPHRASE, PROFILE).unwrap(), key);
    }

    #[test]
    fn round_trip_through_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("case-file.key.json");
        let key = DbKey::generate();
        let wrapped = cheap_wrap(&key, PASSPHRASE);
        wrapped.write(&path).unwrap();
        let read = WrappedKey::read(&path).unwrap();
        assert_eq!(read, wrapped);
        assert_eq!(read.unwrap(PASSPHRASE, PROFILE).unwrap(), key);
    }

    #[test]
    fn default_params_are_the_production_ones() {
        assert_eq!(
            KdfParams::DEFAULT,
            KdfParams {
                m_kib: 65536,
                t: 3,
                p: 1
            }
        );
        assert!(KdfParams::DEFAULT.is_acceptable());
    }

    #[test]
    fn unwrap_uses_the_params_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        let key = DbKey::generate();
        let params = KdfParams {
            m_kib: 64,
            t: 2,
            p: 2,
        };
        WrappedKey::wrap_with_params(&key, PASSPHRASE, PROFILE, params)
            .unwrap()
            .write(&path)
            .unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(json["kdf"]["m_kib"], 64);
        assert_eq!(json["kdf"]["t"], 2);
        assert_eq!(json["kdf"]["p"], 2);
        let read = WrappedKey::read(&path).unwrap();
        assert_eq!(read.unwrap(PASSPHRASE, PROFILE).unwrap(), key);
    }

    #[test]
    fn passphrase_is_unicode_normalized() {
        let key = DbKey::generate();
        let composed = "cl\u{e9} d'\u{e9}t\u{e9}";
        let decomposed = "cle\u{301} d'e\u{301}te\u{301}";
        let wrapped = cheap_wrap(&key, composed);
        assert_eq!(wrapped.unwrap(decomposed, PROFILE).unwrap(), key);
    }

    #[test]
    fn wrong_passphrase() {
        let wrapped = cheap_wrap(&DbKey::generate(), PASSPHRASE);
        let err = wrapped
            .unwrap("le chêne est haut 1984", PROFILE)
            .unwrap_err();
        assert!(matches!(err, KeyError::WrongPassphrase), "{err:?}");
        assert!(matches!(
            wrapped.unwrap("", PROFILE),
            Err(KeyError::WrongPassphrase)
        ));
    }

    #[test]
    fn wrong_context() {
        let wrapped = cheap_wrap(&DbKey::generate(), PASSPHRASE);
        let err = wrapped.unwrap(PASSPHRASE, b"another-profile").unwrap_err();
        assert!(matches!(err, KeyError::WrongPassphrase), "{err:?}");
        assert!(matches!(
            wrapped.unwrap(PASSPHRASE, b""),
            Err(KeyError::WrongPassphrase)
        ));
    }

    /// Every field of the file, altered one at a time, is refused.
    #[test]
    fn tampered_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        cheap_wrap(&DbKey::generate(), PASSPHRASE)
            .write(&path)
            .unwrap();
        let original: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();

        let flip_first_byte = |b64: &serde_json::Value| {
            let mut bytes = Base64::decode_vec(b64.as_str().unwrap()).unwrap();
            bytes[0] ^= 1;
            serde_json::Value::from(Base64::encode_string(&bytes))
        };
        let mut tampered = Vec::new();
        for field in ["nonce", "ciphertext"] {
            let mut v = original.clone();
            v[field] = flip_first_byte(&v[field]);
            tampered.push((field, v));
        }
        let mut v = original.clone();
        v["kdf"]["salt"] = flip_first_byte(&v["kdf"]["salt"]);
        tampered.push(("salt", v));
        let mut v = original.clone();
        v["kdf"]["t"] = 2.into();
        tampered.push(("t", v));
        let mut v = original.clone();
        v["kdf"]["m_kib"] = 16.into();
        tampered.push(("m_kib", v));

        for (field, value) in tampered {
            std::fs::write(&path, serde_json::to_vec(&value).unwrap()).unwrap();
            let result = WrappedKey::read(&path).and_then(|w| w.unwrap(PASSPHRASE, PROFILE));
            assert!(
                matches!(
                    result,
                    Err(KeyError::WrongPassphrase | KeyError::WrappedKeyDamaged)
                ),
                "tampered {field}: {result:?}"
            );
        }
    }

    #[test]
    fn garbage_file_is_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        let valid: serde_json::Value =
            serde_json::to_value(cheap_wrap(&DbKey::generate(), PASSPHRASE).to_file()).unwrap();
        let with = |pointer: &str, value: serde_json::Value| {
            let mut v = valid.clone();
            *v.pointer_mut(pointer).unwrap() = value;
            serde_json::to_vec(&v).unwrap()
        };
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", Vec::new()),
            ("binary", vec![0xff, 0xfe, 0x00, 0x42]),
            ("not json", b"tandem".to_vec()),
            ("other json", b"{\"hello\":1}".to_vec()),
            (
                "truncated",
                serde_json::to_vec(&valid).unwrap()[..40].to_vec(),
            ),
            ("format", with("/format", "something-else".into())),
            ("version", with("/version", 2.into())),
            ("kdf", with("/kdf/alg", "scrypt".into())),
            ("aead", with("/aead", "aes-256-gcm".into())),
            ("nonce b64", with("/nonce", "***".into())),
            (
                "nonce len",
                with("/nonce", Base64::encode_string(&[0; 12]).into()),
            ),
            (
                "short ciphertext",
                with("/ciphertext", Base64::encode_string(&[0; 16]).into()),
            ),
            (
                "short salt",
                with("/kdf/salt", Base64::encode_string(&[0; 4]).into()),
            ),
            ("huge memory", with("/kdf/m_kib", u32::MAX.into())),
            ("zero time", with("/kdf/t", 0.into())),
            ("oversized", vec![b' '; 70 * 1024]),
        ];
        for (name, bytes) in cases {
            std::fs::write(&path, bytes).unwrap();
            let result = WrappedKey::read(&path);
            assert!(
                matches!(result, Err(KeyError::WrappedKeyDamaged)),
                "{name}: {result:?}"
            );
        }
    }

    #[test]
    fn missing_file_is_io() {
        let dir = tempfile::tempdir().unwrap();
        let err = WrappedKey::read(&dir.path().join("absent.json")).unwrap_err();
        assert!(matches!(&err, KeyError::Io(e) if e.kind() == std::io::ErrorKind::NotFound));
        assert_eq!(err.code(), "io");
    }

    #[test]
    fn file_holds_no_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        let key = DbKey::generate();
        cheap_wrap(&key, PASSPHRASE).write(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();

        assert!(!bytes.windows(32).any(|w| w == key.as_bytes()));
        assert!(!text.to_lowercase().contains(key.to_hex().as_str()));
        assert!(!text.contains(&Base64::encode_string(key.as_bytes())));
        assert!(!text.contains(PASSPHRASE));
        assert!(!text.contains("chêne"));

        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["format"], "tandem-wrapped-key");
        assert_eq!(json["version"], 1);
        assert_eq!(json["kdf"]["alg"], "argon2id");
        assert_eq!(json["aead"], "xchacha20poly1305");
    }

    #[test]
    fn write_replaces_the_previous_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        let first = DbKey::generate();
        let second = DbKey::generate();
        cheap_wrap(&first, PASSPHRASE).write(&path).unwrap();
        cheap_wrap(&second, PASSPHRASE).write(&path).unwrap();
        let read = WrappedKey::read(&path).unwrap();
        assert_eq!(read.unwrap(PASSPHRASE, PROFILE).unwrap(), second);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("k.json")]);
    }

    #[cfg(unix)]
    #[test]
    fn written_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        cheap_wrap(&DbKey::generate(), PASSPHRASE)
            .write(&path)
            .unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    /// Production parameters, once, so their cost shows up in `cargo test` timings.
    #[test]
    fn default_params_round_trip() {
        let key = DbKey::generate();
        let start = std::time::Instant::now();
        let wrapped = WrappedKey::wrap(&key, PASSPHRASE, PROFILE).unwrap();
        let wrap_time = start.elapsed();
        assert_eq!(wrapped.unwrap(PASSPHRASE, PROFILE).unwrap(), key);
        eprintln!("argon2id m=64MiB t=3 p=1: wrap took {wrap_time:?}");
    }
}
