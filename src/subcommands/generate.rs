//! `smtpx generate` (hidden): writes man pages and shell completions from the clap
//! definitions, so they never drift from the CLI.

use crate::cli::GenerateArgs;

pub fn run(args: &GenerateArgs) -> u8 {
    match crate::docs::write_all(&args.man_dir, &args.completions_dir) {
        Ok(_) => 0,
        Err(e) => {
            crate::render::error_line(&format!("writing man pages and completions: {e}"));
            1
        }
    }
}
