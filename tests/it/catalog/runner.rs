//! Runs catalog rows and judges them: the five invariants, then the row's own
//! expectations. Each row runs once per test process, whichever test asks first.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::certs::TestPki;
use crate::support::scripted::{Record, ScriptedServer, ServerOptions};

use super::check::secret_forms;
use super::row::{Ctx, Exec, Row, SECRET_ENV, Server, Stdin};
use super::rows;

/// A run still going after this long is a hang: every row's own timeouts are a few
/// seconds at most, and `--timeout 20s` bounds every binary run.
pub const HANG_BOUND: Duration = Duration::from_secs(30);

/// Address-space limit for every binary run (`prlimit --as`). The debug binary with
/// tokio, rustls and a TLS handshake needs about 20 MiB of address space (it does not
/// even load under 16 MiB); 64 MiB leaves room for the blocking threads tokio starts
/// for stdin and files, and is still far below what a client that buffered a 300 MiB
/// reply line or a whole message would need.
pub const ADDRESS_SPACE_CAP: u64 = 64 * 1024 * 1024;

/// README "Exit codes": 0-10 and 130. Anything else (101 is a Rust panic) is a crash.
const DOCUMENTED_EXITS: [i32; 12] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 130];

/// Envelope defaults for rows that do not name their own.
pub const FROM: &str = "me@example.org";
pub const TO: &str = "you@example.org";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Transcript,
    Json,
    Library,
}

/// Everything one run left behind.
pub struct RunResult {
    pub style: Style,
    /// Exit code; None when a signal ended the process.
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub hung: bool,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// What the server saw (empty for servers that record nothing).
    pub record: Record,
    /// Connections that reached a server that should have seen none.
    pub unexpected_connections: usize,
    /// The message content given to smtpx (stdin bytes or `{file}`).
    pub input: Vec<u8>,
    pub elapsed: Duration,
    /// Tokio time that passed in a library run on a paused clock.
    pub virtual_elapsed: Option<Duration>,
    pub canary: String,
}

impl RunResult {
    pub fn output(&self) -> String {
        format!(
            "{}{}",
            String::from_utf8_lossy(&self.stdout),
            String::from_utf8_lossy(&self.stderr)
        )
    }

    fn describe(&self) -> String {
        format!(
            "[{:?}] exit {:?} signal {:?} hung {} in {:.2?}\n--- stdout\n{}--- stderr\n{}--- server saw\n{}\n--- server errors\n{:#?}",
            self.style,
            self.code,
            self.signal,
            self.hung,
            self.elapsed,
            String::from_utf8_lossy(&self.stdout),
            String::from_utf8_lossy(&self.stderr),
            excerpt(&self.record.received),
            self.record.errors,
        )
    }
}

fn excerpt(bytes: &[u8]) -> String {
    const MAX: usize = 3000;
    let shown = &bytes[..bytes.len().min(MAX)];
    let more = if bytes.len() > MAX {
        format!("... ({} bytes in all)", bytes.len())
    } else {
        String::new()
    };
    format!("{}{more}", shown.escape_ascii())
}

/// How a row fared.
#[derive(Clone, Debug, Default)]
pub struct Verdict {
    pub crash: bool,
    pub hang: bool,
    pub false_success: bool,
    pub leak: bool,
    pub memory: bool,
    /// Every problem found, invariant or expectation, with the run's output.
    pub problems: Vec<String>,
    pub elapsed: Duration,
    /// Exit codes seen, one per run.
    pub exits: Vec<Option<i32>>,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

type Cache = Mutex<HashMap<&'static str, Arc<OnceLock<Verdict>>>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Cache::default)
}

/// When the first row started in this process: the catalog's wall time runs from here.
pub fn first_start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

/// The verdict on one row, running it unless another test already did.
pub fn verdict(id: &'static str) -> Verdict {
    first_start();
    let cell = {
        let mut map = cache().lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(map.entry(id).or_default())
    };
    cell.get_or_init(|| {
        let rows = rows::all();
        let row = rows
            .iter()
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("no catalog row {id}"));
        run_row(row)
    })
    .clone()
}

