//! The case file's side of sync (docs/sync-protocol.md): the outbox read for push, the push
//! results, the pull pages applied in one transaction each, registers, conflicts, sync state.
//!
//! Per register the case file keeps only its *heads* (the pulled changes nobody superseded,
//! winner first) and the highest version pulled. That is enough to run the same
//! [`tandem_sync::Register`] code as the server on every new change: a superseded change never
//! becomes a head again, and anything that superseded it is kept or superseded in turn.

use std::collections::HashMap;

use serde::Deserialize as _;

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, TransactionBehavior};
use tandem_domain::diagnostic::{Diagnostic, DiagnosticEdit};
use tandem_domain::diagnostic_rules::{self as rules, EditContext};
use tandem_domain::followup::{self, FollowUp, FollowUpContext, FollowUpEdit, FollowUpError};
use tandem_domain::rome::RomeIndex;
use tandem_domain::{referentiel, FieldValue, Person, PersonField, RsaStatus};
use tandem_sync::{
    register_key, Change, Cursor, Hlc, MutationResult, Outcome, PullResponse, RefusalReason,
    Register, Snapshot, Versioned,
};
use uuid::Uuid;

use crate::diagnostics::load_diagnostic;
use crate::error::StoreError;
use crate::outbox::{self, Target};
use crate::person_rows::{self, timestamp};
use crate::registers::{self, record_row, RegisterOut, RegisterRow, RECORD_COLUMNS};
use crate::{load_person, CaseFile};

/// Where this case file synchronises, and how far it has pulled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncState {
    pub server_url: String,
    pub device_id: Uuid,
    /// Where the next pull starts; `None` before the first page.
    pub cursor: Option<Cursor>,
    pub last_synced_at: Option<DateTime<Utc>>,
}

/// The counters the sync indicator shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncCounts {
    /// Local changes waiting to be pushed.
    pub pending: u64,
    /// Local changes the server refused (kept, with their reason).
    pub refused: u64,
    /// Registers with concurrent values.
    pub conflicts: u64,
}

/// What [`CaseFile::record_push_results`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PushReport {
    /// Journalled by the server (applied, duplicate or conflict).
    pub accepted: usize,
    /// Journalled, but their register now holds concurrent values.
    pub conflicts: usize,
    /// Refused: kept aside with the reason, not sent again.
    pub refused: usize,
    /// Refused because this laptop's clock is ahead: sent again once it is right.
    pub clock_ahead: usize,
}

/// What [`CaseFile::apply_pull_page`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageReport {
    /// Persons deleted with everything attached (consent withdrawn, access changed).
    pub removed: usize,
    /// Changes taken into their register (the value shows if it wins).
    pub applied: usize,
    /// Changes already held (a mutation id seen before).
    pub ignored: usize,
    /// Registers with a local edit not yet back from the server: their local value stays
    /// until it is.
    pub kept_local: usize,
    /// Registers that went into conflict, and out of it, in this page.
    pub conflicts_opened: usize,
    pub conflicts_closed: usize,
}

/// One of the competing values of a conflict.
#[derive(Debug, Clone, PartialEq)]
pub struct ConflictValue {
    pub mutation_id: Uuid,
    /// The change's value: a person field's value, or the whole diagnostic edit.
    pub value: serde_json::Value,
    /// The laptop that wrote it.
    pub device_id: Uuid,
    pub hlc: Hlc,
    pub version: u64,
    /// The value the record shows until someone resolves the conflict.
    pub winner: bool,
}

/// A register with concurrent values, as the conflicts screen needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenConflict {
    pub person_id: Uuid,
    /// `person` or `diagnostic`.
    pub entity: String,
    pub record_id: Uuid,
    /// The register (`tandem_sync::register_key`): a person field's name, or e.g.
    /// `field/date`, `note/<id>/text` for a diagnostic.
    pub register: String,
    /// The change's field: the person field, or the diagnostic edit kind.
    pub field: String,
    /// Winner first, then the other heads in `(hlc, device)` order, newest first.
    pub values: Vec<ConflictValue>,
    /// A local edit made after pulling every value waits to be pushed: once it is, the
    /// conflict closes everywhere.
    pub resolving: bool,
}

/// A local change the server refused.
#[derive(Debug, Clone, PartialEq)]
pub struct RefusedChange {
    pub change: Change,
    /// The server's reason (`forbidden`, `finalised`, `social_only`, …).
    pub reason: String,
}

