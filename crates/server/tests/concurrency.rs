//! The server's concurrent paths through real sockets: group commit of pushes from many laptops
//! at once, pulls on reader connections beside the writer with their audit rows appended by the
//! writer, and revocation seen at once by the readers. Runs on SQLite and on PostgreSQL.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use common::{change, Backend, Dev, Server};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::json;
use tandem_server::db::Value as SqlValue;
use tandem_server::Role;
use tandem_sync::{Change, MutationResult, Outcome};
use uuid::Uuid;

/// The first version a batch's results hold, if it journalled anything.
fn first_version(results: &[MutationResult]) -> Option<u64> {
    results
        .iter()
        .filter_map(|r| match r.outcome {
            Outcome::Applied { version } | Outcome::Conflict { version, .. } => Some(version),
            _ => None,
        })
        .min()
}

/// Everything the journal and the conflicts say, in commit order.
async fn journal(server: &Server) -> Vec<Vec<SqlValue>> {
    let mut rows: Vec<Vec<SqlValue>> = server
        .query(
            "SELECT seq, mutation_id, register, value, base_version FROM changes ORDER BY seq",
            vec![],
        )
        .await
        .into_iter()
        .map(|r| r.0)
        .collect();
    rows.extend(
        server
            .query(
                "SELECT entity, record_id, register, winner, losers, updated_seq, closed_seq
                 FROM conflicts ORDER BY entity, record_id, register",
                vec![],
            )
            .await
            .into_iter()
            .map(|r| r.0),
    );
    rows
}

/// Gives `to` the same structures and devices (ids and tokens) as `from`.
async fn copy_devices(from: &Server, to: &Server) {
    for row in from
        .query("SELECT id, name, kind, created_ms FROM structures", vec![])
        .await
    {
        to.query(
            "INSERT INTO structures (id, name, kind, created_ms) VALUES (?1, ?2, ?3, ?4)",
            row.0,
        )
        .await;
    }
    for row in from
        .query(
            "SELECT id, structure_id, name, role, token_hash, created_ms FROM devices",
            vec![],
        )
        .await
    {
        to.query(
            "INSERT INTO devices (id, structure_id, name, role, token_hash, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            row.0,
        )
        .await;
    }
}

/// Many laptops push at once (edits of the same few fields, so conflicts arise, plus replays
/// and refused changes): each batch's journalled changes are contiguous, and pushing the same
/// batches one by one, in the order they were committed, gives the same results, the same
/// journal and the same conflicts.
async fn concurrent_pushes_make_the_journal_serial_pushes_would(backend: Backend) {
    let server = Arc::new(Server::start(backend).await);
    let s = server.structure("A").await;
    let mut devs = Vec::new();
    for _ in 0..8 {
        devs.push(server.device(s, Role::Social).await);
    }
    let persons: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
    let mut seeding = Vec::new();
    for person in &persons {
        let batch = vec![change(
            &devs[0],
            *person,
            "last_name",
            json!("Martin"),
            None,
        )];
        let results = server.push(&devs[0], &batch).await.results;
        seeding.push((devs[0].clone(), batch, results));
    }
    let fields = ["phone", "address", "email"];
    let tasks: Vec<_> = devs
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, dev)| {
            let (server, persons) = (server.clone(), persons.clone());
            let other = devs[(i + 1) % devs.len()].clone();
            tokio::spawn(async move {
                let mut rng = StdRng::seed_from_u64(i as u64);
                let mut pushed: Vec<(Dev, Vec<Change>, Vec<MutationResult>)> = Vec::new();
                for round in 0..6 {
                    let mut batch: Vec<Change> = (0..4)
                        .map(|_| {
                            let person = *persons.choose(&mut rng).unwrap();
                            let field = *fields.choose(&mut rng).unwrap();
                            let base = rng.random_bool(0.5).then_some(1);
                            change(&dev, person, field, json!(rng.random::<u32>()), base)
                        })
                        .collect();
                    if round == 2 {
                        // Another device's change in the batch: refused, the rest applies.
                        batch.push(change(&other, persons[0], "phone", json!("x"), None));
                    }
                    let results = server.push(&dev, &batch).await.results;
                    pushed.push((dev.clone(), batch, results));
                }
                // A replay of the first batch (a laptop that never saw the answer).
                let replay = pushed[0].1.clone();
                let results = server.push(&dev, &replay).await.results;
                pushed.push((dev.clone(), replay, results));
                pushed
            })
        })
        .collect();
    let mut batches = seeding;
    for task in tasks {
        batches.extend(task.await.unwrap());
    }
    for (_, batch, results) in &batches {
        assert_eq!(results.len(), batch.len());
        let versions: Vec<u64> = results
            .iter()
            .filter_map(|r| match r.outcome {
                Outcome::Applied { version } | Outcome::Conflict { version, .. } => Some(version),
                _ => None,
            })
            .collect();
        let contiguous: Vec<u64> = (0..versions.len() as u64)
            .map(|k| versions[0] + k)
            .collect();
        assert_eq!(versions, contiguous, "a batch's changes are contiguous");
    }
    let conflicts = server
        .count("SELECT count(*) FROM conflicts WHERE closed_seq IS NULL")
        .await;
    assert!(conflicts > 0, "the test should make conflicts");

    // The same batches one at a time, in commit order, on a fresh server.
    let serial = Server::start(backend).await;
    copy_devices(&server, &serial).await;
    // Batches that journalled nothing (replays) go after the one they replay: at the end.
    batches.sort_by_key(|(_, _, results)| first_version(results).unwrap_or(u64::MAX));
    for (dev, batch, results) in &batches {
        let again = serial.push(dev, batch).await.results;
        assert_eq!(&again, results, "serial application answers the same");
    }
    assert_eq!(journal(&serial).await, journal(&server).await);
    let verify = server.cli(&["admin", "audit", "verify"]);
    assert!(verify.status.success(), "{verify:?}");
}

