//! The territory server: sync endpoints over HTTP, access control, audit, and the admin CLI.
//! `main.rs` only parses arguments and calls into here; tests start [`http::app`] on a socket.

pub mod audit;
pub mod cli;
pub mod db;
pub mod http;
mod ledger;
mod openapi;
mod snapshot;
pub mod store;
pub mod tls;

pub use snapshot::ReaderPull;
pub use store::{Device, Role, Store, StoreError};

pub(crate) fn hex(bytes: &[u8]) -> String {
    // By table, not `write!("{b:02x}")`: the writer hashes every audit row and every token,
    // and the formatter was 2 % of its time in the 500-laptop burst.
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// Milliseconds since the Unix epoch, by the server's clock.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_is_lowercase_two_digits_a_byte() {
        assert_eq!(super::hex(&[0x00, 0x0f, 0xa5, 0xff, 0x10]), "000fa5ff10");
        assert_eq!(super::hex(&[]), "");
    }
}
