//! The HTTP client of the territory server: JSON over HTTPS (rustls with the ring provider),
//! the protocol header on every request, the device's bearer token, and every answer mapped
//! to a typed [`SyncError`].

use std::path::Path;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tandem_sync::{
    Change, Cursor, EnrolRequest, EnrolResponse, ErrorBody, ErrorCode, FollowUpRequest,
    PullResponse, PushResponse, PROTOCOL_HEADER, PROTOCOL_VERSION,
};

use crate::error::SyncError;

/// How long to wait for a connection: a laptop on a bad network is offline, not stuck.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one request may take in all (a pull page of 5,000 changes included).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// A client of one territory server. Cheap to clone (the connection pool is shared).
#[derive(Clone)]
pub struct ServerClient {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl std::fmt::Debug for ServerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("ServerClient")
            .field("base", &self.base)
            .field("authenticated", &self.token.is_some())
            .finish()
    }
}

impl ServerClient {
    /// A client of the server at `base_url` (`https://…`; `http://` only makes sense on
    /// loopback). `extra_root` is a PEM file with a certificate to trust besides the usual
    /// public roots: a territory's self-signed trial server.
    pub fn new(base_url: &str, extra_root: Option<&Path>) -> Result<Self, SyncError> {
        let base = base_url.trim_end_matches('/').to_string();
        let url = reqwest::Url::parse(&base).map_err(|_| SyncError::InvalidUrl)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(SyncError::InvalidUrl);
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            PROTOCOL_HEADER,
            HeaderValue::from_str(&PROTOCOL_VERSION.to_string())
                .map_err(|_| SyncError::InvalidUrl)?,
        );
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .https_only(url.scheme() == "https")
            .default_headers(headers)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("tandem/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = extra_root {
            let pem = std::fs::read(path).map_err(|_| SyncError::Certificate)?;
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|_| SyncError::Certificate)?;
            if certs.is_empty() {
                return Err(SyncError::Certificate);
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder.build().map_err(|_| SyncError::Certificate)?;
        Ok(ServerClient {
            http,
            base,
            token: None,
        })
    }

    /// The same client, authenticated as the device holding `token`.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Enrols this laptop with a one-time code from the territory's administrator. The answer
    /// holds the device credential: keep it in the OS keychain.
    pub async fn enrol(&self, code: &str, device_name: &str) -> Result<EnrolResponse, SyncError> {
        let body = EnrolRequest {
            code: code.trim().to_string(),
            device_name: device_name.to_string(),
        };
        self.call(Method::POST, "/v1/enrol", Some(&body), false)
            .await?
            .ok_or(SyncError::Protocol)
    }

