//! `smtpx verify` through the binary: verdicts against a real aiosmtpd with a recipient
//! policy and dnsmasq serving test domains; batching, 452, 421 throttling, dropped
//! connections and greylisting against the scripted server; Ctrl-C; a 10,000-line list
//! streamed in bounded memory.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::dns::{DnsServer, RecordSpec};
use crate::support::peers::{Aiosmtpd, AiosmtpdOptions};
use crate::support::scripted::{ScriptedServer, Step, ehlo_reply, expect, send};

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    /// The verdict column of the table row for `address`.
    fn verdict(&self, address: &str) -> Option<&str> {
        self.stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(address))
            .and_then(|l| l.split_whitespace().nth(1))
    }

    fn jsonl(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

fn verify(args: &[&str], stdin: Option<&[u8]>) -> Out {
    let mut cmd = assert_cmd::Command::cargo_bin("smtpx").unwrap();
    cmd.arg("verify")
        .args(args)
        .env_remove("NO_COLOR")
        .timeout(Duration::from_secs(90));
    if let Some(bytes) = stdin {
        cmd.write_stdin(bytes.to_vec());
    }
    let out = cmd.output().unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn assert_verdicts(out: &Out, want: &[(&str, &str)]) {
    for (address, verdict) in want {
        assert_eq!(
            out.verdict(address),
            Some(*verdict),
            "{address}\nstdout:\n{}\nstderr:\n{}",
            out.stdout,
            out.stderr
        );
    }
}

/// The known/unknown/greylisted/452 policy of the MX-routed test.
fn policy() -> Value {
    json!({
        "alice@known.test": "250 2.1.5 OK",
        "bob@known.test": "250 2.1.5 OK",
        "grey@known.test": "450 4.2.0 Greylisted, try again later",
        "full@known.test": "452 4.2.2 Mailbox full",
        "busy@known.test": "452 4.5.3 Too many recipients",
        "denied@known.test": "550 5.7.1 Relay access denied",
        "@catchall.test": "250 2.1.5 OK",
        "*": "550 5.1.1 No such user",
    })
}

#[test]
fn every_verdict_from_real_servers_and_dns() {
    let Some(server) = Aiosmtpd::start(AiosmtpdOptions::new().policy(policy())) else {
        return;
    };
    let Some(dns) = DnsServer::start(&[
        ("known.test", RecordSpec::Mx(10, "mx.known.test")),
        ("mx.known.test", RecordSpec::Addr("127.0.0.1")),
        ("catchall.test", RecordSpec::Mx(10, "mx.catchall.test")),
        ("mx.catchall.test", RecordSpec::Addr("127.0.0.1")),
        ("nullmx.test", RecordSpec::NullMx),
        ("servfail.test", RecordSpec::ServFail),
        // Nothing listens on 127.0.0.2 at the server's port.
        ("dead.test", RecordSpec::Mx(10, "mx.dead.test")),
        ("mx.dead.test", RecordSpec::Addr("127.0.0.2")),
    ]) else {
        return;
    };
    let list = "\u{feff}# test list\r\n\
        alice@known.test\r\n\
        eve@known.test\r\n\
        grey@known.test\r\n\
        busy@known.test\r\n\
        bob@known.test\r\n\
        full@known.test\r\n\
        denied@known.test\r\n\
        \r\n\
        anyone@catchall.test\r\n\
        someone@nullmx.test\r\n\
        someone@nx.test\r\n\
        someone@servfail.test\r\n\
        someone@dead.test\r\n\
        not an address\r\n";
    let port = server.addr().port().to_string();
    let dns_arg = dns.addr().to_string();
    let base = [
        "--port",
        &port,
        "--dns-server",
        &dns_arg,
        "--no-timing",
        "--timeout",
        "60s",
        "--rate",
        "0",
    ];
    let out = verify(&base, Some(list.as_bytes()));
    assert_eq!(out.code, 7, "{}{}", out.stdout, out.stderr);
    assert_verdicts(
        &out,
        &[
            ("alice@known.test", "deliverable"),
            ("bob@known.test", "deliverable"),
            ("eve@known.test", "undeliverable"),
            ("grey@known.test", "temporary"),
            ("full@known.test", "temporary"),
            ("busy@known.test", "temporary"),
            ("denied@known.test", "policy"),
            ("anyone@catchall.test", "accept-all"),
            ("someone@nullmx.test", "no-mail"),
            ("someone@nx.test", "no-domain"),
            ("someone@servfail.test", "dns-error"),
            ("someone@dead.test", "unreachable"),
        ],
    );
    assert!(
        out.stdout.contains("undeliverable  550 5.1.1 No such user"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("invalid        line 15: missing '@domain'"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.ends_with(
            "rejected: 13 addresses: 2 deliverable, 1 undeliverable, 1 accept-all, \
             3 temporary, 1 no-mail, 1 no-domain, 1 dns-error, 1 unreachable, 1 policy, 1 invalid\n"
        ),
        "{}",
        out.stdout
    );

    // The same as JSON lines: one object per address, then the result.
    let mut args = base.to_vec();
    args.extend(["--format", "jsonl"]);
    let out = verify(&args, Some(list.as_bytes()));
    assert_eq!(out.code, 7, "{}", out.stderr);
    let objects = out.jsonl();
    assert_eq!(objects.len(), 14);
    let alice = objects
        .iter()
        .find(|o| o["address"] == "alice@known.test")
        .unwrap();
    assert_eq!(alice["verdict"], "deliverable");
    assert_eq!(alice["line"], 2);
    assert_eq!(alice["host"], "mx.known.test");
    assert_eq!(alice["reply"]["code"], 250);
    let result = objects.last().unwrap();
    assert_eq!(result["type"], "result");
    assert_eq!(result["counts"]["temporary"], 3);
    assert_eq!(result["exit_code"], 7);

    // Only deliverable addresses: exit 0; anything undecided: 8.
    let only = |addresses: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(addresses);
        verify(&args, None).code
    };
    assert_eq!(only(&["alice@known.test", "bob@known.test"]), 0);
    assert_eq!(only(&["alice@known.test", "grey@known.test"]), 8);
    assert_eq!(only(&["anyone@catchall.test"]), 8);
}

#[test]
fn an_accept_all_server_never_confirms_an_address() {
    let policy = json!({"*": "250 2.1.5 OK"});
    let Some(server) = Aiosmtpd::start(AiosmtpdOptions::new().policy(policy)) else {
        return;
    };
    let out = verify(
        &[
            "--server",
            &server.server_arg(),
            "--no-timing",
            "-v",
            "alice@example.test",
            "nobody@example.test",
        ],
        None,
    );
    assert_eq!(out.code, 8, "{}{}", out.stdout, out.stderr);
    assert_verdicts(
        &out,
        &[
            ("alice@example.test", "accept-all"),
            ("nobody@example.test", "accept-all"),
        ],
    );
    assert!(
        out.stdout
            .contains("the domain also accepted a random local part"),
        "{}",
        out.stdout
    );
    // Exactly one random-local-part probe for the domain.
    assert_eq!(
        out.stderr.matches("-> RCPT TO:<smtpx-probe-").count(),
        1,
        "{}",
        out.stderr
    );
}

#[test]
fn aiosmtpd_gets_pipelined_batches_when_it_offers_pipelining() {
    let opts = AiosmtpdOptions::new()
        .policy(json!({"*": "550 5.1.1 No such user", "a1@p.test": "250 OK"}))
        .pipelining();
    let Some(server) = Aiosmtpd::start(opts) else {
        return;
    };
    let addresses: Vec<String> = (1..=150).map(|i| format!("a{i}@p.test")).collect();
    let arg = server.server_arg();
    let mut args = vec![
        "--server",
        arg.as_str(),
        "-v",
        "--no-timing",
        "--batch",
        "100",
    ];
    args.extend(addresses.iter().map(String::as_str));
    let out = verify(&args, None);
    assert_eq!(out.code, 7, "{}", out.stderr);
    assert_eq!(out.verdict("a1@p.test"), Some("deliverable"));
    assert_eq!(out.verdict("a150@p.test"), Some("undeliverable"));
    // The transcript shows each group's commands before any of their replies.
    let lines: Vec<&str> = out.stderr.lines().collect();
    let first_reply_to_mail = lines
        .iter()
        .position(|l| l.contains("<- 250 OK") || l.contains("<- 250 2.1.0"))
        .unwrap();
    let rcpts_before = lines[..first_reply_to_mail]
        .iter()
        .filter(|l| l.contains("-> RCPT TO:"))
        .count();
    assert_eq!(rcpts_before, 100, "{}", out.stderr);
    assert_eq!(
        lines.iter().filter(|l| l.contains("-> RSET")).count(),
        1,
        "{}",
        out.stderr
    );
}

/// Greeting and EHLO with these capabilities.
fn opening(caps: &[&str]) -> Vec<Step> {
    vec![
        send("220 mx.test ESMTP\r\n"),
        expect("EHLO"),
        Step::Send(ehlo_reply("mx.test", caps)),
    ]
}

fn quit() -> Vec<Step> {
    vec![expect("QUIT"), send("221 bye\r\n"), Step::Close]
}

fn scripted(server: &ScriptedServer, addresses: &[&str], extra: &[&str]) -> Out {
    let arg = server.server_arg();
    let mut args = vec!["--server", arg.as_str(), "--no-timing", "--timeout", "60s"];
    args.extend_from_slice(extra);
    args.push("--");
    args.extend_from_slice(addresses);
    verify(&args, None)
}

#[test]
fn pipelined_batches_hold_at_most_100_recipients() {
    let mut script = opening(&["PIPELINING"]);
    // Every command of a batch is read before any reply is sent: a client that waited
    // for replies would stall here.
    script.extend([expect("MAIL FROM:"), expect("RCPT TO:<smtpx-probe-")]);
    script.extend((1..=99).map(|i| expect(&format!("RCPT TO:<u{i}@b.test>"))));
    let mut replies = String::from("250 2.1.0 OK\r\n550 5.1.1 no\r\n");
    replies.push_str(&"250 2.1.5 OK\r\n".repeat(99));
    script.push(send(&replies));
    script.extend([expect("RSET"), expect("MAIL FROM:")]);
    script.extend((100..=150).map(|i| expect(&format!("RCPT TO:<u{i}@b.test>"))));
    let mut replies = String::from("250 reset\r\n250 2.1.0 OK\r\n");
    replies.push_str(&"550 5.1.1 no\r\n".repeat(51));
    script.push(send(&replies));
    script.extend(quit());
    let server = ScriptedServer::start(script);
    let addresses: Vec<String> = (1..=150).map(|i| format!("u{i}@b.test")).collect();
    let refs: Vec<&str> = addresses.iter().map(String::as_str).collect();
    let out = scripted(&server, &refs, &["--batch", "100"]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 7, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.verdict("u99@b.test"), Some("deliverable"));
    assert_eq!(out.verdict("u100@b.test"), Some("undeliverable"));
    assert!(
        out.stdout
            .ends_with("rejected: 150 addresses: 99 deliverable, 51 undeliverable\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn too_many_recipients_sends_the_rest_in_a_new_transaction_at_once() {
    let mut script = opening(&["PIPELINING"]);
    script.extend([expect("MAIL FROM:"), expect("RCPT TO:<smtpx-probe-")]);
    script.extend((1..=5).map(|i| expect(&format!("RCPT TO:<a{i}@t.test>"))));
    script.push(send(
        "250 OK\r\n550 5.1.1 no\r\n250 OK\r\n250 OK\r\n\
         452 4.5.3 Too many recipients\r\n452 4.5.3 Too many recipients\r\n452 4.5.3 Too many recipients\r\n",
    ));
    // The server took three recipients: the rest go three at a time, at once.
    script.extend([
        expect("RSET"),
        expect("MAIL FROM:"),
        expect("RCPT TO:<a3@t.test>"),
        expect("RCPT TO:<a4@t.test>"),
        expect("RCPT TO:<a5@t.test>"),
        send("250 OK\r\n250 OK\r\n250 OK\r\n550 5.1.1 no\r\n250 OK\r\n"),
    ]);
    script.extend(quit());
    let server = ScriptedServer::start(script);
    let out = scripted(
        &server,
        &[
            "a1@t.test",
            "a2@t.test",
            "a3@t.test",
            "a4@t.test",
            "a5@t.test",
        ],
        &[],
    );
    let record = server.finish();
    record.assert_clean();
    assert_eq!(record.connections, 1);
    assert_eq!(out.code, 7, "{}{}", out.stdout, out.stderr);
    assert_verdicts(
        &out,
        &[
            ("a1@t.test", "deliverable"),
            ("a2@t.test", "deliverable"),
            ("a3@t.test", "deliverable"),
            ("a4@t.test", "undeliverable"),
            ("a5@t.test", "deliverable"),
        ],
    );
}

#[test]
fn a_throttling_421_is_retried_once_on_a_fresh_connection() {
    // No PIPELINING: one command at a time; the server closes after two RCPTs.
    let mut first = opening(&[]);
    first.extend([
        expect("MAIL FROM:"),
        send("250 OK\r\n"),
        expect("RCPT TO:<smtpx-probe-"),
        send("550 5.1.1 no\r\n"),
        expect("RCPT TO:<a1@t.test>"),
        send("250 OK\r\n"),
        expect("RCPT TO:<a2@t.test>"),
        send("421 4.7.0 Too many recipients this session, closing\r\n"),
        Step::Close,
    ]);
    let mut second = opening(&[]);
    second.extend([
        expect("MAIL FROM:"),
        send("250 OK\r\n"),
        expect("RCPT TO:<a2@t.test>"),
        send("250 OK\r\n"),
        expect("RCPT TO:<a3@t.test>"),
        send("421 4.7.0 closing\r\n"),
        Step::Close,
    ]);
    let mut third = opening(&[]);
    third.extend([
        expect("MAIL FROM:"),
        send("250 OK\r\n"),
        expect("RCPT TO:<a3@t.test>"),
        send("421 4.7.0 closing again\r\n"),
        Step::Close,
    ]);
    let server = ScriptedServer::start_many(vec![first, second, third]);
    let started = Instant::now();
    let out = scripted(&server, &["a1@t.test", "a2@t.test", "a3@t.test"], &[]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(record.connections, 3);
    assert!(started.elapsed() >= Duration::from_secs(2), "backoff");
    assert_eq!(out.code, 8, "{}{}", out.stdout, out.stderr);
    assert_verdicts(
        &out,
        &[
            ("a1@t.test", "deliverable"),
            ("a2@t.test", "deliverable"),
            ("a3@t.test", "temporary"),
        ],
    );
    assert!(
        out.stdout.contains("421 4.7.0 closing again"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_connection_dropped_mid_batch_keeps_what_was_answered() {
    let mut first = opening(&["PIPELINING"]);
    first.extend([
        expect("MAIL FROM:"),
        expect("RCPT TO:<smtpx-probe-"),
        expect("RCPT TO:<a1@t.test>"),
        expect("RCPT TO:<a2@t.test>"),
        expect("RCPT TO:<a3@t.test>"),
        send("250 OK\r\n550 5.1.1 no\r\n250 OK\r\n"),
        Step::Reset,
    ]);
    let mut second = opening(&["PIPELINING"]);
    second.extend([
        expect("MAIL FROM:"),
        expect("RCPT TO:<a2@t.test>"),
        expect("RCPT TO:<a3@t.test>"),
        send("250 OK\r\n550 5.1.1 no\r\n"),
        Step::Reset,
    ]);
    let server = ScriptedServer::start_many(vec![first, second]);
    let out = scripted(&server, &["a1@t.test", "a2@t.test", "a3@t.test"], &[]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(record.connections, 2);
    assert_eq!(out.code, 7, "{}{}", out.stdout, out.stderr);
    assert_verdicts(
        &out,
        &[
            ("a1@t.test", "deliverable"),
            ("a2@t.test", "undeliverable"),
            ("a3@t.test", "unreachable"),
        ],
    );
}

fn greylisting(second: Option<&str>) -> ScriptedServer {
    let mut first = opening(&["PIPELINING"]);
    first.extend([
        expect("MAIL FROM:"),
        expect("RCPT TO:<smtpx-probe-"),
        expect("RCPT TO:<g@t.test>"),
        expect("RCPT TO:<k@t.test>"),
        send("250 OK\r\n550 5.1.1 no\r\n451 4.7.1 Greylisted, come back later\r\n250 OK\r\n"),
    ]);
    first.extend(quit());
    let mut scripts = vec![first];
    if let Some(reply) = second {
        let mut again = opening(&["PIPELINING"]);
        again.extend([
            expect("MAIL FROM:"),
            expect("RCPT TO:<g@t.test>"),
            send(&format!("250 OK\r\n{reply}\r\n")),
        ]);
        again.extend(quit());
        scripts.push(again);
    }
    ScriptedServer::start_many(scripts)
}

#[test]
fn greylisting_is_temporary_at_once_unless_asked_to_retry() {
    let server = greylisting(None);
    let started = Instant::now();
    let out = scripted(&server, &["g@t.test", "k@t.test"], &[]);
    server.finish().assert_clean();
    assert!(started.elapsed() < Duration::from_secs(10), "no waiting");
    assert_eq!(out.code, 8, "{}{}", out.stdout, out.stderr);
    assert_verdicts(
        &out,
        &[("g@t.test", "temporary"), ("k@t.test", "deliverable")],
    );

    let server = greylisting(Some("250 2.1.5 OK now"));
    let started = Instant::now();
    let out = scripted(
        &server,
        &["g@t.test", "k@t.test"],
        &["--retry-temporary", "1s"],
    );
    let record = server.finish();
    record.assert_clean();
    assert_eq!(record.connections, 2);
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_verdicts(
        &out,
        &[("g@t.test", "deliverable"), ("k@t.test", "deliverable")],
    );
    assert_eq!(out.stdout.matches("g@t.test").count(), 1, "{}", out.stdout);
}

#[test]
fn ctrl_c_prints_what_was_decided_and_the_counts() {
    let mut script = opening(&[]);
    script.extend([
        expect("MAIL FROM:"),
        send("250 OK\r\n"),
        expect("RCPT TO:<smtpx-probe-"),
        send("550 5.1.1 no\r\n"),
        expect("RCPT TO:<a1@t.test>"),
        send("250 OK\r\n"),
        expect("RCPT TO:<a2@t.test>"),
        // No answer: only Ctrl-C ends the run.
        Step::ReadUntilClose,
    ]);
    let server = ScriptedServer::start(script);
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("smtpx"))
        .args(["verify", "--server", &server.server_arg(), "--no-timing"])
        .args(["a1@t.test", "a2@t.test", "a3@t.test"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !seen.contains("a1@t.test") && Instant::now() < deadline {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        seen.push_str(&line);
    }
    assert!(seen.contains("a1@t.test"), "{seen}");
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let status = child.wait().unwrap();
    server.finish();
    assert_eq!(status.code(), Some(130), "{seen}{rest}");
    assert!(
        rest.contains("interrupted: 1 of 3 addresses decided: 1 deliverable"),
        "{seen}{rest}"
    );
}

#[test]
fn arguments_and_input_are_checked_before_connecting() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    for (args, stdin, words) in [
        (vec!["--from", "bad from"], None, "invalid --from"),
        (
            vec![],
            Some(&b"# only a comment\r\n\r\n"[..]),
            "no addresses to verify",
        ),
        (
            vec!["--file", "/nonexistent/list.txt"],
            None,
            "no such file",
        ),
    ] {
        let mut all = vec!["--server", &addr];
        all.extend(args.iter());
        if stdin.is_none() && !args.contains(&"--file") {
            all.push("a@b.test");
        }
        let out = verify(&all, stdin);
        assert_eq!(out.code, 2, "{args:?}: {}{}", out.stdout, out.stderr);
        assert!(out.stderr.contains(words), "{args:?}: {}", out.stderr);
    }
    listener.set_nonblocking(true).unwrap();
    assert!(listener.accept().is_err(), "nothing may connect");
    // Only bad lines: each reported, nothing to ask, exit 7.
    let out = verify(&["--server", &addr, "--", "x", "y@"], None);
    assert_eq!(out.code, 7, "{}", out.stdout);
    assert_eq!(out.verdict("x"), Some("invalid"));
}

/// The peak resident memory of a process, from /proc, while it runs.
fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[test]
fn ten_thousand_lines_stream_in_bounded_memory() {
    let opts = AiosmtpdOptions::new()
        .policy(json!({"*": "550 5.1.1 No such user", "@d0.test": "250 OK"}))
        .pipelining();
    let Some(server) = Aiosmtpd::start(opts) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("list.txt");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut valid = 0;
    for i in 0..10_000 {
        match i % 10 {
            0 => writeln!(file, "# comment {i}\r").unwrap(),
            1 => writeln!(file, "junk line {i} <>\r").unwrap(),
            2 => writeln!(file).unwrap(),
            _ => {
                valid += 1;
                writeln!(file, "user{i}@d{}.test\r", i % 7).unwrap();
            }
        }
    }
    file.flush().unwrap();
    drop(file);
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("smtpx"))
        .args([
            "verify",
            "--server",
            &server.server_arg(),
            "--format",
            "csv",
        ])
        .arg("--file")
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let stdout = child.stdout.take().unwrap();
    let started = Instant::now();
    let reader = std::thread::spawn(move || {
        let mut rows = 0;
        let mut first_verdict_at = None;
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            rows += 1;
            if line.contains(",undeliverable,") || line.contains(",deliverable,") {
                first_verdict_at.get_or_insert_with(Instant::now);
            }
        }
        (rows, first_verdict_at)
    });
    let mut peak = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        if let Some(kib) = peak_kib(pid) {
            peak = peak.max(kib);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let status = child.wait().unwrap();
    let ended = Instant::now();
    let (rows, first_verdict_at) = reader.join().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(7), "{stderr}");
    // A header, one row per address and one per junk line.
    assert_eq!(rows, 1 + valid + 1000, "{stderr}");
    // Seven domains, one session each, one after another: the first domain's rows
    // must come out long before the last domain is done.
    let halfway = started + (ended - started) / 2;
    assert!(
        first_verdict_at.is_some_and(|t| t < halfway),
        "rows are written as they are decided, not at the end"
    );
    assert!(peak > 0, "VmHWM was never read");
    assert!(peak < 64 * 1024, "peak RSS {peak} KiB");
    assert!(stderr.contains("1000 invalid"), "{stderr}");
}
