//! Follow-up files and review-group meetings in the case file.
//!
//! A person's follow-up is one row of `followup` holding the whole [`FollowUp`] as JSON. Every
//! edit runs the domain rules (`followup::apply`) inside one immediate transaction together with
//! its outbox row (entity `followup`, record = the person, field = the edit's kind, value = the
//! edit), exactly as diagnostic edits are journalled. A refused edit writes nothing.
//!
//! A review meeting is stored whole in `review_meetings`; what it says about each person on its
//! agenda is also written, in the same transaction, to that person's file, which syncs: the
//! agenda entry (`SetReviewAgenda`: the meeting's date and structures, the reason, or taken off)
//! and the decision (`RecordReviewDecision`). A pull rebuilds the meetings from the files it
//! changed ([`project_meetings`]), so a meeting reaches every laptop that follows one of its
//! persons, with only the persons that laptop may see.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use tandem_domain::followup::group::ReviewMeeting;
use tandem_domain::followup::{
    self, agenda_edit, apply_meeting_edit, decision_edit, new_meeting, referent_history, FollowUp,
    FollowUpContext, FollowUpEdit, MeetingEdit, ReviewSubject,
};
use uuid::Uuid;

use crate::diagnostics::internal;
use crate::error::StoreError;
use crate::person_rows::timestamp;
use crate::{outbox, CaseFile};

/// One person of a status review: who they are and their follow-up file (empty when none yet).
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewEntry {
    pub person_id: Uuid,
    /// « Nom Prénom », as the review lists it.
    pub name: String,
    pub birth_date: Option<NaiveDate>,
    pub file: FollowUp,
}

impl ReviewEntry {
    pub fn subject(&self) -> ReviewSubject<'_> {
        ReviewSubject {
            name: &self.name,
            birth_date: self.birth_date,
            file: &self.file,
        }
    }
}

/// Which persons a status review covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewSelection<'a> {
    /// Persons whose current referent is this caseworker, and persons with no referent yet.
    Referent(&'a str),
    /// Every person of the case file.
    Everyone,
}

impl CaseFile {
    /// A person's follow-up file; an empty one when nothing was recorded yet.
    /// [`StoreError::NotFound`] for a person the case file does not hold.
    pub fn follow_up(&self, person_id: Uuid) -> Result<FollowUp, StoreError> {
        require_person(&self.conn, person_id)?;
        Ok(load_follow_up(&self.conn, person_id)?.unwrap_or_else(|| FollowUp::new(person_id)))
    }

    /// Applies one edit to a person's file (the domain rules decide), in one transaction with
    /// its outbox row. A refused edit ([`StoreError::FollowUp`]) writes nothing; an edit that
    /// changes nothing (a retried add) writes nothing either.
    pub fn edit_follow_up(
        &mut self,
        person_id: Uuid,
        edit: &FollowUpEdit,
        ctx: FollowUpContext,
        now: DateTime<Utc>,
    ) -> Result<FollowUp, StoreError> {
        self.edit_follow_up_all(person_id, std::slice::from_ref(edit), ctx, now)
    }

