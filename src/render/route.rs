//! How a domain's mail route reads (`smtpx mx`).

use crate::dns::{Addr, Checked, MailRoute, RouteSecurity};

/// The lines describing one domain's route; with `dnssec`, each answer's DNSSEC
/// status under it.
pub fn describe(
    domain: &str,
    route: &MailRoute,
    keep: &dyn Fn(&Addr) -> bool,
    dnssec: Option<&RouteSecurity>,
) -> Vec<String> {
    let mut lines = Vec::new();
    let host_status = |lines: &mut Vec<String>, host: &str| {
        if let Some(status) = dnssec.and_then(|d| d.hosts.iter().find(|h| h.host == host)) {
            lines.push(format!(
                "         DNSSEC: addresses {}",
                checked(&status.addresses)
            ));
        }
    };
    let mx_status = |lines: &mut Vec<String>| {
        if let Some(d) = dnssec {
            lines.push(format!("  DNSSEC: MX answer {}", checked(&d.mx)));
        }
    };
    match route {
        MailRoute::Mx { hosts } => {
            let n = hosts.len();
            lines.push(format!(
                "{domain}: {n} MX host{}",
                if n == 1 { "" } else { "s" }
            ));
            mx_status(&mut lines);
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
                host_status(&mut lines, &host.name);
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
            mx_status(&mut lines);
            addresses(&mut lines, addrs, keep);
            host_status(&mut lines, host);
        }
        MailRoute::NullMx { mixed_with } => {
            lines.push(format!(
                "{domain}: null MX (RFC 7505): this domain accepts no mail"
            ));
            mx_status(&mut lines);
            if !mixed_with.is_empty() {
                lines.push(format!(
                    "  misconfigured: the null MX is published together with {}",
                    mixed_with.join(", ")
                ));
            }
        }
        MailRoute::NoMail => {
            lines.push(format!(
                "{domain}: no MX records and no addresses: no mail route"
            ));
            mx_status(&mut lines);
        }
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

/// `secure`, `bogus (why)`, or why it could not be checked.
fn checked(status: &Checked) -> String {
    match status {
        Checked::Status(security) => security.to_string(),
        Checked::Failed { error } => format!("not validated: {error}"),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::{HostSecurity, MxHost, Security};
    use std::net::{IpAddr, Ipv4Addr};

    fn host(name: &str) -> MxHost {
        MxHost {
            name: name.into(),
            preference: 10,
            ttl: 300,
            tied: false,
            addresses: vec![Addr {
                ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
                ttl: 300,
            }],
            lookup_error: None,
            dangling: false,
        }
    }

    #[test]
    fn dnssec_status_sits_under_the_answer_it_judges() {
        let route = MailRoute::Mx {
            hosts: vec![host("mx1.example.org"), host("mx2.example.org")],
        };
        let dnssec = RouteSecurity {
            mx: Checked::Status(Security::Secure),
            hosts: vec![
                HostSecurity {
                    host: "mx1.example.org".into(),
                    addresses: Checked::Status(Security::Bogus("bad key".into())),
                },
                HostSecurity {
                    host: "mx2.example.org".into(),
                    addresses: Checked::Failed {
                        error: "no answer within 5s".into(),
                    },
                },
            ],
        };
        let lines = describe("example.org", &route, &|_| true, Some(&dnssec));
        assert_eq!(lines[1], "  DNSSEC: MX answer secure");
        assert_eq!(lines[4], "         DNSSEC: addresses bogus (bad key)");
        assert_eq!(
            lines[7],
            "         DNSSEC: addresses not validated: no answer within 5s"
        );
        let plain = describe("example.org", &route, &|_| true, None);
        assert!(plain.iter().all(|l| !l.contains("DNSSEC")), "{plain:?}");
    }
}
