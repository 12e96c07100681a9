//! Hostile clients against `smtpx serve`: each is answered per RFC 5321, the server
//! stays bounded (lines, recipients, sessions, idle time, memory) and keeps serving
//! the next client.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::Duration;

use crate::support::run::{Out, Smtpx};
use crate::support::serve::{Serve, maildir_messages};

fn connect(server: &Serve) -> TcpStream {
    let s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s
}

/// Writes `input` while another thread reads everything the server says.
fn converse(server: &Serve, input: &[u8]) -> String {
    let mut s = connect(server);
    let mut reader = s.try_clone().unwrap();
    let replies = thread::spawn(move || {
        let mut got = Vec::new();
        let _ = reader.read_to_end(&mut got);
        String::from_utf8_lossy(&got).into_owned()
    });
    s.write_all(input).unwrap();
    replies.join().unwrap()
}

/// The code of each reply's last line.
fn codes(replies: &str) -> Vec<String> {
    replies
        .lines()
        .filter(|l| l.as_bytes().get(3) == Some(&b' '))
        .map(|l| l[..3].to_string())
        .collect()
}

/// A normal `smtpx send` still gets through.
fn still_serves(server: &Serve) -> Out {
    let out = Smtpx::send()
        .args(&["--server", &server.server_arg()])
        .args(&[
            "--from",
            "me@example.org",
            "--to",
            "you@example.org",
            "--body",
            "x",
        ])
        .run();
    assert_eq!(out.code, 0, "{out}");
    out
}

fn peak_memory_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

#[test]
fn commands_pipelined_before_the_greeting_are_answered_after_it() {
    let server = Serve::start(&[]);
    let got = converse(&server, b"EHLO early\r\nNOOP\r\nQUIT\r\n");
    assert!(got.starts_with("220 "), "{got}");
    assert_eq!(codes(&got), ["220", "250", "250", "221"], "{got}");
    still_serves(&server);
}

#[test]
fn a_100_kb_line_is_refused_and_a_10_mb_one_does_not_grow_the_server() {
    let server = Serve::start(&[]);
    let mut input = b"EHLO ".to_vec();
    input.extend(std::iter::repeat_n(b'a', 100 * 1024));
    input.extend_from_slice(b"\r\nNOOP\r\nQUIT\r\n");
    let got = converse(&server, &input);
    assert_eq!(codes(&got), ["220", "500", "250", "221"], "{got}");
    assert!(got.contains("500 5.5.2 Line too long"), "{got}");

    let before = peak_memory_kb(server.pid());
    let mut input = b"NOOP ".to_vec();
    input.extend(std::iter::repeat_n(b'b', 10 * 1024 * 1024));
    input.extend_from_slice(b"\r\nQUIT\r\n");
    let got = converse(&server, &input);
    assert_eq!(codes(&got), ["220", "500", "221"], "{got}");
    let after = peak_memory_kb(server.pid());
    assert!(
        after < before + 4 * 1024,
        "peak memory grew from {before} to {after} kB"
    );
    still_serves(&server);
}

#[test]
fn ten_thousand_recipients_get_452_beyond_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("md");
    let server = Serve::start(&["--maildir", maildir.to_str().unwrap()]);
    let mut input = b"EHLO c\r\nMAIL FROM:<a@b.example>\r\n".to_vec();
    for i in 0..10_000 {
        input.extend_from_slice(format!("RCPT TO:<r{i}@d.example>\r\n").as_bytes());
    }
    input.extend_from_slice(b"DATA\r\nSubject: many\r\n\r\nx\r\n.\r\nQUIT\r\n");
    let got = converse(&server, &input);
    let codes = codes(&got);
    assert_eq!(codes.len(), 10_000 + 6, "{}", &got[..200]);
    assert_eq!(codes.iter().filter(|c| *c == "452").count(), 9_000);
    assert_eq!(&codes[codes.len() - 3..], ["354", "250", "221"]);
    let stored = std::fs::read_to_string(&maildir_messages(&maildir)[0]).unwrap();
    assert_eq!(stored.matches("X-Original-To:").count(), 1000);
    still_serves(&server);
}

