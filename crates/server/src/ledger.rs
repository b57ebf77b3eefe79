//! What applying a push reads and writes (`apply_change` in [`crate::store`]), in two ways:
//!
//! - **statement by statement** on the connection (`impl Ledger for Db`): each check is a query
//!   and each write a statement, in the transaction (or savepoint) of the batch. SQLite's
//!   writer does this (a statement costs microseconds there).
//! - **planned for a whole group** ([`Planned`], PostgreSQL's group commit): every statement
//!   is a network round trip to a serial writer, so the group's reads are made up front, a few
//!   statements for all its batches, and its writes are held in memory and sent at the end,
//!   one statement per table with arrays (`unnest`). Until then nothing of the group is in the
//!   database, so the state of any key is what this group wrote to it, else what the database
//!   holds: a key not read up front is read on demand and is still right. Each batch writes
//!   into a layer of its own, kept when the batch succeeds and dropped when it fails, so a
//!   batch stays all-or-nothing without a savepoint.
//!
//! Both give the same journal: the convergence and concurrency suites run the first on SQLite
//! and the second on PostgreSQL against the same expectations (a serial replay).

use std::collections::{HashMap, HashSet};
use std::hash::Hash;

use tandem_sync::{register_key, Change, Register, Versioned, ENTITY_DIAGNOSTIC};
use uuid::Uuid;

use crate::args;
use crate::db::{self, Db, Row, Value};
use crate::store::{
    corrupt, created_notes, note_of, versioned_at, PushBatch, StoreError, JOURNAL_COLUMNS,
};

/// A person's row as the checks see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PersonRow {
    pub deleted_seq: Option<i64>,
    pub erased_seq: Option<i64>,
}

/// What the checks of one change need to know before it is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Known {
    /// The version the mutation was journalled at, if it was (a replay).
    pub seq: Option<i64>,
    /// `None` when the person does not exist on the server yet.
    pub person: Option<PersonRow>,
    /// Whether the device's structure follows the person with consent.
    pub access: bool,
    /// The person the record belongs to, if the record exists.
    pub owner: Option<Uuid>,
    /// Whether the change's register has an open conflict (that the change may close).
    pub open_conflict: bool,
}

/// The reads and writes of applying a change. Implementations must let every read see every
/// write made before it through the same ledger.
pub(crate) trait Ledger {
    /// The last commit sequence number handed out.
    fn head(&mut self) -> Result<i64, StoreError>;
    fn set_head(&mut self, seq: i64) -> Result<(), StoreError>;
    /// `register` is the change's register key.
    fn known(
        &mut self,
        change: &Change,
        structure: Uuid,
        register: &str,
    ) -> Result<Known, StoreError>;
    /// Every change journalled for one register.
    fn register(
        &mut self,
        entity: &str,
        record_id: Uuid,
        register: &str,
    ) -> Result<Register, StoreError>;
    /// Whether the note is reserved to the social field, if the server knows the note.
    fn note_social_only(&mut self, note_id: &str) -> Result<Option<bool>, StoreError>;
    /// Whether the structure follows the person with consent that shares social notes.
    fn shares_social_notes(&mut self, person: Uuid, structure: Uuid) -> Result<bool, StoreError>;
    /// A new person, followed by the structure that wrote it first (with consent).
    fn create_person(&mut self, person: Uuid, structure: Uuid, seq: i64) -> Result<(), StoreError>;
    fn create_record(
        &mut self,
        entity: &str,
        record_id: Uuid,
        person: Uuid,
    ) -> Result<(), StoreError>;
    /// Journals the change at `seq`; returns its register, the change included.
    fn journal(&mut self, row: JournalRow<'_>) -> Result<Register, StoreError>;
    /// A tombstone: the person leaves every structure's scope.
    fn delete_person(&mut self, person: Uuid, seq: i64) -> Result<(), StoreError>;
    fn set_note(&mut self, note_id: &str, social_only: bool) -> Result<(), StoreError>;
    fn open_conflict(&mut self, key: RegisterKey, conflict: OpenConflict)
        -> Result<(), StoreError>;
    fn close_conflict(&mut self, key: RegisterKey, seq: i64) -> Result<(), StoreError>;
}

/// A change as it goes into the journal.
pub(crate) struct JournalRow<'a> {
    pub seq: i64,
    pub change: &'a Change,
    pub register: &'a str,
    pub note_id: Option<&'a str>,
    pub committed_ms: i64,
}

/// `(entity, record_id, register)`.
pub(crate) type RegisterKey = (String, Uuid, String);
/// `(entity, record_id)`.
type RecordKey = (String, Uuid);

/// A conflict as it is (re)opened.
#[derive(Debug, Clone)]
pub(crate) struct OpenConflict {
    pub person: Uuid,
    pub winner: Uuid,
    /// JSON array of the losing mutation ids.
    pub losers: String,
    pub seq: i64,
}

