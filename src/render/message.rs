//! `send --print`: the composed message, octet for octet, on stdout.

use std::io::{self, Write};

/// Writes the message as it is (CRLF line ends included). A reader that went away
/// (`| head`) is not an error.
pub fn write_message<W: Write>(mut out: W, bytes: &[u8]) -> io::Result<()> {
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// [`write_message`] to stdout.
pub fn print(bytes: &[u8]) -> io::Result<()> {
    write_message(io::stdout().lock(), bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octets_are_kept() {
        let mut out = Vec::new();
        write_message(&mut out, b"Subject: x\r\n\r\n.dot\r\n").unwrap();
        assert_eq!(out, b"Subject: x\r\n\r\n.dot\r\n");
    }
}
