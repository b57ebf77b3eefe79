//! The server's API against a real socket on loopback.

mod common;

use common::{change, change_at, diagnostic_edit, now_ms, Backend, Server};
use serde_json::{json, Value};
use tandem_server::Role;
use tandem_sync::{Change, Outcome, RefusalReason};
use uuid::Uuid;

fn versions(response: &tandem_sync::PushResponse) -> Vec<u64> {
    response
        .results
        .iter()
        .map(|r| match r.outcome {
            Outcome::Applied { version } | Outcome::Conflict { version, .. } => version,
            ref other => panic!("not applied: {other:?}"),
        })
        .collect()
}

async fn journal(server: &Server) -> Vec<(i64, String, String)> {
    server
        .query(
            "SELECT seq, mutation_id, value FROM changes ORDER BY seq",
            vec![],
        )
        .await
        .iter()
        .map(|r| (r.int(0).unwrap(), r.text(1).unwrap(), r.text(2).unwrap()))
        .collect()
}

async fn push_then_pull_round_trips_in_commit_order_across_pages(backend: Backend) {
    let server = Server::start(backend).await;
    let s = server.structure("CCAS").await;
    let a = server.device(s, Role::Social).await;
    let b = server.device(s, Role::Employment).await;
    let person = Uuid::now_v7();
    let batch = vec![
        change(&a, person, "first_name", json!("Awa"), None),
        change(&a, person, "last_name", json!("Diallo"), None),
        change(&a, person, "phone", json!("0600000000"), None),
    ];
    let pushed = server.push(&a, &batch).await;
    assert_eq!(versions(&pushed), vec![1, 2, 3]);
    let (removals, changes, cursor) = server.pull_all(&b, None, 2).await;
    assert!(removals.is_empty());
    let got: Vec<_> = changes
        .iter()
        .map(|c| (c.version, c.change.clone()))
        .collect();
    let want: Vec<_> = batch
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, c)| (i as u64 + 1, c))
        .collect();
    assert_eq!(got, want);
    // Nothing new: an empty page, same place.
    let again = server.pull_page(&b, Some(&cursor), 10).await;
    assert!(again.changes.is_empty() && !again.has_more);
    assert_eq!(again.cursor, cursor);
}

async fn replays_and_shuffled_batches_with_duplicates_change_nothing(backend: Backend) {
    let server = Server::start(backend).await;
    let s = server.structure("CCAS").await;
    let a = server.device(s, Role::Social).await;
    let person = Uuid::now_v7();
    let batch: Vec<_> = (0..6)
        .map(|i| {
            change(
                &a,
                person,
                ["phone", "email", "address"][i % 3],
                json!(i),
                None,
            )
        })
        .collect();
    server.push(&a, &batch).await;
    let before = journal(&server).await;
    let conflicts_before = server.count("SELECT count(*) FROM conflicts").await;
    let mut shuffled: Vec<_> = batch.iter().rev().cloned().collect();
    shuffled.extend(batch[1..4].iter().cloned());
    shuffled.swap(0, 5);
    let replay = server.push(&a, &shuffled).await;
    assert!(replay
        .results
        .iter()
        .all(|r| matches!(r.outcome, Outcome::Duplicate { .. })));
    server.push(&a, &batch).await;
    assert_eq!(journal(&server).await, before);
    let conflicts_after = server.count("SELECT count(*) FROM conflicts").await;
    assert_eq!(conflicts_after, conflicts_before);
}

async fn two_structures_editing_one_field_make_exactly_one_conflict_keeping_the_loser(
    backend: Backend,
) {
    let server = Server::start(backend).await;
    let (s1, s2) = (
        server.structure("CCAS").await,
        server.structure("Mission locale").await,
    );
    let a = server.device(s1, Role::Social).await;
    let b = server.device(s2, Role::Employment).await;
    let person = Uuid::now_v7();
    let v = versions(
        &server
            .push(&a, &[change(&a, person, "phone", json!("01"), None)])
            .await,
    )[0];
    assert_eq!(server.follow_up(&a, person, s2, true, false).await, 204);
    // Both saw version v, then edit offline; a's edit is later.
    let from_b = change(&b, person, "phone", json!("from b"), Some(v));
    let from_a = change(&a, person, "phone", json!("from a"), Some(v));
    server.push(&a, std::slice::from_ref(&from_a)).await;
    let response = server.push(&b, std::slice::from_ref(&from_b)).await;
    assert_eq!(
        response.results[0].outcome,
        Outcome::Conflict {
            version: 4,
            winner: from_a.mutation_id
        }
    );
    let rows: Vec<(String, String)> = server
        .query(
            "SELECT winner, losers FROM conflicts WHERE closed_seq IS NULL",
            vec![],
        )
        .await
        .iter()
        .map(|r| (r.text(0).unwrap(), r.text(1).unwrap()))
        .collect();
    assert_eq!(
        rows,
        vec![(
            from_a.mutation_id.to_string(),
            json!([from_b.mutation_id]).to_string()
        )]
    );
    // Both structures see both values.
    for dev in [&a, &b] {
        let (_, changes, _) = server.pull_all(dev, None, 100).await;
        let values: Vec<_> = changes.iter().map(|c| c.change.value.clone()).collect();
        assert!(values.contains(&json!("from a")) && values.contains(&json!("from b")));
    }
    // A resolution made after pulling both closes it.
    let resolution = change(&b, person, "phone", json!("agreed"), Some(4));
    let outcome = &server.push(&b, &[resolution]).await.results[0].outcome;
    assert!(matches!(outcome, Outcome::Applied { .. }), "{outcome:?}");
    let open = server
        .count("SELECT count(*) FROM conflicts WHERE closed_seq IS NULL")
        .await;
    assert_eq!(open, 0);
}

async fn a_structure_cannot_read_or_write_another_structures_person_without_consent(
    backend: Backend,
) {
    let server = Server::start(backend).await;
    let (s1, s2) = (server.structure("A").await, server.structure("B").await);
    let a = server.device(s1, Role::Social).await;
    let b = server.device(s2, Role::Social).await;
    let person = Uuid::now_v7();
    server
        .push(
            &b,
            &[change(&b, person, "last_name", json!("Martin"), None)],
        )
        .await;
    // Read: nothing of it in A's pull.
    let (_, changes, _) = server.pull_all(&a, None, 100).await;
    assert!(changes.is_empty());
    // Write: refused, nothing journalled.
    let attempt = server
        .push(&a, &[change(&a, person, "last_name", json!("X"), None)])
        .await;
    assert_eq!(
        attempt.results[0].outcome,
        Outcome::Refused {
            reason: RefusalReason::Forbidden
        }
    );
    assert_eq!(journal(&server).await.len(), 1);
    // Nor may A grant itself access.
    assert_eq!(server.follow_up(&a, person, s1, true, true).await, 403);
    // A device may not speak for another.
    let forged = change(&b, person, "phone", json!("1"), None);
    let attempt = server.push(&a, &[forged]).await;
    assert_eq!(
        attempt.results[0].outcome,
        Outcome::Refused {
            reason: RefusalReason::WrongDevice
        }
    );
    // Social-only notes stay with social devices unless consent says otherwise.
    let e = server.device(s2, Role::Employment).await;
    let (diag, social_note, shared_note) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let note = |id: Uuid, visibility: &str| json!({"kind": "add_note", "id": id, "theme": null, "author": "caseworker", "visibility": visibility, "text": "..."});
    server
        .push(
            &b,
            &[
                diagnostic_edit(&b, person, diag, note(social_note, "social_only")),
                diagnostic_edit(&b, person, diag, note(shared_note, "shared")),
                diagnostic_edit(
                    &b,
                    person,
                    diag,
                    json!({"kind": "edit_note", "id": social_note, "text": "secret"}),
                ),
            ],
        )
        .await;
    let seen = |changes: &[tandem_sync::Versioned]| -> Vec<String> {
        changes
            .iter()
            .filter(|c| c.change.entity == "diagnostic")
            .map(|c| c.change.value["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, changes, _) = server.pull_all(&e, None, 100).await;
    assert_eq!(seen(&changes), vec![shared_note.to_string()]);
    let (_, changes, _) = server.pull_all(&b, None, 100).await;
    assert_eq!(seen(&changes).len(), 3);
    assert_eq!(server.follow_up(&b, person, s2, true, true).await, 204);
    let (_, changes, _) = server.pull_all(&e, None, 100).await;
    assert_eq!(seen(&changes).len(), 3);
}

async fn a_revoked_device_is_refused_and_told_to_wipe(backend: Backend) {
    let server = Server::start(backend).await;
    let s = server.structure("A").await;
    let a = server.device(s, Role::Social).await;
    server.revoke(a.id).await;
    let (status, body) = server
        .call("GET", "/v1/pull", Some(&a.token), Some("1"), None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("device_revoked"))
    );
    let (status, body) = server
        .call("GET", "/v1/pull", Some("not-a-token"), Some("1"), None)
        .await;
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));
}

