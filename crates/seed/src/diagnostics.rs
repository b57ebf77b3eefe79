//! Synthetic joint diagnostics, built the way the interview screen builds them: a draft from
//! `new_draft`, then one `apply_edit` per thing the caseworker does, sign-offs, `finalise`; and
//! for some persons amended versions (`amend`, a few edits, signed and finalised again).
//! Everything is drawn from one seeded generator: the same seed gives the same diagnostics.

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use tandem_domain::diagnostic::{
    ActionField, CaseworkerIdentity, ContractType, Diagnostic, DiagnosticEdit, DiagnosticField,
    DiagnosticStatus, Grade, Interviewer, NoteVisibility, Orientation, Referentiel, Signer,
};
use tandem_domain::diagnostic_rules::{
    amend, apply_edit, finalise, new_draft, DiagnosticError, EditContext,
};
use tandem_domain::rome::RomeIndex;
use tandem_domain::{Person, Profile, Role};

use crate::{pick, random_uuid_v7};

/// Common ROME codes for the jobs people in an insertion path often aim at.
const ROME_CODES: &[&str] = &[
    "K2204", "G1602", "G1603", "N1103", "N1105", "D1507", "K1302", "K1303", "J1501", "H3302",
    "F1703", "A1203", "N4101", "D1106", "M1607", "G1803", "K2303", "I1203",
];

const CO_INTERVIEWERS: &[(&str, &str, Role)] = &[
    (
        "Nadia Benali",
        "France Travail Lyon Part-Dieu",
        Role::Employment,
    ),
    (
        "Julien Morel",
        "France Travail Villeurbanne",
        Role::Employment,
    ),
    ("Sandrine Petit", "Cap emploi Rhône", Role::Employment),
    (
        "Youssef Haddad",
        "Mission locale de Vénissieux",
        Role::Employment,
    ),
    ("Isabelle Garnier", "PLIE Uni-Est", Role::Employment),
    (
        "Marion Faure",
        "Maison de la Métropole de Villeurbanne",
        Role::Social,
    ),
    ("Olivier Roche", "CCAS de Vaulx-en-Velin", Role::Social),
    (
        "Léa Chevalier",
        "Secours catholique — délégation du Rhône",
        Role::Social,
    ),
];

const PLACES: &[&str] = &[
    "CCAS, bureau d’accueil",
    "Maison de la Métropole",
    "Agence France Travail",
    "Mairie annexe",
    "Permanence du centre social",
    "Visioconférence",
];

const WISHES: &[&str] = &[
    "Retrouver un travail stable, de préférence en CDI.",
    "Travailler à temps partiel pour pouvoir garder mes enfants le mercredi.",
    "Reprendre une formation pour changer de métier.",
    "Passer le permis de conduire pour pouvoir accepter des missions plus loin.",
    "Trouver un logement avant de chercher du travail.",
    "Créer mon entreprise de nettoyage.",
    "Travailler dans la restauration, j’ai déjà de l’expérience.",
    "Me soigner d’abord, puis reprendre une activité progressivement.",
];

const PRIORITIES: &[&str] = &[
    "Le logement d’abord.",
    "Régler les dettes et les papiers.",
    "Trouver une solution de garde.",
    "Apprendre le français pour être autonome.",
    "Avoir des revenus réguliers.",
    "Retrouver confiance en moi.",
];

const NOTE_TEXTS: &[&str] = &[
    "La personne explique sa situation avec précision ; les démarches déjà engagées sont notées.",
    "Point à revoir au prochain rendez-vous : les justificatifs n’étaient pas disponibles.",
    "Elle souhaite être accompagnée dans ses démarches auprès de la CAF.",
    "Il dit avoir besoin de temps avant de reprendre une activité à temps plein.",
    "Le dossier est en cours d’instruction ; relance prévue dans quinze jours.",
    "Un échange avec l’assistante sociale de secteur est prévu.",
    "Situation stable depuis le dernier entretien, pas de nouvelle difficulté signalée.",
    "Hébergée chez un proche depuis trois mois, la situation ne peut pas durer.",
    "Suivi médical régulier ; la personne ne souhaite pas en dire plus.",
    "Pas de véhicule ; les transports en commun desservent mal la zone d’emploi visée.",
];

