//! The testing switches swaks users reach for (issue 15): `--add-header`,
//! `--attach-name`/`--attach-type`, `--drop-after`, `--show-data`, `--output` and
//! `--tls-save-chain`, checked against real servers and the scripted one.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::certs::{CertKind, TestPki};
use crate::support::content::{file_with, path};
use crate::support::peers::{
    Aiosmtpd, AiosmtpdOptions, PostfixInstance, PostfixOptions, disconnect_lines,
};
use crate::support::run::{Out, Smtpx};
use crate::support::scripted::{
    Record, ScriptedServer, Step, ehlo_reply, expect, greeting_ehlo, send,
};
use crate::support::serve::Serve;

/// A message as Python's `email` package reads it: a parser that is not ours. Gives
/// the top-level headers in order and, per MIME leaf part, its content type, file name
/// and Content-Disposition.
fn parse_mime(message: &[u8]) -> Value {
    const SCRIPT: &str = r#"
import email, email.policy, json, sys
m = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.compat32)
parts = []
for p in m.walk():
    if p.is_multipart():
        continue
    parts.append({
        "type": p.get_content_type(),
        "filename": p.get_filename(),
        "disposition": p.get("Content-Disposition"),
        "payload": (p.get_payload(decode=True) or b"").decode("latin-1"),
    })
