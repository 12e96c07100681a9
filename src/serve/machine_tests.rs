//! The state machine without sockets: a line in, the actions out.

use std::sync::Arc;
use std::time::Duration;

use super::data::ReceivedStats;
use super::fault::{self, FaultPlan, Stage};
use super::machine::{Action, Counters, Machine, Settings};
use super::sasl::Users;

fn settings(faults: FaultPlan) -> Settings {
    Settings {
        hostname: "mx.test".into(),
        size_limit: 1000,
        max_recipients: 100,
        max_commands: 500,
        max_errors: 5,
        tls: false,
        users: None,
        insecure_auth: false,
        faults,
    }
}

fn machine_with(s: Settings) -> Machine {
    Machine::new(
        Arc::new(s),
        Arc::new(Counters::default()),
        1,
        false,
        [0; 32],
    )
}

fn machine() -> Machine {
    machine_with(settings(FaultPlan::default()))
}

/// The reply codes of `actions`, with the other actions named.
fn codes(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .map(|a| match a {
            Action::Reply(r) => r.code.to_string(),
            Action::Delay(d) => format!("delay {}ms", d.as_millis()),
            other => format!("{other:?}"),
        })
        .collect()
}

fn say(m: &mut Machine, line: &str) -> Vec<String> {
    codes(&m.on_line(line.as_bytes()))
}

fn transaction(m: &mut Machine) {
    assert_eq!(say(m, "EHLO c"), ["250"]);
    assert_eq!(say(m, "MAIL FROM:<a@b.example>"), ["250"]);
    assert_eq!(say(m, "RCPT TO:<c@d.example>"), ["250"]);
}

#[test]
fn a_whole_transaction() {
    let mut m = machine();
    assert_eq!(codes(&m.greeting()), ["220"]);
    transaction(&mut m);
    assert_eq!(say(&mut m, "DATA"), ["354", "ReceiveData"]);
    assert_eq!(
        codes(&m.content_received(ReceivedStats::default(), false)),
        ["Commit"]
    );
    let r = m.committed(Ok("ID1"));
    assert_eq!(codes(&r), ["250"]);
    assert!(format!("{r:?}").contains("queued as ID1"));
    assert!(m.envelope().is_none());
    assert_eq!(say(&mut m, "QUIT"), ["221", "Close"]);
}

#[test]
fn sequence_errors_and_the_error_limit() {
    let mut m = machine();
    assert_eq!(say(&mut m, "MAIL FROM:<a@b.example>"), ["503"]);
    assert_eq!(say(&mut m, "EHLO c"), ["250"]);
    assert_eq!(say(&mut m, "RCPT TO:<c@d.example>"), ["503"]);
    assert_eq!(say(&mut m, "DATA"), ["503"]);
    assert_eq!(say(&mut m, "FOO"), ["500"]);
    // The fifth refusal closes the session.
    assert_eq!(say(&mut m, "BAR"), ["421", "Close"]);
}

#[test]
fn size_and_recipient_limits() {
    let mut m = machine();
    say(&mut m, "EHLO c");
    assert_eq!(say(&mut m, "MAIL FROM:<a@b.example> SIZE=1001"), ["552"]);
    assert_eq!(say(&mut m, "MAIL FROM:<a@b.example> SIZE=10"), ["250"]);
    for _ in 0..100 {
        assert_eq!(say(&mut m, "RCPT TO:<c@d.example>"), ["250"]);
    }
    assert_eq!(say(&mut m, "RCPT TO:<c@d.example>"), ["452"]);
    assert_eq!(say(&mut m, "DATA"), ["354", "ReceiveData"]);
    assert_eq!(
        codes(&m.content_received(ReceivedStats::default(), true)),
        ["552"]
    );
}

#[test]
fn bare_line_ends_refuse_the_message() {
    let mut m = machine();
    transaction(&mut m);
    say(&mut m, "DATA");
    let stats = ReceivedStats {
        bare_lf: 1,
        ..ReceivedStats::default()
    };
    assert_eq!(codes(&m.content_received(stats, false)), ["550"]);
    assert!(m.envelope().is_none());
}

#[test]
fn bdat_chunks() {
    let mut m = machine();
    assert_eq!(
        say(&mut m, "BDAT 5"),
        ["ReceiveChunk { size: 5, last: false, keep: false }", "503"]
    );
    transaction(&mut m);
    assert_eq!(
        say(&mut m, "BDAT 5"),
        ["ReceiveChunk { size: 5, last: false, keep: true }"]
    );
    assert_eq!(codes(&m.chunk_received(5, false)), ["250"]);
    assert_eq!(say(&mut m, "DATA"), ["503"]);
    assert_eq!(
        say(&mut m, "BDAT 2000 LAST"),
        ["ReceiveChunk { size: 2000, last: true, keep: false }"]
    );
    assert_eq!(codes(&m.chunk_received(2000, true)), ["552"]);
    assert!(m.envelope().is_none());
}

