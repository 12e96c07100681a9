//! The forms in which a secret could show up in a server's text, so that output can be
//! scrubbed of them: a server may echo what it was sent, raw, in hex or in base64.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;

/// Shorter derived forms would match innocent text; the raw secret is always kept.
const MIN_DERIVED: usize = 4;

/// The secret itself, its hex in both cases, and the part of its base64 that is the
/// same wherever it sits in a longer encoded message: base64 works in 3-byte groups, so
/// there are three alignments, each with a stable run of characters in the middle.
pub fn leak_forms(secret: &str) -> Vec<String> {
    let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
    let mut forms = vec![secret.to_string(), hex.to_uppercase(), hex];
    for shift in 0..3 {
        let mut bytes = vec![0u8; shift];
        bytes.extend_from_slice(secret.as_bytes());
        let encoded = STANDARD_NO_PAD.encode(&bytes);
        // The first group mixes in bytes before the secret; a last partial group mixes
        // in bytes after it. Only whole groups of the secret's own bytes are stable.
        let start = if shift == 0 { 0 } else { 4 };
        let end = bytes.len() / 3 * 4;
        if end > start {
            forms.push(encoded[start..end].to_string());
        }
    }
    forms.retain(|f| f == secret || f.len() >= MIN_DERIVED);
    forms.retain(|f| !f.is_empty());
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    forms.dedup();
    forms
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use proptest::prelude::*;

    proptest! {
        /// Whatever surrounds the secret, some form is found in the base64 of the whole.
        #[test]
        fn base64_at_any_offset_contains_a_form(
            secret in "[ -~]{6,40}",
            before in proptest::collection::vec(any::<u8>(), 0..7),
            after in proptest::collection::vec(any::<u8>(), 0..7),
        ) {
            let forms = leak_forms(&secret);
            let mut message = before.clone();
            message.extend_from_slice(secret.as_bytes());
            message.extend_from_slice(&after);
            let encoded = STANDARD.encode(&message);
            prop_assert!(forms.iter().any(|f| encoded.contains(f.as_str())), "{encoded} {forms:?}");
            let hex: String = message.iter().map(|b| format!("{b:02X}")).collect();
            prop_assert!(forms.iter().any(|f| hex.contains(f.as_str())));
        }
    }

    #[test]
    fn short_derived_forms_are_dropped_but_the_secret_stays() {
        let forms = leak_forms("ab");
        assert!(forms.contains(&"ab".to_string()));
        assert!(forms.iter().all(|f| f == "ab" || f.len() >= MIN_DERIVED));
    }
}
