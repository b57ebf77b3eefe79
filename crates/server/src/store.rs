//! Everything the server does to its database, synchronously: the HTTP layer runs writes on its
//! writer thread (pushes grouped by [`Store::commit_group`]) and reads on reader connections
//! ([`Store::open_reader`]) on the blocking pool. The SQL is the shared dialect of
//! [`crate::db`], so the same code runs on SQLite and PostgreSQL.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use sha2::{Digest, Sha256};
use tandem_sync::{
    register_key, Change, Cursor, EnrolResponse, FollowUpRequest, Hlc, MutationResult, Outcome,
    PullResponse, RefusalReason, Versioned, ENTITY_DIAGNOSTIC, ENTITY_FOLLOWUP, ENTITY_PERSON,
};
use uuid::Uuid;

use crate::audit::{self, Action};
use crate::db::{self, Db, DbError, Row, Target};
use crate::ledger::{is_finalised, JournalRow, Ledger, OpenConflict, Planned};
use crate::{args, hex};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] DbError),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("malformed cursor")]
    BadCursor,
    #[error("the device's structure may not do this")]
    Forbidden,
    #[error("invalid: {0}")]
    Invalid(String),
    /// An enrolment code that is unknown, already used or expired.
    #[error("invalid enrolment code")]
    InvalidCode,
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("injected fault")]
    Fault,
    /// The group commit this request was part of failed as a whole: nothing of it was applied.
    #[error("group commit failed: {0}")]
    GroupFailed(String),
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

    pub fn as_str(self) -> &'static str {
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
    pub caseworkers: i64,
    pub devices: i64,
    pub revoked_devices: i64,
    pub persons: i64,
    pub changes: i64,
    pub open_conflicts: i64,
    pub audit_rows: i64,
    pub head_seq: i64,
}

/// One line of `admin status`'s device list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    pub id: Uuid,
    pub name: String,
    pub structure_id: Uuid,
    pub structure_name: String,
    /// `None` for a device registered with `admin device add` (no caseworker account).
    pub caseworker: Option<(Uuid, String)>,
    pub role: Role,
    pub revoked: bool,
}

/// A one-time enrolment code, as `admin enrolment add` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrolmentCode {
    /// `XXXX-XXXX-XXXX-XXXX`: shown once, only its hash is kept.
    pub code: String,
    pub expires_ms: i64,
}

/// What `admin person erase` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erasure {
    /// Journal entries purged.
    pub changes: u64,
    /// Structures whose devices will be told to remove the person.
    pub structures: u64,
}

/// Pull pages are capped so one request never holds a reader connection for long.
pub const MAX_PULL_LIMIT: u32 = 5_000;
pub const DEFAULT_PULL_LIMIT: u32 = 1_000;

/// Enrolment codes: 16 symbols of a 32-symbol alphabet (80 bits) without 0/O, 1/I, so a code
/// read aloud or copied from paper is typed right.
const CODE_ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
const CODE_LEN: usize = 16;
pub const DEFAULT_CODE_VALID_HOURS: i64 = 72;

/// The person field whose value `true` deletes the person (a tombstone).
pub const DELETED_FIELD: &str = tandem_sync::PERSON_DELETED_FIELD;

const CURSOR_FORMAT: u8 = 1;

pub struct Store {
    db: Db,
    /// Where it is: reader connections ([`Store::open_reader`]) open the same database.
    target: Target,
    fail_after: Option<usize>,
}

/// One push batch of a group commit ([`Store::commit_group`]).
#[derive(Debug, Clone)]
pub struct PushBatch {
    pub device: Device,
    pub changes: Vec<Change>,
    pub now_ms: i64,
}

/// A journal pull read by the writer in a group commit ([`Store::commit_group`]).
#[derive(Debug, Clone)]
pub struct GroupPull {
    pub device: Device,
    pub cursor: Option<Cursor>,
    pub limit: Option<u32>,
    pub now_ms: i64,
}

/// What a group commit answers: each push batch's results, each pull's page, in their order.
#[derive(Debug)]
pub struct GroupOutcome {
    pub pushes: Vec<Result<Vec<MutationResult>, StoreError>>,
    pub pulls: Vec<Result<PullResponse, StoreError>>,
}

/// What a journal page depends on: the structure, the role, the cursor and the limit.
type PageKey = (Uuid, bool, Option<Cursor>, Option<u32>);

/// Journal pages that pulls read in one snapshot share. Laptops of one structure that synced
/// to the same head (all of them, after a night without changes) ask for the same page: it is
/// read once and copied to the others. Each pull still gets its own audit rows and server
/// time; roles never share (social notes).
pub(crate) struct SharedPages {
    asked: HashMap<PageKey, usize>,
    pages: HashMap<PageKey, (PullResponse, BTreeSet<String>)>,
}

impl SharedPages {
    /// For the pulls of one snapshot, by device, cursor and limit.
    pub(crate) fn new<'a>(
        pulls: impl Iterator<Item = (&'a Device, &'a Option<Cursor>, Option<u32>)>,
    ) -> Self {
        let mut asked = HashMap::new();
        for (device, cursor, limit) in pulls {
            *asked.entry(Self::key(device, cursor, limit)).or_insert(0) += 1;
        }
        SharedPages {
            asked,
            pages: HashMap::new(),
        }
    }

    pub(crate) fn key(device: &Device, cursor: &Option<Cursor>, limit: Option<u32>) -> PageKey {
        (
            device.structure_id,
            device.role == Role::Social,
            cursor.clone(),
            limit,
        )
    }

    /// The page already read for this key, if any.
    pub(crate) fn get(&self, key: &PageKey) -> Option<(PullResponse, BTreeSet<String>)> {
        self.pages
            .get(key)
            .map(|(page, read)| (page.clone(), read.clone()))
    }

    /// Keeps a page just read, when another pull of the snapshot asks for it.
    pub(crate) fn keep(&mut self, key: PageKey, page: &PullResponse, read: &BTreeSet<String>) {
        if self.asked.get(&key).is_some_and(|n| *n > 1) && !self.pages.contains_key(&key) {
            self.pages.insert(key, (page.clone(), read.clone()));
        }
    }
}

