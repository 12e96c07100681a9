//! One integration-test binary; each module is one area.
mod support;
