//! The outbox: one row per field-level change, written in the same transaction as the change,
//! and later sent to the territory server by the sync worker.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};
use uuid::Uuid;

use crate::person_rows::timestamp;

pub(crate) const PERSON: &str = "person";
pub(crate) const DIAGNOSTIC: &str = "diagnostic";

pub(crate) fn record(
    conn: &Connection,
    record_type: &str,
    record_id: Uuid,
    field: &str,
    value: &serde_json::Value,
    at: DateTime<Utc>,
) -> rusqlite::Result<()> {
    // UUIDv7: time-ordered, and monotonic within this process, so the outbox replays in order.
    let mutation_id = Uuid::now_v7();
    conn.prepare_cached(
        "INSERT INTO outbox (mutation_id, record_type, record_id, field, value, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        mutation_id.to_string(),
        record_type,
        record_id.to_string(),
        field,
        value.to_string(),
        timestamp(at),
    ])?;
    Ok(())
}
