//! The case file against real SQLCipher files in temporary directories.

mod common;

use common::*;
use rusqlite::Connection;
use tandem_domain::validation::ValidationReason;
use tandem_domain::{PersonField, RsaStatus};
use tandem_store::{CaseFile, StoreError};

const SECRET_NAMES: [(&str, &str); 3] = [
    ("Hélène", "Lefèvre"),
    ("Zébulon", "Müller"),
    ("Benoît", "Lefèvre"),
];

fn file_with_persons(path: &std::path::Path) -> CaseFile {
    let mut file = CaseFile::create(path, &KEY).unwrap();
    file.save_profile(&profile()).unwrap();
    for (first, last) in SECRET_NAMES {
        file.create_person(&new_person(first, last, "14/07/1985"), now())
            .unwrap();
    }
    file
}

#[test]
fn round_trip_profile_and_persons() {
    let dir = tempfile::tempdir().unwrap();
    let path = case_path(&dir);
    let mut file = file_with_persons(&path);
    let id = file.search_persons("helene", 10).unwrap().items[0].id;
    for (field, raw) in [
        (PersonField::Email, "helene.lefevre@exemple.fr"),
        (PersonField::Phone, "06 12 34 56 78"),
        (PersonField::Address, "12 rue de la Part-Dieu"),
        (PersonField::PostalCode, "69003"),
        (PersonField::Commune, "Lyon"),
        (PersonField::CommuneInsee, "69123"),
        (PersonField::CafNumber, "1234567"),
        (PersonField::FranceTravailId, "1234567a"),
        (PersonField::RsaStatus, "suspended"),
        (PersonField::RsaSince, "01/03/2025"),
        (PersonField::JobSeeker, "true"),
        (PersonField::JobSeekerSince, "2024-09-01"),
        (PersonField::Rqth, "true"),
        (PersonField::RqthUntil, "2028-01-01"),
        (PersonField::DroitsDevoirs, "true"),
        (PersonField::Qpv, "true"),
    ] {
        file.update_person_field(id, field, raw, now()).unwrap();
    }
    let before = file.person(id).unwrap();
    assert_eq!(before.rsa_status, RsaStatus::Suspended);
    assert_eq!(before.france_travail_id, "1234567A");
    // Sub-second timestamps survive the round trip.
    let precise = now() + chrono::Duration::nanoseconds(123_456_789);
    let before = file
        .update_person_field(id, PersonField::Commune, "Lyon 3e", precise)
        .unwrap();
    drop(file);

    let file = CaseFile::open(&path, &KEY).unwrap();
    assert_eq!(file.path(), path.as_path());
    assert_eq!(file.profile().unwrap(), Some(profile()));
    assert_eq!(file.person(id).unwrap(), before);
    assert_eq!(file.search_persons("", 10).unwrap().total, 3);
    file.integrity_check().unwrap();
}

#[test]
fn profile_lock_delay_is_validated() {
    let dir = tempfile::tempdir().unwrap();
    let mut file = CaseFile::create(&case_path(&dir), &KEY).unwrap();
    assert_eq!(file.profile().unwrap(), None);
    assert!(matches!(
        file.set_lock_after_minutes(5),
        Err(StoreError::NotFound)
    ));
    file.save_profile(&profile()).unwrap();
    assert_eq!(
        file.set_lock_after_minutes(30).unwrap().lock_after_minutes,
        30
    );
    let err = file.set_lock_after_minutes(0).unwrap_err();
    assert_eq!(err.code(), "validation");
    assert!(
        matches!(err, StoreError::Validation(e) if e.reason == ValidationReason::InvalidLockDelay)
    );
    assert_eq!(file.profile().unwrap().unwrap().lock_after_minutes, 30);
}

#[test]
fn create_refuses_an_existing_path_and_open_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = case_path(&dir);
    std::fs::write(&path, b"something else").unwrap();
    let err = CaseFile::create(&path, &KEY).unwrap_err();
    assert_eq!(err.code(), "already_exists");
    assert_eq!(std::fs::read(&path).unwrap(), b"something else");

    let missing = dir.path().join("absent.tandem");
    assert_eq!(
        CaseFile::open(&missing, &KEY).unwrap_err().code(),
        "not_found"
    );
    assert!(!missing.exists(), "open must never create a file");
}

