//! Promises that current deployed servers broke, one regression test each: multi-line
//! final replies, replies that arrive while smtpx is still writing, unsolicited replies,
//! post-dot pipelining refused, opportunistic TLS that fails, silent implicit-TLS ports
//! and the timeouts of the TLS handshake and QUIT.

use std::io::Write;
use std::time::Duration;

use serde_json::Value;

use crate::support::certs::{CertKind, TestPki};
use crate::support::run::{Out, Smtpx};
use crate::support::scripted::{
    Record, ScriptedServer, Step, ehlo_reply, expect, greeting_ehlo, happy_send, send,
};

const FROM: &str = "me@example.org";
const TO: &str = "you@example.org";

/// `smtpx send --server ADDR --helo client.test --from .. --to .. ARGS`.
fn send_to(server: &ScriptedServer, args: &[&str]) -> Out {
    let addr = server.server_arg();
    let mut all = vec![
        "send",
        "--no-timing",
        "--server",
        &addr,
        "--helo",
        "client.test",
        "--from",
        FROM,
        "--to",
        TO,
    ];
    all.extend_from_slice(args);
    Smtpx::new().args(&all).run()
}

fn run(script: Vec<Step>, args: &[&str]) -> (Out, Record) {
    let server = ScriptedServer::start(script);
    let out = send_to(&server, args);
    (out, server.finish())
}

fn assert_exit(out: &Out, code: i32) {
    assert_eq!(out.code, code, "wrong exit code\n{out}");
}

fn assert_outcome_starts(out: &Out, prefix: &str) {
    assert!(
        out.outcome().starts_with(prefix),
        "outcome should start with {prefix:?}\n{out}"
    );
}

/// The index of the first stdout line containing `needle`.
fn line_with(out: &Out, needle: &str) -> usize {
    out.lines()
        .iter()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line containing {needle:?}\n{out}"))
}

fn script(parts: Vec<Vec<Step>>) -> Vec<Step> {
    parts.into_iter().flatten().collect()
}

fn quit() -> Vec<Step> {
    vec![expect("QUIT"), send("221 2.0.0 Bye\r\n"), Step::Close]
}

/// A 20-byte message file, sent as it is.
fn small_message() -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(b"Subject: x\r\n\r\nbody\r\n").unwrap();
    file.flush().unwrap();
    file
}

fn json_of(out: &Out, kind: &str) -> Vec<Value> {
    out.json()
        .into_iter()
        .filter(|v| v["type"] == kind)
        .collect()
}

// ---------------------------------------------------------------------------
// Multi-line final replies (Exim's BDAT LAST)
// ---------------------------------------------------------------------------

#[test]
fn exim_multiline_bdat_last_reply_keeps_its_queue_id() {
    let file = small_message();
    let path = file.path().to_str().unwrap().to_owned();
    let steps = script(vec![
        greeting_ehlo(&["PIPELINING", "CHUNKING", "8BITMIME"]),
        vec![
            expect("MAIL FROM:"),
            expect("RCPT TO:"),
            expect("BDAT 20 LAST"),
            Step::ExpectBytes(20),
            send(
                "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n\
                 250- 20 byte chunk, total 20\r\n250 OK id=1abcDe-000FgH-Ij\r\n",
            ),
        ],
        quit(),
    ]);
    let (out, record) = run(steps.clone(), &["--data", &path, "--chunking"]);
    record.assert_clean();
    assert_exit(&out, 0);
    assert_outcome_starts(
        &out,
        "accepted: for 1 of 1 recipient, queued as 1abcDe-000FgH-Ij",
    );

    let (out, record) = run(steps, &["--data", &path, "--chunking", "--json"]);
    record.assert_clean();
    assert_exit(&out, 0);
    assert_eq!(out.result()["queue_id"], "1abcDe-000FgH-Ij", "{out}");
}

// ---------------------------------------------------------------------------
// Timeouts of the TLS handshake and of QUIT
// ---------------------------------------------------------------------------

/// STARTTLS answered 220, then nothing: the handshake never completes.
fn stalled_handshake() -> Vec<Step> {
    script(vec![
        greeting_ehlo(&["STARTTLS", "PIPELINING"]),
        vec![
            expect("STARTTLS"),
            send("220 2.0.0 Ready to start TLS\r\n"),
            Step::Stall(Duration::from_secs(8)),
            Step::Close,
        ],
    ])
}

