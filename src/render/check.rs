//! How `smtpx check` reads: one screen per server, and the same as one JSON object.
//! Every string that came from the server or DNS is escaped before it is shown.

use crate::render::json_ms;
use std::time::Duration;

use serde_json::{Value, json};

use super::format_ms;
use super::outcome::reply_json;
use super::text::escape_controls;
use crate::diagnosis::facts::{Answer, PtrLookup, ReverseDns, TurnFacts};
use crate::diagnosis::rules::{Verdict, meaning};
use crate::diagnosis::{Ending, HostFacts};
use crate::smtp::{Capabilities, Capability, Reply};

/// Capability rows shown before the rest is left to `--json`: a hostile server may list
/// a thousand keywords.
const MAX_CAPABILITY_ROWS: usize = 40;
/// HELP lines shown.
const MAX_HELP_LINES: usize = 8;
/// Characters of one server-supplied value shown on a line.
const MAX_VALUE_CHARS: usize = 160;

/// The lines for one server.
pub fn lines(f: &HostFacts, verdicts: &[Verdict], timing: bool) -> Vec<String> {
    let mut out = Vec::new();
    let t = |d: Duration, what: &str| {
        if timing {
            format!(" ({what} {})", format_ms(d))
        } else {
            String::new()
        }
    };
    let pref = f
        .preference
        .map(|p| format!(", MX preference {p}"))
        .unwrap_or_default();
    let head = match f.open.peer {
        Some(p) if p.ip().to_string() == f.host => p.to_string(),
        Some(p) => format!("{} ({p})", clean(&f.host)),
        None => clean(&f.host),
    };
    out.push(format!("== check {head}{pref} =="));
    if let Some(why) = &f.unusable {
        out.push(row("address", &format!("none: {}", clean(why))));
        push_verdicts(&mut out, verdicts);
        return out;
    }
    for (addr, why) in &f.open.unreachable {
        out.push(row("unreachable", &format!("{addr}: {}", clean(why))));
    }
    let open = &f.open;
    if let (Some(peer), Some(took)) = (open.peer, open.connect_took) {
        out.push(row("connect", &format!("{peer}{}", t(took, "in"))));
    }
    if let Some(g) = &open.greeting {
        let after = open
            .greeting_after
            .map(|d| t(d, "after"))
            .unwrap_or_default();
        out.push(row("greeting", &format!("{}{after}", reply_words(g))));
    }
    if let Some(name) = open.banner_name() {
        out.push(row("banner name", &clean(name)));
    }
    if let Some(name) = open.ehlo_name() {
        out.push(row("EHLO name", &clean(name)));
    }
    if let Some(rev) = &f.reverse {
        out.push(row("reverse DNS", &reverse_words(rev)));
    }
    if let Some(h) = &open.helo {
        out.push(row("HELO", &reply_words(&h.reply)));
    }
    capability_block(&mut out, f);
    if let Some(tls) = &open.tls {
        let kx = tls
            .key_exchange
            .as_deref()
            .map(|k| format!(", {k}"))
            .unwrap_or_default();
        let hs = t(
            Duration::from_secs_f64(tls.handshake_ms / 1000.0),
            "handshake",
        );
        let how = if open.implicit_tls {
            "implicit TLS"
        } else {
            "STARTTLS"
        };
        out.push(row(
            "TLS",
            &format!("{how}: {}, {}{kx}{hs}", tls.protocol, tls.cipher),
        ));
        for (i, cert) in tls.chain.iter().enumerate() {
            out.push(format!("  certificate {i}  {}", clean(&cert.subject)));
            let left = if cert.days_left < 0 {
                format!("expired {} days ago", -cert.days_left)
            } else {
                format!("{} days left", cert.days_left)
            };
            out.push(format!(
                "                 issuer {}; valid until {} ({left})",
                clean(&cert.issuer),
                cert.not_after
            ));
        }
        out.push(format!(
            "  verification   {}",
            clean(&super::tls::verdict(&tls.verification))
        ));
    } else if let Some(a) = &open.starttls {
        out.push(row("STARTTLS", &reply_words(&a.reply)));
    }
    probe_rows(&mut out, f, &t);
    if let Some(ending) = &f.ended {
        out.push(row("ended", &clean(&ending_words(ending))));
    }
    if timing {
        let phases = timings(f);
        if !phases.is_empty() {
            let list: Vec<String> = phases
                .iter()
                .map(|(p, d)| format!("{p} {}", format_ms(*d)))
                .collect();
            out.push(row("timings", &list.join(", ")));
        }
    }
    push_verdicts(&mut out, verdicts);
    out
}

