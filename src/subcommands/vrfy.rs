//! `smtpx vrfy` (and, through [`run_queries`], `smtpx expn`): one session (more when the
//! server caps one), one VRFY or EXPN per argument, each answer labelled with its RFC
//! 5321 §3.5 meaning.

use super::plan;
use crate::cli::{AuthArgs, KeepArgs, OutputArgs, ServerArgs, TlsArgs, VrfyArgs};
use crate::dns::Dns;
use crate::message::Mailbox;
use crate::net::target::Target;
use crate::outcome::{ExitCode, Failure, FailureKind, Phase};
use crate::render::outcome::worst_exit;
use crate::render::vrfy::{self as view, Asked};
use crate::render::{Status, Summary};
use crate::session::open::{OpenPlan, Opened, open};
use crate::session::{Event, SessionContext};
use crate::smtp::vrfy::{Decision, Meaning, Query, check_argument};
use crate::smtp::{Command, Domain, Reply};

pub fn run(args: VrfyArgs) -> u8 {
    run_queries(
        Query::Vrfy,
        &args.addresses,
        &args.server,
        &args.tls,
        &args.auth,
        &args.keep,
        &args.output,
    )
}

struct QueryPlan {
    query: Query,
    items: Vec<String>,
    /// `--server`, or None to ask each argument's domain's MX hosts.
    target: Option<Target>,
    open: OpenPlan,
}

/// What became of one argument.
enum Fate {
    Answered(Reply),
    /// The session never got to ask, or broke off first.
    NotAsked {
        reason: String,
        exit: ExitCode,
    },
}

impl Fate {
    fn exit(&self) -> ExitCode {
        match self {
            Fate::Answered(reply) => match Meaning::of(reply).decision() {
                Decision::Verified => ExitCode::Success,
                Decision::Refused => ExitCode::Permanent,
                Decision::Undecided => ExitCode::Temporary,
            },
            Fate::NotAsked { exit, .. } => *exit,
        }
    }
}

/// Runs VRFY or EXPN for each item; the exit code is 0 when every item was verified,
/// 7 when one was refused (any 5xx), 8 when one stays undecided (252, 4xx).
pub fn run_queries(
    query: Query,
    items: &[String],
    server: &ServerArgs,
    tls: &TlsArgs,
    auth: &AuthArgs,
    keep: &KeepArgs,
    output: &OutputArgs,
) -> u8 {
    let validated = plan::start(output, || validate(query, items, server, tls, auth));
    let (mut run, plan, runtime) = match validated {
        Ok(started) => started,
        Err(code) => return code,
    };
    if let Err(code) = run.keep(keep) {
        return code;
    }
    let fates = runtime.block_on(async {
        let (ctx, _) = run.context(server, auth.show_secrets);
        tokio::select! {
            fates = ask_all(ctx, &plan, server) => Some(fates),
            _ = tokio::signal::ctrl_c() => None,
        }
    });
    let Some(fates) = fates else {
        let summary = Summary::new(
            Status::Failed,
            ExitCode::Interrupted,
            "interrupted before every answer",
        );
        return run.finish(&summary);
    };
    let asked: Vec<Asked> = plan
        .items
        .iter()
        .zip(&fates)
        .map(|(item, fate)| Asked {
            argument: item,
            result: match fate {
                Fate::Answered(reply) => Ok(reply),
                Fate::NotAsked { reason, .. } => Err(reason),
            },
        })
        .collect();
    for (a, lines) in asked.iter().zip(view::lines(query, &asked)) {
        run.report(&lines, view::json(query, a));
    }
    let exit = worst_exit(fates.iter().map(|f| f.exit().code()));
    let all_answered = fates.iter().all(|f| matches!(f, Fate::Answered(_)));
    let status = match exit {
        0 => Status::Ok,
        7 => Status::Rejected,
        8 if all_answered => Status::Unknown,
        _ => Status::Failed,
    };
    let (words, counts) = view::tally(query, &asked);
    let mut summary = Summary::new(status, ExitCode::Success, words).with("counts", counts);
    summary.exit_code = exit;
    run.finish(&summary)
}

