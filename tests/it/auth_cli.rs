//! AUTH through the binary: each mechanism, each policy rule, and a canary secret that
//! must never appear in any output, in any encoding.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::support::certs::{CertKind, TestPki};
use crate::support::run::{Out, Smtpx};
use crate::support::scripted::{ScriptedServer, Step, ehlo_reply, expect, greeting_ehlo, send};

fn b64(s: &str) -> String {
    STANDARD.encode(s.as_bytes())
}

/// Runs `smtpx send` with the password in the environment (never on argv).
fn smtpx(server: &ScriptedServer, pki: &TestPki, password: &str, extra: &[&str]) -> Out {
    let server = server.server_arg();
    let ca = pki.ca_pem_path.display().to_string();
    Smtpx::new()
        .args(&["send", "--server", &server, "--from", "me@example.org"])
        .args(&["--to", "you@example.org", "--body", "hello", "--no-timing"])
        .args(&["--timeout", "20s", "--helo", "client.test"])
        .args(&["--tls-server-name", "localhost", "--tls-ca", &ca])
        .args(&["--user", "tim", "--password-env", "SMTPX_TEST_PASSWORD"])
        .args(extra)
        .env("SMTPX_TEST_PASSWORD", password)
        .run()
}

/// Greeting, STARTTLS, the handshake and the post-TLS EHLO offering `caps`.
fn tls_then(pki: &TestPki, caps: &[&str]) -> Vec<Step> {
    let mut script = greeting_ehlo(&["STARTTLS", "PIPELINING"]);
    script.extend([
        expect("STARTTLS"),
        send("220 go ahead\r\n"),
        Step::StartTls(pki.server_config(CertKind::Valid)),
        expect("EHLO"),
        Step::Send(ehlo_reply("mx.test", caps)),
    ]);
    script
}

/// After a successful AUTH: one pipelined transaction and QUIT.
fn deliver() -> Vec<Step> {
    vec![
        expect("MAIL FROM:"),
        expect("RCPT TO:"),
        expect("DATA"),
        send("250 ok\r\n250 ok\r\n354 go\r\n"),
        Step::ExpectData,
        send("250 2.0.0 Ok: queued as AUTH1\r\n"),
        expect("QUIT"),
        send("221 bye\r\n"),
        Step::Close,
    ]
}

fn quit() -> Vec<Step> {
    vec![expect("QUIT"), send("221 bye\r\n"), Step::Close]
}

#[test]
fn plain_over_verified_starttls_is_redacted() {
    let pki = TestPki::new();
    let mut script = tls_then(&pki, &["PIPELINING", "AUTH PLAIN LOGIN"]);
    script.extend([
        expect(&format!("AUTH PLAIN {}", b64("\0tim\0tanstaaf"))),
        send("235 2.7.0 Authentication successful\r\n"),
    ]);
    script.extend(deliver());
    let server = ScriptedServer::start(script);
    let out = smtpx(&server, &pki, "tanstaaf", &["--auth", "plain"]);
    server.finish().assert_clean();
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("~> AUTH PLAIN [redacted: 20 bytes]"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("<~ 235 2.7.0 Authentication successful"),
        "{}",
        out.stdout
    );
    assert!(!out.all().contains(&b64("\0tim\0tanstaaf")));
}

#[test]
fn auto_picks_the_strongest_and_login_prompts_are_decoded() {
    let pki = TestPki::new();
    let mut script = tls_then(&pki, &["AUTH LOGIN", "PIPELINING"]);
    script.extend([
        expect("AUTH LOGIN"),
        send(&format!("334 {}\r\n", b64("Username:"))),
        expect(&b64("tim")),
        send(&format!("334 {}\r\n", b64("Password:"))),
        expect(&b64("tanstaaf")),
        send("235 ok\r\n"),
    ]);
    script.extend(deliver());
    let server = ScriptedServer::start(script);
    let out = smtpx(&server, &pki, "tanstaaf", &[]);
    server.finish().assert_clean();
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("Server challenge (decoded): Username:"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Server challenge (decoded): Password:"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("~> [redacted: 12 bytes]"),
        "{}",
        out.stdout
    );
}

