//! Everything the server does to its database, synchronously: the HTTP layer runs these on the
//! blocking pool, holding the one writer connection.

use std::collections::BTreeSet;
use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use sha2::{Digest, Sha256};
use tandem_sync::{
    register_key, Change, Cursor, FollowUpRequest, Hlc, MutationResult, Outcome, PullResponse,
    RefusalReason, Register, Versioned, ENTITY_DIAGNOSTIC, ENTITY_PERSON,
};
use uuid::Uuid;

use crate::audit::{self, Action};
use crate::{db, hex};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("malformed cursor")]
    BadCursor,
    #[error("the device's structure may not do this")]
    Forbidden,
    #[error("invalid: {0}")]
    Invalid(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("injected fault")]
    Fault,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Social,
    Employment,
}

impl Role {
    pub fn parse(raw: &str) -> Option<Role> {
        match raw {
            "social" => Some(Role::Social),
            "employment" => Some(Role::Employment),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Role::Social => "social",
            Role::Employment => "employment",
        }
    }
}

/// An authenticated device: it acts for one caseworker of one structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: Uuid,
    pub structure_id: Uuid,
    pub role: Role,
    pub revoked: bool,
}

/// What `admin status` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub structures: i64,
    pub devices: i64,
    pub revoked_devices: i64,
    pub persons: i64,
    pub changes: i64,
    pub open_conflicts: i64,
    pub audit_rows: i64,
    pub head_seq: i64,
}

/// Pull pages are capped so one request never holds the writer for long.
pub const MAX_PULL_LIMIT: u32 = 5_000;
pub const DEFAULT_PULL_LIMIT: u32 = 1_000;

const CURSOR_FORMAT: u8 = 1;

pub struct Store {
    conn: Connection,
    fail_after: Option<usize>,
}

pub(crate) fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn uuid_col(raw: String) -> Result<Uuid, StoreError> {
    Uuid::parse_str(&raw).map_err(|e| StoreError::Corrupt(format!("uuid {raw}: {e}")))
}

