//! The edit vocabulary of a follow-up file and its rules. Each edit is one save, one transaction,
//! one entry of the sync outbox; ids are chosen by the caller so a retried save never duplicates
//! anything. There is deliberately no edit that closes, resets or empties a file.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uuid::Uuid;

use super::caf;
use super::model::{
    CaseDecision, DecidedBy, EngagementContract, EngagementContractKind, FollowUp,
    FollowUpObjective, Interview, InterviewKind, ObjectiveStatus, OrientationRecord,
    ReviewAgendaEntry, ReviewDecisionRecord, StatusChange, StatusEvent, Step,
};
use crate::diagnostic::{ActionStatus, Diagnostic, Orientation};
use crate::person::RsaStatus;
use crate::validation::{self as v, ValidationError, ValidationReason};

/// Free-text fields of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum StepTextField {
    Label,
    Provider,
    Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FollowUpEdit {
    AddObjective {
        id: Uuid,
        theme: String,
        label: String,
        opened_on: NaiveDate,
    },
    /// Achieving, abandoning or reopening an objective: the only way its status changes.
    SetObjectiveStatus {
        id: Uuid,
        status: ObjectiveStatus,
        on: NaiveDate,
    },
    AddStep {
        id: Uuid,
        objective_id: Option<Uuid>,
        theme: Option<String>,
        label: String,
        planned_start: Option<NaiveDate>,
        planned_end: Option<NaiveDate>,
        created_on: NaiveDate,
    },
    SetStepText {
        id: Uuid,
        field: StepTextField,
        value: String,
    },
    SetStepStatus {
        id: Uuid,
        status: ActionStatus,
    },
    SetStepPlannedDates {
        id: Uuid,
        start: Option<NaiveDate>,
        end: Option<NaiveDate>,
    },
    /// What really happened; never in the future.
    SetStepActualDates {
        id: Uuid,
        start: Option<NaiveDate>,
        end: Option<NaiveDate>,
    },
    RecordInterview {
        id: Uuid,
        date: NaiveDate,
        interview_kind: InterviewKind,
        attended: bool,
        by: String,
        themes: Vec<String>,
    },
    SetInterviewAttended {
        id: Uuid,
        attended: bool,
    },
    AddContract {
        id: Uuid,
        contract_kind: EngagementContractKind,
        start: NaiveDate,
        end: Option<NaiveDate>,
        objective_ids: Vec<Uuid>,
    },
    /// Sets or moves the end of a contract. Its objectives stay as they are.
    SetContractEnd {
        id: Uuid,
        end: Option<NaiveDate>,
    },
    SetContractObjectives {
        id: Uuid,
        objective_ids: Vec<Uuid>,
    },
    RecordStatusEvent {
        id: Uuid,
        date: NaiveDate,
        change: StatusChange,
    },
    RecordOrientation {
        id: Uuid,
        date: NaiveDate,
        orientation: Orientation,
        reasons: String,
        decided_by: DecidedBy,
    },
    /// A review group's decision for this person. Recording it again for the same meeting
    /// replaces it (a corrected minute); a reorientation also becomes an orientation decision,
    /// whose id is the meeting's.
    RecordReviewDecision {
        meeting_id: Uuid,
        date: NaiveDate,
        structures_present: Vec<String>,
        decision: CaseDecision,
    },
    /// Puts the person on a review group's agenda, or takes them off (`on_agenda` false), with
    /// the meeting's date and structures as they stand; recording it again for the same meeting
    /// replaces the entry.
    SetReviewAgenda {
        meeting_id: Uuid,
        date: NaiveDate,
        structures_present: Vec<String>,
        reason: String,
        on_agenda: bool,
    },
}

