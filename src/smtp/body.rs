//! What a message's bytes need from the server: 7-bit, 8BITMIME (RFC 6152) or
//! BINARYMIME (RFC 3030 §3), found by one streaming pass, and the BODY= parameter chosen
//! from what the server offers.

use super::capabilities::Capabilities;
use super::command::Param;
use super::data::MAX_TEXT_LINE;

/// One pass over a message, in pieces of any size; memory stays constant.
#[derive(Clone, Debug, Default)]
pub struct BodyScanner {
    report: BodyReport,
    line_len: usize,
    after_cr: bool,
}

/// Where the first byte that needs an extension was found (1-based line numbers).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BodyReport {
    pub bytes: u64,
    /// First line with an octet above 127.
    pub eight_bit_line: Option<u64>,
    /// First line with a NUL, which only BINARYMIME may carry (RFC 6152 §3).
    pub nul_line: Option<u64>,
    /// First line longer than 998 octets (RFC 5321 §4.5.3.1.6).
    pub long_line: Option<u64>,
    lines_done: u64,
}

impl BodyScanner {
    pub fn new() -> BodyScanner {
        BodyScanner::default()
    }

    pub fn feed(&mut self, input: &[u8]) {
        let r = &mut self.report;
        r.bytes += input.len() as u64;
        for &b in input {
            let after_cr = std::mem::replace(&mut self.after_cr, false);
            match b {
                b'\n' if after_cr => {}
                b'\r' | b'\n' => {
                    r.lines_done += 1;
                    self.line_len = 0;
                    self.after_cr = b == b'\r';
                }
                _ => {
                    self.line_len += 1;
                    let line = r.lines_done + 1;
                    if b >= 0x80 && r.eight_bit_line.is_none() {
                        r.eight_bit_line = Some(line);
                    } else if b == 0 && r.nul_line.is_none() {
                        r.nul_line = Some(line);
                    }
                    if self.line_len == MAX_TEXT_LINE + 1 && r.long_line.is_none() {
                        r.long_line = Some(line);
                    }
                }
            }
        }
    }

    pub fn report(&self) -> BodyReport {
        self.report
    }

    /// Scans a whole message held in memory.
    pub fn scan(bytes: &[u8]) -> BodyReport {
        let mut s = BodyScanner::new();
        s.feed(bytes);
        s.report()
    }
}

impl BodyReport {
    /// RFC 6152: octets above 127 need BODY=8BITMIME.
    pub fn needs_8bit(&self) -> bool {
        self.eight_bit_line.is_some()
    }

    /// NULs and over-long lines are outside 8BITMIME too: only BINARYMIME carries them.
    pub fn needs_binary(&self) -> bool {
        self.nul_line.is_some() || self.long_line.is_some()
    }
}

/// How the body goes, decided once the server's capabilities are known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyChoice {
    /// No BODY parameter: 7-bit content (or content we could not scan, sent as it is).
    Plain,
    EightBitMime,
    /// Only with BDAT (RFC 3030 §3); the bytes go exactly as they are.
    BinaryMime,
}

/// Why the message cannot go to this server as it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BodyRefusal(pub String);

/// Picks BODY= for a message. `report` is None when the message could not be scanned
/// ahead (stdin): 8BITMIME is then declared whenever offered, since declaring it for
/// 7-bit content is harmless, and otherwise the caller must watch the stream itself.
pub fn choose_body(
    report: Option<&BodyReport>,
    caps: &Capabilities,
    chunking: bool,
) -> Result<BodyChoice, BodyRefusal> {
    let Some(r) = report else {
        return Ok(if caps.eight_bit_mime() {
            BodyChoice::EightBitMime
        } else {
            BodyChoice::Plain
        });
    };
    if r.needs_binary() && chunking && caps.has("BINARYMIME") {
        return Ok(BodyChoice::BinaryMime);
    }
    match r.eight_bit_line {
        None => Ok(BodyChoice::Plain),
        Some(_) if caps.eight_bit_mime() => Ok(BodyChoice::EightBitMime),
        Some(line) => Err(BodyRefusal(format!(
            "the message has 8-bit bytes (first on line {line}) and the server does not offer 8BITMIME (RFC 6152); \
             encode it as 7-bit (quoted-printable or base64) or use a server that offers 8BITMIME"
        ))),
    }
}

impl BodyChoice {
    pub fn param(self) -> Option<Param> {
        match self {
            BodyChoice::Plain => None,
            BodyChoice::EightBitMime => Some(Param::new("BODY", Some("8BITMIME".into()))),
            BodyChoice::BinaryMime => Some(Param::new("BODY", Some("BINARYMIME".into()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::Reply;
    use proptest::prelude::*;

    fn caps(lines: &[&str]) -> Capabilities {
        let mut all = vec!["mx.test"];
        all.extend_from_slice(lines);
        Capabilities::from_ehlo(&Reply::new(250, &all))
    }

    #[test]
    fn scans() {
        let r = BodyScanner::scan(b"Subject: x\r\n\r\nplain\r\n");
        assert_eq!(
            r,
            BodyReport {
                bytes: 21,
                lines_done: 3,
                ..Default::default()
            }
        );
        let r = BodyScanner::scan(b"a\nb\r\nc\x80\r\n");
        assert_eq!(r.eight_bit_line, Some(3));
        let r = BodyScanner::scan(b"a\r\rb\0");
        assert_eq!(r.nul_line, Some(3));
        let mut long = vec![b'x'; 998];
        long.extend_from_slice(b"\r\n");
        long.extend(vec![b'y'; 999]);
        let r = BodyScanner::scan(&long);
        assert_eq!(r.long_line, Some(2));
        assert!(r.needs_binary() && !r.needs_8bit());
    }

    #[test]
    fn choices() {
        let seven = BodyScanner::scan(b"hi\r\n");
        let eight = BodyScanner::scan("grüße\r\n".as_bytes());
        let binary = BodyScanner::scan(b"a\0b\x80\r\n");
        let full = caps(&["8BITMIME", "CHUNKING", "BINARYMIME"]);
        let bare = caps(&[]);
        assert_eq!(
            choose_body(Some(&seven), &bare, false),
            Ok(BodyChoice::Plain)
        );
        assert_eq!(
            choose_body(Some(&eight), &full, false),
            Ok(BodyChoice::EightBitMime)
        );
        let refusal = choose_body(Some(&eight), &bare, false).unwrap_err();
        assert!(refusal.0.contains("line 1") && refusal.0.contains("8BITMIME"));
        assert_eq!(
            choose_body(Some(&binary), &full, true),
            Ok(BodyChoice::BinaryMime)
        );
        assert_eq!(
            choose_body(Some(&binary), &full, false),
            Ok(BodyChoice::EightBitMime),
            "BINARYMIME needs BDAT"
        );
        assert_eq!(
            choose_body(None, &full, false),
            Ok(BodyChoice::EightBitMime)
        );
        assert_eq!(choose_body(None, &bare, false), Ok(BodyChoice::Plain));
    }

    proptest! {
        #[test]
        fn split_scans_equal_one_scan(
            input in proptest::collection::vec(prop_oneof![Just(b'\r'), Just(b'\n'), Just(0u8), Just(0x80u8), Just(b'a')], 0..300),
            cut in 0usize..300,
        ) {
            let cut = cut.min(input.len());
            let mut s = BodyScanner::new();
            s.feed(&input[..cut]);
            s.feed(&input[cut..]);
            prop_assert_eq!(s.report(), BodyScanner::scan(&input));
        }
    }
}