pub(crate) fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// A device from the columns `id, structure_id, role, revoked` of `devices`, from `at` on.
fn device_at(row: &Row, at: usize) -> Result<Device, StoreError> {
    Ok(Device {
        id: row.uuid(at)?,
        structure_id: row.uuid(at + 1)?,
        role: parse_role(&row.text(at + 2)?)?,
        revoked: row.bool(at + 3)?,
    })
}

/// Upper case, without the separators and spaces people type.
fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

fn new_code() -> String {
    let mut bytes = [0u8; CODE_LEN];
    rand::fill(&mut bytes);
    // 256 is a multiple of 32: every symbol is equally likely.
    let symbols: Vec<char> = bytes
        .iter()
        .map(|b| CODE_ALPHABET[usize::from(*b) % CODE_ALPHABET.len()] as char)
        .collect();
    symbols
        .chunks(4)
        .map(|group| group.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

fn new_token() -> String {
    let mut secret = [0u8; 32];
    rand::fill(&mut secret);
    Cursor::from_bytes(&secret).0
}

pub(crate) fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn parse_role(raw: &str) -> Result<Role, StoreError> {
    Role::parse(raw).ok_or_else(|| StoreError::Corrupt(format!("role {raw}")))
}

/// A journal row (`seq, mutation_id, entity, record_id, person_id, field, value, base_version,
/// hlc_wall, hlc_counter, hlc_node, device_id` from column `at` on) as a versioned change.
pub(crate) fn versioned_at(row: &Row, at: usize) -> Result<Versioned, StoreError> {
    let mut versioned = versioned_at_raw(row, at)?;
    versioned.change.value = serde_json::from_str(row.str(at + 6)?).map_err(corrupt)?;
    Ok(versioned)
}

/// The same, with the value left `null` (a snapshot parses only the values of heads).
pub(crate) fn versioned_at_raw(row: &Row, at: usize) -> Result<Versioned, StoreError> {
    Ok(Versioned {
        version: row.int(at)? as u64,
        change: Change {
            mutation_id: row.uuid(at + 1)?,
            entity: row.text(at + 2)?,
            record_id: row.uuid(at + 3)?,
            person_id: row.uuid(at + 4)?,
            field: row.text(at + 5)?,
            value: serde_json::Value::Null,
            base_version: row.opt_int(at + 7)?.map(|v| v as u64),
            hlc: Hlc {
                wall_ms: row.int(at + 8)? as u64,
                counter: row.int(at + 9)? as u32,
                node: row.uuid(at + 10)?,
            },
            device_id: row.uuid(at + 11)?,
        },
    })
}

pub(crate) const JOURNAL_COLUMNS: &str =
    "c.seq, c.mutation_id, c.entity, c.record_id, c.person_id, \
     c.field, c.value, c.base_version, c.hlc_wall, c.hlc_counter, c.hlc_node, c.device_id";

impl Store {
    /// The embedded SQLite database in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        Store::open_target(&Target::Sqlite(data_dir.to_path_buf()))
    }

    /// A PostgreSQL database, by URL. Blocks: call it outside async code (or on the blocking
    /// pool).
    pub fn open_postgres(url: &str) -> Result<Store, StoreError> {
        Store::open_target(&Target::Postgres(url.to_string()))
    }

    pub fn open_target(target: &Target) -> Result<Store, StoreError> {
        Ok(Store {
            db: Db::open(target)?,
            target: target.clone(),
            fail_after: None,
        })
    }

    /// A connection for reads beside the writer ([`Store::read_pull`], [`Store::authenticate`],
    /// listings) on a database the writer already opened. Writing through it fails.
    pub fn open_reader(target: &Target) -> Result<Store, StoreError> {
        Ok(Store {
            db: Db::open_reader(target)?,
            target: target.clone(),
            fail_after: None,
        })
    }

    /// Where this store's database is.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The journal's head: the last commit sequence number handed out.
    pub fn head(&mut self) -> Result<i64, StoreError> {
        Ok(db::head_seq(&mut self.db)?)
    }

    /// Where in the journal a journal pull's cursor stands (`None` for a cursor this server
    /// did not make).
    pub fn cursor_seq(cursor: &Cursor) -> Option<i64> {
        decode_cursor(cursor).map(|(seq, _)| seq)
    }

    /// Which engine the store runs on ("SQLite" or "PostgreSQL").
    pub fn engine(&self) -> &'static str {
        self.db.engine()
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
        self.db.execute(
            "INSERT INTO structures (id, name, kind, created_ms) VALUES (?1, ?2, ?3, ?4)",
            args![id, name, kind, now_ms],
        )?;
        Ok(id)
    }

    fn structure_exists(db: &mut Db, id: Uuid) -> Result<bool, StoreError> {
        Ok(db
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM structures WHERE id = ?1)",
                args![id],
            )?
            .bool(0)?)
    }

    /// Creates a caseworker's account in a structure; devices enrolled with its codes act for
    /// it.
    pub fn add_caseworker(
        &mut self,
        structure_id: Uuid,
        name: &str,
        role: Role,
        now_ms: i64,
    ) -> Result<Uuid, StoreError> {
        if name.trim().is_empty() {
            return Err(StoreError::Invalid("nom vide".into()));
        }
        if !Store::structure_exists(&mut self.db, structure_id)? {
            return Err(StoreError::NotFound("structure"));
        }
        let id = Uuid::now_v7();
        self.db.execute(
            "INSERT INTO caseworkers (id, structure_id, name, role, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            args![id, structure_id, name.trim(), role.as_str(), now_ms],
        )?;
        Ok(id)
    }

    /// Issues a one-time enrolment code for a caseworker, valid `valid_hours`. Only its hash
    /// is kept: the code is shown once.
    pub fn add_enrolment_code(
        &mut self,
        caseworker_id: Uuid,
        valid_hours: i64,
        now_ms: i64,
    ) -> Result<EnrolmentCode, StoreError> {
        if !(1..=24 * 31).contains(&valid_hours) {
            return Err(StoreError::Invalid(
                "durée de validité entre 1 et 744 heures".into(),
            ));
        }
        let exists = self
            .db
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM caseworkers WHERE id = ?1)",
                args![caseworker_id],
            )?
            .bool(0)?;
        if !exists {
            return Err(StoreError::NotFound("caseworker"));
        }
        let code = new_code();
        let expires_ms = now_ms + valid_hours * 3_600_000;
        self.db.execute(
            "INSERT INTO enrolment_codes (code_hash, caseworker_id, created_ms, expires_ms)
             VALUES (?1, ?2, ?3, ?4)",
            args![
                token_hash(&normalise_code(&code)),
                caseworker_id,
                now_ms,
                expires_ms
            ],
        )?;
        Ok(EnrolmentCode { code, expires_ms })
    }

    /// Trades a one-time code for a device credential. The code is spent in the same (writer-
    /// serialised) transaction that registers the device, so it never works twice.
    pub fn enrol(
        &mut self,
        code: &str,
        device_name: &str,
        now_ms: i64,
    ) -> Result<EnrolResponse, StoreError> {
        let device_name = device_name.trim();
        if device_name.is_empty() || device_name.chars().count() > 200 {
            return Err(StoreError::Invalid(
                "le nom de l'appareil doit compter de 1 à 200 caractères".into(),
            ));
        }
        let code_hash = token_hash(&normalise_code(code));
        let mut tx = self.db.write_tx()?;
        let row = tx.query_opt(
            "SELECT c.id, c.structure_id, s.name, c.name, c.role
             FROM enrolment_codes e
             JOIN caseworkers c ON c.id = e.caseworker_id
             JOIN structures s ON s.id = c.structure_id
             WHERE e.code_hash = ?1 AND e.used_ms IS NULL AND e.expires_ms > ?2",
            args![code_hash.clone(), now_ms],
        )?;
        let Some(row) = row else {
            return Err(StoreError::InvalidCode);
        };
        let (caseworker_id, structure_id) = (row.uuid(0)?, row.uuid(1)?);
        let (structure_name, caseworker_name) = (row.text(2)?, row.text(3)?);
        let role = parse_role(&row.text(4)?)?;
        let device_id = Uuid::now_v7();
        let token = new_token();
        let spent = tx.execute(
            "UPDATE enrolment_codes SET used_ms = ?2, device_id = ?3
             WHERE code_hash = ?1 AND used_ms IS NULL",
            args![code_hash, now_ms, device_id],
        )?;
        if spent != 1 {
            return Err(StoreError::InvalidCode);
        }
        tx.execute(
            "INSERT INTO devices (id, structure_id, name, role, token_hash, created_ms,
                                  caseworker_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            args![
                device_id,
                structure_id,
                device_name,
                role.as_str(),
                token_hash(&token),
                now_ms,
                caseworker_id
            ],
        )?;
        audit::append(
            &mut tx,
            now_ms,
            device_id,
            Action::Write,
            &format!("device:{device_id}"),
        )?;
        tx.commit()?;
        Ok(EnrolResponse {
            device_id,
            token,
            structure_id,
            structure_name,
            caseworker_name,
            role: role.as_str().to_string(),
            server_time_ms: now_ms as u64,
        })
    }

    /// Registers a device without a caseworker account (tests, tools) and returns its id and
    /// bearer token. Only the token's hash is kept: the token is shown once.
    pub fn add_device(
        &mut self,
        structure_id: Uuid,
        name: &str,
        role: Role,
        now_ms: i64,
    ) -> Result<(Uuid, String), StoreError> {
        if !Store::structure_exists(&mut self.db, structure_id)? {
            return Err(StoreError::NotFound("structure"));
        }
        let token = new_token();
        let id = Uuid::now_v7();
        self.db.execute(
            "INSERT INTO devices (id, structure_id, name, role, token_hash, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            args![
                id,
                structure_id,
                name,
                role.as_str(),
                token_hash(&token),
                now_ms
            ],
        )?;
        Ok((id, token))
    }

    pub fn revoke_device(&mut self, id: Uuid) -> Result<(), StoreError> {
        let n = self
            .db
            .execute("UPDATE devices SET revoked = 1 WHERE id = ?1", args![id])?;
        if n == 0 {
            return Err(StoreError::NotFound("device"));
        }
        Ok(())
    }

    pub fn authenticate(&mut self, token: &str) -> Result<Option<Device>, StoreError> {
        let row = self.db.query_opt(
            "SELECT id, structure_id, role, revoked FROM devices WHERE token_hash = ?1",
            args![token_hash(token)],
        )?;
        row.map(|row| device_at(&row, 0)).transpose()
    }

    /// The devices of several tokens, in one statement per 32 tokens (the writer checks a
    /// group's pushes together: one round trip on PostgreSQL, not one per push). The answer
    /// is in the tokens' order, `None` for an unknown token.
    pub fn authenticate_many(
        &mut self,
        tokens: &[&str],
    ) -> Result<Vec<Option<Device>>, StoreError> {
        const CHUNK: usize = 32;
        let placeholders: Vec<String> = (1..=CHUNK).map(|i| format!("?{i}")).collect();
        let sql = format!(
            "SELECT token_hash, id, structure_id, role, revoked FROM devices
             WHERE token_hash IN ({})",
            placeholders.join(", ")
        );
        let hashes: Vec<String> = tokens.iter().map(|t| token_hash(t)).collect();
        let mut found = std::collections::HashMap::with_capacity(hashes.len());
        for chunk in hashes.chunks(CHUNK) {
            // Always 32 parameters (the last repeated): one statement to prepare, not one per size.
            let params: Vec<db::Value> = (0..CHUNK)
                .map(|i| db::Value::from(&chunk[i.min(chunk.len() - 1)]))
                .collect();
            for row in self.db.query(&sql, &params)? {
                found.insert(row.text(0)?, device_at(&row, 1)?);
            }
        }
        Ok(hashes.iter().map(|h| found.get(h).cloned()).collect())
    }

    /// Applies a batch in one transaction: every change is journalled, refused, or found to be
    /// a replay, and the audit rows are written with it. Any error leaves nothing applied.
    pub fn push(
        &mut self,
        device: &Device,
        changes: &[Change],
        now_ms: i64,
    ) -> Result<Vec<MutationResult>, StoreError> {
        let fail_after = self.fail_after;
        let mut tx = self.db.write_tx()?;
        let (results, written) = apply_batch(&mut *tx, device, changes, now_ms, fail_after)?;
        audit::append_many(&mut tx, &written)?;
        tx.commit()?;
        Ok(results)
    }

    /// Group commit: applies the push batches in order in one write transaction (one fsync for
    /// all), each still all-or-nothing on its own (a savepoint on SQLite; on PostgreSQL the
    /// group is planned whole, each batch a layer kept or dropped, see `ledger`), then reads the
    /// pulls' pages (after every push of the group), appends the pushes' write rows, the pulls'
    /// read rows and the given read rows to the audit chain, and commits. The journal is
    /// exactly what pushing the batches one by one, in this order, would have made. Returns
    /// each batch's results or error and each pull's page or error; an error of the whole (the
    /// commit failed) leaves nothing of the group applied, reads included.
    pub fn commit_group(
        &mut self,
        batches: &[PushBatch],
        pulls: &[GroupPull],
        reads: Vec<audit::Entry>,
    ) -> Result<GroupOutcome, StoreError> {
        let fail_after = self.fail_after;
        let mut tx = self.db.write_tx()?;
        // PostgreSQL: every statement is a round trip to the serial writer, so the group's
        // batches are planned together (see `ledger`); SQLite applies them statement by
        // statement, each in a savepoint.
        let planned = matches!(*tx, Db::Postgres(_));
        if let ([batch], [], true, false) = (batches, pulls, reads.is_empty(), planned) {
            // Alone: the transaction itself is the batch's all-or-nothing.
            let applied = apply_batch(
                &mut *tx,
                &batch.device,
                &batch.changes,
                batch.now_ms,
                fail_after,
            );
            let (results, written) = match applied {
                Ok(applied) => applied,
                Err(e) => {
                    return Ok(GroupOutcome {
                        pushes: vec![Err(e)],
                        pulls: Vec::new(),
                    })
                }
            };
            audit::append_many(&mut tx, &written)?;
            tx.commit()?;
            return Ok(GroupOutcome {
                pushes: vec![Ok(results)],
                pulls: Vec::new(),
            });
        }
        let mut entries = Vec::new();
        let mut pushes = Vec::with_capacity(batches.len());
        if planned {
            let mut ledger = Planned::new(&mut tx, batches)?;
            for batch in batches {
                ledger.begin();
                let applied = apply_batch(
                    &mut ledger,
                    &batch.device,
                    &batch.changes,
                    batch.now_ms,
                    fail_after,
                );
                match &applied {
                    Ok(_) => ledger.keep(),
                    Err(_) => ledger.discard(),
                }
                pushes.push(applied.map(|(results, written)| {
                    entries.extend(written);
                    results
                }));
            }
            ledger.flush()?;
        } else {
            for batch in batches {
                let applied = tx.savepoint(|db| {
                    apply_batch(db, &batch.device, &batch.changes, batch.now_ms, fail_after)
                })?;
                pushes.push(applied.map(|(results, written)| {
                    entries.extend(written);
                    results
                }));
            }
        }
        let mut pages = Vec::with_capacity(pulls.len());
        let mut shared = SharedPages::new(pulls.iter().map(|p| (&p.device, &p.cursor, p.limit)));
        for pull in pulls {
            let key = SharedPages::key(&pull.device, &pull.cursor, pull.limit);
            let read = match shared.get(&key) {
                Some(page) => Ok(page),
                // In a savepoint: on PostgreSQL a failed statement would abort the whole group.
                None => tx.savepoint(|db| {
                    Store::pull_page(
                        db,
                        &pull.device,
                        pull.cursor.as_ref(),
                        pull.limit,
                        pull.now_ms,
                    )
                })?,
            };
            pages.push(read.map(|(mut page, read)| {
                shared.keep(key, &page, &read);
                entries.extend(read_entries(&pull.device, pull.now_ms, read));
                page.server_time_ms = pull.now_ms as u64;
                page
            }));
        }
        entries.extend(reads);
        audit::append_many(&mut tx, &entries)?;
        tx.commit()?;
        Ok(GroupOutcome {
            pushes,
            pulls: pages,
        })
    }

    /// One page of the device's scope after `cursor`, with the audit rows of what it reads,
    /// in one write transaction (the server itself reads on its own connections, see
    /// [`Store::read_pull`]).
    pub fn pull(
        &mut self,
        device: &Device,
        cursor: Option<&Cursor>,
        limit: Option<u32>,
        now_ms: i64,
    ) -> Result<PullResponse, StoreError> {
        // A write transaction: the audit rows of this page commit with the page's snapshot.
        let mut tx = self.db.write_tx()?;
        let (page, read) = Store::pull_page(&mut tx, device, cursor, limit, now_ms)?;
        audit::append_many(&mut tx, &read_entries(device, now_ms, read))?;
        tx.commit()?;
        Ok(page)
    }

    /// One page of the device's scope after `cursor`, and the records it reads (to audit). Run it
    /// in one transaction: every statement must see the same snapshot.
    pub(crate) fn pull_page(
        db: &mut Db,
        device: &Device,
        cursor: Option<&Cursor>,
        limit: Option<u32>,
        now_ms: i64,
    ) -> Result<(PullResponse, BTreeSet<String>), StoreError> {
        let (after_e, after_s) = match cursor {
            None => (0, 0),
            Some(c) => decode_cursor(c).ok_or(StoreError::BadCursor)?,
        };
        let limit = limit.unwrap_or(DEFAULT_PULL_LIMIT).clamp(1, MAX_PULL_LIMIT);
        let social = device.role == Role::Social;
        // e = max(seq, granted_seq), spelt as a CASE that both engines accept. Two halves:
        // - persons granted before the cursor (or with no grant recorded): e = seq, so the page
        //   is the journal after the cursor. Read either through the journal's own order (the
        //   territory's changes since the cursor, each checked against the scope) or through
        //   the scope (one probe of the journal per person followed), whichever is shorter:
        //   SQLite's planner cannot tell (the range is a parameter) and took the scope, so an
        //   incremental pull in a 10,000-person scope made 10,000 probes for 50 changes; the
        //   journal order for a small structure's pull in a busy territory reads everybody's.
        //   `CROSS JOIN` makes SQLite read `changes` first; PostgreSQL plans both by cost.
        // - persons granted at or after the cursor: their whole journal, at e = their grant.
        // The head, the scope's size and whether anybody was granted since the cursor, in one
        // statement (one round trip on PostgreSQL). Without grants, the second half is left
        // out: planning the union cost PostgreSQL 1.4 ms a pull, more than running it.
        let counts = db.query_one(
            "SELECT (SELECT value FROM meta WHERE key = 'seq'),
                    (SELECT count(*) FROM follow_up WHERE structure_id = ?1),
                    EXISTS (SELECT 1 FROM follow_up WHERE structure_id = ?1 AND consent = 1
                            AND granted_seq >= CAST(?2 AS BIGINT))",
            args![device.structure_id, after_e],
        )?;
        let (head, scope, granted) = (counts.int(0)?, counts.int(1)?, counts.bool(2)?);
        let follow_up = if head - after_e < scope {
            "CROSS JOIN follow_up f"
        } else {
            "JOIN follow_up f ON f.person_id = c.person_id"
        };
        let social_filter =
            "(?4 = 1 OR f.share_social_notes = 1 OR coalesce(n.social_only, 0) = 0)";
        let journal = format!(
            "SELECT c.seq AS e, (?4 = 1 OR f.share_social_notes = 1) AS may_read_social,
                    {JOURNAL_COLUMNS}
             FROM changes c
             {follow_up}
             LEFT JOIN notes n ON n.note_id = c.note_id
             WHERE f.person_id = c.person_id AND f.structure_id = ?1 AND f.consent = 1
               AND coalesce(f.granted_seq, -1) < CAST(?2 AS BIGINT)
               AND c.seq >= CAST(?2 AS BIGINT)
               AND (c.seq, c.seq) > (CAST(?2 AS BIGINT), CAST(?3 AS BIGINT))
               AND {social_filter}
             ORDER BY c.seq
             LIMIT ?5"
        );
        let sql = if !granted {
            journal
        } else {
            format!(
                "SELECT * FROM ({journal}) AS journal
             UNION ALL
             SELECT * FROM (
                 SELECT CASE WHEN f.granted_seq > c.seq THEN f.granted_seq ELSE c.seq END AS e,
                        (?4 = 1 OR f.share_social_notes = 1) AS may_read_social,
                        {JOURNAL_COLUMNS}
                 FROM follow_up f
                 JOIN changes c ON c.person_id = f.person_id
                 LEFT JOIN notes n ON n.note_id = c.note_id
                 WHERE f.structure_id = ?1 AND f.consent = 1
                   AND f.granted_seq >= CAST(?2 AS BIGINT)
                   AND (CASE WHEN f.granted_seq > c.seq THEN f.granted_seq ELSE c.seq END, c.seq)
                       > (CAST(?2 AS BIGINT), CAST(?3 AS BIGINT))
                   AND {social_filter}
                 ORDER BY e, c.seq
                 LIMIT ?5) AS granted
             ORDER BY e, seq
             LIMIT ?5"
            )
        };
        let found = db.query(
            &sql,
            args![
                device.structure_id,
                after_e,
                after_s,
                social,
                i64::from(limit) + 1
            ],
        )?;
        let has_more = found.len() > limit as usize;
        let mut changes = Vec::with_capacity(found.len().min(limit as usize));
        let mut last_e = after_e;
        for row in found.iter().take(limit as usize) {
            let mut versioned = versioned_at(row, 2)?;
            if !row.bool(1)? {
                redact_social_notes(&mut versioned.change);
            }
            last_e = row.int(0)?;
            changes.push(versioned);
        }
        // Where this page ends. A full drain ends at the head: everything up to it was seen.
        let (end_e, end_s) = match (has_more, changes.last()) {
            (true, Some(v)) => (last_e, v.version as i64),
            _ => (head.max(after_e), i64::MAX),
        };
        // Persons whose follow-up row for this structure changed, or who were erased.
        let removals: Vec<Uuid> = db
            .query(
                "SELECT person_id FROM follow_up
                 WHERE structure_id = ?1 AND revoked_seq > ?2 AND revoked_seq <= ?3
                 UNION
                 SELECT person_id FROM erasures
                 WHERE structure_id = ?1 AND seq > ?2 AND seq <= ?3
                 ORDER BY person_id",
                args![device.structure_id, after_e, end_e],
            )?
            .iter()
            .map(|row| row.uuid(0))
            .collect::<Result<_, _>>()?;
        // Each person once (ids sort as their text does: the same order as before).
        let persons: BTreeSet<Uuid> = changes.iter().map(|v| v.change.person_id).collect();
        let read: BTreeSet<String> = persons.iter().map(|p| format!("person:{p}")).collect();
        Ok((
            PullResponse {
                snapshot: None,
                removals,
                changes,
                cursor: encode_cursor(end_e, end_s),
                has_more,
                server_time_ms: now_ms as u64,
            },
            read,
        ))
    }

    /// Puts a structure in a person's follow-up group or changes its consent flags. Only a
    /// device whose structure already has access may do it.
    pub fn follow_up(
        &mut self,
        device: &Device,
        request: &FollowUpRequest,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.set_follow_up(Some(device), request, now_ms)
    }

    /// The structures that see a person's file with their consent, for a device of one of them.
    /// Who follows a person is personal data: the read is audited.
    pub fn follow_up_of(
        &mut self,
        device: &Device,
        person: Uuid,
        now_ms: i64,
    ) -> Result<Vec<tandem_sync::FollowUpEntry>, StoreError> {
        let mut tx = self.db.write_tx()?;
        let entries = follow_up_entries(&mut tx, device, person)?;
        audit::append_many(&mut tx, &[follow_up_read(device, person, now_ms)])?;
        tx.commit()?;
        Ok(entries)
    }

    /// The same list, read in a read-only snapshot, and the audit row it calls for (the caller
    /// has it appended before the list leaves the server).
    pub fn read_follow_up_of(
        &mut self,
        device: &Device,
        person: Uuid,
        now_ms: i64,
    ) -> Result<(Vec<tandem_sync::FollowUpEntry>, audit::Entry), StoreError> {
        let mut tx = self.db.read_tx()?;
        let entries = follow_up_entries(&mut tx, device, person)?;
        tx.commit()?;
        Ok((entries, follow_up_read(device, person, now_ms)))
    }

    /// `admin follow-up`: the territory's administrator records a person's consent (collected on
    /// paper, say) without a device of a structure that follows them. Audited under the nil id.
    pub fn admin_follow_up(
        &mut self,
        request: &FollowUpRequest,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.set_follow_up(None, request, now_ms)
    }

    fn set_follow_up(
        &mut self,
        device: Option<&Device>,
        request: &FollowUpRequest,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.db.write_tx()?;
        match device {
            Some(device) => {
                if !has_access(&mut tx, request.person_id, device.structure_id)? {
                    return Err(StoreError::Forbidden);
                }
            }
            None => {
                if tx
                    .query_opt(
                        "SELECT 1 FROM persons WHERE id = ?1",
                        args![request.person_id],
                    )?
                    .is_none()
                {
                    return Err(StoreError::NotFound("person"));
                }
            }
        }
        if !Store::structure_exists(&mut tx, request.structure_id)? {
            return Err(StoreError::NotFound("structure"));
        }
        let (person, structure) = (request.person_id, request.structure_id);
        let before = match tx.query_opt(
            "SELECT consent, share_social_notes FROM follow_up
             WHERE person_id = ?1 AND structure_id = ?2",
            args![person, structure],
        )? {
            Some(row) => Some((row.bool(0)?, row.bool(1)?)),
            None => None,
        };
        let after = (request.consent, request.share_social_notes);
        if before == Some(after) {
            tx.commit()?;
            return Ok(());
        }
        let seq = db::next_seq(&mut tx)?;
        // Any change of what a structure may see is a removal followed by a fresh grant of
        // everything it may now see: laptops never keep what they may no longer read.
        let had_access = before.is_some_and(|(consent, _)| consent);
        tx.execute(
            "INSERT INTO follow_up (person_id, structure_id, consent, share_social_notes,
                                    granted_seq, revoked_seq)
             VALUES (?1, ?2, ?3, ?4, CASE WHEN CAST(?3 AS BIGINT) = 1 THEN CAST(?5 AS BIGINT) END,
                     NULL)
             ON CONFLICT (person_id, structure_id) DO UPDATE SET
                 consent = excluded.consent,
                 share_social_notes = excluded.share_social_notes,
                 granted_seq = CASE WHEN excluded.consent = 1 THEN CAST(?5 AS BIGINT)
                                    ELSE follow_up.granted_seq END,
                 revoked_seq = CASE WHEN CAST(?6 AS BIGINT) = 1 THEN CAST(?5 AS BIGINT)
                                    ELSE follow_up.revoked_seq END",
            args![
                person,
                structure,
                request.consent,
                request.share_social_notes,
                seq,
                had_access
            ],
        )?;
        audit::append(
            &mut tx,
            now_ms,
            device.map_or(Uuid::nil(), |d| d.id),
            Action::Write,
            &format!("follow_up:{person}"),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// GDPR erasure: purges the person's journal, conflicts, notes' visibility and follow-up
    /// rows, keeps the audit rows (they name records, hold no personal data) and the bare id
    /// (so late changes of the person are refused, never resurrect it), and makes every
    /// structure that had a follow-up row list the person in its next pull's `removals`.
    pub fn erase_person(&mut self, person: Uuid, now_ms: i64) -> Result<Erasure, StoreError> {
        let mut tx = self.db.write_tx()?;
        let Some(row) = tx.query_opt(
            "SELECT erased_seq FROM persons WHERE id = ?1",
            args![person],
        )?
        else {
            return Err(StoreError::NotFound("person"));
        };
        if row.opt_int(0)?.is_some() {
            tx.commit()?;
            return Ok(Erasure {
                changes: 0,
                structures: 0,
            });
        }
        let seq = db::next_seq(&mut tx)?;
        let structures = tx.execute(
            "INSERT INTO erasures (person_id, structure_id, seq)
             SELECT person_id, structure_id, CAST(?2 AS BIGINT) FROM follow_up
             WHERE person_id = ?1",
            args![person, seq],
        )?;
        // The notes' visibility rows: by the notes the journal names, and those `create`s carry.
        let mut notes = BTreeSet::new();
        for row in tx.query(
            "SELECT note_id, field, value FROM changes WHERE person_id = ?1 AND entity = ?2",
            args![person, ENTITY_DIAGNOSTIC],
        )? {
            if let Some(note) = row.opt_text(0)? {
                notes.insert(note);
            }
            if row.text(1)? == "create" {
                let value: serde_json::Value =
                    serde_json::from_str(&row.text(2)?).map_err(corrupt)?;
                notes.extend(created_notes(&value));
            }
        }
        for note in &notes {
            tx.execute("DELETE FROM notes WHERE note_id = ?1", args![note])?;
        }
        tx.execute("DELETE FROM conflicts WHERE person_id = ?1", args![person])?;
        let changes = tx.execute("DELETE FROM changes WHERE person_id = ?1", args![person])?;
        tx.execute("DELETE FROM records WHERE person_id = ?1", args![person])?;
        tx.execute("DELETE FROM follow_up WHERE person_id = ?1", args![person])?;
        tx.execute(
            "UPDATE persons SET erased_seq = ?2 WHERE id = ?1",
            args![person, seq],
        )?;
        audit::append(
            &mut tx,
            now_ms,
            audit::ADMIN,
            Action::Write,
            &format!("erasure:{person}"),
        )?;
        tx.commit()?;
        Ok(Erasure {
            changes,
            structures,
        })
    }

    pub fn status(&mut self) -> Result<Status, StoreError> {
        let db = &mut self.db;
        let mut count =
            |sql: &str| -> Result<i64, StoreError> { Ok(db.query_one(sql, &[])?.int(0)?) };
        Ok(Status {
            structures: count("SELECT count(*) FROM structures")?,
            caseworkers: count("SELECT count(*) FROM caseworkers")?,
            devices: count("SELECT count(*) FROM devices")?,
            revoked_devices: count("SELECT count(*) FROM devices WHERE revoked = 1")?,
            persons: count(
                "SELECT count(*) FROM persons WHERE deleted_seq IS NULL AND erased_seq IS NULL",
            )?,
            changes: count("SELECT count(*) FROM changes")?,
            open_conflicts: count("SELECT count(*) FROM conflicts WHERE closed_seq IS NULL")?,
            audit_rows: count("SELECT count(*) FROM audit")?,
            head_seq: db::head_seq(db)?,
        })
    }

    /// Every device, with its structure and caseworker, oldest first.
    /// The territory's structures, by name.
    pub fn structures(&mut self) -> Result<Vec<tandem_sync::StructureInfo>, StoreError> {
        self.db
            .query(
                "SELECT id, name, kind FROM structures ORDER BY name, id",
                &[],
            )?
            .iter()
            .map(|row| {
                Ok(tandem_sync::StructureInfo {
                    id: row.uuid(0)?,
                    name: row.text(1)?,
                    kind: row.text(2)?,
                })
            })
            .collect()
    }

    /// Who the given devices act for (their caseworker, or their own name, and structure), for
    /// naming the author of a change; unknown ids are left out.
    pub fn authors(&mut self, ids: &[Uuid]) -> Result<Vec<tandem_sync::AuthorInfo>, StoreError> {
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            let row = self.db.query_opt(
                "SELECT COALESCE(c.name, d.name), s.name
                 FROM devices d
                 JOIN structures s ON s.id = d.structure_id
                 LEFT JOIN caseworkers c ON c.id = d.caseworker_id
                 WHERE d.id = ?1",
                args![*id],
            )?;
            if let Some(row) = row {
                found.push(tandem_sync::AuthorInfo {
                    device_id: *id,
                    name: row.text(0)?,
                    structure: row.text(1)?,
                });
            }
        }
        Ok(found)
    }

    pub fn devices(&mut self) -> Result<Vec<DeviceInfo>, StoreError> {
        self.db
            .query(
                "SELECT d.id, d.name, s.id, s.name, c.id, c.name, d.role, d.revoked
                 FROM devices d
                 JOIN structures s ON s.id = d.structure_id
                 LEFT JOIN caseworkers c ON c.id = d.caseworker_id
                 ORDER BY d.created_ms, d.id",
                &[],
            )?
            .iter()
            .map(|row| {
                let caseworker = match row.opt_uuid(4)? {
                    Some(id) => Some((id, row.text(5)?)),
                    None => None,
                };
                Ok(DeviceInfo {
                    id: row.uuid(0)?,
                    name: row.text(1)?,
                    structure_id: row.uuid(2)?,
                    structure_name: row.text(3)?,
                    caseworker,
                    role: parse_role(&row.text(6)?)?,
                    revoked: row.bool(7)?,
                })
            })
            .collect()
    }

    pub fn verify_audit(&mut self) -> Result<audit::Verdict, StoreError> {
        Ok(audit::verify(&mut self.db)?)
    }

    /// Raw access to the connection, for tests that inspect or tamper with the stored rows
    /// the way someone holding the database would.
    #[doc(hidden)]
    pub fn db_mut(&mut self) -> &mut Db {
        &mut self.db
    }
}

