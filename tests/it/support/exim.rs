//! A private Exim 4 daemon: Debian's exim4-daemon-light, unpacked (not installed: it
//! conflicts with Postfix) by `.ci/install-peers` under [`EXIM_ROOT`], run as
//! `exim4 -C FILE -bd` with its own config, spool, logs and Maildirs in a temporary
//! directory, listening on a free 127.0.0.1 port. It offers PIPELINING, CHUNKING, DSN,
//! PRDR, SMTPUTF8, VRFY and EXPN, and with options STARTTLS (GnuTLS: a TLS stack none
//! of the other peers use) and AUTH PLAIN, LOGIN and CRAM-MD5.

use std::fs;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::peers::{
    OrphanGuard, POLL, PORT_ATTEMPTS, START_TIMEOUT, account_ids, free_port, maildir_files,
    process_alive, read_lossy, require, send_sigterm, shared_tempdir,
};

/// Where `.ci/install-peers` unpacks exim4-daemon-light.
pub const EXIM_ROOT: &str = "/opt/smtpx-peers/exim4";
/// The binary; the config's `exim_path` points here so that Exim's re-executions of
/// itself (for delivery) find it.
pub const EXIM: &str = "/opt/smtpx-peers/exim4/usr/sbin/exim4";
/// The account Debian's Exim is built to run as.
pub const EXIM_USER: &str = "Debian-exim";
pub const EXIM_HOSTNAME: &str = "exim.example.test";

#[derive(Clone, Debug, Default)]
pub struct EximOptions {
    users: Vec<String>,
    prdr_refuse: Vec<String>,
    tls: Option<(PathBuf, PathBuf)>,
    auth: Option<(String, String)>,
}

impl EximOptions {
    pub fn new() -> Self {
        Self::default()
    }

    /// Local parts with a Maildir in `example.test`; every other address there is
    /// refused at RCPT (`550 ... Unrouteable address`), and other domains get
    /// `550 relay not permitted`.
    pub fn users(mut self, users: &[&str]) -> Self {
        self.users = users.iter().map(|u| u.to_string()).collect();
        self
    }

    /// Local parts that the PRDR data ACL refuses after the message content, each with
    /// `550 refused after the data for this recipient`.
    pub fn prdr_refuse(mut self, users: &[&str]) -> Self {
        self.prdr_refuse = users.iter().map(|u| u.to_string()).collect();
        self
    }

    /// STARTTLS with this certificate chain and key (PEM).
    pub fn tls(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.tls = Some((cert.into(), key.into()));
        self
    }

    /// AUTH PLAIN, LOGIN and CRAM-MD5 for one account, offered with or without TLS.
    pub fn auth(mut self, user: &str, password: &str) -> Self {
        self.auth = Some((user.to_owned(), password.to_owned()));
        self
    }
}

pub struct Exim {
    dir: TempDir,
    addr: SocketAddr,
    guard: Option<OrphanGuard>,
}

