//! How `smtpx verify` reads: one row per address the moment it is decided (a table,
//! CSV or JSON lines), a progress bar on stderr, tagged transcripts with `-v`, and the
//! counts per verdict at the end — also after Ctrl-C.

use crate::render::plural;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use super::outcome::reply_json;
use super::text::escape_controls;
use super::transcript::Transcript;
use super::{Palette, Status, Summary, format_ms, json::JsonLines};
use crate::outcome::ExitCode;
use crate::session::Timed;
use crate::smtp::Reply;
pub use crate::verify::Record;
use crate::verify::Verdict;

/// Width of the address column of the table; longer addresses push the row along.
const ADDRESS_WIDTH: usize = 36;
/// Longest bad input line shown in the table (CSV and JSON carry it whole).
const SHOWN_INPUT: usize = 60;

/// Bytes of rows gathered before a write when verdicts come faster than they print.
const OUTPUT_BUFFER: usize = 64 * 1024;

/// How long the writer waits for more verdicts before it blocks until the next one.
const GATHER: Duration = Duration::from_millis(1);

/// Where the rows go and how they look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Csv,
    Jsonl,
    /// Only the counts (`-q`).
    Quiet,
}

/// What the writer is told, in order.
pub enum Output {
    /// An address is settled.
    Verdict(Record),
    /// An address settled by an earlier run (`--resume`): shown and counted, not kept
    /// again.
    Recorded(Record),
    /// A batch is over: what was kept so far goes to disk (`--resume`).
    Checkpoint,
    /// Lines that repeat an address, found as the list is worked through.
    Duplicates(usize),
    /// Something went wrong that leaves the result incomplete: said, and exit 1.
    Failed(String),
    /// Settled unless asked again later (`--retry-temporary`): shown only if the run
    /// ends before the second answer. `key` pairs it with that answer.
    Provisional { key: usize, record: Record },
    /// The second answer for a provisional record.
    Settled { key: usize, record: Record },
    /// The sender of the probes and where it came from; sent first.
    Sender { sender: String, why: &'static str },
    /// A server refused the sender at MAIL FROM.
    SenderRefused { sender: String, reply: Reply },
    /// A host closed a session mid-work, which had used this much: later sessions end
    /// before it (said when the limits learnt change).
    SessionLimit {
        host: String,
        why: String,
        resets: usize,
        refusals: usize,
    },
    /// A session event (`-v`), tagged with the domain it belongs to.
    Event { tag: Arc<str>, event: Timed },
    /// The end: print the counts.
    Finish {
        interrupted: bool,
        elapsed: Duration,
    },
}

/// Counts per verdict.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub counts: [usize; Verdict::ALL.len()],
    /// Distinct addresses and bad lines in the input.
    pub total: usize,
    /// Input lines that repeated an address already listed.
    pub duplicates: usize,
    pub interrupted: bool,
    /// Verdicts that came from an earlier run's state (`--resume`).
    pub resumed: usize,
    /// The `--resume` state could not be written: the run must not look complete.
    pub unrecorded: bool,
}

impl Tally {
    pub fn add(&mut self, verdict: Verdict) {
        self.counts[verdict.index()] += 1;
    }

    pub fn decided(&self) -> usize {
        self.counts.iter().sum()
    }

    pub fn exit_code(&self) -> ExitCode {
        if self.interrupted {
            return ExitCode::Interrupted;
        }
        if self.unrecorded {
            return ExitCode::Other;
        }
        crate::verify::verdict::exit_code(
            Verdict::ALL
                .iter()
                .filter(|v| self.counts[v.index()] > 0)
                .copied(),
        )
    }

    fn status(&self) -> Status {
        match self.exit_code() {
            ExitCode::Success => Status::Ok,
            ExitCode::Permanent => Status::Rejected,
            ExitCode::Interrupted | ExitCode::Other => Status::Failed,
            _ => Status::Unknown,
        }
    }

