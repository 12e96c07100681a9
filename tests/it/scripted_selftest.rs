//! Tests of the scripted server and the test PKI, driven by a plain
//! std/rustls client so a bug in the fixtures is not mistaken for one in smtpx.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, StreamOwned};

use crate::support::certs::{CertKind, TestPki};
use crate::support::scripted::{
    self, ScriptedServer, ServerOptions, Step, drip, expect, greeting_ehlo, happy_send, send,
};

/// A minimal SMTP client: line-buffered reads over any stream.
struct LineClient<S: Read + Write> {
    stream: S,
    buf: Vec<u8>,
}

impl LineClient<TcpStream> {
    fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).expect("connect to scripted server");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        LineClient::new(stream)
    }
}

impl<S: Read + Write> LineClient<S> {
    fn new(stream: S) -> Self {
        LineClient {
            stream,
            buf: Vec::new(),
        }
    }

    fn write(&mut self, text: &str) {
        self.stream.write_all(text.as_bytes()).unwrap();
        self.stream.flush().unwrap();
    }

    /// One line without its CRLF; `None` at EOF.
    fn line(&mut self) -> Option<String> {
        loop {
            if let Some(nl) = self.buf.iter().position(|&b| b == b'\n') {
                let raw: Vec<u8> = self.buf.drain(..=nl).collect();
                return Some(String::from_utf8_lossy(&raw).trim_end().to_owned());
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) => panic!("client read failed: {e}"),
            }
        }
    }

    /// All lines of one (possibly multi-line) reply.
    fn reply(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let line = self.line().expect("reply line");
            let last = line.as_bytes().get(3) != Some(&b'-');
            lines.push(line);
            if last {
                return lines;
            }
        }
    }

    fn code(&mut self) -> String {
        self.reply().last().unwrap()[..3].to_owned()
    }

    /// Sends a command and returns the reply code.
    fn cmd(&mut self, text: &str) -> String {
        self.write(&format!("{text}\r\n"));
        self.code()
    }

    fn read_to_end(&mut self) -> io::Result<Vec<u8>> {
        let mut rest = std::mem::take(&mut self.buf);
        self.stream.read_to_end(&mut rest)?;
        Ok(rest)
    }

    fn into_inner(self) -> S {
        assert!(self.buf.is_empty(), "unread bytes before TLS upgrade");
        self.stream
    }
}

fn tls_client_config(pki: &TestPki) -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(pki.root_store())
        .with_no_client_auth();
    Arc::new(config)
}

/// Runs a TLS handshake as a client against `config`, naming the server `name`.
fn tls_handshake(pki: &TestPki, kind: CertKind, name: &str) -> Result<(), String> {
    let server = ScriptedServer::start(vec![Step::StartTls(pki.server_config(kind)), Step::Close]);
    let sock = TcpStream::connect(server.addr()).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let name = ServerName::try_from(name.to_owned()).unwrap();
    let mut conn = ClientConnection::new(tls_client_config(pki), name).unwrap();
    let mut sock = sock;
    let result = loop {
        if !conn.is_handshaking() {
            break Ok(());
        }
        if let Err(e) = conn.complete_io(&mut sock) {
            break Err(describe_tls_error(&e));
        }
    };
    drop(sock);
    server.finish();
    result
}

/// The rustls error inside an I/O error, in Debug form (`InvalidCertificate(Expired..)`).
fn describe_tls_error(e: &io::Error) -> String {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(tls) => format!("{tls:?}"),
        None => e.to_string(),
    }
}

fn smtp_happy_path(client: &mut LineClient<TcpStream>) {
    assert_eq!(client.code(), "220");
    let ehlo = {
        client.write("EHLO client.test\r\n");
        client.reply()
    };
    assert_eq!(
        ehlo,
        [
            "250-mx.test",
            "250-PIPELINING",
            "250-8BITMIME",
            "250 SIZE 10240000"
        ]
    );
    assert_eq!(client.cmd("MAIL FROM:<a@client.test>"), "250");
    assert_eq!(client.cmd("RCPT TO:<b@mx.test>"), "250");
    assert_eq!(client.cmd("DATA"), "354");
    client.write("Subject: hi\r\n\r\nbody\r\n.\r\n");
    assert_eq!(client.code(), "250");
    assert_eq!(client.cmd("QUIT"), "221");
    assert_eq!(client.line(), None, "server closes after 221");
}

