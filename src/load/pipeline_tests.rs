//! The pipeline against an in-memory SMTP server that keeps transaction state as a real
//! one does (a MAIL while a transaction is open is 503, DATA with no recipient is 554),
//! so a missing RSET or a reply read out of turn shows up as a wrong count.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;
use crate::smtp::ReversePath;

type Rule = Box<dyn Fn(u64) -> u16>;

/// Reply codes by the server's own count of that command (0-based), or for RCPT by the
/// recipient's counter value.
struct Rules {
    mail: Rule,
    rcpt: Rule,
    data: Rule,
    dot: Rule,
    /// DATA answered 354 even without a valid recipient (a lax server).
    lax_data: bool,
    /// Every command that came in the same write as a final dot is answered 503, as
    /// servers hardened against SMTP smuggling do.
    refuse_after_dot: bool,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            mail: Box::new(|_| 250),
            rcpt: Box::new(|_| 250),
            data: Box::new(|_| 354),
            dot: Box::new(|_| 250),
            lax_data: false,
            refuse_after_dot: false,
        }
    }
}

#[derive(Default)]
struct Counts {
    mail: u64,
    data: u64,
    dot: u64,
}

enum Reading {
    Commands,
    Data,
    Bdat { left: usize, last: bool },
}

struct FakeServer {
    rules: Rules,
    inbox: Vec<u8>,
    reading: Reading,
    replies: VecDeque<u16>,
    in_transaction: bool,
    good_rcpts: u32,
    counts: Counts,
    /// Messages the server took (2xx to the dot or BDAT LAST).
    stored: u64,
    nested_mail: u64,
    /// Lines left in this write after a dot, refused under `refuse_after_dot`.
    refusing: bool,
    closed: bool,
}

impl FakeServer {
    fn new(rules: Rules) -> FakeServer {
        FakeServer {
            rules,
            inbox: Vec::new(),
            reading: Reading::Commands,
            replies: VecDeque::new(),
            in_transaction: false,
            good_rcpts: 0,
            counts: Counts::default(),
            stored: 0,
            nested_mail: 0,
            refusing: false,
            closed: false,
        }
    }

    fn reply(&mut self, code: u16) {
        if !self.closed {
            self.replies.push_back(code);
        }
        if code == 421 {
            self.closed = true;
        }
    }

    fn reset(&mut self) {
        self.in_transaction = false;
        self.good_rcpts = 0;
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.inbox.extend_from_slice(bytes);
        self.refusing = false;
        loop {
            match self.reading {
                Reading::Bdat { left, last } => {
                    if self.inbox.len() < left {
                        return;
                    }
                    self.inbox.drain(..left);
                    self.reading = Reading::Commands;
                    let ok = self.in_transaction && self.good_rcpts > 0;
                    if !ok {
                        self.reply(503);
                    } else if last {
                        let code = (self.rules.dot)(self.counts.dot);
                        self.counts.dot += 1;
                        self.stored += u64::from((200..300).contains(&code));
                        self.reply(code);
                        self.reset();
                    } else {
                        self.reply(250);
                    }
                }
                _ => {
                    let Some(nl) = self.inbox.windows(2).position(|w| w == b"\r\n") else {
                        return;
                    };
                    let line = String::from_utf8(self.inbox[..nl].to_vec()).unwrap();
                    self.inbox.drain(..nl + 2);
                    self.line(&line);
                }
            }
        }
    }

