//! Real SMTP software on loopback: aiosmtpd, Postfix's `smtp-sink`, and a
//! private Postfix instance.
//!
//! Every fixture listens on a port nobody else chose (aiosmtpd binds port 0;
//! the others get a probed free port and are restarted on another one if the
//! port was taken in between), owns a temporary directory, and stops its own
//! processes on `Drop`.
//!
//! A `start` function returns `None` only when the peer is unavailable and
//! [`require`] decided to skip; a peer that is installed but fails to start
//! panics with its log, because that is a broken fixture, not a skip.
//!
//! If the test process dies without unwinding (SIGKILL, abort, a harness
//! timeout), `Drop` never runs. So each fixture also has a guard that
//! notices the test process has gone (a pipe from it closes) and stops the
//! peer and removes its directory, so no daemons are left listening on a
//! shared machine.

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tempfile::TempDir;

/// Debian's python3-aiosmtpd is importable only by the system interpreter;
/// a pyenv or venv `python3` earlier on PATH does not see it.
const SYSTEM_PYTHON: &str = "/usr/bin/python3";
const SMTP_SINK: &str = "/usr/sbin/smtp-sink";
/// A small SOCKS5 server (RFC 1928) with RFC 1929 username/password auth.
const MICROSOCKS: &str = "/usr/bin/microsocks";
const POSTFIX: &str = "/usr/sbin/postfix";
const POSTFIX_MASTER: &str = "/usr/lib/postfix/sbin/master";
const POSTCONF: &str = "/usr/sbin/postconf";
const DOVECOT: &str = "/usr/sbin/dovecot";
const DOVECOT_LMTP: &str = "/usr/lib/dovecot/lmtp";
/// Cyrus SASL's password tool (Debian `sasl2-bin`).
const SASLPASSWD2: &str = "/usr/sbin/saslpasswd2";
/// The private Postfix's `myhostname`; also the Cyrus SASL realm its
/// users are created in (see [`PostfixOptions::sasl`]).
pub const POSTFIX_HOSTNAME: &str = "postfix.example.test";
/// What [`PostfixOptions::sasl`] offers unless
/// [`PostfixOptions::sasl_mechanisms`] says otherwise, advertised in this
/// order: weakest first, so a client that just takes the first offered
/// mechanism is caught.
pub const POSTFIX_SASL_MECHANISMS: [&str; 4] = ["PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256"];
const AIOSMTPD_SERVER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/aiosmtpd_server.py"
);

/// Generous: the machine has two cores shared with other work, and a cold
/// Python import or a first Postfix start can take seconds there.
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a fixture picks a new port after losing a race for one.
pub(crate) const PORT_ATTEMPTS: usize = 5;
pub(crate) const POLL: Duration = Duration::from_millis(20);

// ---------------------------------------------------------------------------
// Availability

/// Whether `peer` can be used here. If not: panics when `CI` is set (CI
/// installs every peer, so a missing one is a broken CI image), otherwise
/// prints "skipped: <peer> not installed" and returns false.
///
/// Known peers: `aiosmtpd`, `smtp-sink`, `smtp-source`, `postfix` (also
/// needs root), `postfix-sasl` (postfix plus Cyrus SASL's saslpasswd2 and
/// the sasldb, PLAIN, LOGIN, CRAM-MD5, DIGEST-MD5 and SCRAM plugins),
/// `swaks`, `swaks-tls` (swaks plus Net::SSLeay), `dnsmasq`, `tmux` (a real terminal),
/// `microsocks` (a SOCKS5 proxy), `dovecot` (Dovecot's master and LMTP server),
/// `named` (BIND 9 with dnssec-keygen, dnssec-signzone and dnssec-dsfromkey),
/// `python3-dkim` (dkimpy, an independent DKIM verifier, with PyNaCl for Ed25519),
/// `openssl` (the command, to make keys as a user would), `exim` (Exim 4 unpacked by
/// `.ci/install-peers`, the Debian-exim account, and root).
pub fn require(peer: &str) -> bool {
    match availability(peer) {
        Ok(()) => true,
        Err(why) => {
            if std::env::var_os("CI").is_some() {
                panic!(
                    "peer `{peer}` is required when CI is set but is unavailable: {why} \
                     (run `bash .ci/install-peers` as root)"
                );
            }
            println!("skipped: {peer} {why}");
            false
        }
    }
}

fn availability(peer: &str) -> Result<(), String> {
    static CACHE: Mutex<Option<HashMap<String, Result<(), String>>>> = Mutex::new(None);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .get_or_insert_with(HashMap::new)
        .entry(peer.to_owned())
        .or_insert_with(|| probe(peer))
        .clone()
}

fn probe(peer: &str) -> Result<(), String> {
    let not_installed = || Err("not installed".to_owned());
    let runs = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    match peer {
        "aiosmtpd" => {
            if runs(SYSTEM_PYTHON, &["-c", "import aiosmtpd.smtp"]) {
                Ok(())
            } else {
                not_installed()
            }
        }
        "openssl" => {
            if runs("openssl", &["version"]) {
                Ok(())
            } else {
                not_installed()
            }
        }
        "python3-dkim" => {
            if runs(SYSTEM_PYTHON, &["-c", "import dkim, nacl"]) {
                Ok(())
            } else {
                not_installed()
            }
        }
        "tmux" => {
            if runs("tmux", &["-V"]) {
                Ok(())
            } else {
                not_installed()
            }
        }
        "smtp-sink" | "smtp-source" => {
            if Path::new("/usr/sbin").join(peer).is_file() {
                Ok(())
            } else {
                not_installed()
            }
        }
        "postfix" => {
            if !Path::new(POSTFIX).is_file() || !Path::new(POSTFIX_MASTER).is_file() {
                not_installed()
            } else if !running_as_root() {
                Err("needs root (a private instance is started with `postfix -c DIR start`)".into())
            } else {
                Ok(())
            }
        }
        "exim" => {
            if !Path::new(super::exim::EXIM).is_file() {
                not_installed()
            } else if account_ids(super::exim::EXIM_USER).is_none() {
                Err(format!("needs the {} account", super::exim::EXIM_USER))
            } else if !running_as_root() {
                Err("needs root (the daemon's directories belong to Debian-exim)".into())
            } else {
                Ok(())
            }
        }
        "postfix-sasl" => {
            // probe, not availability: the cache lock is held here.
            probe("postfix")?;
            let mut missing: Vec<String> = Vec::new();
            if !Path::new(SASLPASSWD2).is_file() {
                missing.push("saslpasswd2 (sasl2-bin)".into());
            }
            for (_, file, package) in SASL_PLUGINS {
                if sasl_plugin_dir(file).is_none() {
                    missing.push(format!("Cyrus SASL plugin {file} ({package})"));
                }
            }
            if !missing.is_empty() {
                return Err(format!("not installed: {}", missing.join(", ")));
            }
            let types = Command::new(POSTCONF)
                .arg("-a")
                .stdin(Stdio::null())
                .stderr(Stdio::null())
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            if !types.lines().any(|l| l.trim() == "cyrus") {
                return Err("not usable: this Postfix was built without Cyrus SASL".into());
            }
            Ok(())
        }
        "swaks" => {
            if runs("swaks", &["--version"]) {
                Ok(())
            } else {
                not_installed()
            }
        }
        "swaks-tls" => {
            if !runs("swaks", &["--version"]) {
                not_installed()
            } else if !runs("perl", &["-MNet::SSLeay", "-e", "1"]) {
                Err("not installed (swaks needs Net::SSLeay for TLS)".into())
            } else {
                Ok(())
            }
        }
        "microsocks" => {
            if Path::new(MICROSOCKS).is_file() {
                Ok(())
            } else {
                not_installed()
            }
        }
        "dovecot" => {
            if Path::new(DOVECOT).is_file() && Path::new(DOVECOT_LMTP).is_file() {
                Ok(())
            } else {
                not_installed()
            }
        }
        "named" => {
            if Path::new(super::bind::NAMED).is_file()
                && Path::new("/usr/bin/dnssec-keygen").is_file()
                && Path::new("/usr/bin/dnssec-signzone").is_file()
                && Path::new("/usr/bin/dnssec-dsfromkey").is_file()
            {
                Ok(())
            } else {
                not_installed()
            }
        }
        "dnsmasq" => {
            if Path::new("/usr/sbin/dnsmasq").is_file() {
                Ok(())
            } else {
                not_installed()
            }
        }
        other => panic!("unknown peer `{other}`"),
    }
}

