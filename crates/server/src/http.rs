//! The HTTP API: `app(state) -> Router`, handlers as thin adapters over [`Store`], and errors
//! as `{code, message}` responses.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tandem_sync::{
    EnrolRequest, EnrolResponse, ErrorBody, ErrorCode, FollowUpRequest, PullRequest, PullResponse,
    PushRequest, PushResponse, MIN_PROTOCOL_VERSION, PROTOCOL_HEADER, PROTOCOL_VERSION,
};

use tandem_sync::MutationResult;
use tokio::sync::{oneshot, Semaphore};

use crate::audit;
use crate::db::Target;
use crate::snapshot::ReaderPull;
use crate::store::{Device, GroupPull, PushBatch, Store, StoreError};

/// Largest batch a push may carry.
pub const MAX_PUSH_BATCH: usize = 5_000;

/// Connections for reads (pulls, follow-up lists, structures, authentication): one per core,
/// at least two. Each read runs on the blocking pool holding one of them; more requests than
/// connections wait (asynchronously, for a permit) rather than pile up blocking threads, and
/// pulls that wait are read together ([`AppState::read_pull`]). More readers than cores only
/// split the waiting pulls into smaller batches that share fewer pages: in the 500-laptop
/// burst on PostgreSQL (2 cores), 2 readers gave p95 175-253 ms against 212-318 for 4.
pub fn readers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().max(2))
}

/// Most jobs the writer takes into one group commit.
const MAX_GROUP: usize = 512;

/// On SQLite, a journal pull whose cursor is at most this many commits behind the head is read
/// by the writer, in its next group commit, rather than on a reader connection. A SQLite
/// connection drops its whole page cache (and, reading through a memory map, unmaps and maps
/// the file again) whenever another connection committed since its last read, so under a
/// burst of pushes every reader pull started cold: in the 500-laptop burst about a fifth of
/// the server's CPU went to remapping and page faults. The writer's cache is never dropped
/// (it makes the commits), a page near the head is small (at most this many journal rows to
/// look at), and its audit rows go into the same commit instead of a second trip to the
/// writer. Pulls further behind (a laptop catching up, a first sync) stay on the readers,
/// so that they never hold up the pushes; so do all pulls on PostgreSQL, whose connections
/// share one buffer cache and whose writer pays a network round trip per statement.
const WRITER_PULL_SPAN: i64 = 5_000;

/// Pulls queued for the writer past which the next ones go to the readers, so that a flood of
/// pulls cannot hold the pushes up without bound. Not lower: a reader's pull costs about twice
/// the writer's (cold cache), and in the 500-laptop burst sending the writer's overflow to the
/// readers from 128 queued pulls on was slower (p95 338–531 ms) than from 192–384 (309–409).
const WRITER_PULLS_QUEUED: usize = 384;

/// The server's storage, shared by every request:
///
/// - **one writer**, a thread of its own that owns the writing connection. Pushes and the audit
///   rows of reads queue to it; it takes everything queued and commits it in one transaction
///   (group commit: one fsync for many requests, each push batch still all-or-nothing on its
///   own: a savepoint on SQLite, a layer of the group planned whole on PostgreSQL, see
///   `ledger`), then answers each request. Other writes (follow-up, enrolment,
///   admin) run on it one at a time, in arrival order ([`AppState::with_store`]).
/// - **[`readers`] reader connections**: pulls and listings read a snapshot there, without the
///   writer, then hand their audit rows to the writer and answer once those are committed.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    writer: mpsc::Sender<Job>,
    readers: Readers,
    /// The journal's head as of the writer's last group, when pulls near it go to the writer
    /// (SQLite); `None` otherwise.
    head: Option<Arc<AtomicI64>>,
    /// Pulls sent to the writer and not answered yet.
    writer_pulls: AtomicUsize,
}

struct Readers {
    target: Target,
    idle: Mutex<Vec<Store>>,
    permits: Semaphore,
    /// Pulls waiting for a reader. Whoever gets a reader next takes all of them into one
    /// snapshot ([`AppState::read_pull`]).
    pulls: Mutex<Vec<(QueuedPull, QueuedReply)>>,
}

