//! One client connection: reads lines and content, carries out the state machine's
//! actions, stores messages and reports events. Replies are queued and written when no
//! more input is waiting, so a pipelining client (RFC 2920) gets them in one write.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::Shared;
use crate::net::tls::server::ServerStream;
use crate::serve::data::DataReceiver;
use crate::serve::{Action, Machine, ServeEvent, trace};
use crate::smtp::Reply;

const READ_BUFFER: usize = 64 * 1024;
/// Replies queued for a pipelining client are written once its input is used up, or
/// at this size: a client that sends without reading cannot make the queue grow; it
/// fills the socket, the write waits, and the server stops reading.
const OUT_HIGH_WATER: usize = 16 * 1024;

enum Line {
    Complete(Vec<u8>),
    TooLong,
    Eof { partial: bool },
}

struct Conn {
    reader: BufReader<ServerStream>,
    out: Vec<u8>,
    tls: Option<String>,
    /// How long a write may wait for a client that reads nothing.
    idle: std::time::Duration,
}

impl Conn {
    async fn flush(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            let s = self.reader.get_mut();
            let write = async {
                s.write_all(&self.out).await?;
                s.flush().await
            };
            timeout(self.idle, write).await.map_err(|_| {
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    "idle timeout: the client reads no replies",
                )
            })??;
            self.out.clear();
        }
        Ok(())
    }

    /// One line of at most `limit` octets with its line end (CRLF, or a bare LF, which
    /// commands tolerate); a longer one is read to its end and thrown away, so a
    /// client cannot make the buffer grow.
    async fn read_line(&mut self, limit: usize) -> io::Result<Line> {
        let mut line = Vec::new();
        let mut skipping = false;
        loop {
            let avail = self.reader.fill_buf().await?;
            if avail.is_empty() {
                return Ok(Line::Eof {
                    partial: !line.is_empty() || skipping,
                });
            }
            match memchr::memchr(b'\n', avail) {
                Some(i) => {
                    if !skipping {
                        line.extend_from_slice(&avail[..i]);
                    }
                    self.reader.consume(i + 1);
                    if skipping || line.len() + 2 > limit {
                        return Ok(Line::TooLong);
                    }
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    return Ok(Line::Complete(line));
                }
                None => {
                    let n = avail.len();
                    if !skipping {
                        line.extend_from_slice(avail);
                        if line.len() > limit {
                            skipping = true;
                            line = Vec::new();
                        }
                    }
                    self.reader.consume(n);
                }
            }
        }
    }
}

/// Runs one session to its end.
pub async fn run(shared: Arc<Shared>, tcp: TcpStream, session: u64, implicit_tls: bool) {
    let peer = tcp.peer_addr().unwrap_or_else(|_| unspecified());
    let local = tcp.local_addr().unwrap_or_else(|_| unspecified());
    let _ = tcp.set_nodelay(true);
    shared.emit(ServeEvent::Accepted {
        session,
        peer,
        local,
    });
    let reason = match open(&shared, tcp, session, implicit_tls).await {
        Ok(conn) => drive(&shared, conn, session, peer).await.err(),
        Err(why) => Some(why),
    };
    shared.emit(ServeEvent::Closed { session, reason });
}

fn unspecified() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 0))
}

async fn open(
    shared: &Shared,
    tcp: TcpStream,
    session: u64,
    implicit_tls: bool,
) -> Result<Conn, String> {
    let (stream, tls) = match (&shared.tls, implicit_tls) {
        (Some(tls), true) => {
            let (stream, negotiated) = timeout(shared.idle_timeout, tls.accept(tcp))
                .await
                .map_err(|_| "TLS handshake timed out".to_string())?
                .map_err(|e| format!("TLS handshake failed: {e}"))?;
            shared.emit(ServeEvent::TlsEstablished {
                session,
                protocol: negotiated.protocol.clone(),
                cipher: negotiated.cipher.clone(),
            });
            (
                stream,
                Some(format!("{} {}", negotiated.protocol, negotiated.cipher)),
            )
        }
        _ => (ServerStream::Plain(tcp), None),
    };
    Ok(Conn {
        reader: BufReader::with_capacity(READ_BUFFER, stream),
        out: Vec::with_capacity(1024),
        tls,
        idle: shared.idle_timeout,
    })
}

