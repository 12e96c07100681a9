//! What every message of a run carries, encoded once and shared read-only by every
//! session: the sender, the recipient pattern, and the content both dot-stuffed with its
//! terminator for DATA (RFC 5321 §4.5.2) and framed in `BDAT` chunks (RFC 3030).

use std::ops::Range;

use crate::message::{self, Composition, Mailbox};
use crate::outcome::{Failure, FailureKind, Phase};
use crate::smtp::body::choose_body;
use crate::smtp::{
    BodyReport, BodyScanner, Capabilities, ChunkFramer, Command, DataEncoder, Framing, Param,
    ReversePath, SizeLimit,
};

use super::pattern::RecipientPattern;

/// Octets per BDAT chunk: a bench message is usually one chunk; a large `--data` file
/// goes in pieces a server can take without buffering it whole.
pub const BDAT_CHUNK: usize = 1024 * 1024;

/// The generated message's subject.
pub const SUBJECT: &str = "smtpx bench";

#[derive(Debug)]
pub struct Workload {
    pub from: ReversePath,
    pub to: RecipientPattern,
    /// Recipients per message.
    pub rcpts: u32,
    /// The message before encoding; its length is what SIZE= declares (RFC 1870).
    message_size: u64,
    report: BodyReport,
    /// DATA content: CRLF-normalised, dot-stuffed, ending with CRLF "." CRLF.
    data_wire: Vec<u8>,
    /// `BDAT n` CRLF + n octets, ..., `BDAT m LAST` CRLF + m octets; empty unless chunking.
    bdat_wire: Vec<u8>,
    /// Where each chunk (command and octets) lies in `bdat_wire`.
    chunks: Vec<Range<usize>>,
}

impl Workload {
    /// `message` is sent as it is, with every line end made CRLF (RFC 5321 §2.3.8).
    /// Content with NUL bytes is refused: it would need BINARYMIME (RFC 3030 §3), and a
    /// load test has no use for it.
    pub fn new(
        from: ReversePath,
        to: RecipientPattern,
        rcpts: u32,
        message: &[u8],
        chunking: bool,
    ) -> Result<Workload, String> {
        let report = BodyScanner::scan(message);
        if let Some(line) = report.nul_line {
            return Err(format!(
                "the message has a NUL byte on line {line}; bench sends text messages only"
            ));
        }
        let mut data_wire = Vec::with_capacity(message.len() + message.len() / 64 + 8);
        let mut encoder = DataEncoder::new();
        encoder.encode(message, &mut data_wire);
        encoder.finish(&mut data_wire);
        let (bdat_wire, chunks) = if chunking {
            frame(message)
        } else {
            (Vec::new(), Vec::new())
        };
        Ok(Workload {
            from,
            to,
            rcpts,
            message_size: message.len() as u64,
            report,
            data_wire,
            bdat_wire,
            chunks,
        })
    }

    /// A message like smtp-source's: generated headers (From, To, Subject, Date,
    /// Message-ID, MIME-Version) and a body of exactly `body_size` octets, in lines of
    /// 78 printable characters and CRLF (the last line may be shorter, and a body whose
    /// size is not a whole number of lines ends without a line break).
    pub fn generated_message(from: &ReversePath, to: &str, body_size: usize) -> Vec<u8> {
        let composition = Composition {
            from: from.address().cloned().map(Mailbox::from),
            to: crate::smtp::Address::parse(to)
                .map(|a| vec![Mailbox::from(a)])
                .unwrap_or_default(),
            subject: Some(SUBJECT.into()),
            text: Some(String::new()),
            ..Composition::default()
        };
        let mut bytes = message::compose(&composition);
        bytes.reserve(body_size);
        bytes.extend(filler(body_size));
        bytes
    }

    pub fn message_size(&self) -> u64 {
        self.message_size
    }

    /// DATA content, terminator included.
    pub fn data_wire(&self) -> &[u8] {
        &self.data_wire
    }

    /// Every BDAT chunk, commands included.
    pub fn bdat_wire(&self) -> &[u8] {
        &self.bdat_wire
    }

    pub fn chunks(&self) -> &[Range<usize>] {
        &self.chunks
    }

    /// `MAIL FROM` for a server with these capabilities: SIZE= when it offers SIZE
    /// (refused up front when the message is over its limit, RFC 1870 §6.1), and BODY=
    /// as the content needs (RFC 6152).
    pub fn mail_line(&self, caps: &Capabilities, chunking: bool) -> Result<Vec<u8>, Failure> {
        let mut params = Vec::new();
        if let Some(limit) = caps.size() {
            if let SizeLimit::Bytes(max) = limit
                && self.message_size > max
            {
                return Err(Failure::new(
                    Phase::Mail,
                    FailureKind::Permanent,
                    format!(
                        "the message is {} bytes; the server accepts at most {max} (SIZE {max}, RFC 1870): not sent",
                        self.message_size
                    ),
                ));
            }
            params.push(Param::new("SIZE", Some(self.message_size.to_string())));
        }
        let body = choose_body(Some(&self.report), caps, chunking)
            .map_err(|r| Failure::new(Phase::Mail, FailureKind::Input, r.0))?;
        params.extend(body.param());
        Command::Mail {
            from: self.from.clone(),
            params,
        }
        .encode()
        .map_err(|e| Failure::input(e.to_string()))
    }
}

