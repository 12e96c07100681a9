//! Bad input and the words around it, as a user meets them: IDN EHLO names, secrets
//! in `--server`, empty messages, hints that name the flag to use, one error prefix.

use std::time::Duration;

use crate::support::certs::{CertKind, TestPki};
use crate::support::run::{Out, Smtpx};
use crate::support::scripted::{
    Record, ScriptedServer, ServerOptions, Step, expect, greeting_ehlo, happy_send, send,
};
use crate::support::terminal::Tmux;

/// `smtpx send` to `server` with a sender, a recipient and an EHLO name unless ARGS
/// give their own.
fn send_cmd(server: &str, args: &[&str]) -> Smtpx {
    let mut all = vec!["--server", server];
    for (flag, value) in [
        ("--helo", "client.test"),
        ("--from", "me@example.org"),
        ("--to", "you@example.org"),
    ] {
        if !args.contains(&flag) {
            all.extend([flag, value]);
        }
    }
    all.extend_from_slice(args);
    Smtpx::send().args(&all)
}

fn run(server: ScriptedServer, args: &[&str]) -> (Out, Record) {
    let out = send_cmd(&server.server_arg(), args).run();
    (out, server.finish())
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

/// Exit 2, one `smtpx: error:` line on stderr containing `words`, nothing on the wire.
fn assert_refused_before_connect(out: &Out, record: &Record, words: &str) {
    assert_eq!(out.code, 2, "{out}");
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one stderr line\n{out}");
    assert!(
        lines[0].starts_with("smtpx: error: ") && lines[0].contains(words),
        "stderr should say {words:?}\n{out}"
    );
    assert_eq!(record.connections, 0, "connected despite bad input\n{out}");
}

// ---------------------------------------------------------------------------
// --helo with an internationalised name
// ---------------------------------------------------------------------------

#[test]
fn idn_helo_goes_as_a_labels() {
    let (out, record) = run(
        ScriptedServer::start(happy_send(1)),
        &["--helo", "bücher.test"],
    );
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(record.commands[0], "EHLO xn--bcher-kva.test");
    assert!(record.received.is_ascii(), "raw UTF-8 went on the wire");
}

#[test]
fn invalid_idn_helo_exits_2_before_connecting() {
    let (out, record) = run(untouched_server(), &["--helo", "\u{301}a.test"]);
    assert_refused_before_connect(&out, &record, "--helo");
}

// ---------------------------------------------------------------------------
// Secrets in --server are never echoed
// ---------------------------------------------------------------------------

#[test]
fn a_password_in_the_server_value_is_never_echoed() {
    let values = [
        "smtp://user:SECRET@mail.example.org",
        "smtps://user:SECRET@mail.example.org:465",
        "user:SECRET@mail.example.org:25",
        "user:SECRET@mail.example.org",
    ];
    let runs: [&[&str]; 7] = [
        &[
            "send",
            "--to",
            "you@example.org",
            "--from",
            "me@example.org",
        ],
        &["check"],
        &["vrfy", "you@example.org"],
        &["expn", "list"],
        &["size"],
        &["verify", "you@example.org"],
        &["bench", "-n", "1"],
    ];
    for value in values {
        for args in runs {
            let out = Smtpx::new().args(args).args(&["--server", value]).run();
            assert_eq!(out.code, 2, "{args:?} {value}\n{out}");
            assert!(
                !out.all().contains("SECRET"),
                "{args:?} echoed the secret\n{out}"
            );
            assert!(
                out.stderr.starts_with("smtpx: error: ") && out.stderr.contains("--server"),
                "{args:?} {value}\n{out}"
            );
        }
    }
    for verb in ["check", "size"] {
        let out = Smtpx::new()
            .args(&[verb, "smtp://user:SECRET@mail.example.org"])
            .run();
        assert_eq!(out.code, 2, "{out}");
        assert!(
            !out.all().contains("SECRET"),
            "{verb} echoed the secret\n{out}"
        );
    }
}

// ---------------------------------------------------------------------------
// Empty messages and NUL bytes
// ---------------------------------------------------------------------------

#[test]
fn an_empty_data_file_is_refused_before_connecting() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.eml");
    std::fs::write(&empty, b"").unwrap();
    let (out, record) = run(untouched_server(), &["--data", empty.to_str().unwrap()]);
    assert_refused_before_connect(&out, &record, "the message is empty");
    assert!(out.stderr.contains("--allow-empty"), "{out}");
}

#[test]
fn empty_stdin_is_refused_before_connecting() {
    let server = untouched_server();
    let out = send_cmd(&server.server_arg(), &["--data", "-"])
        .stdin(Vec::new())
        .run();
    let record = server.finish();
    assert_refused_before_connect(&out, &record, "the message is empty");
}