/// `Err` carries why the session ended other than by QUIT.
async fn drive(
    shared: &Arc<Shared>,
    mut conn: Conn,
    session: u64,
    peer: SocketAddr,
) -> Result<(), String> {
    let mut machine = Machine::new(
        Arc::clone(&shared.settings),
        Arc::clone(&shared.counters),
        session,
        conn.tls.is_some(),
        shared.random(session),
    );
    let mut draft: Option<super::store::Draft> = None;
    let mut queue: VecDeque<Action> = machine.greeting().into();
    loop {
        while let Some(action) = queue.pop_front() {
            let more = act(shared, &mut conn, &mut machine, &mut draft, action, peer).await;
            match more {
                Ok(Step::Go(actions)) => {
                    for a in actions.into_iter().rev() {
                        queue.push_front(a);
                    }
                }
                Ok(Step::End) => {
                    if let Some(d) = draft.take() {
                        d.abandon();
                    }
                    return Ok(());
                }
                Err(why) => {
                    if let Some(d) = draft.take() {
                        d.abandon();
                    }
                    return Err(why);
                }
            }
        }
        if machine.envelope().is_none()
            && let Some(d) = draft.take()
        {
            d.abandon();
        }
        if conn.reader.buffer().is_empty() || conn.out.len() >= OUT_HIGH_WATER {
            conn.flush().await.map_err(|e| e.to_string())?;
        }
        let line = timeout(shared.idle_timeout, conn.read_line(machine.line_limit())).await;
        let actions = match line {
            Err(_) => {
                let r = Reply::new(421, &["4.4.2 Idle timeout, closing the connection"]);
                queue_reply(shared, &mut conn, session, &r);
                let _ = conn.flush().await;
                return Err("idle timeout".into());
            }
            Ok(Err(e)) => return Err(e.to_string()),
            Ok(Ok(Line::Eof { partial })) => {
                return Err(if partial {
                    "the client closed the connection in the middle of a line".into()
                } else {
                    "the client closed the connection without QUIT".into()
                });
            }
            Ok(Ok(Line::TooLong)) => {
                shared.emit_if_shown(|| ServeEvent::CommandReceived {
                    session,
                    line: format!("[line over {} octets, skipped]", machine.line_limit()),
                    tls: conn.tls.is_some(),
                });
                machine.line_too_long()
            }
            Ok(Ok(Line::Complete(bytes))) => {
                let secret = machine.in_auth() || is_auth_with_response(&bytes);
                shared.emit_if_shown(|| ServeEvent::CommandReceived {
                    session,
                    line: shown_line(&bytes, secret, machine.in_auth()),
                    tls: conn.tls.is_some(),
                });
                if shared.stopping() && bytes.len() >= 4 && bytes[..4].eq_ignore_ascii_case(b"MAIL")
                {
                    machine.shutting_down()
                } else {
                    machine.on_line(&bytes)
                }
            }
        };
        queue.extend(actions);
    }
}

enum Step {
    Go(Vec<Action>),
    End,
}

