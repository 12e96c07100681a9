//! How a connection reaches its server: TCP (from a chosen source address if asked),
//! through a SOCKS5 proxy, over a Unix domain socket, or over a local process's stdio;
//! and the PROXY header that may open it. `dial` makes the byte stream; everything
//! above it (TLS, SMTP) is the same whatever the way.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{Instant, timeout_at};

use super::connection::{ByteStream, ConnectError};
use super::pipe::{self, PipeProcess};
use super::proxy_header::{self, ProxyVersion};
use super::socks5::{self, Destination, SocksAuth};
use super::target::{self, Family, Target};

/// The way to the server, chosen once per run.
#[derive(Clone, Debug, Default)]
pub enum Route {
    #[default]
    Tcp,
    /// A SOCKS5 proxy that connects onwards (RFC 1928).
    Socks5 {
        proxy: Target,
        auth: Option<SocksAuth>,
    },
    /// A Unix domain socket.
    Unix(PathBuf),
    /// A process whose stdin and stdout carry the session; `command` as typed.
    Pipe { command: String, argv: Vec<String> },
}

/// A PROXY header to send first; addresses not given are the connection's own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyHeaderPlan {
    pub version: ProxyVersion,
    pub source: Option<SocketAddr>,
    pub dest: Option<SocketAddr>,
}

#[derive(Clone, Debug, Default)]
pub struct TransportPlan {
    pub route: Route,
    /// The source address (and port) to bind before connecting.
    pub bind: Option<SocketAddr>,
    pub proxy_header: Option<ProxyHeaderPlan>,
}

/// The address a hop carries when the transport has none (Unix socket, pipe) or when
/// a SOCKS proxy resolves the name: unspecified, with the port.
pub fn placeholder(port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)
}

impl TransportPlan {
    /// Whether hops have real addresses of their own (false for a Unix socket or pipe).
    pub fn is_network(&self) -> bool {
        matches!(self.route, Route::Tcp | Route::Socks5 { .. })
    }

    /// What the transport is, for the `connecting` event.
    pub fn via(&self) -> Via {
        match &self.route {
            Route::Tcp => Via::Tcp { bind: self.bind },
            Route::Socks5 { proxy, .. } => Via::Socks5 {
                proxy: proxy.display(),
                bind: self.bind,
            },
            Route::Unix(path) => Via::Unix {
                path: path.display().to_string(),
            },
            Route::Pipe { command, .. } => Via::Pipe {
                command: command.clone(),
                pid: None,
            },
        }
    }
}

/// What a connection runs over, as events and renderers describe it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "transport", rename_all = "kebab-case")]
pub enum Via {
    Tcp {
        #[serde(skip_serializing_if = "Option::is_none")]
        bind: Option<SocketAddr>,
    },
    Socks5 {
        proxy: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        bind: Option<SocketAddr>,
    },
    Unix {
        path: String,
    },
    Pipe {
        command: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pid: Option<u32>,
    },
}

/// The stream `dial` made.
pub enum Stream {
    Tcp(TcpStream),
    Other(Box<dyn ByteStream>),
}

/// A PROXY header as it went out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyHeaderSent {
    pub version: ProxyVersion,
    pub source: SocketAddr,
    pub dest: SocketAddr,
}

pub struct Dialed {
    pub stream: Stream,
    pub peer: SocketAddr,
    pub local: SocketAddr,
    pub via: Via,
    pub process: Option<PipeProcess>,
    pub proxy_header: Option<ProxyHeaderSent>,
}