#[test]
fn stalled_tls_handshake_ends_at_the_command_timeout() {
    let (out, record) = run(
        stalled_handshake(),
        &["--tls", "starttls", "--command-timeout", "1s"],
    );
    record.assert_clean();
    assert_exit(&out, 5);
    assert_outcome_starts(&out, "failed: at tls-handshake:");
    assert!(
        out.outcome().contains("no TLS handshake within 1s"),
        "{out}"
    );
}

#[test]
fn stalled_tls_handshake_ends_at_the_overall_timeout() {
    let (out, record) = run(
        stalled_handshake(),
        &["--tls", "starttls", "--timeout", "1s"],
    );
    record.assert_clean();
    assert_exit(&out, 5);
    assert!(
        out.outcome()
            .contains("the overall --timeout expired while waiting for TLS handshake"),
        "{out}"
    );
}

/// The message is accepted, then QUIT is never answered.
fn silent_after_quit() -> Vec<Step> {
    let mut steps = happy_send(1);
    steps.truncate(steps.len() - 2);
    steps.extend([Step::Stall(Duration::from_secs(8)), Step::Close]);
    steps
}

#[test]
fn unanswered_quit_waits_only_the_command_timeout() {
    let (out, record) = run(silent_after_quit(), &["--command-timeout", "1s"]);
    record.assert_clean();
    assert_exit(&out, 0);
    line_with(&out, "no reply to QUIT within 1s");
    assert_outcome_starts(&out, "accepted:");
}

#[test]
fn unanswered_quit_ends_at_the_overall_timeout() {
    let (out, record) = run(silent_after_quit(), &["--timeout", "2s"]);
    record.assert_clean();
    assert_exit(&out, 0);
    line_with(
        &out,
        "the overall --timeout expired while waiting for reply to QUIT",
    );
}

// ---------------------------------------------------------------------------
// A silent server: maybe an implicit-TLS port
// ---------------------------------------------------------------------------

#[test]
fn silent_greeting_suggests_implicit_tls_before_timing_out() {
    let (out, record) = run(vec![Step::ReadUntilClose], &["--greeting-timeout", "5s"]);
    record.assert_clean();
    assert_exit(&out, 4);
    let note = line_with(&out, "may expect TLS from the first byte");
    assert!(out.lines()[note].starts_with('*'), "{out}");
    assert!(out.lines()[note].contains("--tls implicit"), "{out}");
    assert!(
        note + 1 < out.lines().len(),
        "the note comes before the outcome\n{out}"
    );
    assert_outcome_starts(&out, "failed: at greeting:");

    let (out, record) = run(
        vec![Step::ReadUntilClose],
        &["--greeting-timeout", "5s", "--json"],
    );
    record.assert_clean();
    assert_exit(&out, 4);
    let notes = json_of(&out, "note");
    assert!(
        notes
            .iter()
            .any(|n| n["message"].as_str().unwrap().contains("--tls implicit")),
        "{out}"
    );
}

// ---------------------------------------------------------------------------
// Nothing pipelined after the end of a message (post-SMTP-smuggling servers)
// ---------------------------------------------------------------------------

#[test]
fn quit_waits_for_the_reply_to_the_final_dot() {
    // A hardened server answers 503 to any command that arrives with the dot; QUIT
    // must therefore travel on its own, after the dot's reply.
    let (out, record) = run(happy_send(1), &["--body", "hello"]);
    record.assert_clean();
    assert_exit(&out, 0);
    let dot = record
        .reads
        .iter()
        .position(|r| r.ends_with(b"\r\n.\r\n"))
        .unwrap_or_else(|| panic!("no read ends with the dot: {:?}", record.reads));
    assert_eq!(record.reads[dot + 1], b"QUIT\r\n", "{:?}", record.reads);
    let order = [
        "-> .",
        "<- 250 2.0.0 Ok: queued as ABC123",
        "-> QUIT",
        "<- 221",
    ];
    let at: Vec<usize> = order.iter().map(|w| line_with(&out, w)).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{out}");
    // A reply line, not a port number or a timing that happens to hold "503".
    assert!(
        !out.stdout.lines().any(|l| l.starts_with("<- 503")),
        "{out}"
    );
}

// ---------------------------------------------------------------------------
// Replies no command asked for
// ---------------------------------------------------------------------------

#[test]
fn a_second_greeting_is_a_violation_before_ehlo() {
    let (out, record) = run(
        vec![
            send("220 mx.test ESMTP\r\n220 mx.test ESMTP again\r\n"),
            Step::ReadUntilClose,
        ],
        &[],
    );
    record.assert_clean();
    assert_exit(&out, 9);
    assert_outcome_starts(&out, "failed: at ehlo: protocol violation");
    assert!(out.outcome().contains("no command asked for"), "{out}");
    assert!(
        record.received.is_empty(),
        "nothing may be sent: {:?}",
        record.received_text()
    );
}

