//! What a check collects about one server: the opening of the session (read back from
//! its events), the probes that follow, and reverse DNS. Plain data, no decisions.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::net::tls::TlsInfo;
use crate::outcome::{ExitCode, Failure, Phase};
use crate::policy::tls_policy::HostPolicy;
use crate::session::open::TlsMode;
use crate::session::{Event, Timed};
use crate::smtp::{Capabilities, Reply};

/// A reply to one probe, and how long it took.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub reply: Reply,
    pub took: Duration,
}

/// How far the session got before the probes: everything `open` did, as its events tell.
#[derive(Clone, Debug, Default)]
pub struct OpenFacts {
    /// The server address of the connection that was made (the last one tried).
    pub peer: Option<SocketAddr>,
    pub connect_took: Option<Duration>,
    /// Addresses tried before, and why each failed.
    pub unreachable: Vec<(SocketAddr, String)>,
    pub greeting: Option<Reply>,
    /// From the connection being made to the greeting's last line.
    pub greeting_after: Option<Duration>,
    /// The first EHLO reply: in plaintext, or inside implicit TLS.
    pub ehlo: Option<Answer>,
    /// HELO, when EHLO was refused with 500/502 (RFC 5321 §4.1.4).
    pub helo: Option<Answer>,
    pub starttls: Option<Answer>,
    pub tls: Option<TlsInfo>,
    /// TLS began before the greeting (RFC 8314).
    pub implicit_tls: bool,
    /// The EHLO reply after STARTTLS.
    pub ehlo_after_tls: Option<Answer>,
}

impl OpenFacts {
    /// Reads the opening of a session from the events it emitted. A new connection
    /// attempt starts over, so the facts describe the connection that was kept.
    pub fn from_events(events: &[Timed]) -> OpenFacts {
        let mut facts = OpenFacts::default();
        let mut last_verb: Option<String> = None;
        let mut connected_at: Option<Duration> = None;
        for timed in events {
            match &timed.event {
                Event::Connecting { .. } => {
                    let unreachable = std::mem::take(&mut facts.unreachable);
                    facts = OpenFacts {
                        unreachable,
                        ..OpenFacts::default()
                    };
                    last_verb = None;
                    connected_at = None;
                }
                Event::ConnectFailed { addr, reason, .. } => {
                    facts.unreachable.push((*addr, reason.clone()));
                }
                Event::Connected { peer, took, .. } => {
                    // A Unix socket, a pipe or a name a SOCKS5 proxy resolved: no
                    // address to show or look up.
                    facts.peer = (!peer.ip().is_unspecified()).then_some(*peer);
                    facts.connect_took = Some(*took);
                    connected_at = Some(timed.at);
                }
                Event::TlsEstablished { info } => {
                    facts.implicit_tls = facts.greeting.is_none();
                    facts.tls = Some((**info).clone());
                }
                Event::CommandSent { line, .. } => {
                    last_verb = line.split_whitespace().next().map(str::to_ascii_uppercase);
                }
                Event::ReplyReceived { reply, took, .. } => {
                    let answer = Answer {
                        reply: reply.clone(),
                        took: *took,
                    };
                    match last_verb.as_deref() {
                        None if facts.greeting.is_none() => {
                            facts.greeting_after =
                                Some(connected_at.map_or(*took, |c| timed.at.saturating_sub(c)));
                            facts.greeting = Some(reply.clone());
                        }
                        Some("EHLO") if facts.tls.is_some() && !facts.implicit_tls => {
                            facts.ehlo_after_tls = Some(answer);
                        }
                        Some("EHLO") => facts.ehlo = Some(answer),
                        Some("HELO") => facts.helo = Some(answer),
                        Some("STARTTLS") => facts.starttls = Some(answer),
                        _ => {}
                    }
                }
                Event::BodySent { .. }
                | Event::ContentSent { .. }
                | Event::Warning { .. }
                | Event::Note { .. }
                | Event::TlsPolicy { .. }
                | Event::ProxyHeaderSent { .. }
                | Event::ProcessStderr { .. }
                | Event::ProcessExited { .. } => {}
            }
        }
        facts
    }

    /// Capabilities offered in plaintext: None with implicit TLS, or when neither EHLO
    /// nor HELO was accepted; empty after a HELO fallback.
    pub fn plaintext_capabilities(&self) -> Option<Capabilities> {
        if self.implicit_tls {
            return None;
        }
        match (&self.ehlo, &self.helo) {
            (Some(e), _) if e.reply.is_positive() => Some(Capabilities::from_ehlo(&e.reply)),
            (_, Some(h)) if h.reply.is_positive() => Some(Capabilities::default()),
            _ => None,
        }
    }

    /// Capabilities offered inside TLS (after STARTTLS, or from the start with implicit TLS).
    pub fn tls_capabilities(&self) -> Option<Capabilities> {
        let answer = if self.implicit_tls {
            self.ehlo.as_ref()
        } else {
            self.ehlo_after_tls.as_ref()
        };
        answer
            .filter(|a| a.reply.is_positive())
            .map(|a| Capabilities::from_ehlo(&a.reply))
    }

