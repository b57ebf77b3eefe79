//! Joint diagnostics in real SQLCipher files: storage, listing, edits, finalisation, versions.

mod common;

use std::time::Instant;

use common::*;
use tandem_domain::diagnostic::{
    Diagnostic, DiagnosticEdit, DiagnosticField, DiagnosticStatus, Orientation,
};
use tandem_domain::diagnostic_rules::DiagnosticError;
use tandem_store::{CaseFile, StoreError};
use uuid::Uuid;

fn file_with_person(path: &std::path::Path) -> (CaseFile, Uuid) {
    let mut file = CaseFile::create(path, &KEY).unwrap();
    file.save_profile(&profile()).unwrap();
    let person = file
        .create_person(&new_person("Hélène", "Lefèvre", "14/07/1985"), now())
        .unwrap();
    (file, person.id)
}

fn body(path: &std::path::Path, id: Uuid) -> String {
    raw_keyed(path, &KEY)
        .query_row(
            "SELECT body FROM diagnostics WHERE id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn round_trip_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = case_path(&dir);
    let (mut file, person) = file_with_person(&path);
    let d = sample_diagnostic(person, Uuid::now_v7(), 1, Some("2026-11-20"), 50);
    let pending = file.pending_changes().unwrap();
    file.insert_diagnostic(&d).unwrap();
    assert_eq!(file.pending_changes().unwrap(), pending + 1);
    assert_eq!(file.diagnostic(d.id).unwrap(), d);
    drop(file);

    let file = CaseFile::open(&path, &KEY).unwrap();
    assert_eq!(file.diagnostic(d.id).unwrap(), d);
    let list = file.diagnostics_of_person(person).unwrap();
    assert_eq!(list.len(), 1);
    let s = &list[0];
    assert_eq!(
        (s.id, s.series_id, s.version, s.status),
        (d.id, d.series_id, 1, DiagnosticStatus::Draft)
    );
    assert_eq!(s.date.as_deref(), Some("2026-11-20"));
    assert_eq!(s.caseworker_name, "Camille Roux");
    assert_eq!(s.co_interviewer_name, "Dominique Lefèvre");
    assert_eq!(s.orientation, Some(Orientation::SocioProfessional));
    assert_eq!(s.finalised_at, None);
    assert_eq!(
        file.diagnostic(Uuid::now_v7()).unwrap_err().code(),
        "not_found"
    );
    assert!(file
        .diagnostics_of_person(Uuid::now_v7())
        .unwrap()
        .is_empty());
    file.integrity_check().unwrap();
}

#[test]
fn a_diagnostic_needs_an_existing_person() {
    let dir = tempfile::tempdir().unwrap();
    let (mut file, _) = file_with_person(&case_path(&dir));
    let pending = file.pending_changes().unwrap();
    let d = sample_diagnostic(Uuid::now_v7(), Uuid::now_v7(), 1, None, 1);
    assert_eq!(file.insert_diagnostic(&d).unwrap_err().code(), "not_found");
    assert_eq!(file.pending_changes().unwrap(), pending);
}

#[test]
fn list_order_is_newest_date_first_then_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = case_path(&dir);
    let (mut file, person) = file_with_person(&path);
    let other = file
        .create_person(&new_person("Zoé", "Martin", ""), now())
        .unwrap()
        .id;
    let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let mut all = vec![];
    for (series, version, date, status) in [
        (a, 1, Some("2025-03-01"), DiagnosticStatus::Finalised),
        (a, 2, Some("2025-03-01"), DiagnosticStatus::Finalised),
        (a, 3, Some("2025-03-01"), DiagnosticStatus::Draft),
        (b, 1, Some("2026-06-10"), DiagnosticStatus::Finalised),
        (c, 1, None, DiagnosticStatus::Draft),
    ] {
        let mut d = sample_diagnostic(person, series, version, date, 2);
        if status == DiagnosticStatus::Finalised {
            finalise_directly(&mut d).unwrap();
        }
        all.push(d);
    }
    // Inserted out of order: the listing sorts.
    all.reverse();
    file.insert_diagnostics(&all).unwrap();
    file.insert_diagnostic(&sample_diagnostic(
        other,
        Uuid::now_v7(),
        1,
        Some("2027-01-01"),
        0,
    ))
    .unwrap();
    let list = file.diagnostics_of_person(person).unwrap();
    let view: Vec<(Uuid, u32, Option<&str>)> = list
        .iter()
        .map(|s| (s.series_id, s.version, s.date.as_deref()))
        .collect();
    assert_eq!(
        view,
        [
            (c, 1, None),
            (b, 1, Some("2026-06-10")),
            (a, 3, Some("2025-03-01")),
            (a, 2, Some("2025-03-01")),
            (a, 1, Some("2025-03-01")),
        ]
    );
    assert_eq!(list[1].status, DiagnosticStatus::Finalised);
    assert!(list[1].finalised_at.is_some());
    assert_eq!(list[2].status, DiagnosticStatus::Draft);
}

