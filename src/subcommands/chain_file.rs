//! `--tls-save-chain FILE`: the certificates each TLS handshake of the run presented,
//! written as PEM, leaf first, whatever the verdict on them (a chain that fails to
//! verify is the one worth looking at).

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use base64::Engine;

use super::plan::io_words;
use crate::session::{Event, EventSink, Timed};

/// Checked before connecting: the file can be created where it is named.
pub fn check_path(path: &Path) -> Result<(), String> {
    let shown = path.display();
    if path.is_dir() {
        return Err(format!("--tls-save-chain {shown}: is a directory"));
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Err(format!(
            "--tls-save-chain {shown}: no such directory {}",
            parent.display()
        ));
    }
    Ok(())
}

/// Passes events on, and writes the chain of each TLS handshake to the file: the first
/// replaces the file, later ones (other MX hosts, a retry) are appended, each after a
/// comment line naming the server. Certificates are public, so the file gets the usual
/// mode (0644 under the common umask).
pub struct SaveChain<S> {
    inner: S,
    path: PathBuf,
    /// The server being connected to, for the comment line.
    server: Option<(String, SocketAddr)>,
    saved: Arc<AtomicBool>,
}

impl<S: EventSink> SaveChain<S> {
    /// `saved` turns true once a chain is in the file.
    pub fn new(inner: S, path: PathBuf, saved: Arc<AtomicBool>) -> SaveChain<S> {
        SaveChain {
            inner,
            path,
            server: None,
            saved,
        }
    }

    fn save(&mut self, chain: &[Vec<u8>]) -> std::io::Result<()> {
        let mut text = String::new();
        if let Some((host, addr)) = &self.server {
            text.push_str(&format!(
                "# {host} ({addr}): {} certificate{} as presented, leaf first\n",
                chain.len(),
                crate::render::plural(chain.len())
            ));
        }
        for der in chain {
            text.push_str(&pem(der));
        }
        let first = !self.saved.load(Ordering::SeqCst);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(first)
            .append(!first)
            .open(&self.path)?;
        file.write_all(text.as_bytes())?;
        self.saved.store(true, Ordering::SeqCst);
        Ok(())
    }
}

impl<S: EventSink> EventSink for SaveChain<S> {
    fn emit(&mut self, timed: Timed) {
        let at = timed.at;
        let failed = match &timed.event {
            Event::Connecting { host, addr, .. } => {
                self.server = Some((host.clone(), *addr));
                None
            }
            Event::TlsEstablished { info } => self.save(&info.der_chain).err(),
            _ => None,
        };
        self.inner.emit(timed);
        if let Some(e) = failed {
            self.inner.emit(Timed {
                at,
                event: Event::Warning {
                    message: format!(
                        "--tls-save-chain {}: the chain could not be written: {}",
                        self.path.display(),
                        io_words(&e)
                    ),
                },
            });
        }
    }
}

/// One certificate as PEM (RFC 7468 §5): base64 in lines of 64.
pub fn pem(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn pem_lines_are_64_wide_and_parse_back() {
        let der: Vec<u8> = (0..=255u8).cycle().take(700).collect();
        let text = pem(&der);
        let body: Vec<&str> = text.lines().collect();
        assert_eq!(body[0], "-----BEGIN CERTIFICATE-----");
        assert_eq!(body[body.len() - 1], "-----END CERTIFICATE-----");
        assert!(body[1..body.len() - 1].iter().all(|l| l.len() <= 64));
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let back: Vec<CertificateDer> = CertificateDer::pem_slice_iter(text.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].as_ref(), der.as_slice());
    }

    #[test]
    fn a_write_failure_is_a_warning_and_events_go_on() {
        let mut seen: Vec<Timed> = Vec::new();
        let saved = Arc::new(AtomicBool::new(false));
        let mut sink = SaveChain::new(
            &mut seen,
            "/nonexistent-dir/chain.pem".into(),
            saved.clone(),
        );
        let at = Duration::ZERO;
        sink.emit(Timed {
            at,
            event: Event::Note {
                message: "x".into(),
            },
        });
        let info = crate::net::tls::TlsInfo {
            protocol: "TLSv1.3".into(),
            cipher: "x".into(),
            key_exchange: None,
            sni: None,
            chain: Vec::new(),
            verification: crate::net::tls::Verification::Verified,
            handshake_ms: 0.0,
            der_chain: vec![vec![1, 2, 3]],
        };
        sink.emit(Timed {
            at,
            event: Event::TlsEstablished {
                info: Box::new(info),
            },
        });
        assert_eq!(seen.len(), 3);
        assert!(
            matches!(&seen[2].event, Event::Warning { message } if message.contains("could not be written"))
        );
        assert!(!saved.load(Ordering::SeqCst));
    }
}
