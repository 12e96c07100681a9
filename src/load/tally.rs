//! What a bench run counted: every started message in exactly one bucket (accepted,
//! rejected by phase and reply code, failed by phase), recipients, sessions, and
//! latencies in fixed-size HdrHistograms. Nothing here grows with the number of
//! messages: maps are keyed by phase and reply code, and keep one reason per phase.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::outcome::{ExitCode, Phase};

/// The steps whose latency is reported, in the order a session meets them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    Connect,
    Greeting,
    Ehlo,
    TlsHandshake,
    Auth,
    /// From a message's MAIL going out to the reply that ends it.
    Transaction,
}

impl Step {
    pub const ALL: [Step; 6] = [
        Step::Connect,
        Step::Greeting,
        Step::Ehlo,
        Step::TlsHandshake,
        Step::Auth,
        Step::Transaction,
    ];

    pub fn from_name(name: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Step::Connect => "connect",
            Step::Greeting => "greeting",
            Step::Ehlo => "ehlo",
            Step::TlsHandshake => "tls-handshake",
            Step::Auth => "auth",
            Step::Transaction => "transaction",
        }
    }
}

/// Latencies of one step in microseconds, from 1 µs to an hour at two significant
/// digits: about 30 KiB, however many samples.
#[derive(Clone, Debug, PartialEq)]
pub struct Latency(Histogram<u64>);

const LATENCY_MAX_US: u64 = 3_600_000_000;

impl Default for Latency {
    fn default() -> Self {
        Latency(
            Histogram::new_with_bounds(1, LATENCY_MAX_US, 2)
                .expect("static histogram bounds are valid"),
        )
    }
}

/// Percentiles of one step.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LatencySummary {
    pub count: u64,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Latency {
    /// Longer than an hour counts as an hour.
    pub fn record(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1);
        self.0.saturating_record(us.min(LATENCY_MAX_US));
    }

    pub fn merge(&mut self, other: &Latency) {
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.0.add(&other.0);
    }

    pub fn summary(&self) -> Option<LatencySummary> {
        if self.0.is_empty() {
            return None;
        }
        let at = |q: f64| Duration::from_micros(self.0.value_at_quantile(q));
        Some(LatencySummary {
            count: self.0.len(),
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            max: Duration::from_micros(self.0.max()),
        })
    }

    /// Bytes of counters held, whatever the number of samples.
    pub fn footprint(&self) -> usize {
        self.0.distinct_values() * std::mem::size_of::<u64>()
    }

    /// HdrHistogram's standard interchange form: V2 with DEFLATE (zlib), in base64 (the
    /// `HISTFAAA...` strings of HdrHistogram's log format), which every HdrHistogram
    /// library reads.
    pub fn to_base64(&self) -> String {
        use base64::Engine;
        use hdrhistogram::serialization::{Serializer, V2DeflateSerializer};
        let mut bytes = Vec::new();
        // Writing into a Vec fails only if the histogram cannot be encoded, which ours
        // (fixed bounds, u64 counts) always can.
        let _ = V2DeflateSerializer::new().serialize(&self.0, &mut bytes);
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// Reads [`Latency::to_base64`]'s form back. Only histograms with our bounds merge
    /// exactly (the same buckets), so another precision, or values over an hour, are
    /// refused. Sizes are checked before anything is allocated from them.
    pub fn from_base64(text: &str) -> Result<Latency, String> {
        use base64::Engine;
        if text.len() > MAX_ENCODED {
            return Err("the histogram is too long to be one of smtpx's".into());
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| format!("the histogram is not base64 ({e})"))?;
        let plain = inflate(&bytes)?;
        let h: Histogram<u64> = hdrhistogram::serialization::Deserializer::new()
            .deserialize(&mut plain.as_slice())
            .map_err(|e| format!("the histogram cannot be read ({e:?})"))?;
        if h.low() != 1 || h.sigfig() != 2 {
            return Err(format!(
                "the histogram tracks from {} at {} significant digits, not from 1 µs at 2: \
                 it would not merge exactly",
                h.low(),
                h.sigfig()
            ));
        }
        let mut ours = Latency::default();
        // `max` is the top of the highest bucket used, which for the cap itself lies a
        // little above it.
        if h.max() > ours.0.highest_equivalent(LATENCY_MAX_US) || h.len() > MAX_COUNT {
            return Err("the histogram holds values or counts no run records".into());
        }
        ours.0
            .add(&h)
            .map_err(|e| format!("the histogram does not fit ({e:?})"))?;
        Ok(ours)
    }
}