impl Store {
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        Ok(Store {
            conn: db::open(data_dir)?,
            fail_after: None,
        })
    }

    /// Simulates the server dying in the middle of a push: after `n` changes are written, the
    /// transaction is abandoned. For fault tests only.
    #[doc(hidden)]
    pub fn inject_fault_after(&mut self, n: Option<usize>) {
        self.fail_after = n;
    }

    pub fn add_structure(
        &mut self,
        name: &str,
        kind: &str,
        now_ms: i64,
    ) -> Result<Uuid, StoreError> {
        let id = Uuid::now_v7();
        self.conn.execute(
            "INSERT INTO structures (id, name, kind, created_ms) VALUES (?1, ?2, ?3, ?4)",
            params![id.to_string(), name, kind, now_ms],
        )?;
        Ok(id)
    }

    /// Registers a device and returns its id and bearer token. Only the token's hash is kept:
    /// the token is shown once.
    pub fn add_device(
        &mut self,
        structure_id: Uuid,
        name: &str,
        role: Role,
        now_ms: i64,
    ) -> Result<(Uuid, String), StoreError> {
        let exists: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM structures WHERE id = ?1)",
            [structure_id.to_string()],
            |row| row.get(0),
        )?;
        if !exists {
            return Err(StoreError::NotFound("structure"));
        }
        let mut secret = [0u8; 32];
        rand::fill(&mut secret);
        let token = tandem_sync::Cursor::from_bytes(&secret).0;
        let id = Uuid::now_v7();
        self.conn.execute(
            "INSERT INTO devices (id, structure_id, name, role, token_hash, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                id.to_string(),
                structure_id.to_string(),
                name,
                role.as_str(),
                token_hash(&token),
                now_ms
            ],
        )?;
        Ok((id, token))
    }

    pub fn revoke_device(&mut self, id: Uuid) -> Result<(), StoreError> {
        let n = self.conn.execute(
            "UPDATE devices SET revoked = 1 WHERE id = ?1",
            [id.to_string()],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound("device"));
        }
        Ok(())
    }

    pub fn authenticate(&self, token: &str) -> Result<Option<Device>, StoreError> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT id, structure_id, role, revoked FROM devices WHERE token_hash = ?1",
            )?
            .query_row([token_hash(token)], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, bool>(3)?,
                ))
            })
            .optional()?;
        let Some((id, structure_id, role, revoked)) = row else {
            return Ok(None);
        };
        Ok(Some(Device {
            id: uuid_col(id)?,
            structure_id: uuid_col(structure_id)?,
            role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(role.clone()))?,
            revoked,
        }))
    }

    /// Applies a batch in one transaction: every change is journalled, refused, or found to be
    /// a replay, and the audit rows are written with it. Any error leaves nothing applied.
    pub fn push(
        &mut self,
        device: &Device,
        changes: &[Change],
        now_ms: i64,
    ) -> Result<Vec<MutationResult>, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut results = Vec::with_capacity(changes.len());
        let mut written = BTreeSet::new();
        for (i, change) in changes.iter().enumerate() {
            if self.fail_after == Some(i) {
                return Err(StoreError::Fault);
            }
            let outcome = apply_change(&tx, device, change, now_ms)?;
            if matches!(outcome, Outcome::Applied { .. } | Outcome::Conflict { .. }) {
                written.insert(format!("{}:{}", change.entity, change.record_id));
            }
            results.push(MutationResult {
                mutation_id: change.mutation_id,
                outcome,
            });
        }
        for record in &written {
            audit::append(&tx, now_ms, device.id, Action::Write, record)?;
        }
        tx.commit()?;
        Ok(results)
    }

    /// One page of the device's scope after `cursor`, with the audit rows of what it reads.
    pub fn pull(
        &mut self,
        device: &Device,
        cursor: Option<&Cursor>,
        limit: Option<u32>,
        now_ms: i64,
    ) -> Result<PullResponse, StoreError> {
        let (after_e, after_s) = match cursor {
            None => (0, 0),
            Some(c) => decode_cursor(c).ok_or(StoreError::BadCursor)?,
        };
        let limit = limit.unwrap_or(DEFAULT_PULL_LIMIT).clamp(1, MAX_PULL_LIMIT);
        // A write transaction: the audit rows of this page commit with the page's snapshot.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let social = device.role == Role::Social;
        let mut rows: Vec<(i64, bool, Versioned)> = Vec::new();
        {
            let mut stmt = tx.prepare_cached(
                "SELECT max(c.seq, f.granted_seq) AS e, c.seq, c.mutation_id, c.entity,
                        c.record_id, c.person_id, c.field, c.value, c.base_version, c.hlc_wall,
                        c.hlc_counter, c.hlc_node, c.device_id,
                        (?4 OR f.share_social_notes) AS may_read_social
                 FROM changes c
                 JOIN follow_up f ON f.person_id = c.person_id AND f.structure_id = ?1
                      AND f.consent = 1
                 LEFT JOIN notes n ON n.note_id = c.note_id
                 WHERE (max(c.seq, f.granted_seq), c.seq) > (?2, ?3)
                   AND (?4 OR f.share_social_notes = 1 OR coalesce(n.social_only, 0) = 0)
                 ORDER BY e, c.seq
                 LIMIT ?5",
            )?;
            let mut query = stmt.query(params![
                device.structure_id.to_string(),
                after_e,
                after_s,
                social,
                limit + 1
            ])?;
            while let Some(row) = query.next()? {
                let e: i64 = row.get(0)?;
                let may_read_social: bool = row.get(13)?;
                let value: String = row.get(7)?;
                let change = Change {
                    mutation_id: uuid_col(row.get(2)?)?,
                    entity: row.get(3)?,
                    record_id: uuid_col(row.get(4)?)?,
                    person_id: uuid_col(row.get(5)?)?,
                    field: row.get(6)?,
                    value: serde_json::from_str(&value)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    base_version: row.get::<_, Option<i64>>(8)?.map(|v| v as u64),
                    hlc: Hlc {
                        wall_ms: row.get::<_, i64>(9)? as u64,
                        counter: row.get::<_, i64>(10)? as u32,
                        node: uuid_col(row.get(11)?)?,
                    },
                    device_id: uuid_col(row.get(12)?)?,
                };
                let seq: i64 = row.get(1)?;
                rows.push((
                    e,
                    may_read_social,
                    Versioned {
                        version: seq as u64,
                        change,
                    },
                ));
            }
        }
        let has_more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        // Where this page ends. A full drain ends at the head: everything up to it was seen.
        let (end_e, end_s) = match (has_more, rows.last()) {
            (true, Some((e, _, v))) => (*e, v.version as i64),
            _ => (db::head_seq(&tx)?.max(after_e), i64::MAX),
        };
        let removals: Vec<Uuid> = tx
            .prepare_cached(
                "SELECT person_id FROM follow_up
                 WHERE structure_id = ?1 AND revoked_seq > ?2 AND revoked_seq <= ?3
                 ORDER BY person_id",
            )?
            .query_map(
                params![device.structure_id.to_string(), after_e, end_e],
                |row| row.get::<_, String>(0),
            )?
            .map(|r| r.map_err(StoreError::from).and_then(uuid_col))
            .collect::<Result<_, _>>()?;
        let mut read = BTreeSet::new();
        let mut changes = Vec::with_capacity(rows.len());
        for (_, may_read_social, mut versioned) in rows {
            if !may_read_social {
                redact_social_notes(&mut versioned.change);
            }
            read.insert(format!("person:{}", versioned.change.person_id));
            changes.push(versioned);
        }
        for record in &read {
            audit::append(&tx, now_ms, device.id, Action::Read, record)?;
        }
        tx.commit()?;
        Ok(PullResponse {
            removals,
            changes,
            cursor: encode_cursor(end_e, end_s),
            has_more,
            server_time_ms: now_ms as u64,
        })
    }

    /// Puts a structure in a person's follow-up group or changes its consent flags. Only a
    /// device whose structure already has access may do it.
    pub fn follow_up(
        &mut self,
        device: &Device,
        request: &FollowUpRequest,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if !has_access(&tx, request.person_id, device.structure_id)? {
            return Err(StoreError::Forbidden);
        }
        let target_exists: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM structures WHERE id = ?1)",
            [request.structure_id.to_string()],
            |row| row.get(0),
        )?;
        if !target_exists {
            return Err(StoreError::NotFound("structure"));
        }
        let person = request.person_id.to_string();
        let structure = request.structure_id.to_string();
        let before: Option<(bool, bool)> = tx
            .query_row(
                "SELECT consent, share_social_notes FROM follow_up
                 WHERE person_id = ?1 AND structure_id = ?2",
                params![person, structure],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        let after = (request.consent, request.share_social_notes);
        if before == Some(after) {
            tx.commit()?;
            return Ok(());
        }
        let seq = db::next_seq(&tx)?;
        // Any change of what a structure may see is a removal followed by a fresh grant of
        // everything it may now see: laptops never keep what they may no longer read.
        let had_access = before.is_some_and(|(consent, _)| consent);
        tx.execute(
            "INSERT INTO follow_up (person_id, structure_id, consent, share_social_notes,
                                    granted_seq, revoked_seq)
             VALUES (?1, ?2, ?3, ?4, CASE WHEN ?3 THEN ?5 END, NULL)
             ON CONFLICT (person_id, structure_id) DO UPDATE SET
                 consent = ?3,
                 share_social_notes = ?4,
                 granted_seq = CASE WHEN ?3 THEN ?5 ELSE granted_seq END,
                 revoked_seq = CASE WHEN ?6 THEN ?5 ELSE revoked_seq END",
            params![
                person,
                structure,
                request.consent,
                request.share_social_notes,
                seq,
                had_access
            ],
        )?;
        audit::append(
            &tx,
            now_ms,
            device.id,
            Action::Write,
            &format!("follow_up:{person}"),
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn status(&self) -> Result<Status, StoreError> {
        let count = |sql: &str| -> Result<i64, StoreError> {
            Ok(self.conn.query_row(sql, [], |row| row.get(0))?)
        };
        Ok(Status {
            structures: count("SELECT count(*) FROM structures")?,
            devices: count("SELECT count(*) FROM devices")?,
            revoked_devices: count("SELECT count(*) FROM devices WHERE revoked")?,
            persons: count("SELECT count(*) FROM persons")?,
            changes: count("SELECT count(*) FROM changes")?,
            open_conflicts: count("SELECT count(*) FROM conflicts WHERE closed_seq IS NULL")?,
            audit_rows: count("SELECT count(*) FROM audit")?,
            head_seq: db::head_seq(&self.conn)?,
        })
    }

    pub fn verify_audit(&self) -> Result<audit::Verdict, StoreError> {
        Ok(audit::verify(&self.conn)?)
    }
}

