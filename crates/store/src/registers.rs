//! The sync registers as the case file keeps them: their compact stored form, and reading them
//! whole (for tests that compare two ways of reaching the same state, a snapshot and the
//! journal, and for diagnosis).

use rusqlite::OptionalExtension as _;
use serde::{Deserialize, Serialize};
use tandem_sync::{snapshot_mutation_id, Change, Hlc, Versioned};
use uuid::Uuid;

use crate::error::StoreError;
use crate::CaseFile;

/// One register row: its heads (winner first), highest version pulled and the change shown.
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
            "SELECT {REGISTER_COLUMNS} FROM sync_register ORDER BY record_id, register"
        ))?;
        let mut rows = stmt.query([])?;
        let mut registers = Vec::new();
        while let Some(row) = rows.next()? {
            registers.push(register_row(row)?);
        }
        Ok(registers)
    }

    /// The highest version pulled of one register, if the file holds it.
    pub fn register_version(
        &self,
        record_id: Uuid,
        register: &str,
    ) -> Result<Option<u64>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT version FROM sync_register WHERE record_id = ?1 AND register = ?2",
                rusqlite::params![record_id.to_string(), register],
                |row| row.get::<_, i64>(0),
            )
            .optional()?
            .map(|v| v.max(0) as u64))
    }
}

/// The `sync_register` columns [`register_row`] reads, in its order (a query may add more after).
pub(crate) const REGISTER_COLUMNS: &str =
    "person_id, entity, record_id, register, version, shown, heads";

/// One `sync_register` row selected with [`REGISTER_COLUMNS`] first, its heads decoded.
pub(crate) fn register_row(row: &rusqlite::Row<'_>) -> Result<RegisterRow, StoreError> {
    let uuid = |text: &str| Uuid::parse_str(text).map_err(|_| StoreError::Damaged);
    let (person, entity, record): (String, String, String) =
        (row.get(0)?, row.get(1)?, row.get(2)?);
    let (person_id, record_id) = (uuid(&person)?, uuid(&record)?);
    let shown: Option<String> = row.get(5)?;
    let heads: String = row.get(6)?;
    Ok(RegisterRow {
        heads: decode_heads(&heads, &entity, record_id, person_id)?,
        person_id,
        entity,
        record_id,
        register: row.get(3)?,
        version: row.get::<_, i64>(4)?.max(0) as u64,
        shown: shown.as_deref().map(uuid).transpose()?,
    })
}

/// A head as the `heads` column keeps it: the change without what the row's own columns say
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

/// The `heads` column of a register; `keep_value` false drops the values.
pub(crate) fn encode_heads(heads: &[Versioned], keep_value: bool) -> Result<String, StoreError> {
    let out: Vec<HeadOut<'_>> = heads
        .iter()
        .map(|h| {
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
        })
        .collect();
    serde_json::to_string(&out).map_err(|e| {
        log::error!("register heads do not serialise: {e}");
        StoreError::Damaged
    })
}

/// The heads of a register row, in the compact form or the full one that schema 3 files hold.
pub(crate) fn decode_heads(
    text: &str,
    entity: &str,
    record_id: Uuid,
    person_id: Uuid,
) -> Result<Vec<Versioned>, StoreError> {
    match serde_json::from_str::<Vec<HeadIn>>(text) {
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
        Err(_) => serde_json::from_str(text).map_err(|_| StoreError::Damaged),
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
    fn heads_round_trip_through_the_compact_form_and_the_old_form_still_reads() {
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
        let text = encode_heads(&heads, true).unwrap();
        let read = decode_heads(&text, "diagnostic", Uuid::from_u128(2), Uuid::from_u128(1));
        assert_eq!(read.unwrap(), heads);
        let full = serde_json::to_string(&heads).unwrap();
        assert!(text.len() * 2 < full.len(), "{text}");
        let read = decode_heads(&full, "diagnostic", Uuid::from_u128(2), Uuid::from_u128(1));
        assert_eq!(read.unwrap(), heads);
        // Without values: the same heads, values null.
        let text = encode_heads(&heads, false).unwrap();
        let read = decode_heads(&text, "diagnostic", Uuid::from_u128(2), Uuid::from_u128(1));
        assert!(read.unwrap().iter().all(|h| h.change.value.is_null()));
        assert!(matches!(
            decode_heads("[{", "person", Uuid::nil(), Uuid::nil()),
            Err(StoreError::Damaged)
        ));
    }
}
