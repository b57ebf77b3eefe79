//! One synchronisation: push the outbox in batches, then pull pages until the feed is drained,
//! each page applied in one local transaction. The case file is taken only for local work,
//! never across a network call, so the app stays usable while sync waits on the network.

use std::sync::Mutex;

use tandem_store::{CaseFile, StoreError};

use crate::client::ServerClient;
use crate::error::SyncError;

/// Access to the case file for the sync engine: runs `f` with the file locked, and gives it
/// back before any network I/O. The app implements it for its own session state (and maps
/// a locked app, with no case file open, to an error of its choice).
pub trait LocalFile {
    fn with<T>(
        &self,
        f: impl FnOnce(&mut CaseFile) -> Result<T, StoreError>,
    ) -> Result<T, SyncError>;
}

impl LocalFile for Mutex<CaseFile> {
    fn with<T>(
        &self,
        f: impl FnOnce(&mut CaseFile) -> Result<T, StoreError>,
    ) -> Result<T, SyncError> {
        // A poisoned lock means a panic elsewhere; the case file itself is transactional.
        let mut guard = self.lock().unwrap_or_else(|p| p.into_inner());
        Ok(f(&mut guard)?)
    }
}

/// Batch and page sizes.
#[derive(Debug, Clone, Copy)]
pub struct SyncOptions {
    /// Changes per push (the server takes at most 5,000).
    pub push_batch: usize,
    /// Bytes of JSON per push at most: the server refuses bodies over 2 MB, and a diagnostic
    /// `create` carries the whole diagnostic. A single larger change still goes alone.
    pub push_max_bytes: usize,
    /// Changes per pull page (1..=5,000).
    pub pull_limit: u32,
    /// A first pull (no cursor yet) asks for the snapshot form: the current state of each
    /// record rather than its whole journal.
    pub snapshot: bool,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            push_batch: 1_000,
            push_max_bytes: 1_000_000,
            pull_limit: 2_000,
            snapshot: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Push,
    Pull,
}

/// Reported after every batch pushed and every page applied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    pub phase: Phase,
    /// Local changes sent so far, out of `to_push` pending at the start.
    pub pushed: usize,
    pub to_push: usize,
    /// Pages applied and changes received so far.
    pub pages: usize,
    pub pulled: usize,
    /// 0..1 when the amount of work is known (pushing); `None` while pulling (the server does
    /// not say how much is left).
    pub fraction: Option<f64>,
}

/// What one synchronisation did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Local changes the server journalled.
    pub pushed: usize,
    /// Local changes the server refused (kept aside with their reason).
    pub refused: usize,
    /// Local changes refused because this laptop's clock is ahead of the server's.
    pub clock_ahead: usize,
    pub pages: usize,
    /// Changes received; for a snapshot page, the journal changes it stands for (superseded
    /// ones included).
    pub pulled: usize,
    /// Persons removed (consent withdrawn, access changed).
    pub removed: usize,
    /// Registers that kept their local value because a local edit of it is not back yet.
    pub kept_local: usize,
    pub conflicts_opened: usize,
    pub conflicts_closed: usize,
    /// Open conflicts in the case file afterwards.
    pub conflicts: u64,
}

/// Pushes every pending local change, then pulls until the feed is drained, fetching the next
/// page while the current one is applied. Must run inside a tokio runtime.
///
/// Stops at the first error; everything done before it is kept (each batch's results and each
/// page are committed locally as they arrive), so the next call carries on. On
/// [`SyncError::DeviceRevoked`] the case file's personal data is wiped before returning.
pub async fn sync_once<L: LocalFile + ?Sized>(
    file: &L,
    client: &ServerClient,
    options: &SyncOptions,
    mut progress: impl FnMut(&Progress),
) -> Result<SyncReport, SyncError> {
    let result = run(file, client, options, &mut progress).await;
    if let Err(SyncError::DeviceRevoked) = result {
        log::warn!("device revoked by the territory server: wiping the case file's data");
        file.with(|f| f.wipe_synced_data())?;
    }
    result
}

