//! Certificate verification that records its verdict instead of aborting the handshake,
//! and the plain-words explanation of that verdict.
//!
//! The handshake always goes on past the certificate so that the user can see the chain
//! together with what is wrong with it; the caller decides from [`Verification`] whether
//! to continue. Handshake signatures are still checked for real: a server that cannot
//! prove it holds the certificate's key never completes the handshake.

use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use serde::Serialize;

use super::certinfo::{ParsedCert, date};

/// What certificate verification concluded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Verification {
    /// The chain leads to a trusted root, every certificate is in date, and the leaf names the host.
    Verified,
    /// Verification was required and failed.
    Failed { reason: String },
    /// The user turned verification off. It ran anyway: `would_fail` says why it would
    /// have failed, `None` when it would have passed.
    Skipped { would_fail: Option<String> },
}

impl Verification {
    pub fn is_verified(&self) -> bool {
        matches!(self, Verification::Verified)
    }

    /// The problem with the certificate, whether or not it was enforced.
    pub fn problem(&self) -> Option<&str> {
        match self {
            Verification::Verified => None,
            Verification::Failed { reason } => Some(reason),
            Verification::Skipped { would_fail } => would_fail.as_deref(),
        }
    }
}

/// Wraps the WebPKI verifier for one handshake and keeps its result.
#[derive(Debug)]
pub(crate) struct RecordingVerifier {
    inner: Arc<WebPkiServerVerifier>,
    verdict: Mutex<Option<Result<(), rustls::Error>>>,
}

impl RecordingVerifier {
    pub fn new(inner: Arc<WebPkiServerVerifier>) -> Self {
        RecordingVerifier {
            inner,
            verdict: Mutex::new(None),
        }
    }

    /// `None` when the server's certificate was never examined.
    pub fn take(&self) -> Option<Result<(), rustls::Error>> {
        self.verdict
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let result = self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map(|_| ());
        *self.verdict.lock().unwrap_or_else(PoisonError::into_inner) = Some(result);
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The name the certificate must match, as the user would write it.
pub(crate) fn expected_name(name: &ServerName<'_>) -> String {
    match name {
        ServerName::DnsName(d) => d.as_ref().to_string(),
        ServerName::IpAddress(ip) => IpAddr::from(*ip).to_string(),
        other => format!("{other:?}"),
    }
}

/// Plain words for a failed verification. WebPKI stops at the first problem and checks the
/// name last, so a name mismatch is added from our own check of the leaf when the first
/// problem was something else: both are worth knowing before fixing either.
pub(crate) fn explain(
    err: &rustls::Error,
    chain: &[ParsedCert],
    expected: &ServerName<'_>,
    now: i64,
) -> String {
    let primary = primary_reason(err, chain, expected, now);
    let name_error = matches!(
        err,
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
        )
    );
    match chain.first() {
        Some(leaf) if !name_error && leaf.readable && !names_match(leaf, expected) => {
            format!("{primary}; {}", name_mismatch(leaf, expected))
        }
        _ => primary,
    }
}

fn primary_reason(
    err: &rustls::Error,
    chain: &[ParsedCert],
    expected: &ServerName<'_>,
    now: i64,
) -> String {
    let Some(leaf) = chain.first() else {
        return "the server sent no certificate".into();
    };
    let cert_err = match err {
        rustls::Error::InvalidCertificate(e) => e,
        other => return format!("certificate rejected: {other}"),
    };
    match cert_err {
        CertificateError::ExpiredContext { time, not_after } => {
            let not_after = secs(not_after);
            expired(which(chain, |c| c.not_after == not_after), not_after, secs(time))
        }
        CertificateError::NotValidYetContext { not_before, .. } => {
            let not_before = secs(not_before);
            not_yet_valid(which(chain, |c| c.not_before == not_before), not_before)
        }
        // Without context rustls cannot say which bound failed: work it out from the leaf.
        CertificateError::Expired | CertificateError::NotValidYet => {
            if leaf.not_before > leaf.not_after {
                "certificate's validity period is empty (not before is after not after)".into()
            } else if now < leaf.not_before {
                not_yet_valid("certificate", leaf.not_before)
            } else {
                expired("certificate".into(), leaf.not_after, now)
            }
        }
        CertificateError::UnknownIssuer => unknown_issuer(chain),
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            name_mismatch(leaf, expected)
        }
        CertificateError::BadSignature => {
            "a certificate in the chain has an invalid signature (it was not signed by the issuer it names)".into()
        }
        CertificateError::UnsupportedSignatureAlgorithmContext { .. }
        | CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
            "a certificate in the chain is signed with an algorithm we do not support".into()
        }
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            "certificate is not meant for TLS servers (its extended key usage does not include server authentication)".into()
        }
        CertificateError::Revoked => "certificate has been revoked".into(),
        CertificateError::UnhandledCriticalExtension => {
            "certificate has a critical extension we do not understand".into()
        }
        CertificateError::BadEncoding => "certificate is malformed (bad DER encoding)".into(),
        CertificateError::Other(other) => webpki_other(&other.to_string()),
        other => format!("certificate rejected: {other}"),
    }
}

