//! `smtpx domain`: the command line of the domain's mail-security checks.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::{DnsArgs, OutputArgs, parse_duration};

#[derive(Debug, Args)]
pub struct DomainArgs {
    /// Domains to check
    #[arg(required = true, value_name = "DOMAIN")]
    pub domains: Vec<String>,
    /// Check the DKIM key published under this selector (repeatable); selectors cannot
    /// be listed from DNS
    #[arg(long, value_name = "SELECTOR", help_heading = "Checks")]
    pub dkim_selector: Vec<String>,
    /// The SMTP port whose TLSA records are looked up on each MX host
    #[arg(long, value_name = "PORT", default_value_t = 25, value_parser = clap::value_parser!(u16).range(1..), help_heading = "Checks")]
    pub dane_port: u16,
    /// Trust these CA certificates (PEM) for the MTA-STS policy fetch, besides the
    /// public roots (repeatable)
    #[arg(long, value_name = "FILE", help_heading = "TLS")]
    pub tls_ca: Vec<PathBuf>,
    /// Deadline for fetching each MTA-STS policy over HTTPS
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "20s", help_heading = "Checks")]
    pub fetch_timeout: Duration,
    /// Fetch MTA-STS policies from this port instead of 443 (private test setups only)
    #[arg(
        long,
        value_name = "PORT",
        default_value_t = 443,
        hide = true,
        help_heading = "Checks"
    )]
    pub mta_sts_port: u16,
    #[command(flatten)]
    pub dns: DnsArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}
