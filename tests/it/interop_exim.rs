//! Against a private Exim 4.96 (Debian 12's exim4-daemon-light): the second most
//! deployed MTA, with a GnuTLS server, real PRDR and its own ACL replies.

use std::time::Duration;

use serde_json::Value;

use crate::support::certs::{CertKind, TestPki};
use crate::support::exim::{Exim, EximOptions};
use crate::support::run::{Out, Smtpx};

const WAIT: Duration = Duration::from_secs(20);

fn send(exim: &Exim, args: &[&str]) -> Out {
    Smtpx::send()
        .args(&["--server", &exim.server_arg(), "--helo", "client.test"])
        .args(&["--from", "me@example.org"])
        .args(args)
        .run()
}

fn assert_clean(exim: &Exim) {
    assert!(
        exim.panics().is_empty(),
        "Exim panicked: {:?}",
        exim.panics()
    );
}

#[test]
fn delivers_and_a_partial_refusal_keeps_the_queue_id() {
    let Some(exim) = Exim::start(EximOptions::new().users(&["you"])) else {
        return;
    };
    let out = send(
        &exim,
        &[
            "--tls",
            "none",
            "--to",
            "you@example.test",
            "--to",
            "nobody@example.test",
            "--subject",
            "via exim",
            "--body",
            "hello exim\n.dotted\n",
        ],
    );
    assert_eq!(out.code, 7, "{out}");
    assert!(out.lines().contains(&"<- 550 Unrouteable address"), "{out}");
    // Exim's queue ids look like 1xZypW-0000m6-2P.
    assert!(
        out.outcome()
            .starts_with("partially accepted: for 1 of 2 recipients, queued as 1"),
        "{out}"
    );
    assert!(
        out.lines()
            .iter()
            .any(|l| l.starts_with("<- 221 exim.example.test")),
        "{out}"
    );
    let delivered = exim.wait_delivered(1, WAIT);
    let text = String::from_utf8_lossy(&delivered[0]);
    assert!(text.contains("Subject: via exim"), "{text}");
    assert!(text.contains("hello exim\n.dotted\n"), "{text}");
    assert_clean(&exim);
}

#[test]
fn starttls_with_gnutls_on_the_other_side_is_verified() {
    let pki = TestPki::new();
    let (cert, key) = pki.leaf_pem(CertKind::Valid);
    let Some(exim) = Exim::start(EximOptions::new().users(&["you"]).tls(cert, key)) else {
        return;
    };
    let ca = pki.ca_pem_path.display().to_string();
    let out = send(
        &exim,
        &[
            "--tls",
            "starttls",
            "--tls-ca",
            &ca,
            "--tls-server-name",
            "localhost",
            "--to",
            "you@example.test",
            "--body",
            "over tls",
        ],
    );
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.contains("TLS handshake done"), "{out}");
    let delivered = exim.wait_delivered(1, WAIT);
    let text = String::from_utf8_lossy(&delivered[0]);
    // Exim's Received header names the TLS session: "with esmtps (TLS1.3) tls ...".
    assert!(text.contains("with esmtps"), "{text}");
    assert_clean(&exim);
}

#[test]
fn auth_plain_login_and_cram_md5_are_accepted_and_a_wrong_password_is_exit_6() {
    let pki = TestPki::new();
    let (cert, key) = pki.leaf_pem(CertKind::Valid);
    let opts = EximOptions::new()
        .users(&["you"])
        .tls(cert, key)
        .auth("alice", "s3cret-exim");
    let Some(exim) = Exim::start(opts) else {
        return;
    };
    let ca = pki.ca_pem_path.display().to_string();
    let run = |mechanism: &str, password: &str| {
        Smtpx::send()
            .args(&["--server", &exim.server_arg(), "--helo", "client.test"])
            .args(&["--from", "me@example.org", "--to", "you@example.test"])
            .args(&["--tls", "starttls", "--tls-ca", &ca])
            .args(&["--tls-server-name", "localhost"])
            .args(&["--user", "alice", "--password-env", "EXIM_TEST_PASSWORD"])
            .args(&["--auth", mechanism, "--body", "authenticated"])
            .env("EXIM_TEST_PASSWORD", password)
            .run()
    };
    for mechanism in ["plain", "login", "cram-md5"] {
        let out = run(mechanism, "s3cret-exim");
        assert_eq!(out.code, 0, "{mechanism}: {out}");
        assert!(out.stdout.contains("235 Authentication succeeded"), "{out}");
        assert!(!out.all().contains("s3cret-exim"), "password shown: {out}");
    }
    let log = exim.mainlog();
    for authenticator in ["A=plain:alice", "A=login:alice", "A=cram:alice"] {
        assert!(log.contains(authenticator), "no {authenticator} in\n{log}");
    }
    let out = run("plain", "wrong");
    assert_eq!(out.code, 6, "{out}");
    assert!(
        out.stdout.contains("<~ 535 Incorrect authentication data"),
        "{out}"
    );
    assert_clean(&exim);
}

