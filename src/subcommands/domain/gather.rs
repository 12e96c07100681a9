//! One domain's report: every lookup a row needs, run concurrently, each row judged
//! by `policy/`. No SMTP connection is ever made.

use serde_json::{Value, json};

use crate::dns::{Dns, LookupFailure, MailRoute, Secured, Security};
use crate::policy::report::{Report, Row};
use crate::policy::tls_policy::StsAnswer;
use crate::policy::verdict::Status;
use crate::policy::{dane, dkim, dmarc, mta_sts, spf, tls_rpt};
use crate::subcommands::tls_policy::{self, Fetcher, StsLookup, txt_or_none};

/// What the checks need besides DNS.
#[derive(Clone, Debug)]
pub struct Settings {
    pub dkim_selectors: Vec<String>,
    /// Fetches MTA-STS policies.
    pub fetcher: Fetcher,
    /// The port whose TLSA records are looked up (25 for MX hosts).
    pub smtp_port: u16,
}

/// Every answer's trust, for the dnssec row: (what was asked, how far it is trusted).
type Trust = Vec<(String, Security)>;

pub async fn inspect(dns: &Dns, domain: &str, settings: &Settings) -> Report {
    inspect_for_delivery(dns, domain, settings).await.0
}

/// The report, with the route and the MTA-STS answer it was made from, so that the
/// hosts' policies can be decided without fetching the policy again (`check DOMAIN`).
pub async fn inspect_for_delivery(
    dns: &Dns,
    domain: &str,
    settings: &Settings,
) -> (Report, MailRoute, StsAnswer) {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    let route = dns.mail_route(&domain);
    let sts = async {
        let lookup = tls_policy::mta_sts(dns, &domain, &settings.fetcher).await;
        let answer = lookup.answer();
        (mta_sts_row(&domain, lookup), answer)
    };
    let rpt = tls_rpt_row(dns, &domain);
    let spf = spf_row(dns, &domain);
    let dmarc = dmarc_row(dns, &domain);
    let dkim = dkim_row(dns, &domain, &settings.dkim_selectors);
    let (route, ((sts, sts_policy, t1), sts_answer), (rpt, t2), (spf, t3), (dmarc, t4), (dkim, t5)) =
        tokio::join!(route, sts, rpt, spf, dmarc, dkim);
    let mx = mx_row(&domain, &route);
    let hosts = tls_policy::route_hosts(&route);
    let (dane, t6) = dane_row(dns, &hosts, settings.smtp_port).await;
    let sts = cover(sts, sts_policy.as_ref(), &hosts);

    let mut trust: Trust = Vec::new();
    for t in [t1, t2, t3, t4, t5, t6] {
        trust.extend(t);
    }
    let dnssec = dnssec_row(&trust);
    let rows = vec![dnssec, mx, dane, sts, rpt, spf, dmarc, dkim];
    let dns_failed = route.is_temporary()
        || rows
            .iter()
            .flat_map(|r| &r.findings)
            .any(|f| f.reason.starts_with("DNS: "));
    let report = Report {
        domain,
        rows,
        dns_failed,
    };
    (report, route, sts_answer)
}

/// A failure of DNS itself is noted as such; "no such name" is an answer.
fn lookup_failed(row: &mut Row, name: &str, failure: &LookupFailure) {
    if failure.is_temporary() {
        row.add(Status::Fail, format!("DNS: {name}: {failure}"));
    } else {
        row.add(Status::Fail, format!("{name}: {failure}"));
    }
}

