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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(escape_controls("plain text"), "plain text");
        assert_eq!(escape_controls("a\u{1b}[2Jb"), "a\\x1b[2Jb");
        assert_eq!(escape_controls("\u{7}\u{7f}\u{9b}"), "\\x07\\x7f\\x9b");
        assert_eq!(escape_controls("tab\there"), "tab\\there");
        assert_eq!(escape_controls("bad \u{fffd}"), "bad \u{fffd}");
    }
}