/// The longest base64 histogram read: ours are a few KiB at most.
const MAX_ENCODED: usize = 1 << 20;

/// The most samples one histogram may hold: counts stay exact in JSON (2^53), and
/// adding a thousand such reports cannot overflow.
pub const MAX_COUNT: u64 = 1 << 53;

/// V2 compressed: a cookie, the length of the zlib stream, the stream. Inflated under a
/// cap, and the inner V2 header's payload length checked against what is there, so a
/// hostile length never becomes an allocation.
fn inflate(bytes: &[u8]) -> Result<Vec<u8>, String> {
    use std::io::Read;
    const V2_COMPRESSED_COOKIE: u32 = 0x1c84_9314;
    const V2_COOKIE: u32 = 0x1c84_9313;
    const HEADER: usize = 40;
    const MAX_INFLATED: u64 = 1 << 20;
    let be32 = |b: &[u8], at: usize| -> Option<u32> {
        b.get(at..at + 4)
            .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    };
    if be32(bytes, 0) != Some(V2_COMPRESSED_COOKIE) {
        return Err("the histogram is not in HdrHistogram's V2 compressed form".into());
    }
    let len = be32(bytes, 4).unwrap_or(0) as usize;
    let stream = bytes.get(8..8 + len).ok_or("the histogram is cut short")?;
    let mut plain = Vec::new();
    flate2::read::ZlibDecoder::new(stream)
        .take(MAX_INFLATED + 1)
        .read_to_end(&mut plain)
        .map_err(|e| format!("the histogram cannot be inflated ({e})"))?;
    if plain.len() as u64 > MAX_INFLATED {
        return Err("the histogram inflates to more than any of smtpx's".into());
    }
    let payload = be32(&plain, 4).unwrap_or(u32::MAX) as usize;
    if be32(&plain, 0) != Some(V2_COOKIE) || plain.len() < HEADER + payload {
        return Err("the histogram is cut short".into());
    }
    Ok(plain)
}

/// A count with the first reason seen, for failures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reasoned {
    pub count: u64,
    pub reason: String,
    /// What this failure means as an exit code (`smtpx send`'s codes).
    pub exit: ExitCode,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tally {
    /// Messages whose first command was handed to a connection.
    pub started: u64,
    pub accepted: u64,
    /// Messages whose transaction a reply ended, by the phase and code of that reply.
    pub rejected: BTreeMap<(Phase, u16), u64>,
    /// Messages a failure ended (lost connection, timeout, protocol violation, abandoned
    /// at the end of the run), by the phase whose reply never came.
    pub failed: BTreeMap<Phase, Reasoned>,
    pub rcpt_accepted: u64,
    pub rcpt_refused: BTreeMap<u16, u64>,
    /// Message octets on the wire (dot-stuffed content or BDAT chunks) of messages whose
    /// content was answered.
    pub content_bytes: u64,
    pub sessions_opened: u64,
    /// Sessions that never got ready for a message, by the phase that stopped them.
    pub session_failures: BTreeMap<Phase, Reasoned>,
    latency: [Latency; 6],
}

impl Tally {
    pub fn accepted(&mut self, took: Duration) {
        self.accepted += 1;
        self.latency(Step::Transaction, took);
    }

    pub fn rejected(&mut self, phase: Phase, code: u16, took: Duration) {
        *self.rejected.entry((phase, code)).or_default() += 1;
        self.latency(Step::Transaction, took);
    }

    pub fn failed(&mut self, phase: Phase, reason: &str, exit: ExitCode) {
        add_reasoned(&mut self.failed, phase, reason, exit);
    }

    pub fn recipient(&mut self, code: u16) {
        if (200..300).contains(&code) {
            self.rcpt_accepted += 1;
        } else {
            *self.rcpt_refused.entry(code).or_default() += 1;
        }
    }

    pub fn session_failed(&mut self, phase: Phase, reason: &str, exit: ExitCode) {
        add_reasoned(&mut self.session_failures, phase, reason, exit);
    }

    pub fn latency(&mut self, step: Step, took: Duration) {
        self.latency[step as usize].record(took);
    }

