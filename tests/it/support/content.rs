//! Message content for `smtpx send --data`: temporary files, and complete
//! messages of an exact size.

use std::io::Write;

use tempfile::NamedTempFile;

/// A temporary file holding `bytes`; removed when dropped.
pub fn file_with(bytes: &[u8]) -> NamedTempFile {
    let mut f = NamedTempFile::new().expect("create a temporary file");
    f.write_all(bytes).expect("write the temporary file");
    f.flush().expect("flush the temporary file");
    f
}

/// The file's path as a command-line argument.
pub fn path(f: &NamedTempFile) -> String {
    f.path().display().to_string()
}

/// A complete message with CRLF line ends, of exactly `len` octets: full
/// headers (so a receiving MTA has none to add), a line led by a dot (to be
/// stuffed with DATA, not with BDAT), then 74-octet lines.
pub fn message(subject: &str, len: usize) -> Vec<u8> {
    let mut m = format!(
        "From: <me@example.org>\r\nTo: <you@example.test>\r\nSubject: {subject}\r\n\
         Date: Mon, 2 Mar 2026 10:00:00 +0000\r\nMessage-ID: <{subject}@client.test>\r\n\r\n\
         .a line led by a dot\r\n"
    )
    .into_bytes();
    let line = b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\r\n";
    assert!(
        len >= m.len() + 2,
        "a message needs at least {} octets",
        m.len() + 2
    );
    while m.len() + line.len() + 2 <= len {
        m.extend_from_slice(line);
    }
    while m.len() < len - 2 {
        m.push(b'x');
    }
    m.extend_from_slice(b"\r\n");
    m
}
