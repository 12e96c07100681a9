//! `smtpx send` arguments → a validated plan: addresses parsed (IDN domains as A-labels),
//! the message composed or its file scanned, before any byte goes on the wire.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::super::plan::{self, io_words};
use super::super::tls_policy::{self, PolicyPlan};
use crate::cli::{
    AttachArg, DropAfter, DsnNotify, DsnRet, MAX_MESSAGE_BYTES, Protocol, QuitAfter, SendArgs,
};
use crate::message::dkim::{self, DkimKey};
use crate::message::{self, Attachment, Composition, Header, Mailbox};
use crate::net::target::Target;
use crate::outcome::Phase;
use crate::session::open::{OpenPlan, TlsMode as OpenTls};
use crate::session::transaction::Envelope;
use crate::smtp::forward::{Attribute, Forwarding};
use crate::smtp::{Address, BodyReport, BodyScanner, DsnRequest, Notify, Ret, ReversePath};

const DEFAULT_BODY: &str = "This is a test message sent by smtpx.\n";

/// Where the message content comes from.
pub(super) enum Content {
    /// A message composed from flags, or one signed with DKIM, in memory.
    Composed { bytes: Vec<u8>, report: BodyReport },
    /// `--data FILE`: streamed as it is; its size and 8-bit needs are known.
    File {
        path: PathBuf,
        size: u64,
        report: BodyReport,
    },
    /// `--data -`: streamed from stdin, unknown until it is sent but for `head`, its
    /// first read, taken before connecting so that an empty stdin is never sent.
    Stdin { head: Vec<u8> },
}

impl Content {
    /// RFC 1870: the size to declare, when it is known before sending.
    pub(super) fn size(&self) -> Option<u64> {
        match self {
            Content::Composed { bytes, .. } => Some(bytes.len() as u64),
            Content::File { size, .. } => Some(*size),
            Content::Stdin { .. } => None,
        }
    }

    /// What a scan ahead found; None for stdin.
    pub(super) fn report(&self) -> Option<&BodyReport> {
        match self {
            Content::Composed { report, .. } | Content::File { report, .. } => Some(report),
            Content::Stdin { .. } => None,
        }
    }
}

/// Validated arguments: nothing here can put a bad byte on the wire.
pub(super) struct SendPlan {
    /// `--server`, or None to route by MX.
    pub target: Option<Target>,
    /// The template every session opens from (EHLO name, TLS, --quit-after).
    pub open: OpenPlan,
    pub envelope: Envelope,
    pub content: Content,
    pub pipelining: bool,
    pub chunking: bool,
    pub dsn: DsnRequest,
    /// `--quit-after`, or a `--drop-after` step before the end of the message.
    pub stop_after: Option<Phase>,
    /// `--drop-after`: its step (FinalDot for `dot`); the session never sends QUIT.
    pub drop_after: Option<Phase>,
    /// `--show-data`.
    pub show_data: bool,
    /// `--prdr`: per-recipient replies when the server offers PRDR.
    pub prdr: bool,
    /// `--requiretls` (RFC 8689).
    pub requiretls: bool,
    /// `--tls-policy` when routing by MX.
    pub tls_policy: Option<PolicyPlan>,
    /// `--dkim-key`: what the signature covers, for the transcript and `--json`.
    pub dkim: Option<dkim::Signature>,
    /// Found while validating, not worth stopping for (a key file others can read).
    pub warnings: Vec<String>,
}