async fn withdrawn_consent_lists_the_person_in_removals_and_stops_the_flow(backend: Backend) {
    let server = Server::start(backend).await;
    let (s1, s2) = (server.structure("A").await, server.structure("B").await);
    let a = server.device(s1, Role::Social).await;
    let b = server.device(s2, Role::Social).await;
    let person = Uuid::now_v7();
    server
        .push(
            &a,
            &[change(&a, person, "last_name", json!("Martin"), None)],
        )
        .await;
    assert_eq!(server.follow_up(&a, person, s2, true, false).await, 204);
    let (removals, changes, cursor) = server.pull_all(&b, None, 100).await;
    assert_eq!(
        (removals.len(), changes.len()),
        (0, 1),
        "granted later, history included"
    );
    assert_eq!(server.follow_up(&a, person, s2, false, false).await, 204);
    server
        .push(&a, &[change(&a, person, "phone", json!("06"), None)])
        .await;
    let (removals, changes, cursor) = server.pull_all(&b, Some(cursor), 100).await;
    assert_eq!(removals, vec![person]);
    assert!(changes.is_empty());
    let (removals, _, _) = server.pull_all(&b, Some(cursor), 100).await;
    assert!(removals.is_empty(), "listed once");
    // B can no longer write either.
    let attempt = server
        .push(&b, &[change(&b, person, "phone", json!("x"), None)])
        .await;
    assert_eq!(
        attempt.results[0].outcome,
        Outcome::Refused {
            reason: RefusalReason::Forbidden
        }
    );
}

async fn an_old_client_is_told_to_upgrade(backend: Backend) {
    let server = Server::start(backend).await;
    let s = server.structure("A").await;
    let a = server.device(s, Role::Social).await;
    for protocol in [Some("0"), None, Some("garbage")] {
        let (status, body) = server
            .call("GET", "/v1/pull", Some(&a.token), protocol, None)
            .await;
        assert_eq!(status, 426);
        assert_eq!(body["code"], "upgrade_required");
        assert!(body["message"]
            .as_str()
            .unwrap()
            .starts_with("Mise à jour nécessaire"));
    }
    let (status, _) = server
        .call(
            "POST",
            "/v1/push",
            Some(&a.token),
            Some("0"),
            Some(json!({"changes": []})),
        )
        .await;
    assert_eq!(status, 426);
}

async fn a_clock_a_year_ahead_cannot_win(backend: Backend) {
    let server = Server::start(backend).await;
    let s = server.structure("A").await;
    let (a, b) = (
        server.device(s, Role::Social).await,
        server.device(s, Role::Social).await,
    );
    let person = Uuid::now_v7();
    server
        .push(&a, &[change(&a, person, "phone", json!("honest"), None)])
        .await;
    let year = 365 * 24 * 3600 * 1000;
    let ahead = change_at(
        &b,
        person,
        "phone",
        json!("from the future"),
        None,
        now_ms() + year,
    );
    let response = server.push(&b, &[ahead]).await;
    assert_eq!(
        response.results[0].outcome,
        Outcome::Refused {
            reason: RefusalReason::ClockAhead
        }
    );
    assert!(response.server_time_ms > 0);
    let values: Vec<_> = journal(&server)
        .await
        .into_iter()
        .map(|(_, _, v)| v)
        .collect();
    assert_eq!(values, vec!["\"honest\""]);
    // Within the drift bound, accepted.
    let slightly = change_at(&b, person, "phone", json!("ok"), Some(1), now_ms() + 60_000);
    assert!(matches!(
        server.push(&b, &[slightly]).await.results[0].outcome,
        Outcome::Applied { .. }
    ));
}

async fn a_server_dying_mid_batch_applies_nothing(backend: Backend) {
    let server = Server::start(backend).await;
    let s = server.structure("A").await;
    let a = server.device(s, Role::Social).await;
    let person = Uuid::now_v7();
    let batch: Vec<_> = (0..5)
        .map(|i| change(&a, person, "phone", json!(i), None))
        .collect();
    server.inject_fault_after(Some(4)).await;
    let body = json!({ "changes": batch });
    let (status, reply) = server
        .call("POST", "/v1/push", Some(&a.token), Some("1"), Some(body))
        .await;
    assert_eq!((status, reply["code"].as_str()), (500, Some("internal")));
    assert!(journal(&server).await.is_empty());
    let status = server.state.with_store(|st| st.status()).await.unwrap();
    assert_eq!(
        (status.persons, status.audit_rows, status.head_seq),
        (0, 0, 0)
    );
    server.inject_fault_after(None).await;
    assert_eq!(
        versions(&server.push(&a, &batch).await),
        vec![1, 2, 3, 4, 5]
    );
}

async fn the_audit_chain_verifies_and_tampering_breaks_it(backend: Backend) {
    let server = Server::start(backend).await;
    let s = server.structure("A").await;
    let a = server.device(s, Role::Social).await;
    for i in 0..3 {
        let person = Uuid::now_v7();
        server
            .push(&a, &[change(&a, person, "phone", json!(i), None)])
            .await;
        server.pull_all(&a, None, 100).await;
    }
    let rows = server.count("SELECT count(*) FROM audit").await;
    assert!(rows >= 6);
    let ok = server.cli(&["admin", "audit", "verify"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    // The triggers refuse changes to the log.
    let tamper = "UPDATE audit SET record = 'person:nobody' WHERE seq = 3";
    let refused = server
        .state
        .with_store(move |st| Ok(st.db_mut().batch(tamper).is_err()))
        .await
        .unwrap();
    assert!(refused, "the audit log took an UPDATE");
    // Updating needs the trigger gone: what someone with the database in hand would do.
    let drop_trigger = match backend {
        Backend::Sqlite => "DROP TRIGGER audit_no_update",
        Backend::Postgres => "DROP TRIGGER audit_no_update ON audit",
    };
    server.batch(drop_trigger).await;
    server.batch(tamper).await;
    let broken = server.cli(&["admin", "audit", "verify"]);
    assert_eq!(broken.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&broken.stdout).trim(),
        "audit chain broken at seq 3"
    );
}

async fn the_openapi_document_lists_every_endpoint(backend: Backend) {
    let server = Server::start(backend).await;
    let (status, doc) = server.call("GET", "/openapi.json", None, None, None).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/v1/push",
        "/v1/pull",
        "/v1/follow-up",
        "/v1/enrol",
        "/v1/structures",
        "/v1/authors",
        "/openapi.json",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path}");
    }
}