/// A pull waiting for a reader connection.
struct QueuedPull {
    token: String,
    request: PullRequest,
    now_ms: i64,
}

type QueuedReply = oneshot::Sender<Result<(PullResponse, Vec<audit::Entry>), ApiError>>;

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// A push as it reaches the writer: its device is looked up there, on the connection that
/// writes, so the push does not wait for a reader first (behind the pulls) and a device revoked
/// a moment before is refused.
struct PendingPush {
    token: String,
    changes: Vec<tandem_sync::Change>,
    now_ms: i64,
}

type PushReply = oneshot::Sender<Result<Vec<MutationResult>, ApiError>>;

/// A journal pull near the head, read by the writer in its next group ([`WRITER_PULL_SPAN`]).
struct PendingPull {
    token: String,
    cursor: tandem_sync::Cursor,
    limit: Option<u32>,
    now_ms: i64,
}

type PullReply = oneshot::Sender<Result<PullResponse, ApiError>>;

enum Job {
    Push(PendingPush, PushReply),
    Pull(PendingPull, PullReply),
    /// Audit rows of a read, appended before the read is answered.
    Audit(Vec<audit::Entry>, Reply<()>),
    /// Anything else, alone, between groups.
    Run(Box<dyn FnOnce(&mut Store) + Send>),
}

impl AppState {
    /// Starts the writer thread on `store` (the writing connection); reader connections to the
    /// same database open on first use.
    pub fn new(store: Store) -> Self {
        let target = store.target().clone();
        let head = match target {
            Target::Sqlite(_) => Some(Arc::new(AtomicI64::new(i64::MAX))),
            Target::Postgres(_) => None,
        };
        let (writer, jobs) = mpsc::channel();
        let writer_head = head.clone();
        // Spawning a thread fails only when the process is out of resources at start-up.
        #[allow(clippy::expect_used)]
        std::thread::Builder::new()
            .name("tandem-writer".into())
            .spawn(move || write_loop(store, jobs, writer_head))
            .expect("starting the writer thread");
        AppState {
            inner: Arc::new(Inner {
                writer,
                readers: Readers {
                    target,
                    idle: Mutex::new(Vec::with_capacity(readers())),
                    permits: Semaphore::new(readers()),
                    pulls: Mutex::new(Vec::new()),
                },
                head,
                writer_pulls: AtomicUsize::new(0),
            }),
        }
    }

    fn send(&self, job: Job) -> Result<(), ApiError> {
        self.inner
            .writer
            .send(job)
            .map_err(|_| ApiError::Internal("the writer has stopped".into()))
    }

