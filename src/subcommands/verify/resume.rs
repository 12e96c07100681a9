//! `--resume STATE`: the state file on disk. Opening it checks that it belongs to this
//! input and these options, keeps its complete lines and cuts a torn tail; the writer
//! then appends one line per verdict and syncs after each batch.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::super::plan::io_words;
use crate::render::verify::Journal;
use crate::verify::Record;
use crate::verify::state::{self, Header, MAGIC};

/// Line numbers seen, one bit each: a million lines take 125 KiB.
#[derive(Default)]
pub(crate) struct LineSet {
    bits: Vec<u64>,
}

impl LineSet {
    /// Adds `line`; false if it was there already.
    pub fn insert(&mut self, line: u64) -> bool {
        let (word, bit) = ((line / 64) as usize, line % 64);
        if self.bits.len() <= word {
            self.bits.resize(word + 1, 0);
        }
        let fresh = self.bits[word] & (1 << bit) == 0;
        self.bits[word] |= 1 << bit;
        fresh
    }

    pub fn contains(&self, line: u64) -> bool {
        self.bits
            .get((line / 64) as usize)
            .is_some_and(|w| w & (1 << (line % 64)) != 0)
    }
}

/// An open state: what it holds, and the file to append to.
pub(crate) struct State {
    path: PathBuf,
    file: File,
    /// Input lines (or argument positions) already decided.
    pub done: LineSet,
    /// Bytes of header and complete lines: the replay reads no further.
    kept: u64,
    dirty: bool,
}

fn words(path: &Path, what: &str, e: &std::io::Error) -> String {
    format!("--resume {}: {what}: {}", path.display(), io_words(e))
}

impl State {
    /// Opens (or starts) the state at `path` for a run described by `header`. Err is
    /// the one line to show: the file is not a state, or belongs to another run.
    pub fn open(path: &Path, header: &Header) -> Result<State, String> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| words(path, "cannot open it", &e))?;
        let mut reader = BufReader::new(&mut file);
        let mut line = Vec::new();
        let first = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| words(path, "reading failed", &e))?;
        let mut done = LineSet::default();
        if line.last() != Some(&b'\n') {
            // Empty, or a header cut short by a crash before it was complete: begin
            // again. Anything else is somebody's file, and stays as it is.
            let prefix = format!("{{\"{MAGIC}\"");
            let n = line.len().min(prefix.len());
            if line[..n] != prefix.as_bytes()[..n] {
                return Err(format!(
                    "--resume {}: not a smtpx verify state file (it is left as it is)",
                    path.display()
                ));
            }
            drop(reader);
            let kept = start(&mut file, path, header)?;
            return Ok(State {
                path: path.to_path_buf(),
                file,
                done,
                kept,
                dirty: false,
            });
        }
        let then = std::str::from_utf8(&line)
            .map_err(|_| "not a smtpx verify state file".to_string())
            .and_then(|l| Header::decode(l.trim_end()))
            .map_err(|why| format!("--resume {}: {why} (it is left as it is)", path.display()))?;
        if let Some(why) = then.mismatch(header) {
            return Err(format!(
                "--resume {}: {why}; run with the input and options it was made with, or give a new state file",
                path.display()
            ));
        }
        let mut kept = first as u64;
        loop {
            line.clear();
            let n = reader
                .read_until(b'\n', &mut line)
                .map_err(|e| words(path, "reading failed", &e))?;
            // The first line that is cut short or does not read is where a crash
            // stopped the writing: the state ends there.
            let Some(record) = line.strip_suffix(b"\n").and_then(state::decode) else {
                break;
            };
            kept += n as u64;
            done.insert(record.line);
        }
        drop(reader);
        let len = file
            .metadata()
            .map_err(|e| words(path, "reading failed", &e))?
            .len();
        if len > kept {
            file.set_len(kept)
                .and_then(|()| file.sync_data())
                .map_err(|e| words(path, "cannot cut its torn last line", &e))?;
        }
        file.seek(SeekFrom::Start(kept))
            .map_err(|e| words(path, "reading failed", &e))?;
        Ok(State {
            path: path.to_path_buf(),
            file,
            done,
            kept,
            dirty: false,
        })
    }

    /// The verdicts held, in the order they were written, each line once.
    pub fn replay(&self) -> Result<impl Iterator<Item = Record> + use<>, String> {
        let file = File::open(&self.path).map_err(|e| words(&self.path, "reading failed", &e))?;
        let mut reader = BufReader::new(file.take(self.kept));
        let mut seen = LineSet::default();
        let mut line = Vec::new();
        // Skip the header.
        let _ = reader.read_until(b'\n', &mut line);
        Ok(std::iter::from_fn(move || {
            loop {
                line.clear();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => return None,
                    Ok(_) => {}
                }
                let record = line.strip_suffix(b"\n").and_then(state::decode)?;
                if seen.insert(record.line) {
                    return Some(record);
                }
            }
        }))
    }
}

