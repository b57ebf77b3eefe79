//! The joint diagnostic's rules: orientation suggestion (table-driven), finalisation
//! requirements, immutability of a finalised diagnostic, versioning.

use chrono::{DateTime, Duration, TimeZone, Utc};
use tandem_domain::diagnostic::{
    ActionField, CaseworkerIdentity, Diagnostic, DiagnosticEdit, DiagnosticField, DiagnosticStatus,
    Grade, Interviewer, NoteVisibility, Orientation, Signer,
};
use tandem_domain::diagnostic_rules::{
    self as rules, suggest_orientation, DiagnosticError, EditContext,
};
use tandem_domain::referentiel;
use tandem_domain::rome::RomeIndex;
use tandem_domain::validation::ValidationReason;
use tandem_domain::Role;
use uuid::Uuid;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 9, 30, 0).unwrap()
}

fn ctx(at: DateTime<Utc>) -> EditContext<'static> {
    EditContext {
        referentiel: referentiel::embedded(),
        rome: RomeIndex::embedded(),
        now: at,
        by: "Camille Roux",
    }
}

fn draft() -> Diagnostic {
    rules::new_draft(
        Uuid::from_u128(1),
        Uuid::from_u128(2),
        Uuid::from_u128(3),
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

fn edit(d: &mut Diagnostic, e: DiagnosticEdit) {
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

fn grade(d: &mut Diagnostic, theme: &str, grade: Grade) {
    edit(
        d,
        DiagnosticEdit::SetGrade {
            theme: theme.into(),
            grade,
        },
    );
}

fn first_objective(theme: &str) -> String {
    referentiel::embedded()
        .themes
        .iter()
        .find(|t| t.key == theme)
        .unwrap()
        .objectives[0]
        .clone()
}

/// A diagnostic with everything required, not yet signed.
fn complete() -> Diagnostic {
    let mut d = draft();
    set(&mut d, DiagnosticField::CoInterviewerName, "Karim Benali");
    set(
        &mut d,
        DiagnosticField::CoInterviewerStructure,
        "France Travail Lyon",
    );
    set(&mut d, DiagnosticField::CoInterviewerRole, "employment");
    grade(&mut d, "logement", Grade::ObstacleStrong);
    grade(&mut d, "mobilite", Grade::NoObstacle);
    set(&mut d, DiagnosticField::Orientation, "socio_professional");
    set(
        &mut d,
        DiagnosticField::OrientationReasons,
        "Le logement passe d’abord.",
    );
    let objective = Uuid::from_u128(10);
    edit(
        &mut d,
        DiagnosticEdit::AddObjective {
            id: objective,
            theme: "logement".into(),
            label: first_objective("logement"),
        },
    );
    edit(
        &mut d,
        DiagnosticEdit::AddAction {
            id: Uuid::from_u128(11),
            objective_id: objective,
            label: "Déposer une demande de logement social".into(),
        },
    );
    set(&mut d, DiagnosticField::ConsentSharing, "false");
    d
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

#[test]
fn orientation_suggestion_follows_the_grades() {
    use Grade::*;
    use Orientation::*;
    type Case = (&'static [(&'static str, Grade)], Option<Orientation>);
    let cases: &[Case] = &[
        (&[], None),
        (&[("logement", NotDiscussed)], None),
        (&[("emploi", NoObstacle)], Some(Professional)),
        (
            &[("logement", Lifted), ("sante", NoObstacle)],
            Some(Professional),
        ),
        // Obstacles in the employment themes do not weigh toward social.
        (
            &[("emploi", ObstacleStrong), ("formation", ObstacleStrong)],
            Some(Professional),
        ),
        // One medium social obstacle alone stays professional.
        (&[("mobilite", ObstacleMedium)], Some(Professional)),
        (&[("numerique", ObstacleStrong)], Some(Professional)),
        // One strong decisive obstacle → socio-professional, whichever it is.
        (&[("sante", ObstacleStrong)], Some(SocioProfessional)),
        (&[("logement", ObstacleStrong)], Some(SocioProfessional)),
        (&[("mobilite", ObstacleStrong)], Some(SocioProfessional)),
        (
            &[("contraintes_familiales", ObstacleStrong)],
            Some(SocioProfessional),
        ),
        // Two medium decisive, or two strong peripheral, or one of each → socio-professional.
        (
            &[("sante", ObstacleMedium), ("mobilite", ObstacleMedium)],
            Some(SocioProfessional),
        ),
        (
            &[
                ("difficulte_financiere", ObstacleStrong),
                ("maitrise_langue", ObstacleStrong),
            ],
            Some(SocioProfessional),
        ),
        (
            &[
                ("logement", ObstacleMedium),
                ("difficulte_administrative", ObstacleStrong),
            ],
            Some(SocioProfessional),
        ),
        // Medium peripheral obstacles do not count.
        (
            &[
                ("numerique", ObstacleMedium),
                ("maitrise_langue", ObstacleMedium),
            ],
            Some(Professional),
        ),
        // Two strong decisive obstacles → social.
        (
            &[("sante", ObstacleStrong), ("logement", ObstacleStrong)],
            Some(Social),
        ),
        (
            &[
                ("mobilite", ObstacleStrong),
                ("contraintes_familiales", ObstacleStrong),
                ("emploi", NoObstacle),
            ],
            Some(Social),
        ),
        // A lifted obstacle no longer weighs.
        (
            &[("sante", Lifted), ("logement", ObstacleStrong)],
            Some(SocioProfessional),
        ),
    ];
    for (grades, expected) in cases {
        let mut d = draft();
        for (theme, g) in *grades {
            grade(&mut d, theme, *g);
        }
        let got = suggest_orientation(&d.themes, referentiel::embedded());
        assert_eq!(
            got.as_ref().map(|s| s.orientation),
            *expected,
            "grades {grades:?}"
        );
        assert_eq!(d.suggestion, got, "the draft carries its suggestion");
        if let Some(s) = got {
            assert!(!s.reasons.is_empty(), "{grades:?} has reasons");
        }
    }
}

#[test]
fn the_suggestion_names_the_obstacles_in_french() {
    let mut d = draft();
    grade(&mut d, "sante", Grade::ObstacleStrong);
    grade(&mut d, "logement", Grade::ObstacleStrong);
    let s = d.suggestion.unwrap();
    assert_eq!(s.orientation, Orientation::Social);
    assert!(
        s.reasons.contains(&"Frein fort : Santé".to_string()),
        "{:?}",
        s.reasons
    );
    assert!(
        s.reasons.contains(&"Frein fort : Logement".to_string()),
        "{:?}",
        s.reasons
    );
}

#[test]
fn a_new_draft_lists_everything_missing() {
    let d = draft();
    assert_eq!(d.status, DiagnosticStatus::Draft);
    assert_eq!(d.themes.len(), 16);
    assert_eq!(d.referentiel_version, referentiel::embedded().version);
    let missing = d.missing.join("\n");
    for expected in [
        "le nom du ou de la co-intervenant·e",
        "au moins un thème abordé",
        "l’orientation retenue",
        "la décision de la personne sur le partage de son dossier",
        "la validation de Camille Roux",
        "la validation de la personne accompagnée",
    ] {
        assert!(
            missing.contains(expected),
            "missing {expected:?} in\n{missing}"
        );
    }
}

#[test]
fn finalisation_requires_each_item_and_then_succeeds() {
    let mut d = complete();
    sign_all(&mut d);
    assert!(d.missing.is_empty(), "{:?}", d.missing);

    // Each requirement, removed alone, blocks finalisation with its own French line.
    type Breaker = fn(&mut Diagnostic);
    let breakers: &[(&str, Breaker)] = &[
        ("co-intervenant", |d| {
            set(d, DiagnosticField::CoInterviewerName, "")
        }),
        ("partage de son dossier", |d| {
            set(d, DiagnosticField::ConsentSharing, "")
        }),
        ("orientation retenue", |d| {
            set(d, DiagnosticField::Orientation, "")
        }),
        ("au moins un objectif", |d| {
            edit(
                d,
                DiagnosticEdit::RemoveObjective {
                    id: Uuid::from_u128(10),
                },
            )
        }),
        ("structures autorisées", |d| {
            set(d, DiagnosticField::ConsentSharing, "true")
        }),
        ("la validation de la personne", |d| {
            edit(
                d,
                DiagnosticEdit::WithdrawSignOff {
                    signer: Signer::Person,
                },
            )
        }),
    ];
    for (expected, breaker) in breakers {
        let mut broken = d.clone();
        breaker(&mut broken);
        let err = rules::apply_edit(&mut broken.clone(), &DiagnosticEdit::Finalise, &ctx(now()))
            .unwrap_err();
        match err {
            DiagnosticError::NotReady(missing) => assert!(
                missing.iter().any(|m| m.contains(expected)),
                "{expected:?} not in {missing:?}"
            ),
            other => panic!("{expected}: {other:?}"),
        }
    }

    edit(&mut d, DiagnosticEdit::Finalise);
    assert_eq!(d.status, DiagnosticStatus::Finalised);
    assert_eq!(d.finalised_at.as_deref(), Some("2026-11-26T09:30:00Z"));
}

#[test]
fn a_content_change_clears_the_signatures() {
    let mut d = complete();
    sign_all(&mut d);
    assert_eq!(d.signoffs.len(), 3);
    set(&mut d, DiagnosticField::Place, "Mairie annexe");
    assert!(d.signoffs.is_empty());
    // Saving the same value again is not a change.
    sign_all(&mut d);
    set(&mut d, DiagnosticField::Place, "Mairie annexe");
    assert_eq!(d.signoffs.len(), 3);
}

#[test]
fn a_finalised_diagnostic_refuses_every_edit() {
    let mut d = complete();
    sign_all(&mut d);
    edit(&mut d, DiagnosticEdit::Finalise);
    let frozen = d.clone();
    let edits = [
        DiagnosticEdit::SetField {
            field: DiagnosticField::Place,
            value: "ailleurs".into(),
        },
        DiagnosticEdit::SetGrade {
            theme: "sante".into(),
            grade: Grade::ObstacleStrong,
        },
        DiagnosticEdit::AddNote {
            id: Uuid::from_u128(99),
            theme: None,
            author: Interviewer::Caseworker,
            visibility: NoteVisibility::Shared,
            text: "après coup".into(),
        },
        DiagnosticEdit::RemoveObjective {
            id: Uuid::from_u128(10),
        },
        DiagnosticEdit::WithdrawSignOff {
            signer: Signer::Person,
        },
        DiagnosticEdit::Finalise,
    ];
    for e in edits {
        let err = rules::apply_edit(&mut d, &e, &ctx(now())).unwrap_err();
        assert_eq!(err, DiagnosticError::Finalised, "{e:?}");
        assert_eq!(d, frozen);
    }
}

#[test]
fn amending_makes_a_new_version_that_records_who_changed_what() {
    let mut v1 = complete();
    sign_all(&mut v1);
    edit(&mut v1, DiagnosticEdit::Finalise);

    assert_eq!(
        rules::amend(&draft(), Uuid::from_u128(50), now()).unwrap_err(),
        DiagnosticError::NotFinalised
    );
    let later = now() + Duration::days(30);
    let mut v2 = rules::amend(&v1, Uuid::from_u128(50), later).unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(v2.series_id, v1.series_id);
    assert_eq!(v2.status, DiagnosticStatus::Draft);
    assert!(v2.signoffs.is_empty());
    assert_eq!(v2.themes, v1.themes);
    assert_eq!(v2.plan, v1.plan);
    assert!(v2.missing.iter().any(|m| m.contains("validation")));

    let c = ctx(later);
    for e in [
        DiagnosticEdit::SetField {
            field: DiagnosticField::Orientation,
            value: "social".into(),
        },
        DiagnosticEdit::SetField {
            field: DiagnosticField::OrientationReasons,
            value: "Santé dégradée".into(),
        },
        DiagnosticEdit::SetField {
            field: DiagnosticField::OrientationReasons,
            value: "Santé dégradée depuis octobre".into(),
        },
    ] {
        rules::apply_edit(&mut v2, &e, &c).unwrap();
    }
    let what: Vec<&str> = v2.changes.iter().map(|c| c.what.as_str()).collect();
    // Autosave's successive saves of one field make one line.
    assert_eq!(what, ["Orientation", "Raisons de l’orientation"]);
    assert!(v2.changes.iter().all(|c| c.by == "Camille Roux"));
    assert_eq!(v2.changes[0].at, "2026-12-26T09:30:00Z");
    // The finalised version is untouched.
    assert_eq!(v1.status, DiagnosticStatus::Finalised);
    assert_eq!(
        v1.orientation.proposal,
        Some(Orientation::SocioProfessional)
    );
    assert!(v1.changes.is_empty());
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let mut d = complete();
    let before = d.clone();
    let cases: Vec<(DiagnosticEdit, Option<(&str, ValidationReason)>)> = vec![
        (
            DiagnosticEdit::SetField {
                field: DiagnosticField::Date,
                value: "31/02/2026".into(),
            },
            Some(("date", ValidationReason::InvalidDate)),
        ),
        (
            DiagnosticEdit::SetField {
                field: DiagnosticField::Date,
                value: "2027-01-01".into(),
            },
            Some(("date", ValidationReason::FutureDate)),
        ),
        (
            DiagnosticEdit::SetField {
                field: DiagnosticField::MobilityRadiusKm,
                value: "trente".into(),
            },
            Some(("mobility_radius_km", ValidationReason::InvalidNumber)),
        ),
        (
            DiagnosticEdit::SetField {
                field: DiagnosticField::Orientation,
                value: "ailleurs".into(),
            },
            Some(("orientation", ValidationReason::InvalidChoice)),
        ),
        (
            DiagnosticEdit::SetField {
                field: DiagnosticField::PersonWishes,
                value: "x".repeat(20_001),
            },
            Some(("person_wishes", ValidationReason::LongTextTooLong)),
        ),
        (
            DiagnosticEdit::SetSituations {
                theme: "logement".into(),
                situations: vec!["Pas dans le référentiel".into()],
            },
            Some(("situations", ValidationReason::InvalidChoice)),
        ),
        (
            DiagnosticEdit::AddTargetJob {
                code: "Z9999".into(),
                title: "Astronaute".into(),
            },
            Some(("target_jobs", ValidationReason::InvalidChoice)),
        ),
        (
            DiagnosticEdit::SetActionField {
                id: Uuid::from_u128(11),
                field: ActionField::Label,
                value: "   ".into(),
            },
            Some(("action_label", ValidationReason::Required)),
        ),
        (
            DiagnosticEdit::SignOff {
                signer: Signer::Person,
                name: "".into(),
            },
            Some(("signoff_name", ValidationReason::Required)),
        ),
        (
            DiagnosticEdit::SetGrade {
                theme: "astrologie".into(),
                grade: Grade::ObstacleStrong,
            },
            None,
        ),
        (
            DiagnosticEdit::EditNote {
                id: Uuid::from_u128(404),
                text: "?".into(),
            },
            None,
        ),
    ];
    for (e, expected) in cases {
        let err = rules::apply_edit(&mut d, &e, &ctx(now())).unwrap_err();
        match (expected, &err) {
            (Some((field, reason)), DiagnosticError::Validation(v)) => {
                assert_eq!((v.field, v.reason), (field, reason), "{e:?}");
                assert!(!v.message().is_empty());
            }
            (None, DiagnosticError::Unknown(_)) => {}
            _ => panic!("{e:?} gave {err:?}"),
        }
        assert_eq!(d, before, "{e:?} changed the diagnostic");
    }
}

#[test]
fn notes_keep_their_author_and_visibility_and_retries_do_not_duplicate() {
    let mut d = draft();
    let note = DiagnosticEdit::AddNote {
        id: Uuid::from_u128(20),
        theme: Some("sante".into()),
        author: Interviewer::CoInterviewer,
        visibility: NoteVisibility::SocialOnly,
        text: "Suivi au CMP.\nRendez-vous le 3 décembre.".into(),
    };
    edit(&mut d, note.clone());
    edit(&mut d, note);
    assert_eq!(d.notes.len(), 1);
    let n = &d.notes[0];
    assert_eq!(n.author, Interviewer::CoInterviewer);
    assert_eq!(n.visibility, NoteVisibility::SocialOnly);
    assert!(n.text.contains('\n'), "line breaks are kept");
    let long = "é".repeat(5_000);
    edit(
        &mut d,
        DiagnosticEdit::EditNote {
            id: Uuid::from_u128(20),
            text: long.clone(),
        },
    );
    assert_eq!(d.notes[0].text, long);
}

#[test]
fn target_jobs_come_from_the_rome() {
    let mut d = draft();
    let job = RomeIndex::embedded().search("plombier", 1);
    assert_eq!(job.len(), 1, "the ROME knows plumbers");
    edit(
        &mut d,
        DiagnosticEdit::AddTargetJob {
            code: job[0].code.to_lowercase(),
            title: job[0].title.clone(),
        },
    );
    edit(
        &mut d,
        DiagnosticEdit::AddTargetJob {
            code: job[0].code.clone(),
            title: job[0].title.clone(),
        },
    );
    assert_eq!(d.project.target_jobs.len(), 1);
    assert_eq!(d.project.target_jobs[0].code, job[0].code);
    assert_eq!(d.project.target_jobs[0].title, job[0].title);
    // A title of another code is refused.
    let other = RomeIndex::embedded().search("boulanger", 1);
    let err = rules::apply_edit(
        &mut d,
        &DiagnosticEdit::AddTargetJob {
            code: job[0].code.clone(),
            title: other[0].title.clone(),
        },
        &ctx(now()),
    );
    assert!(err.is_err());
}
