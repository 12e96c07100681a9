//! Which TLS policy a sending MTA applies to one MX host: DANE (RFC 7672) first, then
//! MTA-STS (RFC 8461 §2: a host with DANE records is held to DANE), else opportunistic
//! TLS. Pure: the lookups arrive as [`TlsaAnswer`] and [`StsAnswer`].

use serde::Serialize;

use super::dane::{self, Tlsa};
use super::mta_sts::{Mode, Policy};

/// `--tls-policy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Choice {
    /// DANE where the host publishes it, else MTA-STS, else opportunistic.
    #[default]
    Auto,
    /// Only hosts with DNSSEC-secure TLSA records, held to them.
    Dane,
    /// Only hosts the domain's MTA-STS policy names, held to it whatever its mode.
    MtaSts,
    /// Neither: opportunistic TLS as without policies.
    None,
}

impl Choice {
    pub fn as_str(self) -> &'static str {
        match self {
            Choice::Auto => "auto",
            Choice::Dane => "dane",
            Choice::MtaSts => "mta-sts",
            Choice::None => "none",
        }
    }
}

/// The TLSA lookup for one MX host, as far as DANE is concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsaAnswer {
    /// DNSSEC-secure answer, found at `name` (empty: a secure denial).
    Secure { name: String, records: Vec<Tlsa> },
    /// Unsigned, unvalidated, or the MX answer leading here was not secure: DANE
    /// does not apply (RFC 7672 §2.2).
    NotSecure(String),
    /// Bogus, or the lookup failed: RFC 7672 §2.2 forbids delivering to this host.
    Failed(String),
}

/// The domain's MTA-STS policy as fetched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StsAnswer {
    /// No `_mta-sts` record.
    Absent,
    Found {
        id: String,
        policy: Policy,
    },
    /// A record, but no usable policy (fetch failed, bad content): with no cached
    /// policy a sender delivers as if there were none (RFC 8461 §5).
    Failed(String),
}

/// What the session must demand of one host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostPolicy {
    /// TLS required; the chain must match one of these usable records.
    Dane { name: String, records: Vec<Tlsa> },
    /// TLS required, unauthenticated: secure TLSA records, none usable (§2.2).
    DaneEncrypt { name: String },
    /// TLS required with a WebPKI-valid certificate for the host (`enforce`), or
    /// checked and reported only (`!enforce`, a policy in testing mode).
    MtaSts {
        id: String,
        pattern: String,
        enforce: bool,
    },
    /// Opportunistic TLS as without policies; `why` says why no policy applies.
    Opportunistic { why: String },
    /// Do not deliver to this host.
    Refused { policy: Kind, why: String },
}

/// A policy's name in the transcript and JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Dane,
    MtaSts,
    Opportunistic,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Dane => "DANE",
            Kind::MtaSts => "MTA-STS",
            Kind::Opportunistic => "opportunistic",
        }
    }
}

impl HostPolicy {
    pub fn kind(&self) -> Kind {
        match self {
            HostPolicy::Dane { .. } | HostPolicy::DaneEncrypt { .. } => Kind::Dane,
            HostPolicy::MtaSts { .. } => Kind::MtaSts,
            HostPolicy::Opportunistic { .. } => Kind::Opportunistic,
            HostPolicy::Refused { policy, .. } => *policy,
        }
    }

    /// Whether the host must speak TLS or be skipped.
    pub fn requires_tls(&self) -> bool {
        matches!(
            self,
            HostPolicy::Dane { .. }
                | HostPolicy::DaneEncrypt { .. }
                | HostPolicy::MtaSts { enforce: true, .. }
        )
    }

    /// One line for the transcript: the policy and why it applies.
    pub fn describe(&self) -> String {
        match self {
            HostPolicy::Dane { name, records } => {
                let list: Vec<String> = records.iter().map(Tlsa::short).collect();
                format!(
                    "DANE: DNSSEC-secure TLSA at {name} ({}): TLS required, the certificate must match",
                    list.join(", ")
                )
            }
            HostPolicy::DaneEncrypt { name } => format!(
                "DANE: DNSSEC-secure TLSA at {name}, none usable: TLS required, certificate not authenticated (RFC 7672 §2.2)"
            ),
            HostPolicy::MtaSts {
                id,
                pattern,
                enforce: true,
            } => format!(
                "MTA-STS enforce (id {id}, mx {pattern}): TLS required, the certificate must be WebPKI-valid for the host"
            ),
            HostPolicy::MtaSts {
                id,
                pattern,
                enforce: false,
            } => format!(
                "MTA-STS testing (id {id}, mx {pattern}): TLS checked as in enforce mode, failures reported, not enforced"
            ),
            HostPolicy::Opportunistic { why } => format!("opportunistic TLS: {why}"),
            HostPolicy::Refused { policy, why } => format!("{}: {why}", policy.as_str()),
        }
    }
}

