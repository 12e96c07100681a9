//! `smtpx send`: one message, the whole conversation shown.

use std::path::{Path, PathBuf};

use tokio::io::AsyncRead;

use super::plan::{self, Run};
use crate::cli::{QuitAfter, SendArgs, ServerArgs};
use crate::dns::Dns;
use crate::message::{self, Composition, Header};
use crate::net::target::Target;
use crate::outcome::{Failure, FailureKind, Phase, RecipientResult};
use crate::render::Summary;
use crate::render::outcome as summary;
use crate::session::SessionContext;
use crate::session::open::{OpenPlan, Opened, open};
use crate::session::transaction::{Envelope, TransactionEnd};
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
    /// `--server`, or None to route by MX.
    target: Option<Target>,
    /// The template every session opens from (EHLO name, TLS, --quit-after).
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
        let (ctx, watch) = run.context(&server, args.auth.show_secrets);
        Run::interruptible(deliver_all(ctx, &plan, &server), watch).await
    });
    // A read of stdin may still be blocked in the runtime's thread pool (after Ctrl-C,
    // say); waiting for it would hang the exit.
    runtime.shutdown_background();
    run.finish(&summary)
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
            Ok(open) => {
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
        .map(|(a, _)| RecipientResult {
            address: a.to_string(),
            reply: None,
        })
        .collect()
}

fn validate(args: &SendArgs) -> Result<SendPlan, String> {
    let from = match &args.from {
        Some(f) => ReversePath::parse(f)
            .map_err(|e| format!("invalid --from '{}': {e}", f.escape_debug()))?,
        None => plan::default_from()?,
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
        QuitAfter::Auth => Phase::Auth,
    });
    let open = plan::open_plan(&args.server, &args.tls, &args.auth, stop_after)?;
    let target = plan::target(&args.server)?;
    let domains: std::collections::HashSet<String> = to
        .iter()
        .chain(&cc)
        .chain(&bcc)
        .map(|a| a.domain().as_str().to_ascii_lowercase())
        .collect();
    if target.is_none() && domains.len() > 1 && matches!(content, Content::Stdin) {
        return Err("--data - cannot be sent to several recipient domains (stdin can be read once): use --server, or --data FILE".into());
    }
    Ok(SendPlan {
        target,
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

/// One session: open, one transaction, QUIT. Gives the context back for the next one.
async fn deliver<'a>(
    ctx: SessionContext<'a>,
    plan: &SendPlan,
    open_plan: &OpenPlan,
    envelope: &Envelope,
) -> (SessionContext<'a>, Summary) {
    let waiting = unanswered(envelope);
    let mut session = match open(ctx, open_plan).await {
        Opened::Ready(s) => s,
        Opened::Stopped(s, phase) => {
            let ctx = if phase == Phase::Connect {
                s.abort().await
            } else {
                s.quit().await
            };
            return (ctx, summary::stopped(phase));
        }
        Opened::Refused(s, phase, reply) => {
            return (s.quit().await, summary::rejected(phase, &reply, &waiting));
        }
        Opened::Declined(s, f) => return (s.quit().await, summary::failure(&f, &waiting)),
        Opened::Failed(ctx, f) => return (ctx, summary::failure(&f, &waiting)),
    };
    let caps = session.capabilities.clone().unwrap_or_default();
    let mut envelope = envelope.clone();
    if let Err(f) = extension_params(&mut envelope, &plan.content, &caps) {
        return (session.quit().await, summary::failure(&f, &waiting));
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
                let f = Failure::input(format!("--data {}: {}", path.display(), io_words(&e)));
                return (session.quit().await, summary::failure(&f, &waiting));
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
    // After any failure inside the transaction the connection is out of step (a
    // half-sent body, an unanswered command): close it rather than QUIT into it.
    let protocol_broken = matches!(&report.end, TransactionEnd::Failed(_));
    let ctx = if protocol_broken {
        session.abort().await
    } else {
        session.quit().await
    };
    (ctx, summary::transaction(report))
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
