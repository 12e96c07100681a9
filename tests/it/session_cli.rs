//! `smtpx session` with scripted stdin: the user's lines against the scripted server
//! (and, in `session_interop`, real peers).

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::certs::{CertKind, TestPki};
use crate::support::run::{HANG_GUARD, Out, Smtpx};
use crate::support::scripted::{
    ScriptedServer, Step, ehlo_reply, expect, fin_wait_options, greeting_ehlo, happy_send,
    quit_reply_after_fin, send,
};

/// `smtpx session -s SERVER --no-timing --timeout 30s ARGS` with `stdin` typed.
fn session(server: &str, args: &[&str], stdin: &str) -> Out {
    Smtpx::new()
        .args(&["session", "-s", server, "--no-timing", "--timeout", "30s"])
        .args(args)
        .stdin(stdin.as_bytes().to_vec())
        .run()
}

fn assert_has(out: &Out, wants: &[&str]) {
    for want in wants {
        assert!(out.all().contains(want), "missing {want:?} in\n{out}");
    }
}

#[test]
fn a_typed_delivery_is_dot_stuffed_and_ends_with_221() {
    let server = ScriptedServer::start(happy_send(1));
    let typed = "EHLO client.test\nMAIL FROM:<me@example.org>\nRCPT TO:<you@example.org>\nDATA\nSubject: hi\n\n.hidden line\n..two dots\nend\n.\nQUIT\n";
    let out = session(&server.server_arg(), &["--tls", "none"], typed);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(
        String::from_utf8_lossy(&record.data[0]),
        "Subject: hi\r\n\r\n..hidden line\r\n...two dots\r\nend\r\n"
    );
    assert_has(
        &out,
        &[
            "<- 220 mx.test ESMTP scripted",
            "-> EHLO client.test",
            "*  PIPELINING: commands may be sent in batches (RFC 2920)",
            "*  SIZE 10240000: messages up to 10240000 bytes (9.8 MiB) (RFC 1870)",
            "<- 354 End data",
            "-> [message: 46 bytes, 5 lines, 2 dot-stuffed]",
            "<- 250 2.0.0 Ok: queued as ABC123",
            "<- 221 2.0.0 Bye",
            "ok: session ended after 221 Bye",
        ],
    );
}

#[test]
fn end_of_input_sends_quit_and_json_gives_the_events() {
    let mut script = greeting_ehlo(&["8BITMIME"]);
    script.extend([expect("QUIT"), send("221 2.0.0 Bye\r\n"), Step::Close]);
    let server = ScriptedServer::start(script);
    let out = session(
        &server.server_arg(),
        &["--tls", "none", "--json"],
        "EHLO client.test\n",
    );
    server.finish().assert_clean();
    assert_eq!(out.code, 0, "{out}");
    let events = out.json();
    let sent: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "command")
        .filter_map(|e| e["line"].as_str())
        .collect();
    assert_eq!(sent, ["EHLO client.test", "QUIT"], "{out}");
    let result = out.result();
    assert_eq!(result["exit_code"], 0);
    assert_eq!(result["last_code"], 221);
}

#[test]
fn a_typo_in_a_slash_command_is_never_sent() {
    let script = vec![
        send("220 mx.test ESMTP\r\n"),
        expect("QUIT"),
        send("221 Bye\r\n"),
        Step::Close,
    ];
    let server = ScriptedServer::start(script);
    let out = session(&server.server_arg(), &["--tls", "none"], "/hepl\n/quit\n");
    let record = server.finish();
    record.assert_clean();
    assert_eq!(record.commands, ["QUIT"]);
    assert_eq!(out.code, 0, "{out}");
    assert_has(&out, &["unknown command /hepl; did you mean /help?"]);
}