#[test]
fn faults_replace_delay_and_drop() {
    let mut plan = FaultPlan::default();
    let (stage, reply) = fault::parse_stage_reply("mail=451 4.3.0 later").unwrap();
    plan.set_reply(stage, reply);
    plan.set_delay(Stage::Rcpt, Duration::from_millis(20));
    plan.set_drop(Stage::Dot);
    plan.rcpt
        .push(fault::parse_rcpt_rule("*@bad.example=550 5.1.1 no").unwrap());
    let mut m = machine_with(settings(plan));
    say(&mut m, "EHLO c");
    assert_eq!(say(&mut m, "MAIL FROM:<a@b.example>"), ["451"]);
    assert!(m.envelope().is_none(), "a refused MAIL starts nothing");

    let mut plan = FaultPlan::default();
    plan.set_delay(Stage::Rcpt, Duration::from_millis(20));
    plan.set_drop(Stage::Dot);
    plan.rcpt
        .push(fault::parse_rcpt_rule("*@bad.example=550 5.1.1 no").unwrap());
    let mut m = machine_with(settings(plan));
    say(&mut m, "EHLO c");
    say(&mut m, "MAIL FROM:<a@b.example>");
    assert_eq!(say(&mut m, "RCPT TO:<x@BAD.example>"), ["550"]);
    assert_eq!(say(&mut m, "RCPT TO:<y@d.example>"), ["delay 20ms", "250"]);
    say(&mut m, "DATA");
    assert_eq!(
        codes(&m.content_received(ReceivedStats::default(), false)),
        ["Drop"]
    );
}

#[test]
fn a_refused_greeting_allows_only_quit() {
    let mut plan = FaultPlan::default();
    plan.set_reply(
        Stage::Greeting,
        fault::parse_reply("554 5.3.2 not now", "x").unwrap(),
    );
    let mut m = machine_with(settings(plan));
    assert_eq!(codes(&m.greeting()), ["554"]);
    assert_eq!(say(&mut m, "EHLO c"), ["503"]);
    assert_eq!(say(&mut m, "QUIT"), ["221", "Close"]);
    let mut plan = FaultPlan::default();
    plan.set_reply(Stage::Greeting, fault::parse_reply("421", "x").unwrap());
    assert_eq!(
        codes(&machine_with(settings(plan)).greeting()),
        ["421", "Close"]
    );
}

#[test]
fn fail_every_counts_transactions_across_sessions() {
    let mut plan = FaultPlan::default();
    plan.set_reply(Stage::Mail, fault::parse_reply("451", "x").unwrap());
    plan.every = Some(2);
    let s = Arc::new(settings(plan));
    let counters = Arc::new(Counters::default());
    let mut seen = Vec::new();
    for session in 1..=2 {
        let mut m = Machine::new(
            Arc::clone(&s),
            Arc::clone(&counters),
            session,
            false,
            [0; 32],
        );
        say(&mut m, "EHLO c");
        for _ in 0..2 {
            let c = say(&mut m, "MAIL FROM:<a@b.example>");
            seen.push(c[0].clone());
            say(&mut m, "RSET");
        }
    }
    assert_eq!(seen, ["250", "451", "250", "451"]);
}

#[test]
fn auth_needs_tls_unless_allowed() {
    let mut s = settings(FaultPlan::default());
    s.users = Some(Users::Any);
    s.tls = true;
    let mut m = machine_with(s);
    let ehlo = m.on_line(b"EHLO c");
    assert!(!format!("{ehlo:?}").contains("AUTH"), "no AUTH before TLS");
    assert!(format!("{ehlo:?}").contains("STARTTLS"));
    assert_eq!(say(&mut m, "AUTH PLAIN AHUAcA=="), ["538"]);
    assert_eq!(say(&mut m, "STARTTLS"), ["220", "StartTls"]);
    m.tls_established();
    let ehlo = m.on_line(b"EHLO c");
    assert!(format!("{ehlo:?}").contains("AUTH CRAM-MD5 PLAIN LOGIN"));
    assert_eq!(say(&mut m, "AUTH PLAIN AHUAcA=="), ["235"]);
    assert_eq!(say(&mut m, "MAIL FROM:<a@b.example>"), ["250"]);
    assert_eq!(m.envelope().unwrap().auth_user.as_deref(), Some("u"));
}

#[test]
fn long_lines_and_the_command_limit() {
    let mut s = settings(FaultPlan::default());
    s.max_commands = 50;
    let mut m = machine_with(s);
    assert_eq!(codes(&m.line_too_long()), ["500"]);
    for _ in 0..50 {
        assert_eq!(say(&mut m, "NOOP"), ["250"]);
    }
    assert_eq!(say(&mut m, "NOOP"), ["421", "Close"]);
}
