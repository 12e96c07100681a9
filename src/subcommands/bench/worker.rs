//! One bench worker: opens sessions one after another and runs back-to-back
//! transactions on each, until the budget is spent, the time is up, or the run stops.
//! Every I/O step keeps its RFC 5321 timeout, so a silent server cannot hold a worker
//! longer than that.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::clock::OpenClock;
use crate::load::budget::{Budget, Claim};
use crate::load::pipeline::{Next, Outgoing, Pipeline, Shape};
use crate::load::tally::Tally;
use crate::load::workload::Workload;
use crate::outcome::{ExitCode, Failure, FailureKind, Phase};
use crate::session::open::{OpenPlan, Opened, open};
use crate::session::{Session, SessionContext, Timeouts};
use crate::smtp::ReplyClass;

/// Sessions in a row that may fail to open before a worker gives up; each failure waits
/// a little longer before the next try.
const OPEN_ATTEMPTS: u32 = 3;
const OPEN_BACKOFF: Duration = Duration::from_millis(100);

/// Writes up to this size are copied into one buffer so that commands and content
/// leave in one system call; larger content goes as it is, in its own write.
const COALESCE: usize = 256 * 1024;

/// What every worker shares.
pub(super) struct Shared {
    pub open: OpenPlan,
    pub workload: std::sync::Arc<Workload>,
    pub budget: Budget,
    pub per_session: Option<u64>,
    pub pipelining: bool,
    pub chunking: bool,
    pub timeouts: Timeouts,
    pub started: tokio::time::Instant,
    pub overall: Option<tokio::time::Instant>,
    pub live: Live,
    /// How the server refused commands pipelined after a final dot, first seen: every
    /// session opened after that sends each dot alone.
    pub dot_refusal: std::sync::OnceLock<String>,
}

/// Counters the progress bar reads while the run goes.
#[derive(Debug, Default)]
pub(super) struct Live {
    pub finished: AtomicU64,
    pub unsuccessful: AtomicU64,
}

/// How far the run is: workers stop starting messages at `Stopping`, and drop what is
/// still in flight at `Abandon`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stage {
    Running,
    Stopping,
    Abandon,
}

#[derive(Debug, Default)]
pub(super) struct WorkerReport {
    pub tally: Tally,
    pub pipelined: u64,
    pub chunked: u64,
    pub tls: u64,
    /// Sessions whose TLS certificate was not verified (opportunistic TLS goes on
    /// regardless, and bench shows no transcript to say so).
    pub tls_unverified: u64,
}

impl WorkerReport {
    pub fn merge(&mut self, other: &WorkerReport) {
        self.tally.merge(&other.tally);
        self.pipelined += other.pipelined;
        self.chunked += other.chunked;
        self.tls += other.tls;
        self.tls_unverified += other.tls_unverified;
    }
}

/// How a session attempt ended.
enum Attempt {
    /// It opened (whatever happened to its messages later).
    Opened,
    /// It did not open; another try may do better (refused connection, 4xx greeting).
    Failed,
    /// It did not open and no session would (bad certificate, AUTH refused, a message
    /// the server cannot take): the run stops.
    Fatal,
}

pub(super) async fn run(
    shared: std::sync::Arc<Shared>,
    stage: watch::Receiver<Stage>,
) -> WorkerReport {
    let mut w = Worker {
        shared: &shared,
        report: WorkerReport::default(),
        clock: OpenClock::default(),
        pipe: None,
        held: None,
        published: Published::default(),
    };
    let mut abandon = stage.clone();
    let finished = tokio::select! {
        () = w.sessions(stage) => true,
        () = wait_for(&mut abandon, Stage::Abandon) => false,
    };
    if !finished {
        // The session future is gone with its connection; what it had in flight is
        // counted here, at the step each message was waiting for.
        if let Some(pipe) = w.pipe.as_mut() {
            pipe.fail_all(
                "abandoned: still in flight when the run stopped",
                ExitCode::Temporary,
                &mut w.report.tally,
            );
        }
        w.clock.flush(&mut w.report.tally);
        w.published.publish(&w.report.tally, &shared.live);
    }
    w.report
}

async fn wait_for(rx: &mut watch::Receiver<Stage>, stage: Stage) {
    if rx.wait_for(|s| *s == stage).await.is_err() {
        std::future::pending::<()>().await;
    }
}

struct Worker<'s> {
    shared: &'s Shared,
    report: WorkerReport,
    clock: OpenClock,
    /// The session's pipeline, kept here so that an abandoned session's messages can
    /// still be counted.
    pipe: Option<Pipeline>,
    /// A message claimed for a session that did not open: the next session starts it.
    held: Option<u64>,
    published: Published,
}

