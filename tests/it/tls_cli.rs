//! TLS through the binary: STARTTLS and implicit TLS, certificate verdicts, and the
//! RFC 3207 security rules, against the scripted server with a test PKI.

use crate::support::certs::{CertKind, TestPki};
use crate::support::run::{Out, Smtpx};
use crate::support::scripted::{ScriptedServer, Step, ehlo_reply, expect, greeting_ehlo, send};

fn smtpx(server: &ScriptedServer, pki: &TlsArgs, extra: &[&str]) -> Out {
    let server = server.server_arg();
    let mut cmd = Smtpx::new()
        .args(&["send", "--server", &server, "--from", "me@example.org"])
        .args(&["--to", "you@example.org", "--body", "hello", "--no-timing"])
        .args(&["--timeout", "20s", "--helo", "client.test"]);
    if let TlsArgs::Ca(path) = pki
        && !path.is_empty()
    {
        cmd = cmd.args(&["--tls-ca", path]);
    }
    cmd.args(extra).run()
}

enum TlsArgs {
    Ca(String),
}

fn ca(pki: &TestPki) -> TlsArgs {
    TlsArgs::Ca(pki.ca_pem_path.display().to_string())
}

/// Greeting and EHLO offering STARTTLS, the 220, the handshake with `kind`.
fn upgrade(pki: &TestPki, kind: CertKind) -> Vec<Step> {
    let mut script = greeting_ehlo(&["PIPELINING", "STARTTLS"]);
    script.extend([
        expect("STARTTLS"),
        send("220 2.0.0 Ready to start TLS\r\n"),
        Step::StartTls(pki.server_config(kind)),
    ]);
    script
}

/// After TLS: EHLO and a whole pipelined transaction.
fn after_tls(caps: &[&str]) -> Vec<Step> {
    vec![
        expect("EHLO"),
        Step::Send(ehlo_reply("mx.test", caps)),
        expect("MAIL FROM:"),
        expect("RCPT TO:"),
        expect("DATA"),
        send("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go ahead\r\n"),
        Step::ExpectData,
        send("250 2.0.0 Ok: queued as TLS1\r\n"),
        expect("QUIT"),
        send("221 2.0.0 Bye\r\n"),
        Step::Close,
    ]
}

#[test]
fn starttls_verified_delivers_inside_tls() {
    let pki = TestPki::new();
    let mut script = upgrade(&pki, CertKind::Valid);
    script.extend(after_tls(&["PIPELINING", "AUTH PLAIN"]));
    let server = ScriptedServer::start(script);
    let out = smtpx(
        &server,
        &ca(&pki),
        &["--tls", "starttls", "--tls-server-name", "localhost"],
    );
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    for want in [
        "-> STARTTLS",
        "TLS handshake done",
        "TLSv1.3",
        "SNI localhost",
        "issuer:  CN=smtpx Test CA",
        "certificate verified",
        "~> EHLO client.test",
        "~> MAIL FROM:<me@example.org>",
        "<~ 250 2.0.0 Ok: queued as TLS1",
        "accepted: for 1 of 1 recipient, queued as TLS1",
    ] {
        assert!(
            out.stdout.contains(want),
            "missing {want:?} in\n{}",
            out.stdout
        );
    }
    assert_eq!(record.tls[0].sni.as_deref(), Some("localhost"));
}

#[test]
fn required_starttls_not_offered_stops_before_mail() {
    let pki = TestPki::new();
    let mut script = greeting_ehlo(&["PIPELINING"]);
    script.extend([expect("QUIT"), send("221 bye\r\n"), Step::Close]);
    let server = ScriptedServer::start(script);
    let out = smtpx(&server, &ca(&pki), &["--tls", "starttls"]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 5, "{}", out.stdout);
    assert!(
        out.stdout.contains("does not offer STARTTLS"),
        "{}",
        out.stdout
    );
    assert!(!record.commands.iter().any(|c| c.starts_with("MAIL")));
}

#[test]
fn required_starttls_refused_is_exit_5() {
    let pki = TestPki::new();
    let mut script = greeting_ehlo(&["STARTTLS"]);
    script.extend([
        expect("STARTTLS"),
        send("454 4.7.0 TLS not available\r\n"),
        expect("QUIT"),
        send("221 bye\r\n"),
    ]);
    let server = ScriptedServer::start(script);
    let out = smtpx(&server, &ca(&pki), &["--tls", "starttls"]);
    server.finish().assert_clean();
    assert_eq!(out.code, 5, "{}", out.stdout);
    assert!(out.stdout.contains("454"), "{}", out.stdout);
}

