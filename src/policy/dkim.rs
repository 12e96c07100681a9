//! DKIM key records (RFC 6376 §3.6.1) at `SELECTOR._domainkey.DOMAIN`: what a verifier
//! will find there.

use base64::Engine;
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;
use x509_parser::x509::SubjectPublicKeyInfo;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// `rsa` (the default) or `ed25519`.
    pub key_type: String,
    /// Key size in bits; `None` when revoked or unreadable.
    pub bits: Option<usize>,
    /// `p=` empty: the key was withdrawn (§3.6.1).
    pub revoked: bool,
    /// `t=y`: the domain is testing DKIM; verifiers may treat failures as none.
    pub testing: bool,
    /// Why the key could not be read, for a key that is neither revoked nor usable.
    pub problem: Option<String>,
}

/// Parses one key record (its TXT strings already joined).
pub fn parse(record: &str) -> Result<KeyRecord, String> {
    let mut tags: Vec<(String, String)> = Vec::new();
    for field in record.split(';') {
        let field = field.trim();
        if field.is_empty() {
            continue;
        }
        let (name, value) = field
            .split_once('=')
            .ok_or_else(|| format!("{field:?} is not tag=value"))?;
        // Folding whitespace may appear inside values (base64 split over strings).
        let value: String = value.chars().filter(|c| !c.is_whitespace()).collect();
        tags.push((name.trim().to_owned(), value));
    }
    let get = |name: &str| {
        tags.iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    if let Some(v) = get("v")
        && (tags.first().map(|(n, _)| n.as_str()) != Some("v") || v != "DKIM1")
    {
        return Err(format!("v={v} must come first and be DKIM1"));
    }
    let key_type = get("k").unwrap_or("rsa").to_ascii_lowercase();
    let p = get("p").ok_or("no p= tag (the public key)")?;
    let testing = get("t").is_some_and(|t| t.split(':').any(|f| f.trim() == "y"));
    if p.is_empty() {
        return Ok(KeyRecord {
            key_type,
            bits: None,
            revoked: true,
            testing,
            problem: None,
        });
    }
    let (bits, problem) = match base64::engine::general_purpose::STANDARD.decode(p) {
        Err(_) => (None, Some("p= is not base64".to_owned())),
        Ok(der) => match key_type.as_str() {
            "ed25519" if der.len() == 32 => (Some(256), None),
            "ed25519" => (
                None,
                Some(format!("{} bytes for an Ed25519 key", der.len())),
            ),
            "rsa" => match rsa_bits(&der) {
                Some(bits) => (Some(bits), None),
                None => (None, Some("p= is not an RSA public key".to_owned())),
            },
            other => (None, Some(format!("unknown key type k={other}"))),
        },
    };
    Ok(KeyRecord {
        key_type,
        bits,
        revoked: false,
        testing,
        problem,
    })
}

/// RSA keys are published as SubjectPublicKeyInfo (§3.6.1); a bare RSAPublicKey is
/// seen in the wild too and read as well.
fn rsa_bits(der: &[u8]) -> Option<usize> {
    if let Ok((_, spki)) = SubjectPublicKeyInfo::from_der(der)
        && let Ok(PublicKey::RSA(rsa)) = spki.parsed()
    {
        return Some(rsa.key_size());
    }
    x509_parser::public_key::RSAPublicKey::from_der(der)
        .ok()
        .map(|(_, rsa)| rsa.key_size())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DER: tag, length, contents.
    fn der(tag: u8, contents: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match contents.len() {
            n if n < 0x80 => out.push(n as u8),
            n if n < 0x100 => out.extend([0x81, n as u8]),
            n => out.extend([0x82, (n >> 8) as u8, n as u8]),
        }
        out.extend_from_slice(contents);
        out
    }

    /// An RSA SubjectPublicKeyInfo with a `bits`-bit modulus (any odd number will do
    /// for reading its size).
    fn rsa_spki_b64(bits: usize) -> String {
        let mut modulus = vec![0x00, 0xc1];
        modulus.extend(std::iter::repeat_n(0x5a, bits / 8 - 1));
        let rsa_key = der(0x30, &[der(0x02, &modulus), der(0x02, &[1, 0, 1])].concat());
        let algorithm = der(
            0x30,
            &[
                der(
                    0x06,
                    &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
                ),
                der(0x05, &[]),
            ]
            .concat(),
        );
        let bit_string = der(0x03, &[&[0u8][..], &rsa_key].concat());
        let spki = der(0x30, &[algorithm, bit_string].concat());
        base64::engine::general_purpose::STANDARD.encode(spki)
    }

    #[test]
    fn an_rsa_key_and_its_size() {
        let k = parse(&format!("v=DKIM1; k=rsa; p={}", rsa_spki_b64(2048))).unwrap();
        assert_eq!(k.key_type, "rsa");
        assert_eq!(k.problem, None);
        assert_eq!(k.bits, Some(2048));
        assert!(!k.revoked && !k.testing);
        // Base64 split over TXT strings keeps working once joined with spaces.
        let b64 = rsa_spki_b64(1024);
        let (a, b) = b64.split_at(40);
        assert_eq!(parse(&format!("p={a} {b}")).unwrap().bits, Some(1024));
    }

    #[test]
    fn ed25519_revoked_and_testing_keys() {
        let ed = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let k = parse(&format!("v=DKIM1; k=ed25519; t=y; p={ed}")).unwrap();
        assert_eq!((k.bits, k.testing), (Some(256), true));
        let k = parse("v=DKIM1; p=").unwrap();
        assert!(k.revoked);
    }

    #[test]
    fn bad_records_say_why() {
        assert!(
            parse("k=rsa; v=DKIM1; p=abc")
                .unwrap_err()
                .contains("first")
        );
        assert!(parse("v=DKIM1; k=rsa").unwrap_err().contains("p="));
        let k = parse("v=DKIM1; p=!!!").unwrap();
        assert_eq!(k.problem.as_deref(), Some("p= is not base64"));
        let k = parse("v=DKIM1; k=dsa; p=AAAA").unwrap();
        assert!(k.problem.unwrap().contains("k=dsa"));
    }
}