impl CaseFile {
    /// Where this case file synchronises; `None` until the laptop is enrolled.
    pub fn sync_state(&self) -> Result<Option<SyncState>, StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT server_url, device_id, cursor, last_synced_at FROM sync_state
                 WHERE singleton = 1",
                [],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, Option<String>>(2)?,
                        row.get::<_, Option<String>>(3)?,
                    ))
                },
            )
            .optional()?;
        let Some((server_url, device_id, cursor, last)) = row else {
            return Ok(None);
        };
        Ok(Some(SyncState {
            server_url,
            device_id: Uuid::parse_str(&device_id).map_err(|_| StoreError::Damaged)?,
            cursor: cursor.map(Cursor),
            last_synced_at: last
                .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                .map(|t| t.with_timezone(&Utc)),
        }))
    }

    /// Records the server and device after enrolment. Another server or device starts the
    /// pull again from the beginning.
    pub fn set_sync_state(&mut self, server_url: &str, device_id: Uuid) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO sync_state (singleton, server_url, device_id) VALUES (1, ?1, ?2)
             ON CONFLICT (singleton) DO UPDATE SET
                 cursor = CASE WHEN server_url = excluded.server_url
                                AND device_id = excluded.device_id THEN cursor END,
                 server_url = excluded.server_url, device_id = excluded.device_id",
            params![server_url, device_id.to_string()],
        )?;
        Ok(())
    }

    /// The oldest local changes waiting to be pushed, in the order they were made, with the
    /// enrolled device's id (nil before enrolment).
    pub fn pending_outbox(&self, limit: usize) -> Result<Vec<Change>, StoreError> {
        let device = self
            .sync_state()?
            .map(|s| s.device_id)
            .unwrap_or_else(Uuid::nil);
        let mut stmt = self.conn.prepare_cached(
            "SELECT mutation_id, record_type, record_id, person_id, field, value, base_version,
                    hlc_wall, hlc_counter, hlc_node
             FROM outbox WHERE state = 'pending' ORDER BY rowid LIMIT ?1",
        )?;
        let rows = stmt
            .query_map([limit as i64], |row| outbox_change(row, device))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Local changes the server refused, oldest first, with the reason.
    pub fn refused_changes(&self) -> Result<Vec<RefusedChange>, StoreError> {
        let device = self
            .sync_state()?
            .map(|s| s.device_id)
            .unwrap_or_else(Uuid::nil);
        let mut stmt = self.conn.prepare_cached(
            "SELECT mutation_id, record_type, record_id, person_id, field, value, base_version,
                    hlc_wall, hlc_counter, hlc_node, refusal
             FROM outbox WHERE state = 'refused' ORDER BY rowid",
        )?;
        let rows = stmt
            .query_map([], |row| {
                Ok(RefusedChange {
                    change: outbox_change(row, device)?,
                    reason: row.get::<_, Option<String>>(10)?.unwrap_or_default(),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Takes the server's answer to a push: accepted changes wait to come back in a pull
    /// (they keep protecting their register until then); refused ones are kept aside with
    /// their reason and not sent again (`clock_ahead` ones are, once re-stamped).
    pub fn record_push_results(
        &mut self,
        results: &[MutationResult],
    ) -> Result<PushReport, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut report = PushReport::default();
        {
            let mut accept = tx.prepare_cached(
                "UPDATE outbox SET state = 'acked', refusal = NULL WHERE mutation_id = ?1",
            )?;
            let mut refuse = tx.prepare_cached(
                "UPDATE outbox SET state = 'refused', refusal = ?2 WHERE mutation_id = ?1",
            )?;
            for result in results {
                let id = result.mutation_id.to_string();
                match &result.outcome {
                    Outcome::Applied { .. } | Outcome::Duplicate { .. } => {
                        accept.execute([&id])?;
                        report.accepted += 1;
                    }
                    Outcome::Conflict { .. } => {
                        accept.execute([&id])?;
                        report.accepted += 1;
                        report.conflicts += 1;
                    }
                    Outcome::Refused { reason } => {
                        refuse.execute(params![id, refusal_text(*reason)])?;
                        if *reason == RefusalReason::ClockAhead {
                            report.clock_ahead += 1;
                        } else {
                            report.refused += 1;
                        }
                    }
                }
            }
        }
        tx.commit()?;
        Ok(report)
    }

    /// After a `clock_ahead` refusal, once this laptop's clock agrees with the server's again
    /// (`server_time_ms` of the last answer): moves the case file's clock back to `now_ms` and
    /// stamps the refused changes again, in their order, so they are pushed again. Returns how
    /// many were re-stamped; none while the clock is still more than the drift bound ahead.
    pub fn restamp_clock_ahead(
        &mut self,
        now_ms: u64,
        server_time_ms: u64,
    ) -> Result<usize, StoreError> {
        if now_ms.saturating_sub(server_time_ms) > tandem_sync::MAX_DRIFT_MS / 2 {
            return Ok(0);
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let rows: Vec<i64> = tx
            .prepare(
                "SELECT rowid FROM outbox WHERE state = 'refused' AND refusal = 'clock_ahead'
                 ORDER BY rowid",
            )?
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        if rows.is_empty() {
            return Ok(0);
        }
        // The stamps handed out while the clock was wrong were refused: start again from now.
        let node = outbox::clock(&tx)?.node;
        outbox::store_clock(&tx, &Hlc::zero(node).tick(now_ms))?;
        for rowid in &rows {
            let stamp = outbox::next_stamp(&tx, now_ms)?;
            tx.execute(
                "UPDATE outbox SET state = 'pending', refusal = NULL, hlc_wall = ?2,
                     hlc_counter = ?3 WHERE rowid = ?1",
                params![rowid, stamp.wall_ms as i64, stamp.counter],
            )?;
        }
        tx.commit()?;
        Ok(rows.len())
    }

    /// Applies one pull page in one transaction: removals first (each person with everything
    /// attached, finalised diagnostics included), then the changes in order, then the cursor.
    /// A register with a local edit not yet back from the server keeps its local value.
    pub fn apply_pull_page(&mut self, page: &PullResponse) -> Result<PageReport, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut report = PageReport::default();
        for person in &page.removals {
            purge_person(&tx, *person)?;
            report.removed += 1;
        }
        let has_outbox: bool =
            tx.query_row("SELECT EXISTS (SELECT 1 FROM outbox)", [], |row| row.get(0))?;
        let mut apply = Apply::new(&tx, has_outbox);
        let mut latest = None;
        if let Some(snapshot) = &page.snapshot {
            latest = apply.snapshot(snapshot, &mut report)?;
        }
        for change in &page.changes {
            apply.change(change, &mut report)?;
        }
        apply.show_winners(&mut report)?;
        apply.flush()?;
        let latest = latest.max(page.changes.iter().map(|v| v.change.hlc).max());
        if let Some(latest) = latest {
            // A local edit made after seeing these changes must sort after them.
            let clock = outbox::clock(&tx)?;
            if let Ok(next) = clock.observe(&latest, outbox::now_ms()) {
                outbox::store_clock(&tx, &next)?;
            }
        }
        let updated = tx.execute(
            "UPDATE sync_state SET cursor = ?1, last_synced_at = ?2 WHERE singleton = 1",
            params![page.cursor.0, timestamp(Utc::now())],
        )?;
        if updated == 0 {
            return Err(StoreError::NotEnrolled);
        }
        tx.commit()?;
        Ok(report)
    }

    /// Open conflicts, person by person.
    pub fn conflicts(&self) -> Result<Vec<OpenConflict>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {RECORD_COLUMNS} FROM sync_record
             WHERE conflicts > 0 ORDER BY person_id, record_id"
        ))?;
        let mut resolving = self.conn.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE record_id = ?1 AND register = ?2
                 AND state = 'pending' AND base_version >= ?3)",
        )?;
        let mut rows = stmt.query([])?;
        let mut conflicts = Vec::new();
        while let Some(row) = rows.next()? {
            for reg in record_row(row)?.in_conflict() {
                let resolving: bool = resolving.query_row(
                    params![reg.record_id.to_string(), reg.register, reg.version as i64],
                    |row| row.get(0),
                )?;
                conflicts.push(open_conflict(reg, resolving));
            }
        }
        Ok(conflicts)
    }

    /// The devices that wrote a value of an open conflict, other than this laptop, whose author
    /// this file cannot name yet (see [`CaseFile::store_authors`]).
    pub fn unnamed_conflict_authors(&self) -> Result<Vec<Uuid>, StoreError> {
        let own: Option<String> = self
            .conn
            .query_row("SELECT device_id FROM sync_state", [], |row| row.get(0))
            .optional()?;
        let own = own.as_deref().map(parse_uuid).transpose()?;
        let named: std::collections::HashSet<Uuid> = self.conflict_authors()?.into_keys().collect();
        let mut devices: Vec<Uuid> = self
            .conflicts()?
            .iter()
            .flat_map(|c| c.values.iter().map(|v| v.device_id))
            .filter(|d| Some(*d) != own && !named.contains(d))
            .collect();
        devices.sort();
        devices.dedup();
        Ok(devices)
    }

    /// Records who devices act for (caseworker or device name, structure), as the server said.
    pub fn store_authors(&mut self, authors: &[tandem_sync::AuthorInfo]) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO sync_authors (device_id, name, structure) VALUES (?1, ?2, ?3)
                 ON CONFLICT (device_id) DO UPDATE SET name = excluded.name,
                     structure = excluded.structure",
            )?;
            for a in authors {
                stmt.execute(params![a.device_id.to_string(), a.name, a.structure])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The named authors: device → (caseworker or device name, structure).
    pub fn conflict_authors(&self) -> Result<HashMap<Uuid, (String, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT device_id, name, structure FROM sync_authors")?;
        let mut rows = stmt.query([])?;
        let mut authors = HashMap::new();
        while let Some(row) = rows.next()? {
            let device: String = row.get(0)?;
            authors.insert(parse_uuid(&device)?, (row.get(1)?, row.get(2)?));
        }
        Ok(authors)
    }

    /// Resolves a conflict by choosing one of its values: the record shows it, and an ordinary
    /// local edit carrying it, made after pulling every competing value, goes to the outbox;
    /// once pushed and pulled back, the conflict closes on every laptop. (Any other edit of the
    /// register made now resolves it too.) Returns the new change's mutation id.
    pub fn resolve_conflict(
        &mut self,
        record_id: Uuid,
        register: &str,
        chosen: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Uuid, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let heads = registers::find_register(&tx, record_id, register)?
            .ok_or(StoreError::NotFound)?
            .heads;
        let choice = heads
            .iter()
            .find(|h| h.change.mutation_id == chosen)
            .ok_or(StoreError::NotFound)?
            .clone();
        let mut apply = Apply::new(&tx, true);
        apply.show(&choice)?;
        apply.flush()?;
        let mutation = outbox::record(
            &tx,
            &Target {
                entity: &choice.change.entity,
                record_id: choice.change.record_id,
                person_id: choice.change.person_id,
                field: &choice.change.field,
            },
            &choice.change.value,
            now,
        )?;
        tx.commit()?;
        Ok(mutation)
    }

    /// The counters the sync indicator shows.
    pub fn sync_counts(&self) -> Result<SyncCounts, StoreError> {
        let count = |sql: &str| -> Result<u64, StoreError> {
            let n: i64 = self.conn.query_row(sql, [], |row| row.get(0))?;
            Ok(n.unsigned_abs())
        };
        Ok(SyncCounts {
            pending: count("SELECT count(*) FROM outbox WHERE state = 'pending'")?,
            refused: count("SELECT count(*) FROM outbox WHERE state = 'refused'")?,
            conflicts: count(
                "SELECT coalesce(sum(conflicts), 0) FROM sync_record WHERE conflicts > 0",
            )?,
        })
    }

    /// Erases every person, diagnostic, follow-up file, review meeting, pending change and sync
    /// record of the case file (a
    /// revoked device). The profile stays; the app deletes the file itself when it can.
    pub fn wipe_synced_data(&mut self) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(
            "INSERT OR IGNORE INTO sync_purge (person_id) SELECT DISTINCT person_id FROM diagnostics;
             DELETE FROM diagnostics;
             DELETE FROM sync_purge;
             DELETE FROM followup;
             DELETE FROM review_meetings;
             DELETE FROM person;
             DELETE FROM outbox;
             DELETE FROM sync_record;
             DELETE FROM sync_authors;
             DELETE FROM sync_state;",
        )?;
        tx.commit()?;
        // Overwrite the freed pages' contents on disk, not only unlink them.
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE); VACUUM;")?;
        Ok(())
    }
}

