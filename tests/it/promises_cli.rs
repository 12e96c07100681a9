//! Promises a user reads in `--help` and README, checked on the wire: `--quit-after`
//! never sends a message and never claims a step that did not happen, and the habits of
//! swaks users (`--to a,b`, `--quit-after RCPT`, `--timeout 5`) mean what they expect.

use std::io::ErrorKind;
use std::net::TcpListener;

use crate::support::run::{Out, Smtpx};
use crate::support::scripted::{Record, ScriptedServer, Step, expect, greeting_ehlo, send};

fn quit() -> Vec<Step> {
    vec![expect("QUIT"), send("221 2.0.0 Bye\r\n"), Step::Close]
}

fn run(server: ScriptedServer, args: &[&str]) -> (Out, Record) {
    let addr = server.server_arg();
    let out = Smtpx::send()
        .args(&["-s", &addr, "--helo", "client.test"])
        .args(args)
        .run();
    (out, server.finish())
}

/// A listener nobody accepts on: after a usage error, no connection may have been made.
fn untouched_listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    (listener, addr)
}

fn assert_never_connected(listener: &TcpListener) {
    match listener.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        other => panic!("smtpx connected before refusing its arguments: {other:?}"),
    }
}

fn assert_usage_error(out: &Out, words: &str) {
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains(words), "no {words:?} in\n{out}");
}

#[test]
fn quit_after_auth_without_user_is_refused_before_connecting() {
    let (listener, addr) = untouched_listener();
    let out = Smtpx::send()
        .args(&[
            "-s",
            &addr,
            "--to",
            "you@example.org",
            "--quit-after",
            "auth",
        ])
        .run();
    assert_usage_error(&out, "--quit-after auth needs --user");
    assert_never_connected(&listener);
}

#[test]
fn quit_after_tls_with_tls_none_is_refused_before_connecting() {
    let (listener, addr) = untouched_listener();
    let out = Smtpx::send()
        .args(&["-s", &addr, "--tls", "none", "--quit-after", "tls"])
        .run();
    assert_usage_error(&out, "no TLS handshake would happen");
    assert_never_connected(&listener);
}

#[test]
fn quit_after_tls_without_starttls_on_offer_says_no_handshake_happened() {
    let server = ScriptedServer::start([greeting_ehlo(&["PIPELINING"]), quit()].concat());
    let (out, record) = run(server, &["--quit-after", "tls"]);
    record.assert_clean();
    assert_eq!(out.code, 5, "{out}");
    assert!(out.outcome().contains("no TLS handshake happened"), "{out}");
    assert!(!out.stdout.contains("stopped: after"), "{out}");
    assert_eq!(record.commands, ["EHLO client.test", "QUIT"]);
}

#[test]
fn quit_after_tls_refused_starttls_is_not_a_stop_as_asked() {
    let server = ScriptedServer::start(
        [
            greeting_ehlo(&["STARTTLS"]),
            vec![expect("STARTTLS"), send("454 4.7.0 TLS not available\r\n")],
            quit(),
        ]
        .concat(),
    );
    let (out, record) = run(server, &["--quit-after", "tls"]);
    record.assert_clean();
    assert_eq!(out.code, 5, "{out}");
    assert!(!record.received_text().contains("MAIL"));
}

/// The README's "look at TLS" and "does it answer" commands name no recipient.
#[test]
fn steps_before_mail_need_no_to_or_from() {
    for step in ["greeting", "ehlo"] {
        let mut script = vec![send("220 mx.test ESMTP\r\n")];
        if step == "ehlo" {
            script = greeting_ehlo(&["PIPELINING"]);
        }
        let server = ScriptedServer::start([script, quit()].concat());
        let (out, record) = run(server, &["--quit-after", step]);
        record.assert_clean();
        assert_eq!(out.code, 0, "{out}");
        assert!(out.outcome().starts_with(&format!("stopped: after {step}")));
    }
}

#[test]
fn quit_after_mail_needs_no_recipient() {
    let server = ScriptedServer::start(
        [
            greeting_ehlo(&["SIZE 1000"]),
            vec![expect("MAIL FROM:<me@example.org>"), send("250 Ok\r\n")],
            quit(),
        ]
        .concat(),
    );
    let (out, record) = run(
        server,
        &["--from", "me@example.org", "--quit-after", "mail"],
    );
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    assert!(!record.received_text().contains("RCPT"));
}

#[test]
fn a_message_still_needs_a_recipient() {
    let (listener, addr) = untouched_listener();
    for extra in [&[][..], &["--quit-after", "rcpt"]] {
        let out = Smtpx::send().args(&["-s", &addr]).args(extra).run();
        assert_usage_error(&out, "--to is required");
    }
    let out = Smtpx::send().args(&["--quit-after", "ehlo"]).run();
    assert_usage_error(&out, "--server is required without --to");
    assert_never_connected(&listener);
}

/// RFC 1870's SIZE= declares a message; `--quit-after rcpt` sends none, so it declares
/// nothing, and a message over the limit is no reason to stop.
#[test]
fn quit_after_rcpt_declares_no_size() {
    let server = ScriptedServer::start(
        [
            greeting_ehlo(&["SIZE 10"]),
            vec![
                expect("MAIL FROM:"),
                send("250 Ok\r\n"),
                expect("RCPT TO:"),
                send("250 Ok\r\n"),
            ],
            quit(),
        ]
        .concat(),
    );
    let (out, record) = run(
        server,
        &[
            "--to",
            "you@example.org",
            "--quit-after",
            "RCPT",
            "--body",
            "longer than ten bytes",
        ],
    );
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    let mail = &record.commands[1];
    assert!(!mail.contains("SIZE="), "{mail}");
}

#[test]
fn a_comma_list_names_several_recipients() {
    let server = ScriptedServer::start(
        [
            greeting_ehlo(&[]),
            vec![
                expect("MAIL FROM:"),
                send("250 Ok\r\n"),
                expect("RCPT TO:<a@x.example>"),
                send("250 Ok\r\n"),
                expect("RCPT TO:<b@y.example>"),
                send("250 Ok\r\n"),
                expect("RCPT TO:<j@z.example>"),
                send("250 Ok\r\n"),
            ],
            quit(),
        ]
        .concat(),
    );
    let (out, record) = run(
        server,
        &[
            "--to",
            "a@x.example,b@y.example",
            "--to",
            "\"Doe, J\" <j@z.example>",
            "--quit-after",
            "rcpt",
        ],
    );
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
}

#[test]
fn port_zero_is_a_usage_error_in_every_form() {
    for args in [
        &["send", "-s", "127.0.0.1", "-p", "0", "--to", "a@b.example"][..],
        &["send", "-s", "127.0.0.1:0", "--to", "a@b.example"],
        &["check", "127.0.0.1", "-p", "0"],
        &["bench", "-s", "127.0.0.1", "-p", "0", "-n", "1"],
    ] {
        let out = Smtpx::new().args(args).run();
        assert_eq!(out.code, 2, "{args:?}\n{out}");
    }
}
