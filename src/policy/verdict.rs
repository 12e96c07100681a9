//! The verdict of one check: pass, warn or fail with the reason a person can act on.

use serde::Serialize;

/// Ordered from good to bad, so the worst of several is their maximum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Nothing to judge (e.g. no selector given); neither good nor bad.
    Info,
    Pass,
    Warn,
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Info => "info",
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// One finding: its status and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub status: Status,
    pub reason: String,
}

impl Finding {
    pub fn new(status: Status, reason: impl Into<String>) -> Finding {
        Finding {
            status,
            reason: reason.into(),
        }
    }
}

/// The worst of several findings, `Info` for none.
pub fn worst(findings: &[Finding]) -> Status {
    findings
        .iter()
        .map(|f| f.status)
        .max()
        .unwrap_or(Status::Info)
}
