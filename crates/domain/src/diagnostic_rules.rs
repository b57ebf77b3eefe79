//! The rules of a joint diagnostic: starting a draft, applying one edit, the orientation
//! suggestion, what is missing before sign-off, finalising and amending.
//!
//! Every function here is pure: the store persists the result, the shell carries it.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use uuid::Uuid;

use crate::diagnostic::{
    ActionField, ActionStatus, CaseworkerIdentity, ChangeRecord, CoInterviewer, Consent,
    ContractType, Diagnostic, DiagnosticEdit, DiagnosticField, DiagnosticStatus, Grade, Note,
    Orientation, OrientationDecision, OrientationSuggestion, PersonWords, PlanAction,
    PlanObjective, ProfessionalProject, QualificationLevel, Referentiel, SignOff, Signer,
    TargetJob, ThemeAssessment, WorkingTime,
};
use crate::profile::Role;
use crate::rome::RomeIndex;
use crate::validation::{self as v, ValidationError, ValidationReason};

/// Why an edit, a finalisation or an amendment was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiagnosticError {
    /// A finalised diagnostic never changes; amend it into a new version instead.
    #[error("ce diagnostic est finalisé : il ne peut plus être modifié")]
    Finalised,
    /// Only a finalised diagnostic can be amended.
    #[error("ce diagnostic n’est pas encore finalisé")]
    NotFinalised,
    /// Finalising was refused; each line says what is missing, in French.
    #[error("il manque : {}", .0.join(" ; "))]
    NotReady(Vec<String>),
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// An edit named a theme, note, objective or action that does not exist in this diagnostic
    /// (or in the référentiel).
    #[error("élément introuvable : {0}")]
    Unknown(&'static str),
}

/// What an edit needs besides the diagnostic.
pub struct EditContext<'a> {
    pub referentiel: &'a Referentiel,
    pub rome: &'a RomeIndex,
    pub now: DateTime<Utc>,
    /// The caseworker's name, recorded in the change history of amended versions.
    pub by: &'a str,
}

/// Themes whose strong obstacles weigh toward a social or socio-professional orientation
/// (national orientation criteria: health, housing, mobility, childcare and caring).
pub const DECISIVE_THEMES: [&str; 4] = ["sante", "logement", "mobilite", "contraintes_familiales"];

/// Social and peripheral themes that count as obstacles to work without being decisive alone.
pub const PERIPHERAL_THEMES: [&str; 4] = [
    "difficulte_administrative",
    "difficulte_financiere",
    "maitrise_langue",
    "numerique",
];

/// Consecutive edits of the same thing by the same person within this window make one line of
/// an amended version's change history (autosave saves every pause in typing).
const CHANGE_COALESCE_SECONDS: i64 = 600;