print(json.dumps({"headers": [[k, str(v)] for k, v in m.items()], "parts": parts}))
"#;
    let mut child = Command::new("/usr/bin/python3")
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run /usr/bin/python3");
    child.stdin.take().unwrap().write_all(message).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "python could not parse the message");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn header_values(parsed: &Value, name: &str) -> Vec<String> {
    parsed["headers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h[0].as_str().unwrap().eq_ignore_ascii_case(name))
        .map(|h| h[1].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn add_header_arrives_next_to_the_generated_one() {
    let Some(server) = Aiosmtpd::start(AiosmtpdOptions::new()) else {
        return;
    };
    let out = Smtpx::send()
        .args(&[
            "--server",
            &server.server_arg(),
            "--from",
            "me@example.org",
            "--to",
            "you@example.org",
            "--subject",
            "generated",
            "--header",
            "X-Replaced: by --header",
            "--add-header",
            "Subject: added too",
            "--add-header",
            "X-Replaced: added",
            "--add-header",
            "Date: Thu, 01 Jan 1970 00:00:00 +0000",
            "--add-header",
            "X-Trace: one",
            "--add-header",
            "X-Trace: two",
        ])
        .run();
    assert_eq!(out.code, 0, "{out}");
    let m = &server.wait_messages(1, Duration::from_secs(10))[0];
    let parsed = parse_mime(&m.content);
    assert_eq!(
        header_values(&parsed, "Subject"),
        ["generated", "added too"]
    );
    assert_eq!(
        header_values(&parsed, "X-Replaced"),
        ["by --header", "added"]
    );
    assert_eq!(header_values(&parsed, "X-Trace"), ["one", "two"]);
    let dates = header_values(&parsed, "Date");
    assert_eq!(dates.len(), 2, "{dates:?}");
    assert_eq!(dates[1], "Thu, 01 Jan 1970 00:00:00 +0000");
    assert_eq!(header_values(&parsed, "Message-ID").len(), 1);
    assert_eq!(header_values(&parsed, "To"), ["<you@example.org>"]);
}

#[test]
fn add_header_injection_is_a_usage_error() {
    for bad in [
        "X-A: b\r\nBcc: evil@example.org",
        "X-A: b\nBcc: x",
        "No colon",
        "Bad Name: x",
    ] {
        let out = Smtpx::send()
            .args(&[
                "-s",
                "127.0.0.1:9",
                "--to",
                "you@example.org",
                "--add-header",
                bad,
            ])
            .run();
        assert_eq!(out.code, 2, "{bad:?}: {out}");
        assert!(out.stderr.contains("invalid --add-header"), "{out}");
        assert!(!out.stderr.contains("Connecting"), "{out}");
    }
}

#[test]
fn attach_name_and_type_follow_swaks_rules() {
    let Some(server) = Aiosmtpd::start(AiosmtpdOptions::new()) else {
        return;
    };
    let a = file_with(b"first file");
    let b = file_with(b"second file");
    let c = file_with(b"third file");
    let out = Smtpx::send()
        .args(&[
            "--server",
            &server.server_arg(),
            "--from",
            "me@example.org",
            "--to",
            "you@example.org",
            // A name applies to the next --attach only; its type follows the name.
            "--attach-name",
            "report.pdf",
            "--attach",
            &path(&a),
            // A type applies to every --attach after it.
            "--attach-type",
            "Text/X-Log",
            "--attach-name",
            "--attach",
            &path(&b),
            "--attach",
            &path(&c),
        ])
        .run();
    assert_eq!(out.code, 0, "{out}");
    let m = &server.wait_messages(1, Duration::from_secs(10))[0];
    let parsed = parse_mime(&m.content);
    let parts = parsed["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 4, "{parsed}");
    assert_eq!(parts[0]["type"], "text/plain");
    assert_eq!(parts[1]["type"], "application/pdf");
    assert_eq!(parts[1]["filename"], "report.pdf");
    assert_eq!(parts[1]["payload"], "first file");
    assert_eq!(parts[2]["type"], "text/x-log");
    assert_eq!(
        parts[2]["filename"],
        Value::Null,
        "--attach-name without a name"
    );
    assert_eq!(parts[2]["disposition"], "attachment");
    assert_eq!(parts[2]["payload"], "second file");
    let own_name = std::path::Path::new(&path(&c))
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert_eq!(parts[3]["type"], "text/x-log");
    assert_eq!(parts[3]["filename"], own_name.as_str());
    assert_eq!(parts[3]["payload"], "third file");
}

#[test]
fn attach_name_or_type_with_nothing_to_apply_to_is_a_usage_error() {
    let a = file_with(b"x");
    let a = path(&a);
    for (args, words) in [
        (vec!["--attach", &a, "--attach-name", "x.pdf"], "none does"),
        (
            vec!["--attach", &a, "--attach-type", "text/plain"],
            "none does",
        ),
        (
            vec!["--attach-type", "pdf", "--attach", &a],
            "not a MIME type",
        ),
        (
            vec!["--attach-type", "text/plain\r\nBcc: x", "--attach", &a],
            "not a MIME type",
        ),
        (
            vec!["--attach-name", "a\r\nBcc: x", "--attach", &a],
            "control character",
        ),
        (
            vec!["--attach-name", "../x", "--attach", &a],
            "path separator",
        ),
    ] {
        let out = Smtpx::send()
            .args(&["-s", "127.0.0.1:9", "--to", "you@example.org"])
            .args(&args)
            .run();
        assert_eq!(out.code, 2, "{args:?}: {out}");
        assert!(out.stderr.contains(words), "{args:?}: {out}");
    }
}

// ---------------------------------------------------------------- --drop-after

fn drop_run(server: ScriptedServer, args: &[&str]) -> (Out, Record) {
    let addr = server.server_arg();
    let out = Smtpx::send()
        .args(&[
            "-s",
            &addr,
            "--helo",
            "client.test",
            "--from",
            "me@example.org",
        ])
        .args(args)
        .run();
    (out, server.finish())
}

/// The server saw the session end right after `step`, with no QUIT, and smtpx says so.
fn assert_dropped(out: &Out, record: &Record, step: &str) {
    record.assert_clean();
    assert!(
        !record.received_text().contains("QUIT"),
        "QUIT was sent:\n{out}"
    );
    assert!(
        out.stdout.contains(&format!(
            "Closing the connection without QUIT (--drop-after {step})"
        )),
        "{out}"
    );
}

fn assert_stopped(out: &Out, step: &str) {
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(
        out.outcome(),
        format!(
            "stopped: after {step} as asked (--drop-after): the connection was closed without QUIT; no message was sent"
        ),
        "{out}"
    );
}

fn envelope_until(step: &str) -> Vec<Step> {
    let mut script = greeting_ehlo(&["8BITMIME"]);
    script.extend([
        expect("MAIL FROM:<me@example.org>"),
        send("250 2.1.0 Ok\r\n"),
    ]);
    if step == "mail" {
        return script;
    }
    script.extend([
        expect("RCPT TO:<you@example.org>"),
        send("250 2.1.5 Ok\r\n"),
    ]);
    if step == "rcpt" {
        return script;
    }
    script.extend([expect("DATA"), send("354 go ahead\r\n")]);
    script
}

#[test]
fn drop_after_each_step_closes_without_quit() {
    let pki = TestPki::new();
    let tls = |pki: &TestPki| {
        let mut s = greeting_ehlo(&["STARTTLS"]);
        s.extend([
            expect("STARTTLS"),
            send("220 2.0.0 go ahead\r\n"),
            Step::StartTls(pki.server_config(CertKind::Valid)),
            expect("EHLO"),
            Step::Send(ehlo_reply("mx.test", &["AUTH PLAIN"])),
        ]);
        s
    };
    let ca = pki.ca_pem_path.display().to_string();
    let tls_args = [
        "--tls",
        "starttls",
        "--tls-ca",
        &ca,
        "--tls-server-name",
        "localhost",
    ];
    let cases: Vec<(&str, Vec<Step>, Vec<&str>)> = vec![
        ("connect", vec![], vec![]),
        ("greeting", vec![send("220 mx.test ESMTP\r\n")], vec![]),
        ("ehlo", greeting_ehlo(&["PIPELINING"]), vec![]),
        ("tls", tls(&pki), tls_args.to_vec()),
        (
            "auth",
            [
                tls(&pki),
                vec![expect("AUTH PLAIN"), send("235 2.7.0 ok\r\n")],
            ]
            .concat(),
            [
                &tls_args[..],
                &["--user", "tim", "--password-env", "SMTPX_TEST_PW"],
            ]
            .concat(),
        ),
        (
            "mail",
            envelope_until("mail"),
            vec!["--to", "you@example.org"],
        ),
        (
            "rcpt",
            envelope_until("rcpt"),
            vec!["--to", "you@example.org"],
        ),
        (
            "data",
            envelope_until("data"),
            vec!["--to", "you@example.org"],
        ),
    ];
    for (step, mut script, extra) in cases {
        script.push(Step::ReadUntilClose);
        let server = ScriptedServer::start(script);
        let addr = server.server_arg();
        let out = Smtpx::send()
            .args(&[
                "-s",
                &addr,
                "--helo",
                "client.test",
                "--from",
                "me@example.org",
            ])
            .args(&["--drop-after", step])
            .args(&extra)
            .env("SMTPX_TEST_PW", "secret")
            .run();
        let record = server.finish();
        assert_dropped(&out, &record, step);
        assert_stopped(&out, step);
        match step {
            "connect" | "greeting" => assert!(record.received.is_empty(), "{step}: {out}"),
            "mail" => assert!(!record.received_text().contains("RCPT"), "{out}"),
            "rcpt" => assert!(!record.received_text().contains("DATA"), "{out}"),
            "data" => assert!(record.received_text().ends_with("DATA\r\n"), "{out}"),
            _ => {}
        }
    }
}

#[test]
fn drop_after_data_with_pipelining_stops_at_the_354() {
    let mut script = greeting_ehlo(&["PIPELINING", "CHUNKING"]);
    script.extend([
        expect("MAIL FROM:"),
        expect("RCPT TO:"),
        expect("DATA"),
        send("250 ok\r\n250 ok\r\n354 go\r\n"),
        Step::ReadUntilClose,
    ]);
    let (out, record) = drop_run(
        ScriptedServer::start(script),
        &[
            "--to",
            "you@example.org",
            "--drop-after",
            "DATA",
            "--chunking",
        ],
    );
    assert_dropped(&out, &record, "data");
    assert_stopped(&out, "data");
    assert!(record.received_text().ends_with("DATA\r\n"), "{out}");
}

#[test]
fn drop_after_dot_sends_the_message_and_no_quit() {
    let mut script = envelope_until("data");
    script.extend([
        Step::ExpectData,
        send("250 2.0.0 Ok: queued as DROP1\r\n"),
        Step::ReadUntilClose,
    ]);
    let (out, record) = drop_run(
        ScriptedServer::start(script),
        &["--to", "you@example.org", "--drop-after", "dot", "--json"],
    );
    assert_eq!(out.code, 0, "{out}");
    record.assert_clean();
    assert!(!record.received_text().contains("QUIT"), "{out}");
    assert_eq!(record.data.len(), 1);
    let result = out.result();
    assert_eq!(result["status"], "accepted", "{out}");
    assert_eq!(result["queue_id"], "DROP1");
    assert_eq!(result["dropped"], true);
    assert!(
        out.json().iter().any(|e| e["type"] == "note"
            && e["message"] == "Closing the connection without QUIT (--drop-after dot)"),
        "{out}"
    );
}

#[test]
fn drop_after_never_quits_even_when_refused_first() {
    let mut script = greeting_ehlo(&[]);
    script.extend([
        expect("MAIL FROM:"),
        send("250 ok\r\n"),
        expect("RCPT TO:"),
        send("550 5.1.1 no such user\r\n"),
        Step::ReadUntilClose,
    ]);
    let (out, record) = drop_run(
        ScriptedServer::start(script),
        &["--to", "you@example.org", "--drop-after", "dot"],
    );
    assert_eq!(out.code, 7, "{out}");
    assert_dropped(&out, &record, "dot");
    assert!(out.outcome().starts_with("rejected: at rcpt: 550"), "{out}");
}

#[test]
fn drop_after_steps_that_cannot_happen_are_usage_errors() {
    for (args, words) in [
        (
            &["--drop-after", "auth"][..],
            "--drop-after auth needs --user",
        ),
        (
            &["--drop-after", "tls", "--tls", "none"],
            "--drop-after tls with --tls none",
        ),
        (&["--drop-after", "data"], "--to is required"),
        (&["--drop-after", "dot"], "--to is required"),
        (
            &[
                "--drop-after",
                "rcpt",
                "--quit-after",
                "rcpt",
                "--to",
                "a@b.example",
            ],
            "cannot be used with",
        ),
        (
            &["--drop-after", "later", "--to", "a@b.example"],
            "invalid value",
        ),
    ] {
        let out = Smtpx::send().args(&["-s", "127.0.0.1:9"]).args(args).run();
        assert_eq!(out.code, 2, "{args:?}: {out}");
        assert!(out.stderr.contains(words), "{args:?}: {out}");
    }
}

fn log_lost(postfix: &PostfixInstance) -> usize {
    postfix.maillog().matches("lost connection after").count()
}

/// Postfix's own log says how each session ended: `lost connection after STEP`, and a
/// `disconnect from` line with no `quit=` count.
#[test]
fn postfix_logs_each_dropped_session_as_lost() {
    let Some(postfix) = PostfixInstance::start(PostfixOptions::new().users(&["you"])) else {
        return;
    };
    let steps = [
        ("greeting", Some("CONNECT")),
        ("ehlo", Some("EHLO")),
        ("mail", Some("MAIL")),
        ("rcpt", Some("RCPT")),
        ("data", Some("DATA (0 bytes)")),
        // A transaction is over after its reply: Postfix calls nothing lost then.
        ("dot", None),
    ];
    for (n, (step, postfix_step)) in steps.iter().enumerate() {
        let out = Smtpx::send()
            .args(&["-s", &postfix.server_arg(), "--helo", "client.test"])
            .args(&["--from", "me@example.test", "--to", "you@example.test"])
            .args(&["--tls", "none", "--drop-after", step])
            .run();
        assert_eq!(out.code, 0, "{step}: {out}");
        let log = postfix.maillog_after_sessions(n + 1);
        let disconnects = disconnect_lines(&log);
        let last = disconnects
            .get(n)
            .unwrap_or_else(|| panic!("{step}: no disconnect line {n} in\n{log}"));
        assert!(!last.contains("quit="), "{step}: {last}");
        if let Some(postfix_step) = postfix_step {
            let lost = format!("lost connection after {postfix_step} from");
            assert_eq!(
                log.matches(&lost).count(),
                1,
                "{step}: no {lost:?} in\n{log}"
            );
        } else {
            assert!(last.contains(" data=1 "), "{step}: {last}");
        }
    }
    assert_eq!(log_lost(&postfix), steps.len() - 1);
    assert_eq!(
        postfix.delivered(Duration::from_secs(10)).len(),
        1,
        "only dot sends"
    );
}

// ---------------------------------------------------------------- --show-data

/// Content with a dot line, an escape sequence, a tab and no final line break.
const SHOWN: &[u8] = b"Subject: shown\r\n\r\nline one\r\n.dot line\r\n\x1b[31mred\there\r\nlast";

fn data_server() -> ScriptedServer {
    let mut script = envelope_until("data");
    script.extend([
        Step::ExpectData,
        send("250 2.0.0 Ok: queued as SHOWN\r\n"),
        expect("QUIT"),
        send("221 bye\r\n"),
        Step::Close,
    ]);
    ScriptedServer::start(script)
}

#[test]
fn show_data_prints_each_line_escaped() {
    let file = file_with(SHOWN);
    let (out, record) = drop_run(
        data_server(),
        &[
            "--to",
            "you@example.org",
            "--data",
            &path(&file),
            "--show-data",
        ],
    );
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    let lines = out.lines();
    let at = lines.iter().position(|l| *l == "<- 354 go ahead").unwrap();
    assert_eq!(
        lines[at + 1..at + 8],
        [
            "-> Subject: shown",
            "->",
            "-> line one",
            "-> .dot line",
            "-> \\x1b[31mred\\there",
            "-> last",
            "-> [message: 58 bytes, 6 lines, 1 dot-stuffed]",
        ],
        "{out}"
    );
    assert_eq!(lines[at + 8], "-> .");
    assert!(!out.raw_stdout.contains(&0x1b), "{out}");
    assert_eq!(
        record.data[0],
        b"Subject: shown\r\n\r\nline one\r\n..dot line\r\n\x1b[31mred\there\r\nlast\r\n"
    );

    let (plain, _) = drop_run(
        data_server(),
        &["--to", "you@example.org", "--data", &path(&file)],
    );
    assert!(!plain.stdout.contains("line one"), "{plain}");
    assert!(plain.stdout.contains("-> [message: 58 bytes"), "{plain}");
}

#[test]
fn show_data_in_json_rides_on_the_body_event() {
    let file = file_with(SHOWN);
    let shown = path(&file);
    for show in [true, false] {
        let mut args = vec!["--to", "you@example.org", "--data", &shown, "--json"];
        if show {
            args.push("--show-data");
        }
        let (out, record) = drop_run(data_server(), &args);
        record.assert_clean();
        assert_eq!(out.code, 0, "{out}");
        let events = out.json();
        assert!(events.iter().all(|e| e["type"] != "content"), "{out}");
        let body = events.iter().find(|e| e["type"] == "body").unwrap();
        if show {
            assert_eq!(
                body["data"],
                serde_json::json!([
                    "Subject: shown",
                    "",
                    "line one",
                    ".dot line",
                    "\u{1b}[31mred\there",
                    "last"
                ]),
                "{out}"
            );
        } else {
            assert!(body.get("data").is_none(), "{out}");
        }
    }
}

#[test]
fn show_data_with_bdat() {
    let mut script = greeting_ehlo(&["CHUNKING"]);
    script.extend([
        expect("MAIL FROM:"),
        send("250 ok\r\n"),
        expect("RCPT TO:"),
        send("250 ok\r\n"),
        expect("BDAT 20 LAST"),
        Step::ExpectBytes(20),
        send("250 2.0.0 Ok: queued as BDAT1\r\n"),
        expect("QUIT"),
        send("221 bye\r\n"),
        Step::Close,
    ]);
    let file = file_with(b"Subject: b\r\n\r\nbody\r\n");
    let (out, record) = drop_run(
        ScriptedServer::start(script),
        &[
            "--to",
            "you@example.org",
            "--data",
            &path(&file),
            "--chunking",
            "--show-data",
        ],
    );
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    let lines = out.lines();
    let at = lines
        .iter()
        .position(|l| *l == "-> BDAT 20 LAST")
        .expect("BDAT sent");
    assert_eq!(
        lines[at + 1..at + 4],
        ["-> Subject: b", "->", "-> body"],
        "the content follows its BDAT line:\n{out}"
    );
    assert!(out.stdout.contains("1 BDAT chunk]"), "{out}");
    assert!(!lines.contains(&"-> ."), "BDAT has no dot: {out}");
    let bdat_lines = lines.iter().filter(|l| **l == "-> BDAT 20 LAST").count();
    assert_eq!(bdat_lines, 1, "the command line is not content: {out}");
}

#[test]
fn show_data_with_pipelined_bdat_follows_the_bdat_line() {
    let mut script = greeting_ehlo(&["CHUNKING", "PIPELINING"]);
    script.extend([
        expect("MAIL FROM:"),
        expect("RCPT TO:"),
        expect("BDAT 20 LAST"),
        Step::ExpectBytes(20),
        send("250 ok\r\n250 ok\r\n250 2.0.0 Ok: queued as BDAT2\r\n"),
        expect("QUIT"),
        send("221 bye\r\n"),
        Step::Close,
    ]);
    let file = file_with(b"Subject: b\r\n\r\nbody\r\n");
    let (out, record) = drop_run(
        ScriptedServer::start(script),
        &[
            "--to",
            "you@example.org",
            "--data",
            &path(&file),
            "--chunking",
            "--show-data",
        ],
    );
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    let lines = out.lines();
    let mail = lines
        .iter()
        .position(|l| l.starts_with("-> MAIL FROM:"))
        .unwrap();
    let bdat = lines.iter().position(|l| *l == "-> BDAT 20 LAST").unwrap();
    let subject = lines.iter().position(|l| *l == "-> Subject: b").unwrap();
    assert!(mail < bdat && bdat < subject, "{out}");
    let bdat_lines = lines.iter().filter(|l| **l == "-> BDAT 20 LAST").count();
    assert_eq!(bdat_lines, 1, "{out}");
}

#[test]
fn postfix_receives_what_show_data_showed() {
    let Some(postfix) = PostfixInstance::start(PostfixOptions::new().users(&["you"])) else {
        return;
    };
    let out = Smtpx::send()
        .args(&[
            "-s",
            &postfix.server_arg(),
            "--helo",
            "client.test",
            "--tls",
            "none",
        ])
        .args(&["--from", "me@example.test", "--to", "you@example.test"])
        .args(&[
            "--subject",
            "shown to postfix",
            "--body",
            "first\n.second\nthird\n",
        ])
        .args(&["--show-data"])
        .run();
    assert_eq!(out.code, 0, "{out}");
    for line in [
        "-> Subject: shown to postfix",
        "-> first",
        "-> .second",
        "-> third",
    ] {
        assert!(out.lines().contains(&line), "no {line:?} in\n{out}");
    }
    let delivered = postfix.delivered(Duration::from_secs(10));
    let text = String::from_utf8_lossy(&delivered[0]);
    assert!(text.contains("\n.second\n"), "{text}");
    assert!(text.contains("Subject: shown to postfix\n"), "{text}");
}

// ---------------------------------------------------------------- --output

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn output_copies_the_transcript_without_colour() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("transcript.txt");
    let message = file_with(SHOWN);
    let (out, record) = drop_run(
        data_server(),
        &[
            "--to",
            "you@example.org",
            "--data",
            &path(&message),
            "--show-data",
            "--color",
            "always",
            "--output",
            copy.to_str().unwrap(),
        ],
    );
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    assert!(out.raw_stdout.contains(&0x1b), "colour on stdout: {out}");
    let written = std::fs::read(&copy).unwrap();
    assert!(
        !written.contains(&0x1b),
        "no colour, no raw escape in the file"
    );
    let text = String::from_utf8(written).unwrap();
    assert!(text.contains("-> \\x1b[31mred\\there\n"), "{text}");
    assert!(
        text.contains("<- 250 2.0.0 Ok: queued as SHOWN\n"),
        "{text}"
    );
    assert!(
        text.ends_with("accepted: for 1 of 1 recipient, queued as SHOWN\n"),
        "{text}"
    );
    assert_eq!(mode(&copy), 0o600);
}

#[test]
fn output_with_quiet_holds_the_whole_transcript_and_its_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("quiet.txt");
    let (out, record) = drop_run(
        data_server(),
        &[
            "--to",
            "you@example.org",
            "-q",
            "--dsn-notify",
            "failure",
            "--output-file",
            copy.to_str().unwrap(),
        ],
    );
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(out.lines().len(), 1, "{out}");
    let text = std::fs::read_to_string(&copy).unwrap();
    assert!(text.contains("-> MAIL FROM:<me@example.org>"), "{text}");
    assert!(
        text.contains("warning: the server does not offer DSN"),
        "{text}"
    );
    assert!(text.ends_with(&format!("{}\n", out.outcome())), "{text}");
}

#[test]
fn output_with_json_holds_the_same_lines() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("run.jsonl");
    let (out, _) = drop_run(
        data_server(),
        &[
            "--to",
            "you@example.org",
            "--json",
            "--output",
            copy.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, 0, "{out}");
    let text = std::fs::read_to_string(&copy).unwrap();
    assert_eq!(text, out.stdout);
}

#[test]
fn output_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let existing = dir.path().join("existing");
    std::fs::write(&existing, "keep me").unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(dir.path().join("target"), &link).unwrap();
    for (file, words) in [
        (existing.to_str().unwrap(), "the file exists"),
        (link.to_str().unwrap(), "the file exists"),
        ("/nonexistent-dir/x", "--output /nonexistent-dir/x"),
        ("-", "already goes to stdout"),
    ] {
        let out = Smtpx::send()
            .args(&[
                "-s",
                "127.0.0.1:9",
                "--to",
                "you@example.org",
                "--output",
                file,
            ])
            .run();
        assert_eq!(out.code, 2, "{file}: {out}");
        assert!(out.stderr.contains(words), "{file}: {out}");
        assert!(!out.stdout.contains("Connecting"), "{out}");
    }
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "keep me");
    assert!(!dir.path().join("target").exists());
}

