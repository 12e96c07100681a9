//! Table tests for the verdict rules: a healthy server, then one change at a time.

use std::net::IpAddr;
use std::time::Duration;

use super::*;
use crate::diagnosis::facts::{Answer, OpenFacts, PtrName, RelayFacts, ReverseDns, TurnFacts};
use crate::net::tls::{CertInfo, TlsInfo};
use crate::outcome::Failure;
use crate::smtp::Reply;

fn answer(code: u16, lines: &[&str]) -> Answer {
    Answer {
        reply: Reply::new(code, lines),
        took: Duration::from_millis(1),
    }
}

fn cert(days_left: i64) -> CertInfo {
    CertInfo {
        subject: "CN=mx.test".into(),
        issuer: "CN=Test CA".into(),
        dns_names: vec!["mx.test".into()],
        ip_addresses: Vec::new(),
        not_before: "2025-01-01T00:00:00Z".into(),
        not_after: "2027-01-01T00:00:00Z".into(),
        days_left,
        key: "EC P-256".into(),
        sha256: "AA".into(),
        serial: "01".into(),
        is_ca: false,
    }
}

fn tls(verification: Verification, days_left: i64) -> TlsInfo {
    TlsInfo {
        protocol: "TLSv1.3".into(),
        cipher: "TLS13_AES_256_GCM_SHA384".into(),
        key_exchange: Some("X25519".into()),
        sni: Some("mx.test".into()),
        chain: vec![cert(days_left)],
        verification,
        handshake_ms: 2.0,
        der_chain: Vec::new(),
    }
}

const IP: &str = "192.0.2.25";

fn ptr(name: &str, forward: &[&str]) -> ReverseDns {
    ReverseDns {
        ip: IP.parse().unwrap(),
        lookup: PtrLookup::Names(vec![PtrName {
            name: name.into(),
            forward: Ok(forward
                .iter()
                .map(|s| s.parse::<IpAddr>().unwrap())
                .collect()),
        }]),
        took: Duration::ZERO,
    }
}

/// Greeting, EHLO with STARTTLS, verified TLS, AUTH only inside TLS, matching PTR, VRFY
/// and EXPN disabled, TURN refused.
fn healthy() -> HostFacts {
    let mut f = HostFacts::new("mx.test", Some(10), TlsMode::Opportunistic);
    f.open = OpenFacts {
        peer: Some(format!("{IP}:25").parse().unwrap()),
        greeting: Some(Reply::new(220, &["mx.test ESMTP"])),
        ehlo: Some(answer(
            250,
            &["mx.test", "PIPELINING", "SIZE 1000", "STARTTLS"],
        )),
        starttls: Some(answer(220, &["go ahead"])),
        tls: Some(tls(Verification::Verified, 200)),
        ehlo_after_tls: Some(answer(250, &["mx.test", "PIPELINING", "AUTH PLAIN"])),
        ..OpenFacts::default()
    };
    f.reverse = Some(ptr("mx.test", &[IP]));
    f.probes.vrfy = Some(answer(502, &["5.5.1 VRFY disabled"]));
    f.probes.expn = Some(answer(502, &["5.5.1 EXPN disabled"]));
    f.probes.turn = Some(TurnFacts::Answered(answer(502, &["no"])));
    f
}

fn find<'a>(v: &'a [Verdict], topic: &str) -> Option<&'a Verdict> {
    v.iter().find(|x| x.topic == topic)
}

#[test]
fn a_healthy_server_passes_everything() {
    let f = healthy();
    let v = verdicts(&f);
    for x in &v {
        assert_eq!(x.level, Level::Pass, "{x:?}");
    }
    for topic in [
        "greeting",
        "ehlo",
        "starttls",
        "certificate",
        "expiry",
        "auth",
        "reverse-dns",
        "vrfy",
        "expn",
        "turn",
    ] {
        assert!(find(&v, topic).is_some(), "no {topic} verdict in {v:#?}");
    }
    assert_eq!(exit_code(&f, &v), ExitCode::Success);
}

