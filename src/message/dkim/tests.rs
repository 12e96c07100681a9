//! DKIM signing checked against mail-auth's own verifier, with key records prepared
//! in advance instead of DNS.

use std::collections::HashMap;
use std::sync::Mutex;

use mail_auth::common::parse::TxtRecordParser;
use mail_auth::common::verify::DomainKey;
use mail_auth::hickory_resolver::config::{ResolverConfig, ResolverOpts};
use mail_auth::{DkimResult, MessageAuthenticator, Parameters, ResolverCache, Txt};

use super::*;

const RSA_PKCS1: &str = include_str!("../../../tests/fixtures/dkim/rsa2048.pem");
const RSA_PKCS8: &str = include_str!("../../../tests/fixtures/dkim/rsa2048-pkcs8.pem");
const RSA_RECORD: &str = include_str!("../../../tests/fixtures/dkim/rsa2048.txt");
const ED25519: &str = include_str!("../../../tests/fixtures/dkim/ed25519.pem");
const ED25519_RECORD: &str = include_str!("../../../tests/fixtures/dkim/ed25519.txt");

const MESSAGE: &str = "From: Alice <alice@Example.org>\r\n\
    To: bob@example.net\r\n\
    Subject: signed  test\r\n\
    Date: Thu, 1 Jan 2026 00:00:00 +0000\r\n\
    Message-ID: <1@example.org>\r\n\
    X-Unsigned: yes\r\n\
    \r\n\
    Hello,  Bob.\r\n\
    .dot line\r\n";

/// DNS answers prepared in advance: the verifier asks this before the network, so
/// the test never leaves the process.
struct Records(Mutex<HashMap<Box<str>, Txt>>);

impl ResolverCache<Box<str>, Txt> for Records {
    fn get<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.0.lock().unwrap().get(name).cloned()
    }
    fn remove<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.0.lock().unwrap().remove(name)
    }
    fn insert(&self, key: Box<str>, value: Txt, _: std::time::Instant) {
        self.0.lock().unwrap().insert(key, value);
    }
}

/// mail-auth's own verifier, with `record` at `name` (an FQDN with its final dot).
fn verify(message: &[u8], name: &str, record: &str) -> Vec<DkimResult> {
    let key = DomainKey::parse(record.trim().as_bytes()).expect("a key record");
    let records = Records(Mutex::new(HashMap::from([(name.into(), Txt::from(key))])));
    // No name server: a name the records do not hold fails here, never on the network.
    let auth = MessageAuthenticator::new(
        ResolverConfig::from_name_servers(Vec::new()),
        ResolverOpts::default(),
    )
    .expect("a resolver");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let parsed = AuthenticatedMessage::parse(message).expect("a message");
    runtime.block_on(async {
        auth.verify_dkim(Parameters::new(&parsed).with_txt_cache(&records))
            .await
            .iter()
            .map(|o| o.result().clone())
            .collect()
    })
}

fn key(pem: &str) -> DkimKey {
    DkimKey::from_pem(pem.as_bytes()).unwrap()
}

#[test]
fn rsa_signatures_verify_with_mail_auth() {
    for pem in [RSA_PKCS1, RSA_PKCS8] {
        let k = key(pem);
        assert_eq!(
            (k.algorithm(), k.describe().as_str()),
            ("rsa-sha256", "RSA-2048")
        );
        let signed = k.sign(MESSAGE.as_bytes(), "sel", None).unwrap();
        assert_eq!(signed.about.domain, "example.org");
        assert_eq!(signed.about.algorithm, "rsa-sha256");
        let results = verify(&signed.message, "sel._domainkey.example.org.", RSA_RECORD);
        assert_eq!(results, [DkimResult::Pass]);
    }
}

#[test]
fn ed25519_signatures_verify_with_mail_auth() {
    let k = key(ED25519);
    assert_eq!(k.algorithm(), "ed25519-sha256");
    let signed = k
        .sign(MESSAGE.as_bytes(), "ed", Some("example.com"))
        .unwrap();
    assert_eq!(signed.about.domain, "example.com");
    let results = verify(
        &signed.message,
        "ed._domainkey.example.com.",
        ED25519_RECORD,
    );
    assert_eq!(results, [DkimResult::Pass]);
}