#[test]
fn prdr_gives_each_recipient_its_own_reply_to_the_content() {
    let opts = EximOptions::new()
        .users(&["a", "b", "c"])
        .prdr_refuse(&["b"]);
    let Some(exim) = Exim::start(opts) else {
        return;
    };
    let mut args = vec!["--tls", "none", "--prdr", "--body", "per recipient"];
    for to in ["a@example.test", "b@example.test", "c@example.test"] {
        args.extend(["--to", to]);
    }
    let out = send(&exim, &args);
    assert_eq!(out.code, 7, "{out}");
    let lines = out.lines();
    assert!(lines.iter().any(|l| l.starts_with("<- 353 ")), "{out}");
    let refusal = lines
        .iter()
        .position(|l| *l == "<- 550 refused after the data for this recipient")
        .unwrap_or_else(|| panic!("no PRDR refusal in {out}"));
    assert_eq!(
        lines[refusal + 1],
        "*  the reply above is for b@example.test"
    );
    assert!(
        out.outcome()
            .starts_with("partially accepted: for 2 of 3 recipients, queued as 1")
            && out.outcome().contains(
                "refused: b@example.test (550 refused after the data for this recipient)"
            ),
        "{out}"
    );
    exim.wait_delivered(2, WAIT);
    assert_eq!(exim.delivered_to("a").len(), 1);
    assert_eq!(exim.delivered_to("c").len(), 1);
    assert!(exim.delivered_to("b").is_empty(), "b got the message");
    assert_clean(&exim);
}

#[test]
fn chunking_delivers_the_content_byte_for_byte() {
    let Some(exim) = Exim::start(EximOptions::new().users(&["you"])) else {
        return;
    };
    let out = send(
        &exim,
        &[
            "--tls",
            "none",
            "--chunking",
            "--to",
            "you@example.test",
            "--subject",
            "chunked",
            "--body",
            ".leading dot\nlast line\n",
        ],
    );
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.lines().iter().any(|l| l.starts_with("-> BDAT ")),
        "{out}"
    );
    let delivered = exim.wait_delivered(1, WAIT);
    let text = String::from_utf8_lossy(&delivered[0]);
    assert!(text.contains("\n.leading dot\nlast line\n"), "{text}");
    // Exim flags a message that came in BDAT chunks with K in its log line.
    assert!(exim.mainlog().contains(" P=esmtp K "), "{}", exim.mainlog());
    assert_clean(&exim);
}

#[test]
fn vrfy_and_expn_read_exims_answers() {
    let Some(exim) = Exim::start(EximOptions::new().users(&["you"])) else {
        return;
    };
    let out = Smtpx::new()
        .args(&["vrfy", "--server", &exim.server_arg(), "--tls", "none"])
        .args(&["you@example.test", "nobody@example.test", "--json"])
        .run();
    assert_eq!(out.code, 7, "{out}");
    let result = out.result();
    assert_eq!(result["counts"]["verified"], 1, "{result}");
    assert_eq!(result["counts"]["refused"], 1, "{result}");
    assert!(out.stdout.contains("Unrouteable address"), "{out}");
    let out = Smtpx::new()
        .args(&["expn", "--server", &exim.server_arg(), "--tls", "none"])
        .args(&["you@example.test"])
        .run();
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.contains("<you@example.test>"), "{out}");
    assert_clean(&exim);
}

/// The default sender is the null sender, which Exim accepts; batches are pipelined
/// (Exim checks that only the commands RFC 2920 allows come pipelined).
#[test]
fn verify_with_default_settings_decides_every_address() {
    let Some(exim) = Exim::start(EximOptions::new().users(&["u07", "u23"])) else {
        return;
    };
    let list: String = (0..40).map(|i| format!("u{i:02}@example.test\n")).collect();
    let out = Smtpx::new()
        .args(&["verify", "--server", &exim.server_arg(), "--tls", "none"])
        .args(&["--format", "jsonl"])
        .stdin(list.as_bytes())
        .run();
    assert_eq!(out.code, 7, "{out}");
    let rows = out.json();
    let verdict = |address: &str| -> Value {
        rows.iter()
            .find(|r| r["address"] == address)
            .unwrap_or_else(|| panic!("no row for {address}: {out}"))["verdict"]
            .clone()
    };
    assert_eq!(verdict("u07@example.test"), "deliverable");
    assert_eq!(verdict("u23@example.test"), "deliverable");
    assert_eq!(verdict("u08@example.test"), "undeliverable");
    let result = rows.last().unwrap();
    assert_eq!(result["counts"]["deliverable"], 2, "{result}");
    assert_eq!(result["counts"]["undeliverable"], 38, "{result}");
    let log = exim.mainlog();
    assert!(
        log.contains("F=<> rejected RCPT <u08@example.test>"),
        "{log}"
    );
    assert!(!log.contains("synchronization error"), "{log}");
    assert_clean(&exim);
}

