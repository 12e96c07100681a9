//! The lookups behind a domain's TLS policies — the MTA-STS record and policy file
//! (RFC 8461 §3), each MX host's TLSA records (RFC 7672 §2.2) — and the policy each MX
//! host gets for delivery (`policy::tls_policy` decides). `domain` shows the same
//! lookups as rows; `send` and `check` act on them.

use std::net::IpAddr;
use std::time::Duration;

use crate::cli::{TlsArgs, TlsPolicyArgs, TlsPolicyChoice};
use crate::dns::{Dns, LookupFailure, MailRoute, Secured, Security};
use crate::net::https::HttpsClient;
use crate::policy::mta_sts::{self, Policy, StsRecord};
use crate::policy::tls_policy::{Choice, HostPolicy, StsAnswer, TlsaAnswer, decide};
use crate::session::open::TlsMode;

/// What fetching policies needs besides DNS.
#[derive(Clone, Debug)]
pub struct Fetcher {
    /// Trusts `--tls-ca` besides the public roots.
    pub https: HttpsClient,
    /// 443 by RFC 8461; other values only for private test setups.
    pub mta_sts_port: u16,
    pub timeout: Duration,
}

/// How far the MTA-STS lookup got.
#[derive(Debug)]
pub enum StsLookup {
    /// The `_mta-sts` TXT lookup itself failed.
    TxtFailed(LookupFailure),
    /// The TXT answer, and what followed from it.
    Txt {
        security: Security,
        record: Result<StsRecord, mta_sts::RecordError>,
        /// `None` when there is no usable record to follow.
        policy: Option<PolicyFetch>,
    },
}

/// The policy file behind a usable record.
#[derive(Debug)]
pub struct PolicyFetch {
    pub url: String,
    /// The policy host's address lookup failed.
    pub unresolved: Option<LookupFailure>,
    pub result: Result<Policy, String>,
}

impl StsLookup {
    /// The answer a sender acts on.
    pub fn answer(&self) -> StsAnswer {
        match self {
            StsLookup::TxtFailed(f) => StsAnswer::Failed(format!("_mta-sts TXT lookup: {f}")),
            StsLookup::Txt { record, policy, .. } => match (record, policy) {
                (Err(mta_sts::RecordError::Absent), _) => StsAnswer::Absent,
                (Err(e), _) => StsAnswer::Failed(e.to_string()),
                (Ok(r), Some(fetch)) => match &fetch.result {
                    Ok(p) => StsAnswer::Found {
                        id: r.id.clone(),
                        policy: p.clone(),
                    },
                    Err(why) => StsAnswer::Failed(format!("{}: {why}", fetch.url)),
                },
                (Ok(_), None) => StsAnswer::Failed("no policy fetched".into()),
            },
        }
    }
}

/// TXT records at `name`; NXDOMAIN reads as none.
pub async fn txt_or_none(dns: &Dns, name: &str) -> Result<Secured<String>, LookupFailure> {
    match dns.txt(name).await {
        Err(LookupFailure::NxDomain { .. }) => Ok(Secured {
            records: Vec::new(),
            security: Security::Unchecked,
            name: name.to_owned(),
        }),
        other => other,
    }
}

/// The `_mta-sts` record of `domain` and, when there is one, the policy it announces:
/// WebPKI-verified, no redirect followed, size-capped, `text/plain` only.
pub async fn mta_sts(dns: &Dns, domain: &str, fetcher: &Fetcher) -> StsLookup {
    let name = format!("_mta-sts.{domain}");
    let answer = match txt_or_none(dns, &name).await {
        Ok(a) => a,
        Err(failure) => return StsLookup::TxtFailed(failure),
    };
    let record = mta_sts::select_record(&answer.records);
    let policy = match &record {
        Ok(_) => Some(fetch_policy(dns, domain, fetcher).await),
        Err(_) => None,
    };
    StsLookup::Txt {
        security: answer.security,
        record,
        policy,
    }
}

async fn fetch_policy(dns: &Dns, domain: &str, fetcher: &Fetcher) -> PolicyFetch {
    let host = format!("mta-sts.{domain}");
    let url = format!("https://{host}/.well-known/mta-sts.txt");
    let addrs: Vec<IpAddr> = match dns.addresses(&host).await {
        Ok(a) => a.iter().map(|a| a.ip).collect(),
        Err(failure) => {
            let why = failure.to_string();
            return PolicyFetch {
                url,
                unresolved: Some(failure),
                result: Err(why),
            };
        }
    };
    let deadline = tokio::time::Instant::now() + fetcher.timeout;
    let fetched = fetcher
        .https
        .get(
            &host,
            fetcher.mta_sts_port,
            "/.well-known/mta-sts.txt",
            &addrs,
            mta_sts::MAX_POLICY_BYTES,
            deadline,
        )
        .await;
    let result = fetched.and_then(|response| {
        mta_sts::check_response(response.status, response.content_type.as_deref())?;
        let text =
            String::from_utf8(response.body).map_err(|_| "policy is not UTF-8".to_owned())?;
        mta_sts::parse_policy(&text)
    });
    PolicyFetch {
        url,
        unresolved: None,
        result,
    }
}