const EXPERIENCE: &[&str] = &[
    "Deux ans comme agent d’entretien en contrat aidé.",
    "Plusieurs missions d’intérim en logistique.",
    "Aide à domicile auprès de personnes âgées, sans diplôme.",
    "Commis de cuisine en restauration collective.",
    "Vendeuse en boulangerie pendant cinq ans.",
    "Pas d’expérience professionnelle en France.",
];

const SKILLS: &[&str] = &[
    "Ponctualité, travail en équipe, respect des consignes d’hygiène.",
    "Permis B, CACES 1 et 3 (à renouveler).",
    "Relation client, caisse, mise en rayon.",
    "Bonne maîtrise des outils numériques de base.",
    "Cuisine, préparation froide, plonge.",
];

const AVAILABILITY: &[&str] = &[
    "Immédiate",
    "Dans un mois",
    "Après la rentrée scolaire",
    "À temps partiel seulement",
];

const WHO: &[&str] = &[
    "La personne",
    "La personne, avec la référente",
    "CCAS",
    "France Travail",
    "Assistante sociale de secteur",
    "Mission locale",
];

const AMENDMENT_NOTES: &[&str] = &[
    "Complément après l’entretien : la situation de logement a évolué.",
    "Correction : la personne a obtenu un rendez-vous médical.",
    "Mise à jour du projet après la période d’immersion.",
    "La personne a précisé ses contraintes horaires.",
];

/// Diagnostics for about 60 % of `persons`: one finalised version each, and for about 15 % of
/// all persons a series of 2 to 5 versions (every version but a possible last draft finalised).
/// Versions of a series come in version order, so they can be inserted as listed.
pub fn synthetic_diagnostics(
    persons: &[Person],
    profile: &Profile,
    seed: u64,
    now: DateTime<Utc>,
) -> Result<Vec<Diagnostic>, DiagnosticError> {
    let referentiel = tandem_domain::referentiel::embedded();
    let rome = RomeIndex::embedded();
    let mut rng = StdRng::seed_from_u64(seed ^ 0xD1A6_0000_5EED);
    let mut out = Vec::new();
    for person in persons {
        let roll = rng.random_range(0..100);
        if roll >= 60 {
            continue;
        }
        // 15 of the 60 get several versions.
        let versions = if roll < 15 {
            rng.random_range(2..=5)
        } else {
            1
        };
        let series = Series {
            referentiel,
            rome,
            profile,
            person,
            now,
        };
        series.build(&mut rng, versions, &mut out)?;
    }
    Ok(out)
}

struct Series<'a> {
    referentiel: &'static Referentiel,
    rome: &'static RomeIndex,
    profile: &'a Profile,
    person: &'a Person,
    now: DateTime<Utc>,
}