#[test]
fn cram_md5_rfc2195_exchange() {
    let pki = TestPki::new();
    let challenge = "<1896.697170952@postoffice.reston.mci.net>";
    let mut script = tls_then(&pki, &["AUTH CRAM-MD5 PLAIN", "PIPELINING"]);
    script.extend([
        expect("AUTH CRAM-MD5"),
        send(&format!("334 {}\r\n", b64(challenge))),
        expect(&b64("tim b913a602c7eda7a495b4e6e7334d3890")),
        send("235 ok\r\n"),
    ]);
    script.extend(deliver());
    let server = ScriptedServer::start(script);
    let out = smtpx(&server, &pki, "tanstaaftanstaaf", &["--auth", "auto"]);
    server.finish().assert_clean();
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains(challenge), "{}", out.stdout);
}

const SCRAM_NONCE: &str = "rOprNGfwEbeRWgbNEkqO";
const SCRAM_SERVER_FIRST: &str =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
const SCRAM_CLIENT_FINAL: &str = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";

fn scram_script(pki: &TestPki, server_final: &str, ending: Vec<Step>) -> Vec<Step> {
    let mut script = tls_then(pki, &["AUTH SCRAM-SHA-256 PLAIN", "PIPELINING"]);
    script.extend([
        expect(&format!(
            "AUTH SCRAM-SHA-256 {}",
            b64("n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
        )),
        send(&format!("334 {}\r\n", b64(SCRAM_SERVER_FIRST))),
        expect(&b64(SCRAM_CLIENT_FINAL)),
        send(&format!("334 {}\r\n", b64(server_final))),
    ]);
    script.extend(ending);
    script
}

fn scram(server: &ScriptedServer, pki: &TestPki) -> Out {
    let server = server.server_arg();
    let ca = pki.ca_pem_path.display().to_string();
    Smtpx::new()
        .args(&["send", "--server", &server, "--to", "you@example.org"])
        .args(&[
            "--from",
            "me@example.org",
            "--no-timing",
            "--timeout",
            "20s",
        ])
        .args(&["--tls-server-name", "localhost", "--tls-ca", &ca])
        .args(&[
            "--user",
            "user",
            "--password-env",
            "PW",
            "--auth",
            "scram-sha-256",
        ])
        .env("PW", "pencil")
        .env("SMTPX_SCRAM_CLIENT_NONCE", SCRAM_NONCE)
        .run()
}

#[test]
fn scram_sha256_rfc7677_exchange_verifies_the_server() {
    let pki = TestPki::new();
    let mut ending = vec![expect(""), send("235 2.7.0 ok\r\n")];
    ending.extend(deliver());
    let script = scram_script(
        &pki,
        "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
        ending,
    );
    let server = ScriptedServer::start(script);
    let out = scram(&server, &pki);
    server.finish().assert_clean();
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"),
        "{}",
        out.stdout
    );
}

#[test]
fn scram_with_a_wrong_server_signature_fails() {
    let pki = TestPki::new();
    let mut ending = vec![expect("*"), send("501 5.0.0 cancelled\r\n")];
    ending.extend(quit());
    let script = scram_script(
        &pki,
        "v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
        ending,
    );
    let server = ScriptedServer::start(script);
    let out = scram(&server, &pki);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 6, "{}", out.all());
    assert!(!record.commands.iter().any(|c| c.starts_with("MAIL")));
}

#[test]
fn credentials_never_go_over_plaintext() {
    let pki = TestPki::new();
    let mut script = greeting_ehlo(&["AUTH PLAIN LOGIN"]);
    script.extend(quit());
    let server = ScriptedServer::start(script);
    let out = smtpx(&server, &pki, "tanstaaf", &["--tls", "none"]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 5, "{}", out.all());
    assert!(
        out.stdout
            .contains("refusing to send credentials over a plaintext connection"),
        "{}",
        out.stdout
    );
    assert!(!record.commands.iter().any(|c| c.starts_with("AUTH")));
}

#[test]
fn tls_none_with_credentials_is_a_policy_refusal_even_without_auth_offered() {
    // Like Postfix with smtpd_tls_auth_only: AUTH only after STARTTLS. The
    // reason nothing can be sent is --tls none, not a missing AUTH (exit 6).
    let pki = TestPki::new();
    let mut script = greeting_ehlo(&["STARTTLS", "PIPELINING"]);
    script.extend(quit());
    let server = ScriptedServer::start(script);
    let out = smtpx(&server, &pki, "tanstaaf", &["--tls", "none"]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 5, "{}", out.all());
    assert!(
        out.stdout
            .contains("refusing to send credentials over a plaintext connection"),
        "{}",
        out.stdout
    );
    assert!(!record.commands.iter().any(|c| c.starts_with("MAIL")));
}