fn follow_up_read(device: &Device, person: Uuid, now_ms: i64) -> audit::Entry {
    audit::Entry {
        at_ms: now_ms,
        device: device.id,
        action: Action::Read,
        record: format!("follow_up:{person}"),
    }
}

/// Who follows `person` with consent, if the device's structure does (else `Forbidden`).
fn follow_up_entries(
    db: &mut Db,
    device: &Device,
    person: Uuid,
) -> Result<Vec<tandem_sync::FollowUpEntry>, StoreError> {
    if !has_access(db, person, device.structure_id)? {
        return Err(StoreError::Forbidden);
    }
    db.query(
        "SELECT s.id, s.name, f.share_social_notes FROM follow_up f
         JOIN structures s ON s.id = f.structure_id
         WHERE f.person_id = ?1 AND f.consent = 1
         ORDER BY s.name, s.id",
        args![person],
    )?
    .iter()
    .map(|row| {
        Ok(tandem_sync::FollowUpEntry {
            structure_id: row.uuid(0)?,
            structure_name: row.text(1)?,
            share_social_notes: row.bool(2)?,
        })
    })
    .collect()
}

/// The audit rows of a device's read of these records.
pub(crate) fn read_entries(
    device: &Device,
    now_ms: i64,
    records: BTreeSet<String>,
) -> Vec<audit::Entry> {
    records
        .into_iter()
        .map(|record| audit::Entry {
            at_ms: now_ms,
            device: device.id,
            action: Action::Read,
            record,
        })
        .collect()
}

