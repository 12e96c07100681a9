//! `send` in MX routing under the recipient domain's TLS policies (RFC 7672 DANE, RFC
//! 8461 MTA-STS): a private BIND 9 serving signed zones with TLSA records for the MX
//! hosts, a real HTTPS server for the MTA-STS policies, and `smtpx serve` with
//! STARTTLS as every MX host.

use std::path::{Path, PathBuf};

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde_json::Value;
use sha2::{Digest, Sha256};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::support::bind::{Bind, Signing, Zone, tlsa_hex};
use crate::support::certs::TestPki;
use crate::support::https::{Answer, HttpsServer};
use crate::support::run::{Out, smtpx};
use crate::support::serve::{Serve, maildir_messages};

struct Fixture {
    bind: Bind,
    https: HttpsServer,
    serve: Serve,
    pki: TestPki,
    maildir: tempfile::TempDir,
}

/// SHA-256 of the certificate's public key, in hex: a `3 1 1` TLSA association.
fn spki_sha256(cert_pem: &Path) -> String {
    let der = CertificateDer::from_pem_file(cert_pem).expect("leaf PEM");
    let (_, cert) = X509Certificate::from_der(der.as_ref()).expect("leaf DER");
    Sha256::digest(cert.tbs_certificate.subject_pki.raw)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn fixture() -> Option<Fixture> {
    let pki = TestPki::new();
    let (cert, key): (PathBuf, PathBuf) =
        pki.leaf_for("mx", &["mx.sts.test", "mx.stsbad.test", "mx.ststest.test"]);
    let maildir = tempfile::tempdir().unwrap();
    let serve = Serve::start(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
        "--maildir",
        maildir.path().to_str().unwrap(),
    ]);
    let port = serve.addr.port();
    let good = spki_sha256(&cert);
    let wrong = tlsa_hex(0x44);
    let tlsa = |host: &str, data: &str| format!("_{port}._tcp.{host} TLSA 3 1 1 {data}");
    let zones = [
        Zone::new("daneok.test", Signing::Signed).with(&tlsa("mx", &good)),
        Zone::new("danebad.test", Signing::Signed).with(&tlsa("mx", &wrong)),
        // The preferred MX fails DANE; the second one matches.
        Zone::new("danetwo.test", Signing::Signed)
            .with("@ MX 20 mx2")
            .with(&tlsa("mx", &wrong))
            .with(&tlsa("mx2", &good)),
        // TLSA records in an unsigned zone are not DANE: opportunistic.
        Zone::new("daneinsecure.test", Signing::Unsigned).with(&tlsa("mx", &wrong)),
        // MTA-STS without DANE (unsigned zones), the policy host on loopback.
        Zone::new("sts.test", Signing::Unsigned).with("mta-sts A 127.0.0.1"),
        Zone::new("stsbad.test", Signing::Unsigned).with("mta-sts A 127.0.0.1"),
        Zone::new("ststest.test", Signing::Unsigned).with("mta-sts A 127.0.0.1"),
    ];
    let bind = Bind::start(&zones)?;
    let (https_cert, https_key) = pki.leaf_for(
        "mta-sts",
        &[
            "mta-sts.sts.test",
            "mta-sts.stsbad.test",
            "mta-sts.ststest.test",
        ],
    );
    let https = HttpsServer::start(
        &[
            Answer::policy(
                "mta-sts.sts.test",
                "version: STSv1\nmode: enforce\nmx: mx.sts.test\nmax_age: 604800\n",
            ),
            Answer::policy(
                "mta-sts.stsbad.test",
                "version: STSv1\nmode: enforce\nmx: mail.elsewhere.test\nmax_age: 604800\n",
            ),
            Answer::policy(
                "mta-sts.ststest.test",
                "version: STSv1\nmode: testing\nmx: mail.elsewhere.test\nmax_age: 604800\n",
            ),
        ],
        &https_cert,
        &https_key,
    );
    Some(Fixture {
        bind,
        https,
        serve,
        pki,
        maildir,
    })
}