#[test]
fn wrong_key_is_refused_and_leaves_the_file_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = case_path(&dir);
    drop(file_with_persons(&path));
    let before = snapshot(&path);
    assert!(
        before.wal.is_none() && before.shm.is_none(),
        "closed file has no WAL"
    );

    let err = CaseFile::open(&path, &OTHER_KEY).unwrap_err();
    assert!(matches!(err, StoreError::CannotDecrypt), "{err:?}");
    assert_eq!(err.code(), "cannot_decrypt");
    assert_eq!(snapshot(&path), before);
    CaseFile::open(&path, &KEY).unwrap();
}

#[test]
fn a_plain_sqlite_open_cannot_read_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = case_path(&dir);
    drop(file_with_persons(&path));
    let header = std::fs::read(&path).unwrap();
    assert!(!header.starts_with(b"SQLite format 3\0"));

    let conn = Connection::open(&path).unwrap();
    let err = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |row| {
            row.get::<_, i64>(0)
        })
        .unwrap_err();
    assert_eq!(
        err.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase),
        "{err}"
    );
}

#[test]
fn no_plaintext_in_the_file_its_wal_or_its_shm() {
    let dir = tempfile::tempdir().unwrap();
    let path = case_path(&dir);
    let mut file = file_with_persons(&path);
    let id = file.search_persons("zebulon", 1).unwrap().items[0].id;
    file.update_person_field(id, PersonField::Commune, "Saint-Étienne", now())
        .unwrap();
    let needles: Vec<String> = SECRET_NAMES
        .iter()
        .flat_map(|(f, l)| [*f, *l])
        .chain([
            "Saint-Étienne",
            "helene",
            "lefevre",
            "zebulon",
            "muller",
            "saint etienne",
            "Camille Roux",
        ])
        .map(str::to_string)
        .collect();
    let check = |when: &str| {
        let snap = snapshot(&path);
        for (part, bytes) in [("main", &snap.main), ("wal", &snap.wal), ("shm", &snap.shm)] {
            if let Some(bytes) = bytes {
                for needle in &needles {
                    assert!(
                        !contains(bytes, needle.as_bytes()),
                        "{needle} in {part} ({when})"
                    );
                }
            }
        }
        snap
    };
    let open = check("open");
    assert!(
        open.wal.as_ref().is_some_and(|w| !w.is_empty()),
        "WAL in use while open"
    );
    drop(file);
    check("closed");
}

#[test]
fn migrations_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = case_path(&dir);
    drop(file_with_persons(&path));
    let first = snapshot(&path);
    for _ in 0..2 {
        let file = CaseFile::open(&path, &KEY).unwrap();
        assert_eq!(file.search_persons("", 10).unwrap().total, 3);
        drop(file);
        assert_eq!(snapshot(&path), first, "reopening changes nothing");
    }
    let conn = raw_keyed(&path, &KEY);
    let version: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, CaseFile::SCHEMA_VERSION);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn a_newer_schema_is_refused_and_the_file_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = case_path(&dir);
    drop(file_with_persons(&path));
    let conn = raw_keyed(&path, &KEY);
    conn.pragma_update(None, "user_version", CaseFile::SCHEMA_VERSION + 1)
        .unwrap();
    drop(conn);
    let before = snapshot(&path);

    let err = CaseFile::open(&path, &KEY).unwrap_err();
    assert!(
        matches!(err, StoreError::NewerSchema { found, supported }
            if found == CaseFile::SCHEMA_VERSION + 1 && supported == CaseFile::SCHEMA_VERSION),
        "{err:?}"
    );
    assert_eq!(err.code(), "newer_schema");
    assert_eq!(snapshot(&path), before);
}

#[test]
fn random_bytes_and_empty_files_are_refused_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = case_path(&dir);
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let bytes: Vec<u8> = (0..64 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[3]
        })
        .collect();
    std::fs::write(&path, &bytes).unwrap();
    let before = snapshot(&path);
    let err = CaseFile::open(&path, &KEY).unwrap_err();
    assert!(
        matches!(err, StoreError::CannotDecrypt | StoreError::Damaged),
        "{err:?}"
    );
    assert_eq!(snapshot(&path), before);

    std::fs::write(&path, b"").unwrap();
    assert_eq!(CaseFile::open(&path, &KEY).unwrap_err().code(), "damaged");
    assert_eq!(std::fs::read(&path).unwrap(), b"");
}

#[test]
fn a_damaged_page_is_reported_as_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let path = case_path(&dir);
    let mut file = CaseFile::create(&path, &KEY).unwrap();
    for i in 0..300 {
        file.create_person(&new_person(&format!("Prénom{i}"), "Lefèvre", ""), now())
            .unwrap();
    }
    drop(file);
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 8 * 4096);
    for b in &mut bytes[5 * 4096 + 100..5 * 4096 + 140] {
        *b ^= 0xff;
    }
    std::fs::write(&path, &bytes).unwrap();
    let outcome = CaseFile::open(&path, &KEY).and_then(|f| {
        f.search_persons("", 1000)?;
        f.integrity_check()
    });
    assert!(matches!(outcome, Err(StoreError::Damaged)), "{outcome:?}");
}

