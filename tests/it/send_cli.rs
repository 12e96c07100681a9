//! `smtpx send` as a user runs it: the binary against the scripted server on
//! loopback. Each test checks the exit code, the transcript or JSON shape, and
//! what the server saw on the wire.

use std::io::Write;
use std::net::TcpListener;
use std::time::Duration;

use serde_json::Value;

use crate::support::run::{HANG_GUARD, Out, Smtpx};
use crate::support::scripted::{
    Record, ScriptedServer, ServerOptions, Step, drip, expect, fin_wait_options, greeting_ehlo,
    happy_send, ipv6_loopback_available, quit_reply_after_fin, send, send_bytes,
};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

const FROM: &str = "me@example.org";
const TO: &str = "you@example.org";

/// `send ARGS` with defaults for what ARGS leave out: `--server ADDR`,
/// `--helo client.test`, `--from me@example.org` and `--to you@example.org`.
fn send_args(server: &str, args: &[&str]) -> Vec<String> {
    let mut all = vec!["send".to_owned()];
    let defaults: [(&[&str], &str); 4] = [
        (&["--server", "-s"], server),
        (&["--helo"], "client.test"),
        (&["--from", "-f"], FROM),
        (&["--to", "-t"], TO),
    ];
    for (names, value) in defaults {
        if !args.iter().any(|a| names.contains(a)) {
            all.extend([names[0].to_owned(), value.to_owned()]);
        }
    }
    all.extend(args.iter().map(|a| a.to_string()));
    all
}

