//! The follow-up use-cases through the app core, on real SQLCipher files: a review-group decision
//! travelling to another structure's laptop through the real territory server, the status review
//! exported as CSV and PDF and read back, continuity across changes of situation, and the errors
//! the UI gets.

mod common;

use chrono::{Datelike, Local, NaiveDate};
use tandem_app::error::{ErrorCode, IpcError};
use tandem_app::followup_view::{ReviewExportFormat, ReviewScope};
use tandem_domain::diagnostic::{DiagnosticEdit, Orientation};
use tandem_domain::followup::{
    CaseDecision, EngagementContractKind, FollowUpEdit, InterviewKind, MeetingEdit,
    ObjectiveStatus, Reorientation, ReviewSettings, StatusChange, StatusChangeKind, StepTextField,
    TimelineKind,
};
use tandem_domain::{Role, RsaStatus};
use uuid::Uuid;

use common::{Laptop, Server};

fn today() -> NaiveDate {
    Local::now().date_naive()
}

fn days_ago(n: i64) -> NaiveDate {
    today() - chrono::Duration::days(n)
}

fn error<T: std::fmt::Debug>(result: Result<T, tandem_app::error::AppError>) -> IpcError {
    let error: IpcError = result.unwrap_err().into();
    assert!(!error.message.is_empty());
    error
}

fn referent(date: NaiveDate, name: &str, structure: &str) -> FollowUpEdit {
    FollowUpEdit::RecordStatusEvent {
        id: Uuid::now_v7(),
        date,
        change: StatusChange::ReferentChanged {
            referent: name.into(),
            structure: structure.into(),
        },
    }
}

