//! Replies to the end of a message given per recipient: LMTP (RFC 2033 §4.2) answers the
//! final dot once for each accepted recipient, in RCPT order; PRDR (draft-hall-prdr-00
//! §4.4-4.5) answers it with 353, one reply per accepted recipient, then a final reply
//! for the message — or, when the server chooses not to, with one ordinary reply.

use super::reply::{Reply, ReplyClass};

/// Which per-recipient scheme the transaction uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Lmtp,
    Prdr,
}

/// What the server said to the end of the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataReplies {
    /// One reply for the whole message: PRDR declined by the server for this message
    /// (no 353), so it speaks for every accepted recipient.
    Whole(Reply),
    /// One reply per accepted recipient, in RCPT order, and PRDR's reply for the message.
    PerRecipient {
        replies: Vec<Reply>,
        last: Option<Reply>,
    },
}

/// The next step after a reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// Read another reply.
    More,
    Done(DataReplies),
    /// The server broke the scheme: the message's fate is unknown.
    Violation(String),
}

/// Collects the replies after the final dot; one `push` per reply read.
#[derive(Clone, Debug)]
pub struct Collector {
    scheme: Scheme,
    expected: usize,
    /// PRDR: the 353 has come.
    started: bool,
    replies: Vec<Reply>,
}

/// PRDR's "content analysis has started" reply (draft-hall-prdr-00 §4.4).
pub const PRDR_STARTED: u16 = 353;

impl Collector {
    /// `accepted`: how many RCPTs were answered positively (at least one: without one
    /// there is no DATA, RFC 2033 §4.2).
    pub fn new(scheme: Scheme, accepted: usize) -> Collector {
        Collector {
            scheme,
            expected: accepted,
            started: scheme == Scheme::Lmtp,
            replies: Vec::with_capacity(accepted),
        }
    }

    /// How many per-recipient replies have come so far.
    pub fn received(&self) -> usize {
        self.replies.len()
    }

    pub fn push(&mut self, reply: Reply) -> Next {
        let intermediate = reply.class() == ReplyClass::Intermediate;
        if !self.started {
            // PRDR: 353 starts the per-recipient block; any other final reply means the
            // server did not use PRDR for this message.
            return match reply.code.value() {
                PRDR_STARTED => {
                    self.started = true;
                    self.after_reply()
                }
                _ if intermediate => Next::Violation(format!(
                    "the final dot was answered with {}, not 353 or a final reply (PRDR)",
                    reply.code
                )),
                _ => Next::Done(DataReplies::Whole(reply)),
            };
        }
        if intermediate {
            return Next::Violation(format!(
                "{} was answered with {} where a per-recipient reply was due",
                self.which(),
                reply.code
            ));
        }
        if self.replies.len() < self.expected {
            self.replies.push(reply);
            return self.after_reply();
        }
        // PRDR's reply for the whole message, after every recipient's.
        Next::Done(DataReplies::PerRecipient {
            replies: self.replies.clone(),
            last: Some(reply),
        })
    }

    fn after_reply(&mut self) -> Next {
        if self.replies.len() < self.expected || self.scheme == Scheme::Prdr {
            return Next::More;
        }
        Next::Done(DataReplies::PerRecipient {
            replies: self.replies.clone(),
            last: None,
        })
    }

    fn which(&self) -> &'static str {
        match self.scheme {
            Scheme::Lmtp => "the final dot (LMTP)",
            Scheme::Prdr => "the final dot (PRDR)",
        }
    }
}

/// How the message fared, from the replies after the dot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Accepted for at least one recipient; the reply to show as the message's.
    Accepted(Reply),
    /// Refused for every recipient; the reply that speaks for the refusal.
    Refused(Reply),
}

impl DataReplies {
    /// The per-recipient replies decide: accepted when any is positive. PRDR's reply for
    /// the message is shown when it agrees; the worst refusal otherwise (permanent
    /// before temporary).
    pub fn fate(&self) -> Fate {
        match self {
            DataReplies::Whole(r) if r.is_positive() => Fate::Accepted(r.clone()),
            DataReplies::Whole(r) => Fate::Refused(r.clone()),
            DataReplies::PerRecipient { replies, last } => {
                if let Some(first) = replies.iter().find(|r| r.is_positive()) {
                    let shown = last.as_ref().filter(|r| r.is_positive()).unwrap_or(first);
                    return Fate::Accepted(shown.clone());
                }
                let worst = last
                    .as_ref()
                    .filter(|r| !r.is_positive())
                    .or_else(|| {
                        replies
                            .iter()
                            .find(|r| r.class() == ReplyClass::PermanentNegative)
                    })
                    .or(replies.first())
                    .or(last.as_ref());
                match worst {
                    Some(r) => Fate::Refused(r.clone()),
                    None => Fate::Refused(Reply::new(554, &["no reply"])),
                }
            }
        }
    }

