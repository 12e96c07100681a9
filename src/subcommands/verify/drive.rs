//! The concurrent part of `verify`: domains in bounded tasks, one MX lookup each,
//! sessions limited overall (`--concurrency`) and per host (`--per-host`), one session
//! carrying the domains of its MX host one after another (RSET between them), RCPTs
//! paced per host (`--rate`), lost connections retried once, temporary answers asked
//! again after `--retry-temporary` without holding up other domains.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep, sleep_until, timeout_at};

use super::resume::LineSet;
use super::spill::{BUCKETS, Spill};
use super::{AddressList, Plan, Sender};
use crate::dns::MailRoute;
use crate::outcome::FailureKind;
use crate::policy::tls_policy::HostPolicy;
use crate::render::verify::{Output, Record};
use crate::session::open::{Hop, OpenPlan, Opened, open};
use crate::session::probe::Answer;
use crate::session::{EventSink, Session, SessionContext, Timed};
use crate::smtp::{Address, Command, Param, Reply, ReplyClass};
use crate::subcommands::tls_policy::{host_policies_given, sts_answer};
use crate::verify::verdict::probe_local_part;
use crate::verify::{
    CatchAll, Decided, Loss, MAX_BATCH, Pace, SessionLimit, SessionUse, Sizer, Verdict, Work,
};

/// Wait before a fresh connection after a 421 or a lost one: long enough not to hammer
/// a server that is shedding load, short enough not to stall the run.
const BACKOFF: Duration = Duration::from_secs(1);

/// Domain tasks alive at once, per unit of `--concurrency`: a few more than sessions,
/// so that domains waiting for a busy host do not hold up the others.
const TASKS_PER_SESSION: usize = 4;

/// A session left open for the next domain of its host is used only this soon after:
/// servers drop idle clients (Postfix after 300 s), and a stale connection would cost
/// the next domain's addresses an attempt.
const IDLE_REUSE: Duration = Duration::from_secs(10);

/// What the tasks share.
struct Shared {
    plan: Arc<Plan>,
    tx: Sender,
    sessions: Semaphore,
    lookups: Semaphore,
    hosts: Mutex<HashMap<String, Arc<Host>>>,
}

/// One MX host (or `--server`): its session slots, its pace, and the sessions left
/// open between its domains.
struct Host {
    slots: Semaphore,
    pace: Mutex<Pace>,
    /// Pipelined batch size, learnt from this host's reply times.
    sizer: Mutex<Sizer>,
    /// Jobs routed here and not finished: while another is coming, a session that is
    /// done with its domain waits for it instead of quitting.
    jobs: AtomicUsize,
    idle: Mutex<Vec<Idle>>,
    /// What a session may ask before this host closes it, learnt when it closes one.
    limit: Mutex<SessionLimit>,
}

/// A session kept open for the host's next domain, and what it has used.
struct Idle {
    session: Session<'static>,
    since: Instant,
    used: SessionUse,
}

impl Host {
    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An open session to this host, fresh enough to carry another domain.
    async fn take_idle(&self) -> Option<(Session<'static>, SessionUse)> {
        loop {
            let idle = self.idle().pop()?;
            if idle.since.elapsed() < IDLE_REUSE {
                return Some((idle.session, idle.used));
            }
            idle.session.quit().await;
        }
    }

    fn limit(&self) -> std::sync::MutexGuard<'_, SessionLimit> {
        self.limit.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A job is over: when none is left, the sessions kept for one are closed.
    async fn job_done(&self) {
        if self.jobs.fetch_sub(1, Ordering::AcqRel) == 1 {
            let idle = std::mem::take(&mut *self.idle());
            for idle in idle {
                idle.session.quit().await;
            }
        }
    }
}

impl Shared {
    fn host(&self, key: &str) -> Arc<Host> {
        let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
        hosts
            .entry(key.to_string())
            .or_insert_with(|| {
                Arc::new(Host {
                    slots: Semaphore::new(self.plan.per_host),
                    pace: Mutex::new(Pace::new(self.plan.rate)),
                    sizer: Mutex::new(Sizer::default()),
                    jobs: AtomicUsize::new(0),
                    idle: Mutex::new(Vec::new()),
                    limit: Mutex::new(SessionLimit::default()),
                })
            })
            .clone()
    }