impl Fixture {
    /// What every run against the fixture needs: the DNS server and trust anchor, the
    /// MX port, the policy server's port and the test CA.
    fn common_args(&self) -> Vec<String> {
        vec![
            "--dns-server".into(),
            self.bind.server_arg(),
            "--dns-trust-anchor".into(),
            self.bind.anchor_ds_file().to_string_lossy().into_owned(),
            "--dns-timeout".into(),
            "5s".into(),
            "-p".into(),
            self.serve.addr.port().to_string(),
            "--mta-sts-port".into(),
            self.https.port.to_string(),
            "--tls-ca".into(),
            self.pki.ca_pem_path.to_string_lossy().into_owned(),
        ]
    }

    fn run(&self, head: &[&str], tail: &[&str]) -> Out {
        let common = self.common_args();
        let mut args: Vec<&str> = head.to_vec();
        args.extend(common.iter().map(String::as_str));
        args.extend_from_slice(tail);
        smtpx(&args)
    }
}

fn send(f: &Fixture, to: &str, extra: &[&str]) -> Out {
    let mut tail = vec![
        "--from",
        "me@example.org",
        "--to",
        to,
        "--subject",
        "policy",
        "--body",
        "hello",
    ];
    tail.extend_from_slice(extra);
    f.run(&["send"], &tail)
}

fn policy_events(out: &Out) -> Vec<Value> {
    out.json()
        .into_iter()
        .filter(|v| v["type"] == "tls-policy")
        .collect()
}