    /// The reply for the `i`-th accepted recipient.
    pub fn for_recipient(&self, i: usize) -> Option<&Reply> {
        match self {
            DataReplies::Whole(r) => Some(r),
            DataReplies::PerRecipient { replies, .. } => replies.get(i),
        }
    }

    /// PRDR's reply for the message disagrees with the per-recipient replies.
    pub fn inconsistent(&self) -> bool {
        match self {
            DataReplies::PerRecipient {
                replies,
                last: Some(last),
            } => replies.iter().any(Reply::is_positive) != last.is_positive(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn r(code: u16) -> Reply {
        Reply::new(code, &["x"])
    }

    #[test]
    fn lmtp_reads_one_reply_per_accepted_recipient() {
        let mut c = Collector::new(Scheme::Lmtp, 2);
        assert_eq!(c.push(r(250)), Next::More);
        assert_eq!(c.received(), 1);
        let Next::Done(done) = c.push(r(550)) else {
            panic!()
        };
        assert_eq!(c.received(), 2);
        assert_eq!(
            done,
            DataReplies::PerRecipient {
                replies: vec![r(250), r(550)],
                last: None
            }
        );
        assert_eq!(done.fate(), Fate::Accepted(r(250)));
        assert_eq!(done.for_recipient(1), Some(&r(550)));
        assert!(matches!(
            Collector::new(Scheme::Lmtp, 1).push(r(354)),
            Next::Violation(_)
        ));
    }

    #[test]
    fn prdr_reads_353_the_replies_and_the_last() {
        let mut c = Collector::new(Scheme::Prdr, 2);
        assert_eq!(c.push(r(353)), Next::More);
        assert_eq!(c.push(r(550)), Next::More);
        assert_eq!(c.push(r(250)), Next::More);
        let Next::Done(done) = c.push(r(250)) else {
            panic!()
        };
        assert_eq!(
            done,
            DataReplies::PerRecipient {
                replies: vec![r(550), r(250)],
                last: Some(r(250))
            }
        );
        assert!(!done.inconsistent());
    }

    #[test]
    fn prdr_declined_for_the_message() {
        let mut c = Collector::new(Scheme::Prdr, 3);
        let Next::Done(done) = c.push(r(250)) else {
            panic!()
        };
        assert_eq!(done, DataReplies::Whole(r(250)));
        assert_eq!(done.for_recipient(2), Some(&r(250)));
        assert!(matches!(
            Collector::new(Scheme::Prdr, 1).push(r(354)),
            Next::Violation(_)
        ));
    }

    #[test]
    fn every_refusal_refuses_the_message() {
        let all_refused = DataReplies::PerRecipient {
            replies: vec![r(450), r(550)],
            last: None,
        };
        assert_eq!(all_refused.fate(), Fate::Refused(r(550)));
        let prdr = DataReplies::PerRecipient {
            replies: vec![r(450), r(451)],
            last: Some(r(550)),
        };
        assert_eq!(prdr.fate(), Fate::Refused(r(550)));
        let odd = DataReplies::PerRecipient {
            replies: vec![r(550)],
            last: Some(r(250)),
        };
        assert!(odd.inconsistent());
        assert_eq!(odd.fate(), Fate::Refused(r(550)));
    }

    proptest! {
        /// Whatever the server sends, the collector asks for at most the replies the
        /// scheme allows, and a positive per-recipient reply always means accepted.
        #[test]
        fn never_reads_past_the_scheme(
            accepted in 1usize..6,
            codes in proptest::collection::vec(
                prop_oneof![Just(250u16), Just(353), Just(354), Just(451), Just(550)], 0..12),
            prdr in any::<bool>(),
        ) {
            let scheme = if prdr { Scheme::Prdr } else { Scheme::Lmtp };
            let limit = if prdr { accepted + 2 } else { accepted };
            let mut c = Collector::new(scheme, accepted);
            for (i, code) in codes.iter().enumerate() {
                prop_assert!(i < limit);
                match c.push(r(*code)) {
                    Next::More => {}
                    Next::Violation(_) => break,
                    Next::Done(done) => {
                        if let DataReplies::PerRecipient { replies, .. } = &done {
                            prop_assert_eq!(replies.len(), accepted);
                            if replies.iter().any(Reply::is_positive) {
                                prop_assert!(matches!(done.fate(), Fate::Accepted(_)));
                            }
                        }
                        break;
                    }
                }
            }
        }
    }
}
