//! How a domain's mail route reads (`smtpx mx`).

use crate::dns::{Addr, MailRoute};

/// The lines describing one domain's route.
pub fn describe(domain: &str, route: &MailRoute, keep: &dyn Fn(&Addr) -> bool) -> Vec<String> {
    let mut lines = Vec::new();
    match route {
        MailRoute::Mx { hosts } => {
            let n = hosts.len();
            lines.push(format!(
                "{domain}: {n} MX host{}",
                if n == 1 { "" } else { "s" }
            ));
            for host in hosts {
                let tie = if host.tied {
                    "  (tied: tried in random order)"
                } else {
                    ""
                };
                lines.push(format!(
                    "  {:>5}  {}  TTL {}{tie}",
                    host.preference, host.name, host.ttl
                ));
                addresses(&mut lines, &host.addresses, keep);
                if host.dangling {
                    let why = host
                        .lookup_error
                        .as_deref()
                        .unwrap_or("no A or AAAA records");
                    lines.push(format!("         dangling MX target: {why}"));
                } else if let Some(err) = &host.lookup_error {
                    lines.push(format!("         address lookup failed: {err}"));
                }
            }
            if hosts.iter().all(|h| h.dangling) {
                lines.push("  no MX host has an address: mail cannot be delivered".into());
            }
        }
        MailRoute::Implicit {
            host,
            addresses: addrs,
        } => {
            lines.push(format!(
                "{domain}: no MX records; implicit MX {host} (RFC 5321 §5.1)"
            ));
            addresses(&mut lines, addrs, keep);
        }
        MailRoute::NullMx { mixed_with } => {
            lines.push(format!(
                "{domain}: null MX (RFC 7505): this domain accepts no mail"
            ));
            if !mixed_with.is_empty() {
                lines.push(format!(
                    "  misconfigured: the null MX is published together with {}",
                    mixed_with.join(", ")
                ));
            }
        }
        MailRoute::NoMail => lines.push(format!(
            "{domain}: no MX records and no addresses: no mail route"
        )),
        MailRoute::NxDomain => lines.push(format!("{domain}: does not exist (NXDOMAIN)")),
        MailRoute::Temporary { reason } => {
            lines.push(format!("{domain}: temporary DNS failure: {reason}"))
        }
        MailRoute::InvalidDomain { reason } => {
            lines.push(format!("{domain}: not a valid domain name: {reason}"))
        }
    }
    lines
}

fn addresses(lines: &mut Vec<String>, addrs: &[Addr], keep: &dyn Fn(&Addr) -> bool) {
    for a in addrs.iter().filter(|a| keep(a)) {
        let kind = if a.ip.is_ipv4() { "A   " } else { "AAAA" };
        lines.push(format!("         {kind}  {:<39}  TTL {}", a.ip, a.ttl));
    }
}

/// Whether mail for the domain has somewhere to go.
pub fn deliverable(route: &MailRoute) -> bool {
    match route {
        MailRoute::Mx { hosts } => hosts.iter().any(|h| !h.addresses.is_empty()),
        MailRoute::Implicit { .. } => true,
        _ => false,
    }
}