/// A new state: the header, synced before any verdict is written after it; returns
/// its length.
fn start(file: &mut File, path: &Path, header: &Header) -> Result<u64, String> {
    let text = format!("{}\n", header.encode());
    file.set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)).map(|_| ()))
        .and_then(|()| file.write_all(text.as_bytes()))
        .and_then(|()| file.sync_all())
        .map_err(|e| words(path, "cannot write it", &e))?;
    Ok(text.len() as u64)
}

impl Journal for State {
    fn keep(&mut self, record: &Record) -> Result<(), String> {
        // One write per line: a kill can cut the file only between lines, and a crash
        // of the machine at worst tears the last one, which the next run drops.
        let line = format!("{}\n", state::encode(record));
        self.dirty = true;
        self.file
            .write_all(line.as_bytes())
            .map_err(|e| words(&self.path, "writing failed", &e))
    }

    fn sync(&mut self) -> Result<(), String> {
        if !std::mem::take(&mut self.dirty) {
            return Ok(());
        }
        self.file
            .sync_data()
            .map_err(|e| words(&self.path, "writing failed", &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::Reply;
    use crate::verify::Verdict;

    fn header(from: &str) -> Header {
        Header {
            input: "sha256:00".into(),
            options: vec![("--from".into(), from.into())],
        }
    }

    fn record(line: u64) -> Record {
        Record {
            line,
            address: format!("u{line}@example.org"),
            verdict: Verdict::Deliverable,
            reply: Some(Reply::new(250, &["OK"])),
            note: None,
            host: Some("mx".into()),
        }
    }

    #[test]
    fn line_sets() {
        let mut s = LineSet::default();
        assert!(!s.contains(1_000_000));
        assert!(s.insert(1_000_000));
        assert!(!s.insert(1_000_000));
        assert!(s.contains(1_000_000) && !s.contains(999_999) && !s.contains(0));
        assert!(s.insert(0) && s.contains(0));
    }

    #[test]
    fn a_state_keeps_what_was_written_and_drops_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        let mut s = State::open(&path, &header("<a@b>")).unwrap();
        assert_eq!(s.replay().unwrap().count(), 0);
        for line in [3, 1, 2] {
            s.keep(&record(line)).unwrap();
        }
        s.sync().unwrap();
        drop(s);
        // A crash in the middle of the next line.
        let torn = state::encode(&record(9));
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&torn.as_bytes()[..torn.len() / 2]).unwrap();
        drop(f);
        let mut s = State::open(&path, &header("<a@b>")).unwrap();
        assert_eq!(s.replay().unwrap().count(), 3);
        assert!(s.done.contains(1) && s.done.contains(3) && !s.done.contains(9));
        s.keep(&record(9)).unwrap();
        s.sync().unwrap();
        drop(s);
        let s = State::open(&path, &header("<a@b>")).unwrap();
        let lines: Vec<u64> = s.replay().unwrap().map(|r| r.line).collect();
        assert_eq!(
            lines,
            vec![3, 1, 2, 9],
            "the torn half is gone, not glued on"
        );
        assert_eq!(s.replay().unwrap().next(), Some(record(3)));
    }

    #[test]
    fn a_state_of_another_run_or_another_file_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        drop(State::open(&path, &header("<a@b>")).unwrap());
        let before = std::fs::read(&path).unwrap();
        let err = State::open(&path, &header("<c@d>")).err().unwrap();
        assert!(err.contains("it was made with --from '<a@b>'"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), before);
        let list = dir.path().join("list.txt");
        for text in ["alice@example.org\n", "alice@example.org"] {
            std::fs::write(&list, text).unwrap();
            let err = State::open(&list, &header("<a@b>")).err().unwrap();
            assert!(err.contains("not a smtpx verify state file"), "{err}");
            assert_eq!(std::fs::read_to_string(&list).unwrap(), text);
        }
        // A header cut short by a crash: begun again.
        std::fs::write(&list, "{\"smtpx-ver").unwrap();
        let s = State::open(&list, &header("<a@b>")).unwrap();
        assert_eq!(s.replay().unwrap().count(), 0);
        assert_eq!(std::fs::read(&list).unwrap(), before);
    }
}
