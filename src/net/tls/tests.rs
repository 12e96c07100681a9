//! Handshakes against a real TLS server on loopback, with certificates made at test time.

use std::net::SocketAddr;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, date_time_ymd,
};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use super::certinfo::{colon_hex, date, rfc3339};
use super::failure::{PLAINTEXT_GREETING, snake_case};
use super::*;

const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;

fn now() -> i64 {
    unix_now()
}

fn set_validity(params: &mut CertificateParams, from: i64, to: i64) {
    let epoch = date_time_ymd(1970, 1, 1);
    params.not_before = epoch + Duration::from_secs(u64::try_from(from).unwrap());
    params.not_after = epoch + Duration::from_secs(u64::try_from(to).unwrap());
}

fn named(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
    der: CertificateDer<'static>,
}

fn ca(cn: &str) -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name = named(cn);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    set_validity(&mut params, now() - 365 * DAY, now() + 3650 * DAY);
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    Ca {
        pem: cert.pem(),
        der: cert.der().clone(),
        issuer: Issuer::new(params, key),
    }
}

struct Leaf {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    cert_pem: String,
    key_pem: String,
    not_after: i64,
}

impl Leaf {
    fn der(&self) -> &CertificateDer<'static> {
        &self.chain[0]
    }
}

/// A server (or, with `client`, client) certificate for `names`, signed by `ca` or self-signed.
fn leaf_with(names: &[&str], ca: Option<&Ca>, from: i64, to: i64, client: bool) -> Leaf {
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name = named(names[0]);
    params.extended_key_usages = vec![if client {
        ExtendedKeyUsagePurpose::ClientAuth
    } else {
        ExtendedKeyUsagePurpose::ServerAuth
    }];
    set_validity(&mut params, from, to);
    let key = KeyPair::generate().unwrap();
    let cert = match ca {
        Some(ca) => params.signed_by(&key, &ca.issuer).unwrap(),
        None => params.self_signed(&key).unwrap(),
    };
    Leaf {
        chain: vec![cert.der().clone()],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        not_after: to,
    }
}

fn leaf(names: &[&str], ca: Option<&Ca>) -> Leaf {
    leaf_with(names, ca, now() - DAY, now() + 30 * DAY + HOUR, false)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn server_config(
    leaf: &Leaf,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> ServerConfig {
    ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(leaf.chain.clone(), leaf.key.clone_key())
        .unwrap()
}

const BOTH: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// Accepts one connection, completes TLS, greets, then waits for the client to go away.
/// Yields the client's certificates, if it sent any.
async fn tls_server(
    config: ServerConfig,
) -> (SocketAddr, JoinHandle<Option<Vec<CertificateDer<'static>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.ok()?;
        let mut tls = acceptor.accept(tcp).await.ok()?;
        let peer = tls.get_ref().1.peer_certificates().map(<[_]>::to_vec);
        tls.write_all(b"220 over TLS\r\n").await.ok()?;
        let mut sink = Vec::new();
        let _ = tls.read_to_end(&mut sink).await;
        Some(peer.unwrap_or_default())
    });
    (addr, task)
}

/// Accepts one connection and hands the plain socket to `script`.
async fn raw_server<F, Fut>(script: F) -> SocketAddr
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        if let Ok((tcp, _)) = listener.accept().await {
            script(tcp).await;
        }
    });
    addr
}

/// A client that trusts `ca` (if any) on top of webpki-roots, with `tweak` applied.
/// The CA file is gone by the time the client is used: it is read once, at setup.
fn client_with(ca: Option<&Ca>, tweak: impl FnOnce(&mut TlsOptions)) -> TlsClient {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = TlsOptions::default();
    if let Some(ca) = ca {
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, &ca.pem).unwrap();
        opts.ca_files.push(path);
    }
    tweak(&mut opts);
    TlsClient::new(&opts).unwrap()
}

