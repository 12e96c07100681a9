//! `smtpx send --protocol lmtp` (RFC 2033): LHLO, and one reply per accepted
//! recipient after the final dot, each shown and counted — against a private
//! Dovecot LMTP server, and the hostile cases against the scripted server.

use crate::support::peers::DovecotLmtp;
use crate::support::run::{Out, Smtpx};
use crate::support::scripted::{ScriptedServer, Step, ehlo_reply, expect, send};

fn lmtp(server: &str, args: &[&str]) -> Out {
    Smtpx::send()
        .args(&[
            "--protocol",
            "lmtp",
            "--server",
            server,
            "--helo",
            "client.test",
        ])
        .args(&[
            "--from",
            "me@example.org",
            "--subject",
            "lmtp",
            "--body",
            "hello",
        ])
        .args(args)
        .run()
}

#[test]
fn dovecot_answers_each_recipient_and_an_unknown_one_is_counted() {
    let Some(dovecot) = DovecotLmtp::start(&["alice", "bob"]) else {
        return;
    };
    let out = lmtp(
        &dovecot.server_arg(),
        &[
            "--to",
            "alice@example.test,nobody@example.test,bob@example.test",
        ],
    );
    // Partial delivery: the worst refusal decides (550 at RCPT → 7).
    assert_eq!(out.code, 7, "{out}");
    let lines = out.lines();
    assert!(lines.contains(&"-> LHLO client.test"), "{out}");
    assert!(!out.stdout.contains("EHLO"), "{out}");
    let saved: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with("<- 250 2.0.0 <") && l.ends_with("Saved"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(saved.len(), 2, "one reply per accepted recipient: {out}");
    assert!(lines[saved[0]].contains("<alice@example.test>"), "{out}");
    assert_eq!(
        lines[saved[0] + 1],
        "*  the reply above is for alice@example.test"
    );
    assert!(lines[saved[1]].contains("<bob@example.test>"), "{out}");
    assert_eq!(
        lines[saved[1] + 1],
        "*  the reply above is for bob@example.test"
    );
    assert!(
        out.outcome().starts_with(
            "partially accepted: for 2 of 3 recipients; refused: nobody@example.test (550 5.1.1"
        ),
        "{out}"
    );
    assert_eq!(dovecot.mailbox("alice").len(), 1, "{}", dovecot.log());
    assert_eq!(dovecot.mailbox("bob").len(), 1, "{}", dovecot.log());
}

#[test]
fn json_gives_each_recipient_its_reply_after_the_dot() {
    let Some(dovecot) = DovecotLmtp::start(&["alice", "bob"]) else {
        return;
    };
    let out = lmtp(
        &dovecot.server_arg(),
        &[
            "--json",
            "--to",
            "alice@example.test,bob@example.test,nobody@example.test",
        ],
    );
    assert_eq!(out.code, 7, "{out}");
    let result = out.result();
    assert_eq!(result["status"], "partially-accepted", "{result}");
    let recipients = result["recipients"].as_array().expect("recipients");
    assert_eq!(recipients.len(), 3);
    for (r, who) in recipients[..2].iter().zip(["alice", "bob"]) {
        assert_eq!(r["accepted"], true, "{r}");
        assert_eq!(r["reply"]["code"], 250, "{r}");
        assert_eq!(r["data_reply"]["code"], 250, "{r}");
        let text = r["data_reply"]["text"].as_str().unwrap_or_default();
        assert!(text.contains(&format!("<{who}@example.test>")), "{r}");
    }
    assert_eq!(recipients[2]["accepted"], false);
    assert_eq!(recipients[2]["reply"]["code"], 550);
    assert!(
        recipients[2].get("data_reply").is_none(),
        "{}",
        recipients[2]
    );
}

#[test]
fn every_recipient_known_is_a_full_success() {
    let Some(dovecot) = DovecotLmtp::start(&["alice", "bob"]) else {
        return;
    };
    let out = lmtp(
        &dovecot.server_arg(),
        &["--to", "alice@example.test", "--to", "bob@example.test"],
    );
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.outcome().starts_with("accepted: for 2 of 2 recipients"),
        "{out}"
    );
}