fn row(label: &str, value: &str) -> String {
    format!("{label:<15}{value}")
}

/// Escaped and cut to a readable length.
fn clean(s: &str) -> String {
    let escaped = escape_controls(s);
    if escaped.chars().count() > MAX_VALUE_CHARS {
        let cut: String = escaped.chars().take(MAX_VALUE_CHARS).collect();
        format!("{cut}...")
    } else {
        escaped
    }
}

fn reply_words(reply: &Reply) -> String {
    clean(&format!("{} {}", reply.code, reply.lines.join(" ")))
}

fn ending_words(ending: &Ending) -> String {
    ending.describe()
}

fn reverse_words(rev: &ReverseDns) -> String {
    match &rev.lookup {
        PtrLookup::Missing => format!("{}: no PTR record", rev.ip),
        PtrLookup::Failed(why) => format!("{}: lookup failed: {}", rev.ip, clean(why)),
        PtrLookup::Names(names) => {
            let parts: Vec<String> = names
                .iter()
                .map(|n| {
                    let forward = match &n.forward {
                        Ok(ips) if ips.is_empty() => "no address".to_string(),
                        Ok(ips) => ips
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", "),
                        Err(e) => clean(e),
                    };
                    let confirmed = n.forward.as_ref().is_ok_and(|ips| ips.contains(&rev.ip));
                    let mark = if confirmed {
                        "forward-confirmed"
                    } else {
                        "NOT forward-confirmed"
                    };
                    format!("{} -> {} -> {forward} ({mark})", rev.ip, clean(&n.name))
                })
                .collect();
            parts.join("; ")
        }
    }
}

fn capability_block(out: &mut Vec<String>, f: &HostFacts) {
    let open = &f.open;
    if let Some(plain) = open.plaintext_capabilities() {
        out.push(row("capabilities", "in plaintext"));
        capability_rows(out, &plain.entries, "");
        if let Some(tls) = open.tls_capabilities() {
            let changes = plain.changes_to(&tls);
            if changes.is_empty() {
                out.push(row("after TLS", "no change"));
            } else {
                out.push(row("after TLS", "changed:"));
                capability_rows(out, &changes.added, "+ ");
                capability_rows(out, &changes.removed, "- ");
                for (before, after) in changes.changed.iter().take(MAX_CAPABILITY_ROWS) {
                    out.push(format!("  ~ {} -> {}", cap_text(before), cap_text(after)));
                }
            }
        }
    } else if let Some(tls) = open.tls_capabilities() {
        out.push(row("capabilities", "inside TLS"));
        capability_rows(out, &tls.entries, "");
    }
}

fn cap_text(cap: &Capability) -> String {
    let mut text = cap.keyword.clone();
    if !cap.params.is_empty() {
        text.push(' ');
        text.push_str(&cap.params.join(" "));
    }
    clean(&text)
}

fn capability_rows(out: &mut Vec<String>, caps: &[Capability], mark: &str) {
    for cap in caps.iter().take(MAX_CAPABILITY_ROWS) {
        let text = format!("{mark}{}", cap_text(cap));
        out.push(format!("  {text:<26} {}", clean(&meaning(cap))));
    }
    if caps.len() > MAX_CAPABILITY_ROWS {
        out.push(format!(
            "  ... and {} more (all are in --json)",
            caps.len() - MAX_CAPABILITY_ROWS
        ));
    }
}

