//! The keyboard of `smtpx session`: the line editor (rustyline: history, completion,
//! Ctrl-C/Ctrl-D) on a terminal, plain lines from a pipe or file otherwise. The editor's
//! types stay in this module.
//!
//! On a terminal the editor runs on its own thread and reads one line when asked, so the
//! session can keep reading the server meanwhile; output printed while a line is being
//! typed goes above it (rustyline's external printer), and the line is redrawn.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rustyline::completion::Completer;
use rustyline::config::Configurer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::{DefaultHistory, History};
use rustyline::validate::Validator;
use rustyline::{Config, Context, Editor, ExternalPrinter, Helper};
use tokio::sync::mpsc;

/// What the keyboard gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    Line(String),
    /// Ctrl-C at the prompt: the line was dropped.
    Cancelled,
    /// Ctrl-D, or the end of piped input.
    End,
    Failed(String),
}

enum Request {
    Line(String),
    Secret(String),
    Remember(String),
}

pub struct Keyboard {
    source: Source,
}

enum Source {
    /// Lines from a pipe or file, read ahead on a thread: lines that arrived together
    /// are all ready at once (PIPELINING may send them in one write).
    Piped {
        lines: mpsc::UnboundedReceiver<Input>,
        /// A line taken to look ahead and not yet used.
        held: Option<Input>,
    },
    Terminal {
        requests: std::sync::mpsc::Sender<Request>,
        answers: mpsc::UnboundedReceiver<Input>,
        asked: bool,
        words: Arc<Mutex<Vec<String>>>,
        /// The terminal's settings before the editor, put back by `close`.
        saved: Option<nix::sys::termios::Termios>,
        direct: Arc<std::sync::atomic::AtomicBool>,
    },
}

