//! A real authoritative DNS server with DNSSEC: a private BIND 9 `named -g` on a free
//! loopback port, serving zones signed at test time with `dnssec-keygen` and
//! `dnssec-signzone` (ECDSA P-256: fast to make and to check).
//!
//! The tree: a signed parent `test.` whose key is the private trust anchor (written
//! as DNSKEY and as DS files), and children delegated from it, each one of:
//! - [`Signing::Signed`]: signed, its DS in `test.` — answers are secure;
//! - [`Signing::Unsigned`]: delegated without a DS, which the signed parent proves
//!   (NSEC) — answers are provably insecure;
//! - [`Signing::Bogus`]: signed with one key while the DS in `test.` names another —
//!   answers are bogus;
//! - [`Signing::Tampered`]: signed and delegated securely, then the SPF TXT record
//!   is changed after signing — that answer is bogus, the others secure.
//!
//! ```ignore
//! let Some(bind) = Bind::start(&Zone::standard()) else { return }; // skipped without named
//! let cfg = DnsConfig { server: Some(bind.addr()), trust_anchor: Some(bind.anchor()), ..DnsConfig::default() };
//! ```
//!
//! A zone's records are a parameter ([`Zone::with`]), so other tests can add what
//! they need. Like the peers in [`super::peers`], the server stops and its directory
//! is removed on `Drop`, or by an orphan guard if the test process dies.

use std::fs;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::peers::{
    OrphanGuard, PORT_ATTEMPTS, START_TIMEOUT, free_port, pid_listens_on, read_lossy, require,
    send_sigterm, wait_timeout,
};

pub const NAMED: &str = "/usr/sbin/named";
const POLL: Duration = Duration::from_millis(20);

/// The TLSA certificate data the standard zones publish, by owner: one distinct
/// byte repeated, so a test can tell which name the records came from.
pub const TLSA_AT_MX: u8 = 0x11;
pub const TLSA_AT_ALIAS: u8 = 0x22;
pub const TLSA_AT_ALIAS2: u8 = 0x33;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signing {
    Signed,
    Unsigned,
    Bogus,
    Tampered,
}

/// The SPF record of the standard zones, and what [`Signing::Tampered`] makes of it.
pub const SPF: &str = "v=spf1 ip4:127.0.0.1 -all";
pub const SPF_TAMPERED: &str = "v=spf1 ip4:127.0.0.2 -all";

/// One child zone of `test.`.
#[derive(Clone, Debug)]
pub struct Zone {
    /// Without the trailing dot, e.g. `secure.test`.
    pub name: String,
    pub signing: Signing,
    /// Zone-file lines relative to the zone's origin (`$TTL 300` applies); the SOA
    /// and NS records are added.
    pub records: String,
}

impl Zone {
    /// A zone with the standard records: an MX host `mx` with an address and TLSA,
    /// SPF, DMARC, MTA-STS and TLS-RPT TXT records, and CNAMEs for the RFC 7672
    /// §2.2.2 lookups (`alias` → `mx`, both with TLSA; `alias2` → `mx2`, TLSA only at
    /// `alias2`).
    pub fn new(name: &str, signing: Signing) -> Zone {
        let records = format!(
            "@ MX 10 mx\n\
             mx A 127.0.0.1\n\
             mx2 A 127.0.0.1\n\
             alias CNAME mx\n\
             alias2 CNAME mx2\n\
             _25._tcp.mx TLSA 3 1 1 {mx}\n\
             _25._tcp.alias TLSA 3 1 1 {alias}\n\
             _25._tcp.alias2 TLSA 3 1 1 {alias2}\n\
             @ TXT \"{SPF}\"\n\
             _dmarc TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@{name}\"\n\
             _mta-sts TXT \"v=STSv1; id=20260101\"\n\
             _smtp._tls TXT \"v=TLSRPTv1; rua=mailto:tls@{name}\"\n",
            mx = tlsa_hex(TLSA_AT_MX),
            alias = tlsa_hex(TLSA_AT_ALIAS),
            alias2 = tlsa_hex(TLSA_AT_ALIAS2),
        );
        Zone {
            name: name.to_string(),
            signing,
            records,
        }
    }

    /// Adds zone-file lines.
    pub fn with(mut self, lines: &str) -> Zone {
        self.records.push_str(lines);
        self.records.push('\n');
        self
    }

    /// `secure.test`, `insecure.test` and `bogus.test` with the standard records.
    pub fn standard() -> Vec<Zone> {
        vec![
            Zone::new("secure.test", Signing::Signed),
            Zone::new("insecure.test", Signing::Unsigned),
            Zone::new("bogus.test", Signing::Bogus),
        ]
    }
}

