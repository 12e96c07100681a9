//! `smtpx bench` against real servers on loopback: Postfix's smtp-sink (exact counts,
//! refused recipients, reconnects, time and rate bounds, memory) and aiosmtpd (TLS,
//! AUTH, per-recipient policy), plus the wire shape of pipelined transactions against
//! the scripted server.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::certs::{CertKind, TestPki};
use crate::support::peers::{Aiosmtpd, AiosmtpdOptions, SmtpSink};
use crate::support::scripted::{
    ScriptedServer, Step, expect, fin_wait_options, greeting_ehlo, quit_reply_after_fin, send,
};

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl std::fmt::Display for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}\n{}{}", self.code, self.stdout, self.stderr)
    }
}

impl Out {
    /// The `"type": "bench"` object of `--json`.
    fn report(&self) -> Value {
        self.json_line("bench")
    }

    fn result(&self) -> Value {
        self.json_line("result")
    }

    fn json_line(&self, kind: &str) -> Value {
        self.stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| v["type"] == kind)
            .unwrap_or_else(|| panic!("no {kind} object in:\n{self}"))
    }
}

/// Every run has a hard `--timeout`, and the test process a wall-clock limit, so no
/// load loop here can run away.
fn bench(server: &str, args: &[&str], env: &[(&str, &str)]) -> Out {
    let mut cmd = assert_cmd::Command::cargo_bin("smtpx").unwrap();
    cmd.arg("bench")
        .args(["--server", server, "--timeout", "60s"])
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.timeout(Duration::from_secs(90)).output().unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn counters(report: &Value) -> (u64, u64, u64, u64) {
    let m = &report["messages"];
    let n = |k: &str| m[k].as_u64().unwrap();
    (n("started"), n("accepted"), n("rejected"), n("failed"))
}

/// smtp-sink's `-c` counters once they stop changing: (sessions, messages).
fn sink_counts(sink: &SmtpSink, want_messages: u64) -> (u64, u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = sink.output();
        let last = out.rsplit('\r').find(|s| s.contains("mesg=")).unwrap_or("");
        let field = |name: &str| -> u64 {
            last.split_whitespace()
                .find_map(|w| w.strip_prefix(name))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        let (sess, quit, mesg) = (field("sess="), field("quit="), field("mesg="));
        if (mesg >= want_messages && quit == sess) || Instant::now() >= deadline {
            return (sess, mesg);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn counts_are_exact_against_smtp_sink() {
    let Some(sink) = SmtpSink::start(&["-c"]) else {
        return;
    };
    let out = bench(&sink.server_arg(), &["-n", "200", "-c", "4", "--json"], &[]);
    assert_eq!(out.code, 0, "{out}");
    let r = out.report();
    assert_eq!(counters(&r), (200, 200, 0, 0), "{out}");
    assert_eq!(r["messages"]["not_started"], 0);
    assert_eq!(r["recipients"]["accepted"], 200);
    assert_eq!(r["sessions"]["opened"], 4);
    assert_eq!(
        r["sessions"]["pipelining"], 4,
        "smtp-sink offers PIPELINING"
    );
    assert_eq!(
        r["sessions"]["dot_pipelining_refused"], false,
        "smtp-sink takes commands after the dot: content rides with the next envelope"
    );
    assert_eq!(r["stopped"], "count");
    assert_eq!(sink_counts(&sink, 200), (4, 200));
    let result = out.result();
    assert_eq!(result["exit_code"], 0);
    assert_eq!(result["message"], "200 of 200 messages accepted");
}

#[test]
fn per_session_reconnects_and_rcpts_multiply() {
    let Some(sink) = SmtpSink::start(&["-c"]) else {
        return;
    };
    let out = bench(
        &sink.server_arg(),
        &[
            "-n",
            "60",
            "-c",
            "2",
            "--per-session",
            "7",
            "--rcpts",
            "3",
            "--json",
        ],
        &[],
    );
    assert_eq!(out.code, 0, "{out}");
    let r = out.report();
    assert_eq!(counters(&r), (60, 60, 0, 0), "{out}");
    assert_eq!(r["recipients"]["accepted"], 180);
    // At most 7 messages a session: at least 9 sessions; the two workers' last
    // sessions may each be short.
    let opened = r["sessions"]["opened"].as_u64().unwrap();
    assert!((9..=11).contains(&opened), "{opened} sessions\n{out}");
    assert_eq!(sink_counts(&sink, 60), (opened, 60));
}

#[test]
fn soft_refused_recipients_are_counted_by_code() {
    // -r RCPT: every RCPT gets 450 (and smtp-sink stops offering PIPELINING, so this
    // also runs the one-command-at-a-time path).
    let Some(sink) = SmtpSink::start(&["-c", "-r", "RCPT"]) else {
        return;
    };
    let out = bench(&sink.server_arg(), &["-n", "40", "-c", "2", "--json"], &[]);
    assert_eq!(out.code, 8, "{out}");
    let r = out.report();
    assert_eq!(counters(&r), (40, 0, 40, 0), "{out}");
    assert_eq!(
        r["rejected"],
        json!([{"phase": "rcpt", "code": 450, "messages": 40}])
    );
    assert_eq!(
        r["recipients"]["refused"],
        json!([{"code": 450, "recipients": 40}])
    );
    assert_eq!(r["sessions"]["pipelining"], 0);
    assert_eq!(sink_counts(&sink, 0).1, 0, "nothing was stored");
}

#[test]
fn hard_refusals_are_exit_7_and_text_shows_them() {
    let Some(sink) = SmtpSink::start(&["-c", "-f", "RCPT"]) else {
        return;
    };
    let out = bench(
        &sink.server_arg(),
        &["-n", "25", "-c", "3", "--no-timing"],
        &[],
    );
    assert_eq!(out.code, 7, "{out}");
    assert!(
        out.stdout.contains(
            "messages       25 started: 0 accepted, 25 rejected, 0 failed; 0 not started"
        ),
        "{out}"
    );
    assert!(out.stdout.contains("  rejected     rcpt 500: 25"), "{out}");
    assert!(
        out.stdout
            .contains("rejected: 0 of 25 messages accepted; 25 rejected, 0 failed"),
        "{out}"
    );
    assert!(
        !out.stdout.contains("latency"),
        "--no-timing hides latencies\n{out}"
    );
    // A refused final dot is counted at its own step.
    let Some(dot) = SmtpSink::start(&["-c", "-f", "."]) else {
        return;
    };
    let out = bench(&dot.server_arg(), &["-n", "10", "--json"], &[]);
    assert_eq!(out.code, 7, "{out}");
    assert_eq!(
        out.report()["rejected"],
        json!([{"phase": "final-dot", "code": 500, "messages": 10}])
    );
}

#[test]
fn a_421_mid_session_reconnects_and_every_message_is_accounted_for() {
    // smtp-sink answers 421 and hangs up at every DATA: each session carries one
    // message, which is rejected with 421; the next message needs a new session.
    let Some(sink) = SmtpSink::start(&["-c", "-Q", "DATA"]) else {
        return;
    };
    let out = bench(&sink.server_arg(), &["-n", "12", "-c", "2", "--json"], &[]);
    assert_eq!(out.code, 8, "{out}");
    let r = out.report();
    assert_eq!(counters(&r), (12, 0, 12, 0), "{out}");
    assert_eq!(
        r["rejected"],
        json!([{"phase": "data", "code": 421, "messages": 12}])
    );
    assert_eq!(r["sessions"]["opened"], 12, "{out}");
}

#[test]
fn recipients_refused_by_policy_partly_or_wholly() {
    let policy = json!({"u2@example.test": "550 5.1.1 No such user", "*": "250 OK"});
    let Some(server) = Aiosmtpd::start(AiosmtpdOptions::new().policy(policy)) else {
        return;
    };
    // Two recipients a message, u1 and u2: every message goes to u1 only.
    let out = bench(
        &server.server_arg(),
        &[
            "-n",
            "6",
            "--rcpts",
            "2",
            "--to",
            "u{n%2}@example.test",
            "--json",
        ],
        &[],
    );
    assert_eq!(
        out.code, 0,
        "a message accepted for some recipients is accepted\n{out}"
    );
    let r = out.report();
    assert_eq!(counters(&r), (6, 6, 0, 0));
    assert_eq!(r["recipients"]["accepted"], 6);
    assert_eq!(
        r["recipients"]["refused"],
        json!([{"code": 550, "recipients": 6}])
    );
    // One recipient a message, alternating: exactly half the messages are refused.
    let out = bench(
        &server.server_arg(),
        &[
            "-n",
            "10",
            "-c",
            "2",
            "--to",
            "u{n%2}@example.test",
            "--json",
        ],
        &[],
    );
    assert_eq!(out.code, 7, "{out}");
    assert_eq!(counters(&out.report()), (10, 5, 5, 0), "{out}");
    assert_eq!(server.wait_messages(11, Duration::from_secs(10)).len(), 11);
}

#[test]
fn duration_stops_the_run() {
    let Some(sink) = SmtpSink::start(&[]) else {
        return;
    };
    let t0 = Instant::now();
    let out = bench(
        &sink.server_arg(),
        &["-n", "10000000", "-c", "2", "--duration", "1s", "--json"],
        &[],
    );
    let took = t0.elapsed();
    assert_eq!(out.code, 0, "{out}");
    let r = out.report();
    assert_eq!(r["stopped"], "duration", "{out}");
    let (started, accepted, _, _) = counters(&r);
    assert!(started > 0 && started < 10_000_000, "{out}");
    assert_eq!(accepted, started, "in-flight messages finished\n{out}");
    assert!(took < Duration::from_secs(20), "{took:?}");
}

#[test]
fn rate_caps_the_messages_started() {
    let Some(sink) = SmtpSink::start(&[]) else {
        return;
    };
    // 20/s for one second: slots at 0, 50 ms, ..., 950 ms, so 20 messages (21 at most
    // if the last slot and the end coincide). Allow slack above, none for a runaway.
    let out = bench(
        &sink.server_arg(),
        &[
            "-n",
            "1000",
            "-c",
            "4",
            "--rate",
            "20/s",
            "--duration",
            "1s",
            "--json",
        ],
        &[],
    );
    assert_eq!(out.code, 0, "{out}");
    let (started, accepted, _, _) = counters(&out.report());
    assert!(started <= 25, "{started} started\n{out}");
    assert!(started >= 5, "{started} started\n{out}");
    assert_eq!(accepted, started);
}

#[test]
fn starttls_and_auth_against_aiosmtpd() {
    let pki = TestPki::new();
    let (cert, key) = pki.leaf_pem(CertKind::Valid);
    let ca = pki.ca_pem_path.display().to_string();
    let opts = AiosmtpdOptions::new()
        .require_starttls(&cert, &key)
        .auth("tim", "tanstaaf")
        .auth_require_tls()
        .auth_required();
    let Some(server) = Aiosmtpd::start(opts) else {
        return;
    };
    let tls = [
        "--tls",
        "starttls",
        "--tls-ca",
        ca.as_str(),
        "--tls-server-name",
        "localhost",
    ];
    let mut args = vec!["-n", "12", "-c", "2", "--per-session", "4", "--json"];
    args.extend(tls);
    args.extend(["--user", "tim", "--password-env", "PW"]);
    let out = bench(&server.server_arg(), &args, &[("PW", "tanstaaf")]);
    assert_eq!(out.code, 0, "{out}");
    let r = out.report();
    assert_eq!(counters(&r), (12, 12, 0, 0), "{out}");
    // Four messages a session over two workers: three sessions, or four when both
    // workers share the last four messages.
    let sessions = r["sessions"]["opened"].as_u64().unwrap();
    assert!((3..=4).contains(&sessions), "{out}");
    assert_eq!(r["sessions"]["tls"], sessions);
    assert_eq!(r["latency_ms"]["tls-handshake"]["count"], sessions);
    assert_eq!(r["latency_ms"]["auth"]["count"], sessions);
    assert_eq!(
        r["latency_ms"]["ehlo"]["count"],
        2 * sessions,
        "before and after TLS"
    );
    assert!(!out.stdout.contains("tanstaaf"));
    let stored = server.wait_messages(12, Duration::from_secs(10));
    assert_eq!(stored.len(), 12);
    assert!(stored.iter().all(|m| m.tls && m.authenticated));

    // A wrong password stops the run at once: no session retries it.
    let out = bench(&server.server_arg(), &args, &[("PW", "wrong")]);
    assert_eq!(out.code, 6, "{out}");
    let r = out.report();
    assert_eq!(counters(&r), (0, 0, 0, 0), "{out}");
    assert_eq!(r["sessions"]["failed"][0]["phase"], "auth");
    assert!(r["sessions"]["failed"][0]["sessions"].as_u64().unwrap() <= 2);
    assert_eq!(r["stopped"], "sessions");
    assert_eq!(server.messages().len(), 12);
}

#[test]
fn a_server_that_is_not_there_is_exit_4() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = bench(
        &format!("127.0.0.1:{port}"),
        &["-n", "5", "-c", "2", "--json"],
        &[],
    );
    assert_eq!(out.code, 4, "{out}");
    let r = out.report();
    assert_eq!(counters(&r), (0, 0, 0, 0));
    assert_eq!(r["messages"]["not_started"], 5);
    assert_eq!(r["sessions"]["failed"][0]["phase"], "connect");
    assert_eq!(r["stopped"], "sessions");
}

#[test]
fn json_report_shape() {
    let Some(sink) = SmtpSink::start(&[]) else {
        return;
    };
    let out = bench(
        &sink.server_arg(),
        &["-n", "20", "--size", "2k", "--json"],
        &[],
    );
    assert_eq!(out.code, 0, "{out}");
    let lines: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "one report, one result\n{out}");
    let r = &lines[0];
    for key in [
        "server",
        "request",
        "stopped",
        "messages",
        "rejected",
        "failed",
        "recipients",
        "sessions",
        "content_bytes",
        "elapsed_ms",
        "messages_per_s",
        "mb_per_s",
        "latency_ms",
    ] {
        assert!(r.get(key).is_some(), "{key} missing in {r}");
    }
    assert_eq!(r["request"]["body_bytes"], 2048);
    for step in ["connect", "greeting", "ehlo", "transaction"] {
        let l = &r["latency_ms"][step];
        for k in ["count", "p50", "p90", "p99", "max"] {
            assert!(l[k].is_number(), "{step}.{k} in {l}");
        }
        assert!(l["p50"].as_f64() <= l["max"].as_f64());
    }
    assert_eq!(r["latency_ms"]["transaction"]["count"], 20);
    assert!(r["content_bytes"].as_u64().unwrap() > 20 * 2048);
    assert!(
        out.stderr.is_empty(),
        "no progress bar off a terminal: {:?}",
        out.stderr
    );
    assert_eq!(lines[1]["type"], "result");
}

/// Peak resident memory (KiB) of one run, from GNU time.
fn peak_rss_kib(server: &str, messages: &str) -> Option<u64> {
    if !std::path::Path::new("/usr/bin/time").exists() {
        assert!(std::env::var_os("CI").is_none(), "/usr/bin/time is missing");
        println!("skipped: /usr/bin/time not installed");
        return None;
    }
    let bin = assert_cmd::cargo::cargo_bin("smtpx");
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(bin)
        .args([
            "bench",
            "--server",
            server,
            "--timeout",
            "60s",
            "-c",
            "4",
            "-q",
            "-n",
        ])
        .arg(messages)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    stderr.lines().last()?.trim().parse().ok()
}

#[test]
fn memory_does_not_grow_with_the_number_of_messages() {
    let Some(sink) = SmtpSink::start(&[]) else {
        return;
    };
    let Some(small) = peak_rss_kib(&sink.server_arg(), "2000") else {
        return;
    };
    let Some(large) = peak_rss_kib(&sink.server_arg(), "20000") else {
        return;
    };
    // Ten times the messages; a per-message allocation kept anywhere would show as
    // megabytes. Allow 25% and 2 MiB for allocator noise.
    assert!(
        large <= small + small / 4 + 2048,
        "peak RSS {small} KiB for 2000 messages, {large} KiB for 20000"
    );
}

#[test]
fn message_content_rides_with_the_next_envelope() {
    let mut script = greeting_ehlo(&["PIPELINING"]);
    script.extend([
        expect("MAIL FROM:"),
        expect("RCPT TO:<x1@"),
        expect("DATA"),
        send("250 Ok\r\n250 Ok\r\n354 go\r\n"),
        Step::ExpectData,
        expect("MAIL FROM:"),
        expect("RCPT TO:<x2@"),
        expect("DATA"),
        send("250 Ok: queued as A\r\n250 Ok\r\n250 Ok\r\n354 go\r\n"),
        Step::ExpectData,
        expect("QUIT"),
        send("250 Ok: queued as B\r\n221 Bye\r\n"),
        Step::Close,
    ]);
    let server = ScriptedServer::start(script);
    let out = bench(
        &server.server_arg(),
        &[
            "-n",
            "2",
            "--to",
            "x{n}@example.test",
            "--from",
            "me@example.test",
            "--json",
        ],
        &[],
    );
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    let writes: Vec<String> = record
        .reads
        .iter()
        .map(|r| String::from_utf8_lossy(r).into_owned())
        .collect();
    // EHLO; MAIL+RCPT+DATA; content, dot and the next MAIL+RCPT+DATA; content, dot, QUIT.
    assert_eq!(writes.len(), 4, "{writes:#?}");
    assert_eq!(
        writes[1],
        "MAIL FROM:<me@example.test>\r\nRCPT TO:<x1@example.test>\r\nDATA\r\n"
    );
    assert!(
        writes[2].ends_with(
            "\r\n.\r\nMAIL FROM:<me@example.test>\r\nRCPT TO:<x2@example.test>\r\nDATA\r\n"
        ),
        "{:?}",
        writes[2]
    );
    assert!(writes[3].ends_with("\r\n.\r\nQUIT\r\n"), "{:?}", writes[3]);
    assert_eq!(counters(&out.report()), (2, 2, 0, 0));
}

/// Exim before 4.99 holds its 221 until the client closes (Exim bug 3142). bench's
/// last write ends with QUIT and is followed by a FIN, so the 221 comes at once; the
/// server stops waiting for the close after 5 s, which the record would show as an error.
#[test]
fn quit_is_followed_by_a_fin_so_a_server_waiting_for_it_answers() {
    let mut script = greeting_ehlo(&["PIPELINING"]);
    script.extend([
        expect("MAIL FROM:"),
        expect("RCPT TO:"),
        expect("DATA"),
        send("250 OK\r\n250 Accepted\r\n354 Enter message\r\n"),
        Step::ExpectData,
        expect("QUIT"),
        send("250 OK id=1xZypW-0000m6-2P\r\n"),
    ]);
    script.extend(quit_reply_after_fin());
    let server = ScriptedServer::start_with(fin_wait_options(), vec![script]);
    let out = bench(&server.server_arg(), &["-n", "1", "--json"], &[]);
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(counters(&out.report()), (1, 1, 0, 0));
}

#[test]
fn chunking_sends_each_message_in_one_write() {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), b"Subject: x\r\n\r\nbody\r\n").unwrap();
    let mut script = greeting_ehlo(&["PIPELINING", "CHUNKING"]);
    for id in ["C1", "C2"] {
        script.extend([
            expect("MAIL FROM:"),
            expect("RCPT TO:"),
            expect("BDAT 20 LAST"),
            Step::ExpectBytes(20),
            send(&format!("250 Ok\r\n250 Ok\r\n250 Ok: queued as {id}\r\n")),
        ]);
    }
    script.extend([expect("QUIT"), send("221 Bye\r\n"), Step::Close]);
    let server = ScriptedServer::start(script);
    let out = bench(
        &server.server_arg(),
        &[
            "-n",
            "2",
            "--data",
            &file.path().display().to_string(),
            "--chunking",
            "--json",
        ],
        &[],
    );
    let record = server.finish();
    record.assert_clean();
    assert_eq!(out.code, 0, "{out}");
    let r = out.report();
    assert_eq!(counters(&r), (2, 2, 0, 0));
    assert_eq!(r["sessions"]["chunking"], 1);
    assert_eq!(record.reads.len(), 4, "EHLO, one write per message, QUIT");
}