#[test]
fn four_replies_to_one_mail_are_a_violation_at_once() {
    let steps = script(vec![
        greeting_ehlo(&["8BITMIME"]),
        vec![
            expect("MAIL FROM:"),
            send("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go ahead\r\n250 2.0.0 queued\r\n"),
            Step::ReadUntilClose,
        ],
    ]);
    let (out, record) = run(steps, &[]);
    record.assert_clean();
    assert_exit(&out, 9);
    assert!(out.outcome().contains("no command asked for"), "{out}");
    assert_eq!(
        record.commands,
        ["EHLO client.test", "MAIL FROM:<me@example.org>"]
    );
    assert!(
        !record.received_text().contains("RCPT") && !record.received_text().contains("QUIT"),
        "nothing more may be sent: {:?}",
        record.received_text()
    );
}

// ---------------------------------------------------------------------------
// Opportunistic TLS whose handshake fails: plaintext on a new connection
// ---------------------------------------------------------------------------

/// STARTTLS offered and answered 220, then bytes that are not TLS, then a close.
fn broken_starttls() -> Vec<Step> {
    script(vec![
        greeting_ehlo(&["STARTTLS", "PIPELINING"]),
        vec![
            expect("STARTTLS"),
            send("220 2.0.0 Ready to start TLS\r\n"),
            Step::Delay(Duration::from_millis(100)),
            send("this is not a TLS record\r\n"),
            Step::Close,
        ],
    ])
}

#[test]
fn opportunistic_tls_that_fails_retries_in_plaintext_on_a_new_connection() {
    let server = ScriptedServer::start_many(vec![broken_starttls(), happy_send(1)]);
    let out = send_to(&server, &["--tls", "opportunistic"]);
    let record = server.finish();
    record.assert_clean();
    assert_exit(&out, 0);
    assert_eq!(record.connections, 2);
    let note = line_with(&out, "retries without TLS on a new connection");
    assert!(out.lines()[note].starts_with('*'), "{out}");
    assert!(note < line_with(&out, "-> MAIL FROM:"), "{out}");
    assert_eq!(
        record
            .commands
            .iter()
            .filter(|c| c.starts_with("STARTTLS"))
            .count(),
        1,
        "the second connection stays in plaintext: {:?}",
        record.commands
    );

    let server = ScriptedServer::start_many(vec![broken_starttls(), happy_send(1)]);
    let out = send_to(&server, &["--json"]);
    server.finish().assert_clean();
    assert_exit(&out, 0);
    assert!(
        json_of(&out, "note").iter().any(|n| n["message"]
            .as_str()
            .unwrap()
            .contains("retries without TLS")),
        "{out}"
    );
}

#[test]
fn required_tls_or_credentials_never_fall_back_to_plaintext() {
    let server = ScriptedServer::start(broken_starttls());
    let out = send_to(&server, &["--tls", "starttls"]);
    let record = server.finish();
    record.assert_clean();
    assert_exit(&out, 5);
    assert_eq!(record.connections, 1);
    assert!(!out.stdout.contains("retries without TLS"), "{out}");

    let server = ScriptedServer::start(broken_starttls());
    let addr = server.server_arg();
    let out = Smtpx::new()
        .args(&[
            "send",
            "--no-timing",
            "--server",
            &addr,
            "--helo",
            "client.test",
            "--from",
            FROM,
            "--to",
            TO,
            "--tls",
            "opportunistic",
            "--user",
            "tim",
            "--password-env",
            "SMTPX_TEST_PASSWORD",
        ])
        .env("SMTPX_TEST_PASSWORD", "secret-canary")
        .run();
    let record = server.finish();
    record.assert_clean();
    assert_exit(&out, 5);
    assert_eq!(record.connections, 1);
    assert!(!out.stdout.contains("retries without TLS"), "{out}");
}

// ---------------------------------------------------------------------------
// A reply while the content is still going
// ---------------------------------------------------------------------------

/// A message far larger than both socket buffers.
fn huge_message(mib: usize) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    let mut block = Vec::with_capacity(1024 * 1024);
    block.extend_from_slice(b"Subject: big\r\n\r\n");
    while block.len() < 1024 * 1024 - 80 {
        block.extend_from_slice(&[b'x'; 78]);
        block.extend_from_slice(b"\r\n");
    }
    for _ in 0..mib {
        file.write_all(&block).unwrap();
    }
    file.flush().unwrap();
    file
}

