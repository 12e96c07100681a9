//! The console loop: reads the server continuously while waiting for the keyboard, so
//! unsolicited replies (a 421, a closed connection) show at once.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::time::Instant;

use super::typed::{self, ContentLine, LineKind, Slash, SmtpLine, Typed};
use super::{Outcome, SessionPlan, input_failure};
use crate::diagnosis::rules::meaning;
use crate::net::tls::Verification;
use crate::outcome::{Failure, FailureKind, Phase};
use crate::render::prompt::{Input, Keyboard};
use crate::secret::{self, SecretSource};
use crate::session::auth::AuthPlan;
use crate::session::open::{Hop, OpenPlan};
use crate::session::{Channel, Event, Session, SessionContext};
use crate::smtp::sasl::{Credentials, Mechanism};
use crate::smtp::{Capabilities, DataEncoder, Reply, status};

/// Waiting for the keyboard, the server may stay silent this long; its own idle timeout
/// (RFC 5321 §4.5.3.2.7: at least 5 minutes) will end the session first.
const IDLE: Duration = Duration::from_secs(7 * 24 * 3600);
const FILE_CHUNK: usize = 64 * 1024;

pub enum Next<'a> {
    /// `/reconnect`: the old session is closed; connect again with this context.
    Reconnect(SessionContext<'a>),
    Done(Outcome),
}

/// What a reply that is due answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Awaiting {
    Ehlo,
    Helo,
    StartTls,
    Data,
    FinalDot,
    AuthTyped,
    Quit,
    Other,
}

enum Mode {
    Commands,
    /// After DATA's 354: lines are message content.
    Content {
        encoder: DataEncoder,
        since: Instant,
    },
}

pub struct Console<'a, 'k> {
    session: Session<'a>,
    keyboard: &'k mut Keyboard,
    plan: &'k SessionPlan,
    open: &'k OpenPlan,
    credentials: &'k mut Option<Credentials>,
    mode: Mode,
    pending: VecDeque<(Awaiting, Phase)>,
    /// Lines taken from the keyboard to look for a pipelined group, not yet handled.
    queued: VecDeque<String>,
    /// The server answered a hand-typed AUTH with 334: the next line answers it.
    in_auth: bool,
    /// The phase of the last command, for messages about a lost connection.
    phase: Phase,
    /// RCPTs accepted since the last MAIL: in LMTP (after a typed LHLO) the final dot
    /// gets one reply for each (RFC 2033 §4.2).
    accepted: usize,
    outcome: Outcome,
}

/// What happened to one step of the loop.
enum Step {
    Go,
    Quit,
    Reconnect,
    Stop(Failure),
}

impl<'a, 'k> Console<'a, 'k> {
    pub fn new(
        session: Session<'a>,
        keyboard: &'k mut Keyboard,
        plan: &'k SessionPlan,
        open: &'k OpenPlan,
        credentials: &'k mut Option<Credentials>,
    ) -> Self {
        keyboard.set_words(words(None));
        Console {
            session,
            keyboard,
            plan,
            open,
            credentials,
            mode: Mode::Commands,
            pending: VecDeque::new(),
            queued: VecDeque::new(),
            in_auth: false,
            phase: Phase::Ehlo,
            accepted: 0,
            outcome: Outcome::default(),
        }
    }

