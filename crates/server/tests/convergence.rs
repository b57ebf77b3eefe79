//! Seeded random simulation: 2–8 laptops (in-process, each a map of registers and an outbox)
//! and one real server on loopback. Random creates, edits, notes, follow-up edits, consent
//! changes, deletions (tombstones), erasures, replays and sync schedules; after everyone syncs,
//! every laptop's visible data equals the server's for its scope. Runs on SQLite and on
//! PostgreSQL.
//! `TANDEM_SYNC_CASES` sets the number of cases (default 200), `TANDEM_SYNC_SEED` the first
//! seed.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{change, diagnostic_edit, Backend, Dev, Server};
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use serde_json::json;
use tandem_server::Role;
use tandem_sync::{register_key, Change, Conflict, Cursor, Outcome, Register, Versioned};
use uuid::Uuid;

type Key = (Uuid, String, Uuid, String);
type View = BTreeMap<Key, (Uuid, Option<Conflict>)>;

struct Laptop {
    dev: Dev,
    social: bool,
    registers: BTreeMap<Key, Register>,
    known: BTreeSet<Uuid>,
    pending: Vec<Change>,
    cursor: Option<Cursor>,
}

fn key_of(c: &Change) -> Key {
    let register = register_key(&c.entity, &c.field, &c.value, c.mutation_id);
    (c.person_id, c.entity.clone(), c.record_id, register)
}

impl Laptop {
    fn base(&self, person: Uuid, field: &str) -> Option<u64> {
        let key = (person, "person".to_string(), person, field.to_string());
        self.registers.get(&key).and_then(Register::latest_version)
    }

    async fn push(&mut self, server: &Server, rng: &mut StdRng) {
        if self.pending.is_empty() {
            return;
        }
        let mut batch = self.pending.clone();
        if rng.random_bool(0.3) {
            batch.shuffle(rng);
            let dup = batch.choose(rng).cloned().unwrap();
            batch.push(dup);
        }
        let response = server.push(&self.dev, &batch).await;
        // Sometimes the laptop "dies" before recording the answer: it will replay the batch.
        if rng.random_bool(0.2) {
            return;
        }
        let done: BTreeSet<Uuid> = response
            .results
            .iter()
            .filter(|r| {
                !matches!(
                    r.outcome,
                    Outcome::Refused {
                        reason: tandem_sync::RefusalReason::ClockAhead
                    }
                )
            })
            .map(|r| r.mutation_id)
            .collect();
        self.pending.retain(|c| !done.contains(&c.mutation_id));
    }

    async fn pull(&mut self, server: &Server, rng: &mut StdRng) {
        let limit = rng.random_range(1..6);
        loop {
            let page = server
                .pull_page(&self.dev, self.cursor.as_ref(), limit)
                .await;
            // One local transaction: removals, then changes, then the cursor.
            for person in &page.removals {
                self.registers.retain(|k, _| k.0 != *person);
                self.known.remove(person);
            }
            for v in page.changes {
                self.known.insert(v.change.person_id);
                self.registers
                    .entry(key_of(&v.change))
                    .or_default()
                    .insert(v);
            }
            self.cursor = Some(page.cursor);
            if !page.has_more {
                return;
            }
        }
    }

    fn view(&self) -> View {
        self.registers
            .iter()
            .filter_map(|(k, r)| Some((k.clone(), (r.winner()?.change.mutation_id, r.conflict()))))
            .collect()
    }
}

