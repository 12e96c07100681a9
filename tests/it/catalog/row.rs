//! What a catalog row is: the scenario, the invocation and the expectations.

use crate::support::certs::TestPki;
use crate::support::scripted::Step;

use super::paused::LibRun;
use super::runner::RunResult;

/// Which part of the catalog a row belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Area {
    Tls,
    Reply,
    Timing,
    Data,
    Auth,
    Cli,
}

impl Area {
    pub fn name(self) -> &'static str {
        match self {
            Area::Tls => "TLS/STARTTLS",
            Area::Reply => "reply parsing",
            Area::Timing => "timing and faults",
            Area::Data => "data transparency",
            Area::Auth => "AUTH and secrets",
            Area::Cli => "CLI input",
        }
    }
}

/// Whose fault the scenario is: a hostile server, or malformed input from the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Server,
    Input,
}

/// What one run has to work with: a fresh PKI and a fresh canary secret.
pub struct Ctx {
    pub pki: TestPki,
    /// The password every run gets in `SMTPX_CATALOG_SECRET`; it must never be shown.
    pub canary: String,
}

/// The user name AUTH rows authenticate as.
pub const USER: &str = "tim";
/// The environment variable that carries the canary.
pub const SECRET_ENV: &str = "SMTPX_CATALOG_SECRET";

/// Who answers on `{server}`.
#[derive(Clone, Copy)]
pub enum Server {
    /// A listener that must see no connection at all (input refused before connecting).
    Untouched,
    /// The scripted fault-injection server, one script.
    Script(fn(&Ctx) -> Vec<Step>),
    /// A listener whose accept queue is full: SYNs go unanswered.
    Blackhole,
    /// A port nothing listens on.
    Refused,
}

/// What smtpx reads on stdin.
#[derive(Clone)]
pub enum Stdin {
    Empty,
    Bytes(Vec<u8>),
    /// A directory: the first read fails (EISDIR).
    Directory,
    /// A TCP socket that delivers these bytes, then is reset: a read error mid-body.
    ResetAfter(Vec<u8>),
}

/// How a row runs.
#[derive(Clone, Copy)]
pub enum Exec {
    /// The smtpx binary under the memory cap, against `server`.
    Binary,
    /// The library on a paused tokio clock (real RFC timeouts, no wall-clock wait).
    Library(fn(&Ctx) -> LibRun),
}

/// An extra check on a finished run.
pub type Check = fn(&RunResult) -> Result<(), String>;

pub struct Row {
    pub id: &'static str,
    pub area: Area,
    pub source: Source,
    /// What the server or the input does.
    pub what: &'static str,
    pub exec: Exec,
    pub server: Server,
    /// Arguments after `send`; `{server}`, `{ca}` and `{file}` are filled in. The runner
    /// adds `--server`, `--helo`, `--from`, `--to`, short timeouts and `--no-timing`
    /// where the row leaves them out.
    pub args: Vec<String>,
    pub stdin: Stdin,
    /// Content of `{file}`.
    pub file: Option<fn() -> Vec<u8>>,
    /// The exit codes this row allows: one, or several where the kernel decides which
    /// of two equally right paths is taken.
    pub exits: Vec<i32>,
    pub wire_must: Vec<Vec<u8>>,
    pub wire_must_not: Vec<Vec<u8>>,
    pub output_must: Vec<String>,
    pub output_must_not: Vec<String>,
    /// The canary must not reach the server in any form either.
    pub secret_off_wire: bool,
    /// Run again with `--json`, so both renderers face the scenario.
    pub both_styles: bool,
    pub checks: Vec<Check>,
}

/// A row with its id, area and description; the builder methods fill in the rest.
pub fn row(id: &'static str, area: Area, source: Source, what: &'static str) -> Row {
    Row {
        id,
        area,
        source,
        what,
        exec: Exec::Binary,
        server: Server::Untouched,
        args: Vec::new(),
        stdin: Stdin::Empty,
        file: None,
        exits: Vec::new(),
        wire_must: Vec::new(),
        wire_must_not: Vec::new(),
        output_must: Vec::new(),
        output_must_not: Vec::new(),
        secret_off_wire: false,
        both_styles: false,
        checks: Vec::new(),
    }
}

impl Row {
    pub fn script(mut self, script: fn(&Ctx) -> Vec<Step>) -> Row {
        self.server = Server::Script(script);
        self
    }

    pub fn server(mut self, server: Server) -> Row {
        self.server = server;
        self
    }

    pub fn library(mut self, run: fn(&Ctx) -> LibRun) -> Row {
        self.exec = Exec::Library(run);
        self
    }

    pub fn args(mut self, args: &[&str]) -> Row {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    pub fn arg(mut self, arg: String) -> Row {
        self.args.push(arg);
        self
    }

    pub fn stdin(mut self, stdin: Stdin) -> Row {
        self.stdin = stdin;
        self
    }

    pub fn file(mut self, content: fn() -> Vec<u8>) -> Row {
        self.file = Some(content);
        self
    }

    pub fn exit(mut self, code: i32) -> Row {
        self.exits = vec![code];
        self
    }

    pub fn exit_any(mut self, codes: &[i32]) -> Row {
        self.exits = codes.to_vec();
        self
    }

    pub fn wire_must(mut self, bytes: &str) -> Row {
        self.wire_must.push(bytes.as_bytes().to_vec());
        self
    }

    pub fn wire_must_not(mut self, bytes: &str) -> Row {
        self.wire_must_not.push(bytes.as_bytes().to_vec());
        self
    }

    pub fn output_must(mut self, text: &str) -> Row {
        self.output_must.push(text.to_string());
        self
    }

    pub fn output_must_not(mut self, text: &str) -> Row {
        self.output_must_not.push(text.to_string());
        self
    }

    pub fn secret_off_wire(mut self) -> Row {
        self.secret_off_wire = true;
        self
    }

    pub fn both_styles(mut self) -> Row {
        self.both_styles = true;
        self
    }

    pub fn check(mut self, check: Check) -> Row {
        self.checks.push(check);
        self
    }
}