    fn send(&self, output: Output) {
        // Only fails when the writer is gone, and then there is nobody to tell.
        let _ = self.tx.send(output);
    }

    /// A batch (or a domain settled without one) is over: with `--resume`, the writer
    /// syncs the state now, so a crash loses at most the batches in flight.
    fn checkpoint(&self) {
        if self.plan.checkpoints {
            self.send(Output::Checkpoint);
        }
    }
}

/// The list, bucket by bucket, and the lines an earlier run decided.
pub(super) struct Input {
    pub spill: Spill,
    pub done: LineSet,
    next: usize,
}

impl Input {
    pub fn new(spill: Spill, done: LineSet) -> Input {
        Input {
            spill,
            done,
            next: 0,
        }
    }

    /// The next bucket's addresses, grouped by domain; its bad lines and the number of
    /// repeats go to the writer at once. None after the last bucket.
    fn next_bucket(&mut self, shared: &Shared) -> Option<Arc<AddressList>> {
        while self.next < BUCKETS as usize {
            let n = self.next;
            self.next += 1;
            let entries = match self.spill.bucket(n) {
                Ok(entries) => entries,
                Err(e) => {
                    shared.send(Output::Failed(format!(
                        "reading back the list failed: {}; some addresses were not verified",
                        super::super::plan::io_words(&e)
                    )));
                    continue;
                }
            };
            if entries.is_empty() {
                continue;
            }
            let list = AddressList::resumed(entries, |line| self.done.contains(line));
            if list.duplicates > 0 {
                shared.send(Output::Duplicates(list.duplicates));
            }
            for &id in &list.invalid {
                let entry = &list.entries[id];
                let note = entry.parsed.as_ref().err().cloned();
                shared.send(Output::Verdict(record(
                    &list,
                    id,
                    Verdict::Invalid,
                    None,
                    note,
                    None,
                )));
            }
            shared.checkpoint();
            return Some(Arc::new(list));
        }
        None
    }
}

/// Verifies every domain of the list; returns when all are decided. Buckets are read
/// one after another, each as the one before has all its domains started, so only the
/// buckets in flight are in memory.
pub(super) async fn verify_all(plan: Arc<Plan>, mut input: Input, tx: Sender) {
    let shared = Arc::new(Shared {
        sessions: Semaphore::new(plan.concurrency),
        lookups: Semaphore::new(plan.concurrency),
        hosts: Mutex::new(HashMap::new()),
        plan,
        tx,
    });
    let fixed = match &shared.plan.target {
        None => None,
        Some(target) => {
            let open = shared.plan.open.clone();
            match crate::subcommands::plan::resolve_open(&shared.plan.server, target, open).await {
                Ok(open) => Some(open.hops),
                Err(f) => {
                    while let Some(list) = input.next_bucket(&shared) {
                        for (_, ids) in &list.domains {
                            settle(&shared, &list, ids, Verdict::Unreachable, &f.message);
                        }
                        shared.checkpoint();
                    }
                    return;
                }
            }
        }
    };
    let mut bucket: Option<(Arc<AddressList>, usize)> = None;
    let mut next_domain = || loop {
        if let Some((list, index)) = &mut bucket
            && *index < list.domains.len()
        {
            *index += 1;
            return Some((list.clone(), *index - 1));
        }
        bucket = Some((input.next_bucket(&shared)?, 0));
    };
    let cap = shared.plan.concurrency * TASKS_PER_SESSION;
    let mut tasks = JoinSet::new();
    // Greylisted addresses waiting for their second pass: apart, so that their wait
    // keeps no other domain from starting.
    let mut later = JoinSet::new();
    // Each turn starts a task or waits for one to end: bounded by the domain count.
    loop {
        while tasks.len() < cap {
            let Some((list, index)) = next_domain() else {
                break;
            };
            tasks.spawn(verify_domain(shared.clone(), list, index, fixed.clone()));
        }
        match tasks.join_next().await {
            None => break,
            Some(Ok(retries)) => {
                for retry in retries {
                    later.spawn(retry.run());
                }
            }
            Some(Err(_)) => {}
        }
    }
    while later.join_next().await.is_some() {}
    let hosts: Vec<Arc<Host>> = shared
        .hosts
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .values()
        .cloned()
        .collect();
    for host in hosts {
        let idle = std::mem::take(&mut *host.idle());
        for idle in idle {
            idle.session.quit().await;
        }
    }
}

