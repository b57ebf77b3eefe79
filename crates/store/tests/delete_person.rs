//! Deleting a person's file created by mistake, in real SQLCipher files.

mod common;

use common::*;
use tandem_domain::diagnostic::DiagnosticStatus;
use tandem_store::{CaseFile, StoreError};
use uuid::Uuid;

fn outbox_fields(path: &std::path::Path, person: Uuid) -> Vec<(String, String)> {
    let conn = raw_keyed(path, &KEY);
    let mut stmt = conn
        .prepare("SELECT field, value FROM outbox WHERE person_id = ?1 ORDER BY rowid")
        .unwrap();
    let rows = stmt
        .query_map([person.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    rows
}

#[test]
fn a_file_never_synced_goes_without_a_trace() {
    let dir = tempfile::tempdir().unwrap();
    let path = case_path(&dir);
    let mut file = CaseFile::create(&path, &KEY).unwrap();
    file.save_profile(&profile()).unwrap();
    let kept = file
        .create_person(&new_person("Awa", "Diallo", "03/05/1992"), now())
        .unwrap();
    let person = file
        .create_person(&new_person("Hélène", "Lefèvre", "14/07/1985"), now())
        .unwrap();
    let draft = sample_diagnostic(person.id, Uuid::now_v7(), 1, None, 2);
    file.insert_diagnostic(&draft).unwrap();

    // Not enrolled: nothing was ever sent, so no tombstone is journalled.
    assert!(!file.delete_person(person.id, now()).unwrap());
    assert!(matches!(file.person(person.id), Err(StoreError::NotFound)));
    assert!(matches!(
        file.diagnostic(draft.id),
        Err(StoreError::NotFound)
    ));
    assert!(outbox_fields(&path, person.id).is_empty());
    // Deleting again says the person is not there; the other person is untouched.
    assert!(matches!(
        file.delete_person(person.id, now()),
        Err(StoreError::NotFound)
    ));
    assert_eq!(file.person(kept.id).unwrap(), kept);
    file.integrity_check().unwrap();
    drop(file);
    let file = CaseFile::open(&path, &KEY).unwrap();
    assert!(matches!(file.person(person.id), Err(StoreError::NotFound)));
}

#[test]
fn an_enrolled_laptop_journals_the_tombstone_and_a_finalised_diagnostic_keeps_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = case_path(&dir);
    let mut file = CaseFile::create(&path, &KEY).unwrap();
    file.save_profile(&profile()).unwrap();
    file.set_sync_state("https://tandem.example", Uuid::now_v7())
        .unwrap();
    let person = file
        .create_person(&new_person("Hélène", "Lefèvre", "14/07/1985"), now())
        .unwrap();
    assert!(file.delete_person(person.id, now()).unwrap());
    assert!(matches!(file.person(person.id), Err(StoreError::NotFound)));
    // Only the tombstone is left to push: the edits before it are moot.
    assert_eq!(
        outbox_fields(&path, person.id),
        [("deleted".to_string(), "true".to_string())]
    );
    let pending = file.pending_outbox(10).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (pending[0].entity.as_str(), pending[0].field.as_str()),
        ("person", "deleted")
    );
    assert_eq!(pending[0].record_id, person.id);

    // A person with a finalised diagnostic keeps their file, and nothing changes.
    let other = file
        .create_person(&new_person("Awa", "Diallo", "03/05/1992"), now())
        .unwrap();
    let mut finalised = sample_diagnostic(other.id, Uuid::now_v7(), 1, Some("2026-11-20"), 1);
    finalised.status = DiagnosticStatus::Finalised;
    file.insert_diagnostics(std::slice::from_ref(&finalised))
        .unwrap();
    let before = outbox_fields(&path, other.id);
    assert!(matches!(
        file.delete_person(other.id, now()),
        Err(StoreError::HasFinalisedDiagnostic)
    ));
    assert_eq!(file.person(other.id).unwrap(), other);
    assert_eq!(file.diagnostic(finalised.id).unwrap(), finalised);
    assert_eq!(outbox_fields(&path, other.id), before);
}