impl Exim {
    /// Configures and starts the daemon; it accepts connections when this returns.
    /// `None` (the test skips) if Exim is not unpacked here, outside CI.
    pub fn start(opts: EximOptions) -> Option<Exim> {
        if !require("exim") {
            return None;
        }
        let (uid, gid) = account_ids(EXIM_USER).expect("the Debian-exim account");
        let dir = shared_tempdir("smtpx-exim-");
        let root = dir.path();
        for sub in ["spool", "log", "mail"] {
            let path = root.join(sub);
            fs::create_dir(&path).expect("create an Exim directory");
            std::os::unix::fs::chown(&path, Some(uid), Some(gid)).expect("chown to Debian-exim");
        }
        // The lookup's value names the Maildir ($local_part_data, untainted).
        let users: String = opts.users.iter().map(|u| format!("{u}: {u}\n")).collect();
        fs::write(root.join("users"), users).expect("write the users table");
        let tls = opts.tls.as_ref().map(|(cert, key)| {
            // The receiving process reads them after dropping root.
            let (c, k) = (root.join("cert.pem"), root.join("key.pem"));
            fs::copy(cert, &c).expect("copy the certificate");
            fs::copy(key, &k).expect("copy the key");
            std::os::unix::fs::chown(&k, Some(uid), Some(gid)).expect("chown the key");
            fs::set_permissions(&k, fs::Permissions::from_mode(0o600)).expect("chmod the key");
            (c, k)
        });

        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let mut last_failure = String::new();
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port(ip);
            let config = root.join("exim.conf");
            fs::write(&config, exim_conf(root, port, &opts, tls.as_ref()))
                .expect("write exim.conf");
            let _ = fs::remove_file(root.join("log/paniclog"));
            let out = Command::new(EXIM)
                .arg("-C")
                .arg(&config)
                .arg("-bd")
                .stdin(Stdio::null())
                .output()
                .expect("run exim4 -bd");
            let addr = SocketAddr::new(ip, port);
            if out.status.success() && wait_listening(root, addr) {
                let guard = OrphanGuard::new(
                    r#"kill -TERM "$(cat "$1/exim.pid")" 2>/dev/null; sleep 1; rm -rf "$1""#,
                    root.to_str().expect("utf-8 temp path"),
                );
                return Some(Exim {
                    dir,
                    addr,
                    guard: Some(guard),
                });
            }
            let panic = read_lossy(&root.join("log/paniclog"));
            last_failure = format!(
                "exim4 -bd: {}\n{}{}\npaniclog:\n{panic}\nmainlog:\n{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                read_lossy(&root.join("log/mainlog")),
            );
            if !panic.contains("in use") {
                break;
            }
        }
        panic!("private Exim failed to start:\n{last_failure}");
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `127.0.0.1:PORT`.
    pub fn server_arg(&self) -> String {
        self.addr.to_string()
    }

    /// Exim's main log: `<=` for each message received, `=>` for each delivery.
    pub fn mainlog(&self) -> String {
        read_lossy(&self.dir.path().join("log/mainlog"))
    }

    /// The panic log, less the line every run writes: Exim notes that it gave up root
    /// for deliveries because the config came with `-C`.
    pub fn panics(&self) -> Vec<String> {
        read_lossy(&self.dir.path().join("log/paniclog"))
            .lines()
            .filter(|l| !l.contains("lost privilege for using -C option"))
            .map(str::to_owned)
            .collect()
    }

    /// Polls until at least `n` messages sit in the Maildirs (or `timeout` passes) and
    /// returns them all, oldest first. Exim delivers after the 250 to the final dot.
    pub fn wait_delivered(&self, n: usize, timeout: Duration) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        loop {
            let files = maildir_files(&self.dir.path().join("mail"));
            if files.len() >= n || Instant::now() >= deadline {
                return files.iter().filter_map(|p| fs::read(p).ok()).collect();
            }
            thread::sleep(POLL);
        }
    }

    /// The messages in one user's Maildir, without waiting.
    pub fn delivered_to(&self, user: &str) -> Vec<Vec<u8>> {
        let mailbox = self.dir.path().join("mail").join(user);
        maildir_files(&self.dir.path().join("mail"))
            .iter()
            .filter(|p| p.starts_with(&mailbox))
            .filter_map(|p| fs::read(p).ok())
            .collect()
    }
}

