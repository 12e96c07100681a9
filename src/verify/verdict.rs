//! What one RCPT reply says about one address, and what a run's verdicts add up to.

use serde::Serialize;

use crate::outcome::ExitCode;
use crate::smtp::{Reply, ReplyClass};

/// One address and its verdict: a row of the output, a line of the `--resume` state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Line of the input file, or position on the command line.
    pub line: u64,
    pub address: String,
    pub verdict: Verdict,
    /// The RCPT reply that decided it, if one did.
    pub reply: Option<Reply>,
    /// Why, when the reply alone does not say.
    pub note: Option<String>,
    /// The MX host (or server) that answered.
    pub host: Option<String>,
}

/// The answer `smtpx verify` gives for one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// 250/251 to RCPT on a domain that refused the catch-all probe.
    Deliverable,
    /// A permanent refusal naming the mailbox (550 5.1.1 and the like).
    Undeliverable,
    /// The domain also accepted a random local part (or answered 252): a 250 proves
    /// nothing.
    AcceptAll,
    /// 4xx: greylisting, throttling, a full mailbox; or a question left open.
    Temporary,
    /// RFC 7505 null MX, or a domain with neither MX nor addresses.
    NoMail,
    /// NXDOMAIN: the domain does not exist.
    NoDomain,
    /// The MX lookup failed (SERVFAIL, timeout): try later.
    DnsError,
    /// No MX host answered: refused, silent, dropped twice, TLS failed.
    Unreachable,
    /// 5.7.x, or a server that will not answer for this sender or client.
    Policy,
    /// Not an address (syntax).
    Invalid,
}

impl Verdict {
    /// Every verdict, in the order summaries list them.
    pub const ALL: [Verdict; 10] = [
        Verdict::Deliverable,
        Verdict::Undeliverable,
        Verdict::AcceptAll,
        Verdict::Temporary,
        Verdict::NoMail,
        Verdict::NoDomain,
        Verdict::DnsError,
        Verdict::Unreachable,
        Verdict::Policy,
        Verdict::Invalid,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Verdict::Deliverable => "deliverable",
            Verdict::Undeliverable => "undeliverable",
            Verdict::AcceptAll => "accept-all",
            Verdict::Temporary => "temporary",
            Verdict::NoMail => "no-mail",
            Verdict::NoDomain => "no-domain",
            Verdict::DnsError => "dns-error",
            Verdict::Unreachable => "unreachable",
            Verdict::Policy => "policy",
            Verdict::Invalid => "invalid",
        }
    }

    /// The verdict a [`Verdict::name`] names.
    pub fn from_name(name: &str) -> Option<Verdict> {
        Verdict::ALL.into_iter().find(|v| v.name() == name)
    }

    pub fn index(self) -> usize {
        Verdict::ALL.iter().position(|v| *v == self).unwrap_or(0)
    }

    /// Settled for good: the address cannot receive mail (exit 7).
    pub fn is_bad(self) -> bool {
        matches!(
            self,
            Verdict::Undeliverable | Verdict::Invalid | Verdict::NoMail | Verdict::NoDomain
        )
    }
}

/// The exit code of a run: 0 when every address is deliverable, 7 when any is
/// undeliverable, invalid, no-mail or no-domain, otherwise 8 (something undecided).
pub fn exit_code(verdicts: impl IntoIterator<Item = Verdict>) -> ExitCode {
    let mut code = ExitCode::Success;
    for v in verdicts {
        if v.is_bad() {
            return ExitCode::Permanent;
        }
        if v != Verdict::Deliverable {
            code = ExitCode::Temporary;
        }
    }
    code
}

/// What one RCPT reply means, before the catch-all probe is taken into account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reading {
    /// 2xx: the server would take mail for it. `unverified` for 252, which promises
    /// delivery without having checked the mailbox (RFC 5321 §3.5.3).
    Accepted { unverified: bool },
    /// A verdict the reply settles on its own.
    Decided(Verdict),
    /// The server's recipient limit: not a verdict. The rest of the batch goes in a new
    /// transaction (RFC 5321 §4.5.3.1.10).
    TooMany,
    /// 421: the server is closing the connection (RFC 5321 §3.8).
    Closing,
}

