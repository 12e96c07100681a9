//! The real-peer fixtures work: each peer is started, fed a message by a
//! minimal blocking SMTP client written here (independent of smtpx, so a
//! bug in smtpx cannot hide a broken fixture), and the delivery checked.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::json;

use crate::support::peers::{
    Aiosmtpd, AiosmtpdOptions, DovecotLmtp, PostfixInstance, PostfixOptions, SmtpSink, require,
    strip_sink_headers,
};

const IO_TIMEOUT: Duration = Duration::from_secs(15);
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------
// A throwaway PKI: CA -> leaf for localhost and 127.0.0.1.

struct TestPki {
    _dir: tempfile::TempDir,
    ca_pem: PathBuf,
    ca_der: CertificateDer<'static>,
    cert_pem: PathBuf,
    key_pem: PathBuf,
}

fn test_pki() -> TestPki {
    use rcgen::{
        BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose,
        IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    // Explicit validity around "now": rcgen's default runs to year 4096,
    // and a fixed calendar window would expire under a future clock.
    let now = rcgen::date_time_ymd(1970, 1, 1)
        + SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970");
    let day = Duration::from_secs(86_400);

    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::default();
    ca.distinguished_name = DistinguishedName::new();
    ca.distinguished_name
        .push(DnType::CommonName, "smtpx peers selftest CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = now - day;
    ca.not_after = now + 30 * day;
    let ca_cert = ca.self_signed(&ca_key).expect("self-sign CA");

    let leaf_key = KeyPair::generate().expect("leaf key");
    let mut leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("leaf params");
    leaf.distinguished_name = DistinguishedName::new();
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.not_before = now - day;
    leaf.not_after = now + 30 * day;
    let issuer = Issuer::new(ca, &ca_key);
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).expect("sign leaf");

    let dir = tempfile::Builder::new()
        .prefix("smtpx-pki-")
        .tempdir()
        .expect("pki dir");
    let ca_pem = dir.path().join("ca.pem");
    let cert_pem = dir.path().join("cert.pem");
    let key_pem = dir.path().join("key.pem");
    std::fs::write(&ca_pem, ca_cert.pem()).expect("write ca.pem");
    std::fs::write(&cert_pem, leaf_cert.pem()).expect("write cert.pem");
    std::fs::write(&key_pem, leaf_key.serialize_pem()).expect("write key.pem");
    TestPki {
        _dir: dir,
        ca_pem,
        ca_der: ca_cert.der().clone(),
        cert_pem,
        key_pem,
    }
}

fn tls_config(ca: &CertificateDer<'static>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.clone()).expect("add test CA");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    Arc::new(config)
}

// ---------------------------------------------------------------------------
// A minimal blocking SMTP client.

enum Conn {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
    Gone,
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
            Conn::Gone => unreachable!(),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
            Conn::Gone => unreachable!(),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
            Conn::Gone => unreachable!(),
        }
    }
}

#[derive(Debug)]
struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl Reply {
    fn text(&self) -> String {
        self.lines.join("\n")
    }
    fn has_line(&self, text: &str) -> bool {
        self.lines.iter().any(|l| l.get(4..) == Some(text))
    }
}

struct Client {
    conn: Conn,
    buf: Vec<u8>,
}

fn tls_wrap(
    tcp: TcpStream,
    ca: &CertificateDer<'static>,
    name: &str,
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let server_name = ServerName::try_from(name.to_owned()).expect("server name");
    let conn = rustls::ClientConnection::new(tls_config(ca), server_name).expect("TLS client");
    rustls::StreamOwned::new(conn, tcp)
}

impl Client {
    /// Connects and reads the greeting, which must be 220.
    fn connect(addr: SocketAddr) -> Client {
        let tcp = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("connect");
        tcp.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        tcp.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        let mut c = Client {
            conn: Conn::Plain(tcp),
            buf: Vec::new(),
        };
        let greeting = c.reply();
        assert_eq!(greeting.code, 220, "greeting: {greeting:?}");
        c
    }