/// The policy for MX host `host` under `choice`. `sts` is only consulted when DANE
/// does not decide.
pub fn decide(choice: Choice, host: &str, tlsa: &TlsaAnswer, sts: &StsAnswer) -> HostPolicy {
    if choice == Choice::None {
        return HostPolicy::Opportunistic {
            why: "--tls-policy none".into(),
        };
    }
    if choice != Choice::MtaSts {
        match tlsa {
            TlsaAnswer::Secure { name, records } if !records.is_empty() => {
                return match dane::requirement(records) {
                    dane::Requirement::Authenticate(usable) => HostPolicy::Dane {
                        name: name.clone(),
                        records: usable,
                    },
                    _ => HostPolicy::DaneEncrypt { name: name.clone() },
                };
            }
            TlsaAnswer::Failed(why) => {
                return HostPolicy::Refused {
                    policy: Kind::Dane,
                    why: format!(
                        "the TLSA lookup for {host} failed ({why}); RFC 7672 §2.2 forbids delivering to it"
                    ),
                };
            }
            TlsaAnswer::Secure { name, .. } if choice == Choice::Dane => {
                return HostPolicy::Refused {
                    policy: Kind::Dane,
                    why: format!(
                        "no TLSA records at {name} (DNSSEC-secure denial); --tls-policy dane requires them"
                    ),
                };
            }
            TlsaAnswer::NotSecure(why) if choice == Choice::Dane => {
                return HostPolicy::Refused {
                    policy: Kind::Dane,
                    why: format!("{why}; --tls-policy dane requires DNSSEC-secure TLSA records"),
                };
            }
            _ => {}
        }
    }
    let forced = choice == Choice::MtaSts;
    match sts {
        StsAnswer::Found { id, policy } => {
            let enforce = policy.mode == Mode::Enforce || forced;
            if policy.mode == Mode::None && !forced {
                return HostPolicy::Opportunistic {
                    why: format!("the MTA-STS policy (id {id}) is in mode none"),
                };
            }
            match policy.covering(host) {
                Some(pattern) => HostPolicy::MtaSts {
                    id: id.clone(),
                    pattern: pattern.to_string(),
                    enforce,
                },
                None if enforce => {
                    let listed: Vec<String> = policy.mx.iter().map(|p| p.to_string()).collect();
                    HostPolicy::Refused {
                        policy: Kind::MtaSts,
                        why: format!(
                            "{host} is not among the policy's mx patterns ({}); RFC 8461 §4.1 forbids delivering to it",
                            if listed.is_empty() {
                                "none".into()
                            } else {
                                listed.join(", ")
                            }
                        ),
                    }
                }
                None => HostPolicy::Opportunistic {
                    why: format!(
                        "{host} is not among the MTA-STS policy's mx patterns (mode testing: reported, not enforced)"
                    ),
                },
            }
        }
        StsAnswer::Absent if forced => HostPolicy::Refused {
            policy: Kind::MtaSts,
            why: "the domain publishes no MTA-STS record; --tls-policy mta-sts requires a policy"
                .into(),
        },
        StsAnswer::Failed(why) if forced => HostPolicy::Refused {
            policy: Kind::MtaSts,
            why: format!("no usable MTA-STS policy ({why}); --tls-policy mta-sts requires one"),
        },
        StsAnswer::Failed(why) => HostPolicy::Opportunistic {
            why: format!(
                "{}; the MTA-STS record is there but no policy could be used ({why}): with no cached policy RFC 8461 §5 delivers as without one",
                no_dane(tlsa)
            ),
        },
        StsAnswer::Absent => HostPolicy::Opportunistic {
            why: format!("{}; no MTA-STS policy", no_dane(tlsa)),
        },
    }
}

