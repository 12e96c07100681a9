//! `--tls-policy`: which of a recipient domain's TLS policies MX routing obeys.

use clap::{Args, ValueEnum};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TlsPolicyChoice {
    /// DANE where an MX host publishes DNSSEC-secure TLSA records, else the domain's
    /// MTA-STS policy, else opportunistic TLS (what an MTA does)
    Auto,
    /// Deliver only to MX hosts with DNSSEC-secure TLSA records, authenticated by them
    Dane,
    /// Deliver only to MX hosts the MTA-STS policy names, with a WebPKI-valid
    /// certificate, even when the policy is in testing mode
    MtaSts,
    /// Ignore both: opportunistic TLS
    None,
}

#[derive(Debug, Args, Clone, Default)]
pub struct TlsPolicyArgs {
    /// Recipient domain TLS policy to obey when routing by MX (no --server) [default: auto,
    /// or none with --tls none, --tls implicit or --tls-no-verify]
    #[arg(long, value_enum, value_name = "POLICY", help_heading = "TLS")]
    pub tls_policy: Option<TlsPolicyChoice>,
    /// Fetch MTA-STS policies from this port instead of 443 (private test setups only)
    #[arg(
        long,
        value_name = "PORT",
        default_value_t = 443,
        hide = true,
        help_heading = "TLS"
    )]
    pub mta_sts_port: u16,
}