    /// Implicit TLS: the handshake comes before the greeting.
    fn connect_tls(addr: SocketAddr, ca: &CertificateDer<'static>, name: &str) -> Client {
        let tcp = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("connect");
        tcp.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        tcp.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        let mut c = Client {
            conn: Conn::Tls(Box::new(tls_wrap(tcp, ca, name))),
            buf: Vec::new(),
        };
        let greeting = c.reply();
        assert_eq!(greeting.code, 220, "greeting: {greeting:?}");
        c
    }

    fn reply(&mut self) -> Reply {
        let mut lines = Vec::new();
        loop {
            while let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..i]).into_owned();
                self.buf.drain(..i + 2);
                let last = line.as_bytes().get(3) != Some(&b'-');
                lines.push(line);
                if last {
                    let code = lines[0][..3].parse().expect("reply code");
                    return Reply { code, lines };
                }
            }
            let mut chunk = [0u8; 4096];
            let n = self.conn.read(&mut chunk).expect("read reply");
            assert!(n > 0, "connection closed mid-reply; got {lines:?}");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn cmd(&mut self, line: &str) -> Reply {
        self.conn
            .write_all(format!("{line}\r\n").as_bytes())
            .expect("send command");
        self.conn.flush().unwrap();
        self.reply()
    }

    fn expect(&mut self, line: &str, code: u16) -> Reply {
        let r = self.cmd(line);
        assert_eq!(r.code, code, "{line} -> {r:?}");
        r
    }

    fn starttls(&mut self, ca: &CertificateDer<'static>, name: &str) {
        self.expect("STARTTLS", 220);
        assert!(self.buf.is_empty(), "bytes after 220 to STARTTLS");
        let Conn::Plain(tcp) = std::mem::replace(&mut self.conn, Conn::Gone) else {
            panic!("STARTTLS on a TLS connection")
        };
        self.conn = Conn::Tls(Box::new(tls_wrap(tcp, ca, name)));
    }

    /// DATA with dot-stuffing; `content` must use CRLF line endings.
    fn data(&mut self, content: &[u8]) -> Reply {
        self.expect("DATA", 354);
        let mut wire = Vec::new();
        for line in content.split_inclusive(|&b| b == b'\n') {
            if line.starts_with(b".") {
                wire.push(b'.');
            }
            wire.extend_from_slice(line);
        }
        if !wire.ends_with(b"\r\n") {
            wire.extend_from_slice(b"\r\n");
        }
        wire.extend_from_slice(b".\r\n");
        self.conn.write_all(&wire).expect("send data");
        self.conn.flush().unwrap();
        self.reply()
    }

    fn send_message(&mut self, from: &str, to: &[&str], content: &[u8]) {
        self.expect(&format!("MAIL FROM:<{from}>"), 250);
        for rcpt in to {
            self.expect(&format!("RCPT TO:<{rcpt}>"), 250);
        }
        let r = self.data(content);
        assert_eq!(r.code, 250, "end of data: {r:?}");
    }

    fn quit(mut self) {
        let r = self.cmd("QUIT");
        assert_eq!(r.code, 221, "QUIT: {r:?}");
    }
}

fn b64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Dot-stuffing edge cases, a long line and 8-bit bytes, with CRLF endings.
fn tricky_content() -> Vec<u8> {
    let mut m =
        b"From: a@example.test\r\nTo: b@example.test\r\nSubject: fixture check\r\n\r\n".to_vec();
    m.extend_from_slice(b".\r\n..\r\n.leading dot\r\n \r\nmiddle\r\n");
    m.extend_from_slice("caf\u{e9} 8bit\r\n".as_bytes());
    m.extend_from_slice(&[b'x'; 990]);
    m.extend_from_slice(b"\r\n.\r\nlast line\r\n");
    m
}

// ---------------------------------------------------------------------------
// aiosmtpd

