//! SMTP over a local process's stdin and stdout (`sendmail -bs`, `exim -bh IP`), as
//! swaks' `--pipe` does: the command line split as a shell would for simple quoting
//! (no shell runs), its stderr collected line by line for the transcript, and the
//! process ended cleanly at the end.

use std::pin::Pin;
use std::process::{ExitStatus, Stdio};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::mpsc;

/// Longest stderr line kept; the rest of a longer line is dropped.
const STDERR_LINE_CAP: usize = 4096;
/// Most stderr lines waiting to be shown; a process that floods stderr loses the rest.
const STDERR_QUEUE: usize = 1024;

/// Splits a command line into words: blanks separate words; '...' keeps everything
/// literally; "..." keeps everything but lets a backslash escape `"`, `\`, `$` and a
/// backquote; outside quotes a backslash escapes the next character. Nothing is
/// expanded: no variables, globs or pipes.
pub fn split_command(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("unclosed ' quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("unclosed \" quote".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("unclosed \" quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(c) => word.push(c),
                    None => return Err("a backslash at the end escapes nothing".into()),
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    if words.is_empty() {
        return Err("the command is empty".into());
    }
    Ok(words)
}

/// The stream that carries SMTP: the child's stdout to read, its stdin to write.
/// Shutting it down closes the stdin, so the process sees the end of its input while
/// what it still writes can be read.
pub struct PipeStream {
    stdout: ChildStdout,
    stdin: Option<ChildStdin>,
}

impl AsyncRead for PipeStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stdout).poll_read(cx, buf)
    }
}

impl AsyncWrite for PipeStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.stdin.as_mut() {
            Some(stdin) => Pin::new(stdin).poll_write(cx, buf),
            None => Poll::Ready(Err(std::io::ErrorKind::BrokenPipe.into())),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.stdin.as_mut() {
            Some(stdin) => Pin::new(stdin).poll_flush(cx),
            None => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if let Some(stdin) = self.stdin.as_mut() {
            let flushed = Pin::new(stdin).poll_flush(cx);
            if flushed.is_pending() {
                return Poll::Pending;
            }
        }
        // Dropping the handle closes the pipe: the process reads end-of-file.
        self.stdin = None;
        Poll::Ready(Ok(()))
    }
}

/// A running child process whose stdio carries the session.
pub struct PipeProcess {
    child: Child,
    stderr: mpsc::Receiver<String>,
    stderr_task: Option<tokio::task::JoinHandle<()>>,
}

/// How the process ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessEnd {
    /// Its exit code, when it exited by itself.
    pub code: Option<i32>,
    /// The signal that ended it.
    pub signal: Option<i32>,
    /// We killed it: it did not exit in time after its stdin closed.
    pub killed: bool,
}

impl ProcessEnd {
    fn from_status(status: ExitStatus, killed: bool) -> ProcessEnd {
        use std::os::unix::process::ExitStatusExt;
        ProcessEnd {
            code: status.code(),
            signal: status.signal(),
            killed,
        }
    }

    /// "exited with status 0", "killed by signal 9", ...
    pub fn describe(&self) -> String {
        let how = match (self.code, self.signal) {
            (Some(c), _) => format!("exited with status {c}"),
            (None, Some(s)) => format!("ended by signal {s}"),
            (None, None) => "ended".to_string(),
        };
        if self.killed {
            format!("did not exit after its input closed and was killed ({how})")
        } else {
            how
        }
    }
}

/// Starts `argv` with piped stdio. A process that cannot start is an I/O error
/// (command not found, permission denied), reported with the OS's words.
pub fn spawn(argv: &[String]) -> std::io::Result<(PipeStream, PipeProcess)> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "empty command"))?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Dropped without a clean end (Ctrl-C, a panic): never leave it running.
        .kill_on_drop(true)
        .spawn()?;
    let stdin = child.stdin.take().expect("stdin is piped");
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    let (tx, rx) = mpsc::channel(STDERR_QUEUE);
    let task = tokio::spawn(collect_lines(stderr, tx));
    Ok((
        PipeStream {
            stdout,
            stdin: Some(stdin),
        },
        PipeProcess {
            child,
            stderr: rx,
            stderr_task: Some(task),
        },
    ))
}

async fn collect_lines(mut stderr: tokio::process::ChildStderr, tx: mpsc::Sender<String>) {
    let mut line = Vec::new();
    let mut dropping = false;
    let mut chunk = [0u8; 4096];
    loop {
        let n = match stderr.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for &b in &chunk[..n] {
            if b == b'\n' {
                if !dropping || !line.is_empty() {
                    let _ = tx.try_send(text(&line));
                }
                line.clear();
                dropping = false;
            } else if line.len() < STDERR_LINE_CAP {
                line.push(b);
            } else {
                dropping = true;
            }
        }
    }
    if !line.is_empty() {
        let _ = tx.try_send(text(&line));
    }
}

fn text(line: &[u8]) -> String {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    String::from_utf8_lossy(line).into_owned()
}

impl PipeProcess {
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Stderr lines that arrived since the last call.
    pub fn stderr_lines(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        while let Ok(line) = self.stderr.try_recv() {
            lines.push(line);
        }
        lines
    }

    /// After its stdin is closed: waits up to `grace` for the process to exit, then
    /// kills it. Returns how it ended and its last stderr lines.
    pub async fn finish(&mut self, grace: Duration) -> (Option<ProcessEnd>, Vec<String>) {
        let end = match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(Ok(status)) => Some(ProcessEnd::from_status(status, false)),
            Ok(Err(_)) => None,
            Err(_) => {
                let _ = self.child.start_kill();
                self.child
                    .wait()
                    .await
                    .ok()
                    .map(|s| ProcessEnd::from_status(s, true))
            }
        };
        // Its stderr ends with it (unless a grandchild holds it open): collect the rest.
        if let Some(task) = self.stderr_task.take() {
            let _ = tokio::time::timeout(Duration::from_millis(500), task).await;
        }
        (end, self.stderr_lines())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(line: &str) -> Result<Vec<String>, String> {
        split_command(line)
    }

    #[test]
    fn splits_like_a_shell_for_simple_quoting() {
        assert_eq!(s("sendmail -bs").unwrap(), ["sendmail", "-bs"]);
        assert_eq!(
            s("  exim  -bh\t192.0.2.1 ").unwrap(),
            ["exim", "-bh", "192.0.2.1"]
        );
        assert_eq!(
            s("sendmail -C '/tmp/my dir' -bs").unwrap(),
            ["sendmail", "-C", "/tmp/my dir", "-bs"]
        );
        assert_eq!(
            s(r#"a "b \"c\" \d $x" e\ f ''"#).unwrap(),
            ["a", r#"b "c" \d $x"#, "e f", ""]
        );
        assert_eq!(s("a'b'\"c\"").unwrap(), ["abc"]);
    }

    #[test]
    fn bad_command_lines() {
        assert!(s("").is_err());
        assert!(s("   ").is_err());
        assert!(s("a 'b").is_err());
        assert!(s("a \"b").is_err());
        assert!(s("a \\").is_err());
    }

    #[test]
    fn how_a_process_ended_reads_plainly() {
        let e = ProcessEnd {
            code: Some(0),
            signal: None,
            killed: false,
        };
        assert_eq!(e.describe(), "exited with status 0");
        let k = ProcessEnd {
            code: None,
            signal: Some(9),
            killed: true,
        };
        assert!(k.describe().contains("was killed (ended by signal 9)"));
    }
}
