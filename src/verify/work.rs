//! The addresses of one domain on their way through sessions: which go in the next
//! transaction, what each reply decides, what a lost connection puts back, and how
//! fast a host may be asked. Pure state; the session driver does the I/O.

use std::collections::VecDeque;
use std::time::Duration;

use super::verdict::{CatchAll, Reading, Verdict, accepted, read_rcpt};
use crate::smtp::Reply;

/// RFC 5321 §4.5.3.1.8: a server must take at least 100 recipients per transaction, so
/// no batch is larger; a server that takes fewer says so with 452.
pub const MAX_BATCH: usize = 100;

/// How many times one address is asked when the connection is lost or closed (421)
/// before its answer: once, then once more on a fresh connection.
pub const MAX_ATTEMPTS: u8 = 2;

/// One address settled, with the reply and the words that explain it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decided {
    pub id: usize,
    pub verdict: Verdict,
    pub reply: Option<Reply>,
    /// Why, when the reply alone does not say (or there is no reply).
    pub note: Option<String>,
}

/// The RCPTs of one transaction: the catch-all probe first when it is due, then
/// addresses by id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    pub probe: bool,
    pub ids: Vec<usize>,
}

impl Batch {
    pub fn len(&self) -> usize {
        self.ids.len() + usize::from(self.probe)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How a connection ended before every reply of a batch came.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Loss {
    /// 421: the server closed the channel (RFC 5321 §3.8).
    Closing(Reply),
    /// The connection dropped, timed out or broke the protocol.
    Dropped(String),
}

/// One transaction in flight: the addresses taken from the queue and how far their
/// replies have come.
#[derive(Debug)]
pub struct Round {
    probe: bool,
    taken: Vec<Pending>,
    /// RCPT replies seen, the probe's included.
    seen: usize,
    /// Addresses answered so far.
    next: usize,
    mail: MailState,
    /// The 421 that ended the replies.
    closing: Option<Reply>,
    /// No later reply of this round means anything.
    stopped: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MailState {
    Awaiting,
    Accepted,
    /// Refused: every address is settled already.
    Over,
}

impl Round {
    /// The recipients, as [`Work::next_batch`] showed them.
    pub fn batch(&self) -> Batch {
        Batch {
            probe: self.probe,
            ids: self.taken.iter().map(|p| p.id).collect(),
        }
    }

    /// The server said 421: it is closing the connection (RFC 5321 §3.8).
    pub fn is_closing(&self) -> bool {
        self.closing.is_some()
    }

    /// The 421 that ended the round, if one did.
    pub fn closing_reply(&self) -> Option<&Reply> {
        self.closing.as_ref()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pending {
    id: usize,
    attempts: u8,
}

/// The addresses of one domain (or one share of it) still to be asked.
#[derive(Debug)]
pub struct Work {
    pending: VecDeque<Pending>,
    /// Recipients per transaction: [`MAX_BATCH`], or less once a server said 452.
    limit: usize,
    /// The size the host's [`super::Sizer`] asks for, within `limit`.
    preferred: usize,
    pub catch_all: CatchAll,
}

impl Work {
    /// `limit` is the batch size wanted (at most [`MAX_BATCH`]); `catch_all` what an
    /// earlier pass learned (`NotAsked` sends the probe first).
    pub fn new(ids: impl IntoIterator<Item = usize>, limit: usize, catch_all: CatchAll) -> Work {
        Work {
            pending: ids
                .into_iter()
                .map(|id| Pending { id, attempts: 0 })
                .collect(),
            limit: limit.clamp(1, MAX_BATCH),
            preferred: MAX_BATCH,
            catch_all,
        }
    }

    /// The next batches hold at most `size` recipients (probe included), within the
    /// limit the pace and the server's 452s set.
    pub fn prefer(&mut self, size: usize) {
        self.preferred = size.clamp(1, MAX_BATCH);
    }

    pub fn is_done(&self) -> bool {
        self.pending.is_empty()
    }

    pub fn remaining(&self) -> usize {
        self.pending.len()
    }

    /// The ids still pending, in the order they will be asked.
    pub fn pending_ids(&self) -> impl Iterator<Item = usize> + '_ {
        self.pending.iter().map(|p| p.id)
    }

    /// The next transaction's recipients; None when nothing is left.
    pub fn next_batch(&self) -> Option<Batch> {
        if self.pending.is_empty() {
            return None;
        }
        let probe = !self.catch_all.is_known();
        let room = self
            .limit
            .min(self.preferred)
            .saturating_sub(usize::from(probe))
            .max(1);
        Some(Batch {
            probe,
            ids: self.pending.iter().take(room).map(|p| p.id).collect(),
        })
    }

    /// Takes the next transaction's recipients out of the queue; its replies go to
    /// [`Work::mail_reply`] and [`Work::rcpt_reply`] as they arrive, then
    /// [`Work::end`] settles what they left open.
    pub fn begin(&mut self) -> Option<Round> {
        let batch = self.next_batch()?;
        let taken: Vec<Pending> = self.pending.drain(..batch.ids.len()).collect();
        Some(Round {
            probe: batch.probe,
            taken,
            seen: 0,
            next: 0,
            mail: MailState::Awaiting,
            closing: None,
            stopped: false,
        })
    }

    /// MAIL's reply (or a 421 to the RSET before it).
    pub fn mail_reply(&mut self, round: &mut Round, reply: &Reply) -> Vec<Decided> {
        if round.stopped || round.mail != MailState::Awaiting {
            return Vec::new();
        }
        if reply.code.value() == 421 {
            round.closing = Some(reply.clone());
            round.stopped = true;
            return Vec::new();
        }
        if reply.is_positive() {
            round.mail = MailState::Accepted;
            return Vec::new();
        }
        // Every later transaction would be refused the same way: settle them all.
        round.mail = MailState::Over;
        round.stopped = true;
        let mut all = std::mem::take(&mut round.taken);
        all.extend(self.pending.drain(..));
        self.refused_sender(all, reply)
    }

    /// The next RCPT reply of the round, probe first.
    pub fn rcpt_reply(&mut self, round: &mut Round, reply: &Reply) -> Vec<Decided> {
        if round.stopped || round.mail != MailState::Accepted {
            return Vec::new();
        }
        let position = round.seen;
        round.seen += 1;
        let reading = read_rcpt(reply, position);
        if reading == Reading::Closing {
            round.closing = Some(reply.clone());
            round.stopped = true;
            return Vec::new();
        }
        if round.probe && position == 0 {
            self.catch_all = CatchAll::from_probe(reply);
            return Vec::new();
        }
        let Some(p) = round.taken.get(round.next).copied() else {
            return Vec::new();
        };
        let decided = match reading {
            Reading::Accepted { unverified } => {
                let (verdict, note) = accepted(unverified, &self.catch_all);
                decide(p.id, verdict, Some(reply), note)
            }
            Reading::Decided(verdict) => decide(p.id, verdict, Some(reply), None),
            Reading::TooMany if position == 0 => {
                // Not even one recipient fits: there is no smaller batch to try.
                let note = "the server takes no recipient in a new transaction".into();
                decide(p.id, Verdict::Temporary, Some(reply), Some(note))
            }
            // (Closing was dealt with above.)
            Reading::TooMany | Reading::Closing => {
                // RFC 5321 §4.5.3.1.10: the rest goes in the next transaction, and so
                // many at a time from now on.
                self.limit = position;
                for p in round.taken.drain(round.next..).rev() {
                    self.pending.push_front(p);
                }
                round.stopped = true;
                return Vec::new();
            }
        };
        round.next += 1;
        vec![decided]
    }

    /// The round is over: `sent` RCPTs (probe included) went out, and `loss` says how
    /// the connection ended if it did. Addresses sent but not answered used up an
    /// attempt; those never sent did not. With nothing sent at all the first counts,
    /// so retries stay bounded.
    pub fn end(&mut self, round: Round, sent: usize, loss: Option<Loss>) -> Vec<Decided> {
        let loss = round.closing.map(Loss::Closing).or(loss);
        let mut taken = round.taken;
        match round.mail {
            MailState::Over => Vec::new(),
            // Lost before any recipient was asked: the whole batch tried once.
            MailState::Awaiting => {
                let loss = loss.unwrap_or_else(|| Loss::Dropped("no reply to MAIL".into()));
                self.lost(taken, &loss)
            }
            MailState::Accepted if round.next >= taken.len() => Vec::new(),
            MailState::Accepted => {
                let loss = loss.unwrap_or_else(|| Loss::Dropped("no reply to RCPT".into()));
                let from = round.next;
                let cut = sent
                    .saturating_sub(usize::from(round.probe))
                    .max(from + 1)
                    .min(taken.len());
                let unsent = taken.split_off(cut);
                let tried = taken.split_off(from);
                self.lost_some(tried, unsent, &loss)
            }
        }
    }

    /// A whole round at once: the batch [`Work::next_batch`] showed, MAIL's reply (None
    /// if the connection was lost first), the RCPT replies that came, how many RCPTs
    /// went out, and how the connection ended if it did.
    pub fn answered(
        &mut self,
        batch: &Batch,
        mail: Option<&Reply>,
        rcpts: &[Reply],
        sent: usize,
        loss: Option<Loss>,
    ) -> Vec<Decided> {
        let Some(mut round) = self.begin() else {
            return Vec::new();
        };
        debug_assert_eq!(round.batch(), *batch);
        let mut decided = Vec::new();
        if let Some(mail) = mail {
            decided.extend(self.mail_reply(&mut round, mail));
            for reply in rcpts {
                decided.extend(self.rcpt_reply(&mut round, reply));
            }
        }
        decided.extend(self.end(round, sent, loss));
        decided
    }

    /// The connection could not be opened, or was lost between transactions: every
    /// address still pending counts one attempt.
    pub fn connection_lost(&mut self, loss: &Loss) -> Vec<Decided> {
        let all: Vec<Pending> = self.pending.drain(..).collect();
        self.lost(all, loss)
    }

    /// Settles everything pending with one verdict (a refused greeting, TLS policy, the
    /// overall deadline).
    pub fn settle_all(
        &mut self,
        verdict: Verdict,
        reply: Option<&Reply>,
        note: &str,
    ) -> Vec<Decided> {
        self.pending
            .drain(..)
            .map(|p| decide(p.id, verdict, reply, Some(note.to_string())))
            .collect()
    }

    /// Settles the pending addresses `which` picks (those the server cannot be asked
    /// about, e.g. a non-ASCII local part without SMTPUTF8), keeping the others.
    pub fn settle_where(
        &mut self,
        which: impl Fn(usize) -> bool,
        verdict: Verdict,
        note: &str,
    ) -> Vec<Decided> {
        let (settled, kept): (Vec<Pending>, Vec<Pending>) =
            self.pending.drain(..).partition(|p| which(p.id));
        self.pending.extend(kept);
        settled
            .into_iter()
            .map(|p| decide(p.id, verdict, None, Some(note.to_string())))
            .collect()
    }

    /// Counts an attempt for each address; those that had their second go get their
    /// verdict, the rest go back to the front of the queue, in order.
    fn lost(&mut self, tried: Vec<Pending>, loss: &Loss) -> Vec<Decided> {
        self.lost_some(tried, Vec::new(), loss)
    }

    /// Like [`Work::lost`] for `tried`; `unsent` go back behind them as they were.
    fn lost_some(
        &mut self,
        tried: Vec<Pending>,
        unsent: Vec<Pending>,
        loss: &Loss,
    ) -> Vec<Decided> {
        let mut decided = Vec::new();
        let mut again = Vec::new();
        for mut p in tried {
            p.attempts += 1;
            if p.attempts < MAX_ATTEMPTS {
                again.push(p);
                continue;
            }
            decided.push(match loss {
                Loss::Closing(reply) => decide(
                    p.id,
                    Verdict::Temporary,
                    Some(reply),
                    Some("the server closed the connection twice before answering".into()),
                ),
                Loss::Dropped(why) => decide(p.id, Verdict::Unreachable, None, Some(why.clone())),
            });
        }
        again.extend(unsent);
        for p in again.into_iter().rev() {
            self.pending.push_front(p);
        }
        decided
    }

    fn refused_sender(&mut self, all: Vec<Pending>, mail: &Reply) -> Vec<Decided> {
        let verdict = if mail.class() == crate::smtp::ReplyClass::TransientNegative {
            Verdict::Temporary
        } else {
            Verdict::Policy
        };
        let note = "the sender was refused at MAIL FROM, so the address was not asked";
        all.into_iter()
            .map(|p| decide(p.id, verdict, Some(mail), Some(note.into())))
            .collect()
    }
}

fn decide(id: usize, verdict: Verdict, reply: Option<&Reply>, note: Option<String>) -> Decided {
    Decided {
        id,
        verdict,
        reply: reply.cloned(),
        note,
    }
}

/// How a domain's addresses are shared among sessions: one session unless `per_host`
/// allows more, and then no share smaller than a full batch.
pub fn shares(ids: &[usize], per_host: usize) -> Vec<Vec<usize>> {
    let wanted = ids.len().div_ceil(MAX_BATCH).clamp(1, per_host.max(1));
    let size = ids.len().div_ceil(wanted).max(1);
    ids.chunks(size).map(<[usize]>::to_vec).collect()
}

/// Paces RCPTs to one host: at most `rate` a second, in batches no larger than a
/// second's worth, so a polite rate is not one burst and a long wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pace {
    /// RCPTs per second; None for no limit.
    pub rate: Option<u32>,
    /// When the next batch may go, as time since the run started.
    next: Duration,
}

impl Pace {
    pub fn new(rate: Option<u32>) -> Pace {
        Pace {
            rate: rate.filter(|r| *r > 0),
            next: Duration::ZERO,
        }
    }

    /// The batch size the rate allows.
    pub fn batch_limit(&self) -> usize {
        self.rate
            .map_or(MAX_BATCH, |r| (r as usize).clamp(1, MAX_BATCH))
    }

    /// Books `count` RCPTs at `now`; returns how long to wait before sending them.
    pub fn book(&mut self, now: Duration, count: usize) -> Duration {
        let Some(rate) = self.rate else {
            return Duration::ZERO;
        };
        let start = self.next.max(now);
        let spacing = Duration::from_secs_f64(count as f64 / f64::from(rate));
        self.next = start + spacing;
        start - now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(code: u16, text: &str) -> Reply {
        Reply::new(code, &[text])
    }

    fn ok() -> Reply {
        r(250, "2.1.5 OK")
    }

    fn unknown() -> Reply {
        r(550, "5.1.1 No such user")
    }

    fn verdicts(d: &[Decided]) -> Vec<(usize, Verdict)> {
        d.iter().map(|d| (d.id, d.verdict)).collect()
    }

    #[test]
    fn batches_hold_the_probe_first_and_at_most_the_limit() {
        let work = Work::new(0..250, 100, CatchAll::NotAsked);
        let b = work.next_batch().unwrap();
        assert!(b.probe);
        assert_eq!(b.len(), 100);
        assert_eq!(b.ids, (0..99).collect::<Vec<_>>());
        let work = Work::new(0..250, 500, CatchAll::No);
        assert_eq!(work.next_batch().unwrap().len(), MAX_BATCH);
        let work = Work::new(0..3, 0, CatchAll::NotAsked);
        assert_eq!(
            work.next_batch().unwrap().ids,
            vec![0],
            "never an empty batch"
        );
        assert!(Work::new(0..0, 100, CatchAll::No).next_batch().is_none());
    }

    #[test]
    fn a_whole_batch_settles_against_the_probe() {
        let mut work = Work::new(0..3, 100, CatchAll::NotAsked);
        let b = work.next_batch().unwrap();
        let d = work.answered(
            &b,
            Some(&ok()),
            &[unknown(), ok(), unknown(), r(450, "4.2.0 greylisted")],
            b.len(),
            None,
        );
        assert_eq!(
            verdicts(&d),
            vec![
                (0, Verdict::Deliverable),
                (1, Verdict::Undeliverable),
                (2, Verdict::Temporary)
            ]
        );
        assert!(work.is_done());
        assert_eq!(work.catch_all, CatchAll::No);

        let mut work = Work::new(0..2, 100, CatchAll::NotAsked);
        let b = work.next_batch().unwrap();
        let d = work.answered(&b, Some(&ok()), &[ok(), ok(), unknown()], b.len(), None);
        assert_eq!(
            verdicts(&d),
            vec![(0, Verdict::AcceptAll), (1, Verdict::Undeliverable)]
        );
        assert!(d[0].note.as_deref().unwrap().contains("random local part"));
    }

    #[test]
    fn each_reply_decides_its_address_at_once() {
        let mut work = Work::new(0..2, 100, CatchAll::NotAsked);
        let mut round = work.begin().unwrap();
        assert_eq!(round.batch().len(), 3);
        assert!(work.mail_reply(&mut round, &ok()).is_empty());
        assert!(
            work.rcpt_reply(&mut round, &unknown()).is_empty(),
            "the probe"
        );
        assert_eq!(
            verdicts(&work.rcpt_reply(&mut round, &ok())),
            vec![(0, Verdict::Deliverable)]
        );
        // The connection drops before the last reply: that address goes back.
        let d = work.end(round, 3, Some(Loss::Dropped("reset".into())));
        assert!(d.is_empty());
        assert_eq!(work.next_batch().unwrap().ids, vec![1]);
    }

    #[test]
    fn too_many_recipients_sends_the_rest_in_a_new_transaction_at_once() {
        let mut work = Work::new(0..10, 100, CatchAll::No);
        let b = work.next_batch().unwrap();
        let mut replies = vec![ok(), ok(), ok()];
        replies.extend((0..7).map(|_| r(452, "4.5.3 Too many recipients")));
        let d = work.answered(&b, Some(&ok()), &replies, b.len(), None);
        assert_eq!(d.len(), 3);
        assert_eq!(work.remaining(), 7);
        let b = work.next_batch().unwrap();
        assert_eq!(b.ids, vec![3, 4, 5], "the server's limit is learnt");
        let d = work.answered(&b, Some(&ok()), &[ok(), ok(), ok()], b.len(), None);
        assert_eq!(d.len(), 3);
        assert_eq!(work.next_batch().unwrap().ids, vec![6, 7, 8]);
    }

    #[test]
    fn too_many_on_the_first_recipient_is_a_verdict_not_a_loop() {
        let mut work = Work::new(0..2, 100, CatchAll::No);
        let b = work.next_batch().unwrap();
        let d = work.answered(
            &b,
            Some(&ok()),
            &[r(452, "4.5.3 Too many"), r(452, "4.5.3 Too many")],
            b.len(),
            None,
        );
        assert_eq!(verdicts(&d), vec![(0, Verdict::Temporary)]);
        assert_eq!(work.next_batch().unwrap().ids, vec![1]);
    }

    #[test]
    fn a_421_or_a_drop_is_retried_once() {
        let mut work = Work::new(0..4, 100, CatchAll::No);
        let b = work.next_batch().unwrap();
        let closing = r(421, "4.7.0 Too many, closing");
        let d = work.answered(&b, Some(&ok()), &[ok(), closing.clone()], b.len(), None);
        assert_eq!(verdicts(&d), vec![(0, Verdict::Deliverable)]);
        assert_eq!(work.remaining(), 3);
        let b = work.next_batch().unwrap();
        assert_eq!(b.ids, vec![1, 2, 3], "back in order");
        // Second connection: dropped after one answer.
        let d = work.answered(
            &b,
            Some(&ok()),
            &[unknown()],
            b.len(),
            Some(Loss::Dropped("reset".into())),
        );
        assert_eq!(
            verdicts(&d),
            vec![
                (1, Verdict::Undeliverable),
                (2, Verdict::Unreachable),
                (3, Verdict::Unreachable)
            ]
        );
        assert!(work.is_done());
    }

    #[test]
    fn only_addresses_that_were_asked_use_up_an_attempt() {
        // One command at a time: after the 421, the last address was never sent.
        let mut work = Work::new(0..3, 100, CatchAll::No);
        let closing = r(421, "4.7.0 closing");
        let b = work.next_batch().unwrap();
        let d = work.answered(&b, Some(&ok()), &[ok(), closing.clone()], 2, None);
        assert_eq!(verdicts(&d), vec![(0, Verdict::Deliverable)]);
        let b = work.next_batch().unwrap();
        let d = work.answered(&b, Some(&ok()), &[unknown(), closing.clone()], 2, None);
        assert_eq!(
            verdicts(&d),
            vec![(1, Verdict::Undeliverable)],
            "second try for 1"
        );
        let b = work.next_batch().unwrap();
        assert_eq!(b.ids, vec![2]);
        let d = work.answered(&b, Some(&ok()), &[closing], 1, None);
        assert_eq!(
            verdicts(&d),
            vec![(2, Verdict::Temporary)],
            "its second 421"
        );
        // Nothing sent at all (MAIL refused with 421) still counts, so retries end.
        let mut work = Work::new(0..2, 100, CatchAll::No);
        let mail_closing = r(421, "4.3.2 shutting down");
        for _ in 0..2 {
            let b = work.next_batch().unwrap();
            work.answered(&b, Some(&mail_closing), &[], 0, None);
        }
        assert!(work.is_done());
    }

    #[test]
    fn the_second_421_settles_as_temporary() {
        let mut work = Work::new(0..1, 100, CatchAll::No);
        let closing = r(421, "4.7.0 closing");
        for round in 0..2 {
            let b = work.next_batch().unwrap();
            let d = work.answered(&b, Some(&closing), &[], b.len(), None);
            assert_eq!(d.len(), round);
        }
        assert!(work.is_done());
    }

    #[test]
    fn the_probe_is_asked_again_after_a_lost_connection() {
        let mut work = Work::new(0..2, 100, CatchAll::NotAsked);
        let b = work.next_batch().unwrap();
        let d = work.answered(
            &b,
            Some(&ok()),
            &[],
            b.len(),
            Some(Loss::Dropped("reset".into())),
        );
        assert!(d.is_empty());
        assert!(work.next_batch().unwrap().probe);
        let d = work.connection_lost(&Loss::Dropped("refused".into()));
        assert_eq!(
            verdicts(&d),
            vec![(0, Verdict::Unreachable), (1, Verdict::Unreachable)]
        );
    }

    #[test]
    fn a_refused_sender_settles_everything() {
        let mut work = Work::new(0..150, 100, CatchAll::No);
        let b = work.next_batch().unwrap();
        // Pipelined RCPTs still get their 503s: they mean nothing.
        let bad_sequence = r(503, "5.5.1 need MAIL");
        let d = work.answered(
            &b,
            Some(&r(553, "5.7.1 Sender rejected")),
            &[bad_sequence.clone(), bad_sequence],
            b.len(),
            None,
        );
        assert_eq!(d.len(), 150);
        assert!(d.iter().all(|d| d.verdict == Verdict::Policy));
        let mut work = Work::new(0..2, 100, CatchAll::No);
        let b = work.next_batch().unwrap();
        let d = work.answered(&b, Some(&r(451, "4.3.0 try later")), &[], b.len(), None);
        assert!(d.iter().all(|d| d.verdict == Verdict::Temporary));
    }

    #[test]
    fn settling_some_keeps_the_rest_in_order() {
        let mut work = Work::new(0..5, 100, CatchAll::No);
        let d = work.settle_where(|id| id % 2 == 1, Verdict::Undeliverable, "no SMTPUTF8");
        assert_eq!(
            verdicts(&d),
            vec![(1, Verdict::Undeliverable), (3, Verdict::Undeliverable)]
        );
        assert_eq!(work.next_batch().unwrap().ids, vec![0, 2, 4]);
        assert_eq!(work.settle_all(Verdict::Unreachable, None, "x").len(), 3);
        assert!(work.is_done());
    }

    #[test]
    fn sharing_a_domain_among_sessions() {
        let ids: Vec<usize> = (0..1000).collect();
        assert_eq!(shares(&ids, 1).len(), 1);
        let s = shares(&ids, 4);
        assert_eq!(s.iter().map(Vec::len).collect::<Vec<_>>(), vec![250; 4]);
        assert_eq!(shares(&ids[..150], 8).len(), 2);
        assert_eq!(shares(&ids[..3], 8), vec![vec![0, 1, 2]]);
        assert_eq!(shares(&[], 4).len(), 0);
    }

    #[test]
    fn a_preferred_size_holds_within_the_limit() {
        let mut work = Work::new(0..300, 50, CatchAll::NotAsked);
        work.prefer(10);
        let b = work.next_batch().unwrap();
        assert_eq!(b.len(), 10);
        assert!(b.probe);
        work.prefer(100);
        assert_eq!(
            work.next_batch().unwrap().len(),
            50,
            "the limit still holds"
        );
    }

    #[test]
    fn pacing() {
        let mut pace = Pace::new(Some(10));
        assert_eq!(pace.batch_limit(), 10);
        let s = Duration::from_secs;
        assert_eq!(pace.book(s(0), 10), s(0));
        assert_eq!(pace.book(s(0), 10), s(1));
        assert_eq!(
            pace.book(Duration::from_millis(500), 5),
            Duration::from_millis(1500)
        );
        // After a long pause there is no debt to pay.
        assert_eq!(pace.book(s(60), 10), s(0));
        let mut free = Pace::new(None);
        assert_eq!(free.book(s(0), 100), s(0));
        assert_eq!(free.batch_limit(), MAX_BATCH);
        assert_eq!(Pace::new(Some(0)).rate, None);
        assert_eq!(Pace::new(Some(5000)).batch_limit(), MAX_BATCH);
    }
}
