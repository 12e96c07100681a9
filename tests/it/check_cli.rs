//! `smtpx check` through the binary: every verdict and hostile case against the scripted
//! server, a domain's MX hosts through dnsmasq, and real peers (smtp-sink, aiosmtpd).

use serde_json::json;

use crate::support::certs::{CertKind, TestPki};
use crate::support::dns::{DnsServer, RecordSpec};
use crate::support::peers::{Aiosmtpd, AiosmtpdOptions, PostfixInstance, PostfixOptions, SmtpSink};
use crate::support::run::{Out, smtpx};
use crate::support::scripted::{ScriptedServer, Step, ehlo_reply, expect, send};

/// Reading the `== check` screen.
trait CheckScreen {
    fn has(&self, want: &str) -> bool;
    /// The verdict line for `topic`, e.g. "  warn  auth         AUTH ...".
    fn verdict(&self, topic: &str) -> Option<&str>;
    fn level(&self, topic: &str) -> &str;
}

impl CheckScreen for Out {
    fn has(&self, want: &str) -> bool {
        self.stdout.contains(want)
    }

    fn verdict(&self, topic: &str) -> Option<&str> {
        self.stdout.lines().find(|l| {
            let mut words = l.split_whitespace();
            l.starts_with("  ")
                && matches!(words.next(), Some("pass" | "warn" | "fail"))
                && words.next() == Some(topic)
        })
    }

    fn level(&self, topic: &str) -> &str {
        self.verdict(topic)
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or("none")
    }
}

/// `smtpx check ADDR` with stable output; reverse DNS of 127.0.0.1 never leaves the
/// resolver (RFC 6761 §6.3 "localhost"), so a dead --dns-server is never asked.
fn check(target: &str, extra: &[&str]) -> Out {
    let mut args = vec![
        "check",
        target,
        "--no-timing",
        "--timeout",
        "20s",
        "--helo",
        "client.test",
        "--dns-server",
        "127.0.0.1:9",
        "--dns-timeout",
        "1s",
    ];
    args.extend_from_slice(extra);
    smtpx(&args)
}

/// The probes after EHLO, with the replies given; ends with QUIT.
fn probes(vrfy: &str, expn: &str, turn: &str) -> Vec<Step> {
    vec![
        expect("VRFY postmaster"),
        send(vrfy),
        expect("EXPN postmaster"),
        send(expn),
        expect("HELP"),
        send("214-2.0.0 Commands: EHLO MAIL RCPT DATA\r\n214 2.0.0 End of HELP\r\n"),
        expect("NOOP"),
        send("250 2.0.0 Ok\r\n"),
        expect("TURN"),
        send(turn),
        expect("QUIT"),
        send("221 2.0.0 Bye\r\n"),
        Step::Close,
    ]
}

fn quiet_probes() -> Vec<Step> {
    probes(
        "252 2.0.0 Cannot VRFY user\r\n",
        "502 5.5.1 EXPN disabled\r\n",
        "502 5.5.2 TURN not implemented\r\n",
    )
}

/// Greeting as `name`, EHLO offering STARTTLS, the upgrade with `kind`, EHLO in TLS.
fn starttls_opening(pki: &TestPki, kind: CertKind, name: &str, after: &[&str]) -> Vec<Step> {
    vec![
        send(&format!("220 {name} ESMTP scripted\r\n")),
        expect("EHLO client.test"),
        Step::Send(ehlo_reply(
            name,
            &["PIPELINING", "SIZE 10240000", "STARTTLS"],
        )),
        expect("STARTTLS"),
        send("220 2.0.0 Ready to start TLS\r\n"),
        Step::StartTls(pki.server_config(kind)),
        expect("EHLO client.test"),
        Step::Send(ehlo_reply(name, after)),
    ]
}

fn plain_opening(name: &str, caps: &[&str]) -> Vec<Step> {
    vec![
        send(&format!("220 {name} ESMTP scripted\r\n")),
        expect("EHLO client.test"),
        Step::Send(ehlo_reply(name, caps)),
    ]
}