#[test]
fn edits_persist_across_reopen_with_their_outbox_entries() {
    let dir = tempfile::tempdir().unwrap();
    let path = case_path(&dir);
    let (mut file, person) = file_with_person(&path);
    let d = sample_diagnostic(person, Uuid::now_v7(), 1, Some("2026-11-20"), 3);
    file.insert_diagnostic(&d).unwrap();
    let pending = file.pending_changes().unwrap();

    let later = now() + chrono::Duration::minutes(3);
    let updated = file
        .edit_diagnostic(d.id, &place_edit("Mairie annexe"), later, |d| {
            d.place = "Mairie annexe".into();
            Ok(())
        })
        .unwrap();
    assert_eq!(updated.place, "Mairie annexe");
    let wishes = DiagnosticEdit::SetField {
        field: DiagnosticField::PersonWishes,
        value: "Passer le permis".into(),
    };
    file.edit_diagnostic(d.id, &wishes, later, |d| {
        d.person_words.wishes = "Passer le permis".into();
        Ok(())
    })
    .unwrap();
    let orientation = DiagnosticEdit::SetField {
        field: DiagnosticField::Orientation,
        value: "social".into(),
    };
    let date = DiagnosticEdit::SetField {
        field: DiagnosticField::Date,
        value: "2026-11-21".into(),
    };
    file.edit_diagnostic(d.id, &orientation, later, |d| {
        d.orientation.proposal = Some(Orientation::Social);
        Ok(())
    })
    .unwrap();
    file.edit_diagnostic(d.id, &date, later, |d| {
        d.date = Some("2026-11-21".into());
        Ok(())
    })
    .unwrap();
    assert_eq!(file.pending_changes().unwrap(), pending + 4);
    // Autosave sends the same value again: nothing is written.
    file.edit_diagnostic(d.id, &place_edit("Mairie annexe"), later, |d| {
        d.place = "Mairie annexe".into();
        Ok(())
    })
    .unwrap();
    assert_eq!(file.pending_changes().unwrap(), pending + 4);
    // The identity belongs to the store.
    let kept = file
        .edit_diagnostic(d.id, &place_edit("Salle 2"), later, |d| {
            d.place = "Salle 2".into();
            d.id = Uuid::nil();
            d.version = 9;
            Ok(())
        })
        .unwrap();
    assert_eq!((kept.id, kept.version), (d.id, 1));
    drop(file);

    let file = CaseFile::open(&path, &KEY).unwrap();
    let read = file.diagnostic(d.id).unwrap();
    assert_eq!(read.place, "Salle 2");
    assert_eq!(read.person_words.wishes, "Passer le permis");
    let summary = &file.diagnostics_of_person(person).unwrap()[0];
    assert_eq!(summary.orientation, Some(Orientation::Social));
    assert_eq!(summary.date.as_deref(), Some("2026-11-21"));
    let mut expected = d.clone();
    expected.place = "Salle 2".into();
    expected.person_words.wishes = "Passer le permis".into();
    expected.orientation.proposal = Some(Orientation::Social);
    expected.date = Some("2026-11-21".into());
    assert_eq!(read, expected);
    drop(file);

    let conn = raw_keyed(&path, &KEY);
    let rows: Vec<(String, String, String, String)> = conn
        .prepare(
            "SELECT record_type, record_id, field, value FROM outbox
             WHERE record_type = 'diagnostic' ORDER BY mutation_id",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), 6, "create + 5 edits");
    assert!(rows.iter().all(|r| r.1 == d.id.to_string()));
    assert_eq!(rows[0].2, "create");
    let created: Diagnostic = serde_json::from_str(&rows[0].3).unwrap();
    assert_eq!(created, d);
    assert_eq!(rows[1].2, "set_field");
    let edit: DiagnosticEdit = serde_json::from_str(&rows[1].3).unwrap();
    assert_eq!(edit, place_edit("Mairie annexe"));
}

#[test]
fn a_finalised_diagnostic_refuses_every_write_and_the_file_stays_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = case_path(&dir);
    let (mut file, person) = file_with_person(&path);
    let d = sample_diagnostic(person, Uuid::now_v7(), 1, Some("2026-11-20"), 3);
    file.insert_diagnostic(&d).unwrap();
    // apply may finalise: the status column follows.
    let done = file
        .edit_diagnostic(
            d.id,
            &DiagnosticEdit::SignOff {
                signer: tandem_domain::diagnostic::Signer::Person,
                name: "Hélène Lefèvre".into(),
            },
            now(),
            finalise_directly,
        )
        .unwrap();
    assert_eq!(done.status, DiagnosticStatus::Finalised);
    let summary = &file.diagnostics_of_person(person).unwrap()[0];
    assert_eq!(summary.status, DiagnosticStatus::Finalised);
    assert_eq!(summary.finalised_at, done.finalised_at);
    // A finalised value is not a new draft.
    let mut finalised_copy = sample_diagnostic(person, Uuid::now_v7(), 1, None, 0);
    finalise_directly(&mut finalised_copy).unwrap();
    assert!(matches!(
        file.insert_diagnostic(&finalised_copy),
        Err(StoreError::Finalised)
    ));
    drop(file);
    let before = snapshot(&path);
    let stored = body(&path, d.id);

    let mut file = CaseFile::open(&path, &KEY).unwrap();
    let pending = file.pending_changes().unwrap();
    let mut called = false;
    let err = file
        .edit_diagnostic(d.id, &place_edit("Ailleurs"), now(), |d| {
            called = true;
            d.place = "Ailleurs".into();
            Ok(())
        })
        .unwrap_err();
    assert!(matches!(err, StoreError::Finalised), "{err:?}");
    assert_eq!(err.code(), "finalised");
    assert!(!called, "apply is never called on a finalised diagnostic");
    assert_eq!(file.pending_changes().unwrap(), pending);

    // Below the Rust check, the triggers refuse raw SQL too.
    let conn = raw_keyed(&path, &KEY);
    for sql in [
        "UPDATE diagnostics SET body = '{}' WHERE id = ?1",
        "UPDATE diagnostics SET status = 'draft' WHERE id = ?1",
        "DELETE FROM diagnostics WHERE id = ?1",
    ] {
        let err = conn.execute(sql, [d.id.to_string()]).unwrap_err();
        assert!(err.to_string().contains("finalised"), "{sql}: {err}");
    }
    drop(conn);
    assert_eq!(file.diagnostic(d.id).unwrap(), done);
    drop(file);
    assert_eq!(body(&path, d.id), stored);
    assert_eq!(
        snapshot(&path),
        before,
        "refused writes leave the file unchanged"
    );
}

