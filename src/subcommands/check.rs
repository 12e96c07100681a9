//! `smtpx check`: opens a session to each server of the target, runs the probes, looks
//! up reverse DNS, then shows one screen per server with its verdicts.

use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::domain::{Settings, inspect_for_delivery};
use super::plan::{self, Destination, HostHops};
use super::tls_policy::{Fetcher, host_policies_given};
use crate::cli::{CheckArgs, ServerArgs};
use crate::diagnosis::facts::{PtrLookup, PtrName, RelayFacts, ReverseDns, TurnFacts};
use crate::diagnosis::{Answer, Ending, HostFacts, OpenFacts, Probes, Verdict, rules};
use crate::dns::{Dns, LookupFailure};
use crate::net::https::HttpsClient;
use crate::outcome::{ExitCode, Failure, FailureKind, Phase};
use crate::policy::report::Report;
use crate::policy::tls_policy::{Choice, HostPolicy};
use crate::render::outcome::worst_exit;
use crate::render::{Status, Summary};
use crate::session::open::{OpenPlan, Opened, open};
use crate::session::{EventSink, Session, SessionContext, Timed};
use crate::smtp::{Address, Command, ReversePath};

/// RFC 5321 §4.5.1: every domain must accept mail for postmaster, so it is the one
/// address VRFY and EXPN can be asked about anywhere.
const PROBE_ADDRESS: &str = "postmaster";
/// PTR names followed forward; an address with more than this many is odd already.
const MAX_PTR_NAMES: usize = 4;
/// Deadline for fetching the domain's MTA-STS policy.
const POLICY_FETCH_TIMEOUT: Duration = Duration::from_secs(20);

struct CheckPlan {
    destination: Destination,
    server: ServerArgs,
    open: OpenPlan,
    relay: Option<RelayPlan>,
    /// None when no resolver could be set up: reverse DNS then says why.
    dns: Option<Dns>,
    /// For a domain: the domain's own checks, and its policies held against each host.
    domain: Option<Settings>,
}

struct RelayPlan {
    from: ReversePath,
    to: Address,
}

/// One server's facts and what the rules made of them.
struct Checked {
    facts: HostFacts,
    verdicts: Vec<Verdict>,
    exit: ExitCode,
}

pub fn run(args: CheckArgs) -> u8 {
    let (mut run, plan, runtime) = match plan::start(&args.output, || validate(&args)) {
        Ok(started) => started,
        Err(code) => return code,
    };
    if let Err(code) = run.keep(&args.keep) {
        return code;
    }
    let log = Log::default();
    let result = runtime.block_on(async {
        let (mut ctx, _) = run.context(&plan.server, false);
        let inner = std::mem::replace(&mut ctx.events, Box::new(Vec::new()));
        ctx.events = Box::new(Tap {
            inner,
            log: log.clone(),
        });
        tokio::select! {
            result = check_all(ctx, &plan, &log) => Some(result),
            _ = tokio::signal::ctrl_c() => None,
        }
    });
    let summary = match result {
        None => Summary::new(
            Status::Failed,
            ExitCode::Interrupted,
            "interrupted; the check is incomplete",
        ),
        Some(Err(f)) => crate::render::outcome::failure(&f, &[]),
        Some(Ok(Outcome {
            domain,
            hosts: checked,
        })) => {
            let timing = run.opts.timing;
            if let Some(report) = &domain {
                run.report(
                    &crate::render::domain::describe(report),
                    crate::render::domain::to_json(report),
                );
            }
            for c in &checked {
                let lines = crate::render::check::lines(&c.facts, &c.verdicts, timing);
                let json = crate::render::check::json(&c.facts, &c.verdicts, timing);
                run.report(&lines, json);
            }
            summarize(&checked, domain.as_ref())
        }
    };
    run.finish(&summary)
}

fn validate(args: &CheckArgs) -> Result<CheckPlan, String> {
    let destination = plan::destination(args.target.as_deref(), &args.server)?;
    let port = match &destination {
        Destination::Host(t) => t.port,
        Destination::Domain(_) => args.server.port,
    };
    let open = plan::open_plan_at(&args.server, &args.tls, port)?;
    let relay = if args.relay_test {
        Some(RelayPlan {
            from: ReversePath::parse(&args.relay_from).map_err(|e| {
                format!(
                    "invalid --relay-from '{}': {e}",
                    args.relay_from.escape_debug()
                )
            })?,
            to: Address::parse(&args.relay_to).map_err(|e| {
                format!("invalid --relay-to '{}': {e}", args.relay_to.escape_debug())
            })?,
        })
    } else {
        None
    };
    let dns = match Dns::new(&plan::dns_config(&args.server)?) {
        Ok(d) => Some(d),
        // One server can still be checked; only its reverse DNS goes unknown.
        Err(_) if matches!(destination, Destination::Host(_)) => None,
        Err(e) => return Err(e.to_string()),
    };
    let domain = match &destination {
        Destination::Domain(_) => Some(Settings {
            dkim_selectors: Vec::new(),
            fetcher: Fetcher {
                https: HttpsClient::new(&args.tls.tls_ca).map_err(|e| format!("--tls-ca: {e}"))?,
                mta_sts_port: args.mta_sts_port,
                timeout: POLICY_FETCH_TIMEOUT,
            },
            smtp_port: args.server.port,
        }),
        Destination::Host(_) => None,
    };
    Ok(CheckPlan {
        destination,
        server: args.server.clone(),
        open,
        relay,
        dns,
        domain,
    })
}

