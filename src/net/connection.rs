//! One SMTP connection: TCP or TLS underneath, a bounded reply reader on top.

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};

use crate::smtp::{Parsed, Reply, ReplyError, ReplyLimits, ReplyParser};

use super::tls::{TlsClient, TlsFailure, TlsInfo};

const READ_CHUNK: usize = 16 * 1024;

enum Transport {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    /// A byte stream made elsewhere: in-memory pipes let tests run every RFC 5321
    /// deadline on a paused clock, which real sockets cannot do exactly.
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
}

pub struct Connection {
    transport: Option<Transport>,
    /// Bytes received but not yet part of a returned reply.
    buffered: Vec<u8>,
    parser: ReplyParser,
    peer: SocketAddr,
    local: SocketAddr,
}

impl Connection {
    pub async fn connect(addr: SocketAddr, deadline: Instant) -> Result<Connection, ConnectError> {
        let tcp = match timeout_at(deadline, TcpStream::connect(addr)).await {
            Err(_) => return Err(ConnectError::Timeout),
            Ok(r) => r.map_err(ConnectError::Io)?,
        };
        // Commands are small and pipelined groups are written in one call: Nagle only adds delay.
        let _ = tcp.set_nodelay(true);
        let local = tcp.local_addr().map_err(ConnectError::Io)?;
        Ok(Connection {
            transport: Some(Transport::Plain(tcp)),
            buffered: Vec::new(),
            parser: ReplyParser::new(ReplyLimits::default()),
            peer: addr,
            local,
        })
    }

    /// A connection over a stream that is already open. TLS cannot be started on it.
    pub fn over_stream(
        stream: impl ByteStream + 'static,
        peer: SocketAddr,
        local: SocketAddr,
    ) -> Connection {
        Connection {
            transport: Some(Transport::Stream(Box::new(stream))),
            buffered: Vec::new(),
            parser: ReplyParser::new(ReplyLimits::default()),
            peer,
            local,
        }
    }

    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    pub fn local(&self) -> SocketAddr {
        self.local
    }

    pub fn is_tls(&self) -> bool {
        matches!(self.transport, Some(Transport::Tls(_)))
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
        // A zero timeout polls the read once: what is ready is taken, nothing is awaited.
        if let Ok(Ok(n)) =
            tokio::time::timeout(std::time::Duration::ZERO, self.read(&mut chunk)).await
            && n > 0
        {
            self.buffered.extend_from_slice(&chunk[..n]);
        }
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
            let mut chunk = [0u8; READ_CHUNK];
            let n = match timeout_at(deadline, self.read(&mut chunk)).await {
                Err(_) => return Err(ReadError::Timeout),
                Ok(r) => r.map_err(ReadError::Io)?,
            };
            if n == 0 {
                return Err(ReadError::Closed {
                    partial: self.parser.in_progress(),
                });
            }
            self.buffered.extend_from_slice(&chunk[..n]);
        }
    }

    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.transport.as_mut() {
            Some(Transport::Plain(s)) => s.read(buf).await,
            Some(Transport::Tls(s)) => s.read(buf).await,
            Some(Transport::Stream(s)) => s.read(buf).await,
            None => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "connection lost",
            )),
        }
    }

    pub async fn write_all(&mut self, bytes: &[u8], deadline: Instant) -> Result<(), WriteError> {
        let write = async {
            match self.transport.as_mut() {
                Some(Transport::Plain(s)) => s.write_all(bytes).await,
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

    /// Replaces the TCP transport by TLS over it (STARTTLS or implicit TLS). The reply
    /// parser starts afresh: nothing from before the handshake may carry over.
    pub async fn upgrade_tls(
        &mut self,
        client: &TlsClient,
        host: &str,
        deadline: Instant,
    ) -> Result<TlsInfo, TlsFailure> {
        let tcp = match self.transport.take() {
            Some(Transport::Plain(tcp)) => tcp,
            other => {
                self.transport = other;
                return Err(TlsFailure::Handshake(
                    "TLS needs a plain TCP connection".into(),
                ));
            }
        };
        let (tls, info) = client.handshake(tcp, host, deadline).await?;
        self.transport = Some(Transport::Tls(Box::new(tls)));
        self.parser = ReplyParser::new(ReplyLimits::default());
        Ok(info)
    }

    /// Closes the write side politely; errors do not matter any more.
    pub async fn shutdown(&mut self) {
        if let Some(t) = self.transport.as_mut() {
            let _ = match t {
                Transport::Plain(s) => s.shutdown().await,
                Transport::Tls(s) => s.shutdown().await,
                Transport::Stream(s) => s.shutdown().await,
            };
        }
    }
}
