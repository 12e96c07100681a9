//! The lines of a `--resume` state file: a header naming the input and the options that
//! change verdicts, then one JSON line per decided address, appended as it is decided.
//! Only a complete line (ending in LF) that reads back counts: a line torn by a crash
//! is the end of the state, and what follows it is decided again.

use serde_json::{Map, Value, json};

use super::verdict::{Record, Verdict};
use crate::smtp::{Reply, ReplyCode};

/// The key of the header object, and the format's version.
pub const MAGIC: &str = "smtpx-verify-state";
pub const VERSION: u64 = 1;

/// What a state belongs to: a digest of the input and the options that change verdicts,
/// by name (as the flags are spelt), in a fixed order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub input: String,
    pub options: Vec<(String, String)>,
}

impl Header {
    /// The header line, without its LF.
    pub fn encode(&self) -> String {
        let options: Map<String, Value> = self
            .options
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        // The magic first, so that a header cut short by a crash is still recognised.
        format!(
            "{{\"{MAGIC}\":{VERSION},\"input\":{},\"options\":{}}}",
            Value::String(self.input.clone()),
            Value::Object(options)
        )
    }

    /// Reads a header line; Err says why it is not one.
    pub fn decode(line: &str) -> Result<Header, String> {
        let value: Value =
            serde_json::from_str(line).map_err(|_| "not a smtpx verify state file".to_string())?;
        match value.get(MAGIC).and_then(Value::as_u64) {
            Some(VERSION) => {}
            Some(v) => return Err(format!("state format {v}, this smtpx reads {VERSION}")),
            None => return Err("not a smtpx verify state file".into()),
        }
        let input = value
            .get("input")
            .and_then(Value::as_str)
            .ok_or("a state header without its input")?
            .to_string();
        let options = value
            .get("options")
            .and_then(Value::as_object)
            .ok_or("a state header without its options")?
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect();
        Ok(Header { input, options })
    }

    /// What differs between the run that made the state (`self`) and this one, in words;
    /// None when they agree.
    pub fn mismatch(&self, now: &Header) -> Option<String> {
        if self.input != now.input {
            return Some("it was made for another input (the address list differs)".into());
        }
        let then = |k: &str| {
            self.options
                .iter()
                .find(|(key, _)| key == k)
                .map_or("", |(_, v)| v.as_str())
        };
        let mut keys: Vec<&str> = now.options.iter().map(|(k, _)| k.as_str()).collect();
        keys.extend(self.options.iter().map(|(k, _)| k.as_str()));
        for key in keys {
            let before = then(key);
            let after = now
                .options
                .iter()
                .find(|(k, _)| k == key)
                .map_or("", |(_, v)| v.as_str());
            if before != after {
                let shown = |v: &str| {
                    if v.is_empty() {
                        "not given".to_string()
                    } else {
                        format!("'{v}'")
                    }
                };
                return Some(format!(
                    "it was made with {key} {}, and this run has {}",
                    shown(before),
                    shown(after)
                ));
            }
        }
        None
    }
}

/// One decided address as a state line, without its LF.
pub fn encode(record: &Record) -> String {
    json!({
        "line": record.line,
        "address": record.address,
        "verdict": record.verdict.name(),
        "code": record.reply.as_ref().map(|r| r.code.value()),
        "text": record.reply.as_ref().map(|r| &r.lines),
        "note": record.note,
        "host": record.host,
    })
    .to_string()
}

/// A state line back into its record; None if it is not one (a torn line).
pub fn decode(line: &[u8]) -> Option<Record> {
    let value: Value = serde_json::from_slice(line).ok()?;
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_string);
    let reply = match value.get("code").and_then(Value::as_u64) {
        None => None,
        Some(code) => Some(Reply {
            code: ReplyCode::new(u16::try_from(code).ok()?)?,
            lines: value
                .get("text")?
                .as_array()?
                .iter()
                .map(|l| l.as_str().map(str::to_string))
                .collect::<Option<Vec<String>>>()?,
        }),
    };
    Some(Record {
        line: value.get("line")?.as_u64()?,
        address: text("address")?,
        verdict: Verdict::from_name(value.get("verdict")?.as_str()?)?,
        reply,
        note: text("note"),
        host: text("host"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            input: "sha256:ab".into(),
            options: vec![
                ("--from".into(), "<a@b.example>".into()),
                ("--shard".into(), String::new()),
            ],
        }
    }

    #[test]
    fn a_header_reads_back_and_names_what_differs() {
        let h = header();
        assert!(h.encode().starts_with("{\"smtpx-verify-state\":1,"));
        assert_eq!(Header::decode(&h.encode()), Ok(h.clone()));
        assert_eq!(h.mismatch(&h), None);
        let mut other = h.clone();
        other.options[1].1 = "2/4".into();
        assert_eq!(
            h.mismatch(&other).unwrap(),
            "it was made with --shard not given, and this run has '2/4'"
        );
        other.input = "sha256:cd".into();
        assert!(h.mismatch(&other).unwrap().contains("another input"));
        assert!(Header::decode("alice@example.org").is_err());
        assert!(Header::decode("{\"x\":1}").is_err());
        let future = h.encode().replace(":1,", ":2,");
        assert!(
            Header::decode(&future).unwrap_err().contains("format 2"),
            "{future}"
        );
    }

    #[test]
    fn a_record_reads_back_whole() {
        let records = [
            Record {
                line: 7,
                address: "alice@example.org".into(),
                verdict: Verdict::Undeliverable,
                reply: Some(Reply::new(
                    550,
                    &["5.1.1 no such user", "second \"line\"\u{1b}"],
                )),
                note: None,
                host: Some("mx.example.org".into()),
            },
            Record {
                line: 8,
                address: "not an address".into(),
                verdict: Verdict::Invalid,
                reply: None,
                note: Some("missing '@domain'".into()),
                host: None,
            },
        ];
        for r in records {
            let line = encode(&r);
            assert!(!line.contains('\n'));
            assert_eq!(decode(line.as_bytes()), Some(r));
        }
    }

    #[test]
    fn every_torn_line_is_rejected() {
        let r = Record {
            line: 12,
            address: "bob@example.org".into(),
            verdict: Verdict::Deliverable,
            reply: Some(Reply::new(250, &["2.1.5 OK"])),
            note: None,
            host: Some("mx".into()),
        };
        let line = encode(&r);
        for cut in 0..line.len() {
            assert_eq!(decode(&line.as_bytes()[..cut]), None, "{cut}");
        }
    }
}