#[test]
fn bench_counts_match_exims_log() {
    let Some(exim) = Exim::start(EximOptions::new().users(&["you"])) else {
        return;
    };
    let out = Smtpx::new()
        .args(&["bench", "--server", &exim.server_arg(), "--tls", "none"])
        .args(&["--from", "me@example.org", "--to", "you@example.test"])
        .args(&["-n", "20", "-c", "2", "--timeout", "60s", "--json"])
        .run();
    assert_eq!(out.code, 0, "{out}");
    let report = out
        .json()
        .into_iter()
        .find(|v| v["type"] == "bench")
        .unwrap_or_else(|| panic!("no report in {out}"));
    assert_eq!(report["messages"]["accepted"], 20, "{report}");
    assert_eq!(report["sessions"]["pipelining"], 2, "{report}");
    let received = exim
        .mainlog()
        .lines()
        .filter(|l| l.contains(" <= "))
        .count();
    assert_eq!(received, 20, "{}", exim.mainlog());
    assert_clean(&exim);
}

/// Exim counts every RSET after a session's first as a non-mail command and, past
/// `smtp_accept_max_nonmail` (10), answers `554 Too many nonmail commands` and closes.
/// A long list needs more transactions than that: the first session runs into the
/// limit once, smtpx says so, and every later session ends before it. The batch the
/// 554 cut off is asked again without using up its attempt, so every verdict is right.
#[test]
fn verify_learns_exims_rset_limit_and_opens_new_sessions_before_it() {
    let Some(exim) = Exim::start(EximOptions::new().users(&["u1500"])) else {
        return;
    };
    let list: String = (0..3000).map(|i| format!("u{i}@example.test\n")).collect();
    let out = Smtpx::new()
        .args(&["verify", "--server", &exim.server_arg(), "--tls", "none"])
        .args(&["--format", "csv"])
        .stdin(list.as_bytes())
        .run();
    assert_eq!(out.code, 7, "{}", out.stderr);
    let rows: Vec<&str> = out.stdout.lines().skip(1).collect();
    assert_eq!(rows.len(), 3000, "{}", out.stderr);
    let deliverable: Vec<&&str> = rows
        .iter()
        .filter(|r| r.contains(",deliverable,"))
        .collect();
    assert_eq!(deliverable.len(), 1, "{deliverable:?}");
    assert!(
        deliverable[0].contains("u1500@example.test"),
        "{deliverable:?}"
    );
    assert!(
        out.stderr
            .contains("(the server refused RSET: 554 Too many nonmail commands) after 11 RSETs"),
        "{}",
        out.stderr
    );
    let log = exim.mainlog();
    assert_eq!(log.matches("too many nonmail commands").count(), 1, "{log}");
    assert_eq!(
        log.matches("rejected RCPT").count(),
        2999 + 1,
        "each unknown once, and the probe"
    );
    assert_clean(&exim);
}

/// Exim counts VRFY toward smtp_accept_max_nonmail (10): past it, `554 Too many
/// nonmail commands` and a close. That 554 is not taken as an answer; the rest is
/// asked in new sessions of ten, so Exim drops smtpx once, not once per ten names.
#[test]
fn vrfy_of_many_names_goes_on_in_new_sessions_after_exims_limit() {
    let Some(exim) = Exim::start(EximOptions::new().users(&["you"])) else {
        return;
    };
    let names: Vec<String> = (1..=25).map(|i| format!("n{i}@example.test")).collect();
    let mut args = vec!["vrfy", "--server", "", "--tls", "none", "you@example.test"];
    let server = exim.server_arg();
    args[2] = &server;
    args.extend(names.iter().map(String::as_str));
    let out = Smtpx::new().args(&args).args(&["--json"]).run();
    assert_eq!(out.code, 7, "{out}");
    let result = out.result();
    assert_eq!(result["counts"]["verified"], 1, "{result}");
    assert_eq!(result["counts"]["refused"], 25, "{result}");
    // Every name has its own answer; none is the 554.
    let answers: Vec<Value> = out
        .json()
        .into_iter()
        .filter(|v| v["type"] == "vrfy")
        .collect();
    assert_eq!(answers.len(), 26, "{out}");
    for answer in &answers[1..] {
        assert_eq!(answer["reply"]["code"], 550, "{answer}");
    }
    assert!(out.stdout.contains("new sessions of at most 10"), "{out}");
    let log = exim.mainlog();
    assert_eq!(log.matches("too many nonmail commands").count(), 1, "{log}");
    assert_clean(&exim);
}