#[test]
fn help_and_caps_are_answered_by_smtpx() {
    let mut script = greeting_ehlo(&["STARTTLS", "ENHANCEDSTATUSCODES"]);
    script.extend([expect("QUIT"), send("221 Bye\r\n"), Step::Close]);
    let server = ScriptedServer::start(script);
    let out = session(
        &server.server_arg(),
        &["--tls", "none"],
        "/caps\n/help\nEHLO client.test\n/caps\n",
    );
    server.finish().assert_clean();
    assert_eq!(out.code, 0, "{out}");
    assert_has(
        &out,
        &[
            "No EHLO on this connection yet",
            "/reconnect",
            "STARTTLS: upgrade to TLS (RFC 3207)",
            "ENHANCEDSTATUSCODES: enhanced status codes",
        ],
    );
}

#[test]
fn negative_replies_are_explained() {
    let mut script = greeting_ehlo(&["ENHANCEDSTATUSCODES"]);
    script.extend([
        expect("RCPT TO:<nobody@example.org>"),
        send("550 5.1.1 <nobody@example.org>: Recipient address rejected\r\n"),
        expect("QUIT"),
        send("221 Bye\r\n"),
        Step::Close,
    ]);
    let server = ScriptedServer::start(script);
    let out = session(
        &server.server_arg(),
        &["--tls", "none"],
        "EHLO c.test\nRCPT TO:<nobody@example.org>\n",
    );
    server.finish().assert_clean();
    assert_has(
        &out,
        &[
            "*  550: mailbox unavailable or action refused (no such user, or policy); 5.1.1: bad destination mailbox address",
        ],
    );
}

/// A typed QUIT is followed by a FIN on plain TCP, so a server that answers QUIT only
/// once the client has closed (Exim before 4.99) answers at once; the server gives up
/// after 5 s, which the record would show.
#[test]
fn a_typed_quit_is_followed_by_a_fin() {
    let mut script = greeting_ehlo(&[]);
    script.push(expect("QUIT"));
    script.extend(quit_reply_after_fin());
    let server = ScriptedServer::start_with(fin_wait_options(), vec![script]);
    let out = session(
        &server.server_arg(),
        &["--tls", "none"],
        "EHLO c.test\nQUIT\n",
    );
    server.finish().assert_clean();
    assert_eq!(out.code, 0, "{out}");
    assert_has(&out, &["<- 221 exim.example.test closing connection"]);
}

#[test]
fn the_last_reply_decides_the_exit_code_when_there_is_no_221() {
    let mut script = greeting_ehlo(&[]);
    script.extend([expect("QUIT"), send("554 5.3.0 no\r\n"), Step::Close]);
    let server = ScriptedServer::start(script);
    let out = session(&server.server_arg(), &["--tls", "none"], "EHLO c.test\n");
    server.finish().assert_clean();
    assert_eq!(out.code, 7, "{out}");
}

#[test]
fn input_ending_inside_data_never_sends_the_dot() {
    let mut script = greeting_ehlo(&[]);
    script.extend([expect("DATA"), send("354 go\r\n"), Step::ReadUntilClose]);
    let server = ScriptedServer::start(script);
    let out = session(
        &server.server_arg(),
        &["--tls", "none"],
        "EHLO c.test\nDATA\nSubject: half\n",
    );
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 2, "{out}");
    let wire = record.received_text();
    assert!(wire.ends_with("Subject: half\r\n"), "{wire:?}");
    assert_has(&out, &["the final dot was never sent"]);
}

#[test]
fn a_file_is_sent_as_content_normalised_and_stuffed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.eml");
    std::fs::write(&path, "Subject: f\n\n.dot\nbare\rcr\nno newline at end").unwrap();
    let server = ScriptedServer::start(happy_send(1));
    let typed = format!(
        "EHLO c.test\nMAIL FROM:<me@example.org>\nRCPT TO:<you@example.org>\nDATA\n/file {}\n.\nQUIT\n",
        path.display()
    );
    let out = session(&server.server_arg(), &["--tls", "none"], &typed);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(
        String::from_utf8_lossy(&record.data[0]),
        "Subject: f\r\n\r\n..dot\r\nbare\r\ncr\r\nno newline at end\r\n"
    );
}

