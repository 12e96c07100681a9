//! The command-line surface (clap derive). Describes what was typed; no behaviour.
//! Help, man pages and completions are all generated from these definitions.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod bench;
mod domain;
pub mod exit;
mod policy;
pub mod serve;
mod session;

pub use crate::render::palette::ColorChoice;
pub use bench::{BenchAction, BenchArgs, BenchMergeArgs, MAX_MESSAGE_BYTES, MAX_MESSAGES};
pub use domain::DomainArgs;
pub use policy::{TlsPolicyArgs, TlsPolicyChoice};
pub use session::SessionArgs;

#[derive(Debug, Parser)]
#[command(
    name = "smtpx",
    version,
    about = "SMTP client and diagnostic tool: every command and reply, shown as it happens",
    long_about = "smtpx opens an SMTP session and walks through the conversation - greeting, EHLO, \
                  STARTTLS, AUTH, MAIL FROM, RCPT TO, DATA, QUIT - printing every command it sends \
                  and every reply it gets, with reply codes, timing and TLS details.",
    after_help = exit::top_help(),
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub verb: Verb,
    /// Config file [default: $XDG_CONFIG_HOME/smtpx/config.toml or ~/.config/smtpx/config.toml]
    #[arg(long, global = true, value_name = "FILE", env = "SMTPX_CONFIG")]
    pub config: Option<PathBuf>,
    /// Use this profile from the config file (flags still win)
    #[arg(long, global = true, value_name = "NAME", env = "SMTPX_PROFILE")]
    pub profile: Option<String>,
}

/// The subcommands. (`Command` is SMTP's word, so this is `Verb`.)
#[derive(Debug, Subcommand)]
pub enum Verb {
    /// Send a message and show the whole SMTP conversation
    #[command(after_help = exit::help(exit::SEND))]
    Send(Box<SendArgs>),
    /// Show a domain's mail routing: MX hosts, addresses, null MX, implicit MX
    #[command(after_help = exit::help(exit::MX))]
    Mx(MxArgs),
    /// Check a domain's mail security from DNS and HTTPS alone: DNSSEC, MX, DANE, MTA-STS,
    /// TLS-RPT, SPF, DMARC and DKIM, each with a pass/warn/fail verdict and its reason
    #[command(after_help = exit::help(exit::DOMAIN))]
    Domain(Box<DomainArgs>),
    /// Diagnose a mail server: banner, reverse DNS, EHLO, STARTTLS and certificate, VRFY,
    /// EXPN, TURN, timing, and a pass/warn/fail verdict list
    #[command(after_help = exit::help(exit::CHECK))]
    Check(Box<CheckArgs>),
    /// Ask a server to verify addresses (VRFY), with the RFC 5321 meaning of each reply
    #[command(after_help = exit::help(exit::QUERY))]
    Vrfy(Box<VrfyArgs>),
    /// Ask a server to expand mailing lists (EXPN), listing the members it returns
    #[command(after_help = exit::help(exit::QUERY))]
    Expn(Box<ExpnArgs>),
    /// Show a server's advertised message size limit and probe what MAIL FROM ... SIZE=n
    /// accepts, without sending a message
    #[command(after_help = exit::help(exit::SIZE))]
    Size(Box<SizeArgs>),
    /// Verify addresses in bulk by asking each domain's MX hosts at RCPT TO (nothing is
    /// sent), with a catch-all probe per domain and a progress bar
    #[command(after_help = exit::help(exit::VERIFY))]
    Verify(Box<VerifyArgs>),
    /// Load-test a server: many messages over parallel sessions, with PIPELINING, and a
    /// report of counts, throughput and latency percentiles (like Postfix's smtp-source)
    #[command(
        after_help = exit::help(exit::BENCH),
        // `bench merge FILES` runs no load: the load flags go with `bench` alone.
        args_conflicts_with_subcommands = true,
        subcommand_negates_reqs = true,
        mut_arg("server", |a| a
            .required_unless_present_any(["socket", "pipe"])
            .help("Server to load: HOST, HOST:PORT, IPv4:PORT or [IPv6]:PORT (bench does not route by MX)")),
        // One server is loaded; no MX lookup happens, so the DNS options do nothing.
        mut_arg("dns_server", |a| a.hide(true)),
        mut_arg("dns_timeout", |a| a.hide(true)),
        mut_arg("max_hops", |a| a.hide(true)),
    )]
    Bench(Box<BenchArgs>),
    /// Type SMTP by hand, with smtpx doing STARTTLS, AUTH, dot-stuffing and reply
    /// meanings: a telnet or `openssl s_client` that knows SMTP
    #[command(after_help = exit::help(exit::SESSION))]
    Session(Box<SessionArgs>),
    /// Run a local SMTP server that catches mail (Maildir, mbox or discard), shows each
    /// session, and refuses, delays or drops on request
    #[command(after_help = exit::help(exit::SERVE))]
    Serve(Box<serve::ServeArgs>),
    /// Show the settings a profile resolves to (secrets redacted)
    #[command(after_help = exit::help(exit::CONFIG))]
    Config(ConfigArgs),
    /// Regenerate man pages and shell completions (for packagers)
    #[command(hide = true)]
    Generate(GenerateArgs),
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub action: ConfigAction,
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print the resolved settings of the selected profile, and where each came from
    Show {
        #[command(flatten)]
        output: OutputArgs,
    },
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Directory to write man pages into
    #[arg(long, default_value = "man")]
    pub man_dir: PathBuf,
    /// Directory to write shell completions into
    #[arg(long, default_value = "completions")]
    pub completions_dir: PathBuf,
}

