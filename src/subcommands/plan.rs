//! From typed arguments to a validated plan, and the run scaffolding every
//! session-running subcommand shares: renderer, deadlines, Ctrl-C, exit code.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::time::Instant;

use super::chain_file::SaveChain;
use crate::cli::{
    AuthArgs, AuthMech, DnsArgs, KeepArgs, OutputArgs, ProxyProtocol, ServerArgs, TlsArgs, TlsMode,
    TransportArgs,
};
use crate::dns::{Dns, DnsConfig, MailRoute};
use crate::net::proxy_header::{self, ProxyVersion};
use crate::net::socks5::SocksAuth;
use crate::net::target::{self, Family, Target};
use crate::net::tls::{TlsClient, TlsMin, TlsOptions};
use crate::net::transport::{self, ProxyHeaderPlan, Route, TransportPlan};
use crate::outcome::{ExitCode, Failure, FailureKind, Phase};
use crate::render::{Palette, RenderOptions, Renderer, Status, Style, Summary};
use crate::secret::{self, SecretSource};
use crate::session::auth::AuthPlan;
use crate::session::event::{DotWatch, Tee};
use crate::session::open::{Hop, OpenPlan, TlsMode as OpenTls};
use crate::session::{Event, EventSink, Timed};
use crate::session::{SessionContext, Timeouts};
use crate::smtp::sasl::{Credentials, Mechanism};
use crate::smtp::{Domain, ReversePath, address};

pub type StdRenderer = Renderer<std::io::Stdout, std::io::Stderr>;
pub type FileRenderer = Renderer<std::fs::File, std::fs::File>;

/// One run of a subcommand: where output goes and when it started.
pub struct Run {
    pub renderer: StdRenderer,
    pub opts: RenderOptions,
    /// `--output FILE`: the same run, rendered into a file without colour.
    copy: Option<FileRenderer>,
    /// `--tls-save-chain FILE`, and whether a chain went into it.
    chain_file: Option<(std::path::PathBuf, Arc<AtomicBool>)>,
    started: Instant,
}

impl Run {
    pub fn new(output: &OutputArgs) -> Run {
        let opts = render_options(output);
        Run {
            renderer: Renderer::new(opts, std::io::stdout(), std::io::stderr()),
            opts,
            copy: None,
            chain_file: None,
            started: Instant::now(),
        }
    }

    /// `--output` and `--tls-save-chain`, set up once the plan is valid and before any
    /// connection; a file that cannot be made is a usage error (exit 2).
    pub fn keep(&mut self, keep: &KeepArgs) -> Result<(), u8> {
        if let Some(path) = &keep.tls_save_chain {
            if let Err(message) = super::chain_file::check_path(path) {
                return Err(self.usage_error(&message));
            }
            self.chain_file = Some((path.clone(), Arc::new(AtomicBool::new(false))));
        }
        if let Some(path) = &keep.output_file {
            let copied = output_file(path).and_then(|f| {
                self.copy_to(f)
                    .map_err(|e| format!("--output: {}", io_words(&e)))
            });
            if let Err(message) = copied {
                return Err(self.usage_error(&message));
            }
        }
        Ok(())
    }

    /// A block of report output, to the terminal and to the `--output` copy.
    pub fn report(&mut self, lines: &[String], json: serde_json::Value) {
        if let Some(copy) = &mut self.copy {
            copy.report(lines, json.clone());
        }
        self.renderer.report(lines, json);
    }

    /// From now on, everything also goes to `file` (`--output`): the whole transcript
    /// with its warnings even under `-q`, or the JSON lines with `--json`; never colour.
    pub fn copy_to(&mut self, file: std::fs::File) -> std::io::Result<()> {
        let style = match self.opts.style {
            Style::Json => Style::Json,
            Style::Transcript | Style::Quiet => Style::Transcript,
        };
        let opts = RenderOptions {
            style,
            palette: Palette::PLAIN,
            timing: self.opts.timing,
        };
        let err = file.try_clone()?;
        self.copy = Some(Renderer::new(opts, file, err));
        Ok(())
    }

