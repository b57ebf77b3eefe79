//! Crash safety: a writer process is killed (SIGKILL) at random points while it saves fields,
//! at least 50 times; after each kill the file must pass the integrity checks and hold every
//! save the writer reported as done, with its outbox entry.
//!
//! The writer is this test binary run again, selecting the hidden `crash_writer` test. It prints
//! `crash-writer-ready` once the file is open, then `ack <kind> <id> <counter>` after each save returned.
//! Values carry a counter that only grows, so a save that committed without its ack being read
//! shows as a higher counter, never a lower one.
//!
//! `TANDEM_CRASH_ITERATIONS` (default 50) and `TANDEM_CRASH_SEED` (default: from the clock,
//! printed) tune it. A SIGKILL loses the process, not the OS page cache: this proves the
//! transaction and WAL handling, not the disk's honesty about fsync.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tandem_domain::PersonField;
use tandem_store::CaseFile;
use uuid::Uuid;

const PATH_VAR: &str = "TANDEM_CRASH_PATH";
const KEY_VAR: &str = "TANDEM_CRASH_KEY";
const START_VAR: &str = "TANDEM_CRASH_START";
const PERSONS: usize = 4;
const READY: &str = "crash-writer-ready";

fn parse_key(hex: &str) -> [u8; 32] {
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    key
}

fn value_for(counter: u64) -> String {
    format!("c{counter:012}")
}

fn counter_of(value: &str) -> Option<u64> {
    value
        .split_whitespace()
        .find_map(|w| w.strip_prefix('c'))
        .and_then(|n| n.parse().ok())
}

/// The writer, run only as a child of `killed_writers_lose_no_acknowledged_save`.
#[test]
#[ignore = "run by crash_safety as a child process"]
fn crash_writer() {
    let Ok(path) = std::env::var(PATH_VAR) else {
        return;
    };
    let key = parse_key(&std::env::var(KEY_VAR).unwrap());
    let mut counter: u64 = std::env::var(START_VAR).unwrap().parse().unwrap();
    let mut file = CaseFile::open(Path::new(&path), &key).unwrap();
    let persons: Vec<Uuid> = file
        .search_persons("", 100)
        .unwrap()
        .items
        .iter()
        .map(|p| p.id)
        .collect();
    let diagnostics: Vec<Uuid> = persons
        .iter()
        .flat_map(|p| file.diagnostics_of_person(*p).unwrap())
        .map(|s| s.id)
        .collect();
    let mut out = std::io::stdout().lock();
    // On the harness's own "test crash_writer ... " line: matched anywhere in a line.
    writeln!(out, "{READY}").unwrap();
    out.flush().unwrap();
    for i in 0usize.. {
        counter += 1;
        let value = value_for(counter);
        if i % 2 == 0 {
            let id = persons[(i / 2) % persons.len()];
            file.update_person_field(
                id,
                PersonField::Address,
                &format!("{value} rue du Test"),
                now(),
            )
            .unwrap();
            writeln!(out, "ack person {id} {counter}").unwrap();
        } else {
            let id = diagnostics[(i / 2) % diagnostics.len()];
            let edit = if i % 4 == 1 {
                place_edit(&value)
            } else {
                tandem_domain::diagnostic::DiagnosticEdit::SetField {
                    field: tandem_domain::diagnostic::DiagnosticField::PersonWishes,
                    value: value.clone(),
                }
            };
            file.edit_diagnostic(id, &edit, now(), |d| {
                // Both fields carry the latest counter, so one check covers either edit.
                if i % 4 == 1 {
                    d.place.clone_from(&value);
                } else {
                    d.person_words.wishes.clone_from(&value);
                }
                Ok(())
            })
            .unwrap();
            writeln!(out, "ack diagnostic {id} {counter}").unwrap();
        }
        out.flush().unwrap();
    }
}

fn set_up(path: &Path) {
    let mut file = CaseFile::create(path, &KEY).unwrap();
    file.save_profile(&profile()).unwrap();
    for i in 0..PERSONS {
        let person = file
            .create_person(&new_person(&format!("Prénom{i}"), "Lefèvre", ""), now())
            .unwrap();
        let d = sample_diagnostic(person.id, Uuid::now_v7(), 1, Some("2026-11-20"), 20);
        file.insert_diagnostic(&d).unwrap();
    }
}

/// What the file holds now: the counter per (kind, id).
fn stored_counters(file: &CaseFile) -> HashMap<(String, Uuid), u64> {
    let mut found = HashMap::new();
    for p in file.search_persons("", 100).unwrap().items {
        let person = file.person(p.id).unwrap();
        if let Some(c) = counter_of(&person.address) {
            found.insert(("person".to_string(), p.id), c);
        }
        for s in file.diagnostics_of_person(p.id).unwrap() {
            let d = file.diagnostic(s.id).unwrap();
            let c = [counter_of(&d.place), counter_of(&d.person_words.wishes)]
                .into_iter()
                .flatten()
                .max();
            if let Some(c) = c {
                found.insert(("diagnostic".to_string(), s.id), c);
            }
        }
    }
    found
}

