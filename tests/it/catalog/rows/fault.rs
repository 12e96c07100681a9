//! Timing and faults: connections that go nowhere, servers that drip, fall silent,
//! close or reset at each phase, and stop reading or refuse in the middle of a body.
//! Binary rows use short timeouts set by flags; the `paused_*` rows run the library
//! with the RFC 5321 §4.5.3.2 values on a paused clock.

use std::time::Duration;

use crate::support::certs::CertKind;
use crate::support::scripted::{Step, drip, expect, greeting_ehlo, send};

use super::super::check;
use super::super::paused::{self, Peer};
use super::super::row::{Area, Row, Server, Source, row};
use super::{AUTH_ARGS, STARTTLS_ARGS, envelope_to_354, plain_ehlo, quit, script, starttls};

fn fault(id: &'static str, what: &'static str) -> Row {
    row(id, Area::Timing, Source::Server, what)
}

/// 16 MiB of 1 KiB lines: more than loopback socket buffers hold.
pub fn big_body() -> Vec<u8> {
    let mut line = vec![b'x'; 1023];
    line.push(b'\n');
    line.repeat(16 * 1024)
}

/// Greeting and EHLO with no SIZE limit, for the 16 MiB bodies.
fn no_size_ehlo() -> Vec<Step> {
    greeting_ehlo(&["8BITMIME"])
}

/// The plaintext session up to `step`, then `end`.
fn at(step: &str, end: Step) -> Vec<Step> {
    let mut s = match step {
        "greeting" => Vec::new(),
        "ehlo" => vec![send("220 mx.test ESMTP\r\n"), expect("EHLO")],
        "mail" => script(vec![plain_ehlo(), vec![expect("MAIL FROM:")]]),
        "rcpt" => script(vec![
            plain_ehlo(),
            vec![
                expect("MAIL FROM:"),
                send("250 2.1.0 Ok\r\n"),
                expect("RCPT TO:"),
            ],
        ]),
        "data" => script(vec![
            plain_ehlo(),
            vec![
                expect("MAIL FROM:"),
                send("250 2.1.0 Ok\r\n"),
                expect("RCPT TO:"),
                send("250 2.1.5 Ok\r\n"),
                expect("DATA"),
            ],
        ]),
        "dot" => script(vec![
            plain_ehlo(),
            envelope_to_354(),
            vec![Step::ExpectData],
        ]),
        other => panic!("no phase {other}"),
    };
    s.push(end);
    s
}

const SECOND: Duration = Duration::from_secs(1);

/// Replies as the paused-clock peer preloads them.
const GREETING: &[u8] = b"220 mx.test ESMTP\r\n";
const TO_EHLO: &[u8] = b"220 mx.test ESMTP\r\n250 mx.test\r\n";
const TO_MAIL: &[u8] = b"220 mx.test ESMTP\r\n250 mx.test\r\n250 2.1.0 Ok\r\n";
const TO_RCPT: &[u8] = b"220 mx.test ESMTP\r\n250 mx.test\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n";
const TO_DATA: &[u8] =
    b"220 mx.test ESMTP\r\n250 mx.test\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go ahead\r\n";
const AFTER_GREETING: &[u8] = b"250 mx.test\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go ahead\r\n";
const AFTER_DOT: &[u8] = b"250 2.0.0 Ok: queued as P1\r\n221 Bye\r\n";

