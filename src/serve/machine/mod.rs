//! The server's decisions: given a command line, what to reply and what the session
//! does next. No sockets and no clocks: the session driver carries out the actions.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

mod auth;

use super::command::{self, Request};
use super::data::ReceivedStats;
use super::fault::{FaultPlan, Stage};
use super::sasl::{Exchange, Users};
use crate::smtp::{Param, Reply, ReplyCode, ReversePath};

/// What the server offers and how far it lets a client go.
#[derive(Debug)]
pub struct Settings {
    /// The name in the greeting and the EHLO reply.
    pub hostname: String,
    /// SIZE (RFC 1870): the largest message accepted; 0 for no limit.
    pub size_limit: u64,
    pub max_recipients: usize,
    /// Commands one session may send before it is closed with 421.
    pub max_commands: u64,
    /// Refused commands (syntax, sequence) before the session is closed with 421, as
    /// Postfix's `smtpd_hard_error_limit`.
    pub max_errors: u32,
    /// STARTTLS is offered (a certificate is configured).
    pub tls: bool,
    pub users: Option<Users>,
    /// AUTH before TLS.
    pub insecure_auth: bool,
    pub faults: FaultPlan,
}

/// Numbers shared by every session of one server, for `--fail-every`.
#[derive(Debug, Default)]
pub struct Counters {
    pub transactions: AtomicU64,
}

/// What the driver does, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Reply(Reply),
    /// Wait before the next action (`--delay`).
    Delay(Duration),
    /// Send what is queued, then close.
    Close,
    /// Close without sending the reply this command would have had (`--drop`).
    Drop,
    /// The 220 is queued: send it, then do the TLS handshake.
    StartTls,
    /// The 354 is queued: read content up to the end-of-data mark, then call
    /// [`Machine::content_received`].
    ReceiveData,
    /// Read exactly `size` octets; store them when `keep`, else discard them. Then call
    /// [`Machine::chunk_received`].
    ReceiveChunk {
        size: u64,
        last: bool,
        keep: bool,
    },
    /// Make the stored message permanent, then call [`Machine::committed`].
    Commit,
}

/// The body type declared on MAIL (RFC 6152, RFC 3030).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyType {
    SevenBit,
    EightBitMime,
    BinaryMime,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    pub address: String,
    /// As sent: NOTIFY and ORCPT (RFC 3461).
    pub params: Vec<Param>,
}

/// One transaction's envelope and the session facts recorded beside the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    pub from: ReversePath,
    /// As sent: SIZE, BODY, SMTPUTF8, RET, ENVID.
    pub mail_params: Vec<Param>,
    pub recipients: Vec<Recipient>,
    pub helo: String,
    pub esmtp: bool,
    pub tls: bool,
    pub auth_user: Option<String>,
    pub body: BodyType,
}

#[derive(Debug)]
enum Greeted {
    No,
    Helo(String),
    Ehlo(String),
}

#[derive(Debug)]
struct Chunking {
    /// A chunk after which the transaction cannot succeed (RFC 3030 §2: the server
    /// keeps reading chunks and answers them all with this).
    failed: Option<Reply>,
    bytes: u64,
}

pub struct Machine {
    settings: Arc<Settings>,
    counters: Arc<Counters>,
    session: u64,
    /// Whether faults strike this session (greeting, ehlo, starttls, auth, quit).
    session_faults: bool,
    /// Whether faults strike the current transaction (mail, rcpt, data, dot).
    transaction_faults: bool,
    greeted: Greeted,
    greeting_refused: bool,
    tls: bool,
    auth_user: Option<String>,
    auth: Option<Exchange>,
    envelope: Option<Envelope>,
    chunking: Option<Chunking>,
    commands: u64,
    errors: u32,
    random: [u8; 32],
    nonce_counter: u64,
}

impl Machine {
    /// `session` counts from 1 over the server's life; `random` seeds the SASL nonces.
    pub fn new(
        settings: Arc<Settings>,
        counters: Arc<Counters>,
        session: u64,
        tls: bool,
        random: [u8; 32],
    ) -> Machine {
        let session_faults = settings.faults.strikes(session);
        Machine {
            settings,
            counters,
            session,
            session_faults,
            transaction_faults: false,
            greeted: Greeted::No,
            greeting_refused: false,
            tls,
            auth_user: None,
            auth: None,
            envelope: None,
            chunking: None,
            commands: 0,
            errors: 0,
            random,
            nonce_counter: 0,
        }
    }

    pub fn session(&self) -> u64 {
        self.session
    }