#[test]
fn happy_path_records_commands_and_data() {
    let server = ScriptedServer::start(happy_send(1));
    let mut client = LineClient::connect(server.addr());
    smtp_happy_path(&mut client);
    drop(client);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(record.connections, 1);
    assert_eq!(
        record.commands,
        [
            "EHLO client.test",
            "MAIL FROM:<a@client.test>",
            "RCPT TO:<b@mx.test>",
            "DATA",
            "QUIT"
        ]
    );
    assert_eq!(record.data, [b"Subject: hi\r\n\r\nbody\r\n".to_vec()]);
}

#[test]
fn pipelined_commands_in_one_write_are_consumed_line_by_line() {
    let mut script = greeting_ehlo(&["PIPELINING"]);
    script.extend([
        expect("mail from:"),
        send("250 ok\r\n"),
        expect("RCPT TO:"),
        send("250 ok\r\n"),
        expect("RCPT TO:"),
        send("250 ok\r\n"),
        expect("DATA"),
        send("354 go\r\n"),
        Step::ExpectData,
        send("250 queued\r\n"),
    ]);
    let server = ScriptedServer::start(script);
    let mut client = LineClient::connect(server.addr());
    client.code();
    client.write("EHLO c\r\n");
    client.reply();
    let batch = "MAIL FROM:<a@c>\r\nRCPT TO:<b@d>\nRCPT TO:<c@d>\r\nDATA\r\n";
    client.write(batch);
    let codes: Vec<String> = (0..4).map(|_| client.code()).collect();
    assert_eq!(codes, ["250", "250", "250", "354"]);
    client.write("x\r\n.\r\n");
    assert_eq!(client.code(), "250");
    drop(client);

    let record = server.finish();
    record.assert_clean();
    assert_eq!(
        &record.commands[1..],
        ["MAIL FROM:<a@c>", "RCPT TO:<b@d>", "RCPT TO:<c@d>", "DATA"]
    );
    assert!(
        record.reads.iter().any(|r| r == batch.as_bytes()),
        "the batch arrived in one read: {:?}",
        record.reads
    );
}