#[test]
fn a_changed_body_or_header_fails() {
    let signed = key(RSA_PKCS1)
        .sign(MESSAGE.as_bytes(), "sel", None)
        .unwrap();
    let text = String::from_utf8(signed.message).unwrap();
    let name = "sel._domainkey.example.org.";
    let body = text.replace("Hello,  Bob.", "Hello, Eve.");
    // mail-auth calls a body hash mismatch neutral, a bad header signature fail.
    let results = verify(body.as_bytes(), name, RSA_RECORD);
    assert!(
        matches!(
            results[..],
            [DkimResult::Neutral(mail_auth::Error::Dkim(_))]
        ),
        "{results:?}"
    );
    assert!(format!("{results:?}").contains("BodyHash"), "{results:?}");
    let header = text.replace("Subject: signed  test", "Subject: changed");
    assert!(matches!(
        verify(header.as_bytes(), name, RSA_RECORD)[..],
        [DkimResult::Fail(_)]
    ));
    // Relaxed canonicalisation forgives what mail systems do to white space.
    let spaced = text.replace("Subject: signed  test", "Subject:   signed test ");
    assert_eq!(
        verify(spaced.as_bytes(), name, RSA_RECORD),
        [DkimResult::Pass]
    );
    // Oversigning: a second From added above the first breaks the signature.
    let added = text.replacen(
        "From: Alice",
        "From: mallory@evil.example\r\nFrom: Alice",
        1,
    );
    assert!(matches!(
        verify(added.as_bytes(), name, RSA_RECORD)[..],
        [DkimResult::Fail(_)]
    ));
}

