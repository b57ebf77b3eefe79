//! `./dev.sh bench`: release-mode figures for the case file, one `BENCH <name> <value>` line each.
//! Milliseconds unless the name says otherwise. Targets are in the README; nothing is asserted.
#![allow(clippy::print_stdout)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tandem_app::core::{AppCore, Audience, KeychainProvider};
use tandem_app::paths::Paths;
use tandem_domain::diagnostic::{
    Diagnostic, DiagnosticEdit, DiagnosticField, Grade, Interviewer, NoteVisibility, Signer,
};
use tandem_domain::{fold, NewProfile, Person, PersonField, Profile, Role};
use tandem_keys::{DbKey, Keychain};
use tandem_store::CaseFile;
use uuid::Uuid;

// mimalloc, not the system allocator (see `mimalloc` in the workspace manifest).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PERSONS: usize = 10_000;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * samples.len() as f64).ceil() as usize;
    samples[rank.clamp(1, samples.len()) - 1]
}

fn bench(name: &str, value: f64) {
    println!("BENCH {name} {value:.2}");
}

fn profile() -> Profile {
    Profile::create(
        &NewProfile {
            caseworker_name: "Camille Roux".into(),
            structure_name: "CCAS de Villeurbanne".into(),
            role: Role::Social,
            passphrase: "phrase de passe du banc".into(),
        },
        uuid::Uuid::new_v4(),
    )
    .expect("valid profile")
}

/// Search terms a caseworker would type: the start of a name, without accents, any case.
fn queries(persons: &[Person], n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let p = &persons[(i * 7919) % persons.len()];
            let name = if i % 2 == 0 {
                &p.last_name
            } else {
                &p.first_name
            };
            let folded = fold(name);
            let len = 3 + i % 4;
            folded.chars().take(len).collect::<String>().to_uppercase()
        })
        .collect()
}

fn open_and_search(dir: &Path, persons: &[Person]) {
    let key = DbKey::generate();
    let path = dir.join("open.db");
    let mut file = CaseFile::create(&path, key.as_bytes()).unwrap();
    file.save_profile(&profile()).unwrap();
    file.insert_persons(persons).unwrap();
    drop(file);

    // Open + unlock: key the file, check it, read the profile and the first page of the caseload.
    let mut opens = Vec::new();
    for _ in 0..15 {
        let start = Instant::now();
        let file = CaseFile::open(&path, key.as_bytes()).unwrap();
        file.profile().unwrap().unwrap();
        let list = file.search_persons("", 200).unwrap();
        opens.push(ms(start.elapsed()));
        assert_eq!(list.total as usize, persons.len());
    }
    bench("open_10k_ms", percentile(&mut opens, 50.0));

    let file = CaseFile::open(&path, key.as_bytes()).unwrap();
    let mut searches = Vec::new();
    for q in queries(persons, 400) {
        let start = Instant::now();
        let found = file.search_persons(&q, 200).unwrap();
        searches.push(ms(start.elapsed()));
        assert!(found.total > 0, "{q} found nobody");
    }
    bench("search_10k_p95_ms", percentile(&mut searches, 95.0));
}

/// One field saved through `AppCore::update_person_field`, the use-case the Tauri command calls.
fn save_field(dir: &Path, persons: &[Person]) -> AppCore {
    let store: Arc<keyring_core::CredentialStore> = keyring_core::mock::Store::new().unwrap();
    let keychain_store = Arc::clone(&store);
    let provider: KeychainProvider =
        Arc::new(move |id: &str| Ok(Keychain::with_store(Arc::clone(&keychain_store), id)));
    let paths = Paths {
        data_dir: dir.join("app"),
        log_dir: dir.join("logs"),
    };
    let core = AppCore::new(paths.clone(), provider);
    let passphrase = "phrase de passe du banc";
    let created = core
        .create_profile(&NewProfile {
            caseworker_name: "Camille Roux".into(),
            structure_name: "CCAS".into(),
            role: Role::Employment,
            passphrase: passphrase.into(),
        })
        .unwrap();
    core.lock();
    let id = created.id.to_string();
    let key = Keychain::with_store(Arc::clone(&store), &id)
        .load()
        .unwrap();
    let case_file = paths.profile_dir(&id).join(tandem_app::paths::CASE_FILE);
    CaseFile::open(&case_file, key.as_bytes())
        .unwrap()
        .insert_persons(persons)
        .unwrap();
    core.unlock(passphrase).unwrap();

    let mut saves = Vec::new();
    let fields = [PersonField::Email, PersonField::Phone, PersonField::Address];
    for i in 0..300 {
        let person = &persons[(i * 31) % persons.len()];
        let (field, value) = match fields[i % 3] {
            PersonField::Email => (PersonField::Email, format!("contact{i}@exemple.fr")),
            PersonField::Phone => (
                PersonField::Phone,
                format!("06 12 34 {:02} {:02}", i % 100, (i / 100) % 100),
            ),
            _ => (PersonField::Address, format!("{i} rue de la République")),
        };
        let start = Instant::now();
        core.update_person_field(person.id, field, &value).unwrap();
        saves.push(ms(start.elapsed()));
    }
    bench("save_field_p95_ms", percentile(&mut saves, 95.0));
    core
}