async fn plain_http_is_refused_off_loopback_and_admin_commands_work(backend: Backend) {
    let server = Server::start(backend).await;
    let run = |args: &[&str]| server.cli(args);
    let refused = run(&["serve", "--listen", "0.0.0.0:7878"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("only loopback"));
    // A structure kind outside the SPIE's list is refused with the list.
    let unknown = run(&["admin", "structure", "add", "Mairie", "--kind", "mairie"]);
    assert_eq!(unknown.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        stderr.contains("unknown structure kind: mairie"),
        "{stderr}"
    );
    assert!(stderr.contains("mission_locale"), "{stderr}");
    let out = run(&[
        "admin",
        "structure",
        "add",
        "CCAS de Lille",
        "--kind",
        "ccas",
    ]);
    let structure = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let out = run(&[
        "admin",
        "device",
        "add",
        "--structure",
        &structure,
        "--name",
        "pc-1",
        "--role",
        "social",
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    let device = text
        .lines()
        .next()
        .unwrap()
        .strip_prefix("device ")
        .unwrap()
        .to_string();
    assert!(text.lines().nth(1).unwrap().starts_with("token "));
    assert!(run(&["admin", "device", "revoke", &device])
        .status
        .success());
    let status = String::from_utf8(run(&["admin", "status"]).stdout).unwrap();
    assert!(
        status.contains("structures 1") && status.contains("devices 1 (1 revoked)"),
        "{status}"
    );
}

fn refused(reason: RefusalReason) -> Outcome {
    Outcome::Refused { reason }
}

/// A whole-diagnostic `create`, journalled like the app does: field = "create", value = the
/// diagnostic (only the parts the server looks at).
fn diagnostic_create(dev: &common::Dev, person: Uuid, diagnostic: Uuid, value: Value) -> Change {
    Change {
        entity: "diagnostic".into(),
        record_id: diagnostic,
        field: "create".into(),
        value,
        ..change(dev, person, "", Value::Null, None)
    }
}

async fn a_finalised_diagnostic_never_changes_again(backend: Backend) {
    let server = Server::start(backend).await;
    let (s1, s2) = (server.structure("A").await, server.structure("B").await);
    let a = server.device(s1, Role::Social).await;
    let b = server.device(s2, Role::Social).await;
    let person = Uuid::now_v7();
    let diag = Uuid::now_v7();
    let set_place = |dev: &common::Dev, place: &str| {
        diagnostic_edit(
            dev,
            person,
            diag,
            json!({"kind": "set_field", "field": "place", "value": place}),
        )
    };
    let finalise = diagnostic_edit(&a, person, diag, json!({"kind": "finalise"}));
    // In one batch: edits before the finalise apply, the one after it is refused.
    let batch = vec![
        set_place(&a, "CCAS"),
        finalise.clone(),
        set_place(&a, "late"),
    ];
    let outcomes: Vec<_> = server
        .push(&a, &batch)
        .await
        .results
        .into_iter()
        .map(|r| r.outcome)
        .collect();
    assert!(matches!(outcomes[0], Outcome::Applied { .. }));
    assert!(matches!(outcomes[1], Outcome::Applied { .. }));
    assert_eq!(outcomes[2], refused(RefusalReason::Finalised));
    let before = journal(&server).await;
    assert_eq!(before.len(), 2);
    // Later, from any structure with access, whatever the edit: refused, nothing journalled.
    assert_eq!(server.follow_up(&a, person, s2, true, true).await, 204);
    let note = json!({"kind": "add_note", "id": Uuid::now_v7(), "theme": null,
                      "author": "caseworker", "visibility": "shared", "text": "après"});
    let later = vec![
        set_place(&b, "Mairie"),
        diagnostic_edit(&b, person, diag, note),
        diagnostic_edit(&b, person, diag, json!({"kind": "finalise"})),
        diagnostic_create(
            &b,
            person,
            diag,
            json!({"id": diag, "status": "draft", "notes": []}),
        ),
    ];
    let response = server.push(&b, &later).await;
    for result in &response.results {
        assert_eq!(result.outcome, refused(RefusalReason::Finalised));
    }
    assert_eq!(journal(&server).await.len(), before.len());
    // A replay of the finalise itself is still a duplicate.
    assert_eq!(
        server.push(&a, &[finalise]).await.results[0].outcome,
        Outcome::Duplicate { version: 2 }
    );
    // A diagnostic created already finalised is closed from its first change.
    let closed = Uuid::now_v7();
    let create = diagnostic_create(
        &a,
        person,
        closed,
        json!({"id": closed, "status": "finalised", "notes": []}),
    );
    assert!(matches!(
        server.push(&a, &[create]).await.results[0].outcome,
        Outcome::Applied { .. }
    ));
    let edit = diagnostic_edit(
        &a,
        person,
        closed,
        json!({"kind": "set_grade", "theme": "logement", "grade": 2}),
    );
    assert_eq!(
        server.push(&a, &[edit]).await.results[0].outcome,
        refused(RefusalReason::Finalised)
    );
    // Other records of the person are not affected.
    let phone = change(&a, person, "phone", json!("06"), None);
    assert!(matches!(
        server.push(&a, &[phone]).await.results[0].outcome,
        Outcome::Applied { .. }
    ));
    // Nothing refused was audited as written: one write row per applying push.
    let writes = server
        .count("SELECT count(*) FROM audit WHERE action = 'write' AND record LIKE 'diagnostic:%'")
        .await;
    assert_eq!(writes, 2);
}

async fn an_employment_device_may_not_write_social_only_notes_without_consent(backend: Backend) {
    let server = Server::start(backend).await;
    let (s1, s2) = (
        server.structure("CCAS").await,
        server.structure("Mission locale").await,
    );
    let a = server.device(s1, Role::Social).await;
    let e = server.device(s2, Role::Employment).await;
    let person = Uuid::now_v7();
    let diag = Uuid::now_v7();
    let add = |dev: &common::Dev, id: Uuid, visibility: &str| {
        diagnostic_edit(
            dev,
            person,
            diag,
            json!({"kind": "add_note", "id": id, "theme": null, "author": "caseworker",
                   "visibility": visibility, "text": "..."}),
        )
    };
    let edit = |dev: &common::Dev, id: Uuid, text: &str| {
        diagnostic_edit(
            dev,
            person,
            diag,
            json!({"kind": "edit_note", "id": id, "text": text}),
        )
    };
    let visibility = |dev: &common::Dev, id: Uuid, visibility: &str| {
        diagnostic_edit(
            dev,
            person,
            diag,
            json!({"kind": "set_note_visibility", "id": id, "visibility": visibility}),
        )
    };
    let (social, shared) = (Uuid::now_v7(), Uuid::now_v7());
    server
        .push(
            &a,
            &[add(&a, social, "social_only"), add(&a, shared, "shared")],
        )
        .await;
    assert_eq!(server.follow_up(&a, person, s2, true, false).await, 204);
    let before = journal(&server).await.len();

    // Creating, editing, removing, unveiling a social-only note, or making one: refused.
    let other = Uuid::now_v7();
    let note_in_create = Uuid::now_v7();
    let attempts = vec![
        add(&e, Uuid::now_v7(), "social_only"),
        edit(&e, social, "changed"),
        visibility(&e, social, "shared"),
        diagnostic_edit(
            &e,
            person,
            diag,
            json!({"kind": "remove_note", "id": social}),
        ),
        visibility(&e, shared, "social_only"),
        diagnostic_create(
            &e,
            person,
            other,
            json!({"id": other, "status": "draft", "notes": [
                {"id": note_in_create, "visibility": "social_only", "text": "..."}]}),
        ),
    ];
    let response = server.push(&e, &attempts).await;
    for (i, result) in response.results.iter().enumerate() {
        assert_eq!(
            result.outcome,
            refused(RefusalReason::SocialOnly),
            "attempt {i}"
        );
    }
    assert_eq!(journal(&server).await.len(), before);
    // Shared notes stay open to it.
    let ok = vec![add(&e, Uuid::now_v7(), "shared"), edit(&e, shared, "ok")];
    for result in server.push(&e, &ok).await.results {
        assert!(matches!(result.outcome, Outcome::Applied { .. }));
    }

    // A social-only note carried by a `create` is protected (and hidden) as well.
    let (carried, carried_note) = (Uuid::now_v7(), Uuid::now_v7());
    let create = diagnostic_create(
        &a,
        person,
        carried,
        json!({"id": carried, "status": "draft", "notes": [
            {"id": carried_note, "visibility": "social_only", "text": "secret"}]}),
    );
    let social_edit = diagnostic_edit(
        &a,
        person,
        carried,
        json!({"kind": "edit_note", "id": carried_note, "text": "still secret"}),
    );
    server.push(&a, &[create, social_edit]).await;
    let attempt = diagnostic_edit(
        &e,
        person,
        carried,
        json!({"kind": "edit_note", "id": carried_note, "text": "x"}),
    );
    assert_eq!(
        server.push(&e, &[attempt]).await.results[0].outcome,
        refused(RefusalReason::SocialOnly)
    );
    let (_, pulled, _) = server.pull_all(&e, None, 100).await;
    assert!(pulled
        .iter()
        .all(|c| !c.change.value.to_string().contains("secret")));

    // Once the person shares social notes with the structure, it may.
    assert_eq!(server.follow_up(&a, person, s2, true, true).await, 204);
    let response = server
        .push(
            &e,
            &[
                edit(&e, social, "changed"),
                add(&e, Uuid::now_v7(), "social_only"),
            ],
        )
        .await;
    for result in response.results {
        assert!(matches!(result.outcome, Outcome::Applied { .. }));
    }
}

async fn malformed_bodies_get_the_protocol_error_body(backend: Backend) {
    let server = Server::start(backend).await;
    let s = server.structure("A").await;
    let a = server.device(s, Role::Social).await;
    let cases = [
        ("POST", "/v1/push", "{not json".to_string()),
        ("POST", "/v1/push", json!({"changes": "none"}).to_string()),
        (
            "POST",
            "/v1/push",
            json!({"changes": [{"entity": 3}]}).to_string(),
        ),
        ("POST", "/v1/push", String::new()),
        (
            "POST",
            "/v1/follow-up",
            json!({"person_id": "x"}).to_string(),
        ),
        ("GET", "/v1/pull?limit=many", String::new()),
    ];
    for (method, path, body) in cases {
        let (status, reply) = server
            .call_raw(method, path, Some(&a.token), Some("1"), body.clone())
            .await;
        assert_eq!(status, 400, "{path} {body}: {reply}");
        assert_eq!(reply["code"], "bad_request", "{path} {body}: {reply}");
        assert!(
            reply["message"]
                .as_str()
                .unwrap()
                .starts_with("Requête invalide : "),
            "{reply}"
        );
    }
    assert!(journal(&server).await.is_empty());
}

/// A caseworker account and a code for it, issued from the admin command line.
fn issue_code(server: &Server, structure: Uuid, name: &str, role: &str) -> (Uuid, String) {
    let out = server.cli(&[
        "admin",
        "caseworker",
        "add",
        "--structure",
        &structure.to_string(),
        "--name",
        name,
        "--role",
        role,
    ]);
    assert!(out.status.success(), "{out:?}");
    let caseworker = Uuid::parse_str(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    let out = server.cli(&[
        "admin",
        "enrolment",
        "add",
        "--caseworker",
        &caseworker.to_string(),
    ]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let code = text
        .lines()
        .find_map(|l| l.strip_prefix("code "))
        .unwrap()
        .to_string();
    (caseworker, code)
}

async fn enrol(server: &Server, code: &str, protocol: Option<&str>) -> (u16, Value) {
    let body = json!({"code": code, "device_name": "PC-ACCUEIL-2"});
    server
        .call("POST", "/v1/enrol", None, protocol, Some(body))
        .await
}

async fn a_caseworker_enrols_a_laptop_with_a_one_time_code(backend: Backend) {
    let server = Server::start(backend).await;
    let s = server.structure("CCAS de Roubaix").await;
    let (caseworker, code) = issue_code(&server, s, "Awa Diallo", "social");
    // Easy to read aloud and type: 4 groups of 4 symbols, no 0/O or 1/I.
    let groups: Vec<&str> = code.split('-').collect();
    assert_eq!(groups.len(), 4, "{code}");
    assert!(groups.iter().all(|g| g.len() == 4
        && g.chars()
            .all(|c| "23456789ABCDEFGHJKLMNPQRSTUVWXYZ".contains(c))));

    // The protocol header is checked first, as for every /v1 route.
    assert_eq!(enrol(&server, &code, None).await.0, 426);
    let (status, body) = enrol(&server, "2345-6789-ABCD-EFGH", Some("1")).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_code")));
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("code d'enrôlement"));

    // Typed in lower case without the dashes: still the code.
    let typed = code.replace('-', " ").to_lowercase();
    let (status, body) = enrol(&server, &typed, Some("1")).await;
    assert_eq!(status, 200, "{body}");
    let enrolled: tandem_sync::EnrolResponse = serde_json::from_value(body).unwrap();
    assert_eq!(enrolled.structure_id, s);
    assert_eq!(enrolled.structure_name, "CCAS de Roubaix");
    assert_eq!(enrolled.caseworker_name, "Awa Diallo");
    assert_eq!(enrolled.role, "social");
    assert!(enrolled.server_time_ms > 0);
    // The credential works, and the device acts for the caseworker's structure.
    let dev = common::Dev {
        id: enrolled.device_id,
        token: enrolled.token.clone(),
        structure: s,
    };
    let person = Uuid::now_v7();
    let pushed = server
        .push(&dev, &[change(&dev, person, "phone", json!("06"), None)])
        .await;
    assert!(matches!(pushed.results[0].outcome, Outcome::Applied { .. }));
    // Used: never again.
    let (status, body) = enrol(&server, &code, Some("1")).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_code")));
    // Only hashes are stored, and the enrolment is audited.
    let stored = server
        .count(&format!(
            "SELECT count(*) FROM enrolment_codes WHERE code_hash LIKE '%{}%'",
            code.replace('-', "")
        ))
        .await;
    assert_eq!(stored, 0);
    let audited = server
        .count(&format!(
            "SELECT count(*) FROM audit WHERE record = 'device:{}'",
            enrolled.device_id
        ))
        .await;
    assert_eq!(audited, 1);
    // admin status lists the device with its structure and caseworker.
    let status = String::from_utf8(server.cli(&["admin", "status"]).stdout).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with(&format!("device {}", enrolled.device_id)))
        .unwrap_or_else(|| panic!("{status}"));
    assert!(
        line.contains("CCAS de Roubaix")
            && line.contains(&format!("Awa Diallo ({caseworker})"))
            && line.contains("role social")
            && !line.contains("revoked"),
        "{line}"
    );
    // Another device names this one's author: the caseworker and the structure, for the
    // conflicts screen; an unknown id is left out, a malformed one is a 400.
    let other = server.device(s, Role::Employment).await;
    let unknown = Uuid::now_v7();
    let (answer, body) = server
        .call(
            "GET",
            &format!(
                "/v1/authors?ids={},{unknown},{}",
                enrolled.device_id, other.id
            ),
            Some(&other.token),
            Some(&tandem_sync::PROTOCOL_VERSION.to_string()),
            None,
        )
        .await;
    assert_eq!(answer, 200, "{body}");
    let authors: Vec<tandem_sync::AuthorInfo> = serde_json::from_value(body).unwrap();
    assert_eq!(
        authors,
        [
            tandem_sync::AuthorInfo {
                device_id: enrolled.device_id,
                name: "Awa Diallo".into(),
                structure: "CCAS de Roubaix".into(),
            },
            tandem_sync::AuthorInfo {
                device_id: other.id,
                name: "laptop".into(),
                structure: "CCAS de Roubaix".into(),
            }
        ]
    );
    let (answer, body) = server
        .call(
            "GET",
            "/v1/authors?ids=abc",
            Some(&other.token),
            Some(&tandem_sync::PROTOCOL_VERSION.to_string()),
            None,
        )
        .await;
    assert_eq!(
        (answer, body["code"].as_str()),
        (400, Some("bad_request")),
        "{body}"
    );
    let (answer, _) = server
        .call(
            "GET",
            &format!("/v1/authors?ids={unknown}"),
            None,
            Some(&tandem_sync::PROTOCOL_VERSION.to_string()),
            None,
        )
        .await;
    assert_eq!(answer, 401);
    assert!(status.contains("caseworkers 1"), "{status}");
    // An expired code does not work either.
    let expired = server
        .state
        .with_store(move |st| {
            st.add_enrolment_code(caseworker, 1, tandem_server::now_ms() - 2 * 3_600_000)
        })
        .await
        .unwrap();
    let (status, body) = enrol(&server, &expired.code, Some("1")).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_code")));
    // Nor a code for an unknown caseworker, nor an empty device name.
    assert!(server
        .state
        .with_store(|st| st.add_enrolment_code(Uuid::now_v7(), 72, tandem_server::now_ms()))
        .await
        .is_err());
    let (_, fresh) = issue_code(&server, s, "Léa Martin", "employment");
    let (status, body) = server
        .call(
            "POST",
            "/v1/enrol",
            None,
            Some("1"),
            Some(json!({"code": fresh, "device_name": "  "})),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("bad_request")));
    let (status, body) = enrol(&server, &fresh, Some("1")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["role"], "employment");
}

async fn a_code_works_once_even_under_concurrent_requests(backend: Backend) {
    let server = Server::start(backend).await;
    let s = server.structure("Mission locale").await;
    let (_, code) = issue_code(&server, s, "Léa Martin", "employment");
    let (r1, r2, r3, r4) = tokio::join!(
        enrol(&server, &code, Some("1")),
        enrol(&server, &code, Some("1")),
        enrol(&server, &code, Some("1")),
        enrol(&server, &code, Some("1")),
    );
    let answers = [r1, r2, r3, r4];
    let ok = answers.iter().filter(|(status, _)| *status == 200).count();
    let refused = answers
        .iter()
        .filter(|(status, body)| *status == 400 && body["code"] == "invalid_code")
        .count();
    assert_eq!((ok, refused), (1, 3), "{answers:?}");
    let devices = server
        .count("SELECT count(*) FROM devices WHERE caseworker_id IS NOT NULL")
        .await;
    assert_eq!(devices, 1);
}

async fn deleting_a_person_is_a_tombstone_that_removes_it_everywhere(backend: Backend) {
    let server = Server::start(backend).await;
    let (s1, s2) = (server.structure("A").await, server.structure("B").await);
    let a = server.device(s1, Role::Social).await;
    let b = server.device(s2, Role::Employment).await;
    let person = Uuid::now_v7();
    server
        .push(
            &a,
            &[change(&a, person, "last_name", json!("Martin"), None)],
        )
        .await;
    assert_eq!(server.follow_up(&a, person, s2, true, false).await, 204);
    let (_, changes, cursor_b) = server.pull_all(&b, None, 100).await;
    assert_eq!(changes.len(), 1);
    let (_, _, cursor_a) = server.pull_all(&a, None, 100).await;

    // Only `true` deletes.
    let other = Uuid::now_v7();
    server
        .push(&a, &[change(&a, other, "last_name", json!("Durand"), None)])
        .await;
    let undelete = change(&a, other, "deleted", json!(false), None);
    assert_eq!(
        server.push(&a, &[undelete]).await.results[0].outcome,
        refused(RefusalReason::Invalid)
    );

    let tombstone = change(&a, person, "deleted", json!(true), None);
    let after = change(&a, person, "phone", json!("06"), None);
    let outcomes: Vec<_> = server
        .push(&a, &[tombstone.clone(), after])
        .await
        .results
        .into_iter()
        .map(|r| r.outcome)
        .collect();
    assert!(
        matches!(outcomes[0], Outcome::Applied { .. }),
        "{outcomes:?}"
    );
    assert_eq!(outcomes[1], refused(RefusalReason::Forbidden));
    // Kept on the server as a tombstone.
    let kept = server
        .query(
            "SELECT value FROM changes WHERE person_id = ?1 AND field = 'deleted'",
            vec![person.into()],
        )
        .await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].text(0).unwrap(), "true");
    // Every device that had the person is told to remove it, and gets nothing more of it.
    for (dev, cursor) in [(&a, cursor_a), (&b, cursor_b)] {
        let (removals, changes, _) = server.pull_all(dev, Some(cursor), 100).await;
        assert_eq!(removals, vec![person]);
        assert!(changes.iter().all(|c| c.change.person_id != person));
    }
    let (_, fresh, _) = server.pull_all(&b, None, 100).await;
    assert!(fresh.iter().all(|c| c.change.person_id != person));
    // Later changes are refused, from anyone; so is a follow-up request.
    for dev in [&a, &b] {
        let late = change(dev, person, "phone", json!("07"), None);
        assert_eq!(
            server.push(dev, &[late]).await.results[0].outcome,
            refused(RefusalReason::Forbidden)
        );
    }
    assert_eq!(server.follow_up(&a, person, s1, true, true).await, 403);
    // A replay of the tombstone is a duplicate.
    assert!(matches!(
        server.push(&a, &[tombstone]).await.results[0].outcome,
        Outcome::Duplicate { .. }
    ));
}

