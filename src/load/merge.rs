//! `smtpx bench merge`: many runs' reports as the report of one run that did all their
//! work. Counts add, histograms add bucket by bucket (so percentiles are exact), and the
//! run spans from the earliest start to the latest end.

use std::time::{Duration, SystemTime};

use super::budget::StopReason;
use super::report::{BenchReport, Request};
use super::tally::Tally;

/// The most reports one merge takes: every count is at most 2^53 (exact in JSON), so
/// the sums of this many cannot overflow.
pub const MAX_REPORTS: usize = 1024;

/// Why reports do not describe parts of one run: each item names a field and the values
/// seen, in the order of the reports.
#[derive(Clone, Debug, PartialEq)]
pub struct Mismatch(pub Vec<String>);

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join("; "))
    }
}

/// Joins `reports`. Reports of different servers or of different
/// messages (recipients, size, CHUNKING, PIPELINING, --per-session) are refused unless
/// `force`, when the first report's values stand and the differences are recorded in
/// `forced`. Sessions, -n and --rate add up (each machine ran its share); --duration is
/// the longest.
pub fn merge(reports: &[BenchReport], force: bool) -> Result<BenchReport, Mismatch> {
    let Some(first) = reports.first() else {
        return Err(Mismatch(vec!["there is no report to merge".into()]));
    };
    let differences = mismatches(reports);
    if !differences.is_empty() && !force {
        return Err(Mismatch(differences));
    }
    let mut tally = Tally::default();
    for r in reports {
        tally.merge(&r.tally);
    }
    let sum = |f: fn(&BenchReport) -> u64| reports.iter().map(f).sum::<u64>();
    let request = Request {
        sessions: reports.iter().map(|r| r.request.sessions).sum(),
        messages: reports.iter().map(|r| r.request.messages).sum(),
        rate: reports.iter().map(|r| r.request.rate).sum(),
        duration: reports
            .iter()
            .map(|r| r.request.duration)
            .collect::<Option<Vec<Duration>>>()
            .and_then(|d| d.into_iter().max()),
        ..first.request.clone()
    };
    let (started_at, elapsed) = span(reports);
    let mut forced = differences;
    for r in reports {
        forced.extend(r.forced.iter().cloned());
    }
    Ok(BenchReport {
        request,
        tally,
        elapsed,
        started_at,
        stop: stop(reports),
        pipelined_sessions: sum(|r| r.pipelined_sessions),
        chunked_sessions: sum(|r| r.chunked_sessions),
        tls_sessions: sum(|r| r.tls_sessions),
        unverified_tls_sessions: sum(|r| r.unverified_tls_sessions),
        dot_refusal: reports.iter().find_map(|r| r.dot_refusal.clone()),
        runs: sum(|r| r.runs),
        forced,
    })
}

/// The fields that must agree for the reports to be parts of one run.
fn mismatches(reports: &[BenchReport]) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |name: &str, value: &dyn Fn(&Request) -> String| {
        let mut seen: Vec<String> = Vec::new();
        for r in reports {
            let v = value(&r.request);
            if !seen.contains(&v) {
                seen.push(v);
            }
        }
        if seen.len() > 1 {
            out.push(format!("{name} differs ({})", seen.join(" vs ")));
        }
    };
    check("server", &|q| q.server.clone());
    check("recipients per message", &|q| q.rcpts.to_string());
    // Generated headers (Date, Message-ID, From) differ in length from machine to
    // machine: a generated message is known by its body, a --data file by its size.
    check("message", &|q| match q.body_size {
        Some(b) => format!("{b}-byte body"),
        None => format!("{}-byte --data file", q.message_size),
    });
    check("--per-session", &|q| {
        q.per_session.map_or("none".to_string(), |p| p.to_string())
    });
    check("--chunking", &|q| q.chunking.to_string());
    check("pipelining", &|q| q.pipelining.to_string());
    check("messages bound (-n)", &|q| {
        if q.messages.is_some() {
            "-n"
        } else {
            "--duration only"
        }
        .to_string()
    });
    out
}

/// From the earliest start to the latest end; zero and unknown when any report lacks
/// its times (made with --no-timing).
fn span(reports: &[BenchReport]) -> (Option<SystemTime>, Duration) {
    let starts: Option<Vec<SystemTime>> = reports.iter().map(|r| r.started_at).collect();
    let ends: Option<Vec<SystemTime>> = reports.iter().map(|r| r.ended_at()).collect();
    match (starts, ends) {
        (Some(starts), Some(ends)) => {
            let start = starts.into_iter().min().unwrap_or(SystemTime::UNIX_EPOCH);
            let end = ends.into_iter().max().unwrap_or(start);
            (
                Some(start),
                end.duration_since(start).unwrap_or(Duration::ZERO),
            )
        }
        _ => (None, Duration::ZERO),
    }
}