fn encode_cursor(e: i64, s: i64) -> Cursor {
    let mut bytes = vec![CURSOR_FORMAT];
    bytes.extend_from_slice(&e.to_be_bytes());
    bytes.extend_from_slice(&s.to_be_bytes());
    Cursor::from_bytes(&bytes)
}

fn decode_cursor(cursor: &Cursor) -> Option<(i64, i64)> {
    let bytes = cursor.to_bytes()?;
    if bytes.len() != 17 || bytes[0] != CURSOR_FORMAT {
        return None;
    }
    let e = i64::from_be_bytes(bytes[1..9].try_into().ok()?);
    let s = i64::from_be_bytes(bytes[9..17].try_into().ok()?);
    Some((e, s))
}

fn has_access(conn: &Connection, person: Uuid, structure: Uuid) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM follow_up
                            WHERE person_id = ?1 AND structure_id = ?2 AND consent = 1)",
        )?
        .query_row(params![person.to_string(), structure.to_string()], |row| {
            row.get(0)
        })?)
}

fn apply_change(
    conn: &Connection,
    device: &Device,
    change: &Change,
    now_ms: i64,
) -> Result<Outcome, StoreError> {
    let refused = |reason| Ok(Outcome::Refused { reason });
    if change.device_id != device.id {
        return refused(RefusalReason::WrongDevice);
    }
    let known: Option<i64> = conn
        .prepare_cached("SELECT seq FROM changes WHERE mutation_id = ?1")?
        .query_row([change.mutation_id.to_string()], |row| row.get(0))
        .optional()?;
    if let Some(seq) = known {
        return Ok(Outcome::Duplicate {
            version: seq as u64,
        });
    }
    if change.entity != ENTITY_PERSON && change.entity != ENTITY_DIAGNOSTIC {
        return refused(RefusalReason::Invalid);
    }
    if change.entity == ENTITY_PERSON && change.record_id != change.person_id {
        return refused(RefusalReason::Invalid);
    }
    if change.hlc.check_drift(now_ms as u64).is_err() {
        return refused(RefusalReason::ClockAhead);
    }
    let person = change.person_id.to_string();
    let person_exists: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM persons WHERE id = ?1)")?
        .query_row([&person], |row| row.get(0))?;
    if person_exists && !has_access(conn, change.person_id, device.structure_id)? {
        return refused(RefusalReason::Forbidden);
    }
    let owner: Option<String> = conn
        .prepare_cached("SELECT person_id FROM records WHERE entity = ?1 AND record_id = ?2")?
        .query_row(
            params![change.entity, change.record_id.to_string()],
            |row| row.get(0),
        )
        .optional()?;
    if owner.as_ref().is_some_and(|owner| *owner != person) {
        return refused(RefusalReason::Invalid);
    }
    let register = register_key(
        &change.entity,
        &change.field,
        &change.value,
        change.mutation_id,
    );
    let note_id = note_of(change, &register);
    if change.entity == ENTITY_DIAGNOSTIC {
        if owner.is_some() && is_finalised(conn, change.record_id)? {
            return refused(RefusalReason::Finalised);
        }
        if device.role == Role::Employment
            && writes_social_only_note(conn, change, note_id.as_deref())?
            && !shares_social_notes(conn, change.person_id, device.structure_id)?
        {
            return refused(RefusalReason::SocialOnly);
        }
    }

    let seq = db::next_seq(conn)?;
    if !person_exists {
        // The first change of a person creates it, with the writer's structure as its group.
        let structure = device.structure_id.to_string();
        conn.prepare_cached(
            "INSERT INTO persons (id, created_by, created_seq) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![person, structure, seq])?;
        conn.prepare_cached(
            "INSERT INTO follow_up (person_id, structure_id, consent, share_social_notes,
                                    granted_seq, revoked_seq)
             VALUES (?1, ?2, 1, 0, ?3, NULL)",
        )?
        .execute(params![person, structure, seq])?;
    }
    if owner.is_none() {
        conn.prepare_cached(
            "INSERT INTO records (entity, record_id, person_id) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![change.entity, change.record_id.to_string(), person])?;
    }
    conn.prepare_cached(
        "INSERT INTO changes (seq, mutation_id, entity, record_id, person_id, field, register,
                              value, base_version, hlc_wall, hlc_counter, hlc_node, device_id,
                              note_id, committed_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?
    .execute(params![
        seq,
        change.mutation_id.to_string(),
        change.entity,
        change.record_id.to_string(),
        person,
        change.field,
        register,
        change.value.to_string(),
        change.base_version.map(|v| v as i64),
        change.hlc.wall_ms as i64,
        change.hlc.counter,
        change.hlc.node.to_string(),
        change.device_id.to_string(),
        note_id,
        now_ms,
    ])?;

    let state = load_register(conn, &change.entity, change.record_id, &register)?;
    if let Some(note_id) = &note_id {
        refresh_note(conn, &change.entity, change.record_id, note_id)?;
    }
    if change.entity == ENTITY_DIAGNOSTIC && change.field == "create" {
        for note_id in created_notes(&change.value) {
            refresh_note(conn, &change.entity, change.record_id, &note_id)?;
        }
    }
    let conflict = state.conflict();
    match &conflict {
        Some(conflict) => {
            let losers = serde_json::to_string(&conflict.losers)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            conn.prepare_cached(
                "INSERT INTO conflicts (entity, record_id, register, person_id, winner, losers,
                                        updated_seq, closed_seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL)
                 ON CONFLICT (entity, record_id, register) DO UPDATE SET
                     winner = ?5, losers = ?6, updated_seq = ?7, closed_seq = NULL",
            )?
            .execute(params![
                change.entity,
                change.record_id.to_string(),
                register,
                person,
                conflict.winner.to_string(),
                losers,
                seq
            ])?;
        }
        None => {
            conn.prepare_cached(
                "UPDATE conflicts SET closed_seq = ?4, updated_seq = ?4
                 WHERE entity = ?1 AND record_id = ?2 AND register = ?3 AND closed_seq IS NULL",
            )?
            .execute(params![
                change.entity,
                change.record_id.to_string(),
                register,
                seq
            ])?;
        }
    }
    Ok(match conflict {
        Some(conflict) => Outcome::Conflict {
            version: seq as u64,
            winner: conflict.winner,
        },
        None => Outcome::Applied {
            version: seq as u64,
        },
    })
}

