//! PRDR (draft-hall-prdr-00) and REQUIRETLS (RFC 8689) against the scripted
//! server: per-recipient replies after the dot, shown and counted like LMTP;
//! REQUIRETLS only over verified TLS to a server that offers it.

use crate::support::certs::{CertKind, TestPki};
use crate::support::run::{Out, Smtpx};
use crate::support::scripted::{ScriptedServer, Step, ehlo_reply, expect, greeting_ehlo, send};

fn send_to(server: &ScriptedServer, extra: &[&str]) -> Out {
    Smtpx::send()
        .args(&["--server", &server.server_arg(), "--helo", "client.test"])
        .args(&[
            "--from",
            "me@example.org",
            "--body",
            "hello",
            "--no-pipelining",
        ])
        .args(extra)
        .run()
}

/// MAIL (with PRDR), three accepted RCPTs, DATA and the content.
fn prdr_envelope(caps: &[&str]) -> Vec<Step> {
    let mut script = greeting_ehlo(caps);
    script.extend([
        expect("MAIL FROM:<me@example.org> PRDR"),
        send("250 2.1.0 Ok\r\n"),
    ]);
    for _ in 0..3 {
        script.extend([expect("RCPT TO:"), send("250 2.1.5 Ok\r\n")]);
    }
    script.extend([expect("DATA"), send("354 go ahead\r\n"), Step::ExpectData]);
    script
}

fn quit() -> [Step; 3] {
    [expect("QUIT"), send("221 2.0.0 Bye\r\n"), Step::Close]
}

const THREE: [&str; 6] = [
    "--to",
    "a@example.org",
    "--to",
    "b@example.org",
    "--to",
    "c@example.org",
];

#[test]
fn prdr_mixed_replies_are_each_counted() {
    let mut script = prdr_envelope(&["PRDR", "8BITMIME"]);
    script.extend([
        send("353 content analysis started\r\n"),
        send("250 2.0.0 a delivered\r\n"),
        send("550 5.7.1 b refuses this content\r\n"),
        send("451 4.2.0 c try later\r\n"),
        send("250 2.0.0 Ok: queued as PRDR1\r\n"),
    ]);
    script.extend(quit());
    let server = ScriptedServer::start(script);
    let out = send_to(&server, &[&["--prdr"][..], &THREE].concat());
    server.finish().assert_clean();
    // Delivered for one, refused for two: the worst refusal (5xx) decides.
    assert_eq!(out.code, 7, "{out}");
    let lines = out.lines();
    let at = |line: &str| {
        lines
            .iter()
            .position(|l| *l == line)
            .unwrap_or_else(|| panic!("no {line:?} in {out}"))
    };
    assert_eq!(
        at("<- 353 content analysis started") + 1,
        at("<- 250 2.0.0 a delivered")
    );
    assert_eq!(
        lines[at("<- 250 2.0.0 a delivered") + 1],
        "*  the reply above is for a@example.org"
    );
    assert_eq!(
        lines[at("<- 550 5.7.1 b refuses this content") + 1],
        "*  the reply above is for b@example.org"
    );
    assert_eq!(
        lines[at("<- 451 4.2.0 c try later") + 1],
        "*  the reply above is for c@example.org"
    );
    assert!(
        out.outcome().starts_with(
            "partially accepted: for 1 of 3 recipients, queued as PRDR1; refused: \
             b@example.org (550 5.7.1 b refuses this content), c@example.org (451 4.2.0 c try later)"
        ),
        "{out}"
    );
}

#[test]
fn prdr_json_and_temporary_refusals_only() {
    let mut script = prdr_envelope(&["PRDR"]);
    script.extend([
        send("353 go\r\n"),
        send("250 2.0.0 a ok\r\n"),
        send("250 2.0.0 b ok\r\n"),
        send("452 4.2.2 c over quota\r\n"),
        send("250 2.0.0 done\r\n"),
    ]);
    script.extend(quit());
    let server = ScriptedServer::start(script);
    let out = send_to(&server, &[&["--prdr", "--json"][..], &THREE].concat());
    server.finish().assert_clean();
    assert_eq!(out.code, 8, "{out}");
    let result = out.result();
    assert_eq!(result["status"], "partially-accepted");
    let r = &result["recipients"];
    assert_eq!(r[0]["data_reply"]["code"], 250, "{result}");
    assert_eq!(r[2]["accepted"], false, "{result}");
    assert_eq!(r[2]["reply"]["code"], 250, "{result}");
    assert_eq!(r[2]["data_reply"]["code"], 452, "{result}");
}

