//! `--shard K/N`: a stable share of a list, chosen by domain, so that every address of a
//! domain (and so of its MX hosts) lands in the same share, on any machine and in any
//! release.

use std::fmt;

/// The K-th of N shares (1-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// The whole list.
    pub const ALL: Shard = Shard { index: 1, count: 1 };

    /// "K/N", 1 ≤ K ≤ N.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let (k, n) = text
            .split_once('/')
            .ok_or_else(|| format!("'{text}' is not K/N (e.g. 2/8)"))?;
        let number = |s: &str| s.trim().parse::<u32>().ok().filter(|&v| v > 0);
        match (number(k), number(n)) {
            (Some(index), Some(count)) if index <= count => Ok(Shard { index, count }),
            (Some(_), Some(_)) => Err(format!("'{text}': K must be at most N")),
            _ => Err(format!(
                "'{text}' is not K/N with whole numbers 1 ≤ K ≤ N (e.g. 2/8)"
            )),
        }
    }

    /// Whether the share takes an address of `domain` (compared in lower case). A line
    /// that is not an address goes by its whole text, so it too is in exactly one share.
    pub fn takes(self, domain: &str) -> bool {
        self.count == 1 || share_of(domain, self.count) == self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The 1-based share of `key` among `count`: FNV-1a (64 bits) of its lower-case bytes,
/// modulo `count`. A fixed function, unlike the standard library's randomly keyed
/// hasher, so every shard of every run agrees.
pub fn share_of(key: &str, count: u32) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes() {
        hash ^= u64::from(byte.to_ascii_lowercase());
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash % u64::from(count.max(1))) as u32 + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_k_of_n() {
        assert_eq!(Shard::parse("2/8"), Ok(Shard { index: 2, count: 8 }));
        assert_eq!(Shard::parse("1/1"), Ok(Shard::ALL));
        for bad in ["0/4", "5/4", "4", "a/b", "1/0", "/4", "-1/4", ""] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Shard::parse("3/4").unwrap().to_string(), "3/4");
    }

    #[test]
    fn the_hash_is_fixed_and_ignores_case() {
        // FNV-1a 64 test vectors: "" and "a".
        assert_eq!(
            share_of("", u32::MAX),
            (0xcbf2_9ce4_8422_2325u64 % u64::from(u32::MAX)) as u32 + 1
        );
        assert_eq!(
            share_of("a", u32::MAX),
            (0xaf63_dc4c_8601_ec8cu64 % u64::from(u32::MAX)) as u32 + 1
        );
        assert_eq!(share_of("Example.ORG", 7), share_of("example.org", 7));
    }

    #[test]
    fn every_domain_is_in_exactly_one_share_and_shares_are_even() {
        let n = 4;
        let mut sizes = [0usize; 4];
        for i in 0..10_000 {
            let domain = format!("d{i}.example");
            let owners: Vec<u32> = (1..=n)
                .filter(|&k| Shard { index: k, count: n }.takes(&domain))
                .collect();
            assert_eq!(owners.len(), 1, "{domain}");
            sizes[owners[0] as usize - 1] += 1;
        }
        assert!(
            sizes.iter().all(|&s| (2_000..3_000).contains(&s)),
            "{sizes:?}"
        );
    }
}