/// Where to connect and how long to wait.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Connection")]
pub struct ServerArgs {
    /// Server to talk to: HOST, HOST:PORT, IPv4:PORT or [IPv6]:PORT [default: the MX hosts of each recipient's domain]
    #[arg(short, long, value_name = "HOST[:PORT]", conflicts_with_all = ["socket", "pipe"], help_heading = "Connection")]
    pub server: Option<String>,
    /// Port, when --server gives none (1-65535)
    #[arg(short, long, default_value_t = 25, value_parser = clap::value_parser!(u16).range(1..), help_heading = "Connection")]
    pub port: u16,
    #[command(flatten)]
    pub dns: DnsArgs,
    #[command(flatten)]
    pub transport: TransportArgs,
    /// Most MX hosts/addresses to try for one domain (at least 2, RFC 5321 §5.1)
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(2..=100), help_heading = "DNS")]
    pub max_hops: u16,
    /// Use IPv4 addresses only
    #[arg(
        short = '4',
        long = "ipv4",
        conflicts_with = "ipv6",
        help_heading = "Connection"
    )]
    pub ipv4: bool,
    /// Use IPv6 addresses only
    #[arg(short = '6', long = "ipv6", help_heading = "Connection")]
    pub ipv6: bool,
    /// Name to send in EHLO/HELO [default: this host's name if fully qualified, else the
    /// address literal of our end of the connection, e.g. [127.0.0.1]]. An IDN name
    /// goes as A-labels
    #[arg(long, value_name = "NAME", help_heading = "Connection")]
    pub helo: Option<String>,
    /// One deadline for the whole run, e.g. 30s, 1m30s, or 30 (seconds)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Timeouts")]
    pub timeout: Option<Duration>,
    /// TCP connect timeout
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "30s", help_heading = "Timeouts")]
    pub connect_timeout: Duration,
    /// Wait for the greeting (RFC 5321 §4.5.3.2.1)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5m", help_heading = "Timeouts")]
    pub greeting_timeout: Duration,
    /// Wait for replies to EHLO, MAIL, RCPT and other commands (§4.5.3.2.2-3)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5m", help_heading = "Timeouts")]
    pub command_timeout: Duration,
    /// Wait for the reply to DATA (§4.5.3.2.4)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "2m", help_heading = "Timeouts")]
    pub data_timeout: Duration,
    /// Wait for each block of message content to be written (§4.5.3.2.5)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "3m", help_heading = "Timeouts")]
    pub data_block_timeout: Duration,
    /// Wait for the reply to the final dot (§4.5.3.2.6)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "10m", help_heading = "Timeouts")]
    pub final_timeout: Duration,
}

/// `--proxy-protocol` versions (haproxy's proxy-protocol.txt).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProxyProtocol {
    /// The text header: PROXY TCP4 SOURCE DEST SPORT DPORT
    #[value(alias = "1")]
    V1,
    /// The binary header
    #[value(alias = "2")]
    V2,
}

/// Ways to reach the server other than a direct TCP connection, and what to say
/// before SMTP starts. TLS and everything else work the same over each.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Transport")]
pub struct TransportArgs {
    /// Talk to the server over the Unix domain socket PATH instead of TCP
    #[arg(long, value_name = "PATH", conflicts_with_all = ["pipe", "socks5", "local_addr"], help_heading = "Transport")]
    pub socket: Option<PathBuf>,
    /// Run COMMAND and speak SMTP over its stdin and stdout, e.g. 'sendmail -bs' or
    /// 'exim -bh 192.0.2.1' (split into words like a shell, with simple quoting; no shell
    /// runs). Its stderr is shown marked; at the end its stdin is closed and its exit
    /// status reported (killed if it does not exit within 5s)
    #[arg(long, value_name = "COMMAND", conflicts_with_all = ["socks5", "local_addr"], help_heading = "Transport")]
    pub pipe: Option<String>,
    /// Connect from this source address, and port if given: IP, IP:PORT or [IPv6]:PORT
    /// (bench and verify, which open many connections, take no port)
    #[arg(
        long,
        value_name = "IP[:PORT]",
        visible_alias = "local-interface",
        help_heading = "Transport"
    )]
    pub local_addr: Option<String>,
    /// Send a HAProxy PROXY protocol header (v1 text, v2 binary) before anything else
    #[arg(
        long,
        value_enum,
        value_name = "VERSION",
        visible_alias = "proxy-version",
        help_heading = "Transport"
    )]
    pub proxy_protocol: Option<ProxyProtocol>,
    /// Client address the PROXY header names [default: our end of the connection]
    #[arg(
        long,
        value_name = "IP:PORT",
        requires = "proxy_protocol",
        help_heading = "Transport"
    )]
    pub proxy_source: Option<String>,
    /// Server address the PROXY header names [default: the server's end of the connection]
    #[arg(
        long,
        value_name = "IP:PORT",
        requires = "proxy_protocol",
        help_heading = "Transport"
    )]
    pub proxy_dest: Option<String>,
    /// Connect through the SOCKS5 proxy HOST[:PORT] (RFC 1928; port 1080 by default);
    /// the server's name goes to the proxy unresolved
    #[arg(long, value_name = "HOST[:PORT]", help_heading = "Transport")]
    pub socks5: Option<String>,
    /// User name for the SOCKS5 proxy (RFC 1929); the password comes from
    /// --socks5-password-file, --socks5-password-env, --socks5-password-command or a prompt
    #[arg(
        long,
        value_name = "NAME",
        requires = "socks5",
        help_heading = "Transport"
    )]
    pub socks5_user: Option<String>,
    /// Read the SOCKS5 password from FILE; refused if group- or world-readable
    #[arg(
        long,
        value_name = "FILE",
        group = "socks5_secret",
        requires = "socks5_user",
        help_heading = "Transport"
    )]
    pub socks5_password_file: Option<PathBuf>,
    /// Read the SOCKS5 password from the environment variable VAR
    #[arg(
        long,
        value_name = "VAR",
        group = "socks5_secret",
        requires = "socks5_user",
        help_heading = "Transport"
    )]
    pub socks5_password_env: Option<String>,
    /// Run CMD with sh -c and use its output as the SOCKS5 password
    #[arg(
        long,
        value_name = "CMD",
        group = "socks5_secret",
        requires = "socks5_user",
        help_heading = "Transport"
    )]
    pub socks5_password_command: Option<String>,
}

