//! One integration-test binary; each module is one area.
mod scripted_selftest;
mod support;