/// Why an edit was refused. Nothing changes when an edit is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FollowUpError {
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// An edit named an objective, step, interview or contract this file does not have.
    #[error("élément introuvable : {0}")]
    Unknown(&'static str),
    #[error("la date de fin précède la date de début")]
    EndBeforeStart { field: &'static str },
    /// A CAF reason code that is not in the vendored list for that RSA status.
    #[error("motif CAF inconnu pour ce statut du RSA : {0}")]
    UnknownCafReason(String),
}

/// What an edit needs besides the file: the caller's clock, so the rules stay deterministic.
#[derive(Debug, Clone, Copy)]
pub struct FollowUpContext {
    pub today: NaiveDate,
}

fn not_future(field: &'static str, date: NaiveDate, today: NaiveDate) -> Result<(), FollowUpError> {
    if date > today {
        Err(ValidationError::new(field, ValidationReason::FutureDate).into())
    } else {
        Ok(())
    }
}

fn ordered(
    field: &'static str,
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
) -> Result<(), FollowUpError> {
    match (start, end) {
        (Some(s), Some(e)) if e < s => Err(FollowUpError::EndBeforeStart { field }),
        _ => Ok(()),
    }
}

fn step_mut(f: &mut FollowUp, id: Uuid) -> Result<&mut Step, FollowUpError> {
    f.steps
        .iter_mut()
        .find(|s| s.id == id)
        .ok_or(FollowUpError::Unknown("étape"))
}

fn contract_mut(f: &mut FollowUp, id: Uuid) -> Result<&mut EngagementContract, FollowUpError> {
    f.contracts
        .iter_mut()
        .find(|c| c.id == id)
        .ok_or(FollowUpError::Unknown("contrat"))
}

fn check_objectives(f: &FollowUp, ids: &[Uuid]) -> Result<Vec<Uuid>, FollowUpError> {
    let mut chosen = Vec::new();
    for id in ids {
        if !f.objectives.iter().any(|o| o.id == *id) {
            return Err(FollowUpError::Unknown("objectif"));
        }
        if !chosen.contains(id) {
            chosen.push(*id);
        }
    }
    Ok(chosen)
}

fn check_change(change: &StatusChange) -> Result<StatusChange, FollowUpError> {
    Ok(match change {
        StatusChange::Rsa {
            status,
            reason_code,
        } => {
            if *status == RsaStatus::None {
                return Err(
                    ValidationError::new("rsa_status", ValidationReason::InvalidChoice).into(),
                );
            }
            let reason_code = match reason_code.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(code) => {
                    if caf::embedded().label(*status, code).is_none() {
                        return Err(FollowUpError::UnknownCafReason(code.to_string()));
                    }
                    Some(code.to_string())
                }
            };
            StatusChange::Rsa {
                status: *status,
                reason_code,
            }
        }
        StatusChange::ReturnToWork {
            employer,
            contract_type,
        } => StatusChange::ReturnToWork {
            employer: v::text("employer", employer, false)?,
            contract_type: *contract_type,
        },
        StatusChange::ReferentChanged {
            referent,
            structure,
        } => StatusChange::ReferentChanged {
            referent: v::text("referent", referent, true)?,
            structure: v::text("structure", structure, true)?,
        },
    })
}

fn clean_list(field: &'static str, items: &[String]) -> Result<Vec<String>, FollowUpError> {
    let mut chosen: Vec<String> = Vec::new();
    for item in items {
        let item = v::text(field, item, false)?;
        if !item.is_empty() && !chosen.contains(&item) {
            chosen.push(item);
        }
    }
    Ok(chosen)
}

