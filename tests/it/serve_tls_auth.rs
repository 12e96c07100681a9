//! `smtpx serve` with TLS (STARTTLS, implicit, a certificate made at start and pinned by
//! the client) and AUTH (a users file or any user), against smtpx send and swaks.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::support::content::{file_with, path};
use crate::support::peers::require;
use crate::support::run::{Out, Smtpx};
use crate::support::serve::{Serve, maildir_messages};

struct Tls {
    dir: tempfile::TempDir,
}

impl Tls {
    fn new() -> Tls {
        Tls {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn cert(&self) -> String {
        self.dir.path().join("cert.pem").display().to_string()
    }

    fn maildir(&self) -> std::path::PathBuf {
        self.dir.path().join("md")
    }

    /// `--tls-self-signed --tls-cert-out CERT --maildir MD`.
    fn args(&self) -> Vec<String> {
        vec![
            "--tls-self-signed".into(),
            "--tls-cert-out".into(),
            self.cert(),
            "--maildir".into(),
            self.maildir().display().to_string(),
        ]
    }

    fn users(&self) -> String {
        let f = self.dir.path().join("users");
        std::fs::write(&f, "# test users\ntim:tanstaaftanstaaf\nann:s3cret pass\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        f.display().to_string()
    }
}

fn start(args: &[String], more: &[&str]) -> Serve {
    let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
    all.extend_from_slice(more);
    Serve::start(&all)
}

fn send(server: &Serve, extra: &[&str]) -> Out {
    Smtpx::send()
        .args(&["--server", &server.server_arg()])
        .args(&["--from", "me@example.org", "--to", "you@example.org"])
        .args(&["--body", "hello"])
        .args(extra)
        .run()
}

/// The SHA-256 of the first certificate in a PEM file, as serve prints it.
fn fingerprint(pem: &str) -> String {
    let b64: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[test]
fn starttls_with_a_pinned_self_signed_certificate() {
    let tls = Tls::new();
    let server = start(&tls.args(), &["--max-messages", "1"]);
    let out = send(&server, &["--tls", "starttls", "--tls-ca", &tls.cert()]);
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.contains("~> MAIL FROM"), "verified TLS: {out}");
    let served = server.wait();
    assert_eq!(served.code, 0, "{served}");
    let pem = std::fs::read_to_string(tls.cert()).unwrap();
    assert!(
        served
            .stdout
            .contains(&format!("SHA-256 {}", fingerprint(&pem))),
        "{served}"
    );
    assert!(
        served.stdout.contains("[1] *  TLS established: TLSv1.3"),
        "{served}"
    );
    assert!(
        served.stdout.contains("[1] <~ MAIL FROM:<me@example.org>"),
        "{served}"
    );
    let stored = std::fs::read_to_string(&maildir_messages(&tls.maildir())[0]).unwrap();
    assert!(stored.contains("with ESMTPS id"), "{stored}");
    assert!(stored.contains("\t(TLSv1.3 "), "{stored}");
}

#[test]
fn implicit_tls_listener() {
    let tls = Tls::new();
    let mut args = vec!["--max-messages".to_string(), "1".to_string()];
    args.extend(tls.args());
    let all: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = Serve::start_with(&["--listen-tls", "127.0.0.1:0"], &all);
    let out = send(&server, &["--tls", "implicit", "--tls-ca", &tls.cert()]);
    assert_eq!(out.code, 0, "{out}");
    let served = server.wait();
    assert!(served.stdout.contains("(implicit TLS)"), "{served}");
    assert_eq!(served.code, 0, "{served}");
}

#[test]
fn auth_with_scram_from_smtpx_send_and_a_wrong_password() {
    let tls = Tls::new();
    let users = tls.users();
    let server = start(&tls.args(), &["--users", &users]);
    let auth = |mech: &str, password: &str| {
        Smtpx::send()
            .args(&["--server", &server.server_arg()])
            .args(&[
                "--from",
                "me@example.org",
                "--to",
                "you@example.org",
                "--body",
                "x",
            ])
            .args(&["--tls", "starttls", "--tls-ca", &tls.cert()])
            .args(&["--auth", mech, "--user", "tim", "--password-env", "PW"])
            .env("PW", password)
            .run()
    };
    for mech in ["scram-sha-256", "cram-md5", "plain", "login"] {
        let out = auth(mech, "tanstaaftanstaaf");
        assert_eq!(out.code, 0, "{mech}: {out}");
        let out = auth(mech, "wrong");
        assert_eq!(out.code, 6, "{mech}: {out}");
        assert!(out.stdout.contains("535 5.7.8"), "{mech}: {out}");
    }
    server.signal("TERM");
    let served = server.wait();
    assert_eq!(served.code, 0, "{served}");
    assert!(
        !served.stdout.contains("tanstaaf"),
        "the password must not show: {served}"
    );
    assert!(
        served.stdout.contains("<~ AUTH PLAIN [redacted"),
        "{served}"
    );
    let stored = std::fs::read_to_string(&maildir_messages(&tls.maildir())[0]).unwrap();
    assert!(stored.contains("with ESMTPSA id"), "{stored}");
    assert!(stored.contains("(authenticated as tim)"), "{stored}");
}

#[test]
fn auth_is_offered_only_after_tls_unless_allowed() {
    let tls = Tls::new();
    let server = start(&tls.args(), &["--auth-any"]);
    let out = send(&server, &["--tls", "none", "--quit-after", "ehlo"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(!out.stdout.contains("AUTH"), "{out}");
    server.signal("TERM");
    server.wait();

    let server = Serve::start(&["--auth-any", "--allow-insecure-auth"]);
    let out = Smtpx::send()
        .args(&["--server", &server.server_arg()])
        .args(&[
            "--from",
            "me@example.org",
            "--to",
            "you@example.org",
            "--body",
            "x",
        ])
        .args(&[
            "--auth",
            "plain",
            "--user",
            "anyone",
            "--password-env",
            "PW",
        ])
        .args(&["--allow-insecure-auth"])
        .env("PW", "whatever")
        .run();
    assert!(out.stdout.contains("-> AUTH PLAIN [redacted"), "{out}");
    assert_eq!(out.code, 0, "{out}");
    server.signal("TERM");
    assert_eq!(server.wait().code, 0);
}

#[test]
fn swaks_auth_plain_login_cram_md5_over_starttls() {
    if !require("swaks-tls") {
        return;
    }
    let tls = Tls::new();
    let users = tls.users();
    let server = start(&tls.args(), &["--users", &users]);
    for mech in ["PLAIN", "LOGIN", "CRAM-MD5"] {
        for (password, code) in [("s3cret pass", 0), ("nope", 28)] {
            let out = Command::new("swaks")
                .args(["--server", &server.server_arg(), "--tls"])
                .args(["--from", "me@example.org", "--to", "you@example.org"])
                .args([
                    "--auth",
                    mech,
                    "--auth-user",
                    "ann",
                    "--auth-password",
                    password,
                ])
                .output()
                .expect("run swaks");
            let text = String::from_utf8_lossy(&out.stdout);
            assert_eq!(out.status.code(), Some(code), "{mech} {password}:\n{text}");
        }
    }
    server.signal("TERM");
    assert_eq!(server.wait().code, 0);
    let stored = std::fs::read_to_string(&maildir_messages(&tls.maildir())[0]).unwrap();
    assert!(stored.contains("(authenticated as ann)"), "{stored}");
}

#[test]
fn a_bad_certificate_file_is_a_usage_error() {
    let bad = file_with(b"not a certificate");
    let out =
        crate::support::run::smtpx(&["serve", "--tls-cert", &path(&bad), "--tls-key", &path(&bad)]);
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr.starts_with("smtpx: error: certificate file"),
        "{out}"
    );
}

#[test]
fn commands_pipelined_after_starttls_are_thrown_away() {
    use std::io::{BufRead, BufReader, Write};
    let tls = Tls::new();
    let server = start(&tls.args(), &[]);
    let mut s = std::net::TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    s.write_all(b"EHLO c\r\n").unwrap();
    while !line.starts_with("250 ") {
        line.clear();
        r.read_line(&mut line).unwrap();
    }
    // RFC 3207 §5 / CVE-2011-0411: what follows STARTTLS in the same write must not
    // be run once TLS is up.
    s.write_all(b"STARTTLS\r\nMAIL FROM:<injected@evil.example>\r\n")
        .unwrap();
    line.clear();
    r.read_line(&mut line).unwrap();
    assert!(line.starts_with("220 2.0.0"), "{line}");
    drop(r);
    drop(s);
    server.signal("TERM");
    let out = server.wait();
    assert!(
        out.stderr
            .contains("warning: [1] discarded 35 octets the client sent after STARTTLS"),
        "{out}"
    );
    assert!(!out.stdout.contains("injected@evil.example>"), "{out}");
}