/// Journals a change (parameters `?1`–`?15`, in this order).
const INSERT_CHANGE: &str =
    "INSERT INTO changes (seq, mutation_id, entity, record_id, person_id, field, register,
                          value, base_version, hlc_wall, hlc_counter, hlc_node, device_id,
                          note_id, committed_ms)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)";

fn register_of(rows: Vec<Row>, at: usize) -> Result<Register, StoreError> {
    let mut state = Register::default();
    for row in rows {
        state.insert(versioned_at(&row, at)?);
    }
    Ok(state)
}

/// Whether a diagnostic's `finalise` or `create` register holds a finalisation.
fn finalises(register: &Register) -> bool {
    register.iter().any(|versioned| {
        let change = &versioned.change;
        change.field == "finalise"
            || change
                .value
                .get("status")
                .and_then(serde_json::Value::as_str)
                == Some("finalised")
    })
}

/// Whether the server has applied a `finalise` of this diagnostic, or a `create` of it already
/// finalised: from then on it never changes.
pub(crate) fn is_finalised(ledger: &mut impl Ledger, record_id: Uuid) -> Result<bool, StoreError> {
    Ok(
        finalises(&ledger.register(ENTITY_DIAGNOSTIC, record_id, "finalise")?)
            || finalises(&ledger.register(ENTITY_DIAGNOSTIC, record_id, "create")?),
    )
}

/// Statement by statement, on the connection.
impl Ledger for Db {
    fn head(&mut self) -> Result<i64, StoreError> {
        Ok(db::head_seq(self)?)
    }

    fn set_head(&mut self, seq: i64) -> Result<(), StoreError> {
        self.execute("UPDATE meta SET value = ?1 WHERE key = 'seq'", args![seq])?;
        Ok(())
    }

    fn known(
        &mut self,
        change: &Change,
        structure: Uuid,
        register: &str,
    ) -> Result<Known, StoreError> {
        // In one statement (one round trip on PostgreSQL).
        let row = self.query_one(
            "SELECT (SELECT seq FROM changes WHERE mutation_id = ?1),
                    (SELECT count(*) FROM persons WHERE id = ?2),
                    (SELECT deleted_seq FROM persons WHERE id = ?2),
                    (SELECT erased_seq FROM persons WHERE id = ?2),
                    EXISTS (SELECT 1 FROM follow_up
                            WHERE person_id = ?2 AND structure_id = ?3 AND consent = 1),
                    (SELECT person_id FROM records WHERE entity = ?4 AND record_id = ?5),
                    EXISTS (SELECT 1 FROM conflicts WHERE entity = ?4 AND record_id = ?5
                            AND register = ?6 AND closed_seq IS NULL)",
            args![
                change.mutation_id,
                change.person_id,
                structure,
                change.entity.as_str(),
                change.record_id,
                register
            ],
        )?;
        Ok(Known {
            seq: row.opt_int(0)?,
            person: (row.int(1)? > 0).then_some(PersonRow {
                deleted_seq: row.opt_int(2)?,
                erased_seq: row.opt_int(3)?,
            }),
            access: row.bool(4)?,
            owner: row.opt_uuid(5)?,
            open_conflict: row.bool(6)?,
        })
    }

    fn register(
        &mut self,
        entity: &str,
        record_id: Uuid,
        register: &str,
    ) -> Result<Register, StoreError> {
        let sql = format!(
            "SELECT {JOURNAL_COLUMNS} FROM changes c
             WHERE c.entity = ?1 AND c.record_id = ?2 AND c.register = ?3"
        );
        register_of(self.query(&sql, args![entity, record_id, register])?, 0)
    }

    fn note_social_only(&mut self, note_id: &str) -> Result<Option<bool>, StoreError> {
        match self.query_opt(
            "SELECT social_only FROM notes WHERE note_id = ?1",
            args![note_id],
        )? {
            Some(row) => Ok(Some(row.bool(0)?)),
            None => Ok(None),
        }
    }

    fn shares_social_notes(&mut self, person: Uuid, structure: Uuid) -> Result<bool, StoreError> {
        match self.query_opt(
            "SELECT share_social_notes FROM follow_up
             WHERE person_id = ?1 AND structure_id = ?2 AND consent = 1",
            args![person, structure],
        )? {
            Some(row) => Ok(row.bool(0)?),
            None => Ok(false),
        }
    }