/// Applies one edit. Nothing changes when it is refused.
pub fn apply(
    f: &mut FollowUp,
    edit: &FollowUpEdit,
    ctx: FollowUpContext,
) -> Result<(), FollowUpError> {
    use FollowUpEdit as E;
    let today = ctx.today;
    match edit {
        E::AddObjective {
            id,
            theme,
            label,
            opened_on,
        } => {
            if f.objectives.iter().any(|o| o.id == *id) {
                return Ok(());
            }
            let theme = v::text("objective_theme", theme, true)?;
            let label = v::text("objective_label", label, true)?;
            f.objectives.push(FollowUpObjective {
                id: *id,
                theme,
                label,
                status: ObjectiveStatus::Open,
                opened_on: *opened_on,
                closed_on: None,
            });
        }
        E::SetObjectiveStatus { id, status, on } => {
            let objective = f
                .objectives
                .iter_mut()
                .find(|o| o.id == *id)
                .ok_or(FollowUpError::Unknown("objectif"))?;
            if *status != ObjectiveStatus::Open && *on < objective.opened_on {
                return Err(FollowUpError::EndBeforeStart {
                    field: "objective_closed_on",
                });
            }
            objective.status = *status;
            objective.closed_on = (*status != ObjectiveStatus::Open).then_some(*on);
        }
        E::AddStep {
            id,
            objective_id,
            theme,
            label,
            planned_start,
            planned_end,
            created_on,
        } => {
            if f.steps.iter().any(|s| s.id == *id) {
                return Ok(());
            }
            let label = v::text("step_label", label, true)?;
            ordered("step_planned_end", *planned_start, *planned_end)?;
            let objective_theme = match objective_id {
                Some(oid) => Some(
                    f.objectives
                        .iter()
                        .find(|o| o.id == *oid)
                        .ok_or(FollowUpError::Unknown("objectif"))?
                        .theme
                        .clone(),
                ),
                None => None,
            };
            let theme = match theme.as_deref().map(str::trim) {
                Some(t) if !t.is_empty() => Some(t.to_string()),
                _ => objective_theme,
            };
            f.steps.push(Step {
                id: *id,
                objective_id: *objective_id,
                theme,
                label,
                status: ActionStatus::Planned,
                provider: String::new(),
                outcome: String::new(),
                planned_start: *planned_start,
                planned_end: *planned_end,
                actual_start: None,
                actual_end: None,
                created_on: *created_on,
            });
        }
        E::SetStepText { id, field, value } => {
            let value = match field {
                StepTextField::Label => v::text("step_label", value, true)?,
                StepTextField::Provider => v::text("step_provider", value, false)?,
                StepTextField::Outcome => v::long_text("step_outcome", value)?,
            };
            let step = step_mut(f, *id)?;
            match field {
                StepTextField::Label => step.label = value,
                StepTextField::Provider => step.provider = value,
                StepTextField::Outcome => step.outcome = value,
            }
        }
        E::SetStepStatus { id, status } => step_mut(f, *id)?.status = *status,
        E::SetStepPlannedDates { id, start, end } => {
            ordered("step_planned_end", *start, *end)?;
            let step = step_mut(f, *id)?;
            step.planned_start = *start;
            step.planned_end = *end;
        }
        E::SetStepActualDates { id, start, end } => {
            for d in start.iter().chain(end.iter()) {
                not_future("step_actual_date", *d, today)?;
            }
            ordered("step_actual_end", *start, *end)?;
            let step = step_mut(f, *id)?;
            step.actual_start = *start;
            step.actual_end = *end;
            // Dates of what happened say where the step is, unless someone said otherwise.
            let open = matches!(
                step.status,
                ActionStatus::Planned | ActionStatus::InProgress
            );
            if end.is_some() && open {
                step.status = ActionStatus::Done;
            } else if start.is_some() && step.status == ActionStatus::Planned {
                step.status = ActionStatus::InProgress;
            }
        }
        E::RecordInterview {
            id,
            date,
            interview_kind,
            attended,
            by,
            themes,
        } => {
            if f.interviews.iter().any(|i| i.id == *id) {
                return Ok(());
            }
            not_future("interview_date", *date, today)?;
            let by = v::text("interview_by", by, false)?;
            let themes = clean_list("interview_themes", themes)?;
            f.interviews.push(Interview {
                id: *id,
                date: *date,
                kind: *interview_kind,
                attended: *attended,
                by,
                themes,
            });
        }
        E::SetInterviewAttended { id, attended } => {
            f.interviews
                .iter_mut()
                .find(|i| i.id == *id)
                .ok_or(FollowUpError::Unknown("entretien"))?
                .attended = *attended;
        }
        E::AddContract {
            id,
            contract_kind,
            start,
            end,
            objective_ids,
        } => {
            if f.contracts.iter().any(|c| c.id == *id) {
                return Ok(());
            }
            ordered("contract_end", Some(*start), *end)?;
            let objective_ids = check_objectives(f, objective_ids)?;
            f.contracts.push(EngagementContract {
                id: *id,
                kind: *contract_kind,
                start: *start,
                end: *end,
                objective_ids,
            });
        }
        E::SetContractEnd { id, end } => {
            let contract = contract_mut(f, *id)?;
            ordered("contract_end", Some(contract.start), *end)?;
            contract.end = *end;
        }
        E::SetContractObjectives { id, objective_ids } => {
            let objective_ids = check_objectives(f, objective_ids)?;
            contract_mut(f, *id)?.objective_ids = objective_ids;
        }
        E::RecordStatusEvent { id, date, change } => {
            if f.status_events.iter().any(|e| e.id == *id) {
                return Ok(());
            }
            not_future("status_date", *date, today)?;
            let change = check_change(change)?;
            f.status_events.push(StatusEvent {
                id: *id,
                date: *date,
                change,
            });
        }
        E::RecordOrientation {
            id,
            date,
            orientation,
            reasons,
            decided_by,
        } => {
            if f.orientations.iter().any(|o| o.id == *id) {
                return Ok(());
            }
            not_future("orientation_date", *date, today)?;
            let reasons = v::long_text("orientation_reasons", reasons)?;
            let decided_by = match decided_by {
                DecidedBy::Structure { structure } => DecidedBy::Structure {
                    structure: v::text("orientation_structure", structure, true)?,
                },
                other => other.clone(),
            };
            f.orientations.push(OrientationRecord {
                id: *id,
                date: *date,
                orientation: *orientation,
                reasons,
                decided_by,
            });
        }
        E::RecordReviewDecision {
            meeting_id,
            date,
            structures_present,
            decision,
        } => {
            not_future("review_date", *date, today)?;
            let structures_present = clean_list("review_structures", structures_present)?;
            let decision = clean_decision(decision, *date)?;
            let orientation = decision.reorientation.as_ref().map(|r| OrientationRecord {
                id: *meeting_id,
                date: *date,
                orientation: r.orientation,
                reasons: r.reasons.clone(),
                decided_by: DecidedBy::ReviewGroup {
                    meeting_id: *meeting_id,
                },
            });
            f.review_decisions.retain(|r| r.meeting_id != *meeting_id);
            f.review_decisions.push(ReviewDecisionRecord {
                meeting_id: *meeting_id,
                date: *date,
                structures_present,
                decision,
            });
            f.orientations.retain(|o| o.id != *meeting_id);
            f.orientations.extend(orientation);
        }
        E::SetReviewAgenda {
            meeting_id,
            date,
            structures_present,
            reason,
            on_agenda,
        } => {
            let entry = ReviewAgendaEntry {
                meeting_id: *meeting_id,
                date: *date,
                structures_present: clean_list("review_structures", structures_present)?,
                reason: v::long_text("case_reason", reason)?,
                on_agenda: *on_agenda,
            };
            f.review_agenda.retain(|e| e.meeting_id != *meeting_id);
            f.review_agenda.push(entry);
        }
    }
    Ok(())
}

