//! The human transcript: every command and reply as it happens, then one outcome line.
//!
//! ```text
//! *  Connected to 127.0.0.1:2525 from 127.0.0.1:40112 (0.2 ms)
//! <- 220 mx.example.org ESMTP                       [0.9 ms]
//! -> EHLO client.example.org
//! ```
//! `->`/`<-` are plain text, `~>`/`<~` inside verified TLS, `?>`/`<?` inside TLS whose
//! certificate was not verified; `*` lines are smtpx's own notes.

use std::io::Write;
use std::time::Duration;

use super::text::{ContentLines, escape_controls};
use super::{Palette, Summary, format_ms};
use crate::net::transport::Via;
use crate::session::event::PolicyResult;
use crate::session::{Channel, Event, Timed};

pub struct Transcript<W: Write, E: Write> {
    out: W,
    err: E,
    palette: Palette,
    timing: bool,
    quiet: bool,
    /// Set once stdout is gone (e.g. `| head -1`); later output is dropped, not a panic.
    broken: bool,
    /// `--show-data`: the content line not yet ended.
    content: ContentLines,
}

impl<W: Write, E: Write> Transcript<W, E> {
    pub fn new(out: W, err: E, palette: Palette, timing: bool, quiet: bool) -> Self {
        Transcript {
            out,
            err,
            palette,
            timing,
            quiet,
            broken: false,
            content: ContentLines::default(),
        }
    }

    fn line(&mut self, s: &str) {
        if !self.broken
            && writeln!(self.out, "{s}")
                .and_then(|_| self.out.flush())
                .is_err()
        {
            self.broken = true;
        }
    }

    fn err_line(&mut self, s: &str) {
        let _ = writeln!(self.err, "{s}");
    }

    fn took(&self, d: Duration) -> String {
        if self.timing {
            self.palette.dim(&format!("  [{}]", format_ms(d)))
        } else {
            String::new()
        }
    }

    fn note(&mut self, s: &str) {
        let line = self.palette.dim(&format!("*  {s}"));
        self.line(&line);
    }

    pub fn report_line(&mut self, s: &str) {
        if !self.quiet {
            self.line(s);
        }
    }