#[test]
fn allow_insecure_auth_permits_plaintext_with_a_warning() {
    let pki = TestPki::new();
    let mut script = greeting_ehlo(&["AUTH PLAIN", "PIPELINING"]);
    script.extend([expect("AUTH PLAIN"), send("235 ok\r\n")]);
    script.extend(deliver());
    let server = ScriptedServer::start(script);
    let out = smtpx(
        &server,
        &pki,
        "tanstaaf",
        &["--tls", "none", "--allow-insecure-auth"],
    );
    server.finish().assert_clean();
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stderr.contains("--allow-insecure-auth"),
        "{}",
        out.stderr
    );
}

#[test]
fn plain_over_unverified_tls_is_refused() {
    let pki = TestPki::new();
    let mut script = greeting_ehlo(&["STARTTLS"]);
    script.extend([
        expect("STARTTLS"),
        send("220 go\r\n"),
        Step::StartTls(pki.server_config(CertKind::SelfSigned)),
        expect("EHLO"),
        Step::Send(ehlo_reply("mx.test", &["AUTH PLAIN LOGIN"])),
    ]);
    script.extend(quit());
    let server = ScriptedServer::start(script);
    let out = smtpx(&server, &pki, "tanstaaf", &["--tls", "opportunistic"]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 5, "{}", out.all());
    assert!(
        out.stdout.contains("certificate was not verified"),
        "{}",
        out.stdout
    );
    assert!(!record.commands.iter().any(|c| c.starts_with("AUTH")));
}

#[test]
fn no_auth_offered_fails_without_sending_the_mail() {
    let pki = TestPki::new();
    let mut script = tls_then(&pki, &["PIPELINING"]);
    script.extend(quit());
    let server = ScriptedServer::start(script);
    let out = smtpx(&server, &pki, "tanstaaf", &[]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 6, "{}", out.all());
    assert!(!record.commands.iter().any(|c| c.starts_with("MAIL")));
}

#[test]
fn mechanism_not_offered_is_exit_6() {
    let pki = TestPki::new();
    let mut script = tls_then(&pki, &["AUTH LOGIN"]);
    script.extend(quit());
    let server = ScriptedServer::start(script);
    let out = smtpx(&server, &pki, "tanstaaf", &["--auth", "cram-md5"]);
    server.finish().assert_clean();
    assert_eq!(out.code, 6, "{}", out.all());
    assert!(
        out.stdout.contains("does not offer AUTH CRAM-MD5"),
        "{}",
        out.stdout
    );
}

#[test]
fn rejected_credentials_are_6_and_temporary_failure_is_8() {
    for (reply, code) in [
        ("535 5.7.8 Authentication credentials invalid", 6),
        ("454 4.7.0 Temporary authentication failure", 8),
    ] {
        let pki = TestPki::new();
        let mut script = tls_then(&pki, &["AUTH PLAIN"]);
        script.extend([expect("AUTH PLAIN"), send(&format!("{reply}\r\n"))]);
        script.extend(quit());
        let server = ScriptedServer::start(script);
        let out = smtpx(&server, &pki, "tanstaaf", &[]);
        let record = server.finish();
        record.assert_clean();
        assert_eq!(out.code, code, "{}", out.all());
        // No retry with another mechanism after a credentials failure.
        assert_eq!(
            record
                .commands
                .iter()
                .filter(|c| c.starts_with("AUTH"))
                .count(),
            1
        );
    }
}

#[test]
fn endless_challenges_are_cancelled() {
    let pki = TestPki::new();
    let mut script = tls_then(&pki, &["AUTH LOGIN"]);
    script.extend([
        expect("AUTH LOGIN"),
        send(&format!("334 {}\r\n", b64("Username:"))),
    ]);
    script.extend([expect(""), send(&format!("334 {}\r\n", b64("Password:")))]);
    // LOGIN has two challenges; a third is refused at once.
    script.extend([expect(""), send(&format!("334 {}\r\n", b64("More?")))]);
    script.extend([expect("*"), send("501 cancelled\r\n")]);
    script.push(Step::ReadUntilClose);
    let server = ScriptedServer::start(script);
    let out = smtpx(&server, &pki, "tanstaaf", &[]);
    server.finish().assert_clean();
    assert_eq!(out.code, 9, "{}", out.all());
}