/// A register in conflict as the conflicts screen lists it.
fn open_conflict(reg: RegisterRow, resolving: bool) -> OpenConflict {
    OpenConflict {
        field: reg
            .heads
            .first()
            .map(|h| h.change.field.clone())
            .unwrap_or_default(),
        values: reg
            .heads
            .iter()
            .enumerate()
            .map(|(i, h)| ConflictValue {
                mutation_id: h.change.mutation_id,
                value: h.change.value.clone(),
                device_id: h.change.device_id,
                hlc: h.change.hlc,
                version: h.version,
                winner: i == 0,
            })
            .collect(),
        person_id: reg.person_id,
        entity: reg.entity,
        record_id: reg.record_id,
        register: reg.register,
        resolving,
    }
}

fn refusal_text(reason: RefusalReason) -> String {
    serde_json::to_value(reason)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "refused".into())
}

fn parse_uuid(text: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|_| StoreError::Damaged)
}

fn outbox_change(row: &rusqlite::Row<'_>, device: Uuid) -> rusqlite::Result<Change> {
    let uuid = |i: usize| -> rusqlite::Result<Uuid> {
        let text: String = row.get(i)?;
        Uuid::parse_str(&text).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
        })
    };
    let value: String = row.get(5)?;
    Ok(Change {
        mutation_id: uuid(0)?,
        entity: row.get(1)?,
        record_id: uuid(2)?,
        person_id: uuid(3)?,
        field: row.get(4)?,
        value: serde_json::from_str(&value).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(5, rusqlite::types::Type::Text, Box::new(e))
        })?,
        base_version: row.get::<_, Option<i64>>(6)?.map(|v| v.max(0) as u64),
        hlc: Hlc {
            wall_ms: row.get::<_, i64>(7)?.max(0) as u64,
            counter: row.get(8)?,
            node: uuid(9)?,
        },
        device_id: device,
    })
}

