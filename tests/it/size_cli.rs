//! `smtpx size` through the binary: the advertised limit, the probes at and over it,
//! the bounded search, hostile SIZE values, against aiosmtpd, smtp-sink and the
//! scripted server.

use smtpx::diagnosis::rules::human_bytes;
use smtpx::smtp::size_probe::{MAX_PROBES, SearchResult, SizeSearch};

use serde_json::json;

use crate::support::peers::{Aiosmtpd, AiosmtpdOptions, PostfixInstance, PostfixOptions, SmtpSink};
use crate::support::run::{Out, smtpx};
use crate::support::scripted::{ScriptedServer, Step, ehlo_reply, expect, send};

fn size(target: &str, extra: &[&str]) -> Out {
    let mut args = vec![
        "size",
        target,
        "--no-timing",
        "--timeout",
        "20s",
        "--from",
        "probe@client.test",
    ];
    args.extend_from_slice(extra);
    smtpx(&args)
}

fn opening(caps: &[&str]) -> Vec<Step> {
    vec![
        send("220 mx.test ESMTP\r\n"),
        expect("EHLO"),
        Step::Send(ehlo_reply("mx.test", caps)),
    ]
}

fn quit() -> [Step; 3] {
    [expect("QUIT"), send("221 bye\r\n"), Step::Close]
}

/// One probe: MAIL with SIZE=n answered as the server's limit says, then RSET.
fn probe(n: u64, limit: u64) -> [Step; 4] {
    let reply = if n <= limit {
        "250 2.1.0 Ok\r\n"
    } else {
        "552 5.3.4 Message size exceeds fixed limit\r\n"
    };
    [
        expect(&format!("MAIL FROM:<probe@client.test> SIZE={n}")),
        send(reply),
        expect("RSET"),
        send("250 2.0.0 Ok\r\n"),
    ]
}

