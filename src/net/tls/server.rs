//! The server side of TLS for `smtpx serve`: a certificate from files or made at start
//! (rcgen), and the handshake for implicit TLS and STARTTLS. Callers see [`ServerStream`]
//! and plain strings, never rustls types.

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

use super::TlsSetupError;

/// A configured certificate and key, ready for handshakes.
#[derive(Clone)]
pub struct TlsServer {
    acceptor: TlsAcceptor,
    /// SHA-256 of the leaf certificate's DER, as colon-separated upper-case hex (the
    /// form `openssl x509 -fingerprint -sha256` prints).
    pub sha256: String,
    pub subject: String,
    /// The certificate as PEM, for `--tls-cert-out`.
    pub cert_pem: String,
}

/// What a completed server handshake negotiated.
#[derive(Clone, Debug)]
pub struct Negotiated {
    pub protocol: String,
    pub cipher: String,
}

impl TlsServer {
    pub fn from_files(cert: &Path, key: &Path) -> Result<TlsServer, TlsSetupError> {
        let file_error = |what: &'static str, path: &Path, problem: String| TlsSetupError::File {
            what,
            path: path.to_path_buf(),
            problem,
        };
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
            .map_err(|e| file_error("certificate file", cert, e.to_string()))?
            .collect::<Result<_, _>>()
            .map_err(|e| file_error("certificate file", cert, e.to_string()))?;
        if chain.is_empty() {
            return Err(file_error(
                "certificate file",
                cert,
                "no PEM certificate in it".into(),
            ));
        }
        let key_der = PrivateKeyDer::from_pem_file(key)
            .map_err(|e| file_error("key file", key, e.to_string()))?;
        let pem = std::fs::read_to_string(cert)
            .map_err(|e| file_error("certificate file", cert, e.to_string()))?;
        let subject = super::certinfo::parse_chain(&chain[..1], 0)
            .first()
            .map(|c| c.info.subject.clone())
            .unwrap_or_default();
        TlsServer::build(chain, key_der, subject, pem)
    }

    /// A certificate made now, for `hostname`, `localhost`, 127.0.0.1 and ::1.
    pub fn self_signed(hostname: &str) -> Result<TlsServer, TlsSetupError> {
        let mut names = vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "::1".to_string(),
        ];
        if !names.iter().any(|n| n == hostname) {
            names.insert(0, hostname.to_string());
        }
        let certified = rcgen::generate_simple_self_signed(names)
            .map_err(|e| TlsSetupError::Config(format!("cannot make a certificate: {e}")))?;
        let der = certified.cert.der().clone();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            certified.signing_key.serialize_der(),
        ));
        TlsServer::build(
            vec![der],
            key,
            format!("CN=rcgen self signed cert, SAN {hostname}"),
            certified.cert.pem(),
        )
    }

    fn build(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        subject: String,
        cert_pem: String,
    ) -> Result<TlsServer, TlsSetupError> {
        let sha256 = Sha256::digest(chain[0].as_ref())
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsSetupError::Config(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| TlsSetupError::Config(format!("certificate and key: {e}")))?;
        Ok(TlsServer {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            sha256,
            subject,
            cert_pem,
        })
    }

    /// The handshake, on a connection that has nothing unread buffered.
    pub async fn accept(&self, tcp: TcpStream) -> io::Result<(ServerStream, Negotiated)> {
        let stream = self.acceptor.accept(tcp).await?;
        let (_, conn) = stream.get_ref();
        let protocol = match conn.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
            Some(other) => format!("{other:?}"),
            None => "unknown".to_string(),
        };
        let cipher = conn
            .negotiated_cipher_suite()
            .map(|s| format!("{:?}", s.suite()))
            .unwrap_or_else(|| "unknown".into());
        Ok((
            ServerStream::Tls(Box::new(stream)),
            Negotiated { protocol, cipher },
        ))
    }
}

/// A server-side connection, before or after TLS.
pub enum ServerStream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
    /// Stands in while the TCP stream is taken out for a STARTTLS handshake: reads see
    /// the end of the stream, writes fail.
    Detached,
}

impl ServerStream {
    /// The TCP stream, for a STARTTLS handshake; None if TLS is already up.
    pub fn into_plain(self) -> Option<TcpStream> {
        match self {
            ServerStream::Plain(t) => Some(t),
            ServerStream::Tls(_) | ServerStream::Detached => None,
        }
    }
}

impl AsyncRead for ServerStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ServerStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            ServerStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            ServerStream::Detached => Poll::Ready(Ok(())),
        }
    }
}

impl AsyncWrite for ServerStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ServerStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            ServerStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            ServerStream::Detached => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ServerStream::Plain(s) => Pin::new(s).poll_flush(cx),
            ServerStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            ServerStream::Detached => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ServerStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            ServerStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            ServerStream::Detached => Poll::Ready(Ok(())),
        }
    }
}
