//! The judgements of `smtpx check`: each rule reads collected facts and says pass, warn
//! or fail with a short reason. No I/O, so every rule is table-tested.

use serde::Serialize;

use super::facts::{Ending, HostFacts, PtrLookup, TurnFacts};
use crate::net::tls::Verification;
use crate::outcome::{ExitCode, FailureKind, Phase};
use crate::policy::tls_policy::HostPolicy;
use crate::session::open::TlsMode;
use crate::smtp::vrfy::Meaning;
use crate::smtp::{Capabilities, Capability, ReplyClass, SizeLimit};

/// A certificate expiring sooner than this is a warning: renewal is overdue.
pub const EXPIRY_WARN_DAYS: i64 = 14;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Pass,
    Warn,
    Fail,
}

impl Level {
    pub fn word(self) -> &'static str {
        match self {
            Level::Pass => "pass",
            Level::Warn => "warn",
            Level::Fail => "fail",
        }
    }
}

/// One line of the verdict list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub level: Level,
    /// What was judged: "starttls", "certificate", "reverse-dns", ...
    pub topic: &'static str,
    pub reason: String,
}

fn verdict(level: Level, topic: &'static str, reason: impl Into<String>) -> Verdict {
    Verdict {
        level,
        topic,
        reason: reason.into(),
    }
}

/// Every rule, in the order the list is shown.
pub fn verdicts(facts: &HostFacts) -> Vec<Verdict> {
    if let Some(why) = &facts.unusable {
        return vec![verdict(
            Level::Fail,
            "dns",
            format!("{} has no usable address: {why}", facts.host),
        )];
    }
    let mut out = Vec::new();
    out.extend(greeting(facts));
    out.extend(ehlo(facts));
    out.extend(starttls(facts));
    out.extend(certificate(facts));
    out.extend(tls_policy(facts));
    out.extend(auth(facts));
    out.extend(size(facts));
    out.extend(reverse_dns(facts));
    out.extend(vrfy_expn(facts));
    out.extend(turn(facts));
    out.extend(relay(facts));
    out.extend(session(facts));
    out
}

/// 0 when nothing failed; 7 when a check failed on a server that answered EHLO; the
/// usual code of what stopped us when it never got that far.
pub fn exit_code(facts: &HostFacts, verdicts: &[Verdict]) -> ExitCode {
    if facts.unusable.is_some() {
        return ExitCode::Dns;
    }
    if !facts.open.reached() {
        return facts
            .ended
            .as_ref()
            .map_or(ExitCode::Other, Ending::exit_code);
    }
    if verdicts.iter().any(|v| v.level == Level::Fail) {
        ExitCode::Permanent
    } else {
        ExitCode::Success
    }
}

/// The certificate the host presented, held against its domain's TLS policy (RFC 7672
/// DANE, RFC 8461 MTA-STS): what a sending MTA would conclude.
fn tls_policy(facts: &HostFacts) -> Option<Verdict> {
    let policy = facts.tls_policy.as_ref()?;
    let kind = policy.kind().as_str();
    let topic = "tls-policy";
    if let HostPolicy::Refused { why, .. } = policy {
        return Some(verdict(Level::Fail, topic, format!("{kind}: {why}")));
    }
    if let HostPolicy::Opportunistic { why } = policy {
        return Some(verdict(
            Level::Pass,
            topic,
            format!("no policy applies ({why})"),
        ));
    }
    let Some(tls) = facts.open.tls.as_ref() else {
        let level = if policy.requires_tls() {
            Level::Fail
        } else {
            Level::Warn
        };
        return Some(verdict(
            level,
            topic,
            format!("{kind} requires TLS, and no TLS session was established"),
        ));
    };
    Some(match policy {
        HostPolicy::Dane { records, .. } => {
            match crate::net::tls::dane::authenticate(&tls.der_chain, records, &facts.host) {
                Ok(how) => verdict(Level::Pass, topic, format!("DANE: {how}")),
                Err(why) => verdict(
                    Level::Fail,
                    topic,
                    format!("DANE: {why}; senders using DANE will not deliver"),
                ),
            }
        }
        HostPolicy::DaneEncrypt { .. } => verdict(
            Level::Warn,
            topic,
            "DANE: TLS works, but no usable TLSA record authenticates it",
        ),
        HostPolicy::MtaSts {
            pattern, enforce, ..
        } => match (tls.verification.problem(), enforce) {
            (None, _) => verdict(
                Level::Pass,
                topic,
                format!(
                    "MTA-STS: the certificate is WebPKI-valid for {} (policy mx {pattern})",
                    facts.host
                ),
            ),
            (Some(why), true) => verdict(
                Level::Fail,
                topic,
                format!("MTA-STS enforce: {why}; senders will not deliver"),
            ),
            (Some(why), false) => verdict(
                Level::Warn,
                topic,
                format!("MTA-STS testing: {why}; enforce mode would stop delivery"),
            ),
        },
        HostPolicy::Opportunistic { .. } | HostPolicy::Refused { .. } => return None,
    })
}

