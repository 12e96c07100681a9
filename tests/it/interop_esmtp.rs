//! The ESMTP extensions of `smtpx send` against real servers, judged by what
//! each server stored: CHUNKING (BDAT), 8BITMIME, SMTPUTF8, DSN, SIZE and
//! composed MIME messages at a private Postfix (which offers all of them);
//! the same content at aiosmtpd (which stores it byte for byte and offers
//! no PIPELINING); and DATA and a large message at smtp-sink (no CHUNKING,
//! no SIZE).

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use crate::support::content::{file_with, message, path};
use crate::support::peers::{
    Aiosmtpd, AiosmtpdOptions, PostfixInstance, PostfixOptions, SmtpSink, disconnect_lines,
    strip_postfix_headers, strip_sink_headers,
};
use crate::support::run::{Out, Smtpx};

const DELIVERY: Duration = Duration::from_secs(30);
const MIB: usize = 1024 * 1024;

/// `smtpx send --server SERVER ARGS`.
fn send(server: &str, args: &[&str]) -> Out {
    Smtpx::send()
        .args(&["--server", server, "--helo", "client.test"])
        .args(args)
        .run()
}

/// `smtpx send --data FILE` from me@example.org to you@example.test, the
/// file holding `content`.
fn send_data(server: &str, content: &[u8], extra: &[&str]) -> Out {
    let file = file_with(content);
    let file = path(&file);
    let mut args = vec![
        "--from",
        "me@example.org",
        "--to",
        "you@example.test",
        "--data",
        &file,
    ];
    args.extend_from_slice(extra);
    send(server, &args)
}

/// A message whose body has 8-bit bytes: UTF-8 and a lone Latin-1 byte.
fn eight_bit_message() -> Vec<u8> {
    let mut m = b"From: <me@example.org>\r\nTo: <you@example.test>\r\nSubject: 8bit\r\n\
        Date: Mon, 2 Mar 2026 10:00:00 +0000\r\nMessage-ID: <8bit@client.test>\r\n\
        MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
        Content-Transfer-Encoding: 8bit\r\n\r\n"
        .to_vec();
    m.extend_from_slice("Grüße aus Köln, ½ € and 日本語\r\n".as_bytes());
    m.extend_from_slice(b"caf\xe9 in Latin-1\r\n");
    m
}

/// CRLF to LF, as Postfix and smtp-sink store messages.
fn lf(crlf: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(crlf.len());
    for (i, &b) in crlf.iter().enumerate() {
        if !(b == b'\r' && crlf.get(i + 1) == Some(&b'\n')) {
            out.push(b);
        }
    }
    out
}

/// Equal, and if not, a message short enough to read (multi-MiB contents).
fn assert_same(stored: &[u8], sent: &[u8]) {
    if stored != sent {
        let at = stored
            .iter()
            .zip(sent)
            .position(|(a, b)| a != b)
            .unwrap_or(stored.len().min(sent.len()));
        let around = |b: &[u8]| {
            String::from_utf8_lossy(&b[at.saturating_sub(40)..(at + 40).min(b.len())]).into_owned()
        };
        panic!(
            "stored {} octets, sent {}; first difference at {at}:\nstored {:?}\nsent   {:?}",
            stored.len(),
            sent.len(),
            around(stored),
            around(sent)
        );
    }
}

/// The transcript's command lines, e.g. `MAIL FROM:<me@example.org> SIZE=10`.
fn commands(out: &Out) -> Vec<&str> {
    out.stdout
        .lines()
        .filter_map(|l| l.strip_prefix("-> "))
        .collect()
}

/// The MAIL command in the transcript.
fn mail_line(out: &Out) -> &str {
    commands(out)
        .into_iter()
        .find(|c| c.starts_with("MAIL"))
        .unwrap_or_else(|| panic!("no MAIL in\n{out}"))
}

