//! A bench run's report: what was asked, what happened to every message, how fast.
//! A plain model; `render::bench` turns it into text or JSON.

use std::time::{Duration, SystemTime};

use super::budget::StopReason;
use super::tally::Tally;
use crate::outcome::{ExitCode, Phase};

/// What the run was asked to do.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// `--server` as given.
    pub server: String,
    pub sessions: u32,
    /// `-n` (or its default); None when only `--duration` bounds the run.
    pub messages: Option<u64>,
    pub per_session: Option<u64>,
    pub rcpts: u32,
    /// Octets of one message before encoding (headers and body).
    pub message_size: u64,
    /// Octets of the generated body (`--size`); None with `--data`.
    pub body_size: Option<u64>,
    pub rate: Option<f64>,
    pub duration: Option<Duration>,
    pub chunking: bool,
    /// False with `--no-pipelining`.
    pub pipelining: bool,
}

#[derive(Clone, Debug)]
pub struct BenchReport {
    pub request: Request,
    pub tally: Tally,
    /// From the first message's start to the end of the run; for merged reports, from
    /// the earliest start to the latest end.
    pub elapsed: Duration,
    /// Wall-clock start of the run (the end is `started_at + elapsed`); None when the
    /// report was read from output made with `--no-timing`.
    pub started_at: Option<SystemTime>,
    pub stop: StopReason,
    /// Sessions that used PIPELINING, CHUNKING and TLS, as the server offered them.
    pub pipelined_sessions: u64,
    pub chunked_sessions: u64,
    pub tls_sessions: u64,
    /// Of those, sessions whose certificate was not verified.
    pub unverified_tls_sessions: u64,
    /// The reply (code and text) with which the server refused commands pipelined after
    /// a final dot; from then on each dot went alone.
    pub dot_refusal: Option<String>,
    /// How many runs this report covers: 1, or the sum over the reports merged.
    pub runs: u64,
    /// What differed between reports merged with `--force` (field and values).
    pub forced: Vec<String>,
}

impl BenchReport {
    /// Wall-clock end of the run.
    pub fn ended_at(&self) -> Option<SystemTime> {
        self.started_at.map(|t| t + self.elapsed)
    }

    /// Messages of `-n` that never started (time ran out, Ctrl-C, no session); None
    /// when the run was bounded by time alone.
    pub fn not_started(&self) -> Option<u64> {
        self.request
            .messages
            .map(|n| n.saturating_sub(self.tally.started))
    }

    /// Accepted messages per second of the whole run.
    pub fn messages_per_second(&self) -> f64 {
        per_second(self.tally.accepted as f64, self.elapsed)
    }

    /// Message octets per second, in millions (MB/s, not MiB/s).
    pub fn megabytes_per_second(&self) -> f64 {
        per_second(self.tally.content_bytes as f64 / 1e6, self.elapsed)
    }

    /// 130 after Ctrl-C; when no message started because no session opened, that
    /// failure's code (4 connection, 5 TLS, 6 AUTH, ...); else 7 if any permanent (5xx)
    /// refusal, 8 if any temporary refusal or failure; 0 when every message started was
    /// accepted and every session opened.
    pub fn exit_code(&self) -> ExitCode {
        let t = &self.tally;
        if self.stop == StopReason::Interrupted {
            return ExitCode::Interrupted;
        }
        if t.started == 0
            && let Some(worst) = t.session_failures.values().max_by_key(|r| r.count)
        {
            return worst.exit;
        }
        let permanent = t.rejected.keys().any(|(_, code)| *code >= 500)
            || t.session_failures
                .values()
                .any(|r| r.exit == ExitCode::Permanent);
        if permanent {
            ExitCode::Permanent
        } else if t.unsuccessful() > 0 || t.session_failures_total() > 0 {
            ExitCode::Temporary
        } else {
            ExitCode::Success
        }
    }

    /// Refusals as `phase code: count`, most frequent first.
    pub fn rejections(&self) -> Vec<(Phase, u16, u64)> {
        let mut v: Vec<(Phase, u16, u64)> = self
            .tally
            .rejected
            .iter()
            .map(|((p, c), n)| (*p, *c, *n))
            .collect();
        v.sort_by(|a, b| b.2.cmp(&a.2).then((a.0, a.1).cmp(&(b.0, b.1))));
        v
    }
}

fn per_second(amount: f64, elapsed: Duration) -> f64 {
    let s = elapsed.as_secs_f64();
    if s > 0.0 { amount / s } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(tally: Tally, stop: StopReason) -> BenchReport {
        BenchReport {
            request: Request {
                server: "127.0.0.1:25".into(),
                sessions: 2,
                messages: Some(10),
                per_session: None,
                rcpts: 1,
                message_size: 1000,
                body_size: Some(800),
                rate: None,
                duration: None,
                chunking: false,
                pipelining: true,
            },
            tally,
            elapsed: Duration::from_secs(2),
            started_at: None,
            stop,
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
    fn exit_codes() {
        let mut t = Tally::default();
        t.started = 10;
        for _ in 0..10 {
            t.accepted(Duration::from_millis(1));
        }
        t.content_bytes = 10_000_000;
        let r = report(t.clone(), StopReason::Count);
        assert_eq!(r.exit_code(), ExitCode::Success);
        assert_eq!(r.messages_per_second(), 5.0);
        assert_eq!(r.megabytes_per_second(), 5.0);
        assert_eq!(r.not_started(), Some(0));
        assert_eq!(
            report(t.clone(), StopReason::Interrupted).exit_code(),
            ExitCode::Interrupted
        );

        let mut soft = t.clone();
        soft.rejected(Phase::Rcpt, 450, Duration::ZERO);
        assert_eq!(
            report(soft.clone(), StopReason::Count).exit_code(),
            ExitCode::Temporary
        );
        soft.rejected(Phase::FinalDot, 554, Duration::ZERO);
        assert_eq!(
            report(soft, StopReason::Count).exit_code(),
            ExitCode::Permanent
        );

        let mut lost = t.clone();
        lost.failed(Phase::FinalDot, "lost", ExitCode::Unknown);
        assert_eq!(
            report(lost, StopReason::Count).exit_code(),
            ExitCode::Temporary
        );

        let mut down = Tally::default();
        down.session_failed(Phase::Connect, "refused", ExitCode::Connection);
        let r = report(down, StopReason::Sessions);
        assert_eq!(r.exit_code(), ExitCode::Connection);
        assert_eq!(r.not_started(), Some(10));
        let mut tls = Tally::default();
        tls.session_failed(Phase::TlsHandshake, "bad cert", ExitCode::Tls);
        assert_eq!(report(tls, StopReason::Sessions).exit_code(), ExitCode::Tls);
    }

    #[test]
    fn rejections_most_frequent_first() {
        let mut t = Tally::default();
        t.rejected(Phase::Rcpt, 550, Duration::ZERO);
        for _ in 0..3 {
            t.rejected(Phase::Rcpt, 450, Duration::ZERO);
        }
        t.rejected(Phase::Mail, 451, Duration::ZERO);
        let r = report(t, StopReason::Count);
        assert_eq!(
            r.rejections(),
            [
                (Phase::Rcpt, 450, 3),
                (Phase::Mail, 451, 1),
                (Phase::Rcpt, 550, 1)
            ]
        );
    }
}
