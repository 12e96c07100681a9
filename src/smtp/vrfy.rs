//! VRFY and EXPN (RFC 5321 §3.5): which arguments may be sent, what each reply code
//! means, the address a server hands back and the members of an expanded list.

use super::command::MAX_COMMAND_LINE;
use super::reply::{EnhancedStatus, Reply, ReplyClass};

/// The two address-debugging commands of RFC 5321 §3.5.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Query {
    Vrfy,
    Expn,
}

impl Query {
    pub fn verb(self) -> &'static str {
        match self {
            Query::Vrfy => "VRFY",
            Query::Expn => "EXPN",
        }
    }
}

/// What a reply to VRFY or EXPN says, in RFC 5321 §3.5.3 and §7.3 terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Meaning {
    /// 250, or 251 "not local; will forward": the server vouches for the address (or,
    /// for EXPN, lists the members).
    Verified,
    /// 252: "cannot VRFY user, but will accept message and attempt delivery". Says
    /// nothing about whether the address exists, so it is never shown as valid.
    CannotVerify,
    /// 550, 551, 553: no such mailbox, not local, or a name that is not allowed.
    Unknown,
    /// 500 or 502: the server does not recognise the command or has it switched off
    /// (§7.3 lets sites disable VRFY and EXPN).
    Disabled,
    /// 4xx: the server could not answer now.
    Temporary,
    /// Any other 5xx (501 syntax, 504, 530 authentication required, ...).
    Refused,
    /// A reply VRFY/EXPN never get (3xx): neither a yes nor a no.
    Unexpected,
}

/// How an answer counts towards the exit code of `smtpx vrfy` / `expn`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Decision {
    Verified,
    /// 252, 4xx, anything unexpected: the question stays open.
    Undecided,
    /// Every 5xx, including 502 "disabled": the server said no.
    Refused,
}

impl Meaning {
    /// Reads a reply by its exact code first, then (§4.2.1) by its first digit.
    pub fn of(reply: &Reply) -> Meaning {
        match reply.code.value() {
            250 | 251 => Meaning::Verified,
            252 => Meaning::CannotVerify,
            550 | 551 | 553 => Meaning::Unknown,
            500 | 502 => Meaning::Disabled,
            _ => match reply.class() {
                ReplyClass::Positive => Meaning::Verified,
                ReplyClass::TransientNegative => Meaning::Temporary,
                ReplyClass::PermanentNegative => Meaning::Refused,
                ReplyClass::Intermediate => Meaning::Unexpected,
            },
        }
    }

    pub fn decision(self) -> Decision {
        match self {
            Meaning::Verified => Decision::Verified,
            Meaning::Unknown | Meaning::Disabled | Meaning::Refused => Decision::Refused,
            Meaning::CannotVerify | Meaning::Temporary | Meaning::Unexpected => Decision::Undecided,
        }
    }

    /// A short machine name, for `--json`.
    pub fn name(self) -> &'static str {
        match self {
            Meaning::Verified => "verified",
            Meaning::CannotVerify => "cannot-verify",
            Meaning::Unknown => "unknown",
            Meaning::Disabled => "disabled",
            Meaning::Temporary => "temporary",
            Meaning::Refused => "refused",
            Meaning::Unexpected => "unexpected",
        }
    }

    /// The meaning in words, for people.
    pub fn words(self, query: Query) -> &'static str {
        match (self, query) {
            (Meaning::Verified, Query::Vrfy) => "verified",
            (Meaning::Verified, Query::Expn) => "expanded",
            (Meaning::CannotVerify, _) => {
                "cannot verify, will accept and try (not a confirmation that it exists)"
            }
            (Meaning::Unknown, _) => "unknown or refused",
            (Meaning::Disabled, Query::Vrfy) => "VRFY is disabled on this server",
            (Meaning::Disabled, Query::Expn) => "EXPN is disabled on this server",
            (Meaning::Temporary, _) => "temporary failure: undecided, try again later",
            (Meaning::Refused, _) => "refused",
            (Meaning::Unexpected, _) => "unexpected reply: undecided",
        }
    }
}

/// The mailbox a reply names: the last `<...>` of its first line, or a bare
/// `local@domain` word. §3.5.1 requires the mailbox in a 250 VRFY reply; 251 and 551
/// name the forward-path.
pub fn returned_address(reply: &Reply) -> Option<String> {
    let line = reply.lines.first()?;
    let text = strip_status(line, reply);
    if let Some(open) = text.rfind('<')
        && let Some(len) = text[open..].find('>')
    {
        let inner = &text[open + 1..open + len];
        return (!inner.is_empty()).then(|| inner.to_string());
    }
    text.split_whitespace()
        .find(|w| w.contains('@'))
        .map(|w| w.trim_matches(|c: char| matches!(c, '.' | ',' | ';')))
        .map(str::to_string)
}

