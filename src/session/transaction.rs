//! One mail transaction: MAIL, RCPT, DATA and the message content (RFC 5321 §3.3),
//! pipelined when the server offers it (RFC 2920).

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::timeout_at;

use super::{Event, Session};
use crate::outcome::{Failure, FailureKind, Phase, RecipientResult};
use crate::smtp::{
    Address, Command, DataEncoder, DataStats, Param, Reply, ReplyClass, ReversePath,
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
    /// `--quit-after mail|rcpt` reached with every reply positive so far.
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

#[derive(Debug)]
pub struct TransactionReport {
    pub recipients: Vec<RecipientResult>,
    pub end: TransactionEnd,
}

/// Read buffer for message content: large enough to keep writes efficient, small enough
/// that memory stays bounded whatever the message size.
const BODY_CHUNK: usize = 64 * 1024;

impl Session<'_> {
    /// Runs MAIL, RCPT and (unless `stop_after` is Mail or Rcpt) DATA with the content.
    pub async fn transaction<R: AsyncRead + Unpin + ?Sized>(
        &mut self,
        envelope: &Envelope,
        body: &mut R,
        pipelining: bool,
        stop_after: Option<Phase>,
    ) -> TransactionReport {
        let mut recipients: Vec<RecipientResult> = envelope
            .recipients
            .iter()
            .map(|(a, _)| RecipientResult {
                address: a.to_string(),
                reply: None,
            })
            .collect();
        let end = self
            .envelope_and_data(envelope, &mut recipients, body, pipelining, stop_after)
            .await;
        TransactionReport { recipients, end }
    }

    async fn envelope_and_data<R: AsyncRead + Unpin + ?Sized>(
        &mut self,
        envelope: &Envelope,
        recipients: &mut [RecipientResult],
        body: &mut R,
        pipelining: bool,
        stop_after: Option<Phase>,
    ) -> TransactionEnd {
        let mail = Command::Mail {
            from: envelope.from.clone(),
            params: envelope.mail_params.clone(),
        };
        let rcpts: Vec<Command> = envelope
            .recipients
            .iter()
            .map(|(to, params)| Command::Rcpt {
                to: to.clone(),
                params: params.clone(),
            })
            .collect();
        let send_data = stop_after.is_none();
        // `--quit-after mail` must not name a recipient at all.
        let rcpts = if stop_after == Some(Phase::Mail) {
            &[][..]
        } else {
            &rcpts[..]
        };
        let replies = if pipelining {
            self.pipelined_envelope(&mail, rcpts, send_data).await
        } else {
            self.sequential_envelope(&mail, rcpts).await
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
            ReplyClass::Intermediate if data_reply.code.value() == 354 => {}
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
        let stats = match self.send_content(body).await {
            Ok(s) => s,
            Err(f) => return TransactionEnd::Failed(f),
        };
        let timeout = self.ctx.timeouts.final_dot;
        match self.read_reply(Phase::FinalDot, timeout).await {
            Ok(reply) => match reply.class() {
                ReplyClass::Positive => TransactionEnd::Delivered { reply, stats },
                ReplyClass::Intermediate => TransactionEnd::Failed(Failure::new(
                    Phase::FinalDot,
                    FailureKind::Protocol,
                    format!(
                        "protocol violation: the final dot was answered with {}; the message may or may not have been accepted",
                        reply.code
                    ),
                )),
                _ => TransactionEnd::Rejected {
                    phase: Phase::FinalDot,
                    reply,
                },
            },
            Err(f) => TransactionEnd::Failed(f),
        }
    }

    async fn sequential_envelope(
        &mut self,
        mail: &Command,
        rcpts: &[Command],
    ) -> Result<EnvelopeReplies, Failure> {
        let mail_reply = self.command(mail, Phase::Mail).await?;
        let mut rcpt = Vec::new();
        if mail_reply.is_positive() {
            for cmd in rcpts {
                rcpt.push(self.command(cmd, Phase::Rcpt).await?);
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
        let mail_reply = self
            .read_reply(Phase::Mail, self.ctx.timeouts.command)
            .await?;
        let mut rcpt = Vec::with_capacity(rcpts.len());
        for _ in rcpts {
            rcpt.push(
                self.read_reply(Phase::Rcpt, self.ctx.timeouts.command)
                    .await?,
            );
        }
        let data = if send_data {
            Some(
                self.read_reply(Phase::Data, self.ctx.timeouts.data_init)
                    .await?,
            )
        } else {
            None
        };
        Ok(EnvelopeReplies {
            mail: mail_reply,
            rcpt,
            data,
        })
    }

    /// Streams the content through the DATA encoder and ends it with the final dot.
    /// If the input fails, the dot is never sent (RFC 5321 §3.8): nothing is committed.
    async fn send_content<R: AsyncRead + Unpin + ?Sized>(
        &mut self,
        body: &mut R,
    ) -> Result<DataStats, Failure> {
        let started = tokio::time::Instant::now();
        let mut encoder = DataEncoder::new();
        let mut input = vec![0u8; BODY_CHUNK];
        let mut output = Vec::with_capacity(BODY_CHUNK + BODY_CHUNK / 8);
        let block = self.ctx.timeouts.data_block;
        loop {
            let read = match self.ctx.overall {
                Some(deadline) => match timeout_at(deadline, body.read(&mut input)).await {
                    Ok(r) => r,
                    Err(_) => {
                        return Err(Failure::new(
                            Phase::Body,
                            FailureKind::Timeout,
                            "the overall --timeout expired while reading the message; the final dot was not sent",
                        ));
                    }
                },
                None => body.read(&mut input).await,
            };
            let n = match read {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    return Err(Failure::new(
                        Phase::Body,
                        FailureKind::Input,
                        format!(
                            "reading the message failed after {} bytes: {e}; the final dot was not sent, so nothing was delivered",
                            encoder.stats().input_bytes
                        ),
                    ));
                }
            };
            output.clear();
            encoder.encode(&input[..n], &mut output);
            self.write_raw(&output, Phase::Body, block).await?;
        }
        output.clear();
        encoder.finish(&mut output);
        self.write_raw(&output, Phase::Body, block).await?;
        let stats = encoder.stats();
        if stats.long_lines > 0 {
            self.ctx.emit(Event::Warning {
                message: format!(
                    "{} line(s) longer than 998 octets were sent as they are; some servers reject them (RFC 5321 §4.5.3.1.6)",
                    stats.long_lines
                ),
            });
        }
        let channel = self.channel();
        self.ctx.emit(Event::BodySent {
            stats,
            took: started.elapsed(),
            channel,
        });
        Ok(stats)
    }
}

struct EnvelopeReplies {
    mail: Reply,
    rcpt: Vec<Reply>,
    data: Option<Reply>,
}

enum Verdict {
    Continue,
    End(TransactionEnd),
}

/// Decides from the MAIL and RCPT replies whether the content may go.
fn judge_envelope(
    mail: &Reply,
    recipients: &[RecipientResult],
    stop_after: Option<Phase>,
) -> Verdict {
    if !mail.is_positive() {
        return Verdict::End(negative_or_violation(Phase::Mail, mail));
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