    fn line(&mut self, line: &str) {
        if let Reading::Data = self.reading {
            if line == "." {
                self.reading = Reading::Commands;
                if self.good_rcpts == 0 {
                    self.reply(554);
                } else {
                    let code = (self.rules.dot)(self.counts.dot);
                    self.counts.dot += 1;
                    self.stored += u64::from((200..300).contains(&code));
                    self.reply(code);
                }
                self.reset();
                self.refusing = self.rules.refuse_after_dot && !self.inbox.is_empty();
            }
            return;
        }
        if self.refusing {
            self.reply(503);
            return;
        }
        let verb = line.split([' ', ':']).next().unwrap_or("");
        match verb {
            "MAIL" => {
                if self.in_transaction {
                    self.nested_mail += 1;
                    self.reply(503);
                    return;
                }
                let code = (self.rules.mail)(self.counts.mail);
                self.counts.mail += 1;
                self.in_transaction = (200..300).contains(&code);
                self.reply(code);
            }
            "RCPT" => {
                if !self.in_transaction {
                    self.reply(503);
                    return;
                }
                let digits: String = line.chars().filter(char::is_ascii_digit).collect();
                let code = (self.rules.rcpt)(digits.parse().unwrap_or(0));
                self.good_rcpts += u32::from((200..300).contains(&code));
                self.reply(code);
            }
            "DATA" => {
                let code = if self.good_rcpts == 0 && !self.rules.lax_data {
                    554
                } else {
                    let c = (self.rules.data)(self.counts.data);
                    self.counts.data += 1;
                    c
                };
                if code == 354 {
                    self.reading = Reading::Data;
                } else if code != 421 {
                    self.reset();
                }
                self.reply(code);
            }
            "BDAT" => {
                let mut words = line.split(' ').skip(1);
                let left = words.next().unwrap().parse().unwrap();
                let last = words.next() == Some("LAST");
                self.reading = Reading::Bdat { left, last };
            }
            "RSET" => {
                self.reset();
                self.reply(250);
            }
            "QUIT" => self.reply(221),
            other => panic!("unexpected command {other:?} in {line:?}"),
        }
    }
}

struct Run {
    tally: Tally,
    server: FakeServer,
    writes: usize,
    end: Next,
    /// What `take_dot_refusal` gave: the server refused commands after a dot.
    dot_refusal: Option<String>,
}

fn workload(rcpts: u32, chunking: bool) -> Arc<Workload> {
    Arc::new(
        Workload::new(
            ReversePath::parse("a@example.test").unwrap(),
            RecipientPattern::parse("u{n}@example.test", 1_000_000).unwrap(),
            rcpts,
            b"Subject: t\r\n\r\n.leading dot\r\nbody\r\n",
            chunking,
        )
        .unwrap(),
    )
}

/// Drives one session as the async worker does: `messages` to send on it; with
/// `lost_after`, the connection is lost right after that many writes, unanswered.
fn session(
    shape: Shape,
    rcpts: u32,
    rules: Rules,
    messages: u64,
    lost_after: Option<usize>,
) -> Run {
    let w = workload(rcpts, shape.chunking);
    let mut pipe = Pipeline::new(shape, w.clone(), b"MAIL FROM:<a@example.test>\r\n".to_vec());
    let mut server = FakeServer::new(rules);
    let mut tally = Tally::default();
    let mut out = Outgoing::default();
    let mut next = 0u64;
    let mut claim = || {
        (next < messages).then(|| {
            next += 1;
            next - 1
        })
    };
    let t0 = Instant::now();
    let now = |i: usize| t0 + Duration::from_micros(i as u64);
    match claim() {
        Some(k) => pipe.start(k, now(0), &mut out, &mut tally),
        None => pipe.quit(&mut out),
    }
    let mut writes = 0;
    let mut bytes = Vec::new();
    let mut dot_refusal = None;
    let end = 'session: loop {
        bytes.clear();
        bytes.extend_from_slice(&out.head);
        bytes.extend_from_slice(out.content_bytes(&w));
        bytes.extend_from_slice(&out.tail);
        server.feed(&bytes);
        pipe.wrote();
        out.clear();
        writes += 1;
        assert!(writes < 10_000, "runaway session");
        if lost_after == Some(writes) {
            pipe.fail_all("lost", ExitCode::Temporary, &mut tally);
            break Next::Close;
        }
        loop {
            let Some(code) = server.replies.pop_front() else {
                pipe.fail_all(
                    "the server closed the connection",
                    ExitCode::Temporary,
                    &mut tally,
                );
                break 'session Next::Close;
            };
            let reply = Reply::new(code, &["x"]);
            let next = pipe.on_reply(&reply, now(writes), &mut out, &mut tally);
            if let Some(r) = pipe.take_dot_refusal() {
                assert!(dot_refusal.is_none(), "the refusal is reported once");
                assert!(pipe.shape().dot_alone);
                dot_refusal = Some(r);
            }
            match next {
                Next::Read => {}
                Next::Write { open } => {
                    if open {
                        match claim() {
                            Some(k) => pipe.start(k, now(writes), &mut out, &mut tally),
                            None => pipe.quit(&mut out),
                        }
                    }
                    break;
                }
                Next::Idle => {
                    match claim() {
                        Some(k) => pipe.start(k, now(writes), &mut out, &mut tally),
                        None => pipe.quit(&mut out),
                    }
                    break;
                }
                end @ (Next::Close | Next::Done) => break 'session end,
            }
        }
    };
    assert_eq!(pipe.in_flight(), 0, "every message counted");
    assert_eq!(tally.started, tally.finished(), "{tally:?}");
    Run {
        tally,
        server,
        writes,
        end,
        dot_refusal,
    }
}