#[test]
fn lmtp_needs_a_server_and_a_port_of_its_own() {
    let no_server = Smtpx::send()
        .args(&["--protocol", "lmtp", "--to", "a@example.test"])
        .run();
    assert_eq!(no_server.code, 2, "{no_server}");
    assert!(
        no_server.stderr.contains("--protocol lmtp needs --server"),
        "{no_server}"
    );
    let port_25 = Smtpx::send()
        .args(&[
            "--protocol",
            "LMTP",
            "-s",
            "127.0.0.1",
            "--to",
            "a@example.test",
        ])
        .run();
    assert_eq!(port_25.code, 2, "{port_25}");
    assert!(port_25.stderr.contains("port other than 25"), "{port_25}");
    let prdr = Smtpx::send()
        .args(&[
            "--protocol",
            "lmtp",
            "-s",
            "127.0.0.1:24",
            "--prdr",
            "--to",
            "a@example.test",
        ])
        .run();
    assert_eq!(prdr.code, 2, "{prdr}");
}

/// LHLO and an envelope of two accepted recipients, one at a time.
fn lmtp_envelope() -> Vec<Step> {
    vec![
        send("220 lmtp.test LMTP ready\r\n"),
        expect("LHLO client.test"),
        Step::Send(ehlo_reply(
            "lmtp.test",
            &["8BITMIME", "ENHANCEDSTATUSCODES"],
        )),
        expect("MAIL FROM:<me@example.org>"),
        send("250 2.1.0 OK\r\n"),
        expect("RCPT TO:<a@example.test>"),
        send("250 2.1.5 OK\r\n"),
        expect("RCPT TO:<b@example.test>"),
        send("250 2.1.5 OK\r\n"),
        expect("DATA"),
        send("354 OK\r\n"),
        Step::ExpectData,
    ]
}

#[test]
fn a_recipient_refused_after_the_dot_is_a_partial_delivery() {
    let mut script = lmtp_envelope();
    script.extend([
        send("250 2.0.0 <a@example.test> Saved\r\n"),
        send("452 4.2.2 <b@example.test> Mailbox is full\r\n"),
        expect("QUIT"),
        send("221 2.0.0 Bye\r\n"),
        Step::Close,
    ]);
    let server = ScriptedServer::start(script);
    let out = lmtp(
        &server.server_arg(),
        &["--to", "a@example.test,b@example.test", "--chunking"],
    );
    server.finish().assert_clean();
    assert_eq!(out.code, 8, "{out}");
    // Per-recipient replies come after the final dot: no BDAT.
    assert!(out.stdout.contains("sending with DATA"), "{out}");
    assert!(
        out.outcome().starts_with(
            "partially accepted: for 1 of 2 recipients; refused: b@example.test (452 4.2.2 <b@example.test> Mailbox is full)"
        ),
        "{out}"
    );
}

#[test]
fn a_connection_lost_between_the_replies_leaves_the_rest_unknown() {
    let mut script = lmtp_envelope();
    script.extend([send("250 2.0.0 <a@example.test> Saved\r\n"), Step::Close]);
    let server = ScriptedServer::start(script);
    let out = lmtp(
        &server.server_arg(),
        &["--json", "--to", "a@example.test,b@example.test"],
    );
    server.finish();
    assert_eq!(out.code, 10, "{out}");
    let result = out.result();
    assert_eq!(result["status"], "unknown", "{result}");
    assert_eq!(result["phase"], "final-dot", "{result}");
    let r = &result["recipients"];
    assert_eq!(r[0]["data_reply"]["code"], 250, "{result}");
    assert!(r[1].get("data_reply").is_none(), "{result}");
}

#[test]
fn a_refused_lhlo_never_falls_back_to_helo() {
    let server = ScriptedServer::start(vec![
        send("220 lmtp.test ready\r\n"),
        expect("LHLO client.test"),
        send("500 5.5.1 unknown command\r\n"),
        expect("QUIT"),
        send("221 2.0.0 Bye\r\n"),
        Step::Close,
    ]);
    let out = lmtp(&server.server_arg(), &["--to", "a@example.test"]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 7, "{out}");
    assert!(!record.received_text().contains("HELO "), "{out}");
}

/// LMTP servers usually listen on a Unix socket: Dovecot's, the same delivery.
#[test]
fn dovecot_over_its_unix_socket_answers_each_recipient() {
    let Some(dovecot) = DovecotLmtp::start(&["alice", "bob"]) else {
        return;
    };
    let socket = dovecot.socket();
    let out = Smtpx::send()
        .args(&["--protocol", "lmtp", "--socket"])
        .arg(&socket)
        .args(&["--helo", "client.test", "--from", "me@example.org"])
        .args(&[
            "--to",
            "alice@example.test,bob@example.test",
            "--body",
            "hi",
        ])
        .run();
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.contains("-> LHLO client.test"), "{out}");
    assert_eq!(
        out.stdout.matches("*  the reply above is for").count(),
        2,
        "{out}"
    );
}
