//! The sync registers as the case file keeps them: one `sync_record` row per record, holding
//! all its registers in a compact form; reading them whole (for tests that compare two ways of
//! reaching the same state, a snapshot and the journal, and for diagnosis).
//!
//! A first sync writes about 33 registers per person. As one row each (schema 3 to 5), with
//! their primary-key and person indexes, they were two thirds of the file and half the time
//! of the apply; one row per record (a person, a diagnostic, a follow-up file) holds the same.

use std::collections::BTreeMap;

use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use tandem_sync::{snapshot_mutation_id, Change, Hlc, Versioned};
use uuid::Uuid;

use crate::error::StoreError;
use crate::CaseFile;

/// One register: its heads (winner first), highest version pulled and the change shown.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisterRow {
    pub person_id: Uuid,
    pub entity: String,
    pub record_id: Uuid,
    pub register: String,
    pub version: u64,
    pub shown: Option<Uuid>,
    pub heads: Vec<Versioned>,
}

impl CaseFile {
    /// Every register, by record and register key.
    pub fn sync_registers(&self) -> Result<Vec<RegisterRow>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {RECORD_COLUMNS} FROM sync_record ORDER BY record_id"
        ))?;
        let mut rows = stmt.query([])?;
        let mut registers = Vec::new();
        while let Some(row) = rows.next()? {
            registers.extend(record_row(row)?.into_rows());
        }
        Ok(registers)
    }
}

/// One register as its record's row holds it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoredRegister {
    pub version: u64,
    pub shown: Option<Uuid>,
    pub heads: Vec<Versioned>,
}

/// The registers of one record, as its `sync_record` row holds them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RecordRegisters {
    pub record_id: Uuid,
    pub person_id: Uuid,
    pub entity: String,
    pub registers: BTreeMap<String, StoredRegister>,
}

impl RecordRegisters {
    fn into_rows(self) -> impl Iterator<Item = RegisterRow> {
        let (record_id, person_id, entity) = (self.record_id, self.person_id, self.entity);
        self.registers
            .into_iter()
            .map(move |(register, reg)| RegisterRow {
                person_id,
                entity: entity.clone(),
                record_id,
                register,
                version: reg.version,
                shown: reg.shown,
                heads: reg.heads,
            })
    }

    /// The registers in an open conflict (more than one head), as listing rows.
    pub(crate) fn in_conflict(self) -> impl Iterator<Item = RegisterRow> {
        self.into_rows().filter(|r| r.heads.len() > 1)
    }
}

/// The `sync_record` columns [`record_row`] reads, in its order.
pub(crate) const RECORD_COLUMNS: &str = "record_id, person_id, entity, registers";

/// One `sync_record` row selected with [`RECORD_COLUMNS`] first, decoded.
pub(crate) fn record_row(row: &rusqlite::Row<'_>) -> Result<RecordRegisters, StoreError> {
    let uuid = |text: &str| Uuid::parse_str(text).map_err(|_| StoreError::Damaged);
    let (record, person, entity, registers): (String, String, String, String) =
        (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
    let (record_id, person_id) = (uuid(&record)?, uuid(&person)?);
    Ok(RecordRegisters {
        registers: decode_registers(&registers, &entity, record_id, person_id)?,
        record_id,
        person_id,
        entity,
    })
}

/// The registers of one record, if the file holds any. A person's record and their follow-up
/// file share the person's id: the entity tells them apart.
pub(crate) fn load_record(
    conn: &Connection,
    record_id: Uuid,
    entity: &str,
) -> Result<Option<RecordRegisters>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {RECORD_COLUMNS} FROM sync_record WHERE record_id = ?1 AND entity = ?2"
    ))?;
    let mut rows = stmt.query(params![record_id.to_string(), entity])?;
    match rows.next()? {
        Some(row) => Ok(Some(record_row(row)?)),
        None => Ok(None),
    }
}

/// One register of a record, whichever entity holds it (register keys differ between the
/// entities that share a record id).
pub(crate) fn find_register(
    conn: &Connection,
    record_id: Uuid,
    key: &str,
) -> Result<Option<RegisterRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {RECORD_COLUMNS} FROM sync_record WHERE record_id = ?1"
    ))?;
    let mut rows = stmt.query([record_id.to_string()])?;
    while let Some(row) = rows.next()? {
        if let Some(reg) = record_row(row)?.into_rows().find(|r| r.register == key) {
            return Ok(Some(reg));
        }
    }
    Ok(None)
}

/// One register as [`write_record`] takes it.
pub(crate) struct RegisterOut<'a> {
    pub key: &'a str,
    pub version: u64,
    pub shown: Option<Uuid>,
    pub heads: &'a [Versioned],
}