/// Reads a RCPT reply. `earlier` counts the RCPTs answered before it in the same
/// transaction: a 552 after some of them is the server's recipient limit in RFC 821's
/// wrong code, which RFC 5321 §4.5.3.1.10 tells clients to treat as 452.
pub fn read_rcpt(reply: &Reply, earlier: usize) -> Reading {
    let code = reply.code.value();
    let status = reply.enhanced_status();
    let (subject, detail) = status.map_or((None, None), |s| (Some(s.subject), Some(s.detail)));
    if code == 421 {
        return Reading::Closing;
    }
    // RFC 3463 §3.6 X.5.3 "Too many recipients".
    if (subject, detail) == (Some(5), Some(3)) {
        return Reading::TooMany;
    }
    match reply.class() {
        ReplyClass::Positive => Reading::Accepted {
            unverified: code == 252,
        },
        // A 3xx to RCPT is meaningless; nothing can be concluded from it.
        ReplyClass::Intermediate => Reading::Decided(Verdict::Policy),
        ReplyClass::TransientNegative => {
            // 452 is "insufficient system storage"; without an enhanced code saying
            // otherwise (4.2.2 mailbox full, 4.3.1 system full) it is the recipient limit.
            if code == 452 && status.is_none() {
                Reading::TooMany
            } else {
                Reading::Decided(Verdict::Temporary)
            }
        }
        ReplyClass::PermanentNegative => {
            if code == 552 && status.is_none() && earlier > 0 {
                return Reading::TooMany;
            }
            Reading::Decided(permanent(code, subject, detail))
        }
    }
}

/// The verdict of a 5xx RCPT reply.
fn permanent(code: u16, subject: Option<u16>, detail: Option<u16>) -> Verdict {
    match (subject, detail) {
        // RFC 3463 §3.8: X.7.x is security or policy: the server will not say.
        (Some(7), _) => Verdict::Policy,
        // X.2.2 "mailbox full" is a persistent transient failure (RFC 3463 §3.3).
        (Some(2), Some(2)) => Verdict::Temporary,
        // X.1.x addressing, X.2.x mailbox status (RFC 3463 §3.2, §3.3).
        (Some(1 | 2), _) => Verdict::Undeliverable,
        _ => match code {
            // 550 mailbox unavailable, 551 user not local, 553 mailbox name not allowed
            // (RFC 5321 §4.2.2).
            550 | 551 | 553 => Verdict::Undeliverable,
            // 552 on a first RCPT is storage exceeded: a full mailbox, temporary in
            // practice (§4.5.3.1.10).
            552 => Verdict::Temporary,
            // 554 (transaction failed, typically relay denied), 50x (the command itself
            // was refused): the server did not answer the question.
            _ => Verdict::Policy,
        },
    }
}

/// What the random-local-part RCPT of a domain showed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CatchAll {
    /// Not asked yet, or asked on a connection that was lost before the answer.
    NotAsked,
    /// Refused: a 250 for a real address means something.
    No,
    /// Accepted (or 252): every address would be accepted.
    Yes(Reply),
    /// Deferred (4xx) or otherwise inconclusive: acceptance proves nothing yet. Says
    /// what became of the probe ("was answered 450 ...").
    Unknown(String),
}

impl CatchAll {
    /// The state after the probe's reply.
    pub fn from_probe(reply: &Reply) -> CatchAll {
        match read_rcpt(reply, 0) {
            Reading::Accepted { .. } => CatchAll::Yes(reply.clone()),
            Reading::Decided(Verdict::Temporary) | Reading::TooMany | Reading::Closing => {
                CatchAll::Unknown(format!(
                    "was answered {} {}",
                    reply.code,
                    reply.lines.join(" ")
                ))
            }
            Reading::Decided(_) => CatchAll::No,
        }
    }

    pub fn is_known(&self) -> bool {
        !matches!(self, CatchAll::NotAsked)
    }
}

/// The verdict for an accepted address, given what the probe showed. Never
/// "deliverable" on a 252 or on a domain that accepts anything.
pub fn accepted(unverified: bool, catch_all: &CatchAll) -> (Verdict, Option<String>) {
    if unverified {
        return (
            Verdict::AcceptAll,
            Some("252: accepted without verifying the mailbox (RFC 5321 §3.5.3)".into()),
        );
    }
    match catch_all {
        CatchAll::No => (Verdict::Deliverable, None),
        CatchAll::Yes(probe) => (
            Verdict::AcceptAll,
            Some(format!(
                "the domain also accepted a random local part ({} {})",
                probe.code,
                probe.lines.join(" ")
            )),
        ),
        CatchAll::Unknown(why) => (
            Verdict::Temporary,
            Some(format!(
                "accepted, but the catch-all probe {why}: acceptance proves nothing yet"
            )),
        ),
        CatchAll::NotAsked => (
            Verdict::Temporary,
            Some("accepted, but the catch-all probe went unanswered".into()),
        ),
    }
}