fn greeting(facts: &HostFacts) -> Option<Verdict> {
    let reply = facts.open.greeting.as_ref()?;
    Some(if reply.code.value() == 220 {
        let name = facts.open.banner_name().unwrap_or("(no name)");
        verdict(Level::Pass, "greeting", format!("220 greeting from {name}"))
    } else {
        verdict(
            Level::Fail,
            "greeting",
            format!("the greeting was {} {}", reply.code, reply.lines.join(" ")),
        )
    })
}

fn ehlo(facts: &HostFacts) -> Option<Verdict> {
    let open = &facts.open;
    let ehlo = open.ehlo.as_ref()?;
    if ehlo.reply.is_positive() {
        let n = Capabilities::from_ehlo(&ehlo.reply).entries.len();
        return Some(verdict(
            Level::Pass,
            "ehlo",
            format!("EHLO accepted, {n} extension(s) offered"),
        ));
    }
    let helo_ok = open.helo.as_ref().is_some_and(|h| h.reply.is_positive());
    Some(if helo_ok {
        verdict(
            Level::Warn,
            "ehlo",
            format!(
                "EHLO refused ({}); HELO only: no extensions, so no STARTTLS (RFC 5321 §4.1.4)",
                ehlo.reply.code
            ),
        )
    } else {
        verdict(
            Level::Fail,
            "ehlo",
            format!(
                "EHLO refused: {} {}",
                ehlo.reply.code,
                ehlo.reply.lines.join(" ")
            ),
        )
    })
}

fn starttls(facts: &HostFacts) -> Vec<Verdict> {
    let open = &facts.open;
    let mut out = Vec::new();
    if open.implicit_tls {
        if let Some(tls) = &open.tls {
            out.push(verdict(
                Level::Pass,
                "tls",
                format!("implicit TLS (RFC 8314): {}, {}", tls.protocol, tls.cipher),
            ));
        }
        return out;
    }
    let Some(plain) = open.plaintext_capabilities() else {
        return out;
    };
    if !plain.starttls() {
        out.push(verdict(
            Level::Fail,
            "starttls",
            "no STARTTLS: mail to this server travels in clear text (RFC 3207)",
        ));
        return out;
    }
    match (&open.starttls, &open.tls) {
        (None, _) if facts.tls_mode == TlsMode::Off => out.push(verdict(
            Level::Pass,
            "starttls",
            "STARTTLS offered (not tried: --tls none)",
        )),
        (None, _) => {}
        (Some(a), _) if a.reply.code.value() != 220 => out.push(verdict(
            Level::Fail,
            "starttls",
            format!(
                "STARTTLS offered but refused: {} {}",
                a.reply.code,
                a.reply.lines.join(" ")
            ),
        )),
        (Some(_), Some(tls)) => out.push(verdict(
            Level::Pass,
            "starttls",
            format!("STARTTLS works: {}, {}", tls.protocol, tls.cipher),
        )),
        (Some(_), None) => {
            let why = facts
                .ended
                .as_ref()
                .map_or("no handshake".to_string(), Ending::describe);
            out.push(verdict(
                Level::Fail,
                "starttls",
                format!("STARTTLS accepted but TLS failed {why}"),
            ));
        }
    }
    if open.tls_capabilities().is_some_and(|c| c.starttls()) {
        out.push(verdict(
            Level::Warn,
            "after-tls",
            "STARTTLS offered again inside TLS (RFC 3207 §4.2 forbids it)",
        ));
    }
    out
}