#[test]
fn bad_base64_challenge_is_cancelled() {
    let pki = TestPki::new();
    let mut script = tls_then(&pki, &["AUTH CRAM-MD5"]);
    script.extend([expect("AUTH CRAM-MD5"), send("334 !!!not-base64!!!\r\n")]);
    script.extend([expect("*"), send("501 cancelled\r\n"), Step::ReadUntilClose]);
    let server = ScriptedServer::start(script);
    let out = smtpx(&server, &pki, "tanstaaf", &[]);
    server.finish().assert_clean();
    assert_eq!(out.code, 9, "{}", out.all());
    assert!(out.stdout.contains("cancelled with '*'"), "{}", out.stdout);
}

#[test]
fn early_success_does_not_count() {
    let pki = TestPki::new();
    let mut script = tls_then(&pki, &["AUTH LOGIN"]);
    script.extend([
        expect("AUTH LOGIN"),
        send("235 welcome, whoever you are\r\n"),
    ]);
    script.extend(quit());
    let server = ScriptedServer::start(script);
    let out = smtpx(&server, &pki, "tanstaaf", &[]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 6, "{}", out.all());
    assert!(!record.commands.iter().any(|c| c.starts_with("MAIL")));
}

#[test]
fn quit_after_auth_stops_there() {
    let pki = TestPki::new();
    let mut script = tls_then(&pki, &["AUTH PLAIN"]);
    script.extend([expect("AUTH PLAIN"), send("235 ok\r\n")]);
    script.extend(quit());
    let server = ScriptedServer::start(script);
    let out = smtpx(&server, &pki, "tanstaaf", &["--quit-after", "auth"]);
    server.finish().assert_clean();
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("stopped: after auth"), "{}", out.stdout);
}

#[test]
fn show_secrets_shows_them_with_a_warning() {
    let pki = TestPki::new();
    let mut script = tls_then(&pki, &["AUTH PLAIN"]);
    script.extend([expect("AUTH PLAIN"), send("235 ok\r\n")]);
    script.extend(quit());
    let server = ScriptedServer::start(script);
    let out = smtpx(
        &server,
        &pki,
        "tanstaaf",
        &["--quit-after", "auth", "--show-secrets"],
    );
    server.finish().assert_clean();
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains(&b64("\0tim\0tanstaaf")),
        "{}",
        out.stdout
    );
    assert!(out.stderr.contains("--show-secrets"), "{}", out.stderr);
}

#[test]
fn password_file_readable_by_others_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pw");
    std::fs::write(&path, "tanstaaf\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = Smtpx::new()
        .args(&["send", "--server", "127.0.0.1:9", "--to", "a@b.c"])
        .args(&["--user", "tim", "--password-file"])
        .arg(&path)
        .run();
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("chmod 600"), "{out}");
}

#[test]
fn no_password_source_and_no_terminal_is_bad_input() {
    let out = Smtpx::new()
        .args(&["send", "--server", "127.0.0.1:9", "--to", "a@b.c"])
        .args(&["--user", "tim"])
        .stdin("")
        .run();
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("--password-file"), "{out}");
}