    /// The envelope of the transaction in progress.
    pub fn envelope(&self) -> Option<&Envelope> {
        self.envelope.as_ref()
    }

    /// True while the next line answers an AUTH challenge (so it is a secret).
    pub fn in_auth(&self) -> bool {
        self.auth.is_some()
    }

    /// The longest line accepted next (RFC 5321 §4.5.3.1.4; RFC 4954 §4 allows
    /// 12288 octets for AUTH lines, which the server cannot tell apart before reading).
    pub fn line_limit(&self) -> usize {
        if self.auth.is_some() || self.settings.users.is_some() {
            crate::smtp::command::MAX_AUTH_LINE
        } else {
            crate::smtp::command::MAX_COMMAND_LINE
        }
    }

    pub fn greeting(&mut self) -> Vec<Action> {
        let normal = reply(
            220,
            &format!("{} ESMTP smtpx serve", self.settings.hostname),
        );
        let mut actions = Vec::new();
        match self.fault(Stage::Greeting, &mut actions) {
            Fault::Drop => actions.push(Action::Drop),
            Fault::Reply(r) if r.code.value() / 100 != 2 => {
                // RFC 5321 §3.1: after a 554 greeting the server waits for QUIT and
                // answers everything else with 503; 421 closes at once.
                self.greeting_refused = true;
                let closes = r.code.value() == 421;
                actions.push(Action::Reply(r));
                if closes {
                    actions.push(Action::Close);
                }
            }
            Fault::Reply(r) => actions.push(Action::Reply(r)),
            Fault::None => actions.push(Action::Reply(normal)),
        }
        actions
    }

    /// A line longer than [`line_limit`](Self::line_limit) arrived (and was skipped).
    pub fn line_too_long(&mut self) -> Vec<Action> {
        self.auth = None;
        self.refuse(500, "5.5.2 Line too long")
    }

    /// The driver is stopping (signal, or the message or session limit): no new
    /// transaction.
    pub fn shutting_down(&mut self) -> Vec<Action> {
        vec![
            Action::Reply(reply(
                421,
                "4.3.2 Service shutting down, closing the connection",
            )),
            Action::Close,
        ]
    }

    /// One command line, without its line end.
    pub fn on_line(&mut self, line: &[u8]) -> Vec<Action> {
        self.commands += 1;
        if self.commands > self.settings.max_commands {
            return vec![
                Action::Reply(reply(421, "4.7.0 Too many commands in one session")),
                Action::Close,
            ];
        }
        if self.auth.is_some() {
            return self.auth_response(line);
        }
        let request = match command::parse(line) {
            Ok(r) => r,
            Err(e) => {
                let (code, text) = e.code_and_text();
                return self.refuse(code, &text);
            }
        };
        if self.greeting_refused && request != Request::Quit {
            return self.refuse(503, "5.5.1 No service here; say QUIT");
        }
        match request {
            Request::Ehlo(name) => self.ehlo(name, true),
            Request::Helo(name) => self.ehlo(name, false),
            Request::Mail { from, params } => self.mail(from, params),
            Request::Rcpt { to, params } => self.rcpt(to, params),
            Request::Data => self.data(),
            Request::Bdat { size, last } => self.bdat(size, last),
            Request::Rset => {
                self.reset();
                vec![Action::Reply(reply(250, "2.0.0 Ok"))]
            }
            Request::Noop => vec![Action::Reply(reply(250, "2.0.0 Ok"))],
            Request::Quit => self.quit(),
            Request::StartTls => self.starttls(),
            Request::Vrfy(_) => vec![Action::Reply(reply(
                252,
                "2.5.0 Cannot VRFY user, but will accept message and attempt delivery",
            ))],
            Request::Expn(_) => self.refuse(502, "5.5.1 EXPN is not implemented"),
            Request::Help => vec![Action::Reply(reply(
                214,
                "2.0.0 smtpx serve: see https://www.rfc-editor.org/rfc/rfc5321",
            ))],
            Request::Auth { mechanism, initial } => self.auth(&mechanism, initial.as_deref()),
        }
    }

    fn refuse(&mut self, code: u16, text: &str) -> Vec<Action> {
        self.errors += 1;
        let mut actions = vec![Action::Reply(reply(code, text))];
        if self.errors >= self.settings.max_errors {
            actions = vec![
                Action::Reply(reply(421, "4.7.0 Too many errors, closing the connection")),
                Action::Close,
            ];
        }
        actions
    }

