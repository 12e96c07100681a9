//! DANE authentication of a presented chain (RFC 7672 §3.1): which record matches is
//! `policy::dane`'s rule; checking a DANE-TA path's signatures, names and dates up to
//! the matched certificate is WebPKI's work, with that certificate as the only root.

use std::sync::Arc;

use rustls::RootCertStore;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::{CertificateDer, UnixTime};

use super::certinfo::parse_chain;
use super::{server_name_for, unix_now, verify};
use crate::policy::dane::{self, DANE_EE, Tlsa};

/// How the chain was authenticated, or why it was not. `host` is the MX host name, the
/// reference identifier a DANE-TA chain's leaf must carry (§3.2.2).
pub fn authenticate(chain: &[Vec<u8>], records: &[Tlsa], host: &str) -> Result<String, String> {
    if chain.is_empty() {
        return Err("the server presented no certificate".into());
    }
    let Some(found) = dane::match_chain(records, chain) else {
        let list: Vec<String> = records.iter().map(Tlsa::short).collect();
        return Err(format!(
            "no usable TLSA record ({}) matches the {} certificate{} the server presented",
            list.join(", "),
            chain.len(),
            if chain.len() == 1 { "" } else { "s" }
        ));
    };
    let record = found.record.short();
    if found.record.usage == DANE_EE {
        return Ok(format!(
            "DANE-EE record {record} matches the server's certificate (names and dates are not checked, RFC 7672 §3.1.1)"
        ));
    }
    check_path(chain, found.position, host).map_err(|why| {
        format!(
            "DANE-TA record {record} matches certificate {} of the chain, but {why}",
            found.position
        )
    })?;
    Ok(format!(
        "DANE-TA record {record} matches certificate {} of the chain; the path to it, the name {host} and the dates check out",
        found.position
    ))
}

/// The leaf verified up to `chain[anchor]` as the only trust anchor, for `host`.
fn check_path(chain: &[Vec<u8>], anchor: usize, host: &str) -> Result<(), String> {
    let name = server_name_for(host).ok_or_else(|| format!("{host:?} is not a host name"))?;
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(chain[anchor].clone()))
        .map_err(|e| format!("the trust anchor is unusable ({e})"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| format!("cannot check the path ({e})"))?;
    let ders: Vec<CertificateDer<'static>> = chain
        .iter()
        .map(|c| CertificateDer::from(c.clone()))
        .collect();
    let intermediates = &ders[1..anchor.max(1)];
    verifier
        .verify_server_cert(&ders[0], intermediates, &name, &[], UnixTime::now())
        .map(|_| ())
        .map_err(|e| verify::explain(&e, &parse_chain(&ders, unix_now()), &name, unix_now()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    struct Chain {
        leaf: Vec<u8>,
        ca: Vec<u8>,
    }

    fn chain_for(name: &str) -> Chain {
        let (leaf, ca) = crate::policy::dane::test_chain::chain_for(name);
        Chain { leaf, ca }
    }

    fn spki_sha256(cert: &[u8]) -> Vec<u8> {
        Sha256::digest(crate::policy::dane::test_chain::spki(cert)).to_vec()
    }

    fn record(usage: u8, cert: &[u8]) -> Tlsa {
        Tlsa {
            usage,
            selector: 1,
            matching: 1,
            data: spki_sha256(cert),
        }
    }

    #[test]
    fn dane_ee_ignores_the_name() {
        let c = chain_for("other.example.test");
        let ok = authenticate(
            &[c.leaf.clone(), c.ca.clone()],
            &[record(3, &c.leaf)],
            "mx.example.test",
        )
        .unwrap();
        assert!(ok.contains("DANE-EE"), "{ok}");
    }

    #[test]
    fn dane_ta_checks_the_path_and_the_name() {
        let c = chain_for("mx.example.test");
        let chain = [c.leaf.clone(), c.ca.clone()];
        let ok = authenticate(&chain, &[record(2, &c.ca)], "mx.example.test").unwrap();
        assert!(ok.contains("DANE-TA"), "{ok}");
        let err = authenticate(&chain, &[record(2, &c.ca)], "mx2.example.test").unwrap_err();
        assert!(err.contains("mx2.example.test"), "{err}");
    }

    #[test]
    fn dane_ta_needs_the_anchor_to_have_signed_the_leaf() {
        let a = chain_for("mx.example.test");
        let b = chain_for("mx.example.test");
        // The server sends b's CA after a's leaf: the record matches b's CA, which did
        // not sign the leaf.
        let err = authenticate(
            &[a.leaf.clone(), b.ca.clone()],
            &[record(2, &b.ca)],
            "mx.example.test",
        )
        .unwrap_err();
        assert!(err.contains("DANE-TA"), "{err}");
    }

    #[test]
    fn no_matching_record_says_so() {
        let a = chain_for("mx.example.test");
        let b = chain_for("mx.example.test");
        let err = authenticate(
            std::slice::from_ref(&a.leaf),
            &[record(3, &b.leaf)],
            "mx.example.test",
        )
        .unwrap_err();
        assert!(err.contains("no usable TLSA record"), "{err}");
    }
}