    pub async fn run(mut self) -> Next<'a> {
        if self.keyboard.is_terminal() {
            self.note(
                "Type SMTP commands; /help lists smtpx's own; Ctrl-D or /quit ends with QUIT",
            );
        }
        loop {
            let step = self.step().await;
            match step {
                Step::Go => {}
                Step::Quit => {
                    self.session.abort().await;
                    return Next::Done(self.outcome);
                }
                Step::Reconnect => {
                    let ctx = self.session.quit().await;
                    return Next::Reconnect(ctx);
                }
                Step::Stop(f) => {
                    self.session.abort().await;
                    self.outcome.failure = Some(f);
                    return Next::Done(self.outcome);
                }
            }
        }
    }

    async fn step(&mut self) -> Step {
        if !self.pending.is_empty() {
            let (_, phase) = self.pending[0];
            let timeout = self.session.ctx.timeouts.for_phase(phase);
            tokio::select! {
                r = self.session.read_reply(phase, timeout) => return self.on_read(r).await,
                _ = tokio::signal::ctrl_c() => return Step::Stop(self.interrupted()),
            }
        }
        if let Some(line) = self.queued.pop_front() {
            return self.on_input(Input::Line(line)).await;
        }
        let prompt = self.prompt();
        let phase = self.phase;
        let input = tokio::select! {
            r = self.session.read_reply(phase, IDLE) => return self.on_read(r).await,
            input = self.keyboard.next(&prompt) => input,
            _ = tokio::signal::ctrl_c() => return Step::Stop(self.interrupted()),
        };
        self.on_input(input).await
    }

    fn interrupted(&self) -> Failure {
        if self.pending.iter().any(|(a, _)| *a == Awaiting::FinalDot) {
            Failure::new(
                Phase::FinalDot,
                FailureKind::Closed,
                "interrupted after the final dot, before its reply; the message may or may not have been accepted",
            )
        } else {
            Failure::new(self.phase, FailureKind::Interrupted, "interrupted")
        }
    }

    fn prompt(&self) -> String {
        let arrow = match self.session.channel() {
            Channel::Plain => "->",
            Channel::Tls => "~>",
            Channel::TlsUnverified => "?>",
        };
        match self.mode {
            Mode::Commands if self.in_auth => format!("smtpx auth {arrow} "),
            Mode::Commands => format!("smtpx {arrow} "),
            Mode::Content { .. } => format!("smtpx data {arrow} "),
        }
    }

    fn note(&mut self, message: impl Into<String>) {
        self.session.ctx.emit(Event::Note {
            message: message.into(),
        });
    }

    fn warn(&mut self, message: impl Into<String>) {
        self.session.ctx.emit(Event::Warning {
            message: message.into(),
        });
    }

    async fn on_read(&mut self, read: Result<Reply, Failure>) -> Step {
        let reply = match read {
            Ok(r) => r,
            Err(mut f) => {
                // A server that said 221 or 421 and then closed ended the session as
                // it said it would; nothing more was due.
                let announced = self
                    .outcome
                    .last
                    .as_ref()
                    .is_some_and(|r| matches!(r.code.value(), 221 | 421));
                if self.pending.is_empty() && f.kind == FailureKind::Closed {
                    if announced {
                        return Step::Quit;
                    }
                    f.message = "the server closed the connection".into();
                }
                return Step::Stop(f);
            }
        };
        self.outcome.last = Some(reply.clone());
        self.outcome.setback = None;
        let due = self.pending.pop_front();
        let awaiting = due.map(|(a, _)| a);
        match due {
            Some((Awaiting::Other, Phase::Mail)) => self.accepted = 0,
            Some((Awaiting::Other, Phase::Rcpt)) if reply.is_positive() => self.accepted += 1,
            Some((Awaiting::FinalDot, _)) if self.session.lmtp && self.accepted > 1 => {
                let left = self
                    .pending
                    .iter()
                    .filter(|(a, _)| *a == Awaiting::FinalDot)
                    .count();
                self.note(format!(
                    "LMTP: reply {} of {} to the message, one per accepted recipient in RCPT order",
                    self.accepted - left,
                    self.accepted
                ));
            }
            _ => {}
        }
        if awaiting.is_none() {
            self.note(format!(
                "Unsolicited reply: no command was waiting for it{}",
                if reply.code.value() == 421 {
                    "; the server is closing the connection"
                } else {
                    ""
                }
            ));
        }
        if !reply.is_positive()
            && !matches!(reply.code.value(), 334 | 354)
            && let Some(words) = status::describe(&reply)
        {
            self.note(words);
        }
        match awaiting {
            Some(Awaiting::Ehlo) if reply.is_positive() => {
                let caps = Capabilities::from_ehlo(&reply);
                self.explain(&caps);
                self.keyboard.set_words(words(Some(&caps)));
                self.session.capabilities = Some(caps);
            }
            Some(Awaiting::Helo) if reply.is_positive() => {
                self.session.capabilities = Some(Capabilities::default());
            }
            Some(Awaiting::StartTls) if reply.code.value() == 220 => {
                if let Err(f) = self.handshake().await {
                    return Step::Stop(f);
                }
            }
            Some(Awaiting::Data) if reply.code.value() == 354 => {
                self.note("Type the message: a line with only \".\" ends it (smtpx dot-stuffs lines that start with a dot); /file PATH sends a file");
                self.mode = Mode::Content {
                    encoder: DataEncoder::new(),
                    since: Instant::now(),
                };
            }
            Some(Awaiting::AuthTyped) => {
                self.in_auth = reply.code.value() == 334;
                if self.in_auth {
                    let challenge = reply.lines.first().map(|l| l.trim()).unwrap_or("");
                    if let Some(text) = decoded(challenge) {
                        self.note(format!("Server challenge (decoded): {text}"));
                    }
                }
            }
            Some(Awaiting::Quit) => return Step::Quit,
            _ => {}
        }
        Step::Go
    }

    fn explain(&mut self, caps: &Capabilities) {
        for cap in &caps.entries {
            let name = if cap.params.is_empty() {
                cap.keyword.clone()
            } else {
                format!("{} {}", cap.keyword, cap.params.join(" "))
            };
            self.note(format!("{name}: {}", meaning(cap)));
        }
    }

    /// RFC 3207 §5: no byte may follow the 220 before the handshake; §4.2: what the
    /// server said before is forgotten.
    async fn handshake(&mut self) -> Result<(), Failure> {
        let injected = self.session.unread().len();
        if injected > 0 {
            return Err(Failure::new(
                Phase::Starttls,
                FailureKind::Protocol,
                format!(
                    "protocol violation: response injection: the server sent {injected} bytes after its 220 to STARTTLS, before the TLS handshake; refusing to continue"
                ),
            ));
        }
        let hop = self.hop();
        crate::session::open::handshake(&mut self.session, self.open, &hop).await?;
        let verified = self
            .session
            .tls
            .as_ref()
            .is_some_and(|t| matches!(t.verification, Verification::Verified));
        self.keyboard.set_words(words(None));
        self.note(format!(
            "TLS is up{}: the server's earlier EHLO no longer counts (RFC 3207 §4.2); send EHLO again",
            if verified { "" } else { " (certificate not verified)" }
        ));
        Ok(())
    }

    fn hop(&self) -> Hop {
        let addr = self.session.peer_addr();
        self.open
            .hops
            .iter()
            .find(|h| h.addr == addr)
            .cloned()
            .unwrap_or(Hop {
                host: addr.ip().to_string(),
                addr,
            })
    }

    async fn on_input(&mut self, input: Input) -> Step {
        if let Mode::Content { .. } = self.mode {
            return self.on_content(input).await;
        }
        let line = match input {
            Input::Line(l) => l,
            Input::Cancelled => return Step::Go,
            Input::Failed(e) => {
                self.warn(e);
                return self.quit().await;
            }
            Input::End => return self.quit().await,
        };
        if self.in_auth {
            return self.auth_response(line).await;
        }
        if typed::may_remember(&line, false) && !line.trim().is_empty() {
            self.keyboard.remember(&line);
        }
        match typed::parse(&line) {
            Typed::Empty => Step::Go,
            Typed::SlashError(e) => {
                self.warn(e);
                Step::Go
            }
            Typed::Slash(s) => self.slash(s).await,
            Typed::Smtp(l) => self.smtp(l).await,
        }
    }

    async fn slash(&mut self, s: Slash) -> Step {
        match s {
            Slash::Help => {
                for (cmd, what) in typed::SLASH_HELP {
                    self.note(format!("{cmd:<14} {what}"));
                }
                self.note("Anything else goes to the server as one SMTP line (CRLF added); Tab completes verbs, the server's extensions and these commands");
                Step::Go
            }
            Slash::Caps => {
                match self.session.capabilities.clone() {
                    Some(caps) if !caps.entries.is_empty() => self.explain(&caps),
                    Some(_) => self.note("HELO was answered: no extensions"),
                    None => self.note(
                        "No EHLO on this connection yet (STARTTLS forgets the earlier one): send EHLO",
                    ),
                }
                Step::Go
            }
            Slash::Tls => {
                let line = SmtpLine {
                    text: "STARTTLS".into(),
                    kind: LineKind::StartTls,
                };
                self.smtp(line).await
            }
            Slash::Auth(m) => self.authenticate(m).await,
            Slash::File(_) => {
                self.warn("/file sends message content: use it after DATA's 354");
                Step::Go
            }
            Slash::Reconnect => Step::Reconnect,
            Slash::Quit => self.quit().await,
        }
    }

    async fn quit(&mut self) -> Step {
        let line = SmtpLine {
            text: "QUIT".into(),
            kind: LineKind::Quit,
        };
        self.smtp(line).await
    }

    async fn smtp(&mut self, line: SmtpLine) -> Step {
        match &line.kind {
            LineKind::StartTls => {
                if self.open.tls.is_none() {
                    self.warn("not sent: TLS is off (--tls none)");
                    return Step::Go;
                }
                if self.session.channel() != Channel::Plain {
                    self.warn("not sent: TLS is already up on this connection");
                    return Step::Go;
                }
            }
            LineKind::AuthBare(m) => return self.authenticate(Some(*m)).await,
            LineKind::AuthTyped => {
                if let Some(why) = self.insecure_for_credentials() {
                    self.warn(format!(
                        "not sent: this AUTH line carries credentials and {why}; /tls first, or --allow-insecure-auth for a lab server"
                    ));
                    return Step::Go;
                }
                let response = line.text.split_whitespace().nth(2).unwrap_or("");
                self.session.redact(typed::typed_secret_forms(response));
            }
            _ => {}
        }
        let mut group = vec![line];
        let pipelining = self
            .session
            .capabilities
            .as_ref()
            .is_some_and(|c| c.pipelining());
        // RFC 2920 §3.1: lines that arrived together go in one write when offered;
        // DATA may end a group, anything else waits for its turn.
        if pipelining && group[0].kind == LineKind::Batchable {
            while let Some(next) = self.keyboard.ready() {
                match typed::parse(&next) {
                    Typed::Smtp(l) if l.kind == LineKind::Batchable => group.push(l),
                    Typed::Smtp(l) if l.kind.ends_batch() => {
                        group.push(l);
                        break;
                    }
                    _ => {
                        self.queued.push_back(next);
                        break;
                    }
                }
            }
        }
        self.send_lines(group).await
    }

    async fn send_lines(&mut self, lines: Vec<SmtpLine>) -> Step {
        let mut bytes = Vec::new();
        let mut phase = self.phase;
        for line in &lines {
            bytes.extend_from_slice(line.text.as_bytes());
            bytes.extend_from_slice(b"\r\n");
            let (awaiting, p) = expectation(line);
            phase = p.unwrap_or(phase);
            if awaiting == Awaiting::Ehlo {
                self.session.lmtp = line
                    .text
                    .trim_start()
                    .get(..4)
                    .is_some_and(|v| v.eq_ignore_ascii_case("LHLO"));
            }
            self.pending.push_back((awaiting, phase));
            let secret = line.kind == LineKind::AuthTyped;
            let shown = if secret && !self.session.ctx.show_secrets {
                redacted_auth(&line.text)
            } else {
                line.text.clone()
            };
            self.announce(shown, secret);
        }
        self.phase = phase;
        let timeout = self.session.ctx.timeouts.for_phase(phase);
        match self.session.write_raw(&bytes, phase, timeout).await {
            Ok(()) => {
                // Nothing follows a QUIT; on plain TCP the FIN gets Exim's 221 at once.
                if lines.last().is_some_and(|l| l.kind == LineKind::Quit) {
                    self.session.end_writes_after_quit().await;
                }
                Step::Go
            }
            Err(f) => Step::Stop(f),
        }
    }

    fn announce(&mut self, line: String, secret: bool) {
        let channel = self.session.channel();
        self.session.ctx.emit(Event::CommandSent {
            line,
            secret,
            channel,
        });
    }

    /// A line typed while a hand-typed AUTH exchange is open: secret unless it is `*`.
    async fn auth_response(&mut self, line: String) -> Step {
        self.in_auth = false;
        let text = line.trim().to_string();
        if let Err(e) = typed::check_line(&text, crate::smtp::command::MAX_AUTH_LINE) {
            self.warn(format!("{e}; cancelling the exchange with '*'"));
            return self.send_auth_line("*".into()).await;
        }
        if text != "*" {
            self.session.redact(typed::typed_secret_forms(&text));
        }
        self.send_auth_line(text).await
    }

    async fn send_auth_line(&mut self, text: String) -> Step {
        let secret = text != "*";
        let shown = if secret && !self.session.ctx.show_secrets {
            format!("[redacted: {} bytes]", text.len())
        } else {
            text.clone()
        };
        self.announce(shown, secret);
        self.pending.push_back((Awaiting::AuthTyped, Phase::Auth));
        let timeout = self.session.ctx.timeouts.command;
        let mut bytes = text.into_bytes();
        bytes.extend_from_slice(b"\r\n");
        match self.session.write_raw(&bytes, Phase::Auth, timeout).await {
            Ok(()) => Step::Go,
            Err(f) => Step::Stop(f),
        }
    }

    fn insecure_for_credentials(&self) -> Option<&'static str> {
        if self.plan.allow_insecure_auth {
            return None;
        }
        match self.session.channel() {
            Channel::Plain => Some("the connection is plaintext"),
            _ => None,
        }
    }

    /// A bare AUTH: smtpx runs the exchange with `--user` and the secret sources, or
    /// asks on the terminal.
    async fn authenticate(&mut self, mechanism: Option<Mechanism>) -> Step {
        self.phase = Phase::Auth;
        let credentials = match self.credentials().await {
            Ok(c) => c,
            Err(e) => {
                self.warn(format!("AUTH not sent: {e}"));
                return Step::Go;
            }
        };
        if self.session.capabilities.is_none() {
            self.warn("AUTH not sent: no EHLO on this connection yet (after STARTTLS too): send EHLO first");
            return Step::Go;
        }
        let host = self.hop().host;
        let port = self.session.peer_addr().port();
        let plan = AuthPlan {
            mechanism,
            credentials,
            allow_insecure: self.plan.allow_insecure_auth,
            host_port: Some((host, port)),
        };
        if self.session.ctx.show_secrets {
            self.warn("--show-secrets: the AUTH exchange is shown unredacted");
        }
        match self.session.authenticate(&plan).await {
            Ok(reply) => {
                self.outcome.last = Some(reply);
                self.outcome.setback = None;
                Step::Go
            }
            // Out of step: what follows would be read as part of the exchange.
            Err(f)
                if matches!(
                    f.kind,
                    FailureKind::Protocol | FailureKind::Timeout | FailureKind::Closed
                ) =>
            {
                Step::Stop(f)
            }
            Err(f) => {
                self.warn(format!("authentication failed: {}", f.message));
                self.outcome.setback = Some(f);
                Step::Go
            }
        }
    }

    async fn credentials(&mut self) -> Result<Credentials, String> {
        if let Some(c) = self.credentials.as_ref() {
            return Ok(c.clone());
        }
        let user = match &self.plan.user {
            Some(u) => u.clone(),
            None if self.keyboard.is_terminal() => match self.keyboard.next("Username: ").await {
                Input::Line(u) if !u.trim().is_empty() && !u.chars().any(char::is_control) => {
                    u.trim().to_string()
                }
                _ => return Err("no user name was typed".into()),
            },
            None => {
                return Err(
                    "no user name: give --user (stdin is not a terminal, so there is no prompt)"
                        .into(),
                );
            }
        };
        let secret = match &self.plan.secret {
            SecretSource::Prompt => {
                let s = self
                    .keyboard
                    .secret(&format!("Password for {user}: "))
                    .await?;
                if s.is_empty() {
                    return Err("the password is empty".into());
                }
                s
            }
            source => secret::read(source, &user)?,
        };
        let credentials = Credentials::new(user, secret);
        credentials.validate().map_err(|e| e.to_string())?;
        *self.credentials = Some(credentials.clone());
        Ok(credentials)
    }

    async fn on_content(&mut self, input: Input) -> Step {
        let line = match input {
            Input::Line(l) => l,
            Input::Cancelled => return Step::Go,
            // RFC 5321 §4.1.1.4: an input that fails mid-body never gets its dot.
            Input::End | Input::Failed(_) => {
                return Step::Stop(input_failure(
                    Phase::Body,
                    "the input ended in the middle of DATA; the final dot was never sent, so nothing was committed",
                ));
            }
        };
        match typed::content_line(&line) {
            ContentLine::Text(text) => {
                let mut bytes = Vec::new();
                if let Mode::Content { encoder, .. } = &mut self.mode {
                    encoder.encode(text.as_bytes(), &mut bytes);
                    encoder.encode(b"\r\n", &mut bytes);
                }
                self.write_body(&bytes).await
            }
            ContentLine::File(path) => self.send_file(&path).await,
            ContentLine::End => {
                let Mode::Content {
                    mut encoder, since, ..
                } = std::mem::replace(&mut self.mode, Mode::Commands)
                else {
                    return Step::Go;
                };
                let mut bytes = Vec::new();
                encoder.finish(&mut bytes);
                let timeout = self.session.ctx.timeouts.data_block;
                if let Err(f) = self.session.write_raw(&bytes, Phase::Body, timeout).await {
                    return Step::Stop(f);
                }
                let channel = self.session.channel();
                self.session.ctx.emit(Event::BodySent {
                    stats: encoder.stats(),
                    chunks: None,
                    replies_before: 0,
                    took: since.elapsed(),
                    channel,
                });
                self.phase = Phase::FinalDot;
                let replies = if self.session.lmtp {
                    self.accepted.max(1)
                } else {
                    1
                };
                for _ in 0..replies {
                    self.pending
                        .push_back((Awaiting::FinalDot, Phase::FinalDot));
                }
                Step::Go
            }
        }
    }

    async fn write_body(&mut self, bytes: &[u8]) -> Step {
        let timeout = self.session.ctx.timeouts.data_block;
        match self.session.write_raw(bytes, Phase::Body, timeout).await {
            Ok(()) => Step::Go,
            Err(f) => Step::Stop(f),
        }
    }

    /// `/file PATH`: streamed through the same encoder (CRLF-normalised, dot-stuffed).
    async fn send_file(&mut self, path: &str) -> Step {
        let mut file = match tokio::fs::File::open(path).await {
            Ok(f) => f,
            Err(e) => {
                self.warn(format!(
                    "/file {path}: {}; nothing of it was sent",
                    super::plan::io_words(&e)
                ));
                return Step::Go;
            }
        };
        let mut buf = vec![0u8; FILE_CHUNK];
        let mut total = 0u64;
        loop {
            let n = match file.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    // Part of the file is out: the message must not be committed.
                    return Step::Stop(input_failure(
                        Phase::Body,
                        format!(
                            "/file {path}: reading failed after {total} bytes ({}); the final dot was never sent",
                            super::plan::io_words(&e)
                        ),
                    ));
                }
            };
            total += n as u64;
            let mut bytes = Vec::new();
            if let Mode::Content { encoder, .. } = &mut self.mode {
                encoder.encode(&buf[..n], &mut bytes);
            }
            if let Step::Stop(f) = self.write_body(&bytes).await {
                return Step::Stop(f);
            }
        }
        self.note(format!("Sent {path} ({total} bytes) as message content"));
        Step::Go
    }
}

