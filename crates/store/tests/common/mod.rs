//! Helpers shared by the case file tests: keys, fixed times, raw access and byte snapshots.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::Connection;
use tandem_domain::{NewPerson, Profile, Role};
use uuid::Uuid;

pub const KEY: [u8; 32] = [
    0x3a, 0x91, 0x5c, 0x07, 0xee, 0x42, 0x18, 0xb6, 0x7d, 0x20, 0xc4, 0x9f, 0x55, 0x01, 0xaa, 0x63,
    0x0b, 0xd8, 0x74, 0x2e, 0x19, 0xf0, 0x86, 0x4c, 0xbe, 0x37, 0x6a, 0x12, 0xc9, 0x5d, 0x80, 0xf4,
];
pub const OTHER_KEY: [u8; 32] = [7; 32];

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).unwrap()
}

pub fn hex(key: &[u8; 32]) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn case_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("dossiers.tandem")
}

pub fn new_person(first: &str, last: &str, birth: &str) -> NewPerson {
    NewPerson {
        first_name: first.into(),
        last_name: last.into(),
        birth_date: birth.into(),
    }
}

pub fn profile() -> Profile {
    Profile {
        id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001),
        caseworker_name: "Camille Roux".into(),
        structure_name: "CCAS de Villeurbanne".into(),
        role: Role::Social,
        lock_after_minutes: 10,
    }
}

/// A connection that bypasses the store: for tests that tamper with or inspect the file.
pub fn raw_keyed(path: &Path, key: &[u8; 32]) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", hex(key)))
        .unwrap();
    conn
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The bytes of the file and of its -wal and -shm companions (None when absent).
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub main: Option<Vec<u8>>,
    pub wal: Option<Vec<u8>>,
    pub shm: Option<Vec<u8>>,
}

pub fn snapshot(path: &Path) -> Snapshot {
    let read = |p: PathBuf| std::fs::read(p).ok();
    Snapshot {
        main: read(path.to_path_buf()),
        wal: read(sibling(path, "-wal")),
        shm: read(sibling(path, "-shm")),
    }
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