/// The gravest reason any run stopped: an interrupted part makes the whole interrupted,
/// a part that could open no session makes the whole short of sessions.
fn stop(reports: &[BenchReport]) -> StopReason {
    let rank = |s: StopReason| match s {
        StopReason::Count => 0,
        StopReason::Duration => 1,
        StopReason::Sessions => 2,
        StopReason::Interrupted => 3,
    };
    reports
        .iter()
        .map(|r| r.stop)
        .max_by_key(|s| rank(*s))
        .unwrap_or(StopReason::Count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::tally::Step;
    use crate::outcome::{ExitCode, Phase};

    fn report(messages: u64, start_s: u64, elapsed_s: u64) -> BenchReport {
        let mut t = Tally::default();
        t.started = messages;
        t.sessions_opened = 2;
        for i in 0..messages {
            t.accepted(Duration::from_micros(100 + i * 37));
            t.recipient(250);
        }
        t.latency(Step::Connect, Duration::from_micros(50 + start_s));
        t.content_bytes = 1000 * messages;
        BenchReport {
            request: Request {
                server: "127.0.0.1:2525".into(),
                sessions: 2,
                messages: Some(messages),
                per_session: None,
                rcpts: 1,
                message_size: 1400,
                body_size: Some(1024),
                rate: Some(100.0),
                duration: None,
                chunking: false,
                pipelining: true,
            },
            tally: t,
            elapsed: Duration::from_secs(elapsed_s),
            started_at: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(start_s)),
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
    fn counts_add_and_the_span_covers_every_run() {
        let a = report(10, 1000, 4);
        let mut b = report(30, 1002, 5);
        b.tally
            .rejected(Phase::Rcpt, 450, Duration::from_micros(900));
        b.tally.failed(Phase::FinalDot, "lost", ExitCode::Unknown);
        b.dot_refusal = Some("503 no".into());
        let m = merge(&[a.clone(), b.clone()], false).unwrap();
        let mut want = a.tally.clone();
        want.merge(&b.tally);
        assert_eq!(m.tally, want);
        assert_eq!(m.tally.accepted, 40);
        assert_eq!(m.request.sessions, 4);
        assert_eq!(m.request.messages, Some(40));
        assert_eq!(m.request.rate, Some(200.0));
        assert_eq!(m.runs, 2);
        assert_eq!(m.started_at, a.started_at);
        assert_eq!(m.elapsed, Duration::from_secs(7), "1000 s to 1007 s");
        assert_eq!(m.messages_per_second(), 40.0 / 7.0);
        assert_eq!(m.dot_refusal.as_deref(), Some("503 no"));
        assert_eq!(m.exit_code(), ExitCode::Temporary);
        assert!(m.forced.is_empty());
    }

    #[test]
    fn merging_merged_reports_is_the_same_as_merging_all_at_once() {
        let (a, b, c) = (report(1, 10, 1), report(2, 11, 1), report(3, 9, 5));
        let ab = merge(&[a.clone(), b.clone()], false).unwrap();
        let nested = merge(&[ab, c.clone()], false).unwrap();
        let flat = merge(&[a, b, c], false).unwrap();
        assert_eq!(nested.tally, flat.tally);
        assert_eq!(
            (nested.elapsed, nested.started_at),
            (flat.elapsed, flat.started_at)
        );
        assert_eq!((nested.runs, flat.runs), (3, 3));
        assert_eq!(nested.request, flat.request);
    }

    #[test]
    fn different_servers_or_messages_are_refused_unless_forced() {
        let a = report(1, 0, 1);
        let mut b = report(1, 0, 1);
        b.request.server = "10.0.0.1:25".into();
        b.request.rcpts = 3;
        let err = merge(&[a.clone(), b.clone()], false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "server differs (127.0.0.1:2525 vs 10.0.0.1:25); \
             recipients per message differs (1 vs 3)"
        );
        let m = merge(&[a.clone(), b], true).unwrap();
        assert_eq!(
            m.request.server, "127.0.0.1:2525",
            "the first report's values"
        );
        assert_eq!(m.forced.len(), 2);
        let mut c = report(1, 0, 1);
        c.request.sessions = 7;
        c.request.messages = Some(99);
        assert!(
            merge(&[a, c], false).is_ok(),
            "machines may carry unequal shares"
        );
    }

    #[test]
    fn the_gravest_stop_and_unknown_times_carry_over() {
        let a = report(1, 0, 1);
        let mut b = report(1, 0, 1);
        b.stop = StopReason::Interrupted;
        b.started_at = None;
        let m = merge(&[a.clone(), b], false).unwrap();
        assert_eq!(m.stop, StopReason::Interrupted);
        assert_eq!(m.exit_code(), ExitCode::Interrupted);
        assert_eq!((m.started_at, m.elapsed), (None, Duration::ZERO));
        let mut d = report(1, 0, 1);
        d.request.duration = Some(Duration::from_secs(60));
        d.request.rate = None;
        let m = merge(&[a, d], false).unwrap();
        assert_eq!(m.request.duration, None, "one part had no time bound");
        assert_eq!(m.request.rate, None, "one part had no rate cap");
    }
}
