//! The smtpx binary: parse the command line, run, exit with the documented code.
use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = smtpx::cli::Cli::parse();
    std::process::ExitCode::from(smtpx::subcommands::run(cli))
}