async fn erasing_a_person_purges_it_and_tells_every_device(backend: Backend) {
    let server = Server::start(backend).await;
    let (s1, s2, s3) = (
        server.structure("A").await,
        server.structure("B").await,
        server.structure("C").await,
    );
    let a = server.device(s1, Role::Social).await;
    let b = server.device(s2, Role::Social).await;
    let c = server.device(s3, Role::Social).await;
    let (person, kept) = (Uuid::now_v7(), Uuid::now_v7());
    let (diag, note) = (Uuid::now_v7(), Uuid::now_v7());
    let v = versions(
        &server
            .push(
                &a,
                &[
                    change(&a, person, "phone", json!("01"), None),
                    change(&a, kept, "phone", json!("02"), None),
                    diagnostic_edit(
                        &a,
                        person,
                        diag,
                        json!({"kind": "add_note", "id": note, "theme": null,
                               "author": "caseworker", "visibility": "social_only",
                               "text": "secret"}),
                    ),
                ],
            )
            .await,
    )[0];
    assert_eq!(server.follow_up(&a, person, s2, true, false).await, 204);
    assert_eq!(server.follow_up(&a, person, s3, true, false).await, 204);
    // A conflict on the person's phone.
    server
        .push(&a, &[change(&a, person, "phone", json!("a"), Some(v))])
        .await;
    server
        .push(&b, &[change(&b, person, "phone", json!("b"), Some(v))])
        .await;
    let (_, _, cursor_a) = server.pull_all(&a, None, 100).await;
    let (_, pulled, cursor_b) = server.pull_all(&b, None, 100).await;
    assert!(pulled.iter().any(|c| c.change.person_id == person));
    // C's consent is withdrawn, and C has not pulled since: it must still hear of it.
    assert_eq!(server.follow_up(&a, person, s3, false, false).await, 204);
    let audit_before = server.count("SELECT count(*) FROM audit").await;
    let count_of = |table: &'static str| {
        let server = &server;
        async move {
            server
                .query(
                    &format!("SELECT count(*) FROM {table} WHERE person_id = ?1"),
                    vec![person.into()],
                )
                .await[0]
                .int(0)
                .unwrap()
        }
    };
    assert!(count_of("conflicts").await == 1 && count_of("changes").await == 4);

    let out = server.cli(&["admin", "person", "erase", &person.to_string()]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("4 journal entries purged, 3 structures"),
        "{text}"
    );

    for table in ["changes", "conflicts", "follow_up", "records"] {
        assert_eq!(count_of(table).await, 0, "{table}");
    }
    let notes = server
        .query(
            "SELECT count(*) FROM notes WHERE note_id = ?1",
            vec![note.into()],
        )
        .await[0]
        .int(0)
        .unwrap();
    assert_eq!(notes, 0);
    // Nothing personal is left in the database: no value of the person's file, anywhere.
    let values = server
        .count("SELECT count(*) FROM changes WHERE value LIKE '%secret%' OR value = '\"a\"'")
        .await;
    assert_eq!(values, 0);
    // Other persons are untouched; audit rows are kept and the chain still verifies.
    let others = server
        .query(
            "SELECT count(*) FROM changes WHERE person_id = ?1",
            vec![kept.into()],
        )
        .await[0]
        .int(0)
        .unwrap();
    assert_eq!(others, 1);
    assert_eq!(
        server.count("SELECT count(*) FROM audit").await,
        audit_before + 1
    );
    let verify = server.cli(&["admin", "audit", "verify"]);
    assert!(verify.status.success(), "{verify:?}");

    // Every device that had the person removes it.
    for (dev, cursor) in [(&a, Some(cursor_a)), (&b, Some(cursor_b)), (&c, None)] {
        let (removals, changes, _) = server.pull_all(dev, cursor, 100).await;
        assert!(removals.contains(&person), "{removals:?}");
        assert!(changes.iter().all(|c| c.change.person_id != person));
    }
    // A laptop that was offline cannot bring it back.
    let late = change(&a, person, "phone", json!("03"), None);
    assert_eq!(
        server.push(&a, &[late]).await.results[0].outcome,
        refused(RefusalReason::Forbidden)
    );
    assert_eq!(count_of("changes").await, 0);
    // Unknown person: an error, exit 2.
    let unknown = server.cli(&["admin", "person", "erase", &Uuid::now_v7().to_string()]);
    assert_eq!(unknown.status.code(), Some(2));
}

