//! One SMTP connection: TCP, a Unix socket or a process's stdio underneath (see
//! `transport`), TLS over any of them, a bounded reply reader on top.

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};

use crate::smtp::{Parsed, Reply, ReplyError, ReplyLimits, ReplyParser};

use super::pipe::{PipeProcess, ProcessEnd};
use super::tls::{Rewind, TlsClient, TlsFailure, TlsInfo};
use super::transport::{self, Dialed, ProxyHeaderSent, Stream, TransportPlan, Via};

const READ_CHUNK: usize = 16 * 1024;

enum Transport {
    Plain(TcpStream),
    /// TLS over TCP, kept apart so that socket options still reach the socket.
    TlsTcp(Box<tokio_rustls::client::TlsStream<Rewind<TcpStream>>>),
    Tls(Box<tokio_rustls::client::TlsStream<Rewind<Box<dyn ByteStream>>>>),
    /// Any other byte stream: a Unix socket, a process's stdio, or, in tests, in-memory
    /// pipes that run every RFC 5321 deadline on a paused clock.
    Stream(Box<dyn ByteStream>),
}

/// What a connection can run over besides TCP.
pub trait ByteStream: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> ByteStream for T {}

/// Why reading a reply failed.
#[derive(Debug)]
pub enum ReadError {
    Timeout,
    /// The server closed the connection; `partial` says whether part of a reply came first.
    Closed {
        partial: bool,
    },
    Io(io::Error),
    Protocol(ReplyError),
}

/// How a write that watched the read side ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Watched {
    /// Every byte was written.
    Written,
    /// The server sent something before the write was done; it is buffered for
    /// `read_reply`, and the rest was not written.
    Interrupted,
}

/// Why writing failed.
#[derive(Debug)]
pub enum WriteError {
    Timeout,
    Io(io::Error),
}

#[derive(Debug)]
pub enum ConnectError {
    Timeout,
    Io(io::Error),
    /// Already in words: a SOCKS5 refusal, a bind that failed, a command that cannot run.
    Other(String),
}

/// What opening a connection did besides connecting, for the `connected` event.
pub struct Opening {
    pub via: Via,
    pub proxy_header: Option<ProxyHeaderSent>,
}

pub struct Connection {
    transport: Option<Transport>,
    /// Bytes received but not yet part of a returned reply.
    buffered: Vec<u8>,
    parser: ReplyParser,
    /// A read error met while data already received was still to be parsed: it is
    /// returned once that data is used up.
    pending: Option<io::Error>,
    peer: SocketAddr,
    local: SocketAddr,
    /// The process at the other end of a `--pipe` connection.
    process: Option<PipeProcess>,
    /// ACK what arrives at once (see [`Connection::set_quick_ack`]).
    quick_ack: bool,
}

/// How long a `--pipe` process may take to exit once its stdin is closed.
const PROCESS_EXIT_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

impl Connection {
    /// A connection to one hop the way `plan` says (TCP, SOCKS5, Unix socket, pipe),
    /// with its PROXY header already sent when asked for.
    pub async fn open(
        plan: &TransportPlan,
        host: &str,
        addr: SocketAddr,
        deadline: Instant,
    ) -> Result<(Connection, Opening), ConnectError> {
        let Dialed {
            stream,
            peer,
            local,
            via,
            process,
            proxy_header,
        } = transport::dial(plan, host, addr, deadline).await?;
        let transport = match stream {
            Stream::Tcp(tcp) => Transport::Plain(tcp),
            Stream::Other(s) => Transport::Stream(s),
        };
        Ok((
            Connection {
                transport: Some(transport),
                buffered: Vec::new(),
                parser: ReplyParser::new(ReplyLimits::default()),
                pending: None,
                peer,
                local,
                process,
                quick_ack: false,
            },
            Opening { via, proxy_header },
        ))
    }

    /// A connection over a stream that is already open.
    pub fn over_stream(
        stream: impl ByteStream + 'static,
        peer: SocketAddr,
        local: SocketAddr,
    ) -> Connection {
        Connection {
            transport: Some(Transport::Stream(Box::new(stream))),
            buffered: Vec::new(),
            parser: ReplyParser::new(ReplyLimits::default()),
            pending: None,
            peer,
            local,
            process: None,
            quick_ack: false,
        }
    }

    /// Lines the `--pipe` process wrote to its stderr since the last call.
    pub fn process_stderr(&mut self) -> Vec<String> {
        self.process
            .as_mut()
            .map(PipeProcess::stderr_lines)
            .unwrap_or_default()
    }

    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    pub fn local(&self) -> SocketAddr {
        self.local
    }