/// The members a positive EXPN reply lists, one per line (§3.5.2), as the server wrote
/// them: `Jon Postel <Postel@USC-ISIF.ARPA>`.
pub fn members(reply: &Reply) -> Vec<String> {
    if !reply.is_positive() {
        return Vec::new();
    }
    reply
        .lines
        .iter()
        .map(|line| strip_status(line, reply).trim().to_string())
        .filter(|m| !m.is_empty())
        .collect()
}

fn strip_status<'a>(line: &'a str, reply: &Reply) -> &'a str {
    match EnhancedStatus::parse_prefix(line, reply.code) {
        Some(status) => line[status.to_string().len()..].trim_start(),
        None => line,
    }
}

/// Refuses an argument that could not travel as one command line: empty, holding a
/// control character (CR, LF and NUL would end or split the line), or too long for
/// RFC 5321 §4.5.3.1.4's 512 octets. Checked before connecting.
pub fn check_argument(query: Query, arg: &str) -> Result<(), String> {
    if arg.trim().is_empty() {
        return Err("is empty".into());
    }
    if let Some(c) = arg.chars().find(|c| c.is_control()) {
        return Err(format!(
            "contains the control character {:?} (CR, LF, NUL and other controls are never sent)",
            c
        ));
    }
    let len = query.verb().len() + 1 + arg.len() + 2;
    if len > MAX_COMMAND_LINE {
        return Err(format!(
            "makes a {len}-octet command line; the limit is {MAX_COMMAND_LINE} (RFC 5321 §4.5.3.1.4)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_code_has_its_rfc_meaning() {
        let table: &[(u16, Meaning, Decision)] = &[
            (250, Meaning::Verified, Decision::Verified),
            (251, Meaning::Verified, Decision::Verified),
            (252, Meaning::CannotVerify, Decision::Undecided),
            (550, Meaning::Unknown, Decision::Refused),
            (551, Meaning::Unknown, Decision::Refused),
            (553, Meaning::Unknown, Decision::Refused),
            (502, Meaning::Disabled, Decision::Refused),
            (500, Meaning::Disabled, Decision::Refused),
            (501, Meaning::Refused, Decision::Refused),
            (530, Meaning::Refused, Decision::Refused),
            (450, Meaning::Temporary, Decision::Undecided),
            (421, Meaning::Temporary, Decision::Undecided),
            (354, Meaning::Unexpected, Decision::Undecided),
            (255, Meaning::Verified, Decision::Verified),
        ];
        for (code, meaning, decision) in table {
            let m = Meaning::of(&Reply::new(*code, &["x"]));
            assert_eq!(m, *meaning, "{code}");
            assert_eq!(m.decision(), *decision, "{code}");
        }
    }

    #[test]
    fn a_252_is_never_called_valid() {
        let words = Meaning::CannotVerify.words(Query::Vrfy);
        assert!(!words.contains("verified") && !words.contains("valid"));
    }

    #[test]
    fn the_returned_address() {
        let r = |code, line| returned_address(&Reply::new(code, &[line]));
        assert_eq!(
            r(250, "Fred Smith <Smith@USC-ISIF.ARPA>").as_deref(),
            Some("Smith@USC-ISIF.ARPA")
        );
        assert_eq!(
            r(250, "2.1.5 <bob@example.org>").as_deref(),
            Some("bob@example.org")
        );
        assert_eq!(
            r(251, "User not local; will forward to <b@c.org>").as_deref(),
            Some("b@c.org")
        );
        assert_eq!(
            r(250, "2.0.0 bob@example.org.").as_deref(),
            Some("bob@example.org")
        );
        assert_eq!(r(250, "2.0.0 Ok"), None);
        assert_eq!(r(250, "<>"), None);
        assert_eq!(r(250, "odd <unclosed"), None);
    }

    #[test]
    fn expn_members() {
        let reply = Reply::new(
            250,
            &[
                "2.1.5 Jon Postel <Postel@USC-ISIF.ARPA>",
                "2.1.5 Fred Fonebone <Fonebone@USC-ISIQ.ARPA>",
                "",
            ],
        );
        assert_eq!(
            members(&reply),
            vec![
                "Jon Postel <Postel@USC-ISIF.ARPA>",
                "Fred Fonebone <Fonebone@USC-ISIQ.ARPA>"
            ]
        );
        assert!(members(&Reply::new(550, &["no such list"])).is_empty());
    }

    #[test]
    fn arguments_that_cannot_be_sent() {
        assert!(check_argument(Query::Vrfy, "bob").is_ok());
        assert!(check_argument(Query::Vrfy, "Bob Smith <bob@example.org>").is_ok());
        for bad in ["", "  ", "bob\r\nDATA", "a\0b", "a\u{1b}[2J", "a\u{85}"] {
            assert!(check_argument(Query::Vrfy, bad).is_err(), "{bad:?}");
        }
        assert!(check_argument(Query::Expn, &"x".repeat(505)).is_ok());
        assert!(check_argument(Query::Expn, &"x".repeat(506)).is_err());
    }
}
