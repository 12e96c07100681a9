//! From typed arguments to a validated plan, and the run scaffolding every
//! session-running subcommand shares: renderer, deadlines, Ctrl-C, exit code.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::time::Instant;

use crate::cli::{AuthArgs, AuthMech, DnsArgs, OutputArgs, ServerArgs, TlsArgs, TlsMode};
use crate::dns::{Dns, DnsConfig, MailRoute};
use crate::net::target::{self, Family, Target};
use crate::net::tls::{TlsClient, TlsMin, TlsOptions};
use crate::outcome::{ExitCode, Failure, FailureKind, Phase};
use crate::render::{Palette, RenderOptions, Renderer, Status, Style, Summary};
use crate::secret::{self, SecretSource};
use crate::session::auth::AuthPlan;
use crate::session::event::DotWatch;
use crate::session::open::{Hop, OpenPlan, TlsMode as OpenTls};
use crate::session::{SessionContext, Timeouts};
use crate::smtp::sasl::{Credentials, Mechanism};
use crate::smtp::{Domain, address};

pub type StdRenderer = Renderer<std::io::Stdout, std::io::Stderr>;

/// One run of a subcommand: where output goes and when it started.
pub struct Run {
    pub renderer: StdRenderer,
    pub opts: RenderOptions,
    started: Instant,
}

impl Run {
    pub fn new(output: &OutputArgs) -> Run {
        let opts = render_options(output);
        Run {
            renderer: Renderer::new(opts, std::io::stdout(), std::io::stderr()),
            opts,
            started: Instant::now(),
        }
    }

    /// A session context whose events go to this run's renderer.
    pub fn context(
        &mut self,
        server: &ServerArgs,
        show_secrets: bool,
    ) -> (SessionContext<'_>, Arc<AtomicBool>) {
        let (watch, pending) = DotWatch::new(&mut self.renderer);
        let ctx = SessionContext {
            events: Box::new(watch),
            timeouts: timeouts(server),
            overall: server.timeout.map(|d| self.started + d),
            started: self.started,
            show_secrets,
        };
        (ctx, pending)
    }

    /// Runs `work` until it ends or the user presses Ctrl-C. Dropping the work closes the
    /// connection, so an interrupted body never gets its final dot.
    pub async fn interruptible(
        work: impl Future<Output = Summary>,
        dot_pending: Arc<AtomicBool>,
    ) -> Summary {
        tokio::select! {
            summary = work => summary,
            _ = tokio::signal::ctrl_c() => {
                if dot_pending.load(Ordering::SeqCst) {
                    let f = Failure::new(
                        Phase::FinalDot,
                        FailureKind::Closed,
                        "interrupted after the final dot, before its reply; the message may or may not have been accepted",
                    );
                    Summary::new(Status::Unknown, f.exit_code(), format!("at {}: {}", f.phase, f.message))
                } else {
                    Summary::new(
                        Status::Failed,
                        ExitCode::Interrupted,
                        "interrupted; no message was committed",
                    )
                }
            }
        }
    }

    /// Bad input found before connecting: one line on stderr, exit 2, nothing sent.
    pub fn usage_error(&mut self, message: &str) -> u8 {
        let summary = Summary::new(Status::Failed, ExitCode::Usage, message.to_string())
            .with("phase", Phase::Input);
        crate::render::error_line(message);
        if self.opts.style == Style::Json {
            self.renderer.finish(&summary);
        }
        ExitCode::Usage.code()
    }

    pub fn finish(&mut self, summary: &Summary) -> u8 {
        let mut summary = summary.clone();
        summary.elapsed.get_or_insert(self.started.elapsed());
        self.renderer.finish(&summary);
        summary.exit_code
    }
}

pub fn render_options(output: &OutputArgs) -> RenderOptions {
    let env = |k: &str| std::env::var(k).ok();
    let style = if output.json {
        Style::Json
    } else if output.quiet {
        Style::Quiet
    } else {
        Style::Transcript
    };
    let palette = Palette::decide(output.color, std::io::stdout().is_terminal(), &env);
    colored::control::set_override(palette.enabled);
    RenderOptions {
        style,
        palette,
        timing: !output.no_timing,
    }
}