pub(super) fn validate(args: &SendArgs) -> Result<SendPlan, String> {
    let from = match args.from.as_deref() {
        Some(f @ ("" | "<>")) => (ReversePath::parse(f).map_err(|e| e.to_string())?, None),
        Some(f) => {
            let mailbox = mailbox("--from", f)?;
            (ReversePath::Mailbox(mailbox.address.clone()), Some(mailbox))
        }
        None => {
            let path = plan::default_from()?;
            let mailbox = path.address().cloned().map(Mailbox::from);
            (path, mailbox)
        }
    };
    let parse_all = |flag: &str, list: &[String]| -> Result<Vec<Mailbox>, String> {
        list.iter()
            .flat_map(|a| Mailbox::split_list(a))
            .map(|a| mailbox(flag, a))
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
    let added_headers = args
        .add_headers
        .iter()
        .map(|h| {
            Header::parse(h)
                .map_err(|e| format!("invalid --add-header '{}': {e}", h.escape_debug()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(s) = &args.subject
        && s.chars().any(|c| c.is_control() && c != '\t')
    {
        return Err("invalid --subject: contains a control character (CR, LF, NUL, ...)".into());
    }
    let dsn = dsn(args)?;
    let composition = Composition {
        from: from.1,
        to: to.clone(),
        cc: cc.clone(),
        subject: args.subject.clone(),
        headers,
        added_headers,
        ..Default::default()
    };
    if args.print && args.data.is_some() && args.dkim_key.is_none() {
        return Err("--print with --data: the file is sent as it is, so there is nothing to print (--print shows a composed message, or with --dkim-key the signed one)".into());
    }
    let mut warnings = Vec::new();
    let signer = signer(args, &mut warnings)?;
    let mut content = content(args, composition)?;
    let dkim = match signer {
        Some(signer) => {
            let (signed, about) = signer.sign(content)?;
            content = signed;
            Some(about)
        }
        None => None,
    };
    let all: Vec<Address> = to
        .iter()
        .chain(&cc)
        .chain(&bcc)
        .map(|m| m.address.clone())
        .collect();
    let quit_after = args.quit_after.map(|q| match q {
        QuitAfter::Connect => Phase::Connect,
        QuitAfter::Greeting => Phase::Greeting,
        QuitAfter::Ehlo => Phase::Ehlo,
        QuitAfter::Mail => Phase::Mail,
        QuitAfter::Rcpt => Phase::Rcpt,
        QuitAfter::Tls => Phase::TlsHandshake,
        QuitAfter::Auth => Phase::Auth,
    });
    let drop_after = args.drop_after.map(|d| match d {
        DropAfter::Connect => Phase::Connect,
        DropAfter::Greeting => Phase::Greeting,
        DropAfter::Ehlo => Phase::Ehlo,
        DropAfter::Tls => Phase::TlsHandshake,
        DropAfter::Auth => Phase::Auth,
        DropAfter::Mail => Phase::Mail,
        DropAfter::Rcpt => Phase::Rcpt,
        DropAfter::Data => Phase::Data,
        DropAfter::Dot => Phase::FinalDot,
    });
    // `--drop-after dot` sends the whole message; the session stops early otherwise.
    let stop_after = quit_after.or(drop_after.filter(|&p| p != Phase::FinalDot));
    let mut open = plan::open_plan(&args.server, &args.tls, &args.auth, stop_after)?;
    let target = plan::target(&args.server)?;
    open.lmtp = args.protocol == Protocol::Lmtp;
    if open.lmtp {
        let local = args.server.transport.socket.is_some() || args.server.transport.pipe.is_some();
        lmtp_can_happen(args, target.as_ref().map(|t| t.port), local)?;
    }
    if args.requiretls && open.tls_mode == OpenTls::Off {
        return Err(
            "--requiretls with --tls none: REQUIRETLS (RFC 8689) is sent only over TLS".into(),
        );
    }
    let tls_policy =
        tls_policy::plan(&args.tls_policy, &args.tls, open.tls_mode, target.is_none())?;
    open.xclient = attributes(Forwarding::Xclient, &args.xclient)?;
    open.xforward = attributes(Forwarding::Xforward, &args.xforward)?;
    let flag = if drop_after.is_some() {
        "--drop-after"
    } else {
        "--quit-after"
    };
    quit_after_can_happen(flag, stop_after, &open, all.is_empty(), target.is_some())?;
    let domains: std::collections::HashSet<String> = all
        .iter()
        .map(|a| a.domain().as_str().to_ascii_lowercase())
        .collect();
    if target.is_none() && domains.len() > 1 && matches!(content, Content::Stdin { .. }) {
        return Err("--data - cannot be sent to several recipient domains (stdin can be read once): use --server, or --data FILE".into());
    }
    Ok(SendPlan {
        target,
        open,
        envelope: Envelope {
            from: from.0,
            mail_params: Vec::new(),
            recipients: all.into_iter().map(|a| (a, Vec::new())).collect(),
        },
        content,
        pipelining: !args.no_pipelining,
        chunking: args.chunking,
        dsn,
        stop_after,
        drop_after,
        show_data: args.show_data,
        prdr: args.prdr,
        requiretls: args.requiretls,
        tls_policy,
        dkim,
        warnings,
    })
}

/// `--dkim-key`, `--dkim-selector` and `--dkim-domain`, checked before any content is read.
struct Signer {
    key: DkimKey,
    selector: String,
    domain: Option<String>,
}

/// A key file is small: anything larger is the wrong file.
const MAX_KEY_FILE: u64 = 64 * 1024;

fn signer(args: &SendArgs, warnings: &mut Vec<String>) -> Result<Option<Signer>, String> {
    let (Some(path), Some(selector)) = (&args.dkim_key, &args.dkim_selector) else {
        return Ok(None);
    };
    let shown = path.display();
    let size = check_input_file(path, "--dkim-key")?;
    if size > MAX_KEY_FILE {
        return Err(format!(
            "--dkim-key {shown}: larger than {MAX_KEY_FILE} bytes, not a key file"
        ));
    }
    // Like ssh, smtpx looks at who else can read a private key; unlike ssh it only warns,
    // since the key signs test mail and stopping would not make it secret again.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map(|m| m.permissions().mode())
            .unwrap_or(0);
        if mode & 0o077 != 0 {
            warnings.push(format!(
                "--dkim-key {shown}: the private key can be read by others (mode {:04o}); chmod 600 it",
                mode & 0o7777
            ));
        }
    }
    let pem = std::fs::read(path).map_err(|e| format!("--dkim-key {shown}: {}", io_words(&e)))?;
    let key = DkimKey::from_pem(&pem).map_err(|e| format!("--dkim-key {shown}: {e}"))?;
    let selector = dkim::dns_name("--dkim-selector", selector)?;
    let domain = args
        .dkim_domain
        .as_deref()
        .map(|d| dkim::dns_name("--dkim-domain", d))
        .transpose()?;
    Ok(Some(Signer {
        key,
        selector,
        domain,
    }))
}

impl Signer {
    /// The whole message in memory, signed: a `--data` file or stdin is read to its end
    /// first (RFC 6376 signs a hash of the whole body), at most [`MAX_MESSAGE_BYTES`].
    fn sign(self, content: Content) -> Result<(Content, dkim::Signature), String> {
        let too_big = |what: &str| {
            format!(
                "{what}: larger than {MAX_MESSAGE_BYTES} bytes, the most smtpx reads into memory to sign"
            )
        };
        let bytes = match content {
            Content::Composed { bytes, .. } => bytes,
            Content::File { path, size, .. } => {
                let shown = format!("--data {}", path.display());
                if size > MAX_MESSAGE_BYTES {
                    return Err(too_big(&shown));
                }
                let mut bytes = Vec::with_capacity(size as usize);
                std::fs::File::open(&path)
                    .and_then(|f| f.take(MAX_MESSAGE_BYTES + 1).read_to_end(&mut bytes))
                    .map_err(|e| format!("{shown}: {}", io_words(&e)))?;
                if bytes.len() as u64 > MAX_MESSAGE_BYTES {
                    return Err(too_big(&shown));
                }
                bytes
            }
            Content::Stdin { mut head } => {
                let limit = (MAX_MESSAGE_BYTES + 1).saturating_sub(head.len() as u64);
                std::io::stdin()
                    .lock()
                    .take(limit)
                    .read_to_end(&mut head)
                    .map_err(|e| format!("--data -: reading stdin failed: {}", io_words(&e)))?;
                if head.len() as u64 > MAX_MESSAGE_BYTES {
                    return Err(too_big("--data -"));
                }
                head
            }
        };
        let signed = self
            .key
            .sign(&bytes, &self.selector, self.domain.as_deref())
            .map_err(|e| format!("cannot sign with DKIM: {e}"))?;
        let report = BodyScanner::scan(&signed.message);
        Ok((
            Content::Composed {
                bytes: signed.message,
                report,
            },
            signed.about,
        ))
    }
}

/// LMTP goes to one server the user names, on a port of its own: it is never routed by
/// MX, and RFC 2033 §5 keeps it off port 25. PRDR is an SMTP answer to what LMTP does
/// anyway. A Unix socket or a process (where LMTP servers usually listen) needs no port.
fn lmtp_can_happen(args: &SendArgs, port: Option<u16>, local: bool) -> Result<(), String> {
    if args.prdr {
        return Err("--prdr with --protocol lmtp: LMTP already answers per recipient".into());
    }
    if local {
        return Ok(());
    }
    match port {
        None => Err("--protocol lmtp needs --server, --socket or --pipe: LMTP is spoken to one server, never routed by MX".into()),
        Some(25) => Err("--protocol lmtp needs a port other than 25 (RFC 2033 §5; LMTP has no standard port): give --server HOST:PORT or --port".into()),
        Some(_) => Ok(()),
    }
}

/// `--xclient` / `--xforward` values, checked now (names, xtext length).
fn attributes(kind: Forwarding, values: &[String]) -> Result<Vec<Attribute>, String> {
    values.iter().map(|v| Attribute::parse(kind, v)).collect()
}

/// `--quit-after STEP` (and `--drop-after STEP`, `flag`) promises that no message is
/// sent and that the session stops at STEP: a step that cannot happen is refused before
/// connecting, naming why, and a recipient is needed only when the session goes as far
/// as RCPT.
fn quit_after_can_happen(
    flag: &str,
    stop_after: Option<Phase>,
    open: &OpenPlan,
    no_recipient: bool,
    has_server: bool,
) -> Result<(), String> {
    match stop_after {
        Some(Phase::Auth) if open.auth.is_none() => {
            return Err(format!(
                "{flag} auth needs --user: without credentials there is no AUTH step to stop after"
            ));
        }
        Some(Phase::TlsHandshake) if open.tls_mode == OpenTls::Off => {
            return Err(format!(
                "{flag} tls with --tls none: no TLS handshake would happen (use --tls starttls, implicit or opportunistic)"
            ));
        }
        _ => {}
    }
    if no_recipient {
        if stop_after.is_none_or(|p| p >= Phase::Rcpt) {
            return Err(format!(
                "--to is required: name at least one recipient (only {flag} connect, greeting, ehlo, tls, auth or mail go without one)"
            ));
        }
        if !has_server {
            return Err("--server is required without --to: there is no recipient domain to look up MX hosts for".into());
        }
    }
    Ok(())
}

/// `ADDRESS` or `Name <ADDRESS>`, with an IDN domain turned into A-labels.
fn mailbox(flag: &str, s: &str) -> Result<Mailbox, String> {
    let bad = |e: String| format!("invalid {flag} '{}': {e}", s.escape_debug());
    // Checked on the whole value first: a line break is an injection attempt on the
    // address, whichever part of `Name <addr>` it landed in.
    if let Some(c) = s.chars().find(|c| c.is_control()) {
        let which = match c {
            '\r' | '\n' => "CR/LF",
            '\0' => "NUL",
            _ => "not printable",
        };
        return Err(bad(format!(
            "the address contains a control character ({which})"
        )));
    }
    let (name, text) = Mailbox::split(s).map_err(bad)?;
    let address = Address::parse(text)
        .and_then(|a| a.with_ascii_domain())
        .map_err(|e| bad(e.to_string()))?;
    Ok(Mailbox { name, address })
}

fn dsn(args: &SendArgs) -> Result<DsnRequest, String> {
    let notify: Vec<Notify> = args
        .dsn_notify
        .iter()
        .map(|n| match n {
            DsnNotify::Never => Notify::Never,
            DsnNotify::Success => Notify::Success,
            DsnNotify::Failure => Notify::Failure,
            DsnNotify::Delay => Notify::Delay,
        })
        .collect();
    let ret = args.dsn_ret.map(|r| match r {
        DsnRet::Full => Ret::Full,
        DsnRet::Hdrs => Ret::Hdrs,
    });
    DsnRequest::new(&notify, ret, args.dsn_envid.as_deref()).map_err(|e| {
        let flag = if args.dsn_envid.is_some() && !e.contains("NEVER") {
            "--dsn-envid"
        } else {
            "--dsn-notify"
        };
        format!("invalid {flag}: {e}")
    })
}

fn content(args: &SendArgs, mut c: Composition) -> Result<Content, String> {
    if let Some(path) = &args.data {
        if path == Path::new("-") {
            let head = read_ahead()?;
            if head.is_empty() && !args.allow_empty {
                return Err(EMPTY.replace("FILE", "-"));
            }
            return Ok(Content::Stdin { head });
        }
        let size = check_input_file(path, "--data")?;
        if size == 0 && !args.allow_empty {
            return Err(EMPTY.replace("FILE", &path.display().to_string()));
        }
        let report = scan_file(path)?;
        return Ok(Content::File {
            path: path.clone(),
            size,
            report,
        });
    }
    let stdin = Some(Path::new("-"));
    if args.body_file.as_deref() == stdin && args.html_file.as_deref() == stdin {
        return Err("--body-file - and --html-file - cannot both read stdin".into());
    }
    c.text = match (&args.body, &args.body_file) {
        (Some(b), _) => Some(b.clone()),
        (None, Some(path)) => Some(read_text(path, "--body-file")?),
        // HTML alone needs no text part; a message with neither gets a line saying what it is.
        (None, None) if args.html.is_some() || args.html_file.is_some() => None,
        (None, None) => Some(DEFAULT_BODY.to_string()),
    };
    c.html = match (&args.html, &args.html_file) {
        (Some(h), _) => Some(h.clone()),
        (None, Some(path)) => Some(read_text(path, "--html-file")?),
        (None, None) => None,
    };
    c.attachments = attachments(args)?;
    let bytes = message::compose(&c);
    let report = BodyScanner::scan(&bytes);
    Ok(Content::Composed { bytes, report })
}

/// An empty message is almost always a mistake (a failed pipeline, a wrong file):
/// refused unless asked for.
const EMPTY: &str =
    "--data FILE: the message is empty; nothing was sent (--allow-empty sends it anyway)";

/// How much of stdin is read before connecting.
const READ_AHEAD: usize = 64 * 1024;

/// The first read of stdin: empty only when stdin is at its end. Larger than std's own
/// buffer, so the read bypasses it and nothing is left behind for the async reader.
fn read_ahead() -> Result<Vec<u8>, String> {
    let mut head = vec![0u8; READ_AHEAD];
    let mut stdin = std::io::stdin().lock();
    loop {
        match stdin.read(&mut head) {
            Ok(n) => {
                head.truncate(n);
                return Ok(head);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("--data -: reading stdin failed: {}", io_words(&e))),
        }
    }
}

/// The attachments, with swaks' rules for `--attach-name` (the next `--attach` only)
/// and `--attach-type` (every `--attach` after it). A name or type that nothing follows
/// is refused: it would silently do nothing.
fn attachments(args: &SendArgs) -> Result<Vec<Attachment>, String> {
    let fallback: Vec<AttachArg>;
    let order = if args.attach_order.is_empty() {
        fallback = args.attach.iter().cloned().map(AttachArg::File).collect();
        &fallback
    } else {
        &args.attach_order
    };
    let mut name: Option<String> = None;
    let mut content_type: Option<String> = None;
    let mut type_used = true;
    let mut out = Vec::new();
    for item in order {
        match item {
            AttachArg::Name(n) => {
                if let Some(previous) = name.replace(n.clone()) {
                    return Err(format!(
                        "--attach-name '{}' is followed by another --attach-name before any --attach: each names the next --attach",
                        previous.escape_debug()
                    ));
                }
                message::attachment_name(n)
                    .map_err(|e| format!("invalid --attach-name '{}': {e}", n.escape_debug()))?;
            }
            AttachArg::Type(t) => {
                let t =
                    message::content_type(t).map_err(|e| format!("invalid --attach-type: {e}"))?;
                content_type = Some(t);
                type_used = false;
            }
            AttachArg::File(path) => {
                let mut a = attachment(path)?;
                // A type follows the name the attachment goes by, unless one was given.
                if let Some(n) = name.take() {
                    if !n.is_empty() {
                        a.content_type = message::guess_type(&n);
                    }
                    a.filename = (!n.is_empty()).then_some(n);
                }
                if let Some(t) = &content_type {
                    a.content_type = t.clone();
                    type_used = true;
                }
                out.push(a);
            }
        }
    }
    if let Some(n) = name {
        return Err(format!(
            "--attach-name '{}' names the --attach that follows it, and none does",
            n.escape_debug()
        ));
    }
    if !type_used {
        return Err(
            "--attach-type applies to the --attach options that follow it, and none does".into(),
        );
    }
    Ok(out)
}

fn attachment(path: &Path) -> Result<Attachment, String> {
    check_input_file(path, "--attach")?;
    let bytes = std::fs::read(path)
        .map_err(|e| format!("--attach {}: {}", path.display(), io_words(&e)))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "attachment".into());
    Ok(Attachment::new(&name, bytes))
}

/// One pass over the file before connecting, so the BODY= parameter (RFC 6152, RFC 3030)
/// is known up front; memory stays at one buffer whatever the size.
fn scan_file(path: &Path) -> Result<BodyReport, String> {
    let shown = path.display();
    let mut file =
        std::fs::File::open(path).map_err(|e| format!("--data {shown}: {}", io_words(&e)))?;
    let mut scanner = BodyScanner::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match file.read(&mut buf) {
            Ok(0) => return Ok(scanner.report()),
            Ok(n) => scanner.feed(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("--data {shown}: {}", io_words(&e))),
        }
    }
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

fn read_text(path: &Path, flag: &str) -> Result<String, String> {
    let bytes = if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| format!("{flag} -: reading stdin failed: {e}"))?;
        buf
    } else {
        check_input_file(path, flag)?;
        std::fs::read(path).map_err(|e| format!("{flag} {}: {}", path.display(), io_words(&e)))?
    };
    String::from_utf8(bytes).map_err(|_| {
        format!(
            "{flag} {}: not UTF-8 text (send a prepared message as it is with --data)",
            path.display()
        )
    })
}
