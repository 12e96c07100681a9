//! DNS: mail routes (RFC 5321 §5.1, RFC 7505), host addresses and reverse names.
//!
//! This is the only module that names hickory types: its API changed in each of 0.24,
//! 0.25 and 0.26, so everything outside sees only the plain data types defined here.
//!
//! The work is split in two:
//! - `resolver` asks the name server and turns each answer into plain data;
//! - `route` holds every decision (ordering, ties, null MX, dangling targets, caps,
//!   address families) as pure functions, tested without a network.

mod resolver;
mod route;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

pub use resolver::Dns;
pub use route::{delivery_candidates, time_seed};

/// The default DNS port (RFC 1035 §4.2).
pub const DNS_PORT: u16 = 53;

/// How to reach DNS for this run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsConfig {
    /// `--dns-server IP[:PORT]`; `None` uses the system resolver configuration.
    pub server: Option<SocketAddr>,
    /// Deadline for each query, retries included.
    pub timeout: Duration,
    /// Connect over IPv4 (false with `-6`).
    pub ipv4: bool,
    /// Connect over IPv6 (false with `-4`).
    pub ipv6: bool,
}

impl Default for DnsConfig {
    fn default() -> Self {
        Self {
            server: None,
            timeout: Duration::from_secs(5),
            ipv4: true,
            ipv6: true,
        }
    }
}

impl DnsConfig {
    /// The address families to use. Turning both off makes no sense, so that reads as
    /// "no restriction" rather than "no addresses at all".
    pub(crate) fn families(&self) -> (bool, bool) {
        if !self.ipv4 && !self.ipv6 {
            (true, true)
        } else {
            (self.ipv4, self.ipv6)
        }
    }
}

/// Parses `--dns-server`: `IP` or `IP:PORT`, with IPv6 as `::1` or `[::1]:5353`.
///
/// A host name is refused: resolving the resolver's own name would need a resolver.
pub fn parse_dns_server(s: &str) -> Result<SocketAddr, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("the DNS server address is empty".to_string());
    }
    let addr = if let Ok(ip) = s.parse::<IpAddr>() {
        SocketAddr::new(ip, DNS_PORT)
    } else if let Ok(addr) = s.parse::<SocketAddr>() {
        addr
    } else if let Some(ip) = s
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|inner| inner.parse::<std::net::Ipv6Addr>().ok())
    {
        SocketAddr::new(IpAddr::V6(ip), DNS_PORT)
    } else {
        return Err(format!(
            "{s:?} is not a DNS server address: use IP or IP:PORT, e.g. 127.0.0.1, \
             127.0.0.1:5353, ::1 or [::1]:5353"
        ));
    };
    if addr.port() == 0 {
        return Err(format!("{s:?}: the DNS server port must not be 0"));
    }
    Ok(addr)
}

/// One address of a host, with the TTL the answer carried.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Addr {
    pub ip: IpAddr,
    pub ttl: u32,
}

/// Where mail for a domain goes, following RFC 5321 §5.1 and RFC 7505.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MailRoute {
    /// MX records: hosts sorted by preference (lowest first), then by name.
    Mx { hosts: Vec<MxHost> },
    /// No MX records, but the domain has addresses: RFC 5321 §5.1 treats it as an
    /// implicit MX of preference 0 pointing at the domain itself.
    Implicit { host: String, addresses: Vec<Addr> },
    /// RFC 7505 null MX (`MX 0 .`): the domain accepts no mail; connect nowhere.
    ///
    /// RFC 7505 §3 says a domain with a null MX "MUST NOT advertise any other MX RR",
    /// but says nothing of what a sender does when it does. We still treat the domain
    /// as accepting no mail: the owner published an explicit "no mail here", and
    /// delivering where that was said is worse than bouncing. `mixed_with` names the
    /// other exchanges so the misconfiguration can be reported; it is empty for a
    /// well-formed null MX.
    NullMx { mixed_with: Vec<String> },
    /// The domain exists but has neither MX records nor addresses: no mail route.
    NoMail,
    /// The domain does not exist (NXDOMAIN): permanent.
    NxDomain,
    /// SERVFAIL, REFUSED, timeout or an unreachable server: try again later. Never a
    /// reason to fall back to the domain's addresses (RFC 5321 §5.1).
    Temporary { reason: String },
    /// The domain is not a valid DNS name (e.g. empty, a label over 63 octets, or a
    /// name IDNA rejects), so it cannot exist: permanent.
    InvalidDomain { reason: String },
}

impl MailRoute {
    /// Whether retrying later could give another answer.
    pub fn is_temporary(&self) -> bool {
        matches!(self, MailRoute::Temporary { .. })
    }
}

/// One MX target and what its addresses turned out to be.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct MxHost {
    /// The exchange in ASCII (A-labels), without the trailing dot.
    pub name: String,
    pub preference: u16,
    /// TTL of the MX record.
    pub ttl: u32,
    /// Another MX host has the same preference: RFC 5321 §5.1 says to pick among
    /// them at random, so their listed order means nothing.
    pub tied: bool,
    /// Every address DNS holds for it, A before AAAA (-4/-6 apply only when
    /// choosing [`Candidate`]s).
    pub addresses: Vec<Addr>,
    /// Why the address lookup failed, in plain words. Set with `dangling` when the
    /// name does not exist, alone when the failure is temporary (then some addresses
    /// may still be listed).
    pub lookup_error: Option<String>,
    /// The name definitely has no address (NXDOMAIN, or neither A nor AAAA
    /// records): nothing to connect to, now or on a retry.
    pub dangling: bool,
}