#[test]
fn lines_that_arrive_together_are_pipelined_when_offered() {
    let mut script = greeting_ehlo(&["PIPELINING"]);
    script.extend([
        expect("MAIL FROM:"),
        expect("RCPT TO:"),
        expect("DATA"),
        send("250 Ok\r\n250 Ok\r\n354 go\r\n"),
        Step::ExpectData,
        send("250 Ok: queued\r\n"),
        expect("QUIT"),
        send("221 Bye\r\n"),
        Step::Close,
    ]);
    let server = ScriptedServer::start(script);
    let out = session(
        &server.server_arg(),
        &["--tls", "none"],
        "EHLO c.test\nMAIL FROM:<a@example.org>\nRCPT TO:<b@example.org>\nDATA\nhi\n.\n",
    );
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    assert!(
        record
            .reads
            .iter()
            .any(|r| r
                .starts_with(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n")),
        "MAIL, RCPT and DATA not in one write: {:?}",
        record.reads
    );
}

#[test]
fn typed_starttls_upgrades_at_once_and_markers_switch() {
    let pki = TestPki::new();
    let mut script = greeting_ehlo(&["STARTTLS"]);
    script.extend([
        expect("STARTTLS"),
        send("220 2.0.0 Ready\r\n"),
        Step::StartTls(pki.server_config(CertKind::Valid)),
        expect("EHLO"),
        Step::Send(ehlo_reply("mx.test", &["AUTH PLAIN"])),
        expect("QUIT"),
        send("221 Bye\r\n"),
        Step::Close,
    ]);
    let server = ScriptedServer::start(script);
    let ca = pki.ca_pem_path.display().to_string();
    let out = session(
        &server.server_arg(),
        &["--tls-ca", &ca, "--tls-server-name", "localhost"],
        "EHLO c.test\nSTARTTLS\nEHLO c.test\n",
    );
    server.finish().assert_clean();
    assert_eq!(out.code, 0, "{out}");
    assert_has(
        &out,
        &[
            "-> STARTTLS",
            "certificate verified",
            "send EHLO again",
            "~> EHLO c.test",
            "<~ 250 AUTH PLAIN",
            "~> QUIT",
        ],
    );
}

#[test]
fn a_typed_auth_with_credentials_is_redacted() {
    let pki = TestPki::new();
    let mut script = greeting_ehlo(&["STARTTLS"]);
    script.extend([
        expect("STARTTLS"),
        send("220 Ready\r\n"),
        Step::StartTls(pki.server_config(CertKind::Valid)),
        expect("EHLO"),
        Step::Send(ehlo_reply("mx.test", &["AUTH PLAIN"])),
        expect("AUTH PLAIN"),
        // A server that echoes what it got must not leak it either.
        send("535 5.7.8 bad: AGJvYgBjYW5hcnktdHlwZWQtc2VjcmV0\r\n"),
        expect("QUIT"),
        send("221 Bye\r\n"),
        Step::Close,
    ]);
    let server = ScriptedServer::start(script);
    let ca = pki.ca_pem_path.display().to_string();
    let out = session(
        &server.server_arg(),
        &["--tls-ca", &ca, "--tls-server-name", "localhost"],
        // "\0bob\0canary-typed-secret"
        "EHLO c\nSTARTTLS\nEHLO c\nAUTH PLAIN AGJvYgBjYW5hcnktdHlwZWQtc2VjcmV0\n",
    );
    server.finish().assert_clean();
    assert!(
        !out.all().contains("AGJvYgBjYW5hcnktdHlwZWQtc2VjcmV0"),
        "{out}"
    );
    assert!(!out.all().contains("canary-typed-secret"), "{out}");
    assert_has(&out, &["~> AUTH PLAIN [redacted: 32 bytes]"]);
}

#[test]
fn a_typed_auth_in_plaintext_is_not_sent() {
    let mut script = greeting_ehlo(&["AUTH PLAIN"]);
    script.extend([expect("QUIT"), send("221 Bye\r\n"), Step::Close]);
    let server = ScriptedServer::start(script);
    let out = session(
        &server.server_arg(),
        &["--tls", "none"],
        "EHLO c\nAUTH PLAIN AGJvYgBzZWNyZXQ=\n",
    );
    let record = server.finish();
    record.assert_clean();
    assert_eq!(record.commands, ["EHLO c", "QUIT"]);
    assert_has(&out, &["not sent: this AUTH line carries credentials"]);
}

#[test]
fn an_unsolicited_421_is_shown_at_once() {
    let mut script = greeting_ehlo(&[]);
    script.extend([
        Step::Delay(Duration::from_millis(100)),
        send("421 4.4.2 mx.test Error: timeout exceeded\r\n"),
        Step::Close,
    ]);
    let server = ScriptedServer::start(script);
    // stdin stays open: only a reader that watches the server sees the 421.
    let mut child = Command::new(env!("CARGO_BIN_EXE_smtpx"))
        .args([
            "session",
            "-s",
            &server.server_arg(),
            "--no-timing",
            "--tls",
            "none",
        ])
        .env("XDG_CONFIG_HOME", "/nonexistent-smtpx-test")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"EHLO c.test\n").unwrap();
    stdin.flush().unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > HANG_GUARD {
            let _ = child.kill();
            panic!("smtpx did not notice the 421 while waiting for input");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(stdin);
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    server.finish().assert_clean();
    assert_eq!(status.code(), Some(8), "{stdout}");
    assert!(
        stdout.contains("<- 421 4.4.2 mx.test Error: timeout exceeded"),
        "{stdout}"
    );
    assert!(stdout.contains("Unsolicited reply"), "{stdout}");
    assert!(stdout.contains("421: service not available"), "{stdout}");
}

#[test]
fn a_server_that_closes_is_a_temporary_failure() {
    let mut script = greeting_ehlo(&[]);
    script.push(Step::Close);
    let server = ScriptedServer::start(script);
    let out = session(
        &server.server_arg(),
        &["--tls", "none"],
        "EHLO c.test\nNOOP\n",
    );
    server.finish();
    assert!(matches!(out.code, 8), "{out}");
    assert_has(&out, &["closed the connection"]);
}

#[test]
fn reconnect_opens_a_new_connection() {
    let first = vec![
        send("220 one ESMTP\r\n"),
        expect("QUIT"),
        send("221 Bye\r\n"),
        Step::Close,
    ];
    let second = vec![
        send("220 two ESMTP\r\n"),
        expect("QUIT"),
        send("221 Bye\r\n"),
        Step::Close,
    ];
    let server = ScriptedServer::start_many(vec![first, second]);
    let out = session(&server.server_arg(), &["--tls", "none"], "/reconnect\n");
    let record = server.finish();
    record.assert_clean();
    assert_eq!(record.connections, 2);
    assert_eq!(out.code, 0, "{out}");
    assert_has(&out, &["<- 220 one ESMTP", "<- 220 two ESMTP"]);
}

#[test]
fn bare_auth_without_user_on_a_pipe_explains_what_is_missing() {
    let mut script = greeting_ehlo(&["AUTH PLAIN"]);
    script.extend([expect("QUIT"), send("221 Bye\r\n"), Step::Close]);
    let server = ScriptedServer::start(script);
    let out = session(
        &server.server_arg(),
        &["--tls", "none"],
        "EHLO c\nAUTH PLAIN\n",
    );
    server.finish().assert_clean();
    assert_eq!(out.code, 0, "{out}");
    assert_has(&out, &["AUTH not sent: no user name: give --user"]);
}
