//! Parsing the client's command lines (RFC 5321 §4.1) into requests the server answers.
//!
//! The client side of `smtp/` encodes commands; this is the reverse, with the server's
//! leniency where RFC 5321 §4.1.1 asks for it (verbs in any case, `MAIL FROM:` with or
//! without a space before the path) and its strictness where a sloppy parse would let an
//! argument change meaning (controls, unbalanced brackets, over-long paths).

use crate::smtp::{Address, Param, ReversePath, address};

/// One parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    Ehlo(String),
    Helo(String),
    Mail {
        from: ReversePath,
        params: Vec<Param>,
    },
    /// `to` is an address, or `Postmaster` with no domain (RFC 5321 §4.5.1).
    Rcpt {
        to: String,
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
    Help,
    Auth {
        mechanism: String,
        initial: Option<String>,
    },
}

/// Why a line is not a command we can act on, with the reply it earns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestError {
    /// 500 5.5.1: the verb is not one we know.
    Unknown(String),
    /// 501 5.5.4 (or 5.5.2): known verb, bad arguments.
    Syntax(String),
    /// 553 5.1.3 (MAIL) / 501 5.1.3 (RCPT): the path is not a valid address.
    BadAddress(String),
}

impl RequestError {
    pub fn code_and_text(&self) -> (u16, String) {
        match self {
            RequestError::Unknown(verb) => (
                500,
                format!("5.5.1 Command unrecognized: {}", printable(verb)),
            ),
            RequestError::Syntax(why) => (501, format!("5.5.4 Syntax error: {why}")),
            RequestError::BadAddress(why) => (553, format!("5.1.3 Bad address syntax: {why}")),
        }
    }
}

/// Parses one command line (without its CRLF). Non-UTF-8 bytes are refused: an 8-bit
/// address needs SMTPUTF8, which is UTF-8 (RFC 6531 §3.3).
pub fn parse(line: &[u8]) -> Result<Request, RequestError> {
    let line = std::str::from_utf8(line)
        .map_err(|_| RequestError::Syntax("the line is not valid UTF-8".into()))?;
    if line.chars().any(|c| c.is_control() && c != '\t') {
        return Err(RequestError::Syntax(
            "control characters are not allowed in commands".into(),
        ));
    }
    let (verb, rest) = match line.find(' ') {
        Some(i) => (&line[..i], &line[i + 1..]),
        None => (line, ""),
    };
    let upper = verb.to_ascii_uppercase();
    let no_args = |r: Request| {
        if rest.trim().is_empty() {
            Ok(r)
        } else {
            Err(RequestError::Syntax(format!("{upper} takes no arguments")))
        }
    };
    match upper.as_str() {
        "EHLO" | "HELO" => {
            let name = rest.trim();
            if name.is_empty() || name.contains(' ') {
                return Err(RequestError::Syntax(format!(
                    "{upper} needs one domain name"
                )));
            }
            if upper == "EHLO" {
                Ok(Request::Ehlo(name.to_string()))
            } else {
                Ok(Request::Helo(name.to_string()))
            }
        }
        "MAIL" => {
            let (path, params) = path_and_params(rest, "FROM:")?;
            let from = if path.is_empty() {
                ReversePath::Null
            } else {
                ReversePath::Mailbox(
                    Address::parse(path).map_err(|e| RequestError::BadAddress(e.0))?,
                )
            };
            Ok(Request::Mail { from, params })
        }
        "RCPT" => {
            let (path, params) = path_and_params(rest, "TO:")?;
            if path.is_empty() {
                return Err(RequestError::BadAddress("empty forward-path".into()));
            }
            if !path.eq_ignore_ascii_case("postmaster") {
                Address::parse(path).map_err(|e| RequestError::BadAddress(e.0))?;
            }
            Ok(Request::Rcpt {
                to: path.to_string(),
                params,
            })
        }
        "DATA" => no_args(Request::Data),
        "BDAT" => bdat(rest),
        "RSET" => no_args(Request::Rset),
        // RFC 5321 §4.1.1.9: NOOP may carry a string, which is ignored.
        "NOOP" => Ok(Request::Noop),
        "QUIT" => no_args(Request::Quit),
        "STARTTLS" => no_args(Request::StartTls),
        "VRFY" => Ok(Request::Vrfy(rest.trim().to_string())),
        "EXPN" => Ok(Request::Expn(rest.trim().to_string())),
        "HELP" => Ok(Request::Help),
        "AUTH" => {
            let mut words = rest.split(' ').filter(|w| !w.is_empty());
            let mechanism = words
                .next()
                .ok_or_else(|| RequestError::Syntax("AUTH needs a mechanism".into()))?
                .to_ascii_uppercase();
            let initial = words.next().map(str::to_string);
            if words.next().is_some() {
                return Err(RequestError::Syntax("too many AUTH arguments".into()));
            }
            Ok(Request::Auth { mechanism, initial })
        }
        _ => Err(RequestError::Unknown(verb.to_string())),
    }
}

