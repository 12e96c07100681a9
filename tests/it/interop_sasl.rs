//! smtpx's AUTH against a real MTA: a private Postfix whose smtpd offers
//! SASL (Cyrus, private sasldb) after STARTTLS only. Every mechanism smtpx
//! speaks for passwords is checked end to end: the server accepted the
//! credentials (Postfix's log names the method and user), the message was
//! delivered, and the Received header records the authenticated sender.

use std::path::PathBuf;
use std::time::Duration;

use crate::support::certs::{CertKind, TestPki};
use crate::support::peers::{POSTFIX_HOSTNAME, PostfixInstance, PostfixOptions, disconnect_lines};
use crate::support::run::{Out, Smtpx};

const USER: &str = "tim";
const PASSWORD: &str = "tanstaaf";
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(20);

/// The name Postfix logs and puts in the Received header for `tim`: Cyrus
/// SASL canonicalises a bare user name to `user@realm`, and the fixture's
/// realm is its `myhostname`.
fn identity() -> String {
    format!("{USER}@{POSTFIX_HOSTNAME}")
}

/// A Postfix offering AUTH to `tim` after STARTTLS, with the PKI its
/// certificate comes from (kept alive while the instance reads the files).
struct Server {
    postfix: PostfixInstance,
    ca: PathBuf,
    _pki: TestPki,
}

impl Server {
    fn start(configure: impl FnOnce(PostfixOptions) -> PostfixOptions) -> Option<Server> {
        let pki = TestPki::new();
        let (cert, key) = pki.leaf_pem(CertKind::Valid);
        let opts = PostfixOptions::new()
            .tls(&cert, &key)
            .users(&["you"])
            .sasl(&[(USER, PASSWORD)]);
        let postfix = PostfixInstance::start(configure(opts))?;
        Some(Server {
            postfix,
            ca: pki.ca_pem_path.clone(),
            _pki: pki,
        })
    }

    /// `smtpx send` over verified STARTTLS as `tim`, with `extra` arguments
    /// (`--auth MECH`, `--quit-after ...`) and the password in `$PW`.
    fn send(&self, extra: &[&str], password: &str) -> Out {
        self.send_tls("starttls", extra, password)
    }

    fn send_tls(&self, tls: &str, extra: &[&str], password: &str) -> Out {
        let server = self.postfix.server_arg();
        let ca = self.ca.display().to_string();
        let mut args = vec![
            "--server",
            &server,
            "--tls",
            tls,
            "--tls-ca",
            &ca,
            "--tls-server-name",
            "localhost",
            "--user",
            USER,
            "--password-env",
            "PW",
            "--from",
            "me@example.org",
            "--to",
            "you@example.test",
        ];
        args.extend_from_slice(extra);
        Smtpx::send().args(&args).env("PW", password).run()
    }
}

/// smtpx authenticates with `mech` over verified STARTTLS, Postfix logs
/// `method` for user tim, and the message arrives marked as authenticated.
fn authenticates_and_delivers(mech: &str, method: &str) {
    let Some(server) = Server::start(|o| o) else {
        return;
    };
    let subject = format!("auth {mech}");
    let out = server.send(
        &[
            "--auth",
            mech,
            "--subject",
            &subject,
            "--body",
            "authenticated\n",
        ],
        PASSWORD,
    );
    let log = server.postfix.maillog_after_sessions(1);
    assert_eq!(out.code, 0, "{mech}: {out}\nmaillog:\n{log}");
    assert!(out.stdout.contains("certificate verified"), "{out}");
    assert!(out.stdout.contains("<~ 235"), "{out}");
    assert!(out.stdout.contains("queued as"), "{out}");
    assert!(!out.stdout.contains(PASSWORD), "{out}");
    assert!(!out.stderr.contains(PASSWORD), "{out}");
    assert!(
        log.contains(&format!(
            "sasl_method={method}, sasl_username={}",
            identity()
        )),
        "{mech}: maillog:\n{log}"
    );
    let delivered = server.postfix.wait_delivered(1, DELIVERY_TIMEOUT);
    assert_eq!(delivered.len(), 1, "{mech}: maillog:\n{log}");
    let text = String::from_utf8_lossy(&delivered[0]);
    assert!(text.contains(&format!("Subject: {subject}\n")), "{text}");
    assert!(text.contains("\nauthenticated\n"), "{text}");
    // ESMTPSA: ESMTP + TLS (S) + AUTH (A), RFC 3848.
    assert!(text.contains("with ESMTPSA"), "{text}");
    assert!(
        text.contains(&format!("(Authenticated sender: {})", identity())),
        "{text}"
    );
    let log = server.postfix.maillog();
    assert!(
        PostfixInstance::complaints(&log).is_empty(),
        "{mech}: maillog:\n{log}"
    );
}