#[test]
fn prdr_all_refused_is_a_rejection() {
    let mut script = prdr_envelope(&["PRDR"]);
    script.extend([
        send("353 go\r\n"),
        send("550 5.7.1 a no\r\n"),
        send("550 5.7.1 b no\r\n"),
        send("550 5.7.1 c no\r\n"),
        send("550 5.7.1 refused for every recipient\r\n"),
    ]);
    script.extend(quit());
    let server = ScriptedServer::start(script);
    let out = send_to(&server, &[&["--prdr"][..], &THREE].concat());
    server.finish().assert_clean();
    assert_eq!(out.code, 7, "{out}");
    assert!(
        out.outcome()
            .starts_with("rejected: at final-dot: 550 5.7.1 refused for every recipient"),
        "{out}"
    );
}

#[test]
fn prdr_declined_for_the_message_counts_one_reply_for_all() {
    let mut script = prdr_envelope(&["PRDR"]);
    script.extend([send("250 2.0.0 Ok: queued as WHOLE\r\n")]);
    script.extend(quit());
    let server = ScriptedServer::start(script);
    let out = send_to(&server, &[&["--prdr"][..], &THREE].concat());
    server.finish().assert_clean();
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.outcome()
            .starts_with("accepted: for 3 of 3 recipients, queued as WHOLE"),
        "{out}"
    );
}

#[test]
fn prdr_not_offered_warns_and_sends_normally() {
    let mut script = greeting_ehlo(&["8BITMIME"]);
    script.extend([
        expect("MAIL FROM:<me@example.org>"),
        send("250 2.1.0 Ok\r\n"),
        expect("RCPT TO:"),
        send("250 2.1.5 Ok\r\n"),
        expect("DATA"),
        send("354 go ahead\r\n"),
        Step::ExpectData,
        send("250 2.0.0 Ok: queued as PLAIN\r\n"),
    ]);
    script.extend(quit());
    let server = ScriptedServer::start(script);
    let out = send_to(&server, &["--prdr", "--to", "a@example.org"]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.all().contains("the server does not offer PRDR"),
        "{out}"
    );
    assert!(!record.received_text().contains("PRDR"), "{out}");
}

#[test]
fn prdr_reply_out_of_turn_is_a_violation_with_unknown_fate() {
    let mut script = prdr_envelope(&["PRDR"]);
    script.extend([
        send("353 go\r\n"),
        send("250 2.0.0 a ok\r\n"),
        send("354 what\r\n"),
        Step::ReadUntilClose,
    ]);
    let server = ScriptedServer::start(script);
    let out = send_to(&server, &[&["--prdr"][..], &THREE].concat());
    server.finish();
    assert_eq!(out.code, 9, "{out}");
    assert!(
        out.outcome().contains("per-recipient reply was due"),
        "{out}"
    );
}

/// STARTTLS with a certificate for `localhost`, then EHLO offering `caps`.
fn tls_session(pki: &TestPki, caps: &[&str]) -> Vec<Step> {
    let mut script = greeting_ehlo(&["STARTTLS"]);
    script.extend([
        expect("STARTTLS"),
        send("220 2.0.0 Ready to start TLS\r\n"),
        Step::StartTls(pki.server_config(CertKind::Valid)),
        expect("EHLO"),
        Step::Send(ehlo_reply("mx.test", caps)),
    ]);
    script
}

fn tls_args(pki: &TestPki) -> Vec<String> {
    vec![
        "--tls-ca".into(),
        pki.ca_pem_path.display().to_string(),
        "--tls-server-name".into(),
        "localhost".into(),
    ]
}

