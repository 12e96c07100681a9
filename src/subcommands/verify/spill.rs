//! The input of `verify`, held in buckets by domain so that memory follows the work in
//! flight, not the length of the list: each line goes to the bucket its domain hashes
//! to (so a domain, and its repeats, are in one bucket), in memory while the list is
//! small and in unlinked temporary files once it is not. Buckets are then verified one
//! after another.

use std::fs::File;
use std::io::{BufRead, Read, Seek, SeekFrom, Write};

use crate::verify::input::{MAX_LINE, parse_address};
use crate::verify::shard::share_of;
use crate::verify::{Entry, Lines};

/// Buckets of a list. 256 keeps each to 4,000 addresses of a million-line list.
pub const BUCKETS: u32 = 256;

/// How [`crate::verify::input`] says a line is not UTF-8.
const NOT_UTF8: &str = "not valid UTF-8";

/// Bytes held in memory before the buckets move to disk.
const IN_MEMORY: usize = 4 << 20;

/// The buckets: `line TAB why TAB text LF` records, in input order within each; `why`
/// is `-`, or the reason a line is no address that its text cannot show again (`u` not
/// UTF-8, `t` cut at [`MAX_LINE`]).
pub(crate) struct Spill {
    memory: Vec<Vec<u8>>,
    files: Option<Vec<File>>,
    held: usize,
    /// Lines kept (all buckets).
    pub count: usize,
}

impl Spill {
    pub fn new() -> Spill {
        Spill {
            memory: vec![Vec::new(); BUCKETS as usize],
            files: None,
            held: 0,
            count: 0,
        }
    }

    /// Adds one line to the bucket `key` (a domain, or a bad line's text) hashes to.
    pub fn push(&mut self, entry: &Entry, key: &str) -> std::io::Result<()> {
        let bucket = share_of(key, BUCKETS) as usize - 1;
        let record = &mut self.memory[bucket];
        let before = record.len();
        record.extend_from_slice(entry.line.to_string().as_bytes());
        record.push(b'\t');
        record.push(match &entry.parsed {
            Err(e) if e == NOT_UTF8 => b'u',
            Err(e) if e.starts_with("line longer than") => b't',
            _ => b'-',
        });
        record.push(b'\t');
        record.extend_from_slice(entry.text.as_bytes());
        record.push(b'\n');
        self.held += record.len() - before;
        self.count += 1;
        if self.held > IN_MEMORY {
            self.move_to_disk()?;
        }
        Ok(())
    }

    fn move_to_disk(&mut self) -> std::io::Result<()> {
        if self.files.is_none() {
            let dir = std::env::temp_dir();
            let mut files = Vec::with_capacity(BUCKETS as usize);
            for n in 0..BUCKETS {
                let path = dir.join(format!(
                    "smtpx-verify-{}-{:016x}-{n}",
                    std::process::id(),
                    super::drive::random()
                ));
                let file = File::options()
                    .read(true)
                    .write(true)
                    .create_new(true)
                    .open(&path)?;
                // Unlinked at once: nothing is left behind, whatever ends the run.
                std::fs::remove_file(&path)?;
                files.push(file);
            }
            self.files = Some(files);
        }
        if let Some(files) = &mut self.files {
            for (file, bytes) in files.iter_mut().zip(self.memory.iter_mut()) {
                file.write_all(bytes)?;
                *bytes = Vec::new();
            }
        }
        self.held = 0;
        Ok(())
    }

    /// The entries of one bucket, in input order.
    pub fn bucket(&mut self, n: usize) -> std::io::Result<Vec<Entry>> {
        let mut bytes = Vec::new();
        if let Some(files) = &mut self.files {
            let file = &mut files[n];
            file.seek(SeekFrom::Start(0))?;
            file.read_to_end(&mut bytes)?;
            // Read once: let the file go.
            file.set_len(0)?;
        }
        bytes.extend_from_slice(&std::mem::take(&mut self.memory[n]));
        let mut entries = Vec::new();
        for record in bytes.split(|&b| b == b'\n').filter(|r| !r.is_empty()) {
            let mut fields = record.splitn(3, |&b| b == b'\t');
            let (Some(line), Some(why), Some(text)) = (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let line = std::str::from_utf8(line)
                .ok()
                .and_then(|l| l.parse().ok())
                .unwrap_or(0);
            // Written from a String: valid UTF-8, already trimmed.
            let text = String::from_utf8_lossy(text).into_owned();
            let parsed = match why {
                b"u" => Err(NOT_UTF8.to_string()),
                b"t" => Err(format!("line longer than {MAX_LINE} bytes")),
                _ => parse_address(&text),
            };
            entries.push(Entry { line, text, parsed });
        }
        Ok(entries)
    }
}

/// Reads a list into a [`Spill`]: `keep` says which entries go in and under what key;
/// `each` sees every entry read (for the digest). Returns the number read.
pub(crate) fn read_into(
    reader: impl BufRead,
    spill: &mut Spill,
    mut each: impl FnMut(&Entry),
    keep: impl Fn(&Entry) -> Option<String>,
) -> std::io::Result<usize> {
    let mut read = 0;
    for entry in Lines::new(reader) {
        let entry = entry?;
        read += 1;
        each(&entry);
        if let Some(key) = keep(&entry) {
            spill.push(&entry, &key)?;
        }
    }
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(input: &[u8]) -> Vec<Entry> {
        Lines::new(input).map(Result::unwrap).collect()
    }

    #[test]
    fn every_entry_comes_back_as_it_was_read_in_memory_and_on_disk() {
        let mut input = b"a@x.example\nbad line\n\xff@x.example\nB@X.EXAMPLE\tz\n".to_vec();
        input.extend(vec![b'y'; 2 * MAX_LINE]);
        input.push(b'\n');
        let want = entries(&input);
        for disk in [false, true] {
            let mut spill = Spill::new();
            for e in &want {
                spill.push(e, &e.text.to_ascii_lowercase()).unwrap();
            }
            if disk {
                spill.move_to_disk().unwrap();
                assert!(spill.files.is_some());
            }
            let mut got: Vec<Entry> = (0..BUCKETS as usize)
                .flat_map(|n| spill.bucket(n).unwrap())
                .collect();
            got.sort_by_key(|e| e.line);
            assert_eq!(got, want, "disk: {disk}");
            assert!(spill.bucket(0).unwrap().is_empty(), "read once");
        }
    }

    #[test]
    fn a_domain_and_its_repeats_share_a_bucket_in_input_order() {
        let mut spill = Spill::new();
        let list = entries(b"1@d.example\n2@e.example\n3@d.example\n1@d.example\n");
        for e in &list {
            let key = e.parsed.as_ref().unwrap().domain().as_str().to_string();
            spill.push(e, &key).unwrap();
        }
        let n = share_of("d.example", BUCKETS) as usize - 1;
        let lines: Vec<u64> = spill.bucket(n).unwrap().iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![1, 3, 4]);
    }
}
