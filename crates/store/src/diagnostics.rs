//! Joint diagnostics in the case file. The whole [`Diagnostic`] is stored as JSON in `body`; the
//! listing columns beside it are rewritten from the body on every write, in the same statement.
//!
//! Every write goes with its outbox entry in one transaction. A finalised row is refused here
//! (typed [`StoreError::Finalised`]) and, should anything get past that, by the schema's
//! triggers.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use tandem_domain::diagnostic::{
    Diagnostic, DiagnosticEdit, DiagnosticStatus, DiagnosticSummary, Orientation,
};
use tandem_domain::diagnostic_rules::DiagnosticError;
use uuid::Uuid;

use crate::error::StoreError;
use crate::{outbox, CaseFile};

const SUMMARY_COLUMNS: &str = "id, series_id, version, status, date, caseworker_name, \
    co_interviewer_name, orientation, finalised_at";

impl CaseFile {
    /// Stores a new draft: version 1 of a series, or an amendment (version n+1). Refuses a
    /// finalised value ([`StoreError::Finalised`]: drafts only start here), a second draft in the
    /// same series ([`StoreError::DraftExists`]) and a version the series already has
    /// ([`StoreError::VersionExists`]). The outbox gets the whole diagnostic.
    pub fn insert_diagnostic(&mut self, d: &Diagnostic) -> Result<(), StoreError> {
        if d.status != DiagnosticStatus::Draft {
            return Err(StoreError::Finalised);
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        insert_diagnostic_row(&tx, d)?;
        tx.commit()?;
        Ok(())
    }

    /// Bulk insert in one transaction, drafts and finalised versions alike, with outbox rows:
    /// for the seed tool and benchmarks. The same series rules apply as for
    /// [`CaseFile::insert_diagnostic`].
    pub fn insert_diagnostics(&mut self, diagnostics: &[Diagnostic]) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for d in diagnostics {
            insert_diagnostic_row(&tx, d)?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn diagnostic(&self, id: Uuid) -> Result<Diagnostic, StoreError> {
        load_diagnostic(&self.conn, id)
    }

    /// A person's diagnostic history: undated drafts first, then the newest interview date
    /// first, and within a date the highest version first.
    pub fn diagnostics_of_person(
        &self,
        person_id: Uuid,
    ) -> Result<Vec<DiagnosticSummary>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM diagnostics WHERE person_id = ?1
             ORDER BY date IS NULL DESC, date DESC, version DESC, created_at DESC"
        ))?;
        let rows = stmt
            .query_map([person_id.to_string()], summary_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// One autosave of a draft, in one immediate transaction: loads the stored diagnostic,
    /// refuses a finalised one with [`StoreError::Finalised`] before calling `apply`, runs
    /// `apply` (its refusal becomes [`StoreError::Diagnostic`] and nothing is written), then
    /// writes the body, the listing columns and the status (`apply` may finalise it), and one
    /// outbox entry holding `edit`. An edit that changes nothing writes nothing.
    ///
    /// The identity of a diagnostic (id, person, series, version) belongs to the store: `apply`
    /// cannot change it.
    pub fn edit_diagnostic<F>(
        &mut self,
        id: Uuid,
        edit: &DiagnosticEdit,
        now: DateTime<Utc>,
        apply: F,
    ) -> Result<Diagnostic, StoreError>
    where
        F: FnOnce(&mut Diagnostic) -> Result<(), DiagnosticError>,
    {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current = load_diagnostic(&tx, id)?;
        if current.status == DiagnosticStatus::Finalised {
            return Err(StoreError::Finalised);
        }
        let mut updated = current.clone();
        apply(&mut updated)?;
        updated.id = current.id;
        updated.person_id = current.person_id;
        updated.series_id = current.series_id;
        updated.version = current.version;
        if updated == current {
            return Ok(current);
        }
        update_row(&tx, &updated)?;
        let value = serde_json::to_value(edit).map_err(internal)?;
        let kind = value
            .get("kind")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("edit")
            .to_string();
        outbox::record(
            &tx,
            &outbox::Target {
                entity: outbox::DIAGNOSTIC,
                record_id: id,
                person_id: current.person_id,
                field: &kind,
            },
            &value,
            now,
        )?;
        tx.commit()?;
        Ok(updated)
    }
}

/// Inserts a diagnostic's row. The outer error is the body's serialisation; the inner one,
/// SQLite's (constraints included), for the caller to read.
pub(crate) fn insert_row(
    conn: &Connection,
    d: &Diagnostic,
) -> Result<rusqlite::Result<usize>, StoreError> {
    let body = to_json(d)?;
    let mut stmt = conn.prepare_cached(
        "INSERT INTO diagnostics (id, person_id, series_id, version, status, date,
             caseworker_name, co_interviewer_name, orientation, created_at, finalised_at, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?;
    Ok(stmt.execute(params![
        d.id.to_string(),
        d.person_id.to_string(),
        d.series_id.to_string(),
        d.version,
        status_text(d.status),
        d.date,
        d.caseworker.name,
        d.co_interviewer.name,
        d.orientation.proposal.map(orientation_text),
        d.created_at,
        d.finalised_at,
        body,
    ]))
}

fn insert_diagnostic_row(conn: &Connection, d: &Diagnostic) -> Result<(), StoreError> {
    let series = d.series_id.to_string();
    let existing: Vec<(u32, String)> = conn
        .prepare_cached("SELECT version, status FROM diagnostics WHERE series_id = ?1")?
        .query_map([&series], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    if d.status == DiagnosticStatus::Draft && existing.iter().any(|(_, s)| s == "draft") {
        return Err(StoreError::DraftExists);
    }
    if existing.iter().any(|(v, _)| *v == d.version) {
        return Err(StoreError::VersionExists);
    }
    insert_row(conn, d)?.map_err(|e| match &e {
        // The person does not exist.
        rusqlite::Error::SqliteFailure(inner, _)
            if inner.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY =>
        {
            StoreError::NotFound
        }
        _ => StoreError::from(e),
    })?;
    let value = serde_json::to_value(d).map_err(internal)?;
    let at = DateTime::parse_from_rfc3339(&d.created_at)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|_| Utc::now());
    outbox::record(
        conn,
        &outbox::Target {
            entity: outbox::DIAGNOSTIC,
            record_id: d.id,
            person_id: d.person_id,
            field: "create",
        },
        &value,
        at,
    )?;
    Ok(())
}

pub(crate) fn load_diagnostic(conn: &Connection, id: Uuid) -> Result<Diagnostic, StoreError> {
    let body: String = conn
        .prepare_cached("SELECT body FROM diagnostics WHERE id = ?1")?
        .query_row([id.to_string()], |row| row.get(0))
        .optional()?
        .ok_or(StoreError::NotFound)?;
    serde_json::from_str(&body).map_err(|e| {
        log::error!(
            "diagnostic body does not parse (line {}, column {})",
            e.line(),
            e.column()
        );
        StoreError::Damaged
    })
}

pub(crate) fn to_json(d: &Diagnostic) -> Result<String, StoreError> {
    serde_json::to_string(d).map_err(internal)
}

/// Serialising our own types does not fail; if it ever did, it is an internal error.
pub(crate) fn internal(e: serde_json::Error) -> StoreError {
    StoreError::Sqlite(rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

pub(crate) fn status_text(status: DiagnosticStatus) -> &'static str {
    match status {
        DiagnosticStatus::Draft => "draft",
        DiagnosticStatus::Finalised => "finalised",
    }
}

pub(crate) fn orientation_text(orientation: Orientation) -> &'static str {
    match orientation {
        Orientation::Professional => "professional",
        Orientation::SocioProfessional => "socio_professional",
        Orientation::Social => "social",
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown value in a diagnostic listing column")]
struct UnknownValue;

fn conversion_error(index: usize) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        index,
        rusqlite::types::Type::Text,
        Box::new(UnknownValue),
    )
}

fn uuid_at(row: &Row<'_>, index: usize) -> rusqlite::Result<Uuid> {
    let text: String = row.get(index)?;
    Uuid::parse_str(&text).map_err(|_| conversion_error(index))
}

fn summary_from_row(row: &Row<'_>) -> rusqlite::Result<DiagnosticSummary> {
    let status = match row.get_ref(3)?.as_str()? {
        "draft" => DiagnosticStatus::Draft,
        "finalised" => DiagnosticStatus::Finalised,
        _ => return Err(conversion_error(3)),
    };
    let orientation = match row.get_ref(7)?.as_str_or_null()? {
        None => None,
        Some("professional") => Some(Orientation::Professional),
        Some("socio_professional") => Some(Orientation::SocioProfessional),
        Some("social") => Some(Orientation::Social),
        Some(_) => return Err(conversion_error(7)),
    };
    Ok(DiagnosticSummary {
        id: uuid_at(row, 0)?,
        series_id: uuid_at(row, 1)?,
        version: row.get(2)?,
        status,
        date: row.get(4)?,
        caseworker_name: row.get(5)?,
        co_interviewer_name: row.get(6)?,
        orientation,
        finalised_at: row.get(8)?,
    })
}

/// Rewrites a diagnostic's row: its body and the columns the history list reads from it.
pub(crate) fn update_row(conn: &rusqlite::Connection, d: &Diagnostic) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE diagnostics SET status = ?1, date = ?2, caseworker_name = ?3,
             co_interviewer_name = ?4, orientation = ?5, finalised_at = ?6, body = ?7
         WHERE id = ?8",
    )?
    .execute(params![
        status_text(d.status),
        d.date,
        d.caseworker.name,
        d.co_interviewer.name,
        d.orientation.proposal.map(orientation_text),
        d.finalised_at,
        to_json(d)?,
        d.id.to_string(),
    ])?;
    Ok(())
}
