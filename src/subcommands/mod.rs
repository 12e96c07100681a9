//! One runner per subcommand: validated plan in, outcome and exit code out.

pub mod bench;
pub mod chain_file;
pub mod check;
pub mod config;
pub mod domain;
pub mod expn;
pub mod generate;
pub mod interactive;
pub mod mx;
pub mod plan;
pub mod profile;
pub mod send;
pub mod serve;
pub mod size;
pub mod tls_policy;
pub mod verify;
pub mod vrfy;

use crate::cli::Verb;

/// Parses the process's arguments (with the config profile underneath) and runs the
/// subcommand; returns the process exit code.
pub fn main() -> u8 {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // A script that asked for JSON reads a result line even when the arguments were bad.
    let json = args.iter().any(|a| a == "--json");
    match profile::parse(args) {
        Ok(parsed) => run(parsed),
        Err(failure) => {
            let message = match failure {
                profile::ParseFailure::Usage(e) => crate::render::usage_error(&e),
                profile::ParseFailure::Config(message) => {
                    crate::render::error_line(&message);
                    message
                }
            };
            if json {
                crate::render::json::usage_result(&message);
            }
            crate::outcome::ExitCode::Usage.code()
        }
    }
}

/// Runs a parsed command line.
pub fn run(parsed: profile::Parsed) -> u8 {
    match parsed.cli.verb {
        Verb::Send(args) => send::run(*args),
        Verb::Mx(args) => mx::run(args),
        Verb::Domain(args) => domain::run(*args),
        Verb::Check(args) => check::run(*args),
        Verb::Vrfy(args) => vrfy::run(*args),
        Verb::Expn(args) => expn::run(*args),
        Verb::Size(args) => size::run(*args),
        Verb::Bench(args) => bench::run(*args),
        Verb::Verify(args) => verify::run(*args),
        Verb::Session(args) => interactive::run(*args),
        Verb::Serve(args) => serve::run(*args),
        Verb::Config(ref args) => config::run(args, &parsed),
        Verb::Generate(args) => generate::run(&args),
    }
}