#[test]
fn each_rule_on_its_own() {
    type Change = fn(&mut HostFacts);
    let table: Vec<(&str, Change, &str, Level, &str)> = vec![
        (
            "expiring",
            |f| f.open.tls = Some(tls(Verification::Verified, 13)),
            "expiry",
            Level::Warn,
            "expires in 13 day(s)",
        ),
        (
            "14 days is fine",
            |f| f.open.tls = Some(tls(Verification::Verified, 14)),
            "expiry",
            Level::Pass,
            "14 more days",
        ),
        (
            "expired",
            |f| {
                f.open.tls = Some(tls(
                    Verification::Failed {
                        reason: "certificate expired".into(),
                    },
                    -3,
                ))
            },
            "expiry",
            Level::Fail,
            "expired 3 day(s) ago",
        ),
        (
            "unverified",
            |f| {
                f.open.tls = Some(tls(
                    Verification::Failed {
                        reason: "self-signed".into(),
                    },
                    100,
                ))
            },
            "certificate",
            Level::Fail,
            "self-signed",
        ),
        (
            "no-verify but bad",
            |f| {
                f.open.tls = Some(tls(
                    Verification::Skipped {
                        would_fail: Some("unknown authority".into()),
                    },
                    100,
                ))
            },
            "certificate",
            Level::Fail,
            "unknown authority",
        ),
        (
            "no-verify and good",
            |f| f.open.tls = Some(tls(Verification::Skipped { would_fail: None }, 100)),
            "certificate",
            Level::Pass,
            "verified",
        ),
        (
            "no STARTTLS",
            |f| {
                f.open.ehlo = Some(answer(250, &["mx.test", "PIPELINING"]));
                f.open.starttls = None;
                f.open.tls = None;
                f.open.ehlo_after_tls = None;
            },
            "starttls",
            Level::Fail,
            "clear text",
        ),
        (
            "STARTTLS refused",
            |f| {
                f.open.starttls = Some(answer(454, &["4.7.0 TLS not available"]));
                f.open.tls = None;
                f.open.ehlo_after_tls = None;
            },
            "starttls",
            Level::Fail,
            "454 4.7.0 TLS not available",
        ),
        (
            "handshake failed",
            |f| {
                f.open.tls = None;
                f.open.ehlo_after_tls = None;
                f.ended = Some(Ending::Failed(Failure::new(
                    Phase::TlsHandshake,
                    FailureKind::Tls,
                    "bad record mac",
                )));
            },
            "starttls",
            Level::Fail,
            "bad record mac",
        ),
        (
            "--tls none",
            |f| {
                f.tls_mode = TlsMode::Off;
                f.open.starttls = None;
                f.open.tls = None;
                f.open.ehlo_after_tls = None;
            },
            "starttls",
            Level::Pass,
            "not tried",
        ),
        (
            "STARTTLS again inside TLS",
            |f| {
                f.open.ehlo_after_tls = Some(answer(250, &["mx.test", "STARTTLS"]));
            },
            "after-tls",
            Level::Warn,
            "RFC 3207 §4.2",
        ),
        (
            "AUTH in plaintext",
            |f| {
                f.open.ehlo = Some(answer(250, &["mx.test", "STARTTLS", "AUTH PLAIN LOGIN"]));
            },
            "auth",
            Level::Warn,
            "AUTH PLAIN LOGIN offered without TLS",
        ),
        (
            "AUTH= in plaintext",
            |f| {
                f.open.ehlo = Some(answer(250, &["mx.test", "STARTTLS", "AUTH=LOGIN"]));
            },
            "auth",
            Level::Warn,
            "without TLS",
        ),
        (
            "no PTR",
            |f| {
                f.reverse.as_mut().unwrap().lookup = PtrLookup::Missing;
            },
            "reverse-dns",
            Level::Warn,
            "no PTR record",
        ),
        (
            "PTR lookup failed",
            |f| {
                f.reverse.as_mut().unwrap().lookup = PtrLookup::Failed("SERVFAIL".into());
            },
            "reverse-dns",
            Level::Warn,
            "SERVFAIL",
        ),
        (
            "PTR not confirmed",
            |f| f.reverse = Some(ptr("mx.test", &["192.0.2.99"])),
            "reverse-dns",
            Level::Warn,
            "does not resolve back",
        ),
        (
            "PTR forward failed",
            |f| {
                f.reverse = Some(ReverseDns {
                    ip: IP.parse().unwrap(),
                    lookup: PtrLookup::Names(vec![PtrName {
                        name: "mx.test".into(),
                        forward: Err("NXDOMAIN".into()),
                    }]),
                    took: Duration::ZERO,
                });
            },
            "reverse-dns",
            Level::Warn,
            "does not resolve back",
        ),
        (
            "PTR mismatch",
            |f| f.reverse = Some(ptr("host-192-0-2-25.isp.example", &[IP])),
            "reverse-dns",
            Level::Warn,
            "(mx.test)",
        ),
        (
            "PTR matches EHLO name only",
            |f| {
                f.open.greeting = Some(Reply::new(220, &["banner.test ESMTP"]));
                f.open.ehlo = Some(answer(250, &["MX.TEST.", "STARTTLS"]));
            },
            "reverse-dns",
            Level::Pass,
            "calls itself mx.test",
        ),
        (
            "VRFY confirms",
            |f| f.probes.vrfy = Some(answer(250, &["<postmaster@mx.test>"])),
            "vrfy",
            Level::Warn,
            "harvesting",
        ),
        (
            "VRFY says unknown",
            |f| f.probes.vrfy = Some(answer(550, &["unknown"])),
            "vrfy",
            Level::Warn,
            "harvesting",
        ),
        (
            "VRFY 252",
            |f| f.probes.vrfy = Some(answer(252, &["maybe"])),
            "vrfy",
            Level::Pass,
            "confirms nothing",
        ),
        (
            "EXPN expands",
            |f| f.probes.expn = Some(answer(250, &["<a@mx.test>"])),
            "expn",
            Level::Warn,
            "reveals",
        ),
        (
            "TURN accepted",
            |f| f.probes.turn = Some(TurnFacts::Answered(answer(250, &["OK"]))),
            "turn",
            Level::Fail,
            "Appendix F.1",
        ),
        (
            "TURN hung up",
            |f| f.probes.turn = Some(TurnFacts::Closed("closed".into())),
            "turn",
            Level::Pass,
            "closed",
        ),
        (
            "open relay",
            |f| {
                f.probes.relay = Some(RelayFacts {
                    from: "a@example.com".into(),
                    to: "b@example.net".into(),
                    mail: answer(250, &["ok"]),
                    rcpt: Some(answer(250, &["ok"])),
                })
            },
            "relay",
            Level::Fail,
            "open relay",
        ),
        (
            "relay refused",
            |f| {
                f.probes.relay = Some(RelayFacts {
                    from: "a@example.com".into(),
                    to: "b@example.net".into(),
                    mail: answer(250, &["ok"]),
                    rcpt: Some(answer(554, &["5.7.1 Relay access denied"])),
                })
            },
            "relay",
            Level::Pass,
            "Relay access denied",
        ),
        (
            "relay greylisted",
            |f| {
                f.probes.relay = Some(RelayFacts {
                    from: "a@example.com".into(),
                    to: "b@example.net".into(),
                    mail: answer(250, &["ok"]),
                    rcpt: Some(answer(450, &["try later"])),
                })
            },
            "relay",
            Level::Warn,
            "inconclusive",
        ),
        (
            "relay sender refused",
            |f| {
                f.probes.relay = Some(RelayFacts {
                    from: "a@example.com".into(),
                    to: "b@example.net".into(),
                    mail: answer(553, &["no"]),
                    rcpt: None,
                })
            },
            "relay",
            Level::Warn,
            "--relay-from",
        ),
        (
            "SIZE abc",
            |f| f.open.ehlo_after_tls = Some(answer(250, &["mx.test", "SIZE abc"])),
            "size",
            Level::Warn,
            "'abc'",
        ),
        (
            "HELO only",
            |f| {
                f.open.ehlo = Some(answer(502, &["no"]));
                f.open.helo = Some(answer(250, &["mx.test"]));
                f.open.starttls = None;
                f.open.tls = None;
                f.open.ehlo_after_tls = None;
            },
            "ehlo",
            Level::Warn,
            "HELO only",
        ),
        (
            "lost mid-way",
            |f| {
                f.probes.turn = None;
                f.ended = Some(Ending::Failed(Failure::new(
                    Phase::Probe,
                    FailureKind::Closed,
                    "the server closed the connection",
                )));
            },
            "session",
            Level::Fail,
            "ended early at probe",
        ),
    ];
    for (name, change, topic, level, words) in table {
        let mut f = healthy();
        change(&mut f);
        let v = verdicts(&f);
        let got = find(&v, topic).unwrap_or_else(|| panic!("{name}: no {topic} verdict in {v:#?}"));
        assert_eq!(got.level, level, "{name}: {got:?}");
        assert!(
            got.reason.contains(words),
            "{name}: {:?} lacks {words:?}",
            got.reason
        );
        let want = if v.iter().any(|x| x.level == Level::Fail) {
            ExitCode::Permanent
        } else {
            ExitCode::Success
        };
        assert_eq!(exit_code(&f, &v), want, "{name}");
    }
}

