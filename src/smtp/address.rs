//! Mailbox addresses, domains and EHLO names, validated before any byte goes on the wire.

use std::fmt;
use std::net::IpAddr;

/// RFC 5321 §4.5.3.1 size limits.
pub const MAX_LOCAL_PART: usize = 64;
pub const MAX_DOMAIN: usize = 255;
pub const MAX_PATH: usize = 256;

/// Why an address, domain or name was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidAddress(pub String);

impl fmt::Display for InvalidAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidAddress {}

fn invalid<T>(msg: impl Into<String>) -> Result<T, InvalidAddress> {
    Err(InvalidAddress(msg.into()))
}

/// A mailbox `local@domain` (RFC 5321 §4.1.2), stored without angle brackets.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Address {
    local: String,
    domain: Domain,
}

impl Address {
    /// Parses a bare mailbox; surrounding `<` `>` are not accepted, so a value that would
    /// change the command's shape can never reach the wire.
    pub fn parse(s: &str) -> Result<Address, InvalidAddress> {
        reject_controls(s)?;
        if s.is_empty() {
            return invalid("empty address");
        }
        let at = s
            .rfind('@')
            .ok_or_else(|| InvalidAddress("missing '@domain'".into()))?;
        let (local, domain) = (&s[..at], &s[at + 1..]);
        validate_local_part(local)?;
        let domain = Domain::parse(domain)?;
        if s.len() + 2 > MAX_PATH {
            return invalid(format!(
                "address longer than {} octets (RFC 5321 §4.5.3.1.3)",
                MAX_PATH - 2
            ));
        }
        Ok(Address {
            local: local.to_string(),
            domain,
        })
    }

    pub fn local_part(&self) -> &str {
        &self.local
    }

    pub fn domain(&self) -> &Domain {
        &self.domain
    }

    /// True when the address needs the SMTPUTF8 extension (RFC 6531).
    pub fn needs_smtputf8(&self) -> bool {
        !self.local.is_ascii() || !self.domain.as_str().is_ascii()
    }

    /// The same mailbox with its domain as A-labels, so that only a non-ASCII local part
    /// still needs SMTPUTF8.
    pub fn with_ascii_domain(&self) -> Result<Address, InvalidAddress> {
        Ok(Address {
            local: self.local.clone(),
            domain: self.domain.to_ascii()?,
        })
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.local, self.domain)
    }
}

/// MAIL FROM's argument: a mailbox or the null reverse-path `<>` (RFC 5321 §4.5.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReversePath {
    Null,
    Mailbox(Address),
}

impl ReversePath {
    /// `""` and `"<>"` are the null reverse-path.
    pub fn parse(s: &str) -> Result<ReversePath, InvalidAddress> {
        match s {
            "" | "<>" => Ok(ReversePath::Null),
            _ => Address::parse(s).map(ReversePath::Mailbox),
        }
    }

    pub fn address(&self) -> Option<&Address> {
        match self {
            ReversePath::Null => None,
            ReversePath::Mailbox(a) => Some(a),
        }
    }
}

impl fmt::Display for ReversePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReversePath::Null => f.write_str("<>"),
            ReversePath::Mailbox(a) => write!(f, "<{a}>"),
        }
    }
}

/// A domain name or address literal (`[192.0.2.1]`, `[IPv6:2001:db8::1]`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Domain(String);

impl Domain {
    pub fn parse(s: &str) -> Result<Domain, InvalidAddress> {
        reject_controls(s)?;
        if s.is_empty() {
            return invalid("empty domain");
        }
        if s.len() > MAX_DOMAIN {
            return invalid(format!(
                "domain longer than {MAX_DOMAIN} octets (RFC 5321 §4.5.3.1.2)"
            ));
        }
        if s.starts_with('[') {
            return parse_literal(s).map(|_| Domain(s.to_string()));
        }
        let name = s.strip_suffix('.').unwrap_or(s);
        for label in name.split('.') {
            validate_label(label, s)?;
        }
        Ok(Domain(name.to_string()))
    }