#[test]
fn aiosmtpd_stores_content_byte_for_byte() {
    let Some(server) = Aiosmtpd::start(AiosmtpdOptions::new()) else {
        return;
    };
    assert!(server.server_arg().starts_with("127.0.0.1:"));
    let mut c = Client::connect(server.addr());
    let ehlo = c.expect("EHLO client.example.test", 250);
    assert!(ehlo.has_line("SIZE 33554432"), "{}", ehlo.text());
    assert!(ehlo.has_line("8BITMIME"), "{}", ehlo.text());
    assert!(
        !ehlo
            .lines
            .iter()
            .any(|l| l.contains("AUTH") || l.contains("STARTTLS")),
        "unconfigured server offers AUTH/STARTTLS: {}",
        ehlo.text()
    );
    let content = tricky_content();
    c.expect("MAIL FROM:<a@example.test> BODY=8BITMIME SIZE=2000", 250);
    c.expect("RCPT TO:<b@example.test>", 250);
    c.expect("RCPT TO:<c@example.test>", 250);
    assert_eq!(c.data(&content).code, 250);
    c.send_message(
        "second@example.test",
        &["d@example.test"],
        b"Subject: 2\r\n\r\nno final newline",
    );
    c.quit();

    let got = server.messages();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].mail_from, "a@example.test");
    assert_eq!(got[0].rcpt_tos, ["b@example.test", "c@example.test"]);
    assert_eq!(got[0].mail_options, ["BODY=8BITMIME", "SIZE=2000"]);
    assert_eq!(got[0].rcpt_options, [Vec::<String>::new(), Vec::new()]);
    assert!(!got[0].tls && !got[0].authenticated);
    assert!(
        got[0].content == content,
        "content differs:\n{:?}\n{:?}",
        String::from_utf8_lossy(&got[0].content),
        String::from_utf8_lossy(&content)
    );
    assert_eq!(got[1].content, b"Subject: 2\r\n\r\nno final newline\r\n");
}

#[test]
fn aiosmtpd_notes_commands_sent_before_their_reply() {
    let Some(server) = Aiosmtpd::start(AiosmtpdOptions::new()) else {
        return;
    };
    let mut c = Client::connect(server.addr());
    c.expect("EHLO client.example.test", 250);
    c.send_message(
        "a@example.test",
        &["b@example.test"],
        b"Subject: 1\r\n\r\n1\r\n",
    );
    // What a pipelining client sends: MAIL, RCPT and DATA in one write, and
    // QUIT right behind the final dot.
    let ahead: [(&[u8], &[u16]); 2] = [
        (
            b"MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n",
            &[250, 250, 354],
        ),
        (b"Subject: 2\r\n\r\n2\r\n.\r\nQUIT\r\n", &[250, 221]),
    ];
    for (bytes, codes) in ahead {
        c.conn.write_all(bytes).expect("write ahead");
        for &code in codes {
            assert_eq!(c.reply().code, code);
        }
    }
    let got = server.messages();
    assert!(got[0].pipelined.is_empty(), "{:?}", got[0].pipelined);
    assert_eq!(got[1].pipelined, ["MAIL", "RCPT", "."]);
}

#[test]
fn aiosmtpd_policy_answers_rcpt_vrfy_and_expn() {
    let policy = json!({
        "unknown@example.test": "550 5.1.1 No such user",
        "grey@example.test": "450 4.2.0 Greylisted",
        "@blocked.test": ["550-5.7.1 Domain blocked", "550 5.7.1 See policy"],
        "*": "250 2.1.5 Recipient OK",
        "vrfy": {"bob@example.test": "250 2.1.5 Bob <bob@example.test>",
                 "*": "550 5.1.1 Unknown user"},
        "expn": {"list@example.test": ["250-2.1.5 <a@example.test>", "250 2.1.5 <b@example.test>"]},
        "mail": {"bad@example.test": "553 5.7.1 Sender refused"}
    });
    let Some(server) = Aiosmtpd::start(AiosmtpdOptions::new().policy(policy)) else {
        return;
    };
    let mut c = Client::connect(server.addr());
    c.expect("EHLO client.example.test", 250);
    let r = c.expect("VRFY bob@example.test", 250);
    assert_eq!(r.text(), "250 2.1.5 Bob <bob@example.test>");
    c.expect("VRFY nobody@example.test", 550);
    let r = c.expect("EXPN list@example.test", 250);
    assert_eq!(r.lines.len(), 2, "{r:?}");
    c.expect("EXPN other@example.test", 502);
    c.expect("MAIL FROM:<bad@example.test>", 553);
    c.expect("MAIL FROM:<a@example.test>", 250);
    let r = c.expect("RCPT TO:<unknown@example.test>", 550);
    assert_eq!(r.text(), "550 5.1.1 No such user");
    c.expect("RCPT TO:<grey@example.test>", 450);
    let r = c.expect("RCPT TO:<x@blocked.test>", 550);
    assert_eq!(r.lines.len(), 2, "{r:?}");
    let r = c.expect("RCPT TO:<ok@example.test>", 250);
    assert_eq!(r.text(), "250 2.1.5 Recipient OK");
    assert_eq!(c.data(b"Subject: p\r\n\r\nbody\r\n").code, 250);
    c.quit();
    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].rcpt_tos, ["ok@example.test"]);
}