#[test]
fn allow_empty_sends_an_empty_message() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.eml");
    std::fs::write(&empty, b"").unwrap();
    let (out, record) = run(
        ScriptedServer::start(happy_send(1)),
        &["--data", empty.to_str().unwrap(), "--allow-empty"],
    );
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(record.data, vec![Vec::<u8>::new()]);
    let server = ScriptedServer::start(happy_send(1));
    let out = send_cmd(&server.server_arg(), &["--data", "-", "--allow-empty"])
        .stdin(Vec::new())
        .run();
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
}

#[test]
fn stdin_read_ahead_is_sent_whole() {
    // More than one read's worth, so the part read before connecting and the rest join.
    let mut message = b"Subject: big\r\n\r\n".to_vec();
    for i in 0..20_000 {
        message.extend_from_slice(format!("line {i}\r\n").as_bytes());
    }
    let server = ScriptedServer::start(happy_send(1));
    let out = send_cmd(&server.server_arg(), &["--data", "-"])
        .stdin(message.clone())
        .run();
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(record.data, vec![message]);
}

#[test]
fn nul_bytes_in_raw_data_are_warned_about_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nul.eml");
    std::fs::write(&file, b"Subject: nul\r\n\r\na\0b\r\n\0\0\r\n").unwrap();
    let (out, record) = run(
        ScriptedServer::start(happy_send(1)),
        &["--data", file.to_str().unwrap()],
    );
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    let all = out.all();
    let warnings: Vec<&str> = all.lines().filter(|l| l.contains("NUL")).collect();
    assert_eq!(warnings.len(), 1, "{out}");
    assert!(
        out.stderr.starts_with("warning: 3 NUL byte(s)"),
        "a warning, as for over-long lines\n{out}"
    );
    let server = ScriptedServer::start(happy_send(1));
    let out = send_cmd(&server.server_arg(), &["--data", "-"])
        .stdin(b"Subject: nul\r\n\r\na\0b\r\n".to_vec())
        .run();
    server.finish().assert_clean();
    assert_eq!(out.all().matches("NUL").count(), 1, "{out}");
}

// ---------------------------------------------------------------------------
// verify's sender
// ---------------------------------------------------------------------------

/// Greeting and EHLO, MAIL FROM expected with `from`, answered `mail_reply`.
fn verify_script(from: &str, mail_reply: &str) -> Vec<Step> {
    let mut script = greeting_ehlo(&[]);
    script.extend([expect(&format!("MAIL FROM:{from}")), send(mail_reply)]);
    script
}

fn verify_cmd(server: &ScriptedServer, args: &[&str]) -> Out {
    let arg = server.server_arg();
    let mut all = vec![
        "verify",
        "--server",
        &arg,
        "--no-timing",
        "--timeout",
        "30s",
    ];
    all.extend_from_slice(args);
    Smtpx::new().args(&all).run()
}

/// Probe then one address, both answered, then QUIT.
fn probe_and_one(reply: &str) -> Vec<Step> {
    vec![
        expect("RCPT TO:<smtpx-probe-"),
        send("550 5.1.1 no such user\r\n"),
        expect("RCPT TO:<a@t.test>"),
        send(reply),
        expect("QUIT"),
        send("221 bye\r\n"),
        Step::Close,
    ]
}

#[test]
fn verify_without_a_domain_name_sends_the_null_sender_and_says_so() {
    // An address literal is no domain for postmaster@: stock Exim refuses
    // `MAIL FROM:<postmaster@[127.0.0.1]>` with 501.
    let mut script = verify_script("<>", "250 OK\r\n");
    script.extend(probe_and_one("250 2.1.5 OK\r\n"));
    let server = ScriptedServer::start(script);
    let out = verify_cmd(&server, &["--helo", "[127.0.0.1]", "a@t.test"]);
    server.finish().assert_clean();
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.starts_with("*  Sender: MAIL FROM:<>"), "{out}");
    let mut script = verify_script("<>", "250 OK\r\n");
    script.extend(probe_and_one("250 2.1.5 OK\r\n"));
    let server = ScriptedServer::start(script);
    let out = verify_cmd(&server, &["--helo", "[127.0.0.1]", "--json", "a@t.test"]);
    server.finish().assert_clean();
    assert_eq!(out.result()["sender"], "<>", "{out}");
}

#[test]
fn verify_with_a_domain_name_sends_postmaster_at_it() {
    let mut script = verify_script("<postmaster@client.test>", "250 OK\r\n");
    script.extend(probe_and_one("250 2.1.5 OK\r\n"));
    let server = ScriptedServer::start(script);
    let out = verify_cmd(&server, &["--helo", "client.test", "a@t.test"]);
    server.finish().assert_clean();
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout
            .starts_with("*  Sender: MAIL FROM:<postmaster@client.test>"),
        "{out}"
    );
}

