//! The snapshot form of a first pull: the current state of each record instead of its whole
//! journal. A laptop that has never pulled gets, per register, only its *heads* (the changes
//! nobody superseded, winner first) and the register's highest version: exactly what a case
//! file keeps after replaying the journal, without the superseded autosaves.
//!
//! The form is dense because what does not compress is left out: a head carries its field,
//! value, version, clock and device (an index into the page's device table), as small deltas
//! from the previous register of the same record. The mutation id, random and 16 bytes, travels
//! only where a laptop needs it: its own changes (to recognise them in its outbox), the heads
//! of a register in conflict (shown and resolved by id), and a register whose key derives from
//! it (an edit kind this build does not know). Every other head gets [`snapshot_mutation_id`]:
//! a stand-in derived from its version, which is unique too.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::hlc::Hlc;
use crate::merge::{register_key, Versioned};
use crate::wire::Change;

/// The records of one snapshot page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The devices that wrote the values of this page; registers refer to them by index.
    pub devices: Vec<Uuid>,
    /// Person by person, each person's records in the order they were created.
    pub records: Vec<SnapshotRecord>,
    /// How many journal changes the page stands for (superseded ones included): progress.
    pub changes: u64,
}

/// One record's registers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotRecord {
    #[serde(rename = "p")]
    pub person_id: Uuid,
    /// `person` or `diagnostic`.
    #[serde(rename = "e")]
    pub entity: String,
    /// The record's id; absent when it is the person's own record (the same id).
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    pub record_id: Option<Uuid>,
    /// In the order the registers were first written (a diagnostic's `create` first, a note
    /// before its text).
    #[serde(rename = "s")]
    pub registers: Vec<SnapshotRegister>,
}