/// The MX host names mail would go to (the implicit MX included; not a dangling MX
/// target), in route order.
pub fn route_hosts(route: &MailRoute) -> Vec<String> {
    match route {
        MailRoute::Mx { hosts } => hosts
            .iter()
            .filter(|h| !h.dangling)
            .map(|h| h.name.clone())
            .collect(),
        MailRoute::Implicit { host, .. } => vec![host.clone()],
        _ => Vec::new(),
    }
}

/// The policy of every host of `domain`'s route under `choice`, in route order: the
/// MX answer's and each host's DNSSEC status and TLSA records (RFC 7672 §2.2), and the
/// MTA-STS policy, looked up concurrently.
pub async fn host_policies(
    dns: &Dns,
    domain: &str,
    route: &MailRoute,
    port: u16,
    choice: Choice,
    fetcher: &Fetcher,
) -> Vec<(String, HostPolicy)> {
    let sts = sts_answer(dns, domain, choice, fetcher);
    let tlsa = tlsa_answers(dns, domain, route, port, choice);
    let (sts, tlsa) = tokio::join!(sts, tlsa);
    decide_all(choice, route, &sts, tlsa)
}

/// The domain's MTA-STS answer, when `choice` consults MTA-STS; it needs no MX answer,
/// so it can be looked up beside the route.
pub async fn sts_answer(dns: &Dns, domain: &str, choice: Choice, fetcher: &Fetcher) -> StsAnswer {
    match choice {
        Choice::Dane | Choice::None => StsAnswer::Absent,
        Choice::Auto | Choice::MtaSts => mta_sts(dns, domain, fetcher).await.answer(),
    }
}

/// [`host_policies`] with the MTA-STS answer already in hand.
pub async fn host_policies_given(
    dns: &Dns,
    domain: &str,
    route: &MailRoute,
    port: u16,
    choice: Choice,
    sts: &StsAnswer,
) -> Vec<(String, HostPolicy)> {
    let tlsa = tlsa_answers(dns, domain, route, port, choice).await;
    decide_all(choice, route, sts, tlsa)
}

fn decide_all(
    choice: Choice,
    route: &MailRoute,
    sts: &StsAnswer,
    tlsa: Vec<TlsaAnswer>,
) -> Vec<(String, HostPolicy)> {
    route_hosts(route)
        .into_iter()
        .zip(tlsa)
        .map(|(host, t)| {
            let policy = decide(choice, &host, &t, sts);
            (host, policy)
        })
        .collect()
}

/// Each host's TLSA answer, or why DANE is not asked for.
async fn tlsa_answers(
    dns: &Dns,
    domain: &str,
    route: &MailRoute,
    port: u16,
    choice: Choice,
) -> Vec<TlsaAnswer> {
    let hosts = route_hosts(route);
    match choice {
        Choice::MtaSts | Choice::None => {
            let why = format!("--tls-policy {}", choice.as_str());
            hosts
                .iter()
                .map(|_| TlsaAnswer::NotSecure(why.clone()))
                .collect()
        }
        Choice::Auto | Choice::Dane => dane_answers(dns, domain, route, &hosts, port).await,
    }
}

