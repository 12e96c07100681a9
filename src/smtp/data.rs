//! The DATA encoder: CRLF normalisation and dot-stuffing, streamed across buffers; the
//! same encoder without stuffing serves BDAT (RFC 3030), which has no terminator.
//!
//! RFC 5321 §2.3.8 forbids a bare CR or LF, and §4.5.2 doubles a leading dot. Normalising
//! every line ending to CRLF before stuffing means the output holds exactly one
//! end-of-data, even for a receiver that also accepts `\n.\n` or `\r.\r` (the client side
//! of "SMTP smuggling"): every CR is followed by LF, and a dot after LF is always doubled
//! except in the terminator.

/// Streaming encoder; state carries across `encode` calls, so any split of the input
/// produces the same output.
#[derive(Debug, Clone)]
pub struct DataEncoder {
    framing: Framing,
    /// The previous output ended a line (or nothing was output yet).
    at_line_start: bool,
    /// The previous input byte was a CR, already emitted as CRLF: an LF now is its pair.
    after_cr: bool,
    /// Statistics for the transcript and for SIZE decisions.
    stats: DataStats,
    line_len: usize,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DataStats {
    /// Input bytes consumed.
    pub input_bytes: u64,
    /// Bytes written to the wire, terminator included once `finish` ran.
    pub output_bytes: u64,
    pub lines: u64,
    /// Lines longer than RFC 5321 §4.5.3.1.6 allows (998 octets + CRLF).
    pub long_lines: u64,
    pub eight_bit: bool,
    /// 1-based line of the first octet above 127.
    pub first_eight_bit_line: Option<u64>,
    /// NUL octets sent where only BINARYMIME may carry them (RFC 3030 §3; RFC 6152 §3
    /// keeps them out of 8BITMIME too).
    pub nul_bytes: u64,
    /// Line endings rewritten to CRLF (bare LF or bare CR).
    pub bare_line_ends: u64,
    pub dots_stuffed: u64,
}

/// RFC 5321 §4.5.3.1.6: text lines are at most 998 octets before CRLF.
pub const MAX_TEXT_LINE: usize = 998;

/// How message content is delimited on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// DATA: CRLF-normalised, dot-stuffed, ended by `.` CRLF (RFC 5321 §4.5.2).
    DotStuffed,
    /// BDAT with 7-bit or 8BITMIME content: CRLF-normalised (RFC 3030 §2 wants canonical
    /// line ends), never stuffed, no terminator since each chunk states its length.
    Chunked,
    /// BDAT with BODY=BINARYMIME: the octets exactly as they are (RFC 3030 §3).
    Binary,
}

impl Default for DataEncoder {
    fn default() -> Self {
        DataEncoder::new()
    }
}

impl DataEncoder {
    /// The DATA encoder.
    pub fn new() -> DataEncoder {
        DataEncoder::with_framing(Framing::DotStuffed)
    }

    pub fn with_framing(framing: Framing) -> DataEncoder {
        DataEncoder {
            framing,
            at_line_start: true,
            after_cr: false,
            stats: DataStats::default(),
            line_len: 0,
        }
    }

    pub fn stats(&self) -> DataStats {
        self.stats
    }

    /// Appends the encoded form of `input` to `out`.
    pub fn encode(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        out.reserve(input.len() + input.len() / 32 + 4);
        self.stats.input_bytes += input.len() as u64;
        if self.framing == Framing::Binary {
            self.encode_binary(input, out);
            self.stats.output_bytes += (out.len() - start) as u64;
            return;
        }
        let stuff = self.framing == Framing::DotStuffed;
        for &b in input {
            if self.after_cr {
                self.after_cr = false;
                if b == b'\n' {
                    continue;
                }
                self.stats.bare_line_ends += 1;
            }
            match b {
                b'\r' => {
                    self.end_line(out);
                    // Whether this CR was bare is known only at the next byte.
                    self.after_cr = true;
                }
                b'\n' => {
                    self.end_line(out);
                    self.stats.bare_line_ends += 1;
                }
                _ => {
                    if stuff && self.at_line_start && b == b'.' {
                        out.push(b'.');
                        self.stats.dots_stuffed += 1;
                    }
                    self.count_octet(b);
                    out.push(b);
                    self.at_line_start = false;
                    self.line_len += 1;
                }
            }
        }
        self.stats.output_bytes += (out.len() - start) as u64;
    }