    fn create_person(&mut self, person: Uuid, structure: Uuid, seq: i64) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO persons (id, created_by, created_seq) VALUES (?1, ?2, ?3)",
            args![person, structure, seq],
        )?;
        self.execute(
            "INSERT INTO follow_up (person_id, structure_id, consent, share_social_notes,
                                    granted_seq, revoked_seq)
             VALUES (?1, ?2, 1, 0, ?3, NULL)",
            args![person, structure, seq],
        )?;
        Ok(())
    }

    fn create_record(
        &mut self,
        entity: &str,
        record_id: Uuid,
        person: Uuid,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO records (entity, record_id, person_id) VALUES (?1, ?2, ?3)",
            args![entity, record_id, person],
        )?;
        Ok(())
    }

    fn journal(&mut self, row: JournalRow<'_>) -> Result<Register, StoreError> {
        let change = row.change;
        self.execute(
            INSERT_CHANGE,
            args![
                row.seq,
                change.mutation_id,
                change.entity.as_str(),
                change.record_id,
                change.person_id,
                change.field.as_str(),
                row.register,
                change.value.to_string(),
                change.base_version.map(|v| v as i64),
                change.hlc.wall_ms as i64,
                change.hlc.counter,
                change.hlc.node,
                change.device_id,
                row.note_id,
                row.committed_ms,
            ],
        )?;
        self.register(&change.entity, change.record_id, row.register)
    }

    fn delete_person(&mut self, person: Uuid, seq: i64) -> Result<(), StoreError> {
        self.execute(
            "UPDATE persons SET deleted_seq = ?2 WHERE id = ?1",
            args![person, seq],
        )?;
        self.execute(
            "UPDATE follow_up SET consent = 0, revoked_seq = ?2
             WHERE person_id = ?1 AND consent = 1",
            args![person, seq],
        )?;
        Ok(())
    }

    fn set_note(&mut self, note_id: &str, social_only: bool) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO notes (note_id, social_only) VALUES (?1, ?2)
             ON CONFLICT (note_id) DO UPDATE SET social_only = excluded.social_only",
            args![note_id, social_only],
        )?;
        Ok(())
    }

    fn open_conflict(
        &mut self,
        (entity, record_id, register): RegisterKey,
        conflict: OpenConflict,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO conflicts (entity, record_id, register, person_id, winner, losers,
                                    updated_seq, closed_seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL)
             ON CONFLICT (entity, record_id, register) DO UPDATE SET
                 winner = excluded.winner, losers = excluded.losers,
                 updated_seq = excluded.updated_seq, closed_seq = NULL",
            args![
                entity,
                record_id,
                register,
                conflict.person,
                conflict.winner,
                conflict.losers,
                conflict.seq
            ],
        )?;
        Ok(())
    }

    fn close_conflict(
        &mut self,
        (entity, record_id, register): RegisterKey,
        seq: i64,
    ) -> Result<(), StoreError> {
        self.execute(
            "UPDATE conflicts SET closed_seq = ?4, updated_seq = ?4
             WHERE entity = ?1 AND record_id = ?2 AND register = ?3 AND closed_seq IS NULL",
            args![entity, record_id, register, seq],
        )?;
        Ok(())
    }
}

/// What a group knows of the database: read before the group (the database's state, since
/// nothing of the group is written yet) or written by the group.
#[derive(Default)]
struct View {
    head: Option<i64>,
    /// Journalled mutations: their version; `None`: not journalled.
    seqs: HashMap<Uuid, Option<i64>>,
    persons: HashMap<Uuid, Option<PersonRow>>,
    /// `(person, structure)` → `Some(shares social notes)` when followed with consent.
    access: HashMap<(Uuid, Uuid), Option<bool>>,
    owners: HashMap<RecordKey, Option<Uuid>>,
    open: HashMap<RegisterKey, bool>,
    registers: HashMap<RegisterKey, Register>,
    notes: HashMap<String, Option<bool>>,
}

impl View {
    /// Moves `top`'s entries over this view's.
    fn absorb(&mut self, top: View) {
        if top.head.is_some() {
            self.head = top.head;
        }
        self.seqs.extend(top.seqs);
        self.persons.extend(top.persons);
        self.access.extend(top.access);
        self.owners.extend(top.owners);
        self.open.extend(top.open);
        self.registers.extend(top.registers);
        self.notes.extend(top.notes);
    }
}

/// The two layers' entry for a key: the batch's, else the group's.
fn layered<'m, K: Eq + Hash, V>(
    top: &'m HashMap<K, V>,
    base: &'m HashMap<K, V>,
    key: &K,
) -> Option<&'m V> {
    top.get(key).or_else(|| base.get(key))
}

/// What a group writes, in the order it was written.
#[derive(Default)]
struct Writes {
    /// `(person, structure, seq)`: a person and its first follow-up row.
    persons: Vec<(Uuid, Uuid, i64)>,
    records: Vec<(String, Uuid, Uuid)>,
    journal: Vec<OwnedJournalRow>,
    /// `(person, seq)`.
    deleted: Vec<(Uuid, i64)>,
    notes: Vec<(String, bool)>,
    /// Conflicts (re)opened or closed, folded to one write per register at the end.
    conflicts: Vec<(RegisterKey, ConflictWrite)>,
}

