//! A scripted fault-injection SMTP server.
//!
//! Each accepted connection runs a list of [`Step`]s: write these bytes, expect
//! this command, read a DATA body, stall, drip, close, reset, switch to TLS.
//! Everything the client sends is recorded in a [`Record`] so tests can assert
//! on the exact wire traffic, and every wait is bounded so no test can hang.
//!
//! The server runs on a plain std thread (no async runtime), so the same
//! fixture serves `assert_cmd` tests that spawn the binary and tokio tests
//! that drive the library in-process.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rustls::{ServerConfig, ServerConnection, StreamOwned};

/// After an orderly close, how long the client may stay silent before the
/// socket is dropped, and the most time spent reading after the close.
const DRAIN_IDLE: Duration = Duration::from_millis(200);
const DRAIN_MAX: Duration = Duration::from_secs(2);

/// The reply sent when the client's command does not match an [`Step::Expect`].
pub const MISMATCH_REPLY: &[u8] = b"500 5.5.2 script mismatch\r\n";

/// One action of the server on a connection; steps run in order.
#[derive(Clone)]
pub enum Step {
    /// Write these bytes in one `write()` call, so several replies can share
    /// one TCP segment (e.g. a greeting followed by an injected reply).
    Send(Vec<u8>),
    /// Read one command line (ended by CRLF or LF) and record it in
    /// [`Record::commands`]; it must start with this prefix, ASCII
    /// case-insensitively. Lines are buffered, so pipelined commands that
    /// arrive in one read are consumed one step at a time.
    /// On a mismatch the server records an error, replies
    /// [`MISMATCH_REPLY`] and closes.
    Expect(String),
    /// Read a DATA payload up to and including the line `.\r\n` and record it
    /// in [`Record::data`] exactly as received: still dot-stuffed, without the
    /// terminating `.\r\n`.
    ExpectData,
    /// Read exactly this many raw bytes (a BDAT chunk) and record them in
    /// [`Record::data`].
    ExpectBytes(usize),
    /// Sleep, then go on. Bytes the client sends meanwhile queue up unread.
    Delay(Duration),
    /// Write the bytes one at a time, sleeping `every` between them: a slow
    /// server whose reply arrives in many segments.
    Drip { bytes: Vec<u8>, every: Duration },
    /// Orderly close: TLS close_notify (when in TLS), then a FIN. Bytes the
    /// client still sends are read and recorded for a short while, because
    /// closing a socket with unread data makes the kernel send RST instead.
    Close,
    /// Abortive close: SO_LINGER 0 then drop, so the client sees RST.
    Reset,
    /// Run a TLS server handshake on this socket; later steps go through
    /// TLS. As the first step it gives implicit TLS (RFC 8314). Bytes the
    /// client sent ahead of the handshake are fed to the TLS session.
    StartTls(Arc<ServerConfig>),
    /// Read and record everything until the client closes the connection.
    /// Not seeing the close within the read timeout is an error.
    ReadUntilClose,
    /// Neither read nor write for this long: a server that stops reading
    /// mid-body so the client's writes back up.
    Stall(Duration),
    /// Write `head`, then `unit` over and over until `max` bytes in all went
    /// out or a write fails: a reply line that never ends, or endless
    /// continuation lines. The client hanging up is the expected end, so a
    /// failed write ends the step without an error; the count is in
    /// [`Record::flooded`].
    Flood {
        head: Vec<u8>,
        unit: Vec<u8>,
        max: usize,
    },
    /// TCP FIN without a TLS close_notify first: a truncation attack on a
    /// TLS session (same as [`Step::Close`] in plaintext).
    Truncate,
    /// Write `reply` through TLS and then `raw` straight onto the TCP socket
    /// under it, in one `write()` call so that both arrive together: a server
    /// whose TLS layer breaks right after a reply (bytes that are not TLS
    /// records). In plaintext both are written as they are.
    SendRawUnderTls { reply: Vec<u8>, raw: Vec<u8> },
}