fn trusting(ca: &Ca) -> TlsClient {
    client_with(Some(ca), |_| {})
}

fn default_client() -> TlsClient {
    client_with(None, |_| {})
}

async fn handshake_with(
    client: &TlsClient,
    addr: SocketAddr,
    host: &str,
) -> Result<(TlsStream<super::Rewind<TcpStream>>, TlsInfo), TlsFailure> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    client
        .handshake(tcp, host, Instant::now() + Duration::from_secs(10))
        .await
}

/// Handshake against a TLS 1.2+1.3 server presenting `leaf`; returns the report.
async fn info_for(client: &TlsClient, leaf: &Leaf, host: &str) -> TlsInfo {
    let (addr, _server) = tls_server(server_config(leaf, BOTH)).await;
    handshake_with(client, addr, host).await.unwrap().1
}

fn failed(reason: &str) -> Verification {
    Verification::Failed {
        reason: reason.to_string(),
    }
}

#[tokio::test]
async fn valid_certificate_from_ca_file_is_verified() {
    let ca = ca("smtpx test CA");
    let leaf = leaf(&["localhost"], Some(&ca));
    let (addr, server) = tls_server(server_config(&leaf, BOTH)).await;
    let (mut stream, info) = handshake_with(&trusting(&ca), addr, "localhost")
        .await
        .unwrap();

    assert_eq!(info.verification, Verification::Verified);
    assert_eq!(info.protocol, "TLSv1.3");
    assert!(info.cipher.starts_with("TLS13_"), "{}", info.cipher);
    assert_eq!(info.key_exchange.as_deref(), Some("X25519"));
    assert_eq!(info.sni.as_deref(), Some("localhost"));
    assert!(info.handshake_ms > 0.0);
    assert_eq!(info.chain.len(), 1);
    let cert = &info.chain[0];
    assert_eq!(cert.subject, "CN=localhost");
    assert_eq!(cert.issuer, "CN=smtpx test CA");
    assert_eq!(cert.dns_names, ["localhost"]);
    assert!(cert.ip_addresses.is_empty());
    assert_eq!(cert.not_after, rfc3339(leaf.not_after));
    assert!(cert.not_before.ends_with('Z'));
    assert_eq!(cert.days_left, 30);
    assert_eq!(cert.key, "EC P-256");
    assert_eq!(cert.sha256, colon_hex(&Sha256::digest(leaf.der())));
    assert_eq!(cert.sha256.len(), 32 * 3 - 1);
    assert!(!cert.serial.is_empty());
    assert!(!cert.is_ca);

    // The stream carries data: sending the ClientHello ourselves did not upset rustls.
    let mut greeting = [0u8; 14];
    stream.read_exact(&mut greeting).await.unwrap();
    assert_eq!(&greeting, b"220 over TLS\r\n");
    drop(stream);
    assert_eq!(server.await.unwrap(), Some(vec![]));
}

#[tokio::test]
async fn expired_certificate_says_how_long_ago() {
    let ca = ca("smtpx test CA");
    let not_after = now() - 3 * DAY - HOUR;
    let leaf = leaf_with(
        &["localhost"],
        Some(&ca),
        now() - 90 * DAY,
        not_after,
        false,
    );
    let info = info_for(&trusting(&ca), &leaf, "localhost").await;
    assert_eq!(
        info.verification,
        failed(&format!(
            "certificate expired 3 days ago (not after {})",
            date(not_after)
        ))
    );
    assert_eq!(info.chain[0].days_left, -4);
}

#[tokio::test]
async fn not_yet_valid_certificate_names_the_start() {
    let ca = ca("smtpx test CA");
    let from = 4_099_766_400; // 2099-12-01
    let leaf = leaf_with(&["localhost"], Some(&ca), from, from + 365 * DAY, false);
    let info = info_for(&trusting(&ca), &leaf, "localhost").await;
    assert_eq!(
        info.verification,
        failed("certificate is not valid until 2099-12-01")
    );
    assert_eq!(info.chain[0].not_before, "2099-12-01T00:00:00Z");
}