    /// The address literal for an IP, as used in EHLO when we have no name (§4.1.3).
    pub fn literal(ip: IpAddr) -> Domain {
        match ip {
            IpAddr::V4(v4) => Domain(format!("[{v4}]")),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Domain(format!("[{v4}]")),
                None => Domain(format!("[IPv6:{v6}]")),
            },
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Every U-label as its A-label (IDNA2008 via UTS #46, `bücher` → `xn--bcher-kva`).
    /// RFC 6531 §3.2 lets an IDN domain go either way; A-labels reach every server and
    /// keep an ASCII local part free of SMTPUTF8.
    pub fn to_ascii(&self) -> Result<Domain, InvalidAddress> {
        if self.0.is_ascii() {
            return Ok(self.clone());
        }
        let ascii = idna::domain_to_ascii(&self.0).map_err(|_| {
            InvalidAddress(format!(
                "'{}' is not a valid internationalised domain name (IDNA)",
                self.0
            ))
        })?;
        Domain::parse(&ascii)
    }

    pub fn is_literal(&self) -> bool {
        self.0.starts_with('[')
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn parse_literal(s: &str) -> Result<IpAddr, InvalidAddress> {
    let inner = s
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .ok_or_else(|| InvalidAddress(format!("unterminated address literal '{s}'")))?;
    let parsed = match inner.get(..5) {
        Some(tag) if tag.eq_ignore_ascii_case("IPv6:") => inner[5..]
            .parse::<std::net::Ipv6Addr>()
            .ok()
            .map(IpAddr::V6),
        _ => inner.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4),
    };
    parsed.ok_or_else(|| InvalidAddress(format!("invalid address literal '{s}'")))
}

fn validate_label(label: &str, whole: &str) -> Result<(), InvalidAddress> {
    if label.is_empty() {
        return invalid(format!("empty label in domain '{whole}'"));
    }
    if label.len() > 63 {
        return invalid(format!("domain label longer than 63 octets in '{whole}'"));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return invalid(format!("domain label starts or ends with '-' in '{whole}'"));
    }
    // Non-ASCII (U-label) characters are allowed here; SMTPUTF8 decides later if they may go.
    let ok = label
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || !c.is_ascii());
    if !ok {
        return invalid(format!("invalid character in domain '{whole}'"));
    }
    Ok(())
}

fn validate_local_part(local: &str) -> Result<(), InvalidAddress> {
    if local.is_empty() {
        return invalid("empty local part before '@'");
    }
    if local.len() > MAX_LOCAL_PART {
        return invalid(format!(
            "local part longer than {MAX_LOCAL_PART} octets (RFC 5321 §4.5.3.1.1)"
        ));
    }
    if local.starts_with('"') {
        return validate_quoted(local);
    }
    // Dot-string (§4.1.2): atext atoms separated by single dots.
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return invalid(format!("misplaced '.' in local part '{local}'"));
    }
    if let Some(c) = local.chars().find(|&c| !is_atext(c) && c != '.') {
        return invalid(format!(
            "character {c:?} must be quoted in local part '{local}'"
        ));
    }
    Ok(())
}

fn validate_quoted(local: &str) -> Result<(), InvalidAddress> {
    let inner = local
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .filter(|_| local.len() >= 2)
        .ok_or_else(|| InvalidAddress(format!("unterminated quoted local part {local}")))?;
    let mut escaped = false;
    for c in inner.chars() {
        match (escaped, c) {
            (true, _) => escaped = false,
            (false, '\\') => escaped = true,
            (false, '"') => return invalid(format!("unescaped '\"' in local part {local}")),
            _ => {}
        }
    }
    if escaped {
        return invalid(format!("dangling '\\' in local part {local}"));
    }
    Ok(())
}

/// RFC 5322 atext, plus any non-ASCII character (RFC 6531 extends atext with UTF-8).
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii()
}

/// Refuses bytes that could end a command line or drive a terminal: CR, LF, NUL, other
/// controls, and the angle brackets that delimit paths on the wire.
fn reject_controls(s: &str) -> Result<(), InvalidAddress> {
    for c in s.chars() {
        let what = match c {
            '\r' => "a carriage return (CR)",
            '\n' => "a line feed (LF)",
            '\0' => "a NUL byte",
            '<' | '>' => "'<' or '>'",
            c if c.is_control() => "a control character",
            _ => continue,
        };
        return invalid(format!("contains {what}"));
    }
    Ok(())
}

