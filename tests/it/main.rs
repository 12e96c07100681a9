//! One integration-test binary; each module is one area.
mod auth_cli;
mod check_cli;
mod config_cli;
mod dns_route;
mod generated;
mod interop;
mod interop_esmtp;
mod interop_sasl;
mod message_cli;
mod mx_cli;
mod peers_selftest;
mod scripted_selftest;
mod send_cli;
mod size_cli;
mod support;
mod tls_cli;
mod vrfy_cli;