fn send_cmd(server: &str, args: &[&str]) -> Smtpx {
    let all = send_args(server, args);
    Smtpx::new().args(&all.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Runs `smtpx send` against `server`, then collects what the server saw.
fn run(server: ScriptedServer, args: &[&str]) -> (Out, Record) {
    let out = send_cmd(&server.server_arg(), args).run();
    (out, server.finish())
}

/// Like [`run`] with bytes on stdin.
fn run_stdin(server: ScriptedServer, args: &[&str], stdin: &[u8]) -> (Out, Record) {
    let out = send_cmd(&server.server_arg(), args).stdin(stdin).run();
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

fn assert_has_line(out: &Out, line: &str) {
    assert!(
        out.lines().iter().any(|l| l.trim_end() == line),
        "no line {line:?}\n{out}"
    );
}

fn assert_has_line_starting(out: &Out, prefix: &str) {
    assert!(
        out.lines().iter().any(|l| l.starts_with(prefix)),
        "no line starting with {prefix:?}\n{out}"
    );
}

/// The server's commands that start with `prefix` (case-insensitive).
fn commands<'a>(record: &'a Record, prefix: &str) -> Vec<&'a str> {
    record
        .commands
        .iter()
        .filter(|c| c.to_ascii_uppercase().starts_with(prefix))
        .map(String::as_str)
        .collect()
}

fn quit() -> Vec<Step> {
    vec![expect("QUIT"), send("221 2.0.0 Bye\r\n"), Step::Close]
}

fn script(parts: Vec<Vec<Step>>) -> Vec<Step> {
    parts.into_iter().flatten().collect()
}

/// Greeting and EHLO without PIPELINING, so every command is its own step.
fn plain_ehlo() -> Vec<Step> {
    greeting_ehlo(&["8BITMIME", "SIZE 10240000"])
}

/// A sequential session up to the final dot's reply, then QUIT.
fn through_final_dot(final_reply: &str) -> Vec<Step> {
    script(vec![
        plain_ehlo(),
        vec![
            expect("MAIL FROM:"),
            send("250 2.1.0 Ok\r\n"),
            expect("RCPT TO:"),
            send("250 2.1.5 Ok\r\n"),
            expect("DATA"),
            send("354 go ahead\r\n"),
            Step::ExpectData,
            send(final_reply),
        ],
        quit(),
    ])
}

/// Waits for a child started without assert_cmd, killing it after [`HANG_GUARD`].
fn wait_bounded(child: &mut std::process::Child) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + HANG_GUARD;
    loop {
        if let Some(status) = child.try_wait().expect("wait for smtpx") {
            return Some(status);
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A listener's port with nothing listening on it any more.
fn refused_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().unwrap().port()
}

/// A server that should never see a connection: it gives up quickly.
fn untouched_server() -> ScriptedServer {
    let opts = ServerOptions {
        accept_timeout: Duration::from_millis(200),
        finish_timeout: Duration::from_secs(5),
        ..ServerOptions::default()
    };
    ScriptedServer::start_with(opts, vec![happy_send(1)])
}

/// Exit 2, one stderr line naming `flag`, nothing on the wire.
fn assert_refused_before_connect(args: &[&str], flag: &str) {
    let (out, record) = run(untouched_server(), args);
    assert_exit(&out, 2);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one stderr line for {args:?}\n{out}");
    assert!(
        lines[0].starts_with("smtpx: error: ") && lines[0].contains(flag),
        "stderr should name {flag}\n{out}"
    );
    assert_eq!(
        record.connections, 0,
        "connected despite bad input {args:?}"
    );
    assert!(record.received.is_empty());
}

/// Every key anywhere in a JSON value.
fn keys(v: &Value, into: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                into.push(k.clone());
                keys(v, into);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| keys(v, into)),
        _ => {}
    }
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

// ---------------------------------------------------------------------------
// 1-4: sending
// ---------------------------------------------------------------------------

#[test]
fn happy_path_pipelined() {
    let server = ScriptedServer::start(happy_send(1));
    let (out, record) = run(server, &["--subject", "Hello there", "--body", "Body line"]);
    record.assert_clean();
    assert_exit(&out, 0);
    assert_has_line_starting(&out, "-> MAIL FROM:<me@example.org>");
    assert_has_line(&out, "-> RCPT TO:<you@example.org>");
    assert_has_line_starting(&out, "<- 250 2.0.0 Ok: queued as ABC123");
    assert_outcome_starts(&out, "accepted: for 1 of 1 recipient, queued as ABC123");
    assert!(out.stderr.is_empty(), "{out}");

    let payload = String::from_utf8(record.data[0].clone()).unwrap();
    let (head, body) = payload.split_once("\r\n\r\n").expect("header/body split");
    for name in [
        "Subject:",
        "From:",
        "To:",
        "Date:",
        "Message-ID:",
        "MIME-Version:",
    ] {
        assert!(
            head.lines().any(|l| l
                .to_ascii_lowercase()
                .starts_with(&name.to_ascii_lowercase())),
            "no {name} header in\n{head}"
        );
    }
    assert!(head.contains("Hello there") && head.contains(FROM) && head.contains(TO));
    assert!(body.starts_with("Body line"), "body: {body:?}");

    // RFC 2920: MAIL, RCPT and DATA in one write.
    let batch = record
        .reads
        .iter()
        .find(|r| r.starts_with(b"MAIL FROM:"))
        .expect("a read starting with MAIL");
    let batch = String::from_utf8_lossy(batch);
    assert!(
        batch.contains("\r\nRCPT TO:<you@example.org>\r\nDATA\r\n"),
        "MAIL/RCPT/DATA not in one read: {batch:?} of {:?}",
        record.reads
    );
}

fn assert_one_command_per_read(record: &Record) {
    for prefix in ["MAIL FROM:", "RCPT TO:", "DATA"] {
        let read = record
            .reads
            .iter()
            .find(|r| r.starts_with(prefix.as_bytes()))
            .unwrap_or_else(|| panic!("no read starting with {prefix}: {:?}", record.reads));
        assert_eq!(
            count(read, b"\r\n"),
            1,
            "{prefix} shared a read: {:?}",
            String::from_utf8_lossy(read)
        );
    }
}

#[test]
fn without_pipelining_in_ehlo_commands_go_one_at_a_time() {
    let server = ScriptedServer::start(through_final_dot("250 2.0.0 Ok: queued as Q1\r\n"));
    let (out, record) = run(server, &[]);
    record.assert_clean();
    assert_exit(&out, 0);
    assert_one_command_per_read(&record);
}

#[test]
fn no_pipelining_flag_sends_one_at_a_time_even_when_offered() {
    let server = ScriptedServer::start(happy_send(1));
    let (out, record) = run(server, &["--no-pipelining"]);
    record.assert_clean();
    assert_exit(&out, 0);
    assert_one_command_per_read(&record);
}

#[test]
fn cc_and_bcc_are_in_the_envelope_but_bcc_is_in_no_header() {
    let server = ScriptedServer::start(happy_send(3));
    let (out, record) = run(
        server,
        &[
            "--to",
            "to@example.org",
            "--cc",
            "cc@example.org",
            "--bcc",
            "hidden@example.org",
        ],
    );
    record.assert_clean();
    assert_exit(&out, 0);
    assert_outcome_starts(&out, "accepted: for 3 of 3 recipients");
    assert_eq!(
        commands(&record, "RCPT"),
        [
            "RCPT TO:<to@example.org>",
            "RCPT TO:<cc@example.org>",
            "RCPT TO:<hidden@example.org>"
        ]
    );
    let payload = String::from_utf8_lossy(&record.data[0]).into_owned();
    let head = payload.split("\r\n\r\n").next().unwrap();
    assert!(
        head.lines()
            .any(|l| l.to_ascii_lowercase().starts_with("cc:") && l.contains("cc@example.org")),
        "no Cc header:\n{head}"
    );
    // A header line, not any "bcc": the random hex of the Message-ID can hold those letters.
    assert!(
        !head
            .lines()
            .any(|l| l.to_ascii_lowercase().starts_with("bcc:")),
        "{payload}"
    );
    assert!(!payload.contains("hidden@example.org"), "{payload}");
}

/// Raw content with leading dots, bare LFs and a `\n.\n` that must not end the data.
const RAW_MESSAGE: &[u8] =
    b"Subject: raw\nFrom: a@example.org\n\n.leading dot\nline two\r\n..two dots\n.\nafter the lone dot\n";
/// Its wire form, without the terminator.
const RAW_ON_WIRE: &[u8] = b"Subject: raw\r\nFrom: a@example.org\r\n\r\n..leading dot\r\nline two\r\n...two dots\r\n..\r\nafter the lone dot\r\n";

fn assert_sent_as_is(record: &Record) {
    assert_eq!(
        record.data.len(),
        1,
        "received: {}",
        record.received.escape_ascii()
    );
    assert_eq!(
        record.data[0].escape_ascii().to_string(),
        RAW_ON_WIRE.escape_ascii().to_string()
    );
    assert_eq!(count(&record.received, b"\r\n.\r\n"), 1, "one end-of-data");
    assert_eq!(count(&record.received, b"\n.\n"), 0);
    let bare_lf = record
        .received
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' && (i == 0 || record.received[i - 1] != b'\r'))
        .count();
    assert_eq!(bare_lf, 0, "bare LF on the wire");
}

#[test]
fn data_from_stdin_is_dot_stuffed_and_crlf_normalised() {
    let server = ScriptedServer::start(happy_send(1));
    let (out, record) = run_stdin(server, &["--data", "-"], RAW_MESSAGE);
    record.assert_clean();
    assert_exit(&out, 0);
    assert_sent_as_is(&record);
    let mail = commands(&record, "MAIL")[0];
    assert!(!mail.contains("SIZE="), "size of stdin is unknown: {mail}");
}

#[test]
fn data_from_file_is_sent_as_is_with_its_size_declared() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(RAW_MESSAGE).unwrap();
    file.flush().unwrap();
    let path = file.path().to_str().unwrap();
    let server = ScriptedServer::start(happy_send(1));
    let (out, record) = run(server, &["--data", path]);
    record.assert_clean();
    assert_exit(&out, 0);
    assert_sent_as_is(&record);
    assert_eq!(
        commands(&record, "MAIL"),
        [format!(
            "MAIL FROM:<me@example.org> SIZE={}",
            RAW_MESSAGE.len()
        )]
    );
}

#[test]
fn data_without_a_final_newline_gets_crlf_before_the_dot() {
    let server = ScriptedServer::start(happy_send(1));
    let (out, record) = run_stdin(server, &["--data", "-"], b"Subject: x\n\nno newline");
    record.assert_clean();
    assert_exit(&out, 0);
    assert_eq!(record.data[0], b"Subject: x\r\n\r\nno newline\r\n");
}