/// The server's data for a structure and role, read straight from its database.
async fn server_view(server: &Server, structure: Uuid, social: bool) -> View {
    let scope: BTreeMap<String, bool> = server
        .query(
            "SELECT person_id, share_social_notes FROM follow_up
             WHERE structure_id = ?1 AND consent = 1",
            vec![structure.into()],
        )
        .await
        .iter()
        .map(|r| (r.text(0).unwrap(), r.bool(1).unwrap()))
        .collect();
    let social_notes: BTreeSet<String> = server
        .query("SELECT note_id FROM notes WHERE social_only = 1", vec![])
        .await
        .iter()
        .map(|r| r.text(0).unwrap())
        .collect();
    let mut registers: BTreeMap<Key, Register> = BTreeMap::new();
    let rows = server
        .query(
            "SELECT seq, mutation_id, entity, record_id, person_id, field, value, base_version,
                    hlc_wall, hlc_counter, hlc_node, device_id, note_id FROM changes",
            vec![],
        )
        .await;
    for r in rows {
        let person = r.text(4).unwrap();
        let Some(share) = scope.get(&person) else {
            continue;
        };
        let note = r.opt_text(12).unwrap();
        if !social && !share && note.is_some_and(|n| social_notes.contains(&n)) {
            continue;
        }
        let change = Change {
            mutation_id: r.uuid(1).unwrap(),
            entity: r.text(2).unwrap(),
            record_id: r.uuid(3).unwrap(),
            person_id: r.uuid(4).unwrap(),
            field: r.text(5).unwrap(),
            value: serde_json::from_str(&r.text(6).unwrap()).unwrap(),
            base_version: r.opt_int(7).unwrap().map(|v| v as u64),
            hlc: tandem_sync::Hlc {
                wall_ms: r.int(8).unwrap() as u64,
                counter: r.int(9).unwrap() as u32,
                node: r.uuid(10).unwrap(),
            },
            device_id: r.uuid(11).unwrap(),
        };
        let version = r.int(0).unwrap() as u64;
        registers
            .entry(key_of(&change))
            .or_default()
            .insert(Versioned { version, change });
    }
    registers
        .iter()
        .map(|(k, r)| {
            (
                k.clone(),
                (r.winner().unwrap().change.mutation_id, r.conflict()),
            )
        })
        .collect()
}