#[tokio::test]
async fn wrong_name_lists_what_the_certificate_is_for() {
    let ca = ca("smtpx test CA");
    let leaf = leaf(&["mail.example.com", "www.example.com"], Some(&ca));
    let info = info_for(&trusting(&ca), &leaf, "mx.example.org").await;
    assert_eq!(
        info.verification,
        failed("certificate is for mail.example.com, www.example.com, not mx.example.org")
    );
    assert_eq!(info.sni.as_deref(), Some("mx.example.org"));
}

#[tokio::test]
async fn trailing_dot_and_wildcard_match() {
    let ca = ca("smtpx test CA");
    let leaf = leaf(&["*.example.com"], Some(&ca));
    let info = info_for(&trusting(&ca), &leaf, "mx.example.com.").await;
    assert_eq!(info.verification, Verification::Verified);
    assert_eq!(info.sni.as_deref(), Some("mx.example.com"));
}

#[tokio::test]
async fn server_name_override_is_sent_and_checked() {
    let ca = ca("smtpx test CA");
    let leaf = leaf(&["mail.example.com"], Some(&ca));
    let client = client_with(Some(&ca), |o| {
        o.server_name = Some("mail.example.com".into())
    });
    let info = info_for(&client, &leaf, "127.0.0.1").await;
    assert_eq!(info.verification, Verification::Verified);
    assert_eq!(info.sni.as_deref(), Some("mail.example.com"));
}

#[tokio::test]
async fn self_signed_certificate_is_named() {
    let leaf = leaf(&["localhost"], None);
    let info = info_for(&default_client(), &leaf, "localhost").await;
    assert_eq!(
        info.verification,
        failed("self-signed certificate: CN=localhost")
    );
}

#[tokio::test]
async fn a_second_problem_with_the_name_is_reported_too() {
    let leaf = leaf(&["localhost"], None);
    let info = info_for(&default_client(), &leaf, "mx.example.org").await;
    assert_eq!(
        info.verification,
        failed(
            "self-signed certificate: CN=localhost; certificate is for localhost, not mx.example.org"
        )
    );
}

#[tokio::test]
async fn unknown_authority_is_named() {
    let private = ca("Example Private CA");
    let leaf = leaf(&["localhost"], Some(&private));
    // Trusting some other CA must not help.
    let info = info_for(&trusting(&ca("smtpx test CA")), &leaf, "localhost").await;
    assert_eq!(
        info.verification,
        failed("issued by an unknown authority: CN=Example Private CA")
    );
    assert_eq!(info.chain[0].issuer, "CN=Example Private CA");
}

#[tokio::test]
async fn untrusted_root_sent_by_the_server_is_named() {
    let private = ca("Example Private CA");
    let mut leaf = leaf(&["localhost"], Some(&private));
    leaf.chain.push(private.der.clone());
    let info = info_for(&default_client(), &leaf, "localhost").await;
    assert_eq!(
        info.verification,
        failed("issued by an unknown authority: CN=Example Private CA")
    );
    assert_eq!(info.chain.len(), 2);
    assert!(info.chain[1].is_ca);
}

#[tokio::test]
async fn ip_literal_is_checked_against_ip_addresses() {
    let ca = ca("smtpx test CA");
    let leaf = leaf(&["127.0.0.1"], Some(&ca));
    let info = info_for(&trusting(&ca), &leaf, "127.0.0.1").await;
    assert_eq!(info.verification, Verification::Verified);
    assert_eq!(info.sni, None);
    assert_eq!(info.chain[0].ip_addresses, ["127.0.0.1"]);
    assert!(info.chain[0].dns_names.is_empty());
}