    pub fn is_tls(&self) -> bool {
        matches!(
            self.transport,
            Some(Transport::Tls(_) | Transport::TlsTcp(_))
        )
    }

    /// Bytes the server sent beyond the last complete reply. After the 220 to STARTTLS
    /// these must be none (RFC 3207 §5: anything else is response injection).
    pub fn unread(&self) -> &[u8] {
        &self.buffered
    }

    /// Whether the server sent anything beyond the last complete reply, counting bytes
    /// that have already arrived but were not read yet. Nothing is waited for.
    pub async fn has_unread(&mut self) -> bool {
        if !self.buffered.is_empty() || self.parser.in_progress() {
            return true;
        }
        let mut chunk = [0u8; READ_CHUNK];
        // The read is polled once: what is ready is taken, nothing is awaited. Not a zero
        // timeout: tokio rounds a timer up to the next millisecond, and this runs before
        // every write.
        let n = {
            let mut read = std::pin::pin!(self.read(&mut chunk));
            std::future::poll_fn(|cx| match read.as_mut().poll(cx) {
                std::task::Poll::Ready(Ok(n)) => std::task::Poll::Ready(n),
                _ => std::task::Poll::Ready(0),
            })
            .await
        };
        self.buffered.extend_from_slice(&chunk[..n]);
        !self.buffered.is_empty()
    }

    /// Reads one complete reply; caps apply while bytes arrive.
    pub async fn read_reply(&mut self, deadline: Instant) -> Result<Reply, ReadError> {
        loop {
            if !self.buffered.is_empty() {
                match self
                    .parser
                    .feed(&self.buffered)
                    .map_err(ReadError::Protocol)?
                {
                    Parsed::Complete { reply, consumed } => {
                        self.buffered.drain(..consumed);
                        return Ok(reply);
                    }
                    Parsed::Incomplete => self.buffered.clear(),
                }
            }
            if let Some(e) = self.pending.take() {
                if self.salvage() {
                    self.pending = Some(e);
                    continue;
                }
                return Err(ReadError::Io(e));
            }
            let mut chunk = [0u8; READ_CHUNK];
            let n = match timeout_at(deadline, self.read(&mut chunk)).await {
                Err(_) => return Err(ReadError::Timeout),
                Ok(Ok(n)) => n,
                Ok(Err(e)) => {
                    // A reply that arrived just before the error still counts.
                    if self.salvage() {
                        self.pending = Some(e);
                        continue;
                    }
                    return Err(ReadError::Io(e));
                }
            };
            if n == 0 {
                return Err(ReadError::Closed {
                    partial: self.parser.in_progress(),
                });
            }
            self.buffered.extend_from_slice(&chunk[..n]);
        }
    }

    /// From now on, ACK each read's bytes at once instead of delaying the ACK (TCP
    /// only; elsewhere nothing changes). A server that answers a pipelined group in
    /// several writes sends each after the previous one is acknowledged (Nagle's
    /// algorithm): with the usual delayed ACK, every batch then stalls 40 ms on Linux.
    pub fn set_quick_ack(&mut self, on: bool) {
        self.quick_ack = on;
        if on {
            self.ack_now();
        }
    }

