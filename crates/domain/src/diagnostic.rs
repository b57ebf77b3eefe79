//! The joint diagnostic ("diagnostic partagé"): one interview run by two professionals with the
//! person. This module holds the types that cross every boundary (store, IPC, UI) and the edit
//! vocabulary the UI speaks; the rules (orientation suggestion, finalisation requirements,
//! applying an edit) live in `diagnostic_rules`.
//!
//! Versions: a diagnostic belongs to a series (`series_id`). Version 1 starts as a draft; once
//! finalised it never changes. Amending makes version n+1, a draft copied from version n, and
//! records every change made to it (who, what, when) in `changes`.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uuid::Uuid;

use crate::profile::Role;

/// How a theme weighs on the person's return to work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    NotDiscussed,
    NoObstacle,
    ObstacleMedium,
    ObstacleStrong,
    Lifted,
}

impl Grade {
    pub const ALL: [Grade; 5] = [
        Grade::NotDiscussed,
        Grade::NoObstacle,
        Grade::ObstacleMedium,
        Grade::ObstacleStrong,
        Grade::Lifted,
    ];

    pub fn is_obstacle(self) -> bool {
        matches!(self, Grade::ObstacleMedium | Grade::ObstacleStrong)
    }
}

/// The national orientation categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Orientation {
    Professional,
    SocioProfessional,
    Social,
}

/// Which of the two interviewers wrote something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Interviewer {
    /// The caseworker using this laptop.
    Caseworker,
    /// The other professional in the room, who may not have the app.
    CoInterviewer,
}

/// Who may read a note: everyone following the person, or only social-field professionals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum NoteVisibility {
    Shared,
    SocialOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    Planned,
    InProgress,
    Done,
    Abandoned,
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum DiagnosticStatus {
    Draft,
    Finalised,
}

/// The three people whose sign-off finalises a diagnostic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Signer {
    Caseworker,
    CoInterviewer,
    Person,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ContractType {
    Cdi,
    Cdd,
    Interim,
    Alternance,
    Iae,
    Creation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum WorkingTime {
    FullTime,
    PartTime,
    Either,
}

/// French qualification levels (nomenclature of 2019: 3 = CAP/BEP … 8 = doctorat).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum QualificationLevel {
    None,
    Level3,
    Level4,
    Level5,
    Level6,
    Level7,
    Level8,
}

/// The other professional in the room.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CoInterviewer {
    pub name: String,
    pub structure: String,
    pub role: Option<Role>,
    /// How the person can reach them (phone, e-mail, address), printed on the summaries.
    #[serde(default)]
    pub contact: String,
}

/// The caseworker using the app, copied into the diagnostic when it starts (a later change of
/// profile never rewrites who ran an old interview).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CaseworkerIdentity {
    pub name: String,
    pub structure: String,
    pub role: Role,
    /// How the person can reach the caseworker, printed on the summaries.
    #[serde(default)]
    pub contact: String,
}

/// One theme of the référentiel as discussed in this interview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ThemeAssessment {
    /// The référentiel theme key, e.g. "logement".
    pub theme: String,
    pub grade: Grade,
    /// Labels of the référentiel situations that apply, in référentiel order.
    pub situations: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Note {
    pub id: Uuid,
    /// The theme it belongs to; `None` for a general note.
    pub theme: Option<String>,
    pub author: Interviewer,
    pub visibility: NoteVisibility,
    pub text: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub updated_at: String,
}

/// What the person says they want, in their own words.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PersonWords {
    pub wishes: String,
    pub priorities: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TargetJob {
    /// ROME code, e.g. "K2204".
    pub code: String,
    /// The job title chosen (a ROME appellation of that code), e.g. "Agent / Agente de propreté".
    pub title: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ProfessionalProject {
    pub target_jobs: Vec<TargetJob>,
    pub contract_types: Vec<ContractType>,
    pub working_time: Option<WorkingTime>,
    pub mobility_radius_km: Option<u32>,
    pub qualification_level: Option<QualificationLevel>,
    pub experience: String,
    pub skills: String,
    pub availability: String,
}

/// The orientation the professionals decide, and the app's suggestion beside it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OrientationDecision {
    pub proposal: Option<Orientation>,
    pub reasons: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OrientationSuggestion {
    pub orientation: Orientation,
    /// Why, in French, one line per reason (e.g. « Frein fort : Logement »).
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PlanAction {
    pub id: Uuid,
    pub label: String,
    /// Who does it: the person, a structure, a professional — free text.
    pub who: String,
    /// ISO date (YYYY-MM-DD), or `None` when no date is set.
    pub due_date: Option<String>,
    pub status: ActionStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PlanObjective {
    pub id: Uuid,
    pub theme: String,
    /// An objective label of the référentiel for that theme.
    pub label: String,
    pub actions: Vec<PlanAction>,
}

/// The person's consent decision for this diagnostic.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Consent {
    /// `None` until the person has decided; `Some(false)` means the file stays on this laptop.
    pub sharing: Option<bool>,
    /// Names of the structures that may see the file.
    pub structures: Vec<String>,
    /// Whether notes reserved to the social field may be shared with employment professionals.
    pub share_social_notes: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SignOff {
    pub signer: Signer,
    /// The name typed by the signer.
    pub name: String,
    /// RFC 3339, UTC.
    pub signed_at: String,
}

/// One recorded change to an amended version: who changed what, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ChangeRecord {
    pub at: String,
    /// The caseworker's name.
    pub by: String,
    /// What changed, in French (e.g. « Orientation », « Note : Logement »).
    pub what: String,
}

/// A diagnostic version as the UI and the printers see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Diagnostic {
    pub id: Uuid,
    pub person_id: Uuid,
    pub series_id: Uuid,
    pub version: u32,
    pub status: DiagnosticStatus,
    /// The référentiel version this diagnostic was built with.
    pub referentiel_version: String,
    /// ISO date of the interview.
    pub date: Option<String>,
    pub place: String,
    pub caseworker: CaseworkerIdentity,
    pub co_interviewer: CoInterviewer,
    /// One entry per référentiel theme, in référentiel order.
    pub themes: Vec<ThemeAssessment>,
    pub notes: Vec<Note>,
    pub person_words: PersonWords,
    pub project: ProfessionalProject,
    pub orientation: OrientationDecision,
    pub plan: Vec<PlanObjective>,
    /// The next appointment agreed with the person, as they should read it on paper
    /// (e.g. « mardi 8 décembre à 10 h, au CCAS »).
    #[serde(default)]
    pub next_appointment: String,
    pub consent: Consent,
    pub signoffs: Vec<SignOff>,
    pub created_at: String,
    pub finalised_at: Option<String>,
    pub changes: Vec<ChangeRecord>,
    /// Computed: the app's suggestion from the grades, `None` while no theme is graded.
    pub suggestion: Option<OrientationSuggestion>,
    /// Computed: what is missing before sign-off, in French, one line each (empty = ready).
    pub missing: Vec<String>,
}

/// One line of a person's diagnostic history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DiagnosticSummary {
    pub id: Uuid,
    pub series_id: Uuid,
    pub version: u32,
    pub status: DiagnosticStatus,
    pub date: Option<String>,
    pub caseworker_name: String,
    pub co_interviewer_name: String,
    pub orientation: Option<Orientation>,
    pub finalised_at: Option<String>,
}

