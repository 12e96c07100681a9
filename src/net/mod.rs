//! Network layer: TCP connections, TLS, and the bounded reply reader.
pub mod tls;
