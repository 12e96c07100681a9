//! Outcomes and exit codes: what happened, in terms a script can branch on.

use std::fmt;

use serde::Serialize;

use crate::smtp::{Reply, ReplyClass};

/// Documented exit codes (README "Exit codes"). Each has a test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum ExitCode {
    Success = 0,
    Other = 1,
    Usage = 2,
    Dns = 3,
    Connection = 4,
    Tls = 5,
    Auth = 6,
    Permanent = 7,
    Temporary = 8,
    Protocol = 9,
    Unknown = 10,
    Interrupted = 130,
}

impl ExitCode {
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The documented code with this number, as a report written it.
    pub fn from_code(code: u8) -> Option<ExitCode> {
        use ExitCode::*;
        [
            Success,
            Other,
            Usage,
            Dns,
            Connection,
            Tls,
            Auth,
            Permanent,
            Temporary,
            Protocol,
            Unknown,
            Interrupted,
        ]
        .into_iter()
        .find(|c| c.code() == code)
    }

    /// Exit code for a negative reply: 5xx permanent, everything else temporary.
    pub fn for_reply(reply: &Reply) -> ExitCode {
        match reply.class() {
            ReplyClass::PermanentNegative => ExitCode::Permanent,
            _ => ExitCode::Temporary,
        }
    }
}

/// The step of a session, in RFC 5321 order; failures and rejections name one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Input,
    Dns,
    Connect,
    Greeting,
    Ehlo,
    Starttls,
    TlsHandshake,
    /// Postfix XCLIENT, after TLS and before AUTH.
    Xclient,
    Auth,
    /// Postfix XFORWARD, after AUTH and before MAIL.
    Xforward,
    Mail,
    Rcpt,
    Data,
    Body,
    FinalDot,
    /// A BDAT chunk before the last (RFC 3030).
    Bdat,
    /// BDAT ... LAST: like the final dot, its reply commits the message.
    BdatLast,
    Vrfy,
    Expn,
    Probe,
    Quit,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Input => "input",
            Phase::Dns => "dns",
            Phase::Connect => "connect",
            Phase::Greeting => "greeting",
            Phase::Ehlo => "ehlo",
            Phase::Starttls => "starttls",
            Phase::TlsHandshake => "tls-handshake",
            Phase::Xclient => "xclient",
            Phase::Auth => "auth",
            Phase::Xforward => "xforward",
            Phase::Mail => "mail",
            Phase::Rcpt => "rcpt",
            Phase::Data => "data",
            Phase::Body => "body",
            Phase::FinalDot => "final-dot",
            Phase::Bdat => "bdat",
            Phase::BdatLast => "bdat-last",
            Phase::Vrfy => "vrfy",
            Phase::Expn => "expn",
            Phase::Probe => "probe",
            Phase::Quit => "quit",
        }
    }

    /// Before the greeting, losing the server is a connection failure (exit 4).
    fn before_greeting(self) -> bool {
        self <= Phase::Greeting
    }

    /// The reply to this step commits the message (RFC 5321 §4.1.1.4, RFC 3030 §2): if
    /// it never comes, the outcome is unknown.
    pub fn commits(self) -> bool {
        matches!(self, Phase::FinalDot | Phase::BdatLast)
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What stopped a session, other than a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// Bad input from the user or an input file.
    Input,
    /// DNS said no, or could not say.
    Dns {
        temporary: bool,
    },
    /// TCP connect refused or unreachable.
    Connect,
    /// A deadline passed.
    Timeout,
    /// The server closed or reset the connection.
    Closed,
    /// TLS failed or TLS policy refused to go on.
    Tls,
    Auth,
    /// The server broke the protocol.
    Protocol,
    /// A temporary refusal that ends the session (e.g. 454 to AUTH).
    Temporary,
    /// Refused before asking, as surely as a 5xx would: the message is larger than the
    /// server's advertised SIZE (RFC 1870 §6.1).
    Permanent,
    Interrupted,
    Other,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub phase: Phase,
    pub kind: FailureKind,
    pub message: String,
}

impl Failure {
    pub fn new(phase: Phase, kind: FailureKind, message: impl Into<String>) -> Failure {
        Failure {
            phase,
            kind,
            message: message.into(),
        }
    }

    pub fn input(message: impl Into<String>) -> Failure {
        Failure::new(Phase::Input, FailureKind::Input, message)
    }

    pub fn exit_code(&self) -> ExitCode {
        match self.kind {
            FailureKind::Input => ExitCode::Usage,
            FailureKind::Dns { .. } => ExitCode::Dns,
            FailureKind::Connect => ExitCode::Connection,
            FailureKind::Tls => ExitCode::Tls,
            FailureKind::Auth => ExitCode::Auth,
            FailureKind::Protocol => ExitCode::Protocol,
            FailureKind::Temporary => ExitCode::Temporary,
            FailureKind::Permanent => ExitCode::Permanent,
            FailureKind::Interrupted => ExitCode::Interrupted,
            FailureKind::Other => ExitCode::Other,
            FailureKind::Timeout | FailureKind::Closed => match self.phase {
                // §4.1.1.4: after the final dot the message may or may not be queued.
                p if p.commits() => ExitCode::Unknown,
                p if p.before_greeting() => ExitCode::Connection,
                _ => ExitCode::Temporary,
            },
        }
    }

