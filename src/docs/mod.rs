//! Man pages and shell completions, generated from the clap definitions. The files are
//! committed under `man/` and `completions/`; a test fails when they fall out of date.

use std::io;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, italic, roman};

use crate::cli::Cli;

mod pages;
pub use pages::{PAGES, Page, page};

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
    for sub in pages_of(&cmd) {
        let man = Man::new(sub.clone());
        pages.push((man.get_filename(), render_page(sub)?));
    }
    Ok(pages)
}

/// The commands with a page of their own: each visible subcommand, and the visible
/// subcommands of those (`bench merge`), except `config`'s actions, which its page
/// describes.
fn pages_of(cmd: &clap::Command) -> Vec<&clap::Command> {
    let mut out = Vec::new();
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        out.push(sub);
        if sub.get_name() != "config" {
            out.extend(sub.get_subcommands().filter(|s| !s.is_hide_set()));
        }
    }
    out
}

/// The page's key in `pages.rs`: `bench` for smtpx-bench(1), `bench-merge` for
/// smtpx-bench-merge(1).
fn page_name(cmd: &clap::Command) -> &str {
    cmd.get_display_name()
        .and_then(|d| d.strip_prefix("smtpx-"))
        .unwrap_or(cmd.get_name())
}

fn render_page(cmd: &clap::Command) -> io::Result<Vec<u8>> {
    let name = page_name(cmd);
    let own = page(name).ok_or_else(|| {
        io::Error::other(format!(
            "no man page text for '{name}' in src/docs/pages.rs"
        ))
    })?;
    let man = Man::new(cmd.clone());
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    let mut roff = Roff::default();
    roff.control("SH", ["DESCRIPTION"]);
    paragraphs(&mut roff, own.description);
    roff.to_writer(&mut out)?;
    man.render_options_section(&mut out)?;
    // Only the top level lists subcommands: each has its own page. `config show` is
    // described on smtpx-config(1), which has no page per action.
    if name == "smtpx" {
        man.render_subcommands_section(&mut out)?;
    }
    let mut roff = Roff::default();
    for (title, text) in own.sections {
        roff.control("SH", [*title]);
        paragraphs(&mut roff, text);
    }
    roff.control("SH", ["EXIT STATUS"]);
    for (code, text) in own.exit {
        roff.control("TP", [] as [&str; 0]);
        roff.text([bold(code.to_string())]);
        roff.text([roman(sentence(text))]);
    }
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
    for (what, example) in own.examples {
        roff.text([roman(*what)]);
        roff.control("RS", ["4"]);
        roff.text([bold(*example)]);
        roff.control("RE", [] as [&str; 0]);
        roff.control("PP", [] as [&str; 0]);
    }
    roff.control("SH", ["SECURITY"]);
    roff.text([roman(SECURITY)]);
    roff.control("SH", ["SEE ALSO"]);
    let mut see: Vec<_> = Vec::new();
    if name != "smtpx" {
        see.extend([italic("smtpx"), roman("(1), ")]);
    }
    see.extend([
        italic("swaks"),
        roman("(1), "),
        italic("openssl-s_client"),
        roman("(1), "),
        italic("smtp-source"),
        roman("(1)"),
    ]);
    roff.text(see);
    roff.to_writer(&mut out)?;
    man.render_version_section(&mut out)?;
    Ok(out)
}

fn paragraphs(roff: &mut Roff, text: &[&str]) {
    for (i, p) in text.iter().enumerate() {
        if i > 0 {
            roff.control("PP", [] as [&str; 0]);
        }
        roff.text([roman(*p)]);
    }
}

