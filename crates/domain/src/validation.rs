//! Field validation with typed reasons. Each reason has a plain-French message for the UI;
//! the code stays machine-readable so the UI can place the message next to the right field.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Why a value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ValidationReason {
    Required,
    TooLong,
    ControlCharacters,
    InvalidDate,
    FutureDate,
    TooOld,
    InvalidEmail,
    InvalidPhone,
    InvalidPostalCode,
    InvalidInseeCode,
    InvalidCafNumber,
    InvalidFranceTravailId,
    InvalidChoice,
    PassphraseTooShort,
    InvalidLockDelay,
    /// A long text (note, the person's words) above [`MAX_LONG_TEXT`] characters.
    LongTextTooLong,
    /// Not a whole number in the allowed range.
    InvalidNumber,
}

/// A refused value: which field (its wire name) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct ValidationError {
    pub field: &'static str,
    pub reason: ValidationReason,
}

impl ValidationError {
    pub fn new(field: &'static str, reason: ValidationReason) -> Self {
        Self { field, reason }
    }

    /// The message shown to the caseworker, in French.
    pub fn message(&self) -> String {
        use ValidationReason::*;
        match self.reason {
            Required => "Ce champ est obligatoire.".into(),
            TooLong => format!("Ce texte est trop long ({MAX_TEXT} caractères au plus)."),
            ControlCharacters => {
                "Ce texte contient des caractères invisibles non autorisés.".into()
            }
            InvalidDate => "Cette date n’est pas valide. Exemple : 14/07/1985.".into(),
            FutureDate => "Cette date est dans le futur.".into(),
            TooOld => "Cette date est trop ancienne (avant 1900).".into(),
            InvalidEmail => {
                "Cette adresse e-mail n’est pas valide. Exemple : prenom.nom@exemple.fr.".into()
            }
            InvalidPhone => {
                "Ce numéro de téléphone n’est pas valide. Exemple : 06 12 34 56 78.".into()
            }
            InvalidPostalCode => "Le code postal doit compter 5 chiffres.".into(),
            InvalidInseeCode => {
                "Le code commune (INSEE) doit compter 5 caractères, par exemple 69123 ou 2A004."
                    .into()
            }
            InvalidCafNumber => {
                "Le numéro d’allocataire CAF ne contient que des chiffres (13 au plus).".into()
            }
            InvalidFranceTravailId => {
                "L’identifiant France Travail compte 8 à 11 lettres ou chiffres.".into()
            }
            InvalidChoice => "Ce choix n’est pas possible.".into(),
            PassphraseTooShort => format!(
                "La phrase de passe doit compter au moins {MIN_PASSPHRASE_CHARS} caractères."
            ),
            InvalidLockDelay => format!(
                "Le délai de verrouillage doit être compris entre 1 et {MAX_LOCK_MINUTES} minutes."
            ),
            LongTextTooLong => {
                format!("Ce texte est trop long ({MAX_LONG_TEXT} caractères au plus).")
            }
            InvalidNumber => "Saisissez un nombre entier, par exemple 30.".into(),
        }
    }
}

pub const MAX_TEXT: usize = 200;
/// Notes and the person's own words: long enough for a whole interview's notes.
pub const MAX_LONG_TEXT: usize = 20_000;
pub const MIN_PASSPHRASE_CHARS: usize = 10;
pub const MAX_LOCK_MINUTES: u32 = 120;

/// A validated value, ready to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    Text(String),
    Date(Option<NaiveDate>),
    Flag(bool),
}

/// Trims and checks a free-text value. `required` refuses an empty value.
pub fn text(field: &'static str, raw: &str, required: bool) -> Result<String, ValidationError> {
    let value = raw.trim();
    if required && value.is_empty() {
        return Err(ValidationError::new(field, ValidationReason::Required));
    }
    if value.chars().count() > MAX_TEXT {
        return Err(ValidationError::new(field, ValidationReason::TooLong));
    }
    if value.chars().any(char::is_control) {
        return Err(ValidationError::new(
            field,
            ValidationReason::ControlCharacters,
        ));
    }
    Ok(value.to_string())
}

