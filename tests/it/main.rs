//! One integration-test binary; each module is one area.
mod dns_route;
mod scripted_selftest;
mod support;
