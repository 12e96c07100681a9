//! How many messages and how fast: the run's message budget, shared by every session,
//! bounded by count (`-n`), time (`--duration`) and rate (`--rate`).
//!
//! Message k (0-based) may start no earlier than k / rate after the run began, so by
//! time t at most ⌊t·rate⌋ + 1 messages have started, whatever the number of sessions
//! and however bursty the server.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// `--rate`: messages per second.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    per_second: f64,
}

impl Rate {
    /// `N`, `N/s`, `N/m` or `N/h`; N may have a fraction (`0.5/s`).
    pub fn parse(text: &str) -> Result<Rate, String> {
        let (number, unit) = text.split_once('/').unwrap_or((text, "s"));
        let seconds = match unit {
            "s" | "sec" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            _ => return Err(format!("unknown unit '/{unit}' (use /s, /m or /h)")),
        };
        let n: f64 = number
            .trim()
            .parse()
            .map_err(|_| format!("'{number}' is not a number (examples: 100, 100/s, 30/m)"))?;
        let per_second = n / seconds;
        if !per_second.is_finite() || per_second <= 0.0 {
            return Err("must be greater than zero".into());
        }
        // Below one message a day the run would look hung; above this, pacing means
        // nothing next to what one machine can send.
        if !(1.0 / 86_400.0..=10_000_000.0).contains(&per_second) {
            return Err("must be between 1/day and 10000000/s".into());
        }
        Ok(Rate { per_second })
    }

    pub fn per_second(self) -> f64 {
        self.per_second
    }

    /// When message `k` may start, from the start of the run.
    pub fn slot(self, k: u64) -> Duration {
        Duration::from_secs_f64(k as f64 / self.per_second)
    }
}

/// What a session gets when it asks for another message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Send message number `k` now.
    Ticket(u64),
    /// The rate allows the next message only at this instant.
    NotBefore(Instant),
    /// No more messages: the count is reached, the time is up, or the run is stopping.
    Exhausted,
}

/// Why the run stopped launching messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    /// Every message of `-n` was started.
    Count,
    /// `--duration` ran out.
    Duration,
    /// Ctrl-C.
    Interrupted,
    /// No session could be opened any more.
    Sessions,
}

/// The run's messages, handed out one at a time to whichever session asks first.
#[derive(Debug)]
pub struct Budget {
    total: u64,
    next: AtomicU64,
    stopped: AtomicBool,
    start: Instant,
    deadline: Option<Instant>,
    rate: Option<Rate>,
}

