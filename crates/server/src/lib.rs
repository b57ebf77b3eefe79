//! The territory server: sync endpoints over HTTP, access control, audit, and the admin CLI.
//! `main.rs` only parses arguments and calls into here; tests start [`http::app`] on a socket.

pub mod audit;
pub mod cli;
pub mod db;
pub mod http;
mod openapi;
mod snapshot;
pub mod store;
pub mod tls;

pub use store::{Device, Role, Store, StoreError};

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Milliseconds since the Unix epoch, by the server's clock.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