    pub fn latency_of(&self, step: Step) -> &Latency {
        &self.latency[step as usize]
    }

    /// One step's latencies as read back from a report.
    pub fn set_latency(&mut self, step: Step, latency: Latency) {
        self.latency[step as usize] = latency;
    }

    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }

    pub fn failed_total(&self) -> u64 {
        self.failed.values().map(|r| r.count).sum()
    }

    /// Messages that ended, one way or another.
    pub fn finished(&self) -> u64 {
        self.accepted + self.rejected_total() + self.failed_total()
    }

    /// Messages that did not end accepted.
    pub fn unsuccessful(&self) -> u64 {
        self.rejected_total() + self.failed_total()
    }

    pub fn session_failures_total(&self) -> u64 {
        self.session_failures.values().map(|r| r.count).sum()
    }

    pub fn merge(&mut self, other: &Tally) {
        self.started += other.started;
        self.accepted += other.accepted;
        for (k, n) in &other.rejected {
            *self.rejected.entry(*k).or_default() += n;
        }
        for (phase, r) in &other.failed {
            merge_reasoned(&mut self.failed, *phase, r);
        }
        self.rcpt_accepted += other.rcpt_accepted;
        for (code, n) in &other.rcpt_refused {
            *self.rcpt_refused.entry(*code).or_default() += n;
        }
        self.content_bytes += other.content_bytes;
        self.sessions_opened += other.sessions_opened;
        for (phase, r) in &other.session_failures {
            merge_reasoned(&mut self.session_failures, *phase, r);
        }
        for (mine, theirs) in self.latency.iter_mut().zip(&other.latency) {
            mine.merge(theirs);
        }
    }
}

fn add_reasoned(map: &mut BTreeMap<Phase, Reasoned>, phase: Phase, reason: &str, exit: ExitCode) {
    map.entry(phase)
        .and_modify(|r| r.count += 1)
        .or_insert_with(|| Reasoned {
            count: 1,
            reason: reason.to_string(),
            exit,
        });
}

