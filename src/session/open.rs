//! Opening a session: connect (trying each address), greeting, EHLO, STARTTLS or
//! implicit TLS — the steps every session-running subcommand shares.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::auth::AuthPlan;
use super::event::PolicyResult;
use super::forward::Forwarded;
use super::{Event, Session, SessionContext};
use crate::net::tls::{TlsClient, TlsInfo, Verification, certificate_names, dane};
use crate::net::transport::TransportPlan;
use crate::outcome::{Failure, FailureKind, Phase};
use crate::policy::tls_policy::HostPolicy;
use crate::smtp::forward::{Attribute, Forwarding};
use crate::smtp::{Command, Domain, Reply, ReplyClass};

/// Silence after connecting that makes implicit TLS likely: SMTP servers greet at once,
/// while an implicit-TLS port waits for the ClientHello.
const SILENT_GREETING_HINT: Duration = Duration::from_secs(3);

/// How TLS is used (RFC 3207, RFC 8314).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsMode {
    /// STARTTLS must succeed with a verified certificate; never plaintext.
    Required,
    /// TLS from the first byte.
    Implicit,
    /// STARTTLS when offered; an unverified certificate still encrypts.
    Opportunistic,
    Off,
}

impl TlsMode {
    /// The mode a port implies when the user names none: 465 is implicit TLS
    /// (RFC 8314 §3.3), 587 is submission with STARTTLS, anything else opportunistic.
    pub fn for_port(port: u16) -> TlsMode {
        match port {
            465 => TlsMode::Implicit,
            587 => TlsMode::Required,
            _ => TlsMode::Opportunistic,
        }
    }
}

/// One place to try: a host name (for display, SNI and verification) and an address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hop {
    pub host: String,
    pub addr: SocketAddr,
}

/// What to open, and where to stop early (`--quit-after`).
#[derive(Clone, Debug)]
pub struct OpenPlan {
    /// Places to try, in order: a failed connection, a silent or closing server, or a
    /// 4xx greeting moves on to the next (RFC 5321 §5.1); the last one's outcome stands.
    pub hops: Vec<Hop>,
    /// EHLO name; None picks the default once our end's address is known.
    pub helo: Option<Domain>,
    pub tls_mode: TlsMode,
    /// Present unless the mode is Off.
    pub tls: Option<Arc<TlsClient>>,
    /// Credentials to authenticate with after TLS.
    pub auth: Option<AuthPlan>,
    pub stop_after: Option<Phase>,
    /// How each hop is reached: TCP, SOCKS5, a Unix socket or a process; a PROXY header.
    pub transport: TransportPlan,
    /// LMTP (RFC 2033): LHLO, no HELO fallback.
    pub lmtp: bool,
    /// `--xclient`: sent after TLS, before AUTH.
    pub xclient: Vec<Attribute>,
    /// `--xforward`: sent after AUTH, before MAIL.
    pub xforward: Vec<Attribute>,
    /// The recipient domain's TLS policy for each MX host (DANE, MTA-STS), in MX
    /// routing; a host not listed gets the plan's own TLS mode.
    pub policies: Option<Arc<Vec<(String, HostPolicy)>>>,
}

impl OpenPlan {
    /// The TLS policy the recipient domain sets for `host`, if any.
    pub fn policy(&self, host: &str) -> Option<&HostPolicy> {
        self.policies
            .as_ref()?
            .iter()
            .find(|(h, _)| h.eq_ignore_ascii_case(host))
            .map(|(_, p)| p)
    }

    /// This plan for one hop: a policy that demands TLS makes STARTTLS required.
    fn for_hop(&self, hop: &Hop) -> OpenPlan {
        let mut plan = self.clone();
        if self.policy(&hop.host).is_some_and(HostPolicy::requires_tls)
            && plan.tls_mode == TlsMode::Opportunistic
        {
            plan.tls_mode = TlsMode::Required;
        }
        plan
    }

    /// What made TLS mandatory, for messages: the host's policy or `--tls starttls`.
    fn tls_demand(&self, host: &str) -> String {
        match self.policy(host) {
            Some(p) if p.requires_tls() => format!("its {} policy", p.kind().as_str()),
            _ => "--tls starttls".into(),
        }
    }
}

