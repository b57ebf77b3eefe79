//! Merge rules. Every change is journalled; what a record shows is computed per *register* (one
//! independently edited value: a person field, one diagnostic field, one note's text, …):
//!
//! - a change `d` *supersedes* `c` in the same register when `d` sorts after `c` on
//!   `(hlc, device_id)` and its author had seen `c`: either `d.base_version >= c.version` (the
//!   laptop had pulled `c`) or both come from the same device (a laptop sees its own edits);
//! - the *heads* are the changes nobody superseded; the value shown is the head that sorts
//!   last on `(hlc, device_id)` (which is also the last of all changes), and when there are other
//!   heads the register is in conflict: their values are kept and shown to people to resolve;
//! - resolving is an ordinary change made after pulling every head, which supersedes them all.
//!
//! All of this is a function of the *set* of changes: order of arrival and duplicates do not
//! matter (see the property test below).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::hlc::Hlc;
use crate::wire::Change;

/// A change with the version the server gave it: its commit sequence number, unique across
/// the server and increasing in commit order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Versioned {
    pub version: u64,
    #[serde(flatten)]
    pub change: Change,
}

impl Versioned {
    fn order_key(&self) -> (Hlc, Uuid) {
        (self.change.hlc, self.change.device_id)
    }
}

/// The register a change writes. Person fields are registers of their own. A diagnostic edit is
/// journalled under its kind with the whole edit as value, so the register is derived from the
/// edit: `set_field` of `date` and of `place` must not compete, and editing a note's text must
/// not compete with changing its visibility. Notes are append-only: `add_note` creates the note
/// once, and later texts are new values of that note's `text` register, never merged text.
/// An edit kind this build does not know gets a register of its own (its mutation id), so it
/// can never be lost to another one.
pub fn register_key(
    entity: &str,
    field: &str,
    value: &serde_json::Value,
    mutation: Uuid,
) -> String {
    if entity == crate::ENTITY_FOLLOWUP {
        return followup_register(field, value, mutation);
    }
    if entity != crate::ENTITY_DIAGNOSTIC {
        return field.to_string();
    }
    let text = |name: &str| value.get(name).and_then(serde_json::Value::as_str);
    let keyed = |prefix: &str, name: &str, suffix: &str| match text(name) {
        Some(id) => format!("{prefix}/{id}{suffix}"),
        None => format!("{field}/{mutation}"),
    };
    match field {
        "create" | "set_contract_types" | "set_consent_structures" | "finalise" => field.into(),
        "set_field" => keyed("field", "field", ""),
        "set_grade" => keyed("grade", "theme", ""),
        "set_situations" => keyed("situations", "theme", ""),
        "add_note" => keyed("note", "id", ""),
        "edit_note" => keyed("note", "id", "/text"),
        "set_note_visibility" => keyed("note", "id", "/visibility"),
        "remove_note" => keyed("note", "id", "/removed"),
        "add_target_job" | "remove_target_job" => keyed("target_job", "code", ""),
        "add_objective" => keyed("objective", "id", ""),
        "remove_objective" => keyed("objective", "id", "/removed"),
        "add_action" => keyed("action", "id", ""),
        "remove_action" => keyed("action", "id", "/removed"),
        "set_action_field" => match (text("id"), text("field")) {
            (Some(id), Some(f)) => format!("action/{id}/{f}"),
            _ => format!("{field}/{mutation}"),
        },
        "sign_off" | "withdraw_sign_off" => keyed("sign_off", "signer", ""),
        _ => format!("{field}/{mutation}"),
    }
}