#[test]
fn a_validation_error_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut file = file_with_persons(&case_path(&dir));
    let id = file.search_persons("helene", 1).unwrap().items[0].id;
    let before = file.person(id).unwrap();
    let pending = file.pending_changes().unwrap();
    let later = now() + chrono::Duration::minutes(5);
    for (field, raw) in [
        (PersonField::Email, "pas-une-adresse"),
        (PersonField::LastName, "   "),
        (PersonField::BirthDate, "31/02/1990"),
        (PersonField::RsaStatus, "peut-être"),
    ] {
        let err = file.update_person_field(id, field, raw, later).unwrap_err();
        assert!(
            matches!(&err, StoreError::Validation(e) if e.field == field.name()),
            "{err:?}"
        );
    }
    assert_eq!(file.person(id).unwrap(), before);
    assert_eq!(file.pending_changes().unwrap(), pending);
    let missing = uuid::Uuid::now_v7();
    let err = file
        .update_person_field(missing, PersonField::Email, "a@b.fr", later)
        .unwrap_err();
    assert_eq!(err.code(), "not_found");
    assert_eq!(file.person(missing).unwrap_err().code(), "not_found");
}

#[test]
fn every_change_writes_its_outbox_rows_in_the_same_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let path = case_path(&dir);
    let mut file = CaseFile::create(&path, &KEY).unwrap();
    let helene = file
        .create_person(&new_person("Hélène", "Lefèvre", "14/07/1985"), now())
        .unwrap();
    let zoe = file
        .create_person(&new_person("Zoé", "Martin", ""), now())
        .unwrap();
    assert_eq!(
        file.pending_changes().unwrap(),
        5,
        "3 fields for Hélène, 2 for Zoé"
    );

    let later = now() + chrono::Duration::minutes(1);
    let updated = file
        .update_person_field(helene.id, PersonField::Email, " h@exemple.fr ", later)
        .unwrap();
    assert_eq!(updated.updated_at, later);
    assert_eq!(file.pending_changes().unwrap(), 6);
    // Autosave sends the same value again: nothing is written.
    let again = now() + chrono::Duration::minutes(2);
    let same = file
        .update_person_field(helene.id, PersonField::Email, "h@exemple.fr", again)
        .unwrap();
    assert_eq!(same.updated_at, later);
    assert_eq!(file.pending_changes().unwrap(), 6);
    file.update_person_field(zoe.id, PersonField::Qpv, "true", later)
        .unwrap();
    file.update_person_field(helene.id, PersonField::BirthDate, "", later)
        .unwrap();

    let bulk = {
        let mut p = helene.clone();
        p.id = uuid::Uuid::now_v7();
        p.rqth = true;
        p
    };
    file.insert_persons(std::slice::from_ref(&bulk)).unwrap();
    assert_eq!(file.pending_changes().unwrap(), 8 + 4);
    drop(file);

    let conn = raw_keyed(&path, &KEY);
    let rows: Vec<(String, String, String, String, String, String)> = conn
        .prepare("SELECT mutation_id, record_type, record_id, field, value, created_at FROM outbox ORDER BY mutation_id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let view: Vec<(String, &str, &str)> = rows
        .iter()
        .map(|(_, _, id, field, value, _)| {
            let who = if *id == helene.id.to_string() {
                "helene"
            } else if *id == zoe.id.to_string() {
                "zoe"
            } else {
                "bulk"
            };
            (who.to_string(), field.as_str(), value.as_str())
        })
        .collect();
    let expected = [
        ("helene", "first_name", "\"Hélène\""),
        ("helene", "last_name", "\"Lefèvre\""),
        ("helene", "birth_date", "\"1985-07-14\""),
        ("zoe", "first_name", "\"Zoé\""),
        ("zoe", "last_name", "\"Martin\""),
        ("helene", "email", "\"h@exemple.fr\""),
        ("zoe", "qpv", "true"),
        ("helene", "birth_date", "null"),
        ("bulk", "first_name", "\"Hélène\""),
        ("bulk", "last_name", "\"Lefèvre\""),
        ("bulk", "birth_date", "\"1985-07-14\""),
        ("bulk", "rqth", "true"),
    ];
    let expected: Vec<(String, &str, &str)> = expected
        .iter()
        .map(|(w, f, v)| (w.to_string(), *f, *v))
        .collect();
    assert_eq!(view, expected);
    for (mutation_id, record_type, _, _, _, created_at) in &rows {
        assert_eq!(
            uuid::Uuid::parse_str(mutation_id)
                .unwrap()
                .get_version_num(),
            7
        );
        assert_eq!(record_type, "person");
        assert!(
            chrono::DateTime::parse_from_rfc3339(created_at).is_ok(),
            "{created_at}"
        );
    }
}

