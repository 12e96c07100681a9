//! Reads `bench --json` reports back, for `bench merge`: the `{"type": "bench"}`
//! objects of NDJSON (or pretty-printed) text, each turned into the report it was
//! written from. Counts are checked to add up, so an edited or truncated report is
//! refused rather than merged into a wrong total.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use serde_json::Value;

use super::budget::StopReason;
use super::report::{BenchReport, Request};
use super::tally::{Latency, MAX_COUNT, Reasoned, Step, Tally};
use crate::outcome::{ExitCode, Phase};

/// Every `{"type": "bench"}` object in `text`, in order; other objects (the result
/// line) are skipped. Errors name the report by its position.
pub fn reports_in(text: &str) -> Result<Vec<BenchReport>, String> {
    let mut out = Vec::new();
    for value in serde_json::Deserializer::from_str(text).into_iter::<Value>() {
        let value = value.map_err(|e| format!("not JSON ({e})"))?;
        if value.get("type").and_then(Value::as_str) == Some("bench") {
            let n = out.len() + 1;
            out.push(report(value).map_err(|e| format!("bench report {n}: {e}"))?);
        }
    }
    if out.is_empty() {
        return Err("no bench report in it (expected the output of `smtpx bench --json`)".into());
    }
    Ok(out)
}

