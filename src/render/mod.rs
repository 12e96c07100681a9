//! Renderers: the only code that writes to stdout and stderr. Each is generic over
//! `io::Write`, so tests render into a `Vec<u8>`.

pub mod bench;
pub mod check;
pub mod domain;
pub mod json;
pub mod message;
pub mod outcome;
pub mod palette;
pub mod progress;
pub mod prompt;
pub mod route;
pub mod serve;
pub mod size;
pub mod text;
pub mod tls;
pub mod transcript;
pub mod verify;
pub mod vrfy;

use std::io::Write;

use serde::Serialize;

use crate::outcome::ExitCode;
use crate::session::{EventSink, Timed};

pub use palette::Palette;

/// How a run reads at the end: one line for people, one object for programs.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub status: Status,
    pub exit_code: u8,
    /// The outcome line, without the status word.
    pub message: String,
    /// How long the run took; shown unless `--no-timing`.
    #[serde(skip)]
    pub elapsed: Option<std::time::Duration>,
    /// Extra fields for `--json` (recipients, queue id, ...).
    #[serde(flatten)]
    pub details: serde_json::Map<String, serde_json::Value>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Accepted,
    PartiallyAccepted,
    Stopped,
    Rejected,
    Failed,
    Unknown,
    Ok,
}

impl Status {
    pub fn word(self) -> &'static str {
        match self {
            Status::Accepted => "accepted",
            Status::PartiallyAccepted => "partially accepted",
            Status::Stopped => "stopped",
            Status::Rejected => "rejected",
            Status::Failed => "failed",
            Status::Unknown => "unknown",
            Status::Ok => "ok",
        }
    }

    pub fn is_good(self) -> bool {
        matches!(self, Status::Accepted | Status::Stopped | Status::Ok)
    }
}

impl Summary {
    pub fn new(status: Status, exit_code: ExitCode, message: impl Into<String>) -> Summary {
        Summary {
            status,
            exit_code: exit_code.code(),
            message: message.into(),
            elapsed: None,
            details: serde_json::Map::new(),
        }
    }

    pub fn with(mut self, key: &str, value: impl Serialize) -> Summary {
        let value = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
        self.details.insert(key.to_string(), value);
        self
    }
}

/// Output style chosen on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Transcript,
    Quiet,
    Json,
}

#[derive(Clone, Copy, Debug)]
pub struct RenderOptions {
    pub style: Style,
    pub palette: Palette,
    pub timing: bool,
}

/// The renderer for a run, writing events to `out` and warnings to `err`.
pub enum Renderer<W: Write + Send, E: Write + Send> {
    Transcript(transcript::Transcript<W, E>),
    Json(json::JsonLines<W>),
}

impl<W: Write + Send, E: Write + Send> Renderer<W, E> {
    pub fn new(opts: RenderOptions, out: W, err: E) -> Self {
        match opts.style {
            Style::Json => Renderer::Json(json::JsonLines::new(out, opts.timing)),
            Style::Transcript | Style::Quiet => Renderer::Transcript(transcript::Transcript::new(
                out,
                err,
                opts.palette,
                opts.timing,
                opts.style == Style::Quiet,
            )),
        }
    }

    pub fn finish(&mut self, summary: &Summary) {
        match self {
            Renderer::Transcript(t) => t.finish(summary),
            Renderer::Json(j) => j.finish(summary),
        }
    }

    /// A block of report output (`mx`, `check`, ...): lines for people, one object for
    /// `--json`. Quiet mode shows neither: only the outcome line.
    pub fn report(&mut self, lines: &[String], json: serde_json::Value) {
        match self {
            Renderer::Transcript(t) => {
                for line in lines {
                    t.report_line(line);
                }
            }
            Renderer::Json(j) => j.object(&json),
        }
    }
}

impl<W: Write + Send, E: Write + Send> EventSink for Renderer<W, E> {
    fn emit(&mut self, event: Timed) {
        match self {
            Renderer::Transcript(t) => t.emit(event),
            Renderer::Json(j) => j.emit(event),
        }
    }
}

/// Milliseconds for JSON: three decimals (microsecond resolution).
pub fn json_ms(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// "" for one, "s" for any other count.
pub fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Milliseconds with a precision that suits the size.
pub fn format_ms(d: std::time::Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 10_000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}

/// clap's usage error as clap words it (with the usage line and suggestions), on
/// stderr with smtpx's own prefix, like every other error; returns its first line,
/// without the prefix, for a JSON result.
pub fn usage_error(e: &clap::Error) -> String {
    let text = e.to_string();
    let _ = write!(std::io::stderr(), "smtpx: {text}");
    let first = text.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first).to_string()
}

/// A warning before any session (no transcript to carry it): one line on stderr.
pub fn warning_line(message: &str) {
    let _ = writeln!(
        std::io::stderr(),
        "smtpx: warning: {}",
        text::escape_controls(message)
    );
}

/// An error that ends the run before any session: one line on stderr.
pub fn error_line(message: &str) {
    let _ = writeln!(
        std::io::stderr(),
        "smtpx: error: {}",
        text::escape_controls(message)
    );
}