/// Why DANE did not decide, for the opportunistic reason.
fn no_dane(tlsa: &TlsaAnswer) -> String {
    match tlsa {
        TlsaAnswer::NotSecure(why) => format!("no DANE ({why})"),
        _ => "no DANE (no TLSA records)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::mta_sts::parse_policy;

    fn tlsa(usage: u8) -> Tlsa {
        Tlsa {
            usage,
            selector: 1,
            matching: 1,
            data: vec![7; 32],
        }
    }

    fn secure(records: Vec<Tlsa>) -> TlsaAnswer {
        TlsaAnswer::Secure {
            name: "_25._tcp.mx.example.test".into(),
            records,
        }
    }

    fn sts(mode: &str) -> StsAnswer {
        StsAnswer::Found {
            id: "1".into(),
            policy: parse_policy(&format!(
                "version: STSv1\nmode: {mode}\nmx: mx.example.test\nmax_age: 86400\n"
            ))
            .unwrap(),
        }
    }

    fn insecure() -> TlsaAnswer {
        TlsaAnswer::NotSecure("the MX answer is not DNSSEC-secure".into())
    }

    #[test]
    fn dane_wins_over_mta_sts_for_a_host_with_secure_records() {
        let p = decide(
            Choice::Auto,
            "mx.example.test",
            &secure(vec![tlsa(3)]),
            &sts("enforce"),
        );
        assert!(matches!(p, HostPolicy::Dane { ref records, .. } if records.len() == 1));
        assert!(p.requires_tls());
    }

    #[test]
    fn secure_records_none_usable_still_demand_tls() {
        let p = decide(
            Choice::Auto,
            "mx.example.test",
            &secure(vec![tlsa(1)]),
            &StsAnswer::Absent,
        );
        assert!(matches!(p, HostPolicy::DaneEncrypt { .. }));
        assert!(p.requires_tls());
    }

    #[test]
    fn a_failed_tlsa_lookup_rules_the_host_out() {
        let p = decide(
            Choice::Auto,
            "mx.example.test",
            &TlsaAnswer::Failed("bogus".into()),
            &sts("enforce"),
        );
        assert_eq!(p.kind(), Kind::Dane);
        assert!(matches!(p, HostPolicy::Refused { .. }));
    }

    #[test]
    fn without_dane_an_enforced_policy_applies_and_uncovered_hosts_are_refused() {
        let covered = decide(
            Choice::Auto,
            "mx.example.test",
            &insecure(),
            &sts("enforce"),
        );
        assert!(matches!(covered, HostPolicy::MtaSts { enforce: true, .. }));
        let other = decide(
            Choice::Auto,
            "mx2.example.test",
            &insecure(),
            &sts("enforce"),
        );
        assert!(
            matches!(other, HostPolicy::Refused { policy: Kind::MtaSts, ref why } if why.contains("mx.example.test"))
        );
    }

    #[test]
    fn testing_mode_checks_without_enforcing_unless_forced() {
        let p = decide(
            Choice::Auto,
            "mx.example.test",
            &insecure(),
            &sts("testing"),
        );
        assert!(matches!(p, HostPolicy::MtaSts { enforce: false, .. }));
        assert!(!p.requires_tls());
        let uncovered = decide(
            Choice::Auto,
            "mx9.example.test",
            &insecure(),
            &sts("testing"),
        );
        assert!(matches!(uncovered, HostPolicy::Opportunistic { .. }));
        let forced = decide(
            Choice::MtaSts,
            "mx.example.test",
            &insecure(),
            &sts("testing"),
        );
        assert!(matches!(forced, HostPolicy::MtaSts { enforce: true, .. }));
    }

    #[test]
    fn forced_policies_refuse_hosts_they_do_not_cover() {
        let p = decide(
            Choice::Dane,
            "mx.example.test",
            &insecure(),
            &sts("enforce"),
        );
        assert!(matches!(
            p,
            HostPolicy::Refused {
                policy: Kind::Dane,
                ..
            }
        ));
        let p = decide(
            Choice::MtaSts,
            "mx.example.test",
            &secure(vec![tlsa(3)]),
            &StsAnswer::Absent,
        );
        assert!(matches!(
            p,
            HostPolicy::Refused {
                policy: Kind::MtaSts,
                ..
            }
        ));
        let p = decide(
            Choice::MtaSts,
            "mx.example.test",
            &insecure(),
            &StsAnswer::Failed("404".into()),
        );
        assert!(matches!(p, HostPolicy::Refused { .. }));
    }

    #[test]
    fn a_policy_that_cannot_be_fetched_is_no_policy() {
        let p = decide(
            Choice::Auto,
            "mx.example.test",
            &insecure(),
            &StsAnswer::Failed("HTTP 404".into()),
        );
        assert!(matches!(p, HostPolicy::Opportunistic { ref why } if why.contains("RFC 8461 §5")));
        let none = decide(Choice::Auto, "mx.example.test", &insecure(), &sts("none"));
        assert!(matches!(none, HostPolicy::Opportunistic { .. }));
        let off = decide(
            Choice::None,
            "mx.example.test",
            &secure(vec![tlsa(3)]),
            &sts("enforce"),
        );
        assert!(matches!(off, HostPolicy::Opportunistic { .. }));
    }
}
