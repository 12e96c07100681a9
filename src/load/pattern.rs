//! `--to` patterns: `user{n}@example.test` gives every recipient of a run its own
//! address (n = 1, 2, 3, ...); `user{n%K}@example.test` cycles through K of them
//! (1..=K), for servers that know only a few mailboxes.

use crate::smtp::{Address, Command};

/// A recipient address with at most one counter in it, validated for every value the
/// counter can take, so expanding it on the hot path needs no checks and no allocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipientPattern {
    prefix: String,
    counter: Option<Counter>,
    suffix: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Counter {
    /// `{n}`
    Plain,
    /// `{n%K}`
    Cycle(u64),
}

impl RecipientPattern {
    /// Parses `text`, checking that every address it expands to for n in 1..=`max_n`
    /// is a valid ASCII forward-path that fits in an RCPT command (RFC 5321 §4.5.3.1).
    pub fn parse(text: &str, max_n: u64) -> Result<RecipientPattern, String> {
        let pattern = split(text)?;
        if !text.is_ascii() {
            return Err("must be ASCII (IDN domains as A-labels; no SMTPUTF8 in bench)".into());
        }
        let largest = match pattern.counter {
            None => 1,
            Some(Counter::Plain) => max_n.max(1),
            Some(Counter::Cycle(k)) => k.min(max_n.max(1)),
        };
        // The shortest and the longest expansion: digits are valid wherever the counter
        // stands, so only the length can differ between them.
        for n in [1, largest] {
            let shown = pattern.address(n);
            let address = Address::parse(&shown).map_err(|e| format!("'{shown}': {e}"))?;
            Command::Rcpt {
                to: address,
                params: Vec::new(),
            }
            .encode()
            .map_err(|e| format!("'{shown}': {e}"))?;
        }
        Ok(pattern)
    }

    /// Whether addresses differ between recipients.
    pub fn varies(&self) -> bool {
        self.counter.is_some()
    }

    /// The counter value of recipient `index` (0-based) of message `ticket` (0-based),
    /// with `per_message` recipients per message: the same on every run.
    pub fn n(ticket: u64, index: u32, per_message: u32) -> u64 {
        ticket
            .saturating_mul(u64::from(per_message))
            .saturating_add(u64::from(index))
            .saturating_add(1)
    }

    /// Appends the address for counter value `n` (1-based).
    pub fn write(&self, n: u64, out: &mut Vec<u8>) {
        out.extend_from_slice(self.prefix.as_bytes());
        match self.counter {
            None => {}
            Some(Counter::Plain) => write_decimal(n, out),
            Some(Counter::Cycle(k)) => write_decimal((n.max(1) - 1) % k + 1, out),
        }
        out.extend_from_slice(self.suffix.as_bytes());
    }

