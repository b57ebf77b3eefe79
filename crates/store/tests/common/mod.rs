//! Helpers shared by the case file tests: keys, fixed times, raw access and byte snapshots.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::Connection;
use tandem_domain::{NewPerson, Profile, Role};
use uuid::Uuid;

pub const KEY: [u8; 32] = [
    0x3a, 0x91, 0x5c, 0x07, 0xee, 0x42, 0x18, 0xb6, 0x7d, 0x20, 0xc4, 0x9f, 0x55, 0x01, 0xaa, 0x63,
    0x0b, 0xd8, 0x74, 0x2e, 0x19, 0xf0, 0x86, 0x4c, 0xbe, 0x37, 0x6a, 0x12, 0xc9, 0x5d, 0x80, 0xf4,
];
pub const OTHER_KEY: [u8; 32] = [7; 32];

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).unwrap()
}

pub fn hex(key: &[u8; 32]) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn case_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("dossiers.tandem")
}

pub fn new_person(first: &str, last: &str, birth: &str) -> NewPerson {
    NewPerson {
        first_name: first.into(),
        last_name: last.into(),
        birth_date: birth.into(),
    }
}

pub fn profile() -> Profile {
    Profile {
        id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001),
        caseworker_name: "Camille Roux".into(),
        structure_name: "CCAS de Villeurbanne".into(),
        role: Role::Social,
        lock_after_minutes: 10,
    }
}

/// A connection that bypasses the store: for tests that tamper with or inspect the file.
pub fn raw_keyed(path: &Path, key: &[u8; 32]) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", hex(key)))
        .unwrap();
    conn
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The bytes of the file and of its -wal and -shm companions (None when absent).
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub main: Option<Vec<u8>>,
    pub wal: Option<Vec<u8>>,
    pub shm: Option<Vec<u8>>,
}

pub fn snapshot(path: &Path) -> Snapshot {
    let read = |p: PathBuf| std::fs::read(p).ok();
    Snapshot {
        main: read(path.to_path_buf()),
        wal: read(sibling(path, "-wal")),
        shm: read(sibling(path, "-shm")),
    }
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A diagnostic built field by field, without the domain's rules: `notes` theme notes of a few
/// hundred characters each, dated `date`.
pub fn sample_diagnostic(
    person_id: Uuid,
    series_id: Uuid,
    version: u32,
    date: Option<&str>,
    notes: usize,
) -> tandem_domain::diagnostic::Diagnostic {
    use tandem_domain::diagnostic::*;
    const THEMES: [&str; 5] = ["logement", "sante", "mobilite", "budget", "emploi"];
    let at = now().to_rfc3339();
    Diagnostic {
        id: Uuid::now_v7(),
        person_id,
        series_id,
        version,
        status: DiagnosticStatus::Draft,
        referentiel_version: "cdb-2024-02-29".into(),
        date: date.map(str::to_string),
        place: "CCAS de Villeurbanne".into(),
        caseworker: CaseworkerIdentity {
            name: "Camille Roux".into(),
            structure: "CCAS de Villeurbanne".into(),
            role: Role::Social,
            contact: String::new(),
        },
        co_interviewer: CoInterviewer {
            name: "Dominique Lefèvre".into(),
            structure: "France Travail Lyon Part-Dieu".into(),
            role: Some(Role::Employment),
            contact: "04 72 00 00 00".into(),
        },
        themes: THEMES
            .iter()
            .enumerate()
            .map(|(i, t)| ThemeAssessment {
                theme: (*t).into(),
                grade: Grade::ALL[i % Grade::ALL.len()],
                situations: vec![format!("Situation {i} du thème {t}")],
            })
            .collect(),
        notes: (0..notes)
            .map(|i| Note {
                id: Uuid::now_v7(),
                theme: Some(THEMES[i % THEMES.len()].into()),
                author: if i % 2 == 0 {
                    Interviewer::Caseworker
                } else {
                    Interviewer::CoInterviewer
                },
                visibility: if i % 3 == 0 {
                    NoteVisibility::SocialOnly
                } else {
                    NoteVisibility::Shared
                },
                text: format!(
                    "Note {i} : la personne évoque une situation qui pèse sur sa recherche \
                     d’emploi ; un échange avec l’assistante sociale est prévu, ainsi qu’un \
                     point sur les démarches engagées auprès de la CAF et du bailleur. Elle \
                     souhaite être accompagnée pour les déplacements et la garde des enfants."
                ),
                created_at: at.clone(),
                updated_at: at.clone(),
            })
            .collect(),
        person_words: PersonWords {
            wishes: "Travailler dans la restauration".into(),
            priorities: "Trouver un logement stable".into(),
        },
        project: ProfessionalProject {
            target_jobs: vec![TargetJob {
                code: "G1602".into(),
                title: "Commis / Commise de cuisine".into(),
            }],
            contract_types: vec![ContractType::Cdi, ContractType::Iae],
            working_time: Some(WorkingTime::Either),
            mobility_radius_km: Some(15),
            qualification_level: Some(QualificationLevel::Level3),
            experience: "Deux ans en cuisine collective".into(),
            skills: "Hygiène, travail en équipe".into(),
            availability: "Immédiate".into(),
        },
        orientation: OrientationDecision {
            proposal: Some(Orientation::SocioProfessional),
            reasons: "Freins logement et mobilité".into(),
        },
        plan: vec![PlanObjective {
            id: Uuid::now_v7(),
            theme: "logement".into(),
            label: "Accéder à un logement".into(),
            actions: vec![PlanAction {
                id: Uuid::now_v7(),
                label: "Demande de logement social".into(),
                who: "La personne, avec le CCAS".into(),
                due_date: Some("2026-12-15".into()),
                status: ActionStatus::Planned,
            }],
        }],
        next_appointment: String::new(),
        consent: Consent {
            sharing: Some(true),
            structures: vec!["France Travail Lyon Part-Dieu".into()],
            share_social_notes: false,
        },
        signoffs: vec![],
        created_at: at,
        finalised_at: None,
        changes: vec![],
        suggestion: None,
        missing: vec![],
    }
}

/// What the rules' `finalise` does, minus its checks: for tests that need a finalised version.
pub fn finalise_directly(
    d: &mut tandem_domain::diagnostic::Diagnostic,
) -> Result<(), tandem_domain::diagnostic_rules::DiagnosticError> {
    use tandem_domain::diagnostic::{DiagnosticStatus, SignOff, Signer};
    let at = now().to_rfc3339();
    d.signoffs = [
        (Signer::Caseworker, "Camille Roux"),
        (Signer::CoInterviewer, "Dominique Lefèvre"),
        (Signer::Person, "Hélène Lefèvre"),
    ]
    .iter()
    .map(|(signer, name)| SignOff {
        signer: *signer,
        name: (*name).into(),
        signed_at: at.clone(),
    })
    .collect();
    d.status = DiagnosticStatus::Finalised;
    d.finalised_at = Some(at);
    Ok(())
}

pub fn place_edit(value: &str) -> tandem_domain::diagnostic::DiagnosticEdit {
    tandem_domain::diagnostic::DiagnosticEdit::SetField {
        field: tandem_domain::diagnostic::DiagnosticField::Place,
        value: value.into(),
    }
}
