//! `smtpx serve` with clients: smtpx send, swaks and Python's smtplib; storage,
//! limits, signals, exit codes and JSON events.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use crate::support::content::{file_with, message, path};
use crate::support::peers::require;
use crate::support::run::{Smtpx, smtpx};
use crate::support::serve::{Serve, maildir_messages, without_envelope};

const PYTHON: &str = "/usr/bin/python3";

fn send(server: &Serve, extra: &[&str]) -> crate::support::run::Out {
    Smtpx::send()
        .args(&["--server", &server.server_arg()])
        .args(&["--from", "me@example.org", "--to", "you@example.org"])
        .args(extra)
        .run()
}

/// A message with an attachment, a dot-led line and 8-bit text: what must come out
/// of the Maildir exactly as it went in.
fn mime_message() -> Vec<u8> {
    let mut m = b"From: <me@example.org>\r\nTo: <you@example.org>\r\nSubject: attachment\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
caf\xc3\xa9\r\n.leading dot\r\n..two dots\r\n\r\n\
--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\
Content-Disposition: attachment; filename=\"data.bin\"\r\n\r\n"
        .to_vec();
    let blob: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 256) as u8).collect();
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(blob);
    for chunk in b64.as_bytes().chunks(76) {
        m.extend_from_slice(chunk);
        m.extend_from_slice(b"\r\n");
    }
    m.extend_from_slice(b"--b1--\r\n");
    m
}

#[test]
fn send_to_serve_is_stored_in_the_maildir_byte_exact() {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("md");
    let server = Serve::start(&[
        "--max-messages",
        "1",
        "--maildir",
        maildir.to_str().unwrap(),
    ]);
    let content = message("exact", 5000);
    let f = file_with(&content);
    let out = send(&server, &["--data", &path(&f)]);
    assert_eq!(out.code, 0, "{out}");
    let served = server.wait();
    assert_eq!(served.code, 0, "{served}");
    let files = maildir_messages(&maildir);
    assert_eq!(files.len(), 1);
    let stored = std::fs::read(&files[0]).unwrap();
    assert_eq!(without_envelope(&stored), &content[..]);
    let text = String::from_utf8_lossy(&stored);
    assert!(
        text.starts_with("Return-Path: <me@example.org>\r\nX-Original-To: <you@example.org>\r\n"),
        "{text}"
    );
    assert!(
        text.contains("Received: from [127.0.0.1] ([127.0.0.1]:"),
        "{text}"
    );
    // The server's side of the conversation, markers mirrored.
    assert!(
        served
            .stdout
            .contains("[1] -> 220 localhost ESMTP smtpx serve"),
        "{served}"
    );
    assert!(
        served.stdout.contains("[1] <- MAIL FROM:<me@example.org>"),
        "{served}"
    );
    assert!(served.stdout.contains("[1] <- ."), "{served}");
    assert!(served.stdout.contains("[1] message 1 ("), "{served}");
    assert!(
        served.outcome().starts_with(
            "ok: 1 message in 1 session; stopped: 1 message received (--max-messages)"
        ),
        "{served}"
    );
}

#[test]
fn bdat_and_dsn_parameters_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("md");
    let server = Serve::start(&[
        "--max-messages",
        "1",
        "--maildir",
        maildir.to_str().unwrap(),
    ]);
    let content = message("chunked", 3000);
    let f = file_with(&content);
    let out = send(
        &server,
        &[
            "--data",
            &path(&f),
            "--chunking",
            "--dsn-notify",
            "success,failure",
            "--dsn-ret",
            "hdrs",
            "--dsn-envid",
            "env 1",
        ],
    );
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.contains("BDAT"), "{out}");
    let served = server.wait();
    assert_eq!(served.code, 0, "{served}");
    let stored = std::fs::read(&maildir_messages(&maildir)[0]).unwrap();
    assert_eq!(without_envelope(&stored), &content[..]);
    let text = String::from_utf8_lossy(&stored);
    assert!(
        text.contains("X-Original-To: <you@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;you@example.org\r\n"),
        "{text}"
    );
    assert!(text.contains("RET=HDRS ENVID=env+201"), "{text}");
}

