//! Plain words for a handshake that did not complete.

use std::io;

use rustls::{AlertDescription, PeerIncompatible};

use super::TlsMin;

/// Why the handshake did not complete. A certificate problem is not a failure here:
/// it is reported in [`TlsInfo::verification`](super::TlsInfo::verification).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsFailure {
    /// The deadline passed before the handshake finished.
    Timeout,
    /// The peer broke off, does not speak TLS, or shares no parameters with us; plain words.
    Handshake(String),
    /// The network failed under us; plain words.
    Io(String),
}

impl std::fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TlsFailure::Timeout => f.write_str("the TLS handshake timed out"),
            TlsFailure::Handshake(why) | TlsFailure::Io(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for TlsFailure {}

pub(super) const CLOSED: &str = "the server closed the connection during the TLS handshake";
pub(super) const PLAINTEXT_GREETING: &str =
    "the server does not speak TLS (it sent a plaintext SMTP greeting: try --tls starttls)";

/// `None` when `first` can be the start of a TLS record; otherwise what the server
/// seems to be saying instead.
pub(super) fn not_tls(first: &[u8]) -> Option<String> {
    let record_type = (0x14..=0x18).contains(&first[0]);
    if record_type && first.get(1).is_none_or(|&major| major == 3) {
        return None;
    }
    let digits = first.iter().take(3).all(u8::is_ascii_digit);
    let smtp_like = first.len() >= 3
        && digits
        && first
            .get(3)
            .is_none_or(|b| matches!(b, b' ' | b'-' | b'\r' | b'\n'));
    if smtp_like && first.starts_with(b"220") {
        return Some(PLAINTEXT_GREETING.into());
    }
    let line = first_line(first);
    if smtp_like {
        return Some(format!(
            "the server does not speak TLS (it sent a plaintext SMTP reply: \"{line}\")"
        ));
    }
    Some(format!(
        "the server does not speak TLS (its first bytes were \"{line}\")"
    ))
}

/// The first line, at most 60 characters, with anything unprintable escaped so that the
/// server cannot drive the user's terminal through our error message.
pub(super) fn first_line(bytes: &[u8]) -> String {
    let end = bytes
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(bytes.len());
    let mut out = String::new();
    for &b in bytes[..end].iter().take(60) {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    if end > 60 {
        out.push_str("...");
    }
    out
}

pub(super) fn io_failure(e: io::Error) -> TlsFailure {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => TlsFailure::Handshake(CLOSED.into()),
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => {
            TlsFailure::Handshake("the server reset the connection during the TLS handshake".into())
        }
        io::ErrorKind::BrokenPipe => TlsFailure::Handshake(CLOSED.into()),
        _ => TlsFailure::Io(format!("network error during the TLS handshake: {e}")),
    }
}

pub(super) fn handshake_failure(e: io::Error, min_version: TlsMin) -> TlsFailure {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(tls) => TlsFailure::Handshake(describe_tls_error(tls, min_version)),
        None => io_failure(e),
    }
}

pub(super) fn describe_tls_error(e: &rustls::Error, min_version: TlsMin) -> String {
    use rustls::Error as E;
    let offered = match min_version {
        TlsMin::V1_3 => "TLS 1.3 only, as the minimum version requires",
        TlsMin::V1_2 => "TLS 1.2 and 1.3",
    };
    match e {
        E::AlertReceived(AlertDescription::ProtocolVersion)
        | E::PeerIncompatible(PeerIncompatible::ServerDoesNotSupportTls12Or13)
        | E::PeerIncompatible(PeerIncompatible::SupportedVersionsExtensionRequired) => {
            format!("the server supports none of the TLS versions we offered ({offered})")
        }
        E::PeerIncompatible(PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig) => {
            format!("the server chose a TLS version we did not offer ({offered})")
        }
        E::AlertReceived(AlertDescription::HandshakeFailure) => {
            "the server refused the handshake (handshake_failure alert: no cipher suite, key exchange or signature algorithm in common)".into()
        }
        E::AlertReceived(AlertDescription::CertificateRequired) => {
            "the server requires a client certificate".into()
        }
        E::AlertReceived(
            alert @ (AlertDescription::BadCertificate
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateRevoked
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateUnknown
            | AlertDescription::UnknownCA
            | AlertDescription::AccessDenied),
        ) => format!(
            "the server rejected our client certificate ({} alert)",
            snake_case(&format!("{alert:?}"))
        ),
        E::AlertReceived(AlertDescription::UnrecognisedName) => {
            "the server does not recognise the name we sent as SNI (unrecognized_name alert)".into()
        }
        E::AlertReceived(alert) => format!(
            "the server aborted the TLS handshake ({} alert)",
            snake_case(&format!("{alert:?}"))
        ),
        E::PeerIncompatible(why) => {
            format!("the server's TLS settings are incompatible with ours ({why:?})")
        }
        E::InvalidMessage(why) => format!("the server sent a malformed TLS message ({why:?})"),
        E::InappropriateMessage { got_type, .. } => {
            format!("the server sent an unexpected TLS message ({got_type:?})")
        }
        E::InappropriateHandshakeMessage { got_type, .. } => {
            format!("the server sent an unexpected TLS handshake message ({got_type:?})")
        }
        E::PeerMisbehaved(why) => format!("the server broke the TLS protocol ({why:?})"),
        E::NoCertificatesPresented => "the server sent no certificate".into(),
        // The chain itself is always accepted; this is the handshake signature, which
        // proves the server holds the certificate's private key.
        E::InvalidCertificate(why) => format!(
            "the server could not prove it holds its certificate's key ({why:?})"
        ),
        E::DecryptError => "the TLS handshake failed to decrypt (corrupted data or a broken server)".into(),
        other => format!("TLS handshake failed: {other}"),
    }
}

/// `UnknownCA` -> `unknown_ca`: alerts by the names RFC 8446 gives them.
pub(super) fn snake_case(camel: &str) -> String {
    let chars: Vec<char> = camel.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(char::is_ascii_lowercase);
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower)
            {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}
