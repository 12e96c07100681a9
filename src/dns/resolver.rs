//! The hickory side: queries, and the translation of hickory answers and errors into
//! the plain data [`super::route`] decides on.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError as HickoryDnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use hickory_resolver::{Resolver, TokioResolver};
use tokio::task::JoinSet;

use super::route::{
    self, AddressLookup, FamilyAnswer, MAX_RESOLVED_MX_HOSTS, MxAnswer, MxRecord, MxTarget, Plan,
};
use super::validate::{self, Validator};
use super::{
    Addr, Checked, DnsConfig, DnsError, Exchange, HostSecurity, LookupFailure, MailRoute,
    RouteSecurity, Secured, Security,
};
use crate::policy::dane::Tlsa;

/// How many MX hosts have their addresses looked up at once.
const MAX_CONCURRENT_HOST_LOOKUPS: usize = 8;

/// A resolver built once per run. Cheap to clone: clones share the cache.
#[derive(Clone)]
pub struct Dns {
    inner: Arc<Inner>,
    /// -4 / -6: applied to what [`Dns::addresses`] returns. Mail routes report every
    /// address DNS holds; [`super::delivery_candidates`] filters them.
    ipv4: bool,
    ipv6: bool,
}

struct Inner {
    /// Plain lookups: no DNSSEC records asked for, nothing validated.
    resolver: TokioResolver,
    /// The lookups that report a [`Security`]; `None` when validation is off.
    validator: Option<Validator>,
    /// Who answers, for messages: "127.0.0.1:5353".
    server: String,
    timeout: Duration,
}

/// One query's outcome, before any meaning is attached to it.
enum Answer {
    Records(Vec<Record>),
    /// NOERROR without records of the asked type: the name exists.
    NoData,
    Failed(LookupFailure),
}

impl Dns {
    /// Builds the resolver: `cfg.server`, or the system configuration
    /// (`/etc/resolv.conf` on Unix) when none is given.
    pub fn new(cfg: &DnsConfig) -> Result<Self, DnsError> {
        let (config, mut opts, hosts_file) = match cfg.server {
            Some(addr) => {
                let mut server = NameServerConfig::udp_and_tcp(addr.ip());
                for connection in &mut server.connections {
                    connection.port = addr.port();
                }
                // An explicit server is the whole truth: /etc/hosts must not answer
                // in its place.
                (
                    ResolverConfig::from_name_servers(vec![server]),
                    ResolverOpts::default(),
                    ResolveHosts::Never,
                )
            }
            None => {
                let (config, opts) =
                    hickory_resolver::system_conf::read_system_conf().map_err(|e| {
                        let why = match &e {
                            NetError::Io(io) => io_words(io.kind()),
                            _ => "it could not be parsed".to_string(),
                        };
                        DnsError::new(format!(
                            "cannot read the system DNS configuration (/etc/resolv.conf: \
                             {why}); name a server with --dns-server"
                        ))
                    })?;
                (config, opts, ResolveHosts::Auto)
            }
        };
        if config.name_servers().is_empty() {
            return Err(DnsError::new(
                "no DNS server configured; name one with --dns-server",
            ));
        }
        let server = describe_servers(config.name_servers());

        opts.timeout = cfg.timeout;
        // One retry: SERVFAIL from a recursive server is often transient, and our
        // own deadline (below) bounds the total anyway, so a dead server fails fast.
        opts.attempts = 1;
        opts.use_hosts_file = hosts_file;

        let validator = cfg
            .validate
            .then(|| Validator::new(config.clone(), opts.clone(), cfg.trust_anchor.clone()));
        let resolver = Resolver::builder_with_config(config, TokioRuntimeProvider::default())
            .with_options(opts)
            .build()
            .map_err(|e| {
                DnsError::new(format!(
                    "cannot set up the DNS resolver ({})",
                    e.as_metrics_label().replace('_', " ")
                ))
            })?;
        let (ipv4, ipv6) = cfg.families();
        Ok(Self {
            inner: Arc::new(Inner {
                resolver,
                validator,
                server,
                timeout: cfg.timeout,
            }),
            ipv4,
            ipv6,
        })
    }

    /// The server(s) asked, as shown in messages.
    pub fn server(&self) -> &str {
        &self.inner.server
    }

