//! SOCKS5 (RFC 1928) with username/password authentication (RFC 1929): the
//! negotiation as pure encode/decode functions, and a small driver that runs them over
//! a stream. Only a CONNECT is ever asked for.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const VERSION: u8 = 5;
const NO_AUTH: u8 = 0x00;
const USER_PASS: u8 = 0x02;
const NO_ACCEPTABLE: u8 = 0xFF;
/// RFC 1929 §2: the version of the username/password subnegotiation.
const AUTH_VERSION: u8 = 1;

/// Why the proxy did not give us a tunnel. Each has a one-line description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SocksError {
    /// Not a SOCKS5 answer at all (wrong version byte).
    NotSocks5(u8),
    /// The proxy accepts none of the methods offered (0xFF), or picked one not offered.
    NoAcceptableMethod {
        offered_auth: bool,
    },
    UnexpectedMethod(u8),
    /// RFC 1929 status other than 0.
    AuthRejected(u8),
    /// A CONNECT reply other than 0 (succeeded).
    Refused(u8),
    /// Reserved byte or address type the RFC does not define.
    Malformed(String),
    /// A user name or password longer than RFC 1929 allows, or a host name longer than
    /// one length byte can say.
    TooLong(&'static str),
}

impl std::fmt::Display for SocksError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SocksError::NotSocks5(v) => write!(
                f,
                "the proxy did not answer as a SOCKS5 server (version byte {v:#04x})"
            ),
            SocksError::NoAcceptableMethod { offered_auth: true } => f.write_str(
                "the SOCKS5 proxy accepts none of the offered methods (no authentication, username/password)",
            ),
            SocksError::NoAcceptableMethod {
                offered_auth: false,
            } => f.write_str(
                "the SOCKS5 proxy requires authentication: give --socks5-user and a password source",
            ),
            SocksError::UnexpectedMethod(m) => write!(
                f,
                "the SOCKS5 proxy chose method {m:#04x}, which was not offered"
            ),
            SocksError::AuthRejected(status) => write!(
                f,
                "the SOCKS5 proxy rejected the user name or password (status {status})"
            ),
            SocksError::Refused(code) => {
                write!(f, "the SOCKS5 proxy refused: {} (reply {code})", reply_meaning(*code))
            }
            SocksError::Malformed(why) => write!(f, "malformed SOCKS5 reply: {why}"),
            SocksError::TooLong(what) => write!(f, "{what} is longer than SOCKS5 allows (255 bytes)"),
        }
    }
}

/// RFC 1928 §6: what each CONNECT reply code means.
pub fn reply_meaning(code: u8) -> &'static str {
    match code {
        0 => "succeeded",
        1 => "general SOCKS server failure",
        2 => "connection not allowed by ruleset",
        3 => "network unreachable",
        4 => "host unreachable",
        5 => "connection refused by the destination",
        6 => "TTL expired",
        7 => "command not supported",
        8 => "address type not supported",
        _ => "unassigned reply code",
    }
}

/// Where the proxy should connect: a name goes unresolved (ATYP 3), so the proxy's
/// resolver answers it, not ours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    Ip(SocketAddr),
    Name(String, u16),
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Destination::Ip(a) => write!(f, "{a}"),
            Destination::Name(n, p) => write!(f, "{n}:{p}"),
        }
    }
}

/// The user name and password of RFC 1929. Debug never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct SocksAuth {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for SocksAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocksAuth")
            .field("user", &self.user)
            .field("password", &"[redacted]")
            .finish()
    }
}

/// §3: the methods we offer.
pub fn method_request(auth: bool) -> Vec<u8> {
    if auth {
        vec![VERSION, 2, NO_AUTH, USER_PASS]
    } else {
        vec![VERSION, 1, NO_AUTH]
    }
}

