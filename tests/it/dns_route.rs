//! Mail routes (RFC 5321 §5.1, RFC 7505) against a real DNS server on loopback.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use smtpx::dns::{
    Candidate, Dns, DnsConfig, LookupFailure, MailRoute, MxHost, delivery_candidates,
};

use crate::support::dns::DnsServer;

fn config(server: &DnsServer) -> DnsConfig {
    DnsConfig {
        server: Some(server.addr()),
        timeout: Duration::from_secs(2),
        ..DnsConfig::default()
    }
}

fn dns(server: &DnsServer) -> Dns {
    Dns::new(&config(server)).expect("resolver for the test server")
}

fn ips(host: &MxHost) -> BTreeSet<IpAddr> {
    host.addresses.iter().map(|a| a.ip).collect()
}

fn ip_set(list: &[&str]) -> BTreeSet<IpAddr> {
    list.iter().map(|s| s.parse().unwrap()).collect()
}

fn mx_hosts(route: MailRoute, server: &DnsServer) -> Vec<MxHost> {
    match route {
        MailRoute::Mx { hosts } => hosts,
        other => panic!("expected MX hosts, got {other:?}\n{}", server.log()),
    }
}

#[tokio::test]
async fn two_mx_hosts_in_preference_order_with_addresses() {
    let Some(server) = DnsServer::standard() else {
        return;
    };
    let hosts = mx_hosts(dns(&server).mail_route("two.test").await, &server);
    let summary: Vec<(&str, u16, bool, bool)> = hosts
        .iter()
        .map(|h| (h.name.as_str(), h.preference, h.tied, h.dangling))
        .collect();
    assert_eq!(
        summary,
        [
            ("mx1.two.test", 10, false, false),
            ("mx2.two.test", 20, false, false)
        ]
    );
    assert_eq!(ips(&hosts[0]), ip_set(&["127.0.0.1", "::1"]));
    assert_eq!(ips(&hosts[1]), ip_set(&["127.0.0.1"]));
    assert!(hosts.iter().all(|h| h.lookup_error.is_none()));
    assert_eq!(hosts[0].ttl, 300, "the MX record's TTL is carried");
    assert!(hosts[0].addresses.iter().all(|a| a.ttl > 0 && a.ttl <= 300));
}

#[tokio::test]
async fn trailing_dot_and_case_do_not_matter() {
    let Some(server) = DnsServer::standard() else {
        return;
    };
    let hosts = mx_hosts(dns(&server).mail_route("TWO.test.").await, &server);
    assert_eq!(hosts.len(), 2);
}

#[tokio::test]
async fn candidates_follow_preference_and_family_flags() {
    let Some(server) = DnsServer::standard() else {
        return;
    };
    let route = dns(&server).mail_route("two.test").await;
    let list = |cands: Vec<Candidate>| -> Vec<String> {
        cands
            .into_iter()
            .map(|c| format!("{} {}", c.host, c.addr))
            .collect()
    };
    let both = config(&server);
    assert_eq!(
        list(delivery_candidates(&route, 2525, &both, 10, 1)),
        [
            "mx1.two.test [::1]:2525",
            "mx1.two.test 127.0.0.1:2525",
            "mx2.two.test 127.0.0.1:2525"
        ]
    );
    let v4 = DnsConfig {
        ipv6: false,
        ..config(&server)
    };
    assert_eq!(
        list(delivery_candidates(&route, 25, &v4, 10, 1)),
        ["mx1.two.test 127.0.0.1:25", "mx2.two.test 127.0.0.1:25"]
    );
    let v6 = DnsConfig {
        ipv4: false,
        ..config(&server)
    };
    assert_eq!(
        list(delivery_candidates(&route, 25, &v6, 10, 1)),
        ["mx1.two.test [::1]:25"]
    );
}

#[tokio::test]
async fn equal_preferences_are_tied_and_shuffled() {
    let Some(server) = DnsServer::standard() else {
        return;
    };
    let route = dns(&server).mail_route("tie.test").await;
    let hosts = mx_hosts(route.clone(), &server);
    assert_eq!(hosts.len(), 2);
    assert!(hosts.iter().all(|h| h.tied && h.preference == 10));
    let firsts: BTreeSet<String> = (0..64)
        .map(|seed| {
            delivery_candidates(&route, 25, &config(&server), 10, seed)[0]
                .host
                .clone()
        })
        .collect();
    assert_eq!(
        firsts,
        BTreeSet::from(["a.tie.test".into(), "b.tie.test".into()])
    );
}

