//! DNSSEC validated by smtpx itself (RFC 4033–4035), TLSA lookups (RFC 7672 §2.2.2)
//! and `--dns-trust-anchor`, against a private BIND 9 serving signed zones.

use std::time::Duration;

use smtpx::dns::{Dns, DnsConfig, LookupFailure, Security};

use crate::support::bind::{
    Bind, SPF, SPF_TAMPERED, Signing, TLSA_AT_ALIAS, TLSA_AT_ALIAS2, TLSA_AT_MX, Zone, tlsa_hex,
};
use crate::support::run::smtpx;

fn config(bind: &Bind) -> DnsConfig {
    DnsConfig {
        server: Some(bind.addr()),
        timeout: Duration::from_secs(5),
        trust_anchor: Some(bind.anchor()),
        ..DnsConfig::default()
    }
}

fn dns(bind: &Bind) -> Dns {
    Dns::new(&config(bind)).expect("resolver for the BIND fixture")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn is_bogus(security: &Security) -> bool {
    matches!(security, Security::Bogus(_))
}

#[test]
fn txt_answers_are_secure_insecure_or_bogus_as_the_zones_are_signed() {
    let Some(bind) = Bind::start(&Zone::standard()) else {
        return;
    };
    let dns = dns(&bind);
    runtime().block_on(async {
        let secure = dns
            .txt("_dmarc.secure.test")
            .await
            .unwrap_or_else(|e| panic!("{e:?}\n{}", bind.log()));
        assert_eq!(secure.security, Security::Secure, "{}", bind.log());
        assert_eq!(
            secure.records,
            ["v=DMARC1; p=reject; rua=mailto:dmarc@secure.test"]
        );
        assert_eq!(secure.name, "_dmarc.secure.test");

        let insecure = dns.txt("insecure.test").await.unwrap();
        assert_eq!(insecure.security, Security::Insecure);
        assert_eq!(insecure.records, [SPF]);

        // A bogus answer is reported with what the server sent and why it fails,
        // never as an error that reads like SERVFAIL.
        let bogus = dns.txt("_mta-sts.bogus.test").await.unwrap();
        let Security::Bogus(reason) = &bogus.security else {
            panic!("{bogus:?}");
        };
        assert!(
            reason.contains("DNSKEY records of bogus.test match no DS record"),
            "{reason}"
        );
        assert_eq!(bogus.records, ["v=STSv1; id=20260101"]);
    });
}

#[test]
fn a_record_changed_after_signing_is_bogus_and_says_so() {
    let Some(bind) = Bind::start(&[Zone::new("tampered.test", Signing::Tampered)]) else {
        return;
    };
    let dns = dns(&bind);
    runtime().block_on(async {
        let spf = dns.txt("tampered.test").await.unwrap();
        let Security::Bogus(reason) = &spf.security else {
            panic!("{spf:?}");
        };
        assert!(
            reason.contains("signature over the TXT records of tampered.test does not verify"),
            "{reason}"
        );
        assert_eq!(spf.records, [SPF_TAMPERED]);
        // The zone's other records are untouched, and secure.
        let dmarc = dns.txt("_dmarc.tampered.test").await.unwrap();
        assert_eq!(dmarc.security, Security::Secure);
    });
}

#[test]
fn nodata_carries_the_status_of_its_proof_of_absence() {
    let Some(bind) = Bind::start(&Zone::standard()) else {
        return;
    };
    let dns = dns(&bind);
    runtime().block_on(async {
        let secure = dns.txt("mx.secure.test").await.unwrap();
        assert!(secure.records.is_empty());
        assert_eq!(secure.security, Security::Secure);
        let insecure = dns.txt("mx.insecure.test").await.unwrap();
        assert!(insecure.records.is_empty());
        assert_eq!(insecure.security, Security::Insecure);
        assert!(matches!(
            dns.txt("nothing.secure.test").await,
            Err(LookupFailure::NxDomain { .. })
        ));
    });
}

#[test]
fn tlsa_answers_carry_their_status() {
    let Some(bind) = Bind::start(&Zone::standard()) else {
        return;
    };
    let dns = dns(&bind);
    runtime().block_on(async {
        for (host, want) in [
            ("mx.secure.test", Security::Secure),
            ("mx.insecure.test", Security::Insecure),
        ] {
            let found = dns.tlsa(host, 25).await.unwrap();
            assert_eq!(found.security, want, "{host}");
            assert_eq!(found.records.len(), 1, "{host}");
            let tlsa = &found.records[0];
            assert_eq!((tlsa.usage, tlsa.selector, tlsa.matching), (3, 1, 1));
            assert_eq!(tlsa.data, vec![TLSA_AT_MX; 32]);
            assert_eq!(found.name, format!("_25._tcp.{host}"));
        }
        let bogus = dns.tlsa("mx.bogus.test", 25).await.unwrap();
        assert!(is_bogus(&bogus.security), "{bogus:?}");
        assert_eq!(bogus.records.len(), 1, "shown, flagged bogus");
        let none = dns.tlsa("mx.secure.test", 587).await;
        assert!(
            matches!(none, Err(LookupFailure::NxDomain { .. })),
            "{none:?}"
        );
    });
}

#[test]
fn tlsa_follows_a_secure_cname_to_the_expanded_name_first() {
    let Some(bind) = Bind::start(&Zone::standard()) else {
        return;
    };
    let dns = dns(&bind);
    runtime().block_on(async {
        // alias.secure.test → mx.secure.test: both have TLSA; the expanded name wins.
        let found = dns.tlsa("alias.secure.test", 25).await.unwrap();
        assert_eq!(found.name, "_25._tcp.mx.secure.test", "{found:?}");
        assert_eq!(found.records[0].data, vec![TLSA_AT_MX; 32]);
        assert_eq!(found.security, Security::Secure);
        // alias2 → mx2: no TLSA at the expanded name, so the original name's.
        let found = dns.tlsa("alias2.secure.test", 25).await.unwrap();
        assert_eq!(found.name, "_25._tcp.alias2.secure.test");
        assert_eq!(found.records[0].data, vec![TLSA_AT_ALIAS2; 32]);
        // An insecure chain is not followed (RFC 7672 §2.2.2): the original name.
        let found = dns.tlsa("alias.insecure.test", 25).await.unwrap();
        assert_eq!(found.name, "_25._tcp.alias.insecure.test");
        assert_eq!(found.records[0].data, vec![TLSA_AT_ALIAS; 32]);
        assert_eq!(found.security, Security::Insecure);
    });
}

#[test]
fn ds_trust_anchor_works_like_the_dnskey() {
    let Some(bind) = Bind::start(&[Zone::new("secure.test", Signing::Signed)]) else {
        return;
    };
    let anchor = smtpx::dns::load_trust_anchor(&bind.anchor_ds_file()).unwrap();
    assert!(matches!(
        anchor.entries[0],
        smtpx::dns::AnchorRecord::Ds { .. }
    ));
    let dns = Dns::new(&DnsConfig {
        trust_anchor: Some(anchor),
        ..config(&bind)
    })
    .unwrap();
    runtime().block_on(async {
        let found = dns.mx_secured("secure.test").await.unwrap();
        assert_eq!(found.security, Security::Secure, "{}", bind.log());
        assert_eq!(found.records[0].host, "mx.secure.test");
    });
}

#[test]
fn root_anchor_finds_no_chain_to_a_private_tree() {
    // The built-in root key does not lead to test.: every answer is bogus, whatever
    // the server claims.
    let Some(bind) = Bind::start(&[Zone::new("secure.test", Signing::Signed)]) else {
        return;
    };
    let dns = Dns::new(&DnsConfig {
        trust_anchor: None,
        ..config(&bind)
    })
    .unwrap();
    runtime().block_on(async {
        let found = dns.txt("secure.test").await.unwrap();
        assert!(is_bogus(&found.security), "{found:?}");
    });
}

#[test]
fn validation_off_reports_unchecked() {
    let Some(bind) = Bind::start(&Zone::standard()) else {
        return;
    };
    let dns = Dns::new(&DnsConfig {
        validate: false,
        ..config(&bind)
    })
    .unwrap();
    runtime().block_on(async {
        for name in ["secure.test", "bogus.test"] {
            let found = dns.txt(name).await.unwrap();
            assert_eq!(found.security, Security::Unchecked, "{name}");
            assert_eq!(found.records.len(), 1);
        }
    });
}

#[test]
fn extra_records_are_served_signed() {
    let zone = Zone::new("secure.test", Signing::Signed)
        .with(&format!("_25._tcp.mx3 TLSA 2 0 1 {}", tlsa_hex(0x44)));
    let Some(bind) = Bind::start(&[zone]) else {
        return;
    };
    runtime().block_on(async {
        let found = dns(&bind).tlsa("mx3.secure.test", 25).await.unwrap();
        assert_eq!(found.security, Security::Secure);
        assert_eq!(found.records[0].usage, 2);
    });
}

#[test]
fn mx_shows_each_answers_dnssec_status() {
    let Some(bind) = Bind::start(&Zone::standard()) else {
        return;
    };
    let server = bind.server_arg();
    let anchor = bind.anchor_dnskey_file();
    let anchor = anchor.to_str().unwrap();
    let out = smtpx(&[
        "mx",
        "--dns-server",
        &server,
        "--dns-trust-anchor",
        anchor,
        "secure.test",
        "insecure.test",
        "bogus.test",
    ]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let text = &out.stdout;
    for want in [
        "secure.test: 1 MX host\n  DNSSEC: MX answer secure\n",
        "insecure.test: 1 MX host\n  DNSSEC: MX answer insecure\n",
        "bogus.test: 1 MX host\n  DNSSEC: MX answer bogus (the DNSKEY records of bogus.test",
        "         DNSSEC: addresses secure\n",
        "         DNSSEC: addresses insecure\n",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }

    let json = smtpx(&[
        "mx",
        "--dns-server",
        &server,
        "--dns-trust-anchor",
        anchor,
        "--json",
        "secure.test",
        "bogus.test",
    ]);
    let lines = json.json();
    let secure = &lines[0];
    assert_eq!(secure["dnssec"]["mx"]["status"], "secure", "{secure}");
    assert_eq!(
        secure["dnssec"]["hosts"][0],
        serde_json::json!({"host": "mx.secure.test", "addresses": {"status": "secure"}})
    );
    let bogus = &lines[1];
    assert_eq!(bogus["dnssec"]["mx"]["status"], "bogus", "{bogus}");
    assert!(
        bogus["dnssec"]["mx"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("bogus.test")),
        "{bogus}"
    );

    // Without --dnssec or an anchor the output is as before: no extra queries.
    let plain = smtpx(&["mx", "--dns-server", &server, "--json", "secure.test"]);
    assert!(plain.json()[0].get("dnssec").is_none(), "{}", plain.stdout);
}

#[test]
fn bad_trust_anchor_files_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let wrong = dir.path().join("wrong.key");
    std::fs::write(&wrong, "test. IN A 127.0.0.1\n").unwrap();
    let missing = dir.path().join("missing.key");
    for (file, words) in [
        (&wrong, "a A record is not a trust anchor"),
        (&missing, "cannot read the trust anchor file"),
    ] {
        for sub in ["mx", "check", "send", "verify"] {
            let mut args = vec![sub, "--dns-trust-anchor", file.to_str().unwrap()];
            args.extend_from_slice(match sub {
                "mx" | "check" => &["example.test"][..],
                "send" => &["--to", "a@example.test", "--body", "x"][..],
                _ => &["a@example.test"][..],
            });
            let out = smtpx(&args);
            assert_eq!(out.code, 2, "{sub}: {}{}", out.stdout, out.stderr);
            let all = out.all();
            assert!(all.contains("invalid --dns-trust-anchor"), "{sub}: {all}");
            assert!(all.contains(words), "{sub}: {all}");
        }
    }
}