impl fmt::Debug for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Send(bytes) => write!(f, "Send({})", escape(bytes)),
            Step::Expect(prefix) => write!(f, "Expect({prefix:?})"),
            Step::ExpectData => f.write_str("ExpectData"),
            Step::ExpectBytes(n) => write!(f, "ExpectBytes({n})"),
            Step::Delay(d) => write!(f, "Delay({d:?})"),
            Step::Drip { bytes, every } => write!(f, "Drip({}, {every:?})", escape(bytes)),
            Step::Close => f.write_str("Close"),
            Step::Reset => f.write_str("Reset"),
            Step::StartTls(_) => f.write_str("StartTls"),
            Step::ReadUntilClose => f.write_str("ReadUntilClose"),
            Step::Stall(d) => write!(f, "Stall({d:?})"),
            Step::Flood { head, unit, max } => {
                write!(f, "Flood({} + {}.., {max})", escape(head), escape(unit))
            }
            Step::Truncate => f.write_str("Truncate"),
            Step::SendRawUnderTls { reply, raw } => {
                write!(f, "SendRawUnderTls({}, {})", escape(reply), escape(raw))
            }
        }
    }
}

/// `Step::Send` of a string.
pub fn send(text: &str) -> Step {
    Step::Send(text.as_bytes().to_vec())
}

/// `Step::Send` of raw bytes (non-UTF-8 replies, NULs, huge lines).
pub fn send_bytes(bytes: impl Into<Vec<u8>>) -> Step {
    Step::Send(bytes.into())
}

/// `Step::Expect` with this command prefix.
pub fn expect(prefix: &str) -> Step {
    Step::Expect(prefix.to_owned())
}

/// The 221 of a server that answers QUIT only once the client has closed its side, as
/// Exim before 4.99 does (its bug 3142): after the QUIT is read, wait for the client's
/// FIN, then reply. Run under [`fin_wait_options`], so that a client that never sends
/// a FIN leaves an error in the record.
pub fn quit_reply_after_fin() -> [Step; 3] {
    [
        Step::ReadUntilClose,
        send("221 exim.example.test closing connection\r\n"),
        Step::Close,
    ]
}

/// The wait for the client's close gives up after 5 s, well inside smtpx's 10 s wait
/// for the reply to QUIT.
pub fn fin_wait_options() -> ServerOptions {
    ServerOptions {
        read_timeout: Duration::from_secs(5),
        ..ServerOptions::default()
    }
}

/// `Step::Drip` of a string.
pub fn drip(text: &str, every: Duration) -> Step {
    Step::Drip {
        bytes: text.as_bytes().to_vec(),
        every,
    }
}

/// 220 greeting, `EHLO`, then a 250 reply listing these capability lines.
pub fn greeting_ehlo(caps: &[&str]) -> Vec<Step> {
    vec![
        send("220 mx.test ESMTP scripted\r\n"),
        expect("EHLO"),
        Step::Send(ehlo_reply("mx.test", caps)),
    ]
}

/// A complete successful submission to `rcpts` recipients, ending with QUIT.
pub fn happy_send(rcpts: usize) -> Vec<Step> {
    let mut script = greeting_ehlo(&["PIPELINING", "8BITMIME", "SIZE 10240000"]);
    script.extend([expect("MAIL FROM:"), send("250 2.1.0 Ok\r\n")]);
    for _ in 0..rcpts {
        script.extend([expect("RCPT TO:"), send("250 2.1.5 Ok\r\n")]);
    }
    script.extend([
        expect("DATA"),
        send("354 End data with <CR><LF>.<CR><LF>\r\n"),
        Step::ExpectData,
        send("250 2.0.0 Ok: queued as ABC123\r\n"),
        expect("QUIT"),
        send("221 2.0.0 Bye\r\n"),
        Step::Close,
    ]);
    script
}

/// A multi-line 250 EHLO reply: the domain line, then one line per capability.
pub fn ehlo_reply(domain: &str, caps: &[&str]) -> Vec<u8> {
    let lines: Vec<&str> = std::iter::once(domain)
        .chain(caps.iter().copied())
        .collect();
    let mut reply = String::new();
    for (i, line) in lines.iter().enumerate() {
        let sep = if i + 1 == lines.len() { ' ' } else { '-' };
        reply.push_str(&format!("250{sep}{line}\r\n"));
    }
    reply.into_bytes()
}

/// Whether `[::1]` can be bound here (some containers have no IPv6).
pub fn ipv6_loopback_available() -> bool {
    TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).is_ok()
}