pub enum Opened<'a> {
    /// Greeting and EHLO (and TLS as asked) done; ready for a transaction.
    Ready(Session<'a>),
    /// `--quit-after` reached with every reply positive.
    Stopped(Session<'a>, Phase),
    /// The server said no (greeting or EHLO); the session is still open for QUIT.
    Refused(Session<'a>, Phase, Reply),
    /// Policy stops here, but the connection is sound: QUIT, then report the failure.
    Declined(Session<'a>, Failure),
    /// Nothing more can be said on this connection (or none was made).
    Failed(SessionContext<'a>, Failure),
}

/// The default EHLO name (RFC 5321 §4.1.4): this host's name when it is a fully
/// qualified domain name, otherwise the address literal of our end of the connection
/// ([127.0.0.1] over a Unix socket or a pipe, which have no address).
pub fn default_helo(local: SocketAddr) -> Domain {
    host_name().unwrap_or_else(|| {
        if local.ip().is_unspecified() {
            Domain::literal(std::net::Ipv4Addr::LOCALHOST.into())
        } else {
            Domain::literal(local.ip())
        }
    })
}

/// This host's name, when it is a fully qualified domain name (as A-labels).
pub fn host_name() -> Option<Domain> {
    let name = gethostname::gethostname().to_string_lossy().into_owned();
    match Domain::parse(&name).and_then(|d| d.to_ascii()) {
        Ok(d) if name.contains('.') && !d.is_literal() => Some(d),
        _ => None,
    }
}

pub async fn open<'a>(mut ctx: SessionContext<'a>, plan: &OpenPlan) -> Opened<'a> {
    let mut last = Failure::new(
        Phase::Connect,
        FailureKind::Connect,
        "no address to connect to",
    );
    for (i, hop) in plan.hops.iter().enumerate() {
        let more = i + 1 < plan.hops.len();
        let first_of_host = i == 0 || plan.hops[i - 1].host != hop.host;
        if let Some(policy) = plan.policy(&hop.host) {
            if let HostPolicy::Refused { why, .. } = policy {
                if first_of_host {
                    ctx.emit(policy_event(
                        &hop.host,
                        policy,
                        PolicyResult::Skipped,
                        why.clone(),
                    ));
                }
                last = Failure::new(
                    Phase::Connect,
                    FailureKind::Tls,
                    format!("{} skipped: {}", hop.host, policy.describe()),
                );
                continue;
            }
            if first_of_host {
                ctx.emit(policy_event(
                    &hop.host,
                    policy,
                    PolicyResult::Applies,
                    policy.describe(),
                ));
            }
        }
        let hop_plan = plan.for_hop(hop);
        let plan = &hop_plan;
        let session = match Session::connect(ctx, &plan.transport, &hop.host, hop.addr).await {
            Ok(s) => s,
            Err((c, f)) => {
                ctx = c;
                last = f;
                continue;
            }
        };
        match first_contact(session, plan, hop).await {
            Contact::Greeted(session) => {
                let opened = match after_greeting(session, plan, hop).await {
                    Opened::Failed(c, f) if falls_back(plan, &f) => {
                        plaintext_retry(c, plan, hop, &f).await
                    }
                    opened => opened,
                };
                // A host that fails its domain's TLS policy is skipped as an MTA
                // would (RFC 7672 §2.2, RFC 8461 §4.2): on to the next MX.
                let policed = plan.policy(&hop.host).is_some_and(HostPolicy::requires_tls);
                match opened {
                    Opened::Declined(s, f) if policed && more && f.kind == FailureKind::Tls => {
                        ctx = s.quit().await;
                        last = f;
                    }
                    Opened::Failed(c, f) if policed && more && f.kind == FailureKind::Tls => {
                        ctx = c;
                        last = f;
                    }
                    opened => return opened,
                }
                ctx.emit(Event::Note {
                    message: format!(
                        "Skipping {} ({}): it failed its TLS policy; trying the next address",
                        hop.host, hop.addr
                    ),
                });
                continue;
            }
            Contact::Over(opened) if !more => return opened,
            Contact::Over(opened) => {
                let (c, why) = match opened {
                    Opened::Refused(s, _, reply) => (
                        s.quit().await,
                        format!("greeting {} {}", reply.code, reply.lines.join(" ")),
                    ),
                    Opened::Failed(c, f) => (c, f.message),
                    Opened::Stopped(s, _) | Opened::Declined(s, _) | Opened::Ready(s) => {
                        (s.abort().await, "stopped".into())
                    }
                };
                ctx = c;
                ctx.emit(Event::Note {
                    message: format!(
                        "Skipping {} ({}): {why}; trying the next address",
                        hop.host, hop.addr
                    ),
                });
            }
            Contact::Final(opened) => return opened,
        }
    }
    Opened::Failed(ctx, last)
}

/// Opportunistic TLS whose handshake failed: an MTA tries again in plaintext on a new
/// connection, since TLS was never promised (RFC 3207 §4.1 leaves the choice to the
/// client). Never with credentials, which must not go in plaintext, and never when TLS
/// is required or implicit.
fn falls_back(plan: &OpenPlan, f: &Failure) -> bool {
    plan.tls_mode == TlsMode::Opportunistic
        && plan.auth.is_none()
        && f.phase == Phase::TlsHandshake
        && f.kind == FailureKind::Tls
}

/// The same address again, without TLS.
async fn plaintext_retry<'a>(
    mut ctx: SessionContext<'a>,
    plan: &OpenPlan,
    hop: &Hop,
    why: &Failure,
) -> Opened<'a> {
    ctx.emit(Event::Note {
        message: format!(
            "The TLS handshake failed ({}): opportunistic TLS, so smtpx retries without TLS on a new connection",
            why.message
        ),
    });
    let plain = OpenPlan {
        hops: vec![hop.clone()],
        tls_mode: TlsMode::Off,
        tls: None,
        ..plan.clone()
    };
    let session = match Session::connect(ctx, &plan.transport, &hop.host, hop.addr).await {
        Ok(s) => s,
        Err((c, f)) => return Opened::Failed(c, f),
    };
    match first_contact(session, &plain, hop).await {
        Contact::Greeted(session) => after_greeting(session, &plain, hop).await,
        Contact::Over(opened) | Contact::Final(opened) => opened,
    }
}

