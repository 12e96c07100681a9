//! One runner per subcommand: validated plan in, outcome and exit code out.

pub mod generate;
pub mod mx;
pub mod plan;
pub mod send;

use crate::cli::{Cli, Verb};

/// Runs the parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> u8 {
    match cli.verb {
        Verb::Send(args) => send::run(*args),
        Verb::Mx(args) => mx::run(args),
        Verb::Generate(args) => generate::run(&args),
    }
}