fn add_step(id: Uuid, label: &str, planned_end: Option<NaiveDate>) -> FollowUpEdit {
    FollowUpEdit::AddStep {
        id,
        objective_id: None,
        theme: Some("emploi".into()),
        label: label.into(),
        planned_start: None,
        planned_end,
        created_on: days_ago(90),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_review_group_decision_appears_on_the_persons_timeline_on_another_laptop_after_sync() {
    let server = Server::start().await;
    let (a, b, structure_b) = server.two_enrolled_laptops("Jean Petit").await;

    // A follows Hélène, who consents to share her file with B's structure.
    let person = a.add_person("Hélène", "Dubois", "");
    let step = Uuid::now_v7();
    a.edit(person.id, add_step(step, "Atelier CV", None));
    a.sync().await;
    a.core
        .share_person(person.id, structure_b, false)
        .await
        .unwrap();
    b.sync().await;
    assert_eq!(b.core.get_follow_up(person.id).unwrap().file.steps.len(), 1);

    // The review group meets on A's laptop: Hélène on the agenda, a reorientation decided.
    let meeting = a.core.create_meeting(today()).unwrap();
    a.core
        .edit_meeting(
            meeting.id,
            &MeetingEdit::SetStructures {
                structures: vec!["CCAS de Villeurbanne".into(), "Mission locale Est".into()],
            },
        )
        .unwrap();
    a.core
        .edit_meeting(
            meeting.id,
            &MeetingEdit::AddCase {
                person_id: person.id,
                reason: "Sans entretien depuis 10 semaines".into(),
            },
        )
        .unwrap();
    let reasons = "Problèmes de santé à stabiliser avant la recherche d’emploi";
    let decided = a
        .core
        .edit_meeting(
            meeting.id,
            &MeetingEdit::Decide {
                person_id: person.id,
                decision: CaseDecision {
                    reorientation: Some(Reorientation {
                        orientation: Orientation::Social,
                        reasons: reasons.into(),
                    }),
                    actions: vec!["Bilan de santé".into()],
                    next_review: Some(today() + chrono::Duration::days(90)),
                    notes: String::new(),
                },
            },
        )
        .unwrap();
    assert!(decided.cases[0].decision.is_some());
    assert_eq!(a.core.list_meetings().unwrap(), [decided]);
    // A person not on the agenda: refused in French, with its code.
    let refused = error(a.core.edit_meeting(
        meeting.id,
        &MeetingEdit::RemoveCase {
            person_id: Uuid::now_v7(),
        },
    ));
    assert_eq!(refused.code, ErrorCode::NotFound);

    // Meanwhile B records an interview: an independent edit of the same file.
    b.edit(
        person.id,
        FollowUpEdit::RecordInterview {
            id: Uuid::now_v7(),
            date: today(),
            interview_kind: InterviewKind::FollowUp,
            attended: true,
            by: "Jean Petit".into(),
            themes: vec!["sante".into()],
        },
    );
    a.sync().await;
    b.sync().await;
    a.sync().await;

    let seen = b.core.get_follow_up(person.id).unwrap();
    let decision = seen
        .timeline
        .iter()
        .find(|e| e.kind == TimelineKind::ReviewDecision)
        .expect("the decision is on B's timeline");
    assert_eq!(decision.source_id, Some(meeting.id));
    assert!(decision.detail.contains(reasons), "{}", decision.detail);
    assert!(
        decision.title.contains("Mission locale Est"),
        "{}",
        decision.title
    );
    assert_eq!(seen.file.orientations.len(), 1);
    assert_eq!(seen.file.orientations[0].orientation, Orientation::Social);
    // Both edits are on both laptops, with no conflict.
    let on_a = a.core.get_follow_up(person.id).unwrap();
    assert_eq!(on_a.file.interviews.len(), 1);
    assert_eq!(on_a.file, seen.file);
    assert!(a.core.list_conflicts().unwrap().is_empty());
    assert!(b.core.list_conflicts().unwrap().is_empty());

    // The meeting itself reached B through Hélène's file: date, structures, her case and its
    // decision.
    let on_b = b.core.list_meetings().unwrap();
    assert_eq!(on_b, a.core.list_meetings().unwrap());
    // A person A does not share with B, put on the agenda: B never learns of it.
    let marc = a.add_person("Marc", "Leroy", "");
    a.core
        .edit_meeting(
            meeting.id,
            &MeetingEdit::AddCase {
                person_id: marc.id,
                reason: "Étape en retard".into(),
            },
        )
        .unwrap();
    // B corrects the structures present; A sees the correction.
    let structures = vec![
        "CCAS de Villeurbanne".to_string(),
        "Mission locale Est".to_string(),
        "France Travail Lyon Est".to_string(),
    ];
    b.core
        .edit_meeting(
            meeting.id,
            &MeetingEdit::SetStructures {
                structures: structures.clone(),
            },
        )
        .unwrap();
    a.sync().await;
    b.sync().await;
    a.sync().await;
    let on_a = a.core.list_meetings().unwrap();
    assert_eq!(on_a[0].structures_present, structures);
    assert_eq!(on_a[0].cases.len(), 2, "{on_a:?}");
    let on_b = b.core.list_meetings().unwrap();
    assert_eq!(on_b[0].structures_present, structures);
    assert_eq!(on_b[0].cases.len(), 1, "{on_b:?}");
    assert_eq!(on_b[0].cases[0].person_id, person.id);
    assert!(on_b[0].cases[0].decision.is_some());
    // Marc taken off on A: his case leaves A's meeting, and B still has only Hélène's.
    a.core
        .edit_meeting(meeting.id, &MeetingEdit::RemoveCase { person_id: marc.id })
        .unwrap();
    a.sync().await;
    b.sync().await;
    assert_eq!(a.core.list_meetings().unwrap()[0].cases.len(), 1);
    assert_eq!(
        b.core.list_meetings().unwrap(),
        a.core.list_meetings().unwrap()
    );

    // Both rename the same step offline: one conflict, on the follow-up, seen on both.
    let rename = |value: &str| FollowUpEdit::SetStepText {
        id: step,
        field: StepTextField::Label,
        value: value.into(),
    };
    a.edit(person.id, rename("Atelier CV et lettre de motivation"));
    b.edit(person.id, rename("Atelier CV (Mission locale)"));
    a.sync().await;
    b.sync().await;
    a.sync().await;
    let conflicts = a.core.list_conflicts().unwrap();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0].record, "Suivi du parcours");
    assert_eq!(conflicts[0].field_label, "Suivi : étape (intitulé)");
    assert_eq!(b.core.list_conflicts().unwrap().len(), 1);
    let shown_a = a.core.get_follow_up(person.id).unwrap().file.steps[0]
        .label
        .clone();
    let shown_b = b.core.get_follow_up(person.id).unwrap().file.steps[0]
        .label
        .clone();
    assert_eq!(shown_a, shown_b, "the same winner on both laptops");

    // Consent withdrawn for B: the follow-up file leaves B's laptop with the person.
    a.core.withdraw_share(person.id, structure_b).await.unwrap();
    b.sync().await;
    assert_eq!(
        error(b.core.get_follow_up(person.id)).code,
        ErrorCode::NotFound
    );
}

/// Splits the CSV the way a spreadsheet does (no field in this test needs quoting).
fn csv_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    let text = std::str::from_utf8(bytes).unwrap();
    let body = text.strip_prefix('\u{feff}').expect("starts with a BOM");
    assert!(body.ends_with("\r\n"));
    body.trim_end_matches("\r\n")
        .split("\r\n")
        .map(|line| line.split(';').map(str::to_string).collect())
        .collect()
}

