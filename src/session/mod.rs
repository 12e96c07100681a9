//! The async session driver: runs the sans-IO core over a connection, owns every
//! deadline, and reports what happens as events.

pub mod auth;
mod chunking;
pub mod event;
mod forward;
pub mod open;
pub mod probe;
pub mod timeouts;
pub mod transaction;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::time::Instant;

use crate::net::tls::{TlsClient, TlsFailure, TlsInfo};
use crate::net::transport::{TransportPlan, Via};
use crate::net::{ConnectError, Connection, ReadError, Watched, WriteError};
use crate::outcome::{Failure, FailureKind, Phase};
use crate::smtp::{Capabilities, Command, Domain, Reply};

pub use event::{Channel, Event, EventSink, Timed};
pub use timeouts::Timeouts;

/// Everything a session needs besides the connection.
pub struct SessionContext<'a> {
    pub events: Box<dyn EventSink + 'a>,
    pub timeouts: Timeouts,
    /// One deadline for the whole run (`--timeout`).
    pub overall: Option<Instant>,
    /// When the run started; event times are relative to it.
    pub started: Instant,
    pub show_secrets: bool,
}

impl SessionContext<'_> {
    pub fn emit(&mut self, event: Event) {
        let at = self.started.elapsed();
        self.events.emit(Timed { at, event });
    }

    /// The deadline for a step: its own timeout, or the overall deadline if sooner.
    pub fn deadline(&self, timeout: Duration) -> Instant {
        let own = Instant::now() + timeout;
        match self.overall {
            Some(overall) if overall < own => overall,
            _ => own,
        }
    }

    fn timeout_message(&self, deadline: Instant, timeout: Duration, what: &str) -> String {
        if self.overall == Some(deadline) {
            format!("the overall --timeout expired while waiting for {what}")
        } else {
            format!(
                "no {what} within {}",
                humantime::format_duration(round_duration(timeout))
            )
        }
    }
}

fn round_duration(d: Duration) -> Duration {
    Duration::from_millis(d.as_millis() as u64)
}

/// An open SMTP connection plus what the session learned on it.
pub struct Session<'a> {
    pub ctx: SessionContext<'a>,
    conn: Connection,
    /// Capabilities from the latest EHLO; cleared by STARTTLS (RFC 3207 §4.2).
    pub capabilities: Option<Capabilities>,
    pub tls: Option<TlsInfo>,
    /// LMTP (RFC 2033): LHLO instead of EHLO, and no HELO fallback.
    pub lmtp: bool,
    channel: Channel,
    last_sent: Instant,
    /// Strings that would reveal a secret if shown (raw, base64, hex), longest first.
    redactions: Vec<String>,
    /// Report the message content as it goes (`--show-data`).
    pub show_data: bool,
    /// The `--pipe` command at the other end, for the report of how it ended.
    pipe_command: Option<String>,
}