/// Deletes a person with everything attached. Finalised diagnostics may only be deleted
/// through here (the `sync_purge` row lifts the trigger for this person, in this transaction).
pub(crate) fn purge_person(conn: &Connection, person: Uuid) -> Result<(), StoreError> {
    let id = person.to_string();
    conn.prepare_cached("INSERT OR IGNORE INTO sync_purge (person_id) VALUES (?1)")?
        .execute([&id])?;
    conn.prepare_cached("DELETE FROM diagnostics WHERE person_id = ?1")?
        .execute([&id])?;
    conn.prepare_cached("DELETE FROM sync_purge WHERE person_id = ?1")?
        .execute([&id])?;
    crate::followup::purge_person(conn, person)?;
    conn.prepare_cached("DELETE FROM sync_record WHERE person_id = ?1")?
        .execute([&id])?;
    conn.prepare_cached("DELETE FROM outbox WHERE person_id = ?1")?
        .execute([&id])?;
    conn.prepare_cached("DELETE FROM person WHERE id = ?1")?
        .execute([&id])?;
    Ok(())
}

/// One register as the page sees it.
struct RegisterState {
    person_id: Uuid,
    entity: String,
    version: u64,
    shown: Option<Uuid>,
    heads: Vec<Versioned>,
    dirty: bool,
    /// Whether a local edit may protect it (this file has an outbox and knew the person).
    check_local: bool,
    /// Whether it is in `Apply::order` (touched by this page).
    queued: bool,
}

