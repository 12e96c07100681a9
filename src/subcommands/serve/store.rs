//! Where accepted messages go: a Maildir (one file per message, written in tmp/ and
//! renamed into new/ once complete, so a reader never sees half a message), an mbox
//! (appended under a lock, mboxrd `>From ` quoting, LF line ends), or nowhere.
//! Content is streamed to disk as it arrives: memory stays flat whatever the size.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::validate::Storage;

const WRITE_BUFFER: usize = 64 * 1024;

pub struct Store {
    storage: Storage,
    hostname: String,
    pid: u32,
    counter: AtomicU64,
    /// Serialises appends to the mbox.
    mbox_lock: Mutex<()>,
}

/// A message being received.
pub struct Draft {
    file: Option<(BufWriter<File>, PathBuf)>,
    pub id: String,
    /// Content octets written (without the recorded envelope).
    pub bytes: u64,
    from: String,
}

impl Store {
    pub fn new(storage: Storage, hostname: &str) -> Store {
        Store {
            storage,
            hostname: hostname.to_string(),
            pid: std::process::id(),
            counter: AtomicU64::new(0),
            mbox_lock: Mutex::new(()),
        }
    }

    /// Creates the Maildir, or checks that the mbox can be appended to.
    pub fn prepare(&self) -> Result<(), String> {
        match &self.storage {
            Storage::Maildir(dir) => {
                for sub in ["tmp", "new", "cur"] {
                    fs::create_dir_all(dir.join(sub))
                        .map_err(|e| format!("--maildir {}: {e}", dir.display()))?;
                }
                Ok(())
            }
            Storage::Mbox(file) => OpenOptions::new()
                .create(true)
                .append(true)
                .open(file)
                .map(drop)
                .map_err(|e| format!("--mbox {}: {e}", file.display())),
            Storage::Discard => Ok(()),
        }
    }

    /// Starts a message; `headers(id)` gives the recorded envelope (CRLF line ends).
    pub fn begin(&self, headers: impl FnOnce(&str) -> String, from: &str) -> io::Result<Draft> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed) + 1;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let id = format!("{:X}{:05X}{:X}", now.as_secs(), n, self.pid);
        let tmp = match &self.storage {
            Storage::Discard => None,
            Storage::Maildir(dir) => Some(dir.join("tmp").join(format!(
                "{}.M{}P{}Q{n}.{}",
                now.as_secs(),
                now.subsec_micros(),
                self.pid,
                self.hostname
            ))),
            Storage::Mbox(file) => Some(sibling(file, &format!(".smtpx-{}-{n}.tmp", self.pid))),
        };
        let file = match tmp {
            None => None,
            Some(path) => {
                let mut w = BufWriter::with_capacity(WRITE_BUFFER, File::create(&path)?);
                w.write_all(headers(&id).as_bytes())?;
                Some((w, path))
            }
        };
        Ok(Draft {
            file,
            id,
            bytes: 0,
            from: from.to_string(),
        })
    }

    /// Makes the message permanent; returns where it is (None when discarded).
    pub fn commit(&self, draft: Draft) -> io::Result<Option<PathBuf>> {
        let Some((mut w, tmp)) = draft.file else {
            return Ok(None);
        };
        let done = (|| {
            w.flush()?;
            // No fsync: this is a test server, and the rename alone is what makes the
            // message appear whole.
            drop(w.into_inner().map_err(|e| e.into_error())?);
            match &self.storage {
                Storage::Maildir(dir) => {
                    let name = tmp.file_name().unwrap_or_default();
                    let dest = dir.join("new").join(name);
                    fs::rename(&tmp, &dest)?;
                    Ok(Some(dest))
                }
                Storage::Mbox(path) => {
                    self.append_mbox(&tmp, path, &draft.from)?;
                    fs::remove_file(&tmp)?;
                    Ok(Some(path.clone()))
                }
                Storage::Discard => Ok(None),
            }
        })();
        if done.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        done
    }

    fn append_mbox(&self, tmp: &Path, mbox: &Path, from: &str) -> io::Result<()> {
        let _guard = self.mbox_lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = BufWriter::with_capacity(
            WRITE_BUFFER,
            OpenOptions::new().create(true).append(true).open(mbox)?,
        );
        let sender = from.trim_start_matches('<').trim_end_matches('>');
        let sender = if sender.is_empty() {
            "MAILER-DAEMON"
        } else {
            sender
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        writeln!(out, "From {sender} {}", asctime(now))?;
        let mut input = BufReader::with_capacity(WRITE_BUFFER, File::open(tmp)?);
        let mut line = Vec::with_capacity(1024);
        let mut ends_with_newline = true;
        loop {
            line.clear();
            if input.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            if line.ends_with(b"\r\n") {
                line.truncate(line.len() - 2);
                line.push(b'\n');
            }
            // mboxrd: any number of '>' then "From " gets one more '>'.
            let unquoted = line.iter().position(|&b| b != b'>').unwrap_or(line.len());
            if line[unquoted..].starts_with(b"From ") {
                out.write_all(b">")?;
            }
            out.write_all(&line)?;
            ends_with_newline = line.ends_with(b"\n");
        }
        if !ends_with_newline {
            out.write_all(b"\n")?;
        }
        // The blank line that separates messages.
        out.write_all(b"\n")?;
        out.flush()
    }
}

