//! The status review ("point de situation") as PDF: one table row per person, with the last
//! interview, the next step, delays and the flags, for a coordinator's meeting or a review group.
//! A4 portrait like the summaries (the layout's page is portrait), with a compact table style.

use chrono::{DateTime, Utc};
use tandem_domain::followup::review::{ReviewRow, StatusReview};

use crate::french;
use crate::layout::{bold, regular, Layout, Span, Style, Table};
use crate::PrintError;

pub(crate) const TITLE: &str = "Point de situation";

/// Everything the status review PDF shows, borrowed from the caller.
#[derive(Debug, Clone)]
pub struct StatusReviewPrintInput<'a> {
    pub review: &'a StatusReview,
    /// Whose persons these are, e.g. « Portefeuille de Camille Roux » or « CCAS de Lyon »:
    /// the running header.
    pub scope: &'a str,
    /// Who prints it (the document's author).
    pub author: &'a str,
    /// The moment of printing: the PDF's dates and part of its id.
    pub generated_at: DateTime<Utc>,
}

fn style() -> Style {
    Style {
        title: 17.0,
        heading: 13.0,
        subheading: 11.0,
        body: 10.0,
        leading: 13.5,
        table: 8.5,
        table_leading: 11.0,
        small: 8.5,
        chrome: 9.0,
        paragraph_gap: 4.0,
        cell_padding: 3.0,
    }
}

fn days(n: i64) -> String {
    if n == 1 {
        "1 jour".to_string()
    } else {
        format!("{n} jours")
    }
}

fn person_cell(row: &ReviewRow) -> Vec<Span> {
    let mut spans = vec![bold(row.name.as_str())];
    if let Some(referent) = &row.referent {
        spans.push(regular(format!("\n{referent}")));
    }
    spans
}

fn interview_cell(row: &ReviewRow) -> Vec<Span> {
    match (row.last_interview, row.days_since_last_interview) {
        (Some(date), Some(n)) => vec![regular(format!(
            "{}\n(il y a {})",
            french::date(date),
            days(n)
        ))],
        _ => vec![regular("Aucun")],
    }
}

fn next_step_cell(row: &ReviewRow) -> Vec<Span> {
    match &row.next_step {
        Some(step) => vec![regular(format!(
            "{}\nle {}",
            step.label,
            french::date(step.date)
        ))],
        None => vec![regular("Aucune")],
    }
}

fn delays_cell(row: &ReviewRow) -> Vec<Span> {
    let mut lines: Vec<String> = Vec::new();
    match row.overdue_steps.as_slice() {
        [] => {}
        [one] => lines.push(format!(
            "En retard : {} (depuis {})",
            one.label,
            days(one.days_overdue)
        )),
        many => lines.push(format!(
            "{} étapes en retard (la plus ancienne depuis {})",
            many.len(),
            days(many[0].days_overdue)
        )),
    }
    if let Some(n) = row.longest_delay_days {
        lines.push(format!("Plus long délai entre deux étapes : {}", days(n)));
    }
    if let Some(n) = row.days_without_step {
        lines.push(format!("Sans étape depuis {}", days(n)));
    }
    for f in &row.work_follow_ups {
        lines.push(format!("Suivi dans l’emploi, {}", f.label()));
    }
    vec![regular(lines.join("\n"))]
}

fn flags_cell(row: &ReviewRow) -> Vec<Span> {
    let text = row
        .flags
        .iter()
        .map(|f| f.label())
        .collect::<Vec<_>>()
        .join("\n");
    vec![bold(text)]
}

fn build(l: &mut Layout<'_>, input: &StatusReviewPrintInput<'_>) {
    let review = input.review;
    l.title(TITLE);
    let flagged = review.rows.iter().filter(|r| !r.flags.is_empty()).count();
    let persons = match review.rows.len() {
        0 => "aucune personne".to_string(),
        1 => "1 personne".to_string(),
        n => format!("{n} personnes"),
    };
    l.paragraph(&[
        bold(format!("Au {} : ", french::date(review.generated_on))),
        regular(format!(
            "{persons}, dont {flagged} avec au moins une alerte."
        )),
    ]);
    l.small(&[regular(format!(
        "Alertes : pas d’entretien depuis {} semaines ou plus ; étape en retard ; changement de \
         situation dans les {} derniers jours sans entretien depuis ; retour à l’emploi (suivis \
         à 1, 3 et 6 mois).",
        review.settings.no_interview_weeks, review.settings.status_change_days
    ))]);
    if review.rows.is_empty() {
        return;
    }
    let table = Table {
        columns: vec![
            ("Personne et référent·e".to_string(), 0.2),
            ("Dernier entretien".to_string(), 0.15),
            ("Prochaine étape".to_string(), 0.19),
            ("Retards et délais".to_string(), 0.24),
            ("Alertes".to_string(), 0.22),
        ],
        rows: review
            .rows
            .iter()
            .map(|row| {
                vec![
                    person_cell(row),
                    interview_cell(row),
                    next_step_cell(row),
                    delays_cell(row),
                    flags_cell(row),
                ]
            })
            .collect(),
    };
    l.table(&table);
}

/// « Point de situation »: the status review as PDF.
pub fn render_status_review(input: &StatusReviewPrintInput<'_>) -> Result<Vec<u8>, PrintError> {
    let fonts = crate::fonts::fonts()?;
    let style = style();
    let mut layout = Layout::new(fonts, style);
    build(&mut layout, input);
    let pages = layout.finish();
    let on = input.review.generated_on.to_string();
    let persons = input
        .review
        .rows
        .iter()
        .map(|r| r.person_id.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let chrome = crate::pdf::Chrome {
        header_left: input.scope.to_string(),
        header_right: format!("Au {}", french::date(input.review.generated_on)),
        title: TITLE.to_string(),
        author: input.author.to_string(),
        subject: format!("{TITLE} – {}", input.scope),
        document_id: crate::hex_id(&["status_review", input.scope, &on, &persons]),
        instance_id: crate::hex_id(&[
            "status_review",
            input.scope,
            &on,
            &persons,
            &input.generated_at.to_rfc3339(),
        ]),
        generated_at: input.generated_at,
    };
    crate::pdf::write(fonts, style, pages, &chrome)
}