#[test]
fn drafts_stay_writable_by_raw_sql() {
    // The triggers only guard finalised rows.
    let dir = tempfile::tempdir().unwrap();
    let path = case_path(&dir);
    let (mut file, person) = file_with_person(&path);
    let d = sample_diagnostic(person, Uuid::now_v7(), 1, None, 0);
    file.insert_diagnostic(&d).unwrap();
    let conn = raw_keyed(&path, &KEY);
    assert_eq!(
        conn.execute(
            "UPDATE diagnostics SET date = '2026-01-01' WHERE id = ?1",
            [d.id.to_string()]
        )
        .unwrap(),
        1
    );
    assert_eq!(
        conn.execute("DELETE FROM diagnostics WHERE id = ?1", [d.id.to_string()])
            .unwrap(),
        1
    );
}

#[test]
fn an_amendment_keeps_version_one_intact_and_both_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let path = case_path(&dir);
    let (mut file, person) = file_with_person(&path);
    let series = Uuid::now_v7();
    let v1 = sample_diagnostic(person, series, 1, Some("2026-10-01"), 5);
    file.insert_diagnostic(&v1).unwrap();
    // A second draft in the same series is refused while the first is a draft.
    let mut early = v1.clone();
    early.id = Uuid::now_v7();
    early.version = 2;
    assert!(matches!(
        file.insert_diagnostic(&early),
        Err(StoreError::DraftExists)
    ));
    let v1 = file
        .edit_diagnostic(v1.id, &place_edit("x"), now(), finalise_directly)
        .unwrap();
    let v1_body = body(&path, v1.id);

    let mut v2 = v1.clone();
    v2.id = Uuid::now_v7();
    v2.version = 2;
    v2.status = DiagnosticStatus::Draft;
    v2.finalised_at = None;
    v2.signoffs.clear();
    file.insert_diagnostic(&v2).unwrap();
    let mut dup = v2.clone();
    dup.id = Uuid::now_v7();
    let err = file.insert_diagnostic(&dup).unwrap_err();
    assert!(matches!(err, StoreError::DraftExists), "{err:?}");
    assert_eq!(err.code(), "draft_exists");
    dup.version = 3;
    assert!(matches!(
        file.insert_diagnostic(&dup),
        Err(StoreError::DraftExists)
    ));

    file.edit_diagnostic(v2.id, &place_edit("Mission locale"), now(), |d| {
        d.place = "Mission locale".into();
        d.orientation.proposal = Some(Orientation::Professional);
        Ok(())
    })
    .unwrap();
    file.edit_diagnostic(v2.id, &place_edit("x"), now(), finalise_directly)
        .unwrap();
    // Version 2 exists (finalised): another version 2 is refused.
    dup.version = 2;
    let err = file.insert_diagnostic(&dup).unwrap_err();
    assert_eq!(err.code(), "version_exists");
    drop(file);

    let file = CaseFile::open(&path, &KEY).unwrap();
    assert_eq!(body(&path, v1.id), v1_body);
    assert_eq!(file.diagnostic(v1.id).unwrap(), v1);
    assert_eq!(file.diagnostic(v2.id).unwrap().place, "Mission locale");
    let list = file.diagnostics_of_person(person).unwrap();
    let view: Vec<(u32, DiagnosticStatus, Option<Orientation>)> = list
        .iter()
        .map(|s| (s.version, s.status, s.orientation))
        .collect();
    assert_eq!(
        view,
        [
            (
                2,
                DiagnosticStatus::Finalised,
                Some(Orientation::Professional)
            ),
            (
                1,
                DiagnosticStatus::Finalised,
                Some(Orientation::SocioProfessional)
            ),
        ]
    );
    assert!(list.iter().all(|s| s.series_id == series));
}