/// What the client did, as seen by the server.
#[derive(Clone, Debug, Default)]
pub struct Record {
    /// Connections accepted.
    pub connections: usize,
    /// Every line consumed by an `Expect`, in order, without its line ending.
    pub commands: Vec<String>,
    /// Each `ExpectData` / `ExpectBytes` payload.
    pub data: Vec<Vec<u8>>,
    /// Every byte received (decrypted once in TLS), in order, including
    /// bytes no step consumed.
    pub received: Vec<u8>,
    /// Each successful `read()` separately, to count client write batches.
    pub reads: Vec<Vec<u8>>,
    /// Each completed TLS handshake, in order.
    pub tls: Vec<TlsHandshake>,
    /// Script mismatches, timeouts, I/O errors, unfinished scripts.
    pub errors: Vec<String>,
    /// Bytes written by [`Step::Flood`] steps.
    pub flooded: usize,
}

/// What the server saw of a completed TLS handshake.
#[derive(Clone, Debug)]
pub struct TlsHandshake {
    /// The SNI the client sent, if any (none for an IP literal).
    pub sni: Option<String>,
    /// Number of certificates the client presented.
    pub client_certs: usize,
    /// Negotiated protocol version, e.g. `TLSv1_3`.
    pub version: String,
}

impl Record {
    /// Panics with the errors and the received traffic if any error was recorded.
    pub fn assert_clean(&self) {
        assert!(
            self.errors.is_empty(),
            "scripted server errors: {:#?}\nreceived: {}",
            self.errors,
            self.received.escape_ascii()
        );
    }

    /// All received bytes as text (lossy), for `contains` assertions.
    pub fn received_text(&self) -> String {
        String::from_utf8_lossy(&self.received).into_owned()
    }
}

/// Bounds and address for a [`ScriptedServer`].
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// Address to bind (port 0 is always used).
    pub bind: IpAddr,
    /// Limit for each reading step (and for each write) to complete.
    pub read_timeout: Duration,
    /// Limit for each connection to arrive.
    pub accept_timeout: Duration,
    /// Limit for [`ScriptedServer::finish`] to wait for the scripts.
    pub finish_timeout: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            read_timeout: Duration::from_secs(10),
            accept_timeout: Duration::from_secs(10),
            finish_timeout: Duration::from_secs(15),
        }
    }
}

/// A loopback server that runs one script per accepted connection.
pub struct ScriptedServer {
    addr: SocketAddr,
    record: Arc<Mutex<Record>>,
    stop: Arc<AtomicBool>,
    done: mpsc::Receiver<()>,
    thread: Option<JoinHandle<()>>,
    finish_timeout: Duration,
}

impl ScriptedServer {
    /// Serves one connection on 127.0.0.1.
    pub fn start(script: Vec<Step>) -> Self {
        Self::start_with(ServerOptions::default(), vec![script])
    }

    /// Serves one connection on `[::1]`; panics if IPv6 loopback is
    /// unavailable (check [`ipv6_loopback_available`] first).
    pub fn start_v6(script: Vec<Step>) -> Self {
        let opts = ServerOptions {
            bind: IpAddr::V6(Ipv6Addr::LOCALHOST),
            ..ServerOptions::default()
        };
        Self::start_with(opts, vec![script])
    }

    /// Accepts connections one after another, running one script on each.
    pub fn start_many(scripts: Vec<Vec<Step>>) -> Self {
        Self::start_with(ServerOptions::default(), scripts)
    }

    /// Like [`start_many`](Self::start_many) with explicit options; panics if binding fails.
    pub fn start_with(opts: ServerOptions, scripts: Vec<Vec<Step>>) -> Self {
        Self::try_start_with(opts, scripts).expect("bind scripted server")
    }