/// How the first exchange on a connection went.
enum Contact<'a> {
    Greeted(Session<'a>),
    /// Worth trying the next address: a 4xx greeting, or no greeting at all.
    Over(Opened<'a>),
    /// Final whatever follows (a 5xx greeting, a protocol violation, a TLS failure).
    Final(Opened<'a>),
}

/// Implicit TLS (if asked) and the greeting.
async fn first_contact<'a>(mut session: Session<'a>, plan: &OpenPlan, hop: &Hop) -> Contact<'a> {
    if plan.tls_mode == TlsMode::Implicit
        && let Err(f) = handshake(&mut session, plan, hop).await
    {
        return Contact::Final(Opened::Failed(session.abort().await, f));
    }
    if plan.stop_after == Some(Phase::Connect) {
        return Contact::Final(Opened::Stopped(session, Phase::Connect));
    }
    let greeting = if plan.tls_mode == TlsMode::Implicit {
        session.greeting().await
    } else {
        session.greeting_with_hint(SILENT_GREETING_HINT).await
    };
    let greeting = match greeting {
        Ok(r) => r,
        Err(mut f) => {
            if f.kind == FailureKind::Timeout && plan.tls_mode != TlsMode::Implicit {
                f.message.push_str(
                    " (if this port expects TLS from the first byte, as 465 does, try --tls implicit)",
                );
            }
            let retry = matches!(f.kind, FailureKind::Timeout | FailureKind::Closed);
            let opened = Opened::Failed(session.abort().await, f);
            return if retry {
                Contact::Over(opened)
            } else {
                Contact::Final(opened)
            };
        }
    };
    match greeting.class() {
        ReplyClass::Positive if greeting.code.value() == 220 => Contact::Greeted(session),
        ReplyClass::TransientNegative => {
            Contact::Over(Opened::Refused(session, Phase::Greeting, greeting))
        }
        ReplyClass::PermanentNegative => {
            Contact::Final(Opened::Refused(session, Phase::Greeting, greeting))
        }
        _ => {
            let f = violation(
                Phase::Greeting,
                format!("the greeting was {}, not 220", greeting.code),
            );
            Contact::Final(Opened::Failed(session.abort().await, f))
        }
    }
}

