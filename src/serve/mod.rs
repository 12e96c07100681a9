//! The server side of SMTP, sans-IO: command parsing, the state machine that decides
//! every reply, DATA reception with the smuggling rules, SASL checks, the fault plan and
//! the envelope record. `subcommands::serve` drives it over sockets.
//!
//! Client and server share `smtp/`'s vocabulary (replies, addresses, parameters, xtext,
//! SASL names), not its state machine.

pub mod command;
pub mod data;
pub mod event;
pub mod fault;
pub mod machine;
pub mod sasl;
pub mod trace;

pub use event::ServeEvent;
pub use machine::{Action, Counters, Envelope, Machine, Settings};

#[cfg(test)]
mod machine_tests;
