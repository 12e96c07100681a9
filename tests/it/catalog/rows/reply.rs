//! Reply parsing (RFC 5321 §4.2): lines that are too long or never end, codes that are
//! malformed or change mid-reply, odd line ends, hostile text, and replies nobody
//! asked for.

use std::time::Duration;

use crate::support::scripted::{Step, drip, expect, send, send_bytes};

use super::super::check;
use super::super::row::{Area, Row, Source, row};
use super::super::runner::RunResult;
use super::{accept_message, envelope_to_354, plain_ehlo, quit, script};

fn reply(id: &'static str, what: &'static str) -> Row {
    row(id, Area::Reply, Source::Server, what)
}

/// A plaintext session whose final dot gets `final_reply`.
fn final_reply(final_reply: &'static str) -> Vec<Step> {
    script(vec![
        plain_ehlo(),
        envelope_to_354(),
        vec![Step::ExpectData, send(final_reply), Step::ReadUntilClose],
    ])
}

/// Up to 300 MiB: far more than any cap, bounded so the test itself is.
const FLOOD: usize = 300 * 1024 * 1024;

/// A continuation line just under the 4096-octet line cap.
fn continuation_line() -> Vec<u8> {
    let mut line = b"250-X-".to_vec();
    line.resize(4000, b'X');
    line.extend_from_slice(b"\r\n");
    line
}

/// The flood really went out: the client had that much to read.
fn flooded_at_least(r: &RunResult, bytes: usize) -> Result<(), String> {
    if r.record.flooded >= bytes {
        Ok(())
    } else {
        Err(format!(
            "the server flooded only {} bytes",
            r.record.flooded
        ))
    }
}

/// Every reply of an accepted session dripped one byte at a time.
fn dripped_session() -> Vec<Step> {
    let every = Duration::from_millis(1);
    vec![
        drip("220 mx.test ESMTP\r\n", every),
        expect("EHLO"),
        drip("250-mx.test\r\n250 8BITMIME\r\n", every),
        expect("MAIL FROM:"),
        drip("250 2.1.0 Ok\r\n", every),
        expect("RCPT TO:"),
        drip("250 2.1.5 Ok\r\n", every),
        expect("DATA"),
        drip("354 go ahead\r\n", every),
        Step::ExpectData,
        drip("250 2.0.0 Ok: queued as DRIP1\r\n", every),
        expect("QUIT"),
        drip("221 2.0.0 Bye\r\n", every),
        Step::Close,
    ]
}