    /// True when the failure leaves the message's fate unknown.
    pub fn is_unknown(&self) -> bool {
        self.exit_code() == ExitCode::Unknown
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed: {}", self.phase, self.message)
    }
}

/// One recipient's fate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipientResult {
    pub address: String,
    /// The RCPT reply; None when the transaction stopped before this RCPT was answered.
    pub reply: Option<Reply>,
    /// The reply to the message for this recipient alone, after the final dot (LMTP,
    /// RFC 2033 §4.2; PRDR); None in plain SMTP, where one reply speaks for all.
    pub data_reply: Option<Reply>,
}

impl RecipientResult {
    /// A recipient with no reply yet.
    pub fn waiting(address: String) -> RecipientResult {
        RecipientResult {
            address,
            reply: None,
            data_reply: None,
        }
    }

    pub fn accepted(&self) -> bool {
        self.deciding_reply().is_some_and(Reply::is_positive)
    }

    /// The reply that decides this recipient's fate: its own reply after the dot when
    /// there is one and RCPT was accepted, otherwise the RCPT reply.
    pub fn deciding_reply(&self) -> Option<&Reply> {
        match (&self.reply, &self.data_reply) {
            (Some(rcpt), Some(data)) if rcpt.is_positive() => Some(data),
            (rcpt, _) => rcpt.as_ref(),
        }
    }
}

/// Exit code for a set of recipient results: 0 when all were accepted, otherwise the worst
/// refusal, permanent (7) before temporary (8).
pub fn recipients_exit_code(recipients: &[RecipientResult]) -> ExitCode {
    recipients
        .iter()
        .filter(|r| !r.accepted())
        .map(|r| match r.deciding_reply() {
            Some(reply) => ExitCode::for_reply(reply),
            None => ExitCode::Temporary,
        })
        .min_by_key(|code| match code {
            ExitCode::Permanent => 0,
            _ => 1,
        })
        .unwrap_or(ExitCode::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rr(code: u16) -> RecipientResult {
        RecipientResult {
            address: "a@b".into(),
            reply: Some(Reply::new(code, &["x"])),
            data_reply: None,
        }
    }

    #[test]
    fn a_reply_after_the_dot_decides_an_accepted_recipient() {
        let with = |rcpt: u16, data: u16| RecipientResult {
            data_reply: Some(Reply::new(data, &["x"])),
            ..rr(rcpt)
        };
        assert!(with(250, 250).accepted());
        assert!(!with(250, 452).accepted());
        assert!(!with(550, 250).accepted());
        assert_eq!(
            recipients_exit_code(&[with(250, 250), with(250, 452)]),
            ExitCode::Temporary
        );
        assert_eq!(
            recipients_exit_code(&[with(250, 552), with(250, 452)]),
            ExitCode::Permanent
        );
    }

    #[test]
    fn timeouts_depend_on_the_phase() {
        let t = |phase| Failure::new(phase, FailureKind::Timeout, "x").exit_code();
        assert_eq!(t(Phase::Connect), ExitCode::Connection);
        assert_eq!(t(Phase::Greeting), ExitCode::Connection);
        assert_eq!(t(Phase::Rcpt), ExitCode::Temporary);
        assert_eq!(t(Phase::Body), ExitCode::Temporary);
        assert_eq!(t(Phase::FinalDot), ExitCode::Unknown);
        assert_eq!(t(Phase::BdatLast), ExitCode::Unknown);
        assert_eq!(t(Phase::Bdat), ExitCode::Temporary);
        let too_big = Failure::new(Phase::Mail, FailureKind::Permanent, "x");
        assert_eq!(too_big.exit_code(), ExitCode::Permanent);
        let closed = Failure::new(Phase::FinalDot, FailureKind::Closed, "x");
        assert!(closed.is_unknown());
    }

    #[test]
    fn worst_refusal_wins() {
        assert_eq!(recipients_exit_code(&[rr(250), rr(251)]), ExitCode::Success);
        assert_eq!(
            recipients_exit_code(&[rr(250), rr(450)]),
            ExitCode::Temporary
        );
        assert_eq!(
            recipients_exit_code(&[rr(450), rr(550), rr(250)]),
            ExitCode::Permanent
        );
    }

    #[test]
    fn codes_are_stable() {
        let codes: Vec<u8> = [
            ExitCode::Success,
            ExitCode::Other,
            ExitCode::Usage,
            ExitCode::Dns,
            ExitCode::Connection,
            ExitCode::Tls,
            ExitCode::Auth,
            ExitCode::Permanent,
            ExitCode::Temporary,
            ExitCode::Protocol,
            ExitCode::Unknown,
            ExitCode::Interrupted,
        ]
        .iter()
        .map(|c| c.code())
        .collect();
        assert_eq!(codes, vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 130]);
    }
}
