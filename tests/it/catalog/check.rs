//! Checks shared by rows: the forms a secret can take, and what a receiver makes of
//! the DATA stream under every lenient end-of-data rule.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;

use super::runner::{RunResult, Style, contains};

/// The canary as it could show up: raw, hex in either case, and base64 at each of the
/// three alignments it can have inside a longer base64 string (`\0user\0secret`, a
/// server's echo with a prefix, ...). For a shifted alignment only the characters that
/// depend on the secret alone are kept, so any base64 text that encodes it matches.
pub fn secret_forms(canary: &str) -> Vec<String> {
    let hex: String = canary.bytes().map(|b| format!("{b:02x}")).collect();
    let mut forms = vec![canary.to_string(), hex.to_uppercase(), hex];
    for shift in 0..3 {
        let mut bytes = vec![0u8; shift];
        bytes.extend_from_slice(canary.as_bytes());
        let encoded = STANDARD_NO_PAD.encode(&bytes);
        let start = if shift == 0 { 0 } else { 4 };
        let end = bytes.len() / 3 * 4;
        forms.push(encoded[start..end].to_string());
    }
    forms
}

/// Positions where some receiver would see end-of-data: a `.` alone on a line, where a
/// line may end in CRLF, LF or CR (the lenient rules "SMTP smuggling" relies on).
fn lenient_ends(stream: &[u8]) -> impl Iterator<Item = usize> + '_ {
    (0..stream.len()).filter(|&i| {
        let after_break = i == 0 || matches!(stream[i - 1], b'\r' | b'\n');
        let before_break = matches!(stream.get(i + 1), Some(b'\r' | b'\n'));
        stream[i] == b'.' && after_break && before_break
    })
}

fn first_lenient_end(stream: &[u8]) -> Option<usize> {
    lenient_ends(stream).next()
}

/// The bytes the client sent after `DATA`, as the server saw them.
fn after_data(r: &RunResult) -> Result<&[u8], String> {
    let received = &r.record.received;
    let at = received
        .windows(6)
        .position(|w| w == b"DATA\r\n")
        .ok_or("the client never sent DATA")?;
    Ok(&received[at + 6..])
}

/// Exactly one end-of-data, even for the most lenient receiver: the first place any
/// rule would end the message is the real `CRLF.CRLF`, and no bare CR or LF comes
/// before it. Gives the payload before the terminator.
fn single_end(r: &RunResult) -> Result<&[u8], String> {
    let stream = after_data(r)?;
    let real = if stream.starts_with(b".\r\n") {
        0
    } else {
        stream
            .windows(5)
            .position(|w| w == b"\r\n.\r\n")
            .map(|p| p + 2)
            .ok_or("no CRLF.CRLF after DATA")?
    };
    let first = first_lenient_end(stream);
    if first != Some(real) {
        return Err(format!(
            "a lenient receiver ends the data at {first:?}, the real end is at {real}"
        ));
    }
    let payload = &stream[..real];
    for (i, &b) in payload.iter().enumerate() {
        let bare_cr = b == b'\r' && payload.get(i + 1) != Some(&b'\n');
        let bare_lf = b == b'\n' && (i == 0 || payload[i - 1] != b'\r');
        if bare_cr || bare_lf {
            let which = if bare_cr { "CR" } else { "LF" };
            return Err(format!("bare {which} at offset {i} of the data"));
        }
    }
    Ok(payload)
}

/// [`single_end`] as a row check, for content smtpx composed itself.
pub fn single_end_of_data(r: &RunResult) -> Result<(), String> {
    single_end(r).map(|_| ())
}

/// [`single_end`], and the receiver recovers the input with its line ends made CRLF.
pub fn one_end_of_data(r: &RunResult) -> Result<(), String> {
    let payload = single_end(r)?;
    let want = normalised(&r.input);
    let got = unstuffed(payload);
    if got != want {
        return Err(format!(
            "the receiver recovers {} bytes that differ from the input made CRLF ({} bytes); first difference at {:?}",
            got.len(),
            want.len(),
            got.iter().zip(&want).position(|(a, b)| a != b)
        ));
    }
    Ok(())
}

/// The input as a receiver should get it: every CRLF, bare CR and bare LF made CRLF,
/// and a final CRLF when the input does not end with a line break.
fn normalised(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() + 2);
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'\r' if input.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 2;
                continue;
            }
            b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Removes the dot RFC 5321 §4.5.2 adds to each line that starts with one.
fn unstuffed(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len());
    for line in payload.split_inclusive(|&b| b == b'\n') {
        out.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
    }
    out
}

/// The final dot never went out: nothing after `DATA` ends the message.
pub fn no_final_dot(r: &RunResult) -> Result<(), String> {
    let stream = after_data(r).unwrap_or(&[]);
    if stream.starts_with(b".\r\n") || contains(stream, b"\r\n.\r\n") {
        return Err("the final dot was sent although the message was not complete".into());
    }
    Ok(())
}

/// RFC 5322 §2.1.1: no line of the message on the wire is longer than 998 octets.
pub fn lines_within_998(r: &RunResult) -> Result<(), String> {
    let payload = single_end(r)?;
    match payload
        .split(|&b| b == b'\n')
        .map(|l| l.len().saturating_sub(1))
        .max()
    {
        Some(n) if n > 998 => Err(format!("a {n}-octet line went out")),
        _ => Ok(()),
    }
}

/// Control characters from the server reach no terminal: in the transcript ESC, BEL
/// and C1 controls are shown escaped, not raw; JSON escapes every C0 control, as it
/// must, and a consumer decides what to do with the text.
pub fn no_raw_controls(r: &RunResult) -> Result<(), String> {
    let out = r.output();
    let raw = |c: char| match r.style {
        Style::Json => c.is_ascii_control() && c != '\n',
        _ => c.is_control() && !matches!(c, '\n' | '\t'),
    };
    match out.chars().find(|&c| raw(c)) {
        Some(c) => Err(format!("raw control character {c:?} in the output")),
        None => Ok(()),
    }
}

/// A library run used the RFC timeout exactly: the paused clock moved by this much.
pub fn virtual_time(r: &RunResult, want: std::time::Duration) -> Result<(), String> {
    match r.virtual_elapsed {
        Some(got) if got == want => Ok(()),
        got => Err(format!("the paused clock moved {got:?}, expected {want:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifted_base64_forms_match_any_prefix() {
        let canary = "canary-0123456789abcdef";
        let forms = secret_forms(canary);
        for prefix in ["", "x", "xy", "\0tim\0", "you said: "] {
            let encoded = base64::engine::general_purpose::STANDARD
                .encode(format!("{prefix}{canary} and more"));
            assert!(
                forms.iter().any(|f| encoded.contains(f.as_str())),
                "{prefix:?}: {encoded}"
            );
        }
    }

    #[test]
    fn lenient_ends_see_every_smuggling_form() {
        for s in [&b"a\n.\nb"[..], b"a\r.\rb", b"a\n.\r\nb", b"a\r\n.\rb"] {
            assert_eq!(
                lenient_ends(s).count(),
                1,
                "{:?}",
                s.escape_ascii().to_string()
            );
        }
        assert_eq!(normalised(b"a\rb\nc\r\nd"), b"a\r\nb\r\nc\r\nd\r\n");
        assert_eq!(unstuffed(b"..x\r\n.\r\n"), b".x\r\n\r\n");
    }
}
