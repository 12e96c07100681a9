//! TLS and STARTTLS (RFC 3207, RFC 8314): stripping, refusals, response injection,
//! capabilities that change, stalls, truncation, and every kind of bad certificate.

use std::time::Duration;

use crate::support::certs::CertKind;
use crate::support::scripted::{Step, ehlo_reply, expect, greeting_ehlo, send};

use super::super::row::{Area, Ctx, Row, Source, row};
use super::{STARTTLS_ARGS, accept_message, envelope_to_354, quit, script, starttls};

fn tls(id: &'static str, what: &'static str) -> Row {
    row(id, Area::Tls, Source::Server, what)
}

/// After STARTTLS's 220 the server sends `extra` in the same write.
fn injection(extra: &'static str) -> Vec<Step> {
    script(vec![
        greeting_ehlo(&["STARTTLS"]),
        vec![
            expect("STARTTLS"),
            Step::Send(format!("220 2.0.0 go ahead\r\n{extra}").into_bytes()),
            Step::ReadUntilClose,
        ],
    ])
}

/// STARTTLS answered with `reply`, then QUIT.
fn starttls_answered(reply: &'static str) -> Vec<Step> {
    script(vec![
        greeting_ehlo(&["STARTTLS"]),
        vec![expect("STARTTLS"), send(reply)],
        quit(),
    ])
}

/// A STARTTLS handshake with a certificate that fails verification.
fn bad_cert(ctx: &Ctx, kind: CertKind) -> Vec<Step> {
    script(vec![
        greeting_ehlo(&["STARTTLS"]),
        vec![
            expect("STARTTLS"),
            send("220 2.0.0 go ahead\r\n"),
            Step::StartTls(ctx.pki.server_config(kind)),
            Step::ReadUntilClose,
        ],
    ])
}

fn bad_cert_row(
    id: &'static str,
    what: &'static str,
    script: fn(&Ctx) -> Vec<Step>,
    verdict: &str,
) -> Row {
    tls(id, what)
        .script(script)
        .args(&STARTTLS_ARGS)
        .exit(5)
        .output_must(verdict)
        .output_must("certificate NOT verified")
        .wire_must_not("MAIL FROM")
}

/// Implicit TLS: the handshake first, then a whole accepted session inside it.
fn implicit(ctx: &Ctx, kind: CertKind) -> Vec<Step> {
    vec![
        Step::StartTls(ctx.pki.server_config(kind)),
        send("220 mx.test ESMTP\r\n"),
        Step::ReadUntilClose,
    ]
}

/// A verified STARTTLS session up to the final dot, then `end`.
fn tls_to_final_dot(ctx: &Ctx, end: Vec<Step>) -> Vec<Step> {
    script(vec![
        starttls(ctx, CertKind::Valid, &["8BITMIME"]),
        envelope_to_354(),
        vec![Step::ExpectData],
        end,
    ])
}