/// A local part that no real mailbox has: a fixed prefix that says what it is, then 16
/// hex digits of randomness, so no server can learn to special-case it.
pub fn probe_local_part(random: u64) -> String {
    format!("smtpx-probe-{random:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(code: u16, text: &str) -> Reply {
        Reply::new(code, &[text])
    }

    #[test]
    fn each_reply_reads_as_the_rfcs_say() {
        use Reading::*;
        use Verdict::*;
        let cases: &[(u16, &str, usize, Reading)] = &[
            (250, "2.1.5 OK", 0, Accepted { unverified: false }),
            (
                251,
                "User not local; will forward",
                0,
                Accepted { unverified: false },
            ),
            (252, "2.1.5 Cannot verify", 0, Accepted { unverified: true }),
            (550, "5.1.1 No such user", 0, Decided(Undeliverable)),
            (550, "No such user", 0, Decided(Undeliverable)),
            (551, "User not local", 0, Decided(Undeliverable)),
            (553, "5.1.3 Bad address syntax", 0, Decided(Undeliverable)),
            (550, "5.2.1 Mailbox disabled", 0, Decided(Undeliverable)),
            (552, "5.2.2 Mailbox full", 0, Decided(Temporary)),
            (452, "4.2.2 Mailbox full", 0, Decided(Temporary)),
            (550, "5.7.1 Relay access denied", 0, Decided(Policy)),
            (554, "5.7.1 Relay access denied", 0, Decided(Policy)),
            (554, "Relay access denied", 0, Decided(Policy)),
            (
                550,
                "5.4.1 Recipient address rejected: Access denied",
                0,
                Decided(Undeliverable),
            ),
            (503, "5.5.1 Error: need MAIL command", 0, Decided(Policy)),
            (450, "4.2.0 Greylisted", 0, Decided(Temporary)),
            (451, "4.7.1 Try again later", 0, Decided(Temporary)),
            (450, "4.7.1 Client host rejected", 0, Decided(Temporary)),
            (452, "4.5.3 Too many recipients", 3, TooMany),
            (452, "Too many recipients", 3, TooMany),
            (
                452,
                "4.3.1 Insufficient system storage",
                3,
                Decided(Temporary),
            ),
            (552, "5.5.3 Too many recipients", 3, TooMany),
            (552, "Too many recipients", 3, TooMany),
            (552, "Storage exceeded", 0, Decided(Temporary)),
            (421, "4.7.0 Too many connections, closing", 0, Closing),
            (354, "go ahead", 0, Decided(Policy)),
        ];
        for (code, text, earlier, want) in cases {
            assert_eq!(read_rcpt(&r(*code, text), *earlier), *want, "{code} {text}");
        }
    }

    #[test]
    fn never_deliverable_on_252_or_a_catch_all() {
        let yes = CatchAll::from_probe(&r(250, "2.1.5 OK"));
        assert!(matches!(yes, CatchAll::Yes(_)));
        assert_eq!(accepted(false, &yes).0, Verdict::AcceptAll);
        let no = CatchAll::from_probe(&r(550, "5.1.1 No such user"));
        assert_eq!(no, CatchAll::No);
        assert_eq!(accepted(false, &no), (Verdict::Deliverable, None));
        assert_eq!(accepted(true, &no).0, Verdict::AcceptAll);
        let deferred = CatchAll::from_probe(&r(450, "4.2.0 Greylisted"));
        assert!(matches!(deferred, CatchAll::Unknown(_)));
        assert_eq!(accepted(false, &deferred).0, Verdict::Temporary);
        assert_eq!(accepted(false, &CatchAll::NotAsked).0, Verdict::Temporary);
        assert!(matches!(
            CatchAll::from_probe(&r(252, "cannot verify")),
            CatchAll::Yes(_)
        ));
        assert_eq!(
            CatchAll::from_probe(&r(554, "5.7.1 relay denied")),
            CatchAll::No
        );
    }

    #[test]
    fn exit_codes() {
        use Verdict::*;
        assert_eq!(exit_code([]), ExitCode::Success);
        assert_eq!(exit_code([Deliverable, Deliverable]), ExitCode::Success);
        for undecided in [Temporary, AcceptAll, Unreachable, DnsError, Policy] {
            assert_eq!(exit_code([Deliverable, undecided]), ExitCode::Temporary);
        }
        for bad in [Undeliverable, Invalid, NoMail, NoDomain] {
            assert_eq!(exit_code([Temporary, bad, Policy]), ExitCode::Permanent);
        }
    }

    #[test]
    fn probe_local_parts_are_valid_and_distinct() {
        let a = probe_local_part(1);
        let b = probe_local_part(u64::MAX);
        assert_eq!(a, "smtpx-probe-0000000000000001");
        assert_ne!(a, b);
        crate::smtp::Address::parse(&format!("{b}@example.org")).unwrap();
    }

    #[test]
    fn names_and_indexes() {
        for (i, v) in Verdict::ALL.iter().enumerate() {
            assert_eq!(v.index(), i);
            assert_eq!(
                serde_json::to_value(v).unwrap(),
                serde_json::json!(v.name())
            );
        }
    }
}