/// Cyrus SASL plugin files by what they provide (a mechanism name, the
/// `SCRAM-` family sharing one plugin, or the `sasldb` auxprop plugin) and
/// the Debian package that ships them.
const SASL_PLUGINS: [(&str, &str, &str); 6] = [
    ("PLAIN", "libplain.so", "libsasl2-modules"),
    ("LOGIN", "liblogin.so", "libsasl2-modules"),
    ("CRAM-MD5", "libcrammd5.so", "libsasl2-modules"),
    ("DIGEST-MD5", "libdigestmd5.so", "libsasl2-modules"),
    ("SCRAM-", "libscram.so", "libsasl2-modules"),
    ("sasldb", "libsasldb.so", "libsasl2-modules-db"),
];

/// The multiarch plugin directory (`/usr/lib/<triplet>/sasl2`) that holds
/// `file`, without assuming the architecture.
fn sasl_plugin_dir(file: &str) -> Option<PathBuf> {
    fs::read_dir("/usr/lib")
        .ok()?
        .flatten()
        .map(|e| e.path().join("sasl2"))
        .chain([PathBuf::from("/usr/lib/sasl2")])
        .find(|dir| dir.join(file).is_file())
}

/// `/proc/self` is owned by the effective uid; this avoids `unsafe` libc calls.
fn running_as_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

// ---------------------------------------------------------------------------
// Small process helpers

/// A loopback port that was free a moment ago. Another process can take it
/// before the peer binds it, so callers retry with a new one on failure.
pub(crate) fn free_port(ip: IpAddr) -> u16 {
    TcpListener::bind(SocketAddr::new(ip, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral loopback port")
}

/// True once process `pid` itself holds a listening TCP socket on `port`.
/// Connecting to find out would count as an SMTP session (smtp-sink's `-c`
/// counters, `-n` session limits), and a bare LISTEN entry could belong to
/// whoever won a port race, so match the socket inode against the pid's fds.
pub(crate) fn pid_listens_on(pid: u32, port: u16) -> bool {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() < 10 || cols[3] != "0A" {
                continue;
            }
            let local_port = cols[1]
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if local_port == Some(port) {
                inodes.push(format!("socket:[{}]", cols[9]));
            }
        }
    }
    if inodes.is_empty() {
        return false;
    }
    let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        fs::read_link(fd.path())
            .is_ok_and(|target| inodes.iter().any(|i| target.as_os_str() == i.as_str()))
    })
}

pub(crate) fn read_lossy(path: &Path) -> String {
    fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// uid/gid of a local account, for peers that drop root privileges.
pub(crate) fn account_ids(name: &str) -> Option<(u32, u32)> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    for line in passwd.lines() {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.len() > 3 && fields[0] == name {
            return Some((fields[2].parse().ok()?, fields[3].parse().ok()?));
        }
    }
    None
}

/// A directory that unprivileged peer processes (Postfix's `postfix` and
/// `nobody` users, smtp-sink after `-u`) can traverse. `tempfile` creates
/// 0700 directories, and `TMPDIR` may point below an 0700 home, so use
/// /tmp and open the directory up.
pub(crate) fn shared_tempdir(prefix: &str) -> TempDir {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in("/tmp")
        .expect("create a temporary directory in /tmp");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755))
        .expect("chmod 0755 the temporary directory");
    dir
}

/// Stops a peer when the test process goes away without running `Drop`:
/// a `sh` child blocks reading a pipe whose only writer is this process
/// (std opens pipes close-on-exec, so no other child inherits it); when
/// this process dies the pipe closes, `read` returns, and `sh` runs the
/// stop command. On a normal `Drop` the guard is killed first, so it
/// can never act on a pid that has since been reused.
pub(crate) struct OrphanGuard {
    child: Child,
    _stdin: ChildStdin,
}

impl OrphanGuard {
    /// `script` runs with `$1` = `arg`.
    pub(crate) fn new(script: &str, arg: &str) -> OrphanGuard {
        let mut child = Command::new("/bin/sh")
            // Ignore the signals a harness timeout or Ctrl-C sends to the
            // whole process group, so the guard outlives the test process
            // and can clean up after it.
            .args([
                "-c",
                &format!("trap '' HUP INT TERM; read _ignored; {script}"),
                "sh",
                arg,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn /bin/sh for the orphan guard");
        let stdin = child.stdin.take().expect("guard stdin");
        OrphanGuard {
            child,
            _stdin: stdin,
        }
    }
}

impl Drop for OrphanGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn send_sigterm(pid: u32) {
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

pub(crate) fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(POLL);
    }
}

// ---------------------------------------------------------------------------
// aiosmtpd

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum AioTls {
    #[default]
    None,
    Starttls,
    RequireStarttls,
    Implicit,
}

/// How to run `tests/fixtures/aiosmtpd_server.py`. Builder style:
/// `AiosmtpdOptions::new().require_starttls(cert, key).auth("alice", "pw")`.
#[derive(Clone, Debug, Default)]
pub struct AiosmtpdOptions {
    ipv6: bool,
    tls: AioTls,
    cert_key: Option<(PathBuf, PathBuf)>,
    auth: Option<(String, String)>,
    auth_require_tls: bool,
    auth_required: bool,
    size_limit: Option<u64>,
    policy: Option<serde_json::Value>,
    smtputf8: bool,
    pipelining: bool,
    hostname: Option<String>,
    verbose: bool,
}

impl AiosmtpdOptions {
    pub fn new() -> Self {
        Self::default()
    }
    /// Listen on `::1` instead of `127.0.0.1`.
    pub fn ipv6(mut self) -> Self {
        self.ipv6 = true;
        self
    }
    /// Offer STARTTLS with this PEM certificate chain and key.
    pub fn starttls(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.tls = AioTls::Starttls;
        self.cert_key = Some((cert.into(), key.into()));
        self
    }
    /// Offer STARTTLS and answer 530 to anything but EHLO/NOOP/QUIT before it.
    pub fn require_starttls(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.tls = AioTls::RequireStarttls;
        self.cert_key = Some((cert.into(), key.into()));
        self
    }
    /// TLS from the first byte (RFC 8314).
    pub fn implicit_tls(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.tls = AioTls::Implicit;
        self.cert_key = Some((cert.into(), key.into()));
        self
    }
    /// Offer AUTH PLAIN and LOGIN, accepting exactly this user and password.
    pub fn auth(mut self, user: &str, password: &str) -> Self {
        self.auth = Some((user.to_owned(), password.to_owned()));
        self
    }
    /// Advertise and accept AUTH only after STARTTLS (ignored with implicit TLS).
    pub fn auth_require_tls(mut self) -> Self {
        self.auth_require_tls = true;
        self
    }
    /// Answer 530 to MAIL/RCPT/DATA/VRFY/EXPN until AUTH succeeded.
    pub fn auth_required(mut self) -> Self {
        self.auth_required = true;
        self
    }
    /// The DATA size limit, advertised as `SIZE n`.
    pub fn size_limit(mut self, bytes: u64) -> Self {
        self.size_limit = Some(bytes);
        self
    }
    /// Scripted replies, e.g.
    /// `json!({"unknown@example.test": "550 5.1.1 No such user", "*": "250 OK",
    ///         "vrfy": {"bob@example.test": "250 Bob <bob@example.test>"},
    ///         "expn": {"list@example.test": ["250-a@example.test", "250 b@example.test"]},
    ///         "mail": {"bad@example.test": "553 5.7.1 Sender rejected"}})`.
    /// Keys are tried as: exact address, lower-cased, `@domain`, `*`. A value
    /// is one reply line or a list of lines; a 2xx RCPT/MAIL reply accepts.
    pub fn policy(mut self, policy: serde_json::Value) -> Self {
        self.policy = Some(policy);
        self
    }
    /// Advertise SMTPUTF8 and accept `MAIL FROM:<...> SMTPUTF8`.
    pub fn smtputf8(mut self) -> Self {
        self.smtputf8 = true;
        self
    }
    /// Advertise PIPELINING (RFC 2920); aiosmtpd handles pipelined commands
    /// in order but does not say so by itself.
    pub fn pipelining(mut self) -> Self {
        self.pipelining = true;
        self
    }
    /// The name in the banner and EHLO reply (default `aiosmtpd.example.test`).
    pub fn hostname(mut self, name: &str) -> Self {
        self.hostname = Some(name.to_owned());
        self
    }
    /// Log the SMTP conversation to the server log (see [`Aiosmtpd::log`]).
    pub fn verbose(mut self) -> Self {
        self.verbose = true;
        self
    }
}

/// One message as aiosmtpd received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivered {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    /// The DATA content after dot-unstuffing, byte for byte (CRLF endings,
    /// nothing added), ending with the CRLF before the final dot.
    pub content: Vec<u8>,
    /// MAIL parameters, upper-cased by aiosmtpd (`SIZE=123`, `BODY=8BITMIME`).
    pub mail_options: Vec<String>,
    /// RCPT parameters per recipient. aiosmtpd 1.4 answers 555 to any RCPT
    /// parameter (e.g. DSN's NOTIFY=), so these are empty in practice.
    pub rcpt_options: Vec<Vec<String>>,
    pub smtp_utf8: bool,
    /// The transaction ran over TLS (STARTTLS or implicit).
    pub tls: bool,
    pub authenticated: bool,
    /// Commands since the connection (or STARTTLS) up to this message, and
    /// `.` for the end of its content, after which the client had sent more
    /// before the reply came: pipelining, which aiosmtpd does not offer. Only input that had
    /// arrived is seen, so a client that waits for each reply always
    /// leaves this empty.
    pub pipelined: Vec<String>,
}