#[test]
fn unreached_servers_keep_the_usual_exit_codes() {
    let mut f = HostFacts::new("mx.test", None, TlsMode::Opportunistic);
    f.ended = Some(Ending::Failed(Failure::new(
        Phase::Connect,
        FailureKind::Connect,
        "refused",
    )));
    assert_eq!(exit_code(&f, &verdicts(&f)), ExitCode::Connection);
    f.open.greeting = Some(Reply::new(554, &["go away"]));
    f.ended = Some(Ending::Refused {
        phase: Phase::Greeting,
        reply: Reply::new(554, &["go away"]),
    });
    let v = verdicts(&f);
    assert_eq!(find(&v, "greeting").unwrap().level, Level::Fail);
    assert_eq!(exit_code(&f, &v), ExitCode::Permanent);
    f.ended = Some(Ending::Failed(Failure::new(
        Phase::Ehlo,
        FailureKind::Protocol,
        "too many lines",
    )));
    assert_eq!(exit_code(&f, &v), ExitCode::Protocol);
    let mut dangling = HostFacts::new("gone.test", Some(10), TlsMode::Opportunistic);
    dangling.unusable = Some("no A or AAAA records".into());
    let v = verdicts(&dangling);
    assert_eq!(v[0].level, Level::Fail);
    assert_eq!(exit_code(&dangling, &v), ExitCode::Dns);
}