    /// The capabilities the rest of the session ran with.
    pub fn final_capabilities(&self) -> Option<Capabilities> {
        self.tls_capabilities()
            .or_else(|| self.plaintext_capabilities())
    }

    /// The host name the greeting announces (RFC 5321 §4.3.1: `220 domain text`).
    pub fn banner_name(&self) -> Option<&str> {
        self.greeting
            .as_ref()?
            .lines
            .first()?
            .split_whitespace()
            .next()
    }

    /// The name on the first line of the EHLO reply (RFC 5321 §4.1.1.1).
    pub fn ehlo_name(&self) -> Option<&str> {
        let answer = [self.ehlo.as_ref(), self.helo.as_ref()]
            .into_iter()
            .flatten()
            .find(|a| a.reply.is_positive())?;
        answer.reply.lines.first()?.split_whitespace().next()
    }

    /// EHLO (or HELO) was answered positively: the server is there and talking SMTP.
    pub fn reached(&self) -> bool {
        self.plaintext_capabilities().is_some() || self.tls_capabilities().is_some()
    }
}

/// The probes run once the session is open, in the order they run.
#[derive(Clone, Debug, Default)]
pub struct Probes {
    pub vrfy: Option<Answer>,
    pub expn: Option<Answer>,
    pub help: Option<Answer>,
    pub noop: Option<Answer>,
    pub relay: Option<RelayFacts>,
    pub turn: Option<TurnFacts>,
}

/// `--relay-test`: MAIL from an outside sender, RCPT to an outside recipient, never DATA.
#[derive(Clone, Debug)]
pub struct RelayFacts {
    pub from: String,
    pub to: String,
    pub mail: Answer,
    /// None when MAIL was refused.
    pub rcpt: Option<Answer>,
}

#[derive(Clone, Debug)]
pub enum TurnFacts {
    Answered(Answer),
    /// The server hung up instead of answering.
    Closed(String),
}

/// One name an address's PTR records give, and where that name leads back to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PtrName {
    pub name: String,
    /// The name's addresses, or why they could not be looked up.
    pub forward: Result<Vec<IpAddr>, String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PtrLookup {
    Names(Vec<PtrName>),
    /// No PTR record (NXDOMAIN or no data).
    Missing,
    Failed(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReverseDns {
    pub ip: IpAddr,
    pub lookup: PtrLookup,
    pub took: Duration,
}

impl ReverseDns {
    /// The PTR names that resolve back to the address (forward-confirmed reverse DNS).
    pub fn confirmed(&self) -> Vec<&str> {
        match &self.lookup {
            PtrLookup::Names(names) => names
                .iter()
                .filter(|n| n.forward.as_ref().is_ok_and(|ips| ips.contains(&self.ip)))
                .map(|n| n.name.as_str())
                .collect(),
            _ => Vec::new(),
        }
    }

    pub fn names(&self) -> Vec<&str> {
        match &self.lookup {
            PtrLookup::Names(names) => names.iter().map(|n| n.name.as_str()).collect(),
            _ => Vec::new(),
        }
    }
}

/// Why a session stopped before the probes were done.
#[derive(Clone, Debug)]
pub enum Ending {
    Failed(Failure),
    /// The greeting or EHLO was refused.
    Refused {
        phase: Phase,
        reply: Reply,
    },
}

impl Ending {
    pub fn phase(&self) -> Phase {
        match self {
            Ending::Failed(f) => f.phase,
            Ending::Refused { phase, .. } => *phase,
        }
    }

    /// The usual exit code for what stopped the session.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Ending::Failed(f) => f.exit_code(),
            Ending::Refused { reply, .. } => ExitCode::for_reply(reply),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Ending::Failed(f) => format!("at {}: {}", f.phase, f.message),
            Ending::Refused { phase, reply } => {
                format!("at {phase}: {} {}", reply.code, reply.lines.join(" "))
            }
        }
    }
}

/// Everything learned about one server.
#[derive(Clone, Debug)]
pub struct HostFacts {
    pub host: String,
    /// MX preference, when the host came from an MX record.
    pub preference: Option<u16>,
    /// How TLS was to be used (`--tls`, or the port's default).
    pub tls_mode: TlsMode,
    /// Why there was nothing to connect to (a dangling MX target).
    pub unusable: Option<String>,
    pub open: OpenFacts,
    pub probes: Probes,
    pub reverse: Option<ReverseDns>,
    pub ended: Option<Ending>,
    /// The TLS policy the host's domain sets for it (checking a domain only).
    pub tls_policy: Option<HostPolicy>,
}

