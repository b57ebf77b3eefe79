//! Printed summaries of a joint diagnostic, as PDF (no Tauri, no I/O):
//! - [`render_person_summary`]: « Votre diagnostic et votre plan d’action », in plain French
//!   (FALC), handed to the person at the end of the interview;
//! - [`render_professional_summary`]: the full diagnostic for the professionals.
//!
//! Both are A4 with a running header and « Page n/N » on every page, set in the vendored
//! Atkinson Hyperlegible Next (see `README.md`). The output depends only on the input: the
//! document id and dates come from [`PrintInput`], so the same input gives the same bytes.

mod fonts;
mod french;
mod layout;
mod pdf;
mod person;
mod professional;
pub mod review;

use chrono::{DateTime, Utc};
use tandem_domain::diagnostic::{Diagnostic, Referentiel};
use tandem_domain::{Person, Role};

/// Everything a summary shows, borrowed from the caller.
#[derive(Debug, Clone)]
pub struct PrintInput<'a> {
    pub diagnostic: &'a Diagnostic,
    pub person: &'a Person,
    /// The référentiel the diagnostic was built with (theme labels).
    pub referentiel: &'a Referentiel,
    /// The role of the caseworker printing: decides whether notes reserved to the social
    /// field appear in the professionals' summary.
    pub reader_role: Role,
    /// Free text, e.g. « Mardi 8 décembre 2026 à 10 h, CCAS de Villeurbanne ».
    pub next_appointment: Option<String>,
    /// How to reach the caseworker (telephone, e-mail, address), free text.
    pub caseworker_contact: String,
    /// How to reach the second professional, free text.
    pub co_interviewer_contact: String,
    /// The moment of printing: the PDF's dates and part of its id.
    pub generated_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    #[error("the diagnostic belongs to person {diagnostic}, not to the person given ({person})")]
    PersonMismatch {
        diagnostic: uuid::Uuid,
        person: uuid::Uuid,
    },
    #[error("embedded font: {0}")]
    Font(String),
    #[error("PDF generation failed: {0}")]
    Pdf(String),
}

/// Which summary a PDF is: part of its id, so the two documents of one diagnostic differ.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Person,
    Professional,
}

/// « Votre diagnostic et votre plan d’action »: the person's copy.
pub fn render_person_summary(input: &PrintInput<'_>) -> Result<Vec<u8>, PrintError> {
    render(input, Kind::Person)
}

/// The full diagnostic for the professionals.
pub fn render_professional_summary(input: &PrintInput<'_>) -> Result<Vec<u8>, PrintError> {
    render(input, Kind::Professional)
}

fn render(input: &PrintInput<'_>, kind: Kind) -> Result<Vec<u8>, PrintError> {
    if input.diagnostic.person_id != input.person.id {
        return Err(PrintError::PersonMismatch {
            diagnostic: input.diagnostic.person_id,
            person: input.person.id,
        });
    }
    let fonts = fonts::fonts()?;
    let (style, pages, title) = match kind {
        Kind::Person => {
            let style = person::style();
            let mut layout = layout::Layout::new(fonts, style);
            person::build(&mut layout, input);
            (style, layout.finish(), person::TITLE)
        }
        Kind::Professional => {
            let style = professional::style();
            let mut layout = layout::Layout::new(fonts, style);
            professional::build(&mut layout, input);
            (style, layout.finish(), professional::TITLE)
        }
    };
    let d = input.diagnostic;
    let name = full_name(input.person);
    let interview = match &d.date {
        Some(date) => format!("Entretien du {}", french::iso_date(date)),
        None => "Date d’entretien non renseignée".to_string(),
    };
    let chrome = pdf::Chrome {
        header_left: name.clone(),
        header_right: interview,
        title: title.to_string(),
        author: d.caseworker.name.clone(),
        subject: format!("Diagnostic partagé de {name}, version {}", d.version),
        document_id: hex_id(&[&d.id.to_string(), &d.version.to_string(), kind_tag(kind)]),
        instance_id: hex_id(&[
            &d.id.to_string(),
            &d.version.to_string(),
            kind_tag(kind),
            &input.generated_at.to_rfc3339(),
        ]),
        generated_at: input.generated_at,
    };
    pdf::write(fonts, style, pages, &chrome)
}

fn kind_tag(kind: Kind) -> &'static str {
    match kind {
        Kind::Person => "person",
        Kind::Professional => "professional",
    }
}

pub(crate) fn full_name(person: &Person) -> String {
    format!("{} {}", person.first_name.trim(), person.last_name.trim())
}

/// 32 hexadecimal characters from two FNV-1a hashes: stable across runs, platforms and
/// versions of the standard library (unlike `DefaultHasher`).
fn hex_id(parts: &[&str]) -> String {
    let hash = |seed: u64| {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
        for part in parts {
            for byte in part.bytes().chain(std::iter::once(0)) {
                h ^= u64::from(byte);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        h
    };
    format!("{:016x}{:016x}", hash(0), hash(0x9e37_79b9_7f4a_7c15))
}
