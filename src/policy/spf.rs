//! SPF (RFC 7208) as a domain owner needs it judged: one record, at most 10 terms that
//! cost DNS lookups (§4.6.4), at most 2 of them void, and an `all` that does not let
//! the whole Internet pass. The record syntax is mail-auth's parser.

use mail_auth::common::parse::TxtRecordParser;
use mail_auth::spf::{Macro, Mechanism, Qualifier, Spf};

use super::verdict::{Finding, Status};

/// RFC 7208 §4.6.4.
pub const MAX_LOOKUPS: usize = 10;
pub const MAX_VOID_LOOKUPS: usize = 2;

/// The SPF record among a name's TXT records: those starting `v=spf1` followed by a
/// space or the end (§4.5). More than one is a permanent error.
pub fn select(txts: &[String]) -> Result<Option<&str>, String> {
    let ours: Vec<&String> = txts
        .iter()
        .filter(|t| {
            let lower = t.to_ascii_lowercase();
            lower == "v=spf1" || lower.starts_with("v=spf1 ")
        })
        .collect();
    match ours.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.as_str())),
        many => Err(format!(
            "{} SPF records: receivers return permerror (RFC 7208 §4.5)",
            many.len()
        )),
    }
}

pub fn parse(record: &str) -> Result<Spf, String> {
    Spf::parse(record.as_bytes()).map_err(|e| format!("not valid SPF: {e}"))
}

/// A term that makes a receiver query DNS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LookupTerm {
    /// `include`, `a`, `mx`, `ptr`, `exists` or `redirect`.
    pub kind: &'static str,
    /// The domain asked, when it is literal text; `None` when it holds macros, which
    /// depend on the message and cannot be followed here.
    pub target: Option<String>,
}

/// Every term of `spf` that costs a DNS lookup, in record order (redirect last, as it
/// is evaluated last). `domain` stands for terms without a domain of their own.
pub fn lookup_terms(spf: &Spf, domain: &str) -> Vec<LookupTerm> {
    let mut terms = Vec::new();
    for directive in spf.directives.iter() {
        let (kind, m) = match &directive.mechanism {
            Mechanism::Include { macro_string } => ("include", macro_string),
            Mechanism::A { macro_string, .. } => ("a", macro_string),
            Mechanism::Mx { macro_string, .. } => ("mx", macro_string),
            Mechanism::Ptr { macro_string } => ("ptr", macro_string),
            Mechanism::Exists { macro_string } => ("exists", macro_string),
            Mechanism::All | Mechanism::Ip4 { .. } | Mechanism::Ip6 { .. } => continue,
        };
        terms.push(LookupTerm {
            kind,
            target: literal(m, domain),
        });
    }
    if let Some(m) = &spf.redirect {
        terms.push(LookupTerm {
            kind: "redirect",
            target: literal(m, domain),
        });
    }
    terms
}

fn literal(m: &Macro, domain: &str) -> Option<String> {
    match m {
        Macro::None => Some(domain.to_owned()),
        Macro::Literal(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        _ => None,
    }
}

/// The qualifier of the record's `all`, if it has one.
pub fn all_qualifier(spf: &Spf) -> Option<&'static str> {
    spf.directives
        .iter()
        .find(|d| d.mechanism == Mechanism::All)
        .map(|d| match d.qualifier {
            Qualifier::Pass => "+all",
            Qualifier::Fail => "-all",
            Qualifier::SoftFail => "~all",
            Qualifier::Neutral => "?all",
        })
}

/// What following a domain's SPF record through its includes and redirects found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Walk {
    /// Terms costing a DNS lookup, over the whole tree.
    pub lookups: usize,
    /// Lookups that found nothing (NXDOMAIN or no records).
    pub void_lookups: usize,
    /// The top record's `all` (or the one a redirect leads to).
    pub all: Option<&'static str>,
    pub uses_ptr: bool,
    /// Terms with macros, not followed.
    pub macros: usize,
    /// Permanent errors met on the way (an include without SPF, a loop, bad syntax).
    pub errors: Vec<String>,
}

