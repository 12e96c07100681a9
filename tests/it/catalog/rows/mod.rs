//! The rows, one file per area, and the script pieces they share.

mod auth;
mod cli;
mod data;
mod fault;
mod reply;
mod tls;

use crate::support::certs::CertKind;
use crate::support::scripted::{Step, ehlo_reply, expect, greeting_ehlo, send};

use super::row::{Ctx, Row};

/// Every row of the catalog.
pub fn all() -> Vec<Row> {
    let mut rows = Vec::new();
    rows.extend(tls::rows());
    rows.extend(reply::rows());
    rows.extend(fault::rows());
    rows.extend(data::rows());
    rows.extend(auth::rows());
    rows.extend(cli::rows());
    rows
}

/// Steps in order, from pieces.
pub fn script(parts: Vec<Vec<Step>>) -> Vec<Step> {
    parts.into_iter().flatten().collect()
}

/// Greeting and an EHLO without PIPELINING, so each command is its own step.
pub fn plain_ehlo() -> Vec<Step> {
    greeting_ehlo(&["8BITMIME", "SIZE 10240000"])
}

pub fn quit() -> Vec<Step> {
    vec![expect("QUIT"), send("221 2.0.0 Bye\r\n"), Step::Close]
}

/// MAIL, RCPT and DATA answered one by one, up to the 354.
pub fn envelope_to_354() -> Vec<Step> {
    vec![
        expect("MAIL FROM:"),
        send("250 2.1.0 Ok\r\n"),
        expect("RCPT TO:"),
        send("250 2.1.5 Ok\r\n"),
        expect("DATA"),
        send("354 End data with <CR><LF>.<CR><LF>\r\n"),
    ]
}

/// A sequential transaction that is accepted, then QUIT.
pub fn accept_message() -> Vec<Step> {
    script(vec![
        envelope_to_354(),
        vec![Step::ExpectData, send("250 2.0.0 Ok: queued as CAT1\r\n")],
        quit(),
    ])
}

/// A whole plaintext session that ends with the message accepted.
pub fn happy() -> Vec<Step> {
    script(vec![plain_ehlo(), accept_message()])
}

/// Greeting and EHLO offering STARTTLS, the 220 and the handshake with `kind`, then
/// the post-TLS EHLO offering `caps`.
pub fn starttls(ctx: &Ctx, kind: CertKind, caps: &[&str]) -> Vec<Step> {
    script(vec![
        greeting_ehlo(&["STARTTLS", "8BITMIME"]),
        vec![
            expect("STARTTLS"),
            send("220 2.0.0 Ready to start TLS\r\n"),
            Step::StartTls(ctx.pki.server_config(kind)),
            expect("EHLO"),
            Step::Send(ehlo_reply("mx.test", caps)),
        ],
    ])
}

/// Required STARTTLS, trusting the test CA and checking the name `localhost`.
pub const STARTTLS_ARGS: [&str; 6] = [
    "--tls",
    "starttls",
    "--tls-ca",
    "{ca}",
    "--tls-server-name",
    "localhost",
];

/// Credentials for AUTH rows: the password is the canary, from the environment.
pub const AUTH_ARGS: [&str; 4] = ["--user", "tim", "--password-env", "SMTPX_CATALOG_SECRET"];
