//! The encrypted case file: one SQLCipher database per caseworker profile (design §4).
//!
//! [`CaseFile`] owns the connection. Every user change goes to the domain table and to the outbox
//! in one transaction. Nothing here logs personal data or keys.

mod connection;
mod diagnostics;
mod error;
mod followup;
mod migrations;
mod outbox;
mod person_rows;
mod registers;
mod sync;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use tandem_domain::person::search_terms;
use tandem_domain::validation::lock_minutes;
use tandem_domain::{NewPerson, Person, PersonField, PersonList, Profile, Role};
use uuid::Uuid;

pub use error::StoreError;
pub use followup::{ReviewEntry, ReviewSelection};
pub use registers::RegisterRow;
pub use sync::{
    ConflictValue, OpenConflict, PageReport, PushReport, RefusedChange, SyncCounts, SyncState,
};

use person_rows::{PERSON_COLUMNS, SUMMARY_COLUMNS};

pub struct CaseFile {
    conn: Connection,
    path: PathBuf,
    keyed: bool,
}

impl std::fmt::Debug for CaseFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaseFile")
            .field("path", &self.path)
            .field("keyed", &self.keyed)
            .finish()
    }
}

/// For the benchmark comparing SQLCipher against plain SQLite (same engine, no key): not used by
/// the app. Opens the file, creating it if needed, with the same set-up and schema.
#[doc(hidden)]
pub fn open_plain_for_bench(path: &Path) -> Result<CaseFile, StoreError> {
    let conn = connection::open(path, None, true)?;
    Ok(CaseFile {
        conn,
        path: path.to_path_buf(),
        keyed: false,
    })
}

impl CaseFile {
    pub const SCHEMA_VERSION: u32 = migrations::SCHEMA_VERSION;