impl<'a> Session<'a> {
    /// Opens a connection to one hop, the way `transport` says (TCP, SOCKS5, a Unix
    /// socket, a process's stdio), PROXY header included.
    pub async fn connect(
        mut ctx: SessionContext<'a>,
        transport: &TransportPlan,
        host: &str,
        addr: SocketAddr,
    ) -> Result<Session<'a>, (SessionContext<'a>, Failure)> {
        let via = transport.via();
        ctx.emit(Event::Connecting {
            host: host.to_string(),
            addr,
            via: via.clone(),
        });
        let started = Instant::now();
        let deadline = ctx.deadline(ctx.timeouts.connect);
        match Connection::open(transport, host, addr, deadline).await {
            Ok((conn, opening)) => {
                ctx.emit(Event::Connected {
                    peer: conn.peer(),
                    local: conn.local(),
                    took: started.elapsed(),
                    via: opening.via.clone(),
                });
                if let Some(h) = opening.proxy_header {
                    ctx.emit(Event::ProxyHeaderSent {
                        version: h.version.name(),
                        source: h.source,
                        dest: h.dest,
                    });
                }
                let mut session = Session::over(ctx, conn);
                if let Via::Pipe { command, .. } = opening.via {
                    session.pipe_command = Some(command);
                }
                session.last_sent = started;
                Ok(session)
            }
            Err(e) => {
                let reason = match e {
                    ConnectError::Timeout => {
                        ctx.timeout_message(deadline, ctx.timeouts.connect, "connection")
                    }
                    ConnectError::Io(ref e) => describe_io(e),
                    ConnectError::Other(ref why) => why.clone(),
                };
                ctx.emit(Event::ConnectFailed {
                    addr,
                    reason: reason.clone(),
                    via: via.clone(),
                });
                let kind = match e {
                    ConnectError::Timeout => FailureKind::Timeout,
                    ConnectError::Io(_) | ConnectError::Other(_) => FailureKind::Connect,
                };
                let message = match (&via, e) {
                    (Via::Tcp { .. }, ConnectError::Io(_) | ConnectError::Timeout) => {
                        format!("{addr}: {reason}")
                    }
                    (Via::Socks5 { .. }, ConnectError::Timeout) => {
                        format!("{host} through the SOCKS5 proxy: {reason}")
                    }
                    _ => reason,
                };
                Err((ctx, Failure::new(Phase::Connect, kind, message)))
            }
        }
    }

    /// A session over a connection opened elsewhere (see `Connection::over_stream`).
    pub fn over(ctx: SessionContext<'a>, conn: Connection) -> Session<'a> {
        Session {
            ctx,
            conn,
            capabilities: None,
            tls: None,
            lmtp: false,
            channel: Channel::Plain,
            last_sent: Instant::now(),
            redactions: Vec::new(),
            show_data: false,
            pipe_command: None,
        }
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.conn.local()
    }

    /// ACK the server's bytes at once from now on (see `Connection::set_quick_ack`):
    /// for pipelined groups whose replies come in several writes.
    pub fn set_quick_ack(&mut self, on: bool) {
        self.conn.set_quick_ack(on);
    }

    pub fn peer_addr(&self) -> SocketAddr {
        self.conn.peer()
    }

    pub fn channel(&self) -> Channel {
        self.channel
    }

    /// Gives back the context, closing the connection.
    pub fn into_context(self) -> SessionContext<'a> {
        self.ctx
    }

    /// Waits for the server's greeting.
    pub async fn greeting(&mut self) -> Result<Reply, Failure> {
        let timeout = self.ctx.timeouts.greeting;
        self.read_reply(Phase::Greeting, timeout).await
    }

    /// Waits for the server's greeting; after `hint_after` of silence, notes that the
    /// port may expect implicit TLS (a server that does waits for our ClientHello and
    /// says nothing), then goes on waiting until the greeting timeout.
    pub async fn greeting_with_hint(&mut self, hint_after: Duration) -> Result<Reply, Failure> {
        let timeout = self.ctx.timeouts.greeting;
        let deadline = self.ctx.deadline(timeout);
        let hint_at = Instant::now() + hint_after;
        if hint_at < deadline {
            // Reading a reply is cancel-safe: bytes already read stay buffered.
            if let Ok(read) = tokio::time::timeout_at(hint_at, self.conn.read_reply(deadline)).await
            {
                return self.received(read, Phase::Greeting, deadline, timeout);
            }
            self.ctx.emit(Event::Note {
                message: format!(
                    "no greeting after {}: this port may expect TLS from the first byte (implicit TLS, as on 465); if so, use --tls implicit. Still waiting",
                    humantime::format_duration(round_duration(hint_after))
                ),
            });
        }
        let read = self.conn.read_reply(deadline).await;
        self.received(read, Phase::Greeting, deadline, timeout)
    }

    /// Writes one command, then reads its reply.
    pub async fn command(&mut self, cmd: &Command, phase: Phase) -> Result<Reply, Failure> {
        self.send(&[cmd], phase).await?;
        let timeout = self.ctx.timeouts.for_phase(phase);
        self.read_reply(phase, timeout).await
    }

    /// Writes several commands in one write (RFC 2920 pipelining); each is shown.
    /// A reply that no command asked for stops the session first: paired with the next
    /// command it would answer the wrong question.
    pub async fn send(&mut self, cmds: &[&Command], phase: Phase) -> Result<(), Failure> {
        self.nothing_unsolicited(phase).await?;
        let mut bytes = Vec::new();
        for cmd in cmds {
            encode_into(cmd, &mut bytes)?;
        }
        for cmd in cmds {
            self.announce(cmd);
        }
        self.write_raw(&bytes, phase, self.ctx.timeouts.for_phase(phase))
            .await
    }

    /// Fails when the server sent more than the replies asked for so far: a reply with no
    /// command outstanding (a second greeting, four replies to one MAIL) is a protocol
    /// violation at once, before anything more is sent.
    pub async fn nothing_unsolicited(&mut self, phase: Phase) -> Result<(), Failure> {
        if !self.conn.has_unread().await {
            return Ok(());
        }
        let extra = self.conn.unread();
        let shown = &extra[..extra.len().min(60)];
        Err(Failure::new(
            phase,
            FailureKind::Protocol,
            format!(
                "protocol violation: the server sent a reply no command asked for (\"{}\"); nothing more was sent",
                shown.escape_ascii()
            ),
        ))
    }

    /// Reports a command as sent; the caller writes its bytes (possibly together with
    /// others and with message content, in one write).
    pub fn announce(&mut self, cmd: &Command) {
        let secret = cmd.is_secret();
        let line = if secret && !self.ctx.show_secrets {
            cmd.redacted_line()
        } else {
            cmd.clear_line()
        };
        let channel = self.channel;
        self.ctx.emit(Event::CommandSent {
            line,
            secret,
            channel,
        });
    }

    /// Writes bytes that are not commands (message content).
    pub async fn write_raw(
        &mut self,
        bytes: &[u8],
        phase: Phase,
        timeout: Duration,
    ) -> Result<(), Failure> {
        let deadline = self.ctx.deadline(timeout);
        self.last_sent = Instant::now();
        match self.conn.write_all(bytes, deadline).await {
            Ok(()) => Ok(()),
            Err(WriteError::Timeout) => Err(Failure::new(
                phase,
                FailureKind::Timeout,
                self.ctx
                    .timeout_message(deadline, timeout, "progress writing to the server"),
            )),
            Err(WriteError::Io(e)) => {
                Err(Failure::new(phase, FailureKind::Closed, describe_io(&e)))
            }
        }
    }

    /// Writes message content while watching for a reply: a server that answers before
    /// the content is done (and may have stopped reading) ends the write at once, and
    /// its reply is returned. After a failed write, a reply that arrived first is
    /// returned too: what the server said decides, not how the connection broke.
    pub async fn write_body(&mut self, bytes: &[u8]) -> Result<Option<Reply>, Failure> {
        let timeout = self.ctx.timeouts.data_block;
        let deadline = self.ctx.deadline(timeout);
        self.last_sent = Instant::now();
        let failure = match self.conn.write_all_watching(bytes, deadline).await {
            Ok(Watched::Written) => return Ok(None),
            Ok(Watched::Interrupted) => {
                let wait = self.ctx.timeouts.command;
                return self.read_reply(Phase::Body, wait).await.map(Some);
            }
            Err(WriteError::Timeout) => Failure::new(
                Phase::Body,
                FailureKind::Timeout,
                self.ctx
                    .timeout_message(deadline, timeout, "progress writing to the server"),
            ),
            Err(WriteError::Io(e)) => {
                Failure::new(Phase::Body, FailureKind::Closed, describe_io(&e))
            }
        };
        match self.conn.received_reply() {
            Some(reply) => Ok(Some(self.report_reply(reply))),
            None => Err(failure),
        }
    }

    /// A reply already received and not yet read, reported; nothing is waited for.
    pub fn received_reply(&mut self) -> Option<Reply> {
        let reply = self.conn.received_reply()?;
        Some(self.report_reply(reply))
    }

    /// Reads one reply and reports it.
    pub async fn read_reply(&mut self, phase: Phase, timeout: Duration) -> Result<Reply, Failure> {
        let deadline = self.ctx.deadline(timeout);
        let read = self.conn.read_reply(deadline).await;
        self.received(read, phase, deadline, timeout)
    }

    /// Reports a reply just read, or turns the read error into a failure.
    fn received(
        &mut self,
        read: Result<Reply, ReadError>,
        phase: Phase,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<Reply, Failure> {
        self.show_process_stderr();
        match read {
            Ok(reply) => Ok(self.report_reply(reply)),
            Err(e) => Err(self.read_failure(e, phase, deadline, timeout)),
        }
    }

    /// What a `--pipe` process wrote to its stderr so far, one event a line.
    fn show_process_stderr(&mut self) {
        for line in self.conn.process_stderr() {
            self.ctx.emit(Event::ProcessStderr { line });
        }
    }

    /// Closes the connection; a `--pipe` process is ended and how it ended reported.
    async fn close(&mut self) {
        if let Some((end, lines)) = self.conn.shutdown().await {
            for line in lines {
                self.ctx.emit(Event::ProcessStderr { line });
            }
            let command = self.pipe_command.clone().unwrap_or_default();
            match end {
                Some(end) => self.ctx.emit(Event::ProcessExited {
                    command,
                    code: end.code,
                    signal: end.signal,
                    killed: end.killed,
                    status: end.describe(),
                }),
                None => self.ctx.emit(Event::Warning {
                    message: format!("could not learn how {command:?} ended"),
                }),
            }
        }
    }

    /// Scrubs a reply of secrets and reports it.
    fn report_reply(&mut self, mut reply: Reply) -> Reply {
        self.scrub(&mut reply);
        let took = self.last_sent.elapsed();
        let channel = self.channel;
        self.ctx.emit(Event::ReplyReceived {
            reply: reply.clone(),
            took,
            channel,
        });
        reply
    }

    fn read_failure(
        &self,
        e: ReadError,
        phase: Phase,
        deadline: Instant,
        timeout: Duration,
    ) -> Failure {
        let what = match phase {
            Phase::Greeting => "greeting",
            Phase::FinalDot => "reply to the final dot",
            Phase::BdatLast => "reply to BDAT LAST",
            Phase::Quit => "reply to QUIT",
            _ => "reply",
        };
        match e {
            ReadError::Timeout => {
                let mut msg = self.ctx.timeout_message(deadline, timeout, what);
                if phase.commits() {
                    msg.push_str("; the message may or may not have been accepted");
                }
                Failure::new(phase, FailureKind::Timeout, msg)
            }
            ReadError::Closed { partial } => {
                // Over --pipe, "the server" is a process, and what it closed is its stdout.
                let closed = if self.pipe_command.is_some() {
                    "the process closed its output"
                } else {
                    "the server closed the connection"
                };
                let mut msg = if partial {
                    format!("{closed} in the middle of a {what}")
                } else {
                    format!("{closed} before sending a {what}")
                };
                if phase.commits() {
                    msg.push_str("; the message may or may not have been accepted");
                }
                Failure::new(phase, FailureKind::Closed, msg)
            }
            ReadError::Io(e) => {
                let mut msg = describe_io(&e);
                if phase.commits() {
                    msg.push_str("; the message may or may not have been accepted");
                }
                Failure::new(phase, FailureKind::Closed, msg)
            }
            ReadError::Protocol(e) => Failure::new(
                phase,
                FailureKind::Protocol,
                format!("protocol violation: {e}"),
            ),
        }
    }

    /// Registers strings that must never be shown: from now on every reply is scrubbed
    /// of them before anyone sees it (a server may echo a credential back).
    pub fn redact(&mut self, forms: Vec<String>) {
        if self.ctx.show_secrets {
            return;
        }
        self.redactions
            .extend(forms.into_iter().filter(|f| !f.is_empty()));
        self.redactions.sort_by_key(|f| std::cmp::Reverse(f.len()));
        self.redactions.dedup();
    }

    fn scrub(&self, reply: &mut Reply) {
        for line in &mut reply.lines {
            for form in &self.redactions {
                if line.contains(form.as_str()) {
                    *line = line.replace(form.as_str(), "[redacted]");
                }
            }
        }
    }

    /// EHLO, falling back to HELO on 500/502 when `allow_helo` (RFC 5321 §4.1.4; never
    /// when TLS is required, since HELO cannot offer STARTTLS). Returns the final reply.
    /// In LMTP, LHLO and never HELO (RFC 2033 §4.1).
    pub async fn hello(&mut self, name: &Domain, allow_helo: bool) -> Result<Reply, Failure> {
        self.capabilities = None;
        let command = if self.lmtp {
            Command::Lhlo(name.clone())
        } else {
            Command::Ehlo(name.clone())
        };
        let allow_helo = allow_helo && !self.lmtp;
        let reply = self.command(&command, Phase::Ehlo).await?;
        if reply.is_positive() {
            self.capabilities = Some(Capabilities::from_ehlo(&reply));
            return Ok(reply);
        }
        if allow_helo && matches!(reply.code.value(), 500 | 502) {
            self.ctx.emit(Event::Note {
                message: "EHLO not supported; falling back to HELO (no extensions)".into(),
            });
            let helo = self
                .command(&Command::Helo(name.clone()), Phase::Ehlo)
                .await?;
            if helo.is_positive() {
                self.capabilities = Some(Capabilities::default());
            }
            return Ok(helo);
        }
        Ok(reply)
    }

    /// Upgrades the connection to TLS. The caller checks `unread` before (RFC 3207 §5).
    pub async fn start_tls(&mut self, client: &TlsClient, host: &str) -> Result<TlsInfo, Failure> {
        let timeout = self.ctx.timeouts.tls;
        let deadline = self.ctx.deadline(timeout);
        match self.conn.upgrade_tls(client, host, deadline).await {
            Ok(info) => {
                self.capabilities = None;
                self.channel = Channel::Tls;
                self.tls = Some(info.clone());
                self.ctx.emit(Event::TlsEstablished {
                    info: Box::new(info.clone()),
                });
                Ok(info)
            }
            Err(TlsFailure::Timeout) => Err(Failure::new(
                Phase::TlsHandshake,
                FailureKind::Tls,
                self.ctx.timeout_message(deadline, timeout, "TLS handshake"),
            )),
            Err(TlsFailure::Handshake(msg)) | Err(TlsFailure::Io(msg)) => {
                Err(Failure::new(Phase::TlsHandshake, FailureKind::Tls, msg))
            }
        }
    }

    /// Marks every later line as sent over TLS whose certificate was not verified.
    pub fn mark_unverified(&mut self) {
        if self.channel == Channel::Tls {
            self.channel = Channel::TlsUnverified;
        }
    }

    /// Bytes received after the last reply and not yet consumed.
    pub fn unread(&self) -> &[u8] {
        self.conn.unread()
    }

    /// Once QUIT is written: no more bytes will follow (see
    /// [`Connection::end_writes_after_quit`]).
    pub async fn end_writes_after_quit(&mut self) {
        self.conn.end_writes_after_quit().await;
    }

    /// QUIT politely: errors here change nothing about the outcome. A reply that does
    /// not come in time is noted, so the wait is explained.
    pub async fn quit(mut self) -> SessionContext<'a> {
        let timeout = self.ctx.timeouts.quit;
        let sent = match self.send(&[&Command::Quit], Phase::Quit).await {
            Ok(()) => true,
            Err(f) => {
                if f.kind == FailureKind::Protocol {
                    self.ctx.emit(Event::Warning { message: f.message });
                }
                false
            }
        };
        if sent {
            self.end_writes_after_quit().await;
        }
        if sent
            && let Err(f) = self.read_reply(Phase::Quit, timeout).await
            && f.kind == FailureKind::Timeout
        {
            self.ctx.emit(Event::Note {
                message: format!("{}; closing the connection", f.message),
            });
        }
        self.close().await;
        self.ctx
    }

    /// Closes without QUIT (after a protocol violation or mid-body failure).
    pub async fn abort(mut self) -> SessionContext<'a> {
        self.close().await;
        self.ctx
    }
}

/// Appends a command's validated bytes to a write in preparation.
pub(crate) fn encode_into(cmd: &Command, out: &mut Vec<u8>) -> Result<(), Failure> {
    let encoded = cmd.encode().map_err(|e| Failure::input(e.to_string()))?;
    out.extend_from_slice(&encoded);
    Ok(())
}

/// Plain words for socket errors; the OS text alone ("os error 111") helps nobody.
pub fn describe_io(e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        ConnectionRefused => "connection refused".into(),
        ConnectionReset => "connection reset by the server".into(),
        ConnectionAborted => "connection aborted".into(),
        BrokenPipe => "the server closed the connection".into(),
        TimedOut => "timed out".into(),
        HostUnreachable => "host unreachable".into(),
        NetworkUnreachable => "network unreachable".into(),
        AddrNotAvailable => "address not available".into(),
        UnexpectedEof => "the server closed the connection".into(),
        _ => e.to_string(),
    }
}
