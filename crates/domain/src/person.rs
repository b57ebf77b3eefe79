//! The person accompanied ("personne accompagnée"): identity, contact, commune, identifiers and
//! statuses. Edits arrive one field at a time (autosave), so each field has a wire name and a
//! validation rule.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uuid::Uuid;

use crate::fold::fold;
use crate::validation::{self as v, FieldValue, ValidationError, ValidationReason};

/// RSA (revenu de solidarité active) entitlement status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum RsaStatus {
    #[default]
    None,
    Open,
    Suspended,
    Closed,
}

impl RsaStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RsaStatus::None => "none",
            RsaStatus::Open => "open",
            RsaStatus::Suspended => "suspended",
            RsaStatus::Closed => "closed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "none" | "" => RsaStatus::None,
            "open" => RsaStatus::Open,
            "suspended" => RsaStatus::Suspended,
            "closed" => RsaStatus::Closed,
            _ => return None,
        })
    }
}

/// A person's whole record. Absent text is an empty string, absent dates are `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Person {
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub birth_date: Option<NaiveDate>,
    pub email: String,
    pub phone: String,
    pub address: String,
    pub postal_code: String,
    pub commune: String,
    pub commune_insee: String,
    pub caf_number: String,
    pub france_travail_id: String,
    pub rsa_status: RsaStatus,
    pub rsa_since: Option<NaiveDate>,
    /// Registered as a job seeker with France Travail.
    pub job_seeker: bool,
    pub job_seeker_since: Option<NaiveDate>,
    /// Recognised disabled worker (RQTH), with the end of the recognition.
    pub rqth: bool,
    pub rqth_until: Option<NaiveDate>,
    /// Subject to the RSA "droits et devoirs" (rights and duties) regime.
    pub droits_devoirs: bool,
    /// Lives in a priority neighbourhood (quartier prioritaire de la ville).
    pub qpv: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What the "new person" form sends. Other fields are filled afterwards, field by field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct NewPerson {
    pub first_name: String,
    pub last_name: String,
    /// `YYYY-MM-DD` or `JJ/MM/AAAA`; empty when unknown.
    pub birth_date: String,
}

/// One line of the caseload list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PersonSummary {
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub birth_date: Option<NaiveDate>,
    pub commune: String,
    pub rsa_status: RsaStatus,
    pub updated_at: DateTime<Utc>,
}

/// A page of the caseload: the first `items` and how many persons match in all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PersonList {
    pub items: Vec<PersonSummary>,
    pub total: u32,
}

/// A field of [`Person`] that can be edited on its own (autosave).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum PersonField {
    FirstName,
    LastName,
    BirthDate,
    Email,
    Phone,
    Address,
    PostalCode,
    Commune,
    CommuneInsee,
    CafNumber,
    FranceTravailId,
    RsaStatus,
    RsaSince,
    JobSeeker,
    JobSeekerSince,
    Rqth,
    RqthUntil,
    DroitsDevoirs,
    Qpv,
}

impl PersonField {
    pub const ALL: [PersonField; 19] = [
        PersonField::FirstName,
        PersonField::LastName,
        PersonField::BirthDate,
        PersonField::Email,
        PersonField::Phone,
        PersonField::Address,
        PersonField::PostalCode,
        PersonField::Commune,
        PersonField::CommuneInsee,
        PersonField::CafNumber,
        PersonField::FranceTravailId,
        PersonField::RsaStatus,
        PersonField::RsaSince,
        PersonField::JobSeeker,
        PersonField::JobSeekerSince,
        PersonField::Rqth,
        PersonField::RqthUntil,
        PersonField::DroitsDevoirs,
        PersonField::Qpv,
    ];

