//! `smtpx serve`: a local SMTP server built on `serve/`'s state machine. One task per
//! listener accepts; one task per session runs it; the run ends at `--max-messages`,
//! `--max-sessions` or SIGINT/SIGTERM, giving sessions in progress a bounded time.

mod session;
mod store;
mod validate;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::time::Instant;

use super::plan;
use crate::cli::serve::ServeArgs;
use crate::net::tls::server::TlsServer;
use crate::outcome::ExitCode;
use crate::render::serve::ServeView;
use crate::render::{Status, Summary, plural};
use crate::serve::{Counters, ServeEvent, Settings};
use store::Store;
use validate::ServePlan;

/// How long sessions in progress may go on once the server stops.
const GRACE: Duration = Duration::from_secs(5);

/// What every session shares.
pub struct Shared {
    settings: Arc<Settings>,
    counters: Arc<Counters>,
    store: Store,
    tls: Option<TlsServer>,
    view: Mutex<ServeView<std::io::Stdout, std::io::Stderr>>,
    transcript: bool,
    started: Instant,
    idle_timeout: Duration,
    seed: [u8; 32],
    messages: AtomicU64,
    max_messages: Option<u64>,
    stopping: AtomicBool,
    stop: watch::Sender<Option<String>>,
}

impl Shared {
    fn emit(&self, event: ServeEvent) {
        let at = self.started.elapsed();
        let mut view = self.view.lock().unwrap_or_else(|e| e.into_inner());
        view.emit(at, &event);
    }

    /// Emits an event only when the output shows it, so quiet runs do not build them.
    fn emit_if_shown(&self, event: impl FnOnce() -> ServeEvent) {
        if self.transcript {
            self.emit(event());
        }
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    fn request_stop(&self, why: String) {
        self.stopping.store(true, Ordering::Relaxed);
        self.stop.send_if_modified(|current| {
            if current.is_none() {
                *current = Some(why);
                true
            } else {
                false
            }
        });
    }

    /// Counts a stored message; returns its number.
    fn message_stored(&self) -> u64 {
        let n = self.messages.fetch_add(1, Ordering::Relaxed) + 1;
        if self.max_messages.is_some_and(|max| n >= max) {
            self.request_stop(format!(
                "{n} message{} received (--max-messages)",
                plural(n as usize)
            ));
        }
        n
    }

    /// Per-session seed for SASL nonces and salts.
    fn random(&self, session: u64) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.seed);
        h.update(session.to_le_bytes());
        h.finalize().into()
    }
}

