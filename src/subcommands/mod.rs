//! One runner per subcommand: validated plan in, outcome and exit code out.

pub mod check;
pub mod expn;
pub mod generate;
pub mod mx;
pub mod plan;
pub mod send;
pub mod size;
pub mod vrfy;

use crate::cli::{Cli, Verb};

/// Runs the parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> u8 {
    match cli.verb {
        Verb::Send(args) => send::run(*args),
        Verb::Mx(args) => mx::run(args),
        Verb::Check(args) => check::run(*args),
        Verb::Vrfy(args) => vrfy::run(*args),
        Verb::Expn(args) => expn::run(*args),
        Verb::Size(args) => size::run(*args),
        Verb::Generate(args) => generate::run(&args),
    }
}