impl Keyboard {
    /// Lines from stdin, read as they come.
    pub fn piped() -> Keyboard {
        let (tx, rx) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            let stdin = std::io::stdin();
            let mut lock = stdin.lock();
            loop {
                let mut buf = Vec::new();
                match lock.read_until(b'\n', &mut buf) {
                    Ok(0) => {
                        let _ = tx.send(Input::End);
                        return;
                    }
                    Ok(_) => {
                        if buf.ends_with(b"\n") {
                            buf.pop();
                        }
                        if buf.ends_with(b"\r") {
                            buf.pop();
                        }
                        let line = String::from_utf8_lossy(&buf).into_owned();
                        if tx.send(Input::Line(line)).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Input::Failed(format!("reading stdin failed: {e}")));
                        return;
                    }
                }
            }
        });
        Keyboard {
            source: Source::Piped {
                lines: rx,
                held: None,
            },
        }
    }

    /// The line editor on the terminal, with history from `history` (if any). Returns
    /// the keyboard and a writer that prints above the line being typed.
    pub fn terminal(
        history: Option<PathBuf>,
        words: Vec<String>,
    ) -> Result<(Keyboard, ScreenWriter), String> {
        let mut builder = Config::builder()
            .auto_add_history(false)
            .max_history_size(1000)
            .map_err(|e| e.to_string())?;
        // Some terminals (tmux without a client) hold a synchronized update for
        // seconds: the prompt would show late.
        builder.enable_synchronized_output(false);
        let config = builder.build();
        let mut editor: Editor<Completion, DefaultHistory> = Editor::with_config(config)
            .map_err(|e| format!("cannot start the line editor: {e}"))?;
        let words = Arc::new(Mutex::new(words));
        editor.set_helper(Some(Completion {
            words: words.clone(),
        }));
        if let Some(path) = &history {
            // A missing history file is the first run, not an error.
            let _ = editor.load_history(path);
        }
        let printer = editor
            .create_external_printer()
            .map_err(|e| format!("cannot start the line editor: {e}"))?;
        let direct = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let screen = ScreenWriter {
            printer: Arc::new(Mutex::new(Box::new(printer))),
            pending: Vec::new(),
            direct: direct.clone(),
        };
        let saved = nix::sys::termios::tcgetattr(std::io::stdin()).ok();
        let (req_tx, req_rx) = std::sync::mpsc::channel::<Request>();
        let (ans_tx, ans_rx) = mpsc::unbounded_channel();
        std::thread::spawn(move || editor_thread(editor, history, req_rx, ans_tx));
        Ok((
            Keyboard {
                source: Source::Terminal {
                    requests: req_tx,
                    answers: ans_rx,
                    asked: false,
                    words,
                    saved,
                    direct,
                },
            },
            screen,
        ))
    }

    pub fn is_terminal(&self) -> bool {
        matches!(self.source, Source::Terminal { .. })
    }

    /// The next line. Cancel-safe: dropped while waiting, the next call goes on waiting
    /// for the same line.
    pub async fn next(&mut self, prompt: &str) -> Input {
        match &mut self.source {
            Source::Piped { lines, held } => match held.take() {
                Some(input) => input,
                None => lines.recv().await.unwrap_or(Input::End),
            },
            Source::Terminal {
                requests,
                answers,
                asked,
                ..
            } => {
                if !*asked {
                    if requests.send(Request::Line(prompt.to_string())).is_err() {
                        return Input::End;
                    }
                    *asked = true;
                }
                let got = answers.recv().await.unwrap_or(Input::End);
                *asked = false;
                got
            }
        }
    }

    /// A line that is already there (piped input only): lines that arrived together.
    pub fn ready(&mut self) -> Option<String> {
        match &mut self.source {
            Source::Piped { lines, held } => {
                if held.is_none() {
                    *held = lines.try_recv().ok();
                }
                match held.take() {
                    Some(Input::Line(l)) => Some(l),
                    other => {
                        *held = other;
                        None
                    }
                }
            }
            Source::Terminal { .. } => None,
        }
    }

    /// Asks for a secret without echo (terminal only).
    pub async fn secret(&mut self, prompt: &str) -> Result<String, String> {
        match &mut self.source {
            Source::Piped { .. } => Err(
                "no password given: stdin is not a terminal, so use --password-file, --password-env or --password-command".into(),
            ),
            Source::Terminal {
                requests, answers, ..
            } => {
                requests
                    .send(Request::Secret(prompt.to_string()))
                    .map_err(|_| "the line editor stopped".to_string())?;
                match answers.recv().await {
                    Some(Input::Line(s)) => Ok(s),
                    Some(Input::Failed(e)) => Err(e),
                    _ => Err("no password was typed".into()),
                }
            }
        }
    }

    /// Ends the editor's hold on the terminal: a line still being read when the server
    /// ended the session would otherwise leave the terminal in raw mode, and later
    /// output unseen. Output goes straight to stdout from here on.
    pub fn close(&mut self) {
        if let Source::Terminal {
            saved,
            direct,
            asked,
            ..
        } = &mut self.source
        {
            if let Some(t) = saved.take() {
                let _ = nix::sys::termios::tcsetattr(
                    std::io::stdin(),
                    nix::sys::termios::SetArg::TCSADRAIN,
                    &t,
                );
            }
            if *asked {
                let _ = std::io::stdout().write_all(b"\n");
            }
            direct.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// Keeps a line in the history (the caller decides which lines may be kept).
    pub fn remember(&self, line: &str) {
        if let Source::Terminal { requests, .. } = &self.source {
            let _ = requests.send(Request::Remember(line.to_string()));
        }
    }

    /// The words Tab completes: SMTP verbs, the server's extensions, `/` commands.
    pub fn set_words(&self, new: Vec<String>) {
        if let Source::Terminal { words, .. } = &self.source
            && let Ok(mut w) = words.lock()
        {
            *w = new;
        }
    }
}

fn editor_thread(
    mut editor: Editor<Completion, DefaultHistory>,
    history: Option<PathBuf>,
    requests: std::sync::mpsc::Receiver<Request>,
    answers: mpsc::UnboundedSender<Input>,
) {
    while let Ok(request) = requests.recv() {
        let answer = match request {
            Request::Remember(line) => {
                let _ = editor.add_history_entry(line);
                save(&mut editor, history.as_ref());
                continue;
            }
            Request::Line(prompt) => match editor.readline(&prompt) {
                Ok(line) => Input::Line(line),
                Err(ReadlineError::Interrupted) => Input::Cancelled,
                Err(ReadlineError::Eof) => Input::End,
                Err(e) => Input::Failed(format!("reading the keyboard failed: {e}")),
            },
            Request::Secret(prompt) => match rpassword::prompt_password(prompt) {
                Ok(s) => Input::Line(s),
                Err(e) => Input::Failed(format!("reading the password failed: {e}")),
            },
        };
        if answers.send(answer).is_err() {
            break;
        }
    }
    save(&mut editor, history.as_ref());
}

fn save(editor: &mut Editor<Completion, DefaultHistory>, path: Option<&PathBuf>) {
    let Some(path) = path else { return };
    if editor.history().is_empty() {
        return;
    }
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = editor.save_history(path);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
}

/// The history file: `$XDG_STATE_HOME/smtpx/history`, or `~/.local/state/smtpx/history`.
pub fn history_path() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".local/state"))
        })?;
    Some(state.join("smtpx").join("history"))
}