    /// "3 deliverable, 1 undeliverable, 2 invalid", leaving out the zeros.
    pub fn words(&self) -> String {
        let counts: Vec<String> = Verdict::ALL
            .iter()
            .filter(|v| self.counts[v.index()] > 0)
            .map(|v| format!("{} {}", self.counts[v.index()], v.name()))
            .collect();
        let mut words = if self.interrupted {
            format!("{} of {} addresses decided", self.decided(), self.total)
        } else {
            format!(
                "{} address{}",
                self.total,
                if self.total == 1 { "" } else { "es" }
            )
        };
        if !counts.is_empty() {
            words.push_str(": ");
            words.push_str(&counts.join(", "));
        }
        if self.duplicates > 0 {
            words.push_str(&format!(
                "; {} duplicate line{} skipped",
                self.duplicates,
                plural(self.duplicates)
            ));
        }
        if self.resumed > 0 {
            words.push_str(&format!("; {} from the --resume state", self.resumed));
        }
        words
    }

    fn json_counts(&self) -> Value {
        let map: serde_json::Map<String, Value> = Verdict::ALL
            .iter()
            .map(|v| (v.name().to_string(), json!(self.counts[v.index()])))
            .collect();
        Value::Object(map)
    }
}

/// The reply and note of a record as one line of text, control characters escaped. An
/// invalid entry says where it was: `place` is "line" (a file) or "argument".
pub fn detail(record: &Record, place: &str) -> String {
    let mut parts = Vec::new();
    if let Some(reply) = &record.reply {
        parts.push(format!("{} {}", reply.code, reply.lines.join(" ")));
    }
    if let Some(note) = &record.note {
        parts.push(note.clone());
    }
    let text = parts.join("; ");
    let text = if record.verdict == Verdict::Invalid {
        format!("{place} {}: {text}", record.line)
    } else {
        text
    };
    escape_controls(&text)
}

/// Writes rows in one format to any `io::Write`.
pub struct Rows<W: Write> {
    out: W,
    format: Format,
    palette: Palette,
    header_done: bool,
    /// What [`Record::line`] counts: "line" or "argument".
    place: &'static str,
    /// The probes' reverse-path, for the JSON result.
    sender: Option<String>,
    /// Set once the output is gone (`| head`): later rows are dropped, not a panic.
    broken: bool,
}

impl<W: Write> Rows<W> {
    pub fn new(out: W, format: Format, palette: Palette) -> Self {
        Rows {
            out,
            format,
            palette,
            header_done: false,
            sender: None,
            place: "line",
            broken: false,
        }
    }

    /// Writes a line; it leaves when [`Rows::flush`] is called (or the writer's buffer
    /// fills), so a list of thousands is not one system call a row.
    fn write(&mut self, text: &str) {
        if !self.broken && writeln!(self.out, "{text}").is_err() {
            self.broken = true;
        }
    }

    /// Sends the rows written so far on their way.
    pub fn flush(&mut self) {
        if !self.broken && self.out.flush().is_err() {
            self.broken = true;
        }
    }

    /// Addresses came from the command line: they are numbered as arguments.
    pub fn from_arguments(mut self) -> Self {
        self.place = "argument";
        self
    }

    /// Shows the sender: a note above the table, a field of the JSON result. (CSV keeps
    /// to its rows: the writer puts the note on stderr.)
    pub fn sender(&mut self, sender: &str, why: &str) {
        self.sender = Some(sender.to_string());
        if self.format == Format::Table {
            let note = sender_note(sender, why);
            self.write(&note);
        }
    }

    pub fn row(&mut self, record: &Record) {
        if !self.header_done {
            self.header_done = true;
            match self.format {
                Format::Table => {
                    let head = format!("{:<ADDRESS_WIDTH$}  {:<13}  REPLY", "ADDRESS", "VERDICT");
                    let head = self.palette.dim(&head);
                    self.write(&head);
                }
                Format::Csv => self.write("line,address,verdict,code,enhanced,detail,host"),
                Format::Jsonl | Format::Quiet => {}
            }
        }
        let line = match self.format {
            Format::Table => self.table_row(record),
            Format::Csv => csv_row(record, self.place),
            Format::Jsonl => json_row(record).to_string(),
            Format::Quiet => return,
        };
        self.write(&line);
    }