#[test]
fn a_rejected_apply_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = case_path(&dir);
    let (mut file, person) = file_with_person(&path);
    let d = sample_diagnostic(person, Uuid::now_v7(), 1, Some("2026-11-20"), 3);
    file.insert_diagnostic(&d).unwrap();
    let before = body(&path, d.id);
    let pending = file.pending_changes().unwrap();
    let err = file
        .edit_diagnostic(
            d.id,
            &DiagnosticEdit::RemoveNote { id: Uuid::nil() },
            now(),
            |d| {
                // Half-applied changes are dropped with the refusal.
                d.place = "modifié".into();
                d.notes.clear();
                Err(DiagnosticError::Unknown("note"))
            },
        )
        .unwrap_err();
    assert!(
        matches!(
            &err,
            StoreError::Diagnostic(DiagnosticError::Unknown("note"))
        ),
        "{err:?}"
    );
    assert_eq!(err.code(), "diagnostic_rejected");
    assert_eq!(body(&path, d.id), before);
    assert_eq!(file.diagnostic(d.id).unwrap(), d);
    assert_eq!(file.pending_changes().unwrap(), pending);
    assert_eq!(
        file.edit_diagnostic(Uuid::now_v7(), &place_edit("x"), now(), |_| Ok(()))
            .unwrap_err()
            .code(),
        "not_found"
    );
}

