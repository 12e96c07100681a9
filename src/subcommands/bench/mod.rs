//! `smtpx bench`: a load generator in the manner of Postfix's smtp-source. Parallel
//! sessions share one message budget; each runs back-to-back pipelined transactions
//! (`load::pipeline`) with no transcript, and the run ends with one report; `bench
//! merge` joins such reports.

mod clock;
mod merge;
mod validate;
mod worker;

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinSet;

use super::plan::{self, Run};
use crate::cli::{BenchAction, BenchArgs};
use crate::load::budget::Budget;
use crate::load::report::{BenchReport, Request};
use crate::render::Style;
use crate::render::bench::{self as report_view, Progress};
use crate::render::outcome as summary;
use validate::BenchPlan;
use worker::{Live, Shared, Stage, WorkerReport};

/// How long messages in flight may take to finish once the run stops starting new ones
/// (the end of `--duration`, or Ctrl-C) before they are abandoned and counted as failed.
const GRACE: Duration = Duration::from_secs(2);

/// How often the progress bar is redrawn.
const TICK: Duration = Duration::from_millis(200);

pub fn run(mut args: BenchArgs) -> u8 {
    if let Some(BenchAction::Merge(merge)) = args.action.take() {
        return merge::run(merge);
    }
    let mut run = Run::new(&args.output);
    let plan = match validate::validate(&args) {
        Ok(p) => p,
        Err(msg) => return run.usage_error(&msg),
    };
    let runtime = match runtime(plan.sessions) {
        Ok(rt) => rt,
        Err(msg) => return run.usage_error(&msg),
    };
    let open = match runtime.block_on(plan::resolve_open(
        &args.server,
        &plan.target,
        plan.open.clone(),
    )) {
        Ok(open) => open,
        Err(f) => return run.finish(&summary::failure(&f, &[])),
    };
    let show_progress = run.opts.style == Style::Transcript
        && std::io::stderr().is_terminal()
        && std::env::var_os("CI").is_none();
    // With only --duration, the message count is a safety cap, not a goal.
    let goal = (args.messages.is_some() || plan.duration.is_none()).then_some(plan.messages);
    let progress = Progress::new(goal, plan.duration, show_progress);
    let request = Request {
        server: plan::server_label(&args.server),
        sessions: plan.sessions,
        messages: goal,
        per_session: plan.per_session,
        rcpts: plan.workload.rcpts,
        message_size: plan.workload.message_size(),
        body_size: plan.body_size,
        rate: plan.rate.map(|r| r.per_second()),
        duration: plan.duration,
        chunking: plan.chunking,
        pipelining: plan.pipelining,
    };
    let report = runtime.block_on(drive(plan, open, request, &progress));
    progress.finish();
    if report.stop == crate::load::budget::StopReason::Interrupted && !show_progress {
        // The bar, when there was one, took the echoed ^C away with it.
        crate::render::progress::after_interrupt_std();
    }
    // Every worker has ended; nothing is left to wait for.
    runtime.shutdown_background();
    let timing = run.opts.timing;
    run.renderer.report(
        &report_view::lines(&report, timing),
        report_view::json(&report, timing),
    );
    run.finish(&report_view::summary(&report))
}

/// One worker thread per core, or no more than there are sessions: with one session a
/// single-threaded runtime saves the hand-offs between threads.
fn runtime(sessions: u32) -> Result<tokio::runtime::Runtime, String> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores.min(sessions as usize);
    let mut builder = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(threads);
        b
    };
    builder
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

async fn drive(
    plan: BenchPlan,
    open: crate::session::open::OpenPlan,
    request: Request,
    progress: &Progress,
) -> BenchReport {
    let t0 = Instant::now();
    let wall_start = std::time::SystemTime::now();
    let started = tokio::time::Instant::from_std(t0);
    // `--timeout` is a hard deadline for the whole run; `--duration` only stops new
    // messages. Either way, no message starts after the earlier of the two.
    let stop_after = match (plan.duration, plan.overall) {
        (Some(d), Some(t)) => Some(d.min(t)),
        (d, t) => d.or(t),
    };
    let shared = Arc::new(Shared {
        open,
        workload: plan.workload.clone(),
        budget: Budget::new(plan.messages, t0, stop_after, plan.rate),
        per_session: plan.per_session,
        pipelining: plan.pipelining,
        chunking: plan.chunking,
        timeouts: plan.timeouts,
        started,
        overall: plan.overall.map(|d| started + d),
        live: Live::default(),
        dot_refusal: std::sync::OnceLock::new(),
    });
    let (stage_tx, stage_rx) = watch::channel(Stage::Running);
    let mut workers = JoinSet::new();
    for _ in 0..plan.sessions {
        workers.spawn(worker::run(shared.clone(), stage_rx.clone()));
    }
    let mut total = WorkerReport::default();
    let mut interrupted = false;
    let mut abandon_at = stop_after.map(|d| started + d + GRACE);
    let mut ctrl_c = Box::pin(tokio::signal::ctrl_c());
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let abandon = abandon_at.unwrap_or_else(|| started + Duration::from_secs(86_400 * 365));
        tokio::select! {
            joined = workers.join_next() => match joined {
                Some(Ok(report)) => total.merge(&report),
                Some(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Some(Err(_)) => {}
                None => break,
            },
            _ = &mut ctrl_c => {
                if interrupted {
                    // A second Ctrl-C: do not wait for the grace period.
                    abandon_at = Some(tokio::time::Instant::now());
                } else {
                    interrupted = true;
                    shared.budget.stop();
                    let _ = stage_tx.send(Stage::Stopping);
                    let soon = tokio::time::Instant::now() + GRACE;
                    abandon_at = Some(abandon_at.map_or(soon, |a| a.min(soon)));
                }
                ctrl_c.set(tokio::signal::ctrl_c());
            }
            () = tokio::time::sleep_until(abandon), if abandon_at.is_some() => {
                let _ = stage_tx.send(Stage::Abandon);
                abandon_at = None;
            }
            _ = ticker.tick() => progress.update(
                shared.live.finished.load(Ordering::Relaxed),
                shared.live.unsuccessful.load(Ordering::Relaxed),
            ),
        }
    }
    BenchReport {
        request,
        stop: shared.budget.stop_reason(Instant::now(), interrupted),
        elapsed: t0.elapsed(),
        started_at: Some(wall_start),
        tally: total.tally,
        pipelined_sessions: total.pipelined,
        chunked_sessions: total.chunked,
        tls_sessions: total.tls,
        unverified_tls_sessions: total.tls_unverified,
        dot_refusal: shared.dot_refusal.get().cloned(),
        runs: 1,
        forced: Vec::new(),
    }
}