/// Scalar fields of a diagnostic, edited one at a time by autosave. The value travels as text
/// (empty = cleared) and is parsed and validated in Rust.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum DiagnosticField {
    Date,
    Place,
    CoInterviewerName,
    CoInterviewerStructure,
    /// "social" or "employment".
    CoInterviewerRole,
    CoInterviewerContact,
    CaseworkerContact,
    NextAppointment,
    PersonWishes,
    PersonPriorities,
    /// A `WorkingTime` in snake_case.
    WorkingTime,
    MobilityRadiusKm,
    /// A `QualificationLevel` in snake_case.
    QualificationLevel,
    Experience,
    Skills,
    Availability,
    /// An `Orientation` in snake_case.
    Orientation,
    OrientationReasons,
    /// "true", "false" or "" (undecided).
    ConsentSharing,
    /// "true" or "false".
    ConsentShareSocialNotes,
}

/// Fields of a plan action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ActionField {
    Label,
    Who,
    DueDate,
    /// An `ActionStatus` in snake_case.
    Status,
}

/// Every change the interview screen can make to a draft. Each is one autosave, one
/// transaction, one entry of the sync outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DiagnosticEdit {
    SetField {
        field: DiagnosticField,
        value: String,
    },
    SetGrade {
        theme: String,
        grade: Grade,
    },
    /// Replaces the situations that apply to a theme (labels from the référentiel).
    SetSituations {
        theme: String,
        situations: Vec<String>,
    },
    /// Creates a note; its id is chosen by the caller so a retried save never duplicates it.
    AddNote {
        id: Uuid,
        theme: Option<String>,
        author: Interviewer,
        visibility: NoteVisibility,
        text: String,
    },
    EditNote {
        id: Uuid,
        text: String,
    },
    SetNoteVisibility {
        id: Uuid,
        visibility: NoteVisibility,
    },
    RemoveNote {
        id: Uuid,
    },
    SetContractTypes {
        contract_types: Vec<ContractType>,
    },
    /// A job title found by the ROME search, with its code.
    AddTargetJob {
        code: String,
        title: String,
    },
    RemoveTargetJob {
        code: String,
        title: String,
    },
    AddObjective {
        id: Uuid,
        theme: String,
        label: String,
    },
    RemoveObjective {
        id: Uuid,
    },
    AddAction {
        id: Uuid,
        objective_id: Uuid,
        label: String,
    },
    SetActionField {
        id: Uuid,
        field: ActionField,
        value: String,
    },
    RemoveAction {
        id: Uuid,
    },
    SetConsentStructures {
        structures: Vec<String>,
    },
    /// A typed-name sign-off. Any later change to the content clears the sign-offs.
    SignOff {
        signer: Signer,
        name: String,
    },
    WithdrawSignOff {
        signer: Signer,
    },
    /// Finalises the draft once nothing is missing; from then on it never changes.
    Finalise,
}

/// One theme of the référentiel, as the interview screen lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReferentielTheme {
    pub key: String,
    pub label: String,
    pub situations: Vec<String>,
    pub objectives: Vec<String>,
    pub actions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Referentiel {
    /// A stable version label recorded in each diagnostic, e.g. "cdb-2024-02-29".
    pub version: String,
    pub attribution: String,
    pub themes: Vec<ReferentielTheme>,
}

/// A ROME job title found by search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RomeMatch {
    pub code: String,
    /// The ROME label of the code; empty while the vendored data has none (see reference/).
    pub code_label: String,
    /// The job title that matched.
    pub title: String,
}
