//! The app's use-cases without a window: real SQLCipher files in a temporary folder and
//! keyring-core's mock keychain, one store per test.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tandem_app::core::{AppCore, AppState, KeychainProvider};
use tandem_app::error::{ErrorCode, IpcError};
use tandem_app::paths::Paths;
use tandem_domain::{NewPerson, NewProfile, PersonField, Role};
use tandem_keys::{KeyError, Keychain};

const PASSPHRASE: &str = "un vélo pour deux";

struct Fixture {
    _dir: tempfile::TempDir,
    data: PathBuf,
    store: Arc<keyring_core::CredentialStore>,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        Fixture {
            _dir: dir,
            data,
            store: keyring_core::mock::Store::new().unwrap(),
        }
    }

    fn core(&self) -> AppCore {
        let store = Arc::clone(&self.store);
        let provider: KeychainProvider =
            Arc::new(move |id: &str| Ok(Keychain::with_store(Arc::clone(&store), id)));
        self.core_with(provider)
    }

    fn core_with(&self, keychain: KeychainProvider) -> AppCore {
        AppCore::new(
            Paths {
                data_dir: self.data.clone(),
                log_dir: self.data.join("logs"),
            },
            keychain,
        )
    }

    fn profile_dir(&self) -> PathBuf {
        let profiles = self.data.join("profiles");
        std::fs::read_dir(&profiles)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
            .unwrap()
    }
}

fn new_profile() -> NewProfile {
    NewProfile {
        caseworker_name: "Camille Roux".into(),
        structure_name: "CCAS de Villeurbanne".into(),
        role: Role::Social,
        passphrase: PASSPHRASE.into(),
    }
}

fn person(first: &str, last: &str) -> NewPerson {
    NewPerson {
        first_name: first.into(),
        last_name: last.into(),
        birth_date: String::new(),
    }
}

fn code<T: std::fmt::Debug>(result: Result<T, tandem_app::error::AppError>) -> ErrorCode {
    let error: IpcError = result.unwrap_err().into();
    assert!(!error.message.is_empty());
    error.code
}

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn first_run_creates_an_unlocked_profile_then_locks_and_unlocks() {
    let fx = Fixture::new();
    let core = fx.core();
    assert_eq!(core.state().unwrap(), AppState::FirstRun);
    let profile = core.create_profile(&new_profile()).unwrap();
    assert_eq!(
        core.state().unwrap(),
        AppState::Unlocked {
            profile: profile.clone()
        }
    );
    core.create_person(&person("Hélène", "Lefèvre")).unwrap();

    core.lock();
    assert_eq!(core.state().unwrap(), AppState::Locked);
    assert_eq!(code(core.search_persons("")), ErrorCode::Locked);
    assert_eq!(
        code(core.unlock("pas la bonne phrase")),
        ErrorCode::WrongPassphrase
    );
    assert_eq!(core.unlock(PASSPHRASE).unwrap(), profile);
    let found = core.search_persons("helene").unwrap();
    assert_eq!(found.total, 1);
    assert_eq!(found.items[0].last_name, "Lefèvre");

    // A second profile is refused: this laptop has one.
    assert_eq!(
        code(core.create_profile(&new_profile())),
        ErrorCode::ProfileExists
    );
}

#[test]
fn a_fresh_process_starts_locked() {
    let fx = Fixture::new();
    fx.core().create_profile(&new_profile()).unwrap();
    let restarted = fx.core();
    assert_eq!(restarted.state().unwrap(), AppState::Locked);
    restarted.unlock(PASSPHRASE).unwrap();
}

#[test]
fn first_run_validation_is_french_and_creates_nothing() {
    let fx = Fixture::new();
    let core = fx.core();
    let mut input = new_profile();
    input.passphrase = "court".into();
    let error: IpcError = core.create_profile(&input).unwrap_err().into();
    assert_eq!(error.code, ErrorCode::Validation);
    assert_eq!(error.field.as_deref(), Some("passphrase"));
    assert!(
        error.message.contains("phrase de passe"),
        "{}",
        error.message
    );
    assert_eq!(core.state().unwrap(), AppState::FirstRun);
}