/// A fresh random secret per run, looked for in every output in raw, base64 and hex
/// form, over success and each failure path, including a server that echoes it.
#[test]
fn canary_secret_never_leaks() {
    let canary = format!("canary-{:x}", std::process::id() as u64 * 7919 + 12345);
    let forms = [
        canary.clone(),
        b64(&canary),
        b64(&format!("\0tim\0{canary}")),
        canary
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect::<String>(),
    ];
    let plain_b64 = b64(&format!("\0tim\0{canary}"));
    let scenarios: Vec<(&str, Vec<Step>)> = vec![
        ("success", vec![expect("AUTH PLAIN"), send("235 ok\r\n")]),
        ("535", vec![expect("AUTH PLAIN"), send("535 5.7.8 no\r\n")]),
        (
            "echo raw",
            vec![
                expect("AUTH PLAIN"),
                send(&format!("535 5.7.8 bad password {canary}\r\n")),
            ],
        ),
        (
            "echo b64",
            vec![
                expect("AUTH PLAIN"),
                send(&format!("535 5.7.8 you sent {plain_b64}\r\n")),
            ],
        ),
        (
            "echo in 334",
            vec![
                expect("AUTH PLAIN"),
                send(&format!("334 {}\r\n", b64(&canary))),
                expect("*"),
                send(&format!("501 5.0.0 {canary} cancelled\r\n")),
            ],
        ),
    ];
    for (name, steps) in scenarios {
        for json in [false, true] {
            let pki = TestPki::new();
            let mut script = tls_then(&pki, &["AUTH PLAIN"]);
            script.extend(steps.clone());
            script.extend(quit());
            let server = ScriptedServer::start(script);
            let mut extra = vec!["--quit-after", "auth"];
            if json {
                extra.push("--json");
            }
            let out = smtpx(&server, &pki, &canary, &extra);
            server.finish();
            for form in &forms {
                assert!(
                    !out.all().contains(form.as_str()),
                    "{name} (json={json}) leaked {form:?}:\n{}",
                    out.all()
                );
            }
        }
    }
}

#[test]
fn xoauth2_and_oauthbearer_send_the_token_and_redact_it() {
    let token = "ya29.token-value";
    let cases = [
        (
            "xoauth2",
            "XOAUTH2",
            format!("user=tim\x01auth=Bearer {token}\x01\x01"),
        ),
        (
            "oauthbearer",
            "OAUTHBEARER",
            format!("n,a=tim,\x01host=127.0.0.1\x01port=PORT\x01auth=Bearer {token}\x01\x01"),
        ),
    ];
    for (flag, name, blob) in cases {
        let pki = TestPki::new();
        // The OAUTHBEARER blob names the port, known only once the server is up.
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        drop(probe);
        let mut script = tls_then(&pki, &["AUTH XOAUTH2 OAUTHBEARER PLAIN"]);
        script.extend([
            expect(&format!("AUTH {name} ")),
            send("235 2.7.0 Accepted\r\n"),
        ]);
        script.extend(quit());
        let server = ScriptedServer::start(script);
        let port = server.addr().port().to_string();
        let blob = blob.replace("PORT", &port);
        let out = smtpx(
            &server,
            &pki,
            token,
            &["--auth", flag, "--quit-after", "auth"],
        );
        let record = server.finish();
        record.assert_clean();
        assert_eq!(out.code, 0, "{flag}: {}", out.all());
        let auth_line = record
            .commands
            .iter()
            .find(|c| c.starts_with("AUTH"))
            .unwrap();
        assert_eq!(auth_line, &format!("AUTH {name} {}", b64(&blob)), "{flag}");
        assert!(!out.all().contains(token), "{flag} leaked the token");
        assert!(
            out.stdout.contains(&format!("~> AUTH {name} [redacted:")),
            "{}",
            out.stdout
        );
    }
}

#[test]
fn canary_from_a_password_file_never_leaks() {
    use std::os::unix::fs::PermissionsExt;
    let canary = format!("file-canary-{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pw");
    std::fs::write(&path, format!("{canary}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let pki = TestPki::new();
    let mut script = tls_then(&pki, &["AUTH PLAIN"]);
    script.extend([
        expect("AUTH PLAIN"),
        send(&format!("535 5.7.8 {canary} is wrong\r\n")),
    ]);
    script.extend(quit());
    let server = ScriptedServer::start(script);
    let ca = pki.ca_pem_path.display().to_string();
    let out = Smtpx::new()
        .args(&[
            "send",
            "--server",
            &server.server_arg(),
            "--to",
            "you@example.org",
        ])
        .args(&["--json", "--tls-server-name", "localhost", "--tls-ca", &ca])
        .args(&["--user", "tim", "--password-file"])
        .arg(&path)
        .run();
    server.finish().assert_clean();
    assert_eq!(out.code, 6, "{out}");
    let all = out.all();
    for form in [
        canary.clone(),
        b64(&canary),
        b64(&format!("\0tim\0{canary}")),
    ] {
        assert!(!all.contains(&form), "leaked {form:?}: {all}");
    }
    assert!(all.contains("[redacted] is wrong"), "{all}");
}
