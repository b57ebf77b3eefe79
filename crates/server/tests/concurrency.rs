//! The server's concurrent paths through real sockets: group commit of pushes from many laptops
//! at once, pulls on reader connections beside the writer with their audit rows appended by the
//! writer, and revocation seen at once by the readers. Runs on SQLite and on PostgreSQL.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use common::{change, diagnostic_edit, Backend, Dev, Server};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::json;
use tandem_server::db::Value as SqlValue;
use tandem_server::store::PushBatch;
use tandem_server::{Device, Role};
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

/// Every table a push writes, whole, in a fixed order.
async fn tables(server: &Server) -> Vec<(&'static str, Vec<Vec<SqlValue>>)> {
    let mut all = Vec::new();
    for (table, sql) in [
        ("meta", "SELECT key, value FROM meta ORDER BY key"),
        (
            "changes",
            "SELECT seq, mutation_id, entity, record_id, person_id, field, register, value,
                    base_version, hlc_wall, hlc_counter, hlc_node, device_id, note_id,
                    committed_ms FROM changes ORDER BY seq",
        ),
        (
            "persons",
            "SELECT id, created_by, created_seq, deleted_seq, erased_seq FROM persons ORDER BY id",
        ),
        (
            "follow_up",
            "SELECT person_id, structure_id, consent, share_social_notes, granted_seq,
                    revoked_seq FROM follow_up ORDER BY person_id, structure_id",
        ),
        (
            "records",
            "SELECT entity, record_id, person_id FROM records ORDER BY entity, record_id",
        ),
        (
            "notes",
            "SELECT note_id, social_only FROM notes ORDER BY note_id",
        ),
        (
            "conflicts",
            "SELECT entity, record_id, register, person_id, winner, losers, updated_seq,
                    closed_seq FROM conflicts ORDER BY entity, record_id, register",
        ),
        (
            "audit",
            "SELECT seq, at_ms, device_id, action, record, prev_hash, hash FROM audit ORDER BY seq",
        ),
    ] {
        let rows = server.query(sql, vec![]).await;
        all.push((table, rows.into_iter().map(|r| r.0).collect()));
    }
    all
}

/// Random push batches from four devices of two structures, each batch made knowing the
/// versions the ones before got (as laptops would): edits with and without base versions (so
/// conflicts open and close), new persons, deletions, diagnostics created with notes, notes
/// added, edited and made social-only, finalisations, replays (within a batch and across
/// batches), other devices' changes and writes outside the structure's scope.
struct Scenario {
    rng: StdRng,
    devs: Vec<(Dev, Device)>,
    persons: Vec<Uuid>,
    /// `(person, diagnostic)`.
    diagnostics: Vec<(Uuid, Uuid)>,
    /// `(person, diagnostic, note)`.
    notes: Vec<(Uuid, Uuid, String)>,
    versions: BTreeMap<(Uuid, String), Vec<u64>>,
    sent: Vec<Change>,
}

impl Scenario {
    fn batch(&mut self, dev: usize) -> Vec<Change> {
        let (d, _) = self.devs[dev].clone();
        let n = self.rng.random_range(1..=6);
        let mut batch: Vec<Change> = Vec::new();
        for _ in 0..n {
            let person = *self.persons.choose(&mut self.rng).unwrap();
            // One of the person's diagnostics, or a new one.
            let theirs: Vec<Uuid> = (self.diagnostics.iter())
                .filter(|(p, _)| *p == person)
                .map(|(_, d)| *d)
                .collect();
            let diagnostic = match theirs.choose(&mut self.rng) {
                Some(d) if self.rng.random_bool(0.8) => *d,
                _ => {
                    let d = Uuid::now_v7();
                    self.diagnostics.push((person, d));
                    d
                }
            };
            let social = || {
                if rand::random_bool(0.5) {
                    "social_only"
                } else {
                    "team"
                }
            };
            let change = match self.rng.random_range(0..100) {
                0..40 => {
                    let field = *["phone", "email"].choose(&mut self.rng).unwrap();
                    let known = self.versions.get(&(person, field.to_string()));
                    let base = match (self.rng.random_range(0..5), known) {
                        (0 | 1, Some(v)) => v.last().copied(),
                        (2, Some(v)) => v.choose(&mut self.rng).copied(),
                        _ => None,
                    };
                    change(&d, person, field, json!(self.rng.random::<u16>()), base)
                }
                40 if self.rng.random_bool(0.3) => change(&d, person, "deleted", json!(true), None),
                40..53 => {
                    let id = Uuid::now_v7().to_string();
                    self.notes.push((person, diagnostic, id.clone()));
                    let status = if self.rng.random_bool(0.1) {
                        "finalised"
                    } else {
                        "draft"
                    };
                    let edit = json!({"kind": "create", "status": status,
                                      "notes": [{"id": id, "visibility": social(), "text": "n"}]});
                    diagnostic_edit(&d, person, diagnostic, edit)
                }
                53..63 => {
                    let id = Uuid::now_v7().to_string();
                    self.notes.push((person, diagnostic, id.clone()));
                    let edit = json!({"kind": "add_note", "id": id, "visibility": social(),
                                      "text": "n"});
                    diagnostic_edit(&d, person, diagnostic, edit)
                }
                63..76 => match self.notes.choose(&mut self.rng).cloned() {
                    Some((person, diagnostic, id)) => {
                        let edit = if self.rng.random_bool(0.5) {
                            json!({"kind": "set_note_visibility", "id": id,
                                   "visibility": social()})
                        } else {
                            json!({"kind": "edit_note", "id": id, "text": "changed"})
                        };
                        diagnostic_edit(&d, person, diagnostic, edit)
                    }
                    None => continue,
                },
                76..79 => diagnostic_edit(&d, person, diagnostic, json!({"kind": "finalise"})),
                79..86 => {
                    let edit = json!({"kind": "set_field", "field": "f", "value": 1});
                    diagnostic_edit(&d, person, diagnostic, edit)
                }
                86..96 => {
                    // A replay: of this batch or of an earlier one.
                    let earlier = if self.rng.random_bool(0.3) || self.sent.is_empty() {
                        batch.last().cloned()
                    } else {
                        self.sent.choose(&mut self.rng).cloned()
                    };
                    match earlier {
                        Some(c) if c.device_id == d.id => c,
                        _ => continue,
                    }
                }
                _ => {
                    let (other, _) = &self.devs[(dev + 1) % self.devs.len()];
                    change(other, person, "phone", json!("x"), None)
                }
            };
            batch.push(change);
        }
        self.sent.extend(batch.iter().cloned());
        batch
    }

