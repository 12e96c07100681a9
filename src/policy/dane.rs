//! DANE for SMTP (RFC 7672, with RFC 6698 and 7671): which TLSA records an SMTP client
//! may use, and which certificate of a presented chain a record matches.
//!
//! Checking a DANE-TA chain's signatures, names and dates is TLS work and lives in
//! `net/`; this module says which certificate is the trust anchor.

use sha2::{Digest, Sha256, Sha512};
use x509_parser::prelude::{FromDer, X509Certificate};

/// One TLSA record (RFC 6698 §2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tlsa {
    pub usage: u8,
    pub selector: u8,
    pub matching: u8,
    pub data: Vec<u8>,
}

/// Certificate usages by their RFC 7218 names.
pub const PKIX_TA: u8 = 0;
pub const PKIX_EE: u8 = 1;
pub const DANE_TA: u8 = 2;
pub const DANE_EE: u8 = 3;

impl Tlsa {
    /// Why an SMTP client may not use this record, or `Ok` (RFC 7672 §3.1: only
    /// DANE-TA and DANE-EE; RFC 6698 selectors 0 and 1; matching types 0, 1, 2 with
    /// data of the digest's length).
    pub fn usable(&self) -> Result<(), String> {
        match self.usage {
            DANE_TA | DANE_EE => {}
            PKIX_TA | PKIX_EE => {
                return Err(format!(
                    "usage {} ({}) is not for SMTP (RFC 7672 §3.1.3)",
                    self.usage,
                    usage_name(self.usage)
                ));
            }
            other => return Err(format!("unknown usage {other}")),
        }
        if self.selector > 1 {
            return Err(format!("unknown selector {}", self.selector));
        }
        let want = match self.matching {
            0 => None,
            1 => Some(32),
            2 => Some(64),
            other => return Err(format!("unknown matching type {other}")),
        };
        match want {
            Some(len) if self.data.len() != len => Err(format!(
                "{} bytes of data for matching type {} (wants {len})",
                self.data.len(),
                self.matching
            )),
            None if self.data.is_empty() => Err("empty certificate data".into()),
            _ => Ok(()),
        }
    }

    /// Whether this record matches the DER certificate `cert`, whatever its usage.
    pub fn matches(&self, cert: &[u8]) -> Result<bool, String> {
        let selected: &[u8] = match self.selector {
            0 => cert,
            1 => {
                let (_, parsed) = X509Certificate::from_der(cert)
                    .map_err(|e| format!("unreadable certificate: {e}"))?;
                parsed.tbs_certificate.subject_pki.raw
            }
            other => return Err(format!("unknown selector {other}")),
        };
        Ok(match self.matching {
            0 => selected == self.data.as_slice(),
            1 => Sha256::digest(selected).as_slice() == self.data.as_slice(),
            2 => Sha512::digest(selected).as_slice() == self.data.as_slice(),
            other => return Err(format!("unknown matching type {other}")),
        })
    }

    /// `3 1 1 ab12…` as in zone files, the data cut after 16 hex digits.
    pub fn short(&self) -> String {
        let hex: String = self
            .data
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        let more = if self.data.len() > 8 { "…" } else { "" };
        format!(
            "{} {} {} {hex}{more}",
            self.usage, self.selector, self.matching
        )
    }
}

pub fn usage_name(usage: u8) -> &'static str {
    match usage {
        PKIX_TA => "PKIX-TA",
        PKIX_EE => "PKIX-EE",
        DANE_TA => "DANE-TA",
        DANE_EE => "DANE-EE",
        _ => "unknown",
    }
}

/// What a TLSA RRset asks of an SMTP client (RFC 7672 §2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// No TLSA records: DANE does not apply.
    None,
    /// Records exist but none is usable: TLS is still mandatory, without
    /// authentication (Postfix's "encrypt" level).
    EncryptOnly,
    /// TLS is mandatory and the chain must match one of these records.
    Authenticate(Vec<Tlsa>),
}

pub fn requirement(records: &[Tlsa]) -> Requirement {
    if records.is_empty() {
        return Requirement::None;
    }
    let usable: Vec<Tlsa> = records
        .iter()
        .filter(|r| r.usable().is_ok())
        .cloned()
        .collect();
    if usable.is_empty() {
        Requirement::EncryptOnly
    } else {
        Requirement::Authenticate(usable)
    }
}

/// A usable record that matched a presented certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainMatch {
    pub record: Tlsa,
    /// The matched certificate's position in the chain (0: the server's own).
    pub position: usize,
}

/// The first usable record that matches the presented `chain` (leaf first): DANE-EE
/// only against the leaf (names and dates ignored, RFC 7672 §3.1.1); DANE-TA against
/// any certificate of the chain (the caller then checks the path, names and dates up
/// to it, §3.1.2). A trust anchor the server does not send is not found here.
pub fn match_chain(records: &[Tlsa], chain: &[Vec<u8>]) -> Option<ChainMatch> {
    for record in records.iter().filter(|r| r.usable().is_ok()) {
        let candidates: Box<dyn Iterator<Item = (usize, &Vec<u8>)>> = match record.usage {
            DANE_EE => Box::new(chain.iter().enumerate().take(1)),
            _ => Box::new(chain.iter().enumerate()),
        };
        for (position, cert) in candidates {
            if record.matches(cert) == Ok(true) {
                return Some(ChainMatch {
                    record: record.clone(),
                    position,
                });
            }
        }
    }
    None
}

