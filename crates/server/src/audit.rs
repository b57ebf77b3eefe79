//! The append-only, hash-chained audit log: each row's hash covers the previous row's hash and
//! the row itself, so changing or deleting a row breaks the chain from there on.

use rusqlite::{params, Connection};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::hex;

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Read,
    Write,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Write => "write",
        }
    }
}

fn row_hash(
    prev_hash: &str,
    seq: i64,
    at_ms: i64,
    device: &str,
    action: &str,
    record: &str,
) -> String {
    // Canonical row: a JSON array, so no field can bleed into the next.
    let canonical = serde_json::json!([seq, at_ms, device, action, record]).to_string();
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(canonical.as_bytes());
    hex(&hasher.finalize())
}

/// Appends one row; call inside the transaction whose reads or writes it records.
pub(crate) fn append(
    conn: &Connection,
    at_ms: i64,
    device: Uuid,
    action: Action,
    record: &str,
) -> rusqlite::Result<()> {
    let last: Option<(i64, String)> = conn
        .prepare_cached("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    let (seq, prev_hash) = match last {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS.to_string()),
    };
    let device = device.to_string();
    let hash = row_hash(&prev_hash, seq, at_ms, &device, action.as_str(), record);
    conn.prepare_cached(
        "INSERT INTO audit (seq, at_ms, device_id, action, record, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        seq,
        at_ms,
        device,
        action.as_str(),
        record,
        prev_hash,
        hash
    ])?;
    Ok(())
}

/// What `admin audit verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Intact {
        rows: u64,
    },
    /// The first row whose position, link or hash is wrong.
    Broken {
        seq: i64,
    },
}

pub fn verify(conn: &Connection) -> rusqlite::Result<Verdict> {
    let mut stmt = conn.prepare(
        "SELECT seq, at_ms, device_id, action, record, prev_hash, hash FROM audit ORDER BY seq",
    )?;
    let mut rows = stmt.query([])?;
    let mut expected_seq = 1;
    let mut prev = GENESIS.to_string();
    let mut count = 0;
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        let at_ms: i64 = row.get(1)?;
        let device: String = row.get(2)?;
        let action: String = row.get(3)?;
        let record: String = row.get(4)?;
        let prev_hash: String = row.get(5)?;
        let hash: String = row.get(6)?;
        if seq != expected_seq
            || prev_hash != prev
            || hash != row_hash(&prev_hash, seq, at_ms, &device, &action, &record)
        {
            // A deleted row shows as a gap: the first missing number is where it broke.
            return Ok(Verdict::Broken {
                seq: expected_seq.min(seq),
            });
        }
        prev = hash;
        expected_seq += 1;
        count += 1;
    }
    Ok(Verdict::Intact { rows: count })
}
