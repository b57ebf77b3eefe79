//! The snapshot form of a first pull (docs/sync-protocol.md, « Snapshot »): per record of the
//! device's scope, the heads of each register and its highest version, computed from the
//! journal as it stood when the first page was read, person by person; then a journal cursor
//! at that point, so the journal that follows holds exactly what committed after it.
//!
//! The snapshot point `H` is the head sequence number read in the first page's transaction.
//! Every page reads the changes with `seq <= H` of persons granted at or before `H`, with the
//! same access and social-note rules as a journal page. Whatever commits later has a higher
//! `seq` (or `granted_seq`, or `revoked_seq`) and comes in the journal after `(H, ∞)`.

use std::collections::{BTreeSet, HashMap};

use tandem_sync::{
    Cursor, PullRequest, PullResponse, Register, RegisterHeads, SnapshotBuilder, Versioned,
};
use uuid::Uuid;

use crate::args;
use crate::audit;
use crate::db::{self, Db};
use crate::store::{
    encode_cursor, read_entries, redact_social_notes, versioned_at_raw, Device, Role, SharedPages,
    Store, StoreError, DEFAULT_PULL_LIMIT, JOURNAL_COLUMNS, MAX_PULL_LIMIT,
};

const SNAPSHOT_CURSOR_FORMAT: u8 = 2;

/// Where a snapshot stands: its point, and the last person sent (`None` before the first).
fn encode_snapshot_cursor(head: i64, after: Uuid) -> Cursor {
    let mut bytes = vec![SNAPSHOT_CURSOR_FORMAT];
    bytes.extend_from_slice(&head.to_be_bytes());
    bytes.extend_from_slice(after.as_bytes());
    Cursor::from_bytes(&bytes)
}

fn decode_snapshot_cursor(cursor: &Cursor) -> Option<(i64, Uuid)> {
    let bytes = cursor.to_bytes()?;
    if bytes.len() != 25 || bytes[0] != SNAPSHOT_CURSOR_FORMAT {
        return None;
    }
    let head = i64::from_be_bytes(bytes[1..9].try_into().ok()?);
    let after = Uuid::from_slice(&bytes[9..25]).ok()?;
    Some((head, after))
}

/// A pull as a reader takes it ([`Store::read_pulls`]): its device already admitted.
#[derive(Debug, Clone)]
pub struct ReaderPull {
    pub device: Device,
    pub request: PullRequest,
    pub now_ms: i64,
}

impl Store {
    /// `GET /v1/pull` on a reader connection, for every pull a reader found queued: all in
    /// one read-only snapshot, taken after each of them arrived. Each gets a snapshot page for
    /// a first pull that asks for one (or the next page of a snapshot under way), else a journal
    /// page, the journal pages that several of them ask for read once ([`SharedPages`]); and
    /// the audit rows the caller appends before the page leaves the server. `each` gets every
    /// pull's answer as soon as it is read.
    pub fn read_pulls(
        &mut self,
        pulls: &[ReaderPull],
        mut each: impl FnMut(usize, Result<(PullResponse, Vec<audit::Entry>), StoreError>),
    ) -> Result<(), StoreError> {
        let mut tx = self.db_mut().read_tx()?;
        let journal_pulls = pulls
            .iter()
            .filter(|pull| snapshot_point(&pull.request).is_none());
        let mut shared = SharedPages::new(
            journal_pulls.map(|pull| (&pull.device, &pull.request.cursor, pull.request.limit)),
        );
        for (i, pull) in pulls.iter().enumerate() {
            let (device, request, now_ms) = (&pull.device, &pull.request, pull.now_ms);
            let read = match snapshot_point(request) {
                Some(at) => snapshot_page(&mut tx, device, at, request.limit, now_ms),
                None => {
                    let key = SharedPages::key(device, &request.cursor, request.limit);
                    match shared.get(&key) {
                        Some(page) => Ok(page),
                        None => {
                            let cursor = request.cursor.as_ref();
                            Store::pull_page(&mut tx, device, cursor, request.limit, now_ms)
                                .inspect(|(page, read)| shared.keep(key, page, read))
                        }
                    }
                }
            };
            each(
                i,
                read.map(|(mut page, read)| {
                    page.server_time_ms = now_ms as u64;
                    (page, read_entries(device, now_ms, read))
                }),
            );
        }
        tx.commit()?;
        Ok(())
    }