fn mx_row(domain: &str, route: &MailRoute) -> Row {
    let mut row = Row::new("mx");
    row.facts = json!({ "route": route });
    match route {
        MailRoute::Mx { hosts } => {
            for h in hosts {
                let addrs: Vec<String> = h.addresses.iter().map(|a| a.ip.to_string()).collect();
                row.details.push(format!(
                    "{:>5} {}  {}",
                    h.preference,
                    h.name,
                    if addrs.is_empty() {
                        "no address".to_owned()
                    } else {
                        addrs.join(" ")
                    }
                ));
                if h.dangling {
                    row.add(
                        Status::Warn,
                        format!("{} has no address: it receives nothing", h.name),
                    );
                }
            }
            if hosts.iter().any(|h| !h.addresses.is_empty()) {
                row.add(
                    Status::Pass,
                    format!(
                        "{} MX host{}",
                        hosts.len(),
                        if hosts.len() == 1 { "" } else { "s" }
                    ),
                );
            } else {
                row.add(Status::Fail, "no MX host has an address");
            }
        }
        MailRoute::Implicit { host, .. } => row.add(
            Status::Warn,
            format!("no MX records: mail goes to {host} itself (implicit MX, RFC 5321 §5.1)"),
        ),
        MailRoute::NullMx { mixed_with } if mixed_with.is_empty() => row.add(
            Status::Info,
            "null MX (RFC 7505): the domain accepts no mail",
        ),
        MailRoute::NullMx { mixed_with } => row.add(
            Status::Fail,
            format!("null MX published together with {}", mixed_with.join(", ")),
        ),
        MailRoute::NoMail => row.add(Status::Fail, "no MX records and no address"),
        MailRoute::NxDomain => row.add(Status::Fail, format!("{domain} does not exist")),
        MailRoute::Temporary { reason } => row.add(Status::Fail, format!("DNS: {reason}")),
        MailRoute::InvalidDomain { reason } => row.add(Status::Fail, reason.clone()),
    }
    row
}

async fn dane_row(dns: &Dns, hosts: &[String], port: u16) -> (Row, Trust) {
    let mut row = Row::new("dane");
    let mut trust = Trust::new();
    let mut set = tokio::task::JoinSet::new();
    for (i, host) in hosts.iter().enumerate() {
        let (dns, host) = (dns.clone(), host.clone());
        set.spawn(async move { (i, dns.tlsa(&host, port).await) });
    }
    let mut slots: Vec<Option<Result<Secured<dane::Tlsa>, LookupFailure>>> =
        hosts.iter().map(|_| None).collect();
    while let Some(Ok((i, answer))) = set.join_next().await {
        slots[i] = Some(answer);
    }
    let answers = hosts.iter().zip(slots).map(|(h, a)| {
        let a = a.unwrap_or_else(|| {
            Err(LookupFailure::Unreachable {
                server: dns.server().to_owned(),
                detail: "lookup task failed".into(),
            })
        });
        (h, a)
    });
    let mut facts = Vec::new();
    let mut with_records = 0;
    for (host, answer) in answers {
        let name = format!("_{port}._tcp.{host}");
        match answer {
            Err(LookupFailure::NxDomain { .. }) => {
                facts.push(json!({"host": host, "records": [], "security": Value::Null}));
            }
            Err(failure) => lookup_failed(&mut row, &name, &failure),
            Ok(answer) => {
                trust.push((format!("TLSA {name}"), answer.security.clone()));
                let records: Vec<Value> = answer
                    .records
                    .iter()
                    .map(|r| {
                        json!({"usage": r.usage, "selector": r.selector, "matching": r.matching,
                               "usable": r.usable().is_ok(), "problem": r.usable().err()})
                    })
                    .collect();
                facts.push(json!({"host": host, "records": records,
                                  "security": answer.security.as_str()}));
                if answer.records.is_empty() {
                    continue;
                }
                with_records += 1;
                for r in &answer.records {
                    let note = match r.usable() {
                        Ok(()) => dane::usage_name(r.usage).to_owned(),
                        Err(why) => format!("unusable: {why}"),
                    };
                    row.details.push(format!("{name}  {}  {note}", r.short()));
                }
                judge_tlsa(&mut row, &name, &answer);
            }
        }
    }
    if with_records == 0 && !row.findings.iter().any(|f| f.status == Status::Fail) {
        row.add(
            Status::Info,
            "no TLSA records: DANE does not protect mail to this domain",
        );
    } else if with_records < hosts.len() && with_records > 0 {
        row.add(
            Status::Warn,
            format!(
                "only {with_records} of {} MX hosts publish TLSA records",
                hosts.len()
            ),
        );
    }
    row.facts = json!({ "port": port, "hosts": facts });
    (row, trust)
}

