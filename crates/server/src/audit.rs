//! The append-only, hash-chained audit log: each row's hash covers the previous row's hash and
//! the row itself, so changing or deleting a row breaks the chain from there on.

use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db::{Db, DbError, Value};
use crate::{args, hex};

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

/// The device id audit rows carry for what an administrator does from the command line
/// (an erasure): the nil UUID, which no device has.
pub const ADMIN: Uuid = Uuid::nil();

/// Appends one row; call inside the transaction whose reads or writes it records (writers are
/// serialised, so reading the last row and appending after it cannot race).
pub(crate) fn append(
    db: &mut Db,
    at_ms: i64,
    device: Uuid,
    action: Action,
    record: &str,
) -> Result<(), DbError> {
    let last = db.query_opt("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", &[])?;
    let (seq, prev_hash) = match last {
        Some(row) => (row.int(0)? + 1, row.text(1)?),
        None => (1, GENESIS.to_string()),
    };
    let device = device.to_string();
    let hash = row_hash(&prev_hash, seq, at_ms, &device, action.as_str(), record);
    db.execute(
        "INSERT INTO audit (seq, at_ms, device_id, action, record, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        args![seq, at_ms, device, action.as_str(), record, prev_hash, hash],
    )?;
    Ok(())
}

/// One audit row to append: when, who, what was done to which record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub at_ms: i64,
    pub device: Uuid,
    pub action: Action,
    pub record: String,
}

/// Rows per `INSERT` in [`append_many`]: 7 parameters each, well under both engines' limits.
const ROWS_PER_INSERT: usize = 64;

/// Appends rows in order, chained after the last row: the tail is read once and the rows go in
/// multi-row `INSERT`s (PostgreSQL: one, with arrays). Same rows, same hashes as calling
/// [`append`] for each; call it inside a write transaction (writers are serialised, so nobody
/// appends in between).
pub(crate) fn append_many(db: &mut Db, entries: &[Entry]) -> Result<(), DbError> {
    if entries.is_empty() {
        return Ok(());
    }
    let last = db.query_opt("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", &[])?;
    let (mut seq, mut prev_hash) = match last {
        Some(row) => (row.int(0)?, row.text(1)?),
        None => (0, GENESIS.to_string()),
    };
    // The rows' seven columns, hashes chained.
    let mut rows: Vec<[Value; 7]> = Vec::with_capacity(entries.len());
    for entry in entries {
        seq += 1;
        let device = entry.device.to_string();
        let action = entry.action.as_str();
        let hash = row_hash(&prev_hash, seq, entry.at_ms, &device, action, &entry.record);
        rows.push([
            Value::Int(seq),
            Value::Int(entry.at_ms),
            Value::Text(device),
            Value::from(action),
            Value::from(entry.record.as_str()),
            Value::Text(std::mem::replace(&mut prev_hash, hash.clone())),
            Value::Text(hash),
        ]);
    }
    if matches!(db, Db::Postgres(_)) {
        // One `COPY`, one round trip whatever the number of rows; PostgreSQL writes them a page
        // at a time (the burst's last group appends tens of thousands of pulls' rows).
        use postgres::types::Type;
        db.copy_in(
            "COPY audit (seq, at_ms, device_id, action, record, prev_hash, hash)
             FROM STDIN (FORMAT binary)",
            &[
                Type::INT8,
                Type::INT8,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
            ],
            rows.into_iter().map(Vec::from).collect(),
        )?;
        return Ok(());
    }
    let mut rest = &mut rows[..];
    while !rest.is_empty() {
        // Chunks of 64, then of the largest power of two left: at most seven statement texts,
        // which stay prepared in the connection's cache. A chunk of any size made a new text
        // for each group's remainder, parsed and planned again and pushing other statements
        // out of the cache (3.7 % of the writer's time in the 500-laptop burst).
        let size = chunk_size(rest.len());
        let (chunk, after) = std::mem::take(&mut rest).split_at_mut(size);
        rest = after;
        let mut sql = String::from(
            "INSERT INTO audit (seq, at_ms, device_id, action, record, prev_hash, hash) VALUES ",
        );
        let mut params = Vec::with_capacity(chunk.len() * 7);
        for (i, row) in chunk.iter_mut().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            let n = i * 7;
            sql.push_str(&format!(
                "(?{}, ?{}, ?{}, ?{}, ?{}, ?{}, ?{})",
                n + 1,
                n + 2,
                n + 3,
                n + 4,
                n + 5,
                n + 6,
                n + 7
            ));
            params.extend(row.iter_mut().map(std::mem::take));
        }
        db.execute(&sql, &params)?;
    }
    Ok(())
}