pub fn timestamp(now: DateTime<Utc>) -> String {
    now.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn new_draft(
    id: Uuid,
    series_id: Uuid,
    person_id: Uuid,
    caseworker: CaseworkerIdentity,
    referentiel: &Referentiel,
    now: DateTime<Utc>,
) -> Diagnostic {
    let mut d = Diagnostic {
        id,
        person_id,
        series_id,
        version: 1,
        status: DiagnosticStatus::Draft,
        referentiel_version: referentiel.version.clone(),
        date: Some(now.date_naive().to_string()),
        place: String::new(),
        caseworker,
        co_interviewer: CoInterviewer::default(),
        themes: referentiel
            .themes
            .iter()
            .map(|t| ThemeAssessment {
                theme: t.key.clone(),
                grade: Grade::NotDiscussed,
                situations: Vec::new(),
            })
            .collect(),
        notes: Vec::new(),
        person_words: PersonWords::default(),
        project: ProfessionalProject::default(),
        orientation: OrientationDecision::default(),
        plan: Vec::new(),
        next_appointment: String::new(),
        consent: Consent::default(),
        signoffs: Vec::new(),
        created_at: timestamp(now),
        finalised_at: None,
        changes: Vec::new(),
        suggestion: None,
        missing: Vec::new(),
    };
    refresh(&mut d, referentiel);
    d
}

/// Recomputes the derived parts: the orientation suggestion and what is missing.
pub fn refresh(d: &mut Diagnostic, referentiel: &Referentiel) {
    d.suggestion = suggest_orientation(&d.themes, referentiel);
    d.missing = missing_for_finalisation(d, referentiel);
}

fn theme_label<'r>(referentiel: &'r Referentiel, key: &'r str) -> &'r str {
    referentiel
        .themes
        .iter()
        .find(|t| t.key == key)
        .map_or(key, |t| t.label.as_str())
}

/// The app's suggestion from the grades, following the national orientation criteria: strong
/// obstacles in health, housing, mobility or family constraints (childcare, caring) weigh toward
/// a social or socio-professional orientation; the professionals decide.
///
/// - two or more strong obstacles among the decisive themes → social;
/// - one strong decisive obstacle, or two or more obstacles among the social themes (medium
///   decisive ones, or strong peripheral ones: administration, money, language, digital) →
///   socio-professional;
/// - otherwise → professional.
///
/// `None` while no theme has been discussed.
pub fn suggest_orientation(
    themes: &[ThemeAssessment],
    referentiel: &Referentiel,
) -> Option<OrientationSuggestion> {
    if themes.iter().all(|t| t.grade == Grade::NotDiscussed) {
        return None;
    }
    let mut strong_decisive = Vec::new();
    let mut medium_decisive = Vec::new();
    let mut strong_peripheral = Vec::new();
    for t in themes {
        let label = theme_label(referentiel, &t.theme);
        let decisive = DECISIVE_THEMES.contains(&t.theme.as_str());
        let peripheral = PERIPHERAL_THEMES.contains(&t.theme.as_str());
        match t.grade {
            Grade::ObstacleStrong if decisive => strong_decisive.push(label),
            Grade::ObstacleMedium if decisive => medium_decisive.push(label),
            Grade::ObstacleStrong if peripheral => strong_peripheral.push(label),
            _ => {}
        }
    }
    let mut reasons: Vec<String> = Vec::new();
    reasons.extend(strong_decisive.iter().map(|l| format!("Frein fort : {l}")));
    reasons.extend(medium_decisive.iter().map(|l| format!("Frein moyen : {l}")));
    reasons.extend(
        strong_peripheral
            .iter()
            .map(|l| format!("Frein fort : {l}")),
    );
    let social_obstacles = medium_decisive.len() + strong_peripheral.len();
    let orientation = if strong_decisive.len() >= 2 {
        Orientation::Social
    } else if strong_decisive.len() == 1 || social_obstacles >= 2 {
        Orientation::SocioProfessional
    } else {
        reasons.push(
            "Aucun frein fort en santé, logement, mobilité ou contraintes familiales".to_string(),
        );
        Orientation::Professional
    };
    Some(OrientationSuggestion {
        orientation,
        reasons,
    })
}

fn signer_label(d: &Diagnostic, signer: Signer) -> String {
    match signer {
        Signer::Caseworker => format!("la validation de {}", d.caseworker.name),
        Signer::CoInterviewer if d.co_interviewer.name.trim().is_empty() => {
            "la validation du ou de la co-intervenant·e".to_string()
        }
        Signer::CoInterviewer => format!("la validation de {}", d.co_interviewer.name),
        Signer::Person => "la validation de la personne accompagnée".to_string(),
    }
}

/// Everything missing before the diagnostic can be finalised, in French, one line each, in the
/// order of the interview. Empty when it is ready.
pub fn missing_for_finalisation(d: &Diagnostic, referentiel: &Referentiel) -> Vec<String> {
    let mut missing = Vec::new();
    if d.date.is_none() {
        missing.push("la date de l’entretien".to_string());
    }
    if d.co_interviewer.name.trim().is_empty() {
        missing.push("le nom du ou de la co-intervenant·e".to_string());
    }
    if d.co_interviewer.structure.trim().is_empty() {
        missing.push("la structure du ou de la co-intervenant·e".to_string());
    }
    if d.co_interviewer.role.is_none() {
        missing.push("le domaine du ou de la co-intervenant·e (social ou emploi)".to_string());
    }
    if d.themes.iter().all(|t| t.grade == Grade::NotDiscussed) {
        missing.push("au moins un thème abordé".to_string());
    }
    if d.orientation.proposal.is_none() {
        missing.push("l’orientation retenue".to_string());
    }
    if d.orientation.reasons.trim().is_empty() {
        missing.push("les raisons de l’orientation".to_string());
    }
    let obstacles: Vec<&str> = d
        .themes
        .iter()
        .filter(|t| t.grade.is_obstacle())
        .map(|t| theme_label(referentiel, &t.theme))
        .collect();
    if !obstacles.is_empty() && d.plan.is_empty() {
        missing.push(format!(
            "au moins un objectif dans le plan d’action (freins : {})",
            obstacles.join(", ")
        ));
    }
    for objective in &d.plan {
        if objective.actions.is_empty() {
            missing.push(format!(
                "une action pour l’objectif « {} »",
                objective.label
            ));
        }
    }
    match d.consent.sharing {
        None => missing.push("la décision de la personne sur le partage de son dossier".into()),
        Some(true) if d.consent.structures.is_empty() => {
            missing.push("les structures autorisées à voir le dossier".to_string());
        }
        _ => {}
    }
    for signer in [Signer::Caseworker, Signer::CoInterviewer, Signer::Person] {
        if !d.signoffs.iter().any(|s| s.signer == signer) {
            missing.push(signer_label(d, signer));
        }
    }
    missing
}

fn invalid(field: &'static str) -> DiagnosticError {
    ValidationError::new(field, ValidationReason::InvalidChoice).into()
}

fn parse_role(raw: &str) -> Result<Option<Role>, DiagnosticError> {
    match raw.trim() {
        "" => Ok(None),
        other => Role::parse(other)
            .map(Some)
            .ok_or_else(|| invalid("co_interviewer_role")),
    }
}

fn parse_working_time(raw: &str) -> Result<Option<WorkingTime>, DiagnosticError> {
    Ok(match raw.trim() {
        "" => None,
        "full_time" => Some(WorkingTime::FullTime),
        "part_time" => Some(WorkingTime::PartTime),
        "either" => Some(WorkingTime::Either),
        _ => return Err(invalid("working_time")),
    })
}

fn parse_qualification(raw: &str) -> Result<Option<QualificationLevel>, DiagnosticError> {
    use QualificationLevel as Q;
    Ok(match raw.trim() {
        "" => None,
        "none" => Some(Q::None),
        "level3" => Some(Q::Level3),
        "level4" => Some(Q::Level4),
        "level5" => Some(Q::Level5),
        "level6" => Some(Q::Level6),
        "level7" => Some(Q::Level7),
        "level8" => Some(Q::Level8),
        _ => return Err(invalid("qualification_level")),
    })
}

fn parse_orientation(raw: &str) -> Result<Option<Orientation>, DiagnosticError> {
    Ok(match raw.trim() {
        "" => None,
        "professional" => Some(Orientation::Professional),
        "socio_professional" => Some(Orientation::SocioProfessional),
        "social" => Some(Orientation::Social),
        _ => return Err(invalid("orientation")),
    })
}

fn parse_action_status(raw: &str) -> Result<ActionStatus, DiagnosticError> {
    Ok(match raw.trim() {
        "planned" => ActionStatus::Planned,
        "in_progress" => ActionStatus::InProgress,
        "done" => ActionStatus::Done,
        "abandoned" => ActionStatus::Abandoned,
        "cancelled" => ActionStatus::Cancelled,
        _ => return Err(invalid("action_status")),
    })
}

impl DiagnosticField {
    pub fn name(self) -> &'static str {
        use DiagnosticField::*;
        match self {
            Date => "date",
            Place => "place",
            CoInterviewerName => "co_interviewer_name",
            CoInterviewerStructure => "co_interviewer_structure",
            CoInterviewerRole => "co_interviewer_role",
            CoInterviewerContact => "co_interviewer_contact",
            CaseworkerContact => "caseworker_contact",
            NextAppointment => "next_appointment",
            PersonWishes => "person_wishes",
            PersonPriorities => "person_priorities",
            WorkingTime => "working_time",
            MobilityRadiusKm => "mobility_radius_km",
            QualificationLevel => "qualification_level",
            Experience => "experience",
            Skills => "skills",
            Availability => "availability",
            Orientation => "orientation",
            OrientationReasons => "orientation_reasons",
            ConsentSharing => "consent_sharing",
            ConsentShareSocialNotes => "consent_share_social_notes",
        }
    }

    /// The field's name in the change history, in French.
    pub fn label(self) -> &'static str {
        use DiagnosticField::*;
        match self {
            Date => "Date de l’entretien",
            Place => "Lieu de l’entretien",
            CoInterviewerName => "Nom du ou de la co-intervenant·e",
            CoInterviewerStructure => "Structure du ou de la co-intervenant·e",
            CoInterviewerRole => "Domaine du ou de la co-intervenant·e",
            CoInterviewerContact => "Coordonnées du ou de la co-intervenant·e",
            CaseworkerContact => "Coordonnées du ou de la conseiller·e",
            NextAppointment => "Prochain rendez-vous",
            PersonWishes => "Ce que la personne souhaite",
            PersonPriorities => "Ses priorités",
            WorkingTime => "Temps de travail",
            MobilityRadiusKm => "Distance de déplacement",
            QualificationLevel => "Niveau de qualification",
            Experience => "Expérience",
            Skills => "Compétences",
            Availability => "Disponibilité",
            Orientation => "Orientation",
            OrientationReasons => "Raisons de l’orientation",
            ConsentSharing => "Partage du dossier",
            ConsentShareSocialNotes => "Partage des notes réservées au travail social",
        }
    }
}