#[derive(Deserialize)]
struct DeliveredMeta {
    mail_from: String,
    rcpt_tos: Vec<String>,
    mail_options: Vec<String>,
    rcpt_options: Vec<Vec<String>>,
    smtp_utf8: bool,
    tls: bool,
    authenticated: bool,
    pipelined: Vec<String>,
}

/// A running `aiosmtpd_server.py`; killed on `Drop`.
pub struct Aiosmtpd {
    child: Child,
    addr: SocketAddr,
    dir: TempDir,
    guard: Option<OrphanGuard>,
}

impl Aiosmtpd {
    /// Starts the server and waits (bounded) until it prints `READY <port>`.
    /// `None` if aiosmtpd is unavailable and the test should skip.
    pub fn start(opts: AiosmtpdOptions) -> Option<Aiosmtpd> {
        if !require("aiosmtpd") {
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("smtpx-aiosmtpd-")
            .tempdir()
            .expect("create aiosmtpd temp dir");
        let maildir = dir.path().join("mail");
        let ip: IpAddr = if opts.ipv6 {
            Ipv6Addr::LOCALHOST.into()
        } else {
            Ipv4Addr::LOCALHOST.into()
        };

        let mut cmd = Command::new(SYSTEM_PYTHON);
        cmd.arg(AIOSMTPD_SERVER)
            .args(["--host", &ip.to_string(), "--port", "0"])
            .arg("--maildir")
            .arg(&maildir)
            .arg("--exit-on-stdin-eof");
        if let Some(name) = &opts.hostname {
            cmd.args(["--hostname", name]);
        }
        if let Some((cert, key)) = &opts.cert_key {
            cmd.arg("--tls-cert").arg(cert).arg("--tls-key").arg(key);
        }
        match opts.tls {
            AioTls::None => {}
            AioTls::Starttls => {
                cmd.arg("--starttls");
            }
            AioTls::RequireStarttls => {
                cmd.arg("--require-starttls");
            }
            AioTls::Implicit => {
                cmd.arg("--implicit-tls");
            }
        }
        if let Some((user, password)) = &opts.auth {
            let pw_file = dir.path().join("auth-password");
            fs::write(&pw_file, password).expect("write password file");
            cmd.args(["--auth-user", user])
                .arg("--auth-password-file")
                .arg(pw_file);
        }
        if opts.auth_require_tls {
            cmd.arg("--auth-require-tls");
        }
        if opts.auth_required {
            cmd.arg("--auth-required");
        }
        if let Some(n) = opts.size_limit {
            cmd.args(["--size-limit", &n.to_string()]);
        }
        if let Some(policy) = &opts.policy {
            let file = dir.path().join("policy.json");
            fs::write(&file, policy.to_string()).expect("write policy file");
            cmd.arg("--policy").arg(file);
        }
        if opts.smtputf8 {
            cmd.arg("--enable-smtputf8");
        }
        if opts.pipelining {
            cmd.arg("--pipelining");
        }
        if opts.verbose {
            cmd.arg("--verbose");
        }
        let log_path = dir.path().join("server.log");
        let log = fs::File::create(&log_path).expect("create aiosmtpd log");
        // stdin stays open for the server's lifetime: its EOF tells the
        // server the test process is gone (--exit-on-stdin-eof).
        let mut child = cmd
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("spawn /usr/bin/python3 aiosmtpd_server.py");

        let stdout = child.stdout.take().expect("aiosmtpd stdout");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            // Keep draining so a late write can never block the server.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let line = rx.recv_timeout(START_TIMEOUT).unwrap_or_default();
        let port = line
            .trim()
            .strip_prefix("READY ")
            .and_then(|p| p.parse::<u16>().ok());
        let Some(port) = port else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "aiosmtpd did not report READY within {START_TIMEOUT:?} (stdout: {line:?});\n\
                 server log:\n{}",
                read_lossy(&log_path)
            );
        };
        // The server stops by itself when this process goes away; the guard
        // only removes the directory afterwards.
        let guard = OrphanGuard::new(
            r#"sleep 1; rm -rf "$1""#,
            dir.path().to_str().expect("utf-8 temp path"),
        );
        Some(Aiosmtpd {
            child,
            addr: SocketAddr::new(ip, port),
            dir,
            guard: Some(guard),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The `--server` argument for smtpx: `127.0.0.1:PORT` or `[::1]:PORT`.
    pub fn server_arg(&self) -> String {
        self.addr.to_string()
    }

    /// Where messages are stored (`NNNN.eml` + `NNNN.json`).
    pub fn maildir(&self) -> PathBuf {
        self.dir.path().join("mail")
    }

    /// Messages accepted so far, oldest first. The server stores a message
    /// before it sends the 250 for the final dot, so a client that saw that
    /// reply will find its message here without waiting.
    pub fn messages(&self) -> Vec<Delivered> {
        let maildir = self.maildir();
        let mut names: Vec<String> = fs::read_dir(&maildir)
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| e.file_name().into_string().ok())
                    .filter(|n| n.ends_with(".json"))
                    .collect()
            })
            .unwrap_or_default();
        // Numeric order: NNNN is zero-padded to four digits but may grow.
        names.sort_by_key(|n| {
            n.trim_end_matches(".json")
                .parse::<u64>()
                .unwrap_or(u64::MAX)
        });
        names
            .iter()
            .map(|name| {
                let stem = name.trim_end_matches(".json");
                let meta: DeliveredMeta = serde_json::from_slice(
                    &fs::read(maildir.join(name)).expect("read message metadata"),
                )
                .expect("parse message metadata");
                let content =
                    fs::read(maildir.join(format!("{stem}.eml"))).expect("read message content");
                Delivered {
                    mail_from: meta.mail_from,
                    rcpt_tos: meta.rcpt_tos,
                    content,
                    mail_options: meta.mail_options,
                    rcpt_options: meta.rcpt_options,
                    smtp_utf8: meta.smtp_utf8,
                    tls: meta.tls,
                    authenticated: meta.authenticated,
                    pipelined: meta.pipelined,
                }
            })
            .collect()
    }

    /// Polls until at least `n` messages are stored or `timeout` passes
    /// (for clients that may give up before reading the last reply).
    pub fn wait_messages(&self, n: usize, timeout: Duration) -> Vec<Delivered> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.messages();
            if got.len() >= n || Instant::now() >= deadline {
                return got;
            }
            thread::sleep(POLL);
        }
    }

    /// The server's stderr (Python tracebacks; the conversation if `verbose`).
    pub fn log(&self) -> String {
        read_lossy(&self.dir.path().join("server.log"))
    }

    /// Sends SIGTERM and waits up to `timeout` for the exit status.
    pub fn terminate(&mut self, timeout: Duration) -> Option<ExitStatus> {
        send_sigterm(self.child.id());
        wait_timeout(&mut self.child, timeout)
    }
}