/// The body of each row's `#[test]`.
pub fn run_and_assert(id: &'static str) {
    let v = verdict(id);
    assert!(v.passed(), "catalog row {id}:\n{}", v.problems.join("\n\n"));
}

/// Runs a row in each style it asks for and judges every run.
pub fn run_row(row: &Row) -> Verdict {
    let ctx = Arc::new(Ctx {
        pki: TestPki::new(),
        canary: fresh_canary(),
    });
    let styles: &[Style] = match row.exec {
        Exec::Library(_) => &[Style::Library],
        Exec::Binary if row.both_styles => &[Style::Transcript, Style::Json],
        Exec::Binary => &[Style::Transcript],
    };
    let started = Instant::now();
    let mut verdict = Verdict::default();
    for &style in styles {
        let result = match row.exec {
            Exec::Library(run) => run_library(run, &ctx),
            Exec::Binary => run_binary(row, &ctx, style),
        };
        judge(row, &result, &mut verdict);
        verdict.exits.push(result.code);
    }
    verdict.elapsed = started.elapsed();
    verdict
}

/// 16 random bytes as hex: a secret no output could contain by chance.
fn fresh_canary() -> String {
    let mut buf = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .expect("read /dev/urandom");
    let hex: String = buf.iter().map(|b| format!("{b:02x}")).collect();
    format!("canary-{hex}")
}

fn judge(row: &Row, r: &RunResult, v: &mut Verdict) {
    let mut problems = Vec::new();
    let output = [&r.stdout[..], &r.stderr[..]].concat();
    let memory = memory_breach(r.signal, &r.stderr);
    if r.hung {
        v.hang = true;
        problems.push(format!("HANG: still running after {HANG_BOUND:?}"));
    } else if memory {
        v.memory = true;
        problems.push(format!(
            "MEMORY: the run broke the {} MiB address-space cap",
            ADDRESS_SPACE_CAP >> 20
        ));
    } else if r.code.is_none_or(|c| !DOCUMENTED_EXITS.contains(&c)) {
        v.crash = true;
        problems.push(format!(
            "CRASH: exit {:?}, signal {:?} (not a documented exit code)",
            r.code, r.signal
        ));
    }
    if r.code == Some(0) && !row.exits.contains(&0) {
        v.false_success = true;
        problems.push("FALSE SUCCESS: exit 0 although the server did not accept".into());
    }
    for form in secret_forms(&r.canary) {
        if contains(&output, form.as_bytes()) {
            v.leak = true;
            problems.push(format!(
                "LEAK: the secret appears in the output as {form:?}"
            ));
        }
        if row.secret_off_wire && contains(&r.record.received, form.as_bytes()) {
            v.leak = true;
            problems.push(format!("LEAK: the secret went on the wire as {form:?}"));
        }
    }
    if !r.hung && !row.exits.iter().any(|&c| r.code == Some(c)) {
        problems.push(format!("exit {:?}, expected {:?}", r.code, row.exits));
    }
    if r.unexpected_connections > 0 {
        problems.push(format!(
            "{} connection(s) reached a server that should have seen none",
            r.unexpected_connections
        ));
    }
    for want in &row.wire_must {
        if !contains(&r.record.received, want) {
            problems.push(format!(
                "the wire lacks {:?}",
                want.escape_ascii().to_string()
            ));
        }
    }
    for banned in &row.wire_must_not {
        if contains(&r.record.received, banned) {
            problems.push(format!(
                "the wire carries {:?}",
                banned.escape_ascii().to_string()
            ));
        }
    }
    for want in &row.output_must {
        if !contains(&output, want.as_bytes()) {
            problems.push(format!("the output lacks {want:?}"));
        }
    }
    for banned in &row.output_must_not {
        if contains(&output, banned.as_bytes()) {
            problems.push(format!(
                "the output contains {:?}",
                banned.escape_debug().to_string()
            ));
        }
    }
    for check in &row.checks {
        if let Err(e) = check(r) {
            problems.push(e);
        }
    }
    if !problems.is_empty() {
        v.problems.push(format!(
            "{} ({}: {})\n{}\n{}",
            row.id,
            row.area.name(),
            row.what,
            problems.join("\n"),
            r.describe()
        ));
    }
}

