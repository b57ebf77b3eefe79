//! Seeded random simulation: 2–8 laptops (in-process, each a map of registers and an outbox)
//! and one real server on loopback. Random creates, edits, notes, consent changes, replays and
//! sync schedules; after everyone syncs, every laptop's visible data equals the server's for
//! its scope. `TANDEM_SYNC_CASES` sets the number of cases (default 200), `TANDEM_SYNC_SEED`
//! the first seed.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{change, diagnostic_edit, Dev, Server};
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
fn server_view(server: &Server, structure: Uuid, social: bool) -> View {
    let db = server.db();
    let scope: BTreeMap<String, bool> = db
        .prepare("SELECT person_id, share_social_notes FROM follow_up WHERE structure_id = ?1 AND consent = 1")
        .unwrap()
        .query_map([structure.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let social_notes: BTreeSet<String> = db
        .prepare("SELECT note_id FROM notes WHERE social_only")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut registers: BTreeMap<Key, Register> = BTreeMap::new();
    let mut stmt = db
        .prepare("SELECT seq, mutation_id, entity, record_id, person_id, field, value, base_version, hlc_wall, hlc_counter, hlc_node, device_id, note_id FROM changes")
        .unwrap();
    let mut rows = stmt.query([]).unwrap();
    while let Some(r) = rows.next().unwrap() {
        let person: String = r.get(4).unwrap();
        let Some(share) = scope.get(&person) else {
            continue;
        };
        let note: Option<String> = r.get(12).unwrap();
        if !social && !share && note.is_some_and(|n| social_notes.contains(&n)) {
            continue;
        }
        let id = |i: usize| Uuid::parse_str(&r.get::<_, String>(i).unwrap()).unwrap();
        let change = Change {
            mutation_id: id(1),
            entity: r.get(2).unwrap(),
            record_id: id(3),
            person_id: id(4),
            field: r.get(5).unwrap(),
            value: serde_json::from_str(&r.get::<_, String>(6).unwrap()).unwrap(),
            base_version: r.get::<_, Option<i64>>(7).unwrap().map(|v| v as u64),
            hlc: tandem_sync::Hlc {
                wall_ms: r.get::<_, i64>(8).unwrap() as u64,
                counter: r.get::<_, i64>(9).unwrap() as u32,
                node: id(10),
            },
            device_id: id(11),
        };
        let version = r.get::<_, i64>(0).unwrap() as u64;
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

/// Returns how many registers and open conflicts the laptops ended up showing.
async fn run_case(seed: u64) -> Result<(usize, usize), String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let server = Server::start().await;
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
        let want = server_view(&server, laptop.dev.structure, laptop.social);
        let got = laptop.view();
        if got != want {
            return Err(format!(
                "seed {seed}: laptop {n} differs from the server\n laptop: {got:?}\n server: {want:?}"
            ));
        }
        registers += got.len();
        conflicts += got.values().filter(|(_, c)| c.is_some()).count();
    }
    Ok((registers, conflicts))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_laptop_converges_to_the_servers_view_of_its_scope() {
    let cases: u64 = std::env::var("TANDEM_SYNC_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let first: u64 = std::env::var("TANDEM_SYNC_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x7A4D_E000);
    let (mut registers, mut conflicts) = (0, 0);
    for seed in first..first + cases {
        match run_case(seed).await {
            Ok((r, c)) => (registers, conflicts) = (registers + r, conflicts + c),
            Err(message) => {
                panic!("{message}\nrerun with TANDEM_SYNC_SEED={seed} TANDEM_SYNC_CASES=1")
            }
        }
    }
    eprintln!("{cases} cases: {registers} registers and {conflicts} open conflicts compared");
    // The simulation must actually exercise data and conflicts, not compare empty maps.
    assert!(registers > cases as usize && (cases < 50 || conflicts > 0));
}