    fn count_octet(&mut self, b: u8) {
        if b >= 0x80 {
            if !self.stats.eight_bit {
                self.stats.first_eight_bit_line = Some(self.stats.lines + 1);
            }
            self.stats.eight_bit = true;
        } else if b == 0 && self.framing != Framing::Binary {
            self.stats.nul_bytes += 1;
        }
    }

    /// Passes the octets through, counting LF-ended lines for the transcript.
    fn encode_binary(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(input);
        for &b in input {
            match b {
                b'\n' => self.end_line_binary(),
                b'\r' => self.at_line_start = false,
                _ => {
                    self.count_octet(b);
                    self.at_line_start = false;
                    self.line_len += 1;
                }
            }
        }
    }

    fn end_line_binary(&mut self) {
        self.stats.lines += 1;
        if self.line_len > MAX_TEXT_LINE {
            self.stats.long_lines += 1;
        }
        self.line_len = 0;
        self.at_line_start = true;
    }

    fn end_line(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"\r\n");
        self.stats.lines += 1;
        if self.line_len > MAX_TEXT_LINE {
            self.stats.long_lines += 1;
        }
        self.line_len = 0;
        self.at_line_start = true;
    }

    /// Ends the message: a missing final line break is added, then `.` CRLF for DATA.
    /// Binary content is left exactly as it is.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let start = out.len();
        if self.framing == Framing::Binary {
            if !self.at_line_start {
                self.stats.lines += 1;
            }
            return;
        }
        if std::mem::take(&mut self.after_cr) {
            self.stats.bare_line_ends += 1;
        }
        if !self.at_line_start {
            self.end_line(out);
        }
        if self.framing == Framing::DotStuffed {
            out.extend_from_slice(b".\r\n");
        }
        self.stats.output_bytes += (out.len() - start) as u64;
    }
}

