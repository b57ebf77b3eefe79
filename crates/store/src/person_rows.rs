//! How a [`Person`] maps to the `person` table and to outbox values.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rusqlite::types::{Type, Value};
use rusqlite::Row;
use tandem_domain::{fold, Person, PersonField, PersonSummary, RsaStatus};
use uuid::Uuid;

/// Columns read for a whole person, in the order [`person_from_row`] expects.
pub(crate) const PERSON_COLUMNS: &str = "id, first_name, last_name, birth_date, email, phone, \
    address, postal_code, commune, commune_insee, caf_number, france_travail_id, rsa_status, \
    rsa_since, job_seeker, job_seeker_since, rqth, rqth_until, droits_devoirs, qpv, created_at, \
    updated_at";

pub(crate) const SUMMARY_COLUMNS: &str =
    "id, first_name, last_name, birth_date, commune, rsa_status, updated_at";

pub(crate) const INSERT_PERSON: &str = "INSERT INTO person (id, first_name, last_name, \
    birth_date, email, phone, address, postal_code, commune, commune_insee, caf_number, \
    france_travail_id, rsa_status, rsa_since, job_seeker, job_seeker_since, rqth, rqth_until, \
    droits_devoirs, qpv, created_at, updated_at, search_key, sort_key) VALUES (?1, ?2, ?3, ?4, \
    ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)";

/// The list order: folded last name, then first name.
pub(crate) fn sort_key(person: &Person) -> String {
    fold(&format!("{} {}", person.last_name, person.first_name))
}

pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn date_text(date: Option<NaiveDate>) -> Value {
    match date {
        Some(d) => Value::Text(d.format("%Y-%m-%d").to_string()),
        None => Value::Null,
    }
}

/// The SQL value of one field, as stored in its column.
pub(crate) fn column_value(person: &Person, field: PersonField) -> Value {
    use PersonField as F;
    let text = |s: &str| Value::Text(s.to_string());
    let flag = |b: bool| Value::Integer(i64::from(b));
    match field {
        F::FirstName => text(&person.first_name),
        F::LastName => text(&person.last_name),
        F::BirthDate => date_text(person.birth_date),
        F::Email => text(&person.email),
        F::Phone => text(&person.phone),
        F::Address => text(&person.address),
        F::PostalCode => text(&person.postal_code),
        F::Commune => text(&person.commune),
        F::CommuneInsee => text(&person.commune_insee),
        F::CafNumber => text(&person.caf_number),
        F::FranceTravailId => text(&person.france_travail_id),
        F::RsaStatus => text(person.rsa_status.as_str()),
        F::RsaSince => date_text(person.rsa_since),
        F::JobSeeker => flag(person.job_seeker),
        F::JobSeekerSince => date_text(person.job_seeker_since),
        F::Rqth => flag(person.rqth),
        F::RqthUntil => date_text(person.rqth_until),
        F::DroitsDevoirs => flag(person.droits_devoirs),
        F::Qpv => flag(person.qpv),
    }
}

/// The outbox (JSON) value of one field: strings, ISO dates or null, booleans.
pub(crate) fn json_value(person: &Person, field: PersonField) -> serde_json::Value {
    match column_value(person, field) {
        Value::Text(t) => serde_json::Value::String(t),
        Value::Integer(i) => serde_json::Value::Bool(i != 0),
        _ => serde_json::Value::Null,
    }
}

/// Whether a field holds something other than what a blank record holds.
pub(crate) fn is_set(person: &Person, field: PersonField) -> bool {
    match column_value(person, field) {
        Value::Text(t) => !(t.is_empty() || (field == PersonField::RsaStatus && t == "none")),
        Value::Integer(i) => i != 0,
        _ => false,
    }
}

/// All parameters of [`INSERT_PERSON`].
pub(crate) fn insert_params(person: &Person) -> Vec<Value> {
    let mut params = Vec::with_capacity(24);
    params.push(Value::Text(person.id.to_string()));
    params.extend(PersonField::ALL.iter().map(|&f| column_value(person, f)));
    params.push(Value::Text(timestamp(person.created_at)));
    params.push(Value::Text(timestamp(person.updated_at)));
    params.push(Value::Text(person.search_key()));
    params.push(Value::Text(sort_key(person)));
    params
}

fn conversion_error(
    index: usize,
    error: impl std::error::Error + Send + Sync + 'static,
) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(error))
}

fn uuid_at(row: &Row<'_>, index: usize) -> rusqlite::Result<Uuid> {
    let text: String = row.get(index)?;
    Uuid::parse_str(&text).map_err(|e| conversion_error(index, e))
}

fn date_at(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<NaiveDate>> {
    let text: Option<String> = row.get(index)?;
    text.map(|t| NaiveDate::parse_from_str(&t, "%Y-%m-%d").map_err(|e| conversion_error(index, e)))
        .transpose()
}

fn timestamp_at(row: &Row<'_>, index: usize) -> rusqlite::Result<DateTime<Utc>> {
    let text: String = row.get(index)?;
    DateTime::parse_from_rfc3339(&text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| conversion_error(index, e))
}

#[derive(Debug, thiserror::Error)]
#[error("unknown RSA status")]
struct UnknownRsaStatus;

fn rsa_status_at(row: &Row<'_>, index: usize) -> rusqlite::Result<RsaStatus> {
    let text: String = row.get(index)?;
    RsaStatus::parse(&text).ok_or_else(|| conversion_error(index, UnknownRsaStatus))
}

pub(crate) fn person_from_row(row: &Row<'_>) -> rusqlite::Result<Person> {
    Ok(Person {
        id: uuid_at(row, 0)?,
        first_name: row.get(1)?,
        last_name: row.get(2)?,
        birth_date: date_at(row, 3)?,
        email: row.get(4)?,
        phone: row.get(5)?,
        address: row.get(6)?,
        postal_code: row.get(7)?,
        commune: row.get(8)?,
        commune_insee: row.get(9)?,
        caf_number: row.get(10)?,
        france_travail_id: row.get(11)?,
        rsa_status: rsa_status_at(row, 12)?,
        rsa_since: date_at(row, 13)?,
        job_seeker: row.get(14)?,
        job_seeker_since: date_at(row, 15)?,
        rqth: row.get(16)?,
        rqth_until: date_at(row, 17)?,
        droits_devoirs: row.get(18)?,
        qpv: row.get(19)?,
        created_at: timestamp_at(row, 20)?,
        updated_at: timestamp_at(row, 21)?,
    })
}

pub(crate) fn summary_from_row(row: &Row<'_>) -> rusqlite::Result<PersonSummary> {
    Ok(PersonSummary {
        id: uuid_at(row, 0)?,
        first_name: row.get(1)?,
        last_name: row.get(2)?,
        birth_date: date_at(row, 3)?,
        commune: row.get(4)?,
        rsa_status: rsa_status_at(row, 5)?,
        updated_at: timestamp_at(row, 6)?,
    })
}
