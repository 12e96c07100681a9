//! RFC 5322 message composition from command-line pieces (headers, bodies, attachments),
//! via mail-builder: it does the MIME structure, RFC 2047 encoded words, RFC 2231
//! parameters, header folding and the 7-bit transfer encodings.

pub mod dkim;

use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address as HeaderAddress;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::date::Date;
use mail_builder::headers::message_id::generate_message_id_header;
use mail_builder::headers::raw::Raw;
use mail_builder::headers::text::Text;
use mail_builder::mime::{BodyPart, MimePart};

use crate::smtp::Address;

/// RFC 5322 §2.1.1: a line is at most 998 octets before CRLF.
const MAX_LINE: usize = 998;

/// A header given with `--header 'Name: value'`, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: String,
}

impl Header {
    /// Refuses what would inject headers or break the message: CR, LF, NUL and other
    /// controls in the value, and names outside RFC 5322 §2.2's printable ASCII.
    pub fn parse(s: &str) -> Result<Header, String> {
        let (name, value) = s
            .split_once(':')
            .ok_or_else(|| "expected 'Name: value'".to_string())?;
        let name = name.trim_end();
        if name.is_empty() || !name.bytes().all(|b| (33..=126).contains(&b)) {
            return Err(format!(
                "header name '{}' must be printable ASCII without spaces or ':'",
                name.escape_debug()
            ));
        }
        let value = value.trim();
        if value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(format!(
                "header '{name}' value contains a control character (CR, LF, NUL, ...)"
            ));
        }
        // Folding (RFC 5322 §2.2.3) breaks lines only at white space, so one word must
        // fit a line by itself.
        let longest = value.split([' ', '\t']).map(str::len).max().unwrap_or(0);
        if name.len() + 2 + longest > MAX_LINE {
            return Err(format!(
                "header '{name}' has a word too long to fold into lines of {MAX_LINE} octets (RFC 5322 §2.1.1)"
            ));
        }
        Ok(Header {
            name: name.to_string(),
            value: value.to_string(),
        })
    }

    fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

/// An address as a header shows it: with an optional display name (RFC 5322 §3.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    pub address: Address,
}

impl Mailbox {
    /// Splits `Display Name <local@domain>` (the name may be quoted) from a bare
    /// address. Returns the name and the address text; the name is refused if it holds
    /// control characters, which could inject headers.
    pub fn split(s: &str) -> Result<(Option<String>, &str), String> {
        let t = s.trim();
        let Some(open) = t.rfind('<').filter(|_| t.ends_with('>')) else {
            return Ok((None, s));
        };
        let inner = &t[open + 1..t.len() - 1];
        let raw = t[..open].trim();
        let name = match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
            Some(quoted) => quoted.replace("\\\"", "\"").replace("\\\\", "\\"),
            None => raw.to_string(),
        };
        if name.chars().any(char::is_control) {
            return Err("the display name contains a control character (CR, LF, NUL, ...)".into());
        }
        Ok(((!name.is_empty()).then_some(name), inner))
    }

    /// Splits a comma-separated list of mailboxes, as swaks takes `--to a@x,b@y`. A comma
    /// inside double quotes (a display name or a quoted local part) or inside `<...>` does
    /// not split; empty items (a trailing comma) are dropped.
    pub fn split_list(s: &str) -> Vec<&str> {
        let mut items = Vec::new();
        let (mut quoted, mut angle, mut escaped) = (false, false, false);
        let mut start = 0;
        for (i, c) in s.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if quoted => escaped = true,
                '"' => quoted = !quoted,
                '<' if !quoted => angle = true,
                '>' if !quoted => angle = false,
                ',' if !quoted && !angle => {
                    items.push(&s[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        items.push(&s[start..]);
        items.retain(|item| !item.trim().is_empty());
        items
    }

    fn header(&self) -> HeaderAddress<'static> {
        HeaderAddress::new_address(self.name.clone(), self.address.to_string())
    }
}

impl From<Address> for Mailbox {
    fn from(address: Address) -> Mailbox {
        Mailbox {
            name: None,
            address,
        }
    }
}

/// A file to attach: always base64, so its octets arrive exactly as they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    /// The `filename` parameter of Content-Disposition; None sends none (swaks'
    /// `--attach-name` with no name).
    pub filename: Option<String>,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl Attachment {
    /// The content type comes from the file name's extension (application/octet-stream
    /// when it says nothing).
    pub fn new(filename: &str, bytes: Vec<u8>) -> Attachment {
        Attachment {
            filename: Some(filename.to_string()),
            content_type: guess_type(filename),
            bytes,
        }
    }

    fn part(&self) -> MimePart<'static> {
        let part = MimePart::new(
            ContentType::new(self.content_type.clone()),
            BodyPart::Binary(base64_lines(&self.bytes).into()),
        )
        .transfer_encoding("base64");
        match &self.filename {
            Some(name) => part.attachment(name.clone()),
            None => part.header("Content-Disposition", ContentType::new("attachment")),
        }
    }
}