/// Writes (inserts or replaces) the row of one record with all its registers.
pub(crate) fn write_record<'a>(
    conn: &Connection,
    record_id: Uuid,
    person_id: Uuid,
    entity: &str,
    registers: impl IntoIterator<Item = RegisterOut<'a>>,
) -> Result<(), StoreError> {
    let (text, conflicts) = encode_registers(registers)?;
    conn.prepare_cached(
        "INSERT INTO sync_record (record_id, person_id, entity, conflicts, registers)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (record_id, entity) DO UPDATE SET conflicts = excluded.conflicts,
             registers = excluded.registers",
    )?
    .execute(params![
        record_id.to_string(),
        person_id.to_string(),
        entity,
        conflicts,
        text
    ])?;
    Ok(())
}

/// The `registers` column of a record (a JSON object by register key) and how many of its
/// registers are in conflict.
fn encode_registers<'a>(
    registers: impl IntoIterator<Item = RegisterOut<'a>>,
) -> Result<(String, i64), StoreError> {
    let damaged = |e: serde_json::Error| {
        log::error!("register does not serialise: {e}");
        StoreError::Damaged
    };
    let mut text = String::from("{");
    let mut conflicts = 0;
    for (i, reg) in registers.into_iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        if reg.heads.len() > 1 {
            conflicts += 1;
        }
        let winner = reg.heads.first().map(|h| h.change.mutation_id);
        let shows_winner = reg.shown.is_some() && reg.shown == winner;
        let entry = EntryOut {
            v: reg.version,
            s: if shows_winner { None } else { reg.shown },
            w: shows_winner,
            // A diagnostic is created once: its register never competes, and the whole body is
            // in `diagnostics`. Its head is kept without its value.
            h: reg
                .heads
                .iter()
                .map(|h| head_out(h, reg.key != "create"))
                .collect(),
        };
        text.push_str(&serde_json::to_string(reg.key).map_err(damaged)?);
        text.push(':');
        text.push_str(&serde_json::to_string(&entry).map_err(damaged)?);
    }
    text.push('}');
    Ok((text, conflicts))
}

/// Writes a record's registers back after a change to them.
pub(crate) fn write_back(conn: &Connection, record: &RecordRegisters) -> Result<(), StoreError> {
    write_record(
        conn,
        record.record_id,
        record.person_id,
        &record.entity,
        record.registers.iter().map(|(key, reg)| RegisterOut {
            key,
            version: reg.version,
            shown: reg.shown,
            heads: &reg.heads,
        }),
    )
}

/// A register in its record's row: highest version, the change shown (`w`: the winner, else
/// `s` when any), the heads.
#[derive(Serialize)]
struct EntryOut<'a> {
    v: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    s: Option<Uuid>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    w: bool,
    h: Vec<HeadOut<'a>>,
}

#[derive(Deserialize)]
struct EntryIn {
    v: u64,
    #[serde(default)]
    s: Option<Uuid>,
    #[serde(default)]
    w: bool,
    /// The compact heads, or the full form a file migrated from schema 3 may still hold.
    h: serde_json::Value,
}

fn decode_registers(
    text: &str,
    entity: &str,
    record_id: Uuid,
    person_id: Uuid,
) -> Result<BTreeMap<String, StoredRegister>, StoreError> {
    let entries: BTreeMap<String, EntryIn> =
        serde_json::from_str(text).map_err(|_| StoreError::Damaged)?;
    entries
        .into_iter()
        .map(|(key, e)| {
            let heads = decode_heads(e.h, entity, record_id, person_id)?;
            let shown = if e.w {
                heads.first().map(|h| h.change.mutation_id)
            } else {
                e.s
            };
            Ok((
                key,
                StoredRegister {
                    version: e.v,
                    shown,
                    heads,
                },
            ))
        })
        .collect()
}

/// A head as its register keeps it: the change without what the row's own columns say
/// (entity, record, person), without its mutation id when it is the snapshot's stand-in (derived
/// from the version), without its clock's node when that is its device, and without its value
/// when the record holds it whole (a diagnostic's `create`). A first sync writes one of these
/// per register: the full form took about three times the space, and the time to write it.
#[derive(Serialize)]
struct HeadOut<'a> {
    v: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    m: Option<Uuid>,
    f: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    x: Option<&'a serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    b: Option<u64>,
    w: u64,
    c: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    n: Option<Uuid>,
    d: Uuid,
}

#[derive(Deserialize)]
struct HeadIn {
    v: u64,
    #[serde(default)]
    m: Option<Uuid>,
    f: String,
    #[serde(default)]
    x: serde_json::Value,
    #[serde(default)]
    b: Option<u64>,
    w: u64,
    c: u32,
    #[serde(default)]
    n: Option<Uuid>,
    d: Uuid,
}

