//! Man pages and shell completions, generated from the clap definitions. The files are
//! committed under `man/` and `completions/`; a test fails when they fall out of date.

use std::io;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, italic, roman};

use crate::cli::Cli;

const EXIT_STATUS: &[(&str, &str)] = &[
    (
        "0",
        "Accepted by every recipient, or --quit-after reached with every reply positive.",
    ),
    ("1", "Anything else."),
    ("2", "Usage error or bad input; nothing was sent."),
    ("3", "DNS failure."),
    (
        "4",
        "Connection failure: refused, unreachable, connect timeout, or no greeting.",
    ),
    ("5", "TLS failure or TLS policy refusal."),
    ("6", "Authentication failure."),
    ("7", "Permanent rejection (5xx reply)."),
    (
        "8",
        "Temporary rejection or failure: 4xx reply, or a timeout or lost connection before the final dot.",
    ),
    ("9", "Protocol violation by the server."),
    (
        "10",
        "Outcome unknown: the connection was lost after the final dot, so the message may have been accepted.",
    ),
    (
        "130",
        "Interrupted (Ctrl-C) before the final dot; nothing was committed.",
    ),
];

/// `smtpx verify` gives its verdicts their own codes.
const VERIFY_EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "Every address is deliverable."),
    ("2", "Usage error or bad input; nothing was sent."),
    (
        "7",
        "An address is undeliverable, invalid, no-mail or no-domain.",
    ),
    (
        "8",
        "Otherwise: an address is undecided (temporary, accept-all, unreachable, dns-error, policy).",
    ),
    (
        "130",
        "Interrupted (Ctrl-C); the verdicts decided before were printed, then the counts.",
    ),
];

/// `smtpx bench` counts many messages, so its codes sum up a run rather than one message.
const BENCH_EXIT_STATUS: &[(&str, &str)] = &[
    (
        "0",
        "Every message started was accepted, and every session opened.",
    ),
    ("2", "Usage error or bad input; nothing was sent."),
    (
        "4",
        "No message was sent because no connection could be made (5 for TLS, 6 for AUTH, 7 or 8 for a refused greeting or EHLO).",
    ),
    (
        "7",
        "Some message or session was refused permanently (5xx).",
    ),
    (
        "8",
        "Some message was refused temporarily (4xx) or failed (lost connection, timeout, protocol violation), or a session could not be opened.",
    ),
    (
        "130",
        "Interrupted (Ctrl-C); the report covers what was done.",
    ),
];

/// `smtpx serve` is the server: its codes say how the run ended.
const SERVE_EXIT_STATUS: &[(&str, &str)] = &[
    (
        "0",
        "Stopped normally: --max-messages or --max-sessions reached, or SIGINT or SIGTERM.",
    ),
    (
        "1",
        "Anything else (e.g. a Maildir that cannot be created).",
    ),
    ("2", "Usage error; nothing listened."),
    (
        "4",
        "Cannot listen (address in use, or not available on this machine).",
    ),
];

const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "NO_COLOR",
        "When set and not empty, no colour (unless --color always).",
    ),
    (
        "CLICOLOR_FORCE",
        "When set and not 0, colour even when stdout is not a terminal.",
    ),
    (
        "CI",
        "When set, no colour, no progress bars and no password prompt.",
    ),
    ("SMTPX_CONFIG", "The config file, as --config."),
    ("SMTPX_PROFILE", "The profile to use, as --profile."),
    (
        "XDG_CONFIG_HOME",
        "Where the config file is looked for (default ~/.config).",
    ),
    (
        "USER, LOGNAME",
        "The local part of the default --from address.",
    ),
];

const EXAMPLES: &[(&str, &str)] = &[
    (
        "Send a message and watch the conversation",
        "smtpx send --server mail.example.org:25 --from me@example.org --to you@example.org --subject hi --body hello",
    ),
    (
        "Check whether a recipient would be accepted, without sending",
        "smtpx send -s mx.example.org --from me@example.org --to you@example.org --quit-after rcpt",
    ),
    (
        "Verify a list of addresses at their domains' MX hosts, as CSV",
        "smtpx verify --file list.txt --format csv > verdicts.csv",
    ),
    (
        "Send a prepared message from stdin, machine-readable",
        "smtpx send -s 127.0.0.1:2525 --to you@example.org --data - --json < message.eml",
    ),
    (
        "Load-test a lab server: 10 sessions, 10000 messages with 1 KB bodies",
        "smtpx bench -s 127.0.0.1:2525 -n 10000 -c 10 --size 1024",
    ),
    (
        "Catch mail locally in a Maildir, refusing one recipient domain",
        "smtpx serve --maildir ~/caught --reply-rcpt '*@bad.example=550 5.1.1 no such user'",
    ),
];

