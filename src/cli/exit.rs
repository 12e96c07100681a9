//! The exit codes of each subcommand: one table each, the single source for `--help`,
//! the man pages and the tests that check them.

/// (code, meaning) rows of one subcommand.
pub type ExitTable = &'static [(u8, &'static str)];

/// `smtpx send`, and the top-level summary.
pub const SEND: ExitTable = &[
    (
        0,
        "accepted by every recipient, or --quit-after reached with every reply positive",
    ),
    (1, "anything else"),
    (
        2,
        "usage error or bad input, found before connecting: nothing was sent (also: the input failed mid-body, so the final dot was never sent)",
    ),
    (
        3,
        "DNS failure (null MX, NXDOMAIN, no route, lookup failed)",
    ),
    (
        4,
        "connection failure (refused, unreachable, connect timeout, no greeting)",
    ),
    (
        5,
        "TLS failure or TLS policy refusal (also every MX host failing the recipient domain's DANE or MTA-STS policy, --quit-after tls where no handshake happened, and --requiretls without verified TLS or the server's REQUIRETLS)",
    ),
    (6, "authentication failure"),
    (
        7,
        "permanent rejection (5xx), including a message over the server's SIZE, and --xclient or --xforward to a server that does not offer them",
    ),
    (
        8,
        "temporary rejection or failure (4xx, or a timeout or lost connection before the final dot)",
    ),
    (9, "protocol violation by the server"),
    (
        10,
        "outcome unknown (connection lost after the final dot: the message may have been accepted)",
    ),
    (
        130,
        "interrupted (Ctrl-C) before the final dot: nothing was committed",
    ),
];

pub const MX: ExitTable = &[
    (0, "every domain has somewhere to deliver"),
    (2, "usage error"),
    (
        3,
        "a domain has a null MX, does not exist, has only dangling MX targets, or its lookup failed",
    ),
];

pub const DOMAIN: ExitTable = &[
    (0, "nothing failed (warnings allowed)"),
    (2, "usage error"),
    (
        3,
        "DNS itself failed for a domain (timeout, SERVFAIL, server unreachable): its verdicts are incomplete",
    ),
    (7, "a check failed"),
    (130, "interrupted (Ctrl-C)"),
];

pub const CHECK: ExitTable = &[
    (0, "every check passed or only warned"),
    (2, "usage error"),
    (3, "DNS failure (no MX route, NXDOMAIN, null MX)"),
    (4, "connection failure (refused, unreachable, no greeting)"),
    (5, "TLS failure before the greeting (implicit TLS)"),
    (
        7,
        "a check failed (or the greeting or EHLO was refused with 5xx)",
    ),
    (8, "the greeting or EHLO was refused with 4xx"),
    (
        9,
        "protocol violation by the server before EHLO was answered",
    ),
    (
        130,
        "interrupted (Ctrl-C); with several MX hosts, the worst host's code is the result",
    ),
];

/// `smtpx vrfy` and `smtpx expn`.
pub const QUERY: ExitTable = &[
    (0, "every argument was verified (250/251)"),
    (2, "usage error (nothing sent)"),
    (3, "DNS failure"),
    (4, "connection failure"),
    (5, "TLS failure or TLS policy refusal"),
    (
        7,
        "an argument was refused: unknown (550/551/553), disabled (500/502) or another 5xx",
    ),
    (
        8,
        "undecided: 252 \"cannot verify\", 4xx, or the session ended before every answer",
    ),
    (9, "protocol violation by the server"),
    (130, "interrupted (Ctrl-C)"),
];

pub const SIZE: ExitTable = &[
    (0, "the probes ran, whatever the limit turned out to be"),
    (2, "usage error (nothing sent)"),
    (3, "DNS failure"),
    (4, "connection failure"),
    (5, "TLS failure or TLS policy refusal"),
    (7, "the greeting or EHLO was refused (5xx)"),
    (
        8,
        "the greeting or EHLO was refused (4xx), or the session ended early",
    ),
    (9, "protocol violation by the server"),
    (130, "interrupted (Ctrl-C)"),
];

/// `smtpx session`: the last reply decides, as in `send`.
pub const SESSION: ExitTable = &[
    (
        0,
        "the session ended with 221 (QUIT answered), or with any other 2xx reply last",
    ),
    (
        2,
        "usage error found before connecting (nothing sent), or the input ended in the middle of DATA (the final dot was never sent)",
    ),
    (
        3,
        "DNS failure (null MX, NXDOMAIN, no route, lookup failed)",
    ),
    (4, "connection failure (refused, unreachable, no greeting)"),
    (
        5,
        "TLS failure: the handshake after STARTTLS or implicit TLS failed, or the certificate was refused",
    ),
    (
        6,
        "authentication failure that ended the session (the exchange broke off)",
    ),
    (7, "the last reply was a permanent rejection (5xx)"),
    (
        8,
        "the last reply was temporary (4xx, e.g. 421), or the connection was lost or timed out",
    ),
    (9, "protocol violation by the server"),
    (
        10,
        "the connection was lost after the final dot, before its reply: the message may have been accepted",
    ),
    (130, "interrupted (Ctrl-C while waiting for the server)"),
];

