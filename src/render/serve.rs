//! `smtpx serve` output: each session's transcript from the server's side, a line per
//! stored message, and the final outcome; or the same as NDJSON events.
//!
//! ```text
//! *  Listening on 127.0.0.1:2525 (SMTP)
//! [1] *  Connection from 127.0.0.1:40112 to 127.0.0.1:2525
//! [1] -> 220 localhost ESMTP smtpx serve
//! [1] <- EHLO client.example
//! ```
//! The markers are mirrored from `send`'s: here `->` is what the server sent and `<-`
//! what it received (`~>`/`<~` inside TLS), so each side's transcript reads "arrow
//! out = I said". Lines are tagged `[N]` with the session number, since sessions
//! interleave.

use std::io::Write;
use std::time::Duration;

use serde_json::{Value, json};

use super::text::escape_controls;
use super::{Palette, RenderOptions, Status, Style, Summary, format_ms, json_ms};
use crate::serve::ServeEvent;

pub struct ServeView<W: Write, E: Write> {
    out: W,
    err: E,
    style: Style,
    palette: Palette,
    timing: bool,
    broken: bool,
}

impl<W: Write, E: Write> ServeView<W, E> {
    pub fn new(opts: RenderOptions, out: W, err: E) -> Self {
        ServeView {
            out,
            err,
            style: opts.style,
            palette: opts.palette,
            timing: opts.timing,
            broken: false,
        }
    }