    /// The same, in one write transaction with its audit rows (tests and tools).
    pub fn pull_request(
        &mut self,
        device: &Device,
        request: &PullRequest,
        now_ms: i64,
    ) -> Result<PullResponse, StoreError> {
        match snapshot_point(request) {
            Some(at) => self.pull_snapshot(device, at, request.limit, now_ms),
            None => self.pull(device, request.cursor.as_ref(), request.limit, now_ms),
        }
    }

    /// One snapshot page with its audit rows, in one write transaction.
    pub fn pull_snapshot(
        &mut self,
        device: &Device,
        at: Option<(i64, Uuid)>,
        limit: Option<u32>,
        now_ms: i64,
    ) -> Result<PullResponse, StoreError> {
        let mut tx = self.db_mut().write_tx()?;
        let (page, read) = snapshot_page(&mut tx, device, at, limit, now_ms)?;
        audit::append_many(&mut tx, &read_entries(device, now_ms, read))?;
        tx.commit()?;
        Ok(page)
    }
}

/// Where a snapshot pull starts: `Some(None)` for a first snapshot page, `Some(Some(..))` for
/// the next page of one under way, `None` for a journal pull.
fn snapshot_point(request: &PullRequest) -> Option<Option<(i64, Uuid)>> {
    match &request.cursor {
        None if request.snapshot => Some(None),
        None => None,
        Some(cursor) => decode_snapshot_cursor(cursor).map(Some),
    }
}

/// One snapshot page: whole persons, about `limit` journal changes' worth (at least one
/// person, however many changes it has), and the records it reads (to audit). Run it in one
/// transaction: every statement must see the same snapshot.
fn snapshot_page(
    tx: &mut Db,
    device: &Device,
    at: Option<(i64, Uuid)>,
    limit: Option<u32>,
    now_ms: i64,
) -> Result<(PullResponse, BTreeSet<String>), StoreError> {
    let limit = limit.unwrap_or(DEFAULT_PULL_LIMIT).clamp(1, MAX_PULL_LIMIT);
    let (head, after) = match at {
        Some((head, after)) => (head, Some(after)),
        None => (db::head_seq(tx)?, None),
    };
    // Whole persons in id order, each read through the journal's person index, until
    // the page holds `limit` changes (at least one person, however many it has).
    let persons = scope_after(tx, device, head, after, limit + 1)?;
    let mut rows = Vec::new();
    let mut used = 0;
    for (person, may_read_social) in &persons {
        if used > 0 && rows.len() >= limit as usize {
            break;
        }
        rows.extend(person_rows(tx, *person, head, *may_read_social)?);
        used += 1;
    }
    // More persons listed than taken, or a full list (some may have had nothing to send).
    let has_more = used < persons.len() || persons.len() > limit as usize;
    let last_person = used.checked_sub(1).map(|i| persons[i].0);
    // Persons removed from this structure's scope up to the snapshot point: a laptop
    // starting over deletes them (a fresh one has none).
    let removals: Vec<Uuid> = if after.is_none() {
        tx.query(
            "SELECT person_id FROM follow_up
                 WHERE structure_id = ?1 AND revoked_seq > 0 AND revoked_seq <= ?2
                 UNION
                 SELECT person_id FROM erasures
                 WHERE structure_id = ?1 AND seq > 0 AND seq <= ?2
                 ORDER BY person_id",
            args![device.structure_id, head],
        )?
        .iter()
        .map(|row| row.uuid(0))
        .collect::<Result<_, _>>()?
    } else {
        Vec::new()
    };
    let mut builder = SnapshotBuilder::new(device.id);
    let mut read = BTreeSet::new();
    let mut start = 0;
    while start < rows.len() {
        let person = rows[start].1.change.person_id;
        let end = rows[start..]
            .iter()
            .position(|r| r.1.change.person_id != person)
            .map_or(rows.len(), |n| start + n);
        add_person(&mut builder, &mut rows[start..end])?;
        read.insert(format!("person:{person}"));
        start = end;
    }
    let more = has_more && last_person.is_some();
    Ok((
        PullResponse {
            removals,
            changes: Vec::new(),
            snapshot: Some(builder.finish()),
            cursor: match (more, last_person) {
                (true, Some(last)) => encode_snapshot_cursor(head, last),
                // The journal after the snapshot point.
                _ => encode_cursor(head, i64::MAX),
            },
            has_more: more,
            server_time_ms: now_ms as u64,
        },
        read,
    ))
}

/// One journal row of a snapshot: its register, the change (value left `null`) and the
/// change's value as stored, parsed only if it is a head.
type SnapshotRow = (String, Versioned, String, bool);

