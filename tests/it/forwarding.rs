//! `--xclient` and `--xforward` (Postfix XCLIENT, XFORWARD) against a private
//! Postfix that trusts 127.0.0.1 for both, judged by the client Postfix
//! recorded; and the refusals before MAIL against the scripted server.

use std::time::Duration;

use crate::support::peers::{PostfixInstance, PostfixOptions};
use crate::support::run::{Out, Smtpx};
use crate::support::scripted::{ScriptedServer, expect, greeting_ehlo, send};

const DELIVERY: Duration = Duration::from_secs(30);

fn send_to(server: &str, extra: &[&str]) -> Out {
    Smtpx::send()
        .args(&["--server", server, "--helo", "client.test"])
        .args(&["--from", "me@example.org", "--to", "you@example.test"])
        .args(&["--subject", "forwarded", "--body", "hello"])
        .args(extra)
        .run()
}

fn trusting_postfix() -> Option<PostfixInstance> {
    PostfixInstance::start(
        PostfixOptions::new()
            .main_cf("smtpd_authorized_xclient_hosts = 127.0.0.1")
            .main_cf("smtpd_authorized_xforward_hosts = 127.0.0.1"),
    )
}

#[test]
fn postfix_records_the_client_named_by_xclient() {
    let Some(postfix) = trusting_postfix() else {
        return;
    };
    let out = send_to(
        &postfix.server_arg(),
        &[
            "--xclient",
            "ADDR=192.0.2.7",
            "--xclient",
            "name=client.example",
            "--xclient",
            "HELO=proxied.example",
        ],
    );
    assert_eq!(out.code, 0, "{out}");
    let lines = out.lines();
    let xclient = lines
        .iter()
        .position(|l| l.starts_with("-> XCLIENT "))
        .unwrap_or_else(|| panic!("no XCLIENT in {out}"));
    // The client's identity goes last (see the split below).
    assert_eq!(
        lines[xclient],
        "-> XCLIENT HELO=proxied.example ADDR=192.0.2.7 NAME=client.example"
    );
    assert!(lines[xclient + 1].starts_with("<- 220 "), "{out}");
    // EHLO again after the new greeting, before MAIL.
    assert_eq!(lines[xclient + 2], "-> EHLO client.test", "{out}");
    let delivered = postfix.delivered(DELIVERY);
    assert_eq!(delivered.len(), 1, "{}", postfix.maillog());
    let text = String::from_utf8_lossy(&delivered[0]);
    // The EHLO after XCLIENT names the client again, as Postfix records.
    assert!(
        text.contains("from client.test (client.example [192.0.2.7])"),
        "Received header should name the XCLIENT client:\n{text}"
    );
    assert!(
        postfix
            .maillog()
            .contains("client=client.example[192.0.2.7]"),
        "{}",
        postfix.maillog()
    );
}

/// Postfix judges each XCLIENT by the client the previous one named: the
/// identity (NAME, ADDR) must come in the last command, or the next one is
/// refused as unauthorised.
#[test]
fn a_long_xclient_list_goes_as_several_commands() {
    let Some(postfix) = trusting_postfix() else {
        return;
    };
    let label = "a".repeat(60);
    let long_name = format!("{label}.{label}.{label}.example");
    let login = format!("LOGIN={}", "u".repeat(200));
    let name = format!("NAME={long_name}");
    let helo = format!("HELO={long_name}");
    let out = send_to(
        &postfix.server_arg(),
        &[
            "--xclient",
            "ADDR=192.0.2.8",
            "--xclient",
            &name,
            "--xclient",
            &helo,
            "--xclient",
            &login,
        ],
    );
    assert_eq!(out.code, 0, "{out}");
    let sent: Vec<&str> = out
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("-> XCLIENT "))
        .collect();
    assert!(sent.len() >= 2, "{out}");
    assert!(
        sent.last().is_some_and(|l| l.contains("ADDR=192.0.2.8")),
        "{out}"
    );
    assert!(sent.iter().all(|l| l.len() - 3 + 2 <= 512), "{out}");
    let delivered = postfix.delivered(DELIVERY);
    assert_eq!(delivered.len(), 1, "{}", postfix.maillog());
    assert!(
        postfix
            .maillog()
            .contains(&format!("client={long_name}[192.0.2.8]")),
        "{}",
        postfix.maillog()
    );
}