    fn table_row(&self, record: &Record) -> String {
        let mut address = escape_controls(&record.address);
        if address.chars().count() > SHOWN_INPUT {
            address = address.chars().take(SHOWN_INPUT).collect::<String>() + "...";
        }
        let name = format!("{:<13}", record.verdict.name());
        let name = match record.verdict {
            Verdict::Deliverable => self.palette.good(&name),
            v if v.is_bad() => self.palette.bad(&name),
            _ => self.palette.warn(&name),
        };
        format!(
            "{address:<ADDRESS_WIDTH$}  {name}  {}",
            detail(record, self.place)
        )
        .trim_end()
        .to_string()
    }

    /// The counts, on this writer (table, quiet) or as the JSON `result` object.
    pub fn finish(&mut self, tally: &Tally, elapsed: Option<Duration>) {
        let mut summary = Summary::new(tally.status(), tally.exit_code(), tally.words())
            .with("counts", tally.json_counts())
            .with("total", tally.total)
            .with("decided", tally.decided())
            .with("duplicates", tally.duplicates)
            .with("interrupted", tally.interrupted)
            .with("resumed", tally.resumed);
        if let Some(sender) = &self.sender {
            summary = summary.with("sender", sender);
        }
        summary.elapsed = elapsed;
        if self.format == Format::Jsonl {
            if !self.broken {
                JsonLines::new(&mut self.out, elapsed.is_some()).finish(&summary);
            }
            return;
        }
        let line = summary_line(tally, elapsed, self.palette);
        self.write(&line);
    }
}

/// "*  Sender: MAIL FROM:<> (why)".
pub fn sender_note(sender: &str, why: &str) -> String {
    format!("*  Sender: MAIL FROM:{} ({why})", escape_controls(sender))
}

/// The one line that says a server refused the sender, and what to do.
pub fn sender_refused_line(sender: &str, reply: &Reply) -> String {
    escape_controls(&format!(
        "warning: the server refused the sender {sender} at MAIL FROM ({} {}): its addresses were not asked; give a sender it accepts with --from",
        reply.code,
        reply.lines.join(" ")
    ))
}

/// Said when a host closes a session mid-work: RFC 5321 lets a client RSET and ask
/// again for as long as it likes, but Exim counts RSETs and Postfix refused recipients
/// toward limits that close the session, so later sessions end before them.
pub fn session_limit_line(host: &str, why: &str, resets: usize, refusals: usize) -> String {
    let s = |n: usize| if n == 1 { "" } else { "s" };
    escape_controls(&format!(
        "note: {host} closed the session ({why}) after {resets} RSET{} and {refusals} refused \
         recipient{}; its sessions now end before either count, and new ones go on with the \
         rest (Exim counts RSETs toward smtp_accept_max_nonmail, Postfix refused recipients \
         toward smtpd_hard_error_limit)",
        s(resets),
        s(refusals)
    ))
}

/// "rejected: 6 addresses: 2 deliverable, ... in 12 ms".
pub fn summary_line(tally: &Tally, elapsed: Option<Duration>, palette: Palette) -> String {
    let word = match tally.exit_code() {
        ExitCode::Success => palette.good("ok"),
        ExitCode::Permanent => palette.bad("rejected"),
        ExitCode::Interrupted => palette.bad("interrupted"),
        ExitCode::Other => palette.bad("unrecorded"),
        _ => palette.warn("undecided"),
    };
    let took = elapsed.map_or(String::new(), |d| format!(" in {}", format_ms(d)));
    format!("{word}: {}{took}", tally.words())
}

fn csv_row(record: &Record, place: &str) -> String {
    let reply = record.reply.as_ref();
    let fields = [
        record.line.to_string(),
        escape_controls(&record.address),
        record.verdict.name().to_string(),
        reply.map_or(String::new(), |r| r.code.to_string()),
        reply
            .and_then(Reply::enhanced_status)
            .map_or(String::new(), |s| s.to_string()),
        detail(record, place),
        record.host.clone().unwrap_or_default(),
    ];
    fields
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",")
}

