//! Transactions that only ask: RSET between them, MAIL FROM, a batch of RCPT TO, and
//! never DATA, so nothing can be delivered. Pipelined when the server offers it
//! (RFC 2920). Each reply is handed over the moment it is read, so a connection lost
//! in the middle of a batch still settles every recipient it answered.

use super::Session;
use super::transaction::is_closing;
use crate::outcome::{Failure, FailureKind, Phase};
use crate::smtp::{Command, Reply};

/// A reply of a batch, as it arrives.
#[derive(Clone, Copy, Debug)]
pub enum Answer<'r> {
    /// MAIL's reply; a 421 to the RSET before it stands in for it, since the server is
    /// gone either way.
    Mail(&'r Reply),
    Rcpt(&'r Reply),
}

/// How a batch ended.
#[derive(Debug, Default)]
pub struct BatchEnd {
    /// RCPT commands written: all of them when pipelined, otherwise those before the
    /// first unanswered one. An address never asked has not used up an attempt.
    pub sent: usize,
    /// Why the replies stopped early, if they did for any reason but a 421.
    pub failure: Option<Failure>,
    /// The server refused RSET (421, or Exim's 554) and closed: some servers allow only
    /// so many RSETs in a session (Exim counts each after a session's first as a
    /// non-mail command and closes after `smtp_accept_max_nonmail`, 10 by default).
    pub reset_refused: bool,
}

impl Session<'_> {
    /// Sends `[RSET,] MAIL, RCPT...` and hands each reply to `answer`: in one write with
    /// `pipelined` (RFC 2920 §3.1 lets RSET, MAIL and RCPT stand anywhere in a group),
    /// otherwise one command at a time, stopping once MAIL is refused. Reading stops at
    /// a 421 (RFC 5321 §3.8).
    pub async fn rcpt_batch(
        &mut self,
        reset: bool,
        mail: &Command,
        rcpts: &[Command],
        pipelined: bool,
        answer: impl FnMut(Answer<'_>),
    ) -> BatchEnd {
        let mut end = BatchEnd::default();
        if let Err(f) = self
            .exchange(reset, mail, rcpts, pipelined, answer, &mut end)
            .await
        {
            end.failure = Some(f);
        }
        end
    }

    async fn exchange(
        &mut self,
        reset: bool,
        mail: &Command,
        rcpts: &[Command],
        pipelined: bool,
        mut answer: impl FnMut(Answer<'_>),
        end: &mut BatchEnd,
    ) -> Result<(), Failure> {
        let command = self.ctx.timeouts.command;
        if pipelined {
            let mut group: Vec<&Command> = Vec::with_capacity(rcpts.len() + 2);
            if reset {
                group.push(&Command::Rset);
            }
            group.push(mail);
            group.extend(rcpts);
            self.send(&group, Phase::Mail).await?;
            end.sent = rcpts.len();
        }
        if reset {
            if !pipelined {
                self.send(&[&Command::Rset], Phase::Mail).await?;
            }
            let reply = self.read_reply(Phase::Mail, command).await?;
            if is_closing(&reply) {
                end.reset_refused = true;
                answer(Answer::Mail(&reply));
                return Ok(());
            }
            if !reply.is_positive() {
                // Exim answers "554 Too many nonmail commands" and closes: the commands
                // behind the RSET were never asked, so they use up no attempt.
                end.reset_refused = true;
                end.sent = 0;
                return Err(Failure::new(
                    Phase::Mail,
                    FailureKind::Closed,
                    format!(
                        "the server refused RSET: {} {}",
                        reply.code,
                        reply.lines.join(" ")
                    ),
                ));
            }
        }
        if !pipelined {
            self.send(&[mail], Phase::Mail).await?;
        }
        let reply = self.read_reply(Phase::Mail, command).await?;
        answer(Answer::Mail(&reply));
        // Pipelined RCPTs are answered (503) even after a refused MAIL: read them all.
        if is_closing(&reply) || !(reply.is_positive() || pipelined) {
            return Ok(());
        }
        for rcpt in rcpts {
            if !pipelined {
                self.send(&[rcpt], Phase::Rcpt).await?;
                end.sent += 1;
            }
            let reply = self.read_reply(Phase::Rcpt, command).await?;
            answer(Answer::Rcpt(&reply));
            if is_closing(&reply) {
                break;
            }
        }
        Ok(())
    }
}
