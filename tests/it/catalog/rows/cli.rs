//! CLI input: CR, LF, `<` and `>` in every argument that reaches the wire, over-long
//! parts, option-like values and bad `--server` forms. Each is refused before any
//! connection (exit 2, and the listener on `{server}` sees nobody), unless it is
//! harmless and goes out exactly as given. NUL cannot be passed in argv at all (execve
//! takes C strings); it is tested through the inputs that can carry it: files, stdin
//! and `--password-command`.

use super::super::check;
use super::super::row::{Area, Row, Source, row};
use super::happy;

/// An argument list refused before connecting.
fn refused(id: &'static str, what: &'static str, args: &[&str]) -> Row {
    row(id, Area::Cli, Source::Input, what).args(args).exit(2)
}

fn long(part: char, n: usize) -> String {
    std::iter::repeat_n(part, n).collect()
}

pub fn rows() -> Vec<Row> {
    let domain_256 = format!("x@{}.example", vec![long('d', 60); 5].join("."));
    let helo_300 = format!("{}.example", vec![long('h', 60); 5].join("."));
    vec![
        refused(
            "cli_to_with_crlf",
            "--to carries CRLF and a second RCPT",
            &["--to", "you@example.org\r\nRCPT TO:<evil@attacker.example>"],
        ),
        refused(
            "cli_to_with_lf",
            "--to carries a bare LF and DATA",
            &["--to", "you@example.org\nDATA"],
        ),
        refused(
            "cli_from_with_cr",
            "--from carries a bare CR and RSET",
            &["--from", "me@example.org\rRSET"],
        ),
        refused(
            "cli_cc_with_lf",
            "--cc carries LF and a second RCPT",
            &["--cc", "cc@example.org\nRCPT TO:<evil@attacker.example>"],
        ),
        refused(
            "cli_bcc_with_cr",
            "--bcc carries CR",
            &["--bcc", "bcc@example.org\r"],
        ),
        refused(
            "cli_to_with_angle_bracket_inside",
            "--to with a '<' inside the address (a bare <addr> is name-addr form and allowed)",
            &["--to", "you<x@example.org"],
        ),
        refused(
            "cli_from_with_param_injection",
            "--from closes the path and adds ESMTP parameters",
            &["--from", "me@example.org> SIZE=1 AUTH=<evil"],
        ),
        refused(
            "cli_helo_with_crlf",
            "--helo carries CRLF and MAIL",
            &["--helo", "client.test\r\nMAIL FROM:<evil@attacker.example>"],
        ),
        refused(
            "cli_helo_with_angle_bracket",
            "--helo with '<'",
            &["--helo", "client<test"],
        ),
        refused(
            "cli_subject_with_crlf",
            "--subject carries CRLF and a Bcc header",
            &["--subject", "hi\r\nBcc: victim@example.org"],
        ),
        refused(
            "cli_header_value_with_lf",
            "--header value carries LF and another header",
            &["--header", "X-A: b\nBcc: victim@example.org"],
        ),
        refused(
            "cli_header_name_with_cr",
            "--header name carries CR",
            &["--header", "X\rA: b"],
        ),
        refused(
            "cli_user_with_crlf",
            "--user carries CRLF and MAIL",
            &[
                "--user",
                "tim\r\nMAIL FROM:<evil@attacker.example>",
                "--password-env",
                "SMTPX_CATALOG_SECRET",
            ],
        ),
        refused(
            "cli_local_part_65_octets",
            "a local part of 65 octets (RFC 5321 §4.5.3.1.1 allows 64)",
            &[],
        )
        .arg("--to".into())
        .arg(format!("{}@example.org", long('l', 65))),
        refused(
            "cli_domain_over_255_octets",
            "a domain over 255 octets (§4.5.3.1.2)",
            &[],
        )
        .arg("--to".into())
        .arg(domain_256),
        refused(
            "cli_helo_over_255_octets",
            "an EHLO name over 255 octets",
            &[],
        )
        .arg("--helo".into())
        .arg(helo_300),
        row(
            "cli_subject_2000_octets",
            Area::Cli,
            Source::Input,
            "a 2000-octet subject: folded, no line over 998 octets",
        )
        .script(|_| happy())
        .arg("--subject".into())
        .arg(long('s', 2000))
        .exit(0)
        .check(check::lines_within_998),
        refused(
            "cli_header_over_998_octets",
            "a --header longer than a line may be",
            &[],
        )
        .arg("--header".into())
        .arg(format!("X-Long: {}", long('h', 1200))),
        refused(
            "cli_tls_server_name_with_crlf",
            "--tls-server-name carries CRLF",
            &["--tls", "starttls", "--tls-server-name", "mx.test\r\nEHLO"],
        ),
        row(
            "cli_option_like_address",
            Area::Cli,
            Source::Input,
            "--to=-f@example.org: looks like an option, is a valid address, goes out as it is",
        )
        .script(|_| happy())
        .args(&["--to=-f@example.org"])
        .exit(0)
        .wire_must("RCPT TO:<-f@example.org>\r\n"),
        refused(
            "cli_option_value_missing",
            "--to at the end with no value",
            &["--to"],
        ),
        refused(
            "cli_server_port_out_of_range",
            "--server 127.0.0.1:99999",
            &["--server", "127.0.0.1:99999"],
        ),
        refused(
            "cli_server_port_empty",
            "--server 127.0.0.1:",
            &["--server", "127.0.0.1:"],
        ),
        refused(
            "cli_server_port_zero",
            "--server 127.0.0.1:0",
            &["--server", "127.0.0.1:0"],
        ),
        refused(
            "cli_server_unclosed_bracket",
            "--server [::1",
            &["--server", "[::1"],
        ),
        refused(
            "cli_server_junk_after_bracket",
            "--server [::1]x (junk after the bracket)",
            &["--server", "[::1]x"],
        ),
        refused(
            "cli_server_two_ports",
            "--server 127.0.0.1:25:25",
            &["--server", "127.0.0.1:25:25"],
        ),
        refused(
            "cli_server_with_space",
            "--server 'local host:25'",
            &["--server", "local host:25"],
        ),
        refused(
            "cli_server_with_crlf",
            "--server with CRLF",
            &["--server", "127.0.0.1\r\n:25"],
        ),
        refused("cli_server_empty", "--server ''", &["--server", ""]),
    ]
}
