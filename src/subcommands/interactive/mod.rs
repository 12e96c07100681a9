//! `smtpx session`: the user types SMTP; smtpx connects, shows every reply with its
//! meaning, runs STARTTLS and AUTH exchanges, and dot-stuffs message content.

mod console;
pub mod typed;

use std::io::IsTerminal;
use std::path::PathBuf;

use tokio::time::Instant;

use super::plan::{self, Destination};
use crate::cli::SessionArgs;
use crate::dns::Dns;
use crate::outcome::{ExitCode, Failure, FailureKind, Phase};
use crate::render::prompt::{Keyboard, ScreenWriter, history_path};
use crate::render::{Renderer, Status, Summary};
use crate::secret::SecretSource;
use crate::session::open::{OpenPlan, Opened, open};
use crate::session::{Session, SessionContext};
use crate::smtp::{Reply, ReplyClass};

use console::{Console, Next};

/// The validated plan of a session.
pub struct SessionPlan {
    dest: Destination,
    open: OpenPlan,
    /// `--user`: asked for at the first bare AUTH otherwise.
    user: Option<String>,
    /// Where the password comes from; `Prompt` asks on the terminal.
    secret: SecretSource,
    allow_insecure_auth: bool,
    show_secrets: bool,
    history: Option<PathBuf>,
}

/// How the session ended.
#[derive(Debug, Default)]
pub struct Outcome {
    last: Option<Reply>,
    /// What stopped the session, when something did.
    failure: Option<Failure>,
    /// A failure that did not end the session (e.g. AUTH refused); a later reply
    /// replaces it.
    setback: Option<Failure>,
}

pub fn run(args: SessionArgs) -> u8 {
    let validated = plan::start(&args.output, || validate(&args));
    let (run, plan, runtime) = match validated {
        Ok(started) => started,
        Err(code) => return code,
    };
    let opts = run.opts;
    let started = Instant::now();
    let terminal = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let code = runtime.block_on(async {
        let (keyboard, out, err): (
            Keyboard,
            Box<dyn std::io::Write + Send>,
            Box<dyn std::io::Write + Send>,
        ) = if terminal {
            match Keyboard::terminal(plan.history.clone(), console::words(None)) {
                Ok((k, screen)) => {
                    let err: ScreenWriter = screen.clone();
                    (k, Box::new(screen), Box::new(err))
                }
                Err(e) => {
                    crate::render::error_line(&e);
                    return ExitCode::Other.code();
                }
            }
        } else {
            (
                Keyboard::piped(),
                Box::new(std::io::stdout()),
                Box::new(std::io::stderr()),
            )
        };
        let mut renderer = Renderer::new(opts, out, err);
        let ctx = SessionContext {
            events: Box::new(&mut renderer),
            timeouts: plan::timeouts(&args.server),
            overall: args.server.timeout.map(|d| started + d),
            started,
            show_secrets: plan.show_secrets,
        };
        let outcome = converse(ctx, &plan, &args, keyboard).await;
        let mut summary = summary(&outcome);
        summary.elapsed = Some(started.elapsed());
        renderer.finish(&summary);
        summary.exit_code
    });
    // The keyboard thread may still be blocked reading stdin; do not wait for it.
    runtime.shutdown_background();
    code
}

fn validate(args: &SessionArgs) -> Result<SessionPlan, String> {
    let dest = plan::destination(args.target.as_deref(), &args.server)?;
    let port = match &dest {
        Destination::Host(t) => t.port,
        Destination::Domain(_) => args.server.port,
    };
    let mut open = plan::open_plan_at(&args.server, &args.tls, port)?;
    // The user types EHLO; smtpx stops after the greeting.
    open.stop_after = Some(Phase::Greeting);
    let auth = &args.auth;
    if let Some(user) = &auth.user
        && (user.is_empty() || user.chars().any(char::is_control))
    {
        return Err("invalid --user: empty or contains a control character".into());
    }
    let secret = if let Some(path) = &auth.password_file {
        SecretSource::File(path.clone())
    } else if let Some(var) = &auth.password_env {
        SecretSource::Env(var.clone())
    } else if let Some(cmd) = &auth.password_command {
        SecretSource::Command(cmd.clone())
    } else {
        SecretSource::Prompt
    };
    Ok(SessionPlan {
        dest,
        open,
        user: auth.user.clone(),
        secret,
        allow_insecure_auth: auth.allow_insecure_auth,
        show_secrets: auth.show_secrets,
        history: if args.no_history {
            None
        } else {
            history_path()
        },
    })
}

