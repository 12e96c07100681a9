//! How each way a session can end reads as a `Summary`: the outcome line and the
//! `result` object of `--json`.

use super::{Status, Summary};
use crate::outcome::{
    ExitCode, Failure, FailureKind, Phase, RecipientResult, recipients_exit_code,
};
use crate::render::plural;
use crate::session::transaction::{TransactionEnd, TransactionReport};
use crate::smtp::Reply;

pub fn transaction(report: TransactionReport) -> Summary {
    let TransactionReport { recipients, end } = report;
    match end {
        TransactionEnd::Delivered { reply, .. } => {
            let accepted = recipients.iter().filter(|r| r.accepted()).count();
            let total = recipients.len();
            let queue_id = reply.queue_id();
            let mut msg = format!("for {accepted} of {total} recipient{}", plural(total));
            if let Some(id) = &queue_id {
                msg.push_str(&format!(", queued as {id}"));
            }
            let refused: Vec<String> = recipients
                .iter()
                .filter(|r| !r.accepted())
                .map(|r| match r.deciding_reply() {
                    Some(reply) => {
                        format!("{} ({} {})", r.address, reply.code, reply.lines.join(" "))
                    }
                    None => r.address.clone(),
                })
                .collect();
            if !refused.is_empty() {
                msg.push_str(&format!("; refused: {}", refused.join(", ")));
            }
            let exit = recipients_exit_code(&recipients);
            let status = if exit == ExitCode::Success {
                Status::Accepted
            } else {
                Status::PartiallyAccepted
            };
            Summary::new(status, exit, msg)
                .with("queue_id", queue_id)
                .with("reply", reply_json(&reply))
                .with("recipients", recipients_json(&recipients))
        }
        TransactionEnd::Stopped { after } => {
            stopped(after).with("recipients", recipients_json(&recipients))
        }
        TransactionEnd::Rejected { phase, reply } => rejected(phase, &reply, &recipients),
        TransactionEnd::Failed(f) => failure(&f, &recipients),
    }
}

pub fn stopped(phase: Phase) -> Summary {
    Summary::new(
        Status::Stopped,
        ExitCode::Success,
        format!("after {phase} as asked (--quit-after); no message was sent"),
    )
    .with("phase", phase)
}

/// `--drop-after STEP`: a stop says the connection was closed without QUIT, and the
/// result object says so too; any other outcome reads as it would have.
pub fn dropped(mut summary: Summary, step: &str) -> Summary {
    if summary.status == Status::Stopped {
        summary.message = format!(
            "after {step} as asked (--drop-after): the connection was closed without QUIT; no message was sent"
        );
    }
    summary.with("dropped", true)
}

pub fn rejected(phase: Phase, reply: &Reply, recipients: &[RecipientResult]) -> Summary {
    let mut msg = format!("at {phase}: {} {}", reply.code, reply.lines.join(" "));
    if phase == Phase::Rcpt && recipients.len() > 1 {
        msg.push_str(&format!(" (all {} recipients refused)", recipients.len()));
    }
    if let Some(hint) = hint(reply) {
        msg.push_str(&format!(" ({hint})"));
    }
    Summary::new(Status::Rejected, ExitCode::for_reply(reply), msg)
        .with("phase", phase)
        .with("reply", reply_json(reply))
        .with("recipients", recipients_json(recipients))
}

/// What to change when a refusal names something the user can supply.
fn hint(reply: &Reply) -> Option<&'static str> {
    let status = reply
        .enhanced_status()
        .map(|s| (s.class, s.subject, s.detail));
    let text = reply.lines.join(" ").to_ascii_lowercase();
    // RFC 4954 §6: 530 5.7.0 "Authentication required".
    let auth_required =
        reply.code.value() == 530 || (matches!(status, Some((5, 7, 0))) && text.contains("auth"));
    auth_required.then_some("the server requires authentication: log in with --user")
}

pub fn failure(f: &Failure, recipients: &[RecipientResult]) -> Summary {
    let status = if f.is_unknown() {
        Status::Unknown
    } else {
        Status::Failed
    };
    let msg = format!("at {}: {}", f.phase, f.message);
    let mut summary = Summary::new(status, f.exit_code(), msg)
        .with("phase", f.phase)
        .with("failure", f.kind)
        .with("recipients", recipients_json(recipients));
    if let FailureKind::Dns { temporary } = f.kind {
        summary = summary.with("temporary", temporary);
    }
    summary
}

/// The exit code of several parts: 0 when every part is 0, otherwise the most severe.
pub fn worst_exit(codes: impl IntoIterator<Item = u8>) -> u8 {
    codes
        .into_iter()
        .filter(|&c| c != 0)
        .min_by_key(|&c| severity(c))
        .unwrap_or(0)
}

pub fn reply_json(reply: &Reply) -> serde_json::Value {
    serde_json::json!({
        "code": reply.code.value(),
        "enhanced": reply.enhanced_status().map(|s| s.to_string()),
        "text": reply.lines.join("\n"),
    })
}

pub fn recipients_json(recipients: &[RecipientResult]) -> serde_json::Value {
    recipients
        .iter()
        .map(|r| {
            let mut v = serde_json::json!({ "address": r.address, "accepted": r.accepted() });
            if let Some(reply) = &r.reply {
                v["reply"] = reply_json(reply);
            }
            // LMTP and PRDR: this recipient's own reply to the message.
            if let Some(reply) = &r.data_reply {
                v["data_reply"] = reply_json(reply);
            }
            v
        })
        .collect()
}

/// One summary for a message sent to several domains: accepted only if every part was;
/// the exit code of the worst part, permanent before temporary.
pub fn combine(parts: Vec<(String, Summary)>) -> Summary {
    let mut recipients = Vec::new();
    let mut accepted = 0;
    let mut lines = Vec::new();
    for (domain, part) in &parts {
        if let Some(serde_json::Value::Array(list)) = part.details.get("recipients") {
            accepted += list.iter().filter(|r| r["accepted"] == true).count();
            recipients.extend(list.iter().cloned());
        }
        lines.push(format!("{domain}: {} {}", part.status.word(), part.message));
    }
    let exit = worst_exit(parts.iter().map(|(_, p)| p.exit_code));
    let total = recipients.len();
    let all_stopped = parts.iter().all(|(_, p)| p.status == Status::Stopped);
    let status = if all_stopped {
        Status::Stopped
    } else if exit == 0 {
        Status::Accepted
    } else if accepted > 0 {
        Status::PartiallyAccepted
    } else if parts.iter().any(|(_, p)| p.status == Status::Unknown) {
        Status::Unknown
    } else if parts.iter().any(|(_, p)| p.status == Status::Rejected) {
        Status::Rejected
    } else {
        Status::Failed
    };
    let message = format!(
        "for {accepted} of {total} recipient{} ({})",
        plural(total),
        lines.join("; ")
    );
    let mut summary =
        Summary::new(status, ExitCode::Success, message).with("recipients", recipients);
    summary.exit_code = exit;
    summary.with(
        "domains",
        parts
            .iter()
            .map(|(d, p)| serde_json::json!({"domain": d, "status": p.status, "exit_code": p.exit_code, "message": p.message}))
            .collect::<Vec<_>>(),
    )
}

/// Which exit code a combined run reports: permanent outcomes first, then temporary ones.
pub fn severity(code: u8) -> u8 {
    match code {
        7 => 0,
        3 => 1,
        5 => 2,
        6 => 3,
        9 => 4,
        10 => 5,
        4 => 6,
        8 => 7,
        _ => 8,
    }
}