fn edit(core: &AppCore, id: Uuid, e: DiagnosticEdit) -> Diagnostic {
    core.edit_diagnostic(id, &e).unwrap()
}

fn set(core: &AppCore, id: Uuid, field: DiagnosticField, value: &str) -> Diagnostic {
    edit(
        core,
        id,
        DiagnosticEdit::SetField {
            field,
            value: value.into(),
        },
    )
}

/// A realistic interview: co-interviewer, six graded themes with situations, twenty notes of a
/// few lines, the person's words, a project, orientation, a plan, consent and sign-offs.
fn fill_and_finalise(core: &AppCore, id: Uuid) {
    let referentiel = core.referentiel();
    set(core, id, DiagnosticField::CoInterviewerName, "Karim Benali");
    set(
        core,
        id,
        DiagnosticField::CoInterviewerStructure,
        "France Travail Lyon Est",
    );
    set(core, id, DiagnosticField::CoInterviewerRole, "employment");
    let grades = [
        Grade::ObstacleStrong,
        Grade::ObstacleMedium,
        Grade::NoObstacle,
    ];
    for (i, theme) in referentiel.themes.iter().take(6).enumerate() {
        edit(
            core,
            id,
            DiagnosticEdit::SetGrade {
                theme: theme.key.clone(),
                grade: grades[i % 3],
            },
        );
        let situations = theme.situations.iter().take(2).cloned().collect();
        edit(
            core,
            id,
            DiagnosticEdit::SetSituations {
                theme: theme.key.clone(),
                situations,
            },
        );
    }
    for i in 0..20 {
        edit(
            core,
            id,
            DiagnosticEdit::AddNote {
                id: Uuid::now_v7(),
                theme: Some(referentiel.themes[i % 6].key.clone()),
                author: if i % 2 == 0 {
                    Interviewer::Caseworker
                } else {
                    Interviewer::CoInterviewer
                },
                visibility: NoteVisibility::Shared,
                text: "La personne explique sa situation avec précision. ".repeat(8),
            },
        );
    }
    set(
        core,
        id,
        DiagnosticField::PersonWishes,
        "Trouver un travail près de chez moi.",
    );
    set(core, id, DiagnosticField::Orientation, "socio_professional");
    set(
        core,
        id,
        DiagnosticField::OrientationReasons,
        "Logement d’abord, emploi ensuite.",
    );
    let objective = Uuid::now_v7();
    let theme = &referentiel.themes[0];
    edit(
        core,
        id,
        DiagnosticEdit::AddObjective {
            id: objective,
            theme: theme.key.clone(),
            label: theme.objectives[0].clone(),
        },
    );
    edit(
        core,
        id,
        DiagnosticEdit::AddAction {
            id: Uuid::now_v7(),
            objective_id: objective,
            label: "Dossier de logement social".into(),
        },
    );
    set(core, id, DiagnosticField::ConsentSharing, "false");
    for signer in [Signer::Caseworker, Signer::CoInterviewer, Signer::Person] {
        edit(
            core,
            id,
            DiagnosticEdit::SignOff {
                signer,
                name: "Nom Signataire".into(),
            },
        );
    }
    core.finalise_diagnostic(id).unwrap();
}