/// How a run that hit the address-space cap ends: the allocator aborts (SIGABRT), a
/// stack or mapping fails (SIGSEGV, SIGBUS), or the loader cannot map the binary.
fn memory_breach(signal: Option<i32>, stderr: &[u8]) -> bool {
    const WORDS: [&str; 4] = [
        "memory allocation of",
        "failed to map segment",
        "Cannot allocate memory",
        "out of memory",
    ];
    matches!(signal, Some(6 | 7 | 11)) || WORDS.iter().any(|w| contains(stderr, w.as_bytes()))
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

// ---------------------------------------------------------------------------
// Library rows
// ---------------------------------------------------------------------------

fn run_library(run: fn(&Ctx) -> super::paused::LibRun, ctx: &Arc<Ctx>) -> RunResult {
    let (tx, rx) = std::sync::mpsc::channel();
    let ctx2 = Arc::clone(ctx);
    let started = Instant::now();
    let handle = thread::spawn(move || {
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&ctx2)));
        let _ = tx.send(out);
    });
    let mut result = RunResult {
        style: Style::Library,
        code: None,
        signal: None,
        hung: false,
        stdout: Vec::new(),
        stderr: Vec::new(),
        record: Record::default(),
        unexpected_connections: 0,
        input: Vec::new(),
        elapsed: Duration::ZERO,
        virtual_elapsed: None,
        canary: ctx.canary.clone(),
    };
    match rx.recv_timeout(HANG_BOUND) {
        Ok(Ok(lib)) => {
            let _ = handle.join();
            result.code = Some(i32::from(lib.exit));
            result.stdout = lib.output;
            result.record.received = lib.wire;
            result.virtual_elapsed = Some(lib.virtual_elapsed);
        }
        // A panic in the library is what a crash of the binary would be (exit 101).
        Ok(Err(_)) => result.code = Some(101),
        Err(_) => result.hung = true,
    }
    result.elapsed = started.elapsed();
    result
}

// ---------------------------------------------------------------------------
// Binary rows
// ---------------------------------------------------------------------------

/// A server of any kind, alive while smtpx runs.
enum Fixture {
    Untouched(TcpListener),
    Scripted(ScriptedServer),
    /// The listener and the connections that fill its queue, held until the end.
    Blackhole {
        _listener: TcpListener,
        _fillers: Vec<TcpStream>,
    },
    Refused,
}

fn start_fixture(server: Server, ctx: &Ctx) -> (Fixture, SocketAddr) {
    match server {
        Server::Untouched => {
            let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
            l.set_nonblocking(true).expect("nonblocking");
            let addr = l.local_addr().expect("addr");
            (Fixture::Untouched(l), addr)
        }
        Server::Script(script) => {
            let opts = ServerOptions {
                // One step may take in an 80 MiB body on a busy machine; a client
                // that stops talking is bounded by its own timeouts anyway.
                read_timeout: Duration::from_secs(20),
                accept_timeout: HANG_BOUND,
                // Called once smtpx has exited: what is left of a script (a stall, a
                // drain) ends within seconds, and a client that never came never will.
                finish_timeout: Duration::from_secs(25),
                ..ServerOptions::default()
            };
            let s = ScriptedServer::start_with(opts, vec![script(ctx)]);
            let addr = s.addr();
            (Fixture::Scripted(s), addr)
        }
        Server::Blackhole => {
            let (l, fillers) = blackhole();
            let addr = l.local_addr().expect("addr");
            (
                Fixture::Blackhole {
                    _listener: l,
                    _fillers: fillers,
                },
                addr,
            )
        }
        Server::Refused => {
            let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
            let addr = l.local_addr().expect("addr");
            drop(l);
            (Fixture::Refused, addr)
        }
    }
}