// ---------------------------------------------------------------------------
// 5: exit codes
// ---------------------------------------------------------------------------

#[test]
fn rcpt_550_exits_7() {
    // Pipelined: the server answers DATA with 554 as there is no valid recipient.
    let server = ScriptedServer::start(script(vec![
        greeting_ehlo(&["PIPELINING"]),
        vec![
            expect("MAIL FROM:"),
            expect("RCPT TO:"),
            expect("DATA"),
            send("250 2.1.0 Ok\r\n550 5.1.1 no such user\r\n554 5.5.1 no valid recipients\r\n"),
        ],
        quit(),
    ]));
    let (out, record) = run(server, &[]);
    record.assert_clean();
    assert_exit(&out, 7);
    assert_outcome_starts(&out, "rejected: at rcpt: 550");
    assert_eq!(record.data.len(), 0);
}

#[test]
fn rcpt_450_exits_8() {
    let server = ScriptedServer::start(script(vec![
        plain_ehlo(),
        vec![
            expect("MAIL FROM:"),
            send("250 2.1.0 Ok\r\n"),
            expect("RCPT TO:"),
            send("450 4.2.0 greylisted\r\n"),
        ],
        quit(),
    ]));
    let (out, record) = run(server, &[]);
    record.assert_clean();
    assert_exit(&out, 8);
    assert_outcome_starts(&out, "rejected: at rcpt: 450");
    assert!(commands(&record, "DATA").is_empty());
}

#[test]
fn one_of_two_recipients_550_exits_7_partially_accepted() {
    let server = ScriptedServer::start(script(vec![
        greeting_ehlo(&["PIPELINING"]),
        vec![
            expect("MAIL FROM:"),
            expect("RCPT TO:<good@"),
            expect("RCPT TO:<bad@"),
            expect("DATA"),
            send("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 no such user\r\n354 go\r\n"),
            Step::ExpectData,
            send("250 2.0.0 Ok: queued as P1\r\n"),
        ],
        quit(),
    ]));
    let (out, record) = run(
        server,
        &["--to", "good@example.org", "--to", "bad@example.org"],
    );
    record.assert_clean();
    assert_exit(&out, 7);
    assert_outcome_starts(&out, "partially accepted: for 1 of 2 recipients");
    assert!(out.outcome().contains("bad@example.org"), "{out}");
    assert_eq!(record.data.len(), 1);
}

#[test]
fn one_recipient_450_one_250_exits_8() {
    let server = ScriptedServer::start(script(vec![
        plain_ehlo(),
        vec![
            expect("MAIL FROM:"),
            send("250 2.1.0 Ok\r\n"),
            expect("RCPT TO:<later@"),
            send("450 4.2.1 try later\r\n"),
            expect("RCPT TO:<good@"),
            send("250 2.1.5 Ok\r\n"),
            expect("DATA"),
            send("354 go\r\n"),
            Step::ExpectData,
            send("250 2.0.0 Ok: queued as P2\r\n"),
        ],
        quit(),
    ]));
    let (out, record) = run(
        server,
        &["--to", "later@example.org", "--to", "good@example.org"],
    );
    record.assert_clean();
    assert_exit(&out, 8);
    assert_outcome_starts(&out, "partially accepted: for 1 of 2 recipients");
}

#[test]
fn greeting_554_exits_7() {
    let server = ScriptedServer::start(script(vec![
        vec![send("554 5.3.2 no service for you\r\n")],
        quit(),
    ]));
    let (out, record) = run(server, &[]);
    record.assert_clean();
    assert_exit(&out, 7);
    assert_outcome_starts(&out, "rejected: at greeting: 554");
    assert!(commands(&record, "EHLO").is_empty());
}

#[test]
fn greeting_421_exits_8() {
    let server = ScriptedServer::start(vec![send("421 4.3.2 busy, come back\r\n"), Step::Close]);
    let (out, record) = run(server, &[]);
    record.assert_clean();
    assert_exit(&out, 8);
    assert_outcome_starts(&out, "rejected: at greeting: 421");
    assert!(!record.received_text().contains("EHLO"));
}

#[test]
fn silent_server_exits_4_after_the_greeting_timeout() {
    let server = ScriptedServer::start(vec![Step::ReadUntilClose]);
    let (out, record) = run(server, &["--greeting-timeout", "300ms"]);
    record.assert_clean();
    assert_exit(&out, 4);
    assert_outcome_starts(&out, "failed: at greeting:");
    assert!(record.received.is_empty());
}

#[test]
fn connection_refused_exits_4() {
    let server = format!("127.0.0.1:{}", refused_port());
    let out = send_cmd(&server, &[]).run();
    assert_exit(&out, 4);
    assert_outcome_starts(&out, "failed: at connect:");
}

#[test]
fn close_right_after_connect_exits_4() {
    let server = ScriptedServer::start(vec![Step::Close]);
    let (out, record) = run(server, &[]);
    record.assert_clean();
    assert_exit(&out, 4);
    assert_outcome_starts(&out, "failed: at greeting:");
}

#[test]
fn close_after_mail_exits_8() {
    let server = ScriptedServer::start(script(vec![
        plain_ehlo(),
        vec![expect("MAIL FROM:"), Step::Close],
    ]));
    let (out, record) = run(server, &[]);
    record.assert_clean();
    assert_exit(&out, 8);
    assert_outcome_starts(&out, "failed: at mail:");
}

fn silent_after_mail() -> Vec<Step> {
    script(vec![
        plain_ehlo(),
        vec![expect("MAIL FROM:"), Step::ReadUntilClose],
    ])
}

#[test]
fn command_timeout_at_mail_exits_8() {
    let (out, record) = run(
        ScriptedServer::start(silent_after_mail()),
        &["--command-timeout", "300ms"],
    );
    record.assert_clean();
    assert_exit(&out, 8);
    assert_outcome_starts(&out, "failed: at mail:");
}

#[test]
fn overall_timeout_ends_a_stalled_session_with_8() {
    let (out, record) = run(
        ScriptedServer::start(silent_after_mail()),
        &["--timeout", "500ms"],
    );
    record.assert_clean();
    assert_exit(&out, 8);
    assert_outcome_starts(&out, "failed: at mail:");
}

