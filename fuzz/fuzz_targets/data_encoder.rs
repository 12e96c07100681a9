//! The DATA encoder on arbitrary content: chunked equals one-shot, no bare CR or LF,
//! and no end-of-data, under any lenient rule, before the real one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtpx::smtp::DataEncoder;

fn encode(input: &[u8], chunk: usize) -> Vec<u8> {
    let mut enc = DataEncoder::new();
    let mut out = Vec::new();
    for piece in input.chunks(chunk.max(1)) {
        enc.encode(piece, &mut out);
    }
    if input.is_empty() {
        enc.encode(&[], &mut out);
    }
    enc.finish(&mut out);
    assert_eq!(enc.stats().output_bytes, out.len() as u64);
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, input)) = data.split_first() else {
        return;
    };
    let whole = encode(input, input.len());
    assert_eq!(encode(input, usize::from(chunk) + 1), whole);
    assert_eq!(encode(input, 1), whole);
    assert!(whole.ends_with(b"\r\n.\r\n") || whole == b".\r\n");
    for (i, &b) in whole.iter().enumerate() {
        if b == b'\r' {
            assert_eq!(whole.get(i + 1), Some(&b'\n'), "bare CR at {i}");
        }
        if b == b'\n' {
            assert!(i > 0 && whole[i - 1] == b'\r', "bare LF at {i}");
        }
        let line_start = i == 0 || matches!(whole[i - 1], b'\r' | b'\n');
        let line_end = matches!(whole.get(i + 1), Some(b'\r' | b'\n'));
        if b == b'.' && line_start && line_end {
            assert_eq!(i, whole.len() - 3, "early end-of-data at {i}");
        }
    }
});
