//! The follow-up file of one person: what happens after the joint diagnostic. These types cross
//! every boundary (store, IPC, UI, sync); the rules live in the sibling modules.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uuid::Uuid;

use crate::diagnostic::{ActionStatus, ContractType, Orientation};
use crate::person::RsaStatus;

/// Whether an objective of the plan is still being worked on. Only an explicit edit changes it:
/// no status event, contract end or change of referent ever closes an objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ObjectiveStatus {
    Open,
    Achieved,
    Abandoned,
}

/// An objective of the person's plan, carried from the diagnostic that set it (same id as the
/// diagnostic's `PlanObjective`), so that it survives every later version, contract and referent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FollowUpObjective {
    pub id: Uuid,
    /// The référentiel theme key, e.g. "logement".
    pub theme: String,
    pub label: String,
    pub status: ObjectiveStatus,
    pub opened_on: NaiveDate,
    /// When it was achieved or abandoned.
    pub closed_on: Option<NaiveDate>,
}

/// A step of the pathway ("étape du parcours"): one action of the plan being carried out. A step
/// made from a plan action has the action's id, so importing a plan twice never duplicates it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Step {
    pub id: Uuid,
    /// The objective it serves, when it comes from the plan.
    pub objective_id: Option<Uuid>,
    /// The référentiel theme key, for the timeline's filter.
    pub theme: Option<String>,
    pub label: String,
    pub status: ActionStatus,
    /// Who provides it, free text for now (an offer of the territory's catalogue later).
    pub provider: String,
    /// What came out of it, free text.
    pub outcome: String,
    pub planned_start: Option<NaiveDate>,
    pub planned_end: Option<NaiveDate>,
    pub actual_start: Option<NaiveDate>,
    pub actual_end: Option<NaiveDate>,
    /// The day it was added to the pathway: where it sits on the timeline while it has no date.
    pub created_on: NaiveDate,
}

impl Step {
    /// When the step starts: the actual date once known, else the planned one.
    pub fn start(&self) -> Option<NaiveDate> {
        self.actual_start.or(self.planned_start)
    }

    /// When the step ends: the actual date once known, else the planned one.
    pub fn end(&self) -> Option<NaiveDate> {
        self.actual_end.or(self.planned_end)
    }

    /// Still to be done: planned or in progress, with no actual end.
    pub fn is_pending(&self) -> bool {
        matches!(
            self.status,
            ActionStatus::Planned | ActionStatus::InProgress
        ) && self.actual_end.is_none()
    }

    /// A cancelled step never happened: it is left out of the delays between steps.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.status, ActionStatus::Cancelled)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum InterviewKind {
    JointDiagnostic,
    FollowUp,
    Phone,
    Group,
}

impl InterviewKind {
    pub fn label(self) -> &'static str {
        match self {
            InterviewKind::JointDiagnostic => "Diagnostic partagé",
            InterviewKind::FollowUp => "Entretien de suivi",
            InterviewKind::Phone => "Entretien téléphonique",
            InterviewKind::Group => "Atelier collectif",
        }
    }
}

/// A contact with the person ("entretien"): the basis of the status review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Interview {
    pub id: Uuid,
    pub date: NaiveDate,
    pub kind: InterviewKind,
    /// `false` when the person did not come: a missed appointment does not count as being met.
    pub attended: bool,
    /// Who held it (name), free text.
    pub by: String,
    /// Themes discussed, for the timeline's filter.
    pub themes: Vec<String>,
}

/// The engagement contract and its predecessors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum EngagementContractKind {
    /// Contrat d'engagement (loi pour le plein emploi, 2023).
    ContratEngagement,
    /// Contrat d'engagement réciproque (RSA).
    Cer,
    /// Projet personnalisé d'accès à l'emploi (France Travail).
    Ppae,
    /// Contrat d'engagement jeune.
    Cej,
    /// Parcours contractualisé d'accompagnement vers l'emploi et l'autonomie (missions locales).
    Pacea,
}