/// Laptops pull while others push, all at once: every reader sees every version exactly once,
/// in order (its snapshots never let a cursor pass a change committed later), every person a
/// pull returned has its audit row, and the audit chain verifies.
async fn concurrent_pulls_see_every_change_once_and_are_all_audited(backend: Backend) {
    let server = Arc::new(Server::start(backend).await);
    let s = server.structure("A").await;
    let writers = [
        server.device(s, Role::Social).await,
        server.device(s, Role::Social).await,
        server.device(s, Role::Social).await,
    ];
    let readers = [
        server.device(s, Role::Social).await,
        server.device(s, Role::Employment).await,
        server.device(s, Role::Social).await,
    ];
    const BATCHES: usize = 15;
    const PER_BATCH: usize = 3;
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let pushing: Vec<_> = writers
        .iter()
        .cloned()
        .map(|dev| {
            let (server, done) = (server.clone(), done.clone());
            tokio::spawn(async move {
                for _ in 0..BATCHES {
                    let person = Uuid::now_v7();
                    let batch: Vec<_> = (0..PER_BATCH)
                        .map(|i| change(&dev, person, &format!("f{i}"), json!(i), None))
                        .collect();
                    server.push(&dev, &batch).await;
                }
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            })
        })
        .collect();
    let pulling: Vec<_> = readers
        .iter()
        .cloned()
        .map(|dev| {
            let (server, done, writers) = (server.clone(), done.clone(), writers.len());
            tokio::spawn(async move {
                let (mut cursor, mut seen, mut persons) = (None, Vec::new(), BTreeSet::new());
                loop {
                    let finished = done.load(std::sync::atomic::Ordering::SeqCst) == writers;
                    loop {
                        let page = server.pull_page(&dev, cursor.as_ref(), 7).await;
                        for c in &page.changes {
                            seen.push(c.version);
                            persons.insert(c.change.person_id);
                        }
                        cursor = Some(page.cursor);
                        if !page.has_more {
                            break;
                        }
                    }
                    if finished {
                        return (dev, seen, persons);
                    }
                }
            })
        })
        .collect();
    for task in pushing {
        task.await.unwrap();
    }
    let total = (writers.len() * BATCHES * PER_BATCH) as u64;
    for task in pulling {
        let (dev, seen, persons) = task.await.unwrap();
        assert_eq!(seen, (1..=total).collect::<Vec<_>>());
        let audited: BTreeSet<String> = server
            .query(
                "SELECT record FROM audit WHERE device_id = ?1 AND action = 'read'",
                vec![SqlValue::Text(dev.id.to_string())],
            )
            .await
            .iter()
            .map(|r| r.text(0).unwrap())
            .collect();
        let expected: BTreeSet<String> = persons.iter().map(|p| format!("person:{p}")).collect();
        assert_eq!(audited, expected, "every person read is audited");
    }
    let writes: BTreeMap<String, i64> = server
        .query("SELECT action, count(*) FROM audit GROUP BY action", vec![])
        .await
        .iter()
        .map(|r| (r.text(0).unwrap(), r.int(1).unwrap()))
        .collect();
    assert_eq!(
        writes.get("write").copied(),
        Some((writers.len() * BATCHES) as i64)
    );
    let verify = server.cli(&["admin", "audit", "verify"]);
    assert!(verify.status.success(), "{verify:?}");
}

/// A device revoked from the command line (another process) is refused on its very next
/// request, although its earlier requests went through the reader connections.
async fn a_revocation_from_the_cli_is_seen_at_once(backend: Backend) {
    let server = Server::start(backend).await;
    let s = server.structure("A").await;
    let a = server.device(s, Role::Social).await;
    let person = Uuid::now_v7();
    server
        .push(&a, &[change(&a, person, "phone", json!("06"), None)])
        .await;
    for _ in 0..3 {
        server.pull_all(&a, None, 100).await;
    }
    let id = a.id.to_string();
    let revoked = server.cli(&["admin", "device", "revoke", &id]);
    assert!(revoked.status.success(), "{revoked:?}");
    let (status, body) = server
        .call("GET", "/v1/pull", Some(&a.token), Some("1"), None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("device_revoked"))
    );
    let body = json!({ "changes": [change(&a, person, "phone", json!("07"), None)] });
    let (status, _) = server
        .call("POST", "/v1/push", Some(&a.token), Some("1"), Some(body))
        .await;
    assert_eq!(status, 403);
}

both_backends!(
    concurrent_pushes_make_the_journal_serial_pushes_would,
    concurrent_pulls_see_every_change_once_and_are_all_audited,
    a_revocation_from_the_cli_is_seen_at_once,
);