/// Checks a multi-line text (notes, the person's own words): line breaks and tabs are kept,
/// other control characters refused, surrounding blank space trimmed.
pub fn long_text(field: &'static str, raw: &str) -> Result<String, ValidationError> {
    let value = raw.trim();
    if value.chars().count() > MAX_LONG_TEXT {
        return Err(ValidationError::new(
            field,
            ValidationReason::LongTextTooLong,
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(ValidationError::new(
            field,
            ValidationReason::ControlCharacters,
        ));
    }
    Ok(value.replace("\r\n", "\n"))
}

/// A whole number within `range`; empty means "not set".
pub fn number(
    field: &'static str,
    raw: &str,
    range: std::ops::RangeInclusive<u32>,
) -> Result<Option<u32>, ValidationError> {
    let value = raw.trim();
    if value.is_empty() {
        return Ok(None);
    }
    match value.parse::<u32>() {
        Ok(n) if range.contains(&n) => Ok(Some(n)),
        _ => Err(ValidationError::new(field, ValidationReason::InvalidNumber)),
    }
}

/// Parses a date given as ISO `YYYY-MM-DD` (what `<input type="date">` sends) or French `JJ/MM/AAAA`.
/// An empty value means "no date".
pub fn date(
    field: &'static str,
    raw: &str,
    today: NaiveDate,
    allow_future: bool,
) -> Result<Option<NaiveDate>, ValidationError> {
    let value = raw.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let parsed = NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(value, "%d/%m/%Y"))
        .map_err(|_| ValidationError::new(field, ValidationReason::InvalidDate))?;
    if parsed.year() < 1900 {
        return Err(ValidationError::new(field, ValidationReason::TooOld));
    }
    if !allow_future && parsed > today {
        return Err(ValidationError::new(field, ValidationReason::FutureDate));
    }
    if parsed.year() > 2200 {
        return Err(ValidationError::new(field, ValidationReason::InvalidDate));
    }
    Ok(Some(parsed))
}

pub fn flag(field: &'static str, raw: &str) -> Result<bool, ValidationError> {
    match raw.trim() {
        "true" => Ok(true),
        "false" | "" => Ok(false),
        _ => Err(ValidationError::new(field, ValidationReason::InvalidChoice)),
    }
}

pub fn email(field: &'static str, raw: &str) -> Result<String, ValidationError> {
    let value = text(field, raw, false)?;
    if value.is_empty() {
        return Ok(value);
    }
    let valid = match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !value.contains(char::is_whitespace)
        }
        None => false,
    };
    if valid {
        Ok(value)
    } else {
        Err(ValidationError::new(field, ValidationReason::InvalidEmail))
    }
}

/// French phone numbers: ten digits starting with 0, or +33 / 0033 followed by nine digits,
/// or overseas numbers in international form (+ and 8 to 15 digits). Spaces, dots and dashes
/// are allowed as separators and kept as typed.
pub fn phone(field: &'static str, raw: &str) -> Result<String, ValidationError> {
    let value = text(field, raw, false)?;
    if value.is_empty() {
        return Ok(value);
    }
    let invalid = || ValidationError::new(field, ValidationReason::InvalidPhone);
    if value
        .chars()
        .any(|c| !(c.is_ascii_digit() || " .-+".contains(c)))
    {
        return Err(invalid());
    }
    let plus = value.starts_with('+');
    if value[1..].contains('+') {
        return Err(invalid());
    }
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    let ok = if plus {
        (8..=15).contains(&digits.len()) && (!digits.starts_with("33") || digits.len() == 11)
    } else if let Some(rest) = digits.strip_prefix("0033") {
        rest.len() == 9
    } else {
        digits.len() == 10 && digits.starts_with('0')
    };
    if ok {
        Ok(value)
    } else {
        Err(invalid())
    }
}

pub fn postal_code(field: &'static str, raw: &str) -> Result<String, ValidationError> {
    let value: String = raw.trim().to_string();
    if value.is_empty() || (value.len() == 5 && value.chars().all(|c| c.is_ascii_digit())) {
        Ok(value)
    } else {
        Err(ValidationError::new(
            field,
            ValidationReason::InvalidPostalCode,
        ))
    }
}

/// INSEE commune code: five digits, or 2A/2B followed by three digits for Corsica.
pub fn insee_code(field: &'static str, raw: &str) -> Result<String, ValidationError> {
    let value = raw.trim().to_ascii_uppercase();
    if value.is_empty() {
        return Ok(value);
    }
    let bytes = value.as_bytes();
    let ok = bytes.len() == 5
        && (bytes[..2].iter().all(u8::is_ascii_digit)
            || &bytes[..2] == b"2A"
            || &bytes[..2] == b"2B")
        && bytes[2..].iter().all(u8::is_ascii_digit);
    if ok {
        Ok(value)
    } else {
        Err(ValidationError::new(
            field,
            ValidationReason::InvalidInseeCode,
        ))
    }
}

pub fn caf_number(field: &'static str, raw: &str) -> Result<String, ValidationError> {
    let value: String = raw.trim().to_string();
    if value.is_empty() || (value.len() <= 13 && value.chars().all(|c| c.is_ascii_digit())) {
        Ok(value)
    } else {
        Err(ValidationError::new(
            field,
            ValidationReason::InvalidCafNumber,
        ))
    }
}

