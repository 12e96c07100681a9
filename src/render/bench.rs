//! How `smtpx bench` reads: the progress bar while it runs (stderr, only on a
//! terminal), then the report — counts, throughput, latency percentiles — as text or as
//! one JSON object, and the outcome line.

use crate::render::json_ms;
use std::time::{Duration, SystemTime};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use super::text::escape_controls;
use super::{Status, Summary, format_ms};
use crate::load::budget::StopReason;
use crate::load::report::BenchReport;
use crate::load::tally::{LatencySummary, Step};
use crate::outcome::ExitCode;

fn row(label: &str, value: &str) -> String {
    format!("{label:<15}{value}")
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The report for people. Without `timing`, nothing that changes from run to run
/// (elapsed time, rates, latencies) is shown.
pub fn lines(r: &BenchReport, timing: bool) -> Vec<String> {
    let q = &r.request;
    let t = &r.tally;
    let mut out = Vec::new();
    out.push(row("server", &escape_controls(&q.server)));
    let size = match q.body_size {
        Some(body) => format!("{body}-byte body ({}-byte message)", q.message_size),
        None => format!("{}-byte message", q.message_size),
    };
    let count = match q.messages {
        Some(n) => plural(n, "message", "messages"),
        None => "messages until the time is up".to_string(),
    };
    let mut load = format!(
        "{count}, {}, {} each, {size}",
        plural(u64::from(q.sessions), "session", "sessions"),
        plural(u64::from(q.rcpts), "recipient", "recipients"),
    );
    if let Some(p) = q.per_session {
        load.push_str(&format!(", {p} per connection"));
    }
    if let Some(rate) = q.rate {
        load.push_str(&format!(", at most {} messages/s", number(rate)));
    }
    if let Some(d) = q.duration {
        load.push_str(&format!(", for at most {}", humantime::format_duration(d)));
    }
    out.push(row("load", &load));
    out.push(row(
        "messages",
        &format!(
            "{} started: {} accepted, {} rejected, {} failed{}",
            t.started,
            t.accepted,
            t.rejected_total(),
            t.failed_total(),
            r.not_started()
                .map(|n| format!("; {n} not started"))
                .unwrap_or_default()
        ),
    ));
    for (phase, code, n) in r.rejections() {
        out.push(row("  rejected", &format!("{phase} {code}: {n}")));
    }
    for (phase, f) in &t.failed {
        let unknown = if phase.commits() && f.exit != ExitCode::Protocol {
            " (outcome unknown: no reply after the content)"
        } else {
            ""
        };
        out.push(row(
            "  failed",
            &format!(
                "{phase}: {}{unknown} - {}",
                f.count,
                escape_controls(&f.reason)
            ),
        ));
    }
    let refused: u64 = t.rcpt_refused.values().sum();
    let mut rcpts = format!("{} accepted, {refused} refused", t.rcpt_accepted);
    if refused > 0 {
        let codes: Vec<String> = t
            .rcpt_refused
            .iter()
            .map(|(code, n)| format!("{code}: {n}"))
            .collect();
        rcpts.push_str(&format!(" ({})", codes.join(", ")));
    }
    out.push(row("recipients", &rcpts));
    let mut sessions = format!(
        "{} opened, {} failed",
        t.sessions_opened,
        t.session_failures_total()
    );
    let mut used = Vec::new();
    for (n, what) in [
        (r.pipelined_sessions, "PIPELINING"),
        (r.chunked_sessions, "CHUNKING"),
        (r.tls_sessions, "TLS"),
    ] {
        if n > 0 {
            used.push(format!("{what} in {n}"));
        }
    }
    if r.unverified_tls_sessions > 0 {
        used.push(format!(
            "certificate not verified in {}",
            r.unverified_tls_sessions
        ));
    }
    if !used.is_empty() {
        sessions.push_str(&format!("; {}", used.join(", ")));
    }
    out.push(row("sessions", &sessions));
    for (phase, f) in &t.session_failures {
        out.push(row(
            "  failed",
            &format!("{phase}: {} - {}", f.count, escape_controls(&f.reason)),
        ));
    }
    for note in notes(r) {
        out.push(row("note", &note));
    }
    out.push(row("stopped", stop_words(r.stop)));
    if r.runs > 1 {
        out.push(row("merged", &plural(r.runs, "run", "runs")));
    }
    if timing && r.started_at.is_none() {
        out.push(row(
            "timing",
            "unknown: a report merged here was made with --no-timing",
        ));
    }
    let timing = timing && r.started_at.is_some();
    if let (true, Some(start), Some(end)) = (timing && r.runs > 1, r.started_at, r.ended_at()) {
        out.push(row(
            "span",
            &format!(
                "{} to {} (earliest start to latest end)",
                wall_clock(start),
                wall_clock(end)
            ),
        ));
    }
    if timing {
        out.push(row(
            "throughput",
            &format!(
                "{} messages/s, {} MB/s of message content, over {}",
                number(r.messages_per_second()),
                number(r.megabytes_per_second()),
                format_ms(r.elapsed)
            ),
        ));
        out.push(format!(
            "{:<15}{:>9} {:>10} {:>10} {:>10} {:>10}",
            "latency", "count", "p50", "p90", "p99", "max"
        ));
        for step in Step::ALL {
            if let Some(s) = t.latency_of(step).summary() {
                out.push(format!(
                    "  {:<13}{:>9} {:>10} {:>10} {:>10} {:>10}",
                    step.name(),
                    s.count,
                    latency_text(s.p50),
                    latency_text(s.p90),
                    latency_text(s.p99),
                    latency_text(s.max)
                ));
            }
        }
    }
    out
}

/// Latencies on loopback are often well under a millisecond: show microseconds there.
fn latency_text(d: Duration) -> String {
    if d < Duration::from_millis(1) {
        format!("{} µs", d.as_micros())
    } else if d < Duration::from_millis(10) {
        format!("{:.2} ms", d.as_secs_f64() * 1000.0)
    } else {
        format_ms(d)
    }
}

fn stop_words(stop: StopReason) -> &'static str {
    match stop {
        StopReason::Count => "every message was started",
        StopReason::Duration => "the time was up (--duration or --timeout)",
        StopReason::Interrupted => "interrupted (Ctrl-C)",
        StopReason::Sessions => "no session could be opened to send the rest",
    }
}

