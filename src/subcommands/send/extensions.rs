//! What the message needs from one server, decided from its (post-TLS) EHLO: SIZE (RFC
//! 1870), BODY (RFC 6152, RFC 3030), SMTPUTF8 (RFC 6531), DSN (RFC 3461), PRDR,
//! REQUIRETLS (RFC 8689), and whether the content goes with DATA or BDAT. Refusals name
//! the missing extension and happen before MAIL.

use super::validate::{Content, SendPlan};
use crate::outcome::{Failure, FailureKind, Phase};
use crate::session::Event;
use crate::session::transaction::{Envelope, Transfer};
use crate::smtp::body::{BodyChoice, choose_body};
use crate::smtp::per_recipient::Scheme;
use crate::smtp::{Capabilities, Framing, Param, SizeLimit};

/// The parameters for `envelope` and how the content goes, or why this server cannot
/// take the message. `notes` collects what the transcript should say about choices.
pub(super) fn negotiate(
    envelope: &mut Envelope,
    plan: &SendPlan,
    caps: &Capabilities,
    tls_verified: bool,
    notes: &mut Vec<Event>,
) -> Result<Transfer, Failure> {
    if plan.requiretls {
        requiretls(envelope, caps, tls_verified)?;
    }
    let per_recipient = per_recipient(envelope, plan, caps, notes);
    // Per-recipient replies are read after the final dot; BDAT LAST is not used for them.
    let chunking = plan.chunking && caps.chunking() && per_recipient.is_none();
    if plan.chunking && !chunking && plan.stop_after.is_none() {
        let why = if per_recipient.is_some() {
            "per-recipient replies are read after DATA's final dot"
        } else {
            "the server does not offer CHUNKING"
        };
        notes.push(Event::Note {
            message: format!("{why}: sending with DATA"),
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
        per_recipient,
    })
}

/// LMTP always answers per recipient (RFC 2033 §4.2); PRDR only when the server offers
/// it, and asked for on MAIL (draft-hall-prdr-00 §4.2).
fn per_recipient(
    envelope: &mut Envelope,
    plan: &SendPlan,
    caps: &Capabilities,
    notes: &mut Vec<Event>,
) -> Option<Scheme> {
    if plan.open.lmtp {
        return Some(Scheme::Lmtp);
    }
    if !plan.prdr {
        return None;
    }
    if caps.has("PRDR") {
        envelope.mail_params.push(Param::new("PRDR", None));
        return Some(Scheme::Prdr);
    }
    notes.push(Event::Warning {
        message: "the server does not offer PRDR: --prdr not sent, one reply will speak for every recipient".into(),
    });
    None
}

/// RFC 8689 §4.1: REQUIRETLS only over TLS whose certificate was verified, to a server
/// that offers it; otherwise the message is not sent at all (exit 5).
fn requiretls(
    envelope: &mut Envelope,
    caps: &Capabilities,
    tls_verified: bool,
) -> Result<(), Failure> {
    let why = if !tls_verified {
        "the session is not TLS with a verified certificate"
    } else if !caps.has("REQUIRETLS") {
        "the server does not offer REQUIRETLS"
    } else {
        envelope.mail_params.push(Param::new("REQUIRETLS", None));
        return Ok(());
    };
    Err(Failure::new(
        Phase::Mail,
        FailureKind::Tls,
        format!("--requiretls (RFC 8689): {why}; the message was not sent"),
    ))
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