fn merge_reasoned(map: &mut BTreeMap<Phase, Reasoned>, phase: Phase, other: &Reasoned) {
    map.entry(phase)
        .and_modify(|r| r.count += other.count)
        .or_insert_with(|| other.clone());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_lands_in_one_bucket() {
        let mut t = Tally::default();
        t.accepted(Duration::from_millis(1));
        t.rejected(Phase::Rcpt, 450, Duration::from_millis(2));
        t.rejected(Phase::Rcpt, 450, Duration::from_millis(2));
        t.rejected(Phase::FinalDot, 554, Duration::from_millis(3));
        t.failed(Phase::FinalDot, "lost", ExitCode::Unknown);
        assert_eq!(t.finished(), 5);
        assert_eq!(t.unsuccessful(), 4);
        assert_eq!(t.rejected[&(Phase::Rcpt, 450)], 2);
        let s = t.latency_of(Step::Transaction).summary().unwrap();
        assert_eq!(s.count, 4, "failures have no transaction latency");
        assert!(t.latency_of(Step::Connect).summary().is_none());
    }

    #[test]
    fn merging_adds_up_and_keeps_the_first_reason() {
        let mut a = Tally::default();
        a.failed(Phase::Mail, "first", ExitCode::Temporary);
        a.recipient(250);
        a.recipient(550);
        a.latency(Step::Connect, Duration::from_micros(100));
        let mut b = Tally::default();
        b.failed(Phase::Mail, "second", ExitCode::Temporary);
        b.recipient(550);
        b.session_failed(Phase::Connect, "refused", ExitCode::Connection);
        b.latency(Step::Connect, Duration::from_micros(300));
        a.merge(&b);
        assert_eq!(a.failed[&Phase::Mail].count, 2);
        assert_eq!(a.failed[&Phase::Mail].reason, "first");
        assert_eq!(a.rcpt_accepted, 1);
        assert_eq!(a.rcpt_refused[&550], 2);
        assert_eq!(a.session_failures_total(), 1);
        let s = a.latency_of(Step::Connect).summary().unwrap();
        assert_eq!(s.count, 2);
        assert!(s.max >= Duration::from_micros(299) && s.max <= Duration::from_micros(303));
    }

    #[test]
    fn percentiles_are_within_one_percent() {
        let mut l = Latency::default();
        for us in 1..=10_000u64 {
            l.record(Duration::from_micros(us));
        }
        let s = l.summary().unwrap();
        let close = |got: Duration, want: u64| {
            let got = got.as_micros() as f64;
            (got - want as f64).abs() / want as f64 <= 0.01
        };
        assert!(close(s.p50, 5_000), "{s:?}");
        assert!(close(s.p90, 9_000), "{s:?}");
        assert!(close(s.p99, 9_900), "{s:?}");
        assert!(close(s.max, 10_000), "{s:?}");
    }

    #[test]
    fn the_interchange_form_reads_back_exactly() {
        let mut l = Latency::default();
        for us in [1u64, 2, 999, 1000, 1001, 123_456, 7_000_000, LATENCY_MAX_US] {
            l.record(Duration::from_micros(us));
        }
        l.record(Duration::from_secs(100_000));
        let text = l.to_base64();
        assert!(text.starts_with("HISTFAAA"), "V2 compressed: {text}");
        assert_eq!(Latency::from_base64(&text).unwrap(), l);
        let empty = Latency::default();
        assert_eq!(Latency::from_base64(&empty.to_base64()).unwrap(), empty);
    }

    #[test]
    fn histograms_that_would_not_merge_exactly_are_refused() {
        use base64::Engine;
        use hdrhistogram::serialization::{Serializer, V2DeflateSerializer};
        let encode = |h: &Histogram<u64>| {
            let mut bytes = Vec::new();
            V2DeflateSerializer::new().serialize(h, &mut bytes).unwrap();
            base64::engine::general_purpose::STANDARD.encode(bytes)
        };
        let mut finer = Histogram::<u64>::new_with_bounds(1, LATENCY_MAX_US, 3).unwrap();
        finer.record(5).unwrap();
        let e = Latency::from_base64(&encode(&finer)).unwrap_err();
        assert!(e.contains("at 3 significant digits"), "{e}");
        let mut longer = Histogram::<u64>::new_with_bounds(1, 10 * LATENCY_MAX_US, 2).unwrap();
        longer.record(2 * LATENCY_MAX_US).unwrap();
        assert!(Latency::from_base64(&encode(&longer)).is_err());
        for junk in [
            "",
            "not base64!",
            "AAAA",
            "HISTFAAAAAAA",
            &"A".repeat(2 << 20),
        ] {
            assert!(Latency::from_base64(junk).is_err(), "{junk:.20}");
        }
        // A valid cookie with a length claim far past the data.
        let mut lying = vec![0x1c, 0x84, 0x93, 0x14, 0xff, 0xff, 0xff, 0xff];
        lying.extend_from_slice(&[0x78, 0x9c, 0x03, 0x00]);
        let lying = base64::engine::general_purpose::STANDARD.encode(lying);
        assert_eq!(
            Latency::from_base64(&lying).unwrap_err(),
            "the histogram is cut short"
        );
    }

    proptest::proptest! {
        /// `bench merge`'s promise at its root: two runs' histograms, written out, read
        /// back and added, are the histogram of one run that recorded every value.
        #[test]
        fn merged_histograms_equal_recording_everything(
            a in proptest::collection::vec(0u64..5_000_000_000, 0..300),
            b in proptest::collection::vec(0u64..5_000_000_000, 0..300),
        ) {
            let record = |values: &[u64]| {
                let mut l = Latency::default();
                for us in values {
                    l.record(Duration::from_micros(*us));
                }
                l
            };
            let mut merged = Latency::from_base64(&record(&a).to_base64()).unwrap();
            merged.merge(&Latency::from_base64(&record(&b).to_base64()).unwrap());
            let all: Vec<u64> = a.iter().chain(&b).copied().collect();
            let one = record(&all);
            proptest::prop_assert_eq!(merged.summary(), one.summary());
            proptest::prop_assert!(merged == one);
        }
    }

    #[test]
    fn memory_does_not_grow_with_samples() {
        let mut l = Latency::default();
        let before = l.footprint();
        for i in 0..1_000_000u64 {
            l.record(Duration::from_nanos(i.wrapping_mul(7919) % 10_000_000_000));
        }
        l.record(Duration::from_secs(100_000));
        assert_eq!(l.footprint(), before);
        assert!(before < 64 * 1024, "{before} bytes per histogram");
        assert_eq!(
            l.summary().unwrap().max.as_secs() / 60,
            60,
            "capped at an hour"
        );
    }
}
