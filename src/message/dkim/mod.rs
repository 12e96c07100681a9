//! DKIM signing (RFC 6376; Ed25519 by RFC 8463) of a finished message, through
//! mail-auth: keys read from PEM, the header set chosen, the signature put first.

use mail_auth::AuthenticatedMessage;
use mail_auth::common::crypto::{Ed25519Key, RsaKey, Sha256};
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::{Canonicalization, DkimSigner};
use rustls::pki_types::pem::{PemObject, SectionKind};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer};

use crate::smtp::{DataEncoder, Framing};

/// Headers signed when the message has them, in this order (RFC 6376 §5.4.1 recommends
/// these); From is signed always and once more than it occurs (§8.15 "oversigning"),
/// so no From can be added above it without breaking the signature.
const SIGNED: [&str; 13] = [
    "From",
    "Reply-To",
    "Subject",
    "Date",
    "To",
    "Cc",
    "Message-ID",
    "In-Reply-To",
    "References",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "List-Unsubscribe",
];

/// RFC 8301 §3.2: signers MUST use RSA keys of at least 1024 bits.
const MIN_RSA_BITS: usize = 1024;

/// A private key DKIM can sign with.
pub struct DkimKey {
    key: Key,
}

enum Key {
    Rsa { key: RsaKey<Sha256>, bits: usize },
    Ed25519(Ed25519Key),
}

impl std::fmt::Debug for DkimKey {
    /// Never the key itself.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DkimKey({})", self.describe())
    }
}

/// A signed message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signed {
    /// The DKIM-Signature header then the message, CRLF line ends throughout: these
    /// octets are what the receiver gets (DATA's dot-stuffing and BDAT's framing are
    /// undone on arrival).
    pub message: Vec<u8>,
    pub about: Signature,
}

/// What signing did, for the transcript and `--json`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Signature {
    /// `d=`.
    pub domain: String,
    /// `s=`.
    pub selector: String,
    /// `a=`: `rsa-sha256` or `ed25519-sha256`.
    pub algorithm: &'static str,
    /// `h=`, lower-case, as signed (From twice: the second is the oversigning).
    pub headers: Vec<String>,
}

impl DkimKey {
    /// Reads a PEM file's text: PKCS#8 `PRIVATE KEY` (RSA or Ed25519) or PKCS#1 `RSA
    /// PRIVATE KEY`. The error says what the file holds instead.
    pub fn from_pem(pem: &[u8]) -> Result<DkimKey, String> {
        let text = String::from_utf8_lossy(pem);
        if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")
            || text.contains("Proc-Type: 4,ENCRYPTED")
        {
            return Err(
                "the key is encrypted; decrypt it first (openssl pkey -in KEY -out PLAIN)".into(),
            );
        }
        if text.contains("-----BEGIN OPENSSH PRIVATE KEY-----") {
            return Err("an OpenSSH key; DKIM needs a PEM key (openssl genpkey)".into());
        }
        let mut others = Vec::new();
        for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(pem) {
            let (kind, der) = section
                .map_err(|_| "not a PEM private key (the PEM text is malformed)".to_string())?;
            match kind {
                SectionKind::RsaPrivateKey => {
                    return rsa(PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(der)));
                }
                SectionKind::PrivateKey => return pkcs8(der),
                SectionKind::EcPrivateKey => return Err(unsupported("an EC (ECDSA) key")),
                SectionKind::Certificate => others.push("a certificate"),
                SectionKind::PublicKey => others.push("a public key"),
                _ => others.push("no private key"),
            }
        }
        if text.contains("-----BEGIN RSA PUBLIC KEY-----") {
            others.push("a public key");
        }
        Err(match others.first() {
            Some(what) => format!("not a private key (the file holds {what})"),
            None => "not a PEM private key (no '-----BEGIN PRIVATE KEY-----' section)".into(),
        })
    }

    /// `a=`.
    pub fn algorithm(&self) -> &'static str {
        match self.key {
            Key::Rsa { .. } => "rsa-sha256",
            Key::Ed25519(_) => "ed25519-sha256",
        }
    }

    /// `RSA-2048` or `Ed25519`.
    pub fn describe(&self) -> String {
        match &self.key {
            Key::Rsa { bits, .. } => format!("RSA-{bits}"),
            Key::Ed25519(_) => "Ed25519".into(),
        }
    }

    /// Signs `message` relaxed/relaxed with a `t=` of now. The message is first put in
    /// the form it travels in (CRLF line ends, a final CRLF: what RFC 5321 §2.3.8 and
    /// smtpx's DATA and BDAT encoders make of it), so the signed octets are the ones that
    /// arrive. The domain is `domain`, or the From header's (so DMARC aligns).
    pub fn sign(
        self,
        message: &[u8],
        selector: &str,
        domain: Option<&str>,
    ) -> Result<Signed, String> {
        let message = canonical_line_ends(message);
        let parsed = AuthenticatedMessage::parse(&message)
            .ok_or("the message has no header section to sign")?;
        let present = |name: &str| {
            parsed
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
        };
        if !present("From") {
            return Err("the message has no From header (RFC 6376 §5.4 signs it always)".into());
        }
        let domain = match domain {
            Some(d) => d.to_string(),
            None => from_domain(&parsed)?,
        };
        let mut names: Vec<&str> = SIGNED.iter().copied().filter(|h| present(h)).collect();
        names.push("From");
        let algorithm = self.algorithm();
        let signature = match self.key {
            Key::Rsa { key, .. } => sign_with(key, &message, selector, &domain, &names),
            Key::Ed25519(key) => sign_with(key, &message, selector, &domain, &names),
        }?;
        let mut out = signature.to_header().into_bytes();
        out.extend_from_slice(&message);
        Ok(Signed {
            message: out,
            about: Signature {
                domain,
                selector: selector.to_string(),
                algorithm,
                headers: signature.h.iter().map(|h| h.to_ascii_lowercase()).collect(),
            },
        })
    }
}

