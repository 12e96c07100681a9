//! `smtpx bench`: the load generator's command line.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

use super::{AuthArgs, OutputArgs, ServerArgs, TlsArgs, parse_duration};

/// The most messages one run may send: a guard against a typo that would load a server
/// for days. `--duration` runs until its time is up or this many went.
pub const MAX_MESSAGES: u64 = 10_000_000;

/// `smtpx bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub auth: AuthArgs,
    /// Messages to send [default: 1000; with --duration, until the time is up, at most
    /// 10000000]
    #[arg(short = 'n', long, value_name = "MESSAGES", value_parser = clap::value_parser!(u64).range(1..=MAX_MESSAGES), help_heading = "Load")]
    pub messages: Option<u64>,
    /// Sessions (connections) in parallel
    #[arg(short = 'c', long, value_name = "SESSIONS", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000), help_heading = "Load")]
    pub sessions: u32,
    /// Messages per connection before reconnecting [default: as many as there are]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), help_heading = "Load")]
    pub per_session: Option<u64>,
    /// Stop starting messages after this long, even if some remain (e.g. 30s, 5m)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Load")]
    pub duration: Option<Duration>,
    /// Start at most this many messages per second, over all sessions: N, N/s, N/m or N/h
    #[arg(long, value_name = "RATE", help_heading = "Load")]
    pub rate: Option<String>,
    /// Envelope sender and From header [default: $USER@this host]
    #[arg(short, long, value_name = "ADDRESS", help_heading = "Message")]
    pub from: Option<String>,
    // clap's help turns the two characters of the plain counter into a line break, so
    // the text points at the default value, which shows it as it is.
    /// Recipient, or a pattern with a counter, as in the default: it numbers every
    /// recipient of the run (1, 2, ...); {n%K} cycles through 1..K
    #[arg(
        short,
        long,
        value_name = "ADDRESS",
        default_value = "bench{n}@example.test",
        help_heading = "Message"
    )]
    pub to: String,
    /// Recipients per message
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000), help_heading = "Message")]
    pub rcpts: u32,
    /// Size of the generated body in bytes (headers not included, as smtp-source -l);
    /// a k or m suffix means KiB or MiB
    #[arg(long, value_name = "BYTES", default_value = "1024", value_parser = parse_size, conflicts_with = "data", help_heading = "Message")]
    pub size: u64,
    /// Send this file as every message, as it is (read once, held in memory)
    #[arg(long, value_name = "FILE", help_heading = "Message")]
    pub data: Option<PathBuf>,
    /// Send the content with BDAT (RFC 3030) when the server offers CHUNKING
    #[arg(long, help_heading = "Session")]
    pub chunking: bool,
    /// Send one command at a time even when the server offers PIPELINING
    #[arg(long, help_heading = "Session")]
    pub no_pipelining: bool,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(subcommand)]
    pub action: Option<BenchAction>,
}

/// What `smtpx bench` does besides loading a server.
#[derive(Debug, Subcommand)]
pub enum BenchAction {
    /// Join the --json reports of many bench runs (other machines, other times) into the
    /// report of one run that did all their work: counts add, latency histograms add, so
    /// the percentiles are exact
    #[command(after_help = super::exit::help(super::exit::BENCH_MERGE))]
    Merge(BenchMergeArgs),
}

/// `smtpx bench merge`.
#[derive(Debug, Args)]
pub struct BenchMergeArgs {
    /// Files of smtpx bench --json output (each {"type": "bench"} object in them is one
    /// run), or - for stdin
    #[arg(value_name = "REPORT", required = true)]
    pub reports: Vec<PathBuf>,
    /// Merge reports of different servers or differently shaped messages anyway (the
    /// first report's values are shown, the differences noted)
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// The largest generated body or `--data` file: every message shares one copy, but it
/// is held in memory.
pub const MAX_MESSAGE_BYTES: u64 = 100 * 1024 * 1024;

pub(super) fn parse_size(s: &str) -> Result<u64, String> {
    let (digits, unit) = match s.trim().to_ascii_lowercase() {
        t if t.ends_with('k') => (t[..t.len() - 1].to_string(), 1024),
        t if t.ends_with('m') => (t[..t.len() - 1].to_string(), 1024 * 1024),
        t => (t, 1),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("'{s}' is not a size (examples: 1024, 100k, 1m)"))?;
    let bytes = n.saturating_mul(unit);
    if bytes > MAX_MESSAGE_BYTES {
        return Err(format!("at most {MAX_MESSAGE_BYTES} bytes (100m)"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::super::{Cli, Verb};
    use super::*;
    use clap::Parser;

    #[test]
    fn merge_is_a_subcommand_beside_the_load_flags() {
        let parse = |argv: &[&str]| {
            Cli::try_parse_from(argv).map(|cli| match cli.verb {
                Verb::Bench(b) => *b,
                _ => unreachable!(),
            })
        };
        let b = parse(&[
            "smtpx", "bench", "merge", "a.json", "-", "--force", "--json",
        ])
        .unwrap();
        let Some(BenchAction::Merge(m)) = b.action else {
            panic!("{b:?}")
        };
        assert_eq!(m.reports, [PathBuf::from("a.json"), PathBuf::from("-")]);
        assert!(m.force && m.output.json);
        assert!(bench(&["-n", "5"]).unwrap().action.is_none());
        for bad in [
            &["smtpx", "bench", "merge"][..],
            &["smtpx", "bench", "-s", "h", "merge", "a.json"],
            &["smtpx", "bench", "merge", "a.json", "-n", "5"],
            &["smtpx", "bench"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    fn bench(extra: &[&str]) -> Result<BenchArgs, clap::Error> {
        let mut argv = vec!["smtpx", "bench", "-s", "127.0.0.1:2525"];
        argv.extend_from_slice(extra);
        Cli::try_parse_from(argv).map(|cli| match cli.verb {
            Verb::Bench(b) => *b,
            _ => unreachable!(),
        })
    }

    #[test]
    fn defaults_and_shapes() {
        let b = bench(&[]).unwrap();
        assert_eq!(
            (b.messages, b.sessions, b.rcpts, b.size),
            (None, 1, 1, 1024)
        );
        assert_eq!(b.to, "bench{n}@example.test");
        let b = bench(&[
            "-n",
            "20000",
            "-c",
            "50",
            "--per-session",
            "100",
            "--size",
            "100k",
            "--rcpts",
            "3",
            "--rate",
            "200/s",
            "--duration",
            "1m",
            "--chunking",
            "--json",
        ])
        .unwrap();
        assert_eq!(b.messages, Some(20_000));
        assert_eq!(b.sessions, 50);
        assert_eq!(b.per_session, Some(100));
        assert_eq!(b.size, 102_400);
        assert_eq!(b.duration, Some(Duration::from_secs(60)));
        assert!(b.chunking && b.output.json);
    }

    #[test]
    fn bounds_are_enforced() {
        for bad in [
            &["-n", "0"][..],
            &["-n", "10000001"],
            &["-c", "0"],
            &["-c", "1001"],
            &["--per-session", "0"],
            &["--rcpts", "0"],
            &["--size", "101m"],
            &["--size", "lots"],
            &["--duration", "0s"],
            &["--size", "10", "--data", "m.eml"],
        ] {
            assert!(bench(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_size("1m"), Ok(1_048_576));
        assert_eq!(parse_size("0"), Ok(0));
    }
}