fn dane_authenticated(facts: &HostFacts, tls: &crate::net::tls::TlsInfo) -> bool {
    match &facts.tls_policy {
        Some(HostPolicy::Dane { records, .. }) => {
            crate::net::tls::dane::authenticate(&tls.der_chain, records, &facts.host).is_ok()
        }
        _ => false,
    }
}

fn certificate(facts: &HostFacts) -> Vec<Verdict> {
    let Some(tls) = &facts.open.tls else {
        return Vec::new();
    };
    let mut out = vec![match &tls.verification {
        Verification::Verified | Verification::Skipped { would_fail: None } => {
            verdict(Level::Pass, "certificate", "certificate verified")
        }
        // RFC 7672 §3.1.1: DANE authenticates an MX host without WebPKI.
        Verification::Failed { reason } if dane_authenticated(facts, tls) => verdict(
            Level::Pass,
            "certificate",
            format!("certificate not WebPKI-verified ({reason}), but DANE authenticates it"),
        ),
        Verification::Failed { reason } => verdict(
            Level::Fail,
            "certificate",
            format!("certificate not verified: {reason}"),
        ),
        Verification::Skipped {
            would_fail: Some(reason),
        } => verdict(
            Level::Fail,
            "certificate",
            format!("certificate would not verify (checked despite --tls-no-verify): {reason}"),
        ),
    }];
    if let Some(leaf) = tls.chain.first().filter(|c| !c.not_after.is_empty()) {
        let days = leaf.days_left;
        let date = leaf.not_after.get(..10).unwrap_or(&leaf.not_after);
        out.push(if days < 0 {
            verdict(
                Level::Fail,
                "expiry",
                format!("certificate expired {} day(s) ago ({date})", -days),
            )
        } else if days < EXPIRY_WARN_DAYS {
            verdict(
                Level::Warn,
                "expiry",
                format!("certificate expires in {days} day(s) ({date}): renew it"),
            )
        } else {
            verdict(
                Level::Pass,
                "expiry",
                format!("certificate valid for {days} more days ({date})"),
            )
        });
    }
    out
}

fn auth(facts: &HostFacts) -> Option<Verdict> {
    let plain = facts
        .open
        .plaintext_capabilities()
        .map(|c| c.auth_mechanisms())
        .unwrap_or_default();
    let tls = facts
        .open
        .tls_capabilities()
        .map(|c| c.auth_mechanisms())
        .unwrap_or_default();
    if !plain.is_empty() {
        return Some(verdict(
            Level::Warn,
            "auth",
            format!(
                "AUTH {} offered without TLS: passwords could cross the network in clear text (RFC 4954 §4)",
                plain.join(" ")
            ),
        ));
    }
    (!tls.is_empty()).then(|| {
        verdict(
            Level::Pass,
            "auth",
            format!("AUTH {} offered only inside TLS", tls.join(" ")),
        )
    })
}

fn size(facts: &HostFacts) -> Option<Verdict> {
    let caps = facts.open.final_capabilities()?;
    if caps.size() != Some(SizeLimit::Unparseable) {
        return None;
    }
    let value = caps
        .get("SIZE")
        .map(|c| c.params.join(" "))
        .unwrap_or_default();
    Some(verdict(
        Level::Warn,
        "size",
        format!("SIZE value '{value}' is not a number smtpx can read (RFC 1870 §3: 1*DIGIT)"),
    ))
}

fn same_name(a: &str, b: &str) -> bool {
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
}