    /// Runs `f` with the writing connection, on the writer thread, after what is queued before.
    pub async fn with_store<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Run(Box::new(move |store| {
            let _ = reply.send(f(store));
        })))?;
        answer
            .await
            .map_err(|_| ApiError::Internal("the writer failed mid-request".into()))?
            .map_err(ApiError::from)
    }

    /// Pushes a batch through the writer's group commit, for the device `token` belongs to.
    async fn push(
        &self,
        token: String,
        changes: Vec<tandem_sync::Change>,
        now_ms: i64,
    ) -> Result<Vec<MutationResult>, ApiError> {
        let (reply, answer) = oneshot::channel();
        let pending = PendingPush {
            token,
            changes,
            now_ms,
        };
        self.send(Job::Push(pending, reply))?;
        answer
            .await
            .map_err(|_| ApiError::Internal("the writer failed mid-request".into()))?
    }

    /// Where a journal pull is read: `Some` (the pull, for the writer) when its cursor is
    /// near the head on SQLite ([`WRITER_PULL_SPAN`]), `None` for a reader connection.
    fn pull_on_writer(
        &self,
        token: &str,
        request: &PullRequest,
        now_ms: i64,
    ) -> Option<PendingPull> {
        let head = self.inner.head.as_ref()?.load(Ordering::Relaxed);
        let cursor = request.cursor.as_ref()?;
        let seq = Store::cursor_seq(cursor)?;
        let near = head.saturating_sub(seq) <= WRITER_PULL_SPAN;
        let queued = self.inner.writer_pulls.load(Ordering::Relaxed);
        (near && queued < WRITER_PULLS_QUEUED).then(|| PendingPull {
            token: token.to_string(),
            cursor: cursor.clone(),
            limit: request.limit,
            now_ms,
        })
    }

    /// Reads a pull near the head in the writer's next group commit, with its audit rows.
    async fn pull_by_writer(&self, pending: PendingPull) -> Result<PullResponse, ApiError> {
        /// Counts the pull as queued for the writer until it is answered or dropped.
        struct Queued<'a>(&'a AtomicUsize);
        impl Drop for Queued<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::Relaxed);
            }
        }
        self.inner.writer_pulls.fetch_add(1, Ordering::Relaxed);
        let _queued = Queued(&self.inner.writer_pulls);
        let (reply, answer) = oneshot::channel();
        self.send(Job::Pull(pending, reply))?;
        answer
            .await
            .map_err(|_| ApiError::Internal("the writer failed mid-request".into()))?
    }

    /// Appends a read's audit rows (with the writer's next group) and waits for their commit.
    pub async fn audit(&self, entries: Vec<audit::Entry>) -> Result<(), ApiError> {
        if entries.is_empty() {
            return Ok(());
        }
        let (reply, answer) = oneshot::channel();
        self.send(Job::Audit(entries, reply))?;
        answer
            .await
            .map_err(|_| ApiError::Internal("the writer failed mid-request".into()))?
            .map_err(ApiError::from)
    }

    /// A pull on a reader connection: the page and the audit rows to append before it leaves.
    ///
    /// The pull queues, then waits for a reader; the first waiting pull that gets one takes
    /// every pull queued by then (this one, if nobody took it yet) and reads them all in one
    /// snapshot, which it opens after all of them arrived, so none sees the database as it was
    /// before it asked. Pulls asking for the same page read it once ([`Store::read_pulls`]):
    /// under a burst, most pulls wait for a reader, and laptops of one structure that synced
    /// to the same head ask for the same page. A pull another one took just gives its reader
    /// back and waits for its answer.
    async fn read_pull(
        &self,
        pull: QueuedPull,
    ) -> Result<(PullResponse, Vec<audit::Entry>), ApiError> {
        let (reply, answer) = oneshot::channel();
        lock(&self.inner.readers.pulls).push((pull, reply));
        let inner = self.inner.clone();
        let taken = self
            .with_reader(move |store| {
                let queued = std::mem::take(&mut *lock(&inner.readers.pulls));
                read_queued_pulls(store, queued);
                Ok(())
            })
            .await;
        let answered = answer
            .await
            .map_err(|_| ApiError::Internal("the reader failed mid-request".into()));
        match (answered, taken) {
            (Ok(answer), _) => answer,
            (Err(_), Err(e)) | (Err(e), Ok(())) => Err(e),
        }
    }

    /// Runs `f` with a reader connection on the blocking pool, at most [`readers`] at a time.
    /// Nothing written through it: it is read-only.
    pub async fn with_reader<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    {
        let _permit = self
            .inner
            .readers
            .permits
            .acquire()
            .await
            .map_err(|e| ApiError::Internal(format!("readers: {e}")))?;
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let readers = &inner.readers;
            let idle = lock(&readers.idle).pop();
            let mut store = match idle {
                Some(store) => store,
                None => Store::open_reader(&readers.target)?,
            };
            let result = f(&mut store);
            lock(&readers.idle).push(store);
            result
        })
        .await
        .map_err(|e| ApiError::Internal(format!("blocking task: {e}")))?
        .map_err(ApiError::from)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Reads queued pulls in one snapshot: their devices first (one statement), then the pages;