#[test]
fn a_healthy_server_passes_every_check() {
    let pki = TestPki::new();
    let ca = pki.ca_pem_path.display().to_string();
    let mut script = starttls_opening(
        &pki,
        CertKind::Valid,
        "localhost",
        &["PIPELINING", "SIZE 10240000", "AUTH PLAIN LOGIN"],
    );
    script.extend(quiet_probes());
    let server = ScriptedServer::start(script);
    let out = check(&server.server_arg(), &["--tls-ca", &ca]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    for (topic, level) in [
        ("greeting", "pass"),
        ("ehlo", "pass"),
        ("starttls", "pass"),
        ("certificate", "pass"),
        ("expiry", "pass"),
        ("auth", "pass"),
        ("reverse-dns", "pass"),
        ("vrfy", "pass"),
        ("expn", "pass"),
        ("turn", "pass"),
    ] {
        assert_eq!(out.level(topic), level, "{topic}:\n{}", out.stdout);
    }
    for want in [
        "banner name    localhost",
        "127.0.0.1 -> localhost -> ",
        "(forward-confirmed)",
        "  STARTTLS                   upgrade to TLS (RFC 3207)",
        "SIZE 10240000              messages up to 10240000 bytes (9.8 MiB)",
        "after TLS      changed:",
        "  + AUTH PLAIN LOGIN",
        "  - STARTTLS",
        "TLS            STARTTLS: TLSv1.3",
        "issuer CN=smtpx Test CA",
        "verification   certificate verified",
        "HELP           214 2.0.0 Commands: EHLO MAIL RCPT DATA",
        "               2.0.0 End of HELP",
        "NOOP           250 2.0.0 Ok",
        "relay test     not run (--relay-test)",
        "ok: 127.0.0.1: 10 pass, 0 warn, 0 fail",
    ] {
        assert!(out.has(want), "missing {want:?} in\n{}", out.stdout);
    }
    let screen = &out.stdout[out.stdout.find("== check").unwrap()..];
    assert!(
        !screen.contains(" ms"),
        "timings despite --no-timing:\n{screen}"
    );
    // The transcript comes first, the report after it.
    assert!(out.stdout.find("> TURN").unwrap() < out.stdout.find("== check").unwrap());
}

#[test]
fn plaintext_only_with_auth_fails_starttls_and_warns_auth() {
    let mut script = plain_opening("mx.test", &["PIPELINING", "AUTH PLAIN LOGIN"]);
    script.extend(quiet_probes());
    let server = ScriptedServer::start(script);
    let out = check(&server.server_arg(), &[]);
    server.finish().assert_clean();
    assert_eq!(out.code, 7, "{}", out.stdout);
    assert_eq!(out.level("starttls"), "fail", "{}", out.stdout);
    assert!(out.verdict("starttls").unwrap().contains("clear text"));
    assert_eq!(out.level("auth"), "warn");
    assert!(
        out.verdict("auth")
            .unwrap()
            .contains("AUTH PLAIN LOGIN offered without TLS")
    );
    // PTR localhost against the banner mx.test.
    assert_eq!(out.level("reverse-dns"), "warn");
    assert!(out.verdict("reverse-dns").unwrap().contains("(mx.test)"));
    assert!(out.has("failed: 127.0.0.1: "), "{}", out.stdout);
}

#[test]
fn certificate_verdicts() {
    let cases = [
        (CertKind::ExpiresSoon, 0, "expiry", "warn", "expires in"),
        (CertKind::Expired, 7, "expiry", "fail", "expired"),
        (CertKind::Expired, 7, "certificate", "fail", "expired"),
        (
            CertKind::SelfSigned,
            7,
            "certificate",
            "fail",
            "self-signed",
        ),
    ];
    for (kind, code, topic, level, words) in cases {
        let pki = TestPki::new();
        let ca = pki.ca_pem_path.display().to_string();
        let mut script = starttls_opening(&pki, kind, "localhost", &["PIPELINING"]);
        script.extend(quiet_probes());
        let server = ScriptedServer::start(script);
        let out = check(&server.server_arg(), &["--tls-ca", &ca]);
        server.finish().assert_clean();
        assert_eq!(out.code, code, "{kind:?}: {}", out.stdout);
        assert_eq!(out.level(topic), level, "{kind:?}: {}", out.stdout);
        assert!(
            out.verdict(topic).unwrap().contains(words),
            "{kind:?}: {}",
            out.stdout
        );
        // Opportunistic TLS goes on with an unverified certificate, labelled as such.
        if code == 7 {
            assert!(out.has("?> VRFY postmaster"), "{}", out.stdout);
        }
    }
}

#[test]
fn starttls_refused_and_offered_again_inside_tls() {
    let mut script = plain_opening("localhost", &["STARTTLS"]);
    script.extend([expect("STARTTLS"), send("454 4.7.0 TLS not available\r\n")]);
    script.extend(quiet_probes());
    let server = ScriptedServer::start(script);
    let out = check(&server.server_arg(), &[]);
    server.finish().assert_clean();
    assert_eq!(out.code, 7, "{}", out.stdout);
    assert!(
        out.verdict("starttls")
            .unwrap()
            .contains("454 4.7.0 TLS not available")
    );

    let pki = TestPki::new();
    let ca = pki.ca_pem_path.display().to_string();
    let same = ["PIPELINING", "SIZE 10240000", "STARTTLS"];
    let mut script = starttls_opening(&pki, CertKind::Valid, "localhost", &same);
    script.extend(quiet_probes());
    let server = ScriptedServer::start(script);
    let out = check(&server.server_arg(), &["--tls-ca", &ca]);
    server.finish().assert_clean();
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(out.level("after-tls"), "warn", "{}", out.stdout);
    assert!(out.has("after TLS      no change"), "{}", out.stdout);
}

#[test]
fn vrfy_and_expn_that_answer_are_warnings() {
    let mut script = plain_opening("localhost", &[]);
    script.extend(probes(
        "250 2.1.5 Postmaster <postmaster@mx.test>\r\n",
        "250-2.1.5 Ann <ann@mx.test>\r\n250 2.1.5 Bob <bob@mx.test>\r\n",
        "500 5.5.1 unknown command\r\n",
    ));
    let server = ScriptedServer::start(script);
    let out = check(&server.server_arg(), &[]);
    server.finish().assert_clean();
    assert_eq!(out.level("vrfy"), "warn", "{}", out.stdout);
    assert_eq!(out.level("expn"), "warn", "{}", out.stdout);
    assert_eq!(out.level("turn"), "pass");
    assert!(out.has("VRFY           250 2.1.5 Postmaster <postmaster@mx.test>"));
}

#[test]
fn turn_accepted_fails_and_the_session_is_dropped_without_quit() {
    let mut script = plain_opening("localhost", &["STARTTLS"]);
    script.extend([expect("STARTTLS"), send("502 5.5.1 no\r\n")]);
    let mut tail = probes(
        "502 5.5.1 VRFY disabled\r\n",
        "502 5.5.1 EXPN disabled\r\n",
        "250 OK, your turn\r\n",
    );
    tail.truncate(tail.len() - 3);
    script.extend(tail);
    script.push(Step::ReadUntilClose);
    let server = ScriptedServer::start(script);
    let out = check(&server.server_arg(), &[]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 7, "{}", out.stdout);
    assert_eq!(out.level("turn"), "fail");
    assert!(out.verdict("turn").unwrap().contains("Appendix F.1"));
    assert!(
        !record.commands.iter().any(|c| c == "QUIT"),
        "{:?}",
        record.commands
    );
    assert!(out.verdict("session").is_none(), "{}", out.stdout);
}

fn relay_script(rcpt_reply: &str) -> Vec<Step> {
    let mut script = plain_opening("localhost", &["STARTTLS"]);
    script.extend([expect("STARTTLS"), send("454 4.7.0 not now\r\n")]);
    let mut tail = quiet_probes();
    let turn_at = tail.len() - 5;
    let relay = vec![
        expect("MAIL FROM:<smtpx-relay-test@example.com>"),
        send("250 2.1.0 Ok\r\n"),
        expect("RCPT TO:<smtpx-relay-test@example.net>"),
        send(rcpt_reply),
        expect("RSET"),
        send("250 2.0.0 Ok\r\n"),
    ];
    tail.splice(turn_at..turn_at, relay);
    script.extend(tail);
    script
}

#[test]
fn relay_test_decides_at_rcpt_and_never_sends_data() {
    for (reply, level, words) in [
        ("250 2.1.5 Ok\r\n", "fail", "open relay"),
        (
            "554 5.7.1 Relay access denied\r\n",
            "pass",
            "Relay access denied",
        ),
        ("450 4.7.1 greylisted\r\n", "warn", "inconclusive"),
    ] {
        let server = ScriptedServer::start(relay_script(reply));
        let out = check(&server.server_arg(), &["--relay-test"]);
        let record = server.finish();
        record.assert_clean();
        assert_eq!(out.level("relay"), level, "{reply}: {}", out.stdout);
        assert!(
            out.verdict("relay").unwrap().contains(words),
            "{}",
            out.stdout
        );
        assert!(!record.commands.iter().any(|c| c.starts_with("DATA")));
    }
    // Never by default: the plain script has no MAIL step and would fail on one.
    let mut script = plain_opening("localhost", &[]);
    script.extend(quiet_probes());
    let server = ScriptedServer::start(script);
    check(&server.server_arg(), &[]);
    server.finish().assert_clean();
}

#[test]
fn helo_only_servers_and_lost_sessions() {
    let mut script = vec![
        send("220 localhost old-timer\r\n"),
        expect("EHLO"),
        send("502 5.5.2 what?\r\n"),
        expect("HELO client.test"),
        send("250 localhost\r\n"),
    ];
    script.extend(quiet_probes());
    let server = ScriptedServer::start(script);
    let out = check(&server.server_arg(), &[]);
    server.finish().assert_clean();
    assert_eq!(out.level("ehlo"), "warn", "{}", out.stdout);
    assert!(out.verdict("ehlo").unwrap().contains("HELO only"));

    let mut script = plain_opening("localhost", &["STARTTLS"]);
    script.extend([expect("STARTTLS"), send("454 4.7.0 no\r\n")]);
    script.extend([expect("VRFY"), Step::Close]);
    let server = ScriptedServer::start(script);
    let out = check(&server.server_arg(), &[]);
    server.finish();
    assert_eq!(out.code, 7, "{}", out.stdout);
    assert_eq!(out.level("session"), "fail", "{}", out.stdout);
    assert!(
        out.verdict("session")
            .unwrap()
            .contains("ended early at vrfy")
    );
}

#[test]
fn hostile_capabilities_are_escaped_bounded_and_kept() {
    let keywords: Vec<String> = (0..900).map(|i| format!("X-KEYWORD-{i}")).collect();
    let mut caps: Vec<&str> = vec!["SIZE abc", "X-\u{1b}]0;owned\u{7}TITLE", "STARTTLS"];
    caps.extend(keywords.iter().map(String::as_str));
    let mut script = vec![
        send("220 localhost \u{1b}[2J ESMTP\r\n"),
        expect("EHLO client.test"),
        Step::Send(ehlo_reply("localhost", &caps)),
        expect("STARTTLS"),
        send("454 4.7.0 no\r\n"),
    ];
    script.extend(quiet_probes());
    let server = ScriptedServer::start(script);
    let out = check(&server.server_arg(), &[]);
    server.finish().assert_clean();
    assert!(!out.stdout.contains('\u{1b}') && !out.stdout.contains('\u{7}'));
    assert!(out.has("\\x1b[2J"), "{}", out.stdout);
    assert!(out.has("X-\\x1b]0;OWNED\\x07TITLE"), "{}", out.stdout);
    assert!(
        out.has("... and 863 more (all are in --json)"),
        "{}",
        out.stdout
    );
    assert_eq!(out.level("size"), "warn");
    assert!(out.verdict("size").unwrap().contains("'abc'"));
    let screen = &out.stdout[out.stdout.find("== check").unwrap()..];
    assert!(
        screen.lines().count() < 100,
        "the screen is bounded:\n{screen}"
    );

    let mut script = vec![
        send("220 localhost ESMTP\r\n"),
        expect("EHLO client.test"),
        Step::Send(ehlo_reply("localhost", &["SIZE 99999999999999999999"])),
    ];
    script.extend(quiet_probes());
    let server = ScriptedServer::start(script);
    let out = check(&server.server_arg(), &["--json"]);
    server.finish().assert_clean();
    let objects = out.json();
    let report = objects.iter().find(|o| o["type"] == "check").unwrap();
    assert_eq!(report["capabilities"][0]["keyword"], "SIZE");
    assert!(
        report["capabilities"][0]["meaning"]
            .as_str()
            .unwrap()
            .contains("unreadable")
    );
    assert!(
        report["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["topic"] == "size" && v["level"] == "warn")
    );
}

#[test]
fn thousands_of_keywords_are_a_protocol_violation() {
    let keywords: Vec<String> = (0..3000).map(|i| format!("X-K{i}")).collect();
    let caps: Vec<&str> = keywords.iter().map(String::as_str).collect();
    let script = vec![
        send("220 localhost ESMTP\r\n"),
        expect("EHLO"),
        Step::Send(ehlo_reply("localhost", &caps)),
        Step::ReadUntilClose,
    ];
    let server = ScriptedServer::start(script);
    let out = check(&server.server_arg(), &[]);
    server.finish();
    assert_eq!(out.code, 9, "{}", out.stdout);
    assert!(out.has("more than 1000 lines"), "{}", out.stdout);
    assert!(out.has("not reached"), "{}", out.stdout);
}

#[test]
fn json_is_the_same_screen_as_data() {
    let pki = TestPki::new();
    let ca = pki.ca_pem_path.display().to_string();
    let mut script = starttls_opening(&pki, CertKind::Valid, "localhost", &["AUTH PLAIN"]);
    script.extend(quiet_probes());
    let server = ScriptedServer::start(script);
    let out = check(&server.server_arg(), &["--tls-ca", &ca, "--json"]);
    server.finish().assert_clean();
    assert_eq!(out.code, 0, "{}", out.stdout);
    let objects = out.json();
    let report = objects.iter().find(|o| o["type"] == "check").unwrap();
    assert_eq!(report["banner_name"], "localhost");
    assert_eq!(report["reverse_dns"]["confirmed"][0], "localhost");
    assert_eq!(report["tls"]["verification"]["status"], "verified");
    assert_eq!(report["capability_changes"]["added"][0]["keyword"], "AUTH");
    assert_eq!(report["vrfy"]["code"], 252);
    assert_eq!(report["turn"]["code"], 502);
    assert!(report.get("timings_ms").is_none());
    let result = objects.last().unwrap();
    assert_eq!(result["type"], "result");
    assert_eq!(result["exit_code"], 0);
    assert_eq!(result["hosts"][0]["fail"], 0);
    // Events come first, as for every session.
    assert_eq!(objects[0]["type"], "connecting");
}

#[test]
fn timings_are_shown_for_each_phase() {
    let mut script = plain_opening("localhost", &[]);
    script.extend(quiet_probes());
    let server = ScriptedServer::start(script);
    let out = smtpx(&[
        "check",
        &server.server_arg(),
        "--helo",
        "client.test",
        "--dns-server",
        "127.0.0.1:9",
        "--timeout",
        "20s",
    ]);
    server.finish().assert_clean();
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("timings"))
        .unwrap();
    for phase in [
        "connect",
        "greeting",
        "EHLO",
        "VRFY",
        "EXPN",
        "HELP",
        "NOOP",
        "TURN",
        "reverse DNS",
    ] {
        assert!(line.contains(phase), "{phase} missing from {line}");
    }
}

#[test]
fn an_unreachable_server_keeps_the_connection_exit_code() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = check(&format!("127.0.0.1:{port}"), &[]);
    assert_eq!(out.code, 4, "{}{}", out.stdout, out.stderr);
    assert!(out.has("not reached"), "{}", out.stdout);
}