#[test]
fn postfix_session_lands_in_the_output_file() {
    let Some(postfix) = PostfixInstance::start(PostfixOptions::new().users(&["you"])) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("postfix.txt");
    let out = Smtpx::send()
        .args(&[
            "-s",
            &postfix.server_arg(),
            "--helo",
            "client.test",
            "--tls",
            "none",
        ])
        .args(&[
            "--from",
            "me@example.test",
            "--to",
            "you@example.test",
            "-q",
        ])
        .args(&["--body", "tab\there\n", "--show-data"])
        .args(&["--output", copy.to_str().unwrap()])
        .run();
    assert_eq!(out.code, 0, "{out}");
    let text = std::fs::read_to_string(&copy).unwrap();
    assert_eq!(mode(&copy), 0o600);
    assert!(text.contains("<- 220 "), "{text}");
    assert!(text.contains("-> tab\\there\n"), "{text}");
    assert!(text.contains("<- 221 "), "{text}");
    assert!(text.ends_with(&format!("{}\n", out.outcome())), "{text}");
    assert!(out.outcome().contains("queued as"), "{out}");
}

// ---------------------------------------------------------------- --tls-save-chain

/// The certificates of a PEM file, DER, in order.
fn pem_chain(path: &std::path::Path) -> Vec<Vec<u8>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    CertificateDer::pem_file_iter(path)
        .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()))
        .map(|c| c.unwrap().as_ref().to_vec())
        .collect()
}

