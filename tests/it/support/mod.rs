//! Test fixtures: scripted server, certificates, real peers.
#![allow(dead_code)]
pub mod certs;
pub mod dns;
pub mod peers;
pub mod scripted;
