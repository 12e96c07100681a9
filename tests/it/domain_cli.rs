//! `smtpx domain` against a real DNS server (dnsmasq) and a real HTTPS server (Python's
//! http.server with ssl) serving MTA-STS policies, on loopback.

use serde_json::Value;

use crate::support::certs::TestPki;
use crate::support::dns::{DnsServer, RecordSpec};
use crate::support::https::{Answer, HttpsServer};
use crate::support::run::{Out, smtpx};

/// RFC 8463's example Ed25519 key.
const ED25519_KEY: &str = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

const GOOD_POLICY: &str = "version: STSv1\nmode: enforce\nmx: mx1.good.test\nmax_age: 604800\n";

struct Fixture {
    dns: DnsServer,
    https: HttpsServer,
    pki: TestPki,
}

fn fixture() -> Option<Fixture> {
    use RecordSpec::*;
    let dns = DnsServer::start(&[
        // A domain that does everything right (DNSSEC aside: dnsmasq does not sign).
        ("good.test", Mx(10, "mx1.good.test")),
        ("mx1.good.test", Addr("127.0.0.1")),
        (
            "good.test",
            Txt("v=spf1 ip4:192.0.2.0/24 include:_spf.good.test -all"),
        ),
        ("_spf.good.test", Txt("v=spf1 ip4:198.51.100.0/24 -all")),
        (
            "_dmarc.good.test",
            Txt("v=DMARC1; p=reject; rua=mailto:dmarc@good.test"),
        ),
        (
            "_smtp._tls.good.test",
            Txt("v=TLSRPTv1; rua=mailto:tls@good.test"),
        ),
        ("_mta-sts.good.test", Txt("v=STSv1; id=20261205")),
        ("mta-sts.good.test", Addr("127.0.0.1")),
        ("sel._domainkey.good.test", Txt(ED25519_KEY)),
        // Everything a little wrong.
        ("bad.test", Mx(10, "mx1.bad.test")),
        ("mx1.bad.test", Addr("127.0.0.1")),
        (
            "bad.test",
            Txt("v=spf1 mx mx mx mx mx mx mx mx mx mx mx -all"),
        ),
        ("_dmarc.bad.test", Txt("v=DMARC1; p=none")),
        ("_mta-sts.bad.test", Txt("v=STSv1; id=1")),
        ("mta-sts.bad.test", Addr("127.0.0.1")),
        ("old._domainkey.bad.test", Txt("v=DMARC1; p=")),
        // MTA-STS policies that cannot be used.
        ("gone.test", Mx(10, "mx.gone.test")),
        ("mx.gone.test", Addr("127.0.0.1")),
        ("_mta-sts.gone.test", Txt("v=STSv1; id=1")),
        ("mta-sts.gone.test", Addr("127.0.0.1")),
        ("moved.test", Mx(10, "mx.moved.test")),
        ("mx.moved.test", Addr("127.0.0.1")),
        ("_mta-sts.moved.test", Txt("v=STSv1; id=1")),
        ("mta-sts.moved.test", Addr("127.0.0.1")),
        ("html.test", Mx(10, "mx.html.test")),
        ("mx.html.test", Addr("127.0.0.1")),
        ("_mta-sts.html.test", Txt("v=STSv1; id=1")),
        ("mta-sts.html.test", Addr("127.0.0.1")),
        ("servfail.test", ServFail),
    ])?;
    let pki = TestPki::new();
    let (cert, key) = pki.leaf_for(
        "mta-sts",
        &[
            "mta-sts.good.test",
            "mta-sts.bad.test",
            "mta-sts.gone.test",
            "mta-sts.moved.test",
            "mta-sts.html.test",
        ],
    );
    let https = HttpsServer::start(
        &[
            Answer::policy("mta-sts.good.test", GOOD_POLICY),
            Answer::policy(
                "mta-sts.bad.test",
                "version: STSv1\nmode: enforce\nmx: mail.elsewhere.test\nmax_age: 3600\n",
            ),
            Answer {
                status: 301,
                location: Some("https://mta-sts.good.test/.well-known/mta-sts.txt"),
                ..Answer::policy("mta-sts.moved.test", "")
            },
            Answer {
                content_type: "text/html",
                ..Answer::policy("mta-sts.html.test", GOOD_POLICY)
            },
        ],
        &cert,
        &key,
    );
    Some(Fixture { dns, https, pki })
}

fn domain(f: &Fixture, args: &[&str]) -> Out {
    let server = f.dns.addr().to_string();
    let port = f.https.port.to_string();
    let ca = f.pki.ca_pem_path.to_str().unwrap().to_owned();
    let mut all = vec![
        "domain",
        "--dns-server",
        &server,
        "--dns-timeout",
        "2s",
        "--mta-sts-port",
        &port,
        "--tls-ca",
        &ca,
        // dnsmasq serves no signatures: against the root key every answer is bogus.
        "--no-dnssec",
    ];
    all.extend_from_slice(args);
    smtpx(&all)
}

fn report(out: &Out, name: &str) -> Value {
    out.json()
        .into_iter()
        .find(|v| v["type"] == "domain" && v["domain"] == name)
        .unwrap_or_else(|| panic!("no report for {name}:\n{}", out.stdout))
}

