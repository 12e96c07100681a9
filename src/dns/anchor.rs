//! `--dns-trust-anchor FILE`: DS or DNSKEY records in zone-file syntax (RFC 1035 §5,
//! RFC 4034 §2.2 and §5.3), read as plain data before any query is made.
//!
//! hickory's own loader takes DNSKEY records only; a DS record is what a parent zone
//! (or IANA, for the root) publishes, so both forms are accepted here and a DS is
//! turned into keys by [`super::resolver`] when it is first needed.

use std::fmt;
use std::path::Path;

use base64::Engine as _;

/// The keys smtpx trusts instead of the built-in root trust anchor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustAnchor {
    /// Where the records came from, for messages.
    pub source: String,
    pub entries: Vec<AnchorRecord>,
}

/// One trust anchor record. `zone` is in ASCII with its trailing dot.
#[derive(Clone, PartialEq, Eq)]
pub enum AnchorRecord {
    /// RFC 4034 §5.1: a digest of the zone's key.
    Ds {
        zone: String,
        key_tag: u16,
        algorithm: u8,
        digest_type: u8,
        digest: Vec<u8>,
    },
    /// RFC 4034 §2.1: the zone's key itself.
    Dnskey {
        zone: String,
        flags: u16,
        protocol: u8,
        algorithm: u8,
        key: Vec<u8>,
    },
}

impl AnchorRecord {
    pub fn zone(&self) -> &str {
        match self {
            AnchorRecord::Ds { zone, .. } | AnchorRecord::Dnskey { zone, .. } => zone,
        }
    }
}

impl fmt::Debug for AnchorRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnchorRecord::Ds {
                zone,
                key_tag,
                algorithm,
                digest_type,
                ..
            } => write!(f, "{zone} DS {key_tag} {algorithm} {digest_type} …"),
            AnchorRecord::Dnskey {
                zone,
                flags,
                protocol,
                algorithm,
                ..
            } => write!(f, "{zone} DNSKEY {flags} {protocol} {algorithm} …"),
        }
    }
}

/// Reads and parses a trust anchor file. The message names the file and, for a
/// syntax error, the line.
pub fn load_trust_anchor(path: &Path) -> Result<TrustAnchor, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the trust anchor file {}: {e}", path.display()))?;
    parse_trust_anchor(&text, &path.display().to_string())
}

/// Parses DS and DNSKEY records; comments (`;`), parentheses spanning lines, an
/// optional TTL and class, and `$TTL`/`$ORIGIN`-free files as `dnssec-dsfromkey`
/// and `dnssec-keygen` write them. Other record types are refused so that a wrong
/// file is noticed instead of silently trusting nothing.
pub fn parse_trust_anchor(text: &str, source: &str) -> Result<TrustAnchor, String> {
    let err = |line: usize, why: String| format!("{source}, line {line}: {why}");
    let mut entries = Vec::new();
    let mut owner: Option<String> = None;
    for (line_no, tokens, starts_blank) in logical_lines(text).map_err(|(l, why)| err(l, why))? {
        let mut tokens = tokens.into_iter();
        let zone = if starts_blank {
            owner
                .clone()
                .ok_or_else(|| err(line_no, "the record has no owner name".into()))?
        } else {
            let name = tokens.next().unwrap_or_default();
            if name.starts_with('$') {
                return Err(err(
                    line_no,
                    format!("{name} is not supported: write each record's full owner name"),
                ));
            }
            absolute(&name).map_err(|why| err(line_no, why))?
        };
        owner = Some(zone.clone());
        // [TTL] [class] in either order (RFC 1035 §5.1).
        let mut rtype = None;
        for token in tokens.by_ref() {
            let upper = token.to_ascii_uppercase();
            if token.chars().all(|c| c.is_ascii_digit()) || upper == "IN" {
                continue;
            }
            rtype = Some(upper);
            break;
        }
        let rest: Vec<String> = tokens.collect();
        let record = match rtype.as_deref() {
            Some("DS") => ds(zone, &rest),
            Some("DNSKEY") => dnskey(zone, &rest),
            Some(other) => Err(format!(
                "a {other} record is not a trust anchor: use DS or DNSKEY records"
            )),
            None => Err("the record has no type".into()),
        }
        .map_err(|why| err(line_no, why))?;
        entries.push(record);
    }
    if entries.is_empty() {
        return Err(format!("{source}: no DS or DNSKEY records"));
    }
    Ok(TrustAnchor {
        source: source.to_string(),
        entries,
    })
}

