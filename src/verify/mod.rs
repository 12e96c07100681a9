//! `smtpx verify`'s decisions, free of I/O: reading address lists, what a RCPT reply
//! says about an address, the catch-all probe, batching, retries and pacing, which
//! share of a list a `--shard` takes, the lines of the `--resume` state, and how much a
//! session may ask of a host that caps sessions.
//! Everything here is table-tested without sockets; `session::probe` does the talking.

pub mod batch;
pub mod input;
pub mod limit;
pub mod shard;
pub mod state;
pub mod verdict;
pub mod work;

pub use batch::Sizer;
pub use input::{Entry, Lines};
pub use limit::{SessionLimit, SessionUse};
pub use shard::Shard;
pub use verdict::{CatchAll, Reading, Record, Verdict};
pub use work::{Batch, Decided, Loss, MAX_BATCH, Pace, Work};

use crate::smtp::{Domain, ReversePath};

/// The sender of the probes when `--from` is not given: postmaster at the EHLO name when
/// that is a domain (RFC 5321 §4.5.1: every mail domain has one, and it says who asks);
/// otherwise the null reverse-path, as the callout verifiers of Exim and Postfix use.
/// Never postmaster at an address literal: stock Exim refuses domain literals in MAIL
/// FROM (501), which would turn every verdict into "policy".
pub fn default_sender(ehlo_name: Option<&Domain>) -> ReversePath {
    ehlo_name
        .filter(|d| !d.is_literal())
        .and_then(|d| ReversePath::parse(&format!("postmaster@{d}")).ok())
        .unwrap_or(ReversePath::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_sender_is_postmaster_at_a_domain_or_null() {
        let name = |s: &str| Domain::parse(s).unwrap();
        assert_eq!(
            default_sender(Some(&name("client.example.org"))).to_string(),
            "<postmaster@client.example.org>"
        );
        assert_eq!(
            default_sender(Some(&name("[192.0.2.1]"))),
            ReversePath::Null
        );
        assert_eq!(
            default_sender(Some(&name("[IPv6:2001:db8::1]"))),
            ReversePath::Null
        );
        assert_eq!(default_sender(None), ReversePath::Null);
    }
}