#[test]
fn mbox_storage_quotes_from_lines() {
    let dir = tempfile::tempdir().unwrap();
    let mbox = dir.path().join("mail.mbox");
    let server = Serve::start(&["--max-messages", "2", "--mbox", mbox.to_str().unwrap()]);
    for body in ["first\nFrom the start", "second"] {
        let out = send(&server, &["--subject", "m", "--body", body]);
        assert_eq!(out.code, 0, "{out}");
    }
    assert_eq!(server.wait().code, 0);
    let text = std::fs::read_to_string(&mbox).unwrap();
    assert_eq!(
        text.matches("\nFrom me@example.org ").count()
            + usize::from(text.starts_with("From me@example.org ")),
        2,
        "{text}"
    );
    assert!(text.contains("\n>From the start\n"), "{text}");
    assert!(!text.contains('\r'), "mbox lines end with LF");
}

#[test]
fn json_events_and_result() {
    let server = Serve::start(&["--max-messages", "1", "--json"]);
    let out = send(&server, &["--body", "x"]);
    assert_eq!(out.code, 0, "{out}");
    let served = server.wait();
    assert_eq!(served.code, 0, "{served}");
    let events = served.json();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types[0], "listening");
    for t in [
        "connected",
        "command",
        "reply",
        "content",
        "message",
        "closed",
        "result",
    ] {
        assert!(types.contains(&t), "no {t} event: {types:?}");
    }
    let message = events.iter().find(|e| e["type"] == "message").unwrap();
    assert_eq!(message["from"], "<me@example.org>");
    assert_eq!(message["to"][0], "<you@example.org>");
    assert_eq!(message["path"], serde_json::Value::Null);
    let result = served.result();
    assert_eq!(result["exit_code"], 0);
    assert_eq!(result["messages"], 1);
}

#[test]
fn sigterm_and_sigint_end_the_server_with_0() {
    for sig in ["TERM", "INT"] {
        let server = Serve::start(&[]);
        server.signal(sig);
        let out = server.wait();
        assert_eq!(out.code, 0, "{out}");
        assert!(
            out.outcome()
                .contains(&format!("stopped: SIG{sig} received")),
            "{out}"
        );
    }
}

#[test]
fn max_sessions_ends_the_server() {
    let server = Serve::start(&["--max-sessions", "2"]);
    for _ in 0..2 {
        let out = send(&server, &["--quit-after", "ehlo"]);
        assert_eq!(out.code, 0, "{out}");
    }
    let out = server.wait();
    assert_eq!(out.code, 0, "{out}");
    assert!(out.outcome().contains("0 messages in 2 sessions"), "{out}");
}

#[test]
fn usage_errors_exit_2_and_a_busy_address_exits_4() {
    for args in [
        &["serve", "--listen", "localhost:25"][..],
        &["serve", "--reply", "nowhere=550"],
        &["serve", "--reply", "rcpt=699"],
        &["serve", "--delay", "rcpt=soon"],
        &["serve", "--drop", "never"],
        &["serve", "--fail-every", "2"],
        &["serve", "--listen-tls", "127.0.0.1:0"],
        &["serve", "--auth-any"],
    ] {
        let out = smtpx(args);
        assert_eq!(out.code, 2, "{args:?}: {out}");
        assert!(out.stderr.starts_with("smtpx: error: "), "{args:?}: {out}");
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {out}");
    }
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = smtpx(&["serve", "--listen", &addr]);
    assert_eq!(out.code, 4, "{out}");
    assert!(
        out.stderr.contains(&format!("cannot listen on {addr}")),
        "{out}"
    );
}

#[test]
fn users_file_readable_by_others_is_refused() {
    let f = file_with(b"u:p\n");
    std::fs::set_permissions(
        f.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    let out = smtpx(&["serve", "--users", &path(&f), "--allow-insecure-auth"]);
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("readable by group or others"), "{out}");
}

