//! DMARC (RFC 7489 and its successor): the policy record at `_dmarc.DOMAIN`, judged.
//! The record syntax is mail-auth's parser.

use mail_auth::common::parse::TxtRecordParser;
use mail_auth::dmarc::{Alignment, Dmarc, Policy};

use super::verdict::{Finding, Status};

/// The DMARC record among the TXT records at `_dmarc.NAME`: those starting `v=DMARC1`.
pub fn select(txts: &[String]) -> Result<Option<&str>, String> {
    let ours: Vec<&String> = txts
        .iter()
        .filter(|t| t.trim_start().starts_with("v=DMARC1"))
        .collect();
    match ours.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.as_str())),
        many => Err(format!(
            "{} DMARC records: receivers apply none (RFC 7489 §6.6.3)",
            many.len()
        )),
    }
}

pub fn parse(record: &str) -> Result<Dmarc, String> {
    Dmarc::parse(record.as_bytes()).map_err(|e| format!("not valid DMARC: {e}"))
}

pub fn policy_name(p: &Policy) -> &'static str {
    match p {
        Policy::None => "none",
        Policy::Quarantine => "quarantine",
        Policy::Reject => "reject",
        Policy::Unspecified => "unspecified",
    }
}

pub fn alignment_name(a: &Alignment) -> &'static str {
    match a {
        Alignment::Relaxed => "relaxed",
        Alignment::Strict => "strict",
    }
}

/// Report addresses (`rua`, then `ruf`) as the record lists them.
pub fn report_addresses(d: &Dmarc) -> (Vec<String>, Vec<String>) {
    let list = |uris: &[mail_auth::dmarc::URI]| uris.iter().map(|u| u.uri.clone()).collect();
    (list(&d.rua), list(&d.ruf))
}

/// The domains of report addresses outside `domain`'s own tree: each needs an
/// authorisation record `DOMAIN._report._dmarc.THAT` (RFC 7489 §7.1).
///
/// "Outside" compares the last two labels (no public suffix list), so for domains
/// under a multi-label suffix (example.co.uk) a same-organisation address may be
/// asked about needlessly; the check then only costs a lookup.
pub fn external_report_domains(d: &Dmarc, domain: &str) -> Vec<String> {
    let (rua, ruf) = report_addresses(d);
    let own = base(domain);
    let mut out: Vec<String> = Vec::new();
    for addr in rua.iter().chain(ruf.iter()) {
        let Some((_, host)) = addr.rsplit_once('@') else {
            continue;
        };
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if base(&host) != own && !out.contains(&host) {
            out.push(host);
        }
    }
    out
}

fn base(domain: &str) -> String {
    let labels: Vec<&str> = domain.trim_end_matches('.').split('.').collect();
    labels[labels.len().saturating_sub(2)..]
        .join(".")
        .to_ascii_lowercase()
}

/// Verdicts on a parsed record. `authorised` holds, for each external report domain,
/// whether its authorisation record exists.
pub fn judge(d: &Dmarc, authorised: &[(String, bool)]) -> Vec<Finding> {
    let mut out = Vec::new();
    match d.p {
        Policy::Reject | Policy::Quarantine => out.push(Finding::new(
            Status::Pass,
            format!("p={}", policy_name(&d.p)),
        )),
        Policy::None => out.push(Finding::new(
            Status::Warn,
            "p=none: failing mail is only reported, never refused",
        )),
        Policy::Unspecified => out.push(Finding::new(
            Status::Fail,
            "no p= tag: the record is not a policy (RFC 7489 §6.3)",
        )),
    }
    if d.sp == Policy::None && d.p != Policy::None {
        out.push(Finding::new(
            Status::Warn,
            "sp=none: subdomains are not protected",
        ));
    }
    if d.t {
        out.push(Finding::new(
            Status::Warn,
            "t=y: the policy is in testing mode",
        ));
    }
    let (rua, _) = report_addresses(d);
    if rua.is_empty() {
        out.push(Finding::new(
            Status::Warn,
            "no rua=: the domain gets no aggregate reports",
        ));
    }
    for (host, ok) in authorised {
        if !ok {
            out.push(Finding::new(
                Status::Warn,
                format!(
                    "reports to {host} are not authorised by a _report._dmarc record there, so receivers will not send them"
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_record_and_its_policy() {
        let txts = vec!["v=DMARC1; p=reject; rua=mailto:d@example.org".to_string()];
        let d = parse(select(&txts).unwrap().unwrap()).unwrap();
        let findings = judge(&d, &[]);
        assert!(
            findings.iter().all(|f| f.status == Status::Pass),
            "{findings:?}"
        );
    }

    #[test]
    fn p_none_and_missing_reports_warn() {
        let d = parse("v=DMARC1; p=none").unwrap();
        let findings = judge(&d, &[]);
        assert!(findings.iter().any(|f| f.reason.starts_with("p=none")));
        assert!(findings.iter().any(|f| f.reason.contains("rua")));
    }

    #[test]
    fn several_records_are_an_error() {
        let txts = vec![
            "v=DMARC1; p=none".to_string(),
            "v=DMARC1; p=reject".to_string(),
        ];
        assert!(select(&txts).is_err());
    }

    #[test]
    fn external_report_domains_need_authorisation() {
        let d = parse(
            "v=DMARC1; p=quarantine; rua=mailto:a@example.org,mailto:b@reports.vendor.example; ruf=mailto:c@mail.example.org",
        )
        .unwrap();
        assert_eq!(
            external_report_domains(&d, "sub.example.org"),
            ["reports.vendor.example"]
        );
        let findings = judge(&d, &[("reports.vendor.example".into(), false)]);
        assert!(
            findings
                .iter()
                .any(|f| f.status == Status::Warn && f.reason.contains("not authorised"))
        );
    }
}