#[test]
fn final_dot_552_exits_7() {
    let server = ScriptedServer::start(through_final_dot("552 5.3.4 message too big\r\n"));
    let (out, record) = run(server, &[]);
    record.assert_clean();
    assert_exit(&out, 7);
    assert_outcome_starts(&out, "rejected: at final-dot: 552");
}

#[test]
fn final_dot_451_exits_8() {
    let server = ScriptedServer::start(through_final_dot("451 4.3.0 local error\r\n"));
    let (out, record) = run(server, &[]);
    record.assert_clean();
    assert_exit(&out, 8);
    assert_outcome_starts(&out, "rejected: at final-dot: 451");
}

fn close_after_dot() -> Vec<Step> {
    script(vec![
        plain_ehlo(),
        vec![
            expect("MAIL FROM:"),
            send("250 2.1.0 Ok\r\n"),
            expect("RCPT TO:"),
            send("250 2.1.5 Ok\r\n"),
            expect("DATA"),
            send("354 go ahead\r\n"),
            Step::ExpectData,
            Step::Close,
        ],
    ])
}

#[test]
fn close_after_the_final_dot_is_unknown_exit_10() {
    let (out, record) = run(ScriptedServer::start(close_after_dot()), &[]);
    record.assert_clean();
    assert_exit(&out, 10);
    assert_outcome_starts(&out, "unknown: at final-dot:");
    assert_eq!(record.data.len(), 1);

    let (out, record) = run(ScriptedServer::start(close_after_dot()), &["--json"]);
    record.assert_clean();
    assert_exit(&out, 10);
    let result = out.result();
    assert_eq!(result["status"], "unknown", "{result}");
    assert_eq!(result["exit_code"], 10);
    assert_eq!(result["phase"], "final-dot");
}

#[test]
fn no_reply_to_the_final_dot_is_unknown_exit_10() {
    let server = ScriptedServer::start(script(vec![
        plain_ehlo(),
        vec![
            expect("MAIL FROM:"),
            send("250 2.1.0 Ok\r\n"),
            expect("RCPT TO:"),
            send("250 2.1.5 Ok\r\n"),
            expect("DATA"),
            send("354 go ahead\r\n"),
            Step::ExpectData,
            Step::ReadUntilClose,
        ],
    ]));
    let (out, record) = run(server, &["--final-timeout", "300ms"]);
    record.assert_clean();
    assert_exit(&out, 10);
    assert_outcome_starts(&out, "unknown: at final-dot:");
}

#[test]
fn reset_after_the_final_dot_is_unknown_exit_10() {
    let mut steps = close_after_dot();
    *steps.last_mut().unwrap() = Step::Reset;
    let (out, record) = run(ScriptedServer::start(steps), &[]);
    record.assert_clean();
    assert_exit(&out, 10);
    assert_outcome_starts(&out, "unknown: at final-dot:");
}

#[test]
fn server_that_stops_reading_mid_body_exits_8_without_a_dot() {
    // Large enough to fill both socket buffers on loopback.
    let mut file = tempfile::NamedTempFile::new().unwrap();
    let line = [b'x'; 1023];
    let mut chunk = Vec::with_capacity(1024 * 1024);
    for _ in 0..1024 {
        chunk.extend_from_slice(&line);
        chunk.push(b'\n');
    }
    for _ in 0..16 {
        file.write_all(&chunk).unwrap();
    }
    file.flush().unwrap();
    let server = ScriptedServer::start(script(vec![
        greeting_ehlo(&["8BITMIME"]),
        vec![
            expect("MAIL FROM:"),
            send("250 2.1.0 Ok\r\n"),
            expect("RCPT TO:"),
            send("250 2.1.5 Ok\r\n"),
            expect("DATA"),
            send("354 go ahead\r\n"),
            Step::Stall(Duration::from_secs(2)),
            Step::ReadUntilClose,
        ],
    ]));
    let (out, record) = run(
        server,
        &[
            "--data",
            file.path().to_str().unwrap(),
            "--data-block-timeout",
            "300ms",
        ],
    );
    record.assert_clean();
    assert_exit(&out, 8);
    assert_outcome_starts(&out, "failed: at body:");
    assert!(record.received.len() < 16 * 1024 * 1024, "all of it went");
    assert_eq!(count(&record.received, b"\r\n.\r\n"), 0, "final dot sent");
}

/// Reading stdin fails at once (stdin is a directory: EISDIR). The first read comes
/// before connecting, so nothing is sent at all; a failure later in the body is the
/// catalog's `data_stdin_fails_mid_body`.
#[cfg(unix)]
#[test]
fn stdin_read_error_at_once_is_refused_before_connecting() {
    let server = untouched_server();
    let dir = tempfile::tempdir().unwrap();
    let stdin = std::fs::File::open(dir.path()).expect("open a directory for reading");
    // assert_cmd always pipes stdin, so this one runs through std.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_smtpx"))
        .args(send_args(&server.server_arg(), &["--data", "-"]))
        .stdin(stdin)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run smtpx");
    let status = wait_bounded(&mut child);
    let raw = child.wait_with_output().expect("collect output");
    let out = Out::new(status.and_then(|s| s.code()), raw.stdout, &raw.stderr);
    let record = server.finish();
    assert_exit(&out, 2);
    assert!(out.stderr.contains("reading stdin failed"), "{out}");
    assert_eq!(record.connections, 0, "connected despite unreadable input");
}

#[test]
fn message_over_the_advertised_size_is_not_offered() {
    let server = ScriptedServer::start(script(vec![greeting_ehlo(&["SIZE 100"]), quit()]));
    let (out, record) = run(server, &["--body", &"x".repeat(500)]);
    record.assert_clean();
    assert_exit(&out, 7);
    assert_outcome_starts(&out, "failed: at mail:");
    assert!(out.outcome().contains("SIZE 100"), "{out}");
    assert_eq!(record.commands, ["EHLO client.test", "QUIT"]);
}

