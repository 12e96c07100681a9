//! RFC 5322 message composition from command-line pieces (headers, body), via mail-builder.

use mail_builder::MessageBuilder;
use mail_builder::headers::raw::Raw;
use mail_builder::headers::text::Text;

use crate::smtp::Address;

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
        if name.len() + value.len() + 2 > 998 {
            return Err(format!("header '{name}' is longer than 998 octets"));
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

/// What a composed message is made of. Bcc recipients are deliberately absent: they go
/// in the envelope only.
#[derive(Clone, Debug, Default)]
pub struct Composition {
    pub from: Option<Address>,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    pub subject: Option<String>,
    pub headers: Vec<Header>,
    pub body: String,
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
/// generated unless a `--header` gives them; non-ASCII is RFC 2047-encoded and the body
/// gets a transfer encoding that keeps it 7-bit and within line limits.
pub fn compose(c: &Composition) -> Vec<u8> {
    let overridden = |name: &str| c.headers.iter().any(|h| h.is(name));
    let mut b = MessageBuilder::new();
    if let (Some(from), false) = (&c.from, overridden("From")) {
        b = b.from(from.to_string());
    }
    if !c.to.is_empty() && !overridden("To") {
        b = b.to(c.to.iter().map(|a| a.to_string()).collect::<Vec<_>>());
    }
    if !c.cc.is_empty() && !overridden("Cc") {
        b = b.cc(c.cc.iter().map(|a| a.to_string()).collect::<Vec<_>>());
    }
    if let (Some(subject), false) = (&c.subject, overridden("Subject")) {
        b = b.subject(subject.as_str());
    }
    for h in &c.headers {
        let canonical = GENERATED
            .iter()
            .find(|g| h.is(g))
            .map_or(h.name.as_str(), |g| *g);
        b = if h.value.is_ascii() {
            b.header(canonical.to_string(), Raw::new(h.value.clone()))
        } else {
            b.header(canonical.to_string(), Text::new(h.value.clone()))
        };
    }
    b = b.text_body(c.body.as_str());
    b.write_to_vec().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(c: &Composition) -> String {
        String::from_utf8(compose(c)).unwrap()
    }

    fn addr(s: &str) -> Address {
        Address::parse(s).unwrap()
    }

    #[test]
    fn generated_headers() {
        let m = text(&Composition {
            from: Some(addr("me@example.org")),
            to: vec![addr("you@example.org")],
            cc: vec![addr("cc@example.org")],
            subject: Some("hi".into()),
            body: "hello\n".into(),
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
        assert!(!m.to_ascii_lowercase().contains("bcc"));
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
            body: "grüße\n".into(),
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
    }
}