/// Connects (again, after `/reconnect`) and runs the console until the session ends.
async fn converse(
    mut ctx: SessionContext<'_>,
    plan: &SessionPlan,
    args: &SessionArgs,
    mut keyboard: Keyboard,
) -> Outcome {
    let open_plan = match hops(plan, args).await {
        Ok(p) => p,
        Err(f) => return failed(f),
    };
    let mut credentials = None;
    let outcome = loop {
        let session = match connect(ctx, &open_plan).await {
            Ok(s) => s,
            Err(outcome) => break outcome,
        };
        let console = Console::new(session, &mut keyboard, plan, &open_plan, &mut credentials);
        match console.run().await {
            Next::Reconnect(c) => ctx = c,
            Next::Done(outcome) => break outcome,
        }
    };
    keyboard.close();
    outcome
}

/// The addresses to try: `--server` or HOST[:PORT], or a domain's MX hosts in order.
async fn hops(plan: &SessionPlan, args: &SessionArgs) -> Result<OpenPlan, Failure> {
    match &plan.dest {
        Destination::Host(t) => plan::resolve_open(&args.server, t, plan.open.clone()).await,
        Destination::Domain(domain) => {
            let dns = plan::dns_config(&args.server)
                .and_then(|cfg| Dns::new(&cfg).map_err(|e| e.to_string()))
                .map_err(Failure::input)?;
            plan::route_open(
                &dns,
                domain,
                args.server.port,
                &args.server,
                plan.open.clone(),
            )
            .await
        }
    }
}

/// Connects and reads the greeting (implicit TLS first, if asked).
async fn connect<'a>(ctx: SessionContext<'a>, plan: &OpenPlan) -> Result<Session<'a>, Outcome> {
    match open(ctx, plan).await {
        Opened::Stopped(s, _) | Opened::Ready(s) => Ok(s),
        Opened::Refused(s, _, reply) => {
            s.quit().await;
            Err(Outcome {
                last: Some(reply),
                ..Outcome::default()
            })
        }
        Opened::Declined(s, f) => {
            s.quit().await;
            Err(failed(f))
        }
        Opened::Failed(_, f) => Err(failed(f)),
    }
}

fn failed(f: Failure) -> Outcome {
    Outcome {
        failure: Some(f),
        ..Outcome::default()
    }
}

/// The outcome line and exit code: what stopped the session, or else its last reply.
fn summary(outcome: &Outcome) -> Summary {
    if let Some(f) = &outcome.failure {
        let status = if f.is_unknown() {
            Status::Unknown
        } else {
            Status::Failed
        };
        return Summary::new(
            status,
            f.exit_code(),
            format!("at {}: {}", f.phase, f.message),
        )
        .with("phase", f.phase)
        .with("failure", f.kind);
    }
    let Some(last) = &outcome.last else {
        return Summary::new(Status::Failed, ExitCode::Other, "no reply was received");
    };
    let words = format!("session ended after {} {}", last.code, last.text());
    let with_reply = |s: Summary| s.with("last_code", last.code.value());
    if last.code.value() == 221 {
        return with_reply(Summary::new(Status::Ok, ExitCode::Success, words));
    }
    if let Some(f) = &outcome.setback {
        return with_reply(
            Summary::new(
                Status::Failed,
                f.exit_code(),
                format!("at {}: {}", f.phase, f.message),
            )
            .with("phase", f.phase)
            .with("failure", f.kind),
        );
    }
    match last.class() {
        ReplyClass::Positive | ReplyClass::Intermediate => {
            with_reply(Summary::new(Status::Ok, ExitCode::Success, words))
        }
        ReplyClass::TransientNegative => {
            with_reply(Summary::new(Status::Failed, ExitCode::Temporary, words))
        }
        ReplyClass::PermanentNegative => {
            with_reply(Summary::new(Status::Rejected, ExitCode::Permanent, words))
        }
    }
}

/// A failure of the keyboard or of input typed by the user.
fn input_failure(phase: Phase, message: impl Into<String>) -> Failure {
    Failure::new(phase, FailureKind::Input, message)
}