fn ds(zone: String, fields: &[String]) -> Result<AnchorRecord, String> {
    let [key_tag, algorithm, digest_type, digest @ ..] = fields else {
        return Err("a DS record needs a key tag, an algorithm, a digest type and a digest".into());
    };
    let digest = hex(&digest.concat()).ok_or("the DS digest is not hexadecimal")?;
    Ok(AnchorRecord::Ds {
        zone,
        key_tag: number(key_tag, "key tag")?,
        algorithm: number(algorithm, "algorithm")?,
        digest_type: number(digest_type, "digest type")?,
        digest,
    })
}

fn dnskey(zone: String, fields: &[String]) -> Result<AnchorRecord, String> {
    let [flags, protocol, algorithm, key @ ..] = fields else {
        return Err("a DNSKEY record needs flags, a protocol, an algorithm and a key".into());
    };
    let key = base64::engine::general_purpose::STANDARD
        .decode(key.concat())
        .map_err(|_| "the DNSKEY public key is not base64")?;
    let flags: u16 = number(flags, "flags")?;
    // RFC 4034 §2.1.1: only a zone key (bit 7) can sign a zone.
    if flags & 0x0100 == 0 {
        return Err(format!(
            "DNSKEY flags {flags} do not mark a zone key (256 or 257)"
        ));
    }
    Ok(AnchorRecord::Dnskey {
        zone,
        flags,
        protocol: number(protocol, "protocol")?,
        algorithm: number(algorithm, "algorithm")?,
        key,
    })
}

fn number<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not a valid {what}"))
}

