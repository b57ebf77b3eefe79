//! Two laptops and the real server over HTTP on loopback: convergence, pending edits kept,
//! conflicts on both sides and their resolution, consent withdrawn, revoked device.

mod common;

use common::*;
use tandem_domain::diagnostic::DiagnosticStatus;
use tandem_domain::PersonField;
use tandem_sync_client::SyncError;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_laptops_converge_keep_pending_edits_and_share_one_conflict() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (sa, sb) = (server.structure("A").await, server.structure("B").await);
    let (da, db) = (server.device(sa).await, server.device(sb).await);
    let a = Laptop::new(&server, dir.path(), &da, 1);
    let b = Laptop::new(&server, dir.path(), &db, 2);

    // A creates a person with a diagnostic, shares the file with B.
    let p = a.create_person("Hélène", "Lefèvre");
    a.set(p, PersonField::Phone, "06 12 34 56 78");
    let d = draft(p);
    a.with(|f| f.insert_diagnostic(&d).unwrap());
    a.edit_diagnostic(d.id, &set_place("Médiathèque"));
    let report = a.sync().await.unwrap();
    assert_eq!(report.refused, 0);
    assert!(report.pushed >= 5, "{report:?}");
    assert_eq!(a.with(|f| f.sync_counts().unwrap().pending), 0);
    a.follow_up(p, sb, true).await;
    let report = b.sync().await.unwrap();
    assert!(report.pulled >= 5, "{report:?}");
    assert_eq!(b.view(), a.view());
    assert_eq!(b.person(p).unwrap().phone, "06 12 34 56 78");
    assert_eq!(b.with(|f| f.diagnostic(d.id).unwrap().place), "Médiathèque");

    // Unrelated edits on both sides converge.
    b.set(p, PersonField::Email, "helene@example.fr");
    a.set(p, PersonField::Commune, "Rennes");
    b.edit_diagnostic(d.id, &set_place("Mairie"));
    b.sync().await.unwrap();
    a.sync().await.unwrap();
    b.sync().await.unwrap();
    assert_eq!(a.view(), b.view());
    assert_eq!(a.person(p).unwrap().email, "helene@example.fr");
    assert_eq!(b.person(p).unwrap().commune, "Rennes");
    assert_eq!(a.with(|f| f.diagnostic(d.id).unwrap().place), "Mairie");

    // Both edit the postal code offline; B syncs first.
    a.set(p, PersonField::PostalCode, "35000");
    // B's edit must carry the later stamp: in the same millisecond the order would fall to the
    // laptops' random node ids.
    std::thread::sleep(std::time::Duration::from_millis(5));
    b.set(p, PersonField::PostalCode, "35200");
    b.sync().await.unwrap();
    // A pulls without pushing: its pending edit is not overwritten.
    let cursor = a.with(|f| f.sync_state().unwrap().unwrap().cursor);
    let page = a.client.pull(cursor.as_ref(), 1_000).await.unwrap();
    assert_eq!(page.changes.len(), 1);
    let applied = a.with(|f| f.apply_pull_page(&page).unwrap());
    assert_eq!(applied.kept_local, 1);
    assert_eq!(a.person(p).unwrap().postal_code, "35000");
    assert_eq!(a.with(|f| f.sync_counts().unwrap().pending), 1);

    // A pushes its concurrent edit: one conflict, the later stamp (B's) shows on both, A's
    // value is kept as the loser.
    let report = a.sync().await.unwrap();
    assert_eq!(report.conflicts, 1, "{report:?}");
    b.sync().await.unwrap();
    for laptop in [&a, &b] {
        assert_eq!(laptop.person(p).unwrap().postal_code, "35200");
        let conflicts = laptop.with(|f| f.conflicts().unwrap());
        assert_eq!(conflicts.len(), 1, "{conflicts:?}");
        let c = &conflicts[0];
        assert_eq!(
            (c.person_id, c.record_id, c.register.as_str()),
            (p, p, "postal_code")
        );
        let values: Vec<_> = c
            .values
            .iter()
            .map(|v| (v.value.clone(), v.winner, v.device_id))
            .collect();
        assert_eq!(
            values,
            vec![
                (serde_json::json!("35200"), true, db.id),
                (serde_json::json!("35000"), false, da.id)
            ]
        );
        assert_eq!(laptop.with(|f| f.sync_counts().unwrap().conflicts), 1);
    }
    assert_eq!(a.view(), b.view());

    // B resolves it by choosing A's value; after sync the conflict is closed on both.
    let conflict = b.with(|f| f.conflicts().unwrap()).remove(0);
    let chosen = conflict.values[1].mutation_id;
    b.with(|f| f.resolve_conflict(p, "postal_code", chosen, now()).unwrap());
    assert_eq!(b.person(p).unwrap().postal_code, "35000");
    assert!(b.with(|f| f.conflicts().unwrap())[0].resolving);
    let report = b.sync().await.unwrap();
    assert_eq!(
        (report.conflicts, report.conflicts_closed),
        (0, 1),
        "{report:?}"
    );
    let report = a.sync().await.unwrap();
    assert_eq!(report.conflicts, 0, "{report:?}");
    for laptop in [&a, &b] {
        assert!(laptop.with(|f| f.conflicts().unwrap()).is_empty());
        assert_eq!(laptop.person(p).unwrap().postal_code, "35000");
        laptop.with(|f| f.integrity_check().unwrap());
    }
    assert_eq!(a.view(), b.view());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_withdrawn_removes_the_person_and_their_diagnostics() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (sa, sb) = (server.structure("A").await, server.structure("B").await);
    let (da, db) = (server.device(sa).await, server.device(sb).await);
    let a = Laptop::new(&server, dir.path(), &da, 1);
    let b = Laptop::new(&server, dir.path(), &db, 2);
    let p = a.create_person("Hélène", "Lefèvre");
    let q = a.create_person("Karim", "Benali");
    let draft_d = draft(p);
    let mut finalised = draft(p);
    finalised.status = DiagnosticStatus::Finalised;
    finalised.finalised_at = Some(tandem_domain::diagnostic_rules::timestamp(now()));
    a.with(|f| {
        f.insert_diagnostics(&[draft_d.clone(), finalised.clone()])
            .unwrap()
    });
    a.sync().await.unwrap();
    a.follow_up(p, sb, true).await;
    a.follow_up(q, sb, true).await;
    b.sync().await.unwrap();
    assert_eq!(b.with(|f| f.diagnostics_of_person(p).unwrap().len()), 2);
    assert_eq!(
        b.with(|f| f.diagnostic(finalised.id).unwrap().status),
        DiagnosticStatus::Finalised
    );

    a.follow_up(p, sb, false).await;
    let report = b.sync().await.unwrap();
    assert_eq!(report.removed, 1, "{report:?}");
    assert!(b.person(p).is_none());
    assert!(b.with(|f| f.diagnostics_of_person(p).unwrap()).is_empty());
    assert!(b.with(|f| f.diagnostic(finalised.id)).is_err());
    assert!(b.person(q).is_some(), "only the withdrawn person goes");
    b.with(|f| f.integrity_check().unwrap());
    // A still has everything; a finalised diagnostic is still protected outside sync removal.
    assert_eq!(a.with(|f| f.diagnostics_of_person(p).unwrap().len()), 2);
    // B's next syncs do not bring it back.
    b.sync().await.unwrap();
    assert!(b.person(p).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_device_gets_device_revoked_and_its_data_is_wiped() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let sa = server.structure("A").await;
    let da = server.device(sa).await;
    let a = Laptop::new(&server, dir.path(), &da, 1);
    let p = a.create_person("Hélène", "Lefèvre");
    a.sync().await.unwrap();
    a.set(p, PersonField::Phone, "06 12 34 56 78");
    server.revoke(da.id).await;
    let error = a.sync().await.unwrap_err();
    assert!(matches!(error, SyncError::DeviceRevoked), "{error:?}");
    assert_eq!(error.code(), "device_revoked");
    assert!(a.person(p).is_none());
    assert_eq!(a.with(|f| f.sync_counts().unwrap().pending), 0);
    assert!(a.with(|f| f.sync_state().unwrap()).is_none());
    a.with(|f| f.integrity_check().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_answers_map_to_typed_errors() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let sa = server.structure("A").await;
    let da = server.device(sa).await;
    // Unknown token.
    let mut bad = da.clone();
    bad.token = "not-a-token".into();
    let laptop = Laptop::new(&server, dir.path(), &bad, 3);
    let error = laptop.sync().await.unwrap_err();
    assert!(matches!(error, SyncError::Unauthorized), "{error:?}");
    // Unknown enrolment code.
    let client = tandem_sync_client::ServerClient::new(&server.base, None).unwrap();
    let error = client.enrol("ABCD-EFGH", "portable").await.unwrap_err();
    assert!(
        matches!(error, SyncError::InvalidCode | SyncError::Rejected(_)),
        "{error:?}"
    );
    // Nobody listening.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let offline = tandem_sync_client::ServerClient::new(&format!("http://{closed}"), None)
        .unwrap()
        .with_token("x");
    let error = offline.pull(None, 10).await.unwrap_err();
    assert!(matches!(error, SyncError::Offline), "{error:?}");
    assert!(error.to_string().contains("injoignable"));
    // An old protocol: a server answering 426.
    let old = axum::Router::new().route(
        "/v1/pull",
        axum::routing::get(|| async {
            (
                axum::http::StatusCode::UPGRADE_REQUIRED,
                axum::Json(serde_json::json!({"code": "upgrade_required", "message": "Mise à jour nécessaire"})),
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, old).await.unwrap() });
    let client = tandem_sync_client::ServerClient::new(&format!("http://{addr}"), None)
        .unwrap()
        .with_token("x");
    let error = client.pull(None, 10).await.unwrap_err();
    assert!(matches!(error, SyncError::UpgradeRequired), "{error:?}");
    assert!(error.to_string().starts_with("Mise à jour nécessaire"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_change_is_kept_with_its_reason_and_not_resent() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let sa = server.structure("A").await;
    let da = server.device(sa).await;
    // The case file names another device than the one whose token it holds.
    let mut wrong = da.clone();
    wrong.id = uuid::Uuid::new_v4();
    let a = Laptop::new(&server, dir.path(), &wrong, 1);
    let p = a.create_person("Hélène", "Lefèvre");
    let report = a.sync().await.unwrap();
    assert_eq!((report.pushed, report.refused), (0, 3), "{report:?}");
    let counts = a.with(|f| f.sync_counts().unwrap());
    assert_eq!((counts.pending, counts.refused), (0, 3));
    let refused = a.with(|f| f.refused_changes().unwrap());
    assert!(refused
        .iter()
        .all(|r| r.reason == "wrong_device" && r.change.person_id == p));
    // Not sent again.
    let report = a.sync().await.unwrap();
    assert_eq!((report.pushed, report.refused), (0, 0), "{report:?}");
    assert!(
        a.person(p).is_some(),
        "the local value stays, marked as not saved"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_stamped_by_a_clock_ahead_are_restamped_and_resent() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let sa = server.structure("A").await;
    let da = server.device(sa).await;
    let a = Laptop::new(&server, dir.path(), &da, 1);
    let p = a.create_person("Hélène", "Lefèvre");
    a.sync().await.unwrap();
    // The laptop's clock was an hour ahead when it stamped (its HLC remembers that stamp).
    let raw = rusqlite::Connection::open(&a.path).unwrap();
    raw.execute_batch(&format!(
        "PRAGMA key = \"x'{}'\"; UPDATE sync_clock SET wall_ms = wall_ms + 3600000;",
        "01".repeat(32)
    ))
    .unwrap();
    drop(raw);
    a.set(p, PersonField::Phone, "06 12 34 56 78");
    let stamped = a.with(|f| f.pending_outbox(10).unwrap())[0].hlc.wall_ms;
    assert!(stamped > now().timestamp_millis() as u64 + 3_000_000);
    // Refused `clock_ahead`; the clock is right now, so it is stamped again and accepted.
    let report = a.sync().await.unwrap();
    assert_eq!(
        (report.pushed, report.clock_ahead, report.refused),
        (1, 0, 0),
        "{report:?}"
    );
    let counts = a.with(|f| f.sync_counts().unwrap());
    assert_eq!((counts.pending, counts.refused), (0, 0));
    // The other laptops of the structure get it.
    let b = Laptop::new(&server, dir.path(), &server.device(sa).await, 2);
    b.sync().await.unwrap();
    assert_eq!(b.person(p).unwrap().phone, "06 12 34 56 78");
    assert_eq!(a.view(), b.view());
}