/// every pull is answered, refused, or told the error.
fn read_queued_pulls(store: &mut Store, queued: Vec<(QueuedPull, QueuedReply)>) {
    if queued.is_empty() {
        return;
    }
    let tokens: Vec<&str> = queued.iter().map(|(p, _)| p.token.as_str()).collect();
    let devices = match store.authenticate_many(&tokens) {
        Ok(devices) => devices,
        Err(e) => {
            let message = e.to_string();
            for (_, reply) in queued {
                let _ = reply.send(Err(ApiError::Internal(message.clone())));
            }
            return;
        }
    };
    let (mut pulls, mut replies) = (Vec::new(), Vec::new());
    for ((pending, reply), device) in queued.into_iter().zip(devices) {
        match admitted(device) {
            Ok(device) => {
                pulls.push(ReaderPull {
                    device,
                    request: pending.request,
                    now_ms: pending.now_ms,
                });
                replies.push(Some(reply));
            }
            Err(refused) => {
                let _ = reply.send(Err(refused));
            }
        }
    }
    let read = store.read_pulls(&pulls, |i, page| {
        if let Some(reply) = replies.get_mut(i).and_then(Option::take) {
            let _ = reply.send(page.map_err(ApiError::from));
        }
    });
    if let Err(e) = read {
        // The snapshot failed (opening it, or at its end): those not answered yet fail.
        let message = e.to_string();
        for reply in replies.into_iter().flatten() {
            let _ = reply.send(Err(ApiError::Internal(message.clone())));
        }
    }
}