    /// A session context whose events go to this run's renderer.
    pub fn context(
        &mut self,
        server: &ServerArgs,
        show_secrets: bool,
    ) -> (SessionContext<'_>, Arc<AtomicBool>) {
        let mut sink: Box<dyn EventSink + '_> = match &mut self.copy {
            Some(copy) => Box::new(Tee(&mut self.renderer, copy)),
            None => Box::new(&mut self.renderer),
        };
        if let Some((path, saved)) = &self.chain_file {
            sink = Box::new(SaveChain::new(sink, path.clone(), saved.clone()));
        }
        let (watch, pending) = DotWatch::new(sink);
        let events = Box::new(watch);
        let ctx = SessionContext {
            events,
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
                crate::render::progress::after_interrupt_std();
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
        if let Some((path, saved)) = &self.chain_file
            && !saved.load(Ordering::SeqCst)
        {
            let warning = Timed {
                at: self.started.elapsed(),
                event: Event::Warning {
                    message: format!(
                        "--tls-save-chain {}: no TLS handshake happened, so no chain was written",
                        path.display()
                    ),
                },
            };
            if let Some(copy) = &mut self.copy {
                copy.emit(warning.clone());
            }
            self.renderer.emit(warning);
        }
        self.renderer.finish(&summary);
        if let Some(copy) = &mut self.copy {
            copy.finish(&summary);
        }
        summary.exit_code
    }
}

/// `--output FILE`: created for this run only, readable by its owner only (a transcript
/// names addresses and servers, and with --show-secrets more). An existing file, or a
/// symbolic link in its place, is refused: a transcript never overwrites anything.
pub fn output_file(path: &std::path::Path) -> Result<std::fs::File, String> {
    use std::os::unix::fs::OpenOptionsExt;
    if path == std::path::Path::new("-") {
        return Err("--output -: the transcript already goes to stdout; name a file".into());
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| {
            let shown = path.display();
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                format!("--output {shown}: the file exists; smtpx never overwrites it (remove it or name a new file)")
            } else {
                format!("--output {shown}: {}", io_words(&e))
            }
        })
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
    .with_command_timeout(server.command_timeout)
}

