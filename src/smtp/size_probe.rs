//! Probing a server's message size limit with `MAIL FROM:<...> SIZE=n` (RFC 1870 §4),
//! without sending a message: which sizes to declare, and what the answers add up to.

/// The smallest declaration the search tries: a server refusing this is refusing for
/// some reason other than size.
pub const FLOOR: u64 = 1024;
/// The largest declaration the search tries (1 TiB); RFC 1870 §3 allows up to 20 digits,
/// but a server that accepts this enforces no limit at MAIL worth knowing.
pub const CEILING: u64 = 1 << 40;
/// At most this many MAIL commands per search.
pub const MAX_PROBES: usize = 20;

/// The two declarations that test an advertised limit: exactly at it, and one over.
pub fn at_and_over(limit: u64) -> [u64; 2] {
    [limit, limit.saturating_add(1)]
}

/// What the two probes of an advertised limit say about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitCheck {
    /// At the limit accepted, one over refused: as advertised.
    Enforced,
    /// One over the limit accepted too: the server may still refuse after DATA.
    NotEnforcedAtMail,
    /// Even a declaration at the advertised limit was refused.
    RefusesItsOwnLimit,
}

pub fn judge_limit(at_accepted: bool, over_accepted: bool) -> LimitCheck {
    match (at_accepted, over_accepted) {
        (false, _) => LimitCheck::RefusesItsOwnLimit,
        (true, false) => LimitCheck::Enforced,
        (true, true) => LimitCheck::NotEnforcedAtMail,
    }
}

/// A bounded search for the largest declaration a server accepts, when it advertises
/// SIZE without a limit (RFC 1870 §3: `SIZE 0`, no parameter, or one we cannot read).
///
/// First the ceiling (accepted: no limit found), then the floor (refused: not a size
/// limit), then geometric bisection while the bounds are far apart and arithmetic
/// bisection once they are within a factor of four: within [`MAX_PROBES`] the limit is
/// known to 0.1%, and exactly for limits of a few kilobytes.
#[derive(Clone, Debug, Default)]
pub struct SizeSearch {
    /// Largest declaration accepted so far.
    accepted: Option<u64>,
    /// Smallest declaration refused so far.
    refused: Option<u64>,
    probes: usize,
    /// A refusal below an acceptance: the server does not decide by size alone.
    inconsistent: bool,
}

/// What a finished (or exhausted) search found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchResult {
    /// Even [`CEILING`] was accepted.
    NoLimitUpTo(u64),
    /// Even [`FLOOR`] was refused: the refusal is not about size.
    RefusedAtFloor(u64),
    /// The limit lies in `accepted ..< refused`; exact when they differ by one.
    Between { accepted: u64, refused: u64 },
    /// Answers contradict each other (a smaller size refused, a larger one accepted).
    Inconsistent,
}

impl SizeSearch {
    pub fn new() -> SizeSearch {
        SizeSearch::default()
    }

    /// The next size to declare, or None when the search is over.
    pub fn next_probe(&self) -> Option<u64> {
        if self.probes >= MAX_PROBES || self.inconsistent {
            return None;
        }
        match (self.accepted, self.refused) {
            (Some(a), _) if a >= CEILING => None,
            (_, None) => Some(CEILING),
            (None, Some(r)) if r <= FLOOR => None,
            (None, Some(_)) => Some(FLOOR),
            (Some(a), Some(r)) if r <= a.saturating_add(1) => None,
            (Some(a), Some(r)) => Some(midpoint(a, r)),
        }
    }

    /// Records the answer to a declaration of `size`: accepted at MAIL, or not.
    pub fn record(&mut self, size: u64, accepted: bool) {
        self.probes += 1;
        if accepted {
            self.accepted = Some(self.accepted.map_or(size, |a| a.max(size)));
        } else {
            self.refused = Some(self.refused.map_or(size, |r| r.min(size)));
        }
        if let (Some(a), Some(r)) = (self.accepted, self.refused)
            && r <= a
        {
            self.inconsistent = true;
        }
    }

    pub fn probes(&self) -> usize {
        self.probes
    }

    pub fn result(&self) -> SearchResult {
        if self.inconsistent {
            return SearchResult::Inconsistent;
        }
        match (self.accepted, self.refused) {
            (Some(a), _) if a >= CEILING => SearchResult::NoLimitUpTo(a),
            (None, Some(r)) => SearchResult::RefusedAtFloor(r),
            (Some(a), Some(r)) => SearchResult::Between {
                accepted: a,
                refused: r,
            },
            // Not started, or accepted below the ceiling with no refusal yet: the
            // ceiling is always probed first, so this is a search cut short.
            (Some(a), None) => SearchResult::NoLimitUpTo(a),
            (None, None) => SearchResult::Inconsistent,
        }
    }
}

/// The geometric mean while the bounds are more than a factor of four apart (the limit
/// could be anywhere from kilobytes to terabytes), then the arithmetic mean.
fn midpoint(accepted: u64, refused: u64) -> u64 {
    let mid = if refused / accepted.max(1) >= 4 {
        ((accepted as f64).sqrt() * (refused as f64).sqrt()) as u64
    } else {
        accepted + (refused - accepted) / 2
    };
    mid.clamp(accepted + 1, refused - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Runs the search against a server that accepts declarations up to `limit`.
    fn search(limit: u64) -> (SearchResult, usize) {
        let mut s = SizeSearch::new();
        while let Some(n) = s.next_probe() {
            s.record(n, n <= limit);
        }
        (s.result(), s.probes())
    }

    #[test]
    fn typical_limits() {
        let (result, probes) = search(10_240_000);
        let SearchResult::Between { accepted, refused } = result else {
            panic!("{result:?}")
        };
        assert!(accepted <= 10_240_000 && refused > 10_240_000);
        assert!(refused - accepted <= 10_240, "{accepted}..{refused}");
        assert!(probes <= MAX_PROBES);
        assert_eq!(
            search(CEILING),
            (SearchResult::NoLimitUpTo(CEILING), 1),
            "no limit: one probe"
        );
        assert_eq!(search(100), (SearchResult::RefusedAtFloor(FLOOR), 2));
    }

    #[test]
    fn small_ranges_end_exact() {
        let (result, _) = search(FLOOR + 3);
        assert_eq!(
            result,
            SearchResult::Between {
                accepted: FLOOR + 3,
                refused: FLOOR + 4
            }
        );
    }

    #[test]
    fn contradictions_stop_the_search() {
        let mut s = SizeSearch::new();
        s.record(CEILING, false);
        s.record(FLOOR, true);
        let n = s.next_probe().unwrap();
        s.record(n, false);
        s.record(n + 10, true);
        assert_eq!(s.next_probe(), None);
        assert_eq!(s.result(), SearchResult::Inconsistent);
    }

    #[test]
    fn at_and_over_never_overflows() {
        assert_eq!(at_and_over(100), [100, 101]);
        assert_eq!(at_and_over(u64::MAX), [u64::MAX, u64::MAX]);
    }

    proptest! {
        #[test]
        fn bounded_and_bracketing(limit in FLOOR..CEILING) {
            let (result, probes) = search(limit);
            prop_assert!(probes <= MAX_PROBES);
            match result {
                SearchResult::Between { accepted, refused } => {
                    prop_assert!(accepted <= limit && limit < refused);
                    // Within 0.1% (or exact for small limits).
                    prop_assert!((refused - accepted) <= (limit / 1000).max(1), "{accepted}..{refused}");
                }
                other => prop_assert!(false, "{other:?}"),
            }
        }
    }
}