/// Every address of one domain the same verdict, without asking anyone.
fn settle(shared: &Shared, list: &AddressList, ids: &[usize], verdict: Verdict, note: &str) {
    for &id in ids {
        shared.send(Output::Verdict(record(
            list,
            id,
            verdict,
            None,
            Some(note.to_string()),
            None,
        )));
    }
}

fn record(
    list: &AddressList,
    id: usize,
    verdict: Verdict,
    reply: Option<crate::smtp::Reply>,
    note: Option<String>,
    host: Option<&str>,
) -> Record {
    let entry = &list.entries[id];
    Record {
        line: entry.line,
        address: entry.text.clone(),
        verdict,
        reply,
        note,
        host: host.map(str::to_string),
    }
}

/// One domain's first pass; returns the second passes `--retry-temporary` asks for.
async fn verify_domain(
    shared: Arc<Shared>,
    list: Arc<AddressList>,
    index: usize,
    fixed: Option<Vec<Hop>>,
) -> Vec<Retry> {
    let (domain, ids) = &list.domains[index];
    let (hops, policies) = match fixed {
        Some(hops) => (hops, None),
        None => match route(&shared, domain).await {
            Ok(routed) => routed,
            Err((verdict, note)) => {
                settle(&shared, &list, ids, verdict, &note);
                shared.checkpoint();
                return Vec::new();
            }
        },
    };
    // Domains share a host's sessions only when they hold it to the same TLS policy.
    let key = hops
        .first()
        .map(|h| {
            let held = policies
                .as_deref()
                .map(|p| policy_key(p))
                .unwrap_or_default();
            format!("{}:{}{held}", h.host.to_ascii_lowercase(), h.addr.port())
        })
        .unwrap_or_default();
    let host = shared.host(&key);
    let shares = crate::verify::work::shares(ids, shared.plan.per_host);
    host.jobs.fetch_add(shares.len(), Ordering::AcqRel);
    let several = shares.len() > 1;
    let mut tasks = JoinSet::new();
    for (n, share) in shares.into_iter().enumerate() {
        let tag: Arc<str> = if several {
            format!("{domain}#{}", n + 1).into()
        } else {
            domain.as_str().into()
        };
        let job = Job {
            shared: shared.clone(),
            list: list.clone(),
            domain: domain.clone(),
            tag,
            hops: hops.clone(),
            policies: policies.clone(),
            host: host.clone(),
        };
        tasks.spawn(job.run(share));
    }
    let mut retries = Vec::new();
    while let Some(done) = tasks.join_next().await {
        retries.extend(done.ok().flatten());
    }
    retries
}

/// Addresses of one job to ask again once `wake` comes (`--retry-temporary`).
struct Retry {
    job: Job,
    wake: Instant,
    work: Work,
}

impl Retry {
    async fn run(mut self) {
        sleep_until(self.wake).await;
        self.job.host.jobs.fetch_add(1, Ordering::AcqRel);
        self.job.pass(&mut self.work, Pass::Again).await;
        self.job.host.job_done().await;
    }
}

/// What the domain's policies demand of its hosts, in a form equal for every domain
/// that demands the same: MTA-STS and DANE-encrypt demands do not depend on the domain,
/// DANE's depend on the host's records only.
fn policy_key(policies: &[(String, HostPolicy)]) -> String {
    policies
        .iter()
        .map(|(host, p)| match p {
            HostPolicy::Dane { records, .. } => {
                let list: Vec<String> = records.iter().map(|r| r.short()).collect();
                format!("|{host}=dane:{}", list.join(","))
            }
            HostPolicy::DaneEncrypt { .. } => format!("|{host}=encrypt"),
            HostPolicy::MtaSts { enforce: true, .. } => format!("|{host}=mta-sts"),
            HostPolicy::Refused { .. } => format!("|{host}=refused"),
            HostPolicy::MtaSts { .. } | HostPolicy::Opportunistic { .. } => String::new(),
        })
        .collect()
}

