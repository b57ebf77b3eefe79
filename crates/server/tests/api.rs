//! The server's API against a real socket on loopback.

mod common;

use common::{change, change_at, diagnostic_edit, now_ms, Server};
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

fn journal(server: &Server) -> Vec<(i64, String, String)> {
    server
        .db()
        .prepare("SELECT seq, mutation_id, value FROM changes ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[tokio::test]
async fn push_then_pull_round_trips_in_commit_order_across_pages() {
    let server = Server::start().await;
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

#[tokio::test]
async fn replays_and_shuffled_batches_with_duplicates_change_nothing() {
    let server = Server::start().await;
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
    let before = journal(&server);
    let conflicts_before: i64 = server
        .db()
        .query_row("SELECT count(*) FROM conflicts", [], |r| r.get(0))
        .unwrap();
    let mut shuffled: Vec<_> = batch.iter().rev().cloned().collect();
    shuffled.extend(batch[1..4].iter().cloned());
    shuffled.swap(0, 5);
    let replay = server.push(&a, &shuffled).await;
    assert!(replay
        .results
        .iter()
        .all(|r| matches!(r.outcome, Outcome::Duplicate { .. })));
    server.push(&a, &batch).await;
    assert_eq!(journal(&server), before);
    let conflicts_after: i64 = server
        .db()
        .query_row("SELECT count(*) FROM conflicts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(conflicts_after, conflicts_before);
}

#[tokio::test]
async fn two_structures_editing_one_field_make_exactly_one_conflict_keeping_the_loser() {
    let server = Server::start().await;
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
        .db()
        .prepare("SELECT winner, losers FROM conflicts WHERE closed_seq IS NULL")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
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
    let open: i64 = server
        .db()
        .query_row(
            "SELECT count(*) FROM conflicts WHERE closed_seq IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(open, 0);
}

#[tokio::test]
async fn a_structure_cannot_read_or_write_another_structures_person_without_consent() {
    let server = Server::start().await;
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
    assert_eq!(journal(&server).len(), 1);
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

#[tokio::test]
async fn a_revoked_device_is_refused_and_told_to_wipe() {
    let server = Server::start().await;
    let s = server.structure("A").await;
    let a = server.device(s, Role::Social).await;
    let id = a.id;
    server
        .state
        .with_store(move |st| st.revoke_device(id))
        .await
        .unwrap();
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

#[tokio::test]
async fn withdrawn_consent_lists_the_person_in_removals_and_stops_the_flow() {
    let server = Server::start().await;
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

#[tokio::test]
async fn an_old_client_is_told_to_upgrade() {
    let server = Server::start().await;
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

#[tokio::test]
async fn a_clock_a_year_ahead_cannot_win() {
    let server = Server::start().await;
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
    let values: Vec<_> = journal(&server).into_iter().map(|(_, _, v)| v).collect();
    assert_eq!(values, vec!["\"honest\""]);
    // Within the drift bound, accepted.
    let slightly = change_at(&b, person, "phone", json!("ok"), Some(1), now_ms() + 60_000);
    assert!(matches!(
        server.push(&b, &[slightly]).await.results[0].outcome,
        Outcome::Applied { .. }
    ));
}

#[tokio::test]
async fn a_server_dying_mid_batch_applies_nothing() {
    let server = Server::start().await;
    let s = server.structure("A").await;
    let a = server.device(s, Role::Social).await;
    let person = Uuid::now_v7();
    let batch: Vec<_> = (0..5)
        .map(|i| change(&a, person, "phone", json!(i), None))
        .collect();
    server
        .state
        .with_store(|st| {
            st.inject_fault_after(Some(4));
            Ok(())
        })
        .await
        .unwrap();
    let body = json!({ "changes": batch });
    let (status, reply) = server
        .call("POST", "/v1/push", Some(&a.token), Some("1"), Some(body))
        .await;
    assert_eq!((status, reply["code"].as_str()), (500, Some("internal")));
    assert!(journal(&server).is_empty());
    let status = server.state.with_store(|st| st.status()).await.unwrap();
    assert_eq!(
        (status.persons, status.audit_rows, status.head_seq),
        (0, 0, 0)
    );
    server
        .state
        .with_store(|st| {
            st.inject_fault_after(None);
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(
        versions(&server.push(&a, &batch).await),
        vec![1, 2, 3, 4, 5]
    );
}

#[tokio::test]
async fn the_audit_chain_verifies_and_tampering_breaks_it() {
    let server = Server::start().await;
    let s = server.structure("A").await;
    let a = server.device(s, Role::Social).await;
    for i in 0..3 {
        let person = Uuid::now_v7();
        server
            .push(&a, &[change(&a, person, "phone", json!(i), None)])
            .await;
        server.pull_all(&a, None, 100).await;
    }
    let rows: i64 = server
        .db()
        .query_row("SELECT count(*) FROM audit", [], |r| r.get(0))
        .unwrap();
    assert!(rows >= 6);
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tandem-server"))
            .arg("--data-dir")
            .arg(server.dir.path())
            .args(args)
            .output()
            .unwrap()
    };
    let ok = cli(&["admin", "audit", "verify"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    // Updating needs the trigger gone: what someone with the file in hand would do.
    let db = server.db();
    db.execute_batch(
        "DROP TRIGGER audit_no_update; UPDATE audit SET record = 'person:nobody' WHERE seq = 3;",
    )
    .unwrap();
    let broken = cli(&["admin", "audit", "verify"]);
    assert_eq!(broken.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&broken.stdout).trim(),
        "audit chain broken at seq 3"
    );
}

#[tokio::test]
async fn the_openapi_document_lists_every_endpoint() {
    let server = Server::start().await;
    let (status, doc) = server.call("GET", "/openapi.json", None, None, None).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in ["/v1/push", "/v1/pull", "/v1/follow-up", "/openapi.json"] {
        assert!(doc["paths"].get(path).is_some(), "{path}");
    }
}

#[test]
fn plain_http_is_refused_off_loopback_and_admin_commands_work() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tandem-server"))
            .arg("--data-dir")
            .arg(dir.path())
            .args(args)
            .output()
            .unwrap()
    };
    let refused = run(&["serve", "--listen", "0.0.0.0:7878"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("only loopback"));
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

#[tokio::test]
async fn a_finalised_diagnostic_never_changes_again() {
    let server = Server::start().await;
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
    let before = journal(&server);
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
    assert_eq!(journal(&server).len(), before.len());
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
    let writes: i64 = server
        .db()
        .query_row(
            "SELECT count(*) FROM audit WHERE action = 'write' AND record LIKE 'diagnostic:%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(writes, 2);
}

#[tokio::test]
async fn an_employment_device_may_not_write_social_only_notes_without_consent() {
    let server = Server::start().await;
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
    let before = journal(&server).len();

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
    assert_eq!(journal(&server).len(), before);
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

#[tokio::test]
async fn malformed_bodies_get_the_protocol_error_body() {
    let server = Server::start().await;
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
    assert!(journal(&server).is_empty());
}
