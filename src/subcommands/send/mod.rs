//! `smtpx send`: one message, the whole conversation shown.

mod extensions;
mod validate;

use tokio::io::{AsyncRead, AsyncReadExt};

use super::plan::io_words;
use super::plan::{self, Run};
use super::tls_policy;
use crate::cli::{SendArgs, ServerArgs};
use crate::dns::Dns;
use crate::outcome::{Failure, FailureKind, Phase, RecipientResult};
use crate::render::Summary;
use crate::render::outcome as summary;
use crate::session::open::{OpenPlan, Opened, open};
use crate::session::transaction::{Envelope, TransactionEnd, is_closing};
use crate::session::{Channel, Event, Session, SessionContext};
use validate::{Content, SendPlan};

pub fn run(args: SendArgs) -> u8 {
    let (mut run, plan, runtime) = match plan::start(&args.output, || validate::validate(&args)) {
        Ok(started) => started,
        Err(code) => return code,
    };
    if args.print {
        for warning in &plan.warnings {
            crate::render::warning_line(warning);
        }
        return print(&plan.content);
    }
    if let Err(code) = run.keep(&args.keep) {
        return code;
    }
    let server = args.server.clone();
    let summary = runtime.block_on(async {
        let (mut ctx, watch) = run.context(&server, args.auth.show_secrets);
        before_sending(&mut ctx, &plan);
        Run::interruptible(deliver_all(ctx, &plan, &server), watch).await
    });
    let summary = match &plan.dkim {
        Some(signature) => summary.with("dkim", signature),
        None => summary,
    };
    // A read of stdin may still be blocked in the runtime's thread pool (after Ctrl-C,
    // say); waiting for it would hang the exit.
    runtime.shutdown_background();
    run.finish(&summary)
}

/// What validation found worth saying, and what DKIM signed, before any session.
fn before_sending(ctx: &mut SessionContext<'_>, plan: &SendPlan) {
    for message in &plan.warnings {
        ctx.emit(Event::Warning {
            message: message.clone(),
        });
    }
    if let Some(s) = &plan.dkim {
        ctx.emit(Event::Note {
            message: format!(
                "Signed with DKIM: d={} s={} a={} (h={})",
                s.domain,
                s.selector,
                s.algorithm,
                s.headers.join(":")
            ),
        });
    }
}

/// To `--server`, or to each recipient domain's MX hosts, one session per domain.
async fn deliver_all(ctx: SessionContext<'_>, plan: &SendPlan, server: &ServerArgs) -> Summary {
    if let Some(target) = &plan.target {
        return match plan::resolve_open(server, target, plan.open.clone()).await {
            Ok(open) => deliver(ctx, plan, &open, &plan.envelope).await.1,
            Err(f) => summary::failure(&f, &unanswered(&plan.envelope)),
        };
    }
    let dns =
        match plan::dns_config(server).and_then(|cfg| Dns::new(&cfg).map_err(|e| e.to_string())) {
            Ok(d) => d,
            Err(e) => return summary::failure(&Failure::input(e), &[]),
        };
    let port = server.port;
    let groups = by_domain(&plan.envelope);
    let mut ctx = ctx;
    let mut parts = Vec::with_capacity(groups.len());
    for (domain, envelope) in &groups {
        let part = match plan::route_open(&dns, domain, port, server, plan.open.clone()).await {
            Ok(mut open) => {
                if let Some(policy) = &plan.tls_policy {
                    let route = dns.mail_route(domain).await;
                    let hosts = tls_policy::host_policies(
                        &dns,
                        domain,
                        &route,
                        port,
                        policy.choice,
                        &policy.fetcher,
                    )
                    .await;
                    open.policies = Some(std::sync::Arc::new(hosts));
                }
                let (c, s) = deliver(ctx, plan, &open, envelope).await;
                ctx = c;
                s
            }
            Err(f) => summary::failure(&f, &unanswered(envelope)),
        };
        parts.push((domain.clone(), part));
    }
    if parts.len() == 1 {
        return parts
            .pop()
            .map(|(_, s)| s)
            .unwrap_or_else(|| summary::stopped(Phase::Input));
    }
    summary::combine(parts)
}

/// Recipients grouped by domain, in the order first seen.
fn by_domain(envelope: &Envelope) -> Vec<(String, Envelope)> {
    let mut groups: Vec<(String, Envelope)> = Vec::new();
    for (addr, params) in &envelope.recipients {
        let domain = addr.domain().as_str().to_ascii_lowercase();
        match groups.iter_mut().find(|(d, _)| *d == domain) {
            Some((_, e)) => e.recipients.push((addr.clone(), params.clone())),
            None => groups.push((
                domain,
                Envelope {
                    recipients: vec![(addr.clone(), params.clone())],
                    ..envelope.clone()
                },
            )),
        }
    }
    groups
}

fn unanswered(envelope: &Envelope) -> Vec<RecipientResult> {
    envelope
        .recipients
        .iter()
        .map(|(a, _)| RecipientResult::waiting(a.to_string()))
        .collect()
}