/// The method the proxy chose; `true` when it wants username/password next.
pub fn method_reply(reply: [u8; 2], offered_auth: bool) -> Result<bool, SocksError> {
    if reply[0] != VERSION {
        return Err(SocksError::NotSocks5(reply[0]));
    }
    match reply[1] {
        NO_AUTH => Ok(false),
        USER_PASS if offered_auth => Ok(true),
        NO_ACCEPTABLE => Err(SocksError::NoAcceptableMethod { offered_auth }),
        other => Err(SocksError::UnexpectedMethod(other)),
    }
}

/// RFC 1929 §2: VER ULEN UNAME PLEN PASSWD.
pub fn auth_request(auth: &SocksAuth) -> Result<Vec<u8>, SocksError> {
    let user = auth.user.as_bytes();
    let pass = auth.password.as_bytes();
    if user.is_empty() || user.len() > 255 {
        return Err(SocksError::TooLong("the SOCKS5 user name (1-255 bytes)"));
    }
    if pass.is_empty() || pass.len() > 255 {
        return Err(SocksError::TooLong("the SOCKS5 password (1-255 bytes)"));
    }
    let mut out = vec![AUTH_VERSION, user.len() as u8];
    out.extend_from_slice(user);
    out.push(pass.len() as u8);
    out.extend_from_slice(pass);
    Ok(out)
}

/// RFC 1929 §2: VER STATUS, 0 is success. Some proxies answer with version 5 here;
/// only the status decides.
pub fn auth_reply(reply: [u8; 2]) -> Result<(), SocksError> {
    if reply[0] != AUTH_VERSION && reply[0] != VERSION {
        return Err(SocksError::Malformed(format!(
            "authentication reply version {:#04x}",
            reply[0]
        )));
    }
    match reply[1] {
        0 => Ok(()),
        status => Err(SocksError::AuthRejected(status)),
    }
}

/// §4: VER CMD(CONNECT) RSV ATYP DST.ADDR DST.PORT.
pub fn connect_request(dest: &Destination) -> Result<Vec<u8>, SocksError> {
    let mut out = vec![VERSION, 1, 0];
    let port = match dest {
        Destination::Ip(SocketAddr::V4(a)) => {
            out.push(1);
            out.extend_from_slice(&a.ip().octets());
            a.port()
        }
        Destination::Ip(SocketAddr::V6(a)) => {
            out.push(4);
            out.extend_from_slice(&a.ip().octets());
            a.port()
        }
        Destination::Name(name, port) => {
            let name = name.as_bytes();
            if name.is_empty() || name.len() > 255 {
                return Err(SocksError::TooLong("the destination host name"));
            }
            out.push(3);
            out.push(name.len() as u8);
            out.extend_from_slice(name);
            *port
        }
    };
    out.extend_from_slice(&port.to_be_bytes());
    Ok(out)
}

/// How far a CONNECT reply has arrived.
#[derive(Debug, PartialEq, Eq)]
pub enum ReplyProgress {
    /// The reply is `n` bytes long in all (known once its fifth byte is in); read up
    /// to it and no further: what follows belongs to the tunnel.
    Needs(usize),
    /// The proxy connected; the address it bound on its side, when it said one.
    Connected { bound: Option<SocketAddr> },
}

/// §6: VER REP RSV ATYP BND.ADDR BND.PORT. Never asks for more bytes than the reply has.
pub fn connect_reply(buf: &[u8]) -> Result<ReplyProgress, SocksError> {
    if buf.len() < 5 {
        return Ok(ReplyProgress::Needs(5));
    }
    if buf[0] != VERSION {
        return Err(SocksError::NotSocks5(buf[0]));
    }
    if buf[1] != 0 {
        return Err(SocksError::Refused(buf[1]));
    }
    let total = match buf[3] {
        1 => 4 + 4 + 2,
        4 => 4 + 16 + 2,
        3 => 4 + 1 + usize::from(buf[4]) + 2,
        other => return Err(SocksError::Malformed(format!("address type {other}"))),
    };
    if buf.len() < total {
        return Ok(ReplyProgress::Needs(total));
    }
    let port = u16::from_be_bytes([buf[total - 2], buf[total - 1]]);
    let bound = match buf[3] {
        1 => {
            let o: [u8; 4] = buf[4..8].try_into().expect("length checked");
            Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::from(o)), port))
        }
        4 => {
            let o: [u8; 16] = buf[4..20].try_into().expect("length checked");
            Some(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(o)), port))
        }
        _ => None,
    };
    Ok(ReplyProgress::Connected { bound })
}

