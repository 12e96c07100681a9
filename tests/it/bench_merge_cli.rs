//! `smtpx bench merge` against reports of real runs on `smtpx serve` (a deterministic
//! server: the same recipients are refused with the same codes every run): two runs of
//! N merged count exactly what one run of 2N counts, and the merged histograms are the
//! inputs' histograms added, read by HdrHistogram's own deserialiser.

use std::path::Path;

use base64::Engine;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::Deserializer;
use serde_json::Value;

use crate::support::peers::SmtpSink;
use crate::support::run::{Out, Smtpx};
use crate::support::serve::Serve;

/// A fixed message, so every run's content bytes are the same (generated headers carry
/// a Date and Message-ID whose length varies).
const MESSAGE: &str = "From: <bench@example.test>\r\nSubject: merge\r\n\r\nsame every time\r\n";

/// Of every four recipients, one is refused for good and one for now. Runs reconnect
/// every 8 messages (`--per-session`), well before the server's limit of refused
/// commands in one session, which would make the counts depend on which session got
/// which recipient.
fn server() -> Serve {
    Serve::start(&[
        "--reply-rcpt",
        "user2@example.test=550 5.1.1 no such user",
        "--reply-rcpt",
        "user3@example.test=450 4.2.1 try later",
    ])
}

fn bench(server: &str, data: &Path, messages: &str, sessions: &str, extra: &[&str]) -> Out {
    Smtpx::new()
        .arg("bench")
        .args(&[
            "--server",
            server,
            "--timeout",
            "30s",
            "--tls",
            "none",
            "-n",
            messages,
            "-c",
            sessions,
            "--to",
            "user{n%4}@example.test",
            "--per-session",
            "8",
            "--data",
            data.to_str().unwrap(),
            "--json",
        ])
        .args(extra)
        .run()
}

fn report(out: &Out) -> Value {
    out.json()
        .into_iter()
        .find(|v| v["type"] == "bench")
        .unwrap_or_else(|| panic!("no bench object in\n{out}"))
}

fn merge(args: &[&str], stdin: &str) -> Out {
    Smtpx::new()
        .args(&["bench", "merge"])
        .args(args)
        .stdin(stdin.as_bytes().to_vec())
        .run()
}

/// Decoded with HdrHistogram's deserialiser, not smtpx's reader.
fn histogram(report: &Value, step: &str) -> Histogram<u64> {
    let text = report["latency_histograms"][step]
        .as_str()
        .unwrap_or_else(|| panic!("no {step} histogram in {report}"));
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap();
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .unwrap()
}

/// Everything one run that did all the work would count the same.
fn counts(r: &Value) -> Value {
    serde_json::json!({
        "messages": r["messages"],
        "rejected": r["rejected"],
        "failed": r["failed"],
        "recipients": r["recipients"],
        "opened": r["sessions"]["opened"],
        "session_failures": r["sessions"]["failed"],
        "pipelining": r["sessions"]["pipelining"],
        "content_bytes": r["content_bytes"],
        "stopped": r["stopped"],
        "request_messages": r["request"]["messages"],
        "transactions": r["latency_ms"]["transaction"]["count"],
    })
}