#[test]
fn expect_data_keeps_dot_stuffing_and_finds_a_split_terminator() {
    let server = ScriptedServer::start(vec![
        send("354 go\r\n"),
        Step::ExpectData,
        send("250 ok\r\n"),
        Step::ExpectData,
        send("250 empty\r\n"),
    ]);
    let mut client = LineClient::connect(server.addr());
    client.code();
    // The final CRLF . CRLF arrives across three writes.
    for part in ["..leading dot\r\n..", ".\r\n\r", "\n.", "\r\n"] {
        client.write(part);
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(client.code(), "250");
    client.write(".\r\n");
    assert_eq!(client.code(), "250");
    drop(client);

    let record = server.finish();
    record.assert_clean();
    assert_eq!(
        record.data,
        [b"..leading dot\r\n...\r\n\r\n".to_vec(), Vec::new()]
    );
}

#[test]
fn expect_bytes_reads_an_exact_chunk_and_leaves_the_rest() {
    let server = ScriptedServer::start(vec![
        expect("BDAT 5"),
        Step::ExpectBytes(5),
        send("250 ok\r\n"),
    ]);
    let mut client = LineClient::connect(server.addr());
    client.write("BDAT 5 LAST\r\nab\r\ncQUIT\r\n");
    assert_eq!(client.code(), "250");
    drop(client);

    let record = server.finish();
    record.assert_clean();
    assert_eq!(record.data, [b"ab\r\nc".to_vec()]);
    assert!(record.received_text().ends_with("QUIT\r\n"));
}

#[test]
fn mismatch_is_recorded_answered_with_500_and_closed() {
    let server = ScriptedServer::start(greeting_ehlo(&[]));
    let mut client = LineClient::connect(server.addr());
    client.code();
    client.write("HELO client.test\r\n");
    assert_eq!(client.line().as_deref(), Some("500 5.5.2 script mismatch"));
    assert_eq!(client.line(), None);

    let record = server.finish();
    assert_eq!(record.commands, ["HELO client.test"]);
    assert_eq!(record.errors.len(), 1, "{:?}", record.errors);
    assert!(
        record.errors[0].contains("\"EHLO\""),
        "{}",
        record.errors[0]
    );
    assert!(record.errors[0].contains("HELO client.test"));
}

#[test]
fn silent_client_times_out_instead_of_hanging() {
    let opts = ServerOptions {
        read_timeout: Duration::from_millis(200),
        ..ServerOptions::default()
    };
    let server = ScriptedServer::start_with(opts, vec![greeting_ehlo(&[])]);
    let started = Instant::now();
    let mut client = LineClient::connect(server.addr());
    client.code();
    assert_eq!(client.line(), None, "server gives up and closes");
    let record = server.finish();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(record.errors.len(), 1);
    assert!(
        record.errors[0].contains("timed out"),
        "{}",
        record.errors[0]
    );
}

#[test]
fn missing_connection_is_reported_not_waited_for() {
    let opts = ServerOptions {
        accept_timeout: Duration::from_millis(100),
        ..ServerOptions::default()
    };
    let server = ScriptedServer::start_with(opts, vec![happy_send(1)]);
    let record = server.finish();
    assert_eq!(record.connections, 0);
    assert!(record.errors[0].contains("no client connected"));
}

#[test]
fn finish_is_bounded_when_a_script_runs_long() {
    let opts = ServerOptions {
        finish_timeout: Duration::from_millis(200),
        ..ServerOptions::default()
    };
    let server = ScriptedServer::start_with(opts, vec![vec![Step::Delay(Duration::from_secs(3))]]);
    let _client = TcpStream::connect(server.addr()).unwrap();
    let started = Instant::now();
    let record = server.finish();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(record.errors[0].contains("script not finished"));
}

#[test]
fn start_many_serves_connections_in_sequence() {
    let server = ScriptedServer::start_many(vec![
        vec![send("421 4.3.2 busy\r\n"), Step::Close],
        happy_send(1),
    ]);
    let mut first = LineClient::connect(server.addr());
    assert_eq!(first.code(), "421");
    assert_eq!(first.line(), None);
    let mut second = LineClient::connect(server.addr());
    smtp_happy_path(&mut second);
    drop(second);

    let record = server.finish();
    record.assert_clean();
    assert_eq!(record.connections, 2);
    assert_eq!(record.data.len(), 1);
}

#[test]
fn ipv6_loopback_server() {
    if !scripted::ipv6_loopback_available() {
        eprintln!("skipped: [::1] is not available here");
        return;
    }
    let server = ScriptedServer::start_v6(happy_send(1));
    assert!(server.server_arg().starts_with("[::1]:"));
    let mut client = LineClient::connect(server.addr());
    smtp_happy_path(&mut client);
    drop(client);
    server.finish().assert_clean();
}

#[test]
fn send_puts_replies_in_one_segment() {
    let server = ScriptedServer::start(vec![send("220 x\r\n250 injected\r\n"), Step::Close]);
    let mut client = TcpStream::connect(server.addr()).unwrap();
    // Wait until the FIN is queued too, so one read returns whatever the
    // single write put on the wire.
    std::thread::sleep(Duration::from_millis(100));
    let mut buf = [0u8; 64];
    let n = client.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"220 x\r\n250 injected\r\n");
    drop(client);
    server.finish().assert_clean();
}

