//! A transaction whose message goes as BDAT chunks (RFC 3030) instead of DATA.
//!
//! With PIPELINING the first chunk goes in the same write as MAIL and RCPT (as in RFC
//! 3030 §4.2), so a message that fits in one chunk costs one round trip. QUIT waits for
//! the reply to BDAT LAST: hardened servers refuse commands pipelined after the end of
//! a message.
//! The price: when every RCPT is refused, that first chunk (at most `CHUNK_SIZE` octets)
//! has already gone, and the server discards it. Later chunks keep one reply
//! outstanding: the next chunk is written before the previous chunk's reply is read, so
//! replies never pile up unread.

use tokio::io::AsyncRead;
use tokio::time::Instant;

use super::transaction::{
    BODY_CHUNK, EnvelopeReplies, TransactionEnd, Transfer, Verdict, answered_mid_body, check_7bit,
    judge_envelope, judge_final,
};
use super::{Session, encode_into};
use crate::outcome::{Failure, FailureKind, Phase, RecipientResult};
use crate::smtp::{ChunkFramer, Command, Framing, Reply, ReplyClass};

/// Octets per BDAT chunk: few enough chunks that the transcript stays readable for a
/// large message, small enough that memory stays a few MiB.
pub const CHUNK_SIZE: usize = 1024 * 1024;

/// One framed chunk ready to write.
struct Frame {
    cmd: Command,
    wire: Vec<u8>,
}

impl Frame {
    fn last(&self) -> bool {
        matches!(self.cmd, Command::Bdat { last: true, .. })
    }

    /// The chunk's octets, after its command line.
    fn payload(&self) -> &[u8] {
        let size = match self.cmd {
            Command::Bdat { size, .. } => usize::try_from(size).unwrap_or(usize::MAX),
            _ => 0,
        };
        &self.wire[self.wire.len().saturating_sub(size)..]
    }

    fn phase(&self) -> Phase {
        if self.last() {
            Phase::BdatLast
        } else {
            Phase::Bdat
        }
    }
}