/// `FROM:<path> PARAMS` / `TO:<path> PARAMS`; the path without its brackets.
fn path_and_params<'a>(
    rest: &'a str,
    keyword: &str,
) -> Result<(&'a str, Vec<Param>), RequestError> {
    let head = rest.get(..keyword.len()).unwrap_or("");
    if !head.eq_ignore_ascii_case(keyword) {
        return Err(RequestError::Syntax(format!("expected {keyword}<path>")));
    }
    // Many clients put a space after the colon; RFC 5321 has none, but accepting one
    // cannot change what the path means.
    let rest = rest[keyword.len()..].trim_start();
    let inner = rest
        .strip_prefix('<')
        .ok_or_else(|| RequestError::Syntax("the path must be in angle brackets".into()))?;
    let close = inner
        .find('>')
        .ok_or_else(|| RequestError::Syntax("unbalanced '<'".into()))?;
    let mut path = &inner[..close];
    // RFC 5321 §4.1.2: a source route (@a,@b:user@c) MUST be accepted and ignored.
    if path.starts_with('@')
        && let Some(colon) = path.find(':')
    {
        path = &path[colon + 1..];
    }
    if path.len() > address::MAX_PATH {
        return Err(RequestError::Syntax("path too long".into()));
    }
    let params = parse_params(&inner[close + 1..])?;
    Ok((path, params))
}

fn parse_params(text: &str) -> Result<Vec<Param>, RequestError> {
    let mut params = Vec::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let (keyword, value) = match word.split_once('=') {
            Some((k, v)) => (k, Some(v.to_string())),
            None => (word, None),
        };
        let valid_keyword = !keyword.is_empty()
            && keyword.as_bytes()[0].is_ascii_alphanumeric()
            && keyword
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !valid_keyword || value.as_deref() == Some("") {
            return Err(RequestError::Syntax(format!(
                "bad parameter {}",
                printable(word)
            )));
        }
        params.push(Param {
            keyword: keyword.to_ascii_uppercase(),
            value,
        });
    }
    Ok(params)
}

fn bdat(rest: &str) -> Result<Request, RequestError> {
    let mut words = rest.split(' ').filter(|w| !w.is_empty());
    let size = words
        .next()
        .filter(|w| w.bytes().all(|b| b.is_ascii_digit()) && w.len() <= 19)
        .and_then(|w| w.parse::<u64>().ok())
        .ok_or_else(|| RequestError::Syntax("BDAT needs a chunk size".into()))?;
    let last = match words.next() {
        None => false,
        Some(w) if w.eq_ignore_ascii_case("LAST") => true,
        Some(_) => return Err(RequestError::Syntax("BDAT size [LAST]".into())),
    };
    if words.next().is_some() {
        return Err(RequestError::Syntax("BDAT size [LAST]".into()));
    }
    Ok(Request::Bdat { size, last })
}

/// At most 64 characters of client text, for a reply.
fn printable(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_in_any_case_and_paths() {
        assert_eq!(
            parse(b"ehlo client.example"),
            Ok(Request::Ehlo("client.example".into()))
        );
        assert_eq!(
            parse(b"MAIL FROM:<a@example.org> SIZE=100 body=8bitmime"),
            Ok(Request::Mail {
                from: ReversePath::parse("a@example.org").unwrap(),
                params: vec![
                    Param::new("SIZE", Some("100".into())),
                    Param::new("BODY", Some("8bitmime".into()))
                ],
            })
        );
        assert_eq!(
            parse(b"MAIL FROM: <>"),
            Ok(Request::Mail {
                from: ReversePath::Null,
                params: vec![]
            })
        );
        assert_eq!(
            parse(b"RCPT TO:<Postmaster>"),
            Ok(Request::Rcpt {
                to: "Postmaster".into(),
                params: vec![]
            })
        );
        assert_eq!(
            parse(b"RCPT TO:<@relay.example:b@example.org> NOTIFY=SUCCESS"),
            Ok(Request::Rcpt {
                to: "b@example.org".into(),
                params: vec![Param::new("NOTIFY", Some("SUCCESS".into()))]
            })
        );
        assert_eq!(
            parse(b"BDAT 10 LAST"),
            Ok(Request::Bdat {
                size: 10,
                last: true
            })
        );
        assert_eq!(
            parse(b"AUTH plain AGEAYg=="),
            Ok(Request::Auth {
                mechanism: "PLAIN".into(),
                initial: Some("AGEAYg==".into())
            })
        );
    }

    #[test]
    fn refusals() {
        assert!(matches!(parse(b"XYZZY"), Err(RequestError::Unknown(_))));
        assert!(matches!(
            parse(b"MAIL FROM:a@b"),
            Err(RequestError::Syntax(_))
        ));
        assert!(matches!(
            parse(b"MAIL FROM:<a@b"),
            Err(RequestError::Syntax(_))
        ));
        assert!(matches!(
            parse(b"RCPT TO:<nobody>"),
            Err(RequestError::BadAddress(_))
        ));
        assert!(matches!(
            parse(b"RCPT TO:<>"),
            Err(RequestError::BadAddress(_))
        ));
        assert!(matches!(parse(b"DATA now"), Err(RequestError::Syntax(_))));
        assert!(matches!(parse(b"BDAT -1"), Err(RequestError::Syntax(_))));
        assert!(matches!(
            parse(b"BDAT 99999999999999999999"),
            Err(RequestError::Syntax(_))
        ));
        assert!(matches!(
            parse(b"MAIL FROM:<a@b> SIZE="),
            Err(RequestError::Syntax(_))
        ));
        assert!(matches!(
            parse(b"HELO a\x1bb"),
            Err(RequestError::Syntax(_))
        ));
        assert!(matches!(parse(b"HELO \xff"), Err(RequestError::Syntax(_))));
    }
}
