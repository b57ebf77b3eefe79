//! A first sync in snapshot form reaches exactly the state a replay of the whole journal
//! reaches (records, registers with their versions and heads, conflicts), and a commit landing
//! between snapshot pages comes once, in the journal after it.

mod common;

use common::*;
use tandem_domain::diagnostic::{DiagnosticEdit, Interviewer, NoteVisibility};
use tandem_domain::PersonField;
use tandem_store::{CaseFile, RegisterRow};
use tandem_sync::snapshot_mutation_id;
use uuid::Uuid;

fn note(text: &str) -> DiagnosticEdit {
    DiagnosticEdit::AddNote {
        id: Uuid::now_v7(),
        theme: None,
        author: Interviewer::Caseworker,
        visibility: NoteVisibility::Shared,
        text: text.into(),
    }
}

/// The registers of `snap` must be those of `journal`, except that a head the snapshot sent
/// without its mutation id carries the stand-in id of its version.
fn assert_same_registers(journal: &[RegisterRow], snap: &[RegisterRow]) {
    assert_eq!(journal.len(), snap.len());
    for (j, s) in journal.iter().zip(snap) {
        let mut j = j.clone();
        assert_eq!(j.heads.len(), s.heads.len(), "{j:?} / {s:?}");
        for (jh, sh) in j.heads.iter_mut().zip(&s.heads) {
            if sh.change.mutation_id == snapshot_mutation_id(sh.version) {
                assert_eq!(s.heads.len(), 1, "a register in conflict keeps its ids");
                if j.shown == Some(jh.change.mutation_id) {
                    j.shown = Some(sh.change.mutation_id);
                }
                jh.change.mutation_id = sh.change.mutation_id;
            }
        }
        assert_eq!(&j, s);
    }
}

