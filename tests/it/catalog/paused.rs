//! Library rows: the session driver over an in-memory pipe on a paused tokio clock, so
//! the real RFC 5321 §4.5.3.2 timeouts (5, 2, 3 and 10 minutes) run in milliseconds
//! and the clock shows exactly how long smtpx waited.
//!
//! The server answers each command as soon as its line arrives, so the client never
//! waits except where the scenario wants it to: the paused clock then jumps straight
//! to the deadline under test.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use smtpx::net::Connection;
use smtpx::outcome::{Phase, RecipientResult};
use smtpx::render::outcome as summary;
use smtpx::render::{Palette, RenderOptions, Renderer, Style, Summary};
use smtpx::session::transaction::{Envelope, TransactionEnd, Transfer};
use smtpx::session::{Session, SessionContext, Timeouts};
use smtpx::smtp::{Address, Domain, ReversePath};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use super::runner::{FROM, TO};

/// What a library run gives back to the runner.
pub struct LibRun {
    /// The exit code the binary would give for this outcome.
    pub exit: u8,
    /// The transcript, outcome line included.
    pub output: Vec<u8>,
    /// Everything the client wrote.
    pub wire: Vec<u8>,
    /// Tokio time from the first byte to the outcome (QUIT not included).
    pub virtual_elapsed: Duration,
}