#[test]
fn postfix_sasl_plain_authenticates_and_delivers() {
    authenticates_and_delivers("plain", "PLAIN");
}

#[test]
fn postfix_sasl_login_authenticates_and_delivers() {
    authenticates_and_delivers("login", "LOGIN");
}

#[test]
fn postfix_sasl_cram_md5_authenticates_and_delivers() {
    authenticates_and_delivers("cram-md5", "CRAM-MD5");
}

#[test]
fn postfix_sasl_scram_sha_256_authenticates_and_delivers() {
    authenticates_and_delivers("scram-sha-256", "SCRAM-SHA-256");
}

/// The server lists SCRAM-SHA-256 last (after PLAIN, LOGIN, CRAM-MD5):
/// auto goes by its own preference, not the server's order.
#[test]
fn postfix_sasl_auto_picks_scram_sha_256() {
    authenticates_and_delivers("auto", "SCRAM-SHA-256");
}

#[test]
fn postfix_sasl_auto_skips_mechanisms_smtpx_does_not_speak() {
    // DIGEST-MD5 is offered first but smtpx does not implement it (RFC 6331
    // moved it to Historic), so auto must fall back to CRAM-MD5.
    let Some(server) = Server::start(|o| o.sasl_mechanisms(&["DIGEST-MD5", "CRAM-MD5"])) else {
        return;
    };
    let out = server.send(&["--auth", "auto", "--body", "x"], PASSWORD);
    let log = server.postfix.maillog_after_sessions(1);
    assert_eq!(out.code, 0, "{out}\nmaillog:\n{log}");
    assert!(out.stdout.contains("DIGEST-MD5"), "{out}");
    assert!(
        log.contains(&format!(
            "sasl_method=CRAM-MD5, sasl_username={}",
            identity()
        )),
        "maillog:\n{log}"
    );
    assert_eq!(server.postfix.wait_delivered(1, DELIVERY_TIMEOUT).len(), 1);
}

#[test]
fn postfix_sasl_mechanism_not_offered_is_exit_6() {
    let Some(server) = Server::start(|o| o.sasl_mechanisms(&["CRAM-MD5"])) else {
        return;
    };
    let out = server.send(&["--auth", "plain", "--body", "x"], PASSWORD);
    let log = server.postfix.maillog_after_sessions(1);
    assert_eq!(out.code, 6, "{out}\nmaillog:\n{log}");
    // Nothing was tried: smtpd counts no AUTH command in this session.
    let disconnects = disconnect_lines(&log);
    assert_eq!(disconnects.len(), 1, "maillog:\n{log}");
    assert!(!disconnects[0].contains(" auth="), "maillog:\n{log}");
    assert!(server.postfix.delivered_now().is_empty());
}

#[test]
fn postfix_sasl_wrong_password_is_535_and_exit_6() {
    let Some(server) = Server::start(|o| o) else {
        return;
    };
    let mechs = [
        ("plain", "PLAIN"),
        ("login", "LOGIN"),
        ("cram-md5", "CRAM-MD5"),
        ("scram-sha-256", "SCRAM-SHA-256"),
        ("auto", "SCRAM-SHA-256"),
    ];
    for (n, (mech, method)) in mechs.iter().enumerate() {
        let out = server.send(&["--auth", mech, "--body", "x"], "wrong-password");
        let log = server.postfix.maillog_after_sessions(n + 1);
        assert_eq!(out.code, 6, "{mech}: {out}\nmaillog:\n{log}");
        assert!(out.stdout.contains("535"), "{mech}: {out}");
        assert!(!out.stdout.contains("wrong-password"), "{out}");
        assert!(
            log.contains(&format!("SASL {method} authentication failed")),
            "{mech}: maillog:\n{log}"
        );
        // One failed AUTH in this session, and no MAIL after it.
        let disconnect = disconnect_lines(&log)[n];
        assert!(disconnect.contains(" auth=0/1"), "{mech}: {disconnect}");
        assert!(!disconnect.contains(" mail="), "{mech}: {disconnect}");
    }
    assert!(server.postfix.delivered_now().is_empty());
}