/// EHLO, STARTTLS and the second EHLO, after a 220 greeting.
async fn after_greeting<'a>(mut session: Session<'a>, plan: &OpenPlan, hop: &Hop) -> Opened<'a> {
    if plan.stop_after == Some(Phase::Greeting) {
        return Opened::Stopped(session, Phase::Greeting);
    }
    let name = plan
        .helo
        .clone()
        .unwrap_or_else(|| default_helo(session.local_addr()));
    session.lmtp = plan.lmtp;
    // HELO cannot offer STARTTLS, so with TLS required there is no fallback (§4.1.4).
    let allow_helo = plan.tls_mode != TlsMode::Required && !plan.lmtp;
    match session.hello(&name, allow_helo).await {
        Ok(reply) if reply.is_positive() => {}
        // An LMTP server refusing LHLO is a plain refusal: LMTP has no HELO either.
        Ok(reply)
            if plan.tls_mode == TlsMode::Required && matches!(reply.code.value(), 500 | 502) =>
        {
            let f = Failure::new(
                Phase::Ehlo,
                FailureKind::Tls,
                format!(
                    "EHLO was refused ({}) and HELO cannot offer STARTTLS, which --tls starttls requires",
                    reply.code
                ),
            );
            return Opened::Declined(session, f);
        }
        Ok(reply) => return Opened::Refused(session, Phase::Ehlo, reply),
        Err(f) => return Opened::Failed(session.abort().await, f),
    }
    if plan.stop_after == Some(Phase::Ehlo) {
        return Opened::Stopped(session, Phase::Ehlo);
    }
    if matches!(plan.tls_mode, TlsMode::Required | TlsMode::Opportunistic) {
        match starttls(session, plan, hop, &name).await {
            Ok(s) => session = s,
            Err(opened) => return *opened,
        }
    }
    if plan.stop_after == Some(Phase::TlsHandshake) {
        if session.tls.is_none() {
            // Opportunistic TLS went on in plaintext: "stopped after tls" would claim
            // a handshake that never happened.
            let f = Failure::new(
                Phase::TlsHandshake,
                FailureKind::Tls,
                "stopping after tls: no TLS handshake happened (the server did not offer or refused STARTTLS)",
            );
            return Opened::Declined(session, f);
        }
        return Opened::Stopped(session, Phase::TlsHandshake);
    }
    if !plan.xclient.is_empty()
        && let Err(opened) = forward(&mut session, Forwarding::Xclient, &plan.xclient, &name).await
    {
        return opened.into_opened(session).await;
    }
    if let Some(auth) = &plan.auth {
        if session.ctx.show_secrets {
            session.ctx.emit(Event::Warning {
                message: "--show-secrets: the AUTH exchange is shown unredacted".into(),
            });
        }
        match session.authenticate(auth).await {
            Ok(_) => {}
            // After a violation, a timeout or a lost connection the exchange is out of
            // step: QUIT would be read as an AUTH response, if it is read at all.
            Err(f)
                if matches!(
                    f.kind,
                    FailureKind::Protocol | FailureKind::Timeout | FailureKind::Closed
                ) =>
            {
                return Opened::Failed(session.abort().await, f);
            }
            Err(f) => return Opened::Declined(session, f),
        }
        if plan.stop_after == Some(Phase::Auth) {
            return Opened::Stopped(session, Phase::Auth);
        }
    }
    if !plan.xforward.is_empty()
        && let Err(opened) =
            forward(&mut session, Forwarding::Xforward, &plan.xforward, &name).await
    {
        return opened.into_opened(session).await;
    }
    Opened::Ready(session)
}

/// XCLIENT or XFORWARD; Err says how the session ends.
async fn forward(
    session: &mut Session<'_>,
    kind: Forwarding,
    attrs: &[Attribute],
    name: &Domain,
) -> Result<(), Forwarded> {
    match session.forward(kind, attrs, name).await {
        Forwarded::Done => Ok(()),
        other => Err(other),
    }
}

