//! The server over HTTPS: a self-signed pair made at test time, the real accept loop on
//! 127.0.0.1:0, and real TLS clients that trust the certificate, or do not.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};
use serde_json::{json, Value};
use tandem_server::http::{app, AppState};
use tandem_server::tls::{load_server_config, TlsError};
use tandem_server::{Role, Store};
use tandem_sync::{Change, Hlc, PullResponse, PushResponse, PROTOCOL_HEADER};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use uuid::Uuid;

/// A self-signed certificate for `localhost` and 127.0.0.1, written as PEM files.
struct Pair {
    cert: PathBuf,
    key: PathBuf,
    der: rustls::pki_types::CertificateDer<'static>,
}

fn make_pair(dir: &Path, name: &str) -> Pair {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap();
    let cert = dir.join(format!("{name}.cert.pem"));
    let key = dir.join(format!("{name}.key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
    Pair {
        cert,
        key,
        der: certified.cert.der().clone(),
    }
}

struct TlsServer {
    addr: SocketAddr,
    state: AppState,
    _dir: tempfile::TempDir,
}

/// The real router behind the real TLS accept loop, on an ephemeral loopback port.
async fn start(pair: &Pair) -> TlsServer {
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::new(Store::open(dir.path()).unwrap());
    let config = load_server_config(&pair.cert, &pair.key).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(tandem_server::tls::serve(
        listener,
        app(state.clone()),
        config,
    ));
    TlsServer {
        addr,
        state,
        _dir: dir,
    }
}

fn client_trusting(certs: &[&rustls::pki_types::CertificateDer<'static>]) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots.add((*cert).clone()).unwrap();
    }
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One HTTPS request on a fresh connection: (status, JSON body or Null).
async fn https(
    connector: &TlsConnector,
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Result<(u16, Value), BoxError> {
    let tcp = TcpStream::connect(addr).await?;
    let tls = connector
        .connect(ServerName::try_from("localhost")?, tcp)
        .await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
    tokio::spawn(connection);
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .header("content-type", "application/json")
        .header(PROTOCOL_HEADER, "1");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let response = sender
        .send_request(request.body(Full::new(Bytes::from(body)))?)
        .await?;
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await?.to_bytes();
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)?
    };
    Ok((status, json))
}

fn person_change(device: Uuid, person: Uuid, field: &str, value: Value) -> Change {
    Change {
        mutation_id: Uuid::now_v7(),
        entity: "person".into(),
        record_id: person,
        person_id: person,
        field: field.into(),
        value,
        base_version: None,
        hlc: Hlc {
            wall_ms: tandem_server::now_ms() as u64,
            counter: 0,
            node: device,
        },
        device_id: device,
    }
}

#[tokio::test]
async fn https_serves_the_api_to_a_client_that_trusts_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let pair = make_pair(dir.path(), "server");
    let server = start(&pair).await;
    let trusting = client_trusting(&[&pair.der]);

    let (status, doc) = https(&trusting, server.addr, "GET", "/openapi.json", None, None)
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert!(doc["paths"].get("/v1/pull").is_some(), "{doc}");

    let (device, token) = server
        .state
        .with_store(|store| {
            let now = tandem_server::now_ms();
            let structure = store.add_structure("CCAS de Lille", "ccas", now)?;
            store.add_device(structure, "pc-1", Role::Social, now)
        })
        .await
        .unwrap();
    let person = Uuid::now_v7();
    let change = person_change(device, person, "first_name", json!("Hélène"));
    let (status, pushed) = https(
        &trusting,
        server.addr,
        "POST",
        "/v1/push",
        Some(&token),
        Some(json!({ "changes": [change] })),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{pushed}");
    let pushed: PushResponse = serde_json::from_value(pushed).unwrap();
    assert_eq!(pushed.results.len(), 1);
    let (status, page) = https(
        &trusting,
        server.addr,
        "GET",
        "/v1/pull",
        Some(&token),
        None,
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{page}");
    let page: PullResponse = serde_json::from_value(page).unwrap();
    assert_eq!(page.changes.len(), 1);
    assert_eq!(page.changes[0].change, change);
    // Without a token the API still answers over TLS, with its own error.
    let (status, error) = https(&trusting, server.addr, "GET", "/v1/pull", None, None)
        .await
        .unwrap();
    assert_eq!(
        (status, error["code"].as_str()),
        (401, Some("unauthorized"))
    );
}

#[tokio::test]
async fn bad_clients_fail_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let pair = make_pair(dir.path(), "server");
    let other = make_pair(dir.path(), "other");
    let server = start(&pair).await;

    // A client that trusts another certificate: the handshake fails on its side.
    let wrong = client_trusting(&[&other.der]);
    let error = https(&wrong, server.addr, "GET", "/openapi.json", None, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("invalid peer certificate") || error.contains("UnknownIssuer"),
        "{error}"
    );
    // A client that trusts nothing at all.
    let none = client_trusting(&[]);
    assert!(
        https(&none, server.addr, "GET", "/openapi.json", None, None)
            .await
            .is_err()
    );

    // Plain HTTP to the TLS port gets no HTTP answer.
    let mut plain = TcpStream::connect(server.addr).await.unwrap();
    plain
        .write_all(b"GET /openapi.json HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), plain.read_to_end(&mut answer))
        .await
        .expect("the server closes a plain-HTTP connection");
    assert!(
        read.is_err() || !answer.starts_with(b"HTTP/"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
    // The same through a real HTTP client.
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let uri: hyper::Uri = format!("http://{}/openapi.json", server.addr)
        .parse()
        .unwrap();
    assert!(client.get(uri).await.is_err());

    // A client that connects and never says anything does not block the others.
    let _silent = TcpStream::connect(server.addr).await.unwrap();
    let trusting = client_trusting(&[&pair.der]);
    let (status, _) = https(&trusting, server.addr, "GET", "/openapi.json", None, None)
        .await
        .unwrap();
    assert_eq!(status, 200);
}

#[test]
fn unreadable_missing_or_mismatched_files_are_refused_with_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let a = make_pair(dir.path(), "a");
    let b = make_pair(dir.path(), "b");
    let missing = dir.path().join("missing.pem");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a PEM file\n").unwrap();

    let err = |cert: &Path, key: &Path| load_server_config(cert, key).unwrap_err();
    assert!(matches!(
        err(&missing, &a.key),
        TlsError::CertUnreadable { .. }
    ));
    assert!(matches!(
        err(&a.cert, &missing),
        TlsError::KeyUnreadable { .. }
    ));
    assert!(matches!(
        err(&garbage, &a.key),
        TlsError::NoCertificate { .. }
    ));
    assert!(matches!(err(&a.cert, &garbage), TlsError::NoKey { .. }));
    // A key file holding only a certificate has no key either.
    assert!(matches!(err(&a.cert, &a.cert), TlsError::NoKey { .. }));
    let mismatch = err(&a.cert, &b.key);
    assert!(
        matches!(mismatch, TlsError::Mismatch { .. }),
        "{mismatch:?}"
    );
    assert!(
        mismatch.to_string().contains("ne correspond pas"),
        "{mismatch}"
    );
    assert!(load_server_config(&a.cert, &a.key).is_ok());
}

fn server_binary(data_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tandem-server"));
    command.arg("--data-dir").arg(data_dir);
    command
}

#[test]
fn the_binary_refuses_a_bad_pair_and_plain_http_off_loopback_but_serves_tls_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    let a = make_pair(dir.path(), "a");
    let b = make_pair(dir.path(), "b");
    let data = dir.path().join("data");

    let mismatched = server_binary(&data)
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(&a.cert)
        .arg("--tls-key")
        .arg(&b.key)
        .output()
        .unwrap();
    assert_eq!(mismatched.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&mismatched.stderr);
    assert!(
        stderr.contains("ne correspond pas au certificat"),
        "{stderr}"
    );

    let half = server_binary(&data)
        .args(["serve", "--tls-cert"])
        .arg(&a.cert)
        .output()
        .unwrap();
    assert_eq!(half.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&half.stderr).contains("go together"));

    let plain = server_binary(&data)
        .args(["serve", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(plain.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&plain.stderr);
    assert!(
        stderr.contains("sans TLS") && stderr.contains("--tls-cert"),
        "{stderr}"
    );

    // With TLS, an address off loopback is accepted: the server starts and says where.
    let mut child = server_binary(&data)
        .args(["serve", "--listen", "0.0.0.0:0", "--tls-cert"])
        .arg(&a.cert)
        .arg("--tls-key")
        .arg(&a.key)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut line).unwrap();
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("tandem-server: listening on https://")
        .unwrap_or_else(|| panic!("{line}"))
        .parse()
        .unwrap();
    let local = SocketAddr::from(([127, 0, 0, 1], addr.port()));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let answer = runtime.block_on(https(
        &client_trusting(&[&a.der]),
        local,
        "GET",
        "/openapi.json",
        None,
        None,
    ));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(answer.unwrap().0, 200);
}