#[test]
fn aiosmtpd_vrfy_falls_back_to_rcpt_map() {
    let policy = json!({"gone@example.test": "550 5.1.1 Gone", "*": "250 OK"});
    let Some(server) = Aiosmtpd::start(AiosmtpdOptions::new().policy(policy)) else {
        return;
    };
    let mut c = Client::connect(server.addr());
    c.expect("EHLO client.example.test", 250);
    c.expect("VRFY gone@example.test", 550);
    // "*" is the RCPT default, not a VRFY answer: aiosmtpd's 252 applies.
    c.expect("VRFY someone@example.test", 252);
    c.quit();
}

#[test]
fn aiosmtpd_require_starttls_then_auth_plain() {
    let pki = test_pki();
    let opts = AiosmtpdOptions::new()
        .require_starttls(&pki.cert_pem, &pki.key_pem)
        .auth("alice", "s3cret pass")
        .auth_require_tls();
    let Some(server) = Aiosmtpd::start(opts) else {
        return;
    };

    let mut c = Client::connect(server.addr());
    let ehlo = c.expect("EHLO client.example.test", 250);
    assert!(ehlo.has_line("STARTTLS"), "{}", ehlo.text());
    assert!(
        !ehlo.lines.iter().any(|l| l.contains("AUTH")),
        "{}",
        ehlo.text()
    );
    c.expect("MAIL FROM:<a@example.test>", 530);
    c.starttls(&pki.ca_der, "127.0.0.1");
    let ehlo = c.expect("EHLO client.example.test", 250);
    assert!(!ehlo.has_line("STARTTLS"), "{}", ehlo.text());
    assert!(ehlo.has_line("AUTH LOGIN PLAIN"), "{}", ehlo.text());
    // A wrong password must get a reply (the handled=False trap).
    c.expect(&format!("AUTH PLAIN {}", b64(b"\0alice\0wrong")), 535);
    c.expect(&format!("AUTH PLAIN {}", b64(b"\0alice\0s3cret pass")), 235);
    let content = b"Subject: over starttls\r\n\r\nsecret body\r\n";
    c.send_message("alice@example.test", &["b@example.test"], content);
    c.quit();

    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].content, content);
    assert!(got[0].tls && got[0].authenticated, "{:?}", got[0]);
}

#[test]
fn aiosmtpd_implicit_tls_with_auth_login() {
    let pki = test_pki();
    let opts = AiosmtpdOptions::new()
        .implicit_tls(&pki.cert_pem, &pki.key_pem)
        .auth("alice", "pw")
        .auth_require_tls()
        .auth_required();
    let Some(server) = Aiosmtpd::start(opts) else {
        return;
    };
    // Name-based verification too: the leaf carries DNS:localhost.
    let mut c = Client::connect_tls(server.addr(), &pki.ca_der, "localhost");
    let ehlo = c.expect("EHLO client.example.test", 250);
    assert!(!ehlo.has_line("STARTTLS"), "{}", ehlo.text());
    assert!(ehlo.has_line("AUTH LOGIN PLAIN"), "{}", ehlo.text());
    c.expect("MAIL FROM:<a@example.test>", 530);
    let r = c.expect("AUTH LOGIN", 334);
    assert_eq!(r.text(), format!("334 {}", b64(b"User Name\0")));
    c.expect(&b64(b"alice"), 334);
    c.expect(&b64(b"pw"), 235);
    let content = b"Subject: implicit\r\n\r\nhello\r\n";
    c.send_message("alice@example.test", &["b@example.test"], content);
    c.quit();
    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].content, content);
    assert!(got[0].tls && got[0].authenticated, "{:?}", got[0]);
}