/// The note a diagnostic change is about, if any (its register is `note/{id}…`).
fn note_of(change: &Change, register: &str) -> Option<String> {
    if change.entity != ENTITY_DIAGNOSTIC {
        return None;
    }
    let rest = register.strip_prefix("note/")?;
    Some(rest.split('/').next().unwrap_or(rest).to_string())
}

fn load_register(
    conn: &Connection,
    entity: &str,
    record_id: Uuid,
    register: &str,
) -> Result<Register, StoreError> {
    let mut state = Register::default();
    let mut stmt = conn.prepare_cached(
        "SELECT seq, mutation_id, person_id, field, value, base_version, hlc_wall, hlc_counter,
                hlc_node, device_id
         FROM changes WHERE entity = ?1 AND record_id = ?2 AND register = ?3",
    )?;
    let mut rows = stmt.query(params![entity, record_id.to_string(), register])?;
    while let Some(row) = rows.next()? {
        let value: String = row.get(4)?;
        state.insert(Versioned {
            version: row.get::<_, i64>(0)? as u64,
            change: Change {
                mutation_id: uuid_col(row.get(1)?)?,
                entity: entity.to_string(),
                record_id,
                person_id: uuid_col(row.get(2)?)?,
                field: row.get(3)?,
                value: serde_json::from_str(&value)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                base_version: row.get::<_, Option<i64>>(5)?.map(|v| v as u64),
                hlc: Hlc {
                    wall_ms: row.get::<_, i64>(6)? as u64,
                    counter: row.get::<_, i64>(7)? as u32,
                    node: uuid_col(row.get(8)?)?,
                },
                device_id: uuid_col(row.get(9)?)?,
            },
        });
    }
    Ok(state)
}