impl Worker<'_> {
    async fn sessions(&mut self, mut stage: watch::Receiver<Stage>) {
        let mut failed_in_a_row = 0;
        loop {
            let first = match self.held.take() {
                Some(k) => k,
                None => match claim(self.shared, &mut stage, 0).await {
                    Some(k) => k,
                    None => return,
                },
            };
            match self.session(first, &mut stage).await {
                Attempt::Opened => failed_in_a_row = 0,
                Attempt::Failed => {
                    self.held = Some(first);
                    failed_in_a_row += 1;
                    if failed_in_a_row >= OPEN_ATTEMPTS || self.shared.budget.is_stopped() {
                        return;
                    }
                    tokio::time::sleep(OPEN_BACKOFF * failed_in_a_row).await;
                }
                Attempt::Fatal => {
                    self.shared.budget.stop();
                    return;
                }
            }
        }
    }

    async fn session(&mut self, first: u64, stage: &mut watch::Receiver<Stage>) -> Attempt {
        let Worker {
            shared,
            report,
            clock,
            pipe,
            published,
            ..
        } = self;
        let shared: &Shared = shared;
        let ctx = SessionContext {
            events: Box::new(&mut *clock),
            timeouts: shared.timeouts,
            overall: shared.overall,
            started: shared.started,
            show_secrets: false,
        };
        let tally = &mut report.tally;
        let attempt = match open(ctx, &shared.open).await {
            Opened::Ready(mut session) => {
                tally.sessions_opened += 1;
                let caps = session.capabilities.clone().unwrap_or_default();
                let shape = Shape {
                    pipelining: shared.pipelining && caps.pipelining(),
                    chunking: shared.chunking && caps.chunking(),
                    dot_alone: shared.dot_refusal.get().is_some(),
                };
                report.pipelined += u64::from(shape.pipelining);
                report.chunked += u64::from(shape.chunking);
                if let Some(tls) = &session.tls {
                    report.tls += 1;
                    report.tls_unverified += u64::from(!tls.verification.is_verified());
                }
                match shared.workload.mail_line(&caps, shape.chunking) {
                    Ok(mail) => {
                        let p = pipe.insert(Pipeline::new(shape, shared.workload.clone(), mail));
                        exchange(&mut session, p, tally, first, shared, stage, published).await;
                        *pipe = None;
                        session.abort().await;
                        Attempt::Opened
                    }
                    Err(f) => {
                        tally.session_failed(f.phase, &f.message, f.exit_code());
                        session.quit().await;
                        Attempt::Fatal
                    }
                }
            }
            Opened::Stopped(session, _) => {
                session.abort().await;
                Attempt::Opened
            }
            Opened::Refused(session, phase, reply) => {
                let words = format!("{} {}", reply.code, reply.lines.join(" "));
                tally.session_failed(phase, &words, ExitCode::for_reply(&reply));
                session.quit().await;
                if reply.class() == ReplyClass::PermanentNegative {
                    Attempt::Fatal
                } else {
                    Attempt::Failed
                }
            }
            Opened::Declined(session, f) => {
                tally.session_failed(f.phase, &f.message, f.exit_code());
                session.quit().await;
                attempt_after(&f)
            }
            Opened::Failed(_, f) => {
                tally.session_failed(f.phase, &f.message, f.exit_code());
                attempt_after(&f)
            }
        };
        clock.flush(tally);
        published.publish(tally, &shared.live);
        attempt
    }
}

/// Failures that every session would meet again stop the run: retrying a refused
/// certificate or password only repeats it (and may lock the account).
fn attempt_after(f: &Failure) -> Attempt {
    match f.kind {
        FailureKind::Connect
        | FailureKind::Timeout
        | FailureKind::Closed
        | FailureKind::Temporary
        | FailureKind::Dns { temporary: true } => Attempt::Failed,
        _ => Attempt::Fatal,
    }
}

