//! One mail transaction: MAIL, RCPT, DATA and the message content (RFC 5321 §3.3),
//! pipelined when the server offers it (RFC 2920). BDAT is in `chunking.rs`.

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::timeout_at;

use super::{Event, Session};
use crate::outcome::{Failure, FailureKind, Phase, RecipientResult};
use crate::smtp::per_recipient::{Collector, DataReplies, Fate, Next, Scheme};
use crate::smtp::{
    Address, Command, DataEncoder, DataStats, Framing, Param, Reply, ReplyClass, ReversePath,
};

/// The envelope of one transaction.
#[derive(Clone, Debug)]
pub struct Envelope {
    pub from: ReversePath,
    pub mail_params: Vec<Param>,
    pub recipients: Vec<(Address, Vec<Param>)>,
}

/// How a transaction ended.
#[derive(Debug)]
pub enum TransactionEnd {
    /// The final dot was answered 2xx.
    Delivered {
        reply: Reply,
        stats: DataStats,
    },
    /// `--quit-after mail|rcpt` (or `--drop-after data`) reached with every reply
    /// positive so far.
    Stopped {
        after: Phase,
    },
    /// A negative reply ended the transaction.
    Rejected {
        phase: Phase,
        reply: Reply,
    },
    Failed(Failure),
}

/// How the content goes, decided from the server's capabilities.
#[derive(Clone, Copy, Debug, Default)]
pub struct Transfer {
    /// RFC 2920: MAIL, every RCPT and DATA (or the first BDAT chunk) in one write.
    pub pipelining: bool,
    /// RFC 3030: BDAT chunks with this framing instead of DATA.
    pub chunking: Option<Framing>,
    /// Content that could not be scanned ahead, going to a server without 8BITMIME:
    /// at the first 8-bit octet, stop without ending the message, so nothing is
    /// committed (RFC 6152 §3 forbids sending it).
    pub refuse_8bit: bool,
    /// `--quit-after mail|rcpt`, `--drop-after mail|rcpt|data`.
    pub stop_after: Option<Phase>,
    /// LMTP or PRDR: the final dot is answered per accepted recipient.
    pub per_recipient: Option<Scheme>,
}

#[derive(Debug)]
pub struct TransactionReport {
    pub recipients: Vec<RecipientResult>,
    pub end: TransactionEnd,
}

/// Read buffer for message content: large enough to keep writes efficient, small enough
/// that memory stays bounded whatever the message size.
pub(super) const BODY_CHUNK: usize = 64 * 1024;

/// How long buffered content may wait for more input before it is written anyway.
const IDLE_FLUSH: std::time::Duration = std::time::Duration::from_millis(200);