/// `--tls` modes (RFC 3207 STARTTLS, RFC 8314 implicit TLS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TlsMode {
    /// STARTTLS is required: no plaintext fallback
    Starttls,
    /// TLS from the first byte (port 465)
    Implicit,
    /// STARTTLS when offered, otherwise plaintext (clearly labelled)
    Opportunistic,
    /// Never use TLS
    None,
}

/// TLS settings shared by every subcommand that opens a session.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "TLS")]
pub struct TlsArgs {
    /// TLS mode [default: implicit on port 465, starttls on 587, otherwise opportunistic]
    #[arg(long, value_enum, value_name = "MODE", help_heading = "TLS")]
    pub tls: Option<TlsMode>,
    /// PEM bundle of CA certificates to trust besides the built-in roots (repeatable)
    #[arg(long, value_name = "FILE", help_heading = "TLS")]
    pub tls_ca: Vec<PathBuf>,
    /// Name to send as SNI and to verify the certificate against [default: the server's host name]
    #[arg(long, value_name = "NAME", help_heading = "TLS")]
    pub tls_server_name: Option<String>,
    /// Do not verify the server's certificate (every later line is labelled unverified)
    #[arg(long, help_heading = "TLS")]
    pub tls_no_verify: bool,
    /// Client certificate chain (PEM), with --tls-key
    #[arg(long, value_name = "FILE", requires = "tls_key", help_heading = "TLS")]
    pub tls_cert: Option<PathBuf>,
    /// Client private key (PEM), with --tls-cert
    #[arg(long, value_name = "FILE", requires = "tls_cert", help_heading = "TLS")]
    pub tls_key: Option<PathBuf>,
    /// Lowest TLS version to offer (TLS 1.0 and 1.1 are never offered)
    #[arg(long, value_name = "VERSION", value_parser = ["1.2", "1.3"], help_heading = "TLS")]
    pub tls_min: Option<String>,
}

/// Where DNS questions go.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "DNS")]
pub struct DnsArgs {
    /// Send DNS queries (MX, A, AAAA, PTR) to this server instead of the system's resolvers
    #[arg(long, value_name = "IP[:PORT]", help_heading = "DNS")]
    pub dns_server: Option<String>,
    /// Deadline for each DNS lookup
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5s", help_heading = "DNS")]
    pub dns_timeout: Duration,
    /// Validate DNSSEC from the DS or DNSKEY records in FILE (zone-file syntax) instead of the built-in root trust anchor
    #[arg(long, value_name = "FILE", help_heading = "DNS")]
    pub dns_trust_anchor: Option<PathBuf>,
    /// Do not validate DNSSEC: every answer's status is "unchecked" (for resolvers that
    /// strip DNSSEC records, and private trees without signatures)
    #[arg(long, conflicts_with = "dns_trust_anchor", help_heading = "DNS")]
    pub no_dnssec: bool,
}

#[derive(Debug, Args)]
pub struct MxArgs {
    /// Domains to look up
    #[arg(required = true, value_name = "DOMAIN")]
    pub domains: Vec<String>,
    #[command(flatten)]
    pub dns: DnsArgs,
    /// Show IPv4 addresses only
    #[arg(
        short = '4',
        long = "ipv4",
        conflicts_with = "ipv6",
        help_heading = "DNS"
    )]
    pub ipv4: bool,
    /// Show IPv6 addresses only
    #[arg(short = '6', long = "ipv6", help_heading = "DNS")]
    pub ipv6: bool,
    /// Validate DNSSEC and show each answer's status (implied by --dns-trust-anchor)
    #[arg(long, help_heading = "DNS")]
    pub dnssec: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// SASL mechanisms for `--auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthMech {
    /// The strongest mechanism the server offers after TLS
    Auto,
    Plain,
    Login,
    #[value(name = "cram-md5")]
    CramMd5,
    #[value(name = "scram-sha-256")]
    ScramSha256,
    Xoauth2,
    Oauthbearer,
}

/// Authentication (RFC 4954). No flag takes the secret itself: it comes from a file, an
/// environment variable, a command, or a prompt.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Authentication")]
pub struct AuthArgs {
    /// Authenticate with this mechanism (needs --user)
    #[arg(
        long,
        value_enum,
        value_name = "MECH",
        requires = "user",
        help_heading = "Authentication"
    )]
    pub auth: Option<AuthMech>,
    /// User name to authenticate as (implies --auth auto)
    #[arg(long, value_name = "NAME", help_heading = "Authentication")]
    pub user: Option<String>,
    /// Read the password (or OAuth token) from FILE; refused if group- or world-readable
    #[arg(
        long,
        value_name = "FILE",
        group = "secret_source",
        help_heading = "Authentication"
    )]
    pub password_file: Option<PathBuf>,
    /// Read the password (or OAuth token) from the environment variable VAR
    #[arg(
        long,
        value_name = "VAR",
        group = "secret_source",
        help_heading = "Authentication"
    )]
    pub password_env: Option<String>,
    /// Run CMD with sh -c and use its output as the password or token (like msmtp's passwordeval)
    #[arg(
        long,
        value_name = "CMD",
        group = "secret_source",
        help_heading = "Authentication"
    )]
    pub password_command: Option<String>,
    /// Show AUTH exchanges unredacted (prints a warning)
    #[arg(long, help_heading = "Authentication")]
    pub show_secrets: bool,
    /// Allow credentials over plaintext, and PLAIN/LOGIN over unverified TLS (lab servers only)
    #[arg(long, help_heading = "Authentication")]
    pub allow_insecure_auth: bool,
}

