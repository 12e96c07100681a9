//! Test fixtures: scripted server, certificates, real peers.
#![allow(dead_code)]
