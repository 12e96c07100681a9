//! `smtpx verify`: many addresses, grouped by domain, each domain's MX hosts asked at
//! RCPT TO (never DATA) with one catch-all probe; each verdict is printed the moment
//! it is decided, so an interrupted run keeps everything it learnt.

mod drive;
mod resume;
mod spill;

use std::collections::{HashMap, HashSet};
use std::io::{BufReader, IsTerminal};
use std::sync::Arc;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::time::Duration;

use tokio::time::Instant;

use super::plan::{self, io_words};
use crate::cli::{VerifyArgs, VerifyFormat};
use crate::dns::Dns;
use crate::net::target::Target;
use crate::outcome::{ExitCode, Phase};
use crate::render::verify::{self as view, Format, Output, WriterOptions};
use crate::render::{Status, Summary};
use crate::session::Timeouts;
use crate::session::open::{OpenPlan, host_name};
use crate::smtp::ReversePath;
use crate::verify::state::Header;
use crate::verify::{Entry, Shard, input};
use resume::State;

/// Messages the writer may have queued before a sender waits: enough to keep the
/// sessions busy, small enough that a slow terminal bounds memory.
const OUTPUT_QUEUE: usize = 256;

/// The arguments, validated: everything the sessions need besides the addresses.
pub(crate) struct Plan {
    /// `--from`, or [`crate::verify::default_sender`].
    pub from: ReversePath,
    /// `--server`, instead of MX routing.
    pub target: Option<Target>,
    pub open: OpenPlan,
    pub dns: Option<Dns>,
    pub server: crate::cli::ServerArgs,
    pub pipelining: bool,
    /// `--batch`: a fixed pipelined batch size instead of the learnt one.
    pub batch: Option<usize>,
    /// RCPTs a second to one host; None for no limit.
    pub rate: Option<u32>,
    pub retry_temporary: Option<Duration>,
    pub concurrency: usize,
    pub per_host: usize,
    pub verbose: bool,
    pub timeouts: Timeouts,
    pub started: Instant,
    pub overall: Option<Instant>,
    /// Tell the writer when a batch is over, so that it syncs the `--resume` state.
    pub checkpoints: bool,
    /// `--tls-policy` when routing by MX.
    pub tls_policy: Option<crate::subcommands::tls_policy::PolicyPlan>,
}

/// The input, read and grouped: addresses by domain (first seen first), bad lines apart.
pub(crate) struct AddressList {
    pub entries: Vec<Entry>,
    /// Lower-case ASCII domain and the ids (indexes into `entries`) of its addresses.
    pub domains: Vec<(String, Vec<usize>)>,
    pub invalid: Vec<usize>,
    pub duplicates: usize,
    /// Addresses an earlier run decided (`--resume`): counted, not asked again.
    pub recorded: usize,
}

impl AddressList {
    /// Groups entries by domain and drops repeats of an address (its domain compared
    /// case-insensitively, its local part exactly: RFC 5321 §2.4).
    #[cfg(test)]
    pub fn new(entries: impl IntoIterator<Item = Entry>) -> AddressList {
        AddressList::resumed(entries, |_| false)
    }

    /// Like [`AddressList::new`], leaving out the lines `recorded` says an earlier run
    /// decided. Repeats are still found among all lines, so a run and its resumption
    /// skip the same ones.
    pub fn resumed(
        entries: impl IntoIterator<Item = Entry>,
        recorded: impl Fn(u64) -> bool,
    ) -> AddressList {
        let mut list = AddressList {
            entries: Vec::new(),
            domains: Vec::new(),
            invalid: Vec::new(),
            duplicates: 0,
            recorded: 0,
        };
        let mut seen: HashSet<(String, String)> = HashSet::new();
        let mut by_domain: HashMap<String, usize> = HashMap::new();
        for entry in entries {
            let id = list.entries.len();
            let done = recorded(entry.line);
            match &entry.parsed {
                Err(_) if done => {}
                Err(_) => list.invalid.push(id),
                Ok(address) => {
                    let domain = address.domain().as_str().to_ascii_lowercase();
                    if !seen.insert((address.local_part().to_string(), domain.clone())) {
                        list.duplicates += 1;
                        continue;
                    }
                    if done {
                        list.recorded += 1;
                        continue;
                    }
                    let slot = *by_domain.entry(domain.clone()).or_insert_with(|| {
                        list.domains.push((domain, Vec::new()));
                        list.domains.len() - 1
                    });
                    list.domains[slot].1.push(id);
                }
            }
            if done {
                list.recorded += 1;
                continue;
            }
            list.entries.push(entry);
        }
        list
    }