fn secs(t: &UnixTime) -> i64 {
    i64::try_from(t.as_secs()).unwrap_or(i64::MAX)
}

/// "certificate" when the culprit is the leaf, otherwise names the chain member.
fn which(chain: &[ParsedCert], pred: impl Fn(&ParsedCert) -> bool) -> String {
    match chain.iter().position(pred) {
        Some(i) if i > 0 => format!(
            "{} certificate {}",
            role(&chain[i]),
            display_dn(&chain[i].info.subject)
        ),
        _ => "certificate".into(),
    }
}

fn role(cert: &ParsedCert) -> &'static str {
    if cert.self_issued() {
        "root"
    } else {
        "intermediate"
    }
}

fn expired(what: String, not_after: i64, now: i64) -> String {
    let days = (now - not_after).div_euclid(86_400);
    let ago = match days {
        i64::MIN..=0 => "less than a day ago".to_string(),
        1 => "1 day ago".to_string(),
        n => format!("{n} days ago"),
    };
    format!("{what} expired {ago} (not after {})", date(not_after))
}

fn not_yet_valid(what: impl std::fmt::Display, not_before: i64) -> String {
    format!("{what} is not valid until {}", date(not_before))
}

/// Follows issuer links through what the server sent, and names where the chain stops.
fn unknown_issuer(chain: &[ParsedCert]) -> String {
    let leaf = &chain[0];
    if leaf.self_issued() {
        return format!(
            "self-signed certificate: {}",
            display_dn(&leaf.info.subject)
        );
    }
    let mut top = leaf;
    for _ in 0..chain.len() {
        if top.self_issued() {
            break;
        }
        match chain[1..].iter().find(|c| c.subject_der == top.issuer_der) {
            Some(next) => top = next,
            None => break,
        }
    }
    let authority = if top.self_issued() {
        &top.info.subject
    } else {
        &top.info.issuer
    };
    format!("issued by an unknown authority: {}", display_dn(authority))
}

fn display_dn(dn: &str) -> &str {
    if dn.is_empty() { "(empty name)" } else { dn }
}

/// webpki errors that rustls passes through without a variant of its own.
fn webpki_other(debug: &str) -> String {
    let words = match debug {
        "CaUsedAsEndEntity" => "the server presented a CA certificate as its own certificate",
        "EndEntityUsedAsCa" => {
            "a certificate that is not a CA issued another certificate in the chain"
        }
        "PathLenConstraintViolated" => "the chain is longer than a CA in it allows",
        "NameConstraintViolation" => "certificate is outside its issuer's name constraints",
        "MaximumPathDepthExceeded" | "MaximumPathBuildCallsExceeded" => {
            "the chain is too long to verify"
        }
        _ => return format!("certificate rejected: {debug}"),
    };
    words.into()
}

