//! Client-kill fault test. A real client process (this test binary, re-executed in child mode)
//! syncs a real SQLCipher case file with the real server (in this process, on loopback) and is
//! SIGKILLed at random points during push and pull. After each kill it is restarted and must
//! complete; in the end every local edit reached the server exactly once, the file passes
//! `integrity_check`, and the local data equals the server's scope.
//!
//! `TANDEM_FAULT_SEED` replays a run (the seed is printed); `TANDEM_FAULT_RUNS` sets the number
//! of kills (default 30).

#![allow(clippy::print_stdout)] // The test reports its seed and what it checked.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tandem_domain::PersonField;
use tandem_store::CaseFile;
use tandem_sync::{Change, Hlc, Register, Versioned};
use tandem_sync_client::{sync_once, Phase, ServerClient, SyncOptions};
use uuid::Uuid;

const CHILD: &str = "TANDEM_FAULT_CHILD";
const KEY: u8 = 7;

fn main() {
    if std::env::var_os(CHILD).is_some() {
        std::process::exit(child());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(parent());
    println!("test result: ok. client-kill fault test passed");
}

/// Child mode: one `sync_once` of the case file, progress on stdout. Exit 0 on success.
fn child() -> i32 {
    let var = |name: &str| std::env::var(name).unwrap();
    let file = CaseFile::open(std::path::Path::new(&var("TANDEM_FAULT_FILE")), &key(KEY)).unwrap();
    let file = Mutex::new(file);
    let client = ServerClient::new(&var("TANDEM_FAULT_URL"), None)
        .unwrap()
        .with_token(var("TANDEM_FAULT_TOKEN"));
    let options = SyncOptions {
        push_batch: 5,
        push_max_bytes: 1_000_000,
        pull_limit: 9,
        snapshot: std::env::var_os("TANDEM_FAULT_JOURNAL").is_none(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let result = runtime.block_on(sync_once(&file, &client, &options, |p| {
        use std::io::Write;
        let phase = match p.phase {
            Phase::Push => "push",
            Phase::Pull => "pull",
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{phase} {} {}", p.pushed, p.pages);
        let _ = out.flush();
    }));
    match result {
        Ok(_) => 0,
        Err(e) => {
            eprintln!("child sync failed: {e:?}");
            2
        }
    }
}

struct Run<'a> {
    server: &'a Server,
    path: std::path::PathBuf,
    token: String,
}

impl Run<'_> {
    fn spawn(&self) -> std::process::Child {
        Command::new(std::env::current_exe().unwrap())
            .env(CHILD, "1")
            .env("TANDEM_FAULT_FILE", &self.path)
            .env("TANDEM_FAULT_URL", &self.server.base)
            .env("TANDEM_FAULT_TOKEN", &self.token)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap()
    }
}

fn last_phase(child: &mut std::process::Child) -> String {
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        let _ = stdout.read_to_string(&mut out);
    }
    out.lines()
        .last()
        .map(|l| l.split(' ').next().unwrap_or("").to_string())
        .unwrap_or_else(|| "start".into())
}

async fn parent() {
    let seed: u64 = std::env::var("TANDEM_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    let runs: usize = std::env::var("TANDEM_FAULT_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    println!("client-kill fault test: seed {seed} (TANDEM_FAULT_SEED={seed}), {runs} kills");
    let mut rng = StdRng::seed_from_u64(seed);

    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let structure = server.structure("A").await;
    let laptop_dev = server.device(structure).await;
    let other = server.device(structure).await;
    let observer = server.device(structure).await;
    let other_client = server.client(&other);
    let observer_client = server.client(&observer);

    let laptop = Laptop::new(&server, dir.path(), &laptop_dev, KEY);
    let path = laptop.path.clone();
    drop(laptop);
    let run = Run {
        server: &server,
        path: path.clone(),
        token: laptop_dev.token.clone(),
    };

    let mut local_edits: BTreeSet<Uuid> = BTreeSet::new();
    let mut seen: BTreeMap<Uuid, usize> = BTreeMap::new();
    let mut feed: Vec<Versioned> = Vec::new();
    let mut observer_cursor = None;
    let mut persons: Vec<Uuid> = Vec::new();
    let mut diagnostics: Vec<Uuid> = Vec::new();
    let mut kills: BTreeMap<String, usize> = BTreeMap::new();
    let mut full_run = Duration::from_millis(300);
    let started = Instant::now();

    for round in 0..runs {
        // Local edits, made while no client runs.
        {
            let mut file = CaseFile::open(&path, &key(KEY)).unwrap();
            let edits = rng.random_range(15..40);
            for _ in 0..edits {
                let choice = rng.random_range(0..10);
                if persons.is_empty() || choice == 0 {
                    let p = file
                        .create_person(
                            &tandem_domain::NewPerson {
                                first_name: format!("Prénom{}", rng.random_range(0..1000)),
                                last_name: format!("Nom{}", rng.random_range(0..1000)),
                                birth_date: "1990-01-02".into(),
                            },
                            now(),
                        )
                        .unwrap();
                    persons.push(p.id);
                } else if choice == 1 {
                    let p = persons[rng.random_range(0..persons.len())];
                    let d = draft(p);
                    file.insert_diagnostic(&d).unwrap();
                    diagnostics.push(d.id);
                } else if choice == 2 && !diagnostics.is_empty() {
                    let d = diagnostics[rng.random_range(0..diagnostics.len())];
                    let edit = set_place(&format!("Lieu {}", rng.random_range(0..1000)));
                    let ctx = tandem_domain::diagnostic_rules::EditContext {
                        referentiel: tandem_domain::referentiel::embedded(),
                        rome: tandem_domain::rome::RomeIndex::embedded(),
                        now: now(),
                        by: "Camille Roux",
                    };
                    file.edit_diagnostic(d, &edit, now(), |body| {
                        tandem_domain::diagnostic_rules::apply_edit(body, &edit, &ctx)
                    })
                    .unwrap();
                } else {
                    let p = persons[rng.random_range(0..persons.len())];
                    let (field, raw) = match rng.random_range(0..3) {
                        0 => (
                            PersonField::Commune,
                            format!("Ville {}", rng.random_range(0..1000)),
                        ),
                        1 => (
                            PersonField::Address,
                            format!("{} rue de la Paix", rng.random_range(1..300)),
                        ),
                        _ => (
                            PersonField::Phone,
                            format!(
                                "06 12 34 {:02} {:02}",
                                rng.random_range(0..100),
                                rng.random_range(0..100)
                            ),
                        ),
                    };
                    file.update_person_field(p, field, &raw, now()).unwrap();
                }
            }
            for change in file.pending_outbox(usize::MAX).unwrap() {
                local_edits.insert(change.mutation_id);
            }
        }
        // Another laptop of the structure writes too, so there is something to pull (and
        // sometimes a conflict): edits of persons the server already has, and new persons.
        let known: Vec<Uuid> = feed
            .iter()
            .filter(|v| v.change.entity == "person")
            .map(|v| v.change.person_id)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut remote = Vec::new();
        for i in 0..rng.random_range(20..60) {
            let (person, field, value) = if known.is_empty() || rng.random_range(0..5) == 0 {
                (Uuid::now_v7(), "last_name", format!("Distant{i}"))
            } else {
                let p = known[rng.random_range(0..known.len())];
                match rng.random_range(0..2) {
                    0 => (
                        p,
                        "commune",
                        format!("Commune {}", rng.random_range(0..1000)),
                    ),
                    _ => (
                        p,
                        "email",
                        format!("p{}@example.fr", rng.random_range(0..1000)),
                    ),
                }
            };
            remote.push(Change {
                mutation_id: Uuid::now_v7(),
                entity: "person".into(),
                record_id: person,
                person_id: person,
                field: field.into(),
                value: serde_json::json!(value),
                base_version: None,
                hlc: Hlc {
                    wall_ms: now().timestamp_millis() as u64,
                    counter: i,
                    node: other.id,
                },
                device_id: other.id,
            });
        }
        let pushed = other_client.push(&remote).await.unwrap();
        assert!(pushed
            .results
            .iter()
            .all(|r| !matches!(r.outcome, tandem_sync::Outcome::Refused { .. })));

        // The client, killed at a random point.
        let delay = Duration::from_micros(
            rng.random_range(0..(full_run.as_micros() as u64 * 11 / 10).max(1)),
        );
        let mut child = run.spawn();
        tokio::time::sleep(delay).await;
        let finished = child.try_wait().unwrap().is_some();
        child.kill().unwrap_or(());
        let status = child.wait().unwrap();
        let phase = if finished || status.success() {
            "finished".to_string()
        } else {
            last_phase(&mut child)
        };
        *kills.entry(phase).or_default() += 1;

        // Restarted, it completes.
        let t = Instant::now();
        let mut child = run.spawn();
        let status = child.wait().unwrap();
        assert!(
            status.success(),
            "round {round}: restarted sync failed (seed {seed})"
        );
        full_run = (full_run + t.elapsed()) / 2;

        // Nothing lost, nothing doubled, file intact.
        let file = CaseFile::open(&path, &key(KEY)).unwrap();
        file.integrity_check().unwrap();
        let counts = file.sync_counts().unwrap();
        assert_eq!((counts.pending, counts.refused), (0, 0), "round {round}");
        drop(file);
        loop {
            let page = observer_client
                .pull(observer_cursor.as_ref(), 5_000)
                .await
                .unwrap();
            for v in &page.changes {
                *seen.entry(v.change.mutation_id).or_default() += 1;
            }
            feed.extend(page.changes);
            observer_cursor = Some(page.cursor);
            if !page.has_more {
                break;
            }
        }
        for id in &local_edits {
            assert_eq!(
                seen.get(id),
                Some(&1),
                "round {round}: local edit {id} on the server {:?} times (seed {seed})",
                seen.get(id)
            );
        }
        assert!(
            seen.values().all(|&n| n == 1),
            "a change delivered twice (seed {seed})"
        );
    }

    // Every change of this laptop on the server is one of its edits.
    let from_laptop: BTreeSet<Uuid> = feed
        .iter()
        .filter(|v| v.change.device_id == laptop_dev.id)
        .map(|v| v.change.mutation_id)
        .collect();
    assert_eq!(from_laptop, local_edits, "seed {seed}");

    // Local data equals the server's scope: every person field shows its register's winner
    // (computed here from the raw feed with the protocol's merge code)...
    let mut registers: BTreeMap<(Uuid, String), Register> = BTreeMap::new();
    for v in &feed {
        if v.change.entity == "person" {
            registers
                .entry((v.change.record_id, v.change.field.clone()))
                .or_default()
                .insert(v.clone());
        }
    }
    let file = CaseFile::open(&path, &key(KEY)).unwrap();
    let mut checked = 0;
    for ((person, field), register) in &registers {
        let winner = register.winner().unwrap();
        let shown = file.person(*person).unwrap();
        let value = match field.as_str() {
            "first_name" => serde_json::json!(shown.first_name),
            "last_name" => serde_json::json!(shown.last_name),
            "commune" => serde_json::json!(shown.commune),
            "address" => serde_json::json!(shown.address),
            "phone" => serde_json::json!(shown.phone),
            "email" => serde_json::json!(shown.email),
            _ => continue,
        };
        assert_eq!(
            value, winner.change.value,
            "{field} of {person} (seed {seed})"
        );
        checked += 1;
    }
    let conflicts = registers
        .values()
        .filter(|r| r.conflict().is_some())
        .count();
    assert_eq!(file.sync_counts().unwrap().conflicts as usize, conflicts);
    // ...and a fresh laptop synced from scratch holds exactly the same persons and diagnostics.
    let local = view(&file);
    drop(file);
    let fresh = Laptop::new(&server, dir.path(), &observer, 99);
    fresh.sync().await.unwrap();
    assert_eq!(fresh.view(), local, "seed {seed}");
    println!(
        "{runs} kills ({kills:?}) in {:.1} s: {} local edits each on the server once, {} changes in scope, {checked} person values and {} diagnostics equal, {conflicts} conflicts on both sides",
        started.elapsed().as_secs_f64(),
        local_edits.len(),
        feed.len(),
        local.diagnostics.len(),
    );
    let killed_mid_sync =
        kills.get("push").copied().unwrap_or(0) + kills.get("pull").copied().unwrap_or(0);
    assert!(
        killed_mid_sync * 2 >= runs,
        "most kills must land during push or pull: {kills:?} (seed {seed})"
    );
}