#[test]
fn aiosmtpd_enforces_its_advertised_limit() {
    // MAIL answered with aiosmtpd's own "250 OK"; SIZE over the limit is
    // refused by aiosmtpd itself before the policy is asked.
    let opts = AiosmtpdOptions::new()
        .size_limit(1_000_000)
        .policy(json!({"mail": {"*": "250 OK"}}));
    let Some(peer) = Aiosmtpd::start(opts) else {
        return;
    };
    let out = size(&peer.server_arg(), &[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    for want in [
        "advertised     SIZE 1000000: messages up to 1000000 bytes (976.6 KiB)",
        "SIZE=1000000 (976.6 KiB)        accepted  250 OK",
        "SIZE=1000001 (976.6 KiB)        refused   552 Error: message size exceeds fixed maximum message size",
        "limit 1000000 enforced at MAIL, as advertised",
        "-> RSET",
    ] {
        assert!(
            out.stdout.contains(want),
            "missing {want:?} in\n{}",
            out.stdout
        );
    }
    assert!(!out.stdout.contains("DATA"), "no message is ever sent");
}

#[test]
fn smtp_sink_has_no_size_so_nothing_is_declared() {
    let Some(sink) = SmtpSink::start(&[]) else {
        return;
    };
    let out = size(&sink.server_arg(), &["--probe"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(out.stdout.contains("no SIZE extension"), "{}", out.stdout);
    assert!(!out.stdout.contains("-> MAIL"), "{}", out.stdout);
}

#[test]
fn a_limit_not_enforced_at_mail_and_one_refused_outright() {
    let mut script = opening(&["SIZE 5000"]);
    script.extend(probe(5000, u64::MAX));
    script.extend(probe(5001, u64::MAX));
    script.extend(quit());
    let server = ScriptedServer::start(script);
    let out = size(&server.server_arg(), &[]);
    server.finish().assert_clean();
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("was accepted at MAIL; the limit may still apply after DATA")
    );

    let mut script = opening(&["SIZE 5000"]);
    script.extend([
        expect("MAIL FROM:<probe@client.test> SIZE=5000"),
        send("553 5.7.1 sender rejected\r\n"),
        expect("RSET"),
        send("250 Ok\r\n"),
    ]);
    script.extend(probe(5001, 0));
    script.extend(quit());
    let server = ScriptedServer::start(script);
    let out = size(&server.server_arg(), &["--json"]);
    server.finish().assert_clean();
    assert_eq!(out.code, 0, "the probes ran: {}", out.stdout);
    let objects = out.json();
    let report = objects.iter().find(|o| o["type"] == "size").unwrap();
    assert_eq!(report["advertised"]["limit"], 5000);
    assert_eq!(report["limit_check"], "refuses-its-own-limit");
    assert_eq!(report["probes"][0]["reply"]["code"], 553);
}

#[test]
fn probe_searches_when_no_limit_is_stated() {
    // The server says SIZE 0 (no fixed limit) but refuses above 3 MB.
    let limit = 3_000_000;
    let mut search = SizeSearch::new();
    let mut script = opening(&["SIZE 0"]);
    while let Some(n) = search.next_probe() {
        script.extend(probe(n, limit));
        search.record(n, n <= limit);
    }
    script.extend(quit());
    let server = ScriptedServer::start(script);
    let out = size(&server.server_arg(), &["--probe"]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 0, "{}", out.stdout);
    let mails = record
        .commands
        .iter()
        .filter(|c| c.starts_with("MAIL"))
        .count();
    assert!(mails <= MAX_PROBES, "{mails} MAIL commands");
    let SearchResult::Between { accepted, .. } = search.result() else {
        panic!("{:?}", search.result())
    };
    assert!(accepted <= limit && limit - accepted <= limit / 1000);
    let want = format!(
        "largest accepted declaration: between {}",
        human_bytes(accepted)
    );
    assert!(
        out.stdout.contains(&want),
        "missing {want:?} in\n{}",
        out.stdout
    );

    // Without --probe nothing is declared.
    let mut script = opening(&["SIZE"]);
    script.extend(quit());
    let server = ScriptedServer::start(script);
    let out = size(&server.server_arg(), &[]);
    server.finish().assert_clean();
    assert!(
        out.stdout.contains("no limit stated; --probe searches"),
        "{}",
        out.stdout
    );
}

#[test]
fn hostile_size_values() {
    for value in ["abc", "99999999999999999999", "-1"] {
        let mut script = opening(&[&format!("SIZE {value}")]);
        script.extend(quit());
        let server = ScriptedServer::start(script);
        let out = size(&server.server_arg(), &[]);
        server.finish().assert_clean();
        assert_eq!(out.code, 0, "{value}: {}", out.stdout);
        assert!(
            out.stdout
                .contains(&format!("SIZE '{value}': not a number")),
            "{value}: {}",
            out.stdout
        );
    }
    // An unreadable limit may still be searched: SIZE is offered.
    let mut script = opening(&["SIZE abc"]);
    script.extend(probe(smtpx::smtp::size_probe::CEILING, u64::MAX));
    script.extend(quit());
    let server = ScriptedServer::start(script);
    let out = size(&server.server_arg(), &["--probe"]);
    server.finish().assert_clean();
    assert!(
        out.stdout.contains("no limit enforced at MAIL"),
        "{}",
        out.stdout
    );
}

#[test]
fn unreachable_and_refused_servers_keep_the_usual_codes() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = size(&format!("127.0.0.1:{port}"), &[]);
    assert_eq!(out.code, 4, "{}", out.stdout);

    let server = ScriptedServer::start(vec![
        send("554 5.7.1 go away\r\n"),
        expect("QUIT"),
        send("221 bye\r\n"),
    ]);
    let out = size(&server.server_arg(), &[]);
    server.finish().assert_clean();
    assert_eq!(out.code, 7, "{}", out.stdout);
}

#[test]
fn a_private_postfix_enforces_message_size_limit() {
    let opts = PostfixOptions::new().message_size_limit(5_000_000);
    let Some(postfix) = PostfixInstance::start(opts) else {
        return;
    };
    let out = size(&postfix.server_arg(), &[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("refused   552 5.3.4 Message size exceeds fixed limit"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("limit 5000000 enforced at MAIL"),
        "{}",
        out.stdout
    );
}