impl Series<'_> {
    fn ctx(&self, at: DateTime<Utc>) -> EditContext<'static> {
        EditContext {
            referentiel: self.referentiel,
            rome: self.rome,
            now: at,
            by: "",
        }
    }

    fn build(
        &self,
        rng: &mut StdRng,
        versions: u32,
        out: &mut Vec<Diagnostic>,
    ) -> Result<(), DiagnosticError> {
        let span = (self.now - self.person.created_at).num_minutes().max(60);
        // Leave room for the amendments after the first interview.
        let first_offset = rng.random_range(0..=span * 2 / 3);
        let mut at = self.person.created_at + Duration::minutes(first_offset);
        let caseworker = CaseworkerIdentity {
            name: self.profile.caseworker_name.clone(),
            structure: self.profile.structure_name.clone(),
            role: self.profile.role,
            contact: String::new(),
        };
        let id = random_uuid_v7(rng, at.timestamp_millis());
        let series_id = id;
        let mut d = new_draft(
            id,
            series_id,
            self.person.id,
            caseworker,
            self.referentiel,
            at,
        );
        at = self.first_interview(rng, &mut d, at)?;
        at = self.sign_and_finalise(rng, &mut d, at)?;
        out.push(d.clone());

        for version in 2..=versions {
            let remaining = (self.now - at).num_minutes().max(10);
            at += Duration::minutes(rng.random_range(5..=remaining.max(6) / 2 + 5));
            let mut next = amend(&d, random_uuid_v7(rng, at.timestamp_millis()), at)?;
            at = self.amendment(rng, &mut next, at)?;
            let last = version == versions;
            if last && rng.random_bool(0.25) {
                out.push(next);
                return Ok(());
            }
            at = self.sign_and_finalise(rng, &mut next, at)?;
            out.push(next.clone());
            d = next;
        }
        Ok(())
    }

    /// One edit at `at`, the clock moving on by a few seconds to a few minutes.
    fn edit(
        &self,
        rng: &mut StdRng,
        d: &mut Diagnostic,
        at: &mut DateTime<Utc>,
        edit: DiagnosticEdit,
    ) -> Result<(), DiagnosticError> {
        *at += Duration::seconds(rng.random_range(5..240));
        let mut ctx = self.ctx(*at);
        ctx.by = &self.profile.caseworker_name;
        apply_edit(d, &edit, &ctx)
    }

    fn first_interview(
        &self,
        rng: &mut StdRng,
        d: &mut Diagnostic,
        mut at: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, DiagnosticError> {
        use DiagnosticEdit as E;
        use DiagnosticField as F;
        let set = |field, value: &str| E::SetField {
            field,
            value: value.to_string(),
        };
        let candidates: Vec<_> = CO_INTERVIEWERS
            .iter()
            .filter(|c| c.2 != self.profile.role)
            .collect();
        let (co_name, co_structure, co_role) =
            **candidates.choose(rng).unwrap_or(&&CO_INTERVIEWERS[0]);
        for edit in [
            set(F::Place, pick(rng, PLACES)),
            set(F::CoInterviewerName, co_name),
            set(F::CoInterviewerStructure, co_structure),
            set(F::CoInterviewerRole, co_role.as_str()),
        ] {
            self.edit(rng, d, &mut at, edit)?;
        }

        // Grades and situations, theme by theme; at least one theme is always discussed.
        let themes = &self.referentiel.themes;
        let forced = rng.random_range(0..themes.len().max(1));
        for (i, theme) in themes.iter().enumerate() {
            let grade = match rng.random_range(0..100) {
                0..30 if i != forced => Grade::NotDiscussed,
                0..65 => Grade::NoObstacle,
                65..80 => Grade::ObstacleMedium,
                80..90 => Grade::ObstacleStrong,
                _ => Grade::Lifted,
            };
            if grade == Grade::NotDiscussed {
                continue;
            }
            self.edit(
                rng,
                d,
                &mut at,
                E::SetGrade {
                    theme: theme.key.clone(),
                    grade,
                },
            )?;
            if grade.is_obstacle() && !theme.situations.is_empty() {
                let count = rng.random_range(1..=3.min(theme.situations.len()));
                let situations: Vec<String> = theme
                    .situations
                    .choose_multiple(rng, count)
                    .cloned()
                    .collect();
                self.edit(
                    rng,
                    d,
                    &mut at,
                    E::SetSituations {
                        theme: theme.key.clone(),
                        situations,
                    },
                )?;
            }
            for _ in 0..rng.random_range(0..=2) {
                let text_note_texts = pick(rng, NOTE_TEXTS);
                self.add_note(rng, d, &mut at, Some(theme.key.clone()), text_note_texts)?;
            }
        }
        if rng.random_bool(0.5) {
            let text_note_texts = pick(rng, NOTE_TEXTS);
            self.add_note(rng, d, &mut at, None, text_note_texts)?;
        }

        // The person's words and the professional project.
        let text_wishes = pick(rng, WISHES);
        self.edit(rng, d, &mut at, set(F::PersonWishes, text_wishes))?;
        let text_priorities = pick(rng, PRIORITIES);
        self.edit(rng, d, &mut at, set(F::PersonPriorities, text_priorities))?;
        for _ in 0..rng.random_range(1..=2) {
            let code = pick(rng, ROME_CODES);
            let titles = self.rome.search(code, 30);
            if let Some(job) = titles.choose(rng) {
                self.edit(
                    rng,
                    d,
                    &mut at,
                    E::AddTargetJob {
                        code: job.code.clone(),
                        title: job.title.clone(),
                    },
                )?;
            }
        }
        let mut contracts = vec![
            ContractType::Cdi,
            ContractType::Cdd,
            ContractType::Interim,
            ContractType::Alternance,
            ContractType::Iae,
            ContractType::Creation,
        ];
        contracts.shuffle(rng);
        contracts.truncate(rng.random_range(1..=3));
        self.edit(
            rng,
            d,
            &mut at,
            E::SetContractTypes {
                contract_types: contracts,
            },
        )?;
        let working_time = *["full_time", "part_time", "either"]
            .choose(rng)
            .unwrap_or(&"either");
        let radius = rng.random_range(1..=8) * 5;
        let level = *["none", "level3", "level3", "level4", "level5", "level6"]
            .choose(rng)
            .unwrap_or(&"none");
        for edit in [
            set(F::WorkingTime, working_time),
            set(F::MobilityRadiusKm, &radius.to_string()),
            set(F::QualificationLevel, level),
            set(F::Experience, pick(rng, EXPERIENCE)),
            set(F::Skills, pick(rng, SKILLS)),
            set(F::Availability, pick(rng, AVAILABILITY)),
        ] {
            self.edit(rng, d, &mut at, edit)?;
        }

        // The orientation: mostly the app's suggestion, sometimes the professionals differ.
        let suggested = d
            .suggestion
            .as_ref()
            .map(|s| (s.orientation, s.reasons.join(" ; ")));
        let (orientation, reasons) = match suggested {
            Some((o, reasons)) if rng.random_bool(0.85) => (o, reasons),
            _ => (
                *[
                    Orientation::Professional,
                    Orientation::SocioProfessional,
                    Orientation::Social,
                ]
                .choose(rng)
                .unwrap_or(&Orientation::Professional),
                "Décision des deux professionnels après échange avec la personne.".to_string(),
            ),
        };
        let reasons = if reasons.trim().is_empty() {
            "Pas de frein majeur identifié ; projet professionnel défini.".to_string()
        } else {
            reasons
        };
        let orientation = match orientation {
            Orientation::Professional => "professional",
            Orientation::SocioProfessional => "socio_professional",
            Orientation::Social => "social",
        };
        self.edit(rng, d, &mut at, set(F::Orientation, orientation))?;
        self.edit(rng, d, &mut at, set(F::OrientationReasons, &reasons))?;

        self.plan(rng, d, &mut at)?;

        // Consent.
        if rng.random_bool(0.85) {
            self.edit(rng, d, &mut at, set(F::ConsentSharing, "true"))?;
            let structures = vec![
                self.profile.structure_name.clone(),
                d.co_interviewer.structure.clone(),
            ];
            self.edit(rng, d, &mut at, E::SetConsentStructures { structures })?;
            if rng.random_bool(0.3) {
                self.edit(rng, d, &mut at, set(F::ConsentShareSocialNotes, "true"))?;
            }
        } else {
            self.edit(rng, d, &mut at, set(F::ConsentSharing, "false"))?;
        }
        Ok(at)
    }

    fn add_note(
        &self,
        rng: &mut StdRng,
        d: &mut Diagnostic,
        at: &mut DateTime<Utc>,
        theme: Option<String>,
        text: &str,
    ) -> Result<(), DiagnosticError> {
        let sensitive = theme.as_deref().is_some_and(|t| {
            matches!(
                t,
                "sante" | "contraintes_familiales" | "difficulte_financiere"
            )
        });
        let visibility = if sensitive && rng.random_bool(0.6) {
            NoteVisibility::SocialOnly
        } else {
            NoteVisibility::Shared
        };
        let author = if rng.random_bool(0.6) {
            Interviewer::Caseworker
        } else {
            Interviewer::CoInterviewer
        };
        let id = random_uuid_v7(rng, at.timestamp_millis());
        self.edit(
            rng,
            d,
            at,
            DiagnosticEdit::AddNote {
                id,
                theme,
                author,
                visibility,
                text: text.to_string(),
            },
        )
    }

    /// One objective (with one or two actions) per obstacle theme that has objectives in the
    /// référentiel; a job-search objective when none has.
    fn plan(
        &self,
        rng: &mut StdRng,
        d: &mut Diagnostic,
        at: &mut DateTime<Utc>,
    ) -> Result<(), DiagnosticError> {
        let obstacles: Vec<String> = d
            .themes
            .iter()
            .filter(|t| t.grade.is_obstacle())
            .map(|t| t.theme.clone())
            .collect();
        let mut planned: Vec<&str> = obstacles
            .iter()
            .filter_map(|key| {
                self.referentiel
                    .themes
                    .iter()
                    .find(|t| t.key == *key && !t.objectives.is_empty())
                    .map(|t| t.key.as_str())
            })
            .collect();
        if planned.is_empty() && (rng.random_bool(0.6) || !obstacles.is_empty()) {
            planned.push(
                self.referentiel
                    .themes
                    .iter()
                    .find(|t| t.key == "trouver_un_emploi" && !t.objectives.is_empty())
                    .or_else(|| {
                        self.referentiel
                            .themes
                            .iter()
                            .find(|t| !t.objectives.is_empty())
                    })
                    .map_or("trouver_un_emploi", |t| t.key.as_str()),
            );
        }
        let interview_day = at.date_naive();
        for key in planned {
            let Some(theme) = self.referentiel.themes.iter().find(|t| t.key == key) else {
                continue;
            };
            let Some(label) = theme.objectives.choose(rng).cloned() else {
                continue;
            };
            let objective_id = random_uuid_v7(rng, at.timestamp_millis());
            self.edit(
                rng,
                d,
                at,
                DiagnosticEdit::AddObjective {
                    id: objective_id,
                    theme: key.to_string(),
                    label,
                },
            )?;
            for _ in 0..rng.random_range(1..=2) {
                let label = theme
                    .actions
                    .choose(rng)
                    .cloned()
                    .unwrap_or_else(|| "Rendez-vous de suivi avec la référente".to_string());
                let id = random_uuid_v7(rng, at.timestamp_millis());
                self.edit(
                    rng,
                    d,
                    at,
                    DiagnosticEdit::AddAction {
                        id,
                        objective_id,
                        label,
                    },
                )?;
                let due = interview_day + Duration::days(rng.random_range(7..120));
                let status = *["planned", "planned", "in_progress", "done"]
                    .choose(rng)
                    .unwrap_or(&"planned");
                for (field, value) in [
                    (ActionField::Who, pick(rng, WHO).to_string()),
                    (ActionField::DueDate, due.to_string()),
                    (ActionField::Status, status.to_string()),
                ] {
                    self.edit(
                        rng,
                        d,
                        at,
                        DiagnosticEdit::SetActionField { id, field, value },
                    )?;
                }
            }
        }
        Ok(())
    }

    /// A later change to an amended version: a grade revised, a note added, the reasons
    /// completed.
    fn amendment(
        &self,
        rng: &mut StdRng,
        d: &mut Diagnostic,
        mut at: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, DiagnosticError> {
        let obstacle = d
            .themes
            .iter()
            .filter(|t| t.grade.is_obstacle())
            .map(|t| t.theme.clone())
            .collect::<Vec<_>>()
            .choose(rng)
            .cloned();
        if let Some(theme) = obstacle {
            if rng.random_bool(0.6) {
                self.edit(
                    rng,
                    d,
                    &mut at,
                    DiagnosticEdit::SetGrade {
                        theme: theme.clone(),
                        grade: Grade::Lifted,
                    },
                )?;
            }
            let text_amendment_notes = pick(rng, AMENDMENT_NOTES);
            self.add_note(rng, d, &mut at, Some(theme), text_amendment_notes)?;
        } else {
            let text_amendment_notes = pick(rng, AMENDMENT_NOTES);
            self.add_note(rng, d, &mut at, None, text_amendment_notes)?;
        }
        if rng.random_bool(0.5) {
            let reasons = format!(
                "{} Mise à jour : {}",
                d.orientation.reasons,
                pick(rng, PRIORITIES)
            );
            self.edit(
                rng,
                d,
                &mut at,
                DiagnosticEdit::SetField {
                    field: DiagnosticField::OrientationReasons,
                    value: reasons,
                },
            )?;
        }
        Ok(at)
    }

    fn sign_and_finalise(
        &self,
        rng: &mut StdRng,
        d: &mut Diagnostic,
        mut at: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, DiagnosticError> {
        let person_name = format!("{} {}", self.person.first_name, self.person.last_name);
        for (signer, name) in [
            (Signer::Caseworker, d.caseworker.name.clone()),
            (Signer::CoInterviewer, d.co_interviewer.name.clone()),
            (Signer::Person, person_name),
        ] {
            self.edit(rng, d, &mut at, DiagnosticEdit::SignOff { signer, name })?;
        }
        at += Duration::seconds(rng.random_range(5..60));
        finalise(d, at)?;
        debug_assert_eq!(d.status, DiagnosticStatus::Finalised);
        Ok(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::collections::{BTreeMap, HashSet};
    use uuid::Uuid;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0).unwrap()
    }

    fn generate(n: usize, seed: u64) -> (Vec<Person>, Vec<Diagnostic>) {
        let persons = crate::synthetic_persons(n, seed, now());
        let profile = crate::synthetic_profile(seed);
        let diagnostics = synthetic_diagnostics(&persons, &profile, seed, now()).unwrap();
        (persons, diagnostics)
    }

    #[test]
    fn deterministic_per_seed() {
        let (_, a) = generate(200, 42);
        assert_eq!(a, generate(200, 42).1);
        assert_ne!(a, generate(200, 43).1);
    }

    #[test]
    fn proportions_versions_and_finalisation() {
        let (persons, diagnostics) = generate(1_000, 7);
        let mut series: BTreeMap<Uuid, Vec<&Diagnostic>> = BTreeMap::new();
        for d in &diagnostics {
            series.entry(d.series_id).or_default().push(d);
        }
        let with: HashSet<Uuid> = diagnostics.iter().map(|d| d.person_id).collect();
        let share = with.len() as f64 / persons.len() as f64;
        assert!((0.54..=0.66).contains(&share), "{share}");
        let several = series.values().filter(|s| s.len() > 1).count() as f64 / 1_000.0;
        assert!((0.11..=0.19).contains(&several), "{several}");
        assert_eq!(series.len(), with.len(), "one series per person");
        let ids: HashSet<Uuid> = diagnostics.iter().map(|d| d.id).collect();
        assert_eq!(ids.len(), diagnostics.len());

        let referentiel = tandem_domain::referentiel::embedded();
        let mut drafts = 0;
        let mut obstacles = 0;
        for versions in series.values() {
            assert!(versions.len() <= 5);
            for (i, d) in versions.iter().enumerate() {
                assert_eq!(d.version as usize, i + 1, "consecutive, in order");
                assert_eq!(d.referentiel_version, referentiel.version);
                let last = i + 1 == versions.len();
                if d.status == DiagnosticStatus::Draft {
                    assert!(
                        last && d.version > 1,
                        "only a last amendment may be a draft"
                    );
                    drafts += 1;
                    continue;
                }
                assert!(d.missing.is_empty(), "{:?}", d.missing);
                assert_eq!(d.signoffs.len(), 3);
                assert!(d.finalised_at.is_some());
                assert!(d.orientation.proposal.is_some());
                assert!(!d.project.target_jobs.is_empty());
                assert!(d.date.as_deref() <= Some(&now().date_naive().to_string()[..]));
                if d.version > 1 {
                    assert!(!d.changes.is_empty(), "amendments record their changes");
                    assert!(d.finalised_at >= versions[i - 1].finalised_at);
                }
                obstacles += usize::from(d.themes.iter().any(|t| t.grade.is_obstacle()));
            }
        }
        assert!(drafts > 0);
        assert!(obstacles > series.len() / 2);
        assert!(diagnostics.iter().any(|d| d
            .notes
            .iter()
            .any(|n| n.visibility == NoteVisibility::SocialOnly)));
        assert!(diagnostics.iter().any(|d| d.consent.sharing == Some(false)));
        for o in [
            Orientation::Professional,
            Orientation::SocioProfessional,
            Orientation::Social,
        ] {
            assert!(
                diagnostics
                    .iter()
                    .any(|d| d.orientation.proposal == Some(o)),
                "{o:?}"
            );
        }
    }
}