const PIPELINED: Shape = Shape {
    pipelining: true,
    chunking: false,
    dot_alone: false,
};
const SEQUENTIAL: Shape = Shape {
    pipelining: false,
    chunking: false,
    dot_alone: false,
};
const CHUNKED: Shape = Shape {
    pipelining: true,
    chunking: true,
    dot_alone: false,
};
const CHUNKED_SEQUENTIAL: Shape = Shape {
    pipelining: false,
    chunking: true,
    dot_alone: false,
};

#[test]
fn pipelined_messages_cost_one_round_trip_each() {
    let r = session(PIPELINED, 1, Rules::default(), 10, None);
    assert_eq!(r.end, Next::Done);
    assert_eq!(r.tally.accepted, 10);
    assert_eq!(r.server.stored, 10);
    // MAIL+RCPT+DATA, then content with the next envelope (or QUIT) nine times, then
    // the last content with QUIT.
    assert_eq!(r.writes, 11);
    assert_eq!(r.tally.rcpt_accepted, 10);
    let wire = workload(1, false).data_wire().len() as u64;
    assert_eq!(r.tally.content_bytes, 10 * wire);
}

#[test]
fn without_pipelining_each_command_waits() {
    let r = session(SEQUENTIAL, 2, Rules::default(), 3, None);
    assert_eq!(r.tally.accepted, 3);
    assert_eq!(r.server.stored, 3);
    // MAIL, RCPT, RCPT, DATA, content: five writes a message, then QUIT.
    assert_eq!(r.writes, 3 * 5 + 1);
}

#[test]
fn chunking_sends_envelope_and_content_together() {
    let r = session(CHUNKED, 1, Rules::default(), 4, None);
    assert_eq!(r.tally.accepted, 4);
    assert_eq!(r.server.stored, 4);
    assert_eq!(r.writes, 5);
    let r = session(CHUNKED_SEQUENTIAL, 1, Rules::default(), 4, None);
    assert_eq!(r.tally.accepted, 4);
    assert_eq!(r.writes, 4 * 3 + 1);
}

#[test]
fn refused_recipients_are_counted_and_reset() {
    for shape in [PIPELINED, SEQUENTIAL, CHUNKED, CHUNKED_SEQUENTIAL] {
        // Every recipient refused: no message is stored, each is rejected at RCPT with
        // 550, and RSET clears the sender so the next MAIL is not nested.
        let rules = Rules {
            rcpt: Box::new(|_| 550),
            ..Rules::default()
        };
        let r = session(shape, 1, rules, 5, None);
        assert_eq!(r.tally.rejected[&(Phase::Rcpt, 550)], 5, "{shape:?}");
        assert_eq!(r.server.nested_mail, 0, "{shape:?}");
        assert_eq!(r.server.stored, 0);
        assert_eq!(r.tally.rcpt_refused[&550], 5);
        assert!(
            r.tally
                .latency_of(super::super::tally::Step::Transaction)
                .summary()
                .is_some()
        );
    }
}