#[test]
fn a_schema_1_file_is_migrated_to_the_current_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = case_path(&dir);
    let (file, person) = file_with_person(&path);
    drop(file);
    // Turn the file back into what version 1 wrote.
    let conn = raw_keyed(&path, &KEY);
    conn.execute_batch(
        "DROP TABLE sync_authors;
         DROP TABLE review_meetings;
         DROP TABLE followup;
         DROP TRIGGER diagnostics_finalised_no_update;
         DROP TRIGGER diagnostics_finalised_no_delete;
         DROP TABLE diagnostics;
         DROP TABLE sync_state;
         DROP TABLE sync_clock;
         DROP TABLE sync_record;
         DROP TABLE sync_purge;
         CREATE TABLE outbox_v1 (
             mutation_id TEXT PRIMARY KEY NOT NULL,
             record_type TEXT NOT NULL,
             record_id   TEXT NOT NULL,
             field       TEXT NOT NULL,
             value       TEXT NOT NULL,
             created_at  TEXT NOT NULL
         );
         INSERT INTO outbox_v1 SELECT mutation_id, record_type, record_id, field, value,
             created_at FROM outbox;
         DROP TABLE outbox;
         ALTER TABLE outbox_v1 RENAME TO outbox;
         PRAGMA user_version = 1;",
    )
    .unwrap();
    drop(conn);

    let mut file = CaseFile::open(&path, &KEY).unwrap();
    assert_eq!(file.person(person).unwrap().first_name, "Hélène");
    // Outbox rows written by version 1 got their register, person and clock stamp, in order.
    let pending = file.pending_outbox(100).unwrap();
    assert_eq!(pending.len(), 3, "first name, last name, birth date");
    assert!(pending
        .iter()
        .all(|c| c.person_id == person && c.hlc.wall_ms > 0));
    assert!(pending.windows(2).all(|w| w[0].hlc < w[1].hlc));
    let d = sample_diagnostic(person, Uuid::now_v7(), 1, None, 1);
    file.insert_diagnostic(&d).unwrap();
    file.integrity_check().unwrap();
    drop(file);
    let conn = raw_keyed(&path, &KEY);
    let version: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, CaseFile::SCHEMA_VERSION);
    let triggers: u32 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'diagnostics'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(triggers, 2);
}

/// Schema 6 keeps a record's registers in one row: a schema 5 file's register rows move over,
/// heads in the compact form and in schema 3's full form alike, conflicts still open.
#[test]
fn a_schema_5_file_keeps_its_registers_and_conflicts_after_the_migration() {
    let dir = tempfile::tempdir().unwrap();
    let path = case_path(&dir);
    let (file, person) = file_with_person(&path);
    drop(file);
    let (laptop, other) = (Uuid::from_u128(0xa), Uuid::from_u128(0xb));
    let diagnostic = Uuid::now_v7();
    let mine = Uuid::now_v7();
    let old_form = tandem_sync::Versioned {
        version: 4,
        change: tandem_sync::Change {
            mutation_id: mine,
            entity: "person".into(),
            record_id: person,
            person_id: person,
            field: "email".into(),
            value: serde_json::json!("h@example.fr"),
            base_version: None,
            hlc: tandem_sync::Hlc {
                wall_ms: 1_795_770_621_000,
                counter: 1,
                node: laptop,
            },
            device_id: laptop,
        },
    };
    let conn = raw_keyed(&path, &KEY);
    conn.execute_batch(
        "DROP TABLE sync_record;
         CREATE TABLE sync_register (
             record_id  TEXT NOT NULL,
             register   TEXT NOT NULL,
             person_id  TEXT NOT NULL,
             entity     TEXT NOT NULL,
             version    INTEGER NOT NULL,
             shown      TEXT,
             head_count INTEGER NOT NULL,
             heads      TEXT NOT NULL,
             PRIMARY KEY (record_id, register)
         ) WITHOUT ROWID;
         PRAGMA user_version = 5;",
    )
    .unwrap();
    let phone = format!(
        r#"[{{"v":71,"m":"{mine}","f":"phone","x":"06 22","w":1795770621532,"c":2,"d":"{laptop}"}},
            {{"v":70,"f":"phone","x":"06 11","w":1795770621531,"c":1,"d":"{other}"}}]"#
    );
    let rows = [
        (person, "phone", "person", 72, Some(mine), 2, phone),
        (
            person,
            "email",
            "person",
            4,
            Some(mine),
            1,
            serde_json::to_string(&[&old_form]).unwrap(),
        ),
        (
            diagnostic,
            "create",
            "diagnostic",
            9,
            None,
            1,
            format!(r#"[{{"v":9,"f":"create","w":1795770621540,"c":3,"d":"{other}"}}]"#),
        ),
    ];
    for (record, register, entity, version, shown, count, heads) in rows {
        conn.execute(
            "INSERT INTO sync_register VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            rusqlite::params![
                record.to_string(),
                register,
                person.to_string(),
                entity,
                version,
                shown.map(|s| s.to_string()),
                count,
                heads
            ],
        )
        .unwrap();
    }
    drop(conn);

    let file = CaseFile::open(&path, &KEY).unwrap();
    let registers = file.sync_registers().unwrap();
    let find = |key: &str| registers.iter().find(|r| r.register == key).unwrap();
    assert_eq!(registers.len(), 3);
    let phone = find("phone");
    assert_eq!((phone.version, phone.shown), (72, Some(mine)));
    let values: Vec<_> = phone.heads.iter().map(|h| h.change.value.clone()).collect();
    assert_eq!(
        values,
        [serde_json::json!("06 22"), serde_json::json!("06 11")]
    );
    assert_eq!(phone.heads[1].change.device_id, other);
    assert_eq!(find("email").heads, vec![old_form]);
    assert_eq!(find("create").heads[0].change.record_id, diagnostic);
    assert_eq!(find("create").entity, "diagnostic");
    let conflicts = file.conflicts().unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].register, "phone");
    assert_eq!(conflicts[0].values.len(), 2);
    assert_eq!(file.sync_counts().unwrap().conflicts, 1);
    file.integrity_check().unwrap();
}