    /// Like [`start_with`](Self::start_with), returning the bind error.
    pub fn try_start_with(opts: ServerOptions, scripts: Vec<Vec<Step>>) -> io::Result<Self> {
        let listener = TcpListener::bind((opts.bind, 0))?;
        let addr = listener.local_addr()?;
        let record = Arc::new(Mutex::new(Record::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (done_tx, done) = mpsc::channel();
        let finish_timeout = opts.finish_timeout;
        let server = Server {
            opts,
            record: Arc::clone(&record),
            stop: Arc::clone(&stop),
        };
        let thread = thread::Builder::new()
            .name(format!("scripted-smtp-{}", addr.port()))
            .spawn(move || {
                server.serve(listener, scripts);
                let _ = done_tx.send(());
            })?;
        Ok(ScriptedServer {
            addr,
            record,
            stop,
            done,
            thread: Some(thread),
            finish_timeout,
        })
    }

    /// The bound address (loopback, ephemeral port).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `127.0.0.1:PORT` or `[::1]:PORT`, as `--server` takes it.
    pub fn server_arg(&self) -> String {
        self.addr.to_string()
    }

    /// Waits (bounded) for every script to end and returns what was seen.
    /// Scripts still running at the deadline are reported in `errors`.
    pub fn finish(mut self) -> Record {
        match self.done.recv_timeout(self.finish_timeout) {
            Ok(()) => self.join(),
            Err(RecvTimeoutError::Timeout) => {
                self.stop.store(true, Ordering::SeqCst);
                let msg = format!("script not finished within {:?}", self.finish_timeout);
                lock(&self.record).errors.push(msg);
            }
            Err(RecvTimeoutError::Disconnected) => self.join(),
        }
        lock(&self.record).clone()
    }

    fn join(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        if let Err(panic) = thread.join() {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            lock(&self.record)
                .errors
                .push(format!("server thread panicked: {msg}"));
        }
    }
}

impl Drop for ScriptedServer {
    /// Tells an unfinished server thread to stop at its next step.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn lock(record: &Mutex<Record>) -> MutexGuard<'_, Record> {
    record
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The state shared by the server thread's sessions.
struct Server {
    opts: ServerOptions,
    record: Arc<Mutex<Record>>,
    stop: Arc<AtomicBool>,
}

impl Server {
    fn serve(&self, listener: TcpListener, scripts: Vec<Vec<Step>>) {
        let total = scripts.len();
        for (index, script) in scripts.into_iter().enumerate() {
            let stream = match self.accept(&listener) {
                Ok(stream) => stream,
                Err(msg) => {
                    self.error(format!("connection {}/{total}: {msg}", index + 1));
                    return;
                }
            };
            lock(&self.record).connections += 1;
            match Session::new(self, index, stream) {
                Ok(mut session) => session.run(script),
                Err(e) => self.error(format!("connection {}: socket setup: {e}", index + 1)),
            }
        }
    }

    /// Polls a non-blocking accept so the wait is bounded and can be stopped.
    fn accept(&self, listener: &TcpListener) -> Result<TcpStream, String> {
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let deadline = Instant::now() + self.opts.accept_timeout;
        loop {
            match listener.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(false).map_err(|e| e.to_string())?;
                    return Ok(stream);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(format!("accept failed: {e}")),
            }
            if self.stopped() {
                return Err("stopped before a client connected".into());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "no client connected within {:?}",
                    self.opts.accept_timeout
                ));
            }
            thread::sleep(Duration::from_millis(2));
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn error(&self, msg: String) {
        lock(&self.record).errors.push(msg);
    }
}

/// The socket a session talks through.
enum Transport {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
    /// Closed by a step; later I/O steps fail.
    Gone,
}

impl Transport {
    fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Transport::Plain(sock) => Some(sock),
            Transport::Tls(tls) => Some(&tls.sock),
            Transport::Gone => None,
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(sock) => sock.read(buf),
            Transport::Tls(tls) => tls.read(buf),
            Transport::Gone => Ok(0),
        }
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Transport::Plain(sock) => sock.write_all(bytes),
            Transport::Tls(tls) => {
                tls.write_all(bytes)?;
                tls.flush()
            }
            Transport::Gone => Err(closed_error()),
        }
    }

    /// `reply` as the transport carries it (encrypted under TLS), then `raw`
    /// as it is, in one write on the socket.
    fn write_with_raw_tail(&mut self, reply: &[u8], raw: &[u8]) -> io::Result<()> {
        let (sock, mut wire) = match self {
            Transport::Plain(sock) => (sock, reply.to_vec()),
            Transport::Tls(tls) => {
                tls.conn.writer().write_all(reply)?;
                let mut wire = Vec::new();
                while tls.conn.wants_write() {
                    tls.conn.write_tls(&mut wire)?;
                }
                (&mut tls.sock, wire)
            }
            Transport::Gone => return Err(closed_error()),
        };
        wire.extend_from_slice(raw);
        sock.write_all(&wire)
    }
}

fn closed_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        "connection already closed by the script",
    )
}

/// Why a step could not complete.
enum Failure {
    /// The client sent something other than expected: reply 500, then close.
    Mismatch(String),
    /// Timeout, EOF or I/O error: just close.
    Broken(String),
}