/// Validates a name for EHLO/HELO: a domain or an address literal, nothing else. An
/// internationalised name goes as A-labels: RFC 5321 §4.1.2 allows only LDH labels
/// there, and RFC 6531 §3.7.1 does not change that for EHLO.
pub fn ehlo_name(s: &str) -> Result<Domain, InvalidAddress> {
    reject_controls(s)?;
    if s.contains(' ') {
        return invalid("contains a space");
    }
    Domain::parse(s)?.to_ascii()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses() {
        for ok in [
            "me@example.org",
            "first.last+tag@sub.example.co.uk",
            "\"john doe\"@example.org",
            "user@[192.0.2.1]",
            "user@[IPv6:2001:db8::1]",
            "-dash@example.org",
            "josé@exämple.org",
            "a@b",
        ] {
            Address::parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
    }

    #[test]
    fn refuses_injection_and_malformed_addresses() {
        let cases = [
            ("me@example.org\r\nRCPT TO:<x@y>", "carriage return"),
            ("me@example.org\n", "line feed"),
            ("me\0@example.org", "NUL"),
            ("<me@example.org>", "'<' or '>'"),
            ("me@exa>mple.org", "'<' or '>'"),
            ("me @example.org", "must be quoted"),
            ("me\u{1b}[2J@example.org", "control"),
            ("example.org", "missing '@domain'"),
            ("@example.org", "empty local part"),
            ("me@", "empty domain"),
            ("me@example..org", "empty label"),
            ("me@-example.org", "'-'"),
            (".me@example.org", "misplaced '.'"),
            ("me@[300.1.1.1]", "invalid address literal"),
            ("\"unterminated@example.org", "quoted"),
            ("", "empty address"),
        ];
        for (bad, why) in cases {
            let err = Address::parse(bad).expect_err(bad).to_string();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
    }

    #[test]
    fn length_limits() {
        let local = "a".repeat(65);
        assert!(Address::parse(&format!("{local}@example.org")).is_err());
        let label = "b".repeat(63);
        let domain = [label.as_str(); 4].join(".");
        assert!(Address::parse(&format!("a@{domain}")).is_err());
        assert!(Address::parse(&format!("{}@example.org", "a".repeat(64))).is_ok());
    }

    #[test]
    fn reverse_path_null_and_display() {
        assert_eq!(ReversePath::parse("").unwrap(), ReversePath::Null);
        assert_eq!(ReversePath::parse("<>").unwrap().to_string(), "<>");
        assert_eq!(ReversePath::parse("a@b.c").unwrap().to_string(), "<a@b.c>");
    }

    #[test]
    fn smtputf8_detection() {
        assert!(Address::parse("josé@example.org").unwrap().needs_smtputf8());
        assert!(!Address::parse("jose@example.org").unwrap().needs_smtputf8());
    }

    #[test]
    fn idn_domains_become_a_labels() {
        let a = Address::parse("user@Bücher.example").unwrap();
        let ascii = a.with_ascii_domain().unwrap();
        assert_eq!(ascii.to_string(), "user@xn--bcher-kva.example");
        assert!(!ascii.needs_smtputf8());
        let u = Address::parse("josé@例え.jp")
            .unwrap()
            .with_ascii_domain()
            .unwrap();
        assert_eq!(u.to_string(), "josé@xn--r8jz45g.jp");
        assert!(u.needs_smtputf8(), "the local part still needs SMTPUTF8");
        let plain = Address::parse("Me@Example.ORG").unwrap();
        assert_eq!(plain.with_ascii_domain().unwrap(), plain);
        assert!(
            Domain::parse("\u{301}a.example")
                .unwrap()
                .to_ascii()
                .is_err()
        );
    }

    #[test]
    fn literals_for_ehlo() {
        assert_eq!(
            Domain::literal("127.0.0.1".parse().unwrap()).as_str(),
            "[127.0.0.1]"
        );
        assert_eq!(
            Domain::literal("::1".parse().unwrap()).as_str(),
            "[IPv6:::1]"
        );
        assert_eq!(
            Domain::literal("::ffff:10.0.0.1".parse().unwrap()).as_str(),
            "[10.0.0.1]"
        );
        assert!(ehlo_name("client.example.org").is_ok());
        assert!(ehlo_name("[127.0.0.1]").is_ok());
        assert!(ehlo_name("bad name").is_err());
        assert!(ehlo_name("x\r\nMAIL").is_err());
        assert_eq!(
            ehlo_name("Bücher.test").unwrap().as_str(),
            "xn--bcher-kva.test"
        );
        let bad = ehlo_name("\u{301}a.test").unwrap_err().to_string();
        assert!(bad.contains("IDNA"), "{bad}");
    }
}