/// The content type a file name suggests; application/octet-stream when it says nothing.
pub fn guess_type(filename: &str) -> String {
    mime_guess::from_path(filename)
        .first_raw()
        .unwrap_or("application/octet-stream")
        .to_string()
}

/// `--attach-type`: a MIME type as RFC 2045 §5.1 spells it, `type/subtype` in token
/// characters, so it can go into Content-Type as it is. Returned lower-cased.
pub fn content_type(s: &str) -> Result<String, String> {
    let token = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b))
    };
    match s.split_once('/') {
        Some((t, sub)) if token(t) && token(sub) => Ok(s.to_ascii_lowercase()),
        _ => Err(format!(
            "'{}' is not a MIME type (type/subtype, e.g. application/pdf)",
            s.escape_debug()
        )),
    }
}

/// `--attach-name`: a file name for Content-Disposition (RFC 2183; RFC 2231 encodes a
/// non-ASCII one). Control characters and path separators are refused: the first could
/// inject headers, the second would name a path on the recipient's side.
pub fn attachment_name(s: &str) -> Result<String, String> {
    if s.chars().any(char::is_control) {
        return Err("the name contains a control character (CR, LF, NUL, ...)".into());
    }
    if s.contains(['/', '\\']) {
        return Err("the name contains a path separator ('/' or '\\')".into());
    }
    if s.len() > 255 {
        return Err("the name is longer than 255 octets".into());
    }
    Ok(s.to_string())
}

/// RFC 2045 §6.8: base64 in lines of at most 76 characters.
fn base64_lines(bytes: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD;
    let mut out = Vec::with_capacity(bytes.len() / 57 * 78 + 80);
    for (i, line) in bytes.chunks(57).enumerate() {
        if i > 0 {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(engine.encode(line).as_bytes());
    }
    out
}

/// What a composed message is made of. Bcc recipients are deliberately absent: they go
/// in the envelope only.
#[derive(Clone, Debug, Default)]
pub struct Composition {
    pub from: Option<Mailbox>,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    pub subject: Option<String>,
    /// `--header`: each replaces a generated header of its name.
    pub headers: Vec<Header>,
    /// `--add-header`: each is added after the others, even when a header of its name
    /// is generated or given with `--header`.
    pub added_headers: Vec<Header>,
    /// The text/plain body; None when only HTML was given.
    pub text: Option<String>,
    /// The text/html body; with a text body the two form multipart/alternative.
    pub html: Option<String>,
    pub attachments: Vec<Attachment>,
}

/// Headers whose generated value a `--header` of the same name replaces.
const GENERATED: [&str; 7] = [
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
];

/// Builds the message: Date, Message-ID, From, To, Cc, Subject and MIME-Version are
/// generated unless a `--header` gives them; non-ASCII is RFC 2047-encoded, headers are
/// folded at 78 columns, and every body part gets a transfer encoding that keeps it
/// 7-bit and within line limits, so the message needs no 8BITMIME.
pub fn compose(c: &Composition) -> Vec<u8> {
    let overridden = |name: &str| c.headers.iter().any(|h| h.is(name));
    let list =
        |boxes: &[Mailbox]| HeaderAddress::new_list(boxes.iter().map(Mailbox::header).collect());
    let mut b = MessageBuilder::new();
    if let (Some(from), false) = (&c.from, overridden("From")) {
        b = b.from(from.header());
    }
    if !c.to.is_empty() && !overridden("To") {
        b = b.to(list(&c.to));
    }
    if !c.cc.is_empty() && !overridden("Cc") {
        b = b.cc(list(&c.cc));
    }
    if let (Some(subject), false) = (&c.subject, overridden("Subject")) {
        b = b.header("Subject", unstructured(subject));
    }
    for h in &c.headers {
        let canonical = GENERATED
            .iter()
            .find(|g| h.is(g))
            .map_or(h.name.as_str(), |g| *g);
        b = b.header(canonical.to_string(), header_value(&h.value));
    }
    // mail-builder generates Date, Message-ID and MIME-Version only when no header of
    // that name was given: an added one of those names would take their place, so the
    // generated one is written out first.
    let added = |name: &str| c.added_headers.iter().any(|h| h.is(name));
    if added("Date") && !overridden("Date") {
        b = b.date(Date::now());
    }
    if added("Message-ID") && !overridden("Message-ID") {
        let mut id = Vec::new();
        generate_message_id_header(&mut id, &host_name());
        b = b.header(
            "Message-ID",
            Raw::new(String::from_utf8_lossy(&id).into_owned()),
        );
    }
    if added("MIME-Version") && !overridden("MIME-Version") {
        b = b.header("MIME-Version", Raw::new("1.0"));
    }
    for h in &c.added_headers {
        b = b.header(h.name.clone(), header_value(&h.value));
    }
    b = b.body(body_part(c));
    b.write_to_vec().unwrap_or_default()
}

fn header_value(value: &str) -> mail_builder::headers::HeaderType<'static> {
    if value.is_ascii() {
        Raw::new(value.to_string()).into()
    } else {
        Text::new(value.to_string()).into()
    }
}