/// Encodes a whole message at once.
pub fn encode_all(input: &[u8]) -> Vec<u8> {
    let mut enc = DataEncoder::new();
    let mut out = Vec::with_capacity(input.len() + 8);
    enc.encode(input, &mut out);
    enc.finish(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn table() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b".\r\n"),
            (b"hello", b"hello\r\n.\r\n"),
            (b"hello\r\n", b"hello\r\n.\r\n"),
            (b"a\nb\n", b"a\r\nb\r\n.\r\n"),
            (b"a\rb\r", b"a\r\nb\r\n.\r\n"),
            (b"a\r\r\nb", b"a\r\n\r\nb\r\n.\r\n"),
            (b".\r\n", b"..\r\n.\r\n"),
            (b"..x\r\n.\r\n", b"...x\r\n..\r\n.\r\n"),
            (b"a\n.\nb", b"a\r\n..\r\nb\r\n.\r\n"),
            (b"a\r.\rb", b"a\r\n..\r\nb\r\n.\r\n"),
            (b"a\r\n.\r\nb", b"a\r\n..\r\nb\r\n.\r\n"),
            (b"a\n.\r\nb", b"a\r\n..\r\nb\r\n.\r\n"),
            (b"x.y\r\n", b"x.y\r\n.\r\n"),
            (b"\0\x80", b"\0\x80\r\n.\r\n"),
        ];
        for (input, want) in cases {
            assert_eq!(
                encode_all(input),
                want.to_vec(),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn stats() {
        let mut enc = DataEncoder::new();
        let mut out = Vec::new();
        enc.encode(b"a\nb\r\n.c\r", &mut out);
        enc.encode(b"\nd\x80", &mut out);
        enc.finish(&mut out);
        let s = enc.stats();
        assert_eq!(s.lines, 4);
        assert_eq!(s.dots_stuffed, 1);
        assert!(s.eight_bit);
        assert_eq!(s.output_bytes, out.len() as u64);
        assert_eq!(s.input_bytes, 11);
        assert_eq!(s.bare_line_ends, 1);
    }

    #[test]
    fn long_lines_are_counted() {
        let mut enc = DataEncoder::new();
        let mut out = Vec::new();
        enc.encode(&[b'x'; 999], &mut out);
        enc.encode(b"\r\nshort\r\n", &mut out);
        assert_eq!(enc.stats().long_lines, 1);
    }

    #[test]
    fn chunked_framing_normalises_without_stuffing() {
        let mut enc = DataEncoder::with_framing(Framing::Chunked);
        let mut out = Vec::new();
        enc.encode(b".a\n.\r", &mut out);
        enc.encode(b"\nb", &mut out);
        enc.finish(&mut out);
        assert_eq!(out, b".a\r\n.\r\nb\r\n");
        let s = enc.stats();
        assert_eq!((s.dots_stuffed, s.lines, s.bare_line_ends), (0, 3, 1));
        assert_eq!(s.output_bytes, out.len() as u64);
    }

    #[test]
    fn binary_framing_passes_octets_through() {
        let input = b"a\0\nb\r.\r\n\x80z";
        let mut enc = DataEncoder::with_framing(Framing::Binary);
        let mut out = Vec::new();
        enc.encode(&input[..4], &mut out);
        enc.encode(&input[4..], &mut out);
        enc.finish(&mut out);
        assert_eq!(out, input.to_vec());
        let s = enc.stats();
        assert_eq!(s.output_bytes, input.len() as u64);
        assert_eq!(
            (s.lines, s.nul_bytes, s.first_eight_bit_line),
            (3, 0, Some(3)),
            "BINARYMIME carries NULs: none is counted against it"
        );
    }

    #[test]
    fn first_eight_bit_line_is_noted() {
        let mut enc = DataEncoder::new();
        let mut out = Vec::new();
        enc.encode(b"a\r\nb\r\nc\xC3\xA9\r\n\xFF", &mut out);
        assert_eq!(enc.stats().first_eight_bit_line, Some(3));
    }

    /// The positions where some receiver, however lenient, would see end-of-data.
    fn lenient_terminators(out: &[u8]) -> usize {
        let mut n = 0;
        for i in 0..out.len() {
            let prev_is_break = i == 0 || out[i - 1] == b'\n' || out[i - 1] == b'\r';
            let next_is_break = matches!(out.get(i + 1), Some(b'\r') | Some(b'\n'));
            if out[i] == b'.' && prev_is_break && next_is_break {
                n += 1;
            }
        }
        n
    }

    proptest! {
        #[test]
        fn chunked_equals_one_shot(
            input in proptest::collection::vec(prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'.'), Just(b'a'), any::<u8>()], 0..300),
            cuts in proptest::collection::vec(0usize..300, 0..8),
        ) {
            let whole = encode_all(&input);
            let mut enc = DataEncoder::new();
            let mut out = Vec::new();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(input.len())).collect();
            cuts.sort_unstable();
            let mut last = 0;
            for c in cuts {
                enc.encode(&input[last..c], &mut out);
                last = c;
            }
            enc.encode(&input[last..], &mut out);
            enc.finish(&mut out);
            prop_assert_eq!(&out, &whole);
        }

        #[test]
        fn output_has_exactly_one_end_of_data(
            input in proptest::collection::vec(prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'.'), Just(b'x'), any::<u8>()], 0..300),
        ) {
            let out = encode_all(&input);
            prop_assert!(out.ends_with(b"\r\n.\r\n") || out == b".\r\n");
            prop_assert_eq!(lenient_terminators(&out), 1);
            for (i, &b) in out.iter().enumerate() {
                if b == b'\r' { prop_assert_eq!(out.get(i + 1), Some(&b'\n')); }
                if b == b'\n' { prop_assert!(i > 0 && out[i - 1] == b'\r'); }
            }
        }
    }
}
