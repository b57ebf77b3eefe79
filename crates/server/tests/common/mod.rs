//! A real server on 127.0.0.1:0 with a temporary data folder, and a small HTTP client.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tandem_server::http::{app, AppState};
use tandem_server::{Role, Store};
use tandem_sync::{Change, Cursor, Hlc, PullResponse, PushResponse, Versioned, PROTOCOL_HEADER};
use uuid::Uuid;

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

pub struct Server {
    pub base: String,
    pub dir: tempfile::TempDir,
    pub state: AppState,
    client: HttpClient,
}

#[derive(Debug, Clone)]
pub struct Dev {
    pub id: Uuid,
    pub token: String,
    pub structure: Uuid,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl Server {
    pub async fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let state = AppState::new(Store::open(dir.path()).unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = app(state.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Server {
            base,
            dir,
            state,
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    pub async fn structure(&self, name: &str) -> Uuid {
        let name = name.to_string();
        self.state
            .with_store(move |s| s.add_structure(&name, "test", tandem_server::now_ms()))
            .await
            .unwrap()
    }

    pub async fn device(&self, structure: Uuid, role: Role) -> Dev {
        let (id, token) = self
            .state
            .with_store(move |s| s.add_device(structure, "laptop", role, tandem_server::now_ms()))
            .await
            .unwrap();
        Dev {
            id,
            token,
            structure,
        }
    }

    /// Any request; returns the status and the JSON body (Null when empty).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        protocol: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        self.call_raw(method, path, token, protocol, body).await
    }

    /// Any request with a raw body; returns the status and the JSON body (Null when empty,
    /// a JSON string when the answer is not JSON).
    pub async fn call_raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        protocol: Option<&str>,
        body: String,
    ) -> (u16, Value) {
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("content-type", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some(protocol) = protocol {
            request = request.header(PROTOCOL_HEADER, protocol);
        }
        let response = self
            .client
            .request(request.body(Full::new(Bytes::from(body))).unwrap())
            .await
            .unwrap();
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        (status, json)
    }

    pub async fn push(&self, dev: &Dev, changes: &[Change]) -> PushResponse {
        let body = serde_json::json!({ "changes": changes });
        let (status, json) = self
            .call("POST", "/v1/push", Some(&dev.token), Some("1"), Some(body))
            .await;
        assert_eq!(status, 200, "{json}");
        serde_json::from_value(json).unwrap()
    }

    pub async fn pull_page(&self, dev: &Dev, cursor: Option<&Cursor>, limit: u32) -> PullResponse {
        let mut path = format!("/v1/pull?limit={limit}");
        if let Some(c) = cursor {
            path.push_str(&format!("&cursor={}", c.0));
        }
        let (status, json) = self
            .call("GET", &path, Some(&dev.token), Some("1"), None)
            .await;
        assert_eq!(status, 200, "{json}");
        serde_json::from_value(json).unwrap()
    }

    /// Pulls until `has_more` is false: (removals in order, changes, last cursor).
    pub async fn pull_all(
        &self,
        dev: &Dev,
        mut cursor: Option<Cursor>,
        limit: u32,
    ) -> (Vec<Uuid>, Vec<Versioned>, Cursor) {
        let mut removals = Vec::new();
        let mut changes = Vec::new();
        loop {
            let page = self.pull_page(dev, cursor.as_ref(), limit).await;
            removals.extend(page.removals);
            changes.extend(page.changes);
            cursor = Some(page.cursor);
            if !page.has_more {
                return (removals, changes, cursor.unwrap());
            }
        }
    }

    pub async fn follow_up(
        &self,
        dev: &Dev,
        person: Uuid,
        structure: Uuid,
        consent: bool,
        share: bool,
    ) -> u16 {
        let body = serde_json::json!({
            "person_id": person, "structure_id": structure,
            "consent": consent, "share_social_notes": share
        });
        self.call(
            "POST",
            "/v1/follow-up",
            Some(&dev.token),
            Some("1"),
            Some(body),
        )
        .await
        .0
    }

    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.dir.path().join("tandem-server.sqlite")).unwrap()
    }
}

pub fn now_ms() -> u64 {
    tandem_server::now_ms() as u64
}

/// A person-field change stamped now by `dev`.
pub fn change(dev: &Dev, person: Uuid, field: &str, value: Value, base: Option<u64>) -> Change {
    change_at(dev, person, field, value, base, now_ms())
}

pub fn change_at(
    dev: &Dev,
    person: Uuid,
    field: &str,
    value: Value,
    base: Option<u64>,
    wall_ms: u64,
) -> Change {
    Change {
        mutation_id: Uuid::now_v7(),
        entity: "person".into(),
        record_id: person,
        person_id: person,
        field: field.into(),
        value,
        base_version: base,
        hlc: Hlc {
            wall_ms,
            counter: COUNTER.fetch_add(1, Ordering::Relaxed),
            node: dev.id,
        },
        device_id: dev.id,
    }
}

/// A diagnostic edit, journalled like the app does: field = kind, value = the edit.
pub fn diagnostic_edit(dev: &Dev, person: Uuid, diagnostic: Uuid, edit: Value) -> Change {
    let kind = edit["kind"].as_str().unwrap().to_string();
    Change {
        entity: "diagnostic".into(),
        record_id: diagnostic,
        field: kind,
        value: edit,
        ..change(dev, person, "", Value::Null, None)
    }
}