/// Raw SMTP: writes `input` in one go and returns everything the server said.
fn converse(server: &Serve, input: &[u8]) -> String {
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(input).unwrap();
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    String::from_utf8_lossy(&got).into_owned()
}

#[test]
fn pipelined_commands_get_their_replies_in_order() {
    let server = Serve::start(&[]);
    let got = converse(
        &server,
        b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nRCPT TO:<bad>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n",
    );
    let codes: Vec<&str> = got
        .lines()
        .filter(|l| l.as_bytes().get(3) == Some(&b' '))
        .map(|l| &l[..3])
        .collect();
    assert_eq!(
        codes,
        ["220", "250", "250", "250", "553", "354", "250", "221"],
        "{got}"
    );
}

#[test]
fn bare_lf_end_of_data_tricks_do_not_end_the_message() {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("md");
    let server = Serve::start(&["--maildir", maildir.to_str().unwrap()]);
    // A smuggling attempt: "\n.\n" then a second transaction, then the real end.
    let got = converse(
        &server,
        b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n\
Subject: one\r\n\r\nbody\n.\nMAIL FROM:<evil@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nforged\r\n.\r\nQUIT\r\n",
    );
    let codes: Vec<&str> = got
        .lines()
        .filter(|l| l.as_bytes().get(3) == Some(&b' '))
        .map(|l| &l[..3])
        .collect();
    assert_eq!(
        codes,
        ["220", "250", "250", "250", "354", "550", "221"],
        "{got}"
    );
    assert!(
        got.contains("550 5.6.0 Message refused: bare CR or LF"),
        "{got}"
    );
    assert!(
        maildir_messages(&maildir).is_empty(),
        "nothing may be stored"
    );
}

#[test]
fn swaks_delivers_byte_exact_with_pipelining() {
    if !require("swaks") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("md");
    let server = Serve::start(&[
        "--max-messages",
        "1",
        "--maildir",
        maildir.to_str().unwrap(),
    ]);
    let content = mime_message();
    let f = file_with(&content);
    let out = Command::new("swaks")
        .args(["--server", &server.server_arg(), "--pipeline"])
        .args(["--from", "me@example.org", "--to", "you@example.org"])
        .args(["--data", &format!("@{}", path(&f))])
        .output()
        .expect("run swaks");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "swaks: {text}");
    assert_eq!(server.wait().code, 0);
    let stored = std::fs::read(&maildir_messages(&maildir)[0]).unwrap();
    // swaks always sends CRLF before the final dot, so a message that ends with a line
    // end arrives with one empty line more; the rest is exact.
    let mut sent = content.clone();
    sent.extend_from_slice(b"\r\n");
    assert_eq!(without_envelope(&stored), &sent[..]);
}

#[test]
fn swaks_attachment_arrives() {
    if !require("swaks") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("md");
    let server = Serve::start(&[
        "--max-messages",
        "1",
        "--maildir",
        maildir.to_str().unwrap(),
    ]);
    let blob: Vec<u8> = (0..5000u32).map(|i| (i * 13 % 256) as u8).collect();
    let f = file_with(&blob);
    let out = Command::new("swaks")
        .args(["--server", &server.server_arg()])
        .args(["--from", "me@example.org", "--to", "you@example.org"])
        .args([
            "--attach-type",
            "application/octet-stream",
            "--attach",
            &format!("@{}", path(&f)),
        ])
        .output()
        .expect("run swaks");
    assert!(
        out.status.success(),
        "swaks: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(server.wait().code, 0);
    let stored = String::from_utf8(std::fs::read(&maildir_messages(&maildir)[0]).unwrap()).unwrap();
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&blob);
    let joined: String = stored
        .split("\r\n")
        .filter(|l| {
            !l.is_empty()
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
        })
        .collect();
    assert!(
        joined.contains(&b64),
        "attachment not found intact:\n{stored}"
    );
}