/// RFC 4180 §2: a field with a comma, quote or line break is quoted, quotes doubled.
/// Control characters are already escaped, so no raw line break can occur.
fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\r', '\n']) || field.starts_with(' ') || field.ends_with(' ') {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// `{"type":"verdict", ...}`: the address as given, the verdict, the deciding reply.
pub fn json_row(record: &Record) -> Value {
    json!({
        "type": "verdict",
        "line": record.line,
        "address": record.address,
        "verdict": record.verdict,
        "reply": record.reply.as_ref().map(reply_json),
        "note": record.note,
        "host": record.host,
    })
}

/// How the writer shows a run.
#[derive(Clone, Copy, Debug)]
pub struct WriterOptions {
    pub format: Format,
    pub palette: Palette,
    pub timing: bool,
    /// Draw the progress bar (stderr is a terminal, not CI, not jsonl or -q).
    pub progress: bool,
    /// The total the bar counts towards.
    pub total: usize,
    pub duplicates: usize,
    /// The addresses are command-line arguments, not lines of a file.
    pub arguments: bool,
}

/// Where final verdicts are kept besides the output (`--resume`'s state file).
pub trait Journal {
    /// Keeps one verdict; Err (one line) when it cannot.
    fn keep(&mut self, record: &Record) -> Result<(), String>;
    /// Makes what was kept durable.
    fn sync(&mut self) -> Result<(), String>;
}

/// The writer's journal, until it fails once.
struct Keeping<'a> {
    journal: Option<&'a mut dyn Journal>,
    failed: bool,
}

impl Keeping<'_> {
    fn run(&mut self, f: impl FnOnce(&mut dyn Journal) -> Result<(), String>) {
        let Some(journal) = self.journal.as_deref_mut() else {
            return;
        };
        if let Err(message) = f(journal) {
            // Said once; the verdicts still print, but the exit code says the state
            // is short of them.
            super::error_line(&format!(
                "{message}; later verdicts are printed but not recorded"
            ));
            self.journal = None;
            self.failed = true;
        }
    }
}

