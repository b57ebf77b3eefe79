//! Follow-up files and review meetings in real SQLCipher files: edits persist across reopen with
//! their outbox rows, refused edits change nothing, pulled edits show without overwriting local
//! ones, and a purged person leaves nothing behind.

mod common;

use std::time::Instant;

use chrono::NaiveDate;
use common::*;
use tandem_domain::diagnostic::{ActionStatus, Orientation};
use tandem_domain::followup::{
    CaseDecision, FollowUpContext, FollowUpEdit, FollowUpError, MeetingEdit, MeetingError,
    Reorientation, StatusChange, StepTextField,
};
use tandem_domain::{Person, RsaStatus};
use tandem_store::{CaseFile, ReviewSelection, StoreError};
use tandem_sync::{Change, Cursor, Hlc, PullResponse, Versioned, ENTITY_FOLLOWUP};
use uuid::Uuid;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn ctx() -> FollowUpContext {
    FollowUpContext {
        today: day(2026, 11, 26),
    }
}

fn file_with_person(path: &std::path::Path) -> (CaseFile, Uuid) {
    let mut file = CaseFile::create(path, &KEY).unwrap();
    file.save_profile(&profile()).unwrap();
    let person = file
        .create_person(&new_person("Hélène", "Lefèvre", "14/07/1985"), now())
        .unwrap();
    (file, person.id)
}

fn add_step(id: Uuid, label: &str) -> FollowUpEdit {
    FollowUpEdit::AddStep {
        id,
        objective_id: None,
        theme: Some("logement".into()),
        label: label.into(),
        planned_start: None,
        planned_end: Some(day(2026, 12, 15)),
        created_on: day(2026, 11, 20),
    }
}

fn referent(id: Uuid, date: NaiveDate, name: &str) -> FollowUpEdit {
    FollowUpEdit::RecordStatusEvent {
        id,
        date,
        change: StatusChange::ReferentChanged {
            referent: name.into(),
            structure: "CCAS de Villeurbanne".into(),
        },
    }
}

fn outbox_rows(path: &std::path::Path) -> Vec<(String, String, String)> {
    raw_keyed(path, &KEY)
        .prepare(
            "SELECT record_type, field, register FROM outbox WHERE record_type = 'followup'
             ORDER BY rowid",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn edits_persist_across_reopen_with_one_outbox_row_each() {
    let dir = tempfile::tempdir().unwrap();
    let path = case_path(&dir);
    let (mut file, person) = file_with_person(&path);
    assert_eq!(file.follow_up(person).unwrap().steps.len(), 0, "empty file");
    let step = Uuid::now_v7();
    file.edit_follow_up(
        person,
        &add_step(step, "Visite d’un logement"),
        ctx(),
        now(),
    )
    .unwrap();
    file.edit_follow_up(
        person,
        &FollowUpEdit::SetStepText {
            id: step,
            field: StepTextField::Provider,
            value: "Habitat et Humanisme".into(),
        },
        ctx(),
        now(),
    )
    .unwrap();
    // A retried add changes nothing and journals nothing.
    file.edit_follow_up(
        person,
        &add_step(step, "Visite d’un logement"),
        ctx(),
        now(),
    )
    .unwrap();
    drop(file);

    let file = CaseFile::open(&path, &KEY).unwrap();
    let f = file.follow_up(person).unwrap();
    assert_eq!(f.steps.len(), 1);
    assert_eq!(f.steps[0].provider, "Habitat et Humanisme");
    let s = |t: &str| t.to_string();
    assert_eq!(
        outbox_rows(&path),
        [
            (s("followup"), s("add_step"), format!("step/{step}")),
            (
                s("followup"),
                s("set_step_text"),
                format!("step/{step}/provider")
            ),
        ]
    );
    // The file's body is encrypted like the rest.
    let bytes = std::fs::read(&path).unwrap();
    assert!(!contains(&bytes, "Habitat et Humanisme".as_bytes()));
}

#[test]
fn refused_edits_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = case_path(&dir);
    let (mut file, person) = file_with_person(&path);
    let step = Uuid::now_v7();
    file.edit_follow_up(person, &add_step(step, "Atelier CV"), ctx(), now())
        .unwrap();
    let before = file.follow_up(person).unwrap();
    let pending = file.pending_changes().unwrap();

    let unknown = file.edit_follow_up(
        person,
        &FollowUpEdit::SetStepStatus {
            id: Uuid::now_v7(),
            status: ActionStatus::Done,
        },
        ctx(),
        now(),
    );
    assert!(matches!(
        unknown,
        Err(StoreError::FollowUp(FollowUpError::Unknown(_)))
    ));
    assert_eq!(unknown.unwrap_err().code(), "not_found");
    let future = file.edit_follow_up(
        person,
        &FollowUpEdit::SetStepActualDates {
            id: step,
            start: Some(day(2027, 1, 1)),
            end: None,
        },
        ctx(),
        now(),
    );
    assert_eq!(future.unwrap_err().code(), "validation");
    // All or nothing: the second edit is refused, so the first is not kept either.
    let batch = file.edit_follow_up_all(
        person,
        &[
            add_step(Uuid::now_v7(), "Permis B"),
            FollowUpEdit::SetStepText {
                id: step,
                field: StepTextField::Label,
                value: "   ".into(),
            },
        ],
        ctx(),
        now(),
    );
    assert_eq!(batch.unwrap_err().code(), "validation");
    assert!(matches!(
        file.edit_follow_up(Uuid::now_v7(), &add_step(step, "x"), ctx(), now()),
        Err(StoreError::NotFound)
    ));
    assert_eq!(file.follow_up(person).unwrap(), before);
    assert_eq!(file.pending_changes().unwrap(), pending);
}

