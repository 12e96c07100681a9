//! The testing switches swaks users reach for (issue 15): `--add-header`,
//! `--attach-name`/`--attach-type`, checked against real servers and the scripted one.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::content::{file_with, path};
use crate::support::peers::{Aiosmtpd, AiosmtpdOptions};
use crate::support::run::Smtpx;

/// A message as Python's `email` package reads it: a parser that is not ours. Gives
/// the top-level headers in order and, per MIME leaf part, its content type, file name
/// and Content-Disposition.
fn parse_mime(message: &[u8]) -> Value {
    const SCRIPT: &str = r#"
import email, email.policy, json, sys
m = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.compat32)
parts = []
for p in m.walk():
    if p.is_multipart():
        continue
    parts.append({
        "type": p.get_content_type(),
        "filename": p.get_filename(),
        "disposition": p.get("Content-Disposition"),
        "payload": (p.get_payload(decode=True) or b"").decode("latin-1"),
    })
print(json.dumps({"headers": [[k, str(v)] for k, v in m.items()], "parts": parts}))
"#;
    let mut child = Command::new("/usr/bin/python3")
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run /usr/bin/python3");
    child.stdin.take().unwrap().write_all(message).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "python could not parse the message");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn header_values(parsed: &Value, name: &str) -> Vec<String> {
    parsed["headers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h[0].as_str().unwrap().eq_ignore_ascii_case(name))
        .map(|h| h[1].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn add_header_arrives_next_to_the_generated_one() {
    let Some(server) = Aiosmtpd::start(AiosmtpdOptions::new()) else {
        return;
    };
    let out = Smtpx::send()
        .args(&[
            "--server",
            &server.server_arg(),
            "--from",
            "me@example.org",
            "--to",
            "you@example.org",
            "--subject",
            "generated",
            "--header",
            "X-Replaced: by --header",
            "--add-header",
            "Subject: added too",
            "--add-header",
            "X-Replaced: added",
            "--add-header",
            "Date: Thu, 01 Jan 1970 00:00:00 +0000",
            "--add-header",
            "X-Trace: one",
            "--add-header",
            "X-Trace: two",
        ])
        .run();
    assert_eq!(out.code, 0, "{out}");
    let m = &server.wait_messages(1, Duration::from_secs(10))[0];
    let parsed = parse_mime(&m.content);
    assert_eq!(
        header_values(&parsed, "Subject"),
        ["generated", "added too"]
    );
    assert_eq!(
        header_values(&parsed, "X-Replaced"),
        ["by --header", "added"]
    );
    assert_eq!(header_values(&parsed, "X-Trace"), ["one", "two"]);
    let dates = header_values(&parsed, "Date");
    assert_eq!(dates.len(), 2, "{dates:?}");
    assert_eq!(dates[1], "Thu, 01 Jan 1970 00:00:00 +0000");
    assert_eq!(header_values(&parsed, "Message-ID").len(), 1);
    assert_eq!(header_values(&parsed, "To"), ["<you@example.org>"]);
}

#[test]
fn add_header_injection_is_a_usage_error() {
    for bad in [
        "X-A: b\r\nBcc: evil@example.org",
        "X-A: b\nBcc: x",
        "No colon",
        "Bad Name: x",
    ] {
        let out = Smtpx::send()
            .args(&[
                "-s",
                "127.0.0.1:9",
                "--to",
                "you@example.org",
                "--add-header",
                bad,
            ])
            .run();
        assert_eq!(out.code, 2, "{bad:?}: {out}");
        assert!(out.stderr.contains("invalid --add-header"), "{out}");
        assert!(!out.stderr.contains("Connecting"), "{out}");
    }
}

#[test]
fn attach_name_and_type_follow_swaks_rules() {
    let Some(server) = Aiosmtpd::start(AiosmtpdOptions::new()) else {
        return;
    };
    let a = file_with(b"first file");
    let b = file_with(b"second file");
    let c = file_with(b"third file");
    let out = Smtpx::send()
        .args(&[
            "--server",
            &server.server_arg(),
            "--from",
            "me@example.org",
            "--to",
            "you@example.org",
            // A name applies to the next --attach only; its type follows the name.
            "--attach-name",
            "report.pdf",
            "--attach",
            &path(&a),
            // A type applies to every --attach after it.
            "--attach-type",
            "Text/X-Log",
            "--attach-name",
            "--attach",
            &path(&b),
            "--attach",
            &path(&c),
        ])
        .run();
    assert_eq!(out.code, 0, "{out}");
    let m = &server.wait_messages(1, Duration::from_secs(10))[0];
    let parsed = parse_mime(&m.content);
    let parts = parsed["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 4, "{parsed}");
    assert_eq!(parts[0]["type"], "text/plain");
    assert_eq!(parts[1]["type"], "application/pdf");
    assert_eq!(parts[1]["filename"], "report.pdf");
    assert_eq!(parts[1]["payload"], "first file");
    assert_eq!(parts[2]["type"], "text/x-log");
    assert_eq!(
        parts[2]["filename"],
        Value::Null,
        "--attach-name without a name"
    );
    assert_eq!(parts[2]["disposition"], "attachment");
    assert_eq!(parts[2]["payload"], "second file");
    let own_name = std::path::Path::new(&path(&c))
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert_eq!(parts[3]["type"], "text/x-log");
    assert_eq!(parts[3]["filename"], own_name.as_str());
    assert_eq!(parts[3]["payload"], "third file");
}

#[test]
fn attach_name_or_type_with_nothing_to_apply_to_is_a_usage_error() {
    let a = file_with(b"x");
    let a = path(&a);
    for (args, words) in [
        (vec!["--attach", &a, "--attach-name", "x.pdf"], "none does"),
        (
            vec!["--attach", &a, "--attach-type", "text/plain"],
            "none does",
        ),
        (
            vec!["--attach-type", "pdf", "--attach", &a],
            "not a MIME type",
        ),
        (
            vec!["--attach-type", "text/plain\r\nBcc: x", "--attach", &a],
            "not a MIME type",
        ),
        (
            vec!["--attach-name", "a\r\nBcc: x", "--attach", &a],
            "control character",
        ),
        (
            vec!["--attach-name", "../x", "--attach", &a],
            "path separator",
        ),
    ] {
        let out = Smtpx::send()
            .args(&["-s", "127.0.0.1:9", "--to", "you@example.org"])
            .args(&args)
            .run();
        assert_eq!(out.code, 2, "{args:?}: {out}");
        assert!(out.stderr.contains(words), "{args:?}: {out}");
    }
}
