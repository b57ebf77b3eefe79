//! `--sample-pdf DIR`: both printed summaries of one full synthetic diagnostic, so anyone can
//! look at what the app prints without a case file.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use tandem_domain::diagnostic::{DiagnosticStatus, Grade};
use tandem_domain::Role;
use tandem_print::{render_person_summary, render_professional_summary, PrintInput};

#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    #[error("a generated diagnostic was refused: {0}")]
    Diagnostic(#[from] tandem_domain::diagnostic_rules::DiagnosticError),
    #[error("no finalised diagnostic among the synthetic persons")]
    NoDiagnostic,
    #[error(transparent)]
    Print(#[from] tandem_print::PrintError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Writes `dir/person.pdf` and `dir/professional.pdf` for the fullest finalised diagnostic of a
/// small synthetic caseload, and returns their paths. Same seed and time, same bytes.
pub fn write_sample_pdfs(
    dir: &Path,
    seed: u64,
    now: DateTime<Utc>,
) -> Result<[PathBuf; 2], SampleError> {
    let persons = crate::synthetic_persons(40, seed, now);
    let profile = crate::synthetic_profile(seed);
    let diagnostics = crate::synthetic_diagnostics(&persons, &profile, seed, now)?;
    // The fullest: most themes discussed, notes and actions; ties go to the first.
    let weight = |d: &tandem_domain::diagnostic::Diagnostic| {
        d.themes
            .iter()
            .filter(|t| t.grade != Grade::NotDiscussed)
            .count()
            + d.notes.len()
            + d.plan.iter().map(|o| o.actions.len()).sum::<usize>()
            + d.version as usize
    };
    let diagnostic = diagnostics
        .iter()
        .filter(|d| d.status == DiagnosticStatus::Finalised)
        .max_by_key(|d| (weight(d), std::cmp::Reverse(d.id)))
        .ok_or(SampleError::NoDiagnostic)?;
    let person = persons
        .iter()
        .find(|p| p.id == diagnostic.person_id)
        .ok_or(SampleError::NoDiagnostic)?;
    let input = PrintInput {
        diagnostic,
        person,
        referentiel: tandem_domain::referentiel::embedded(),
        reader_role: profile.role,
        next_appointment: Some("Mardi 2 février 2027 à 10 h, au même endroit".to_string()),
        caseworker_contact: format!("04 78 00 00 01 – {}", profile.structure_name),
        co_interviewer_contact: if diagnostic.co_interviewer.role == Some(Role::Employment) {
            "39 49 (appel gratuit)".to_string()
        } else {
            "04 72 00 00 02".to_string()
        },
        generated_at: now,
    };
    let person_path = dir.join("person.pdf");
    let professional_path = dir.join("professional.pdf");
    for (path, bytes) in [
        (&person_path, render_person_summary(&input)?),
        (&professional_path, render_professional_summary(&input)?),
    ] {
        std::fs::write(path, bytes).map_err(|source| SampleError::Write {
            path: path.clone(),
            source,
        })?;
    }
    Ok([person_path, professional_path])
}
