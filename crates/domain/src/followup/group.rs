//! Review groups ("groupe de suivi", équipe pluridisciplinaire): a meeting of several structures
//! that examines the hardest situations. Cases are put on the agenda from the status review; the
//! decision for each case is recorded in the meeting and, through [`decision_edit`], in the
//! person's own file, where it appears on the timeline and syncs with the rest of the file.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uuid::Uuid;

use super::edit::{clean_decision, FollowUpEdit, FollowUpError};
use super::model::CaseDecision;
use crate::validation as v;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReviewCase {
    pub person_id: Uuid,
    /// Why the person is on the agenda (e.g. the status review's flags), in French.
    pub reason: String,
    /// `None` until the group has decided.
    pub decision: Option<CaseDecision>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReviewMeeting {
    pub id: Uuid,
    pub date: NaiveDate,
    pub structures_present: Vec<String>,
    /// In the order they were added.
    pub cases: Vec<ReviewCase>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MeetingEdit {
    /// Moves the meeting; refused once a decision is recorded (the persons' files carry its date).
    SetDate {
        date: NaiveDate,
    },
    SetStructures {
        structures: Vec<String>,
    },
    /// Puts a person on the agenda; adding them again updates the reason.
    AddCase {
        person_id: Uuid,
        reason: String,
    },
    /// Takes an undecided case off the agenda.
    RemoveCase {
        person_id: Uuid,
    },
    /// Records (or corrects) the decision for a case.
    Decide {
        person_id: Uuid,
        decision: CaseDecision,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MeetingError {
    #[error("cette personne n’est pas à l’ordre du jour")]
    NotOnAgenda,
    #[error("une décision est déjà enregistrée")]
    AlreadyDecided,
    #[error("aucune décision n’est enregistrée pour cette personne")]
    NoDecision,
    #[error(transparent)]
    Invalid(#[from] FollowUpError),
}

impl From<v::ValidationError> for MeetingError {
    fn from(e: v::ValidationError) -> Self {
        MeetingError::Invalid(e.into())
    }
}

pub fn new_meeting(id: Uuid, date: NaiveDate) -> ReviewMeeting {
    ReviewMeeting {
        id,
        date,
        structures_present: Vec::new(),
        cases: Vec::new(),
    }
}

fn case_mut(m: &mut ReviewMeeting, person_id: Uuid) -> Result<&mut ReviewCase, MeetingError> {
    m.cases
        .iter_mut()
        .find(|c| c.person_id == person_id)
        .ok_or(MeetingError::NotOnAgenda)
}

/// Applies one edit to a meeting. Nothing changes when it is refused.
pub fn apply_meeting_edit(m: &mut ReviewMeeting, edit: &MeetingEdit) -> Result<(), MeetingError> {
    match edit {
        MeetingEdit::SetDate { date } => {
            if m.cases.iter().any(|c| c.decision.is_some()) {
                return Err(MeetingError::AlreadyDecided);
            }
            m.date = *date;
        }
        MeetingEdit::SetStructures { structures } => {
            let mut chosen: Vec<String> = Vec::new();
            for s in structures {
                let s = v::text("review_structures", s, false)?;
                if !s.is_empty() && !chosen.contains(&s) {
                    chosen.push(s);
                }
            }
            m.structures_present = chosen;
        }
        MeetingEdit::AddCase { person_id, reason } => {
            let reason = v::long_text("case_reason", reason)?;
            match m.cases.iter_mut().find(|c| c.person_id == *person_id) {
                Some(case) => case.reason = reason,
                None => m.cases.push(ReviewCase {
                    person_id: *person_id,
                    reason,
                    decision: None,
                }),
            }
        }
        MeetingEdit::RemoveCase { person_id } => {
            if case_mut(m, *person_id)?.decision.is_some() {
                return Err(MeetingError::AlreadyDecided);
            }
            m.cases.retain(|c| c.person_id != *person_id);
        }
        MeetingEdit::Decide {
            person_id,
            decision,
        } => {
            let decision = clean_decision(decision, m.date)?;
            case_mut(m, *person_id)?.decision = Some(decision);
        }
    }
    Ok(())
}

/// The edit that records a case's decision in the person's file.
pub fn decision_edit(m: &ReviewMeeting, person_id: Uuid) -> Result<FollowUpEdit, MeetingError> {
    let case = m
        .cases
        .iter()
        .find(|c| c.person_id == person_id)
        .ok_or(MeetingError::NotOnAgenda)?;
    let decision = case.decision.clone().ok_or(MeetingError::NoDecision)?;
    Ok(FollowUpEdit::RecordReviewDecision {
        meeting_id: m.id,
        date: m.date,
        structures_present: m.structures_present.clone(),
        decision,
    })
}

/// The edit that carries a person's place on a meeting's agenda into their file (where it syncs
/// with the rest of the file): on it with its reason while the meeting lists them, off it once
/// they were taken off.
pub fn agenda_edit(m: &ReviewMeeting, person_id: Uuid) -> FollowUpEdit {
    let case = m.cases.iter().find(|c| c.person_id == person_id);
    FollowUpEdit::SetReviewAgenda {
        meeting_id: m.id,
        date: m.date,
        structures_present: m.structures_present.clone(),
        reason: case.map(|c| c.reason.clone()).unwrap_or_default(),
        on_agenda: case.is_some(),
    }
}

/// Rebuilds, from one person's file, their part of each meeting that file names: the meeting's
/// date and structures, their case with its reason and decision, or no case once they were taken
/// off. `meeting` gives the stored meeting (if any) for an id; returns the meetings that change.
/// This is how a meeting reaches the other laptops that follow its persons, person by person.
pub fn meetings_from_file(
    file: &super::FollowUp,
    mut meeting: impl FnMut(Uuid) -> Option<ReviewMeeting>,
) -> Vec<ReviewMeeting> {
    let mut ids: Vec<Uuid> = file.review_agenda.iter().map(|e| e.meeting_id).collect();
    ids.extend(file.review_decisions.iter().map(|d| d.meeting_id));
    ids.sort();
    ids.dedup();
    let mut changed = Vec::new();
    for id in ids {
        let entry = file.review_agenda.iter().find(|e| e.meeting_id == id);
        let decision = file.review_decisions.iter().find(|d| d.meeting_id == id);
        let listed = decision.is_some() || entry.is_some_and(|e| e.on_agenda);
        let stored = meeting(id);
        let mut m = match (stored.clone(), entry, decision) {
            (Some(m), _, _) => m,
            (None, _, _) if !listed => continue,
            (None, Some(e), _) => new_meeting(id, e.date),
            (None, None, Some(d)) => new_meeting(id, d.date),
            (None, None, None) => continue,
        };
        if let Some(e) = entry {
            m.date = e.date;
            m.structures_present = e.structures_present.clone();
        } else if let Some(d) = decision {
            m.date = d.date;
            m.structures_present = d.structures_present.clone();
        }
        let position = m.cases.iter().position(|c| c.person_id == file.person_id);
        if listed {
            let reason = entry
                .map(|e| e.reason.clone())
                .or_else(|| position.map(|i| m.cases[i].reason.clone()))
                .unwrap_or_default();
            let case = ReviewCase {
                person_id: file.person_id,
                reason,
                decision: decision.map(|d| d.decision.clone()),
            };
            match position {
                Some(i) => m.cases[i] = case,
                None => m.cases.push(case),
            }
        } else if let Some(i) = position {
            m.cases.remove(i);
        }
        if stored.as_ref() != Some(&m) {
            changed.push(m);
        }
    }
    changed
}