    /// RFC 5321 §5.1 + RFC 7505: the domain's mail route. MX hosts have their
    /// addresses looked up concurrently.
    pub async fn mail_route(&self, domain: &str) -> MailRoute {
        let name = match fqdn(domain) {
            Ok(name) => name,
            Err(LookupFailure::InvalidName { reason, .. }) => {
                return MailRoute::InvalidDomain { reason };
            }
            Err(other) => {
                return MailRoute::InvalidDomain {
                    reason: other.to_string(),
                };
            }
        };
        let mx = match self.inner.query(&name, RecordType::MX).await {
            Answer::Records(records) => MxAnswer::Records(
                records
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::MX(mx) => Some(MxRecord {
                            preference: mx.preference,
                            exchange: (!mx.exchange.is_root()).then(|| ascii(&mx.exchange)),
                            ttl: r.ttl,
                        }),
                        _ => None,
                    })
                    .collect(),
            ),
            Answer::NoData => MxAnswer::NoData,
            Answer::Failed(failure) => MxAnswer::Failed(failure),
        };
        match route::plan(mx) {
            Plan::Final(route) => route,
            Plan::Implicit => {
                let lookup = self.inner.addresses(&name).await;
                route::implicit(ascii(&name), lookup)
            }
            Plan::Resolve(targets) => {
                let lookups = self.resolve_targets(&targets).await;
                route::assemble(targets, lookups)
            }
        }
    }

    /// The host's addresses of the enabled families (A and AAAA are queried
    /// concurrently). `Ok(vec![])` means the name exists without any usable address.
    pub async fn addresses(&self, host: &str) -> Result<Vec<Addr>, LookupFailure> {
        let name = fqdn(host)?;
        let mut addresses = self.inner.addresses(&name).await.into_result()?;
        addresses.retain(|a| if a.ip.is_ipv4() { self.ipv4 } else { self.ipv6 });
        Ok(addresses)
    }

    /// The PTR names of an address, without trailing dots. NXDOMAIN (no reverse zone
    /// entry at all) is an error, distinct from `Ok(vec![])`.
    pub async fn reverse(&self, ip: IpAddr) -> Result<Vec<String>, LookupFailure> {
        let name = Name::from(ip);
        match self.inner.query(&name, RecordType::PTR).await {
            Answer::Records(records) => Ok(records
                .iter()
                .filter_map(|r| match &r.data {
                    RData::PTR(ptr) => Some(ascii(&ptr.0)),
                    _ => None,
                })
                .collect()),
            Answer::NoData => Ok(Vec::new()),
            Answer::Failed(failure) => Err(failure),
        }
    }

    /// The TXT records at `name`, each record's strings joined (RFC 7208 §3.3 and the
    /// policy RFCs read them so), DNSSEC-validated unless validation is off.
    pub async fn txt(&self, name: &str) -> Result<Secured<String>, LookupFailure> {
        let name = wire_name(name)?;
        self.inner.secured(&name, RecordType::TXT, txt_text).await
    }

    /// The TLSA records for SMTP to `host` on `port` (RFC 7672 §2.2.2): when `host`
    /// is a CNAME whose chain validates as secure, first at `_PORT._tcp.` the fully
    /// expanded name, then, if none are there, at `_PORT._tcp.HOST`.
    /// [`Secured::name`] says where they were found.
    pub async fn tlsa(&self, host: &str, port: u16) -> Result<Secured<Tlsa>, LookupFailure> {
        let host = wire_name(host)?;
        if let Some(expanded) = self.inner.secure_expansion(&host).await {
            match self.inner.tlsa_at(&expanded, port).await {
                Ok(found) if !found.records.is_empty() || found.security.reason().is_some() => {
                    return Ok(found);
                }
                Ok(_) | Err(LookupFailure::NxDomain { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        self.inner.tlsa_at(&host, port).await
    }

    /// The MX RRset of `domain` as DNS holds it, DNSSEC-validated unless validation is
    /// off. A null MX (RFC 7505) reads as exchange `.`.
    pub async fn mx_secured(&self, domain: &str) -> Result<Secured<Exchange>, LookupFailure> {
        let name = fqdn(domain)?;
        self.inner
            .secured(&name, RecordType::MX, |record| match &record.data {
                RData::MX(mx) => Some(Exchange {
                    preference: mx.preference,
                    host: ascii(&mx.exchange),
                }),
                _ => None,
            })
            .await
    }

    /// The DNSSEC status of the answers `route` was built from: the MX RRset and each
    /// host's addresses, validated concurrently. `None` for a route with no answers
    /// to judge (NXDOMAIN, a temporary failure, an invalid name).
    pub async fn route_security(&self, domain: &str, route: &MailRoute) -> Option<RouteSecurity> {
        let hosts: Vec<String> = match route {
            MailRoute::Mx { hosts } => hosts.iter().map(|h| h.name.clone()).collect(),
            MailRoute::Implicit { host, .. } => vec![host.clone()],
            MailRoute::NullMx { .. } | MailRoute::NoMail => Vec::new(),
            MailRoute::NxDomain | MailRoute::Temporary { .. } | MailRoute::InvalidDomain { .. } => {
                return None;
            }
        };
        let mut running = JoinSet::new();
        for (i, host) in hosts.iter().enumerate().take(MAX_RESOLVED_MX_HOSTS) {
            let (dns, host) = (self.clone(), host.clone());
            running.spawn(
                async move { (i, Checked::from_lookup(dns.addresses_secured(&host).await)) },
            );
        }
        let mx = Checked::from_lookup(self.mx_secured(domain).await);
        let mut checked: Vec<Option<Checked>> = vec![None; hosts.len()];
        while let Some(joined) = running.join_next().await {
            if let Ok((i, status)) = joined {
                checked[i] = Some(status);
            }
        }
        let hosts = hosts
            .into_iter()
            .zip(checked)
            .filter_map(|(host, status)| {
                Some(HostSecurity {
                    host,
                    addresses: status?,
                })
            })
            .collect();
        Some(RouteSecurity { mx, hosts })
    }

    /// Every address of `host` (A and AAAA, whatever -4/-6 say) with the weaker of
    /// the two answers' DNSSEC status.
    pub async fn addresses_secured(&self, host: &str) -> Result<Secured<Addr>, LookupFailure> {
        let name = wire_name(host)?;
        let convert = |record: &Record| {
            let ip = match &record.data {
                RData::A(a) => IpAddr::V4(a.0),
                RData::AAAA(aaaa) => IpAddr::V6(aaaa.0),
                _ => return None,
            };
            Some(Addr {
                ip,
                ttl: record.ttl,
            })
        };
        let (a, aaaa) = tokio::join!(
            self.inner.secured(&name, RecordType::A, convert),
            self.inner.secured(&name, RecordType::AAAA, convert)
        );
        let (a, aaaa) = match (a, aaaa) {
            (Err(e), _) | (_, Err(e)) => return Err(e),
            (Ok(a), Ok(aaaa)) => (a, aaaa),
        };
        Ok(Secured {
            records: a.records.into_iter().chain(aaaa.records).collect(),
            security: a.security.weakest(aaaa.security),
            name: a.name,
        })
    }

    /// Looks up the first [`MAX_RESOLVED_MX_HOSTS`] targets, a few at a time; the
    /// result is in `targets` order, `None` past the cap.
    async fn resolve_targets(&self, targets: &[MxTarget]) -> Vec<Option<AddressLookup>> {
        let mut results: Vec<Option<AddressLookup>> = vec![None; targets.len()];
        let mut pending = targets
            .iter()
            .take(MAX_RESOLVED_MX_HOSTS)
            .enumerate()
            .map(|(i, t)| (i, t.name.clone()));
        let mut running = JoinSet::new();
        loop {
            while running.len() < MAX_CONCURRENT_HOST_LOOKUPS {
                let Some((i, host)) = pending.next() else {
                    break;
                };
                let inner = Arc::clone(&self.inner);
                running.spawn(async move {
                    let lookup = match wire_name(&host) {
                        Ok(name) => inner.addresses(&name).await,
                        Err(failure) => AddressLookup {
                            addresses: Vec::new(),
                            failure: Some(failure),
                        },
                    };
                    (i, lookup)
                });
            }
            match running.join_next().await {
                Some(Ok((i, lookup))) => results[i] = Some(lookup),
                // A lookup task only panics on a bug; the slot stays "not looked up".
                Some(Err(_)) => {}
                None => break,
            }
        }
        results
    }
}

impl Inner {
    /// Both families, always: a route reports what DNS holds, whatever -4/-6 say.
    async fn addresses(&self, name: &Name) -> AddressLookup {
        let (a, aaaa) = tokio::join!(
            self.family(name, RecordType::A),
            self.family(name, RecordType::AAAA)
        );
        route::combine(a, aaaa)
    }

    async fn family(&self, name: &Name, record_type: RecordType) -> FamilyAnswer {
        match self.query(name, record_type).await {
            Answer::Records(records) => {
                let addrs: Vec<Addr> = records
                    .iter()
                    .filter_map(|r| {
                        let ip = match &r.data {
                            RData::A(a) => IpAddr::V4(a.0),
                            RData::AAAA(aaaa) => IpAddr::V6(aaaa.0),
                            _ => return None,
                        };
                        Some(Addr { ip, ttl: r.ttl })
                    })
                    .collect();
                // Only CNAMEs in the answer: the chain ends without an address.
                if addrs.is_empty() {
                    FamilyAnswer::NoData
                } else {
                    FamilyAnswer::Addrs(addrs)
                }
            }
            Answer::NoData => FamilyAnswer::NoData,
            Answer::Failed(failure) => FamilyAnswer::Failed(failure),
        }
    }

    /// One RRset as plain data, with its DNSSEC status; records of other types (the
    /// CNAMEs on the way) are left out, but count for the status.
    async fn secured<T>(
        &self,
        name: &Name,
        record_type: RecordType,
        convert: impl Fn(&Record) -> Option<T>,
    ) -> Result<Secured<T>, LookupFailure> {
        let (answer, security) = self.query_secured(name, record_type).await;
        match answer {
            Answer::Records(records) => Ok(Secured {
                name: records
                    .iter()
                    .find(|r| r.record_type() == record_type)
                    .map_or_else(|| ascii(name), |r| ascii(&r.name)),
                records: records.iter().filter_map(convert).collect(),
                security,
            }),
            Answer::NoData => Ok(Secured {
                records: Vec::new(),
                security,
                name: ascii(name),
            }),
            Answer::Failed(failure) => Err(failure),
        }
    }

    /// A query through the validating resolver when validation is on; otherwise the
    /// plain one, [`Security::Unchecked`].
    async fn query_secured(&self, name: &Name, record_type: RecordType) -> (Answer, Security) {
        let Some(validator) = &self.validator else {
            return (self.query(name, record_type).await, Security::Unchecked);
        };
        let validating = match validator.resolver(&self.resolver).await {
            Ok(resolver) => resolver,
            Err(why) => {
                // No chain can be built from an anchor that matches nothing: every
                // answer is bogus (RFC 4035 §5), but still shown.
                let answer = self.query(name, record_type).await;
                return (answer, Security::Bogus(why.to_string()));
            }
        };
        let lookup = validating.lookup(name.clone(), record_type);
        let result = match tokio::time::timeout(self.timeout, lookup).await {
            Err(_) => {
                let failure = LookupFailure::Timeout {
                    after: self.timeout,
                };
                return (Answer::Failed(failure), Security::Indeterminate);
            }
            Ok(result) => result,
        };
        match result {
            Ok(lookup) => {
                let records = lookup.answers().to_vec();
                let security = validate::security_of_records(records.iter().filter(|r| {
                    r.record_type() == record_type || r.record_type() == RecordType::CNAME
                }));
                (Answer::Records(records), security)
            }
            Err(NetError::Dns(HickoryDnsError::DnssecBogus)) => {
                // hickory drops a bogus answer's records: fetch them unvalidated, to
                // show, and find out which link broke.
                let (answer, reason) = tokio::join!(
                    self.query(name, record_type),
                    validate::bogus_reason(validating, &self.resolver, name, record_type)
                );
                (answer, Security::Bogus(reason))
            }
            Err(NetError::Dns(HickoryDnsError::Nsec {
                proof, response, ..
            })) => {
                let answer = if response.response_code == ResponseCode::NXDomain {
                    Answer::Failed(LookupFailure::NxDomain { name: ascii(name) })
                } else {
                    Answer::NoData
                };
                (answer, validate::security_of(proof))
            }
            Err(err) => {
                let security = match &err {
                    NetError::Dns(HickoryDnsError::NoRecordsFound(no_records)) => no_records
                        .authorities
                        .as_deref()
                        .map_or(Security::Indeterminate, |records| {
                            validate::security_of_records(records.iter())
                        }),
                    _ => Security::Indeterminate,
                };
                (self.classify(name, &err), security)
            }
        }
    }

    /// RFC 7672 §2.2.2: the name `host` expands to through CNAMEs, when the chain
    /// validates as secure; `None` when `host` is no alias, the chain is not secure,
    /// or validation is off.
    async fn secure_expansion(&self, host: &Name) -> Option<Name> {
        self.validator.as_ref()?;
        let (answer, security) = self.query_secured(host, RecordType::A).await;
        let (answer, security) = match answer {
            Answer::Records(_) => (answer, security),
            // No A: the chain may still end at AAAA records.
            _ => self.query_secured(host, RecordType::AAAA).await,
        };
        let Answer::Records(records) = answer else {
            return None;
        };
        let mut current = host.clone();
        let mut chain_security = Security::Secure;
        // Bounded by the answer: each step consumes one CNAME record.
        for _ in 0..records.len() {
            let Some(link) = records
                .iter()
                .find(|r| r.record_type() == RecordType::CNAME && r.name == current)
            else {
                break;
            };
            let RData::CNAME(target) = &link.data else {
                break;
            };
            chain_security = chain_security.weakest(validate::security_of(link.proof));
            current = target.0.clone();
        }
        let secure = chain_security == Security::Secure && security == Security::Secure;
        (current != *host && secure).then_some(current)
    }

    async fn tlsa_at(&self, host: &Name, port: u16) -> Result<Secured<Tlsa>, LookupFailure> {
        let name = wire_name(&format!("_{port}._tcp.{}", ascii(host)))?;
        self.secured(&name, RecordType::TLSA, |record| match &record.data {
            RData::TLSA(t) => Some(Tlsa {
                usage: t.cert_usage.into(),
                selector: t.selector.into(),
                matching: t.matching.into(),
                data: t.cert_data.clone(),
            }),
            _ => None,
        })
        .await
    }

    /// One query under our own deadline, so "no answer within Ns" means what it says
    /// whatever hickory's retries do.
    async fn query(&self, name: &Name, record_type: RecordType) -> Answer {
        let lookup = self.resolver.lookup(name.clone(), record_type);
        match tokio::time::timeout(self.timeout, lookup).await {
            Err(_) => Answer::Failed(LookupFailure::Timeout {
                after: self.timeout,
            }),
            Ok(Ok(lookup)) => Answer::Records(lookup.answers().to_vec()),
            Ok(Err(err)) => self.classify(name, &err),
        }
    }

    /// hickory's error Display is its Debug output; say it in plain words instead.
    fn classify(&self, name: &Name, err: &NetError) -> Answer {
        // NXDOMAIN is also "no records found": test it first.
        if err.is_nx_domain() {
            return Answer::Failed(LookupFailure::NxDomain { name: ascii(name) });
        }
        if err.is_no_records_found() {
            return Answer::NoData;
        }
        let server = self.server.clone();
        let failure = match err {
            NetError::Dns(HickoryDnsError::ResponseCode(code)) => LookupFailure::ServerError {
                rcode: rcode_name(*code),
                server,
            },
            NetError::Timeout => LookupFailure::Timeout {
                after: self.timeout,
            },
            NetError::Io(io) => LookupFailure::Unreachable {
                server,
                detail: io_words(io.kind()),
            },
            NetError::NoConnections => LookupFailure::Unreachable {
                server,
                detail: "no connection could be made".to_string(),
            },
            NetError::Busy => LookupFailure::Unreachable {
                server,
                detail: "too many queries in flight".to_string(),
            },
            NetError::Truncated => LookupFailure::Unreachable {
                server,
                detail: "the answer was truncated and could not be fetched over TCP".to_string(),
            },
            NetError::Proto(_) => LookupFailure::Unreachable {
                server,
                detail: "the answer could not be decoded".to_string(),
            },
            NetError::QueryCaseMismatch | NetError::ForeignClassRecord { .. } => {
                LookupFailure::Unreachable {
                    server,
                    detail: "the answer did not match the question".to_string(),
                }
            }
            other => LookupFailure::Unreachable {
                server,
                detail: format!(
                    "query failed ({})",
                    other.as_metrics_label().replace('_', " ")
                ),
            },
        };
        Answer::Failed(failure)
    }
}

/// A name ready to query: IDNA applied (RFC 5890 A-labels) and fully qualified, so
/// resolv.conf search domains never apply (a mail domain is always absolute,
/// RFC 5321 §2.3.5).
fn fqdn(input: &str) -> Result<Name, LookupFailure> {
    let invalid = |reason: &str| LookupFailure::InvalidName {
        name: input.to_string(),
        reason: reason.to_string(),
    };
    let trimmed = input.strip_suffix('.').unwrap_or(input);
    if trimmed.is_empty() {
        return Err(invalid("it is empty"));
    }
    if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("it contains spaces or control characters"));
    }
    if trimmed.split('.').any(str::is_empty) {
        return Err(invalid("it has an empty label"));
    }
    let mut name = Name::from_utf8(trimmed)
        .map_err(|_| invalid("IDNA rejects it, or a label is longer than 63 octets"))?;
    name.set_fqdn(true);
    // RFC 1035 §3.1: 255 octets on the wire, i.e. 253 characters without the root.
    if ascii(&name).len() > 253 {
        return Err(invalid("it is longer than 253 characters"));
    }
    Ok(name)
}

/// A name that came from an answer (an MX exchange): already ASCII, and it may hold
/// characters IDNA would refuse (an underscore), which DNS itself allows
/// (RFC 2181 §11). Made absolute like [`fqdn`].
fn wire_name(text: &str) -> Result<Name, LookupFailure> {
    let mut name = Name::from_ascii(text).map_err(|_| LookupFailure::InvalidName {
        name: text.to_string(),
        reason: "it is not a valid DNS name".to_string(),
    })?;
    name.set_fqdn(true);
    Ok(name)
}

/// TXT character-strings joined into one string (RFC 7208 §3.3).
fn txt_text(record: &Record) -> Option<String> {
    match &record.data {
        RData::TXT(txt) => Some(
            txt.txt_data
                .iter()
                .map(|part| String::from_utf8_lossy(part).into_owned())
                .collect(),
        ),
        _ => None,
    }
}

/// ASCII form (A-labels) without the trailing dot.
pub(super) fn ascii(name: &Name) -> String {
    let text = name.to_ascii();
    match text.strip_suffix('.') {
        Some(stripped) if !stripped.is_empty() => stripped.to_string(),
        _ => text,
    }
}

fn describe_servers(servers: &[NameServerConfig]) -> String {
    let mut labels: Vec<String> = Vec::new();
    for server in servers {
        let port = server.connections.first().map(|c| c.port).unwrap_or(53);
        let label = std::net::SocketAddr::new(server.ip, port).to_string();
        if !labels.contains(&label) {
            labels.push(label);
        }
    }
    labels.join(", ")
}

/// RFC 1035 §4.1.1 and RFC 6895 §2.3 mnemonics, as dig prints them.
fn rcode_name(code: ResponseCode) -> String {
    match code {
        ResponseCode::FormErr => "FORMERR".to_string(),
        ResponseCode::ServFail => "SERVFAIL".to_string(),
        ResponseCode::NXDomain => "NXDOMAIN".to_string(),
        ResponseCode::NotImp => "NOTIMP".to_string(),
        ResponseCode::Refused => "REFUSED".to_string(),
        ResponseCode::NotAuth => "NOTAUTH".to_string(),
        other => format!("response code {}", u16::from(other)),
    }
}

fn io_words(kind: std::io::ErrorKind) -> String {
    use std::io::ErrorKind as K;
    match kind {
        K::ConnectionRefused => "connection refused".to_string(),
        K::ConnectionReset => "connection reset".to_string(),
        K::ConnectionAborted => "connection aborted".to_string(),
        K::HostUnreachable => "host unreachable".to_string(),
        K::NetworkUnreachable => "network unreachable".to_string(),
        K::AddrNotAvailable => "local address not available".to_string(),
        K::PermissionDenied => "permission denied".to_string(),
        K::NotFound => "not found".to_string(),
        K::TimedOut => "timed out".to_string(),
        other => format!("network error ({other})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fqdn_applies_idna_and_is_absolute() {
        let table = [
            ("example.org", Ok("example.org")),
            ("example.org.", Ok("example.org")),
            ("Example.ORG", Ok("example.org")),
            ("bücher.example", Ok("xn--bcher-kva.example")),
            ("localhost", Ok("localhost")),
            ("", Err(())),
            (".", Err(())),
            ("a..b", Err(())),
            ("exa mple.org", Err(())),
            ("bad\r\nname.org", Err(())),
        ];
        for (input, want) in table {
            let got = fqdn(input);
            match want {
                Ok(text) => {
                    let name = got.unwrap_or_else(|e| panic!("{input:?}: {e}"));
                    assert!(name.is_fqdn(), "{input:?}");
                    assert_eq!(ascii(&name), text, "{input:?}");
                }
                Err(()) => assert!(
                    matches!(got, Err(LookupFailure::InvalidName { .. })),
                    "{input:?} gave {got:?}"
                ),
            }
        }
        let long_label = format!("{}.example", "a".repeat(64));
        assert!(fqdn(&long_label).is_err());
        let long_name = vec!["abcdefghi"; 26].join(".");
        assert!(long_name.len() > 253);
        assert!(fqdn(&long_name).is_err());
    }

    #[test]
    fn wire_names_allow_what_dns_allows() {
        let name = wire_name("mx_1.example").expect("underscore is fine on the wire");
        assert!(name.is_fqdn());
        assert_eq!(ascii(&name), "mx_1.example");
        assert!(
            fqdn("mx_1.example").is_err(),
            "but IDNA refuses it from a user"
        );
    }

    #[test]
    fn root_name_prints_as_dot() {
        assert_eq!(ascii(&Name::root()), ".");
    }

    #[test]
    fn new_with_explicit_server_needs_no_system_config() {
        let cfg = DnsConfig {
            server: Some("127.0.0.1:5353".parse().unwrap()),
            ..DnsConfig::default()
        };
        let dns = Dns::new(&cfg).expect("resolver");
        assert_eq!(dns.server(), "127.0.0.1:5353");
        let v6 = DnsConfig {
            server: Some("[::1]:53".parse().unwrap()),
            ..DnsConfig::default()
        };
        assert_eq!(Dns::new(&v6).unwrap().server(), "[::1]:53");
    }

    #[tokio::test]
    async fn invalid_domain_never_reaches_the_network() {
        // Port 9 (discard) on loopback: nothing may be sent there.
        let cfg = DnsConfig {
            server: Some("127.0.0.1:9".parse().unwrap()),
            timeout: Duration::from_millis(200),
            ..DnsConfig::default()
        };
        let dns = Dns::new(&cfg).unwrap();
        assert!(matches!(
            dns.mail_route("exa mple.org").await,
            MailRoute::InvalidDomain { .. }
        ));
        assert!(matches!(
            dns.addresses("").await,
            Err(LookupFailure::InvalidName { .. })
        ));
    }

    #[test]
    fn hickory_errors_become_plain_words() {
        let cfg = DnsConfig {
            server: Some("127.0.0.1:5353".parse().unwrap()),
            timeout: Duration::from_secs(3),
            ..DnsConfig::default()
        };
        let dns = Dns::new(&cfg).unwrap();
        let name = fqdn("example.test").unwrap();
        let table: Vec<(NetError, &str)> = vec![
            (
                NetError::Dns(HickoryDnsError::ResponseCode(ResponseCode::ServFail)),
                "SERVFAIL from 127.0.0.1:5353",
            ),
            (
                NetError::Dns(HickoryDnsError::ResponseCode(ResponseCode::Refused)),
                "REFUSED from 127.0.0.1:5353",
            ),
            (NetError::Timeout, "no answer within 3s"),
            (
                NetError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
                "could not query 127.0.0.1:5353: connection refused",
            ),
            (
                NetError::NoConnections,
                "could not query 127.0.0.1:5353: no connection could be made",
            ),
        ];
        for (err, want) in table {
            match dns.inner.classify(&name, &err) {
                Answer::Failed(failure) => {
                    assert_eq!(failure.to_string(), want);
                    assert!(failure.is_temporary(), "{want}");
                }
                _ => panic!("{want}: expected a failure"),
            }
        }
    }

    #[test]
    fn rcode_names() {
        assert_eq!(rcode_name(ResponseCode::ServFail), "SERVFAIL");
        assert_eq!(rcode_name(ResponseCode::Refused), "REFUSED");
        assert_eq!(rcode_name(ResponseCode::BADCOOKIE), "response code 23");
    }
}