#[test]
fn some_refused_recipients_still_deliver() {
    for shape in [PIPELINED, SEQUENTIAL, CHUNKED] {
        // Recipients u1..u9 (three per message): every third refused temporarily.
        let rules = Rules {
            rcpt: Box::new(|n| if n % 3 == 0 { 450 } else { 250 }),
            ..Rules::default()
        };
        let r = session(shape, 3, rules, 3, None);
        assert_eq!(r.tally.accepted, 3, "{shape:?}");
        assert_eq!(r.tally.rcpt_accepted, 6);
        assert_eq!(r.tally.rcpt_refused[&450], 3);
    }
}

#[test]
fn the_worst_recipient_refusal_is_reported() {
    let rules = Rules {
        rcpt: Box::new(|n| if n % 2 == 0 { 550 } else { 450 }),
        ..Rules::default()
    };
    let r = session(PIPELINED, 2, rules, 2, None);
    assert_eq!(r.tally.rejected[&(Phase::Rcpt, 550)], 2);
}

#[test]
fn refusals_at_each_step_are_counted_by_phase_and_code() {
    for shape in [PIPELINED, SEQUENTIAL] {
        let rules = Rules {
            mail: Box::new(|i| if i == 0 { 451 } else { 250 }),
            data: Box::new(|i| if i == 0 { 554 } else { 354 }),
            dot: Box::new(|i| if i == 0 { 552 } else { 250 }),
            ..Rules::default()
        };
        let r = session(shape, 1, rules, 5, None);
        assert_eq!(r.tally.rejected[&(Phase::Mail, 451)], 1, "{shape:?}");
        assert_eq!(r.tally.rejected[&(Phase::Data, 554)], 1, "{shape:?}");
        assert_eq!(r.tally.rejected[&(Phase::FinalDot, 552)], 1, "{shape:?}");
        assert_eq!(r.tally.accepted, 2);
        assert_eq!(r.server.nested_mail, 0);
    }
}

#[test]
fn a_lax_data_gets_an_empty_body() {
    let rules = Rules {
        rcpt: Box::new(|_| 550),
        lax_data: true,
        ..Rules::default()
    };
    let r = session(PIPELINED, 1, rules, 3, None);
    assert_eq!(r.tally.rejected[&(Phase::Rcpt, 550)], 3);
    assert_eq!(r.server.stored, 0, "the empty body had no recipient");
    assert_eq!(r.server.nested_mail, 0);
    assert_eq!(r.end, Next::Done);
}

#[test]
fn a_421_ends_the_session_and_every_message_in_flight() {
    // The third MAIL gets 421: message 3 is rejected with it; message 2, whose content
    // went in the same write, already had its dot answered.
    let rules = Rules {
        mail: Box::new(|i| if i == 2 { 421 } else { 250 }),
        ..Rules::default()
    };
    let r = session(PIPELINED, 1, rules, 10, None);
    assert_eq!(r.end, Next::Close);
    assert_eq!(r.tally.accepted, 2);
    assert_eq!(r.tally.rejected[&(Phase::Mail, 421)], 1);
    assert_eq!(r.tally.started, 3);
    // A 421 to a dot with the next envelope behind it: that message fails unanswered.
    let rules = Rules {
        dot: Box::new(|i| if i == 1 { 421 } else { 250 }),
        ..Rules::default()
    };
    let r = session(PIPELINED, 1, rules, 10, None);
    assert_eq!(r.tally.accepted, 1);
    assert_eq!(r.tally.rejected[&(Phase::FinalDot, 421)], 1);
    assert_eq!(r.tally.failed[&Phase::Mail].count, 1);
    assert_eq!(r.tally.started, 3);
}

