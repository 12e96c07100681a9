//! Making server-supplied text safe to show on a terminal.

/// Escapes control characters (C0, DEL, C1), so a server cannot move the cursor, change
/// colours or retitle the user's terminal. U+FFFD from invalid UTF-8 is kept visible.
pub fn escape_controls(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            match c {
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                '\n' => out.push_str("\\n"),
                c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
                c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Message content arriving in blocks, cut into lines (LF or CRLF ends, not kept); a
/// line that spans blocks waits for its end.
#[derive(Debug, Default)]
pub struct ContentLines {
    tail: Vec<u8>,
}

impl ContentLines {
    /// The lines that this block completes.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        self.tail.extend_from_slice(bytes);
        let Some(last) = memchr::memrchr(b'\n', &self.tail) else {
            return Vec::new();
        };
        let rest = self.tail.split_off(last + 1);
        let done = std::mem::replace(&mut self.tail, rest);
        done[..done.len() - 1]
            .split(|&b| b == b'\n')
            .map(line_text)
            .collect()
    }

    /// The last line, when the content did not end with a line break.
    pub fn finish(&mut self) -> Option<String> {
        let tail = std::mem::take(&mut self.tail);
        (!tail.is_empty()).then(|| line_text(&tail))
    }
}

fn line_text(line: &[u8]) -> String {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    String::from_utf8_lossy(line).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_lines_span_blocks() {
        let mut c = ContentLines::default();
        assert_eq!(c.feed(b"Subject: x\r\n\r\nbo"), ["Subject: x", ""]);
        assert!(c.feed(b"dy").is_empty());
        assert_eq!(c.feed(b" line\r"), Vec::<String>::new());
        assert_eq!(c.feed(b"\nlast"), ["body line"]);
        assert_eq!(c.finish().as_deref(), Some("last"));
        assert_eq!(c.finish(), None);
        assert_eq!(c.feed(b"a\nb\n"), ["a", "b"]);
        assert_eq!(c.finish(), None);
    }

    #[test]
    fn escapes() {
        assert_eq!(escape_controls("plain text"), "plain text");
        assert_eq!(escape_controls("a\u{1b}[2Jb"), "a\\x1b[2Jb");
        assert_eq!(escape_controls("\u{7}\u{7f}\u{9b}"), "\\x07\\x7f\\x9b");
        assert_eq!(escape_controls("tab\there"), "tab\\there");
        assert_eq!(escape_controls("bad \u{fffd}"), "bad \u{fffd}");
    }
}