/// What every runner starts with: its renderer, its validated plan and a runtime. Bad
/// input ends the run here: one line on stderr, exit 2, nothing sent.
pub fn start<P>(
    output: &OutputArgs,
    validate: impl FnOnce() -> Result<P, String>,
) -> Result<(Run, P, tokio::runtime::Runtime), u8> {
    let mut run = Run::new(output);
    match validate().and_then(|plan| runtime().map(|rt| (plan, rt))) {
        Ok((plan, rt)) => Ok((run, plan, rt)),
        Err(msg) => Err(run.usage_error(&msg)),
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

/// `--server` parsed; validated before anything else happens. A `--socket` or
/// `--pipe` is the server: the target is then `localhost` (the name TLS checks unless
/// --tls-server-name says another), reached the way the transport says.
pub fn target(server: &ServerArgs) -> Result<Option<Target>, String> {
    if server.transport.socket.is_some() || server.transport.pipe.is_some() {
        return Ok(Some(Target {
            host: "localhost".into(),
            port: server.port,
        }));
    }
    server
        .server
        .as_deref()
        .map(|raw| {
            Target::parse(raw, server.port).map_err(|e| {
                format!(
                    "invalid --server '{}': {e}",
                    target::redacted(raw).escape_debug()
                )
            })
        })
        .transpose()
}

pub fn family(server: &ServerArgs) -> Family {
    Family {
        v4_only: server.ipv4,
        v6_only: server.ipv6,
    }
}

/// The addresses to try for one named server. A Unix socket or a pipe has none, and a
/// SOCKS5 proxy resolves names itself: each gets one hop with an unspecified address.
async fn target_addresses(
    server: &ServerArgs,
    target: &Target,
) -> Result<Vec<SocketAddr>, Failure> {
    let t = &server.transport;
    if t.socket.is_some() || t.pipe.is_some() || (t.socks5.is_some() && target.ip().is_none()) {
        return Ok(vec![transport::placeholder(target.port)]);
    }
    target::resolve(target, family(server))
        .await
        .map_err(|m| Failure::new(Phase::Dns, FailureKind::Dns { temporary: false }, m))
}

/// The server as a report names it: `--server` as typed, or the Unix socket or
/// command that stands for it.
pub fn server_label(server: &ServerArgs) -> String {
    let t = &server.transport;
    if let Some(path) = &t.socket {
        format!("Unix socket {}", path.display())
    } else if let Some(command) = &t.pipe {
        format!("pipe to {command:?}")
    } else {
        server.server.clone().unwrap_or_default()
    }
}

/// Fills in the addresses of `--server`.
pub async fn resolve_open(
    server: &ServerArgs,
    target: &Target,
    plan: OpenPlan,
) -> Result<OpenPlan, Failure> {
    let addrs = target_addresses(server, target).await?;
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
    let hops = route_hops(&route, port, server).map_err(Failure::input)?;
    if hops.is_empty() {
        return Err(dns_failure(
            false,
            format!("no MX host of {domain} has a usable address"),
        ));
    }
    Ok(OpenPlan { hops, ..plan })
}

/// The places to try for a route with MX hosts (or an implicit MX), in the order
/// RFC 5321 §5.1 gives, with `--max-hops`, `-4`/`-6` applied; empty for any other route.
pub fn route_hops(route: &MailRoute, port: u16, server: &ServerArgs) -> Result<Vec<Hop>, String> {
    let cfg = dns_config(server)?;
    Ok(crate::dns::delivery_candidates(
        route,
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
    .collect())
}

/// What `check` and `size` are pointed at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// One server: HOST:PORT, an IP literal, or `--server`.
    Host(Target),
    /// A mail domain, reached through its MX hosts (RFC 5321 §5.1).
    Domain(String),
}

/// TARGET (or `--server`) read the way `check` and `size` take it: a port, brackets or
/// an IP literal name one server; a bare name is a mail domain. `host:25` checks one
/// host even when it has MX records of its own.
pub fn destination(target: Option<&str>, server: &ServerArgs) -> Result<Destination, String> {
    if let Some(t) = self::target(server)? {
        return Ok(Destination::Host(t));
    }
    let raw = target.ok_or("name a DOMAIN or HOST[:PORT] to check, or give --server")?;
    let parsed = Target::parse(raw, server.port).map_err(|e| {
        format!(
            "invalid target '{}': {e}",
            target::redacted(raw).escape_debug()
        )
    })?;
    if raw.contains(':') || raw.starts_with('[') || parsed.ip().is_some() {
        Ok(Destination::Host(parsed))
    } else {
        Ok(Destination::Domain(parsed.host))
    }
}

/// One server to try, with its addresses in the order to try them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostHops {
    pub host: String,
    /// MX preference; None for `--server`, HOST:PORT or an implicit MX.
    pub preference: Option<u16>,
    pub hops: Vec<Hop>,
    /// Why there is nothing to connect to (a dangling MX target, a failed lookup).
    pub unusable: Option<String>,
}

/// The servers a destination names, one entry per host. A domain's MX hosts come in
/// preference order (ties by name, so that a diagnosis reads the same every time); a
/// domain with no MX is its own implicit MX (RFC 5321 §5.1).
pub async fn destination_hosts(
    dest: &Destination,
    server: &ServerArgs,
    dns: Option<&Dns>,
) -> Result<Vec<HostHops>, Failure> {
    let dns_failure = |temporary, message: String| {
        Failure::new(Phase::Dns, FailureKind::Dns { temporary }, message)
    };
    let domain = match dest {
        Destination::Host(t) => return Ok(vec![resolved_host(t, server).await?]),
        Destination::Domain(d) => d,
    };
    let dns = dns.ok_or_else(|| Failure::input("no DNS resolver: name one with --dns-server"))?;
    let route = dns.mail_route(domain).await;
    let family = family(server);
    match route {
        MailRoute::Mx { hosts } => Ok(hosts
            .into_iter()
            .map(|h| {
                let hops: Vec<Hop> = h
                    .addresses
                    .iter()
                    .map(|a| SocketAddr::new(a.ip, server.port))
                    .filter(|a| family.allows(a))
                    .take(usize::from(server.max_hops))
                    .map(|addr| Hop {
                        host: h.name.clone(),
                        addr,
                    })
                    .collect();
                let unusable = if h.dangling {
                    Some(
                        h.lookup_error
                            .clone()
                            .unwrap_or_else(|| "no A or AAAA records".into()),
                    )
                } else if hops.is_empty() {
                    Some(
                        h.lookup_error
                            .clone()
                            .unwrap_or_else(|| "no address of the allowed family (-4/-6)".into()),
                    )
                } else {
                    None
                };
                HostHops {
                    host: h.name,
                    preference: Some(h.preference),
                    hops,
                    unusable,
                }
            })
            .collect()),
        MailRoute::Implicit { host, .. } => {
            let t = Target {
                host,
                port: server.port,
            };
            Ok(vec![resolved_host(&t, server).await?])
        }
        // Names DNS does not know may still be in /etc/hosts (`localhost`): try them
        // as a host before giving up.
        MailRoute::NxDomain | MailRoute::NoMail => {
            let t = Target {
                host: domain.clone(),
                port: server.port,
            };
            resolved_host(&t, server)
                .await
                .map(|h| vec![h])
                .map_err(|_| {
                    dns_failure(
                        false,
                        if route == MailRoute::NxDomain {
                            format!("{domain} does not exist (NXDOMAIN)")
                        } else {
                            format!("{domain} has no MX records and no addresses: no mail route")
                        },
                    )
                })
        }
        MailRoute::NullMx { .. } => Err(dns_failure(
            false,
            format!(
                "{domain} has a null MX (RFC 7505): it accepts no mail, there is no server to check"
            ),
        )),
        MailRoute::InvalidDomain { reason } => {
            Err(dns_failure(false, format!("{domain}: {reason}")))
        }
        MailRoute::Temporary { reason } => Err(dns_failure(
            true,
            format!("looking up MX for {domain} failed temporarily: {reason}"),
        )),
    }
}

async fn resolved_host(target: &Target, server: &ServerArgs) -> Result<HostHops, Failure> {
    let addrs = target_addresses(server, target).await?;
    Ok(HostHops {
        host: target.host.clone(),
        preference: None,
        hops: addrs
            .into_iter()
            .map(|addr| Hop {
                host: target.host.clone(),
                addr,
            })
            .collect(),
        unusable: None,
    })
}

/// `$USER@host`, as swaks and mail(1) do.
pub fn default_from() -> Result<ReversePath, String> {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "smtpx".into());
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    ReversePath::parse(&format!("{user}@{host}"))
        .or_else(|_| ReversePath::parse("smtpx@localhost"))
        .map_err(|e| format!("cannot make a default --from: {e}"))
}