    #[cfg(test)]
    pub fn total(&self) -> usize {
        self.entries.len() + self.recorded
    }
}

pub fn run(args: VerifyArgs) -> u8 {
    let options = plan::render_options(&args.output);
    // clap keeps --format, --json and -q apart.
    let format = match (args.format, args.output.json, args.output.quiet) {
        (Some(VerifyFormat::Csv), ..) => Format::Csv,
        (Some(VerifyFormat::Jsonl), ..) | (None, true, _) => Format::Jsonl,
        (None, false, true) => Format::Quiet,
        (Some(VerifyFormat::Table), ..) | (None, false, false) => Format::Table,
    };
    let plan = match validate(&args) {
        Ok(p) => p,
        Err(msg) => return usage_error(&msg, format),
    };
    // An empty share is no error: its N-1 siblings have the list between them.
    let shard = args.shard.unwrap_or(Shard::ALL);
    let (spill, digest) = match read_input(&args, shard) {
        Ok((_, 0, _)) => return usage_error("no addresses to verify", format),
        Ok((spill, _, digest)) => (spill, digest),
        Err(msg) => return usage_error(&msg, format),
    };
    let mut state = match &args.resume {
        None => None,
        Some(path) => match State::open(path, &header(&args, &plan, digest)) {
            Ok(state) => Some(state),
            Err(msg) => return usage_error(&msg, format),
        },
    };
    let done = state
        .as_mut()
        .map(|s| std::mem::take(&mut s.done))
        .unwrap_or_default();
    let total = spill.count;
    let input = drive::Input::new(spill, done);
    let replay = match state.as_ref().map(State::replay).transpose() {
        Ok(replay) => replay,
        Err(msg) => return usage_error(&msg, format),
    };
    let runtime = match plan::runtime() {
        Ok(rt) => rt,
        Err(msg) => return usage_error(&msg, format),
    };
    let quiet_terminal = std::env::var_os("CI").is_some() || !std::io::stderr().is_terminal();
    let writer = WriterOptions {
        format,
        palette: options.palette,
        timing: options.timing,
        progress: matches!(format, Format::Table | Format::Csv) && !quiet_terminal,
        // Less the repeats, counted as the buckets are read.
        total,
        duplicates: 0,
        arguments: !args.addresses.is_empty(),
    };
    let (tx, rx) = sync_channel(OUTPUT_QUEUE);
    let printer = std::thread::spawn(move || {
        let mut state = state;
        let journal = state.as_mut().map(|s| s as &mut dyn view::Journal);
        view::write_all(rx, writer, journal)
    });
    let _ = tx.send(Output::Sender {
        sender: plan.from.to_string(),
        why: sender_why(&args, &plan.from),
    });
    // What an earlier run decided comes first, in the order it was decided.
    for record in replay.into_iter().flatten() {
        let _ = tx.send(Output::Recorded(record));
    }
    let started = plan.started;
    let finished = runtime.block_on(async {
        let work = drive::verify_all(Arc::new(plan), input, tx.clone());
        tokio::select! {
            () = work => true,
            _ = tokio::signal::ctrl_c() => false,
        }
    });
    if !finished && !writer.progress {
        // The bar, when there was one, takes the echoed ^C away with it.
        crate::render::progress::after_interrupt_std();
    }
    // The work is dropped: its sessions close. Whatever was decided is already queued
    // ahead of the end, so the writer prints it before the counts.
    let _ = tx.send(Output::Finish {
        interrupted: !finished,
        elapsed: started.elapsed(),
    });
    drop(tx);
    runtime.shutdown_background();
    match printer.join() {
        Ok(tally) => tally.exit_code().code(),
        Err(_) => ExitCode::Other.code(),
    }
}