/// The domain's hops (RFC 5321 §5.1) and the TLS policy of each host (`--tls-policy`),
/// or the verdict for all its addresses.
async fn route(
    shared: &Shared,
    domain: &str,
) -> Result<(Vec<Hop>, Option<Arc<Vec<(String, HostPolicy)>>>), (Verdict, String)> {
    let Some(dns) = &shared.plan.dns else {
        return Err((Verdict::DnsError, "no DNS resolver".into()));
    };
    // The MTA-STS answer needs no MX answer: looked up beside it, so that policies
    // add little to the time a domain takes to route.
    let sts = async {
        match &shared.plan.tls_policy {
            Some(p) => Some(sts_answer(dns, domain, p.choice, &p.fetcher).await),
            None => None,
        }
    };
    let route = async {
        let _slot = shared.lookups.acquire().await;
        match shared.plan.overall {
            Some(deadline) => timeout_at(deadline, dns.mail_route(domain))
                .await
                .unwrap_or_else(|_| MailRoute::Temporary {
                    reason: "the overall --timeout expired".into(),
                }),
            None => dns.mail_route(domain).await,
        }
    };
    let (route, sts) = tokio::join!(route, sts);
    match &route {
        MailRoute::NullMx { .. } => Err((
            Verdict::NoMail,
            format!("{domain} has a null MX (RFC 7505): it accepts no mail"),
        )),
        MailRoute::NoMail => Err((
            Verdict::NoMail,
            format!("{domain} has no MX records and no addresses: no mail route"),
        )),
        MailRoute::NxDomain => Err((
            Verdict::NoDomain,
            format!("{domain} does not exist (NXDOMAIN)"),
        )),
        MailRoute::InvalidDomain { reason } => Err((Verdict::NoDomain, reason.clone())),
        MailRoute::Temporary { reason } => Err((
            Verdict::DnsError,
            format!("looking up MX for {domain} failed: {reason}"),
        )),
        MailRoute::Mx { .. } | MailRoute::Implicit { .. } => {
            let port = shared.plan.server.port;
            match crate::subcommands::plan::route_hops(&route, port, &shared.plan.server) {
                Ok(hops) if !hops.is_empty() => {
                    let (Some(policy), Some(sts)) = (&shared.plan.tls_policy, sts) else {
                        return Ok((hops, None));
                    };
                    let held =
                        host_policies_given(dns, domain, &route, port, policy.choice, &sts).await;
                    Ok((hops, Some(Arc::new(held))))
                }
                Ok(_) => Err((
                    Verdict::Unreachable,
                    format!("no MX host of {domain} has a usable address"),
                )),
                Err(e) => Err((Verdict::DnsError, e)),
            }
        }
    }
}

/// One share of a domain's addresses, worked through sessions.
struct Job {
    shared: Arc<Shared>,
    /// The bucket of the list the domain is in.
    list: Arc<AddressList>,
    domain: String,
    tag: Arc<str>,
    hops: Vec<Hop>,
    /// The recipient domain's TLS policy for each MX host, when routing by MX.
    policies: Option<Arc<Vec<(String, HostPolicy)>>>,
    host: Arc<Host>,
}

/// Whether a pass may hold temporary verdicts back for a later pass.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    First { defer: bool },
    Again,
}

/// How a connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ended {
    /// Its work is done.
    Done,
    /// Lost or refused: the next connection waits [`BACKOFF`] first.
    Lost,
    /// Closed by smtpx before the host's session limit: the next one starts at once.
    Rotated,
}

impl Job {
    /// The first pass over `ids`; what `--retry-temporary` asks again comes back.
    async fn run(self, ids: Vec<usize>) -> Option<Retry> {
        let limit = self.host_pace(|p| p.batch_limit());
        let mut work = Work::new(ids, limit, CatchAll::NotAsked);
        let defer = self.shared.plan.retry_temporary.is_some();
        let deferred = self.pass(&mut work, Pass::First { defer }).await;
        self.host.job_done().await;
        let delay = self.shared.plan.retry_temporary?;
        if deferred.is_empty() {
            return None;
        }
        let wake = Instant::now() + delay;
        if self.shared.plan.overall.is_some_and(|d| d <= wake) {
            // No time left to ask again: the temporary answers stand as they are.
            return None;
        }
        // A probe that was only deferred is asked again with the addresses.
        let catch_all = match &work.catch_all {
            known @ (CatchAll::Yes(_) | CatchAll::No) => known.clone(),
            _ => CatchAll::NotAsked,
        };
        let work = Work::new(deferred, limit, catch_all);
        Some(Retry {
            job: self,
            wake,
            work,
        })
    }