fn pdf_text(dir: &std::path::Path, bytes: &[u8]) -> String {
    let path = dir.join("review.pdf");
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_status_review_exports_as_csv_and_pdf_for_the_caseload_or_the_structure() {
    let laptop = Laptop::new("Camille Roux", "CCAS de Villeurbanne", Role::Social);
    let mine = laptop.add_person("Hélène", "Dubois", "");
    let theirs = laptop.add_person("Karim", "Benali", "");
    let unassigned = laptop.add_person("Aïcha", "Diallo", "");
    laptop.edit(
        mine.id,
        referent(days_ago(200), "Camille Roux", "CCAS de Villeurbanne"),
    );
    laptop.edit(
        mine.id,
        FollowUpEdit::RecordInterview {
            id: Uuid::now_v7(),
            date: days_ago(70),
            interview_kind: InterviewKind::FollowUp,
            attended: true,
            by: "Camille Roux".into(),
            themes: vec![],
        },
    );
    laptop.edit(
        mine.id,
        add_step(Uuid::now_v7(), "Atelier CV", Some(days_ago(20))),
    );
    laptop.edit(
        theirs.id,
        referent(days_ago(30), "Jean Petit", "CCAS de Villeurbanne"),
    );

    let settings = ReviewSettings::default();
    let caseload = laptop
        .core
        .status_review(settings, ReviewScope::Caseload)
        .unwrap();
    let ids: Vec<Uuid> = caseload.rows.iter().map(|r| r.person_id).collect();
    assert_eq!(ids, [unassigned.id, mine.id], "sorted by name");
    let structure = laptop
        .core
        .status_review(settings, ReviewScope::Structure)
        .unwrap();
    assert_eq!(structure.rows.len(), 3);

    let (name, csv) = laptop
        .core
        .status_review_export(settings, ReviewScope::Caseload, ReviewExportFormat::Csv)
        .unwrap();
    assert_eq!(
        name,
        format!("point-de-situation-{}.csv", today().format("%Y-%m-%d"))
    );
    let rows = csv_rows(&csv);
    assert_eq!(rows[0], tandem_domain::followup::csv::HEADERS);
    assert_eq!(rows.len(), 3);
    let helene = &rows[2];
    assert_eq!(helene[0], "Dubois Hélène");
    assert_eq!(helene[1], "Camille Roux (CCAS de Villeurbanne)");
    assert_eq!(helene[2], days_ago(70).format("%d/%m/%Y").to_string());
    assert_eq!(helene[3], "70");
    assert_eq!(helene[6], "1", "one step overdue");
    assert!(!helene[12].is_empty(), "flags: {helene:?}");
    assert_eq!(rows[1][0], "Diallo Aïcha");

    let (name, pdf) = laptop
        .core
        .status_review_export(settings, ReviewScope::Structure, ReviewExportFormat::Pdf)
        .unwrap();
    assert!(name.ends_with(".pdf"));
    assert!(pdf.starts_with(b"%PDF"));
    let dir = tempfile::tempdir().unwrap();
    let text = pdf_text(dir.path(), &pdf);
    for expected in [
        "Point de situation",
        "Dubois Hélène",
        "Benali Karim",
        "Diallo Aïcha",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
    // Saving writes exactly those bytes where asked.
    let target = dir.path().join("export.csv");
    laptop.core.save_export(&target, &csv).unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), csv);

    // Out-of-range settings are refused with the field.
    let refused = error(laptop.core.status_review(
        ReviewSettings {
            no_interview_weeks: 0,
            status_change_days: 30,
        },
        ReviewScope::Caseload,
    ));
    assert_eq!(refused.code, ErrorCode::Validation);
    assert_eq!(refused.field.as_deref(), Some("no_interview_weeks"));
}