/// Why a read returned no data.
enum ReadEnd {
    Eof,
    Timeout,
    Io(io::Error),
}

impl ReadEnd {
    fn describe(&self, waited: Duration) -> String {
        match self {
            ReadEnd::Eof => "client closed the connection".into(),
            ReadEnd::Timeout => format!("timed out after {waited:?} waiting for the client"),
            ReadEnd::Io(e) => format!("read failed: {e}"),
        }
    }
}

/// One connection running one script.
struct Session<'a> {
    server: &'a Server,
    index: usize,
    io: Transport,
    /// Bytes received but not yet consumed by a step.
    pending: Vec<u8>,
}

impl<'a> Session<'a> {
    fn new(server: &'a Server, index: usize, stream: TcpStream) -> io::Result<Self> {
        // Without NODELAY a Drip or a run of small Sends would be coalesced.
        stream.set_nodelay(true)?;
        stream.set_write_timeout(Some(server.opts.read_timeout))?;
        Ok(Session {
            server,
            index,
            io: Transport::Plain(stream),
            pending: Vec::new(),
        })
    }

    fn run(&mut self, script: Vec<Step>) {
        let total = script.len();
        for (n, step) in script.into_iter().enumerate() {
            if self.server.stopped() {
                return;
            }
            let label = format!(
                "connection {}, step {}/{total} {step:?}",
                self.index + 1,
                n + 1
            );
            if let Err(failure) = self.run_step(step) {
                self.fail(&label, failure);
                break;
            }
        }
        self.close_orderly();
    }

    fn fail(&mut self, label: &str, failure: Failure) {
        let msg = match failure {
            Failure::Mismatch(msg) => {
                let _ = self.io.write_all(MISMATCH_REPLY);
                msg
            }
            Failure::Broken(msg) => msg,
        };
        self.server.error(format!("{label}: {msg}"));
    }

    fn run_step(&mut self, step: Step) -> Result<(), Failure> {
        match step {
            Step::Send(bytes) => self.write(&bytes),
            Step::Expect(prefix) => self.expect_line(&prefix),
            Step::ExpectData => self.expect_data(),
            Step::ExpectBytes(n) => self.expect_bytes(n),
            Step::Delay(d) | Step::Stall(d) => {
                self.sleep(d);
                Ok(())
            }
            Step::Drip { bytes, every } => self.drip(&bytes, every),
            Step::Close => {
                self.close_orderly();
                Ok(())
            }
            Step::Reset => self.reset(),
            Step::StartTls(config) => self.start_tls(config),
            Step::ReadUntilClose => self.read_until_close(),
            Step::Flood { head, unit, max } => {
                self.flood(&head, &unit, max);
                Ok(())
            }
            Step::Truncate => {
                self.truncate();
                Ok(())
            }
            Step::SendRawUnderTls { reply, raw } => self
                .io
                .write_with_raw_tail(&reply, &raw)
                .map_err(|e| Failure::Broken(format!("write failed: {e}"))),
        }
    }

    fn flood(&mut self, head: &[u8], unit: &[u8], max: usize) {
        // Large writes keep the number of syscalls small for hundreds of MiB.
        let mut block = head.to_vec();
        while block.len() < head.len() + 64 * 1024 && !unit.is_empty() {
            block.extend_from_slice(unit);
        }
        let mut sent = 0;
        let mut first = true;
        while sent < max && !self.server.stopped() {
            let chunk = if first {
                &block[..]
            } else {
                &block[head.len()..]
            };
            first = false;
            let chunk = &chunk[..chunk.len().min(max - sent)];
            if chunk.is_empty() || self.io.write_all(chunk).is_err() {
                break;
            }
            sent += chunk.len();
        }
        lock(&self.server.record).flooded += sent;
    }

    /// FIN on the TCP socket under the TLS session, with no close_notify.
    fn truncate(&mut self) {
        if let Some(sock) = self.io.tcp()
            && sock.shutdown(Shutdown::Write).is_ok()
        {
            self.drain();
        }
        self.io = Transport::Gone;
    }

    /// Sleeps in slices so a dropped or timed-out server stops promptly.
    fn sleep(&self, total: Duration) {
        let end = Instant::now() + total;
        while !self.server.stopped() {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            thread::sleep(left.min(Duration::from_millis(50)));
        }
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        self.io
            .write_all(bytes)
            .map_err(|e| Failure::Broken(format!("write failed: {e}")))
    }

