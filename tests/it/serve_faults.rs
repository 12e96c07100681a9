//! `smtpx serve`'s faults, each against `smtpx send` (its documented exit codes) and
//! swaks (its own exit codes, see swaks(1) "EXIT CODES").

use std::process::Command;

use crate::support::peers::require;
use crate::support::run::{Out, Smtpx};
use crate::support::serve::{Serve, maildir_messages};

fn send(server: &Serve, extra: &[&str]) -> Out {
    Smtpx::send()
        .args(&["--server", &server.server_arg()])
        .args(&["--from", "me@example.org", "--to", "you@example.org"])
        .args(&["--body", "hello"])
        .args(extra)
        .run()
}

fn swaks(server: &Serve, extra: &[&str]) -> (i32, String) {
    let out = Command::new("swaks")
        .args(["--server", &server.server_arg()])
        .args(["--from", "me@example.org", "--to", "you@example.org"])
        .args(["--timeout", "30"])
        .args(extra)
        .output()
        .expect("run swaks");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// `smtpx send` against a server started with `fault`, and the exit code it gives.
fn send_exit(fault: &[&str], extra: &[&str]) -> Out {
    let server = Serve::start(fault);
    let out = send(&server, extra);
    server.signal("TERM");
    let served = server.wait();
    assert_eq!(served.code, 0, "{served}");
    out
}

#[test]
fn reply_faults_give_send_its_exit_codes() {
    for (fault, code, said) in [
        (
            &["--reply", "rcpt=550 5.1.1 no such user"][..],
            7,
            "550 5.1.1 no such user",
        ),
        (
            &["--reply", "mail=451"],
            8,
            "451 4.0.0 Answered on request (--reply mail)",
        ),
        (
            &["--reply", "greeting=554 5.3.2 go away"],
            7,
            "554 5.3.2 go away",
        ),
        (&["--reply", "greeting=421 4.3.2 busy"], 8, "421 4.3.2 busy"),
        (
            &["--reply", "ehlo=550 5.7.1 not you"],
            7,
            "550 5.7.1 not you",
        ),
        (
            &["--reply", "data=554 5.5.1 no data today"],
            7,
            "554 5.5.1 no data today",
        ),
        (&["--reply", "dot=554 5.7.1 spam"], 7, "554 5.7.1 spam"),
        (&["--reply", "dot=452 4.3.1 full"], 8, "452 4.3.1 full"),
        (
            &["--reply", "rcpt=251 2.1.5 will forward"],
            0,
            "251 2.1.5 will forward",
        ),
    ] {
        let out = send_exit(fault, &[]);
        assert_eq!(out.code, code, "{fault:?}: {out}");
        assert!(out.stdout.contains(said), "{fault:?}: {out}");
    }
}

#[test]
fn drop_faults_give_send_its_exit_codes() {
    for (stage, code) in [
        ("greeting", 4),
        ("ehlo", 8),
        ("mail", 8),
        ("rcpt", 8),
        ("data", 8),
        ("dot", 10),
    ] {
        let out = send_exit(&["--drop", stage], &[]);
        assert_eq!(out.code, code, "--drop {stage}: {out}");
    }
}

#[test]
fn starttls_refusal_is_a_tls_failure() {
    let out = send_exit(
        &[
            "--tls-self-signed",
            "--reply",
            "starttls=454 4.7.0 TLS not available",
        ],
        &["--tls", "starttls", "--tls-no-verify"],
    );
    assert_eq!(out.code, 5, "{out}");
    assert!(out.stdout.contains("454 4.7.0 TLS not available"), "{out}");
}

#[test]
fn delay_is_waited_for_and_a_short_timeout_notices() {
    let out = send_exit(&["--delay", "rcpt=300ms"], &[]);
    assert_eq!(out.code, 0, "{out}");
    let out = send_exit(&["--delay", "rcpt=5s"], &["--command-timeout", "200ms"]);
    assert_eq!(out.code, 8, "{out}");
    assert!(out.stdout.contains("rcpt"), "{out}");
    // Silent before the greeting: a connection failure.
    let out = send_exit(
        &["--delay", "greeting=5s"],
        &["--greeting-timeout", "200ms"],
    );
    assert_eq!(out.code, 4, "{out}");
    // Silent after the final dot: the message may or may not have been accepted.
    let out = send_exit(&["--delay", "dot=5s"], &["--final-timeout", "200ms"]);
    assert_eq!(out.code, 10, "{out}");
}

#[test]
fn reply_rcpt_refuses_only_matching_recipients() {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("md");
    let server = Serve::start(&[
        "--max-messages",
        "1",
        "--maildir",
        maildir.to_str().unwrap(),
        "--reply-rcpt",
        "*@BAD.example=550 5.1.1 unknown here",
    ]);
    let out = send(&server, &["--to", "joe@bad.example"]);
    assert_eq!(out.code, 7, "{out}");
    assert!(
        out.outcome()
            .starts_with("partially accepted: for 1 of 2 recipients"),
        "{out}"
    );
    assert_eq!(server.wait().code, 0);
    let stored = std::fs::read_to_string(&maildir_messages(&maildir)[0]).unwrap();
    assert!(
        stored.contains("X-Original-To: <you@example.org>\r\n"),
        "{stored}"
    );
    assert!(
        !stored.contains("X-Original-To: <joe@bad.example>"),
        "{stored}"
    );
}

#[test]
fn fail_every_strikes_every_nth_transaction() {
    let server = Serve::start(&["--reply", "mail=451 4.3.0 later", "--fail-every", "2"]);
    let codes: Vec<i32> = (0..4).map(|_| send(&server, &[]).code).collect();
    assert_eq!(codes, [0, 8, 0, 8]);
    server.signal("TERM");
    assert_eq!(server.wait().code, 0);
}

#[test]
fn swaks_sees_each_fault() {
    if !require("swaks") {
        return;
    }
    for (fault, code) in [
        (&["--reply", "greeting=554 5.3.2 go away"][..], 21),
        (&["--reply", "ehlo=550 5.7.1 not you"], 22),
        (&["--reply", "mail=451 4.3.0 later"], 23),
        (&["--reply", "rcpt=550 5.1.1 no such user"], 24),
        (&["--reply-rcpt", "you@*=550 5.1.1 no such user"], 24),
        (&["--reply", "data=554 5.5.1 no"], 25),
        (&["--reply", "dot=554 5.7.1 spam"], 26),
        (&["--drop", "rcpt"], 6),
        (&["--delay", "mail=200ms"], 0),
        (&["--reply", "mail=451", "--fail-every", "3"], 0),
    ] {
        let server = Serve::start(fault);
        let (got, transcript) = swaks(&server, &[]);
        server.signal("TERM");
        assert_eq!(server.wait().code, 0);
        assert_eq!(got, code, "{fault:?}:\n{transcript}");
    }
}