fn probe_rows(out: &mut Vec<String>, f: &HostFacts, t: &dyn Fn(Duration, &str) -> String) {
    let p = &f.probes;
    let simple = |label: &str, a: &Answer| row(label, &reply_words(&a.reply));
    if let Some(a) = &p.vrfy {
        out.push(simple("VRFY", a));
    }
    if let Some(a) = &p.expn {
        out.push(simple("EXPN", a));
    }
    if let Some(a) = &p.help {
        let mut lines = a.reply.lines.iter();
        let first = lines.next().map(|l| clean(l)).unwrap_or_default();
        out.push(row("HELP", &format!("{} {first}", a.reply.code)));
        for line in lines.by_ref().take(MAX_HELP_LINES - 1) {
            out.push(row("", &clean(line)));
        }
        let rest = a.reply.lines.len().saturating_sub(MAX_HELP_LINES);
        if rest > 0 {
            out.push(row("", &format!("... {rest} more line(s)")));
        }
    }
    if let Some(a) = &p.noop {
        out.push(row(
            "NOOP",
            &format!("{}{}", reply_words(&a.reply), t(a.took, "round trip")),
        ));
    }
    match &p.turn {
        Some(TurnFacts::Answered(a)) => out.push(simple("TURN", a)),
        Some(TurnFacts::Closed(why)) => out.push(row("TURN", &format!("closed: {}", clean(why)))),
        None => {}
    }
    match &p.relay {
        Some(r) => {
            out.push(row(
                "relay test",
                &format!(
                    "MAIL FROM:<{}> -> {}",
                    clean(&r.from),
                    reply_words(&r.mail.reply)
                ),
            ));
            if let Some(rcpt) = &r.rcpt {
                out.push(row(
                    "",
                    &format!("RCPT TO:<{}> -> {}", clean(&r.to), reply_words(&rcpt.reply)),
                ));
            }
        }
        None if f.open.reached() => out.push(row("relay test", "not run (--relay-test)")),
        None => {}
    }
}