    /// Whether command and reply events are shown (so worth building).
    pub fn wants_transcript(&self) -> bool {
        self.style != Style::Quiet
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

    pub fn emit(&mut self, at: Duration, event: &ServeEvent) {
        if self.style == Style::Json {
            let mut v = event_json(event);
            if self.timing {
                v["t_ms"] = json!(json_ms(at));
            }
            self.json(&v);
            return;
        }
        if let ServeEvent::Warning { session, message } = event {
            let tag = session.map(|s| format!("[{s}] ")).unwrap_or_default();
            let _ = writeln!(
                self.err,
                "{} {tag}{}",
                self.palette.warn("warning:"),
                escape_controls(message)
            );
            return;
        }
        let p = self.palette;
        let note = |s: &str| p.dim(&format!("*  {s}"));
        let text = match event {
            ServeEvent::Listening { addr, implicit_tls } => {
                let kind = if *implicit_tls {
                    "implicit TLS"
                } else {
                    "SMTP"
                };
                note(&format!("Listening on {addr} ({kind})"))
            }
            ServeEvent::Certificate {
                sha256,
                subject,
                written_to,
            } => {
                let to = written_to
                    .as_ref()
                    .map(|p| format!(", written to {p}"))
                    .unwrap_or_default();
                note(&format!(
                    "TLS certificate {}: SHA-256 {sha256}{to}",
                    escape_controls(subject)
                ))
            }
            ServeEvent::MessageStored {
                session,
                number,
                id,
                from,
                to,
                bytes,
                path,
            } => {
                let whereto = match path {
                    Some(p) => format!("stored in {}", escape_controls(p)),
                    None => "discarded".into(),
                };
                format!(
                    "[{session}] {} {number} ({id}) from {} to {}, {bytes} bytes, {whereto}",
                    p.good("message"),
                    escape_controls(from),
                    escape_controls(&to.join(", "))
                )
            }
            ServeEvent::Stopping {
                reason,
                sessions,
                grace_ms,
            } => note(&format!(
                "Stopping ({}): {sessions} session{} in progress, given up to {}",
                escape_controls(reason),
                super::plural(*sessions as usize),
                humantime::format_duration(Duration::from_millis(*grace_ms))
            )),
            _ if self.style == Style::Quiet => return,
            ServeEvent::Accepted {
                session,
                peer,
                local,
            } => format!(
                "[{session}] {}",
                note(&format!("Connection from {peer} to {local}"))
            ),
            ServeEvent::TurnedAway { peer, reason } => {
                note(&format!("Turned away {peer}: {}", escape_controls(reason)))
            }
            ServeEvent::CommandReceived { session, line, tls } => {
                let arrow = if *tls { "<~" } else { "<-" };
                format!("[{session}] {arrow} {}", p.command(&escape_controls(line)))
            }
            ServeEvent::ReplySent {
                session,
                reply,
                tls,
            } => {
                let arrow = if *tls { "~>" } else { "->" };
                let class = reply.class();
                let last = reply.lines.len().saturating_sub(1);
                let lines: Vec<String> = reply
                    .lines
                    .iter()
                    .enumerate()
                    .map(|(i, text)| {
                        let sep = if i == last { ' ' } else { '-' };
                        format!(
                            "[{session}] {arrow} {}{}",
                            p.reply_code(class, &format!("{}{sep}", reply.code)),
                            p.reply(class, &escape_controls(text))
                        )
                    })
                    .collect();
                lines.join("\n")
            }
            ServeEvent::ContentReceived {
                session,
                bytes,
                lines,
                chunks,
                tls,
            } => {
                let arrow = if *tls { "<~" } else { "<-" };
                match (lines, chunks) {
                    (_, Some(n)) => format!(
                        "[{session}] {arrow} {}",
                        p.dim(&format!(
                            "[message: {bytes} bytes, {n} BDAT chunk{}]",
                            super::plural(*n as usize)
                        ))
                    ),
                    (lines, None) => format!(
                        "[{session}] {arrow} {}\n[{session}] {arrow} {}",
                        p.dim(&format!(
                            "[message: {bytes} bytes, {} lines]",
                            lines.unwrap_or(0)
                        )),
                        p.command(".")
                    ),
                }
            }
            ServeEvent::TlsEstablished {
                session,
                protocol,
                cipher,
            } => format!(
                "[{session}] {}",
                note(&format!("TLS established: {protocol}, {cipher}"))
            ),
            ServeEvent::Closed { session, reason } => {
                let why = reason
                    .as_ref()
                    .map(|r| format!(": {}", escape_controls(r)))
                    .unwrap_or_default();
                format!("[{session}] {}", note(&format!("Connection closed{why}")))
            }
            ServeEvent::Warning { .. } => unreachable!("handled above"),
        };
        self.line(&text);
    }

    fn json(&mut self, v: &Value) {
        if self.broken {
            return;
        }
        let ok = serde_json::to_writer(&mut self.out, v).is_ok()
            && self.out.write_all(b"\n").is_ok()
            && self.out.flush().is_ok();
        self.broken = !ok;
    }

    pub fn finish(&mut self, summary: &Summary) {
        if self.style == Style::Json {
            let mut v = serde_json::to_value(summary).unwrap_or(Value::Null);
            v["type"] = json!("result");
            if let (true, Some(d)) = (self.timing, summary.elapsed) {
                v["elapsed_ms"] = json!(json_ms(d));
            }
            self.json(&v);
            return;
        }
        let word = if summary.status == Status::Ok {
            self.palette.good(summary.status.word())
        } else {
            self.palette.bad(summary.status.word())
        };
        let took = match summary.elapsed {
            Some(d) if self.timing => format!(" after {}", format_ms(d)),
            _ => String::new(),
        };
        let line = format!("{word}: {}{took}", escape_controls(&summary.message));
        self.line(&line);
    }
}

fn event_json(event: &ServeEvent) -> Value {
    match event {
        ServeEvent::Listening { addr, implicit_tls } => json!({
            "type": "listening", "addr": addr.to_string(), "implicit_tls": implicit_tls,
        }),
        ServeEvent::Certificate {
            sha256,
            subject,
            written_to,
        } => json!({
            "type": "certificate", "sha256": sha256, "subject": subject, "written_to": written_to,
        }),
        ServeEvent::Accepted {
            session,
            peer,
            local,
        } => json!({
            "type": "connected", "session": session, "peer": peer.to_string(), "local": local.to_string(),
        }),
        ServeEvent::TurnedAway { peer, reason } => json!({
            "type": "turned-away", "peer": peer.to_string(), "reason": reason,
        }),
        ServeEvent::CommandReceived { session, line, tls } => json!({
            "type": "command", "session": session, "line": line, "tls": tls,
        }),
        ServeEvent::ReplySent {
            session,
            reply,
            tls,
        } => json!({
            "type": "reply", "session": session, "code": reply.code.value(),
            "enhanced": reply.enhanced_status().map(|s| s.to_string()),
            "lines": reply.lines, "tls": tls,
        }),
        ServeEvent::ContentReceived {
            session,
            bytes,
            lines,
            chunks,
            tls,
        } => json!({
            "type": "content", "session": session, "bytes": bytes, "lines": lines,
            "chunks": chunks, "tls": tls,
        }),
        ServeEvent::TlsEstablished {
            session,
            protocol,
            cipher,
        } => json!({
            "type": "tls", "session": session, "protocol": protocol, "cipher": cipher,
        }),
        ServeEvent::MessageStored {
            session,
            number,
            id,
            from,
            to,
            bytes,
            path,
        } => json!({
            "type": "message", "session": session, "number": number, "id": id, "from": from,
            "to": to, "bytes": bytes, "path": path,
        }),
        ServeEvent::Closed { session, reason } => json!({
            "type": "closed", "session": session, "reason": reason,
        }),
        ServeEvent::Warning { session, message } => json!({
            "type": "warning", "session": session, "message": message,
        }),
        ServeEvent::Stopping {
            reason,
            sessions,
            grace_ms,
        } => json!({
            "type": "stopping", "reason": reason, "sessions": sessions, "grace_ms": grace_ms,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::Reply;

    fn render(style: Style, events: &[ServeEvent]) -> (String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let opts = RenderOptions {
            style,
            palette: Palette::PLAIN,
            timing: false,
        };
        let mut v = ServeView::new(opts, &mut out, &mut err);
        for e in events {
            v.emit(Duration::ZERO, e);
        }
        v.finish(&Summary::new(
            Status::Ok,
            crate::outcome::ExitCode::Success,
            "1 message in 1 session",
        ));
        (
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    fn events() -> Vec<ServeEvent> {
        vec![
            ServeEvent::Listening {
                addr: "127.0.0.1:2525".parse().unwrap(),
                implicit_tls: false,
            },
            ServeEvent::Accepted {
                session: 1,
                peer: "127.0.0.1:4000".parse().unwrap(),
                local: "127.0.0.1:2525".parse().unwrap(),
            },
            ServeEvent::ReplySent {
                session: 1,
                reply: Reply::new(250, &["mx", "PIPELINING"]),
                tls: false,
            },
            ServeEvent::CommandReceived {
                session: 1,
                line: "MAIL FROM:<a\u{1b}@b>".into(),
                tls: true,
            },
            ServeEvent::ContentReceived {
                session: 1,
                bytes: 10,
                lines: Some(2),
                chunks: None,
                tls: false,
            },
            ServeEvent::MessageStored {
                session: 1,
                number: 1,
                id: "X1".into(),
                from: "<a@b>".into(),
                to: vec!["<c@d>".into()],
                bytes: 10,
                path: None,
            },
            ServeEvent::Warning {
                session: Some(1),
                message: "odd".into(),
            },
        ]
    }

    #[test]
    fn transcript_is_mirrored_and_tagged() {
        let (out, err) = render(Style::Transcript, &events());
        assert_eq!(
            out,
            "*  Listening on 127.0.0.1:2525 (SMTP)\n\
             [1] *  Connection from 127.0.0.1:4000 to 127.0.0.1:2525\n\
             [1] -> 250-mx\n\
             [1] -> 250 PIPELINING\n\
             [1] <~ MAIL FROM:<a\\x1b@b>\n\
             [1] <- [message: 10 bytes, 2 lines]\n\
             [1] <- .\n\
             [1] message 1 (X1) from <a@b> to <c@d>, 10 bytes, discarded\n\
             ok: 1 message in 1 session\n"
        );
        assert_eq!(err, "warning: [1] odd\n");
    }

    #[test]
    fn quiet_keeps_listening_and_messages() {
        let (out, _) = render(Style::Quiet, &events());
        assert_eq!(out.lines().count(), 3, "{out}");
    }

    #[test]
    fn json_lines() {
        let (out, _) = render(Style::Json, &events());
        let types: Vec<String> = out
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["type"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(
            types,
            [
                "listening",
                "connected",
                "reply",
                "command",
                "content",
                "message",
                "warning",
                "result"
            ]
        );
    }
}