impl Drop for Exim {
    fn drop(&mut self) {
        drop(self.guard.take());
        // Deliveries run in processes of their own after the 250: let them finish, or
        // they recreate the directories being removed.
        let input = self.dir.path().join("spool/input");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline
            && fs::read_dir(&input).is_ok_and(|mut d| d.next().is_some())
        {
            thread::sleep(POLL);
        }
        let pid = fs::read_to_string(self.dir.path().join("exim.pid"))
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
            // Guards against signalling a recycled pid if the daemon died.
            .filter(|pid| {
                fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "exim4")
            });
        if let Some(pid) = pid {
            send_sigterm(pid);
            let deadline = Instant::now() + Duration::from_secs(5);
            while process_alive(pid) && Instant::now() < deadline {
                thread::sleep(POLL);
            }
        }
        // TempDir's own removal ignores errors: retry while stragglers close files.
        for _ in 0..10 {
            if fs::remove_dir_all(self.dir.path()).is_ok() {
                break;
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Until the daemon has written its pid file and accepts a connection. The connection
/// is a session Exim logs, closed at once; no test counts sessions in the log.
fn wait_listening(root: &Path, addr: SocketAddr) -> bool {
    let deadline = Instant::now() + START_TIMEOUT;
    while Instant::now() < deadline {
        if root.join("exim.pid").exists()
            && TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
        {
            return true;
        }
        if read_lossy(&root.join("log/paniclog")).contains("in use") {
            return false;
        }
        thread::sleep(POLL);
    }
    false
}

fn exim_conf(
    root: &Path,
    port: u16,
    opts: &EximOptions,
    tls: Option<&(PathBuf, PathBuf)>,
) -> String {
    let r = root.display();
    let tls_lines = match tls {
        Some((cert, key)) => format!(
            "tls_advertise_hosts = *\ntls_certificate = {}\ntls_privatekey = {}\n",
            cert.display(),
            key.display()
        ),
        None => "tls_advertise_hosts =\n".to_owned(),
    };
    let prdr_refuse = if opts.prdr_refuse.is_empty() {
        String::new()
    } else {
        format!(
            "  deny    local_parts = {}\n          message = refused after the data for this recipient\n",
            opts.prdr_refuse.join(" : ")
        )
    };
    // Exim's own braces make format! escaping unreadable: placeholders instead.
    let authenticators = match &opts.auth {
        None => String::new(),
        Some((user, password)) => r#"
begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = ${if and {{eq{$auth2}{USER}}{eq{$auth3}{PASSWORD}}}}
  server_set_id = $auth2
login:
  driver = plaintext
  public_name = LOGIN
  server_prompts = Username:: : Password::
  server_condition = ${if and {{eq{$auth1}{USER}}{eq{$auth2}{PASSWORD}}}}
  server_set_id = $auth1
cram:
  driver = cram_md5
  public_name = CRAM-MD5
  server_secret = ${if eq{$auth1}{USER}{PASSWORD}fail}
  server_set_id = $auth1
"#
        .replace("USER", user)
        .replace("PASSWORD", password),
    };
    format!(
        r#"exim_path = {EXIM}
keep_environment =
primary_hostname = {EXIM_HOSTNAME}
spool_directory = {r}/spool
log_file_path = {r}/log/%slog
pid_file_path = {r}/exim.pid
daemon_smtp_ports = {port}
local_interfaces = 127.0.0.1
domainlist local_domains = example.test
acl_smtp_rcpt = acl_rcpt
acl_smtp_data_prdr = acl_prdr
acl_smtp_vrfy = accept
acl_smtp_expn = accept
prdr_enable = true
chunking_advertise_hosts = *
dsn_advertise_hosts = *
pipelining_advertise_hosts = *
host_lookup =
rfc1413_hosts =
never_users = root
# Deliver every message at once: by default the eleventh of a connection waits for a
# queue run that never comes here.
smtp_accept_queue_per_connection = 0
{tls_lines}
begin acl
acl_rcpt:
  deny    domains = +local_domains
          !verify = recipient
  accept  domains = +local_domains
  deny    message = relay not permitted

acl_prdr:
{prdr_refuse}  accept

begin routers
localuser:
  driver = accept
  domains = +local_domains
  local_parts = lsearch;{r}/users
  transport = maildir

begin transports
maildir:
  driver = appendfile
  directory = {r}/mail/$local_part_data/
  maildir_format
  user = {EXIM_USER}
  create_directory

begin retry
* * F,1h,10m
{authenticators}"#
    )
}
