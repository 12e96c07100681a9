//! A real DNS server on loopback for MX tests: dnsmasq (Debian `dnsmasq-base`) in the
//! foreground, serving a zone given as data, plus tiny UDP responders for the failure
//! cases dnsmasq cannot produce by itself.
//!
//! ```ignore
//! let Some(dns) = DnsServer::standard() else { return }; // skipped without dnsmasq
//! let cfg = DnsConfig { server: Some(dns.addr()), ..DnsConfig::default() };
//! ```

use std::collections::BTreeMap;
use std::io::Read;
use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub const DNSMASQ: &str = "/usr/sbin/dnsmasq";

/// The name the readiness probe asks for; `--local=/test/` answers it NXDOMAIN.
const PROBE_NAME: &str = "fixture-ready.test";

/// One record (or behaviour) for a name in the zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordSpec {
    /// `MX preference exchange` (`--mx-host`).
    Mx(u16, &'static str),
    /// RFC 7505 `MX 0 .` (`--dns-rr=NAME,15,000000`: preference 0, root name).
    NullMx,
    /// An A or AAAA record from an IP literal (`--host-record`, which also adds PTR).
    Addr(&'static str),
    /// A TXT record: makes the name exist without MX or addresses.
    Txt(&'static str),
    /// The name and everything under it answer SERVFAIL.
    ServFail,
    /// The name and everything under it answer REFUSED.
    Refused,
    /// Queries for the name and everything under it are never answered.
    NoAnswer,
}

/// Which upstream a forwarded domain goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Upstream {
    ServFail,
    Refused,
    Silent,
}

pub struct DnsServer {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<String>>,
    upstreams: Vec<UpstreamServer>,
}

impl DnsServer {
    /// Starts dnsmasq serving `zone`. Names under `.test` that the zone does not
    /// mention are NXDOMAIN. Returns `None` (after saying so) when dnsmasq is not
    /// installed, unless `CI` is set: there a missing peer is a failure.
    pub fn start(zone: &[(&str, RecordSpec)]) -> Option<Self> {
        Self::start_with_ttl(zone, 300)
    }

    /// Like [`DnsServer::start`], every answer with this TTL (seconds).
    pub fn start_with_ttl(zone: &[(&str, RecordSpec)], ttl: u32) -> Option<Self> {
        if !Path::new(DNSMASQ).exists() {
            if std::env::var_os("CI").is_some() {
                panic!("{DNSMASQ} is missing: install the Debian package dnsmasq-base");
            }
            eprintln!("skipped: dnsmasq not installed");
            return None;
        }
        let wanted: Vec<Upstream> = {
            let mut kinds: Vec<Upstream> = zone
                .iter()
                .filter_map(|(_, spec)| match spec {
                    RecordSpec::ServFail => Some(Upstream::ServFail),
                    RecordSpec::Refused => Some(Upstream::Refused),
                    RecordSpec::NoAnswer => Some(Upstream::Silent),
                    _ => None,
                })
                .collect();
            kinds.sort();
            kinds.dedup();
            kinds
        };
        let upstreams: Vec<UpstreamServer> =
            wanted.into_iter().map(UpstreamServer::start).collect();
        let zone_args = zone_args(zone, &upstreams);

        let mut last_log = String::new();
        for _ in 0..8 {
            let port = free_port();
            let mut args = vec![
                "--keep-in-foreground".to_string(),
                "--conf-file=/dev/null".to_string(),
                "--no-resolv".to_string(),
                "--no-hosts".to_string(),
                "--pid-file=".to_string(),
                "--listen-address=127.0.0.1".to_string(),
                "--bind-interfaces".to_string(),
                format!("--port={port}"),
                "--log-facility=-".to_string(),
                "--log-queries".to_string(),
                // Non-zero TTLs so tests can see them carried through.
                format!("--local-ttl={ttl}"),
                // Anything under .test (and reverse names) not configured: NXDOMAIN.
                "--local=/test/".to_string(),
                "--local=/in-addr.arpa/".to_string(),
                "--local=/ip6.arpa/".to_string(),
            ];
            args.extend(zone_args.iter().cloned());
            let mut child = Command::new(DNSMASQ)
                .args(&args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {DNSMASQ}: {e}"));
            let log = Arc::new(Mutex::new(String::new()));
            drain(
                child.stderr.take().expect("stderr is piped"),
                Arc::clone(&log),
            );
            let addr = SocketAddr::from(([127, 0, 0, 1], port));

            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    // Most likely someone took the port between our probe and
                    // dnsmasq's bind: try another.
                    std::thread::sleep(Duration::from_millis(50));
                    last_log = log.lock().unwrap().clone();
                    break;
                }
                if probe(addr) {
                    return Some(DnsServer {
                        child,
                        addr,
                        log,
                        upstreams,
                    });
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "dnsmasq on {addr} did not answer within 10s; its log:\n{}",
                        log.lock().unwrap()
                    );
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("dnsmasq did not start after 8 tries; its last log:\n{last_log}");
    }

    /// The canned zone the MX tests use; see the table in the body.
    pub fn standard() -> Option<Self> {
        use RecordSpec::*;
        Self::start(&[
            // Two MX hosts; one has both A and AAAA.
            ("two.test", Mx(10, "mx1.two.test")),
            ("two.test", Mx(20, "mx2.two.test")),
            ("mx1.two.test", Addr("127.0.0.1")),
            ("mx1.two.test", Addr("::1")),
            ("mx2.two.test", Addr("127.0.0.1")),
            // Equal preferences.
            ("tie.test", Mx(10, "a.tie.test")),
            ("tie.test", Mx(10, "b.tie.test")),
            ("a.tie.test", Addr("127.0.0.1")),
            ("b.tie.test", Addr("127.0.0.1")),
            // RFC 7505 null MX, alone and next to a real MX.
            ("nullmx.test", NullMx),
            ("nullmixed.test", NullMx),
            ("nullmixed.test", Mx(10, "mx.nullmixed.test")),
            ("mx.nullmixed.test", Addr("127.0.0.1")),
            // No MX, addresses of both families: implicit MX.
            ("amx.test", Addr("127.0.0.1")),
            ("amx.test", Addr("::1")),
            // No MX, IPv6 only.
            ("v6only.test", Addr("::1")),
            // Exists (a TXT record) with no MX and no address.
            ("nomail.test", Txt("v=spf1 -all")),
            // MX to a name that does not exist.
            ("dangling.test", Mx(10, "nowhere.dangling.test")),
            // A dangling MX beside a good one.
            ("mixed.test", Mx(10, "gone.mixed.test")),
            ("mixed.test", Mx(20, "good.mixed.test")),
            ("good.mixed.test", Addr("127.0.0.1")),
            // An MX whose host lookup fails temporarily.
            ("flaky.test", Mx(10, "mx.servfail.test")),
            // Temporary failures.
            ("servfail.test", ServFail),
            ("refused.test", Refused),
            ("timeout.test", NoAnswer),
            // A PTR outside loopback (hickory answers 127.0.0.0/8 and ::1 itself,
            // RFC 6761 §6.3).
            ("ptr.test", Addr("192.0.2.10")),
            // nx.test and anything else under .test: NXDOMAIN.
        ])
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What dnsmasq logged so far (queries included), for failure messages.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        // Only the process this fixture started.
        let _ = self.child.kill();
        let _ = self.child.wait();
        for upstream in &mut self.upstreams {
            upstream.stop();
        }
    }
}

/// dnsmasq flags for a zone. Addresses of one name go in one `--host-record`.
fn zone_args(zone: &[(&str, RecordSpec)], upstreams: &[UpstreamServer]) -> Vec<String> {
    let mut args = Vec::new();
    let mut addrs: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut order: Vec<&str> = Vec::new();
    let upstream_port = |kind: Upstream| {
        upstreams
            .iter()
            .find(|u| u.kind == kind)
            .map(|u| u.port)
            .expect("upstream started for every failure kind in the zone")
    };
    for (name, spec) in zone {
        match spec {
            RecordSpec::Mx(preference, exchange) => {
                args.push(format!("--mx-host={name},{exchange},{preference}"));
            }
            RecordSpec::NullMx => args.push(format!("--dns-rr={name},15,000000")),
            RecordSpec::Addr(ip) => {
                ip.parse::<IpAddr>()
                    .unwrap_or_else(|_| panic!("{ip:?} is not an IP address"));
                if !addrs.contains_key(name) {
                    order.push(name);
                }
                addrs.entry(name).or_default().push(ip);
            }
            RecordSpec::Txt(text) => args.push(format!("--txt-record={name},{text}")),
            RecordSpec::ServFail => args.push(format!(
                "--server=/{name}/127.0.0.1#{}",
                upstream_port(Upstream::ServFail)
            )),
            RecordSpec::Refused => args.push(format!(
                "--server=/{name}/127.0.0.1#{}",
                upstream_port(Upstream::Refused)
            )),
            RecordSpec::NoAnswer => args.push(format!(
                "--server=/{name}/127.0.0.1#{}",
                upstream_port(Upstream::Silent)
            )),
        }
    }
    // In zone order, so the first name listed for an address owns its PTR.
    for name in order {
        args.push(format!("--host-record={name},{}", addrs[name].join(",")));
    }
    args
}

/// A port free on 127.0.0.1 for both UDP and TCP right now. dnsmasq binds both, and
/// another process may still grab it before dnsmasq does: the caller retries.
fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind UDP on loopback");
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn drain(mut stderr: impl Read + Send + 'static, log: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            match stderr.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => log
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n])),
            }
        }
    });
}