/// `smtpx check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A domain (each of its MX hosts is checked; with no MX, the domain itself as an
    /// implicit MX), or one server as HOST:PORT, IP or [IPv6]:PORT
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
    /// Also test whether the server relays mail from an outside sender to an outside
    /// recipient; decided at RCPT, DATA is never sent
    #[arg(long, help_heading = "Relay test")]
    pub relay_test: bool,
    /// Outside sender for --relay-test
    #[arg(
        long,
        value_name = "ADDRESS",
        default_value = "smtpx-relay-test@example.com",
        requires = "relay_test",
        help_heading = "Relay test"
    )]
    pub relay_from: String,
    /// Outside recipient for --relay-test
    #[arg(
        long,
        value_name = "ADDRESS",
        default_value = "smtpx-relay-test@example.net",
        requires = "relay_test",
        help_heading = "Relay test"
    )]
    pub relay_to: String,
    /// Fetch MTA-STS policies from this port instead of 443 (private test setups only)
    #[arg(long, value_name = "PORT", default_value_t = 443, hide = true)]
    pub mta_sts_port: u16,
    #[command(flatten)]
    pub keep: KeepArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `smtpx vrfy`.
#[derive(Debug, Args)]
pub struct VrfyArgs {
    /// Addresses or user names to verify, one VRFY each [without --server, each must
    /// be an address: its domain's MX hosts are asked]
    #[arg(required = true, value_name = "ADDRESS")]
    pub addresses: Vec<String>,
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub tls_policy: TlsPolicyArgs,
    #[command(flatten)]
    pub auth: AuthArgs,
    #[command(flatten)]
    pub keep: KeepArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `smtpx expn`.
#[derive(Debug, Args)]
pub struct ExpnArgs {
    /// Mailing lists to expand, one EXPN each [without --server, each must be an
    /// address: its domain's MX hosts are asked]
    #[arg(required = true, value_name = "LIST")]
    pub lists: Vec<String>,
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub auth: AuthArgs,
    #[command(flatten)]
    pub keep: KeepArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `smtpx size`.
#[derive(Debug, Args)]
pub struct SizeArgs {
    /// A domain (its first reachable MX host is probed) or one server as HOST:PORT, IP
    /// or [IPv6]:PORT
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
    /// Envelope sender of the MAIL probes [default: $USER@this host]
    #[arg(short, long, value_name = "ADDRESS", help_heading = "Probe")]
    pub from: Option<String>,
    /// When the server advertises SIZE with no limit, search for the largest declaration
    /// it accepts (at most 20 MAIL commands)
    #[arg(long, help_heading = "Probe")]
    pub probe: bool,
    #[command(flatten)]
    pub keep: KeepArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `smtpx verify --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerifyFormat {
    /// Aligned columns: address, verdict, reply
    Table,
    /// RFC 4180 CSV with a header line: line,address,verdict,code,enhanced,detail,host
    Csv,
    /// One JSON object per address, then a result object with the counts
    Jsonl,
}

/// `smtpx verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Addresses to verify [default: read from --file, or one per line from stdin]
    #[arg(value_name = "ADDRESS", conflicts_with = "file")]
    pub addresses: Vec<String>,
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub tls_policy: TlsPolicyArgs,
    /// Read addresses from FILE ('-' for stdin), one per line; blank lines, lines
    /// starting with '#', CRLF line ends and a UTF-8 BOM are fine, and a bad line is
    /// reported by its number without stopping the run
    #[arg(long, value_name = "FILE", help_heading = "Input")]
    pub file: Option<PathBuf>,
    /// Envelope sender of the probes [default: postmaster@ the EHLO name when that is a
    /// domain (--helo, or this host's name when fully qualified), else the null sender
    /// <>, as callout verifiers use]
    #[arg(short, long, value_name = "ADDRESS", help_heading = "Verification")]
    pub from: Option<String>,
    /// Output format [default: table; jsonl with --json; only the counts with -q]
    #[arg(long, value_enum, value_name = "FORMAT", conflicts_with_all = ["json", "quiet"], help_heading = "Output")]
    pub format: Option<VerifyFormat>,
    /// Sessions (and MX lookups) at once, over all domains
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256), help_heading = "Verification")]
    pub concurrency: u16,
    /// Sessions at once to one MX host (or to --server). Each carries the host's domains
    /// one after another (RSET between them); a domain with more than 100 addresses is
    /// shared among up to N sessions
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64), help_heading = "Verification")]
    pub per_host: u16,
    /// At most N RCPT commands a second to one host, 0 for no limit [default: 10 with MX
    /// routing; no limit with --server]
    #[arg(long, value_name = "N", help_heading = "Verification")]
    pub rate: Option<u32>,
    /// Ask addresses that got a temporary (4xx) answer once more after DURATION, in the
    /// same run, e.g. 5m for greylisting [default: report them as temporary at once]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Verification")]
    pub retry_temporary: Option<Duration>,
    /// Send commands one at a time even when the server offers PIPELINING
    #[arg(long, help_heading = "Verification")]
    pub no_pipelining: bool,
    /// RCPTs per pipelined transaction, the catch-all probe included [default: learnt per
    /// host from its reply times, between 5 and 100]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=100), help_heading = "Verification")]
    pub batch: Option<u16>,
    /// Record each verdict in STATE as it is decided (append-only, synced after each
    /// batch); when STATE exists, decide only the addresses it lacks and print its
    /// verdicts first, so the output is complete. Refused (exit 2) when STATE was made
    /// for another input or with other verdict-changing options
    #[arg(long, value_name = "STATE", help_heading = "Scale")]
    pub resume: Option<PathBuf>,
    /// Verify only the K-th of N shares of the input, chosen by domain (a fixed hash of
    /// it), so that N runs, anywhere, verify the whole list once between them
    #[arg(long, value_name = "K/N", value_parser = parse_shard, help_heading = "Scale")]
    pub shard: Option<crate::verify::Shard>,
    /// Show each session's commands and replies on stderr, tagged with the domain
    #[arg(short, long, conflicts_with = "quiet", help_heading = "Output")]
    pub verbose: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Files a session-running subcommand can leave behind: a copy of what it prints, and
