//! AUTH and secrets (RFC 4954): where credentials may go, hostile challenges, and a
//! server that echoes the secret back. Every run's password is a fresh canary that the
//! runner looks for in all output (and here, where it must not go, on the wire) in raw,
//! base64 and hex form.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::support::certs::CertKind;
use crate::support::scripted::{Step, expect, greeting_ehlo, send};

use super::super::row::{Area, Ctx, Row, Source, USER, row};
use super::{AUTH_ARGS, STARTTLS_ARGS, quit, script, starttls};

fn auth(id: &'static str, what: &'static str) -> Row {
    row(id, Area::Auth, Source::Server, what)
        .args(&AUTH_ARGS)
        .both_styles()
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    STANDARD.encode(bytes)
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Verified STARTTLS offering AUTH PLAIN; the PLAIN attempt is answered with `reply`.
fn plain_answered(ctx: &Ctx, reply: String) -> Vec<Step> {
    script(vec![
        starttls(ctx, CertKind::Valid, &["AUTH PLAIN"]),
        vec![expect("AUTH PLAIN"), Step::Send(reply.into_bytes())],
        quit(),
    ])
}

/// The echo rows: the server answers PLAIN with a 535 that carries the secret.
fn echo(id: &'static str, what: &'static str, script: fn(&Ctx) -> Vec<Step>) -> Row {
    auth(id, what).script(script).args(&STARTTLS_ARGS).exit(6)
}

pub fn rows() -> Vec<Row> {
    let mut rows = vec![
        auth(
            "auth_plaintext_offered",
            "AUTH offered on a plaintext connection (--tls none)",
        )
        .script(|_| script(vec![greeting_ehlo(&["AUTH PLAIN LOGIN"]), quit()]))
        .args(&["--tls", "none"])
        .exit(5)
        .secret_off_wire()
        .wire_must_not("AUTH")
        .wire_must_not("MAIL FROM"),
        auth(
            "auth_starttls_stripped",
            "STARTTLS stripped but AUTH offered, opportunistic TLS: credentials stay home",
        )
        .script(|_| {
            script(vec![
                greeting_ehlo(&["AUTH PLAIN LOGIN", "PIPELINING"]),
                quit(),
            ])
        })
        .args(&["--tls", "opportunistic"])
        .exit(5)
        .secret_off_wire()
        .wire_must_not("AUTH"),
        auth(
            "auth_unverified_tls_plain",
            "PLAIN over TLS whose certificate is self-signed (opportunistic)",
        )
        .script(|c| {
            script(vec![
                starttls(c, CertKind::SelfSigned, &["AUTH PLAIN LOGIN"]),
                quit(),
            ])
        })
        .args(&[
            "--tls",
            "opportunistic",
            "--tls-ca",
            "{ca}",
            "--tls-server-name",
            "localhost",
        ])
        .exit(5)
        .secret_off_wire()
        .wire_must_not("AUTH")
        .output_must("certificate was not verified"),
        auth(
            "auth_unverified_tls_login",
            "LOGIN over TLS whose certificate is for another name (opportunistic)",
        )
        .script(|c| {
            script(vec![
                starttls(c, CertKind::WrongName, &["AUTH LOGIN"]),
                quit(),
            ])
        })
        .args(&[
            "--tls",
            "opportunistic",
            "--auth",
            "login",
            "--tls-ca",
            "{ca}",
            "--tls-server-name",
            "localhost",
        ])
        .exit(5)
        .secret_off_wire()
        .wire_must_not("AUTH"),
        auth(
            "auth_missing_with_credentials",
            "credentials given, but the server offers no AUTH after TLS",
        )
        .script(|c| script(vec![starttls(c, CertKind::Valid, &["8BITMIME"]), quit()]))
        .args(&STARTTLS_ARGS)
        .exit(6)
        .secret_off_wire()
        .wire_must_not("MAIL FROM"),
        auth(
            "auth_endless_334",
            "LOGIN, and the server keeps sending 334 challenges",
        )
        .script(|c| {
            let mut s = script(vec![
                starttls(c, CertKind::Valid, &["AUTH LOGIN"]),
                vec![expect("AUTH LOGIN")],
            ]);
            for _ in 0..20 {
                s.extend([send(&format!("334 {}\r\n", b64("More:"))), expect("")]);
            }
            s.push(Step::ReadUntilClose);
            s
        })
        .args(&STARTTLS_ARGS)
        .exit(9)
        .wire_must("*\r\n")
        .wire_must_not("MAIL FROM"),
        auth("auth_bad_base64", "a CRAM-MD5 challenge that is not base64")
            .script(|c| {
                script(vec![
                    starttls(c, CertKind::Valid, &["AUTH CRAM-MD5"]),
                    vec![
                        expect("AUTH CRAM-MD5"),
                        send("334 !!!not-base64!!!\r\n"),
                        expect("*"),
                        send("501 5.0.0 cancelled\r\n"),
                        Step::ReadUntilClose,
                    ],
                ])
            })
            .args(&STARTTLS_ARGS)
            .exit(9)
            .output_must("cancelled with '*'")
            .wire_must_not("MAIL FROM"),
        auth(
            "auth_early_235",
            "LOGIN answered 235 before the password was asked for",
        )
        .script(|c| {
            script(vec![
                starttls(c, CertKind::Valid, &["AUTH LOGIN"]),
                vec![
                    expect("AUTH LOGIN"),
                    send("235 2.7.0 welcome, whoever you are\r\n"),
                ],
                quit(),
            ])
        })
        .args(&STARTTLS_ARGS)
        .exit(6)
        .secret_off_wire()
        .wire_must_not("MAIL FROM"),
        echo("auth_echo_raw", "535 quoting the password as sent", |c| {
            plain_answered(c, format!("535 5.7.8 bad password {}\r\n", c.canary))
        }),
        echo(
            "auth_echo_base64",
            "535 quoting the PLAIN initial response",
            |c| {
                plain_answered(
                    c,
                    format!(
                        "535 5.7.8 you sent {}\r\n",
                        b64(format!("\0{USER}\0{}", c.canary))
                    ),
                )
            },
        ),
        echo(
            "auth_echo_base64_shifted",
            "535 quoting the password in base64 after a one-byte prefix",
            |c| {
                plain_answered(
                    c,
                    format!("535 5.7.8 you sent {}\r\n", b64(format!("={}", c.canary))),
                )
            },
        ),
        echo(
            "auth_echo_hex",
            "535 quoting the password in lower-case hex",
            |c| plain_answered(c, format!("535 5.7.8 hex {}\r\n", hex(&c.canary))),
        ),
        echo(
            "auth_echo_hex_upper",
            "535 quoting the password in upper-case hex",
            |c| {
                plain_answered(
                    c,
                    format!("535 5.7.8 hex {}\r\n", hex(&c.canary).to_uppercase()),
                )
            },
        ),
    ];
    rows.extend([
        auth(
            "auth_echo_in_challenge",
            "LOGIN: after the password, a third 334 that echoes it in base64",
        )
        .script(|c| {
            script(vec![
                starttls(c, CertKind::Valid, &["AUTH LOGIN"]),
                vec![
                    expect("AUTH LOGIN"),
                    send(&format!("334 {}\r\n", b64("Username:"))),
                    expect(""),
                    send(&format!("334 {}\r\n", b64("Password:"))),
                    expect(""),
                    Step::Send(
                        format!("334 {}\r\n", b64(format!("you said: {}", c.canary))).into_bytes(),
                    ),
                    expect("*"),
                    Step::Send(format!("501 5.0.0 {} cancelled\r\n", c.canary).into_bytes()),
                    Step::ReadUntilClose,
                ],
            ])
        })
        .args(&STARTTLS_ARGS)
        .exit(9),
        auth(
            "auth_echo_in_235",
            "the 235 success reply quotes the password",
        )
        .script(|c| plain_answered(c, format!("235 2.7.0 welcome back, {}\r\n", c.canary)))
        .args(&STARTTLS_ARGS)
        .args(&["--quit-after", "auth"])
        .exit(0),
        row(
            "auth_password_command_with_nul",
            Area::Auth,
            Source::Input,
            "--password-command prints a password with a NUL in it",
        )
        .args(&["--user", "tim", "--password-command", "printf 'ab\\0cd'"])
        .exit(2),
    ]);
    rows
}