fn tls_script(pki: &TestPki, kind: CertKind) -> Vec<Step> {
    let mut script = greeting_ehlo(&["STARTTLS"]);
    script.extend([
        expect("STARTTLS"),
        send("220 2.0.0 go ahead\r\n"),
        Step::StartTls(pki.server_config(kind)),
    ]);
    script
}

#[test]
fn save_chain_keeps_an_unverified_chain() {
    let pki = TestPki::new();
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("chain.pem");
    let mut script = tls_script(&pki, CertKind::Valid);
    script.push(Step::ReadUntilClose);
    let server = ScriptedServer::start(script);
    // No --tls-ca: the test CA is unknown, verification fails, the chain is kept.
    let out = Smtpx::send()
        .args(&[
            "-s",
            &server.server_arg(),
            "--tls",
            "starttls",
            "--quit-after",
            "tls",
        ])
        .args(&["--tls-save-chain", saved.to_str().unwrap()])
        .run();
    server.finish().assert_clean();
    assert_eq!(out.code, 5, "{out}");
    let (leaf_pem, _) = pki.leaf_pem(CertKind::Valid);
    let presented = pem_chain(&leaf_pem);
    assert!(!presented.is_empty());
    assert_eq!(pem_chain(&saved), presented, "leaf first, as presented");
    let text = std::fs::read_to_string(&saved).unwrap();
    assert!(text.starts_with("# 127.0.0.1 (127.0.0.1:"), "{text}");
}