fn set_field(
    d: &mut Diagnostic,
    field: DiagnosticField,
    raw: &str,
    today: NaiveDate,
) -> Result<(), DiagnosticError> {
    use DiagnosticField as F;
    let name = field.name();
    match field {
        F::Date => d.date = v::date(name, raw, today, false)?.map(|x| x.to_string()),
        F::Place => d.place = v::text(name, raw, false)?,
        F::CoInterviewerName => d.co_interviewer.name = v::text(name, raw, false)?,
        F::CoInterviewerStructure => d.co_interviewer.structure = v::text(name, raw, false)?,
        F::CoInterviewerRole => d.co_interviewer.role = parse_role(raw)?,
        F::CoInterviewerContact => d.co_interviewer.contact = v::text(name, raw, false)?,
        F::CaseworkerContact => d.caseworker.contact = v::text(name, raw, false)?,
        F::NextAppointment => d.next_appointment = v::text(name, raw, false)?,
        F::PersonWishes => d.person_words.wishes = v::long_text(name, raw)?,
        F::PersonPriorities => d.person_words.priorities = v::long_text(name, raw)?,
        F::WorkingTime => d.project.working_time = parse_working_time(raw)?,
        F::MobilityRadiusKm => d.project.mobility_radius_km = v::number(name, raw, 0..=500)?,
        F::QualificationLevel => d.project.qualification_level = parse_qualification(raw)?,
        F::Experience => d.project.experience = v::long_text(name, raw)?,
        F::Skills => d.project.skills = v::long_text(name, raw)?,
        F::Availability => d.project.availability = v::text(name, raw, false)?,
        F::Orientation => d.orientation.proposal = parse_orientation(raw)?,
        F::OrientationReasons => d.orientation.reasons = v::long_text(name, raw)?,
        F::ConsentSharing => {
            d.consent.sharing = match raw.trim() {
                "" => None,
                other => Some(v::flag(name, other)?),
            }
        }
        F::ConsentShareSocialNotes => d.consent.share_social_notes = v::flag(name, raw)?,
    }
    Ok(())
}

