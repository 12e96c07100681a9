//! Network layer: TCP, SOCKS5, Unix sockets and a process's stdio, the PROXY header,
//! TLS over any of them, and the bounded reply reader. Only this module names rustls
//! types; the rest sees `TlsInfo`.
pub mod connection;
pub mod https;
pub mod pipe;
pub mod proxy_header;
pub mod socks5;
pub mod target;
pub mod tls;
pub mod transport;

pub use connection::{
    ByteStream, ConnectError, Connection, Opening, ReadError, Watched, WriteError,
};