/// A help-table row as a man page sentence: capitalised, with a full stop.
fn sentence(text: &str) -> String {
    let mut s: String = text
        .chars()
        .take(1)
        .flat_map(char::to_uppercase)
        .chain(text.chars().skip(1))
        .collect();
    if !s.ends_with('.') {
        s.push('.');
    }
    s
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

/// The command as a user may type it: hidden subcommands (`generate`) and the flags a
/// subcommand hides because it ignores them (`bench --dns-server`) are left out, so a
/// completion never offers them.
fn visible(cmd: &clap::Command) -> clap::Command {
    let mut out = clap::Command::new(cmd.get_name().to_string())
        .disable_help_flag(true)
        .disable_version_flag(true)
        .disable_help_subcommand(true);
    if let Some(about) = cmd.get_about() {
        out = out.about(about.clone());
    }
    if let Some(version) = cmd.get_version() {
        out = out.version(version.to_string());
    }
    out = out.args(cmd.get_arguments().filter(|a| !a.is_hide_set()).cloned());
    out.subcommands(
        cmd.get_subcommands()
            .filter(|s| !s.is_hide_set())
            .map(visible),
    )
}

/// Every completion script, as (file name, contents).
pub fn completions() -> Vec<(String, Vec<u8>)> {
    SHELLS
        .iter()
        .map(|&shell| {
            let mut cmd = visible(&command());
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pages() -> Vec<(String, String)> {
        man_pages()
            .unwrap()
            .into_iter()
            .map(|(n, b)| (n, String::from_utf8(b).unwrap()))
            .collect()
    }

    #[test]
    fn each_page_has_its_own_exit_status_and_examples() {
        let cmd = command();
        for sub in pages_of(&cmd) {
            let name = page_name(sub);
            let own = page(name).expect("a page for every visible subcommand");
            let prefix = format!("smtpx {}", name.replace('-', " "));
            for (_, example) in own.examples {
                assert!(example.starts_with(&prefix), "{example}");
            }
            assert!(own.description.concat().len() > 200, "{}", own.name);
        }
        let all = pages();
        let text = |name: &str| &all.iter().find(|(n, _)| n == name).unwrap().1;
        let mx = text("smtpx-mx.1");
        assert!(mx.contains("Every domain has somewhere to deliver."));
        assert!(!mx.contains("Accepted by every recipient"));
        assert!(text("smtpx-check.1").contains("A check failed"));
        assert!(text("smtpx-size.1").contains("The probes ran"));
        assert!(text("smtpx-config.1").contains("The settings were shown."));
        assert!(text("smtpx-expn.1").contains("{\"type\": \"expn\"}"));
        let merge = text("smtpx-bench-merge.1");
        assert!(merge.contains("smtpx bench merge"), "{merge}");
        assert!(merge.contains("\\-\\-force"), "{merge}");
        assert!(!all.iter().any(|(n, _)| n == "smtpx-config-show.1"));
    }

    #[test]
    fn every_page_named_exists() {
        let all = pages();
        for (name, body) in &all {
            for (i, _) in body.match_indices("smtpx\\-") {
                let rest = &body[i..];
                let end = rest.find('(').unwrap_or(rest.len());
                let named = rest[..end].replace("\\-", "-");
                if rest[end..].starts_with("(1)") {
                    let file = format!("{named}.1");
                    assert!(
                        all.iter().any(|(n, _)| *n == file),
                        "{name} names {file}, which does not exist"
                    );
                }
            }
        }
    }

    #[test]
    fn completions_offer_only_what_a_user_may_type() {
        for (name, bytes) in completions() {
            let text = String::from_utf8(bytes).unwrap();
            for word in [
                "subcmd__generate",
                "smtpx,generate",
                "smtpx;generate",
                "(generate)",
            ] {
                assert!(!text.contains(word), "{name} offers generate: {word}");
            }
        }
        let cmd = visible(&command());
        let bench = cmd.find_subcommand("bench").unwrap();
        assert!(bench.get_arguments().all(|a| a.get_id() != "dns_server"));
        assert!(cmd.find_subcommand("generate").is_none());
        let send = cmd.find_subcommand("send").unwrap();
        assert!(send.get_arguments().any(|a| a.get_id() == "dns_server"));
    }
}