pub(crate) fn encode_cursor(e: i64, s: i64) -> Cursor {
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

/// Applies a push batch through the ledger (in the caller's transaction); returns the results
/// and the audit rows of what it wrote. On error the caller undoes it (the transaction, a
/// savepoint, or the batch's layer of a [`Planned`] group).
fn apply_batch(
    ledger: &mut impl Ledger,
    device: &Device,
    changes: &[Change],
    now_ms: i64,
    fail_after: Option<usize>,
) -> Result<(Vec<MutationResult>, Vec<audit::Entry>), StoreError> {
    let mut results = Vec::with_capacity(changes.len());
    let mut written = BTreeSet::new();
    // Sequence numbers are taken from the counter once per batch and stored back once, inside
    // the writer's transaction: the same numbers, in the same order, as one `next_seq` each.
    let head = ledger.head()?;
    let mut last_seq = head;
    for (i, change) in changes.iter().enumerate() {
        if fail_after == Some(i) {
            return Err(StoreError::Fault);
        }
        let outcome = apply_change(ledger, device, change, now_ms, &mut last_seq)?;
        if matches!(outcome, Outcome::Applied { .. } | Outcome::Conflict { .. }) {
            written.insert(format!("{}:{}", change.entity, change.record_id));
        }
        results.push(MutationResult {
            mutation_id: change.mutation_id,
            outcome,
        });
    }
    if last_seq != head {
        ledger.set_head(last_seq)?;
    }
    let written = written
        .into_iter()
        .map(|record| audit::Entry {
            at_ms: now_ms,
            device: device.id,
            action: Action::Write,
            record,
        })
        .collect();
    Ok((results, written))
}

fn has_access(db: &mut Db, person: Uuid, structure: Uuid) -> Result<bool, StoreError> {
    Ok(db
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM follow_up
                            WHERE person_id = ?1 AND structure_id = ?2 AND consent = 1)",
            args![person, structure],
        )?
        .bool(0)?)
}