/// One head in the compact form; `keep_value` false drops its value.
fn head_out(h: &Versioned, keep_value: bool) -> HeadOut<'_> {
    let c = &h.change;
    HeadOut {
        v: h.version,
        m: (c.mutation_id != snapshot_mutation_id(h.version)).then_some(c.mutation_id),
        f: &c.field,
        // A null value reads back as null when absent.
        x: (keep_value && !c.value.is_null()).then_some(&c.value),
        b: c.base_version,
        w: c.hlc.wall_ms,
        c: c.hlc.counter,
        n: (c.hlc.node != c.device_id).then_some(c.hlc.node),
        d: c.device_id,
    }
}

/// The heads of a register, in the compact form or the full one that schema 3 files hold.
fn decode_heads(
    heads: serde_json::Value,
    entity: &str,
    record_id: Uuid,
    person_id: Uuid,
) -> Result<Vec<Versioned>, StoreError> {
    match Vec::<HeadIn>::deserialize(&heads) {
        Ok(heads) => Ok(heads
            .into_iter()
            .map(|h| Versioned {
                version: h.v,
                change: Change {
                    mutation_id: h.m.unwrap_or_else(|| snapshot_mutation_id(h.v)),
                    entity: entity.to_string(),
                    record_id,
                    person_id,
                    field: h.f,
                    value: h.x,
                    base_version: h.b,
                    hlc: Hlc {
                        wall_ms: h.w,
                        counter: h.c,
                        node: h.n.unwrap_or(h.d),
                    },
                    device_id: h.d,
                },
            })
            .collect()),
        Err(_) => Vec::<Versioned>::deserialize(&heads).map_err(|_| StoreError::Damaged),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(version: u64, mutation_id: Uuid, node: Uuid, value: serde_json::Value) -> Versioned {
        let device = Uuid::from_u128(5);
        Versioned {
            version,
            change: Change {
                mutation_id,
                entity: "diagnostic".into(),
                record_id: Uuid::from_u128(2),
                person_id: Uuid::from_u128(1),
                field: "add_note".into(),
                value,
                base_version: Some(version - 1),
                hlc: Hlc {
                    wall_ms: 1_795_770_621_531,
                    counter: 70,
                    node,
                },
                device_id: device,
            },
        }
    }

    #[test]
    fn registers_round_trip_through_the_compact_form_and_the_old_form_still_reads() {
        let (record, person) = (Uuid::from_u128(2), Uuid::from_u128(1));
        let device = Uuid::from_u128(5);
        let heads = vec![
            head(
                70,
                snapshot_mutation_id(70),
                device,
                serde_json::json!({"text": "é"}),
            ),
            head(
                71,
                Uuid::now_v7(),
                Uuid::from_u128(9),
                serde_json::Value::Null,
            ),
        ];
        let local = Uuid::now_v7();
        let registers = [
            RegisterOut {
                key: "note/a",
                version: 72,
                shown: Some(heads[0].change.mutation_id),
                heads: &heads,
            },
            RegisterOut {
                key: "place",
                version: 3,
                shown: Some(local),
                heads: &heads[1..],
            },
            RegisterOut {
                key: "create",
                version: 1,
                shown: None,
                heads: &heads[..1],
            },
        ];
        let (text, conflicts) = encode_registers(registers).unwrap();
        assert_eq!(conflicts, 1);
        let read = decode_registers(&text, "diagnostic", record, person).unwrap();
        assert_eq!(read["note/a"].heads, heads);
        assert_eq!(read["note/a"].shown, Some(heads[0].change.mutation_id));
        assert_eq!(read["note/a"].version, 72);
        assert_eq!(read["place"].shown, Some(local));
        assert_eq!(read["place"].heads, heads[1..]);
        // The create register keeps its head without the value (the record holds it whole).
        assert_eq!(read["create"].shown, None);
        assert!(read["create"].heads[0].change.value.is_null());
        // Much smaller than the full form of the same heads.
        let full = serde_json::to_string(&heads).unwrap();
        assert!(text.len() < full.len(), "{text}");
        // What the migration from schema 5 makes of a register written in schema 3's full form.
        let old = format!(r#"{{"note/a":{{"v":72,"s":null,"h":{full}}}}}"#);
        let read = decode_registers(&old, "diagnostic", record, person).unwrap();
        assert_eq!(read["note/a"].heads, heads);
        assert_eq!(read["note/a"].shown, None);
        assert!(matches!(
            decode_registers("{\"a\":{\"v\":1,\"h\":[{", "person", record, person),
            Err(StoreError::Damaged)
        ));
    }
}
