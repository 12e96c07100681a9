//! Back-to-back mail transactions on one connection, without I/O: which bytes go out
//! next, and what each reply means for the message it answers. The session driver only
//! writes what this says and feeds back the replies it reads, so every decision is
//! tested here without sockets.
//!
//! With PIPELINING (RFC 2920) a message's MAIL, RCPTs and DATA go in one write, and its
//! content goes in the same write as the next message's MAIL, RCPTs and DATA: §3.1 lets
//! message content be the first "command" of a group and DATA its last. After the first
//! message, each one costs a single round trip. With CHUNKING (RFC 3030) MAIL, the RCPTs
//! and every BDAT chunk go in one write. Without PIPELINING each command waits for its
//! reply.
//!
//! Replies come in the order of their commands (RFC 2920 §3.1), and a message's replies
//! all come before the next message's, so the oldest message in flight is always the one
//! a message reply is about.
//!
//! Servers hardened against SMTP smuggling answer 503 to any command that arrived in the
//! same packet as a final dot. When the MAIL that rode after a dot is refused that way,
//! the message was not taken: it is sent again with its envelope in a write of its own,
//! and from then on every dot goes alone and its reply is awaited before the next
//! envelope (`Shape::dot_alone`). MAIL, RCPTs and DATA of one message still go together.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

pub use super::outgoing::{Content, Outgoing};
use super::pattern::RecipientPattern;
use super::tally::Tally;
use super::workload::Workload;
use crate::outcome::{ExitCode, Phase};
use crate::smtp::{Reply, ReplyClass};

/// How this session's transactions go, from the server's EHLO.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub pipelining: bool,
    /// BDAT instead of DATA.
    pub chunking: bool,
    /// The final dot goes in a write of its own and the next envelope waits for its
    /// reply: the server refused commands pipelined after a dot.
    pub dot_alone: bool,
}

/// What the driver does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Read another reply.
    Read,
    /// Write the outgoing bytes, then read. When `open`, the write ends with message
    /// content and PIPELINING lets the next message's commands (or QUIT) join it.
    Write { open: bool },
    /// Nothing is in flight: start the next message or QUIT.
    Idle,
    /// The server is closing (421) or broke the protocol: drop the connection. Every
    /// message in flight has been counted.
    Close,
    /// QUIT was answered.
    Done,
}

/// The reply a command waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Rset,
    Mail,
    Rcpt,
    Data,
    /// The final dot after the content.
    Dot,
    /// The dot of an empty body, sent only to end a DATA that a refused envelope left
    /// open; its message is already counted.
    EmptyDot,
    Bdat,
    BdatLast,
    Quit,
}

impl Expect {
    fn phase(self) -> Phase {
        match self {
            Expect::Rset => Phase::Mail,
            Expect::Mail => Phase::Mail,
            Expect::Rcpt => Phase::Rcpt,
            Expect::Data => Phase::Data,
            Expect::Dot | Expect::EmptyDot => Phase::FinalDot,
            Expect::Bdat => Phase::Bdat,
            Expect::BdatLast => Phase::BdatLast,
            Expect::Quit => Phase::Quit,
        }
    }
}

/// A message whose transaction has not ended.
#[derive(Debug)]
struct InFlight {
    ticket: u64,
    started: Instant,
    /// Without PIPELINING: RSET went first, MAIL waits for its reply.
    after_rset: bool,
    mail: Option<u16>,
    rcpts_sent: u32,
    rcpts_answered: u32,
    rcpts_accepted: u32,
    /// The refusal to report if no recipient is accepted: the first 5xx, else the first.
    rcpt_refusal: Option<u16>,
    data: Option<u16>,
    chunks_sent: usize,
    chunks_answered: usize,
    chunk_refusal: Option<(Phase, u16)>,
    /// Its MAIL went in the same write as the previous message's final dot.
    rode_after_dot: bool,
    /// That MAIL was refused for riding there: the replies to its RCPTs and DATA are not
    /// counted, and the message is sent again.
    refused_riding: bool,
    /// This is that second try.
    sent_again: bool,
}

impl InFlight {
    fn new(ticket: u64, started: Instant) -> InFlight {
        InFlight {
            ticket,
            started,
            after_rset: false,
            mail: None,
            rcpts_sent: 0,
            rcpts_answered: 0,
            rcpts_accepted: 0,
            rcpt_refusal: None,
            data: None,
            chunks_sent: 0,
            chunks_answered: 0,
            chunk_refusal: None,
            rode_after_dot: false,
            refused_riding: false,
            sent_again: false,
        }
    }

