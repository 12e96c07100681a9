//! Server diagnosis (`smtpx check`): the facts collected about a server, and the pure
//! rules that turn them into pass / warn / fail verdicts.
//!
//! The runner (`subcommands::check`) gathers [`facts`] through a session and DNS; the
//! [`rules`] judge them without any I/O; `render::check` prints both.

pub mod facts;
pub mod rules;

pub use facts::{Answer, Ending, HostFacts, OpenFacts, Probes};
pub use rules::{Level, Verdict};