#[test]
fn aiosmtpd_size_limit_is_advertised_and_enforced() {
    let opts = AiosmtpdOptions::new().size_limit(1000).smtputf8();
    let Some(server) = Aiosmtpd::start(opts) else {
        return;
    };
    let mut c = Client::connect(server.addr());
    let ehlo = c.expect("EHLO client.example.test", 250);
    assert!(ehlo.has_line("SIZE 1000"), "{}", ehlo.text());
    assert!(ehlo.has_line("SMTPUTF8"), "{}", ehlo.text());
    c.expect("MAIL FROM:<a@example.test> SIZE=1001", 552);
    c.expect("MAIL FROM:<a@example.test> SIZE=10", 250);
    c.expect("RCPT TO:<b@example.test>", 250);
    let mut big = b"Subject: big\r\n\r\n".to_vec();
    for _ in 0..30 {
        big.extend_from_slice(&[b'y'; 60]);
        big.extend_from_slice(b"\r\n");
    }
    assert_eq!(c.data(&big).code, 552);
    c.expect("MAIL FROM:<j\u{f6}rg@example.test> SMTPUTF8", 250);
    c.expect("RCPT TO:<b@example.test>", 250);
    assert_eq!(c.data(b"Subject: small\r\n\r\nok\r\n").code, 250);
    c.quit();
    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert!(got[0].smtp_utf8);
    assert_eq!(got[0].mail_from, "j\u{f6}rg@example.test");
}

#[test]
fn aiosmtpd_listens_on_ipv6_loopback() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        println!("skipped: no IPv6 loopback here");
        return;
    }
    let Some(server) = Aiosmtpd::start(AiosmtpdOptions::new().ipv6()) else {
        return;
    };
    assert!(
        server.server_arg().starts_with("[::1]:"),
        "{}",
        server.server_arg()
    );
    let mut c = Client::connect(server.addr());
    c.expect("EHLO client.example.test", 250);
    c.send_message(
        "a@example.test",
        &["b@example.test"],
        b"Subject: v6\r\n\r\nhi\r\n",
    );
    c.quit();
    assert_eq!(server.messages().len(), 1);
}

#[test]
fn aiosmtpd_exits_cleanly_on_sigterm() {
    let Some(mut server) = Aiosmtpd::start(AiosmtpdOptions::new()) else {
        return;
    };
    let status = server
        .terminate(Duration::from_secs(10))
        .expect("aiosmtpd did not exit within 10 s of SIGTERM");
    assert!(status.success(), "{status}; log:\n{}", server.log());
}

// ---------------------------------------------------------------------------
// smtp-sink

#[test]
fn smtp_sink_accepts_and_captures() {
    let Some(sink) = SmtpSink::start_capturing(&["-c"]) else {
        return;
    };
    let mut c = Client::connect(sink.addr());
    let ehlo = c.expect("EHLO client.example.test", 250);
    assert!(ehlo.has_line("PIPELINING"), "{}", ehlo.text());
    let content = tricky_content();
    c.send_message("a@example.test", &["b@example.test"], &content);
    c.quit();

    let dumps = sink.captured(1, DELIVERY_TIMEOUT);
    assert_eq!(dumps.len(), 1, "output: {}", sink.output());
    let dump = &dumps[0];
    let text = String::from_utf8_lossy(dump);
    assert!(text.contains("X-Mail-Args: <a@example.test>"), "{text}");
    assert!(text.contains("X-Rcpt-Args: <b@example.test>"), "{text}");
    // The dump stores LF line endings, unstuffed, plus a trailing empty line.
    let expected: Vec<u8> = String::from_utf8_lossy(&content)
        .replace("\r\n", "\n")
        .into_bytes();
    let message = strip_sink_headers(dump);
    assert!(message.starts_with(&expected), "{text}");
    assert_eq!(&message[expected.len()..], b"\n", "{text}");
}