fn judge_tlsa(row: &mut Row, name: &str, answer: &Secured<dane::Tlsa>) {
    match (&answer.security, dane::requirement(&answer.records)) {
        (Security::Bogus(why), _) => row.add(
            Status::Fail,
            format!(
                "{name}: DNSSEC validation failed ({why}); senders using DANE will not deliver"
            ),
        ),
        (Security::Insecure, _) => row.add(
            Status::Warn,
            format!(
                "{name}: TLSA records in an unsigned zone are ignored by senders (RFC 7672 §2.2)"
            ),
        ),
        (Security::Unchecked | Security::Indeterminate, _) => row.add(
            Status::Warn,
            format!("{name}: TLSA records found, but their DNSSEC status is not known"),
        ),
        (Security::Secure, dane::Requirement::EncryptOnly) => row.add(
            Status::Warn,
            format!("{name}: no usable TLSA record: senders must use TLS but cannot authenticate"),
        ),
        (Security::Secure, _) => row.add(
            Status::Pass,
            format!("{name}: usable TLSA records, DNSSEC-secure"),
        ),
    }
}

/// The `_mta-sts` record and the policy it announces; the MX coverage is judged once
/// the MX hosts are known ([`cover`]).
fn mta_sts_row(domain: &str, lookup: StsLookup) -> (Row, Option<mta_sts::Policy>, Trust) {
    let mut row = Row::new("mta_sts");
    let name = format!("_mta-sts.{domain}");
    let (security, record, fetch) = match lookup {
        StsLookup::TxtFailed(failure) => {
            lookup_failed(&mut row, &name, &failure);
            return (row, None, Trust::new());
        }
        StsLookup::Txt {
            security,
            record,
            policy,
        } => (security, record, policy),
    };
    let trust = vec![(format!("TXT {name}"), security)];
    let (record, fetch) = match (record, fetch) {
        (Err(mta_sts::RecordError::Absent), _) => {
            row.add(
                Status::Info,
                "no MTA-STS record: senders use TLS opportunistically",
            );
            row.facts = json!({"record": Value::Null});
            return (row, None, trust);
        }
        (Err(e), _) => {
            row.add(Status::Fail, format!("{name}: {e}"));
            return (row, None, trust);
        }
        (Ok(r), Some(fetch)) => (r, fetch),
        (Ok(r), None) => {
            row.add(Status::Fail, format!("{name}: no policy fetched"));
            row.facts = json!({"record": {"id": r.id}});
            return (row, None, trust);
        }
    };
    row.details.push(format!("{name}  id={}", record.id));
    let url = fetch.url;
    if let Some(failure) = &fetch.unresolved {
        lookup_failed(&mut row, "policy host", failure);
        row.facts = json!({"record": {"id": record.id}, "policy_url": url});
        return (row, None, trust);
    }
    match fetch.result {
        Err(why) => {
            row.add(Status::Fail, format!("policy {url}: {why}"));
            row.facts = json!({"record": {"id": record.id}, "policy_url": url, "policy": Value::Null, "error": why});
            (row, None, trust)
        }
        Ok(policy) => {
            let patterns: Vec<String> = policy.mx.iter().map(|p| p.to_string()).collect();
            row.details.push(format!(
                "policy: mode {}, max_age {}, mx {}",
                policy.mode.as_str(),
                policy.max_age,
                patterns.join(" ")
            ));
            match policy.mode {
                mta_sts::Mode::Enforce => {}
                mta_sts::Mode::Testing => row.add(
                    Status::Warn,
                    "mode testing: failures are reported, mail is delivered anyway",
                ),
                mta_sts::Mode::None => row.add(Status::Warn, "mode none: the policy is withdrawn"),
            }
            if policy.max_age < 86_400 {
                row.add(
                    Status::Warn,
                    format!(
                        "max_age {} is under a day; RFC 8461 expects weeks",
                        policy.max_age
                    ),
                );
            }
            row.facts = json!({"record": {"id": record.id}, "policy_url": url,
                "policy": {"mode": policy.mode.as_str(), "max_age": policy.max_age, "mx": patterns}});
            (row, Some(policy), trust)
        }
    }
}