    fn drip(&mut self, bytes: &[u8], every: Duration) -> Result<(), Failure> {
        for (i, byte) in bytes.iter().enumerate() {
            if i > 0 {
                self.sleep(every);
            }
            self.write(std::slice::from_ref(byte))?;
        }
        Ok(())
    }

    fn expect_line(&mut self, prefix: &str) -> Result<(), Failure> {
        let line = self.read_line()?;
        lock(&self.server.record).commands.push(line.clone());
        let matches = line.len() >= prefix.len()
            && line.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes());
        if matches {
            Ok(())
        } else {
            Err(Failure::Mismatch(format!(
                "expected a line starting with {prefix:?}, got {line:?}"
            )))
        }
    }

    /// Takes one line off `pending`, reading more until it holds a newline.
    fn read_line(&mut self) -> Result<String, Failure> {
        let deadline = self.deadline();
        loop {
            if let Some(nl) = self.pending.iter().position(|&b| b == b'\n') {
                let raw: Vec<u8> = self.pending.drain(..=nl).collect();
                let line = raw.strip_suffix(b"\n").unwrap_or(&raw);
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                return Ok(String::from_utf8_lossy(line).into_owned());
            }
            self.fill(deadline).map_err(|end| self.broken(end))?;
        }
    }

    fn expect_data(&mut self) -> Result<(), Failure> {
        let deadline = self.deadline();
        let mut scanned = 0;
        loop {
            if let Some(end) = find_data_end(&self.pending, scanned) {
                let payload: Vec<u8> = self.pending.drain(..end).collect();
                self.pending.drain(..3);
                lock(&self.server.record).data.push(payload);
                return Ok(());
            }
            scanned = self.pending.len();
            self.fill(deadline).map_err(|end| self.broken(end))?;
        }
    }

    fn expect_bytes(&mut self, n: usize) -> Result<(), Failure> {
        let deadline = self.deadline();
        while self.pending.len() < n {
            self.fill(deadline).map_err(|end| self.broken(end))?;
        }
        let payload: Vec<u8> = self.pending.drain(..n).collect();
        lock(&self.server.record).data.push(payload);
        Ok(())
    }

    fn read_until_close(&mut self) -> Result<(), Failure> {
        let deadline = self.deadline();
        loop {
            match self.fill(deadline) {
                Ok(()) => {}
                Err(ReadEnd::Eof) => break,
                Err(end) => return Err(self.broken(end)),
            }
        }
        self.pending.clear();
        Ok(())
    }

    fn reset(&mut self) -> Result<(), Failure> {
        let Some(sock) = self.io.tcp() else {
            return Err(Failure::Broken(closed_error().to_string()));
        };
        socket2::SockRef::from(sock)
            .set_linger(Some(Duration::ZERO))
            .map_err(|e| Failure::Broken(format!("SO_LINGER: {e}")))?;
        self.io = Transport::Gone;
        Ok(())
    }

    fn start_tls(&mut self, config: Arc<ServerConfig>) -> Result<(), Failure> {
        let sock = match std::mem::replace(&mut self.io, Transport::Gone) {
            Transport::Plain(sock) => sock,
            other => {
                self.io = other;
                return Err(Failure::Broken("StartTls needs a plain connection".into()));
            }
        };
        let mut conn = ServerConnection::new(config)
            .map_err(|e| Failure::Broken(format!("TLS setup: {e}")))?;
        let early = std::mem::take(&mut self.pending);
        feed(&mut conn, &early).map_err(|e| Failure::Broken(format!("TLS handshake: {e}")))?;
        let mut sock = sock;
        // On failure the socket is dropped: its bytes are ciphertext, not
        // worth recording, and rustls has already sent its alert.
        self.handshake(&mut conn, &mut sock)?;
        lock(&self.server.record).tls.push(TlsHandshake {
            sni: conn.server_name().map(str::to_owned),
            client_certs: conn.peer_certificates().map_or(0, <[_]>::len),
            version: conn
                .protocol_version()
                .map(|v| format!("{v:?}"))
                .unwrap_or_default(),
        });
        self.io = Transport::Tls(Box::new(StreamOwned::new(conn, sock)));
        Ok(())
    }

    fn handshake(&self, conn: &mut ServerConnection, sock: &mut TcpStream) -> Result<(), Failure> {
        let deadline = self.deadline();
        while conn.is_handshaking() || conn.wants_write() {
            arm_read_timeout(sock, deadline).map_err(|end| self.broken(end))?;
            match conn.complete_io(sock) {
                Ok((0, 0)) if conn.is_handshaking() => {
                    return Err(self.broken(ReadEnd::Eof));
                }
                Ok(_) => {}
                Err(e) if is_timeout(&e) => return Err(self.broken(ReadEnd::Timeout)),
                Err(e) => return Err(Failure::Broken(format!("TLS handshake failed: {e}"))),
            }
        }
        Ok(())
    }

    /// FIN (after close_notify in TLS), then read what the client still
    /// sends so the kernel does not turn the close into a RST.
    fn close_orderly(&mut self) {
        let sock = match &mut self.io {
            Transport::Gone => return,
            Transport::Plain(sock) => sock,
            Transport::Tls(tls) => {
                tls.conn.send_close_notify();
                let _ = tls.flush();
                &tls.sock
            }
        };
        if sock.shutdown(Shutdown::Write).is_ok() {
            self.drain();
        }
        self.io = Transport::Gone;
    }

    /// Reads until the client closes, goes quiet for `DRAIN_IDLE`, or
    /// `DRAIN_MAX` passes: long enough to take in what a client sent before
    /// it saw our FIN, short enough not to wait on a client that holds the
    /// socket open.
    fn drain(&mut self) {
        let cap = Instant::now() + DRAIN_MAX.min(self.server.opts.read_timeout);
        while self.fill(cap.min(Instant::now() + DRAIN_IDLE)).is_ok() {}
    }

    /// Reads once into `pending`, recording the bytes.
    fn fill(&mut self, deadline: Instant) -> Result<(), ReadEnd> {
        let mut buf = [0u8; 16 * 1024];
        loop {
            let sock = self.io.tcp().ok_or(ReadEnd::Io(closed_error()))?;
            arm_read_timeout(sock, deadline)?;
            match self.io.read(&mut buf) {
                Ok(0) => return Err(ReadEnd::Eof),
                Ok(n) => {
                    self.record_read(&buf[..n]);
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_timeout(&e) => return Err(ReadEnd::Timeout),
                // A TLS peer that closes without close_notify still closed.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Err(ReadEnd::Eof),
                Err(e) => return Err(ReadEnd::Io(e)),
            }
        }
    }

    fn record_read(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        let mut record = lock(&self.server.record);
        record.received.extend_from_slice(bytes);
        record.reads.push(bytes.to_vec());
    }

    fn deadline(&self) -> Instant {
        Instant::now() + self.server.opts.read_timeout
    }

    fn broken(&self, end: ReadEnd) -> Failure {
        Failure::Broken(end.describe(self.server.opts.read_timeout))
    }
}

