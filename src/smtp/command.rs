//! Commands and their encoding: every command is one validated line ending in CRLF.

use std::fmt;

use super::address::{Address, Domain, ReversePath};
use super::forward::Attribute;

/// RFC 5321 §4.5.3.1.4: a command line is at most 512 octets including CRLF.
pub const MAX_COMMAND_LINE: usize = 512;
/// RFC 4954 §4: AUTH lines may be up to 12288 octets (OAuth tokens are long).
pub const MAX_AUTH_LINE: usize = 12288;

/// An ESMTP parameter on MAIL or RCPT (`SIZE=1234`, `BODY=8BITMIME`, `SMTPUTF8`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    pub keyword: String,
    pub value: Option<String>,
}

impl Param {
    pub fn new(keyword: &str, value: Option<String>) -> Param {
        Param {
            keyword: keyword.to_string(),
            value,
        }
    }
}

/// A client command (RFC 5321 §4.1 and extensions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Ehlo(Domain),
    Helo(Domain),
    /// LMTP's greeting command (RFC 2033 §4.1), in place of EHLO.
    Lhlo(Domain),
    /// Postfix XCLIENT: attributes of the client a proxy speaks for; values xtext-encoded.
    Xclient(Vec<Attribute>),
    /// Postfix XFORWARD: attributes of the original client, for logging and filters.
    Xforward(Vec<Attribute>),
    Mail {
        from: ReversePath,
        params: Vec<Param>,
    },
    Rcpt {
        to: Address,
        params: Vec<Param>,
    },
    Data,
    Bdat {
        size: u64,
        last: bool,
    },
    Rset,
    Noop,
    Quit,
    StartTls,
    Vrfy(String),
    Expn(String),
    Help(Option<String>),
    /// RFC 821 §4.1.1 role reversal. Sent only to test that a server refuses it: RFC 5321
    /// Appendix F.1 deprecates TURN because without authentication it diverts mail.
    Turn,
    /// AUTH with an optional initial response (already base64), which is secret.
    Auth {
        mechanism: String,
        initial: Option<String>,
    },
    /// A line answering a 334 challenge (base64 or `*`); secret unless it is `*`.
    AuthResponse(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandError {
    /// The argument would break the line: CR, LF, NUL or another control character.
    UnsafeArgument {
        command: &'static str,
    },
    InvalidParam {
        keyword: String,
    },
    TooLong {
        command: &'static str,
        len: usize,
        limit: usize,
    },
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::UnsafeArgument { command } => {
                write!(f, "{command} argument contains a control character")
            }
            CommandError::InvalidParam { keyword } => {
                write!(f, "invalid ESMTP parameter '{}'", keyword.escape_debug())
            }
            CommandError::TooLong {
                command,
                len,
                limit,
            } => write!(
                f,
                "{command} command is {len} octets, over the limit of {limit}"
            ),
        }
    }
}

impl std::error::Error for CommandError {}

