//! Sans-IO SMTP core: no sockets, clocks, printing or clap. Pure functions over bytes and
//! replies, so every rule here is unit- and property-tested.
pub mod address;
pub mod body;
pub mod capabilities;
pub mod chunking;
pub mod command;
pub mod data;
pub mod dsn;
pub mod forward;
pub mod per_recipient;
pub mod redact;
pub mod reply;
pub mod sasl;
pub mod size_probe;
pub mod status;
pub mod vrfy;
pub mod xtext;

pub use address::{Address, Domain, InvalidAddress, ReversePath};
pub use body::{BodyChoice, BodyReport, BodyScanner};
pub use capabilities::{Capabilities, Capability, CapabilityChanges, SizeLimit};
pub use chunking::ChunkFramer;
pub use command::{Command, CommandError, Param};
pub use data::{DataEncoder, DataStats, Framing};
pub use dsn::{DsnRequest, Notify, Ret};
pub use reply::{
    EnhancedStatus, Parsed, Reply, ReplyClass, ReplyCode, ReplyError, ReplyLimits, ReplyParser,
};
