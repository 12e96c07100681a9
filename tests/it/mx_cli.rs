//! `smtpx mx`, and `smtpx send` routed by MX, against a real DNS server (dnsmasq) on a
//! loopback port and the scripted SMTP server.

use crate::support::dns::{DnsServer, RecordSpec};
use crate::support::run::{Out, smtpx};
use crate::support::scripted::{ScriptedServer, happy_send};

fn mx(dns: &DnsServer, domains: &[&str], extra: &[&str]) -> Out {
    let server = dns.addr().to_string();
    let mut args = vec!["mx", "--dns-server", &server, "--dns-timeout", "2s"];
    args.extend_from_slice(domains);
    args.extend_from_slice(extra);
    smtpx(&args)
}

#[test]
fn mx_lists_hosts_in_preference_order_with_addresses() {
    let Some(dns) = DnsServer::standard() else {
        return;
    };
    let out = mx(&dns, &["two.test"], &[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let first = out.stdout.find("mx1.two.test").unwrap();
    let second = out.stdout.find("mx2.two.test").unwrap();
    assert!(first < second, "{}", out.stdout);
    assert!(out.stdout.contains("A     127.0.0.1"), "{}", out.stdout);
    assert!(out.stdout.contains("AAAA  ::1"), "{}", out.stdout);
    assert!(out.stdout.contains("TTL 300"), "{}", out.stdout);
    let v4 = mx(&dns, &["two.test"], &["-4"]);
    assert!(!v4.stdout.contains("::1"), "{}", v4.stdout);
}

#[test]
fn mx_tells_each_kind_of_route_apart() {
    let Some(dns) = DnsServer::standard() else {
        return;
    };
    let cases: &[(&str, i32, &str)] = &[
        ("tie.test", 0, "tied"),
        ("amx.test", 0, "implicit MX amx.test"),
        (
            "nullmx.test",
            3,
            "null MX (RFC 7505): this domain accepts no mail",
        ),
        ("nullmixed.test", 3, "misconfigured"),
        ("nx.test", 3, "does not exist (NXDOMAIN)"),
        ("nomail.test", 3, "no MX records and no addresses"),
        ("dangling.test", 3, "dangling MX target"),
        ("mixed.test", 0, "dangling MX target"),
        ("servfail.test", 3, "temporary DNS failure"),
    ];
    for (domain, code, words) in cases {
        let out = mx(&dns, &[domain], &["--no-timing"]);
        assert_eq!(out.code, *code, "{domain}: {}", out.stdout);
        assert!(out.stdout.contains(words), "{domain}: {}", out.stdout);
    }
}

#[test]
fn mx_json_marks_temporary_failures() {
    let Some(dns) = DnsServer::standard() else {
        return;
    };
    let out = mx(&dns, &["two.test", "servfail.test", "nx.test"], &["--json"]);
    assert_eq!(out.code, 3);
    let objects = out.json();
    assert_eq!(objects.len(), 4, "{}", out.stdout);
    assert_eq!(objects[0]["domain"], "two.test");
    assert_eq!(objects[0]["deliverable"], true);
    assert_eq!(objects[0]["route"]["kind"], "mx");
    assert_eq!(objects[1]["temporary"], true);
    assert_eq!(objects[2]["route"]["kind"], "nx_domain");
    assert_eq!(objects[2]["temporary"], false);
    assert_eq!(objects[3]["type"], "result");
    assert_eq!(objects[3]["exit_code"], 3);
}

fn send_mx(dns: &DnsServer, port: u16, to: &str, extra: &[&str]) -> Out {
    let server = dns.addr().to_string();
    let port = port.to_string();
    let mut args = vec![
        "send",
        "--dns-server",
        &server,
        "--port",
        &port,
        "--from",
        "me@example.org",
        "--to",
        to,
        "--body",
        "hi",
        "--no-timing",
        "--timeout",
        "30s",
        "--tls",
        "none",
    ];
    args.extend_from_slice(extra);
    smtpx(&args)
}

#[test]
fn send_fails_over_from_a_refusing_mx_to_the_next() {
    // mx1 is on 127.0.0.2, where nothing listens on the port: refused. mx2 answers.
    let smtp = ScriptedServer::start(happy_send(1));
    let port = smtp.addr().port();
    let Some(dns) = DnsServer::start(&[
        ("fail.test", RecordSpec::Mx(10, "mx1.fail.test")),
        ("fail.test", RecordSpec::Mx(20, "mx2.fail.test")),
        ("mx1.fail.test", RecordSpec::Addr("127.0.0.2")),
        ("mx2.fail.test", RecordSpec::Addr("127.0.0.1")),
    ]) else {
        return;
    };
    let out = send_mx(&dns, port, "you@fail.test", &[]);
    smtp.finish().assert_clean();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("Connecting to mx1.fail.test (127.0.0.2"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("connection refused"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("Connecting to mx2.fail.test (127.0.0.1"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("accepted: for 1 of 1 recipient"),
        "{}",
        out.stdout
    );
}

#[test]
fn send_to_a_null_mx_domain_connects_nowhere() {
    let Some(dns) = DnsServer::standard() else {
        return;
    };
    let out = send_mx(&dns, 25, "you@nullmx.test", &[]);
    assert_eq!(out.code, 3, "{}", out.stdout);
    assert!(out.stdout.contains("null MX"), "{}", out.stdout);
    assert!(!out.stdout.contains("Connecting"), "{}", out.stdout);
}

#[test]
fn send_dns_failures_are_exit_3_and_temporary_is_marked() {
    let Some(dns) = DnsServer::standard() else {
        return;
    };
    let nx = send_mx(&dns, 25, "you@nx.test", &["--json"]);
    assert_eq!(nx.code, 3);
    let result = nx.result();
    assert_eq!(result["temporary"], false, "{}", nx.stdout);
    let servfail = send_mx(&dns, 25, "you@servfail.test", &["--json"]);
    assert_eq!(servfail.code, 3);
    let result = servfail.result();
    assert_eq!(result["temporary"], true, "{}", servfail.stdout);
    assert!(
        !servfail.stdout.contains("connecting"),
        "no fallback to A/AAAA: {}",
        servfail.stdout
    );
}

#[test]
fn send_to_an_implicit_mx_uses_the_domain_address() {
    let smtp = ScriptedServer::start(happy_send(1));
    let port = smtp.addr().port();
    let Some(dns) = DnsServer::standard() else {
        return;
    };
    let out = send_mx(&dns, port, "you@amx.test", &["-4"]);
    smtp.finish().assert_clean();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("Connecting to amx.test (127.0.0.1"),
        "{}",
        out.stdout
    );
}

#[test]
fn send_moves_on_after_a_4xx_greeting() {
    // Both MX hosts answer on the same loopback port: the first connection gets a 421
    // greeting, the second the whole conversation.
    use crate::support::scripted::{Step, expect, send};
    let busy = vec![
        send("421 4.3.2 busy, try later\r\n"),
        expect("QUIT"),
        send("221 bye\r\n"),
        Step::Close,
    ];
    let smtp = ScriptedServer::start_many(vec![busy, happy_send(1)]);
    let port = smtp.addr().port();
    let Some(dns) = DnsServer::start(&[
        ("busy.test", RecordSpec::Mx(10, "mx1.busy.test")),
        ("busy.test", RecordSpec::Mx(20, "mx2.busy.test")),
        ("mx1.busy.test", RecordSpec::Addr("127.0.0.1")),
        ("mx2.busy.test", RecordSpec::Addr("127.0.0.1")),
    ]) else {
        return;
    };
    let out = send_mx(&dns, port, "you@busy.test", &[]);
    let record = smtp.finish();
    record.assert_clean();
    assert_eq!(record.connections, 2);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("Skipping mx1.busy.test"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("421 4.3.2 busy"), "{}", out.stdout);
}
