//! TLS for SMTP: the one handshake used by both implicit TLS (RFC 8314) and the STARTTLS
//! upgrade (RFC 3207).
//!
//! rustls types stop here: callers get a [`TlsInfo`] (our own type) describing what was
//! negotiated and what the certificate check concluded. The handshake does not fail on a
//! bad certificate; it records why, so the caller can show the chain next to the verdict
//! and then apply its policy (see [`Verification`]).

mod certinfo;
pub mod dane;
mod failure;
pub mod server;
#[cfg(test)]
mod tests;
mod verify;

use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rustls::client::{Resumption, WebPkiServerVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ProtocolVersion, RootCertStore};
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

pub use certinfo::CertInfo;
pub use failure::TlsFailure;
pub use verify::Verification;
pub use verify::certificate_names;

use failure::{CLOSED, handshake_failure, io_failure, not_tls};
use verify::RecordingVerifier;

/// Lowest TLS version we offer. TLS 1.0 and 1.1 are never offered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TlsMin {
    #[default]
    V1_2,
    V1_3,
}

#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    /// PEM (or single DER) files whose certificates are trusted in addition to webpki-roots.
    pub ca_files: Vec<PathBuf>,
    /// Sent as SNI and checked against the certificate instead of the connect host.
    pub server_name: Option<String>,
    /// Accept any certificate; verification still runs and its verdict is reported.
    pub no_verify: bool,
    /// PEM certificate chain and PEM private key presented when the server asks.
    pub client_cert: Option<(PathBuf, PathBuf)>,
    pub min_version: Option<TlsMin>,
}

/// Bad TLS input, found before anything goes on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsSetupError {
    /// `what` is "CA file", "client certificate file" or "client key file".
    File {
        what: &'static str,
        path: PathBuf,
        problem: String,
    },
    /// The server name override is neither a DNS name nor an IP address.
    ServerName(String),
    /// The crypto provider refused the configuration.
    Config(String),
}

impl std::fmt::Display for TlsSetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TlsSetupError::File {
                what,
                path,
                problem,
            } => write!(f, "{what} {}: {problem}", path.display()),
            TlsSetupError::ServerName(name) => write!(
                f,
                "TLS server name {name:?} is neither a valid DNS name nor an IP address"
            ),
            TlsSetupError::Config(why) => write!(f, "TLS setup failed: {why}"),
        }
    }
}

impl std::error::Error for TlsSetupError {}

/// What a completed handshake negotiated and what the certificate check concluded.
#[derive(Clone, Debug, Serialize)]
pub struct TlsInfo {
    /// "TLSv1.3" or "TLSv1.2".
    pub protocol: String,
    /// IANA-style suite name, e.g. "TLS13_AES_256_GCM_SHA384".
    pub cipher: String,
    /// e.g. "X25519", "secp256r1".
    pub key_exchange: Option<String>,
    /// The name sent as SNI; `None` for an IP literal, which is never sent.
    pub sni: Option<String>,
    /// Leaf first, in the order the server sent them.
    pub chain: Vec<CertInfo>,
    pub verification: Verification,
    pub handshake_ms: f64,
    /// The certificates as presented, DER, leaf first (`--tls-save-chain`).
    #[serde(skip)]
    pub der_chain: Vec<Vec<u8>>,
}

/// Built once per run: reads the CA and client-certificate files up front so that a
/// bad path is reported before any connection is made.
#[derive(Clone, Debug)]
pub struct TlsClient {
    /// Complete except for the verifier, which is per handshake so that concurrent
    /// sessions each get their own verdict.
    base: ClientConfig,
    webpki: Arc<WebPkiServerVerifier>,
    server_name: Option<ServerName<'static>>,
    no_verify: bool,
    min_version: TlsMin,
}

impl TlsClient {
    pub fn new(opts: &TlsOptions) -> Result<Self, TlsSetupError> {
        // Always name the provider: with none given, rustls panics at run time when it
        // cannot pick a process default.
        let provider = Arc::new(rustls::crypto::ring::default_provider());

        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        for path in &opts.ca_files {
            add_ca_file(&mut roots, path)?;
        }
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| TlsSetupError::Config(e.to_string()))?;

