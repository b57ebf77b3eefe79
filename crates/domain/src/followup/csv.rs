//! The status review as CSV for French spreadsheets: UTF-8 with a byte-order mark (without it,
//! Excel reads UTF-8 as Windows-1252), `;` as separator (the comma is the decimal separator in
//! France), CRLF line ends and RFC 4180 quoting, dates as dd/mm/yyyy.

use super::dates::french;
use super::review::{ReviewRow, StatusReview};

/// The column headers, in French, in order.
pub const HEADERS: [&str; 13] = [
    "Personne",
    "Référent·e",
    "Dernier entretien",
    "Jours depuis le dernier entretien",
    "Prochaine étape",
    "Date de la prochaine étape",
    "Étapes en retard",
    "Plus ancienne échéance dépassée",
    "Plus long délai entre deux étapes (jours)",
    "Délais entre étapes (jours)",
    "Sans étape depuis (jours)",
    "Suivi dans l’emploi",
    "Alertes",
];

pub const SEPARATOR: char = ';';
pub const BOM: char = '\u{feff}';

/// Quotes a field when it holds the separator, a double quote or a line break (RFC 4180, with
/// `;` in place of the comma); inner double quotes are doubled.
pub fn quote(field: &str) -> String {
    if field.contains([SEPARATOR, '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

fn row_fields(row: &ReviewRow) -> [String; 13] {
    let date = |d: Option<chrono::NaiveDate>| d.map(french).unwrap_or_default();
    let number = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
    [
        row.name.clone(),
        row.referent.clone().unwrap_or_default(),
        date(row.last_interview),
        number(row.days_since_last_interview),
        row.next_step
            .as_ref()
            .map(|s| s.label.clone())
            .unwrap_or_default(),
        date(row.next_step.as_ref().map(|s| s.date)),
        row.overdue_steps.len().to_string(),
        date(row.overdue_steps.first().map(|o| o.due)),
        number(row.longest_delay_days),
        row.delays
            .iter()
            .map(|d| d.days.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        number(row.days_without_step),
        row.work_follow_ups
            .iter()
            .map(|f| f.label())
            .collect::<Vec<_>>()
            .join(" ; "),
        row.agenda_reason(),
    ]
}

fn push_line<S: AsRef<str>>(out: &mut String, fields: &[S]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(SEPARATOR);
        }
        out.push_str(&quote(f.as_ref()));
    }
    out.push_str("\r\n");
}

/// The whole review as one CSV document (a string: the caller writes its UTF-8 bytes).
pub fn status_review_csv(review: &StatusReview) -> String {
    let mut out = String::with_capacity(64 + review.rows.len() * 160);
    out.push(BOM);
    push_line(&mut out, &HEADERS);
    for row in &review.rows {
        push_line(&mut out, &row_fields(row));
    }
    out
}
