//! Bad input and the words around it, as a user meets them: IDN EHLO names, secrets
//! in `--server`, empty messages, hints that name the flag to use, one error prefix.

use std::time::Duration;

use crate::support::run::{Out, Smtpx};
use crate::support::scripted::{Record, ScriptedServer, ServerOptions, happy_send};

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