    fn host_pace<T>(&self, f: impl FnOnce(&mut Pace) -> T) -> T {
        f(&mut self
            .host
            .pace
            .lock()
            .unwrap_or_else(PoisonError::into_inner))
    }

    /// Sessions until every address of `work` is decided; returns the ids held back
    /// for another pass.
    async fn pass(&self, work: &mut Work, pass: Pass) -> Vec<usize> {
        let mut deferred = Vec::new();
        // Each connection decides an address or counts an attempt against one (two at
        // most each), so this bound is never the reason to stop in practice.
        let cap = 2 * work.remaining() + 2;
        let mut ended = Ended::Done;
        for connection in 0..cap {
            if work.is_done() {
                return deferred;
            }
            let wait = if connection > 0 && ended == Ended::Lost {
                BACKOFF
            } else {
                Duration::ZERO
            };
            let overall = self.shared.plan.overall;
            if overall.is_some_and(|d| Instant::now() + wait >= d) {
                let note = "the overall --timeout expired before an answer came";
                let d = work.settle_all(Verdict::Unreachable, None, note);
                self.emit(d, None, pass, &mut deferred);
                return deferred;
            }
            if !wait.is_zero() {
                // Not for the first: even a zero sleep waits for the next 1 ms tick.
                sleep(wait).await;
            }
            ended = self.connection(work, pass, &mut deferred).await;
        }
        let d = work.settle_all(Verdict::Unreachable, None, "too many lost connections");
        self.emit(d, None, pass, &mut deferred);
        deferred
    }

    /// One connection: open it within the slots, then converse or settle.
    async fn connection(&self, work: &mut Work, pass: Pass, deferred: &mut Vec<usize>) -> Ended {
        // Host first: a task waiting for a busy host holds no session slot meanwhile.
        let _host = self.host.slots.acquire().await;
        let _session = self.shared.sessions.acquire().await;
        if let Some((mut session, used)) = self.host.take_idle().await {
            // The host's session, done with its last domain: RSET starts this one.
            session.ctx = self.context();
            return self
                .converse(session, work, pass, deferred, Some(used))
                .await;
        }
        let plan = OpenPlan {
            hops: self.hops.clone(),
            policies: self.policies.clone(),
            ..self.shared.plan.open.clone()
        };
        let decided = match open(self.context(), &plan).await {
            Opened::Ready(session) => {
                return self.converse(session, work, pass, deferred, None).await;
            }
            Opened::Refused(session, phase, reply) => {
                session.quit().await;
                if reply.class() == ReplyClass::TransientNegative {
                    work.connection_lost(&Loss::Closing(reply))
                } else {
                    let note = format!("the server refused the session at {phase}");
                    work.settle_all(Verdict::Policy, Some(&reply), &note)
                }
            }
            // A host that fails its domain's TLS policy is one mail cannot reach.
            Opened::Declined(session, f) if f.kind == FailureKind::Tls => {
                session.quit().await;
                work.settle_all(Verdict::Unreachable, None, &f.message)
            }
            Opened::Declined(session, f) => {
                session.quit().await;
                work.settle_all(Verdict::Policy, None, &f.message)
            }
            Opened::Failed(_, f) if matches!(f.kind, FailureKind::Tls | FailureKind::Protocol) => {
                work.settle_all(Verdict::Unreachable, None, &f.message)
            }
            Opened::Failed(_, f) => work.connection_lost(&Loss::Dropped(f.message)),
            Opened::Stopped(session, _) => {
                session.abort().await;
                work.settle_all(Verdict::Unreachable, None, "stopped")
            }
        };
        self.emit(decided, None, pass, deferred);
        self.shared.checkpoint();
        Ended::Lost
    }

