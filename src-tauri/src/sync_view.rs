//! What the UI sees of sync: the always-visible state and the open conflicts, in French.

use chrono::{DateTime, Utc};
use serde::Serialize;
use ts_rs::TS;
use uuid::Uuid;

/// The sync indicator's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    /// This laptop was never enrolled with a territory server: it works alone.
    NotEnrolled,
    /// The server cannot be reached (no network, server down); sync retries with backoff.
    Offline,
    Syncing,
    UpToDate,
    /// The last attempt failed for another reason; `message` says which.
    Error,
}

/// Polled by the UI (cheap: no network; three counts and the small enrolment file).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct SyncStatus {
    pub state: SyncState,
    pub server_url: Option<String>,
    pub structure_name: Option<String>,
    /// 0..1 while syncing when the amount of work is known, else `None`.
    pub progress: Option<f64>,
    /// Local edits not yet accepted by the server.
    pub pending_changes: u32,
    /// Local edits the server refused (kept, with their reason).
    pub refused_changes: u32,
    /// Open conflicts in the case file.
    pub conflicts: u32,
    pub last_synced_at: Option<DateTime<Utc>>,
    /// French, for `offline` and `error`.
    pub message: Option<String>,
}

/// One competing value of a conflict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ConflictOption {
    pub mutation_id: Uuid,
    /// The value as the caseworker reads it (French formatting).
    pub value: String,
    /// Who wrote it: structure and caseworker when known.
    pub author: String,
    pub at: DateTime<Utc>,
    /// The value the file shows until someone resolves the conflict.
    pub shown: bool,
}

/// An open conflict: one field edited concurrently by two laptops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ConflictView {
    pub id: String,
    pub person_id: Uuid,
    pub person_name: String,
    /// « Fiche de la personne », « Diagnostic du 12 mars 2026 »…
    pub record: String,
    pub field_label: String,
    pub options: Vec<ConflictOption>,
}

/// A local edit the territory server refused. It stays on this laptop (nothing is lost) and is
/// not sent again; the reason says what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct RefusedChangeView {
    pub mutation_id: Uuid,
    pub person_id: Uuid,
    pub person_name: String,
    /// « Fiche de la personne », « Diagnostic du 12 mars 2026 »…
    pub record: String,
    pub field_label: String,
    /// The value as the caseworker reads it.
    pub value: String,
    /// When the edit was made (this laptop's clock).
    pub at: DateTime<Utc>,
    /// Why the server refused it and what to do, in French.
    pub reason: String,
}

/// A structure of the territory the person may agree to share their file with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct StructureView {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    /// « Mission locale », « CCAS / CIAS »…; empty for a kind this build does not know.
    pub kind_label: String,
}

/// Another structure that sees a person's file with their consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ShareView {
    pub structure_id: Uuid,
    pub structure_name: String,
    pub share_social_notes: bool,
}