impl Forwarded {
    async fn into_opened(self, session: Session<'_>) -> Opened<'_> {
        match self {
            Forwarded::Done => Opened::Ready(session),
            Forwarded::Refused(phase, reply) => Opened::Refused(session, phase, reply),
            Forwarded::Declined(f) => Opened::Declined(session, f),
            Forwarded::Failed(f) => Opened::Failed(session.abort().await, f),
        }
    }
}

/// STARTTLS, the handshake and the second EHLO (RFC 3207 §4.2: all that was learned
/// before the handshake is forgotten).
async fn starttls<'a>(
    mut session: Session<'a>,
    plan: &OpenPlan,
    hop: &Hop,
    name: &Domain,
) -> Result<Session<'a>, Box<Opened<'a>>> {
    let required = plan.tls_mode == TlsMode::Required;
    let offered = session.capabilities.as_ref().is_some_and(|c| c.starttls());
    if !offered {
        if required {
            let f = Failure::new(
                Phase::Starttls,
                FailureKind::Tls,
                format!(
                    "the server does not offer STARTTLS, and {} requires it; nothing was sent in plaintext",
                    plan.tls_demand(&hop.host)
                ),
            );
            return Err(Box::new(Opened::Declined(session, f)));
        }
        // Plaintext is labelled on every line (`->`/`<-`); this note says why.
        session.ctx.emit(Event::Note {
            message:
                "The server does not offer STARTTLS: continuing in plaintext (opportunistic TLS)"
                    .into(),
        });
        return Ok(session);
    }
    let reply = match session.command(&Command::StartTls, Phase::Starttls).await {
        Ok(r) => r,
        Err(f) => return Err(Box::new(Opened::Failed(session.abort().await, f))),
    };
    if reply.code.value() != 220 {
        let words = format!("{} {}", reply.code, reply.lines.join(" "));
        if required || reply.class() == ReplyClass::Intermediate {
            let f = Failure::new(
                Phase::Starttls,
                FailureKind::Tls,
                format!(
                    "STARTTLS was answered {words}, not 220; no plaintext fallback with {}",
                    plan.tls_demand(&hop.host)
                ),
            );
            return Err(Box::new(Opened::Declined(session, f)));
        }
        session.ctx.emit(Event::Warning {
            message: format!(
                "STARTTLS refused ({words}): continuing in plaintext (opportunistic TLS)"
            ),
        });
        return Ok(session);
    }
    // RFC 3207 §5: bytes after the 220 and before the handshake were injected by someone
    // in the path. Fail before any TLS byte goes out; never parse them later.
    let injected = session.unread().len();
    if injected > 0 {
        let preview = String::from_utf8_lossy(&session.unread()[..injected.min(40)]).into_owned();
        let f = violation(
            Phase::Starttls,
            format!(
                "response injection: the server sent {injected} bytes after its 220 to STARTTLS, before the TLS handshake ({:?}); refusing to continue",
                preview
            ),
        );
        return Err(Box::new(Opened::Failed(session.abort().await, f)));
    }
    if let Err(f) = handshake(&mut session, plan, hop).await {
        return Err(Box::new(Opened::Failed(session.abort().await, f)));
    }
    match session.hello(name, false).await {
        Ok(reply) if reply.is_positive() => Ok(session),
        Ok(reply) => Err(Box::new(Opened::Refused(session, Phase::Ehlo, reply))),
        Err(f) => Err(Box::new(Opened::Failed(session.abort().await, f))),
    }
}

