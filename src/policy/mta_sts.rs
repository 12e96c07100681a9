//! MTA-STS (RFC 8461): the `_mta-sts` TXT record, the policy file, and which MX hosts a
//! policy covers.

use super::tags::{self, Selection, TagError};

/// The largest policy file read (RFC 8461 §3.3 leaves the limit to the sender; 64 KiB
/// is what deployed MTAs use, and a real policy is a few hundred bytes).
pub const MAX_POLICY_BYTES: usize = 64 * 1024;

/// `max_age` may not exceed about a year (§3.2).
pub const MAX_AGE_LIMIT: u64 = 31_557_600;

/// The `_mta-sts.DOMAIN` TXT record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StsRecord {
    /// Changes whenever the policy does (1 to 32 letters and digits).
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    /// No TXT record starts with `v=STSv1`: the domain has no MTA-STS.
    Absent,
    /// More than one does: senders must act as if there were no policy (§3.1).
    Several(usize),
    Malformed(String),
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordError::Absent => f.write_str("no v=STSv1 TXT record"),
            RecordError::Several(n) => write!(
                f,
                "{n} TXT records start with v=STSv1; exactly one is allowed (RFC 8461 §3.1), so senders see no policy"
            ),
            RecordError::Malformed(why) => write!(f, "malformed record: {why}"),
        }
    }
}

/// Picks and parses the MTA-STS record from every TXT record at `_mta-sts.DOMAIN` (each
/// already joined from its strings). Records that do not start with `v=STSv1` are
/// ignored, as §3.1 says.
pub fn select_record(txts: &[String]) -> Result<StsRecord, RecordError> {
    match tags::select_one(txts, "v=STSv1") {
        Ok(one) => parse_record(one),
        Err(Selection::Absent) => Err(RecordError::Absent),
        Err(Selection::Several(n)) => Err(RecordError::Several(n)),
    }
}

pub fn parse_record(txt: &str) -> Result<StsRecord, RecordError> {
    let fields = tags::parse(txt, "v=STSv1").map_err(|e| match e {
        TagError::NotThisKind => RecordError::Absent,
        TagError::Malformed(why) => RecordError::Malformed(why),
    })?;
    let id = fields
        .iter()
        .find(|(name, _)| *name == "id")
        .map(|(_, v)| *v)
        .ok_or_else(|| RecordError::Malformed("no id= field".into()))?;
    if id.len() > 32 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(RecordError::Malformed(format!(
            "id {id:?} must be 1 to 32 letters and digits"
        )));
    }
    Ok(StsRecord { id: id.to_owned() })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Deliver only over TLS, WebPKI-valid, to an MX the policy names.
    Enforce,
    /// Check as in enforce, report failures, deliver anyway.
    Testing,
    /// The domain withdrew its policy.
    None,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Testing => "testing",
            Mode::None => "none",
        }
    }
}

/// A policy file, as fetched from `https://mta-sts.DOMAIN/.well-known/mta-sts.txt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub mode: Mode,
    /// Seconds a sender may cache the policy.
    pub max_age: u64,
    pub mx: Vec<MxPattern>,
}

/// Parses a policy file (§3.2): `key: value` lines ending in LF or CRLF. The first
/// occurrence of a key counts, except `mx` which may repeat; unknown keys are ignored.
pub fn parse_policy(text: &str) -> Result<Policy, String> {
    if text.len() > MAX_POLICY_BYTES {
        return Err(format!(
            "policy is {} bytes, over the {MAX_POLICY_BYTES}-byte limit",
            text.len()
        ));
    }
    let (mut version, mut mode, mut max_age) = (None, None, None);
    let mut mx = Vec::new();
    for (n, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let (key, value) = line
            .split_once(':')
            .ok_or_else(|| format!("line {}: {line:?} is not key: value", n + 1))?;
        let value = value.trim_matches([' ', '\t']);
        match key {
            "version" => {
                version.get_or_insert(value);
            }
            "mode" => {
                mode.get_or_insert(value);
            }
            "max_age" => {
                max_age.get_or_insert(value);
            }
            "mx" => {
                mx.push(MxPattern::parse(value).map_err(|why| format!("line {}: mx {why}", n + 1))?)
            }
            _ => {}
        }
    }
    match version {
        Some("STSv1") => {}
        Some(other) => return Err(format!("version {other:?} is not STSv1")),
        None => return Err("no version field".into()),
    }
    let mode = match mode {
        Some("enforce") => Mode::Enforce,
        Some("testing") => Mode::Testing,
        Some("none") => Mode::None,
        Some(other) => return Err(format!("mode {other:?} is not enforce, testing or none")),
        None => return Err("no mode field".into()),
    };
    let max_age = match max_age {
        Some(v) if (1..=10).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit()) => {
            let secs: u64 = v.parse().map_err(|_| format!("max_age {v:?}"))?;
            if secs > MAX_AGE_LIMIT {
                return Err(format!("max_age {secs} is over {MAX_AGE_LIMIT} (one year)"));
            }
            secs
        }
        Some(v) => return Err(format!("max_age {v:?} is not a number of seconds")),
        None => return Err("no max_age field".into()),
    };
    if mx.is_empty() && mode != Mode::None {
        return Err("no mx field (required unless mode is none)".into());
    }
    Ok(Policy { mode, max_age, mx })
}