impl Session<'_> {
    /// Runs MAIL, RCPT and (unless `stop_after` is Mail or Rcpt) DATA or BDAT with the
    /// content.
    pub async fn transaction<R: AsyncRead + Unpin + ?Sized>(
        &mut self,
        envelope: &Envelope,
        body: &mut R,
        transfer: &Transfer,
    ) -> TransactionReport {
        let mut recipients: Vec<RecipientResult> = envelope
            .recipients
            .iter()
            .map(|(a, _)| RecipientResult::waiting(a.to_string()))
            .collect();
        let (mail, rcpts) = envelope_commands(envelope);
        let end = match transfer.chunking {
            Some(framing) if transfer.stop_after.is_none() => {
                self.chunked(&mail, &rcpts, &mut recipients, body, transfer, framing)
                    .await
            }
            _ => {
                self.envelope_and_data(&mail, &rcpts, &mut recipients, body, transfer)
                    .await
            }
        };
        TransactionReport { recipients, end }
    }

    async fn envelope_and_data<R: AsyncRead + Unpin + ?Sized>(
        &mut self,
        mail: &Command,
        rcpts: &[Command],
        recipients: &mut [RecipientResult],
        body: &mut R,
        transfer: &Transfer,
    ) -> TransactionEnd {
        let stop_after = transfer.stop_after;
        let send_data = matches!(stop_after, None | Some(Phase::Data));
        // `--quit-after mail` must not name a recipient at all.
        let rcpts = if stop_after == Some(Phase::Mail) {
            &[][..]
        } else {
            rcpts
        };
        let replies = if transfer.pipelining {
            self.pipelined_envelope(mail, rcpts, send_data).await
        } else {
            self.sequential_envelope(mail, rcpts).await
        };
        let replies = match replies {
            Ok(r) => r,
            Err(f) => return TransactionEnd::Failed(f),
        };
        for (result, reply) in recipients.iter_mut().zip(replies.rcpt) {
            result.reply = Some(reply);
        }
        match judge_envelope(&replies.mail, recipients, stop_after) {
            Verdict::Continue => {}
            Verdict::End(end) => {
                // A pipelined DATA may have been accepted even so: end it with an empty
                // body rather than leave the server waiting for content (RFC 2920 §3.1).
                if replies.data.as_ref().is_some_and(|r| r.code.value() == 354) {
                    if let Err(f) = self
                        .write_raw(b".\r\n", Phase::Body, self.ctx.timeouts.data_block)
                        .await
                    {
                        return TransactionEnd::Failed(f);
                    }
                    let timeout = self.ctx.timeouts.final_dot;
                    if let Err(f) = self.read_reply(Phase::FinalDot, timeout).await {
                        return TransactionEnd::Failed(f);
                    }
                }
                return end;
            }
        }
        let data_reply = match replies.data {
            Some(r) => r,
            None => match self.command(&Command::Data, Phase::Data).await {
                Ok(r) => r,
                Err(f) => return TransactionEnd::Failed(f),
            },
        };
        match data_reply.class() {
            // `--drop-after data`: the server waits for content that never comes.
            ReplyClass::Intermediate if data_reply.code.value() == 354 => {
                if stop_after == Some(Phase::Data) {
                    return TransactionEnd::Stopped { after: Phase::Data };
                }
            }
            ReplyClass::TransientNegative | ReplyClass::PermanentNegative => {
                return TransactionEnd::Rejected {
                    phase: Phase::Data,
                    reply: data_reply,
                };
            }
            _ => {
                return TransactionEnd::Failed(Failure::new(
                    Phase::Data,
                    FailureKind::Protocol,
                    format!(
                        "protocol violation: DATA answered with {} instead of 354",
                        data_reply.code
                    ),
                ));
            }
        }
        // Nothing may follow the 354 until the message ends: a reply already waiting
        // would be taken for the answer to the final dot (a false success).
        let early = self.unread().len();
        if early > 0 {
            return TransactionEnd::Failed(Failure::new(
                Phase::Data,
                FailureKind::Protocol,
                format!(
                    "protocol violation: the server sent {early} bytes after its 354, before the message; nothing was sent"
                ),
            ));
        }
        let stats = match self.send_content(body, transfer).await {
            Ok(s) => s,
            Err(end) => return end,
        };
        if let Some(scheme) = transfer.per_recipient {
            return self.per_recipient(scheme, recipients, stats).await;
        }
        let timeout = self.ctx.timeouts.final_dot;
        match self.read_reply(Phase::FinalDot, timeout).await {
            Ok(reply) => judge_final(Phase::FinalDot, reply, stats),
            Err(f) => TransactionEnd::Failed(f),
        }
    }

    /// LMTP and PRDR: a reply per accepted recipient after the dot, each recorded with
    /// its recipient as it comes, so a connection lost half-way still tells which
    /// recipients were answered.
    async fn per_recipient(
        &mut self,
        scheme: Scheme,
        recipients: &mut [RecipientResult],
        stats: DataStats,
    ) -> TransactionEnd {
        let accepted: Vec<usize> = recipients
            .iter()
            .enumerate()
            .filter(|(_, r)| r.accepted())
            .map(|(i, _)| i)
            .collect();
        let mut collector = Collector::new(scheme, accepted.len());
        let timeout = self.ctx.timeouts.final_dot;
        let replies = loop {
            let reply = match self.read_reply(Phase::FinalDot, timeout).await {
                Ok(r) => r,
                Err(f) => return TransactionEnd::Failed(f),
            };
            let before = collector.received();
            let next = collector.push(reply.clone());
            if collector.received() > before
                && let Some(result) = accepted.get(before).map(|&i| &mut recipients[i])
            {
                result.data_reply = Some(reply);
                let address = result.address.clone();
                self.ctx.emit(Event::Note {
                    message: format!("the reply above is for {address}"),
                });
            }
            match next {
                Next::More => {}
                Next::Done(replies) => break replies,
                Next::Violation(why) => {
                    return TransactionEnd::Failed(Failure::new(
                        Phase::FinalDot,
                        FailureKind::Protocol,
                        format!(
                            "protocol violation: {why}; the message may or may not have been accepted"
                        ),
                    ));
                }
            }
        };
        if let DataReplies::Whole(reply) = &replies {
            // PRDR offered but not used for this message: one reply speaks for all.
            for &i in &accepted {
                recipients[i].data_reply = Some(reply.clone());
            }
        }
        if replies.inconsistent() {
            self.ctx.emit(Event::Warning {
                message: "the server's reply for the whole message contradicts its per-recipient replies; the per-recipient replies are counted".into(),
            });
        }
        match replies.fate() {
            Fate::Accepted(reply) => TransactionEnd::Delivered { reply, stats },
            Fate::Refused(reply) => TransactionEnd::Rejected {
                phase: Phase::FinalDot,
                reply,
            },
        }
    }

    pub(super) async fn sequential_envelope(
        &mut self,
        mail: &Command,
        rcpts: &[Command],
    ) -> Result<EnvelopeReplies, Failure> {
        let mail_reply = self.command(mail, Phase::Mail).await?;
        let mut rcpt = Vec::new();
        if mail_reply.is_positive() {
            for cmd in rcpts {
                let reply = self.command(cmd, Phase::Rcpt).await?;
                let closing = is_closing(&reply);
                rcpt.push(reply);
                if closing {
                    break;
                }
            }
        }
        Ok(EnvelopeReplies {
            mail: mail_reply,
            rcpt,
            data: None,
        })
    }

    /// MAIL, every RCPT and DATA in one write; then every reply, in order (RFC 2920 §3.1).
    async fn pipelined_envelope(
        &mut self,
        mail: &Command,
        rcpts: &[Command],
        send_data: bool,
    ) -> Result<EnvelopeReplies, Failure> {
        let mut group: Vec<&Command> = vec![mail];
        group.extend(rcpts.iter());
        if send_data {
            group.push(&Command::Data);
        }
        self.send(&group, Phase::Mail).await?;
        self.envelope_replies(rcpts.len(), send_data.then_some(Phase::Data))
            .await
    }

    /// Reads the replies to a pipelined MAIL, `rcpts` RCPTs and, when `last` names its
    /// phase, the command that ended the group. A 421 means the server is closing (RFC
    /// 5321 §3.8): no more replies will come, so reading stops there.
    pub(super) async fn envelope_replies(
        &mut self,
        rcpts: usize,
        last: Option<Phase>,
    ) -> Result<EnvelopeReplies, Failure> {
        let command = self.ctx.timeouts.command;
        let mail = self.read_reply(Phase::Mail, command).await?;
        let mut replies = EnvelopeReplies {
            mail,
            rcpt: Vec::with_capacity(rcpts),
            data: None,
        };
        if is_closing(&replies.mail) {
            return Ok(replies);
        }
        for _ in 0..rcpts {
            let reply = self.read_reply(Phase::Rcpt, command).await?;
            let closing = is_closing(&reply);
            replies.rcpt.push(reply);
            if closing {
                return Ok(replies);
            }
        }
        if let Some(phase) = last {
            let timeout = self.ctx.timeouts.for_phase(phase);
            replies.data = Some(self.read_reply(phase, timeout).await?);
        }
        Ok(replies)
    }

    /// Streams the content through the DATA encoder and ends it with the final dot, in
    /// the same write as the last of the content. QUIT never joins that write: servers
    /// hardened against SMTP smuggling answer 503 to anything pipelined after the dot.
    /// If the input fails, the dot is never sent (RFC 5321 §3.8): nothing is committed.
    async fn send_content<R: AsyncRead + Unpin + ?Sized>(
        &mut self,
        body: &mut R,
        transfer: &Transfer,
    ) -> Result<DataStats, TransactionEnd> {
        let started = tokio::time::Instant::now();
        let mut encoder = DataEncoder::new();
        let mut input = vec![0u8; BODY_CHUNK];
        let mut output = Vec::with_capacity(2 * BODY_CHUNK);
        let failed = TransactionEnd::Failed;
        loop {
            let done = encoder.stats().input_bytes;
            let n = if output.is_empty() {
                self.read_body(body, &mut input, done)
                    .await
                    .map_err(failed)?
            } else {
                // Content waits to share a write with the dot, but not for a slow source
                // (a pipe, a person typing): the server would time out on the block.
                match tokio::time::timeout(IDLE_FLUSH, self.read_body(body, &mut input, done)).await
                {
                    Ok(read) => read.map_err(failed)?,
                    Err(_) => {
                        self.content(&output).await?;
                        output.clear();
                        self.read_body(body, &mut input, done)
                            .await
                            .map_err(failed)?
                    }
                }
            };
            if n == 0 {
                break;
            }
            self.show_content(&input[..n]);
            encoder.encode(&input[..n], &mut output);
            if transfer.refuse_8bit {
                check_7bit(&encoder.stats()).map_err(failed)?;
            }
            // Small messages leave with their dot in one write.
            if output.len() >= BODY_CHUNK {
                self.content(&output).await?;
                output.clear();
            }
        }
        encoder.finish(&mut output);
        self.content(&output).await?;
        let stats = encoder.stats();
        self.body_sent(stats, None, 0, started);
        Ok(stats)
    }

    /// Writes a block of content; a reply that comes before the content is done ends the
    /// transaction with that reply (RFC 5321 §4.1.1.4 has no reply before the dot).
    async fn content(&mut self, bytes: &[u8]) -> Result<(), TransactionEnd> {
        match self.write_body(bytes).await {
            Ok(None) => Ok(()),
            Ok(Some(reply)) => Err(answered_mid_body(Phase::Body, reply)),
            Err(f) => Err(TransactionEnd::Failed(f)),
        }
    }

    /// `--show-data`: a block of content, reported as it goes (after DATA's 354, or after
    /// its BDAT command line).
    pub(super) fn show_content(&mut self, bytes: &[u8]) {
        if self.show_data && !bytes.is_empty() {
            let channel = self.channel();
            self.ctx.emit(Event::ContentSent {
                bytes: bytes.to_vec(),
                channel,
            });
        }
    }

    /// Reports the content as sent, with a warning for over-long lines and for NULs.
    pub(super) fn body_sent(
        &mut self,
        stats: DataStats,
        chunks: Option<u64>,
        replies_before: u32,
        started: tokio::time::Instant,
    ) {
        if stats.long_lines > 0 {
            self.ctx.emit(Event::Warning {
                message: format!(
                    "{} line(s) longer than 998 octets were sent as they are; some servers reject them (RFC 5321 §4.5.3.1.6)",
                    stats.long_lines
                ),
            });
        }
        if stats.nul_bytes > 0 {
            self.ctx.emit(Event::Warning {
                message: format!(
                    "{} NUL byte(s) were sent as they are; many servers reject or strip them (only BINARYMIME may carry them, RFC 3030 §3)",
                    stats.nul_bytes
                ),
            });
        }
        let channel = self.channel();
        self.ctx.emit(Event::BodySent {
            stats,
            chunks,
            replies_before,
            took: started.elapsed(),
            channel,
        });
    }

    /// One read of message content, under the overall deadline. `done` is how much was
    /// read before, for the error message.
    pub(super) async fn read_body<R: AsyncRead + Unpin + ?Sized>(
        &mut self,
        body: &mut R,
        buf: &mut [u8],
        done: u64,
    ) -> Result<usize, Failure> {
        let read = match self.ctx.overall {
            Some(deadline) => match timeout_at(deadline, body.read(buf)).await {
                Ok(r) => r,
                Err(_) => {
                    return Err(Failure::new(
                        Phase::Body,
                        FailureKind::Timeout,
                        "the overall --timeout expired while reading the message; the message was not ended, so nothing was delivered",
                    ));
                }
            },
            None => body.read(buf).await,
        };
        read.map_err(|e| {
            Failure::new(
                Phase::Body,
                FailureKind::Input,
                format!(
                    "reading the message failed after {done} bytes: {e}; the message was not ended, so nothing was delivered"
                ),
            )
        })
    }
}

