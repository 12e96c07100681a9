//! How many RCPTs to pipeline in one transaction to one host, learnt from what the host
//! shows: the time per RCPT of each batch, from the write to its last reply. A bigger
//! batch saves round trips, but some servers answer a long pipelined group more slowly
//! per command (Postfix's replies to one leave in several writes, each after the ACK of
//! the one before: a client that delays its ACKs stalls 40 ms a batch, which is why
//! verify ACKs at once): the size goes to whichever size measured cheapest, trying the
//! next bigger one when it is unknown, and again now and then, less often each time it
//! proves dearer.

use std::time::Duration;

use super::work::MAX_BATCH;

/// The sizes tried, smallest first; the last is RFC 5321's minimum the server must
/// take in one transaction.
pub const SIZES: [usize; 5] = [5, 10, 20, 50, MAX_BATCH];

/// Where a host starts: small enough that a slow server does not cost much before it
/// is measured, big enough that a round trip is shared.
const START: usize = 2;

/// How much of the newest measure goes into a size's cost.
const WEIGHT: f64 = 0.3;

/// A neighbour must be this much cheaper to move to it: noise is no reason to move.
const MARGIN: f64 = 0.93;

/// Batches at one size after which the next bigger one is measured again (servers and
/// networks change); doubled each time, since a dearer size costs while it is tried.
const REVISIT: u32 = 32;

/// The batch size of one host.
#[derive(Clone, Debug)]
pub struct Sizer {
    level: usize,
    /// Seconds per RCPT at each size (a moving average); None until measured.
    cost: [Option<f64>; SIZES.len()],
    /// Batches measured since the size last changed.
    since: u32,
    /// When the next bigger size is measured again.
    revisit: u32,
}

impl Default for Sizer {
    fn default() -> Self {
        Sizer {
            level: START,
            cost: [None; SIZES.len()],
            since: 0,
            revisit: REVISIT,
        }
    }
}

impl Sizer {
    /// RCPTs (the catch-all probe included) for the next pipelined batch.
    pub fn size(&self) -> usize {
        SIZES[self.level]
    }

    /// A pipelined batch of `rcpts` RCPTs was sent at size `size` and all its replies
    /// came within `elapsed`. Only full batches say something about their size.
    pub fn observe(&mut self, size: usize, rcpts: usize, elapsed: Duration) {
        let Some(level) = SIZES.iter().position(|&s| s == size) else {
            return;
        };
        if rcpts < size || rcpts == 0 {
            return;
        }
        let cost = elapsed.as_secs_f64() / rcpts as f64;
        let slot = &mut self.cost[level];
        *slot = Some(slot.map_or(cost, |old| old + WEIGHT * (cost - old)));
        if level != self.level {
            // Another session's batch, sent before the size moved.
            return;
        }
        self.since += 1;
        if self.since >= self.revisit
            && let Some(up) = self.cost.get_mut(level + 1)
        {
            *up = None;
            self.revisit = self.revisit.saturating_mul(2);
        }
        let here = self.cost[level].unwrap_or(cost);
        let best = (0..SIZES.len())
            .filter_map(|l| self.cost[l].map(|c| (l, c)))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        let up = self.cost.get(level + 1).copied();
        let down = level.checked_sub(1).map(|l| self.cost[l]);
        let next = match (best, up, down) {
            // Another size measured clearly cheaper: go there.
            (Some((b, c)), ..) if b != level && c < here * MARGIN => b,
            // Never measured above: try it.
            (_, Some(None), _) => level + 1,
            // Bigger was dearer, and below is unknown: find out.
            (_, _, Some(None)) if up.flatten().is_some() => level - 1,
            _ => level,
        };
        if next != level {
            self.level = next;
            self.since = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server whose time for a batch of n is `rtt + n * per(n)`.
    fn run(rtt: f64, per: impl Fn(usize) -> f64, batches: usize) -> Sizer {
        let mut sizer = Sizer::default();
        for _ in 0..batches {
            let n = sizer.size();
            let secs = rtt + n as f64 * per(n);
            sizer.observe(n, n, Duration::from_secs_f64(secs));
        }
        sizer
    }

    #[test]
    fn round_trips_that_dominate_make_batches_big() {
        // 50 ms away, 50 µs a command: the biggest batch wins.
        let sizer = run(0.050, |_| 0.000_050, 40);
        assert_eq!(sizer.size(), MAX_BATCH);
    }

    /// Postfix on loopback: 200 µs a round trip, 50 µs a command, and a 40 ms stall
    /// once the replies of a group (about 95 bytes each) outgrow its 4 KiB buffer.
    fn postfix(n: usize) -> f64 {
        let stall = if n * 95 > 4096 { 0.040 } else { 0.0 };
        0.000_200 + n as f64 * 0.000_050 + stall
    }

    #[test]
    fn a_server_that_stalls_on_long_groups_gets_short_ones() {
        let mut sizer = Sizer::default();
        let mut total = 0.0;
        for _ in 0..250 {
            let n = sizer.size();
            total += postfix(n);
            sizer.observe(n, n, Duration::from_secs_f64(postfix(n)));
        }
        assert_eq!(sizer.size(), 20);
        // 250 batches, most of them 20: the tries of 50 cost a few stalls, not many.
        assert!(total < 0.5, "{total}");
    }

    #[test]
    fn partial_batches_and_unknown_sizes_teach_nothing() {
        let mut sizer = Sizer::default();
        let start = sizer.size();
        sizer.observe(start, start - 1, Duration::from_millis(1));
        sizer.observe(7, 7, Duration::from_millis(1));
        assert_eq!(sizer.size(), start);
        assert!(sizer.cost.iter().all(Option::is_none));
    }

    #[test]
    fn the_size_is_revisited_when_the_server_changes() {
        let mut sizer = Sizer::default();
        for _ in 0..100 {
            let n = sizer.size();
            sizer.observe(n, n, Duration::from_secs_f64(postfix(n)));
        }
        assert_eq!(sizer.size(), 20);
        // Now 5 ms away and no stall: bigger batches win, and are found again.
        for _ in 0..1000 {
            let n = sizer.size();
            sizer.observe(n, n, Duration::from_secs_f64(0.005 + n as f64 * 0.000_050));
        }
        assert_eq!(sizer.size(), MAX_BATCH);
    }
}
