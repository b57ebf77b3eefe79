//! One timeline per person: every diagnostic version, objective, step, interview, contract,
//! change of situation, orientation and review-group decision, in date order.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uuid::Uuid;

use super::continuity::{status_changes, StatusChangeKind};
use super::dates::french;
use super::edit::FollowUpEdit;
use super::model::{CaseDecision, DecidedBy, FollowUp, ObjectiveStatus};
use crate::diagnostic::{ActionStatus, DiagnosticStatus, DiagnosticSummary, Orientation};

/// What a timeline entry is. The order of the variants is the order of entries on the same day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TimelineKind {
    Diagnostic,
    Orientation,
    StatusChange,
    ObjectiveOpened,
    Step,
    Interview,
    ObjectiveClosed,
    ReviewDecision,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TimelineEntry {
    pub date: NaiveDate,
    pub kind: TimelineKind,
    /// Set for `StatusChange` entries.
    pub status_change: Option<StatusChangeKind>,
    /// One line, in French.
    pub title: String,
    /// More about it, in French; may be empty.
    pub detail: String,
    /// Référentiel theme keys the entry concerns (the filter matches on them).
    pub themes: Vec<String>,
    /// The diagnostic, objective, step, interview, contract, event, orientation or meeting it
    /// comes from; `None` for turning 26, which is derived from the birth date.
    pub source_id: Option<Uuid>,
}

/// Which entries to show.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TimelineFilter {
    /// Only entries about this référentiel theme; `None` shows everything.
    pub theme: Option<String>,
}

pub fn orientation_label(o: Orientation) -> &'static str {
    match o {
        Orientation::Professional => "professionnelle",
        Orientation::SocioProfessional => "socio-professionnelle",
        Orientation::Social => "sociale",
    }
}

pub fn step_status_label(s: ActionStatus) -> &'static str {
    match s {
        ActionStatus::Planned => "prévue",
        ActionStatus::InProgress => "en cours",
        ActionStatus::Done => "réalisée",
        ActionStatus::Abandoned => "abandonnée",
        ActionStatus::Cancelled => "annulée",
    }
}

fn span(start: Option<NaiveDate>, end: Option<NaiveDate>) -> String {
    match (start, end) {
        (Some(s), Some(e)) => format!("du {} au {}", french(s), french(e)),
        (Some(s), None) => format!("à partir du {}", french(s)),
        (None, Some(e)) => format!("avant le {}", french(e)),
        (None, None) => "sans date".to_string(),
    }
}

/// A review group's decision in short, part by part.
fn decision_parts(decision: &CaseDecision) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    if let Some(re) = &decision.reorientation {
        parts.push(format!(
            "réorientation {} ({})",
            orientation_label(re.orientation),
            re.reasons
        ));
    }
    if !decision.actions.is_empty() {
        parts.push(format!("actions : {}", decision.actions.join(", ")));
    }
    if let Some(next) = decision.next_review {
        parts.push(format!("prochain examen le {}", french(next)));
    }
    parts
}