#[test]
fn search_folds_accents_and_case_and_needs_every_word() {
    let dir = tempfile::tempdir().unwrap();
    let mut file = CaseFile::create(&case_path(&dir), &KEY).unwrap();
    for (first, last) in [
        ("Hélène", "Lefèvre"),
        ("Héloïse", "Lefebvre"),
        ("Zébulon", "Müller"),
        ("Jean-François", "N'Diaye"),
        ("Benoît", "Lefèvre"),
        ("Zoé", "Abadie"),
    ] {
        file.create_person(&new_person(first, last, ""), now())
            .unwrap();
    }
    let names_in = |file: &CaseFile, query: &str| -> (Vec<String>, u32) {
        let list = file.search_persons(query, 50).unwrap();
        let names = list
            .items
            .iter()
            .map(|p| format!("{} {}", p.first_name, p.last_name))
            .collect();
        (names, list.total)
    };
    let names = |query: &str| names_in(&file, query);
    assert_eq!(names("helene").0, ["Hélène Lefèvre"]);
    assert_eq!(names("HÉLÈNE").0, ["Hélène Lefèvre"]);
    assert_eq!(names("lefevre").0, ["Benoît Lefèvre", "Hélène Lefèvre"]);
    assert_eq!(
        names("lef").0,
        ["Héloïse Lefebvre", "Benoît Lefèvre", "Hélène Lefèvre"]
    );
    assert_eq!(names("hel lef").0, ["Héloïse Lefebvre", "Hélène Lefèvre"]);
    assert_eq!(names("lefevre helene").0, ["Hélène Lefèvre"]);
    assert_eq!(names("muller").0, ["Zébulon Müller"]);
    assert_eq!(names("n'diaye francois").0, ["Jean-François N'Diaye"]);
    assert_eq!(names("helene zebulon"), (vec![], 0));
    assert_eq!(names("personne"), (vec![], 0));
    // LIKE wildcards typed by the user are not wildcards: they fold away to separators.
    assert_eq!(names("%").1, 6);
    assert_eq!(names("l_f"), names("l f"));

    let all = names("");
    assert_eq!(all.1, 6);
    assert_eq!(
        all.0,
        [
            "Zoé Abadie",
            "Héloïse Lefebvre",
            "Benoît Lefèvre",
            "Hélène Lefèvre",
            "Zébulon Müller",
            "Jean-François N'Diaye"
        ]
    );
    let page = file.search_persons("", 2).unwrap();
    assert_eq!((page.items.len(), page.total), (2, 6));

    // A renamed person is found under the new name only.
    let id = file.search_persons("zebulon", 1).unwrap().items[0].id;
    file.update_person_field(id, PersonField::LastName, "Écuyer", now())
        .unwrap();
    assert_eq!(names_in(&file, "muller").1, 0);
    assert_eq!(names_in(&file, "ecuyer").0, ["Zébulon Écuyer"]);
    assert_eq!(names_in(&file, "").0[1], "Zébulon Écuyer");
}

#[test]
fn error_codes_are_stable() {
    let cases = [
        (StoreError::CannotDecrypt, "cannot_decrypt"),
        (StoreError::Damaged, "damaged"),
        (
            StoreError::NewerSchema {
                found: 2,
                supported: 1,
            },
            "newer_schema",
        ),
        (StoreError::AlreadyExists, "already_exists"),
        (StoreError::NotFound, "not_found"),
        (StoreError::Finalised, "finalised"),
        (StoreError::DraftExists, "draft_exists"),
        (StoreError::VersionExists, "version_exists"),
        (
            StoreError::Diagnostic(tandem_domain::diagnostic_rules::DiagnosticError::NotFinalised),
            "diagnostic_rejected",
        ),
        (StoreError::Io(std::io::Error::other("x")), "io"),
        (
            StoreError::Sqlite(rusqlite::Error::InvalidQuery),
            "internal",
        ),
    ];
    for (error, code) in cases {
        assert_eq!(error.code(), code);
    }
}
