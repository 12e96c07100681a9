//! smtpx: an SMTP client and diagnostic tool.
//!
//! Layers, from the outside in:
//!
//! ```text
//! main.rs ── cli/ (clap derive, no behaviour)
//!    └─ subcommands/<name>.rs   validated plan → run → outcome
//!           ├─ session/   async driver: deadlines, events
//!           │     ├─ smtp/   sans-IO core: replies, commands, capabilities, addresses, DATA
//!           │     └─ net/    TCP, TLS (rustls), bounded reply reader
//!           ├─ dns/      the only module that names hickory types
//!           ├─ diagnosis/ facts about a server and the pure verdict rules of `check`
//!           ├─ policy/   pure rules for MTA-STS, TLS-RPT and DANE records
//!           ├─ load/     bench without I/O: budget, pipeline decisions, statistics
//!           ├─ serve/    the server side without I/O: command parsing, the state machine
//!           │            that answers, DATA reception, SASL checks, fault plans
//!           ├─ message/  RFC 5322 message composition, DKIM signing (mail-auth)
//!           ├─ verify/   pure rules of `verify`: input lines, verdicts, batches, retries
//!           ├─ config    profiles from config.toml; secret: where a password comes from
//!           ├─ outcome   phases, failures and the documented exit codes
//!           └─ render/   the only code that prints
//! ```
pub mod cli;
pub mod config;
pub mod diagnosis;
pub mod dns;
pub mod docs;
pub mod load;
pub mod message;
pub mod net;
pub mod outcome;
pub mod policy;
pub mod render;
pub mod secret;
pub mod serve;
pub mod session;
pub mod smtp;
pub mod subcommands;
pub mod verify;