impl Draft {
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.bytes += bytes.len() as u64;
        match &mut self.file {
            Some((w, _)) => w.write_all(bytes),
            None => Ok(()),
        }
    }

    /// Throws the message away (refused, or the connection was lost).
    pub fn abandon(self) {
        if let Some((w, path)) = self.file {
            drop(w);
            let _ = fs::remove_file(path);
        }
    }
}

fn sibling(file: &Path, name: &str) -> PathBuf {
    let dir = file.parent().filter(|p| !p.as_os_str().is_empty());
    let base = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = format!(".{base}{name}");
    match dir {
        Some(d) => d.join(name),
        None => PathBuf::from(name),
    }
}

/// `Sat Dec  5 08:47:41 2026`, the date of an mbox `From ` line.
fn asctime(unix: u64) -> String {
    // "Sat, 05 Dec 2026 08:47:41 +0000" → "Sat Dec  5 08:47:41 2026".
    let d = crate::serve::trace::rfc5322_date(unix);
    let parts: Vec<&str> = d.split([',', ' ']).filter(|s| !s.is_empty()).collect();
    match parts.as_slice() {
        [wd, day, mon, year, time, _] => {
            format!(
                "{wd} {mon} {:>2} {time} {year}",
                day.trim_start_matches('0')
            )
        }
        _ => d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asctime_form() {
        assert_eq!(asctime(0), "Thu Jan  1 00:00:00 1970");
        assert_eq!(asctime(1_796_460_461), "Sat Dec  5 08:47:41 2026");
    }

    #[test]
    fn mbox_quotes_and_converts() {
        let dir = tempfile::tempdir().unwrap();
        let mbox = dir.path().join("box");
        let store = Store::new(Storage::Mbox(mbox.clone()), "h");
        store.prepare().unwrap();
        let mut d = store
            .begin(|_| "Return-Path: <a@b>\r\n".into(), "<a@b>")
            .unwrap();
        d.write(b"Subject: x\r\n\r\nFrom here\r\n>From there\r\nend\r\n")
            .unwrap();
        store.commit(d).unwrap();
        let text = fs::read_to_string(&mbox).unwrap();
        let body: Vec<&str> = text.lines().skip(1).collect();
        assert!(text.starts_with("From a@b "), "{text}");
        assert_eq!(
            body,
            [
                "Return-Path: <a@b>",
                "Subject: x",
                "",
                ">From here",
                ">>From there",
                "end",
                ""
            ]
        );
    }

    #[test]
    fn maildir_moves_into_new() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(Storage::Maildir(dir.path().to_path_buf()), "h");
        store.prepare().unwrap();
        let mut d = store.begin(|_| "X: y\r\n".into(), "<>").unwrap();
        d.write(b"body\r\n").unwrap();
        let path = store.commit(d).unwrap().unwrap();
        assert!(path.starts_with(dir.path().join("new")));
        assert_eq!(fs::read(&path).unwrap(), b"X: y\r\nbody\r\n");
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
        let d = store.begin(|_| "X: y\r\n".into(), "<>").unwrap();
        d.abandon();
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }
}