#[test]
fn a_decision_is_recorded_on_the_meeting_and_the_file_together() {
    let dir = tempfile::tempdir().unwrap();
    let path = case_path(&dir);
    let (mut file, person) = file_with_person(&path);
    let meeting = Uuid::now_v7();
    file.create_meeting(meeting, day(2026, 11, 24)).unwrap();
    let later = Uuid::now_v7();
    file.create_meeting(later, day(2026, 12, 8)).unwrap();
    let decide = MeetingEdit::Decide {
        person_id: person,
        decision: CaseDecision {
            reorientation: Some(Reorientation {
                orientation: Orientation::Social,
                reasons: "Santé à stabiliser avant l’emploi".into(),
            }),
            actions: vec!["Bilan de santé".into()],
            next_review: Some(day(2027, 2, 1)),
            notes: String::new(),
        },
    };
    // Not on the agenda yet: refused, nothing recorded.
    assert!(matches!(
        file.edit_meeting(meeting, &decide, ctx(), now()),
        Err(StoreError::Meeting(MeetingError::NotOnAgenda))
    ));
    assert!(matches!(
        file.edit_meeting(
            meeting,
            &MeetingEdit::AddCase {
                person_id: Uuid::now_v7(),
                reason: "x".into()
            },
            ctx(),
            now()
        ),
        Err(StoreError::NotFound)
    ));
    file.edit_meeting(
        meeting,
        &MeetingEdit::AddCase {
            person_id: person,
            reason: "Sans entretien depuis 10 semaines".into(),
        },
        ctx(),
        now(),
    )
    .unwrap();
    let m = file.edit_meeting(meeting, &decide, ctx(), now()).unwrap();
    assert!(m.cases[0].decision.is_some());
    drop(file);

    let file = CaseFile::open(&path, &KEY).unwrap();
    let listed: Vec<Uuid> = file.meetings().unwrap().iter().map(|m| m.id).collect();
    assert_eq!(listed, [later, meeting], "newest first");
    let f = file.follow_up(person).unwrap();
    assert_eq!(f.review_decisions.len(), 1);
    assert_eq!(f.orientations.len(), 1);
    assert_eq!(f.orientations[0].orientation, Orientation::Social);
    let rows = outbox_rows(&path);
    assert_eq!(rows.last().unwrap().2, format!("review_decision/{meeting}"));
}