/// Whether a label belongs to the référentiel list, when the diagnostic uses this référentiel.
/// A diagnostic made with another référentiel version keeps the labels it already has.
fn check_label(
    d: &Diagnostic,
    referentiel: &Referentiel,
    allowed: impl Fn(&crate::diagnostic::ReferentielTheme) -> &Vec<String>,
    theme: &str,
    label: &str,
    field: &'static str,
) -> Result<(), DiagnosticError> {
    if d.referentiel_version != referentiel.version {
        return Ok(());
    }
    let t = referentiel
        .themes
        .iter()
        .find(|t| t.key == theme)
        .ok_or(DiagnosticError::Unknown("thème"))?;
    if allowed(t).iter().any(|l| l == label) {
        Ok(())
    } else {
        Err(invalid(field))
    }
}

fn note_mut(d: &mut Diagnostic, id: Uuid) -> Result<&mut Note, DiagnosticError> {
    d.notes
        .iter_mut()
        .find(|n| n.id == id)
        .ok_or(DiagnosticError::Unknown("note"))
}

fn action_mut(d: &mut Diagnostic, id: Uuid) -> Result<&mut PlanAction, DiagnosticError> {
    d.plan
        .iter_mut()
        .flat_map(|o| o.actions.iter_mut())
        .find(|a| a.id == id)
        .ok_or(DiagnosticError::Unknown("action"))
}