pub fn rows() -> Vec<Row> {
    let mut rows = vec![
        fault("fault_connect_blackholed", "the SYN is never answered (a listener whose accept queue is full)")
            .server(Server::Blackhole)
            .args(&["--connect-timeout", "500ms"])
            .exit(4)
            .output_must("no connection within"),
        fault("fault_connect_refused", "nothing listens on the port")
            .server(Server::Refused)
            .exit(4)
            .output_must("connection refused"),
        fault("fault_no_greeting", "the server accepts and never says a word")
            .script(|_| vec![Step::ReadUntilClose])
            .args(&["--greeting-timeout", "300ms"])
            .exit(4)
            .wire_must_not("EHLO"),
        fault("fault_greeting_cut_mid_reply", "the first line of a multi-line greeting, then a close")
            .script(|_| vec![send("220-mx.test ESMTP\r\n220-still"), Step::Close])
            .exit(4)
            .output_must("in the middle of a greeting"),
        fault("fault_drip_greeting_past_timeout", "the greeting arrives one byte every 250 ms against a 400 ms greeting timeout")
            .script(|_| vec![drip("220 mx.test ESMTP\r\n", Duration::from_millis(250)), Step::ReadUntilClose])
            .args(&["--greeting-timeout", "400ms"])
            .exit(4)
            .wire_must_not("EHLO"),
        fault("fault_drip_ehlo_past_timeout", "the EHLO reply arrives one byte every 250 ms against a 400 ms command timeout")
            .script(|_| {
                vec![
                    send("220 mx.test ESMTP\r\n"),
                    expect("EHLO"),
                    drip("250-mx.test\r\n250 8BITMIME\r\n", Duration::from_millis(250)),
                    Step::ReadUntilClose,
                ]
            })
            .args(&["--command-timeout", "400ms"])
            .exit(8)
            .wire_must_not("MAIL FROM"),
        fault("fault_drip_final_reply_past_timeout", "the reply to the final dot arrives one byte every 250 ms against a 400 ms final timeout")
            .script(|_| at("dot", drip("250 2.0.0 Ok: queued as SLOW\r\n", Duration::from_millis(250))))
            .args(&["--final-timeout", "400ms"])
            .exit(10)
            .output_must("may or may not have been accepted"),
        fault("fault_slow_drip_within_timeouts", "every reply dripped 20 ms a byte: slow, but each within its timeout")
            .script(|_| {
                let every = Duration::from_millis(20);
                vec![
                    drip("220 mx.test\r\n", every),
                    expect("EHLO"),
                    drip("250 mx.test\r\n", every),
                    expect("MAIL FROM:"),
                    drip("250 Ok\r\n", every),
                    expect("RCPT TO:"),
                    drip("250 Ok\r\n", every),
                    expect("DATA"),
                    drip("354 go\r\n", every),
                    Step::ExpectData,
                    drip("250 queued as SLOW2\r\n", every),
                    expect("QUIT"),
                    send("221 Bye\r\n"),
                    Step::Close,
                ]
            })
            .exit(0)
            .output_must("queued as SLOW2"),
        fault("fault_silent_at_ehlo", "no reply to EHLO")
            .script(|_| at("ehlo", Step::ReadUntilClose))
            .args(&["--command-timeout", "300ms"])
            .exit(8),
        fault("fault_silent_at_starttls", "no reply to STARTTLS")
            .script(|_| script(vec![greeting_ehlo(&["STARTTLS"]), vec![expect("STARTTLS"), Step::ReadUntilClose]]))
            .args(&STARTTLS_ARGS)
            .args(&["--command-timeout", "300ms"])
            .exit(8)
            .wire_must_not("MAIL FROM"),
        fault("fault_silent_at_auth", "no reply to AUTH")
            .script(|c| script(vec![starttls(c, CertKind::Valid, &["AUTH PLAIN"]), vec![expect("AUTH PLAIN"), Step::ReadUntilClose]]))
            .args(&STARTTLS_ARGS)
            .args(&AUTH_ARGS)
            .args(&["--command-timeout", "300ms"])
            .exit(8)
            .wire_must_not("MAIL FROM"),
        fault("fault_silent_at_auth_then_no_quit", "no reply to AUTH: the connection is out of step, so it is closed without QUIT")
            .script(|c| script(vec![starttls(c, CertKind::Valid, &["AUTH PLAIN"]), vec![expect("AUTH PLAIN"), Step::ReadUntilClose]]))
            .args(&STARTTLS_ARGS)
            .args(&AUTH_ARGS)
            .args(&["--command-timeout", "300ms"])
            .exit(8)
            .wire_must_not("QUIT"),
        fault("fault_silent_at_mail", "no reply to MAIL")
            .script(|_| at("mail", Step::ReadUntilClose))
            .args(&["--command-timeout", "300ms"])
            .exit(8)
            .wire_must_not("RCPT TO"),
        fault("fault_silent_at_rcpt", "no reply to RCPT")
            .script(|_| at("rcpt", Step::ReadUntilClose))
            .args(&["--command-timeout", "300ms"])
            .exit(8)
            .wire_must_not("DATA"),
        fault("fault_silent_at_data", "no reply to DATA")
            .script(|_| at("data", Step::ReadUntilClose))
            .args(&["--data-timeout", "300ms"])
            .exit(8)
            .wire_must_not("Subject:"),
        fault("fault_silent_after_final_dot", "no reply to the final dot: the outcome is unknown")
            .script(|_| at("dot", Step::ReadUntilClose))
            .args(&["--final-timeout", "300ms"])
            .exit(10)
            .output_must("unknown"),
    ];
    for (phase, code) in [
        ("greeting", 4),
        ("ehlo", 8),
        ("mail", 8),
        ("rcpt", 8),
        ("data", 8),
        ("dot", 10),
    ] {
        for (how, step) in [("close", Step::Close), ("reset", Step::Reset)] {
            let id: &'static str = Box::leak(
                match phase {
                    "greeting" => format!("fault_{how}_before_greeting"),
                    "dot" => format!("fault_{how}_after_final_dot"),
                    p => format!("fault_{how}_at_{p}"),
                }
                .into_boxed_str(),
            );
            let what: &'static str =
                Box::leak(format!("the server does a {how} at {phase}").into_boxed_str());
            rows.push(
                fault(id, what)
                    .script(scripted_end(phase, &step))
                    .exit(code),
            );
        }
    }
    rows.extend([
        fault("fault_stops_reading_mid_body", "the server stops reading in the middle of a 16 MiB body")
            .script(|_| {
                script(vec![
                    no_size_ehlo(),
                    envelope_to_354(),
                    vec![Step::Stall(Duration::from_secs(3)), Step::ReadUntilClose],
                ])
            })
            .file(big_body)
            .args(&["--data", "{file}", "--data-block-timeout", "300ms"])
            .exit(8)
            .check(check::no_final_dot),
        fault("fault_550_mid_body_then_reset", "550 in the middle of the body, then a reset")
            .script(|_| {
                script(vec![
                    no_size_ehlo(),
                    envelope_to_354(),
                    vec![Step::Delay(Duration::from_millis(200)), send("550 5.3.4 too much\r\n"), Step::Reset],
                ])
            })
            .file(big_body)
            .args(&["--data", "{file}"])
            .exit_any(&[7, 8])
            .check(check::no_final_dot),
        fault("fault_550_mid_body_keeps_reading", "550 in the middle of the body; the server reads on and says nothing to the dot")
            .script(|_| {
                script(vec![
                    no_size_ehlo(),
                    envelope_to_354(),
                    vec![Step::Delay(Duration::from_millis(50)), send("550 5.7.1 content refused\r\n"), Step::ExpectData],
                    quit(),
                ])
            })
            .file(big_body)
            .args(&["--data", "{file}"])
            .exit(7)
            .output_must("550"),
        fault("paused_no_greeting_5m", "no greeting: the RFC's 5-minute greeting timeout, on a paused clock")
            .library(|_| paused::run(Peer::replies(b"")))
            .exit(4)
            .check(|r| check::virtual_time(r, 5 * 60 * SECOND)),
        fault("paused_no_ehlo_reply_5m", "no EHLO reply: 5 minutes")
            .library(|_| paused::run(Peer::replies(GREETING)))
            .exit(8)
            .check(|r| check::virtual_time(r, 5 * 60 * SECOND)),
        fault("paused_no_mail_reply_5m", "no MAIL reply: 5 minutes (§4.5.3.2.2)")
            .library(|_| paused::run(Peer::replies(TO_EHLO)))
            .exit(8)
            .check(|r| check::virtual_time(r, 5 * 60 * SECOND)),
        fault("paused_no_rcpt_reply_5m", "no RCPT reply: 5 minutes (§4.5.3.2.3)")
            .library(|_| paused::run(Peer::replies(TO_MAIL)))
            .exit(8)
            .check(|r| check::virtual_time(r, 5 * 60 * SECOND)),
        fault("paused_no_data_reply_2m", "no DATA reply: 2 minutes (§4.5.3.2.4)")
            .library(|_| paused::run(Peer::replies(TO_RCPT)))
            .exit(8)
            .check(|r| check::virtual_time(r, 2 * 60 * SECOND)),
        fault("paused_body_not_read_3m", "the server stops reading the body: 3 minutes for a data block (§4.5.3.2.5)")
            .library(|_| {
                paused::run(Peer {
                    reads: false,
                    body: big_body(),
                    ..Peer::replies(TO_DATA)
                })
            })
            .exit(8)
            .check(|r| check::virtual_time(r, 3 * 60 * SECOND)),
        fault("paused_no_final_reply_10m", "no reply to the final dot: 10 minutes (§4.5.3.2.6), then unknown")
            .library(|_| paused::run(Peer::replies(TO_DATA)))
            .exit(10)
            .wire_must("\r\n.\r\n")
            .check(|r| check::virtual_time(r, 10 * 60 * SECOND)),
        fault("paused_drip_greeting_just_inside_each_timeout", "one greeting byte every 4 min 59 s: the 5-minute deadline covers the whole reply, so it ends at 5 minutes")
            .library(|_| {
                paused::run(Peer {
                    drip: Some((GREETING, 299 * SECOND)),
                    ..Peer::replies(b"")
                })
            })
            .exit(4)
            .check(|r| check::virtual_time(r, 5 * 60 * SECOND)),
        fault("paused_drip_greeting_within_5m", "the greeting dripped one byte every 14 s (4 min 12 s in all), then a whole session")
            .library(|_| {
                paused::run(Peer {
                    drip: Some((GREETING, 14 * SECOND)),
                    after: AFTER_GREETING,
                    after_dot: AFTER_DOT,
                    ..Peer::replies(b"")
                })
            })
            .exit(0)
            .check(|r| check::virtual_time(r, 18 * 14 * SECOND)),
    ]);
    rows
}

/// The script for a close or reset at `phase`, as a plain fn (rows hold fn pointers).
fn scripted_end(phase: &str, step: &Step) -> fn(&super::super::row::Ctx) -> Vec<Step> {
    match (phase, matches!(step, Step::Reset)) {
        ("greeting", false) => |_| at("greeting", Step::Close),
        ("greeting", true) => |_| at("greeting", Step::Reset),
        ("ehlo", false) => |_| at("ehlo", Step::Close),
        ("ehlo", true) => |_| at("ehlo", Step::Reset),
        ("mail", false) => |_| at("mail", Step::Close),
        ("mail", true) => |_| at("mail", Step::Reset),
        ("rcpt", false) => |_| at("rcpt", Step::Close),
        ("rcpt", true) => |_| at("rcpt", Step::Reset),
        ("data", false) => |_| at("data", Step::Close),
        ("data", true) => |_| at("data", Step::Reset),
        ("dot", false) => |_| at("dot", Step::Close),
        (_, _) => |_| at("dot", Step::Reset),
    }
}