    fn reset(&mut self) {
        self.envelope = None;
        self.chunking = None;
        self.transaction_faults = false;
    }

    /// The fault set for `stage`, if it strikes now; delays go into `actions`.
    fn fault(&self, stage: Stage, actions: &mut Vec<Action>) -> Fault {
        let strikes = if stage.in_transaction() {
            self.transaction_faults
        } else {
            self.session_faults
        };
        if !strikes {
            return Fault::None;
        }
        let f = self.settings.faults.at(stage);
        if let Some(d) = f.delay {
            actions.push(Action::Delay(d));
        }
        if f.drop {
            Fault::Drop
        } else if let Some(r) = &f.reply {
            Fault::Reply(r.clone())
        } else {
            Fault::None
        }
    }

    /// Applies the stage's fault to a normal reply: `Ok` with the reply to send when the
    /// stage goes on as normal, `Err` with the actions when the fault stops it.
    fn answer(&self, stage: Stage, normal: Reply) -> Result<(Vec<Action>, Reply), Vec<Action>> {
        let mut actions = Vec::new();
        match self.fault(stage, &mut actions) {
            Fault::None => Ok((actions, normal)),
            Fault::Drop => {
                actions.push(Action::Drop);
                Err(actions)
            }
            Fault::Reply(r) if r.code.value() / 100 == stage.positive_class() => Ok((actions, r)),
            Fault::Reply(r) => {
                let closes = r.code.value() == 421;
                actions.push(Action::Reply(r));
                if closes {
                    actions.push(Action::Close);
                }
                Err(actions)
            }
        }
    }

    fn ehlo(&mut self, name: String, esmtp: bool) -> Vec<Action> {
        let s = &self.settings;
        let mut lines = vec![s.hostname.clone()];
        if esmtp {
            lines.push("PIPELINING".into());
            lines.push(format!("SIZE {}", s.size_limit));
            lines.push("8BITMIME".into());
            lines.push("SMTPUTF8".into());
            lines.push("ENHANCEDSTATUSCODES".into());
            lines.push("CHUNKING".into());
            lines.push("BINARYMIME".into());
            lines.push("DSN".into());
            if s.tls && !self.tls {
                lines.push("STARTTLS".into());
            }
            if let Some(users) = &s.users
                && self.auth_allowed()
            {
                lines.push(format!("AUTH {}", users.mechanisms().join(" ")));
            }
        }
        let normal = Reply {
            code: ReplyCode::OK,
            lines,
        };
        match self.answer(Stage::Ehlo, normal) {
            Ok((mut actions, r)) => {
                // RFC 5321 §4.1.4: EHLO resets the state, as RSET does.
                self.reset();
                self.greeted = if esmtp {
                    Greeted::Ehlo(name)
                } else {
                    Greeted::Helo(name)
                };
                actions.push(Action::Reply(r));
                actions
            }
            Err(actions) => actions,
        }
    }

    fn auth_allowed(&self) -> bool {
        self.tls || self.settings.insecure_auth
    }

    fn esmtp(&self) -> bool {
        matches!(self.greeted, Greeted::Ehlo(_))
    }

    fn helo_name(&self) -> Option<&str> {
        match &self.greeted {
            Greeted::No => None,
            Greeted::Helo(n) | Greeted::Ehlo(n) => Some(n),
        }
    }