#[test]
fn a_missing_keychain_entry_is_restored_by_the_passphrase() {
    let fx = Fixture::new();
    let core = fx.core();
    let profile = core.create_profile(&new_profile()).unwrap();
    core.lock();
    let keychain = Keychain::with_store(Arc::clone(&fx.store), &profile.id.to_string());
    keychain.delete().unwrap();
    assert!(matches!(keychain.load(), Err(KeyError::NoKeychainEntry)));

    core.unlock(PASSPHRASE).unwrap();
    keychain.load().expect("the entry is back");
}

#[test]
fn no_keychain_service_means_no_profile_and_no_unlock() {
    let fx = Fixture::new();
    let unavailable: KeychainProvider = Arc::new(|_: &str| Err(KeyError::KeychainUnavailable));
    let core = fx.core_with(unavailable.clone());
    assert_eq!(
        code(core.create_profile(&new_profile())),
        ErrorCode::KeychainUnavailable
    );
    assert_eq!(core.state().unwrap(), AppState::FirstRun);

    fx.core().create_profile(&new_profile()).unwrap();
    let core = fx.core_with(unavailable);
    let error: IpcError = core.unlock(PASSPHRASE).unwrap_err().into();
    assert_eq!(error.code, ErrorCode::KeychainUnavailable);
    assert!(error.message.contains("trousseau"), "{}", error.message);
    assert_eq!(core.state().unwrap(), AppState::Locked);
}