/// What a line's reply answers and the phase (for timeouts) it belongs to.
fn expectation(line: &SmtpLine) -> (Awaiting, Option<Phase>) {
    let verb = line
        .text
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    match &line.kind {
        LineKind::Ehlo => (Awaiting::Ehlo, Some(Phase::Ehlo)),
        LineKind::Helo => (Awaiting::Helo, Some(Phase::Ehlo)),
        LineKind::StartTls => (Awaiting::StartTls, Some(Phase::Starttls)),
        LineKind::Data => (Awaiting::Data, Some(Phase::Data)),
        LineKind::Quit => (Awaiting::Quit, Some(Phase::Quit)),
        LineKind::AuthTyped | LineKind::AuthBare(_) => (Awaiting::AuthTyped, Some(Phase::Auth)),
        _ => {
            let phase = match verb.as_str() {
                "MAIL" => Some(Phase::Mail),
                "RCPT" => Some(Phase::Rcpt),
                "VRFY" => Some(Phase::Vrfy),
                "EXPN" => Some(Phase::Expn),
                "AUTH" => return (Awaiting::AuthTyped, Some(Phase::Auth)),
                _ => None,
            };
            (Awaiting::Other, phase)
        }
    }
}

/// `AUTH MECH [redacted: N bytes]`.
fn redacted_auth(text: &str) -> String {
    let mut words = text.split_whitespace();
    let verb = words.next().unwrap_or("AUTH");
    let mech = words.next().unwrap_or("");
    let rest: Vec<&str> = words.collect();
    format!("{verb} {mech} [redacted: {} bytes]", rest.join(" ").len())
}