impl RegisterState {
    /// A register never pulled. It may still have been edited here: then the record shows the
    /// local value, and the change is recognised as this laptop's own when it comes back.
    fn new(c: &Change) -> Self {
        RegisterState {
            person_id: c.person_id,
            entity: c.entity.clone(),
            version: 0,
            shown: None,
            heads: Vec::new(),
            dirty: false,
            check_local: false,
            queued: false,
        }
    }
}

/// The working set of one page: records and registers touched, written once at the end.
struct Apply<'c> {
    conn: &'c Connection,
    has_outbox: bool,
    /// Persons touched, and whether changed. One the file did not hold is dirty from the start:
    /// its row is written once, by `flush`, like every other.
    persons: HashMap<Uuid, (Person, bool)>,
    diagnostics: HashMap<Uuid, (Diagnostic, bool)>,
    /// Diagnostics this page created, in the order it did: `flush` inserts them (after their
    /// persons' rows), then updates the other dirty ones.
    created: Vec<Uuid>,
    /// Follow-up files by person.
    followups: HashMap<Uuid, (FollowUp, bool)>,
    /// Registers of the records touched: all of a record's, since its row holds them together.
    registers: HashMap<(Uuid, String), RegisterState>,
    /// Records (id, entity) whose row has been read into `registers` (or that the file does not
    /// hold).
    loaded: std::collections::HashSet<(Uuid, String)>,
    /// Per person seen in this page: whether the case file held nothing of them before it
    /// (no row, no register). Their registers are all new: no lookups (the first sync).
    fresh: HashMap<Uuid, bool>,
    /// Registers in the order the page first touched them.
    order: Vec<(Uuid, String)>,
}

impl<'c> Apply<'c> {
    fn new(conn: &'c Connection, has_outbox: bool) -> Self {
        Apply {
            conn,
            has_outbox,
            persons: HashMap::new(),
            diagnostics: HashMap::new(),
            created: Vec::new(),
            followups: HashMap::new(),
            registers: HashMap::new(),
            loaded: std::collections::HashSet::new(),
            fresh: HashMap::new(),
            order: Vec::new(),
        }
    }

