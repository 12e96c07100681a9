//! Address lists: one address a line; blank lines, `#` comments, CRLF line ends and a
//! UTF-8 byte order mark are tolerated; a bad line is reported by number, not fatal.

use std::io::{self, BufRead};

use crate::smtp::Address;

/// Longest line kept. An address is at most 254 octets (RFC 5321 §4.5.3.1.3); anything
/// past this is junk, and reading stops keeping it so one endless line cannot grow memory.
pub const MAX_LINE: usize = 1024;

const BOM: &[u8] = b"\xef\xbb\xbf";

/// One address from the input, by line (or argument) number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// 1-based line number in the file, or argument position on the command line.
    pub line: u64,
    /// The text as given (trimmed; lossily decoded, cut at [`MAX_LINE`]).
    pub text: String,
    /// The address, its domain as A-labels, or why the line is not one.
    pub parsed: Result<Address, String>,
}

/// Reads one argument or line's text as an address. Surrounding angle brackets are
/// accepted, since lists copied from headers often carry them.
pub fn parse_address(text: &str) -> Result<Address, String> {
    let bare = text
        .strip_prefix('<')
        .and_then(|t| t.strip_suffix('>'))
        .unwrap_or(text);
    let address = Address::parse(bare).map_err(|e| e.to_string())?;
    // An IDN domain goes as A-labels (RFC 6531 §3.2): every server can take it, and
    // the MX lookup needs it anyway.
    address.with_ascii_domain().map_err(|e| e.to_string())
}

/// One line's bytes (without its LF) into an entry; None for blank lines and comments.
pub fn parse_line(number: u64, raw: &[u8], truncated: bool) -> Option<Entry> {
    let raw = if number == 1 {
        raw.strip_prefix(BOM).unwrap_or(raw)
    } else {
        raw
    };
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    let (text, utf8) = match std::str::from_utf8(raw) {
        Ok(s) => (s.trim().to_string(), true),
        Err(_) => (String::from_utf8_lossy(raw).trim().to_string(), false),
    };
    if !truncated && (text.is_empty() || text.starts_with('#')) {
        return None;
    }
    let parsed = if truncated {
        Err(format!("line longer than {MAX_LINE} bytes"))
    } else if !utf8 {
        Err("not valid UTF-8".to_string())
    } else {
        parse_address(&text)
    };
    Some(Entry {
        line: number,
        text,
        parsed,
    })
}

/// The entries of a list, read lazily with a bounded buffer per line.
pub struct Lines<R> {
    reader: R,
    number: u64,
    buf: Vec<u8>,
}

impl<R: BufRead> Lines<R> {
    pub fn new(reader: R) -> Self {
        Lines {
            reader,
            number: 0,
            buf: Vec::with_capacity(128),
        }
    }

    /// The next line's bytes into `buf` (at most [`MAX_LINE`] of them); whether it was
    /// cut short; None at the end of input.
    fn next_line(&mut self) -> io::Result<Option<bool>> {
        self.buf.clear();
        let mut truncated = false;
        let mut any = false;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                return Ok(any.then_some(truncated));
            }
            any = true;
            let (chunk, end) = match available.iter().position(|&b| b == b'\n') {
                Some(i) => (&available[..i], Some(i + 1)),
                None => (available, None),
            };
            let room = MAX_LINE.saturating_sub(self.buf.len());
            if chunk.len() > room {
                truncated = true;
            }
            self.buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
            let used = end.unwrap_or(available.len());
            self.reader.consume(used);
            if end.is_some() {
                return Ok(Some(truncated));
            }
        }
    }
}

impl<R: BufRead> Iterator for Lines<R> {
    type Item = io::Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        // Each turn consumes a line, and input is finite: the loop ends at its end.
        loop {
            let truncated = match self.next_line() {
                Ok(Some(t)) => t,
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            };
            self.number += 1;
            if let Some(entry) = parse_line(self.number, &self.buf, truncated) {
                return Some(Ok(entry));
            }
        }
    }
}