    fn mail(&mut self, from: ReversePath, params: Vec<Param>) -> Vec<Action> {
        let Some(helo) = self.helo_name().map(str::to_string) else {
            return self.refuse(503, "5.5.1 Say EHLO first");
        };
        if self.envelope.is_some() {
            return self.refuse(503, "5.5.1 Nested MAIL command");
        }
        let mut body = BodyType::SevenBit;
        for p in &params {
            if !self.esmtp() {
                return self.refuse(555, "5.5.4 MAIL parameters need EHLO");
            }
            let value = p.value.as_deref().unwrap_or("");
            match p.keyword.as_str() {
                "SIZE" => match value.parse::<u64>() {
                    Ok(n) if self.settings.size_limit > 0 && n > self.settings.size_limit => {
                        return self.refuse(552, "5.3.4 Message size exceeds fixed limit");
                    }
                    Ok(_) => {}
                    Err(_) => return self.refuse(501, "5.5.4 Bad SIZE value"),
                },
                "BODY" => {
                    body = match value.to_ascii_uppercase().as_str() {
                        "7BIT" => BodyType::SevenBit,
                        "8BITMIME" => BodyType::EightBitMime,
                        "BINARYMIME" => BodyType::BinaryMime,
                        _ => return self.refuse(501, "5.5.4 Bad BODY value"),
                    }
                }
                "SMTPUTF8" if p.value.is_none() => {}
                "RET" if matches!(value.to_ascii_uppercase().as_str(), "FULL" | "HDRS") => {}
                "ENVID" if crate::smtp::xtext::decode(value).is_some() && value.len() <= 100 => {}
                "AUTH" => {}
                _ => {
                    return self.refuse(555, "5.5.4 Unsupported MAIL parameter");
                }
            }
        }
        if from.address().is_some_and(|a| a.needs_smtputf8())
            && !params.iter().any(|p| p.keyword == "SMTPUTF8")
        {
            return self.refuse(553, "5.6.7 Non-ASCII address needs SMTPUTF8");
        }
        let n = self.counters.transactions.fetch_add(1, Ordering::Relaxed) + 1;
        self.transaction_faults = self.settings.faults.strikes(n);
        match self.answer(Stage::Mail, reply(250, "2.1.0 Ok")) {
            Ok((mut actions, r)) => {
                self.envelope = Some(Envelope {
                    from,
                    mail_params: params,
                    recipients: Vec::new(),
                    helo,
                    esmtp: self.esmtp(),
                    tls: self.tls,
                    auth_user: self.auth_user.clone(),
                    body,
                });
                actions.push(Action::Reply(r));
                actions
            }
            Err(actions) => actions,
        }
    }

    fn rcpt(&mut self, to: String, params: Vec<Param>) -> Vec<Action> {
        let Some(env) = &self.envelope else {
            return self.refuse(503, "5.5.1 Need MAIL before RCPT");
        };
        if env.recipients.len() >= self.settings.max_recipients {
            // RFC 5321 §4.5.3.1.10: 452 is the way to say "too many recipients".
            return vec![Action::Reply(reply(452, "4.5.3 Too many recipients"))];
        }
        let smtputf8 = env.mail_params.iter().any(|p| p.keyword == "SMTPUTF8");
        for p in &params {
            let value = p.value.as_deref().unwrap_or("");
            let ok = match p.keyword.as_str() {
                "NOTIFY" => value.split(',').all(|v| {
                    matches!(
                        v.to_ascii_uppercase().as_str(),
                        "NEVER" | "SUCCESS" | "FAILURE" | "DELAY"
                    )
                }),
                "ORCPT" => value.contains(';'),
                _ => false,
            };
            if !ok {
                return self.refuse(555, "5.5.4 Unsupported or bad RCPT parameter");
            }
        }
        if !to.is_ascii() && !smtputf8 {
            return self.refuse(553, "5.6.7 Non-ASCII address needs SMTPUTF8");
        }
        let mut actions = Vec::new();
        if self.transaction_faults
            && let Some(r) = self.settings.faults.rcpt_reply(&to)
        {
            let r = r.clone();
            if r.code.value() / 100 != 2 {
                actions.push(Action::Reply(r));
                return actions;
            }
            // A positive rule only changes the text.
            if let Some(env) = &mut self.envelope {
                env.recipients.push(Recipient {
                    address: to,
                    params,
                });
            }
            actions.push(Action::Reply(r));
            return actions;
        }
        match self.answer(Stage::Rcpt, reply(250, "2.1.5 Ok")) {
            Ok((mut actions, r)) => {
                if let Some(env) = &mut self.envelope {
                    env.recipients.push(Recipient {
                        address: to,
                        params,
                    });
                }
                actions.push(Action::Reply(r));
                actions
            }
            Err(actions) => actions,
        }
    }

    fn data(&mut self) -> Vec<Action> {
        match &self.envelope {
            None => return self.refuse(503, "5.5.1 Need MAIL before DATA"),
            Some(e) if e.recipients.is_empty() => {
                return self.refuse(554, "5.5.1 No valid recipients");
            }
            Some(e) if e.body == BodyType::BinaryMime => {
                return self.refuse(503, "5.5.1 BODY=BINARYMIME needs BDAT");
            }
            Some(_) if self.chunking.is_some() => {
                return self.refuse(503, "5.5.1 DATA after BDAT");
            }
            Some(_) => {}
        }
        match self.answer(Stage::Data, reply(354, "End data with <CR><LF>.<CR><LF>")) {
            Ok((mut actions, r)) => {
                actions.push(Action::Reply(r));
                actions.push(Action::ReceiveData);
                actions
            }
            Err(actions) => actions,
        }
    }

