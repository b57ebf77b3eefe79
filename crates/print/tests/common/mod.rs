//! Test diagnostics, built the way the interview screen builds them, and helpers that read a
//! PDF back with poppler-utils and qpdf.
#![allow(dead_code)] // each test file uses part of this module

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, Duration, TimeZone, Utc};
use tandem_domain::diagnostic::{
    ActionField, ActionStatus, CaseworkerIdentity, ContractType, Diagnostic, DiagnosticEdit,
    DiagnosticField, Grade, Interviewer, NoteVisibility, PlanAction, PlanObjective, Signer,
    TargetJob,
};
use tandem_domain::diagnostic_rules::{self as rules, EditContext};
use tandem_domain::referentiel;
use tandem_domain::rome::RomeIndex;
use tandem_domain::{NewPerson, Person, Role};
use tandem_print::PrintInput;
use uuid::Uuid;

pub const PERSON_ID: u128 = 3;

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 9, 30, 0).unwrap()
}

pub fn person() -> Person {
    Person::create(
        &NewPerson {
            first_name: "Hélène".into(),
            last_name: "Lefèvre".into(),
            birth_date: "14/07/2001".into(),
        },
        Uuid::from_u128(PERSON_ID),
        now(),
    )
    .unwrap()
}

fn ctx(at: DateTime<Utc>) -> EditContext<'static> {
    EditContext {
        referentiel: referentiel::embedded(),
        rome: RomeIndex::embedded(),
        now: at,
        by: "Camille Roux",
    }
}

pub fn edit(d: &mut Diagnostic, e: DiagnosticEdit) {
    rules::apply_edit(d, &e, &ctx(now())).unwrap_or_else(|err| panic!("{e:?}: {err}"));
}

fn set(d: &mut Diagnostic, field: DiagnosticField, value: &str) {
    edit(
        d,
        DiagnosticEdit::SetField {
            field,
            value: value.into(),
        },
    );
}

/// A fresh draft: nothing but what `new_draft` requires.
pub fn minimal() -> Diagnostic {
    rules::new_draft(
        Uuid::from_u128(1),
        Uuid::from_u128(2),
        Uuid::from_u128(PERSON_ID),
        CaseworkerIdentity {
            name: "Camille Roux".into(),
            structure: "CCAS de Villeurbanne".into(),
            role: Role::Social,
            contact: String::new(),
        },
        referentiel::embedded(),
        now(),
    )
}

fn theme(key: &str) -> &'static tandem_domain::diagnostic::ReferentielTheme {
    referentiel::embedded()
        .themes
        .iter()
        .find(|t| t.key == key)
        .unwrap()
}

pub const SOCIAL_SECRET: &str = "Violences conjugales évoquées, suivi par l’assistante sociale";
pub const SHARED_NOTE: &str = "Hébergée chez sa sœur à Vénissieux depuis août ; cherche un T2.";

fn add_note(
    d: &mut Diagnostic,
    n: u128,
    theme: Option<&str>,
    author: Interviewer,
    vis: NoteVisibility,
    text: &str,
) {
    edit(
        d,
        DiagnosticEdit::AddNote {
            id: Uuid::from_u128(n),
            theme: theme.map(str::to_string),
            author,
            visibility: vis,
            text: text.into(),
        },
    );
}

fn add_action(d: &mut Diagnostic, objective: Uuid, n: u128, label: &str, who: &str, due: &str) {
    let id = Uuid::from_u128(n);
    edit(
        d,
        DiagnosticEdit::AddAction {
            id,
            objective_id: objective,
            label: label.into(),
        },
    );
    for (field, value) in [(ActionField::Who, who), (ActionField::DueDate, due)] {
        edit(
            d,
            DiagnosticEdit::SetActionField {
                id,
                field,
                value: value.into(),
            },
        );
    }
}

fn sign_all(d: &mut Diagnostic) {
    for (signer, name) in [
        (Signer::Caseworker, "Camille Roux"),
        (Signer::CoInterviewer, "Karim Benali"),
        (Signer::Person, "Hélène Lefèvre"),
    ] {
        edit(
            d,
            DiagnosticEdit::SignOff {
                signer,
                name: name.into(),
            },
        );
    }
}

