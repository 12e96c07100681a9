//! From `smtpx serve`'s arguments to a checked plan: addresses, storage, TLS, users and
//! faults, all read and refused before anything listens.

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::serve::ServeArgs;
use crate::net::tls::server::TlsServer;
use crate::serve::Settings;
use crate::serve::fault::{self, FaultPlan};
use crate::serve::sasl::Users;

/// Refused commands before a session is closed (Postfix's smtpd_hard_error_limit).
const MAX_ERRORS: u32 = 20;

pub enum Storage {
    Maildir(PathBuf),
    Mbox(PathBuf),
    Discard,
}

pub struct Listener {
    pub addr: SocketAddr,
    pub implicit_tls: bool,
}

pub struct ServePlan {
    pub listeners: Vec<Listener>,
    pub storage: Storage,
    pub tls: Option<TlsServer>,
    pub settings: Settings,
    pub max_messages: Option<u64>,
    pub max_sessions: Option<u64>,
    pub max_concurrent: usize,
    pub idle_timeout: Duration,
    /// Non-loopback addresses, for a warning.
    pub public: Vec<SocketAddr>,
}

pub fn validate(args: &ServeArgs) -> Result<ServePlan, String> {
    let mut listeners = Vec::new();
    let plain = if args.listen.is_empty() && args.listen_tls.is_empty() {
        vec!["127.0.0.1:2525".to_string()]
    } else {
        args.listen.clone()
    };
    for (specs, implicit_tls) in [(&plain, false), (&args.listen_tls, true)] {
        for spec in specs {
            let addr: SocketAddr = spec.parse().map_err(|_| {
                format!("--listen {spec:?}: expected IP:PORT, e.g. 127.0.0.1:2525 or [::1]:2525")
            })?;
            listeners.push(Listener { addr, implicit_tls });
        }
    }
    let public = listeners
        .iter()
        .map(|l| l.addr)
        .filter(|a| !a.ip().is_loopback())
        .collect();
    let hostname = match &args.hostname {
        Some(h) => crate::smtp::address::ehlo_name(h)
            .map_err(|e| format!("--hostname: {e}"))?
            .to_string(),
        None => "localhost".to_string(),
    };

    let storage = if let Some(dir) = &args.maildir {
        Storage::Maildir(dir.clone())
    } else if let Some(file) = &args.mbox {
        Storage::Mbox(file.clone())
    } else {
        Storage::Discard
    };

    let tls = if args.tls_self_signed {
        Some(TlsServer::self_signed(&hostname).map_err(|e| e.to_string())?)
    } else if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        Some(TlsServer::from_files(cert, key).map_err(|e| e.to_string())?)
    } else {
        None
    };
    if tls.is_none() && !args.listen_tls.is_empty() {
        return Err(
            "--listen-tls needs a certificate: --tls-cert and --tls-key, or --tls-self-signed"
                .into(),
        );
    }
    if tls.is_none() && args.tls_cert_out.is_some() {
        return Err("--tls-cert-out needs --tls-cert or --tls-self-signed".into());
    }

    let users = if let Some(path) = &args.users {
        Some(read_users(path)?)
    } else if args.auth_any {
        Some(Users::Any)
    } else {
        None
    };
    if users.is_some() && tls.is_none() && !args.allow_insecure_auth {
        return Err("AUTH is offered only after TLS: add --tls-self-signed (or --tls-cert and --tls-key), or --allow-insecure-auth".into());
    }

    let mut faults = FaultPlan::default();
    for spec in &args.reply {
        let (stage, reply) = fault::parse_stage_reply(spec).map_err(|e| format!("--reply {e}"))?;
        faults.set_reply(stage, reply);
    }
    for spec in &args.reply_rcpt {
        faults
            .rcpt
            .push(fault::parse_rcpt_rule(spec).map_err(|e| format!("--reply-rcpt {e}"))?);
    }
    for spec in &args.delay {
        let (stage, d) = fault::parse_delay(spec).map_err(|e| format!("--delay {e}"))?;
        if d > args.idle_timeout {
            return Err(format!(
                "--delay {spec}: longer than --idle-timeout ({})",
                humantime::format_duration(args.idle_timeout)
            ));
        }
        faults.set_delay(stage, d);
    }
    for spec in &args.drop {
        let stage = fault::Stage::parse(spec).map_err(|e| format!("--drop {e}"))?;
        faults.set_drop(stage);
    }
    if args.fail_every.is_some() && faults.is_empty() {
        return Err("--fail-every needs a fault: --reply, --reply-rcpt, --delay or --drop".into());
    }
    faults.every = args.fail_every;

    let settings = Settings {
        hostname,
        size_limit: args.size,
        max_recipients: args.max_recipients as usize,
        max_commands: args.max_commands,
        max_errors: MAX_ERRORS,
        tls: tls.is_some(),
        users,
        insecure_auth: args.allow_insecure_auth,
        faults,
    };
    Ok(ServePlan {
        listeners,
        storage,
        tls,
        settings,
        max_messages: args.max_messages,
        max_sessions: args.max_sessions,
        max_concurrent: args.max_concurrent as usize,
        idle_timeout: args.idle_timeout,
        public,
    })
}

/// `--users FILE`: refused when others can read it, as `--password-file` is.
fn read_users(path: &Path) -> Result<Users, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("--users {}: {e}", path.display()))?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(format!(
            "--users {}: readable by group or others (mode {:o}); chmod 600 it",
            path.display(),
            meta.permissions().mode() & 0o777
        ));
    }
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("--users {}: {e}", path.display()))?;
    Users::parse_table(&text).map_err(|e| format!("--users {}: {e}", path.display()))
}