/// Sets the socket's read timeout to what is left before `deadline`, so a
/// step's reads share one budget however the client splits its writes.
fn arm_read_timeout(sock: &TcpStream, deadline: Instant) -> Result<(), ReadEnd> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(ReadEnd::Timeout);
    }
    sock.set_read_timeout(Some(left)).map_err(ReadEnd::Io)
}

/// Index of the terminating `.\r\n` line in a DATA payload, scanning from
/// about `from` so a growing buffer is not rescanned from the start.
fn find_data_end(buf: &[u8], from: usize) -> Option<usize> {
    if buf.starts_with(b".\r\n") {
        return Some(0);
    }
    let start = from.saturating_sub(4);
    buf.get(start..)?
        .windows(5)
        .position(|w| w == b"\r\n.\r\n")
        .map(|pos| start + pos + 2)
}

/// Hands bytes the client sent before the handshake started to rustls.
fn feed(conn: &mut ServerConnection, mut bytes: &[u8]) -> Result<(), String> {
    while !bytes.is_empty() {
        conn.read_tls(&mut bytes).map_err(|e| e.to_string())?;
        conn.process_new_packets().map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn escape(bytes: &[u8]) -> String {
    const MAX: usize = 60;
    let shown = &bytes[..bytes.len().min(MAX)];
    let more = if bytes.len() > MAX { "..." } else { "" };
    format!("\"{}{more}\"", shown.escape_ascii())
}