#[test]
fn save_chain_without_a_handshake_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("chain.pem");
    let mut script = greeting_ehlo(&[]);
    script.extend([expect("QUIT"), send("221 bye\r\n"), Step::Close]);
    let server = ScriptedServer::start(script);
    let out = Smtpx::send()
        .args(&["-s", &server.server_arg(), "--quit-after", "ehlo"])
        .args(&["--tls-save-chain", saved.to_str().unwrap()])
        .run();
    server.finish().assert_clean();
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stderr
            .contains("no TLS handshake happened, so no chain was written"),
        "{out}"
    );
    assert!(!saved.exists());
    for bad in [dir.path().to_str().unwrap(), "/nonexistent-dir/chain.pem"] {
        let out = Smtpx::send()
            .args(&[
                "-s",
                "127.0.0.1:9",
                "--quit-after",
                "ehlo",
                "--tls-save-chain",
                bad,
            ])
            .run();
        assert_eq!(out.code, 2, "{out}");
        assert!(out.stderr.contains("--tls-save-chain"), "{out}");
    }
}

#[test]
fn save_chain_from_smtpx_serve_matches_its_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("serve-cert.pem");
    let saved = dir.path().join("chain.pem");
    let server = Serve::start(&[
        "--tls-self-signed",
        "--tls-cert-out",
        cert.to_str().unwrap(),
        "--discard",
    ]);
    for verb in ["send", "check"] {
        let _ = std::fs::remove_file(&saved);
        let mut cmd = Smtpx::new()
            .arg(verb)
            .args(&["--no-timing", "--timeout", "30s"]);
        cmd = match verb {
            "send" => cmd.args(&["-s", &server.server_arg(), "--quit-after", "tls"]),
            _ => cmd.arg(server.server_arg()),
        };
        let out = cmd
            .args(&["--tls-save-chain", saved.to_str().unwrap()])
            .run();
        assert!(out.code != 2, "{verb}: {out}");
        assert!(saved.exists(), "{verb}: {out}");
        assert_eq!(pem_chain(&saved), pem_chain(&cert), "{verb}: {out}");
    }
}