/// Command-line arguments as entries, numbered by position.
pub fn arguments(args: &[String]) -> Vec<Entry> {
    args.iter()
        .enumerate()
        .map(|(i, a)| Entry {
            line: i as u64 + 1,
            text: a.trim().to_string(),
            parsed: parse_address(a.trim()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(input: &[u8]) -> Vec<(u64, String, Result<String, String>)> {
        Lines::new(input)
            .map(|e| {
                let e = e.unwrap();
                (e.line, e.text, e.parsed.map(|a| a.to_string()))
            })
            .collect()
    }

    #[test]
    fn tolerates_bom_crlf_blank_lines_and_comments() {
        let input = b"\xef\xbb\xbfalice@example.org\r\n\r\n# a comment\r\n  bob@Example.NET  \n\n<carol@example.org>\r\nlast@example.org";
        let got = read(input);
        assert_eq!(
            got,
            vec![
                (
                    1,
                    "alice@example.org".into(),
                    Ok("alice@example.org".into())
                ),
                (4, "bob@Example.NET".into(), Ok("bob@Example.NET".into())),
                (
                    6,
                    "<carol@example.org>".into(),
                    Ok("carol@example.org".into())
                ),
                (7, "last@example.org".into(), Ok("last@example.org".into())),
            ]
        );
    }

    #[test]
    fn bad_lines_carry_their_number_and_reason() {
        let input =
            b"ok@example.org\nnot an address\n\xff\xfe@x.org\nfoo@\nuser@B\xc3\xbccher.example\n";
        let got = read(input);
        assert_eq!(got.len(), 5);
        assert_eq!(got[1].0, 2);
        assert!(got[1].2.as_ref().unwrap_err().contains("missing '@domain'"));
        assert_eq!(got[2].0, 3);
        assert_eq!(got[2].2, Err("not valid UTF-8".into()));
        assert!(got[3].2.as_ref().unwrap_err().contains("empty domain"));
        assert_eq!(got[4].2, Ok("user@xn--bcher-kva.example".into()));
    }

    #[test]
    fn a_bom_only_counts_at_the_start() {
        let got = read(b"a@b.example\n\xef\xbb\xbfc@d.example\n");
        assert!(got[1].1.starts_with('\u{feff}'), "{got:?}");
    }

    #[test]
    fn an_endless_line_is_cut_and_reported() {
        let mut input = vec![b'x'; 10 * MAX_LINE];
        input.extend_from_slice(b"\nnext@example.org\n");
        // A tiny buffer, so the line arrives in many reads.
        let reader = std::io::BufReader::with_capacity(7, input.as_slice());
        let got: Vec<Entry> = Lines::new(reader).map(Result::unwrap).collect();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].text.len(), MAX_LINE);
        assert_eq!(
            got[0].parsed,
            Err(format!("line longer than {MAX_LINE} bytes"))
        );
        assert_eq!(got[1].line, 2);
        assert!(got[1].parsed.is_ok());
    }

    #[test]
    fn every_split_of_the_input_reads_the_same() {
        let input = b"\xef\xbb\xbfa@b.example\r\n#c\r\n\r\nd@e.example\n";
        let want = read(input);
        for cap in 1..input.len() + 1 {
            let reader = std::io::BufReader::with_capacity(cap, &input[..]);
            let got: Vec<_> = Lines::new(reader)
                .map(|e| {
                    let e = e.unwrap();
                    (e.line, e.text, e.parsed.map(|a| a.to_string()))
                })
                .collect();
            assert_eq!(got, want, "capacity {cap}");
        }
    }

    #[test]
    fn arguments_are_numbered_by_position() {
        let got = arguments(&["a@b.example".into(), "nope".into()]);
        assert_eq!(got[0].line, 1);
        assert!(got[0].parsed.is_ok());
        assert_eq!(got[1].line, 2);
        assert!(got[1].parsed.is_err());
    }
}