#[test]
fn smtp_sink_fault_flags_apply() {
    let Some(sink) = SmtpSink::start(&["-r", "RCPT", "-h", "sink.example.test"]) else {
        return;
    };
    let mut c = Client::connect(sink.addr());
    let ehlo = c.expect("EHLO client.example.test", 250);
    assert_eq!(ehlo.lines[0], "250-sink.example.test");
    c.expect("MAIL FROM:<a@example.test>", 250);
    let r = c.expect("RCPT TO:<b@example.test>", 450);
    assert!(r.text().starts_with("450 4.3.0"), "{r:?}");
    c.quit();
}

#[test]
fn swaks_delivers_to_smtp_sink() {
    if !require("swaks") {
        return;
    }
    let Some(sink) = SmtpSink::start_capturing(&[]) else {
        return;
    };
    let out = Command::new("swaks")
        .args(["--server", &sink.server_arg()])
        .args(["--from", "a@example.test", "--to", "b@example.test"])
        .args(["--helo", "client.example.test"])
        .args(["--header", "Subject: via swaks", "--body", "swaks body"])
        .output()
        .expect("run swaks");
    assert!(
        out.status.success(),
        "swaks: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
    let dumps = sink.captured(1, DELIVERY_TIMEOUT);
    assert_eq!(dumps.len(), 1);
    let text = String::from_utf8_lossy(&dumps[0]);
    assert!(text.contains("Subject: via swaks\n"), "{text}");
    assert!(text.contains("\nswaks body\n"), "{text}");
}

#[test]
fn swaks_verifies_starttls_against_aiosmtpd() {
    if !require("swaks-tls") {
        return;
    }
    let pki = test_pki();
    let opts = AiosmtpdOptions::new().require_starttls(&pki.cert_pem, &pki.key_pem);
    let Some(server) = Aiosmtpd::start(opts) else {
        return;
    };
    let out = Command::new("swaks")
        .args(["--server", &server.server_arg(), "-tls", "--tls-verify"])
        .arg("--tls-ca-path")
        .arg(&pki.ca_pem)
        .args(["--from", "a@example.test", "--to", "b@example.test"])
        .args(["--helo", "client.example.test", "--body", "over tls"])
        .output()
        .expect("run swaks");
    assert!(
        out.status.success(),
        "swaks: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert!(got[0].tls);
}

// ---------------------------------------------------------------------------
// Postfix

fn postfix_check(instance: &PostfixInstance) {
    let out = Command::new("/usr/sbin/postfix")
        .arg("-c")
        .arg(instance.config_dir())
        .arg("check")
        .output()
        .expect("run postfix check");
    assert!(
        out.status.success(),
        "postfix check: {}\n{}{}\nmaillog:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        instance.maillog()
    );
}

fn assert_no_postfix_warnings(instance: &PostfixInstance) {
    let log = instance.maillog();
    let bad = PostfixInstance::complaints(&log);
    assert!(bad.is_empty(), "Postfix complained:\n{}", bad.join("\n"));
}

#[test]
fn postfix_delivers_over_starttls_and_answers_vrfy() {
    let pki = test_pki();
    let opts = PostfixOptions::new()
        .tls(&pki.cert_pem, &pki.key_pem)
        .users(&["alice", "bob"]);
    let Some(pf) = PostfixInstance::start(opts) else {
        return;
    };
    postfix_check(&pf);

    let mut c = Client::connect(pf.addr());
    let ehlo = c.expect("EHLO client.example.test", 250);
    for cap in [
        "STARTTLS",
        "VRFY",
        "PIPELINING",
        "SIZE 10240000",
        "SMTPUTF8",
    ] {
        assert!(ehlo.has_line(cap), "no {cap}: {}", ehlo.text());
    }
    c.expect("VRFY bob@example.test", 252);
    let r = c.expect("VRFY carol@example.test", 550);
    assert!(r.text().contains("5.1.1"), "{r:?}");
    c.starttls(&pki.ca_der, "127.0.0.1");
    c.expect("EHLO client.example.test", 250);
    c.expect("MAIL FROM:<sender@example.test>", 250);
    c.expect("RCPT TO:<carol@example.test>", 550);
    let r = c.expect("RCPT TO:<someone@elsewhere.test>", 554);
    assert!(r.text().contains("Relay access denied"), "{r:?}");
    c.expect("RCPT TO:<bob@example.test>", 250);
    let content = tricky_content();
    assert_eq!(c.data(&content).code, 250);
    c.quit();

    let mail = pf.delivered(DELIVERY_TIMEOUT);
    assert_eq!(mail.len(), 1, "maillog:\n{}", pf.maillog());
    let text = String::from_utf8_lossy(&mail[0]);
    assert!(text.contains("Delivered-To: bob@example.test\n"), "{text}");
    assert!(text.contains("with ESMTPS"), "{text}");
    assert!(text.contains("Subject: fixture check\n"), "{text}");
    assert!(text.contains("\n.leading dot\n"), "{text}");
    assert!(text.contains(&"x".repeat(990)), "{text}");
    assert_no_postfix_warnings(&pf);
}

/// LHLO, one reply per recipient after the dot, the Maildir filled; and the
/// private master gone after `Drop`.
#[test]
fn dovecot_lmtp_delivers_per_recipient_and_stops() {
    let Some(dovecot) = DovecotLmtp::start(&["alice", "bob"]) else {
        return;
    };
    let mut c = Client::connect(dovecot.addr());
    let lhlo = c.expect("LHLO client.example.test", 250);
    assert!(
        lhlo.lines.iter().any(|l| l.ends_with("PIPELINING")),
        "{lhlo:?}"
    );
    c.expect("MAIL FROM:<a@example.test>", 250);
    c.expect("RCPT TO:<alice@example.test>", 250);
    c.expect("RCPT TO:<bob@example.test>", 250);
    c.expect("RCPT TO:<nobody@example.test>", 550);
    let first = c.data(b"Subject: lmtp\r\n\r\nhello\r\n");
    let second = c.reply();
    assert_eq!(
        (first.code, second.code),
        (250, 250),
        "{first:?} {second:?}"
    );
    assert!(first.lines[0].contains("<alice@example.test>"), "{first:?}");
    assert!(second.lines[0].contains("<bob@example.test>"), "{second:?}");
    c.quit();
    for user in ["alice", "bob"] {
        let mail = dovecot.mailbox(user);
        assert_eq!(mail.len(), 1, "{user}: {}", dovecot.log());
        assert!(String::from_utf8_lossy(&mail[0]).contains("hello"));
    }
    assert!(dovecot.socket().exists());
    let pid = dovecot.pid();
    drop(dovecot);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.contains(") Z ")),
        "dovecot master {pid} still running after Drop"
    );
}