    fn mail_accepted(&self) -> bool {
        self.mail.is_some_and(|c| (200..300).contains(&c))
    }

    /// Why the envelope cannot carry content, as the phase and code to report.
    fn envelope_refusal(&self) -> Option<(Phase, u16)> {
        match self.mail {
            Some(code) if !(200..300).contains(&code) => Some((Phase::Mail, code)),
            _ if self.rcpts_accepted == 0 => self.rcpt_refusal.map(|c| (Phase::Rcpt, c)),
            _ => None,
        }
    }
}

pub struct Pipeline {
    shape: Shape,
    workload: Arc<Workload>,
    /// This session's `MAIL FROM` line (its parameters depend on the server).
    mail: Vec<u8>,
    expected: VecDeque<Expect>,
    in_flight: VecDeque<InFlight>,
    /// A transaction ended after MAIL was accepted and before its content was answered,
    /// so the server still holds its sender: RSET before the next MAIL (RFC 5321 §4.1.1.5).
    rset_due: bool,
    /// The last output has not been reported written.
    unwritten: bool,
    /// A message refused for riding after a dot, whose transaction's replies are all in:
    /// it goes again once nothing else is awaited.
    again: Option<InFlight>,
    /// The refusal that set `Shape::dot_alone`, until the driver takes it.
    dot_refusal: Option<String>,
}

