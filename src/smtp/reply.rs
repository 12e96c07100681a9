//! Replies (RFC 5321 §4.2): codes, enhanced status codes and an incremental, bounded parser.

use std::fmt;

/// A three-digit reply code whose first digit is 2–5 (RFC 5321 §4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReplyCode(u16);

impl ReplyCode {
    pub const SERVICE_READY: ReplyCode = ReplyCode(220);
    pub const OK: ReplyCode = ReplyCode(250);
    pub const START_MAIL_INPUT: ReplyCode = ReplyCode(354);

    /// Accepts 200–559: first digit 2–5, second 0–5, as §4.2 defines them.
    pub fn new(code: u16) -> Option<ReplyCode> {
        let (first, second) = (code / 100, (code / 10) % 10);
        ((2..=5).contains(&first) && second <= 5).then_some(ReplyCode(code))
    }

    pub fn value(self) -> u16 {
        self.0
    }

    /// Unknown codes are judged by their first digit (§4.2.1).
    pub fn class(self) -> ReplyClass {
        match self.0 / 100 {
            2 => ReplyClass::Positive,
            3 => ReplyClass::Intermediate,
            4 => ReplyClass::TransientNegative,
            _ => ReplyClass::PermanentNegative,
        }
    }
}

impl fmt::Display for ReplyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyClass {
    Positive,
    Intermediate,
    TransientNegative,
    PermanentNegative,
}

/// An RFC 3463 enhanced status code such as `5.1.1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnhancedStatus {
    pub class: u8,
    pub subject: u16,
    pub detail: u16,
}

impl EnhancedStatus {
    /// Parses the code at the start of a reply line's text; its class must agree with the
    /// reply code's first digit (RFC 2034 §4), otherwise it is ordinary text.
    pub fn parse_prefix(text: &str, code: ReplyCode) -> Option<EnhancedStatus> {
        let token = text.split(' ').next()?;
        let mut parts = token.split('.');
        let class: u8 = parse_digits(parts.next()?, 1)?;
        let subject: u16 = parse_digits(parts.next()?, 3)?;
        let detail: u16 = parse_digits(parts.next()?, 3)?;
        if parts.next().is_some() || !matches!(class, 2 | 4 | 5) {
            return None;
        }
        (u16::from(class) == code.value() / 100).then_some(EnhancedStatus {
            class,
            subject,
            detail,
        })
    }
}

fn parse_digits<T: std::str::FromStr>(s: &str, max_len: usize) -> Option<T> {
    if s.is_empty() || s.len() > max_len || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl fmt::Display for EnhancedStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// A complete reply: one code and one or more lines of text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub code: ReplyCode,
    /// The text of each line after the code and separator, decoded lossily as UTF-8.
    /// Control characters are kept: renderers escape them.
    pub lines: Vec<String>,
}

impl Reply {
    pub fn new(code: u16, lines: &[&str]) -> Reply {
        Reply {
            code: ReplyCode::new(code).expect("valid reply code"),
            lines: lines.iter().map(|l| l.to_string()).collect(),
        }
    }

    pub fn class(&self) -> ReplyClass {
        self.code.class()
    }

    pub fn is_positive(&self) -> bool {
        self.class() == ReplyClass::Positive
    }

    pub fn enhanced_status(&self) -> Option<EnhancedStatus> {
        EnhancedStatus::parse_prefix(self.lines.first()?, self.code)
    }