/// the certificate chain the server presented.
#[derive(Debug, Args, Clone, Default)]
pub struct KeepArgs {
    /// Also write the output to FILE, without colour: the transcript with its warnings
    /// (all of it under -q), or the JSON lines with --json. FILE is created with mode
    /// 0600 and must not exist
    #[arg(
        long = "output",
        visible_alias = "output-file",
        value_name = "FILE",
        help_heading = "Output"
    )]
    pub output_file: Option<PathBuf>,
    /// Write the certificate chain the server presents to FILE as PEM, leaf first, even
    /// when it fails verification; a later handshake of the same run (another MX host)
    /// is appended. Certificates are public: the file gets the usual mode
    #[arg(long, value_name = "FILE", help_heading = "TLS")]
    pub tls_save_chain: Option<PathBuf>,
}

/// How results are shown.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Print only the outcome line
    #[arg(short, long, conflicts_with = "json", help_heading = "Output")]
    pub quiet: bool,
    /// One JSON object per event and a final result object, one per line
    #[arg(long, help_heading = "Output")]
    pub json: bool,
    /// Hide timings, for stable output
    #[arg(long, help_heading = "Output")]
    pub no_timing: bool,
    /// When to colour the output
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN", help_heading = "Output")]
    pub color: ColorChoice,
}

/// Where `--quit-after` stops the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QuitAfter {
    /// After the TCP connection is made (closes without QUIT: there is no greeting yet)
    Connect,
    /// After the server's greeting
    Greeting,
    /// After EHLO (or HELO)
    Ehlo,
    /// After the TLS handshake and the EHLO that follows it
    Tls,
    /// After a successful AUTH
    Auth,
    /// After MAIL FROM
    Mail,
    /// After RCPT TO (checks recipients without sending a message)
    Rcpt,
}

/// Where `--drop-after` closes the connection, without QUIT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DropAfter {
    /// Once the TCP connection is made (and the TLS handshake, with implicit TLS)
    Connect,
    /// After the server's greeting
    Greeting,
    /// After EHLO (or HELO)
    Ehlo,
    /// After the TLS handshake and the EHLO that follows it
    Tls,
    /// After a successful AUTH
    Auth,
    /// After the reply to MAIL FROM
    Mail,
    /// After the replies to RCPT TO
    Rcpt,
    /// After DATA's 354, before any content (DATA is used even with --chunking)
    Data,
    /// After the reply to the end of the message: the message is sent
    Dot,
}

/// `--protocol` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Protocol {
    /// SMTP (RFC 5321): EHLO, one reply to the message
    Smtp,
    /// LMTP (RFC 2033): LHLO, one reply per accepted recipient to the message
    Lmtp,
}

/// `--dsn-notify` values (RFC 3461 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DsnNotify {
    /// No notification at all (cannot be combined)
    Never,
    /// When the message is delivered
    Success,
    /// When delivery fails
    Failure,
    /// When delivery is delayed
    Delay,
}

