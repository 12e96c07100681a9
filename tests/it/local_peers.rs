//! Real SMTP servers on loopback for the diagnosis tests: Postfix's `smtp-sink`, a
//! private Postfix instance (VRFY on, a SIZE limit, STARTTLS, relaying refused) and a
//! small inline aiosmtpd server (a SIZE limit, a VRFY policy, a RCPT policy that
//! refuses relaying, optional STARTTLS). Each runs on a free port; only what was
//! started here is stopped, on drop.
//!
//! Missing software skips the test (with a note), except under `CI`, where it fails.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SMTP_SINK: &str = "/usr/sbin/smtp-sink";
/// Only the system interpreter has python3-aiosmtpd.
pub const PYTHON: &str = "/usr/bin/python3";
pub const POSTFIX: &str = "/usr/sbin/postfix";

/// The aiosmtpd server: `python3 -c AIOSMTPD LIMIT [CERT KEY]` prints its port, then
/// serves. VRFY: bob and postmaster 250, maybe* 252, anyone else 550. RCPT: @aio.test
/// accepted, anything else refused as relaying (554).
const AIOSMTPD: &str = r#"
import asyncio, ssl, sys
from aiosmtpd.smtp import SMTP

limit = int(sys.argv[1])
cert, key = (sys.argv[2], sys.argv[3]) if len(sys.argv) > 3 else (None, None)

class Policy:
    async def handle_VRFY(self, server, session, envelope, address):
        user = address.split('@')[0].lower()
        if user in ('bob', 'postmaster'):
            return '250 2.1.5 Bob Example <%s@aio.test>' % user
        if user.startswith('maybe'):
            return '252 2.1.5 Cannot VRFY user, but will accept message and attempt delivery'
        return '550 5.1.1 <%s>: Recipient address rejected: User unknown' % address

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().endswith('@aio.test'):
            envelope.rcpt_tos.append(address)
            return '250 2.1.5 OK'
        return '554 5.7.1 <%s>: Relay access denied' % address

def factory():
    ctx = None
    if cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
    return SMTP(Policy(), hostname='aio.test', data_size_limit=limit, tls_context=ctx)

async def main():
    server = await asyncio.get_running_loop().create_server(factory, '127.0.0.1', 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()

asyncio.run(main())
"#;

/// A running peer; killed (only this PID) when dropped.
pub struct Peer {
    child: Child,
    port: u16,
}

impl Peer {
    pub fn server_arg(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn missing<T>(what: &str) -> Option<T> {
    if std::env::var_os("CI").is_some() {
        panic!("{what} is missing");
    }
    eprintln!("skipped: {what} is missing");
    None
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn wait_until_listening(child: &mut Child, port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// `smtp-sink` with `extra` flags. It cannot bind port 0, so a free port is picked and
/// another is tried if someone takes it first.
pub fn smtp_sink(extra: &[&str]) -> Option<Peer> {
    if !Path::new(SMTP_SINK).exists() {
        return missing(SMTP_SINK);
    }
    for _ in 0..5 {
        let port = free_port();
        let mut cmd = Command::new(SMTP_SINK);
        if running_as_root() {
            // smtp-sink refuses to keep root privileges.
            cmd.args(["-u", "nobody"]);
        }
        cmd.args(extra)
            .arg(format!("127.0.0.1:{port}"))
            .arg("10")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("run smtp-sink");
        if wait_until_listening(&mut child, port) {
            return Some(Peer { child, port });
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("smtp-sink did not start after 5 tries");
}

/// The inline aiosmtpd server with a SIZE limit, and STARTTLS when given a PEM
/// certificate chain and key.
pub fn aiosmtpd(size_limit: u64, tls: Option<(&Path, &Path)>) -> Option<Peer> {
    let have = Command::new(PYTHON)
        .args(["-c", "import aiosmtpd"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        return missing("python3-aiosmtpd (for /usr/bin/python3)");
    }
    let mut cmd = Command::new(PYTHON);
    cmd.args(["-c", AIOSMTPD, &size_limit.to_string()]);
    if let Some((cert, key)) = tls {
        cmd.arg(cert).arg(key);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run python3");
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let port = rx
        .recv_timeout(Duration::from_secs(15))
        .ok()
        .and_then(|l| l.trim().parse::<u16>().ok());
    match port {
        Some(port) => Some(Peer { child, port }),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("aiosmtpd did not report its port");
        }
    }
}

/// A private Postfix instance with its own configuration, queue and log in a
/// temporary directory; `postfix -c DIR stop` on drop stops only its master.
pub struct Postfix {
    dir: tempfile::TempDir,
    port: u16,
}

impl Postfix {
    pub fn server_arg(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn conf(&self) -> std::path::PathBuf {
        self.dir.path().join("conf")
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = Command::new(POSTFIX)
            .arg("-c")
            .arg(self.conf())
            .arg("stop")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Postfix on 127.0.0.1 as `pf.test`: VRFY enabled (`disable_vrfy_command = no`),
/// `message_size_limit = 5000000`, loopback outside `mynetworks` so relaying is
/// refused, STARTTLS when given a PEM certificate and key. Needs root.
pub fn postfix(tls: Option<(&Path, &Path)>) -> Option<Postfix> {
    use std::os::unix::fs::PermissionsExt;
    if !Path::new(POSTFIX).exists() {
        return missing(POSTFIX);
    }
    if !running_as_root() {
        return missing("root (a private Postfix instance starts as root)");
    }
    for _ in 0..3 {
        let dir = tempfile::tempdir().expect("temp dir for Postfix");
        // The postfix user must reach its data directory inside.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let root = dir.path().display().to_string();
        for sub in ["conf", "queue", "data"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        let chown = Command::new("chown")
            .arg("postfix")
            .arg(dir.path().join("data"))
            .status();
        assert!(chown.is_ok_and(|s| s.success()), "chown postfix");
        let port = free_port();
        let mut main = format!(
            "compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = pf.test
mydomain = pf.test
myorigin = pf.test
mydestination = pf.test
mynetworks = 192.0.2.0/24
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
disable_vrfy_command = no
message_size_limit = 5000000
alias_maps =
alias_database =
maillog_file = {root}/maillog
maillog_file_prefixes = {root}
smtpd_banner = $myhostname ESMTP
"
        );
        if let Some((cert, key)) = tls {
            main.push_str(&format!(
                "smtpd_tls_security_level = may\nsmtpd_tls_cert_file = {}\nsmtpd_tls_key_file = {}\n",
                cert.display(),
                key.display()
            ));
        }
        let master = format!(
            "127.0.0.1:{port} inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
tlsmgr unix - - n 1000? 1 tlsmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
local unix - n n - - local
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
"
        );
        std::fs::write(dir.path().join("conf/main.cf"), main).unwrap();
        std::fs::write(dir.path().join("conf/master.cf"), master).unwrap();
        let instance = Postfix { dir, port };
        let started = Command::new(POSTFIX)
            .arg("-c")
            .arg(instance.conf())
            .arg("start")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(10);
        while started && Instant::now() < deadline {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Some(instance);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let log = std::fs::read_to_string(instance.dir.path().join("maillog")).unwrap_or_default();
        eprintln!("Postfix did not start on {addr}; its log:\n{log}");
    }
    panic!("a private Postfix instance did not start after 3 tries");
}
