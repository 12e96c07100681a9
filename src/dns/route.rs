//! Mail-route decisions as pure functions: no sockets, no clock, no hickory types.
//!
//! [`crate::dns::resolver`] turns answers into the plain inputs below; everything that
//! decides what those answers mean for delivery lives here and is tested by tables.

use std::net::SocketAddr;

use super::{Addr, Candidate, DnsConfig, LookupFailure, MailRoute, MxHost};

/// At most this many MX hosts get their addresses looked up. A hostile or broken zone
/// can list hundreds; an MTA never gets that far down the list anyway.
pub(crate) const MAX_RESOLVED_MX_HOSTS: usize = 32;

/// RFC 5321 §5.1: "the SMTP client SHOULD try at least two addresses".
pub(crate) const MIN_HOPS: usize = 2;

/// One MX record as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MxRecord {
    pub preference: u16,
    /// The exchange in ASCII without the trailing dot; `None` for the root name `.`,
    /// which is what makes a null MX (RFC 7505 §3).
    pub exchange: Option<String>,
    pub ttl: u32,
}

/// The outcome of the MX query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum MxAnswer {
    Records(Vec<MxRecord>),
    /// NOERROR with no MX records: the name exists.
    NoData,
    Failed(LookupFailure),
}

/// An MX target that needs its addresses looked up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MxTarget {
    pub name: String,
    pub preference: u16,
    pub ttl: u32,
    pub tied: bool,
}

/// What to do after the MX query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Plan {
    /// The MX answer alone settles the route.
    Final(MailRoute),
    /// No MX records: look up the domain's own addresses (RFC 5321 §5.1 implicit MX).
    Implicit,
    /// Look up the addresses of these targets, already in preference order.
    Resolve(Vec<MxTarget>),
}

/// RFC 5321 §5.1 and RFC 7505: what an MX answer means.
pub(crate) fn plan(answer: MxAnswer) -> Plan {
    let records = match answer {
        MxAnswer::Records(records) if !records.is_empty() => records,
        // An answer holding only other types (a CNAME chain without an MX at its end)
        // is the same as no MX records.
        MxAnswer::Records(_) | MxAnswer::NoData => return Plan::Implicit,
        MxAnswer::Failed(LookupFailure::NxDomain { .. }) => {
            return Plan::Final(MailRoute::NxDomain);
        }
        MxAnswer::Failed(LookupFailure::InvalidName { reason, .. }) => {
            return Plan::Final(MailRoute::InvalidDomain { reason });
        }
        // A temporary failure is never a reason to fall back to A/AAAA (§5.1).
        MxAnswer::Failed(failure) => {
            return Plan::Final(MailRoute::Temporary {
                reason: failure.to_string(),
            });
        }
    };

    if records.iter().any(|r| r.exchange.is_none()) {
        // "." can never be a host, whatever its preference; see MailRoute::NullMx for
        // why real exchanges next to it do not win.
        let mut mixed_with: Vec<String> = records.into_iter().filter_map(|r| r.exchange).collect();
        mixed_with.sort();
        mixed_with.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
        return Plan::Final(MailRoute::NullMx { mixed_with });
    }

    let mut targets: Vec<MxTarget> = records
        .into_iter()
        .filter_map(|r| {
            r.exchange.map(|name| MxTarget {
                name,
                preference: r.preference,
                ttl: r.ttl,
                tied: false,
            })
        })
        .collect();
    // The records of an RRset have no order (RFC 2181 §5); lowest
    // preference first, then by name so the listing is stable.
    targets.sort_by(|a, b| {
        a.preference.cmp(&b.preference).then_with(|| {
            a.name
                .to_ascii_lowercase()
                .cmp(&b.name.to_ascii_lowercase())
        })
    });
    // The same exchange listed twice: keep its most preferred entry.
    let mut seen: Vec<String> = Vec::new();
    targets.retain(|t| {
        let key = t.name.to_ascii_lowercase();
        if seen.contains(&key) {
            false
        } else {
            seen.push(key);
            true
        }
    });
    let prefs: Vec<u16> = targets.iter().map(|t| t.preference).collect();
    for (i, t) in targets.iter_mut().enumerate() {
        t.tied = prefs
            .iter()
            .enumerate()
            .any(|(j, p)| j != i && *p == t.preference);
    }
    Plan::Resolve(targets)
}