pub fn rows() -> Vec<Row> {
    vec![
        reply("reply_over_long_line", "a 5000-octet greeting line (the cap is 4096)")
            .script(|_| {
                let mut line = b"220 ".to_vec();
                line.resize(5000, b'A');
                line.extend_from_slice(b"\r\n");
                vec![send_bytes(line), Step::ReadUntilClose]
            })
            .exit(9)
            .output_must("longer than")
            .wire_must_not("EHLO"),
        reply("reply_endless_line", "a greeting line that never ends: up to 300 MiB without a line break")
            .script(|_| vec![Step::Flood { head: b"220 ".to_vec(), unit: vec![b'A'; 4096], max: FLOOD }])
            .exit(9)
            .output_must("longer than")
            .wire_must_not("EHLO")
            .check(|r| flooded_at_least(r, 4096)),
        reply("reply_endless_continuation_lines", "an EHLO reply of endless continuation lines: up to 300 MiB of 250-X")
            .script(|_| {
                vec![
                    send("220 mx.test ESMTP\r\n"),
                    expect("EHLO"),
                    Step::Flood { head: b"250-mx.test\r\n".to_vec(), unit: continuation_line(), max: FLOOD },
                ]
            })
            .exit(9)
            .output_must("more than 1000 lines")
            .wire_must_not("MAIL FROM")
            // 1000 lines of 4000 octets: the client took in about 4 MB before it stopped.
            .check(|r| flooded_at_least(r, 1000 * 4000)),
        reply("reply_mismatched_codes", "a multi-line EHLO reply whose code changes from 250 to 251")
            .script(|_| vec![send("220 mx.test\r\n"), expect("EHLO"), send("250-mx.test\r\n251 PIPELINING\r\n"), Step::ReadUntilClose])
            .exit(9)
            .output_must("changed its code")
            .wire_must_not("MAIL FROM"),
        reply("reply_code_000", "the greeting has code 000")
            .script(|_| vec![send("000 mx.test\r\n"), Step::ReadUntilClose])
            .exit(9)
            .wire_must_not("EHLO"),
        reply("reply_code_600", "the EHLO reply has code 600")
            .script(|_| vec![send("220 mx.test\r\n"), expect("EHLO"), send("600 mx.test\r\n"), Step::ReadUntilClose])
            .exit(9)
            .wire_must_not("MAIL FROM"),
        reply("reply_code_2500", "MAIL is answered with a four-digit code 2500")
            .script(|_| script(vec![plain_ehlo(), vec![expect("MAIL FROM:"), send("2500 ok\r\n"), Step::ReadUntilClose]]))
            .exit(9)
            .wire_must_not("RCPT TO"),
        reply("reply_code_25x", "the final dot is answered with code 25x")
            .script(|_| final_reply("25x 2.0.0 queued\r\n"))
            .exit(9)
            .output_must("malformed reply"),
        reply("reply_code_without_text", "every reply is a bare code with no text (\"250\" CRLF)")
            .script(|_| {
                vec![
                    send("220\r\n"),
                    expect("EHLO"),
                    send("250\r\n"),
                    expect("MAIL FROM:"),
                    send("250\r\n"),
                    expect("RCPT TO:"),
                    send("250\r\n"),
                    expect("DATA"),
                    send("354\r\n"),
                    Step::ExpectData,
                    send("250\r\n"),
                    expect("QUIT"),
                    send("221\r\n"),
                    Step::Close,
                ]
            })
            .exit(0),
        reply("reply_lf_only_line_ends", "every reply line ends in LF alone")
            .script(|_| {
                vec![
                    send("220 mx.test ESMTP\n"),
                    expect("EHLO"),
                    send("250-mx.test\n250 8BITMIME\n"),
                    expect("MAIL FROM:"),
                    send("250 2.1.0 Ok\n"),
                    expect("RCPT TO:"),
                    send("250 2.1.5 Ok\n"),
                    expect("DATA"),
                    send("354 go ahead\n"),
                    Step::ExpectData,
                    send("250 2.0.0 Ok: queued as LF1\n"),
                    expect("QUIT"),
                    send("221 Bye\n"),
                    Step::Close,
                ]
            })
            .exit(0)
            .output_must("queued as LF1"),
        reply("reply_escape_sequences", "RCPT refused with terminal escape sequences (clear screen, set title, BEL, CSI) in the text")
            .script(|_| {
                script(vec![
                    plain_ehlo(),
                    vec![
                        expect("MAIL FROM:"),
                        send("250 2.1.0 Ok\r\n"),
                        expect("RCPT TO:"),
                        send("550 5.1.1 \u{1b}[2J\u{1b}]0;pwned\u{7} \u{9b}31m red \u{1b}[0m\r\n"),
                    ],
                    quit(),
                ])
            })
            .both_styles()
            .exit(7)
            .output_must_not("\u{1b}[2J")
            .check(check::no_raw_controls),
        reply("reply_invalid_utf8", "the greeting and EHLO text are not UTF-8 (overlong forms, lone continuation bytes, 0xFF)")
            .script(|_| {
                script(vec![
                    vec![
                        send_bytes(&b"220 mx.test \xc0\x80 \xff\xfe \x80abc\r\n"[..]),
                        expect("EHLO"),
                        send_bytes(&b"250-mx.test \xed\xa0\x80\r\n250 8BITMIME\r\n"[..]),
                    ],
                    accept_message(),
                ])
            })
            .both_styles()
            .exit(0)
            .check(check::no_raw_controls),
        reply("reply_nul_in_text", "NUL bytes inside reply text")
            .script(|_| {
                script(vec![
                    vec![
                        send_bytes(&b"220 mx.test\x00hidden\r\n"[..]),
                        expect("EHLO"),
                        send_bytes(&b"250-mx.test\x00\r\n250 8BITMIME\r\n"[..]),
                    ],
                    accept_message(),
                ])
            })
            .exit(0)
            .check(check::no_raw_controls),
        reply("reply_every_reply_in_1_byte_segments", "every reply of the session arrives one byte per TCP segment")
            .script(|_| dripped_session())
            .exit(0)
            .output_must("queued as DRIP1"),
        reply("reply_unsolicited_before_ehlo", "a second, unsolicited reply follows the greeting in the same write")
            .script(|_| {
                script(vec![
                    vec![send("220 mx.test ESMTP\r\n250 2.0.0 nobody asked\r\n")],
                    vec![expect("EHLO"), send("250-mx.test\r\n250 8BITMIME\r\n")],
                    accept_message(),
                ])
            })
            .exit(9),
        reply("reply_unsolicited_extra_reply_to_mail", "MAIL gets two replies; the second would answer RCPT")
            .script(|_| {
                script(vec![
                    plain_ehlo(),
                    vec![expect("MAIL FROM:"), send("250 2.1.0 Ok\r\n250 2.1.5 Ok too\r\n")],
                    vec![expect("RCPT TO:"), send("550 5.1.1 no such user\r\n")],
                    vec![expect("DATA"), send("503 5.5.1 no valid recipients\r\n")],
                    quit(),
                ])
            })
            .exit_any(&[7, 9])
            .check(check::no_final_dot),
        reply("reply_unsolicited_after_354", "a 250 follows the 354 in the same write, before any content; the final dot is then refused 554")
            .script(|_| {
                script(vec![
                    plain_ehlo(),
                    vec![
                        expect("MAIL FROM:"),
                        send("250 2.1.0 Ok\r\n"),
                        expect("RCPT TO:"),
                        send("250 2.1.5 Ok\r\n"),
                        expect("DATA"),
                        send("354 go ahead\r\n250 2.0.0 Ok: queued as FAKE\r\n"),
                        Step::ExpectData,
                        send("554 5.7.1 rejected\r\n"),
                    ],
                    quit(),
                ])
            })
            .exit(9),
        reply("reply_354_to_rcpt", "RCPT answered with 354")
            .script(|_| {
                script(vec![
                    plain_ehlo(),
                    vec![expect("MAIL FROM:"), send("250 2.1.0 Ok\r\n"), expect("RCPT TO:"), send("354 go ahead\r\n")],
                    vec![Step::ReadUntilClose],
                ])
            })
            .exit(9)
            .wire_must_not("DATA\r\n"),
    ]
}
