//! `smtpx session` typed by a script against real peers: a private Postfix for a
//! STARTTLS delivery, Postfix with SASL for a bare AUTH run by smtpx, and
//! Dovecot for LMTP typed by hand.

use std::time::Duration;

use crate::support::certs::{CertKind, TestPki};
use crate::support::peers::{PostfixInstance, PostfixOptions};
use crate::support::run::{Out, Smtpx};

fn session(server: &str, ca: &str, extra: &[&str], typed: &str) -> Out {
    Smtpx::new()
        .args(&["session", "-s", server, "--no-timing", "--timeout", "30s"])
        .args(&["--tls-ca", ca, "--tls-server-name", "localhost"])
        .args(extra)
        .stdin(typed.as_bytes().to_vec())
        .run()
}

#[test]
fn a_delivery_typed_over_starttls_reaches_postfix() {
    let pki = TestPki::new();
    let (cert, key) = pki.leaf_pem(CertKind::Valid);
    let opts = PostfixOptions::new().tls(&cert, &key).users(&["you"]);
    let Some(postfix) = PostfixInstance::start(opts) else {
        return;
    };
    let typed = "EHLO client.test\nSTARTTLS\nEHLO client.test\nMAIL FROM:<me@example.org>\nRCPT TO:<you@example.test>\nDATA\nSubject: typed by hand\n\nhello postfix\n.dotted line\n.\nQUIT\n";
    let out = session(
        &postfix.server_arg(),
        &pki.ca_pem_path.display().to_string(),
        &[],
        typed,
    );
    assert_eq!(out.code, 0, "{out}");
    for want in [
        "-> STARTTLS",
        "<- 220 2.0.0 Ready to start TLS",
        "certificate verified",
        "~> EHLO client.test",
        "~> MAIL FROM:<me@example.org>",
        "~> [message:",
        "1 dot-stuffed",
        "<~ 250 2.0.0 Ok: queued as",
        "<~ 221 2.0.0 Bye",
        "ok: session ended after 221",
    ] {
        assert!(out.stdout.contains(want), "missing {want:?} in\n{out}");
    }
    let delivered = postfix.wait_delivered(1, Duration::from_secs(20));
    let text = String::from_utf8_lossy(&delivered[0]);
    assert!(text.contains("Subject: typed by hand"), "{text}");
    assert!(text.contains("hello postfix\n.dotted line\n"), "{text}");
    assert!(text.contains("with ESMTPS"), "{text}");
}

#[test]
fn bare_auth_is_run_by_smtpx_and_the_password_never_shows() {
    const CANARY: &str = "canary-Pw-7f3e9a";
    let pki = TestPki::new();
    let (cert, key) = pki.leaf_pem(CertKind::Valid);
    let opts = PostfixOptions::new()
        .tls(&cert, &key)
        .users(&["you"])
        .sasl(&[("tim", CANARY)]);
    let Some(postfix) = PostfixInstance::start(opts) else {
        return;
    };
    let ca = pki.ca_pem_path.display().to_string();
    for mech in ["PLAIN", "LOGIN"] {
        let typed = format!("EHLO client.test\n/tls\nEHLO client.test\nAUTH {mech}\nQUIT\n");
        let out = Smtpx::new()
            .args(&["session", "-s", &postfix.server_arg(), "--no-timing"])
            .args(&[
                "--timeout",
                "30s",
                "--tls-ca",
                &ca,
                "--tls-server-name",
                "localhost",
            ])
            .args(&["--user", "tim", "--password-env", "PW"])
            .env("PW", CANARY)
            .stdin(typed.into_bytes())
            .run();
        assert_eq!(out.code, 0, "{mech}: {out}");
        assert!(
            out.stdout
                .contains("<~ 235 2.7.0 Authentication successful"),
            "{mech}: {out}"
        );
        assert!(out.stdout.contains("[redacted"), "{mech}: {out}");
        assert!(
            !out.all().contains(CANARY),
            "{mech}: the password leaked\n{out}"
        );
        let forms = smtpx::smtp::redact::leak_forms(CANARY);
        for form in &forms {
            assert!(
                !out.all().contains(form.as_str()),
                "{mech}: {form} leaked\n{out}"
            );
        }
    }
}

/// Typed LHLO to Dovecot: the capabilities are read as from EHLO, and the final
/// dot waits for one reply per accepted recipient, so the NOOP that follows is
/// paired with its own reply (not with the second recipient's).
#[test]
fn a_typed_lmtp_delivery_reads_a_reply_per_recipient() {
    let Some(dovecot) = crate::support::peers::DovecotLmtp::start(&["alice", "bob"]) else {
        return;
    };
    let typed = "LHLO client.test\nMAIL FROM:<me@example.org>\nRCPT TO:<alice@example.test>\nRCPT TO:<nobody@example.test>\nRCPT TO:<bob@example.test>\nDATA\nSubject: typed\n\nhello\n.\nNOOP\nQUIT\n";
    let out = Smtpx::new()
        .args(&["session", "-s", &dovecot.server_arg(), "--no-timing"])
        .args(&["--timeout", "30s"])
        .stdin(typed.as_bytes().to_vec())
        .run();
    assert_eq!(out.code, 0, "{out}");
    let lines = out.lines();
    assert!(
        lines.iter().any(|l| l.starts_with("*  PIPELINING:")),
        "{out}"
    );
    let alice = lines
        .iter()
        .position(|l| l.contains("<alice@example.test>") && l.ends_with("Saved"))
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(
        lines[alice + 1],
        "*  LMTP: reply 1 of 2 to the message, one per accepted recipient in RCPT order"
    );
    assert!(lines[alice + 2].contains("<bob@example.test>"), "{out}");
    assert_eq!(lines[alice + 4], "-> NOOP", "{out}");
    assert!(lines[alice + 5].starts_with("<- 250 2.0.0 OK"), "{out}");
    assert!(
        out.outcome().starts_with("ok: session ended after 221"),
        "{out}"
    );
    assert_eq!(dovecot.mailbox("bob").len(), 1, "{}", dovecot.log());
}
