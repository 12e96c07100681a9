//! `smtpx domain`: a domain's mail security from DNS and HTTPS alone (never an SMTP
//! connection): DNSSEC, MX, DANE, MTA-STS, TLS-RPT, SPF, DMARC and DKIM.

mod gather;

use super::plan;
use super::tls_policy::Fetcher;
use crate::cli::DomainArgs;
use crate::dns::Dns;
use crate::net::https::HttpsClient;
use crate::outcome::{ExitCode, Phase};
use crate::policy::report::Report;
use crate::policy::verdict::Status as Verdict;
use crate::render::domain::{describe, to_json};
use crate::render::{Status, Summary};

pub use gather::{Settings, inspect, inspect_for_delivery};

pub fn run(args: DomainArgs) -> u8 {
    let validate = || {
        let https = HttpsClient::new(&args.tls_ca).map_err(|e| format!("--tls-ca: {e}"))?;
        let cfg = plan::dns_settings(&args.dns, false, false)?;
        let dns = Dns::new(&cfg).map_err(|e| e.to_string())?;
        Ok((dns, https))
    };
    let (mut run, (dns, https), runtime) = match plan::start(&args.output, validate) {
        Ok(started) => started,
        Err(code) => return code,
    };
    let settings = Settings {
        dkim_selectors: args.dkim_selector.clone(),
        fetcher: Fetcher {
            https,
            mta_sts_port: args.mta_sts_port,
            timeout: args.fetch_timeout,
        },
        smtp_port: args.dane_port,
    };
    // Every domain at once, and inside each every independent lookup at once: a
    // report costs about its longest chain of dependent lookups.
    let reports = runtime.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for (i, domain) in args.domains.iter().enumerate() {
            let (dns, domain, settings) = (dns.clone(), domain.clone(), settings.clone());
            set.spawn(async move { (i, gather::inspect(&dns, &domain, &settings).await) });
        }
        let mut reports: Vec<Option<Report>> = args.domains.iter().map(|_| None).collect();
        let collect = async {
            while let Some(Ok((i, report))) = set.join_next().await {
                reports[i] = Some(report);
            }
        };
        tokio::select! {
            () = collect => Some(reports),
            _ = tokio::signal::ctrl_c() => None,
        }
    });
    let Some(reports) = reports else {
        return run.finish(&Summary::new(
            Status::Failed,
            ExitCode::Interrupted,
            "interrupted; no report is complete",
        ));
    };
    let reports: Vec<Report> = reports.into_iter().flatten().collect();
    for report in &reports {
        run.renderer.report(&describe(report), to_json(report));
    }
    run.finish(&summarize(&reports))
}

fn summarize(reports: &[Report]) -> Summary {
    let names = |pick: &dyn Fn(&Report) -> bool| {
        reports
            .iter()
            .filter(|r| pick(r))
            .map(|r| r.domain.clone())
            .collect::<Vec<_>>()
    };
    let dns_failed = names(&|r| r.dns_failed);
    let failed = names(&|r| r.status() == Verdict::Fail);
    let warned = names(&|r| r.status() == Verdict::Warn);
    if !dns_failed.is_empty() {
        Summary::new(
            Status::Failed,
            ExitCode::Dns,
            format!(
                "DNS failed for {}: the report is incomplete",
                dns_failed.join(", ")
            ),
        )
        .with("phase", Phase::Dns)
        .with("failed", &failed)
    } else if !failed.is_empty() {
        Summary::new(
            Status::Failed,
            ExitCode::Permanent,
            format!("a check failed for {}", failed.join(", ")),
        )
        .with("failed", &failed)
    } else if !warned.is_empty() {
        Summary::new(
            Status::Ok,
            ExitCode::Success,
            format!("no check failed; warnings for {}", warned.join(", ")),
        )
        .with("warned", &warned)
    } else {
        Summary::new(Status::Ok, ExitCode::Success, "no check failed")
    }
}