#[test]
fn bad_input_is_refused_before_connecting() {
    for args in [
        vec!["check", "bad host name"],
        vec!["check", "x.test:99999"],
        vec![
            "check",
            "127.0.0.1:25",
            "--relay-test",
            "--relay-to",
            "no-at-sign",
        ],
    ] {
        let out = smtpx(&args);
        assert_eq!(out.code, 2, "{args:?}: {}{}", out.stdout, out.stderr);
    }
}

#[test]
fn a_domain_checks_every_mx_host() {
    let mut one = plain_opening("mx1.check.test", &[]);
    one.extend(quiet_probes());
    let mut two = plain_opening("mx2.check.test", &[]);
    two.extend(quiet_probes());
    let server = ScriptedServer::start_many(vec![one, two]);
    let Some(dns) = DnsServer::start(&[
        ("check.test", RecordSpec::Mx(10, "mx1.check.test")),
        ("check.test", RecordSpec::Mx(20, "mx2.check.test")),
        ("check.test", RecordSpec::Mx(30, "gone.check.test")),
        ("mx1.check.test", RecordSpec::Addr("127.0.0.1")),
        ("mx2.check.test", RecordSpec::Addr("127.0.0.1")),
        ("nullmx.test", RecordSpec::NullMx),
    ]) else {
        return;
    };
    let dns_arg = dns.addr().to_string();
    let port = server.addr().port().to_string();
    let out = smtpx(&[
        "check",
        "check.test",
        "--port",
        &port,
        "--helo",
        "client.test",
        "--dns-server",
        &dns_arg,
        "--no-timing",
        "--timeout",
        "30s",
    ]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(record.connections, 2);
    let first = out.stdout.find("== check mx1.check.test").unwrap();
    let second = out.stdout.find("== check mx2.check.test").unwrap();
    let gone = out.stdout.find("== check gone.check.test").unwrap();
    assert!(first < second && second < gone, "{}", out.stdout);
    assert!(out.has(", MX preference 20 =="), "{}", out.stdout);
    assert!(out.has("  fail  dns          gone.check.test has no usable address"));
    // Worst host first: the dangling MX target is a DNS failure (3) but each live
    // host fails its STARTTLS check (7), and 7 is more severe.
    assert_eq!(out.code, 7, "{}", out.stdout);

    let out = smtpx(&["check", "nullmx.test", "--dns-server", &dns_arg]);
    assert_eq!(out.code, 3, "{}", out.stdout);
    assert!(out.has("null MX"), "{}", out.stdout);
}

#[test]
fn smtp_sink_is_an_open_relay_without_starttls() {
    let Some(sink) = SmtpSink::start(&[]) else {
        return;
    };
    let out = check(&sink.server_arg(), &["--relay-test"]);
    assert_eq!(out.code, 7, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.level("starttls"), "fail", "{}", out.stdout);
    assert_eq!(out.level("auth"), "warn");
    assert_eq!(out.level("relay"), "fail");
    assert!(out.has("banner name    smtp-sink"), "{}", out.stdout);
    assert!(out.has("XFORWARD NAME ADDR PROTO HELO"), "{}", out.stdout);
}

#[test]
fn aiosmtpd_with_starttls_refuses_relaying() {
    let pki = TestPki::new();
    let (cert, key) = pki.leaf_pem(CertKind::Valid);
    // AUTH is offered only after STARTTLS; RCPT outside aio.test is relaying.
    let opts = AiosmtpdOptions::new()
        .hostname("aio.test")
        .size_limit(1_000_000)
        .starttls(&cert, &key)
        .auth("tim", "unused")
        .auth_require_tls()
        .policy(json!({
            "@aio.test": "250 2.1.5 OK",
            "*": "554 5.7.1 Relay access denied",
            "vrfy": {"postmaster": "250 2.1.5 Postmaster <postmaster@aio.test>"},
        }));
    let Some(peer) = Aiosmtpd::start(opts) else {
        return;
    };
    let ca = pki.ca_pem_path.display().to_string();
    let out = check(&peer.server_arg(), &["--tls-ca", &ca, "--relay-test"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.level("starttls"), "pass", "{}", out.stdout);
    assert_eq!(out.level("certificate"), "pass");
    assert_eq!(out.level("auth"), "pass", "AUTH only inside TLS");
    assert_eq!(out.level("relay"), "pass");
    assert_eq!(out.level("vrfy"), "warn");
    assert_eq!(out.level("expn"), "pass");
    assert_eq!(out.level("turn"), "pass");
    assert!(out.has("SIZE 1000000"), "{}", out.stdout);
    assert!(out.has("banner name    aio.test"));
}

#[test]
fn a_private_postfix_with_starttls_passes() {
    let pki = TestPki::new();
    let (cert, key) = pki.leaf_pem(CertKind::Valid);
    let opts = PostfixOptions::new()
        .tls(&cert, &key)
        .message_size_limit(5_000_000);
    let Some(postfix) = PostfixInstance::start(opts) else {
        return;
    };
    let ca = pki.ca_pem_path.display().to_string();
    let out = check(&postfix.server_arg(), &["--tls-ca", &ca, "--relay-test"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    for (topic, level) in [
        ("starttls", "pass"),
        ("certificate", "pass"),
        ("vrfy", "pass"),
        ("expn", "pass"),
        ("turn", "pass"),
        ("relay", "pass"),
        ("reverse-dns", "warn"),
        ("after-tls", "none"),
    ] {
        assert_eq!(out.level(topic), level, "{topic}:\n{}", out.stdout);
    }
    assert!(
        out.has("VRFY           252 2.0.0 postmaster"),
        "{}",
        out.stdout
    );
    assert!(out.has("SIZE 5000000               messages up to 5000000 bytes (4.8 MiB)"));
    assert!(out.has("  - STARTTLS"), "{}", out.stdout);
}

#[test]
fn refused_greetings_and_implicit_tls_keep_their_codes() {
    for (greeting, code) in [("421 4.3.2 busy\r\n", 8), ("554 5.7.1 go away\r\n", 7)] {
        let server =
            ScriptedServer::start(vec![send(greeting), expect("QUIT"), send("221 bye\r\n")]);
        let out = check(&server.server_arg(), &[]);
        server.finish().assert_clean();
        assert_eq!(out.code, code, "{greeting}: {}", out.stdout);
        assert_eq!(out.level("greeting"), "fail", "{}", out.stdout);
    }
    // Implicit TLS with a bad certificate stops before the greeting: exit 5, and the
    // screen still shows the certificate and why it failed.
    let pki = TestPki::new();
    let ca = pki.ca_pem_path.display().to_string();
    let server = ScriptedServer::start(vec![
        Step::StartTls(pki.server_config(CertKind::SelfSigned)),
        Step::ReadUntilClose,
    ]);
    let out = check(
        &server.server_arg(),
        &["--tls", "implicit", "--tls-ca", &ca],
    );
    server.finish();
    assert_eq!(out.code, 5, "{}", out.stdout);
    assert_eq!(out.level("certificate"), "fail", "{}", out.stdout);
    assert!(out.has("not reached"), "{}", out.stdout);
}