/// Three significant digits, without exponent noise.
fn number(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn latency_json(s: &LatencySummary) -> Value {
    json!({
        "count": s.count,
        "p50": json_ms(s.p50),
        "p90": json_ms(s.p90),
        "p99": json_ms(s.p99),
        "max": json_ms(s.max),
    })
}

/// The report as one object (`"type": "bench"`), the same facts as [`lines`].
pub fn json(r: &BenchReport, timing: bool) -> Value {
    let q = &r.request;
    let t = &r.tally;
    let rejected: Vec<Value> = r
        .rejections()
        .into_iter()
        .map(|(phase, code, n)| json!({"phase": phase, "code": code, "messages": n}))
        .collect();
    let failed: Vec<Value> = t
        .failed
        .iter()
        .map(|(phase, f)| {
            json!({
                "phase": phase,
                "messages": f.count,
                "reason": f.reason,
                "unknown": phase.commits() && f.exit != ExitCode::Protocol,
                "exit_code": f.exit.code(),
            })
        })
        .collect();
    let refused: Vec<Value> = t
        .rcpt_refused
        .iter()
        .map(|(code, n)| json!({"code": code, "recipients": n}))
        .collect();
    let session_failures: Vec<Value> = t
        .session_failures
        .iter()
        .map(|(phase, f)| {
            json!({
                "phase": phase,
                "sessions": f.count,
                "reason": f.reason,
                "exit_code": f.exit.code(),
            })
        })
        .collect();
    let mut v = json!({
        "type": "bench",
        "server": q.server,
        "request": {
            "messages": q.messages,
            "sessions": q.sessions,
            "per_session": q.per_session,
            "rcpts": q.rcpts,
            "message_bytes": q.message_size,
            "body_bytes": q.body_size,
            "rate_per_s": q.rate,
            "duration_ms": q.duration.map(json_ms),
            "chunking": q.chunking,
            "pipelining": q.pipelining,
        },
        "stopped": r.stop,
        "messages": {
            "started": t.started,
            "accepted": t.accepted,
            "rejected": t.rejected_total(),
            "failed": t.failed_total(),
            "not_started": r.not_started(),
        },
        "rejected": rejected,
        "failed": failed,
        "recipients": {"accepted": t.rcpt_accepted, "refused": refused},
        "sessions": {
            "opened": t.sessions_opened,
            "failed": session_failures,
            "pipelining": r.pipelined_sessions,
            "chunking": r.chunked_sessions,
            "tls": r.tls_sessions,
            "tls_unverified": r.unverified_tls_sessions,
            "dot_pipelining_refused": r.dot_refusal.is_some(),
            "dot_refusal": r.dot_refusal,
        },
        "notes": notes(r),
        "content_bytes": t.content_bytes,
        "runs": r.runs,
        "forced": r.forced,
    });
    if let (true, Some(start), Some(end)) = (timing, r.started_at, r.ended_at()) {
        let latency: serde_json::Map<String, Value> = Step::ALL
            .iter()
            .filter_map(|s| {
                t.latency_of(*s)
                    .summary()
                    .map(|l| (s.name().to_string(), latency_json(&l)))
            })
            .collect();
        v["elapsed_ms"] = json!(json_ms(r.elapsed));
        v["messages_per_s"] = json!((r.messages_per_second() * 10.0).round() / 10.0);
        v["mb_per_s"] = json!((r.megabytes_per_second() * 1000.0).round() / 1000.0);
        v["latency_ms"] = Value::Object(latency);
        let histograms: serde_json::Map<String, Value> = Step::ALL
            .iter()
            .filter(|s| t.latency_of(**s).summary().is_some())
            .map(|s| (s.name().to_string(), json!(t.latency_of(*s).to_base64())))
            .collect();
        v["latency_histograms"] = Value::Object(histograms);
        v["started_at"] = json!(wall_clock(start));
        v["ended_at"] = json!(wall_clock(end));
    }
    v
}

/// RFC 3339 in UTC to the microsecond, as `bench merge` reads it back.
pub fn wall_clock(t: SystemTime) -> String {
    humantime::format_rfc3339_micros(t).to_string()
}

/// The notes of the report: a refused dot pipelining, and reports merged although
/// they differed.
fn notes(r: &BenchReport) -> Vec<String> {
    let mut out: Vec<String> = dot_note(r).into_iter().collect();
    if !r.forced.is_empty() {
        out.push(format!(
            "merged with --force although the runs differ: {}",
            escape_controls(&r.forced.join("; "))
        ));
    }
    out
}

/// Why some sessions took a round trip more per message than PIPELINING promises.
fn dot_note(r: &BenchReport) -> Option<String> {
    r.dot_refusal.as_ref().map(|reply| {
        format!(
            "the server refused commands pipelined after the final dot ({}): \
             sent each message's dot alone from then on",
            escape_controls(reply)
        )
    })
}

/// The outcome line and the `result` object.
pub fn summary(r: &BenchReport) -> Summary {
    let t = &r.tally;
    let exit = r.exit_code();
    let status = match exit {
        ExitCode::Success => Status::Accepted,
        ExitCode::Interrupted => Status::Failed,
        _ if t.accepted > 0 => Status::PartiallyAccepted,
        _ if t.rejected_total() > 0 => Status::Rejected,
        _ => Status::Failed,
    };
    let mut message = format!(
        "{} of {} accepted",
        t.accepted,
        plural(t.started, "message", "messages")
    );
    let bad = t.unsuccessful();
    if bad > 0 {
        message.push_str(&format!(
            "; {} rejected, {} failed",
            t.rejected_total(),
            t.failed_total()
        ));
    }
    if t.session_failures_total() > 0 {
        message.push_str(&format!(
            "; {} could not be opened",
            plural(t.session_failures_total(), "session", "sessions")
        ));
    }
    if r.stop == StopReason::Interrupted {
        message = format!("interrupted: {message}");
    }
    Summary::new(status, exit, message)
        .with("accepted", t.accepted)
        .with("started", t.started)
}

/// The live view: messages done out of the total, the current rate and the errors so
/// far. Hidden unless stderr is a terminal and the output is for people.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// `total` is the number of messages; a run bounded only by `duration` shows a
    /// count and the time it may take.
    pub fn new(total: Option<u64>, duration: Option<Duration>, visible: bool) -> Progress {
        let target = super::progress::target(visible);
        let (bar, template) = match total {
            Some(n) => (
                ProgressBar::with_draw_target(Some(n), target),
                "{elapsed_precise} [{bar:30}] {pos}/{len} messages, {rate}, {msg}",
            ),
            None => (
                ProgressBar::with_draw_target(None, target),
                "{elapsed_precise} of {prefix}: {pos} messages, {rate}, {msg}",
            ),
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            let style = style.progress_chars("=> ").with_key(
                "rate",
                |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0} messages/s", state.per_sec());
                },
            );
            bar.set_style(style);
        }
        if let (None, Some(d)) = (total, duration) {
            bar.set_prefix(humantime::format_duration(d).to_string());
        }
        bar.set_message("0 errors");
        Progress { bar }
    }

    pub fn update(&self, finished: u64, errors: u64) {
        self.bar.set_position(finished);
        self.bar.set_message(plural(errors, "error", "errors"));
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::report::Request;
    use crate::load::tally::Tally;
    use crate::outcome::Phase;

    fn report() -> BenchReport {
        let mut t = Tally::default();
        t.started = 5;
        t.sessions_opened = 2;
        for _ in 0..3 {
            t.accepted(Duration::from_millis(2));
            t.recipient(250);
        }
        t.rejected(Phase::Rcpt, 450, Duration::from_millis(1));
        t.recipient(450);
        t.failed(
            Phase::FinalDot,
            "the server closed the connection",
            ExitCode::Unknown,
        );
        t.latency(Step::Connect, Duration::from_micros(150));
        t.content_bytes = 3000;
        BenchReport {
            request: Request {
                server: "127.0.0.1:2525".into(),
                sessions: 2,
                messages: Some(6),
                per_session: Some(3),
                rcpts: 1,
                message_size: 1400,
                body_size: Some(1024),
                rate: None,
                duration: None,
                chunking: false,
                pipelining: true,
            },
            tally: t,
            elapsed: Duration::from_secs(1),
            started_at: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_000_000)),
            stop: StopReason::Count,
            pipelined_sessions: 2,
            chunked_sessions: 0,
            tls_sessions: 0,
            unverified_tls_sessions: 0,
            dot_refusal: None,
            runs: 1,
            forced: Vec::new(),
        }
    }

    #[test]
    fn report_lines_without_timing_are_stable() {
        let text = lines(&report(), false).join("\n");
        assert_eq!(
            text,
            "\
server         127.0.0.1:2525
load           6 messages, 2 sessions, 1 recipient each, 1024-byte body (1400-byte message), 3 per connection
messages       5 started: 3 accepted, 1 rejected, 1 failed; 1 not started
  rejected     rcpt 450: 1
  failed       final-dot: 1 (outcome unknown: no reply after the content) - the server closed the connection
recipients     3 accepted, 1 refused (450: 1)
sessions       2 opened, 0 failed; PIPELINING in 2
stopped        every message was started"
        );
        let timed = lines(&report(), true).join("\n");
        assert!(
            timed.contains("throughput     3.00 messages/s, 0.00 MB/s"),
            "{timed}"
        );
        assert!(timed.contains("  connect"), "{timed}");
        assert!(timed.contains("  transaction"), "{timed}");
        assert!(
            !timed.contains("  auth"),
            "steps with no sample are left out"
        );
    }

    #[test]
    fn json_shape() {
        let v = json(&report(), true);
        assert_eq!(v["type"], "bench");
        assert_eq!(v["messages"]["started"], 5);
        assert_eq!(v["messages"]["not_started"], 1);
        assert_eq!(
            v["rejected"][0],
            json!({"phase": "rcpt", "code": 450, "messages": 1})
        );
        assert_eq!(v["failed"][0]["unknown"], true);
        assert_eq!(
            v["recipients"]["refused"][0],
            json!({"code": 450, "recipients": 1})
        );
        assert_eq!(v["stopped"], "count");
        assert_eq!(v["messages_per_s"], 3.0);
        assert_eq!(v["latency_ms"]["transaction"]["count"], 4);
        assert!(v["latency_ms"].get("auth").is_none());
        let v = json(&report(), false);
        assert!(v.get("elapsed_ms").is_none() && v.get("latency_ms").is_none());
    }

    #[test]
    fn a_refused_dot_pipelining_is_noted() {
        let mut r = report();
        r.dot_refusal = Some("503 5.5.0 pipelined after end of DATA".into());
        let text = lines(&r, false).join("\n");
        assert!(
            text.contains(
                "\nnote           the server refused commands pipelined after the final dot \
                 (503 5.5.0 pipelined after end of DATA): sent each message's dot alone from \
                 then on\nstopped"
            ),
            "{text}"
        );
        let v = json(&r, false);
        assert_eq!(v["sessions"]["dot_pipelining_refused"], true);
        assert_eq!(v["notes"].as_array().map(Vec::len), Some(1));
        let v = json(&report(), false);
        assert_eq!(v["sessions"]["dot_pipelining_refused"], false);
        assert_eq!(v["notes"], json!([]));
    }

    #[test]
    fn outcome_line() {
        let s = summary(&report());
        assert_eq!(s.exit_code, 8);
        assert_eq!(s.status, Status::PartiallyAccepted);
        assert_eq!(s.message, "3 of 5 messages accepted; 1 rejected, 1 failed");
    }
}
