//! smtpx against real SMTP software on loopback: aiosmtpd (content byte for byte,
//! STARTTLS, implicit TLS, AUTH), Postfix's smtp-sink, and a private Postfix smtpd.

use std::time::Duration;

use serde_json::json;

use crate::support::certs::{CertKind, TestPki};
use crate::support::peers::{Aiosmtpd, AiosmtpdOptions, PostfixInstance, PostfixOptions, SmtpSink};
use crate::support::run::Smtpx;

/// A message with every DATA-transparency trap: leading dots, a lone dot, bare LF,
/// bare CR, and an ending without a line break.
const TRICKY: &[u8] = b"Subject: tricky\r\nFrom: <me@example.org>\r\n\r\n.leading dot\r\n.\r\nbare LF\nbare CR\r..\r\n\n.\nlast line";

/// What a receiver must store: every line end CRLF, dots unstuffed, a final CRLF.
const TRICKY_STORED: &[u8] = b"Subject: tricky\r\nFrom: <me@example.org>\r\n\r\n.leading dot\r\n.\r\nbare LF\r\nbare CR\r\n..\r\n\r\n.\r\nlast line\r\n";

#[test]
fn aiosmtpd_stores_a_raw_message_byte_for_byte() {
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
            "--data",
            "-",
        ])
        .stdin(TRICKY)
        .run();
    assert_eq!(out.code, 0, "{out}");
    let messages = server.wait_messages(1, Duration::from_secs(10));
    assert_eq!(messages[0].mail_from, "me@example.org");
    assert_eq!(messages[0].rcpt_tos, vec!["you@example.org"]);
    assert_eq!(
        String::from_utf8_lossy(&messages[0].content),
        String::from_utf8_lossy(TRICKY_STORED)
    );
}

#[test]
fn aiosmtpd_receives_a_composed_message() {
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
            "--cc",
            "cc@example.org",
            "--bcc",
            "hidden@example.org",
            "--subject",
            "Grüße",
            "--header",
            "X-Test: 1",
            "--body",
            "hello\n.dot line\n",
        ])
        .run();
    assert_eq!(out.code, 0, "{out}");
    let m = &server.wait_messages(1, Duration::from_secs(10))[0];
    assert_eq!(
        m.rcpt_tos,
        vec!["you@example.org", "cc@example.org", "hidden@example.org"]
    );
    let text = String::from_utf8_lossy(&m.content);
    for want in [
        "From: <me@example.org>",
        "To: <you@example.org>",
        "Cc: <cc@example.org>",
        "Subject: =?utf-8?",
        "X-Test: 1",
        "Message-ID: <",
        "Date: ",
        "MIME-Version: 1.0",
        "\r\n\r\nhello\r\n.dot line\r\n",
    ] {
        assert!(text.contains(want), "{want:?} missing in\n{text}");
    }
    assert!(!text.to_ascii_lowercase().contains("hidden@"), "{text}");
}

#[test]
fn aiosmtpd_recipient_policy_gives_the_exit_codes() {
    let policy = json!({"unknown@example.test": "550 5.1.1 No such user", "grey@example.test": "450 4.2.0 Greylisted", "*": "250 OK"});
    let Some(server) = Aiosmtpd::start(AiosmtpdOptions::new().policy(policy)) else {
        return;
    };
    let arg = server.server_arg();
    let base = [
        "--server",
        arg.as_str(),
        "--from",
        "me@example.org",
        "--body",
        "x",
    ];
    let one = |to: &str| {
        let mut args = base.to_vec();
        args.extend(["--to", to]);
        Smtpx::send().args(&args).run()
    };
    let ok = one("known@example.test");
    assert_eq!(ok.code, 0, "{ok}");
    let unknown = one("unknown@example.test");
    assert_eq!(unknown.code, 7, "{unknown}");
    assert!(
        unknown
            .stdout
            .contains("rejected: at rcpt: 550 5.1.1 No such user"),
        "{unknown}"
    );
    let grey = one("grey@example.test");
    assert_eq!(grey.code, 8, "{grey}");
    let mut args = base.to_vec();
    args.extend(["--to", "known@example.test", "--to", "unknown@example.test"]);
    let partial = Smtpx::send().args(&args).run();
    assert_eq!(partial.code, 7, "{partial}");
    assert!(
        partial
            .stdout
            .contains("partially accepted: for 1 of 2 recipients"),
        "{partial}"
    );
}