#[test]
fn a_550_mid_body_from_a_server_that_stops_reading_ends_the_write() {
    let file = huge_message(20);
    let path = file.path().to_str().unwrap().to_owned();
    let steps = script(vec![
        greeting_ehlo(&["8BITMIME"]),
        vec![
            expect("MAIL FROM:"),
            send("250 2.1.0 Ok\r\n"),
            expect("RCPT TO:"),
            send("250 2.1.5 Ok\r\n"),
            expect("DATA"),
            send("354 go ahead\r\n"),
            Step::ExpectBytes(64 * 1024),
            send("550 5.7.1 content refused\r\n"),
            // Stops reading: without watching for the reply, smtpx would block on its
            // write until --data-block-timeout (10 minutes here; the hang guard is 60 s).
            Step::Stall(Duration::from_secs(12)),
            Step::Close,
        ],
    ]);
    let (out, record) = run(steps, &["--data", &path, "--data-block-timeout", "10m"]);
    record.assert_clean();
    assert_exit(&out, 7);
    line_with(&out, "<- 550 5.7.1 content refused");
    assert_outcome_starts(&out, "rejected: at body: 550");
    assert!(!record.received_text().contains("QUIT"), "QUIT inside DATA");
}

#[test]
fn a_552_while_bdat_chunks_are_still_going_wins_over_the_broken_connection() {
    let file = huge_message(4);
    let path = file.path().to_str().unwrap().to_owned();
    let steps = script(vec![
        greeting_ehlo(&["PIPELINING", "CHUNKING", "8BITMIME"]),
        vec![
            expect("MAIL FROM:"),
            expect("RCPT TO:"),
            expect("BDAT 1048576"),
            Step::ExpectBytes(1024 * 1024),
            send("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 chunk ok\r\n"),
            expect("BDAT 1048576"),
            Step::ExpectBytes(16 * 1024),
            send("552 5.3.4 Message size exceeds maximum permitted\r\n"),
            Step::Stall(Duration::from_secs(12)),
            Step::Reset,
        ],
    ]);
    let (out, record) = run(
        steps,
        &["--data", &path, "--chunking", "--data-block-timeout", "10m"],
    );
    record.assert_clean();
    assert_exit(&out, 7);
    line_with(&out, "<- 552 5.3.4 Message size exceeds maximum permitted");
    assert!(out.outcome().contains("552"), "{out}");
}

#[test]
fn a_552_under_tls_followed_by_bytes_that_are_not_tls_is_the_outcome() {
    // The server refuses the BDAT with a 552 inside TLS, then writes plaintext garbage
    // on the socket under it, in the same segment. rustls decrypts the 552 and fails on
    // the next record; the reply already received decides (exit 7), not the transport
    // error ("corrupt message", exit 10).
    let pki = TestPki::new();
    let ca = pki.ca_pem_path.display().to_string();
    let steps = script(vec![
        greeting_ehlo(&["PIPELINING", "CHUNKING", "STARTTLS"]),
        vec![
            expect("STARTTLS"),
            send("220 2.0.0 Ready to start TLS\r\n"),
            Step::StartTls(pki.server_config(CertKind::Valid)),
            expect("EHLO"),
            Step::Send(ehlo_reply(
                "mx.test",
                &["PIPELINING", "CHUNKING", "8BITMIME"],
            )),
            expect("MAIL FROM:"),
            expect("RCPT TO:"),
            expect("BDAT "),
            send("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"),
            Step::SendRawUnderTls {
                reply: b"552 5.3.4 Message size exceeds maximum permitted\r\n".to_vec(),
                raw: b"\r\n421 4.4.2 this is not a TLS record\r\n\0\0\xff".to_vec(),
            },
            Step::Truncate,
        ],
    ]);
    let (out, record) = run(
        steps,
        &[
            "--body",
            "hello",
            "--chunking",
            "--tls",
            "starttls",
            "--tls-ca",
            &ca,
            "--tls-server-name",
            "localhost",
            "--timeout",
            "20s",
        ],
    );
    record.assert_clean();
    assert_eq!(record.tls.len(), 1, "{out}");
    assert_exit(&out, 7);
    line_with(&out, "<~ 552 5.3.4 Message size exceeds maximum permitted");
    assert!(out.outcome().contains("552"), "{out}");
    assert!(!out.all().contains("corrupt"), "{out}");
}