impl EngagementContractKind {
    pub fn label(self) -> &'static str {
        match self {
            EngagementContractKind::ContratEngagement => "Contrat d’engagement",
            EngagementContractKind::Cer => "Contrat d’engagement réciproque (CER)",
            EngagementContractKind::Ppae => "Projet personnalisé d’accès à l’emploi (PPAE)",
            EngagementContractKind::Cej => "Contrat d’engagement jeune (CEJ)",
            EngagementContractKind::Pacea => {
                "Parcours d’accompagnement vers l’emploi et l’autonomie (PACEA)"
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct EngagementContract {
    pub id: Uuid,
    pub kind: EngagementContractKind,
    pub start: NaiveDate,
    /// The planned or actual end; `None` while open-ended.
    pub end: Option<NaiveDate>,
    /// The objectives it carries. They outlive the contract.
    pub objective_ids: Vec<Uuid>,
}

/// A change of administrative situation recorded by hand. Turning 26 is derived from the birth
/// date and contract starts and ends from the contracts, so neither is recorded here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StatusChange {
    /// RSA opened, suspended or closed; a suspension or closure may carry the CAF/MSA reason
    /// code (see [`crate::followup::caf`]).
    Rsa {
        status: RsaStatus,
        reason_code: Option<String>,
    },
    ReturnToWork {
        /// Employer or workplace, free text.
        employer: String,
        contract_type: Option<ContractType>,
    },
    /// A new referent (the first one included): the referent history is made of these.
    ReferentChanged { referent: String, structure: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StatusEvent {
    pub id: Uuid,
    pub date: NaiveDate,
    pub change: StatusChange,
}

/// Who decided an orientation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DecidedBy {
    Structure { structure: String },
    ReviewGroup { meeting_id: Uuid },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OrientationRecord {
    pub id: Uuid,
    pub date: NaiveDate,
    pub orientation: Orientation,
    pub reasons: String,
    pub decided_by: DecidedBy,
}

/// A reorientation decided by a review group, with its reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Reorientation {
    pub orientation: Orientation,
    pub reasons: String,
}

/// What a review group decided for one person.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CaseDecision {
    pub reorientation: Option<Reorientation>,
    /// Actions agreed, one per line, free text.
    pub actions: Vec<String>,
    pub next_review: Option<NaiveDate>,
    pub notes: String,
}

/// A review-group decision as recorded on the person's file (and timeline).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReviewDecisionRecord {
    pub meeting_id: Uuid,
    pub date: NaiveDate,
    pub structures_present: Vec<String>,
    pub decision: CaseDecision,
}

/// A review group's agenda as the person's file carries it: the meeting (date, structures
/// present) and why the person is on it, or that they were taken off (`on_agenda` false, so that
/// the removal syncs too). Every laptop that follows the person rebuilds the meeting from these;
/// a structure that does not follow the person never learns they were on an agenda.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReviewAgendaEntry {
    pub meeting_id: Uuid,
    pub date: NaiveDate,
    pub structures_present: Vec<String>,
    pub reason: String,
    pub on_agenda: bool,
}

/// The follow-up file of one person. Nothing in it is ever reset: status events only add to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FollowUp {
    pub person_id: Uuid,
    pub objectives: Vec<FollowUpObjective>,
    pub steps: Vec<Step>,
    pub interviews: Vec<Interview>,
    pub contracts: Vec<EngagementContract>,
    pub status_events: Vec<StatusEvent>,
    pub orientations: Vec<OrientationRecord>,
    pub review_decisions: Vec<ReviewDecisionRecord>,
    /// Files written before review agendas synced have none.
    #[serde(default)]
    pub review_agenda: Vec<ReviewAgendaEntry>,
}

impl FollowUp {
    pub fn new(person_id: Uuid) -> Self {
        FollowUp {
            person_id,
            objectives: Vec::new(),
            steps: Vec::new(),
            interviews: Vec::new(),
            contracts: Vec::new(),
            status_events: Vec::new(),
            orientations: Vec::new(),
            review_decisions: Vec::new(),
            review_agenda: Vec::new(),
        }
    }
}