fn hex(text: &str) -> Option<Vec<u8>> {
    if text.is_empty() || !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A trust anchor's owner must be absolute: a relative name would depend on an
/// `$ORIGIN` this parser does not keep.
fn absolute(name: &str) -> Result<String, String> {
    if name == "." {
        return Ok(".".into());
    }
    let Some(stripped) = name.strip_suffix('.') else {
        return Err(format!(
            "the owner name {name:?} must be absolute (end with a dot)"
        ));
    };
    if stripped.is_empty()
        || stripped.split('.').any(str::is_empty)
        || !stripped.is_ascii()
        || stripped.len() > 253
    {
        return Err(format!("{name:?} is not a valid owner name"));
    }
    Ok(name.to_ascii_lowercase())
}

/// Splits the text into records: comments dropped, parenthesised groups joined.
/// Each item: the line the record starts on, its tokens, and whether the line began
/// with blank space (the previous owner applies, RFC 1035 §5.1).
type Logical = (usize, Vec<String>, bool);

fn logical_lines(text: &str) -> Result<Vec<Logical>, (usize, String)> {
    let mut out: Vec<Logical> = Vec::new();
    let mut open: Option<Logical> = None;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.split(';').next().unwrap_or("");
        let mut tokens = Vec::new();
        let mut depth_change = 0i32;
        for word in line
            .replace('(', " ( ")
            .replace(')', " ) ")
            .split_whitespace()
        {
            match word {
                "(" => depth_change += 1,
                ")" => depth_change -= 1,
                w => tokens.push(w.to_string()),
            }
        }
        match open.as_mut() {
            Some(current) => {
                current.1.extend(tokens);
                if depth_change < 0 {
                    out.push(open.take().expect("an open group"));
                } else if depth_change > 0 {
                    return Err((line_no, "nested parentheses".into()));
                }
            }
            None => {
                if depth_change < 0 {
                    return Err((
                        line_no,
                        "a closing parenthesis without an opening one".into(),
                    ));
                }
                if tokens.is_empty() && depth_change == 0 {
                    continue;
                }
                let starts_blank = raw.starts_with([' ', '\t']);
                let record = (line_no, tokens, starts_blank);
                if depth_change > 0 {
                    open = Some(record);
                } else {
                    out.push(record);
                }
            }
        }
    }
    if let Some((line_no, ..)) = open {
        return Err((
            line_no,
            "the parenthesis opened here is never closed".into(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT_DS: &str =
        ". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D";

    #[test]
    fn ds_as_dsfromkey_writes_it() {
        let anchor = parse_trust_anchor(ROOT_DS, "root.ds").unwrap();
        let [
            AnchorRecord::Ds {
                zone,
                key_tag,
                algorithm,
                digest_type,
                digest,
            },
        ] = anchor.entries.as_slice()
        else {
            panic!("{anchor:?}");
        };
        assert_eq!(
            (zone.as_str(), *key_tag, *algorithm, *digest_type),
            (".", 20326, 8, 2)
        );
        assert_eq!(digest.len(), 32);
        assert_eq!(digest[0], 0xe0);
    }

    #[test]
    fn dnskey_as_keygen_writes_it_with_comments_and_parentheses() {
        let text = "; This is a key-signing key, keyid 4242, for test.\n\
                    ; Created: 20260101000000\n\
                    Test. 3600 IN DNSKEY 257 3 13 ( AAEC\n\
                    \tAwQF ) ; key id = 4242\n\
                    \t\tIN DNSKEY 256 3 13 BgcI\n";
        let anchor = parse_trust_anchor(text, "k").unwrap();
        assert_eq!(anchor.entries.len(), 2);
        match &anchor.entries[0] {
            AnchorRecord::Dnskey {
                zone,
                flags,
                protocol,
                algorithm,
                key,
            } => {
                assert_eq!(zone, "test.");
                assert_eq!((*flags, *protocol, *algorithm), (257, 3, 13));
                assert_eq!(key, &[0, 1, 2, 3, 4, 5]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(anchor.entries[1].zone(), "test.", "blank owner repeats");
    }

    #[test]
    fn bad_files_say_where_and_why() {
        let table = [
            ("", "no DS or DNSKEY records"),
            ("; only a comment\n", "no DS or DNSKEY records"),
            (
                "test. IN A 127.0.0.1",
                "line 1: a A record is not a trust anchor",
            ),
            ("test IN DS 1 13 2 AABB", "must be absolute"),
            ("test. IN DS 1 13 2 XYZ", "not hexadecimal"),
            ("test. IN DS 1 13", "needs a key tag"),
            ("test. IN DS 99999 13 2 AABB", "not a valid key tag"),
            (
                "\ntest. DNSKEY 257 3 13 !!!",
                "line 2: the DNSKEY public key is not base64",
            ),
            ("test. DNSKEY 1 3 13 AAEC", "do not mark a zone key"),
            ("test. DNSKEY 257 3 13 ( AAEC", "never closed"),
            ("$ORIGIN test.", "not supported"),
            ("  IN DS 1 13 2 AABB", "no owner name"),
        ];
        for (text, want) in table {
            let got = parse_trust_anchor(text, "f").expect_err(text);
            assert!(got.contains(want), "{text:?}: {got}");
            assert!(got.starts_with("f"), "{got}");
        }
    }

    #[test]
    fn missing_file_is_named() {
        let got = load_trust_anchor(Path::new("/nonexistent/anchor.key")).unwrap_err();
        assert!(got.contains("/nonexistent/anchor.key"), "{got}");
    }
}