fn reverse_dns(facts: &HostFacts) -> Option<Verdict> {
    let rev = facts.reverse.as_ref()?;
    let ip = rev.ip;
    let names = match &rev.lookup {
        PtrLookup::Missing => {
            return Some(verdict(
                Level::Warn,
                "reverse-dns",
                format!("{ip} has no PTR record: many receivers distrust such hosts"),
            ));
        }
        PtrLookup::Failed(why) => {
            return Some(verdict(
                Level::Warn,
                "reverse-dns",
                format!("PTR lookup for {ip} failed: {why}"),
            ));
        }
        PtrLookup::Names(_) => rev.names(),
    };
    let confirmed = rev.confirmed();
    if confirmed.is_empty() {
        return Some(verdict(
            Level::Warn,
            "reverse-dns",
            format!(
                "PTR {} does not resolve back to {ip} (no forward-confirmed reverse DNS)",
                names.join(", ")
            ),
        ));
    }
    let announced: Vec<&str> = [facts.open.banner_name(), facts.open.ehlo_name()]
        .into_iter()
        .flatten()
        .collect();
    if let Some(name) = confirmed
        .iter()
        .find(|n| announced.iter().any(|a| same_name(n, a)))
    {
        return Some(verdict(
            Level::Pass,
            "reverse-dns",
            format!("{ip} -> {name} -> {ip}, and the server calls itself {name}"),
        ));
    }
    let announced = if announced.is_empty() {
        "no name".to_string()
    } else {
        let mut uniq: Vec<&str> = Vec::new();
        for a in announced {
            if !uniq.iter().any(|u| same_name(u, a)) {
                uniq.push(a);
            }
        }
        uniq.join(" / ")
    };
    Some(verdict(
        Level::Warn,
        "reverse-dns",
        format!(
            "PTR {} is forward-confirmed but does not match the name the server announces ({announced})",
            confirmed.join(", ")
        ),
    ))
}

fn vrfy_expn(facts: &HostFacts) -> Vec<Verdict> {
    let mut out = Vec::new();
    if let Some(a) = &facts.probes.vrfy {
        let code = a.reply.code;
        out.push(match Meaning::of(&a.reply) {
            Meaning::Verified | Meaning::Unknown => verdict(
                Level::Warn,
                "vrfy",
                format!("VRFY answers whether addresses exist ({code}): a harvesting aid (RFC 5321 §7.3)"),
            ),
            Meaning::CannotVerify => verdict(
                Level::Pass,
                "vrfy",
                format!("VRFY answered {code}: confirms nothing"),
            ),
            Meaning::Disabled => verdict(Level::Pass, "vrfy", format!("VRFY disabled ({code})")),
            _ => verdict(Level::Pass, "vrfy", format!("VRFY refused ({code})")),
        });
    }
    if let Some(a) = &facts.probes.expn {
        let code = a.reply.code;
        out.push(match Meaning::of(&a.reply) {
            Meaning::Verified => verdict(
                Level::Warn,
                "expn",
                format!("EXPN expands lists ({code}): it reveals their members (RFC 5321 §7.3)"),
            ),
            Meaning::Disabled => verdict(Level::Pass, "expn", format!("EXPN disabled ({code})")),
            _ => verdict(
                Level::Pass,
                "expn",
                format!("EXPN does not expand ({code})"),
            ),
        });
    }
    out
}

fn turn(facts: &HostFacts) -> Option<Verdict> {
    Some(match facts.probes.turn.as_ref()? {
        TurnFacts::Answered(a) if a.reply.is_positive() => verdict(
            Level::Fail,
            "turn",
            format!(
                "TURN accepted ({}): the server would swap roles and hand its mail to an unauthenticated client (RFC 5321 Appendix F.1)",
                a.reply.code
            ),
        ),
        TurnFacts::Answered(a) => verdict(
            Level::Pass,
            "turn",
            format!("TURN refused ({})", a.reply.code),
        ),
        TurnFacts::Closed(_) => verdict(
            Level::Pass,
            "turn",
            "TURN not accepted: the server closed the connection",
        ),
    })
}

