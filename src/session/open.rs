//! Opening a session: connect (trying each address), greeting, EHLO — the steps every
//! session-running subcommand shares.

use std::net::SocketAddr;

use super::{Session, SessionContext};
use crate::outcome::{Failure, FailureKind, Phase};
use crate::smtp::{Domain, Reply, ReplyClass};

/// What to open, and where to stop early (`--quit-after connect|greeting|ehlo`).
#[derive(Clone, Debug)]
pub struct OpenPlan {
    /// The name the user gave (for display, SNI and verification).
    pub host: String,
    /// Addresses to try, in order.
    pub addrs: Vec<SocketAddr>,
    /// EHLO name; None picks the default once our end's address is known.
    pub helo: Option<Domain>,
    pub stop_after: Option<Phase>,
}

pub enum Opened<'a> {
    /// Greeting and EHLO done; ready for a transaction.
    Ready(Session<'a>),
    /// `--quit-after` reached with every reply positive.
    Stopped(Session<'a>, Phase),
    /// The server said no (greeting or EHLO); the session is still open for QUIT.
    Refused(Session<'a>, Phase, Reply),
    /// Nothing more can be said on this connection (or none was made).
    Failed(SessionContext<'a>, Failure),
}

/// The default EHLO name (RFC 5321 §4.1.4): this host's name when it is a fully
/// qualified domain name, otherwise the address literal of our end of the connection.
pub fn default_helo(local: SocketAddr) -> Domain {
    let name = gethostname::gethostname().to_string_lossy().into_owned();
    match Domain::parse(&name) {
        Ok(d) if name.contains('.') && !d.is_literal() => d,
        _ => Domain::literal(local.ip()),
    }
}

pub async fn open<'a>(ctx: SessionContext<'a>, plan: &OpenPlan) -> Opened<'a> {
    let mut session = match connect_any(ctx, plan).await {
        Ok(s) => s,
        Err((ctx, failure)) => return Opened::Failed(ctx, failure),
    };
    if plan.stop_after == Some(Phase::Connect) {
        return Opened::Stopped(session, Phase::Connect);
    }
    let greeting = match session.greeting().await {
        Ok(r) => r,
        Err(f) => return Opened::Failed(session.abort().await, f),
    };
    match greeting.class() {
        ReplyClass::Positive if greeting.code.value() == 220 => {}
        ReplyClass::TransientNegative | ReplyClass::PermanentNegative => {
            return Opened::Refused(session, Phase::Greeting, greeting);
        }
        _ => {
            let f = Failure::new(
                Phase::Greeting,
                FailureKind::Protocol,
                format!(
                    "protocol violation: the greeting was {}, not 220",
                    greeting.code
                ),
            );
            return Opened::Failed(session.abort().await, f);
        }
    }
    if plan.stop_after == Some(Phase::Greeting) {
        return Opened::Stopped(session, Phase::Greeting);
    }
    let name = plan
        .helo
        .clone()
        .unwrap_or_else(|| default_helo(session.local_addr()));
    let hello = match session.hello(&name, true).await {
        Ok(r) => r,
        Err(f) => return Opened::Failed(session.abort().await, f),
    };
    if !hello.is_positive() {
        return Opened::Refused(session, Phase::Ehlo, hello);
    }
    if plan.stop_after == Some(Phase::Ehlo) {
        return Opened::Stopped(session, Phase::Ehlo);
    }
    Opened::Ready(session)
}

/// Tries each address in turn; the last failure is the one reported.
async fn connect_any<'a>(
    mut ctx: SessionContext<'a>,
    plan: &OpenPlan,
) -> Result<Session<'a>, (SessionContext<'a>, Failure)> {
    let mut last = Failure::new(
        Phase::Connect,
        FailureKind::Connect,
        "no address to connect to",
    );
    for &addr in &plan.addrs {
        match Session::connect(ctx, &plan.host, addr).await {
            Ok(s) => return Ok(s),
            Err((c, f)) => {
                ctx = c;
                last = f;
            }
        }
    }
    Err((ctx, last))
}
