//! Receiving DATA content: the end-of-data mark, dot-unstuffing and the line-end rules.
//!
//! RFC 5321 §4.1.1.4: the content ends with `CRLF . CRLF`, and nothing else ends it.
//! §4.5.2: a line starting with `.` had one more `.` added, which is removed here.
//! §2.3.8: CR and LF appear only together. The SMTP smuggling advisories (CVE-2023-51764
//! and friends) are about servers that also end the content at `LF . LF`, `CR . CR` or
//! `LF . CRLF`: a relay that does not, passing such a message on to one that does, lets
//! one message carry a second, forged one. Here only `CRLF . CRLF` ends the content, a
//! line start is only ever after CRLF, and every bare CR or LF is counted, so the
//! session can refuse the message once its real end has arrived.
//!
//! The receiver works on whatever the socket returned, in place, and hands out slices of
//! it: no copy or allocation per line, and state carries across reads.

/// Counts of what arrived.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReceivedStats {
    /// Octets of content after unstuffing, without the end-of-data mark.
    pub bytes: u64,
    /// CRLF-terminated lines.
    pub lines: u64,
    /// Lines that started with a stuffed dot.
    pub dots_unstuffed: u64,
    /// LFs not preceded by CR.
    pub bare_lf: u64,
    /// CRs not followed by LF.
    pub bare_cr: u64,
}

impl ReceivedStats {
    /// True when the content broke RFC 5321 §2.3.8 and must not be accepted.
    pub fn has_bare_line_ends(&self) -> bool {
        self.bare_lf > 0 || self.bare_cr > 0
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// At the start of a line: after CRLF, or at the start of the content.
    LineStart,
    /// Inside a line.
    Mid,
    /// A CR inside a line, not yet written.
    Cr,
    /// A `.` at the start of a line, not yet written.
    Dot,
    /// `.` CR at the start of a line: one LF more ends the content.
    DotCr,
}

/// Result of one [`DataReceiver::feed`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fed {
    /// Input octets used; the rest (after the end mark) belongs to the next command.
    pub consumed: usize,
    pub done: bool,
}

#[derive(Debug)]
pub struct DataReceiver {
    state: State,
    stats: ReceivedStats,
}

impl Default for DataReceiver {
    fn default() -> Self {
        DataReceiver::new()
    }
}

impl DataReceiver {
    pub fn new() -> DataReceiver {
        DataReceiver {
            state: State::LineStart,
            stats: ReceivedStats::default(),
        }
    }

    pub fn stats(&self) -> ReceivedStats {
        self.stats
    }

    /// Feeds received octets; `out` gets the unstuffed content in order, in slices.
    /// Stops right after the end-of-data mark.
    pub fn feed(&mut self, input: &[u8], out: &mut impl FnMut(&[u8])) -> Fed {
        let stats = &mut self.stats;
        let mut i = 0;
        // Start of the run of octets that can go out as they are.
        let mut run = 0;
        while i < input.len() {
            let b = input[i];
            match self.state {
                State::Mid => match memchr::memchr2(b'\r', b'\n', &input[i..]) {
                    None => i = input.len(),
                    Some(k) => {
                        i += k;
                        if input[i] == b'\n' {
                            stats.bare_lf += 1;
                            i += 1;
                        } else if i + 1 == input.len() {
                            // Held back until we know whether LF follows.
                            put(out, stats, &input[run..i]);
                            self.state = State::Cr;
                            i += 1;
                            run = i;
                        } else if input[i + 1] == b'\n' {
                            stats.lines += 1;
                            self.state = State::LineStart;
                            i += 2;
                        } else {
                            stats.bare_cr += 1;
                            i += 1;
                        }
                    }
                },
                State::LineStart => {
                    if b == b'.' {
                        put(out, stats, &input[run..i]);
                        self.state = State::Dot;
                        i += 1;
                        run = i;
                    } else {
                        self.state = State::Mid;
                    }
                }
                State::Cr => {
                    put(out, stats, b"\r");
                    if b == b'\n' {
                        put(out, stats, b"\n");
                        stats.lines += 1;
                        self.state = State::LineStart;
                        i += 1;
                        run = i;
                    } else {
                        stats.bare_cr += 1;
                        self.state = State::Mid;
                    }
                }
                State::Dot => match b {
                    b'\r' => {
                        self.state = State::DotCr;
                        i += 1;
                        run = i;
                    }
                    b'\n' => {
                        // `CRLF . LF` is not the end (the smuggling case): the line is
                        // a dot and a bare LF.
                        stats.bare_lf += 1;
                        put(out, stats, b".");
                        self.state = State::Mid;
                        run = i;
                        i += 1;
                    }
                    _ => {
                        // The stuffed dot goes; the rest of the line stays.
                        stats.dots_unstuffed += 1;
                        self.state = State::Mid;
                        run = i;
                    }
                },
                State::DotCr => {
                    if b == b'\n' {
                        return Fed {
                            consumed: i + 1,
                            done: true,
                        };
                    }
                    // `.` CR and something else: a bare CR.
                    stats.bare_cr += 1;
                    stats.dots_unstuffed += 1;
                    put(out, stats, b"\r");
                    self.state = State::Mid;
                    run = i;
                }
            }
        }
        if matches!(self.state, State::Mid | State::LineStart) {
            put(out, stats, &input[run..]);
        }
        Fed {
            consumed: input.len(),
            done: false,
        }
    }
}

