//! The reply parser on arbitrary bytes: no panic, limits kept, and the replies and
//! error are the same however the bytes are split.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtpx::smtp::{Parsed, Reply, ReplyError, ReplyLimits, ReplyParser};

fn parse(limits: ReplyLimits, input: &[u8], chunk: usize) -> Vec<Result<Reply, ReplyError>> {
    let mut parser = ReplyParser::new(limits);
    let mut out = Vec::new();
    for piece in input.chunks(chunk.max(1)) {
        let mut rest = piece;
        while !rest.is_empty() {
            match parser.feed(rest) {
                Ok(Parsed::Complete { reply, consumed }) => {
                    assert!(consumed > 0 && consumed <= rest.len());
                    assert!(reply.lines.len() <= limits.max_lines);
                    out.push(Ok(reply));
                    rest = &rest[consumed..];
                }
                Ok(Parsed::Incomplete) => break,
                Err(e) => {
                    out.push(Err(e));
                    return out;
                }
            }
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&[a, b], input)) = data.split_first_chunk::<2>() else {
        return;
    };
    let limits = ReplyLimits {
        max_line: usize::from(a % 64) + 1,
        max_lines: usize::from(b % 8) + 1,
    };
    let whole = parse(limits, input, input.len());
    assert_eq!(parse(limits, input, usize::from(a) % 7 + 1), whole);
    assert_eq!(parse(limits, input, 1), whole);
});
