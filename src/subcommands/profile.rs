//! Parsing the command line with a config profile underneath it: a profile value is used
//! only where neither a flag nor an environment variable gave one.

use std::ffi::OsString;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};

use crate::cli::{AuthArgs, AuthMech, Cli, ServerArgs, TlsArgs, TlsMode, Verb};
use crate::config::{self, ConfigFile, Profile};

/// The parsed command line, the config it read, and the profile applied (if any).
pub struct Parsed {
    pub cli: Cli,
    pub config_path: Option<std::path::PathBuf>,
    pub profile: Option<(String, Profile)>,
}

/// Why a command line could not be run.
#[derive(Debug)]
pub enum ParseFailure {
    /// clap's own usage error, with its formatting and suggestions.
    Usage(clap::Error),
    /// A config file or profile problem, as one line.
    Config(String),
}

/// Parses `args`; on `--help` or `--version` clap prints and exits 0. Usage errors and
/// errors in the config file come back (exit 2), so `--json` can still end with a result.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Parsed, ParseFailure> {
    let matches = match Cli::command().try_get_matches_from(args) {
        Ok(m) => m,
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => return Err(ParseFailure::Usage(e)),
    };
    let mut cli = Cli::from_arg_matches(&matches).map_err(ParseFailure::Usage)?;
    if let (Verb::Send(args), Some(("send", m))) = (&mut cli.verb, matches.subcommand()) {
        args.order_attachments(m);
    }
    parse_config(cli, &matches).map_err(ParseFailure::Config)
}

fn parse_config(mut cli: Cli, matches: &ArgMatches) -> Result<Parsed, String> {
    let (config_path, file) = load(&cli)?;
    let profile = file.select(cli.profile.as_deref())?;
    if let (Some((_, p)), Some((_, sub))) = (&profile, matches.subcommand()) {
        apply(&mut cli.verb, p, sub)?;
    }
    Ok(Parsed {
        cli,
        config_path,
        profile,
    })
}

fn load(cli: &Cli) -> Result<(Option<std::path::PathBuf>, ConfigFile), String> {
    match &cli.config {
        Some(path) => Ok((Some(path.clone()), config::load(path, true)?)),
        None => match config::default_path() {
            Some(path) => {
                let file = config::load(&path, false)?;
                Ok((Some(path), file))
            }
            None => Ok((None, ConfigFile::default())),
        },
    }
}

/// Whether the user gave `id` (on the command line or through its environment variable).
fn given(m: &ArgMatches, id: &str) -> bool {
    m.ids().any(|i| i.as_str() == id)
        && matches!(
            m.value_source(id),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        )
}

fn apply(verb: &mut Verb, p: &Profile, m: &ArgMatches) -> Result<(), String> {
    match verb {
        Verb::Send(args) => {
            apply_server(&mut args.server, p, m, true);
            apply_tls(&mut args.tls, p, m)?;
            apply_auth(&mut args.auth, p, m)?;
            if !given(m, "from") && p.from.is_some() {
                args.from = p.from.clone();
            }
        }
        Verb::Vrfy(args) => {
            apply_server(&mut args.server, p, m, true);
            apply_tls(&mut args.tls, p, m)?;
            apply_auth(&mut args.auth, p, m)?;
        }
        Verb::Expn(args) => {
            apply_server(&mut args.server, p, m, true);
            apply_tls(&mut args.tls, p, m)?;
            apply_auth(&mut args.auth, p, m)?;
        }
        Verb::Check(args) => {
            let target = args.target.is_none();
            apply_server(&mut args.server, p, m, target);
            apply_tls(&mut args.tls, p, m)?;
        }
        Verb::Size(args) => {
            let target = args.target.is_none();
            apply_server(&mut args.server, p, m, target);
            apply_tls(&mut args.tls, p, m)?;
            if !given(m, "from") && p.from.is_some() {
                args.from = p.from.clone();
            }
        }
        // The profile's sender is for messages; verify's sender has its own default.
        Verb::Verify(args) => {
            apply_server(&mut args.server, p, m, true);
            apply_tls(&mut args.tls, p, m)?;
        }
        // `bench merge` reads files: no profile applies.
        Verb::Bench(args) if args.action.is_some() => {}
        // bench's --server is required on the command line: one server is loaded.
        Verb::Bench(args) => {
            apply_server(&mut args.server, p, m, false);
            apply_tls(&mut args.tls, p, m)?;
            apply_auth(&mut args.auth, p, m)?;
            if !given(m, "from") && p.from.is_some() {
                args.from = p.from.clone();
            }
        }
        Verb::Session(args) => {
            let target = args.target.is_none();
            apply_server(&mut args.server, p, m, target);
            apply_tls(&mut args.tls, p, m)?;
            apply_auth(&mut args.auth, p, m)?;
        }
        // A profile describes a server to talk to; serve is the server.
        Verb::Mx(_) | Verb::Domain(_) | Verb::Serve(_) | Verb::Config(_) | Verb::Generate(_) => {}
    }
    Ok(())
}

fn apply_server(server: &mut ServerArgs, p: &Profile, m: &ArgMatches, may_set_server: bool) {
    // A Unix socket or a pipe is the server: a profile's server would contradict it.
    let elsewhere = server.transport.socket.is_some() || server.transport.pipe.is_some();
    if may_set_server && !elsewhere && !given(m, "server") && p.server.is_some() {
        server.server = p.server.clone();
    }
    if !given(m, "port")
        && let Some(port) = p.port
    {
        server.port = port;
    }
    if !given(m, "helo") && p.helo.is_some() {
        server.helo = p.helo.clone();
    }
}

fn apply_tls(tls: &mut TlsArgs, p: &Profile, m: &ArgMatches) -> Result<(), String> {
    if !given(m, "tls")
        && let Some(mode) = &p.tls
    {
        tls.tls = Some(<TlsMode as clap::ValueEnum>::from_str(mode, false)?);
    }
    if !given(m, "tls_ca")
        && let Some(ca) = &p.tls_ca
    {
        tls.tls_ca = vec![ca.clone()];
    }
    Ok(())
}

fn apply_auth(auth: &mut AuthArgs, p: &Profile, m: &ArgMatches) -> Result<(), String> {
    if !given(m, "user") && p.user.is_some() {
        auth.user = p.user.clone();
    }
    if !given(m, "auth")
        && let Some(mech) = &p.auth
    {
        auth.auth = Some(<AuthMech as clap::ValueEnum>::from_str(mech, false)?);
    }
    let any_source = ["password_file", "password_env", "password_command"]
        .iter()
        .any(|id| given(m, id));
    if !any_source {
        if p.password_command.is_some() {
            auth.password_command = p.password_command.clone();
        }
        if p.password_file.is_some() {
            auth.password_file = p.password_file.clone();
        }
    }
    Ok(())
}