#[tokio::test]
async fn null_mx_accepts_no_mail() {
    let Some(server) = DnsServer::standard() else {
        return;
    };
    let dns = dns(&server);
    let route = dns.mail_route("nullmx.test").await;
    assert_eq!(
        route,
        MailRoute::NullMx { mixed_with: vec![] },
        "{}",
        server.log()
    );
    assert!(delivery_candidates(&route, 25, &config(&server), 10, 1).is_empty());

    // RFC 7505 §3 forbids other MX records beside a null MX; when a zone has them
    // anyway, the "no mail" statement still stands.
    let mixed = dns.mail_route("nullmixed.test").await;
    assert_eq!(
        mixed,
        MailRoute::NullMx {
            mixed_with: vec!["mx.nullmixed.test".into()]
        }
    );
    assert!(delivery_candidates(&mixed, 25, &config(&server), 10, 1).is_empty());
}

#[tokio::test]
async fn no_mx_with_addresses_is_an_implicit_mx() {
    let Some(server) = DnsServer::standard() else {
        return;
    };
    match dns(&server).mail_route("amx.test").await {
        MailRoute::Implicit { host, addresses } => {
            assert_eq!(host, "amx.test");
            let got: BTreeSet<IpAddr> = addresses.iter().map(|a| a.ip).collect();
            assert_eq!(
                got,
                ip_set(&["127.0.0.1", "::1"]),
                "A and AAAA both returned"
            );
        }
        other => panic!("expected an implicit MX, got {other:?}\n{}", server.log()),
    }
}

#[tokio::test]
async fn implicit_mx_reports_every_family_but_candidates_honour_minus_4() {
    let Some(server) = DnsServer::standard() else {
        return;
    };
    let v4 = DnsConfig {
        ipv6: false,
        ..config(&server)
    };
    let route = Dns::new(&v4).unwrap().mail_route("v6only.test").await;
    assert!(
        matches!(&route, MailRoute::Implicit { addresses, .. } if addresses.len() == 1),
        "{route:?}"
    );
    assert!(delivery_candidates(&route, 25, &v4, 10, 1).is_empty());
}

#[tokio::test]
async fn existing_domain_without_mx_or_address_is_no_mail_not_nxdomain() {
    let Some(server) = DnsServer::standard() else {
        return;
    };
    let dns = dns(&server);
    assert_eq!(
        dns.mail_route("nomail.test").await,
        MailRoute::NoMail,
        "{}",
        server.log()
    );
    assert_eq!(dns.mail_route("nx.test").await, MailRoute::NxDomain);
    assert_eq!(dns.mail_route("deeper.nx.test").await, MailRoute::NxDomain);
}

#[tokio::test]
async fn dangling_mx_is_flagged_and_never_falls_back() {
    let Some(server) = DnsServer::standard() else {
        return;
    };
    let dns = dns(&server);
    let route = dns.mail_route("dangling.test").await;
    let hosts = mx_hosts(route.clone(), &server);
    assert_eq!(hosts.len(), 1);
    assert_eq!(hosts[0].name, "nowhere.dangling.test");
    assert!(hosts[0].dangling);
    assert!(hosts[0].addresses.is_empty());
    assert_eq!(
        hosts[0].lookup_error.as_deref(),
        Some("nowhere.dangling.test: no such domain (NXDOMAIN)")
    );
    assert!(delivery_candidates(&route, 25, &config(&server), 10, 1).is_empty());

    let mixed = dns.mail_route("mixed.test").await;
    let hosts = mx_hosts(mixed.clone(), &server);
    let flags: Vec<(&str, bool)> = hosts
        .iter()
        .map(|h| (h.name.as_str(), h.dangling))
        .collect();
    assert_eq!(
        flags,
        [("gone.mixed.test", true), ("good.mixed.test", false)]
    );
    let cands = delivery_candidates(&mixed, 25, &config(&server), 10, 1);
    assert_eq!(cands.len(), 1);
    assert_eq!(cands[0].host, "good.mixed.test");
    assert_eq!(cands[0].preference, Some(20));
}

#[tokio::test]
async fn servfail_is_temporary_and_not_implicit() {
    let Some(server) = DnsServer::standard() else {
        return;
    };
    let route = dns(&server).mail_route("servfail.test").await;
    assert_eq!(
        route,
        MailRoute::Temporary {
            reason: format!("SERVFAIL from {}", server.addr())
        },
        "{}",
        server.log()
    );
    assert!(route.is_temporary());
}

#[tokio::test]
async fn refused_is_temporary() {
    let Some(server) = DnsServer::standard() else {
        return;
    };
    let route = dns(&server).mail_route("refused.test").await;
    assert_eq!(
        route,
        MailRoute::Temporary {
            reason: format!("REFUSED from {}", server.addr())
        },
        "{}",
        server.log()
    );
}