impl Pipeline {
    pub fn new(shape: Shape, workload: Arc<Workload>, mail: Vec<u8>) -> Pipeline {
        let rcpts = workload.rcpts as usize;
        Pipeline {
            shape,
            workload,
            mail,
            // Two messages' replies at most, plus RSET and QUIT.
            expected: VecDeque::with_capacity(2 * (rcpts + 3) + 2),
            in_flight: VecDeque::with_capacity(2),
            rset_due: false,
            unwritten: false,
            again: None,
            dot_refusal: None,
        }
    }

    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// Messages started and not yet counted.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len() + usize::from(self.again.is_some())
    }

    /// The reply (code and text) with which the server refused a command pipelined
    /// after a final dot, once: from then on this pipeline sends each dot alone.
    pub fn take_dot_refusal(&mut self) -> Option<String> {
        self.dot_refusal.take()
    }

    /// The phase whose reply comes next, for its timeout and error messages.
    pub fn waiting_for(&self) -> Phase {
        self.expected.front().map_or(Phase::Quit, |e| e.phase())
    }

    /// Starts message `ticket`: its commands go into `out`, all of them with PIPELINING
    /// (and with CHUNKING its content too), otherwise the first.
    pub fn start(&mut self, ticket: u64, now: Instant, out: &mut Outgoing, tally: &mut Tally) {
        tally.started += 1;
        self.begin(InFlight::new(ticket, now), out);
    }

    fn begin(&mut self, mut m: InFlight, out: &mut Outgoing) {
        m.rode_after_dot = self.shape.pipelining
            && self.unwritten
            && matches!(self.expected.back(), Some(Expect::Dot | Expect::EmptyDot));
        if std::mem::take(&mut self.rset_due) {
            out.commands().extend_from_slice(b"RSET\r\n");
            self.expected.push_back(Expect::Rset);
            if !self.shape.pipelining {
                m.after_rset = true;
                self.in_flight.push_back(m);
                self.unwritten = true;
                return;
            }
        }
        self.envelope(&mut m, out);
        self.in_flight.push_back(m);
        self.unwritten = true;
    }

    /// QUIT, last in `out`.
    pub fn quit(&mut self, out: &mut Outgoing) {
        out.commands().extend_from_slice(b"QUIT\r\n");
        self.expected.push_back(Expect::Quit);
        self.unwritten = true;
    }

    /// Whether QUIT has been queued: nothing is written after it.
    pub fn quit_queued(&self) -> bool {
        self.expected.back() == Some(&Expect::Quit)
    }

    /// The driver wrote everything `out` held.
    pub fn wrote(&mut self) {
        self.unwritten = false;
    }

    /// MAIL; with PIPELINING also every RCPT and DATA (or every BDAT chunk).
    fn envelope(&mut self, m: &mut InFlight, out: &mut Outgoing) {
        out.commands().extend_from_slice(&self.mail);
        self.expected.push_back(Expect::Mail);
        if !self.shape.pipelining {
            return;
        }
        for i in 0..self.workload.rcpts {
            self.rcpt(m, i, out);
        }
        if self.shape.chunking {
            let all = 0..self.workload.bdat_wire().len();
            out.content = Some(Content::Bdat(all));
            let n = self.workload.chunks().len();
            for i in 0..n {
                self.expected.push_back(if i + 1 == n {
                    Expect::BdatLast
                } else {
                    Expect::Bdat
                });
            }
            m.chunks_sent = n;
        } else {
            out.commands().extend_from_slice(b"DATA\r\n");
            self.expected.push_back(Expect::Data);
        }
    }

    fn rcpt(&mut self, m: &mut InFlight, index: u32, out: &mut Outgoing) {
        let n = RecipientPattern::n(m.ticket, index, self.workload.rcpts);
        let buf = out.commands();
        buf.extend_from_slice(b"RCPT TO:<");
        self.workload.to.write(n, buf);
        buf.extend_from_slice(b">\r\n");
        self.expected.push_back(Expect::Rcpt);
        m.rcpts_sent += 1;
    }

    /// Without PIPELINING: BDAT chunk `i` alone.
    fn chunk(&mut self, m: &mut InFlight, i: usize, out: &mut Outgoing) {
        let chunks = self.workload.chunks();
        let last = i + 1 == chunks.len();
        out.content = Some(Content::Bdat(chunks[i].clone()));
        self.expected
            .push_back(if last { Expect::BdatLast } else { Expect::Bdat });
        m.chunks_sent = i + 1;
        self.unwritten = true;
    }

    /// Takes one reply; what it ends is counted in `tally`, and what follows from it is
    /// appended to `out`.
    pub fn on_reply(
        &mut self,
        reply: &Reply,
        now: Instant,
        out: &mut Outgoing,
        tally: &mut Tally,
    ) -> Next {
        let Some(expect) = self.expected.pop_front() else {
            self.fail_all(
                &format!(
                    "protocol violation: a {} reply to no command",
                    reply.code.value()
                ),
                ExitCode::Protocol,
                tally,
            );
            return Next::Close;
        };
        let code = reply.code.value();
        if expect == Expect::Quit {
            return Next::Done;
        }
        // RFC 5321 §3.8: 421 means the server is closing; no more replies will come.
        if code == 421 {
            if is_message_reply(expect)
                && let Some(m) = self.in_flight.pop_front()
            {
                tally.rejected(
                    expect.phase(),
                    code,
                    now.saturating_duration_since(m.started),
                );
            }
            self.fail_all(
                "the server closed the session (421)",
                ExitCode::Temporary,
                tally,
            );
            return Next::Close;
        }
        let unexpected = match expect {
            // DATA is answered 354 or refused; 250 would leave us not knowing whether
            // the server waits for content.
            Expect::Data => {
                code != 354
                    && reply.class() != ReplyClass::TransientNegative
                    && reply.class() != ReplyClass::PermanentNegative
            }
            _ => reply.class() == ReplyClass::Intermediate,
        };
        if unexpected {
            return self.violation(expect, code, tally);
        }
        let positive = reply.class() == ReplyClass::Positive;
        let next = match expect {
            Expect::Rset if !positive => {
                self.fail_all(
                    &format!("RSET was refused ({code})"),
                    ExitCode::Protocol,
                    tally,
                );
                return Next::Close;
            }
            Expect::Rset => self.after_rset(out),
            Expect::EmptyDot | Expect::Quit => None,
            Expect::Mail => self.on_mail(reply, now, out, tally),
            Expect::Rcpt => self.on_rcpt(code, now, out, tally),
            Expect::Data => self.on_data(code, now, out, tally),
            Expect::Dot => {
                let Some(m) = self.in_flight.pop_front() else {
                    return self.violation(expect, code, tally);
                };
                tally.content_bytes += self.workload.data_wire().len() as u64;
                end(tally, &m, None, Phase::FinalDot, code, now);
                None
            }
            Expect::Bdat | Expect::BdatLast => self.on_chunk(expect, code, now, out, tally),
        };
        if let Some(next) = next {
            return next;
        }
        if self.expected.is_empty()
            && let Some(refused) = self.again.take()
        {
            // Sent again, alone, and counted once: `started` does not move.
            let m = InFlight {
                sent_again: true,
                ..InFlight::new(refused.ticket, refused.started)
            };
            self.begin(m, out);
        }
        if !out.is_empty() {
            let open = self.shape.pipelining
                && !self.shape.chunking
                && !self.shape.dot_alone
                && matches!(self.expected.back(), Some(Expect::Dot | Expect::EmptyDot));
            Next::Write { open }
        } else if self.expected.is_empty() {
            Next::Idle
        } else {
            Next::Read
        }
    }

    fn after_rset(&mut self, out: &mut Outgoing) -> Option<Next> {
        if let Some(mut m) = self.in_flight.pop_front() {
            if m.after_rset {
                m.after_rset = false;
                self.envelope(&mut m, out);
                self.unwritten = true;
            }
            self.in_flight.push_front(m);
        }
        None
    }

    fn on_mail(
        &mut self,
        reply: &Reply,
        now: Instant,
        out: &mut Outgoing,
        tally: &mut Tally,
    ) -> Option<Next> {
        let code = reply.code.value();
        let mut m = self.in_flight.pop_front()?;
        m.mail = Some(code);
        if m.rode_after_dot && !m.sent_again && refuses_pipelining_after_dot(reply) {
            m.refused_riding = true;
            if !self.shape.dot_alone {
                self.shape.dot_alone = true;
                self.dot_refusal = Some(format!("{code} {}", reply.lines.join(" ")));
            }
        }
        if self.shape.pipelining {
            self.in_flight.push_front(m);
        } else if m.mail_accepted() {
            self.rcpt(&mut m, 0, out);
            self.unwritten = true;
            self.in_flight.push_front(m);
        } else {
            // Nothing was accepted, so nothing needs resetting.
            end(tally, &m, Some((Phase::Mail, code)), Phase::Mail, code, now);
        }
        None
    }

    fn on_rcpt(
        &mut self,
        code: u16,
        now: Instant,
        out: &mut Outgoing,
        tally: &mut Tally,
    ) -> Option<Next> {
        let mut m = self.in_flight.pop_front()?;
        m.rcpts_answered += 1;
        if m.refused_riding {
            self.in_flight.push_front(m);
            return None;
        }
        tally.recipient(code);
        if (200..300).contains(&code) {
            m.rcpts_accepted += 1;
        } else if m.rcpt_refusal.is_none_or(|c| c < 500 && code >= 500) {
            m.rcpt_refusal = Some(code);
        }
        if self.shape.pipelining || !m.mail_accepted() {
            self.in_flight.push_front(m);
            return None;
        }
        if m.rcpts_sent < self.workload.rcpts {
            let i = m.rcpts_sent;
            self.rcpt(&mut m, i, out);
            self.unwritten = true;
        } else if m.rcpts_accepted == 0 {
            // RFC 2920 §3.1 / RFC 5321 §4.1.1.4: no recipient, no DATA.
            let refusal = m.envelope_refusal();
            self.rset_due = true;
            end(tally, &m, refusal, Phase::Rcpt, code, now);
            return None;
        } else if self.shape.chunking {
            self.chunk(&mut m, 0, out);
        } else {
            out.commands().extend_from_slice(b"DATA\r\n");
            self.expected.push_back(Expect::Data);
            self.unwritten = true;
        }
        self.in_flight.push_front(m);
        None
    }

    fn on_data(
        &mut self,
        code: u16,
        now: Instant,
        out: &mut Outgoing,
        tally: &mut Tally,
    ) -> Option<Next> {
        let mut m = self.in_flight.pop_front()?;
        m.data = Some(code);
        if m.refused_riding {
            if code == 354 {
                // A lax server opened DATA for the refused envelope: close it empty.
                out.commands().extend_from_slice(b".\r\n");
                self.expected.push_back(Expect::EmptyDot);
                self.unwritten = true;
            }
            self.again = Some(m);
            return None;
        }
        let refusal = m.envelope_refusal();
        if code == 354 {
            self.unwritten = true;
            if refusal.is_none() {
                let all = 0..self.workload.data_wire().len();
                out.content = Some(Content::Data(all));
                self.expected.push_back(Expect::Dot);
                self.in_flight.push_front(m);
            } else {
                // A pipelined DATA was accepted although the envelope was not: end it
                // with an empty body rather than leave the server waiting (RFC 2920 §3.1).
                out.commands().extend_from_slice(b".\r\n");
                self.expected.push_back(Expect::EmptyDot);
                end(tally, &m, refusal, Phase::Data, code, now);
            }
        } else {
            self.rset_due = m.mail_accepted();
            end(tally, &m, refusal, Phase::Data, code, now);
        }
        None
    }

    fn on_chunk(
        &mut self,
        expect: Expect,
        code: u16,
        now: Instant,
        out: &mut Outgoing,
        tally: &mut Tally,
    ) -> Option<Next> {
        let mut m = self.in_flight.pop_front()?;
        m.chunks_answered += 1;
        let positive = (200..300).contains(&code);
        if !positive && m.chunk_refusal.is_none() {
            m.chunk_refusal = Some((expect.phase(), code));
        }
        if expect == Expect::BdatLast {
            let accepted = positive && m.envelope_refusal().is_none() && m.chunk_refusal.is_none();
            if !accepted {
                self.rset_due = m.mail_accepted();
            }
            tally.content_bytes += self.workload.bdat_wire().len() as u64;
            let refusal = m.envelope_refusal().or(m.chunk_refusal);
            end(tally, &m, refusal, Phase::BdatLast, code, now);
            return None;
        }
        if !self.shape.pipelining {
            if positive {
                let i = m.chunks_sent;
                self.chunk(&mut m, i, out);
            } else {
                // RFC 3030 §2: after a failed chunk send no more; the transaction failed.
                self.rset_due = m.mail_accepted();
                end(tally, &m, m.chunk_refusal, Phase::Bdat, code, now);
                return None;
            }
        }
        self.in_flight.push_front(m);
        None
    }

    /// A reply no command could get: the message fails, the connection is dropped.
    fn violation(&mut self, expect: Expect, code: u16, tally: &mut Tally) -> Next {
        let reason = format!(
            "protocol violation: {} answered with {code}",
            match expect {
                Expect::Dot | Expect::EmptyDot => "the final dot",
                Expect::Mail | Expect::Rset => "MAIL",
                Expect::Rcpt => "RCPT",
                Expect::Data => "DATA",
                Expect::Bdat | Expect::BdatLast => "BDAT",
                Expect::Quit => "QUIT",
            }
        );
        if is_message_reply(expect) && self.in_flight.pop_front().is_some() {
            tally.failed(expect.phase(), &reason, ExitCode::Protocol);
        }
        self.fail_all(&reason, ExitCode::Protocol, tally);
        Next::Close
    }

    /// The connection is gone (or abandoned): every message in flight fails at the step
    /// whose reply it was waiting for. One whose content went out in full and whose final
    /// reply never came may or may not have been accepted (RFC 5321 §4.1.1.4).
    pub fn fail_all(&mut self, reason: &str, exit: ExitCode, tally: &mut Tally) {
        if self.again.take().is_some() {
            tally.failed(Phase::Mail, reason, exit);
        }
        while let Some(m) = self.in_flight.pop_front() {
            let phase = self.pending_phase(&m);
            let exit = if phase.commits() && exit != ExitCode::Protocol {
                ExitCode::Unknown
            } else {
                exit
            };
            tally.failed(phase, reason, exit);
        }
        self.expected.clear();
        self.rset_due = false;
    }

    fn pending_phase(&self, m: &InFlight) -> Phase {
        let chunks = self.workload.chunks().len();
        if m.after_rset || m.mail.is_none() || m.refused_riding {
            Phase::Mail
        } else if m.rcpts_answered < m.rcpts_sent.max(1) {
            Phase::Rcpt
        } else if self.shape.chunking {
            if self.unwritten && m.chunks_sent > m.chunks_answered {
                Phase::Body
            } else if m.chunks_answered + 1 >= chunks {
                Phase::BdatLast
            } else {
                Phase::Bdat
            }
        } else if m.data.is_none() {
            Phase::Data
        } else if self.unwritten {
            Phase::Body
        } else {
            Phase::FinalDot
        }
    }
}