/// The attachments of the composed-message tests: bytes that need base64.
fn attachments(dir: &tempfile::TempDir) -> Vec<(String, &'static str, Vec<u8>)> {
    let pdf: Vec<u8> = b"%PDF-1.4\n"
        .iter()
        .copied()
        .chain((0..=255u8).cycle().take(3000))
        .collect();
    let png = vec![
        0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n', 0, 0, 0, 13,
    ];
    let mut out = Vec::new();
    for (name, kind, bytes) in [
        ("report.pdf", "application/pdf", pdf),
        ("pixel.png", "image/png", png),
    ] {
        let file = dir.path().join(name);
        std::fs::write(&file, &bytes).unwrap();
        out.push((file.display().to_string(), kind, bytes));
    }
    out
}

fn composed_args<'a>(to: &'a str, attached: &'a [(String, &str, Vec<u8>)]) -> Vec<&'a str> {
    let mut args = vec![
        "--from",
        "me@example.org",
        "--to",
        to,
        "--subject",
        "parts",
        "--body",
        "plain words\n",
        "--html",
        "<p>rich words</p>",
    ];
    for (file, _, _) in attached {
        args.extend(["--attach", file.as_str()]);
    }
    args
}

/// A stored composed message (line ends normalised to LF) has the text and
/// HTML alternatives, and each attachment with its type, name and bytes.
fn assert_composed(stored: &[u8], attached: &[(String, &str, Vec<u8>)]) {
    let text = String::from_utf8(lf(stored)).expect("a composed message is ASCII");
    assert!(text.contains("Content-Type: multipart/mixed;"), "{text}");
    assert!(
        text.contains("Content-Type: multipart/alternative;"),
        "{text}"
    );
    let plain = text.find("Content-Type: text/plain").expect("text part");
    let html = text.find("Content-Type: text/html").expect("html part");
    assert!(plain < html, "the richest alternative comes last:\n{text}");
    assert!(text.contains("plain words"), "{text}");
    assert!(text.contains("<p>rich words</p>"), "{text}");
    for (file, kind, bytes) in attached {
        let name = file.rsplit('/').next().unwrap();
        let part = text
            .split("\n--")
            .find(|p| p.contains(&format!("filename=\"{name}\"")))
            .unwrap_or_else(|| panic!("no part for {name}:\n{text}"));
        assert!(part.contains(&format!("Content-Type: {kind}")), "{part}");
        assert!(part.contains("Content-Transfer-Encoding: base64"), "{part}");
        let (_, body) = part.split_once("\n\n").expect("part headers end");
        let b64: String = body.split_whitespace().collect();
        assert_eq!(
            &STANDARD.decode(&b64).expect("base64"),
            bytes,
            "{name} bytes"
        );
    }
}

// ---------------------------------------------------------------- Postfix

/// Postfix accepting mail for `users` at example.test.
fn postfix(users: &[&str]) -> Option<PostfixInstance> {
    PostfixInstance::start(PostfixOptions::new().users(users))
}

/// smtpd's `disconnect from` line for the only session so far.
fn postfix_session(postfix: &PostfixInstance) -> String {
    let log = postfix.maillog_after_sessions(1);
    disconnect_lines(&log)
        .first()
        .unwrap_or_else(|| panic!("no disconnect line in\n{log}"))
        .to_string()
}

#[test]
fn postfix_chunking_delivers_the_message_intact() {
    let Some(postfix) = postfix(&["you"]) else {
        return;
    };
    let msg = message("bdat", 2000);
    let out = send_data(&postfix.server_arg(), &msg, &["--chunking"]);
    assert_eq!(out.code, 0, "{out}");
    let sent = commands(&out);
    assert!(sent.contains(&"BDAT 2000 LAST"), "{out}");
    assert!(!sent.contains(&"DATA"), "{out}");
    assert!(out.stdout.contains("queued as"), "{out}");
    let session = postfix_session(&postfix);
    assert!(session.contains(" bdat=1 "), "{session}");
    assert!(!session.contains(" data="), "{session}");
    let delivered = postfix.delivered(DELIVERY);
    assert_eq!(delivered.len(), 1);
    assert_same(strip_postfix_headers(&delivered[0]), &lf(&msg));
}