    /// All lines' text joined with spaces, the enhanced status code removed from each.
    pub fn text(&self) -> String {
        let status = self.enhanced_status();
        self.lines
            .iter()
            .map(|line| match status {
                Some(s) => line
                    .strip_prefix(&s.to_string())
                    .map_or(line.as_str(), |rest| rest.trim_start()),
                None => line.as_str(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The queue id a final-dot reply announces, in the forms Postfix ("queued as X"),
    /// Exim ("id=X") and Sendmail ("X Message accepted") use. Every line is searched,
    /// the last first: Exim answers BDAT LAST with `250- 1326 byte chunk, total 1326`
    /// then `250 OK id=...`.
    pub fn queue_id(&self) -> Option<String> {
        self.lines.iter().rev().find_map(|line| queue_id_in(line))
    }
}

/// The queue id in one line of a reply, if it names one.
fn queue_id_in(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let tail = if let Some(i) = lower.find("queued as ") {
        &text[i + "queued as ".len()..]
    } else if let Some(i) = lower.find("id=") {
        &text[i + "id=".len()..]
    } else if lower.contains("message accepted for delivery") {
        let body = text.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
        body.trim_start()
    } else {
        return None;
    };
    let id: String = tail
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
        .collect();
    let id = id.trim_end_matches('.');
    (!id.is_empty()).then(|| id.to_string())
}

/// How much a reply may hold. RFC 5321 §4.5.3.1.5 allows 512 octets a line; real
/// servers exceed it, so the defaults are generous but still bounded.
#[derive(Clone, Copy, Debug)]
pub struct ReplyLimits {
    pub max_line: usize,
    pub max_lines: usize,
}

impl Default for ReplyLimits {
    fn default() -> Self {
        ReplyLimits {
            max_line: 4096,
            max_lines: 1000,
        }
    }
}

/// A server reply that breaks RFC 5321 §4.2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplyError {
    LineTooLong { limit: usize },
    TooManyLines { limit: usize },
    MalformedCode { line: String },
    MismatchedCode { expected: ReplyCode, got: String },
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplyError::LineTooLong { limit } => {
                write!(f, "reply line longer than {limit} bytes")
            }
            ReplyError::TooManyLines { limit } => {
                write!(f, "reply with more than {limit} lines")
            }
            ReplyError::MalformedCode { line } => {
                write!(f, "malformed reply line {}", quote_snippet(line))
            }
            ReplyError::MismatchedCode { expected, got } => write!(
                f,
                "multi-line reply changed its code from {expected} to {}",
                quote_snippet(got)
            ),
        }
    }
}

impl std::error::Error for ReplyError {}

/// A short, escaped excerpt for error messages.
fn quote_snippet(s: &str) -> String {
    let short: String = s.chars().take(40).collect();
    let more = if s.chars().count() > 40 { "..." } else { "" };
    format!("\"{}{more}\"", short.escape_debug())
}

/// Incremental reply parser: feed it bytes as they arrive; it consumes no more than one
/// reply, so bytes after it stay with the caller (RFC 3207 §5 needs to see them).
/// Limits are enforced while bytes arrive, so an endless line never grows memory.
#[derive(Debug, Default)]
pub struct ReplyParser {
    limits: ReplyLimits,
    partial: Vec<u8>,
    code: Option<ReplyCode>,
    lines: Vec<String>,
}

/// What one `feed` call did.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// All input was consumed; more is needed.
    Incomplete,
    /// A reply ended after `consumed` bytes of this input.
    Complete { reply: Reply, consumed: usize },
}

impl ReplyParser {
    pub fn new(limits: ReplyLimits) -> ReplyParser {
        ReplyParser {
            limits,
            ..ReplyParser::default()
        }
    }

    /// True when part of a reply has been received.
    pub fn in_progress(&self) -> bool {
        !self.partial.is_empty() || !self.lines.is_empty()
    }

    pub fn feed(&mut self, input: &[u8]) -> Result<Parsed, ReplyError> {
        let mut consumed = 0;
        while consumed < input.len() {
            let rest = &input[consumed..];
            match rest.iter().position(|&b| b == b'\n') {
                Some(nl) => {
                    self.push_partial(&rest[..nl])?;
                    consumed += nl + 1;
                    if let Some(reply) = self.end_line()? {
                        return Ok(Parsed::Complete { reply, consumed });
                    }
                }
                None => {
                    self.push_partial(rest)?;
                    consumed = input.len();
                }
            }
        }
        Ok(Parsed::Incomplete)
    }

    fn push_partial(&mut self, bytes: &[u8]) -> Result<(), ReplyError> {
        // +1 leaves room for the CR of a CRLF split across reads.
        if self.partial.len() + bytes.len() > self.limits.max_line + 1 {
            return Err(ReplyError::LineTooLong {
                limit: self.limits.max_line,
            });
        }
        self.partial.extend_from_slice(bytes);
        Ok(())
    }

    /// Handles one complete line (LF seen); returns the reply when it was the last line.
    fn end_line(&mut self) -> Result<Option<Reply>, ReplyError> {
        let mut line = std::mem::take(&mut self.partial);
        // CRLF is the standard; a lone LF is accepted since many servers and proxies send it.
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if line.len() > self.limits.max_line {
            return Err(ReplyError::LineTooLong {
                limit: self.limits.max_line,
            });
        }
        let text = String::from_utf8_lossy(&line).into_owned();
        let (code, last, body) =
            split_line(&line).ok_or_else(|| ReplyError::MalformedCode { line: text.clone() })?;
        match self.code {
            Some(expected) if expected != code => {
                return Err(ReplyError::MismatchedCode {
                    expected,
                    got: text,
                });
            }
            _ => self.code = Some(code),
        }
        if self.lines.len() >= self.limits.max_lines {
            return Err(ReplyError::TooManyLines {
                limit: self.limits.max_lines,
            });
        }
        self.lines.push(String::from_utf8_lossy(body).into_owned());
        if !last {
            return Ok(None);
        }
        self.code = None;
        Ok(Some(Reply {
            code,
            lines: std::mem::take(&mut self.lines),
        }))
    }
}