/// Sends one A query; true once any well-formed reply with our ID comes back.
fn probe(server: SocketAddr) -> bool {
    let Ok(socket) = UdpSocket::bind("127.0.0.1:0") else {
        return false;
    };
    let _ = socket.set_read_timeout(Some(Duration::from_millis(200)));
    let id: u16 = 0x5eed;
    let mut query = Vec::new();
    query.extend_from_slice(&id.to_be_bytes());
    query.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in PROBE_NAME.split('.') {
        query.push(label.len() as u8);
        query.extend_from_slice(label.as_bytes());
    }
    query.extend_from_slice(&[0, 0, 1, 0, 1]);
    if socket.send_to(&query, server).is_err() {
        return false;
    }
    let mut buf = [0u8; 512];
    matches!(socket.recv_from(&mut buf), Ok((n, _)) if n >= 12 && buf[..2] == id.to_be_bytes())
}

/// A UDP "server" dnsmasq forwards failure domains to: it answers every query with
/// SERVFAIL or REFUSED, or (Silent) holds the port and never answers, so the
/// client's timeout is what ends the query.
struct UpstreamServer {
    kind: Upstream,
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    // Keeps a silent port bound so no ICMP "port unreachable" shortcuts the wait.
    _silent: Option<UdpSocket>,
}