/// Whether the server has applied a `finalise` of this diagnostic, or a `create` of it already
/// finalised: from then on it never changes.
fn is_finalised(conn: &Connection, record_id: Uuid) -> Result<bool, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT field, value FROM changes
         WHERE entity = ?1 AND record_id = ?2 AND register IN ('finalise', 'create')",
    )?;
    let mut rows = stmt.query(params![ENTITY_DIAGNOSTIC, record_id.to_string()])?;
    while let Some(row) = rows.next()? {
        let field: String = row.get(0)?;
        if field == "finalise" {
            return Ok(true);
        }
        let value: String = row.get(1)?;
        let value: serde_json::Value =
            serde_json::from_str(&value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        if value.get("status").and_then(serde_json::Value::as_str) == Some("finalised") {
            return Ok(true);
        }
    }
    Ok(false)
}

fn is_social_only(value: &serde_json::Value) -> bool {
    value.get("visibility").and_then(serde_json::Value::as_str) == Some("social_only")
}

/// Whether a diagnostic change creates a note reserved to the social field, makes a note so, or
/// touches a note that already is.
fn writes_social_only_note(
    conn: &Connection,
    change: &Change,
    note_id: Option<&str>,
) -> Result<bool, StoreError> {
    let creates = match change.field.as_str() {
        "add_note" | "set_note_visibility" => is_social_only(&change.value),
        "create" => change
            .value
            .get("notes")
            .and_then(serde_json::Value::as_array)
            .is_some_and(|notes| notes.iter().any(is_social_only)),
        _ => false,
    };
    if creates {
        return Ok(true);
    }
    let Some(note_id) = note_id else {
        return Ok(false);
    };
    Ok(conn
        .prepare_cached("SELECT social_only FROM notes WHERE note_id = ?1")?
        .query_row([note_id], |row| row.get::<_, bool>(0))
        .optional()?
        .unwrap_or(false))
}