/// `last_seq`: the last commit sequence number handed out in this transaction; a journalled
/// change takes the next one (the caller stores the counter, see [`apply_batch`]).
fn apply_change(
    ledger: &mut impl Ledger,
    device: &Device,
    change: &Change,
    now_ms: i64,
    last_seq: &mut i64,
) -> Result<Outcome, StoreError> {
    let refused = |reason| Ok(Outcome::Refused { reason });
    if change.device_id != device.id {
        return refused(RefusalReason::WrongDevice);
    }
    let register = register_key(
        &change.entity,
        &change.field,
        &change.value,
        change.mutation_id,
    );
    let known = ledger.known(change, device.structure_id, &register)?;
    if let Some(version) = known.seq {
        return Ok(Outcome::Duplicate {
            version: version as u64,
        });
    }
    if change.entity != ENTITY_PERSON
        && change.entity != ENTITY_DIAGNOSTIC
        && change.entity != ENTITY_FOLLOWUP
    {
        return refused(RefusalReason::Invalid);
    }
    let tombstone = change.entity == ENTITY_PERSON && change.field == DELETED_FIELD;
    // A person's record and their follow-up file are both keyed by the person's id: the access
    // rules below (follow-up group with consent) are the person's own.
    let keyed_by_person = change.entity == ENTITY_PERSON || change.entity == ENTITY_FOLLOWUP;
    if keyed_by_person && change.record_id != change.person_id
        || tombstone && change.value != serde_json::Value::Bool(true)
    {
        return refused(RefusalReason::Invalid);
    }
    if change.hlc.check_drift(now_ms as u64).is_err() {
        return refused(RefusalReason::ClockAhead);
    }
    let person = change.person_id;
    if let Some(row) = known.person {
        // A deleted or erased person left every scope: nobody may write it any more.
        if row.deleted_seq.is_some() || row.erased_seq.is_some() {
            return refused(RefusalReason::Forbidden);
        }
        if !known.access {
            return refused(RefusalReason::Forbidden);
        }
    }
    let owner = known.owner;
    if owner.is_some_and(|owner| owner != person) {
        return refused(RefusalReason::Invalid);
    }
    let note_id = note_of(change, &register);
    if change.entity == ENTITY_DIAGNOSTIC {
        if owner.is_some() && is_finalised(ledger, change.record_id)? {
            return refused(RefusalReason::Finalised);
        }
        if device.role == Role::Employment
            && writes_social_only_note(ledger, change, note_id.as_deref())?
            && !ledger.shares_social_notes(person, device.structure_id)?
        {
            return refused(RefusalReason::SocialOnly);
        }
    }

    *last_seq += 1;
    let seq = *last_seq;
    if known.person.is_none() {
        // The first change of a person creates it, with the writer's structure as its group.
        ledger.create_person(person, device.structure_id, seq)?;
    }
    if owner.is_none() {
        ledger.create_record(&change.entity, change.record_id, person)?;
    }
    // The register as it is now, this change included, to merge.
    let state = ledger.journal(JournalRow {
        seq,
        change,
        register: &register,
        note_id: note_id.as_deref(),
        committed_ms: now_ms,
    })?;
    if tombstone {
        // The tombstone stays in the journal; the person leaves every structure's scope, so
        // every laptop that has it gets it in `removals`, and later changes are refused.
        ledger.delete_person(person, seq)?;
    }

    if let Some(note_id) = &note_id {
        refresh_note(ledger, &change.entity, change.record_id, note_id)?;
    }
    if change.entity == ENTITY_DIAGNOSTIC && change.field == "create" {
        for note_id in created_notes(&change.value) {
            refresh_note(ledger, &change.entity, change.record_id, &note_id)?;
        }
    }
    let conflict = state.conflict();
    let key = || (change.entity.clone(), change.record_id, register.clone());
    match &conflict {
        Some(conflict) => {
            let losers = serde_json::to_string(&conflict.losers).map_err(corrupt)?;
            ledger.open_conflict(
                key(),
                OpenConflict {
                    person,
                    winner: conflict.winner,
                    losers,
                    seq,
                },
            )?;
        }
        // Nothing to close (most changes): no statement, one round trip less on PostgreSQL.
        None if !known.open_conflict => {}
        None => ledger.close_conflict(key(), seq)?,
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
pub(crate) fn note_of(change: &Change, register: &str) -> Option<String> {
    if change.entity != ENTITY_DIAGNOSTIC {
        return None;
    }
    let rest = register.strip_prefix("note/")?;
    Some(rest.split('/').next().unwrap_or(rest).to_string())
}

fn is_social_only(value: &serde_json::Value) -> bool {
    value.get("visibility").and_then(serde_json::Value::as_str) == Some("social_only")
}

/// Whether a diagnostic change creates a note reserved to the social field, makes a note so, or
/// touches a note that already is.
fn writes_social_only_note(
    ledger: &mut impl Ledger,
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
    Ok(ledger.note_social_only(note_id)?.unwrap_or(false))
}

/// The ids of the notes a whole-diagnostic value (`create`) carries.
pub(crate) fn created_notes(value: &serde_json::Value) -> Vec<String> {
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
fn refresh_note<L: Ledger>(
    ledger: &mut L,
    entity: &str,
    record_id: Uuid,
    note_id: &str,
) -> Result<(), StoreError> {
    let visibility = |ledger: &mut L, register: String| -> Result<Option<bool>, StoreError> {
        let state = ledger.register(entity, record_id, &register)?;
        Ok(state.winner().and_then(|w| {
            w.change
                .value
                .get("visibility")
                .and_then(serde_json::Value::as_str)
                .map(|v| v == "social_only")
        }))
    };
    let from_create = |ledger: &mut L| -> Result<Option<bool>, StoreError> {
        let state = ledger.register(entity, record_id, "create")?;
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
    let social_only = match visibility(ledger, format!("note/{note_id}/visibility"))? {
        Some(v) => Some(v),
        None => match visibility(ledger, format!("note/{note_id}"))? {
            Some(v) => Some(v),
            None => from_create(ledger)?,
        },
    };
    if let Some(social_only) = social_only {
        ledger.set_note(note_id, social_only)?;
    }
    Ok(())
}

/// Drops notes reserved to the social field from a whole-diagnostic value (`create`).
pub(crate) fn redact_social_notes(change: &mut Change) {
    if change.entity != ENTITY_DIAGNOSTIC {
        return;
    }
    if let Some(notes) = change.value.get_mut("notes").and_then(|n| n.as_array_mut()) {
        notes.retain(|note| !is_social_only(note));
    }
}