#[test]
fn a_well_configured_domain_passes_every_check() {
    let Some(f) = fixture() else { return };
    let out = domain(&f, &["good.test", "--dkim-selector", "sel", "--json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let r = report(&out, "good.test");
    for key in ["mx", "mta_sts", "tls_rpt", "spf", "dmarc", "dkim"] {
        assert_eq!(r[key]["status"], "pass", "{key}: {:#}", r[key]);
    }
    assert_eq!(r["mta_sts"]["policy"]["mode"], "enforce");
    assert_eq!(r["mta_sts"]["coverage"][0]["pattern"], "mx1.good.test");
    assert_eq!(r["spf"]["lookups"], 1);
    assert_eq!(r["spf"]["all"], "-all");
    assert_eq!(r["dmarc"]["p"], "reject");
    assert_eq!(r["dkim"]["selectors"][0]["key_type"], "ed25519");
    assert_eq!(r["tls_rpt"]["rua"][0], "mailto:tls@good.test");
    // dnsmasq does not sign: nothing claims DNSSEC or DANE protection.
    assert_eq!(r["dnssec"]["status"], "info");
    assert_eq!(r["dane"]["status"], "info");
    assert_eq!(out.result()["exit_code"], 0);
}

#[test]
fn the_human_report_names_each_row_and_its_reason() {
    let Some(f) = fixture() else { return };
    let out = domain(&f, &["good.test"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    for want in [
        "good.test: pass",
        "  mx       pass  1 MX host",
        "mta_sts  pass  mode enforce, every MX host matches the policy",
        "spf      pass  1 of 10 DNS lookups",
        "dkim     info  not checked",
    ] {
        assert!(out.stdout.contains(want), "{want:?} in\n{}", out.stdout);
    }
}

#[test]
fn each_misconfiguration_is_named() {
    let Some(f) = fixture() else { return };
    let out = domain(&f, &["bad.test", "--dkim-selector", "old", "--json"]);
    assert_eq!(out.code, 7, "{}{}", out.stdout, out.stderr);
    let r = report(&out, "bad.test");
    let reasons = |key: &str| r[key]["findings"].to_string();
    assert_eq!(r["spf"]["status"], "fail");
    assert!(
        reasons("spf").contains("11 DNS lookups"),
        "{}",
        reasons("spf")
    );
    assert_eq!(r["dmarc"]["status"], "warn");
    assert!(reasons("dmarc").contains("p=none"));
    assert_eq!(r["mta_sts"]["status"], "fail");
    assert!(reasons("mta_sts").contains("MX host not in the policy: mx1.bad.test"));
    assert!(reasons("mta_sts").contains("max_age 3600"));
    assert_eq!(r["tls_rpt"]["status"], "warn");
    assert_eq!(r["dkim"]["status"], "fail", "{:#}", r["dkim"]);
    assert_eq!(out.result()["exit_code"], 7);
}

#[test]
fn unusable_policy_responses_fail_with_their_reason() {
    let Some(f) = fixture() else { return };
    let out = domain(&f, &["gone.test", "moved.test", "html.test", "--json"]);
    assert_eq!(out.code, 7, "{}{}", out.stdout, out.stderr);
    for (name, why) in [
        ("gone.test", "HTTP 404"),
        ("moved.test", "redirect"),
        ("html.test", "text/html"),
    ] {
        let r = report(&out, name);
        assert_eq!(r["mta_sts"]["status"], "fail", "{name}");
        let reasons = r["mta_sts"]["findings"].to_string();
        assert!(reasons.contains(why), "{name}: {reasons}");
    }
}

#[test]
fn a_certificate_the_client_does_not_trust_fails_the_policy_fetch() {
    let Some(f) = fixture() else { return };
    let server = f.dns.addr().to_string();
    let port = f.https.port.to_string();
    // No --tls-ca: the test CA is not among the public roots.
    let out = smtpx(&[
        "domain",
        "--dns-server",
        &server,
        "--mta-sts-port",
        &port,
        "good.test",
        "--json",
    ]);
    assert_eq!(out.code, 7, "{}{}", out.stdout, out.stderr);
    let r = report(&out, "good.test");
    assert!(
        r["mta_sts"]["findings"].to_string().contains("certificate"),
        "{:#}",
        r["mta_sts"]
    );
}

#[test]
fn dns_failure_is_exit_3_and_bad_input_exit_2() {
    let Some(f) = fixture() else { return };
    let out = domain(&f, &["servfail.test"]);
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("DNS:"), "{}", out.stdout);
    let out = smtpx(&["domain"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let out = smtpx(&["domain", "x.test", "--tls-ca", "/nonexistent/ca.pem"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
}

/// The dnssec and dane rows against a private BIND serving a signed, an unsigned and
/// a bogus zone, each publishing TLSA records for its MX host.
#[test]
fn dnssec_and_dane_follow_how_each_zone_is_signed() {
    use crate::support::bind::{Bind, Zone};
    let Some(bind) = Bind::start(&Zone::standard()) else {
        return;
    };
    let server = bind.server_arg();
    let anchor = bind.anchor_ds_file();
    let out = smtpx(&[
        "domain",
        "--dns-server",
        &server,
        "--dns-trust-anchor",
        anchor.to_str().unwrap(),
        "secure.test",
        "insecure.test",
        "bogus.test",
        "--json",
    ]);
    assert_eq!(out.code, 7, "{}{}", out.stdout, out.stderr);
    for (name, dnssec, dane) in [
        ("secure.test", "pass", "pass"),
        ("insecure.test", "warn", "warn"),
        ("bogus.test", "fail", "fail"),
    ] {
        let r = report(&out, name);
        assert_eq!(r["dnssec"]["status"], dnssec, "{name}: {:#}", r["dnssec"]);
        assert_eq!(r["dane"]["status"], dane, "{name}: {:#}", r["dane"]);
    }
    let bogus = report(&out, "bogus.test");
    assert!(
        bogus["dnssec"]["findings"].to_string().contains("bogus"),
        "{:#}",
        bogus["dnssec"]
    );
    let secure = report(&out, "secure.test");
    assert_eq!(secure["dane"]["hosts"][0]["security"], "secure");
    assert_eq!(secure["dane"]["hosts"][0]["records"][0]["usable"], true);
}