/// Whether a certificate is for `name` (a host name or an IP address), as WebPKI would
/// judge it: for telling a name mismatch apart from other certificate problems.
pub fn certificate_names(cert: &super::CertInfo, name: &str) -> bool {
    match name.parse::<IpAddr>() {
        Ok(ip) => cert
            .ip_addresses
            .iter()
            .any(|a| a.parse::<IpAddr>().is_ok_and(|a| a == ip)),
        Err(_) => cert
            .dns_names
            .iter()
            .any(|pattern| dns_name_matches(pattern, name)),
    }
}

pub(crate) fn names_match(leaf: &ParsedCert, expected: &ServerName<'_>) -> bool {
    match expected {
        ServerName::IpAddress(ip) => {
            let ip = IpAddr::from(*ip);
            leaf.info
                .ip_addresses
                .iter()
                .any(|a| a.parse::<IpAddr>().is_ok_and(|a| a == ip))
        }
        ServerName::DnsName(d) => leaf
            .info
            .dns_names
            .iter()
            .any(|pattern| dns_name_matches(pattern, d.as_ref())),
        _ => false,
    }
}

/// RFC 6125 matching as WebPKI does it: case-insensitive, a wildcard only as the whole
/// left-most label, covering exactly one label.
fn dns_name_matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern.trim_end_matches('.');
    let host = host.trim_end_matches('.');
    match pattern.strip_prefix("*.") {
        Some(suffix) => host
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest.eq_ignore_ascii_case(suffix)),
        None => pattern.eq_ignore_ascii_case(host),
    }
}

fn name_mismatch(leaf: &ParsedCert, expected: &ServerName<'_>) -> String {
    let info = &leaf.info;
    let names: Vec<&str> = info
        .dns_names
        .iter()
        .chain(&info.ip_addresses)
        .map(String::as_str)
        .collect();
    let listed = list(&names);
    let want = expected_name(expected);
    if matches!(expected, ServerName::IpAddress(_)) {
        return if names.is_empty() {
            format!("certificate for {want} has no matching IP address (it lists no names at all)")
        } else {
            format!("certificate for {want} has no matching IP address (it is for {listed})")
        };
    }
    if names.is_empty() {
        // Clients stopped reading the subject CN years ago; say so, since it is often where the name is.
        return format!(
            "certificate lists no names in subjectAltName (its subject {} is not used), not {want}",
            display_dn(&info.subject)
        );
    }
    format!("certificate is for {listed}, not {want}")
}

/// At most a handful of names: a CDN certificate can carry hundreds.
fn list(names: &[&str]) -> String {
    const SHOWN: usize = 5;
    if names.len() <= SHOWN {
        names.join(", ")
    } else {
        format!(
            "{} and {} more",
            names[..SHOWN].join(", "),
            names.len() - SHOWN
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_cover_one_label() {
        assert!(dns_name_matches("*.example.com", "mx.example.com"));
        assert!(dns_name_matches("*.Example.COM", "MX.example.com."));
        assert!(!dns_name_matches("*.example.com", "example.com"));
        assert!(!dns_name_matches("*.example.com", "a.mx.example.com"));
        assert!(!dns_name_matches("*.example.com", ".example.com"));
        assert!(dns_name_matches("mail.example.com", "MAIL.example.com"));
        assert!(!dns_name_matches("mail.example.com", "mail.example.org"));
    }

    #[test]
    fn long_name_lists_are_cut() {
        assert_eq!(list(&["a", "b"]), "a, b");
        assert_eq!(
            list(&["a", "b", "c", "d", "e", "f", "g"]),
            "a, b, c, d, e and 2 more"
        );
    }

    #[test]
    fn expiry_wording() {
        let day = 86_400;
        assert_eq!(
            expired(
                "certificate".into(),
                1_795_564_800,
                1_795_564_800 + 3 * day + 5
            ),
            "certificate expired 3 days ago (not after 2026-11-25)"
        );
        assert_eq!(
            expired("certificate".into(), 1_795_564_800, 1_795_564_800 + day),
            "certificate expired 1 day ago (not after 2026-11-25)"
        );
        assert_eq!(
            expired("certificate".into(), 1_795_564_800, 1_795_564_801),
            "certificate expired less than a day ago (not after 2026-11-25)"
        );
    }
}
