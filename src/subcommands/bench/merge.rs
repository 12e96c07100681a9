//! `smtpx bench merge`: reads the `--json` reports of many runs (files or stdin),
//! checks they are parts of one kind of run, and prints the merged report as `bench`
//! prints its own, so a merged report merges again.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::cli::BenchMergeArgs;
use crate::load::import;
use crate::load::merge::{self, MAX_REPORTS};
use crate::load::report::BenchReport;
use crate::render::bench as report_view;
use crate::subcommands::plan::{Run, io_words};

/// The largest report file read: a report is a few KiB, so this is some other file.
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

pub fn run(args: BenchMergeArgs) -> u8 {
    let mut run = Run::new(&args.output);
    let reports = match read_all(&args.reports) {
        Ok(r) => r,
        Err(msg) => return run.usage_error(&msg),
    };
    let merged = match merge::merge(&reports, args.force) {
        Ok(m) => m,
        Err(why) => {
            return run.usage_error(&format!(
                "the reports are not parts of one kind of run: {why} (--force merges them anyway)"
            ));
        }
    };
    let timing = run.opts.timing;
    run.renderer.report(
        &report_view::lines(&merged, timing),
        report_view::json(&merged, timing),
    );
    let mut summary = report_view::summary(&merged);
    // The outcome line's time is the span of the runs (none when a run's times are
    // unknown), never the time it took to read the files.
    summary.elapsed = merged.started_at.map(|_| merged.elapsed);
    run.renderer.finish(&summary);
    summary.exit_code
}

fn read_all(paths: &[PathBuf]) -> Result<Vec<BenchReport>, String> {
    if paths.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
        return Err("- (stdin) is named more than once".into());
    }
    let mut out = Vec::new();
    for path in paths {
        let (name, text) = read(path)?;
        out.extend(import::reports_in(&text).map_err(|e| format!("{name}: {e}"))?);
        if out.len() > MAX_REPORTS {
            return Err(format!(
                "more than {MAX_REPORTS} reports: merge them in groups, then merge the groups"
            ));
        }
    }
    Ok(out)
}

fn read(path: &Path) -> Result<(String, String), String> {
    let stdin = path.as_os_str() == "-";
    let name = if stdin {
        "stdin".to_string()
    } else {
        path.display().to_string()
    };
    let source: Box<dyn Read> = if stdin {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).map_err(|e| format!("{name}: {}", io_words(&e)))?)
    };
    let mut bytes = Vec::new();
    source
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{name}: {}", io_words(&e)))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "{name}: larger than {} MiB, not a bench report",
            MAX_FILE_BYTES >> 20
        ));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| format!("{name}: not text (a bench report is JSON)"))?;
    Ok((name, text))
}