    fn is_fresh(&mut self, person: Uuid) -> Result<bool, StoreError> {
        if let Some(&fresh) = self.fresh.get(&person) {
            return Ok(fresh);
        }
        let id = person.to_string();
        let known: bool = self
            .conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM person WHERE id = ?1)
                     OR EXISTS (SELECT 1 FROM sync_record WHERE person_id = ?1)",
            )?
            .query_row([&id], |row| row.get(0))?;
        self.fresh.insert(person, !known);
        Ok(!known)
    }

    fn change(&mut self, v: &Versioned, report: &mut PageReport) -> Result<(), StoreError> {
        let c = &v.change;
        let key = register_key(&c.entity, &c.field, &c.value, c.mutation_id);
        let slot = (c.record_id, key);
        let fresh = self.is_fresh(c.person_id)?;
        if !fresh && self.loaded.insert((c.record_id, c.entity.clone())) {
            self.load_record(c)?;
        }
        let mut reg = self
            .registers
            .remove(&slot)
            .unwrap_or_else(|| RegisterState::new(c));
        if !reg.queued {
            reg.queued = true;
            self.order.push(slot.clone());
        }
        // A person new to this file has no local edits: nothing to protect or to recognise.
        let has_outbox = self.has_outbox && !fresh;
        if reg
            .heads
            .iter()
            .any(|h| h.change.mutation_id == c.mutation_id)
        {
            report.ignored += 1;
            self.registers.insert(slot, reg);
            return Ok(());
        }
        // One of this laptop's own changes coming back: it is journalled, and the record
        // already shows it (or a later local edit of the same register).
        let own = has_outbox
            && self
                .conn
                .prepare_cached("DELETE FROM outbox WHERE mutation_id = ?1")?
                .execute([c.mutation_id.to_string()])?
                > 0;
        let was_conflict = reg.heads.len() > 1;
        if reg.heads.is_empty() {
            // A new register (every register of a first sync): its one head.
            reg.heads.push(v.clone());
        } else {
            let mut register = Register::default();
            for head in reg.heads.drain(..) {
                register.insert(head);
            }
            register.insert(v.clone());
            reg.heads = register.heads().into_iter().cloned().collect();
        }
        reg.version = reg.version.max(v.version);
        reg.dirty = true;
        if own {
            reg.shown = Some(c.mutation_id);
        }
        let in_conflict = reg.heads.len() > 1;
        if in_conflict && !was_conflict {
            report.conflicts_opened += 1;
        } else if was_conflict && !in_conflict {
            report.conflicts_closed += 1;
        }
        report.applied += 1;
        reg.check_local |= has_outbox;
        self.registers.insert(slot, reg);
        Ok(())
    }

    /// Makes every register touched by the page show its winner, in the order the page first
    /// touched them (so a diagnostic is created before its edits, a note before its text).
    /// Only the final winner is applied: the many superseded autosaves of one field cost a
    /// register update each, not an edit of the record each. A register with a local edit not
    /// back from the server keeps the local value.
    fn show_winners(&mut self, report: &mut PageReport) -> Result<(), StoreError> {
        for slot in std::mem::take(&mut self.order) {
            let Some(reg) = self.registers.get(&slot) else {
                continue;
            };
            let Some(winner) = reg.heads.first() else {
                continue;
            };
            if !reg.dirty || reg.shown == Some(winner.change.mutation_id) {
                continue;
            }
            if reg.check_local && self.protected(&slot)? {
                report.kept_local += 1;
                continue;
            }
            let winner = winner.clone();
            self.show(&winner)?;
            if let Some(reg) = self.registers.get_mut(&slot) {
                reg.shown = Some(winner.change.mutation_id);
            }
        }
        Ok(())
    }

    /// Reads the registers of a change's record into the working set.
    fn load_record(&mut self, c: &Change) -> Result<(), StoreError> {
        let Some(record) = registers::load_record(self.conn, c.record_id, &c.entity)? else {
            return Ok(());
        };
        for (key, reg) in record.registers {
            self.registers.insert(
                (c.record_id, key),
                RegisterState {
                    person_id: record.person_id,
                    entity: record.entity.clone(),
                    version: reg.version,
                    shown: reg.shown,
                    heads: reg.heads,
                    dirty: false,
                    check_local: false,
                    queued: false,
                },
            );
        }
        Ok(())
    }

    /// Whether a local edit of this register has not come back from the server yet: pending,
    /// accepted but not pulled, or to be re-stamped after a `clock_ahead` refusal.
    fn protected(&self, (record, key): &(Uuid, String)) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM outbox WHERE record_id = ?1 AND register = ?2
                     AND (state IN ('pending', 'acked') OR refusal = 'clock_ahead'))",
            )?
            .query_row(params![record.to_string(), key], |row| row.get(0))?)
    }

    /// Makes the record show a change's value.
    fn show(&mut self, v: &Versioned) -> Result<(), StoreError> {
        let c = &v.change;
        let at = Utc
            .timestamp_millis_opt(c.hlc.wall_ms.min(i64::MAX as u64) as i64)
            .single()
            .unwrap_or_else(Utc::now);
        if c.entity == tandem_sync::ENTITY_PERSON {
            let Some(field) = PersonField::ALL
                .iter()
                .copied()
                .find(|f| f.name() == c.field)
            else {
                log::warn!("pulled change of an unknown person field ignored");
                return Ok(());
            };
            let Some(value) = field_value(field, &c.value) else {
                log::warn!("pulled person value of the wrong type ignored");
                return Ok(());
            };
            let person = self.person(c.person_id, at)?;
            person.0.apply(field, value);
            person.0.updated_at = person.0.updated_at.max(at);
            person.1 = true;
            return Ok(());
        }
        if c.entity == tandem_sync::ENTITY_FOLLOWUP {
            return self.show_follow_up(v, at);
        }
        if c.entity != tandem_sync::ENTITY_DIAGNOSTIC {
            return Ok(());
        }
        if c.field == "create" {
            return self.create_diagnostic(v, at);
        }
        let Ok(edit) = DiagnosticEdit::deserialize(&c.value) else {
            log::warn!("pulled diagnostic edit of an unknown kind ignored");
            return Ok(());
        };
        let Some(entry) = self.diagnostic(c.record_id, c.person_id)? else {
            log::warn!("pulled edit of a diagnostic this laptop does not hold ignored");
            return Ok(());
        };
        let ctx = EditContext {
            referentiel: referentiel::embedded(),
            rome: RomeIndex::embedded(),
            now: at,
            by: "",
        };
        match rules::apply_edit(&mut entry.0, &edit, &ctx) {
            Ok(()) => entry.1 = true,
            // The server accepted it; the rules here refused it (e.g. an edit of a note this
            // laptop was not sent). Kept in the register, not shown.
            Err(e) => log::warn!("pulled diagnostic edit not applicable here: {e:?}"),
        }
        Ok(())
    }

    /// Applies a pulled follow-up edit to the person's file (kept in the working set, written
    /// once by `flush`). An edit the rules refuse here stays in its register, not shown.
    fn show_follow_up(&mut self, v: &Versioned, at: DateTime<Utc>) -> Result<(), StoreError> {
        let c = &v.change;
        if c.record_id != c.person_id {
            log::warn!("pulled follow-up edit not keyed by its person ignored");
            return Ok(());
        }
        let Ok(edit) = FollowUpEdit::deserialize(&c.value) else {
            log::warn!("pulled follow-up edit of an unknown kind ignored");
            return Ok(());
        };
        // The author's laptop checked dates against its own day; its day may be ahead of UTC.
        let ctx = FollowUpContext {
            today: at.date_naive().succ_opt().unwrap_or(chrono::NaiveDate::MAX),
        };
        let entry = self.follow_up_file(c.person_id, at)?;
        let mut updated = entry.0.clone();
        match followup::apply(&mut updated, &edit, ctx) {
            Ok(()) => {
                if updated != entry.0 {
                    entry.0 = updated;
                    entry.1 = true;
                }
            }
            Err(e) => log::warn!(
                "pulled follow-up edit not applicable here: {}",
                follow_up_refusal(&e)
            ),
        }
        Ok(())
    }

    fn follow_up_file(
        &mut self,
        person: Uuid,
        at: DateTime<Utc>,
    ) -> Result<&mut (FollowUp, bool), StoreError> {
        if !self.followups.contains_key(&person) {
            // The file belongs to a person row (foreign key): a blank one if none yet.
            self.person(person, at)?;
            let stored = if self.is_fresh(person)? {
                None
            } else {
                crate::followup::load_follow_up(self.conn, person)?
            };
            let file = stored.unwrap_or_else(|| FollowUp::new(person));
            self.followups.insert(person, (file, false));
        }
        Ok(self.followups.get_mut(&person).expect("inserted above"))
    }

    /// The person in the working set, created blank when a change arrives for an unknown one
    /// (written by `flush`).
    fn person(&mut self, id: Uuid, at: DateTime<Utc>) -> Result<&mut (Person, bool), StoreError> {
        if !self.persons.contains_key(&id) {
            let stored = if self.is_fresh(id)? {
                Err(StoreError::NotFound)
            } else {
                load_person(self.conn, id)
            };
            let entry = match stored {
                Ok(p) => (p, false),
                Err(StoreError::NotFound) => (Person::blank(id, at), true),
                Err(e) => return Err(e),
            };
            self.persons.insert(id, entry);
        }
        Ok(self.persons.get_mut(&id).expect("inserted above"))
    }

    /// The diagnostic in the working set, read from the file unless its person is new to it.
    fn diagnostic(
        &mut self,
        id: Uuid,
        person: Uuid,
    ) -> Result<Option<&mut (Diagnostic, bool)>, StoreError> {
        if !self.diagnostics.contains_key(&id) {
            if self.is_fresh(person)? {
                return Ok(None);
            }
            match load_diagnostic(self.conn, id) {
                Ok(d) => {
                    self.diagnostics.insert(id, (d, false));
                }
                Err(StoreError::NotFound) => return Ok(None),
                Err(e) => return Err(e),
            }
        }
        Ok(self.diagnostics.get_mut(&id))
    }

    /// A pulled diagnostic joins the working set; `flush` inserts it.
    fn create_diagnostic(&mut self, v: &Versioned, at: DateTime<Utc>) -> Result<(), StoreError> {
        let c = &v.change;
        if self.diagnostic(c.record_id, c.person_id)?.is_some() {
            return Ok(());
        }
        let Ok(mut d) = Diagnostic::deserialize(&c.value) else {
            log::warn!("pulled diagnostic that does not parse ignored");
            return Ok(());
        };
        d.id = c.record_id;
        d.person_id = c.person_id;
        self.person(c.person_id, at)?;
        self.created.push(d.id);
        self.diagnostics.insert(d.id, (d, true));
        Ok(())
    }

    fn flush(self) -> Result<(), StoreError> {
        let Apply {
            conn,
            persons,
            mut diagnostics,
            created,
            followups,
            registers,
            ..
        } = self;
        if persons.values().any(|(_, dirty)| *dirty) {
            let mut stmt = conn.prepare_cached(&upsert_person_sql())?;
            for (person, _) in persons.values().filter(|(_, dirty)| *dirty) {
                stmt.execute(params_from_iter(person_rows::insert_params(person)))?;
            }
        }
        for id in &created {
            if let Some((d, _)) = diagnostics.remove(id) {
                insert_diagnostic(conn, &d)?;
            }
        }
        for (d, _) in diagnostics.values().filter(|(_, dirty)| *dirty) {
            crate::diagnostics::update_row(conn, d)?;
        }
        let now = Utc::now();
        // In person order: when two files disagree on a meeting's date or structures (edited
        // concurrently), the meeting shows the same one on every run.
        let mut files: Vec<&FollowUp> = followups
            .values()
            .filter(|(_, dirty)| *dirty)
            .map(|(file, _)| file)
            .collect();
        files.sort_by_key(|file| file.person_id);
        for file in files {
            crate::followup::write_follow_up(conn, file, now)?;
            crate::followup::project_meetings(conn, file)?;
        }
        // Each record with a changed register is written whole, its registers in key order.
        type Regs<'r> = Vec<(&'r String, &'r RegisterState)>;
        let mut by_record: std::collections::BTreeMap<(Uuid, &str), Regs<'_>> =
            std::collections::BTreeMap::new();
        for ((record, key), reg) in &registers {
            by_record
                .entry((*record, reg.entity.as_str()))
                .or_default()
                .push((key, reg));
        }
        for ((record, entity), mut regs) in by_record {
            if !regs.iter().any(|(_, reg)| reg.dirty) {
                continue;
            }
            regs.sort_unstable_by_key(|(key, _)| *key);
            registers::write_record(
                conn,
                record,
                regs[0].1.person_id,
                entity,
                regs.iter().map(|(key, reg)| RegisterOut {
                    key,
                    version: reg.version,
                    shown: reg.shown,
                    heads: &reg.heads,
                }),
            )?;
        }
        Ok(())
    }
}