/// The persons of the device's scope at the snapshot point after `after`, in id order, with
/// whether the device may read their social-only notes.
fn scope_after(
    db: &mut Db,
    device: &Device,
    head: i64,
    after: Option<Uuid>,
    limit: u32,
) -> Result<Vec<(Uuid, bool)>, StoreError> {
    let social = device.role == Role::Social;
    // Two statements rather than `(?3 IS NULL OR person_id > ?3)`: with the OR, SQLite could not
    // seek `follow_up_scope_covering`; it read every person of the structure and sorted them, on each
    // page (3 ms a page at 10,000 persons, against 0.1 ms).
    let rows = match after {
        None => db.query(
            "SELECT person_id, share_social_notes FROM follow_up
             WHERE structure_id = ?1 AND consent = 1 AND granted_seq <= ?2
             ORDER BY person_id
             LIMIT ?3",
            args![device.structure_id, head, i64::from(limit)],
        )?,
        Some(after) => db.query(
            "SELECT person_id, share_social_notes FROM follow_up
             WHERE structure_id = ?1 AND consent = 1 AND granted_seq <= ?2 AND person_id > ?3
             ORDER BY person_id
             LIMIT ?4",
            args![device.structure_id, head, after, i64::from(limit)],
        )?,
    };
    rows.iter()
        .map(|row| Ok((row.uuid(0)?, social || row.bool(1)?)))
        .collect()
}

/// One person's changes up to `head`, in commit order, without the social-only notes unless
/// the device may read them.
fn person_rows(
    db: &mut Db,
    person: Uuid,
    head: i64,
    may_read_social: bool,
) -> Result<Vec<SnapshotRow>, StoreError> {
    let sql = format!(
        "SELECT c.register, {JOURNAL_COLUMNS}
         FROM changes c
         LEFT JOIN notes n ON n.note_id = c.note_id
         WHERE c.person_id = ?1 AND c.seq <= ?2
           AND (?3 = 1 OR coalesce(n.social_only, 0) = 0)
         ORDER BY c.seq"
    );
    let mut rows = Vec::new();
    for row in db.query(&sql, args![person, head, may_read_social])? {
        // The value is parsed only for the heads: most changes are superseded autosaves.
        let value = row.text(1 + 6)?;
        let versioned = versioned_at_raw(&row, 1)?;
        rows.push((row.text(0)?, versioned, value, may_read_social));
    }
    Ok(rows)
}

/// Adds one person's records to the page: per register, its heads over every change read.
fn add_person(builder: &mut SnapshotBuilder, rows: &mut [SnapshotRow]) -> Result<(), StoreError> {
    // Records and registers in the order they were first written.
    let mut records: Vec<(String, Uuid)> = Vec::new();
    let mut registers: HashMap<(String, Uuid), Vec<(String, Register)>> = HashMap::new();
    let mut counts: HashMap<(String, Uuid), u64> = HashMap::new();
    let mut raw: HashMap<Uuid, (String, bool)> = HashMap::new();
    let person = rows[0].1.change.person_id;
    for (register, versioned, value, may_read_social) in rows.iter_mut() {
        let key = (versioned.change.entity.clone(), versioned.change.record_id);
        let regs = registers.entry(key.clone()).or_insert_with(|| {
            records.push(key.clone());
            Vec::new()
        });
        *counts.entry(key).or_default() += 1;
        raw.insert(
            versioned.change.mutation_id,
            (std::mem::take(value), *may_read_social),
        );
        match regs.iter_mut().find(|(r, _)| r == register) {
            Some((_, reg)) => {
                reg.insert(versioned.clone());
            }
            None => {
                let mut reg = Register::default();
                reg.insert(versioned.clone());
                regs.push((std::mem::take(register), reg));
            }
        }
    }
    for key in records {
        let regs = registers.remove(&key).unwrap_or_default();
        let mut out = Vec::with_capacity(regs.len());
        for (register, reg) in regs {
            let mut heads: Vec<Versioned> = reg.heads().into_iter().cloned().collect();
            for head in &mut heads {
                let (value, may_read_social) = raw
                    .get(&head.change.mutation_id)
                    .ok_or_else(|| StoreError::Corrupt("snapshot head without value".into()))?;
                head.change.value =
                    serde_json::from_str(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                if !may_read_social {
                    redact_social_notes(&mut head.change);
                }
            }
            out.push(RegisterHeads {
                register,
                heads,
                latest_version: reg.latest_version().unwrap_or(0),
            });
        }
        let changes = counts.get(&key).copied().unwrap_or(0);
        builder.record(person, &key.0, key.1, out, changes);
    }
    Ok(())
}