/// Tab completion of the first word (or of a `/` command).
struct Completion {
    words: Arc<Mutex<Vec<String>>>,
}

impl Completion {
    fn candidates(&self, line: &str, pos: usize) -> (usize, Vec<String>) {
        let before = &line[..pos];
        // Only the first word is completed, plus the mechanism after AUTH.
        let start = before.rfind(' ').map_or(0, |i| i + 1);
        let typed = &before[start..];
        let words = self.words.lock().map(|w| w.clone()).unwrap_or_default();
        let lower = typed.chars().all(|c| !c.is_ascii_uppercase()) && !typed.is_empty();
        let mechanism = start > 0 && before.to_ascii_uppercase().starts_with("AUTH ");
        let found = words
            .iter()
            .filter_map(|w| match (start == 0, w.strip_prefix("AUTH=")) {
                (true, None) => Some(w.as_str()),
                (false, Some(m)) if mechanism => Some(m),
                _ => None,
            })
            .filter(|w| {
                w.to_ascii_uppercase()
                    .starts_with(&typed.to_ascii_uppercase())
            })
            .map(|w| {
                if lower && !w.starts_with('/') {
                    w.to_ascii_lowercase()
                } else {
                    w.to_string()
                }
            })
            .collect();
        (start, found)
    }
}

impl Completer for Completion {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let (start, mut found) = self.candidates(line, pos);
        found.sort();
        found.dedup();
        Ok((start, found))
    }
}

impl Hinter for Completion {
    type Hint = String;
}

impl Highlighter for Completion {}

impl Validator for Completion {}

impl Helper for Completion {}

/// Writes above the line being edited; whole lines at a time.
pub struct ScreenWriter {
    printer: Arc<Mutex<Box<dyn ExternalPrinter + Send>>>,
    pending: Vec<u8>,
    /// Set once the editor is closed: write to stdout itself.
    direct: Arc<std::sync::atomic::AtomicBool>,
}

impl Clone for ScreenWriter {
    fn clone(&self) -> Self {
        ScreenWriter {
            printer: self.printer.clone(),
            pending: Vec::new(),
            direct: self.direct.clone(),
        }
    }
}

impl Write for ScreenWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let Some(end) = self.pending.iter().rposition(|&b| b == b'\n') else {
            return Ok(());
        };
        let text: Vec<u8> = self.pending.drain(..=end).collect();
        if self.direct.load(std::sync::atomic::Ordering::SeqCst) {
            let mut out = std::io::stdout();
            out.write_all(&text)?;
            return out.flush();
        }
        let text = String::from_utf8_lossy(&text).into_owned();
        let mut printer = self
            .printer
            .lock()
            .map_err(|_| std::io::Error::other("printer lock"))?;
        printer.print(text).map_err(std::io::Error::other)
    }
}

impl Drop for ScreenWriter {
    fn drop(&mut self) {
        if !self.pending.is_empty() {
            self.pending.push(b'\n');
            let _ = self.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tab_completes_verbs_extensions_and_slash_commands() {
        let c = Completion {
            words: Arc::new(Mutex::new(
                [
                    "EHLO",
                    "MAIL FROM:<",
                    "STARTTLS",
                    "SIZE",
                    "AUTH=PLAIN",
                    "AUTH=LOGIN",
                    "/quit",
                ]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            )),
        };
        assert_eq!(c.candidates("EH", 2), (0, vec!["EHLO".to_string()]));
        assert_eq!(c.candidates("st", 2), (0, vec!["starttls".to_string()]));
        assert_eq!(c.candidates("ma", 2), (0, vec!["mail from:<".to_string()]));
        assert_eq!(c.candidates("/q", 2), (0, vec!["/quit".to_string()]));
        let (start, mut mechs) = c.candidates("AUTH ", 5);
        mechs.sort();
        assert_eq!(
            (start, mechs),
            (5, vec!["LOGIN".to_string(), "PLAIN".to_string()])
        );
    }
}
