//! Load generation for `smtpx bench`, without I/O: recipient patterns, the message
//! budget and rate arithmetic, the pre-encoded workload, the pipelined-transaction state
//! machine, and the statistics that stay the same size however many messages go.

pub mod budget;
pub mod outgoing;
pub mod pattern;
pub mod pipeline;
pub mod report;
pub mod tally;
pub mod workload;
