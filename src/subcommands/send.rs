//! `smtpx send`: one message, the whole conversation shown.

use std::path::{Path, PathBuf};

use tokio::io::AsyncRead;

use super::plan::{self, Run};
use crate::cli::{QuitAfter, SendArgs};
use crate::message::{self, Composition, Header};
use crate::outcome::{
    ExitCode, Failure, FailureKind, Phase, RecipientResult, recipients_exit_code,
};
use crate::render::{Status, Summary, format_ms};
use crate::session::SessionContext;
use crate::session::open::{OpenPlan, Opened, open};
use crate::session::transaction::{Envelope, TransactionEnd, TransactionReport};
use crate::smtp::{Address, Param, ReversePath, SizeLimit};

const DEFAULT_BODY: &str = "This is a test message sent by smtpx.\n";

/// Where the message content comes from.
enum Content {
    /// A message composed from flags, already built.
    Composed(Vec<u8>),
    /// `--data FILE`: streamed as it is; its size is known.
    File(PathBuf, u64),
    /// `--data -`: streamed from stdin.
    Stdin,
}

/// Validated arguments: nothing here can put a bad byte on the wire.
struct SendPlan {
    open: OpenPlan,
    envelope: Envelope,
    content: Content,
    pipelining: bool,
    stop_after: Option<Phase>,
}

pub fn run(args: SendArgs) -> u8 {
    let mut run = Run::new(&args.output);
    let plan = match validate(&args) {
        Ok(p) => p,
        Err(msg) => return run.usage_error(&msg),
    };
    let runtime = match plan::runtime() {
        Ok(rt) => rt,
        Err(msg) => return run.usage_error(&msg),
    };
    let server = args.server.clone();
    let summary = runtime.block_on(async {
        let open = match plan::resolve_open(&server, plan.open.clone()).await {
            Ok(o) => o,
            Err(f) => return failure_summary(&f, &[]),
        };
        let plan = SendPlan { open, ..plan };
        let (ctx, watch) = run.context(&server);
        Run::interruptible(send(ctx, &plan), watch).await
    });
    run.finish(&summary)
}