#[test]
fn save_chain_from_postfix_starttls() {
    let pki = TestPki::new();
    let (cert, key) = pki.leaf_pem(CertKind::Valid);
    let Some(postfix) = PostfixInstance::start(PostfixOptions::new().tls(&cert, &key)) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("postfix.pem");
    let ca = pki.ca_pem_path.display().to_string();
    let out = Smtpx::send()
        .args(&[
            "-s",
            &postfix.server_arg(),
            "--tls",
            "starttls",
            "--quit-after",
            "tls",
        ])
        .args(&["--tls-ca", &ca, "--tls-server-name", "localhost"])
        .args(&["--tls-save-chain", saved.to_str().unwrap()])
        .run();
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(pem_chain(&saved), pem_chain(&cert));
    let check_saved = dir.path().join("check.pem");
    let out = Smtpx::new()
        .args(&[
            "check",
            &postfix.server_arg(),
            "--no-timing",
            "--tls-ca",
            &ca,
        ])
        .args(&["--tls-server-name", "localhost"])
        .args(&["--tls-save-chain", check_saved.to_str().unwrap()])
        .run();
    assert!(out.code == 0 || out.code == 7, "{out}");
    assert_eq!(pem_chain(&check_saved), pem_chain(&cert), "{out}");
}

// ------------------------------------------- --output and --tls-save-chain beyond send