fn validate(
    query: Query,
    items: &[String],
    server: &ServerArgs,
    tls: &TlsArgs,
    auth: &AuthArgs,
) -> Result<QueryPlan, String> {
    for item in items {
        check_argument(query, item).map_err(|e| {
            format!(
                "invalid {} argument '{}': {e}",
                query.verb(),
                item.escape_debug()
            )
        })?;
    }
    let target = plan::target(server)?;
    if target.is_none() {
        for item in items {
            domain_of(item).map_err(|e| {
                format!(
                    "{} argument '{}' {e}: give --server, or write it as user@domain so its domain's MX hosts can be asked",
                    query.verb(),
                    item.escape_debug()
                )
            })?;
        }
    }
    Ok(QueryPlan {
        query,
        items: items.to_vec(),
        target,
        open: plan::open_plan(server, tls, auth, None)?,
    })
}

/// The domain of `user@domain` or `Name <user@domain>`, lower-cased.
fn domain_of(item: &str) -> Result<String, String> {
    let (_, inner) = Mailbox::split(item)?;
    let (_, domain) = inner.trim().rsplit_once('@').ok_or("has no domain")?;
    Domain::parse(domain).map_err(|e| format!("has an invalid domain: {e}"))?;
    Ok(domain.to_ascii_lowercase())
}

async fn ask_all(mut ctx: SessionContext<'_>, plan: &QueryPlan, server: &ServerArgs) -> Vec<Fate> {
    let all: Vec<usize> = (0..plan.items.len()).collect();
    if let Some(target) = &plan.target {
        return match plan::resolve_open(server, target, plan.open.clone()).await {
            Ok(open) => ask_session(ctx, plan, &open, &all).await.1,
            Err(f) => not_asked(&all, &f),
        };
    }
    let dns = match plan::dns_config(server).and_then(|c| Dns::new(&c).map_err(|e| e.to_string())) {
        Ok(d) => d,
        Err(e) => return not_asked(&all, &Failure::input(e)),
    };
    // One session per domain, in the order the domains first appear.
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, item) in plan.items.iter().enumerate() {
        let domain = domain_of(item).unwrap_or_default();
        match groups.iter_mut().find(|(d, _)| *d == domain) {
            Some((_, ids)) => ids.push(i),
            None => groups.push((domain, vec![i])),
        }
    }
    let mut fates: Vec<Option<Fate>> = (0..plan.items.len()).map(|_| None).collect();
    for (domain, ids) in &groups {
        let part =
            match plan::route_open(&dns, domain, server.port, server, plan.open.clone()).await {
                Ok(open) => {
                    let (c, part) = ask_session(ctx, plan, &open, ids).await;
                    ctx = c;
                    part
                }
                Err(f) => not_asked(ids, &f),
            };
        for (i, fate) in ids.iter().zip(part) {
            fates[*i] = Some(fate);
        }
    }
    fates
        .into_iter()
        .map(|f| {
            f.unwrap_or(Fate::NotAsked {
                reason: "not asked".into(),
                exit: ExitCode::Other,
            })
        })
        .collect()
}

fn not_asked(ids: &[usize], f: &Failure) -> Vec<Fate> {
    ids.iter()
        .map(|_| Fate::NotAsked {
            reason: format!("at {}: {}", f.phase, f.message),
            exit: f.exit_code(),
        })
        .collect()
}

/// Sessions until every item is asked: one command per item, QUIT. Servers cap the
/// commands of one session although RFC 5321 sets no such limit: Exim counts VRFY and
/// EXPN toward smtp_accept_max_nonmail (10) and then answers `554 Too many nonmail
/// commands` and closes; Postfix closes with 421 after 20 refusals. When a server
/// closes a session that had answered something, the rest is asked in new sessions of
/// no more commands than that one answered, and a note says so.
async fn ask_session<'a>(
    mut ctx: SessionContext<'a>,
    plan: &QueryPlan,
    open_plan: &OpenPlan,
    ids: &[usize],
) -> (SessionContext<'a>, Vec<Fate>) {
    let mut fates = Vec::with_capacity(ids.len());
    let mut budget: Option<usize> = None;
    loop {
        let rest = &ids[fates.len()..];
        let (c, part, end) = ask_once(ctx, plan, open_plan, rest, budget).await;
        ctx = c;
        let answered = part.len();
        fates.extend(part);
        match end {
            Ended::Done => return (ctx, fates),
            Ended::Budget => {}
            Ended::Closed(f) => {
                if answered == 0 {
                    fates.extend(not_asked(&ids[fates.len()..], &f));
                    return (ctx, fates);
                }
                if budget.is_none() {
                    budget = Some(answered);
                    let s = if answered == 1 { "" } else { "s" };
                    ctx.emit(Event::Note {
                        message: format!(
                            "the server closed the session after answering {answered} command{s} \
                             (Exim counts VRFY and EXPN toward smtp_accept_max_nonmail, 10 by \
                             default); the rest is asked in new sessions of at most {answered}"
                        ),
                    });
                }
            }
        }
    }
}