/// What an edit changes, in French, for the change history.
fn describe(edit: &DiagnosticEdit, d: &Diagnostic, referentiel: &Referentiel) -> String {
    use DiagnosticEdit as E;
    let theme = |key: &str| theme_label(referentiel, key).to_string();
    let note_theme = |id: &Uuid| {
        d.notes
            .iter()
            .find(|n| n.id == *id)
            .and_then(|n| n.theme.clone())
            .map_or_else(|| "générale".to_string(), |k| theme(&k))
    };
    match edit {
        E::SetField { field, .. } => field.label().to_string(),
        E::SetGrade { theme: t, .. } => format!("Thème {} : niveau de frein", theme(t)),
        E::SetSituations { theme: t, .. } => format!("Thème {} : situations", theme(t)),
        E::AddNote { theme: t, .. } => format!(
            "Note ajoutée ({})",
            t.as_deref().map_or_else(|| "générale".to_string(), theme)
        ),
        E::EditNote { id, .. } | E::SetNoteVisibility { id, .. } => {
            format!("Note ({})", note_theme(id))
        }
        E::RemoveNote { id } => format!("Note retirée ({})", note_theme(id)),
        E::SetContractTypes { .. } => "Types de contrat".to_string(),
        E::AddTargetJob { .. } | E::RemoveTargetJob { .. } => "Métiers recherchés".to_string(),
        E::AddObjective { .. } | E::RemoveObjective { .. } => "Objectifs du plan".to_string(),
        E::AddAction { .. } | E::SetActionField { .. } | E::RemoveAction { .. } => {
            "Actions du plan".to_string()
        }
        E::SetConsentStructures { .. } => "Structures autorisées".to_string(),
        E::SignOff { .. } | E::WithdrawSignOff { .. } => "Signatures".to_string(),
        E::Finalise => "Finalisation".to_string(),
    }
}

/// Applies one edit to a draft. Nothing changes when it is refused. Any change to the content
/// clears the sign-offs already given: people sign what they have read.
pub fn apply_edit(
    d: &mut Diagnostic,
    edit: &DiagnosticEdit,
    ctx: &EditContext<'_>,
) -> Result<(), DiagnosticError> {
    if d.status == DiagnosticStatus::Finalised {
        return Err(DiagnosticError::Finalised);
    }
    if matches!(edit, DiagnosticEdit::Finalise) {
        return finalise(d, ctx.now);
    }
    let mut next = d.clone();
    apply_inner(&mut next, edit, ctx)?;
    let is_signature = matches!(
        edit,
        DiagnosticEdit::SignOff { .. } | DiagnosticEdit::WithdrawSignOff { .. }
    );
    if !is_signature && content_differs(d, &next) {
        next.signoffs.clear();
    }
    if next.version > 1 && *d != next {
        record_change(&mut next, describe(edit, d, ctx.referentiel), ctx);
    }
    refresh(&mut next, ctx.referentiel);
    *d = next;
    Ok(())
}

fn content_differs(a: &Diagnostic, b: &Diagnostic) -> bool {
    let mut a = a.clone();
    a.signoffs.clone_from(&b.signoffs);
    a.changes.clone_from(&b.changes);
    a != *b
}