/// The writer thread: one job or one group at a time, until every [`AppState`] is gone. With
/// `head`, it publishes the journal's head after each (for [`AppState::pull_on_writer`]).
fn write_loop(mut store: Store, jobs: mpsc::Receiver<Job>, head: Option<Arc<AtomicI64>>) {
    let mut next = None;
    loop {
        if let Some(head) = &head {
            match store.head() {
                Ok(seq) => head.store(seq, Ordering::Relaxed),
                // Unknown: every pull goes to the readers until it is known again.
                Err(_) => head.store(i64::MAX, Ordering::Relaxed),
            }
        }
        let job = match next.take() {
            Some(job) => job,
            None => match jobs.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
        };
        let (mut pushes, mut pulls, mut audits) = (Vec::new(), Vec::new(), Vec::new());
        let mut take = |job| match job {
            Job::Push(batch, reply) => {
                pushes.push((batch, reply));
                None
            }
            Job::Pull(pull, reply) => {
                pulls.push((pull, reply));
                None
            }
            Job::Audit(entries, reply) => {
                audits.push((entries, reply));
                None
            }
            run @ Job::Run(_) => Some(run),
        };
        if let Some(Job::Run(f)) = take(job) {
            // A panic drops the reply: that request fails, the writer goes on.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut store)));
            continue;
        }
        // Everything already queued joins the group; a `Run` ends it and goes next.
        for _ in 1..MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => {
                    if let Some(run) = take(job) {
                        next = Some(run);
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        commit_group(&mut store, pushes, pulls, audits);
    }
}

fn commit_group(
    store: &mut Store,
    mut pushes: Vec<(PendingPush, PushReply)>,
    mut pulls: Vec<(PendingPull, PullReply)>,
    audits: Vec<(Vec<audit::Entry>, Reply<()>)>,
) {
    // The devices of the pushes and pulls first (a read on the writing connection, outside the
    // group's transaction: nothing else writes meanwhile); a refused request is answered at
    // once.
    let mut batches = Vec::with_capacity(pushes.len());
    let mut push_replies = Vec::with_capacity(pushes.len());
    let tokens: Vec<&str> = (pushes.iter().map(|(p, _)| p.token.as_str()))
        .chain(pulls.iter().map(|(p, _)| p.token.as_str()))
        .collect();
    let devices = store.authenticate_many(&tokens).map_err(|e| e.to_string());
    let mut devices = match devices {
        Ok(devices) => devices.into_iter(),
        Err(message) => {
            // The devices could not be read: the group's requests fail (laptops retry).
            log::error!("reading the devices of a group failed: {message}");
            for (_, reply) in pushes.drain(..) {
                let _ = reply.send(Err(ApiError::Internal(message.clone())));
            }
            for (_, reply) in pulls.drain(..) {
                let _ = reply.send(Err(ApiError::Internal(message.clone())));
            }
            Vec::new().into_iter()
        }
    };
    for ((pending, reply), device) in pushes.into_iter().zip(devices.by_ref()) {
        match admit_push(device, pending) {
            Ok(batch) => {
                batches.push(batch);
                push_replies.push(reply);
            }
            Err(refused) => {
                let _ = reply.send(Err(refused));
            }
        }
    }
    let mut group_pulls = Vec::with_capacity(pulls.len());
    let mut pull_replies = Vec::with_capacity(pulls.len());
    for ((pending, reply), device) in pulls.into_iter().zip(devices) {
        match admitted(device) {
            Ok(device) => {
                group_pulls.push(GroupPull {
                    device,
                    cursor: Some(pending.cursor),
                    limit: pending.limit,
                    now_ms: pending.now_ms,
                });
                pull_replies.push(reply);
            }
            Err(refused) => {
                let _ = reply.send(Err(refused));
            }
        }
    }
    if batches.is_empty() && group_pulls.is_empty() && audits.is_empty() {
        return;
    }
    let mut reads = Vec::new();
    let mut audit_replies = Vec::with_capacity(audits.len());
    for (entries, reply) in audits {
        reads.extend(entries);
        audit_replies.push(reply);
    }
    let committed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        store.commit_group(&batches, &group_pulls, reads)
    }));
    match committed {
        Ok(Ok(outcome)) => {
            for (reply, pushed) in push_replies.into_iter().zip(outcome.pushes) {
                let _ = reply.send(pushed.map_err(ApiError::from));
            }
            for (reply, page) in pull_replies.into_iter().zip(outcome.pulls) {
                let _ = reply.send(page.map_err(ApiError::from));
            }
            for reply in audit_replies {
                let _ = reply.send(Ok(()));
            }
        }
        Ok(Err(e)) => {
            // Nothing of the group was committed: every request of it fails (laptops retry;
            // pushes are idempotent).
            let message = e.to_string();
            log::error!("group commit failed: {message}");
            for reply in push_replies {
                let _ = reply.send(Err(ApiError::from(StoreError::GroupFailed(
                    message.clone(),
                ))));
            }
            for reply in pull_replies {
                let _ = reply.send(Err(ApiError::from(StoreError::GroupFailed(
                    message.clone(),
                ))));
            }
            for reply in audit_replies {
                let _ = reply.send(Err(StoreError::GroupFailed(message.clone())));
            }
        }
        // The replies are dropped: those requests fail with 500.
        Err(_) => log::error!("group commit panicked"),
    }
}

pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .route("/v1/push", post(push))
        .route("/v1/pull", get(pull))
        .route("/v1/follow-up", post(follow_up).get(follow_up_list))
        .route("/v1/enrol", post(enrol))
        .route("/v1/structures", get(structures))
        .route("/v1/authors", get(authors))
        .route_layer(middleware::from_fn(check_protocol));
    Router::new()
        .merge(api)
        .route("/openapi.json", get(openapi))
        .with_state(state)
        // The fastest level: pages are repetitive JSON, and the server's CPU is shared by every
        // laptop of the territory.
        .layer(
            tower_http::compression::CompressionLayer::new()
                .quality(tower_http::CompressionLevel::Fastest),
        )
}

