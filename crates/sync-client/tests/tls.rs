//! The app's client against the real server over HTTPS, as on a territory's trial server: a
//! self-signed pair made at test time, trusted only through the certificate file the caseworker
//! was given (`server-ca.pem`), never by default.

use std::path::Path;

use tandem_server::http::{app, AppState};
use tandem_server::tls::{load_server_config, serve};
use tandem_server::{Role, Store};
use tandem_sync_client::{ServerClient, SyncError};

fn write_pair(dir: &Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap();
    let cert = dir.join(format!("{name}.cert.pem"));
    let key = dir.join(format!("{name}.key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
    (cert, key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_signed_server_is_trusted_through_its_certificate_file_only() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let (cert, key) = write_pair(dir.path(), "territory");
    let (other_cert, _) = write_pair(dir.path(), "other");

    let state = AppState::new(Store::open(&data).unwrap());
    let token = state
        .with_store(|s| {
            let now = tandem_server::now_ms();
            let structure = s.add_structure("CCAS de Villeurbanne", "ccas", now)?;
            let (_, token) = s.add_device(structure, "laptop", Role::Social, now)?;
            Ok(token)
        })
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = load_server_config(&cert, &key).unwrap();
    tokio::spawn(serve(listener, app(state.clone()), config));
    let url = format!("https://localhost:{port}");

    // Trusted through the territory's certificate file: the API answers.
    let client = ServerClient::new(&url, Some(&cert))
        .unwrap()
        .with_token(token.clone());
    let structures = client.structures().await.unwrap();
    assert_eq!(structures.len(), 1);
    assert_eq!(structures[0].name, "CCAS de Villeurbanne");

    // Without it, or with another server's certificate: refused as untrusted (the caseworker is
    // told the certificate is not recognised), not mistaken for being offline.
    for root in [None, Some(other_cert.as_path())] {
        let error = ServerClient::new(&url, root)
            .unwrap()
            .with_token(token.clone())
            .structures()
            .await
            .unwrap_err();
        assert!(matches!(error, SyncError::UntrustedServer), "{error:?}");
    }

    // A file that is not a certificate, or no file: refused before any connection.
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "ceci n'est pas un certificat").unwrap();
    for root in [garbage.as_path(), &dir.path().join("missing.pem")] {
        let error = ServerClient::new(&url, Some(root)).unwrap_err();
        assert!(matches!(error, SyncError::Certificate), "{error:?}");
    }

    // Nothing listening: offline, to be retried.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let error = ServerClient::new(&format!("https://localhost:{closed_port}"), Some(&cert))
        .unwrap()
        .with_token(token)
        .structures()
        .await
        .unwrap_err();
    assert!(matches!(error, SyncError::Offline), "{error:?}");
}
