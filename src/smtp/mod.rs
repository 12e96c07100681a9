//! Sans-IO SMTP core: no sockets, clocks, printing or clap. Pure functions over bytes and
//! replies, so every rule here is unit- and property-tested.
pub mod address;
pub mod capabilities;
pub mod command;
pub mod data;
pub mod reply;
pub mod sasl;
pub mod size_probe;
pub mod vrfy;

pub use address::{Address, Domain, InvalidAddress, ReversePath};
pub use capabilities::{Capabilities, Capability, CapabilityChanges, SizeLimit};
pub use command::{Command, CommandError, Param};
pub use data::{DataEncoder, DataStats};
pub use reply::{
    EnhancedStatus, Parsed, Reply, ReplyClass, ReplyCode, ReplyError, ReplyLimits, ReplyParser,
};