#[test]
fn a_lost_connection_fails_messages_at_the_step_they_waited_for() {
    // After 3 writes: message 0 was answered, message 1's content and message 2's
    // envelope are out. Message 1's dot was sent, so its fate is unknown.
    let r = session(PIPELINED, 1, Rules::default(), 10, Some(3));
    assert_eq!(r.tally.accepted, 1);
    let unknown = &r.tally.failed[&Phase::FinalDot];
    assert_eq!((unknown.count, unknown.exit), (1, ExitCode::Unknown));
    assert_eq!(r.tally.failed[&Phase::Mail].count, 1);
    assert_eq!(r.tally.started, 3);
    let r = session(SEQUENTIAL, 1, Rules::default(), 10, Some(2));
    assert_eq!(r.tally.failed[&Phase::Rcpt].count, 1);
}

#[test]
fn an_unwritten_body_is_not_an_unknown_outcome() {
    let w = workload(1, false);
    let mut pipe = Pipeline::new(PIPELINED, w, b"MAIL FROM:<a@example.test>\r\n".to_vec());
    let (mut tally, mut out, now) = (Tally::default(), Outgoing::default(), Instant::now());
    pipe.start(0, now, &mut out, &mut tally);
    pipe.wrote();
    out.clear();
    for code in [250, 250] {
        assert_eq!(
            pipe.on_reply(&Reply::new(code, &[]), now, &mut out, &mut tally),
            Next::Read
        );
    }
    let next = pipe.on_reply(&Reply::new(354, &[]), now, &mut out, &mut tally);
    assert_eq!(next, Next::Write { open: true });
    assert!(matches!(out.content, Some(Content::Data(_))));
    // The write of the content fails: the dot never went.
    pipe.fail_all("reset", ExitCode::Temporary, &mut tally);
    assert_eq!(tally.failed[&Phase::Body].count, 1);
}

#[test]
fn protocol_violations_close_the_connection() {
    let rules = Rules {
        data: Box::new(|i| if i == 1 { 250 } else { 354 }),
        ..Rules::default()
    };
    let r = session(PIPELINED, 1, rules, 5, None);
    assert_eq!(r.end, Next::Close);
    assert_eq!(r.tally.accepted, 1);
    let v = &r.tally.failed[&Phase::Data];
    assert_eq!((v.count, v.exit), (1, ExitCode::Protocol));
    assert!(v.reason.contains("DATA answered with 250"), "{}", v.reason);
}

#[test]
fn a_server_refusing_commands_after_the_dot_gets_each_dot_alone() {
    let rules = Rules {
        refuse_after_dot: true,
        ..Rules::default()
    };
    let r = session(PIPELINED, 2, rules, 10, None);
    assert_eq!(r.end, Next::Done);
    assert_eq!(r.tally.accepted, 10, "{:?}", r.tally);
    assert_eq!(r.tally.rejected_total(), 0, "{:?}", r.tally.rejected);
    assert_eq!(r.tally.failed_total(), 0);
    assert_eq!(r.server.stored, 10, "each message stored once");
    // The refused MAIL's RCPTs (503) belong to the transaction sent again.
    assert_eq!(r.tally.rcpt_accepted, 20);
    assert!(
        r.tally.rcpt_refused.is_empty(),
        "{:?}",
        r.tally.rcpt_refused
    );
    // Envelope; content with the second envelope, refused; that envelope again; then
    // content and envelope in writes of their own; QUIT alone.
    assert_eq!(r.writes, 2 * 10 + 1);
    assert_eq!(r.dot_refusal.as_deref(), Some("503 x"));

    // A later session of the run starts with the dot alone: nothing is refused.
    let rules = Rules {
        refuse_after_dot: true,
        ..Rules::default()
    };
    let shape = Shape {
        dot_alone: true,
        ..PIPELINED
    };
    let r = session(shape, 1, rules, 5, None);
    assert_eq!((r.tally.accepted, r.server.stored), (5, 5));
    assert_eq!(r.server.counts.mail, 5, "no MAIL refused");
    assert_eq!(r.writes, 2 * 5 + 1);
    assert_eq!(r.dot_refusal, None);
}