/// Every MX host covered by a pattern of the policy, or not.
fn cover(mut row: Row, policy: Option<&mta_sts::Policy>, hosts: &[String]) -> Row {
    let Some(policy) = policy else {
        return row;
    };
    let mut uncovered = Vec::new();
    let mut coverage = Vec::new();
    for host in hosts {
        let pattern = policy.covering(host).map(|p| p.to_string());
        coverage.push(json!({"host": host, "pattern": pattern}));
        if pattern.is_none() {
            uncovered.push(host.clone());
        }
    }
    if uncovered.is_empty() {
        if policy.mode == mta_sts::Mode::Enforce {
            row.add(
                Status::Pass,
                "mode enforce, every MX host matches the policy",
            );
        }
    } else {
        let status = if policy.mode == mta_sts::Mode::Enforce {
            Status::Fail
        } else {
            Status::Warn
        };
        row.add(
            status,
            format!(
                "MX host{} not in the policy: {}",
                if uncovered.len() == 1 { "" } else { "s" },
                uncovered.join(", ")
            ),
        );
    }
    if let Value::Object(map) = &mut row.facts {
        map.insert("coverage".into(), Value::Array(coverage));
    }
    row
}

async fn tls_rpt_row(dns: &Dns, domain: &str) -> (Row, Trust) {
    let mut row = Row::new("tls_rpt");
    let name = format!("_smtp._tls.{domain}");
    let answer = match txt_or_none(dns, &name).await {
        Ok(a) => a,
        Err(failure) => {
            lookup_failed(&mut row, &name, &failure);
            return (row, Trust::new());
        }
    };
    let trust = vec![(format!("TXT {name}"), answer.security.clone())];
    match tls_rpt::select_record(&answer.records) {
        Err(tls_rpt::RecordError::Absent) => {
            row.add(
                Status::Warn,
                "no TLS-RPT record: nobody hears of TLS failures delivering here",
            );
            row.facts = json!({"rua": Value::Null});
        }
        Err(e) => row.add(Status::Fail, format!("{name}: {e}")),
        Ok(record) => {
            let rua: Vec<String> = record.rua.iter().map(|u| u.to_string()).collect();
            row.add(Status::Pass, format!("reports go to {}", rua.join(", ")));
            row.facts = json!({ "rua": rua });
        }
    }
    (row, trust)
}

/// Follows includes and redirects (each at most once, at most 20 records) counting
/// the lookups a receiver would make.
async fn spf_row(dns: &Dns, domain: &str) -> (Row, Trust) {
    let mut row = Row::new("spf");
    let mut trust = Trust::new();
    let top = match txt_or_none(dns, domain).await {
        Ok(a) => a,
        Err(failure) => {
            lookup_failed(&mut row, domain, &failure);
            return (row, trust);
        }
    };
    trust.push((format!("TXT {domain}"), top.security.clone()));
    let record = match spf::select(&top.records) {
        Err(why) => {
            row.add(Status::Fail, why);
            return (row, trust);
        }
        Ok(None) => {
            row.add(
                Status::Warn,
                "no SPF record: receivers cannot tell which hosts may send for this domain",
            );
            row.facts = json!({"record": Value::Null});
            return (row, trust);
        }
        Ok(Some(r)) => r.to_owned(),
    };
    row.details.push(record.clone());
    let mut walk = spf::Walk::default();
    let mut seen = vec![domain.to_owned()];
    // (domain, record, is the top record or reached by redirect from it)
    let mut queue = vec![(domain.to_owned(), record.clone(), true)];
    while let Some((at, text, top_chain)) = queue.pop() {
        let parsed = match spf::parse(&text) {
            Ok(p) => p,
            Err(why) => {
                walk.errors.push(format!("{at}: {why}"));
                continue;
            }
        };
        if top_chain && walk.all.is_none() {
            walk.all = spf::all_qualifier(&parsed);
        }
        for term in spf::lookup_terms(&parsed, &at) {
            walk.lookups += 1;
            walk.uses_ptr |= term.kind == "ptr";
            let Some(target) = term.target else {
                walk.macros += 1;
                continue;
            };
            match term.kind {
                "include" | "redirect" => {
                    if seen.contains(&target) {
                        walk.errors
                            .push(format!("{at}: {} {target} loops", term.kind));
                        continue;
                    }
                    if seen.len() >= 20 {
                        walk.errors
                            .push("more than 20 SPF records: stopped following".into());
                        break;
                    }
                    seen.push(target.clone());
                    match txt_or_none(dns, &target).await {
                        Err(failure) => lookup_failed(&mut row, &target, &failure),
                        Ok(answer) => {
                            trust.push((format!("TXT {target}"), answer.security.clone()));
                            match spf::select(&answer.records) {
                                Ok(Some(r)) => {
                                    let redirect = term.kind == "redirect";
                                    queue.push((target, r.to_owned(), top_chain && redirect));
                                }
                                Ok(None) => {
                                    walk.void_lookups += 1;
                                    walk.errors.push(format!(
                                        "{at}: {} {target} has no SPF record (permerror)",
                                        term.kind
                                    ));
                                }
                                Err(why) => walk.errors.push(format!("{target}: {why}")),
                            }
                        }
                    }
                }
                "a" | "exists" => match dns.addresses(&target).await {
                    Ok(a) if a.is_empty() => walk.void_lookups += 1,
                    Ok(_) => {}
                    Err(LookupFailure::NxDomain { .. }) => walk.void_lookups += 1,
                    Err(failure) => lookup_failed(&mut row, &target, &failure),
                },
                // mx and ptr cost lookups that depend on more than the record.
                _ => {}
            }
        }
    }
    row.findings.extend(spf::judge(&walk));
    row.facts = json!({"record": record, "lookups": walk.lookups, "void_lookups": walk.void_lookups,
                       "all": walk.all, "records_followed": seen});
    (row, trust)
}

