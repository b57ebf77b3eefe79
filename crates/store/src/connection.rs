//! Connection set-up, in one place: key, check, schema guard, then the pragmas.
//!
//! Order matters. SQLCipher accepts any key without complaint and only fails at the first read,
//! so the check query runs right after `PRAGMA key`. Nothing that writes (journal mode, migrations)
//! runs before the file has proved it can be decrypted and is not from a newer version: a file
//! we refuse must stay byte-identical.

use std::path::Path;
use std::sync::Once;
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode, OpenFlags};
use zeroize::Zeroizing;

use crate::error::StoreError;
use crate::migrations;

/// Page cache in KiB (negative = KiB for SQLite). Every cache miss costs a page decryption and an
/// HMAC check; with the default 2 MB cache, point reads on 10,000 persons were several times
/// slower than plain SQLite. 32 MB holds a large caseload entirely and closes most of that gap.
const CACHE_SIZE_KIB: i64 = -32_000;
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
const STATEMENT_CACHE: usize = 128;

/// Opens `path` (creating it only when `create` is set), applies the key and the set-up.
pub(crate) fn open(
    path: &Path,
    key: Option<&[u8; 32]>,
    create: bool,
) -> Result<Connection, StoreError> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let mut conn =
        Connection::open_with_flags(path, flags).map_err(|e| match e.sqlite_error_code() {
            Some(ErrorCode::CannotOpen) if !path.exists() => StoreError::NotFound,
            _ => StoreError::from(e),
        })?;
    if let Some(key) = key {
        wait_for_sqlcipher();
        apply_key(&conn, key)?;
    }
    check_readable(&conn)?;
    let found: u32 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if found > migrations::SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            found,
            supported: migrations::SCHEMA_VERSION,
        });
    }
    configure(&conn)?;
    migrations::migrate(&mut conn, migrations::MIGRATIONS)?;
    // Only a file that came from before schema 3 can hold outbox rows without stamps: looking
    // for them on every open would scan the whole outbox (127 ms at 10,000 persons).
    if found < 3 {
        crate::outbox::backfill(&mut conn)?;
    }
    Ok(conn)
}

/// SQLite marks itself initialised, then runs SQLCipher's set-up (`SQLITE_EXTRA_INIT`) outside
/// its lock. A connection keyed on another thread inside that window is refused with a bare
/// SQLITE_ERROR and nothing logged: it happened when the first case files of a process were
/// opened on two threads at once (tests/first_open_race.rs). Until a probe key on an in-memory
/// connection is accepted, the set-up is not finished: wait for it, once per process.
fn wait_for_sqlcipher() {
    static READY: Once = Once::new();
    READY.call_once(|| {
        let deadline = Instant::now() + BUSY_TIMEOUT;
        loop {
            let keyed = Connection::open_in_memory()
                .and_then(|probe| probe.execute_batch("PRAGMA key = 'probe';"));
            if keyed.is_ok() || Instant::now() >= deadline {
                // Past the deadline the real open reports whatever is wrong.
                return;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    });
}

/// A raw 256-bit key (`x'…'`): SQLCipher skips PBKDF2, so opening costs about a millisecond.
fn apply_key(conn: &Connection, key: &[u8; 32]) -> Result<(), StoreError> {
    let mut sql = Zeroizing::new(String::with_capacity(80));
    sql.push_str("PRAGMA key = \"x'");
    for byte in key {
        sql.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
        sql.push(char::from_digit(u32::from(byte & 0x0f), 16).unwrap_or('0'));
    }
    sql.push_str("'\";");
    // The error could quote the statement, and the statement holds the key: keep only the code.
    conn.execute_batch(&sql).map_err(|e| {
        let code = match &e {
            rusqlite::Error::SqliteFailure(inner, _) => inner.extended_code,
            _ => rusqlite::ffi::SQLITE_ERROR,
        };
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(code),
            None,
        ))
    })
}

/// The first read: a wrong key, a non-SQLCipher file or a damaged first page fails here.
fn check_readable(conn: &Connection) -> Result<(), StoreError> {
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |row| {
        row.get::<_, i64>(0)
    })
    .map(drop)
    .map_err(|e| match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => StoreError::CannotDecrypt,
        _ => StoreError::from(e),
    })
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        log::warn!("case file journal mode is {mode}, not WAL");
    }
    // FULL: laptops lose power, and a caseworker's last keystrokes must survive it.
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;",
    )?;
    conn.pragma_update(None, "cache_size", CACHE_SIZE_KIB)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Applying a pull page alone uses more than rusqlite's default 16 cached statements: past
    // that, each evicted statement is parsed and planned again.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}