/// A complete diagnostic, every section filled, version 1 signed and finalised.
pub fn full_v1() -> Diagnostic {
    let mut d = minimal();
    set(
        &mut d,
        DiagnosticField::Place,
        "CCAS de Villeurbanne, bureau d’accueil",
    );
    set(&mut d, DiagnosticField::CoInterviewerName, "Karim Benali");
    set(
        &mut d,
        DiagnosticField::CoInterviewerStructure,
        "France Travail Lyon Part-Dieu",
    );
    set(&mut d, DiagnosticField::CoInterviewerRole, "employment");
    for (key, grade) in [
        ("logement", Grade::ObstacleStrong),
        ("mobilite", Grade::ObstacleMedium),
        ("sante", Grade::NoObstacle),
        ("numerique", Grade::Lifted),
        ("emploi", Grade::NoObstacle),
    ] {
        edit(
            &mut d,
            DiagnosticEdit::SetGrade {
                theme: key.into(),
                grade,
            },
        );
        let situations: Vec<String> = theme(key).situations.iter().take(2).cloned().collect();
        if !situations.is_empty() {
            edit(
                &mut d,
                DiagnosticEdit::SetSituations {
                    theme: key.into(),
                    situations,
                },
            );
        }
    }
    add_note(
        &mut d,
        100,
        Some("logement"),
        Interviewer::Caseworker,
        NoteVisibility::Shared,
        SHARED_NOTE,
    );
    add_note(
        &mut d,
        101,
        Some("logement"),
        Interviewer::Caseworker,
        NoteVisibility::SocialOnly,
        SOCIAL_SECRET,
    );
    add_note(
        &mut d,
        102,
        Some("mobilite"),
        Interviewer::CoInterviewer,
        NoteVisibility::Shared,
        "Pas de permis ; le bus 57 dessert la zone d’activité.",
    );
    add_note(
        &mut d,
        103,
        None,
        Interviewer::CoInterviewer,
        NoteVisibility::Shared,
        "Très motivée, ponctuelle, a apporté son CV à jour.",
    );
    set(
        &mut d,
        DiagnosticField::PersonWishes,
        "Travailler dans la restauration, ça me plaît, j’ai déjà de l’expérience.",
    );
    set(
        &mut d,
        DiagnosticField::PersonPriorities,
        "Le logement d’abord ; ma sœur peut garder mon fils le mercredi.",
    );
    set(&mut d, DiagnosticField::WorkingTime, "full_time");
    set(&mut d, DiagnosticField::MobilityRadiusKm, "15");
    set(&mut d, DiagnosticField::QualificationLevel, "level3");
    set(
        &mut d,
        DiagnosticField::Experience,
        "Deux ans de commis de cuisine ; un an d’aide à domicile.",
    );
    set(
        &mut d,
        DiagnosticField::Skills,
        "Hygiène alimentaire (HACCP), travail en équipe, œuvre bien sous pression.",
    );
    set(
        &mut d,
        DiagnosticField::Availability,
        "Immédiate, sauf le mercredi après-midi.",
    );
    edit(
        &mut d,
        DiagnosticEdit::SetContractTypes {
            contract_types: vec![ContractType::Cdi, ContractType::Iae],
        },
    );
    // The ROME index checks titles; the print only reads them.
    d.project.target_jobs.push(TargetJob {
        code: "G1602".into(),
        title: "Commis / Commise de cuisine".into(),
    });
    set(&mut d, DiagnosticField::Orientation, "socio_professional");
    set(
        &mut d,
        DiagnosticField::OrientationReasons,
        "Le logement passe d’abord ; le projet en restauration est solide.",
    );
    let housing = Uuid::from_u128(10);
    edit(
        &mut d,
        DiagnosticEdit::AddObjective {
            id: housing,
            theme: "logement".into(),
            label: theme("logement").objectives[0].clone(),
        },
    );
    add_action(
        &mut d,
        housing,
        11,
        "Déposer une demande de logement social",
        "Hélène, avec Camille Roux",
        "2026-12-08",
    );
    add_action(
        &mut d,
        housing,
        12,
        "Demander l’aide du Fonds de solidarité logement (dépôt de garantie : 450 €)",
        "Camille Roux",
        "2026-12-15",
    );
    let mobility = Uuid::from_u128(20);
    edit(
        &mut d,
        DiagnosticEdit::AddObjective {
            id: mobility,
            theme: "mobilite".into(),
            label: theme("mobilite").objectives[0].clone(),
        },
    );
    add_action(
        &mut d,
        mobility,
        21,
        "S’inscrire à l’auto-école sociale",
        "Hélène",
        "2027-01-01",
    );
    add_action(
        &mut d,
        mobility,
        22,
        "Demander la carte de transport solidaire au Pôle mobilité",
        "Karim Benali",
        "",
    );
    set(&mut d, DiagnosticField::ConsentSharing, "true");
    edit(
        &mut d,
        DiagnosticEdit::SetConsentStructures {
            structures: vec![
                "CCAS de Villeurbanne".into(),
                "France Travail Lyon Part-Dieu".into(),
            ],
        },
    );
    set(&mut d, DiagnosticField::ConsentShareSocialNotes, "false");
    sign_all(&mut d);
    rules::finalise(&mut d, now() + Duration::minutes(50)).unwrap();
    d
}