    fn bdat(&mut self, size: u64, last: bool) -> Vec<Action> {
        let refusal = match &self.envelope {
            None => Some(reply(503, "5.5.1 Need MAIL before BDAT")),
            Some(e) if e.recipients.is_empty() => Some(reply(554, "5.5.1 No valid recipients")),
            Some(_) => None,
        };
        if let Some(r) = refusal {
            // RFC 3030 §2: the chunk is read (and thrown away) whatever the answer.
            self.errors += 1;
            return vec![
                Action::ReceiveChunk {
                    size,
                    last,
                    keep: false,
                },
                Action::Reply(r),
            ];
        }
        let chunking = self.chunking.get_or_insert(Chunking {
            failed: None,
            bytes: 0,
        });
        chunking.bytes = chunking.bytes.saturating_add(size);
        let limit = self.settings.size_limit;
        if limit > 0 && chunking.bytes > limit && chunking.failed.is_none() {
            chunking.failed = Some(reply(552, "5.3.4 Message size exceeds fixed limit"));
        }
        let keep = chunking.failed.is_none();
        vec![Action::ReceiveChunk { size, last, keep }]
    }

    /// The chunk announced by BDAT has been read.
    pub fn chunk_received(&mut self, size: u64, last: bool) -> Vec<Action> {
        let Some(chunking) = &mut self.chunking else {
            // The chunk of a refused BDAT: its reply is already queued.
            return Vec::new();
        };
        if let Some(r) = chunking.failed.clone() {
            if last {
                self.reset();
            }
            return vec![Action::Reply(r)];
        }
        if !last {
            return vec![Action::Reply(reply(
                250,
                &format!("2.0.0 {size} octets received"),
            ))];
        }
        self.end_of_content(ReceivedStats::default(), false)
    }

    /// DATA content up to its end mark has been read (and stored as it came).
    /// `too_big` says it passed the size limit (the rest was thrown away).
    pub fn content_received(&mut self, stats: ReceivedStats, too_big: bool) -> Vec<Action> {
        self.end_of_content(stats, too_big)
    }

    fn end_of_content(&mut self, stats: ReceivedStats, too_big: bool) -> Vec<Action> {
        if too_big {
            self.reset();
            return vec![Action::Reply(reply(
                552,
                "5.3.4 Message size exceeds fixed limit",
            ))];
        }
        if stats.has_bare_line_ends() {
            self.reset();
            // RFC 5321 §2.3.8; refused rather than repaired, so that no relay behind us
            // can read a second message into it (SMTP smuggling).
            return vec![Action::Reply(reply(
                550,
                &format!(
                    "5.6.0 Message refused: bare CR or LF in the content ({} LF, {} CR); lines end with CRLF (RFC 5321 2.3.8)",
                    stats.bare_lf, stats.bare_cr
                ),
            ))];
        }
        let mut actions = Vec::new();
        match self.fault(Stage::Dot, &mut actions) {
            Fault::Drop => {
                self.reset();
                actions.push(Action::Drop);
            }
            Fault::Reply(r) if r.code.value() / 100 != 2 => {
                self.reset();
                let closes = r.code.value() == 421;
                actions.push(Action::Reply(r));
                if closes {
                    actions.push(Action::Close);
                }
            }
            Fault::Reply(_) | Fault::None => actions.push(Action::Commit),
        }
        actions
    }

    /// The message is stored (`Ok(id)`) or could not be (`Err(why)`).
    pub fn committed(&mut self, result: Result<&str, &str>) -> Vec<Action> {
        let custom = self
            .transaction_faults
            .then(|| self.settings.faults.at(Stage::Dot).reply.clone())
            .flatten();
        self.reset();
        let r = match result {
            Ok(id) => custom.unwrap_or_else(|| reply(250, &format!("2.0.0 Ok: queued as {id}"))),
            Err(why) => reply(451, &format!("4.3.0 Cannot store the message: {why}")),
        };
        vec![Action::Reply(r)]
    }

    fn quit(&mut self) -> Vec<Action> {
        let normal = reply(221, "2.0.0 Bye");
        match self.answer(Stage::Quit, normal) {
            Ok((mut actions, r)) => {
                actions.push(Action::Reply(r));
                actions.push(Action::Close);
                actions
            }
            Err(mut actions) => {
                if !actions.contains(&Action::Drop) {
                    actions.push(Action::Close);
                }
                actions
            }
        }
    }
}

pub(super) enum Fault {
    None,
    Drop,
    Reply(Reply),
}

pub(super) fn reply(code: u16, text: &str) -> Reply {
    Reply::new(code, &[text])
}