#[test]
fn aiosmtpd_required_starttls_with_auth_plain_and_login() {
    let pki = TestPki::new();
    let (cert, key) = pki.leaf_pem(CertKind::Valid);
    let ca = pki.ca_pem_path.display().to_string();
    for mech in ["plain", "login", "auto"] {
        let opts = AiosmtpdOptions::new()
            .require_starttls(&cert, &key)
            .auth("tim", "tanstaaf")
            .auth_require_tls()
            .auth_required();
        let Some(server) = Aiosmtpd::start(opts) else {
            return;
        };
        let out = Smtpx::send()
            .args(&[
                "--server",
                &server.server_arg(),
                "--tls",
                "starttls",
                "--tls-ca",
                &ca,
                "--tls-server-name",
                "localhost",
                "--user",
                "tim",
                "--password-env",
                "PW",
                "--auth",
                mech,
                "--from",
                "me@example.org",
                "--to",
                "you@example.org",
                "--body",
                "over tls",
            ])
            .env("PW", "tanstaaf")
            .run();
        assert_eq!(out.code, 0, "{mech}: {out}");
        assert!(out.stdout.contains("certificate verified"), "{out}");
        assert!(out.stdout.contains("<~ 235"), "{out}");
        assert!(!out.stdout.contains("tanstaaf"), "{out}");
        let m = &server.wait_messages(1, Duration::from_secs(10))[0];
        assert!(m.tls && m.authenticated, "{mech}");
        assert!(String::from_utf8_lossy(&m.content).contains("over tls"));
    }
}

#[test]
fn aiosmtpd_wrong_password_is_exit_6() {
    let pki = TestPki::new();
    let (cert, key) = pki.leaf_pem(CertKind::Valid);
    let opts = AiosmtpdOptions::new()
        .require_starttls(&cert, &key)
        .auth("tim", "right");
    let Some(server) = Aiosmtpd::start(opts) else {
        return;
    };
    let out = Smtpx::send()
        .args(&[
            "--server",
            &server.server_arg(),
            "--tls",
            "starttls",
            "--tls-ca",
            &pki.ca_pem_path.display().to_string(),
            "--tls-server-name",
            "localhost",
            "--user",
            "tim",
            "--password-env",
            "PW",
            "--to",
            "you@example.org",
        ])
        .env("PW", "wrong")
        .run();
    assert_eq!(out.code, 6, "{out}");
    assert!(server.messages().is_empty());
}

#[test]
fn aiosmtpd_implicit_tls_delivers() {
    let pki = TestPki::new();
    let (cert, key) = pki.leaf_pem(CertKind::Valid);
    let Some(server) = Aiosmtpd::start(AiosmtpdOptions::new().implicit_tls(&cert, &key)) else {
        return;
    };
    let out = Smtpx::send()
        .args(&[
            "--server",
            &server.server_arg(),
            "--tls",
            "implicit",
            "--tls-ca",
            &pki.ca_pem_path.display().to_string(),
            "--from",
            "me@example.org",
            "--to",
            "you@example.org",
            "--body",
            "implicit",
        ])
        .run();
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.contains("<~ 220"), "{out}");
    assert!(server.wait_messages(1, Duration::from_secs(10))[0].tls);
}

#[test]
fn smtp_sink_accepts_and_its_rejections_are_counted() {
    let Some(sink) = SmtpSink::start(&[]) else {
        return;
    };
    let out = Smtpx::send()
        .args(&[
            "--server",
            &sink.server_arg(),
            "--to",
            "a@example.org",
            "--to",
            "b@example.org",
        ])
        .run();
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout.contains("accepted: for 2 of 2 recipients"),
        "{out}"
    );
    drop(sink);
    // smtp-sink -r RCPT answers every RCPT with a soft (4xx) error: exit 8.
    let Some(sink) = SmtpSink::start(&["-r", "RCPT"]) else {
        return;
    };
    let out = Smtpx::send()
        .args(&[
            "--server",
            &sink.server_arg(),
            "--to",
            "a@example.org",
            "--json",
        ])
        .run();
    assert_eq!(out.code, 8, "{out}");
    let result = out.result();
    assert_eq!(result["phase"], "rcpt");
}