    pub fn emit(&mut self, timed: Timed) {
        if let Event::Warning { message } = &timed.event {
            let w = format!(
                "{} {}",
                self.palette.warn("warning:"),
                escape_controls(message)
            );
            self.err_line(&w);
            return;
        }
        if self.quiet {
            return;
        }
        match timed.event {
            Event::Connecting { host, addr, via } => {
                let target = if addr.ip().is_unspecified() {
                    format!("{host}:{}", addr.port())
                } else if host == addr.ip().to_string() {
                    addr.to_string()
                } else {
                    format!("{host} ({addr})")
                };
                let line = match &via {
                    Via::Tcp { bind: None } => format!("Connecting to {target}"),
                    Via::Tcp { bind: Some(b) } => format!("Connecting to {target} from {b}"),
                    Via::Socks5 { proxy, .. } => {
                        format!("Connecting to {target} through the SOCKS5 proxy {proxy}")
                    }
                    Via::Unix { path } => format!("Connecting to the Unix socket {path}"),
                    Via::Pipe { command, .. } => {
                        format!("Starting {command:?} to talk to it over its stdin and stdout")
                    }
                };
                self.note(&escape_controls(&line));
            }
            Event::Connected {
                peer,
                local,
                took,
                via,
            } => {
                let t = self.took(took);
                let line = match &via {
                    Via::Tcp { .. } => format!("Connected to {peer} from {local}{t}"),
                    Via::Socks5 { proxy, .. } => {
                        format!("Connected through the SOCKS5 proxy {proxy} (from {local}){t}")
                    }
                    Via::Unix { path } => format!("Connected to the Unix socket {path}{t}"),
                    Via::Pipe { command, pid } => match pid {
                        Some(pid) => format!("Started {command:?} (pid {pid}){t}"),
                        None => format!("Started {command:?}{t}"),
                    },
                };
                self.note(&escape_controls(&line));
            }
            Event::ConnectFailed { addr, reason, via } => {
                let what = match &via {
                    Via::Tcp { .. } => format!("connect to {addr}"),
                    Via::Socks5 { .. } => "connect".to_string(),
                    Via::Unix { path } => format!("connect to {path}"),
                    Via::Pipe { command, .. } => format!("start {command:?}"),
                };
                self.note(&escape_controls(&format!("Could not {what}: {reason}")));
            }
            Event::ProxyHeaderSent {
                version,
                source,
                dest,
            } => {
                self.note(&format!(
                    "PROXY {version} header sent: source {source}, destination {dest}"
                ));
            }
            Event::ProcessStderr { line } => {
                self.note(&format!("stderr: {}", escape_controls(&line)));
            }
            Event::ProcessExited {
                command, status, ..
            } => {
                self.note(&escape_controls(&format!("{command:?} {status}")));
            }
            Event::CommandSent { line, channel, .. } => {
                let arrow = client_arrow(channel);
                let text = self.palette.command(&escape_controls(&line));
                self.line(&format!("{arrow} {text}"));
            }
            Event::ReplyReceived {
                reply,
                took,
                channel,
            } => {
                let arrow = server_arrow(channel);
                let class = reply.class();
                let status = reply.enhanced_status().map(|s| s.to_string());
                let last = reply.lines.len().saturating_sub(1);
                for (i, text) in reply.lines.iter().enumerate() {
                    let sep = if i == last { ' ' } else { '-' };
                    let code = self
                        .palette
                        .reply_code(class, &format!("{}{sep}", reply.code));
                    let text = escape_controls(text);
                    let text = match status.as_deref().and_then(|s| text.strip_prefix(s)) {
                        Some(rest) if i == 0 => format!(
                            "{}{}",
                            self.palette
                                .reply_code(class, status.as_deref().unwrap_or("")),
                            self.palette.reply(class, rest)
                        ),
                        _ => self.palette.reply(class, &text),
                    };
                    let t = if i == last {
                        self.took(took)
                    } else {
                        String::new()
                    };
                    self.line(&format!("{arrow} {code}{text}{t}"));
                }
            }
            Event::ContentSent { bytes, channel } => {
                for line in self.content.feed(&bytes) {
                    self.content_line(channel, &line);
                }
            }
            Event::BodySent {
                stats,
                chunks,
                took,
                channel,
                ..
            } => {
                if let Some(line) = self.content.finish() {
                    self.content_line(channel, &line);
                }
                let arrow = client_arrow(channel);
                let t = self.took(took);
                let mut what = format!(
                    "[message: {} bytes, {} lines",
                    stats.input_bytes, stats.lines
                );
                if stats.dots_stuffed > 0 {
                    what.push_str(&format!(", {} dot-stuffed", stats.dots_stuffed));
                }
                if stats.bare_line_ends > 0 {
                    what.push_str(&format!(
                        ", {} bare line ends sent as CRLF",
                        stats.bare_line_ends
                    ));
                }
                if let Some(n) = chunks {
                    what.push_str(&format!(
                        ", {n} BDAT chunk{}",
                        if n == 1 { "" } else { "s" }
                    ));
                }
                what.push(']');
                let what = self.palette.dim(&what);
                if chunks.is_some() {
                    // BDAT has no terminator: the LAST chunk's command line ends it.
                    self.line(&format!("{arrow} {what}{t}"));
                } else {
                    self.line(&format!("{arrow} {what}"));
                    let dot = self.palette.command(".");
                    self.line(&format!("{arrow} {dot}{t}"));
                }
            }
            Event::TlsEstablished { info } => {
                for l in super::tls::describe(&info, self.timing) {
                    self.note(&l);
                }
            }
            Event::TlsPolicy {
                host,
                policy,
                result,
                detail,
            } => {
                let line = format!(
                    "TLS policy {} for {host}: {} ({detail})",
                    policy.as_str(),
                    result.as_str()
                );
                if matches!(
                    result,
                    PolicyResult::Failed | PolicyResult::Skipped | PolicyResult::Reported
                ) {
                    let w = format!(
                        "{} {}",
                        self.palette.warn("warning:"),
                        escape_controls(&line)
                    );
                    self.err_line(&w);
                } else {
                    self.note(&escape_controls(&line));
                }
            }
            Event::Note { message } => self.note(&message),
            Event::Warning { .. } => unreachable!("handled above"),
        }
    }

    /// One line of message content (`--show-data`), escaped like server text: a message
    /// can hold escape sequences as surely as a reply can.
    fn content_line(&mut self, channel: Channel, line: &str) {
        let arrow = client_arrow(channel);
        if line.is_empty() {
            self.line(arrow);
        } else {
            self.line(&format!("{arrow} {}", escape_controls(line)));
        }
    }

