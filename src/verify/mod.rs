//! `smtpx verify`'s decisions, free of I/O: reading address lists, what a RCPT reply
//! says about an address, the catch-all probe, batching, retries and pacing.
//! Everything here is table-tested without sockets; `session::probe` does the talking.

pub mod input;
pub mod verdict;
pub mod work;

pub use input::{Entry, Lines};
pub use verdict::{CatchAll, Reading, Verdict};
pub use work::{Batch, Decided, Loss, MAX_BATCH, Pace, Work};