/// A loopback listener that never accepts, with a backlog of 0 filled by connections
/// the test holds: Linux then drops further SYNs (the accept queue is full), so a
/// connect neither succeeds nor is refused — the closest loopback gets to a
/// blackholed address, and it needs no address outside 127.0.0.0/8.
fn blackhole() -> (TcpListener, Vec<TcpStream>) {
    use socket2::{Domain, Socket, Type};
    let sock = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    sock.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into())
        .expect("bind");
    sock.listen(0).expect("listen");
    let listener: TcpListener = sock.into();
    let addr = listener.local_addr().expect("addr");
    let mut fillers = Vec::new();
    for _ in 0..16 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(s) => fillers.push(s),
            // The queue is full: this SYN went unanswered, as smtpx's will.
            Err(_) => return (listener, fillers),
        }
    }
    panic!("the accept queue never filled: no blackhole on this kernel");
}

impl Fixture {
    fn finish(self) -> (Record, usize) {
        match self {
            Fixture::Untouched(l) => {
                let mut n = 0;
                while l.accept().is_ok() {
                    n += 1;
                }
                (Record::default(), n)
            }
            Fixture::Scripted(s) => (s.finish(), 0),
            Fixture::Blackhole { .. } | Fixture::Refused => (Record::default(), 0),
        }
    }
}

/// The argument list: the row's own, after defaults for what it leaves out.
fn arguments(
    row: &Row,
    server: SocketAddr,
    ctx: &Ctx,
    file: Option<&str>,
    style: Style,
) -> Vec<String> {
    let expand = |a: &String| {
        a.replace("{server}", &server.to_string())
            .replace("{ca}", &ctx.pki.ca_pem_path.display().to_string())
            .replace("{file}", file.unwrap_or(""))
    };
    let given: Vec<String> = row.args.iter().map(expand).collect();
    let has = |names: &[&str]| {
        given.iter().any(|a| {
            names
                .iter()
                .any(|n| a == n || a.starts_with(&format!("{n}=")))
        })
    };
    let mut all = vec!["send".to_string()];
    let defaults: [(&[&str], String); 11] = [
        (&["--server", "-s"], server.to_string()),
        (&["--helo"], "client.test".into()),
        (&["--from", "-f"], FROM.into()),
        (&["--to", "-t"], TO.into()),
        (&["--timeout"], "20s".into()),
        (&["--connect-timeout"], "2s".into()),
        (&["--greeting-timeout"], "2s".into()),
        (&["--command-timeout"], "2s".into()),
        (&["--data-timeout"], "2s".into()),
        (&["--data-block-timeout"], "2s".into()),
        (&["--final-timeout"], "2s".into()),
    ];
    for (names, value) in defaults {
        if !has(names) {
            all.extend([names[0].to_string(), value]);
        }
    }
    all.push("--no-timing".into());
    if style == Style::Json {
        all.push("--json".into());
    }
    all.extend(given);
    all
}