#[test]
fn all_refused_but_data_354_gets_an_empty_body() {
    // RFC 2920 §3.1: the pipelined DATA was accepted anyway; end it with a lone dot.
    let server = ScriptedServer::start(script(vec![
        greeting_ehlo(&["PIPELINING"]),
        vec![
            expect("MAIL FROM:"),
            expect("RCPT TO:"),
            expect("DATA"),
            send("250 2.1.0 Ok\r\n550 5.1.1 no such user\r\n354 go\r\n"),
            Step::ExpectData,
            send("554 5.5.1 no valid recipients\r\n"),
        ],
        quit(),
    ]));
    let (out, record) = run(server, &["--subject", "secret subject"]);
    record.assert_clean();
    assert_exit(&out, 7);
    assert_outcome_starts(&out, "rejected: at rcpt: 550");
    assert_eq!(record.data, [Vec::<u8>::new()]);
    assert!(!record.received_text().contains("secret subject"));
}

#[test]
fn mismatched_multiline_codes_exit_9() {
    let server = ScriptedServer::start(vec![
        send("220 mx.test ESMTP\r\n"),
        expect("EHLO"),
        send("250-mx.test\r\n251 PIPELINING\r\n"),
        Step::Close,
    ]);
    let (out, record) = run(server, &[]);
    record.assert_clean();
    assert_exit(&out, 9);
    assert_outcome_starts(&out, "failed: at ehlo:");
    assert!(!record.received_text().contains("MAIL"));
}

#[test]
fn malformed_reply_code_exits_9() {
    let server = ScriptedServer::start(vec![send("2500 x\r\n"), Step::Close]);
    let (out, record) = run(server, &[]);
    record.assert_clean();
    assert_exit(&out, 9);
    assert_outcome_starts(&out, "failed: at greeting:");
    assert!(!record.received_text().contains("EHLO"));
}

#[test]
fn data_answered_250_instead_of_354_exits_9() {
    let server = ScriptedServer::start(script(vec![
        plain_ehlo(),
        vec![
            expect("MAIL FROM:"),
            send("250 2.1.0 Ok\r\n"),
            expect("RCPT TO:"),
            send("250 2.1.5 Ok\r\n"),
            expect("DATA"),
            send("250 2.0.0 what body?\r\n"),
            Step::Close,
        ],
    ]));
    let (out, record) = run(server, &[]);
    record.assert_clean();
    assert_exit(&out, 9);
    assert_outcome_starts(&out, "failed: at data:");
    assert!(out.outcome().contains("354"), "{out}");
    assert!(record.data.is_empty());
    assert!(!record.received_text().contains("Subject:"), "no body sent");
}

#[test]
fn endless_reply_line_exits_9_without_hanging() {
    let mut line = b"220 ".to_vec();
    line.resize(100 * 1024, b'A');
    let server = ScriptedServer::start(vec![send_bytes(line), Step::ReadUntilClose]);
    // Should the cap be missing, the greeting timeout ends the run with exit 4.
    let (out, record) = run(server, &["--greeting-timeout", "10s"]);
    assert_exit(&out, 9);
    assert_outcome_starts(&out, "failed: at greeting:");
    assert!(out.outcome().contains("longer than"), "{out}");
    // The client may close with our bytes unread, which the kernel reports as a reset.
    assert!(
        record
            .errors
            .iter()
            .all(|e| e.contains("reset") || e.contains("Broken pipe")),
        "{:?}",
        record.errors
    );
}

#[test]
fn ehlo_502_falls_back_to_helo() {
    let server = ScriptedServer::start(script(vec![
        vec![
            send("220 old.test SMTP\r\n"),
            expect("EHLO client.test"),
            send("502 5.5.2 what is EHLO\r\n"),
            expect("HELO client.test"),
            send("250 old.test\r\n"),
            expect("MAIL FROM:<me@example.org>"),
            send("250 Ok\r\n"),
            expect("RCPT TO:<you@example.org>"),
            send("250 Ok\r\n"),
            expect("DATA"),
            send("354 go\r\n"),
            Step::ExpectData,
            send("250 Ok: queued as H1\r\n"),
        ],
        quit(),
    ]));
    let (out, record) = run(server, &[]);
    record.assert_clean();
    assert_exit(&out, 0);
    assert_has_line(&out, "-> HELO client.test");
    assert_outcome_starts(&out, "accepted: for 1 of 1 recipient, queued as H1");
    let mail = commands(&record, "MAIL")[0];
    assert!(
        !mail.contains("SIZE="),
        "no ESMTP parameters after HELO: {mail}"
    );
}

// ---------------------------------------------------------------------------
// 6: bad input
// ---------------------------------------------------------------------------

#[test]
fn bad_addresses_are_refused_before_connecting() {
    for bad in [
        "a\r\nb@example.org",
        "a@example.org\nRCPT TO:<x@y>",
        "a\u{1}b@example.org",
        "a<b@example.org",
        "a>@example.org",
        "a b@example.org",
    ] {
        assert_refused_before_connect(&["--to", bad], "--to");
        assert_refused_before_connect(&["--from", bad], "--from");
        assert_refused_before_connect(&["--cc", bad], "--cc");
        assert_refused_before_connect(&["--bcc", bad], "--bcc");
    }
}

#[test]
fn over_long_local_part_is_refused() {
    let long = format!("{}@example.org", "a".repeat(65));
    assert_refused_before_connect(&["--to", &long], "--to");
    // 64 is the limit, not over it: that one is sent.
    let ok = format!("{}@example.org", "a".repeat(64));
    let (out, record) = run(ScriptedServer::start(happy_send(1)), &["--to", &ok]);
    record.assert_clean();
    assert_exit(&out, 0);
}

#[test]
fn bad_helo_is_refused() {
    for bad in [
        "client\r\nMAIL FROM:<x@y>",
        "client\ntest",
        "a<b",
        "a>b",
        "a\u{1}b",
    ] {
        assert_refused_before_connect(&["--helo", bad], "--helo");
    }
}

#[test]
fn header_injection_is_refused() {
    for bad in [
        "X-A: b\r\nBcc: x@y",
        "X-A: b\nBcc: x@y",
        "X-A: b\rc",
        "X-A: b\u{1}",
    ] {
        assert_refused_before_connect(&["--header", bad], "--header");
    }
}

#[test]
fn subject_with_line_breaks_is_refused() {
    for bad in ["hi\nBcc: x@y", "hi\r\nX: y", "hi\rthere"] {
        assert_refused_before_connect(&["--subject", bad], "--subject");
    }
}