/// Why the negotiation over a stream failed.
#[derive(Debug)]
pub enum NegotiationError {
    Socks(SocksError),
    Io(std::io::Error),
}

impl From<std::io::Error> for NegotiationError {
    fn from(e: std::io::Error) -> Self {
        NegotiationError::Io(e)
    }
}

impl From<SocksError> for NegotiationError {
    fn from(e: SocksError) -> Self {
        NegotiationError::Socks(e)
    }
}

/// Runs the negotiation on a stream to the proxy; afterwards the stream is a tunnel to
/// `dest`. Reads exactly the proxy's replies and nothing of what follows them.
pub async fn negotiate<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    dest: &Destination,
    auth: Option<&SocksAuth>,
) -> Result<Option<SocketAddr>, NegotiationError> {
    let request = connect_request(dest)?;
    let login = auth.map(auth_request).transpose()?;
    stream.write_all(&method_request(login.is_some())).await?;
    let mut two = [0u8; 2];
    stream.read_exact(&mut two).await?;
    if method_reply(two, login.is_some())? {
        let login = login.as_deref().expect("only offered with credentials");
        stream.write_all(login).await?;
        stream.read_exact(&mut two).await?;
        auth_reply(two)?;
    }
    stream.write_all(&request).await?;
    let mut reply = Vec::with_capacity(22);
    loop {
        match connect_reply(&reply)? {
            ReplyProgress::Connected { bound } => return Ok(bound),
            ReplyProgress::Needs(n) => {
                let have = reply.len();
                reply.resize(n, 0);
                stream.read_exact(&mut reply[have..]).await?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_offered() {
        assert_eq!(method_request(false), [5, 1, 0]);
        assert_eq!(method_request(true), [5, 2, 0, 2]);
    }

    #[test]
    fn method_choices() {
        assert_eq!(method_reply([5, 0], false), Ok(false));
        assert_eq!(method_reply([5, 2], true), Ok(true));
        assert_eq!(
            method_reply([5, 2], false),
            Err(SocksError::UnexpectedMethod(2))
        );
        assert_eq!(
            method_reply([5, 0xFF], false),
            Err(SocksError::NoAcceptableMethod {
                offered_auth: false
            })
        );
        assert_eq!(method_reply([4, 0], false), Err(SocksError::NotSocks5(4)));
        assert!(
            SocksError::NoAcceptableMethod {
                offered_auth: false
            }
            .to_string()
            .contains("--socks5-user")
        );
    }

    #[test]
    fn rfc1929_exchange() {
        let auth = SocksAuth {
            user: "bob".into(),
            password: "pw".into(),
        };
        assert_eq!(auth_request(&auth).unwrap(), b"\x01\x03bob\x02pw");
        assert_eq!(auth_reply([1, 0]), Ok(()));
        assert_eq!(auth_reply([1, 1]), Err(SocksError::AuthRejected(1)));
        let long = SocksAuth {
            user: "u".repeat(256),
            password: "p".into(),
        };
        assert!(auth_request(&long).is_err());
        assert!(!format!("{auth:?}").contains("pw"));
    }

    #[test]
    fn connect_requests() {
        let v4 = Destination::Ip("192.0.2.1:25".parse().unwrap());
        assert_eq!(
            connect_request(&v4).unwrap(),
            [5, 1, 0, 1, 192, 0, 2, 1, 0, 25]
        );
        let v6 = Destination::Ip("[::1]:587".parse().unwrap());
        let r = connect_request(&v6).unwrap();
        assert_eq!(&r[..4], &[5, 1, 0, 4]);
        assert_eq!(r.len(), 4 + 16 + 2);
        assert_eq!(&r[20..], &[2, 75]);
        let name = Destination::Name("mx.example.org".into(), 25);
        let r = connect_request(&name).unwrap();
        assert_eq!(&r[..5], &[5, 1, 0, 3, 14]);
        assert_eq!(&r[5..19], b"mx.example.org");
        assert_eq!(&r[19..], &[0, 25]);
        assert!(connect_request(&Destination::Name("x".repeat(256), 25)).is_err());
    }

    #[test]
    fn replies_arrive_in_pieces() {
        let full = [5, 0, 0, 1, 127, 0, 0, 1, 0x04, 0x38];
        assert_eq!(connect_reply(&full[..2]), Ok(ReplyProgress::Needs(5)));
        assert_eq!(connect_reply(&full[..5]), Ok(ReplyProgress::Needs(10)));
        assert_eq!(
            connect_reply(&full),
            Ok(ReplyProgress::Connected {
                bound: Some("127.0.0.1:1080".parse().unwrap())
            })
        );
        let named = [5, 0, 0, 3, 2, b'h', b'x', 0, 1];
        assert_eq!(connect_reply(&named[..5]), Ok(ReplyProgress::Needs(9)));
        assert_eq!(
            connect_reply(&named),
            Ok(ReplyProgress::Connected { bound: None })
        );
        let mut v6 = vec![5, 0, 0, 4];
        v6.extend_from_slice(&[0; 15]);
        v6.extend_from_slice(&[1, 0, 25]);
        assert_eq!(connect_reply(&v6[..5]), Ok(ReplyProgress::Needs(22)));
        assert!(matches!(
            connect_reply(&v6),
            Ok(ReplyProgress::Connected { bound: Some(a) }) if a == "[::1]:25".parse().unwrap()
        ));
    }

    #[test]
    fn every_reply_code_has_its_own_words() {
        let mut seen = std::collections::HashSet::new();
        for code in 1..=8u8 {
            let e = connect_reply(&[5, code, 0, 1, 0]).unwrap_err();
            assert_eq!(e, SocksError::Refused(code));
            let text = e.to_string();
            assert!(!text.contains('\n'));
            assert!(seen.insert(reply_meaning(code)), "{code}");
        }
        assert!(SocksError::Refused(9).to_string().contains("unassigned"));
        assert_eq!(
            connect_reply(&[5, 0, 0, 9, 0]),
            Err(SocksError::Malformed("address type 9".into()))
        );
        assert_eq!(
            connect_reply(&[4, 90, 0, 0, 0]),
            Err(SocksError::NotSocks5(4))
        );
    }

    #[tokio::test]
    async fn negotiation_reads_nothing_past_the_reply() {
        let (mut client, mut proxy) = tokio::io::duplex(256);
        let server = tokio::spawn(async move {
            let mut buf = [0u8; 4];
            proxy.read_exact(&mut buf).await.unwrap();
            assert_eq!(buf, [5, 2, 0, 2]);
            proxy.write_all(&[5, 2]).await.unwrap();
            let mut login = [0u8; 7];
            proxy.read_exact(&mut login).await.unwrap();
            assert_eq!(&login, b"\x01\x01u\x03pwd");
            proxy.write_all(&[1, 0]).await.unwrap();
            let mut req = [0u8; 4 + 1 + 4 + 2];
            proxy.read_exact(&mut req).await.unwrap();
            assert_eq!(&req[..5], &[5, 1, 0, 3, 4]);
            // The reply and the SMTP greeting in one write.
            proxy
                .write_all(b"\x05\x00\x00\x01\x7f\x00\x00\x01\x00\x19220 hi\r\n")
                .await
                .unwrap();
        });
        let auth = SocksAuth {
            user: "u".into(),
            password: "pwd".into(),
        };
        let bound = negotiate(
            &mut client,
            &Destination::Name("host".into(), 25),
            Some(&auth),
        )
        .await
        .unwrap();
        assert_eq!(bound, Some("127.0.0.1:25".parse().unwrap()));
        let mut rest = [0u8; 8];
        client.read_exact(&mut rest).await.unwrap();
        assert_eq!(&rest, b"220 hi\r\n");
        server.await.unwrap();
    }
}