    /// Asks for the next ACKs to leave at once; the kernel drops back to delayed ACKs
    /// by itself, so this is asked again after each read.
    fn ack_now(&self) {
        let tcp = match self.transport.as_ref() {
            Some(Transport::Plain(s)) => s,
            Some(Transport::TlsTcp(s)) => s.get_ref().0.get_ref(),
            _ => return,
        };
        // Only a hint: a socket that refuses it is still a working socket.
        let _ = super::transport::quick_ack(tcp);
    }

    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.read_transport(buf).await;
        if self.quick_ack && matches!(read, Ok(n) if n > 0) {
            self.ack_now();
        }
        read
    }

    async fn read_transport(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.transport.as_mut() {
            Some(Transport::Plain(s)) => s.read(buf).await,
            Some(Transport::TlsTcp(s)) => s.read(buf).await,
            Some(Transport::Tls(s)) => s.read(buf).await,
            Some(Transport::Stream(s)) => s.read(buf).await,
            None => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "connection lost",
            )),
        }
    }

    /// Plaintext TLS decrypted before a later record failed (a server that sends its
    /// reply, then bytes that are not TLS): rustls keeps it, the read error hides it.
    /// Moves it to `buffered`; says whether there was any.
    fn salvage(&mut self) -> bool {
        use std::io::Read;
        let before = self.buffered.len();
        let conn = match self.transport.as_mut() {
            Some(Transport::Tls(s)) => Some(s.get_mut().1),
            Some(Transport::TlsTcp(s)) => Some(s.get_mut().1),
            _ => None,
        };
        if let Some(conn) = conn {
            let mut chunk = [0u8; READ_CHUNK];
            while let Ok(n) = conn.reader().read(&mut chunk) {
                if n == 0 {
                    break;
                }
                self.buffered.extend_from_slice(&chunk[..n]);
            }
        }
        self.buffered.len() > before
    }

    /// A complete reply among the bytes already received, if there is one; nothing is
    /// waited for. After a failed write, a reply that came first decides the outcome.
    pub fn received_reply(&mut self) -> Option<Reply> {
        self.salvage();
        if self.buffered.is_empty() {
            return None;
        }
        match self.parser.feed(&self.buffered) {
            Ok(Parsed::Complete { reply, consumed }) => {
                self.buffered.drain(..consumed);
                Some(reply)
            }
            Ok(Parsed::Incomplete) => {
                self.buffered.clear();
                None
            }
            Err(_) => None,
        }
    }

    /// Writes `bytes` while watching the read side: a server that answers before the
    /// content is done (550 mid-body, then it stops reading) must not leave us blocked
    /// on a write until the data-block timeout. Bytes that arrive stop the write.
    pub async fn write_all_watching(
        &mut self,
        bytes: &[u8],
        deadline: Instant,
    ) -> Result<Watched, WriteError> {
        let Connection {
            transport,
            buffered,
            pending,
            ..
        } = self;
        let stream: &mut dyn ByteStream = match transport.as_mut() {
            Some(Transport::Plain(s)) => s,
            Some(Transport::TlsTcp(s)) => &mut **s,
            Some(Transport::Tls(s)) => &mut **s,
            Some(Transport::Stream(s)) => &mut **s,
            None => {
                return Err(WriteError::Io(io::Error::new(
                    io::ErrorKind::NotConnected,
                    "connection lost",
                )));
            }
        };
        let (mut rd, mut wr) = tokio::io::split(stream);
        let write = timeout_at(deadline, async move {
            wr.write_all(bytes).await?;
            wr.flush().await
        });
        tokio::pin!(write);
        let mut chunk = vec![0u8; READ_CHUNK];
        let mut reading = pending.is_none();
        loop {
            tokio::select! {
                // A write that is done wins: then whatever arrived answers the content.
                biased;
                written = &mut write => {
                    return match written {
                        Err(_) => Err(WriteError::Timeout),
                        Ok(Ok(())) => Ok(Watched::Written),
                        Ok(Err(e)) => Err(WriteError::Io(e)),
                    };
                }
                read = rd.read(&mut chunk), if reading => match read {
                    Ok(0) => reading = false,
                    Ok(n) => {
                        buffered.extend_from_slice(&chunk[..n]);
                        return Ok(Watched::Interrupted);
                    }
                    Err(e) => {
                        *pending = Some(e);
                        reading = false;
                    }
                },
            }
        }
    }

    pub async fn write_all(&mut self, bytes: &[u8], deadline: Instant) -> Result<(), WriteError> {
        let write = async {
            match self.transport.as_mut() {
                Some(Transport::Plain(s)) => s.write_all(bytes).await,
                Some(Transport::TlsTcp(s)) => {
                    s.write_all(bytes).await?;
                    s.flush().await
                }
                Some(Transport::Tls(s)) => {
                    s.write_all(bytes).await?;
                    s.flush().await
                }
                Some(Transport::Stream(s)) => {
                    s.write_all(bytes).await?;
                    s.flush().await
                }
                None => Err(io::Error::new(
                    io::ErrorKind::NotConnected,
                    "connection lost",
                )),
            }
        };
        match timeout_at(deadline, write).await {
            Err(_) => Err(WriteError::Timeout),
            Ok(r) => r.map_err(WriteError::Io),
        }
    }

    /// Replaces the transport by TLS over it (STARTTLS or implicit TLS), whatever carries
    /// it. The reply parser starts afresh: nothing from before the handshake may carry over.
    pub async fn upgrade_tls(
        &mut self,
        client: &TlsClient,
        host: &str,
        deadline: Instant,
    ) -> Result<TlsInfo, TlsFailure> {
        let (transport, info) = match self.transport.take() {
            Some(Transport::Plain(tcp)) => {
                let (tls, info) = client.handshake(tcp, host, deadline).await?;
                (Transport::TlsTcp(Box::new(tls)), info)
            }
            Some(Transport::Stream(s)) => {
                let (tls, info) = client.handshake(s, host, deadline).await?;
                (Transport::Tls(Box::new(tls)), info)
            }
            other => {
                self.transport = other;
                return Err(TlsFailure::Handshake("TLS is already active".into()));
            }
        };
        self.transport = Some(transport);
        self.parser = ReplyParser::new(ReplyLimits::default());
        Ok(info)
    }

    /// After QUIT, on plain TCP: says at once that nothing more will be written (a FIN),
    /// while the 221 is still read. Exim before 4.99 holds its 221 back (corked) until the
    /// client closes, or 200 ms pass (Exim bug 3142), hoping the client closes first; the
    /// FIN ends that wait. A server reads QUIT before it can see the end of the input, so
    /// the 221 still comes. Not over TLS: a close_notify may make a TLS 1.2 server drop
    /// the 221 it has yet to send (RFC 5246 §7.2.1).
    pub async fn end_writes_after_quit(&mut self) {
        if let Some(Transport::Plain(s)) = self.transport.as_mut() {
            let _ = s.shutdown().await;
        }
    }

    /// Closes the write side politely; errors do not matter any more. A `--pipe`
    /// process then gets its stdin closed and a few seconds to exit before it is killed:
    /// how it ended, and its last stderr lines, are returned.
    pub async fn shutdown(&mut self) -> Option<(Option<ProcessEnd>, Vec<String>)> {
        if let Some(t) = self.transport.as_mut() {
            let _ = match t {
                Transport::Plain(s) => s.shutdown().await,
                Transport::TlsTcp(s) => s.shutdown().await,
                Transport::Tls(s) => s.shutdown().await,
                Transport::Stream(s) => s.shutdown().await,
            };
        }
        let mut process = self.process.take()?;
        // The shutdown closed the process's stdin. What it still writes (a TLS
        // close_notify, a last word) is read and dropped until it closes its stdout, so
        // it never dies of a broken pipe; then it gets the rest of the grace to exit.
        let grace = Instant::now() + PROCESS_EXIT_GRACE;
        let mut chunk = [0u8; READ_CHUNK];
        while let Ok(Ok(n)) = timeout_at(grace, self.read(&mut chunk)).await {
            if n == 0 {
                break;
            }
        }
        self.transport = None;
        let left = grace.saturating_duration_since(Instant::now());
        Some(process.finish(left).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loopback() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 25))
    }

    /// Asking whether the server sent anything extra must not wait: tokio's timers
    /// round up to the next millisecond, so even a zero timeout parked every write of
    /// a pipelined batch for up to 1 ms. On a paused clock any timer shows as time gone.
    #[tokio::test(start_paused = true)]
    async fn checking_for_unread_bytes_arms_no_timer() {
        let (client, mut server) = tokio::io::duplex(1024);
        let mut conn = Connection::over_stream(client, loopback(), loopback());
        // Off a millisecond boundary, where a rounded-up timer would wait.
        tokio::time::advance(std::time::Duration::from_micros(300)).await;
        let before = Instant::now();
        assert!(!conn.has_unread().await);
        assert_eq!(Instant::now(), before);
        server.write_all(b"250 extra\r\n").await.unwrap();
        assert!(conn.has_unread().await);
        assert_eq!(Instant::now(), before);
        assert_eq!(conn.unread(), b"250 extra\r\n");
    }

    /// A plain TCP connection to a server that has sent `greeting`.
    async fn tcp_pair(greeting: &[u8]) -> (Connection, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let tcp = TcpStream::connect(addr).await.unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        server.write_all(greeting).await.unwrap();
        let local = tcp.local_addr().unwrap();
        let conn = Connection {
            transport: Some(Transport::Plain(tcp)),
            buffered: Vec::new(),
            parser: ReplyParser::new(ReplyLimits::default()),
            pending: None,
            peer: addr,
            local,
            process: None,
            quick_ack: false,
        };
        (conn, server)
    }

    fn quick_ack_on(conn: &Connection) -> bool {
        match conn.transport.as_ref() {
            Some(Transport::Plain(tcp)) => socket2::SockRef::from(tcp).tcp_quickack().unwrap(),
            _ => unreachable!("a TCP connection"),
        }
    }

    /// The kernel drops back to delayed ACKs by itself: a connection asked for quick
    /// ACKs asks again after every read.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn quick_acks_are_asked_again_after_each_read() {
        let deadline = Instant::now() + std::time::Duration::from_secs(60);
        let (mut conn, mut server) = tcp_pair(b"220 hi\r\n").await;
        conn.set_quick_ack(true);
        assert!(quick_ack_on(&conn));
        conn.read_reply(deadline).await.unwrap();
        for _ in 0..3 {
            if let Some(Transport::Plain(tcp)) = conn.transport.as_ref() {
                socket2::SockRef::from(tcp).set_tcp_quickack(false).unwrap();
            }
            server.write_all(b"250 ok\r\n").await.unwrap();
            conn.read_reply(deadline).await.unwrap();
            assert!(quick_ack_on(&conn));
        }
    }
}