/// Where the sender came from, for the note that shows it.
fn sender_why(args: &VerifyArgs, from: &ReversePath) -> &'static str {
    match (&args.from, from) {
        (Some(_), _) => "--from",
        (None, ReversePath::Null) => {
            "no domain name here for postmaster@, so the null sender, as callout verifiers use; --from sets one"
        }
        (None, ReversePath::Mailbox(_)) => "postmaster at the EHLO name; --from sets one",
    }
}

/// Bad input found before any connection: one line on stderr (and the result object
/// with `--format jsonl`), exit 2.
fn usage_error(message: &str, format: Format) -> u8 {
    crate::render::error_line(message);
    if format == Format::Jsonl {
        let summary = Summary::new(Status::Failed, ExitCode::Usage, message.to_string())
            .with("phase", Phase::Input);
        crate::render::json::JsonLines::new(std::io::stdout(), false).finish(&summary);
    }
    ExitCode::Usage.code()
}

fn validate(args: &VerifyArgs) -> Result<Plan, String> {
    let server = &args.server;
    let target = plan::target(server)?;
    let open = plan::open_plan(server, &args.tls, &Default::default(), None)?;
    plan::many_connections(&open, "verify")?;
    let tls_policy = crate::subcommands::tls_policy::plan(
        &args.tls_policy,
        &args.tls,
        open.tls_mode,
        target.is_none(),
    )?;
    let from = match args.from.as_deref() {
        Some(f) => ReversePath::parse(f)
            .and_then(|p| match p {
                ReversePath::Mailbox(a) => a.with_ascii_domain().map(ReversePath::Mailbox),
                null => Ok(null),
            })
            .map_err(|e| format!("invalid --from '{}': {e}", f.escape_debug()))?,
        None => crate::verify::default_sender(open.helo.clone().or_else(host_name).as_ref()),
    };
    let dns = match target {
        Some(_) => None,
        None => {
            Some(plan::dns_config(server).and_then(|c| Dns::new(&c).map_err(|e| e.to_string()))?)
        }
    };
    // Someone else's MX hosts get a polite pace; one's own server (--server) none.
    let rate = match args.rate {
        Some(0) => None,
        Some(n) => Some(n),
        None if target.is_some() => None,
        None => Some(10),
    };
    let started = Instant::now();
    Ok(Plan {
        checkpoints: args.resume.is_some(),
        tls_policy,
        from,
        open,
        target,
        dns,
        server: server.clone(),
        pipelining: !args.no_pipelining,
        batch: args.batch.map(usize::from),
        rate,
        retry_temporary: args.retry_temporary,
        concurrency: usize::from(args.concurrency),
        per_host: usize::from(args.per_host),
        verbose: args.verbose,
        timeouts: plan::timeouts(server),
        started,
        overall: server.timeout.map(|d| started + d),
    })
}

/// What a `--shard` goes by: the domain in lower case, or the whole text of a line that
/// is not an address.
fn shard_key(entry: &Entry) -> String {
    match &entry.parsed {
        Ok(address) => address.domain().as_str().to_ascii_lowercase(),
        Err(_) => entry.text.clone(),
    }
}