    /// Applies several edits to a person's file, all or nothing, in one transaction with one
    /// outbox row per edit that changed something (bringing a diagnostic's plan in, say).
    pub fn edit_follow_up_all(
        &mut self,
        person_id: Uuid,
        edits: &[FollowUpEdit],
        ctx: FollowUpContext,
        now: DateTime<Utc>,
    ) -> Result<FollowUp, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        require_person(&tx, person_id)?;
        let mut file = load_follow_up(&tx, person_id)?.unwrap_or_else(|| FollowUp::new(person_id));
        if apply_and_journal(&tx, &mut file, edits, ctx, now)? {
            write_follow_up(&tx, &file, now)?;
            tx.commit()?;
        }
        Ok(file)
    }

    /// The persons of a status review with their files, in list order (last, then first name):
    /// one query, bodies parsed only for the persons selected.
    pub fn review_entries(
        &self,
        selection: ReviewSelection<'_>,
    ) -> Result<Vec<ReviewEntry>, StoreError> {
        let referent = match selection {
            ReviewSelection::Referent(name) => Some(name),
            ReviewSelection::Everyone => None,
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT p.id, p.first_name, p.last_name, p.birth_date, f.body
             FROM person p LEFT JOIN followup f ON f.person_id = p.id
             WHERE ?1 IS NULL OR f.referent IS NULL OR f.referent = ?1
             ORDER BY p.sort_key, p.search_key",
        )?;
        let rows = stmt.query_map([referent], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, Option<String>>(3)?,
                row.get::<_, Option<String>>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, first, last, birth, body) = row?;
            let person_id = Uuid::parse_str(&id).map_err(|_| StoreError::Damaged)?;
            let file = match body {
                Some(body) => parse_follow_up(&body)?,
                None => FollowUp::new(person_id),
            };
            out.push(ReviewEntry {
                person_id,
                name: format!("{last} {first}").trim().to_string(),
                birth_date: birth.and_then(|b| NaiveDate::parse_from_str(&b, "%Y-%m-%d").ok()),
                file,
            });
        }
        Ok(out)
    }

    /// Every review meeting, the newest date first.
    pub fn meetings(&self) -> Result<Vec<ReviewMeeting>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT body FROM review_meetings ORDER BY date DESC, id DESC")?;
        let bodies = stmt
            .query_map([], |row| row.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        bodies.iter().map(|b| parse_meeting(b)).collect()
    }

    pub fn meeting(&self, id: Uuid) -> Result<ReviewMeeting, StoreError> {
        load_meeting(&self.conn, id)?.ok_or(StoreError::NotFound)
    }

    /// A new, empty meeting. Creating the same id again returns the stored one unchanged.
    pub fn create_meeting(
        &mut self,
        id: Uuid,
        date: NaiveDate,
    ) -> Result<ReviewMeeting, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(existing) = load_meeting(&tx, id)? {
            return Ok(existing);
        }
        let meeting = new_meeting(id, date);
        write_meeting(&tx, &meeting)?;
        tx.commit()?;
        Ok(meeting)
    }

    /// One edit of a meeting. Putting a person on the agenda needs a person this case file
    /// holds. A decision is also recorded on the person's follow-up file (and journalled for
    /// sync) in the same transaction: both are written or neither.
    pub fn edit_meeting(
        &mut self,
        id: Uuid,
        edit: &MeetingEdit,
        ctx: FollowUpContext,
        now: DateTime<Utc>,
    ) -> Result<ReviewMeeting, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut meeting = load_meeting(&tx, id)?.ok_or(StoreError::NotFound)?;
        if let MeetingEdit::AddCase { person_id, .. } = edit {
            require_person(&tx, *person_id)?;
        }
        apply_meeting_edit(&mut meeting, edit)?;
        // What each person's file must now say about this meeting.
        let records: Vec<(Uuid, FollowUpEdit)> = match edit {
            MeetingEdit::Decide { person_id, .. } => {
                vec![(*person_id, decision_edit(&meeting, *person_id)?)]
            }
            MeetingEdit::AddCase { person_id, .. } | MeetingEdit::RemoveCase { person_id } => {
                vec![(*person_id, agenda_edit(&meeting, *person_id))]
            }
            MeetingEdit::SetDate { .. } | MeetingEdit::SetStructures { .. } => meeting
                .cases
                .iter()
                .map(|c| (c.person_id, agenda_edit(&meeting, c.person_id)))
                .collect(),
        };
        for (person_id, record) in records {
            let mut file =
                load_follow_up(&tx, person_id)?.unwrap_or_else(|| FollowUp::new(person_id));
            if apply_and_journal(&tx, &mut file, &[record], ctx, now)? {
                write_follow_up(&tx, &file, now)?;
            }
        }
        write_meeting(&tx, &meeting)?;
        tx.commit()?;
        Ok(meeting)
    }
}

fn require_person(conn: &Connection, person_id: Uuid) -> Result<(), StoreError> {
    let exists: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM person WHERE id = ?1)")?
        .query_row([person_id.to_string()], |row| row.get(0))?;
    if exists {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}