fn validate(args: &SendArgs) -> Result<SendPlan, String> {
    let from = match &args.from {
        Some(f) => ReversePath::parse(f)
            .map_err(|e| format!("invalid --from '{}': {e}", f.escape_debug()))?,
        None => default_from()?,
    };
    let parse_all = |flag: &str, list: &[String]| -> Result<Vec<Address>, String> {
        list.iter()
            .map(|a| {
                Address::parse(a).map_err(|e| format!("invalid {flag} '{}': {e}", a.escape_debug()))
            })
            .collect()
    };
    let to = parse_all("--to", &args.to)?;
    let cc = parse_all("--cc", &args.cc)?;
    let bcc = parse_all("--bcc", &args.bcc)?;
    let headers = args
        .headers
        .iter()
        .map(|h| {
            Header::parse(h).map_err(|e| format!("invalid --header '{}': {e}", h.escape_debug()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(s) = &args.subject
        && s.chars().any(|c| c.is_control() && c != '\t')
    {
        return Err("invalid --subject: contains a control character (CR, LF, NUL, ...)".into());
    }
    let content = content(args, &from, &to, &cc, headers)?;
    let recipients = to
        .iter()
        .chain(&cc)
        .chain(&bcc)
        .map(|a| (a.clone(), Vec::new()))
        .collect();
    let stop_after = args.quit_after.map(|q| match q {
        QuitAfter::Connect => Phase::Connect,
        QuitAfter::Greeting => Phase::Greeting,
        QuitAfter::Ehlo => Phase::Ehlo,
        QuitAfter::Mail => Phase::Mail,
        QuitAfter::Rcpt => Phase::Rcpt,
        QuitAfter::Tls => Phase::TlsHandshake,
    });
    let open = plan::open_plan(&args.server, &args.tls, stop_after)?;
    Ok(SendPlan {
        open,
        envelope: Envelope {
            from,
            mail_params: Vec::new(),
            recipients,
        },
        content,
        pipelining: !args.no_pipelining,
        stop_after,
    })
}

/// `$USER@host`, as swaks and mail(1) do.
fn default_from() -> Result<ReversePath, String> {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "smtpx".into());
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    ReversePath::parse(&format!("{user}@{host}"))
        .or_else(|_| ReversePath::parse("smtpx@localhost"))
        .map_err(|e| format!("cannot make a default --from: {e}"))
}

fn content(
    args: &SendArgs,
    from: &ReversePath,
    to: &[Address],
    cc: &[Address],
    headers: Vec<Header>,
) -> Result<Content, String> {
    if let Some(path) = &args.data {
        if path == Path::new("-") {
            return Ok(Content::Stdin);
        }
        let size = check_input_file(path, "--data")?;
        return Ok(Content::File(path.clone(), size));
    }
    let body = match (&args.body, &args.body_file) {
        (Some(b), _) => b.clone(),
        (None, Some(path)) => read_text(path)?,
        (None, None) => DEFAULT_BODY.to_string(),
    };
    Ok(Content::Composed(message::compose(&Composition {
        from: from.address().cloned(),
        to: to.to_vec(),
        cc: cc.to_vec(),
        subject: args.subject.clone(),
        headers,
        body,
    })))
}

/// Refuses what cannot be read as a message before anything is sent: missing or
/// unreadable files, directories and devices (reading `/dev/zero` would never end).
fn check_input_file(path: &Path, flag: &str) -> Result<u64, String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("{flag} {shown}: {}", io_words(&e)))?;
    if meta.is_dir() {
        return Err(format!("{flag} {shown}: is a directory"));
    }
    if !meta.is_file() {
        return Err(format!(
            "{flag} {shown}: not a regular file (use '-' to read from stdin)"
        ));
    }
    std::fs::File::open(path).map_err(|e| format!("{flag} {shown}: {}", io_words(&e)))?;
    Ok(meta.len())
}

fn read_text(path: &Path) -> Result<String, String> {
    let bytes = if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
            .map_err(|e| format!("--body-file -: reading stdin failed: {e}"))?;
        buf
    } else {
        check_input_file(path, "--body-file")?;
        std::fs::read(path)
            .map_err(|e| format!("--body-file {}: {}", path.display(), io_words(&e)))?
    };
    String::from_utf8(bytes).map_err(|_| {
        format!(
            "--body-file {}: not UTF-8 text (send a prepared message as it is with --data)",
            path.display()
        )
    })
}