/// The register of a follow-up edit (entity `followup`, journalled under its kind with the whole
/// `FollowUpEdit` as value): keyed by what it targets, so that independent edits (two steps, the
/// label and the status of one step, two interviews) never compete, while two laptops setting
/// the same field of the same step do. Adding an element is a register of its own (`step/<id>`):
/// a retried add carries the same id and lands in the same register. A review group's decision is
/// keyed by its meeting: a corrected minute replaces the earlier one; so is the person's place on
/// its agenda (put on, taken off, the meeting moved). Every key has a `/`, so it
/// never meets a person field's register (same record id: the person's).
fn followup_register(field: &str, value: &serde_json::Value, mutation: Uuid) -> String {
    let text = |name: &str| value.get(name).and_then(serde_json::Value::as_str);
    let keyed = |prefix: &str, name: &str, suffix: &str| match text(name) {
        Some(id) => format!("{prefix}/{id}{suffix}"),
        None => format!("{field}/{mutation}"),
    };
    match field {
        "add_objective" => keyed("objective", "id", ""),
        "set_objective_status" => keyed("objective", "id", "/status"),
        "add_step" => keyed("step", "id", ""),
        "set_step_text" => match (text("id"), text("field")) {
            (Some(id), Some(f)) => format!("step/{id}/{f}"),
            _ => format!("{field}/{mutation}"),
        },
        "set_step_status" => keyed("step", "id", "/status"),
        "set_step_planned_dates" => keyed("step", "id", "/planned"),
        "set_step_actual_dates" => keyed("step", "id", "/actual"),
        "record_interview" => keyed("interview", "id", ""),
        "set_interview_attended" => keyed("interview", "id", "/attended"),
        "add_contract" => keyed("contract", "id", ""),
        "set_contract_end" => keyed("contract", "id", "/end"),
        "set_contract_objectives" => keyed("contract", "id", "/objectives"),
        "record_status_event" => keyed("status_event", "id", ""),
        "record_orientation" => keyed("orientation", "id", ""),
        "record_review_decision" => keyed("review_decision", "meeting_id", ""),
        "set_review_agenda" => keyed("review_agenda", "meeting_id", ""),
        _ => format!("{field}/{mutation}"),
    }
}

/// The open conflict of a register: the value shown and the concurrent ones kept beside it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Conflict {
    pub winner: Uuid,
    /// Mutation ids of the other heads, in `(hlc, device_id)` order.
    pub losers: Vec<Uuid>,
}

/// Every change journalled for one register.
#[derive(Debug, Clone, Default)]
pub struct Register {
    changes: BTreeMap<Uuid, Versioned>,
}

