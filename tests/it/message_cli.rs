//! Message composition and ESMTP extensions through the binary, against the scripted
//! server: --print, attachments, HTML, RFC 2047, 8BITMIME, DSN, CHUNKING/BDAT, SIZE,
//! SMTPUTF8, pipelined error handling, and the number of round trips.
//!
//! Interop with real peers (Postfix, smtp-sink, aiosmtpd) lives elsewhere.

use std::net::TcpListener;

use crate::support::content::{file_with, message, path};
use crate::support::run::{Out, Smtpx};
use crate::support::scripted::{
    Record, ScriptedServer, Step, ehlo_reply, expect, greeting_ehlo, send,
};

/// `smtpx send` with `args` (and `--from me@example.org` unless they give one), against
/// `server` when given.
fn smtpx_with(server: Option<&str>, args: &[&str], stdin: Option<&[u8]>) -> Out {
    let mut cmd = Smtpx::new().arg("send");
    if let Some(s) = server {
        cmd = cmd.args(&["--server", s]);
    }
    if !args.contains(&"--from") {
        cmd = cmd.args(&["--from", "me@example.org"]);
    }
    cmd = cmd
        .args(&["--no-timing", "--timeout", "20s"])
        .args(&["--helo", "client.test", "--color", "never"])
        .args(args);
    if let Some(input) = stdin {
        cmd = cmd.stdin(input);
    }
    cmd.run()
}

fn smtpx(server: &ScriptedServer, args: &[&str]) -> Out {
    smtpx_with(Some(&server.server_arg()), args, None)
}

/// `--data FILE --chunking` to you@example.org, the file holding `content`.
fn send_chunked(server: &ScriptedServer, content: &[u8]) -> Out {
    let file = file_with(content);
    smtpx(
        server,
        &[
            "--to",
            "you@example.org",
            "--data",
            &path(&file),
            "--chunking",
        ],
    )
}

/// The MAIL FROM line the server saw.
fn mail_line(record: &Record) -> &str {
    record
        .commands
        .iter()
        .find(|c| c.starts_with("MAIL"))
        .map(String::as_str)
        .unwrap_or_default()
}

/// A pipelined transaction for one recipient after `caps`, ending with QUIT.
fn pipelined_delivery(caps: &[&str]) -> Vec<Step> {
    let mut script = greeting_ehlo(caps);
    script.extend([
        expect("MAIL FROM:"),
        expect("RCPT TO:"),
        expect("DATA"),
        send("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go ahead\r\n"),
        Step::ExpectData,
        send("250 2.0.0 Ok: queued as P1\r\n"),
        expect("QUIT"),
        send("221 2.0.0 Bye\r\n"),
        Step::Close,
    ]);
    script
}

/// Like [`pipelined_delivery`], with the message as one `BDAT LEN LAST`.
fn pipelined_bdat(caps: &[&str], len: usize, queued_as: &str) -> Vec<Step> {
    let mut script = greeting_ehlo(caps);
    script.extend([
        expect("MAIL FROM:"),
        expect("RCPT TO:"),
        expect(&format!("BDAT {len} LAST")),
        Step::ExpectBytes(len),
        send(&format!(
            "250 Ok\r\n250 Ok\r\n250 Ok: queued as {queued_as}\r\n"
        )),
        expect("QUIT"),
        send("221 Bye\r\n"),
        Step::Close,
    ]);
    script
}

// ---------------------------------------------------------------- --print