impl Session<'_> {
    pub(super) async fn chunked<R: AsyncRead + Unpin + ?Sized>(
        &mut self,
        mail: &Command,
        rcpts: &[Command],
        recipients: &mut [RecipientResult],
        body: &mut R,
        transfer: &Transfer,
        framing: Framing,
    ) -> TransactionEnd {
        let mut reader = ChunkReader {
            framer: ChunkFramer::new(framing, CHUNK_SIZE),
            input: vec![0u8; BODY_CHUNK],
            transfer: *transfer,
            started: Instant::now(),
        };
        match self
            .chunked_inner(mail, rcpts, recipients, body, &mut reader)
            .await
        {
            Ok(end) | Err(end) => end,
        }
    }

    async fn chunked_inner<R: AsyncRead + Unpin + ?Sized>(
        &mut self,
        mail: &Command,
        rcpts: &[Command],
        recipients: &mut [RecipientResult],
        body: &mut R,
        reader: &mut ChunkReader,
    ) -> Result<TransactionEnd, TransactionEnd> {
        let failed = TransactionEnd::Failed;
        // The first chunk is read before MAIL so that it can share MAIL's write.
        let first = reader.next(self, body).await.map_err(failed)?;
        let replies = if reader.transfer.pipelining {
            let mut wire = Vec::new();
            encode_into(mail, &mut wire).map_err(failed)?;
            for rcpt in rcpts {
                encode_into(rcpt, &mut wire).map_err(failed)?;
            }
            self.announce(mail);
            for rcpt in rcpts {
                self.announce(rcpt);
            }
            let before = 1 + rcpts.len() as u32;
            self.write_frame(&first, wire, before, reader).await?;
            self.envelope_replies(rcpts.len(), Some(first.phase()))
                .await
                .map_err(failed)?
        } else {
            self.sequential_envelope(mail, rcpts)
                .await
                .map_err(failed)?
        };
        let EnvelopeReplies { mail, rcpt, data } = replies;
        for (result, reply) in recipients.iter_mut().zip(rcpt) {
            result.reply = Some(reply);
        }
        if let Verdict::End(end) = judge_envelope(&mail, recipients, None) {
            return Ok(end);
        }
        let first_reply = match data {
            Some(reply) => reply,
            None => {
                self.write_frame(&first, Vec::new(), 0, reader).await?;
                self.read_chunk_reply(first.phase()).await?
            }
        };
        if first.last() {
            return Ok(judge_final(
                Phase::BdatLast,
                first_reply,
                reader.framer.stats(),
            ));
        }
        check_chunk(Phase::Bdat, first_reply)?;
        self.later_chunks(body, reader).await
    }

    /// Chunks after the first. With pipelining, chunk k is written before chunk k-1's
    /// reply is read: one reply outstanding at most.
    async fn later_chunks<R: AsyncRead + Unpin + ?Sized>(
        &mut self,
        body: &mut R,
        reader: &mut ChunkReader,
    ) -> Result<TransactionEnd, TransactionEnd> {
        let mut outstanding = false;
        loop {
            let frame = reader
                .next(self, body)
                .await
                .map_err(TransactionEnd::Failed)?;
            self.write_frame(&frame, Vec::new(), u32::from(outstanding), reader)
                .await?;
            if outstanding {
                let earlier = self.read_chunk_reply(Phase::Bdat).await?;
                if let Err(end) = check_chunk(Phase::Bdat, earlier) {
                    // Keep the replies in step for QUIT: this chunk's reply is read too.
                    let _ = self.read_chunk_reply(frame.phase()).await;
                    return Err(end);
                }
            }
            if frame.last() || !reader.transfer.pipelining {
                let reply = self.read_chunk_reply(frame.phase()).await?;
                if frame.last() {
                    return Ok(judge_final(Phase::BdatLast, reply, reader.framer.stats()));
                }
                check_chunk(Phase::Bdat, reply)?;
            } else {
                outstanding = true;
            }
        }
    }

    /// Writes `wire` (pipelined commands already encoded) and the frame in one write.
    /// `replies_before` counts the replies due ahead of this frame's.
    async fn write_frame(
        &mut self,
        frame: &Frame,
        mut wire: Vec<u8>,
        replies_before: u32,
        reader: &ChunkReader,
    ) -> Result<(), TransactionEnd> {
        wire.extend_from_slice(&frame.wire);
        self.announce(&frame.cmd);
        self.show_content(frame.payload());
        if replies_before == 0 {
            // No reply is due before this chunk is whole: one that comes ends it.
            match self.write_body(&wire).await {
                Ok(None) => {}
                Ok(Some(reply)) => return Err(answered_mid_body(frame.phase(), reply)),
                Err(f) => return Err(TransactionEnd::Failed(f)),
            }
        } else {
            let block = self.ctx.timeouts.data_block;
            if let Err(f) = self.write_raw(&wire, Phase::Body, block).await {
                return Err(self.refused_before_failure(f, frame));
            }
        }
        if frame.last() {
            let chunks = reader.framer.chunks();
            let stats = reader.framer.stats();
            self.body_sent(stats, Some(chunks), replies_before, reader.started);
        }
        Ok(())
    }

    /// The write failed with replies due: a refusal that already arrived (a 552 to the
    /// previous chunk, then a close) decides, not the broken connection.
    fn refused_before_failure(&mut self, f: Failure, frame: &Frame) -> TransactionEnd {
        while let Some(reply) = self.received_reply() {
            if !reply.is_positive() {
                return answered_mid_body(frame.phase(), reply);
            }
        }
        TransactionEnd::Failed(f)
    }

    async fn read_chunk_reply(&mut self, phase: Phase) -> Result<Reply, TransactionEnd> {
        let timeout = self.ctx.timeouts.for_phase(phase);
        self.read_reply(phase, timeout)
            .await
            .map_err(TransactionEnd::Failed)
    }
}

/// A chunk's reply must be 2xx (RFC 3030 §2); anything else ends the transaction.
fn check_chunk(phase: Phase, reply: Reply) -> Result<(), TransactionEnd> {
    match reply.class() {
        ReplyClass::Positive => Ok(()),
        ReplyClass::Intermediate => Err(TransactionEnd::Failed(Failure::new(
            phase,
            FailureKind::Protocol,
            format!("protocol violation: BDAT answered with {}", reply.code),
        ))),
        _ => Err(TransactionEnd::Rejected { phase, reply }),
    }
}

/// Reads message content into the framer until a chunk is ready.
struct ChunkReader {
    framer: ChunkFramer,
    input: Vec<u8>,
    transfer: Transfer,
    /// When the content began to go, for the transcript.
    started: Instant,
}

impl ChunkReader {
    async fn next<R: AsyncRead + Unpin + ?Sized>(
        &mut self,
        session: &mut Session<'_>,
        body: &mut R,
    ) -> Result<Frame, Failure> {
        let mut wire = Vec::with_capacity(CHUNK_SIZE + 64);
        loop {
            if let Some(cmd) = self.framer.take_full(&mut wire) {
                return Ok(Frame { cmd, wire });
            }
            let done = self.framer.stats().input_bytes;
            let n = session.read_body(body, &mut self.input, done).await?;
            if n == 0 {
                let cmd = self.framer.take_last(&mut wire);
                return Ok(Frame { cmd, wire });
            }
            self.framer.push(&self.input[..n]);
            if self.transfer.refuse_8bit {
                check_7bit(&self.framer.stats())?;
            }
        }
    }
}