/// Events of the current session, kept beside the transcript so that the opening
/// (greeting, both EHLO replies, TLS, timings) can be read back as facts.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<Timed>>>);

impl Log {
    fn take(&self) -> Vec<Timed> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

struct Tap<'a> {
    inner: Box<dyn EventSink + 'a>,
    log: Log,
}

impl EventSink for Tap<'_> {
    fn emit(&mut self, event: Timed) {
        self.log
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(event.clone());
        self.inner.emit(event);
    }
}

/// A domain's own report (checking a domain), and each server's.
struct Outcome {
    domain: Option<Report>,
    hosts: Vec<Checked>,
}

async fn check_all(
    mut ctx: SessionContext<'_>,
    plan: &CheckPlan,
    log: &Log,
) -> Result<Outcome, Failure> {
    let hosts = plan::destination_hosts(&plan.destination, &plan.server, plan.dns.as_ref()).await?;
    let (domain, policies) = match (&plan.destination, &plan.domain, &plan.dns) {
        (Destination::Domain(name), Some(settings), Some(dns)) => {
            let (report, policies) = domain_policies(dns, name, settings).await;
            (Some(report), policies)
        }
        _ => (None, Vec::new()),
    };
    let mut out = Vec::with_capacity(hosts.len());
    for host in &hosts {
        let mut facts = HostFacts::new(&host.host, host.preference, plan.open.tls_mode);
        facts.tls_policy = policies
            .iter()
            .find(|(h, _)| h.eq_ignore_ascii_case(&host.host))
            .map(|(_, p)| p.clone());
        if let Some(why) = &host.unusable {
            facts.unusable = Some(why.clone());
        } else {
            let (c, f) = check_host(ctx, host, plan, log, facts).await;
            ctx = c;
            facts = f;
        }
        let verdicts = rules::verdicts(&facts);
        let exit = rules::exit_code(&facts, &verdicts);
        out.push(Checked {
            facts,
            verdicts,
            exit,
        });
    }
    Ok(Outcome { domain, hosts: out })
}

/// The domain's report (as `smtpx domain` gives it) and the policy each MX host is
/// held to, from the same MTA-STS fetch.
async fn domain_policies(
    dns: &Dns,
    domain: &str,
    settings: &Settings,
) -> (Report, Vec<(String, HostPolicy)>) {
    let (report, route, sts) = inspect_for_delivery(dns, domain, settings).await;
    let policies =
        host_policies_given(dns, domain, &route, settings.smtp_port, Choice::Auto, &sts).await;
    (report, policies)
}

async fn check_host<'a>(
    ctx: SessionContext<'a>,
    host: &HostHops,
    plan: &CheckPlan,
    log: &Log,
    mut facts: HostFacts,
) -> (SessionContext<'a>, HostFacts) {
    log.take();
    let open_plan = OpenPlan {
        hops: host.hops.clone(),
        ..plan.open.clone()
    };
    let (ctx, ended) = match open(ctx, &open_plan).await {
        Opened::Ready(mut session) => {
            match run_probes(&mut session, plan, &mut facts.probes).await {
                Ok(Hangup::Quit) => (session.quit().await, None),
                // After an accepted TURN the server plays client: QUIT would be nonsense.
                Ok(Hangup::Close) => (session.abort().await, None),
                Err(f) => (session.abort().await, Some(Ending::Failed(f))),
            }
        }
        Opened::Stopped(s, _) => (s.quit().await, None),
        Opened::Refused(s, phase, reply) => {
            (s.quit().await, Some(Ending::Refused { phase, reply }))
        }
        Opened::Declined(s, f) => (s.quit().await, Some(Ending::Failed(f))),
        Opened::Failed(c, f) => (c, Some(Ending::Failed(f))),
    };
    facts.open = OpenFacts::from_events(&log.take());
    facts.ended = ended;
    if let Some(peer) = facts.open.peer {
        facts.reverse = Some(reverse_dns(plan.dns.as_ref(), peer.ip()).await);
    }
    (ctx, facts)
}

enum Hangup {
    Quit,
    Close,
}

/// One command, timed.
async fn ask(session: &mut Session<'_>, cmd: &Command, phase: Phase) -> Result<Answer, Failure> {
    let started = Instant::now();
    let reply = session.command(cmd, phase).await?;
    Ok(Answer {
        reply,
        took: started.elapsed(),
    })
}