#[test]
fn postfix_records_the_client_named_by_xforward() {
    let Some(postfix) = trusting_postfix() else {
        return;
    };
    let out = send_to(
        &postfix.server_arg(),
        &[
            "--xforward",
            "ADDR=198.51.100.9",
            "--xforward",
            "NAME=origin.example",
            "--xforward",
            "PROTO=ESMTP",
        ],
    );
    assert_eq!(out.code, 0, "{out}");
    let lines = out.lines();
    let at = lines
        .iter()
        .position(|l| l.starts_with("-> XFORWARD "))
        .unwrap_or_else(|| panic!("no XFORWARD in {out}"));
    assert_eq!(
        lines[at],
        "-> XFORWARD ADDR=198.51.100.9 NAME=origin.example PROTO=ESMTP"
    );
    assert!(lines[at + 1].starts_with("<- 250 "), "{out}");
    assert!(lines[at + 2].starts_with("-> MAIL FROM:"), "{out}");
    let delivered = postfix.delivered(DELIVERY);
    assert_eq!(delivered.len(), 1, "{}", postfix.maillog());
    let log = postfix.maillog();
    assert!(log.contains("origin.example[198.51.100.9]"), "{log}");
}

#[test]
fn an_untrusted_client_gets_postfix_s_refusal() {
    // Without smtpd_authorized_xclient_hosts Postfix does not list XCLIENT at
    // all (it offers it only to authorised clients): refused before MAIL.
    let Some(postfix) = PostfixInstance::start(PostfixOptions::new()) else {
        return;
    };
    let out = send_to(&postfix.server_arg(), &["--xclient", "ADDR=192.0.2.7"]);
    assert_eq!(out.code, 7, "{out}");
    assert!(
        out.outcome().contains("the server does not offer XCLIENT"),
        "{out}"
    );
    assert!(!out.stdout.contains("-> MAIL"), "{out}");
    assert!(postfix.delivered_now().is_empty());
}

#[test]
fn unlisted_attributes_are_not_sent_and_a_refusal_is_a_rejection() {
    let mut script = greeting_ehlo(&["XCLIENT NAME ADDR"]);
    script.extend([
        expect("XCLIENT ADDR=192.0.2.7"),
        send("550 5.7.0 insufficient authorization\r\n"),
        expect("QUIT"),
        send("221 2.0.0 Bye\r\n"),
        crate::support::scripted::Step::Close,
    ]);
    let server = ScriptedServer::start(script);
    let out = send_to(
        &server.server_arg(),
        &["--xclient", "ADDR=192.0.2.7", "--xclient", "LOGIN=someone"],
    );
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 7, "{out}");
    assert!(
        out.all()
            .contains("the server's XCLIENT does not list LOGIN: not sent"),
        "{out}"
    );
    assert!(
        out.outcome()
            .starts_with("rejected: at xclient: 550 5.7.0 insufficient authorization"),
        "{out}"
    );
}

#[test]
fn xforward_not_offered_stops_before_mail() {
    let mut script = greeting_ehlo(&["PIPELINING"]);
    script.extend([
        expect("QUIT"),
        send("221 2.0.0 Bye\r\n"),
        crate::support::scripted::Step::Close,
    ]);
    let server = ScriptedServer::start(script);
    let out = send_to(&server.server_arg(), &["--xforward", "ADDR=192.0.2.7"]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 7, "{out}");
    assert!(
        out.outcome().contains("the server does not offer XFORWARD"),
        "{out}"
    );
}

#[test]
fn bad_attributes_are_usage_errors() {
    for (flag, value) in [
        ("--xclient", "IDENT=x"),
        ("--xclient", "ADDR"),
        ("--xforward", "DESTADDR=192.0.2.1"),
        ("--xforward", "ADDR="),
    ] {
        let out = Smtpx::send()
            .args(&["-s", "127.0.0.1:1", "--to", "a@example.test", flag, value])
            .run();
        assert_eq!(out.code, 2, "{flag} {value}: {out}");
        assert!(out.stderr.contains(&format!("invalid {flag}")), "{out}");
    }
}