/// `--dsn-ret` values (RFC 3461 §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DsnRet {
    /// The whole message
    Full,
    /// Its headers only
    Hdrs,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub tls_policy: TlsPolicyArgs,
    #[command(flatten)]
    pub auth: AuthArgs,
    /// Envelope sender and From header, ADDRESS or 'Name <ADDRESS>'; '' or '<>' for the
    /// null sender [default: $USER@this host]
    #[arg(short, long, value_name = "ADDRESS", help_heading = "Message")]
    pub from: Option<String>,
    /// Recipient, ADDRESS or 'Name <ADDRESS>' (repeatable, or a comma-separated list as
    /// in swaks). IDN domains go as A-labels; a non-ASCII local part needs a server
    /// offering SMTPUTF8. Required unless --quit-after stops before RCPT
    #[arg(short, long, value_name = "ADDRESS", help_heading = "Message")]
    pub to: Vec<String>,
    /// Carbon-copy recipient: envelope and Cc header (repeatable or comma-separated)
    #[arg(long, value_name = "ADDRESS", help_heading = "Message")]
    pub cc: Vec<String>,
    /// Blind-copy recipient: envelope only, never in a header (repeatable or comma-separated)
    #[arg(long, value_name = "ADDRESS", help_heading = "Message")]
    pub bcc: Vec<String>,
    /// Subject header (non-ASCII is RFC 2047-encoded)
    #[arg(long, help_heading = "Message")]
    pub subject: Option<String>,
    /// Extra header, 'Name: value' (repeatable; replaces a generated header of that name)
    #[arg(
        long = "header",
        short = 'H',
        value_name = "NAME: VALUE",
        help_heading = "Message"
    )]
    pub headers: Vec<String>,
    /// Add a header, 'Name: value' (repeatable), after the others, even when one of that
    /// name is generated or given with --header (swaks' --add-header)
    #[arg(
        long = "add-header",
        value_name = "NAME: VALUE",
        help_heading = "Message"
    )]
    pub add_headers: Vec<String>,
    /// Message body text
    #[arg(long, group = "content", help_heading = "Message")]
    pub body: Option<String>,
    /// Read the body text from FILE ('-' for stdin)
    #[arg(long, value_name = "FILE", group = "content", help_heading = "Message")]
    pub body_file: Option<PathBuf>,
    /// HTML body; with a text body (--body, --body-file) the two go as multipart/alternative
    #[arg(
        long,
        value_name = "HTML",
        group = "html_content",
        conflicts_with = "data",
        help_heading = "Message"
    )]
    pub html: Option<String>,
    /// Read the HTML body from FILE ('-' for stdin)
    #[arg(
        long,
        value_name = "FILE",
        group = "html_content",
        conflicts_with = "data",
        help_heading = "Message"
    )]
    pub html_file: Option<PathBuf>,
    /// Attach FILE, base64-encoded, with a content type from its name (repeatable)
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "data",
        help_heading = "Message"
    )]
    pub attach: Vec<PathBuf>,
    /// File name the next --attach goes by in the message [default: its own name]; with
    /// no NAME, that attachment carries no file name (as in swaks)
    #[arg(
        long,
        value_name = "NAME",
        num_args = 0..=1,
        default_missing_value = "",
        conflicts_with = "data",
        help_heading = "Message"
    )]
    pub attach_name: Vec<String>,
    /// Content type of every --attach that follows, e.g. application/pdf (as in swaks)
    /// [default: from each file's name]
    #[arg(
        long,
        value_name = "TYPE",
        conflicts_with = "data",
        help_heading = "Message"
    )]
    pub attach_type: Vec<String>,
    /// --attach, --attach-name and --attach-type in the order they were typed, which
    /// decides what names and types apply to (filled in from the parsed matches).
    #[arg(skip)]
    pub attach_order: Vec<AttachArg>,
    /// Send FILE as the complete message, as it is ('-' for stdin); no headers are added.
    /// Memory stays bounded for any size. A file is scanned first: 8-bit content goes
    /// with BODY=8BITMIME, or is refused by a server without it. Stdin cannot be scanned
    /// ahead: it is declared 8BITMIME when offered, and otherwise stopped, unsent, at its
    /// first 8-bit byte
    #[arg(long, value_name = "FILE", group = "content", conflicts_with_all = ["subject", "headers", "add_headers"], help_heading = "Message")]
    pub data: Option<PathBuf>,
    /// Send an empty --data message instead of refusing it
    #[arg(long, requires = "data", help_heading = "Message")]
    pub allow_empty: bool,
    /// Print the composed message (headers and body, as it would be sent) and exit
    /// without connecting; with --dkim-key, the signed message (a --data one too)
    #[arg(long, conflicts_with_all = ["json", "quit_after", "output_file"], help_heading = "Message")]
    pub print: bool,
    /// Sign the message with DKIM (RFC 6376) using the PEM private key in FILE: RSA
    /// (PKCS#8 or PKCS#1, at least 1024 bits) signs rsa-sha256, Ed25519 (PKCS#8)
    /// ed25519-sha256 (RFC 8463); the type comes from the file. Relaxed/relaxed, with
    /// From, Reply-To, Subject, Date, To, Cc, Message-ID, In-Reply-To, References,
    /// MIME-Version, Content-Type, Content-Transfer-Encoding and List-Unsubscribe signed
    /// when present and From oversigned. A --data
    /// message (file or stdin) is read whole to sign it, at most 100 MiB. A key file
    /// others can read is a warning
    #[arg(
        long,
        value_name = "FILE",
        requires = "dkim_selector",
        help_heading = "DKIM signing"
    )]
    pub dkim_key: Option<PathBuf>,
    /// DKIM selector: the key record is published at SELECTOR._domainkey.DOMAIN
    #[arg(
        long,
        value_name = "SELECTOR",
        requires = "dkim_key",
        help_heading = "DKIM signing"
    )]
    pub dkim_selector: Option<String>,
    /// Signing domain (d=) [default: the From header's domain, so DMARC aligns]
    #[arg(
        long,
        value_name = "DOMAIN",
        requires = "dkim_key",
        help_heading = "DKIM signing"
    )]
    pub dkim_domain: Option<String>,
    /// Stop after this step and QUIT; no message is ever sent. Steps before MAIL need no
    /// --to; `auth` needs --user, `tls` a TLS mode other than none (any case: RCPT works)
    #[arg(
        long,
        value_enum,
        ignore_case = true,
        value_name = "STEP",
        help_heading = "Session"
    )]
    pub quit_after: Option<QuitAfter>,
    /// Close the connection after this step, without QUIT, to see how the server handles
    /// an abandoned session (swaks' --drop-after); smtpx never sends QUIT then, also
    /// when a refusal ends the session sooner. Every step but `dot` sends no message
    #[arg(
        long,
        value_enum,
        ignore_case = true,
        value_name = "STEP",
        conflicts_with_all = ["quit_after", "print"],
        help_heading = "Session"
    )]
    pub drop_after: Option<DropAfter>,
    /// Send commands one at a time even when the server offers PIPELINING
    #[arg(long, help_heading = "Session")]
    pub no_pipelining: bool,
    /// Send the message in BDAT chunks (RFC 3030) when the server offers CHUNKING, with
    /// BODY=BINARYMIME when the content needs it and it is offered [default: DATA]
    #[arg(long, help_heading = "Session")]
    pub chunking: bool,
    /// Protocol to speak: smtp, or lmtp (RFC 2033: LHLO, one reply per accepted recipient
    /// after the message). LMTP needs --server with a port other than 25
    #[arg(
        long,
        value_enum,
        ignore_case = true,
        value_name = "PROTOCOL",
        default_value = "smtp",
        help_heading = "Protocol"
    )]
    pub protocol: Protocol,
    /// Ask for per-recipient replies to the message (PRDR, offered by Exim): MAIL FROM
    /// ... PRDR, then one reply per accepted recipient after the final dot, each counted.
    /// A server that does not offer PRDR gets a normal transaction, with a warning
    #[arg(long, help_heading = "Protocol")]
    pub prdr: bool,
    /// Require TLS all the way to the recipient (RFC 8689): MAIL FROM ... REQUIRETLS.
    /// Refused before MAIL (exit 5) unless the session is TLS with a verified certificate
    /// and the server offers REQUIRETLS
    #[arg(long, help_heading = "Protocol")]
    pub requiretls: bool,
    /// Postfix XCLIENT attribute, ATTR=VALUE (repeatable): ADDR, NAME, PORT, PROTO,
    /// HELO, LOGIN, DESTADDR, DESTPORT, REVERSE_NAME. Sent after TLS, followed by EHLO
    /// again; only the attributes the server lists; refused before MAIL (exit 7) when
    /// the server does not offer XCLIENT
    #[arg(long, value_name = "ATTR=VALUE", help_heading = "Forwarded client")]
    pub xclient: Vec<String>,
    /// Postfix XFORWARD attribute, ATTR=VALUE (repeatable): NAME, ADDR, PORT, PROTO,
    /// HELO, IDENT, SOURCE. Sent before MAIL; only the attributes the server lists;
    /// refused before MAIL (exit 7) when the server does not offer XFORWARD
    #[arg(long, value_name = "ATTR=VALUE", help_heading = "Forwarded client")]
    pub xforward: Vec<String>,
    /// Ask for delivery status notifications (RFC 3461): 'never', or a comma-separated
    /// list of success, failure, delay. Sent when the server offers DSN, with ORCPT
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        value_name = "WHEN",
        help_heading = "Delivery status notifications"
    )]
    pub dsn_notify: Vec<DsnNotify>,
    /// What a failure notification returns: the full message or its headers only
    #[arg(
        long,
        value_enum,
        value_name = "WHAT",
        help_heading = "Delivery status notifications"
    )]
    pub dsn_ret: Option<DsnRet>,
    /// Envelope identifier that every notification carries back (RFC 3461 §4.4)
    #[arg(
        long,
        value_name = "ID",
        help_heading = "Delivery status notifications"
    )]
    pub dsn_envid: Option<String>,
    /// Show the message content line by line in the transcript, after DATA or BDAT, with
    /// control characters escaped (swaks' default) [default: one summary line]
    #[arg(long, help_heading = "Output")]
    pub show_data: bool,
    #[command(flatten)]
    pub keep: KeepArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `--shard K/N`.