#[test]
fn postfix_instances_coexist() {
    let start = || PostfixInstance::start(PostfixOptions::new());
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(start);
        let b = s.spawn(start);
        (a.join().unwrap(), b.join().unwrap())
    });
    let (Some(a), Some(b)) = (a, b) else { return };
    assert_ne!(a.addr(), b.addr());
    for (pf, tag) in [(&a, "first"), (&b, "second")] {
        let mut c = Client::connect(pf.addr());
        c.expect("EHLO client.example.test", 250);
        let body = format!("Subject: {tag}\r\n\r\nto the {tag} instance\r\n");
        // Without a user list every example.test address is accepted.
        c.send_message("a@example.test", &["anyone@example.test"], body.as_bytes());
        c.quit();
    }
    for (pf, tag, other) in [(&a, "first", "second"), (&b, "second", "first")] {
        let mail = pf.delivered(DELIVERY_TIMEOUT);
        assert_eq!(mail.len(), 1, "maillog:\n{}", pf.maillog());
        let text = String::from_utf8_lossy(&mail[0]);
        assert!(text.contains(&format!("to the {tag} instance")), "{text}");
        assert!(
            !text.contains(&format!("to the {other} instance")),
            "{text}"
        );
        postfix_check(pf);
        assert_no_postfix_warnings(pf);
    }
}

/// `AUTH PLAIN` with an initial response (RFC 4616: authzid, authcid, password).
fn auth_plain(c: &mut Client, user: &str, password: &str) -> Reply {
    c.cmd(&format!(
        "AUTH PLAIN {}",
        b64(format!("\0{user}\0{password}").as_bytes())
    ))
}