/// A leaf for `name` signed by a fresh CA, both DER, and a certificate's SPKI: the
/// chains DANE tests match records against.
#[cfg(test)]
pub(crate) mod test_chain {
    use x509_parser::prelude::{FromDer, X509Certificate};

    pub fn chain_for(name: &str) -> (Vec<u8>, Vec<u8>) {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, &ca_key);
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec![name.into()])
            .unwrap()
            .signed_by(&leaf_key, &issuer)
            .unwrap();
        (leaf.der().to_vec(), ca.der().to_vec())
    }

    pub fn spki(cert: &[u8]) -> Vec<u8> {
        let (_, c) = X509Certificate::from_der(cert).unwrap();
        c.tbs_certificate.subject_pki.raw.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::test_chain::{chain_for, spki};
    use super::*;

    fn cert_chain() -> (Vec<u8>, Vec<u8>) {
        chain_for("mx.example.test")
    }

    fn tlsa(usage: u8, selector: u8, matching: u8, data: Vec<u8>) -> Tlsa {
        Tlsa {
            usage,
            selector,
            matching,
            data,
        }
    }

    #[test]
    fn only_dane_usages_with_known_parameters_are_usable() {
        assert!(tlsa(3, 1, 1, vec![0; 32]).usable().is_ok());
        assert!(tlsa(2, 0, 2, vec![0; 64]).usable().is_ok());
        assert!(tlsa(2, 0, 0, vec![1, 2, 3]).usable().is_ok());
        for (r, why) in [
            (tlsa(1, 1, 1, vec![0; 32]), "RFC 7672"),
            (tlsa(0, 1, 1, vec![0; 32]), "PKIX-TA"),
            (tlsa(4, 1, 1, vec![0; 32]), "unknown usage"),
            (tlsa(3, 2, 1, vec![0; 32]), "selector"),
            (tlsa(3, 1, 3, vec![0; 32]), "matching type"),
            (tlsa(3, 1, 1, vec![0; 31]), "wants 32"),
            (tlsa(3, 1, 0, vec![]), "empty"),
        ] {
            let err = r.usable().unwrap_err();
            assert!(err.contains(why), "{r:?}: {err}");
        }
    }

    #[test]
    fn an_rrset_of_unusable_records_still_demands_tls() {
        assert_eq!(requirement(&[]), Requirement::None);
        assert_eq!(
            requirement(&[tlsa(1, 1, 1, vec![0; 32])]),
            Requirement::EncryptOnly
        );
        let ok = tlsa(3, 1, 1, vec![0; 32]);
        assert_eq!(
            requirement(&[tlsa(1, 1, 1, vec![0; 32]), ok.clone()]),
            Requirement::Authenticate(vec![ok])
        );
    }

    #[test]
    fn each_selector_and_matching_type_matches_the_leaf() {
        let (leaf, _) = cert_chain();
        let key = spki(&leaf);
        for record in [
            tlsa(3, 0, 0, leaf.clone()),
            tlsa(3, 0, 1, Sha256::digest(&leaf).to_vec()),
            tlsa(3, 0, 2, Sha512::digest(&leaf).to_vec()),
            tlsa(3, 1, 0, key.clone()),
            tlsa(3, 1, 1, Sha256::digest(&key).to_vec()),
            tlsa(3, 1, 2, Sha512::digest(&key).to_vec()),
        ] {
            assert_eq!(record.matches(&leaf), Ok(true), "{}", record.short());
        }
        assert_eq!(tlsa(3, 1, 1, vec![0; 32]).matches(&leaf), Ok(false));
    }

    #[test]
    fn dane_ee_matches_only_the_leaf_and_dane_ta_any_certificate() {
        let (leaf, ca) = cert_chain();
        let chain = vec![leaf.clone(), ca.clone()];
        let ca_digest = Sha256::digest(spki(&ca)).to_vec();
        // The CA's key as DANE-EE must not authenticate the server.
        assert_eq!(
            match_chain(&[tlsa(3, 1, 1, ca_digest.clone())], &chain),
            None
        );
        let m = match_chain(&[tlsa(2, 1, 1, ca_digest)], &chain).unwrap();
        assert_eq!(m.position, 1);
        let m = match_chain(
            &[tlsa(3, 1, 1, Sha256::digest(spki(&leaf)).to_vec())],
            &chain,
        )
        .unwrap();
        assert_eq!((m.position, m.record.usage), (0, DANE_EE));
    }

    #[test]
    fn unusable_records_never_match() {
        let (leaf, _) = cert_chain();
        let pkix = tlsa(1, 0, 1, Sha256::digest(&leaf).to_vec());
        assert_eq!(pkix.matches(&leaf), Ok(true));
        assert_eq!(match_chain(&[pkix], std::slice::from_ref(&leaf)), None);
    }
}