pub fn france_travail_id(field: &'static str, raw: &str) -> Result<String, ValidationError> {
    let value = raw.trim().to_ascii_uppercase();
    if value.is_empty()
        || ((8..=11).contains(&value.len()) && value.chars().all(|c| c.is_ascii_alphanumeric()))
    {
        Ok(value)
    } else {
        Err(ValidationError::new(
            field,
            ValidationReason::InvalidFranceTravailId,
        ))
    }
}

pub fn passphrase(field: &'static str, raw: &str) -> Result<(), ValidationError> {
    if raw.chars().count() < MIN_PASSPHRASE_CHARS {
        Err(ValidationError::new(
            field,
            ValidationReason::PassphraseTooShort,
        ))
    } else {
        Ok(())
    }
}

pub fn lock_minutes(field: &'static str, minutes: u32) -> Result<u32, ValidationError> {
    if (1..=MAX_LOCK_MINUTES).contains(&minutes) {
        Ok(minutes)
    } else {
        Err(ValidationError::new(
            field,
            ValidationReason::InvalidLockDelay,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
    }

    #[test]
    fn dates_accept_iso_and_french_forms() {
        let d = NaiveDate::from_ymd_opt(1985, 7, 14);
        assert_eq!(date("birth_date", "1985-07-14", today(), false), Ok(d));
        assert_eq!(date("birth_date", " 14/07/1985 ", today(), false), Ok(d));
        assert_eq!(date("birth_date", "", today(), false), Ok(None));
    }

    #[test]
    fn dates_refuse_nonsense_future_and_ancient() {
        let reason = |raw| date("birth_date", raw, today(), false).unwrap_err().reason;
        assert_eq!(reason("31/02/1990"), ValidationReason::InvalidDate);
        assert_eq!(reason("demain"), ValidationReason::InvalidDate);
        assert_eq!(reason("2026-11-27"), ValidationReason::FutureDate);
        assert_eq!(reason("1899-12-31"), ValidationReason::TooOld);
        assert!(date("rqth_until", "2030-01-01", today(), true).is_ok());
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(text("first_name", "  Hélène ", true).unwrap(), "Hélène");
        assert_eq!(
            text("first_name", "   ", true).unwrap_err().reason,
            ValidationReason::Required
        );
        assert_eq!(text("address", "", false).unwrap(), "");
        let long = "é".repeat(MAX_TEXT + 1);
        assert_eq!(
            text("address", &long, false).unwrap_err().reason,
            ValidationReason::TooLong
        );
        assert_eq!(
            text("last_name", "a\u{0}b", true).unwrap_err().reason,
            ValidationReason::ControlCharacters
        );
    }

    #[test]
    fn contact_formats() {
        assert!(email("email", "helene.lefevre@exemple.fr").is_ok());
        assert!(email("email", "").is_ok());
        for bad in ["helene", "a@b", "a@@b.fr", "a b@c.fr", "@exemple.fr"] {
            assert!(email("email", bad).is_err(), "{bad}");
        }
        for good in [
            "06 12 34 56 78",
            "0612345678",
            "+33 6 12 34 56 78",
            "06.12.34.56.78",
            "+262 262 12 34 56",
        ] {
            assert!(phone("phone", good).is_ok(), "{good}");
        }
        for bad in [
            "12345",
            "06 12 34 56 7",
            "+33 6 12 34 56 789",
            "06-12-ab",
            "0+612345678",
        ] {
            assert!(phone("phone", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn identifiers() {
        assert_eq!(insee_code("commune_insee", "2a004").unwrap(), "2A004");
        assert!(insee_code("commune_insee", "69123").is_ok());
        assert!(insee_code("commune_insee", "6912").is_err());
        assert!(insee_code("commune_insee", "2C004").is_err());
        assert!(postal_code("postal_code", "69003").is_ok());
        assert!(postal_code("postal_code", "6900").is_err());
        assert!(caf_number("caf_number", "1234567").is_ok());
        assert!(caf_number("caf_number", "12A4567").is_err());
        assert_eq!(
            france_travail_id("france_travail_id", "1234567a").unwrap(),
            "1234567A"
        );
        assert!(france_travail_id("france_travail_id", "123").is_err());
    }

    #[test]
    fn every_reason_has_a_french_message() {
        let e = ValidationError::new("x", ValidationReason::PassphraseTooShort);
        assert!(e.message().contains("phrase de passe"));
        assert_eq!(e.to_string(), e.message());
    }
}