/// `diag_save_field_p95_ms`: one field of a diagnostic saved through `AppCore::edit_diagnostic`
/// (the Tauri command's use-case). `diag_open_5v_ms`: open a person's file whose diagnostic has
/// five versions — the person, the list of versions and the latest version in full.
fn diagnostic_figures(core: &AppCore, person: Uuid) {
    let mut d = core.start_diagnostic(person).unwrap();
    for _ in 0..4 {
        fill_and_finalise(core, d.id);
        d = core.amend_diagnostic(d.id).unwrap();
    }
    assert_eq!(d.version, 5);
    let mut saves = Vec::new();
    for i in 0..300 {
        let (field, value) = if i % 2 == 0 {
            (
                DiagnosticField::PersonWishes,
                format!("Travailler à temps partiel, essai {i}"),
            )
        } else {
            (DiagnosticField::Place, format!("Mairie annexe, bureau {i}"))
        };
        let start = Instant::now();
        core.edit_diagnostic(d.id, &DiagnosticEdit::SetField { field, value })
            .unwrap();
        saves.push(ms(start.elapsed()));
    }
    bench("diag_save_field_p95_ms", percentile(&mut saves, 95.0));

    let mut opens = Vec::new();
    for _ in 0..50 {
        let start = Instant::now();
        core.get_person(person).unwrap();
        let versions = core.list_diagnostics(person).unwrap();
        let latest = core.get_diagnostic(versions[0].id).unwrap();
        opens.push(ms(start.elapsed()));
        assert_eq!((versions.len(), latest.version), (5, 5));
    }
    bench("diag_open_5v_ms", percentile(&mut opens, 50.0));

    // ROME search as the project step types it: word starts of one or two words, no accents.
    let words = [
        "plomb",
        "aide soign",
        "educ",
        "vente",
        "agent entretien",
        "cuisin",
        "boulang",
        "chauffeur",
        "magasin",
        "secreta",
        "comptab",
        "infirm",
        "menuis",
        "peint",
        "jardin",
        "accueil",
        "caiss",
        "serveu",
        "electric",
        "manutention",
        "garde enf",
        "auxiliaire vie",
        "mecan",
        "couvreur",
        "livreur",
        "preparateur commandes",
        "agent securite",
        "coiff",
        "macon",
        "k2204",
    ];
    let mut searches = Vec::new();
    for round in 0..20 {
        for w in words {
            let query = if round % 2 == 0 {
                w.to_string()
            } else {
                w.to_uppercase()
            };
            let start = Instant::now();
            let found = core.search_rome(&query);
            searches.push(ms(start.elapsed()));
            assert!(!found.is_empty(), "{query} found no job");
        }
    }
    bench("rome_search_p95_ms", percentile(&mut searches, 95.0));

    // The printed summaries of that full diagnostic (20 notes, six graded themes, a plan).
    for (name, audience) in [
        ("pdf_person_ms", Audience::Person),
        ("pdf_professional_ms", Audience::Professional),
    ] {
        let mut renders = Vec::new();
        for _ in 0..20 {
            let start = Instant::now();
            let pdf = core.diagnostic_pdf(d.id, audience).unwrap();
            renders.push(ms(start.elapsed()));
            assert!(pdf.starts_with(b"%PDF"));
        }
        bench(name, percentile(&mut renders, 50.0));
    }
}

/// The same workload — bulk insert, searches, point reads, field saves — on SQLCipher and on the
/// same engine without a key (plain SQLite). Best of three each, alternating.
fn cipher_vs_plain(dir: &Path, persons: &[Person]) {
    let sample = &persons[..2_000];
    let terms = queries(sample, 200);
    let run = |file: &mut CaseFile| -> Duration {
        let now = Utc::now();
        let start = Instant::now();
        file.insert_persons(sample).unwrap();
        for q in &terms {
            file.search_persons(q, 50).unwrap();
        }
        for i in 0..1_000 {
            file.person(sample[(i * 13) % sample.len()].id).unwrap();
        }
        for (i, p) in sample.iter().take(300).enumerate() {
            file.update_person_field(p.id, PersonField::Commune, &format!("Commune {i}"), now)
                .unwrap();
        }
        start.elapsed()
    };
    let (mut keyed, mut plain) = (Duration::MAX, Duration::MAX);
    for round in 0..3 {
        let key = DbKey::generate();
        let mut file =
            CaseFile::create(&dir.join(format!("keyed{round}.db")), key.as_bytes()).unwrap();
        keyed = keyed.min(run(&mut file));
        let mut file =
            tandem_store::open_plain_for_bench(&dir.join(format!("plain{round}.db"))).unwrap();
        plain = plain.min(run(&mut file));
    }
    bench(
        "sqlcipher_vs_plain_ratio",
        keyed.as_secs_f64() / plain.as_secs_f64(),
    );
}

fn main() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let persons = tandem_seed::synthetic_persons(PERSONS, 42, Utc::now());
    open_and_search(dir.path(), &persons);
    let core = save_field(dir.path(), &persons);
    diagnostic_figures(&core, persons[0].id);
    drop(core);
    cipher_vs_plain(dir.path(), &persons);
}