#[test]
fn python_smtplib_delivers_byte_exact() {
    if !std::path::Path::new(PYTHON).exists() {
        println!("skipped: {PYTHON} not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("md");
    let server = Serve::start(&[
        "--max-messages",
        "1",
        "--maildir",
        maildir.to_str().unwrap(),
    ]);
    let content = mime_message();
    let f = file_with(&content);
    let script = format!(
        "import smtplib, sys\n\
         data = open({:?}, 'rb').read()\n\
         with smtplib.SMTP('127.0.0.1', {}) as s:\n\
         \x20   s.ehlo('python.example')\n\
         \x20   assert s.has_extn('pipelining') and s.has_extn('8bitmime')\n\
         \x20   s.sendmail('me@example.org', ['you@example.org', 'them@example.org'], data, ['BODY=8BITMIME'])\n",
        path(&f),
        server.addr.port()
    );
    let out = Command::new(PYTHON)
        .args(["-c", &script])
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(server.wait().code, 0);
    let stored = std::fs::read(&maildir_messages(&maildir)[0]).unwrap();
    assert_eq!(without_envelope(&stored), &content[..]);
    let text = String::from_utf8_lossy(&stored);
    assert!(
        text.contains("X-Original-To: <them@example.org>\r\n"),
        "{text}"
    );
    assert!(
        text.contains("X-Smtpx-Mail-Params: SIZE=4503 BODY=8BITMIME\r\n"),
        "{text}"
    );
}

#[test]
fn sigterm_lets_a_session_in_progress_finish_within_a_bound() {
    let server = Serve::start(&[]);
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(b"EHLO c\r\n").unwrap();
    server.wait_for("[1] -> 250 DSN");
    server.signal("TERM");
    server.wait_for("*  Stopping (SIGTERM received): 1 session in progress, given up to 5s");
    // A new transaction is refused; the session ends cleanly.
    s.write_all(b"MAIL FROM:<a@b.example>\r\n").unwrap();
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    let got = String::from_utf8_lossy(&got);
    assert!(got.contains("421 4.3.2 Service shutting down"), "{got}");
    let out = server.wait();
    assert_eq!(out.code, 0, "{out}");

    // A client that just holds its session open does not hold the server: it ends
    // after the grace period.
    let server = Serve::start(&[]);
    let _held = TcpStream::connect(server.addr).unwrap();
    server.wait_for("[1] -> 220");
    server.signal("INT");
    let out = server.wait();
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.outcome()
            .contains("0 messages in 1 session; stopped: SIGINT received"),
        "{out}"
    );
}

#[test]
fn smtputf8_addresses_are_accepted_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("md");
    let server = Serve::start(&[
        "--max-messages",
        "1",
        "--maildir",
        maildir.to_str().unwrap(),
    ]);
    let out = Smtpx::send()
        .args(&["--server", &server.server_arg()])
        .args(&[
            "--from",
            "me@example.org",
            "--to",
            "jösé@exämple.org",
            "--body",
            "x",
        ])
        .run();
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.contains("SMTPUTF8"), "{out}");
    assert_eq!(server.wait().code, 0);
    let stored = std::fs::read_to_string(&maildir_messages(&maildir)[0]).unwrap();
    assert!(stored.contains("X-Original-To: <jösé@"), "{stored}");
    assert!(stored.contains("SMTPUTF8"), "{stored}");
}

#[test]
fn a_storage_failure_is_a_451_not_a_lost_connection() {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("md");
    let server = Serve::start(&["--maildir", maildir.to_str().unwrap()]);
    std::fs::remove_dir_all(maildir.join("tmp")).unwrap();
    let out = send(&server, &["--body", "x"]);
    assert_eq!(out.code, 8, "{out}");
    assert!(
        out.stdout.contains("451 4.3.0 Cannot store the message"),
        "{out}"
    );
    server.signal("TERM");
    let served = server.wait();
    assert_eq!(served.code, 0, "{served}");
    assert!(
        served
            .stderr
            .contains("warning: [1] cannot store the message: "),
        "{served}"
    );
}