/// The server end of the pipe.
pub struct Peer {
    /// Written before the client starts.
    pub before: &'static [u8],
    /// Then written one byte at a time: the first at once, the next after `every`.
    pub drip: Option<(&'static [u8], Duration)>,
    /// Written once the drip is done.
    pub after: &'static [u8],
    /// Written once the client has ended the message (`CRLF.CRLF`): replies sent
    /// earlier would be unsolicited, which the client rightly refuses.
    pub after_dot: &'static [u8],
    /// Read what the client sends; when false, the client's writes back up.
    pub reads: bool,
    /// The message content.
    pub body: Vec<u8>,
}

impl Peer {
    /// A peer that answers with `before`, reply by reply, and reads everything.
    pub fn replies(before: &'static [u8]) -> Peer {
        Peer {
            before,
            drip: None,
            after: b"",
            after_dot: b"",
            reads: true,
            body: b"Subject: paused\r\n\r\nhello\r\n".to_vec(),
        }
    }
}

/// Pipe capacity: small enough that a body backs up quickly when nobody reads.
const PIPE: usize = 64 * 1024;

pub fn run(peer: Peer) -> LibRun {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("paused runtime");
    rt.block_on(session(peer))
}

async fn session(peer: Peer) -> LibRun {
    let (client, server) = tokio::io::duplex(PIPE);
    let (mut from_client, mut to_client) = tokio::io::split(server);
    let wire = Arc::new(Mutex::new(Vec::new()));
    let Peer {
        before,
        drip,
        after,
        after_dot,
        reads,
        body,
    } = peer;
    // Reply k (the greeting is 0) goes once the client has sent k lines: a reply written
    // before its command would be unsolicited, which smtpx rightly refuses.
    let mut paced = split_replies(before);
    paced.extend(split_replies(after));
    let dripped = usize::from(drip.is_some());
    let needed = (paced.len() + dripped).saturating_sub(1);
    let (lines_tx, mut lines) = tokio::sync::watch::channel(0usize);
    let dot_at = Arc::new(Mutex::new(None::<usize>));
    let dot_line = Arc::clone(&dot_at);
    tokio::spawn(async move {
        let mut k = 0;
        if let Some((bytes, every)) = drip {
            for (i, b) in bytes.iter().enumerate() {
                if i > 0 {
                    tokio::time::sleep(every).await;
                }
                if to_client.write_all(std::slice::from_ref(b)).await.is_err() {
                    return;
                }
            }
            k = 1;
        }
        for reply in paced {
            let ready = lines.wait_for(|&n| n >= k).await.is_ok();
            if !ready || to_client.write_all(reply).await.is_err() {
                return;
            }
            k += 1;
        }
        for (j, reply) in split_replies(after_dot).into_iter().enumerate() {
            let ready = lines
                .wait_for(|&n| {
                    let at = *dot_line.lock().unwrap_or_else(|p| p.into_inner());
                    at.is_some_and(|at| n >= at + j)
                })
                .await
                .is_ok();
            if !ready || to_client.write_all(reply).await.is_err() {
                return;
            }
        }
        std::future::pending::<()>().await;
    });
    {
        let wire = Arc::clone(&wire);
        tokio::spawn(async move {
            let mut buf = [0u8; 16 * 1024];
            // A server that stops reading still reads the commands it answers; then it
            // holds the read half so the client's writes fill the pipe.
            while reads || *lines_tx.borrow() < needed {
                let Ok(n) = from_client.read(&mut buf).await else {
                    break;
                };
                if n == 0 {
                    break;
                }
                let mut seen = wire.lock().unwrap_or_else(|p| p.into_inner());
                seen.extend_from_slice(&buf[..n]);
                let count = seen.iter().filter(|&&b| b == b'\n').count();
                if seen.windows(5).any(|w| w == b"\r\n.\r\n") {
                    let mut at = dot_at.lock().unwrap_or_else(|p| p.into_inner());
                    at.get_or_insert(count);
                }
                lines_tx.send_replace(count);
            }
            let _keep = from_client;
            std::future::pending::<()>().await;
        });
    }

    let (mut out, mut err) = (Vec::new(), Vec::new());
    let opts = RenderOptions {
        style: Style::Transcript,
        palette: Palette::PLAIN,
        timing: false,
    };
    let mut renderer = Renderer::new(opts, &mut out, &mut err);
    let started = Instant::now();
    let ctx = SessionContext {
        events: Box::new(&mut renderer),
        timeouts: Timeouts::default(),
        overall: None,
        started,
        show_secrets: false,
    };
    let addr: SocketAddr = "127.0.0.1:25".parse().expect("address");
    let conn = Connection::over_stream(client, addr, addr);
    let (summary, virtual_elapsed) = drive(Session::over(ctx, conn), &body, started).await;
    renderer.finish(&summary);
    out.extend_from_slice(&err);
    let wire = wire.lock().unwrap_or_else(|p| p.into_inner()).clone();
    LibRun {
        exit: summary.exit_code,
        output: out,
        wire,
        virtual_elapsed,
    }
}

/// Greeting, EHLO and one transaction, as `smtpx send` runs them; the time is taken
/// when the outcome is known, before QUIT.
async fn drive(mut s: Session<'_>, body: &[u8], started: Instant) -> (Summary, Duration) {
    let waiting = vec![RecipientResult::waiting(TO.into())];
    let (summary, took, close) = 'outcome: {
        match s.greeting().await {
            Err(f) => break 'outcome (summary::failure(&f, &waiting), started.elapsed(), false),
            Ok(r) if r.code.value() != 220 => {
                break 'outcome (
                    summary::rejected(Phase::Greeting, &r, &waiting),
                    started.elapsed(),
                    true,
                );
            }
            Ok(_) => {}
        }
        let name = Domain::parse("client.test").expect("EHLO name");
        match s.hello(&name, true).await {
            Err(f) => break 'outcome (summary::failure(&f, &waiting), started.elapsed(), false),
            Ok(r) if !r.is_positive() => {
                break 'outcome (
                    summary::rejected(Phase::Ehlo, &r, &waiting),
                    started.elapsed(),
                    true,
                );
            }
            Ok(_) => {}
        }
        let envelope = Envelope {
            from: ReversePath::parse(FROM).expect("from"),
            mail_params: Vec::new(),
            recipients: vec![(Address::parse(TO).expect("to"), Vec::new())],
        };
        let mut reader: &[u8] = body;
        let transfer = Transfer {
            pipelining: false,
            chunking: None,
            refuse_8bit: false,
            stop_after: None,
            per_recipient: None,
        };
        let report = s.transaction(&envelope, &mut reader, &transfer).await;
        let took = started.elapsed();
        let polite = !matches!(report.end, TransactionEnd::Failed(_));
        (summary::transaction(report), took, polite)
    };
    if close {
        s.quit().await;
    } else {
        s.abort().await;
    }
    (summary, took)
}

/// The replies in `bytes`, each with its continuation lines (RFC 5321 §4.2.1).
fn split_replies(bytes: &'static [u8]) -> Vec<&'static [u8]> {
    let mut replies = Vec::new();
    let mut start = 0;
    let mut pos = 0;
    while let Some(nl) = bytes[pos..].iter().position(|&b| b == b'\n') {
        let line = &bytes[pos..pos + nl + 1];
        pos += nl + 1;
        if line.get(3) != Some(&b'-') {
            replies.push(&bytes[start..pos]);
            start = pos;
        }
    }
    if start < bytes.len() {
        replies.push(&bytes[start..]);
    }
    replies
}