#[test]
fn postfix_chunking_carries_3_mib_intact() {
    let Some(postfix) = postfix(&["you"]) else {
        return;
    };
    let msg = message("large", 3 * MIB + 1234);
    let out = send_data(&postfix.server_arg(), &msg, &["--chunking"]);
    assert_eq!(out.code, 0, "{out}");
    let bdat: Vec<&str> = commands(&out)
        .into_iter()
        .filter(|c| c.starts_with("BDAT"))
        .collect();
    assert_eq!(
        bdat,
        [
            "BDAT 1048576",
            "BDAT 1048576",
            "BDAT 1048576",
            "BDAT 1234 LAST"
        ],
        "{out}"
    );
    let session = postfix_session(&postfix);
    assert!(session.contains(" bdat=4 "), "{session}");
    let delivered = postfix.delivered(DELIVERY);
    assert_same(strip_postfix_headers(&delivered[0]), &lf(&msg));
}

#[test]
fn postfix_delivers_a_composed_message_with_html_and_attachments() {
    let Some(postfix) = postfix(&["you"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let attached = attachments(&dir);
    let out = send(
        &postfix.server_arg(),
        &composed_args("you@example.test", &attached),
    );
    assert_eq!(out.code, 0, "{out}");
    let delivered = postfix.delivered(DELIVERY);
    assert_composed(&delivered[0], &attached);
}

#[test]
fn postfix_receives_8bit_data_with_body_8bitmime() {
    let Some(postfix) = postfix(&["you"]) else {
        return;
    };
    let msg = eight_bit_message();
    let out = send_data(&postfix.server_arg(), &msg, &[]);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(
        mail_line(&out),
        "MAIL FROM:<me@example.org> SIZE=286 BODY=8BITMIME",
        "{out}"
    );
    let delivered = postfix.delivered(DELIVERY);
    assert_same(strip_postfix_headers(&delivered[0]), &lf(&msg));
}

#[test]
fn postfix_delivers_to_an_smtputf8_mailbox() {
    let Some(postfix) = postfix(&["jöran"]) else {
        return;
    };
    let out = send(
        &postfix.server_arg(),
        &[
            "--from",
            "me@example.org",
            "--to",
            "jöran@example.test",
            "--subject",
            "utf-8 envelope",
            "--body",
            "hej",
        ],
    );
    assert_eq!(out.code, 0, "{out}");
    // The fixture sets smtputf8_enable = yes, also Postfix's default since
    // compatibility_level 1.
    assert!(out.stdout.contains("<- 250-SMTPUTF8"), "{out}");
    // The To header carries the address as UTF-8 too (RFC 6532): 8BITMIME.
    let mail = mail_line(&out);
    assert!(mail.ends_with(" BODY=8BITMIME SMTPUTF8"), "{out}");
    assert!(
        commands(&out).contains(&"RCPT TO:<jöran@example.test>"),
        "{out}"
    );
    let delivered = postfix.delivered(DELIVERY);
    let text = String::from_utf8_lossy(&delivered[0]);
    assert!(text.contains("Delivered-To: jöran@example.test"), "{text}");
    assert!(text.contains("To: <jöran@example.test>"), "{text}");
    // RFC 6531 §4.3: the Received header names the protocol UTF8SMTP.
    assert!(text.contains(") with UTF8SMTP id "), "{text}");
}

#[test]
fn postfix_returns_a_dsn_success_report_to_the_sender() {
    let Some(postfix) = postfix(&["you", "me"]) else {
        return;
    };
    let out = send(
        &postfix.server_arg(),
        &[
            "--from",
            "me@example.test",
            "--to",
            "you@example.test",
            "--subject",
            "tracked",
            "--body",
            "the body stays home",
            "--dsn-notify",
            "success,failure",
            "--dsn-ret",
            "hdrs",
            "--dsn-envid",
            "batch=7 +x",
        ],
    );
    assert_eq!(out.code, 0, "{out}");
    // ENVID goes as xtext; the report shows Postfix decoded it.
    assert!(
        mail_line(&out).ends_with(" RET=HDRS ENVID=batch+3D7+20+2Bx"),
        "{out}"
    );
    assert!(
        commands(&out).contains(
            &"RCPT TO:<you@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;you@example.test"
        ),
        "{out}"
    );
    // The message, and the report Postfix sends back for NOTIFY=SUCCESS.
    let delivered = postfix.wait_delivered(2, DELIVERY);
    assert_eq!(delivered.len(), 2, "{}", postfix.maillog());
    let texts: Vec<String> = delivered
        .iter()
        .map(|m| String::from_utf8_lossy(m).into_owned())
        .collect();
    let report = texts
        .iter()
        .find(|t| t.contains("multipart/report"))
        .unwrap_or_else(|| panic!("no report in {texts:#?}"));
    for want in [
        "Delivered-To: me@example.test",
        "report-type=delivery-status",
        "Original-Envelope-Id: batch=7 +x",
        "Final-Recipient: rfc822; you@example.test",
        "Original-Recipient: rfc822;you@example.test",
        "Action: delivered",
        "Content-Type: text/rfc822-headers",
        "Subject: tracked",
    ] {
        assert!(report.contains(want), "{want:?} missing in\n{report}");
    }
    assert!(
        !report.contains("the body stays home"),
        "RET=HDRS returns the headers only:\n{report}"
    );
}

#[test]
fn postfix_size_over_the_limit_is_refused_before_data() {
    let opts = PostfixOptions::new()
        .users(&["you"])
        .message_size_limit(100_000);
    let Some(postfix) = PostfixInstance::start(opts) else {
        return;
    };
    let out = send_data(&postfix.server_arg(), &message("big", 200_000), &[]);
    assert_eq!(out.code, 7, "{out}");
    assert!(out.stdout.contains("250-SIZE 100000"), "{out}");
    assert!(out.stdout.contains("at most 100000"), "{out}");
    let sent = commands(&out);
    assert!(
        !sent
            .iter()
            .any(|c| c.starts_with("MAIL") || c.starts_with("DATA") || c.starts_with("BDAT")),
        "{out}"
    );
    let session = postfix_session(&postfix);
    assert!(!session.contains(" mail="), "{session}");
    assert!(postfix.delivered_now().is_empty());
}

// ---------------------------------------------------------------- aiosmtpd

#[test]
fn aiosmtpd_stores_8bit_data_byte_for_byte() {
    let Some(server) = Aiosmtpd::start(AiosmtpdOptions::new()) else {
        return;
    };
    let msg = eight_bit_message();
    let out = send_data(&server.server_arg(), &msg, &[]);
    assert_eq!(out.code, 0, "{out}");
    let stored = &server.messages()[0];
    assert_eq!(stored.mail_options, ["SIZE=286", "BODY=8BITMIME"]);
    assert_same(&stored.content, &msg);
}

#[test]
fn aiosmtpd_smtputf8_recipient_is_stored_and_refused_without_the_extension() {
    let Some(server) = Aiosmtpd::start(AiosmtpdOptions::new().smtputf8()) else {
        return;
    };
    let args = [
        "--from",
        "me@example.org",
        "--to",
        "jöran@example.test",
        "--subject",
        "utf-8",
        "--body",
        "hej",
    ];
    let out = send(&server.server_arg(), &args);
    assert_eq!(out.code, 0, "{out}");
    let stored = &server.messages()[0];
    assert!(stored.smtp_utf8, "{stored:?}");
    assert!(mail_line(&out).ends_with(" SMTPUTF8"), "{out}");
    assert_eq!(stored.rcpt_tos, ["jöran@example.test"]);
    let text = String::from_utf8_lossy(&stored.content);
    assert!(text.contains("To: <jöran@example.test>\r\n"), "{text}");

    let Some(plain) = Aiosmtpd::start(AiosmtpdOptions::new()) else {
        return;
    };
    let out = send(&plain.server_arg(), &args);
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stdout.contains("'jöran@example.test'"), "{out}");
    assert!(
        !commands(&out).iter().any(|c| c.starts_with("MAIL")),
        "{out}"
    );
    assert!(plain.messages().is_empty());
}

#[test]
fn aiosmtpd_stores_a_composed_message_with_html_and_attachments() {
    let Some(server) = Aiosmtpd::start(AiosmtpdOptions::new()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let attached = attachments(&dir);
    let out = send(
        &server.server_arg(),
        &composed_args("you@example.test", &attached),
    );
    assert_eq!(out.code, 0, "{out}");
    let stored = &server.messages()[0];
    let crlf = stored.content.windows(2).filter(|w| w == b"\r\n").count();
    let lines = stored.content.iter().filter(|&&b| b == b'\n').count();
    assert_eq!(crlf, lines, "every line ends in CRLF");
    assert_composed(&stored.content, &attached);
}

#[test]
fn aiosmtpd_without_pipelining_gets_one_command_at_a_time() {
    let policy = json!({"@example.test": "250 2.1.5 OK"});
    let Some(server) = Aiosmtpd::start(AiosmtpdOptions::new().policy(policy)) else {
        return;
    };
    let out = send(
        &server.server_arg(),
        &[
            "--from",
            "me@example.org",
            "--to",
            "a@example.test",
            "--to",
            "b@example.test",
            "--cc",
            "c@example.test",
            "--body",
            "one at a time",
        ],
    );
    assert_eq!(out.code, 0, "{out}");
    assert!(!out.stdout.contains("PIPELINING"), "{out}");
    let stored = &server.messages()[0];
    assert_eq!(
        stored.rcpt_tos,
        ["a@example.test", "b@example.test", "c@example.test"]
    );
    assert!(
        stored.pipelined.is_empty(),
        "sent before the reply came: {:?}",
        stored.pipelined
    );
    // The transcript agrees: every command is answered before the next.
    let wire: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("-> ") || l.starts_with("<- "))
        .filter(|l| !l.starts_with("-> ["))
        .collect();
    for pair in wire.windows(2) {
        assert!(
            !(pair[0].starts_with("-> ") && pair[1].starts_with("-> ")),
            "two commands without a reply between them: {pair:?}\n{out}"
        );
    }
}

// ---------------------------------------------------------------- smtp-sink

/// The one message smtp-sink dumped, without its own headers and the empty
/// line that closes each dump.
fn sink_message(sink: &SmtpSink) -> Vec<u8> {
    let dumps = sink.captured(1, DELIVERY);
    assert_eq!(dumps.len(), 1, "{}", sink.output());
    let message = strip_sink_headers(&dumps[0]);
    message
        .strip_suffix(b"\n")
        .expect("a dump ends with an empty line")
        .to_vec()
}

#[test]
fn smtp_sink_without_chunking_gets_data() {
    let Some(sink) = SmtpSink::start_capturing(&[]) else {
        return;
    };
    let msg = message("fallback", 5000);
    let out = send_data(&sink.server_arg(), &msg, &["--chunking"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.all()
            .contains("does not offer CHUNKING: sending with DATA"),
        "{out}"
    );
    let sent = commands(&out);
    assert!(sent.contains(&"DATA"), "{out}");
    assert!(!sent.iter().any(|c| c.starts_with("BDAT")), "{out}");
    assert_same(&sink_message(&sink), &lf(&msg));
}

#[test]
fn smtp_sink_accepts_a_20_mib_message() {
    let Some(sink) = SmtpSink::start_capturing(&[]) else {
        return;
    };
    let msg = message("huge", 20 * MIB);
    let out = send_data(&sink.server_arg(), &msg, &[]);
    assert_eq!(out.code, 0, "{out}");
    assert_same(&sink_message(&sink), &lf(&msg));
}