pub fn run(args: ServeArgs) -> u8 {
    let opts = plan::render_options(&args.output);
    let mut view = ServeView::new(opts, std::io::stdout(), std::io::stderr());
    let fail = |view: &mut ServeView<_, _>, code: ExitCode, msg: &str| {
        crate::render::error_line(msg);
        if opts.style == crate::render::Style::Json {
            view.finish(&Summary::new(Status::Failed, code, msg));
        }
        code.code()
    };
    let plan = match validate::validate(&args) {
        Ok(p) => p,
        Err(msg) => return fail(&mut view, ExitCode::Usage, &msg),
    };
    // One thread, as smtp-sink has one process: a session's command and reply never
    // wait for a hand-over between threads, which costs most on a busy machine.
    let runtime = match plan::runtime() {
        Ok(rt) => rt,
        Err(msg) => return fail(&mut view, ExitCode::Other, &msg),
    };
    let store = Store::new(
        match &plan.storage {
            validate::Storage::Maildir(d) => validate::Storage::Maildir(d.clone()),
            validate::Storage::Mbox(f) => validate::Storage::Mbox(f.clone()),
            validate::Storage::Discard => validate::Storage::Discard,
        },
        &plan.settings.hostname,
    );
    if let Err(msg) = store.prepare() {
        return fail(&mut view, ExitCode::Other, &msg);
    }
    if let (Some(path), Some(tls)) = (&args.tls_cert_out, &plan.tls)
        && let Err(e) = std::fs::write(path, &tls.cert_pem)
    {
        return fail(
            &mut view,
            ExitCode::Other,
            &format!("--tls-cert-out {}: {e}", path.display()),
        );
    }
    // Signal handlers go in before the address is printed: a client that reads the
    // address and at once sends SIGTERM must not kill the process.
    let signals = match runtime.block_on(async { Signals::install() }) {
        Ok(s) => s,
        Err(e) => {
            return fail(
                &mut view,
                ExitCode::Other,
                &format!("cannot handle signals: {e}"),
            );
        }
    };
    let listeners = match runtime.block_on(bind(&plan)) {
        Ok(l) => l,
        Err(msg) => return fail(&mut view, ExitCode::Connection, &msg),
    };
    let started = Instant::now();
    for (listener, implicit_tls) in &listeners {
        if let Ok(addr) = listener.local_addr() {
            view.emit(
                started.elapsed(),
                &ServeEvent::Listening {
                    addr,
                    implicit_tls: *implicit_tls,
                },
            );
        }
    }
    for addr in &plan.public {
        view.emit(
            started.elapsed(),
            &ServeEvent::Warning {
                session: None,
                message: format!(
                    "{addr} is not a loopback address: other machines can send to this server"
                ),
            },
        );
    }
    if let Some(tls) = &plan.tls {
        view.emit(
            started.elapsed(),
            &ServeEvent::Certificate {
                sha256: tls.sha256.clone(),
                subject: tls.subject.clone(),
                written_to: args.tls_cert_out.as_ref().map(|p| p.display().to_string()),
            },
        );
    }
    let transcript = view.wants_transcript();
    let (stop, stop_rx) = watch::channel(None);
    let shared = Arc::new(Shared {
        settings: Arc::new(plan.settings),
        counters: Arc::new(Counters::default()),
        store,
        tls: plan.tls,
        view: Mutex::new(view),
        transcript,
        started,
        idle_timeout: plan.idle_timeout,
        seed: seed(),
        messages: AtomicU64::new(0),
        max_messages: plan.max_messages,
        stopping: AtomicBool::new(false),
        stop,
    });
    let limits = Limits {
        concurrent: Arc::new(Semaphore::new(plan.max_concurrent)),
        max_sessions: plan.max_sessions,
        accepted: Arc::new(AtomicU64::new(0)),
        ended: Arc::new(AtomicU64::new(0)),
        idle: Arc::new(Notify::new()),
    };
    let why = runtime.block_on(serve(
        Arc::clone(&shared),
        listeners,
        limits.clone(),
        stop_rx,
        signals,
    ));
    let messages = shared.messages.load(Ordering::Relaxed);
    let sessions = limits.accepted.load(Ordering::Relaxed);
    // Sessions past the grace period are dropped with the runtime.
    runtime.shutdown_background();
    let summary = Summary::new(
        Status::Ok,
        ExitCode::Success,
        format!(
            "{messages} message{} in {sessions} session{}; stopped: {why}",
            plural(messages as usize),
            plural(sessions as usize)
        ),
    )
    .with("messages", messages)
    .with("sessions", sessions)
    .with("stopped", &why);
    let mut summary = summary;
    summary.elapsed = Some(started.elapsed());
    let mut view = shared.view.lock().unwrap_or_else(|e| e.into_inner());
    view.finish(&summary);
    let _ = std::io::stdout().flush();
    summary.exit_code
}

#[derive(Clone)]
struct Limits {
    concurrent: Arc<Semaphore>,
    max_sessions: Option<u64>,
    accepted: Arc<AtomicU64>,
    ended: Arc<AtomicU64>,
    idle: Arc<Notify>,
}

async fn bind(plan: &ServePlan) -> Result<Vec<(TcpListener, bool)>, String> {
    let mut out = Vec::new();
    for l in &plan.listeners {
        let listener = TcpListener::bind(l.addr)
            .await
            .map_err(|e| format!("cannot listen on {}: {}", l.addr, plan::io_words(&e)))?;
        out.push((listener, l.implicit_tls));
    }
    Ok(out)
}

