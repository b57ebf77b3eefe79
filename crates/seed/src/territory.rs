//! A synthetic territory on a territory server: structures, caseworkers with their devices, and
//! persons journalled as the laptops would push them, with follow-up groups, consent and
//! diagnostics. Everything goes through `tandem-server`'s library API (`Store`), one transaction
//! per pushed batch, so the server's own rules (access, audit, journal) hold for seeded data.
//!
//! Content is deterministic for a seed: which structures, caseworkers and persons exist, who
//! follows whom, every value and every mutation id. The server draws the ids of structures and
//! devices and the tokens itself, so those differ from run to run.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use tandem_domain::{Person, PersonField, Profile, DEFAULT_LOCK_AFTER_MINUTES};
use tandem_server::{Device, Role, Store};
use tandem_sync::{Change, FollowUpRequest, Hlc, Outcome, ENTITY_DIAGNOSTIC, ENTITY_PERSON};
use uuid::Uuid;

use crate::{pick, random_uuid_v7, synthetic_diagnostics, synthetic_persons, COMMUNES};

/// Changes per pushed batch: one transaction each.
pub const BATCH: usize = 2_000;

/// The kinds of structures of a territory: (kind, name prefix, role of its caseworkers).
const KINDS: &[(&str, &str, Role)] = &[
    ("ccas", "CCAS de", Role::Social),
    (
        "departement",
        "Maison départementale des solidarités de",
        Role::Social,
    ),
    ("france_travail", "France Travail", Role::Employment),
    ("mission_locale", "Mission locale de", Role::Employment),
    ("cap_emploi", "Cap emploi", Role::Employment),
    ("association", "Association d’insertion de", Role::Social),
];

