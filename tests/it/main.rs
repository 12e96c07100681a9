//! One integration-test binary; each module is one area.
mod dns_route;
mod generated;
mod mx_cli;
mod scripted_selftest;
mod send_cli;
mod support;
mod tls_cli;