/// DNS settings from `--dns-server`, `--dns-timeout`, `--dns-trust-anchor`, `-4`/`-6`.
/// The trust anchor file is read and parsed now, so a bad one is a usage error.
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
        validate: !dns.no_dnssec,
        trust_anchor: dns
            .dns_trust_anchor
            .as_deref()
            .map(|path| {
                crate::dns::load_trust_anchor(path)
                    .map_err(|e| format!("invalid --dns-trust-anchor: {e}"))
            })
            .transpose()?,
    })
}

/// [`open_plan`] for a server whose port came from TARGET rather than `--server`: the
/// port still picks the TLS mode when `--tls` does not (465 implicit, 587 STARTTLS).
pub fn open_plan_at(server: &ServerArgs, tls: &TlsArgs, port: u16) -> Result<OpenPlan, String> {
    let mut plan = open_plan(server, tls, &AuthArgs::default(), None)?;
    if tls.tls.is_none() {
        plan.tls_mode = OpenTls::for_port(port);
    }
    Ok(plan)
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
        transport: transport_plan(&server.transport)?,
        lmtp: false,
        xclient: Vec::new(),
        xforward: Vec::new(),
        policies: None,
    })
}

/// `--socket`, `--pipe`, `--local-addr`, `--proxy-*` and `--socks5*`, validated; the
/// SOCKS5 password is read now, like AUTH's, so a missing one is bad input (exit 2).
pub fn transport_plan(args: &TransportArgs) -> Result<TransportPlan, String> {
    let route = if let Some(path) = &args.socket {
        Route::Unix(path.clone())
    } else if let Some(command) = &args.pipe {
        let argv = crate::net::pipe::split_command(command)
            .map_err(|e| format!("invalid --pipe {:?}: {e}", command))?;
        Route::Pipe {
            command: command.clone(),
            argv,
        }
    } else if let Some(raw) = &args.socks5 {
        let proxy = Target::parse(raw, 1080).map_err(|e| {
            format!(
                "invalid --socks5 '{}': {e}",
                target::redacted(raw).escape_debug()
            )
        })?;
        Route::Socks5 {
            proxy,
            auth: socks5_auth(args)?,
        }
    } else {
        Route::Tcp
    };
    let bind = args
        .local_addr
        .as_deref()
        .map(|raw| {
            local_addr(raw)
                .map_err(|e| format!("invalid --local-addr '{}': {e}", raw.escape_debug()))
        })
        .transpose()?;
    let socket_addr = |flag: &str, raw: &Option<String>| {
        raw.as_deref()
            .map(|r| {
                r.parse::<SocketAddr>().map_err(|_| {
                    format!(
                        "invalid {flag} '{}': give IP:PORT, or [IPv6]:PORT",
                        r.escape_debug()
                    )
                })
            })
            .transpose()
    };
    let proxy_header = args
        .proxy_protocol
        .map(|v| -> Result<ProxyHeaderPlan, String> {
            let source = socket_addr("--proxy-source", &args.proxy_source)?;
            let dest = socket_addr("--proxy-dest", &args.proxy_dest)?;
            let local = matches!(route, Route::Unix(_) | Route::Pipe { .. });
            if local && (source.is_none() || dest.is_none()) {
                return Err(
                    "--proxy-protocol over --socket or --pipe needs --proxy-source and --proxy-dest: the connection has no IP addresses to put in the header"
                        .into(),
                );
            }
            if let (Some(s), Some(d)) = (source, dest) {
                // Checked now, not after connecting.
                proxy_header::encode(ProxyVersion::V1, s, d)?;
            }
            Ok(ProxyHeaderPlan {
                version: match v {
                    ProxyProtocol::V1 => ProxyVersion::V1,
                    ProxyProtocol::V2 => ProxyVersion::V2,
                },
                source,
                dest,
            })
        })
        .transpose()?;
    Ok(TransportPlan {
        route,
        bind,
        proxy_header,
    })
}