/// What to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerritoryPlan {
    pub structures: usize,
    pub caseworkers: usize,
    pub persons: usize,
    pub seed: u64,
    /// Whether persons followed by a social structure get diagnostics (about 60 % of them).
    pub diagnostics: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum TerritoryError {
    #[error("a territory needs at least one structure")]
    NoStructure,
    #[error("every structure needs a caseworker: --caseworkers must be at least --structures")]
    TooFewCaseworkers,
    #[error("the server: {0}")]
    Server(#[from] tandem_server::StoreError),
    #[error("the server refused a seeded change: {0}")]
    Refused(String),
    #[error("a generated diagnostic was refused: {0}")]
    Diagnostic(#[from] tandem_domain::diagnostic_rules::DiagnosticError),
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeededStructure {
    pub id: Uuid,
    pub name: String,
    pub kind: &'static str,
    pub role: Role,
}

/// A caseworker's device and the bearer token it syncs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeededDevice {
    pub id: Uuid,
    pub structure: usize,
    pub caseworker: String,
    pub role: Role,
    pub token: String,
}

impl SeededDevice {
    /// `social` or `employment`, as the server's admin command spells it.
    pub fn role_name(&self) -> &'static str {
        match self.role {
            Role::Social => "social",
            Role::Employment => "employment",
        }
    }
}

/// A person and the structures (indexes) of its follow-up group, the first being the one that
/// created it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeededPerson {
    pub id: Uuid,
    pub group: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Territory {
    pub structures: Vec<SeededStructure>,
    pub devices: Vec<SeededDevice>,
    pub persons: Vec<SeededPerson>,
    /// Journalled changes (person fields and diagnostics).
    pub changes: usize,
    pub diagnostics: usize,
}

/// Fills `store` per `plan`. `now` is the reference instant of the synthetic content (and the
/// wall clock of its stamps); `server_now_ms` is what the server records as the time of writes.
pub fn seed_territory(
    store: &mut Store,
    plan: &TerritoryPlan,
    now: DateTime<Utc>,
    server_now_ms: i64,
) -> Result<Territory, TerritoryError> {
    if plan.structures == 0 {
        return Err(TerritoryError::NoStructure);
    }
    if plan.caseworkers < plan.structures {
        return Err(TerritoryError::TooFewCaseworkers);
    }
    let mut rng = StdRng::seed_from_u64(plan.seed ^ 0x7E22_1702_5EED);
    let wall_ms = u64::try_from(now.timestamp_millis()).unwrap_or(0);

    let mut structures = Vec::with_capacity(plan.structures);
    for i in 0..plan.structures {
        let (kind, prefix, role) = KINDS[i % KINDS.len()];
        let (commune, _, _) = *COMMUNES.choose(&mut rng).unwrap_or(&COMMUNES[0]);
        let name = format!("{prefix} {commune}");
        let id = store.add_structure(&name, kind, server_now_ms)?;
        structures.push(SeededStructure {
            id,
            name,
            kind,
            role,
        });
    }

    let mut devices = Vec::with_capacity(plan.caseworkers);
    for i in 0..plan.caseworkers {
        let structure = i % plan.structures;
        let caseworker = format!(
            "{} {}",
            pick(&mut rng, crate::FIRST_NAMES),
            pick(&mut rng, crate::LAST_NAMES)
        );
        let role = structures[structure].role;
        // As an administrator would: a caseworker account, a one-time code, and the laptop
        // trading the code for its credential.
        let account =
            store.add_caseworker(structures[structure].id, &caseworker, role, server_now_ms)?;
        let code = store.add_enrolment_code(account, 1, server_now_ms)?;
        let enrolled = store.enrol(
            &code.code,
            &format!("Portable de {caseworker}"),
            server_now_ms,
        )?;
        let (id, token) = (enrolled.device_id, enrolled.token);
        devices.push(SeededDevice {
            id,
            structure,
            caseworker,
            role,
            token,
        });
    }
    let mut by_structure: Vec<Vec<usize>> = vec![Vec::new(); plan.structures];
    for (i, device) in devices.iter().enumerate() {
        by_structure[device.structure].push(i);
    }

    let people = synthetic_persons(plan.persons, plan.seed, now);
    let mut persons = Vec::with_capacity(people.len());
    // Per device: the changes it pushes, in order.
    let mut outbox: BTreeMap<usize, Vec<Change>> = BTreeMap::new();
    let mut counter = 0u32;
    let mut stamp = |rng: &mut StdRng, device: &SeededDevice| {
        counter = counter.wrapping_add(1);
        (
            random_uuid_v7(rng, now.timestamp_millis()),
            Hlc {
                wall_ms,
                counter,
                node: device.id,
            },
        )
    };
    for person in &people {
        let home = rng.random_range(0..plan.structures);
        let author = *by_structure[home].choose(&mut rng).unwrap_or(&0);
        let value = serde_json::to_value(person)?;
        for field in PersonField::ALL {
            let Some(field_value) = value.get(field.name()) else {
                continue;
            };
            if !is_set(field, field_value) {
                continue;
            }
            let (mutation_id, hlc) = stamp(&mut rng, &devices[author]);
            outbox.entry(author).or_default().push(Change {
                mutation_id,
                entity: ENTITY_PERSON.into(),
                record_id: person.id,
                person_id: person.id,
                field: field.name().into(),
                value: field_value.clone(),
                base_version: None,
                hlc,
                device_id: devices[author].id,
            });
        }
        // About 4 in 10 are followed by more than one structure: one or two others.
        let mut group = vec![home];
        if plan.structures > 1 && rng.random_bool(0.4) {
            for _ in 0..rng.random_range(1..=2) {
                let other = rng.random_range(0..plan.structures);
                if !group.contains(&other) {
                    group.push(other);
                }
            }
        }
        persons.push((person, author, group));
    }
    let mut changes = push_all(store, &devices, outbox, server_now_ms)?;

    for (person, author, group) in &persons {
        let device = as_device(&structures, &devices[*author]);
        for &other in &group[1..] {
            let request = FollowUpRequest {
                person_id: person.id,
                structure_id: structures[other].id,
                consent: true,
                share_social_notes: rng.random_bool(0.3),
            };
            store.follow_up(&device, &request, server_now_ms)?;
        }
    }

    let mut diagnostics = 0;
    if plan.diagnostics {
        // Diagnostics are written by a social caseworker of the person's home structure, the way
        // its laptop would journal them (`create`, the whole diagnostic).
        let mut outbox: BTreeMap<usize, Vec<Change>> = BTreeMap::new();
        for (s, structure) in structures.iter().enumerate() {
            if structure.role != Role::Social {
                continue;
            }
            let homed: Vec<Person> = persons
                .iter()
                .filter(|(_, _, group)| group[0] == s)
                .map(|(person, _, _)| (*person).clone())
                .collect();
            let Some(&author) = by_structure[s].first() else {
                continue;
            };
            let profile = Profile {
                id: random_uuid_v7(&mut rng, now.timestamp_millis()),
                caseworker_name: devices[author].caseworker.clone(),
                structure_name: structure.name.clone(),
                role: tandem_domain::Role::Social,
                lock_after_minutes: DEFAULT_LOCK_AFTER_MINUTES,
            };
            let seed = plan.seed.wrapping_add(s as u64);
            for diagnostic in synthetic_diagnostics(&homed, &profile, seed, now)? {
                let (mutation_id, hlc) = stamp(&mut rng, &devices[author]);
                outbox.entry(author).or_default().push(Change {
                    mutation_id,
                    entity: ENTITY_DIAGNOSTIC.into(),
                    record_id: diagnostic.id,
                    person_id: diagnostic.person_id,
                    field: "create".into(),
                    value: serde_json::to_value(&diagnostic)?,
                    base_version: None,
                    hlc,
                    device_id: devices[author].id,
                });
                diagnostics += 1;
            }
        }
        changes += push_all(store, &devices, outbox, server_now_ms)?;
    }

    Ok(Territory {
        structures,
        devices,
        persons: persons
            .into_iter()
            .map(|(person, _, group)| SeededPerson {
                id: person.id,
                group,
            })
            .collect(),
        changes,
        diagnostics,
    })
}

/// Whether a field holds something a blank record does not (what a laptop journals).
fn is_set(field: PersonField, value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(s) => {
            !(s.is_empty() || (field == PersonField::RsaStatus && s == "none"))
        }
        serde_json::Value::Bool(b) => *b,
        serde_json::Value::Null => false,
        _ => true,
    }
}