#[test]
fn response_injection_after_220_is_a_protocol_violation() {
    for injected in ["250-injected\r\n250 PIPELINING\r\n", "250 no crlf"] {
        let pki = TestPki::new();
        let mut script = greeting_ehlo(&["STARTTLS"]);
        script.extend([
            expect("STARTTLS"),
            send(&format!("220 go ahead\r\n{injected}")),
            Step::ReadUntilClose,
        ]);
        let server = ScriptedServer::start(script);
        let out = smtpx(&server, &ca(&pki), &["--tls", "starttls"]);
        let record = server.finish();
        assert_eq!(out.code, 9, "{}", out.stdout);
        assert!(out.stdout.contains("response injection"), "{}", out.stdout);
        // No TLS byte went out: the client sent nothing after STARTTLS.
        let after = record.received_text();
        let tail = &after[after.find("STARTTLS\r\n").unwrap() + 10..];
        assert!(tail.is_empty(), "client sent {tail:?} after STARTTLS");
    }
}

#[test]
fn bad_certificates_stop_required_tls_with_a_verdict() {
    let cases = [
        (CertKind::Expired, "expired"),
        (CertKind::NotYetValid, "not valid until"),
        (CertKind::WrongName, "is for other.example"),
        (CertKind::SelfSigned, "self-signed"),
        (CertKind::UnknownCa, "unknown authority"),
    ];
    for (kind, words) in cases {
        let pki = TestPki::new();
        let mut script = upgrade(&pki, kind);
        script.push(Step::ReadUntilClose);
        let server = ScriptedServer::start(script);
        let out = smtpx(
            &server,
            &ca(&pki),
            &["--tls", "starttls", "--tls-server-name", "localhost"],
        );
        let record = server.finish();
        assert_eq!(out.code, 5, "{kind:?}: {}", out.stdout);
        assert!(out.stdout.contains(words), "{kind:?}: {}", out.stdout);
        assert!(
            out.stdout.contains("certificate NOT verified"),
            "{}",
            out.stdout
        );
        assert!(
            !record.commands.iter().any(|c| c.starts_with("MAIL")),
            "{kind:?}"
        );
    }
}

#[test]
fn opportunistic_tls_goes_on_unverified_and_says_so() {
    let pki = TestPki::new();
    let mut script = upgrade(&pki, CertKind::SelfSigned);
    script.extend(after_tls(&["PIPELINING"]));
    let server = ScriptedServer::start(script);
    let out = smtpx(
        &server,
        &ca(&pki),
        &["--tls", "opportunistic", "--tls-server-name", "localhost"],
    );
    server.finish().assert_clean();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("?> MAIL FROM"), "{}", out.stdout);
    assert!(out.stderr.contains("not verified"), "{}", out.stderr);
}

#[test]
fn opportunistic_without_starttls_is_labelled_plaintext() {
    let mut script = greeting_ehlo(&["PIPELINING"]);
    script.extend(after_tls(&[]).into_iter().skip(2));
    let server = ScriptedServer::start(script);
    let out = smtpx(
        &server,
        &TlsArgs::Ca(String::new()),
        &["--tls", "opportunistic"],
    );
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("continuing in plaintext"),
        "{}",
        out.stdout
    );
}

#[test]
fn no_verify_continues_with_a_loud_warning() {
    let pki = TestPki::new();
    let mut script = upgrade(&pki, CertKind::Expired);
    script.extend(after_tls(&["PIPELINING"]));
    let server = ScriptedServer::start(script);
    let out = smtpx(
        &server,
        &ca(&pki),
        &["--tls", "starttls", "--tls-no-verify"],
    );
    server.finish().assert_clean();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("--tls-no-verify"), "{}", out.stderr);
    assert!(
        out.stdout.contains("it would have failed"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("?> MAIL"), "{}", out.stdout);
}

#[test]
fn implicit_tls_delivers() {
    let pki = TestPki::new();
    let mut script = vec![
        Step::StartTls(pki.server_config(CertKind::Valid)),
        send("220 mx.test ESMTP\r\n"),
    ];
    script.extend(after_tls(&["PIPELINING"]));
    let server = ScriptedServer::start(script);
    let out = smtpx(&server, &ca(&pki), &["--tls", "implicit"]);
    server.finish().assert_clean();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("<~ 220 mx.test ESMTP"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("no SNI (IP address)"), "{}", out.stdout);
}