    /// The wire and column name of the field.
    pub fn name(self) -> &'static str {
        match self {
            PersonField::FirstName => "first_name",
            PersonField::LastName => "last_name",
            PersonField::BirthDate => "birth_date",
            PersonField::Email => "email",
            PersonField::Phone => "phone",
            PersonField::Address => "address",
            PersonField::PostalCode => "postal_code",
            PersonField::Commune => "commune",
            PersonField::CommuneInsee => "commune_insee",
            PersonField::CafNumber => "caf_number",
            PersonField::FranceTravailId => "france_travail_id",
            PersonField::RsaStatus => "rsa_status",
            PersonField::RsaSince => "rsa_since",
            PersonField::JobSeeker => "job_seeker",
            PersonField::JobSeekerSince => "job_seeker_since",
            PersonField::Rqth => "rqth",
            PersonField::RqthUntil => "rqth_until",
            PersonField::DroitsDevoirs => "droits_devoirs",
            PersonField::Qpv => "qpv",
        }
    }

    /// Validates a raw value typed in the UI. `today` bounds dates that cannot be in the future.
    pub fn parse(self, raw: &str, today: NaiveDate) -> Result<FieldValue, ValidationError> {
        let name = self.name();
        Ok(match self {
            PersonField::FirstName | PersonField::LastName => {
                FieldValue::Text(v::text(name, raw, true)?)
            }
            PersonField::Address | PersonField::Commune => {
                FieldValue::Text(v::text(name, raw, false)?)
            }
            PersonField::Email => FieldValue::Text(v::email(name, raw)?),
            PersonField::Phone => FieldValue::Text(v::phone(name, raw)?),
            PersonField::PostalCode => FieldValue::Text(v::postal_code(name, raw)?),
            PersonField::CommuneInsee => FieldValue::Text(v::insee_code(name, raw)?),
            PersonField::CafNumber => FieldValue::Text(v::caf_number(name, raw)?),
            PersonField::FranceTravailId => FieldValue::Text(v::france_travail_id(name, raw)?),
            PersonField::RsaStatus => FieldValue::Text(
                RsaStatus::parse(raw.trim())
                    .ok_or(ValidationError::new(name, ValidationReason::InvalidChoice))?
                    .as_str()
                    .to_string(),
            ),
            PersonField::BirthDate | PersonField::RsaSince | PersonField::JobSeekerSince => {
                FieldValue::Date(v::date(name, raw, today, false)?)
            }
            PersonField::RqthUntil => FieldValue::Date(v::date(name, raw, today, true)?),
            PersonField::JobSeeker
            | PersonField::Rqth
            | PersonField::DroitsDevoirs
            | PersonField::Qpv => FieldValue::Flag(v::flag(name, raw)?),
        })
    }
}

impl Person {
    /// Builds a new person from the creation form, validating every value.
    pub fn create(
        input: &NewPerson,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Self, ValidationError> {
        let today = now.date_naive();
        let first_name = v::text("first_name", &input.first_name, true)?;
        let last_name = v::text("last_name", &input.last_name, true)?;
        let birth_date = v::date("birth_date", &input.birth_date, today, false)?;
        Ok(Person {
            first_name,
            last_name,
            birth_date,
            ..Person::blank(id, now)
        })
    }

    /// A person with only an id: every text empty, every date absent, every flag off. Sync
    /// starts from it when a field arrives for a person this laptop does not hold yet.
    pub fn blank(id: Uuid, at: DateTime<Utc>) -> Self {
        Person {
            id,
            first_name: String::new(),
            last_name: String::new(),
            birth_date: None,
            email: String::new(),
            phone: String::new(),
            address: String::new(),
            postal_code: String::new(),
            commune: String::new(),
            commune_insee: String::new(),
            caf_number: String::new(),
            france_travail_id: String::new(),
            rsa_status: RsaStatus::None,
            rsa_since: None,
            job_seeker: false,
            job_seeker_since: None,
            rqth: false,
            rqth_until: None,
            droits_devoirs: false,
            qpv: false,
            created_at: at,
            updated_at: at,
        }
    }

    /// Applies a validated value to one field.
    pub fn apply(&mut self, field: PersonField, value: FieldValue) {
        use PersonField as F;
        match (field, value) {
            (F::FirstName, FieldValue::Text(t)) => self.first_name = t,
            (F::LastName, FieldValue::Text(t)) => self.last_name = t,
            (F::Email, FieldValue::Text(t)) => self.email = t,
            (F::Phone, FieldValue::Text(t)) => self.phone = t,
            (F::Address, FieldValue::Text(t)) => self.address = t,
            (F::PostalCode, FieldValue::Text(t)) => self.postal_code = t,
            (F::Commune, FieldValue::Text(t)) => self.commune = t,
            (F::CommuneInsee, FieldValue::Text(t)) => self.commune_insee = t,
            (F::CafNumber, FieldValue::Text(t)) => self.caf_number = t,
            (F::FranceTravailId, FieldValue::Text(t)) => self.france_travail_id = t,
            (F::RsaStatus, FieldValue::Text(t)) => {
                self.rsa_status = RsaStatus::parse(&t).unwrap_or_default()
            }
            (F::BirthDate, FieldValue::Date(d)) => self.birth_date = d,
            (F::RsaSince, FieldValue::Date(d)) => self.rsa_since = d,
            (F::JobSeekerSince, FieldValue::Date(d)) => self.job_seeker_since = d,
            (F::RqthUntil, FieldValue::Date(d)) => self.rqth_until = d,
            (F::JobSeeker, FieldValue::Flag(b)) => self.job_seeker = b,
            (F::Rqth, FieldValue::Flag(b)) => self.rqth = b,
            (F::DroitsDevoirs, FieldValue::Flag(b)) => self.droits_devoirs = b,
            (F::Qpv, FieldValue::Flag(b)) => self.qpv = b,
            (field, value) => debug_assert!(false, "{field:?} cannot hold {value:?}"),
        }
    }

    /// The folded text that search matches against: names, commune and identifiers.
    pub fn search_key(&self) -> String {
        fold(&format!(
            "{} {} {} {} {}",
            self.last_name, self.first_name, self.commune, self.caf_number, self.france_travail_id
        ))
    }

    /// Age in whole years on `today`, if the birth date is known.
    pub fn age_on(&self, today: NaiveDate) -> Option<u32> {
        let birth = self.birth_date?;
        today.years_since(birth)
    }

    /// Under 26: the threshold of the youth schemes (CEJ, missions locales).
    pub fn is_under_26(&self, today: NaiveDate) -> Option<bool> {
        self.age_on(today).map(|age| age < 26)
    }

    pub fn summary(&self) -> PersonSummary {
        PersonSummary {
            id: self.id,
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            birth_date: self.birth_date,
            commune: self.commune.clone(),
            rsa_status: self.rsa_status,
            updated_at: self.updated_at,
        }
    }
}

/// Splits a search query into folded words; a person matches when every word occurs in its key.
pub fn search_terms(query: &str) -> Vec<String> {
    fold(query)
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Whether a birthday has passed: used by the youth threshold and by tests.
pub fn birthday_passed(birth: NaiveDate, today: NaiveDate) -> bool {
    (today.month(), today.day()) >= (birth.month(), birth.day())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).unwrap()
    }