#[test]
fn bad_server_port_exits_2_without_connecting() {
    for bad in ["127.0.0.1:99999", "localhost:99999", "127.0.0.1:0x19"] {
        let (out, record) = run(untouched_server(), &["--server", bad]);
        assert_exit(&out, 2);
        assert_eq!(record.connections, 0);
        assert!(
            format!("{}{}", out.stdout, out.stderr).contains("--server"),
            "{out}"
        );
    }
}

#[test]
fn bad_server_port_is_a_one_line_stderr_error() {
    assert_refused_before_connect(&["--server", "127.0.0.1:99999"], "--server");
}

#[test]
fn unusable_data_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nonexistent");
    assert_refused_before_connect(&["--data", missing.to_str().unwrap()], "--data");
    assert_refused_before_connect(&["--data", dir.path().to_str().unwrap()], "--data");
    assert_refused_before_connect(&["--data", "/dev/zero"], "--data");
}

#[test]
fn unusable_body_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nonexistent");
    assert_refused_before_connect(&["--body-file", missing.to_str().unwrap()], "--body-file");
    assert_refused_before_connect(
        &["--body-file", dir.path().to_str().unwrap()],
        "--body-file",
    );
    let binary = dir.path().join("binary");
    std::fs::write(&binary, b"\xff\xfe not text").unwrap();
    assert_refused_before_connect(&["--body-file", binary.to_str().unwrap()], "--body-file");
}

#[cfg(unix)]
#[test]
fn unreadable_body_file_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "body\n").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::File::open(&secret).is_ok() {
        eprintln!("skipped: running with permission to read a mode-000 file (root)");
        return;
    }
    assert_refused_before_connect(&["--body-file", secret.to_str().unwrap()], "--body-file");
}

#[test]
fn bad_input_with_json_still_ends_with_a_result_object() {
    let (out, record) = run(untouched_server(), &["--json", "--to", "a\nb@example.org"]);
    assert_exit(&out, 2);
    assert_eq!(record.connections, 0);
    let result = out.result();
    assert_eq!(result["exit_code"], 2);
    assert_eq!(result["status"], "failed");
    assert!(out.stderr.contains("--to"), "{out}");
}

// ---------------------------------------------------------------------------
// 7: --quit-after
// ---------------------------------------------------------------------------

fn assert_stopped(out: &Out, record: &Record, step: &str) {
    record.assert_clean();
    assert_exit(out, 0);
    assert_outcome_starts(out, &format!("stopped: after {step}"));
    assert!(!record.received_text().contains("DATA"), "DATA sent");
    assert!(record.data.is_empty());
}

/// A server that answers QUIT only once the client has closed its side, as Exim before
/// 4.99 does (its 221 stays corked until the client's FIN, or 200 ms: Exim bug 3142).
/// smtpx ends its writing side right after QUIT, so the 221 comes at once and is shown.
/// The server gives up waiting for the close after 5 s, well before smtpx's 10 s QUIT
/// wait, so without the FIN the record has an error.
#[test]
fn quit_is_followed_by_a_fin_so_a_server_waiting_for_it_answers() {
    let mut steps = through_final_dot("250 OK id=1xZypW-0000m6-2P\r\n");
    steps.truncate(steps.len() - quit().len());
    steps.push(expect("QUIT"));
    steps.extend(quit_reply_after_fin());
    let server = ScriptedServer::start_with(fin_wait_options(), vec![steps]);
    let (out, record) = run(server, &[]);
    record.assert_clean();
    assert_exit(&out, 0);
    assert_has_line_starting(&out, "<- 221 exim.example.test closing connection");
    assert!(!out.stdout.contains("closing the connection;"), "{out}");
    assert_outcome_starts(
        &out,
        "accepted: for 1 of 1 recipient, queued as 1xZypW-0000m6-2P",
    );
}

#[test]
fn quit_after_connect() {
    let server = ScriptedServer::start(vec![Step::ReadUntilClose]);
    let (out, record) = run(server, &["--quit-after", "connect"]);
    assert_stopped(&out, &record, "connect");
    assert!(record.received.is_empty(), "{}", record.received_text());
}

#[test]
fn quit_after_greeting() {
    let server = ScriptedServer::start(script(vec![vec![send("220 mx.test ESMTP\r\n")], quit()]));
    let (out, record) = run(server, &["--quit-after", "greeting"]);
    assert_stopped(&out, &record, "greeting");
    assert_eq!(record.commands, ["QUIT"]);
}

#[test]
fn quit_after_ehlo() {
    let server = ScriptedServer::start(script(vec![greeting_ehlo(&["PIPELINING"]), quit()]));
    let (out, record) = run(server, &["--quit-after", "ehlo"]);
    assert_stopped(&out, &record, "ehlo");
    assert_eq!(record.commands, ["EHLO client.test", "QUIT"]);
}

fn check_quit_after_mail(caps: &[&str]) {
    let server = ScriptedServer::start(script(vec![
        greeting_ehlo(caps),
        vec![expect("MAIL FROM:"), send("250 2.1.0 Ok\r\n")],
        quit(),
    ]));
    let (out, record) = run(server, &["--quit-after", "mail"]);
    assert_stopped(&out, &record, "mail");
    assert!(
        !record.received_text().contains("RCPT"),
        "RCPT sent: {}",
        record.received_text()
    );
}

#[test]
fn quit_after_mail_sends_no_rcpt() {
    check_quit_after_mail(&["SIZE 1000000"]);
}

#[test]
fn quit_after_mail_pipelined_sends_no_rcpt() {
    check_quit_after_mail(&["PIPELINING", "SIZE 1000000"]);
}

fn quit_after_rcpt_script(rcpt_reply: &str) -> Vec<Step> {
    script(vec![
        greeting_ehlo(&["PIPELINING"]),
        vec![
            expect("MAIL FROM:"),
            expect("RCPT TO:"),
            send("250 2.1.0 Ok\r\n"),
            send(rcpt_reply),
        ],
        quit(),
    ])
}

#[test]
fn quit_after_rcpt() {
    let server = ScriptedServer::start(quit_after_rcpt_script("250 2.1.5 Ok\r\n"));
    let (out, record) = run(server, &["--quit-after", "rcpt"]);
    assert_stopped(&out, &record, "rcpt");
}

