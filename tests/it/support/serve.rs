//! `smtpx serve` as a child process on 127.0.0.1:0: its address comes from the first
//! line it prints. Killed (by PID) on drop if still running.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::run::{HANG_GUARD, Out};

pub struct Serve {
    child: Child,
    pub addr: SocketAddr,
    stdout: Arc<Mutex<Vec<u8>>>,
    stdout_done: mpsc::Receiver<()>,
    stderr: thread::JoinHandle<Vec<u8>>,
}

impl Serve {
    /// `smtpx serve --listen 127.0.0.1:0 --no-timing ARGS`.
    pub fn start(args: &[&str]) -> Serve {
        Serve::start_with(&["--listen", "127.0.0.1:0"], args)
    }

    /// `smtpx serve --no-timing LISTEN ARGS`; the first listener's address is `addr`.
    pub fn start_with(listen: &[&str], args: &[&str]) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_smtpx"))
            .arg("serve")
            .arg("--no-timing")
            .args(listen)
            .args(args)
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .env("XDG_CONFIG_HOME", "/nonexistent-smtpx-test")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn smtpx serve");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut err = child.stderr.take().expect("stderr");
        let stderr = thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = err.read_to_end(&mut buf);
            buf
        });
        let mut first = String::new();
        out.read_line(&mut first).expect("read the first line");
        let Some(addr) = listening_addr(&first) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "smtpx serve did not print its address first: {first:?}\nstderr: {}",
                String::from_utf8_lossy(&stderr.join().unwrap_or_default())
            )
        };
        let stdout = Arc::new(Mutex::new(first.into_bytes()));
        let (done_tx, stdout_done) = mpsc::channel();
        let sink = Arc::clone(&stdout);
        thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                match out.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => sink.lock().unwrap().extend_from_slice(&buf[..n]),
                }
            }
            let _ = done_tx.send(());
        });
        Serve {
            child,
            addr,
            stdout,
            stdout_done,
            stderr,
        }
    }

    pub fn server_arg(&self) -> String {
        self.addr.to_string()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it printed so far.
    pub fn stdout_now(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned()
    }

    /// Polls stdout until `needle` appears (bounded by the hang guard).
    pub fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + HANG_GUARD;
        loop {
            let now = self.stdout_now();
            if now.contains(needle) {
                return now;
            }
            assert!(
                Instant::now() < deadline,
                "never printed {needle:?}:\n{now}"
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// Waits for the server to exit (it must, within the hang guard).
    pub fn wait(mut self) -> Out {
        let deadline = Instant::now() + HANG_GUARD;
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                break Some(s);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            thread::sleep(Duration::from_millis(10));
        };
        let _ = self.stdout_done.recv_timeout(Duration::from_secs(10));
        let stdout = self.stdout.lock().unwrap().clone();
        let stderr = std::mem::replace(&mut self.stderr, thread::spawn(Vec::new));
        let stderr = stderr.join().unwrap_or_default();
        Out::new(status.and_then(|s| s.code()), stdout, &stderr)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn listening_addr(line: &str) -> Option<SocketAddr> {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(line) {
        return v["addr"].as_str()?.parse().ok();
    }
    let rest = line.split("Listening on ").nth(1)?;
    rest.split(' ').next()?.parse().ok()
}

/// The files in a Maildir's new/, sorted by name.
pub fn maildir_messages(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("new"))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    files
}

/// A stored message without the envelope fields serve prepends (Return-Path,
/// X-Original-To, X-Smtpx-Mail-Params and the Received field with its folded lines).
pub fn without_envelope(stored: &[u8]) -> &[u8] {
    let mut rest = stored;
    loop {
        let end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .map_or(rest.len(), |i| i + 2);
        let line = &rest[..end];
        let ours = [
            &b"Return-Path:"[..],
            b"X-Original-To:",
            b"X-Smtpx-Mail-Params:",
            b"Received:",
        ]
        .iter()
        .any(|p| line.starts_with(p))
            || line.starts_with(b"\t");
        if !ours || end == 0 {
            return rest;
        }
        rest = &rest[end..];
    }
}
