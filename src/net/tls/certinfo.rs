//! Certificate fields as the user sees them: names, validity, key, fingerprint.

use std::fmt::Write as _;
use std::net::IpAddr;

use rustls::pki_types::CertificateDer;
use serde::Serialize;
use sha2::{Digest, Sha256};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

/// One certificate of the chain the server sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CertInfo {
    /// Distinguished name, in encoding order: `"C=US, O=Example, CN=mail.example.com"`.
    pub subject: String,
    pub issuer: String,
    /// DNS names from subjectAltName (the only names TLS clients check).
    pub dns_names: Vec<String>,
    /// IP addresses from subjectAltName.
    pub ip_addresses: Vec<String>,
    /// RFC 3339, UTC: `"2026-11-25T00:00:00Z"`.
    pub not_before: String,
    pub not_after: String,
    /// Whole days until `not_after`; negative once expired.
    pub days_left: i64,
    /// `"EC P-256"`, `"RSA 2048"`, `"Ed25519"`.
    pub key: String,
    /// SHA-256 of the DER encoding, colon-separated upper-case hex.
    pub sha256: String,
    /// Colon-separated upper-case hex.
    pub serial: String,
    /// basicConstraints says CA.
    pub is_ca: bool,
}

/// A chain entry plus the raw facts the verdict wording needs.
#[derive(Clone, Debug)]
pub(crate) struct ParsedCert {
    pub info: CertInfo,
    pub not_before: i64,
    pub not_after: i64,
    pub subject_der: Vec<u8>,
    pub issuer_der: Vec<u8>,
    /// False when x509-parser could not read it: only `sha256` is meaningful then.
    pub readable: bool,
}

impl ParsedCert {
    /// Issuer and subject are the same name: a root, or a self-signed leaf.
    pub fn self_issued(&self) -> bool {
        !self.subject_der.is_empty() && self.subject_der == self.issuer_der
    }
}

pub(crate) fn parse_chain(chain: &[CertificateDer<'_>], now: i64) -> Vec<ParsedCert> {
    chain.iter().map(|der| parse_cert(der, now)).collect()
}

pub(crate) fn parse_cert(der: &[u8], now: i64) -> ParsedCert {
    let sha256 = colon_hex(&Sha256::digest(der));
    let cert = match X509Certificate::from_der(der) {
        Ok((_, cert)) => cert,
        Err(e) => {
            // Still show the fingerprint: it identifies the certificate even when we cannot read it.
            return ParsedCert {
                info: CertInfo {
                    subject: format!("(unreadable certificate: {e})"),
                    issuer: String::new(),
                    dns_names: Vec::new(),
                    ip_addresses: Vec::new(),
                    not_before: String::new(),
                    not_after: String::new(),
                    days_left: 0,
                    key: "unknown".into(),
                    sha256,
                    serial: String::new(),
                    is_ca: false,
                },
                not_before: 0,
                not_after: 0,
                subject_der: Vec::new(),
                issuer_der: Vec::new(),
                readable: false,
            };
        }
    };

    let mut dns_names = Vec::new();
    let mut ip_addresses = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(n) => dns_names.push((*n).to_string()),
                GeneralName::IPAddress(bytes) => {
                    if let Some(ip) = ip_from_bytes(bytes) {
                        ip_addresses.push(ip.to_string());
                    }
                }
                _ => {}
            }
        }
    }

    let not_before = cert.validity().not_before.timestamp();
    let not_after = cert.validity().not_after.timestamp();
    ParsedCert {
        info: CertInfo {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            dns_names,
            ip_addresses,
            not_before: rfc3339(not_before),
            not_after: rfc3339(not_after),
            days_left: (not_after - now).div_euclid(86_400),
            key: describe_key(&cert),
            sha256,
            serial: colon_hex(strip_sign_byte(cert.raw_serial())),
            is_ca: cert.is_ca(),
        },
        not_before,
        not_after,
        subject_der: cert.subject().as_raw().to_vec(),
        issuer_der: cert.issuer().as_raw().to_vec(),
        readable: true,
    }
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => Some(IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?)),
        16 => Some(IpAddr::from(<[u8; 16]>::try_from(bytes).ok()?)),
        _ => None,
    }
}

fn describe_key(cert: &X509Certificate<'_>) -> String {
    let spki = cert.public_key();
    let alg = spki.algorithm.algorithm.to_id_string();
    match alg.as_str() {
        "1.3.101.112" => return "Ed25519".into(),
        "1.3.101.113" => return "Ed448".into(),
        _ => {}
    }
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => format!("RSA {}", bit_length(rsa.modulus)),
        Ok(PublicKey::EC(_)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| oid.to_id_string());
            match curve.as_deref() {
                Some("1.2.840.10045.3.1.7") => "EC P-256".into(),
                Some("1.3.132.0.34") => "EC P-384".into(),
                Some("1.3.132.0.35") => "EC P-521".into(),
                Some(other) => format!("EC {other}"),
                None => "EC".into(),
            }
        }
        Ok(PublicKey::DSA(y)) => format!("DSA {}", bit_length(y)),
        _ => alg,
    }
}

/// Bits of a big-endian unsigned integer, ignoring DER's leading zero bytes.
fn bit_length(be: &[u8]) -> usize {
    let trimmed = strip_leading_zeros(be);
    match trimmed.first() {
        Some(first) => trimmed.len() * 8 - first.leading_zeros() as usize,
        None => 0,
    }
}

fn strip_leading_zeros(be: &[u8]) -> &[u8] {
    let start = be.iter().position(|&b| b != 0).unwrap_or(be.len());
    &be[start..]
}

/// DER pads a positive integer whose top bit is set with 0x00; that byte is not part of the serial people compare.
fn strip_sign_byte(be: &[u8]) -> &[u8] {
    match be {
        [0, next, ..] if next & 0x80 != 0 => &be[1..],
        _ => be,
    }
}

pub(crate) fn colon_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        let _ = write!(out, "{b:02X}");
    }
    out
}

/// Unix seconds to `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn rfc3339(unix: i64) -> String {
    let (y, m, d) = civil_from_days(unix.div_euclid(86_400));
    let secs = unix.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Unix seconds to `YYYY-MM-DD`.
pub(crate) fn date(unix: i64) -> String {
    let (y, m, d) = civil_from_days(unix.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_564_799), "2026-11-24T23:59:59Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(253_402_300_799), "9999-12-31T23:59:59Z");
        assert_eq!(date(1_795_564_800), "2026-11-25");
    }

    #[test]
    fn hex_and_bits() {
        assert_eq!(colon_hex(&[0x0a, 0xff, 0x00]), "0A:FF:00");
        assert_eq!(colon_hex(&[]), "");
        assert_eq!(strip_sign_byte(&[0, 0x80, 1]), &[0x80, 1]);
        assert_eq!(strip_sign_byte(&[0, 0x7f]), &[0, 0x7f]);
        assert_eq!(bit_length(&[0, 0x80, 0, 0]), 24);
        assert_eq!(bit_length(&[0x01, 0]), 9);
        assert_eq!(bit_length(&[]), 0);
    }
}