#[test]
fn quit_after_rcpt_with_a_refused_recipient_exits_7() {
    let server = ScriptedServer::start(quit_after_rcpt_script("550 5.1.1 no such user\r\n"));
    let (out, record) = run(server, &["--quit-after", "rcpt"]);
    record.assert_clean();
    assert_exit(&out, 7);
    assert_outcome_starts(&out, "rejected: at rcpt: 550");
    assert!(!record.received_text().contains("DATA"));
}

// ---------------------------------------------------------------------------
// 8: --json
// ---------------------------------------------------------------------------

#[test]
fn json_lines_end_with_a_result() {
    let (out, record) = run(ScriptedServer::start(happy_send(1)), &["--json"]);
    record.assert_clean();
    assert_exit(&out, 0);
    let all = out.json();
    let types: Vec<&str> = all.iter().map(|v| v["type"].as_str().unwrap()).collect();
    for t in [
        "connecting",
        "connected",
        "command",
        "reply",
        "body",
        "result",
    ] {
        assert!(types.contains(&t), "no {t} event in {types:?}");
    }
    assert_eq!(types.iter().filter(|t| **t == "result").count(), 1);
    assert!(
        all.iter()
            .any(|v| v["type"] == "command" && v["line"] == "RCPT TO:<you@example.org>")
    );
    assert!(all[..all.len() - 1].iter().any(|v| v.get("t_ms").is_some()));
    let result = out.result();
    assert_eq!(result["exit_code"], i64::from(out.code));
    assert_eq!(result["status"], "accepted");
    assert_eq!(result["queue_id"], "ABC123");
    let rcpts = result["recipients"].as_array().expect("recipients array");
    assert_eq!(rcpts.len(), 1);
    assert_eq!(rcpts[0]["address"], TO);
    assert_eq!(rcpts[0]["accepted"], true);
    assert_eq!(rcpts[0]["reply"]["code"], 250);
    assert_eq!(rcpts[0]["reply"]["enhanced"], "2.1.5");
}

#[test]
fn json_result_of_a_partial_rejection() {
    let server = ScriptedServer::start(script(vec![
        plain_ehlo(),
        vec![
            expect("MAIL FROM:"),
            send("250 2.1.0 Ok\r\n"),
            expect("RCPT TO:"),
            send("250 2.1.5 Ok\r\n"),
            expect("RCPT TO:"),
            send("550 5.1.1 no such user\r\n"),
            expect("DATA"),
            send("354 go\r\n"),
            Step::ExpectData,
            send("250 2.0.0 Ok: queued as J2\r\n"),
        ],
        quit(),
    ]));
    let (out, record) = run(
        server,
        &[
            "--json",
            "--to",
            "good@example.org",
            "--to",
            "bad@example.org",
        ],
    );
    record.assert_clean();
    assert_exit(&out, 7);
    let result = out.result();
    assert_eq!(result["exit_code"], 7);
    assert_eq!(result["status"], "partially-accepted");
    let rcpts = result["recipients"].as_array().unwrap();
    assert_eq!(rcpts[0]["accepted"], true);
    assert_eq!(rcpts[1]["address"], "bad@example.org");
    assert_eq!(rcpts[1]["accepted"], false);
    assert_eq!(rcpts[1]["reply"]["code"], 550);
    assert_eq!(rcpts[1]["reply"]["enhanced"], "5.1.1");
}

#[test]
fn json_no_timing_has_no_times() {
    let (out, record) = run(
        ScriptedServer::start(happy_send(1)),
        &["--json", "--no-timing"],
    );
    record.assert_clean();
    assert_exit(&out, 0);
    for v in out.json() {
        let mut all = Vec::new();
        keys(&v, &mut all);
        assert!(!all.iter().any(|k| k == "t_ms" || k == "ms"), "time in {v}");
    }
}

#[test]
fn no_timing_outcome_has_no_elapsed_time() {
    let (out, record) = run(ScriptedServer::start(happy_send(1)), &["--no-timing"]);
    record.assert_clean();
    assert!(!out.outcome().ends_with(" ms"), "{out}");
    let (out, record) = run(
        ScriptedServer::start(happy_send(1)),
        &["--json", "--no-timing"],
    );
    record.assert_clean();
    let message = out.result()["message"].as_str().unwrap().to_owned();
    assert!(!message.ends_with(" ms"), "{message}");
}

// ---------------------------------------------------------------------------
// 9-13: terminal safety and output forms
// ---------------------------------------------------------------------------

fn hostile_rcpt_script() -> Vec<Step> {
    script(vec![
        plain_ehlo(),
        vec![
            expect("MAIL FROM:"),
            send("250 2.1.0 Ok\r\n"),
            expect("RCPT TO:"),
            send_bytes(b"550 5.1.1 \x1b[31mbad\xff\x07\r\n".to_vec()),
        ],
        quit(),
    ])
}

#[test]
fn control_sequences_in_replies_are_escaped() {
    let (out, record) = run(ScriptedServer::start(hostile_rcpt_script()), &[]);
    record.assert_clean();
    assert_exit(&out, 7);
    assert!(!out.raw_stdout.contains(&0x1b), "raw ESC on stdout\n{out}");
    assert!(!out.raw_stdout.contains(&0x07), "raw BEL on stdout\n{out}");
    assert!(
        std::str::from_utf8(&out.raw_stdout).is_ok(),
        "stdout not UTF-8"
    );
    assert_has_line_starting(&out, "<- 550 5.1.1 \\x1b[31mbad");
    assert!(out.outcome().contains("\\x1b[31mbad"), "{out}");

    let (out, record) = run(ScriptedServer::start(hostile_rcpt_script()), &["--json"]);
    record.assert_clean();
    assert_exit(&out, 7);
    assert!(!out.raw_stdout.contains(&0x1b), "raw ESC in JSON\n{out}");
    out.json();
}