/// Splits `250-text` / `250 text` / `250` into (code, is_last_line, text).
fn split_line(line: &[u8]) -> Option<(ReplyCode, bool, &[u8])> {
    if line.len() < 3 || !line[..3].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = line[..3]
        .iter()
        .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
    let code = ReplyCode::new(value)?;
    match line.get(3) {
        None => Some((code, true, &[])),
        Some(b' ') => Some((code, true, &line[4..])),
        Some(b'-') => Some((code, false, &line[4..])),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse_all(input: &[u8]) -> Result<(Reply, usize), ReplyError> {
        let mut p = ReplyParser::default();
        match p.feed(input)? {
            Parsed::Complete { reply, consumed } => Ok((reply, consumed)),
            Parsed::Incomplete => panic!("incomplete"),
        }
    }

    fn parse_bytewise(input: &[u8]) -> Result<Option<(Reply, usize)>, ReplyError> {
        let mut p = ReplyParser::default();
        for (i, b) in input.iter().enumerate() {
            if let Parsed::Complete { reply, consumed } = p.feed(std::slice::from_ref(b))? {
                assert_eq!(consumed, 1);
                return Ok(Some((reply, i + 1)));
            }
        }
        Ok(None)
    }

    #[test]
    fn single_line() {
        let (r, n) = parse_all(b"220 mx.example.org ESMTP\r\n").unwrap();
        assert_eq!(r.code.value(), 220);
        assert_eq!(r.lines, vec!["mx.example.org ESMTP"]);
        assert_eq!(n, 26);
    }

    #[test]
    fn multi_line_stops_at_last_line_and_leaves_the_rest() {
        let input = b"250-mx\r\n250-PIPELINING\r\n250 SIZE 100\r\n220 extra";
        let (r, n) = parse_all(input).unwrap();
        assert_eq!(r.lines, vec!["mx", "PIPELINING", "SIZE 100"]);
        assert_eq!(&input[n..], b"220 extra");
    }

    #[test]
    fn code_without_text_and_lf_only() {
        let (r, _) = parse_all(b"250\n").unwrap();
        assert_eq!(r.lines, vec![""]);
        let (r, _) = parse_all(b"250-a\n250 b\n").unwrap();
        assert_eq!(r.lines, vec!["a", "b"]);
    }

    #[test]
    fn malformed_codes_are_errors() {
        for bad in [
            &b"000 x\r\n"[..],
            b"600 x\r\n",
            b"2500 x\r\n",
            b"25x x\r\n",
            b"199 x\r\n",
            b"260 x\r\n",
            b"hello\r\n",
            b"\r\n",
            b"25\r\n",
        ] {
            assert!(
                matches!(parse_all(bad), Err(ReplyError::MalformedCode { .. })),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn mismatched_codes_are_errors() {
        let err = parse_all(b"250-a\r\n251 b\r\n").unwrap_err();
        assert!(matches!(err, ReplyError::MismatchedCode { .. }));
        assert!(err.to_string().contains("from 250"));
    }

    #[test]
    fn line_cap_is_enforced_while_reading() {
        let mut p = ReplyParser::new(ReplyLimits {
            max_line: 10,
            max_lines: 3,
        });
        assert_eq!(p.feed(b"250-0123456").unwrap(), Parsed::Incomplete);
        assert!(matches!(
            p.feed(b"789"),
            Err(ReplyError::LineTooLong { limit: 10 })
        ));
    }

    #[test]
    fn lines_cap_is_enforced() {
        let mut p = ReplyParser::new(ReplyLimits {
            max_line: 100,
            max_lines: 3,
        });
        assert!(matches!(
            p.feed(b"250-a\r\n250-b\r\n250-c\r\n250-d\r\n"),
            Err(ReplyError::TooManyLines { limit: 3 })
        ));
    }

    #[test]
    fn invalid_utf8_and_controls_are_kept_as_text() {
        let (r, _) = parse_all(b"550 bad \xff\x1b[31m\r\n").unwrap();
        assert_eq!(r.lines[0], "bad \u{fffd}\u{1b}[31m");
    }

    #[test]
    fn enhanced_status_and_text() {
        let r = Reply::new(550, &["5.1.1 <x@y>: Recipient address rejected"]);
        assert_eq!(r.enhanced_status().unwrap().to_string(), "5.1.1");
        assert_eq!(r.text(), "<x@y>: Recipient address rejected");
        // Class must match the reply code.
        assert_eq!(Reply::new(250, &["5.1.1 x"]).enhanced_status(), None);
        assert_eq!(
            Reply::new(250, &["2.1.0"])
                .enhanced_status()
                .unwrap()
                .detail,
            0
        );
        assert_eq!(Reply::new(250, &["2.1 x"]).enhanced_status(), None);
        assert_eq!(Reply::new(250, &["mx.example.org"]).enhanced_status(), None);
    }

    #[test]
    fn queue_ids() {
        let cases = [
            ("2.0.0 Ok: queued as 4F3A2B1C", Some("4F3A2B1C")),
            ("OK id=1rXyZa-000Abc-2Q", Some("1rXyZa-000Abc-2Q")),
            (
                "2.0.0 x8HKpA1s012345 Message accepted for delivery",
                Some("x8HKpA1s012345"),
            ),
            ("OK", None),
            ("2.0.0 Ok: queued as ", None),
        ];
        for (text, want) in cases {
            assert_eq!(
                Reply::new(250, &[text]).queue_id().as_deref(),
                want,
                "{text}"
            );
        }
    }

    #[test]
    fn queue_id_from_any_line_of_a_multiline_reply_last_first() {
        let exim = Reply::new(
            250,
            &[" 1326 byte chunk, total 1326", "OK id=1abc-000Def-Gh"],
        );
        assert_eq!(exim.queue_id().as_deref(), Some("1abc-000Def-Gh"));
        let first_only = Reply::new(250, &["2.0.0 Ok: queued as AAA", "have a nice day"]);
        assert_eq!(first_only.queue_id().as_deref(), Some("AAA"));
        let both = Reply::new(250, &["queued as OLD", "OK id=NEW"]);
        assert_eq!(both.queue_id().as_deref(), Some("NEW"));
    }

    #[test]
    fn parser_is_reusable_after_a_reply() {
        let mut p = ReplyParser::default();
        let input = b"250 a\r\n354 b\r\n";
        let Parsed::Complete { consumed, .. } = p.feed(input).unwrap() else {
            panic!()
        };
        let Parsed::Complete { reply, .. } = p.feed(&input[consumed..]).unwrap() else {
            panic!()
        };
        assert_eq!(reply.code.value(), 354);
    }

    fn reply_bytes() -> impl Strategy<Value = Vec<u8>> {
        (200u16..=559, proptest::collection::vec("[ -~]{0,30}", 1..5)).prop_map(|(code, lines)| {
            let mut out = Vec::new();
            for (i, l) in lines.iter().enumerate() {
                let sep = if i + 1 == lines.len() { ' ' } else { '-' };
                out.extend_from_slice(format!("{code}{sep}{l}\r\n").as_bytes());
            }
            out
        })
    }

    proptest! {
        #[test]
        fn split_at_every_offset_parses_the_same(bytes in reply_bytes()) {
            let whole = parse_all(&bytes);
            for cut in 0..=bytes.len() {
                let mut p = ReplyParser::default();
                let first = p.feed(&bytes[..cut]);
                let got = match first {
                    Ok(Parsed::Complete { reply, consumed }) => Ok((reply, consumed)),
                    Ok(Parsed::Incomplete) => match p.feed(&bytes[cut..]) {
                        Ok(Parsed::Complete { reply, consumed }) => Ok((reply, cut + consumed)),
                        Ok(Parsed::Incomplete) => panic!("incomplete"),
                        Err(e) => Err(e),
                    },
                    Err(e) => Err(e),
                };
                prop_assert_eq!(&got, &whole);
            }
            let bytewise = parse_bytewise(&bytes).map(|o| o.unwrap());
            prop_assert_eq!(bytewise, whole);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let mut p = ReplyParser::new(ReplyLimits { max_line: 64, max_lines: 4 });
            let mut rest = &bytes[..];
            while !rest.is_empty() {
                match p.feed(rest) {
                    Ok(Parsed::Complete { consumed, reply }) => {
                        prop_assert!(consumed > 0 && consumed <= rest.len());
                        prop_assert!(reply.lines.len() <= 4);
                        rest = &rest[consumed..];
                    }
                    Ok(Parsed::Incomplete) => break,
                    Err(_) => break,
                }
            }
        }
    }
}
