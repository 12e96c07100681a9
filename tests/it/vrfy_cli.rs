//! `smtpx vrfy` and `smtpx expn` through the binary: the RFC 5321 meaning of each
//! reply and the exit codes, against aiosmtpd, smtp-sink and the scripted server.

use serde_json::json;

use crate::support::dns::{DnsServer, RecordSpec};
use crate::support::peers::{Aiosmtpd, AiosmtpdOptions, PostfixInstance, PostfixOptions, SmtpSink};
use crate::support::run::{Out, smtpx};
use crate::support::scripted::{ScriptedServer, Step, ehlo_reply, expect, send};

fn query(verb: &str, server: &str, items: &[&str], extra: &[&str]) -> Out {
    let mut args = vec![verb, "--server", server, "--no-timing", "--timeout", "20s"];
    args.extend_from_slice(extra);
    args.push("--");
    args.extend_from_slice(items);
    smtpx(&args)
}

/// Greeting and EHLO (no STARTTLS), then each expected command with its reply, QUIT.
fn script(exchanges: &[(&str, &str)]) -> Vec<Step> {
    let mut s = vec![
        send("220 mx.test ESMTP\r\n"),
        expect("EHLO"),
        Step::Send(ehlo_reply("mx.test", &["PIPELINING"])),
    ];
    for (cmd, reply) in exchanges {
        s.push(expect(cmd));
        s.push(send(reply));
    }
    s.extend([expect("QUIT"), send("221 bye\r\n"), Step::Close]);
    s
}

#[test]
fn aiosmtpd_answers_250_252_and_550() {
    let opts = AiosmtpdOptions::new().policy(json!({"vrfy": {
        "bob": "250 2.1.5 Bob Example <bob@aio.test>",
        "maybe": "252 2.1.5 Cannot VRFY user, but will accept message and attempt delivery",
        "eve@aio.test": "550 5.1.1 <eve@aio.test>: Recipient address rejected: User unknown",
    }}));
    let Some(peer) = Aiosmtpd::start(opts) else {
        return;
    };
    let server = peer.server_arg();
    let out = query("vrfy", &server, &["bob", "maybe", "eve@aio.test"], &[]);
    assert_eq!(out.code, 7, "{}{}", out.stdout, out.stderr);
    for want in [
        "bob           250  verified: <bob@aio.test>",
        "maybe         252  cannot verify, will accept and try (not a confirmation that it exists)",
        "eve@aio.test  550  unknown or refused (<eve@aio.test>: Recipient address rejected: User unknown)",
        "rejected: 1 of 3 verified; 1 refused (eve@aio.test); 1 undecided (maybe)",
    ] {
        assert!(
            out.stdout.contains(want),
            "missing {want:?} in\n{}",
            out.stdout
        );
    }
    assert_eq!(query("vrfy", &server, &["bob"], &[]).code, 0);
    assert_eq!(query("vrfy", &server, &["maybe"], &[]).code, 8);
    // No EXPN list is configured, so the fixture answers 502: refused.
    let out = query("expn", &server, &["staff"], &[]);
    assert_eq!(out.code, 7, "{}", out.stdout);
    assert!(
        out.stdout.contains("EXPN is disabled on this server"),
        "{}",
        out.stdout
    );
}

#[test]
fn smtp_sink_verifies_everything_without_an_address() {
    let Some(sink) = SmtpSink::start(&[]) else {
        return;
    };
    let out = query("vrfy", &sink.server_arg(), &["anyone"], &[]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("250  verified (no address returned: Ok)"),
        "{}",
        out.stdout
    );
    let out = query("expn", &sink.server_arg(), &["list"], &[]);
    assert_eq!(out.code, 7, "{}", out.stdout);
    assert!(
        out.stdout.contains("500  EXPN is disabled"),
        "{}",
        out.stdout
    );
}

#[test]
fn expn_lists_the_members() {
    let server = ScriptedServer::start(script(&[(
        "EXPN staff",
        "250-2.1.5 Ann Example <ann@mx.test>\r\n250-2.1.5 <bob@mx.test>\r\n250 2.1.5 Carol \x1b[5m <carol@mx.test>\r\n",
    )]));
    let out = query("expn", &server.server_arg(), &["staff"], &[]);
    server.finish().assert_clean();
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stdout.contains("staff  250  expanded: 3 member(s)"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("Ann Example <ann@mx.test>"));
    assert!(out.stdout.contains("Carol \\x1b[5m <carol@mx.test>"));
    assert!(!out.stdout.contains('\u{1b}'));

    let server = ScriptedServer::start(script(&[("EXPN staff", "250 <ann@mx.test>\r\n")]));
    let out = query("expn", &server.server_arg(), &["staff"], &["--json"]);
    server.finish().assert_clean();
    let objects = out.json();
    let answer = objects.iter().find(|o| o["type"] == "expn").unwrap();
    assert_eq!(answer["members"][0], "<ann@mx.test>");
    assert_eq!(answer["meaning"], "verified");
    assert_eq!(objects.last().unwrap()["counts"]["verified"], 1);
}

