//! `smtpx verify` at scale: `--resume` survives kill -9 at any point without losing or
//! repeating a verdict, `--shard` splits a list into shares whose union is the whole
//! run, a state made for other input or options is refused, one session per MX host
//! carries all its domains, and greylisted domains wait without holding up others.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::dns::{DnsServer, RecordSpec};
use crate::support::peers::{Aiosmtpd, AiosmtpdOptions};
use crate::support::serve::Serve;

/// Addresses over a dozen domains: some known, most unknown, one domain accepting all,
/// a few bad lines and repeats.
fn list(dir: &Path, n: usize) -> std::path::PathBuf {
    let path = dir.join("list.txt");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    for i in 0..n {
        match i % 50 {
            7 => writeln!(f, "bad line {i}").unwrap(),
            9 => writeln!(f, "u{}@d{}.test", i - 1, (i - 1) % 13).unwrap(),
            _ => writeln!(f, "u{i}@d{}.test", i % 13).unwrap(),
        }
    }
    f.flush().unwrap();
    path
}

/// Every third address is known; d0.test takes anything.
fn server(n: usize) -> Option<Aiosmtpd> {
    let mut policy = serde_json::Map::new();
    policy.insert("*".into(), json!("550 5.1.1 No such user"));
    policy.insert("@d0.test".into(), json!("250 2.1.5 OK"));
    for i in (0..n).step_by(3) {
        policy.insert(format!("u{i}@d{}.test", i % 13), json!("250 2.1.5 OK"));
    }
    Aiosmtpd::start(
        AiosmtpdOptions::new()
            .policy(Value::Object(policy))
            .pipelining(),
    )
}

fn smtpx() -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("smtpx"));
    cmd.arg("verify")
        .stdin(Stdio::null())
        .env_remove("NO_COLOR");
    cmd
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// CSV rows without the header, sorted by line: a run's result, whatever the order the
/// verdicts came in.
fn rows(csv: &str) -> Vec<String> {
    let mut rows: Vec<String> = csv
        .lines()
        .filter(|l| !l.starts_with("line,address,"))
        .map(str::to_string)
        .collect();
    rows.sort_by_key(|r| r.split(',').next().unwrap().parse::<u64>().unwrap());
    rows
}

/// The input lines a state holds, in the order written; panics on a line that does not
/// read, since a finished state must have none.
fn state_lines(path: &Path) -> Vec<u64> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(header["smtpx-verify-state"], 1);
    lines
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            v["line"].as_u64().unwrap()
        })
        .collect()
}

fn newlines(path: &Path) -> usize {
    std::fs::read(path).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
}

/// A small xorshift generator: random kill points, reproducible from the seed printed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

fn seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(0);
    h.finish() | 1
}