fn registers(laptop: &Laptop) -> Vec<RegisterRow> {
    laptop.with(|f| f.sync_registers().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_gives_the_state_of_a_journal_replay() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (sa, sb) = (server.structure("A").await, server.structure("B").await);
    let (d1, d2, db) = (
        server.device(sa).await,
        server.device(sa).await,
        server.device(sb).await,
    );
    let one = Laptop::new(&server, dir.path(), &d1, 1);
    let two = Laptop::new(&server, dir.path(), &d2, 2);
    let other = Laptop::new(&server, dir.path(), &db, 3);

    // Persons with many superseded edits, diagnostics with notes and autosaved fields.
    let mut persons = Vec::new();
    for n in 0..4 {
        let p = one.create_person(&format!("Prénom{n}"), "Nom");
        for i in 0..5 {
            one.set(p, PersonField::Phone, &format!("06 00 00 00 0{i}"));
        }
        one.set(p, PersonField::Commune, "Rennes");
        let d = draft(p);
        one.with(|f| f.insert_diagnostic(&d).unwrap());
        for i in 0..6 {
            one.edit_diagnostic(d.id, &set_place(&format!("Lieu {i}")));
            if i % 2 == 0 {
                one.edit_diagnostic(d.id, &note(&format!("Note {i}")));
            }
        }
        persons.push(p);
    }
    one.sync().await.unwrap();
    // Edits made after pulling (base versions), and one conflict: both laptops edit the same
    // field offline.
    two.sync().await.unwrap();
    two.set(persons[0], PersonField::Email, "deux@example.fr");
    two.set(persons[1], PersonField::PostalCode, "35200");
    one.set(persons[1], PersonField::PostalCode, "35000");
    std::thread::sleep(std::time::Duration::from_millis(5));
    two.set(persons[1], PersonField::PostalCode, "35700");
    two.sync().await.unwrap();
    one.sync().await.unwrap();
    // Another structure's person, never shared with A, and one shared then withdrawn.
    let hidden = other.create_person("Caché", "Ailleurs");
    let withdrawn = other.create_person("Retiré", "Ailleurs");
    other.sync().await.unwrap();
    other.follow_up(withdrawn, sa, true).await;
    one.sync().await.unwrap();
    other.follow_up(withdrawn, sa, false).await;

    // Two fresh laptops of structure A: one replays the journal, the other takes a snapshot
    // in small pages.
    let (dj, ds) = (server.device(sa).await, server.device(sa).await);
    let mut journal = Laptop::new(&server, dir.path(), &dj, 4);
    journal.options.snapshot = false;
    journal.options.pull_limit = 7;
    let mut snap = Laptop::new(&server, dir.path(), &ds, 5);
    snap.options.pull_limit = 7;
    one.sync().await.unwrap();
    let rj = journal.sync().await.unwrap();
    let rs = snap.sync().await.unwrap();
    assert_eq!(
        rs.pulled, rj.pulled,
        "a snapshot stands for the same changes"
    );
    assert!(rs.pages > 1, "{rs:?}");
    assert_eq!(snap.view(), journal.view());
    assert_eq!(snap.view(), one.view());
    assert!(snap.person(hidden).is_none() && snap.person(withdrawn).is_none());
    assert_same_registers(&registers(&journal), &registers(&snap));
    let conflicts = snap.with(|f| f.conflicts().unwrap());
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts, journal.with(|f| f.conflicts().unwrap()));
    assert_eq!(conflicts, one.with(|f| f.conflicts().unwrap()));

    // Local edits carry the same base version, and later syncs keep both laptops alike.
    snap.set(persons[0], PersonField::Email, "cinq@example.fr");
    journal.set(persons[2], PersonField::Phone, "06 44 44 44 44");
    let base = |l: &Laptop| {
        l.with(|f| f.pending_outbox(10).unwrap())[0]
            .base_version
            .unwrap()
    };
    assert_eq!(
        base(&snap),
        journal
            .with(|f| f.sync_registers().unwrap())
            .iter()
            .find(|r| r.record_id == persons[0] && r.register == "email")
            .unwrap()
            .version
    );
    assert!(base(&journal) > 0);
    snap.sync().await.unwrap();
    journal.sync().await.unwrap();
    snap.sync().await.unwrap();
    one.sync().await.unwrap();
    assert_eq!(snap.view(), journal.view());
    assert_eq!(snap.view(), one.view());
    // The conflict is resolved from the snapshot laptop; it closes everywhere.
    let chosen = conflicts[0].values[1].mutation_id;
    snap.with(|f| {
        f.resolve_conflict(persons[1], "postal_code", chosen, now())
            .unwrap()
    });
    snap.sync().await.unwrap();
    journal.sync().await.unwrap();
    for laptop in [&snap, &journal] {
        assert!(laptop.with(|f| f.conflicts().unwrap()).is_empty());
    }
    assert_eq!(snap.view(), journal.view());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_between_snapshot_pages_comes_once_in_the_journal_after() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let sa = server.structure("A").await;
    let (d1, ds) = (server.device(sa).await, server.device(sa).await);
    let one = Laptop::new(&server, dir.path(), &d1, 1);
    let mut persons = Vec::new();
    for n in 0..6 {
        let p = one.create_person(&format!("Prénom{n}"), "Nom");
        one.set(p, PersonField::Phone, "06 00 00 00 00");
        persons.push(p);
    }
    one.sync().await.unwrap();

    let path = dir.path().join("snapshot.tandem");
    let mut file = CaseFile::create(&path, &key(8)).unwrap();
    file.set_sync_state(&server.base, ds.id).unwrap();
    let client = server.client(&ds);
    let first = client.pull_snapshot(4).await.unwrap();
    assert!(first.has_more);
    let sent: Vec<Uuid> = first
        .snapshot
        .as_ref()
        .unwrap()
        .records
        .iter()
        .map(|r| r.person_id)
        .collect();
    file.apply_pull_page(&first).unwrap();
    // Commits land now: one edit of a person already sent, one of a person not yet sent,
    // and a new person.
    let later = *persons.iter().find(|p| !sent.contains(p)).unwrap();
    one.set(sent[0], PersonField::Phone, "06 11 11 11 11");
    one.set(later, PersonField::Phone, "06 22 22 22 22");
    let newcomer = one.create_person("Nouvelle", "Personne");
    one.sync().await.unwrap();

    let mut cursor = first.cursor.clone();
    let mut snapshot_pages = 1;
    let mut journal_changes = Vec::new();
    loop {
        let page = client.pull(Some(&cursor), 4).await.unwrap();
        if let Some(snapshot) = &page.snapshot {
            snapshot_pages += 1;
            let records = &snapshot.records;
            assert!(records.iter().all(|r| r.person_id != newcomer));
            // The edit committed after the snapshot began is not in it.
            assert!(!format!("{records:?}").contains("06 22 22 22 22"));
        } else {
            journal_changes.extend(page.changes.iter().map(|c| c.change.mutation_id));
        }
        let last_snapshot_page = page.snapshot.is_some() && !page.has_more;
        file.apply_pull_page(&page).unwrap();
        cursor = page.cursor.clone();
        // The snapshot's last page hands over to the journal, which the next sync pulls.
        if !page.has_more && !last_snapshot_page {
            break;
        }
    }
    assert!(snapshot_pages > 1);
    let pulled_since = journal_changes.len();
    let mut unique = journal_changes.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), pulled_since, "no change twice");
    // The two edits and the newcomer's changes (created with three fields), nothing else.
    assert_eq!(pulled_since, 2 + 3, "{journal_changes:?}");
    assert_eq!(view(&file), one.view());
    file.integrity_check().unwrap();
}