/// Inserts a pulled diagnostic. One that clashes with the series held here (two laptops amended
/// the same version concurrently: the series rules, one draft and unique version numbers, keep
/// the first) is not shown; it stays in its register.
fn insert_diagnostic(conn: &Connection, d: &Diagnostic) -> Result<(), StoreError> {
    let result = crate::diagnostics::insert_row(conn, d)?;
    match result {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            log::warn!("pulled diagnostic clashes with the series held here; not shown");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Why a pulled follow-up edit was refused, without any of its content (no personal data in
/// the log: validation messages name fields only, `UnknownCafReason` would carry the code).
fn follow_up_refusal(e: &FollowUpError) -> String {
    match e {
        FollowUpError::Validation(v) => format!("invalid {}", v.field),
        FollowUpError::Unknown(what) => format!("unknown {what}"),
        FollowUpError::EndBeforeStart { field } => format!("{field} before its start"),
        FollowUpError::UnknownCafReason(_) => "unknown CAF reason code".into(),
    }
}

fn upsert_person_sql() -> String {
    let mut sql = String::from(person_rows::INSERT_PERSON);
    sql.push_str(" ON CONFLICT (id) DO UPDATE SET ");
    let columns: Vec<String> = PersonField::ALL
        .iter()
        .map(|f| f.name())
        .chain(["updated_at", "search_key", "sort_key"])
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    sql.push_str(&columns.join(", "));
    sql
}

/// A person field's wire value (string, ISO date or null, boolean) as the domain holds it;
/// `None` when it has the wrong type.
fn field_value(field: PersonField, value: &serde_json::Value) -> Option<FieldValue> {
    use PersonField as F;
    match field {
        F::BirthDate | F::RsaSince | F::JobSeekerSince | F::RqthUntil => match value {
            serde_json::Value::Null => Some(FieldValue::Date(None)),
            serde_json::Value::String(s) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .map(|d| FieldValue::Date(Some(d))),
            _ => None,
        },
        F::JobSeeker | F::Rqth | F::DroitsDevoirs | F::Qpv => value.as_bool().map(FieldValue::Flag),
        F::RsaStatus => value
            .as_str()
            .and_then(RsaStatus::parse)
            .map(|s| FieldValue::Text(s.as_str().to_string())),
        _ => value.as_str().map(|s| FieldValue::Text(s.to_string())),
    }
}

impl Apply<'_> {
    /// A snapshot page's registers: each takes its heads as if the journal had been replayed
    /// (the superseded changes are not sent), and the register's highest version (a
    /// superseded change may have come after every head). Returns the latest clock seen.
    fn snapshot(
        &mut self,
        snapshot: &Snapshot,
        report: &mut PageReport,
    ) -> Result<Option<Hlc>, StoreError> {
        let registers = snapshot.registers().ok_or(StoreError::Damaged)?;
        if self.has_outbox {
            // This laptop's changes the server journalled before the snapshot point are in it,
            // but only the winners come back: the superseded ones would stay 'acked' and
            // protect their registers for ever. The engine pushes before it pulls, so what is
            // acked now was journalled before the snapshot began, or (a sync resumed after a
            // crash) comes back in the journal after it, where it applies as any change.
            let mut sweep = self
                .conn
                .prepare_cached("DELETE FROM outbox WHERE state = 'acked' AND person_id = ?1")?;
            let mut last = None;
            for record in &snapshot.records {
                if last != Some(record.person_id) {
                    sweep.execute([record.person_id.to_string()])?;
                    last = Some(record.person_id);
                }
            }
        }
        let mut latest = None;
        for (heads, version) in &registers {
            for head in heads {
                self.change(head, report)?;
                latest = latest.max(Some(head.change.hlc));
            }
            let Some(winner) = heads.first() else {
                continue;
            };
            let c = &winner.change;
            let key = register_key(&c.entity, &c.field, &c.value, c.mutation_id);
            if let Some(reg) = self.registers.get_mut(&(c.record_id, key)) {
                if *version > reg.version {
                    reg.version = *version;
                    reg.dirty = true;
                }
            }
        }
        Ok(latest)
    }
}