fn record_change(d: &mut Diagnostic, what: String, ctx: &EditContext<'_>) {
    let at = timestamp(ctx.now);
    if let Some(last) = d.changes.last_mut() {
        let recent = DateTime::parse_from_rfc3339(&last.at)
            .map(|t| (ctx.now - t.with_timezone(&Utc)).num_seconds() < CHANGE_COALESCE_SECONDS)
            .unwrap_or(false);
        if recent && last.what == what && last.by == ctx.by {
            last.at = at;
            return;
        }
    }
    d.changes.push(ChangeRecord {
        at,
        by: ctx.by.to_string(),
        what,
    });
}

fn apply_inner(
    d: &mut Diagnostic,
    edit: &DiagnosticEdit,
    ctx: &EditContext<'_>,
) -> Result<(), DiagnosticError> {
    use DiagnosticEdit as E;
    let now = timestamp(ctx.now);
    let today = ctx.now.date_naive();
    match edit {
        E::SetField { field, value } => set_field(d, *field, value, today)?,
        E::SetGrade { theme, grade } => {
            d.themes
                .iter_mut()
                .find(|t| t.theme == *theme)
                .ok_or(DiagnosticError::Unknown("thème"))?
                .grade = *grade;
        }
        E::SetSituations { theme, situations } => {
            for s in situations {
                check_label(
                    d,
                    ctx.referentiel,
                    |t| &t.situations,
                    theme,
                    s,
                    "situations",
                )?;
            }
            let order: Vec<String> = ctx
                .referentiel
                .themes
                .iter()
                .find(|t| t.key == *theme)
                .map(|t| t.situations.clone())
                .unwrap_or_default();
            let assessment = d
                .themes
                .iter_mut()
                .find(|t| t.theme == *theme)
                .ok_or(DiagnosticError::Unknown("thème"))?;
            let mut chosen: Vec<String> = Vec::new();
            for s in situations {
                if !chosen.contains(s) {
                    chosen.push(s.clone());
                }
            }
            chosen.sort_by_key(|s| order.iter().position(|o| o == s).unwrap_or(usize::MAX));
            assessment.situations = chosen;
        }
        E::AddNote {
            id,
            theme,
            author,
            visibility,
            text,
        } => {
            if d.notes.iter().any(|n| n.id == *id) {
                // A retried save of the same note: already there.
                return Ok(());
            }
            if let Some(t) = theme {
                if !d.themes.iter().any(|a| a.theme == *t) {
                    return Err(DiagnosticError::Unknown("thème"));
                }
            }
            let text = v::long_text("note_text", text)?;
            d.notes.push(Note {
                id: *id,
                theme: theme.clone(),
                author: *author,
                visibility: *visibility,
                text,
                created_at: now.clone(),
                updated_at: now,
            });
        }
        E::EditNote { id, text } => {
            let text = v::long_text("note_text", text)?;
            let note = note_mut(d, *id)?;
            if note.text != text {
                note.text = text;
                note.updated_at = now;
            }
        }
        E::SetNoteVisibility { id, visibility } => {
            let note = note_mut(d, *id)?;
            if note.visibility != *visibility {
                note.visibility = *visibility;
                note.updated_at = now;
            }
        }
        E::RemoveNote { id } => d.notes.retain(|n| n.id != *id),
        E::SetContractTypes { contract_types } => {
            let mut chosen: Vec<ContractType> = Vec::new();
            for c in contract_types {
                if !chosen.contains(c) {
                    chosen.push(*c);
                }
            }
            d.project.contract_types = chosen;
        }
        E::AddTargetJob { code, title } => {
            let code = code.trim().to_uppercase();
            if !ctx.rome.has_title(&code, title) {
                return Err(invalid("target_jobs"));
            }
            let job = TargetJob {
                code,
                title: title.clone(),
            };
            if !d.project.target_jobs.contains(&job) {
                d.project.target_jobs.push(job);
            }
        }
        E::RemoveTargetJob { code, title } => {
            let code = code.trim().to_uppercase();
            d.project
                .target_jobs
                .retain(|j| !(j.code == code && j.title == *title));
        }
        E::AddObjective { id, theme, label } => {
            if d.plan.iter().any(|o| o.id == *id) {
                return Ok(());
            }
            if !d.themes.iter().any(|a| a.theme == *theme) {
                return Err(DiagnosticError::Unknown("thème"));
            }
            check_label(
                d,
                ctx.referentiel,
                |t| &t.objectives,
                theme,
                label,
                "objective",
            )?;
            d.plan.push(PlanObjective {
                id: *id,
                theme: theme.clone(),
                label: label.clone(),
                actions: Vec::new(),
            });
        }
        E::RemoveObjective { id } => d.plan.retain(|o| o.id != *id),
        E::AddAction {
            id,
            objective_id,
            label,
        } => {
            if d.plan.iter().flat_map(|o| &o.actions).any(|a| a.id == *id) {
                return Ok(());
            }
            let label = v::text("action_label", label, true)?;
            d.plan
                .iter_mut()
                .find(|o| o.id == *objective_id)
                .ok_or(DiagnosticError::Unknown("objectif"))?
                .actions
                .push(PlanAction {
                    id: *id,
                    label,
                    who: String::new(),
                    due_date: None,
                    status: ActionStatus::Planned,
                });
        }
        E::SetActionField { id, field, value } => match field {
            ActionField::Label => {
                let label = v::text("action_label", value, true)?;
                action_mut(d, *id)?.label = label;
            }
            ActionField::Who => {
                let who = v::text("action_who", value, false)?;
                action_mut(d, *id)?.who = who;
            }
            ActionField::DueDate => {
                let due = v::date("action_due_date", value, today, true)?;
                action_mut(d, *id)?.due_date = due.map(|x| x.to_string());
            }
            ActionField::Status => {
                let status = parse_action_status(value)?;
                action_mut(d, *id)?.status = status;
            }
        },
        E::RemoveAction { id } => {
            for o in &mut d.plan {
                o.actions.retain(|a| a.id != *id);
            }
        }
        E::SetConsentStructures { structures } => {
            let mut chosen: Vec<String> = Vec::new();
            for s in structures {
                let s = v::text("consent_structures", s, false)?;
                if !s.is_empty() && !chosen.contains(&s) {
                    chosen.push(s);
                }
            }
            d.consent.structures = chosen;
        }
        E::SignOff { signer, name } => {
            let name = v::text("signoff_name", name, true)?;
            d.signoffs.retain(|s| s.signer != *signer);
            d.signoffs.push(SignOff {
                signer: *signer,
                name,
                signed_at: now,
            });
        }
        E::WithdrawSignOff { signer } => d.signoffs.retain(|s| s.signer != *signer),
        // Handled by `apply_edit` before any content change.
        E::Finalise => {}
    }
    Ok(())
}