async fn dmarc_row(dns: &Dns, domain: &str) -> (Row, Trust) {
    let mut row = Row::new("dmarc");
    let mut trust = Trust::new();
    // RFC 7489 §6.6.3 falls back to the organisational domain; without a public
    // suffix list, walk up the tree as the successor draft does, to two labels.
    let labels: Vec<&str> = domain.split('.').collect();
    let mut found = None;
    for start in 0..labels.len().saturating_sub(1).max(1) {
        let at = labels[start..].join(".");
        let name = format!("_dmarc.{at}");
        match txt_or_none(dns, &name).await {
            Err(failure) => {
                lookup_failed(&mut row, &name, &failure);
                return (row, trust);
            }
            Ok(answer) => {
                trust.push((format!("TXT {name}"), answer.security.clone()));
                match dmarc::select(&answer.records) {
                    Err(why) => {
                        row.add(Status::Fail, format!("{name}: {why}"));
                        return (row, trust);
                    }
                    Ok(Some(r)) => {
                        found = Some((at, r.to_owned()));
                        break;
                    }
                    Ok(None) => {}
                }
            }
        }
    }
    let Some((at, record)) = found else {
        row.add(
            Status::Fail,
            "no DMARC record: receivers apply no policy to mail forged in this domain's name",
        );
        row.facts = json!({"record": Value::Null});
        return (row, trust);
    };
    row.details.push(format!("_dmarc.{at}  {record}"));
    if at != domain {
        row.details.push(format!("(inherited from {at})"));
    }
    let parsed = match dmarc::parse(&record) {
        Ok(p) => p,
        Err(why) => {
            row.add(Status::Fail, why);
            return (row, trust);
        }
    };
    let mut authorised = Vec::new();
    for host in dmarc::external_report_domains(&parsed, domain) {
        let name = format!("{domain}._report._dmarc.{host}");
        let ok = match txt_or_none(dns, &name).await {
            Ok(a) => a.records.iter().any(|t| t.starts_with("v=DMARC1")),
            Err(failure) => {
                lookup_failed(&mut row, &name, &failure);
                continue;
            }
        };
        authorised.push((host, ok));
    }
    row.findings.extend(dmarc::judge(&parsed, &authorised));
    let (rua, ruf) = dmarc::report_addresses(&parsed);
    row.facts = json!({
        "record": record, "found_at": at,
        "p": dmarc::policy_name(&parsed.p), "sp": dmarc::policy_name(&parsed.sp),
        "adkim": dmarc::alignment_name(&parsed.adkim), "aspf": dmarc::alignment_name(&parsed.aspf),
        "testing": parsed.t, "rua": rua, "ruf": ruf,
        "external_reports": authorised.iter().map(|(h, ok)| json!({"domain": h, "authorised": ok})).collect::<Vec<_>>(),
    });
    (row, trust)
}