/// Messages back to back on one open session, starting with `first`, until this
/// session's share is done (QUIT) or the connection ends.
async fn exchange(
    session: &mut Session<'_>,
    pipe: &mut Pipeline,
    tally: &mut Tally,
    first: u64,
    shared: &Shared,
    stage: &mut watch::Receiver<Stage>,
    published: &mut Published,
) {
    let mut out = Outgoing::default();
    let mut buf = Vec::new();
    let mut sent: u64 = 1;
    pipe.start(first, Instant::now(), &mut out, tally);
    loop {
        if let Err(f) = write(session, &out, shared, &mut buf).await {
            pipe.fail_all(&f.message, f.exit_code(), tally);
            published.publish(tally, &shared.live);
            return;
        }
        pipe.wrote();
        out.clear();
        if pipe.quit_queued() {
            session.end_writes_after_quit().await;
        }
        loop {
            let phase = pipe.waiting_for();
            let reply = match session
                .read_reply(phase, shared.timeouts.for_phase(phase))
                .await
            {
                Ok(r) => r,
                Err(f) => {
                    pipe.fail_all(&f.message, f.exit_code(), tally);
                    published.publish(tally, &shared.live);
                    return;
                }
            };
            let next = pipe.on_reply(&reply, Instant::now(), &mut out, tally);
            if let Some(refusal) = pipe.take_dot_refusal() {
                let _ = shared.dot_refusal.set(refusal);
            }
            published.publish(tally, &shared.live);
            match next {
                Next::Read => continue,
                Next::Write { open: false } => {}
                Next::Write { open: true } => {
                    // The next message rides with this content, if one is due now;
                    // under --rate it waits for its slot after this one's reply.
                    match claim_now(shared, sent) {
                        Some(Claim::Ticket(k)) => {
                            pipe.start(k, Instant::now(), &mut out, tally);
                            sent += 1;
                        }
                        Some(Claim::NotBefore(_)) => {}
                        Some(Claim::Exhausted) | None => pipe.quit(&mut out),
                    }
                }
                Next::Idle => match claim(shared, stage, sent).await {
                    Some(k) => {
                        pipe.start(k, Instant::now(), &mut out, tally);
                        sent += 1;
                    }
                    None => pipe.quit(&mut out),
                },
                Next::Close | Next::Done => return,
            }
            break;
        }
    }
}

/// One write of commands and content; see [`COALESCE`].
async fn write(
    session: &mut Session<'_>,
    out: &Outgoing,
    shared: &Shared,
    buf: &mut Vec<u8>,
) -> Result<(), Failure> {
    let content = out.content_bytes(&shared.workload);
    let (phase, timeout) = if content.is_empty() {
        (Phase::Mail, shared.timeouts.command)
    } else {
        (Phase::Body, shared.timeouts.data_block)
    };
    if out.head.len() + content.len() + out.tail.len() <= COALESCE {
        buf.clear();
        buf.extend_from_slice(&out.head);
        buf.extend_from_slice(content);
        buf.extend_from_slice(&out.tail);
        return session.write_raw(buf, phase, timeout).await;
    }
    for part in [&out.head[..], content, &out.tail[..]] {
        if !part.is_empty() {
            session.write_raw(part, phase, timeout).await?;
        }
    }
    Ok(())
}

/// The next message for a session that has sent `sent`, if one may start right now.
/// None when the session's share (`--per-session`) is done.
fn claim_now(shared: &Shared, sent: u64) -> Option<Claim> {
    if shared.per_session.is_some_and(|p| sent >= p) {
        return None;
    }
    Some(shared.budget.claim(Instant::now()))
}

/// The next message, waiting for its `--rate` slot if need be; None when there is no
/// more for this session.
async fn claim(shared: &Shared, stage: &mut watch::Receiver<Stage>, sent: u64) -> Option<u64> {
    loop {
        match claim_now(shared, sent)? {
            Claim::Ticket(k) => return Some(k),
            Claim::Exhausted => return None,
            Claim::NotBefore(at) => {
                let at = tokio::time::Instant::from_std(at);
                tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    // Stopping: the budget is stopped too, so the next claim says so.
                    changed = stage.changed() => if changed.is_err() {
                        tokio::time::sleep_until(at).await;
                    },
                }
            }
        }
    }
}

/// What this worker has added to the live counters so far.
#[derive(Debug, Default)]
struct Published {
    finished: u64,
    unsuccessful: u64,
}

impl Published {
    fn publish(&mut self, tally: &Tally, live: &Live) {
        let finished = tally.finished();
        if finished != self.finished {
            live.finished
                .fetch_add(finished - self.finished, Ordering::Relaxed);
            self.finished = finished;
        }
        let unsuccessful = tally.unsuccessful() + tally.session_failures_total();
        if unsuccessful != self.unsuccessful {
            live.unsuccessful
                .fetch_add(unsuccessful - self.unsuccessful, Ordering::Relaxed);
            self.unsuccessful = unsuccessful;
        }
    }
}
