//! The outbox: one row per field-level change, written in the same transaction as the change,
//! and later sent to the territory server by the sync worker.
//!
//! Each row is stamped at edit time with the case file's hybrid logical clock and with the
//! highest server version of its register pulled so far (`base_version`), so the server can
//! tell an edit made after seeing another from a concurrent one.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use tandem_sync::Hlc;
use uuid::Uuid;

use crate::error::StoreError;
use crate::person_rows::timestamp;
use crate::registers;

pub(crate) const PERSON: &str = "person";
pub(crate) const DIAGNOSTIC: &str = "diagnostic";
pub(crate) const FOLLOWUP: &str = tandem_sync::ENTITY_FOLLOWUP;

// Row states (column `state`): `pending` (to push); `refused` (kept with the server's reason
// in `refusal`; `clock_ahead` ones are re-stamped and resent); `acked` (accepted by the server,
// waiting to come back in a pull: it still protects its register until then).

/// What a row needs beyond its value.
pub(crate) struct Target<'a> {
    pub entity: &'a str,
    pub record_id: Uuid,
    pub person_id: Uuid,
    pub field: &'a str,
}

/// Journals one local change and returns its mutation id.
pub(crate) fn record(
    conn: &Connection,
    target: &Target<'_>,
    value: &serde_json::Value,
    at: DateTime<Utc>,
) -> Result<Uuid, StoreError> {
    // UUIDv7: time-ordered, and monotonic within this process, so the outbox replays in order.
    let mutation_id = Uuid::now_v7();
    let register = tandem_sync::register_key(target.entity, target.field, value, mutation_id);
    let record = target.record_id.to_string();
    // The record's registers are read once: for the base version, then to mark what it shows.
    let mut pulled = registers::load_record(conn, target.record_id, target.entity)?;
    let base_version = pulled
        .as_ref()
        .and_then(|r| r.registers.get(&register))
        .map(|reg| reg.version as i64);
    let hlc = next_stamp(conn, now_ms())?;
    conn.prepare_cached(
        "INSERT INTO outbox (mutation_id, record_type, record_id, field, value, created_at,
             person_id, register, base_version, hlc_wall, hlc_counter, hlc_node, state)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'pending')",
    )?
    .execute(params![
        mutation_id.to_string(),
        target.entity,
        record,
        target.field,
        value.to_string(),
        timestamp(at),
        target.person_id.to_string(),
        register,
        base_version,
        hlc.wall_ms as i64,
        hlc.counter,
        hlc.node.to_string(),
    ])?;
    // The record now shows this local value: when the change comes back from the server, it
    // is not applied a second time.
    if let Some(record) = &mut pulled {
        if let Some(reg) = record.registers.get_mut(&register) {
            reg.shown = Some(mutation_id);
            registers::write_back(conn, record)?;
        }
    }
    Ok(mutation_id)
}

/// Milliseconds since the Unix epoch by this laptop's clock.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The case file's clock: the last stamp handed out (or observed). Created on first use with
/// the profile id as node (a random one when there is no profile yet).
pub(crate) fn clock(conn: &Connection) -> rusqlite::Result<Hlc> {
    let row = conn
        .prepare_cached("SELECT wall_ms, counter, node FROM sync_clock WHERE singleton = 1")?
        .query_row([], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, u32>(1)?,
                row.get::<_, String>(2)?,
            ))
        })
        .optional()?;
    if let Some((wall, counter, node)) = row {
        if let Ok(node) = Uuid::parse_str(&node) {
            return Ok(Hlc {
                wall_ms: wall.max(0) as u64,
                counter,
                node,
            });
        }
    }
    let profile: Option<String> = conn
        .query_row("SELECT id FROM profile WHERE singleton = 1", [], |row| {
            row.get(0)
        })
        .optional()?;
    let node = profile
        .and_then(|p| Uuid::parse_str(&p).ok())
        .unwrap_or_else(Uuid::new_v4);
    let zero = Hlc::zero(node);
    store_clock(conn, &zero)?;
    Ok(zero)
}

pub(crate) fn store_clock(conn: &Connection, hlc: &Hlc) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO sync_clock (singleton, wall_ms, counter, node) VALUES (1, ?1, ?2, ?3)
         ON CONFLICT (singleton) DO UPDATE SET wall_ms = excluded.wall_ms,
             counter = excluded.counter, node = excluded.node",
    )?
    .execute(params![
        hlc.wall_ms as i64,
        hlc.counter,
        hlc.node.to_string()
    ])?;
    Ok(())
}

/// A fresh stamp, strictly after every stamp this case file handed out or observed.
pub(crate) fn next_stamp(conn: &Connection, now_ms: u64) -> rusqlite::Result<Hlc> {
    let next = clock(conn)?.tick(now_ms);
    store_clock(conn, &next)?;
    Ok(next)
}

/// Rows written before schema 3 have no register, person or stamp: fills them in, in outbox
/// order. Cheap when there are none (the common case).
pub(crate) fn backfill(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    let rows: Vec<(i64, String, String, String, String, String)> = tx
        .prepare(
            "SELECT rowid, mutation_id, record_type, record_id, field, value FROM outbox
             WHERE register IS NULL OR hlc_wall IS NULL OR person_id IS NULL ORDER BY rowid",
        )?
        .query_map([], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    if rows.is_empty() {
        return Ok(());
    }
    let now = now_ms();
    for (rowid, mutation, entity, record, field, value) in rows {
        let mutation = Uuid::parse_str(&mutation).unwrap_or_else(|_| Uuid::now_v7());
        let value: serde_json::Value =
            serde_json::from_str(&value).unwrap_or(serde_json::Value::Null);
        let register = tandem_sync::register_key(&entity, &field, &value, mutation);
        let person: Option<String> = if entity == PERSON {
            Some(record.clone())
        } else {
            tx.query_row(
                "SELECT person_id FROM diagnostics WHERE id = ?1",
                [&record],
                |row| row.get(0),
            )
            .optional()?
        };
        let hlc = next_stamp(&tx, now)?;
        tx.execute(
            "UPDATE outbox SET register = ?2, person_id = ?3, hlc_wall = ?4, hlc_counter = ?5,
                 hlc_node = ?6 WHERE rowid = ?1",
            params![
                rowid,
                register,
                person.unwrap_or_else(|| record.clone()),
                hlc.wall_ms as i64,
                hlc.counter,
                hlc.node.to_string()
            ],
        )?;
    }
    tx.commit()
}