impl Drop for Aiosmtpd {
    fn drop(&mut self) {
        drop(self.guard.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// smtp-sink

/// Postfix's `smtp-sink` on 127.0.0.1:<free port>; killed on `Drop`.
pub struct SmtpSink {
    child: Child,
    addr: SocketAddr,
    dir: TempDir,
    guard: Option<OrphanGuard>,
}

impl SmtpSink {
    /// Runs `smtp-sink ARGS 127.0.0.1:PORT 256` (fault flags such as
    /// `-r RCPT`, `-f DATA`, `-Q MAIL`, `-w 2`; `-c` counters go to
    /// [`SmtpSink::output`]). Adds `-u nobody` when running as root, which
    /// smtp-sink insists on. `None` if smtp-sink is unavailable.
    pub fn start(args: &[&str]) -> Option<SmtpSink> {
        Self::spawn(args, false)
    }

    /// Like [`SmtpSink::start`], and also dumps each transaction to a file
    /// (`-d`), read back with [`SmtpSink::captured`].
    pub fn start_capturing(args: &[&str]) -> Option<SmtpSink> {
        Self::spawn(args, true)
    }

    fn spawn(args: &[&str], capture: bool) -> Option<SmtpSink> {
        if !require("smtp-sink") {
            return None;
        }
        let dir = shared_tempdir("smtpx-sink-");
        let dump_dir = dir.path().join("dump");
        let root = running_as_root();
        if capture {
            fs::create_dir(&dump_dir).expect("create dump dir");
            // smtp-sink opens dump files after dropping to the -u user.
            if root {
                let (uid, gid) = account_ids("nobody").expect("account `nobody` in /etc/passwd");
                std::os::unix::fs::chown(&dump_dir, Some(uid), Some(gid))
                    .expect("chown dump dir to nobody");
            }
        }
        let log_path = dir.path().join("output.log");
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let mut last_output = String::new();
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port(ip);
            let log = fs::File::create(&log_path).expect("create smtp-sink log");
            let mut cmd = Command::new(SMTP_SINK);
            if root {
                cmd.args(["-u", "nobody"]);
            }
            cmd.args(args);
            if capture {
                // strftime template; smtp-sink appends a random hex suffix.
                cmd.arg("-d").arg(dump_dir.join("msg."));
            }
            let mut child = cmd
                .arg(format!("127.0.0.1:{port}"))
                .arg("256")
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("dup log fd"))
                .stderr(log)
                .spawn()
                .expect("spawn smtp-sink");
            let deadline = Instant::now() + START_TIMEOUT;
            loop {
                if pid_listens_on(child.id(), port) {
                    let guard = OrphanGuard::new(
                        &format!(
                            r#"kill -TERM {} 2>/dev/null; sleep 1; rm -rf "$1""#,
                            child.id()
                        ),
                        dir.path().to_str().expect("utf-8 temp path"),
                    );
                    return Some(SmtpSink {
                        child,
                        addr: SocketAddr::new(ip, port),
                        dir,
                        guard: Some(guard),
                    });
                }
                if let Ok(Some(_)) = child.try_wait() {
                    // Usually "bind: Address already in use": try another port.
                    last_output = read_lossy(&log_path);
                    break;
                }
                if Instant::now() >= deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "smtp-sink did not listen on port {port} within {START_TIMEOUT:?}:\n{}",
                        read_lossy(&log_path)
                    );
                }
                thread::sleep(POLL);
            }
        }
        panic!("smtp-sink failed to start {PORT_ATTEMPTS} times; last output:\n{last_output}");
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `127.0.0.1:PORT`.
    pub fn server_arg(&self) -> String {
        self.addr.to_string()
    }

    /// smtp-sink's stdout and stderr so far (`-c` counters, `-v` transcripts).
    pub fn output(&self) -> String {
        read_lossy(&self.dir.path().join("output.log"))
    }