    fn helene() -> Person {
        Person::create(
            &NewPerson {
                first_name: " Hélène ".into(),
                last_name: "Lefèvre".into(),
                birth_date: "14/07/2001".into(),
            },
            Uuid::nil(),
            now(),
        )
        .unwrap()
    }

    #[test]
    fn create_validates_and_trims() {
        let p = helene();
        assert_eq!(p.first_name, "Hélène");
        assert_eq!(p.birth_date, NaiveDate::from_ymd_opt(2001, 7, 14));
        let err = Person::create(
            &NewPerson {
                first_name: "A".into(),
                last_name: " ".into(),
                birth_date: "".into(),
            },
            Uuid::nil(),
            now(),
        )
        .unwrap_err();
        assert_eq!(
            (err.field, err.reason),
            ("last_name", ValidationReason::Required)
        );
        let err = Person::create(
            &NewPerson {
                first_name: "A".into(),
                last_name: "B".into(),
                birth_date: "2030-01-01".into(),
            },
            Uuid::nil(),
            now(),
        )
        .unwrap_err();
        assert_eq!(
            (err.field, err.reason),
            ("birth_date", ValidationReason::FutureDate)
        );
    }

    #[test]
    fn every_field_round_trips_through_parse_and_apply() {
        let today = now().date_naive();
        let mut p = helene();
        for (field, raw) in [
            (PersonField::Email, "helene@exemple.fr"),
            (PersonField::RsaStatus, "suspended"),
            (PersonField::RsaSince, "2025-03-01"),
            (PersonField::Rqth, "true"),
            (PersonField::RqthUntil, "2028-01-01"),
            (PersonField::CommuneInsee, "69123"),
        ] {
            let value = field.parse(raw, today).unwrap();
            p.apply(field, value);
        }
        assert_eq!(p.email, "helene@exemple.fr");
        assert_eq!(p.rsa_status, RsaStatus::Suspended);
        assert!(p.rqth);
        assert_eq!(p.rqth_until, NaiveDate::from_ymd_opt(2028, 1, 1));
        assert!(PersonField::RsaStatus.parse("maybe", today).is_err());
        assert!(PersonField::FirstName.parse("", today).is_err());
    }

    #[test]
    fn field_names_match_serde_names() {
        for field in PersonField::ALL {
            let json = serde_json::to_string(&field).unwrap();
            assert_eq!(json, format!("\"{}\"", field.name()));
        }
    }

    #[test]
    fn search_key_and_terms_fold_accents() {
        let p = helene();
        let key = p.search_key();
        for term in search_terms("HELENE lefevre") {
            assert!(key.contains(&term), "{key} / {term}");
        }
    }

    #[test]
    fn under_26_turns_on_the_birthday() {
        let p = helene();
        assert_eq!(
            p.age_on(NaiveDate::from_ymd_opt(2027, 7, 13).unwrap()),
            Some(25)
        );
        assert_eq!(
            p.is_under_26(NaiveDate::from_ymd_opt(2027, 7, 14).unwrap()),
            Some(false)
        );
        assert!(birthday_passed(
            NaiveDate::from_ymd_opt(2000, 2, 29).unwrap(),
            NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
        ));
    }
}