#[test]
fn resume_after_kill_9_at_random_points_equals_an_uninterrupted_run() {
    const N: usize = 600;
    let Some(server) = server(N) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let input = list(dir.path(), N);
    let arg = server.server_arg();
    // Paced, so that the kills land in the middle of the work.
    let base = |cmd: &mut Command| {
        cmd.args(["--server", &arg, "--format", "csv", "--rate", "600"])
            .arg("--file")
            .arg(&input);
    };
    let mut c = smtpx();
    base(&mut c);
    let whole = run(&mut c);
    assert_eq!(whole.code, Some(7), "{}", whole.stderr);
    let want = rows(&whole.stdout);
    let distinct = want.len();
    assert!(distinct > 500, "{}", whole.stdout);

    let seed = seed();
    let mut rng = Rng(seed);
    for trial in 0..3 {
        let state = dir.path().join(format!("state{trial}"));
        let mut kills = Vec::new();
        let last = loop {
            let mut cmd = smtpx();
            base(&mut cmd);
            cmd.arg("--resume").arg(&state);
            if kills.len() == 3 {
                break run(&mut cmd);
            }
            // Kill once the state holds this many lines (header included), or at once.
            let target = newlines(&state) + rng.below(distinct as u64 / 3) as usize;
            let mut child = cmd
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let deadline = Instant::now() + Duration::from_secs(60);
            while newlines(&state) < target
                && child.try_wait().unwrap().is_none()
                && Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(2));
            }
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            kills.push(target);
        };
        let context = format!(
            "seed {seed}, trial {trial}, kills at {kills:?}\n{}",
            last.stderr
        );
        assert_eq!(last.code, Some(7), "{context}");
        assert_eq!(rows(&last.stdout), want, "{context}");
        let recorded = state_lines(&state);
        let mut unique = recorded.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(
            unique.len(),
            recorded.len(),
            "a verdict recorded twice: {context}"
        );
        assert_eq!(recorded.len(), distinct, "{context}");
    }

    // A finished state answers everything: nothing is asked, even with the server gone.
    let state = dir.path().join("state0");
    drop(server);
    let mut c = smtpx();
    base(&mut c);
    let again = run(c.arg("--resume").arg(&state));
    assert_eq!(again.code, Some(7), "{}", again.stderr);
    assert_eq!(rows(&again.stdout), want);
    assert!(
        again
            .stderr
            .contains(&format!("{distinct} from the --resume state")),
        "{}",
        again.stderr
    );
}

#[test]
fn the_shards_together_are_exactly_the_unsharded_run() {
    const N: usize = 400;
    let Some(server) = server(N) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let input = list(dir.path(), N);
    let arg = server.server_arg();
    let verify = |extra: &[&str]| {
        let mut c = smtpx();
        c.args(["--server", &arg, "--no-timing"])
            .arg("--file")
            .arg(&input)
            .args(extra);
        run(&mut c)
    };
    let whole = verify(&["--format", "csv"]);
    assert_eq!(whole.code, Some(7), "{}", whole.stderr);
    let whole_json = verify(&["--json"]);
    let mut csv = Vec::new();
    let mut jsonl: Vec<Value> = Vec::new();
    let mut counts = json!({});
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let part = verify(&["--format", "csv", "--shard", &shard]);
        assert!(matches!(part.code, Some(0 | 7 | 8)), "{}", part.stderr);
        let mut lines = part.stdout.lines();
        if !part.stdout.is_empty() {
            assert_eq!(
                lines.next(),
                Some("line,address,verdict,code,enhanced,detail,host")
            );
        }
        csv.extend(lines.map(str::to_string));
        let part = verify(&["--json", "--shard", &shard]);
        for line in part.stdout.lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            if v["type"] == "result" {
                for (name, n) in v["counts"].as_object().unwrap() {
                    let sum = counts[name].as_u64().unwrap_or(0) + n.as_u64().unwrap();
                    counts[name] = json!(sum);
                }
            } else {
                jsonl.push(v);
            }
        }
    }
    assert_eq!(rows(&csv.join("\n")), rows(&whole.stdout));
    // Each domain in exactly one share.
    let domain_of = |row: &String| {
        row.split(',')
            .nth(1)
            .unwrap()
            .split('@')
            .nth(1)
            .map(str::to_string)
    };
    let mut whole_lines: Vec<Value> = Vec::new();
    let mut whole_counts = json!({});
    for line in whole_json.stdout.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        if v["type"] == "result" {
            whole_counts = v["counts"].clone();
        } else {
            whole_lines.push(v);
        }
    }
    let key = |v: &Value| v["line"].as_u64().unwrap();
    jsonl.sort_by_key(key);
    whole_lines.sort_by_key(key);
    assert_eq!(jsonl, whole_lines);
    assert_eq!(counts, whole_counts);
    let domains: std::collections::BTreeSet<_> = csv.iter().filter_map(domain_of).collect();
    assert_eq!(domains.len(), 13);
}