        let min_version = opts.min_version.unwrap_or_default();
        let versions: &[&'static rustls::SupportedProtocolVersion] = match min_version {
            TlsMin::V1_3 => &[&rustls::version::TLS13],
            TlsMin::V1_2 => &[&rustls::version::TLS13, &rustls::version::TLS12],
        };
        let builder = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .map_err(|e| TlsSetupError::Config(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(webpki.clone());
        let mut base = match &opts.client_cert {
            None => builder.with_no_client_auth(),
            Some((cert_path, key_path)) => {
                let chain = read_client_chain(cert_path)?;
                let key = read_client_key(key_path)?;
                builder.with_client_auth_cert(chain, key).map_err(|e| {
                    let problem = match e {
                        rustls::Error::InconsistentKeys(_) => {
                            format!("does not match the certificate in {}", cert_path.display())
                        }
                        other => format!("unusable private key: {other}"),
                    };
                    TlsSetupError::File {
                        what: "client key file",
                        path: key_path.clone(),
                        problem,
                    }
                })?
            }
        };
        // A resumed session presents no certificate: every session must show the chain
        // and get a verdict, so never resume.
        base.resumption = Resumption::disabled();

        let server_name = match &opts.server_name {
            Some(name) => {
                Some(server_name_for(name).ok_or_else(|| TlsSetupError::ServerName(name.clone()))?)
            }
            None => None,
        };

        Ok(TlsClient {
            base,
            webpki,
            server_name,
            no_verify: opts.no_verify,
            min_version,
        })
    }

    /// Handshake over an established byte stream (TCP, a Unix socket, a process's stdio,
    /// a SOCKS5 tunnel). `host` is what the user asked to connect
    /// to: a DNS name (sent as SNI and checked against the certificate's DNS names), or an
    /// IP literal, bracketed or not (no SNI; checked against the certificate's IP addresses).
    ///
    /// The caller must have drained its own read buffer first: bytes the server sent
    /// before the handshake belong to neither side of it (RFC 3207 §5).
    pub async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        stream: S,
        host: &str,
        deadline: Instant,
    ) -> Result<(TlsStream<Rewind<S>>, TlsInfo), TlsFailure> {
        let started = std::time::Instant::now();
        let name = match &self.server_name {
            Some(name) => name.clone(),
            None => server_name_for(host).ok_or_else(|| {
                TlsFailure::Handshake(format!(
                    "cannot start TLS with {host:?}: it is neither a valid DNS name nor an IP address"
                ))
            })?,
        };

        let recorder = Arc::new(RecordingVerifier::new(self.webpki.clone()));
        let mut config = self.base.clone();
        config
            .dangerous()
            .set_certificate_verifier(recorder.clone());
        let connector = TlsConnector::from(Arc::new(config));

        // Take the ClientHello out of the session and send it ourselves, so that we can
        // look at the first bytes of the answer before rustls consumes them: a server that
        // answers in plaintext deserves a better message than "corrupt message".
        let mut hello = Vec::new();
        let mut connect = connector.connect_with(name.clone(), Rewind::new(stream), |conn| {
            while conn.wants_write() {
                if conn.write_tls(&mut hello).is_err() {
                    break;
                }
            }
        });

        let min_version = self.min_version;
        let handshake = async move {
            if !hello.is_empty()
                && let Some(io) = connect.get_mut()
            {
                io.write_all(&hello).await.map_err(io_failure)?;
                io.flush().await.map_err(io_failure)?;
                let first = io.peek(128).await.map_err(io_failure)?;
                if first.is_empty() {
                    return Err(TlsFailure::Handshake(CLOSED.into()));
                }
                if let Some(why) = not_tls(first) {
                    return Err(TlsFailure::Handshake(why));
                }
            }
            connect.await.map_err(|e| handshake_failure(e, min_version))
        };
        let stream = tokio::time::timeout_at(deadline, handshake)
            .await
            .map_err(|_| TlsFailure::Timeout)??;

        let (_, conn) = stream.get_ref();
        let protocol = match conn.protocol_version() {
            Some(ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
            Some(ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
            Some(other) => format!("{other:?}"),
            None => "unknown".to_string(),
        };
        let cipher = conn
            .negotiated_cipher_suite()
            .map(|s| format!("{:?}", s.suite()))
            .unwrap_or_else(|| "unknown".into());
        let key_exchange = conn
            .negotiated_key_exchange_group()
            .map(|g| format!("{:?}", g.name()));
        let now = unix_now();
        let presented = conn.peer_certificates().unwrap_or_default();
        let der_chain = presented.iter().map(|c| c.as_ref().to_vec()).collect();
        let chain = certinfo::parse_chain(presented, now);

        let problem = match recorder.take() {
            Some(Ok(())) => None,
            Some(Err(e)) => Some(verify::explain(&e, &chain, &name, now)),
            None => Some("the server's certificate was never checked".to_string()),
        };
        let verification = match (self.no_verify, problem) {
            (true, would_fail) => Verification::Skipped { would_fail },
            (false, None) => Verification::Verified,
            (false, Some(reason)) => Verification::Failed { reason },
        };
        let sni = match &name {
            ServerName::DnsName(d) => Some(d.as_ref().to_string()),
            _ => None,
        };

        let info = TlsInfo {
            protocol,
            cipher,
            key_exchange,
            sni,
            chain: chain.into_iter().map(|c| c.info).collect(),
            verification,
            handshake_ms: started.elapsed().as_secs_f64() * 1000.0,
            der_chain,
        };
        Ok((stream, info))
    }
}

/// A stream whose first bytes can be looked at before rustls reads them: any stream,
/// not only TCP (whose `peek` the kernel does), can then tell a plaintext answer from TLS.
pub struct Rewind<S> {
    inner: S,
    peeked: Vec<u8>,
    at: usize,
}

impl<S: AsyncRead + Unpin> Rewind<S> {
    fn new(inner: S) -> Self {
        Rewind {
            inner,
            peeked: Vec::new(),
            at: 0,
        }
    }

    /// Reads once (at most `max` bytes) and keeps what came for the next reads.
    async fn peek(&mut self, max: usize) -> io::Result<&[u8]> {
        use tokio::io::AsyncReadExt;
        if self.at >= self.peeked.len() {
            let mut buf = vec![0u8; max];
            let n = self.inner.read(&mut buf).await?;
            buf.truncate(n);
            self.peeked = buf;
            self.at = 0;
        }
        Ok(&self.peeked[self.at..])
    }
}

impl<S> Rewind<S> {
    /// The stream underneath, for socket options.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S> std::fmt::Debug for Rewind<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rewind")
            .field("peeked", &(self.peeked.len() - self.at))
            .finish_non_exhaustive()
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Rewind<S> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        let this = &mut *self;
        if this.at < this.peeked.len() {
            let n = (this.peeked.len() - this.at).min(buf.remaining());
            buf.put_slice(&this.peeked[this.at..this.at + n]);
            this.at += n;
            return std::task::Poll::Ready(Ok(()));
        }
        std::pin::Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Rewind<S> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

fn unix_now() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// A DNS name (trailing dot dropped) or an IP literal, with or without `[...]`.
fn server_name_for(host: &str) -> Option<ServerName<'static>> {
    let host = host.trim();
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Some(ServerName::IpAddress(ip.into()));
    }
    ServerName::try_from(host.trim_end_matches('.').to_string()).ok()
}

fn read_file(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsSetupError> {
    std::fs::read(path).map_err(|e| TlsSetupError::File {
        what,
        path: path.to_path_buf(),
        problem: match e.kind() {
            io::ErrorKind::NotFound => "no such file".into(),
            io::ErrorKind::PermissionDenied => "permission denied".into(),
            io::ErrorKind::IsADirectory => "is a directory, not a file".into(),
            _ => format!("cannot read it: {e}"),
        },
    })
}

/// Every certificate in a PEM file, in order. A file holding no PEM at all but starting
/// like DER is taken as one DER certificate, since CAs hand those out too.
fn read_certs(
    what: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let bytes = read_file(what, path)?;
    let bad = |problem: String| TlsSetupError::File {
        what,
        path: path.to_path_buf(),
        problem,
    };
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("not valid PEM: {e}")))?;
    if !certs.is_empty() {
        return Ok(certs);
    }
    if bytes.first() == Some(&0x30) && !bytes.windows(5).any(|w| w == b"-----") {
        return Ok(vec![CertificateDer::from(bytes)]);
    }
    Err(bad(
        "contains no certificates (expected PEM blocks starting with -----BEGIN CERTIFICATE-----)"
            .into(),
    ))
}

pub(crate) fn add_ca_file(roots: &mut RootCertStore, path: &Path) -> Result<(), TlsSetupError> {
    let what = "CA file";
    let certs = read_certs(what, path)?;
    let count = certs.len();
    for (i, cert) in certs.into_iter().enumerate() {
        roots.add(cert).map_err(|e| TlsSetupError::File {
            what,
            path: path.to_path_buf(),
            problem: if count == 1 {
                format!("its certificate cannot be used as a trust anchor: {e}")
            } else {
                format!(
                    "certificate {} of {count} cannot be used as a trust anchor: {e}",
                    i + 1
                )
            },
        })?;
    }
    Ok(())
}

fn read_client_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    read_certs("client certificate file", path)
}

fn read_client_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsSetupError> {
    let what = "client key file";
    let bytes = read_file(what, path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| TlsSetupError::File {
        what,
        path: path.to_path_buf(),
        problem: match e {
            rustls::pki_types::pem::Error::NoItemsFound => {
                "contains no private key (expected a PEM block such as -----BEGIN PRIVATE KEY-----)"
                    .into()
            }
            other => format!("not a valid PEM private key: {other}"),
        },
    })
}
