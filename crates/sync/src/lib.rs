//! The sync protocol shared by the app and the territory server: wire types, the hybrid logical
//! clock and the merge rules. No I/O: the server and the app's sync worker bring their own.
//!
//! The specification is `docs/sync-protocol.md`; this crate is its executable half.

mod hlc;
mod merge;
mod snapshot;
mod wire;

pub use hlc::{ClockAhead, Hlc, MAX_DRIFT_MS};
pub use merge::{register_key, Conflict, Register, Versioned};
pub use snapshot::{
    snapshot_mutation_id, RegisterHeads, Snapshot, SnapshotBuilder, SnapshotRecord,
    SnapshotRegister,
};
pub use wire::{
    AuthorInfo, AuthorsQuery, Change, Cursor, EnrolRequest, EnrolResponse, ErrorBody, ErrorCode,
    FollowUpEntry, FollowUpQuery, FollowUpRequest, MutationResult, Outcome, PullRequest,
    PullResponse, PushRequest, PushResponse, RefusalReason, StructureInfo, MAX_AUTHORS,
};

/// The protocol version this build speaks. Bumped on any incompatible change of the wire types
/// or of their meaning; the server answers an older client with `426 upgrade_required`.
/// Version 2 added the snapshot form of a first pull (`snapshot=true`, [`Snapshot`]); a
/// version 1 client never asks for it and gets the journal as before.
pub const PROTOCOL_VERSION: u32 = 2;

/// The oldest client protocol version the server still accepts.
pub const MIN_PROTOCOL_VERSION: u32 = 1;

/// The HTTP header every request carries, holding [`PROTOCOL_VERSION`] in decimal.
pub const PROTOCOL_HEADER: &str = "tandem-protocol";

/// The record types a change may target.
pub const ENTITY_PERSON: &str = "person";
pub const ENTITY_DIAGNOSTIC: &str = "diagnostic";
/// A person's follow-up file (objectives, steps, interviews, …): one record per person, whose
/// `record_id` is the person's id; each change is one `FollowUpEdit`.
pub const ENTITY_FOLLOWUP: &str = "followup";

/// The person field whose value `true` is the tombstone: the person leaves every structure's
/// scope and later changes to them are refused.
pub const PERSON_DELETED_FIELD: &str = "deleted";

/// The kinds of structures of the SPIE an administrator picks from (`admin structure add
/// --kind`), with the French label the app shows beside a structure's name.
pub const STRUCTURE_KINDS: &[(&str, &str)] = &[
    ("departement", "Conseil départemental"),
    ("france_travail", "France Travail"),
    ("mission_locale", "Mission locale"),
    ("cap_emploi", "Cap emploi"),
    ("ccas", "CCAS / CIAS"),
    ("plie", "PLIE"),
    ("association", "Association"),
    ("other", "Autre structure"),
];

/// The French label of a structure kind; `None` for a kind this build does not know.
pub fn structure_kind_label(kind: &str) -> Option<&'static str> {
    STRUCTURE_KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, label)| *label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structure_kinds_have_labels_and_unknown_ones_none() {
        assert_eq!(
            structure_kind_label("mission_locale"),
            Some("Mission locale")
        );
        assert_eq!(structure_kind_label("ccas"), Some("CCAS / CIAS"));
        assert_eq!(structure_kind_label("test"), None);
    }
}