#[test]
fn verify_short_f_sets_the_sender() {
    let mut script = verify_script("<me@example.org>", "250 OK\r\n");
    script.extend(probe_and_one("250 2.1.5 OK\r\n"));
    let server = ScriptedServer::start(script);
    let out = verify_cmd(&server, &["-f", "me@example.org", "a@t.test"]);
    server.finish().assert_clean();
    assert_eq!(out.code, 0, "{out}");
}

#[test]
fn a_refused_sender_is_named_in_every_verdict_and_on_stderr() {
    let mut script = verify_script(
        "<postmaster@client.test>",
        "501 5.1.7 domain literals not allowed\r\n",
    );
    script.extend([expect("QUIT"), send("221 bye\r\n"), Step::Close]);
    let server = ScriptedServer::start(script);
    let out = verify_cmd(&server, &["--helo", "client.test", "a@t.test", "b@t.test"]);
    server.finish().assert_clean();
    assert_eq!(out.code, 8, "{out}");
    for address in ["a@t.test", "b@t.test"] {
        let row = out
            .stdout
            .lines()
            .find(|l| l.starts_with(address))
            .unwrap_or_else(|| panic!("no row for {address}\n{out}"));
        assert!(
            row.contains("501 5.1.7 domain literals not allowed")
                && row.contains("sender <postmaster@client.test> refused"),
            "{row}\n{out}"
        );
    }
    let warnings: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("--from"))
        .collect();
    assert_eq!(warnings.len(), 1, "one line naming --from\n{out}");
    assert!(warnings[0].contains("<postmaster@client.test>"), "{out}");
}

// ---------------------------------------------------------------------------
// Hints that name the flag to use
// ---------------------------------------------------------------------------

/// STARTTLS offered and started with a certificate of `kind`, then whatever comes.
fn tls_upgrade(pki: &TestPki, kind: CertKind) -> Vec<Step> {
    let mut script = greeting_ehlo(&["STARTTLS"]);
    script.extend([
        expect("STARTTLS"),
        send("220 2.0.0 Ready to start TLS\r\n"),
        Step::StartTls(pki.server_config(kind)),
        Step::ReadUntilClose,
    ]);
    script
}

#[test]
fn a_certificate_for_another_name_suggests_tls_server_name() {
    for (kind, hint, not) in [
        (CertKind::WrongName, "--tls-server-name", "--tls-ca"),
        (CertKind::Expired, "--tls-ca", "--tls-server-name"),
    ] {
        let pki = TestPki::new();
        let ca = pki.ca_pem_path.display().to_string();
        let (out, _) = run(
            ScriptedServer::start(tls_upgrade(&pki, kind)),
            &[
                "--tls",
                "starttls",
                "--tls-ca",
                &ca,
                "--tls-server-name",
                "localhost",
            ],
        );
        assert_eq!(out.code, 5, "{out}");
        assert!(out.outcome().contains(hint), "{kind:?}\n{out}");
        assert!(!out.outcome().contains(not), "{kind:?}\n{out}");
    }
}

#[test]
fn authentication_required_suggests_user() {
    for reply in [
        "530 5.7.0 Authentication required\r\n",
        "530 Authentication required\r\n",
    ] {
        let mut script = greeting_ehlo(&["AUTH PLAIN LOGIN"]);
        script.extend([
            expect("MAIL FROM:"),
            send(reply),
            expect("QUIT"),
            send("221 bye\r\n"),
            Step::Close,
        ]);
        let (out, record) = run(ScriptedServer::start(script), &[]);
        record.assert_clean();
        assert_eq!(out.code, 7, "{out}");
        assert!(out.outcome().contains("--user"), "{out}");
    }
}

#[test]
fn user_against_a_server_without_auth_or_starttls_says_no_auth() {
    let mut script = greeting_ehlo(&["PIPELINING"]);
    script.extend([expect("QUIT"), send("221 bye\r\n"), Step::Close]);
    let server = ScriptedServer::start(script);
    let args = ["--user", "me", "--password-env", "SMTPX_TEST_PASSWORD"];
    let out = send_cmd(&server.server_arg(), &args)
        .env("SMTPX_TEST_PASSWORD", "secret")
        .run();
    server.finish().assert_clean();
    assert_eq!(out.code, 6, "{out}");
    assert!(out.outcome().contains("offers no AUTH"), "{out}");
    assert!(!out.outcome().contains("--tls starttls"), "{out}");
}