#[test]
fn postfix_delivers_over_starttls() {
    let pki = TestPki::new();
    let (cert, key) = pki.leaf_pem(CertKind::Valid);
    let opts = PostfixOptions::new().tls(&cert, &key).users(&["you"]);
    let Some(postfix) = PostfixInstance::start(opts) else {
        return;
    };
    let out = Smtpx::send()
        .args(&[
            "--server",
            &postfix.server_arg(),
            "--tls",
            "starttls",
            "--tls-ca",
            &pki.ca_pem_path.display().to_string(),
            "--tls-server-name",
            "localhost",
            "--from",
            "me@example.org",
            "--to",
            "you@example.test",
            "--subject",
            "via postfix",
            "--body",
            "hello postfix\n.dotted\n",
        ])
        .run();
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.contains("queued as"), "{out}");
    let delivered = postfix.wait_delivered(1, Duration::from_secs(20));
    let text = String::from_utf8_lossy(&delivered[0]);
    assert!(text.contains("Subject: via postfix"), "{text}");
    assert!(text.contains("hello postfix\n.dotted\n"), "{text}");
    // Postfix records the TLS session in its Received header ("with ESMTPS").
    assert!(text.contains("with ESMTPS"), "{text}");
}

#[test]
fn postfix_refuses_an_unknown_user_at_rcpt() {
    let Some(postfix) = PostfixInstance::start(PostfixOptions::new().users(&["you"])) else {
        return;
    };
    let out = Smtpx::send()
        .args(&[
            "--server",
            &postfix.server_arg(),
            "--tls",
            "none",
            "--from",
            "me@example.org",
            "--to",
            "nobody@example.test",
            "--quit-after",
            "rcpt",
        ])
        .run();
    assert_eq!(out.code, 7, "{out}");
    assert!(out.stdout.contains("550 5.1.1"), "{out}");
}

/// A stock Postfix counts every refused recipient as an error: past 10 it waits a
/// second before each reply (smtpd_soft_error_limit, smtpd_error_sleep_time), at 20 it
/// answers `421 4.7.0 Error: too many errors` and closes (smtpd_hard_error_limit).
/// verify runs into that once, says so, and then ends each session before 20 refusals,
/// so every address gets its true verdict: none is cut off twice and left `temporary`.
/// The tarpit's waits are sat out, not worked around.
#[test]
fn verify_against_a_stock_postfix_learns_its_error_limit() {
    let Some(postfix) = PostfixInstance::start(PostfixOptions::new().users(&["u25"])) else {
        return;
    };
    let list: String = (0..45).map(|i| format!("u{i}@example.test\n")).collect();
    let out = Smtpx::new()
        .args(&["verify", "--server", &postfix.server_arg(), "--tls", "none"])
        .args(&["--from", "me@example.org", "--format", "csv"])
        .stdin(list.as_bytes())
        .run();
    assert_eq!(out.code, 7, "{out}");
    let rows: Vec<&str> = out.stdout.lines().skip(1).collect();
    assert_eq!(rows.len(), 45, "{out}");
    let verdict = |address: &str| {
        rows.iter()
            .find(|r| r.contains(&format!(",{address},")))
            .and_then(|r| r.split(',').nth(2))
            .unwrap_or_else(|| panic!("no row for {address}: {out}"))
            .to_owned()
    };
    assert_eq!(verdict("u25@example.test"), "deliverable");
    for i in (0..45).filter(|&i| i != 25) {
        assert_eq!(
            verdict(&format!("u{i}@example.test")),
            "undeliverable",
            "{out}"
        );
    }
    assert!(
        out.stderr
            .contains("Error: too many errors) after 0 RSETs and 20 refused recipients;"),
        "{}",
        out.stderr
    );
    let log = postfix.maillog_after_sessions(3);
    assert_eq!(log.matches("too many errors").count(), 1, "{log}");
}
