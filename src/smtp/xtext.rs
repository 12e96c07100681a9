//! xtext (RFC 3461 §4) and utf-8-addr-xtext (RFC 6533 §3): how DSN parameters carry
//! arbitrary text inside one ESMTP parameter value.

/// RFC 3461 §4: "xchar" is any ASCII character from `!` to `~` except `+` and `=`; every
/// other octet goes as `+` and two upper-case hex digits. Non-ASCII text is encoded
/// octet by octet (its UTF-8 bytes).
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        if (b'!'..=b'~').contains(&b) && b != b'+' && b != b'=' {
            out.push(b as char);
        } else {
            out.push_str(&format!("+{b:02X}"));
        }
    }
    out
}

/// Reverses [`encode`]; None for a malformed value (a `+` not followed by two upper-case
/// hex digits, or octets outside xtext).
pub fn decode(xtext: &str) -> Option<Vec<u8>> {
    let bytes = xtext.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                let hex = bytes.get(i + 1..i + 3)?;
                if !hex
                    .iter()
                    .all(|h| h.is_ascii_digit() || (b'A'..=b'F').contains(h))
                {
                    return None;
                }
                out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
                i += 3;
            }
            b'=' => return None,
            b @ b'!'..=b'~' => {
                out.push(b);
                i += 1;
            }
            _ => return None,
        }
    }
    Some(out)
}

/// RFC 6533 §3 utf-8-addr-xtext: printable ASCII except `\`, `+`, `=` goes as it is;
/// every other character as `\x{HEX}` with its Unicode code point. Safe in ORCPT even
/// when the server does not offer SMTPUTF8.
pub fn encode_utf8_addr(address: &str) -> String {
    let mut out = String::with_capacity(address.len());
    for c in address.chars() {
        if c.is_ascii_graphic() && !matches!(c, '\\' | '+' | '=') {
            out.push(c);
        } else {
            out.push_str(&format!("\\x{{{:X}}}", c as u32));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc_3461_examples() {
        assert_eq!(encode("bob@example.org"), "bob@example.org");
        assert_eq!(encode("bob+tag@example.org"), "bob+2Btag@example.org");
        assert_eq!(encode("a=b c"), "a+3Db+20c");
        assert_eq!(encode("é"), "+C3+A9");
        assert_eq!(encode("\r\n"), "+0D+0A");
    }

    #[test]
    fn decode_refuses_malformed_values() {
        assert_eq!(decode("a+2Bb").unwrap(), b"a+b");
        assert!(decode("a+2b").is_none(), "hex digits must be upper case");
        assert!(decode("a+2").is_none());
        assert!(decode("a=b").is_none());
        assert!(decode("a b").is_none());
    }

    #[test]
    fn utf8_addr_xtext() {
        assert_eq!(
            encode_utf8_addr("josé@example.org"),
            "jos\\x{E9}@example.org"
        );
        assert_eq!(
            encode_utf8_addr("a+b=c\\d@例え.jp"),
            "a\\x{2B}b\\x{3D}c\\x{5C}d@\\x{4F8B}\\x{3048}.jp"
        );
    }

    proptest! {
        #[test]
        fn xtext_round_trips_and_is_one_parameter_value(s in ".{0,64}") {
            let e = encode(&s);
            prop_assert!(e.bytes().all(|b| (b'!'..=b'~').contains(&b) && b != b'='));
            prop_assert_eq!(decode(&e).unwrap(), s.as_bytes().to_vec());
        }

        #[test]
        fn utf8_addr_xtext_is_printable_ascii(s in ".{0,64}") {
            let e = encode_utf8_addr(&s);
            prop_assert!(e.bytes().all(|b| b.is_ascii_graphic() && b != b'=' && b != b'+'));
        }
    }
}