async fn run<L: LocalFile + ?Sized>(
    file: &L,
    client: &ServerClient,
    options: &SyncOptions,
    progress: &mut impl FnMut(&Progress),
) -> Result<SyncReport, SyncError> {
    let state = file
        .with(|f| f.sync_state())?
        .ok_or(SyncError::NotEnrolled)?;
    let mut report = SyncReport::default();
    let batch = options.push_batch.clamp(1, 5_000);
    let to_push = file.with(|f| f.pending_changes())? as usize;
    let mut status = Progress {
        phase: Phase::Push,
        pushed: 0,
        to_push,
        pages: 0,
        pulled: 0,
        fraction: Some(0.0),
    };
    progress(&status);
    let mut restamped = false;
    loop {
        let mut changes = file.with(|f| f.pending_outbox(batch))?;
        if changes.is_empty() {
            break;
        }
        let mut bytes = 0;
        let fits = changes
            .iter()
            .position(|c| {
                bytes += serde_json::to_vec(c).map_or(0, |v| v.len()) + 1;
                bytes > options.push_max_bytes
            })
            .unwrap_or(changes.len())
            .max(1);
        changes.truncate(fits);
        let response = client.push(&changes).await?;
        let pushed = file.with(|f| f.record_push_results(&response.results))?;
        if pushed.accepted + pushed.refused + pushed.clock_ahead == 0 {
            // Nothing left the pending state: the answer did not match what was sent.
            return Err(SyncError::Protocol);
        }
        report.pushed += pushed.accepted;
        report.refused += pushed.refused;
        report.clock_ahead += pushed.clock_ahead;
        if pushed.clock_ahead > 0 && !restamped {
            // Once per sync: if this laptop's clock now agrees with the server's, the refused
            // changes get fresh stamps and go out again in the next batches.
            restamped = true;
            let now = now_ms();
            let server = response.server_time_ms;
            let again = file.with(|f| f.restamp_clock_ahead(now, server))?;
            report.clock_ahead -= again.min(report.clock_ahead);
        }
        status.pushed += changes.len();
        status.fraction = Some((status.pushed as f64 / to_push.max(1) as f64).min(1.0));
        progress(&status);
    }

    let limit = options.pull_limit.clamp(1, 5_000);
    let mut cursor = state.cursor;
    status.phase = Phase::Pull;
    status.fraction = None;
    let mut page = match &cursor {
        None if options.snapshot => client.pull_snapshot(limit).await?,
        _ => client.pull(cursor.as_ref(), limit).await?,
    };
    loop {
        if page.has_more && cursor.as_ref() == Some(&page.cursor) {
            // `has_more` without moving on would loop forever.
            return Err(SyncError::Protocol);
        }
        // The next page travels while this one is applied (on a multi-threaded runtime).
        let next = page.has_more.then(|| {
            let client = client.clone();
            let after = page.cursor.clone();
            Prefetch(tokio::spawn(async move {
                client.pull(Some(&after), limit).await
            }))
        });
        let applied = file.with(|f| f.apply_pull_page(&page))?;
        report.pages += 1;
        let pulled = page.changes.len() + page.snapshot.as_ref().map_or(0, |s| s.changes as usize);
        report.pulled += pulled;
        report.removed += applied.removed;
        report.kept_local += applied.kept_local;
        report.conflicts_opened += applied.conflicts_opened;
        report.conflicts_closed += applied.conflicts_closed;
        status.pages += 1;
        status.pulled += pulled;
        progress(&status);
        let Some(mut next) = next else {
            break;
        };
        cursor = Some(page.cursor);
        page = (&mut next.0).await.map_err(|_| SyncError::Protocol)??;
    }
    // The conflicts screen names who entered the other values: ask the server once per device.
    // A server that predates `/v1/authors` leaves them unnamed; the sync itself succeeded.
    let unnamed = file.with(|f| f.unnamed_conflict_authors())?;
    for ids in unnamed.chunks(tandem_sync::MAX_AUTHORS) {
        match client.authors(ids).await {
            Ok(found) => file.with(|f| f.store_authors(&found))?,
            Err(e) => {
                log::warn!("authors of conflicting values not fetched: {e}");
                break;
            }
        }
    }
    report.conflicts = file.with(|f| f.sync_counts())?.conflicts;
    Ok(report)
}

/// A page being fetched ahead; abandoned (not left running) if the sync stops early.
struct Prefetch(tokio::task::JoinHandle<Result<tandem_sync::PullResponse, SyncError>>);

impl Drop for Prefetch {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
