//! One bounded HTTPS GET, as MTA-STS needs it (RFC 8461 §3.3): the certificate must be
//! WebPKI-valid for the host, redirects are reported rather than followed, and no more
//! than a cap is read.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};

use super::tls::add_ca_file;

/// What the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub content_type: Option<String>,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

/// The TLS side of every fetch of a run, set up once: a CA file that cannot be read is
/// reported before any lookup.
#[derive(Clone)]
pub struct HttpsClient {
    connector: tokio_rustls::TlsConnector,
}

impl std::fmt::Debug for HttpsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HttpsClient")
    }
}

impl HttpsClient {
    /// The public roots, plus the certificates in `ca_files`.
    pub fn new(ca_files: &[PathBuf]) -> Result<HttpsClient, String> {
        let config = client_config(ca_files)?;
        Ok(HttpsClient {
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
        })
    }

    /// Fetches `https://HOST:PORT/PATH` from the first of `addrs` that answers.
    pub async fn get(
        &self,
        host: &str,
        port: u16,
        path: &str,
        addrs: &[IpAddr],
        max_body: usize,
        deadline: Instant,
    ) -> Result<Response, String> {
        get(&self.connector, host, port, path, addrs, max_body, deadline).await
    }
}

async fn get(
    connector: &tokio_rustls::TlsConnector,
    host: &str,
    port: u16,
    path: &str,
    addrs: &[IpAddr],
    max_body: usize,
    deadline: Instant,
) -> Result<Response, String> {
    let name = ServerName::try_from(host.to_owned())
        .map_err(|_| format!("{host:?} is not a valid host name"))?;
    let mut last = format!("{host} has no addresses");
    for ip in addrs {
        let addr = SocketAddr::new(*ip, port);
        let tcp = match timeout_at(deadline, TcpStream::connect(addr)).await {
            Err(_) => return Err(format!("{addr}: no connection before the deadline")),
            Ok(Err(e)) => {
                last = format!("{addr}: {e}");
                continue;
            }
            Ok(Ok(tcp)) => tcp,
        };
        let mut tls = match timeout_at(deadline, connector.connect(name.clone(), tcp)).await {
            Err(_) => return Err(format!("{addr}: TLS handshake timed out")),
            Ok(Err(e)) => return Err(format!("{addr}: TLS: {}", tls_words(&e))),
            Ok(Ok(tls)) => tls,
        };
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: smtpx/{}\r\nAccept: text/plain\r\nConnection: close\r\n\r\n",
            env!("CARGO_PKG_VERSION")
        );
        let exchange = async {
            tls.write_all(request.as_bytes()).await?;
            // Headers are small; the cap bounds the whole response.
            let limit = max_body + 16 * 1024;
            let mut raw = Vec::new();
            let mut chunk = [0u8; 8192];
            loop {
                let n = match tls.read(&mut chunk).await {
                    Ok(n) => n,
                    // Many servers close without TLS close_notify: what came is the
                    // answer, and its framing says whether it is whole.
                    Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
                    Err(e) => return Err(e),
                };
                if n == 0 || raw.len() > limit {
                    break;
                }
                raw.extend_from_slice(&chunk[..n]);
            }
            Ok::<_, std::io::Error>(raw)
        };
        let raw = match timeout_at(deadline, exchange).await {
            Err(_) => return Err(format!("{addr}: no complete answer before the deadline")),
            Ok(Err(e)) => return Err(format!("{addr}: {e}")),
            Ok(Ok(raw)) => raw,
        };
        return parse_response(&raw, max_body).map_err(|why| format!("{addr}: {why}"));
    }
    Err(last)
}

fn client_config(ca_files: &[PathBuf]) -> Result<ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for path in ca_files {
        add_ca_file(&mut roots, path).map_err(|e| e.to_string())?;
    }
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn tls_words(e: &std::io::Error) -> String {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::InvalidCertificate(why)) => format!("invalid certificate ({why:?})"),
        Some(other) => other.to_string(),
        None => e.to_string(),
    }
}

/// Reads an HTTP/1.1 response: status line, headers, then a body delimited by
/// Content-Length, chunked transfer coding, or the end of the connection.
pub fn parse_response(raw: &[u8], max_body: usize) -> Result<Response, String> {
    let head_end = find(raw, b"\r\n\r\n").ok_or("no complete HTTP header")?;
    let head = std::str::from_utf8(&raw[..head_end]).map_err(|_| "HTTP header is not text")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        return Err(format!("not an HTTP/1.x answer: {status_line:?}"));
    }
    let status: u16 = parts
        .next()
        .and_then(|c| c.parse().ok())
        .filter(|c| (100..600).contains(c))
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let (mut content_type, mut location, mut length, mut chunked) = (None, None, None, false);
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!("bad header line {line:?}"));
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-type" => content_type = Some(value.to_owned()),
            "location" => location = Some(value.to_owned()),
            "content-length" => {
                length = Some(
                    value
                        .parse::<usize>()
                        .map_err(|_| format!("bad Content-Length {value:?}"))?,
                )
            }
            "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
            _ => {}
        }
    }
    let rest = &raw[head_end + 4..];
    let body = if chunked {
        dechunk(rest, max_body)?
    } else if let Some(len) = length {
        if len > max_body {
            return Err(format!(
                "body of {len} bytes is over the {max_body}-byte limit"
            ));
        }
        if rest.len() < len {
            return Err(format!("body cut short: {} of {len} bytes", rest.len()));
        }
        rest[..len].to_vec()
    } else {
        if rest.len() > max_body {
            return Err(format!("body is over the {max_body}-byte limit"));
        }
        rest.to_vec()
    };
    Ok(Response {
        status,
        content_type,
        location,
        body,
    })
}

fn dechunk(mut rest: &[u8], max_body: usize) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let line_end = find(rest, b"\r\n").ok_or("chunk size line cut short")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).map_err(|_| "bad chunk size")?;
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        if body.len() + size > max_body {
            return Err(format!("body is over the {max_body}-byte limit"));
        }
        if rest.len() < size + 2 {
            return Err("chunk cut short".into());
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_body() {
        let r = parse_response(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
            100,
        )
        .unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"hello"[..]));
        assert_eq!(r.content_type.as_deref(), Some("text/plain"));
    }

    #[test]
    fn chunked_and_close_delimited_bodies() {
        let r = parse_response(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
            100,
        )
        .unwrap();
        assert_eq!(r.body, b"abcde");
        let r = parse_response(b"HTTP/1.0 200 OK\r\n\r\nto the end", 100).unwrap();
        assert_eq!(r.body, b"to the end");
    }

    #[test]
    fn redirects_keep_their_location() {
        let r = parse_response(
            b"HTTP/1.1 301 Moved\r\nLocation: https://elsewhere.example/\r\nContent-Length: 0\r\n\r\n",
            100,
        )
        .unwrap();
        assert_eq!(r.status, 301);
        assert_eq!(r.location.as_deref(), Some("https://elsewhere.example/"));
    }

    #[test]
    fn oversize_and_malformed_answers_say_why() {
        for (raw, why) in [
            (
                &b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n"[..],
                "limit",
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab",
                "cut short",
            ),
            (b"SSH-2.0-OpenSSH\r\n\r\n", "not an HTTP"),
            (b"HTTP/1.1 200 OK\r\n", "no complete HTTP header"),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                "chunk size",
            ),
        ] {
            let err = parse_response(raw, 100).unwrap_err();
            assert!(err.contains(why), "{err}");
        }
    }
}