impl Command {
    /// The command verb, as it appears on the wire.
    pub fn verb(&self) -> &'static str {
        match self {
            Command::Ehlo(_) => "EHLO",
            Command::Helo(_) => "HELO",
            Command::Lhlo(_) => "LHLO",
            Command::Xclient(_) => "XCLIENT",
            Command::Xforward(_) => "XFORWARD",
            Command::Mail { .. } => "MAIL",
            Command::Rcpt { .. } => "RCPT",
            Command::Data => "DATA",
            Command::Bdat { .. } => "BDAT",
            Command::Rset => "RSET",
            Command::Noop => "NOOP",
            Command::Quit => "QUIT",
            Command::StartTls => "STARTTLS",
            Command::Vrfy(_) => "VRFY",
            Command::Expn(_) => "EXPN",
            Command::Help(_) => "HELP",
            Command::Turn => "TURN",
            Command::Auth { .. } => "AUTH",
            Command::AuthResponse(_) => "AUTH response",
        }
    }

    /// The line without CRLF. Use `encode` for the wire: it validates.
    fn line(&self) -> String {
        match self {
            Command::Ehlo(d) => format!("EHLO {d}"),
            Command::Helo(d) => format!("HELO {d}"),
            Command::Lhlo(d) => format!("LHLO {d}"),
            Command::Xclient(attrs) => format!("XCLIENT{}", attributes_text(attrs)),
            Command::Xforward(attrs) => format!("XFORWARD{}", attributes_text(attrs)),
            Command::Mail { from, params } => format!("MAIL FROM:{from}{}", params_text(params)),
            Command::Rcpt { to, params } => format!("RCPT TO:<{to}>{}", params_text(params)),
            Command::Data => "DATA".into(),
            Command::Bdat { size, last: true } => format!("BDAT {size} LAST"),
            Command::Bdat { size, last: false } => format!("BDAT {size}"),
            Command::Rset => "RSET".into(),
            Command::Noop => "NOOP".into(),
            Command::Quit => "QUIT".into(),
            Command::StartTls => "STARTTLS".into(),
            Command::Vrfy(s) => format!("VRFY {s}"),
            Command::Expn(s) => format!("EXPN {s}"),
            Command::Help(None) => "HELP".into(),
            Command::Help(Some(s)) => format!("HELP {s}"),
            Command::Turn => "TURN".into(),
            Command::Auth {
                mechanism,
                initial: None,
            } => format!("AUTH {mechanism}"),
            Command::Auth {
                mechanism,
                initial: Some(ir),
            } => format!("AUTH {mechanism} {ir}"),
            Command::AuthResponse(s) => s.clone(),
        }
    }

    /// The line as a transcript may show it: secrets replaced by their length.
    pub fn redacted_line(&self) -> String {
        match self {
            Command::Auth {
                mechanism,
                initial: Some(ir),
            } => format!("AUTH {mechanism} [redacted: {} bytes]", ir.len()),
            Command::AuthResponse(s) if s != "*" => format!("[redacted: {} bytes]", s.len()),
            _ => self.line(),
        }
    }

    /// The line as sent, without CRLF.
    pub fn clear_line(&self) -> String {
        self.line()
    }

    /// True when the line carries a credential.
    pub fn is_secret(&self) -> bool {
        match self {
            Command::Auth { initial, .. } => initial.is_some(),
            Command::AuthResponse(s) => s != "*",
            _ => false,
        }
    }

    /// The bytes to write, CRLF included; refuses anything that could split the line.
    pub fn encode(&self) -> Result<Vec<u8>, CommandError> {
        let command = self.verb();
        for p in self.params() {
            validate_param(p)?;
        }
        let line = self.line();
        if line.chars().any(char::is_control) {
            return Err(CommandError::UnsafeArgument { command });
        }
        let limit = match self {
            Command::Auth { .. } | Command::AuthResponse(_) => MAX_AUTH_LINE,
            _ => MAX_COMMAND_LINE,
        };
        let len = line.len() + 2;
        if len > limit {
            return Err(CommandError::TooLong {
                command,
                len,
                limit,
            });
        }
        let mut out = line.into_bytes();
        out.extend_from_slice(b"\r\n");
        Ok(out)
    }

    fn params(&self) -> &[Param] {
        match self {
            Command::Mail { params, .. } | Command::Rcpt { params, .. } => params,
            _ => &[],
        }
    }
}

fn attributes_text(attrs: &[Attribute]) -> String {
    attrs.iter().map(|a| format!(" {}", a.encoded())).collect()
}

fn params_text(params: &[Param]) -> String {
    params
        .iter()
        .map(|p| match &p.value {
            Some(v) => format!(" {}={v}", p.keyword),
            None => format!(" {}", p.keyword),
        })
        .collect()
}