async fn act(
    shared: &Arc<Shared>,
    conn: &mut Conn,
    machine: &mut Machine,
    draft: &mut Option<super::store::Draft>,
    action: Action,
    peer: SocketAddr,
) -> Result<Step, String> {
    let session = machine.session();
    let io = |e: io::Error| e.to_string();
    match action {
        Action::Reply(r) => {
            queue_reply(shared, conn, session, &r);
            Ok(Step::Go(Vec::new()))
        }
        Action::Delay(d) => {
            conn.flush().await.map_err(io)?;
            tokio::time::sleep(d).await;
            Ok(Step::Go(Vec::new()))
        }
        Action::Close => {
            conn.flush().await.map_err(io)?;
            let _ = conn.reader.get_mut().shutdown().await;
            Ok(Step::End)
        }
        Action::Drop => {
            conn.flush().await.map_err(io)?;
            Err("dropped on request (--drop)".into())
        }
        Action::StartTls => {
            conn.flush().await.map_err(io)?;
            starttls(shared, conn, machine).await?;
            Ok(Step::Go(Vec::new()))
        }
        Action::ReceiveData => {
            conn.flush().await.map_err(io)?;
            *draft = begin(shared, conn, machine, peer);
            receive_data(shared, conn, machine, draft).await
        }
        Action::ReceiveChunk { size, last, keep } => {
            if keep && draft.is_none() {
                *draft = begin(shared, conn, machine, peer);
            }
            receive_chunk(shared, conn, machine, draft, size, last, keep).await
        }
        Action::Commit => {
            let Some(d) = draft.take() else {
                // The content was read and thrown away: storage could not be opened.
                return Ok(Step::Go(
                    machine.committed(Err("storage failed (see the server's warning)")),
                ));
            };
            let id = d.id.clone();
            let bytes = d.bytes;
            let (from, to) = machine
                .envelope()
                .map(|e| {
                    (
                        e.from.to_string(),
                        e.recipients
                            .iter()
                            .map(|r| format!("<{}>", r.address))
                            .collect(),
                    )
                })
                .unwrap_or_default();
            match shared.store.commit(d) {
                Ok(path) => {
                    let number = shared.message_stored();
                    shared.emit(ServeEvent::MessageStored {
                        session,
                        number,
                        id: id.clone(),
                        from,
                        to,
                        bytes,
                        path: path.map(|p| p.display().to_string()),
                    });
                    Ok(Step::Go(machine.committed(Ok(&id))))
                }
                Err(e) => {
                    let why = e.to_string();
                    shared.emit(ServeEvent::Warning {
                        session: Some(session),
                        message: format!("cannot store message {id}: {why}"),
                    });
                    Ok(Step::Go(machine.committed(Err(&why))))
                }
            }
        }
    }
}

/// Opens storage for the transaction's content; on failure a warning, and the
/// content is read and thrown away so that the client still gets a reply (451).
fn begin(
    shared: &Shared,
    conn: &Conn,
    machine: &Machine,
    peer: SocketAddr,
) -> Option<super::store::Draft> {
    let env = machine.envelope()?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let headers = |id: &str| {
        trace::headers(
            env,
            &trace::Context {
                client: Some(peer),
                hostname: &shared.settings.hostname,
                id,
                tls: conn.tls.as_deref(),
                now,
            },
        )
    };
    match shared.store.begin(headers, &env.from.to_string()) {
        Ok(d) => Some(d),
        Err(e) => {
            shared.emit(ServeEvent::Warning {
                session: Some(machine.session()),
                message: format!("cannot store the message: {e}"),
            });
            None
        }
    }
}

async fn receive_data(
    shared: &Arc<Shared>,
    conn: &mut Conn,
    machine: &mut Machine,
    draft: &mut Option<super::store::Draft>,
) -> Result<Step, String> {
    let mut receiver = DataReceiver::new();
    let limit = shared.settings.size_limit;
    let mut too_big = false;
    let mut write_error = None;
    loop {
        let avail = timeout(shared.idle_timeout, conn.reader.fill_buf())
            .await
            .map_err(|_| "idle timeout during DATA".to_string())?
            .map_err(|e| e.to_string())?;
        if avail.is_empty() {
            return Err("the client closed the connection during DATA".into());
        }
        let fed = receiver.feed(avail, &mut |chunk| {
            if too_big || write_error.is_some() {
                return;
            }
            if let Some(d) = draft.as_mut() {
                if limit > 0 && d.bytes + chunk.len() as u64 > limit {
                    too_big = true;
                } else if let Err(e) = d.write(chunk) {
                    write_error = Some(e);
                }
            }
        });
        conn.reader.consume(fed.consumed);
        if fed.done {
            break;
        }
    }
    let stats = receiver.stats();
    shared.emit_if_shown(|| ServeEvent::ContentReceived {
        session: machine.session(),
        bytes: stats.bytes,
        lines: Some(stats.lines),
        chunks: None,
        tls: conn.tls.is_some(),
    });
    if let Some(e) = write_error {
        if let Some(d) = draft.take() {
            d.abandon();
        }
        return Ok(Step::Go(machine.committed(Err(&e.to_string()))));
    }
    let actions = machine.content_received(stats, too_big);
    if !actions.contains(&Action::Commit)
        && let Some(d) = draft.take()
    {
        d.abandon();
    }
    Ok(Step::Go(actions))
}