/// Each host's TLSA answer as DANE reads it: only behind a DNSSEC-secure MX answer (or,
/// with no MX, a secure address answer for the domain) and secure host addresses.
async fn dane_answers(
    dns: &Dns,
    domain: &str,
    route: &MailRoute,
    hosts: &[String],
    port: u16,
) -> Vec<TlsaAnswer> {
    // The MX answer first: behind an insecure one DANE never applies (the usual
    // case), and the per-host lookups are not worth making.
    let (what, anchor) = match route {
        MailRoute::Mx { .. } => ("MX", dns.mx_secured(domain).await.map(|s| s.security)),
        _ => (
            "address",
            dns.addresses_secured(domain).await.map(|s| s.security),
        ),
    };
    let not_secure = match &anchor {
        Ok(Security::Secure) => None,
        Ok(other) => Some(format!(
            "the {what} answer for {domain} is {other}, not DNSSEC-secure"
        )),
        Err(f) => Some(format!("the {what} lookup for {domain} failed ({f})")),
    };
    if let Some(why) = not_secure {
        return hosts
            .iter()
            .map(|_| TlsaAnswer::NotSecure(why.clone()))
            .collect();
    }
    let mut set = tokio::task::JoinSet::new();
    for (i, host) in hosts.iter().enumerate() {
        let (dns, host) = (dns.clone(), host.clone());
        set.spawn(async move {
            let (addrs, tlsa) = tokio::join!(dns.addresses_secured(&host), dns.tlsa(&host, port));
            (i, addrs.map(|a| a.security), tlsa)
        });
    }
    let mut answers: Vec<Option<_>> = hosts.iter().map(|_| None).collect();
    while let Some(Ok((i, addrs, tlsa))) = set.join_next().await {
        answers[i] = Some((addrs, tlsa));
    }
    answers
        .into_iter()
        .zip(hosts)
        .map(|(slot, host)| {
            let Some((addrs, tlsa)) = slot else {
                return TlsaAnswer::Failed(format!("the lookups for {host} did not finish"));
            };
            match addrs {
                Ok(Security::Secure) => {}
                Ok(Security::Bogus(why)) => {
                    return TlsaAnswer::Failed(format!(
                        "the addresses of {host} are bogus ({why})"
                    ));
                }
                Ok(other) => {
                    return TlsaAnswer::NotSecure(format!(
                        "the addresses of {host} are {other}, not DNSSEC-secure"
                    ));
                }
                Err(f) => return TlsaAnswer::Failed(format!("addresses of {host}: {f}")),
            }
            let name = format!("_{port}._tcp.{host}");
            match tlsa {
                Ok(found) => match found.security {
                    Security::Secure => TlsaAnswer::Secure {
                        name: found.name,
                        records: found.records,
                    },
                    Security::Bogus(why) => {
                        TlsaAnswer::Failed(format!("TLSA at {name} is bogus ({why})"))
                    }
                    other => TlsaAnswer::NotSecure(format!("TLSA at {name} is {other}")),
                },
                Err(LookupFailure::NxDomain { .. }) => {
                    TlsaAnswer::NotSecure(format!("no TLSA records at {name}"))
                }
                Err(f) => TlsaAnswer::Failed(format!("TLSA at {name}: {f}")),
            }
        })
        .collect()
}

/// Deadline for fetching one MTA-STS policy while sending.
const FETCH_TIMEOUT: Duration = Duration::from_secs(20);

/// `--tls-policy` for a run that routes by MX, validated.
#[derive(Clone, Debug)]
pub struct PolicyPlan {
    pub choice: Choice,
    pub fetcher: Fetcher,
}

/// The policy plan, or None when policies do not apply: with `--server` (the user named
/// the host), or when TLS is off, implicit or unverified and no policy was asked for.
pub fn plan(
    args: &TlsPolicyArgs,
    tls: &TlsArgs,
    mode: TlsMode,
    routed: bool,
) -> Result<Option<PolicyPlan>, String> {
    let choice = match args.tls_policy {
        None => None,
        Some(TlsPolicyChoice::Auto) => Some(Choice::Auto),
        Some(TlsPolicyChoice::Dane) => Some(Choice::Dane),
        Some(TlsPolicyChoice::MtaSts) => Some(Choice::MtaSts),
        Some(TlsPolicyChoice::None) => return Ok(None),
    };
    let conflict = match (mode, tls.tls_no_verify) {
        (TlsMode::Off, _) => Some("--tls none"),
        (TlsMode::Implicit, _) => Some("--tls implicit"),
        (_, true) => Some("--tls-no-verify"),
        _ => None,
    };
    if let Some(choice) = choice {
        if !routed && choice != Choice::Auto {
            return Err(format!(
                "--tls-policy {} applies when routing by MX; with --server smtpx talks to the server named",
                choice.as_str()
            ));
        }
        if let Some(flag) = conflict
            && choice != Choice::Auto
        {
            return Err(format!(
                "--tls-policy {} with {flag}: the policy needs verified STARTTLS",
                choice.as_str()
            ));
        }
    }
    if !routed || conflict.is_some() {
        return Ok(None);
    }
    let https = HttpsClient::new(&tls.tls_ca).map_err(|e| format!("--tls-ca: {e}"))?;
    Ok(Some(PolicyPlan {
        choice: choice.unwrap_or_default(),
        fetcher: Fetcher {
            https,
            mta_sts_port: args.mta_sts_port,
            timeout: FETCH_TIMEOUT,
        },
    }))
}
