//! `--json`: one JSON object per line per event, then one `result` object.
//! The schema is documented in README.md ("JSON output").

use crate::render::json_ms;
use std::io::Write;

use serde_json::{Value, json};

use super::Summary;
use super::text::ContentLines;
use crate::session::{Event, Timed};

pub struct JsonLines<W: Write> {
    out: W,
    timing: bool,
    broken: bool,
    /// `--show-data`: content lines, held for the `body` event that ends them.
    content: ContentLines,
    lines: Vec<String>,
}

impl<W: Write> JsonLines<W> {
    pub fn new(out: W, timing: bool) -> Self {
        JsonLines {
            out,
            timing,
            broken: false,
            content: ContentLines::default(),
            lines: Vec::new(),
        }
    }

    fn write(&mut self, value: &Value) {
        if self.broken {
            return;
        }
        let ok = serde_json::to_writer(&mut self.out, value).is_ok()
            && self.out.write_all(b"\n").is_ok()
            && self.out.flush().is_ok();
        self.broken = !ok;
    }

    pub fn emit(&mut self, timed: Timed) {
        if let Event::ContentSent { bytes, .. } = &timed.event {
            let lines = self.content.feed(bytes);
            self.lines.extend(lines);
            return;
        }
        let mut v = event_json(&timed.event, self.timing);
        if let Event::BodySent { .. } = &timed.event {
            self.lines.extend(self.content.finish());
            if !self.lines.is_empty() {
                v["data"] = json!(std::mem::take(&mut self.lines));
            }
        }
        if self.timing {
            v["t_ms"] = json!(json_ms(timed.at));
        }
        self.write(&v);
    }

    /// A report object (not an event), written as it is.
    pub fn object(&mut self, value: &Value) {
        self.write(value);
    }

    pub fn finish(&mut self, summary: &Summary) {
        let mut v = serde_json::to_value(summary).unwrap_or(Value::Null);
        v["type"] = json!("result");
        if let (true, Some(d)) = (self.timing, summary.elapsed) {
            v["elapsed_ms"] = json!(json_ms(d));
        }
        self.write(&v);
    }
}

/// The result line of a run that never started because its arguments were bad.
pub fn usage_result(message: &str) {
    let summary = Summary::new(
        super::Status::Failed,
        crate::outcome::ExitCode::Usage,
        message,
    )
    .with("phase", crate::outcome::Phase::Input)
    .with("failure", crate::outcome::FailureKind::Input);
    JsonLines::new(std::io::stdout().lock(), false).finish(&summary);
}

/// An address, or null for one the transport does not have (a Unix socket, a pipe, a
/// name a SOCKS5 proxy resolves).
fn addr_json(addr: &std::net::SocketAddr) -> Value {
    if addr.ip().is_unspecified() {
        Value::Null
    } else {
        json!(addr.to_string())
    }
}

/// Adds what the transport is (`"transport": "tcp"`, `"unix"` with its path, ...).
fn with_via(mut v: Value, via: &crate::net::transport::Via) -> Value {
    if let (Some(obj), Ok(Value::Object(extra))) = (v.as_object_mut(), serde_json::to_value(via)) {
        obj.extend(extra);
    }
    v
}

/// The JSON form of one event (without its time).
pub fn event_json(event: &Event, timing: bool) -> Value {
    let took = |d| {
        if timing {
            json!(json_ms(d))
        } else {
            Value::Null
        }
    };
    let mut v = match event {
        Event::Connecting { host, addr, via } => with_via(
            json!({"type": "connecting", "host": host, "addr": addr_json(addr)}),
            via,
        ),
        Event::Connected {
            peer,
            local,
            took: d,
            via,
        } => with_via(
            json!({
                "type": "connected", "peer": addr_json(peer), "local": addr_json(local), "ms": took(*d)
            }),
            via,
        ),
        Event::ConnectFailed { addr, reason, via } => with_via(
            json!({"type": "connect-failed", "addr": addr_json(addr), "reason": reason}),
            via,
        ),
        Event::ProxyHeaderSent {
            version,
            source,
            dest,
        } => json!({
            "type": "proxy-header", "version": version, "source": source.to_string(), "dest": dest.to_string()
        }),
        Event::ProcessStderr { line } => json!({"type": "process-stderr", "line": line}),
        Event::ProcessExited {
            command,
            code,
            signal,
            killed,
            status,
        } => json!({
            "type": "process-exited", "command": command, "code": code, "signal": signal,
            "killed": killed, "status": status
        }),
        Event::CommandSent {
            line,
            secret,
            channel,
        } => json!({"type": "command", "line": line, "secret": secret, "channel": channel}),
        Event::ReplyReceived {
            reply,
            took: d,
            channel,
        } => json!({
            "type": "reply",
            "code": reply.code.value(),
            "enhanced": reply.enhanced_status().map(|s| s.to_string()),
            "lines": reply.lines,
            "channel": channel,
            "ms": took(*d),
        }),
        Event::BodySent {
            stats,
            chunks,
            took: d,
            channel,
            ..
        } => json!({
            "type": "body",
            "bdat_chunks": chunks,
            "bytes": stats.input_bytes,
            "wire_bytes": stats.output_bytes,
            "lines": stats.lines,
            "dots_stuffed": stats.dots_stuffed,
            "bare_line_ends": stats.bare_line_ends,
            "channel": channel,
            "ms": took(*d),
        }),
        Event::TlsEstablished { info } => {
            let mut tls = serde_json::to_value(info).unwrap_or(Value::Null);
            if !timing && let Some(obj) = tls.as_object_mut() {
                obj.remove("handshake_ms");
            }
            json!({"type": "tls", "tls": tls})
        }
        Event::ContentSent { bytes, channel } => json!({
            "type": "content",
            "text": String::from_utf8_lossy(bytes),
            "channel": channel,
        }),
        Event::TlsPolicy {
            host,
            policy,
            result,
            detail,
        } => json!({
            "type": "tls-policy", "host": host, "policy": policy, "result": result,
            "detail": detail
        }),
        Event::Warning { message } => json!({"type": "warning", "message": message}),
        Event::Note { message } => json!({"type": "note", "message": message}),
    };
    if !timing && let Some(obj) = v.as_object_mut() {
        obj.remove("ms");
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::ExitCode;
    use crate::render::Status;
    use crate::session::Channel;
    use crate::smtp::Reply;
    use std::time::Duration;

    #[test]
    fn one_object_per_line() {
        let mut out = Vec::new();
        let mut j = JsonLines::new(&mut out, false);
        j.emit(Timed {
            at: Duration::from_millis(3),
            event: Event::ReplyReceived {
                reply: Reply::new(550, &["5.1.1 no such user"]),
                took: Duration::from_millis(1),
                channel: Channel::Plain,
            },
        });
        j.finish(
            &Summary::new(Status::Rejected, ExitCode::Permanent, "at rcpt")
                .with("queue_id", None::<String>),
        );
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines[0],
            json!({"type":"reply","code":550,"enhanced":"5.1.1","lines":["5.1.1 no such user"],"channel":"plain"})
        );
        assert_eq!(lines[1]["type"], "result");
        assert_eq!(lines[1]["status"], "rejected");
        assert_eq!(lines[1]["exit_code"], 7);
        assert_eq!(lines[1]["queue_id"], Value::Null);
    }
}