#[derive(Deserialize)]
struct Wire {
    server: String,
    request: WireRequest,
    stopped: StopReason,
    messages: WireMessages,
    rejected: Vec<WireRejected>,
    failed: Vec<WireFailed>,
    recipients: WireRecipients,
    sessions: WireSessions,
    content_bytes: u64,
    runs: u64,
    #[serde(default)]
    forced: Vec<String>,
    started_at: Option<String>,
    ended_at: Option<String>,
    latency_histograms: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct WireRequest {
    messages: Option<u64>,
    sessions: u32,
    per_session: Option<u64>,
    rcpts: u32,
    message_bytes: u64,
    body_bytes: Option<u64>,
    rate_per_s: Option<f64>,
    duration_ms: Option<f64>,
    chunking: bool,
    pipelining: bool,
}

#[derive(Deserialize)]
struct WireMessages {
    started: u64,
    accepted: u64,
}

#[derive(Deserialize)]
struct WireRejected {
    phase: Phase,
    code: u16,
    messages: u64,
}

#[derive(Deserialize)]
struct WireFailed {
    phase: Phase,
    messages: u64,
    reason: String,
    exit_code: u8,
}

#[derive(Deserialize)]
struct WireRecipients {
    accepted: u64,
    refused: Vec<WireRefused>,
}

#[derive(Deserialize)]
struct WireRefused {
    code: u16,
    recipients: u64,
}

#[derive(Deserialize)]
struct WireSessions {
    opened: u64,
    failed: Vec<WireSessionFailed>,
    pipelining: u64,
    chunking: u64,
    tls: u64,
    tls_unverified: u64,
    dot_refusal: Option<String>,
}

#[derive(Deserialize)]
struct WireSessionFailed {
    phase: Phase,
    sessions: u64,
    reason: String,
    exit_code: u8,
}

/// One `{"type": "bench"}` object as the report it was written from.
pub fn report(value: Value) -> Result<BenchReport, String> {
    let w: Wire = serde_json::from_value(value)
        .map_err(|e| format!("{e} (not the --json output of this smtpx's bench, or edited)"))?;
    let mut t = Tally::default();
    t.started = count(w.messages.started)?;
    t.accepted = count(w.messages.accepted)?;
    t.rcpt_accepted = count(w.recipients.accepted)?;
    t.content_bytes = count(w.content_bytes)?;
    t.sessions_opened = count(w.sessions.opened)?;
    for r in &w.rejected {
        *t.rejected.entry((r.phase, r.code)).or_default() += count(r.messages)?;
    }
    for f in w.failed {
        t.failed
            .insert(f.phase, reasoned(f.messages, f.reason, f.exit_code)?);
    }
    for r in &w.recipients.refused {
        *t.rcpt_refused.entry(r.code).or_default() += count(r.recipients)?;
    }
    for f in w.sessions.failed {
        t.session_failures
            .insert(f.phase, reasoned(f.sessions, f.reason, f.exit_code)?);
    }
    if t.finished() > t.started {
        return Err(format!(
            "{} messages ended but only {} started",
            t.finished(),
            t.started
        ));
    }
    let started_at = match (&w.started_at, &w.ended_at, &w.latency_histograms) {
        (Some(start), Some(end), Some(histograms)) => {
            for (name, text) in histograms {
                let step = Step::from_name(name)
                    .ok_or_else(|| format!("unknown latency step '{name}'"))?;
                let latency =
                    Latency::from_base64(text).map_err(|e| format!("{name} latency: {e}"))?;
                t.set_latency(step, latency);
            }
            let answered = t.accepted + t.rejected_total();
            let samples = t
                .latency_of(Step::Transaction)
                .summary()
                .map_or(0, |s| s.count);
            if samples != answered {
                return Err(format!(
                    "the transaction histogram holds {samples} samples for {answered} answered messages"
                ));
            }
            Some((time(start)?, time(end)?))
        }
        (None, None, None) => None,
        _ => {
            return Err(
                "started_at, ended_at and latency_histograms come together or not at all".into(),
            );
        }
    };
    let (started_at, elapsed) = match started_at {
        Some((start, end)) => (
            Some(start),
            end.duration_since(start)
                .map_err(|_| "ended_at is before started_at".to_string())?,
        ),
        None => (None, Duration::ZERO),
    };
    let q = w.request;
    let seconds = |ms: f64| Duration::try_from_secs_f64(ms / 1000.0).ok();
    Ok(BenchReport {
        request: Request {
            server: w.server,
            sessions: q.sessions,
            messages: q.messages,
            per_session: q.per_session,
            rcpts: q.rcpts,
            message_size: q.message_bytes,
            body_size: q.body_bytes,
            rate: q.rate_per_s,
            duration: q.duration_ms.and_then(seconds),
            chunking: q.chunking,
            pipelining: q.pipelining,
        },
        tally: t,
        elapsed,
        started_at,
        stop: w.stopped,
        pipelined_sessions: count(w.sessions.pipelining)?,
        chunked_sessions: count(w.sessions.chunking)?,
        tls_sessions: count(w.sessions.tls)?,
        unverified_tls_sessions: count(w.sessions.tls_unverified)?,
        dot_refusal: w.sessions.dot_refusal,
        runs: count(w.runs)?.max(1),
        forced: w.forced,
    })
}

/// Counts over 2^53 are not exact in JSON, and no run makes them.
fn count(n: u64) -> Result<u64, String> {
    if n > MAX_COUNT {
        return Err(format!("the count {n} is larger than any run makes"));
    }
    Ok(n)
}

fn reasoned(n: u64, reason: String, exit_code: u8) -> Result<Reasoned, String> {
    Ok(Reasoned {
        count: count(n)?,
        reason,
        exit: ExitCode::from_code(exit_code)
            .ok_or_else(|| format!("{exit_code} is not one of bench's exit codes"))?,
    })
}

fn time(text: &str) -> Result<SystemTime, String> {
    humantime::parse_rfc3339(text).map_err(|e| format!("'{text}' is not an RFC 3339 time ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::bench::json;
    use serde_json::json;

    fn sample() -> BenchReport {
        let mut t = Tally::default();
        t.started = 7;
        t.sessions_opened = 3;
        for i in 0..4u64 {
            t.accepted(Duration::from_micros(300 + i * 1000));
            t.recipient(250);
        }
        t.rejected(Phase::Rcpt, 450, Duration::from_millis(4));
        t.recipient(450);
        t.rejected(Phase::FinalDot, 554, Duration::from_millis(9));
        t.failed(Phase::FinalDot, "lost", ExitCode::Unknown);
        t.session_failed(Phase::TlsHandshake, "bad cert", ExitCode::Tls);
        t.latency(Step::Connect, Duration::from_micros(120));
        t.latency(Step::Ehlo, Duration::from_micros(80));
        t.content_bytes = 5555;
        BenchReport {
            request: Request {
                server: "[::1]:2525".into(),
                sessions: 3,
                messages: Some(8),
                per_session: Some(2),
                rcpts: 1,
                message_size: 1400,
                body_size: None,
                rate: Some(12.5),
                duration: Some(Duration::from_millis(1500)),
                chunking: true,
                pipelining: false,
            },
            tally: t,
            elapsed: Duration::from_micros(2_345_678),
            started_at: Some(SystemTime::UNIX_EPOCH + Duration::from_micros(1_796_000_000_123_456)),
            stop: StopReason::Duration,
            pipelined_sessions: 0,
            chunked_sessions: 3,
            tls_sessions: 2,
            unverified_tls_sessions: 1,
            dot_refusal: Some("503 5.5.0 no".into()),
            runs: 1,
            forced: Vec::new(),
        }
    }

    #[test]
    fn a_report_reads_back_as_it_was_written() {
        let r = sample();
        let text = format!("{}\n{}\n", json(&r, true), json!({"type": "result"}));
        let back = reports_in(&text).unwrap();
        assert_eq!(back.len(), 1);
        let b = &back[0];
        assert_eq!(b.tally, r.tally, "every count and every histogram bucket");
        assert_eq!(b.request, r.request);
        assert_eq!((b.started_at, b.elapsed), (r.started_at, r.elapsed));
        assert_eq!(b.stop, r.stop);
        assert_eq!(b.dot_refusal, r.dot_refusal);
        assert_eq!(
            (
                b.tls_sessions,
                b.unverified_tls_sessions,
                b.chunked_sessions
            ),
            (2, 1, 3)
        );
        assert_eq!(b.exit_code(), r.exit_code());
    }

    #[test]
    fn without_timing_counts_still_read_back() {
        let r = sample();
        let pretty = serde_json::to_string_pretty(&json(&r, false)).unwrap();
        let b = &reports_in(&pretty).unwrap()[0];
        assert_eq!(b.tally.accepted, 4);
        assert_eq!(b.started_at, None);
        assert!(b.tally.latency_of(Step::Connect).summary().is_none());
    }

    #[test]
    fn broken_reports_are_refused_with_a_reason() {
        let good = json(&sample(), true);
        let edit = |f: &dyn Fn(&mut Value)| {
            let mut v = good.clone();
            f(&mut v);
            reports_in(&v.to_string()).unwrap_err()
        };
        assert!(
            reports_in("{\"type\": \"result\"}")
                .unwrap_err()
                .contains("no bench report")
        );
        assert!(
            reports_in("{\"type\": ")
                .unwrap_err()
                .starts_with("not JSON")
        );
        let e = edit(&|v| v["messages"]["started"] = json!(1));
        assert!(e.contains("7 messages ended but only 1 started"), "{e}");
        let e = edit(&|v| {
            v["messages"]["started"] = json!(8);
            v["messages"]["accepted"] = json!(5);
        });
        assert!(e.contains("holds 6 samples for 7 answered"), "{e}");
        let e = edit(&|v| v["latency_histograms"]["ehlo"] = json!("HISTFAAAnope"));
        assert!(e.starts_with("bench report 1: ehlo latency:"), "{e}");
        let e = edit(&|v| v["failed"][0]["exit_code"] = json!(77));
        assert!(e.contains("77 is not one of"), "{e}");
        let e = edit(&|v| {
            v.as_object_mut().unwrap().remove("runs");
        });
        assert!(e.contains("missing field `runs`"), "{e}");
        let e = edit(&|v| {
            v.as_object_mut().unwrap().remove("ended_at");
        });
        assert!(e.contains("come together"), "{e}");
        let e = edit(&|v| v["content_bytes"] = json!(u64::MAX));
        assert!(e.contains("larger than any run"), "{e}");
    }
}
