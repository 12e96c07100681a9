//! `smtpx size`: the SIZE limit a server advertises (RFC 1870), then `MAIL FROM:<...>
//! SIZE=n` probes showing what it really accepts. No message is ever sent: each probe
//! ends with RSET.

use super::plan::{self, Destination};
use crate::cli::{ServerArgs, SizeArgs};
use crate::diagnosis::Ending;
use crate::dns::Dns;
use crate::outcome::{ExitCode, Failure, FailureKind, Phase};
use crate::render::size::{self as view, SizeProbe, SizeReport};
use crate::render::{Status, Summary};
use crate::session::open::{OpenPlan, Opened, open};
use crate::session::{Session, SessionContext};
use crate::smtp::size_probe::{SizeSearch, at_and_over, judge_limit};
use crate::smtp::{Command, Param, ReversePath, SizeLimit};

struct SizePlan {
    destination: Destination,
    server: ServerArgs,
    open: OpenPlan,
    from: ReversePath,
    probe: bool,
    dns: Option<Dns>,
}

pub fn run(args: SizeArgs) -> u8 {
    let (mut run, plan, runtime) = match plan::start(&args.output, || validate(&args)) {
        Ok(started) => started,
        Err(code) => return code,
    };
    if let Err(code) = run.keep(&args.keep) {
        return code;
    }
    let result = runtime.block_on(async {
        let (ctx, _) = run.context(&plan.server, false);
        tokio::select! {
            result = probe_server(ctx, &plan) => Some(result),
            _ = tokio::signal::ctrl_c() => None,
        }
    });
    let Some((report, ended)) = result else {
        let summary = Summary::new(Status::Failed, ExitCode::Interrupted, "interrupted");
        return run.finish(&summary);
    };
    if report.peer.is_some() {
        run.report(&view::lines(&report), view::json(&report));
    }
    let summary = match ended {
        None => Summary::new(Status::Ok, ExitCode::Success, view::headline(&report)),
        Some(ending) => {
            let status = match ending {
                Ending::Refused { .. } => Status::Rejected,
                Ending::Failed(_) => Status::Failed,
            };
            Summary::new(status, ending.exit_code(), ending.describe())
                .with("phase", ending.phase())
        }
    };
    run.finish(&summary)
}

fn validate(args: &SizeArgs) -> Result<SizePlan, String> {
    let destination = plan::destination(args.target.as_deref(), &args.server)?;
    let port = match &destination {
        Destination::Host(t) => t.port,
        Destination::Domain(_) => args.server.port,
    };
    let from = match &args.from {
        Some(f) => ReversePath::parse(f)
            .map_err(|e| format!("invalid --from '{}': {e}", f.escape_debug()))?,
        None => plan::default_from()?,
    };
    let dns = match &destination {
        Destination::Host(_) => None,
        Destination::Domain(_) => {
            Some(Dns::new(&plan::dns_config(&args.server)?).map_err(|e| e.to_string())?)
        }
    };
    Ok(SizePlan {
        open: plan::open_plan_at(&args.server, &args.tls, port)?,
        destination,
        server: args.server.clone(),
        from,
        probe: args.probe,
        dns,
    })
}

/// Opens a session to the first server that answers, reads its SIZE, runs the probes.
async fn probe_server(ctx: SessionContext<'_>, plan: &SizePlan) -> (SizeReport, Option<Ending>) {
    let mut report = SizeReport::default();
    let hosts =
        match plan::destination_hosts(&plan.destination, &plan.server, plan.dns.as_ref()).await {
            Ok(h) => h,
            Err(f) => return (report, Some(Ending::Failed(f))),
        };
    let hops: Vec<_> = hosts
        .into_iter()
        .flat_map(|h| h.hops)
        .take(usize::from(plan.server.max_hops))
        .collect();
    if hops.is_empty() {
        let f = Failure::new(
            Phase::Dns,
            FailureKind::Dns { temporary: false },
            "no MX host has a usable address",
        );
        return (report, Some(Ending::Failed(f)));
    }
    let open_plan = OpenPlan {
        hops,
        ..plan.open.clone()
    };
    let mut session = match open(ctx, &open_plan).await {
        Opened::Ready(s) => s,
        Opened::Stopped(s, _) => {
            s.quit().await;
            return (report, None);
        }
        Opened::Refused(s, phase, reply) => {
            s.quit().await;
            return (report, Some(Ending::Refused { phase, reply }));
        }
        Opened::Declined(s, f) => {
            s.quit().await;
            return (report, Some(Ending::Failed(f)));
        }
        Opened::Failed(_, f) => return (report, Some(Ending::Failed(f))),
    };
    let peer = session.peer_addr();
    // None over a Unix socket, a pipe or a name a SOCKS5 proxy resolved.
    report.peer = (!peer.ip().is_unspecified()).then_some(peer);
    report.host = open_plan
        .hops
        .iter()
        .find(|h| h.addr == peer)
        .map(|h| h.host.clone());
    let caps = session.capabilities.clone().unwrap_or_default();
    report.advertised = caps.size();
    report.value = caps.get("SIZE").map(|c| c.params.join(" "));
    match run_probes(&mut session, plan, &mut report).await {
        Ok(()) => {
            session.quit().await;
            (report, None)
        }
        Err(f) => {
            session.abort().await;
            (report, Some(Ending::Failed(f)))
        }
    }
}

async fn run_probes(
    session: &mut Session<'_>,
    plan: &SizePlan,
    report: &mut SizeReport,
) -> Result<(), Failure> {
    match report.advertised {
        Some(SizeLimit::Bytes(limit)) => {
            let [at, over] = at_and_over(limit);
            let at = declare(session, &plan.from, at).await?;
            let at_ok = at.reply.is_positive();
            report.probes.push(at);
            if over > limit {
                let over = declare(session, &plan.from, over).await?;
                report.check = Some(judge_limit(at_ok, over.reply.is_positive()));
                report.probes.push(over);
            }
        }
        // RFC 1870 §3: SIZE 0 or no parameter states no fixed limit; an unreadable one
        // states nothing either. Only a search can tell what is accepted.
        Some(_) if plan.probe => {
            let mut search = SizeSearch::new();
            while let Some(size) = search.next_probe() {
                let probe = declare(session, &plan.from, size).await?;
                search.record(size, probe.reply.is_positive());
                report.probes.push(probe);
            }
            report.search = Some(search.result());
        }
        Some(_) | None => {}
    }
    Ok(())
}

/// `MAIL FROM:<from> SIZE=n`, then RSET so that no transaction stays open
/// (RFC 5321 §4.1.1.5): nothing is ever sent as a message.
async fn declare(
    session: &mut Session<'_>,
    from: &ReversePath,
    size: u64,
) -> Result<SizeProbe, Failure> {
    let mail = Command::Mail {
        from: from.clone(),
        params: vec![Param::new("SIZE", Some(size.to_string()))],
    };
    let reply = session.command(&mail, Phase::Mail).await?;
    session.command(&Command::Rset, Phase::Probe).await?;
    Ok(SizeProbe {
        declared: size,
        reply,
    })
}
