//! A throwaway PKI generated at test time: a CA, server leaves with good and
//! bad properties, and a client certificate.
//!
//! Every PEM is written into a temporary directory owned by the [`TestPki`],
//! so keep the `TestPki` alive while a child process reads the files.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tempfile::TempDir;

/// The CA's common name, as clients will display it.
pub const CA_NAME: &str = "smtpx Test CA";
/// The common name of the CA that signs [`CertKind::UnknownCa`].
pub const OTHER_CA_NAME: &str = "smtpx Other Test CA";
/// Names in a [`CertKind::Valid`] certificate.
pub const VALID_NAMES: [&str; 4] = ["localhost", "127.0.0.1", "::1", "mx.test"];

/// The server certificates on offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CertKind {
    /// Signed by the CA; SANs localhost, 127.0.0.1, ::1, mx.test; valid for a year.
    Valid,
    /// Valid names, but expired 30 days ago.
    Expired,
    /// Valid names, but valid only from 30 days from now.
    NotYetValid,
    /// Signed by the CA, for `other.example` only.
    WrongName,
    /// Valid names, self-signed (not a CA certificate).
    SelfSigned,
    /// Valid names, signed by a CA the client does not trust.
    UnknownCa,
    /// Signed by the CA, with only the IP SAN 127.0.0.1.
    IpOnly,
    /// Valid now, but expires in 5 days.
    ExpiresSoon,
}

impl CertKind {
    pub const ALL: [CertKind; 8] = [
        CertKind::Valid,
        CertKind::Expired,
        CertKind::NotYetValid,
        CertKind::WrongName,
        CertKind::SelfSigned,
        CertKind::UnknownCa,
        CertKind::IpOnly,
        CertKind::ExpiresSoon,
    ];

    fn names(self) -> Vec<&'static str> {
        match self {
            CertKind::WrongName => vec!["other.example"],
            CertKind::IpOnly => vec!["127.0.0.1"],
            _ => VALID_NAMES.to_vec(),
        }
    }

    /// Validity window in days relative to now.
    fn validity_days(self) -> (i64, i64) {
        match self {
            CertKind::Expired => (-60, -30),
            CertKind::NotYetValid => (30, 60),
            CertKind::ExpiresSoon => (-1, 5),
            _ => (-1, 365),
        }
    }

    fn file_stem(self) -> String {
        format!("{self:?}").to_lowercase()
    }
}

/// A leaf certificate with its key.
struct Leaf {
    chain: Vec<CertificateDer<'static>>,
    key: PrivatePkcs8KeyDer<'static>,
    cert_path: PathBuf,
    key_path: PathBuf,
}

impl Leaf {
    fn key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(self.key.clone_key())
    }
}

/// A CA, every [`CertKind`] of server certificate, and a client certificate.
pub struct TestPki {
    /// The CA certificate (PEM), for `--tls-ca`.
    pub ca_pem_path: PathBuf,
    ca_der: CertificateDer<'static>,
    leaves: HashMap<CertKind, Leaf>,
    client: Leaf,
    ca: CertifiedIssuer<'static, KeyPair>,
    _dir: TempDir,
}

impl Default for TestPki {
    fn default() -> Self {
        Self::new()
    }
}

impl TestPki {
    /// Generates a fresh CA and all certificates, and writes their PEM files.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir for test PKI");
        let ca = new_ca(CA_NAME);
        let other_ca = new_ca(OTHER_CA_NAME);
        let ca_pem_path = dir.path().join("ca.pem");
        fs::write(&ca_pem_path, ca.pem()).expect("write CA PEM");

        let leaves = CertKind::ALL
            .iter()
            .map(|&kind| {
                let issuer = match kind {
                    CertKind::SelfSigned => None,
                    CertKind::UnknownCa => Some(&other_ca),
                    _ => Some(&ca),
                };
                (kind, server_leaf(dir.path(), kind, issuer))
            })
            .collect();
        let client = client_leaf(dir.path(), &ca);