async fn receive_chunk(
    shared: &Arc<Shared>,
    conn: &mut Conn,
    machine: &mut Machine,
    draft: &mut Option<super::store::Draft>,
    size: u64,
    last: bool,
    keep: bool,
) -> Result<Step, String> {
    let mut left = size;
    while left > 0 {
        let avail = timeout(shared.idle_timeout, conn.reader.fill_buf())
            .await
            .map_err(|_| "idle timeout during BDAT".to_string())?
            .map_err(|e| e.to_string())?;
        if avail.is_empty() {
            return Err("the client closed the connection during BDAT".into());
        }
        let n = avail.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if keep
            && let Some(d) = draft.as_mut()
            && let Err(e) = d.write(&avail[..n])
        {
            return Err(format!("cannot store: {e}"));
        }
        conn.reader.consume(n);
        left -= n as u64;
    }
    if last {
        shared.emit_if_shown(|| ServeEvent::ContentReceived {
            session: machine.session(),
            bytes: draft.as_ref().map_or(size, |d| d.bytes),
            lines: None,
            chunks: Some(1),
            tls: conn.tls.is_some(),
        });
    }
    let actions = machine.chunk_received(size, last);
    if last
        && !actions.contains(&Action::Commit)
        && let Some(d) = draft.take()
    {
        d.abandon();
    }
    Ok(Step::Go(actions))
}

async fn starttls(shared: &Shared, conn: &mut Conn, machine: &mut Machine) -> Result<(), String> {
    let session = machine.session();
    let Some(tls) = &shared.tls else {
        return Err("STARTTLS without a certificate".into());
    };
    let pending = conn.reader.buffer().len();
    if pending > 0 {
        // RFC 3207 §5 and CVE-2011-0411: commands sent before the handshake must not
        // be run after it.
        shared.emit(ServeEvent::Warning {
            session: Some(session),
            message: format!(
                "discarded {pending} octets the client sent after STARTTLS, before the handshake"
            ),
        });
    }
    let reader = std::mem::replace(&mut conn.reader, BufReader::new(ServerStream::Detached));
    let tcp = reader
        .into_inner()
        .into_plain()
        .ok_or_else(|| "STARTTLS inside TLS".to_string())?;
    let (stream, negotiated) = timeout(shared.idle_timeout, tls.accept(tcp))
        .await
        .map_err(|_| "TLS handshake timed out".to_string())?
        .map_err(|e| format!("TLS handshake failed: {e}"))?;
    shared.emit(ServeEvent::TlsEstablished {
        session,
        protocol: negotiated.protocol.clone(),
        cipher: negotiated.cipher.clone(),
    });
    conn.reader = BufReader::with_capacity(READ_BUFFER, stream);
    conn.tls = Some(format!("{} {}", negotiated.protocol, negotiated.cipher));
    machine.tls_established();
    Ok(())
}

fn queue_reply(shared: &Shared, conn: &mut Conn, session: u64, r: &Reply) {
    let last = r.lines.len().saturating_sub(1);
    for (i, line) in r.lines.iter().enumerate() {
        let sep = if i == last { ' ' } else { '-' };
        conn.out
            .extend_from_slice(format!("{}{sep}{line}\r\n", r.code).as_bytes());
    }
    shared.emit_if_shown(|| ServeEvent::ReplySent {
        session,
        reply: r.clone(),
        tls: conn.tls.is_some(),
    });
}

/// `AUTH MECH initial-response`: the response is a credential.
fn is_auth_with_response(line: &[u8]) -> bool {
    line.len() > 5
        && line[..5].eq_ignore_ascii_case(b"AUTH ")
        && line[5..].iter().filter(|&&b| b == b' ').count() >= 1
}

fn shown_line(bytes: &[u8], secret: bool, in_auth: bool) -> String {
    let text = String::from_utf8_lossy(bytes);
    if !secret {
        return text.into_owned();
    }
    if in_auth {
        if text == "*" {
            return text.into_owned();
        }
        return format!("[redacted: {} bytes]", bytes.len());
    }
    // AUTH MECH <initial>: keep the mechanism.
    let mut words = text.splitn(3, ' ');
    let (verb, mech, rest) = (
        words.next().unwrap_or(""),
        words.next().unwrap_or(""),
        words.next().unwrap_or(""),
    );
    format!("{verb} {mech} [redacted: {} bytes]", rest.len())
}