/// `n` octets of text: 78 characters then CRLF, repeated. No line starts with a dot and
/// no CR stands alone (a body cut after a CR ends with a letter instead), so DATA adds
/// nothing to it and the body on the wire is exactly `n` octets.
fn filler(n: usize) -> impl Iterator<Item = u8> {
    const LINE: &[u8; 80] =
        b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnop\r\n";
    LINE.iter()
        .copied()
        .cycle()
        .take(n)
        .enumerate()
        .map(move |(i, b)| if b == b'\r' && i + 1 == n { b'q' } else { b })
}

fn frame(message: &[u8]) -> (Vec<u8>, Vec<Range<usize>>) {
    let mut framer = ChunkFramer::new(Framing::Chunked, BDAT_CHUNK);
    let mut wire = Vec::with_capacity(message.len() + 64);
    let mut chunks = Vec::new();
    let mark = |wire: &Vec<u8>, chunks: &mut Vec<Range<usize>>| {
        let start = chunks.last().map_or(0, |r: &Range<usize>| r.end);
        chunks.push(start..wire.len());
    };
    for piece in message.chunks(BDAT_CHUNK) {
        framer.push(piece);
        while framer.take_full(&mut wire).is_some() {
            mark(&wire, &mut chunks);
        }
    }
    framer.take_last(&mut wire);
    mark(&wire, &mut chunks);
    (wire, chunks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload(message: &[u8], chunking: bool) -> Workload {
        Workload::new(
            ReversePath::parse("a@example.test").unwrap(),
            RecipientPattern::parse("b@example.test", 1).unwrap(),
            1,
            message,
            chunking,
        )
        .unwrap()
    }

    #[test]
    fn the_generated_body_has_the_size_asked_for() {
        let from = ReversePath::parse("a@example.test").unwrap();
        for size in [0usize, 1, 78, 79, 80, 81, 1024, 102_400] {
            let m = Workload::generated_message(&from, "b@example.test", size);
            let text = String::from_utf8(m.clone()).unwrap();
            let split = text.find("\r\n\r\n").expect("headers end") + 4;
            assert_eq!(m.len() - split, size, "size {size}");
            for h in [
                "From: ",
                "To: ",
                "Subject: smtpx bench",
                "Date: ",
                "Message-ID: ",
            ] {
                assert!(text.contains(h), "{h} in {text:?}");
            }
            let w = workload(&m, false);
            assert_eq!(w.message_size(), m.len() as u64);
            // Nothing to stuff: the wire is the message, a CRLF if it lacked one, and the dot.
            let eol = if m.ends_with(b"\r\n") { 0 } else { 2 };
            assert_eq!(w.data_wire().len(), m.len() + eol + 3);
            assert!(w.data_wire().ends_with(b"\r\n.\r\n"));
        }
    }

    #[test]
    fn content_is_stuffed_once_and_framed_exactly() {
        let w = workload(b"Subject: x\n\n.dot\nbare\rend", true);
        assert_eq!(
            w.data_wire(),
            b"Subject: x\r\n\r\n..dot\r\nbare\r\nend\r\n.\r\n"
        );
        assert_eq!(
            w.bdat_wire(),
            b"BDAT 31 LAST\r\nSubject: x\r\n\r\n.dot\r\nbare\r\nend\r\n"
        );
        assert_eq!(w.chunks().len(), 1);
        assert_eq!(w.chunks()[0], 0..w.bdat_wire().len());
    }

    #[test]
    fn large_content_goes_in_several_chunks() {
        let m = vec![b'x'; BDAT_CHUNK * 2 + 10];
        let w = workload(&m, true);
        assert_eq!(w.chunks().len(), 3);
        let heads: Vec<&[u8]> = w
            .chunks()
            .iter()
            .map(|r| {
                let c = &w.bdat_wire()[r.clone()];
                &c[..c.iter().position(|&b| b == b'\n').unwrap() + 1]
            })
            .collect();
        assert_eq!(
            heads,
            [
                b"BDAT 1048576\r\n".as_slice(),
                b"BDAT 1048576\r\n",
                b"BDAT 12 LAST\r\n"
            ]
        );
    }

    #[test]
    fn mail_declares_size_and_body_as_the_server_allows() {
        let caps = |lines: &[&str]| Capabilities::from_ehlo(&crate::smtp::Reply::new(250, lines));
        let w = workload(b"Subject: x\r\n\r\nhello\r\n", false);
        let plain = caps(&["sink"]);
        assert_eq!(
            w.mail_line(&plain, false).unwrap(),
            b"MAIL FROM:<a@example.test>\r\n"
        );
        let sized = caps(&["sink", "SIZE 1000"]);
        assert_eq!(
            w.mail_line(&sized, false).unwrap(),
            b"MAIL FROM:<a@example.test> SIZE=21\r\n"
        );
        let tiny = caps(&["sink", "SIZE 10"]);
        assert_eq!(w.mail_line(&tiny, false).unwrap_err().phase, Phase::Mail);
        let eight = workload("Subject: x\r\n\r\nhé\r\n".as_bytes(), false);
        assert!(eight.mail_line(&plain, false).is_err());
        let mime = caps(&["sink", "8BITMIME"]);
        assert_eq!(
            eight.mail_line(&mime, false).unwrap(),
            b"MAIL FROM:<a@example.test> BODY=8BITMIME\r\n"
        );
    }

    #[test]
    fn nul_bytes_are_refused() {
        let r = Workload::new(
            ReversePath::parse("a@example.test").unwrap(),
            RecipientPattern::parse("b@example.test", 1).unwrap(),
            1,
            b"a\0b",
            false,
        );
        assert!(r.unwrap_err().contains("NUL"));
    }
}