/// Whether a refused MAIL that rode after a final dot means the server refuses commands
/// pipelined there: 503 (bad sequence), or any 5xx that says pipelining. Such servers
/// (hardened against SMTP smuggling) take the dot and refuse what followed it in the
/// same packet, so that MAIL was never processed.
pub fn refuses_pipelining_after_dot(reply: &Reply) -> bool {
    let code = reply.code.value();
    code == 503
        || (reply.class() == ReplyClass::PermanentNegative
            && reply
                .lines
                .iter()
                .any(|l| l.to_ascii_lowercase().contains("pipelin")))
}

fn is_message_reply(expect: Expect) -> bool {
    !matches!(expect, Expect::Rset | Expect::EmptyDot | Expect::Quit)
}

/// Counts how a message ended: refused by its envelope (`refusal`), or by the reply
/// (`phase`, `code`) that ended it, or accepted when that reply is 2xx.
fn end(
    tally: &mut Tally,
    m: &InFlight,
    refusal: Option<(Phase, u16)>,
    phase: Phase,
    code: u16,
    now: Instant,
) {
    let took = now.saturating_duration_since(m.started);
    match refusal {
        Some((phase, code)) => tally.rejected(phase, code, took),
        None if (200..300).contains(&code) => tally.accepted(took),
        None => tally.rejected(phase, code, took),
    }
}

#[cfg(test)]
#[path = "pipeline_tests.rs"]
mod tests;