#[test]
fn postfix_sasl_unknown_user_is_exit_6() {
    let Some(server) = Server::start(|o| o) else {
        return;
    };
    let ca = server.ca.display().to_string();
    let out = Smtpx::send()
        .args(&[
            "--server",
            &server.postfix.server_arg(),
            "--tls",
            "starttls",
            "--tls-ca",
            &ca,
            "--tls-server-name",
            "localhost",
            "--user",
            "nosuchuser",
            "--password-env",
            "PW",
            "--auth",
            "plain",
            "--from",
            "me@example.org",
            "--to",
            "you@example.test",
        ])
        .env("PW", PASSWORD)
        .run();
    let log = server.postfix.maillog_after_sessions(1);
    assert_eq!(out.code, 6, "{out}\nmaillog:\n{log}");
    assert!(out.stdout.contains("535"), "{out}");
}

#[test]
fn postfix_sasl_offers_auth_only_after_starttls() {
    let Some(server) = Server::start(|o| o) else {
        return;
    };
    let auth_lines = |out: &Out| -> Vec<String> {
        out.stdout
            .lines()
            .filter(|l| (l.starts_with("<- 250") || l.starts_with("<~ 250")) && l.contains("AUTH"))
            .map(str::to_owned)
            .collect()
    };
    let plain = server.send_tls("none", &["--quit-after", "ehlo"], PASSWORD);
    assert_eq!(plain.code, 0, "{plain}");
    assert!(plain.stdout.contains("STARTTLS"), "{plain}");
    assert!(auth_lines(&plain).is_empty(), "{plain}");

    // `tls` stops after the EHLO that follows the handshake.
    let tls = server.send(&["--quit-after", "tls"], PASSWORD);
    assert_eq!(tls.code, 0, "{tls}");
    let offered = auth_lines(&tls);
    assert_eq!(offered.len(), 1, "{tls}");
    for mech in ["PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256"] {
        assert!(
            offered[0].split_whitespace().any(|w| w == mech),
            "{mech} not in {offered:?}"
        );
    }
    let log = server.postfix.maillog_after_sessions(2);
    for disconnect in disconnect_lines(&log) {
        assert!(!disconnect.contains(" auth="), "{log}");
    }
}

#[test]
fn postfix_sasl_credentials_are_never_sent_without_tls() {
    let Some(server) = Server::start(|o| o) else {
        return;
    };
    let out = server.send_tls("none", &["--body", "x"], PASSWORD);
    let log = server.postfix.maillog_after_sessions(1);
    assert_eq!(out.code, 5, "{out}\nmaillog:\n{log}");
    assert!(!out.stdout.contains("AUTH "), "{out}");
    let disconnects = disconnect_lines(&log);
    assert_eq!(disconnects.len(), 1, "maillog:\n{log}");
    assert!(!disconnects[0].contains(" auth="), "maillog:\n{log}");
    assert!(!log.contains("sasl_"), "maillog:\n{log}");
    assert!(server.postfix.delivered_now().is_empty());
}

#[test]
fn postfix_sasl_offered_in_plaintext_is_still_refused() {
    // A server that offers AUTH before STARTTLS: smtpx must still keep the
    // password off an unencrypted connection.
    let Some(server) = Server::start(|o| o.main_cf("smtpd_tls_auth_only = no")) else {
        return;
    };
    let probe = server.send_tls("none", &["--quit-after", "ehlo"], PASSWORD);
    assert_eq!(probe.code, 0, "{probe}");
    assert!(
        probe
            .stdout
            .lines()
            .any(|l| l.starts_with("<- 250") && l.contains("AUTH")),
        "{probe}"
    );
    for mech in ["auto", "plain", "scram-sha-256"] {
        let out = server.send_tls("none", &["--auth", mech, "--body", "x"], PASSWORD);
        assert_eq!(out.code, 5, "{mech}: {out}");
        assert!(!out.stdout.contains("~> AUTH"), "{mech}: {out}");
    }
    let log = server.postfix.maillog_after_sessions(4);
    for disconnect in disconnect_lines(&log) {
        assert!(!disconnect.contains(" auth="), "maillog:\n{log}");
    }
    assert!(!log.contains("sasl_"), "maillog:\n{log}");
    assert!(server.postfix.delivered_now().is_empty());
}