/// Several connections writing at once (as several server processes on one database would)
/// while another pulls: commit sequence numbers are committed in order, so a reader's cursor
/// never moves past a change that commits later.
async fn concurrent_writers_never_let_a_cursor_skip_a_change(backend: Backend) {
    let server = Server::start(backend).await;
    let s = server.structure("A").await;
    let writers = [
        server.device(s, Role::Social).await,
        server.device(s, Role::Social).await,
    ];
    let reader = server.device(s, Role::Social).await;
    let open = {
        let (dir, url) = (server.dir.path().to_path_buf(), server.database_url.clone());
        move || match &url {
            None => tandem_server::Store::open(&dir).unwrap(),
            Some(url) => tandem_server::Store::open_postgres(url).unwrap(),
        }
    };
    const BATCHES: usize = 30;
    const PER_BATCH: usize = 3;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Both writers are open (opening takes the write lock once) before either starts pushing.
    let ready = std::sync::Arc::new(std::sync::Barrier::new(writers.len()));
    let handles: Vec<_> = writers
        .iter()
        .cloned()
        .map(|dev| {
            let (open, ready) = (open.clone(), ready.clone());
            std::thread::spawn(move || {
                let mut store = open();
                let device = store.authenticate(&dev.token).unwrap().unwrap();
                ready.wait();
                for _ in 0..BATCHES {
                    let person = Uuid::now_v7();
                    let batch: Vec<_> = (0..PER_BATCH)
                        .map(|i| change(&dev, person, &format!("f{i}"), json!(i), None))
                        .collect();
                    let results = store
                        .push(&device, &batch, tandem_server::now_ms())
                        .unwrap();
                    assert!(results
                        .iter()
                        .all(|r| matches!(r.outcome, Outcome::Applied { .. })));
                }
            })
        })
        .collect();
    let pulling = {
        let (open, done, token) = (open.clone(), done.clone(), reader.token.clone());
        std::thread::spawn(move || {
            let mut store = open();
            let device = store.authenticate(&token).unwrap().unwrap();
            let (mut cursor, mut seen) = (None, Vec::new());
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                loop {
                    let page = store
                        .pull(&device, cursor.as_ref(), Some(7), tandem_server::now_ms())
                        .unwrap();
                    seen.extend(page.changes.iter().map(|c| c.version));
                    cursor = Some(page.cursor);
                    if !page.has_more {
                        break;
                    }
                }
                if finished {
                    return seen;
                }
            }
        })
    };
    let joined = tokio::task::spawn_blocking(move || {
        for handle in handles {
            handle.join().unwrap();
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        pulling.join().unwrap()
    })
    .await
    .unwrap();
    let total = (2 * BATCHES * PER_BATCH) as u64;
    assert_eq!(joined, (1..=total).collect::<Vec<_>>());
    let verify = server.cli(&["admin", "audit", "verify"]);
    assert!(verify.status.success(), "{verify:?}");
}

