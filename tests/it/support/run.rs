//! Running the smtpx binary: one builder ([`Smtpx`]) and one result ([`Out`])
//! for every test module.

use std::ffi::OsStr;
use std::fmt;
use std::time::Duration;

use serde_json::Value;

/// Kills a run that hangs; far above any `--timeout` a test gives smtpx.
pub const HANG_GUARD: Duration = Duration::from_secs(60);

/// How one run ended and what it printed.
#[derive(Debug)]
pub struct Out {
    /// Exit code; -1 when killed by a signal or the hang guard.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// stdout as written, for checks on control bytes and encodings.
    pub raw_stdout: Vec<u8>,
}

impl Out {
    pub fn new(code: Option<i32>, stdout: Vec<u8>, stderr: &[u8]) -> Out {
        Out {
            code: code.unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(stderr).into_owned(),
            raw_stdout: stdout,
        }
    }

    /// stdout followed by stderr.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    /// The outcome: the last stdout line.
    pub fn outcome(&self) -> &str {
        self.stdout.lines().last().unwrap_or("")
    }

    /// Every stdout line as JSON (`--json`); panics on a line that is not.
    pub fn json(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
            .collect()
    }

    /// The final `--json` object, which must be the result.
    pub fn result(&self) -> Value {
        let last = self.json().pop().expect("at least one JSON line");
        assert_eq!(last["type"], "result", "last JSON object: {last}");
        last
    }
}

/// For assertion messages: the exit code, then both streams.
impl fmt::Display for Out {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// `smtpx ARGS`, with the colour-related environment cleared (so the host's
/// settings cannot change the output) and [`HANG_GUARD`] as a time limit.
pub struct Smtpx {
    cmd: assert_cmd::Command,
}

impl Smtpx {
    pub fn new() -> Smtpx {
        let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_smtpx"));
        cmd.env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("CI")
            .env_remove("SMTPX_PROFILE")
            .env_remove("SMTPX_CONFIG")
            // A config file of the person running the tests must not change them.
            .env("XDG_CONFIG_HOME", "/nonexistent-smtpx-test")
            .timeout(HANG_GUARD);
        Smtpx { cmd }
    }

    /// `smtpx send --no-timing --timeout 30s`: a stable transcript, and
    /// smtpx's own deadline well inside [`HANG_GUARD`].
    pub fn send() -> Smtpx {
        Smtpx::new()
            .arg("send")
            .args(&["--no-timing", "--timeout", "30s"])
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Smtpx {
        self.cmd.arg(arg);
        self
    }

    /// A slice of `&str`, so `&String`s in an array literal coerce.
    pub fn args(mut self, args: &[&str]) -> Smtpx {
        self.cmd.args(args);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Smtpx {
        self.cmd.env(key, value);
        self
    }

    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Smtpx {
        self.cmd.write_stdin(input.into());
        self
    }

    pub fn run(mut self) -> Out {
        let out = self.cmd.output().expect("run smtpx");
        Out::new(out.status.code(), out.stdout, &out.stderr)
    }
}

/// `smtpx ARGS` with nothing else set.
pub fn smtpx(args: &[&str]) -> Out {
    Smtpx::new().args(args).run()
}