fn run_binary(row: &Row, ctx: &Ctx, style: Style) -> RunResult {
    let (fixture, addr) = start_fixture(row.server, ctx);
    let dir = tempfile::tempdir().expect("temp dir");
    let file_content = row.file.map(|f| f());
    let file_path = file_content.as_ref().map(|content| {
        let path = dir.path().join("message.eml");
        std::fs::write(&path, content).expect("write {file}");
        path.display().to_string()
    });
    let args = arguments(row, addr, ctx, file_path.as_deref(), style);

    let mut cmd = capped(env!("CARGO_BIN_EXE_smtpx"), ADDRESS_SPACE_CAP);
    cmd.args(&args)
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("CI")
        .env(SECRET_ENV, &ctx.canary)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut input = file_content.unwrap_or_default();
    let mut feeder: Option<thread::JoinHandle<()>> = None;
    let mut stdin_bytes: Option<Vec<u8>> = None;
    match &row.stdin {
        Stdin::Empty => {
            cmd.stdin(Stdio::null());
        }
        Stdin::Bytes(b) => {
            input = b.clone();
            stdin_bytes = Some(b.clone());
            cmd.stdin(Stdio::piped());
        }
        Stdin::Directory => {
            cmd.stdin(std::fs::File::open(dir.path()).expect("open a directory"));
        }
        Stdin::ResetAfter(b) => {
            input = b.clone();
            let (client, handle) = resetting_socket(b.clone());
            feeder = Some(handle);
            cmd.stdin(Stdio::from(std::os::fd::OwnedFd::from(client)));
        }
    }
    let started = Instant::now();
    let mut child = cmd.spawn().expect("spawn smtpx");
    if let Some(bytes) = stdin_bytes {
        let mut stdin = child.stdin.take().expect("stdin");
        feeder = Some(thread::spawn(move || {
            // smtpx may stop reading early (it refused the session): that is no error.
            let _ = stdin.write_all(&bytes);
        }));
    }
    let stdout = drain(child.stdout.take().expect("stdout"));
    let stderr = drain(child.stderr.take().expect("stderr"));
    let (status, hung) = wait_bounded(&mut child);
    let elapsed = started.elapsed();
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    if let Some(f) = feeder {
        let _ = f.join();
    }
    let (record, unexpected_connections) = fixture.finish();
    RunResult {
        style,
        code: status.and_then(|s| s.code()),
        signal: status.and_then(|s| s.signal()),
        hung,
        stdout,
        stderr,
        record,
        unexpected_connections,
        input,
        elapsed,
        virtual_elapsed: None,
        canary: ctx.canary.clone(),
    }
}

/// The binary under the address-space cap: `prlimit` from util-linux where it exists,
/// otherwise the shell's `ulimit -v`.
fn capped(bin: &str, bytes: u64) -> Command {
    if std::path::Path::new("/usr/bin/prlimit").exists() {
        let mut cmd = Command::new("/usr/bin/prlimit");
        cmd.arg(format!("--as={bytes}")).arg("--").arg(bin);
        cmd
    } else {
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(format!("ulimit -v {}; exec \"$0\" \"$@\"", bytes / 1024))
            .arg(bin);
        cmd
    }
}

/// A socket for stdin that yields `bytes` and then a reset (ECONNRESET): an input that
/// fails in the middle of the message.
fn resetting_socket(bytes: Vec<u8>) -> (TcpStream, thread::JoinHandle<()>) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
    let (mut peer, _) = listener.accept().expect("accept");
    let handle = thread::spawn(move || {
        let _ = peer.write_all(&bytes);
        // Let smtpx take in the bytes first, so the failure comes mid-body.
        thread::sleep(Duration::from_millis(500));
        let _ = socket2::SockRef::from(&peer).set_linger(Some(Duration::ZERO));
        drop(peer);
    });
    (client, handle)
}

fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

/// Waits for the child, killing it at [`HANG_BOUND`]; true in the second place when it
/// had to be killed.
fn wait_bounded(child: &mut Child) -> (Option<std::process::ExitStatus>, bool) {
    let deadline = Instant::now() + HANG_BOUND;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return (Some(status), false),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return (None, true);
            }
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(_) => return (None, false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cap is really applied and a breach is recognised: far below what the binary
    /// needs to load, the run fails the way a breach does; at the catalog's cap it runs.
    #[test]
    fn memory_cap_is_applied_and_breaches_are_seen() {
        let bin = env!("CARGO_BIN_EXE_smtpx");
        let starved = capped(bin, 8 * 1024 * 1024)
            .arg("--version")
            .output()
            .expect("run");
        assert!(
            memory_breach(starved.status.signal(), &starved.stderr),
            "{starved:?}"
        );
        let fine = capped(bin, ADDRESS_SPACE_CAP)
            .arg("--version")
            .output()
            .expect("run");
        assert!(fine.status.success(), "{fine:?}");
        assert!(!memory_breach(fine.status.signal(), &fine.stderr));
    }
}
