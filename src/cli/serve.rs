//! `smtpx serve`: the local server's command line.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::{OutputArgs, parse_duration};

/// The default `--size`: 32 MiB.
pub const DEFAULT_SIZE: u64 = 32 * 1024 * 1024;

/// `smtpx serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Listen for SMTP on ADDR:PORT (repeatable; port 0 picks a free one, printed first).
    /// An address that is not loopback listens to the network: name it only on purpose
    /// [default: 127.0.0.1:2525]
    #[arg(long, value_name = "ADDR:PORT", help_heading = "Listening")]
    pub listen: Vec<String>,
    /// Listen for implicit TLS (RFC 8314, as on port 465) on ADDR:PORT (repeatable;
    /// needs a certificate)
    #[arg(long, value_name = "ADDR:PORT", help_heading = "Listening")]
    pub listen_tls: Vec<String>,
    /// Name in the greeting, the EHLO reply and the Received field [default: localhost]
    #[arg(long, value_name = "NAME", help_heading = "Listening")]
    pub hostname: Option<String>,

    /// Store each message as one file in this Maildir (created if missing), moved into
    /// new/ once complete
    #[arg(long, value_name = "DIR", group = "storage", help_heading = "Storage")]
    pub maildir: Option<PathBuf>,
    /// Append each message to this mbox file (mboxrd quoting, LF line ends)
    #[arg(long, value_name = "FILE", group = "storage", help_heading = "Storage")]
    pub mbox: Option<PathBuf>,
    /// Accept messages and keep nothing (the default when no storage is named)
    #[arg(long, group = "storage", help_heading = "Storage")]
    pub discard: bool,

    /// Certificate chain (PEM) for STARTTLS and --listen-tls, with --tls-key
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_key",
        conflicts_with = "tls_self_signed",
        help_heading = "TLS"
    )]
    pub tls_cert: Option<PathBuf>,
    /// Private key (PEM) of --tls-cert
    #[arg(long, value_name = "FILE", requires = "tls_cert", help_heading = "TLS")]
    pub tls_key: Option<PathBuf>,
    /// Make a certificate at start (for localhost, 127.0.0.1, ::1 and --hostname); its
    /// SHA-256 is printed so that a client can pin it
    #[arg(long, help_heading = "TLS")]
    pub tls_self_signed: bool,
    /// Write the certificate in use (PEM) to FILE, e.g. for `smtpx send --tls-ca FILE`
    #[arg(long, value_name = "FILE", help_heading = "TLS")]
    pub tls_cert_out: Option<PathBuf>,

    /// Offer AUTH (SCRAM-SHA-256, CRAM-MD5, PLAIN, LOGIN) for the user:password lines of
    /// FILE; refused if group- or world-readable
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "auth_any",
        help_heading = "Authentication"
    )]
    pub users: Option<PathBuf>,
    /// Offer AUTH (CRAM-MD5, PLAIN, LOGIN) and accept any user name and password
    #[arg(long, help_heading = "Authentication")]
    pub auth_any: bool,
    /// Offer AUTH before TLS too (by default only after STARTTLS or on --listen-tls)
    #[arg(long, help_heading = "Authentication")]
    pub allow_insecure_auth: bool,

    /// Answer STAGE with this reply instead: STAGE=CODE [TEXT], STAGE one of greeting,
    /// ehlo, starttls, auth, mail, rcpt, data, dot, quit (repeatable). A 421 closes the
    /// connection
    #[arg(long, value_name = "STAGE=CODE [TEXT]", help_heading = "Faults")]
    pub reply: Vec<String>,
    /// Answer RCPT for recipients matching PATTERN (* and ? wildcards, any case) with
    /// this reply: PATTERN=CODE [TEXT] (repeatable; the first match wins)
    #[arg(long, value_name = "PATTERN=CODE [TEXT]", help_heading = "Faults")]
    pub reply_rcpt: Vec<String>,
    /// Wait before answering STAGE: STAGE=DURATION, e.g. greeting=5s (repeatable)
    #[arg(long, value_name = "STAGE=DURATION", help_heading = "Faults")]
    pub delay: Vec<String>,
    /// Close the connection at STAGE without a reply (repeatable)
    #[arg(long, value_name = "STAGE", help_heading = "Faults")]
    pub drop: Vec<String>,
    /// Apply the faults above only to every Nth transaction (mail, rcpt, data, dot) and
    /// every Nth session (greeting, ehlo, starttls, auth, quit)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), help_heading = "Faults")]
    pub fail_every: Option<u64>,

    /// Stop after accepting this many messages
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), help_heading = "Limits")]
    pub max_messages: Option<u64>,
    /// Stop after this many sessions (connections) have ended
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), help_heading = "Limits")]
    pub max_sessions: Option<u64>,
    /// Largest message accepted, advertised as SIZE (RFC 1870); k, m suffixes; 0 for no
    /// limit
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_SIZE, value_parser = super::bench::parse_size, help_heading = "Limits")]
    pub size: u64,
    /// Recipients per message; more get 452 (RFC 5321 §4.5.3.1.10)
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(100..=1_000_000), help_heading = "Limits")]
    pub max_recipients: u64,
    /// Commands per session before it is closed with 421
    #[arg(long, value_name = "N", default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..), help_heading = "Limits")]
    pub max_commands: u64,
    /// Sessions at once; more are answered 421 and closed
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=10_000), help_heading = "Limits")]
    pub max_concurrent: u64,
    /// Close a session that sends nothing for this long (RFC 5321 §4.5.3.2.7: 5 minutes)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5m", help_heading = "Limits")]
    pub idle_timeout: Duration,

    #[command(flatten)]
    pub output: OutputArgs,
}