#[test]
fn dane_matching_host_gets_the_message_and_json_says_dane_passed() {
    let Some(f) = fixture() else { return };
    let out = send(&f, "you@daneok.test", &["--json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let events = policy_events(&out);
    assert_eq!(events[0]["policy"], "dane", "{events:?}");
    assert_eq!(events[0]["result"], "applies");
    assert_eq!(events[1]["result"], "passed");
    assert!(
        events[1]["detail"].as_str().unwrap().contains("DANE-EE"),
        "{events:?}"
    );
    assert_eq!(maildir_messages(f.maildir.path()).len(), 1);
}

#[test]
fn dane_mismatched_host_is_refused_with_exit_5_and_nothing_is_sent() {
    let Some(f) = fixture() else { return };
    let out = send(&f, "you@danebad.test", &[]);
    assert_eq!(out.code, 5, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("TLS policy DANE for mx.danebad.test: failed"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("no usable TLSA record"),
        "{}",
        out.stderr
    );
    assert!(!out.stdout.contains("MAIL FROM"), "{}", out.stdout);
    assert!(maildir_messages(f.maildir.path()).is_empty());
}

#[test]
fn a_host_failing_dane_is_skipped_for_the_next_mx() {
    let Some(f) = fixture() else { return };
    let out = send(&f, "you@danetwo.test", &[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("TLS policy DANE for mx.danetwo.test: failed"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout
            .contains("TLS policy DANE for mx2.danetwo.test: passed"),
        "{}",
        out.stdout
    );
    assert_eq!(maildir_messages(f.maildir.path()).len(), 1);
}

#[test]
fn tlsa_in_an_unsigned_zone_is_not_dane() {
    let Some(f) = fixture() else { return };
    let out = send(&f, "you@daneinsecure.test", &["--json"]);
    // The serve certificate is valid for other names: opportunistic TLS goes on.
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let events = policy_events(&out);
    assert_eq!(events[0]["policy"], "opportunistic", "{events:?}");
    assert!(
        events[0]["detail"]
            .as_str()
            .unwrap()
            .contains("not DNSSEC-secure"),
        "{events:?}"
    );
    let forced = send(&f, "you@daneinsecure.test", &["--tls-policy", "dane"]);
    assert_eq!(forced.code, 5, "{}{}", forced.stdout, forced.stderr);
    assert!(
        forced.stderr.contains("not DNSSEC-secure") || forced.stderr.contains("insecure"),
        "{}",
        forced.stderr
    );
}

#[test]
fn mta_sts_enforce_delivers_to_a_listed_host_with_a_valid_certificate() {
    let Some(f) = fixture() else { return };
    let out = send(&f, "you@sts.test", &["--json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let events = policy_events(&out);
    assert_eq!(events[0]["policy"], "mta-sts", "{events:?}");
    assert_eq!(events[1]["result"], "passed", "{events:?}");
    assert_eq!(maildir_messages(f.maildir.path()).len(), 1);
}

#[test]
fn mta_sts_enforce_refuses_a_host_the_policy_does_not_list() {
    let Some(f) = fixture() else { return };
    let out = send(&f, "you@stsbad.test", &["--json"]);
    assert_eq!(out.code, 5, "{}{}", out.stdout, out.stderr);
    let events = policy_events(&out);
    assert_eq!(events[0]["result"], "skipped", "{events:?}");
    assert!(
        out.result()["message"]
            .as_str()
            .unwrap_or_default()
            .contains("not among the policy's mx patterns")
            || out.stdout.contains("not among the policy's mx patterns"),
        "{}",
        out.stdout
    );
    assert!(maildir_messages(f.maildir.path()).is_empty());
    // Opting out of policies sends as before.
    let none = send(&f, "you@stsbad.test", &["--tls-policy", "none"]);
    assert_eq!(none.code, 0, "{}{}", none.stdout, none.stderr);
}

#[test]
fn mta_sts_testing_mode_reports_and_delivers_unless_forced() {
    let Some(f) = fixture() else { return };
    let out = send(&f, "you@ststest.test", &[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let forced = send(&f, "you@ststest.test", &["--tls-policy", "mta-sts"]);
    assert_eq!(forced.code, 5, "{}{}", forced.stdout, forced.stderr);
}

#[test]
fn a_forced_policy_needs_mx_routing_and_verified_tls() {
    for (args, why) in [
        (
            vec!["--server", "127.0.0.1:25", "--tls-policy", "dane"],
            "applies when routing by MX",
        ),
        (
            vec!["--tls", "none", "--tls-policy", "mta-sts"],
            "--tls none",
        ),
        (
            vec!["--tls-no-verify", "--tls-policy", "dane"],
            "--tls-no-verify",
        ),
    ] {
        let mut all = vec![
            "send",
            "--from",
            "a@example.org",
            "--to",
            "b@example.test",
            "--body",
            "x",
        ];
        all.extend_from_slice(&args);
        let out = smtpx(&all);
        assert_eq!(out.code, 2, "{args:?}: {}{}", out.stdout, out.stderr);
        assert!(out.stderr.contains(why), "{args:?}: {}", out.stderr);
    }
}

fn check(f: &Fixture, domain: &str) -> Out {
    f.run(&["check", domain], &["--json"])
}

/// The tls-policy verdict of each checked host: (host, level, reason).
fn policy_verdicts(out: &Out) -> Vec<(String, String, String)> {
    out.json()
        .into_iter()
        .filter(|v| v["type"] == "check")
        .flat_map(|v| {
            let host = v["host"].as_str().unwrap_or_default().to_owned();
            v["verdicts"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|x| x["topic"] == "tls-policy")
                .map(move |x| {
                    (
                        host.clone(),
                        x["level"].as_str().unwrap_or_default().to_owned(),
                        x["reason"].as_str().unwrap_or_default().to_owned(),
                    )
                })
        })
        .collect()
}

#[test]
fn check_domain_shows_the_domain_then_holds_each_host_to_its_policy() {
    let Some(f) = fixture() else { return };
    let ok = check(&f, "daneok.test");
    let domain = ok
        .json()
        .into_iter()
        .find(|v| v["type"] == "domain")
        .unwrap_or_else(|| panic!("no domain report:\n{}", ok.stdout));
    assert_eq!(domain["dnssec"]["status"], "pass", "{domain:#}");
    assert_eq!(domain["dane"]["status"], "pass", "{domain:#}");
    let verdicts = policy_verdicts(&ok);
    assert_eq!(verdicts.len(), 1, "{}", ok.stdout);
    assert_eq!(verdicts[0].1, "pass", "{verdicts:?}");
    assert!(verdicts[0].2.contains("DANE-EE"), "{verdicts:?}");

    let two = check(&f, "danetwo.test");
    let verdicts = policy_verdicts(&two);
    assert_eq!(
        verdicts
            .iter()
            .map(|(h, l, _)| (h.as_str(), l.as_str()))
            .collect::<Vec<_>>(),
        [("mx.danetwo.test", "fail"), ("mx2.danetwo.test", "pass")],
        "{verdicts:?}"
    );
    assert!(
        verdicts[0].2.contains("no usable TLSA record"),
        "{verdicts:?}"
    );
    assert_eq!(two.code, 7, "{}{}", two.stdout, two.stderr);
}

#[test]
fn check_domain_holds_hosts_to_mta_sts() {
    let Some(f) = fixture() else { return };
    let good = policy_verdicts(&check(&f, "sts.test"));
    assert_eq!(good[0].1, "pass", "{good:?}");
    assert!(good[0].2.contains("WebPKI-valid"), "{good:?}");
    let bad = policy_verdicts(&check(&f, "stsbad.test"));
    assert_eq!(bad[0].1, "fail", "{bad:?}");
    assert!(
        bad[0].2.contains("not among the policy's mx patterns"),
        "{bad:?}"
    );
}

/// The private Postfix as both MX hosts of a DNSSEC-signed domain: the preferred one's
/// TLSA record does not match Postfix's certificate, the second one's does.
#[test]
fn postfix_mx_failing_dane_is_skipped_and_the_matching_one_gets_the_message() {
    use crate::support::peers::{PostfixInstance, PostfixOptions};
    let pki = TestPki::new();
    let (cert, key) = pki.leaf_for("postfix-mx", &["mx.postfix.invalid"]);
    let Some(postfix) = PostfixInstance::start(
        PostfixOptions::new()
            .tls(&cert, &key)
            .main_cf("virtual_mailbox_domains = example.test pfdane.test"),
    ) else {
        return;
    };
    let port = postfix.addr().port();
    let zone = Zone::new("pfdane.test", Signing::Signed)
        .with("@ MX 20 mx2")
        .with(&format!("_{port}._tcp.mx TLSA 3 1 1 {}", tlsa_hex(0x55)))
        .with(&format!(
            "_{port}._tcp.mx2 TLSA 3 1 1 {}",
            spki_sha256(&cert)
        ));
    let Some(bind) = Bind::start(&[zone]) else {
        return;
    };
    let anchor = bind.anchor_ds_file();
    let port = port.to_string();
    let out = smtpx(&[
        "send",
        "--dns-server",
        &bind.server_arg(),
        "--dns-trust-anchor",
        anchor.to_str().unwrap(),
        "-p",
        &port,
        "--from",
        "me@example.org",
        "--to",
        "you@pfdane.test",
        "--subject",
        "under DANE",
        "--body",
        "hello",
        "--json",
    ]);
    assert_eq!(
        out.code,
        0,
        "{}{}\n{}",
        out.stdout,
        out.stderr,
        postfix.maillog()
    );
    let results: Vec<(String, String)> = policy_events(&out)
        .iter()
        .map(|e| {
            (
                e["host"].as_str().unwrap_or_default().to_owned(),
                e["result"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        results,
        [
            ("mx.pfdane.test".to_owned(), "applies".to_owned()),
            ("mx.pfdane.test".to_owned(), "failed".to_owned()),
            ("mx2.pfdane.test".to_owned(), "applies".to_owned()),
            ("mx2.pfdane.test".to_owned(), "passed".to_owned()),
        ]
    );
    let delivered = postfix.delivered(std::time::Duration::from_secs(10));
    assert_eq!(delivered.len(), 1, "{}", postfix.maillog());
    assert!(String::from_utf8_lossy(&delivered[0]).contains("Subject: under DANE"));
}

/// `verify` routes by MX like `send`: an address whose only MX fails DANE is
/// unreachable, with the reason; one behind a host that passes is asked.
#[test]
fn verify_holds_mx_hosts_to_the_same_policies() {
    let Some(f) = fixture() else { return };
    let out = f.run(
        &[
            "verify",
            "you@danebad.test",
            "you@danetwo.test",
            "you@stsbad.test",
        ],
        &["--json", "--from", "me@example.org"],
    );
    let verdicts: Vec<Value> = out
        .json()
        .into_iter()
        .filter(|v| v["type"] == "verdict")
        .collect();
    let of = |address: &str| {
        verdicts
            .iter()
            .find(|v| v["address"] == address)
            .unwrap_or_else(|| panic!("no verdict for {address}:\n{}{}", out.stdout, out.stderr))
            .clone()
    };
    let bad = of("you@danebad.test");
    assert_eq!(bad["verdict"], "unreachable", "{bad}");
    assert!(bad["note"].as_str().unwrap().contains("DANE"), "{bad}");
    let sts = of("you@stsbad.test");
    assert_eq!(sts["verdict"], "unreachable", "{sts}");
    assert!(
        sts["note"]
            .as_str()
            .unwrap()
            .contains("not among the policy's mx patterns"),
        "{sts}"
    );
    assert_ne!(of("you@danetwo.test")["verdict"], "unreachable");
}