async fn dkim_row(dns: &Dns, domain: &str, selectors: &[String]) -> (Row, Trust) {
    let mut row = Row::new("dkim");
    let mut trust = Trust::new();
    if selectors.is_empty() {
        row.add(
            Status::Info,
            "not checked: DKIM selectors cannot be listed from DNS; name them with --dkim-selector",
        );
        row.facts = json!({"selectors": []});
        return (row, trust);
    }
    let mut facts = Vec::new();
    for selector in selectors {
        let name = format!("{selector}._domainkey.{domain}");
        let answer = match txt_or_none(dns, &name).await {
            Ok(a) => a,
            Err(failure) => {
                lookup_failed(&mut row, &name, &failure);
                continue;
            }
        };
        trust.push((format!("TXT {name}"), answer.security.clone()));
        let Some(text) = answer.records.first() else {
            row.add(Status::Fail, format!("{name}: no key record"));
            facts.push(json!({"selector": selector, "key": Value::Null}));
            continue;
        };
        match dkim::parse(text) {
            Err(why) => row.add(Status::Fail, format!("{name}: {why}")),
            Ok(key) => {
                judge_key(&mut row, &name, &key);
                facts.push(json!({"selector": selector, "key_type": key.key_type, "bits": key.bits,
                                  "revoked": key.revoked, "testing": key.testing, "problem": key.problem}));
            }
        }
    }
    row.facts = json!({ "selectors": facts });
    (row, trust)
}

fn judge_key(row: &mut Row, name: &str, key: &dkim::KeyRecord) {
    if key.revoked {
        row.add(Status::Warn, format!("{name}: key revoked (empty p=)"));
        return;
    }
    if let Some(problem) = &key.problem {
        row.add(Status::Fail, format!("{name}: {problem}"));
        return;
    }
    let bits = key.bits.unwrap_or(0);
    match (key.key_type.as_str(), bits) {
        ("rsa", b) if b < 1024 => row.add(
            Status::Fail,
            format!("{name}: RSA {b} bits, too weak: verifiers ignore it (RFC 8301)"),
        ),
        ("rsa", b) if b < 2048 => row.add(
            Status::Warn,
            format!("{name}: RSA {b} bits; 2048 is recommended"),
        ),
        (t, b) => row.add(Status::Pass, format!("{name}: {t} {b} bits")),
    }
    if key.testing {
        row.add(Status::Warn, format!("{name}: t=y, DKIM in testing mode"));
    }
}

fn dnssec_row(trust: &Trust) -> Row {
    let mut row = Row::new("dnssec");
    let count = |s: &str| trust.iter().filter(|(_, t)| t.as_str() == s).count();
    for (what, t) in trust {
        if let Security::Bogus(why) = t {
            row.add(Status::Fail, format!("{what}: bogus ({why})"));
        }
    }
    if row.findings.iter().any(|f| f.status == Status::Fail) {
        row.facts = json!({
            "answers": trust.iter().map(|(what, t)| json!({"name": what, "security": t.as_str()})).collect::<Vec<_>>()
        });
        return row;
    }
    // Names that do not exist carry no status here; they neither help nor hurt.
    let judged = trust.len() - count("unchecked");
    let (secure, insecure) = (count("secure"), count("insecure"));
    let undecided = count("indeterminate");
    if judged == 0 {
        row.add(Status::Info, "answers were not DNSSEC-validated");
    } else if insecure > 0 {
        row.add(
            Status::Warn,
            format!("{insecure} of {judged} answers come from unsigned zones"),
        );
    } else if undecided > 0 {
        row.add(
            Status::Warn,
            format!("{undecided} of {judged} answers could not be validated"),
        );
    } else if secure == judged {
        row.add(Status::Pass, format!("all {secure} answers DNSSEC-secure"));
    }
    row.facts = json!({
        "answers": trust.iter().map(|(what, t)| json!({"name": what, "security": t.as_str()})).collect::<Vec<_>>()
    });
    row
}