        TestPki {
            ca_pem_path,
            ca_der: ca.der().clone(),
            leaves,
            client,
            ca,
            _dir: dir,
        }
    }

    /// The CA certificate in DER.
    pub fn ca_der(&self) -> CertificateDer<'static> {
        self.ca_der.clone()
    }

    /// A root store trusting only the test CA (for in-process clients).
    pub fn root_store(&self) -> RootCertStore {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca_der()).expect("add test CA");
        roots
    }

    /// A TLS server config presenting this certificate, not asking for client certificates.
    pub fn server_config(&self, kind: CertKind) -> Arc<ServerConfig> {
        let leaf = &self.leaves[&kind];
        let config = server_builder()
            .with_no_client_auth()
            .with_single_cert(leaf.chain.clone(), leaf.key_der())
            .expect("server config");
        Arc::new(config)
    }

    /// Like [`server_config`](Self::server_config), but the client must
    /// present a certificate signed by the test CA.
    pub fn server_config_mtls(&self, kind: CertKind) -> Arc<ServerConfig> {
        let leaf = &self.leaves[&kind];
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(self.root_store()), provider())
                .build()
                .expect("client verifier");
        let config = server_builder()
            .with_client_cert_verifier(verifier)
            .with_single_cert(leaf.chain.clone(), leaf.key_der())
            .expect("mTLS server config");
        Arc::new(config)
    }

    /// PEM files (certificate chain, PKCS#8 key) for external servers. The
    /// chain is the leaf followed by its issuing CA, if any.
    pub fn leaf_pem(&self, kind: CertKind) -> (PathBuf, PathBuf) {
        let leaf = &self.leaves[&kind];
        (leaf.cert_path.clone(), leaf.key_path.clone())
    }

    /// PEM files (chain, key) of a server certificate signed by the CA for `names`,
    /// valid for a year.
    pub fn leaf_for(&self, stem: &str, names: &[&str]) -> (PathBuf, PathBuf) {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names.clone()).expect("leaf params");
        params
            .distinguished_name
            .push(DnType::CommonName, &names[0]);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        set_validity(&mut params, -1, 365);
        let dir = self.ca_pem_path.parent().expect("PKI dir");
        let leaf = write_leaf(dir, stem, &params, Some(&self.ca));
        (leaf.cert_path, leaf.key_path)
    }

    /// PEM files (certificate, key) of a client certificate signed by the CA.
    pub fn client_cert_pem(&self) -> (PathBuf, PathBuf) {
        (self.client.cert_path.clone(), self.client.key_path.clone())
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn server_builder() -> rustls::ConfigBuilder<ServerConfig, rustls::WantsVerifier> {
    ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
}

fn new_ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    set_validity(&mut params, -2, 3650);
    let key = KeyPair::generate().expect("CA key");
    CertifiedIssuer::self_signed(params, key).expect("self-sign CA")
}

/// A server leaf signed by `issuer`, or self-signed when there is none.
fn server_leaf(
    dir: &Path,
    kind: CertKind,
    issuer: Option<&CertifiedIssuer<'static, KeyPair>>,
) -> Leaf {
    let names: Vec<String> = kind.names().into_iter().map(String::from).collect();
    let mut params = CertificateParams::new(names.clone()).expect("leaf params");
    params
        .distinguished_name
        .push(DnType::CommonName, &names[0]);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let (from, to) = kind.validity_days();
    set_validity(&mut params, from, to);
    write_leaf(dir, &kind.file_stem(), &params, issuer)
}

fn client_leaf(dir: &Path, ca: &CertifiedIssuer<'static, KeyPair>) -> Leaf {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("client params");
    params
        .distinguished_name
        .push(DnType::CommonName, "smtpx test client");
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    set_validity(&mut params, -1, 365);
    write_leaf(dir, "client", &params, Some(ca))
}

/// Signs `params` with a fresh key and writes `<stem>.crt.pem` / `<stem>.key.pem`.
fn write_leaf(
    dir: &Path,
    stem: &str,
    params: &CertificateParams,
    issuer: Option<&CertifiedIssuer<'static, KeyPair>>,
) -> Leaf {
    let key = KeyPair::generate().expect("leaf key");
    let (chain_pem, chain) = match issuer {
        Some(ca) => {
            let cert = params.signed_by(&key, &**ca).expect("sign leaf");
            let pem = format!("{}{}", cert.pem(), ca.pem());
            (pem, vec![cert.der().clone(), ca.der().clone()])
        }
        None => {
            let cert = params.self_signed(&key).expect("self-sign leaf");
            (cert.pem(), vec![cert.der().clone()])
        }
    };
    let cert_path = dir.join(format!("{stem}.crt.pem"));
    let key_path = dir.join(format!("{stem}.key.pem"));
    fs::write(&cert_path, chain_pem).expect("write certificate PEM");
    fs::write(&key_path, key.serialize_pem()).expect("write key PEM");
    Leaf {
        chain,
        key: PrivatePkcs8KeyDer::from(key.serialize_der()),
        cert_path,
        key_path,
    }
}

/// Sets notBefore/notAfter to whole days relative to now. x509-parser
/// (already a dependency) builds the `time` value rcgen wants, so the test
/// PKI needs no `time` crate of its own.
fn set_validity(params: &mut CertificateParams, from_days: i64, to_days: i64) {
    params.not_before = days_from_now(from_days).to_datetime();
    params.not_after = days_from_now(to_days).to_datetime();
}

fn days_from_now(days: i64) -> x509_parser::time::ASN1Time {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64;
    x509_parser::time::ASN1Time::from_timestamp(now + days * 86_400).expect("valid timestamp")
}
