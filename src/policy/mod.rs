//! Pure rules for a domain's mail-security records: MTA-STS (RFC 8461), SMTP TLS
//! Reporting (RFC 8460) and DANE TLSA (RFC 6698, 7671, 7672). Nothing here does I/O:
//! `dns/` and `net/` fetch the records, the policy text and the certificates; these
//! functions judge them.

pub mod dane;
pub mod mta_sts;
mod tags;
pub mod tls_rpt;