/// Finalises a draft once nothing is missing (the three sign-offs included). From then on the
/// diagnostic never changes.
pub fn finalise(d: &mut Diagnostic, now: DateTime<Utc>) -> Result<(), DiagnosticError> {
    if d.status == DiagnosticStatus::Finalised {
        return Err(DiagnosticError::Finalised);
    }
    if !d.missing.is_empty() {
        return Err(DiagnosticError::NotReady(d.missing.clone()));
    }
    d.status = DiagnosticStatus::Finalised;
    d.finalised_at = Some(timestamp(now));
    Ok(())
}

/// Starts version n+1 of a finalised diagnostic: a draft with the same content, no sign-offs,
/// and an empty change history that records what is changed from here on.
pub fn amend(
    d: &Diagnostic,
    new_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Diagnostic, DiagnosticError> {
    if d.status != DiagnosticStatus::Finalised {
        return Err(DiagnosticError::NotFinalised);
    }
    let mut next = d.clone();
    next.id = new_id;
    next.version = d.version + 1;
    next.status = DiagnosticStatus::Draft;
    next.signoffs.clear();
    next.finalised_at = None;
    next.created_at = timestamp(now);
    next.changes.clear();
    // The sign-offs are gone, so the missing list now names them again.
    let signers = [Signer::Caseworker, Signer::CoInterviewer, Signer::Person];
    let missing: Vec<String> = signers
        .into_iter()
        .map(|s| signer_label(&next, s))
        .collect();
    next.missing.extend(missing);
    Ok(next)
}