fn relay(facts: &HostFacts) -> Option<Verdict> {
    let r = facts.probes.relay.as_ref()?;
    let words = |a: &super::facts::Answer| format!("{} {}", a.reply.code, a.reply.lines.join(" "));
    Some(match &r.rcpt {
        None => verdict(
            Level::Warn,
            "relay",
            format!(
                "relay test inconclusive: MAIL FROM:<{}> was refused ({}); try --relay-from with a sender it accepts",
                r.from,
                words(&r.mail)
            ),
        ),
        Some(a) => match a.reply.class() {
            ReplyClass::Positive => verdict(
                Level::Fail,
                "relay",
                format!(
                    "open relay: RCPT TO:<{}> from <{}> accepted ({})",
                    r.to, r.from, a.reply.code
                ),
            ),
            ReplyClass::PermanentNegative => verdict(
                Level::Pass,
                "relay",
                format!("relaying refused at RCPT ({})", words(a)),
            ),
            _ => verdict(
                Level::Warn,
                "relay",
                format!("relay test inconclusive: RCPT answered {}", words(a)),
            ),
        },
    })
}

/// A session that broke off after EHLO. TLS failures are judged by the STARTTLS rule.
fn session(facts: &HostFacts) -> Option<Verdict> {
    let ending = facts.ended.as_ref()?;
    if !facts.open.reached() || matches!(ending.phase(), Phase::Starttls | Phase::TlsHandshake) {
        return None;
    }
    if let Ending::Failed(f) = ending
        && f.kind == FailureKind::Tls
    {
        return None;
    }
    Some(verdict(
        Level::Fail,
        "session",
        format!("the session ended early {}", ending.describe()),
    ))
}

/// What an EHLO keyword means, in a few words with its RFC.
pub fn meaning(cap: &Capability) -> String {
    let params = cap.params.join(" ");
    match cap.keyword.as_str() {
        "SIZE" => match cap.size_limit() {
            SizeLimit::Bytes(n) => format!("messages up to {} (RFC 1870)", human_bytes(n)),
            SizeLimit::Unparseable => format!("unreadable size limit '{params}' (RFC 1870)"),
            SizeLimit::Unlimited => "message size declarations, no fixed limit (RFC 1870)".into(),
        },
        "PIPELINING" => "commands may be sent in batches (RFC 2920)".into(),
        "STARTTLS" => "upgrade to TLS (RFC 3207)".into(),
        "AUTH" => format!("authentication: {params} (RFC 4954)"),
        k if k.starts_with("AUTH=") => {
            format!("authentication, pre-standard form: {} {params}", &k[5..])
        }
        "8BITMIME" => "8-bit message bodies (RFC 6152)".into(),
        "SMTPUTF8" => "UTF-8 addresses and headers (RFC 6531)".into(),
        "CHUNKING" => "BDAT chunks, no dot-stuffing (RFC 3030)".into(),
        "BINARYMIME" => "binary bodies with BDAT (RFC 3030)".into(),
        "DSN" => "delivery status notifications (RFC 3461)".into(),
        "ENHANCEDSTATUSCODES" => "enhanced status codes such as 5.1.1 (RFC 2034)".into(),
        "REQUIRETLS" => "mail can demand TLS on every hop (RFC 8689)".into(),
        "VRFY" => "address verification (RFC 5321 §3.5)".into(),
        "EXPN" => "mailing list expansion (RFC 5321 §3.5)".into(),
        "HELP" => "help text (RFC 5321 §4.1.1.8)".into(),
        "ETRN" => "remote queue start (RFC 1985)".into(),
        "ATRN" => "authenticated TURN (RFC 2645)".into(),
        "DELIVERBY" => "delivery deadline (RFC 2852)".into(),
        "MT-PRIORITY" => "message priorities (RFC 6710)".into(),
        "FUTURERELEASE" => "delayed release (RFC 4865)".into(),
        "NO-SOLICITING" => "no-soliciting keywords (RFC 3865)".into(),
        "MTRK" => "message tracking (RFC 3885)".into(),
        "BURL" => "submission from IMAP URLs (RFC 4468)".into(),
        "LIMITS" => format!("server limits: {params} (RFC 9422)"),
        "XCLIENT" | "XFORWARD" => "Postfix proxy attributes (not for general clients)".into(),
        _ => "unknown to smtpx".into(),
    }
}

/// Bytes with binary units for people: `10240000 bytes (9.8 MiB)`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{n} bytes ({value:.1} {})", UNITS[unit])
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