/// Every (record id, counter) the outbox holds, read in one pass.
fn outbox_counters(path: &Path) -> std::collections::HashSet<(Uuid, u64)> {
    let conn = raw_keyed(path, &KEY);
    let mut stmt = conn.prepare("SELECT record_id, value FROM outbox").unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .unwrap();
    let mut found = std::collections::HashSet::new();
    for row in rows {
        let (id, value) = row.unwrap();
        let Ok(id) = Uuid::parse_str(&id) else {
            continue;
        };
        let bytes = value.as_bytes();
        for (i, _) in value.match_indices('c') {
            let digits = bytes.get(i + 1..i + 13);
            if let Some(d) = digits.filter(|d| d.iter().all(u8::is_ascii_digit)) {
                if let Ok(n) = std::str::from_utf8(d).unwrap().parse() {
                    found.insert((id, n));
                }
            }
        }
    }
    found
}

#[test]
fn killed_writers_lose_no_acknowledged_save() {
    let iterations: usize = std::env::var("TANDEM_CRASH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let seed: u64 = std::env::var("TANDEM_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    eprintln!("crash safety: {iterations} iterations, TANDEM_CRASH_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = case_path(&dir);
    set_up(&path);
    let exe = std::env::current_exe().unwrap();
    let started = Instant::now();

    // The highest counter known to be committed, per field.
    let mut committed: HashMap<(String, Uuid), u64> = HashMap::new();
    let mut total_acks = 0usize;
    let mut empty_runs = 0usize;
    for iteration in 0..iterations {
        let start = (iteration as u64 + 1) * 1_000_000;
        let mut child = Command::new(&exe)
            .args(["crash_writer", "--exact", "--ignored", "--nocapture"])
            .args(["--test-threads", "1"])
            .env(PATH_VAR, &path)
            .env(KEY_VAR, hex(&KEY))
            .env(START_VAR, start.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut acks = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.ends_with(READY) {
                    let _ = ready_tx.send(());
                } else if let Some(rest) = line.strip_prefix("ack ") {
                    let parts: Vec<&str> = rest.split(' ').collect();
                    acks.push((
                        parts[0].to_string(),
                        Uuid::parse_str(parts[1]).unwrap(),
                        parts[2].parse::<u64>().unwrap(),
                    ));
                }
            }
            acks
        });
        ready_rx
            .recv_timeout(Duration::from_secs(20))
            .expect("writer started");
        let delay = rng.random_range(5..=80);
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().unwrap(); // SIGKILL on Unix
        let status = child.wait().unwrap();
        assert!(!status.success(), "the writer never stops by itself");
        let acks = reader.join().unwrap();
        if acks.is_empty() {
            empty_runs += 1;
        }
        total_acks += acks.len();

        let file = CaseFile::open(&path, &KEY)
            .unwrap_or_else(|e| panic!("iteration {iteration} (seed {seed}): reopen: {e:?}"));
        file.integrity_check()
            .unwrap_or_else(|e| panic!("iteration {iteration} (seed {seed}): {e:?}"));
        let stored = stored_counters(&file);
        drop(file);
        for (kind, id, counter) in &acks {
            let key = (kind.clone(), *id);
            let entry = committed.entry(key).or_insert(0);
            *entry = (*entry).max(*counter);
        }
        for (key, expected) in &committed {
            let found = stored.get(key).copied().unwrap_or(0);
            assert!(
                found >= *expected,
                "iteration {iteration} (seed {seed}): {key:?} holds {found}, acked {expected}"
            );
            assert!(
                found < start + 1_000_000,
                "iteration {iteration}: {key:?} holds a value never written ({found})"
            );
        }
        // Every acked save has its outbox entry (same transaction).
        let outbox = outbox_counters(&path);
        for (_, id, counter) in &acks {
            assert!(
                outbox.contains(&(*id, *counter)),
                "iteration {iteration} (seed {seed}): no outbox entry for {id} {counter}"
            );
        }
        // Whatever committed beyond the acks counts as committed from now on.
        for (key, found) in stored {
            let entry = committed.entry(key).or_insert(0);
            *entry = (*entry).max(found);
        }
    }
    eprintln!(
        "crash safety: {iterations} kills, {total_acks} acknowledged saves ({empty_runs} runs \
         killed before the first ack), {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        total_acks >= iterations,
        "the kills should land while saves are happening ({total_acks} acks)"
    );
}