pub const VERIFY: ExitTable = &[
    (0, "every address is deliverable"),
    (
        1,
        "the run is incomplete: the --resume state could not be written, or the list held on disk could not be read back",
    ),
    (
        2,
        "usage error, or a --resume state made for another input or options (nothing sent)",
    ),
    (
        7,
        "an address is undeliverable, invalid, no-mail or no-domain",
    ),
    (
        8,
        "otherwise: something is undecided (temporary, accept-all, unreachable, dns-error, policy)",
    ),
    (
        130,
        "interrupted (Ctrl-C); what was decided before is printed, then the counts",
    ),
];

pub const BENCH: ExitTable = &[
    (
        0,
        "every message started was accepted, and every session opened",
    ),
    (2, "usage error (nothing sent)"),
    (
        4,
        "no message was sent: no connection could be made (5 for TLS, 6 for AUTH, 7/8 for a refused greeting or EHLO)",
    ),
    (7, "some message or session was refused permanently (5xx)"),
    (
        8,
        "some message was refused temporarily (4xx) or failed (lost connection, timeout, protocol violation), or a session could not be opened",
    ),
    (130, "interrupted (Ctrl-C): the report covers what was done"),
];

/// `smtpx bench merge`: what the one run that did all the work would have returned.
pub const BENCH_MERGE: ExitTable = &[
    (
        0,
        "every message of every run was accepted, and every session opened",
    ),
    (
        2,
        "usage error: a report cannot be read, is not bench --json output, or its counts do not add up; or the reports are of different servers or differently shaped messages (without --force)",
    ),
    (
        4,
        "no run sent a message: no connection could be made (5 for TLS, 6 for AUTH, 7/8 for a refused greeting or EHLO)",
    ),
    (7, "some message or session was refused permanently (5xx)"),
    (
        8,
        "some message was refused temporarily (4xx) or failed, or a session could not be opened",
    ),
    (
        130,
        "some run was interrupted (Ctrl-C): the report covers what was done",
    ),
];

pub const CONFIG: ExitTable = &[
    (0, "the settings were shown"),
    (
        2,
        "usage error, or the config file cannot be read or parsed (its line and key are named), or the profile does not exist",
    ),
];

/// `smtpx serve` is the server: its codes say how the run ended.
pub const SERVE: ExitTable = &[
    (
        0,
        "the server stopped normally: --max-messages or --max-sessions reached, or SIGINT or SIGTERM (sessions in progress are given a few seconds to finish)",
    ),
    (
        1,
        "anything else (e.g. a storage directory that cannot be created)",
    ),
    (2, "usage error (nothing listened)"),
    (
        4,
        "cannot listen (address in use, or not available on this machine)",
    ),
];

/// The table as `--help` shows it after the options, wrapped to 88 columns.
pub fn help(table: ExitTable) -> String {
    titled("Exit codes:", table)
}

/// The top-level help: send's codes, which the other subcommands share in spirit.
pub fn top_help() -> String {
    titled(
        "Exit codes of smtpx send (each subcommand's --help and man page list its own):",
        SEND,
    )
}

fn titled(title: &str, table: ExitTable) -> String {
    const WIDTH: usize = 88;
    const INDENT: usize = 6;
    let mut out = String::from(title);
    for (code, text) in table {
        let mut line = format!("{code:>4}  ");
        for word in text.split(' ') {
            if line.len() + 1 + word.len() > WIDTH && line.trim().len() > 3 {
                out.push('\n');
                out.push_str(line.trim_end());
                line = " ".repeat(INDENT);
            } else if !line.ends_with(' ') {
                line.push(' ');
            }
            line.push_str(word);
        }
        out.push('\n');
        out.push_str(&line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_lists_every_code_and_wraps() {
        let text = help(SEND);
        assert!(text.starts_with("Exit codes:\n   0  accepted by every recipient"));
        assert!(text.contains("\n 130  interrupted"));
        assert!(text.lines().all(|l| l.len() <= 88), "{text}");
        let continued = text.lines().filter(|l| l.starts_with("      ")).count();
        assert!(continued > 0, "{text}");
    }

    #[test]
    fn tables_are_ordered_and_complete() {
        for table in [
            SEND,
            MX,
            CHECK,
            QUERY,
            SIZE,
            VERIFY,
            BENCH,
            BENCH_MERGE,
            CONFIG,
        ] {
            assert!(table.windows(2).all(|w| w[0].0 < w[1].0));
            assert_eq!(table[0].0, 0);
            assert!(table.iter().any(|(c, _)| *c == 2));
        }
    }
}