fn sign_with<T: mail_auth::common::crypto::SigningKey>(
    key: T,
    message: &[u8],
    selector: &str,
    domain: &str,
    names: &[&str],
) -> Result<mail_auth::dkim::Signature, String> {
    DkimSigner::from_key(key)
        .domain(domain)
        .selector(selector)
        .headers(names.iter().copied())
        .header_canonicalization(Canonicalization::Relaxed)
        .body_canonicalization(Canonicalization::Relaxed)
        .sign(message)
        .map_err(|e| format!("signing failed: {e}"))
}

fn unsupported(what: &str) -> String {
    format!(
        "unsupported key type: {what}; DKIM signs with RSA (rsa-sha256) or Ed25519 (ed25519-sha256)"
    )
}

fn rsa(der: PrivateKeyDer<'_>) -> Result<DkimKey, String> {
    let key = RsaKey::<Sha256>::from_key_der(der)
        .map_err(|_| "not a usable RSA private key (the key data is malformed)".to_string())?;
    let bits = modulus_bits(&key.public_key()).unwrap_or(0);
    if bits < MIN_RSA_BITS {
        return Err(format!(
            "an RSA key of {bits} bits is too short: RFC 8301 requires at least {MIN_RSA_BITS} (2048 is usual)"
        ));
    }
    Ok(DkimKey {
        key: Key::Rsa { key, bits },
    })
}

/// PKCS#8 names its algorithm by OID (RFC 5958 §2): rsaEncryption and id-Ed25519 sign;
/// the others are named in the refusal.
fn pkcs8(der: Vec<u8>) -> Result<DkimKey, String> {
    const RSA: &[u8] = &[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
    ];
    const ED25519: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
    const ED448: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x71];
    const EC: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    const RSA_PSS: &[u8] = &[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a,
    ];
    // The AlgorithmIdentifier comes right after the version, in the first few octets.
    let head = &der[..der.len().min(32)];
    let names = |oid: &[u8]| head.windows(oid.len()).any(|w| w == oid);
    if names(ED25519) {
        let key = Ed25519Key::from_pkcs8_der(&der)
            .map_err(|_| "not a usable Ed25519 private key (the key data is malformed)")?;
        return Ok(DkimKey {
            key: Key::Ed25519(key),
        });
    }
    if names(RSA) {
        return rsa(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der)));
    }
    Err(unsupported(if names(EC) {
        "an EC (ECDSA) key"
    } else if names(ED448) {
        "an Ed448 key"
    } else if names(RSA_PSS) {
        "an RSA-PSS key"
    } else {
        "an unknown algorithm"
    }))
}

