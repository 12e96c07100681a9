//! Data transparency (RFC 5321 §4.5.2, §2.3.8): whatever the message holds, the
//! receiver sees exactly one end-of-data, even when it applies every lenient rule, and
//! recovers the message with its line ends made CRLF. An input that fails never gets
//! its final dot.

use crate::support::scripted::{Step, greeting_ehlo};

use super::super::check;
use super::super::row::{Area, Row, Source, Stdin, row};
use super::{accept_message, envelope_to_354, happy, plain_ehlo, script};

fn data(id: &'static str, what: &'static str) -> Row {
    row(id, Area::Data, Source::Input, what)
}

/// A message on stdin (`--data -`) that an accepting server takes.
fn on_stdin(id: &'static str, what: &'static str, message: &[u8]) -> Row {
    data(id, what)
        .script(|_| happy())
        .args(&["--data", "-"])
        .stdin(Stdin::Bytes(message.to_vec()))
        .exit(0)
        .check(check::one_end_of_data)
}

/// A message that ends its first part with `ending` and then carries a whole second
/// transaction: what an SMTP smuggling attack hides in a body.
fn smuggling(ending: &str) -> Vec<u8> {
    format!(
        "Subject: smuggling\r\n\r\nhello{ending}MAIL FROM:<evil@attacker.example>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n"
    )
    .into_bytes()
}

/// Read buffers are 64 KiB: put a dot, a split CRLF, a bare CR and a lone-dot line
/// exactly on their edges.
fn boundary_body() -> Vec<u8> {
    const BLOCK: usize = 64 * 1024;
    let mut m = b"Subject: edges\r\n\r\n".to_vec();
    let fill = |m: &mut Vec<u8>, upto: usize| {
        while m.len() < upto {
            let room = upto - m.len();
            if room > 80 {
                m.extend_from_slice(&[b'x'; 78]);
                m.extend_from_slice(b"\r\n");
            } else {
                m.push(b'y');
            }
        }
    };
    fill(&mut m, BLOCK - 1);
    m.extend_from_slice(b"\n.starts the second block\r\n");
    fill(&mut m, 2 * BLOCK - 1);
    m.extend_from_slice(b"\r\n.after a split CRLF\r\n");
    fill(&mut m, 3 * BLOCK - 1);
    m.extend_from_slice(b"\r.after a bare CR\r\n");
    fill(&mut m, 4 * BLOCK - 1);
    m.extend_from_slice(b"\n.\r\nthat was a lone dot\r\n");
    fill(&mut m, 5 * BLOCK - 2);
    m.extend_from_slice(b"\r\n.\r\n");
    m
}

/// 80 MiB with dots, bare line ends and long runs: more than the memory cap, so only
/// a client that streams can send it.
fn large_body() -> Vec<u8> {
    let unit = b"line one\r\n.dot at the start\nbare LF\rbare CR\r\n..two dots\r\n".repeat(1024);
    let mut m = b"Subject: large\r\n\r\n".to_vec();
    while m.len() < 80 * 1024 * 1024 {
        m.extend_from_slice(&unit);
    }
    m
}