impl Writes {
    fn absorb(&mut self, top: Writes) {
        self.persons.extend(top.persons);
        self.records.extend(top.records);
        self.journal.extend(top.journal);
        self.deleted.extend(top.deleted);
        self.notes.extend(top.notes);
        self.conflicts.extend(top.conflicts);
    }
}

struct OwnedJournalRow {
    seq: i64,
    change: Change,
    register: String,
    note_id: Option<String>,
    committed_ms: i64,
}

#[derive(Debug, Clone)]
enum ConflictWrite {
    Open(OpenConflict),
    Close(i64),
}

/// A conflict row as the group leaves it.
enum ConflictState {
    /// The row as a whole (inserted or replaced).
    Row {
        conflict: OpenConflict,
        updated_seq: i64,
        closed_seq: Option<i64>,
    },
    /// Only closed (the row was open before the group).
    Closed(i64),
}

/// A group commit's ledger on PostgreSQL: reads made up front or on demand, writes held until
/// [`Planned::flush`]. Between [`Planned::begin`] and [`Planned::keep`] or
/// [`Planned::discard`], a batch writes into its own layer.
pub(crate) struct Planned<'a> {
    db: &'a mut Db,
    base: View,
    top: View,
    writes: Writes,
    top_writes: Writes,
    /// The counter before the group: stored again only if the group moved it.
    head_before: i64,
}

impl<'a> Planned<'a> {
    /// Reads what the group's batches will look at, in three statements.
    pub(crate) fn new(db: &'a mut Db, batches: &[PushBatch]) -> Result<Self, StoreError> {
        let mut planned = Planned {
            db,
            base: View::default(),
            top: View::default(),
            writes: Writes::default(),
            top_writes: Writes::default(),
            head_before: 0,
        };
        planned.head_before = db::head_seq(planned.db)?;
        planned.base.head = Some(planned.head_before);
        planned.read_ahead(batches)?;
        Ok(planned)
    }