#[tokio::test]
async fn dns_only_certificate_fails_for_an_ip_literal() {
    let ca = ca("smtpx test CA");
    let leaf = leaf(&["localhost"], Some(&ca));
    let info = info_for(&trusting(&ca), &leaf, "127.0.0.1").await;
    assert_eq!(
        info.verification,
        failed("certificate for 127.0.0.1 has no matching IP address (it is for localhost)")
    );
    assert_eq!(info.sni, None);
}

#[tokio::test]
async fn no_verify_completes_and_says_what_would_have_failed() {
    let ca = ca("smtpx test CA");
    let not_after = now() - 3 * DAY - HOUR;
    let leaf = leaf_with(
        &["localhost"],
        Some(&ca),
        now() - 90 * DAY,
        not_after,
        false,
    );
    let client = client_with(None, |o| o.no_verify = true);
    let info = info_for(&client, &leaf, "other.example").await;
    assert_eq!(
        info.verification,
        Verification::Skipped {
            would_fail: Some(format!(
                "certificate expired 3 days ago (not after {}); certificate is for localhost, not other.example",
                date(not_after)
            ))
        }
    );
    assert!(!info.verification.is_verified());
    assert!(info.verification.problem().is_some());
    assert_eq!(
        serde_json::to_value(&info.verification).unwrap()["status"],
        "skipped"
    );
}

#[tokio::test]
async fn no_verify_with_a_good_certificate_would_not_fail() {
    let ca = ca("smtpx test CA");
    let leaf = leaf(&["localhost"], Some(&ca));
    let client = client_with(Some(&ca), |o| o.no_verify = true);
    let info = info_for(&client, &leaf, "localhost").await;
    assert_eq!(
        info.verification,
        Verification::Skipped { would_fail: None }
    );
}

#[tokio::test]
async fn tls12_server_is_reported_as_such() {
    let ca = ca("smtpx test CA");
    let leaf = leaf(&["localhost"], Some(&ca));
    let (addr, _server) = tls_server(server_config(&leaf, &[&rustls::version::TLS12])).await;
    let (_, info) = handshake_with(&trusting(&ca), addr, "localhost")
        .await
        .unwrap();
    assert_eq!(info.protocol, "TLSv1.2");
    assert!(
        info.cipher.starts_with("TLS_ECDHE_ECDSA_"),
        "{}",
        info.cipher
    );
    assert_eq!(info.verification, Verification::Verified);
}

#[tokio::test]
async fn minimum_tls13_against_a_tls12_server_fails_in_words() {
    let ca = ca("smtpx test CA");
    let leaf = leaf(&["localhost"], Some(&ca));
    let (addr, _server) = tls_server(server_config(&leaf, &[&rustls::version::TLS12])).await;
    let client = client_with(Some(&ca), |o| o.min_version = Some(TlsMin::V1_3));
    let err = handshake_with(&client, addr, "localhost")
        .await
        .unwrap_err();
    assert_eq!(
        err,
        TlsFailure::Handshake(
            "the server supports none of the TLS versions we offered (TLS 1.3 only, as the minimum version requires)"
                .into()
        )
    );
}

#[tokio::test]
async fn plaintext_smtp_greeting_is_recognised() {
    let addr = raw_server(|mut tcp| async move {
        let _ = tcp.write_all(b"220 hello\r\n").await;
        let mut sink = Vec::new();
        let _ = tcp.read_to_end(&mut sink).await;
    })
    .await;
    let err = handshake_with(&default_client(), addr, "localhost")
        .await
        .unwrap_err();
    assert_eq!(
        err,
        TlsFailure::Handshake(
            "the server does not speak TLS (it sent a plaintext SMTP greeting: try --tls starttls)"
                .into()
        )
    );
}