#[test]
fn implicit_tls_against_plaintext_suggests_starttls() {
    let pki = TestPki::new();
    let server = ScriptedServer::start(vec![send("220 mx.test ESMTP\r\n"), Step::ReadUntilClose]);
    let out = smtpx(&server, &ca(&pki), &["--tls", "implicit"]);
    server.finish();
    assert_eq!(out.code, 5, "{}", out.stdout);
    assert!(
        out.stdout.contains("plaintext SMTP greeting"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("--tls starttls"), "{}", out.stdout);
}

#[test]
fn starttls_against_an_implicit_port_times_out_with_a_hint() {
    let pki = TestPki::new();
    let server = ScriptedServer::start(vec![Step::ReadUntilClose]);
    let out = smtpx(
        &server,
        &ca(&pki),
        &["--tls", "starttls", "--greeting-timeout", "300ms"],
    );
    server.finish();
    assert_eq!(out.code, 4, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("--tls implicit"), "{}", out.stdout);
}

#[test]
fn quit_after_tls_stops_after_the_second_ehlo() {
    let pki = TestPki::new();
    let mut script = upgrade(&pki, CertKind::Valid);
    script.extend([
        expect("EHLO"),
        Step::Send(ehlo_reply("mx.test", &["PIPELINING"])),
        expect("QUIT"),
        send("221 bye\r\n"),
        Step::Close,
    ]);
    let server = ScriptedServer::start(script);
    let out = smtpx(
        &server,
        &ca(&pki),
        &[
            "--tls",
            "starttls",
            "--tls-server-name",
            "localhost",
            "--quit-after",
            "tls",
        ],
    );
    server.finish().assert_clean();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("stopped: after tls-handshake"),
        "{}",
        out.stdout
    );
}

#[test]
fn capabilities_after_tls_replace_those_before() {
    // Before TLS the server offers PIPELINING; after TLS it does not. The client must
    // follow the post-TLS EHLO and send MAIL alone.
    let pki = TestPki::new();
    let mut script = upgrade(&pki, CertKind::Valid);
    script.extend([
        expect("EHLO"),
        Step::Send(ehlo_reply("mx.test", &["8BITMIME"])),
        expect("MAIL FROM:"),
        send("250 ok\r\n"),
        expect("RCPT TO:"),
        send("250 ok\r\n"),
        expect("DATA"),
        send("354 go\r\n"),
        Step::ExpectData,
        send("250 ok\r\n"),
        expect("QUIT"),
        send("221 bye\r\n"),
    ]);
    let server = ScriptedServer::start(script);
    let out = smtpx(
        &server,
        &ca(&pki),
        &["--tls", "starttls", "--tls-server-name", "localhost"],
    );
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    // No read carried MAIL and RCPT together.
    assert!(!record.reads.iter().any(|r| {
        let t = String::from_utf8_lossy(r);
        t.contains("MAIL FROM") && t.contains("RCPT TO")
    }));
}

#[test]
fn ehlo_refused_with_tls_required_does_not_fall_back_to_helo() {
    let pki = TestPki::new();
    let server = ScriptedServer::start(vec![
        send("220 mx.test\r\n"),
        expect("EHLO"),
        send("502 5.5.1 EHLO not implemented\r\n"),
        expect("QUIT"),
        send("221 bye\r\n"),
    ]);
    let out = smtpx(&server, &ca(&pki), &["--tls", "starttls"]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 5, "{}", out.stdout);
    assert!(!record.commands.iter().any(|c| c.starts_with("HELO")));
}

#[test]
fn a_bad_ca_file_is_bad_input_before_connecting() {
    let server = ScriptedServer::start(vec![]);
    let out = smtpx(
        &server,
        &TlsArgs::Ca("/nonexistent/ca.pem".into()),
        &["--tls", "starttls"],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("/nonexistent/ca.pem"), "{}", out.stderr);
}

#[test]
fn client_certificate_is_presented() {
    let pki = TestPki::new();
    let (cert, key) = pki.client_cert_pem();
    let mut script = greeting_ehlo(&["PIPELINING", "STARTTLS"]);
    script.extend([
        expect("STARTTLS"),
        send("220 go ahead\r\n"),
        Step::StartTls(pki.server_config_mtls(CertKind::Valid)),
    ]);
    script.extend(after_tls(&["PIPELINING"]));
    let server = ScriptedServer::start(script);
    let out = smtpx(
        &server,
        &ca(&pki),
        &[
            "--tls",
            "starttls",
            "--tls-server-name",
            "localhost",
            "--tls-cert",
            &cert.display().to_string(),
            "--tls-key",
            &key.display().to_string(),
        ],
    );
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(record.tls[0].client_certs >= 1);
}