/// Rows in the next `INSERT` of [`append_many`] when `left` rows remain.
fn chunk_size(left: usize) -> usize {
    if left >= ROWS_PER_INSERT {
        ROWS_PER_INSERT
    } else {
        1 << left.ilog2()
    }
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

pub fn verify(db: &mut Db) -> Result<Verdict, DbError> {
    let rows = db.query(
        "SELECT seq, at_ms, device_id, action, record, prev_hash, hash FROM audit ORDER BY seq",
        &[],
    )?;
    let mut prev = GENESIS.to_string();
    let mut count = 0;
    for (expected_seq, row) in (1..).zip(rows) {
        let seq = row.int(0)?;
        let at_ms = row.int(1)?;
        let device = row.text(2)?;
        let action = row.text(3)?;
        let record = row.text(4)?;
        let prev_hash = row.text(5)?;
        let hash = row.text(6)?;
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
        count += 1;
    }
    Ok(Verdict::Intact { rows: count })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Target;

    fn entry(i: usize) -> Entry {
        Entry {
            at_ms: 1_000 + i as i64,
            device: Uuid::from_u128(i as u128 % 7),
            action: if i.is_multiple_of(3) {
                Action::Read
            } else {
                Action::Write
            },
            record: format!("person:{i}"),
        }
    }

    fn rows(db: &mut Db) -> Vec<Vec<String>> {
        db.query(
            "SELECT seq, at_ms, device_id, action, record, prev_hash, hash FROM audit ORDER BY seq",
            &[],
        )
        .unwrap()
        .into_iter()
        .map(|row| {
            (0..7)
                .map(|i| match (row.int(i), row.text(i)) {
                    (Ok(n), _) => n.to_string(),
                    (_, Ok(t)) => t,
                    _ => panic!("column {i}"),
                })
                .collect()
        })
        .collect()
    }

    #[test]
    fn chunks_are_whole_and_of_a_few_sizes() {
        let mut sizes = std::collections::BTreeSet::new();
        for left in 1..=300 {
            let (mut rest, mut total) = (left, 0);
            while rest > 0 {
                let size = chunk_size(rest);
                assert!(size >= 1 && size <= rest && size <= ROWS_PER_INSERT);
                sizes.insert(size);
                rest -= size;
                total += size;
            }
            assert_eq!(total, left);
        }
        assert_eq!(sizes.len(), 7, "{sizes:?}");
    }

    /// Appends groups of sizes that cross the chunk boundaries, after rows already chained,
    /// with [`append_many`] on `many` and one by one on SQLite: the same rows.
    fn appends_like_one_by_one(many: &mut Db) {
        let one_dir = tempfile::tempdir().unwrap();
        let mut one = Db::open(&Target::Sqlite(one_dir.path().to_path_buf())).unwrap();
        let mut next = 0;
        for size in [1, 3, 64, 65, 127, 130, 7] {
            let group: Vec<Entry> = (next..next + size).map(entry).collect();
            next += size;
            for e in &group {
                append(&mut one, e.at_ms, e.device, e.action, &e.record).unwrap();
            }
            append_many(many, &group).unwrap();
        }
        assert_eq!(rows(&mut one), rows(many));
        assert_eq!(verify(many).unwrap(), Verdict::Intact { rows: next as u64 });
    }

    #[test]
    fn appending_in_chunks_makes_the_rows_of_one_by_one() {
        let dir = tempfile::tempdir().unwrap();
        appends_like_one_by_one(&mut Db::open(&Target::Sqlite(dir.path().to_path_buf())).unwrap());
    }

    /// PostgreSQL appends a group in one statement (arrays): the same rows too. Needs the
    /// test database of the server's suite (`tests/ensure-postgres.sh`).
    #[test]
    fn appending_on_postgres_in_one_statement_makes_the_rows_of_one_by_one() {
        struct Schema(String, String);
        impl Drop for Schema {
            fn drop(&mut self) {
                if let Ok(mut admin) = postgres::Client::connect(&self.0, postgres::NoTls) {
                    let _ = admin.batch_execute(&format!("DROP SCHEMA {} CASCADE", self.1));
                }
            }
        }
        let base = std::env::var("TANDEM_TEST_DATABASE_URL")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| "postgres://127.0.0.1:5432/test".to_string());
        let mut admin = postgres::Client::connect(&base, postgres::NoTls)
            .expect("PostgreSQL for the server's tests (see tests/ensure-postgres.sh)");
        let schema = Schema(base.clone(), format!("t_{}", Uuid::new_v4().simple()));
        admin
            .batch_execute(&format!("CREATE SCHEMA {}", schema.1))
            .unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-csearch_path%3D{}", schema.1);
        let mut many = Db::open(&Target::Postgres(url)).unwrap();
        appends_like_one_by_one(&mut many);
    }
}