pub fn rows() -> Vec<Row> {
    let mut rows = vec![
        on_stdin(
            "data_dots_at_line_starts",
            "lines that are a dot, start with one or more dots, or end with one",
            b"Subject: dots\r\n\r\n.\r\n..\r\n.x\r\n...\r\nend.\r\n. \r\n.\r\n",
        ),
        data("data_dots_at_read_buffer_boundaries", "a leading dot, a split CRLF, a bare CR and a lone-dot line on the edges of 64 KiB reads")
            .script(|_| happy())
            .file(boundary_body)
            .args(&["--data", "{file}"])
            .exit(0)
            .check(check::one_end_of_data),
        on_stdin("data_bare_lf", "every line ends in a bare LF", b"Subject: lf\n\nline one\nline two\n.\nlast\n"),
        on_stdin("data_bare_cr", "every line ends in a bare CR", b"Subject: cr\r\rline one\rline two\r.\rlast\r"),
    ];
    for (id, what, ending) in [
        (
            "data_smuggling_lf_dot_lf",
            "a body hiding a second transaction behind LF . LF",
            "\n.\n",
        ),
        (
            "data_smuggling_cr_dot_cr",
            "a body hiding a second transaction behind CR . CR",
            "\r.\r",
        ),
        (
            "data_smuggling_lf_dot_crlf",
            "a body hiding a second transaction behind LF . CRLF",
            "\n.\r\n",
        ),
        (
            "data_smuggling_crlf_dot_lf",
            "a body hiding a second transaction behind CRLF . LF",
            "\r\n.\n",
        ),
        (
            "data_smuggling_cr_dot_crlf",
            "a body hiding a second transaction behind CR . CRLF",
            "\r.\r\n",
        ),
        (
            "data_smuggling_crlf_dot_cr",
            "a body hiding a second transaction behind CRLF . CR",
            "\r\n.\r",
        ),
        (
            "data_smuggling_lf_dot_cr",
            "a body hiding a second transaction behind LF . CR",
            "\n.\r",
        ),
        (
            "data_smuggling_cr_dot_lf",
            "a body hiding a second transaction behind CR . LF",
            "\r.\n",
        ),
    ] {
        rows.push(on_stdin(id, what, &smuggling(ending)).wire_must_not("\r\n.\r\nMAIL FROM:<evil"));
    }
    rows.extend([
        data("data_smuggling_in_body_flag", "--body carries CRLF . CRLF and a second transaction")
            .script(|_| happy())
            .args(&["--body", "hello\r\n.\r\nMAIL FROM:<evil@attacker.example>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\n"])
            .exit(0)
            .check(check::single_end_of_data),
        on_stdin("data_missing_final_crlf", "the message does not end with a line break", b"Subject: x\r\n\r\nno final line break"),
        data("data_empty_message", "an empty message: refused before connecting")
            .args(&["--data", "-"])
            .stdin(Stdin::Bytes(Vec::new()))
            .exit(2)
            .output_must("the message is empty"),
        on_stdin("data_only_a_dot", "the whole message is one dot", b"."),
        on_stdin("data_over_long_lines", "a 2000-octet line and a 64 KiB line", &{
            let mut m = b"Subject: long\r\n\r\n".to_vec();
            m.extend_from_slice(&[b'a'; 2000]);
            m.extend_from_slice(b"\r\n");
            m.extend_from_slice(&[b'b'; 64 * 1024]);
            m.extend_from_slice(b"\r\n");
            m
        })
        .output_must("longer than 998 octets"),
        on_stdin("data_nul_bytes", "NUL bytes in the body, one right before a dot line", b"Subject: nul\r\n\r\na\0b\r\n\0.\r\n.\0\r\n")
            .output_must("3 NUL byte(s) were sent as they are"),
        data("data_stdin_fails_at_once", "stdin is a directory: the first read fails, before connecting")
            .args(&["--data", "-"])
            .stdin(Stdin::Directory)
            .exit(2)
            .output_must("reading stdin failed"),
        data("data_stdin_fails_mid_body", "stdin is a socket that delivers 100 KiB of message, then a reset")
            .script(|_| script(vec![plain_ehlo(), envelope_to_354(), vec![Step::ReadUntilClose]]))
            .args(&["--data", "-"])
            .stdin(Stdin::ResetAfter({
                let mut m = b"Subject: cut\r\n\r\n".to_vec();
                m.extend_from_slice(&b"some content\r\n".repeat(100 * 1024 / 14));
                m
            }))
            .exit(2)
            .wire_must("some content")
            .check(check::no_final_dot),
        data("data_large_message_streamed", "an 80 MiB message with dots and bare line ends, larger than the memory cap")
            // No SIZE limit offered: the point is the stream, not the size check.
            .script(|_| script(vec![greeting_ehlo(&["8BITMIME"]), accept_message()]))
            .file(large_body)
            .args(&["--data", "{file}"])
            .exit(0)
            .check(check::one_end_of_data),
    ]);
    rows
}