/// RFC 6152 §3: without BODY=8BITMIME only 7-bit octets may go. Content that could not
/// be scanned ahead is checked as it streams, and stopped before it is ended.
pub(super) fn check_7bit(stats: &DataStats) -> Result<(), Failure> {
    match stats.first_eight_bit_line {
        None => Ok(()),
        Some(line) => Err(Failure::new(
            Phase::Body,
            FailureKind::Input,
            format!(
                "the message has 8-bit bytes (first on line {line}) and the server does not offer 8BITMIME (RFC 6152); \
                 the message was not ended, so nothing was delivered"
            ),
        )),
    }
}

/// A reply that came while the content was still going: a refusal ends the
/// transaction with it; anything else is out of turn. The message was not ended, so
/// nothing was committed.
pub(super) fn answered_mid_body(phase: Phase, reply: Reply) -> TransactionEnd {
    match reply.class() {
        ReplyClass::TransientNegative | ReplyClass::PermanentNegative => {
            TransactionEnd::Rejected { phase, reply }
        }
        _ => TransactionEnd::Failed(Failure::new(
            phase,
            FailureKind::Protocol,
            format!(
                "protocol violation: the server answered {} before the message was ended",
                reply.code
            ),
        )),
    }
}

/// MAIL FROM and RCPT TO for an envelope.
fn envelope_commands(envelope: &Envelope) -> (Command, Vec<Command>) {
    let mail = Command::Mail {
        from: envelope.from.clone(),
        params: envelope.mail_params.clone(),
    };
    let rcpts = envelope
        .recipients
        .iter()
        .map(|(to, params)| Command::Rcpt {
            to: to.clone(),
            params: params.clone(),
        })
        .collect();
    (mail, rcpts)
}