/// The schema of the first release (version 1: no caseworker accounts, no tombstones).
const SCHEMA_V1: &str = r#"
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
);
INSERT OR IGNORE INTO meta (key, value) VALUES ('seq', 0), ('schema', 1);

CREATE TABLE IF NOT EXISTS structures (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS devices (
    id           TEXT PRIMARY KEY NOT NULL,
    structure_id TEXT NOT NULL REFERENCES structures (id),
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('social', 'employment')),
    token_hash   TEXT NOT NULL UNIQUE,
    revoked      INTEGER NOT NULL DEFAULT 0,
    created_ms   INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS persons (
    id          TEXT PRIMARY KEY NOT NULL,
    created_by  TEXT NOT NULL REFERENCES structures (id),
    created_seq INTEGER NOT NULL
);

-- The person's follow-up group. granted_seq: when the structure last gained (or changed) what it
-- may see; revoked_seq: when it last lost (or changed) it. Both are commit sequence numbers.
CREATE TABLE IF NOT EXISTS follow_up (
    person_id          TEXT NOT NULL REFERENCES persons (id),
    structure_id       TEXT NOT NULL REFERENCES structures (id),
    consent            INTEGER NOT NULL,
    share_social_notes INTEGER NOT NULL,
    granted_seq        INTEGER,
    revoked_seq        INTEGER,
    PRIMARY KEY (person_id, structure_id)
);
CREATE INDEX IF NOT EXISTS follow_up_by_structure ON follow_up (structure_id, revoked_seq);

-- Which person a record belongs to: a record never moves to another person.
CREATE TABLE IF NOT EXISTS records (
    entity    TEXT NOT NULL,
    record_id TEXT NOT NULL,
    person_id TEXT NOT NULL REFERENCES persons (id),
    PRIMARY KEY (entity, record_id)
);

-- The journal. seq is the commit sequence number, allocated from meta inside the writing
-- transaction; it is also the change's version.
CREATE TABLE IF NOT EXISTS changes (
    seq          INTEGER PRIMARY KEY NOT NULL,
    mutation_id  TEXT NOT NULL UNIQUE,
    entity       TEXT NOT NULL,
    record_id    TEXT NOT NULL,
    person_id    TEXT NOT NULL,
    field        TEXT NOT NULL,
    register     TEXT NOT NULL,
    value        TEXT NOT NULL,
    base_version INTEGER,
    hlc_wall     INTEGER NOT NULL,
    hlc_counter  INTEGER NOT NULL,
    hlc_node     TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    note_id      TEXT,
    committed_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_by_person ON changes (person_id, seq);
CREATE INDEX IF NOT EXISTS changes_by_register ON changes (entity, record_id, register);

-- Visibility of diagnostic notes, from their add_note and set_note_visibility changes.
CREATE TABLE IF NOT EXISTS notes (
    note_id     TEXT PRIMARY KEY NOT NULL,
    social_only INTEGER NOT NULL
);

-- One row per register that has had concurrent values; closed_seq is set once resolved.
CREATE TABLE IF NOT EXISTS conflicts (
    entity      TEXT NOT NULL,
    record_id   TEXT NOT NULL,
    register    TEXT NOT NULL,
    person_id   TEXT NOT NULL,
    winner      TEXT NOT NULL,
    losers      TEXT NOT NULL,
    updated_seq INTEGER NOT NULL,
    closed_seq  INTEGER,
    PRIMARY KEY (entity, record_id, register)
);

CREATE TABLE IF NOT EXISTS audit (
    seq       INTEGER PRIMARY KEY NOT NULL,
    at_ms     INTEGER NOT NULL,
    device_id TEXT NOT NULL,
    action    TEXT NOT NULL CHECK (action IN ('read', 'write')),
    record    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;"#;

/// A SQLite database of schema version 1 is upgraded in place when the server opens it: its
/// data stays, and enrolment, tombstones and erasure work on it. (PostgreSQL support starts at
/// version 2: there is nothing to upgrade there.)
#[tokio::test]
async fn sqlite_schema_1_is_upgraded_in_place() {
    let dir = tempfile::tempdir().unwrap();
    {
        let conn = rusqlite::Connection::open(dir.path().join("tandem-server.sqlite")).unwrap();
        conn.execute_batch(SCHEMA_V1).unwrap();
        conn.execute_batch(
            "INSERT INTO structures (id, name, kind, created_ms)
             VALUES ('0193a0e0-0000-7000-8000-000000000001', 'CCAS', 'ccas', 0);",
        )
        .unwrap();
    }
    let structure = Uuid::parse_str("0193a0e0-0000-7000-8000-000000000001").unwrap();
    let mut store = tandem_server::Store::open(dir.path()).unwrap();
    let now = tandem_server::now_ms();
    let caseworker = store
        .add_caseworker(structure, "Awa Diallo", Role::Social, now)
        .unwrap();
    let code = store.add_enrolment_code(caseworker, 72, now).unwrap();
    let enrolled = store.enrol(&code.code, "PC-1", now).unwrap();
    assert_eq!(enrolled.structure_name, "CCAS");
    let devices = store.devices().unwrap();
    assert_eq!(
        devices[0].caseworker,
        Some((caseworker, "Awa Diallo".to_string()))
    );
    let version = store
        .db_mut()
        .query_one("SELECT value FROM meta WHERE key = 'schema'", &[])
        .unwrap()
        .int(0)
        .unwrap();
    assert_eq!(version, 2);
    drop(store);
    // Opening again changes nothing.
    let mut store = tandem_server::Store::open(dir.path()).unwrap();
    assert_eq!(store.status().unwrap().caseworkers, 1);
}

/// PostgreSQL only: a lost database connection (restart, network cut) is replaced; at most the
/// request that finds it dead fails, with a 500 the app retries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_lost_connection_is_replaced() {
    let server = Server::start(Backend::Postgres).await;
    let s = server.structure("A").await;
    let a = server.device(s, Role::Social).await;
    let pid = server.query("SELECT pg_backend_pid()", vec![]).await[0]
        .int(0)
        .unwrap();
    let terminated = common::on_plain_thread(move || {
        let mut admin = common::postgres_admin(&common::test_database_url());
        let terminated = admin
            .query_one("SELECT pg_terminate_backend($1)", &[&(pid as i32)])
            .unwrap()
            .get::<_, bool>(0);
        // The backend ends a moment later: until then a push may still go through on it (the
        // test failed on a loaded machine when the second push met the closing connection).
        for _ in 0..200 {
            let alive: i64 = admin
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = $1",
                    &[&(pid as i32)],
                )
                .unwrap()
                .get(0);
            if alive == 0 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        terminated
    });
    assert!(terminated);
    // A push: it goes through the writer's connection (pulls read on reader connections).
    let person = Uuid::now_v7();
    let push =
        |value: &str| json!({ "changes": [change(&a, person, "phone", json!(value), None)] });
    let (first, _) = server
        .call(
            "POST",
            "/v1/push",
            Some(&a.token),
            Some("1"),
            Some(push("06")),
        )
        .await;
    assert!(first == 200 || first == 500, "{first}");
    let (status, body) = server
        .call(
            "POST",
            "/v1/push",
            Some(&a.token),
            Some("1"),
            Some(push("07")),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let pid_after = server.query("SELECT pg_backend_pid()", vec![]).await[0]
        .int(0)
        .unwrap();
    assert_ne!(pid_after, pid);
}

async fn an_administrator_records_consent_for_another_structure(backend: Backend) {
    let server = Server::start(backend).await;
    let (s1, s2) = (server.structure("A").await, server.structure("B").await);
    let a = server.device(s1, Role::Social).await;
    let b = server.device(s2, Role::Employment).await;
    let person = Uuid::now_v7();
    server
        .push(
            &a,
            &[change(&a, person, "first_name", json!("Hélène"), None)],
        )
        .await;
    let (_, before, cursor) = server.pull_all(&b, None, 100).await;
    assert!(before.iter().all(|c| c.change.person_id != person));

    let (p, st) = (person.to_string(), s2.to_string());
    let args = [
        "admin",
        "follow-up",
        "add",
        "--person",
        &p,
        "--structure",
        &st,
    ];
    let out = server.cli(&[&args[..], &["--consent", "yes"]].concat());
    assert!(out.status.success(), "{out:?}");
    let (_, granted, cursor) = server.pull_all(&b, Some(cursor), 100).await;
    assert!(granted.iter().any(|c| c.change.person_id == person));

    // Withdrawn by the administrator: B is told to remove the person.
    let out = server.cli(&[&args[..], &["--consent", "no"]].concat());
    assert!(out.status.success(), "{out:?}");
    let (removals, _, _) = server.pull_all(&b, Some(cursor), 100).await;
    assert_eq!(removals, vec![person]);

    // Unknown person, bad flag: refused, nothing recorded.
    let unknown = Uuid::now_v7().to_string();
    let out = server.cli(&[
        "admin",
        "follow-up",
        "add",
        "--person",
        &unknown,
        "--structure",
        &st,
        "--consent",
        "yes",
    ]);
    assert!(!out.status.success());
    let out = server.cli(&[&args[..], &["--consent", "peut-être"]].concat());
    assert!(!out.status.success());
}

async fn a_device_lists_the_territorys_structures(backend: Backend) {
    let server = Server::start(backend).await;
    let (s1, s2) = (
        server.structure("Mission locale Est").await,
        server.structure("CCAS de Villeurbanne").await,
    );
    let a = server.device(s1, Role::Employment).await;
    let v = tandem_sync::PROTOCOL_VERSION.to_string();
    let (status, body) = server
        .call("GET", "/v1/structures", Some(&a.token), Some(&v), None)
        .await;
    assert_eq!(status, 200, "{body}");
    let names: Vec<&str> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["CCAS de Villeurbanne", "Mission locale Est"]);
    assert_eq!(body[0]["id"], json!(s2));
    let (status, _) = server
        .call("GET", "/v1/structures", None, Some(&v), None)
        .await;
    assert_eq!(status, 401);
}

async fn who_follows_a_person_is_told_only_to_structures_that_do(backend: Backend) {
    let server = Server::start(backend).await;
    let (s1, s2, s3) = (
        server.structure("CCAS").await,
        server.structure("Mission locale").await,
        server.structure("Autre").await,
    );
    let a = server.device(s1, Role::Social).await;
    let c = server.device(s3, Role::Social).await;
    let person = Uuid::now_v7();
    server
        .push(
            &a,
            &[change(&a, person, "first_name", json!("Hélène"), None)],
        )
        .await;
    assert_eq!(server.follow_up(&a, person, s2, true, true).await, 204);
    let v = tandem_sync::PROTOCOL_VERSION.to_string();
    let path = format!("/v1/follow-up?person_id={person}");
    let (status, body) = server
        .call("GET", &path, Some(&a.token), Some(&v), None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!([
            {"structure_id": s1, "structure_name": "CCAS", "share_social_notes": false},
            {"structure_id": s2, "structure_name": "Mission locale", "share_social_notes": true},
        ])
    );
    // A structure without consent learns nothing, not even who follows the person.
    let (status, _) = server
        .call("GET", &path, Some(&c.token), Some(&v), None)
        .await;
    assert_eq!(status, 403);
    let (status, _) = server
        .call(
            "GET",
            "/v1/follow-up?person_id=x",
            Some(&a.token),
            Some(&v),
            None,
        )
        .await;
    assert_eq!(status, 400);
}

/// Pulls a whole first sync in snapshot form: (removals, the registers' heads and versions by
/// record and key, the journal cursor it ends on).
async fn pull_snapshot(
    server: &Server,
    dev: &common::Dev,
    limit: u32,
) -> (
    Vec<Uuid>,
    std::collections::BTreeMap<(Uuid, String), (Vec<tandem_sync::Versioned>, u64)>,
    tandem_sync::Cursor,
) {
    let mut removals = Vec::new();
    let mut registers = std::collections::BTreeMap::new();
    let (status, json) = server
        .call(
            "GET",
            &format!("/v1/pull?limit={limit}&snapshot=true"),
            Some(&dev.token),
            Some("2"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{json}");
    let mut page: tandem_sync::PullResponse = serde_json::from_value(json).unwrap();
    loop {
        assert!(page.changes.is_empty());
        removals.extend(page.removals.iter().copied());
        for (heads, version) in page.snapshot.as_ref().unwrap().registers().unwrap() {
            let c = &heads[0].change;
            let key = tandem_sync::register_key(&c.entity, &c.field, &c.value, c.mutation_id);
            assert!(registers
                .insert((c.record_id, key), (heads, version))
                .is_none());
        }
        if !page.has_more {
            return (removals, registers, page.cursor);
        }
        page = server.pull_page(dev, Some(&page.cursor), limit).await;
    }
}

async fn a_snapshot_holds_the_heads_of_the_journal_under_the_same_access_rules(backend: Backend) {
    let server = Server::start(backend).await;
    let (s1, s2, s3) = (
        server.structure("A").await,
        server.structure("B").await,
        server.structure("C").await,
    );
    let a = server.device(s1, Role::Social).await;
    let e = server.device(s2, Role::Employment).await;
    let x = server.device(s3, Role::Social).await;
    let (person, gone, diag) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let (social_note, shared_note) = (Uuid::now_v7(), Uuid::now_v7());
    let note = |id: Uuid, visibility: &str| json!({"kind": "add_note", "id": id, "theme": null, "author": "caseworker", "visibility": visibility, "text": "..."});
    let first = server
        .push(&a, &[change(&a, person, "phone", json!("01"), None)])
        .await;
    let v1 = versions(&first)[0];
    server
        .push(
            &a,
            &[
                change(&a, person, "phone", json!("02"), Some(v1)),
                change(&a, person, "last_name", json!("Martin"), None),
                change(&a, gone, "last_name", json!("Parti"), None),
                diagnostic_edit(&a, person, diag, note(social_note, "social_only")),
                diagnostic_edit(&a, person, diag, note(shared_note, "shared")),
                diagnostic_edit(
                    &a,
                    person,
                    diag,
                    json!({"kind": "edit_note", "id": social_note, "text": "secret"}),
                ),
            ],
        )
        .await;
    assert_eq!(server.follow_up(&a, person, s2, true, false).await, 204);
    assert_eq!(server.follow_up(&a, gone, s2, true, false).await, 204);
    assert_eq!(server.follow_up(&a, gone, s2, false, false).await, 204);
    for dev in [&a, &e, &x] {
        // What replaying the journal leaves per register.
        let (removals, changes, _) = server.pull_all(dev, None, 100).await;
        let mut expected: std::collections::BTreeMap<(Uuid, String), tandem_sync::Register> =
            Default::default();
        for v in changes {
            let c = &v.change;
            let key = tandem_sync::register_key(&c.entity, &c.field, &c.value, c.mutation_id);
            expected.entry((c.record_id, key)).or_default().insert(v);
        }
        let (snap_removals, snapshot, cursor) = pull_snapshot(&server, dev, 2).await;
        assert_eq!(snap_removals, removals);
        assert_eq!(
            snapshot.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>()
        );
        for (key, (heads, version)) in &snapshot {
            let register = &expected[key];
            assert_eq!(Some(*version), register.latest_version());
            let mut want: Vec<tandem_sync::Versioned> =
                register.heads().into_iter().cloned().collect();
            if heads.len() == 1 && heads[0].change.device_id != dev.id {
                want[0].change.mutation_id = tandem_sync::snapshot_mutation_id(want[0].version);
            }
            assert_eq!(heads, &want);
        }
        // Nothing after the snapshot point: the journal from its cursor is empty.
        let (_, after, _) = server.pull_all(dev, Some(cursor), 100).await;
        assert!(after.is_empty());
    }
    let (removals, snapshot, cursor) = pull_snapshot(&server, &e, 100).await;
    assert_eq!(removals, vec![gone]);
    assert!(!format!("{snapshot:?}").contains("secret"));
    assert!(!format!("{snapshot:?}").contains(&social_note.to_string()));
    assert!(pull_snapshot(&server, &x, 100).await.1.is_empty());
    // A change committed after the snapshot comes once, in the journal.
    let later = server
        .push(&a, &[change(&a, person, "phone", json!("03"), None)])
        .await;
    let (_, after, _) = server.pull_all(&e, Some(cursor), 100).await;
    assert_eq!(
        after.iter().map(|v| v.version).collect::<Vec<_>>(),
        versions(&later)
    );
    // Snapshot pages are audited reads, like journal pages: one row per person per page.
    let reads = format!(
        "SELECT count(*) FROM audit WHERE action = 'read' AND device_id = '{}'",
        e.id
    );
    let before = server.count(&reads).await;
    pull_snapshot(&server, &e, 100).await;
    assert_eq!(server.count(&reads).await, before + 1);
}

/// On SQLite a pull near the head is read by the writer in a group commit, with pushes and
/// other pulls (a page asked for by several devices of one structure and role read once);
/// further behind, or on PostgreSQL, by a reader connection. Either way a page is the same for
/// every device of a structure and role, is audited for each, and refuses a revoked or unknown
/// device.
async fn many_pulls_at_once_read_the_same_audited_page(backend: Backend) {
    let server = Server::start(backend).await;
    let s = server.structure("CCAS").await;
    let a = server.device(s, Role::Social).await;
    let mut devices = Vec::new();
    for role in [
        Role::Employment,
        Role::Social,
        Role::Employment,
        Role::Social,
    ] {
        devices.push(server.device(s, role).await);
    }
    let persons: Vec<Uuid> = (0..6).map(|_| Uuid::now_v7()).collect();
    for person in &persons {
        server
            .push(&a, &[change(&a, *person, "first_name", json!("Awa"), None)])
            .await;
    }
    let (_, _, cursor) = server.pull_all(&devices[0], None, 100).await;
    let note = json!({"kind": "add_note", "id": Uuid::now_v7(), "theme": null,
                      "author": "caseworker", "visibility": "social_only", "text": "secret"});
    server
        .push(
            &a,
            &[
                change(&a, persons[1], "phone", json!("0601"), None),
                change(&a, persons[4], "phone", json!("0604"), None),
                diagnostic_edit(&a, persons[4], Uuid::now_v7(), note),
            ],
        )
        .await;
    // One page per role: the social-only note only for social caseworkers.
    let employment = server.pull_page(&devices[0], Some(&cursor), 100).await;
    let social = server.pull_page(&devices[1], Some(&cursor), 100).await;
    assert_eq!((employment.changes.len(), social.changes.len()), (2, 3));
    assert!(!serde_json::to_string(&employment)
        .unwrap()
        .contains("secret"));
    let reads = "SELECT count(*) FROM audit WHERE action = 'read'";
    let before = server.count(reads).await;
    // Many at once, from several devices of both roles, so that groups hold many pulls with
    // the same cursor.
    let n = 150;
    let (devs, srv, at) = (&devices, &server, &cursor);
    let pulls =
        (0..n).map(|i| async move { (i % 4, srv.pull_page(&devs[i % 4], Some(at), 100).await) });
    for (i, page) in futures_util::future::join_all(pulls).await {
        let expected = if i % 2 == 0 { &employment } else { &social };
        assert_eq!(page.changes, expected.changes);
        assert_eq!(page.cursor, expected.cursor);
        assert!(!page.has_more && page.removals.is_empty());
    }
    // One row per person read, per page.
    assert_eq!(server.count(reads).await, before + 2 * n as i64);
    let path = format!("/v1/pull?cursor={}", cursor.0);
    let (status, body) = server
        .call("GET", &path, Some("not-a-token"), Some("1"), None)
        .await;
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));
    server.revoke(devices[3].id).await;
    let (status, body) = server
        .call("GET", &path, Some(&devices[3].token), Some("1"), None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("device_revoked"))
    );
    assert_eq!(server.count(reads).await, before + 2 * n as i64);
}

/// A batch that fails inside a group commit is rolled back to its savepoint and gives its
/// sequence numbers back: the group's other batches are journalled with no gap, and the head
/// is the last number used.
async fn a_failed_batch_in_a_group_gives_its_numbers_back(backend: Backend) {
    let server = Server::start(backend).await;
    let s = server.structure("A").await;
    let a = server.device(s, Role::Social).await;
    // Batches of 5 fail at their fourth change; batches of 2 go through.
    server.inject_fault_after(Some(3)).await;
    let n = 40;
    let pushes = (0..n).map(|i| {
        let person = Uuid::now_v7();
        let size = if i % 2 == 0 { 2 } else { 5 };
        let batch: Vec<Change> = (0..size)
            .map(|k| change(&a, person, &format!("field_{k}"), json!(k), None))
            .collect();
        let body = json!({ "changes": batch });
        let (server, token) = (&server, &a.token);
        async move {
            let (status, reply) = server
                .call("POST", "/v1/push", Some(token), Some("1"), Some(body))
                .await;
            (size, status, reply)
        }
    });
    let mut applied = 0;
    for (size, status, reply) in futures_util::future::join_all(pushes).await {
        if size == 2 {
            assert_eq!(status, 200, "{reply}");
            applied += 2;
        } else {
            assert_eq!((status, reply["code"].as_str()), (500, Some("internal")));
        }
    }
    let seqs: Vec<i64> = journal(&server)
        .await
        .iter()
        .map(|(seq, _, _)| *seq)
        .collect();
    assert_eq!(seqs, (1..=applied).collect::<Vec<i64>>());
    let status = server.state.with_store(|st| st.status()).await.unwrap();
    assert_eq!(status.head_seq, applied);
}

async fn a_groups_pushing_devices_are_read_together_in_token_order(backend: Backend) {
    let server = Server::start(backend).await;
    let s = server.structure("A").await;
    let mut devices = Vec::new();
    for _ in 0..40 {
        devices.push(server.device(s, Role::Social).await);
    }
    let revoked = devices[33].id;
    server.revoke(revoked).await;
    // More than one statement's worth (32), unknown tokens between them, one token twice.
    let mut tokens: Vec<String> = Vec::new();
    let mut expected: Vec<Option<(Uuid, bool)>> = Vec::new();
    for (i, dev) in devices.iter().enumerate() {
        tokens.push(dev.token.clone());
        expected.push(Some((dev.id, dev.id == revoked)));
        if i % 7 == 0 {
            tokens.push(format!("unknown-{i}"));
            expected.push(None);
        }
    }
    tokens.push(devices[5].token.clone());
    expected.push(Some((devices[5].id, false)));
    let found = server
        .state
        .with_store(move |st| {
            let refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
            st.authenticate_many(&refs)
        })
        .await
        .unwrap();
    let found: Vec<Option<(Uuid, bool)>> = found
        .into_iter()
        .map(|d| d.map(|d| (d.id, d.revoked)))
        .collect();
    assert_eq!(found, expected);
}

both_backends!(
    who_follows_a_person_is_told_only_to_structures_that_do,
    a_device_lists_the_territorys_structures,
    an_administrator_records_consent_for_another_structure,
    push_then_pull_round_trips_in_commit_order_across_pages,
    replays_and_shuffled_batches_with_duplicates_change_nothing,
    two_structures_editing_one_field_make_exactly_one_conflict_keeping_the_loser,
    a_structure_cannot_read_or_write_another_structures_person_without_consent,
    a_revoked_device_is_refused_and_told_to_wipe,
    withdrawn_consent_lists_the_person_in_removals_and_stops_the_flow,
    an_old_client_is_told_to_upgrade,
    a_clock_a_year_ahead_cannot_win,
    a_server_dying_mid_batch_applies_nothing,
    the_audit_chain_verifies_and_tampering_breaks_it,
    the_openapi_document_lists_every_endpoint,
    a_finalised_diagnostic_never_changes_again,
    an_employment_device_may_not_write_social_only_notes_without_consent,
    malformed_bodies_get_the_protocol_error_body,
    plain_http_is_refused_off_loopback_and_admin_commands_work,
    a_caseworker_enrols_a_laptop_with_a_one_time_code,
    a_code_works_once_even_under_concurrent_requests,
    deleting_a_person_is_a_tombstone_that_removes_it_everywhere,
    erasing_a_person_purges_it_and_tells_every_device,
    concurrent_writers_never_let_a_cursor_skip_a_change,
    a_snapshot_holds_the_heads_of_the_journal_under_the_same_access_rules,
    a_groups_pushing_devices_are_read_together_in_token_order,
    many_pulls_at_once_read_the_same_audited_page,
    a_failed_batch_in_a_group_gives_its_numbers_back,
);