#[test]
fn a_line_break_in_an_address_is_called_that() {
    for (flag, value) in [
        ("--to", "you@example.org\r\nRCPT TO:<x@example.org>"),
        ("--to", "Bob\n <you@example.org>"),
        ("--cc", "a@example.org\n<b@example.org>"),
    ] {
        let (out, record) = run(untouched_server(), &[flag, value]);
        assert_refused_before_connect(&out, &record, flag);
        assert!(
            out.stderr
                .contains("the address contains a control character (CR/LF)"),
            "{out}"
        );
        assert!(!out.stderr.contains("display name"), "{out}");
    }
}

#[test]
fn verify_numbers_command_line_addresses_as_arguments() {
    let out = Smtpx::new()
        .args(&[
            "verify",
            "--server",
            "127.0.0.1:1",
            "--",
            "ok@t.test",
            "nope",
        ])
        .run();
    let row = out
        .stdout
        .lines()
        .find(|l| l.starts_with("nope"))
        .unwrap_or_else(|| panic!("no row\n{out}"));
    assert!(row.contains("argument 2: missing '@domain'"), "{out}");
    assert!(!row.contains("line"), "{out}");
}

#[test]
fn every_error_of_smtpx_has_one_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let missing = missing.to_str().unwrap();
    let runs: [&[&str]; 10] = [
        &["send", "--to", "a@b.test", "-s", "h:0"],
        &["check", "h:0"],
        &["vrfy", "-s", "h:0", "x"],
        &["expn", "-s", "h:0", "x"],
        &["size", "--from", "bad@@", "h"],
        &["verify", "--file", missing],
        &["bench", "-s", "127.0.0.1:1", "-n", "1", "--rate", "bad"],
        &["config", "show", "--config", missing],
        &["send", "--to", "a@b.test", "-s", "h", "--tls-ca", missing],
        &["mx", "example.test", "--dns-server", "bad"],
    ];
    for args in runs {
        let out = Smtpx::new().args(args).run();
        assert_eq!(out.code, 2, "{args:?}\n{out}");
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}\n{out}");
        assert!(lines[0].starts_with("smtpx: error: "), "{args:?}\n{out}");
        assert!(!lines[0].contains("error: error"), "{args:?}\n{out}");
    }
    // clap's usage errors keep clap's wording, under the same prefix.
    let out = Smtpx::new()
        .args(&["send", "--to", "a@b.test", "--timeout", "xx"])
        .run();
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr.starts_with("smtpx: error: invalid value 'xx'"),
        "{out}"
    );
}

// ---------------------------------------------------------------------------
// Ctrl-C on a terminal (tmux gives smtpx a real one)
// ---------------------------------------------------------------------------

/// A server that answers up to MAIL and then never again.
fn stalls_at_mail() -> Vec<Step> {
    let mut script = greeting_ehlo(&[]);
    script.extend([expect("MAIL FROM:"), Step::ReadUntilClose]);
    script
}

#[test]
fn after_ctrl_c_the_outcome_starts_on_its_own_line() {
    let server = ScriptedServer::start(stalls_at_mail());
    let command = format!(
        "{} send -s {} --from me@example.org --to you@example.org --no-timing --tls none",
        env!("CARGO_BIN_EXE_smtpx"),
        server.server_arg()
    );
    let Some(tmux) = Tmux::start(&command) else {
        return;
    };
    tmux.wait_for("-> MAIL FROM");
    tmux.ctrl_c();
    let screen = tmux.wait_for("EXIT=");
    server.finish();
    let lines: Vec<&str> = screen.lines().map(str::trim_end).collect();
    assert!(
        lines.contains(&"failed: interrupted; no message was committed"),
        "{screen}"
    );
    assert!(lines.contains(&"EXIT=130"), "{screen}");
}

#[test]
fn after_ctrl_c_no_progress_bar_is_left_on_screen() {
    let mut script = greeting_ehlo(&[]);
    script.extend([expect("MAIL FROM:"), Step::ReadUntilClose]);
    let server = ScriptedServer::start(script);
    let command = format!(
        "{} verify -s {} --no-timing --tls none -- a@x.test b@x.test c@y.test",
        env!("CARGO_BIN_EXE_smtpx"),
        server.server_arg()
    );
    let Some(tmux) = Tmux::start(&command) else {
        return;
    };
    tmux.wait_for("0/3 addresses");
    tmux.ctrl_c();
    let screen = tmux.wait_for("EXIT=");
    server.finish();
    assert!(!screen.contains("0/3 addresses"), "a stale bar\n{screen}");
    assert!(
        !screen.contains("^C"),
        "the echo went with the bar\n{screen}"
    );
    let lines: Vec<&str> = screen.lines().map(str::trim_end).collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("interrupted: 0 of 3 addresses decided")),
        "{screen}"
    );
}
