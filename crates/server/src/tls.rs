//! HTTPS for the territory server: rustls (ring provider) over tokio, HTTP/1.1 served by hyper.
//! `axum::serve` has no TLS, so this module runs the accept loop itself: each connection does
//! its handshake in its own task, and a failed or stalled handshake only closes that connection.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{InconsistentKeys, ServerConfig};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// A client that has not finished its handshake by then is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// A client that has not sent a request's headers by then is dropped.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the certificate or key cannot be used. Messages are in French: an administrator reads
/// them when `serve` refuses to start.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("impossible de lire le fichier de certificat {}: {source}", .path.display())]
    CertUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "aucun certificat PEM (« BEGIN CERTIFICATE ») dans {}", .path.display()
    )]
    NoCertificate { path: PathBuf },
    #[error("le fichier de certificat {} est mal formé : {detail}", .path.display())]
    CertMalformed { path: PathBuf, detail: String },
    #[error("impossible de lire le fichier de clé {}: {source}", .path.display())]
    KeyUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "aucune clé privée PEM (PKCS#8, PKCS#1 ou SEC1, non chiffrée) dans {}", .path.display()
    )]
    NoKey { path: PathBuf },
    #[error("le fichier de clé {} est mal formé : {detail}", .path.display())]
    KeyMalformed { path: PathBuf, detail: String },
    #[error(
        "la clé {} ne correspond pas au certificat {} : ce ne sont pas les deux moitiés d'une \
         même paire", .key.display(), .cert.display()
    )]
    Mismatch { cert: PathBuf, key: PathBuf },
    #[error("certificat ou clé refusés par rustls : {0}")]
    Rejected(rustls::Error),
}

/// Reads a PEM certificate chain (leaf first) and its private key, checks that they belong
/// together, and builds the server's TLS configuration (TLS 1.2 and 1.3, ALPN `http/1.1`).
pub fn load_server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let chain = read_certificates(cert)?;
    let private_key = read_private_key(key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Rejected)?
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(InconsistentKeys::KeyMismatch) => TlsError::Mismatch {
                cert: cert.to_path_buf(),
                key: key.to_path_buf(),
            },
            other => TlsError::Rejected(other),
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let malformed = |e: pem::Error| match e {
        pem::Error::Io(source) => TlsError::CertUnreadable {
            path: path.to_path_buf(),
            source,
        },
        other => TlsError::CertMalformed {
            path: path.to_path_buf(),
            detail: other.to_string(),
        },
    };
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(malformed)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(malformed)?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    Ok(chain)
}

fn read_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| match e {
        pem::Error::Io(source) => TlsError::KeyUnreadable {
            path: path.to_path_buf(),
            source,
        },
        pem::Error::NoItemsFound => TlsError::NoKey {
            path: path.to_path_buf(),
        },
        other => TlsError::KeyMalformed {
            path: path.to_path_buf(),
            detail: other.to_string(),
        },
    })
}

/// Serves `router` over HTTPS on `listener`, forever. Accept errors (such as running out of
/// file descriptors) pause the loop briefly; handshake and connection errors end only their own
/// connection.
pub async fn serve(listener: TcpListener, router: Router, config: Arc<ServerConfig>) {
    let acceptor = TlsAcceptor::from(config);
    loop {
        let tcp = match listener.accept().await {
            Ok((tcp, _peer)) => tcp,
            Err(e) => {
                if !is_connection_error(&e) {
                    log::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let router = router.clone();
        tokio::spawn(async move {
            // Nagle's algorithm only delays small JSON answers.
            let _ = tcp.set_nodelay(true);
            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => {
                    log::debug!("TLS handshake failed: {e}");
                    return;
                }
                Err(_) => {
                    log::debug!("TLS handshake timed out");
                    return;
                }
            };
            let served = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(router))
                .await;
            if let Err(e) = served {
                log::debug!("connection ended with an error: {e}");
            }
        });
    }
}

/// Errors of one incoming connection (the client gave up before `accept` returned): not a
/// reason to slow the loop down.
fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}