#[test]
fn the_caseload_is_the_current_referents_and_the_unassigned() {
    let dir = tempfile::tempdir().unwrap();
    let path = case_path(&dir);
    let (mut file, mine) = file_with_person(&path);
    let theirs = file
        .create_person(&new_person("Karim", "Benali", ""), now())
        .unwrap()
        .id;
    let handed_over = file
        .create_person(&new_person("Zoé", "Martin", ""), now())
        .unwrap()
        .id;
    let unassigned = file
        .create_person(&new_person("Aïcha", "Diallo", ""), now())
        .unwrap()
        .id;
    let ev = |date, name: &str| referent(Uuid::now_v7(), date, name);
    file.edit_follow_up(mine, &ev(day(2026, 1, 5), "Camille Roux"), ctx(), now())
        .unwrap();
    file.edit_follow_up(theirs, &ev(day(2026, 1, 5), "Jean Petit"), ctx(), now())
        .unwrap();
    file.edit_follow_up(
        handed_over,
        &ev(day(2026, 6, 1), "Jean Petit"),
        ctx(),
        now(),
    )
    .unwrap();
    file.edit_follow_up(
        handed_over,
        &ev(day(2026, 3, 1), "Camille Roux"),
        ctx(),
        now(),
    )
    .unwrap();
    let names = |sel| -> Vec<Uuid> {
        file.review_entries(sel)
            .unwrap()
            .iter()
            .map(|e| e.person_id)
            .collect()
    };
    assert_eq!(
        names(ReviewSelection::Referent("Camille Roux")),
        [unassigned, mine],
        "sorted by name; the later referent counts, not the last recorded"
    );
    assert_eq!(names(ReviewSelection::Everyone).len(), 4);
    let entries = file.review_entries(ReviewSelection::Everyone).unwrap();
    assert_eq!(entries[0].name, "Benali Karim");
    assert_eq!(entries[2].birth_date, Some(day(1985, 7, 14)));
}

fn pulled(
    version: u64,
    person: Uuid,
    edit: &FollowUpEdit,
    device: Uuid,
    base: Option<u64>,
) -> Versioned {
    let value = serde_json::to_value(edit).unwrap();
    Versioned {
        version,
        change: Change {
            mutation_id: Uuid::now_v7(),
            entity: ENTITY_FOLLOWUP.into(),
            record_id: person,
            person_id: person,
            field: value["kind"].as_str().unwrap().into(),
            value,
            base_version: base,
            hlc: Hlc {
                wall_ms: 1_790_000_000_000 + version,
                counter: 0,
                node: device,
            },
            device_id: device,
        },
    }
}

fn page(changes: Vec<Versioned>, removals: Vec<Uuid>, n: u8) -> PullResponse {
    PullResponse {
        snapshot: None,
        removals,
        changes,
        cursor: Cursor(format!("c{n}")),
        has_more: false,
        server_time_ms: 0,
    }
}