    fn read_ahead(&mut self, batches: &[PushBatch]) -> Result<(), StoreError> {
        let changes: Vec<(&Change, Uuid, String)> = batches
            .iter()
            .flat_map(|batch| {
                batch.changes.iter().map(|change| {
                    let register = register_key(
                        &change.entity,
                        &change.field,
                        &change.value,
                        change.mutation_id,
                    );
                    (change, batch.device.structure_id, register)
                })
            })
            .collect();
        if changes.is_empty() {
            return Ok(());
        }
        let list = |f: &dyn Fn(&(&Change, Uuid, String)) -> Value| -> Value {
            Value::List(changes.iter().map(f).collect())
        };
        let rows = self.db.query(
            "SELECT k.i,
                    (SELECT seq FROM changes WHERE mutation_id = k.m),
                    pe.id IS NOT NULL, pe.deleted_seq, pe.erased_seq,
                    fu.share_social_notes,
                    (SELECT person_id FROM records WHERE entity = k.e AND record_id = k.r),
                    EXISTS (SELECT 1 FROM conflicts WHERE entity = k.e AND record_id = k.r
                            AND register = k.g AND closed_seq IS NULL)
             FROM unnest(?1::text[], ?2::text[], ?3::text[], ?4::text[], ?5::text[],
                         ?6::text[]) WITH ORDINALITY AS k (m, p, s, e, r, g, i)
             LEFT JOIN persons pe ON pe.id = k.p
             LEFT JOIN follow_up fu
                    ON fu.person_id = k.p AND fu.structure_id = k.s AND fu.consent = 1
             ORDER BY k.i",
            &[
                list(&|(c, _, _)| c.mutation_id.into()),
                list(&|(c, _, _)| c.person_id.into()),
                list(&|(_, s, _)| (*s).into()),
                list(&|(c, _, _)| c.entity.as_str().into()),
                list(&|(c, _, _)| c.record_id.into()),
                list(&|(_, _, g)| g.as_str().into()),
            ],
        )?;
        if rows.len() != changes.len() {
            return Err(corrupt("reading ahead: one row per change expected"));
        }
        let base = &mut self.base;
        for (row, (change, structure, register)) in rows.iter().zip(&changes) {
            base.seqs.insert(change.mutation_id, row.opt_int(1)?);
            let person = row.bool(2)?.then_some(PersonRow {
                deleted_seq: row.opt_int(3)?,
                erased_seq: row.opt_int(4)?,
            });
            base.persons.insert(change.person_id, person);
            let share = row.opt_int(5)?.map(|v| v != 0);
            base.access.insert((change.person_id, *structure), share);
            let record = (change.entity.clone(), change.record_id);
            base.owners.insert(record, row.opt_uuid(6)?);
            let key = (change.entity.clone(), change.record_id, register.clone());
            base.open.insert(key, row.bool(7)?);
        }

        // The registers the changes merge into, and those a diagnostic's checks read.
        let mut keys: Vec<RegisterKey> = Vec::new();
        let mut seen = HashSet::new();
        let mut notes = Vec::new();
        for (change, _, register) in &changes {
            let mut add = |register: &str| {
                let key = (
                    change.entity.clone(),
                    change.record_id,
                    register.to_string(),
                );
                if seen.insert(key.clone()) {
                    keys.push(key);
                }
            };
            add(register);
            if change.entity == ENTITY_DIAGNOSTIC {
                add("finalise");
                add("create");
                let mut note_ids: Vec<String> = note_of(change, register).into_iter().collect();
                if change.field == "create" {
                    note_ids.extend(created_notes(&change.value));
                }
                for note_id in note_ids {
                    add(&format!("note/{note_id}/visibility"));
                    add(&format!("note/{note_id}"));
                    notes.push(note_id);
                }
            }
        }
        let sql = format!(
            "SELECT k.i, {JOURNAL_COLUMNS}
             FROM unnest(?1::text[], ?2::text[], ?3::text[]) WITH ORDINALITY AS k (e, r, g, i)
             JOIN changes c ON c.entity = k.e AND c.record_id = k.r AND c.register = k.g"
        );
        let rows = self.db.query(
            &sql,
            &[
                Value::List(keys.iter().map(|k| k.0.as_str().into()).collect()),
                Value::List(keys.iter().map(|k| k.1.into()).collect()),
                Value::List(keys.iter().map(|k| k.2.as_str().into()).collect()),
            ],
        )?;
        let mut registers: Vec<Register> = vec![Register::default(); keys.len()];
        for row in rows {
            let i = usize::try_from(row.int(0)? - 1).map_err(corrupt)?;
            let register = registers
                .get_mut(i)
                .ok_or_else(|| corrupt("reading ahead: register out of range"))?;
            register.insert(versioned_at(&row, 1)?);
        }
        self.base.registers.extend(keys.into_iter().zip(registers));

        if !notes.is_empty() {
            let rows = self.db.query(
                "SELECT note_id, social_only FROM notes WHERE note_id = ANY (?1::text[])",
                &[Value::List(
                    notes.iter().map(|n| n.as_str().into()).collect(),
                )],
            )?;
            for note in notes {
                self.base.notes.insert(note, None);
            }
            for row in rows {
                self.base.notes.insert(row.text(0)?, Some(row.bool(1)?));
            }
        }
        Ok(())
    }

    /// A batch starts: its writes go into a layer of their own.
    pub(crate) fn begin(&mut self) {
        self.top = View::default();
        self.top_writes = Writes::default();
    }

    /// The batch succeeded: its layer joins the group's.
    pub(crate) fn keep(&mut self) {
        self.base.absorb(std::mem::take(&mut self.top));
        self.writes.absorb(std::mem::take(&mut self.top_writes));
    }

    /// The batch failed: nothing of it stays.
    pub(crate) fn discard(&mut self) {
        self.begin();
    }

    /// The register as the group sees it, read from the database on first use.
    fn register_entry(&mut self, key: &RegisterKey) -> Result<&mut Register, StoreError> {
        if !self.top.registers.contains_key(key) {
            // The group's state (or the database's, read once): the batch edits its own copy.
            let state = self.register(&key.0, key.1, &key.2)?;
            self.top.registers.insert(key.clone(), state);
        }
        self.top
            .registers
            .get_mut(key)
            .ok_or_else(|| corrupt("register layer"))
    }