fn io_words(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

async fn send(ctx: SessionContext<'_>, plan: &SendPlan) -> Summary {
    let started = ctx.started;
    let mut session = match open(ctx, &plan.open).await {
        Opened::Ready(s) => s,
        Opened::Stopped(s, phase) => {
            if phase == Phase::Connect {
                s.abort().await;
            } else {
                s.quit().await;
            }
            return stopped_summary(phase);
        }
        Opened::Refused(s, phase, reply) => {
            s.quit().await;
            return rejected_summary(phase, &reply, &[]);
        }
        Opened::Declined(s, f) => {
            s.quit().await;
            return failure_summary(&f, &[]);
        }
        Opened::Failed(_, f) => return failure_summary(&f, &[]),
    };
    let caps = session.capabilities.clone().unwrap_or_default();
    let mut envelope = plan.envelope.clone();
    if let Err(f) = extension_params(&mut envelope, &plan.content, &caps) {
        session.quit().await;
        return failure_summary(&f, &[]);
    }
    let pipelining = plan.pipelining && caps.pipelining();
    let report = match &plan.content {
        Content::Composed(bytes) => {
            let mut reader: &[u8] = bytes;
            session
                .transaction(&envelope, &mut reader, pipelining, plan.stop_after)
                .await
        }
        Content::File(path, _) => match tokio::fs::File::open(path).await {
            Ok(mut f) => {
                session
                    .transaction(&envelope, &mut f, pipelining, plan.stop_after)
                    .await
            }
            Err(e) => {
                session.quit().await;
                let f = Failure::input(format!("--data {}: {}", path.display(), io_words(&e)));
                return failure_summary(&f, &[]);
            }
        },
        Content::Stdin => {
            let mut stdin = tokio::io::stdin();
            let reader: &mut (dyn AsyncRead + Unpin + Send) = &mut stdin;
            session
                .transaction(&envelope, reader, pipelining, plan.stop_after)
                .await
        }
    };
    let protocol_broken = matches!(
        &report.end,
        TransactionEnd::Failed(f) if !matches!(f.kind, FailureKind::Input) || f.phase == Phase::Body
    );
    if protocol_broken {
        session.abort().await;
    } else {
        session.quit().await;
    }
    transaction_summary(report, started.elapsed())
}

/// ESMTP parameters the message needs: SIZE when known and offered (RFC 1870), SMTPUTF8
/// when an address needs it (RFC 6531) — and refusals when the server cannot take them.
fn extension_params(
    envelope: &mut Envelope,
    content: &Content,
    caps: &crate::smtp::Capabilities,
) -> Result<(), Failure> {
    let size = match content {
        Content::Composed(b) => Some(b.len() as u64),
        Content::File(_, n) => Some(*n),
        Content::Stdin => None,
    };
    if let (Some(size), Some(limit)) = (size, caps.size()) {
        if let SizeLimit::Bytes(max) = limit
            && size > max
        {
            return Err(Failure::new(
                Phase::Mail,
                FailureKind::Input,
                format!(
                    "the message is {size} bytes; the server accepts at most {max} (SIZE {max})"
                ),
            ));
        }
        envelope
            .mail_params
            .push(Param::new("SIZE", Some(size.to_string())));
    }
    let needs_utf8 = envelope
        .from
        .address()
        .into_iter()
        .chain(envelope.recipients.iter().map(|(a, _)| a))
        .find(|a| a.needs_smtputf8());
    if let Some(addr) = needs_utf8 {
        if !caps.smtputf8() {
            return Err(Failure::input(format!(
                "address '{addr}' is not ASCII and the server does not offer SMTPUTF8"
            )));
        }
        envelope.mail_params.push(Param::new("SMTPUTF8", None));
    }
    Ok(())
}

fn transaction_summary(report: TransactionReport, elapsed: std::time::Duration) -> Summary {
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
                .map(|r| match &r.reply {
                    Some(reply) => {
                        format!("{} ({} {})", r.address, reply.code, reply.lines.join(" "))
                    }
                    None => r.address.clone(),
                })
                .collect();
            if !refused.is_empty() {
                msg.push_str(&format!("; refused: {}", refused.join(", ")));
            }
            msg.push_str(&format!(" in {}", format_ms(elapsed)));
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
            stopped_summary(after).with("recipients", recipients_json(&recipients))
        }
        TransactionEnd::Rejected { phase, reply } => rejected_summary(phase, &reply, &recipients),
        TransactionEnd::Failed(f) => failure_summary(&f, &recipients),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn stopped_summary(phase: Phase) -> Summary {
    Summary::new(
        Status::Stopped,
        ExitCode::Success,
        format!("after {phase} as asked (--quit-after); no message was sent"),
    )
    .with("phase", phase)
}

fn rejected_summary(
    phase: Phase,
    reply: &crate::smtp::Reply,
    recipients: &[RecipientResult],
) -> Summary {
    let mut msg = format!("at {phase}: {} {}", reply.code, reply.lines.join(" "));
    if phase == Phase::Rcpt && recipients.len() > 1 {
        msg.push_str(&format!(" (all {} recipients refused)", recipients.len()));
    }
    Summary::new(Status::Rejected, ExitCode::for_reply(reply), msg)
        .with("phase", phase)
        .with("reply", reply_json(reply))
        .with("recipients", recipients_json(recipients))
}

pub fn failure_summary(f: &Failure, recipients: &[RecipientResult]) -> Summary {
    let status = if f.is_unknown() {
        Status::Unknown
    } else {
        Status::Failed
    };
    let msg = format!("at {}: {}", f.phase, f.message);
    Summary::new(status, f.exit_code(), msg)
        .with("phase", f.phase)
        .with("failure", f.kind)
        .with("recipients", recipients_json(recipients))
}

fn reply_json(reply: &crate::smtp::Reply) -> serde_json::Value {
    serde_json::json!({
        "code": reply.code.value(),
        "enhanced": reply.enhanced_status().map(|s| s.to_string()),
        "text": reply.lines.join("\n"),
    })
}

fn recipients_json(recipients: &[RecipientResult]) -> serde_json::Value {
    recipients
        .iter()
        .map(|r| {
            let mut v = serde_json::json!({ "address": r.address, "accepted": r.accepted() });
            if let Some(reply) = &r.reply {
                v["reply"] = reply_json(reply);
            }
            v
        })
        .collect()
}