#[tokio::test]
async fn plaintext_that_is_not_smtp_is_quoted_safely() {
    let addr = raw_server(|mut tcp| async move {
        let _ = tcp.write_all(b"HTTP/1.1 400 Bad\x1b[2J\r\n\r\n").await;
        let mut sink = Vec::new();
        let _ = tcp.read_to_end(&mut sink).await;
    })
    .await;
    let err = handshake_with(&default_client(), addr, "localhost")
        .await
        .unwrap_err();
    assert_eq!(
        err,
        TlsFailure::Handshake(
            "the server does not speak TLS (its first bytes were \"HTTP/1.1 400 Bad\\x1b[2J\")"
                .into()
        )
    );
}

#[tokio::test]
async fn server_that_hangs_up_is_reported() {
    let addr = raw_server(|tcp| async move { drop(tcp) }).await;
    let err = handshake_with(&default_client(), addr, "localhost")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, TlsFailure::Handshake(m) if m == CLOSED || m.contains("reset")),
        "{err:?}"
    );
}

#[tokio::test]
async fn silent_server_times_out_at_the_deadline() {
    let addr = raw_server(|mut tcp| async move {
        let mut sink = Vec::new();
        let _ = tcp.read_to_end(&mut sink).await;
    })
    .await;
    let client = default_client();
    let tcp = TcpStream::connect(addr).await.unwrap();
    let started = std::time::Instant::now();
    let err = client
        .handshake(
            tcp,
            "localhost",
            Instant::now() + Duration::from_millis(300),
        )
        .await
        .unwrap_err();
    assert_eq!(err, TlsFailure::Timeout);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
}

#[tokio::test]
async fn client_certificate_is_presented_when_required() {
    let server_ca = ca("smtpx test CA");
    let client_ca = ca("smtpx client CA");
    let server_leaf = leaf(&["localhost"], Some(&server_ca));
    let client_leaf = leaf_with(
        &["client.example"],
        Some(&client_ca),
        now() - DAY,
        now() + DAY,
        true,
    );

    let mut roots = RootCertStore::empty();
    roots.add(client_ca.der.clone()).unwrap();
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .unwrap();
    let config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(BOTH)
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(server_leaf.chain.clone(), server_leaf.key.clone_key())
        .unwrap();
    let (addr, server) = tls_server(config).await;

    let dir = tempfile::tempdir().unwrap();
    let cert_path = dir.path().join("client.crt");
    let key_path = dir.path().join("client.key");
    std::fs::write(&cert_path, &client_leaf.cert_pem).unwrap();
    std::fs::write(&key_path, &client_leaf.key_pem).unwrap();
    let client = client_with(Some(&server_ca), |o| {
        o.client_cert = Some((cert_path, key_path))
    });
    let (mut stream, info) = handshake_with(&client, addr, "localhost").await.unwrap();
    assert_eq!(info.verification, Verification::Verified);
    // TLS 1.3 servers judge the client certificate after our side is done: read to be sure.
    let mut greeting = [0u8; 14];
    stream.read_exact(&mut greeting).await.unwrap();
    drop(stream);
    assert_eq!(server.await.unwrap(), Some(client_leaf.chain.clone()));
}

#[test]
fn missing_ca_file_names_the_path() {
    let opts = TlsOptions {
        ca_files: vec!["/nonexistent/smtpx/ca.pem".into()],
        ..TlsOptions::default()
    };
    let err = TlsClient::new(&opts).unwrap_err();
    assert_eq!(
        err.to_string(),
        "CA file /nonexistent/smtpx/ca.pem: no such file"
    );
}

#[test]
fn ca_file_without_certificates_is_refused() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut file, b"not a certificate\n").unwrap();
    let opts = TlsOptions {
        ca_files: vec![file.path().to_path_buf()],
        ..TlsOptions::default()
    };
    let msg = TlsClient::new(&opts).unwrap_err().to_string();
    assert!(
        msg.starts_with(&format!(
            "CA file {}: contains no certificates",
            file.path().display()
        )),
        "{msg}"
    );
    assert!(!msg.contains('\n'));
}

