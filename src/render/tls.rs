//! How a TLS handshake reads in the transcript.

use crate::net::tls::{TlsInfo, Verification};

/// The lines describing a handshake: protocol, cipher, chain, verdict.
pub fn describe(info: &TlsInfo, timing: bool) -> Vec<String> {
    let mut lines = Vec::new();
    let took = if timing {
        format!(" in {:.1} ms", info.handshake_ms)
    } else {
        String::new()
    };
    let mut head = format!(
        "TLS handshake done{took}: {}, {}",
        info.protocol, info.cipher
    );
    if let Some(kx) = &info.key_exchange {
        head.push_str(&format!(", {kx}"));
    }
    match &info.sni {
        Some(sni) => head.push_str(&format!(", SNI {sni}")),
        None => head.push_str(", no SNI (IP address)"),
    }
    lines.push(head);
    for (i, cert) in info.chain.iter().enumerate() {
        lines.push(format!("certificate {i}: {}", cert.subject));
        lines.push(format!("    issuer:  {}", cert.issuer));
        let names: Vec<String> = cert
            .dns_names
            .iter()
            .map(|n| format!("DNS:{n}"))
            .chain(cert.ip_addresses.iter().map(|ip| format!("IP:{ip}")))
            .collect();
        if !names.is_empty() {
            lines.push(format!("    names:   {}", names.join(", ")));
        }
        let left = if cert.days_left < 0 {
            format!("expired {} days ago", -cert.days_left)
        } else {
            format!("{} days left", cert.days_left)
        };
        lines.push(format!(
            "    valid:   {} to {} ({left})",
            cert.not_before, cert.not_after
        ));
        lines.push(format!("    key:     {}", cert.key));
        lines.push(format!("    sha256:  {}", cert.sha256));
    }
    lines.push(verdict(&info.verification));
    lines
}

/// The verification verdict in plain words.
pub fn verdict(v: &Verification) -> String {
    match v {
        Verification::Verified => "certificate verified".to_string(),
        Verification::Failed { reason } => format!("certificate NOT verified: {reason}"),
        Verification::Skipped { would_fail: None } => {
            "certificate not checked (--tls-no-verify); it would have passed".to_string()
        }
        Verification::Skipped {
            would_fail: Some(reason),
        } => format!("certificate not checked (--tls-no-verify); it would have failed: {reason}"),
    }
}