#[test]
fn piped_output_has_no_colour_but_always_does() {
    let (out, record) = run(ScriptedServer::start(happy_send(1)), &["--color", "auto"]);
    record.assert_clean();
    assert_exit(&out, 0);
    assert!(!out.raw_stdout.contains(&0x1b), "colour in a pipe\n{out}");

    let server = ScriptedServer::start(happy_send(1));
    let out = send_cmd(&server.server_arg(), &[])
        .env("TERM", "xterm-256color")
        .run();
    server.finish().assert_clean();
    assert_exit(&out, 0);
    assert!(
        !out.raw_stdout.contains(&0x1b),
        "colour with TERM set\n{out}"
    );

    let (out, record) = run(ScriptedServer::start(happy_send(1)), &["--color", "always"]);
    record.assert_clean();
    assert_exit(&out, 0);
    assert!(
        out.raw_stdout.contains(&0x1b),
        "no colour with always\n{out}"
    );
}

/// Runs smtpx piped into `head -1`, reporting smtpx's own status on stderr.
fn through_head(args: &[&str]) -> (std::process::Output, Record) {
    // The delay lets `head` exit before most of the transcript is written.
    let server = ScriptedServer::start(script(vec![
        vec![
            send("220 mx.test ESMTP\r\n"),
            Step::Delay(Duration::from_millis(300)),
        ],
        happy_send(1).into_iter().skip(1).collect(),
    ]));
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"("$0" "$@"; echo "rc=$?" >&2) | head -1"#)
        .arg(env!("CARGO_BIN_EXE_smtpx"))
        .args([
            "send",
            "--server",
            &server.server_arg(),
            "--helo",
            "client.test",
            "--from",
            FROM,
            "--to",
            TO,
        ])
        .args(args)
        .env_remove("CLICOLOR_FORCE")
        .output()
        .expect("run sh");
    (out, server.finish())
}

#[test]
fn closed_stdout_is_not_a_panic() {
    for args in [&[][..], &["--json"]] {
        let (out, record) = through_head(args);
        record.assert_clean();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stdout.lines().count(), 1, "{stdout}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(stderr.contains("rc=0"), "status {args:?}: {stderr}");
    }
}

#[test]
fn timing_shows_once_per_multiline_reply() {
    let greeting = "220-mx.test first\r\n220-second\r\n220 third\r\n";
    let mut steps = vec![send(greeting)];
    steps.extend(happy_send(1).into_iter().skip(1));
    let (out, record) = run(ScriptedServer::start(steps), &[]);
    record.assert_clean();
    assert_exit(&out, 0);
    let greeting_lines: Vec<&str> = out
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("<- 220"))
        .collect();
    assert_eq!(greeting_lines.len(), 3, "{out}");
    assert!(!greeting_lines[0].contains("ms]") && !greeting_lines[1].contains("ms]"));
    assert!(greeting_lines[2].ends_with(" ms]"), "{out}");
    assert!(greeting_lines[2].starts_with("<- 220 third  ["), "{out}");

    let mut steps = vec![send(greeting)];
    steps.extend(happy_send(1).into_iter().skip(1));
    let (out, record) = run(ScriptedServer::start(steps), &["--no-timing"]);
    record.assert_clean();
    assert_exit(&out, 0);
    assert!(!out.stdout.contains("ms]"), "{out}");
    assert_has_line(&out, "<- 220 third");
}

#[test]
fn quiet_prints_only_the_outcome() {
    let (out, record) = run(ScriptedServer::start(happy_send(1)), &["-q"]);
    record.assert_clean();
    assert_exit(&out, 0);
    assert_eq!(out.lines().len(), 1, "{out}");
    assert_outcome_starts(&out, "accepted: for 1 of 1 recipient, queued as ABC123");
    assert!(out.stderr.is_empty(), "{out}");
}

#[test]
fn ipv6_literal_server() {
    if !ipv6_loopback_available() {
        eprintln!("skipped: no IPv6 loopback");
        return;
    }
    let server = ScriptedServer::start_v6(happy_send(1));
    let arg = server.server_arg();
    assert!(arg.starts_with("[::1]:"), "{arg}");
    let (out, record) = run(server, &[]);
    record.assert_clean();
    assert_exit(&out, 0);
    assert_has_line_starting(&out, &format!("*  Connected to {arg}"));
    assert_outcome_starts(&out, "accepted: for 1 of 1 recipient");
}

/// The reply to an EHLO drips in a byte at a time: the reader must reassemble it.
#[test]
fn slow_drip_reply_is_reassembled() {
    let mut steps = vec![
        send("220 mx.test ESMTP\r\n"),
        expect("EHLO"),
        drip("250-mx.test\r\n250 8BITMIME\r\n", Duration::from_millis(5)),
    ];
    steps.extend(
        through_final_dot("250 Ok: queued as D1\r\n")
            .into_iter()
            .skip(3),
    );
    let (out, record) = run(ScriptedServer::start(steps), &["--no-timing"]);
    record.assert_clean();
    assert_exit(&out, 0);
    assert_has_line(&out, "<- 250-mx.test");
    assert_has_line(&out, "<- 250 8BITMIME");
}

#[test]
fn interrupt_before_the_final_dot_commits_nothing() {
    use crate::support::scripted::{Step, expect, send};
    let mut script = crate::support::scripted::greeting_ehlo(&["PIPELINING"]);
    script.extend([
        expect("MAIL FROM:"),
        expect("RCPT TO:"),
        expect("DATA"),
        send("250 ok\r\n250 ok\r\n354 go\r\n"),
        Step::ReadUntilClose,
    ]);
    let server = ScriptedServer::start(script);
    // stdin stays open, so the body never ends; Ctrl-C is the only way out.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_smtpx"))
        .args([
            "send",
            "--server",
            &server.server_arg(),
            "--to",
            "you@example.org",
            "--data",
            "-",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::io::Write::write_all(&mut stdin, b"Subject: partial\r\n\r\nsome of the body\r\n").unwrap();
    // Wait until the body has begun to arrive, then interrupt.
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_secs(10) {
        std::thread::sleep(std::time::Duration::from_millis(50));
        let sent = std::fs::read_to_string(format!("/proc/{}/status", child.id())).is_ok();
        if sent && started.elapsed() > std::time::Duration::from_millis(500) {
            break;
        }
    }
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    let record = server.finish();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let received = record.received_text();
    assert!(received.contains("some of the body"), "{received}");
    assert!(
        !received.contains("\r\n.\r\n"),
        "the final dot was sent: {received:?}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("interrupted"));
}