#[test]
fn requiretls_goes_on_mail_over_verified_tls() {
    let pki = TestPki::new();
    let mut script = tls_session(&pki, &["REQUIRETLS", "8BITMIME"]);
    script.extend([
        expect("MAIL FROM:<me@example.org>"),
        send("250 2.1.0 Ok\r\n"),
        expect("RCPT TO:"),
        send("250 2.1.5 Ok\r\n"),
        expect("DATA"),
        send("354 go ahead\r\n"),
        Step::ExpectData,
        send("250 2.0.0 Ok: queued as RTLS\r\n"),
    ]);
    script.extend(quit());
    let server = ScriptedServer::start(script);
    let tls = tls_args(&pki);
    let tls: Vec<&str> = tls.iter().map(String::as_str).collect();
    let out = send_to(
        &server,
        &[&tls[..], &["--requiretls", "--to", "a@example.org"]].concat(),
    );
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    assert!(
        record
            .commands
            .iter()
            .any(|c| c.starts_with("MAIL FROM:<me@example.org>") && c.ends_with(" REQUIRETLS")),
        "{:?}",
        record.commands
    );
}

#[test]
fn requiretls_not_offered_is_refused_before_mail() {
    let pki = TestPki::new();
    let mut script = tls_session(&pki, &["8BITMIME"]);
    script.extend(quit());
    let server = ScriptedServer::start(script);
    let tls = tls_args(&pki);
    let tls: Vec<&str> = tls.iter().map(String::as_str).collect();
    let out = send_to(
        &server,
        &[&tls[..], &["--requiretls", "--to", "a@example.org"]].concat(),
    );
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 5, "{out}");
    assert!(
        out.outcome()
            .contains("--requiretls (RFC 8689): the server does not offer REQUIRETLS"),
        "{out}"
    );
    assert!(!record.received_text().contains("MAIL"), "{out}");
}

#[test]
fn requiretls_without_tls_is_refused_before_mail() {
    // Offered, but over plaintext: the promise cannot be kept on the first hop.
    let mut script = greeting_ehlo(&["REQUIRETLS"]);
    script.extend(quit());
    let server = ScriptedServer::start(script);
    let out = send_to(&server, &["--requiretls", "--to", "a@example.org"]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 5, "{out}");
    assert!(
        out.outcome()
            .contains("not TLS with a verified certificate"),
        "{out}"
    );
    assert!(!record.received_text().contains("MAIL"), "{out}");
}

#[test]
fn requiretls_over_unverified_tls_is_refused_before_mail() {
    let pki = TestPki::new();
    let mut script = tls_session(&pki, &["REQUIRETLS"]);
    script.extend(quit());
    let server = ScriptedServer::start(script);
    // Opportunistic TLS without the test CA: encrypted, but not verified.
    let out = send_to(&server, &["--requiretls", "--to", "a@example.org"]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 5, "{out}");
    assert!(!record.received_text().contains("MAIL"), "{out}");
}

#[test]
fn requiretls_with_tls_none_is_a_usage_error() {
    let out = Smtpx::send()
        .args(&["-s", "127.0.0.1:1", "--tls", "none", "--requiretls"])
        .args(&["--to", "a@example.org"])
        .run();
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("--requiretls with --tls none"), "{out}");
}

#[test]
fn prdr_works_with_a_pipelined_envelope() {
    let mut script = greeting_ehlo(&["PIPELINING", "PRDR"]);
    script.extend([
        expect("MAIL FROM:<me@example.org> PRDR"),
        expect("RCPT TO:<a@example.org>"),
        expect("RCPT TO:<b@example.org>"),
        expect("DATA"),
        send("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354 go ahead\r\n"),
        Step::ExpectData,
        send("353 go\r\n250 2.0.0 a ok\r\n550 5.7.1 b no\r\n250 2.0.0 done\r\n"),
    ]);
    script.extend(quit());
    let server = ScriptedServer::start(script);
    let out = Smtpx::send()
        .args(&["--server", &server.server_arg(), "--helo", "client.test"])
        .args(&["--from", "me@example.org", "--body", "hello", "--prdr"])
        .args(&["--to", "a@example.org,b@example.org"])
        .run();
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 7, "{out}");
    assert!(
        out.outcome()
            .starts_with("partially accepted: for 1 of 2 recipients"),
        "{out}"
    );
}