/// Validates a review group's decision: trimmed texts, no empty action, a next review after the
/// meeting.
pub fn clean_decision(
    decision: &CaseDecision,
    meeting_date: NaiveDate,
) -> Result<CaseDecision, FollowUpError> {
    let reorientation = match &decision.reorientation {
        Some(r) => {
            let reasons = v::long_text("reorientation_reasons", &r.reasons)?;
            if reasons.is_empty() {
                return Err(ValidationError::new(
                    "reorientation_reasons",
                    ValidationReason::Required,
                )
                .into());
            }
            Some(super::model::Reorientation {
                orientation: r.orientation,
                reasons,
            })
        }
        None => None,
    };
    let actions = clean_list("review_actions", &decision.actions)?;
    if let Some(next) = decision.next_review {
        if next < meeting_date {
            return Err(FollowUpError::EndBeforeStart {
                field: "next_review",
            });
        }
    }
    Ok(CaseDecision {
        reorientation,
        actions,
        next_review: decision.next_review,
        notes: v::long_text("review_notes", &decision.notes)?,
    })
}

/// The edits that bring a diagnostic's plan into the follow-up: each objective not yet carried,
/// then each action not yet a step (same ids, so applying them again changes nothing). An
/// action's due date becomes the step's planned end; its status is set when it is not planned.
/// `on` is the day of the import (objectives opened, steps created).
pub fn plan_edits(diagnostic: &Diagnostic, file: &FollowUp, on: NaiveDate) -> Vec<FollowUpEdit> {
    let mut edits = Vec::new();
    for objective in &diagnostic.plan {
        if !file.objectives.iter().any(|o| o.id == objective.id) {
            edits.push(FollowUpEdit::AddObjective {
                id: objective.id,
                theme: objective.theme.clone(),
                label: objective.label.clone(),
                opened_on: on,
            });
        }
        for action in &objective.actions {
            if file.steps.iter().any(|s| s.id == action.id) {
                continue;
            }
            let due = action
                .due_date
                .as_deref()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
            edits.push(FollowUpEdit::AddStep {
                id: action.id,
                objective_id: Some(objective.id),
                theme: Some(objective.theme.clone()),
                label: action.label.clone(),
                planned_start: None,
                planned_end: due,
                created_on: on,
            });
            if !action.who.trim().is_empty() {
                edits.push(FollowUpEdit::SetStepText {
                    id: action.id,
                    field: StepTextField::Provider,
                    value: action.who.clone(),
                });
            }
            if action.status != ActionStatus::Planned {
                edits.push(FollowUpEdit::SetStepStatus {
                    id: action.id,
                    status: action.status,
                });
            }
        }
    }
    edits
}