#[test]
fn bad_input_is_refused_before_connecting() {
    for (args, what) in [
        (&["--to", "a b@example.test"][..], "invalid --to"),
        (&["--to", "u{x}@example.test"], "invalid --to"),
        (&["--rate", "fast"], "invalid --rate"),
        (&["--data", "/nonexistent/message.eml"], "no such file"),
    ] {
        let out = bench("127.0.0.1:9", args, &[]);
        assert_eq!(out.code, 2, "{args:?}: {out}");
        assert!(out.stderr.contains(what), "{args:?}: {out}");
    }
    let mut cmd = assert_cmd::Command::cargo_bin("smtpx").unwrap();
    let out = cmd.args(["bench", "-n", "5"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--server"));
}

#[test]
fn ctrl_c_stops_with_a_partial_report() {
    // DATA is answered only after 10 s: when Ctrl-C comes, both sessions wait for it.
    // After the grace period they are abandoned and counted at the step they waited for.
    let Some(sink) = SmtpSink::start(&["-w", "10"]) else {
        return;
    };
    let child = Command::new(assert_cmd::cargo::cargo_bin("smtpx"))
        .args(["bench", "--server", &sink.server_arg(), "--timeout", "60s"])
        .args(["-n", "100", "-c", "2", "--json"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let t0 = Instant::now();
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let took = t0.elapsed();
    let out = Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_eq!(out.code, 130, "{out}");
    assert!(took < Duration::from_secs(6), "stopped after {took:?}");
    let r = out.report();
    assert_eq!(counters(&r), (2, 0, 0, 2), "{out}");
    assert_eq!(r["stopped"], "interrupted");
    // smtp-sink holds its pipelined MAIL and RCPT replies back with the delayed DATA
    // reply, so the messages are still waiting for MAIL's.
    let phase = r["failed"][0]["phase"].as_str().unwrap();
    assert!(["mail", "data"].contains(&phase), "{out}");
    assert!(
        r["failed"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("abandoned"),
        "{out}"
    );
    assert_eq!(r["messages"]["not_started"], 98);
    assert!(
        out.result()["message"]
            .as_str()
            .unwrap()
            .starts_with("interrupted")
    );
}

#[test]
fn opportunistic_tls_with_an_unknown_certificate_is_counted() {
    let pki = TestPki::new();
    let (cert, key) = pki.leaf_pem(CertKind::Valid);
    let Some(server) = Aiosmtpd::start(AiosmtpdOptions::new().starttls(&cert, &key)) else {
        return;
    };
    // No --tls-ca: the test CA is unknown, and opportunistic TLS goes on encrypted.
    let out = bench(&server.server_arg(), &["-n", "4", "--no-timing"], &[]);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout
            .contains("sessions       1 opened, 0 failed; TLS in 1, certificate not verified in 1"),
        "{out}"
    );
}

/// A server hardened against SMTP smuggling: it takes the final dot (250), then answers
/// `503 5.5.0 pipelined after end of DATA` to every command already read in the same
/// buffer behind it. It records the recipient of every message it accepted.
struct NoPipeliningAfterDot {
    addr: std::net::SocketAddr,
    stored: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    accept: Option<std::thread::JoinHandle<()>>,
}

impl NoPipeliningAfterDot {
    fn start() -> NoPipeliningAfterDot {
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stored = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (s, st) = (stored.clone(), stop.clone());
        let accept = std::thread::spawn(move || {
            let mut sessions = Vec::new();
            // Bounded: the test stops it, and no session outlives its read timeout.
            while !st.load(Ordering::Relaxed) && sessions.len() < 64 {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let s = s.clone();
                        sessions.push(std::thread::spawn(move || Self::session(stream, &s)));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
            for t in sessions {
                let _ = t.join();
            }
        });
        NoPipeliningAfterDot {
            addr,
            stored,
            stop,
            accept: Some(accept),
        }
    }

    fn session(mut stream: std::net::TcpStream, stored: &std::sync::Mutex<Vec<String>>) {
        use std::io::{Read, Write};
        stream.set_nonblocking(false).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let _ = stream.write_all(b"220 hardened ESMTP\r\n");
        let mut buf: Vec<u8> = Vec::new();
        let mut chunk = [0u8; 65536];
        let (mut in_data, mut mail, mut rcpt) = (false, false, None::<String>);
        loop {
            let n = match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            buf.extend_from_slice(&chunk[..n]);
            let mut replies = String::new();
            let mut refusing = false;
            loop {
                if in_data {
                    let Some(end) = buf.windows(5).position(|w| w == b"\r\n.\r\n") else {
                        break;
                    };
                    buf.drain(..end + 5);
                    in_data = false;
                    mail = false;
                    stored.lock().unwrap().push(rcpt.take().unwrap_or_default());
                    replies.push_str("250 2.0.0 Ok: queued\r\n");
                    // What came in the same read as the dot is refused.
                    refusing = !buf.is_empty();
                    continue;
                }
                let Some(nl) = buf.windows(2).position(|w| w == b"\r\n") else {
                    break;
                };
                let line = String::from_utf8_lossy(&buf[..nl]).into_owned();
                buf.drain(..nl + 2);
                let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                let reply = if refusing {
                    "503 5.5.0 pipelined after end of DATA"
                } else {
                    match verb.as_str() {
                        "EHLO" => "250-hardened\r\n250-PIPELINING\r\n250 8BITMIME",
                        "MAIL" => {
                            mail = true;
                            "250 2.1.0 Ok"
                        }
                        "RCPT" if mail => {
                            rcpt = Some(line.clone());
                            "250 2.1.5 Ok"
                        }
                        "RCPT" => "503 5.5.1 Error: need MAIL command",
                        "DATA" if rcpt.is_some() => {
                            in_data = true;
                            "354 End data with <CR><LF>.<CR><LF>"
                        }
                        "DATA" => "554 5.5.1 Error: no valid recipients",
                        "RSET" => {
                            (mail, rcpt) = (false, None);
                            "250 2.0.0 Ok"
                        }
                        "QUIT" => {
                            let _ = stream.write_all(format!("{replies}221 Bye\r\n").as_bytes());
                            return;
                        }
                        _ => "502 5.5.2 Error: command not recognized",
                    }
                };
                replies.push_str(reply);
                replies.push_str("\r\n");
            }
            if !replies.is_empty() && stream.write_all(replies.as_bytes()).is_err() {
                return;
            }
        }
    }

    fn server_arg(&self) -> String {
        self.addr.to_string()
    }

    /// The recipients of the messages it accepted, once every session has ended.
    fn finish(mut self) -> Vec<String> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.accept.take() {
            t.join().unwrap();
        }
        std::mem::take(&mut *self.stored.lock().unwrap())
    }
}

#[test]
fn a_server_refusing_commands_pipelined_after_the_dot_gets_every_message_once() {
    let server = NoPipeliningAfterDot::start();
    let out = bench(
        &server.server_arg(),
        &[
            "-n",
            "200",
            "-c",
            "4",
            "--json",
            "--to",
            "r{n}@example.test",
        ],
        &[],
    );
    let stored = server.finish();
    assert_eq!(out.code, 0, "{out}");
    let r = out.report();
    assert_eq!(counters(&r), (200, 200, 0, 0), "{out}");
    assert_eq!(r["recipients"]["accepted"], 200, "{out}");
    assert_eq!(r["sessions"]["dot_pipelining_refused"], true, "{out}");
    let note = r["notes"][0].as_str().unwrap_or_default();
    assert!(
        note.contains("503 5.5.0 pipelined after end of DATA"),
        "{note:?}"
    );
    assert_eq!(stored.len(), 200, "the server took each message once");
    let distinct: std::collections::BTreeSet<&String> = stored.iter().collect();
    assert_eq!(distinct.len(), 200, "no message was taken twice");
}
