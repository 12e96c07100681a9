//! XCLIENT and XFORWARD (Postfix): the attributes the server lists are sent, split into
//! as many commands as the line limit needs; XCLIENT restarts the session, so its 220
//! is followed by EHLO (or LHLO) again.

use super::{Event, Session};
use crate::outcome::{Failure, FailureKind, Phase};
use crate::smtp::forward::{self, Attribute, Forwarding};
use crate::smtp::{Domain, Reply, ReplyClass};

/// How the step went.
pub enum Forwarded {
    Done,
    /// The server said no: the session is sound, QUIT follows.
    Refused(Phase, Reply),
    /// Not offered: nothing was sent, QUIT follows.
    Declined(Failure),
    /// The session cannot go on.
    Failed(Failure),
}

impl Session<'_> {
    pub async fn forward(
        &mut self,
        kind: Forwarding,
        attrs: &[Attribute],
        name: &Domain,
    ) -> Forwarded {
        let phase = match kind {
            Forwarding::Xclient => Phase::Xclient,
            Forwarding::Xforward => Phase::Xforward,
        };
        let flag = kind.keyword().to_ascii_lowercase();
        let caps = self.capabilities.clone().unwrap_or_default();
        let Some(offered) = kind.offered(&caps) else {
            return Forwarded::Declined(Failure::new(
                phase,
                FailureKind::Permanent,
                format!(
                    "the server does not offer {kind} (its EHLO does not list it): --{flag} cannot be sent; nothing was sent"
                ),
            ));
        };
        let (kept, dropped) = forward::listed(attrs, &offered);
        if kept.is_empty() {
            return Forwarded::Declined(Failure::new(
                phase,
                FailureKind::Permanent,
                format!(
                    "the server's {kind} lists {}, none of the attributes given: --{flag} cannot be sent; nothing was sent",
                    if offered.is_empty() {
                        "no attributes".to_string()
                    } else {
                        offered.join(" ")
                    }
                ),
            ));
        }
        if !dropped.is_empty() {
            self.ctx.emit(Event::Warning {
                message: format!(
                    "the server's {kind} does not list {}: not sent",
                    dropped.join(", ")
                ),
            });
        }
        // XCLIENT answers with a new greeting (220); XFORWARD with 250.
        let wanted = match kind {
            Forwarding::Xclient => 220,
            Forwarding::Xforward => 250,
        };
        for command in forward::commands(kind, &kept) {
            let reply = match self.command(&command, phase).await {
                Ok(r) => r,
                Err(f) => return Forwarded::Failed(f),
            };
            match reply.class() {
                ReplyClass::TransientNegative | ReplyClass::PermanentNegative => {
                    return Forwarded::Refused(phase, reply);
                }
                _ if reply.code.value() != wanted => {
                    return Forwarded::Failed(Failure::new(
                        phase,
                        FailureKind::Protocol,
                        format!(
                            "protocol violation: {kind} was answered with {}, not {wanted}",
                            reply.code
                        ),
                    ));
                }
                _ => {}
            }
        }
        if kind == Forwarding::Xclient {
            // The server starts over as if the named client had connected: what it
            // offered before counts no more.
            match self.hello(name, false).await {
                Ok(reply) if reply.is_positive() => {}
                Ok(reply) => return Forwarded::Refused(Phase::Ehlo, reply),
                Err(f) => return Forwarded::Failed(f),
            }
        }
        Forwarded::Done
    }
}