fn as_device(structures: &[SeededStructure], device: &SeededDevice) -> Device {
    Device {
        id: device.id,
        structure_id: structures[device.structure].id,
        role: device.role,
        revoked: false,
    }
}

/// Pushes every device's changes in batches of [`BATCH`]; any refusal is an error (seeded data
/// must be exactly what was planned).
fn push_all(
    store: &mut Store,
    devices: &[SeededDevice],
    outbox: BTreeMap<usize, Vec<Change>>,
    server_now_ms: i64,
) -> Result<usize, TerritoryError> {
    let mut pushed = 0;
    for (author, changes) in outbox {
        let device = store
            .authenticate(&devices[author].token)?
            .ok_or(TerritoryError::Refused("unknown seeded device".into()))?;
        for batch in changes.chunks(BATCH) {
            for result in store.push(&device, batch, server_now_ms)? {
                match result.outcome {
                    Outcome::Applied { .. } => pushed += 1,
                    other => return Err(TerritoryError::Refused(format!("{other:?}"))),
                }
            }
        }
    }
    Ok(pushed)
}

/// Writes the tokens as a tab-separated file, readable by its owner only (tokens are secrets):
/// `device_id, structure_id, structure, role, caseworker, token`. Refuses to overwrite.
pub fn write_tokens(path: &Path, territory: &Territory) -> Result<(), TerritoryError> {
    let io = |source| TerritoryError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = std::io::BufWriter::new(options.open(path).map_err(io)?);
    writeln!(
        file,
        "device_id\tstructure_id\tstructure\trole\tcaseworker\ttoken"
    )
    .map_err(io)?;
    for device in &territory.devices {
        let structure = &territory.structures[device.structure];
        writeln!(
            file,
            "{}\t{}\t{}\t{}\t{}\t{}",
            device.id,
            structure.id,
            structure.name,
            device.role_name(),
            device.caseworker,
            device.token
        )
        .map_err(io)?;
    }
    file.flush().map_err(io)
}