impl Budget {
    pub fn new(
        total: u64,
        start: Instant,
        duration: Option<Duration>,
        rate: Option<Rate>,
    ) -> Budget {
        Budget {
            total,
            next: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
            start,
            deadline: duration.map(|d| start + d),
            rate,
        }
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Messages handed out so far.
    pub fn claimed(&self) -> u64 {
        self.next.load(Ordering::Relaxed).min(self.total)
    }

    /// No message is handed out after this (Ctrl-C, or every session gave up).
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Relaxed)
    }

    /// The next message if one may start at `now`.
    pub fn claim(&self, now: Instant) -> Claim {
        if self.is_stopped() || self.deadline.is_some_and(|d| now >= d) {
            return Claim::Exhausted;
        }
        let mut k = self.next.load(Ordering::Relaxed);
        loop {
            if k >= self.total {
                return Claim::Exhausted;
            }
            if let Some(rate) = self.rate {
                let at = self.start + rate.slot(k);
                if at > now {
                    return match self.deadline {
                        Some(d) if at >= d => Claim::Exhausted,
                        _ => Claim::NotBefore(at),
                    };
                }
            }
            match self
                .next
                .compare_exchange_weak(k, k + 1, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return Claim::Ticket(k),
                Err(current) => k = current,
            }
        }
    }

    /// Why no more messages are handed out (meaningful once `claim` said Exhausted).
    pub fn stop_reason(&self, now: Instant, interrupted: bool) -> StopReason {
        if interrupted {
            StopReason::Interrupted
        } else if self.next.load(Ordering::Relaxed) >= self.total {
            StopReason::Count
        } else if self.deadline.is_some_and(|d| now >= d) {
            StopReason::Duration
        } else {
            StopReason::Sessions
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_with_units() {
        assert_eq!(Rate::parse("100").unwrap().per_second(), 100.0);
        assert_eq!(Rate::parse("100/s").unwrap().per_second(), 100.0);
        assert_eq!(Rate::parse("120/m").unwrap().per_second(), 2.0);
        assert_eq!(Rate::parse("7200/h").unwrap().per_second(), 2.0);
        assert_eq!(Rate::parse("0.5").unwrap().per_second(), 0.5);
        for bad in ["", "0", "-1", "x/s", "10/d", "inf", "NaN", "1e12"] {
            assert!(Rate::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn slots_are_evenly_spaced() {
        let r = Rate::parse("20/s").unwrap();
        assert_eq!(r.slot(0), Duration::ZERO);
        assert_eq!(r.slot(1), Duration::from_millis(50));
        assert_eq!(r.slot(20), Duration::from_secs(1));
    }

    #[test]
    fn count_bounds_the_budget() {
        let t0 = Instant::now();
        let b = Budget::new(3, t0, None, None);
        let got: Vec<Claim> = (0..5).map(|_| b.claim(t0)).collect();
        assert_eq!(
            got,
            [
                Claim::Ticket(0),
                Claim::Ticket(1),
                Claim::Ticket(2),
                Claim::Exhausted,
                Claim::Exhausted
            ]
        );
        assert_eq!(b.claimed(), 3);
        assert_eq!(b.stop_reason(t0, false), StopReason::Count);
    }

    #[test]
    fn time_and_stop_bound_the_budget() {
        let t0 = Instant::now();
        let b = Budget::new(100, t0, Some(Duration::from_secs(1)), None);
        assert_eq!(b.claim(t0), Claim::Ticket(0));
        let late = t0 + Duration::from_secs(1);
        assert_eq!(b.claim(late), Claim::Exhausted);
        assert_eq!(b.stop_reason(late, false), StopReason::Duration);
        let b = Budget::new(100, t0, None, None);
        b.stop();
        assert_eq!(b.claim(t0), Claim::Exhausted);
        assert_eq!(b.stop_reason(t0, true), StopReason::Interrupted);
    }

    #[test]
    fn rate_spaces_the_tickets() {
        let t0 = Instant::now();
        let b = Budget::new(100, t0, None, Some(Rate::parse("10/s").unwrap()));
        assert_eq!(b.claim(t0), Claim::Ticket(0));
        assert_eq!(
            b.claim(t0),
            Claim::NotBefore(t0 + Duration::from_millis(100))
        );
        assert_eq!(b.claim(t0 + Duration::from_millis(100)), Claim::Ticket(1));
        // After a pause, the backlog may start at once, but never more than the
        // slots that have passed.
        let later = t0 + Duration::from_millis(550);
        let mut started = 0;
        while let Claim::Ticket(_) = b.claim(later) {
            started += 1;
        }
        assert_eq!(started, 4, "slots 2..=5 have passed");
    }

    #[test]
    fn a_slot_after_the_deadline_is_no_slot() {
        let t0 = Instant::now();
        let b = Budget::new(
            100,
            t0,
            Some(Duration::from_millis(150)),
            Some(Rate::parse("10/s").unwrap()),
        );
        assert_eq!(b.claim(t0), Claim::Ticket(0));
        assert_eq!(
            b.claim(t0),
            Claim::NotBefore(t0 + Duration::from_millis(100))
        );
        assert_eq!(b.claim(t0 + Duration::from_millis(100)), Claim::Ticket(1));
        assert_eq!(b.claim(t0 + Duration::from_millis(100)), Claim::Exhausted);
    }

    #[test]
    fn many_claimers_never_share_a_ticket() {
        let b = std::sync::Arc::new(Budget::new(10_000, Instant::now(), None, None));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let b = b.clone();
                std::thread::spawn(move || {
                    let mut mine = Vec::new();
                    while let Claim::Ticket(k) = b.claim(Instant::now()) {
                        mine.push(k);
                    }
                    mine
                })
            })
            .collect();
        let mut all: Vec<u64> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..10_000).collect::<Vec<_>>());
    }
}