    /// Sends a batch of changes (at most 5,000); one result per change, in order.
    pub async fn push(&self, changes: &[Change]) -> Result<PushResponse, SyncError> {
        #[derive(Serialize)]
        struct Body<'a> {
            changes: &'a [Change],
        }
        let response: PushResponse = self
            .call(Method::POST, "/v1/push", Some(&Body { changes }), true)
            .await?
            .ok_or(SyncError::Protocol)?;
        if response.results.len() != changes.len() {
            return Err(SyncError::Protocol);
        }
        Ok(response)
    }

    /// One page of the device's feed after `cursor` (from the start when `None`).
    pub async fn pull(
        &self,
        cursor: Option<&Cursor>,
        limit: u32,
    ) -> Result<PullResponse, SyncError> {
        let mut path = format!("/v1/pull?limit={limit}");
        if let Some(cursor) = cursor {
            // The cursor is base64url: safe in a query string as it is.
            path.push_str("&cursor=");
            path.push_str(&cursor.0);
        }
        self.call::<(), _>(Method::GET, &path, None, true)
            .await?
            .ok_or(SyncError::Protocol)
    }

    /// The first page of a first pull in snapshot form (the server's current state per
    /// record); the next pages are asked for with [`ServerClient::pull`] and its cursor.
    pub async fn pull_snapshot(&self, limit: u32) -> Result<PullResponse, SyncError> {
        let path = format!("/v1/pull?limit={limit}&snapshot=true");
        self.call::<(), _>(Method::GET, &path, None, true)
            .await?
            .ok_or(SyncError::Protocol)
    }

    /// Puts a structure in a person's follow-up group, or changes its consent flags.
    pub async fn follow_up(&self, request: &FollowUpRequest) -> Result<(), SyncError> {
        self.call::<_, serde_json::Value>(Method::POST, "/v1/follow-up", Some(request), true)
            .await
            .map(drop)
    }

    /// The structures that see a person's file with their consent.
    pub async fn follow_up_of(
        &self,
        person: uuid::Uuid,
    ) -> Result<Vec<tandem_sync::FollowUpEntry>, SyncError> {
        self.call::<(), _>(
            Method::GET,
            &format!("/v1/follow-up?person_id={person}"),
            None,
            true,
        )
        .await?
        .ok_or(SyncError::Protocol)
    }

    /// The territory's structures (no personal data).
    pub async fn structures(&self) -> Result<Vec<tandem_sync::StructureInfo>, SyncError> {
        self.call::<(), _>(Method::GET, "/v1/structures", None, true)
            .await?
            .ok_or(SyncError::Protocol)
    }

    /// Who the given devices act for (caseworker and structure); unknown ids are left out.
    pub async fn authors(
        &self,
        ids: &[uuid::Uuid],
    ) -> Result<Vec<tandem_sync::AuthorInfo>, SyncError> {
        let list: Vec<String> = ids.iter().map(uuid::Uuid::to_string).collect();
        self.call::<(), _>(
            Method::GET,
            &format!("/v1/authors?ids={}", list.join(",")),
            None,
            true,
        )
        .await?
        .ok_or(SyncError::Protocol)
    }

    /// One request; `Ok(None)` for an empty success body.
    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        authenticated: bool,
    ) -> Result<Option<T>, SyncError> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if authenticated {
            let token = self.token.as_deref().ok_or(SyncError::NotEnrolled)?;
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport)?;
        if status.is_success() {
            if bytes.is_empty() {
                return Ok(None);
            }
            return serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|_| SyncError::Protocol);
        }
        Err(error_for(status, &bytes))
    }
}

/// A failure to talk to the server at all: no network, DNS, refused, reset, timeout, TLS.
fn transport(error: reqwest::Error) -> SyncError {
    // The detail (host, OS error) goes to the log, never personal data: requests carry none
    // in their URL.
    log::info!("sync transport error: {error}");
    if is_certificate_error(&error) {
        SyncError::UntrustedServer
    } else {
        SyncError::Offline
    }
}

fn is_certificate_error(error: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        let text = e.to_string();
        if text.contains("certificate") || text.contains("UnknownIssuer") {
            return true;
        }
        source = e.source();
    }
    false
}

fn error_for(status: StatusCode, bytes: &[u8]) -> SyncError {
    if status == StatusCode::UPGRADE_REQUIRED {
        return SyncError::UpgradeRequired;
    }
    let body: Option<ErrorBody> = serde_json::from_slice(bytes).ok();
    match body.map(|b| (b.code, b.message)) {
        Some((ErrorCode::UpgradeRequired, _)) => SyncError::UpgradeRequired,
        Some((ErrorCode::DeviceRevoked, _)) => SyncError::DeviceRevoked,
        Some((ErrorCode::Unauthorized, _)) => SyncError::Unauthorized,
        Some((ErrorCode::InvalidCode, _)) => SyncError::InvalidCode,
        Some((ErrorCode::Forbidden, _)) => SyncError::Forbidden,
        Some((ErrorCode::BadRequest, message)) => SyncError::Rejected(message),
        Some((ErrorCode::Internal, _)) => SyncError::Server(status.as_u16()),
        None if status == StatusCode::UNAUTHORIZED => SyncError::Unauthorized,
        None if status.is_client_error() => SyncError::Rejected(String::new()),
        None => SyncError::Server(status.as_u16()),
    }
}
