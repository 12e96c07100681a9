//! What the message needs from one server, decided from its (post-TLS) EHLO: SIZE (RFC
//! 1870), BODY (RFC 6152, RFC 3030), SMTPUTF8 (RFC 6531), DSN (RFC 3461), and whether the
//! content goes with DATA or BDAT. Refusals name the missing extension and happen before
//! MAIL.

use super::validate::{Content, SendPlan};
use crate::outcome::{Failure, FailureKind, Phase};
use crate::session::Event;
use crate::session::transaction::{Envelope, Transfer};
use crate::smtp::body::{BodyChoice, choose_body};
use crate::smtp::{Capabilities, Framing, Param, SizeLimit};

/// The parameters for `envelope` and how the content goes, or why this server cannot
/// take the message. `notes` collects what the transcript should say about choices.
pub(super) fn negotiate(
    envelope: &mut Envelope,
    plan: &SendPlan,
    caps: &Capabilities,
    notes: &mut Vec<Event>,
) -> Result<Transfer, Failure> {
    let chunking = plan.chunking && caps.chunking();
    if plan.chunking && !caps.chunking() && plan.stop_after.is_none() {
        notes.push(Event::Note {
            message: "the server does not offer CHUNKING: sending with DATA".into(),
        });
    }
    if let (Some(size), Some(SizeLimit::Bytes(max)), None) =
        (plan.content.size(), caps.size(), plan.stop_after)
        && size > max
    {
        return Err(Failure::new(
            Phase::Mail,
            FailureKind::Permanent,
            format!(
                "the message is {size} bytes; the server accepts at most {max} (SIZE {max}, RFC 1870): not sent"
            ),
        ));
    }
    // A declared size is a promise about a message; --quit-after sends none.
    if let (Some(size), Some(_), None) = (plan.content.size(), caps.size(), plan.stop_after) {
        envelope
            .mail_params
            .push(Param::new("SIZE", Some(size.to_string())));
    }
    let body = choose_body(plan.content.report(), caps, chunking)
        .map_err(|r| Failure::new(Phase::Mail, FailureKind::Input, r.0))?;
    envelope.mail_params.extend(body.param());
    smtputf8(envelope, caps)?;
    if !plan.dsn.is_empty() {
        if caps.dsn() {
            envelope.mail_params.extend(plan.dsn.mail_params());
            for (rcpt, params) in &mut envelope.recipients {
                params.extend(plan.dsn.rcpt_params(rcpt));
            }
        } else {
            notes.push(Event::Warning {
                message:
                    "the server does not offer DSN (RFC 3461): the --dsn-* options were not sent"
                        .into(),
            });
        }
    }
    let framing = if body == BodyChoice::BinaryMime {
        Framing::Binary
    } else {
        Framing::Chunked
    };
    Ok(Transfer {
        pipelining: plan.pipelining && caps.pipelining(),
        chunking: chunking.then_some(framing),
        // Stdin cannot be scanned ahead: without 8BITMIME it is watched as it goes.
        refuse_8bit: matches!(plan.content, Content::Stdin { .. }) && !caps.eight_bit_mime(),
        stop_after: plan.stop_after,
    })
}

/// RFC 6531 §3.4: a non-ASCII address needs SMTPUTF8 on MAIL; a server that does not
/// offer it cannot take the message, so nothing is sent (domains are already A-labels, so
/// only a non-ASCII local part gets here).
fn smtputf8(envelope: &mut Envelope, caps: &Capabilities) -> Result<(), Failure> {
    let needs = envelope
        .from
        .address()
        .into_iter()
        .chain(envelope.recipients.iter().map(|(a, _)| a))
        .find(|a| a.needs_smtputf8());
    if let Some(addr) = needs {
        if !caps.smtputf8() {
            return Err(Failure::new(
                Phase::Mail,
                FailureKind::Input,
                format!(
                    "address '{addr}' is not ASCII and the server does not offer SMTPUTF8 (RFC 6531): not sent"
                ),
            ));
        }
        envelope.mail_params.push(Param::new("SMTPUTF8", None));
    }
    Ok(())
}
