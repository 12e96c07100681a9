//! How `smtpx size` reads: the advertised limit, each probe with its reply, and what
//! they add up to.

use std::net::SocketAddr;

use serde_json::{Value, json};

use super::outcome::reply_json;
use super::text::escape_controls;
use crate::diagnosis::rules::human_bytes;
use crate::smtp::size_probe::{CEILING, FLOOR, LimitCheck, SearchResult};
use crate::smtp::{Reply, SizeLimit};

/// One `MAIL FROM:<...> SIZE=n` and its reply.
#[derive(Clone, Debug)]
pub struct SizeProbe {
    pub declared: u64,
    pub reply: Reply,
}

/// What `smtpx size` found on one server.
#[derive(Clone, Debug, Default)]
pub struct SizeReport {
    pub host: Option<String>,
    pub peer: Option<SocketAddr>,
    /// None when the server does not offer SIZE at all.
    pub advertised: Option<SizeLimit>,
    /// The SIZE keyword's parameter as the server wrote it.
    pub value: Option<String>,
    pub probes: Vec<SizeProbe>,
    /// At the advertised limit and one over.
    pub check: Option<LimitCheck>,
    /// `--probe` with no stated limit.
    pub search: Option<SearchResult>,
}

fn row(label: &str, value: &str) -> String {
    format!("{label:<15}{value}")
}

pub fn lines(r: &SizeReport) -> Vec<String> {
    let mut out = Vec::new();
    let host = r.host.as_deref().map(escape_controls).unwrap_or_default();
    let peer = r.peer.map(|p| format!(" ({p})")).unwrap_or_default();
    out.push(row("server", &format!("{host}{peer}")));
    out.push(row("advertised", &advertised(r)));
    for p in &r.probes {
        let verdict = if p.reply.is_positive() {
            "accepted"
        } else {
            "refused"
        };
        out.push(row(
            "probe",
            &format!(
                "SIZE={:<26} {verdict:<9} {}",
                size_words(p.declared),
                escape_controls(&format!("{} {}", p.reply.code, p.reply.lines.join(" ")))
            ),
        ));
    }
    out.push(row("result", &result_words(r)));
    out
}

fn size_words(n: u64) -> String {
    let h = human_bytes(n);
    // "1024 bytes (1.0 KiB)" -> "1024 (1.0 KiB)": the unit is clear from SIZE=.
    h.replacen(" bytes", "", 1)
}

fn advertised(r: &SizeReport) -> String {
    match r.advertised {
        None => "no SIZE extension: the server states no limit and takes no SIZE=".into(),
        Some(SizeLimit::Bytes(n)) => format!("SIZE {n}: messages up to {}", human_bytes(n)),
        Some(SizeLimit::Unlimited) => {
            let v = r.value.as_deref().filter(|v| !v.is_empty()).unwrap_or("");
            format!("SIZE {v}: no fixed limit stated (RFC 1870 §3)").replace("SIZE :", "SIZE:")
        }
        Some(SizeLimit::Unparseable) => format!(
            "SIZE '{}': not a number smtpx can read (RFC 1870 §3: 1*DIGIT)",
            escape_controls(r.value.as_deref().unwrap_or(""))
        ),
    }
}

/// The outcome in one sentence.
pub fn headline(r: &SizeReport) -> String {
    let host = r.host.as_deref().map(escape_controls).unwrap_or_default();
    format!("{host}: {}", result_words(r))
}

fn result_words(r: &SizeReport) -> String {
    if let Some(check) = r.check {
        let n = match r.advertised {
            Some(SizeLimit::Bytes(n)) => n,
            _ => 0,
        };
        return match check {
            LimitCheck::Enforced => format!("limit {n} enforced at MAIL, as advertised"),
            LimitCheck::NotEnforcedAtMail => format!(
                "SIZE={} over the advertised {n} was accepted at MAIL; the limit may still apply after DATA",
                n.saturating_add(1)
            ),
            LimitCheck::RefusesItsOwnLimit => format!(
                "a declaration of exactly the advertised {n} was refused (see the reply: the refusal may not be about size)"
            ),
        };
    }
    if let Some(search) = r.search {
        return match search {
            SearchResult::NoLimitUpTo(n) => {
                format!(
                    "accepted a declaration of {}: no limit enforced at MAIL",
                    human_bytes(n)
                )
            }
            SearchResult::RefusedAtFloor(n) => {
                format!("refused even SIZE={n}: the refusals are not about size (see the replies)")
            }
            SearchResult::Between { accepted, refused } if refused == accepted + 1 => {
                format!("largest accepted declaration: {}", human_bytes(accepted))
            }
            SearchResult::Between { accepted, refused } => format!(
                "largest accepted declaration: between {} and {} ({} probes)",
                human_bytes(accepted),
                human_bytes(refused - 1),
                r.probes.len()
            ),
            SearchResult::Inconsistent => {
                "inconsistent answers: the server does not decide by declared size alone".into()
            }
        };
    }
    match r.advertised {
        None => {
            "no SIZE extension, so nothing to probe (RFC 1870 §4: SIZE= only when offered)".into()
        }
        Some(SizeLimit::Bytes(_)) => "not probed".into(),
        Some(_) => format!(
            "no limit stated; --probe searches from {} to {} with at most 20 MAIL commands",
            human_bytes(FLOOR),
            human_bytes(CEILING)
        ),
    }
}