/// The answer to one address query (A or AAAA).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FamilyAnswer {
    Addrs(Vec<Addr>),
    NoData,
    Failed(LookupFailure),
}

/// A name's addresses from its A and AAAA answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AddressLookup {
    /// A addresses, then AAAA.
    pub addresses: Vec<Addr>,
    /// The failure that matters: a temporary one if any query had one, otherwise
    /// NXDOMAIN when neither query found addresses and one said the name is absent.
    pub failure: Option<LookupFailure>,
}

impl AddressLookup {
    /// The plain result for a caller that wants addresses or a reason: any address is
    /// a success, even if the other family failed.
    pub fn into_result(self) -> Result<Vec<Addr>, LookupFailure> {
        match self.failure {
            Some(failure) if self.addresses.is_empty() => Err(failure),
            _ => Ok(self.addresses),
        }
    }
}

/// Combines the A and AAAA answers.
pub(crate) fn combine(a: FamilyAnswer, aaaa: FamilyAnswer) -> AddressLookup {
    let mut addresses = Vec::new();
    let mut temporary = None;
    let mut permanent = None;
    for answer in [a, aaaa] {
        match answer {
            FamilyAnswer::Addrs(found) => addresses.extend(found),
            FamilyAnswer::NoData => {}
            FamilyAnswer::Failed(f) if f.is_temporary() => {
                temporary.get_or_insert(f);
            }
            FamilyAnswer::Failed(f) => {
                permanent.get_or_insert(f);
            }
        }
    }
    let failure = match (temporary, permanent) {
        (Some(t), _) => Some(t),
        (None, Some(p)) if addresses.is_empty() => Some(p),
        _ => None,
    };
    AddressLookup { addresses, failure }
}

/// The route for a domain without MX records, from the domain's own addresses.
pub(crate) fn implicit(host: String, lookup: AddressLookup) -> MailRoute {
    match lookup.failure {
        // Some addresses answered: that is enough to deliver to.
        _ if !lookup.addresses.is_empty() => MailRoute::Implicit {
            host,
            addresses: lookup.addresses,
        },
        // "No MX and no addresses" can only be concluded from complete answers.
        Some(f) if f.is_temporary() => MailRoute::Temporary {
            reason: f.to_string(),
        },
        Some(LookupFailure::NxDomain { .. }) => MailRoute::NxDomain,
        Some(LookupFailure::InvalidName { reason, .. }) => MailRoute::InvalidDomain { reason },
        Some(_) | None => MailRoute::NoMail,
    }
}

/// The MX route from the targets and their lookups (`None`: not looked up, past
/// [`MAX_RESOLVED_MX_HOSTS`]).
pub(crate) fn assemble(targets: Vec<MxTarget>, lookups: Vec<Option<AddressLookup>>) -> MailRoute {
    let hosts = targets
        .into_iter()
        .zip(lookups.into_iter().chain(std::iter::repeat(None)))
        .map(|(t, lookup)| {
            let (addresses, lookup_error, dangling) = match lookup {
                None => (
                    Vec::new(),
                    Some(format!(
                        "not looked up: only the first {MAX_RESOLVED_MX_HOSTS} MX hosts are resolved"
                    )),
                    false,
                ),
                Some(AddressLookup { addresses, failure }) => {
                    let temporary = failure.as_ref().is_some_and(LookupFailure::is_temporary);
                    let dangling = addresses.is_empty() && !temporary;
                    (addresses, failure.map(|f| f.to_string()), dangling)
                }
            };
            MxHost {
                name: t.name,
                preference: t.preference,
                ttl: t.ttl,
                tied: t.tied,
                addresses,
                lookup_error,
                dangling,
            }
        })
        .collect();
    MailRoute::Mx { hosts }
}