pub fn rows() -> Vec<Row> {
    vec![
        tls("tls_starttls_stripped", "STARTTLS is not offered (stripped by someone in the path) while --tls starttls requires it")
            .script(|_| script(vec![greeting_ehlo(&["PIPELINING", "8BITMIME"]), quit()]))
            .args(&STARTTLS_ARGS)
            .exit(5)
            .output_must("does not offer STARTTLS")
            .wire_must_not("MAIL FROM")
            .wire_must_not("STARTTLS"),
        tls("tls_starttls_refused_454", "STARTTLS answered 454 with TLS required")
            .script(|_| starttls_answered("454 4.7.0 TLS not available\r\n"))
            .args(&STARTTLS_ARGS)
            .exit(5)
            .wire_must_not("MAIL FROM"),
        tls("tls_starttls_answered_554", "STARTTLS answered 554 with TLS required")
            .script(|_| starttls_answered("554 5.7.0 no TLS for you\r\n"))
            .args(&STARTTLS_ARGS)
            .exit(5)
            .wire_must_not("MAIL FROM"),
        tls("tls_starttls_answered_250", "STARTTLS answered 250 (not 220) with TLS required")
            .script(|_| starttls_answered("250 2.0.0 sure, go on\r\n"))
            .args(&STARTTLS_ARGS)
            .exit(5)
            .wire_must_not("MAIL FROM"),
        tls("tls_starttls_answered_354_opportunistic", "STARTTLS answered 354, an intermediate reply that makes no sense, in opportunistic mode")
            .script(|_| starttls_answered("354 go ahead\r\n"))
            .args(&["--tls", "opportunistic"])
            .exit(5)
            .wire_must_not("MAIL FROM"),
        tls("tls_injection_with_crlf", "response injection: a whole EHLO reply right after the 220, in the same TCP write")
            .script(|_| injection("250-injected\r\n250 PIPELINING\r\n"))
            .args(&STARTTLS_ARGS)
            .exit(9)
            .output_must("response injection")
            .check(nothing_after_starttls),
        tls("tls_injection_without_crlf", "response injection without a line end after the 220, same TCP write")
            .script(|_| injection("250 no line end"))
            .args(&STARTTLS_ARGS)
            .exit(9)
            .output_must("response injection")
            .check(nothing_after_starttls),
        tls("tls_injection_opportunistic", "response injection while TLS is only opportunistic")
            .script(|_| injection("250 AUTH PLAIN\r\n"))
            .args(&["--tls", "opportunistic"])
            .exit(9)
            .check(nothing_after_starttls),
        tls("tls_injection_with_a_tls_hello", "bytes that look like a TLS record follow the 220 in the same write")
            .script(|_| injection("\u{16}\u{3}\u{1}\u{0}\u{5}hello"))
            .args(&STARTTLS_ARGS)
            .exit(9)
            .check(nothing_after_starttls),
        tls("tls_capabilities_differ_size", "before TLS the server claims SIZE 10, after TLS SIZE 10000000: only the second counts")
            .script(|ctx| {
                script(vec![
                    greeting_ehlo(&["STARTTLS", "SIZE 10"]),
                    vec![
                        expect("STARTTLS"),
                        send("220 go ahead\r\n"),
                        Step::StartTls(ctx.pki.server_config(CertKind::Valid)),
                        expect("EHLO"),
                        Step::Send(ehlo_reply("mx.test", &["SIZE 10000000"])),
                    ],
                    accept_message(),
                ])
            })
            .args(&STARTTLS_ARGS)
            .exit(0)
            .wire_must(" SIZE="),
        tls("tls_capabilities_differ_pipelining", "PIPELINING before TLS only: commands after TLS go one at a time")
            .script(|ctx| {
                script(vec![
                    greeting_ehlo(&["STARTTLS", "PIPELINING"]),
                    vec![
                        expect("STARTTLS"),
                        send("220 go ahead\r\n"),
                        Step::StartTls(ctx.pki.server_config(CertKind::Valid)),
                        expect("EHLO"),
                        Step::Send(ehlo_reply("mx.test", &["8BITMIME"])),
                    ],
                    accept_message(),
                ])
            })
            .args(&STARTTLS_ARGS)
            .exit(0)
            .check(|r| {
                let batched = r.record.reads.iter().any(|read| {
                    let t = String::from_utf8_lossy(read);
                    t.contains("MAIL FROM") && t.contains("RCPT TO")
                });
                if batched { Err("MAIL and RCPT were pipelined after TLS".into()) } else { Ok(()) }
            }),
        tls("tls_capabilities_differ_auth", "AUTH offered before TLS only; credentials given: no AUTH, no mail")
            .script(|ctx| {
                script(vec![
                    greeting_ehlo(&["STARTTLS", "AUTH PLAIN LOGIN"]),
                    vec![
                        expect("STARTTLS"),
                        send("220 go ahead\r\n"),
                        Step::StartTls(ctx.pki.server_config(CertKind::Valid)),
                        expect("EHLO"),
                        Step::Send(ehlo_reply("mx.test", &["8BITMIME"])),
                    ],
                    quit(),
                ])
            })
            .args(&STARTTLS_ARGS)
            .args(&super::AUTH_ARGS)
            .exit(6)
            .secret_off_wire()
            .wire_must_not("AUTH ")
            .wire_must_not("MAIL FROM"),
        tls("tls_implicit_port_answers_plaintext", "implicit TLS, but the server greets in plaintext")
            .script(|_| vec![send("220 mx.test ESMTP plaintext\r\n"), Step::ReadUntilClose])
            .args(&["--tls", "implicit", "--tls-ca", "{ca}"])
            .exit(5)
            .output_must("plaintext SMTP greeting")
            .wire_must_not("EHLO"),
        tls("tls_starttls_handshake_stall", "STARTTLS answered 220, then the server never speaks TLS")
            .script(|_| {
                script(vec![
                    greeting_ehlo(&["STARTTLS"]),
                    vec![expect("STARTTLS"), send("220 go ahead\r\n"), Step::Stall(Duration::from_millis(1500))],
                ])
            })
            .args(&STARTTLS_ARGS)
            .args(&["--timeout", "1s"])
            .exit(5)
            .wire_must_not("MAIL FROM"),
        tls("tls_implicit_handshake_stall", "implicit TLS, and the server accepts the connection but never answers the ClientHello")
            .script(|_| vec![Step::Stall(Duration::from_millis(1500))])
            .args(&["--tls", "implicit", "--tls-ca", "{ca}", "--timeout", "1s"])
            .exit(5),
        tls("tls_reset_during_handshake", "STARTTLS answered 220, then a reset instead of a handshake")
            .script(|_| {
                script(vec![
                    greeting_ehlo(&["STARTTLS"]),
                    vec![expect("STARTTLS"), send("220 go ahead\r\n"), Step::Delay(Duration::from_millis(100)), Step::Reset],
                ])
            })
            .args(&STARTTLS_ARGS)
            .exit(5),
        tls("tls_truncated_after_final_dot", "inside TLS, the TCP connection ends after the final dot without close_notify")
            .script(|ctx| tls_to_final_dot(ctx, vec![Step::Truncate]))
            .args(&STARTTLS_ARGS)
            .exit(10)
            .output_must("unknown"),
        tls("tls_truncated_mid_final_reply", "inside TLS, half of the final reply, then TCP FIN without close_notify")
            .script(|ctx| tls_to_final_dot(ctx, vec![send("250 2.0.0 Ok: que"), Step::Truncate]))
            .args(&STARTTLS_ARGS)
            .exit(10)
            .output_must("unknown"),
        bad_cert_row("tls_cert_expired", "certificate expired 30 days ago", |c| bad_cert(c, CertKind::Expired), "expired"),
        bad_cert_row("tls_cert_not_yet_valid", "certificate valid only from 30 days on", |c| bad_cert(c, CertKind::NotYetValid), "not valid until"),
        bad_cert_row("tls_cert_wrong_name", "certificate for another name", |c| bad_cert(c, CertKind::WrongName), "is for other.example"),
        bad_cert_row("tls_cert_self_signed", "self-signed certificate", |c| bad_cert(c, CertKind::SelfSigned), "self-signed"),
        bad_cert_row("tls_cert_unknown_ca", "certificate from a CA nobody trusts", |c| bad_cert(c, CertKind::UnknownCa), "unknown authority"),
        bad_cert_row("tls_cert_ip_only_checked_by_name", "certificate names only 127.0.0.1; the client checks the name localhost", |c| bad_cert(c, CertKind::IpOnly), "localhost"),
        tls("tls_cert_expired_implicit", "implicit TLS with an expired certificate")
            .script(|c| implicit(c, CertKind::Expired))
            .args(&["--tls", "implicit", "--tls-ca", "{ca}", "--tls-server-name", "localhost"])
            .exit(5)
            .output_must("expired")
            .wire_must_not("EHLO"),
        tls("tls_cert_self_signed_opportunistic", "opportunistic TLS with a self-signed certificate: delivered, every line labelled unverified")
            .script(|c| script(vec![starttls(c, CertKind::SelfSigned, &["8BITMIME"]), accept_message()]))
            .args(&["--tls", "opportunistic", "--tls-ca", "{ca}", "--tls-server-name", "localhost"])
            .exit(0)
            .output_must("?> MAIL FROM")
            .output_must_not("~> MAIL FROM")
            .output_must("not verified"),
    ]
}

/// RFC 3207 §5: no byte, TLS or not, goes out after STARTTLS when the server injected.
fn nothing_after_starttls(r: &super::super::runner::RunResult) -> Result<(), String> {
    let received = &r.record.received;
    let at = received
        .windows(10)
        .position(|w| w == b"STARTTLS\r\n")
        .ok_or("the client never sent STARTTLS")?;
    let tail = &received[at + 10..];
    if tail.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the client sent {:?} after STARTTLS",
            tail.escape_ascii().to_string()
        ))
    }
}