    pub fn finish(&mut self, summary: &Summary) {
        let word = summary.status.word();
        let word = if summary.status.is_good() {
            self.palette.good(word)
        } else if summary.status == super::Status::PartiallyAccepted {
            self.palette.warn(word)
        } else {
            self.palette.bad(word)
        };
        let took = match summary.elapsed {
            Some(d) if self.timing => format!(" in {}", format_ms(d)),
            _ => String::new(),
        };
        let line = format!("{word}: {}{took}", escape_controls(&summary.message));
        self.line(&line);
    }
}

fn client_arrow(channel: Channel) -> &'static str {
    match channel {
        Channel::Plain => "->",
        Channel::Tls => "~>",
        Channel::TlsUnverified => "?>",
    }
}

fn server_arrow(channel: Channel) -> &'static str {
    match channel {
        Channel::Plain => "<-",
        Channel::Tls => "<~",
        Channel::TlsUnverified => "<?",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::ExitCode;
    use crate::render::Status;
    use crate::smtp::Reply;

    fn render(events: Vec<Event>, timing: bool, quiet: bool) -> (String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut t = Transcript::new(&mut out, &mut err, Palette::PLAIN, timing, quiet);
        for event in events {
            t.emit(Timed {
                at: Duration::ZERO,
                event,
            });
        }
        t.finish(&Summary::new(
            Status::Accepted,
            ExitCode::Success,
            "for 1 of 1 recipients",
        ));
        (
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    fn reply(code: u16, lines: &[&str]) -> Event {
        Event::ReplyReceived {
            reply: Reply::new(code, lines),
            took: Duration::from_micros(1500),
            channel: Channel::Plain,
        }
    }

    #[test]
    fn transcript_shape() {
        let (out, err) = render(
            vec![
                reply(220, &["mx.example.org ESMTP"]),
                Event::CommandSent {
                    line: "EHLO [127.0.0.1]".into(),
                    secret: false,
                    channel: Channel::Plain,
                },
                reply(250, &["mx.example.org", "PIPELINING", "SIZE 100"]),
                Event::Warning {
                    message: "careful".into(),
                },
                Event::CommandSent {
                    line: "QUIT".into(),
                    secret: false,
                    channel: Channel::Tls,
                },
                reply(550, &["5.1.1 \u{1b}[31mno such user"]),
            ],
            false,
            false,
        );
        assert_eq!(
            out,
            "<- 220 mx.example.org ESMTP\n\
             -> EHLO [127.0.0.1]\n\
             <- 250-mx.example.org\n\
             <- 250-PIPELINING\n\
             <- 250 SIZE 100\n\
             ~> QUIT\n\
             <- 550 5.1.1 \\x1b[31mno such user\n\
             accepted: for 1 of 1 recipients\n"
        );
        assert_eq!(err, "warning: careful\n");
    }

    #[test]
    fn body_lines_for_data_and_bdat() {
        let stats = crate::smtp::DataStats {
            input_bytes: 10,
            lines: 2,
            ..Default::default()
        };
        let body = |chunks| Event::BodySent {
            stats,
            chunks,
            replies_before: 0,
            took: Duration::ZERO,
            channel: Channel::Plain,
        };
        let (out, _) = render(vec![body(None), body(Some(3))], false, false);
        assert_eq!(
            out,
            "-> [message: 10 bytes, 2 lines]\n\
             -> .\n\
             -> [message: 10 bytes, 2 lines, 3 BDAT chunks]\n\
             accepted: for 1 of 1 recipients\n"
        );
    }

    #[test]
    fn timing_is_shown_on_the_last_line_of_a_reply() {
        let (out, _) = render(vec![reply(250, &["a", "b"])], true, false);
        assert_eq!(out.lines().next(), Some("<- 250-a"));
        assert_eq!(out.lines().nth(1), Some("<- 250 b  [1.5 ms]"));
    }

    #[test]
    fn quiet_prints_only_the_outcome() {
        let (out, _) = render(vec![reply(220, &["x"])], true, true);
        assert_eq!(out, "accepted: for 1 of 1 recipients\n");
    }

    #[test]
    fn a_closed_stdout_is_not_a_panic() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut t = Transcript::new(Closed, Vec::new(), Palette::PLAIN, false, false);
        t.emit(Timed {
            at: Duration::ZERO,
            event: reply(220, &["x"]),
        });
        t.finish(&Summary::new(Status::Failed, ExitCode::Other, "x"));
    }
}
