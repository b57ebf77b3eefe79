//! The status review ("point de situation") as PDF, read back with poppler-utils and checked
//! with qpdf.

mod common;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use common::Pdf;
use tandem_domain::diagnostic::ActionStatus;
use tandem_domain::followup::{
    status_review, FollowUp, Interview, InterviewKind, ReviewSettings, ReviewSubject, StatusChange,
    StatusEvent, Step,
};
use tandem_print::review::{render_status_review, StatusReviewPrintInput};
use uuid::Uuid;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn today() -> NaiveDate {
    d(2028, 3, 1)
}

fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn assert_contains(text: &str, expected: &str) {
    let (text, expected) = (flat(text), flat(expected));
    assert!(
        text.contains(&expected),
        "missing « {expected} » in:\n{text}"
    );
}

fn step(n: u128, label: &str, planned_start: Option<NaiveDate>, end: Option<NaiveDate>) -> Step {
    Step {
        id: Uuid::from_u128(n),
        objective_id: None,
        theme: None,
        label: label.into(),
        status: ActionStatus::Planned,
        provider: String::new(),
        outcome: String::new(),
        planned_start,
        planned_end: end,
        actual_start: None,
        actual_end: None,
        created_on: d(2027, 12, 1),
    }
}

/// Hélène: met on 29 February, one step late, one to come. Awa: back at work, never met.
/// Then `extra` persons with nothing yet, to fill pages.
fn files(extra: usize) -> Vec<(String, FollowUp)> {
    let mut helene = FollowUp::new(Uuid::from_u128(1));
    helene.interviews.push(Interview {
        id: Uuid::from_u128(10),
        date: d(2028, 2, 29),
        kind: InterviewKind::FollowUp,
        attended: true,
        by: "Camille Roux".into(),
        themes: vec![],
    });
    helene.steps.push(step(
        20,
        "Dossier de logement social",
        None,
        Some(d(2028, 1, 5)),
    ));
    helene.steps.push(step(
        21,
        "Atelier CV à la Maison de l’emploi",
        Some(d(2028, 3, 9)),
        None,
    ));
    helene.status_events.push(StatusEvent {
        id: Uuid::from_u128(30),
        date: d(2027, 9, 1),
        change: StatusChange::ReferentChanged {
            referent: "Camille Roux".into(),
            structure: "CCAS de Lyon".into(),
        },
    });
    let mut awa = FollowUp::new(Uuid::from_u128(2));
    awa.status_events.push(StatusEvent {
        id: Uuid::from_u128(31),
        date: d(2028, 1, 31),
        change: StatusChange::ReturnToWork {
            employer: "Boulangerie Martin".into(),
            contract_type: None,
        },
    });
    let mut out = vec![
        ("Lefèvre Hélène".to_string(), helene),
        ("N’Diaye Awa".to_string(), awa),
    ];
    for i in 0..extra {
        out.push((
            format!("Personne {:03}", i + 1),
            FollowUp::new(Uuid::from_u128(100 + i as u128)),
        ));
    }
    out
}

fn render(extra: usize) -> Vec<u8> {
    let files = files(extra);
    let subjects: Vec<ReviewSubject<'_>> = files
        .iter()
        .map(|(name, file)| ReviewSubject {
            name,
            birth_date: None,
            file,
        })
        .collect();
    let review = status_review(&subjects, ReviewSettings::default(), today()).unwrap();
    render_status_review(&StatusReviewPrintInput {
        review: &review,
        scope: "Portefeuille de Camille Roux",
        author: "Camille Roux",
        generated_at: Utc.with_ymd_and_hms(2028, 3, 1, 8, 0, 0).unwrap() + Duration::minutes(5),
    })
    .unwrap()
}

#[test]
fn the_status_review_reads_back_as_text() {
    let pdf = Pdf::new(&render(0));
    let (ok, report) = pdf.qpdf_check();
    assert!(ok, "{report}");
    assert_eq!(pdf.pages(), 1);
    let text = pdf.text();
    for expected in [
        "Point de situation",
        "Portefeuille de Camille Roux",
        "Au 1er mars 2028 : 2 personnes, dont 2 avec au moins une alerte.",
        "pas d’entretien depuis 8 semaines ou plus",
        "Page 1/1",
        "Lefèvre Hélène",
        "Camille Roux (CCAS de Lyon)",
        "29 février 2028",
        "(il y a 1 jour)",
        "Atelier CV à la Maison de l’emploi",
        "le 9 mars 2028",
        "En retard : Dossier de logement social (depuis 56 jours)",
        "1 étape en retard",
        "N’Diaye Awa",
        "Aucun entretien",
        "Retour à l’emploi le 31/01/2028",
        "Suivi dans l’emploi à 1 mois dû depuis le 29/02/2028",
        "Suivi dans l’emploi, 3 mois : prévu le 30/04/2028",
    ] {
        assert_contains(&text, expected);
    }
}

#[test]
fn a_long_review_breaks_across_numbered_pages_with_the_header_repeated() {
    let pdf = Pdf::new(&render(80));
    let total = pdf.pages();
    assert!(total >= 2, "{total} page(s)");
    for page in 1..=total {
        let text = pdf.page_text(page);
        assert_contains(&text, &format!("Page {page}/{total}"));
        assert_contains(&text, "Portefeuille de Camille Roux");
        assert_contains(&text, "Prochaine étape");
    }
    let all = pdf.text();
    assert_contains(&all, "Personne 001");
    assert_contains(&all, "Personne 080");
    assert_contains(&all, "82 personnes, dont 82 avec au moins une alerte");
}

#[test]
fn the_same_review_gives_the_same_bytes() {
    assert_eq!(render(3), render(3));
    assert_ne!(render(3), render(4));
}