#[test]
fn pulled_edits_show_keep_local_ones_and_a_purge_removes_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = case_path(&dir);
    let (mut file, person) = file_with_person(&path);
    file.set_sync_state("https://tandem.example.fr", Uuid::now_v7())
        .unwrap();
    let other = Uuid::now_v7();
    let step = Uuid::now_v7();
    let mine = Uuid::now_v7();
    file.edit_follow_up(person, &add_step(mine, "Atelier CV"), ctx(), now())
        .unwrap();
    // Local label not pushed yet.
    let local_label = FollowUpEdit::SetStepText {
        id: mine,
        field: StepTextField::Label,
        value: "Atelier CV et lettre".into(),
    };
    file.edit_follow_up(person, &local_label, ctx(), now())
        .unwrap();

    let report = file
        .apply_pull_page(&page(
            vec![
                pulled(1, person, &add_step(step, "Permis B"), other, None),
                pulled(
                    2,
                    person,
                    &FollowUpEdit::SetStepStatus {
                        id: step,
                        status: ActionStatus::InProgress,
                    },
                    other,
                    None,
                ),
                // The other laptop renamed our step concurrently: ours stays until pushed.
                pulled(
                    3,
                    person,
                    &FollowUpEdit::SetStepText {
                        id: mine,
                        field: StepTextField::Label,
                        value: "Atelier numérique".into(),
                    },
                    other,
                    None,
                ),
                // An edit of a step this laptop never heard of: ignored, nothing breaks.
                pulled(
                    4,
                    person,
                    &FollowUpEdit::SetStepStatus {
                        id: Uuid::now_v7(),
                        status: ActionStatus::Done,
                    },
                    other,
                    None,
                ),
            ],
            vec![],
            1,
        ))
        .unwrap();
    assert_eq!(report.kept_local, 1);
    let f = file.follow_up(person).unwrap();
    assert_eq!(f.steps.len(), 2);
    let theirs = f.steps.iter().find(|s| s.id == step).unwrap();
    assert_eq!(theirs.status, ActionStatus::InProgress);
    let ours = f.steps.iter().find(|s| s.id == mine).unwrap();
    assert_eq!(ours.label, "Atelier CV et lettre");

    // A meeting names the person; the purge (consent withdrawn) takes the file and the case.
    let meeting = Uuid::now_v7();
    file.create_meeting(meeting, day(2026, 11, 24)).unwrap();
    file.edit_meeting(
        meeting,
        &MeetingEdit::AddCase {
            person_id: person,
            reason: "Étapes en retard".into(),
        },
        ctx(),
        now(),
    )
    .unwrap();
    file.apply_pull_page(&page(vec![], vec![person], 2))
        .unwrap();
    assert!(matches!(file.follow_up(person), Err(StoreError::NotFound)));
    assert!(file.meeting(meeting).unwrap().cases.is_empty());
    let raw = raw_keyed(&path, &KEY);
    let count = |sql: &str| -> i64 { raw.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT count(*) FROM followup"), 0);
    assert_eq!(
        count("SELECT count(*) FROM outbox WHERE record_type = 'followup'"),
        0
    );
    drop(raw);

    // A revoked laptop's wipe takes every file and meeting.
    let again = file
        .create_person(&new_person("Karim", "Benali", ""), now())
        .unwrap()
        .id;
    file.edit_follow_up(again, &add_step(Uuid::now_v7(), "x"), ctx(), now())
        .unwrap();
    file.wipe_synced_data().unwrap();
    let raw = raw_keyed(&path, &KEY);
    let count = |sql: &str| -> i64 { raw.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT count(*) FROM followup"), 0);
    assert_eq!(count("SELECT count(*) FROM review_meetings"), 0);
}

/// Store loading for the status review of 5,000 persons with realistic files (the pure review
/// is `review_5k_ms` in crates/domain/examples/followup_bench.rs). Prints the time; the bound
/// is loose so a loaded CI machine does not fail it.
#[test]
fn loading_a_review_of_5000_persons_is_fast() {
    let dir = tempfile::tempdir().unwrap();
    let path = case_path(&dir);
    let mut file = CaseFile::create(&path, &KEY).unwrap();
    file.save_profile(&profile()).unwrap();
    let persons: Vec<Person> = (0..5_000)
        .map(|i| {
            Person::create(
                &new_person(&format!("Prénom{i}"), &format!("Nom{i}"), "01/02/1990"),
                Uuid::now_v7(),
                now(),
            )
            .unwrap()
        })
        .collect();
    file.insert_persons(&persons).unwrap();
    drop(file);
    // Files built by the domain rules, written in one transaction straight into the table (the
    // edit path, one transaction and a dozen outbox rows per edit, is not what is measured).
    let mut raw = raw_keyed(&path, &KEY);
    let tx = raw.transaction().unwrap();
    for (i, p) in persons.iter().enumerate() {
        let name = if i % 2 == 0 {
            "Camille Roux"
        } else {
            "Jean Petit"
        };
        let mut edits = vec![referent(Uuid::now_v7(), day(2026, 1, 5), name)];
        for s in 0..6 {
            edits.push(add_step(Uuid::now_v7(), &format!("Étape {s}")));
        }
        for k in 0..4 {
            edits.push(FollowUpEdit::RecordInterview {
                id: Uuid::now_v7(),
                date: day(2026, 1 + k, 10),
                interview_kind: tandem_domain::followup::InterviewKind::FollowUp,
                attended: true,
                by: "Camille Roux".into(),
                themes: vec!["logement".into()],
            });
        }
        edits.push(FollowUpEdit::RecordStatusEvent {
            id: Uuid::now_v7(),
            date: day(2026, 5, 1),
            change: StatusChange::Rsa {
                status: RsaStatus::Open,
                reason_code: None,
            },
        });
        let mut f = tandem_domain::followup::FollowUp::new(p.id);
        for edit in &edits {
            tandem_domain::followup::apply(&mut f, edit, ctx()).unwrap();
        }
        tx.execute(
            "INSERT INTO followup (person_id, referent, updated_at, body) VALUES (?1, ?2, ?3, ?4)",
            (
                p.id.to_string(),
                name,
                "2026-11-26T10:00:00Z",
                serde_json::to_string(&f).unwrap(),
            ),
        )
        .unwrap();
    }
    tx.commit().unwrap();
    drop(raw);
    let file = CaseFile::open(&path, &KEY).unwrap();
    let started = Instant::now();
    let all = file.review_entries(ReviewSelection::Everyone).unwrap();
    let everyone_ms = started.elapsed().as_millis();
    let started = Instant::now();
    let caseload = file
        .review_entries(ReviewSelection::Referent("Camille Roux"))
        .unwrap();
    let caseload_ms = started.elapsed().as_millis();
    assert_eq!(all.len(), 5_000);
    assert_eq!(caseload.len(), 2_500);
    eprintln!("review_load_5k_ms={everyone_ms} caseload_2500_ms={caseload_ms}");
    assert!(everyone_ms < 5_000, "{everyone_ms} ms");
}