/// The TLS handshake and the verdict on the certificate: required and implicit TLS stop
/// on a bad certificate; opportunistic TLS goes on, labelled unverified.
pub(crate) async fn handshake(
    session: &mut Session<'_>,
    plan: &OpenPlan,
    hop: &Hop,
) -> Result<TlsInfo, Failure> {
    let client = plan.tls.as_ref().ok_or_else(|| {
        Failure::new(
            Phase::TlsHandshake,
            FailureKind::Tls,
            "TLS is not configured",
        )
    })?;
    let info = session.start_tls(client, &hop.host).await?;
    if let Some(policy) = plan.policy(&hop.host)
        && let Some(held) = hold_to_policy(session, policy, &info, &hop.host)
    {
        return held.map(|()| info);
    }
    match &info.verification {
        Verification::Verified => {}
        Verification::Failed { reason } if plan.tls_mode != TlsMode::Opportunistic => {
            // The name checked is the SNI sent (`--tls-server-name`, or the host), or
            // the IP address when there is none.
            let checked = info.sni.as_deref().unwrap_or(&hop.host);
            let other_name = info
                .chain
                .first()
                .is_some_and(|leaf| !certificate_names(leaf, checked));
            let advice = if other_name {
                "if this is the right server under another name, check the certificate against that name with --tls-server-name NAME"
            } else {
                "use --tls-ca for a private CA, or --tls-no-verify for a lab server"
            };
            return Err(Failure::new(
                Phase::TlsHandshake,
                FailureKind::Tls,
                format!("{reason}; stopping before EHLO ({advice})"),
            ));
        }
        Verification::Failed { reason } => {
            session.mark_unverified();
            session.ctx.emit(Event::Warning {
                message: format!(
                    "TLS certificate not verified ({reason}): the session is encrypted but the server is not authenticated"
                ),
            });
        }
        Verification::Skipped { .. } => {
            session.mark_unverified();
            session.ctx.emit(Event::Warning {
                message: "--tls-no-verify: the server's certificate is not checked; anyone in the path could read and change this session".into(),
            });
        }
    }
    Ok(info)
}

fn policy_event(host: &str, policy: &HostPolicy, result: PolicyResult, detail: String) -> Event {
    Event::TlsPolicy {
        host: host.to_owned(),
        policy: policy.kind(),
        result,
        detail,
    }
}

/// The handshake's verdict under the host's TLS policy; `None` when the policy leaves
/// it to the TLS mode (opportunistic, or an MTA-STS policy in testing mode that the
/// certificate meets).
fn hold_to_policy(
    session: &mut Session<'_>,
    policy: &HostPolicy,
    info: &TlsInfo,
    host: &str,
) -> Option<Result<(), Failure>> {
    let failed = |session: &mut Session<'_>, why: String| {
        session.ctx.emit(policy_event(
            host,
            policy,
            PolicyResult::Failed,
            why.clone(),
        ));
        Err(Failure::new(
            Phase::TlsHandshake,
            FailureKind::Tls,
            format!("{} policy: {why}", policy.kind().as_str()),
        ))
    };
    match policy {
        HostPolicy::Dane { records, .. } => {
            Some(match dane::authenticate(&info.der_chain, records, host) {
                Ok(how) => {
                    session
                        .ctx
                        .emit(policy_event(host, policy, PolicyResult::Passed, how));
                    Ok(())
                }
                Err(why) => failed(session, why),
            })
        }
        HostPolicy::DaneEncrypt { .. } => {
            session.mark_unverified();
            session.ctx.emit(policy_event(
                host,
                policy,
                PolicyResult::Passed,
                "encrypted; no usable TLSA record to authenticate the certificate with".into(),
            ));
            Some(Ok(()))
        }
        HostPolicy::MtaSts { enforce, .. } => match (&info.verification, enforce) {
            (Verification::Verified, _) => {
                session.ctx.emit(policy_event(
                    host,
                    policy,
                    PolicyResult::Passed,
                    format!("the certificate is WebPKI-valid for {host}"),
                ));
                Some(Ok(()))
            }
            (other, true) => {
                let why = other
                    .problem()
                    .unwrap_or("the certificate was not verified")
                    .to_owned();
                Some(failed(session, why))
            }
            (other, false) => {
                let why = other
                    .problem()
                    .unwrap_or("the certificate was not verified");
                session.ctx.emit(policy_event(
                    host,
                    policy,
                    PolicyResult::Reported,
                    format!("{why}; the policy is in testing mode, so delivery goes on"),
                ));
                None
            }
        },
        HostPolicy::Opportunistic { .. } | HostPolicy::Refused { .. } => None,
    }
}

fn violation(phase: Phase, message: String) -> Failure {
    Failure::new(
        phase,
        FailureKind::Protocol,
        format!("protocol violation: {message}"),
    )
}