/// The verdicts on a walk (§4.6.4, §5.1, §5.5).
pub fn judge(walk: &Walk) -> Vec<Finding> {
    let mut out = Vec::new();
    for e in &walk.errors {
        out.push(Finding::new(Status::Fail, e.clone()));
    }
    if walk.lookups > MAX_LOOKUPS {
        out.push(Finding::new(
            Status::Fail,
            format!(
                "{} DNS lookups, over the limit of {MAX_LOOKUPS}: receivers return permerror",
                walk.lookups
            ),
        ));
    } else {
        out.push(Finding::new(
            Status::Pass,
            format!("{} of {MAX_LOOKUPS} DNS lookups", walk.lookups),
        ));
    }
    if walk.void_lookups > MAX_VOID_LOOKUPS {
        out.push(Finding::new(
            Status::Fail,
            format!(
                "{} void lookups, over the limit of {MAX_VOID_LOOKUPS}",
                walk.void_lookups
            ),
        ));
    }
    match walk.all {
        Some("+all") => out.push(Finding::new(
            Status::Fail,
            "+all lets every host on the Internet pass",
        )),
        Some("?all") => out.push(Finding::new(
            Status::Warn,
            "?all: hosts not listed are neutral, not refused",
        )),
        Some(q) => out.push(Finding::new(Status::Pass, format!("ends with {q}"))),
        None => out.push(Finding::new(
            Status::Warn,
            "no all: hosts not listed are neutral, not refused",
        )),
    }
    if walk.uses_ptr {
        out.push(Finding::new(
            Status::Warn,
            "ptr is slow and unreliable; RFC 7208 §5.5 says not to use it",
        ));
    }
    if walk.macros > 0 {
        out.push(Finding::new(
            Status::Info,
            format!("{} terms with macros were not followed", walk.macros),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txts(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn exactly_one_record_counts() {
        assert_eq!(
            select(&txts(&["google-site-verification=x", "v=spf1 -all"])),
            Ok(Some("v=spf1 -all"))
        );
        assert_eq!(select(&txts(&["v=spf10 -all"])), Ok(None));
        assert!(select(&txts(&["v=spf1 -all", "V=SPF1 ~all"])).is_err());
    }

    #[test]
    fn lookup_terms_in_order_with_redirect_last() {
        let spf = parse("v=spf1 redirect=_spf.example.net a mx:mx.example.org ip4:192.0.2.1 include:_spf.example.com exists:%{i}.bl.example ptr -all").unwrap();
        let kinds: Vec<&str> = lookup_terms(&spf, "example.org")
            .iter()
            .map(|t| t.kind)
            .collect();
        assert_eq!(kinds, ["a", "mx", "include", "exists", "ptr", "redirect"]);
        let terms = lookup_terms(&spf, "example.org");
        assert_eq!(terms[0].target.as_deref(), Some("example.org"));
        assert_eq!(terms[1].target.as_deref(), Some("mx.example.org"));
        assert_eq!(terms[3].target, None);
        assert_eq!(all_qualifier(&spf), Some("-all"));
    }

    #[test]
    fn judgements() {
        let fine = Walk {
            lookups: 3,
            all: Some("-all"),
            ..Walk::default()
        };
        assert!(judge(&fine).iter().all(|f| f.status == Status::Pass));
        let too_many = Walk {
            lookups: 11,
            all: Some("~all"),
            ..Walk::default()
        };
        assert!(
            judge(&too_many)
                .iter()
                .any(|f| f.status == Status::Fail && f.reason.contains("11 DNS lookups"))
        );
        let open = Walk {
            all: Some("+all"),
            ..Walk::default()
        };
        assert!(judge(&open).iter().any(|f| f.status == Status::Fail));
        let void = Walk {
            void_lookups: 3,
            all: Some("-all"),
            ..Walk::default()
        };
        assert!(judge(&void).iter().any(|f| f.reason.contains("void")));
        let neutral = Walk::default();
        assert!(judge(&neutral).iter().any(|f| f.status == Status::Warn));
    }
}
