//! The HAProxy PROXY protocol header (haproxy's proxy-protocol.txt), written before
//! anything else on a connection so that the server records the client address the
//! header names instead of ours. Pure encoding: no I/O here.

use std::net::{IpAddr, SocketAddr};

/// Which form of the header: v1 is one text line, v2 a binary block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyVersion {
    V1,
    V2,
}

impl ProxyVersion {
    pub fn name(self) -> &'static str {
        match self {
            ProxyVersion::V1 => "v1",
            ProxyVersion::V2 => "v2",
        }
    }
}

/// The twelve bytes every v2 header starts with (§2.2).
pub const V2_SIGNATURE: [u8; 12] = [
    0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
];

/// The header for a TCP connection from `source` to `dest`. Both must be of one family
/// (§2.1: "TCP4" or "TCP6"; §2.2: AF_INET or AF_INET6 addresses in one block); an IPv4
/// address mapped into IPv6 counts as IPv4.
pub fn encode(
    version: ProxyVersion,
    source: SocketAddr,
    dest: SocketAddr,
) -> Result<Vec<u8>, String> {
    let (src_ip, dst_ip) = match (canonical(source.ip()), canonical(dest.ip())) {
        (s @ IpAddr::V4(_), d @ IpAddr::V4(_)) | (s @ IpAddr::V6(_), d @ IpAddr::V6(_)) => (s, d),
        _ => {
            return Err(format!(
                "the PROXY header needs one address family for source and destination (source {source}, destination {dest})"
            ));
        }
    };
    Ok(match version {
        ProxyVersion::V1 => {
            let family = if src_ip.is_ipv4() { "TCP4" } else { "TCP6" };
            // §2.1: "PROXY" SP family SP src SP dst SP srcport SP dstport CRLF, at most
            // 107 bytes, which these fields can never exceed.
            format!(
                "PROXY {family} {src_ip} {dst_ip} {} {}\r\n",
                source.port(),
                dest.port()
            )
            .into_bytes()
        }
        ProxyVersion::V2 => {
            let mut out = V2_SIGNATURE.to_vec();
            // Version 2 (high nibble), command PROXY (low nibble 1).
            out.push(0x21);
            let mut addresses = Vec::with_capacity(36);
            match (src_ip, dst_ip) {
                (IpAddr::V4(s), IpAddr::V4(d)) => {
                    // AF_INET (high nibble 1), STREAM (low nibble 1).
                    out.push(0x11);
                    addresses.extend_from_slice(&s.octets());
                    addresses.extend_from_slice(&d.octets());
                }
                (IpAddr::V6(s), IpAddr::V6(d)) => {
                    out.push(0x21);
                    addresses.extend_from_slice(&s.octets());
                    addresses.extend_from_slice(&d.octets());
                }
                _ => unreachable!("families were matched above"),
            }
            addresses.extend_from_slice(&source.port().to_be_bytes());
            addresses.extend_from_slice(&dest.port().to_be_bytes());
            out.extend_from_slice(&(addresses.len() as u16).to_be_bytes());
            out.extend_from_slice(&addresses);
            out
        }
    })
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn v1_is_one_line() {
        let h = encode(ProxyVersion::V1, a("192.0.2.1:4321"), a("198.51.100.7:25")).unwrap();
        assert_eq!(h, b"PROXY TCP4 192.0.2.1 198.51.100.7 4321 25\r\n");
        let h = encode(ProxyVersion::V1, a("[2001:db8::1]:1"), a("[::1]:587")).unwrap();
        assert_eq!(h, b"PROXY TCP6 2001:db8::1 ::1 1 587\r\n");
    }

    #[test]
    fn v1_at_its_longest_fits_the_limit() {
        let long = "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65535";
        let h = encode(ProxyVersion::V1, a(long), a(long)).unwrap();
        assert!(h.len() <= 107, "{}", h.len());
    }

    #[test]
    fn v2_ipv4_block() {
        let h = encode(ProxyVersion::V2, a("192.0.2.1:4321"), a("198.51.100.7:25")).unwrap();
        let mut want = V2_SIGNATURE.to_vec();
        want.extend_from_slice(&[0x21, 0x11, 0, 12]);
        want.extend_from_slice(&[192, 0, 2, 1, 198, 51, 100, 7]);
        want.extend_from_slice(&[0x10, 0xE1, 0, 25]);
        assert_eq!(h, want);
    }

    #[test]
    fn v2_ipv6_block() {
        let h = encode(ProxyVersion::V2, a("[2001:db8::1]:1"), a("[::1]:2")).unwrap();
        assert_eq!(h.len(), 16 + 36);
        assert_eq!(&h[12..16], &[0x21, 0x21, 0, 36]);
        assert_eq!(h[16], 0x20);
        assert_eq!(h[16 + 31], 1, "last byte of ::1");
        assert_eq!(&h[16 + 32..], &[0, 1, 0, 2]);
    }

    #[test]
    fn families_must_match_and_mapped_v4_is_v4() {
        assert!(encode(ProxyVersion::V1, a("192.0.2.1:1"), a("[2001:db8::1]:2")).is_err());
        assert!(encode(ProxyVersion::V2, a("[2001:db8::1]:1"), a("192.0.2.1:2")).is_err());
        let h = encode(ProxyVersion::V1, a("[::ffff:192.0.2.1]:1"), a("10.0.0.1:2")).unwrap();
        assert_eq!(h, b"PROXY TCP4 192.0.2.1 10.0.0.1 1 2\r\n");
    }
}