/// What a `--resume` state belongs to: a digest of the input, and each option that can
/// change a verdict as it was given. Concurrency, pace, pipelining and output options
/// may change between a run and its resumption.
fn header(args: &VerifyArgs, plan: &Plan, input: String) -> Header {
    let server = &args.server;
    let given = |v: Option<String>| v.unwrap_or_default();
    let options = [
        ("--from", plan.from.to_string()),
        ("--server", given(server.server.clone())),
        ("--port", server.port.to_string()),
        ("--dns-server", given(server.dns.dns_server.clone())),
        ("--helo", given(server.helo.clone())),
        (
            "--tls",
            given(args.tls.tls.and_then(|m| {
                clap::ValueEnum::to_possible_value(&m).map(|v| v.get_name().to_string())
            })),
        ),
        (
            "--tls-no-verify",
            if args.tls.tls_no_verify { "yes" } else { "" }.into(),
        ),
        (
            "--retry-temporary",
            given(
                args.retry_temporary
                    .map(|d| humantime::format_duration(d).to_string()),
            ),
        ),
        ("--shard", given(args.shard.map(|s| s.to_string()))),
    ];
    Header {
        input,
        options: options
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    }
}

/// A digest of the input as read: every entry, with its number (so a state can tell
/// its own list from another).
struct InputDigest(sha2::Sha256);

impl InputDigest {
    fn new() -> InputDigest {
        InputDigest(sha2::Digest::new())
    }

    fn add(&mut self, e: &Entry) {
        use sha2::Digest;
        self.0.update(e.line.to_string().as_bytes());
        self.0.update(b"\t");
        self.0.update(e.text.as_bytes());
        self.0.update(b"\n");
    }

    fn finish(self) -> String {
        let bytes = sha2::Digest::finalize(self.0);
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
    }
}

/// Arguments, `--file`, or stdin, read through before the first connection, each line
/// bounded, into buckets by domain (only `shard`'s share); with the number of entries
/// read and the input's digest.
fn read_input(args: &VerifyArgs, shard: Shard) -> Result<(spill::Spill, usize, String), String> {
    let mut spill = spill::Spill::new();
    let mut digest = InputDigest::new();
    let keep = |e: &Entry| {
        let key = shard_key(e);
        shard.takes(&key).then_some(key)
    };
    if !args.addresses.is_empty() {
        let entries = input::arguments(&args.addresses);
        for e in &entries {
            digest.add(e);
            if let Some(key) = keep(e) {
                spill
                    .push(e, &key)
                    .map_err(|e| format!("holding the list failed: {}", io_words(&e)))?;
            }
        }
        return Ok((spill, entries.len(), digest.finish()));
    }
    let stdin = || -> Result<Box<dyn std::io::BufRead>, String> {
        Ok(Box::new(BufReader::new(std::io::stdin())))
    };
    let (reader, name): (Box<dyn std::io::BufRead>, String) = match &args.file {
        Some(path) if path.as_os_str() == "-" => (stdin()?, "stdin".into()),
        Some(path) => {
            let file = std::fs::File::open(path)
                .map_err(|e| format!("--file {}: {}", path.display(), io_words(&e)))?;
            (Box::new(BufReader::new(file)), path.display().to_string())
        }
        None if std::io::stdin().is_terminal() => {
            return Err(
                "no addresses: give them as arguments, with --file FILE, or one per line on stdin"
                    .into(),
            );
        }
        None => (stdin()?, "stdin".into()),
    };
    let read = spill::read_into(reader, &mut spill, |e| digest.add(e), keep)
        .map_err(|e| format!("reading {name} failed: {}", io_words(&e)))?;
    Ok((spill, read, digest.finish()))
}

/// Where verdicts go: the writer thread, in order; blocking while its queue is full.
pub(crate) type Sender = SyncSender<Output>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_grouped_by_domain_and_repeats_dropped() {
        let args: Vec<String> = [
            "a@X.example",
            "b@y.example",
            "junk",
            "c@x.example",
            "a@x.example",
            "A@x.example",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let list = AddressList::new(input::arguments(&args));
        assert_eq!(
            list.domains,
            vec![
                ("x.example".to_string(), vec![0, 3, 4]),
                ("y.example".to_string(), vec![1])
            ]
        );
        assert_eq!(list.invalid, vec![2]);
        assert_eq!(list.duplicates, 1, "the local part is case-sensitive");
        assert_eq!(list.total(), 5);
    }
}