    fn learn(&mut self, batch: &[Change], results: &[MutationResult]) {
        for (c, r) in batch.iter().zip(results) {
            if let Outcome::Applied { version } | Outcome::Conflict { version, .. } = r.outcome {
                if c.entity == "person" {
                    let v = self
                        .versions
                        .entry((c.person_id, c.field.clone()))
                        .or_default();
                    v.push(version);
                }
            }
        }
    }
}

/// A group commit applies its batches as pushing them one by one would: the same answers and
/// the same tables, row for row (audit chain included). On PostgreSQL the group is planned
/// whole (its reads made ahead, its writes sent at the end, see the server's `ledger`), so this
/// is what holds that plan to the statement-by-statement path; on SQLite it checks the
/// savepoints. Groups of random sizes, so that some batches depend on others of their group
/// and some on earlier groups.
async fn a_group_commit_leaves_what_one_push_at_a_time_leaves(backend: Backend) {
    let grouped = Server::start(backend).await;
    let serial = Server::start(backend).await;
    let a = grouped.structure("A").await;
    let b = grouped.structure("B").await;
    let mut devs = Vec::new();
    let roles = [Role::Social, Role::Employment];
    for (structure, role) in [a, b].into_iter().flat_map(|s| roles.map(|r| (s, r))) {
        let dev = grouped.device(structure, role).await;
        let device = Device {
            id: dev.id,
            structure_id: structure,
            role,
            revoked: false,
        };
        devs.push((dev, device));
    }
    copy_devices(&grouped, &serial).await;
    let seed: u64 = std::env::var("TANDEM_GROUP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("group commit scenario seed {seed} (TANDEM_GROUP_SEED to replay)");
    let mut scenario = Scenario {
        rng: StdRng::seed_from_u64(seed),
        devs: devs.clone(),
        persons: (0..12).map(|_| Uuid::now_v7()).collect(),
        diagnostics: Vec::new(),
        notes: Vec::new(),
        versions: BTreeMap::new(),
        sent: Vec::new(),
    };
    let now = tandem_server::now_ms();
    let mut made = 0;
    let mut seen = BTreeSet::new();
    while made < 240 {
        let size = scenario.rng.random_range(1..=24);
        let mut group = Vec::new();
        let mut answers = Vec::new();
        for i in 0..size {
            let dev = scenario.rng.random_range(0..devs.len());
            let changes = scenario.batch(dev);
            let batch = PushBatch {
                device: devs[dev].1.clone(),
                changes: changes.clone(),
                now_ms: now + (made + i) as i64,
            };
            let one = batch.clone();
            let results = serial
                .state
                .with_store(move |s| s.push(&one.device, &one.changes, one.now_ms))
                .await
                .unwrap();
            scenario.learn(&changes, &results);
            for r in &results {
                seen.insert(match &r.outcome {
                    Outcome::Refused { reason } => format!("{reason:?}"),
                    other => format!("{other:?}")
                        .split([' ', '{'])
                        .next()
                        .unwrap()
                        .to_string(),
                });
            }
            group.push(batch);
            answers.push(results);
        }
        made += size;
        let outcome = grouped
            .state
            .with_store(move |s| s.commit_group(&group, &[], Vec::new()))
            .await
            .unwrap();
        for (pushed, expected) in outcome.pushes.into_iter().zip(&answers) {
            assert_eq!(&pushed.unwrap(), expected, "seed {seed}: the same answers");
        }
    }
    let (mine, theirs) = (tables(&grouped).await, tables(&serial).await);
    for ((table, rows), (_, expected)) in mine.iter().zip(&theirs) {
        assert_eq!(rows, expected, "seed {seed}: table {table}");
    }
    let conflicts = grouped
        .count("SELECT count(*) FROM conflicts WHERE closed_seq IS NOT NULL")
        .await;
    assert!(
        conflicts > 0,
        "seed {seed}: the scenario should close conflicts"
    );
    let every = [
        "Applied",
        "Conflict",
        "Duplicate",
        "Forbidden",
        "Finalised",
        "SocialOnly",
        "WrongDevice",
    ];
    for outcome in every {
        assert!(
            seen.contains(outcome),
            "seed {seed}: no {outcome} in {seen:?}"
        );
    }
}

both_backends!(
    a_group_commit_leaves_what_one_push_at_a_time_leaves,
    concurrent_pushes_make_the_journal_serial_pushes_would,
    concurrent_pulls_see_every_change_once_and_are_all_audited,
    a_revocation_from_the_cli_is_seen_at_once,
);