/// One register: its winning change in compact form, and the other heads in full if it is in
/// conflict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotRegister {
    /// The winning change's field (a person field, or the diagnostic edit kind).
    #[serde(rename = "f")]
    pub field: String,
    #[serde(rename = "v")]
    pub value: serde_json::Value,
    /// The winner's version minus the previous register's winner version in this page (the
    /// page's first register: minus 0).
    #[serde(rename = "n")]
    pub version: i64,
    /// The register's highest version minus the winner's, when a superseded change or another
    /// head came later.
    #[serde(rename = "x", default, skip_serializing_if = "is_zero")]
    pub later: u64,
    /// The winner's version minus its `base_version`, if it had one.
    #[serde(rename = "b", default, skip_serializing_if = "Option::is_none")]
    pub base: Option<u64>,
    /// The winner's clock: wall time and counter minus the previous register's in this page.
    #[serde(rename = "w")]
    pub wall: i64,
    #[serde(rename = "c")]
    pub counter: i64,
    /// Index of the winner's device in [`Snapshot::devices`].
    #[serde(rename = "d", default, skip_serializing_if = "is_zero")]
    pub device: u64,
    /// Index of the clock's node when it is not the device.
    #[serde(rename = "o", default, skip_serializing_if = "Option::is_none")]
    pub node: Option<u64>,
    /// The winner's mutation id, when the laptop needs the real one (see the module doc).
    #[serde(rename = "m", default, skip_serializing_if = "Option::is_none")]
    pub mutation_id: Option<Uuid>,
    /// The other heads of a register in conflict, in full, in `heads()` order.
    #[serde(rename = "h", default, skip_serializing_if = "Vec::is_empty")]
    pub others: Vec<Versioned>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The stand-in mutation id of a head sent without its own: derived from its version (unique
/// on the server), in a UUID version (8) that laptops never generate.
pub fn snapshot_mutation_id(version: u64) -> Uuid {
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(b"tandem");
    bytes[8..].copy_from_slice(&version.to_be_bytes());
    bytes[6] = 0x80; // version 8
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
    Uuid::from_bytes(bytes)
}

/// One register as the server computed it: its key, heads (winner first) and highest version.
pub struct RegisterHeads {
    pub register: String,
    pub heads: Vec<Versioned>,
    pub latest_version: u64,
}

/// Builds a snapshot page for one device.
pub struct SnapshotBuilder {
    requester: Uuid,
    /// The previous register's version, wall time and counter (deltas run across records).
    last: (i64, i64, i64),
    devices: HashMap<Uuid, u64>,
    snapshot: Snapshot,
}

impl SnapshotBuilder {
    /// `requester` is the pulling device: its own changes keep their mutation ids.
    pub fn new(requester: Uuid) -> Self {
        SnapshotBuilder {
            requester,
            last: (0, 0, 0),
            devices: HashMap::new(),
            snapshot: Snapshot::default(),
        }
    }

    fn device(&mut self, id: Uuid) -> u64 {
        let next = self.devices.len() as u64;
        *self.devices.entry(id).or_insert_with(|| {
            self.snapshot.devices.push(id);
            next
        })
    }

    /// Adds a record's registers, in the order they were first written. Registers without
    /// heads are skipped. `changes` is how many journal changes they stand for.
    pub fn record(
        &mut self,
        person_id: Uuid,
        entity: &str,
        record_id: Uuid,
        registers: Vec<RegisterHeads>,
        changes: u64,
    ) {
        let mut out = Vec::with_capacity(registers.len());
        let (mut version, mut wall, mut counter) = self.last;
        for r in registers {
            let mut heads = r.heads.into_iter();
            let Some(winner) = heads.next() else {
                continue;
            };
            let others: Vec<Versioned> = heads.collect();
            let c = &winner.change;
            let needs_id = !others.is_empty()
                || c.device_id == self.requester
                || register_key(
                    entity,
                    &c.field,
                    &c.value,
                    snapshot_mutation_id(winner.version),
                ) != r.register;
            let device = self.device(c.device_id);
            let node = (c.hlc.node != c.device_id).then(|| self.device(c.hlc.node));
            let v = winner.version as i64;
            let w = c.hlc.wall_ms as i64;
            let n = i64::from(c.hlc.counter);
            let (field, base) = (c.field.clone(), c.base_version);
            let mutation_id = needs_id.then_some(c.mutation_id);
            out.push(SnapshotRegister {
                field,
                value: winner.change.value,
                version: v.wrapping_sub(version),
                later: r.latest_version.saturating_sub(winner.version),
                base: base.map(|b| winner.version.saturating_sub(b)),
                wall: w.wrapping_sub(wall),
                counter: n - counter,
                device,
                node,
                mutation_id,
                others,
            });
            (version, wall, counter) = (v, w, n);
        }
        self.last = (version, wall, counter);
        if out.is_empty() {
            return;
        }
        self.snapshot.changes += changes;
        self.snapshot.records.push(SnapshotRecord {
            person_id,
            entity: entity.to_string(),
            record_id: (record_id != person_id).then_some(record_id),
            registers: out,
        });
    }

    pub fn finish(self) -> Snapshot {
        self.snapshot
    }
}

impl Snapshot {
    /// The page's registers in order, each as its heads (winner first) and highest version;
    /// `None` if the page refers to a device it does not list.
    pub fn registers(&self) -> Option<Vec<(Vec<Versioned>, u64)>> {
        let mut out = Vec::new();
        let (mut version, mut wall, mut counter) = (0i64, 0i64, 0i64);
        for record in &self.records {
            let record_id = record.record_id.unwrap_or(record.person_id);
            for r in &record.registers {
                version = version.wrapping_add(r.version);
                wall = wall.wrapping_add(r.wall);
                counter += r.counter;
                let device = *self.devices.get(usize::try_from(r.device).ok()?)?;
                let node = match r.node {
                    Some(i) => *self.devices.get(usize::try_from(i).ok()?)?,
                    None => device,
                };
                let v = version as u64;
                let winner = Versioned {
                    version: v,
                    change: Change {
                        mutation_id: r.mutation_id.unwrap_or_else(|| snapshot_mutation_id(v)),
                        entity: record.entity.clone(),
                        record_id,
                        person_id: record.person_id,
                        field: r.field.clone(),
                        value: r.value.clone(),
                        base_version: r.base.map(|b| v.saturating_sub(b)),
                        hlc: Hlc {
                            wall_ms: wall as u64,
                            counter: u32::try_from(counter).ok()?,
                            node,
                        },
                        device_id: device,
                    },
                };
                let mut heads = Vec::with_capacity(1 + r.others.len());
                heads.push(winner);
                heads.extend(r.others.iter().cloned());
                out.push((heads, v + r.later));
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(version: u64, field: &str, device: u128, base: Option<u64>) -> Versioned {
        Versioned {
            version,
            change: Change {
                mutation_id: Uuid::now_v7(),
                entity: "person".into(),
                record_id: Uuid::from_u128(1),
                person_id: Uuid::from_u128(1),
                field: field.into(),
                value: serde_json::json!(format!("v{version}")),
                base_version: base,
                hlc: Hlc {
                    wall_ms: 1_700_000_000_000 + version * 3,
                    counter: version as u32,
                    node: Uuid::from_u128(device),
                },
                device_id: Uuid::from_u128(device),
            },
        }
    }

    #[test]
    fn registers_round_trip_with_stand_in_ids_except_where_needed() {
        let own = Uuid::from_u128(2);
        let mut b = SnapshotBuilder::new(own);
        let phone = head(10, "phone", 3, Some(4));
        let email = head(7, "email", 2, None);
        let (conflict_w, conflict_l) = (head(12, "commune", 3, None), head(11, "commune", 4, None));
        b.record(
            Uuid::from_u128(1),
            "person",
            Uuid::from_u128(1),
            vec![
                RegisterHeads {
                    register: "phone".into(),
                    heads: vec![phone.clone()],
                    latest_version: 15,
                },
                RegisterHeads {
                    register: "email".into(),
                    heads: vec![email.clone()],
                    latest_version: 7,
                },
                RegisterHeads {
                    register: "commune".into(),
                    heads: vec![conflict_w.clone(), conflict_l.clone()],
                    latest_version: 12,
                },
            ],
            9,
        );
        let snapshot = b.finish();
        assert_eq!(snapshot.changes, 9);
        let json = serde_json::to_string(&snapshot).unwrap();
        let back: Snapshot = serde_json::from_str(&json).unwrap();
        let regs = back.registers().unwrap();
        let mut expected_phone = phone.clone();
        expected_phone.change.mutation_id = snapshot_mutation_id(10);
        assert_eq!(regs[0], (vec![expected_phone], 15));
        assert_eq!(regs[1], (vec![email], 7), "own change keeps its id");
        assert_eq!(regs[2], (vec![conflict_w, conflict_l], 12));
        assert_ne!(snapshot_mutation_id(10), snapshot_mutation_id(11));
        assert_eq!(snapshot_mutation_id(10).get_version_num(), 8);
    }
}