#[test]
fn two_merged_runs_of_n_count_exactly_what_one_run_of_2n_counts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("m.eml");
    std::fs::write(&data, MESSAGE).unwrap();
    let server = server();
    // One session each, so the reconnections (every 8 messages) fall the same way
    // whichever session is quicker.
    let whole = bench(&server.server_arg(), &data, "80", "1", &[]);
    let a = bench(&server.server_arg(), &data, "40", "1", &[]);
    let b = bench(&server.server_arg(), &data, "40", "1", &[]);
    assert_eq!(whole.code, 7, "a 550 among them\n{whole}");
    let (whole, ra, rb) = (report(&whole), report(&a), report(&b));
    assert_eq!(whole["messages"]["accepted"], 40, "{whole}");
    let files: Vec<String> = [&a, &b]
        .iter()
        .enumerate()
        .map(|(i, out)| {
            let path = dir.path().join(format!("run{i}.json"));
            std::fs::write(&path, &out.stdout).unwrap();
            path.to_str().unwrap().to_string()
        })
        .collect();
    let out = merge(&[&files[0], &files[1], "--json"], "");
    assert_eq!(out.code, 7, "the exit code the one run had\n{out}");
    let merged = report(&out);
    assert_eq!(counts(&merged), counts(&whole));
    assert_eq!(merged["runs"], 2);
    assert_eq!(
        merged["request"]["sessions"], 2,
        "each run's sessions add up"
    );
    assert_eq!(
        merged["rejected"],
        serde_json::json!([
            {"phase": "rcpt", "code": 450, "messages": 20},
            {"phase": "rcpt", "code": 550, "messages": 20},
        ])
    );
    for step in ["connect", "greeting", "ehlo", "transaction"] {
        let mut by_hand = histogram(&ra, step);
        by_hand.add(histogram(&rb, step)).unwrap();
        let got = histogram(&merged, step);
        assert!(got == by_hand, "{step}: the merged histogram is the sum");
        assert_eq!(got.len(), histogram(&whole, step).len(), "{step}");
        let ms = |us: u64| serde_json::json!(us as f64 / 1000.0);
        let l = &merged["latency_ms"][step];
        assert_eq!(l["p50"], ms(by_hand.value_at_quantile(0.5)), "{step}");
        assert_eq!(l["p99"], ms(by_hand.value_at_quantile(0.99)), "{step}");
        assert_eq!(l["max"], ms(by_hand.max()), "{step}");
    }
    // Throughput over the span of both runs.
    let start = |r: &Value| r["started_at"].as_str().unwrap().to_string();
    let end = |r: &Value| r["ended_at"].as_str().unwrap().to_string();
    assert_eq!(start(&merged), start(&ra).min(start(&rb)));
    assert_eq!(end(&merged), end(&ra).max(end(&rb)));

    // A merged report merges again, from stdin, as one more run.
    let nested = merge(&["-", &files[0], "--json"], &out.stdout);
    assert_eq!(nested.code, 7, "{nested}");
    let nested = report(&nested);
    assert_eq!(nested["runs"], 3);
    assert_eq!(nested["messages"]["started"], 120);
    let mut by_hand = histogram(&merged, "transaction");
    by_hand.add(histogram(&ra, "transaction")).unwrap();
    assert!(histogram(&nested, "transaction") == by_hand);

    // For people: the same counts, and how many runs.
    let text = merge(&[&files[0], &files[1]], "");
    assert_eq!(text.code, 7, "{text}");
    assert!(
        text.stdout.contains(
            "messages       80 started: 40 accepted, 40 rejected, 0 failed; 0 not started"
        ),
        "{text}"
    );
    assert!(text.stdout.contains("\nmerged         2 runs\n"), "{text}");
    assert!(
        text.stdout.contains("(earliest start to latest end)"),
        "{text}"
    );
}