/// The modulus size of a PKCS#1 RSAPublicKey: `SEQUENCE { INTEGER n, INTEGER e }`.
fn modulus_bits(der: &[u8]) -> Option<usize> {
    fn length(der: &[u8]) -> Option<(usize, usize)> {
        let first = *der.first()?;
        if first < 0x80 {
            return Some((first as usize, 1));
        }
        let n = (first & 0x7f) as usize;
        let bytes = der.get(1..1 + n)?;
        let len = bytes.iter().fold(0usize, |acc, b| (acc << 8) | *b as usize);
        Some((len, 1 + n))
    }
    let rest = der.strip_prefix(&[0x30])?;
    let (_, used) = length(rest)?;
    let rest = rest.get(used..)?.strip_prefix(&[0x02])?;
    let (len, used) = length(rest)?;
    let mut n = rest.get(used..used + len)?;
    while let [0, tail @ ..] = n {
        n = tail;
    }
    let top = *n.first()?;
    Some((n.len() - 1) * 8 + (8 - top.leading_zeros() as usize))
}

/// CRLF line ends and a final CRLF, as smtpx sends every message (BDAT with BINARYMIME
/// excepted, which then carries these octets as they are).
fn canonical_line_ends(message: &[u8]) -> Vec<u8> {
    let mut encoder = DataEncoder::with_framing(Framing::Chunked);
    let mut out = Vec::with_capacity(message.len() + message.len() / 32 + 2);
    encoder.encode(message, &mut out);
    encoder.finish(&mut out);
    out
}

/// The From header's domain: the one DMARC checks alignment against (RFC 7489 §3.1).
fn from_domain(message: &AuthenticatedMessage<'_>) -> Result<String, String> {
    let mut domains: Vec<String> = Vec::new();
    for address in &message.from {
        let Some((_, domain)) = address.rsplit_once('@') else {
            continue;
        };
        let domain = domain.to_ascii_lowercase();
        if !domains.contains(&domain) {
            domains.push(domain);
        }
    }
    match domains.as_slice() {
        [] => {
            Err("no From header address to take the signing domain from: give --dkim-domain".into())
        }
        [one] => dns_name("the From header's domain", one),
        several => Err(format!(
            "the From header names addresses in several domains ({}): give --dkim-domain",
            several.join(", ")
        )),
    }
}

/// A domain or selector as DNS spells it: dot-separated labels of letters, digits and
/// hyphens (RFC 6376 §3.1 and §3.5 take `sub-domain`s from RFC 5321), 1 to 63 octets
/// each, at most 253 in all. An IDN goes as A-labels; a final dot is dropped.
pub fn dns_name(what: &str, s: &str) -> Result<String, String> {
    let bad = |why: &str| {
        format!(
            "{what} '{}' is not a valid DNS name: {why}",
            s.escape_debug()
        )
    };
    let trimmed = s.strip_suffix('.').unwrap_or(s);
    let ascii = if trimmed.is_ascii() {
        trimmed.to_ascii_lowercase()
    } else {
        idna::domain_to_ascii(trimmed).map_err(|_| bad("not a valid internationalised name"))?
    };
    if ascii.is_empty() {
        return Err(bad("it is empty"));
    }
    if ascii.len() > 253 {
        return Err(bad("longer than 253 octets"));
    }
    for label in ascii.split('.') {
        if label.is_empty() {
            return Err(bad("an empty label"));
        }
        if label.len() > 63 {
            return Err(bad("a label longer than 63 octets"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(bad("only letters, digits, '-' and '.' are allowed"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(bad("a label starts or ends with '-'"));
        }
    }
    Ok(ascii)
}

#[cfg(test)]
mod tests;