pub fn timeouts(server: &ServerArgs) -> Timeouts {
    Timeouts {
        connect: server.connect_timeout,
        greeting: server.greeting_timeout,
        command: server.command_timeout,
        data_init: server.data_timeout,
        data_block: server.data_block_timeout,
        final_dot: server.final_timeout,
        ..Timeouts::default()
    }
}

pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// `--helo`, validated.
pub fn helo(server: &ServerArgs) -> Result<Option<Domain>, String> {
    server
        .helo
        .as_deref()
        .map(|h| {
            address::ehlo_name(h).map_err(|e| format!("invalid --helo '{}': {e}", h.escape_debug()))
        })
        .transpose()
}

/// `--server` parsed; validated before anything else happens.
pub fn target(server: &ServerArgs) -> Result<Option<Target>, String> {
    server
        .server
        .as_deref()
        .map(|raw| {
            Target::parse(raw, server.port)
                .map_err(|e| format!("invalid --server '{}': {e}", raw.escape_debug()))
        })
        .transpose()
}

pub fn family(server: &ServerArgs) -> Family {
    Family {
        v4_only: server.ipv4,
        v6_only: server.ipv6,
    }
}

/// Fills in the addresses of `--server`.
pub async fn resolve_open(
    server: &ServerArgs,
    target: &Target,
    plan: OpenPlan,
) -> Result<OpenPlan, Failure> {
    let addrs = target::resolve(target, family(server))
        .await
        .map_err(|m| Failure::new(Phase::Dns, FailureKind::Dns { temporary: false }, m))?;
    let hops = addrs
        .into_iter()
        .map(|addr| Hop {
            host: target.host.clone(),
            addr,
        })
        .collect();
    Ok(OpenPlan { hops, ..plan })
}

/// The hops to a recipient domain's mail servers (RFC 5321 §5.1), or why there are none.
pub async fn route_open(
    dns: &Dns,
    domain: &str,
    port: u16,
    server: &ServerArgs,
    plan: OpenPlan,
) -> Result<OpenPlan, Failure> {
    let route = dns.mail_route(domain).await;
    let dns_failure = |temporary, message: String| {
        Failure::new(Phase::Dns, FailureKind::Dns { temporary }, message)
    };
    match &route {
        MailRoute::NullMx { .. } => {
            return Err(dns_failure(
                false,
                format!("{domain} has a null MX (RFC 7505): it accepts no mail"),
            ));
        }
        MailRoute::NxDomain => {
            return Err(dns_failure(
                false,
                format!("{domain} does not exist (NXDOMAIN)"),
            ));
        }
        MailRoute::NoMail => {
            return Err(dns_failure(
                false,
                format!("{domain} has no MX records and no addresses: no mail route"),
            ));
        }
        MailRoute::InvalidDomain { reason } => {
            return Err(dns_failure(false, format!("{domain}: {reason}")));
        }
        MailRoute::Temporary { reason } => {
            return Err(dns_failure(
                true,
                format!("looking up MX for {domain} failed temporarily: {reason}"),
            ));
        }
        MailRoute::Mx { .. } | MailRoute::Implicit { .. } => {}
    }
    let cfg = dns_config(server).map_err(Failure::input)?;
    let hops: Vec<Hop> = crate::dns::delivery_candidates(
        &route,
        port,
        &cfg,
        usize::from(server.max_hops),
        crate::dns::time_seed(),
    )
    .into_iter()
    .map(|c| Hop {
        host: c.host,
        addr: c.addr,
    })
    .collect();
    if hops.is_empty() {
        return Err(dns_failure(
            false,
            format!("no MX host of {domain} has a usable address"),
        ));
    }
    Ok(OpenPlan { hops, ..plan })
}