/// How one session of [`ask_once`] ended.
enum Ended {
    /// Every item it was given is answered.
    Done,
    /// It asked as many as the budget allows; more are left.
    Budget,
    /// The server closed it; the items from the first unanswered one on are left.
    Closed(Failure),
}

/// One session: open, one command per item (at most `budget`), QUIT. A reply the
/// server closes the session after (a 421, or Exim's 554 to the command past its
/// limit) is not taken as the item's answer when others came before it: the item is
/// asked again in the next session.
async fn ask_once<'a>(
    ctx: SessionContext<'a>,
    plan: &QueryPlan,
    open_plan: &OpenPlan,
    ids: &[usize],
    budget: Option<usize>,
) -> (SessionContext<'a>, Vec<Fate>, Ended) {
    let refused = |reason: String, exit| {
        ids.iter()
            .map(|_| Fate::NotAsked {
                reason: reason.clone(),
                exit,
            })
            .collect::<Vec<_>>()
    };
    let mut session = match open(ctx, open_plan).await {
        Opened::Ready(s) => s,
        Opened::Refused(s, phase, reply) => {
            let why = format!("at {phase}: {} {}", reply.code, reply.lines.join(" "));
            let fates = refused(why, ExitCode::for_reply(&reply));
            return (s.quit().await, fates, Ended::Done);
        }
        Opened::Declined(s, f) => return (s.quit().await, not_asked(ids, &f), Ended::Done),
        Opened::Failed(c, f) => return (c, not_asked(ids, &f), Ended::Done),
        Opened::Stopped(s, phase) => {
            let fates = refused(format!("stopped after {phase}"), ExitCode::Other);
            return (s.quit().await, fates, Ended::Done);
        }
    };
    let phase = match plan.query {
        Query::Vrfy => Phase::Vrfy,
        Query::Expn => Phase::Expn,
    };
    let take = budget.unwrap_or(usize::MAX).min(ids.len());
    let mut fates = Vec::with_capacity(take);
    for &i in &ids[..take] {
        let item = plan.items[i].clone();
        let cmd = match plan.query {
            Query::Vrfy => Command::Vrfy(item),
            Query::Expn => Command::Expn(item),
        };
        match session.command(&cmd, phase).await {
            Ok(reply) if reply.code.value() == 421 => {
                let f = Failure::new(
                    phase,
                    FailureKind::Closed,
                    format!("{} {}", reply.code, reply.lines.join(" ")),
                );
                return (session.abort().await, fates, Ended::Closed(f));
            }
            Ok(reply) => fates.push(Fate::Answered(reply)),
            Err(f) if f.kind == FailureKind::Closed => {
                // The last reply was the server's parting word, not an answer.
                if fates.len() >= 2
                    && matches!(fates.last(), Some(Fate::Answered(r)) if !r.is_positive())
                {
                    fates.pop();
                }
                return (session.abort().await, fates, Ended::Closed(f));
            }
            Err(f) => {
                let rest = &ids[fates.len()..];
                fates.extend(not_asked(rest, &f));
                return (session.abort().await, fates, Ended::Done);
            }
        }
    }
    let end = if take < ids.len() {
        Ended::Budget
    } else {
        Ended::Done
    };
    (session.quit().await, fates, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_of_arguments() {
        assert_eq!(domain_of("bob@Example.ORG"), Ok("example.org".into()));
        assert_eq!(domain_of("Bob <bob@x.test>"), Ok("x.test".into()));
        assert!(domain_of("bob").is_err());
        assert!(domain_of("bob@").is_err());
        assert!(domain_of("bob@bad domain").is_err());
    }

    #[test]
    fn exit_codes_follow_the_meaning() {
        let e = |code| Fate::Answered(Reply::new(code, &["x"])).exit();
        assert_eq!(e(250), ExitCode::Success);
        assert_eq!(e(251), ExitCode::Success);
        assert_eq!(e(252), ExitCode::Temporary);
        assert_eq!(e(450), ExitCode::Temporary);
        assert_eq!(e(550), ExitCode::Permanent);
        assert_eq!(e(502), ExitCode::Permanent);
    }
}
