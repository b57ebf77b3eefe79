//! The HTTP API: `app(state) -> Router`, handlers as thin adapters over [`Store`], and errors
//! as `{code, message}` responses.

use std::sync::{Arc, Mutex};

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

use crate::store::{Device, Store, StoreError};

/// Largest batch a push may carry.
pub const MAX_PUSH_BATCH: usize = 5_000;

/// The one writer connection, shared by every request and used on the blocking pool.
#[derive(Clone)]
pub struct AppState {
    store: Arc<Mutex<Store>>,
}

impl AppState {
    pub fn new(store: Store) -> Self {
        AppState {
            store: Arc::new(Mutex::new(store)),
        }
    }

    /// Runs `f` with the store on the blocking pool.
    pub async fn with_store<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = store
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| ApiError::Internal(format!("blocking task: {e}")))?
        .map_err(ApiError::from)
    }
}

pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .route("/v1/push", post(push))
        .route("/v1/pull", get(pull))
        .route("/v1/follow-up", post(follow_up).get(follow_up_list))
        .route("/v1/enrol", post(enrol))
        .route("/v1/structures", get(structures))
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
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ApiError::Unauthorized)?
        .trim()
        .to_string();
    let device = state
        .with_store(move |store| store.authenticate(&token))
        .await?
        .ok_or(ApiError::Unauthorized)?;
    if device.revoked {
        return Err(ApiError::DeviceRevoked);
    }
    Ok(device)
}

async fn push(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<PushRequest>,
) -> Result<Json<PushResponse>, ApiError> {
    let device = authenticate(&state, &headers).await?;
    if request.changes.len() > MAX_PUSH_BATCH {
        return Err(ApiError::BadRequest(format!(
            "au plus {MAX_PUSH_BATCH} modifications par envoi"
        )));
    }
    let now = crate::now_ms();
    let results = state
        .with_store(move |store| store.push(&device, &request.changes, now))
        .await?;
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
    let device = authenticate(&state, &headers).await?;
    let now = crate::now_ms();
    let page = state
        .with_store(move |store| store.pull_request(&device, &request, now))
        .await?;
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
    Ok(Json(
        state
            .with_store(move |store| store.follow_up_of(&device, query.person_id, now))
            .await?,
    ))
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
    Ok(Json(state.with_store(|store| store.structures()).await?))
}

async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::DOCUMENT,
    )
}