pub fn json(r: &SizeReport) -> Value {
    let advertised = match r.advertised {
        None => json!({"offered": false}),
        Some(SizeLimit::Bytes(n)) => json!({"offered": true, "limit": n, "value": r.value}),
        Some(SizeLimit::Unlimited) => json!({"offered": true, "limit": null, "value": r.value}),
        Some(SizeLimit::Unparseable) => {
            json!({"offered": true, "limit": null, "unreadable": true, "value": r.value})
        }
    };
    let search = r.search.map(|s| match s {
        SearchResult::NoLimitUpTo(n) => json!({"result": "no-limit", "accepted": n}),
        SearchResult::RefusedAtFloor(n) => json!({"result": "refused-at-floor", "refused": n}),
        SearchResult::Between { accepted, refused } => {
            json!({"result": "between", "accepted": accepted, "refused": refused})
        }
        SearchResult::Inconsistent => json!({"result": "inconsistent"}),
    });
    json!({
        "type": "size",
        "host": r.host,
        "peer": r.peer.map(|p| p.to_string()),
        "advertised": advertised,
        "probes": r.probes.iter().map(|p| json!({
            "declared": p.declared,
            "accepted": p.reply.is_positive(),
            "reply": reply_json(&p.reply),
        })).collect::<Vec<_>>(),
        "limit_check": r.check.map(|c| match c {
            LimitCheck::Enforced => "enforced",
            LimitCheck::NotEnforcedAtMail => "not-enforced-at-mail",
            LimitCheck::RefusesItsOwnLimit => "refuses-its-own-limit",
        }),
        "search": search,
        "result": result_words(r),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_enforced_limit() {
        let r = SizeReport {
            host: Some("mx.test".into()),
            peer: Some("127.0.0.1:25".parse().unwrap()),
            advertised: Some(SizeLimit::Bytes(1000)),
            value: Some("1000".into()),
            probes: vec![
                SizeProbe {
                    declared: 1000,
                    reply: Reply::new(250, &["2.1.0 Ok"]),
                },
                SizeProbe {
                    declared: 1001,
                    reply: Reply::new(552, &["5.3.4 too big"]),
                },
            ],
            check: Some(LimitCheck::Enforced),
            search: None,
        };
        let text = lines(&r).join("\n");
        assert!(
            text.contains("advertised     SIZE 1000: messages up to 1000 bytes"),
            "{text}"
        );
        assert!(
            text.contains("probe          SIZE=1000                       accepted  250 2.1.0 Ok"),
            "{text}"
        );
        assert!(text.contains("refused   552 5.3.4 too big"), "{text}");
        assert!(text.contains("limit 1000 enforced at MAIL"), "{text}");
        let j = json(&r);
        assert_eq!(j["advertised"]["limit"], 1000);
        assert_eq!(j["probes"][1]["accepted"], false);
        assert_eq!(j["limit_check"], "enforced");
    }

    #[test]
    fn unreadable_and_missing_limits() {
        let mut r = SizeReport {
            advertised: Some(SizeLimit::Unparseable),
            value: Some("99999999999999999999".into()),
            ..SizeReport::default()
        };
        assert!(lines(&r)[1].contains("'99999999999999999999': not a number"));
        assert!(result_words(&r).contains("--probe"));
        r.advertised = None;
        assert!(result_words(&r).contains("nothing to probe"));
        r.advertised = Some(SizeLimit::Unlimited);
        r.value = Some(String::new());
        assert_eq!(
            lines(&r)[1],
            "advertised     SIZE: no fixed limit stated (RFC 1870 §3)"
        );
    }
}
