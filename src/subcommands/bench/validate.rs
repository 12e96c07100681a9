//! `smtpx bench` arguments → a validated plan: addresses and the `--to` pattern checked
//! for every value of its counter, the message built or read once, before any connection.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::super::plan;
use crate::cli::{BenchArgs, MAX_MESSAGE_BYTES, MAX_MESSAGES};
use crate::load::budget::Rate;
use crate::load::pattern::RecipientPattern;
use crate::load::workload::Workload;
use crate::net::target::Target;
use crate::session::Timeouts;
use crate::session::open::OpenPlan;
use crate::smtp::ReversePath;

/// Messages when neither `-n` nor `--duration` says.
pub const DEFAULT_MESSAGES: u64 = 1000;

pub(super) struct BenchPlan {
    pub target: Target,
    /// The template each session opens from (EHLO name, TLS, AUTH).
    pub open: OpenPlan,
    pub workload: Arc<Workload>,
    pub messages: u64,
    pub sessions: u32,
    pub per_session: Option<u64>,
    pub duration: Option<Duration>,
    pub rate: Option<Rate>,
    pub chunking: bool,
    pub pipelining: bool,
    pub timeouts: Timeouts,
    /// `--timeout`: a hard deadline for every session, besides `--duration`.
    pub overall: Option<Duration>,
    /// `--size`, or None for `--data`.
    pub body_size: Option<u64>,
}

pub(super) fn validate(args: &BenchArgs) -> Result<BenchPlan, String> {
    let target = plan::target(&args.server)?
        .ok_or("bench needs --server HOST[:PORT]: it loads one server and does not route by MX")?;
    let from = match args.from.as_deref() {
        Some(f) => ReversePath::parse(f)
            .map_err(|e| format!("invalid --from '{}': {e}", f.escape_debug()))?,
        None => plan::default_from()?,
    };
    if from.address().is_some_and(|a| a.needs_smtputf8()) {
        return Err("invalid --from: must be ASCII (bench does not use SMTPUTF8)".into());
    }
    let messages = args.messages.unwrap_or(if args.duration.is_some() {
        MAX_MESSAGES
    } else {
        DEFAULT_MESSAGES
    });
    let max_n = messages.saturating_mul(u64::from(args.rcpts));
    let to = RecipientPattern::parse(&args.to, max_n)
        .map_err(|e| format!("invalid --to '{}': {e}", args.to.escape_debug()))?;
    let rate = args
        .rate
        .as_deref()
        .map(|r| Rate::parse(r).map_err(|e| format!("invalid --rate '{}': {e}", r.escape_debug())))
        .transpose()?;
    let (message, body_size) = match &args.data {
        Some(path) => (read_message(path)?, None),
        None => {
            let size = usize::try_from(args.size).map_err(|_| "--size is too large")?;
            (
                Workload::generated_message(&from, &to.address(1), size),
                Some(args.size),
            )
        }
    };
    let workload = Workload::new(from, to, args.rcpts, &message, args.chunking)
        .map_err(|e| format!("--data: {e}"))?;
    let open = plan::open_plan(&args.server, &args.tls, &args.auth, None)?;
    plan::many_connections(&open, "bench")?;
    Ok(BenchPlan {
        target,
        open,
        workload: Arc::new(workload),
        messages,
        sessions: args.sessions,
        per_session: args.per_session,
        duration: args.duration,
        rate,
        chunking: args.chunking,
        pipelining: !args.no_pipelining,
        timeouts: plan::timeouts(&args.server),
        overall: args.server.timeout,
        body_size,
    })
}

/// `--data FILE` (or `-` for stdin), read whole: every message shares this one copy.
fn read_message(path: &Path) -> Result<Vec<u8>, String> {
    let shown = path.display();
    let words = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    };
    let mut bytes = Vec::new();
    let limit = MAX_MESSAGE_BYTES + 1;
    if path == Path::new("-") {
        std::io::stdin()
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("--data -: reading stdin failed: {}", words(e)))?;
    } else {
        let meta = std::fs::metadata(path).map_err(|e| format!("--data {shown}: {}", words(e)))?;
        if !meta.is_file() {
            return Err(format!("--data {shown}: not a regular file"));
        }
        std::fs::File::open(path)
            .and_then(|f| f.take(limit).read_to_end(&mut bytes))
            .map_err(|e| format!("--data {shown}: {}", words(e)))?;
    }
    if bytes.len() as u64 > MAX_MESSAGE_BYTES {
        return Err(format!(
            "--data {shown}: larger than {MAX_MESSAGE_BYTES} bytes, the most bench holds in memory"
        ));
    }
    Ok(bytes)
}