    /// Batches on an open session until the work is done, the connection is lost, or
    /// the session has used what the host allows one (see [`SessionLimit`]). `used` is
    /// what a session kept from an earlier domain has used (None: a new session, whose
    /// first transaction needs no RSET).
    async fn converse(
        &self,
        mut session: Session<'static>,
        work: &mut Work,
        pass: Pass,
        deferred: &mut Vec<usize>,
        used: Option<SessionUse>,
    ) -> Ended {
        let mut reset = used.is_some();
        let mut used = used.unwrap_or_default();
        // A pipelined group's replies may come in several writes, each waiting for the
        // ACK of the one before: a delayed ACK would stall every batch.
        session.set_quick_ack(true);
        let caps = session.capabilities.clone().unwrap_or_default();
        let peer = session.peer_addr();
        let host_name = self
            .hops
            .iter()
            .find(|h| h.addr == peer)
            .map_or_else(|| peer.to_string(), |h| h.host.clone());
        let host = Some(host_name.as_str());
        let entries = &self.list.entries;
        let address = |id: usize| entries[id].parsed.as_ref().ok();
        // RFC 6531 §3.4: a non-ASCII local part may only go to a server offering SMTPUTF8.
        let needs_utf8 = |id: usize| address(id).is_some_and(Address::needs_smtputf8);
        if !caps.smtputf8() {
            let note = "the local part is not ASCII and the server does not offer SMTPUTF8 (RFC 6531), so it cannot take mail for it";
            let d = work.settle_where(needs_utf8, Verdict::Undeliverable, note);
            self.emit(d, host, pass, deferred);
        }
        // RFC 6531 §3.4: SMTPUTF8 on MAIL only for a transaction that needs it.
        let utf8 = caps.smtputf8() && work.pending_ids().any(needs_utf8);
        let mail = Command::Mail {
            from: self.shared.plan.from.clone(),
            params: if utf8 {
                vec![Param::new("SMTPUTF8", None)]
            } else {
                Vec::new()
            },
        };
        let probe = Address::parse(&format!("{}@{}", probe_local_part(random()), self.domain));
        if let Err(e) = &probe
            && !work.catch_all.is_known()
        {
            work.catch_all = CatchAll::Unknown(format!("could not be formed ({e})"));
        }
        let pipelined = self.shared.plan.pipelining && caps.pipelining();
        let sizer = || {
            self.host
                .sizer
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
        };
        loop {
            // One command at a time, the batch size only changes how often MAIL and
            // RSET go: as big as allowed. Pipelined, the host's reply times decide.
            let size = match (pipelined, self.shared.plan.batch) {
                (true, Some(fixed)) => fixed,
                (true, None) => sizer().size(),
                (false, _) => MAX_BATCH,
            };
            let allowance = self.host.limit().allowance(&used, reset);
            if allowance == 0 && !work.is_done() {
                // The host would close the session: a new one goes on with the work.
                session.quit().await;
                return Ended::Rotated;
            }
            work.prefer(size.min(allowance));
            let Some(mut round) = work.begin() else {
                break;
            };
            used.transactions += 1;
            let batch = round.batch();
            let mut rcpts = Vec::with_capacity(batch.len());
            if let (true, Ok(to)) = (batch.probe, &probe) {
                rcpts.push(Command::Rcpt {
                    to: to.clone(),
                    params: Vec::new(),
                });
            }
            rcpts.extend(batch.ids.iter().filter_map(|&id| {
                address(id).map(|to| Command::Rcpt {
                    to: to.clone(),
                    params: Vec::new(),
                })
            }));
            let now = self.shared.plan.started.elapsed();
            let wait = self.host_pace(|p| p.book(now, rcpts.len()));
            if !wait.is_zero() {
                sleep(wait).await;
            }
            // Each verdict goes out the moment its reply is read.
            let mut refused = 0;
            let answer = |a: Answer<'_>| {
                if let Answer::Rcpt(reply) = a
                    && !reply.is_positive()
                    && reply.code.value() != 421
                {
                    refused += 1;
                }
                let d = match a {
                    Answer::Mail(reply) => {
                        let mut d = work.mail_reply(&mut round, reply);
                        if !d.is_empty() {
                            self.sender_refused(reply, &mut d);
                        }
                        d
                    }
                    Answer::Rcpt(reply) => work.rcpt_reply(&mut round, reply),
                };
                self.emit(d, host, pass, deferred);
            };
            let sent_at = std::time::Instant::now();
            let end = session
                .rcpt_batch(reset, &mail, &rcpts, pipelined, answer)
                .await;
            used.refusals += refused;
            if reset && !end.reset_refused {
                used.resets += 1;
            }
            reset = true;
            if end.reset_refused || round.is_closing() {
                let why = match (round.closing_reply(), &end.failure) {
                    (Some(r), _) => format!("{} {}", r.code, r.lines.join(" ")),
                    (None, Some(f)) => f.message.clone(),
                    (None, None) => "it closed".to_owned(),
                };
                let learnt = self.host.limit().learn(&used, end.reset_refused);
                if learnt {
                    self.shared.send(Output::SessionLimit {
                        host: host_name.clone(),
                        why,
                        resets: used.resets,
                        refusals: used.refusals,
                    });
                }
            }
            let lost = end.failure.is_some() || round.is_closing();
            if pipelined && !lost && self.shared.plan.batch.is_none() && size <= allowance {
                sizer().observe(size, rcpts.len(), sent_at.elapsed());
            }
            let loss = end.failure.map(|f| Loss::Dropped(f.message));
            let d = work.end(round, end.sent, loss);
            self.emit(d, host, pass, deferred);
            self.shared.checkpoint();
            if lost {
                // The server is gone (RFC 5321 §3.8), or the connection is broken.
                session.abort().await;
                return Ended::Lost;
            }
        }
        if self.host.jobs.load(Ordering::Acquire) > 1 {
            // Another domain of this host is on its way: it goes on this session.
            self.host.idle().push(Idle {
                session,
                since: Instant::now(),
                used,
            });
        } else {
            session.quit().await;
        }
        Ended::Done
    }

    /// MAIL FROM was refused, so the addresses were never asked: their verdicts say
    /// so, naming the sender, and the writer says once what to change.
    fn sender_refused(&self, reply: &Reply, decided: &mut [Decided]) {
        let from = &self.shared.plan.from;
        let note = format!(
            "sender {from} refused at MAIL FROM, so the address was not asked (--from sets another sender)"
        );
        for d in decided.iter_mut() {
            d.note = Some(note.clone());
        }
        self.shared.send(Output::SenderRefused {
            sender: from.to_string(),
            reply: reply.clone(),
        });
    }

    fn context(&self) -> SessionContext<'static> {
        let plan = &self.shared.plan;
        let events: Box<dyn EventSink> = if plan.verbose {
            Box::new(Tagged {
                tag: self.tag.clone(),
                tx: self.shared.tx.clone(),
            })
        } else {
            Box::new(Discard)
        };
        SessionContext {
            events,
            timeouts: plan.timeouts,
            overall: plan.overall,
            started: plan.started,
            show_secrets: false,
        }
    }

    /// Sends decided addresses to the writer. In a first pass with
    /// `--retry-temporary`, a temporary verdict is held back for the next pass.
    fn emit(
        &self,
        decided: Vec<Decided>,
        host: Option<&str>,
        pass: Pass,
        deferred: &mut Vec<usize>,
    ) {
        for d in decided {
            let record = record(&self.list, d.id, d.verdict, d.reply, d.note, host);
            let output = match pass {
                Pass::First { defer: true } if d.verdict == Verdict::Temporary => {
                    deferred.push(d.id);
                    Output::Provisional { key: d.id, record }
                }
                Pass::First { .. } => Output::Verdict(record),
                Pass::Again => Output::Settled { key: d.id, record },
            };
            self.shared.send(output);
        }
    }
}

/// Session events for `-v`, tagged with the domain.
struct Tagged {
    tag: Arc<str>,
    tx: Sender,
}

impl EventSink for Tagged {
    fn emit(&mut self, event: Timed) {
        let _ = self.tx.send(Output::Event {
            tag: self.tag.clone(),
            event,
        });
    }
}

/// Session events nobody asked to see.
struct Discard;

impl EventSink for Discard {
    fn emit(&mut self, _: Timed) {}
}

/// 64 unpredictable bits for the catch-all probe's local part: from the kernel, or, if
/// that cannot be read, from the process's randomly keyed hasher.
pub(super) fn random() -> u64 {
    use std::io::Read;
    let mut bytes = [0u8; 8];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .is_ok()
    {
        return u64::from_ne_bytes(bytes);
    }
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}
