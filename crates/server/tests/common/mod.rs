//! A real server on 127.0.0.1:0, on SQLite (a temporary data folder) or PostgreSQL (a fresh
//! schema per test, dropped at the end), and a small HTTP client. [`both_backends!`] runs each
//! test on both.
//!
//! PostgreSQL comes from `TANDEM_TEST_DATABASE_URL` (default `postgres://127.0.0.1:5432/test`,
//! as the current user). If it does not answer, the PostgreSQL tests fail, never skip:
//! `crates/server/tests/ensure-postgres.sh` installs and starts one.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tandem_server::db::{Row, Value as SqlValue};
use tandem_server::http::{app, AppState};
use tandem_server::{Role, Store};
use tandem_sync::{Change, Cursor, Hlc, PullResponse, PushResponse, Versioned, PROTOCOL_HEADER};
use uuid::Uuid;

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each named `async fn name(backend: Backend)` as two tests, `sqlite::name` and
/// `postgres::name`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Postgres).await
                }
            )*
        }
    };
}

pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://127.0.0.1:5432/test";

pub fn test_database_url() -> String {
    std::env::var("TANDEM_TEST_DATABASE_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_TEST_DATABASE_URL.to_string())
}

/// Runs `f` on a plain thread: the synchronous PostgreSQL client may not block a thread that
/// drives an async runtime.
pub fn on_plain_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(f)
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

pub fn postgres_admin(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).unwrap_or_else(|e| {
        let e = match (e.as_db_error(), std::error::Error::source(&e)) {
            (Some(db), _) => format!("{e}: {}", db.message()),
            (None, Some(cause)) => format!("{e}: {cause}"),
            (None, None) => e.to_string(),
        };
        panic!(
            "PostgreSQL is unreachable at {url}: {e}\n\
             The PostgreSQL half of the server tests needs it: run \
             crates/server/tests/ensure-postgres.sh (installs and starts PostgreSQL), or set \
             TANDEM_TEST_DATABASE_URL to a database where the current user may create schemas."
        )
    })
}

/// A fresh schema in the test database; returns its name and a URL whose connections use it.
fn create_schema() -> (String, String) {
    let base = test_database_url();
    on_plain_thread(move || {
        let schema = format!("t_{}", Uuid::new_v4().simple());
        postgres_admin(&base)
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        // synchronous_commit off: these tests are about logic, not about surviving a power cut;
        // commit order and visibility are unchanged, only the wait for the disk goes.
        let url =
            format!("{base}{sep}options=-csearch_path%3D{schema}%20-csynchronous_commit%3Doff");
        (schema, url)
    })
}

pub struct Server {
    pub backend: Backend,
    pub base: String,
    pub dir: tempfile::TempDir,
    /// PostgreSQL only: the URL of this test's schema, as `--database-url`.
    pub database_url: Option<String>,
    schema: Option<String>,
    pub state: AppState,
    client: HttpClient,
    /// Aborted on drop, so the server's connection closes with the test case.
    serving: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.serving.abort();
        if let Some(schema) = self.schema.take() {
            let base = test_database_url();
            on_plain_thread(move || {
                let _ = postgres_admin(&base)
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            });
        }
    }
}

#[derive(Debug, Clone)]
pub struct Dev {
    pub id: Uuid,
    pub token: String,
    pub structure: Uuid,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl Server {
    pub async fn start(backend: Backend) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let (schema, database_url) = match backend {
            Backend::Sqlite => (None, None),
            Backend::Postgres => {
                let (schema, url) = create_schema();
                (Some(schema), Some(url))
            }
        };
        let store = match &database_url {
            None => Store::open(dir.path()).unwrap(),
            Some(url) => {
                let url = url.clone();
                match on_plain_thread(move || Store::open_postgres(&url)) {
                    Ok(store) => store,
                    Err(e) => {
                        let (schema, base) = (schema.clone().unwrap(), test_database_url());
                        on_plain_thread(move || {
                            let _ = postgres_admin(&base)
                                .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"));
                        });
                        panic!("opening the store on PostgreSQL: {e}");
                    }
                }
            }
        };
        let state = AppState::new(store);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = app(state.clone());
        let serving = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Server {
            backend,
            base,
            dir,
            database_url,
            schema,
            state,
            client: Client::builder(TokioExecutor::new()).build_http(),
            serving,
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

    /// Makes every push batch fail at its change number `after` (`None`: no more faults).
    pub async fn inject_fault_after(&self, after: Option<usize>) {
        self.state
            .with_store(move |s| {
                s.inject_fault_after(after);
                Ok(())
            })
            .await
            .unwrap();
    }

    /// Revokes a device, as `admin device revoke` does.
    pub async fn revoke(&self, device: Uuid) {
        self.state
            .with_store(move |s| s.revoke_device(device))
            .await
            .unwrap();
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

    /// Runs SQL (the shared dialect: `?N` placeholders) on the server's own connection.
    pub async fn query(&self, sql: &str, params: Vec<SqlValue>) -> Vec<Row> {
        let sql = sql.to_string();
        self.state
            .with_store(move |s| Ok(s.db_mut().query(&sql, &params)?))
            .await
            .unwrap()
    }

    /// A `SELECT count(*) …` (or any single integer).
    pub async fn count(&self, sql: &str) -> i64 {
        self.query(sql, vec![]).await[0].int(0).unwrap()
    }

    /// Statements without results, e.g. what someone holding the database would do.
    pub async fn batch(&self, sql: &str) {
        let sql = sql.to_string();
        self.state
            .with_store(move |s| Ok(s.db_mut().batch(&sql)?))
            .await
            .unwrap()
    }

    /// Runs the `tandem-server` binary on this server's database.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tandem-server"));
        command.arg("--data-dir").arg(self.dir.path());
        if let Some(url) = &self.database_url {
            command.arg("--database-url").arg(url);
        }
        command.args(args).output().unwrap()
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