/// A 334 challenge decoded for people, when it is printable text.
fn decoded(challenge: &str) -> Option<String> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(challenge)
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    (!text.is_empty() && !text.chars().any(char::is_control)).then_some(text)
}

/// What Tab completes: SMTP verbs, the verbs and AUTH mechanisms the server offered,
/// and smtpx's `/` commands.
pub fn words(caps: Option<&Capabilities>) -> Vec<String> {
    let mut words: Vec<String> = typed::SMTP_VERBS.iter().map(|s| s.to_string()).collect();
    words.extend(typed::SLASH_COMMANDS.iter().map(|s| s.to_string()));
    if let Some(caps) = caps {
        for cap in &caps.entries {
            if matches!(
                cap.keyword.as_str(),
                "ETRN" | "ATRN" | "XCLIENT" | "XFORWARD" | "BURL"
            ) {
                words.push(cap.keyword.clone());
            }
        }
        words.extend(
            caps.auth_mechanisms()
                .into_iter()
                .map(|m| format!("AUTH={m}")),
        );
    } else {
        for m in [
            "PLAIN",
            "LOGIN",
            "CRAM-MD5",
            "SCRAM-SHA-256",
            "XOAUTH2",
            "OAUTHBEARER",
        ] {
            words.push(format!("AUTH={m}"));
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_auth_lines_are_redacted_by_length() {
        assert_eq!(
            redacted_auth("AUTH PLAIN AGJvYgBzM2NyZXQ="),
            "AUTH PLAIN [redacted: 16 bytes]"
        );
    }

    #[test]
    fn printable_challenges_are_decoded() {
        assert_eq!(decoded("VXNlcm5hbWU6").as_deref(), Some("Username:"));
        assert_eq!(decoded("AAEC"), None);
        assert_eq!(decoded("not base64!"), None);
    }

    #[test]
    fn completion_follows_what_the_server_offered() {
        let caps = Capabilities::from_ehlo(&Reply::new(
            250,
            &["mx", "AUTH PLAIN LOGIN", "ETRN", "PIPELINING"],
        ));
        let w = words(Some(&caps));
        assert!(w.contains(&"AUTH=PLAIN".to_string()));
        assert!(!w.contains(&"AUTH=CRAM-MD5".to_string()));
        assert!(w.contains(&"ETRN".to_string()));
        assert!(w.contains(&"/reconnect".to_string()));
    }
}