    /// The address for `n`, for messages and tests.
    pub fn address(&self, n: u64) -> String {
        let mut out = Vec::new();
        self.write(n, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

fn split(text: &str) -> Result<RecipientPattern, String> {
    let pattern = counter(text)?;
    // Braces are legal in a local part, but here one is far likelier a mistyped counter.
    if (pattern.prefix.clone() + &pattern.suffix).contains(['{', '}']) {
        return Err("a brace that is not part of {n} or {n%K}".into());
    }
    Ok(pattern)
}

fn counter(text: &str) -> Result<RecipientPattern, String> {
    let Some(open) = text.find("{n") else {
        return Ok(RecipientPattern {
            prefix: text.to_string(),
            counter: None,
            suffix: String::new(),
        });
    };
    let close = text[open..]
        .find('}')
        .map(|i| open + i)
        .ok_or("'{n' without a closing '}'")?;
    let inner = &text[open + 2..close];
    let counter = if inner.is_empty() {
        Counter::Plain
    } else if let Some(k) = inner.strip_prefix('%') {
        match k.parse::<u64>() {
            Ok(k) if k >= 1 => Counter::Cycle(k),
            _ => {
                return Err(format!(
                    "'{{n{inner}}}': K in {{n%K}} must be a number from 1"
                ));
            }
        }
    } else {
        return Err(format!(
            "'{{n{inner}}}': the counter is written {{n}} or {{n%K}}"
        ));
    };
    let suffix = &text[close + 1..];
    if suffix.contains("{n") {
        return Err("only one {n} counter is allowed".into());
    }
    Ok(RecipientPattern {
        prefix: text[..open].to_string(),
        counter: Some(counter),
        suffix: suffix.to_string(),
    })
}

/// Decimal digits without a heap allocation.
pub fn write_decimal(mut n: u64, out: &mut Vec<u8>) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_addresses_and_counters() {
        let p = RecipientPattern::parse("bob@example.test", 1000).unwrap();
        assert!(!p.varies());
        assert_eq!(p.address(7), "bob@example.test");
        let p = RecipientPattern::parse("user{n}@example.test", 1000).unwrap();
        assert!(p.varies());
        assert_eq!(p.address(1), "user1@example.test");
        assert_eq!(p.address(1000), "user1000@example.test");
        let p = RecipientPattern::parse("u{n%3}@d{n%3}.test", 10).unwrap_err();
        assert!(p.contains("only one"), "{p}");
        let p = RecipientPattern::parse("u{n%3}@example.test", 10).unwrap();
        let got: Vec<String> = (1..=7).map(|n| p.address(n)).collect();
        assert_eq!(
            got,
            [
                "u1@example.test",
                "u2@example.test",
                "u3@example.test",
                "u1@example.test",
                "u2@example.test",
                "u3@example.test",
                "u1@example.test"
            ]
        );
        let p = RecipientPattern::parse("x@host{n}.example.test", 5).unwrap();
        assert_eq!(p.address(5), "x@host5.example.test");
    }

    #[test]
    fn recipients_are_numbered_across_messages() {
        assert_eq!(RecipientPattern::n(0, 0, 1), 1);
        assert_eq!(RecipientPattern::n(9, 0, 1), 10);
        assert_eq!(RecipientPattern::n(0, 2, 3), 3);
        assert_eq!(RecipientPattern::n(1, 0, 3), 4);
        assert_eq!(RecipientPattern::n(u64::MAX, 5, 3), u64::MAX);
    }

    #[test]
    fn bad_patterns_are_refused_before_sending() {
        for bad in [
            "user{n@example.test",
            "user{m}@example.test",
            "user{n%0}@example.test",
            "user{n%x}@example.test",
            "no-at-sign{n}",
            "a b{n}@example.test",
            "üser{n}@example.test",
            "<x{n}@example.test>\r\nDATA",
        ] {
            assert!(RecipientPattern::parse(bad, 100).is_err(), "{bad}");
        }
        // 64 octets of local part is the limit: with a 60-octet prefix, n up to 9999
        // fits and n = 99999 does not.
        let long = format!("{}{{n}}@example.test", "a".repeat(60));
        assert!(RecipientPattern::parse(&long, 9999).is_ok());
        assert!(RecipientPattern::parse(&long, 99_999).is_err());
    }

    proptest! {
        #[test]
        fn expansion_matches_the_validated_encoder(n in 1u64..u64::MAX, k in 1u64..1000) {
            for text in ["user{n}@example.test", "u{n%K}@x.example.test", "fixed@example.test"] {
                let text = text.replace('K', &k.to_string());
                let p = RecipientPattern::parse(&text, u64::MAX).unwrap();
                let mut line = b"RCPT TO:<".to_vec();
                p.write(n, &mut line);
                line.extend_from_slice(b">\r\n");
                let encoded = Command::Rcpt {
                    to: Address::parse(&p.address(n)).unwrap(),
                    params: Vec::new(),
                }
                .encode()
                .unwrap();
                prop_assert_eq!(line, encoded);
            }
        }

        #[test]
        fn decimal_digits(n: u64) {
            let mut out = Vec::new();
            write_decimal(n, &mut out);
            prop_assert_eq!(out, n.to_string().into_bytes());
        }
    }
}