#[test]
fn client_key_that_does_not_match_is_refused() {
    let ca = ca("smtpx client CA");
    let one = leaf_with(&["a.example"], Some(&ca), now() - DAY, now() + DAY, true);
    let other = leaf_with(&["b.example"], Some(&ca), now() - DAY, now() + DAY, true);
    let dir = tempfile::tempdir().unwrap();
    let cert_path = dir.path().join("a.crt");
    let key_path = dir.path().join("b.key");
    std::fs::write(&cert_path, &one.cert_pem).unwrap();
    std::fs::write(&key_path, &other.key_pem).unwrap();
    let opts = TlsOptions {
        client_cert: Some((cert_path.clone(), key_path.clone())),
        ..TlsOptions::default()
    };
    assert_eq!(
        TlsClient::new(&opts).unwrap_err().to_string(),
        format!(
            "client key file {}: does not match the certificate in {}",
            key_path.display(),
            cert_path.display()
        )
    );
}

#[test]
fn bad_server_name_override_is_refused() {
    let opts = TlsOptions {
        server_name: Some("not a name".into()),
        ..TlsOptions::default()
    };
    assert!(matches!(
        TlsClient::new(&opts),
        Err(TlsSetupError::ServerName(_))
    ));
}

#[test]
fn server_names() {
    assert!(matches!(
        server_name_for("127.0.0.1"),
        Some(ServerName::IpAddress(_))
    ));
    assert!(matches!(
        server_name_for("[::1]"),
        Some(ServerName::IpAddress(_))
    ));
    assert!(matches!(
        server_name_for("::1"),
        Some(ServerName::IpAddress(_))
    ));
    match server_name_for("Mail.Example.com.") {
        Some(ServerName::DnsName(d)) => assert_eq!(d.as_ref(), "Mail.Example.com"),
        other => panic!("{other:?}"),
    }
    assert!(server_name_for("bad name").is_none());
}

#[test]
fn first_bytes_classification() {
    assert_eq!(not_tls(&[0x16, 0x03, 0x03, 0x00]), None);
    assert_eq!(not_tls(&[0x15, 0x03, 0x01]), None);
    assert_eq!(not_tls(&[0x16]), None);
    assert_eq!(
        not_tls(b"220 mx ESMTP\r\n").as_deref(),
        Some(PLAINTEXT_GREETING)
    );
    assert_eq!(
        not_tls(b"220-mx ESMTP\r\n").as_deref(),
        Some(PLAINTEXT_GREETING)
    );
    assert_eq!(
        not_tls(b"554 go away\r\n").as_deref(),
        Some("the server does not speak TLS (it sent a plaintext SMTP reply: \"554 go away\")")
    );
    assert_eq!(
        not_tls(b"\x16\x00junk").as_deref(),
        Some("the server does not speak TLS (its first bytes were \"\\x16\\x00junk\")")
    );
    let long = [b'x'; 100];
    assert!(not_tls(&long).unwrap().ends_with("...\")"));
}

#[test]
fn alert_names_follow_the_rfc() {
    assert_eq!(snake_case("HandshakeFailure"), "handshake_failure");
    assert_eq!(snake_case("UnknownCA"), "unknown_ca");
    assert_eq!(snake_case("UnknownPSKIdentity"), "unknown_psk_identity");
    assert_eq!(snake_case("ProtocolVersion"), "protocol_version");
}

#[test]
fn verification_serialises_with_a_status_tag() {
    assert_eq!(
        serde_json::to_string(&Verification::Verified).unwrap(),
        r#"{"status":"verified"}"#
    );
    assert_eq!(
        serde_json::to_string(&failed("x")).unwrap(),
        r#"{"status":"failed","reason":"x"}"#
    );
    assert_eq!(
        serde_json::to_string(&Verification::Skipped { would_fail: None }).unwrap(),
        r#"{"status":"skipped","would_fail":null}"#
    );
}
