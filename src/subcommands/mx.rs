//! `smtpx mx`: a domain's mail routing as RFC 5321 §5.1 and RFC 7505 define it.

use serde_json::json;

use super::plan;
use crate::cli::MxArgs;
use crate::dns::{Dns, MailRoute, RouteSecurity};
use crate::outcome::{ExitCode, Phase};
use crate::render::route::{deliverable, describe};
use crate::render::{Status, Summary};

pub fn run(args: MxArgs) -> u8 {
    let dns = || {
        plan::dns_settings(&args.dns, args.ipv4, args.ipv6)
            .and_then(|cfg| Dns::new(&cfg).map_err(|e| e.to_string()))
    };
    let (mut run, dns, runtime) = match plan::start(&args.output, dns) {
        Ok(started) => started,
        Err(code) => return code,
    };
    // Every domain at once: the time is that of the slowest lookup, not the sum.
    let routes: Vec<MailRoute> = runtime.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for (i, domain) in args.domains.iter().enumerate() {
            let (dns, domain) = (dns.clone(), domain.clone());
            set.spawn(async move { (i, dns.mail_route(&domain).await) });
        }
        let mut routes: Vec<Option<MailRoute>> = vec![None; args.domains.len()];
        while let Some(Ok((i, route))) = set.join_next().await {
            routes[i] = Some(route);
        }
        routes
            .into_iter()
            .map(|r| {
                r.unwrap_or(MailRoute::Temporary {
                    reason: "lookup task failed".into(),
                })
            })
            .collect()
    });
    // Validation costs DS and DNSKEY queries up the chain: only when asked for.
    let dnssec = args.dnssec || args.dns.dns_trust_anchor.is_some();
    let securities: Vec<Option<RouteSecurity>> = if dnssec {
        runtime.block_on(async {
            let mut set = tokio::task::JoinSet::new();
            for (i, (domain, route)) in args.domains.iter().zip(&routes).enumerate() {
                let (dns, domain, route) = (dns.clone(), domain.clone(), route.clone());
                set.spawn(async move { (i, dns.route_security(&domain, &route).await) });
            }
            let mut found = vec![None; routes.len()];
            while let Some(Ok((i, security))) = set.join_next().await {
                found[i] = security;
            }
            found
        })
    } else {
        vec![None; routes.len()]
    };
    let keep = |a: &crate::dns::Addr| !(args.ipv4 && a.ip.is_ipv6() || args.ipv6 && a.ip.is_ipv4());
    let mut failed = Vec::new();
    for ((domain, route), security) in args.domains.iter().zip(&routes).zip(&securities) {
        let lines = describe(domain, route, &keep, security.as_ref());
        let mut record = json!({"type": "route", "domain": domain, "deliverable": deliverable(route), "temporary": route.is_temporary(), "route": route});
        if dnssec {
            record["dnssec"] = json!(security);
        }
        run.renderer.report(&lines, record);
        if !deliverable(route) {
            failed.push(domain.clone());
        }
    }
    let summary = if failed.is_empty() {
        Summary::new(
            Status::Ok,
            ExitCode::Success,
            "every domain has somewhere to deliver",
        )
    } else {
        Summary::new(
            Status::Failed,
            ExitCode::Dns,
            format!("no mail route for {}", failed.join(", ")),
        )
        .with("phase", Phase::Dns)
        .with("undeliverable", &failed)
    };
    run.finish(&summary)
}