#[test]
fn signature_first_with_the_present_headers_and_from_twice() {
    let signed = key(ED25519).sign(MESSAGE.as_bytes(), "ed", None).unwrap();
    let text = String::from_utf8(signed.message).unwrap();
    assert!(
        text.starts_with(
            "DKIM-Signature: v=1; a=ed25519-sha256; s=ed; d=example.org; c=relaxed/relaxed;"
        ),
        "{text}"
    );
    assert!(text.contains(" t="), "{text}");
    assert_eq!(
        signed.about.headers,
        ["message-id", "date", "subject", "to", "from", "from"]
            .map(String::from)
            .to_vec(),
        "bottom-up as mail-auth lists them; no x-unsigned, no absent cc"
    );
    let headers = text.split("\r\n\r\n").next().unwrap();
    let h = headers
        .split("h=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap();
    let h: String = h.chars().filter(|c| !c.is_whitespace()).collect();
    assert_eq!(
        h.to_ascii_lowercase(),
        "message-id:date:subject:to:from:from"
    );
    assert!(
        text.ends_with("Hello,  Bob.\r\n.dot line\r\n"),
        "unchanged body, unstuffed"
    );
}

#[test]
fn bare_line_ends_become_crlf_before_signing() {
    let lf = MESSAGE.replace("\r\n", "\n");
    let lf = lf.trim_end_matches('\n');
    let signed = key(ED25519).sign(lf.as_bytes(), "ed", None).unwrap();
    let text = String::from_utf8(signed.message.clone()).unwrap();
    assert!(!text.replace("\r\n", "").contains('\n'), "{text:?}");
    assert!(text.ends_with(".dot line\r\n"));
    let results = verify(
        &signed.message,
        "ed._domainkey.example.org.",
        ED25519_RECORD,
    );
    assert_eq!(results, [DkimResult::Pass]);
}

#[test]
fn the_domain_comes_from_from() {
    let k = || key(ED25519);
    let no_from = "To: bob@example.net\r\nSubject: x\r\n\r\nbody\r\n";
    let e = k().sign(no_from.as_bytes(), "s", None).unwrap_err();
    assert!(e.contains("no From header"), "{e}");
    let e = k()
        .sign(no_from.as_bytes(), "s", Some("example.org"))
        .unwrap_err();
    assert!(e.contains("no From header"), "{e}");
    let two = "From: a@one.example, b@two.example\r\n\r\nbody\r\n";
    let e = k().sign(two.as_bytes(), "s", None).unwrap_err();
    assert!(e.contains("one.example, two.example"), "{e}");
    assert!(e.contains("--dkim-domain"), "{e}");
    let same = "From: a@one.example, b@ONE.example\r\n\r\nbody\r\n";
    assert_eq!(
        k().sign(same.as_bytes(), "s", None).unwrap().about.domain,
        "one.example"
    );
    let e = k().sign(b"no headers at all", "s", None).unwrap_err();
    assert!(!e.is_empty());
}

#[test]
fn what_is_not_a_usable_key_is_named() {
    let pem = |label: &str| format!("-----BEGIN {label}-----\nAAAA\n-----END {label}-----\n");
    let err = |text: &str| DkimKey::from_pem(text.as_bytes()).unwrap_err();
    assert!(err(&pem("PUBLIC KEY")).contains("not a private key (the file holds a public key)"));
    assert!(err(&pem("RSA PUBLIC KEY")).contains("not a private key"));
    assert!(err(&pem("CERTIFICATE")).contains("a certificate"));
    assert!(err(&pem("EC PRIVATE KEY")).contains("unsupported key type: an EC"));
    assert!(err(&pem("ENCRYPTED PRIVATE KEY")).contains("encrypted"));
    assert!(err(&pem("OPENSSH PRIVATE KEY")).contains("OpenSSH"));
    assert!(err("hello").contains("not a PEM private key"));
    assert!(err(&pem("RSA PRIVATE KEY")).contains("not a usable RSA private key"));
    let ec = "-----BEGIN PRIVATE KEY-----\n\
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgMm9fYjxKLh94hbI9\n\
        3l6HM1tA5spYMBZ80+j8qwb6C5+hRANCAATSJ7XqNY6jNTEQuF78BmYMgkP3sKvS\n\
        waWac2xsJFUHNwwHN+IzarJBLIDfGVI4R+su1LJs9qS0eRgtRQjbK+cE\n\
        -----END PRIVATE KEY-----\n";
    assert!(
        err(ec).contains("unsupported key type: an EC (ECDSA) key"),
        "{}",
        err(ec)
    );
    let short = "-----BEGIN PRIVATE KEY-----\n\
        MIIBUwIBADANBgkqhkiG9w0BAQEFAASCAT0wggE5AgEAAkEApBIhQbNa8xvri/ZC\n\
        FM23jDaYRwZvnG07/w9PJ64NR4BGRjm0MUIAA3qQD+0CqPdVXtCijiNBLuj2zA5e\n\
        gwH4nwIDAQABAkBsb5cPRyzLFB7fSAhwm229+6808en+JqvKbSHRhdU89VlXG9q7\n\
        N02UUW8NKWQ9XHBYurBgAB8nxTkfzlhEMLQRAiEA1dOVLBHcOIK2Ur4fgz9wOecx\n\
        49qldU7rDlJFhsbERwUCIQDEbk8s+qKXhnJBUr7qH+qgjJV1jQMgZ7biYcqvshHK\n\
        UwIgH46CTWa1YYGo9r0oWW5bWbBNJJt4H7/t4Mczi5h6DyECIDX38Lz057Ml90JH\n\
        T7jXqAkQVwgDBDblB/RO1fdLv2ONAiATrO9neD856Th+Ms/50oj5cP4/lTxrDaN6\n\
        PV/PH3XuNg==\n\
        -----END PRIVATE KEY-----\n";
    assert!(
        err(short).contains("RSA key of 512 bits is too short"),
        "{}",
        err(short)
    );
    assert_eq!(format!("{:?}", key(ED25519)), "DkimKey(Ed25519)");
}

#[test]
fn dns_names() {
    let ok = |s: &str| dns_name("d", s).unwrap();
    assert_eq!(ok("Example.ORG."), "example.org");
    assert_eq!(ok("sel-1.sub"), "sel-1.sub");
    assert_eq!(ok("bücher.example"), "xn--bcher-kva.example");
    for bad in [
        "",
        ".",
        "a..b",
        "-a.b",
        "a-.b",
        "a_b",
        "a b",
        "a/b",
        &"x".repeat(64),
        &"a.".repeat(130),
    ] {
        assert!(dns_name("d", bad).is_err(), "{bad:?}");
    }
    assert_eq!(
        dns_name("--dkim-selector", "a b").unwrap_err(),
        "--dkim-selector 'a b' is not a valid DNS name: only letters, digits, '-' and '.' are allowed"
    );
}
