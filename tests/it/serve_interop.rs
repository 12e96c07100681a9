//! `smtpx serve` under real MTAs and load: Postfix relaying to it (relayhost, TLS
//! required) and Postfix's smtp-source.

use std::process::Command;

use crate::support::peers::{PostfixInstance, PostfixOptions, require};
use crate::support::run::Smtpx;
use crate::support::serve::{Serve, maildir_messages, without_envelope};

#[test]
fn postfix_relays_to_serve_over_tls() {
    if !require("postfix") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("md");
    let server = Serve::start(&[
        "--max-messages",
        "1",
        "--tls-self-signed",
        "--hostname",
        "relay.example.test",
        "--maildir",
        maildir.to_str().unwrap(),
    ]);
    let opts = PostfixOptions::new()
        .main_cf(&format!("relayhost = [127.0.0.1]:{}", server.addr.port()))
        .main_cf("default_transport = smtp")
        .main_cf("relay_transport = smtp")
        .main_cf("mynetworks = 127.0.0.0/8")
        // Mandatory TLS: the message must not go in clear text.
        .main_cf("smtp_tls_security_level = encrypt")
        .main_cf("smtp_tls_loglevel = 1");
    let Some(postfix) = PostfixInstance::start(opts) else {
        return;
    };
    let out = Smtpx::send()
        .args(&["--server", &postfix.server_arg()])
        .args(&["--from", "me@example.org", "--to", "you@elsewhere.example"])
        .args(&["--subject", "relayed", "--body", "through postfix"])
        .run();
    assert_eq!(out.code, 0, "{out}");
    let served = server.wait();
    assert_eq!(served.code, 0, "{served}\nmaillog:\n{}", postfix.maillog());
    assert!(served.stdout.contains("TLS established"), "{served}");
    assert!(
        served.stdout.contains("<~ MAIL FROM:<me@example.org>"),
        "{served}"
    );
    let stored = std::fs::read_to_string(&maildir_messages(&maildir)[0]).unwrap();
    assert!(
        stored.contains("X-Original-To: <you@elsewhere.example>"),
        "{stored}"
    );
    assert!(stored.contains("with ESMTPS id"), "{stored}");
    assert!(stored.contains("Subject: relayed\r\n"), "{stored}");
    assert!(stored.contains("\r\nthrough postfix\r\n"), "{stored}");
    // Postfix's smtp client logged the delivery as sent over TLS.
    let log = postfix.maillog();
    assert!(log.contains("status=sent"), "{log}");
    assert!(log.contains("TLS connection established to"), "{log}");
}

#[test]
fn smtp_source_under_load_delivers_every_message() {
    if !require("smtp-source") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("md");
    let server = Serve::start(&[
        "-q",
        "--max-messages",
        "400",
        "--maildir",
        maildir.to_str().unwrap(),
    ]);
    let out = Command::new("/usr/sbin/smtp-source")
        .args(["-s", "20", "-m", "400", "-l", "2048", "-d"])
        .arg(server.server_arg())
        .output()
        .expect("run smtp-source");
    assert!(
        out.status.success(),
        "smtp-source: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let served = server.wait();
    assert_eq!(served.code, 0, "{served}");
    assert!(
        served.outcome().starts_with("ok: 400 messages in "),
        "{served}"
    );
    let files = maildir_messages(&maildir);
    assert_eq!(files.len(), 400);
    let body = std::fs::read(&files[0]).unwrap();
    // smtp-source's body: its headers, then -l octets of 'X' lines.
    assert!(
        without_envelope(&body).starts_with(b"From: "),
        "{}",
        String::from_utf8_lossy(&body)
    );
}