/// Each phase and how long it took, in session order.
pub fn timings(f: &HostFacts) -> Vec<(&'static str, Duration)> {
    let open = &f.open;
    let mut v: Vec<(&'static str, Duration)> = Vec::new();
    let mut push = |name, d: Option<Duration>| {
        if let Some(d) = d {
            v.push((name, d));
        }
    };
    push("connect", open.connect_took);
    push("greeting", open.greeting_after);
    push("EHLO", open.ehlo.as_ref().map(|a| a.took));
    push("HELO", open.helo.as_ref().map(|a| a.took));
    push("STARTTLS", open.starttls.as_ref().map(|a| a.took));
    push(
        "TLS handshake",
        open.tls
            .as_ref()
            .map(|t| Duration::from_secs_f64(t.handshake_ms / 1000.0)),
    );
    push("EHLO in TLS", open.ehlo_after_tls.as_ref().map(|a| a.took));
    let p = &f.probes;
    push("VRFY", p.vrfy.as_ref().map(|a| a.took));
    push("EXPN", p.expn.as_ref().map(|a| a.took));
    push("HELP", p.help.as_ref().map(|a| a.took));
    push("NOOP", p.noop.as_ref().map(|a| a.took));
    if let Some(r) = &p.relay {
        push("relay MAIL", Some(r.mail.took));
        push("relay RCPT", r.rcpt.as_ref().map(|a| a.took));
    }
    if let Some(TurnFacts::Answered(a)) = &p.turn {
        push("TURN", Some(a.took));
    }
    push("reverse DNS", f.reverse.as_ref().map(|r| r.took));
    v
}

fn push_verdicts(out: &mut Vec<String>, verdicts: &[Verdict]) {
    out.push("verdicts".into());
    for v in verdicts {
        out.push(format!(
            "  {}  {:<12} {}",
            v.level.word(),
            v.topic,
            clean(&v.reason)
        ));
    }
}

/// The same as data: one `{"type": "check", ...}` object per server.
pub fn json(f: &HostFacts, verdicts: &[Verdict], timing: bool) -> Value {
    let open = &f.open;
    let caps =
        |c: Option<Capabilities>| c.map(|c| c.entries.iter().map(cap_json).collect::<Vec<_>>());
    let changes = match (open.plaintext_capabilities(), open.tls_capabilities()) {
        (Some(before), Some(after)) => {
            let d = before.changes_to(&after);
            json!({
                "added": d.added.iter().map(cap_json).collect::<Vec<_>>(),
                "removed": d.removed.iter().map(cap_json).collect::<Vec<_>>(),
                "changed": d.changed.iter().map(|(b, a)| json!({"keyword": a.keyword, "before": b.params, "after": a.params})).collect::<Vec<_>>(),
            })
        }
        _ => Value::Null,
    };
    let answer = |a: &Option<Answer>| a.as_ref().map(|a| answer_json(a, timing));
    let mut v = json!({
        "type": "check",
        "host": f.host,
        "preference": f.preference,
        "peer": open.peer.map(|p| p.to_string()),
        "reached": open.reached(),
        "unusable": f.unusable,
        "unreachable": open.unreachable.iter().map(|(a, why)| json!({"addr": a.to_string(), "reason": why})).collect::<Vec<_>>(),
        "greeting": open.greeting.as_ref().map(reply_json),
        "banner_name": open.banner_name(),
        "ehlo_name": open.ehlo_name(),
        "helo_fallback": open.helo.is_some(),
        "reverse_dns": f.reverse.as_ref().map(reverse_json),
        "capabilities": caps(open.plaintext_capabilities()),
        "starttls": answer(&open.starttls),
        "tls": open.tls.as_ref().map(|t| {
            let mut t = serde_json::to_value(t).unwrap_or(Value::Null);
            t["implicit"] = json!(open.implicit_tls);
            if !timing && let Some(o) = t.as_object_mut() {
                o.remove("handshake_ms");
            }
            t
        }),
        "capabilities_tls": caps(open.tls_capabilities()),
        "capability_changes": changes,
        "vrfy": answer(&f.probes.vrfy),
        "expn": answer(&f.probes.expn),
        "help": answer(&f.probes.help),
        "noop": answer(&f.probes.noop),
        "turn": f.probes.turn.as_ref().map(|t| match t {
            TurnFacts::Answered(a) => answer_json(a, timing),
            TurnFacts::Closed(why) => json!({"closed": why}),
        }),
        "relay": f.probes.relay.as_ref().map(|r| json!({
            "from": r.from,
            "to": r.to,
            "mail": answer_json(&r.mail, timing),
            "rcpt": r.rcpt.as_ref().map(|a| answer_json(a, timing)),
        })),
        "ended": f.ended.as_ref().map(Ending::describe),
        "tls_policy": f.tls_policy.as_ref().map(|p| json!({"policy": p.kind(), "detail": p.describe()})),
        "verdicts": verdicts,
    });
    if timing {
        let phases: serde_json::Map<String, Value> = timings(f)
            .into_iter()
            .map(|(p, d)| (p.to_string(), json!(json_ms(d))))
            .collect();
        v["timings_ms"] = Value::Object(phases);
    }
    v
}

fn cap_json(cap: &Capability) -> Value {
    json!({"keyword": cap.keyword, "params": cap.params, "meaning": meaning(cap)})
}

fn answer_json(a: &Answer, timing: bool) -> Value {
    let mut v = reply_json(&a.reply);
    if timing {
        v["ms"] = json!(json_ms(a.took));
    }
    v
}

fn reverse_json(rev: &ReverseDns) -> Value {
    let (status, error) = match &rev.lookup {
        PtrLookup::Names(_) => ("found", None),
        PtrLookup::Missing => ("missing", None),
        PtrLookup::Failed(why) => ("failed", Some(why.clone())),
    };
    let names: Vec<Value> = match &rev.lookup {
        PtrLookup::Names(names) => names
            .iter()
            .map(|n| match &n.forward {
                Ok(ips) => json!({"name": n.name, "addresses": ips}),
                Err(e) => json!({"name": n.name, "error": e}),
            })
            .collect(),
        _ => Vec::new(),
    };
    json!({
        "ip": rev.ip,
        "status": status,
        "error": error,
        "ptr": names,
        "confirmed": rev.confirmed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnosis::facts::{OpenFacts, PtrName};
    use crate::diagnosis::rules::verdicts;
    use crate::session::open::TlsMode;

    fn facts() -> HostFacts {
        let mut f = HostFacts::new("mx.test", Some(10), TlsMode::Opportunistic);
        let answer = |code, lines: &[&str]| Answer {
            reply: Reply::new(code, lines),
            took: Duration::from_millis(2),
        };
        let mut ehlo = vec!["mx.test", "SIZE 10240000", "X-\u{1b}[31mEVIL"];
        let many: Vec<String> = (0..60).map(|i| format!("X-K{i}")).collect();
        ehlo.extend(many.iter().map(String::as_str));
        f.open = OpenFacts {
            peer: Some("127.0.0.1:2525".parse().unwrap()),
            connect_took: Some(Duration::from_millis(1)),
            greeting: Some(Reply::new(220, &["mx.test ESMTP \u{7}"])),
            greeting_after: Some(Duration::from_millis(3)),
            ehlo: Some(answer(250, &ehlo)),
            ..OpenFacts::default()
        };
        f.reverse = Some(ReverseDns {
            ip: "127.0.0.1".parse().unwrap(),
            lookup: PtrLookup::Names(vec![PtrName {
                name: "localhost".into(),
                forward: Ok(vec!["127.0.0.1".parse().unwrap()]),
            }]),
            took: Duration::from_millis(1),
        });
        f.probes.help = Some(answer(214, &["a", "b"]));
        f
    }

    #[test]
    fn a_screen_without_timings() {
        let f = facts();
        let v = verdicts(&f);
        let text = lines(&f, &v, false).join("\n");
        assert!(text.starts_with("== check mx.test (127.0.0.1:2525), MX preference 10 =="));
        let mut ip = facts();
        ip.host = "127.0.0.1".into();
        assert!(lines(&ip, &v, false)[0].starts_with("== check 127.0.0.1:2525, MX"));
        assert!(
            text.contains("greeting       220 mx.test ESMTP \\x07\n"),
            "{text}"
        );
        assert!(
            text.contains("SIZE 10240000              messages up to 10240000 bytes (9.8 MiB)")
        );
        assert!(text.contains("X-\\x1b[31MEVIL"), "{text}");
        assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'));
        assert!(
            text.contains("... and 22 more (all are in --json)"),
            "{text}"
        );
        assert!(text.contains("127.0.0.1 -> localhost -> 127.0.0.1 (forward-confirmed)"));
        assert!(
            text.contains("HELP           214 a\n               b"),
            "{text}"
        );
        assert!(text.contains("  fail  starttls     no STARTTLS"), "{text}");
        assert!(!text.contains(" ms"), "timings leaked: {text}");
        let with = lines(&f, &v, true).join("\n");
        assert!(
            with.contains("timings        connect 1.0 ms, greeting 3.0 ms"),
            "{with}"
        );
    }

    #[test]
    fn the_same_as_data() {
        let f = facts();
        let v = verdicts(&f);
        let j = json(&f, &v, false);
        assert_eq!(j["type"], "check");
        assert_eq!(j["capabilities"].as_array().unwrap().len(), 62);
        assert_eq!(j["capabilities"][0]["keyword"], "SIZE");
        assert_eq!(j["reverse_dns"]["confirmed"][0], "localhost");
        assert!(j.get("timings_ms").is_none());
        assert!(
            j["verdicts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["level"] == "fail")
        );
        assert!(json(&f, &v, true)["timings_ms"]["connect"].is_number());
    }
}
