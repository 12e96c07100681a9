//! Events a session emits, in the past tense. They carry data, never formatted text;
//! renderers decide how they look.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;

use crate::net::tls::TlsInfo;
use crate::net::transport::Via;
pub use crate::policy::tls_policy::Kind as PolicyKind;
use crate::smtp::{DataStats, Reply};

/// Whether a line travelled in clear text or inside TLS, and whether that TLS was verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Channel {
    Plain,
    Tls,
    TlsUnverified,
}

#[derive(Clone, Debug)]
pub enum Event {
    /// A connection attempt began. `addr` is unspecified when the transport has no
    /// address of its own (a Unix socket, a pipe) or a SOCKS5 proxy resolves the name.
    Connecting {
        host: String,
        addr: SocketAddr,
        via: Via,
    },
    Connected {
        peer: SocketAddr,
        local: SocketAddr,
        took: Duration,
        via: Via,
    },
    /// An address was skipped; the next one is tried (or none is left).
    ConnectFailed {
        addr: SocketAddr,
        reason: String,
        via: Via,
    },
    /// A HAProxy PROXY header went out before anything else.
    ProxyHeaderSent {
        /// "v1" or "v2".
        version: &'static str,
        source: SocketAddr,
        dest: SocketAddr,
    },
    /// A line the `--pipe` process wrote to its stderr.
    ProcessStderr {
        line: String,
    },
    /// The `--pipe` process ended; `status` says how, in words.
    ProcessExited {
        command: String,
        code: Option<i32>,
        signal: Option<i32>,
        killed: bool,
        status: String,
    },
    /// A command went on the wire. `line` is already redacted when `secret` and the user
    /// did not ask to see secrets.
    CommandSent {
        line: String,
        secret: bool,
        channel: Channel,
    },
    ReplyReceived {
        reply: Reply,
        /// Time from the command it answers (or from connecting, for the greeting).
        took: Duration,
        channel: Channel,
    },
    /// The message content went out, final dot (or BDAT LAST) included.
    BodySent {
        stats: DataStats,
        /// The number of BDAT chunks (RFC 3030), or None when it went with DATA.
        chunks: Option<u64>,
        /// Replies to earlier pipelined commands still due before the reply that
        /// commits the message (MAIL and RCPT when BDAT LAST shares their write).
        replies_before: u32,
        took: Duration,
        channel: Channel,
    },
    TlsEstablished {
        info: Box<TlsInfo>,
    },
    /// A block of message content on its way to the server, before dot-stuffing (DATA)
    /// or as framed (BDAT); only when asked to show it (`--show-data`). Lines may span
    /// blocks.
    ContentSent {
        bytes: Vec<u8>,
        channel: Channel,
    },
    /// A recipient domain's TLS policy for an MX host (DANE, MTA-STS): what it demands
    /// before connecting, and whether the host met it after the handshake.
    TlsPolicy {
        host: String,
        policy: PolicyKind,
        result: PolicyResult,
        /// Why, in words.
        detail: String,
    },
    /// Something the user should know that did not stop the session.
    Warning {
        message: String,
    },
    /// A decision the session took on its own (e.g. falling back to HELO).
    Note {
        message: String,
    },
}

/// Where a host stands with its TLS policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyResult {
    /// The policy applies; the session will be held to it.
    Applies,
    /// The policy forbids this host: it is skipped without connecting.
    Skipped,
    /// The host met the policy.
    Passed,
    /// The host failed the policy: the session ends and the next host is tried.
    Failed,
    /// The host failed a policy in testing mode: reported, delivery goes on.
    Reported,
}

impl PolicyResult {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyResult::Applies => "applies",
            PolicyResult::Skipped => "skipped",
            PolicyResult::Passed => "passed",
            PolicyResult::Failed => "failed",
            PolicyResult::Reported => "reported",
        }
    }
}

/// An event with its time since the run started.
#[derive(Clone, Debug)]
pub struct Timed {
    pub at: Duration,
    pub event: Event,
}

/// Receives events as they happen. Renderers implement it; tests collect into a Vec.
pub trait EventSink: Send {
    fn emit(&mut self, event: Timed);
}

impl<T: EventSink + ?Sized> EventSink for &mut T {
    fn emit(&mut self, event: Timed) {
        (**self).emit(event);
    }
}

impl<T: EventSink + ?Sized> EventSink for Box<T> {
    fn emit(&mut self, event: Timed) {
        (**self).emit(event);
    }
}

impl EventSink for Vec<Timed> {
    fn emit(&mut self, event: Timed) {
        self.push(event);
    }
}

/// Every event to two sinks (the terminal and an `--output` file, say).
pub struct Tee<A, B>(pub A, pub B);

impl<A: EventSink, B: EventSink> EventSink for Tee<A, B> {
    fn emit(&mut self, event: Timed) {
        self.0.emit(event.clone());
        self.1.emit(event);
    }
}

/// Passes events on while noting whether the final dot is out with no reply yet, so an
/// interrupted run can tell "nothing committed" from "outcome unknown".
pub struct DotWatch<S> {
    inner: S,
    pending: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Replies to come before the one that answers the end of the message.
    skip: u32,
}

impl<S: EventSink> DotWatch<S> {
    pub fn new(inner: S) -> (Self, std::sync::Arc<std::sync::atomic::AtomicBool>) {
        let pending = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        (
            DotWatch {
                inner,
                pending: pending.clone(),
                skip: 0,
            },
            pending,
        )
    }
}

impl<S: EventSink> EventSink for DotWatch<S> {
    fn emit(&mut self, event: Timed) {
        use std::sync::atomic::Ordering;
        match event.event {
            Event::BodySent { replies_before, .. } => {
                self.skip = replies_before;
                self.pending.store(true, Ordering::SeqCst);
            }
            Event::ReplyReceived { .. } if self.skip > 0 => self.skip -= 1,
            Event::ReplyReceived { .. } => self.pending.store(false, Ordering::SeqCst),
            _ => {}
        }
        self.inner.emit(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::{DataStats, Reply};
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    fn timed(event: Event) -> Timed {
        Timed {
            at: Duration::ZERO,
            event,
        }
    }

    #[test]
    fn pending_lasts_until_the_reply_that_commits() {
        let mut sink: Vec<Timed> = Vec::new();
        let (mut watch, pending) = DotWatch::new(&mut sink);
        let reply = || {
            timed(Event::ReplyReceived {
                reply: Reply::new(250, &["ok"]),
                took: Duration::ZERO,
                channel: Channel::Plain,
            })
        };
        watch.emit(timed(Event::BodySent {
            stats: DataStats::default(),
            chunks: Some(1),
            replies_before: 2,
            took: Duration::ZERO,
            channel: Channel::Plain,
        }));
        assert!(pending.load(Ordering::SeqCst));
        watch.emit(reply());
        watch.emit(reply());
        assert!(
            pending.load(Ordering::SeqCst),
            "MAIL and RCPT replies commit nothing"
        );
        watch.emit(reply());
        assert!(!pending.load(Ordering::SeqCst));
    }
}
