//! A domain's report as `smtpx domain` gathers it: rows of findings with their facts.

use serde_json::{Value, json};

use super::verdict::{Finding, Status, worst};

/// One row of the report: `key` is its JSON name (`mx`, `spf`, ...).
#[derive(Clone, Debug)]
pub struct Row {
    pub key: &'static str,
    pub findings: Vec<Finding>,
    /// Lines of detail for people, under the row's verdict.
    pub details: Vec<String>,
    /// The row's data for `--json`, besides status and findings.
    pub facts: Value,
}

impl Row {
    pub fn new(key: &'static str) -> Row {
        Row {
            key,
            findings: Vec::new(),
            details: Vec::new(),
            facts: json!({}),
        }
    }

    pub fn status(&self) -> Status {
        worst(&self.findings)
    }

    pub fn add(&mut self, status: Status, reason: impl Into<String>) {
        self.findings.push(Finding::new(status, reason));
    }
}

#[derive(Clone, Debug)]
pub struct Report {
    pub domain: String,
    pub rows: Vec<Row>,
    /// A lookup failed for reasons of DNS itself (timeout, SERVFAIL, unreachable).
    pub dns_failed: bool,
}

impl Report {
    pub fn status(&self) -> Status {
        self.rows
            .iter()
            .map(Row::status)
            .max()
            .unwrap_or(Status::Info)
    }
}