#[test]
fn implicit_tls_is_judged_as_tls() {
    let mut f = healthy();
    f.open.implicit_tls = true;
    f.open.ehlo = Some(answer(250, &["mx.test", "AUTH PLAIN"]));
    f.open.starttls = None;
    f.open.ehlo_after_tls = None;
    let v = verdicts(&f);
    assert_eq!(find(&v, "tls").unwrap().level, Level::Pass);
    assert!(find(&v, "starttls").is_none());
    assert_eq!(find(&v, "auth").unwrap().level, Level::Pass);
}

#[test]
fn capability_meanings() {
    let cap = |k: &str, p: &[&str]| Capability {
        keyword: k.into(),
        params: p.iter().map(|s| s.to_string()).collect(),
    };
    assert_eq!(
        meaning(&cap("SIZE", &["10240000"])),
        "messages up to 10240000 bytes (9.8 MiB) (RFC 1870)"
    );
    assert!(meaning(&cap("SIZE", &["0"])).contains("no fixed limit"));
    assert!(meaning(&cap("SIZE", &[])).contains("no fixed limit"));
    assert!(meaning(&cap("SIZE", &["99999999999999999999"])).contains("unreadable"));
    assert!(meaning(&cap("AUTH", &["PLAIN", "LOGIN"])).contains("PLAIN LOGIN"));
    assert!(meaning(&cap("AUTH=LOGIN", &[])).contains("pre-standard"));
    assert_eq!(meaning(&cap("X-FROB", &[])), "unknown to smtpx");
    for k in [
        "PIPELINING",
        "STARTTLS",
        "8BITMIME",
        "SMTPUTF8",
        "CHUNKING",
        "DSN",
        "ENHANCEDSTATUSCODES",
        "REQUIRETLS",
    ] {
        assert!(meaning(&cap(k, &[])).contains("RFC"), "{k}");
    }
}

#[test]
fn human_units() {
    assert_eq!(human_bytes(0), "0 bytes");
    assert_eq!(human_bytes(1023), "1023 bytes");
    assert_eq!(human_bytes(1024), "1024 bytes (1.0 KiB)");
    assert_eq!(human_bytes(52_428_800), "52428800 bytes (50.0 MiB)");
    assert_eq!(
        human_bytes(u64::MAX),
        "18446744073709551615 bytes (16.0 EiB)"
    );
}