/// Runs until a stop; returns why it stopped.
async fn serve(
    shared: Arc<Shared>,
    listeners: Vec<(TcpListener, bool)>,
    limits: Limits,
    mut stop_rx: watch::Receiver<Option<String>>,
    mut signals: Signals,
) -> String {
    for (listener, implicit_tls) in listeners {
        tokio::spawn(accept_loop(
            Arc::clone(&shared),
            listener,
            implicit_tls,
            limits.clone(),
            stop_rx.clone(),
        ));
    }
    let why = tokio::select! {
        name = signals.next() => {
            shared.request_stop(format!("{name} received"));
            format!("{name} received")
        }
        r = stop_rx.wait_for(Option::is_some) => {
            r.ok().and_then(|why| why.clone()).unwrap_or_default()
        }
    };
    // Sessions in progress finish, within the grace period.
    let active = limits.accepted.load(Ordering::SeqCst) - limits.ended.load(Ordering::SeqCst);
    shared.emit(ServeEvent::Stopping {
        reason: why.clone(),
        sessions: active,
        grace_ms: GRACE.as_millis() as u64,
    });
    let deadline = Instant::now() + GRACE;
    loop {
        let active = limits.accepted.load(Ordering::SeqCst) - limits.ended.load(Ordering::SeqCst);
        if active == 0 {
            break;
        }
        let notified = limits.idle.notified();
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            break;
        }
    }
    why
}

async fn accept_loop(
    shared: Arc<Shared>,
    listener: TcpListener,
    implicit_tls: bool,
    limits: Limits,
    mut stop_rx: watch::Receiver<Option<String>>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop_rx.wait_for(Option::is_some) => return,
        };
        let (tcp, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // EMFILE and friends: wait a little rather than spin.
                shared.emit(ServeEvent::Warning {
                    session: None,
                    message: format!("accept failed: {e}"),
                });
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&limits.concurrent).try_acquire_owned() else {
            tokio::spawn(turn_away(
                Arc::clone(&shared),
                tcp,
                peer,
                "too many sessions at once (--max-concurrent)",
            ));
            continue;
        };
        let number = limits.accepted.fetch_add(1, Ordering::SeqCst) + 1;
        if limits.max_sessions.is_some_and(|max| number > max) {
            limits.accepted.fetch_sub(1, Ordering::SeqCst);
            drop(permit);
            tokio::spawn(turn_away(
                Arc::clone(&shared),
                tcp,
                peer,
                "the session limit is reached (--max-sessions)",
            ));
            continue;
        }
        let shared = Arc::clone(&shared);
        let limits = limits.clone();
        tokio::spawn(async move {
            session::run(Arc::clone(&shared), tcp, number, implicit_tls).await;
            drop(permit);
            let ended = limits.ended.fetch_add(1, Ordering::SeqCst) + 1;
            if limits.max_sessions.is_some_and(|max| ended >= max) {
                shared.request_stop(format!(
                    "{ended} session{} ended (--max-sessions)",
                    plural(ended as usize)
                ));
            }
            limits.idle.notify_waiters();
        });
    }
}

async fn turn_away(shared: Arc<Shared>, mut tcp: TcpStream, peer: SocketAddr, why: &str) {
    shared.emit(ServeEvent::TurnedAway {
        peer,
        reason: why.to_string(),
    });
    let line = format!("421 4.3.2 {} closing the connection\r\n", capitalise(why));
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        let _ = tcp.write_all(line.as_bytes()).await;
        let _ = tcp.shutdown().await;
    })
    .await;
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect::<String>() + ",",
        None => String::new(),
    }
}

struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}

fn seed() -> [u8; 32] {
    use std::io::Read;
    let mut buf = [0u8; 32];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .is_err()
    {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        buf = Sha256::digest(format!("{t}{}", std::process::id())).into();
    }
    buf
}