/// 32 bytes of `byte`, in hex: a SHA-256-sized TLSA association.
pub fn tlsa_hex(byte: u8) -> String {
    format!("{byte:02x}").repeat(32)
}

/// A running private `named`; stopped on `Drop`.
pub struct Bind {
    child: Child,
    addr: SocketAddr,
    dir: TempDir,
    guard: Option<OrphanGuard>,
}

impl Bind {
    /// Signs the zones and starts `named` on a free port. `None` if BIND is not
    /// installed and the test should skip; a broken start panics with the log.
    pub fn start(zones: &[Zone]) -> Option<Bind> {
        if !require("named") {
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("smtpx-bind-")
            .tempdir()
            .expect("create the BIND temp dir");
        let conf = write_zones(dir.path(), zones);
        let log_path = dir.path().join("named.log");
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let mut last_log = String::new();
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port(ip);
            fs::write(
                dir.path().join("named.conf"),
                named_conf(dir.path(), port, &conf),
            )
            .expect("write named.conf");
            let log = fs::File::create(&log_path).expect("create the named log");
            let mut child = Command::new(NAMED)
                .arg("-c")
                .arg(dir.path().join("named.conf"))
                .args(["-g", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("dup the log fd"))
                .stderr(log)
                .spawn()
                .expect("spawn named");
            let deadline = Instant::now() + START_TIMEOUT;
            loop {
                let text = read_lossy(&log_path);
                // Not just "running": named prints "running on Linux ..." at start,
                // before its zones are loaded (queries meanwhile get SERVFAIL).
                if text.contains("all zones loaded") && pid_listens_on(child.id(), port) {
                    let guard = OrphanGuard::new(
                        &format!(
                            r#"kill -TERM {} 2>/dev/null; sleep 1; rm -rf "$1""#,
                            child.id()
                        ),
                        dir.path().to_str().expect("utf-8 temp path"),
                    );
                    return Some(Bind {
                        child,
                        addr: SocketAddr::new(ip, port),
                        dir,
                        guard: Some(guard),
                    });
                }
                let exited = child.try_wait().ok().flatten().is_some();
                let in_use = text.contains("address in use");
                if exited || in_use || Instant::now() >= deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    last_log = read_lossy(&log_path);
                    if in_use {
                        break;
                    }
                    panic!("named did not start:\n{last_log}");
                }
                thread::sleep(POLL);
            }
        }
        panic!("named found no free port in {PORT_ATTEMPTS} attempts:\n{last_log}");
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The `--dns-server` argument.
    pub fn server_arg(&self) -> String {
        self.addr.to_string()
    }

    /// `test.`'s key-signing DNSKEY record (not its ZSK), in the file
    /// `dnssec-keygen` wrote.
    pub fn anchor_dnskey_file(&self) -> PathBuf {
        self.dir.path().join("anchor.dnskey")
    }

    /// `test.`'s DS record for its KSK, as `dnssec-dsfromkey` wrote it.
    pub fn anchor_ds_file(&self) -> PathBuf {
        self.dir.path().join("anchor.ds")
    }

    /// The DNSKEY trust anchor, parsed.
    pub fn anchor(&self) -> smtpx::dns::TrustAnchor {
        smtpx::dns::load_trust_anchor(&self.anchor_dnskey_file()).expect("parse the anchor")
    }

    /// The server's log so far, for assertion messages.
    pub fn log(&self) -> String {
        read_lossy(&self.dir.path().join("named.log"))
    }
}

impl Drop for Bind {
    fn drop(&mut self) {
        // The guard goes first so it cannot signal a recycled pid.
        drop(self.guard.take());
        send_sigterm(self.child.id());
        if wait_timeout(&mut self.child, Duration::from_secs(10)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Writes and signs every zone; returns the `zone` clauses for named.conf.
fn write_zones(dir: &Path, zones: &[Zone]) -> String {
    let mut clauses = String::new();
    let mut parent_records = String::from("ns A 127.0.0.1\n");
    for zone in zones {
        let origin = format!("{}.", zone.name);
        let label = zone
            .name
            .strip_suffix(".test")
            .unwrap_or_else(|| panic!("{} is not a child of test.", zone.name));
        parent_records.push_str(&format!("{label} NS ns.test.\n"));
        let text = zone_text(&origin, &zone.records);
        let file = match zone.signing {
            Signing::Unsigned => {
                let file = dir.join(format!("{}.zone", zone.name));
                fs::write(&file, text).expect("write the zone");
                file
            }
            Signing::Signed => {
                let key = keygen(dir, &origin);
                parent_records.push_str(&ds_of(dir, &key));
                sign(dir, &origin, &text, &key)
            }
            Signing::Tampered => {
                let key = keygen(dir, &origin);
                parent_records.push_str(&ds_of(dir, &key));
                let file = sign(dir, &origin, &text, &key);
                let signed = fs::read_to_string(&file).expect("read the signed zone");
                assert!(signed.contains(SPF), "no SPF record to tamper with");
                fs::write(&file, signed.replace(SPF, SPF_TAMPERED)).expect("tamper");
                file
            }
            Signing::Bogus => {
                // Signed with one key; the parent's DS names another.
                let used = keygen(dir, &origin);
                let named_in_ds = keygen(dir, &origin);
                parent_records.push_str(&ds_of(dir, &named_in_ds));
                sign(dir, &origin, &text, &used)
            }
        };
        clauses.push_str(&zone_clause(&origin, &file));
    }
    // The parent has a KSK and a ZSK, as real zones do: the trust anchor names the
    // KSK only, and the ZSK is trusted because the KSK signs the DNSKEY RRset.
    let parent = "test.";
    let key = keygen(dir, parent);
    let zsk = keygen_with(dir, parent, false);
    let file = sign_with(
        dir,
        parent,
        &zone_text(parent, &parent_records),
        &[&key, &zsk],
    );
    clauses.push_str(&zone_clause(parent, &file));
    fs::copy(dir.join(format!("{key}.key")), dir.join("anchor.dnskey"))
        .expect("copy the anchor key");
    fs::write(dir.join("anchor.ds"), ds_of(dir, &key)).expect("write the anchor DS");
    clauses
}

fn zone_text(origin: &str, records: &str) -> String {
    format!(
        "$ORIGIN {origin}\n$TTL 300\n\
         @ SOA ns.test. hostmaster.test. 1 3600 600 86400 300\n\
         @ NS ns.test.\n\
         {records}\n"
    )
}

fn zone_clause(origin: &str, file: &Path) -> String {
    format!(
        "zone \"{origin}\" {{ type primary; file \"{}\"; }};\n",
        file.display()
    )
}

fn named_conf(dir: &Path, port: u16, zones: &str) -> String {
    format!(
        "options {{\n\
         \tdirectory \"{dir}\";\n\
         \tpid-file none;\n\
         \tsession-keyfile none;\n\
         \tlisten-on port {port} {{ 127.0.0.1; }};\n\
         \tlisten-on-v6 {{ none; }};\n\
         \trecursion no;\n\
         \tdnssec-validation no;\n\
         \tnotify no;\n\
         }};\n\
         controls {{ }};\n\
         {zones}",
        dir = dir.display()
    )
}

/// A key-signing key, used alone for the child zones (`-z` when signing). Returns
/// the key's base name (`Kzone.+013+NNNNN`).
fn keygen(dir: &Path, origin: &str) -> String {
    keygen_with(dir, origin, true)
}

fn keygen_with(dir: &Path, origin: &str, ksk: bool) -> String {
    let mut args = vec![
        "-q",
        "-K",
        ".",
        "-a",
        "ECDSAP256SHA256",
        "-L",
        "300",
        "-n",
        "ZONE",
    ];
    if ksk {
        args.extend(["-f", "KSK"]);
    }
    args.push(origin);
    run(dir, "dnssec-keygen", &args).trim().to_string()
}

fn ds_of(dir: &Path, key: &str) -> String {
    run(dir, "dnssec-dsfromkey", &["-2", &format!("{key}.key")])
}

fn sign(dir: &Path, origin: &str, text: &str, key: &str) -> PathBuf {
    sign_with(dir, origin, text, &[key])
}

/// One key signs everything (`-z`); a KSK and a ZSK split the work as usual.
fn sign_with(dir: &Path, origin: &str, text: &str, keys: &[&str]) -> PathBuf {
    let unsigned = dir.join(format!("{origin}zone"));
    let signed = dir.join(format!("{origin}zone.signed"));
    let includes: String = keys.iter().map(|k| format!("$INCLUDE {k}.key\n")).collect();
    fs::write(&unsigned, format!("{text}{includes}")).expect("write the zone");
    let mut args = vec!["-q", "-K", "."];
    if keys.len() == 1 {
        args.push("-z");
    }
    args.extend([
        "-o",
        origin,
        "-f",
        signed.to_str().expect("utf-8 path"),
        unsigned.to_str().expect("utf-8 path"),
    ]);
    args.extend(keys);
    run(dir, "dnssec-signzone", &args);
    signed
}

fn run(dir: &Path, program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