#[derive(Debug)]
pub enum ApiError {
    UpgradeRequired,
    ServerTooOld,
    Unauthorized,
    DeviceRevoked,
    Forbidden,
    InvalidCode,
    BadRequest(String),
    NotFound(&'static str),
    Internal(String),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Forbidden => ApiError::Forbidden,
            StoreError::InvalidCode => ApiError::InvalidCode,
            StoreError::BadCursor => ApiError::BadRequest("curseur invalide".into()),
            StoreError::Invalid(what) => ApiError::BadRequest(what),
            StoreError::NotFound(what) => ApiError::NotFound(what),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            ApiError::UpgradeRequired => (
                StatusCode::UPGRADE_REQUIRED,
                ErrorCode::UpgradeRequired,
                "Mise à jour nécessaire : cette version de Tandem ne peut plus se synchroniser \
                 avec le serveur du territoire. Installez la dernière version."
                    .to_string(),
            ),
            ApiError::ServerTooOld => (
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                "Le serveur du territoire doit être mis à jour avant de synchroniser cette \
                 version de Tandem."
                    .to_string(),
            ),
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthorized,
                "Cet ordinateur n'est pas enregistré auprès du serveur du territoire.".to_string(),
            ),
            ApiError::DeviceRevoked => (
                StatusCode::FORBIDDEN,
                ErrorCode::DeviceRevoked,
                "Cet ordinateur a été révoqué : ses données locales vont être effacées."
                    .to_string(),
            ),
            ApiError::Forbidden => (
                StatusCode::FORBIDDEN,
                ErrorCode::Forbidden,
                "Votre structure n'a pas accès à ce dossier.".to_string(),
            ),
            ApiError::InvalidCode => (
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidCode,
                "Ce code d'enrôlement est inconnu, déjà utilisé ou expiré. Demandez un nouveau \
                 code à l'administrateur du serveur du territoire."
                    .to_string(),
            ),
            ApiError::BadRequest(what) => (
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                format!("Requête invalide : {what}"),
            ),
            ApiError::NotFound(what) => (
                StatusCode::NOT_FOUND,
                ErrorCode::BadRequest,
                format!("Introuvable : {what}"),
            ),
            ApiError::Internal(detail) => {
                log::error!("internal error: {detail}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorCode::Internal,
                    "Erreur interne du serveur.".to_string(),
                )
            }
        };
        (status, Json(ErrorBody { code, message })).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        log::debug!("rejected body: {rejection}");
        let what = match rejection {
            JsonRejection::JsonSyntaxError(_) => "le corps n'est pas du JSON valide",
            JsonRejection::JsonDataError(_) => "le contenu ne correspond pas au format attendu",
            JsonRejection::MissingJsonContentType(_) => {
                "le corps doit être envoyé en application/json"
            }
            _ => "corps de requête illisible",
        };
        ApiError::BadRequest(what.into())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        log::debug!("rejected query: {rejection}");
        ApiError::BadRequest("paramètres de requête invalides".into())
    }
}

/// `Json` whose rejections are `{code, message}` errors (400 `bad_request`), not axum's plain
/// text.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(value) = Json::<T>::from_request(request, state).await?;
        Ok(ApiJson(value))
    }
}

/// `Query` whose rejections are `{code, message}` errors (400 `bad_request`).
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    Query<T>: FromRequestParts<S, Rejection = QueryRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(value) = Query::<T>::from_request_parts(parts, state).await?;
        Ok(ApiQuery(value))
    }
}

/// Every API request names its protocol version; an older client is told to upgrade before it
/// can send or receive anything.
async fn check_protocol(request: Request, next: Next) -> Result<Response, ApiError> {
    let version = request
        .headers()
        .get(PROTOCOL_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u32>().ok());
    match version {
        None => Err(ApiError::UpgradeRequired),
        Some(v) if v < MIN_PROTOCOL_VERSION => Err(ApiError::UpgradeRequired),
        Some(v) if v > PROTOCOL_VERSION => Err(ApiError::ServerTooOld),
        Some(_) => Ok(next.run(request).await),
    }
}

async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Device, ApiError> {
    let token = bearer_token(headers)?;
    let found = state
        .with_reader(move |store| store.authenticate(&token))
        .await?;
    admitted(found)
}

/// The request's bearer token, or 401.
fn bearer_token(headers: &HeaderMap) -> Result<String, ApiError> {
    Ok(headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ApiError::Unauthorized)?
        .trim()
        .to_string())
}

/// The device a token belongs to, if it may still act: 401 for an unknown token, 403
/// `device_revoked` (the app wipes its case file) for a revoked device.
fn admitted(found: Option<Device>) -> Result<Device, ApiError> {
    let device = found.ok_or(ApiError::Unauthorized)?;
    if device.revoked {
        return Err(ApiError::DeviceRevoked);
    }
    Ok(device)
}