/// One connection attempt an MTA would make, in order.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Candidate {
    pub host: String,
    pub addr: SocketAddr,
    /// The MX preference; `None` for an implicit MX.
    pub preference: Option<u16>,
}

/// How far an answer can be trusted (RFC 4035 §4.3), as smtpx's own validation found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Security {
    /// No validation was asked for.
    Unchecked,
    /// A chain of signatures leads from a trust anchor to the answer.
    Secure,
    /// Provably unsigned: a zone on the way has no DS record.
    Insecure,
    /// Signed, but the signatures do not validate, or proof is missing.
    Bogus(String),
    /// Validation could not decide.
    Indeterminate,
}

impl Security {
    pub fn as_str(&self) -> &'static str {
        match self {
            Security::Unchecked => "unchecked",
            Security::Secure => "secure",
            Security::Insecure => "insecure",
            Security::Bogus(_) => "bogus",
            Security::Indeterminate => "indeterminate",
        }
    }
}

/// An RRset and how far it can be trusted. No records means the name exists without
/// records of that type (NODATA).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Secured<T> {
    pub records: Vec<T>,
    pub security: Security,
}

/// Why a lookup produced no answer. [`LookupFailure::is_temporary`] says whether a
/// retry could succeed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LookupFailure {
    /// NXDOMAIN (RFC 1035 §4.1.1 RCODE 3): the name does not exist.
    NxDomain { name: String },
    /// Not a valid DNS name, so no server was asked.
    InvalidName { name: String, reason: String },
    /// The server answered with an error code such as SERVFAIL or REFUSED.
    ServerError { rcode: String, server: String },
    /// No answer before the deadline.
    Timeout { after: Duration },
    /// The server could not be reached, or its answer could not be used.
    Unreachable { server: String, detail: String },
}

impl LookupFailure {
    /// RFC 5321 §5.1: server errors and timeouts are temporary; only an authoritative
    /// "no such name" (or a name that cannot exist) is permanent.
    pub fn is_temporary(&self) -> bool {
        matches!(
            self,
            LookupFailure::ServerError { .. }
                | LookupFailure::Timeout { .. }
                | LookupFailure::Unreachable { .. }
        )
    }
}

impl fmt::Display for LookupFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LookupFailure::NxDomain { name } => write!(f, "{name}: no such domain (NXDOMAIN)"),
            LookupFailure::InvalidName { name, reason } => {
                write!(f, "{name:?} is not a valid domain name: {reason}")
            }
            LookupFailure::ServerError { rcode, server } => write!(f, "{rcode} from {server}"),
            LookupFailure::Timeout { after } => {
                write!(f, "no answer within {}", humantime::format_duration(*after))
            }
            LookupFailure::Unreachable { server, detail } => {
                write!(f, "could not query {server}: {detail}")
            }
        }
    }
}

impl std::error::Error for LookupFailure {}

/// The resolver could not be set up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsError {
    message: String,
}

impl DnsError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DnsError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_server_forms() {
        let table: &[(&str, Result<&str, ()>)] = &[
            ("127.0.0.1", Ok("127.0.0.1:53")),
            ("127.0.0.1:5353", Ok("127.0.0.1:5353")),
            (" 10.0.0.1 ", Ok("10.0.0.1:53")),
            ("::1", Ok("[::1]:53")),
            ("[::1]", Ok("[::1]:53")),
            ("[::1]:5353", Ok("[::1]:5353")),
            ("2001:db8::53", Ok("[2001:db8::53]:53")),
            ("", Err(())),
            ("dns.example", Err(())),
            ("dns.example:53", Err(())),
            ("127.0.0.1:0", Err(())),
            ("127.0.0.1:99999", Err(())),
            ("[::1", Err(())),
            ("::1:5353x", Err(())),
        ];
        for (input, want) in table {
            let got = parse_dns_server(input);
            match want {
                Ok(addr) => assert_eq!(
                    got.as_ref().map(ToString::to_string).as_deref(),
                    Ok(*addr),
                    "{input:?}"
                ),
                Err(()) => assert!(got.is_err(), "{input:?} gave {got:?}"),
            }
        }
    }

    #[test]
    fn failure_messages_are_plain_words() {
        let table = [
            (
                LookupFailure::ServerError {
                    rcode: "SERVFAIL".into(),
                    server: "127.0.0.1:5353".into(),
                },
                "SERVFAIL from 127.0.0.1:5353",
                true,
            ),
            (
                LookupFailure::Timeout {
                    after: Duration::from_secs(5),
                },
                "no answer within 5s",
                true,
            ),
            (
                LookupFailure::Timeout {
                    after: Duration::from_millis(1500),
                },
                "no answer within 1s 500ms",
                true,
            ),
            (
                LookupFailure::NxDomain {
                    name: "nx.test".into(),
                },
                "nx.test: no such domain (NXDOMAIN)",
                false,
            ),
            (
                LookupFailure::Unreachable {
                    server: "[::1]:53".into(),
                    detail: "connection refused".into(),
                },
                "could not query [::1]:53: connection refused",
                true,
            ),
        ];
        for (failure, text, temporary) in table {
            assert_eq!(failure.to_string(), text);
            assert_eq!(failure.is_temporary(), temporary, "{text}");
        }
    }

    #[test]
    fn both_families_off_means_both_on() {
        let cfg = DnsConfig {
            ipv4: false,
            ipv6: false,
            ..DnsConfig::default()
        };
        assert_eq!(cfg.families(), (true, true));
        let v4 = DnsConfig {
            ipv6: false,
            ..DnsConfig::default()
        };
        assert_eq!(v4.families(), (true, false));
    }
}
