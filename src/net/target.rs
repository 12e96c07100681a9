//! `--server` values: `host`, `host:port`, `ipv4:port`, `[ipv6]:port`, or a bare IPv6 address.

use std::net::{IpAddr, SocketAddr};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Host name or IP literal, without brackets.
    pub host: String,
    pub port: u16,
}

impl Target {
    pub fn parse(s: &str, default_port: u16) -> Result<Target, String> {
        if s.is_empty() {
            return Err("empty server".into());
        }
        if let Some(c) = s.chars().find(|c| c.is_control() || c.is_whitespace()) {
            return Err(format!("contains {:?}", c));
        }
        // Neither message repeats the value: a user name or password may be in it.
        if s.contains('@') {
            return Err(
                "a user name or password does not go in the server: give HOST[:PORT], \
                 and the user with --user (the password from --password-env, \
                 --password-file or the prompt)"
                    .into(),
            );
        }
        if let Some((scheme, _)) = s.split_once("://") {
            return Err(format!(
                "give HOST[:PORT], not a URL ('{scheme}://'); for smtps:// add --tls implicit"
            ));
        }
        if let Some(rest) = s.strip_prefix('[') {
            let (ip, after) = rest
                .split_once(']')
                .ok_or_else(|| format!("missing ']' in '{s}'"))?;
            let ip: std::net::Ipv6Addr = ip
                .parse()
                .map_err(|_| format!("'{ip}' is not an IPv6 address"))?;
            let port = match after {
                "" => default_port,
                p => parse_port(
                    p.strip_prefix(':')
                        .ok_or_else(|| format!("unexpected '{p}' after ']'"))?,
                )?,
            };
            return Ok(Target {
                host: ip.to_string(),
                port,
            });
        }
        if s.parse::<std::net::Ipv6Addr>().is_ok() {
            return Ok(Target {
                host: s.to_string(),
                port: default_port,
            });
        }
        let (host, port) = match s.rsplit_once(':') {
            Some((h, p)) => (h, parse_port(p)?),
            None => (s, default_port),
        };
        if host.is_empty() || host.contains(':') {
            return Err(format!(
                "cannot read '{s}' as HOST[:PORT] (write IPv6 addresses as [::1]:25)"
            ));
        }
        let valid_name = host.strip_suffix('.').unwrap_or(host).split('.').all(|l| {
            !l.is_empty()
                && l.chars()
                    .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        });
        if !valid_name && host.parse::<IpAddr>().is_err() {
            return Err(format!("'{host}' is not a host name or IP address"));
        }
        Ok(Target {
            host: host.trim_end_matches('.').to_string(),
            port,
        })
    }

    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// Host and port as a user would type them.
    pub fn display(&self) -> String {
        match self.ip() {
            Some(IpAddr::V6(_)) => format!("[{}]:{}", self.host, self.port),
            _ => format!("{}:{}", self.host, self.port),
        }
    }
}

/// A server value as it may be shown in an error: the password of a
/// `scheme://user:password@host` userinfo (RFC 3986 §3.2.1) replaced with `***`.
pub fn redacted(s: &str) -> String {
    let Some(at) = s.rfind('@') else {
        return s.to_string();
    };
    let (userinfo, host) = s.split_at(at);
    let start = userinfo.find("://").map_or(0, |i| i + 3);
    match userinfo[start..].find(':') {
        Some(colon) => format!("{}:***{host}", &userinfo[..start + colon]),
        None => s.to_string(),
    }
}

fn parse_port(p: &str) -> Result<u16, String> {
    match p.parse::<u16>() {
        Ok(0) | Err(_) => Err(format!("'{p}' is not a port number (1-65535)")),
        Ok(n) => Ok(n),
    }
}

/// Which address families `-4`/`-6` allow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Family {
    pub v4_only: bool,
    pub v6_only: bool,
}

impl Family {
    pub fn allows(&self, addr: &SocketAddr) -> bool {
        !(self.v4_only && addr.is_ipv6() || self.v6_only && addr.is_ipv4())
    }
}

/// Resolves a `--server` host with the system resolver (like curl and swaks do).
pub async fn resolve(target: &Target, family: Family) -> Result<Vec<SocketAddr>, String> {
    let addrs: Vec<SocketAddr> = match target.ip() {
        Some(ip) => vec![SocketAddr::new(ip, target.port)],
        None => tokio::net::lookup_host((target.host.as_str(), target.port))
            .await
            .map_err(|e| format!("cannot resolve '{}': {e}", target.host))?
            .collect(),
    };
    let mut allowed: Vec<SocketAddr> = addrs.into_iter().filter(|a| family.allows(a)).collect();
    allowed.dedup();
    if allowed.is_empty() {
        let which = if family.v4_only {
            "IPv4 "
        } else if family.v6_only {
            "IPv6 "
        } else {
            ""
        };
        return Err(format!("'{}' has no {which}address", target.host));
    }
    Ok(allowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Result<(String, u16), String> {
        Target::parse(s, 25).map(|t| (t.host, t.port))
    }

    #[test]
    fn forms() {
        assert_eq!(t("mx.example.org"), Ok(("mx.example.org".into(), 25)));
        assert_eq!(t("mx.example.org:587"), Ok(("mx.example.org".into(), 587)));
        assert_eq!(t("127.0.0.1:2525"), Ok(("127.0.0.1".into(), 2525)));
        assert_eq!(t("[::1]:2525"), Ok(("::1".into(), 2525)));
        assert_eq!(t("[::1]"), Ok(("::1".into(), 25)));
        assert_eq!(t("::1"), Ok(("::1".into(), 25)));
        assert_eq!(t("localhost"), Ok(("localhost".into(), 25)));
        assert_eq!(t("mx.example.org."), Ok(("mx.example.org".into(), 25)));
    }

    #[test]
    fn bad_forms() {
        for bad in [
            "",
            "host:",
            "host:0",
            "host:99999",
            "[::1",
            "[::1]x",
            "[nope]:25",
            "a b",
            "x\r\n",
            "::1:25:x",
            "-x y",
            "a..b",
        ] {
            assert!(t(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn urls_and_credentials_are_refused_without_repeating_them() {
        for bad in [
            "smtp://user:SECRET@host",
            "user:SECRET@host:25",
            "SECRET@host",
            "smtps://host:465",
        ] {
            let e = t(bad).unwrap_err();
            assert!(!e.contains("SECRET") && !e.contains("host"), "{bad}: {e}");
        }
        assert!(t("smtp://host").unwrap_err().contains("'smtp://'"));
    }

    #[test]
    fn redaction() {
        assert_eq!(redacted("smtp://u:pw@h:25"), "smtp://u:***@h:25");
        assert_eq!(redacted("u:p:w@h"), "u:***@h");
        assert_eq!(redacted("u@h"), "u@h");
        assert_eq!(redacted("smtp://h"), "smtp://h");
        assert_eq!(redacted("h:25"), "h:25");
    }

    #[test]
    fn display() {
        assert_eq!(Target::parse("[::1]:26", 25).unwrap().display(), "[::1]:26");
        assert_eq!(Target::parse("a.b", 25).unwrap().display(), "a.b:25");
    }
}
