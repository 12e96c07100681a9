//! `smtpx session`: the arguments of the interactive session.

use clap::Args;

use super::{AuthArgs, OutputArgs, ServerArgs, TlsArgs};

/// `smtpx session`.
#[derive(Debug, Args)]
pub struct SessionArgs {
    /// The server: HOST[:PORT], IP or [IPv6]:PORT, or a mail domain (its first usable MX)
    #[arg(
        value_name = "DOMAIN|HOST[:PORT]",
        required_unless_present_any = ["server", "socket", "pipe"],
        conflicts_with_all = ["server", "socket", "pipe"]
    )]
    pub target: Option<String>,
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub auth: AuthArgs,
    /// Keep no history of typed lines (on a terminal, lines other than AUTH are kept in
    /// $XDG_STATE_HOME/smtpx/history)
    #[arg(long, help_heading = "Input")]
    pub no_history: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}
