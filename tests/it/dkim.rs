//! `send --dkim-key`: messages signed by smtpx, stored by `smtpx serve`, verified by
//! dkimpy (Debian's python3-dkim), an independent implementation; keys made by openssl
//! at test time, the key record handed to the verifier instead of DNS.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::content::{file_with, path};
use crate::support::peers::require;
use crate::support::run::{Out, Smtpx};
use crate::support::serve::{Serve, maildir_messages};

const PYTHON: &str = "/usr/bin/python3";
const VERIFIER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/dkim_verify.py");

/// A key made by openssl, mode 0600, and its DKIM key record.
struct Key {
    _dir: tempfile::TempDir,
    path: PathBuf,
    record: String,
}

fn openssl(args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `rsa2048` (PKCS#8), `rsa-pkcs1` (traditional "RSA PRIVATE KEY"), `ed25519`, or any
/// other `openssl genpkey` algorithm with its options.
fn key(kind: &str) -> Key {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("key.pem");
    let p = path.to_str().unwrap();
    match kind {
        "rsa2048" => openssl(&[
            "genpkey",
            "-algorithm",
            "rsa",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            p,
        ]),
        "rsa-pkcs1" => openssl(&["genrsa", "-traditional", "-out", p, "2048"]),
        "rsa512" => openssl(&[
            "genpkey",
            "-algorithm",
            "rsa",
            "-pkeyopt",
            "rsa_keygen_bits:512",
            "-out",
            p,
        ]),
        "ed25519" => openssl(&["genpkey", "-algorithm", "ed25519", "-out", p]),
        "ec" => openssl(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            p,
        ]),
        other => panic!("no key kind {other}"),
    };
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let spki = openssl(&["pkey", "-in", p, "-pubout", "-outform", "der"]);
    let record = if kind == "ed25519" {
        // RFC 8463 §4: the raw 32-octet public key, the SPKI's last octets.
        format!("v=DKIM1; k=ed25519; p={}", b64(&spki[spki.len() - 32..]))
    } else {
        format!("v=DKIM1; k=rsa; p={}", b64(&spki))
    };
    Key {
        _dir: dir,
        path,
        record,
    }
}

impl Key {
    fn arg(&self) -> &str {
        self.path.to_str().unwrap()
    }
}

/// dkimpy's verdict on `message`, the record published at `name`.
fn dkimpy(message: &[u8], name: &str, record: &str) -> bool {
    use std::io::Write;
    let mut child = Command::new(PYTHON)
        .args([VERIFIER, name, record])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the dkimpy verifier");
    child.stdin.take().unwrap().write_all(message).unwrap();
    let out = child.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    match said.trim() {
        "pass" => true,
        "fail" => false,
        _ => panic!(
            "verifier broke: {said}\n{}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

fn serve(maildir: &Path) -> Serve {
    Serve::start(&[
        "--max-messages",
        "1",
        "--maildir",
        maildir.to_str().unwrap(),
    ])
}

fn stored(maildir: &Path) -> Vec<u8> {
    let files = maildir_messages(maildir);
    assert_eq!(files.len(), 1, "{files:?}");
    std::fs::read(&files[0]).unwrap()
}

fn send(server: &Serve, key: &Key, extra: &[&str]) -> Out {
    Smtpx::send()
        .args(&["--server", &server.server_arg()])
        .args(&["--dkim-key", key.arg(), "--dkim-selector", "sel"])
        .args(extra)
        .run()
}

#[test]
fn signed_mail_stored_by_serve_verifies_with_dkimpy_and_tampering_fails() {
    if !require("python3-dkim") || !require("openssl") {
        return;
    }
    for (kind, algorithm, chunking) in [
        ("rsa2048", "rsa-sha256", false),
        ("ed25519", "ed25519-sha256", true),
        ("rsa-pkcs1", "rsa-sha256", true),
    ] {
        let key = key(kind);
        let dir = tempfile::tempdir().unwrap();
        let maildir = dir.path().join("md");
        let server = serve(&maildir);
        let mut args = vec![
            "--from",
            "Alice <alice@example.org>",
            "--to",
            "bob@example.net",
            "--subject",
            "signed  end to end",
            "--body",
            ".a leading dot\nand  spaces\n",
        ];
        if chunking {
            args.push("--chunking");
        }
        let out = send(&server, &key, &args);
        assert_eq!(out.code, 0, "{kind}: {out}");
        assert!(
            out.stdout.contains(&format!(
                "Signed with DKIM: d=example.org s=sel a={algorithm} (h=content-transfer-encoding:content-type:mime-version:"
            )),
            "{kind}: {out}"
        );
        assert!(out.stdout.contains(":subject:to:from:from)"), "{out}");
        if chunking {
            assert!(
                out.stdout.contains("BDAT"),
                "{kind}: chunking was used: {out}"
            );
        }
        assert_eq!(server.wait().code, 0);
        let message = stored(&maildir);
        let name = "sel._domainkey.example.org";
        assert!(
            dkimpy(&message, name, &key.record),
            "{kind}: {}",
            String::from_utf8_lossy(&message)
        );
        let text = String::from_utf8(message).unwrap();
        let tampered = text.replace("and  spaces", "and  space");
        assert!(
            !dkimpy(tampered.as_bytes(), name, &key.record),
            "{kind}: a changed body must fail"
        );
        let other = if kind == "ed25519" {
            key_record_of("rsa2048")
        } else {
            key_record_of("ed25519")
        };
        assert!(
            !dkimpy(text.as_bytes(), name, &other),
            "{kind}: another key must fail"
        );
    }
}

fn key_record_of(kind: &str) -> String {
    key(kind).record
}

#[test]
fn stdin_data_is_read_whole_signed_and_verifies() {
    if !require("python3-dkim") || !require("openssl") {
        return;
    }
    let key = key("ed25519");
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("md");
    let server = serve(&maildir);
    // LF line ends, a dot-led line and no final line break: what arrives is CRLF, and
    // that is what was signed.
    let mut data =
        b"From: ops@mail.example.com\nTo: bob@example.net\nSubject: from stdin\n\n".to_vec();
    for i in 0..20_000 {
        data.extend_from_slice(format!("line {i}\n.dot {i}\n").as_bytes());
    }
    data.extend_from_slice(b"last");
    let out = Smtpx::send()
        .args(&[
            "--server",
            &server.server_arg(),
            "--to",
            "bob@example.net",
            "--data",
            "-",
        ])
        .args(&[
            "--dkim-key",
            key.arg(),
            "--dkim-selector",
            "s2026",
            "--dkim-domain",
            "example.com",
        ])
        .args(&["--json"])
        .stdin(data)
        .run();
    assert_eq!(out.code, 0, "{out}");
    let result = out.result();
    assert_eq!(result["dkim"]["domain"], "example.com", "{result}");
    assert_eq!(result["dkim"]["selector"], "s2026");
    assert_eq!(result["dkim"]["algorithm"], "ed25519-sha256");
    assert_eq!(
        result["dkim"]["headers"],
        serde_json::json!(["subject", "to", "from", "from"])
    );
    assert!(
        out.stdout
            .contains(r#""Signed with DKIM: d=example.com s=s2026 a=ed25519-sha256"#),
        "{out}"
    );
    assert_eq!(server.wait().code, 0);
    let message = stored(&maildir);
    assert!(String::from_utf8_lossy(&message).ends_with("\r\n.dot 19999\r\nlast\r\n"));
    assert!(dkimpy(
        &message,
        "s2026._domainkey.example.com",
        &key.record
    ));
}

#[test]
fn print_shows_the_signed_message_first_and_it_verifies() {
    if !require("python3-dkim") || !require("openssl") {
        return;
    }
    let key = key("rsa2048");
    let composed = Smtpx::send()
        .args(&[
            "--from",
            "me@example.org",
            "--to",
            "you@example.org",
            "--cc",
            "c@example.org",
        ])
        .args(&[
            "--subject",
            "print",
            "-H",
            "Reply-To: r@example.org",
            "--print",
        ])
        .args(&["--dkim-key", key.arg(), "--dkim-selector", "sel"])
        .run();
    assert_eq!(composed.code, 0, "{composed}");
    assert!(
        composed.stdout.starts_with(
            "DKIM-Signature: v=1; a=rsa-sha256; s=sel; d=example.org; c=relaxed/relaxed;"
        ),
        "{composed}"
    );
    let h: String = composed
        .stdout
        .split("h=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    for name in [
        "From",
        "Reply-To",
        "Subject",
        "Date",
        "To",
        "Cc",
        "Message-ID",
        "MIME-Version",
        "Content-Type",
    ] {
        assert!(
            h.split(':').any(|n| n.eq_ignore_ascii_case(name)),
            "{name} in h={h}"
        );
    }
    assert_eq!(
        h.split(':')
            .filter(|n| n.eq_ignore_ascii_case("from"))
            .count(),
        2,
        "{h}"
    );
    assert!(composed.stdout.contains(" t="), "{composed}");
    assert!(dkimpy(
        composed.stdout.as_bytes(),
        "sel._domainkey.example.org",
        &key.record
    ));

    // A prepared file prints signed too (without --dkim-key, --print --data is refused).
    let f = file_with(b"From: a@example.org\r\nSubject: file\r\n\r\nbody\r\n");
    let printed = Smtpx::send()
        .args(&["--to", "you@example.org", "--data", &path(&f), "--print"])
        .args(&["--dkim-key", key.arg(), "--dkim-selector", "sel"])
        .run();
    assert_eq!(printed.code, 0, "{printed}");
    assert!(printed.stdout.ends_with("\r\n\r\nbody\r\n"), "{printed}");
    assert!(dkimpy(
        printed.stdout.as_bytes(),
        "sel._domainkey.example.org",
        &key.record
    ));
    let unsigned = Smtpx::send()
        .args(&["--to", "you@example.org", "--data", &path(&f), "--print"])
        .run();
    assert_eq!(unsigned.code, 2, "{unsigned}");
    assert!(
        unsigned.stderr.contains("--print with --data"),
        "{unsigned}"
    );
}

/// Refused before connecting: exit 2, one line naming the problem.
fn refused(args: &[&str], stdin: Option<&[u8]>) -> String {
    let mut cmd = Smtpx::send()
        .args(&[
            "--server",
            "127.0.0.1:9",
            "--from",
            "me@example.org",
            "--to",
            "you@example.org",
        ])
        .args(args);
    if let Some(input) = stdin {
        cmd = cmd.stdin(input.to_vec());
    }
    let out = cmd.run();
    assert_eq!(out.code, 2, "{args:?}: {out}");
    assert_eq!(out.stderr.lines().count(), 1, "{out}");
    assert!(out.stdout.is_empty(), "nothing sent or shown: {out}");
    out.stderr
}

#[test]
fn key_and_name_errors_stop_before_connecting() {
    if !require("openssl") {
        return;
    }
    let rsa = key("rsa2048");
    let sel = ["--dkim-selector", "sel"];
    let with = |key: &str, more: &[&str]| {
        let mut a = vec!["--dkim-key", key];
        a.extend_from_slice(more);
        a.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let run =
        |args: Vec<String>| refused(&args.iter().map(String::as_str).collect::<Vec<_>>(), None);

    let e = run(with("/nonexistent/key.pem", &sel));
    assert!(
        e.contains("--dkim-key /nonexistent/key.pem: no such file"),
        "{e}"
    );

    let dir = tempfile::tempdir().unwrap();
    let public = dir.path().join("public.pem");
    std::fs::write(&public, openssl(&["pkey", "-in", rsa.arg(), "-pubout"])).unwrap();
    let e = run(with(public.to_str().unwrap(), &sel));
    assert!(
        e.contains("not a private key (the file holds a public key)"),
        "{e}"
    );

    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "hello\n").unwrap();
    let e = run(with(junk.to_str().unwrap(), &sel));
    assert!(e.contains("not a PEM private key"), "{e}");

    let ec = key("ec");
    let e = run(with(ec.arg(), &sel));
    assert!(e.contains("unsupported key type: an EC (ECDSA) key"), "{e}");
    let short = key("rsa512");
    let e = run(with(short.arg(), &sel));
    assert!(e.contains("RSA key of 512 bits is too short"), "{e}");

    let e = run(with(rsa.arg(), &["--dkim-selector", "bad_sel"]));
    assert!(
        e.contains("--dkim-selector 'bad_sel' is not a valid DNS name"),
        "{e}"
    );
    let e = run(with(
        rsa.arg(),
        &["--dkim-selector", "sel", "--dkim-domain=-x.example"],
    ));
    assert!(
        e.contains("--dkim-domain '-x.example' is not a valid DNS name"),
        "{e}"
    );

    let no_from = file_with(b"To: you@example.org\r\nSubject: x\r\n\r\nbody\r\n");
    let e = run(with(
        rsa.arg(),
        &["--dkim-selector", "sel", "--data", &path(&no_from)],
    ));
    assert!(
        e.contains("cannot sign with DKIM: the message has no From header"),
        "{e}"
    );
    let e = refused(
        &[
            "--dkim-key",
            rsa.arg(),
            "--dkim-selector",
            "sel",
            "--data",
            "-",
        ],
        Some(b"From: <>\r\nSubject: x\r\n\r\nbody\r\n"),
    );
    assert!(e.contains("give --dkim-domain"), "{e}");

    // clap: a selector needs a key and the other way round.
    let out = Smtpx::send()
        .args(&["--to", "a@example.org", "--dkim-key", rsa.arg()])
        .run();
    assert_eq!(out.code, 2, "{out}");
    let out = Smtpx::send()
        .args(&["--to", "a@example.org", "--dkim-selector", "s"])
        .run();
    assert_eq!(out.code, 2, "{out}");
}

/// `send --print` of a composed message signed with `key` under selector `sel`.
fn print_signed(key: &Key) -> Out {
    Smtpx::send()
        .args(&[
            "--from",
            "me@example.org",
            "--to",
            "you@example.org",
            "--print",
        ])
        .args(&["--dkim-key", key.arg(), "--dkim-selector", "sel"])
        .run()
}

#[test]
fn a_key_others_can_read_is_a_warning() {
    if !require("openssl") {
        return;
    }
    let key = key("ed25519");
    std::fs::set_permissions(&key.path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = print_signed(&key);
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stderr.contains("warning: --dkim-key"), "{out}");
    assert!(
        out.stderr
            .contains("can be read by others (mode 0644); chmod 600 it"),
        "{out}"
    );
    assert!(out.stdout.starts_with("DKIM-Signature:"), "{out}");
    // In a session it is a transcript warning.
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("md");
    let server = serve(&maildir);
    let out = send(
        &server,
        &key,
        &["--from", "me@example.org", "--to", "you@example.org"],
    );
    assert_eq!(out.code, 0, "{out}");
    assert!(out.all().contains("can be read by others"), "{out}");
    assert_eq!(server.wait().code, 0);
    std::fs::set_permissions(&key.path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = print_signed(&key);
    assert!(out.stderr.is_empty(), "{out}");
}