#[test]
fn turning_26_rsa_closed_and_a_new_referent_keep_the_open_objectives() {
    let laptop = Laptop::new("Camille Roux", "Mission locale Est", Role::Employment);
    let t = today();
    // Turned 26 on the first of January.
    let birth = NaiveDate::from_ymd_opt(t.year() - 26, 1, 1).unwrap();
    let person = laptop.add_person("Yanis", "Moreau", &birth.format("%d/%m/%Y").to_string());
    let p = person.id;
    let (housing, job) = (Uuid::now_v7(), Uuid::now_v7());
    for (id, theme, label) in [
        (housing, "logement", "Trouver un logement autonome"),
        (job, "emploi", "Accéder à un emploi durable"),
    ] {
        laptop.edit(
            p,
            FollowUpEdit::AddObjective {
                id,
                theme: theme.into(),
                label: label.into(),
                opened_on: days_ago(300),
            },
        );
    }
    laptop.edit(
        p,
        referent(days_ago(300), "Camille Roux", "Mission locale Est"),
    );
    laptop.edit(
        p,
        FollowUpEdit::AddContract {
            id: Uuid::now_v7(),
            contract_kind: EngagementContractKind::Cej,
            start: days_ago(300),
            end: Some(days_ago(20)),
            objective_ids: vec![housing, job],
        },
    );
    laptop.edit(
        p,
        FollowUpEdit::RecordStatusEvent {
            id: Uuid::now_v7(),
            date: days_ago(15),
            change: StatusChange::Rsa {
                status: RsaStatus::Closed,
                reason_code: None,
            },
        },
    );
    laptop.edit(p, referent(days_ago(10), "Jean Petit", "France Travail"));

    let view = laptop.core.get_follow_up(p).unwrap();
    assert!(view
        .file
        .objectives
        .iter()
        .all(|o| o.status == ObjectiveStatus::Open));
    assert_eq!(view.file.objectives.len(), 2);
    assert_eq!(view.referents.len(), 2);
    assert_eq!(view.referents[0].until, Some(days_ago(10)));
    assert_eq!(view.referents[1].referent, "Jean Petit");
    assert_eq!(view.referents[1].until, None);
    let turned = view.turning_26.expect("birth date known");
    assert!(turned <= t);
    let kinds: Vec<StatusChangeKind> = view
        .timeline
        .iter()
        .filter_map(|e| e.status_change)
        .collect();
    for kind in [
        StatusChangeKind::Turned26,
        StatusChangeKind::ContractEnded,
        StatusChangeKind::RsaClosed,
        StatusChangeKind::ReferentChanged,
    ] {
        assert!(kinds.contains(&kind), "{kind:?} missing from {kinds:?}");
    }
    // No longer Camille's caseload; still in the structure's review.
    assert!(laptop
        .core
        .status_review(ReviewSettings::default(), ReviewScope::Caseload)
        .unwrap()
        .rows
        .is_empty());

    // The diagnostic's plan becomes steps, once.
    let d = laptop.core.start_diagnostic(p).unwrap();
    let (objective, action) = (Uuid::now_v7(), Uuid::now_v7());
    let mobility = laptop
        .core
        .referentiel()
        .themes
        .iter()
        .find(|t| t.key == "mobilite")
        .unwrap()
        .clone();
    laptop
        .core
        .edit_diagnostic(
            d.id,
            &DiagnosticEdit::AddObjective {
                id: objective,
                theme: "mobilite".into(),
                label: mobility.objectives[0].clone(),
            },
        )
        .unwrap();
    laptop
        .core
        .edit_diagnostic(
            d.id,
            &DiagnosticEdit::AddAction {
                id: action,
                objective_id: objective,
                label: mobility.actions[0].clone(),
            },
        )
        .unwrap();
    let view = laptop.core.plan_to_steps(p, d.id).unwrap();
    assert_eq!(view.file.objectives.len(), 3);
    assert_eq!(view.file.steps.len(), 1);
    assert_eq!(view.file.steps[0].id, action);
    let again = laptop.core.plan_to_steps(p, d.id).unwrap();
    assert_eq!(again.file, view.file);
    assert_eq!(
        error(laptop.core.plan_to_steps(Uuid::now_v7(), d.id)).code,
        ErrorCode::NotFound
    );

    // Errors the UI shows in place.
    let blank = error(laptop.core.edit_follow_up(
        p,
        &FollowUpEdit::SetStepText {
            id: action,
            field: StepTextField::Label,
            value: " ".into(),
        },
    ));
    assert_eq!(blank.code, ErrorCode::Validation);
    assert_eq!(blank.field.as_deref(), Some("step_label"));
    let unknown = error(laptop.core.edit_follow_up(
        p,
        &FollowUpEdit::SetInterviewAttended {
            id: Uuid::now_v7(),
            attended: false,
        },
    ));
    assert_eq!(unknown.code, ErrorCode::NotFound);
    assert!(unknown.message.contains("entretien"), "{}", unknown.message);
    let backwards = error(laptop.core.edit_follow_up(
        p,
        &FollowUpEdit::SetObjectiveStatus {
            id: housing,
            status: ObjectiveStatus::Achieved,
            on: days_ago(400),
        },
    ));
    assert_eq!(backwards.field.as_deref(), Some("objective_closed_on"));
    assert_eq!(
        error(laptop.core.get_follow_up(Uuid::now_v7())).code,
        ErrorCode::NotFound
    );
    assert_eq!(
        error(
            laptop
                .core
                .create_meeting(t + chrono::Duration::days(4_000))
        )
        .field
        .as_deref(),
        Some("meeting_date")
    );
}