#[test]
fn a_state_of_another_run_is_refused_and_left_alone() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    // Nobody answers: every address is unreachable, and the state records it.
    drop(listener);
    let first = run(smtpx()
        .args(["--server", &addr, "-q", "a@x.test", "b@y.test"])
        .arg("--resume")
        .arg(&state));
    assert_eq!(first.code, Some(8), "{}", first.stderr);
    let before = std::fs::read(&state).unwrap();
    assert_eq!(state_lines(&state).len(), 2);
    for (args, words) in [
        (vec!["a@x.test", "c@y.test"], "another input"),
        (
            vec!["--from", "me@x.test", "a@x.test", "b@y.test"],
            "--from",
        ),
        (vec!["--shard", "1/2", "a@x.test", "b@y.test"], "--shard"),
    ] {
        let out = run(smtpx()
            .args(["--server", &addr, "-q"])
            .args(&args)
            .arg("--resume")
            .arg(&state));
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(words), "{args:?}: {}", out.stderr);
        assert_eq!(std::fs::read(&state).unwrap(), before);
    }
    // Not a state file at all: refused, untouched.
    let list = dir.path().join("list.txt");
    std::fs::write(&list, "a@x.test\n").unwrap();
    let out = run(smtpx()
        .args(["--server", &addr, "a@x.test", "--resume"])
        .arg(&list));
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("not a smtpx verify state file"),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read_to_string(&list).unwrap(), "a@x.test\n");
    for bad in ["0/3", "4/3", "x"] {
        let out = run(smtpx().args(["--server", &addr, "a@x.test", "--shard", bad]));
        assert_eq!(out.code, Some(2), "{bad}: {}", out.stderr);
    }
}

#[test]
fn one_session_per_mx_host_carries_all_its_domains() {
    let serve = Serve::start(&["--reply-rcpt", "smtpx-probe-*=550 5.1.1 no such user"]);
    let Some(dns) = DnsServer::start(&[
        ("a.test", RecordSpec::Mx(10, "mx.shared.test")),
        ("b.test", RecordSpec::Mx(10, "mx.shared.test")),
        ("c.test", RecordSpec::Mx(20, "mx.shared.test")),
        ("mx.shared.test", RecordSpec::Addr("127.0.0.1")),
        ("other.test", RecordSpec::Mx(10, "mx.other.test")),
        ("mx.other.test", RecordSpec::Addr("127.0.0.1")),
    ]) else {
        return;
    };
    let port = serve.addr.port().to_string();
    let dns_arg = dns.addr().to_string();
    let out = run(smtpx().args([
        "--port",
        &port,
        "--dns-server",
        &dns_arg,
        "--rate",
        "0",
        "--no-timing",
        "-q",
        "a1@a.test",
        "b1@b.test",
        "a2@a.test",
        "c1@c.test",
        "o1@other.test",
        "b2@b.test",
    ]));
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    let log = serve.stdout_now();
    // Two MX hosts, two sessions: a.test, b.test and c.test share mx.shared.test's.
    assert_eq!(log.matches("*  Connection from").count(), 2, "{log}");
    assert_eq!(log.matches("<- RSET").count(), 2, "{log}");
    assert_eq!(log.matches("<- QUIT").count(), 2, "{log}");
    assert_eq!(log.matches("<- RCPT TO:<smtpx-probe-").count(), 4, "{log}");
    for domain in ["a.test", "b.test", "c.test", "other.test"] {
        assert!(log.contains(&format!("@{domain}>")), "{domain}: {log}");
    }
}