/// Returns how many registers and open conflicts the laptops ended up showing, and how many
/// persons were deleted or erased on the server.
async fn run_case(backend: Backend, seed: u64) -> Result<(usize, usize, usize), String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let server = Server::start(backend).await;
    let mut structures = Vec::new();
    for i in 0..rng.random_range(2..=3) {
        structures.push(server.structure(&format!("S{i}")).await);
    }
    let mut laptops = Vec::new();
    for _ in 0..rng.random_range(2..=8) {
        let structure = *structures.choose(&mut rng).unwrap();
        let social = rng.random_bool(0.5);
        let role = if social {
            Role::Social
        } else {
            Role::Employment
        };
        laptops.push(Laptop {
            dev: server.device(structure, role).await,
            social,
            registers: BTreeMap::new(),
            known: BTreeSet::new(),
            pending: Vec::new(),
            cursor: None,
        });
    }
    let fields = ["first_name", "phone", "email"];
    for _ in 0..30 {
        let i = rng.random_range(0..laptops.len());
        let laptop = &mut laptops[i];
        let known: Vec<Uuid> = laptop.known.iter().copied().collect();
        match rng.random_range(0..10) {
            0 | 1 => {
                let person = Uuid::now_v7();
                laptop.known.insert(person);
                let c = change(
                    &laptop.dev,
                    person,
                    "first_name",
                    json!(format!("p{}", rng.random::<u16>())),
                    None,
                );
                laptop.pending.push(c);
            }
            2..=4 if !known.is_empty() => {
                let person = *known.choose(&mut rng).unwrap();
                let field = *fields.choose(&mut rng).unwrap();
                let base = laptop.base(person, field);
                let c = change(&laptop.dev, person, field, json!(rng.random::<u16>()), base);
                laptop.pending.push(c);
            }
            5 if !known.is_empty() && rng.random_bool(0.5) => {
                // A follow-up edit: every laptop renames one of the same two steps, so some
                // of them compete in a register and some do not.
                let person = *known.choose(&mut rng).unwrap();
                let step = Uuid::from_u128(rng.random_range(1..=2));
                let edit = json!({"kind": "set_step_text", "id": step, "field": "label",
                                  "value": format!("s{}", rng.random::<u16>())});
                let mut c = change(&laptop.dev, person, "set_step_text", edit, None);
                c.entity = tandem_sync::ENTITY_FOLLOWUP.into();
                c.base_version = laptop
                    .registers
                    .get(&key_of(&c))
                    .and_then(Register::latest_version);
                laptop.pending.push(c);
            }
            5 if !known.is_empty() => {
                let person = *known.choose(&mut rng).unwrap();
                let visibility = if rng.random_bool(0.5) {
                    "social_only"
                } else {
                    "shared"
                };
                let edit = json!({"kind": "add_note", "id": Uuid::now_v7(), "theme": null,
                                  "author": "caseworker", "visibility": visibility, "text": "note"});
                let c = diagnostic_edit(&laptop.dev, person, person, edit);
                laptop.pending.push(c);
            }
            6 if !known.is_empty() => {
                let person = *known.choose(&mut rng).unwrap();
                let target = *structures.choose(&mut rng).unwrap();
                let dev = laptop.dev.clone();
                server
                    .follow_up(
                        &dev,
                        person,
                        target,
                        rng.random_bool(0.6),
                        rng.random_bool(0.5),
                    )
                    .await;
            }
            7 if !known.is_empty() && rng.random_bool(0.2) => {
                // The caseworker deletes a person: a tombstone, pushed with the outbox.
                let person = *known.choose(&mut rng).unwrap();
                let c = change(&laptop.dev, person, "deleted", json!(true), None);
                laptop.pending.push(c);
            }
            8 if !known.is_empty() && rng.random_bool(0.1) => {
                // An administrator erases a person (GDPR). Not on the server yet: nothing to do.
                let person = *known.choose(&mut rng).unwrap();
                let now = tandem_server::now_ms();
                match server
                    .state
                    .with_store(move |s| s.erase_person(person, now))
                    .await
                {
                    Ok(_) | Err(tandem_server::http::ApiError::NotFound(_)) => {}
                    Err(e) => panic!("erasure: {e:?}"),
                }
            }
            _ => {
                laptop.push(&server, &mut rng).await;
                laptop.pull(&server, &mut rng).await;
            }
        }
    }
    // Everyone syncs until their outbox is empty, then everyone pulls once more.
    for laptop in laptops.iter_mut() {
        for _ in 0..20 {
            if laptop.pending.is_empty() {
                break;
            }
            laptop.push(&server, &mut rng).await;
        }
        if !laptop.pending.is_empty() {
            return Err(format!("seed {seed}: outbox never drained"));
        }
    }
    for laptop in laptops.iter_mut() {
        laptop.pull(&server, &mut rng).await;
    }
    let (mut registers, mut conflicts) = (0, 0);
    for (n, laptop) in laptops.iter().enumerate() {
        let want = server_view(&server, laptop.dev.structure, laptop.social).await;
        let got = laptop.view();
        if got != want {
            return Err(format!(
                "seed {seed}: laptop {n} differs from the server\n laptop: {got:?}\n server: {want:?}"
            ));
        }
        registers += got.len();
        conflicts += got.values().filter(|(_, c)| c.is_some()).count();
    }
    let gone = server
        .count(
            "SELECT count(*) FROM persons WHERE deleted_seq IS NOT NULL OR erased_seq IS NOT NULL",
        )
        .await;
    Ok((registers, conflicts, gone as usize))
}

async fn every_laptop_converges_to_the_servers_view_of_its_scope(backend: Backend) {
    let cases: u64 = std::env::var("TANDEM_SYNC_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let first: u64 = std::env::var("TANDEM_SYNC_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x7A4D_E000);
    let (mut registers, mut conflicts, mut gone) = (0, 0, 0);
    for seed in first..first + cases {
        match run_case(backend, seed).await {
            Ok((r, c, g)) => {
                (registers, conflicts, gone) = (registers + r, conflicts + c, gone + g)
            }
            Err(message) => {
                panic!("{message}\nrerun with TANDEM_SYNC_SEED={seed} TANDEM_SYNC_CASES=1")
            }
        }
    }
    eprintln!(
        "{backend:?}: {cases} cases: {registers} registers and {conflicts} open conflicts \
         compared, {gone} persons deleted or erased"
    );
    // The simulation must actually exercise data and conflicts, not compare empty maps.
    assert!(registers > cases as usize && (cases < 50 || conflicts > 0 && gone > 0));
}

both_backends!(every_laptop_converges_to_the_servers_view_of_its_scope);