impl HostFacts {
    pub fn new(host: &str, preference: Option<u16>, tls_mode: TlsMode) -> HostFacts {
        HostFacts {
            host: host.to_string(),
            preference,
            tls_mode,
            unusable: None,
            open: OpenFacts::default(),
            probes: Probes::default(),
            reverse: None,
            ended: None,
            tls_policy: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::tls::Verification;
    use crate::session::Channel;

    fn tcp() -> crate::net::transport::Via {
        crate::net::transport::Via::Tcp { bind: None }
    }

    fn at(ms: u64, event: Event) -> Timed {
        Timed {
            at: Duration::from_millis(ms),
            event,
        }
    }

    fn sent(line: &str, channel: Channel) -> Event {
        Event::CommandSent {
            line: line.into(),
            secret: false,
            channel,
        }
    }

    fn got(code: u16, lines: &[&str], channel: Channel) -> Event {
        Event::ReplyReceived {
            reply: Reply::new(code, lines),
            took: Duration::from_millis(2),
            channel,
        }
    }

    fn tls_info() -> TlsInfo {
        TlsInfo {
            protocol: "TLSv1.3".into(),
            cipher: "TLS13_AES_128_GCM_SHA256".into(),
            key_exchange: None,
            sni: None,
            chain: Vec::new(),
            verification: Verification::Verified,
            handshake_ms: 1.0,
            der_chain: Vec::new(),
        }
    }

    #[test]
    fn reads_a_starttls_opening() {
        let peer: SocketAddr = "127.0.0.1:25".parse().unwrap();
        let plain = Channel::Plain;
        let events = vec![
            at(
                0,
                Event::Connecting {
                    host: "mx".into(),
                    addr: "[::1]:25".parse().unwrap(),
                    via: tcp(),
                },
            ),
            at(
                1,
                Event::ConnectFailed {
                    addr: "[::1]:25".parse().unwrap(),
                    reason: "refused".into(),
                    via: tcp(),
                },
            ),
            at(
                1,
                Event::Connecting {
                    host: "mx".into(),
                    addr: peer,
                    via: tcp(),
                },
            ),
            at(
                3,
                Event::Connected {
                    peer,
                    local: peer,
                    took: Duration::from_millis(2),
                    via: tcp(),
                },
            ),
            at(10, got(220, &["mx.test ESMTP"], plain)),
            at(11, sent("EHLO me.test", plain)),
            at(12, got(250, &["mx.test", "STARTTLS", "AUTH PLAIN"], plain)),
            at(13, sent("STARTTLS", plain)),
            at(14, got(220, &["go"], plain)),
            at(
                20,
                Event::TlsEstablished {
                    info: Box::new(tls_info()),
                },
            ),
            at(21, sent("EHLO me.test", Channel::Tls)),
            at(22, got(250, &["mx.test", "AUTH PLAIN LOGIN"], Channel::Tls)),
            at(23, sent("VRFY postmaster", Channel::Tls)),
            at(24, got(252, &["maybe"], Channel::Tls)),
        ];
        let f = OpenFacts::from_events(&events);
        assert_eq!(f.peer, Some(peer));
        assert_eq!(f.unreachable.len(), 1);
        assert_eq!(f.greeting_after, Some(Duration::from_millis(7)));
        assert_eq!(f.banner_name(), Some("mx.test"));
        assert_eq!(f.ehlo_name(), Some("mx.test"));
        assert!(!f.implicit_tls && f.tls.is_some() && f.reached());
        assert_eq!(f.starttls.as_ref().unwrap().reply.code.value(), 220);
        assert!(f.plaintext_capabilities().unwrap().starttls());
        assert_eq!(
            f.tls_capabilities().unwrap().auth_mechanisms(),
            ["PLAIN", "LOGIN"]
        );
    }

    #[test]
    fn reads_implicit_tls_and_helo_fallback() {
        let peer: SocketAddr = "127.0.0.1:465".parse().unwrap();
        let events = vec![
            at(
                0,
                Event::Connected {
                    peer,
                    local: peer,
                    took: Duration::from_millis(1),
                    via: tcp(),
                },
            ),
            at(
                2,
                Event::TlsEstablished {
                    info: Box::new(tls_info()),
                },
            ),
            at(3, got(220, &["mx ESMTP"], Channel::Tls)),
            at(4, sent("EHLO me", Channel::Tls)),
            at(5, got(250, &["mx", "AUTH PLAIN"], Channel::Tls)),
        ];
        let f = OpenFacts::from_events(&events);
        assert!(f.implicit_tls);
        assert!(f.plaintext_capabilities().is_none());
        assert!(f.tls_capabilities().unwrap().has("AUTH"));

        let events = vec![
            at(
                0,
                Event::Connected {
                    peer,
                    local: peer,
                    took: Duration::ZERO,
                    via: tcp(),
                },
            ),
            at(1, got(220, &["old"], Channel::Plain)),
            at(2, sent("EHLO me", Channel::Plain)),
            at(3, got(502, &["what?"], Channel::Plain)),
            at(4, sent("HELO me", Channel::Plain)),
            at(5, got(250, &["old"], Channel::Plain)),
        ];
        let f = OpenFacts::from_events(&events);
        assert_eq!(f.plaintext_capabilities(), Some(Capabilities::default()));
        assert_eq!(f.ehlo_name(), Some("old"));
        assert!(f.reached());
        assert!(!OpenFacts::from_events(&events[..3]).reached());
    }
}