#[test]
fn drip_sends_one_byte_at_a_time() {
    let every = Duration::from_millis(30);
    let server = ScriptedServer::start(vec![drip("220 ok\r\n", every)]);
    let mut client = TcpStream::connect(server.addr()).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let started = Instant::now();
    let mut got = Vec::new();
    let mut reads = 0;
    let mut buf = [0u8; 64];
    while !got.ends_with(b"\n") {
        let n = client.read(&mut buf).unwrap();
        assert!(n > 0);
        got.extend_from_slice(&buf[..n]);
        reads += 1;
    }
    assert_eq!(got, b"220 ok\r\n");
    assert!(reads >= 4, "only {reads} reads");
    assert!(started.elapsed() >= every * 7);
    drop(client);
    server.finish().assert_clean();
}

#[test]
fn close_is_a_fin_and_reset_is_a_rst() {
    let server = ScriptedServer::start_many(vec![
        vec![send("220 ok\r\n"), Step::Close],
        vec![
            send("220 ok\r\n"),
            Step::Delay(Duration::from_millis(50)),
            Step::Reset,
        ],
    ]);
    let mut fin = LineClient::connect(server.addr());
    assert_eq!(fin.read_to_end().unwrap(), b"220 ok\r\n");

    let mut rst = LineClient::connect(server.addr());
    assert_eq!(rst.code(), "220");
    let err = rst.read_to_end().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
    server.finish().assert_clean();
}

#[test]
fn close_reads_what_the_client_still_sends() {
    let server = ScriptedServer::start(vec![send("421 bye\r\n"), Step::Close]);
    let mut client = LineClient::connect(server.addr());
    client.write("QUIT\r\n");
    assert_eq!(client.code(), "421");
    assert_eq!(client.line(), None);
    drop(client);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(record.received, b"QUIT\r\n");
}

#[test]
fn read_until_close_records_everything() {
    let server = ScriptedServer::start(vec![send("220 ok\r\n"), Step::ReadUntilClose]);
    let mut client = LineClient::connect(server.addr());
    client.code();
    client.write("NOOP\r\n");
    client.write("QUIT\r\n");
    client.stream.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(client.line(), None);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(record.received, b"NOOP\r\nQUIT\r\n");
    assert!(record.commands.is_empty());
}

#[test]
fn stall_lets_client_writes_back_up() {
    let server = ScriptedServer::start(vec![
        send("354 go\r\n"),
        // Long enough that a loaded machine still fills the buffers before it ends.
        Step::Stall(Duration::from_secs(2)),
        Step::ExpectData,
        send("250 ok\r\n"),
    ]);
    let mut client = LineClient::connect(server.addr());
    client.code();
    client
        .stream
        .set_write_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    // Far more than the socket buffers hold, so the write blocks until the stall ends.
    let body = "x".repeat(78) + "\r\n";
    let chunk = body.repeat(512);
    let mut blocked = false;
    for _ in 0..400 {
        if let Err(e) = client.stream.write_all(chunk.as_bytes()) {
            assert!(matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ));
            blocked = true;
            break;
        }
    }
    assert!(blocked, "writes never backed up");
    drop(client);
    let record = server.finish();
    assert_eq!(record.errors.len(), 1, "{:?}", record.errors);
    assert!(record.errors[0].contains("ExpectData"));
    assert!(record.errors[0].contains("client closed"));
}