#[test]
fn a_corrupted_case_file_is_refused_and_left_as_it_is() {
    let fx = Fixture::new();
    fx.core().create_profile(&new_profile()).unwrap();
    let dir = fx.profile_dir();
    let garbage: Vec<u8> = (0..64 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for leftover in ["case-file.db-wal", "case-file.db-shm"] {
        let _ = std::fs::remove_file(dir.join(leftover));
    }
    std::fs::write(dir.join("case-file.db"), &garbage).unwrap();
    let before = snapshot(&dir);

    let core = fx.core();
    let error: IpcError = core.unlock(PASSPHRASE).unwrap_err().into();
    assert!(
        matches!(error.code, ErrorCode::CannotDecrypt | ErrorCode::Damaged),
        "{error:?}"
    );
    assert!(
        error.message.contains("n’a pas été modifié"),
        "{}",
        error.message
    );
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn person_edits_validate_and_keep_what_was_saved() {
    let fx = Fixture::new();
    let core = fx.core();
    core.create_profile(&new_profile()).unwrap();
    let created = core.create_person(&person("Jérôme", "Martin")).unwrap();
    core.update_person_field(created.id, PersonField::Email, "jerome@exemple.fr")
        .unwrap();

    for (field, raw, reason) in [
        (PersonField::Email, "jerome@", "e-mail"),
        (PersonField::BirthDate, "2999-01-01", "futur"),
        (PersonField::LastName, "   ", "obligatoire"),
    ] {
        let error: IpcError = core
            .update_person_field(created.id, field, raw)
            .unwrap_err()
            .into();
        assert_eq!(error.code, ErrorCode::Validation);
        assert_eq!(error.field.as_deref(), Some(field.name()));
        assert!(error.message.contains(reason), "{}", error.message);
    }
    let stored = core.get_person(created.id).unwrap();
    assert_eq!(stored.email, "jerome@exemple.fr");
    assert_eq!(stored.last_name, "Martin");
    assert_eq!(stored.birth_date, None);

    let error: IpcError = core
        .create_person(&person("", "Sans prénom"))
        .unwrap_err()
        .into();
    assert_eq!(
        (error.code, error.field.as_deref()),
        (ErrorCode::Validation, Some("first_name"))
    );
    assert_eq!(
        code(core.get_person(uuid::Uuid::new_v4())),
        ErrorCode::NotFound
    );
}

#[test]
fn lock_delay_is_a_validated_setting() {
    let fx = Fixture::new();
    let core = fx.core();
    core.create_profile(&new_profile()).unwrap();
    assert_eq!(
        core.set_lock_after_minutes(5).unwrap().lock_after_minutes,
        5
    );
    assert_eq!(code(core.set_lock_after_minutes(0)), ErrorCode::Validation);
    core.lock();
    assert_eq!(core.unlock(PASSPHRASE).unwrap().lock_after_minutes, 5);
}

#[test]
fn a_case_file_from_a_newer_version_is_refused_in_french_and_left_as_it_is() {
    let fx = Fixture::new();
    let core = fx.core();
    core.create_profile(&new_profile()).unwrap();
    core.create_person(&person("Hélène", "Lefèvre")).unwrap();
    core.lock();
    drop(core);
    let dir = fx.profile_dir();
    let id = dir.file_name().unwrap().to_string_lossy().into_owned();
    let key = Keychain::with_store(Arc::clone(&fx.store), &id)
        .load()
        .unwrap();
    // What a later Tandem would leave behind: the same file, a higher schema version.
    let conn = rusqlite::Connection::open(dir.join("case-file.db")).unwrap();
    conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", key.to_hex().as_str()))
        .unwrap();
    let version: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    conn.pragma_update(None, "user_version", version + 1)
        .unwrap();
    conn.pragma_update(None, "wal_checkpoint", "TRUNCATE")
        .unwrap();
    drop(conn);
    let before = snapshot(&dir);

    let core = fx.core();
    let error: IpcError = core.unlock(PASSPHRASE).unwrap_err().into();
    assert_eq!(error.code, ErrorCode::NewerSchema);
    assert!(
        error.message.contains("version plus récente"),
        "{}",
        error.message
    );
    assert_eq!(snapshot(&dir), before);
    assert_eq!(core.state().unwrap(), AppState::Locked);
}

mod diagnostics {
    use super::*;
    use tandem_domain::diagnostic::{
        DiagnosticEdit, DiagnosticField, DiagnosticStatus, Grade, Signer,
    };

    fn set(core: &AppCore, id: uuid::Uuid, field: DiagnosticField, value: &str) {
        core.edit_diagnostic(
            id,
            &DiagnosticEdit::SetField {
                field,
                value: value.into(),
            },
        )
        .unwrap();
    }

    #[test]
    fn a_joint_diagnostic_from_draft_to_finalised_survives_a_restart_and_is_amended() {
        let fx = Fixture::new();
        let core = fx.core();
        core.create_profile(&new_profile()).unwrap();
        let person = core.create_person(&person("Hélène", "Lefèvre")).unwrap();
        let d = core.start_diagnostic(person.id).unwrap();
        assert_eq!(d.caseworker.name, "Camille Roux");
        assert_eq!(d.themes.len(), core.referentiel().themes.len());

        let error: IpcError = core.finalise_diagnostic(d.id).unwrap_err().into();
        assert_eq!(error.code, ErrorCode::NotReady);
        assert!(
            error
                .message
                .contains("le nom du ou de la co-intervenant·e"),
            "{}",
            error.message
        );

        set(
            &core,
            d.id,
            DiagnosticField::CoInterviewerName,
            "Karim Benali",
        );
        set(
            &core,
            d.id,
            DiagnosticField::CoInterviewerStructure,
            "France Travail",
        );
        set(
            &core,
            d.id,
            DiagnosticField::CoInterviewerRole,
            "employment",
        );
        core.edit_diagnostic(
            d.id,
            &DiagnosticEdit::SetGrade {
                theme: "mobilite".into(),
                grade: Grade::NoObstacle,
            },
        )
        .unwrap();
        set(&core, d.id, DiagnosticField::Orientation, "professional");
        set(
            &core,
            d.id,
            DiagnosticField::OrientationReasons,
            "Prête à travailler.",
        );
        set(&core, d.id, DiagnosticField::ConsentSharing, "false");
        for signer in [Signer::Caseworker, Signer::CoInterviewer, Signer::Person] {
            core.edit_diagnostic(
                d.id,
                &DiagnosticEdit::SignOff {
                    signer,
                    name: "Signé".into(),
                },
            )
            .unwrap();
        }
        let done = core.finalise_diagnostic(d.id).unwrap();
        assert_eq!(done.status, DiagnosticStatus::Finalised);
        core.lock();
        drop(core);

        let core = fx.core();
        core.unlock(PASSPHRASE).unwrap();
        let again = core.get_diagnostic(d.id).unwrap();
        assert_eq!(again, done);
        let error: IpcError = core
            .edit_diagnostic(
                d.id,
                &DiagnosticEdit::SetField {
                    field: DiagnosticField::Place,
                    value: "ailleurs".into(),
                },
            )
            .unwrap_err()
            .into();
        assert_eq!(error.code, ErrorCode::Finalised);
        assert!(
            error.message.contains("nouvelle version"),
            "{}",
            error.message
        );
        assert_eq!(core.get_diagnostic(d.id).unwrap(), done);

        let v2 = core.amend_diagnostic(d.id).unwrap();
        assert_eq!(v2.version, 2);
        assert_eq!(
            code(core.amend_diagnostic(d.id)),
            ErrorCode::DraftExists,
            "one draft per series at a time"
        );
        set(
            &core,
            v2.id,
            DiagnosticField::Orientation,
            "socio_professional",
        );
        let v2 = core.get_diagnostic(v2.id).unwrap();
        assert_eq!(v2.changes.len(), 1);
        assert_eq!(v2.changes[0].by, "Camille Roux");
        let list = core.list_diagnostics(person.id).unwrap();
        let versions: Vec<u32> = list.iter().map(|s| s.version).collect();
        assert_eq!(versions, [2, 1]);
        assert_eq!(core.get_diagnostic(d.id).unwrap(), done);
    }

    #[test]
    fn bad_diagnostic_input_is_refused_in_french_and_keeps_what_was_saved() {
        let fx = Fixture::new();
        let core = fx.core();
        core.create_profile(&new_profile()).unwrap();
        let person = core.create_person(&person("Jérôme", "Martin")).unwrap();
        let d = core.start_diagnostic(person.id).unwrap();
        set(&core, d.id, DiagnosticField::Place, "Mairie annexe");
        let error: IpcError = core
            .edit_diagnostic(
                d.id,
                &DiagnosticEdit::SetField {
                    field: DiagnosticField::MobilityRadiusKm,
                    value: "loin".into(),
                },
            )
            .unwrap_err()
            .into();
        assert_eq!(error.code, ErrorCode::Validation);
        assert_eq!(error.field.as_deref(), Some("mobility_radius_km"));
        assert!(error.message.contains("nombre entier"), "{}", error.message);
        let kept = core.get_diagnostic(d.id).unwrap();
        assert_eq!(kept.place, "Mairie annexe");
        assert_eq!(kept.project.mobility_radius_km, None);
        assert_eq!(
            code(core.start_diagnostic(uuid::Uuid::now_v7())),
            ErrorCode::NotFound
        );
        assert!(core
            .search_rome("plombier")
            .iter()
            .any(|m| m.title.contains("Plombier")));
    }
}

mod printing {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use tandem_app::core::Audience;
    use tandem_app::printing::Printer;
    use tandem_domain::diagnostic::{DiagnosticEdit, DiagnosticField, Interviewer, NoteVisibility};

    fn pdf_text(pdf: &[u8]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("doc.pdf");
        std::fs::write(&path, pdf).unwrap();
        let out = std::process::Command::new("pdftotext")
            .arg(&path)
            .arg("-")
            .output()
            .expect("pdftotext (poppler-utils) is installed by ./dev.sh test");
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    }

    /// A stand-in for CUPS `lp` that records its arguments and a copy of the file, or fails.
    fn fake_lp(dir: &Path, exit: i32) -> PathBuf {
        let script = dir.join("lp");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"{log}\"\ncp \"$2\" \"{copy}\"\nexit {exit}\n",
                log = dir.join("args").display(),
                copy = dir.join("printed.pdf").display(),
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        script
    }

    fn diagnostic_with_notes(core: &AppCore) -> uuid::Uuid {
        let person = core.create_person(&person("Hélène", "Lefèvre")).unwrap();
        let d = core.start_diagnostic(person.id).unwrap();
        for (field, value) in [
            (DiagnosticField::CoInterviewerName, "Karim Benali"),
            (DiagnosticField::CaseworkerContact, "04 78 00 00 00"),
            (
                DiagnosticField::NextAppointment,
                "mardi 8 décembre à 10 h, au CCAS",
            ),
            (
                DiagnosticField::PersonWishes,
                "Travailler dans la vente, près de chez moi.",
            ),
        ] {
            core.edit_diagnostic(
                d.id,
                &DiagnosticEdit::SetField {
                    field,
                    value: value.into(),
                },
            )
            .unwrap();
        }
        core.edit_diagnostic(
            d.id,
            &DiagnosticEdit::AddNote {
                id: uuid::Uuid::now_v7(),
                theme: Some("sante".into()),
                author: Interviewer::Caseworker,
                visibility: NoteVisibility::SocialOnly,
                text: "Suivi psychologique en cours".into(),
            },
        )
        .unwrap();
        d.id
    }

    #[test]
    fn summaries_render_with_what_each_reader_may_see() {
        let fx = Fixture::new();
        let core = fx.core();
        core.create_profile(&new_profile()).unwrap();
        let id = diagnostic_with_notes(&core);

        let person = pdf_text(&core.diagnostic_pdf(id, Audience::Person).unwrap());
        assert!(
            person.contains("Votre diagnostic et votre plan d’action"),
            "{person}"
        );
        assert!(person.contains("Travailler dans la vente"));
        assert!(person.contains("mardi 8 décembre à 10 h, au CCAS"));
        assert!(
            !person.contains("Suivi psychologique"),
            "no notes in the person's version"
        );

        // The profile is a social-role caseworker: the social-only note is in the full version.
        let full = pdf_text(&core.diagnostic_pdf(id, Audience::Professional).unwrap());
        assert!(full.contains("Suivi psychologique en cours"), "{full}");
        assert!(full.contains("Karim Benali"));
    }

    #[test]
    fn printing_hands_the_pdf_to_the_system_and_leaves_no_copy_behind() {
        let fx = Fixture::new();
        let bin = tempfile::tempdir().unwrap();
        let core = fx.core().with_printer(Printer {
            program: fake_lp(bin.path(), 0),
        });
        core.create_profile(&new_profile()).unwrap();
        let id = diagnostic_with_notes(&core);
        core.print_diagnostic(id, Audience::Person).unwrap();
        let args = std::fs::read_to_string(bin.path().join("args")).unwrap();
        assert!(args.starts_with("--\n"), "{args}");
        let printed = std::fs::read(bin.path().join("printed.pdf")).unwrap();
        assert!(pdf_text(&printed).contains("Votre diagnostic"));
        let spool: Vec<_> = std::fs::read_dir(fx.data.join("print")).unwrap().collect();
        assert!(spool.is_empty(), "the spooled PDF is removed");

        // A PDF left behind by a crash mid-print is removed when the app starts.
        std::fs::write(fx.data.join("print/tandem-left.pdf"), b"%PDF").unwrap();
        drop(fx.core());
        assert!(!fx.data.join("print/tandem-left.pdf").exists());
    }

    #[test]
    fn a_failed_print_says_so_in_french_and_offers_to_save() {
        let fx = Fixture::new();
        let bin = tempfile::tempdir().unwrap();
        for printer in [
            Printer {
                program: fake_lp(bin.path(), 1),
            },
            Printer {
                program: bin.path().join("no-such-lp"),
            },
        ] {
            let core = fx.core().with_printer(printer);
            if core.state().unwrap() == AppState::FirstRun {
                core.create_profile(&new_profile()).unwrap();
            } else {
                core.unlock(PASSPHRASE).unwrap();
            }
            let id = diagnostic_with_notes(&core);
            let error: IpcError = core
                .print_diagnostic(id, Audience::Professional)
                .unwrap_err()
                .into();
            assert_eq!(error.code, ErrorCode::PrintFailed);
            assert!(
                error.message.to_lowercase().contains("enregistre"),
                "{}",
                error.message
            );

            let saved = tempfile::tempdir().unwrap();
            let path = saved.path().join("diagnostic.pdf");
            core.save_diagnostic_pdf(id, Audience::Professional, &path)
                .unwrap();
            assert!(pdf_text(&std::fs::read(&path).unwrap()).contains("Karim Benali"));
            let name = core.suggested_pdf_name(id, Audience::Person).unwrap();
            assert!(name.starts_with("diagnostic-Hélène-Lefèvre-"), "{name}");
            assert!(name.ends_with(".pdf"));
        }
    }
}