fn parse_shard(s: &str) -> Result<crate::verify::Shard, String> {
    crate::verify::Shard::parse(s)
}

/// One of `--attach`, `--attach-name` and `--attach-type`, in command-line order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttachArg {
    File(PathBuf),
    Name(String),
    Type(String),
}

impl SendArgs {
    /// Records the order of the attachment flags from clap's matches of `send`: a name
    /// applies to the next --attach, a type to every --attach after it (swaks' rules).
    pub fn order_attachments(&mut self, m: &clap::ArgMatches) {
        let mut order: Vec<(usize, AttachArg)> = Vec::new();
        let mut collect = |id: &str, make: &dyn Fn(usize) -> AttachArg| {
            if let Some(indices) = m.indices_of(id) {
                order.extend(indices.enumerate().map(|(i, at)| (at, make(i))));
            }
        };
        collect("attach", &|i| AttachArg::File(self.attach[i].clone()));
        collect("attach_name", &|i| {
            AttachArg::Name(self.attach_name[i].clone())
        });
        collect("attach_type", &|i| {
            AttachArg::Type(self.attach_type[i].clone())
        });
        order.sort_by_key(|(at, _)| *at);
        self.attach_order = order.into_iter().map(|(_, a)| a).collect();
    }
}

/// A duration as humantime reads it (`30s`, `2m`, `1m30s`), or a bare number of seconds
/// as swaks and curl take it (`--timeout 5`).
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = match s.trim().parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => humantime::parse_duration(s)
            .map_err(|e| format!("{e} (examples: 30, 30s, 2m, 1m30s)"))?,
    };
    if d.is_zero() {
        return Err("must be greater than zero".into());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    /// The heading a flag belongs under, from what it is about; None for flags that may
    /// sit under their subcommand's own headings.
    fn expected_heading(id: &str) -> Option<&'static str> {
        Some(match id {
            "server" | "port" | "ipv4" | "ipv6" | "helo" => "Connection",
            "dns_server" | "dns_timeout" | "max_hops" => "DNS",
            "socket" | "pipe" | "local_addr" => "Transport",
            id if id.starts_with("proxy_") || id.starts_with("socks5") => "Transport",
            "auth"
            | "user"
            | "password_file"
            | "password_env"
            | "password_command"
            | "show_secrets"
            | "allow_insecure_auth" => "Authentication",
            "quiet" | "json" | "no_timing" | "color" | "format" | "verbose" | "show_data"
            | "output_file" => "Output",
            "quit_after" | "drop_after" | "no_pipelining" | "chunking" => return None,
            "protocol" | "prdr" | "requiretls" => "Protocol",
            "xclient" | "xforward" => "Forwarded client",
            id if id.starts_with("tls") => "TLS",
            id if id.ends_with("timeout") => "Timeouts",
            id if id.starts_with("dsn_") => "Delivery status notifications",
            id if id.starts_with("relay_") => "Relay test",
            "html" | "html_file" | "attach" | "data" | "print" | "body" | "body_file"
            | "subject" | "headers" | "cc" | "bcc" | "add_headers" | "attach_name"
            | "attach_type" => "Message",
            _ => return None,
        })
    }

    #[test]
    fn every_flag_sits_under_its_own_heading() {
        let cmd = Cli::command();
        for sub in cmd.get_subcommands() {
            for arg in sub.get_arguments() {
                let id = arg.get_id().as_str();
                if arg.is_positional() || matches!(id, "help" | "version" | "config" | "profile") {
                    continue;
                }
                let heading = arg.get_help_heading();
                assert!(
                    heading.is_some() || sub.get_name() == "config" || sub.get_name() == "generate",
                    "{} --{id} has no heading",
                    sub.get_name()
                );
                if let Some(want) = expected_heading(id) {
                    // mx and serve group their own flags; the shared ones stay put.
                    let own = matches!(
                        (sub.get_name(), id),
                        ("mx", "ipv4" | "ipv6")
                            | ("serve", "idle_timeout")
                            | ("domain", "fetch_timeout")
                    );
                    if !own {
                        assert_eq!(heading, Some(want), "{} --{id}", sub.get_name());
                    }
                }
            }
        }
    }

    #[test]
    fn swaks_habits_are_understood() {
        let cli = Cli::try_parse_from([
            "smtpx",
            "send",
            "--to",
            "a@x.example,b@y.example",
            "--quit-after",
            "RCPT",
            "--timeout",
            "5",
        ])
        .unwrap();
        let Verb::Send(args) = cli.verb else { panic!() };
        assert_eq!(args.quit_after, Some(QuitAfter::Rcpt));
        assert_eq!(args.server.timeout, Some(Duration::from_secs(5)));
        assert_eq!(args.to, ["a@x.example,b@y.example"]);
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("5 parsecs").is_err());
    }

    #[test]
    fn port_zero_is_a_usage_error() {
        for argv in [
            &["smtpx", "send", "--to", "a@b.c", "-p", "0"][..],
            &["smtpx", "check", "h", "-p", "0"],
            &["smtpx", "bench", "-s", "h", "-p", "0"],
        ] {
            assert!(Cli::try_parse_from(argv).is_err(), "{argv:?}");
        }
    }

    #[test]
    fn parses_a_send() {
        let cli = Cli::try_parse_from([
            "smtpx",
            "send",
            "-s",
            "[::1]:2525",
            "--from",
            "a@b.c",
            "--to",
            "d@e.f",
            "--to",
            "g@h.i",
            "--body",
            "x",
            "--timeout",
            "1m30s",
            "--quit-after",
            "rcpt",
        ])
        .unwrap();
        let Verb::Send(args) = cli.verb else { panic!() };
        assert_eq!(args.server.server.as_deref(), Some("[::1]:2525"));
        assert_eq!(args.to.len(), 2);
        assert_eq!(args.server.timeout, Some(Duration::from_secs(90)));
        assert_eq!(args.quit_after, Some(QuitAfter::Rcpt));
    }

    #[test]
    fn parses_the_diagnosis_subcommands() {
        let cli = Cli::try_parse_from(["smtpx", "check", "example.org", "--relay-test"]).unwrap();
        let Verb::Check(args) = cli.verb else {
            panic!()
        };
        assert_eq!(args.target.as_deref(), Some("example.org"));
        assert!(args.relay_test);
        assert_eq!(args.relay_to, "smtpx-relay-test@example.net");
        let cli = Cli::try_parse_from(["smtpx", "check", "-s", "127.0.0.1:2525"]).unwrap();
        let Verb::Check(args) = cli.verb else {
            panic!()
        };
        assert_eq!(args.server.server.as_deref(), Some("127.0.0.1:2525"));
        assert!(Cli::try_parse_from(["smtpx", "check"]).is_err());
        assert!(Cli::try_parse_from(["smtpx", "check", "a.org", "-s", "b.org"]).is_err());
        assert!(Cli::try_parse_from(["smtpx", "check", "a.org", "--relay-to", "x@y.z"]).is_err());

        let cli = Cli::try_parse_from(["smtpx", "vrfy", "bob", "alice@x.org", "-s", "h"]).unwrap();
        let Verb::Vrfy(args) = cli.verb else { panic!() };
        assert_eq!(args.addresses, ["bob", "alice@x.org"]);
        assert!(Cli::try_parse_from(["smtpx", "expn"]).is_err());
        let cli = Cli::try_parse_from(["smtpx", "size", "[::1]:25", "--probe"]).unwrap();
        let Verb::Size(args) = cli.verb else { panic!() };
        assert!(args.probe && args.target.as_deref() == Some("[::1]:25"));
    }

    #[test]
    fn parses_a_verify() {
        let cli = Cli::try_parse_from([
            "smtpx",
            "verify",
            "a@b.example",
            "c@d.example",
            "--per-host",
            "4",
            "--retry-temporary",
            "5m",
            "--format",
            "csv",
            "-v",
        ])
        .unwrap();
        let Verb::Verify(args) = cli.verb else {
            panic!()
        };
        assert_eq!(args.addresses.len(), 2);
        assert_eq!(args.per_host, 4);
        assert_eq!(args.concurrency, 8);
        assert_eq!(args.retry_temporary, Some(Duration::from_secs(300)));
        assert_eq!(args.format, Some(VerifyFormat::Csv));
        assert!(args.verbose);
        for bad in [
            &["a@b.c", "--file", "x"][..],
            &["--format", "jsonl", "--json"],
            &["--format", "csv", "-q"],
            &["-v", "-q"],
            &["--concurrency", "0"],
            &["--retry-temporary", "0s"],
        ] {
            let mut argv = vec!["smtpx", "verify"];
            argv.extend_from_slice(bad);
            assert!(Cli::try_parse_from(&argv).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn message_and_extension_flags() {
        let cli = Cli::try_parse_from([
            "smtpx",
            "send",
            "--to",
            "a@b.c",
            "--html",
            "<p>x</p>",
            "--attach",
            "a.pdf",
            "--attach",
            "b.png",
            "--chunking",
            "--dsn-notify",
            "success,failure",
            "--dsn-ret",
            "hdrs",
            "--print",
        ])
        .unwrap();
        let Verb::Send(args) = cli.verb else { panic!() };
        assert_eq!(args.attach.len(), 2);
        assert!(args.chunking && args.print);
        assert_eq!(
            args.dsn_notify,
            vec![DsnNotify::Success, DsnNotify::Failure]
        );
        assert_eq!(args.dsn_ret, Some(DsnRet::Hdrs));
        for bad in [
            &["--html", "x", "--html-file", "f"][..],
            &["--data", "f", "--attach", "a"],
            &["--print", "--json"],
            &["--dsn-notify", "sometimes"],
        ] {
            let mut argv = vec!["smtpx", "send", "--to", "a@b.c"];
            argv.extend_from_slice(bad);
            assert!(Cli::try_parse_from(&argv).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn body_sources_conflict() {
        let r = Cli::try_parse_from([
            "smtpx", "send", "--to", "a@b.c", "--body", "x", "--data", "-",
        ]);
        assert!(r.is_err());
        let r = Cli::try_parse_from(["smtpx", "send", "--to", "a@b.c", "--timeout", "0s"]);
        assert!(r.is_err());
    }
}