impl UpstreamServer {
    fn start(kind: Upstream) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind UDP on loopback");
        let port = socket.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let rcode = match kind {
            Upstream::ServFail => 2,
            Upstream::Refused => 5,
            Upstream::Silent => {
                return Self {
                    kind,
                    port,
                    stop,
                    thread: None,
                    _silent: Some(socket),
                };
            }
        };
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !flag.load(Ordering::Relaxed) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                if let Some(reply) = error_reply(&buf[..n], rcode) {
                    let _ = socket.send_to(&reply, from);
                }
            }
        });
        Self {
            kind,
            port,
            stop,
            thread: Some(thread),
            _silent: None,
        }
    }

    fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A reply to `query` carrying only its question and `rcode` (RFC 1035 §4.1.1).
fn error_reply(query: &[u8], rcode: u8) -> Option<Vec<u8>> {
    if query.len() < 12 {
        return None;
    }
    let qdcount = u16::from_be_bytes([query[4], query[5]]);
    // Walk the question's name (no compression in a query) plus type and class.
    let mut end = 12;
    if qdcount > 0 {
        loop {
            let len = *query.get(end)? as usize;
            end += 1;
            if len == 0 {
                break;
            }
            end += len;
        }
        end += 4;
        if end > query.len() {
            return None;
        }
    }
    let mut reply = query[..end].to_vec();
    reply[2] = 0x80 | (query[2] & 0x79); // QR, keep opcode and RD
    reply[3] = 0x80 | rcode; // RA
    reply[4..6].copy_from_slice(&u16::from(qdcount > 0).to_be_bytes());
    reply[6..12].fill(0);
    Some(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_reply_keeps_id_and_question() {
        let query = [
            0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1, // header, one OPT in additional
            1, b'a', 4, b't', b'e', b's', b't', 0, 0, 15, 0, 1, // a.test MX IN
            0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0, // OPT
        ];
        let reply = error_reply(&query, 2).unwrap();
        assert_eq!(&reply[..2], &[0xab, 0xcd]);
        assert_eq!(reply[2], 0x81);
        assert_eq!(reply[3], 0x82);
        assert_eq!(&reply[4..12], &[0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(reply.len(), 24);
    }
}