#[test]
fn starttls_upgrade_with_the_test_ca() {
    let pki = TestPki::new();
    let mut script = greeting_ehlo(&["STARTTLS"]);
    script.extend([
        expect("STARTTLS"),
        send("220 2.0.0 Ready to start TLS\r\n"),
        Step::StartTls(pki.server_config(CertKind::Valid)),
        expect("EHLO"),
        send("250 mx.test\r\n"),
        expect("QUIT"),
        send("221 bye\r\n"),
        Step::Close,
    ]);
    let server = ScriptedServer::start(script);
    let mut plain = LineClient::connect(server.addr());
    plain.code();
    plain.write("EHLO c\r\n");
    assert!(plain.reply().iter().any(|l| l.ends_with("STARTTLS")));
    assert_eq!(plain.cmd("STARTTLS"), "220");

    let name = ServerName::try_from("localhost").unwrap();
    let conn = ClientConnection::new(tls_client_config(&pki), name).unwrap();
    let mut tls = LineClient::new(StreamOwned::new(conn, plain.into_inner()));
    assert_eq!(tls.cmd("EHLO c"), "250");
    assert_eq!(tls.cmd("QUIT"), "221");
    assert_eq!(tls.line(), None, "close_notify then FIN");
    drop(tls);

    let record = server.finish();
    record.assert_clean();
    assert_eq!(record.commands, ["EHLO c", "STARTTLS", "EHLO c", "QUIT"]);
    assert_eq!(record.tls.len(), 1);
    assert_eq!(record.tls[0].sni.as_deref(), Some("localhost"));
    assert!(record.received_text().ends_with("EHLO c\r\nQUIT\r\n"));
}

#[test]
fn implicit_tls_with_a_client_certificate() {
    let pki = TestPki::new();
    let server = ScriptedServer::start(vec![
        Step::StartTls(pki.server_config_mtls(CertKind::Valid)),
        send("220 ok\r\n"),
        expect("QUIT"),
        send("221 bye\r\n"),
    ]);
    let (cert_path, key_path) = pki.client_cert_pem();
    let chain: Vec<CertificateDer> = CertificateDer::pem_file_iter(&cert_path)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(&key_path).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(pki.root_store())
        .with_client_auth_cert(chain, key)
        .unwrap();
    let ip = ServerName::try_from("127.0.0.1").unwrap();
    let conn = ClientConnection::new(Arc::new(config), ip).unwrap();
    let sock = TcpStream::connect(server.addr()).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut tls = LineClient::new(StreamOwned::new(conn, sock));
    assert_eq!(tls.code(), "220");
    assert_eq!(tls.cmd("QUIT"), "221");
    drop(tls);

    let record = server.finish();
    record.assert_clean();
    assert_eq!(record.tls[0].sni, None, "an IP literal sends no SNI");
    // The client sends its leaf and the CA, as the PEM file holds both.
    assert_eq!(record.tls[0].client_certs, 2);
}

#[test]
fn cert_kinds_verify_as_described() {
    let pki = TestPki::new();
    let cases = [
        (CertKind::Valid, "localhost", None),
        (CertKind::Valid, "mx.test", None),
        (CertKind::Valid, "::1", None),
        (CertKind::ExpiresSoon, "localhost", None),
        (CertKind::IpOnly, "127.0.0.1", None),
        (CertKind::IpOnly, "localhost", Some("NotValidForName")),
        (CertKind::WrongName, "localhost", Some("NotValidForName")),
        (CertKind::Expired, "localhost", Some("Expired")),
        (CertKind::NotYetValid, "localhost", Some("NotValidYet")),
        (CertKind::SelfSigned, "localhost", Some("UnknownIssuer")),
        (CertKind::UnknownCa, "localhost", Some("UnknownIssuer")),
    ];
    for (kind, name, want) in cases {
        let got = tls_handshake(&pki, kind, name);
        match want {
            None => assert_eq!(got, Ok(()), "{kind:?} as {name}"),
            Some(fragment) => {
                let err = got.expect_err(&format!("{kind:?} as {name} must fail"));
                assert!(err.contains(fragment), "{kind:?} as {name}: {err}");
            }
        }
    }
}

#[test]
fn pem_files_exist_and_parse() {
    let pki = TestPki::new();
    let ca: Vec<_> = CertificateDer::pem_file_iter(&pki.ca_pem_path)
        .unwrap()
        .collect();
    assert_eq!(ca.len(), 1);
    for kind in CertKind::ALL {
        let (chain, key) = pki.leaf_pem(kind);
        let certs = CertificateDer::pem_file_iter(&chain).unwrap().count();
        let want = if kind == CertKind::SelfSigned { 1 } else { 2 };
        assert_eq!(certs, want, "{kind:?}");
        PrivateKeyDer::from_pem_file(&key).unwrap();
    }
}