    /// Sends the group's writes, one statement per table (those with rows), and the counter.
    pub(crate) fn flush(mut self) -> Result<(), StoreError> {
        self.discard();
        let writes = std::mem::take(&mut self.writes);
        let db = &mut *self.db;
        if !writes.persons.is_empty() {
            let people = Value::List(writes.persons.iter().map(|p| p.0.into()).collect());
            let structures = Value::List(writes.persons.iter().map(|p| p.1.into()).collect());
            let seqs = Value::List(writes.persons.iter().map(|p| p.2.into()).collect());
            db.execute(
                "INSERT INTO persons (id, created_by, created_seq)
                 SELECT * FROM unnest(?1::text[], ?2::text[], ?3::bigint[])",
                &[people.clone(), structures.clone(), seqs.clone()],
            )?;
            db.execute(
                "INSERT INTO follow_up (person_id, structure_id, consent, share_social_notes,
                                        granted_seq, revoked_seq)
                 SELECT p, s, 1, 0, g, NULL
                 FROM unnest(?1::text[], ?2::text[], ?3::bigint[]) AS k (p, s, g)",
                &[people, structures, seqs],
            )?;
        }
        if !writes.records.is_empty() {
            db.execute(
                "INSERT INTO records (entity, record_id, person_id)
                 SELECT * FROM unnest(?1::text[], ?2::text[], ?3::text[])",
                &[
                    Value::List(writes.records.iter().map(|r| r.0.as_str().into()).collect()),
                    Value::List(writes.records.iter().map(|r| r.1.into()).collect()),
                    Value::List(writes.records.iter().map(|r| r.2.into()).collect()),
                ],
            )?;
        }
        if !writes.journal.is_empty() {
            let rows = &writes.journal;
            let list = |f: &dyn Fn(&OwnedJournalRow) -> Value| -> Value {
                Value::List(rows.iter().map(f).collect())
            };
            db.execute(
                "INSERT INTO changes (seq, mutation_id, entity, record_id, person_id, field,
                                      register, value, base_version, hlc_wall, hlc_counter,
                                      hlc_node, device_id, note_id, committed_ms)
                 SELECT * FROM unnest(?1::bigint[], ?2::text[], ?3::text[], ?4::text[],
                                      ?5::text[], ?6::text[], ?7::text[], ?8::text[],
                                      ?9::bigint[], ?10::bigint[], ?11::bigint[], ?12::text[],
                                      ?13::text[], ?14::text[], ?15::bigint[])",
                &[
                    list(&|r| r.seq.into()),
                    list(&|r| r.change.mutation_id.into()),
                    list(&|r| r.change.entity.as_str().into()),
                    list(&|r| r.change.record_id.into()),
                    list(&|r| r.change.person_id.into()),
                    list(&|r| r.change.field.as_str().into()),
                    list(&|r| r.register.as_str().into()),
                    list(&|r| r.change.value.to_string().into()),
                    list(&|r| r.change.base_version.map(|v| v as i64).into()),
                    list(&|r| (r.change.hlc.wall_ms as i64).into()),
                    list(&|r| r.change.hlc.counter.into()),
                    list(&|r| r.change.hlc.node.into()),
                    list(&|r| r.change.device_id.into()),
                    list(&|r| r.note_id.as_deref().into()),
                    list(&|r| r.committed_ms.into()),
                ],
            )?;
        }
        if !writes.deleted.is_empty() {
            let people = Value::List(writes.deleted.iter().map(|d| d.0.into()).collect());
            let seqs = Value::List(writes.deleted.iter().map(|d| d.1.into()).collect());
            db.execute(
                "UPDATE persons SET deleted_seq = k.s
                 FROM unnest(?1::text[], ?2::bigint[]) AS k (p, s) WHERE id = k.p",
                &[people.clone(), seqs.clone()],
            )?;
            db.execute(
                "UPDATE follow_up SET consent = 0, revoked_seq = k.s
                 FROM unnest(?1::text[], ?2::bigint[]) AS k (p, s)
                 WHERE person_id = k.p AND consent = 1",
                &[people, seqs],
            )?;
        }
        if !writes.notes.is_empty() {
            // One row per note, as the group leaves it (a statement may not touch a row twice).
            let mut last: HashMap<&str, bool> = HashMap::new();
            let mut order = Vec::new();
            for (note_id, social_only) in &writes.notes {
                if last.insert(note_id.as_str(), *social_only).is_none() {
                    order.push(note_id.as_str());
                }
            }
            db.execute(
                "INSERT INTO notes (note_id, social_only)
                 SELECT * FROM unnest(?1::text[], ?2::bigint[])
                 ON CONFLICT (note_id) DO UPDATE SET social_only = excluded.social_only",
                &[
                    Value::List(order.iter().map(|n| (*n).into()).collect()),
                    Value::List(order.iter().map(|n| last[n].into()).collect()),
                ],
            )?;
        }
        if !writes.conflicts.is_empty() {
            flush_conflicts(db, writes.conflicts)?;
        }
        if let Some(head) = self.base.head.filter(|head| *head != self.head_before) {
            db.set_head(head)?;
        }
        Ok(())
    }
}