/// An `mx` pattern: a host name, or `*.` and a domain that matches exactly one more
/// label on the left (§4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MxPattern {
    wildcard: bool,
    /// Lowercase, without a trailing dot.
    domain: String,
}

impl MxPattern {
    pub fn parse(text: &str) -> Result<MxPattern, String> {
        let (wildcard, domain) = match text.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let domain = domain
            .strip_suffix('.')
            .unwrap_or(domain)
            .to_ascii_lowercase();
        let labels_ok = !domain.is_empty()
            && domain.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !labels_ok {
            return Err(format!("{text:?} is not a host name or *.domain"));
        }
        Ok(MxPattern { wildcard, domain })
    }

    /// Whether the MX host `host` (as the MX record names it) matches.
    pub fn matches(&self, host: &str) -> bool {
        let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
        if !self.wildcard {
            return host == self.domain;
        }
        match host.split_once('.') {
            Some((first, rest)) => !first.is_empty() && rest == self.domain,
            None => false,
        }
    }
}

impl std::fmt::Display for MxPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.wildcard {
            f.write_str("*.")?;
        }
        f.write_str(&self.domain)
    }
}

impl Policy {
    /// The first pattern that covers `host`, if any.
    pub fn covering(&self, host: &str) -> Option<&MxPattern> {
        self.mx.iter().find(|p| p.matches(host))
    }
}

