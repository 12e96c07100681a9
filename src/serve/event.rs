//! What a server run reports, in the past tense. Data only: `render::serve` prints it.

use std::net::SocketAddr;

use crate::smtp::Reply;

#[derive(Clone, Debug, PartialEq)]
pub enum ServeEvent {
    Listening {
        addr: SocketAddr,
        implicit_tls: bool,
    },
    /// The certificate in use (`--tls-self-signed` or `--tls-cert`), so that a client can
    /// pin it.
    Certificate {
        sha256: String,
        subject: String,
        written_to: Option<String>,
    },
    Accepted {
        session: u64,
        peer: SocketAddr,
        local: SocketAddr,
    },
    /// A connection turned away at once (too many sessions).
    TurnedAway { peer: SocketAddr, reason: String },
    /// A line from the client, already redacted when it carries a credential.
    CommandReceived {
        session: u64,
        line: String,
        tls: bool,
    },
    ReplySent {
        session: u64,
        reply: Reply,
        tls: bool,
    },
    /// Message content arrived (after DATA, or the last BDAT chunk).
    ContentReceived {
        session: u64,
        bytes: u64,
        lines: Option<u64>,
        chunks: Option<u64>,
        tls: bool,
    },
    TlsEstablished {
        session: u64,
        protocol: String,
        cipher: String,
    },
    MessageStored {
        session: u64,
        number: u64,
        id: String,
        from: String,
        to: Vec<String>,
        bytes: u64,
        /// Where it went; None with `--discard`.
        path: Option<String>,
    },
    Closed {
        session: u64,
        /// Why, when the client did not end with QUIT.
        reason: Option<String>,
    },
    Warning {
        session: Option<u64>,
        message: String,
    },
    /// The server stopped accepting; sessions in progress get a bounded time.
    Stopping {
        reason: String,
        sessions: u64,
        grace_ms: u64,
    },
}