/// With the lead's rules: a draft made by `new_draft`, edited through `apply_edit`, finalised.
#[test]
fn the_domain_rules_run_inside_edit_diagnostic() {
    use tandem_domain::diagnostic::CaseworkerIdentity;
    use tandem_domain::diagnostic_rules::{apply_edit, finalise, new_draft, EditContext};
    let dir = tempfile::tempdir().unwrap();
    let path = case_path(&dir);
    let (mut file, person) = file_with_person(&path);
    let referentiel = tandem_domain::referentiel::embedded();
    let rome = tandem_domain::rome::RomeIndex::embedded();
    let d = new_draft(
        Uuid::now_v7(),
        Uuid::now_v7(),
        person,
        CaseworkerIdentity {
            name: "Camille Roux".into(),
            structure: "CCAS de Villeurbanne".into(),
            role: tandem_domain::Role::Social,
            contact: String::new(),
        },
        referentiel,
        now(),
    );
    file.insert_diagnostic(&d).unwrap();
    let ctx = EditContext {
        referentiel,
        rome,
        now: now(),
        by: "Camille Roux",
    };
    let edit = place_edit("CCAS, bureau 3");
    let updated = file
        .edit_diagnostic(d.id, &edit, now(), |d| apply_edit(d, &edit, &ctx))
        .unwrap();
    assert_eq!(updated.place, "CCAS, bureau 3");
    let bad = DiagnosticEdit::SetGrade {
        theme: "pas-un-theme".into(),
        grade: tandem_domain::diagnostic::Grade::ObstacleStrong,
    };
    let err = file
        .edit_diagnostic(d.id, &bad, now(), |d| apply_edit(d, &bad, &ctx))
        .unwrap_err();
    assert_eq!(err.code(), "diagnostic_rejected");
    // An empty draft is not ready: finalise refuses, nothing written.
    let err = file
        .edit_diagnostic(d.id, &edit, now(), |d| finalise(d, now()))
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Diagnostic(DiagnosticError::NotReady(_))),
        "{err:?}"
    );
    assert_eq!(file.diagnostic(d.id).unwrap(), updated);
}

/// `cargo test --release -p tandem-store --test diagnostics -- --ignored --nocapture timing`
#[test]
#[ignore = "timing; run in release mode"]
fn timing_edit_diagnostic() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let path = case_path(&dir);
    let (mut file, person) = file_with_person(&path);
    let d = sample_diagnostic(person, Uuid::now_v7(), 1, Some("2026-11-20"), 50);
    let size = serde_json::to_string(&d).unwrap().len();
    file.insert_diagnostic(&d).unwrap();
    let rounds = 300;
    let mut times = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let value = format!("Salle {i}");
        let edit = place_edit(&value);
        let started = Instant::now();
        file.edit_diagnostic(d.id, &edit, now(), |d| {
            d.place = value.clone();
            Ok(())
        })
        .unwrap();
        times.push(started.elapsed());
    }
    times.sort();
    let p = |q: f64| times[((rounds as f64 - 1.0) * q).round() as usize];
    eprintln!(
        "edit_diagnostic, {size}-byte body (50 notes), {rounds} edits: p50 {:?}, p95 {:?}, max {:?}",
        p(0.5),
        p(0.95),
        times[rounds - 1]
    );
    let mut reads = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let started = Instant::now();
        file.diagnostic(d.id).unwrap();
        reads.push(started.elapsed());
    }
    reads.sort();
    eprintln!(
        "diagnostic(id): p50 {:?}, p95 {:?}",
        reads[rounds / 2],
        reads[rounds * 95 / 100]
    );
}