/// The right-hand side of a generated Message-ID: this host's name when it is a domain.
fn host_name() -> String {
    let name = gethostname::gethostname().to_string_lossy().into_owned();
    let plain = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    if plain { name } else { "localhost".into() }
}

/// Subject-like text: as it is (folded at white space) when it is ASCII, RFC 2047
/// encoded words when it is not.
fn unstructured(value: &str) -> mail_builder::headers::HeaderType<'static> {
    // Plain ASCII folds at its spaces; a word too long for any line (RFC 5322 §2.1.1)
    // must become encoded-words, which can be split anywhere.
    let foldable = value.split_whitespace().all(|word| word.len() <= 900);
    if value.is_ascii() && foldable {
        Raw::new(value.to_string()).into()
    } else {
        Text::new(value.to_string()).into()
    }
}

/// text, html, or both as multipart/alternative (RFC 2046 §5.1.4), then the
/// attachments around it in multipart/mixed.
fn body_part(c: &Composition) -> MimePart<'static> {
    let text = c.text.clone().map(|t| MimePart::new("text/plain", t));
    let html = c.html.clone().map(|h| MimePart::new("text/html", h));
    let main = match (text, html) {
        (Some(t), Some(h)) => MimePart::new("multipart/alternative", vec![t, h]),
        (Some(t), None) => t,
        (None, Some(h)) => h,
        (None, None) => MimePart::new("text/plain", String::new()),
    };
    if c.attachments.is_empty() {
        return main;
    }
    let mut parts = vec![main];
    parts.extend(c.attachments.iter().map(Attachment::part));
    MimePart::new("multipart/mixed", parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(c: &Composition) -> String {
        String::from_utf8(compose(c)).unwrap()
    }

    fn addr(s: &str) -> Mailbox {
        Address::parse(s).unwrap().into()
    }

    #[test]
    fn comma_lists_split_outside_quotes_and_brackets() {
        assert_eq!(Mailbox::split_list("a@x,b@y"), ["a@x", "b@y"]);
        assert_eq!(Mailbox::split_list("a@x, b@y,"), ["a@x", " b@y"]);
        assert_eq!(
            Mailbox::split_list(r#""Doe, J" <j@x>,"a,b"@y"#),
            [r#""Doe, J" <j@x>"#, r#""a,b"@y"#]
        );
        assert_eq!(
            Mailbox::split_list(r#""x\",y" <j@x>,k@z"#),
            [r#""x\",y" <j@x>"#, "k@z"]
        );
        assert_eq!(Mailbox::split_list("<a,b@x>"), ["<a,b@x>"]);
        assert!(Mailbox::split_list("").is_empty());
    }

    #[test]
    fn generated_headers() {
        let m = text(&Composition {
            from: Some(addr("me@example.org")),
            to: vec![addr("you@example.org")],
            cc: vec![addr("cc@example.org")],
            subject: Some("hi".into()),
            text: Some("hello\n".into()),
            ..Default::default()
        });
        for h in [
            "From: <me@example.org>",
            "To: <you@example.org>",
            "Cc: <cc@example.org>",
            "Subject: hi",
            "Date: ",
            "Message-ID: <",
            "MIME-Version: 1.0",
        ] {
            assert!(m.contains(h), "{h} missing in\n{m}");
        }
        assert!(m.contains("\r\n\r\nhello"));
        // A header, not the letters: the random Message-ID may spell "bcc".
        assert!(!m.to_ascii_lowercase().contains("\r\nbcc:"));
    }

    #[test]
    fn user_headers_replace_generated_ones() {
        let m = text(&Composition {
            subject: Some("generated".into()),
            headers: vec![
                Header::parse("subject: mine").unwrap(),
                Header::parse("X-Test: 1").unwrap(),
            ],
            ..Default::default()
        });
        assert!(m.contains("Subject: mine"));
        assert!(!m.contains("generated"));
        assert!(m.contains("X-Test: 1"));
    }

    #[test]
    fn non_ascii_is_encoded() {
        let m = text(&Composition {
            subject: Some("héllo wörld".into()),
            text: Some("grüße\n".into()),
            ..Default::default()
        });
        assert!(m.is_ascii(), "{m}");
        assert!(m.contains("Subject: =?utf-8?"));
    }

    #[test]
    fn header_validation() {
        assert_eq!(
            Header::parse("X-A:  b ").unwrap(),
            Header {
                name: "X-A".into(),
                value: "b".into()
            }
        );
        assert!(Header::parse("X-A: b\r\nBcc: evil@x").is_err());
        assert!(Header::parse("X-A: b\nBcc: evil@x").is_err());
        assert!(Header::parse("X-A: b\0").is_err());
        assert!(Header::parse("Bad Name: x").is_err());
        assert!(Header::parse("novalue").is_err());
        assert!(Header::parse(": x").is_err());
        let words = ["word"; 400].join(" ");
        assert!(Header::parse(&format!("X-Long: {words}")).is_ok(), "folds");
        let word = "w".repeat(991);
        assert!(Header::parse(&format!("X-Long: {word}")).is_err());
    }

    fn lines_within(m: &str, limit: usize) {
        for line in m.split("\r\n") {
            assert!(line.len() <= limit, "{} octets: {line}", line.len());
        }
    }

    #[test]
    fn display_names_are_encoded_and_headers_folded() {
        let (name, a) = Mailbox::split("Jörg Müller <jm@example.org>").unwrap();
        let jm = Mailbox {
            name,
            address: Address::parse(a).unwrap(),
        };
        let (quoted, b) = Mailbox::split("\"Doe, \\\"J\\\"\" <jd@example.org>").unwrap();
        assert_eq!(quoted.as_deref(), Some("Doe, \"J\""));
        let jd = Mailbox {
            name: quoted,
            address: Address::parse(b).unwrap(),
        };
        let subject = "a long subject ".repeat(12);
        let m = text(&Composition {
            from: Some(jm),
            to: vec![jd, addr("x@example.org")],
            subject: Some(subject.trim().into()),
            headers: vec![Header::parse(&format!("X-Words: {}", ["word"; 300].join(" "))).unwrap()],
            text: Some("x\n".into()),
            ..Default::default()
        });
        assert!(m.is_ascii());
        assert!(m.contains("From: =?utf-8?"), "{m}");
        assert!(m.contains("<jm@example.org>"));
        assert!(m.contains("\"Doe, \\\"J\\\"\" <jd@example.org>"), "{m}");
        assert!(
            m.contains("Subject: a long subject a long"),
            "plain ASCII stays readable:\n{m}"
        );
        lines_within(&m, 78);
        assert!(Mailbox::split("Evil\r\nBcc: x <a@b.c>").is_err());
        assert_eq!(Mailbox::split("a@b.c").unwrap(), (None, "a@b.c"));
        assert_eq!(Mailbox::split("<a@b.c>").unwrap(), (None, "a@b.c"));
    }

    #[test]
    fn html_alternative_and_attachments() {
        let m = text(&Composition {
            text: Some("plain\n".into()),
            html: Some("<p>rich</p>\n".into()),
            attachments: vec![
                Attachment::new("report.pdf", b"%PDF-1.4 \x00\xff".to_vec()),
                Attachment::new("notes.txt", b"line\nline\n".to_vec()),
                Attachment::new("blob.unknownext", vec![0u8; 200]),
            ],
            ..Default::default()
        });
        assert!(m.contains("Content-Type: multipart/mixed;"), "{m}");
        assert!(m.contains("Content-Type: multipart/alternative;"), "{m}");
        assert!(m.find("text/plain").unwrap() < m.find("text/html").unwrap());
        assert!(m.contains("Content-Type: application/pdf\r\n"), "{m}");
        assert!(
            m.contains("Content-Disposition: attachment; filename=\"report.pdf\""),
            "{m}"
        );
        assert!(
            m.contains("JVBERi0xLjQgAP8="),
            "base64 of the PDF bytes:\n{m}"
        );
        assert!(
            m.contains("Content-Type: text/plain\r\n") || m.contains("Content-Type: text/plain;")
        );
        assert!(
            m.contains("bGluZQpsaW5lCg=="),
            "text attachments are base64 too, bytes kept:\n{m}"
        );
        assert!(m.contains("Content-Type: application/octet-stream"));
        assert_eq!(m.matches("Content-Transfer-Encoding: base64").count(), 3);
        lines_within(&m, 78);
    }

    #[test]
    fn added_headers_come_as_well_as_generated_ones() {
        let m = text(&Composition {
            to: vec![addr("you@example.org")],
            subject: Some("generated".into()),
            headers: vec![Header::parse("X-Mine: replaced").unwrap()],
            added_headers: [
                "To: other@example.org",
                "Date: Thu, 1 Jan 1970 00:00:00 +0000",
                "X-Mine: added",
                "Message-ID: <mine@x>",
            ]
            .iter()
            .map(|h| Header::parse(h).unwrap())
            .collect(),
            text: Some("x\n".into()),
            ..Default::default()
        });
        let headers = m.split("\r\n\r\n").next().unwrap();
        for (name, n) in [
            ("To: ", 2),
            ("Date: ", 2),
            ("Message-ID: ", 2),
            ("MIME-Version: ", 1),
            ("X-Mine: ", 2),
            ("Subject: ", 1),
        ] {
            let count = headers.lines().filter(|l| l.starts_with(name)).count();
            assert_eq!(count, n, "{name} in\n{headers}");
        }
        assert!(headers.contains("To: <you@example.org>\r\n"), "{headers}");
        let mine = headers.find("X-Mine: replaced").unwrap();
        let added = headers.find("X-Mine: added").unwrap();
        assert!(
            mine < added,
            "added headers come after the others:\n{headers}"
        );
        assert!(headers.contains("Date: Thu, 1 Jan 1970 00:00:00 +0000\r\n"));
    }

    #[test]
    fn attachment_name_and_type_as_given() {
        let named = Attachment {
            filename: Some("renamed.bin".into()),
            content_type: content_type("Text/X-Custom").unwrap(),
            bytes: b"data".to_vec(),
        };
        let anonymous = Attachment {
            filename: None,
            ..Attachment::new("x.pdf", b"pdf".to_vec())
        };
        let m = text(&Composition {
            text: Some("x\n".into()),
            attachments: vec![named, anonymous],
            ..Default::default()
        });
        assert!(m.contains("Content-Type: text/x-custom\r\n"), "{m}");
        assert!(m.contains("filename=\"renamed.bin\""), "{m}");
        assert!(m.contains("Content-Type: application/pdf\r\n"), "{m}");
        assert!(m.contains("Content-Disposition: attachment\r\n"), "{m}");
        assert_eq!(m.matches("filename=").count(), 1, "{m}");
        for bad in [
            "pdf",
            "text/",
            "/plain",
            "text/pl ain",
            "text/plain\r\nBcc: x",
            "a/b;c=d",
        ] {
            assert!(content_type(bad).is_err(), "{bad:?}");
        }
        for bad in ["a\r\nb", "a\0", "../etc/passwd", "a\\b"] {
            assert!(attachment_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(attachment_name("résumé.pdf").unwrap(), "résumé.pdf");
    }

    #[test]
    fn html_alone_is_one_part() {
        let m = text(&Composition {
            html: Some("<b>x</b>".into()),
            ..Default::default()
        });
        assert!(m.contains("Content-Type: text/html"));
        assert!(!m.contains("multipart"));
    }

    #[test]
    fn long_and_8bit_body_lines_are_quoted_printable() {
        let body = format!("{}\nschön\n", "x ".repeat(600));
        let m = compose(&Composition {
            text: Some(body),
            ..Default::default()
        });
        let m = String::from_utf8(m).unwrap();
        assert!(
            m.contains("Content-Transfer-Encoding: quoted-printable"),
            "{m}"
        );
        assert!(m.is_ascii());
        lines_within(&m, 78);
    }
}