const SECURITY: &str = "Passwords and tokens never need to be on the command line: they come \
from --password-file (refused if group- or world-readable), --password-env, --password-command or \
a prompt without echo. AUTH exchanges are redacted in every output (--show-secrets shows them, \
with a warning), and a server that echoes a secret back is redacted too. Credentials never go \
over plaintext, nor PLAIN/LOGIN over TLS whose certificate was not verified, unless \
--allow-insecure-auth. TLS certificates are verified by default (webpki roots plus --tls-ca): \
with --tls starttls or implicit a bad certificate stops the session; port 587 requires STARTTLS \
and port 465 uses implicit TLS; TLS 1.0 and 1.1 are never offered. Arguments that reach the wire (addresses, the EHLO name, header values) are \
validated before connecting: CR, LF, NUL and other control characters are refused, so no argument \
can inject a command or a header. Reply text is shown with control characters escaped, so a server \
cannot drive the terminal. The final dot is only sent after the whole message was read; if reading \
fails or the run is interrupted, nothing is committed.";

fn command() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// Every man page: `smtpx.1` and one per visible subcommand, as (file name, contents).
pub fn man_pages() -> io::Result<Vec<(String, Vec<u8>)>> {
    let cmd = command();
    let mut pages = vec![("smtpx.1".to_string(), render_page(&cmd)?)];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let man = Man::new(sub.clone());
        pages.push((man.get_filename(), render_page(sub)?));
    }
    Ok(pages)
}

fn render_page(cmd: &clap::Command) -> io::Result<Vec<u8>> {
    let man = Man::new(cmd.clone());
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(&mut out)?;
    }
    let mut roff = Roff::default();
    let exit_status = if cmd.get_name() == "verify" {
        VERIFY_EXIT_STATUS
    } else if cmd.get_name() == "bench" {
        BENCH_EXIT_STATUS
    } else if cmd.get_name() == "serve" {
        SERVE_EXIT_STATUS
    } else {
        EXIT_STATUS
    };
    section(&mut roff, "EXIT STATUS", exit_status);
    section(&mut roff, "ENVIRONMENT", ENVIRONMENT);
    roff.control("SH", ["FILES"]);
    roff.control("TP", [] as [&str; 0]);
    roff.text([bold("$XDG_CONFIG_HOME/smtpx/config.toml")]);
    roff.text([roman(
        "Named profiles ([profiles.NAME]) holding server, port, tls, tls_ca, helo, from, user, \
         password_command or password_file, and auth; default_profile names the one used when \
         --profile and SMTPX_PROFILE do not. Flags and environment variables override a profile. \
         `smtpx config show` prints what a profile resolves to, secrets redacted.",
    )]);
    roff.control("SH", ["EXAMPLES"]);
    for (what, example) in EXAMPLES {
        roff.text([roman(*what)]);
        roff.control("RS", ["4"]);
        roff.text([bold(*example)]);
        roff.control("RE", [] as [&str; 0]);
        roff.control("PP", [] as [&str; 0]);
    }
    roff.control("SH", ["SECURITY"]);
    roff.text([roman(SECURITY)]);
    roff.control("SH", ["SEE ALSO"]);
    roff.text([
        italic("swaks"),
        roman("(1), "),
        italic("openssl-s_client"),
        roman("(1), "),
        italic("smtp-source"),
        roman("(1)"),
    ]);
    roff.to_writer(&mut out)?;
    man.render_version_section(&mut out)?;
    Ok(out)
}

fn section(roff: &mut Roff, title: &str, items: &[(&str, &str)]) {
    roff.control("SH", [title]);
    for (term, text) in items {
        roff.control("TP", [] as [&str; 0]);
        roff.text([bold(*term)]);
        roff.text([roman(*text)]);
    }
}

pub const SHELLS: [Shell; 5] = [
    Shell::Bash,
    Shell::Zsh,
    Shell::Fish,
    Shell::PowerShell,
    Shell::Elvish,
];

/// Every completion script, as (file name, contents).
pub fn completions() -> Vec<(String, Vec<u8>)> {
    SHELLS
        .iter()
        .map(|&shell| {
            let mut cmd = command();
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cmd, "smtpx", &mut out);
            let name = match shell {
                Shell::Bash => "smtpx.bash".to_string(),
                Shell::Zsh => "_smtpx".to_string(),
                Shell::Fish => "smtpx.fish".to_string(),
                Shell::PowerShell => "_smtpx.ps1".to_string(),
                _ => "smtpx.elv".to_string(),
            };
            (name, out)
        })
        .collect()
}

/// Writes every generated file; returns their paths.
pub fn write_all(man_dir: &Path, completions_dir: &Path) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(man_dir)?;
    std::fs::create_dir_all(completions_dir)?;
    let mut written = Vec::new();
    for (name, bytes) in man_pages()? {
        let path = man_dir.join(name);
        std::fs::write(&path, bytes)?;
        written.push(path);
    }
    for (name, bytes) in completions() {
        let path = completions_dir.join(name);
        std::fs::write(&path, bytes)?;
        written.push(path);
    }
    Ok(written)
}