/// RFC 5321 §4.1.2: esmtp-keyword is alphanumerics and '-'; esmtp-value is printable
/// ASCII except '=' and SP (RFC 6531 allows UTF-8 there too).
fn validate_param(p: &Param) -> Result<(), CommandError> {
    let keyword_ok = !p.keyword.is_empty()
        && p.keyword.starts_with(|c: char| c.is_ascii_alphanumeric())
        && p.keyword
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    let value_ok = p.value.as_deref().is_none_or(|v| {
        !v.is_empty()
            && v.chars()
                .all(|c| (c.is_ascii_graphic() && c != '=') || !c.is_ascii() && !c.is_control())
    });
    if keyword_ok && value_ok {
        Ok(())
    } else {
        Err(CommandError::InvalidParam {
            keyword: p.keyword.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn addr(s: &str) -> Address {
        Address::parse(s).unwrap()
    }

    #[test]
    fn encodes_the_envelope() {
        let mail = Command::Mail {
            from: ReversePath::parse("a@b.org").unwrap(),
            params: vec![
                Param::new("SIZE", Some("1234".into())),
                Param::new("BODY", Some("8BITMIME".into())),
            ],
        };
        assert_eq!(
            mail.encode().unwrap(),
            b"MAIL FROM:<a@b.org> SIZE=1234 BODY=8BITMIME\r\n"
        );
        let null = Command::Mail {
            from: ReversePath::Null,
            params: vec![],
        };
        assert_eq!(null.encode().unwrap(), b"MAIL FROM:<>\r\n");
        let rcpt = Command::Rcpt {
            to: addr("c@d.org"),
            params: vec![],
        };
        assert_eq!(rcpt.encode().unwrap(), b"RCPT TO:<c@d.org>\r\n");
        assert_eq!(
            Command::Bdat {
                size: 10,
                last: true
            }
            .encode()
            .unwrap(),
            b"BDAT 10 LAST\r\n"
        );
    }

    #[test]
    fn encodes_lhlo_and_forwarding_commands() {
        let name = Domain::parse("client.example").unwrap();
        assert_eq!(
            Command::Lhlo(name).encode().unwrap(),
            b"LHLO client.example\r\n"
        );
        let attrs = vec![
            Attribute::new("ADDR", "192.0.2.1"),
            Attribute::new("NAME", "a b+c=d"),
        ];
        assert_eq!(
            Command::Xclient(attrs.clone()).encode().unwrap(),
            b"XCLIENT ADDR=192.0.2.1 NAME=a+20b+2Bc+3Dd\r\n"
        );
        assert_eq!(
            Command::Xforward(attrs).encode().unwrap(),
            b"XFORWARD ADDR=192.0.2.1 NAME=a+20b+2Bc+3Dd\r\n"
        );
    }

    #[test]
    fn refuses_line_breaking_arguments() {
        let vrfy = Command::Vrfy("bob\r\nDATA".into());
        assert_eq!(
            vrfy.encode(),
            Err(CommandError::UnsafeArgument { command: "VRFY" })
        );
        let bad_param = Command::Rcpt {
            to: addr("c@d.org"),
            params: vec![Param::new("NOTIFY", Some("a b".into()))],
        };
        assert!(matches!(
            bad_param.encode(),
            Err(CommandError::InvalidParam { .. })
        ));
    }

    #[test]
    fn enforces_the_line_limit() {
        let long = Command::Vrfy("x".repeat(600));
        assert!(matches!(long.encode(), Err(CommandError::TooLong { .. })));
        let token = Command::Auth {
            mechanism: "XOAUTH2".into(),
            initial: Some("A".repeat(4000)),
        };
        assert!(token.encode().is_ok());
    }

    #[test]
    fn secrets_are_redacted() {
        let auth = Command::Auth {
            mechanism: "PLAIN".into(),
            initial: Some("AGJvYgBzZWNyZXQ=".into()),
        };
        assert!(auth.is_secret());
        assert_eq!(auth.redacted_line(), "AUTH PLAIN [redacted: 16 bytes]");
        assert_eq!(
            Command::AuthResponse("c2VjcmV0".into()).redacted_line(),
            "[redacted: 8 bytes]"
        );
        assert!(!Command::AuthResponse("*".into()).is_secret());
    }

    proptest! {
        #[test]
        fn encoded_commands_are_one_bounded_line(arg in ".{0,700}") {
            for cmd in [Command::Vrfy(arg.clone()), Command::Expn(arg.clone()), Command::Help(Some(arg.clone()))] {
                if let Ok(bytes) = cmd.encode() {
                    prop_assert!(bytes.len() <= MAX_COMMAND_LINE);
                    prop_assert!(bytes.ends_with(b"\r\n"));
                    let body = &bytes[..bytes.len() - 2];
                    prop_assert!(!body.contains(&b'\r') && !body.contains(&b'\n') && !body.contains(&0));
                }
            }
        }
    }
}