/// What one follow-up edit sets, in French and in short, as the conflicts screen shows each
/// competing value (never its ids or its JSON).
pub fn edit_summary(edit: &FollowUpEdit) -> String {
    use FollowUpEdit as E;
    let status_on = |label: &str, on: NaiveDate| format!("{label} le {}", french(on));
    match edit {
        E::AddObjective { label, .. } | E::AddStep { label, .. } => label.clone(),
        E::SetObjectiveStatus { status, on, .. } => match status {
            ObjectiveStatus::Open => status_on("rouvert", *on),
            ObjectiveStatus::Achieved => status_on("atteint", *on),
            ObjectiveStatus::Abandoned => status_on("abandonné", *on),
        },
        E::SetStepText { value, .. } => value.clone(),
        E::SetStepStatus { status, .. } => step_status_label(*status).to_string(),
        E::SetStepPlannedDates { start, end, .. } | E::SetStepActualDates { start, end, .. } => {
            span(*start, *end)
        }
        E::RecordInterview {
            date,
            interview_kind,
            attended,
            ..
        } => format!(
            "{} du {}{}",
            interview_kind.label(),
            french(*date),
            if *attended { "" } else { " (absence)" }
        ),
        E::SetInterviewAttended { attended, .. } => {
            if *attended { "présence" } else { "absence" }.to_string()
        }
        E::AddContract {
            contract_kind,
            start,
            end,
            ..
        } => format!("{}, {}", contract_kind.label(), span(Some(*start), *end)),
        E::SetContractEnd { end, .. } => match end {
            Some(end) => format!("fin le {}", french(*end)),
            None => "sans date de fin".to_string(),
        },
        E::SetContractObjectives { objective_ids, .. } => match objective_ids.len() {
            0 => "aucun objectif".to_string(),
            1 => "1 objectif".to_string(),
            n => format!("{n} objectifs"),
        },
        E::RecordStatusEvent { date, .. } => {
            format!("changement de situation du {}", french(*date))
        }
        E::RecordOrientation {
            orientation,
            reasons,
            ..
        } => format!(
            "orientation {} ({reasons})",
            orientation_label(*orientation)
        ),
        E::RecordReviewDecision { decision, .. } => {
            let parts = decision_parts(decision);
            if parts.is_empty() {
                "décision sans action".to_string()
            } else {
                parts.join(" ; ")
            }
        }
        E::SetReviewAgenda {
            date,
            reason,
            on_agenda,
            ..
        } => {
            if *on_agenda && reason.is_empty() {
                format!("à l’ordre du jour du {}", french(*date))
            } else if *on_agenda {
                format!("à l’ordre du jour du {} : {reason}", french(*date))
            } else {
                format!("retiré·e de l’ordre du jour du {}", french(*date))
            }
        }
    }
}

fn diagnostic_date(d: &DiagnosticSummary) -> Option<NaiveDate> {
    let parse = |s: &str| NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok();
    d.date
        .as_deref()
        .and_then(parse)
        .or_else(|| d.finalised_at.as_deref().and_then(parse))
}

