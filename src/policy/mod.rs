//! Pure rules for a domain's mail-security records: MTA-STS (RFC 8461), SMTP TLS
//! Reporting (RFC 8460), DANE TLSA (RFC 6698, 7671, 7672), SPF (RFC 7208), DMARC
//! (RFC 7489) and DKIM keys (RFC 6376). Nothing here does I/O:
//! `dns/` and `net/` fetch the records, the policy text and the certificates; these
//! functions judge them.

pub mod dane;
pub mod dkim;
pub mod dmarc;
pub mod mta_sts;
pub mod report;
pub mod spf;
mod tags;
pub mod tls_policy;
pub mod tls_rpt;
pub mod verdict;