#[test]
fn postfix_sasl_offers_auth_after_starttls_only() {
    let pki = test_pki();
    let opts = PostfixOptions::new()
        .tls(&pki.cert_pem, &pki.key_pem)
        .users(&["bob"])
        .sasl(&[("alice", "s3cret"), ("carol", "other")]);
    let Some(pf) = PostfixInstance::start(opts) else {
        return;
    };
    postfix_check(&pf);

    let mut c = Client::connect(pf.addr());
    let ehlo = c.expect("EHLO client.example.test", 250);
    assert!(
        !ehlo.lines.iter().any(|l| l.contains("AUTH")),
        "AUTH before STARTTLS: {}",
        ehlo.text()
    );
    // smtpd_tls_auth_only: refused outright, not merely unadvertised.
    c.expect(&format!("AUTH PLAIN {}", b64(b"\0alice\0s3cret")), 503);
    c.starttls(&pki.ca_der, "localhost");
    let ehlo = c.expect("EHLO client.example.test", 250);
    let auth = ehlo
        .lines
        .iter()
        .find(|l| l.get(4..).is_some_and(|t| t.starts_with("AUTH ")))
        .unwrap_or_else(|| panic!("no AUTH after STARTTLS: {}", ehlo.text()));
    let mut offered: Vec<&str> = auth[9..].split_whitespace().collect();
    offered.sort_unstable();
    assert_eq!(offered, ["CRAM-MD5", "LOGIN", "PLAIN", "SCRAM-SHA-256"]);
    let r = auth_plain(&mut c, "alice", "wrong");
    assert_eq!(r.code, 535, "{r:?}");
    let r = auth_plain(&mut c, "alice", "s3cret");
    assert_eq!(r.code, 235, "{r:?}");
    c.send_message(
        "alice@example.org",
        &["bob@example.test"],
        b"Subject: sasl\r\n\r\nhi\r\n",
    );
    c.quit();

    let mail = pf.delivered(DELIVERY_TIMEOUT);
    assert_eq!(mail.len(), 1, "maillog:\n{}", pf.maillog());
    let text = String::from_utf8_lossy(&mail[0]);
    assert!(text.contains("with ESMTPSA"), "{text}");
    assert!(
        text.contains("(Authenticated sender: alice@postfix.example.test)"),
        "{text}"
    );
    // The one warning is the refused password; nothing about the setup.
    let log = pf.maillog();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("warning:") || l.contains("fatal:") || l.contains("panic:"))
        .filter(|l| {
            !l.contains("SASL PLAIN authentication failed: authentication failure")
                && !l.contains("SASL authentication failure: Password verification failed")
        })
        .collect();
    assert!(warnings.is_empty(), "Postfix complained:\n{log}");
}

#[test]
fn postfix_sasl_instances_coexist() {
    let pki = test_pki();
    let start = |user: &'static str, password: &'static str| {
        let opts = PostfixOptions::new()
            .tls(&pki.cert_pem, &pki.key_pem)
            .sasl(&[(user, password)]);
        PostfixInstance::start(opts)
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| start("anna", "pw-a"));
        let b = s.spawn(|| start("bert", "pw-b"));
        (a.join().unwrap(), b.join().unwrap())
    });
    let (Some(a), Some(b)) = (a, b) else { return };
    // Each instance knows only its own user: the sasldbs are separate.
    for (pf, own, foreign) in [
        (&a, ("anna", "pw-a"), ("bert", "pw-b")),
        (&b, ("bert", "pw-b"), ("anna", "pw-a")),
    ] {
        let mut c = Client::connect(pf.addr());
        c.expect("EHLO client.example.test", 250);
        c.starttls(&pki.ca_der, "localhost");
        c.expect("EHLO client.example.test", 250);
        let r = auth_plain(&mut c, foreign.0, foreign.1);
        assert_eq!(r.code, 535, "{r:?}\nmaillog:\n{}", pf.maillog());
        let r = auth_plain(&mut c, own.0, own.1);
        assert_eq!(r.code, 235, "{r:?}\nmaillog:\n{}", pf.maillog());
        c.quit();
        postfix_check(pf);
    }
}