/// A push's device, if it may still act, and its size: the checks of [`authenticate`], in the
/// same order, made on the writer.
fn admit_push(device: Option<Device>, pending: PendingPush) -> Result<PushBatch, ApiError> {
    let device = admitted(device)?;
    if pending.changes.len() > MAX_PUSH_BATCH {
        return Err(ApiError::BadRequest(format!(
            "au plus {MAX_PUSH_BATCH} modifications par envoi"
        )));
    }
    Ok(PushBatch {
        device,
        changes: pending.changes,
        now_ms: pending.now_ms,
    })
}

async fn push(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<PushRequest>,
) -> Result<Json<PushResponse>, ApiError> {
    let token = bearer_token(&headers)?;
    let now = crate::now_ms();
    let results = state.push(token, request.changes, now).await?;
    Ok(Json(PushResponse {
        results,
        server_time_ms: now as u64,
    }))
}

async fn pull(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(request): ApiQuery<PullRequest>,
) -> Result<Json<PullResponse>, ApiError> {
    let token = bearer_token(&headers)?;
    let now = crate::now_ms();
    if let Some(pending) = state.pull_on_writer(&token, &request, now) {
        return Ok(Json(state.pull_by_writer(pending).await?));
    }
    // The device is looked up on the reader, in the same turn as the page: a pull waits for a
    // reader connection once, not twice.
    let (page, read) = state
        .read_pull(QueuedPull {
            token,
            request,
            now_ms: now,
        })
        .await?;
    // Nothing leaves before its audit rows are committed.
    state.audit(read).await?;
    Ok(Json(page))
}

async fn follow_up(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<FollowUpRequest>,
) -> Result<StatusCode, ApiError> {
    let device = authenticate(&state, &headers).await?;
    let now = crate::now_ms();
    state
        .with_store(move |store| store.follow_up(&device, &request, now))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn follow_up_list(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<tandem_sync::FollowUpQuery>,
) -> Result<Json<Vec<tandem_sync::FollowUpEntry>>, ApiError> {
    let device = authenticate(&state, &headers).await?;
    let now = crate::now_ms();
    let (entries, read) = state
        .with_reader(move |store| store.read_follow_up_of(&device, query.person_id, now))
        .await?;
    state.audit(vec![read]).await?;
    Ok(Json(entries))
}

/// Trades a one-time enrolment code for a device credential. No bearer token: the code is the
/// credential.
async fn enrol(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<EnrolRequest>,
) -> Result<Json<EnrolResponse>, ApiError> {
    let now = crate::now_ms();
    let result = state
        .with_store(move |store| store.enrol(&request.code, &request.device_name, now))
        .await;
    if let Err(ApiError::InvalidCode) = &result {
        // Never the code itself: it is a credential.
        log::info!("enrolment refused: unknown, used or expired code");
    }
    Ok(Json(result?))
}

async fn structures(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Vec<tandem_sync::StructureInfo>>, ApiError> {
    authenticate(&state, &headers).await?;
    Ok(Json(state.with_reader(|store| store.structures()).await?))
}

async fn authors(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<tandem_sync::AuthorsQuery>,
) -> Result<Json<Vec<tandem_sync::AuthorInfo>>, ApiError> {
    authenticate(&state, &headers).await?;
    let ids = query
        .ids
        .split(',')
        .filter(|id| !id.is_empty())
        .map(uuid::Uuid::parse_str)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| ApiError::BadRequest("identifiant d’appareil invalide".into()))?;
    if ids.len() > tandem_sync::MAX_AUTHORS {
        return Err(ApiError::BadRequest(format!(
            "au plus {} appareils par demande",
            tandem_sync::MAX_AUTHORS
        )));
    }
    Ok(Json(
        state.with_reader(move |store| store.authors(&ids)).await?,
    ))
}

async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::DOCUMENT,
    )
}