fn put(out: &mut impl FnMut(&[u8]), stats: &mut ReceivedStats, bytes: &[u8]) {
    if !bytes.is_empty() {
        stats.bytes += bytes.len() as u64;
        out(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` split at every offset; all splits must agree.
    fn receive(input: &[u8]) -> (Vec<u8>, Option<usize>, ReceivedStats) {
        let mut first: Option<(Vec<u8>, Option<usize>, ReceivedStats)> = None;
        for split in 0..=input.len() {
            let mut r = DataReceiver::new();
            let mut got = Vec::new();
            let mut end = None;
            let mut offset = 0;
            for part in [&input[..split], &input[split..]] {
                if end.is_some() {
                    break;
                }
                let fed = r.feed(part, &mut |s| got.extend_from_slice(s));
                if fed.done {
                    end = Some(offset + fed.consumed);
                }
                offset += part.len();
            }
            let result = (got, end, r.stats());
            match &first {
                None => first = Some(result),
                Some(f) => assert_eq!(f, &result, "split at {split} of {input:?}"),
            }
        }
        first.unwrap()
    }

    #[test]
    fn unstuffs_and_ends_at_crlf_dot_crlf_only() {
        let (got, end, stats) = receive(b"a\r\n..b\r\n.\r\nMAIL");
        assert_eq!(got, b"a\r\n.b\r\n");
        assert_eq!(end, Some(11));
        assert_eq!(stats.dots_unstuffed, 1);
        assert_eq!(stats.lines, 2);
        assert!(!stats.has_bare_line_ends());
        let (got, end, _) = receive(b".\r\n");
        assert_eq!((got.as_slice(), end), (&b""[..], Some(3)));
    }

    #[test]
    fn smuggling_forms_do_not_end_the_content() {
        for input in [
            &b"a\n.\nb"[..],
            b"a\r\n.\nb",
            b"a\n.\r\nb",
            b"a\r.\rb",
            b"a\r.\r\nb",
        ] {
            let (_, end, stats) = receive(input);
            assert_eq!(end, None, "{input:?} ended the content");
            assert!(stats.has_bare_line_ends(), "{input:?}");
        }
    }

    #[test]
    fn content_is_kept_byte_for_byte() {
        let body = b"Subject: x\r\n\r\n\xe2\x82\xac line\r\n\tindented\r\n";
        let mut wire = body.to_vec();
        wire.extend_from_slice(b".\r\n");
        let (got, end, stats) = receive(&wire);
        assert_eq!(got, body);
        assert_eq!(end, Some(wire.len()));
        assert_eq!(stats.bytes, body.len() as u64);
    }
}
