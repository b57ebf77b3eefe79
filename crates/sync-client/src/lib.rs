//! The laptop side of sync with the territory server (docs/sync-protocol.md): an HTTP client
//! ([`ServerClient`]) and the engine ([`sync_once`]) that pushes the case file's outbox and
//! applies pull pages to it. No UI: the app runs it in the background and shows [`Progress`].

mod client;
mod engine;
mod error;

pub use client::ServerClient;
pub use engine::{sync_once, LocalFile, Phase, Progress, SyncOptions, SyncReport};
pub use error::SyncError;
