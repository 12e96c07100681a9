//! The summary: every row run (bounded parallelism), the figures counted, a report
//! printed and written to `target/catalog-summary.txt`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::thread;

use super::row::{Area, Source};
use super::runner::{ADDRESS_SPACE_CAP, Verdict, first_start, verdict};
use super::{cases, rows};

/// Rows run side by side: most of their time is spent waiting on timeouts, not on the
/// two cores.
const WORKERS: usize = 6;

pub fn summary() {
    let rows = rows::all();
    let mut ids: Vec<&str> = rows.iter().map(|r| r.id).collect();
    ids.sort_unstable();
    let before = ids.len();
    ids.dedup();
    assert_eq!(before, ids.len(), "duplicate row ids");
    let mut declared: Vec<&str> = cases::IDS.iter().map(|(id, _)| *id).collect();
    declared.sort_unstable();
    assert_eq!(ids, declared, "rows and their #[test]s differ");

    first_start();
    let queue: Mutex<Vec<&'static str>> =
        Mutex::new(cases::IDS.iter().rev().map(|(id, _)| *id).collect());
    let done: Mutex<Vec<(&'static str, Verdict)>> = Mutex::new(Vec::new());
    thread::scope(|s| {
        for _ in 0..WORKERS {
            s.spawn(|| {
                while let Some(id) = queue.lock().unwrap_or_else(|p| p.into_inner()).pop() {
                    let v = verdict(id);
                    done.lock().unwrap_or_else(|p| p.into_inner()).push((id, v));
                }
            });
        }
    });
    let verdicts: HashMap<&str, Verdict> = done
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .collect();

    let mut report = String::new();
    let (mut servers, mut inputs) = (0, 0);
    let (mut crashes, mut hangs, mut false_successes, mut leaks, mut breaches) = (0, 0, 0, 0, 0);
    let mut per_area: Vec<(Area, usize)> = Vec::new();
    let mut failed = Vec::new();
    let mut known = Vec::new();
    for (id, bug) in cases::IDS {
        let row = rows.iter().find(|r| r.id == *id).expect("row exists");
        let v = &verdicts[id];
        match row.source {
            Source::Server => servers += 1,
            Source::Input => inputs += 1,
        }
        match per_area.iter_mut().find(|(a, _)| *a == row.area) {
            Some((_, n)) => *n += 1,
            None => per_area.push((row.area, 1)),
        }
        crashes += usize::from(v.crash);
        hangs += usize::from(v.hang);
        false_successes += usize::from(v.false_success);
        leaks += usize::from(v.leak);
        breaches += usize::from(v.memory);
        let mark = match (v.passed(), bug) {
            (true, None) => "ok  ",
            (true, Some(_)) => "FIXED",
            (false, Some(_)) => "BUG ",
            (false, None) => "FAIL",
        };
        let exits: Vec<String> = v
            .exits
            .iter()
            .map(|c| c.map_or("signal".into(), |c| c.to_string()))
            .collect();
        report.push_str(&format!(
            "{mark} {id:<48} {:<18} exit {:<6} {:>7.1?}  {}\n",
            row.area.name(),
            exits.join(","),
            v.elapsed,
            row.what
        ));
        match (v.passed(), bug) {
            (false, None) => failed.push(v.problems.join("\n\n")),
            (false, Some(why)) => known.push(format!("{id}: {why}")),
            (true, Some(_)) => failed.push(format!("{id} passes now: remove its #[ignore]")),
            (true, None) => {}
        }
    }
    let areas: Vec<String> = per_area
        .iter()
        .map(|(a, n)| format!("{} {n}", a.name()))
        .collect();
    let line = format!(
        "catalog: {servers} hostile-server scenarios and {inputs} malformed inputs tried: {crashes} crashes, {hangs} hangs, {false_successes} false successes, {leaks} credential leaks, {breaches} memory-cap breaches"
    );
    report.push_str(&format!("rows by area: {}\n", areas.join(", ")));
    report.push_str(&format!(
        "memory cap: {} MiB address space per binary run; catalog wall time {:.1?}\n",
        ADDRESS_SPACE_CAP >> 20,
        first_start().elapsed()
    ));
    if !known.is_empty() {
        report.push_str(&format!(
            "known bugs ({}), counted above:\n  {}\n",
            known.len(),
            known.join("\n  ")
        ));
    }
    report.push_str(&line);
    report.push('\n');
    println!("{report}");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let _ = std::fs::create_dir_all(&target);
    let _ = std::fs::write(target.join("catalog-summary.txt"), &report);
    assert!(
        failed.is_empty(),
        "catalog rows failed:\n{}",
        failed.join("\n\n")
    );
}