/// DNS settings from `--dns-server`, `--dns-timeout`, `-4`/`-6`.
pub fn dns_config(server: &ServerArgs) -> Result<DnsConfig, String> {
    dns_settings(&server.dns, server.ipv4, server.ipv6)
}

pub fn dns_settings(dns: &DnsArgs, v4_only: bool, v6_only: bool) -> Result<DnsConfig, String> {
    Ok(DnsConfig {
        server: dns
            .dns_server
            .as_deref()
            .map(|s| {
                crate::dns::parse_dns_server(s).map_err(|e| format!("invalid --dns-server: {e}"))
            })
            .transpose()?,
        timeout: dns.dns_timeout,
        ipv4: !v6_only,
        ipv6: !v4_only,
    })
}

/// The open plan every session-running subcommand starts from, validated before any
/// connection: EHLO name, TLS mode and client (CA and key files are read now).
pub fn open_plan(
    server: &ServerArgs,
    tls: &TlsArgs,
    auth: &AuthArgs,
    stop_after: Option<Phase>,
) -> Result<OpenPlan, String> {
    let port = target(server)?.map_or(server.port, |t| t.port);
    let mode = match tls.tls {
        Some(TlsMode::Starttls) => OpenTls::Required,
        Some(TlsMode::Implicit) => OpenTls::Implicit,
        Some(TlsMode::Opportunistic) => OpenTls::Opportunistic,
        Some(TlsMode::None) => OpenTls::Off,
        None => OpenTls::for_port(port),
    };
    let client = if mode == OpenTls::Off {
        None
    } else {
        let options = TlsOptions {
            ca_files: tls.tls_ca.clone(),
            server_name: tls.tls_server_name.clone(),
            no_verify: tls.tls_no_verify,
            client_cert: tls.tls_cert.clone().zip(tls.tls_key.clone()),
            min_version: match tls.tls_min.as_deref() {
                Some("1.3") => Some(TlsMin::V1_3),
                _ => None,
            },
        };
        Some(Arc::new(
            TlsClient::new(&options).map_err(|e| e.to_string())?,
        ))
    };
    dns_config(server)?;
    Ok(OpenPlan {
        hops: Vec::new(),
        helo: helo(server)?,
        tls_mode: mode,
        tls: client,
        auth: auth_plan(auth, server)?,
        stop_after,
    })
}

/// `--user` and a secret source into an AUTH plan; the secret is read now, before any
/// connection, so a missing or unsafe password file is bad input (exit 2).
pub fn auth_plan(auth: &AuthArgs, server: &ServerArgs) -> Result<Option<AuthPlan>, String> {
    let Some(user) = &auth.user else {
        return Ok(None);
    };
    if user.is_empty() || user.chars().any(char::is_control) {
        return Err("invalid --user: empty or contains a control character".into());
    }
    let mechanism = match auth.auth.unwrap_or(AuthMech::Auto) {
        AuthMech::Auto => None,
        AuthMech::Plain => Some(Mechanism::Plain),
        AuthMech::Login => Some(Mechanism::Login),
        AuthMech::CramMd5 => Some(Mechanism::CramMd5),
        AuthMech::ScramSha256 => Some(Mechanism::ScramSha256),
        AuthMech::Xoauth2 => Some(Mechanism::XOAuth2),
        AuthMech::Oauthbearer => Some(Mechanism::OAuthBearer),
    };
    let source = if let Some(path) = &auth.password_file {
        SecretSource::File(path.clone())
    } else if let Some(var) = &auth.password_env {
        SecretSource::Env(var.clone())
    } else if let Some(cmd) = &auth.password_command {
        SecretSource::Command(cmd.clone())
    } else {
        SecretSource::Prompt
    };
    let credentials = Credentials::new(user.clone(), secret::read(&source, user)?);
    credentials
        .validate()
        .map_err(|e| format!("{}: {e}", secret::describe(&source)))?;
    let host_port = target(server)?.map(|t| (t.host, t.port));
    Ok(Some(AuthPlan {
        mechanism,
        credentials,
        allow_insecure: auth.allow_insecure_auth,
        host_port,
    }))
}