#[test]
fn every_code_has_its_meaning_and_exit_code() {
    let cases = [
        (
            "251 User not local; will forward to <b@elsewhere.test>",
            0,
            "verified: <b@elsewhere.test>",
        ),
        ("252 2.1.5 Cannot VRFY user", 8, "cannot verify"),
        (
            "551 User not local; please try <b@elsewhere.test>",
            7,
            "unknown or refused",
        ),
        (
            "553 5.1.3 mailbox name not allowed",
            7,
            "unknown or refused",
        ),
        (
            "502 5.5.1 VRFY command is disabled",
            7,
            "VRFY is disabled on this server",
        ),
        ("450 4.2.1 try later", 8, "temporary failure"),
        ("530 5.7.0 Authentication required", 7, "refused"),
    ];
    for (reply, code, words) in cases {
        let server = ScriptedServer::start(script(&[("VRFY b", &format!("{reply}\r\n"))]));
        let out = query("vrfy", &server.server_arg(), &["b"], &[]);
        server.finish().assert_clean();
        assert_eq!(out.code, code, "{reply}: {}", out.stdout);
        assert!(out.stdout.contains(words), "{reply}: {}", out.stdout);
    }
}

#[test]
fn one_session_for_every_argument_and_new_ones_after_a_server_closes_one() {
    let server = ScriptedServer::start(script(&[
        ("VRFY a", "250 <a@mx.test>\r\n"),
        ("VRFY b", "250 <b@mx.test>\r\n"),
    ]));
    let out = query("vrfy", &server.server_arg(), &["a", "b"], &[]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(record.connections, 1);
    assert_eq!(out.code, 0, "{}", out.stdout);

    // The server closes after answering one: the rest goes in new sessions of one.
    let server = ScriptedServer::start_many(vec![
        vec![
            send("220 mx.test ESMTP\r\n"),
            expect("EHLO"),
            Step::Send(ehlo_reply("mx.test", &[])),
            expect("VRFY a"),
            send("550 5.1.1 no\r\n"),
            expect("VRFY b"),
            Step::Close,
        ],
        script(&[("VRFY b", "250 <b@mx.test>\r\n")]),
        script(&[("VRFY c", "252 2.1.5 cannot VRFY\r\n")]),
    ]);
    let out = query("vrfy", &server.server_arg(), &["a", "b", "c"], &[]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(record.connections, 3);
    assert_eq!(out.code, 7, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("the server closed the session after answering 1 command"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("b  250"), "{}", out.stdout);
    assert!(out.stdout.contains("c  252"), "{}", out.stdout);

    // A session that answers nothing leaves the rest not asked.
    let server = ScriptedServer::start(vec![
        send("220 mx.test ESMTP\r\n"),
        expect("EHLO"),
        Step::Send(ehlo_reply("mx.test", &[])),
        expect("VRFY a"),
        Step::Close,
    ]);
    let out = query("vrfy", &server.server_arg(), &["a", "b"], &[]);
    server.finish();
    assert_eq!(out.code, 8, "{}", out.stdout);
    assert!(
        out.stdout.contains("a  -    not asked: at vrfy:"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("b  -    not asked"), "{}", out.stdout);
}

#[test]
fn arguments_are_checked_before_connecting() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    for (items, words) in [
        (
            vec!["bob\r\nRCPT TO:<x@y.z>"],
            "invalid VRFY argument 'bob\\r\\nRCPT TO:<x@y.z>'",
        ),
        (
            vec!["ok", "a\u{1b}[2Jb"],
            "invalid VRFY argument 'a\\u{1b}[2Jb'",
        ),
        (vec![""], "is empty"),
    ] {
        let out = query("vrfy", &addr, &items, &[]);
        assert_eq!(out.code, 2, "{items:?}: {}{}", out.stdout, out.stderr);
        assert!(out.stderr.contains(words), "{items:?}: {}", out.stderr);
    }
    listener.set_nonblocking(true).unwrap();
    assert!(listener.accept().is_err(), "nothing may connect");
    let out = smtpx(&["expn", "staff"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("has no domain: give --server"),
        "{}",
        out.stderr
    );
}

#[test]
fn without_server_each_domain_is_asked_at_its_mx() {
    let server =
        ScriptedServer::start(script(&[("VRFY bob@vrfy.test", "250 <bob@vrfy.test>\r\n")]));
    let Some(dns) = DnsServer::start(&[
        ("vrfy.test", RecordSpec::Mx(10, "mx.vrfy.test")),
        ("mx.vrfy.test", RecordSpec::Addr("127.0.0.1")),
    ]) else {
        return;
    };
    let port = server.addr().port().to_string();
    let dns_arg = dns.addr().to_string();
    let out = smtpx(&[
        "vrfy",
        "bob@vrfy.test",
        "--port",
        &port,
        "--dns-server",
        &dns_arg,
        "--no-timing",
    ]);
    server.finish().assert_clean();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("Connecting to mx.vrfy.test"),
        "{}",
        out.stdout
    );
    let out = smtpx(&["vrfy", "x@nx.test", "--dns-server", &dns_arg]);
    assert_eq!(out.code, 3, "{}", out.stdout);
}

#[test]
fn a_private_postfix_never_confirms_with_250() {
    // A bare VRFY name gets @$myorigin appended: make that the mailbox domain.
    let opts = PostfixOptions::new()
        .users(&["root", "postmaster"])
        .main_cf("myorigin = example.test");
    let Some(postfix) = PostfixInstance::start(opts) else {
        return;
    };
    let server = postfix.server_arg();
    let out = query("vrfy", &server, &["root", "nobody-here"], &[]);
    assert_eq!(out.code, 7, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("root         252  cannot verify"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("nobody-here  550  unknown or refused"),
        "{}",
        out.stdout
    );
    let out = query("vrfy", &server, &["postmaster@example.test"], &[]);
    assert_eq!(out.code, 8, "252 is undecided: {}", out.stdout);
}
