//! BDAT framing (RFC 3030 §2): message content cut into chunks, each announced with its
//! exact octet count, the last one marked LAST. No dot-stuffing and no terminator: the
//! count, not the content, says where a chunk ends.

use super::command::Command;
use super::data::{DataEncoder, DataStats, Framing};

/// Turns a stream of message octets into `BDAT n` frames of a fixed size. The last frame
/// is only known at the end of the input, so at least one octet is always held back
/// until [`take_last`](Self::take_last): the LAST frame is never empty unless the whole
/// message is.
#[derive(Debug, Clone)]
pub struct ChunkFramer {
    encoder: DataEncoder,
    /// Encoded octets not framed yet.
    pending: Vec<u8>,
    chunk_size: usize,
    chunks: u64,
}

impl ChunkFramer {
    /// `framing` is `Chunked` (CRLF-normalised) or `Binary` (as it is).
    pub fn new(framing: Framing, chunk_size: usize) -> ChunkFramer {
        debug_assert!(framing != Framing::DotStuffed, "BDAT is never dot-stuffed");
        ChunkFramer {
            encoder: DataEncoder::with_framing(framing),
            pending: Vec::with_capacity(chunk_size + chunk_size / 8),
            chunk_size: chunk_size.max(1),
            chunks: 0,
        }
    }

    /// Takes the next piece of the message.
    pub fn push(&mut self, input: &[u8]) {
        self.encoder.encode(input, &mut self.pending);
    }

    /// Encoded octets waiting to be framed.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// True when a full, non-last chunk can be taken.
    pub fn has_full_chunk(&self) -> bool {
        self.pending.len() > self.chunk_size
    }

    /// Appends `BDAT n` CRLF and its n octets to `out` when a full chunk is waiting and
    /// more follows it; returns the command for the transcript.
    pub fn take_full(&mut self, out: &mut Vec<u8>) -> Option<Command> {
        if !self.has_full_chunk() {
            return None;
        }
        let cmd = Command::Bdat {
            size: self.chunk_size as u64,
            last: false,
        };
        self.frame(&cmd, self.chunk_size, out);
        Some(cmd)
    }

    /// Ends the input and appends `BDAT n LAST` with everything still waiting.
    pub fn take_last(&mut self, out: &mut Vec<u8>) -> Command {
        self.encoder.finish(&mut self.pending);
        let n = self.pending.len();
        let cmd = Command::Bdat {
            size: n as u64,
            last: true,
        };
        self.frame(&cmd, n, out);
        cmd
    }

    fn frame(&mut self, cmd: &Command, n: usize, out: &mut Vec<u8>) {
        if let Ok(line) = cmd.encode() {
            out.extend_from_slice(&line);
        }
        out.extend(self.pending.drain(..n));
        self.chunks += 1;
    }

    pub fn stats(&self) -> DataStats {
        self.encoder.stats()
    }

    /// Chunks framed so far.
    pub fn chunks(&self) -> u64 {
        self.chunks
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Splits framed output back into (size, last, payload) triples, checking each count.
    fn unframe(mut wire: &[u8]) -> Vec<(usize, bool, Vec<u8>)> {
        let mut chunks = Vec::new();
        while !wire.is_empty() {
            let nl = wire.windows(2).position(|w| w == b"\r\n").unwrap();
            let line = std::str::from_utf8(&wire[..nl]).unwrap();
            let mut words = line.split(' ');
            assert_eq!(words.next(), Some("BDAT"));
            let n: usize = words.next().unwrap().parse().unwrap();
            let last = words.next() == Some("LAST");
            let payload = wire[nl + 2..nl + 2 + n].to_vec();
            wire = &wire[nl + 2 + n..];
            chunks.push((n, last, payload));
        }
        chunks
    }

    #[test]
    fn small_message_is_one_last_chunk() {
        let mut f = ChunkFramer::new(Framing::Chunked, 16);
        f.push(b".hi\n");
        let mut out = Vec::new();
        assert!(f.take_full(&mut out).is_none());
        let cmd = f.take_last(&mut out);
        assert_eq!(
            cmd,
            Command::Bdat {
                size: 5,
                last: true
            }
        );
        assert_eq!(out, b"BDAT 5 LAST\r\n.hi\r\n");
    }

    #[test]
    fn empty_message_is_bdat_0_last() {
        let mut f = ChunkFramer::new(Framing::Binary, 16);
        let mut out = Vec::new();
        f.take_last(&mut out);
        assert_eq!(out, b"BDAT 0 LAST\r\n");
    }

    #[test]
    fn an_exact_multiple_still_ends_with_a_non_empty_last_chunk() {
        let mut f = ChunkFramer::new(Framing::Binary, 4);
        f.push(b"abcdefgh");
        let mut out = Vec::new();
        while f.take_full(&mut out).is_some() {}
        f.take_last(&mut out);
        assert_eq!(out, b"BDAT 4\r\nabcdBDAT 4 LAST\r\nefgh");
        assert_eq!(f.chunks(), 2);
    }

    proptest! {
        #[test]
        fn frames_carry_exact_counts_and_the_whole_message(
            input in proptest::collection::vec(any::<u8>(), 0..400),
            size in 1usize..64,
            cuts in proptest::collection::vec(0usize..400, 0..6),
        ) {
            let mut f = ChunkFramer::new(Framing::Binary, size);
            let mut out = Vec::new();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(input.len())).collect();
            cuts.sort_unstable();
            let mut at = 0;
            for c in cuts.into_iter().chain([input.len()]) {
                f.push(&input[at..c]);
                at = c;
                while f.take_full(&mut out).is_some() {}
            }
            f.take_last(&mut out);
            let chunks = unframe(&out);
            let (last, rest) = chunks.split_last().unwrap();
            prop_assert!(last.1);
            prop_assert!(last.0 > 0 || input.is_empty());
            prop_assert!(rest.iter().all(|c| !c.1 && c.0 == size));
            let joined: Vec<u8> = chunks.iter().flat_map(|c| c.2.clone()).collect();
            prop_assert_eq!(joined, input);
        }
    }
}