/// The person's timeline: `diagnostics` are the summaries of every version of every diagnostic;
/// `birth_date` gives turning 26; changes of situation are shown up to `today`. Entries are in
/// date order; on one day, in [`TimelineKind`] order, then by source id, so the result does not
/// depend on the order the store returns records in.
pub fn timeline(
    file: &FollowUp,
    diagnostics: &[DiagnosticSummary],
    birth_date: Option<NaiveDate>,
    today: NaiveDate,
    filter: &TimelineFilter,
) -> Vec<TimelineEntry> {
    let theme_of: HashMap<Uuid, &str> = file
        .objectives
        .iter()
        .map(|o| (o.id, o.theme.as_str()))
        .collect();
    let mut out: Vec<TimelineEntry> = Vec::with_capacity(
        diagnostics.len()
            + file.objectives.len() * 2
            + file.steps.len()
            + file.interviews.len()
            + file.status_events.len()
            + file.contracts.len() * 2
            + file.orientations.len()
            + file.review_decisions.len()
            + 1,
    );
    let entry = |date, kind, title: String, detail: String, themes, source_id| TimelineEntry {
        date,
        kind,
        status_change: None,
        title,
        detail,
        themes,
        source_id,
    };

    for d in diagnostics {
        let Some(date) = diagnostic_date(d) else {
            continue;
        };
        let mut title = format!("Diagnostic partagé, version {}", d.version);
        if d.status == DiagnosticStatus::Draft {
            title.push_str(" (brouillon)");
        }
        let mut detail = format!("Avec {}", d.caseworker_name);
        if !d.co_interviewer_name.trim().is_empty() {
            detail.push_str(&format!(" et {}", d.co_interviewer_name));
        }
        if let Some(o) = d.orientation {
            detail.push_str(&format!(" ; orientation {}", orientation_label(o)));
        }
        out.push(entry(
            date,
            TimelineKind::Diagnostic,
            title,
            detail,
            Vec::new(),
            Some(d.id),
        ));
    }
    for o in &file.objectives {
        out.push(entry(
            o.opened_on,
            TimelineKind::ObjectiveOpened,
            format!("Objectif : {}", o.label),
            String::new(),
            vec![o.theme.clone()],
            Some(o.id),
        ));
        if let (Some(on), status) = (o.closed_on, o.status) {
            let what = match status {
                ObjectiveStatus::Achieved => "Objectif atteint",
                ObjectiveStatus::Abandoned => "Objectif abandonné",
                ObjectiveStatus::Open => continue,
            };
            out.push(entry(
                on,
                TimelineKind::ObjectiveClosed,
                format!("{what} : {}", o.label),
                String::new(),
                vec![o.theme.clone()],
                Some(o.id),
            ));
        }
    }
    for s in &file.steps {
        let date = s.start().or(s.end()).unwrap_or(s.created_on);
        let mut detail = format!(
            "{}, {}",
            span(s.start(), s.end()),
            step_status_label(s.status)
        );
        if !s.provider.is_empty() {
            detail.push_str(&format!(" ; avec {}", s.provider));
        }
        if !s.outcome.is_empty() {
            detail.push_str(&format!(" ; résultat : {}", s.outcome));
        }
        out.push(entry(
            date,
            TimelineKind::Step,
            format!("Étape : {}", s.label),
            detail,
            s.theme.iter().cloned().collect(),
            Some(s.id),
        ));
    }
    for i in &file.interviews {
        let mut title = i.kind.label().to_string();
        if !i.attended {
            title.push_str(" (absence)");
        }
        let detail = if i.by.is_empty() {
            String::new()
        } else {
            format!("Avec {}", i.by)
        };
        out.push(entry(
            i.date,
            TimelineKind::Interview,
            title,
            detail,
            i.themes.clone(),
            Some(i.id),
        ));
    }
    for change in status_changes(file, birth_date, today) {
        // A contract's start and end concern the themes of the objectives it carries.
        let themes: Vec<String> = match change.kind {
            StatusChangeKind::ContractStarted | StatusChangeKind::ContractEnded => file
                .contracts
                .iter()
                .filter(|c| Some(c.id) == change.source_id)
                .flat_map(|c| &c.objective_ids)
                .filter_map(|id| theme_of.get(id).map(|t| (*t).to_string()))
                .collect(),
            _ => Vec::new(),
        };
        out.push(TimelineEntry {
            date: change.date,
            kind: TimelineKind::StatusChange,
            status_change: Some(change.kind),
            title: change.label,
            detail: String::new(),
            themes,
            source_id: change.source_id,
        });
    }
    for o in &file.orientations {
        let by = match &o.decided_by {
            DecidedBy::Structure { structure } => format!("Décidée par {structure}"),
            DecidedBy::ReviewGroup { .. } => "Décidée en groupe de suivi".to_string(),
        };
        let detail = if o.reasons.is_empty() {
            by
        } else {
            format!("{by} : {}", o.reasons)
        };
        out.push(entry(
            o.date,
            TimelineKind::Orientation,
            format!("Orientation {}", orientation_label(o.orientation)),
            detail,
            Vec::new(),
            Some(o.id),
        ));
    }
    for r in &file.review_decisions {
        let parts = decision_parts(&r.decision);
        let structures = if r.structures_present.is_empty() {
            String::new()
        } else {
            format!(" ({})", r.structures_present.join(", "))
        };
        out.push(entry(
            r.date,
            TimelineKind::ReviewDecision,
            format!("Décision du groupe de suivi{structures}"),
            parts.join(" ; "),
            Vec::new(),
            Some(r.meeting_id),
        ));
    }

    if let Some(theme) = &filter.theme {
        out.retain(|e| e.themes.iter().any(|t| t == theme));
    }
    out.sort_by(|a, b| {
        (a.date, a.kind, a.source_id, &a.title).cmp(&(b.date, b.kind, b.source_id, &b.title))
    });
    out
}