/// Opens the way to one hop. `host` is the name the hop was found by; through SOCKS5
/// it goes to the proxy unresolved when the hop has no address of its own.
pub async fn dial(
    plan: &TransportPlan,
    host: &str,
    addr: SocketAddr,
    deadline: Instant,
) -> Result<Dialed, ConnectError> {
    let mut dialed = match &plan.route {
        Route::Tcp => {
            let tcp = tcp_connect(addr, plan.bind, deadline).await?;
            let local = tcp.local_addr().map_err(ConnectError::Io)?;
            Dialed {
                stream: Stream::Tcp(tcp),
                peer: addr,
                local,
                via: plan.via(),
                process: None,
                proxy_header: None,
            }
        }
        Route::Socks5 { proxy, auth } => {
            let (tcp, proxy_addr) = proxy_connect(proxy, plan.bind, deadline).await?;
            let local = tcp.local_addr().map_err(ConnectError::Io)?;
            let mut tcp = tcp;
            let dest = if addr.ip().is_unspecified() {
                match host.parse::<IpAddr>() {
                    Ok(ip) => Destination::Ip(SocketAddr::new(ip, addr.port())),
                    Err(_) => Destination::Name(host.to_string(), addr.port()),
                }
            } else {
                Destination::Ip(addr)
            };
            match timeout_at(deadline, socks5::negotiate(&mut tcp, &dest, auth.as_ref())).await {
                Err(_) => return Err(ConnectError::Timeout),
                Ok(Err(socks5::NegotiationError::Socks(e))) => {
                    return Err(ConnectError::Other(format!(
                        "SOCKS5 proxy {proxy_addr}: {e}"
                    )));
                }
                Ok(Err(socks5::NegotiationError::Io(e))) => {
                    return Err(ConnectError::Other(format!(
                        "SOCKS5 proxy {proxy_addr}: {}",
                        proxy_words(&e)
                    )));
                }
                Ok(Ok(_bound)) => {}
            }
            Dialed {
                stream: Stream::Tcp(tcp),
                peer: addr,
                local,
                via: Via::Socks5 {
                    proxy: proxy_addr.to_string(),
                    bind: plan.bind,
                },
                process: None,
                proxy_header: None,
            }
        }
        Route::Unix(path) => {
            let unix = match timeout_at(deadline, tokio::net::UnixStream::connect(path)).await {
                Err(_) => return Err(ConnectError::Timeout),
                Ok(r) => r.map_err(|e| {
                    ConnectError::Other(format!(
                        "Unix socket {}: {}",
                        path.display(),
                        unix_words(&e)
                    ))
                })?,
            };
            Dialed {
                stream: Stream::Other(Box::new(unix)),
                peer: addr,
                local: placeholder(0),
                via: plan.via(),
                process: None,
                proxy_header: None,
            }
        }
        Route::Pipe { command, argv } => {
            let (stream, process) = pipe::spawn(argv)
                .map_err(|e| ConnectError::Other(format!("cannot run {:?}: {e}", argv[0])))?;
            Dialed {
                stream: Stream::Other(Box::new(stream)),
                peer: addr,
                local: placeholder(0),
                via: Via::Pipe {
                    command: command.clone(),
                    pid: process.pid(),
                },
                process: Some(process),
                proxy_header: None,
            }
        }
    };
    if let Some(header) = &plan.proxy_header {
        let sent = send_proxy_header(&mut dialed, header, deadline).await?;
        dialed.proxy_header = Some(sent);
    }
    Ok(dialed)
}

async fn send_proxy_header(
    dialed: &mut Dialed,
    plan: &ProxyHeaderPlan,
    deadline: Instant,
) -> Result<ProxyHeaderSent, ConnectError> {
    let known = |a: SocketAddr| (!a.ip().is_unspecified()).then_some(a);
    let source = plan.source.or(known(dialed.local));
    let dest = plan.dest.or(known(dialed.peer));
    let (Some(source), Some(dest)) = (source, dest) else {
        return Err(ConnectError::Other(
            "the PROXY header needs --proxy-source and --proxy-dest here: the connection has no IP address of its own for it (a Unix socket, a pipe, or a name the SOCKS5 proxy resolves)".into(),
        ));
    };
    let bytes = proxy_header::encode(plan.version, source, dest).map_err(ConnectError::Other)?;
    let write = async {
        match &mut dialed.stream {
            Stream::Tcp(s) => s.write_all(&bytes).await,
            Stream::Other(s) => {
                s.write_all(&bytes).await?;
                s.flush().await
            }
        }
    };
    match timeout_at(deadline, write).await {
        Err(_) => return Err(ConnectError::Timeout),
        Ok(r) => r.map_err(ConnectError::Io)?,
    }
    Ok(ProxyHeaderSent {
        version: plan.version,
        source,
        dest,
    })
}