#[test]
fn a_message_refused_again_alone_is_rejected_once() {
    // Every MAIL but the first is 503, riding or not: the second message is sent once
    // more, alone, and then counted as rejected; no message loops.
    let rules = Rules {
        mail: Box::new(|i| if i == 0 { 250 } else { 503 }),
        ..Rules::default()
    };
    let r = session(PIPELINED, 1, rules, 4, None);
    assert_eq!(r.end, Next::Done);
    assert_eq!(r.tally.accepted, 1);
    assert_eq!(r.tally.rejected[&(Phase::Mail, 503)], 3);
    assert_eq!(
        r.server.counts.mail, 5,
        "message 2 tried twice, 3 and 4 once"
    );
}

#[test]
fn which_mail_refusals_mean_no_pipelining_after_the_dot() {
    let cases = [
        (503, "5.5.0 pipelined after end of DATA", true),
        (503, "5.5.1 Error: command pipelined after DATA", true),
        (503, "bad sequence of commands", true),
        (
            554,
            "5.5.0 Error: SMTP protocol synchronization, pipelining refused",
            true,
        ),
        (550, "5.7.1 Pipelining not allowed here", true),
        (550, "5.1.8 sender rejected", false),
        (451, "4.5.0 pipelined after end of DATA", false),
        (250, "2.1.0 Ok", false),
    ];
    for (code, text, refused) in cases {
        let reply = Reply::new(code, &[text]);
        assert_eq!(
            refuses_pipelining_after_dot(&reply),
            refused,
            "{code} {text}"
        );
    }
    // A MAIL that did not follow a dot in its write is never taken for this: a 503
    // there is an ordinary refusal (see a_message_refused_again_alone_is_rejected_once).
}

#[test]
fn a_session_with_no_message_just_quits() {
    let r = session(PIPELINED, 1, Rules::default(), 0, None);
    assert_eq!((r.end, r.writes, r.tally.started), (Next::Done, 1, 0));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    /// Whatever the server answers, every started message is counted once, accepted
    /// exactly when the server stored it, and no MAIL ever lands in an open transaction.
    #[test]
    fn counts_are_exact_whatever_the_replies(
        shape in prop::sample::select(vec![PIPELINED, SEQUENTIAL, CHUNKED, CHUNKED_SEQUENTIAL]),
        rcpts in 1u32..4,
        messages in 0u64..12,
        mail in prop::collection::vec(prop::sample::select(vec![250u16, 250, 451, 550]), 16),
        rcpt in prop::collection::vec(prop::sample::select(vec![250u16, 250, 250, 450, 550]), 64),
        data in prop::collection::vec(prop::sample::select(vec![354u16, 354, 451, 554]), 16),
        dot in prop::collection::vec(prop::sample::select(vec![250u16, 250, 451, 552]), 16),
        lax in any::<bool>(),
        refuse_after_dot in any::<bool>(),
    ) {
        let pick = |v: Vec<u16>| -> Rule { Box::new(move |i| v[(i as usize) % v.len()]) };
        let rules = Rules {
            mail: pick(mail),
            rcpt: pick(rcpt),
            data: pick(data),
            dot: pick(dot),
            lax_data: lax,
            refuse_after_dot,
        };
        let r = session(shape, rcpts, rules, messages, None);
        prop_assert_eq!(r.end, Next::Done);
        prop_assert_eq!(r.tally.started, messages);
        prop_assert_eq!(r.tally.finished(), messages);
        prop_assert_eq!(r.tally.accepted, r.server.stored);
        prop_assert_eq!(r.server.nested_mail, 0);
        prop_assert_eq!(r.tally.failed_total(), 0);
    }
}