    /// Creates a new case file encrypted with `key`. Refuses a path where anything exists.
    pub fn create(path: &Path, key: &[u8; 32]) -> Result<Self, StoreError> {
        // create_new reserves the path atomically; SQLite treats the empty file as a new database.
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(StoreError::AlreadyExists)
            }
            Err(e) => return Err(StoreError::Io(e)),
        }
        match connection::open(path, Some(key), false) {
            Ok(conn) => Ok(CaseFile {
                conn,
                path: path.to_path_buf(),
                keyed: true,
            }),
            Err(e) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut name = path.as_os_str().to_owned();
                    name.push(suffix);
                    let _ = std::fs::remove_file(PathBuf::from(name));
                }
                Err(e)
            }
        }
    }

    /// Opens an existing case file. A wrong key, a newer schema or a foreign file is refused
    /// without writing anything to it.
    pub fn open(path: &Path, key: &[u8; 32]) -> Result<Self, StoreError> {
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_file() && meta.len() > 0 => {}
            // An empty file would be taken by SQLite for a new database and initialised.
            Ok(meta) if meta.is_file() => return Err(StoreError::Damaged),
            Ok(_) => return Err(StoreError::NotFound),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(StoreError::NotFound),
            Err(e) => return Err(StoreError::Io(e)),
        }
        let conn = connection::open(path, Some(key), false)?;
        Ok(CaseFile {
            conn,
            path: path.to_path_buf(),
            keyed: true,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn profile(&self) -> Result<Option<Profile>, StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT id, caseworker_name, structure_name, role, lock_after_minutes
                 FROM profile WHERE singleton = 1",
                [],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, String>(3)?,
                        row.get::<_, u32>(4)?,
                    ))
                },
            )
            .optional()?;
        let Some((id, caseworker_name, structure_name, role, lock_after_minutes)) = row else {
            return Ok(None);
        };
        // The schema's CHECK constraints make these unreachable short of tampering.
        let id = Uuid::parse_str(&id).map_err(|_| StoreError::Damaged)?;
        let role = Role::parse(&role).ok_or(StoreError::Damaged)?;
        Ok(Some(Profile {
            id,
            caseworker_name,
            structure_name,
            role,
            lock_after_minutes,
        }))
    }

    pub fn save_profile(&mut self, profile: &Profile) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO profile (singleton, id, caseworker_name, structure_name, role,
                                  lock_after_minutes)
             VALUES (1, ?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (singleton) DO UPDATE SET
                 id = excluded.id,
                 caseworker_name = excluded.caseworker_name,
                 structure_name = excluded.structure_name,
                 role = excluded.role,
                 lock_after_minutes = excluded.lock_after_minutes",
            params![
                profile.id.to_string(),
                profile.caseworker_name,
                profile.structure_name,
                profile.role.as_str(),
                profile.lock_after_minutes,
            ],
        )?;
        Ok(())
    }

    pub fn set_lock_after_minutes(&mut self, minutes: u32) -> Result<Profile, StoreError> {
        let minutes = lock_minutes("lock_after_minutes", minutes)?;
        let mut profile = self.profile()?.ok_or(StoreError::NotFound)?;
        profile.lock_after_minutes = minutes;
        self.save_profile(&profile)?;
        Ok(profile)
    }

    /// Creates a person from the "new person" form; the outbox gets one row per filled field.
    pub fn create_person(
        &mut self,
        input: &NewPerson,
        now: DateTime<Utc>,
    ) -> Result<Person, StoreError> {
        let person = Person::create(input, Uuid::now_v7(), now)?;
        let tx = self.conn.transaction()?;
        insert_person(&tx, &person)?;
        tx.commit()?;
        Ok(person)
    }

    /// Autosave of one field. Validation errors change nothing; an unchanged value writes nothing.
    pub fn update_person_field(
        &mut self,
        id: Uuid,
        field: PersonField,
        raw: &str,
        now: DateTime<Utc>,
    ) -> Result<Person, StoreError> {
        let value = field.parse(raw, now.date_naive())?;
        let tx = self.conn.transaction()?;
        let current = load_person(&tx, id)?;
        let mut updated = current.clone();
        updated.apply(field, value);
        if updated == current {
            return Ok(current);
        }
        updated.updated_at = now;
        // The column name comes from the domain's closed list of fields, never from input.
        let sql = format!(
            "UPDATE person SET {} = ?1, search_key = ?2, sort_key = ?3, updated_at = ?4
             WHERE id = ?5",
            field.name()
        );
        tx.prepare_cached(&sql)?.execute(params![
            person_rows::column_value(&updated, field),
            updated.search_key(),
            person_rows::sort_key(&updated),
            person_rows::timestamp(now),
            id.to_string(),
        ])?;
        outbox::record(
            &tx,
            &outbox::Target {
                entity: outbox::PERSON,
                record_id: id,
                person_id: id,
                field: field.name(),
            },
            &person_rows::json_value(&updated, field),
            now,
        )?;
        tx.commit()?;
        Ok(updated)
    }

    pub fn person(&self, id: Uuid) -> Result<Person, StoreError> {
        load_person(&self.conn, id)
    }

    /// Deletes a person's file created by mistake (a duplicate, a wrong person), with its
    /// drafts and pending changes. A person with a finalised diagnostic keeps their file
    /// ([`StoreError::HasFinalisedDiagnostic`]). On an enrolled laptop the deletion is
    /// journalled as the `deleted` tombstone, so the server removes the file from every
    /// structure's laptops too; answers whether it was.
    pub fn delete_person(&mut self, id: Uuid, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        load_person(&tx, id)?;
        let finalised: bool = tx
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM diagnostics
                 WHERE person_id = ?1 AND status = 'finalised')",
            )?
            .query_row([id.to_string()], |row| row.get(0))?;
        if finalised {
            return Err(StoreError::HasFinalisedDiagnostic);
        }
        let enrolled: bool = tx
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM sync_state)")?
            .query_row([], |row| row.get(0))?;
        sync::purge_person(&tx, id)?;
        if enrolled {
            outbox::record(
                &tx,
                &outbox::Target {
                    entity: outbox::PERSON,
                    record_id: id,
                    person_id: id,
                    field: tandem_sync::PERSON_DELETED_FIELD,
                },
                &serde_json::Value::Bool(true),
                now,
            )?;
        }
        tx.commit()?;
        Ok(enrolled)
    }

    /// The caseload list: persons whose search key contains every folded word of `query`
    /// (everyone for an empty query), sorted by last then first name, at most `limit` of them.
    /// `total` counts every match.
    pub fn search_persons(&self, query: &str, limit: u32) -> Result<PersonList, StoreError> {
        let mut params: Vec<Value> = search_terms(query)
            .iter()
            .map(|t| Value::Text(like_contains(t)))
            .collect();
        let filter = if params.is_empty() {
            String::new()
        } else {
            let conditions: Vec<String> = (1..=params.len())
                .map(|i| format!("search_key LIKE ?{i} ESCAPE '\\'"))
                .collect();
            format!("WHERE {}", conditions.join(" AND "))
        };
        let total: u32 = self
            .conn
            .prepare_cached(&format!("SELECT count(*) FROM person {filter}"))?
            .query_row(params_from_iter(&params), |row| row.get(0))?;
        params.push(Value::Integer(i64::from(limit)));
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM person {filter}
             ORDER BY sort_key, search_key LIMIT ?{}",
            params.len()
        ))?;
        let items = stmt
            .query_map(params_from_iter(&params), person_rows::summary_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PersonList { items, total })
    }

    /// Bulk insert in one transaction, with outbox rows, for the seed tool and benchmarks.
    pub fn insert_persons(&mut self, persons: &[Person]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        for person in persons {
            insert_person(&tx, person)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Full check: SQLite's b-tree check and, for an encrypted file, every page's HMAC.
    pub fn integrity_check(&self) -> Result<(), StoreError> {
        let rows: Vec<String> = self
            .conn
            .prepare("PRAGMA integrity_check")?
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        if rows != ["ok"] {
            log::error!("case file integrity check failed ({} problems)", rows.len());
            return Err(StoreError::Damaged);
        }
        if self.keyed {
            let failures = self
                .conn
                .prepare("PRAGMA cipher_integrity_check")?
                .query_map([], |row| row.get::<_, String>(0))?
                .count();
            if failures > 0 {
                log::error!("case file cipher integrity check failed ({failures} pages)");
                return Err(StoreError::Damaged);
            }
        }
        Ok(())
    }

    /// How many field-level changes wait in the outbox to be pushed.
    pub fn pending_changes(&self) -> Result<u64, StoreError> {
        let count: i64 = self.conn.query_row(
            "SELECT count(*) FROM outbox WHERE state = 'pending'",
            [],
            |row| row.get(0),
        )?;
        Ok(count.unsigned_abs())
    }
}

fn load_person(conn: &Connection, id: Uuid) -> Result<Person, StoreError> {
    conn.prepare_cached(&format!(
        "SELECT {PERSON_COLUMNS} FROM person WHERE id = ?1"
    ))?
    .query_row([id.to_string()], person_rows::person_from_row)
    .optional()?
    .ok_or(StoreError::NotFound)
}

/// Inserts the row and one outbox row per field that differs from a blank record.
fn insert_person(conn: &Connection, person: &Person) -> Result<(), StoreError> {
    conn.prepare_cached(person_rows::INSERT_PERSON)?
        .execute(params_from_iter(person_rows::insert_params(person)))?;
    for field in PersonField::ALL {
        if person_rows::is_set(person, field) {
            outbox::record(
                conn,
                &outbox::Target {
                    entity: outbox::PERSON,
                    record_id: person.id,
                    person_id: person.id,
                    field: field.name(),
                },
                &person_rows::json_value(person, field),
                person.updated_at,
            )?;
        }
    }
    Ok(())
}

/// A LIKE pattern matching `term` anywhere, with `\` escaping LIKE's own wildcards.
fn like_contains(term: &str) -> String {
    let mut pattern = String::with_capacity(term.len() + 2);
    pattern.push('%');
    for c in term.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::like_contains;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_contains("helene"), "%helene%");
        assert_eq!(like_contains("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}
