//! Network layer: TCP connections, TLS, and the bounded reply reader. Only this module
//! names rustls types; the rest sees `TlsInfo`.
pub mod connection;
pub mod https;
pub mod target;
pub mod tls;

pub use connection::{ByteStream, ConnectError, Connection, ReadError, Watched, WriteError};
