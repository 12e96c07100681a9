//! DNS: mail routes (RFC 5321 §5.1, RFC 7505), host addresses, reverse names, and the
//! policy records (TXT, TLSA) with their DNSSEC status as smtpx itself validates it.
//!
//! This is the only module that names hickory types: its API changed in each of 0.24,
//! 0.25 and 0.26, so everything outside sees only the plain data types defined here.
//!
//! The work is split in two:
//! - `resolver` asks the name server and turns each answer into plain data;
//! - `route` holds every decision (ordering, ties, null MX, dangling targets, caps,
//!   address families) as pure functions, tested without a network;
//! - `anchor` reads `--dns-trust-anchor` files.
//!
//! DNSSEC (RFC 4033–4035) is validated in-process by hickory from a trust anchor (the
//! root's, built in, or `--dns-trust-anchor`); the AD bit of an upstream resolver is
//! never trusted. Validation costs extra queries (DS and DNSKEY up the chain), so it
//! applies to the lookups a security decision rests on ([`Dns::txt`], [`Dns::tlsa`],
//! [`Dns::mx_secured`], [`Dns::addresses_secured`]) and not to plain routing.

mod anchor;
mod resolver;
mod route;
mod validate;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

pub use anchor::{AnchorRecord, TrustAnchor, load_trust_anchor, parse_trust_anchor};
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
    /// Validate DNSSEC for the lookups that report a [`Security`]; when false they
    /// report [`Security::Unchecked`] and cost no extra queries.
    pub validate: bool,
    /// `--dns-trust-anchor`: replaces the built-in root trust anchor.
    pub trust_anchor: Option<TrustAnchor>,
}

impl Default for DnsConfig {
    fn default() -> Self {
        Self {
            server: None,
            timeout: Duration::from_secs(5),
            ipv4: true,
            ipv6: true,
            validate: true,
            trust_anchor: None,
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
    /// Why the answer is bogus, if it is.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Security::Bogus(reason) => Some(reason),
            _ => None,
        }
    }

    /// The weaker of two statuses: an answer reached through a CNAME is only as
    /// trustworthy as every link on the way (RFC 4035 §5).
    pub fn weakest(self, other: Security) -> Security {
        fn rank(s: &Security) -> u8 {
            match s {
                Security::Bogus(_) => 0,
                Security::Indeterminate => 1,
                Security::Unchecked => 2,
                Security::Insecure => 3,
                Security::Secure => 4,
            }
        }
        if rank(&other) < rank(&self) {
            other
        } else {
            self
        }
    }

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

impl fmt::Display for Security {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Security::Bogus(reason) => write!(f, "bogus ({reason})"),
            other => f.write_str(other.as_str()),
        }
    }
}

/// `{"status": "bogus", "reason": "..."}`; the reason only when bogus.
impl serde::Serialize for Security {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("status", self.as_str())?;
        if let Some(reason) = self.reason() {
            map.serialize_entry("reason", reason)?;
        }
        map.end()
    }
}

/// One MX record (RFC 1035 §3.3.9) as DNS holds it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Exchange {
    pub preference: u16,
    /// In ASCII without the trailing dot; `.` for a null MX (RFC 7505).
    pub host: String,
}

/// The DNSSEC status of what a mail route was built from (`smtpx mx --dnssec`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RouteSecurity {
    /// The MX answer (NODATA included: its proof of absence is validated too).
    pub mx: Checked,
    /// Each host's A and AAAA answers, in route order.
    pub hosts: Vec<HostSecurity>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct HostSecurity {
    pub host: String,
    pub addresses: Checked,
}

/// A status, or why the lookup that would give one failed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum Checked {
    Status(Security),
    Failed { error: String },
}

impl Checked {
    pub(crate) fn from_lookup<T>(lookup: Result<Secured<T>, LookupFailure>) -> Self {
        match lookup {
            Ok(secured) => Checked::Status(secured.security),
            Err(failure) => Checked::Failed {
                error: failure.to_string(),
            },
        }
    }
}

/// An RRset and how far it can be trusted. No records means the name exists without
/// records of that type (NODATA). A [`Security::Bogus`] answer carries the records the
/// server sent, for reports only: they must not be acted on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Secured<T> {
    pub records: Vec<T>,
    pub security: Security,
    /// Where the records were found, in ASCII without the trailing dot: the name
    /// asked, or where RFC 7672 §2.2.2 led for TLSA (the CNAME-expanded host).
    pub name: String,
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
    fn weakest_status_wins_and_json_keeps_the_reason() {
        let bogus = Security::Bogus("bad key".into());
        assert_eq!(
            Security::Secure.weakest(Security::Insecure),
            Security::Insecure
        );
        assert_eq!(Security::Insecure.weakest(bogus.clone()), bogus);
        assert_eq!(
            Security::Indeterminate.weakest(Security::Secure),
            Security::Indeterminate
        );
        assert_eq!(
            serde_json::to_value(&bogus).unwrap(),
            serde_json::json!({"status": "bogus", "reason": "bad key"})
        );
        assert_eq!(
            serde_json::to_value(Security::Secure).unwrap(),
            serde_json::json!({"status": "secure"})
        );
        assert_eq!(bogus.to_string(), "bogus (bad key)");
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