/// RFC 5321 §3.8: 421 means the server is closing the channel.
pub fn is_closing(reply: &Reply) -> bool {
    reply.code.value() == 421
}

/// The reply that commits the message: the final dot's or BDAT LAST's.
pub(super) fn judge_final(phase: Phase, reply: Reply, stats: DataStats) -> TransactionEnd {
    match reply.class() {
        ReplyClass::Positive => TransactionEnd::Delivered { reply, stats },
        ReplyClass::Intermediate => TransactionEnd::Failed(Failure::new(
            phase,
            FailureKind::Protocol,
            format!(
                "protocol violation: {} was answered with {}; the message may or may not have been accepted",
                if phase == Phase::BdatLast {
                    "BDAT LAST"
                } else {
                    "the final dot"
                },
                reply.code
            ),
        )),
        _ => TransactionEnd::Rejected { phase, reply },
    }
}

pub(super) struct EnvelopeReplies {
    pub(super) mail: Reply,
    pub(super) rcpt: Vec<Reply>,
    /// The reply to the command that ended a pipelined group (DATA or the first BDAT).
    pub(super) data: Option<Reply>,
}

pub(super) enum Verdict {
    Continue,
    End(TransactionEnd),
}

/// Decides from the MAIL and RCPT replies whether the content may go.
pub(super) fn judge_envelope(
    mail: &Reply,
    recipients: &[RecipientResult],
    stop_after: Option<Phase>,
) -> Verdict {
    if !mail.is_positive() {
        return Verdict::End(negative_or_violation(Phase::Mail, mail));
    }
    if let Some(closing) = recipients
        .iter()
        .filter_map(|r| r.reply.as_ref())
        .find(|r| is_closing(r))
    {
        return Verdict::End(TransactionEnd::Rejected {
            phase: Phase::Rcpt,
            reply: closing.clone(),
        });
    }
    if stop_after == Some(Phase::Mail) {
        return Verdict::End(TransactionEnd::Stopped { after: Phase::Mail });
    }
    if let Some(odd) = recipients
        .iter()
        .filter_map(|r| r.reply.as_ref())
        .find(|r| r.class() == ReplyClass::Intermediate)
    {
        return Verdict::End(negative_or_violation(Phase::Rcpt, odd));
    }
    let refused: Vec<&Reply> = recipients
        .iter()
        .filter_map(|r| r.reply.as_ref())
        .filter(|r| !r.is_positive())
        .collect();
    if refused.len() == recipients.len() {
        let worst = refused
            .iter()
            .find(|r| r.class() == ReplyClass::PermanentNegative)
            .or(refused.first())
            .map(|r| (*r).clone());
        if let Some(reply) = worst {
            return Verdict::End(TransactionEnd::Rejected {
                phase: Phase::Rcpt,
                reply,
            });
        }
    }
    if stop_after == Some(Phase::Rcpt) {
        return Verdict::End(TransactionEnd::Stopped { after: Phase::Rcpt });
    }
    Verdict::Continue
}

fn negative_or_violation(phase: Phase, reply: &Reply) -> TransactionEnd {
    if reply.class() == ReplyClass::Intermediate {
        TransactionEnd::Failed(Failure::new(
            phase,
            FailureKind::Protocol,
            format!(
                "protocol violation: {} answered with {}",
                phase.name().to_uppercase(),
                reply.code
            ),
        ))
    } else {
        TransactionEnd::Rejected {
            phase,
            reply: reply.clone(),
        }
    }
}