/// The writer thread's loop: prints what arrives, in order, until `Finish` (or until
/// every sender is gone), then the counts; each final verdict also goes to `journal`.
/// Returns the tally for the exit code.
pub fn write_all(
    rx: Receiver<Output>,
    opts: WriterOptions,
    journal: Option<&mut dyn Journal>,
) -> Tally {
    let mut keeping = Keeping {
        journal,
        failed: false,
    };
    let bar = progress_bar(&opts);
    // Rows are flushed whenever no message is waiting (so they show as soon as the
    // writer is idle), before anything goes to stderr, and with a visible progress bar
    // at once (the bar redraws under them).
    let out = std::io::BufWriter::with_capacity(OUTPUT_BUFFER, std::io::stdout());
    let mut rows = Rows::new(out, opts.format, opts.palette);
    let bar_shown = !bar.is_hidden();
    if opts.arguments {
        rows = rows.from_arguments();
    }
    let mut tally = Tally {
        total: opts.total,
        duplicates: opts.duplicates,
        ..Tally::default()
    };
    // Held back until their second answer; few in practice, and each is small.
    let mut provisional: BTreeMap<usize, Record> = BTreeMap::new();
    let mut finish = None;
    let mut sender_refused = false;
    loop {
        let message = match rx.try_recv() {
            Ok(message) => message,
            Err(TryRecvError::Disconnected) => break,
            Err(TryRecvError::Empty) => {
                rows.flush();
                // Verdicts come in bursts, a batch's replies one after another: a short
                // nap lets the burst gather, so that the sessions' thread does not have
                // to wake this one for each verdict. Then, if nothing came, sleep until
                // something does.
                std::thread::sleep(GATHER);
                match rx.try_recv() {
                    Ok(message) => message,
                    Err(TryRecvError::Disconnected) => break,
                    Err(TryRecvError::Empty) => match rx.recv() {
                        Ok(message) => message,
                        Err(_) => break,
                    },
                }
            }
        };
        if matches!(
            message,
            Output::Failed(_)
                | Output::Sender { .. }
                | Output::SenderRefused { .. }
                | Output::SessionLimit { .. }
                | Output::Event { .. }
        ) {
            rows.flush();
        }
        let record = match message {
            Output::Verdict(record) => {
                keeping.run(|j| j.keep(&record));
                record
            }
            Output::Recorded(record) => {
                tally.resumed += 1;
                record
            }
            Output::Checkpoint => {
                keeping.run(|j| j.sync());
                continue;
            }
            Output::Duplicates(n) => {
                tally.duplicates += n;
                tally.total = tally.total.saturating_sub(n);
                bar.set_length(tally.total as u64);
                continue;
            }
            Output::Failed(message) => {
                bar.suspend(|| super::error_line(&message));
                keeping.failed = true;
                continue;
            }
            Output::Settled { key, record } => {
                provisional.remove(&key);
                keeping.run(|j| j.keep(&record));
                record
            }
            Output::Provisional { key, record } => {
                provisional.insert(key, record);
                continue;
            }
            Output::Sender { sender, why } => {
                if opts.format == Format::Csv {
                    let _ = writeln!(std::io::stderr(), "{}", sender_note(&sender, why));
                }
                bar.suspend(|| {
                    rows.sender(&sender, why);
                    rows.flush();
                });
                continue;
            }
            Output::SenderRefused { sender, reply } => {
                if !sender_refused {
                    sender_refused = true;
                    let line = sender_refused_line(&sender, &reply);
                    bar.suspend(|| {
                        let _ = writeln!(std::io::stderr(), "{line}");
                    });
                }
                continue;
            }
            Output::SessionLimit {
                host,
                why,
                resets,
                refusals,
            } => {
                let line = session_limit_line(&host, &why, resets, refusals);
                bar.suspend(|| {
                    let _ = writeln!(std::io::stderr(), "{line}");
                });
                continue;
            }
            Output::Event { tag, event } => {
                bar.suspend(|| event_lines(&tag, event, &opts));
                continue;
            }
            Output::Finish {
                interrupted,
                elapsed,
            } => {
                finish = Some((interrupted, elapsed));
                break;
            }
        };
        bar.suspend(|| {
            rows.row(&record);
            if bar_shown {
                rows.flush();
            }
        });
        tally.add(record.verdict);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let (interrupted, elapsed) = finish.unwrap_or((false, Duration::ZERO));
    for record in std::mem::take(&mut provisional).into_values() {
        // A run that ended by itself had no time left to ask again: the answer stands.
        // An interrupted one asks again when resumed.
        if !interrupted {
            keeping.run(|j| j.keep(&record));
        }
        rows.row(&record);
        tally.add(record.verdict);
    }
    rows.flush();
    keeping.run(|j| j.sync());
    tally.interrupted = interrupted;
    tally.unrecorded = keeping.failed;
    let elapsed = opts.timing.then_some(elapsed);
    if opts.format == Format::Csv {
        // The summary would break the CSV: it goes to stderr.
        let _ = writeln!(
            std::io::stderr(),
            "{}",
            summary_line(&tally, elapsed, opts.palette)
        );
    } else {
        rows.finish(&tally, elapsed);
    }
    rows.flush();
    tally
}

/// The bar on stderr: done/total, rate and ETA. indicatif hides a stderr target that is
/// not a terminal by itself; the caller decides the rest (CI, jsonl, -q).
fn progress_bar(opts: &WriterOptions) -> ProgressBar {
    let target = super::progress::target(opts.progress);
    let bar = ProgressBar::with_draw_target(Some(opts.total as u64), target);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{bar:30}] {pos}/{len} addresses  {rate}  ETA {eta}",
    ) {
        let rate = |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.0}/s", state.per_sec());
        };
        bar.set_style(style.with_key("rate", rate).progress_chars("=> "));
    }
    if opts.progress {
        bar.enable_steady_tick(Duration::from_millis(200));
    }
    bar
}