/// Sends the ACKs of what arrives next at once rather than delayed (Linux's
/// `TCP_QUICKACK`). The kernel may go back to delaying them at any time, so callers
/// ask again after each read. Elsewhere nothing is done.
pub(crate) fn quick_ack(tcp: &TcpStream) -> std::io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    return socket2::SockRef::from(tcp).set_tcp_quickack(true);
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = tcp;
        Ok(())
    }
}

/// TCP to `addr`, from `bind` when given.
async fn tcp_connect(
    addr: SocketAddr,
    bind: Option<SocketAddr>,
    deadline: Instant,
) -> Result<TcpStream, ConnectError> {
    let connect = async {
        match bind {
            None => TcpStream::connect(addr).await.map_err(ConnectError::Io),
            Some(local) => {
                if local.is_ipv4() != addr.is_ipv4() {
                    return Err(ConnectError::Other(format!(
                        "--local-addr {} and {addr} are of different address families",
                        local.ip()
                    )));
                }
                let socket = if local.is_ipv4() {
                    TcpSocket::new_v4()
                } else {
                    TcpSocket::new_v6()
                }
                .map_err(ConnectError::Io)?;
                if local.port() != 0 {
                    // A fixed source port is reused at once after the last run's TIME_WAIT.
                    let _ = socket.set_reuseaddr(true);
                }
                socket.bind(local).map_err(|e| {
                    ConnectError::Other(format!(
                        "cannot bind --local-addr {local}: {}",
                        bind_words(&e)
                    ))
                })?;
                socket.connect(addr).await.map_err(ConnectError::Io)
            }
        }
    };
    let tcp = match timeout_at(deadline, connect).await {
        Err(_) => return Err(ConnectError::Timeout),
        Ok(r) => r?,
    };
    // Commands are small and pipelined groups are written in one call: Nagle only adds delay.
    let _ = tcp.set_nodelay(true);
    Ok(tcp)
}

/// TCP to the SOCKS5 proxy, trying each of its addresses.
async fn proxy_connect(
    proxy: &Target,
    bind: Option<SocketAddr>,
    deadline: Instant,
) -> Result<(TcpStream, SocketAddr), ConnectError> {
    let family = match bind {
        Some(b) if b.is_ipv4() => Family {
            v4_only: true,
            v6_only: false,
        },
        Some(_) => Family {
            v4_only: false,
            v6_only: true,
        },
        None => Family::default(),
    };
    let addrs = target::resolve(proxy, family)
        .await
        .map_err(|e| ConnectError::Other(format!("SOCKS5 proxy: {e}")))?;
    let mut last = None;
    for addr in addrs {
        match tcp_connect(addr, bind, deadline).await {
            Ok(tcp) => return Ok((tcp, addr)),
            Err(ConnectError::Io(e)) => {
                last = Some(ConnectError::Other(format!(
                    "SOCKS5 proxy {addr}: {}",
                    proxy_words(&e)
                )))
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| ConnectError::Other("SOCKS5 proxy: no address".into())))
}

/// Plain words for what went wrong talking to the SOCKS5 proxy.
fn proxy_words(e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        ConnectionRefused => "connection refused".into(),
        ConnectionReset => "connection reset by the proxy".into(),
        UnexpectedEof | BrokenPipe => "the proxy closed the connection".into(),
        HostUnreachable => "host unreachable".into(),
        NetworkUnreachable => "network unreachable".into(),
        _ => e.to_string(),
    }
}

fn unix_words(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such socket".into(),
        std::io::ErrorKind::ConnectionRefused => {
            "connection refused (nothing is listening on it)".into()
        }
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

fn bind_words(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::AddrNotAvailable => "this host has no such address".into(),
        std::io::ErrorKind::AddrInUse => "the address and port are in use".into(),
        std::io::ErrorKind::PermissionDenied => {
            "permission denied (a port below 1024 needs root)".into()
        }
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn quick_ack_is_set_on_the_socket() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let tcp = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let _server = listener.accept().await.unwrap();
        let sock = socket2::SockRef::from(&tcp);
        sock.set_tcp_quickack(false).unwrap();
        assert!(!sock.tcp_quickack().unwrap());
        quick_ack(&tcp).unwrap();
        assert!(sock.tcp_quickack().unwrap());
    }
}
