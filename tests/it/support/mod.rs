//! Test fixtures: scripted server, certificates, real peers, the binary and
//! its input.
#![allow(dead_code)]
pub mod bind;
pub mod certs;
pub mod content;
pub mod dns;
pub mod exim;
pub mod https;
pub mod peers;
pub mod run;
pub mod scripted;
pub mod serve;
pub mod terminal;