/// Whether the person lets this structure's employment professionals see social notes.
fn shares_social_notes(
    conn: &Connection,
    person: Uuid,
    structure: Uuid,
) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT share_social_notes FROM follow_up
             WHERE person_id = ?1 AND structure_id = ?2 AND consent = 1",
        )?
        .query_row(params![person.to_string(), structure.to_string()], |row| {
            row.get::<_, bool>(0)
        })
        .optional()?
        .unwrap_or(false))
}

/// The ids of the notes a whole-diagnostic value (`create`) carries.
fn created_notes(value: &serde_json::Value) -> Vec<String> {
    value
        .get("notes")
        .and_then(serde_json::Value::as_array)
        .map(|notes| {
            notes
                .iter()
                .filter_map(|note| note.get("id").and_then(serde_json::Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// A note is social-only per its winning `set_note_visibility`, else per its `add_note`, else
/// per the diagnostic's `create` that carried it.
fn refresh_note(
    conn: &Connection,
    entity: &str,
    record_id: Uuid,
    note_id: &str,
) -> Result<(), StoreError> {
    let visibility = |register: String| -> Result<Option<bool>, StoreError> {
        let state = load_register(conn, entity, record_id, &register)?;
        Ok(state.winner().and_then(|w| {
            w.change
                .value
                .get("visibility")
                .and_then(serde_json::Value::as_str)
                .map(|v| v == "social_only")
        }))
    };
    let from_create = || -> Result<Option<bool>, StoreError> {
        let state = load_register(conn, entity, record_id, "create")?;
        Ok(state.winner().and_then(|w| {
            w.change
                .value
                .get("notes")
                .and_then(serde_json::Value::as_array)?
                .iter()
                .find(|note| note.get("id").and_then(serde_json::Value::as_str) == Some(note_id))
                .map(is_social_only)
        }))
    };
    let social_only = match visibility(format!("note/{note_id}/visibility"))? {
        Some(v) => Some(v),
        None => match visibility(format!("note/{note_id}"))? {
            Some(v) => Some(v),
            None => from_create()?,
        },
    };
    if let Some(social_only) = social_only {
        conn.prepare_cached(
            "INSERT INTO notes (note_id, social_only) VALUES (?1, ?2)
             ON CONFLICT (note_id) DO UPDATE SET social_only = ?2",
        )?
        .execute(params![note_id, social_only])?;
    }
    Ok(())
}

/// Drops notes reserved to the social field from a whole-diagnostic value (`create`).
fn redact_social_notes(change: &mut Change) {
    if change.entity != ENTITY_DIAGNOSTIC {
        return;
    }
    if let Some(notes) = change.value.get_mut("notes").and_then(|n| n.as_array_mut()) {
        notes.retain(|note| !is_social_only(note));
    }
}
