//! The sync registers as the case file keeps them, read whole: for tests that compare two
//! ways of reaching the same state (a snapshot and the journal), and for diagnosis.

use rusqlite::OptionalExtension as _;
use tandem_sync::Versioned;
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
        let mut stmt = self.conn.prepare(
            "SELECT person_id, entity, record_id, register, version, shown, heads
             FROM sync_register ORDER BY record_id, register",
        )?;
        let rows = stmt
            .query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, i64>(4)?,
                    row.get::<_, Option<String>>(5)?,
                    row.get::<_, String>(6)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let uuid = |s: &str| Uuid::parse_str(s).map_err(|_| StoreError::Damaged);
        rows.into_iter()
            .map(
                |(person, entity, record, register, version, shown, heads)| {
                    Ok(RegisterRow {
                        person_id: uuid(&person)?,
                        entity,
                        record_id: uuid(&record)?,
                        register,
                        version: version.max(0) as u64,
                        shown: shown.as_deref().map(uuid).transpose()?,
                        heads: serde_json::from_str(&heads).map_err(|_| StoreError::Damaged)?,
                    })
                },
            )
            .collect()
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
