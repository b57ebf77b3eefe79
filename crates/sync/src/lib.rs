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
    Change, Cursor, EnrolRequest, EnrolResponse, ErrorBody, ErrorCode, FollowUpEntry,
    FollowUpQuery, FollowUpRequest, MutationResult, Outcome, PullRequest, PullResponse,
    PushRequest, PushResponse, RefusalReason, StructureInfo,
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
