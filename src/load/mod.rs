//! Load generation for `smtpx bench`, without I/O: recipient patterns, the message
//! budget and rate arithmetic, the pre-encoded workload, the pipelined-transaction state
//! machine, the statistics that stay the same size however many messages go, and the
//! reading and merging of reports from many runs.

pub mod budget;
pub mod import;
pub mod merge;
pub mod outgoing;
pub mod pattern;
pub mod pipeline;
pub mod report;
pub mod tally;
pub mod workload;