#[test]
fn greylisted_domains_wait_without_holding_up_the_others() {
    let serve = Serve::start(&[
        "--reply-rcpt",
        "smtpx-probe-*=550 5.1.1 no such user",
        "--reply-rcpt",
        "g*=451 4.7.1 greylisted, come back later",
    ]);
    // More greylisted domains than --concurrency 1 has domain tasks (4), then one that
    // answers at once: it must not wait for their second pass.
    let mut args = vec![
        "--server".to_string(),
        serve.server_arg(),
        "--concurrency".into(),
        "1".into(),
        "--retry-temporary".into(),
        "5s".into(),
        "--format".into(),
        "csv".into(),
    ];
    args.extend((1..=6).map(|i| format!("g@g{i}.test")));
    args.push("ok@n.test".into());
    let out = run(smtpx().args(&args));
    assert_eq!(out.code, Some(8), "{}", out.stderr);
    let rows: Vec<&str> = out.stdout.lines().skip(1).collect();
    assert_eq!(rows.len(), 7, "{}", out.stdout);
    assert!(
        rows[0].contains("ok@n.test,deliverable"),
        "decided before any greylisted address came back:\n{}",
        out.stdout
    );
    assert!(
        rows[1..].iter().all(|r| r.contains(",temporary,")),
        "{}",
        out.stdout
    );
}

/// The peak resident memory of a process, from /proc, while it runs.
fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[test]
fn memory_follows_the_work_in_flight_not_the_length_of_the_list() {
    // Every domain under .test is NXDOMAIN here: the run exercises reading, holding and
    // grouping the list and writing a verdict per address, without SMTP. (The full
    // million addresses against an accept-all server: scripts/bench-verify-memory.)
    let Some(dns) = DnsServer::start(&[]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let dns_arg = dns.addr().to_string();
    let peak = |n: usize| -> u64 {
        let path = dir.path().join(format!("list{n}.txt"));
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        for i in 0..n {
            writeln!(f, "user{i}@domain{}.test", i % 2000).unwrap();
        }
        f.flush().unwrap();
        drop(f);
        let mut child = smtpx()
            .args(["--dns-server", &dns_arg, "-q", "--concurrency", "32"])
            .arg("--file")
            .arg(&path)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let mut peak = 0;
        while child.try_wait().unwrap().is_none() {
            if let Some(kib) = peak_kib(pid) {
                peak = peak.max(kib);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(7), "{stdout}");
        assert!(
            stdout.contains(&format!("{n} addresses: {n} no-domain")),
            "{stdout}"
        );
        assert!(peak > 0, "VmHWM was never read");
        peak
    };
    let small = peak(20_000);
    let large = peak(400_000);
    assert!(
        large < small + 8 * 1024,
        "20 times the addresses: peak RSS {small} KiB, then {large} KiB"
    );
}

#[test]
fn pipelined_batches_start_small_and_are_sized_per_host_unless_fixed() {
    let opts = AiosmtpdOptions::new()
        .policy(json!({"*": "550 5.1.1 No such user"}))
        .pipelining();
    let Some(server) = Aiosmtpd::start(opts) else {
        return;
    };
    let addresses: Vec<String> = (1..=60).map(|i| format!("a{i}@p.test")).collect();
    let arg = server.server_arg();
    // RCPTs written before the first reply to MAIL: the first batch.
    let first_batch = |extra: &[&str]| {
        let out = run(smtpx()
            .args(["--server", &arg, "-v", "--no-timing"])
            .args(extra)
            .args(&addresses));
        assert_eq!(out.code, Some(7), "{}", out.stderr);
        let lines: Vec<&str> = out.stderr.lines().collect();
        let reply = lines
            .iter()
            .position(|l| l.contains("<- 250"))
            .and_then(|ehlo| {
                lines[ehlo..]
                    .iter()
                    .position(|l| l.contains("-> MAIL"))
                    .map(|m| m + ehlo)
            })
            .and_then(|mail| {
                lines[mail..]
                    .iter()
                    .position(|l| l.contains("<- "))
                    .map(|r| r + mail)
            })
            .unwrap();
        let rcpts = lines[..reply]
            .iter()
            .filter(|l| l.contains("-> RCPT TO:"))
            .count();
        let total = out.stderr.matches("-> RCPT TO:").count();
        (rcpts, total)
    };
    // The probe and 19 addresses: a host's first batch is 20 until its replies say more.
    assert_eq!(first_batch(&[]), (20, 61));
    assert_eq!(first_batch(&["--batch", "7"]), (7, 61));
}