#[tokio::test]
async fn no_answer_times_out_quickly_as_temporary() {
    let Some(server) = DnsServer::standard() else {
        return;
    };
    let cfg = DnsConfig {
        timeout: Duration::from_millis(700),
        ..config(&server)
    };
    let started = Instant::now();
    let route = Dns::new(&cfg).unwrap().mail_route("timeout.test").await;
    let took = started.elapsed();
    assert_eq!(
        route,
        MailRoute::Temporary {
            reason: "no answer within 700ms".into()
        }
    );
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[tokio::test]
async fn dead_server_fails_fast() {
    // Nothing answers on this port: a bound socket that is never read.
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let cfg = DnsConfig {
        server: Some(socket.local_addr().unwrap()),
        timeout: Duration::from_millis(500),
        ..DnsConfig::default()
    };
    let started = Instant::now();
    let route = Dns::new(&cfg).unwrap().mail_route("example.test").await;
    assert!(route.is_temporary(), "{route:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn mx_host_with_temporary_lookup_failure_is_not_dangling() {
    let Some(server) = DnsServer::standard() else {
        return;
    };
    let hosts = mx_hosts(dns(&server).mail_route("flaky.test").await, &server);
    assert_eq!(hosts.len(), 1);
    assert!(!hosts[0].dangling);
    assert_eq!(
        hosts[0].lookup_error.as_deref(),
        Some(format!("SERVFAIL from {}", server.addr()).as_str())
    );
}

#[tokio::test]
async fn addresses_returns_both_families_and_honours_flags() {
    let Some(server) = DnsServer::standard() else {
        return;
    };
    let got: BTreeSet<IpAddr> = dns(&server)
        .addresses("mx1.two.test")
        .await
        .unwrap()
        .iter()
        .map(|a| a.ip)
        .collect();
    assert_eq!(got, ip_set(&["127.0.0.1", "::1"]));

    let v4 = Dns::new(&DnsConfig {
        ipv6: false,
        ..config(&server)
    })
    .unwrap();
    let got: Vec<IpAddr> = v4
        .addresses("mx1.two.test")
        .await
        .unwrap()
        .iter()
        .map(|a| a.ip)
        .collect();
    assert_eq!(got, ["127.0.0.1".parse::<IpAddr>().unwrap()]);

    let dns = dns(&server);
    assert_eq!(dns.addresses("nomail.test").await, Ok(vec![]));
    assert_eq!(
        dns.addresses("nx.test").await,
        Err(LookupFailure::NxDomain {
            name: "nx.test".into()
        })
    );
    let failure = dns.addresses("host.servfail.test").await.unwrap_err();
    assert!(failure.is_temporary(), "{failure}");
}

#[tokio::test]
async fn reverse_names() {
    let Some(server) = DnsServer::standard() else {
        return;
    };
    let dns = dns(&server);
    let names = dns.reverse("192.0.2.10".parse().unwrap()).await.unwrap();
    assert_eq!(names, ["ptr.test"], "{}", server.log());
    // RFC 6761 §6.3: loopback is "localhost" without asking any server.
    let names = dns.reverse("127.0.0.1".parse().unwrap()).await.unwrap();
    assert_eq!(names, ["localhost"]);
    let missing = dns.reverse("192.0.2.1".parse().unwrap()).await;
    assert!(
        matches!(&missing, Err(f) if !f.is_temporary()),
        "{missing:?}"
    );
}

#[tokio::test]
async fn closed_port_is_temporary() {
    let port = {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.local_addr().unwrap().port()
    };
    let cfg = DnsConfig {
        server: Some(([127, 0, 0, 1], port).into()),
        timeout: Duration::from_millis(500),
        ..DnsConfig::default()
    };
    let started = Instant::now();
    let route = Dns::new(&cfg).unwrap().mail_route("example.test").await;
    eprintln!("closed port: {route:?} after {:?}", started.elapsed());
    assert!(route.is_temporary(), "{route:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

/// How many times dnsmasq was asked for `name`'s MX records, once its log settles.
fn mx_queries(server: &DnsServer, name: &str, at_least: usize) -> usize {
    let needle = format!("query[MX] {name} ");
    let count = || server.log().matches(&needle).count();
    // The log arrives through a pipe: wait for the count expected, then a moment more
    // for any query beyond it.
    for _ in 0..200 {
        if count() >= at_least {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(100));
    count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn the_cache_is_shared_by_clones_and_honours_the_ttl() {
    use crate::support::dns::RecordSpec::{Addr, Mx};
    let Some(server) = DnsServer::start_with_ttl(
        &[
            ("cached.test", Mx(10, "mx.cached.test")),
            ("mx.cached.test", Addr("127.0.0.1")),
        ],
        1,
    ) else {
        return;
    };
    let dns = dns(&server);
    // verify shares one resolver among all its tasks; a clone is what each gets.
    let other = dns.clone();
    mx_hosts(dns.mail_route("cached.test").await, &server);
    assert_eq!(mx_queries(&server, "cached.test", 1), 1, "{}", server.log());
    mx_hosts(other.mail_route("cached.test").await, &server);
    assert_eq!(
        mx_queries(&server, "cached.test", 1),
        1,
        "within the TTL the answer comes from the shared cache\n{}",
        server.log()
    );
    // Past the 1 s TTL the cached answer is stale: DNS is asked again.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    mx_hosts(other.mail_route("cached.test").await, &server);
    assert_eq!(mx_queries(&server, "cached.test", 2), 2, "{}", server.log());
}