/// The same against Postfix's smtp-sink, which accepts everything.
#[test]
fn merged_runs_against_smtp_sink_add_up_exactly() {
    let Some(sink) = SmtpSink::start(&[]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("m.eml");
    std::fs::write(&data, MESSAGE).unwrap();
    let server = sink.server_arg();
    let whole = bench(&server, &data, "64", "1", &[]);
    let a = bench(&server, &data, "32", "1", &[]);
    let b = bench(&server, &data, "32", "1", &[]);
    assert_eq!(whole.code, 0, "{whole}");
    let out = merge(&["-", "--json"], &format!("{}{}", a.stdout, b.stdout));
    assert_eq!(out.code, 0, "{out}");
    let (whole, merged) = (report(&whole), report(&out));
    assert_eq!(counts(&merged), counts(&whole));
    assert_eq!(merged["messages"]["accepted"], 64);
    for step in ["connect", "greeting", "ehlo", "transaction"] {
        let mut by_hand = histogram(&report(&a), step);
        by_hand.add(histogram(&report(&b), step)).unwrap();
        assert!(histogram(&merged, step) == by_hand, "{step}");
    }
}

#[test]
fn reports_of_different_servers_are_refused_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("m.eml");
    std::fs::write(&data, MESSAGE).unwrap();
    let (one, two) = (server(), server());
    let a = bench(&one.server_arg(), &data, "4", "1", &[]);
    let b = bench(&two.server_arg(), &data, "4", "1", &["--rcpts", "2"]);
    let both = format!("{}{}", a.stdout, b.stdout);
    let out = merge(&["-"], &both);
    assert_eq!(out.code, 2, "{out}");
    assert_eq!(out.stderr.lines().count(), 1, "{out}");
    assert!(
        out.stderr.contains(&format!(
            "server differs ({} vs {}); recipients per message differs (1 vs 2)",
            one.server_arg(),
            two.server_arg()
        )),
        "{out}"
    );
    assert!(out.stderr.contains("--force"), "{out}");
    assert!(out.stdout.is_empty(), "nothing merged: {out}");
    let forced = merge(&["-", "--force", "--json"], &both);
    assert_eq!(forced.code, 7, "{forced}");
    let r = report(&forced);
    assert_eq!(r["messages"]["started"], 8);
    assert_eq!(r["forced"].as_array().map(Vec::len), Some(2), "{r}");
    assert!(
        r["notes"][0]
            .as_str()
            .unwrap()
            .starts_with("merged with --force")
    );
}

#[test]
fn reports_without_timing_merge_their_counts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("m.eml");
    std::fs::write(&data, MESSAGE).unwrap();
    let server = server();
    let a = bench(&server.server_arg(), &data, "4", "1", &["--no-timing"]);
    let b = bench(&server.server_arg(), &data, "4", "1", &[]);
    assert!(report(&a).get("latency_histograms").is_none());
    let out = merge(&["-"], &format!("{}{}", a.stdout, b.stdout));
    assert_eq!(out.code, 7, "{out}");
    assert!(out.stdout.contains("messages       8 started"), "{out}");
    assert!(
        out.stdout
            .contains("timing         unknown: a report merged here was made with --no-timing"),
        "{out}"
    );
    assert!(!out.stdout.contains("latency"), "{out}");
    assert_eq!(
        out.outcome(),
        "partially accepted: 4 of 8 messages accepted; 4 rejected, 0 failed",
        "no time: the runs' span is unknown\n{out}"
    );
}

#[test]
fn what_is_not_a_report_is_exit_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{\"type\": \"result\"}\n").unwrap();
    let junk = junk.to_str().unwrap();
    for (args, stdin, want) in [
        (
            vec!["/nonexistent/r.json"],
            "",
            "/nonexistent/r.json: no such file",
        ),
        (vec![junk], "", "junk.json: no bench report in it"),
        (vec!["-"], "not json", "stdin: not JSON"),
        (vec!["-", "-"], "", "- (stdin) is named more than once"),
        (
            vec!["-"],
            "{\"type\": \"bench\", \"server\": \"x\"}",
            "stdin: bench report 1: missing field",
        ),
    ] {
        let out = merge(&args, stdin);
        assert_eq!(out.code, 2, "{args:?}\n{out}");
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}\n{out}");
        assert!(out.stderr.contains(want), "{args:?}\n{out}");
        let mut json_args = args.clone();
        json_args.push("--json");
        let out = merge(&json_args, stdin);
        assert_eq!(out.result()["exit_code"], 2, "{out}");
    }
    let out = Smtpx::new()
        .args(&["bench", "-s", "127.0.0.1:1", "merge", junk])
        .run();
    assert_eq!(out.code, 2, "load flags do not go with merge\n{out}");
}