/// One session event as transcript lines on stderr, each tagged `[domain]`, so that
/// concurrent sessions can be told apart.
fn event_lines(tag: &str, event: Timed, opts: &WriterOptions) {
    let mut text = Vec::new();
    let mut warnings = Vec::new();
    Transcript::new(&mut text, &mut warnings, opts.palette, opts.timing, false).emit(event);
    let mut err = std::io::stderr().lock();
    for line in String::from_utf8_lossy(&text)
        .lines()
        .chain(String::from_utf8_lossy(&warnings).lines())
    {
        let _ = writeln!(err, "[{tag}] {line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(address: &str, verdict: Verdict, reply: Option<Reply>, note: Option<&str>) -> Record {
        Record {
            line: 3,
            address: address.into(),
            verdict,
            reply,
            note: note.map(str::to_string),
            host: Some("mx.example.org".into()),
        }
    }

    fn sample() -> Vec<Record> {
        vec![
            record(
                "alice@example.org",
                Verdict::Deliverable,
                Some(Reply::new(250, &["2.1.5 OK"])),
                None,
            ),
            record(
                "eve@example.org",
                Verdict::Undeliverable,
                Some(Reply::new(550, &["5.1.1 No such user, \"eve\" \u{1b}[2J"])),
                None,
            ),
            record(
                "junk here",
                Verdict::Invalid,
                None,
                Some("missing '@domain'"),
            ),
        ]
    }

    /// Counts the writer's flushes: each is a system call on stdout.
    #[derive(Default)]
    struct Flushes {
        bytes: Vec<u8>,
        flushes: usize,
    }

    impl Write for Flushes {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.bytes.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.flushes += 1;
            Ok(())
        }
    }

    #[test]
    fn rows_are_flushed_when_asked_not_one_by_one() {
        let mut out = Flushes::default();
        let mut rows = Rows::new(&mut out, Format::Csv, Palette::PLAIN);
        for r in sample() {
            rows.row(&r);
        }
        rows.flush();
        drop(rows);
        assert_eq!(out.flushes, 1);
        assert_eq!(String::from_utf8_lossy(&out.bytes).lines().count(), 4);
    }

    fn render(format: Format) -> String {
        let mut out = Vec::new();
        let mut rows = Rows::new(&mut out, format, Palette::PLAIN);
        let mut tally = Tally {
            total: 4,
            ..Tally::default()
        };
        for r in sample() {
            rows.row(&r);
            tally.add(r.verdict);
        }
        tally.add(Verdict::AcceptAll);
        rows.finish(&tally, None);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn table() {
        let text = render(Format::Table);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "ADDRESS                               VERDICT        REPLY"
        );
        assert_eq!(
            lines[1],
            "alice@example.org                     deliverable    250 2.1.5 OK"
        );
        assert_eq!(
            lines[2],
            "eve@example.org                       undeliverable  550 5.1.1 No such user, \"eve\" \\x1b[2J"
        );
        assert_eq!(
            lines[3],
            "junk here                             invalid        line 3: missing '@domain'"
        );
        assert_eq!(
            lines[4],
            "rejected: 4 addresses: 1 deliverable, 1 undeliverable, 1 accept-all, 1 invalid"
        );
    }

    #[test]
    fn command_line_addresses_are_arguments_not_lines() {
        let mut out = Vec::new();
        let mut rows = Rows::new(&mut out, Format::Table, Palette::PLAIN).from_arguments();
        rows.row(&sample()[2]);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("invalid        argument 3: missing '@domain'"),
            "{text}"
        );
    }

    #[test]
    fn csv() {
        let text = render(Format::Csv);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "line,address,verdict,code,enhanced,detail,host");
        assert_eq!(
            lines[1],
            "3,alice@example.org,deliverable,250,2.1.5,250 2.1.5 OK,mx.example.org"
        );
        assert_eq!(
            lines[2],
            "3,eve@example.org,undeliverable,550,5.1.1,\"550 5.1.1 No such user, \"\"eve\"\" \\x1b[2J\",mx.example.org"
        );
        assert_eq!(
            lines[3],
            "3,junk here,invalid,,,line 3: missing '@domain',mx.example.org"
        );
    }

    #[test]
    fn jsonl() {
        let text = render(Format::Jsonl);
        let objects: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(objects.len(), 4);
        assert_eq!(objects[0]["type"], "verdict");
        assert_eq!(objects[0]["verdict"], "deliverable");
        assert_eq!(objects[0]["reply"]["code"], 250);
        assert_eq!(objects[1]["reply"]["enhanced"], "5.1.1");
        assert_eq!(objects[2]["reply"], Value::Null);
        assert_eq!(objects[2]["note"], "missing '@domain'");
        let result = &objects[3];
        assert_eq!(result["type"], "result");
        assert_eq!(result["exit_code"], 7);
        assert_eq!(result["counts"]["accept-all"], 1);
        assert_eq!(result["counts"]["no-domain"], 0);
        assert_eq!(result["total"], 4);
        assert_eq!(result["interrupted"], false);
        assert!(result.get("elapsed_ms").is_none());
    }

    #[test]
    fn quiet_prints_only_the_counts() {
        assert_eq!(
            render(Format::Quiet),
            "rejected: 4 addresses: 1 deliverable, 1 undeliverable, 1 accept-all, 1 invalid\n"
        );
    }

    #[test]
    fn tallies_and_exit_codes() {
        let mut t = Tally {
            total: 3,
            ..Tally::default()
        };
        assert_eq!(t.exit_code(), ExitCode::Success);
        t.add(Verdict::Deliverable);
        assert_eq!(t.exit_code(), ExitCode::Success);
        t.add(Verdict::Temporary);
        assert_eq!(t.exit_code(), ExitCode::Temporary);
        assert_eq!(
            summary_line(&t, Some(Duration::from_millis(12)), Palette::PLAIN),
            "undecided: 3 addresses: 1 deliverable, 1 temporary in 12 ms"
        );
        t.duplicates = 2;
        t.interrupted = true;
        assert_eq!(t.exit_code(), ExitCode::Interrupted);
        assert_eq!(
            t.words(),
            "2 of 3 addresses decided: 1 deliverable, 1 temporary; 2 duplicate lines skipped"
        );
        t.interrupted = false;
        t.add(Verdict::NoDomain);
        assert_eq!(t.exit_code(), ExitCode::Permanent);
    }

    #[test]
    fn provisional_records_show_only_when_nothing_replaced_them() {
        let (tx, rx) = std::sync::mpsc::channel();
        let temp = record(
            "a@x.example",
            Verdict::Temporary,
            Some(Reply::new(450, &["greylisted"])),
            None,
        );
        let ok = record(
            "a@x.example",
            Verdict::Deliverable,
            Some(Reply::new(250, &["OK"])),
            None,
        );
        tx.send(Output::Provisional {
            key: 1,
            record: temp.clone(),
        })
        .unwrap();
        tx.send(Output::Provisional {
            key: 2,
            record: temp,
        })
        .unwrap();
        tx.send(Output::Settled { key: 1, record: ok }).unwrap();
        tx.send(Output::Finish {
            interrupted: true,
            elapsed: Duration::ZERO,
        })
        .unwrap();
        let tally = write_all(
            rx,
            WriterOptions {
                format: Format::Quiet,
                palette: Palette::PLAIN,
                timing: false,
                progress: false,
                total: 3,
                duplicates: 0,
                arguments: false,
            },
            None,
        );
        assert_eq!(tally.counts[Verdict::Deliverable.index()], 1);
        assert_eq!(tally.counts[Verdict::Temporary.index()], 1);
        assert_eq!(tally.decided(), 2);
        assert_eq!(tally.exit_code(), ExitCode::Interrupted);
    }
}
