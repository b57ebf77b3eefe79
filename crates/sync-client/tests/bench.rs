//! First sync of a large scope: the server holds N persons with a diagnostic each (about 70
//! changes per person, like a real caseload), and a fresh laptop pulls everything.
//! Prints changes/s for the whole sync (HTTP + apply) and for the case-file apply alone.
//! `TANDEM_SYNC_BENCH_PERSONS` sets N (default 200; `dev.sh bench`: 10,000, issue 5's target
//! scope). The first pull takes the snapshot form; `TANDEM_SYNC_BENCH_JOURNAL=1` replays the
//! whole journal instead, for comparison. Changes/s counts the journal changes the scope holds
//! (superseded ones included), whichever form carried them.

#![allow(clippy::print_stdout)] // The measurements are this test's output.

mod common;

use std::time::Instant;

use common::*;
use tandem_domain::diagnostic::{DiagnosticEdit, Interviewer, NoteVisibility};
use tandem_store::CaseFile;
use tandem_sync::{Change, Hlc, PullResponse};
use tandem_sync_client::SyncOptions;
use uuid::Uuid;

// mimalloc, not the system allocator (see `mimalloc` in the workspace manifest).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn person_changes(dev: &Dev, person: Uuid, n: usize, counter: &mut u32) -> Vec<Change> {
    let stamp = |c: &mut u32| {
        *c += 1;
        Hlc {
            wall_ms: now().timestamp_millis() as u64,
            counter: *c,
            node: dev.id,
        }
    };
    let mut out = Vec::new();
    let mut push =
        |entity: &str, record: Uuid, field: &str, value: serde_json::Value, c: &mut u32| {
            out.push(Change {
                mutation_id: Uuid::now_v7(),
                entity: entity.into(),
                record_id: record,
                person_id: person,
                field: field.into(),
                value,
                base_version: None,
                hlc: stamp(c),
                device_id: dev.id,
            })
        };
    for (field, value) in [
        ("first_name", serde_json::json!(format!("Prénom{n}"))),
        ("last_name", serde_json::json!(format!("Nom{n}"))),
        ("birth_date", serde_json::json!("1985-07-14")),
        ("email", serde_json::json!(format!("p{n}@example.fr"))),
        ("phone", serde_json::json!("06 12 34 56 78")),
        ("address", serde_json::json!("12 rue de la Paix")),
        ("postal_code", serde_json::json!("35000")),
        ("commune", serde_json::json!("Rennes")),
        ("caf_number", serde_json::json!("1234567")),
        ("rsa_status", serde_json::json!("open")),
        ("rsa_since", serde_json::json!("2024-01-01")),
        ("job_seeker", serde_json::json!(true)),
    ] {
        push("person", person, field, value, counter);
    }
    let d = draft(person);
    push(
        "diagnostic",
        d.id,
        "create",
        serde_json::to_value(&d).unwrap(),
        counter,
    );
    for i in 0..57 {
        let edit = if i % 3 == 0 {
            DiagnosticEdit::AddNote {
                id: Uuid::now_v7(),
                theme: None,
                author: Interviewer::Caseworker,
                visibility: NoteVisibility::Shared,
                text: format!(
                    "Note d’entretien numéro {i} : la personne souhaite reprendre une formation."
                ),
            }
        } else {
            set_place(&format!("Lieu {i}"))
        };
        let value = serde_json::to_value(&edit).unwrap();
        let kind = value["kind"].as_str().unwrap().to_string();
        push("diagnostic", d.id, &kind, value, counter);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_sync_of_a_large_scope() {
    let persons: usize = std::env::var("TANDEM_SYNC_BENCH_PERSONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let structure = server.structure("A").await;
    let writer = server.device(structure).await;
    let reader = server.device(structure).await;
    let observer = server.device(structure).await;
    let client = server.client(&writer);

    let t = Instant::now();
    let mut counter = 0;
    let mut batch = Vec::new();
    let mut total = 0;
    let mut ids = Vec::with_capacity(persons);
    for n in 0..persons {
        let id = Uuid::now_v7();
        ids.push(id);
        batch.extend(person_changes(&writer, id, n, &mut counter));
        if batch.len() >= 1_400 || n + 1 == persons {
            total += batch.len();
            let r = client.push(&batch).await.unwrap();
            assert!(r
                .results
                .iter()
                .all(|r| !matches!(r.outcome, tandem_sync::Outcome::Refused { .. })));
            batch.clear();
        }
    }
    let seed_s = t.elapsed().as_secs_f64();

    // Whole first sync: HTTP pages of 5,000 and the case-file apply.
    let snapshot = std::env::var_os("TANDEM_SYNC_BENCH_JOURNAL").is_none();
    let mut laptop = Laptop::new(&server, dir.path(), &reader, 1);
    laptop.options = SyncOptions {
        pull_limit: 5_000,
        snapshot,
        ..SyncOptions::default()
    };
    let t = Instant::now();
    let report = laptop.sync().await.unwrap();
    let sync_s = t.elapsed().as_secs_f64();
    assert_eq!(report.pulled, total);
    assert_eq!(
        laptop.with(|f| f.search_persons("", 1).unwrap().total) as usize,
        persons
    );

    // The case-file apply alone: pages fetched first, then applied to a fresh file.
    let observer_client = server.client(&observer);
    let mut pages: Vec<PullResponse> = Vec::new();
    let t = Instant::now();
    let mut cursor = None;
    loop {
        let page = match &cursor {
            None if snapshot => observer_client.pull_snapshot(5_000).await.unwrap(),
            _ => observer_client.pull(cursor.as_ref(), 5_000).await.unwrap(),
        };
        cursor = Some(page.cursor.clone());
        let more = page.has_more;
        pages.push(page);
        if !more {
            break;
        }
    }
    let fetch_s = t.elapsed().as_secs_f64();
    // What the pages weigh on the wire: JSON, gzipped at the server's level (fastest).
    let (json_bytes, wire_bytes) = pages.iter().fold((0, 0), |(json, wire), p| {
        use std::io::Write as _;
        let body = serde_json::to_vec(p).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&body).unwrap();
        (json + body.len(), wire + gz.finish().unwrap().len())
    });
    let path = dir.path().join("apply-only.tandem");
    let mut file = CaseFile::create(&path, &key(9)).unwrap();
    file.set_sync_state(&server.base, observer.id).unwrap();
    let t = Instant::now();
    for page in &pages {
        file.apply_pull_page(page).unwrap();
    }
    let apply_s = t.elapsed().as_secs_f64();
    file.integrity_check().unwrap();
    assert_eq!(view(&file), laptop.view());
    let size = std::fs::metadata(&path).unwrap().len();
    println!(
        "first sync ({}) of {persons} persons, {total} changes, {} pages: server seeded in {seed_s:.1} s; \
         laptop sync {sync_s:.2} s = {:.0} changes/s; pull over HTTP alone {fetch_s:.2} s = {:.0} changes/s; \
         case-file apply alone {apply_s:.2} s = {:.0} changes/s; file {:.1} MB; \
         pages {:.1} MB of JSON, {:.1} MB gzipped",
        if snapshot { "snapshot" } else { "journal" },
        pages.len(),
        total as f64 / sync_s,
        total as f64 / fetch_s,
        total as f64 / apply_s,
        size as f64 / 1e6,
        json_bytes as f64 / 1e6,
        wire_bytes as f64 / 1e6,
    );

    // Incremental: 50 fields edited on one laptop, pushed, then pulled by another.
    let edits: Vec<Change> = ids
        .iter()
        .cycle()
        .take(50)
        .enumerate()
        .map(|(i, person)| {
            counter += 1;
            Change {
                mutation_id: Uuid::now_v7(),
                entity: "person".into(),
                record_id: *person,
                person_id: *person,
                field: if i < ids.len() { "phone" } else { "email" }.into(),
                value: serde_json::json!(format!("06 00 00 00 {:02}", i % 100)),
                base_version: None,
                hlc: Hlc {
                    wall_ms: now().timestamp_millis() as u64,
                    counter,
                    node: writer.id,
                },
                device_id: writer.id,
            }
        })
        .collect();
    let t = Instant::now();
    client.push(&edits).await.unwrap();
    let report = laptop.sync().await.unwrap();
    let incremental_ms = t.elapsed().as_secs_f64() * 1e3;
    assert_eq!(report.pulled, 50);

    if std::env::var_os("TANDEM_BENCH_LINES").is_some() {
        println!(
            "BENCH sync_first_changes_per_s {:.0}",
            total as f64 / sync_s
        );
        println!("BENCH sync_first_wire_mb {:.2}", wire_bytes as f64 / 1e6);
        println!("BENCH sync_incremental_50_ms {incremental_ms:.1}");
    }
}