#[test]
fn print_shows_the_message_and_connects_nowhere() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let out = smtpx_with(
        Some(&addr),
        &[
            "--to",
            "you@example.org",
            "--subject",
            "review me",
            "--body",
            ".leading dot\nsecond line",
            "--print",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{out}");
    assert!(
        listener.accept().is_err(),
        "--print must not connect to the server"
    );
    for want in [
        "From: <me@example.org>\r\n",
        "To: <you@example.org>\r\n",
        "Subject: review me\r\n",
        "MIME-Version: 1.0\r\n",
        "Message-ID: <",
        "Date: ",
        "\r\n\r\n.leading dot\r\nsecond line",
    ] {
        assert!(
            out.stdout.contains(want),
            "missing {want:?} in\n{}",
            out.stdout
        );
    }
    assert!(
        !out.stdout.contains("..leading"),
        "printed before dot-stuffing"
    );
    assert!(!out.stdout.contains("->"), "no transcript: {}", out.stdout);
}

#[test]
fn print_attachments_have_a_content_type_and_base64() {
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("report.pdf");
    std::fs::write(&pdf, b"%PDF-1.4 \x00\xff binary").unwrap();
    let png = dir.path().join("pixel.png");
    std::fs::write(&png, [0x89, b'P', b'N', b'G']).unwrap();
    let out = smtpx_with(
        None,
        &[
            "--to",
            "you@example.org",
            "--body",
            "see attached",
            "--attach",
            &pdf.display().to_string(),
            "--attach",
            &png.display().to_string(),
            "--print",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{out}");
    let m = &out.stdout;
    assert!(m.contains("Content-Type: multipart/mixed;"), "{m}");
    assert!(m.contains("Content-Type: application/pdf\r\n"), "{m}");
    assert!(m.contains("Content-Type: image/png\r\n"), "{m}");
    assert!(m.contains("filename=\"report.pdf\""), "{m}");
    assert!(m.contains("filename=\"pixel.png\""), "{m}");
    assert_eq!(m.matches("Content-Transfer-Encoding: base64").count(), 2);
    assert!(
        m.contains("JVBERi0xLjQgAP8gYmluYXJ5"),
        "PDF bytes in base64:\n{m}"
    );
    assert!(m.contains("iVBORw=="), "PNG bytes in base64:\n{m}");
    assert!(m.contains("see attached"));
}

#[test]
fn print_html_is_an_alternative_to_the_text() {
    let out = smtpx_with(
        None,
        &[
            "--to",
            "you@example.org",
            "--body",
            "plain words",
            "--html",
            "<p>rich words</p>",
            "--print",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{out}");
    let m = &out.stdout;
    assert!(m.contains("Content-Type: multipart/alternative;"), "{m}");
    let text = m.find("Content-Type: text/plain").expect("text part");
    let html = m.find("Content-Type: text/html").expect("html part");
    assert!(text < html, "RFC 2046 §5.1.4: the richest part comes last");
    assert!(m.contains("<p>rich words</p>"));
}

#[test]
fn print_encodes_non_ascii_subject_and_names() {
    let subject = "Grüße aus Köln, with a subject long enough that it has to be folded over lines";
    let out = smtpx_with(
        None,
        &[
            "--from",
            "Jörg Müller <jm@example.org>",
            "--to",
            "Zoë <zoe@bücher.example>",
            "--subject",
            subject,
            "--body",
            "schöne Grüße, from a body that is mostly ASCII text\n",
            "--print",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{out}");
    let m = &out.stdout;
    assert!(m.is_ascii(), "every non-ASCII character is encoded:\n{m}");
    assert!(m.contains("Subject: =?utf-8?"), "{m}");
    assert!(m.contains("From: =?utf-8?"), "{m}");
    assert!(m.contains("<jm@example.org>"), "{m}");
    assert!(
        m.contains("<zoe@xn--bcher-kva.example>"),
        "IDN as A-labels:\n{m}"
    );
    assert!(
        m.contains("Content-Transfer-Encoding: quoted-printable"),
        "{m}"
    );
    for line in m.split("\r\n") {
        assert!(line.len() <= 78, "line over 78: {line}");
    }
}

// ---------------------------------------------------------------- 8BITMIME

#[test]
fn eight_bit_file_goes_with_body_8bitmime() {
    let msg = file_with("Subject: x\r\n\r\nGrüße\r\n".as_bytes());
    let server = ScriptedServer::start(pipelined_delivery(&["PIPELINING", "8BITMIME"]));
    let out = smtpx(&server, &["--to", "you@example.org", "--data", &path(&msg)]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(
        mail_line(&record),
        "MAIL FROM:<me@example.org> BODY=8BITMIME"
    );
    assert_eq!(record.data[0], "Subject: x\r\n\r\nGrüße\r\n".as_bytes());
}

#[test]
fn seven_bit_file_needs_no_body_parameter() {
    let msg = file_with(b"Subject: x\r\n\r\nplain\r\n");
    let server = ScriptedServer::start(pipelined_delivery(&["PIPELINING", "8BITMIME"]));
    let out = smtpx(&server, &["--to", "you@example.org", "--data", &path(&msg)]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(mail_line(&record), "MAIL FROM:<me@example.org>");
}

#[test]
fn eight_bit_file_without_8bitmime_is_refused_before_mail() {
    let msg = file_with("Subject: x\r\n\r\nline\r\nGrüße\r\n".as_bytes());
    let mut script = greeting_ehlo(&["PIPELINING"]);
    script.extend([expect("QUIT"), send("221 bye\r\n"), Step::Close]);
    let server = ScriptedServer::start(script);
    let out = smtpx(&server, &["--to", "you@example.org", "--data", &path(&msg)]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stdout.contains("8-bit bytes (first on line 4)"),
        "{out}"
    );
    assert!(out.stdout.contains("does not offer 8BITMIME"), "{out}");
    assert!(!record.commands.iter().any(|c| c.starts_with("MAIL")));
}

#[test]
fn eight_bit_stdin_without_8bitmime_stops_before_the_dot() {
    let mut script = greeting_ehlo(&["PIPELINING"]);
    script.extend([
        expect("MAIL FROM:"),
        expect("RCPT TO:"),
        expect("DATA"),
        send("250 Ok\r\n250 Ok\r\n354 go ahead\r\n"),
        Step::ReadUntilClose,
    ]);
    let server = ScriptedServer::start(script);
    let out = smtpx_with(
        Some(&server.server_arg()),
        &["--to", "you@example.org", "--data", "-"],
        Some("Subject: x\r\n\r\nGrüße\r\n".as_bytes()),
    );
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stdout.contains("does not offer 8BITMIME"), "{out}");
    assert!(out.stdout.contains("nothing was delivered"), "{out}");
    let wire = record.received_text();
    assert!(!wire.contains("\r\n.\r\n"), "no final dot: {wire:?}");
    assert!(!wire.contains("QUIT"), "{wire:?}");
}

#[test]
fn stdin_is_declared_8bitmime_when_offered() {
    let server = ScriptedServer::start(pipelined_delivery(&["PIPELINING", "8BITMIME"]));
    let out = smtpx_with(
        Some(&server.server_arg()),
        &["--to", "you@example.org", "--data", "-"],
        Some(b"Subject: x\r\n\r\nhi\r\n"),
    );
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(
        mail_line(&record),
        "MAIL FROM:<me@example.org> BODY=8BITMIME"
    );
}

// ---------------------------------------------------------------- DSN

#[test]
fn dsn_parameters_go_xtext_encoded() {
    let server = ScriptedServer::start(pipelined_delivery(&["PIPELINING", "DSN"]));
    let out = smtpx(
        &server,
        &[
            "--to",
            "bob+tag@example.org",
            "--dsn-notify",
            "success,failure",
            "--dsn-ret",
            "hdrs",
            "--dsn-envid",
            "batch=7 +x",
        ],
    );
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(
        mail_line(&record),
        "MAIL FROM:<me@example.org> RET=HDRS ENVID=batch+3D7+20+2Bx"
    );
    assert_eq!(
        record.commands[2],
        "RCPT TO:<bob+tag@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob+2Btag@example.org"
    );
    assert!(
        out.stdout
            .contains("-> RCPT TO:<bob+tag@example.org> NOTIFY=")
    );
}

#[test]
fn dsn_not_offered_is_a_warning_and_nothing_is_sent() {
    let server = ScriptedServer::start(pipelined_delivery(&["PIPELINING"]));
    let out = smtpx(
        &server,
        &["--to", "you@example.org", "--dsn-notify", "never"],
    );
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stderr.contains("does not offer DSN"), "{out}");
    assert!(!record.received_text().contains("NOTIFY"));
}

#[test]
fn dsn_never_cannot_be_combined() {
    let out = smtpx_with(
        None,
        &[
            "--to",
            "you@example.org",
            "--dsn-notify",
            "never,success",
            "--print",
        ],
        None,
    );
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("NEVER cannot be combined"), "{out}");
}

// ---------------------------------------------------------------- CHUNKING

const CHUNK: usize = 1024 * 1024;

#[test]
fn bdat_chunks_carry_exact_counts_and_the_last_is_marked() {
    let msg = message("chunks", 2 * CHUNK + 1234);
    let mut script = greeting_ehlo(&["CHUNKING", "8BITMIME"]);
    script.extend([
        expect("MAIL FROM:"),
        send("250 Ok\r\n"),
        expect("RCPT TO:"),
        send("250 Ok\r\n"),
        expect("BDAT 1048576"),
        Step::ExpectBytes(CHUNK),
        send("250 2.0.0 Ok: 1048576 octets\r\n"),
        expect("BDAT 1048576"),
        Step::ExpectBytes(CHUNK),
        send("250 2.0.0 Ok: 1048576 octets\r\n"),
        expect("BDAT 1234 LAST"),
        Step::ExpectBytes(1234),
        send("250 2.0.0 Ok: queued as B1\r\n"),
        expect("QUIT"),
        send("221 Bye\r\n"),
        Step::Close,
    ]);
    let server = ScriptedServer::start(script);
    let out = send_chunked(&server, &msg);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    let bdat: Vec<&String> = record
        .commands
        .iter()
        .filter(|c| c.starts_with("BDAT"))
        .collect();
    assert_eq!(bdat, ["BDAT 1048576", "BDAT 1048576", "BDAT 1234 LAST"]);
    assert_eq!(record.data.concat(), msg, "octets exactly as in the file");
    assert!(
        !record.received_text().contains("\r\n.\r\n"),
        "no DATA terminator"
    );
    assert!(out.stdout.contains("3 BDAT chunks"), "{}", out.stdout);
    assert!(out.stdout.contains("queued as B1"), "{}", out.stdout);
}

#[test]
fn pipelined_bdat_keeps_one_reply_outstanding() {
    let msg = message("chunks", 2 * CHUNK + 10);
    let mut script = greeting_ehlo(&["PIPELINING", "CHUNKING"]);
    script.extend([
        expect("MAIL FROM:"),
        expect("RCPT TO:"),
        expect("BDAT 1048576"),
        Step::ExpectBytes(CHUNK),
        send("250 Ok\r\n250 Ok\r\n250 Ok: chunk 1\r\n"),
        expect("BDAT 1048576"),
        Step::ExpectBytes(CHUNK),
        expect("BDAT 10 LAST"),
        Step::ExpectBytes(10),
        send("250 Ok: chunk 2\r\n250 Ok: queued as B2\r\n"),
        expect("QUIT"),
        send("221 Bye\r\n"),
        Step::Close,
    ]);
    let server = ScriptedServer::start(script);
    let out = send_chunked(&server, &msg);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(record.data.concat(), msg);
}

#[test]
fn bdat_normalises_line_ends_without_dot_stuffing() {
    let wire = b"Subject: x\r\n\r\n.dot\r\nend\r\n";
    let caps = ["PIPELINING", "CHUNKING"];
    let server = ScriptedServer::start(pipelined_bdat(&caps, wire.len(), "B3"));
    let out = send_chunked(&server, b"Subject: x\n\n.dot\nend");
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(record.data[0], wire.to_vec());
}

#[test]
fn binary_content_goes_as_binarymime_octet_for_octet() {
    let content =
        b"Subject: bin\r\nContent-Transfer-Encoding: binary\r\n\r\n\x00\x01\xff\nbare lf\r."
            .to_vec();
    let caps = ["PIPELINING", "CHUNKING", "BINARYMIME", "8BITMIME"];
    let server = ScriptedServer::start(pipelined_bdat(&caps, content.len(), "B4"));
    let out = send_chunked(&server, &content);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    assert!(
        mail_line(&record).contains("BODY=BINARYMIME"),
        "{}",
        mail_line(&record)
    );
    assert_eq!(record.data[0], content);
}

#[test]
fn chunking_not_offered_falls_back_to_data() {
    let server = ScriptedServer::start(pipelined_delivery(&["PIPELINING"]));
    let out = smtpx(&server, &["--to", "you@example.org", "--chunking"]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    assert!(record.commands.iter().any(|c| c == "DATA"));
    assert!(!record.commands.iter().any(|c| c.starts_with("BDAT")));
    assert!(
        out.stdout.contains("does not offer CHUNKING"),
        "{}",
        out.stdout
    );
}

#[test]
fn chunking_is_off_unless_asked() {
    let server = ScriptedServer::start(pipelined_delivery(&["PIPELINING", "CHUNKING"]));
    let out = smtpx(&server, &["--to", "you@example.org"]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    assert!(record.commands.iter().any(|c| c == "DATA"));
}

#[test]
fn rejected_bdat_ends_the_transaction() {
    let mut script = greeting_ehlo(&["CHUNKING"]);
    script.extend([
        expect("MAIL FROM:"),
        send("250 Ok\r\n"),
        expect("RCPT TO:"),
        send("250 Ok\r\n"),
        expect("BDAT 20 LAST"),
        Step::ExpectBytes(20),
        send("554 5.6.0 content refused\r\n"),
        expect("QUIT"),
        send("221 Bye\r\n"),
        Step::Close,
    ]);
    let server = ScriptedServer::start(script);
    let out = send_chunked(&server, b"Subject: x\r\n\r\nbody\r\n");
    server.finish().assert_clean();
    assert_eq!(out.code, 7, "{out}");
    assert!(
        out.stdout.contains("rejected: at bdat-last: 554"),
        "{}",
        out.stdout
    );
}

// ---------------------------------------------------------------- round trips

#[test]
fn pipelining_costs_five_round_trips() {
    let server = ScriptedServer::start(pipelined_delivery(&["PIPELINING"]));
    let out = smtpx(&server, &["--to", "you@example.org"]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    // The client waits once before writing anything (the greeting), then once after
    // each write: EHLO; MAIL+RCPT+DATA; content+dot; QUIT. QUIT waits for the dot's
    // reply: hardened servers answer 503 to anything pipelined after the dot.
    let writes: Vec<String> = record
        .reads
        .iter()
        .map(|r| String::from_utf8_lossy(r).into_owned())
        .collect();
    assert_eq!(writes.len(), 4, "{writes:#?}");
    assert!(writes[1].starts_with("MAIL FROM:") && writes[1].ends_with("DATA\r\n"));
    assert!(writes[2].ends_with("\r\n.\r\n"), "{:?}", writes[2]);
    assert_eq!(writes[3], "QUIT\r\n");
    assert_eq!(writes.len() + 1, 5, "round trips");
    let t = &out.stdout;
    let order = ["-> .", "<- 250 2.0.0 Ok: queued as P1", "-> QUIT", "<- 221"];
    let at: Vec<usize> = order.iter().map(|w| t.find(w).expect(w)).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{t}");
}

#[test]
fn chunking_with_pipelining_costs_four_round_trips() {
    let server = ScriptedServer::start(pipelined_bdat(&["PIPELINING", "CHUNKING"], 20, "C1"));
    let out = send_chunked(&server, b"Subject: x\r\n\r\nbody\r\n");
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    // EHLO; MAIL+RCPT+BDAT LAST with the content; QUIT after BDAT LAST's reply.
    assert_eq!(record.reads.len(), 3, "{:#?}", record.reads);
    assert_eq!(
        String::from_utf8_lossy(&record.reads[1]),
        "MAIL FROM:<me@example.org>\r\nRCPT TO:<you@example.org>\r\nBDAT 20 LAST\r\nSubject: x\r\n\r\nbody\r\n"
    );
    assert_eq!(String::from_utf8_lossy(&record.reads[2]), "QUIT\r\n");
    assert!(out.stdout.contains("queued as C1"), "{}", out.stdout);
}

#[test]
fn without_pipelining_every_command_waits() {
    let mut script = greeting_ehlo(&["PIPELINING"]);
    script.extend([
        expect("MAIL FROM:"),
        send("250 Ok\r\n"),
        expect("RCPT TO:"),
        send("250 Ok\r\n"),
        expect("DATA"),
        send("354 go ahead\r\n"),
        Step::ExpectData,
        send("250 Ok: queued as S1\r\n"),
        expect("QUIT"),
        send("221 Bye\r\n"),
        Step::Close,
    ]);
    let server = ScriptedServer::start(script);
    let out = smtpx(&server, &["--to", "you@example.org", "--no-pipelining"]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(
        record.reads.len(),
        6,
        "EHLO, MAIL, RCPT, DATA, content, QUIT"
    );
}

// ---------------------------------------------------------------- pipelined errors

#[test]
fn all_recipients_refused_sends_no_body() {
    let mut script = greeting_ehlo(&["PIPELINING"]);
    script.extend([
        expect("MAIL FROM:"),
        expect("RCPT TO:<a@"),
        expect("RCPT TO:<b@"),
        expect("DATA"),
        send("250 Ok\r\n550 5.1.1 no a\r\n550 5.1.1 no b\r\n554 5.5.1 no valid recipients\r\n"),
        expect("QUIT"),
        send("221 Bye\r\n"),
        Step::Close,
    ]);
    let server = ScriptedServer::start(script);
    let out = smtpx(&server, &["--to", "a@example.org", "--to", "b@example.org"]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 7, "{out}");
    assert!(
        out.stdout.contains("all 2 recipients refused"),
        "{}",
        out.stdout
    );
    assert!(record.data.is_empty());
    assert!(
        !record.received_text().contains("Subject"),
        "no content went"
    );
}

#[test]
fn all_recipients_refused_but_data_accepted_ends_with_an_empty_body() {
    let mut script = greeting_ehlo(&["PIPELINING"]);
    script.extend([
        expect("MAIL FROM:"),
        expect("RCPT TO:"),
        expect("DATA"),
        send("250 Ok\r\n550 5.1.1 no such user\r\n354 go ahead\r\n"),
        Step::ExpectData,
        send("554 5.5.1 no valid recipients\r\n"),
        expect("QUIT"),
        send("221 Bye\r\n"),
        Step::Close,
    ]);
    let server = ScriptedServer::start(script);
    let out = smtpx(&server, &["--to", "a@example.org"]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 7, "{out}");
    assert_eq!(record.data, vec![Vec::<u8>::new()], "just the dot");
}

#[test]
fn data_rejected_sends_no_body() {
    let mut script = greeting_ehlo(&["PIPELINING"]);
    script.extend([
        expect("MAIL FROM:"),
        expect("RCPT TO:"),
        expect("DATA"),
        send("250 Ok\r\n250 Ok\r\n554 5.3.0 no DATA today\r\n"),
        expect("QUIT"),
        send("221 Bye\r\n"),
        Step::Close,
    ]);
    let server = ScriptedServer::start(script);
    let out = smtpx(&server, &["--to", "a@example.org"]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 7, "{out}");
    assert!(
        out.stdout.contains("rejected: at data: 554"),
        "{}",
        out.stdout
    );
    assert!(!record.received_text().contains("Subject"));
}

#[test]
fn a_421_mid_group_ends_the_session() {
    let mut script = greeting_ehlo(&["PIPELINING"]);
    script.extend([
        expect("MAIL FROM:"),
        expect("RCPT TO:<a@"),
        expect("RCPT TO:<b@"),
        expect("DATA"),
        send("250 Ok\r\n421 4.3.2 shutting down\r\n"),
        Step::Close,
    ]);
    let server = ScriptedServer::start(script);
    let out = smtpx(&server, &["--to", "a@example.org", "--to", "b@example.org"]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 8, "{out}");
    assert!(
        out.stdout.contains("421 4.3.2 shutting down"),
        "{}",
        out.stdout
    );
    let wire = record.received_text();
    assert!(
        !wire.contains("QUIT") && !wire.contains("Subject"),
        "{wire:?}"
    );
}

// ---------------------------------------------------------------- SMTPUTF8, IDN, SIZE

#[test]
fn non_ascii_address_without_smtputf8_is_refused_naming_it() {
    let mut script = greeting_ehlo(&["PIPELINING", "8BITMIME"]);
    script.extend([expect("QUIT"), send("221 bye\r\n"), Step::Close]);
    let server = ScriptedServer::start(script);
    let out = smtpx(&server, &["--to", "josé@example.org"]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stdout.contains("'josé@example.org'"), "{out}");
    assert!(out.stdout.contains("SMTPUTF8"), "{out}");
    assert!(!record.commands.iter().any(|c| c.starts_with("MAIL")));
}

#[test]
fn non_ascii_address_with_smtputf8_goes_as_utf8() {
    let server = ScriptedServer::start(pipelined_delivery(&["PIPELINING", "8BITMIME", "SMTPUTF8"]));
    let out = smtpx(&server, &["--to", "josé@example.org"]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    assert!(
        mail_line(&record).ends_with(" SMTPUTF8"),
        "{}",
        mail_line(&record)
    );
    assert_eq!(record.commands[2], "RCPT TO:<josé@example.org>");
}

#[test]
fn idn_domains_go_as_a_labels_without_smtputf8() {
    let server = ScriptedServer::start(pipelined_delivery(&["PIPELINING"]));
    let out = smtpx(&server, &["--to", "user@Bücher.example"]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(record.commands[2], "RCPT TO:<user@xn--bcher-kva.example>");
    assert!(!mail_line(&record).contains("SMTPUTF8"));
}

#[test]
fn size_is_declared_and_over_the_limit_is_exit_7() {
    let msg = file_with(&message("chunks", 5000));
    let mut script = greeting_ehlo(&["PIPELINING", "SIZE 4096"]);
    script.extend([expect("QUIT"), send("221 bye\r\n"), Step::Close]);
    let server = ScriptedServer::start(script);
    let out = smtpx(&server, &["--to", "you@example.org", "--data", &path(&msg)]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 7, "{out}");
    assert!(out.stdout.contains("5000 bytes"), "{}", out.stdout);
    assert!(out.stdout.contains("at most 4096"), "{}", out.stdout);
    assert!(!record.commands.iter().any(|c| c.starts_with("MAIL")));

    let server = ScriptedServer::start(pipelined_delivery(&["PIPELINING", "SIZE 10000"]));
    let out = smtpx(&server, &["--to", "you@example.org", "--data", &path(&msg)]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(mail_line(&record), "MAIL FROM:<me@example.org> SIZE=5000");
}

#[test]
fn the_transcript_shows_extension_parameters() {
    let caps = ehlo_reply("mx.test", &["PIPELINING", "SIZE 1000000", "DSN"]);
    assert!(String::from_utf8_lossy(&caps).contains("250 DSN"));
    let server = ScriptedServer::start(pipelined_delivery(&["PIPELINING", "SIZE 1000000", "DSN"]));
    let out = smtpx(
        &server,
        &["--to", "you@example.org", "--dsn-notify", "failure"],
    );
    server.finish().assert_clean();
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout.contains("-> MAIL FROM:<me@example.org> SIZE="),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("-> RCPT TO:<you@example.org> NOTIFY=FAILURE ORCPT=rfc822;you@example.org"),
        "{}",
        out.stdout
    );
}