/// VRFY, EXPN, HELP, NOOP, the relay test when asked, and TURN last: a server that
/// accepts TURN turns into a client, and nothing more can be asked of it.
async fn run_probes(
    session: &mut Session<'_>,
    plan: &CheckPlan,
    probes: &mut Probes,
) -> Result<Hangup, Failure> {
    let vrfy = Command::Vrfy(PROBE_ADDRESS.into());
    probes.vrfy = Some(ask(session, &vrfy, Phase::Vrfy).await?);
    let expn = Command::Expn(PROBE_ADDRESS.into());
    probes.expn = Some(ask(session, &expn, Phase::Expn).await?);
    probes.help = Some(ask(session, &Command::Help(None), Phase::Probe).await?);
    probes.noop = Some(ask(session, &Command::Noop, Phase::Probe).await?);
    if let Some(relay) = &plan.relay {
        let mail = Command::Mail {
            from: relay.from.clone(),
            params: Vec::new(),
        };
        let mail = ask(session, &mail, Phase::Mail).await?;
        // Decided at RCPT: DATA is never sent, so no message can leave (RFC 5321 §3.3).
        let rcpt = if mail.reply.is_positive() {
            let cmd = Command::Rcpt {
                to: relay.to.clone(),
                params: Vec::new(),
            };
            Some(ask(session, &cmd, Phase::Rcpt).await?)
        } else {
            None
        };
        probes.relay = Some(RelayFacts {
            from: relay
                .from
                .address()
                .map(|a| a.to_string())
                .unwrap_or_default(),
            to: relay.to.to_string(),
            mail,
            rcpt,
        });
        // §4.1.1.5: RSET discards the transaction before anything else is asked.
        ask(session, &Command::Rset, Phase::Probe).await?;
    }
    match ask(session, &Command::Turn, Phase::Probe).await {
        Ok(a) => {
            let accepted = a.reply.is_positive();
            probes.turn = Some(TurnFacts::Answered(a));
            Ok(if accepted {
                Hangup::Close
            } else {
                Hangup::Quit
            })
        }
        Err(f) if f.kind == FailureKind::Closed => {
            probes.turn = Some(TurnFacts::Closed(f.message));
            Ok(Hangup::Close)
        }
        Err(f) => Err(f),
    }
}

/// The PTR names of the server's address and whether each leads back to it.
async fn reverse_dns(dns: Option<&Dns>, ip: IpAddr) -> ReverseDns {
    let started = Instant::now();
    let lookup = match dns {
        None => PtrLookup::Failed("no DNS resolver (name one with --dns-server)".into()),
        Some(dns) => match dns.reverse(ip).await {
            Ok(names) if names.is_empty() => PtrLookup::Missing,
            Err(LookupFailure::NxDomain { .. }) => PtrLookup::Missing,
            Err(e) => PtrLookup::Failed(e.to_string()),
            Ok(names) => {
                let mut out = Vec::new();
                for name in names.into_iter().take(MAX_PTR_NAMES) {
                    let forward = dns
                        .addresses(&name)
                        .await
                        .map(|addrs| addrs.into_iter().map(|a| a.ip).collect())
                        .map_err(|e| e.to_string());
                    out.push(PtrName { name, forward });
                }
                PtrLookup::Names(out)
            }
        },
    };
    ReverseDns {
        ip,
        lookup,
        took: started.elapsed(),
    }
}

fn summarize(checked: &[Checked], domain: Option<&Report>) -> Summary {
    let domain_exit = domain.map(|r| {
        if r.dns_failed {
            ExitCode::Dns
        } else if r.status() == crate::policy::verdict::Status::Fail {
            ExitCode::Permanent
        } else {
            ExitCode::Success
        }
    });
    let exit = worst_exit(
        checked
            .iter()
            .map(|c| c.exit.code())
            .chain(domain_exit.map(|e| e.code())),
    );
    let count = |c: &Checked, level| c.verdicts.iter().filter(|v| v.level == level).count();
    let parts: Vec<String> = checked
        .iter()
        .map(|c| {
            let host = crate::render::text::escape_controls(&c.facts.host);
            if c.facts.unusable.is_none() && !c.facts.open.reached() {
                let why = c
                    .facts
                    .ended
                    .as_ref()
                    .map_or("not reached".to_string(), Ending::describe);
                return format!("{host}: not reached ({why})");
            }
            format!(
                "{host}: {} pass, {} warn, {} fail",
                count(c, rules::Level::Pass),
                count(c, rules::Level::Warn),
                count(c, rules::Level::Fail)
            )
        })
        .collect();
    let mut parts = parts;
    if let Some(r) = domain {
        parts.insert(0, format!("{}: {}", r.domain, r.status().as_str()));
    }
    let status = if exit == 0 {
        Status::Ok
    } else {
        Status::Failed
    };
    let mut summary = Summary::new(status, ExitCode::Success, parts.join("; "));
    summary.exit_code = exit;
    summary.with(
        "hosts",
        checked
            .iter()
            .map(|c| {
                serde_json::json!({
                    "host": c.facts.host,
                    "exit_code": c.exit.code(),
                    "pass": count(c, rules::Level::Pass),
                    "warn": count(c, rules::Level::Warn),
                    "fail": count(c, rules::Level::Fail),
                })
            })
            .collect::<Vec<_>>(),
    )
}