#[test]
fn vrfy_and_size_keep_their_reports_in_the_output_file() {
    let Some(postfix) = PostfixInstance::start(PostfixOptions::new().users(&["you"])) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("vrfy.txt");
    let out = Smtpx::new()
        .args(&["vrfy", "-s", &postfix.server_arg(), "--no-timing", "-q"])
        .args(&["you@example.test", "nobody@example.test"])
        .args(&["--output", copy.to_str().unwrap()])
        .run();
    assert_eq!(out.code, 7, "{out}");
    assert_eq!(
        out.lines().len(),
        1,
        "-q: only the outcome on stdout\n{out}"
    );
    let text = std::fs::read_to_string(&copy).unwrap();
    assert_eq!(mode(&copy), 0o600);
    assert!(text.contains("-> VRFY you@example.test"), "{text}");
    assert!(text.contains("<- 252 "), "{text}");
    assert!(text.contains("<- 550 "), "{text}");
    assert!(text.ends_with(&format!("{}\n", out.outcome())), "{text}");

    let copy = dir.path().join("size.jsonl");
    let out = Smtpx::new()
        .args(&["size", &postfix.server_arg(), "--no-timing", "--json"])
        .args(&["--output", copy.to_str().unwrap()])
        .run();
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(std::fs::read_to_string(&copy).unwrap(), out.stdout);
    assert!(out.json().iter().any(|e| e["type"] == "size"), "{out}");
}

#[test]
fn check_keeps_its_screen_and_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("serve-cert.pem");
    let server = Serve::start(&[
        "--tls-self-signed",
        "--tls-cert-out",
        cert.to_str().unwrap(),
        "--discard",
    ]);
    let copy = dir.path().join("check.txt");
    let chain = dir.path().join("check.pem");
    let out = Smtpx::new()
        .args(&["check", &server.server_arg(), "--no-timing", "-q"])
        .args(&["--output", copy.to_str().unwrap()])
        .args(&["--tls-save-chain", chain.to_str().unwrap()])
        .run();
    assert_eq!(out.lines().len(), 1, "{out}");
    let text = std::fs::read_to_string(&copy).unwrap();
    assert!(text.contains("STARTTLS"), "{text}");
    assert!(
        text.contains("fail"),
        "a self-signed certificate fails: {text}"
    );
    assert!(text.ends_with(&format!("{}\n", out.outcome())), "{text}");
    assert_eq!(pem_chain(&chain), pem_chain(&cert));
}