    /// Waits until at least `n` dumped transactions exist and have stopped
    /// growing (smtp-sink writes dumps as data arrives and does not signal
    /// completion), then returns them in arrival order. Each dump has
    /// LF line endings and starts with smtp-sink's own X-*/Received headers;
    /// see [`strip_sink_headers`].
    pub fn captured(&self, n: usize, timeout: Duration) -> Vec<Vec<u8>> {
        let dump_dir = self.dir.path().join("dump");
        let deadline = Instant::now() + timeout;
        let mut previous: Option<Vec<(PathBuf, u64)>> = None;
        loop {
            let mut files: Vec<(PathBuf, u64, std::time::SystemTime)> = Vec::new();
            if let Ok(entries) = fs::read_dir(&dump_dir) {
                for e in entries.flatten() {
                    if let Ok(m) = e.metadata()
                        && m.is_file()
                    {
                        let mtime = m.modified().unwrap_or(std::time::UNIX_EPOCH);
                        files.push((e.path(), m.len(), mtime));
                    }
                }
            }
            files.sort_by(|a, b| a.2.cmp(&b.2).then_with(|| a.0.cmp(&b.0)));
            let sizes: Vec<(PathBuf, u64)> =
                files.iter().map(|(p, l, _)| (p.clone(), *l)).collect();
            let stable = previous.as_ref() == Some(&sizes);
            if (files.len() >= n && stable) || Instant::now() >= deadline {
                return files
                    .iter()
                    .filter_map(|(p, _, _)| fs::read(p).ok())
                    .collect();
            }
            previous = Some(sizes);
            thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The message part of an smtp-sink dump: drops the X-Client-*/X-*-Args
/// lines and the three-line Received header smtp-sink puts in front.
pub fn strip_sink_headers(dump: &[u8]) -> &[u8] {
    let mut in_received = false;
    strip_leading_lines(dump, |line| {
        if in_received {
            is_continuation(line)
        } else if line.starts_with(b"Received: ") {
            in_received = true;
            true
        } else {
            line.starts_with(b"X-")
        }
    })
}

/// What follows the leading lines of `stored` for which `added` is true:
/// the lines a receiver put in front of the message it stored.
fn strip_leading_lines(stored: &[u8], mut added: impl FnMut(&[u8]) -> bool) -> &[u8] {
    let mut rest = stored;
    while !rest.is_empty() {
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        if !added(&rest[..end]) {
            break;
        }
        rest = &rest[end..];
    }
    rest
}

/// A header's continuation line (RFC 5322 folding).
fn is_continuation(line: &[u8]) -> bool {
    line.starts_with(b" ") || line.starts_with(b"\t")
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        // The guard goes first so it cannot signal a recycled pid.
        drop(self.guard.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// SOCKS5 proxy

/// microsocks (Debian `microsocks`), a SOCKS5 proxy on 127.0.0.1:<free
/// port>, with RFC 1929 username/password authentication when started
/// with [`Socks5Proxy::with_auth`]. It resolves names given to it (ATYP
/// domain) with the system resolver. Killed on `Drop`.
pub struct Socks5Proxy {
    child: Child,
    addr: SocketAddr,
    dir: TempDir,
    guard: Option<OrphanGuard>,
}

impl Socks5Proxy {
    pub fn start() -> Option<Socks5Proxy> {
        Self::spawn(None)
    }

    pub fn with_auth(user: &str, password: &str) -> Option<Socks5Proxy> {
        Self::spawn(Some((user, password)))
    }

    fn spawn(auth: Option<(&str, &str)>) -> Option<Socks5Proxy> {
        if !require("microsocks") {
            return None;
        }
        let dir = shared_tempdir("smtpx-socks-");
        let log_path = dir.path().join("output.log");
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let mut last_output = String::new();
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port(ip);
            let log = fs::File::create(&log_path).expect("create microsocks log");
            let mut cmd = Command::new(MICROSOCKS);
            cmd.args(["-i", "127.0.0.1", "-p", &port.to_string()]);
            if let Some((user, password)) = auth {
                cmd.args(["-u", user, "-P", password]);
            }
            let mut child = cmd
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("dup log fd"))
                .stderr(log)
                .spawn()
                .expect("spawn microsocks");
            let deadline = Instant::now() + START_TIMEOUT;
            loop {
                if pid_listens_on(child.id(), port) {
                    let guard = OrphanGuard::new(
                        &format!(
                            r#"kill -TERM {} 2>/dev/null; sleep 1; rm -rf "$1""#,
                            child.id()
                        ),
                        dir.path().to_str().expect("utf-8 temp path"),
                    );
                    return Some(Socks5Proxy {
                        child,
                        addr: SocketAddr::new(ip, port),
                        dir,
                        guard: Some(guard),
                    });
                }
                if let Ok(Some(_)) = child.try_wait() {
                    last_output = read_lossy(&log_path);
                    break;
                }
                if Instant::now() >= deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "microsocks did not listen on port {port} within {START_TIMEOUT:?}:\n{}",
                        read_lossy(&log_path)
                    );
                }
                thread::sleep(POLL);
            }
        }
        panic!("microsocks failed to start {PORT_ATTEMPTS} times; last output:\n{last_output}");
    }

    /// `127.0.0.1:PORT`, for `--socks5`.
    pub fn server_arg(&self) -> String {
        self.addr.to_string()
    }

    /// What microsocks printed (it logs each client it serves).
    pub fn output(&self) -> String {
        read_lossy(&self.dir.path().join("output.log"))
    }
}

impl Drop for Socks5Proxy {
    fn drop(&mut self) {
        drop(self.guard.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// Private Postfix instance

/// How to configure a [`PostfixInstance`].
#[derive(Clone, Debug, Default)]
pub struct PostfixOptions {
    cert_key: Option<(PathBuf, PathBuf)>,
    users: Option<Vec<String>>,
    message_size_limit: Option<u64>,
    sasl_users: Option<Vec<(String, String)>>,
    sasl_mechanisms: Option<Vec<String>>,
    extra_main_cf: Vec<String>,
    unix_socket: bool,
}

impl PostfixOptions {
    pub fn new() -> Self {
        Self::default()
    }
    /// Offer STARTTLS (`smtpd_tls_security_level = may`) with this PEM
    /// certificate (chain) and key.
    pub fn tls(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.cert_key = Some((cert.into(), key.into()));
        self
    }
    /// Accept only these local parts at example.test; others get
    /// `550 5.1.1 ... User unknown in virtual mailbox table` at RCPT and VRFY.
    /// Without this every example.test address is accepted.
    pub fn users(mut self, users: &[&str]) -> Self {
        self.users = Some(users.iter().map(|u| (*u).to_owned()).collect());
        self
    }
    /// `message_size_limit` (advertised as SIZE; Postfix's default is 10240000).
    pub fn message_size_limit(mut self, bytes: u64) -> Self {
        self.message_size_limit = Some(bytes);
        self
    }
    /// Offer SMTP AUTH (Cyrus SASL, private sasldb) to these `(user,
    /// password)` pairs, after STARTTLS only (`smtpd_tls_auth_only = yes`),
    /// so it needs [`PostfixOptions::tls`]; for AUTH over plaintext add
    /// `.main_cf("smtpd_tls_auth_only = no")`. The mechanisms are
    /// [`POSTFIX_SASL_MECHANISMS`] unless [`PostfixOptions::sasl_mechanisms`]
    /// is given. Authenticated clients may relay (`permit_sasl_authenticated`,
    /// though outbound transports are disabled) and the Received header
    /// names them: `(Authenticated sender: USER)`. The start skips (via
    /// [`require`]`("postfix-sasl")`) when the SASL packages are missing.
    /// See [`PostfixInstance`] for how it is set up.
    pub fn sasl(mut self, users: &[(&str, &str)]) -> Self {
        for (user, password) in users {
            assert!(
                !user.is_empty()
                    && !user.contains(['@', ':'])
                    && !format!("{user}{password}").contains(|c: char| c.is_control()),
                "SASL test user {user:?} / password: no controls, no '@' or ':' in the name"
            );
        }
        self.sasl_users = Some(
            users
                .iter()
                .map(|(u, p)| ((*u).to_owned(), (*p).to_owned()))
                .collect(),
        );
        self
    }
    /// The Cyrus `mech_list` for [`PostfixOptions::sasl`], e.g.
    /// `&["CRAM-MD5", "DIGEST-MD5"]`. Any of PLAIN, LOGIN, CRAM-MD5,
    /// DIGEST-MD5, SCRAM-SHA-1, SCRAM-SHA-256 (the plugins Debian's
    /// libsasl2-modules ships); smtpd advertises them in this order.
    pub fn sasl_mechanisms(mut self, mechanisms: &[&str]) -> Self {
        for m in mechanisms {
            assert!(
                SASL_PLUGINS.iter().any(|(name, _, _)| m.starts_with(name)),
                "no Cyrus SASL plugin for mechanism {m}"
            );
        }
        self.sasl_mechanisms = Some(mechanisms.iter().map(|m| (*m).to_owned()).collect());
        self
    }
    /// A `main.cf` line, e.g. `"smtpd_tls_security_level = encrypt"`. It
    /// replaces the fixture's own line for that parameter (rather than
    /// following it, which would make every daemon log "overriding earlier
    /// entry"), or is appended when the fixture does not set it.
    pub fn main_cf(mut self, line: &str) -> Self {
        self.extra_main_cf.push(line.to_owned());
        self
    }
    /// Expect a HAProxy PROXY header (v1 or v2) before SMTP on every
    /// connection (`smtpd_upstream_proxy_protocol = haproxy`): smtpd then
    /// logs and records the client the header names.
    pub fn upstream_proxy_protocol(self) -> Self {
        self.main_cf("smtpd_upstream_proxy_protocol = haproxy")
    }
    /// Also run smtpd on a Unix domain socket (a `unix` service in
    /// master.cf, `spool/public/smtpsock`); see
    /// [`PostfixInstance::socket_path`].
    pub fn unix_socket(mut self) -> Self {
        self.unix_socket = true;
        self
    }
}

/// A private Postfix (`postfix -c DIR start`) that accepts mail for
/// `example.test` on 127.0.0.1:<free port> and delivers it into Maildirs in
/// its own temporary directory. Needs root. Stopped on `Drop` (SIGTERM to
/// its master, `postfix -c DIR stop` as the fallback).
///
/// Layout under the temp dir: `etc/` (main.cf, master.cf, vmailbox, and
/// with SASL `etc/sasl/` holding smtpd.conf and sasldb2), `spool/`
/// (queue_directory), `data/` (data_directory), `mail/` (virtual
/// mailboxes), `maillog`, `start.log`.
///
/// SMTP AUTH ([`PostfixOptions::sasl`]) is Cyrus SASL inside smtpd
/// (`smtpd_sasl_type = cyrus`) with `pwcheck_method: auxprop`,
/// `auxprop_plugin: sasldb` and a private sasldb filled by `saslpasswd2`.
/// Cyrus rather than Dovecot: Cyrus runs inside smtpd, so there is no
/// second daemon per instance to start, guard against orphaning and stop,
/// and Postfix already depends on most of it (libsasl2-2,
/// libsasl2-modules-db); it needs only sasl2-bin and libsasl2-modules, and
/// with those PLAIN, LOGIN, CRAM-MD5 and SCRAM-SHA-256 all work.
/// SASL pitfalls:
/// - Debian's Postfix ignores `cyrus_sasl_config_path` (its policy is
///   "SASL configuration goes in /etc/postfix/sasl"): smtpd looks for
///   `smtpd.conf` in `$config_directory/sasl`, then `/usr/lib/sasl`, so the
///   file lives in `etc/sasl/` (and `cyrus_sasl_config_path` names the same
///   directory for other builds). If Cyrus finds no config it advertises
///   every installed mechanism (SCRAM-SHA-512 ... NTLM) and opens
///   /etc/sasldb2, which `postfix` cannot read: "454 4.7.0 Temporary
///   authentication failure" (smtpx exit 8, not 6).
/// - smtpd opens the sasldb as `postfix` at every AUTH; saslpasswd2 makes
///   it 0640 root:root. It is chowned root:postfix 0640, in a 0750
///   root:postfix directory. (smtpd is not chrooted here; a chrooted smtpd
///   would need the sasldb inside the queue directory.)
/// - Cyrus appends a realm to a bare user name. Users are created with
///   `saslpasswd2 -u <myhostname>` and `smtpd_sasl_local_domain =
///   $myhostname`, so a client authenticates as plain `tim`, but Postfix
///   logs `sasl_username=tim@postfix.example.test` and the Received header
///   says `(Authenticated sender: tim@postfix.example.test)`.
/// - That header line needs `smtpd_sasl_authenticated_header = yes`
///   (default no); the protocol is then `ESMTPSA` (RFC 3848).
/// - SCRAM-SHA-256 comes with libsasl2-modules (libscram.so, which also
///   does SCRAM-SHA-1/224/384/512), not a -gssapi package. saslpasswd2
///   stores only `userPassword`; the SCRAM plugin derives its keys from it.
///   libsasl2-modules is only recommended by libsasl2-2, so a
///   `--no-install-recommends` Postfix has no mechanism plugins at all.
/// - With `mech_list` smtpd advertises exactly those mechanisms in that
///   order; without it, every installed plugin, strongest first.
/// - `smtpd_tls_auth_only = yes`: no AUTH in the EHLO before STARTTLS, and
///   an AUTH command there gets 503.
/// - `smtpd_relay_restrictions` gains `permit_sasl_authenticated`; set it
///   once: a second main.cf entry makes every daemon log "overriding
///   earlier entry" warnings.
/// - A refused password logs two warnings ("SASL authentication failure:
///   Password verification failed", "SASL PLAIN authentication failed:
///   authentication failure"); there is no delay after a failure.
/// - Whether a session tried AUTH shows in smtpd's `disconnect from ...`
///   line (`auth=1`, `auth=0/1`); smtpd writes it just after the client
///   has gone, so poll for it.
///
/// Pitfalls this configuration deals with:
/// - Postfix logs to syslog, and test machines and containers have no
///   syslogd: without `maillog_file` every error is invisible and `postfix
///   start` just exits 1. `maillog_file` needs a `postlog` service in
///   master.cf and a path under `maillog_file_prefixes` (default `/var,
///   /dev/stdout`), else "fatal: maillog_file ... does not match any prefix".
/// - `data_directory` must be owned by `mail_owner` (`postfix`): leave it
///   uncreated and let `postfix start` (post-install create-missing) make
///   it, or check-warn complains "not owned by postfix". `queue_directory`
///   however must exist, because postfix-script `cd`s into it before it
///   creates anything; post-install then creates its subdirectories with
///   the `postfix`/`postdrop` owners, so the default `mail_owner` and
///   `setgid_group` work for any number of instances and `postfix check` is
///   clean.
/// - The temp dir must be traversable by `postfix` and by the delivery uid
///   (`nobody`), hence 0755 under /tmp; the Maildir base must be writable
///   by `nobody`.
/// - Debian's stock master.cf chroots services into the queue directory,
///   which needs copies of /etc files there: every service here has
///   chroot = n.
/// - No DNS anywhere: `myhostname` is set (else gethostname + resolver),
///   `smtpd_peername_lookup = no` (no PTR lookup for 127.0.0.1),
///   `smtp_dns_support_level = disabled` and `*_host_lookup = native`, and
///   outbound delivery is impossible (`default_transport`/`relay_transport`
///   = error, loopback is not in `mynetworks`, so relaying is refused with
///   554). `mydestination` is empty so nothing goes to local(8) and
///   /etc/aliases is never consulted (`alias_maps` empty).
/// - `virtual_mailbox_maps` uses `texthash:` (or `static:`), which Postfix
///   reads directly: no `postmap` run, no .db files.
/// - Config files are written with an mtime in the past: Postfix waits
///   (300 ms polls) until main.cf/master.cf/texthash tables are not newer
///   than the current second, which otherwise adds ~2 s to every start.
/// - `compatibility_level` is set so Postfix does not log "using
///   backwards-compatible default setting" warnings on every start.
/// - `postfix start` is `master -w`: it returns only after the daemon has
///   initialised (listener bound) and fails if the bind failed, so a port
///   lost to another process shows up as a failed start and a retry with a
///   new port. Its stdout/stderr go to a file, not a pipe, because the
///   daemonised master could hold a pipe open forever.
/// - The daemonised master is reparented to PID 1; in containers whose
///   PID 1 does not reap, a stopped master stays a harmless zombie.
/// - `disable_vrfy_command = no` is needed for VRFY; Postfix then answers
///   252 for deliverable addresses and 550 for unknown ones.
/// - Delivered files have LF line endings and Postfix prepends
///   Return-Path, X-Original-To, Delivered-To and Received headers.
pub struct PostfixInstance {
    dir: TempDir,
    addr: SocketAddr,
    guard: Option<OrphanGuard>,
}

impl PostfixInstance {
    /// Configures and starts the instance; the listener is bound when this
    /// returns. `None` if Postfix is unavailable or this is not root.
    pub fn start(opts: PostfixOptions) -> Option<PostfixInstance> {
        if !require("postfix") {
            return None;
        }
        let dir = shared_tempdir("smtpx-postfix-");
        let root = dir.path();
        let etc = root.join("etc");
        let mail = root.join("mail");
        fs::create_dir(&etc).expect("create etc/");
        fs::create_dir(root.join("spool")).expect("create spool/");
        fs::create_dir(&mail).expect("create mail/");
        let (uid, gid) = account_ids("nobody").unwrap_or((65534, 65534));
        std::os::unix::fs::chown(&mail, Some(uid), Some(gid)).expect("chown mail/ to nobody");

        let mailbox_maps = match &opts.users {
            None => "static:catchall/".to_owned(),
            Some(users) => {
                // A trailing slash means Maildir format.
                let table: String = users
                    .iter()
                    .map(|u| format!("{u}@example.test {u}/\n"))
                    .collect();
                write_config(&etc.join("vmailbox"), &table);
                format!("texthash:{}", etc.join("vmailbox").display())
            }
        };
        if let Some(users) = &opts.sasl_users {
            if !require("postfix-sasl") {
                return None;
            }
            write_sasl_config(root, users, opts.sasl_mechanisms.as_deref());
        }
        let main_cf = main_cf(root, &mailbox_maps, uid, gid, &opts);
        write_config(&etc.join("main.cf"), &main_cf);

        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let mut last_failure = String::new();
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port(ip);
            let mut master = master_cf(port);
            if opts.unix_socket {
                // A unix service's name is relative to the queue directory;
                // private = n puts it in public/.
                master.push_str("smtpsock  unix  n       -       n       -       -       smtpd\n");
            }
            write_config(&etc.join("master.cf"), &master);
            // Judge each attempt by its own log lines only.
            let _ = fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(root.join("maillog"));
            let out_path = root.join("start.log");
            let out = fs::File::create(&out_path).expect("create start.log");
            let status = Command::new(POSTFIX)
                .arg("-c")
                .arg(&etc)
                .arg("start")
                .stdin(Stdio::null())
                .stdout(out.try_clone().expect("dup start.log fd"))
                .stderr(out)
                .status()
                .expect("run postfix start");
            if status.success() {
                let guard = OrphanGuard::new(
                    &format!(r#"{POSTFIX} -c "$1/etc" stop >/dev/null 2>&1; rm -rf "$1""#),
                    root.to_str().expect("utf-8 temp path"),
                );
                return Some(PostfixInstance {
                    dir,
                    addr: SocketAddr::new(ip, port),
                    guard: Some(guard),
                });
            }
            let maillog = read_lossy(&root.join("maillog"));
            last_failure = format!(
                "postfix start: {status}\n{}\nmaillog:\n{maillog}",
                read_lossy(&out_path)
            );
            if !maillog.contains("in use") {
                break;
            }
        }
        panic!("private Postfix failed to start:\n{last_failure}");
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `127.0.0.1:PORT`.
    pub fn server_arg(&self) -> String {
        self.addr.to_string()
    }

    /// The instance's config directory (for `postfix -c` / `postconf -c`).
    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("etc")
    }

    /// The Unix domain socket smtpd listens on with
    /// [`PostfixOptions::unix_socket`].
    pub fn socket_path(&self) -> PathBuf {
        self.dir.path().join("spool/public/smtpsock")
    }

    /// A `--pipe` command that speaks SMTP on stdin/stdout for this
    /// instance: Postfix's `sendmail -bs` with its config directory. What
    /// it accepts goes through the instance's queue into its Maildirs.
    pub fn sendmail_bs(&self) -> String {
        format!("/usr/sbin/sendmail -C {} -bs", self.config_dir().display())
    }

    /// Postfix's log for this instance (maillog_file).
    pub fn maillog(&self) -> String {
        read_lossy(&self.dir.path().join("maillog"))
    }

    /// The maillog's warning, fatal and panic lines, less the clock-skew
    /// warnings a loaded or virtualised runner causes ("file system clock
    /// is 1 seconds ahead"): Postfix carries on after those, so they say
    /// nothing about the configuration under test.
    pub fn complaints(log: &str) -> Vec<&str> {
        log.lines()
            .filter(|l| l.contains("warning:") || l.contains("fatal:") || l.contains("panic:"))
            .filter(|l| {
                !l.contains("file system clock is") && !l.contains("resetting file time stamps")
            })
            .collect()
    }

    /// The maillog once smtpd has logged the end of `n` sessions: smtpd
    /// writes its `disconnect from` line (with per-command counts such as
    /// `auth=0/1` or `bdat=3`) after the client has already gone. Waits at
    /// most 10 s, then returns the log as it is.
    pub fn maillog_after_sessions(&self, n: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.maillog();
            if log.matches("disconnect from").count() >= n || Instant::now() >= deadline {
                return log;
            }
            thread::sleep(POLL);
        }
    }

    /// Polls until at least one message has been delivered (or `timeout`
    /// passes) and returns everything delivered so far; see
    /// [`PostfixInstance::wait_delivered`].
    pub fn delivered(&self, timeout: Duration) -> Vec<Vec<u8>> {
        self.wait_delivered(1, timeout)
    }

    /// Polls until at least `n` messages sit in the Maildirs (or `timeout`
    /// passes) and returns all of them, oldest first. Delivery is
    /// asynchronous: the 250 after DATA means queued, not delivered.
    pub fn wait_delivered(&self, n: usize, timeout: Duration) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        loop {
            let files = self.delivered_files();
            if files.len() >= n || Instant::now() >= deadline {
                return files.iter().filter_map(|p| fs::read(p).ok()).collect();
            }
            thread::sleep(POLL);
        }
    }

    /// What has been delivered so far, without waiting: for checking that
    /// nothing was, once the session is known to have ended without a MAIL.
    pub fn delivered_now(&self) -> Vec<Vec<u8>> {
        self.wait_delivered(usize::MAX, Duration::ZERO)
    }

    /// Maildir files in `mail/*/new` and `mail/*/cur`.
    fn delivered_files(&self) -> Vec<PathBuf> {
        maildir_files(&self.dir.path().join("mail"))
    }
}

/// The messages in the Maildirs under `mail` (`mail/*/new` and `mail/*/cur`), oldest
/// first. Delivery agents write into `tmp/` and rename into `new/`, so a file seen here
/// is complete.
pub(crate) fn maildir_files(mail: &Path) -> Vec<PathBuf> {
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
    let Ok(boxes) = fs::read_dir(mail) else {
        return Vec::new();
    };
    for mailbox in boxes.flatten() {
        for sub in ["new", "cur"] {
            let Ok(entries) = fs::read_dir(mailbox.path().join(sub)) else {
                continue;
            };
            for e in entries.flatten() {
                if let Ok(m) = e.metadata()
                    && m.is_file()
                {
                    files.push((m.modified().unwrap_or(std::time::UNIX_EPOCH), e.path()));
                }
            }
        }
    }
    files.sort();
    files.into_iter().map(|(_, p)| p).collect()
}

/// A delivered message as the client sent it (but with LF line ends):
/// drops the Return-Path, X-Original-To and Delivered-To lines and the one
/// Received header (with its continuation lines) that Postfix puts in front.
pub fn strip_postfix_headers(delivered: &[u8]) -> &[u8] {
    let mut in_received = false;
    strip_leading_lines(delivered, |line| {
        if is_continuation(line) {
            in_received
        } else if line.starts_with(b"Received: ") {
            // Only the first: later ones came with the message.
            !std::mem::replace(&mut in_received, true)
        } else {
            in_received = false;
            [&b"Return-Path: "[..], b"X-Original-To: ", b"Delivered-To: "]
                .iter()
                .any(|h| line.starts_with(h))
        }
    })
}

/// smtpd's `disconnect from ...` lines in a maillog, e.g. `disconnect from
/// localhost[127.0.0.1] ehlo=1 mail=1 rcpt=1 bdat=2 quit=1 commands=6`.
pub fn disconnect_lines(maillog: &str) -> Vec<&str> {
    maillog
        .lines()
        .filter(|l| l.contains("disconnect from"))
        .collect()
}

impl Drop for PostfixInstance {
    fn drop(&mut self) {
        drop(self.guard.take());
        self.stop();
        // Children the master just signalled may still be closing files;
        // TempDir's own removal ignores errors, so retry briefly first.
        for _ in 0..10 {
            if fs::remove_dir_all(self.dir.path()).is_ok() {
                break;
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl PostfixInstance {
    /// `postfix stop` sends SIGTERM to the master and then polls in whole
    /// seconds, so it nearly always costs a full second. Do the SIGTERM here
    /// and poll finely; fall back to `postfix -c DIR stop` (which also
    /// force-kills after 5 s) if the master is still there.
    fn stop(&self) {
        let pid_file = self.dir.path().join("spool/pid/master.pid");
        let pid = fs::read_to_string(pid_file)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
            // Guards against signalling a recycled pid if the master died.
            .filter(|pid| {
                fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "master")
            });
        if let Some(pid) = pid {
            send_sigterm(pid);
            let deadline = Instant::now() + Duration::from_secs(5);
            while process_alive(pid) && Instant::now() < deadline {
                thread::sleep(POLL);
            }
            if !process_alive(pid) {
                return;
            }
        }
        let _ = Command::new(POSTFIX)
            .arg("-c")
            .arg(self.config_dir())
            .arg("stop")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Running, i.e. neither gone nor a zombie (a daemonised master is
/// reparented to PID 1, which in some containers never reaps it).
pub(crate) fn process_alive(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        // The state follows the parenthesised command name.
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X")
    })
}

/// Writes a Postfix input file dated a minute back. Postfix refuses to
/// trust a file modified within the current second (it could still be
/// being written) and re-reads it every 300 ms until it is older, which
/// made each start take about two seconds.
fn write_config(path: &Path, contents: &str) {
    fs::write(path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    let past = std::time::SystemTime::now() - Duration::from_secs(60);
    fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(past))
        .unwrap_or_else(|e| panic!("backdate {}: {e}", path.display()));
}

/// `etc/sasl/smtpd.conf` (Cyrus reads `<smtpd_sasl_path>.conf`; Debian's
/// Postfix looks in `$config_directory/sasl`, whatever
/// `cyrus_sasl_config_path` says) and `etc/sasl/sasldb2` with `users` in
/// realm [`POSTFIX_HOSTNAME`]. Both are root:postfix 0640 in a 0750
/// directory: smtpd reads the sasldb as `postfix` at each AUTH.
fn write_sasl_config(root: &Path, users: &[(String, String)], mechanisms: Option<&[String]>) {
    let (_, postfix_gid) = account_ids("postfix").expect("account `postfix` in /etc/passwd");
    let sasl = root.join("etc/sasl");
    fs::create_dir(&sasl).expect("create etc/sasl/");
    let sasldb = sasl.join("sasldb2");
    let mech_list = match mechanisms {
        Some(list) => list.join(" "),
        None => POSTFIX_SASL_MECHANISMS.join(" "),
    };
    fs::write(
        sasl.join("smtpd.conf"),
        format!(
            "pwcheck_method: auxprop\n\
             auxprop_plugin: sasldb\n\
             sasldb_path: {}\n\
             mech_list: {mech_list}\n",
            sasldb.display()
        ),
    )
    .expect("write etc/sasl/smtpd.conf");
    for (user, password) in users {
        let mut child = Command::new(SASLPASSWD2)
            // -p: password from stdin, no prompt; -c: create the user;
            // -f: this sasldb, not /etc/sasldb2; -u: the realm smtpd asks
            // for (smtpd_sasl_local_domain).
            .args(["-p", "-c", "-f"])
            .arg(&sasldb)
            .args(["-u", POSTFIX_HOSTNAME, user])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn saslpasswd2");
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().expect("saslpasswd2 stdin");
            stdin
                .write_all(password.as_bytes())
                .expect("write the password to saslpasswd2");
        }
        let out = child.wait_with_output().expect("wait for saslpasswd2");
        assert!(
            out.status.success(),
            "saslpasswd2 {user}: {}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for (path, mode) in [
        (&sasl, 0o750),
        (&sasl.join("smtpd.conf"), 0o640),
        (&sasldb, 0o640),
    ] {
        std::os::unix::fs::chown(path, Some(0), Some(postfix_gid))
            .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
            .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
    }
}

fn main_cf(root: &Path, mailbox_maps: &str, uid: u32, gid: u32, opts: &PostfixOptions) -> String {
    let r = root.display();
    let relay_restrictions = if opts.sasl_users.is_some() {
        "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination"
    } else {
        "permit_mynetworks, reject_unauth_destination"
    };
    let mut cf = format!(
        "\
# Private test instance; see PostfixInstance in tests/it/support/peers.rs.
compatibility_level = 3.6
queue_directory = {r}/spool
data_directory = {r}/data
maillog_file = {r}/maillog
maillog_file_prefixes = {r}
myhostname = {POSTFIX_HOSTNAME}
mydomain = example.test
myorigin = $myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 192.0.2.1/32
smtpd_relay_restrictions = {relay_restrictions}
smtpd_banner = $myhostname ESMTP Postfix
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
smtp_host_lookup = native
lmtp_host_lookup = native
default_transport = error:outbound mail is disabled in this test instance
relay_transport = error:outbound mail is disabled in this test instance
alias_maps =
alias_database =
local_recipient_maps =
biff = no
virtual_mailbox_domains = example.test
virtual_mailbox_base = {r}/mail
virtual_mailbox_maps = {mailbox_maps}
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
disable_vrfy_command = no
smtputf8_enable = yes
"
    );
    match &opts.cert_key {
        Some((cert, key)) => {
            cf.push_str(&format!(
                "smtpd_tls_security_level = may\n\
                 smtpd_tls_cert_file = {}\n\
                 smtpd_tls_key_file = {}\n\
                 smtpd_tls_loglevel = 1\n",
                cert.display(),
                key.display()
            ));
        }
        None => cf.push_str("smtpd_tls_security_level = none\n"),
    }
    if let Some(n) = opts.message_size_limit {
        cf.push_str(&format!("message_size_limit = {n}\n"));
    }
    if opts.sasl_users.is_some() {
        cf.push_str(&format!(
            "smtpd_sasl_auth_enable = yes\n\
             smtpd_sasl_type = cyrus\n\
             smtpd_sasl_path = smtpd\n\
             cyrus_sasl_config_path = {r}/etc/sasl\n\
             smtpd_sasl_local_domain = $myhostname\n\
             smtpd_sasl_security_options = noanonymous\n\
             smtpd_sasl_authenticated_header = yes\n\
             smtpd_tls_auth_only = yes\n"
        ));
    }
    for line in &opts.extra_main_cf {
        let name = |l: &str| l.split('=').next().unwrap_or_default().trim().to_owned();
        let mut kept: Vec<&str> = cf.lines().filter(|l| name(l) != name(line)).collect();
        kept.push(line);
        cf = kept.join("\n") + "\n";
    }
    cf
}

/// The services a receive-and-deliver-locally instance needs, all with
/// chroot = n. `postlog` makes maillog_file work; `tlsmgr` serves the TLS
/// session cache and PRNG; `smtp`/`relay` exist only because qmgr expects
/// the transports main.cf could name.
fn master_cf(port: u16) -> String {
    format!(
        "\
# service type  private unpriv  chroot  wakeup  maxproc command
127.0.0.1:{port} inet n -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"
    )
}

// ---------------------------------------------------------------------------
// Dovecot LMTP

/// A private Dovecot (`dovecot -c FILE -F`) speaking LMTP (RFC 2033) on
/// 127.0.0.1:<free port> and on a Unix socket, delivering into Maildirs in
/// its own temporary directory. Mailboxes exist for the given users
/// (`alice@example.test` ...); any other recipient gets `550 5.1.1 ... User
/// doesn't exist` at RCPT. Stopped on `Drop` (SIGTERM to the master).
///
/// Layout under the temp dir: `dovecot.conf`, `users` (passwd-file passdb
/// and userdb), `run/` (base_dir), `state/` (state_dir), `mail/<user>/Maildir`,
/// `lmtp.sock`, `dovecot.log`.
///
/// Pitfalls this configuration deals with:
/// - Dovecot refuses to deliver as uid 0. As root, mail is delivered as
///   `nobody` (the userdb names its uid and gid) and `mail/` belongs to it;
///   otherwise as the current user, who then also runs Dovecot's internal
///   and login processes (`default_internal_user`, `default_login_user`).
/// - The system's /etc/dovecot and /run/dovecot are never read or written:
///   `-c FILE` names the only config, and `base_dir`, `state_dir` and
///   `instance_name` keep sockets, state and the instance apart from any
///   other Dovecot on the machine (the package's own service is never
///   started: see `.ci/install-peers`).
/// - anvil chroots by default into an empty directory of the base_dir,
///   which needs root; `chroot =` turns it off.
/// - `-F` keeps the master in the foreground, where it binds the listeners
///   itself: the start waits for that pid to listen on the port, and a port
///   lost to another process shows as `Address already in use` in the log
///   and a retry on a new port.
pub struct DovecotLmtp {
    child: Child,
    dir: TempDir,
    addr: SocketAddr,
    guard: Option<OrphanGuard>,
}

impl DovecotLmtp {
    /// Starts the instance with mailboxes for `users` (local parts at
    /// example.test). `None` when Dovecot is unavailable and `require` skips.
    pub fn start(users: &[&str]) -> Option<DovecotLmtp> {
        if !require("dovecot") {
            return None;
        }
        let dir = shared_tempdir("smtpx-dovecot-");
        let root = dir.path();
        for sub in ["run", "state", "mail"] {
            fs::create_dir(root.join(sub)).expect("create a dovecot directory");
        }
        let root_user = running_as_root();
        let (uid, gid) = if root_user {
            let ids = account_ids("nobody").unwrap_or((65534, 65534));
            std::os::unix::fs::chown(root.join("mail"), Some(ids.0), Some(ids.1))
                .expect("chown mail/ to nobody");
            ids
        } else {
            let m = fs::metadata(root).expect("stat the temp dir");
            (m.uid(), m.gid())
        };
        let table: String = users
            .iter()
            .map(|u| {
                format!(
                    "{u}@example.test:{{PLAIN}}unused:{uid}:{gid}::{}\n",
                    root.join("mail").join(u).display()
                )
            })
            .collect();
        fs::write(root.join("users"), table).expect("write the users file");
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let mut last_failure = String::new();
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port(ip);
            let conf = dovecot_conf(root, port, root_user);
            fs::write(root.join("dovecot.conf"), conf).expect("write dovecot.conf");
            let _ = fs::remove_file(root.join("dovecot.log"));
            let out = fs::File::create(root.join("start.log")).expect("create start.log");
            let mut child = Command::new(DOVECOT)
                .arg("-c")
                .arg(root.join("dovecot.conf"))
                .arg("-F")
                .stdin(Stdio::null())
                .stdout(out.try_clone().expect("dup start.log fd"))
                .stderr(out)
                .spawn()
                .expect("spawn dovecot");
            let deadline = Instant::now() + START_TIMEOUT;
            let started = loop {
                if pid_listens_on(child.id(), port) && root.join("lmtp.sock").exists() {
                    break true;
                }
                if child.try_wait().ok().flatten().is_some() || Instant::now() >= deadline {
                    break false;
                }
                thread::sleep(POLL);
            };
            if started {
                let guard = OrphanGuard::new(
                    &format!(
                        r#"kill -TERM {} 2>/dev/null; sleep 1; rm -rf "$1""#,
                        child.id()
                    ),
                    root.to_str().expect("utf-8 temp path"),
                );
                return Some(DovecotLmtp {
                    child,
                    dir,
                    addr: SocketAddr::new(ip, port),
                    guard: Some(guard),
                });
            }
            send_sigterm(child.id());
            let _ = wait_timeout(&mut child, Duration::from_secs(5));
            let _ = child.kill();
            let _ = child.wait();
            let log = read_lossy(&root.join("dovecot.log"));
            last_failure = format!(
                "start.log:\n{}\ndovecot.log:\n{log}",
                read_lossy(&root.join("start.log"))
            );
            if !log.contains("in use") {
                break;
            }
        }
        panic!("private Dovecot failed to start:\n{last_failure}");
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `127.0.0.1:PORT`.
    pub fn server_arg(&self) -> String {
        self.addr.to_string()
    }

    /// The master's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The LMTP Unix socket (for a client that can reach one).
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("lmtp.sock")
    }

    pub fn log(&self) -> String {
        read_lossy(&self.dir.path().join("dovecot.log"))
    }

    /// The messages in `user`'s Maildir (new/ and cur/), in no particular order.
    pub fn mailbox(&self, user: &str) -> Vec<Vec<u8>> {
        let base = self.dir.path().join("mail").join(user).join("Maildir");
        ["new", "cur"]
            .iter()
            .filter_map(|sub| fs::read_dir(base.join(sub)).ok())
            .flat_map(|entries| entries.flatten())
            .filter_map(|e| fs::read(e.path()).ok())
            .collect()
    }
}

fn dovecot_conf(root: &Path, port: u16, root_user: bool) -> String {
    let users = root.join("users");
    let users = users.display();
    let base = root.display();
    let accounts = if root_user {
        String::new()
    } else {
        let me = Command::new("id")
            .arg("-un")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default();
        format!("default_internal_user = {me}\ndefault_login_user = {me}\n")
    };
    format!(
        r#"base_dir = {base}/run
state_dir = {base}/state
instance_name = smtpx-test-{port}
log_path = {base}/dovecot.log
protocols = lmtp
listen = 127.0.0.1
ssl = no
mail_location = maildir:~/Maildir
{accounts}passdb {{
  driver = passwd-file
  args = {users}
}}
userdb {{
  driver = passwd-file
  args = {users}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {port}
  }}
  unix_listener {base}/lmtp.sock {{
    mode = 0666
  }}
}}
service anvil {{
  chroot =
}}
"#
    )
}

impl Drop for DovecotLmtp {
    fn drop(&mut self) {
        drop(self.guard.take());
        send_sigterm(self.child.id());
        if wait_timeout(&mut self.child, Duration::from_secs(10)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