/// `--print`: the message as it would be sent, before dot-stuffing, so the output can
/// be reviewed or sent later with `--data`.
fn print(content: &Content) -> u8 {
    let Content::Composed { bytes, .. } = content else {
        return 2;
    };
    match crate::render::message::print(bytes) {
        Ok(()) => 0,
        Err(e) => {
            crate::render::error_line(&format!("printing the message failed: {e}"));
            1
        }
    }
}

/// One session: open, one transaction, QUIT. Gives the context back for the next one.
async fn deliver<'a>(
    ctx: SessionContext<'a>,
    plan: &SendPlan,
    open_plan: &OpenPlan,
    envelope: &Envelope,
) -> (SessionContext<'a>, Summary) {
    let (ctx, summary) = deliver_once(ctx, plan, open_plan, envelope).await;
    match plan.drop_after {
        Some(step) => (ctx, summary::dropped(summary, drop_step(step))),
        None => (ctx, summary),
    }
}

/// `--drop-after`'s name for a step.
fn drop_step(phase: Phase) -> &'static str {
    match phase {
        Phase::TlsHandshake => "tls",
        Phase::FinalDot => "dot",
        p => p.name(),
    }
}

/// QUIT; with `--drop-after`, a close without it, said in the transcript.
async fn end<'a>(mut session: Session<'a>, plan: &SendPlan) -> SessionContext<'a> {
    match plan.drop_after {
        Some(step) => {
            session.ctx.emit(Event::Note {
                message: format!(
                    "Closing the connection without QUIT (--drop-after {})",
                    drop_step(step)
                ),
            });
            session.abort().await
        }
        None => session.quit().await,
    }
}

async fn deliver_once<'a>(
    ctx: SessionContext<'a>,
    plan: &SendPlan,
    open_plan: &OpenPlan,
    envelope: &Envelope,
) -> (SessionContext<'a>, Summary) {
    let waiting = unanswered(envelope);
    let mut session = match open(ctx, open_plan).await {
        Opened::Ready(s) => s,
        Opened::Stopped(s, phase) => {
            let ctx = if phase == Phase::Connect && plan.drop_after.is_none() {
                s.abort().await
            } else {
                end(s, plan).await
            };
            return (ctx, summary::stopped(phase));
        }
        Opened::Refused(s, phase, reply) => {
            return (
                end(s, plan).await,
                summary::rejected(phase, &reply, &waiting),
            );
        }
        Opened::Declined(s, f) => return (end(s, plan).await, summary::failure(&f, &waiting)),
        Opened::Failed(ctx, f) => return (ctx, summary::failure(&f, &waiting)),
    };
    // --quit-after never sends a message: a step before MAIL that was not reached on
    // this server (validation refuses the ones that cannot be) stops here, not at DATA.
    if let Some(step) = plan.stop_after.filter(|&p| p < Phase::Mail) {
        let flag = if plan.drop_after.is_some() {
            "--drop-after"
        } else {
            "--quit-after"
        };
        let f = Failure::new(
            step,
            FailureKind::Input,
            format!("{flag} {step}: that step did not happen on this server; nothing was sent"),
        );
        return (end(session, plan).await, summary::failure(&f, &waiting));
    }
    session.show_data = plan.show_data;
    let caps = session.capabilities.clone().unwrap_or_default();
    let mut envelope = envelope.clone();
    let mut notes = Vec::new();
    let verified = session.channel() == Channel::Tls;
    let negotiated = extensions::negotiate(&mut envelope, plan, &caps, verified, &mut notes);
    for note in notes {
        session.ctx.emit(note);
    }
    let transfer = match negotiated {
        Ok(t) => t,
        Err(f) => return (end(session, plan).await, summary::failure(&f, &waiting)),
    };
    let report = match &plan.content {
        Content::Composed { bytes, .. } => {
            let mut reader: &[u8] = bytes;
            session.transaction(&envelope, &mut reader, &transfer).await
        }
        Content::File { path, .. } => match tokio::fs::File::open(path).await {
            Ok(mut f) => session.transaction(&envelope, &mut f, &transfer).await,
            Err(e) => {
                let f = Failure::input(format!("--data {}: {}", path.display(), io_words(&e)));
                return (end(session, plan).await, summary::failure(&f, &waiting));
            }
        },
        Content::Stdin { head } => {
            let mut stdin = head.as_slice().chain(tokio::io::stdin());
            let reader: &mut (dyn AsyncRead + Unpin + Send) = &mut stdin;
            session.transaction(&envelope, reader, &transfer).await
        }
    };
    // After a 421 the server is gone (RFC 5321 §3.8); after a protocol violation or a
    // failure mid-body, QUIT could be taken as message content: close instead.
    // A refusal while the content was still going leaves the server mid-message too.
    let closing = matches!(&report.end, TransactionEnd::Rejected { reply, phase }
        if is_closing(reply) || *phase == Phase::Body);
    let broken = matches!(
        &report.end,
        TransactionEnd::Failed(f) if !matches!(f.kind, FailureKind::Input) || f.phase == Phase::Body
    );
    let ctx = if closing || broken {
        session.abort().await
    } else {
        end(session, plan).await
    };
    (ctx, summary::transaction(report))
}