#[test]
fn every_end_of_data_trick_is_refused_and_only_crlf_dot_crlf_ends() {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("md");
    let server = Serve::start(&["--maildir", maildir.to_str().unwrap()]);
    for trick in [&b"\n.\n"[..], b"\r\n.\n", b"\n.\r\n", b"\r.\r", b"\r.\r\n"] {
        let mut input =
            b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nSubject: x\r\n\r\nbody"
                .to_vec();
        input.extend_from_slice(trick);
        input.extend_from_slice(b"MAIL FROM:<evil@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nforged\r\n.\r\nQUIT\r\n");
        let got = converse(&server, &input);
        assert_eq!(
            codes(&got),
            ["220", "250", "250", "250", "354", "550", "221"],
            "{trick:?}: {got}"
        );
    }
    assert!(maildir_messages(&maildir).is_empty());
    still_serves(&server);
}

#[test]
fn a_slow_drip_does_not_stop_other_clients_and_silence_times_out() {
    let server = Serve::start(&["--idle-timeout", "2s"]);
    let mut drip = connect(&server);
    let mut drip_reader = BufReader::new(drip.try_clone().unwrap());
    let mut greeting = String::new();
    drip_reader.read_line(&mut greeting).unwrap();
    assert!(greeting.starts_with("220 "), "{greeting}");
    // One byte at a time, each within the idle timeout: slow, but alive.
    for b in b"NOOP\r\n" {
        drip.write_all(&[*b]).unwrap();
        thread::sleep(Duration::from_millis(100));
        // Meanwhile another client is served in full.
    }
    still_serves(&server);
    let mut reply = String::new();
    drip_reader.read_line(&mut reply).unwrap();
    assert!(reply.starts_with("250 "), "{reply}");
    // Then silence: the server ends the session with 421 after the idle timeout.
    let mut rest = String::new();
    drip_reader.read_to_string(&mut rest).unwrap();
    assert!(rest.starts_with("421 4.4.2 Idle timeout"), "{rest}");
    still_serves(&server);
}

#[test]
fn five_hundred_connections_at_once_are_bounded_and_answered() {
    let server = Serve::start(&["--max-concurrent", "50"]);
    let conns: Vec<TcpStream> = (0..500).map(|_| connect(&server)).collect();
    let mut greeted = 0;
    let mut turned_away = 0;
    for c in &conns {
        let mut line = String::new();
        BufReader::new(c).read_line(&mut line).unwrap();
        match &line[..3] {
            "220" => greeted += 1,
            "421" => turned_away += 1,
            other => panic!("unexpected {other}: {line}"),
        }
    }
    assert_eq!(greeted, 50);
    assert_eq!(turned_away, 450);
    drop(conns);
    // The slots come back once those sessions end.
    for _ in 0..3 {
        still_serves(&server);
    }
    server.signal("TERM");
    let out = server.wait();
    assert_eq!(out.code, 0, "{out}");
}

#[test]
fn a_30_mb_message_streams_to_disk_in_flat_memory() {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("md");
    let server = Serve::start(&["--size", "0", "--maildir", maildir.to_str().unwrap()]);
    let before = peak_memory_kb(server.pid());
    let content = crate::support::content::message("big", 30 * 1024 * 1024);
    let f = crate::support::content::file_with(&content);
    let out = Smtpx::send()
        .args(&["--server", &server.server_arg()])
        .args(&["--from", "me@example.org", "--to", "you@example.org"])
        .args(&["--data", &crate::support::content::path(&f)])
        .run();
    assert_eq!(out.code, 0, "{out}");
    let after = peak_memory_kb(server.pid());
    assert!(
        after < before + 8 * 1024,
        "peak memory grew from {before} to {after} kB"
    );
    let stored = std::fs::read(&maildir_messages(&maildir)[0]).unwrap();
    assert!(crate::support::serve::without_envelope(&stored) == &content[..]);
}