/// The group's conflict writes, folded to one per register: a row (re)opened in the group is
/// written whole, closed or not; a row only closed is closed where it stands.
fn flush_conflicts(
    db: &mut Db,
    writes: Vec<(RegisterKey, ConflictWrite)>,
) -> Result<(), StoreError> {
    let mut states: HashMap<RegisterKey, ConflictState> = HashMap::new();
    let mut order = Vec::new();
    for (key, write) in writes {
        let state = match (states.remove(&key), write) {
            (_, ConflictWrite::Open(conflict)) => ConflictState::Row {
                updated_seq: conflict.seq,
                conflict,
                closed_seq: None,
            },
            (Some(ConflictState::Row { conflict, .. }), ConflictWrite::Close(seq)) => {
                ConflictState::Row {
                    conflict,
                    updated_seq: seq,
                    closed_seq: Some(seq),
                }
            }
            (_, ConflictWrite::Close(seq)) => ConflictState::Closed(seq),
        };
        if !order.contains(&key) {
            order.push(key.clone());
        }
        states.insert(key, state);
    }
    let mut rows = Vec::new();
    let mut closed = Vec::new();
    for key in order {
        match states.remove(&key) {
            Some(ConflictState::Row {
                conflict,
                updated_seq,
                closed_seq,
            }) => rows.push((key, conflict, updated_seq, closed_seq)),
            Some(ConflictState::Closed(seq)) => closed.push((key, seq)),
            None => {}
        }
    }
    if !rows.is_empty() {
        db.execute(
            "INSERT INTO conflicts (entity, record_id, register, person_id, winner, losers,
                                    updated_seq, closed_seq)
             SELECT * FROM unnest(?1::text[], ?2::text[], ?3::text[], ?4::text[], ?5::text[],
                                  ?6::text[], ?7::bigint[], ?8::bigint[])
             ON CONFLICT (entity, record_id, register) DO UPDATE SET
                 winner = excluded.winner, losers = excluded.losers,
                 updated_seq = excluded.updated_seq, closed_seq = excluded.closed_seq",
            &[
                Value::List(rows.iter().map(|r| r.0 .0.as_str().into()).collect()),
                Value::List(rows.iter().map(|r| r.0 .1.into()).collect()),
                Value::List(rows.iter().map(|r| r.0 .2.as_str().into()).collect()),
                Value::List(rows.iter().map(|r| r.1.person.into()).collect()),
                Value::List(rows.iter().map(|r| r.1.winner.into()).collect()),
                Value::List(rows.iter().map(|r| r.1.losers.as_str().into()).collect()),
                Value::List(rows.iter().map(|r| r.2.into()).collect()),
                Value::List(rows.iter().map(|r| r.3.into()).collect()),
            ],
        )?;
    }
    if !closed.is_empty() {
        db.execute(
            "UPDATE conflicts SET closed_seq = k.s, updated_seq = k.s
             FROM unnest(?1::text[], ?2::text[], ?3::text[], ?4::bigint[]) AS k (e, r, g, s)
             WHERE entity = k.e AND record_id = k.r AND register = k.g AND closed_seq IS NULL",
            &[
                Value::List(closed.iter().map(|c| c.0 .0.as_str().into()).collect()),
                Value::List(closed.iter().map(|c| c.0 .1.into()).collect()),
                Value::List(closed.iter().map(|c| c.0 .2.as_str().into()).collect()),
                Value::List(closed.iter().map(|c| c.1.into()).collect()),
            ],
        )?;
    }
    Ok(())
}