/// For subcommands that open many connections at once (bench, verify): a fixed source
/// port carries only one connection at a time, so `--local-addr` must leave it open.
pub fn many_connections(open: &OpenPlan, verb: &str) -> Result<(), String> {
    match open.transport.bind {
        Some(b) if b.port() != 0 => Err(format!(
            "{verb} opens many connections, and one source port carries only one at a time: give --local-addr {} without a port",
            b.ip()
        )),
        _ => Ok(()),
    }
}

/// `IP`, `IP:PORT`, `[IPv6]` or `[IPv6]:PORT`; port 0 (or none) lets the system choose.
fn local_addr(raw: &str) -> Result<SocketAddr, String> {
    if let Ok(ip) = raw.parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(ip, 0));
    }
    if let Ok(addr) = raw.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Some(ip) = raw.strip_prefix('[').and_then(|r| r.strip_suffix(']'))
        && let Ok(ip) = ip.parse::<std::net::Ipv6Addr>()
    {
        return Ok(SocketAddr::new(ip.into(), 0));
    }
    Err("give an IP address, IP:PORT or [IPv6]:PORT".into())
}

/// `--socks5-user` and its password source.
fn socks5_auth(args: &TransportArgs) -> Result<Option<SocksAuth>, String> {
    let Some(user) = &args.socks5_user else {
        return Ok(None);
    };
    if user.is_empty() || user.len() > 255 || user.chars().any(char::is_control) {
        return Err(
            "invalid --socks5-user: empty, longer than 255 bytes, or contains a control character"
                .into(),
        );
    }
    let source = if let Some(path) = &args.socks5_password_file {
        SecretSource::File(path.clone())
    } else if let Some(var) = &args.socks5_password_env {
        SecretSource::Env(var.clone())
    } else if let Some(cmd) = &args.socks5_password_command {
        SecretSource::Command(cmd.clone())
    } else {
        SecretSource::Prompt
    };
    // The secret module names the AUTH flags in its messages; these are the SOCKS5 ones.
    let password = secret::read(&source, &format!("{user} at the SOCKS5 proxy"))
        .map_err(|e| e.replace("--password-", "--socks5-password-"))?;
    if password.len() > 255 {
        return Err("the SOCKS5 password is longer than 255 bytes (RFC 1929)".into());
    }
    Ok(Some(SocksAuth {
        user: user.clone(),
        password,
    }))
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

/// Plain words for why an input file could not be read.
pub fn io_words(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn server_args(extra: &[&str]) -> ServerArgs {
        let mut argv = vec!["smtpx", "check"];
        argv.extend_from_slice(extra);
        match crate::cli::Cli::try_parse_from(argv).unwrap().verb {
            crate::cli::Verb::Check(args) => args.server,
            _ => unreachable!(),
        }
    }

    #[test]
    fn a_bare_name_is_a_domain_and_anything_else_one_host() {
        let server = server_args(&["-s", "x"]);
        let plain = ServerArgs {
            server: None,
            ..server
        };
        let d = |raw: &str| destination(Some(raw), &plain);
        assert_eq!(
            d("example.org"),
            Ok(Destination::Domain("example.org".into()))
        );
        assert_eq!(
            d("example.org."),
            Ok(Destination::Domain("example.org".into()))
        );
        let host = |h: &str, port| {
            Ok(Destination::Host(Target {
                host: h.into(),
                port,
            }))
        };
        assert_eq!(d("mx.example.org:25"), host("mx.example.org", 25));
        assert_eq!(d("127.0.0.1"), host("127.0.0.1", 25));
        assert_eq!(d("[::1]:2525"), host("::1", 2525));
        assert_eq!(d("::1"), host("::1", 25));
        assert!(d("bad host").is_err());
        assert!(destination(None, &plain).is_err());
        let with_server = server_args(&["-s", "10.0.0.1:26"]);
        assert_eq!(destination(None, &with_server), host("10.0.0.1", 26));
    }
}
