//! The app's sync use-cases against the real territory server on loopback: enrolment with a
//! one-time code, the worker's cycle, sharing a file between two structures, a conflict seen
//! and resolved from the conflicts screen, and the wipe of a revoked laptop. Real SQLCipher
//! files; keyring-core's mock keychain (one store per laptop).

mod common;

use tandem_app::core::AppState;
use tandem_app::error::{ErrorCode, IpcError};
use tandem_app::sync_view::SyncState;
use tandem_domain::{NewPerson, NewProfile, PersonField, Role};
use uuid::Uuid;

use common::{Laptop, Server};

fn code<T: std::fmt::Debug>(result: Result<T, tandem_app::error::AppError>) -> ErrorCode {
    let error: IpcError = result.unwrap_err().into();
    assert!(!error.message.is_empty());
    error.code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_structures_share_a_file_see_a_conflict_and_resolve_it() {
    let server = Server::start().await;
    let (_, code_a) = server
        .account(
            "CCAS de Villeurbanne",
            "Camille Roux",
            tandem_server::Role::Social,
        )
        .await;
    let (structure_b, code_b) = server
        .account(
            "Mission locale Est",
            "Karim Benali",
            tandem_server::Role::Employment,
        )
        .await;
    let a = Laptop::new("Camille Roux", "CCAS de Villeurbanne", Role::Social);
    let b = Laptop::new("Karim Benali", "Mission locale Est", Role::Employment);

    // Before enrolment: the indicator says so, and « Synchroniser » is refused.
    let status = a.core.sync_status().unwrap();
    assert_eq!(status.state, SyncState::NotEnrolled);
    assert_eq!(code(a.core.sync_now()), ErrorCode::NotEnrolled);

    // Bad input: French messages, nothing recorded.
    assert_eq!(
        code(
            a.core
                .enrol_device("http://tandem.example.fr", &code_a)
                .await
        ),
        ErrorCode::Validation
    );
    assert_eq!(
        code(a.core.enrol_device(&server.url, "ABCD").await),
        ErrorCode::Validation
    );
    assert_eq!(
        code(
            a.core
                .enrol_device(&server.url, "ABCD-EFGH-JKLM-NPQR")
                .await
        ),
        ErrorCode::InvalidCode
    );
    assert_eq!(a.core.sync_status().unwrap().state, SyncState::NotEnrolled);

    // Enrolment: lower case and no dashes are fine; the code works once.
    let typed = code_a.replace('-', "").to_lowercase();
    let status = a.core.enrol_device(&server.url, &typed).await.unwrap();
    assert_eq!(
        status.structure_name.as_deref(),
        Some("CCAS de Villeurbanne")
    );
    assert_eq!(status.server_url.as_deref(), Some(server.url.as_str()));
    assert_eq!(
        code(b.core.enrol_device(&server.url, &code_a).await),
        ErrorCode::InvalidCode
    );
    b.core.enrol_device(&server.url, &code_b).await.unwrap();

    // A creates a person and syncs; the status counts and then clears the pending changes.
    let person = a.add_helene();
    a.core
        .update_person_field(person.id, PersonField::Phone, "06 12 34 56 78")
        .unwrap();
    assert!(a.core.sync_status().unwrap().pending_changes > 0);
    a.sync().await;
    let status = a.core.sync_status().unwrap();
    assert_eq!(status.state, SyncState::UpToDate);
    assert_eq!(status.pending_changes, 0);
    assert!(status.last_synced_at.is_some());

    // B does not see the person until the person consents to share with B's structure.
    b.sync().await;
    assert_eq!(b.core.search_persons("").unwrap().total, 0);
    // A lists the territory's structures and shares the file with B's, with consent.
    let structures = a.core.list_structures().await.unwrap();
    let names: Vec<&str> = structures.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["Mission locale Est"],
        "its own structure is left out"
    );
    assert_eq!(structures[0].id, structure_b);
    // A person this laptop does not hold is refused before any network call.
    assert_eq!(
        code(
            a.core
                .share_person(Uuid::now_v7(), structure_b, false)
                .await
        ),
        ErrorCode::NotFound
    );
    a.core
        .share_person(person.id, structure_b, false)
        .await
        .unwrap();
    b.sync().await;
    let seen = b.core.get_person(person.id).unwrap();
    assert_eq!(seen.first_name, "Hélène");
    assert_eq!(seen.phone, "06 12 34 56 78");

    // Both change the phone offline: after syncing, each laptop has exactly one conflict with
    // both values, the same one shown on both.
    a.core
        .update_person_field(person.id, PersonField::Phone, "06 11 11 11 11")
        .unwrap();
    b.core
        .update_person_field(person.id, PersonField::Phone, "07 22 22 22 22")
        .unwrap();
    a.sync().await;
    b.sync().await;
    a.sync().await;
    let conflicts_a = a.core.list_conflicts().unwrap();
    let conflicts_b = b.core.list_conflicts().unwrap();
    assert_eq!(conflicts_a.len(), 1, "{conflicts_a:?}");
    assert_eq!(conflicts_b.len(), 1, "{conflicts_b:?}");
    let conflict = &conflicts_a[0];
    assert_eq!(conflict.person_name, "Hélène Dubois");
    assert_eq!(conflict.record, "Fiche de la personne");
    assert_eq!(conflict.field_label, "Téléphone");
    let mut values: Vec<&str> = conflict.options.iter().map(|o| o.value.as_str()).collect();
    values.sort();
    assert_eq!(values, ["06 11 11 11 11", "07 22 22 22 22"]);
    assert_eq!(conflict.options.iter().filter(|o| o.shown).count(), 1);
    // Each value says who entered it: this laptop, or the other caseworker and structure.
    let author = |value: &str| {
        conflict
            .options
            .iter()
            .find(|o| o.value == value)
            .unwrap()
            .author
            .clone()
    };
    assert_eq!(author("06 11 11 11 11"), "cet ordinateur");
    assert_eq!(
        author("07 22 22 22 22"),
        "Mission locale Est · Karim Benali"
    );
    let shown_a = conflict
        .options
        .iter()
        .find(|o| o.shown)
        .unwrap()
        .value
        .clone();
    let shown_b = conflicts_b[0]
        .options
        .iter()
        .find(|o| o.shown)
        .unwrap()
        .value
        .clone();
    assert_eq!(shown_a, shown_b);
    assert_eq!(a.core.get_person(person.id).unwrap().phone, shown_a);
    assert_eq!(a.core.sync_status().unwrap().conflicts, 1);

    // A keeps the value that is not shown; after syncing, the conflict is closed on both.
    let keep = conflict.options.iter().find(|o| !o.shown).unwrap();
    a.core
        .resolve_conflict(&conflict.id, keep.mutation_id)
        .unwrap();
    assert_eq!(a.core.get_person(person.id).unwrap().phone, keep.value);
    a.sync().await;
    b.sync().await;
    a.sync().await;
    assert!(a.core.list_conflicts().unwrap().is_empty());
    assert!(b.core.list_conflicts().unwrap().is_empty());
    assert_eq!(b.core.get_person(person.id).unwrap().phone, keep.value);
    assert_eq!(b.core.sync_status().unwrap().conflicts, 0);

    // A resolution of a conflict that does not exist is refused and changes nothing.
    assert_eq!(
        code(
            a.core
                .resolve_conflict(&format!("{}/phone", person.id), Uuid::now_v7())
        ),
        ErrorCode::NotFound
    );

    // A sees who else has the file, then Hélène withdraws her consent for B: B's next sync
    // removes the person.
    let shares = a.core.list_shares(person.id).await.unwrap();
    assert_eq!(shares.len(), 1, "{shares:?}");
    assert_eq!(shares[0].structure_name, "Mission locale Est");
    assert!(!shares[0].share_social_notes);
    a.core.withdraw_share(person.id, structure_b).await.unwrap();
    assert!(a.core.list_shares(person.id).await.unwrap().is_empty());
    b.sync().await;
    assert_eq!(code(b.core.get_person(person.id)), ErrorCode::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_laptop_erases_its_case_file_and_says_so() {
    let server = Server::start().await;
    let (_, code_a) = server
        .account(
            "CCAS de Villeurbanne",
            "Camille Roux",
            tandem_server::Role::Social,
        )
        .await;
    let a = Laptop::new("Camille Roux", "CCAS de Villeurbanne", Role::Social);
    let status = a.core.enrol_device(&server.url, &code_a).await.unwrap();
    assert_eq!(status.state, SyncState::Syncing);
    a.add_helene();
    a.sync().await;

    let token = a.token();
    server
        .state
        .with_store(move |s| {
            let device = s.authenticate(&token)?.expect("device");
            s.revoke_device(device.id)
        })
        .await
        .unwrap();
    assert_eq!(code(a.core.sync_cycle().await), ErrorCode::DeviceRevoked);

    // Every command now says why, in French, until a new profile exists; the files are gone.
    let error: IpcError = a.core.sync_status().unwrap_err().into();
    assert_eq!(error.code, ErrorCode::DeviceRevoked);
    assert!(error.message.contains("effacé"), "{}", error.message);
    assert_eq!(code(a.core.search_persons("")), ErrorCode::DeviceRevoked);
    assert_eq!(a.core.state().unwrap(), AppState::FirstRun);
    let profiles = a._dir.path().join("data/profiles");
    let left: Vec<_> = std::fs::read_dir(&profiles)
        .map(|d| d.filter_map(Result::ok).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "profile folder left behind: {left:?}");

    a.core
        .create_profile(&NewProfile {
            caseworker_name: "Camille Roux".into(),
            structure_name: "CCAS de Villeurbanne".into(),
            role: Role::Social,
            passphrase: "un vélo pour deux".into(),
        })
        .unwrap();
    assert_eq!(a.core.search_persons("").unwrap().total, 0);
    assert_eq!(a.core.sync_status().unwrap().state, SyncState::NotEnrolled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_offline_and_keeps_every_change() {
    let mut server = Server::start().await;
    let (_, code_a) = server
        .account(
            "CCAS de Villeurbanne",
            "Camille Roux",
            tandem_server::Role::Social,
        )
        .await;
    let a = Laptop::new("Camille Roux", "CCAS de Villeurbanne", Role::Social);
    a.core.enrol_device(&server.url, &code_a).await.unwrap();
    a.sync().await;

    // The server stops: the laptop goes on working, says « hors ligne », keeps its edits.
    server.stop.take().unwrap().send(()).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    a.add_helene();
    assert_eq!(code(a.core.sync_cycle().await), ErrorCode::Offline);
    let status = a.core.sync_status().unwrap();
    assert_eq!(status.state, SyncState::Offline);
    assert!(status.message.unwrap().contains("injoignable"));
    assert!(status.pending_changes > 0);
    assert_eq!(a.core.search_persons("helene").unwrap().total, 1);

    // Enrolling against a server that does not answer: offline, nothing recorded.
    let b = Laptop::new("Camille Roux", "CCAS de Villeurbanne", Role::Social);
    assert_eq!(
        code(b.core.enrol_device(&server.url, &code_a).await),
        ErrorCode::Offline
    );
    assert_eq!(b.core.sync_status().unwrap().state, SyncState::NotEnrolled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_not_yet_sent_cannot_be_shared_and_says_why() {
    let server = Server::start().await;
    let (_, code_a) = server
        .account(
            "CCAS de Villeurbanne",
            "Camille Roux",
            tandem_server::Role::Social,
        )
        .await;
    let (structure_b, _) = server
        .account(
            "Mission locale Est",
            "Karim Benali",
            tandem_server::Role::Employment,
        )
        .await;
    let a = Laptop::new("Camille Roux", "CCAS de Villeurbanne", Role::Social);
    // Not enrolled: no structure list, no sharing.
    assert_eq!(code(a.core.list_structures().await), ErrorCode::NotEnrolled);
    a.core.enrol_device(&server.url, &code_a).await.unwrap();
    let person = a.add_helene();
    // Created here, not synced yet: the server does not know the file.
    let error: IpcError = a
        .core
        .share_person(person.id, structure_b, false)
        .await
        .unwrap_err()
        .into();
    assert_eq!(error.code, ErrorCode::NotOnServer);
    assert!(error.message.contains("synchronisez"), "{}", error.message);
    a.sync().await;
    a.core
        .share_person(person.id, structure_b, true)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_change_stays_listed_with_its_reason() {
    use tandem_domain::diagnostic::{DiagnosticEdit, Interviewer, NoteVisibility};
    let server = Server::start().await;
    let (a, b, structure_b) = server.two_enrolled_laptops("Camille Roux").await;
    let person = a.add_helene();
    a.sync().await;
    // Hélène does not allow notes reserved to the social field to go to Mission locale Est.
    a.core
        .share_person(person.id, structure_b, false)
        .await
        .unwrap();
    b.sync().await;
    assert!(b.core.list_refused_changes().unwrap().is_empty());

    // B's employment adviser writes a note reserved to the social field: the server refuses it.
    let draft = b.core.start_diagnostic(person.id).unwrap();
    b.core
        .edit_diagnostic(
            draft.id,
            &DiagnosticEdit::AddNote {
                id: Uuid::now_v7(),
                theme: None,
                author: Interviewer::Caseworker,
                visibility: NoteVisibility::SocialOnly,
                text: "Note sociale".into(),
            },
        )
        .unwrap();
    b.sync().await;
    let refused = b.core.list_refused_changes().unwrap();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].person_id, person.id);
    assert_eq!(refused[0].person_name, "Hélène Dubois");
    assert!(refused[0].record.starts_with("Diagnostic"), "{refused:?}");
    assert!(
        refused[0]
            .reason
            .contains("réservée aux professionnel·les du social"),
        "{}",
        refused[0].reason
    );
    assert_eq!(b.core.sync_status().unwrap().refused_changes, 1);
    // Nothing is lost: the note stays on B's laptop, and it is not sent again.
    let kept = b.core.get_diagnostic(draft.id).unwrap();
    assert!(kept.notes.iter().any(|n| n.text == "Note sociale"));
    b.sync().await;
    assert_eq!(b.core.list_refused_changes().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_deleted_on_one_laptop_leaves_the_others_at_their_next_sync() {
    let server = Server::start().await;
    let (a, b, structure_b) = server.two_enrolled_laptops("Camille Roux").await;
    let person = a.add_helene();
    let kept = a
        .core
        .create_person(&NewPerson {
            first_name: "Awa".into(),
            last_name: "Diallo".into(),
            birth_date: String::new(),
        })
        .unwrap();
    a.sync().await;
    for id in [person.id, kept.id] {
        a.core.share_person(id, structure_b, false).await.unwrap();
    }
    b.sync().await;
    assert_eq!(b.core.get_person(person.id).unwrap().first_name, "Hélène");

    // A deletes Hélène's file (a duplicate): gone here at once, from B after both sync.
    a.core.delete_person(person.id).unwrap();
    assert_eq!(code(a.core.get_person(person.id)), ErrorCode::NotFound);
    assert_eq!(a.core.sync_status().unwrap().pending_changes, 1);
    a.sync().await;
    assert_eq!(a.core.sync_status().unwrap().pending_changes, 0);
    b.sync().await;
    assert_eq!(code(b.core.get_person(person.id)), ErrorCode::NotFound);
    assert_eq!(b.core.get_person(kept.id).unwrap().first_name, "Awa");
    // B can no longer write it: the server refuses changes to a deleted person.
    assert_eq!(code(b.core.delete_person(person.id)), ErrorCode::NotFound);
}
