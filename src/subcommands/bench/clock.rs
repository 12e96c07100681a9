//! The latency of each step `open()` takes (connect, greeting, EHLO, TLS handshake,
//! AUTH), read from the session's events: bench times them without a transcript.

use std::time::Duration;

use crate::load::tally::{Step, Tally};
use crate::session::{Event, EventSink, Timed};

/// Collects one session's samples; [`OpenClock::flush`] moves them into a tally. After
/// the session is open, replies come with no command event before them (bench writes its
/// transactions directly), so they are ignored at the cost of one comparison.
#[derive(Debug, Default)]
pub(super) struct OpenClock {
    awaiting: Option<Step>,
    /// The greeting's reply time counts from the start of the connect; the connect's
    /// share is taken off so that each step stands alone.
    connect: Duration,
    /// When the first AUTH command went, for exchanges with several round trips.
    auth_since: Option<Duration>,
    samples: Vec<(Step, Duration)>,
}

impl OpenClock {
    pub fn flush(&mut self, tally: &mut Tally) {
        for (step, took) in self.samples.drain(..) {
            tally.latency(step, took);
        }
        self.awaiting = None;
        self.auth_since = None;
    }
}

impl EventSink for OpenClock {
    fn emit(&mut self, timed: Timed) {
        match timed.event {
            Event::Connected { took, .. } => {
                self.samples.push((Step::Connect, took));
                self.connect = took;
                self.awaiting = Some(Step::Greeting);
            }
            Event::CommandSent { line, .. } => {
                self.awaiting = if line.starts_with("EHLO ") || line.starts_with("HELO ") {
                    Some(Step::Ehlo)
                } else if line.starts_with("AUTH ") || self.auth_since.is_some() {
                    self.auth_since.get_or_insert(timed.at);
                    Some(Step::Auth)
                } else {
                    None
                };
            }
            Event::ReplyReceived { reply, took, .. } => match self.awaiting.take() {
                Some(Step::Auth) if reply.code.value() != 334 => {
                    if let Some(since) = self.auth_since.take() {
                        self.samples
                            .push((Step::Auth, timed.at.saturating_sub(since)));
                    }
                }
                Some(Step::Greeting) => self
                    .samples
                    .push((Step::Greeting, took.saturating_sub(self.connect))),
                Some(Step::Ehlo) => self.samples.push((Step::Ehlo, took)),
                _ => {}
            },
            Event::TlsEstablished { info } => {
                let took = Duration::from_secs_f64(info.handshake_ms.max(0.0) / 1000.0);
                self.samples.push((Step::TlsHandshake, took));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Channel;
    use crate::smtp::Reply;

    fn at(ms: u64, event: Event) -> Timed {
        Timed {
            at: Duration::from_millis(ms),
            event,
        }
    }

    fn sent(ms: u64, line: &str) -> Timed {
        at(
            ms,
            Event::CommandSent {
                line: line.into(),
                secret: false,
                channel: Channel::Plain,
            },
        )
    }

    fn reply(ms: u64, code: u16, took: u64) -> Timed {
        at(
            ms,
            Event::ReplyReceived {
                reply: Reply::new(code, &["x"]),
                took: Duration::from_millis(took),
                channel: Channel::Plain,
            },
        )
    }

    #[test]
    fn steps_are_timed_and_transaction_replies_ignored() {
        let mut clock = OpenClock::default();
        let local = "127.0.0.1:1".parse().unwrap();
        for e in [
            at(
                1,
                Event::Connected {
                    peer: local,
                    local,
                    took: Duration::from_millis(1),
                    via: crate::net::transport::Via::Tcp { bind: None },
                },
            ),
            reply(3, 220, 2),
            sent(3, "EHLO [127.0.0.1]"),
            reply(4, 250, 1),
            sent(4, "AUTH LOGIN"),
            reply(5, 334, 1),
            sent(5, "[redacted: 8 bytes]"),
            reply(6, 334, 1),
            sent(6, "[redacted: 8 bytes]"),
            reply(9, 235, 3),
            // A pipelined transaction: no command events, then the replies.
            reply(10, 250, 1),
            reply(10, 250, 1),
            reply(10, 354, 1),
        ] {
            clock.emit(e);
        }
        let mut tally = Tally::default();
        clock.flush(&mut tally);
        let count = |s: Step| tally.latency_of(s).summary().map_or(0, |l| l.count);
        assert_eq!(count(Step::Connect), 1);
        assert_eq!(count(Step::Greeting), 1);
        assert_eq!(count(Step::Ehlo), 1);
        assert_eq!(count(Step::Auth), 1);
        assert_eq!(count(Step::Transaction), 0);
        let auth = tally.latency_of(Step::Auth).summary().unwrap();
        assert!(auth.max >= Duration::from_millis(5) && auth.max < Duration::from_millis(6));
    }
}