/// Why a fetched policy response cannot be used, judged from its status line and
/// headers (§3.3): only a 200 counts (redirects are never followed), and the content
/// must be `text/plain`.
pub fn check_response(status: u16, content_type: Option<&str>) -> Result<(), String> {
    if (300..400).contains(&status) {
        return Err(format!(
            "HTTP {status}: a redirect, which RFC 8461 §3.3 forbids following"
        ));
    }
    if status != 200 {
        return Err(format!("HTTP {status}, not 200"));
    }
    let media = content_type
        .map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    if media != "text/plain" {
        return Err(match content_type {
            Some(c) => format!("content type {c:?}, not text/plain"),
            None => "no content type (text/plain is required)".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txts(records: &[&str]) -> Vec<String> {
        records.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn one_record_among_others() {
        let r = select_record(&txts(&["v=spf1 -all", "v=STSv1; id=20190429T010101;"]));
        assert_eq!(r.unwrap().id, "20190429T010101");
    }

    #[test]
    fn none_or_several_records_mean_no_policy() {
        assert_eq!(select_record(&txts(&["v=spf1"])), Err(RecordError::Absent));
        assert_eq!(
            select_record(&txts(&["v=STSv1; id=a", "v=STSv1; id=b"])),
            Err(RecordError::Several(2))
        );
    }

    #[test]
    fn id_is_required_and_bounded() {
        assert!(matches!(
            parse_record("v=STSv1;"),
            Err(RecordError::Malformed(_))
        ));
        assert!(matches!(
            parse_record("v=STSv1; id=has-dash"),
            Err(RecordError::Malformed(_))
        ));
        let long = format!("v=STSv1; id={}", "a".repeat(33));
        assert!(matches!(
            parse_record(&long),
            Err(RecordError::Malformed(_))
        ));
        assert!(parse_record(&format!("v=STSv1; id={}", "a".repeat(32))).is_ok());
    }

    #[test]
    fn a_policy_with_crlf_lf_unknown_keys_and_repeated_mx() {
        let p = parse_policy(
            "version: STSv1\r\nmode: enforce\nmx: mail.example.com\r\nmx: *.example.net\nfoo: bar\nmax_age: 604800\n",
        )
        .unwrap();
        assert_eq!(p.mode, Mode::Enforce);
        assert_eq!(p.max_age, 604800);
        assert_eq!(p.mx.len(), 2);
        assert_eq!(p.mx[1].to_string(), "*.example.net");
    }

    #[test]
    fn the_first_occurrence_of_a_key_counts() {
        let p = parse_policy("version: STSv1\nmode: testing\nmode: enforce\nmax_age: 1\nmx: a.b\n")
            .unwrap();
        assert_eq!(p.mode, Mode::Testing);
    }

    #[test]
    fn bad_policies_say_why() {
        for (text, why) in [
            ("mode: enforce\nmax_age: 1\nmx: a.b\n", "no version"),
            (
                "version: STSv2\nmode: enforce\nmax_age: 1\nmx: a.b\n",
                "STSv2",
            ),
            (
                "version: STSv1\nmode: strict\nmax_age: 1\nmx: a.b\n",
                "strict",
            ),
            ("version: STSv1\nmode: enforce\nmx: a.b\n", "no max_age"),
            (
                "version: STSv1\nmode: enforce\nmax_age: 31557601\nmx: a.b\n",
                "one year",
            ),
            (
                "version: STSv1\nmode: enforce\nmax_age: -1\nmx: a.b\n",
                "not a number",
            ),
            ("version: STSv1\nmode: enforce\nmax_age: 86400\n", "no mx"),
            (
                "version: STSv1\nmode: enforce\nmax_age: 1\nmx: *.*.b\n",
                "mx",
            ),
            ("<html>\n", "not key: value"),
        ] {
            let err = parse_policy(text).unwrap_err();
            assert!(err.contains(why), "{text:?}: {err}");
        }
        let big = format!("version: STSv1\n{}", "x: y\n".repeat(20_000));
        assert!(parse_policy(&big).unwrap_err().contains("limit"));
    }

    #[test]
    fn mode_none_needs_no_mx() {
        let p = parse_policy("version: STSv1\nmode: none\nmax_age: 86400\n").unwrap();
        assert_eq!(p.mode, Mode::None);
    }

    #[test]
    fn wildcards_match_one_label_only() {
        let p = MxPattern::parse("*.example.com").unwrap();
        assert!(p.matches("mx1.example.com"));
        assert!(p.matches("MX1.Example.COM."));
        assert!(!p.matches("example.com"));
        assert!(!p.matches("a.b.example.com"));
        assert!(!p.matches("mx1.example.com.evil"));
        let exact = MxPattern::parse("mail.example.com.").unwrap();
        assert!(exact.matches("mail.example.com"));
        assert!(!exact.matches("x.mail.example.com"));
    }

    #[test]
    fn responses_other_than_a_plain_200_are_refused() {
        assert!(check_response(200, Some("text/plain; charset=utf-8")).is_ok());
        assert!(
            check_response(301, Some("text/plain"))
                .unwrap_err()
                .contains("redirect")
        );
        assert!(
            check_response(404, Some("text/html"))
                .unwrap_err()
                .contains("404")
        );
        assert!(
            check_response(200, Some("text/html"))
                .unwrap_err()
                .contains("text/html")
        );
        assert!(check_response(200, None).is_err());
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever a web server or a DNS answer holds, parsing ends with a value or a reason.
        #[test]
        fn any_text_parses_or_says_why(text in "\\PC{0,300}", txt in "v=STSv1[ -~]{0,80}") {
            let _ = parse_policy(&text);
            let _ = parse_record(&txt);
            let _ = MxPattern::parse(&text);
        }

        /// A policy written from parts parses back to those parts.
        #[test]
        fn written_policies_read_back(
            mode in prop::sample::select(vec!["enforce", "testing"]),
            max_age in 0u64..=MAX_AGE_LIMIT,
            hosts in prop::collection::vec("(\\*\\.)?[a-z0-9]{1,10}\\.[a-z]{2,6}", 1..5),
            crlf in any::<bool>(),
        ) {
            let end = if crlf { "\r\n" } else { "\n" };
            let mut text = format!("version: STSv1{end}mode: {mode}{end}max_age: {max_age}{end}");
            for h in &hosts {
                text.push_str(&format!("mx: {h}{end}"));
            }
            let p = parse_policy(&text).unwrap();
            prop_assert_eq!(p.mode.as_str(), mode);
            prop_assert_eq!(p.max_age, max_age);
            let back: Vec<String> = p.mx.iter().map(|m| m.to_string()).collect();
            prop_assert_eq!(back, hosts);
        }
    }
}