/// The (host, address) pairs an MTA would try, in order (RFC 5321 §5.1):
/// - MX hosts by preference, each group of equal preference shuffled ("randomize
///   them to spread the load"), using `seed` so tests are deterministic;
/// - for each host its IPv6 addresses, then IPv4 (the RFC 6724 §2.1 default policy
///   table prefers IPv6), keeping only the families `cfg` enables;
/// - hosts without addresses are skipped; an implicit MX gives one host;
/// - at most `max_hops` entries, and never fewer than two allowed (§5.1 "SHOULD try
///   at least two addresses").
///
/// A route that accepts no mail (null MX, NXDOMAIN, temporary failure, ...) gives none.
///
/// Two MX names sharing an address both stay in the list: each is a separate step of
/// the route and shows as such in a transcript.
pub fn delivery_candidates(
    route: &MailRoute,
    port: u16,
    cfg: &DnsConfig,
    max_hops: usize,
    seed: u64,
) -> Vec<Candidate> {
    let cap = max_hops.max(MIN_HOPS);
    let (want_v4, want_v6) = cfg.families();
    let mut rng = XorShift::new(seed);

    let hosts: Vec<(&str, Option<u16>, &[Addr])> = match route {
        MailRoute::Mx { hosts } => {
            let mut ordered: Vec<&MxHost> = hosts.iter().collect();
            // Stable, so equal preferences keep the listed order before shuffling.
            ordered.sort_by_key(|h| h.preference);
            let mut start = 0;
            while start < ordered.len() {
                let pref = ordered[start].preference;
                let end = start
                    + ordered[start..]
                        .iter()
                        .take_while(|h| h.preference == pref)
                        .count();
                rng.shuffle(&mut ordered[start..end]);
                start = end;
            }
            ordered
                .into_iter()
                .map(|h| (h.name.as_str(), Some(h.preference), h.addresses.as_slice()))
                .collect()
        }
        MailRoute::Implicit { host, addresses } => {
            vec![(host.as_str(), None, addresses.as_slice())]
        }
        MailRoute::NullMx { .. }
        | MailRoute::NoMail
        | MailRoute::NxDomain
        | MailRoute::Temporary { .. }
        | MailRoute::InvalidDomain { .. } => Vec::new(),
    };

    let mut out: Vec<Candidate> = Vec::new();
    for (host, preference, addresses) in hosts {
        let v6 = addresses.iter().filter(|a| want_v6 && a.ip.is_ipv6());
        let v4 = addresses.iter().filter(|a| want_v4 && a.ip.is_ipv4());
        for addr in v6.chain(v4) {
            let candidate = Candidate {
                host: host.to_string(),
                addr: SocketAddr::new(addr.ip, port),
                preference,
            };
            if out.contains(&candidate) {
                continue;
            }
            if out.len() == cap {
                return out;
            }
            out.push(candidate);
        }
    }
    out
}

/// A seed that differs from run to run, for [`delivery_candidates`].
pub fn time_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    nanos ^ (u64::from(std::process::id()) << 32)
}

