//! Plain words for reply codes (RFC 5321 §4.2.2-4.2.3, RFC 4954, RFC 3207) and enhanced
//! status codes (RFC 3463 §3, RFC 4954 §6, RFC 7372), for people reading a session.

use super::reply::{EnhancedStatus, Reply, ReplyCode};

/// What a reply code says, or None for a code with no common meaning.
pub fn code_words(code: ReplyCode) -> Option<&'static str> {
    Some(match code.value() {
        211 => "system status",
        214 => "help message",
        220 => "service ready",
        221 => "service closing the connection",
        235 => "authentication succeeded",
        250 => "requested action completed",
        251 => "user not local; will forward",
        252 => "cannot verify the user, but will accept the message and try",
        334 => "authentication challenge: answer it, or `*` to cancel",
        354 => "start mail input; end with a line holding only a dot",
        421 => "service not available: the server is closing the connection",
        432 => "a password transition is needed",
        450 => "mailbox unavailable (busy or temporarily blocked): try again later",
        451 => "local error in processing: try again later",
        452 => "insufficient system storage, or too many recipients: try again later",
        454 => "temporary authentication or TLS failure",
        455 => "server unable to accommodate the parameters",
        500 => "syntax error, command unrecognised",
        501 => "syntax error in parameters or arguments",
        502 => "command not implemented",
        503 => "bad sequence of commands",
        504 => "command parameter not implemented",
        521 => "this host does not accept mail",
        530 => "authentication required",
        534 => "authentication mechanism is too weak",
        535 => "authentication credentials invalid",
        538 => "encryption required for this authentication mechanism",
        550 => "mailbox unavailable or action refused (no such user, or policy)",
        551 => "user not local",
        552 => "exceeded storage allocation (message too big, or mailbox full)",
        553 => "mailbox name not allowed",
        554 => "transaction failed (or, as a greeting: no SMTP service here)",
        555 => "MAIL FROM/RCPT TO parameters not recognised or not implemented",
        556 => "the domain does not accept mail",
        _ => return None,
    })
}

/// What an enhanced status code's subject and detail say (the class is the reply's).
pub fn enhanced_words(status: EnhancedStatus) -> Option<&'static str> {
    Some(match (status.subject, status.detail) {
        (0, 0) => "other or undefined status",
        (1, 0) => "other address status",
        (1, 1) => "bad destination mailbox address",
        (1, 2) => "bad destination system address",
        (1, 3) => "bad destination mailbox address syntax",
        (1, 4) => "destination mailbox address ambiguous",
        (1, 5) => "destination address valid",
        (1, 6) => "destination mailbox has moved",
        (1, 7) => "bad sender's mailbox address syntax",
        (1, 8) => "bad sender's system address",
        (1, 10) => "recipient address has a null MX",
        (2, 0) => "other or undefined mailbox status",
        (2, 1) => "mailbox disabled, not accepting messages",
        (2, 2) => "mailbox full",
        (2, 3) => "message length exceeds the administrative limit",
        (2, 4) => "mailing list expansion problem",
        (3, 0) => "other or undefined mail system status",
        (3, 1) => "mail system full",
        (3, 2) => "system not accepting network messages",
        (3, 3) => "system not capable of selected features",
        (3, 4) => "message too big for the system",
        (3, 5) => "system incorrectly configured",
        (4, 0) => "other or undefined network or routing status",
        (4, 1) => "no answer from host",
        (4, 2) => "bad connection",
        (4, 3) => "directory server failure",
        (4, 4) => "unable to route",
        (4, 5) => "mail system congestion",
        (4, 6) => "routing loop detected",
        (4, 7) => "delivery time expired",
        (5, 0) => "other or undefined protocol status",
        (5, 1) => "invalid command",
        (5, 2) => "syntax error",
        (5, 3) => "too many recipients",
        (5, 4) => "invalid command arguments",
        (5, 5) => "wrong protocol version",
        (5, 6) => "authentication exchange line is too long",
        (6, 0) => "other or undefined media error",
        (6, 1) => "media not supported",
        (6, 2) => "conversion required and prohibited",
        (6, 3) => "conversion required but not supported",
        (6, 7) => "non-ASCII address needs SMTPUTF8",
        (7, 0) => "other or undefined security status",
        (7, 1) => "delivery not authorized, message refused",
        (7, 2) => "mailing list expansion prohibited",
        (7, 3) => "security conversion required but not possible",
        (7, 4) => "security features not supported",
        (7, 5) => "cryptographic failure",
        (7, 6) => "cryptographic algorithm not supported",
        (7, 7) => "message integrity failure",
        (7, 8) => "authentication credentials invalid",
        (7, 9) => "authentication mechanism is too weak",
        (7, 10) => "encryption needed",
        (7, 11) => "encryption required for the requested authentication mechanism",
        (7, 12) => "a password transition is needed",
        (7, 13) => "user account disabled",
        (7, 14) => "trust relationship required",
        (7, 15) => "priority level is too low",
        (7, 16) => "message is too big for the specified priority",
        (7, 25) => "reverse DNS validation failed",
        (7, 26) => "multiple authentication checks failed",
        (7, 27) => "sender address has a null MX",
        _ => return None,
    })
}

/// One line of plain words for a reply: its code's meaning and its enhanced status's,
/// e.g. `550: mailbox unavailable ...; 5.1.1: bad destination mailbox address`.
pub fn describe(reply: &Reply) -> Option<String> {
    let code = code_words(reply.code).map(|w| format!("{}: {w}", reply.code));
    let status = reply
        .enhanced_status()
        .and_then(|s| enhanced_words(s).map(|w| format!("{s}: {w}")));
    match (code, status) {
        (Some(c), Some(s)) => Some(format!("{c}; {s}")),
        (Some(c), None) => Some(c),
        (None, Some(s)) => Some(format!("{}: {s}", reply.code)),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_codes_and_enhanced_codes_read_together() {
        let r = Reply::new(
            550,
            &["5.1.1 <bob@example.org>: Recipient address rejected"],
        );
        assert_eq!(
            describe(&r).unwrap(),
            "550: mailbox unavailable or action refused (no such user, or policy); 5.1.1: bad destination mailbox address"
        );
        let r = Reply::new(421, &["4.4.2 timeout"]);
        assert!(
            describe(&r)
                .unwrap()
                .starts_with("421: service not available")
        );
        assert_eq!(describe(&Reply::new(259, &["odd"])), None);
        assert_eq!(
            describe(&Reply::new(259, &["2.7.0 odd"])).unwrap(),
            "259: 2.7.0: other or undefined security status"
        );
    }

    #[test]
    fn a_status_whose_class_disagrees_with_the_code_is_text() {
        // RFC 2034 §4: 5.1.1 on a 250 is not an enhanced status code.
        assert_eq!(
            describe(&Reply::new(250, &["5.1.1 ok"])).unwrap(),
            "250: requested action completed"
        );
    }
}