/// Applies `edits` in order to `file` and journals each that changed it. Returns whether
/// anything changed. On a refusal, `file` may be half-edited: the caller drops the transaction.
fn apply_and_journal(
    conn: &Connection,
    file: &mut FollowUp,
    edits: &[FollowUpEdit],
    ctx: FollowUpContext,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let person_id = file.person_id;
    let mut changed = false;
    for edit in edits {
        let before = file.clone();
        followup::apply(file, edit, ctx)?;
        file.person_id = person_id;
        if *file == before {
            continue;
        }
        changed = true;
        let value = serde_json::to_value(edit).map_err(internal)?;
        let kind = value
            .get("kind")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("edit")
            .to_string();
        outbox::record(
            conn,
            &outbox::Target {
                entity: outbox::FOLLOWUP,
                record_id: person_id,
                person_id,
                field: &kind,
            },
            &value,
            now,
        )?;
    }
    Ok(changed)
}

pub(crate) fn load_follow_up(
    conn: &Connection,
    person_id: Uuid,
) -> Result<Option<FollowUp>, StoreError> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM followup WHERE person_id = ?1")?
        .query_row([person_id.to_string()], |row| row.get(0))
        .optional()?;
    body.map(|b| parse_follow_up(&b)).transpose()
}

/// Writes a file and its listing column (the current referent).
pub(crate) fn write_follow_up(
    conn: &Connection,
    file: &FollowUp,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let referent = referent_history(file).pop().map(|p| p.referent);
    conn.prepare_cached(
        "INSERT INTO followup (person_id, referent, updated_at, body) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (person_id) DO UPDATE SET referent = excluded.referent,
             updated_at = excluded.updated_at, body = excluded.body",
    )?
    .execute(params![
        file.person_id.to_string(),
        referent,
        timestamp(now),
        serde_json::to_string(file).map_err(internal)?,
    ])?;
    Ok(())
}

fn parse_follow_up(body: &str) -> Result<FollowUp, StoreError> {
    serde_json::from_str(body).map_err(|e| {
        log::error!(
            "follow-up body does not parse (line {}, column {})",
            e.line(),
            e.column()
        );
        StoreError::Damaged
    })
}

/// Brings the stored meetings in line with what `file` (just changed by a pull) says about them.
pub(crate) fn project_meetings(conn: &Connection, file: &FollowUp) -> Result<(), StoreError> {
    let mut failed = None;
    let changed = followup::group::meetings_from_file(file, |id| match load_meeting(conn, id) {
        Ok(m) => m,
        Err(e) => {
            failed.get_or_insert(e);
            None
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    for meeting in &changed {
        write_meeting(conn, meeting)?;
    }
    Ok(())
}

fn load_meeting(conn: &Connection, id: Uuid) -> Result<Option<ReviewMeeting>, StoreError> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM review_meetings WHERE id = ?1")?
        .query_row([id.to_string()], |row| row.get(0))
        .optional()?;
    body.map(|b| parse_meeting(&b)).transpose()
}

fn write_meeting(conn: &Connection, m: &ReviewMeeting) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO review_meetings (id, date, body) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET date = excluded.date, body = excluded.body",
    )?
    .execute(params![
        m.id.to_string(),
        m.date.format("%Y-%m-%d").to_string(),
        serde_json::to_string(m).map_err(internal)?,
    ])?;
    Ok(())
}

fn parse_meeting(body: &str) -> Result<ReviewMeeting, StoreError> {
    serde_json::from_str(body).map_err(|e| {
        log::error!(
            "review meeting body does not parse (line {}, column {})",
            e.line(),
            e.column()
        );
        StoreError::Damaged
    })
}

/// Removes a purged person from this laptop entirely: their follow-up file, and their cases
/// (reasons, decisions) in review meetings. Meetings are few; only those naming the person are
/// rewritten.
pub(crate) fn purge_person(conn: &Connection, person_id: Uuid) -> Result<(), StoreError> {
    let id = person_id.to_string();
    conn.prepare_cached("DELETE FROM followup WHERE person_id = ?1")?
        .execute([&id])?;
    let meetings: Vec<String> = conn
        .prepare_cached("SELECT body FROM review_meetings WHERE instr(body, ?1) > 0")?
        .query_map([&id], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    for body in meetings {
        let mut meeting = parse_meeting(&body)?;
        let before = meeting.cases.len();
        meeting.cases.retain(|c| c.person_id != person_id);
        if meeting.cases.len() != before {
            write_meeting(conn, &meeting)?;
        }
    }
    Ok(())
}