/// Version 2 of [`full_v1`]: amended, with a change history, signed and finalised.
pub fn full() -> Diagnostic {
    let v1 = full_v1();
    let later = now() + Duration::days(7);
    let mut d = rules::amend(&v1, Uuid::from_u128(4), later).unwrap();
    let ctx = ctx(later);
    for e in [
        DiagnosticEdit::SetActionField {
            id: Uuid::from_u128(11),
            field: ActionField::Status,
            value: "done".into(),
        },
        DiagnosticEdit::SetGrade {
            theme: "mobilite".into(),
            grade: Grade::ObstacleStrong,
        },
    ] {
        rules::apply_edit(&mut d, &e, &ctx).unwrap();
    }
    for (signer, name) in [
        (Signer::Caseworker, "Camille Roux"),
        (Signer::CoInterviewer, "Karim Benali"),
        (Signer::Person, "Hélène Lefèvre"),
    ] {
        rules::apply_edit(
            &mut d,
            &DiagnosticEdit::SignOff {
                signer,
                name: name.into(),
            },
            &ctx,
        )
        .unwrap();
    }
    rules::finalise(&mut d, later + Duration::minutes(20)).unwrap();
    assert!(d.plan[0].actions[0].status == ActionStatus::Done);
    d
}

/// 40 actions under one objective, for tables that cross pages.
pub fn with_actions(mut d: Diagnostic, count: usize) -> Diagnostic {
    let objective = Uuid::from_u128(900);
    // Pushed directly: `d` may be finalised.
    d.plan.push(PlanObjective {
        id: objective,
        theme: "logement".into(),
        label: theme("logement").objectives[1].clone(),
        actions: Vec::new(),
    });
    let o = d.plan.last_mut().unwrap();
    for i in 0..count {
        o.actions.push(PlanAction {
            id: Uuid::from_u128(1000 + i as u128),
            label: format!(
                "Action numéro {} : préparer le dossier et l’apporter",
                i + 1
            ),
            who: "Hélène".into(),
            due_date: Some(format!("2027-{:02}-{:02}", i % 12 + 1, i % 28 + 1)),
            status: ActionStatus::Planned,
        });
    }
    d
}

pub fn input<'a>(d: &'a Diagnostic, p: &'a Person, reader: Role) -> PrintInput<'a> {
    PrintInput {
        diagnostic: d,
        person: p,
        referentiel: referentiel::embedded(),
        reader_role: reader,
        next_appointment: Some("Mardi 8 décembre 2026 à 10 h, CCAS de Villeurbanne".into()),
        caseworker_contact: "04 78 00 00 01 – camille.roux@ccas-villeurbanne.fr".into(),
        co_interviewer_contact: "04 72 00 00 02 – karim.benali@francetravail.fr".into(),
        generated_at: now() + Duration::hours(1),
    }
}

/// A PDF written to a temporary directory, and what the command-line tools say of it.
pub struct Pdf {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl Pdf {
    pub fn new(bytes: &[u8]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.pdf");
        std::fs::write(&path, bytes).unwrap();
        Pdf { _dir: dir, path }
    }

    pub fn text(&self) -> String {
        run("pdftotext", &[self.path.to_str().unwrap(), "-"])
    }

    pub fn layout_text(&self) -> String {
        run("pdftotext", &["-layout", self.path.to_str().unwrap(), "-"])
    }

    pub fn page_text(&self, page: usize) -> String {
        let n = page.to_string();
        run(
            "pdftotext",
            &[
                "-f",
                &n,
                "-l",
                &n,
                "-layout",
                self.path.to_str().unwrap(),
                "-",
            ],
        )
    }

    pub fn pages(&self) -> usize {
        let info = run("pdfinfo", &[self.path.to_str().unwrap()]);
        info.lines()
            .find_map(|l| l.strip_prefix("Pages:"))
            .map(|n| n.trim().parse().unwrap())
            .expect("pdfinfo gives a page count")
    }

    pub fn fonts(&self) -> String {
        run("pdffonts", &[self.path.to_str().unwrap()])
    }

    /// `qpdf --check` exit status and output.
    pub fn qpdf_check(&self) -> (bool, String) {
        let out = Command::new("qpdf")
            .arg("--check")
            .arg(&self.path)
            .output()
            .unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }
}

pub fn run(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool}: {e}"));
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn write_for_inspection(name: &str, bytes: &[u8]) {
    if let Ok(dir) = std::env::var("TANDEM_PRINT_OUT") {
        std::fs::write(Path::new(&dir).join(name), bytes).unwrap();
    }
}