/// xorshift64* (Vigna): enough to spread load across equal MX preferences, which is
/// all §5.1 asks; not for anything secret.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        // The state must never be zero; mix the seed so nearby seeds diverge at once.
        let mixed = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
        Self(if mixed == 0 { 1 } else { mixed })
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Fisher–Yates; the tiny modulo bias is irrelevant for a handful of hosts.
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::net::IpAddr;
    use std::time::Duration;

    use super::*;

    fn mx(preference: u16, exchange: &str) -> MxRecord {
        MxRecord {
            preference,
            exchange: if exchange == "." {
                None
            } else {
                Some(exchange.to_string())
            },
            ttl: 300,
        }
    }

    fn addr(ip: &str) -> Addr {
        Addr {
            ip: ip.parse().unwrap(),
            ttl: 60,
        }
    }

    fn host(name: &str, preference: u16, ips: &[&str]) -> MxHost {
        MxHost {
            name: name.to_string(),
            preference,
            ttl: 300,
            tied: false,
            addresses: ips.iter().map(|ip| addr(ip)).collect(),
            lookup_error: None,
            dangling: ips.is_empty(),
        }
    }

    fn ips(addrs: &[Addr]) -> Vec<IpAddr> {
        addrs.iter().map(|a| a.ip).collect()
    }

    fn servfail() -> LookupFailure {
        LookupFailure::ServerError {
            rcode: "SERVFAIL".into(),
            server: "127.0.0.1:53".into(),
        }
    }

    fn nx(name: &str) -> LookupFailure {
        LookupFailure::NxDomain { name: name.into() }
    }

    fn order(plan: &Plan) -> Vec<(String, u16, bool)> {
        match plan {
            Plan::Resolve(targets) => targets
                .iter()
                .map(|t| (t.name.clone(), t.preference, t.tied))
                .collect(),
            other => panic!("expected targets, got {other:?}"),
        }
    }

    #[test]
    fn plan_orders_by_preference_and_marks_ties() {
        type Row = (&'static str, Vec<MxRecord>, Vec<(&'static str, u16, bool)>);
        let table: Vec<Row> = vec![
            (
                "unsorted answer",
                vec![mx(20, "mx2.example"), mx(10, "mx1.example")],
                vec![("mx1.example", 10, false), ("mx2.example", 20, false)],
            ),
            (
                "tie then single",
                vec![
                    mx(30, "c.example"),
                    mx(10, "b.example"),
                    mx(10, "a.example"),
                ],
                vec![
                    ("a.example", 10, true),
                    ("b.example", 10, true),
                    ("c.example", 30, false),
                ],
            ),
            (
                "duplicate exchange keeps the best preference",
                vec![
                    mx(50, "MX.example"),
                    mx(5, "mx.example"),
                    mx(20, "other.example"),
                ],
                vec![("mx.example", 5, false), ("other.example", 20, false)],
            ),
            (
                "preference 0 and 65535",
                vec![mx(65535, "last.example"), mx(0, "first.example")],
                vec![("first.example", 0, false), ("last.example", 65535, false)],
            ),
        ];
        for (what, records, want) in table {
            let got = order(&plan(MxAnswer::Records(records)));
            let want: Vec<(String, u16, bool)> = want
                .into_iter()
                .map(|(n, p, t)| (n.to_string(), p, t))
                .collect();
            assert_eq!(got, want, "{what}");
        }
    }

    #[test]
    fn plan_final_outcomes() {
        let table: Vec<(&str, MxAnswer, Plan)> = vec![
            (
                "null MX",
                MxAnswer::Records(vec![mx(0, ".")]),
                Plan::Final(MailRoute::NullMx { mixed_with: vec![] }),
            ),
            (
                "null MX with a non-zero preference is still no exchange",
                MxAnswer::Records(vec![mx(10, ".")]),
                Plan::Final(MailRoute::NullMx { mixed_with: vec![] }),
            ),
            (
                "null MX mixed with real MX records",
                MxAnswer::Records(vec![mx(10, "mx.example"), mx(0, "."), mx(20, "b.example")]),
                Plan::Final(MailRoute::NullMx {
                    mixed_with: vec!["b.example".into(), "mx.example".into()],
                }),
            ),
            ("no MX records", MxAnswer::NoData, Plan::Implicit),
            (
                "only a CNAME in the answer",
                MxAnswer::Records(vec![]),
                Plan::Implicit,
            ),
            (
                "NXDOMAIN",
                MxAnswer::Failed(nx("nx.example")),
                Plan::Final(MailRoute::NxDomain),
            ),
            (
                "SERVFAIL is temporary, never implicit",
                MxAnswer::Failed(servfail()),
                Plan::Final(MailRoute::Temporary {
                    reason: "SERVFAIL from 127.0.0.1:53".into(),
                }),
            ),
            (
                "timeout is temporary, never implicit",
                MxAnswer::Failed(LookupFailure::Timeout {
                    after: Duration::from_secs(2),
                }),
                Plan::Final(MailRoute::Temporary {
                    reason: "no answer within 2s".into(),
                }),
            ),
            (
                "invalid name",
                MxAnswer::Failed(LookupFailure::InvalidName {
                    name: "a..b".into(),
                    reason: "empty label".into(),
                }),
                Plan::Final(MailRoute::InvalidDomain {
                    reason: "empty label".into(),
                }),
            ),
        ];
        for (what, answer, want) in table {
            assert_eq!(plan(answer), want, "{what}");
        }
    }

    #[test]
    fn combine_address_answers() {
        let v4 = || FamilyAnswer::Addrs(vec![addr("192.0.2.1")]);
        let v6 = || FamilyAnswer::Addrs(vec![addr("2001:db8::1")]);
        let nodata = || FamilyAnswer::NoData;
        let fail = || FamilyAnswer::Failed(servfail());
        let absent = || FamilyAnswer::Failed(nx("h.example"));
        type Row = (
            &'static str,
            FamilyAnswer,
            FamilyAnswer,
            Vec<&'static str>,
            Option<LookupFailure>,
        );
        let table: Vec<Row> = vec![
            ("both", v4(), v6(), vec!["192.0.2.1", "2001:db8::1"], None),
            ("A only", v4(), nodata(), vec!["192.0.2.1"], None),
            ("AAAA only", nodata(), v6(), vec!["2001:db8::1"], None),
            ("exists, no address", nodata(), nodata(), vec![], None),
            (
                "NXDOMAIN",
                absent(),
                absent(),
                vec![],
                Some(nx("h.example")),
            ),
            (
                "A fails, AAAA answers",
                fail(),
                v6(),
                vec!["2001:db8::1"],
                Some(servfail()),
            ),
            (
                "A fails, no AAAA",
                fail(),
                nodata(),
                vec![],
                Some(servfail()),
            ),
            (
                "NX beside a failure stays temporary",
                absent(),
                fail(),
                vec![],
                Some(servfail()),
            ),
        ];
        for (what, a, aaaa, want_ips, want_failure) in table {
            let got = combine(a, aaaa);
            let want_ips: Vec<IpAddr> = want_ips.iter().map(|s| s.parse().unwrap()).collect();
            assert_eq!(ips(&got.addresses), want_ips, "{what}");
            assert_eq!(got.failure, want_failure, "{what}");
        }
    }

    #[test]
    fn address_lookup_result() {
        let partial = AddressLookup {
            addresses: vec![addr("192.0.2.1")],
            failure: Some(servfail()),
        };
        assert_eq!(partial.into_result().unwrap().len(), 1);
        let failed = AddressLookup {
            addresses: vec![],
            failure: Some(servfail()),
        };
        assert_eq!(failed.into_result(), Err(servfail()));
        let none = AddressLookup {
            addresses: vec![],
            failure: None,
        };
        assert_eq!(none.into_result(), Ok(vec![]));
    }

    #[test]
    fn implicit_route() {
        let lookup = |addresses: Vec<Addr>, failure| AddressLookup { addresses, failure };
        let table: Vec<(&str, AddressLookup, MailRoute)> = vec![
            (
                "addresses",
                lookup(vec![addr("192.0.2.1")], None),
                MailRoute::Implicit {
                    host: "example.org".into(),
                    addresses: vec![addr("192.0.2.1")],
                },
            ),
            (
                "partial failure still delivers",
                lookup(vec![addr("192.0.2.1")], Some(servfail())),
                MailRoute::Implicit {
                    host: "example.org".into(),
                    addresses: vec![addr("192.0.2.1")],
                },
            ),
            ("no addresses", lookup(vec![], None), MailRoute::NoMail),
            (
                "failed lookup is temporary, not NoMail",
                lookup(vec![], Some(servfail())),
                MailRoute::Temporary {
                    reason: "SERVFAIL from 127.0.0.1:53".into(),
                },
            ),
            (
                "vanished between queries",
                lookup(vec![], Some(nx("example.org"))),
                MailRoute::NxDomain,
            ),
        ];
        for (what, lookup, want) in table {
            assert_eq!(implicit("example.org".into(), lookup), want, "{what}");
        }
    }

    #[test]
    fn assemble_flags_dangling_and_temporary_hosts() {
        let Plan::Resolve(targets) = plan(MxAnswer::Records(vec![
            mx(10, "good.example"),
            mx(20, "gone.example"),
            mx(30, "empty.example"),
            mx(40, "flaky.example"),
            mx(50, "half.example"),
        ])) else {
            panic!("expected targets");
        };
        let lookups = vec![
            Some(AddressLookup {
                addresses: vec![addr("192.0.2.1")],
                failure: None,
            }),
            Some(AddressLookup {
                addresses: vec![],
                failure: Some(nx("gone.example")),
            }),
            Some(AddressLookup {
                addresses: vec![],
                failure: None,
            }),
            Some(AddressLookup {
                addresses: vec![],
                failure: Some(servfail()),
            }),
            Some(AddressLookup {
                addresses: vec![addr("192.0.2.5")],
                failure: Some(servfail()),
            }),
        ];
        let MailRoute::Mx { hosts } = assemble(targets, lookups) else {
            panic!("expected MX route");
        };
        let got: Vec<(&str, bool, Option<&str>, usize)> = hosts
            .iter()
            .map(|h| {
                (
                    h.name.as_str(),
                    h.dangling,
                    h.lookup_error.as_deref(),
                    h.addresses.len(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("good.example", false, None, 1),
                (
                    "gone.example",
                    true,
                    Some("gone.example: no such domain (NXDOMAIN)"),
                    0
                ),
                ("empty.example", true, None, 0),
                (
                    "flaky.example",
                    false,
                    Some("SERVFAIL from 127.0.0.1:53"),
                    0
                ),
                ("half.example", false, Some("SERVFAIL from 127.0.0.1:53"), 1),
            ]
        );
    }

    #[test]
    fn assemble_marks_hosts_past_the_cap() {
        let targets: Vec<MxTarget> = (0..3)
            .map(|i| MxTarget {
                name: format!("mx{i}.example"),
                preference: i,
                ttl: 1,
                tied: false,
            })
            .collect();
        let lookups = vec![Some(AddressLookup {
            addresses: vec![addr("192.0.2.1")],
            failure: None,
        })];
        let MailRoute::Mx { hosts } = assemble(targets, lookups) else {
            panic!("expected MX route");
        };
        assert_eq!(hosts.len(), 3);
        assert!(hosts[0].lookup_error.is_none());
        for h in &hosts[1..] {
            assert!(!h.dangling);
            assert!(
                h.lookup_error
                    .as_deref()
                    .unwrap()
                    .starts_with("not looked up")
            );
        }
    }

    fn both() -> DnsConfig {
        DnsConfig::default()
    }

    fn only_v4() -> DnsConfig {
        DnsConfig {
            ipv6: false,
            ..DnsConfig::default()
        }
    }

    fn only_v6() -> DnsConfig {
        DnsConfig {
            ipv4: false,
            ..DnsConfig::default()
        }
    }

    fn list(cands: &[Candidate]) -> Vec<String> {
        cands
            .iter()
            .map(|c| format!("{} {}", c.host, c.addr))
            .collect()
    }

    #[test]
    fn candidates_table() {
        let two = MailRoute::Mx {
            hosts: vec![
                host("mx2.example", 20, &["192.0.2.2"]),
                host("mx1.example", 10, &["192.0.2.1", "2001:db8::1"]),
            ],
        };
        let with_dangling = MailRoute::Mx {
            hosts: vec![
                host("gone.example", 10, &[]),
                host("good.example", 20, &["192.0.2.9"]),
            ],
        };
        let implicit = MailRoute::Implicit {
            host: "example.org".into(),
            addresses: vec![addr("192.0.2.7"), addr("2001:db8::7")],
        };
        let many = MailRoute::Mx {
            hosts: (1..=5)
                .map(|i| {
                    host(
                        &format!("mx{i}.example"),
                        i * 10,
                        &[&format!("192.0.2.{i}")],
                    )
                })
                .collect(),
        };
        let v6_only_host = MailRoute::Mx {
            hosts: vec![
                host("six.example", 10, &["2001:db8::6"]),
                host("four.example", 20, &["192.0.2.4"]),
            ],
        };
        let repeated = MailRoute::Mx {
            hosts: vec![host("mx.example", 10, &["192.0.2.1", "192.0.2.1"])],
        };
        let null_mixed = MailRoute::NullMx {
            mixed_with: vec!["mx.example".into()],
        };
        let temporary = MailRoute::Temporary { reason: "x".into() };
        type Row<'a> = (&'a str, &'a MailRoute, DnsConfig, usize, Vec<&'a str>);
        let table: Vec<Row> = vec![
            (
                "preference order, IPv6 first per host",
                &two,
                both(),
                10,
                vec![
                    "mx1.example [2001:db8::1]:25",
                    "mx1.example 192.0.2.1:25",
                    "mx2.example 192.0.2.2:25",
                ],
            ),
            (
                "-4 drops IPv6",
                &two,
                only_v4(),
                10,
                vec!["mx1.example 192.0.2.1:25", "mx2.example 192.0.2.2:25"],
            ),
            (
                "-6 keeps only IPv6",
                &two,
                only_v6(),
                10,
                vec!["mx1.example [2001:db8::1]:25"],
            ),
            (
                "cap",
                &two,
                both(),
                2,
                vec!["mx1.example [2001:db8::1]:25", "mx1.example 192.0.2.1:25"],
            ),
            (
                "a cap below two still allows two",
                &many,
                both(),
                0,
                vec!["mx1.example 192.0.2.1:25", "mx2.example 192.0.2.2:25"],
            ),
            (
                "cap of three across hosts",
                &many,
                both(),
                3,
                vec![
                    "mx1.example 192.0.2.1:25",
                    "mx2.example 192.0.2.2:25",
                    "mx3.example 192.0.2.3:25",
                ],
            ),
            (
                "dangling host skipped",
                &with_dangling,
                both(),
                10,
                vec!["good.example 192.0.2.9:25"],
            ),
            (
                "implicit MX",
                &implicit,
                both(),
                10,
                vec!["example.org [2001:db8::7]:25", "example.org 192.0.2.7:25"],
            ),
            (
                "-4 skips an IPv6-only host",
                &v6_only_host,
                only_v4(),
                10,
                vec!["four.example 192.0.2.4:25"],
            ),
            (
                "a repeated address is tried once",
                &repeated,
                both(),
                10,
                vec!["mx.example 192.0.2.1:25"],
            ),
            ("null MX: nowhere", &null_mixed, both(), 10, vec![]),
            ("no mail", &MailRoute::NoMail, both(), 10, vec![]),
            ("nxdomain", &MailRoute::NxDomain, both(), 10, vec![]),
            ("temporary", &temporary, both(), 10, vec![]),
        ];
        for (what, route, cfg, hops, want) in table {
            let got = delivery_candidates(route, 25, &cfg, hops, 7);
            assert_eq!(list(&got), want, "{what}");
        }
    }

    #[test]
    fn candidates_carry_preference() {
        let route = MailRoute::Mx {
            hosts: vec![host("mx.example", 10, &["192.0.2.1"])],
        };
        let got = delivery_candidates(&route, 2525, &both(), 5, 1);
        assert_eq!(got[0].preference, Some(10));
        assert_eq!(got[0].addr.port(), 2525);
        let implicit = MailRoute::Implicit {
            host: "example.org".into(),
            addresses: vec![addr("192.0.2.7")],
        };
        assert_eq!(
            delivery_candidates(&implicit, 25, &both(), 5, 1)[0].preference,
            None
        );
    }

    #[test]
    fn ties_are_shuffled_but_deterministic_per_seed() {
        let route = MailRoute::Mx {
            hosts: vec![
                host("a.example", 10, &["192.0.2.1"]),
                host("b.example", 10, &["192.0.2.2"]),
                host("c.example", 10, &["192.0.2.3"]),
                host("z.example", 20, &["192.0.2.26"]),
            ],
        };
        let hosts = |seed| -> Vec<String> {
            delivery_candidates(&route, 25, &DnsConfig::default(), 10, seed)
                .into_iter()
                .map(|c| c.host)
                .collect()
        };
        let mut orders = BTreeSet::new();
        for seed in 0..200 {
            let got = hosts(seed);
            assert_eq!(got, hosts(seed), "same seed, same order");
            // The tie group stays ahead of the worse preference.
            assert_eq!(got[3], "z.example");
            let mut group = got[..3].to_vec();
            group.sort();
            assert_eq!(group, ["a.example", "b.example", "c.example"]);
            orders.insert(got[..3].join(","));
        }
        assert_eq!(orders.len(), 6, "every order of three tied hosts shows up");
    }

    #[test]
    fn shuffle_never_reorders_distinct_preferences() {
        let route = MailRoute::Mx {
            hosts: vec![
                host("c.example", 30, &["192.0.2.3"]),
                host("a.example", 10, &["192.0.2.1"]),
                host("b.example", 20, &["192.0.2.2"]),
            ],
        };
        for seed in 0..50 {
            let got: Vec<String> = delivery_candidates(&route, 25, &both(), 10, seed)
                .into_iter()
                .map(|c| c.host)
                .collect();
            assert_eq!(got, ["a.example", "b.example", "c.example"]);
        }
    }

    #[test]
    fn xorshift_handles_a_zero_seed() {
        let mut rng = XorShift::new(0);
        let a = rng.next();
        let b = rng.next();
        assert_ne!(a, 0);
        assert_ne!(a, b);
    }
}