impl Ledger for Planned<'_> {
    fn head(&mut self) -> Result<i64, StoreError> {
        match self.top.head.or(self.base.head) {
            Some(head) => Ok(head),
            None => Ok(db::head_seq(self.db)?),
        }
    }

    fn set_head(&mut self, seq: i64) -> Result<(), StoreError> {
        self.top.head = Some(seq);
        Ok(())
    }

    fn known(
        &mut self,
        change: &Change,
        structure: Uuid,
        register: &str,
    ) -> Result<Known, StoreError> {
        let (top, base) = (&self.top, &self.base);
        let record = (change.entity.clone(), change.record_id);
        let key = (
            change.entity.clone(),
            change.record_id,
            register.to_string(),
        );
        let cached = (
            layered(&top.seqs, &base.seqs, &change.mutation_id),
            layered(&top.persons, &base.persons, &change.person_id),
            layered(&top.access, &base.access, &(change.person_id, structure)),
            layered(&top.owners, &base.owners, &record),
            layered(&top.open, &base.open, &key),
        );
        if let (Some(seq), Some(person), Some(access), Some(owner), Some(open)) = cached {
            return Ok(Known {
                seq: *seq,
                person: *person,
                access: access.is_some(),
                owner: *owner,
                open_conflict: *open,
            });
        }
        // Not read ahead: what the database holds is the state before the group, the right
        // answer for every key the group has not written (those already in a layer stay).
        let read = self.db.known(change, structure, register)?;
        let share = if read.access {
            Some(self.db.shares_social_notes(change.person_id, structure)?)
        } else {
            None
        };
        let base = &mut self.base;
        base.seqs.entry(change.mutation_id).or_insert(read.seq);
        base.persons.entry(change.person_id).or_insert(read.person);
        base.access
            .entry((change.person_id, structure))
            .or_insert(share);
        base.owners.entry(record).or_insert(read.owner);
        base.open.entry(key).or_insert(read.open_conflict);
        // Read back through the layers: an entry of the batch's own layer wins.
        self.known(change, structure, register)
    }

    fn register(
        &mut self,
        entity: &str,
        record_id: Uuid,
        register: &str,
    ) -> Result<Register, StoreError> {
        let key = (entity.to_string(), record_id, register.to_string());
        if let Some(state) = layered(&self.top.registers, &self.base.registers, &key) {
            return Ok(state.clone());
        }
        let state = self.db.register(entity, record_id, register)?;
        self.base.registers.insert(key, state.clone());
        Ok(state)
    }

    fn note_social_only(&mut self, note_id: &str) -> Result<Option<bool>, StoreError> {
        let key = note_id.to_string();
        if let Some(state) = layered(&self.top.notes, &self.base.notes, &key) {
            return Ok(*state);
        }
        let state = self.db.note_social_only(note_id)?;
        self.base.notes.insert(key, state);
        Ok(state)
    }

    fn shares_social_notes(&mut self, person: Uuid, structure: Uuid) -> Result<bool, StoreError> {
        let key = (person, structure);
        if let Some(share) = layered(&self.top.access, &self.base.access, &key) {
            return Ok(share.unwrap_or(false));
        }
        let share = self.db.shares_social_notes(person, structure)?;
        // Only the flag is known here, not whether there is consent without it: not cached.
        Ok(share)
    }

    fn create_person(&mut self, person: Uuid, structure: Uuid, seq: i64) -> Result<(), StoreError> {
        self.top.persons.insert(
            person,
            Some(PersonRow {
                deleted_seq: None,
                erased_seq: None,
            }),
        );
        self.top.access.insert((person, structure), Some(false));
        self.top_writes.persons.push((person, structure, seq));
        Ok(())
    }

    fn create_record(
        &mut self,
        entity: &str,
        record_id: Uuid,
        person: Uuid,
    ) -> Result<(), StoreError> {
        self.top
            .owners
            .insert((entity.to_string(), record_id), Some(person));
        self.top_writes
            .records
            .push((entity.to_string(), record_id, person));
        Ok(())
    }

    fn journal(&mut self, row: JournalRow<'_>) -> Result<Register, StoreError> {
        let change = row.change;
        let key = (
            change.entity.clone(),
            change.record_id,
            row.register.to_string(),
        );
        let versioned = Versioned {
            version: row.seq as u64,
            change: change.clone(),
        };
        let register = self.register_entry(&key)?;
        register.insert(versioned);
        let state = register.clone();
        self.top.seqs.insert(change.mutation_id, Some(row.seq));
        self.top_writes.journal.push(OwnedJournalRow {
            seq: row.seq,
            change: change.clone(),
            register: row.register.to_string(),
            note_id: row.note_id.map(str::to_string),
            committed_ms: row.committed_ms,
        });
        Ok(state)
    }

    fn delete_person(&mut self, person: Uuid, seq: i64) -> Result<(), StoreError> {
        let row = match layered(&self.top.persons, &self.base.persons, &person) {
            Some(Some(row)) => *row,
            _ => PersonRow {
                deleted_seq: None,
                erased_seq: None,
            },
        };
        self.top.persons.insert(
            person,
            Some(PersonRow {
                deleted_seq: Some(seq),
                ..row
            }),
        );
        // Every structure's consent ends. (The checks never ask about a deleted person's
        // followers, who are refused first; the layers say it all the same.)
        let followers: Vec<(Uuid, Uuid)> = (self.base.access.keys())
            .chain(self.top.access.keys())
            .filter(|(p, _)| *p == person)
            .copied()
            .collect();
        for key in followers {
            self.top.access.insert(key, None);
        }
        self.top_writes.deleted.push((person, seq));
        Ok(())
    }

    fn set_note(&mut self, note_id: &str, social_only: bool) -> Result<(), StoreError> {
        self.top
            .notes
            .insert(note_id.to_string(), Some(social_only));
        self.top_writes
            .notes
            .push((note_id.to_string(), social_only));
        Ok(())
    }

    fn open_conflict(
        &mut self,
        key: RegisterKey,
        conflict: OpenConflict,
    ) -> Result<(), StoreError> {
        self.top.open.insert(key.clone(), true);
        self.top_writes
            .conflicts
            .push((key, ConflictWrite::Open(conflict)));
        Ok(())
    }

    fn close_conflict(&mut self, key: RegisterKey, seq: i64) -> Result<(), StoreError> {
        self.top.open.insert(key.clone(), false);
        self.top_writes
            .conflicts
            .push((key, ConflictWrite::Close(seq)));
        Ok(())
    }
}