impl Register {
    /// Adds a change; `false` (and nothing changes) if its mutation id is already there.
    pub fn insert(&mut self, change: Versioned) -> bool {
        match self.changes.entry(change.change.mutation_id) {
            std::collections::btree_map::Entry::Occupied(_) => false,
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(change);
                true
            }
        }
    }

    /// Every change of the register, in mutation id order.
    pub fn iter(&self) -> impl Iterator<Item = &Versioned> {
        self.changes.values()
    }

    pub fn contains(&self, mutation_id: Uuid) -> bool {
        self.changes.contains_key(&mutation_id)
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The highest version journalled: what a laptop that pulled all of them puts in
    /// `base_version` when it edits this register.
    pub fn latest_version(&self) -> Option<u64> {
        self.changes.values().map(|c| c.version).max()
    }

    /// The changes nobody superseded, last (the winner) first.
    pub fn heads(&self) -> Vec<&Versioned> {
        let mut all: Vec<&Versioned> = self.changes.values().collect();
        all.sort_by_key(|c| std::cmp::Reverse(c.order_key()));
        // Sweep from the last change down: a change is superseded by a later one that saw it.
        let mut max_base_above: Option<u64> = None;
        let mut devices_above: Vec<Uuid> = Vec::new();
        let mut heads = Vec::new();
        for change in all {
            let seen_by_pull = max_base_above.is_some_and(|base| base >= change.version);
            let seen_by_device = devices_above.contains(&change.change.device_id);
            if !seen_by_pull && !seen_by_device {
                heads.push(change);
            }
            if let Some(base) = change.change.base_version {
                max_base_above = Some(max_base_above.map_or(base, |m| m.max(base)));
            }
            if !seen_by_device {
                devices_above.push(change.change.device_id);
            }
        }
        heads
    }

    /// The change whose value shows: the last on `(hlc, device_id)`.
    pub fn winner(&self) -> Option<&Versioned> {
        self.changes.values().max_by_key(|c| c.order_key())
    }

    /// The open conflict, if more than one change is a head.
    pub fn conflict(&self) -> Option<Conflict> {
        let heads = self.heads();
        let (winner, others) = heads.split_first()?;
        if others.is_empty() {
            return None;
        }
        Some(Conflict {
            winner: winner.change.mutation_id,
            losers: others.iter().rev().map(|c| c.change.mutation_id).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn change(
        n: u64,
        record: u128,
        field: &str,
        base: Option<u64>,
        wall: u64,
        device: u128,
    ) -> Versioned {
        Versioned {
            version: n,
            change: Change {
                mutation_id: Uuid::from_u128(1_000 + n as u128),
                entity: "person".into(),
                record_id: Uuid::from_u128(record),
                person_id: Uuid::from_u128(record),
                field: field.into(),
                value: serde_json::json!(format!("value {n}")),
                base_version: base,
                hlc: Hlc {
                    wall_ms: wall,
                    counter: 0,
                    node: Uuid::from_u128(device),
                },
                device_id: Uuid::from_u128(device),
            },
        }
    }

    fn register(changes: &[Versioned]) -> Register {
        let mut r = Register::default();
        for c in changes {
            r.insert(c.clone());
        }
        r
    }

    #[test]
    fn sequential_edits_do_not_conflict() {
        let r = register(&[
            change(1, 1, "phone", None, 10, 1),
            change(2, 1, "phone", Some(1), 20, 2),
            change(3, 1, "phone", Some(2), 30, 1),
        ]);
        assert_eq!(r.winner().unwrap().version, 3);
        assert_eq!(r.conflict(), None);
    }

    #[test]
    fn two_offline_edits_of_one_field_make_one_conflict_keeping_the_loser() {
        let r = register(&[
            change(1, 1, "phone", None, 10, 1),
            change(2, 1, "phone", Some(1), 30, 1),
            change(3, 1, "phone", Some(1), 20, 2),
        ]);
        assert_eq!(r.winner().unwrap().version, 2);
        let conflict = r.conflict().unwrap();
        assert_eq!(conflict.winner, Uuid::from_u128(1_002));
        assert_eq!(conflict.losers, vec![Uuid::from_u128(1_003)]);
    }

    #[test]
    fn a_later_edit_of_the_same_laptop_supersedes_its_earlier_one() {
        let r = register(&[
            change(1, 1, "phone", None, 10, 1),
            change(2, 1, "phone", None, 11, 1),
        ]);
        assert_eq!(r.conflict(), None);
    }

    #[test]
    fn a_resolution_made_after_pulling_both_heads_closes_the_conflict() {
        let mut r = register(&[
            change(1, 1, "phone", None, 10, 1),
            change(2, 1, "phone", None, 20, 2),
        ]);
        assert!(r.conflict().is_some());
        r.insert(change(3, 1, "phone", Some(2), 40, 3));
        assert_eq!(r.conflict(), None);
    }

    #[test]
    fn a_long_offline_branch_does_not_hide_a_concurrent_edit() {
        // Laptop 1 edits three times offline; laptop 2 once. Version numbers are commit order,
        // so laptop 1's later base cannot claim to have seen laptop 2's edit.
        let r = register(&[
            change(1, 1, "phone", None, 10, 1),
            change(2, 1, "phone", Some(1), 15, 2),
            change(3, 1, "phone", Some(1), 20, 1),
            change(4, 1, "phone", Some(1), 21, 1),
        ]);
        let conflict = r.conflict().unwrap();
        assert_eq!(conflict.winner, Uuid::from_u128(1_004));
        assert_eq!(conflict.losers, vec![Uuid::from_u128(1_002)]);
    }

    #[test]
    fn diagnostic_edits_get_registers_of_their_own_kind_and_target() {
        let id = Uuid::from_u128(7);
        let m = Uuid::from_u128(9);
        let d = crate::ENTITY_DIAGNOSTIC;
        let key = |field: &str, value: serde_json::Value| register_key(d, field, &value, m);
        assert_eq!(
            key(
                "set_field",
                serde_json::json!({"kind": "set_field", "field": "date", "value": "x"})
            ),
            "field/date"
        );
        assert_eq!(
            key(
                "edit_note",
                serde_json::json!({"kind": "edit_note", "id": id, "text": "t"})
            ),
            format!("note/{id}/text")
        );
        assert_eq!(
            key(
                "set_action_field",
                serde_json::json!({"id": id, "field": "label", "value": "v"})
            ),
            format!("action/{id}/label")
        );
        assert_eq!(
            key("something_new", serde_json::json!({})),
            format!("something_new/{m}")
        );
        assert_eq!(
            register_key("person", "phone", &serde_json::json!("06"), m),
            "phone"
        );
    }

    #[test]
    fn followup_edits_compete_only_on_the_same_target() {
        let step = Uuid::from_u128(7);
        let other = Uuid::from_u128(8);
        let m = Uuid::from_u128(9);
        let key = |field: &str, value: serde_json::Value| {
            register_key(crate::ENTITY_FOLLOWUP, field, &value, m)
        };
        let label = |id: Uuid| {
            key(
                "set_step_text",
                serde_json::json!({"kind": "set_step_text", "id": id, "field": "label", "value": "v"}),
            )
        };
        assert_eq!(label(step), format!("step/{step}/label"));
        assert_eq!(label(step), label(step), "same step field: they compete");
        assert_ne!(label(step), label(other));
        assert_ne!(
            label(step),
            key(
                "set_step_status",
                serde_json::json!({"kind": "set_step_status", "id": step, "status": "done"})
            )
        );
        assert_eq!(
            key(
                "record_review_decision",
                serde_json::json!({"kind": "record_review_decision", "meeting_id": other})
            ),
            format!("review_decision/{other}")
        );
        assert_eq!(
            key(
                "set_review_agenda",
                serde_json::json!({"kind": "set_review_agenda", "meeting_id": other, "on_agenda": false})
            ),
            format!("review_agenda/{other}")
        );
        assert_eq!(
            key("record_interview", serde_json::json!({"id": step})),
            format!("interview/{step}")
        );
        assert_eq!(
            key("something_new", serde_json::json!({})),
            format!("something_new/{m}")
        );
    }

    type Outcome = BTreeMap<(Uuid, String), (Option<Uuid>, Option<Conflict>)>;

    fn merge(changes: &[Versioned]) -> Outcome {
        let mut registers: BTreeMap<(Uuid, String), Register> = BTreeMap::new();
        for c in changes {
            let key = (c.change.record_id, c.change.field.clone());
            registers.entry(key).or_default().insert(c.clone());
        }
        registers
            .into_iter()
            .map(|(k, r)| (k, (r.winner().map(|w| w.change.mutation_id), r.conflict())))
            .collect()
    }

    fn changes_strategy() -> impl Strategy<Value = Vec<Versioned>> {
        let one = (
            0u128..3,
            0usize..2,
            proptest::option::of(0u64..40),
            0u64..20,
            1u128..5,
        );
        proptest::collection::vec(one, 1..40).prop_map(|raw| {
            raw.into_iter()
                .enumerate()
                .map(|(i, (record, field, base, wall, device))| {
                    let version = i as u64 + 1;
                    // A base is a version the laptop had pulled: always an earlier one.
                    let base = base.map(|b| b % version);
                    change(
                        version,
                        record,
                        ["phone", "email"][field],
                        base,
                        wall,
                        device,
                    )
                })
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn any_order_with_duplicates_gives_the_same_state_and_conflicts(
            (changes, shuffled) in changes_strategy().prop_flat_map(|changes| {
                let n = changes.len();
                let extra = proptest::collection::vec(0..n, 0..n + 1);
                (Just(changes.clone()), extra).prop_flat_map(move |(changes, extra)| {
                    let mut with_dups = changes.clone();
                    with_dups.extend(extra.iter().map(|&i| changes[i].clone()));
                    (Just(changes), Just(with_dups).prop_shuffle())
                })
            })
        ) {
            let reference = merge(&changes);
            prop_assert_eq!(merge(&shuffled), reference.clone());
            // Every register shows something, and every change is either the winner, a loser
            // kept in the conflict, or superseded by a change whose author saw it.
            for (winner, _) in reference.values() {
                prop_assert!(winner.is_some());
            }
        }
    }
}
